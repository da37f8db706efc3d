//! The emulated kernel behind the [`NetlinkTransport`] trait: in process
//! ([`EmulatedTransport`]) and over a unix socket ([`UnixServer`], what
//! `nkdevmem serve --netlink-unix PATH` runs; [`crate::transport::UnixTransport`] is
//! its client).
//!
//! Both see exactly the bytes an AF_NETLINK socket with `NETLINK_EXT_ACK` and
//! `NETLINK_CAP_ACK` on would carry; both open one emulated netlink socket of one
//! emulated process per transport / connection, and closing it unbinds what it bound
//! (`netdev_nl_sock_priv_destroy()`).
//!
//! Dma-buf fds: a bind-rx / bind-tx request names its dma-buf by fd number
//! (`NETDEV_A_DMABUF_FD`), in the emulated process's fd table. A client passes the
//! memory (a memfd) with `SCM_RIGHTS` on the same message; the server installs the
//! i-th passed fd as a dma-buf under the number the i-th bind request in the datagram
//! names ([`simkernel::Kernel::netlink_send_with_fds`]). The same request bytes then
//! work unchanged against the real kernel, where the number is the caller's own
//! (udmabuf) fd.

use std::cell::RefCell;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use linux::seqpacket::{SeqpacketConn, SeqpacketListener};
use simkernel::{Cred, Kernel, KernelError, NlSockId, ProcessId};
use uapi::netlink::{NETLINK_CAP_ACK, NETLINK_EXT_ACK};

use crate::transport::NetlinkTransport;

fn kerr(e: KernelError) -> io::Error {
    io::Error::from_raw_os_error(e.errno)
}

/// Opens a netlink socket of `protocol` for `pid` with EXT_ACK and CAP_ACK on.
fn open_sock(k: &mut Kernel, pid: ProcessId, protocol: i32) -> io::Result<NlSockId> {
    let s = k.netlink_socket(pid, protocol).map_err(kerr)?;
    k.netlink_setsockopt(s, NETLINK_EXT_ACK, true)
        .map_err(kerr)?;
    k.netlink_setsockopt(s, NETLINK_CAP_ACK, true)
        .map_err(kerr)?;
    Ok(s)
}

/// An emulated netlink socket in an in-process kernel.
///
/// `recv` never blocks: the emulator answers synchronously inside `send`, so an empty
/// receive queue is `WouldBlock` (a client waiting for more has a bug). Dropping the
/// transport closes the socket.
#[derive(Debug)]
pub struct EmulatedTransport {
    kernel: Rc<RefCell<Kernel>>,
    sock: NlSockId,
    portid: u32,
}

impl EmulatedTransport {
    /// A netlink socket of `protocol` opened by process `pid` of `kernel`.
    pub fn open(kernel: Rc<RefCell<Kernel>>, pid: ProcessId, protocol: i32) -> io::Result<Self> {
        let (sock, portid) = {
            let mut k = kernel.borrow_mut();
            let sock = open_sock(&mut k, pid, protocol)?;
            let portid = k.netlink_sock(sock).map_or(0, |s| s.portid);
            (sock, portid)
        };
        Ok(Self {
            kernel,
            sock,
            portid,
        })
    }

    /// The emulated socket.
    pub fn sock(&self) -> NlSockId {
        self.sock
    }

    /// The kernel.
    pub fn kernel(&self) -> &Rc<RefCell<Kernel>> {
        &self.kernel
    }
}

impl NetlinkTransport for EmulatedTransport {
    /// `fds` (if any) are installed as dma-bufs under the numbers the request's bind
    /// requests name; with none, the numbers refer to the process's emulated fd table.
    fn send(&mut self, datagram: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        let owned = fds
            .iter()
            .map(|f| f.try_clone_to_owned())
            .collect::<io::Result<Vec<OwnedFd>>>()?;
        self.kernel
            .borrow_mut()
            .netlink_send_with_fds(self.sock, datagram, owned)
            .map_err(kerr)
    }

    fn recv(&mut self) -> io::Result<Vec<u8>> {
        self.kernel
            .borrow_mut()
            .netlink_recv(self.sock)
            .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "no netlink reply queued"))
    }

    fn portid(&self) -> u32 {
        self.portid
    }
}

impl Drop for EmulatedTransport {
    fn drop(&mut self) {
        if let Ok(mut k) = self.kernel.try_borrow_mut() {
            let _ = k.netlink_close(self.sock);
        }
    }
}

/// `nkdevmem serve`: NETLINK_GENERIC over unix `SOCK_SEQPACKET` connections.
///
/// Each accepted connection is one emulated netlink socket of one emulated process
/// (in `netns` with `cred`); a connection that hangs up closes that socket. The loop is
/// single-threaded and polls its non-blocking sockets (1 ms idle sleep), so several
/// clients may be connected at once.
#[derive(Debug)]
pub struct UnixServer {
    listener: SeqpacketListener,
    conns: Vec<(SeqpacketConn, NlSockId)>,
    netns: simkernel::NetNsId,
    cred: Cred,
    protocol: i32,
}

impl UnixServer {
    /// Listens on `path` (which must not exist) for clients of `protocol`, each served
    /// as a process in `netns` with `cred`.
    pub fn bind(
        path: impl AsRef<Path>,
        netns: simkernel::NetNsId,
        cred: Cred,
        protocol: i32,
    ) -> io::Result<Self> {
        let listener = SeqpacketListener::bind(path)?;
        listener.set_nonblocking(true)?;
        Ok(Self {
            listener,
            conns: Vec::new(),
            netns,
            cred,
            protocol,
        })
    }

    /// Connections being served.
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// One pass: accept new clients, handle every pending datagram. Returns whether
    /// anything happened.
    pub fn poll_once(&mut self, k: &mut Kernel) -> io::Result<bool> {
        let mut busy = false;
        loop {
            match self.listener.accept() {
                Ok(c) => {
                    c.set_nonblocking(true)?;
                    let pid = k.process_spawn(self.netns, self.cred);
                    let s = open_sock(k, pid, self.protocol)?;
                    self.conns.push((c, s));
                    busy = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        let mut closed = Vec::new();
        for (i, (c, s)) in self.conns.iter().enumerate() {
            let mut buf = Vec::new();
            loop {
                match c.recv(&mut buf) {
                    Ok((0, _)) => {
                        closed.push(i);
                        break;
                    }
                    Ok((_, fds)) => {
                        busy = true;
                        // A passed fd that is not exportable memory leaves the
                        // named fd closed: the bind's NLMSG_ERROR says EBADF.
                        let _ = k.netlink_send_with_fds(*s, &buf, fds);
                        while let Some(reply) = k.netlink_recv(*s) {
                            c.send(&reply, &[])?;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => {
                        closed.push(i);
                        break;
                    }
                }
            }
        }
        for i in closed.into_iter().rev() {
            let (_, s) = self.conns.remove(i);
            let _ = k.netlink_close(s);
            busy = true;
        }
        Ok(busy)
    }

    /// Serves until `stop` is set.
    pub fn run(&mut self, k: &mut Kernel, stop: &Arc<AtomicBool>) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            if !self.poll_once(k)? {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// The listening socket.
    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }
}
