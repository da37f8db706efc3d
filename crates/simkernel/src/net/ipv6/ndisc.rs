//! Neighbour discovery (RFC 4861): NS/NA and the DAD probe.
//!
//! Kernel: `net/ipv6/ndisc.c`: `ndisc_send_ns()` (to the target's solicited-node group,
//! hop limit 255, source link-layer option), `ndisc_recv_ns()` (answer for our non-
//! tentative addresses with a solicited+override NA, learn the sender), `ndisc_recv_na()`
//! (complete the pending entry), `ndisc_send_na()`.

use std::net::{IpAddr, Ipv6Addr};

use wire::{EthernetAddress, Icmpv6Repr, IpProtocol, NdiscNeighborFlags, NdiscRepr};

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::neighbour::push_eth;
use crate::net::core::skbuff::Skb;
use crate::net::ipv6::icmp::icmpv6_bytes;
use crate::net::ipv6::ip6_output::{ETH_P_IPV6, ipv6_header};

/// Hop limit every ND message carries and requires.
const ND_HOP_LIMIT: u8 = 255;

impl Kernel {
    /// Build an ND packet and put it on `dev` towards the L2 address `dst_mac`.
    fn ndisc_send(
        &mut self,
        dev: DevId,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        dst_mac: [u8; 6],
        m: &Icmpv6Repr<'_>,
    ) {
        let body = icmpv6_bytes(&saddr, &daddr, m);
        let mut head =
            ipv6_header(saddr, daddr, IpProtocol::Icmpv6, body.len(), ND_HOP_LIMIT).to_vec();
        head.extend_from_slice(&body);
        let mut skb = Skb::linear(head);
        skb.protocol = ETH_P_IPV6;
        skb.dev = Some(dev);
        let src = self.dev(dev).mac;
        push_eth(&mut skb, dst_mac, src);
        let _ = self.dev_queue_xmit(dev, skb);
    }

    /// Kernel: `ndisc_send_ns()` for address resolution of `target` on `dev`.
    pub(crate) fn ndisc_send_ns(&mut self, dev: DevId, target: Ipv6Addr) {
        let netns = self.dev(dev).netns;
        let saddr = self
            .ipv6_dev_get_saddr(netns, dev, &target)
            .unwrap_or(Ipv6Addr::UNSPECIFIED);
        let group = wire::ipv6::solicited_node(&target);
        let mac = EthernetAddress::from_ipv6_multicast(&group).0;
        let lladdr = Some(EthernetAddress(self.dev(dev).mac));
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr,
        });
        self.ndisc_send(dev, saddr, group, mac, &ns);
    }

    /// Kernel: `addrconf_dad_work()` probe: NS from `::` without link-layer option.
    pub(crate) fn ndisc_send_dad(&mut self, dev: DevId, target: Ipv6Addr) {
        let group = wire::ipv6::solicited_node(&target);
        let mac = EthernetAddress::from_ipv6_multicast(&group).0;
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: None,
        });
        self.ndisc_send(dev, Ipv6Addr::UNSPECIFIED, group, mac, &ns);
    }

    /// Kernel: `ndisc_rcv()`: NS and NA (hop limit must be 255, else ignored).
    pub(crate) fn ndisc_rcv(&mut self, dev: DevId, hdr: &wire::Ipv6Repr, nd: NdiscRepr) {
        if hdr.hop_limit != ND_HOP_LIMIT {
            return;
        }
        match nd {
            NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            } => self.ndisc_recv_ns(dev, hdr, target_addr, lladdr),
            NdiscRepr::NeighborAdvert {
                target_addr,
                lladdr,
                ..
            } => {
                if let Some(mac) = lladdr {
                    self.neigh_update(dev, IpAddr::V6(target_addr), mac.0, false);
                }
            }
            NdiscRepr::RouterSolicit { .. } => {}
        }
    }

    /// Kernel: `ndisc_recv_ns()`.
    fn ndisc_recv_ns(
        &mut self,
        dev: DevId,
        hdr: &wire::Ipv6Repr,
        target: Ipv6Addr,
        lladdr: Option<EthernetAddress>,
    ) {
        let Some(ifa) = self.ipv6_dev_has_addr(dev, &target) else {
            return;
        };
        if ifa.tentative {
            // A DAD probe for our tentative address would mean a duplicate; another node
            // resolving it gets no answer until DAD is done.
            return;
        }
        let dad = hdr.src_addr.is_unspecified();
        if !dad && let Some(mac) = lladdr {
            self.neigh_update(dev, IpAddr::V6(hdr.src_addr), mac.0, true);
        }
        let (daddr, dst_mac, flags) = if dad {
            let all = wire::ipv6::LINK_LOCAL_ALL_NODES;
            (
                all,
                EthernetAddress::from_ipv6_multicast(&all).0,
                NdiscNeighborFlags::OVERRIDE,
            )
        } else {
            let Some(mac) = lladdr.map(|m| m.0).or_else(|| {
                self.neigh_lookup(dev, IpAddr::V6(hdr.src_addr))
                    .and_then(|n| n.lladdr)
            }) else {
                return;
            };
            (
                hdr.src_addr,
                mac,
                NdiscNeighborFlags(
                    NdiscNeighborFlags::SOLICITED.0 | NdiscNeighborFlags::OVERRIDE.0,
                ),
            )
        };
        let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags,
            target_addr: target,
            lladdr: Some(EthernetAddress(self.dev(dev).mac)),
        });
        self.ndisc_send(dev, target, daddr, dst_mac, &na);
    }
}
