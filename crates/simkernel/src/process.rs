//! Processes as the kernel sees them: a network namespace, credentials and an fd table.
//!
//! Kernel: `struct task_struct` reduced to what the netdev family and devmem need:
//! `current->nsproxy->net_ns`, `current_cred()` (CAP_NET_ADMIN) and `current->files`.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::dma::DmaBuf;
use crate::error::{KResult, KernelError};
use crate::net::core::net_namespace::NetNsId;

/// A process id, unique for the kernel's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessId(pub u32);

/// Credentials that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cred {
    /// CAP_NET_ADMIN in the initial user namespace (`capable(CAP_NET_ADMIN)`, and what
    /// `GENL_ADMIN_PERM` checks through `netlink_capable()`).
    pub cap_net_admin: bool,
}

/// An open file.
#[derive(Debug, Clone)]
pub enum File {
    /// A dma-buf fd (udmabuf export).
    DmaBuf(Rc<DmaBuf>),
    /// A socket.
    Socket(crate::net::core::sock::SockId),
    /// A network namespace reference (`open("/run/netns/NAME")`, `/proc/PID/ns/net`):
    /// what `IFLA_NET_NS_FD` and `NETNSA_FD` name.
    NetNs(NetNsId),
    /// Anything else (a memfd ...): `dma_buf_get()` refuses it with EINVAL.
    Other,
}

/// A process.
#[derive(Debug)]
pub struct Process {
    /// The network namespace the process runs in.
    pub netns: NetNsId,
    /// Its credentials.
    pub cred: Cred,
    /// Kernel: `files_struct`. fd → file.
    pub fds: BTreeMap<i32, File>,
}

/// The first fd a process gets (0–2 are stdio).
const FIRST_FD: i32 = 3;

impl Process {
    /// A process in `netns` with `cred` and only stdio open.
    pub fn new(netns: NetNsId, cred: Cred) -> Self {
        Process {
            netns,
            cred,
            fds: BTreeMap::new(),
        }
    }

    /// Kernel: `get_unused_fd_flags()` + `fd_install()`: the lowest free fd ≥ 3.
    pub fn fd_install(&mut self, file: File) -> i32 {
        let mut fd = FIRST_FD;
        for &used in self.fds.keys() {
            if used == fd {
                fd += 1;
            } else if used > fd {
                break;
            }
        }
        self.fds.insert(fd, file);
        fd
    }

    /// Kernel: `close_fd()`. EBADF if `fd` is not open.
    pub fn close(&mut self, fd: i32) -> KResult<()> {
        self.fds
            .remove(&fd)
            .map(|_| ())
            .ok_or(KernelError::new(uapi::errno::EBADF))
    }

    /// Kernel: `dma_buf_get(fd)`: EBADF when the fd is not open, EINVAL when it is not a
    /// dma-buf.
    pub fn dma_buf_get(&self, fd: i32) -> KResult<Rc<DmaBuf>> {
        match self.fds.get(&fd) {
            None => Err(KernelError::new(uapi::errno::EBADF)),
            Some(File::Other | File::Socket(_) | File::NetNs(_)) => {
                Err(KernelError::new(uapi::errno::EINVAL))
            }
            Some(File::DmaBuf(b)) => Ok(b.clone()),
        }
    }
}

impl Process {
    /// Kernel: `get_net_ns_by_fd()`: EBADF when `fd` is not open, EINVAL when it is not a
    /// namespace file.
    pub fn get_net_ns_by_fd(&self, fd: i32) -> KResult<NetNsId> {
        match self.fds.get(&fd) {
            None => Err(KernelError::new(uapi::errno::EBADF)),
            Some(File::NetNs(ns)) => Ok(*ns),
            Some(_) => Err(KernelError::new(uapi::errno::EINVAL)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fds_are_lowest_free_from_three() {
        let mut p = Process::new(NetNsId(0), Cred::default());
        assert_eq!(p.fd_install(File::Other), 3);
        assert_eq!(p.fd_install(File::Other), 4);
        assert_eq!(p.fd_install(File::Other), 5);
        p.close(4).unwrap();
        assert_eq!(p.fd_install(File::Other), 4);
        assert_eq!(p.fd_install(File::Other), 6);
        assert_eq!(p.close(42).unwrap_err().errno, uapi::errno::EBADF);
    }

    #[test]
    fn netns_fds() {
        let mut p = Process::new(NetNsId(0), Cred::default());
        let other = p.fd_install(File::Other);
        let ns = p.fd_install(File::NetNs(NetNsId(7)));
        assert_eq!(p.get_net_ns_by_fd(ns).unwrap(), NetNsId(7));
        assert_eq!(
            p.get_net_ns_by_fd(other).unwrap_err().errno,
            uapi::errno::EINVAL
        );
        assert_eq!(
            p.get_net_ns_by_fd(42).unwrap_err().errno,
            uapi::errno::EBADF
        );
        assert_eq!(p.dma_buf_get(ns).unwrap_err().errno, uapi::errno::EINVAL);
    }

    #[test]
    fn dma_buf_get_errors() {
        let mut p = Process::new(NetNsId(0), Cred::default());
        let fd = p.fd_install(File::Other);
        assert_eq!(p.dma_buf_get(fd).unwrap_err().errno, uapi::errno::EINVAL);
        assert_eq!(p.dma_buf_get(99).unwrap_err().errno, uapi::errno::EBADF);
    }
}
