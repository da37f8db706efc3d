//! TCP socket calls: socket, bind, listen, connect, accept, sendmsg, recvmsg, shutdown,
//! close, getsockname/getpeername.
//!
//! Kernel: `net/ipv4/af_inet.c`, `net/ipv6/af_inet6.c` (`inet6_bind()`,
//! `__inet_stream_connect()`, `inet_accept()`, `inet_shutdown()`), `net/ipv4/tcp.c`
//! (`tcp_sendmsg_locked()`, `tcp_recvmsg_locked()`, `tcp_recvmsg_dmabuf()`, `tcp_close()`),
//! `net/core/sock.c` (`__sock_cmsg_send()`), `net/ipv6/datagram.c` (`ipv6_recv_error()`).
//!
//! Blocking calls come in two halves: a start that does the immediate work and a `*_poll`
//! that returns `None` while the caller must wait on the socket's wait queue (the
//! executor's futures loop on it).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::ops::ControlFlow;
use std::rc::Rc;

use tcp::Payload;
use uapi::errno::{
    EAFNOSUPPORT, EAGAIN, EALREADY, EFAULT, EINVAL, EISCONN, ENOBUFS, ENODEV, ENOTCONN, EPIPE,
    ESOCKTNOSUPPORT,
};
use uapi::socket::{
    CmsgHdr, DmabufCmsg, IP_RECVERR, IPV6_RECVERR, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_SOCK_DEVMEM,
    MSG_TRUNC, MSG_ZEROCOPY, SCM_CREDENTIALS, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR, SCM_RIGHTS,
    SHUT_RD, SHUT_RDWR, SHUT_WR, SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6, SO_MARK, SO_PRIORITY,
    SO_TIMESTAMPING_NEW, SO_TIMESTAMPING_OLD, SOCK_STREAM, SOL_IP, SOL_IPV6, SOL_SOCKET,
    SockExtendedErr, cmsg_align, cmsg_len, cmsg_space,
};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::datagram::{UserIov, zerocopy_fill_skb_from_devmem};
use crate::net::core::devmem::{DevmemBinding, SkDst};
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Frag;
use crate::net::core::sock::{AF_INET, AF_INET6, SkState, SkbData, SockId};
use crate::net::ipv4::tcp_input::canon_ip;

/// Kernel-internal `ETOOSMALL` (include/linux/errno.h), which `put_cmsg_notrunc()` returns
/// and `tcp_recvmsg()` passes to the caller when the control buffer cannot hold a devmem
/// cmsg.
pub const ETOOSMALL: i32 = 525;

/// Kernel: `net.core.optmem_max` (what `sock_omalloc()` charges uargs against).
pub const SYSCTL_OPTMEM_MAX: usize = 131_072;
/// Approximate truesize of one MSG_ZEROCOPY notification skb (`sock_omalloc(sk, 0)`).
pub const ZEROCOPY_SKB_TRUESIZE: usize = 768;

/// State of one blocking sendmsg across wakeups.
#[derive(Debug, Default)]
pub struct SendProgress {
    started: bool,
    pending: std::collections::VecDeque<SkbData>,
    queued: usize,
    zc: bool,
    err_after: Option<KernelError>,
}

/// What recvmsg returns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecvOut {
    /// The return value (bytes).
    pub len: usize,
    /// Bytes copied to the user buffer (readable data and devmem linear bytes).
    pub data: Vec<u8>,
    /// Control messages, in the kernel's layout.
    pub control: Vec<u8>,
    /// `msg_flags`.
    pub flags: u32,
}

/// One `recvmsg` copy in progress: what it has produced so far and the state its per-chunk
/// rules carry from one chunk to the next (kernel: `tcp_recvmsg_locked()`'s locals).
struct RecvCopy<'a> {
    /// The user's buffer.
    data: &'a mut Vec<u8>,
    out: RecvOut,
    flags: u32,
    controllen: usize,
    /// Whether the chunks taken so far were unreadable (none yet: `None`).
    last_unreadable: Option<bool>,
    /// Devmem tokens handed out, with the net_iov each pins.
    new_tokens: Vec<(u32, crate::net::core::netmem::NetIov)>,
    /// The error that stopped the copy.
    err: Option<KernelError>,
    /// The next devmem token id to try.
    token_cursor: u32,
}

