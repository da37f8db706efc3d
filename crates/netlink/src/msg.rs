//! Netlink messages: building one ([`MsgBuilder`]) and walking a datagram
//! ([`messages`]).
//!
//! ```text
//! +----------+- - -+-------------------------+- - -+----------+----------+-- ...
//! | nlmsghdr | Pad | family header (genl...) | Pad | nlattr   | nlattr   |
//! +----------+- - -+-------------------------+- - -+----------+----------+-- ...
//!  <------------------------------ nlmsg_len ------------------------------>
//! ```

use crate::Error;
use crate::attr::Attrs;
use uapi::genetlink::{GENL_HDRLEN, GenlMsgHdr};
use uapi::netlink::{NLA_F_NESTED, NLA_HDRLEN, NLMSG_HDRLEN, NlMsgHdr, nla_align, nlmsg_align};

/// Builds one netlink message into a `Vec<u8>`, padding like the kernel's
/// `nlmsg_put()` / `nla_put()` / `nla_nest_start()` do.
///
/// The fixed part is chained by value, attributes by reference:
///
/// ```
/// # use netlink::msg::MsgBuilder;
/// let mut b = MsgBuilder::new(0x10, 0x5, 1, 0).genl(3, 1);
/// b.put_str(2, "netdev");
/// let bytes = b.finish();
/// assert_eq!(bytes.len(), 16 + 4 + 12);
/// ```
///
/// Lengths are trusted (the builder is for messages this program composes); an
/// attribute longer than `u16::MAX` is a bug and trips a debug assertion.
#[derive(Debug, Clone)]
pub struct MsgBuilder {
    buf: Vec<u8>,
}

/// An open nest returned by [`MsgBuilder::nest_start`]; close it with
/// [`MsgBuilder::nest_end`].
#[derive(Debug)]
#[must_use = "a nest must be closed with nest_end"]
pub struct Nest {
    start: usize,
}

impl MsgBuilder {
    /// Starts a message; `nlmsg_len` is filled in by [`MsgBuilder::finish`].
    /// Kernel: `__nlmsg_put()`.
    pub fn new(ty: u16, flags: u16, seq: u32, pid: u32) -> Self {
        let hdr = NlMsgHdr {
            nlmsg_len: 0,
            nlmsg_type: ty,
            nlmsg_flags: flags,
            nlmsg_seq: seq,
            nlmsg_pid: pid,
        };
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(&hdr.to_bytes());
        Self { buf }
    }

    /// Appends a `genlmsghdr` (reserved = 0). Kernel: `genlmsg_put()`.
    #[must_use]
    pub fn genl(self, cmd: u8, version: u8) -> Self {
        self.raw_header(
            &GenlMsgHdr {
                cmd,
                version,
                reserved: 0,
            }
            .to_bytes(),
        )
    }

    /// Appends a fixed family header (e.g. `ifinfomsg`), zero-padded to 4 bytes.
    #[must_use]
    pub fn raw_header(mut self, hdr: &[u8]) -> Self {
        self.buf.extend_from_slice(hdr);
        self.pad();
        self
    }

    fn pad(&mut self) {
        let aligned = nla_align(self.buf.len());
        self.buf.resize(aligned, 0);
    }

    /// Bytes written so far (the final `nlmsg_len`, were the message finished now).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Never true: the header is always there.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends one attribute with its raw 16-bit type (flags included), padded.
    /// Kernel: `__nla_put()`.
    pub fn put_raw(&mut self, raw_type: u16, value: &[u8]) -> &mut Self {
        let nla_len = NLA_HDRLEN + value.len();
        debug_assert!(
            nla_len <= usize::from(u16::MAX),
            "attribute of {nla_len} bytes"
        );
        self.buf.extend_from_slice(&(nla_len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&raw_type.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
        self
    }

    /// `nla_put_u8()`.
    pub fn put_u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.put_raw(ty, &[v])
    }

    /// `nla_put_u16()`.
    pub fn put_u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_u32()`.
    pub fn put_u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_u64_64bit()` on an architecture with efficient unaligned access
    /// (x86_64): no pad attribute is inserted.
    pub fn put_u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_s8()`.
    pub fn put_s8(&mut self, ty: u16, v: i8) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_s16()`.
    pub fn put_s16(&mut self, ty: u16, v: i16) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_s32()`.
    pub fn put_s32(&mut self, ty: u16, v: i32) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_s64()` (no pad attribute, as on x86_64).
    pub fn put_s64(&mut self, ty: u16, v: i64) -> &mut Self {
        self.put_raw(ty, &v.to_ne_bytes())
    }

    /// `nla_put_uint()`: 4 bytes when the value fits in a u32, else 8.
    pub fn put_uint(&mut self, ty: u16, v: u64) -> &mut Self {
        match u32::try_from(v) {
            Ok(v32) => self.put_u32(ty, v32),
            Err(_) => self.put_u64(ty, v),
        }
    }

    /// `nla_put_sint()`: 4 bytes when the value fits in an s32, else 8.
    pub fn put_sint(&mut self, ty: u16, v: i64) -> &mut Self {
        match i32::try_from(v) {
            Ok(v32) => self.put_s32(ty, v32),
            Err(_) => self.put_s64(ty, v),
        }
    }

    /// `nla_put_string()`: the bytes plus a terminating NUL.
    pub fn put_str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.put_raw(ty, &v)
    }

