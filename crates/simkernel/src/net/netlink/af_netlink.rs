//! Emulated AF_NETLINK sockets: one per (process, protocol) open, with a port id, the
//! ack-shaping socket options and a receive queue of datagrams.
//!
//! Kernel: `net/netlink/af_netlink.c`. What is modelled:
//! - `netlink_autobind()`: the first socket of a process gets the process id as its port
//!   id; when that is taken, ids come from a rover starting at -4096 and going down
//!   (the kernel's `rover`), skipping ids in use. Ids are unique per (protocol, netns).
//! - `netlink_setsockopt()`: `NETLINK_EXT_ACK`, `NETLINK_CAP_ACK`,
//!   `NETLINK_GET_STRICT_CHK`; anything else is `ENOPROTOOPT`.
//! - `netlink_rcv_skb()`: a sent datagram may hold several messages; each is handled in
//!   turn and acked per `NLM_F_ACK` / error ([`netlink::ack::disposition`]).
//! - `netlink_unicast()`: every reply is its own datagram; a dump's messages are packed
//!   into datagrams of at most [`DUMP_SKB_SIZE`] bytes, `NLMSG_DONE` in the last one
//!   when it fits (`netlink_dump()`).
//! - `netlink_release()` → `genl_release()` → `netdev_nl_sock_priv_destroy()`: closing
//!   unbinds every dma-buf binding the socket created.
//!
//! Not modelled: multicast groups, `NETLINK_PKTINFO`, `NLM_F_ECHO`, overruns.

use std::collections::{BTreeMap, VecDeque};

use netlink::ack::{AckOpts, Disposition, ack, disposition};
use netlink::policy::ExtAckError;
use uapi::errno::{EBADF, ENOPROTOOPT, EPROTONOSUPPORT, ESRCH};
use uapi::netlink::{
    NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GENERIC, NETLINK_GET_STRICT_CHK, NETLINK_ROUTE,
    NLMSG_HDRLEN, NlMsgHdr, nlmsg_align,
};

use crate::error::{KResult, KernelError};
use crate::kernel::{Caller, Kernel, NlSockId};
use crate::net::core::net_namespace::NetNsId;
use crate::process::ProcessId;

/// Kernel: the rover's start in `netlink_autobind()`.
const ROVER_START: i32 = -4096;

/// Room for dump messages in one datagram: `SKB_WITH_OVERHEAD(32768)`, the most
/// `netlink_dump()` allocates once a reader used a large buffer (as YNL does).
pub const DUMP_SKB_SIZE: usize = 32768 - 320;

/// One emulated netlink socket.
#[derive(Debug)]
pub struct NetlinkSock {
    /// The owning process.
    pub pid: ProcessId,
    /// `NETLINK_GENERIC` or `NETLINK_ROUTE`.
    pub protocol: i32,
    /// Kernel: `sock_net(sk)`, the creator's namespace.
    pub netns: NetNsId,
    /// Kernel: `nlk->portid`.
    pub portid: u32,
    /// `NETLINK_EXT_ACK`.
    pub ext_ack: bool,
    /// `NETLINK_CAP_ACK`.
    pub cap_ack: bool,
    /// `NETLINK_GET_STRICT_CHK` (rtnetlink dumps).
    pub strict_chk: bool,
    rx: VecDeque<Vec<u8>>,
}

impl NetlinkSock {
    /// The ack options this socket asked for.
    pub fn ack_opts(&self) -> AckOpts {
        AckOpts {
            cap_ack: self.cap_ack,
            ext_ack: self.ext_ack,
        }
    }

    /// Datagrams waiting to be read.
    pub fn pending(&self) -> usize {
        self.rx.len()
    }
}

/// Every open netlink socket.
#[derive(Debug)]
pub struct NetlinkTable {
    socks: BTreeMap<NlSockId, NetlinkSock>,
    next_id: u64,
    rover: i32,
}

impl Default for NetlinkTable {
    fn default() -> Self {
        NetlinkTable {
            socks: BTreeMap::new(),
            next_id: 1,
            rover: ROVER_START,
        }
    }
}

impl NetlinkTable {
    fn portid_used(&self, protocol: i32, netns: NetNsId, portid: u32) -> bool {
        self.socks
            .values()
            .any(|s| s.protocol == protocol && s.netns == netns && s.portid == portid)
    }