impl RecvCopy<'_> {
    /// Take one chunk: `Continue` once its bytes count in `out.len`, or `Break` where the
    /// read stops before it, the chunk untaken (the caller puts it back at the front of the
    /// socket's stash). `user_frags` are the tokens already handed out.
    #[inline]
    fn step(
        &mut self,
        chunk: &SkbData,
        user_frags: &BTreeMap<u32, crate::net::core::netmem::NetIov>,
    ) -> ControlFlow<()> {
        //= tcp_recvmsg_locked(): with MSG_TRUNC the bytes are consumed without being
        //= copied: no user bytes, no devmem cmsgs or tokens, no MSG_SOCK_DEVMEM
        //= requirement, and the readable/unreadable boundary does not end the read.
        if self.flags & MSG_TRUNC != 0 {
            self.out.len += chunk.len();
            return ControlFlow::Continue(());
        }
        //= kernel-spec §8.2: a single recvmsg never mixes readable and unreadable skbs
        if self.last_unreadable.is_some_and(|u| u != chunk.unreadable) {
            return ControlFlow::Break(());
        }
        if !chunk.unreadable {
            match frag_bytes(&chunk.frag) {
                Some(b) => crate::net::core::datagram::copy_to_user(self.data, b),
                None => {
                    self.err = Some(KernelError::new(EFAULT));
                    return ControlFlow::Break(());
                }
            }
            self.out.len += chunk.len();
            self.last_unreadable = Some(false);
            return ControlFlow::Continue(());
        }
        if self.flags & MSG_SOCK_DEVMEM == 0 {
            //# Unreadable skb without `MSG_SOCK_DEVMEM` → `-EFAULT` (if nothing copied yet)
            self.err = Some(KernelError::new(EFAULT));
            return ControlFlow::Break(());
        }
        self.last_unreadable = Some(true);
        let n = chunk.len();
        if chunk.linear {
            //# linear (header) bytes ... one SO_DEVMEM_LINEAR cmsg {frag_size = copied}
            let d = DmabufCmsg {
                frag_size: n as u32,
                ..DmabufCmsg::default()
            };
            if !self.put_cmsg(SCM_DEVMEM_LINEAR, &d.to_bytes()) {
                return ControlFlow::Break(());
            }
            if let Some(b) = frag_bytes(&chunk.frag) {
                self.data.extend_from_slice(b);
            }
            self.out.len += n;
            return ControlFlow::Continue(());
        }
        let Frag::NetIov { niov, off, .. } = &chunk.frag else {
            //# each frag must be a devmem net_iov (else `-ENODEV`)
            self.err = Some(KernelError::new(ENODEV));
            return ControlFlow::Break(());
        };
        if !niov.is_devmem() {
            self.err = Some(KernelError::new(ENODEV));
            return ControlFlow::Break(());
        }
        while user_frags.contains_key(&self.token_cursor) {
            self.token_cursor += 1;
        }
        let token = self.token_cursor;
        self.token_cursor += 1;
        let d = DmabufCmsg {
            frag_offset: niov.virtual_offset() + *off as u64,
            frag_size: n as u32,
            frag_token: token,
            dmabuf_id: niov.binding_id(),
            flags: 0,
        };
        if !self.put_cmsg(SCM_DEVMEM_DMABUF, &d.to_bytes()) {
            return ControlFlow::Break(());
        }
        self.new_tokens.push((token, niov.clone()));
        self.out.len += n;
        ControlFlow::Continue(())
    }

    /// One SOL_SOCKET devmem cmsg into the caller's control buffer (`put_cmsg_notrunc()`);
    /// `false`, with ETOOSMALL noted, when it does not fit.
    fn put_cmsg(&mut self, ty: i32, data: &[u8]) -> bool {
        let fits = put_cmsg_notrunc(&mut self.out.control, self.controllen, SOL_SOCKET, ty, data);
        if !fits {
            self.err = Some(KernelError::new(ETOOSMALL));
        }
        fits
    }
}

