//! The two small programs act 1 needs besides ncdevmem, each doing what a real process
//! does through the UAPI:
//!
//! - [`HostBinder`]: a host process that makes a TX binding on the physical NIC
//!   (`netdev bind-tx` over its own generic netlink socket) and keeps the socket open,
//!   so the binding stays alive;
//! - [`devmem_send`]: a minimal devmem sender in the container: a TCP socket bound to
//!   nk_guest, `SO_ZEROCOPY`, connect, then one `sendmsg(MSG_ZEROCOPY)` whose iovec is a
//!   dma-buf offset and whose `SCM_DEVMEM_DMABUF` names the binding (ncdevmem's TX
//!   loop, kernel-spec §8.1, without its own bind-tx).

use std::net::SocketAddr;

use devmem::dmabuf::Dmabuf;
use devmem::emulator::EmulatedTransport;
use devmem::netdev::NetdevClient;
use ncdevmem::os_platform::{emulated_netlink, export_dmabuf};
use simkernel::Proc;
use simkernel::net::core::datagram::UserIov;
use simkernel::net::core::sock::AF_INET6;
use uapi::netlink::NETLINK_GENERIC;
use uapi::socket::{
    MSG_ZEROCOPY, SCM_DEVMEM_DMABUF, SO_BINDTODEVICE, SO_ZEROCOPY, SOCK_STREAM, SOL_SOCKET,
};

/// A TX binding held by a host process.
pub struct HostBinder {
    /// `NETDEV_A_DMABUF_ID`.
    pub id: u32,
    /// The netlink socket whose lifetime is the binding's (kernel-spec §4.6).
    nl: Option<NetdevClient<EmulatedTransport>>,
    _mem: Dmabuf,
}

impl std::fmt::Debug for HostBinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBinder")
            .field("id", &self.id)
            .field("open", &self.nl.is_some())
            .finish()
    }
}

impl HostBinder {
    /// `proc` exports a memfd dma-buf holding `text` and binds it for TX on `ifindex`.
    pub fn bind(proc: &Proc, ifindex: u32, text: &[u8]) -> Result<HostBinder, String> {
        let mem = Dmabuf::memfd(16 * simkernel::PAGE_SIZE).map_err(|e| format!("memfd: {e}"))?;
        mem.write_at(0, text)
            .map_err(|e| format!("dma-buf write: {e}"))?;
        // Export before the netlink socket exists, so its fd number is free.
        export_dmabuf(proc, mem.fd()).map_err(|e| format!("udmabuf: {e}"))?;
        let t = emulated_netlink(proc, NETLINK_GENERIC).map_err(|e| format!("genl: {e}"))?;
        let mut nl = NetdevClient::new(t);
        let id = nl
            .bind_tx(ifindex, mem.fd())
            .map_err(|e| format!("bind-tx: {}", ncdevmem::report::ynl_msg(&e)))?;
        Ok(HostBinder {
            id,
            nl: Some(nl),
            _mem: mem,
        })
    }

    /// Closes the netlink socket: the kernel unbinds.
    pub fn release(&mut self) {
        self.nl = None;
    }
}

/// What the minimal sender saw: errno of each failed step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendOutcome {
    /// `connect()`.
    pub connect: Result<(), i32>,
    /// The devmem `sendmsg()` (bytes sent), when connect succeeded.
    pub sendmsg: Option<Result<usize, i32>>,
}

/// The `SCM_DEVMEM_DMABUF` control message naming binding `id`.
fn devmem_cmsg(id: u32) -> Vec<u8> {
    ncdevmem::cmsg::build(SOL_SOCKET, SCM_DEVMEM_DMABUF, &id.to_ne_bytes())
}

/// The container's minimal devmem sender: `len` bytes at dma-buf offset 0 of binding
/// `id`, from a socket bound to `ifname`, to `dst`. Closes the socket at the end.
pub async fn devmem_send(
    p: Proc,
    ifname: String,
    dst: SocketAddr,
    id: u32,
    len: usize,
) -> Result<SendOutcome, String> {
    let e = |what: &'static str| move |e: simkernel::KernelError| format!("{what}: {e}");
    let fd = p.socket(AF_INET6, SOCK_STREAM).map_err(e("socket"))?;
    let mut dev = ifname.into_bytes();
    dev.push(0);
    p.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, &dev)
        .map_err(e("SO_BINDTODEVICE"))?;
    p.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1)
        .map_err(e("SO_ZEROCOPY"))?;
    let connect = p.connect(fd, dst).await.map_err(|e| e.errno);
    let sendmsg = match connect {
        Ok(()) => {
            let iov = [UserIov::Addr { base: 0, len }];
            Some(
                p.sendmsg(fd, &iov, &devmem_cmsg(id), MSG_ZEROCOPY)
                    .await
                    .map_err(|e| e.errno),
            )
        }
        Err(_) => None,
    };
    p.close(fd).map_err(e("close"))?;
    Ok(SendOutcome { connect, sendmsg })
}
