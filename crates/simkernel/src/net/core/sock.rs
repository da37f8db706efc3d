//! Sockets: `struct sock` reduced to what TCP, MSG_ZEROCOPY and devmem need, the socket
//! table, socket options and the poll mask.
//!
//! Kernel: `include/net/sock.h`, `net/core/sock.c` (`sk_setsockopt()`, `sk_getsockopt()`,
//! `sock_devmem_dontneed()`), `net/ipv4/tcp.c` (`tcp_poll()`, `do_tcp_setsockopt()`).
//! A socket is owned by the kernel's table; fds refer to it by [`SockId`]. Tasks blocked on
//! a socket leave a [`Waker`] in its wait queue (`sk_wq`); every state change wakes them all
//! and they re-check (`sk_data_ready()` / `sk_write_space()` / `sk_error_report()`).

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::rc::Rc;
use std::task::Waker;

use tcp::Connection;
use uapi::errno::{EBADF, EINVAL, ENODEV, ENOPROTOOPT};
use uapi::socket::{
    DmabufToken, MAX_DONTNEED_FRAGS, MAX_DONTNEED_TOKENS, POLLERR, POLLHUP, POLLIN, POLLOUT,
    SO_BINDTODEVICE, SO_DEVMEM_DONTNEED, SO_ERROR, SO_RCVBUF, SO_REUSEADDR, SO_REUSEPORT,
    SO_SNDBUF, SO_TYPE, SO_ZEROCOPY, SOCK_STREAM, SOL_SOCKET, SOL_TCP, SockExtendedErr,
    TCP_NODELAY,
};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::msg_zerocopy::ZerocopyState;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::netmem::NetIov;
use crate::net::core::skbuff::Frag;
use crate::time::Instant;

/// `AF_INET`.
pub const AF_INET: i32 = 2;
/// `AF_INET6`.
pub const AF_INET6: i32 = 10;

/// Kernel: `sysctl_wmem_max` / `sysctl_rmem_max` default (212992).
pub const SYSCTL_WMEM_MAX: i32 = 212_992;
/// Kernel: `SOCK_MIN_SNDBUF` (2 × (2048 + sizeof(struct sk_buff)) rounded, 4608 on x86_64).
pub const SOCK_MIN_SNDBUF: i32 = 4608;
/// Kernel: `SOCK_MIN_RCVBUF` (2048 + sizeof(struct sk_buff), 2304 on x86_64).
pub const SOCK_MIN_RCVBUF: i32 = 2304;
/// Kernel: `net.ipv4.tcp_wmem[1]` (initial `sk_sndbuf` of a TCP socket).
pub const TCP_WMEM_DEFAULT: i32 = 16_384;
/// Kernel: `net.ipv4.tcp_rmem[1]` (initial `sk_rcvbuf` of a TCP socket).
pub const TCP_RMEM_DEFAULT: i32 = 131_072;
/// Kernel: `net.ipv4.tcp_wmem[2]`: how far send-buffer autotuning grows `sk_sndbuf`.
pub const TCP_WMEM_MAX: i32 = 4_194_304;
/// Kernel: `net.ipv4.tcp_rmem[2]`: how far receive-buffer autotuning grows `sk_rcvbuf`.
pub const TCP_RMEM_MAX: i32 = 6_291_456;

/// A socket's identity, never reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SockId(pub u64);

/// The TCP payload unit: one skb fragment by reference, plus where it sat in its skb.
///
/// Readable bytes travel as [`Frag::Page`], device memory as [`Frag::NetIov`]; the TCP
/// only measures and slices them, so retransmissions resend the same references and
/// received chunks keep their skb's identity (`linear` head bytes vs frags, and whether the
/// skb was unreadable) for `tcp_recvmsg_locked()`'s rules.
#[derive(Debug, Clone)]
pub struct SkbData {
    /// The fragment.
    pub frag: Frag,
    /// The bytes came from the skb's linear head (`SCM_DEVMEM_LINEAR` on devmem RX).
    pub linear: bool,
    /// Kernel: `skb->unreadable` of the skb the bytes arrived in.
    pub unreadable: bool,
    /// The received skb's page-pool reference on this frag's net_iov, shared by every
    /// slice of the frag: when the last slice is gone (read, trimmed as a duplicate,
    /// purged at close) the reference goes back (kernel: `skb_pp_recycle()` on free).
    pub rx_ref: Option<Rc<RxPpRef>>,
}

