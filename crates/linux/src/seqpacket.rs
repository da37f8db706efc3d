//! Unix `SOCK_SEQPACKET` sockets with fd passing.
//!
//! This is how an emulated kernel served over a unix socket talks to its client processes:
//! SEQPACKET keeps message boundaries (one netlink datagram = one message) and is
//! connection-oriented (the peer hanging up reads as EOF), and SCM_RIGHTS moves memfds/dmabufs.

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::sys::{cvt, cvt_size};

/// Kernel: `SCM_MAX_FD` (include/net/scm.h), the most fds one SCM_RIGHTS message may carry.
pub const SCM_MAX_FD: usize = 253;

/// Fills a `sockaddr_un` for a filesystem path, returning it with its used length.
fn unix_addr(path: &Path) -> io::Result<(libc::sockaddr_un, libc::socklen_t)> {
    // SAFETY: sockaddr_un is a plain C struct; all-zero is valid and NUL-terminates sun_path.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    let bytes = OsStr::as_bytes(path.as_os_str());
    // Keep one byte for the terminating NUL; a leading NUL would mean the abstract namespace.
    if bytes.is_empty() || bytes.len() >= addr.sun_path.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "unix socket path must be 1..=107 bytes without NUL",
        ));
    }
    for (dst, src) in addr.sun_path.iter_mut().zip(bytes) {
        *dst = *src as libc::c_char;
    }
    let len = std::mem::offset_of!(libc::sockaddr_un, sun_path) + bytes.len() + 1;
    Ok((addr, len as libc::socklen_t))
}

