//! AF_NETLINK transport to the real kernel.
//!
//! Only datagrams move here: building and parsing messages is the `netlink` crate's job. The
//! socket talks to the kernel only (destination port 0) and drops datagrams other processes
//! unicast to our port, so the codec never sees bytes the kernel did not write.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::sys::{cvt, cvt_size, setsockopt_int};

/// A raw netlink socket bound to a kernel-assigned port id.
pub struct NetlinkSocket {
    fd: OwnedFd,
}

/// A `sockaddr_nl` for the kernel (port 0, no groups), also used for binding with autobind.
fn kernel_addr() -> libc::sockaddr_nl {
    // SAFETY: sockaddr_nl is a plain C struct; all-zero is valid (it includes private padding
    // we cannot name, hence zeroed rather than a struct literal).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    addr
}

impl NetlinkSocket {
    /// Opens `socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol)` and binds it with
    /// `nl_pid = 0`, which asks the kernel to pick a unique port id (`netlink_autobind()`);
    /// binding up front makes [`NetlinkSocket::portid`] valid before the first send.
    /// `protocol` is e.g. `libc::NETLINK_GENERIC` or `libc::NETLINK_ROUTE`.
    pub fn open(protocol: i32) -> io::Result<Self> {
        // SAFETY: plain syscall, no pointers.
        let raw = cvt(unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                protocol,
            )
        })?;
        // SAFETY: socket() just returned this descriptor and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let addr = kernel_addr();
        // SAFETY: `addr` is a valid sockaddr_nl and we pass its exact size.
        cvt(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        Ok(Self { fd })
    }

    /// `NETLINK_EXT_ACK`: errors carry extack TLVs (message, bad-attribute offset, missing type).
    pub fn set_ext_ack(&self, on: bool) -> io::Result<()> {
        setsockopt_int(
            self.fd.as_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_EXT_ACK,
            on.into(),
        )
    }

    /// `NETLINK_CAP_ACK`: error messages echo only the request header, not its payload.
    pub fn set_cap_ack(&self, on: bool) -> io::Result<()> {
        setsockopt_int(
            self.fd.as_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_CAP_ACK,
            on.into(),
        )
    }

    /// `NETLINK_GET_STRICT_CHK`: the kernel validates dump request headers strictly.
    pub fn set_strict_check(&self, on: bool) -> io::Result<()> {
        setsockopt_int(
            self.fd.as_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_GET_STRICT_CHK,
            on.into(),
        )
    }

    /// `NETLINK_ADD_MEMBERSHIP`: join a multicast group (e.g. the netdev family's "mgmt").
    /// Group ids above 32 need this option; the `nl_groups` bind mask only covers 1..=32.
    pub fn add_membership(&self, group: u32) -> io::Result<()> {
        let group = libc::c_int::try_from(group)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "group id too large"))?;
        setsockopt_int(
            self.fd.as_fd(),
            libc::SOL_NETLINK,
            libc::NETLINK_ADD_MEMBERSHIP,
            group,
        )
    }

    /// Our port id, as the kernel assigned it at bind (`getsockname`). Replies carry it in
    /// `nlmsg_pid`.
    pub fn portid(&self) -> io::Result<u32> {
        let mut addr = kernel_addr();
        let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `addr`/`len` describe a writable sockaddr_nl buffer.
        cvt(unsafe {
            libc::getsockname(self.fd.as_raw_fd(), (&raw mut addr).cast(), &raw mut len)
        })?;
        Ok(addr.nl_pid)
    }

    /// Sends one datagram (one or more netlink messages) to the kernel with `sendto(nl_pid 0)`.
    /// Netlink datagrams are all-or-nothing; a short count is reported as an error anyway.
    pub fn send(&self, buf: &[u8]) -> io::Result<()> {
        let addr = kernel_addr();
        // SAFETY: `buf` is readable for its length; `addr` is a valid sockaddr_nl.
        let n = cvt_size(unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                buf.as_ptr().cast(),
                buf.len(),
                0,
                (&raw const addr).cast(),
                size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        })?;
        if n != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("netlink sendto wrote {n} of {} bytes", buf.len()),
            ));
        }
        Ok(())
    }

    /// Receives one datagram from the kernel into `buf` (resized to exactly its length).
    ///
    /// First `recv(MSG_PEEK | MSG_TRUNC)` with an empty buffer: netlink then reports the real
    /// datagram length (`netlink_recvmsg()` returns `skb->len` under MSG_TRUNC) without
    /// consuming it, so a large dump page is never truncated. Then `recvfrom` for real. Datagrams
    /// not sent by the kernel (`nl_pid != 0`) are discarded and the next one is read.
    pub fn recv(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        loop {
            // SAFETY: a zero-length buffer; the kernel writes nothing, only reports the size.
            let want = cvt_size(unsafe {
                libc::recv(
                    self.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                    0,
                    libc::MSG_PEEK | libc::MSG_TRUNC,
                )
            })?;
            buf.clear();
            buf.resize(want, 0);
            let mut addr = kernel_addr();
            let mut alen = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
            // SAFETY: `buf` is writable for its length; `addr`/`alen` describe a writable
            // sockaddr_nl.
            let got = cvt_size(unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    libc::MSG_TRUNC,
                    (&raw mut addr).cast(),
                    &raw mut alen,
                )
            })?;
            if got > buf.len() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "netlink datagram grew from {want} to {got} bytes between peek and read"
                    ),
                ));
            }
            buf.truncate(got);
            if addr.nl_pid == 0 {
                return Ok(got);
            }
        }
    }

    /// Sets `O_NONBLOCK`: `recv` then fails with `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        crate::sys::set_nonblocking(self.fd.as_fd(), nonblocking)
    }
}