/// One skb's page-pool reference on an RX net_iov. Dropping it queues the niov on the
/// kernel's deferred-release list (the kernel cannot be borrowed from a `Drop`);
/// [`Kernel::pp_release_deferred`] returns them to their pools.
#[derive(Debug)]
pub struct RxPpRef {
    niov: NetIov,
    sink: Rc<RefCell<Vec<NetIov>>>,
}

impl Drop for RxPpRef {
    fn drop(&mut self) {
        self.sink.borrow_mut().push(self.niov.clone());
    }
}

impl tcp::Payload for SkbData {
    fn len(&self) -> usize {
        self.frag.len()
    }

    fn slice(&self, r: Range<usize>) -> Self {
        let frag = match &self.frag {
            Frag::Page { bytes, off, .. } => Frag::Page {
                bytes: bytes.clone(),
                off: off + r.start,
                len: r.len(),
            },
            Frag::NetIov { niov, off, .. } => Frag::NetIov {
                niov: niov.clone(),
                off: off + r.start,
                len: r.len(),
            },
        };
        SkbData {
            frag,
            linear: self.linear,
            unreadable: self.unreadable,
            rx_ref: self.rx_ref.clone(),
        }
    }

    /// `slice(n..len)` in place: the same frag bounds, references and flags, without
    /// cloning and dropping the page or net_iov and the page-pool reference.
    #[inline]
    fn trim_front(&mut self, n: usize) {
        let (Frag::Page { off, len, .. } | Frag::NetIov { off, len, .. }) = &mut self.frag;
        debug_assert!(n <= *len);
        *off += n;
        *len -= n;
    }
}

/// Socket state beyond TCP's own.
#[derive(Debug)]
pub enum SkState {
    /// Created, possibly bound, not listening or connected (`TCP_CLOSE`).
    Open,
    /// `TCP_LISTEN`.
    Listen {
        /// Kernel: `sk_max_ack_backlog`.
        backlog: u32,
        /// Established children not yet accepted (`icsk_accept_queue`).
        accept_q: VecDeque<SockId>,
    },
    /// A connection (active or passive).
    Conn(Box<Connection<SkbData>>),
}

/// The cached route (`sk_dst_cache`): what `net_devmem_get_binding()` checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkDstCache {
    /// Output device.
    pub dev: DevId,
}

/// Kernel: `struct sock` + `struct inet_sock` + `struct tcp_sock`, the parts used here.
#[derive(Debug)]
pub struct Sock {
    /// Identity.
    pub id: SockId,
    /// `sock_net(sk)`.
    pub netns: NetNsId,
    /// `sk_family`: AF_INET or AF_INET6.
    pub family: i32,
    /// State.
    pub state: SkState,
    /// Bound / local address (v4 flows use `SocketAddr::V4`, even on AF_INET6 sockets).
    pub local: Option<SocketAddr>,
    /// Peer address once connecting.
    pub remote: Option<SocketAddr>,
    /// `sk_reuse` (SO_REUSEADDR).
    pub reuseaddr: bool,
    /// `sk_reuseport` (SO_REUSEPORT).
    pub reuseport: bool,
    /// `sk_bound_dev_if` (SO_BINDTODEVICE).
    pub bound_dev_if: Option<DevId>,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// `SOCK_ZEROCOPY` (SO_ZEROCOPY).
    pub zerocopy: bool,
    /// `sk_sndbuf`.
    pub sndbuf: i32,
    /// `sk_rcvbuf`.
    pub rcvbuf: i32,
    /// `SOCK_SNDBUF_LOCK`: SO_SNDBUF was set, autotuning is off.
    pub sndbuf_locked: bool,
    /// `SOCK_RCVBUF_LOCK`: SO_RCVBUF was set, autotuning is off.
    pub rcvbuf_locked: bool,
    /// `sk_err` (SO_ERROR reads and clears it).
    pub sk_err: i32,
    /// `sk_error_queue`: extended errors for `recvmsg(MSG_ERRQUEUE)`.
    pub err_queue: VecDeque<SockExtendedErr>,
    /// MSG_ZEROCOPY accounting.
    pub zc: ZerocopyState,
    /// Kernel: `sk->sk_user_frags`: devmem RX tokens → the net_iov they pin.
    pub user_frags: BTreeMap<u32, NetIov>,
    /// Wait queue.
    pub(crate) wq: Vec<Waker>,
    /// Deadline of the pending [`crate::time::KernelEvent::TcpTimer`], if one is queued.
    pub(crate) timer_at: Option<Instant>,
    /// The listener this passive child belongs to until accepted.
    pub(crate) parent: Option<SockId>,
    /// Created by a listener for an incoming connection (shares the listener's port).
    pub passive: bool,
    /// Received chunks taken from the TCP but not yet delivered (the next recvmsg starts
    /// with them).
    pub(crate) rx_stash: VecDeque<SkbData>,
    /// No fd refers to the socket any more (`SOCK_DEAD`).
    pub orphan: bool,
    /// `shutdown(SHUT_RD)` was called.
    pub shut_rd: bool,
    /// `sk_dst_cache`.
    pub dst: Option<SkDstCache>,
    /// The connection was refused/reset while connecting.
    pub(crate) was_syn_sent: bool,
    /// Kernel: `inet_sk(sk)->inet_id`: the IPv4 ID of the connection's next packet
    /// (`ip_select_ident_segs()` takes one per segment of each skb).
    pub(crate) inet_id: u16,
}

