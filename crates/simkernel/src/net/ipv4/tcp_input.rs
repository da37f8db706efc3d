//! TCP input: parse, checksum, demultiplex.
//!
//! Kernel: `net/ipv6/tcp_ipv6.c` `tcp_v6_rcv()`, `net/ipv4/tcp_ipv4.c` `tcp_v4_rcv()`,
//! `__inet6_lookup_skb()` (established 4-tuple first, then listeners scored as
//! `compute_score()` does, SO_REUSEPORT groups picked by a flow hash), and the RST for a
//! segment no socket owns (`tcp_v6_send_reset()`). The IP layer calls these after its own
//! checks, with the TCP header at the start of `skb.head`.

use std::net::{IpAddr, SocketAddr};

use tcp::{ListenAction, Segment, SeqNumber, listen_segment, reset_for_unmatched};
use wire::ChecksumCaps;
use wire::checksum::{self, Accumulator};
use wire::ip::IpProtocol;
use wire::tcp::{TcpFlags, TcpPacket, TcpRepr};

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::{Frag, IpSummed, MAX_SKB_FRAGS, Skb};
use crate::net::core::sock::{EhashKey, SkState, SkbData, SockId};

/// What the IP layer tells TCP about a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// IP source.
    pub saddr: IpAddr,
    /// IP destination.
    pub daddr: IpAddr,
}

/// Kernel: `tcp_v6_rcv()`.
pub fn tcp_v6_rcv(k: &mut Kernel, netns: NetNsId, dev: DevId, ip: IpInfo, skb: Skb) {
    k.tcp_rcv(netns, dev, ip, skb);
}

/// Kernel: `tcp_v4_rcv()`.
pub fn tcp_v4_rcv(k: &mut Kernel, netns: NetNsId, dev: DevId, ip: IpInfo, skb: Skb) {
    k.tcp_rcv(netns, dev, ip, skb);
}

/// Kernel: `tcp_checksum_complete()` over a readable skb (head and page frags).
fn tcp_checksum_ok(ip: &IpInfo, skb: &Skb) -> bool {
    let Ok(len) = u32::try_from(skb.len()) else {
        return false;
    };
    let Ok(pseudo) = checksum::pseudo_header(&ip.saddr, &ip.daddr, IpProtocol::Tcp, len) else {
        return false;
    };
    let mut acc = Accumulator::new();
    acc.add_sum(pseudo);
    acc.add(&skb.head);
    for f in &skb.frags {
        match f {
            Frag::Page { bytes, off, len } => match bytes.get(*off..off + len) {
                Some(b) => acc.add(b),
                None => return false,
            },
            Frag::NetIov { .. } => return false,
        }
    }
    acc.checksum() == 0
}

/// Turn an skb into a connection segment; `None` (the skb untouched, to be freed) for
/// malformed headers or bad checksums. The frags move into the segment (RX net_iov frags
/// carry the skb's page-pool reference along), leaving `skb.frags` empty; its head and
/// frag array are then the caller's to hand back. The chunks go into `payload`, an empty
/// vector whose capacity is reused (see `SockTable::rx_payload_scratch`).
fn tcp_parse_skb(
    k: &Kernel,
    ip: &IpInfo,
    skb: &mut Skb,
    mut payload: Vec<SkbData>,
) -> Option<Segment<SkbData>> {
    let verify = skb.ip_summed == IpSummed::None;
    let unreadable = !skb.skb_frags_readable();
    if verify && (unreadable || !tcp_checksum_ok(ip, skb)) {
        return None;
    }
    // `TcpRepr::parse` checks the header length first (`check_len`, what `new_checked`
    // would).
    let pkt = TcpPacket::new_unchecked(&skb.head[..]);
    let Ok(repr) = TcpRepr::parse(&pkt, &ip.saddr, &ip.daddr, &ChecksumCaps::ignored()) else {
        return None;
    };
    let mut seg = Segment::new(repr.src_port, repr.dst_port, SeqNumber(repr.seq_number.0));
    seg.ack = repr.ack_number.map(|a| SeqNumber(a.0));
    seg.flags.syn = repr.flags.contains(TcpFlags::SYN);
    seg.flags.fin = repr.flags.contains(TcpFlags::FIN);
    seg.flags.rst = repr.flags.contains(TcpFlags::RST);
    seg.flags.psh = repr.flags.contains(TcpFlags::PSH);
    seg.window = repr.window_len;
    seg.options.mss = repr.max_seg_size;
    seg.options.window_scale = repr.window_scale;
    seg.options.sack_permitted = repr.sack_permitted;
    payload.clear();
    seg.payload = payload;
    seg.payload
        .reserve(skb.frags.len() + usize::from(!repr.payload.is_empty()));
    if !repr.payload.is_empty() {
        let bytes = crate::net::core::skbuff::Page::new_buf(repr.payload.to_vec());
        let len = bytes.len();
        seg.payload.push(SkbData {
            frag: Frag::Page { bytes, off: 0, len },
            linear: true,
            unreadable,
            rx_ref: None,
        });
    }
    for frag in skb.frags.drain(..) {
        if frag.is_empty() {
            continue;
        }
        let rx_ref = frag.net_iov().and_then(|n| k.rx_pp_ref(n));
        seg.payload.push(SkbData {
            frag,
            linear: false,
            unreadable,
            rx_ref,
        });
    }
    Some(seg)
}