/// `socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`.
fn seqpacket_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall, no pointers.
    let raw =
        cvt(unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: socket() just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A listening SEQPACKET socket bound to a filesystem path. Like `std`'s `UnixListener`, it
/// does not unlink the path on drop: the owner removes it.
pub struct SeqpacketListener {
    fd: OwnedFd,
}

impl SeqpacketListener {
    /// `socket` + `bind(path)` + `listen(SOMAXCONN)`. Fails with `AddrInUse` if the path exists.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<Self> {
        let fd = seqpacket_socket()?;
        let (addr, len) = unix_addr(path.as_ref())?;
        // SAFETY: `addr` is a valid sockaddr_un of the given length.
        cvt(unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
        // SAFETY: plain syscall.
        cvt(unsafe { libc::listen(fd.as_raw_fd(), libc::SOMAXCONN) })?;
        Ok(Self { fd })
    }

    /// `accept4(SOCK_CLOEXEC)`: the connection fd is close-on-exec from birth (no race with a
    /// concurrent fork+exec, unlike a later `fcntl`).
    pub fn accept(&self) -> io::Result<SeqpacketConn> {
        // SAFETY: NULL address buffers are allowed: we do not want the peer address.
        let raw = cvt(unsafe {
            libc::accept4(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                libc::SOCK_CLOEXEC,
            )
        })?;
        // SAFETY: accept4() just returned this descriptor and nothing else owns it.
        Ok(SeqpacketConn {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Sets `O_NONBLOCK`: `accept` fails with `WouldBlock` when no peer is waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        crate::sys::set_nonblocking(self.fd.as_fd(), nonblocking)
    }

    /// The listening fd, for polling.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for SeqpacketListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeqpacketListener")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// One end of a SEQPACKET connection.
pub struct SeqpacketConn {
    fd: OwnedFd,
}

impl SeqpacketConn {
    /// `socket` + `connect(path)`.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Self> {
        let fd = seqpacket_socket()?;
        let (addr, len) = unix_addr(path.as_ref())?;
        // SAFETY: `addr` is a valid sockaddr_un of the given length.
        cvt(unsafe { libc::connect(fd.as_raw_fd(), (&raw const addr).cast(), len) })?;
        Ok(Self { fd })
    }

    /// `socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC)`: a connected pair with no path,
    /// for a parent and the child it forks, or for tests.
    pub fn pair() -> io::Result<(Self, Self)> {
        let mut fds: [RawFd; 2] = [-1; 2];
        // SAFETY: `fds` is a writable array of two ints, as socketpair requires.
        cvt(unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        })?;
        // SAFETY: socketpair() succeeded, so both descriptors are new and unowned.
        let (a, b) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok((Self { fd: a }, Self { fd: b }))
    }

    /// Sends `data` as one message, with `fds` attached as one SCM_RIGHTS control message.
    ///
    /// `sendmsg(MSG_NOSIGNAL)`: a hung-up peer gives `EPIPE` rather than killing the process
    /// with SIGPIPE. SEQPACKET messages are atomic, so a short count is an error.
    pub fn send(&self, data: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        if fds.len() > SCM_MAX_FD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("at most {SCM_MAX_FD} fds per message"),
            ));
        }
        let mut iov = libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        };
        // SAFETY: an all-zero msghdr (no name, no control) is valid; fields are set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        let payload = (fds.len() * size_of::<RawFd>()) as libc::c_uint;
        // u64 elements keep the buffer aligned for `cmsghdr`.
        let mut control: Vec<u64> = Vec::new();
        if !fds.is_empty() {
            // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
            let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
            control.resize(space.div_ceil(size_of::<u64>()), 0);
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space as _;
            // SAFETY: msg_control points at `space` zeroed, aligned bytes, enough for one
            // cmsghdr, so CMSG_FIRSTHDR is non-NULL and the header plus CMSG_LEN(payload) bytes
            // of data lie inside the buffer; the fds are copied unaligned-safe.
            unsafe {
                let cmsg = libc::CMSG_FIRSTHDR(&raw const msg);
                (*cmsg).cmsg_level = libc::SOL_SOCKET;
                (*cmsg).cmsg_type = libc::SCM_RIGHTS;
                (*cmsg).cmsg_len = libc::CMSG_LEN(payload) as _;
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for (i, fd) in fds.iter().enumerate() {
                    data.add(i).write_unaligned(fd.as_raw_fd());
                }
            }
        }
        // SAFETY: `msg` points at live iovec/control buffers for the duration of the call.
        let n = cvt_size(unsafe {
            libc::sendmsg(self.fd.as_raw_fd(), &raw const msg, libc::MSG_NOSIGNAL)
        })?;
        if n != data.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("seqpacket sendmsg wrote {n} of {} bytes", data.len()),
            ));
        }
        Ok(())
    }

    /// Receives one message into `buf` (resized to its exact length) and the fds sent with it.
    /// `Ok((0, []))` after the peer hung up (EOF); an empty message with no fds looks the same.
    ///
    /// Sizing: `recv(MSG_PEEK | MSG_TRUNC)` with no buffer returns the message's full length
    /// (unix datagram/seqpacket receive honours MSG_TRUNC that way) without consuming it.
    /// Then `recvmsg(MSG_CMSG_CLOEXEC)` with room for [`SCM_MAX_FD`] fds, so received fds are
    /// close-on-exec atomically and none can be dropped by a short control buffer. If the
    /// kernel still reports `MSG_TRUNC`/`MSG_CTRUNC`, the fds that did arrive are closed and an
    /// error is returned.
    pub fn recv(&self, buf: &mut Vec<u8>) -> io::Result<(usize, Vec<OwnedFd>)> {
        // SAFETY: a zero-length buffer; the kernel only reports the size.
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
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: CMSG_SPACE is pure arithmetic on its argument.
        let space = unsafe { libc::CMSG_SPACE((SCM_MAX_FD * size_of::<RawFd>()) as _) } as usize;
        let mut control: Vec<u64> = vec![0; space.div_ceil(size_of::<u64>())];
        // SAFETY: an all-zero msghdr is valid; fields are set below.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &raw mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = space as _;
        // SAFETY: `msg` points at live, writable iovec and control buffers of the stated sizes.
        let n = cvt_size(unsafe {
            libc::recvmsg(
                self.fd.as_raw_fd(),
                &raw mut msg,
                libc::MSG_CMSG_CLOEXEC | libc::MSG_TRUNC,
            )
        })?;
        let fds = take_scm_rights(&msg);
        if msg.msg_flags & libc::MSG_CTRUNC != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "control data truncated: some passed fds were lost",
            ));
        }
        if n > buf.len() || msg.msg_flags & libc::MSG_TRUNC != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("seqpacket message grew from {want} to {n} bytes between peek and read"),
            ));
        }
        buf.truncate(n);
        Ok((n, fds))
    }

    /// Sets `O_NONBLOCK`: `recv`/`send` fail with `WouldBlock` instead of waiting.
    pub fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        crate::sys::set_nonblocking(self.fd.as_fd(), nonblocking)
    }

    /// The connection fd, for polling.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Collects every fd from the SCM_RIGHTS control messages `recvmsg` filled into `msg`, taking
