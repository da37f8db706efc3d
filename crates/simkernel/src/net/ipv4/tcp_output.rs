//! TCP output: drain a connection's segments into skbs and hand them to IP; timers; the
//! events a connection reports after each input.
//!
//! Kernel: `net/ipv4/tcp_output.c` (`tcp_write_xmit()`, `tcp_transmit_skb()`),
//! `tcp_ipv6.c` (`tcp_v6_send_check()`), `tcp_timer.c`. A segment becomes one skb per group of
//! at most [`MAX_SKB_FRAGS`] fragments: the TCP header in `head`, the payload as frag
//! references (page slices or net_iovs: never copied), `CHECKSUM_PARTIAL` so the device
//! finishes the checksum (it is the only one that can read devmem payload), and `gso_size`
//! = MSS when the skb carries more than one MSS.

use std::net::{IpAddr, SocketAddr};

use tcp::{Event, Segment};
use uapi::errno::{ECONNREFUSED, ECONNRESET, ETIMEDOUT};
use wire::tcp::{TcpChecksum, TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::msg_zerocopy::msg_zerocopy_notify;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::{Frag, IpSummed, MAX_SKB_FRAGS, Skb};
use crate::net::core::sock::{SkDstCache, SkState, SkbData, SockId};
use crate::net::ipv4::route::Route4;
use crate::net::ipv6::ip6_output::IPPROTO_TCP;
use crate::net::ipv6::route::Route6;
use crate::time::KernelEvent;

/// Largest GSO skb the stack builds (kernel: `GSO_MAX_SIZE` default, 64 KiB).
pub const GSO_MAX_SIZE: usize = 65_536;

/// Kernel: `MAX_TCP_HEADER` on x86_64 with the usual config (`L1_CACHE_ALIGN(128 +
/// MAX_HEADER)` = 320): the headroom TCP reserves below its header, config-dependent.
pub(crate) const MAX_TCP_HEADER: usize = 320;

/// The family's own output route (what `ip6_route_output()` / `ip_route_output()` return).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRoute {
    /// IPv6.
    V6(Route6),
    /// IPv4.
    V4(Route4),
}

impl IpRoute {
    /// Output device.
    pub fn dev(&self) -> DevId {
        match self {
            IpRoute::V6(r) => r.dev,
            IpRoute::V4(r) => r.dev,
        }
    }

    /// Source address the route picked.
    pub fn saddr(&self) -> IpAddr {
        match self {
            IpRoute::V6(r) => IpAddr::V6(r.saddr),
            IpRoute::V4(r) => IpAddr::V4(r.saddr),
        }
    }
}

/// A resolved output route for a socket's flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowRoute {
    /// The route: device, preferred source, next hop.
    pub route: IpRoute,
    /// Device MTU.
    pub mtu: u32,
}

/// Where a socket's segments go: what [`Kernel::tcp_transmit`] needs besides the segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TcpOutFlow {
    /// The socket's namespace.
    pub netns: NetNsId,
    /// Local address and port.
    pub local: SocketAddr,
    /// Peer address and port.
    pub remote: SocketAddr,
    /// The output device the route must use (cached route, SO_BINDTODEVICE, or the device
    /// a reset answers on).
    pub oif: Option<DevId>,
    /// The socket's next IPv4 ID (`inet_id`); `None` for the per-netns control socket that
    /// sends resets, whose DF headers get ID 0.
    pub inet_id: Option<u16>,
}

impl Kernel {
    /// Kernel: `ip6_route_output()` / `ip_route_output()` for a flow to `daddr`, honouring
    /// `SO_BINDTODEVICE` as the `oif`.
    pub(crate) fn tcp_route(
        &self,
        netns: NetNsId,
        daddr: IpAddr,
        oif: Option<DevId>,
    ) -> KResult<FlowRoute> {
        let route = match daddr {
            IpAddr::V6(d) => IpRoute::V6(crate::net::ipv6::route::ip6_route_output(
                self, netns, d, oif,
            )?),
            IpAddr::V4(d) => IpRoute::V4(crate::net::ipv4::route::ip_route_output(
                self, netns, d, oif,
            )?),
        };
        let mtu = self.try_device(route.dev()).map_or(1500, |d| d.mtu);
        Ok(FlowRoute { route, mtu })
    }