impl Sock {
    pub(crate) fn new(id: SockId, netns: NetNsId, family: i32) -> Self {
        Sock {
            id,
            netns,
            family,
            state: SkState::Open,
            local: None,
            remote: None,
            reuseaddr: false,
            reuseport: false,
            bound_dev_if: None,
            nodelay: false,
            zerocopy: false,
            sndbuf: TCP_WMEM_DEFAULT,
            rcvbuf: TCP_RMEM_DEFAULT,
            sndbuf_locked: false,
            rcvbuf_locked: false,
            sk_err: 0,
            err_queue: VecDeque::new(),
            zc: ZerocopyState::default(),
            user_frags: BTreeMap::new(),
            wq: Vec::new(),
            timer_at: None,
            parent: None,
            passive: false,
            rx_stash: VecDeque::new(),
            orphan: false,
            shut_rd: false,
            dst: None,
            was_syn_sent: false,
            inet_id: 0,
        }
    }

    /// The connection, if any.
    pub fn conn(&self) -> Option<&Connection<SkbData>> {
        match &self.state {
            SkState::Conn(c) => Some(c),
            _ => None,
        }
    }

    pub(crate) fn conn_mut(&mut self) -> Option<&mut Connection<SkbData>> {
        match &mut self.state {
            SkState::Conn(c) => Some(c),
            _ => None,
        }
    }

    /// Kernel: `tcp_poll()`: the readiness mask.
    pub fn poll_mask(&self) -> i16 {
        let mut mask = 0;
        if self.sk_err != 0 || !self.err_queue.is_empty() {
            mask |= POLLERR;
        }
        match &self.state {
            SkState::Open => mask |= POLLOUT | POLLHUP,
            SkState::Listen { accept_q, .. } => {
                if !accept_q.is_empty() {
                    mask |= POLLIN;
                }
            }
            SkState::Conn(c) => {
                use tcp::State as S;
                let st = c.state();
                if st == S::Closed {
                    mask |= POLLHUP | POLLIN;
                }
                if c.recv_queue_len() > 0
                    || !self.rx_stash.is_empty()
                    || c.recv_finished()
                    || self.shut_rd
                {
                    mask |= POLLIN;
                }
                // Kernel: `sk_stream_is_writeable()`: free space at least half of what is
                // queued.
                let q = c.send_queue_len();
                let writable = matches!(st, S::Established | S::CloseWait)
                    && self.sndbuf_bytes().saturating_sub(q) >= q / 2;
                if writable {
                    mask |= POLLOUT;
                }
            }
        }
        mask
    }