/// The canonical form of an address for demultiplexing: v4-mapped IPv6 becomes IPv4.
#[inline]
pub fn canon_ip(a: IpAddr) -> IpAddr {
    match a {
        // `to_ipv4_mapped()`'s test (`::ffff:0:0/96`) on the address as one integer.
        IpAddr::V6(v6) if v6.to_bits() >> 32 == 0xffff => {
            IpAddr::V4(std::net::Ipv4Addr::from_bits(v6.to_bits() as u32))
        }
        a => a,
    }
}

impl Kernel {
    fn tcp_rcv(&mut self, netns: NetNsId, dev: DevId, ip: IpInfo, mut skb: Skb) {
        let ip = IpInfo {
            saddr: canon_ip(ip.saddr),
            daddr: canon_ip(ip.daddr),
        };
        let payload = std::mem::take(&mut self.socks.rx_payload_scratch);
        let Some(mut seg) = tcp_parse_skb(self, &ip, &mut skb, payload) else {
            self.kfree_skb(skb);
            return;
        };
        // The skb's data is the segment's now. One a driver built from the NAPI skb cache
        // (its frag array at `MAX_SKB_FRAGS` or more) gives its emptied head and frag array
        // back to it (kernel: `skb_attempt_defer_free()` → `napi_consume_skb()` on this
        // CPU), for the next frame a driver builds, instead of their being freed here and
        // allocated again; any other (a linear frame's, whose frag array was never
        // allocated) is freed.
        let Skb { head, frags, .. } = skb;
        if frags.capacity() >= MAX_SKB_FRAGS {
            self.softnet.skb_cache.put(head, frags);
        }
        let now = self.clock();
        // 1. Established (and SYN-RECEIVED children, which are full sockets here).
        // One socket-table lookup both checks the bound device (SO_BINDTODEVICE) and
        // reaches the connection. The key is made from the addresses and ports as the
        // socket addresses below would make it.
        let key = EhashKey::of_ips(netns, (&ip.daddr, seg.dst_port), (&ip.saddr, seg.src_port));
        if let Some(&sk) = self.socks.ehash.get_key(&key)
            && let Some(s) = self.socks.map.get_mut(&sk)
            && s.bound_dev_if.is_none_or(|b| b == dev)
        {
            if let Some(c) = s.conn_mut() {
                c.handle_segment_in(now, &mut seg);
                // Empty now: its capacity serves the next skb.
                self.socks.rx_payload_scratch = std::mem::take(&mut seg.payload);
            }
            self.tcp_push(sk);
            return;
        }
        let local = SocketAddr::new(ip.daddr, seg.dst_port);
        let remote = SocketAddr::new(ip.saddr, seg.src_port);
        // 2. Listeners.
        if let Some(l) = self.inet_lookup_listener(netns, dev, local, remote) {
            match listen_segment(&seg) {
                ListenAction::Accept => self.tcp_conn_request(l, dev, local, remote, &seg),
                ListenAction::Reset(rst) => {
                    self.tcp_send_reset(netns, dev, local, remote, rst);
                }
                ListenAction::Ignore => {}
            }
            return;
        }
        // 3. Nobody: RST (never for a RST).
        if let Some(rst) = reset_for_unmatched(&seg) {
            self.tcp_send_reset(netns, dev, local, remote, rst);
        }
        // Nobody took the payload (a SYN's data is dropped too): its references go back.
        drop(seg);
        self.pp_release_deferred();
    }