    /// Emit `seg` along `flow` as one or more skbs through IP; returns the IPv4 IDs used,
    /// one per segment of each skb (`ip_select_ident_segs()`).
    pub(crate) fn tcp_transmit(
        &mut self,
        flow: &TcpOutFlow,
        mss: usize,
        seg: Segment<SkbData>,
    ) -> u16 {
        let seg = seg.map_payload(|d| d.frag);
        self.tcp_transmit_frags(flow, mss, seg)
    }

    /// [`tcp_transmit`](Self::tcp_transmit) for a segment whose payload is already the
    /// frags its skbs carry (see [`tx_frag`]).
    fn tcp_transmit_frags(&mut self, flow: &TcpOutFlow, mss: usize, seg: Segment<Frag>) -> u16 {
        let TcpOutFlow {
            netns,
            local,
            remote,
            oif,
            inet_id,
        } = *flow;
        let Ok(route) = self.tcp_route(netns, remote.ip(), oif) else {
            return 0;
        };
        // Kernel: a SYN-ACK leaves from the request sock through `ip_build_and_send_pkt()`,
        // which gives a DF header ID 0 and takes nothing from the socket's `inet_id`.
        let inet_id = inet_id.filter(|_| !(seg.flags.syn && seg.ack.is_some()));
        let mut used = 0u16;
        let (saddr, daddr) = (local.ip(), remote.ip());
        // Each skb goes down to IP as soon as it is built (kernel: `tcp_write_xmit()`
        // transmits skb by skb), not collected first.
        tcp_for_each_skb(saddr, daddr, mss, seg, |skb, payload| {
            let segs = gso_segs(payload, skb.gso_size);
            let id = inet_id.map_or(0, |i| i.wrapping_add(used));
            if inet_id.is_some() {
                used = used.wrapping_add(segs);
            }
            let _ = self.tcp_ip_xmit(netns, route, saddr, daddr, skb, payload, id);
        });
        used
    }

    /// `skb` as [`tcp_for_each_skb`] built it: its TCP header in `head`, `payload` bytes
    /// in frags.
    #[allow(clippy::too_many_arguments)]
    fn tcp_ip_xmit(
        &mut self,
        netns: NetNsId,
        route: FlowRoute,
        saddr: IpAddr,
        daddr: IpAddr,
        skb: Skb,
        payload: usize,
        ident: u16,
    ) -> KResult<()> {
        // The route tcp_transmit() looked up for this segment (one lookup per transmit, as
        // inet6_csk_xmit() uses the socket's dst).
        match (saddr, daddr, &route.route) {
            (IpAddr::V6(s), IpAddr::V6(d), IpRoute::V6(r)) => {
                let len = skb.head.len() + payload;
                self.ip6_xmit_len(netns, r, s, d, IPPROTO_TCP, skb, len)
            }
            (IpAddr::V4(s), IpAddr::V4(d), IpRoute::V4(r)) => {
                self.ip_queue_xmit_id(r, s, d, wire::IpProtocol::Tcp, skb, ident)
            }
            _ => Ok(()),
        }
    }