    /// `nla_put()` of opaque bytes.
    pub fn put_bytes(&mut self, ty: u16, v: &[u8]) -> &mut Self {
        self.put_raw(ty, v)
    }

    /// `nla_put_flag()`: a zero-length attribute.
    pub fn put_flag(&mut self, ty: u16) -> &mut Self {
        self.put_raw(ty, &[])
    }

    /// Opens a nest with `NLA_F_NESTED` set. Kernel: `nla_nest_start()`.
    pub fn nest_start(&mut self, ty: u16) -> Nest {
        self.nest_start_noflag(ty | NLA_F_NESTED)
    }

    /// Opens a nest without `NLA_F_NESTED` (as `ctrl_fill_info()` does for its op and
    /// group lists). Kernel: `nla_nest_start_noflag()`.
    pub fn nest_start_noflag(&mut self, raw_type: u16) -> Nest {
        let start = self.buf.len();
        self.put_raw(raw_type, &[]);
        Nest { start }
    }

    /// Closes a nest: its `nla_len` becomes everything written since it was opened.
    /// Kernel: `nla_nest_end()`.
    pub fn nest_end(&mut self, nest: Nest) -> &mut Self {
        let len = self.buf.len() - nest.start;
        debug_assert!(len <= usize::from(u16::MAX), "nest of {len} bytes");
        self.buf[nest.start..nest.start + 2].copy_from_slice(&(len as u16).to_ne_bytes());
        self
    }

    /// Fills in `nlmsg_len` and returns the message. Kernel: `nlmsg_end()`.
    pub fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len();
        debug_assert!(len == nlmsg_align(len));
        debug_assert!(u32::try_from(len).is_ok());
        self.buf[0..4].copy_from_slice(&(len as u32).to_ne_bytes());
        self.buf
    }
}

/// One message of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg<'a> {
    /// The header.
    pub hdr: NlMsgHdr,
    /// The bytes after the header, up to `nlmsg_len`.
    pub payload: &'a [u8],
    /// Offset of the header within the datagram.
    pub offset: usize,
    /// The whole message: header and payload (`nlmsg_len` bytes).
    pub raw: &'a [u8],
}

impl<'a> Msg<'a> {
    /// The generic netlink header and the attribute bytes after it.
    pub fn genl(&self) -> Result<(GenlMsgHdr, &'a [u8]), Error> {
        let hdr = GenlMsgHdr::from_bytes(self.payload).map_err(|_| {
            Error::decode(
                "message too short for genlmsghdr",
                self.offset + NLMSG_HDRLEN,
            )
        })?;
        Ok((hdr, &self.payload[GENL_HDRLEN..]))
    }

    /// The generic netlink header and an iterator over the top-level attributes, with
    /// offsets relative to this message's header.
    pub fn genl_attrs(&self) -> Result<(GenlMsgHdr, Attrs<'a>), Error> {
        let (hdr, attrs) = self.genl()?;
        Ok((hdr, Attrs::new(attrs, NLMSG_HDRLEN + GENL_HDRLEN)))
    }

    /// The attributes after a fixed family header of `hdrlen` bytes (padded to 4),
    /// as `nlmsg_attrdata()` finds them.
    pub fn attrs(&self, hdrlen: usize) -> Result<Attrs<'a>, Error> {
        let skip = nlmsg_align(hdrlen);
        let rest = self.payload.get(skip..).ok_or(Error::decode(
            "message too short for its family header",
            self.offset + NLMSG_HDRLEN,
        ))?;
        Ok(Attrs::new(rest, NLMSG_HDRLEN + skip))
    }
}

/// Walks the messages of a datagram.
///
/// Like the kernel's `netlink_rcv_skb()` loop, each message advances by
/// `NLMSG_ALIGN(nlmsg_len)`, capped at what is left. Where the kernel silently stops at
/// a bad header, this yields one `Err` and then ends: bytes that remain but cannot hold
/// a header, an `nlmsg_len` below 16, or an `nlmsg_len` past the end of the datagram.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages {
        buf,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Msg<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.buf.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let offset = self.pos;
        let hdr = match NlMsgHdr::from_bytes(rest) {
            Ok(h) => h,
            Err(_) => {
                self.failed = true;
                return Some(Err(Error::decode("truncated nlmsghdr", offset)));
            }
        };
        let len = hdr.nlmsg_len as usize;
        if len < NLMSG_HDRLEN {
            self.failed = true;
            return Some(Err(Error::decode(
                "nlmsg_len shorter than nlmsghdr",
                offset,
            )));
        }
        if len > rest.len() {
            self.failed = true;
            return Some(Err(Error::decode("nlmsg_len past end of datagram", offset)));
        }
        self.pos += nlmsg_align(len).min(rest.len());
        Some(Ok(Msg {
            hdr,
            payload: &rest[NLMSG_HDRLEN..len],
            offset,
            raw: &rest[..len],
        }))
    }
}

