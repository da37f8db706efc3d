//! Socket-level ABI for devmem TCP: options, flags, control messages and their payloads
//! (`include/uapi/asm-generic/socket.h`, `linux/socket.h`, `linux/uio.h`,
//! `linux/errqueue.h`, `linux/in.h`, `linux/in6.h`, `linux/tcp.h`, `asm-generic/poll.h`).
//!
//! Values are asm-generic's (x86_64, arm64, riscv, also alpha and mips for the devmem
//! options). Other architectures differ only in the devmem options: parisc uses
//! SO_DEVMEM_LINEAR/DMABUF/DONTNEED = 0x404E/0x404F/0x4050, sparc 0x0057/0x0058/0x0059
//! (the sparc LINEAR value is inferred from its neighbours). Payload structs are native
//! endian, as the kernel writes them.

use crate::layout::{TooShort, field, prefix};

pub use crate::inet::IPPROTO_TCP;

// Levels.
pub const SOL_IP: i32 = 0;
pub const SOL_SOCKET: i32 = 1;
pub const SOL_TCP: i32 = 6;
pub const SOL_IPV6: i32 = 41;

// SOL_SOCKET options.
pub const SO_DEBUG: i32 = 1;
pub const SO_REUSEADDR: i32 = 2;
pub const SO_TYPE: i32 = 3;
pub const SO_ERROR: i32 = 4;
pub const SO_DONTROUTE: i32 = 5;
pub const SO_BROADCAST: i32 = 6;
pub const SO_SNDBUF: i32 = 7;
pub const SO_RCVBUF: i32 = 8;
pub const SO_KEEPALIVE: i32 = 9;
pub const SO_PRIORITY: i32 = 12;
pub const SO_LINGER: i32 = 13;
pub const SO_REUSEPORT: i32 = 15;
pub const SO_RCVLOWAT: i32 = 18;
pub const SO_BINDTODEVICE: i32 = 25;
pub const SO_MARK: i32 = 36;
pub const SO_TIMESTAMPING_OLD: i32 = 37;
pub const SO_TXTIME: i32 = 61;
/// The cmsg type for a per-sendmsg transmit time (needs SO_TXTIME on the socket).
pub const SCM_TXTIME: i32 = SO_TXTIME;
pub const SO_TIMESTAMPING_NEW: i32 = 65;
/// The cmsg type for a per-sendmsg timestamp id (not for TCP sockets).
pub const SCM_TS_OPT_ID: i32 = 81;
/// SOL_SOCKET cmsg types that belong to AF_UNIX; other families ignore them on send.
pub const SCM_RIGHTS: i32 = 1;
pub const SCM_CREDENTIALS: i32 = 2;
pub const SO_ZEROCOPY: i32 = 60;
/// Also the cmsg type for linear (header-split leftover) payload.
pub const SO_DEVMEM_LINEAR: i32 = 78;
pub const SCM_DEVMEM_LINEAR: i32 = SO_DEVMEM_LINEAR;
/// Also the cmsg type for frags in a dmabuf (RX) and the binding id (TX).
pub const SO_DEVMEM_DMABUF: i32 = 79;
pub const SCM_DEVMEM_DMABUF: i32 = SO_DEVMEM_DMABUF;
/// setsockopt with an array of [`DmabufToken`] to hand frags back.
pub const SO_DEVMEM_DONTNEED: i32 = 80;

/// Kernel internal (net/core/sock.c): most tokens one SO_DEVMEM_DONTNEED call accepts
/// (`optlen` above 128 × 8 bytes is -EINVAL). Not in any UAPI header.
pub const MAX_DONTNEED_TOKENS: usize = 128;
/// Kernel internal (net/core/sock.c): most frags one SO_DEVMEM_DONTNEED call frees;
/// the walk stops once it has visited more.
pub const MAX_DONTNEED_FRAGS: usize = 1024;

// SOL_IP / SOL_IPV6 options.
pub const IP_RECVERR: i32 = 11;
pub const IPV6_RECVERR: i32 = 25;