/// Kernel: `sock_cmsg_send()` → `__sock_cmsg_send()` (net/core/sock.c) for a TCP socket:
/// returns the devmem dma-buf id if one is given.
///
/// Every cmsg header must be well formed (`CMSG_OK`), else EINVAL. Cmsgs at other levels
/// are skipped; each SOL_SOCKET one goes through the kernel's type switch:
/// * SCM_DEVMEM_DMABUF needs `cmsg_len == CMSG_LEN(sizeof(u32))` (else EINVAL); the last
///   one wins, and an id of 0 is the "no dma-buf" value `sockcm_cookie` starts with, so it
///   selects an ordinary send;
/// * SCM_RIGHTS / SCM_CREDENTIALS belong to AF_UNIX and are ignored here;
/// * SCM_TXTIME needs SO_TXTIME on the socket, which the emulator never sets → EINVAL;
/// * SCM_TS_OPT_ID is refused on TCP sockets → EINVAL;
/// * SO_MARK, SO_TIMESTAMPING_{OLD,NEW} and SO_PRIORITY need `CMSG_LEN(sizeof(u32))`
///   (else EINVAL); their value checks (capabilities, timestamping flags, priority range)
///   are not modelled;
/// * any other type is EINVAL (the switch's `default`).
pub fn sock_cmsg_send(control: &[u8]) -> KResult<Option<u32>> {
    let mut id = 0u32;
    let mut off = 0;
    while off + CmsgHdr::SIZE <= control.len() {
        let h = CmsgHdr::from_bytes(&control[off..]).map_err(|_| KernelError::new(EINVAL))?;
        let len = usize::try_from(h.cmsg_len).map_err(|_| KernelError::new(EINVAL))?;
        if len < CmsgHdr::SIZE || off + len > control.len() {
            return Err(KernelError::new(EINVAL));
        }
        if h.cmsg_level == SOL_SOCKET {
            let u32_len_ok = len == cmsg_len(4);
            match h.cmsg_type {
                SCM_DEVMEM_DMABUF => {
                    if !u32_len_ok {
                        return Err(KernelError::new(EINVAL));
                    }
                    let d = &control[off + CmsgHdr::SIZE..off + CmsgHdr::SIZE + 4];
                    id = u32::from_ne_bytes([d[0], d[1], d[2], d[3]]);
                }
                SCM_RIGHTS | SCM_CREDENTIALS => {}
                SO_MARK | SO_TIMESTAMPING_OLD | SO_TIMESTAMPING_NEW | SO_PRIORITY => {
                    if !u32_len_ok {
                        return Err(KernelError::new(EINVAL));
                    }
                }
                _ => return Err(KernelError::new(EINVAL)),
            }
        }
        off += cmsg_align(len);
    }
    Ok((id != 0).then_some(id))
}

/// Append one cmsg; `None` when `cap` (the user's `msg_controllen`) cannot hold
/// `CMSG_LEN(data.len())` (kernel: `put_cmsg_notrunc()`).
fn put_cmsg_notrunc(out: &mut Vec<u8>, cap: usize, level: i32, ty: i32, data: &[u8]) -> bool {
    let room = cap.saturating_sub(out.len());
    if room < cmsg_len(data.len()) {
        return false;
    }
    let h = CmsgHdr {
        cmsg_len: cmsg_len(data.len()) as u64,
        cmsg_level: level,
        cmsg_type: ty,
    };
    out.extend_from_slice(&h.to_bytes());
    out.extend_from_slice(data);
    let space = cmsg_space(data.len()).min(room);
    out.resize(out.len() + space - cmsg_len(data.len()).min(space), 0);
    true
}

fn frag_bytes(f: &Frag) -> Option<&[u8]> {
    match f {
        Frag::Page { bytes, off, len } => bytes.get(*off..off + len),
        Frag::NetIov { .. } => None,
    }
}

impl Kernel {
    /// Kernel: `__sys_socket()` → `inet6_create()` / `inet_create()`: AF_INET and AF_INET6
    /// stream sockets only.
    pub fn sys_socket(&mut self, netns: NetNsId, family: i32, ty: i32) -> KResult<SockId> {
        if family != AF_INET && family != AF_INET6 {
            return Err(KernelError::new(EAFNOSUPPORT));
        }
        if ty & 0xf != SOCK_STREAM {
            return Err(KernelError::new(ESOCKTNOSUPPORT));
        }
        Ok(self.socks.alloc(netns, family))
    }

    fn check_family(&self, sk: SockId, addr: &SocketAddr) -> KResult<i32> {
        let s = self.sock(sk).ok_or(KernelError::new(uapi::errno::EBADF))?;
        match (s.family, addr) {
            (AF_INET, SocketAddr::V6(_)) | (AF_INET6, SocketAddr::V4(_)) => {
                Err(KernelError::new(EAFNOSUPPORT))
            }
            (f, _) => Ok(f),
        }
    }

    /// Kernel: `inet6_bind()` / `inet_bind()` → `inet_csk_get_port()`.
    pub fn inet_bind(&mut self, sk: SockId, addr: SocketAddr) -> KResult<()> {
        self.check_family(sk, &addr)?;
        let s = self.sock_mut(sk)?;
        if s.local.is_some() || !matches!(s.state, SkState::Open) {
            return Err(KernelError::new(EINVAL));
        }
        let ip = canon_ip(addr.ip());
        let port = self.inet_csk_get_port(sk, SocketAddr::new(ip, addr.port()))?;
        self.sock_mut(sk)?.local = Some(SocketAddr::new(ip, port));
        Ok(())
    }

    /// Kernel: `inet_listen()`: autobind if needed, re-check the port for listening.
    pub fn inet_listen(&mut self, sk: SockId, backlog: i32) -> KResult<()> {
        let backlog = backlog.clamp(0, 4096) as u32;
        let s = self.sock_mut(sk)?;
        match &mut s.state {
            SkState::Listen { backlog: b, .. } => {
                *b = backlog;
                return Ok(());
            }
            SkState::Conn(_) => return Err(KernelError::new(EINVAL)),
            SkState::Open => {}
        }
        if s.local.is_none() {
            let any = if s.family == AF_INET6 {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            };
            let port = self.inet_csk_get_port(sk, SocketAddr::new(any, 0))?;
            self.sock_mut(sk)?.local = Some(SocketAddr::new(any, port));
        }
        if self.inet_listen_conflict(sk) {
            return Err(KernelError::new(uapi::errno::EADDRINUSE));
        }
        self.sock_mut(sk)?.state = SkState::Listen {
            backlog,
            accept_q: Default::default(),
        };
        Ok(())
    }

