//! udmabuf: turning a memfd into a dmabuf, the stand-in dmabuf exporter ncdevmem uses.
//!
//! Constants are local: `libc` has neither `struct udmabuf_create` nor the dma-buf ioctls.
//! Kernel headers: include/uapi/linux/udmabuf.h and include/uapi/linux/dma-buf.h.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use crate::shm::SharedMem;
use crate::sys::{cvt, ioc_write};

/// The udmabuf misc device.
pub const UDMABUF_DEVICE: &CStr = c"/dev/udmabuf";

/// Kernel: `UDMABUF_FLAGS_CLOEXEC`: the returned dmabuf fd is close-on-exec.
pub const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;

/// Kernel: `struct udmabuf_create`, the `UDMABUF_CREATE` argument.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct UdmabufCreate {
    memfd: u32,
    flags: u32,
    offset: u64,
    size: u64,
}

/// Kernel: `struct dma_buf_sync`, the `DMA_BUF_IOCTL_SYNC` argument.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct DmaBufSync {
    flags: u64,
}

/// Kernel: `UDMABUF_CREATE = _IOW('u', 0x42, struct udmabuf_create)`.
pub const UDMABUF_CREATE: u32 = ioc_write(b'u', 0x42, size_of::<UdmabufCreate>());
/// Kernel: `DMA_BUF_IOCTL_SYNC = _IOW('b', 0, struct dma_buf_sync)`.
pub const DMA_BUF_IOCTL_SYNC: u32 = ioc_write(b'b', 0, size_of::<DmaBufSync>());

/// Kernel: `DMA_BUF_SYNC_READ`: CPU access will read.
pub const DMA_BUF_SYNC_READ: u64 = 1 << 0;
/// Kernel: `DMA_BUF_SYNC_WRITE`: CPU access will write.
pub const DMA_BUF_SYNC_WRITE: u64 = 1 << 1;
/// Kernel: `DMA_BUF_SYNC_RW`.
pub const DMA_BUF_SYNC_RW: u64 = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
/// Kernel: `DMA_BUF_SYNC_START`: begin a CPU access bracket.
pub const DMA_BUF_SYNC_START: u64 = 0;
/// Kernel: `DMA_BUF_SYNC_END`: end a CPU access bracket.
pub const DMA_BUF_SYNC_END: u64 = 1 << 2;

/// Opens `/dev/udmabuf` read-write, close-on-exec (the device needs no more).
fn open_device() -> io::Result<OwnedFd> {
    // SAFETY: UDMABUF_DEVICE is a NUL-terminated path.
    let raw = cvt(unsafe { libc::open(UDMABUF_DEVICE.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) })?;
    // SAFETY: open() just returned this descriptor and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Exports the whole of `mem` as a dmabuf: `UDMABUF_CREATE` with offset 0, full size and
/// `UDMABUF_FLAGS_CLOEXEC`, as ncdevmem's udmabuf provider does.
///
/// The kernel (`udmabuf_create()`) requires a memfd sealed with `F_SEAL_SHRINK` and not
/// `F_SEAL_WRITE`, which [`SharedMem::new`] guarantees, and a page-aligned size: otherwise it
/// answers `EINVAL`, returned here unchanged. Without `/dev/udmabuf` (CONFIG_UDMABUF off, as on
/// the development machine) the `open` error (`ENOENT`) is returned.
pub fn create(mem: &SharedMem) -> io::Result<OwnedFd> {
    let dev = open_device()?;
    let memfd = u32::try_from(mem.as_fd().as_raw_fd())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "negative memfd"))?;
    let arg = UdmabufCreate {
        memfd,
        flags: UDMABUF_FLAGS_CLOEXEC,
        offset: 0,
        size: mem.len() as u64,
    };
    // SAFETY: UDMABUF_CREATE reads exactly one `struct udmabuf_create`, which `arg` is
    // (repr(C), same field order and widths as the uapi header).
    let raw = cvt(unsafe { libc::ioctl(dev.as_raw_fd(), UDMABUF_CREATE as _, &raw const arg) })?;
    // SAFETY: on success the ioctl returns a new dmabuf fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Brackets CPU access to a dmabuf: `DMA_BUF_IOCTL_SYNC` with e.g.
/// `DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE` before writing and `DMA_BUF_SYNC_END | ...` after,
/// so the exporter can flush/invalidate caches (kernel: `dma_buf_ioctl()` ->
/// `dma_buf_begin/end_cpu_access()`). Invalid flags give the kernel's `EINVAL`.
pub fn dma_buf_sync(fd: BorrowedFd<'_>, flags: u64) -> io::Result<()> {
    let arg = DmaBufSync { flags };
    // SAFETY: DMA_BUF_IOCTL_SYNC reads one `struct dma_buf_sync` (a single u64), which `arg` is.
    // On a non-dmabuf fd the kernel rejects the request number (ENOTTY) without touching memory.
    cvt(unsafe { libc::ioctl(fd.as_raw_fd(), DMA_BUF_IOCTL_SYNC as _, &raw const arg) })?;
    Ok(())
}

/// Tells whether `/dev/udmabuf` can be opened, so real-kernel devmem tests can skip with the
/// reason (ncdevmem reports `[skip,no-udmabuf: ...]` in the same situation).
pub fn probe_udmabuf() -> Result<(), String> {
    open_device()
        .map(drop)
        .map_err(|e| format!("open {}: {e}", UDMABUF_DEVICE.to_string_lossy()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn ioctl_numbers_match_the_uapi_headers() {
        // Values of _IOW() computed by hand from asm-generic/ioctl.h.
        assert_eq!(size_of::<UdmabufCreate>(), 24);
        assert_eq!(UDMABUF_CREATE, 0x4018_7542);
        assert_eq!(DMA_BUF_IOCTL_SYNC, 0x4008_6200);
        assert_eq!(DMA_BUF_SYNC_RW, 3);
        assert_eq!(DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE, 6);
    }

    #[test]
    fn create_agrees_with_probe() {
        let mem = SharedMem::new("udmabuf-test", 1 << 16).expect("memfd");
        match probe_udmabuf() {
            Err(why) => {
                println!("no udmabuf here: {why}");
                let err = create(&mem).expect_err("no device, no dmabuf");
                assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
            }
            Ok(()) => {
                let dmabuf = create(&mem).expect("udmabuf");
                dma_buf_sync(dmabuf.as_fd(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE)
                    .expect("sync start");
                dma_buf_sync(dmabuf.as_fd(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE)
                    .expect("sync end");
            }
        }
    }

    #[test]
    fn sync_on_a_non_dmabuf_is_an_error() {
        let mem = SharedMem::new("not-a-dmabuf", 4096).expect("memfd");
        let err = dma_buf_sync(mem.as_fd(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ)
            .expect_err("memfd is not a dmabuf");
        assert_eq!(err.raw_os_error(), Some(libc::ENOTTY));
    }
}
