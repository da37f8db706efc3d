//! veth: a pair of virtual Ethernet devices. `netmem_tx` stays NONE, so unreadable skbs
//! are dropped on transmit (kernel-spec §1.3 "everything else").
//!
//! Kernel: `drivers/net/veth.c` (`veth_newlink`, `veth_xmit`).

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, NetDevice, XmitDrop, XmitResult};
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

/// Kernel: `veth_xmit()` → `veth_forward_skb()` → `__dev_forward_skb()` + `netif_rx()`.
/// * no peer, or no Ethernet header to pull → freed, `tx_dropped++` on `dev`;
/// * `____dev_forward_skb()`: the peer is down, or the skb is longer than its MTU plus
///   Ethernet and VLAN headers and not GSO (`__is_skb_forwardable()`) → the peer's
///   `rx_dropped++`, freed; veth then counts `tx_dropped++` on `dev`;
/// * otherwise `skb_scrub_packet()` (crossing namespaces: `mark` and `tstamp` too),
///   `priority` zeroed, and the peer's backlog takes it: `dev`'s tx counters (which the
///   peer reports as its rx) move, or on a full backlog `tx_dropped++` on `dev`.
pub(crate) fn veth_xmit(k: &mut Kernel, dev: DevId, mut skb: Skb) -> XmitResult {
    let peer = match &k.dev(dev).kind {
        DeviceKind::Veth(v) => v.peer,
        _ => None,
    };
    let len = skb.len() as u64;
    let Some(rcv) = peer.filter(|p| k.devices.contains_key(p)) else {
        k.dev_mut(dev).stats.tx_dropped += 1;
        k.kfree_skb(skb);
        return XmitResult::Dropped(XmitDrop::NoPeer);
    };
    if skb.head.len() < ETH_HLEN {
        k.dev_mut(dev).stats.tx_dropped += 1;
        k.kfree_skb(skb);
        return XmitResult::Dropped(XmitDrop::Policy);
    }
    let r = k.dev(rcv);
    let max = u64::from(r.mtu) + (ETH_HLEN + VLAN_HLEN) as u64;
    let forwardable = r.up && (len <= max || skb.gso_size != 0);
    if !forwardable {
        let why = if r.up {
            XmitDrop::NotForwardable
        } else {
            XmitDrop::PeerDown
        };
        k.dev_mut(rcv).stats.rx_dropped += 1;
        k.dev_mut(dev).stats.tx_dropped += 1;
        k.kfree_skb(skb);
        return XmitResult::Dropped(why);
    }
    let xnet = k.dev(dev).netns != k.dev(rcv).netns;
    skb.scrub(xnet);
    skb.priority = 0;
    k.pair_xmit_rx(dev, rcv, skb, len)
}

/// `ETH_HLEN`.
const ETH_HLEN: usize = 14;
/// `VLAN_HLEN`.
const VLAN_HLEN: usize = 4;
