//! Real TCP sockets for the devmem socket API: socket, bind, listen, accept, connect,
//! sendmsg/recvmsg with raw control-message bytes (devmem cmsgs, MSG_ZEROCOPY error-queue
//! notifications), raw setsockopt/getsockopt, poll, shutdown, close.
//!
//! Descriptors are plain `i32`s because the emulated world hands out fds the same way and
//! the caller (`devmem::os`) keeps one API over both. Each wrapper is one syscall.
//! iovecs are `(base, len)` pairs of raw addresses: for devmem TX `base` is an offset into
//! the dma-buf that the kernel never dereferences, so no Rust slice can describe it.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::sys::{cvt, cvt_size};

/// One raw iovec: `iov_base` (an address, or a dma-buf offset for devmem TX) and `iov_len`.
pub type RawIov = (u64, usize);

fn to_sockaddr(addr: &SocketAddr) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let len = match addr {
        SocketAddr::V4(a) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: a.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(a.ip().octets()),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            unsafe { std::ptr::write((&raw mut ss).cast::<libc::sockaddr_in>(), sin) };
            size_of::<libc::sockaddr_in>()
        }
        SocketAddr::V6(a) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: a.port().to_be(),
                sin6_flowinfo: a.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: a.ip().octets(),
                },
                sin6_scope_id: a.scope_id(),
            };
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            unsafe { std::ptr::write((&raw mut ss).cast::<libc::sockaddr_in6>(), sin6) };
            size_of::<libc::sockaddr_in6>()
        }
    };
    (ss, len as libc::socklen_t)
}

fn from_sockaddr(ss: &libc::sockaddr_storage) -> io::Result<SocketAddr> {
    match i32::from(ss.ss_family) {
        libc::AF_INET => {
            // SAFETY: the kernel wrote a sockaddr_in (family says so) into the storage.
            let sin: libc::sockaddr_in =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Ok(SocketAddr::V4(SocketAddrV4::new(
                Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()),
                u16::from_be(sin.sin_port),
            )))
        }
        libc::AF_INET6 => {
            // SAFETY: the kernel wrote a sockaddr_in6 (family says so) into the storage.
            let sin6: libc::sockaddr_in6 =
                unsafe { std::ptr::read((ss as *const libc::sockaddr_storage).cast()) };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                u16::from_be(sin6.sin6_port),
                sin6.sin6_flowinfo,
                sin6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

/// `socket(family, ty, 0)`.
pub fn socket(family: i32, ty: i32) -> io::Result<i32> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::socket(family, ty, 0) })
}

/// `bind(fd, addr)`.
pub fn bind(fd: i32, addr: &SocketAddr) -> io::Result<()> {
    let (ss, len) = to_sockaddr(addr);
    // SAFETY: `ss` is a valid sockaddr of `len` bytes.
    cvt(unsafe { libc::bind(fd, (&raw const ss).cast(), len) })?;
    Ok(())
}

/// `listen(fd, backlog)`.
pub fn listen(fd: i32, backlog: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::listen(fd, backlog) })?;
    Ok(())
}

/// `accept(fd)`: the new fd and the peer.
pub fn accept(fd: i32) -> io::Result<(i32, SocketAddr)> {
    // SAFETY: sockaddr_storage is plain old data.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss`/`len` describe a writable buffer of the size passed.
    let nfd = cvt(unsafe { libc::accept(fd, (&raw mut ss).cast(), &mut len) })?;
    Ok((nfd, from_sockaddr(&ss)?))
}

/// `connect(fd, addr)`.
pub fn connect(fd: i32, addr: &SocketAddr) -> io::Result<()> {
    let (ss, len) = to_sockaddr(addr);
    // SAFETY: `ss` is a valid sockaddr of `len` bytes.
    cvt(unsafe { libc::connect(fd, (&raw const ss).cast(), len) })?;
    Ok(())
}

