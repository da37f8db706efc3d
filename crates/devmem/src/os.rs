//! The process-side socket API that ncdevmem and the socat-like peers use, in both worlds.
//!
//! [`Os::Emulated`] issues the calls as an emulated process of the simkernel (blocking ones
//! suspend the task on the virtual clock); [`Os::Linux`] makes the real syscalls through the
//! `linux` crate (they complete before the future is first polled to completion). Every
//! method is async so one body runs against either (turmoil's io_uring-suite idea).
//!
//! Shapes follow the syscalls: fds are `i32`, addresses are [`SocketAddr`], control
//! messages are raw bytes in the kernel's `cmsghdr` layout (build and parse them with
//! `uapi::socket`'s `CmsgHdr`, `cmsg_len`, `cmsg_space`), and errors are `io::Error`s with
//! the kernel's errno. iovecs are [`Iov`]s: readable slices, or `(base, len)` dma-buf
//! offsets for devmem TX.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

pub use simkernel::net::core::datagram::UserIov as Iov;
use simkernel::sim::Proc;

/// Which world the process lives in.
#[derive(Debug, Clone)]
pub enum Os {
    /// An emulated process on a simkernel.
    Emulated(Proc),
    /// This process, on the running Linux kernel.
    Linux,
}

/// What `recvmsg` returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecvMsg {
    /// The return value.
    pub len: usize,
    /// Bytes copied into the data buffer.
    pub data: Vec<u8>,
    /// Control messages (kernel layout).
    pub control: Vec<u8>,
    /// `msg_flags`.
    pub flags: u32,
}

/// One entry of [`Os::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFd {
    /// The fd.
    pub fd: i32,
    /// Requested events.
    pub events: i16,
    /// Returned events.
    pub revents: i16,
}

fn kerr(e: simkernel::KernelError) -> io::Error {
    io::Error::from_raw_os_error(e.errno)
}

impl Os {
    /// `socket(family, type, 0)`.
    pub async fn socket(&self, family: i32, ty: i32) -> io::Result<i32> {
        match self {
            Os::Emulated(p) => p.socket(family, ty).map_err(kerr),
            Os::Linux => linux::inet::socket(family, ty),
        }
    }

    /// `bind(fd, addr)`.
    pub async fn bind(&self, fd: i32, addr: SocketAddr) -> io::Result<()> {
        match self {
            Os::Emulated(p) => p.bind(fd, addr).map_err(kerr),
            Os::Linux => linux::inet::bind(fd, &addr),
        }
    }

    /// `listen(fd, backlog)`.
    pub async fn listen(&self, fd: i32, backlog: i32) -> io::Result<()> {
        match self {
            Os::Emulated(p) => p.listen(fd, backlog).map_err(kerr),
            Os::Linux => linux::inet::listen(fd, backlog),
        }
    }

    /// `accept(fd)`: the new fd and the peer address.
    pub async fn accept(&self, fd: i32) -> io::Result<(i32, SocketAddr)> {
        match self {
            Os::Emulated(p) => p.accept(fd).await.map_err(kerr),
            Os::Linux => linux::inet::accept(fd),
        }
    }

    /// `connect(fd, addr)`.
    pub async fn connect(&self, fd: i32, addr: SocketAddr) -> io::Result<()> {
        match self {
            Os::Emulated(p) => p.connect(fd, addr).await.map_err(kerr),
            Os::Linux => linux::inet::connect(fd, &addr),
        }
    }

    /// `getsockname(fd)`.
    pub async fn getsockname(&self, fd: i32) -> io::Result<SocketAddr> {
        match self {
            Os::Emulated(p) => p.getsockname(fd).map_err(kerr),
            Os::Linux => linux::inet::getname(fd, false),
        }
    }

    /// `getpeername(fd)`.
    pub async fn getpeername(&self, fd: i32) -> io::Result<SocketAddr> {
        match self {
            Os::Emulated(p) => p.getpeername(fd).map_err(kerr),
            Os::Linux => linux::inet::getname(fd, true),
        }
    }

    /// `setsockopt(fd, level, name, optval)`: the syscall's value (SO_DEVMEM_DONTNEED
    /// returns the number of tokens freed).
    pub async fn setsockopt(
        &self,
        fd: i32,
        level: i32,
        name: i32,
        optval: &[u8],
    ) -> io::Result<i32> {
        match self {
            Os::Emulated(p) => p.setsockopt(fd, level, name, optval).map_err(kerr),
            Os::Linux => linux::inet::setsockopt(fd, level, name, optval),
        }
    }

    /// `setsockopt` with an `int`.
    pub async fn setsockopt_int(&self, fd: i32, level: i32, name: i32, v: i32) -> io::Result<i32> {
        self.setsockopt(fd, level, name, &v.to_ne_bytes()).await
    }