    /// Kernel: `netlink_autobind()`.
    fn autobind(&mut self, protocol: i32, netns: NetNsId, pid: ProcessId) -> u32 {
        if !self.portid_used(protocol, netns, pid.0) {
            return pid.0;
        }
        loop {
            let id = self.rover as u32;
            self.rover -= 1;
            if self.rover > ROVER_START {
                self.rover = ROVER_START;
            }
            if !self.portid_used(protocol, netns, id) {
                return id;
            }
        }
    }
}

/// What a handler did with a request (the tail of `netlink_rcv_skb()` depends on it).
#[derive(Debug)]
pub(crate) enum Handled {
    /// Replies queued (maybe none); `warning` is extack content for a requested ACK.
    Done {
        /// Extack message left by a successful parse.
        warning: Option<ExtAckError>,
    },
    /// A dump ran: its messages and DONE are queued, no ACK follows.
    Dump,
}

impl Kernel {
    /// Kernel: `socket(AF_NETLINK, SOCK_RAW, protocol)` + autobind, in process `pid`.
    /// Protocols other than `NETLINK_GENERIC` and `NETLINK_ROUTE` are
    /// `EPROTONOSUPPORT`; an unknown process is `ESRCH`.
    pub fn netlink_socket(&mut self, pid: ProcessId, protocol: i32) -> KResult<NlSockId> {
        if protocol != NETLINK_GENERIC && protocol != NETLINK_ROUTE {
            return Err(KernelError::new(EPROTONOSUPPORT));
        }
        let netns = self.process(pid).ok_or(KernelError::new(ESRCH))?.netns;
        let t = &mut self.netlink;
        let portid = t.autobind(protocol, netns, pid);
        let id = NlSockId(t.next_id);
        t.next_id += 1;
        t.socks.insert(
            id,
            NetlinkSock {
                pid,
                protocol,
                netns,
                portid,
                ext_ack: false,
                cap_ack: false,
                strict_chk: false,
                rx: VecDeque::new(),
            },
        );
        Ok(id)
    }

    /// The socket `sock`.
    pub fn netlink_sock(&self, sock: NlSockId) -> Option<&NetlinkSock> {
        self.netlink.socks.get(&sock)
    }

    /// Kernel: `netlink_setsockopt()` at `SOL_NETLINK` for the boolean options.
    pub fn netlink_setsockopt(&mut self, sock: NlSockId, opt: i32, on: bool) -> KResult<()> {
        let s = self
            .netlink
            .socks
            .get_mut(&sock)
            .ok_or(KernelError::new(EBADF))?;
        match opt {
            NETLINK_EXT_ACK => s.ext_ack = on,
            NETLINK_CAP_ACK => s.cap_ack = on,
            NETLINK_GET_STRICT_CHK => s.strict_chk = on,
            _ => return Err(KernelError::new(ENOPROTOOPT)),
        }
        Ok(())
    }

    /// Receives the next datagram, if any (`MSG_DONTWAIT`).
    pub fn netlink_recv(&mut self, sock: NlSockId) -> Option<Vec<u8>> {
        self.netlink.socks.get_mut(&sock)?.rx.pop_front()
    }

    /// Kernel: `netlink_release()`: the socket goes away and, through
    /// `netdev_nl_sock_priv_destroy()`, every binding it created is unbound.
    pub fn netlink_close(&mut self, sock: NlSockId) -> KResult<()> {
        self.netlink
            .socks
            .remove(&sock)
            .ok_or(KernelError::new(EBADF))?;
        self.unbind_socket_bindings(sock);
        Ok(())
    }

    /// The caller context a request on `sock` runs in.
    pub(crate) fn netlink_caller(&self, sock: NlSockId) -> KResult<Caller> {
        let s = self
            .netlink
            .socks
            .get(&sock)
            .ok_or(KernelError::new(EBADF))?;
        let p = self.process(s.pid).ok_or(KernelError::new(ESRCH))?;
        Ok(Caller {
            pid: s.pid,
            netns: s.netns,
            cred: p.cred,
            sock,
        })
    }

    /// Queues one datagram for `sock` (`netlink_unicast()`).
    pub(crate) fn netlink_unicast(&mut self, sock: NlSockId, datagram: Vec<u8>) {
        if let Some(s) = self.netlink.socks.get_mut(&sock) {
            s.rx.push_back(datagram);
        }
    }

