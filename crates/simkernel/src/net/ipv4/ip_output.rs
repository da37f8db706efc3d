//! IPv4 output and forwarding.
//!
//! Kernel: `net/ipv4/ip_output.c` (`ip_queue_xmit()` → `ip_finish_output2()` →
//! `neigh_output()`), `net/ipv4/ip_forward.c` (`ip_forward()`: forwarding sysctl, TTL).

use std::net::{IpAddr, Ipv4Addr};

use wire::{ChecksumCaps, IpProtocol, Ipv4Packet, Ipv4Repr};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::{GsoType, IpSummed, Skb};
use crate::net::ipv4::route::Route4;

/// `ETH_P_IP`.
pub const ETH_P_IP: u16 = 0x0800;
/// IPv4 header length (no options).
pub const IPV4_HLEN: usize = 20;

/// Build a 20-byte IPv4 header with its checksum.
pub fn ipv4_header(
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    proto: IpProtocol,
    payload_len: usize,
    ttl: u8,
    ident: u16,
) -> [u8; IPV4_HLEN] {
    let mut h = [0u8; IPV4_HLEN];
    Ipv4Repr {
        src_addr: saddr,
        dst_addr: daddr,
        next_header: proto,
        payload_len: payload_len.min(usize::from(u16::MAX) - IPV4_HLEN),
        hop_limit: ttl,
        ident,
        dont_frag: true,
        dscp_ecn: 0,
    }
    .emit(
        &mut Ipv4Packet::new_unchecked(&mut h[..]),
        &ChecksumCaps::default(),
    );
    h
}

/// Recompute the IPv4 header checksum in place (after a TTL or length change).
pub(crate) fn ipv4_fill_checksum(h: &mut [u8]) {
    if h.len() >= IPV4_HLEN {
        Ipv4Packet::new_unchecked(&mut h[..IPV4_HLEN]).fill_checksum();
    }
}

impl Kernel {
    /// Kernel: `ip_queue_xmit()`: push the IPv4 header and send along `route`. The ID
    /// comes from the kernel-wide counter (a socket without its own `inet_id`).
    pub fn ip_queue_xmit(
        &mut self,
        route: &Route4,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        proto: IpProtocol,
        skb: Skb,
    ) -> KResult<()> {
        let ident = self.ip_ident;
        self.ip_ident = self.ip_ident.wrapping_add(1);
        self.ip_queue_xmit_id(route, saddr, daddr, proto, skb, ident)
    }

    /// [`Kernel::ip_queue_xmit`] with the IP ID `ident` the caller chose
    /// (`ip_select_ident_segs()` from the socket's `inet_id`).
    pub(crate) fn ip_queue_xmit_id(
        &mut self,
        route: &Route4,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        proto: IpProtocol,
        mut skb: Skb,
        ident: u16,
    ) -> KResult<()> {
        let h = ipv4_header(saddr, daddr, proto, skb.len(), 64, ident);
        skb.push(&h);
        skb.network_header = 0;
        skb.transport_header = IPV4_HLEN;
        if skb.ip_summed == IpSummed::Partial {
            skb.csum_start += IPV4_HLEN as u16;
        }
        if skb.gso_size > 0 && skb.gso_type == GsoType::None {
            skb.gso_type = GsoType::TcpV4;
        }
        skb.protocol = ETH_P_IP;
        self.neigh_output(route.dev, IpAddr::V4(route.nexthop), skb)
    }

    /// Kernel: `ip_forward()`: `skb` starts at its IPv4 header.
    pub(crate) fn ip_forward(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        mut skb: Skb,
        daddr: Ipv4Addr,
        ttl: u8,
    ) {
        let _ = dev;
        let fwd = self
            .netns
            .get(&netns)
            .is_some_and(|n| n.sysctl.ipv4_forwarding);
        if !fwd || ttl <= 1 {
            if ttl <= 1 {
                self.ip_stats_mut(netns).forward_hoplimit_exceeded += 1;
            }
            self.kfree_skb(skb);
            return;
        }
        let Some(e) = self.fib4_lookup(netns, daddr, None) else {
            self.ip_stats_mut(netns).forward_no_route += 1;
            self.kfree_skb(skb);
            return;
        };
        skb.head[8] = ttl - 1;
        ipv4_fill_checksum(&mut skb.head);
        skb.scrub(false);
        self.ip_stats_mut(netns).forwarded += 1;
        let _ = self.neigh_output(e.dev, IpAddr::V4(e.gateway.unwrap_or(daddr)), skb);
    }
}

/// A connection's first IPv4 ID. Kernel: `tcp_v4_connect()` / `tcp_v4_syn_recv_sock()` set
/// `inet_id = get_random_u16()`; the emulator takes 16 bits of the connection's keyed ISN
/// hash instead, so the value is as unpredictable to the peer and the seeded RNG's stream
/// is unchanged.
pub(crate) fn inet_id_init(isn: u32) -> u16 {
    (isn ^ (isn >> 16)) as u16
}