// SOL_TCP options.
pub const TCP_NODELAY: i32 = 1;
pub const TCP_MAXSEG: i32 = 2;

// send/recv flags.
pub const MSG_OOB: u32 = 0x1;
pub const MSG_PEEK: u32 = 0x2;
pub const MSG_DONTROUTE: u32 = 0x4;
pub const MSG_CTRUNC: u32 = 0x8;
pub const MSG_TRUNC: u32 = 0x20;
pub const MSG_DONTWAIT: u32 = 0x40;
pub const MSG_EOR: u32 = 0x80;
pub const MSG_WAITALL: u32 = 0x100;
pub const MSG_ERRQUEUE: u32 = 0x2000;
pub const MSG_NOSIGNAL: u32 = 0x4000;
pub const MSG_MORE: u32 = 0x8000;
/// recvmsg: the caller accepts devmem frags (dmabuf cmsgs instead of bytes).
pub const MSG_SOCK_DEVMEM: u32 = 0x200_0000;
pub const MSG_ZEROCOPY: u32 = 0x400_0000;

// Socket types.
pub const SOCK_STREAM: i32 = 1;
pub const SOCK_DGRAM: i32 = 2;
pub const SOCK_RAW: i32 = 3;
pub const SOCK_NONBLOCK: i32 = 0o4000;
pub const SOCK_CLOEXEC: i32 = 0o2000000;

// shutdown(2)
pub const SHUT_RD: i32 = 0;
pub const SHUT_WR: i32 = 1;
pub const SHUT_RDWR: i32 = 2;

// poll(2) events (asm-generic/poll.h).
pub const POLLIN: i16 = 0x1;
pub const POLLPRI: i16 = 0x2;
pub const POLLOUT: i16 = 0x4;
pub const POLLERR: i16 = 0x8;
pub const POLLHUP: i16 = 0x10;
pub const POLLNVAL: i16 = 0x20;

// sock_extended_err.ee_origin (linux/errqueue.h).
pub const SO_EE_ORIGIN_NONE: u8 = 0;
pub const SO_EE_ORIGIN_LOCAL: u8 = 1;
pub const SO_EE_ORIGIN_ICMP: u8 = 2;
pub const SO_EE_ORIGIN_ICMP6: u8 = 3;
pub const SO_EE_ORIGIN_TXSTATUS: u8 = 4;
/// MSG_ZEROCOPY completion: ee_info..=ee_data is the range of completed sends.
pub const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
pub const SO_EE_ORIGIN_TXTIME: u8 = 6;
/// ee_code of a zerocopy completion whose data was copied after all.
pub const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;

/// Kernel: `struct dmabuf_cmsg` (linux/uio.h), payload of SCM_DEVMEM_DMABUF and
/// SCM_DEVMEM_LINEAR on recvmsg (24 bytes, no holes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                 frag_offset (u64, byte offset                 |
/// |                      of the frag in the dmabuf)               |
/// +---------------------------------------------------------------+
/// |                       frag_size (u32)                         |
/// +---------------------------------------------------------------+
/// |            frag_token (u32, for SO_DEVMEM_DONTNEED)           |
/// +---------------------------------------------------------------+
/// |                 dmabuf_id (u32, binding id)                   |
/// +---------------------------------------------------------------+
/// |                 flags (u32, reserved, 0)                      |
/// +---------------------------------------------------------------+
/// ```
/// For SCM_DEVMEM_LINEAR only `frag_size` is set (bytes copied to the user iov).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmabufCmsg {
    pub frag_offset: u64,
    pub frag_size: u32,
    pub frag_token: u32,
    pub dmabuf_id: u32,
    pub flags: u32,
}