    /// The send buffer in effect: `sk_sndbuf` when locked by SO_SNDBUF, else what
    /// autotuning (`tcp_sndbuf_expand()`) may grow it to.
    pub(crate) fn sndbuf_bytes(&self) -> usize {
        let b = if self.sndbuf_locked {
            self.sndbuf
        } else {
            TCP_WMEM_MAX
        };
        usize::try_from(b).unwrap_or(0).max(1)
    }

    /// The receive buffer in effect (SO_RCVBUF when locked, else autotuning's ceiling).
    pub(crate) fn rcvbuf_bytes(&self) -> usize {
        let b = if self.rcvbuf_locked {
            self.rcvbuf
        } else {
            TCP_RMEM_MAX
        };
        usize::try_from(b).unwrap_or(0).max(1)
    }

    /// Wake every waiter (they re-check their condition).
    pub(crate) fn wake_all(&mut self) {
        for w in self.wq.drain(..) {
            w.wake();
        }
    }
}

/// The socket table (kernel: the TCP hash tables `ehash`/`lhash2`/`bhash` collapsed into one
/// ordered map plus an established index).
#[derive(Debug, Default)]
pub struct SockTable {
    pub(crate) map: BTreeMap<SockId, Sock>,
    next: u64,
    /// Kernel: `inet_ehash`: (netns, local, remote) → socket.
    pub(crate) ehash: Ehash,
    /// Kernel: the `net_secret` keying `secure_tcp_seq()` (from the seeded RNG).
    pub(crate) isn_secret: u64,
    /// RX page-pool references dropped since the last [`Kernel::pp_release_deferred`].
    pub(crate) rx_release: Rc<RefCell<Vec<NetIov>>>,
    /// Scratch for [`Kernel::tcp_push`]: the segments and events one push drains from a
    /// connection, kept between pushes so a push does not allocate (a nested push, through
    /// loopback, finds them taken and uses fresh ones). `None` while a push holds them, so
    /// putting them back drops nothing but an empty slot.
    pub(crate) push_scratch: Option<(Vec<tcp::Segment<Frag>>, Vec<tcp::Event>)>,
    /// Scratch for `tcp_sendmsg()`: the (empty) frag queue of the last finished sendmsg,
    /// whose allocation the next one fills (a concurrent sendmsg finds it taken and starts
    /// with a fresh one).
    pub(crate) sendmsg_scratch: VecDeque<SkbData>,
    /// Scratch for `tcp_rcv()`: the payload vector of the segment parsed from a received
    /// skb, handed back empty by [`tcp::Connection::handle_segment_in`] and kept for the
    /// next skb (one allocation per data skb before; a nested receive finds it taken and
    /// uses a fresh one).
    pub(crate) rx_payload_scratch: Vec<SkbData>,
}

/// Kernel: `inet_ehash`: the established (and SYN-RECEIVED child) sockets by
/// (netns, local, remote), looked up for every received segment (`__inet6_lookup_skb()`).
///
/// A map keyed by (netns, local, remote) as plain integers ([`EhashKey`]): two keys are
/// equal exactly when the (netns, local, remote) tuples are (`SocketAddr` equality: family,
/// address, port, and for IPv6 the flow info and scope id), so every lookup finds what a
/// map keyed by the tuples finds, with integer compares instead of `SocketAddr` ones. The
/// order differs from the tuples' and nothing walks the map in order.
#[derive(Debug, Default)]
pub(crate) struct Ehash(BTreeMap<EhashKey, SockId>);

/// The (netns, local, remote) of an [`Ehash`] entry as integers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct EhashKey {
    /// Local port (high half) and remote port (low half).
    ports: u32,
    netns: u64,
    local: u128,
    remote: u128,
    /// Whether the local (bit 0) and remote (bit 1) addresses are IPv6.
    v6: u8,
    /// IPv6 flow info (high half) and scope id (low half) of the local and remote
    /// addresses (0 for IPv4).
    local_v6: u64,
    remote_v6: u64,
}

/// An address as (address bits, IPv6 flag, IPv6 flow info and scope id).
#[inline]
fn addr_key(a: &SocketAddr) -> (u128, u8, u64) {
    match a {
        SocketAddr::V4(v4) => (u128::from(u32::from(*v4.ip())), 0, 0),
        SocketAddr::V6(v6) => (
            u128::from(*v6.ip()),
            1,
            (u64::from(v6.flowinfo()) << 32) | u64::from(v6.scope_id()),
        ),
    }
}

