//! TAP devices: an emulated NIC's cable into the real kernel.
//!
//! `open("/dev/net/tun")` + `TUNSETIFF` with `IFF_TAP | IFF_NO_PI` creates (or attaches
//! to) a TAP interface in the calling thread's network namespace; each `write` is one
//! Ethernet frame the real kernel receives on it, each `read` one frame it transmitted.
//! The fd is non-blocking: [`Tap::recv`] returns `None` when nothing is queued.
//! [`set_link_up`] and [`set_ipv4`] are the `ip link set up` / `ip addr add` a test needs
//! for the real side, through the classic `SIOCSIF*` ioctls.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::sys::{cvt, cvt_size};

/// An open TAP interface.
pub struct Tap {
    fd: OwnedFd,
    name: String,
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tap")
            .field("name", &self.name)
            .field("fd", &self.fd.as_raw_fd())
            .finish()
    }
}

/// An `ifreq` naming `name` (EINVAL if it does not fit `IFNAMSIZ - 1` or has a NUL).
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    let c = CString::new(name).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let bytes = c.as_bytes_with_nul();
    if bytes.len() > libc::IFNAMSIZ {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut r: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in r.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    Ok(r)
}

/// An `AF_INET` datagram socket, the handle `SIOCSIF*` ioctls go through.
fn ctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain syscall; the returned fd is owned below.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

impl Tap {
    /// Create or attach TAP interface `name` (e.g. `nktap%d`) in this thread's netns.
    pub fn open(name: &str) -> io::Result<Tap> {
        let path = c"/dev/net/tun";
        // SAFETY: a NUL-terminated path and flags; the fd is owned below.
        let fd = cvt(unsafe {
            libc::open(
                path.as_ptr(),
                libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
            )
        })?;
        // SAFETY: `fd` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut req = ifreq(name)?;
        req.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: TUNSETIFF reads and writes the ifreq we pass, which lives across the call.
        cvt(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TUNSETIFF, &mut req) })?;
        let len = req
            .ifr_name
            .iter()
            .position(|&c| c == 0)
            .unwrap_or(req.ifr_name.len());
        let name = req.ifr_name[..len]
            .iter()
            .map(|&c| c as u8 as char)
            .collect();
        Ok(Tap { fd, name })
    }

    /// The interface name the kernel gave.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// One frame the real kernel sent, or `None` when none is queued.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: `buf` is valid for `buf.len()` bytes of writes.
        let r = cvt_size(unsafe {
            libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len())
        });
        match r {
            Ok(n) => Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Hand one frame to the real kernel (received on the TAP interface).
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: `frame` is valid for `frame.len()` bytes of reads.
        let n = cvt_size(unsafe {
            libc::write(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len())
        })?;
        if n != frame.len() {
            return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
        }
        Ok(())
    }
}

/// `ip link set NAME up` in this thread's netns.
pub fn set_link_up(name: &str) -> io::Result<()> {
    let s = ctl_socket()?;
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFFLAGS fills the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: the flags member is what SIOCGIFFLAGS just wrote.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    req.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &req) })?;
    Ok(())
}

fn sockaddr_in(a: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(a.octets()),
        },
        sin_zero: [0; 8],
    };
    // SAFETY: sockaddr_in and sockaddr have the same size; the kernel reads it as AF_INET.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// `ip addr add ADDR/PREFIX dev NAME` in this thread's netns.
pub fn set_ipv4(name: &str, addr: Ipv4Addr, prefix: u8) -> io::Result<()> {
    let s = ctl_socket()?;
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_addr = sockaddr_in(addr);
    // SAFETY: SIOCSIFADDR reads the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFADDR, &req) })?;
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix.min(32)))
    };
    req.ifr_ifru.ifru_netmask = sockaddr_in(Ipv4Addr::from(mask));
    // SAFETY: SIOCSIFNETMASK reads the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFNETMASK, &req) })?;
    Ok(())
}
