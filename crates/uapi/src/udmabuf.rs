//! The dmabuf exporter ncdevmem uses and the calls around it: udmabuf
//! (`include/uapi/linux/udmabuf.h`), dma-buf sync (`linux/dma-buf.h`), memfd
//! (`linux/memfd.h`) and file seals (`linux/fcntl.h`). x86_64 values.

use crate::layout::{TooShort, field, prefix};

pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

// asm-generic/ioctl.h encoding: dir(2) | size(14) | type(8) | nr(8), high to low.
pub const IOC_NRSHIFT: u32 = 0;
pub const IOC_TYPESHIFT: u32 = 8;
pub const IOC_SIZESHIFT: u32 = 16;
pub const IOC_DIRSHIFT: u32 = 30;
pub const IOC_NONE: u32 = 0;
pub const IOC_WRITE: u32 = 1;
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`.
pub const fn ioc(dir: u32, ty: u8, nr: u8, size: usize) -> u32 {
    (dir << IOC_DIRSHIFT)
        | ((size as u32) << IOC_SIZESHIFT)
        | ((ty as u32) << IOC_TYPESHIFT)
        | ((nr as u32) << IOC_NRSHIFT)
}

/// `_IOW(type, nr, T)`: userspace writes a `size`-byte argument.
pub const fn iow(ty: u8, nr: u8, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `UDMABUF_FLAGS_CLOEXEC`: the returned dmabuf fd is close-on-exec.
pub const UDMABUF_FLAGS_CLOEXEC: u32 = 0x01;

/// Kernel: `struct udmabuf_create` (24 bytes): a range of a sealed memfd to export.
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                         memfd (u32)                           |
/// +---------------------------------------------------------------+
/// |                  flags (u32, UDMABUF_FLAGS_*)                 |
/// +---------------------------------------------------------------+
/// |            offset (u64, page aligned, into the memfd)         |
/// |                                                               |
/// +---------------------------------------------------------------+
/// |                 size (u64, page aligned)                      |
/// |                                                               |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UdmabufCreate {
    pub memfd: u32,
    pub flags: u32,
    pub offset: u64,
    pub size: u64,
}

impl UdmabufCreate {
    pub const SIZE: usize = 24;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.memfd.to_ne_bytes());
        b[4..8].copy_from_slice(&self.flags.to_ne_bytes());
        b[8..16].copy_from_slice(&self.offset.to_ne_bytes());
        b[16..24].copy_from_slice(&self.size.to_ne_bytes());
        b
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            memfd: u32::from_ne_bytes(field(b, 0)),
            flags: u32::from_ne_bytes(field(b, 4)),
            offset: u64::from_ne_bytes(field(b, 8)),
            size: u64::from_ne_bytes(field(b, 16)),
        })
    }
}

/// Kernel: `struct udmabuf_create_list` header: `u32 flags, u32 count`, followed by
/// `count` 24-byte `udmabuf_create_item`s (memfd, pad, offset, size).
pub const UDMABUF_CREATE_LIST_HDR_SIZE: usize = 8;
pub const UDMABUF_CREATE_ITEM_SIZE: usize = 24;

/// `_IOW('u', 0x42, struct udmabuf_create)`.
pub const UDMABUF_CREATE: u32 = iow(b'u', 0x42, UdmabufCreate::SIZE);
/// `_IOW('u', 0x43, struct udmabuf_create_list)` (size of the fixed header only).
pub const UDMABUF_CREATE_LIST: u32 = iow(b'u', 0x43, UDMABUF_CREATE_LIST_HDR_SIZE);

// struct dma_buf_sync.flags
// (header: READ 1 << 0, WRITE 2 << 0, START 0 << 2, END 1 << 2)
pub const DMA_BUF_SYNC_READ: u64 = 1;
pub const DMA_BUF_SYNC_WRITE: u64 = 2;
pub const DMA_BUF_SYNC_RW: u64 = DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE;
pub const DMA_BUF_SYNC_START: u64 = 0;
pub const DMA_BUF_SYNC_END: u64 = 4;
pub const DMA_BUF_SYNC_VALID_FLAGS_MASK: u64 = DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END;

/// Kernel: `struct dma_buf_sync` (8 bytes): one `u64 flags` bracketing CPU access.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmaBufSync {
    pub flags: u64,
}

impl DmaBufSync {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        self.flags.to_ne_bytes()
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            flags: u64::from_ne_bytes(*b),
        })
    }
}

/// `_IOW('b', 0, struct dma_buf_sync)`.
pub const DMA_BUF_IOCTL_SYNC: u32 = iow(b'b', 0, DmaBufSync::SIZE);

// memfd_create(2) flags.
pub const MFD_CLOEXEC: u32 = 0x1;
pub const MFD_ALLOW_SEALING: u32 = 0x2;
pub const MFD_HUGETLB: u32 = 0x4;
pub const MFD_NOEXEC_SEAL: u32 = 0x8;
pub const MFD_EXEC: u32 = 0x10;

// fcntl(2) seals; udmabuf requires F_SEAL_SHRINK and refuses F_SEAL_WRITE.
pub const F_LINUX_SPECIFIC_BASE: i32 = 1024;
pub const F_ADD_SEALS: i32 = F_LINUX_SPECIFIC_BASE + 9;
pub const F_GET_SEALS: i32 = F_LINUX_SPECIFIC_BASE + 10;
pub const F_SEAL_SEAL: i32 = 0x0001;
pub const F_SEAL_SHRINK: i32 = 0x0002;
pub const F_SEAL_GROW: i32 = 0x0004;
pub const F_SEAL_WRITE: i32 = 0x0008;
pub const F_SEAL_FUTURE_WRITE: i32 = 0x0010;
pub const F_SEAL_EXEC: i32 = 0x0020;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_numbers() {
        // Values as printed by strace / the C headers on x86_64.
        assert_eq!(UDMABUF_CREATE, 0x4018_7542);
        assert_eq!(UDMABUF_CREATE_LIST, 0x4008_7543);
        assert_eq!(DMA_BUF_IOCTL_SYNC, 0x4008_6200);
    }

    #[test]
    fn sizes() {
        assert_eq!(core::mem::size_of::<UdmabufCreate>(), UdmabufCreate::SIZE);
        assert_eq!(core::mem::size_of::<DmaBufSync>(), DmaBufSync::SIZE);
        assert_eq!(PAGE_SIZE, 4096);
        assert!(UdmabufCreate::from_bytes(&[0; 23]).is_err());
        assert!(DmaBufSync::from_bytes(&[0; 7]).is_err());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn udmabuf_create_golden() {
        let c = UdmabufCreate {
            memfd: 5,
            flags: UDMABUF_FLAGS_CLOEXEC,
            offset: 0,
            size: 16000 * PAGE_SIZE as u64,
        };
        let raw = [
            0x05, 0, 0, 0, // memfd 5
            0x01, 0, 0, 0, // UDMABUF_FLAGS_CLOEXEC
            0, 0, 0, 0, 0, 0, 0, 0, // offset 0
            0x00, 0x00, 0xe8, 0x03, 0, 0, 0, 0, // size 16000 pages = 0x3e80000
        ];
        assert_eq!(c.to_bytes(), raw);
        assert_eq!(UdmabufCreate::from_bytes(&raw), Ok(c));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn dma_buf_sync_golden() {
        let s = DmaBufSync {
            flags: DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE,
        };
        assert_eq!(s.to_bytes(), [2, 0, 0, 0, 0, 0, 0, 0]);
        let e = DmaBufSync {
            flags: DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
        };
        assert_eq!(DmaBufSync::from_bytes(&[7, 0, 0, 0, 0, 0, 0, 0]), Ok(e));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn match_libc() {
        assert_eq!(MFD_CLOEXEC, libc::MFD_CLOEXEC);
        assert_eq!(MFD_ALLOW_SEALING, libc::MFD_ALLOW_SEALING);
        assert_eq!(F_ADD_SEALS, libc::F_ADD_SEALS);
        assert_eq!(F_GET_SEALS, libc::F_GET_SEALS);
        assert_eq!(F_SEAL_SHRINK, libc::F_SEAL_SHRINK);
        assert_eq!(F_SEAL_WRITE, libc::F_SEAL_WRITE);
        assert_eq!(F_SEAL_SEAL, libc::F_SEAL_SEAL);
    }
}