    /// After any input to `sk`'s connection: send what it wants to send, act on its
    /// events, re-arm its timer, wake waiters, and reap it when closed and orphaned.
    pub(crate) fn tcp_push(&mut self, sk: SockId) {
        let now = self.clock();
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        let netns = s.netns;
        // The cached route's device (`sk_dst_cache`), else SO_BINDTODEVICE.
        let oif = s.dst.map(|d| d.dev).or(s.bound_dev_if);
        let max_payload = s.tcp_xmit_size_goal();
        let SkState::Conn(c) = &mut s.state else {
            return;
        };
        let (local, remote) = (c.local(), c.remote());
        let mut flow = TcpOutFlow {
            netns,
            local,
            remote,
            oif,
            inet_id: Some(s.inet_id),
        };
        let (mut segs, mut events) = self.socks.push_scratch.take().unwrap_or_default();
        c.poll_transmit_each(now, max_payload, tx_frag, |seg| segs.push(seg));
        let mss = c.send_mss();
        while let Some(e) = c.poll_event() {
            events.push(e);
        }
        let deadline = c.poll_timeout();
        let closed = c.state() == tcp::State::Closed;
        // Kernel: an orphan whose FIN is acknowledged (FIN_WAIT2) or that reaches TIME_WAIT
        // is replaced by a time-wait socket (`tcp_time_wait()` → `tcp_done()` →
        // `inet_csk_destroy_sock()`): the full socket, and with it `sk_user_frags`, is
        // destroyed then, not when the time-wait state ends.
        let timewait = s.orphan && matches!(c.state(), tcp::State::FinWait2 | tcp::State::TimeWait);
        let acked = c.send_stream_acked();
        // With nothing sent the socket's `inet_id` stands as read: no second lookup.
        let sent = !segs.is_empty();
        for seg in segs.drain(..) {
            let used = self.tcp_transmit_frags(&flow, mss, seg);
            flow.inet_id = flow.inet_id.map(|i| i.wrapping_add(used));
        }
        if !timewait && !closed && !events.contains(&Event::Connected) {
            // The usual push: the socket's updates after transmitting (`inet_id`, the events
            // on itself, the timer, its waiters) under one lookup. The same effects in the
            // same order as the general path below: an event here changes neither
            // `timer_at` nor the waiters (only a Connected event wakes, the listener), and
            // waking only queues the waiting tasks, which the timer and page-pool work
            // between them in the general path do not look at.
            let mut arm = None;
            if let Some(s) = self.socks.map.get_mut(&sk) {
                if sent && let Some(id) = flow.inet_id {
                    s.inet_id = id;
                }
                for e in events.drain(..) {
                    tcp_sock_event(s, e, acked);
                }
                if let Some(at) = deadline
                    && s.timer_at.is_none_or(|t| t > at)
                {
                    s.timer_at = Some(at);
                    arm = Some(at);
                }
                s.wake_all();
            }
            events.clear();
            self.socks.push_scratch = Some((segs, events));
            if let Some(at) = arm {
                self.schedule(at, KernelEvent::TcpTimer { sk });
            }
            self.pp_release_deferred();
            return;
        }
        if sent && let (Some(s), Some(id)) = (self.socks.map.get_mut(&sk), flow.inet_id) {
            s.inet_id = id;
        }
        for e in events.drain(..) {
            self.tcp_event(sk, e, acked);
        }
        self.socks.push_scratch = Some((segs, events));
        if let Some(at) = deadline {
            self.tcp_arm_timer(sk, at);
        }
        if timewait {
            self.tcp_release_user_frags(sk);
        }
        if closed {
            self.tcp_closed(sk);
        }
        self.pp_release_deferred();
        self.sk_wake(sk);
    }

    fn tcp_event(&mut self, sk: SockId, e: Event, acked: u64) {
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        if e == Event::Connected {
            if let Some(p) = s.parent.take() {
                if let Some(SkState::Listen { accept_q, .. }) =
                    self.socks.map.get_mut(&p).map(|l| &mut l.state)
                {
                    accept_q.push_back(sk);
                }
                self.sk_wake(p);
            }
            return;
        }
        tcp_sock_event(s, e, acked);
    }

    fn tcp_arm_timer(&mut self, sk: SockId, at: crate::time::Instant) {
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        if s.timer_at.is_some_and(|t| t <= at) {
            return;
        }
        s.timer_at = Some(at);
        self.schedule(at, KernelEvent::TcpTimer { sk });
    }

    /// A [`KernelEvent::TcpTimer`] fired.
    pub(crate) fn tcp_timer_fire(&mut self, sk: SockId) {
        let now = self.clock();
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        if s.timer_at.is_some_and(|t| t > now) {
            return;
        }
        s.timer_at = None;
        if let SkState::Conn(c) = &mut s.state
            && c.poll_timeout().is_some_and(|t| t <= now)
        {
            c.handle_timeout(now);
        }
        self.tcp_push(sk);
    }

    /// The connection reached CLOSED: leave the established hash (new segments for the
    /// 4-tuple get RSTs); an orphan is destroyed.
    fn tcp_closed(&mut self, sk: SockId) {
        let Some(s) = self.socks.map.get(&sk) else {
            return;
        };
        if let (Some(l), Some(r)) = (s.local, s.remote)
            && self.socks.ehash.get(&(s.netns, l, r)) == Some(&sk)
        {
            self.socks.ehash.remove(&(s.netns, l, r));
        }
        if s.orphan {
            self.sk_destruct(sk);
        }
    }