    /// Kernel: `tcp_v6_connect()` / `tcp_v4_connect()`: route (SO_BINDTODEVICE is the
    /// oif), source address and port, SYN out.
    pub fn tcp_connect_start(&mut self, sk: SockId, addr: SocketAddr) -> KResult<()> {
        self.check_family(sk, &addr)?;
        let now = self.clock();
        let s = self.sock_mut(sk)?;
        match &s.state {
            SkState::Listen { .. } => return Err(KernelError::new(EISCONN)),
            SkState::Conn(c) if c.state() == tcp::State::SynSent => {
                return Err(KernelError::new(EALREADY));
            }
            SkState::Conn(_) => return Err(KernelError::new(EISCONN)),
            SkState::Open => {}
        }
        let (netns, oif, bound, nodelay) = (s.netns, s.bound_dev_if, s.local, s.nodelay);
        let bufs = (s.sndbuf_bytes(), s.rcvbuf_bytes());
        let remote = SocketAddr::new(canon_ip(addr.ip()), addr.port());
        let route = self.tcp_route(netns, remote.ip(), oif)?;
        let local_ip = match bound {
            Some(b) if !b.ip().is_unspecified() => b.ip(),
            _ => route.route.saddr(),
        };
        let port = match bound {
            Some(b) if b.port() != 0 => b.port(),
            _ => self.inet_hash_connect(sk, local_ip, remote)?,
        };
        let local = SocketAddr::new(local_ip, port);
        let secret = self.socks.isn_secret;
        let isn = tcp::initial_sequence_number(secret, local, remote, now);
        let config = self.tcp_config(remote, route.mtu, nodelay, bufs);
        let conn = tcp::Connection::connect(now, config, local, remote, isn);
        let s = self.sock_mut(sk)?;
        s.state = SkState::Conn(Box::new(conn));
        s.local = Some(local);
        s.remote = Some(remote);
        s.was_syn_sent = true;
        s.inet_id = crate::net::ipv4::ip_output::inet_id_init(isn.0);
        self.socks.ehash.insert((netns, local, remote), sk);
        self.sk_dst_set(sk, route.route.dev());
        self.tcp_push(sk);
        Ok(())
    }

    /// `None` while the handshake is in progress; then the connect result.
    pub fn tcp_connect_poll(&mut self, sk: SockId) -> Option<KResult<()>> {
        let s = self.sock_mut(sk).ok()?;
        let SkState::Conn(c) = &s.state else {
            return Some(Err(KernelError::new(ENOTCONN)));
        };
        match c.state() {
            tcp::State::SynSent | tcp::State::SynReceived => None,
            tcp::State::Closed => {
                let e = std::mem::take(&mut s.sk_err);
                Some(Err(KernelError::new(if e == 0 {
                    uapi::errno::ECONNREFUSED
                } else {
                    e
                })))
            }
            _ => {
                s.was_syn_sent = false;
                Some(Ok(()))
            }
        }
    }

    /// Kernel: `inet_csk_accept()`: `None` while the accept queue is empty.
    pub fn inet_accept_poll(&mut self, sk: SockId) -> Option<KResult<SockId>> {
        let s = self.sock_mut(sk).ok()?;
        match &mut s.state {
            SkState::Listen { accept_q, .. } => accept_q.pop_front().map(Ok),
            _ => Some(Err(KernelError::new(EINVAL))),
        }
    }

