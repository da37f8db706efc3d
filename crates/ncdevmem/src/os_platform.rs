//! [`Sys`](crate::platform::Sys) for [`devmem::os::Os`]: ncdevmem runs as an emulated
//! process (`Os::Emulated(proc)`) or as this process on the real kernel (`Os::Linux`).
//!
//! - Sockets map one to one onto `Os`'s calls. The non-blocking ones (`socket`, `bind`,
//!   `listen`, `setsockopt`, `close`) complete at their first poll in both worlds, so
//!   they are driven with [`devmem::os::block_on`].
//! - Generic netlink: a `KernelTransport` on Linux; on the emulator devmem's
//!   [`EmulatedTransport`] opened by the process itself ([`emulated_netlink`]), so
//!   requests run in its netns with its credentials.
//! - The dma-buf: a udmabuf export on Linux; on the emulator a memfd which the process
//!   "exports" by installing it in its emulated fd table under the memfd's own number
//!   ([`export_dmabuf`]), and which bind-rx / bind-tx pass alongside the request, so
//!   the fd number ncdevmem writes names the same memory in both fd tables.
//! - Time: the virtual clock on the emulator, the wall clock on Linux.

use std::io;
use std::net::{SocketAddr, SocketAddrV6};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::rc::Rc;
use std::time::Duration;

use devmem::dmabuf::Dmabuf;
use devmem::emulator::EmulatedTransport;
use devmem::os::{Iov, Os, PollFd, block_on};
use devmem::transport::KernelTransport;
use simkernel::Proc;
use simkernel::dma::DmaBuf;
use simkernel::process::File;
use uapi::inet::AF_INET6;
use uapi::netlink::NETLINK_GENERIC;
use uapi::socket::SOCK_STREAM;

use crate::platform::{Platform, RecvMsg, Sockets, Transport};

/// dma-buf ids of buffers this module exports (kept apart from the kernel's own
/// counter, which starts at 1).
const EXPORT_ID_BASE: u64 = 1 << 40;

/// A netlink socket of `protocol` opened by `proc` itself, so requests run in its
/// netns with its credentials: [`EmulatedTransport`] (EXT_ACK and CAP_ACK on, as YNL
/// opens it; dropping it closes the socket and unbinds what it bound).
///
/// A bind-rx / bind-tx sent with the memfd alongside gets
/// [`simkernel::Kernel::netlink_send_with_fds`]' semantics: the memfd becomes a dma-buf
/// under the number the request names, which is the memfd's own number here (ncdevmem
/// writes `fd.as_raw_fd()`), so it lands where [`alloc_emulated`] reserved it.
pub fn emulated_netlink(proc: &Proc, protocol: i32) -> io::Result<EmulatedTransport> {
    EmulatedTransport::open(proc.kernel().clone(), proc.pid(), protocol)
}

/// The emulated `UDMABUF_CREATE`: installs memfd `fd` in `proc`'s fd table as a
/// dma-buf under the memfd's own number, so the number ncdevmem writes into
/// `NETDEV_A_DMABUF_FD` names the same memory in both fd tables. Already exported: a
/// no-op. The number taken by another file (a socket): `EBADF`.
pub fn export_dmabuf(proc: &Proc, fd: BorrowedFd<'_>) -> io::Result<()> {
    let n = fd.as_raw_fd();
    let mut k = proc.kernel().borrow_mut();
    let p = k
        .process_mut(proc.pid())
        .ok_or_else(|| io::Error::from_raw_os_error(uapi::errno::ESRCH))?;
    match p.fds.get(&n) {
        Some(File::DmaBuf(_)) => return Ok(()),
        Some(_) => return Err(io::Error::from_raw_os_error(uapi::errno::EBADF)),
        None => {}
    }
    let mem = linux::shm::SharedMem::from_fd(fd.try_clone_to_owned()?)?;
    let size = mem.len();
    let buf = Rc::new(DmaBuf::new(
        EXPORT_ID_BASE + n as u64,
        Rc::new(mem),
        size,
        0,
        "udmabuf",
    ));
    p.fds.insert(n, File::DmaBuf(buf));
    Ok(())
}

