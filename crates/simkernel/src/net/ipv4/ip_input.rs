//! IPv4 input.
//!
//! Kernel: `net/ipv4/ip_input.c` (`ip_rcv()` header checks, `ip_rcv_finish()` route
//! input: local, broadcast, or forward; `ip_local_deliver_finish()`: ICMP here, TCP to the
//! sockets layer). Only the header has to be readable.

use std::net::{IpAddr, Ipv4Addr};

use wire::{IpProtocol, Ipv4Packet};

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::skbuff::{PktType, Skb};
use crate::net::inet::IpInfo;
use crate::net::ipv6::ip6_input::trim;

impl Kernel {
    /// Kernel: `ip_rcv()`: `skb` starts at the IPv4 header.
    pub(crate) fn ip_rcv(&mut self, dev: DevId, mut skb: Skb) {
        let netns = self.dev(dev).netns;
        let Some(h) = skb.head.get(..20) else {
            self.ip_stats_mut(netns).in_hdr_errors += 1;
            self.kfree_skb(skb);
            return;
        };
        let p = Ipv4Packet::new_unchecked(h);
        let ihl = usize::from(p.header_len());
        let total = usize::from(p.total_len());
        if p.version() != 4
            || ihl < 20
            || skb.head.len() < ihl
            || total < ihl
            || total > skb.len()
            || skb.pkt_type == PktType::OtherHost
        {
            self.ip_stats_mut(netns).in_hdr_errors += 1;
            self.kfree_skb(skb);
            return;
        }
        let Some(hdr) = skb.head.get(..ihl) else {
            return;
        };
        if wire::checksum::data(hdr) != 0xffff {
            self.ip_stats_mut(netns).in_hdr_errors += 1;
            self.kfree_skb(skb);
            return;
        }
        let (saddr, daddr, proto, ttl) =
            (p.src_addr(), p.dst_addr(), p.next_header(), p.hop_limit());
        if skb.len() > total {
            trim(&mut skb, total);
        }
        let local = self.inet_addr_local(netns, daddr).is_some() || daddr.is_broadcast();
        if !local {
            self.ip_forward(netns, dev, skb, daddr, ttl);
            return;
        }
        skb.head.drain(..ihl);
        skb.transport_header = 0;
        let info = IpInfo {
            saddr: IpAddr::V4(saddr),
            daddr: IpAddr::V4(daddr),
        };
        match proto {
            IpProtocol::Icmp => self.icmp_rcv(netns, dev, saddr, daddr, skb),
            IpProtocol::Tcp => crate::net::ipv4::tcp_input::tcp_v4_rcv(self, netns, dev, info, skb),
            _ => {
                self.ip_stats_mut(netns).in_unknown_protos += 1;
                self.kfree_skb(skb);
            }
        }
    }

    /// Unused-address helper for tests: is `a` one of `dev`'s IPv4 addresses.
    pub fn ipv4_dev_has_addr(&self, dev: DevId, a: Ipv4Addr) -> bool {
        self.try_device(dev)
            .is_some_and(|d| d.ip4.addrs.iter().any(|x| x.addr == a))
    }
}