impl DmabufCmsg {
    pub const SIZE: usize = 24;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..8].copy_from_slice(&self.frag_offset.to_ne_bytes());
        b[8..12].copy_from_slice(&self.frag_size.to_ne_bytes());
        b[12..16].copy_from_slice(&self.frag_token.to_ne_bytes());
        b[16..20].copy_from_slice(&self.dmabuf_id.to_ne_bytes());
        b[20..24].copy_from_slice(&self.flags.to_ne_bytes());
        b
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            frag_offset: u64::from_ne_bytes(field(b, 0)),
            frag_size: u32::from_ne_bytes(field(b, 8)),
            frag_token: u32::from_ne_bytes(field(b, 12)),
            dmabuf_id: u32::from_ne_bytes(field(b, 16)),
            flags: u32::from_ne_bytes(field(b, 20)),
        })
    }
}

/// Kernel: `struct dmabuf_token` (linux/uio.h), one range of frag tokens handed back
/// with SO_DEVMEM_DONTNEED (8 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                     token_start (u32)                         |
/// +---------------------------------------------------------------+
/// |                     token_count (u32)                         |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DmabufToken {
    pub token_start: u32,
    pub token_count: u32,
}

impl DmabufToken {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.token_start.to_ne_bytes());
        b[4..8].copy_from_slice(&self.token_count.to_ne_bytes());
        b
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            token_start: u32::from_ne_bytes(field(b, 0)),
            token_count: u32::from_ne_bytes(field(b, 4)),
        })
    }
}

/// Kernel: `struct sock_extended_err` (linux/errqueue.h), payload of IP_RECVERR /
/// IPV6_RECVERR cmsgs read with MSG_ERRQUEUE (16 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |                       ee_errno (u32)                          |
/// +---------------+---------------+---------------+---------------+
/// |   ee_origin   |    ee_type    |    ee_code    |    ee_pad     |
/// +---------------+---------------+---------------+---------------+
/// |        ee_info (u32; zerocopy: first completed send)          |
/// +---------------------------------------------------------------+
/// |        ee_data (u32; zerocopy: last completed send)           |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SockExtendedErr {
    pub ee_errno: u32,
    pub ee_origin: u8,
    pub ee_type: u8,
    pub ee_code: u8,
    pub ee_pad: u8,
    pub ee_info: u32,
    pub ee_data: u32,
}

impl SockExtendedErr {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..4].copy_from_slice(&self.ee_errno.to_ne_bytes());
        b[4] = self.ee_origin;
        b[5] = self.ee_type;
        b[6] = self.ee_code;
        b[7] = self.ee_pad;
        b[8..12].copy_from_slice(&self.ee_info.to_ne_bytes());
        b[12..16].copy_from_slice(&self.ee_data.to_ne_bytes());
        b
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            ee_errno: u32::from_ne_bytes(field(b, 0)),
            ee_origin: b[4],
            ee_type: b[5],
            ee_code: b[6],
            ee_pad: b[7],
            ee_info: u32::from_ne_bytes(field(b, 8)),
            ee_data: u32::from_ne_bytes(field(b, 12)),
        })
    }
}

/// Kernel: `struct cmsghdr` on x86_64 (16 bytes; `cmsg_len` is a `size_t`).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------------------------------------------------------+
/// |          cmsg_len (u64: header + data, unpadded)              |
/// |                                                               |
/// +---------------------------------------------------------------+
/// |                  cmsg_level (s32, SOL_*)                      |
/// +---------------------------------------------------------------+
/// |                  cmsg_type (s32, SCM_* / option)              |
/// +---------------------------------------------------------------+
/// |      data ... padded to cmsg_align() before the next header   |
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CmsgHdr {
    pub cmsg_len: u64,
    pub cmsg_level: i32,
    pub cmsg_type: i32,
}

impl CmsgHdr {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0..8].copy_from_slice(&self.cmsg_len.to_ne_bytes());
        b[8..12].copy_from_slice(&self.cmsg_level.to_ne_bytes());
        b[12..16].copy_from_slice(&self.cmsg_type.to_ne_bytes());
        b
    }

    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            cmsg_len: u64::from_ne_bytes(field(b, 0)),
            cmsg_level: i32::from_ne_bytes(field(b, 8)),
            cmsg_type: i32::from_ne_bytes(field(b, 12)),
        })
    }
}