    /// `getsockopt(fd, level, name)` with a buffer of `cap` bytes.
    pub async fn getsockopt(
        &self,
        fd: i32,
        level: i32,
        name: i32,
        cap: usize,
    ) -> io::Result<Vec<u8>> {
        match self {
            Os::Emulated(p) => {
                let mut v = p.getsockopt(fd, level, name).map_err(kerr)?;
                v.truncate(cap);
                Ok(v)
            }
            Os::Linux => linux::inet::getsockopt(fd, level, name, cap),
        }
    }

    /// `sendmsg(fd, iov, control, flags)`.
    pub async fn sendmsg(
        &self,
        fd: i32,
        iov: &[Iov<'_>],
        control: &[u8],
        flags: u32,
    ) -> io::Result<usize> {
        match self {
            Os::Emulated(p) => p.sendmsg(fd, iov, control, flags).await.map_err(kerr),
            Os::Linux => {
                let v: Vec<linux::inet::IoSlice> = iov
                    .iter()
                    .map(|i| match *i {
                        Iov::Buf(b) => linux::inet::IoSlice::Buf(b),
                        Iov::Addr { base, len } => linux::inet::IoSlice::DmabufOffset { base, len },
                    })
                    .collect();
                linux::inet::sendmsg_iov(fd, &v, control, flags)
            }
        }
    }

    /// `send(fd, buf, flags)`.
    pub async fn send(&self, fd: i32, buf: &[u8], flags: u32) -> io::Result<usize> {
        self.sendmsg(fd, &[Iov::Buf(buf)], &[], flags).await
    }

    /// `recvmsg(fd, {len bytes, controllen bytes}, flags)`.
    pub async fn recvmsg(
        &self,
        fd: i32,
        len: usize,
        controllen: usize,
        flags: u32,
    ) -> io::Result<RecvMsg> {
        match self {
            Os::Emulated(p) => {
                let r = p.recvmsg(fd, len, controllen, flags).await.map_err(kerr)?;
                Ok(RecvMsg {
                    len: r.len,
                    data: r.data,
                    control: r.control,
                    flags: r.flags,
                })
            }
            Os::Linux => {
                let r = linux::inet::recvmsg(fd, len, controllen, flags)?;
                Ok(RecvMsg {
                    len: r.len,
                    data: r.data,
                    control: r.control,
                    flags: r.flags,
                })
            }
        }
    }

    /// `recv(fd, len, flags)`: the bytes.
    pub async fn recv(&self, fd: i32, len: usize, flags: u32) -> io::Result<Vec<u8>> {
        Ok(self.recvmsg(fd, len, 0, flags).await?.data)
    }

    /// `poll(fds, timeout)` (`None` waits forever): the number of ready fds.
    pub async fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
        match self {
            Os::Emulated(p) => {
                let mut v: Vec<simkernel::sim::PollFd> = fds
                    .iter()
                    .map(|f| simkernel::sim::PollFd {
                        fd: f.fd,
                        events: f.events,
                        revents: 0,
                    })
                    .collect();
                let t =
                    timeout.map(|d| simkernel::time::Duration::from_micros(d.as_micros() as u64));
                let n = p.poll(&mut v, t).await.map_err(kerr)?;
                for (f, r) in fds.iter_mut().zip(&v) {
                    f.revents = r.revents;
                }
                Ok(n)
            }
            Os::Linux => {
                let mut v: Vec<(i32, i16, i16)> = fds.iter().map(|f| (f.fd, f.events, 0)).collect();
                let ms = timeout.map_or(-1, |d| i32::try_from(d.as_millis()).unwrap_or(i32::MAX));
                let n = linux::inet::poll(&mut v, ms)?;
                for (f, r) in fds.iter_mut().zip(&v) {
                    f.revents = r.2;
                }
                Ok(n)
            }
        }
    }

    /// `shutdown(fd, how)`.
    pub async fn shutdown(&self, fd: i32, how: i32) -> io::Result<()> {
        match self {
            Os::Emulated(p) => p.shutdown(fd, how).map_err(kerr),
            Os::Linux => linux::inet::shutdown(fd, how),
        }
    }

    /// `close(fd)`.
    pub async fn close(&self, fd: i32) -> io::Result<()> {
        match self {
            Os::Emulated(p) => p.close(fd).map_err(kerr),
            Os::Linux => linux::inet::close(fd),
        }
    }

    /// Sleep (virtual time when emulated).
    pub async fn sleep(&self, d: Duration) {
        match self {
            Os::Emulated(p) => {
                p.sleep(simkernel::time::Duration::from_micros(d.as_micros() as u64))
                    .await
            }
            Os::Linux => std::thread::sleep(d),
        }
    }
}

/// Drive a future of the Linux arm to completion on this thread (its calls are blocking
/// syscalls, so it is ready at the first poll unless it awaits something else).
pub fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}