/// An IP address as (address bits, IPv6 flag).
#[inline]
fn ip_key(a: &IpAddr) -> (u128, u8) {
    match a {
        IpAddr::V4(v4) => (u128::from(u32::from(*v4)), 0),
        IpAddr::V6(v6) => (u128::from(*v6), 1),
    }
}

impl EhashKey {
    /// The key of (netns, local, remote).
    #[inline]
    pub(crate) fn new(netns: NetNsId, local: &SocketAddr, remote: &SocketAddr) -> Self {
        let (l, lv6, lx) = addr_key(local);
        let (r, rv6, rx) = addr_key(remote);
        EhashKey {
            ports: (u32::from(local.port()) << 16) | u32::from(remote.port()),
            netns: netns.0,
            local: l,
            remote: r,
            v6: lv6 | (rv6 << 1),
            local_v6: lx,
            remote_v6: rx,
        }
    }
}

impl EhashKey {
    /// The key of (netns, `SocketAddr::new(local, lport)`, `SocketAddr::new(remote,
    /// rport)`) (IPv6 flow info and scope id 0), without making the socket addresses:
    /// what a received segment looks up.
    #[inline]
    pub(crate) fn of_ips(
        netns: NetNsId,
        (local, lport): (&IpAddr, u16),
        (remote, rport): (&IpAddr, u16),
    ) -> Self {
        let (l, lv6) = ip_key(local);
        let (r, rv6) = ip_key(remote);
        EhashKey {
            ports: (u32::from(lport) << 16) | u32::from(rport),
            netns: netns.0,
            local: l,
            remote: r,
            v6: lv6 | (rv6 << 1),
            local_v6: 0,
            remote_v6: 0,
        }
    }
}

impl Ehash {
    /// The socket of `key`.
    #[inline]
    pub(crate) fn get_key(&self, key: &EhashKey) -> Option<&SockId> {
        self.0.get(key)
    }

    fn key(k: &(NetNsId, SocketAddr, SocketAddr)) -> EhashKey {
        EhashKey::new(k.0, &k.1, &k.2)
    }

    /// The socket of (netns, local, remote).
    #[inline]
    pub(crate) fn get(&self, k: &(NetNsId, SocketAddr, SocketAddr)) -> Option<&SockId> {
        self.0.get(&Self::key(k))
    }

    /// Whether (netns, local, remote) has a socket.
    pub(crate) fn contains_key(&self, k: &(NetNsId, SocketAddr, SocketAddr)) -> bool {
        self.0.contains_key(&Self::key(k))
    }

    /// Enter (netns, local, remote); the socket it replaces, if any.
    pub(crate) fn insert(
        &mut self,
        k: (NetNsId, SocketAddr, SocketAddr),
        sk: SockId,
    ) -> Option<SockId> {
        self.0.insert(Self::key(&k), sk)
    }

    /// Remove (netns, local, remote); its socket, if any.
    pub(crate) fn remove(&mut self, k: &(NetNsId, SocketAddr, SocketAddr)) -> Option<SockId> {
        self.0.remove(&Self::key(k))
    }
}

impl SockTable {
    pub(crate) fn alloc(&mut self, netns: NetNsId, family: i32) -> SockId {
        self.next += 1;
        let id = SockId(self.next);
        self.map.insert(id, Sock::new(id, netns, family));
        id
    }
}

fn int_opt(optval: &[u8]) -> KResult<i32> {
    // Kernel: `copy_safe_from_sockptr(&val, sizeof(val), optval, optlen)`: optlen < 4 → EINVAL.
    let b: [u8; 4] = optval
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(KernelError::new(EINVAL))?;
    Ok(i32::from_ne_bytes(b))
}

impl Kernel {
    /// The socket `sk`.
    pub fn sock(&self, sk: SockId) -> Option<&Sock> {
        self.socks.map.get(&sk)
    }

    pub(crate) fn sock_mut(&mut self, sk: SockId) -> KResult<&mut Sock> {
        self.socks.map.get_mut(&sk).ok_or(KernelError::new(EBADF))
    }

