//! veth: a pair of virtual Ethernet devices. `netmem_tx` stays NONE, so unreadable skbs
//! are dropped on transmit (kernel-spec §1.3 "everything else").
//!
//! Kernel: `drivers/net/veth.c` (`veth_newlink`, `veth_xmit`).

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, NetDevice, XmitResult};
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

/// veth driver state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VethState {
    /// The other end.
    pub peer: Option<DevId>,
}

impl Kernel {
    /// Kernel: `veth_newlink()`: `name` in `netns`, `peer_name` in `peer_netns`.
    pub fn veth_add(
        &mut self,
        netns: NetNsId,
        name: &str,
        peer_netns: NetNsId,
        peer_name: &str,
    ) -> KResult<(DevId, DevId)> {
        let a = self.alloc_dev_id();
        let b = self.alloc_dev_id();
        let mk = |id: DevId, ns, n: &str, peer| {
            let mut d = NetDevice::new(
                id,
                ns,
                n.to_string(),
                DeviceKind::Veth(VethState { peer: Some(peer) }),
                (1, 1),
                (1, 1),
            );
            // eth_hw_addr_random(), made deterministic from the device id.
            let x = id.0;
            d.mac = [0x02, 0x76, 0x65, (x >> 16) as u8, (x >> 8) as u8, x as u8];
            d
        };
        self.register_netdevice(mk(b, peer_netns, peer_name, a), None)?;
        if let Err(e) = self.register_netdevice(mk(a, netns, name, b), None) {
            self.unregister_netdevice(b);
            return Err(e);
        }
        Ok((a, b))
    }
}

/// Kernel: `veth_xmit()`: to the peer's RX backlog if it is up.
pub(crate) fn veth_xmit(k: &mut Kernel, dev: DevId, skb: Skb) -> XmitResult {
    let peer = match &k.dev(dev).kind {
        DeviceKind::Veth(v) => v.peer,
        _ => None,
    };
    crate::drivers::netkit::forward_to_peer(k, dev, peer, skb)
}