    /// Queues dump messages packed into datagrams, then `done` (`netlink_dump()`).
    pub(crate) fn netlink_dump_queue(
        &mut self,
        sock: NlSockId,
        parts: Vec<Vec<u8>>,
        done: Vec<u8>,
    ) {
        let mut cur: Vec<u8> = Vec::new();
        for p in parts {
            if !cur.is_empty() && cur.len() + p.len() > DUMP_SKB_SIZE {
                self.netlink_unicast(sock, std::mem::take(&mut cur));
            }
            cur.extend_from_slice(&p);
        }
        if !cur.is_empty() && cur.len() + done.len() > DUMP_SKB_SIZE {
            self.netlink_unicast(sock, std::mem::take(&mut cur));
        }
        cur.extend_from_slice(&done);
        self.netlink_unicast(sock, cur);
    }

    /// Kernel: `netlink_sendmsg()` → `netlink_rcv_skb()`: handles every message of
    /// `datagram` in order and queues the replies and acks on `sock`.
    ///
    /// Like the kernel, the walk stops silently at a header whose `nlmsg_len` is below
    /// 16 or runs past the datagram.
    pub fn netlink_send(&mut self, sock: NlSockId, datagram: &[u8]) -> KResult<()> {
        let (protocol, portid, opts) = {
            let s = self
                .netlink
                .socks
                .get(&sock)
                .ok_or(KernelError::new(EBADF))?;
            (s.protocol, s.portid, s.ack_opts())
        };
        let mut pos = 0;
        while datagram.len() - pos >= NLMSG_HDRLEN {
            let rest = &datagram[pos..];
            let Ok(hdr) = NlMsgHdr::from_bytes(rest) else {
                break;
            };
            let len = hdr.nlmsg_len as usize;
            if len < NLMSG_HDRLEN || rest.len() < len {
                break;
            }
            let raw = &rest[..len];
            let handled = hdr.nlmsg_flags & uapi::netlink::NLM_F_REQUEST != 0
                && hdr.nlmsg_type >= uapi::netlink::NLMSG_MIN_TYPE;
            let (result, extack, dump) = if handled {
                let caller = self.netlink_caller(sock)?;
                let r = match protocol {
                    NETLINK_GENERIC => self.genl_rcv_msg(&caller, portid, opts, raw),
                    _ => self.rtnetlink_rcv_msg(&caller, portid, opts, raw),
                };
                match r {
                    Ok(Handled::Done { warning }) => (0, warning, false),
                    Ok(Handled::Dump) => (0, None, true),
                    Err(e) => (e.errno, Some(e), false),
                }
            } else {
                (0, None, false)
            };
            if let Disposition::Ack(err) = disposition(&hdr, result, dump) {
                let e = match (err, extack) {
                    (0, None) => None,
                    (_, Some(e)) => Some(e),
                    (err, None) => Some(ExtAckError::new(err)),
                };
                let a = ack(raw, e.as_ref(), opts, portid);
                self.netlink_unicast(sock, a);
            }
            pos += nlmsg_align(len).min(rest.len());
        }
        Ok(())
    }
}

impl Kernel {
    /// [`Kernel::netlink_send`] for a datagram that came with file descriptors (the
    /// `nkdevmem serve` protocol): for each netdev bind-rx / bind-tx request in
    /// `datagram`, in order, the next fd of `fds` becomes a memfd-backed dma-buf in the
    /// socket owner's fd table under the number its `NETDEV_A_DMABUF_FD` names
    /// (replacing whatever was there), so the request bytes are the ones the real
    /// kernel would take. A passed fd that cannot become a dma-buf leaves that number
    /// closed, so the request gets the kernel's EBADF. Fds left over are closed.
    pub fn netlink_send_with_fds(
        &mut self,
        sock: NlSockId,
        datagram: &[u8],
        fds: Vec<std::os::fd::OwnedFd>,
    ) -> KResult<()> {
        let mut fds = fds.into_iter();
        let pid = self
            .netlink
            .socks
            .get(&sock)
            .ok_or(KernelError::new(EBADF))?
            .pid;
        for n in dmabuf_fd_numbers(datagram) {
            let Some(fd) = fds.next() else { break };
            let buf = self.dmabuf_from_memfd(fd);
            let p = self.process_mut(pid).ok_or(KernelError::new(ESRCH))?;
            match buf {
                Ok(buf) => {
                    p.fds.insert(n, crate::process::File::DmaBuf(buf));
                }
                // Memory that cannot be exported (not a mappable memfd): the request
                // then names an fd the process does not have, and the bind fails as
                // dma_buf_get() would, with EBADF in an ordinary NLMSG_ERROR.
                Err(_) => {
                    p.fds.remove(&n);
                }
            }
        }
        self.netlink_send(sock, datagram)
    }
}

