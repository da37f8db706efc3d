//! IPv6 output and forwarding.
//!
//! Kernel: `net/ipv6/ip6_output.c`: `ip6_xmit()` (push the IPv6 header in front of the
//! transport header), `ip6_finish_output2()` (→ `neigh_output()` → `dev_queue_xmit()`,
//! validated on every device), and `ip6_forward()` (forwarding sysctl, hop limit, the
//! FIB, then the same output path). Forwarded skbs keep their frags: an unreadable skb
//! is checked by `validate_xmit_unreadable_skb()` on the egress device like any other.

use std::net::{IpAddr, Ipv6Addr};

use wire::IpProtocol;
use wire::ipv6::{HEADER_LEN, Ipv6Packet};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::{GsoType, IpSummed, Skb};
use crate::net::ipv6::route::Route6;

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;

/// `ETH_P_IPV6`.
pub const ETH_P_IPV6: u16 = 0x86dd;
/// Kernel: `net.ipv6.conf.all.hop_limit` default.
pub const IPV6_DEFAULT_HOPLIMIT: u8 = 64;

/// Kernel: `ip6_flow_hdr()` plus lengths: the 40-byte header for `payload_len` bytes.
pub fn ipv6_header(
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    proto: IpProtocol,
    payload_len: usize,
    hop_limit: u8,
) -> [u8; HEADER_LEN] {
    ipv6_header_raw(saddr, daddr, u8::from(proto), payload_len, hop_limit)
}

/// [`ipv6_header`] with the protocol as its number, laid out byte by byte: version 6,
/// traffic class and flow label 0, the payload length (jumbograms do not exist here: GSO
/// skbs stay below 64 KiB), next header, hop limit, the addresses (what
/// [`Ipv6Packet`]'s setters write; a test compares them).
#[inline]
fn ipv6_header_raw(
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    proto: u8,
    payload_len: usize,
    hop_limit: u8,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = 0x60;
    let len = payload_len.min(usize::from(u16::MAX)) as u16;
    h[4..6].copy_from_slice(&len.to_be_bytes());
    h[6] = proto;
    h[7] = hop_limit;
    h[8..24].copy_from_slice(&saddr.octets());
    h[24..40].copy_from_slice(&daddr.octets());
    h
}

/// Read the fixed IPv6 header at the start of `b`, without requiring the payload to be
/// linear (HDS and devmem skbs carry it in frags).
pub(crate) fn ipv6_hdr(b: &[u8]) -> Option<wire::Ipv6Repr> {
    let h = b.get(..HEADER_LEN)?;
    let p = Ipv6Packet::new_unchecked(h);
    if p.version() != 6 {
        return None;
    }
    Some(wire::Ipv6Repr {
        src_addr: p.src_addr(),
        dst_addr: p.dst_addr(),
        next_header: p.next_header(),
        payload_len: usize::from(p.payload_len()),
        hop_limit: p.hop_limit(),
        traffic_class: p.traffic_class(),
        flow_label: p.flow_label(),
    })
}