    /// Local addresses of the TCP sockets in `LISTEN` in `netns`: what
    /// `/proc/net/tcp6` lists with state 0A (the selftests' `wait_port_listen()`).
    pub fn tcp_listeners(&self, netns: NetNsId) -> Vec<SocketAddr> {
        self.socks
            .map
            .values()
            .filter(|s| s.netns == netns && matches!(s.state, SkState::Listen { .. }))
            .filter_map(|s| s.local)
            .collect()
    }

    /// Number of sockets alive (including orphans still closing).
    pub fn sock_count(&self) -> usize {
        self.socks.map.len()
    }

    /// Kernel: `sock_setsockopt()` / `do_tcp_setsockopt()`. Returns the value the
    /// syscall returns (0, or the count for SO_DEVMEM_DONTNEED).
    pub fn sk_setsockopt(
        &mut self,
        sk: SockId,
        level: i32,
        optname: i32,
        optval: &[u8],
    ) -> KResult<i32> {
        match (level, optname) {
            (SOL_SOCKET, SO_DEVMEM_DONTNEED) => return self.sock_devmem_dontneed(sk, optval),
            (SOL_SOCKET, SO_BINDTODEVICE) => return self.sock_bindtodevice(sk, optval),
            _ => {}
        }
        let val = int_opt(optval)?;
        let s = self.sock_mut(sk)?;
        match (level, optname) {
            (SOL_SOCKET, SO_REUSEADDR) => s.reuseaddr = val != 0,
            (SOL_SOCKET, SO_REUSEPORT) => s.reuseport = val != 0,
            // Kernel: SO_ZEROCOPY is only accepted for TCP/UDP/RDS sockets (we only have
            // TCP) and only values 0/1.
            (SOL_SOCKET, SO_ZEROCOPY) => {
                if !(0..=1).contains(&val) {
                    return Err(KernelError::new(EINVAL));
                }
                s.zerocopy = val == 1;
            }
            // Kernel: `__sock_set_sndbuf()`: doubled, clamped to [SOCK_MIN, wmem_max * 2].
            (SOL_SOCKET, SO_SNDBUF) => {
                let v = val.clamp(0, SYSCTL_WMEM_MAX);
                s.sndbuf = v.saturating_mul(2).max(SOCK_MIN_SNDBUF);
                s.sndbuf_locked = true;
            }
            (SOL_SOCKET, SO_RCVBUF) => {
                let v = val.clamp(0, SYSCTL_WMEM_MAX);
                s.rcvbuf = v.saturating_mul(2).max(SOCK_MIN_RCVBUF);
                s.rcvbuf_locked = true;
            }
            (SOL_TCP, TCP_NODELAY) => {
                s.nodelay = val != 0;
                let nd = s.nodelay;
                if let Some(c) = s.conn_mut() {
                    c.set_nodelay(nd);
                }
                self.tcp_push(sk);
            }
            _ => return Err(KernelError::new(ENOPROTOOPT)),
        }
        Ok(0)
    }

    /// Kernel: `sock_bindtodevice()`: a name (up to IFNAMSIZ, NUL-terminated or not);
    /// empty unbinds; an unknown name is ENODEV.
    fn sock_bindtodevice(&mut self, sk: SockId, optval: &[u8]) -> KResult<i32> {
        let netns = self.sock_mut(sk)?.netns;
        let raw = &optval[..optval.len().min(16)];
        let name_end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        let name = std::str::from_utf8(&raw[..name_end]).map_err(|_| KernelError::new(ENODEV))?;
        let dev = if name.is_empty() {
            None
        } else {
            Some(
                self.dev_get_by_name(netns, name)
                    .ok_or(KernelError::new(ENODEV))?,
            )
        };
        let s = self.sock_mut(sk)?;
        s.bound_dev_if = dev;
        s.dst = None;
        Ok(0)
    }