/// `getsockname(fd)` (`peer == false`) or `getpeername(fd)`.
pub fn getname(fd: i32, peer: bool) -> io::Result<SocketAddr> {
    // SAFETY: sockaddr_storage is plain old data.
    let mut ss: libc::sockaddr_storage = unsafe { zeroed() };
    let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss`/`len` describe a writable buffer of the size passed.
    cvt(unsafe {
        if peer {
            libc::getpeername(fd, (&raw mut ss).cast(), &mut len)
        } else {
            libc::getsockname(fd, (&raw mut ss).cast(), &mut len)
        }
    })?;
    from_sockaddr(&ss)
}

/// `setsockopt(fd, level, name, optval)`; returns the syscall's (non-negative) value, which
/// SO_DEVMEM_DONTNEED uses for the number of tokens freed.
pub fn setsockopt(fd: i32, level: i32, name: i32, optval: &[u8]) -> io::Result<i32> {
    // SAFETY: `optval` is a live buffer of the length passed.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            optval.as_ptr().cast(),
            optval.len() as libc::socklen_t,
        )
    })
}

/// `getsockopt(fd, level, name)` into a buffer of `cap` bytes; the bytes written.
pub fn getsockopt(fd: i32, level: i32, name: i32, cap: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; cap];
    let mut len = cap as libc::socklen_t;
    // SAFETY: `buf` is writable for `len` bytes; the kernel updates `len`.
    cvt(unsafe { libc::getsockopt(fd, level, name, buf.as_mut_ptr().cast(), &mut len) })?;
    buf.truncate(len as usize);
    Ok(buf)
}

/// `sendmsg(fd, {iov, control}, flags)`.
///
/// # Safety
///
/// Every iovec's `base..base+len` must be readable memory of this process, unless the call
/// is a devmem send (SCM_DEVMEM_DMABUF with MSG_ZEROCOPY), where `base` is a dma-buf
/// offset the kernel does not dereference.
pub unsafe fn sendmsg_raw(
    fd: i32,
    iov: &[RawIov],
    control: &[u8],
    flags: u32,
) -> io::Result<usize> {
    let iovs: Vec<libc::iovec> = iov
        .iter()
        .map(|&(base, len)| libc::iovec {
            iov_base: base as usize as *mut libc::c_void,
            iov_len: len,
        })
        .collect();
    // SAFETY: msghdr is plain old data; zero is "no name, no control".
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = iovs.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = iovs.len();
    if !control.is_empty() {
        msg.msg_control = control.as_ptr() as *mut libc::c_void;
        msg.msg_controllen = control.len();
    }
    // SAFETY: the msghdr points at live iovec and control arrays; the caller vouches for
    // the iovec contents.
    cvt_size(unsafe { libc::sendmsg(fd, &msg, flags as libc::c_int) })
}

/// `sendmsg` of readable byte slices (no raw addresses involved).
pub fn sendmsg(fd: i32, bufs: &[&[u8]], control: &[u8], flags: u32) -> io::Result<usize> {
    let iov: Vec<RawIov> = bufs.iter().map(|b| (b.as_ptr() as u64, b.len())).collect();
    // SAFETY: every iovec is a live slice of this process.
    unsafe { sendmsg_raw(fd, &iov, control, flags) }
}

/// What [`recvmsg`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Return value.
    pub len: usize,
    /// Bytes written into the data buffer (`len` of them, at most the buffer size).
    pub data: Vec<u8>,
    /// Control bytes (`msg_controllen` after the call).
    pub control: Vec<u8>,
    /// `msg_flags`.
    pub flags: u32,
}

/// `recvmsg(fd, {len-byte buffer, controllen-byte control}, flags)`.
pub fn recvmsg(fd: i32, len: usize, controllen: usize, flags: u32) -> io::Result<Received> {
    let mut data = vec![0u8; len];
    let mut control = vec![0u8; controllen];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: len,
    };
    // SAFETY: msghdr is plain old data.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if controllen > 0 {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = controllen;
    }
    // SAFETY: the msghdr points at live, writable buffers of the sizes given.
    let n = cvt_size(unsafe { libc::recvmsg(fd, &mut msg, flags as libc::c_int) })?;
    data.truncate(n.min(len));
    control.truncate(msg.msg_controllen.min(controllen));
    Ok(Received {
        len: n,
        data,
        control,
        flags: msg.msg_flags as u32,
    })
}

/// `poll(fds, timeout_ms)`: fills each `revents`, returns how many are ready.
pub fn poll(fds: &mut [(i32, i16, i16)], timeout_ms: i32) -> io::Result<usize> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&(fd, events, _)| libc::pollfd {
            fd,
            events,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` is a live array of `p.len()` pollfds.
    let n = cvt(unsafe { libc::poll(p.as_mut_ptr(), p.len() as libc::nfds_t, timeout_ms) })?;
    for (f, q) in fds.iter_mut().zip(&p) {
        f.2 = q.revents;
    }
    Ok(n as usize)
}

/// `shutdown(fd, how)`.
pub fn shutdown(fd: i32, how: i32) -> io::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    cvt(unsafe { libc::shutdown(fd, how) })?;
    Ok(())
}

/// `close(fd)`.
pub fn close(fd: i32) -> io::Result<()> {
    // SAFETY: the caller gives up `fd`; closing an unknown fd is EBADF, not UB.
    cvt(unsafe { libc::close(fd) })?;
    Ok(())
}

/// One iovec of [`sendmsg_iov`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoSlice<'a> {
    /// Readable bytes of this process.
    Buf(&'a [u8]),
    /// A devmem TX iovec: `base` is an offset into the bound dma-buf.
    DmabufOffset {
        /// `iov_base`.
        base: u64,
        /// `iov_len`.
        len: usize,
    },
}

