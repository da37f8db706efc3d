//! The memory a process binds with bind-rx / bind-tx.
//!
//! On a real host the dma-buf is exported by udmabuf from a memfd, as ncdevmem's
//! udmabuf provider does. For the emulator, the memfd itself is the dma-buf: it is
//! passed by `SCM_RIGHTS` and the emulator treats it as a udmabuf export of itself.
//! Either way the process reads and writes the same bytes through one shared mapping.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use linux::shm::SharedMem;
use linux::udmabuf::{
    DMA_BUF_SYNC_END, DMA_BUF_SYNC_READ, DMA_BUF_SYNC_RW, DMA_BUF_SYNC_START, DMA_BUF_SYNC_WRITE,
    dma_buf_sync,
};

/// Which CPU access a sync bracket covers (`DMA_BUF_SYNC_READ/WRITE/RW`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    ReadWrite,
}

impl Access {
    fn flags(self) -> u64 {
        match self {
            Access::Read => DMA_BUF_SYNC_READ,
            Access::Write => DMA_BUF_SYNC_WRITE,
            Access::ReadWrite => DMA_BUF_SYNC_RW,
        }
    }
}

/// A dma-buf and its CPU mapping.
#[derive(Debug)]
pub struct Dmabuf {
    mem: SharedMem,
    /// The udmabuf export; `None` in memfd mode (the memfd is the dma-buf).
    exported: Option<OwnedFd>,
}

impl Dmabuf {
    /// A memfd of `size` bytes exported through `/dev/udmabuf` (real hosts). `size`
    /// must be page-aligned (the kernel's `EINVAL` otherwise); without udmabuf the
    /// open error (`ENOENT`) is returned.
    pub fn udmabuf(size: usize) -> io::Result<Self> {
        let mem = SharedMem::new("devmem-udmabuf", size)?;
        let exported = Some(linux::udmabuf::create(&mem)?);
        Ok(Self { mem, exported })
    }

    /// A plain memfd of `size` bytes, which the emulator takes as the dma-buf.
    pub fn memfd(size: usize) -> io::Result<Self> {
        Ok(Self {
            mem: SharedMem::new("devmem-dmabuf", size)?,
            exported: None,
        })
    }

    /// Whether this is a real udmabuf export.
    pub fn is_udmabuf(&self) -> bool {
        self.exported.is_some()
    }

    /// The fd to bind: the udmabuf export, or the memfd.
    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.exported {
            Some(fd) => fd.as_fd(),
            None => self.mem.as_fd(),
        }
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.mem.len()
    }

    /// Never true: a dma-buf has at least one page.
    pub fn is_empty(&self) -> bool {
        self.mem.is_empty()
    }

    /// Copies `src` into the buffer at `offset` (bracket with [`Dmabuf::sync_start`] /
    /// [`Dmabuf::sync_end`] as ncdevmem does).
    pub fn write_at(&self, offset: usize, src: &[u8]) -> io::Result<()> {
        self.mem
            .write_at(offset, src)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// Copies `dst.len()` bytes out of the buffer at `offset`.
    pub fn read_at(&self, offset: usize, dst: &mut [u8]) -> io::Result<()> {
        self.mem
            .read_at(offset, dst)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    /// `DMA_BUF_IOCTL_SYNC` start: CPU access of kind `access` begins. A no-op in memfd
    /// mode (no exporter caches to maintain).
    pub fn sync_start(&self, access: Access) -> io::Result<()> {
        self.sync(DMA_BUF_SYNC_START | access.flags())
    }

    /// `DMA_BUF_IOCTL_SYNC` end: CPU access of kind `access` is over. A no-op in memfd
    /// mode.
    pub fn sync_end(&self, access: Access) -> io::Result<()> {
        self.sync(DMA_BUF_SYNC_END | access.flags())
    }

    fn sync(&self, flags: u64) -> io::Result<()> {
        match &self.exported {
            Some(fd) => dma_buf_sync(fd.as_fd(), flags),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memfd_mode_reads_back_and_syncs_are_noops() {
        let d = Dmabuf::memfd(8192).unwrap();
        assert!(!d.is_udmabuf());
        assert_eq!(d.len(), 8192);
        d.sync_start(Access::Write).unwrap();
        d.write_at(4090, b"hello\n").unwrap();
        d.sync_end(Access::Write).unwrap();
        let mut got = [0u8; 6];
        d.read_at(4090, &mut got).unwrap();
        assert_eq!(&got, b"hello\n");
        assert!(d.write_at(8190, b"abc").is_err());
        // The fd is the memfd: another mapping of it sees the bytes.
        let dup = d.fd().try_clone_to_owned().unwrap();
        let other = SharedMem::from_fd(dup).unwrap();
        let mut again = [0u8; 5];
        other.read_at(4090, &mut again).unwrap();
        assert_eq!(&again, b"hello");
    }

    #[test]
    fn udmabuf_needs_the_device() {
        match Dmabuf::udmabuf(4096) {
            Ok(d) => {
                assert!(d.is_udmabuf());
                d.sync_start(Access::ReadWrite).unwrap();
                d.sync_end(Access::ReadWrite).unwrap();
            }
            // No /dev/udmabuf on this machine (CONFIG_UDMABUF off).
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOENT), "{e}"),
        }
    }
}