/// The `NETDEV_A_DMABUF_FD` values of the netdev bind-rx / bind-tx requests in a
/// datagram, in message order.
pub fn dmabuf_fd_numbers(datagram: &[u8]) -> Vec<i32> {
    use netlink::family::netdev::{NETDEV_CMD_BIND_RX, NETDEV_CMD_BIND_TX};
    let Some(netdev) = crate::net::netlink::genetlink::genl_family_id("netdev") else {
        return vec![];
    };
    let mut out = Vec::new();
    for m in netlink::msg::messages(datagram).flatten() {
        if m.hdr.nlmsg_type != netdev {
            continue;
        }
        let Ok((h, attrs)) = m.genl_attrs() else {
            continue;
        };
        if h.cmd != NETDEV_CMD_BIND_RX && h.cmd != NETDEV_CMD_BIND_TX {
            continue;
        }
        for a in attrs.flatten() {
            if a.ty == uapi::netdev::NETDEV_A_DMABUF_FD
                && let Ok(v) = a.u32()
            {
                out.push(v as i32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;
    use crate::process::Cred;

    #[test]
    fn autobind_uses_pid_then_rover() {
        let mut k = Kernel::new(KernelConfig::default());
        let p = k.process_spawn(k.init_net(), Cred::default());
        let a = k.netlink_socket(p, NETLINK_GENERIC).unwrap();
        let b = k.netlink_socket(p, NETLINK_GENERIC).unwrap();
        let c = k.netlink_socket(p, NETLINK_ROUTE).unwrap();
        let d = k.netlink_socket(p, NETLINK_GENERIC).unwrap();
        assert_eq!(k.netlink_sock(a).unwrap().portid, p.0);
        assert_eq!(k.netlink_sock(b).unwrap().portid, (-4096i32) as u32);
        // Another protocol has its own port id space.
        assert_eq!(k.netlink_sock(c).unwrap().portid, p.0);
        assert_eq!(k.netlink_sock(d).unwrap().portid, (-4097i32) as u32);
        assert_eq!(k.netlink_socket(p, 4).unwrap_err().errno, EPROTONOSUPPORT);
        assert_eq!(
            k.netlink_setsockopt(a, 99, true).unwrap_err().errno,
            ENOPROTOOPT
        );
        k.netlink_close(a).unwrap();
        assert_eq!(k.netlink_close(a).unwrap_err().errno, EBADF);
        // The pid is free again.
        let e = k.netlink_socket(p, NETLINK_GENERIC).unwrap();
        assert_eq!(k.netlink_sock(e).unwrap().portid, p.0);
    }

    #[test]
    fn non_requests_and_truncated_messages() {
        let mut k = Kernel::new(KernelConfig::default());
        let p = k.process_spawn(k.init_net(), Cred::default());
        let s = k.netlink_socket(p, NETLINK_GENERIC).unwrap();
        // NLMSG_NOOP with NLM_F_ACK: acked with 0, not handled.
        let noop = netlink::msg::MsgBuilder::new(1, 0x4, 9, 0).finish();
        // A truncated second message is ignored.
        let mut dgram = noop.clone();
        dgram.extend_from_slice(&[0xff; 8]);
        k.netlink_send(s, &dgram).unwrap();
        let a = k.netlink_recv(s).unwrap();
        let h = NlMsgHdr::from_bytes(&a).unwrap();
        assert_eq!(h.nlmsg_type, uapi::netlink::NLMSG_ERROR);
        assert_eq!(h.nlmsg_seq, 9);
        assert_eq!(h.nlmsg_pid, p.0);
        assert_eq!(&a[16..20], &0i32.to_ne_bytes());
        assert!(k.netlink_recv(s).is_none());
    }
}