/// `SOL_SOCKET` / `SCM_DEVMEM_DMABUF` (include/uapi/asm-generic/socket.h).
const SCM_DEVMEM_DMABUF: i32 = 79;
/// `MSG_ZEROCOPY`.
const MSG_ZEROCOPY: u32 = 0x400_0000;

fn has_devmem_cmsg(control: &[u8]) -> bool {
    let mut off = 0;
    while off + 16 <= control.len() {
        let mut l = [0u8; 8];
        l.copy_from_slice(&control[off..off + 8]);
        let len = u64::from_ne_bytes(l) as usize;
        let level = i32::from_ne_bytes([
            control[off + 8],
            control[off + 9],
            control[off + 10],
            control[off + 11],
        ]);
        let ty = i32::from_ne_bytes([
            control[off + 12],
            control[off + 13],
            control[off + 14],
            control[off + 15],
        ]);
        if level == libc::SOL_SOCKET && ty == SCM_DEVMEM_DMABUF {
            return true;
        }
        if len < 16 {
            return false;
        }
        off += (len + 7) & !7;
    }
    false
}

/// `sendmsg` with readable slices and/or devmem dma-buf offsets. Offsets are only passed
/// to the kernel for a devmem send (an SCM_DEVMEM_DMABUF cmsg and MSG_ZEROCOPY), where
/// the kernel interprets rather than dereferences them; otherwise they are refused with
/// EFAULT (no cmsg) or EINVAL (cmsg without MSG_ZEROCOPY) as the kernel would answer.
pub fn sendmsg_iov(fd: i32, iov: &[IoSlice<'_>], control: &[u8], flags: u32) -> io::Result<usize> {
    let raw_offsets = iov
        .iter()
        .any(|v| matches!(v, IoSlice::DmabufOffset { .. }));
    if raw_offsets {
        if !has_devmem_cmsg(control) {
            return Err(io::Error::from_raw_os_error(libc::EFAULT));
        }
        if flags & MSG_ZEROCOPY == 0 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
    }
    let raw: Vec<RawIov> = iov
        .iter()
        .map(|v| match *v {
            IoSlice::Buf(b) => (b.as_ptr() as u64, b.len()),
            IoSlice::DmabufOffset { base, len } => (base, len),
        })
        .collect();
    // SAFETY: `Buf` entries are live slices; `DmabufOffset` entries only reach the kernel
    // on a devmem send, where they are dma-buf offsets it never dereferences.
    unsafe { sendmsg_raw(fd, &raw, control, flags) }
}

/// `if_nametoindex(3)`: the interface index of `name` in this process's netns, `None`
/// when there is no such interface (or the name cannot be a C string).
pub fn if_nametoindex(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_tcp_roundtrip_with_cmsgs_and_poll() {
        let l = socket(libc::AF_INET6, libc::SOCK_STREAM).unwrap();
        setsockopt(l, libc::SOL_SOCKET, libc::SO_REUSEADDR, &1i32.to_ne_bytes()).unwrap();
        bind(l, &"[::1]:0".parse().unwrap()).unwrap();
        listen(l, 1).unwrap();
        let la = getname(l, false).unwrap();
        let c = socket(libc::AF_INET6, libc::SOCK_STREAM).unwrap();
        connect(c, &la).unwrap();
        let (a, peer) = accept(l).unwrap();
        assert_eq!(peer, getname(c, false).unwrap());
        assert_eq!(sendmsg(c, &[b"ab", b"cd"], &[], 0).unwrap(), 4);
        let mut p = [(a, libc::POLLIN, 0)];
        assert_eq!(poll(&mut p, 1000).unwrap(), 1);
        assert_eq!(p[0].2 & libc::POLLIN, libc::POLLIN);
        let r = recvmsg(a, 16, 0, 0).unwrap();
        assert_eq!(r.data, b"abcd");
        // A dma-buf offset without a devmem cmsg is refused before the syscall.
        let e = sendmsg_iov(c, &[IoSlice::DmabufOffset { base: 0, len: 4 }], &[], 0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EFAULT));
        let v = getsockopt(c, libc::SOL_SOCKET, libc::SO_REUSEADDR, 4).unwrap();
        assert_eq!(v, 0i32.to_ne_bytes());
        for fd in [a, c, l] {
            close(fd).unwrap();
        }
    }

    #[test]
    fn if_nametoindex_lo_and_missing() {
        assert!(if_nametoindex("lo").is_some());
        assert_eq!(if_nametoindex("no-such-dev0"), None);
        assert_eq!(if_nametoindex("a\0b"), None);
    }
}