    /// Kernel: `sk_getsockopt()` / `do_tcp_getsockopt()` for the int options. SO_ERROR
    /// reads and clears `sk_err` (`sock_error()`).
    pub fn sk_getsockopt(&mut self, sk: SockId, level: i32, optname: i32) -> KResult<Vec<u8>> {
        let s = self.sock_mut(sk)?;
        let v: i32 = match (level, optname) {
            (SOL_SOCKET, SO_REUSEADDR) => i32::from(s.reuseaddr),
            (SOL_SOCKET, SO_REUSEPORT) => i32::from(s.reuseport),
            (SOL_SOCKET, SO_ZEROCOPY) => i32::from(s.zerocopy),
            (SOL_SOCKET, SO_SNDBUF) => s.sndbuf,
            (SOL_SOCKET, SO_RCVBUF) => s.rcvbuf,
            (SOL_SOCKET, SO_TYPE) => SOCK_STREAM,
            (SOL_SOCKET, SO_ERROR) => std::mem::take(&mut s.sk_err),
            (SOL_TCP, TCP_NODELAY) => i32::from(s.nodelay),
            (SOL_SOCKET, SO_BINDTODEVICE) => {
                let name = s
                    .bound_dev_if
                    .and_then(|d| self.try_device(d))
                    .map(|d| d.name.clone())
                    .unwrap_or_default();
                return Ok(name.into_bytes());
            }
            _ => return Err(KernelError::new(ENOPROTOOPT)),
        };
        Ok(v.to_ne_bytes().to_vec())
    }