    /// Kernel: `inet6_getname()`: the local (`peer == false`) or remote address; IPv4
    /// flows on AF_INET6 sockets read back as v4-mapped.
    pub fn inet_getname(&self, sk: SockId, peer: bool) -> KResult<SocketAddr> {
        let s = self.sock(sk).ok_or(KernelError::new(uapi::errno::EBADF))?;
        let a = if peer {
            if !matches!(s.state, SkState::Conn(_)) {
                return Err(KernelError::new(ENOTCONN));
            }
            s.remote.ok_or(KernelError::new(ENOTCONN))?
        } else {
            s.local.unwrap_or_else(|| {
                if s.family == AF_INET6 {
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0)
                } else {
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0)
                }
            })
        };
        Ok(match (s.family, a) {
            (AF_INET6, SocketAddr::V4(v4)) => {
                SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0))
            }
            _ => a,
        })
    }

    /// Kernel: `inet_shutdown()` → `tcp_shutdown()`.
    pub fn inet_shutdown(&mut self, sk: SockId, how: i32) -> KResult<()> {
        if !(SHUT_RD..=SHUT_RDWR).contains(&how) {
            return Err(KernelError::new(EINVAL));
        }
        let s = self.sock_mut(sk)?;
        let SkState::Conn(c) = &mut s.state else {
            return Err(KernelError::new(ENOTCONN));
        };
        if how == SHUT_WR || how == SHUT_RDWR {
            c.shutdown_write();
        }
        if how == SHUT_RD || how == SHUT_RDWR {
            s.shut_rd = true;
        }
        self.tcp_push(sk);
        Ok(())
    }

    /// Kernel: `tcp_close()` for the last fd: a listener stops (children not yet accepted
    /// are reset), a connection closes (RST when unread data is queued, else FIN), and the
    /// socket becomes an orphan. Devmem tokens stay with the full socket until it is
    /// destroyed (`tcp_v4_destroy_sock()` → `tcp_release_user_frags()`): at once for a
    /// reset or unconnected socket, else when the orphan gives way to a time-wait socket or
    /// reaches CLOSED (see [`Kernel::tcp_push`]).
    pub fn tcp_close(&mut self, sk: SockId) {
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        s.orphan = true;
        let mut unread_chunks: Vec<SkbData> = s.rx_stash.drain(..).collect();
        if let Some(c) = s.conn_mut() {
            while let Some(ch) = c.recv(usize::MAX) {
                unread_chunks.push(ch);
            }
        }
        let unread = !unread_chunks.is_empty();
        // Kernel: `tcp_close()` purges the receive queue (`__kfree_skb()` per skb).
        drop(unread_chunks);
        self.pp_release_deferred();
        let Some(s) = self.socks.map.get_mut(&sk) else {
            return;
        };
        match &mut s.state {
            SkState::Open => {
                self.sk_destruct(sk);
            }
            SkState::Listen { accept_q, .. } => {
                let mut kids: Vec<SockId> = accept_q.drain(..).collect();
                kids.extend(
                    self.socks
                        .map
                        .values()
                        .filter(|c| c.parent == Some(sk))
                        .map(|c| c.id),
                );
                for kid in kids {
                    if let Some(k) = self.socks.map.get_mut(&kid) {
                        k.orphan = true;
                        k.parent = None;
                        if let Some(c) = k.conn_mut() {
                            c.abort();
                        }
                    }
                    self.tcp_push(kid);
                }
                self.sk_destruct(sk);
            }
            SkState::Conn(c) => {
                if unread {
                    c.abort();
                } else {
                    c.close();
                }
                self.tcp_push(sk);
            }
        }
    }

    /// Kernel: the route check behind `net_devmem_get_binding()`: the cached dst, else a
    /// rebuilt one (`inet6_sk_rebuild_header()`).
    fn sk_dst_for_devmem(&self, sk: SockId) -> SkDst {
        let Some(s) = self.sock(sk) else {
            return SkDst::None;
        };
        if let Some(d) = s.dst {
            return SkDst::Dev(d.dev);
        }
        match s.remote {
            Some(r) => match self.tcp_route(s.netns, r.ip(), s.bound_dev_if) {
                Ok(rt) => SkDst::Dev(rt.route.dev()),
                Err(_) => SkDst::RebuildFailed,
            },
            None => SkDst::RebuildFailed,
        }
    }

    /// Kernel: `tcp_sendmsg_locked()` (kernel-spec §8.1), resumable: `None` means "blocked
    /// on send-buffer space, call again with the same `prog` after a wakeup".
    pub fn tcp_sendmsg(
        &mut self,
        sk: SockId,
        iov: &[UserIov<'_>],
        control: &[u8],
        flags: u32,
        prog: &mut SendProgress,
    ) -> Option<KResult<usize>> {
        if !prog.started && prog.pending.is_empty() {
            // The frag queue's allocation is the last finished call's (an emulator buffer,
            // no kernel state): one VecDeque growth and free fewer per sendmsg.
            prog.pending = std::mem::take(&mut self.socks.sendmsg_scratch);
        }
        let r = self.tcp_sendmsg_step(sk, iov, control, flags, prog);
        // Finished with every payload queued (or none taken): the empty queue goes back for
        // the next call. Leftovers (a non-blocking partial send) stay with `prog`.
        if r.is_some() && prog.pending.is_empty() {
            self.socks.sendmsg_scratch = std::mem::take(&mut prog.pending);
        }
        r
    }

    /// One pass of [`Kernel::tcp_sendmsg`]: prepare on the first call, then move what
    /// fits into the send queue and push.
    fn tcp_sendmsg_step(
        &mut self,
        sk: SockId,
        iov: &[UserIov<'_>],
        control: &[u8],
        flags: u32,
        prog: &mut SendProgress,
    ) -> Option<KResult<usize>> {
        if !prog.started {
            prog.started = true;
            if let Err(e) = self.tcp_sendmsg_prepare(sk, iov, control, flags, prog) {
                return Some(Err(self.sk_stream_error(sk, e)));
            }
        }
        let s = self.socks.map.get_mut(&sk)?;
        let Some(c) = s.conn_mut() else {
            return Some(Err(self.sk_stream_error(sk, KernelError::new(EPIPE))));
        };
        // The payloads move into the send queue; what did not fit stays to wait for room.
        match c.send_from(&mut prog.pending) {
            Ok(n) => prog.queued += n,
            Err(tcp::SendError::WouldBlock) => {}
            Err(tcp::SendError::WriteClosed) => {
                // Kernel: `sk->sk_err` or SEND_SHUTDOWN in the copy loop → -EPIPE
                // (`sk_stream_error()` turns it into the pending error on return).
                prog.pending.clear();
                prog.err_after.get_or_insert(KernelError::new(EPIPE));
            }
        }
        let written = c.send_stream_written();
        let acked = c.send_stream_acked();
        let blocked = !prog.pending.is_empty();
        if blocked && flags & MSG_DONTWAIT == 0 {
            self.tcp_push(sk);
            return None;
        }
        // Done (or non-blocking): the uarg for this call, completed at once if the stream
        // already acknowledged its bytes.
        if prog.zc
            && prog.queued > 0
            && let Some(s) = self.socks.map.get_mut(&sk)
        {
            s.zc.alloc(written);
            let done = s.zc.complete_upto(acked);
            for id in done {
                crate::net::core::msg_zerocopy::msg_zerocopy_notify(&mut s.err_queue, id, 1);
            }
        }
        self.tcp_push(sk);
        if prog.queued > 0 {
            return Some(Ok(prog.queued));
        }
        if blocked {
            return Some(Err(KernelError::new(EAGAIN)));
        }
        Some(match prog.err_after.take() {
            Some(e) => Err(self.sk_stream_error(sk, e)),
            None => Ok(0),
        })
    }

    /// Kernel: `sk_stream_error()` (net/core/stream.c), which `tcp_sendmsg_locked()` applies
    /// to the error it returns: -EPIPE becomes the socket's pending error if there is one
    /// (`sock_error()`, which clears `sk_err`). (The SIGPIPE it also raises without
    /// MSG_NOSIGNAL is not modelled.)
    fn sk_stream_error(&mut self, sk: SockId, e: KernelError) -> KernelError {
        if e.errno != EPIPE {
            return e;
        }
        match self.socks.map.get_mut(&sk) {
            Some(s) if s.sk_err != 0 => KernelError::new(std::mem::take(&mut s.sk_err)),
            _ => e,
        }
    }

    /// The checks of `tcp_sendmsg_locked()` in the kernel's order, then the skbs.
    fn tcp_sendmsg_prepare(
        &mut self,
        sk: SockId,
        iov: &[UserIov<'_>],
        control: &[u8],
        flags: u32,
        prog: &mut SendProgress,
    ) -> KResult<()> {
        let s = self.sock(sk).ok_or(KernelError::new(uapi::errno::EBADF))?;
        let size: usize = iov.iter().map(UserIov::len).sum();
        //= kernel-spec §8.1 step 1
        //# `sock_cmsg_send()` is run and its error is remembered (`sockc_err`) but NOT
        //# returned yet
        let (sockc_err, dmabuf_id) = match sock_cmsg_send(control) {
            Ok(id) => (None, id),
            Err(e) => (Some(e), None),
        };
        let sock_zerocopy = s.zerocopy;
        let mut binding: Option<Rc<DevmemBinding>> = None;
        //= kernel-spec §8.1 step 2
        //# If `MSG_ZEROCOPY` and size > 0 ... if SOCK_ZEROCOPY is set: msg_zerocopy_realloc
        //# ... NULL → `-ENOBUFS`; ... then if `!sockc_err && dmabuf_id`:
        //# `net_devmem_get_binding(sk, id)` – error → returned
        if flags & MSG_ZEROCOPY != 0 && size > 0 && sock_zerocopy {
            let outstanding = s.zc.pending.len() + s.err_queue.len() + 1;
            if outstanding * ZEROCOPY_SKB_TRUESIZE > SYSCTL_OPTMEM_MAX {
                return Err(KernelError::new(ENOBUFS));
            }
            prog.zc = true;
            if sockc_err.is_none()
                && let Some(id) = dmabuf_id
            {
                let dst = self.sk_dst_for_devmem(sk);
                binding = Some(self.net_devmem_get_binding(id, dst)?);
            }
        }
        //= kernel-spec §8.1 step 3
        //# If `!sockc_err && dmabuf_id` but not (MSG_ZEROCOPY and SOCK_ZEROCOPY) → `-EINVAL`
        if sockc_err.is_none()
            && dmabuf_id.is_some()
            && !(flags & MSG_ZEROCOPY != 0 && sock_zerocopy)
        {
            return Err(KernelError::new(EINVAL));
        }
        //= kernel-spec §8.1 step 4: wait for the connection; then `sockc_err`
        let s = self.sock(sk).ok_or(KernelError::new(uapi::errno::EBADF))?;
        let connected = s.conn().is_some_and(|c| {
            matches!(
                c.state(),
                tcp::State::Established
                    | tcp::State::CloseWait
                    | tcp::State::SynSent
                    | tcp::State::SynReceived
            )
        });
        if !connected {
            // Kernel: `sk_stream_wait_connect()`: `sock_error()` (which clears `sk_err`),
            // else -EPIPE for a socket that is not connecting.
            let e = std::mem::take(&mut self.sock_mut(sk)?.sk_err);
            return Err(KernelError::new(if e != 0 { e } else { EPIPE }));
        }
        if let Some(e) = sockc_err {
            return Err(e);
        }
        //= kernel-spec §8.1 step 5: the copy loop
        match binding {
            Some(b) => {
                let goal = s.tcp_xmit_size_goal();
                let (_, err) =
                    zerocopy_fill_skb_from_devmem(&b, iov, goal, &mut prog.pending, |_| {});
                prog.err_after = err;
            }
            None => {
                for v in iov {
                    match v {
                        UserIov::Buf([]) => {}
                        UserIov::Buf(b) => {
                            let bytes = crate::net::core::skbuff::Page::new_buf(b.to_vec());
                            let len = bytes.len();
                            prog.pending.push_back(SkbData {
                                frag: Frag::Page { bytes, off: 0, len },
                                linear: false,
                                unreadable: false,
                                rx_ref: None,
                            });
                        }
                        // A raw address the emulated process owns no memory behind.
                        UserIov::Addr { len: 0, .. } => {}
                        UserIov::Addr { .. } => {
                            prog.err_after = Some(KernelError::new(EFAULT));
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Kernel: `tcp_recvmsg()` → `tcp_recvmsg_locked()` / `tcp_recvmsg_dmabuf()`, or the
    /// error queue with MSG_ERRQUEUE. `None` means "block and retry".
    pub fn tcp_recvmsg(
        &mut self,
        sk: SockId,
        len: usize,
        controllen: usize,
        flags: u32,
    ) -> Option<KResult<RecvOut>> {
        let mut data = Vec::new();
        let r = self.tcp_recvmsg_into(sk, &mut data, len, controllen, flags)?;
        Some(r.map(|o| RecvOut { data, ..o }))
    }

    /// [`Kernel::tcp_recvmsg`] appending the copied bytes to `data` (the user's buffer, which
    /// a caller may reuse across calls as a real process reuses its `iov`) instead of
    /// `RecvOut::data`.
    pub fn tcp_recvmsg_into(
        &mut self,
        sk: SockId,
        data: &mut Vec<u8>,
        len: usize,
        controllen: usize,
        flags: u32,
    ) -> Option<KResult<RecvOut>> {
        if flags & MSG_ERRQUEUE != 0 {
            return Some(self.sock_recv_errqueue(sk, controllen));
        }
        let s = self.socks.map.get_mut(&sk)?;
        if !matches!(s.state, SkState::Conn(_)) {
            return Some(Err(KernelError::new(ENOTCONN)));
        }
        let mut rd = RecvCopy {
            data,
            out: RecvOut::default(),
            flags,
            controllen,
            last_unreadable: None,
            new_tokens: Vec::new(),
            err: None,
            // Kernel: `xa_alloc()` on `sk_user_frags` (ALLOC1, 31-bit): the lowest free ids,
            // increasing within one call.
            token_cursor: 1,
        };
        // Size the user copy once (what is queued, at most `len`) instead of growing it
        // chunk by chunk: the copy is the one per-byte cost recvmsg has.
        if flags & MSG_SOCK_DEVMEM == 0 {
            let queued = s.rx_stash.iter().map(|c| c.len()).sum::<usize>()
                + s.conn().map_or(0, |c| c.recv_queue_len());
            rd.data.reserve(len.min(queued));
        }
        // The stash (chunks a previous call left, first) and then the connection's queue,
        // read in one call that makes the window-update check once at the end (kernel:
        // tcp_recvmsg_locked()'s loop, then tcp_cleanup_rbuf()). A chunk the copy stops on
        // goes back to the front of the stash.
        let mut stopped = false;
        while rd.out.len < len && !s.shut_rd {
            let Some(chunk) = s.rx_stash.pop_front() else {
                break;
            };
            let chunk = if chunk.len() > len - rd.out.len {
                let n = len - rd.out.len;
                s.rx_stash.push_front(chunk.slice(n..chunk.len()));
                chunk.slice(0..n)
            } else {
                chunk
            };
            if rd.step(&chunk, &s.user_frags).is_break() {
                s.rx_stash.push_front(chunk);
                stopped = true;
                break;
            }
        }
        if !stopped
            && rd.out.len < len
            && !s.shut_rd
            && let SkState::Conn(c) = &mut s.state
        {
            let user_frags = &s.user_frags;
            let (_, stopped) = c.recv_each(len - rd.out.len, |chunk| rd.step(chunk, user_frags));
            if let Some(chunk) = stopped {
                s.rx_stash.push_front(chunk);
            }
        }
        let RecvCopy {
            out,
            new_tokens,
            err,
            ..
        } = rd;
        // Tokens pin their net_iov: a niov already pinned by another token takes one more
        // page-pool reference (kernel: `atomic_long_inc(&niov->pp_ref_count)` per token).
        // Each token holds one page-pool reference (kernel: `atomic_long_inc(
        // &niov->pp_ref_count)` per token); the skb's own reference goes when its last
        // slice is dropped.
        for (t, niov) in new_tokens {
            if niov.pp().is_some()
                && let Some(b) = niov.binding()
            {
                b.pp_ref_inc(&niov);
            }
            s.user_frags.insert(t, niov);
        }
        let finished = s.shut_rd
            || s.conn()
                .is_some_and(|c| c.recv_finished() || c.state() == tcp::State::Closed);
        let sk_err = s.sk_err;
        if out.len > 0 {
            self.tcp_push(sk);
            return Some(Ok(out));
        }
        if let Some(e) = err {
            return Some(Err(e));
        }
        if sk_err != 0 {
            if let Ok(s) = self.sock_mut(sk) {
                s.sk_err = 0;
            }
            return Some(Err(KernelError::new(sk_err)));
        }
        if finished || len == 0 {
            return Some(Ok(out));
        }
        if flags & MSG_DONTWAIT != 0 {
            return Some(Err(KernelError::new(EAGAIN)));
        }
        None
    }

    /// Kernel: `ipv6_recv_error()` / `ip_recv_error()`: one extended error with its
    /// offender address (zeroed for zerocopy notifications), at SOL_IPV6/IPV6_RECVERR on
    /// AF_INET6 sockets and SOL_IP/IP_RECVERR on AF_INET ones; EAGAIN when empty. The
    /// cmsg is truncated with MSG_CTRUNC when the control buffer is short (`put_cmsg()`).
    fn sock_recv_errqueue(&mut self, sk: SockId, controllen: usize) -> KResult<RecvOut> {
        let s = self.sock_mut(sk)?;
        let Some(ee) = s.err_queue.pop_front() else {
            return Err(KernelError::new(EAGAIN));
        };
        // Kernel: `sock_dequeue_err_skb()` touches `sk_err` for ICMP errors only: it takes
        // the next entry's errno when that one is an ICMP error, and clears it when an ICMP
        // error was dequeued and no ICMP error follows. Zerocopy notifications leave it
        // alone (a pending ECONNRESET survives reading completions).
        let is_icmp = |e: &SockExtendedErr| {
            e.ee_origin == SO_EE_ORIGIN_ICMP || e.ee_origin == SO_EE_ORIGIN_ICMP6
        };
        match s.err_queue.front() {
            Some(next) if is_icmp(next) => s.sk_err = next.ee_errno as i32,
            _ if is_icmp(&ee) => s.sk_err = 0,
            _ => {}
        }
        let (level, ty, offender) = if s.family == AF_INET6 {
            (SOL_IPV6, IPV6_RECVERR, 28)
        } else {
            (SOL_IP, IP_RECVERR, 16)
        };
        let mut data = ee_bytes(&ee).to_vec();
        data.resize(SockExtendedErr::SIZE + offender, 0);
        let mut out = RecvOut {
            flags: MSG_ERRQUEUE,
            ..RecvOut::default()
        };
        let full = cmsg_len(data.len());
        if controllen < CmsgHdr::SIZE {
            out.flags |= uapi::socket::MSG_CTRUNC;
        } else {
            let cmlen = full.min(controllen);
            if cmlen < full {
                out.flags |= uapi::socket::MSG_CTRUNC;
            }
            let h = CmsgHdr {
                cmsg_len: cmlen as u64,
                cmsg_level: level,
                cmsg_type: ty,
            };
            out.control.extend_from_slice(&h.to_bytes());
            out.control
                .extend_from_slice(&data[..cmlen - CmsgHdr::SIZE]);
        }
        self.sk_wake(sk);
        Ok(out)
    }
}

fn ee_bytes(ee: &SockExtendedErr) -> [u8; SockExtendedErr::SIZE] {
    ee.to_bytes()
}