/// ownership so they close if the caller drops them.
fn take_scm_rights(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: `msg` was just filled by recvmsg: msg_control/msg_controllen describe the control
    // bytes the kernel wrote, which CMSG_FIRSTHDR/CMSG_NXTHDR walk without leaving them. Each
    // SCM_RIGHTS payload holds (cmsg_len - CMSG_LEN(0)) / 4 fds that the kernel installed in our
    // table for us alone, so wrapping each in OwnedFd once is sound.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let bytes = ((*cmsg).cmsg_len as usize).saturating_sub(libc::CMSG_LEN(0) as usize);
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                for i in 0..bytes / size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(msg, cmsg);
        }
    }
    fds
}

impl AsFd for SeqpacketConn {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl fmt::Debug for SeqpacketConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeqpacketConn")
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shm::SharedMem;

    fn sock_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("linux-seqpacket-{tag}-{}.sock", std::process::id()))
    }

    #[test]
    fn passed_memfd_is_the_same_memory() {
        let path = sock_path("fd");
        let _ = std::fs::remove_file(&path);
        let listener = SeqpacketListener::bind(&path).expect("bind");
        let client = SeqpacketConn::connect(&path).expect("connect");
        let server = listener.accept().expect("accept");
        std::fs::remove_file(&path).expect("unlink");

        let original = SharedMem::new("seqpacket-fd", 4096).expect("memfd");
        client
            .send(b"take this", &[original.as_fd()])
            .expect("send with fd");

        let mut buf = Vec::new();
        let (n, fds) = server.recv(&mut buf).expect("recv");
        assert_eq!(n, 9);
        assert_eq!(buf, b"take this");
        assert_eq!(fds.len(), 1);
        let received = fds.into_iter().next().expect("one fd");
        // SAFETY: F_GETFD takes no argument.
        let fd_flags = unsafe { libc::fcntl(received.as_raw_fd(), libc::F_GETFD) };
        assert_eq!(
            fd_flags & libc::FD_CLOEXEC,
            libc::FD_CLOEXEC,
            "MSG_CMSG_CLOEXEC"
        );

        let theirs = SharedMem::from_fd(received).expect("map received memfd");
        theirs
            .write_at(1000, b"written by receiver")
            .expect("write");
        let mut got = [0u8; 19];
        original.read_at(1000, &mut got).expect("read");
        assert_eq!(&got, b"written by receiver");
    }

    #[test]
    fn boundaries_big_messages_and_eof() {
        let (a, b) = SeqpacketConn::pair().expect("pair");
        let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
        a.send(b"one", &[]).expect("send");
        a.send(&big, &[]).expect("send big");
        a.send(b"", &[]).expect("send empty");
        let mut buf = Vec::new();
        assert_eq!(b.recv(&mut buf).expect("recv").0, 3);
        assert_eq!(buf, b"one");
        let (n, fds) = b.recv(&mut buf).expect("recv big");
        assert_eq!(n, big.len());
        assert_eq!(buf, big);
        assert!(fds.is_empty());
        assert_eq!(b.recv(&mut buf).expect("empty").0, 0);

        b.set_nonblocking(true).expect("nonblocking");
        let err = b.recv(&mut buf).expect_err("nothing queued");
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);

        drop(a);
        let (n, fds) = b.recv(&mut buf).expect("eof");
        assert_eq!((n, fds.len()), (0, 0));
        let (c, d) = SeqpacketConn::pair().expect("pair");
        drop(d);
        assert_eq!(
            c.send(b"x", &[]).expect_err("peer gone").kind(),
            io::ErrorKind::BrokenPipe,
            "EPIPE, not SIGPIPE"
        );
    }

    #[test]
    fn several_fds_and_limits() {
        let (a, b) = SeqpacketConn::pair().expect("pair");
        let m1 = SharedMem::new("m1", 4096).expect("memfd");
        let m2 = SharedMem::new("m2", 8192).expect("memfd");
        a.send(b"2", &[m1.as_fd(), m2.as_fd()]).expect("send");
        let mut buf = Vec::new();
        let (_, fds) = b.recv(&mut buf).expect("recv");
        let sizes: Vec<usize> = fds
            .into_iter()
            .map(|fd| SharedMem::from_fd(fd).expect("map").len())
            .collect();
        assert_eq!(sizes, [4096, 8192], "order preserved");

        let too_many = vec![m1.as_fd(); SCM_MAX_FD + 1];
        assert_eq!(
            a.send(b"x", &too_many).expect_err("limit").kind(),
            io::ErrorKind::InvalidInput
        );
        let long = "x".repeat(200);
        assert!(SeqpacketConn::connect(&long).is_err());
    }
}
