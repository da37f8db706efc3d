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
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

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

impl AsFd for Tap {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Block until one of `taps` has a frame queued or `timeout` passes (`poll(2)` on the TAP
/// fds; EINTR counts as a timeout). Returns whether any is readable. This is how a
/// wall-clock driver sleeps until the real kernel sends something or the emulator's next
/// timer is due, instead of spinning.
pub fn wait_readable(taps: &[&Tap], timeout: Duration) -> io::Result<bool> {
    let mut fds: Vec<libc::pollfd> = taps
        .iter()
        .map(|t| libc::pollfd {
            fd: t.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // Round up so a sub-millisecond wait still sleeps instead of returning at once.
    let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fds` is a live array of `fds.len()` pollfd entries.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if r < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(false);
        }
        return Err(e);
    }
    Ok(fds.iter().any(|p| p.revents & libc::POLLIN != 0))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `wait_readable` sleeps for its timeout when nothing is queued, and wakes when the
    /// real kernel transmits on the TAP (an ARP request for an on-link address).
    #[test]
    fn wait_readable_times_out_then_wakes_on_a_frame() {
        let r = std::thread::spawn(|| -> Result<(), String> {
            if let Err(e) = crate::netns::unshare_net() {
                return Err(format!("SKIP: unshare(CLONE_NEWNET): {e}"));
            }
            let tap = match Tap::open("nkwait%d") {
                Ok(t) => t,
                Err(e) => return Err(format!("SKIP: /dev/net/tun: {e}")),
            };
            let t0 = std::time::Instant::now();
            let got =
                wait_readable(&[&tap], Duration::from_millis(30)).map_err(|e| e.to_string())?;
            assert!(!got, "a down TAP queues nothing");
            assert!(
                t0.elapsed() >= Duration::from_millis(30),
                "{:?}",
                t0.elapsed()
            );
            set_link_up(tap.name()).map_err(|e| e.to_string())?;
            set_ipv4(tap.name(), Ipv4Addr::new(198, 18, 7, 1), 24).map_err(|e| e.to_string())?;
            // A datagram to an on-link neighbour makes the kernel ARP for it on the TAP.
            let u = std::net::UdpSocket::bind("198.18.7.1:0").map_err(|e| e.to_string())?;
            u.send_to(b"x", "198.18.7.9:9").map_err(|e| e.to_string())?;
            let t0 = std::time::Instant::now();
            let mut buf = [0u8; 2048];
            loop {
                assert!(t0.elapsed() < Duration::from_secs(3), "no ARP request");
                if !wait_readable(&[&tap], Duration::from_secs(1)).map_err(|e| e.to_string())? {
                    continue;
                }
                let Some(n) = tap.recv(&mut buf).map_err(|e| e.to_string())? else {
                    continue;
                };
                // EtherType ARP, opcode request, target 198.18.7.9.
                if n >= 42 && buf[12..14] == [0x08, 0x06] {
                    assert_eq!(buf[20..22], [0, 1]);
                    assert_eq!(buf[38..42], [198, 18, 7, 9]);
                    return Ok(());
                }
            }
        })
        .join()
        .map_err(|_| "thread panicked".to_string())
        .and_then(|r| r);
        match r {
            Ok(()) => {}
            Err(m) if m.starts_with("SKIP") => println!("{m}"),
            Err(m) => panic!("{m}"),
        }
    }
}
