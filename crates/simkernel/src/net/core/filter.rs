//! BPF redirect helpers' second half: acting on a `TC_ACT_REDIRECT` / `NETKIT_REDIRECT`.
//!
//! Kernel: `net/core/filter.c` `skb_do_redirect()` (kernel-spec §2.4):
//! * `bpf_redirect` (egress): `dev_queue_xmit()` on the target, so the target validates;
//! * `bpf_redirect(BPF_F_INGRESS)`: `__bpf_rx_skb()` → received on the target, no TX
//!   validation;
//! * `bpf_redirect_peer`: only from tc ingress (`skb_at_tc_ingress()`); the target's peer
//!   must be up and in another namespace; the skb is scrubbed as within one namespace
//!   (`skb_scrub_packet(skb, false)`: `mark` and `tstamp` survive) and ingress processing
//!   restarts on the peer (`-EAGAIN` → `another_round`);
//! * `bpf_redirect_neigh`: FIB and neighbour lookup in the target's namespace, then
//!   `dev_queue_xmit()` (validated).
//!
//! The target ifindex is looked up in the namespace of the device the skb is on; a miss
//! or a failed check frees the skb (counted in `SoftnetData::redirect_dropped`). Egress
//! and neigh redirects nest transmits, so they honour `dev_xmit_recursion()`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, XmitDrop, XmitResult};
use crate::net::core::dev_rx::IngressResult;
use crate::net::core::skbuff::Skb;
use crate::net::sched::Redirect;

impl Kernel {
    /// Kernel: `ndo_get_peer_dev()` (netkit and veth).
    pub fn dev_get_peer(&self, dev: DevId) -> Option<DevId> {
        match &self.try_device(dev)?.kind {
            DeviceKind::Netkit(nk) => nk.peer,
            DeviceKind::Veth(v) => v.peer,
            _ => None,
        }
    }

    /// Kernel: `netif_carrier_ok()`: virtual pairs have carrier while the peer is up.
    pub fn netif_carrier_ok(&self, dev: DevId) -> bool {
        match &self.try_device(dev).map(|d| &d.kind) {
            Some(DeviceKind::Netkit(_)) | Some(DeviceKind::Veth(_)) => self
                .dev_get_peer(dev)
                .and_then(|p| self.try_device(p))
                .is_some_and(|p| p.up),
            Some(DeviceKind::Nic(n)) => n.wire.is_some() || n.tap.is_some(),
            Some(_) => true,
            None => false,
        }
    }

    fn redirect_drop(&mut self, skb: Skb) -> IngressResult {
        self.softnet.redirect_dropped += 1;
        self.kfree_skb(skb);
        IngressResult::Consumed
    }

    /// Kernel: `skb_do_redirect()`: `skb` is on `from` with its Ethernet header first.
    pub(crate) fn skb_do_redirect(
        &mut self,
        from: DevId,
        mut skb: Skb,
        r: Redirect,
    ) -> IngressResult {
        let netns = self.dev(from).netns;
        let ifindex = match r {
            Redirect::Egress(i) | Redirect::Ingress(i) | Redirect::Peer(i) | Redirect::Neigh(i) => {
                i
            }
        };
        let Some(target) = self.dev_get_by_index(netns, ifindex) else {
            return self.redirect_drop(skb);
        };
        let at_ingress = skb.tc_at_ingress;
        match r {
            //= kernel: skb_do_redirect() with BPF_F_PEER
            //# only at tc ingress; the target's peer must exist, be up and live in
            //# another netns; the peer's rx stats count it, the skb is scrubbed without
            //# crossing-netns semantics (mark and tstamp are kept) and ingress restarts.
            Redirect::Peer(_) => {
                if !at_ingress {
                    return self.redirect_drop(skb);
                }
                let Some(peer) = self.dev_get_peer(target) else {
                    return self.redirect_drop(skb);
                };
                let p = self.dev(peer);
                if !p.up || p.netns == netns {
                    return self.redirect_drop(skb);
                }
                skb.scrub(false);
                let len = skb.len() as u64;
                let p = self.dev_mut(peer);
                p.stats.rx_packets += 1;
                p.stats.rx_bytes += len;
                IngressResult::AnotherRound(peer, skb)
            }
            Redirect::Egress(_) => {
                skb.tc_at_ingress = false;
                self.bpf_tx_skb(target, skb);
                IngressResult::Consumed
            }
            //= kernel: __bpf_rx_skb() → dev_forward_skb_nomtu() → ____dev_forward_skb()
            //# a target that is down counts rx_dropped; otherwise the skb is scrubbed
            //# (crossing netns only if it does), its priority zeroed, and netif_rx().
            Redirect::Ingress(_) => {
                skb.tc_at_ingress = false;
                if !self.dev(target).up {
                    self.dev_mut(target).stats.rx_dropped += 1;
                    return self.redirect_drop(skb);
                }
                skb.scrub(self.dev(target).netns != netns);
                skb.priority = 0;
                self.netif_rx(target, skb);
                IngressResult::Consumed
            }
            Redirect::Neigh(_) => {
                skb.tc_at_ingress = false;
                self.bpf_out_neigh(target, skb)
            }
        }
    }