    /// Kernel: `sock_devmem_dontneed()` (kernel-spec §8.2 "Freeing"): TCP only, optlen a
    /// multiple of `sizeof(struct dmabuf_token)` and at most 128 tokens, stop once more
    /// than 1024 frags were visited, skip ids not in `sk_user_frags`, return the count freed.
    /// Token ids are computed in u32 arithmetic, so a range wraps past `u32::MAX`.
    /// Each freed token drops its page-pool reference on the net_iov.
    pub fn sock_devmem_dontneed(&mut self, sk: SockId, optval: &[u8]) -> KResult<i32> {
        // Every socket here is TCP (`sk_is_tcp()`); other types would be EBADF.
        let s = self.sock_mut(sk)?;
        if !optval.len().is_multiple_of(DmabufToken::SIZE)
            || optval.len() > MAX_DONTNEED_TOKENS * DmabufToken::SIZE
        {
            return Err(KernelError::new(EINVAL));
        }
        let mut freed = 0i32;
        let mut visited = 0usize;
        let mut released = Vec::new();
        'outer: for chunk in optval.chunks_exact(DmabufToken::SIZE) {
            let t = DmabufToken::from_bytes(chunk).map_err(|_| KernelError::new(EINVAL))?;
            for i in 0..t.token_count {
                visited += 1;
                if visited > MAX_DONTNEED_FRAGS {
                    break 'outer;
                }
                // The id is `token_start + j` in 32-bit arithmetic: a range running past
                // u32::MAX wraps to 0, 1, … (0 is never allocated, ALLOC1).
                let id = t.token_start.wrapping_add(i);
                if let Some(niov) = s.user_frags.remove(&id) {
                    released.push(niov);
                    freed += 1;
                }
            }
        }
        for niov in released {
            self.devmem_token_put(niov);
        }
        Ok(freed)
    }

    /// An skb's page-pool reference on `niov`, released when every slice is dropped.
    pub(crate) fn rx_pp_ref(&self, niov: &NetIov) -> Option<Rc<RxPpRef>> {
        niov.pp()?;
        Some(Rc::new(RxPpRef {
            niov: niov.clone(),
            sink: self.socks.rx_release.clone(),
        }))
    }

    /// Return the RX references dropped since the last call to their page pools.
    #[inline]
    pub fn pp_release_deferred(&mut self) {
        // Looked at before anything is taken, here in the caller: most calls (every
        // tcp_push) find it empty.
        if !self.socks.rx_release.borrow().is_empty() {
            self.pp_release_deferred_slow();
        }
    }

    /// [`Kernel::pp_release_deferred`] with references to return (devmem RX only).
    #[inline(never)]
    fn pp_release_deferred_slow(&mut self) {
        loop {
            let batch: Vec<NetIov> = {
                let mut pending = self.socks.rx_release.borrow_mut();
                if pending.is_empty() {
                    return;
                }
                std::mem::take(&mut *pending)
            };
            for niov in batch {
                if let Some(pp) = niov.pp() {
                    self.page_pool_put_netmem(pp, niov);
                }
            }
        }
    }

    /// Drop the page-pool reference a devmem token held (kernel: `napi_pp_put_page()`).
    pub(crate) fn devmem_token_put(&mut self, niov: NetIov) {
        // TX niovs (a devmem sender talking to us over an emulated loopback) carry no
        // page pool: the reference simply drops.
        if let Some(pp) = niov.pp() {
            self.page_pool_put_netmem(pp, niov);
        }
    }

    /// Register `w` on `sk`'s wait queue.
    pub(crate) fn sk_wait(&mut self, sk: SockId, w: &Waker) {
        if let Some(s) = self.socks.map.get_mut(&sk)
            && !s.wq.iter().any(|x| x.will_wake(w))
        {
            s.wq.push(w.clone());
        }
    }

    /// Wake `sk`'s waiters.
    pub(crate) fn sk_wake(&mut self, sk: SockId) {
        if let Some(s) = self.socks.map.get_mut(&sk) {
            s.wake_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

    use super::*;

    /// Two `EhashKey`s are equal exactly when their (netns, local, remote) tuples are, over
    /// IPv4, IPv6 (flow info and scope id included) and v4-mapped addresses and ports
    /// that differ in one field, and the map finds what a map keyed by the tuples finds.
    #[test]
    fn ehash_keys_equal_as_tuples() {
        let v4 = |a: [u8; 4], p| SocketAddr::from((Ipv4Addr::from(a), p));
        let v6 = |a: &str, p, flow, scope| {
            SocketAddr::V6(SocketAddrV6::new(
                a.parse::<Ipv6Addr>().unwrap(),
                p,
                flow,
                scope,
            ))
        };
        let addrs = [
            v4([10, 0, 0, 1], 80),
            v4([10, 0, 0, 1], 81),
            v4([10, 0, 0, 2], 80),
            v4([0, 0, 0, 0], 80),
            v6("::a00:1", 80, 0, 0),
            v6("::ffff:10.0.0.1", 80, 0, 0),
            v6("2001:db8::1", 80, 0, 0),
            v6("2001:db8::1", 80, 1, 0),
            v6("2001:db8::1", 80, 0, 1),
            v6("fe80::1", 80, 0, 2),
            v6("2001:db8::1", 256, 0, 0),
            v6("::", 0, 0, 0),
        ];
        let mut tuples = Vec::new();
        for ns in [NetNsId(0), NetNsId(1)] {
            for l in &addrs {
                for r in &addrs {
                    tuples.push((ns, *l, *r));
                }
            }
        }
        let mut ehash = Ehash::default();
        let mut plain = BTreeMap::new();
        for (i, t) in tuples.iter().enumerate() {
            if i % 3 == 0 {
                ehash.insert(*t, SockId(i as u64));
                plain.insert(*t, SockId(i as u64));
            }
        }
        for a in &tuples {
            assert_eq!(ehash.get(a), plain.get(a), "{a:?}");
            assert_eq!(ehash.contains_key(a), plain.contains_key(a));
            for b in &tuples {
                let (ka, kb) = (Ehash::key(a), Ehash::key(b));
                assert_eq!(ka == kb, a == b, "{a:?} {b:?}");
            }
        }
        // A received segment's key, made from its addresses and ports, is the key of the
        // socket addresses `SocketAddr::new` makes of them.
        for (ns, l, r) in &tuples {
            let key = EhashKey::of_ips(*ns, (&l.ip(), l.port()), (&r.ip(), r.port()));
            let plain = (
                *ns,
                SocketAddr::new(l.ip(), l.port()),
                SocketAddr::new(r.ip(), r.port()),
            );
            assert_eq!(key, Ehash::key(&plain));
            assert_eq!(ehash.get_key(&key), ehash.get(&plain));
        }
        for (i, t) in tuples.iter().enumerate() {
            if i % 2 == 0 {
                assert_eq!(ehash.remove(t), plain.remove(t));
            }
        }
        for a in &tuples {
            assert_eq!(ehash.get(a), plain.get(a));
        }
    }
}