    /// Kernel: `sk_destruct()` → `tcp_v4_destroy_sock()` → `tcp_release_user_frags()`:
    /// free the socket, returning every devmem token to its page pool.
    pub(crate) fn sk_destruct(&mut self, sk: SockId) {
        let Some(mut s) = self.socks.map.remove(&sk) else {
            return;
        };
        if let (Some(l), Some(r)) = (s.local, s.remote)
            && self.socks.ehash.get(&(s.netns, l, r)) == Some(&sk)
        {
            self.socks.ehash.remove(&(s.netns, l, r));
        }
        let frags = std::mem::take(&mut s.user_frags);
        for (_, niov) in frags {
            self.devmem_token_put(niov);
        }
        s.wake_all();
        // The connection and any unread chunks go with the socket.
        drop(s);
        self.pp_release_deferred();
    }

    /// Kernel: `tcp_release_user_frags()`: every net_iov still pinned by a devmem token of
    /// `sk` goes back to its page pool.
    pub(crate) fn tcp_release_user_frags(&mut self, sk: SockId) {
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        let frags = std::mem::take(&mut s.user_frags);
        for (_, niov) in frags {
            self.devmem_token_put(niov);
        }
    }

    /// Cache the route for `sk`'s flow (`sk_setup_caps()` / `__sk_dst_set()`).
    pub(crate) fn sk_dst_set(&mut self, sk: SockId, dev: DevId) {
        if let Some(s) = self.socks.map.get_mut(&sk) {
            s.dst = Some(SkDstCache { dev });
        }
    }
}

/// What an event other than [`Event::Connected`] (which queues the socket on its listener)
/// does to the socket itself.
#[inline]
fn tcp_sock_event(s: &mut crate::net::core::sock::Sock, e: Event, acked: u64) {
    match e {
        Event::Acked { .. } => {
            let done = s.zc.complete_upto(acked);
            // Kernel: `__msg_zerocopy_callback()` skips SOCK_DEAD sockets.
            if !s.orphan {
                for id in done {
                    msg_zerocopy_notify(&mut s.err_queue, id, 1);
                }
            }
        }
        Event::Reset => {
            s.sk_err = if s.was_syn_sent {
                ECONNREFUSED
            } else {
                ECONNRESET
            };
        }
        Event::TimedOut => s.sk_err = ETIMEDOUT,
        Event::Connected | Event::Readable | Event::Writable | Event::PeerFin | Event::Closed => {}
    }
}

impl crate::net::core::sock::Sock {
    /// Kernel: `tcp_xmit_size_goal()` for this socket's connection (see
    /// [`tcp_xmit_size_goal`]); before there is one, `sk_gso_max_size`.
    pub(crate) fn tcp_xmit_size_goal(&self) -> usize {
        match self.conn() {
            Some(c) => tcp_xmit_size_goal(c.send_mss(), c.max_send_window()),
            None => GSO_MAX_SIZE - (MAX_TCP_HEADER + 1),
        }
    }
}

/// Kernel: `tcp_xmit_size_goal()`: the payload of one skb, a whole number of segments.
///
/// `sk_setup_caps()` gives the socket `sk_gso_max_size` = the device's `gso_max_size`
/// (64 KiB) less `MAX_TCP_HEADER + 1` (`sk_dst_gso_max_size()`); `tcp_bound_to_half_wnd()`
/// caps that at half the largest window the peer offered (once it exceeds
/// `TCP_MSS_DEFAULT`); the goal is the most whole `mss`-sized segments that fit, at least
/// one. So a 64 KiB TSO skb at MSS 8940 carries 7 segments (62580 bytes): a real sender
/// puts no runt segment at the end of every full skb.
fn tcp_xmit_size_goal(mss: usize, max_window: u64) -> usize {
    const TCP_MSS_DEFAULT: u64 = 536;
    let mss = mss.max(1);
    let mut goal = GSO_MAX_SIZE - (MAX_TCP_HEADER + 1);
    let cutoff = if max_window > TCP_MSS_DEFAULT {
        max_window / 2
    } else {
        max_window
    };
    if cutoff > 0 && goal as u64 > cutoff {
        // `max(cutoff, 68 - tcp_header_len)`: 48 with a bare 20-byte header.
        goal = (cutoff as usize).max(68 - 20);
    }
    (goal / mss * mss).max(mss)
}

