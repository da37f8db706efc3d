//! Attribute TLVs (`struct nlattr`) and nests, read-only.
//!
//! ```text
//!  <------- NLA_HDRLEN ------> <-- NLA_ALIGN(payload)-->
//! +---------------------+- - -+- - - - - - - - - -+- - -+
//! | nla_len | nla_type  | Pad |     Payload       | Pad |
//! +---------------------+- - -+- - - - - - - - - -+- - -+
//!  <-------------- nla_len -------------------->
//! ```
//!
//! Two walkers exist, with different rules, both modelled on the kernel:
//!
//! - [`Attrs`] (this module) is the reader for code that consumes attributes (clients,
//!   handlers after validation). Like `nla_for_each_attr()` it ignores trailing bytes
//!   shorter than an attribute header, but unlike it, a header whose `nla_len` is below
//!   4 or runs past the buffer is reported as an [`Error`] instead of silently ending
//!   the walk.
//! - [`crate::policy::parse`] is the kernel's validating walk, `__nla_validate_parse()`:
//!   it stops at the first header that fails `nla_ok()` and counts what is left as
//!   "bytes leftover", which is an error only under `NL_VALIDATE_TRAILING` (strict).

use crate::Error;
use uapi::netlink::{NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, nla_align};

/// One attribute, borrowed from the message it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Attribute type, masked with `NLA_TYPE_MASK` (kernel: `nla_type()`).
    pub ty: u16,
    /// `NLA_F_NESTED` was set.
    pub nested: bool,
    /// `NLA_F_NET_BYTEORDER` was set.
    pub net_byteorder: bool,
    /// The payload: `nla_len - NLA_HDRLEN` bytes, without the trailing padding.
    pub value: &'a [u8],
    /// Offset of this attribute's header from the start of the `nlmsghdr` of the
    /// message it is in (what `NLMSGERR_ATTR_OFFS` reports).
    pub offset: usize,
}

macro_rules! fixed_getter {
    ($(#[$doc:meta])* $name:ident, $t:ty, $what:literal) => {
        $(#[$doc])*
        pub fn $name(&self) -> Result<$t, Error> {
            let b: [u8; size_of::<$t>()] =
                self.value.try_into().map_err(|_| Error::decode($what, self.offset))?;
            Ok(<$t>::from_ne_bytes(b))
        }
    };
}

impl<'a> Attr<'a> {
    /// The raw 16-bit `nla_type` as it was on the wire, flags included.
    pub fn raw_type(&self) -> u16 {
        let mut t = self.ty;
        if self.nested {
            t |= NLA_F_NESTED;
        }
        if self.net_byteorder {
            t |= NLA_F_NET_BYTEORDER;
        }
        t
    }

    /// `nla_len`: header plus payload, without padding.
    pub fn nla_len(&self) -> usize {
        NLA_HDRLEN + self.value.len()
    }

    fixed_getter!(
        /// Exactly 1 byte.
        u8, u8, "u8 attribute is not 1 byte"
    );
    fixed_getter!(
        /// Exactly 2 bytes, host order.
        u16, u16, "u16 attribute is not 2 bytes"
    );
    fixed_getter!(
        /// Exactly 4 bytes, host order.
        u32, u32, "u32 attribute is not 4 bytes"
    );
    fixed_getter!(
        /// Exactly 8 bytes, host order.
        u64, u64, "u64 attribute is not 8 bytes"
    );
    fixed_getter!(
        /// Exactly 1 byte, signed.
        s8, i8, "s8 attribute is not 1 byte"
    );
    fixed_getter!(
        /// Exactly 2 bytes, signed.
        s16, i16, "s16 attribute is not 2 bytes"
    );
    fixed_getter!(
        /// Exactly 4 bytes, signed.
        s32, i32, "s32 attribute is not 4 bytes"
    );
    fixed_getter!(
        /// Exactly 8 bytes, signed.
        s64, i64, "s64 attribute is not 8 bytes"
    );

    /// `NLA_UINT`: 4 or 8 bytes. Kernel: `nla_get_uint()`.
    pub fn uint(&self) -> Result<u64, Error> {
        match self.value.len() {
            4 => self.u32().map(u64::from),
            8 => self.u64(),
            _ => Err(Error::decode(
                "uint attribute is not 4 or 8 bytes",
                self.offset,
            )),
        }
    }

    /// `NLA_SINT`: 4 or 8 bytes, sign-extended. Kernel: `nla_get_sint()`.
    pub fn sint(&self) -> Result<i64, Error> {
        match self.value.len() {
            4 => self.s32().map(i64::from),
            8 => self.s64(),
            _ => Err(Error::decode(
                "sint attribute is not 4 or 8 bytes",
                self.offset,
            )),
        }
    }

    /// A NUL-terminated UTF-8 string (as `nla_put_string()` writes it); the text before
    /// the first NUL.
    pub fn str(&self) -> Result<&'a str, Error> {
        let value = self.value;
        let nul = value.iter().position(|&b| b == 0).ok_or(Error::decode(
            "string attribute is not NUL-terminated",
            self.offset,
        ))?;
        std::str::from_utf8(&value[..nul])
            .map_err(|_| Error::decode("string attribute is not UTF-8", self.offset))
    }

    /// The payload as is.
    pub fn bytes(&self) -> &'a [u8] {
        self.value
    }

    /// The payload read as nested attributes; offsets stay relative to the message.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs::new(self.value, self.offset + NLA_HDRLEN)
    }
}

