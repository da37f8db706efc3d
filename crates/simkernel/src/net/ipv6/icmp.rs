//! ICMPv6: the echo responder, echo replies for the ping helper, and neighbour discovery
//! dispatch.
//!
//! Kernel: `net/ipv6/icmp.c` (`icmpv6_rcv()`, `icmpv6_echo_reply()`); the ping socket side
//! (`net/ipv6/ping.c`) is reduced to [`Kernel::ping`], which sends one echo request and
//! runs the event loop until the reply, an error, or the timeout.

use std::net::{IpAddr, Ipv6Addr};

use wire::{ChecksumCaps, Icmpv6Packet, Icmpv6Repr, IpProtocol};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

/// Emit an ICMPv6 message (checksummed) into a fresh buffer.
pub(crate) fn icmpv6_bytes(src: &Ipv6Addr, dst: &Ipv6Addr, m: &Icmpv6Repr<'_>) -> Vec<u8> {
    let mut b = vec![0u8; m.buffer_len()];
    m.emit(
        src,
        dst,
        &mut Icmpv6Packet::new_unchecked(&mut b[..]),
        &ChecksumCaps::default(),
    );
    b
}

impl Kernel {
    /// Kernel: `icmpv6_rcv()`: `skb` starts at the ICMPv6 header. Unreadable skbs cannot
    /// be parsed and are dropped.
    pub(crate) fn icmpv6_rcv(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        hdr: &wire::Ipv6Repr,
        skb: Skb,
    ) {
        let Some(bytes) = self.skb_linearize(skb) else {
            return;
        };
        let Ok(pkt) = Icmpv6Packet::new_checked(&bytes[..]) else {
            self.ip_stats_mut(netns).icmp_in_errors += 1;
            return;
        };
        let Ok(repr) =
            Icmpv6Repr::parse(&hdr.src_addr, &hdr.dst_addr, &pkt, &ChecksumCaps::default())
        else {
            self.ip_stats_mut(netns).icmp_in_errors += 1;
            return;
        };
        match repr {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => {
                self.ip_stats_mut(netns).icmp_in_echos += 1;
                let data = data.to_vec();
                self.icmpv6_echo_reply(netns, dev, hdr, ident, seq_no, &data);
            }
            Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                self.ping_reply(netns, ident, seq_no);
            }
            Icmpv6Repr::Ndisc(nd) => self.ndisc_rcv(dev, hdr, nd),
        }
    }

    /// Kernel: `icmpv6_echo_reply()`.
    fn icmpv6_echo_reply(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        hdr: &wire::Ipv6Repr,
        ident: u16,
        seq_no: u16,
        data: &[u8],
    ) {
        let oif = wire::ipv6::is_link_local(&hdr.src_addr).then_some(dev);
        let Ok(route) = self.ip6_route_output(netns, hdr.src_addr, oif) else {
            return;
        };
        let saddr = if hdr.dst_addr.is_multicast() {
            route.saddr
        } else {
            hdr.dst_addr
        };
        let reply = Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        };
        let body = icmpv6_bytes(&saddr, &hdr.src_addr, &reply);
        self.ip_stats_mut(netns).icmp_out_echo_reps += 1;
        let _ = self.ip6_xmit(
            netns,
            &route,
            saddr,
            hdr.src_addr,
            IpProtocol::Icmpv6,
            Skb::linear(body),
        );
    }

    /// Send one ICMPv6 echo request from `netns` to `daddr` (optionally out of `oif`).
    pub fn ping6_send(
        &mut self,
        netns: NetNsId,
        daddr: Ipv6Addr,
        oif: Option<DevId>,
        ident: u16,
        seq_no: u16,
        data: &[u8],
    ) -> KResult<()> {
        let route = self.ip6_route_output(netns, daddr, oif)?;
        let req = Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        };
        let body = icmpv6_bytes(&route.saddr, &daddr, &req);
        self.ip6_xmit(
            netns,
            &route,
            route.saddr,
            daddr,
            IpProtocol::Icmpv6,
            Skb::linear(body),
        )
    }

    /// Copy an skb's bytes out when all of them are readable (kernel: `skb_linearize()`
    /// on a readable skb); unreadable skbs are freed and `None` returned.
    pub(crate) fn skb_linearize(&mut self, skb: Skb) -> Option<Vec<u8>> {
        if !skb.skb_frags_readable() {
            self.kfree_skb(skb);
            return None;
        }
        let mut v = skb.head.clone();
        for f in &skb.frags {
            if let crate::Frag::Page { bytes, off, len } = f {
                v.extend_from_slice(bytes.get(*off..off + len)?);
            }
        }
        Some(v)
    }

    /// A ping from `netns` to `daddr` (either family): one echo request, then the event
    /// loop runs until its reply, an error report (EHOSTUNREACH when the neighbour never
    /// answers), or `timeout` (ETIMEDOUT). Returns the round-trip time.
    pub fn ping(
        &mut self,
        netns: NetNsId,
        daddr: IpAddr,
        timeout: crate::time::Duration,
    ) -> KResult<crate::time::Duration> {
        let ident = self.ping.next_ident;
        self.ping.next_ident = self.ping.next_ident.wrapping_add(1);
        let seq = 1;
        let start = self.clock();
        self.ping.pending.insert(ident, None);
        let data = *b"devmem-netkit ping";
        let sent = match daddr {
            IpAddr::V6(a) => self.ping6_send(netns, a, None, ident, seq, &data),
            IpAddr::V4(a) => self.ping4_send(netns, a, ident, seq, &data),
        };
        if let Err(e) = sent {
            self.ping.pending.remove(&ident);
            return Err(e);
        }
        let deadline = start + timeout;
        self.run_until(deadline, |k| {
            k.ping.pending.get(&ident).is_some_and(|r| r.is_some())
        });
        match self.ping.pending.remove(&ident).flatten() {
            Some(Ok(at)) => Ok(at.saturating_duration_since(start)),
            Some(Err(errno)) => Err(KernelError::new(errno)),
            None => Err(KernelError::new(uapi::errno::ETIMEDOUT)),
        }
    }

    pub(crate) fn ping_reply(&mut self, netns: NetNsId, ident: u16, _seq: u16) {
        self.ip_stats_mut(netns).icmp_in_echo_reps += 1;
        let now = self.clock();
        if let Some(slot) = self.ping.pending.get_mut(&ident)
            && slot.is_none()
        {
            *slot = Some(Ok(now));
        }
    }

    pub(crate) fn ping_error(&mut self, ident: u16, errno: i32) {
        if let Some(slot) = self.ping.pending.get_mut(&ident)
            && slot.is_none()
        {
            *slot = Some(Err(errno));
        }
    }
}

/// Outstanding pings (kernel: the ping socket's state, reduced).
#[derive(Debug, Default)]
pub struct PingState {
    pub(crate) next_ident: u16,
    pub(crate) pending: std::collections::BTreeMap<u16, Option<Result<crate::time::Instant, i32>>>,
}