impl AsFd for NetlinkSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for NetlinkSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetlinkSocket")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// Tells whether a NETLINK_GENERIC socket can be opened here, so real-kernel tests can skip
/// with a reason instead of failing on hosts (or sandboxes) without it.
pub fn probe_netlink_generic() -> Result<(), String> {
    NetlinkSocket::open(libc::NETLINK_GENERIC)
        .map(drop)
        .map_err(|e| format!("socket(AF_NETLINK, NETLINK_GENERIC): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENL_ID_CTRL: u16 = 16;
    const CTRL_CMD_NEWFAMILY: u8 = 1;
    const CTRL_CMD_GETFAMILY: u8 = 3;
    const CTRL_ATTR_FAMILY_ID: u16 = 1;
    const CTRL_ATTR_FAMILY_NAME: u16 = 2;
    const NLMSG_ERROR: u16 = 2;
    const NLM_F_REQUEST: u16 = 1;
    const NLM_F_ACK: u16 = 4;

    /// nlmsghdr + genlmsghdr + one NUL-terminated CTRL_ATTR_FAMILY_NAME, built by hand.
    fn getfamily(name: &str, seq: u32) -> Vec<u8> {
        let attr_len = 4 + name.len() + 1;
        let total = 16 + 4 + attr_len.next_multiple_of(4);
        let mut m = Vec::with_capacity(total);
        m.extend_from_slice(&(total as u32).to_ne_bytes());
        m.extend_from_slice(&GENL_ID_CTRL.to_ne_bytes());
        m.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(&[CTRL_CMD_GETFAMILY, 1, 0, 0]);
        m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
        m.extend_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
        m.extend_from_slice(name.as_bytes());
        m.push(0);
        m.resize(total, 0);
        m
    }

    fn u16_at(b: &[u8], off: usize) -> u16 {
        u16::from_ne_bytes([b[off], b[off + 1]])
    }

    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_ne_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
    }

    fn open_or_skip() -> Option<NetlinkSocket> {
        if let Err(why) = probe_netlink_generic() {
            println!("skip: {why}");
            return None;
        }
        Some(NetlinkSocket::open(libc::NETLINK_GENERIC).expect("probe said it opens"))
    }

    /// Finds attribute `ty` in a TLV stream.
    fn find_attr(mut attrs: &[u8], ty: u16) -> Option<&[u8]> {
        while attrs.len() >= 4 {
            let len = usize::from(u16_at(attrs, 0));
            if len < 4 || len > attrs.len() {
                return None;
            }
            if u16_at(attrs, 2) & 0x3fff == ty {
                return Some(&attrs[4..len]);
            }
            attrs = &attrs[len.next_multiple_of(4).min(attrs.len())..];
        }
        None
    }

    #[test]
    fn getfamily_netdev_gets_an_answer_addressed_to_us() {
        let Some(sock) = open_or_skip() else { return };
        sock.set_ext_ack(true).expect("ext ack");
        sock.set_strict_check(true).expect("strict");
        let portid = sock.portid().expect("getsockname");
        assert_ne!(portid, 0, "autobind assigns a non-zero port");
        sock.send(&getfamily("netdev", 7)).expect("send");

        let mut buf = Vec::new();
        let n = sock.recv(&mut buf).expect("reply");
        assert_eq!(n, buf.len());
        assert!(n >= 20, "at least nlmsghdr + something");
        assert_eq!(
            u32_at(&buf, 0) as usize,
            n,
            "one message fills the datagram"
        );
        assert_eq!(u32_at(&buf, 8), 7, "sequence echoed");
        assert_eq!(u32_at(&buf, 12), portid, "reply addressed to our port");
        match u16_at(&buf, 4) {
            GENL_ID_CTRL => {
                assert_eq!(buf[16], CTRL_CMD_NEWFAMILY);
                let attrs = &buf[20..n];
                assert_eq!(
                    find_attr(attrs, CTRL_ATTR_FAMILY_NAME),
                    Some(&b"netdev\0"[..])
                );
                let id = find_attr(attrs, CTRL_ATTR_FAMILY_ID).expect("family id");
                assert!(u16_at(id, 0) > GENL_ID_CTRL, "dynamic family id");
                // NLM_F_ACK: an ACK (error 0) follows the reply.
                sock.recv(&mut buf).expect("ack");
                assert_eq!(u16_at(&buf, 4), NLMSG_ERROR);
                assert_eq!(u32_at(&buf, 16), 0, "ack carries error 0");
            }
            NLMSG_ERROR => {
                let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
                assert_eq!(err, -libc::ENOENT, "kernel without the netdev family");
                println!("note: this kernel has no netdev genl family");
            }
            other => panic!("unexpected reply type {other}"),
        }
    }

    #[test]
    fn cap_ack_trims_the_echoed_request() {
        let Some(sock) = open_or_skip() else { return };
        let req = getfamily("no-such-family", 9);
        let mut buf = Vec::new();

        sock.send(&req).expect("send");
        sock.recv(&mut buf).expect("error reply");
        assert_eq!(u16_at(&buf, 4), NLMSG_ERROR);
        let err = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
        assert_eq!(err, -libc::ENOENT);
        // Without CAP_ACK the whole request is echoed after the errno.
        assert_eq!(&buf[20..20 + req.len()], &req[..]);

        sock.set_cap_ack(true).expect("cap ack");
        sock.send(&req).expect("send");
        sock.recv(&mut buf).expect("error reply");
        assert_eq!(u16_at(&buf, 4), NLMSG_ERROR);
        // Only the 16-byte header is echoed now (the kernel flags it NLM_F_CAPPED).
        assert_eq!(&buf[20..36], &req[..16]);
        assert_eq!(buf.len(), 36);
    }

    #[test]
    fn nonblocking_recv_would_block_when_idle() {
        let Some(sock) = open_or_skip() else { return };
        sock.set_nonblocking(true).expect("nonblocking");
        let mut buf = Vec::new();
        let err = sock.recv(&mut buf).expect_err("nothing queued");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
    }
}
