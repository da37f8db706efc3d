//! The loopback device: ifindex 1 in every namespace, `netmem_tx` NONE.
//!
//! Kernel: `drivers/net/loopback.c` (`loopback_net_init`, `loopback_xmit`).

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, NetDevice, XmitResult};
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

/// Matches Linux `lo`.
pub const LOOPBACK_MTU: u32 = 65536;

impl Kernel {
    /// Kernel: `loopback_net_init()`: the first device of a namespace, so ifindex 1.
    pub(crate) fn loopback_add(&mut self, netns: NetNsId) -> KResult<DevId> {
        let id = self.alloc_dev_id();
        let mut d = NetDevice::new(id, netns, "lo".into(), DeviceKind::Loopback, (1, 1), (1, 1));
        d.mtu = LOOPBACK_MTU;
        self.register_netdevice(d, Some(1))?;
        Ok(id)
    }
}

/// Kernel: `loopback_xmit()`: straight back into our own RX.
pub(crate) fn loopback_xmit(k: &mut Kernel, dev: DevId, skb: Skb) -> XmitResult {
    let d = k.dev_mut(dev);
    let len = skb.len() as u64;
    d.stats.tx_packets += 1;
    d.stats.tx_bytes += len;
    d.stats.rx_packets += 1;
    d.stats.rx_bytes += len;
    k.netif_rx(dev, skb);
    XmitResult::Ok
}
