//! IPv6 input.
//!
//! Kernel: `net/ipv6/ip6_input.c`: `ipv6_rcv()` (header sanity, `PACKET_OTHERHOST` drop,
//! trim to the payload length), `ip6_rcv_finish()` (local, multicast we listen to, or
//! forward) and `ip6_input_finish()` (ICMPv6 here, TCP to the sockets layer). The skb's
//! payload may sit in frags (HDS, devmem): only the header is read.

use std::net::{IpAddr, Ipv6Addr};

use wire::IpProtocol;
use wire::ipv6::HEADER_LEN;

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::skbuff::{PktType, Skb};
use crate::net::inet::IpInfo;
use crate::net::ipv6::ip6_output::ipv6_hdr;

impl Kernel {
    /// Kernel: `ipv6_rcv()` → `ip6_rcv_finish()`: `skb` starts at its IPv6 header.
    pub(crate) fn ipv6_rcv(&mut self, dev: DevId, mut skb: Skb) {
        let netns = self.dev(dev).netns;
        let Some(hdr) = ipv6_hdr(&skb.head) else {
            self.ip_stats_mut(netns).in_hdr_errors += 1;
            self.kfree_skb(skb);
            return;
        };
        let total = HEADER_LEN + hdr.payload_len;
        // skb->len, walked over the frags once for both checks.
        let len = skb.len();
        if skb.pkt_type == PktType::OtherHost || total > len {
            self.ip_stats_mut(netns).in_hdr_errors += 1;
            self.kfree_skb(skb);
            return;
        }
        // pskb_trim_rcsum(): drop Ethernet padding beyond the payload length.
        if len > total {
            trim(&mut skb, total);
        }
        let local = self.ipv6_rcv_dev_owns(netns, dev, &hdr.dst_addr)
            || (self.ipv6_chk_addr(netns, &hdr.dst_addr, None).is_some()
                && (!wire::ipv6::is_link_local(&hdr.dst_addr)
                    || self.ipv6_dev_has_addr(dev, &hdr.dst_addr).is_some()));
        let mcast = hdr.dst_addr.is_multicast() && self.ipv6_mc_joined(dev, &hdr.dst_addr);
        if local || mcast {
            self.ip6_input_finish(netns, dev, skb, &hdr);
        } else if hdr.dst_addr.is_multicast() {
            self.kfree_skb(skb);
        } else {
            self.ip6_forward(netns, dev, skb, &hdr);
        }
    }

    /// The common case of `ip6_rcv_finish()`'s "is it ours": `dev` itself holds `daddr`
    /// (usable) and is listed in `netns`, so `ipv6_chk_addr(netns, daddr, NULL)` finds
    /// an owner and the link-local rule is met, without walking the namespace's devices.
    fn ipv6_rcv_dev_owns(&self, netns: crate::NetNsId, dev: DevId, daddr: &Ipv6Addr) -> bool {
        let (Some(ns), Some(d)) = (self.netns.get(&netns), self.try_device(dev)) else {
            return false;
        };
        d.ip6.addrs.iter().any(|a| a.addr == *daddr && !a.tentative)
            && ns.dev_by_index.get(&d.ifindex) == Some(&dev)
    }

    /// Kernel: `ipv6_chk_mcast_addr()`: all-nodes and the solicited-node groups of every
    /// address on `dev` (tentative ones included: DAD listens too).
    pub(crate) fn ipv6_mc_joined(&self, dev: DevId, group: &Ipv6Addr) -> bool {
        if *group == wire::ipv6::LINK_LOCAL_ALL_NODES {
            return true;
        }
        self.try_device(dev).is_some_and(|d| {
            d.ip6
                .addrs
                .iter()
                .any(|a| wire::ipv6::solicited_node(&a.addr) == *group)
        })
    }

    /// Kernel: `ip6_input_finish()`: strip the IPv6 header and hand the payload up.
    fn ip6_input_finish(
        &mut self,
        netns: crate::NetNsId,
        dev: DevId,
        mut skb: Skb,
        hdr: &wire::Ipv6Repr,
    ) {
        let info = IpInfo {
            saddr: IpAddr::V6(hdr.src_addr),
            daddr: IpAddr::V6(hdr.dst_addr),
        };
        match hdr.next_header {
            IpProtocol::Icmpv6 => {
                pull_header(&mut skb.head);
                self.icmpv6_rcv(netns, dev, hdr, skb);
            }
            IpProtocol::Tcp => {
                pull_header(&mut skb.head);
                skb.network_header = 0;
                skb.transport_header = 0;
                crate::net::ipv4::tcp_input::tcp_v6_rcv(self, netns, dev, info, skb);
            }
            _ => {
                self.ip_stats_mut(netns).in_unknown_protos += 1;
                self.kfree_skb(skb);
            }
        }
    }
}

/// Kernel: `skb_pull()` of the IPv6 header: the bytes after it move to the front of the
/// head (what `head.drain(..HEADER_LEN)` leaves, without the drain's guard).
#[inline]
fn pull_header(head: &mut Vec<u8>) {
    let len = head.len();
    head.copy_within(HEADER_LEN..len, 0);
    head.truncate(len - HEADER_LEN);
}

/// Cut `skb` to `len` bytes (head first, then frags).
pub(crate) fn trim(skb: &mut Skb, len: usize) {
    if skb.head.len() >= len {
        skb.head.truncate(len);
        skb.frags.clear();
        return;
    }
    let mut left = len - skb.head.len();
    let mut keep = 0;
    for f in &mut skb.frags {
        if left == 0 {
            break;
        }
        let l = f.len().min(left);
        match f {
            crate::Frag::Page { len, .. } | crate::Frag::NetIov { len, .. } => *len = l,
        }
        left -= l;
        keep += 1;
    }
    skb.frags.truncate(keep);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pulling the header leaves the head `drain(..HEADER_LEN)` leaves.
    #[test]
    fn pull_header_as_drain() {
        for len in [HEADER_LEN, HEADER_LEN + 1, HEADER_LEN + 20, 200] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let (mut pulled, mut drained) = (bytes.clone(), bytes);
            pull_header(&mut pulled);
            drained.drain(..HEADER_LEN);
            assert_eq!(pulled, drained);
        }
    }
}