/// `CMSG_ALIGN`: round up to `sizeof(size_t)` (8 on x86_64).
pub const fn cmsg_align(len: usize) -> usize {
    (len + 7) & !7
}

/// `CMSG_LEN`: the `cmsg_len` of a message carrying `data_len` bytes.
pub const fn cmsg_len(data_len: usize) -> usize {
    cmsg_align(CmsgHdr::SIZE) + data_len
}

/// `CMSG_SPACE`: control-buffer bytes a message with `data_len` bytes occupies.
pub const fn cmsg_space(data_len: usize) -> usize {
    cmsg_align(CmsgHdr::SIZE) + cmsg_align(data_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::size_of;

    #[test]
    fn sizes() {
        assert_eq!(size_of::<DmabufCmsg>(), DmabufCmsg::SIZE);
        assert_eq!(size_of::<DmabufToken>(), DmabufToken::SIZE);
        assert_eq!(size_of::<SockExtendedErr>(), SockExtendedErr::SIZE);
        assert_eq!(size_of::<CmsgHdr>(), CmsgHdr::SIZE);
        assert_eq!(DmabufCmsg::SIZE, 24);
        assert_eq!(SockExtendedErr::SIZE, 16);
    }

    #[test]
    fn cmsg_macros() {
        assert_eq!(cmsg_align(0), 0);
        assert_eq!(cmsg_align(1), 8);
        assert_eq!(cmsg_align(16), 16);
        // TX binding id cmsg: exactly CMSG_LEN(4) = 20, occupying 24.
        assert_eq!(cmsg_len(4), 20);
        assert_eq!(cmsg_space(4), 24);
        assert_eq!(cmsg_len(DmabufCmsg::SIZE), 40);
        assert_eq!(cmsg_space(SockExtendedErr::SIZE), 32);
    }

    #[test]
    fn short_input_is_an_error() {
        assert_eq!(
            DmabufCmsg::from_bytes(&[0; 23]),
            Err(TooShort {
                needed: 24,
                got: 23
            })
        );
        assert!(DmabufToken::from_bytes(&[0; 7]).is_err());
        assert!(SockExtendedErr::from_bytes(&[]).is_err());
        assert!(CmsgHdr::from_bytes(&[0; 15]).is_err());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn dmabuf_cmsg_golden() {
        let c = DmabufCmsg {
            frag_offset: 0x0000_0001_0000_2000,
            frag_size: 4096,
            frag_token: 3,
            dmabuf_id: 9,
            flags: 0,
        };
        let raw = [
            0x00, 0x20, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, // frag_offset
            0x00, 0x10, 0x00, 0x00, // frag_size 4096
            0x03, 0x00, 0x00, 0x00, // frag_token 3
            0x09, 0x00, 0x00, 0x00, // dmabuf_id 9
            0x00, 0x00, 0x00, 0x00, // flags
        ];
        assert_eq!(c.to_bytes(), raw);
        assert_eq!(DmabufCmsg::from_bytes(&raw), Ok(c));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn dmabuf_token_golden() {
        let t = DmabufToken {
            token_start: 0x11223344,
            token_count: 1,
        };
        let raw = [0x44, 0x33, 0x22, 0x11, 0x01, 0x00, 0x00, 0x00];
        assert_eq!(t.to_bytes(), raw);
        assert_eq!(DmabufToken::from_bytes(&raw), Ok(t));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn sock_extended_err_golden() {
        let e = SockExtendedErr {
            ee_errno: 0,
            ee_origin: SO_EE_ORIGIN_ZEROCOPY,
            ee_type: 0,
            ee_code: SO_EE_CODE_ZEROCOPY_COPIED,
            ee_pad: 0,
            ee_info: 2,
            ee_data: 5,
        };
        let raw = [
            0x00, 0x00, 0x00, 0x00, // ee_errno
            0x05, 0x00, 0x01, 0x00, // origin ZEROCOPY, type, code COPIED, pad
            0x02, 0x00, 0x00, 0x00, // ee_info: first send
            0x05, 0x00, 0x00, 0x00, // ee_data: last send
        ];
        assert_eq!(e.to_bytes(), raw);
        assert_eq!(SockExtendedErr::from_bytes(&raw), Ok(e));
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn cmsghdr_golden() {
        let h = CmsgHdr {
            cmsg_len: cmsg_len(4) as u64,
            cmsg_level: SOL_SOCKET,
            cmsg_type: SCM_DEVMEM_DMABUF,
        };
        let raw = [
            0x14, 0, 0, 0, 0, 0, 0, 0, // cmsg_len 20
            0x01, 0, 0, 0, // SOL_SOCKET
            0x4f, 0, 0, 0, // SCM_DEVMEM_DMABUF 79
        ];
        assert_eq!(h.to_bytes(), raw);
        assert_eq!(CmsgHdr::from_bytes(&raw), Ok(h));
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    #[test]
    fn match_libc() {
        assert_eq!(SOL_SOCKET, libc::SOL_SOCKET);
        assert_eq!(SOL_IP, libc::SOL_IP);
        assert_eq!(SOL_IPV6, libc::SOL_IPV6);
        assert_eq!(SOL_TCP, libc::SOL_TCP);
        assert_eq!(SO_REUSEADDR, libc::SO_REUSEADDR);
        assert_eq!(SO_REUSEPORT, libc::SO_REUSEPORT);
        assert_eq!(SO_BINDTODEVICE, libc::SO_BINDTODEVICE);
        assert_eq!(SO_ZEROCOPY, libc::SO_ZEROCOPY);
        assert_eq!(SCM_RIGHTS, libc::SCM_RIGHTS);
        assert_eq!(SCM_CREDENTIALS, libc::SCM_CREDENTIALS);
        assert_eq!(SO_ERROR, libc::SO_ERROR);
        assert_eq!(SO_RCVBUF, libc::SO_RCVBUF);
        assert_eq!(SO_SNDBUF, libc::SO_SNDBUF);
        assert_eq!(IP_RECVERR, libc::IP_RECVERR);
        assert_eq!(IPV6_RECVERR, libc::IPV6_RECVERR);
        assert_eq!(TCP_NODELAY, libc::TCP_NODELAY);
        assert_eq!(TCP_MAXSEG, libc::TCP_MAXSEG);
        assert_eq!(MSG_PEEK as i32, libc::MSG_PEEK);
        assert_eq!(MSG_CTRUNC as i32, libc::MSG_CTRUNC);
        assert_eq!(MSG_TRUNC as i32, libc::MSG_TRUNC);
        assert_eq!(MSG_DONTWAIT as i32, libc::MSG_DONTWAIT);
        assert_eq!(MSG_WAITALL as i32, libc::MSG_WAITALL);
        assert_eq!(MSG_ERRQUEUE as i32, libc::MSG_ERRQUEUE);
        assert_eq!(MSG_ZEROCOPY as i32, libc::MSG_ZEROCOPY);
        assert_eq!(POLLIN, libc::POLLIN);
        assert_eq!(POLLOUT, libc::POLLOUT);
        assert_eq!(POLLERR, libc::POLLERR);
        assert_eq!(POLLHUP, libc::POLLHUP);
        assert_eq!(SHUT_RD, libc::SHUT_RD);
        assert_eq!(SHUT_RDWR, libc::SHUT_RDWR);
        assert_eq!(SOCK_NONBLOCK, libc::SOCK_NONBLOCK);
        assert_eq!(SOCK_CLOEXEC, libc::SOCK_CLOEXEC);
        assert_eq!(size_of::<CmsgHdr>(), size_of::<libc::cmsghdr>());
        assert_eq!(
            size_of::<SockExtendedErr>(),
            size_of::<libc::sock_extended_err>()
        );
    }
}
