//! Walking and building raw control messages (`CMSG_FIRSTHDR`/`CMSG_NXTHDR`).

use uapi::socket::{CmsgHdr, cmsg_align, cmsg_len};

/// One control message: level, type and its data bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cmsg<'a> {
    pub level: i32,
    pub ty: i32,
    pub data: &'a [u8],
}

/// Iterates the control messages in `buf`. Stops (as `CMSG_NXTHDR` does) at a header
/// whose length is short or runs past the buffer: malformed control data is never a
/// panic.
pub fn cmsgs(buf: &[u8]) -> impl Iterator<Item = Cmsg<'_>> {
    let mut off = 0usize;
    std::iter::from_fn(move || {
        let rest = buf.get(off..)?;
        let h = CmsgHdr::from_bytes(rest).ok()?;
        let len = usize::try_from(h.cmsg_len).ok()?;
        if len < CmsgHdr::SIZE || len > rest.len() {
            return None;
        }
        let data = &rest[cmsg_align(CmsgHdr::SIZE)..len];
        off += cmsg_align(len);
        Some(Cmsg {
            level: h.cmsg_level,
            ty: h.cmsg_type,
            data,
        })
    })
}

/// One control message with `data`, laid out as the kernel reads it.
pub fn build(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
    let len = cmsg_len(data.len());
    let mut v = CmsgHdr {
        cmsg_len: len as u64,
        cmsg_level: level,
        cmsg_type: ty,
    }
    .to_bytes()
    .to_vec();
    v.extend_from_slice(data);
    v.resize(cmsg_align(len), 0);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use uapi::socket::{SCM_DEVMEM_DMABUF, SOL_SOCKET};

    #[test]
    fn build_then_walk() {
        let mut buf = build(SOL_SOCKET, SCM_DEVMEM_DMABUF, &7u32.to_ne_bytes());
        assert_eq!(buf.len(), 24);
        assert_eq!(&buf[..8], &20u64.to_ne_bytes());
        buf.extend(build(41, 25, &[1u8; 16]));
        let v: Vec<_> = cmsgs(&buf).collect();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].data, &7u32.to_ne_bytes());
        assert_eq!((v[1].level, v[1].ty, v[1].data.len()), (41, 25, 16));
    }

    #[test]
    fn malformed_stops() {
        let mut buf = build(1, 2, &[0u8; 4]);
        buf[0] = 200; // runs past the buffer
        assert_eq!(cmsgs(&buf).count(), 0);
        assert_eq!(cmsgs(&[0u8; 5]).count(), 0);
        let mut short = build(1, 2, &[]);
        short[0] = 3;
        assert_eq!(cmsgs(&short).count(), 0);
    }
}