impl std::iter::FusedIterator for Messages<'_> {}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    /// A CTRL_CMD_GETFAMILY request for "netdev", byte per field (x86_64).
    const GETFAMILY_NETDEV: [u8; 32] = [
        0x20, 0x00, 0x00, 0x00, // nlmsg_len 32
        0x10, 0x00, // nlmsg_type GENL_ID_CTRL
        0x05, 0x00, // nlmsg_flags NLM_F_REQUEST | NLM_F_ACK
        0x01, 0x00, 0x00, 0x00, // nlmsg_seq 1
        0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
        0x03, 0x01, 0x00, 0x00, // genlmsghdr: cmd CTRL_CMD_GETFAMILY, version 1
        0x0b, 0x00, 0x02, 0x00, // nla_len 11, CTRL_ATTR_FAMILY_NAME
        b'n', b'e', b't', b'd', b'e', b'v', 0x00, 0x00, // "netdev\0" + 1 pad
    ];

    #[test]
    fn builder_matches_golden() {
        let mut b = MsgBuilder::new(0x10, 0x5, 1, 0).genl(3, 1);
        b.put_str(2, "netdev");
        assert_eq!(b.len(), 32);
        assert_eq!(b.finish(), GETFAMILY_NETDEV);
    }

    #[test]
    fn nests_and_uint() {
        let mut b = MsgBuilder::new(0x20, 1, 2, 3).genl(13, 1);
        let n = b.nest_start(2);
        b.put_u32(1, 4).put_u32(3, 0);
        b.nest_end(n);
        b.put_uint(5, 7).put_uint(6, 1 << 33).put_flag(7);
        let m = b.finish();
        #[rustfmt::skip]
        let expected: &[u8] = &[
            64, 0, 0, 0, 0x20, 0, 1, 0, 2, 0, 0, 0, 3, 0, 0, 0,
            13, 1, 0, 0,
            20, 0, 0x02, 0x80,          // nest 2 | NLA_F_NESTED, len 20
            8, 0, 1, 0, 4, 0, 0, 0,     //   u32 1 = 4
            8, 0, 3, 0, 0, 0, 0, 0,     //   u32 3 = 0
            8, 0, 5, 0, 7, 0, 0, 0,     // uint 5 = 7 in 4 bytes
            12, 0, 6, 0, 0, 0, 0, 0, 2, 0, 0, 0, // uint 6 = 2^33 in 8 bytes
            4, 0, 7, 0,                 // flag 7
        ];
        assert_eq!(m, expected);
    }

    #[test]
    fn walk_two_messages() {
        let mut d = GETFAMILY_NETDEV.to_vec();
        d.extend_from_slice(&GETFAMILY_NETDEV);
        let msgs: Vec<_> = messages(&d).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].offset, 32);
        assert_eq!(msgs[1].raw, &GETFAMILY_NETDEV[..]);
        let (g, mut attrs) = msgs[0].genl_attrs().unwrap();
        assert_eq!((g.cmd, g.version), (3, 1));
        let a = attrs.next().unwrap().unwrap();
        assert_eq!((a.ty, a.offset, a.str()), (2, 20, Ok("netdev")));
    }

    #[test]
    fn truncated_inputs() {
        fn e(b: &[u8]) -> Vec<Result<Msg<'_>, Error>> {
            messages(b).collect()
        }
        assert_eq!(
            e(&GETFAMILY_NETDEV[..10]),
            vec![Err(Error::decode("truncated nlmsghdr", 0))]
        );
        assert_eq!(
            e(&GETFAMILY_NETDEV[..31]),
            vec![Err(Error::decode("nlmsg_len past end of datagram", 0))]
        );
        let mut short = GETFAMILY_NETDEV;
        short[0] = 8;
        assert_eq!(
            e(&short),
            vec![Err(Error::decode("nlmsg_len shorter than nlmsghdr", 0))]
        );
        let mut d = GETFAMILY_NETDEV.to_vec();
        d.extend_from_slice(&[1, 2, 3]);
        let v = e(&d);
        assert_eq!(v.len(), 2);
        assert_eq!(v[1], Err(Error::decode("truncated nlmsghdr", 32)));
        // A 16-byte message has no genl header.
        let m = MsgBuilder::new(0x10, 1, 1, 0).finish();
        let msg = messages(&m).next().unwrap().unwrap();
        assert!(msg.genl().is_err());
    }
}
