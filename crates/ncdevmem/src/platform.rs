//! What ncdevmem needs from the world besides sockets: a generic netlink socket, the
//! interface index of a name, a dma-buf, and a shell for the `ethtool` commands it runs.
//!
//! The real kernel and the emulator each provide these (see [`crate::os_platform`]);
//! ncdevmem's logic is written once against them.

use std::io;
use std::os::fd::BorrowedFd;

use devmem::dmabuf::Dmabuf;
use devmem::transport::NetlinkTransport;

/// A boxed netlink transport (either world).
pub struct Transport(pub Box<dyn NetlinkTransport>);

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("portid", &self.0.portid())
            .finish()
    }
}

impl NetlinkTransport for Transport {
    fn send(&mut self, datagram: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.0.send(datagram, fds)
    }

    fn recv(&mut self) -> io::Result<Vec<u8>> {
        self.0.recv()
    }

    fn portid(&self) -> u32 {
        self.0.portid()
    }
}

/// The non-socket services ncdevmem uses.
pub trait Platform {
    /// A fresh `NETLINK_GENERIC` socket (YNL's `ynl_sock_create()`), in the process's
    /// network namespace and with its credentials.
    fn genl(&self) -> io::Result<Transport>;
    /// `if_nametoindex(3)`: 0 when there is no such device.
    fn if_nametoindex(&self, name: &str) -> u32;
    /// The memory provider's allocation: a udmabuf on a real host, a memfd the emulator
    /// takes as a dma-buf.
    fn alloc_dmabuf(&self, size: usize) -> io::Result<Dmabuf>;
}

/// What `popen()` gives back: the exit status and the first line of stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShellOutput {
    /// Exit status (`pclose()`'s, as an exit code).
    pub status: i32,
    /// Standard output.
    pub stdout: String,
}

/// Runs the helper commands ncdevmem shells out to (`ethtool -X`, `ethtool -N`).
pub trait Shell {
    /// Runs `cmd` as `sh -c` would; the command's stderr goes to the caller's stderr.
    fn popen(&mut self, cmd: &str) -> ShellOutput;
}

/// A received message: payload length, payload bytes, control bytes and `msg_flags`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecvMsg {
    /// recvmsg's return value.
    pub len: usize,
    /// Payload (linear) bytes copied into the iov.
    pub data: Vec<u8>,
    /// Control messages, raw, in the kernel's `cmsghdr` layout.
    pub control: Vec<u8>,
    /// `msg_flags` (`MSG_CTRUNC`...).
    pub flags: u32,
}

/// The socket calls ncdevmem makes, in both worlds. Errors carry the errno.
#[allow(async_fn_in_trait)]
pub trait Sockets {
    /// `socket(AF_INET6, SOCK_STREAM, 0)`.
    fn socket_inet6_stream(&self) -> io::Result<i32>;
    /// `setsockopt()` with a raw option value; returns the syscall's return value
    /// (`SO_DEVMEM_DONTNEED` returns the number of tokens freed).
    fn setsockopt(&self, fd: i32, level: i32, name: i32, val: &[u8]) -> io::Result<i32>;
    /// `bind()`.
    fn bind(&self, fd: i32, addr: std::net::SocketAddrV6) -> io::Result<()>;
    /// `listen()`.
    fn listen(&self, fd: i32, backlog: i32) -> io::Result<()>;
    /// `accept()`: the new fd and the peer's address.
    async fn accept(&self, fd: i32) -> io::Result<(i32, std::net::SocketAddrV6)>;
    /// `connect()`.
    async fn connect(&self, fd: i32, addr: std::net::SocketAddrV6) -> io::Result<()>;
    /// `recvmsg()` with one iov of `iov_len` bytes and `ctrl_len` bytes of control.
    async fn recvmsg(
        &self,
        fd: i32,
        iov_len: usize,
        ctrl_len: usize,
        flags: u32,
    ) -> io::Result<RecvMsg>;
    /// `sendmsg()` whose iovecs are `(base, len)` pairs: with an `SCM_DEVMEM_DMABUF`
    /// cmsg, bases are dmabuf offsets.
    async fn sendmsg_iov(
        &self,
        fd: i32,
        iov: &[(u64, usize)],
        control: &[u8],
        flags: u32,
    ) -> io::Result<usize>;
    /// `poll()` on one fd: returns `revents` (0 on timeout).
    async fn poll(&self, fd: i32, events: i16, timeout_ms: i32) -> io::Result<i16>;
    /// `close()`.
    fn close(&self, fd: i32) -> io::Result<()>;
    /// Milliseconds on the clock `poll` timeouts run on (`gettimeofday_ms()`).
    fn now_ms(&self) -> u64;
}

/// Everything ncdevmem uses from its world.
pub trait Sys: Platform + Sockets {}

impl<T: Platform + Sockets> Sys for T {}