/// Iterator over a stream of attributes.
///
/// Yields `Err` once and then stops when a header's `nla_len` is below `NLA_HDRLEN` or
/// past the end of the buffer. Trailing bytes too short for a header are ignored, as
/// `nla_for_each_attr()` ignores them; [`Attrs::leftover`] tells how many there were.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    buf: &'a [u8],
    base_offset: usize,
    pos: usize,
    failed: bool,
}

impl<'a> Attrs<'a> {
    /// Walks `buf`, whose first byte sits `base_offset` bytes after the start of the
    /// message's `nlmsghdr`.
    pub fn new(buf: &'a [u8], base_offset: usize) -> Self {
        Self {
            buf,
            base_offset,
            pos: 0,
            failed: false,
        }
    }

    /// Bytes not consumed so far (after the walk: trailing bytes too short for a header).
    pub fn leftover(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let rest = self.buf.get(self.pos..)?;
        if rest.len() < NLA_HDRLEN {
            return None;
        }
        let offset = self.base_offset + self.pos;
        let nla_len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let raw_type = u16::from_ne_bytes([rest[2], rest[3]]);
        if nla_len < NLA_HDRLEN {
            self.failed = true;
            return Some(Err(Error::decode(
                "nla_len shorter than attribute header",
                offset,
            )));
        }
        if nla_len > rest.len() {
            self.failed = true;
            return Some(Err(Error::decode("nla_len past end of buffer", offset)));
        }
        self.pos += nla_align(nla_len);
        Some(Ok(Attr {
            ty: raw_type & NLA_TYPE_MASK,
            nested: raw_type & NLA_F_NESTED != 0,
            net_byteorder: raw_type & NLA_F_NET_BYTEORDER != 0,
            value: &rest[NLA_HDRLEN..nla_len],
            offset,
        }))
    }
}

impl std::iter::FusedIterator for Attrs<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(value: &[u8]) -> Attr<'_> {
        Attr {
            ty: 1,
            nested: false,
            net_byteorder: false,
            value,
            offset: 20,
        }
    }

    #[test]
    fn exact_length_getters() {
        assert_eq!(attr(&[7]).u8(), Ok(7));
        assert_eq!(attr(&7u32.to_ne_bytes()).u32(), Ok(7));
        assert_eq!(
            attr(&[7, 0]).u32(),
            Err(Error::decode("u32 attribute is not 4 bytes", 20))
        );
        assert!(attr(&[1, 2, 3, 4, 5]).u32().is_err());
        assert_eq!(attr(&(-5i32).to_ne_bytes()).s32(), Ok(-5));
        assert_eq!(attr(&9u32.to_ne_bytes()).uint(), Ok(9));
        assert_eq!(attr(&(1u64 << 40).to_ne_bytes()).uint(), Ok(1 << 40));
        assert!(attr(&[0; 6]).uint().is_err());
        assert_eq!(attr(&(-3i32).to_ne_bytes()).sint(), Ok(-3));
        assert_eq!(attr(b"eth0\0").str(), Ok("eth0"));
        assert!(attr(b"eth0").str().is_err());
        assert!(attr(&[0xff, 0]).str().is_err());
    }

    #[test]
    fn walk_and_offsets() {
        // u32 attr type 1 = 5, then nested type 2 (NLA_F_NESTED) holding u8 type 3 = 9.
        let mut b = Vec::new();
        b.extend_from_slice(&8u16.to_ne_bytes());
        b.extend_from_slice(&1u16.to_ne_bytes());
        b.extend_from_slice(&5u32.to_ne_bytes());
        b.extend_from_slice(&12u16.to_ne_bytes());
        b.extend_from_slice(&(2u16 | NLA_F_NESTED).to_ne_bytes());
        b.extend_from_slice(&5u16.to_ne_bytes());
        b.extend_from_slice(&3u16.to_ne_bytes());
        b.extend_from_slice(&[9, 0, 0, 0]);
        b.extend_from_slice(&[0xaa, 0xbb]); // too short for a header: ignored
        let mut it = Attrs::new(&b, 20);
        let a = it.next().unwrap().unwrap();
        assert_eq!((a.ty, a.offset, a.u32()), (1, 20, Ok(5)));
        let n = it.next().unwrap().unwrap();
        assert_eq!((n.ty, n.nested, n.offset), (2, true, 28));
        let inner: Vec<_> = n.attrs().collect();
        assert_eq!(inner.len(), 1);
        let i = inner[0].unwrap();
        assert_eq!((i.ty, i.offset, i.u8()), (3, 32, Ok(9)));
        assert!(it.next().is_none());
        assert_eq!(it.leftover(), 2);
    }

    #[test]
    fn truncated_attribute_is_an_error() {
        let b = [12u8, 0, 1, 0, 1, 2, 3, 4];
        let mut it = Attrs::new(&b, 4);
        assert_eq!(
            it.next(),
            Some(Err(Error::decode("nla_len past end of buffer", 4)))
        );
        assert_eq!(it.next(), None);
        let b = [2u8, 0, 1, 0];
        assert_eq!(
            Attrs::new(&b, 0).next(),
            Some(Err(Error::decode(
                "nla_len shorter than attribute header",
                0
            )))
        );
    }
}
