//! ICMP echo.
//!
//! Kernel: `net/ipv4/icmp.c` (`icmp_rcv()`, `icmp_echo()`); the ping socket side is
//! [`Kernel::ping`].

use std::net::Ipv4Addr;

use wire::{ChecksumCaps, Icmpv4Packet, Icmpv4Repr, IpProtocol};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

fn icmp_bytes(m: &Icmpv4Repr<'_>) -> Vec<u8> {
    let mut b = vec![0u8; m.buffer_len()];
    m.emit(
        &mut Icmpv4Packet::new_unchecked(&mut b[..]),
        &ChecksumCaps::default(),
    );
    b
}

impl Kernel {
    /// Kernel: `icmp_rcv()`: `skb` starts at the ICMP header.
    pub(crate) fn icmp_rcv(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        skb: Skb,
    ) {
        let _ = dev;
        let Some(bytes) = self.skb_linearize(skb) else {
            return;
        };
        let Ok(pkt) = Icmpv4Packet::new_checked(&bytes[..]) else {
            self.ip_stats_mut(netns).icmp_in_errors += 1;
            return;
        };
        let Ok(repr) = Icmpv4Repr::parse(&pkt, &ChecksumCaps::default()) else {
            self.ip_stats_mut(netns).icmp_in_errors += 1;
            return;
        };
        match repr {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.ip_stats_mut(netns).icmp_in_echos += 1;
                let Ok(route) = self.ip_route_output(netns, saddr, None) else {
                    return;
                };
                let src = if daddr.is_broadcast() {
                    route.saddr
                } else {
                    daddr
                };
                let body = icmp_bytes(&Icmpv4Repr::EchoReply {
                    ident,
                    seq_no,
                    data,
                });
                self.ip_stats_mut(netns).icmp_out_echo_reps += 1;
                let _ = self.ip_queue_xmit(&route, src, saddr, IpProtocol::Icmp, Skb::linear(body));
            }
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => self.ping_reply(netns, ident, seq_no),
        }
    }

    /// Send one ICMP echo request from `netns` to `daddr`.
    pub fn ping4_send(
        &mut self,
        netns: NetNsId,
        daddr: Ipv4Addr,
        ident: u16,
        seq_no: u16,
        data: &[u8],
    ) -> KResult<()> {
        let route = self.ip_route_output(netns, daddr, None)?;
        let body = icmp_bytes(&Icmpv4Repr::EchoRequest {
            ident,
            seq_no,
            data,
        });
        self.ip_queue_xmit(
            &route,
            route.saddr,
            daddr,
            IpProtocol::Icmp,
            Skb::linear(body),
        )
    }
}