    fn tcp_send_reset(
        &mut self,
        netns: NetNsId,
        dev: DevId,
        local: SocketAddr,
        remote: SocketAddr,
        rst: Segment<SkbData>,
    ) {
        // Kernel: `tcp_v4_send_reset()` replies through the per-netns control socket,
        // which has no `inet_id`: the reset's DF header gets ID 0.
        let flow = crate::net::ipv4::tcp_output::TcpOutFlow {
            netns,
            local,
            remote,
            oif: Some(dev),
            inet_id: None,
        };
        self.tcp_transmit(&flow, usize::MAX, rst);
    }

    /// Kernel: `__inet6_lookup_listener()` / `inet_lhash2_lookup()`: the best-scoring
    /// listener for `local`; within a SO_REUSEPORT group, one picked by a flow hash
    /// (`reuseport_select_sock()`).
    pub(crate) fn inet_lookup_listener(
        &self,
        netns: NetNsId,
        dev: DevId,
        local: SocketAddr,
        remote: SocketAddr,
    ) -> Option<SockId> {
        let mut best: Option<(u32, Vec<SockId>)> = None;
        for s in self.socks.map.values() {
            if s.netns != netns || !matches!(s.state, SkState::Listen { .. }) {
                continue;
            }
            let Some(bound) = s.local else { continue };
            if bound.port() != local.port() {
                continue;
            }
            let bip = canon_ip(bound.ip());
            let mut score = 1;
            if bip.is_unspecified() {
                // An AF_INET socket on 0.0.0.0 takes only IPv4; an AF_INET6 one on :: both.
                if bip.is_ipv4() && !local.is_ipv4() {
                    continue;
                }
                if bip.is_ipv6() && local.is_ipv4() && s.family != crate::net::core::sock::AF_INET6
                {
                    continue;
                }
            } else if bip == local.ip() {
                score += 4;
            } else {
                continue;
            }
            match s.bound_dev_if {
                Some(b) if b == dev => score += 4,
                Some(_) => continue,
                None => {}
            }
            if s.family == crate::net::core::sock::AF_INET6 && local.is_ipv6() {
                score += 1;
            }
            match &mut best {
                Some((bs, ids)) if *bs == score => ids.push(s.id),
                Some((bs, _)) if *bs > score => {}
                _ => best = Some((score, vec![s.id])),
            }
        }
        let (_, ids) = best?;
        let reuse: Vec<SockId> = ids
            .iter()
            .copied()
            .filter(|id| self.socks.map.get(id).is_some_and(|s| s.reuseport))
            .collect();
        if reuse.len() > 1 {
            let h = flow_hash(local, remote);
            return reuse.get((h % reuse.len() as u64) as usize).copied();
        }
        ids.first().copied()
    }