/// Kernel: `tcp_set_skb_tso_segs()`: the segments a TCP skb with `payload` bytes after its
/// header becomes, `DIV_ROUND_UP(payload, gso_size)`, at least one.
fn gso_segs(payload: usize, gso_size: u16) -> u16 {
    match usize::from(gso_size) {
        0 => 1,
        mss => payload.div_ceil(mss).max(1) as u16,
    }
}

/// The frag an skb carries for bytes `r` of the send-queue payload `d`: `d.slice(r).frag`,
/// another reference on the same page or net_iov, made straight from the queued payload
/// (kernel: the transmitted clone shares the queued skb's frags, `skb_clone()`).
#[inline]
fn tx_frag(d: &SkbData, r: std::ops::Range<usize>) -> Frag {
    match &d.frag {
        Frag::Page { off, bytes, .. } => Frag::Page {
            len: r.len(),
            off: off + r.start,
            bytes: bytes.clone(),
        },
        Frag::NetIov { off, niov, .. } => Frag::NetIov {
            len: r.len(),
            off: off + r.start,
            niov: niov.clone(),
        },
    }
}

/// Build the skbs for one TCP segment, handing each to `xmit` as soon as it is built, with
/// the payload bytes its frags carry (the skb's length less its header): header
/// in `head` (checksum `CHECKSUM_PARTIAL`), payload frags by reference, at most
/// [`MAX_SKB_FRAGS`] frags per skb (a segment whose payload has more frags becomes several
/// skbs with consecutive sequence numbers; flags other than ACK go on the first (SYN/RST) or
/// last (FIN/PSH) one).
fn tcp_for_each_skb(
    saddr: IpAddr,
    daddr: IpAddr,
    mss: usize,
    seg: Segment<Frag>,
    mut xmit: impl FnMut(Skb, usize),
) {
    // MAX_SKB_FRAGS payload frags per skb.
    let n = seg.payload.len().div_ceil(MAX_SKB_FRAGS).max(1);
    let mut payload = seg.payload;
    let mut seq = seg.seq;
    for i in 0..n {
        let first = i == 0;
        let last = i + 1 == n;
        // The last (usually only) skb's frag array is the payload vector itself.
        let frags: Vec<Frag> = if last {
            std::mem::take(&mut payload)
        } else {
            payload.drain(..MAX_SKB_FRAGS).collect()
        };
        let len: usize = frags.iter().map(Frag::len).sum();
        let mut flags = TcpFlags::default();
        if seg.flags.syn && first {
            flags.insert(TcpFlags::SYN);
        }
        if seg.flags.rst && first {
            flags.insert(TcpFlags::RST);
        }
        if seg.flags.fin && last {
            flags.insert(TcpFlags::FIN);
        }
        if seg.flags.psh && last {
            flags.insert(TcpFlags::PSH);
        }
        let repr = TcpRepr {
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            seq_number: TcpSeqNumber(seq.0),
            ack_number: seg.ack.map(|a| TcpSeqNumber(a.0)),
            flags,
            window_len: seg.window,
            urgent_pointer: 0,
            max_seg_size: if first { seg.options.mss } else { None },
            window_scale: if first {
                seg.options.window_scale
            } else {
                None
            },
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let hlen = repr.header_len();
        let mut head = Vec::with_capacity(crate::net::core::skbuff::MAX_TCP_HEADER);
        head.resize(hlen, 0);
        let mut pkt = TcpPacket::new_unchecked(&mut head[..]);
        if repr
            .emit_header(&mut pkt, &saddr, &daddr, len, TcpChecksum::Partial)
            .is_err()
        {
            // Mixed families or an oversized skb: an internal bug upstream of here.
            continue;
        }
        let skb = Skb {
            head,
            frags,
            ip_summed: IpSummed::Partial,
            csum_start: 0,
            csum_offset: 16,
            gso_size: if len > mss { mss as u16 } else { 0 },
            ..Skb::default()
        };
        xmit(skb, len);
        seq = seq + len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tcp::SeqNumber;

    fn page_frags(n: usize) -> Vec<Frag> {
        let bytes = crate::net::core::skbuff::Page::new_buf(vec![7u8; n]);
        (0..n)
            .map(|i| Frag::Page {
                bytes: bytes.clone(),
                off: i,
                len: 1,
            })
            .collect()
    }

    /// `tx_frag(d, r)` is the frag of `d.slice(r)` (what a segment of cloned and sliced
    /// payloads carried): the same page, offset and length, for whole and partial ranges.
    #[test]
    fn tx_frag_is_the_sliced_payloads_frag() {
        use tcp::Payload;
        let bytes = crate::net::core::skbuff::Page::new_buf(vec![3u8; 100]);
        let d = SkbData {
            frag: Frag::Page {
                bytes: bytes.clone(),
                off: 10,
                len: 50,
            },
            linear: false,
            unreadable: false,
            rx_ref: None,
        };
        let key = |f: &Frag| match f {
            Frag::Page { bytes: b, off, len } => (std::rc::Rc::ptr_eq(b, &bytes), *off, *len),
            Frag::NetIov { .. } => panic!("page frag expected"),
        };
        for r in [0..50, 0..1, 7..50, 20..21, 49..50, 3..3] {
            assert_eq!(key(&tx_frag(&d, r.clone())), key(&d.slice(r).frag));
        }
    }

    #[test]
    fn more_than_max_skb_frags_become_several_skbs() {
        let mut seg = Segment::new(1000, 2000, SeqNumber(5000));
        seg.ack = Some(SeqNumber(9));
        seg.flags.fin = true;
        seg.flags.psh = true;
        seg.payload = page_frags(40);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let mut skbs = Vec::new();
        tcp_for_each_skb(ip, ip, 1440, seg, |skb, payload| {
            // The payload handed with each skb is its length after the TCP header, and
            // gives the segment count the header-reading count gave.
            let thlen = usize::from(skb.head[12] >> 4) * 4;
            assert_eq!(thlen, skb.head.len());
            assert_eq!(payload, skb.len() - thlen);
            assert_eq!(
                gso_segs(payload, skb.gso_size),
                payload.div_ceil(1440).max(1) as u16
            );
            skbs.push(skb);
        });
        let nfrags: Vec<usize> = skbs.iter().map(Skb::nr_frags).collect();
        assert_eq!(nfrags, vec![17, 17, 6]);
        let mut want_seq = 5000u32;
        for (i, skb) in skbs.iter().enumerate() {
            let p = TcpPacket::new_checked(&skb.head[..]).unwrap();
            assert_eq!(p.seq_number().0, want_seq);
            assert_eq!(p.fin(), i == 2);
            assert_eq!(p.psh(), i == 2);
            assert!(p.ack());
            assert_eq!(skb.ip_summed, IpSummed::Partial);
            want_seq += skb.frags.iter().map(|f| f.len() as u32).sum::<u32>();
        }
        assert_eq!(want_seq, 5040);
    }

    /// Whole segments only: 7 × 8940 of the 65215 bytes `sk_gso_max_size` leaves at MTU
    /// 9000, 45 × 1440 at MTU 1500; half the peer's largest window bounds it, one MSS is
    /// the least, and a window no larger than `TCP_MSS_DEFAULT` is taken whole.
    #[test]
    fn size_goal_is_whole_segments_within_half_the_window() {
        assert_eq!(tcp_xmit_size_goal(8940, 1 << 20), 62_580);
        assert_eq!(tcp_xmit_size_goal(1440, 1 << 20), 64_800);
        assert_eq!(tcp_xmit_size_goal(1440, 0), 64_800);
        assert_eq!(tcp_xmit_size_goal(1440, 20_000), 8_640);
        assert_eq!(tcp_xmit_size_goal(8940, 20_000), 8_940);
        assert_eq!(tcp_xmit_size_goal(100, 400), 400);
        assert_eq!(tcp_xmit_size_goal(65_535, 1 << 20), 65_535);
    }
}