/// A memfd dma-buf for `proc` whose host fd number is free in `proc`'s emulated fd
/// table, exported there at once (before the process opens sockets that could take
/// the number).
fn alloc_emulated(proc: &Proc, size: usize) -> io::Result<Dmabuf> {
    let mut spare = Vec::new();
    for _ in 0..64 {
        let d = Dmabuf::memfd(size)?;
        let n = d.fd().as_raw_fd();
        let free = proc
            .kernel()
            .borrow()
            .process(proc.pid())
            .is_some_and(|p| !p.fds.contains_key(&n));
        if free {
            export_dmabuf(proc, d.fd())?;
            return Ok(d);
        }
        spare.push(d);
    }
    Err(io::Error::from_raw_os_error(uapi::errno::EMFILE))
}

impl Platform for Os {
    fn genl(&self) -> io::Result<Transport> {
        Ok(Transport(match self {
            Os::Emulated(p) => Box::new(emulated_netlink(p, NETLINK_GENERIC)?),
            Os::Linux => Box::new(KernelTransport::open(NETLINK_GENERIC)?),
        }))
    }

    fn if_nametoindex(&self, name: &str) -> u32 {
        match self {
            Os::Emulated(p) => {
                let k = p.kernel().borrow();
                let Some(ns) = k.process(p.pid()).map(|pr| pr.netns) else {
                    return 0;
                };
                k.dev_get_by_name(ns, name)
                    .map_or(0, |d| k.device(d).ifindex)
            }
            Os::Linux => linux::inet::if_nametoindex(name).unwrap_or(0),
        }
    }

    fn alloc_dmabuf(&self, size: usize) -> io::Result<Dmabuf> {
        match self {
            Os::Emulated(p) => alloc_emulated(p, size),
            Os::Linux => Dmabuf::udmabuf(size),
        }
    }
}

fn v6(a: SocketAddr) -> io::Result<SocketAddrV6> {
    match a {
        SocketAddr::V6(a) => Ok(a),
        SocketAddr::V4(_) => Err(io::Error::from_raw_os_error(uapi::errno::EAFNOSUPPORT)),
    }
}

impl Sockets for Os {
    fn socket_inet6_stream(&self) -> io::Result<i32> {
        block_on(self.socket(i32::from(AF_INET6), SOCK_STREAM))
    }

    fn setsockopt(&self, fd: i32, level: i32, name: i32, val: &[u8]) -> io::Result<i32> {
        block_on(Os::setsockopt(self, fd, level, name, val))
    }

    fn bind(&self, fd: i32, addr: SocketAddrV6) -> io::Result<()> {
        block_on(Os::bind(self, fd, addr.into()))
    }

    fn listen(&self, fd: i32, backlog: i32) -> io::Result<()> {
        block_on(Os::listen(self, fd, backlog))
    }

    async fn accept(&self, fd: i32) -> io::Result<(i32, SocketAddrV6)> {
        let (nfd, peer) = Os::accept(self, fd).await?;
        Ok((nfd, v6(peer)?))
    }

    async fn connect(&self, fd: i32, addr: SocketAddrV6) -> io::Result<()> {
        Os::connect(self, fd, addr.into()).await
    }

    async fn recvmsg(
        &self,
        fd: i32,
        iov_len: usize,
        ctrl_len: usize,
        flags: u32,
    ) -> io::Result<RecvMsg> {
        let r = Os::recvmsg(self, fd, iov_len, ctrl_len, flags).await?;
        Ok(RecvMsg {
            len: r.len,
            data: r.data,
            control: r.control,
            flags: r.flags,
        })
    }

    async fn sendmsg_iov(
        &self,
        fd: i32,
        iov: &[(u64, usize)],
        control: &[u8],
        flags: u32,
    ) -> io::Result<usize> {
        let v: Vec<Iov<'_>> = iov
            .iter()
            .map(|&(base, len)| Iov::Addr { base, len })
            .collect();
        Os::sendmsg(self, fd, &v, control, flags).await
    }

    async fn poll(&self, fd: i32, events: i16, timeout_ms: i32) -> io::Result<i16> {
        let mut fds = [PollFd {
            fd,
            events,
            revents: 0,
        }];
        let t = u64::try_from(timeout_ms).ok().map(Duration::from_millis);
        Os::poll(self, &mut fds, t).await?;
        Ok(fds[0].revents)
    }

    fn close(&self, fd: i32) -> io::Result<()> {
        block_on(Os::close(self, fd))
    }

    fn now_ms(&self) -> u64 {
        match self {
            Os::Emulated(p) => p.kernel().borrow().clock().as_millis(),
            Os::Linux => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
        }
    }
}