    /// Kernel: `__bpf_tx_skb()`: refuse a transmit nested past the recursion limit
    /// (freed, no counter), else clear the timestamp and `dev_queue_xmit()` on `target`
    /// with the recursion count raised. No scrub: the skb stays in its namespace.
    fn bpf_tx_skb(&mut self, target: DevId, mut skb: Skb) -> XmitResult {
        if self.dev_xmit_recursion() {
            self.softnet.redirect_dropped += 1;
            self.kfree_skb(skb);
            return XmitResult::Dropped(XmitDrop::Recursion);
        }
        skb.tstamp = 0;
        self.softnet.xmit_recursion += 1;
        let res = self.dev_queue_xmit(target, skb);
        self.softnet.xmit_recursion -= 1;
        res
    }

    /// Kernel: `__bpf_redirect_neigh()` → `__bpf_redirect_neigh_v6()` /
    /// `__bpf_redirect_neigh_v4()` → `bpf_out_neigh_v6()` / `bpf_out_neigh_v4()`.
    ///
    /// A multicast destination MAC is refused before anything else (freed, no counter).
    /// The route lookup runs in the target's namespace with the target as preferred
    /// output device; no route, a transmit nested past the recursion limit, or a failed
    /// `neigh_output()` each count one `tx_dropped` on the target.
    #[inline]
    fn bpf_out_neigh(&mut self, target: DevId, mut skb: Skb) -> IngressResult {
        let netns = self.dev(target).netns;
        if skb.head.first().is_none_or(|b| b & 1 == 1) {
            return self.redirect_drop(skb);
        }
        let Some(ethertype) = skb
            .head
            .get(12..14)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
        else {
            return self.redirect_drop(skb);
        };
        let daddr: IpAddr = match ethertype {
            0x86dd => match skb.head.get(14 + 24..14 + 40) {
                Some(b) => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(b);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
                None => return self.redirect_drop(skb),
            },
            0x0800 => match skb.head.get(14 + 16..14 + 20) {
                Some(b) => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
                None => return self.redirect_drop(skb),
            },
            _ => return self.redirect_drop(skb),
        };
        let nexthop = match daddr {
            IpAddr::V6(d) => {
                let e = match self.fib6_lookup_cached(netns, &d, Some(target)) {
                    Some(e) => Some(e),
                    None => self.fib6_lookup_cached(netns, &d, None),
                };
                match e {
                    Some(e) => IpAddr::V6(e.gateway.filter(|_| e.dev == target).unwrap_or(d)),
                    None => return self.redirect_drop_tx(target, skb),
                }
            }
            IpAddr::V4(d) => {
                let e = self
                    .fib4_lookup(netns, d, Some(target))
                    .or_else(|| self.fib4_lookup(netns, d, None));
                match e {
                    Some(e) => IpAddr::V4(e.gateway.filter(|_| e.dev == target).unwrap_or(d)),
                    None => return self.redirect_drop_tx(target, skb),
                }
            }
        };
        if self.dev_xmit_recursion() {
            return self.redirect_drop_tx(target, skb);
        }
        skb.protocol = ethertype;
        skb.tstamp = 0;
        self.softnet.xmit_recursion += 1;
        // __skb_pull(skb, ETH_HLEN), then neigh_output(): a resolved neighbour's header
        // is written over the pulled one.
        let res = self.neigh_output_over_eth(target, nexthop, skb);
        self.softnet.xmit_recursion -= 1;
        if res.is_err()
            && let Some(d) = self.devices.get_mut(&target)
        {
            // net_xmit_eval(err) != 0 → dev_core_stats_tx_dropped_inc(dev).
            d.stats.tx_dropped += 1;
        }
        IngressResult::Consumed
    }

    /// `__bpf_redirect_neigh_v{4,6}()` → out_drop: the target counts the drop.
    fn redirect_drop_tx(&mut self, target: DevId, skb: Skb) -> IngressResult {
        self.dev_mut(target).stats.tx_dropped += 1;
        self.redirect_drop(skb)
    }
}