impl Kernel {
    /// Kernel: `ip6_xmit()`: `skb` holds the transport header (and possibly payload) in
    /// its head and payload in frags; push the IPv6 header and send it along `route`.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn ip6_xmit(
        &mut self,
        netns: NetNsId,
        route: &Route6,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        proto: IpProtocol,
        skb: Skb,
    ) -> KResult<()> {
        self.ip6_xmit_proto(netns, route, saddr, daddr, u8::from(proto), skb)
    }

    /// [`Kernel::ip6_xmit`] with the protocol as its number (as the socket layer has it).
    fn ip6_xmit_proto(
        &mut self,
        netns: NetNsId,
        route: &Route6,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        proto: u8,
        skb: Skb,
    ) -> KResult<()> {
        let len = skb.len();
        self.ip6_xmit_len(netns, route, saddr, daddr, proto, skb, len)
    }

    /// [`Kernel::ip6_xmit`] for a caller that knows `skb.len()` already (TCP output built
    /// the skb), as `len`: the frags are not summed again.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ip6_xmit_len(
        &mut self,
        netns: NetNsId,
        route: &Route6,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        proto: u8,
        mut skb: Skb,
        len: usize,
    ) -> KResult<()> {
        let _ = netns;
        debug_assert_eq!(len, skb.len());
        let h = ipv6_header_raw(saddr, daddr, proto, len, IPV6_DEFAULT_HOPLIMIT);
        skb.push(&h);
        skb.network_header = 0;
        skb.transport_header = HEADER_LEN;
        if skb.ip_summed == IpSummed::Partial {
            skb.csum_start += HEADER_LEN as u16;
        }
        if skb.gso_size > 0 && skb.gso_type == GsoType::None {
            skb.gso_type = GsoType::TcpV6;
        }
        skb.protocol = ETH_P_IPV6;
        self.ip6_finish_output2(route.dev, route.nexthop, skb)
    }

    /// Kernel: `ip6_finish_output2()`: to the neighbour layer.
    pub(crate) fn ip6_finish_output2(
        &mut self,
        dev: DevId,
        nexthop: Ipv6Addr,
        skb: Skb,
    ) -> KResult<()> {
        self.neigh_output(dev, IpAddr::V6(nexthop), skb)
    }

    /// Kernel: `ip6_forward()`: `skb` starts at its IPv6 header and arrived on `dev`.
    /// Dropped unless forwarding is on; hop limit ≤ 1 → dropped (time exceeded); link-local
    /// destinations are never forwarded.
    pub(crate) fn ip6_forward(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        mut skb: Skb,
        hdr: &wire::Ipv6Repr,
    ) {
        let _ = dev;
        let fwd = self
            .netns
            .get(&netns)
            .is_some_and(|n| n.sysctl.ipv6_forwarding);
        if !fwd || wire::ipv6::is_link_local(&hdr.dst_addr) || hdr.dst_addr.is_multicast() {
            self.kfree_skb(skb);
            return;
        }
        if hdr.hop_limit <= 1 {
            self.ip_stats_mut(netns).forward_hoplimit_exceeded += 1;
            self.kfree_skb(skb);
            return;
        }
        let Some(e) = self.fib6_lookup(netns, &hdr.dst_addr, None) else {
            self.ip_stats_mut(netns).forward_no_route += 1;
            self.kfree_skb(skb);
            return;
        };
        skb.head[7] = hdr.hop_limit - 1;
        skb.scrub(false);
        self.ip_stats_mut(netns).forwarded += 1;
        let nexthop = e.gateway.unwrap_or(hdr.dst_addr);
        let _ = self.ip6_finish_output2(e.dev, nexthop, skb);
    }
}

/// Kernel: `ip6_xmit()` as the socket layer calls it (`proto` is the IP protocol number).
#[inline]
pub fn ip6_xmit(
    k: &mut Kernel,
    netns: NetNsId,
    route: &Route6,
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    proto: u8,
    skb: Skb,
) -> KResult<()> {
    k.ip6_xmit_proto(netns, route, saddr, daddr, proto, skb)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header laid out byte by byte is the one [`Ipv6Packet`]'s setters write, for
    /// every protocol number and lengths up to past `u16::MAX`.
    #[test]
    fn header_bytes_match_the_packet_setters() {
        let saddr: Ipv6Addr = "2001:db8::1:2:3".parse().unwrap();
        let daddr: Ipv6Addr = "fd00:ffff::abcd".parse().unwrap();
        for proto in 0..=255u8 {
            // The socket layer's number goes into the header as it is.
            assert_eq!(u8::from(IpProtocol::from(proto)), proto);
            for len in [0usize, 1, 20, 8960, 65535, 65536, 1 << 20] {
                for hop in [0u8, 1, 64, 255] {
                    let mut want = [0u8; HEADER_LEN];
                    let mut p = Ipv6Packet::new_unchecked(&mut want[..]);
                    p.set_version(6);
                    p.set_traffic_class(0);
                    p.set_flow_label(0);
                    p.set_payload_len(len.min(usize::from(u16::MAX)) as u16);
                    p.set_next_header(IpProtocol::from(proto));
                    p.set_hop_limit(hop);
                    p.set_src_addr(saddr);
                    p.set_dst_addr(daddr);
                    let got = ipv6_header(saddr, daddr, IpProtocol::from(proto), len, hop);
                    assert_eq!(got, want, "proto {proto} len {len} hop {hop}");
                }
            }
        }
    }
}