    /// Kernel: `tcp_conn_request()` → `tcp_v6_syn_recv_sock()`: a child socket in
    /// SYN-RECEIVED inheriting the listener's options, unless the accept queue is full
    /// (`sk_acceptq_is_full()`: the SYN is dropped).
    fn tcp_conn_request(
        &mut self,
        l: SockId,
        dev: DevId,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &Segment<SkbData>,
    ) {
        let now = self.clock();
        let Some(ls) = self.socks.map.get(&l) else {
            return;
        };
        let SkState::Listen { backlog, accept_q } = &ls.state else {
            return;
        };
        let pending = self
            .socks
            .map
            .values()
            .filter(|s| s.parent == Some(l))
            .count();
        if accept_q.len() + pending > *backlog as usize {
            return;
        }
        let (netns, family) = (ls.netns, ls.family);
        let (nodelay, zerocopy, sndbuf, rcvbuf, bound) = (
            ls.nodelay,
            ls.zerocopy,
            ls.sndbuf,
            ls.rcvbuf,
            ls.bound_dev_if,
        );
        let locks = (ls.sndbuf_locked, ls.rcvbuf_locked);
        let bufs = (ls.sndbuf_bytes(), ls.rcvbuf_bytes());
        let Ok(route) = self.tcp_route(netns, remote.ip(), bound.or(Some(dev))) else {
            return;
        };
        let secret = self.socks.isn_secret;
        let isn = tcp::initial_sequence_number(secret, local, remote, now);
        let config = self.tcp_config(remote, route.mtu, nodelay, bufs);
        let Ok(conn) = tcp::Connection::accept(now, config, local, remote, syn, isn) else {
            return;
        };
        let child = self.socks.alloc(netns, family);
        if let Some(c) = self.socks.map.get_mut(&child) {
            c.state = SkState::Conn(Box::new(conn));
            c.local = Some(local);
            c.remote = Some(remote);
            c.parent = Some(l);
            c.passive = true;
            c.nodelay = nodelay;
            c.zerocopy = zerocopy;
            c.sndbuf = sndbuf;
            c.rcvbuf = rcvbuf;
            (c.sndbuf_locked, c.rcvbuf_locked) = locks;
            c.bound_dev_if = bound;
            c.inet_id = crate::net::ipv4::ip_output::inet_id_init(isn.0);
        }
        self.socks.ehash.insert((netns, local, remote), child);
        self.sk_dst_set(child, route.route.dev());
        self.tcp_push(child);
    }

    /// The connection configuration for a flow over a device with `mtu`
    /// (kernel: `tcp_mss_clamp()` from the route MTU: minus the IP and TCP headers).
    pub(crate) fn tcp_config(
        &self,
        remote: SocketAddr,
        mtu: u32,
        nodelay: bool,
        (sndbuf, rcvbuf): (usize, usize),
    ) -> tcp::Config {
        let ip_hdr = if remote.is_ipv4() { 20 } else { 40 };
        let mss = mtu.saturating_sub(ip_hdr + 20).clamp(88, 65_495);
        tcp::Config {
            mss: Some(mss as u16),
            nodelay,
            send_buffer: sndbuf,
            recv_buffer: rcvbuf,
            ..tcp::Config::default()
        }
    }
}

/// A deterministic flow hash for SO_REUSEPORT selection (kernel: `inet6_ehashfn()`).
fn flow_hash(local: SocketAddr, remote: SocketAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut mix = |b: &[u8]| {
        for &x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for a in [local, remote] {
        match a.ip() {
            IpAddr::V4(v) => mix(&v.octets()),
            IpAddr::V6(v) => mix(&v.octets()),
        }
        mix(&a.port().to_be_bytes());
    }
    h
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    /// `canon_ip` maps exactly what `to_ipv4_mapped()` maps, to the same address.
    #[test]
    fn canon_ip_as_to_ipv4_mapped() {
        let mut addrs: Vec<Ipv6Addr> = vec![
            Ipv6Addr::UNSPECIFIED,
            Ipv6Addr::LOCALHOST,
            "::ffff:10.0.0.1".parse().unwrap(),
            "::ffff:0.0.0.0".parse().unwrap(),
            "::fffe:10.0.0.1".parse().unwrap(),
            "::1:ffff:10.0.0.1".parse().unwrap(),
            "::10.0.0.1".parse().unwrap(),
            "fd00::ffff:10.0.0.1".parse().unwrap(),
            "64:ff9b::10.0.0.1".parse().unwrap(),
        ];
        // Every single-bit change of a mapped address.
        let m = u128::from("::ffff:192.0.2.7".parse::<Ipv6Addr>().unwrap());
        addrs.extend((0..128).map(|b| Ipv6Addr::from(m ^ (1u128 << b))));
        for a in addrs {
            let want = a.to_ipv4_mapped().map_or(IpAddr::V6(a), IpAddr::V4);
            assert_eq!(canon_ip(IpAddr::V6(a)), want, "{a}");
        }
        let v4 = IpAddr::V4("10.1.2.3".parse().unwrap());
        assert_eq!(canon_ip(v4), v4);
    }
}
