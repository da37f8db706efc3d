//! Netlink transports: where request datagrams go and replies come from.
//!
//! A transport moves whole datagrams, byte for byte as they would cross an AF_NETLINK
//! socket that has `NETLINK_EXT_ACK` and `NETLINK_CAP_ACK` on (errors carry extack
//! TLVs and echo only the request header). Framing, sequence numbers and parsing are
//! the clients' job ([`crate::conn`]).
//!
//! - [`KernelTransport`]: the real kernel.
//! - [`UnixTransport`]: the emulator behind `nkdevmem serve --netlink-unix PATH`.
//! - (later) an in-process emulator transport, behind the same trait.

use std::io;
use std::os::fd::BorrowedFd;
use std::path::Path;

use linux::netlink::NetlinkSocket;
use linux::seqpacket::SeqpacketConn;
use uapi::netlink::NlMsgHdr;

/// One netlink socket's worth of I/O: one datagram in, one datagram out.
pub trait NetlinkTransport {
    /// Sends one datagram (one or more netlink messages). `fds` are the file
    /// descriptors the request names by number (the dma-buf of bind-rx / bind-tx, a
    /// netns fd); a transport that shares the caller's fd table ignores them.
    fn send(&mut self, datagram: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()>;
    /// Receives the next datagram, blocking.
    fn recv(&mut self) -> io::Result<Vec<u8>>;
    /// Our netlink port id: the `nlmsg_pid` replies carry.
    fn portid(&self) -> u32;
}

/// The real kernel, through an AF_NETLINK socket.
///
/// `fds` are ignored: the kernel resolves the fd number written in the request
/// (`NETDEV_A_DMABUF_FD`, `IFLA_NET_NS_FD`) in the calling process's own fd table.
#[derive(Debug)]
pub struct KernelTransport {
    sock: NetlinkSocket,
    portid: u32,
}

impl KernelTransport {
    /// Opens and binds an AF_NETLINK socket of `protocol` (`NETLINK_GENERIC`,
    /// `NETLINK_ROUTE`) with `NETLINK_EXT_ACK` and `NETLINK_CAP_ACK` on, as YNL does.
    pub fn open(protocol: i32) -> io::Result<Self> {
        let sock = NetlinkSocket::open(protocol)?;
        sock.set_ext_ack(true)?;
        sock.set_cap_ack(true)?;
        let portid = sock.portid()?;
        Ok(Self { sock, portid })
    }

    /// The socket, e.g. to join a multicast group.
    pub fn socket(&self) -> &NetlinkSocket {
        &self.sock
    }
}

impl NetlinkTransport for KernelTransport {
    fn send(&mut self, datagram: &[u8], _fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.sock.send(datagram)
    }

    fn recv(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        self.sock.recv(&mut buf)?;
        Ok(buf)
    }

    fn portid(&self) -> u32 {
        self.portid
    }
}

/// A client of the emulator served by `nkdevmem serve --netlink-unix PATH`.
///
/// Protocol, in full:
/// - One unix `SOCK_SEQPACKET` connection is one netlink socket. Each seqpacket
///   message is exactly one AF_NETLINK datagram, both ways, with the bytes the kernel
///   would read or write (EXT_ACK and CAP_ACK behaviour always on).
/// - Which netlink protocol a connection speaks is fixed by the path: one listening
///   socket per protocol. `PATH` serves `NETLINK_GENERIC`. No path convention exists
///   yet for `NETLINK_ROUTE`; [`UnixTransport::connect`] records the protocol the caller
///   asked for and assumes the path serves it.
/// - A request may carry fds with `SCM_RIGHTS`. The server installs each passed fd in
///   the emulated process's fd table under the number the request names (a dma-buf
///   memfd under the number in `NETDEV_A_DMABUF_FD`), so the very same request bytes
///   also work against the real kernel.
/// - The server assigns the port id; the client learns it from the `nlmsg_pid` of the
///   replies, so [`NetlinkTransport::portid`] is 0 until the first reply arrives.
#[derive(Debug)]
pub struct UnixTransport {
    conn: SeqpacketConn,
    protocol: i32,
    portid: u32,
}

impl UnixTransport {
    /// Connects to the emulator's socket for `protocol` at `path`.
    pub fn connect(path: impl AsRef<Path>, protocol: i32) -> io::Result<Self> {
        Ok(Self::from_conn(SeqpacketConn::connect(path)?, protocol))
    }

    /// Wraps an already connected seqpacket (e.g. one end of a socketpair).
    pub fn from_conn(conn: SeqpacketConn, protocol: i32) -> Self {
        Self {
            conn,
            protocol,
            portid: 0,
        }
    }

    /// The netlink protocol this connection speaks.
    pub fn protocol(&self) -> i32 {
        self.protocol
    }
}

impl NetlinkTransport for UnixTransport {
    fn send(&mut self, datagram: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.conn.send(datagram, fds)
    }

    /// A zero-length message is the server hanging up: `UnexpectedEof`. Fds the
    /// server sends (it never should) are closed.
    fn recv(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = Vec::new();
        let (n, _fds) = self.conn.recv(&mut buf)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "netlink emulator closed the connection",
            ));
        }
        if let Ok(h) = NlMsgHdr::from_bytes(&buf)
            && h.nlmsg_pid != 0
        {
            self.portid = h.nlmsg_pid;
        }
        Ok(buf)
    }

    fn portid(&self) -> u32 {
        self.portid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn unix_transport_passes_fds_and_learns_portid() {
        let (client, server) = SeqpacketConn::pair().unwrap();
        let mut t = UnixTransport::from_conn(client, uapi::netlink::NETLINK_GENERIC);
        assert_eq!(t.portid(), 0);
        let mem = linux::shm::SharedMem::new("t", 4096).unwrap();
        mem.write_at(0, b"dmabuf").unwrap();
        t.send(b"request-bytes", &[mem.as_fd()]).unwrap();
        let mut buf = Vec::new();
        let (n, fds) = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"request-bytes");
        assert_eq!(fds.len(), 1);
        assert_ne!(fds[0].as_raw_fd(), mem.as_fd().as_raw_fd());
        // The passed fd is the same memory.
        let other = linux::shm::SharedMem::from_fd(fds.into_iter().next().unwrap()).unwrap();
        let mut got = [0u8; 6];
        other.read_at(0, &mut got).unwrap();
        assert_eq!(&got, b"dmabuf");
        // A reply's nlmsg_pid becomes our port id.
        let reply = netlink::msg::MsgBuilder::new(2, 0, 1, 4242).finish();
        server.send(&reply, &[]).unwrap();
        assert_eq!(t.recv().unwrap(), reply);
        assert_eq!(t.portid(), 4242);
        drop(server);
        assert_eq!(t.recv().unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }
}
