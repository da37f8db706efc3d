//! `include/uapi/linux/netlink.h`: netlink protocol numbers, message flags, the
//! `nlmsghdr` / `nlmsgerr` layouts, attribute (`nlattr`) framing constants, socket
//! options, extended-ACK attribute ids and the policy-dump description enums.
//!
//! All multi-byte fields are in host byte order (netlink never crosses a machine);
//! `to_bytes`/`from_bytes` use native endianness for that reason.

/// Routing/device hook (rtnetlink).
pub const NETLINK_ROUTE: i32 = 0;
/// Generic netlink.
pub const NETLINK_GENERIC: i32 = 16;

// --- nlmsg_flags -------------------------------------------------------------------

/// It is a request message.
pub const NLM_F_REQUEST: u16 = 0x01;
/// Multipart message, terminated by `NLMSG_DONE`.
pub const NLM_F_MULTI: u16 = 0x02;
/// Reply with an ack, with zero or an error code.
pub const NLM_F_ACK: u16 = 0x04;
/// Receive resulting notifications.
pub const NLM_F_ECHO: u16 = 0x08;
/// Dump was inconsistent due to a sequence change.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// Dump was filtered as requested.
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;

/// GET modifier: specify tree root.
pub const NLM_F_ROOT: u16 = 0x100;
/// GET modifier: return all matching.
pub const NLM_F_MATCH: u16 = 0x200;
/// GET modifier: atomic GET.
pub const NLM_F_ATOMIC: u16 = 0x400;
/// A dump request: both `NLM_F_ROOT` and `NLM_F_MATCH` (two bits).
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;

/// NEW modifier: override existing.
pub const NLM_F_REPLACE: u16 = 0x100;
/// NEW modifier: do not touch, if it exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// NEW modifier: create, if it does not exist.
pub const NLM_F_CREATE: u16 = 0x400;
/// NEW modifier: add to end of list.
pub const NLM_F_APPEND: u16 = 0x800;

/// DELETE modifier: do not delete recursively.
pub const NLM_F_NONREC: u16 = 0x100;
/// DELETE modifier: delete multiple objects.
pub const NLM_F_BULK: u16 = 0x200;

/// ACK flag: the request was capped (not echoed back in the error message).
pub const NLM_F_CAPPED: u16 = 0x100;
/// ACK flag: extended ACK TLVs were included.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

// --- framing -------------------------------------------------------------------------

/// Alignment of netlink messages.
pub const NLMSG_ALIGNTO: usize = 4;
/// `NLMSG_ALIGN(sizeof(struct nlmsghdr))`.
pub const NLMSG_HDRLEN: usize = 16;

/// `NLMSG_ALIGN(len)`: round up to a multiple of [`NLMSG_ALIGNTO`].
pub const fn nlmsg_align(len: usize) -> usize {
    (len + NLMSG_ALIGNTO - 1) & !(NLMSG_ALIGNTO - 1)
}

/// Nothing.
pub const NLMSG_NOOP: u16 = 0x1;
/// Error (or ACK, when the error is 0).
pub const NLMSG_ERROR: u16 = 0x2;
/// End of a dump.
pub const NLMSG_DONE: u16 = 0x3;
/// Data lost.
pub const NLMSG_OVERRUN: u16 = 0x4;
/// Types below this are reserved control messages.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

/// Alignment of attributes.
pub const NLA_ALIGNTO: usize = 4;
/// `NLA_ALIGN(sizeof(struct nlattr))`.
pub const NLA_HDRLEN: usize = 4;

/// `NLA_ALIGN(len)`: round up to a multiple of [`NLA_ALIGNTO`].
pub const fn nla_align(len: usize) -> usize {
    (len + NLA_ALIGNTO - 1) & !(NLA_ALIGNTO - 1)
}

/// `nla_type` bit: the payload carries nested attributes.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `nla_type` bit: the payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// `nla_type` bits that hold the attribute type.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// --- socket options (level SOL_NETLINK) ----------------------------------------------

/// `setsockopt` level of the options below.
pub const SOL_NETLINK: i32 = 270;
pub const NETLINK_ADD_MEMBERSHIP: i32 = 1;
pub const NETLINK_DROP_MEMBERSHIP: i32 = 2;
pub const NETLINK_PKTINFO: i32 = 3;
pub const NETLINK_BROADCAST_ERROR: i32 = 4;
pub const NETLINK_NO_ENOBUFS: i32 = 5;
pub const NETLINK_LISTEN_ALL_NSID: i32 = 8;
pub const NETLINK_LIST_MEMBERSHIPS: i32 = 9;
/// Do not echo the request back in error messages.
pub const NETLINK_CAP_ACK: i32 = 10;
/// Append extended-ACK TLVs to error/ack messages.
pub const NETLINK_EXT_ACK: i32 = 11;
/// Strict checking of dump requests (rtnetlink).
pub const NETLINK_GET_STRICT_CHK: i32 = 12;

// --- enum nlmsgerr_attrs -------------------------------------------------------------

pub const NLMSGERR_ATTR_UNUSED: u16 = 0;
/// Error message string (NUL-terminated).
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// u32: offset of the invalid attribute, counted from the start of the request's
/// `nlmsghdr`.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// Binary cookie, in the success case.
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
/// Nest: policy of the rejected attribute (`NL_POLICY_TYPE_ATTR_*`).
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
/// u32: type of a missing required attribute.
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
/// u32: offset of the nest the attribute was missing from.
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;
pub const NLMSGERR_ATTR_MAX: u16 = 6;

// --- enum netlink_attribute_type ----------------------------------------------------

pub const NL_ATTR_TYPE_INVALID: u32 = 0;
pub const NL_ATTR_TYPE_FLAG: u32 = 1;
pub const NL_ATTR_TYPE_U8: u32 = 2;
pub const NL_ATTR_TYPE_U16: u32 = 3;
pub const NL_ATTR_TYPE_U32: u32 = 4;
pub const NL_ATTR_TYPE_U64: u32 = 5;
pub const NL_ATTR_TYPE_S8: u32 = 6;
pub const NL_ATTR_TYPE_S16: u32 = 7;
pub const NL_ATTR_TYPE_S32: u32 = 8;
pub const NL_ATTR_TYPE_S64: u32 = 9;
pub const NL_ATTR_TYPE_BINARY: u32 = 10;
pub const NL_ATTR_TYPE_STRING: u32 = 11;
pub const NL_ATTR_TYPE_NUL_STRING: u32 = 12;
pub const NL_ATTR_TYPE_NESTED: u32 = 13;
pub const NL_ATTR_TYPE_NESTED_ARRAY: u32 = 14;
pub const NL_ATTR_TYPE_BITFIELD32: u32 = 15;
pub const NL_ATTR_TYPE_SINT: u32 = 16;
pub const NL_ATTR_TYPE_UINT: u32 = 17;

// --- enum netlink_policy_type_attr ---------------------------------------------------

pub const NL_POLICY_TYPE_ATTR_UNSPEC: u16 = 0;
/// u32: `NL_ATTR_TYPE_*`.
pub const NL_POLICY_TYPE_ATTR_TYPE: u16 = 1;
/// s64: minimum for signed integers.
pub const NL_POLICY_TYPE_ATTR_MIN_VALUE_S: u16 = 2;
/// s64: maximum for signed integers.
pub const NL_POLICY_TYPE_ATTR_MAX_VALUE_S: u16 = 3;
/// u64: minimum for unsigned integers.
pub const NL_POLICY_TYPE_ATTR_MIN_VALUE_U: u16 = 4;
/// u64: maximum for unsigned integers.
pub const NL_POLICY_TYPE_ATTR_MAX_VALUE_U: u16 = 5;
/// u32: minimum length of binary attributes.
pub const NL_POLICY_TYPE_ATTR_MIN_LENGTH: u16 = 6;
/// u32: maximum length of binary attributes.
pub const NL_POLICY_TYPE_ATTR_MAX_LENGTH: u16 = 7;
/// u32: sub-policy index for nested types.
pub const NL_POLICY_TYPE_ATTR_POLICY_IDX: u16 = 8;
/// u32: maximum sub-policy attribute for nested types.
pub const NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE: u16 = 9;
/// u32: valid mask of a bitfield32.
pub const NL_POLICY_TYPE_ATTR_BITFIELD32_MASK: u16 = 10;
/// Padding for 64-bit alignment.
pub const NL_POLICY_TYPE_ATTR_PAD: u16 = 11;
/// u64: mask of valid bits for unsigned integers.
pub const NL_POLICY_TYPE_ATTR_MASK: u16 = 12;
pub const NL_POLICY_TYPE_ATTR_MAX: u16 = 12;

use crate::TooShort;
use crate::layout::{field, prefix};

// --- struct nlmsghdr -----------------------------------------------------------------

/// Kernel: `struct nlmsghdr`, the fixed header of every netlink message (16 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
/// +---------------------------------------------------------------+
/// |                 nlmsg_len (u32, incl. this header)            |  0
/// +-------------------------------+-------------------------------+
/// |       nlmsg_type (u16)        |       nlmsg_flags (u16)       |  4
/// +-------------------------------+-------------------------------+
/// |                        nlmsg_seq (u32)                        |  8
/// +---------------------------------------------------------------+
/// |                 nlmsg_pid (u32, sender port id)               | 12
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NlMsgHdr {
    pub nlmsg_len: u32,
    pub nlmsg_type: u16,
    pub nlmsg_flags: u16,
    pub nlmsg_seq: u32,
    pub nlmsg_pid: u32,
}

impl NlMsgHdr {
    /// Size on the wire.
    pub const LEN: usize = 16;

    /// Host-order bytes of the header.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.nlmsg_len.to_ne_bytes());
        b[4..6].copy_from_slice(&self.nlmsg_type.to_ne_bytes());
        b[6..8].copy_from_slice(&self.nlmsg_flags.to_ne_bytes());
        b[8..12].copy_from_slice(&self.nlmsg_seq.to_ne_bytes());
        b[12..16].copy_from_slice(&self.nlmsg_pid.to_ne_bytes());
        b
    }

    /// Reads the header from the first 16 bytes; fails on shorter input.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::LEN }>(buf)?;
        Ok(Self {
            nlmsg_len: u32::from_ne_bytes(field(b, 0)),
            nlmsg_type: u16::from_ne_bytes(field(b, 4)),
            nlmsg_flags: u16::from_ne_bytes(field(b, 6)),
            nlmsg_seq: u32::from_ne_bytes(field(b, 8)),
            nlmsg_pid: u32::from_ne_bytes(field(b, 12)),
        })
    }
}

/// Kernel: `struct nlmsgerr`, the payload of an `NLMSG_ERROR` message (20 bytes),
/// followed by the request's payload unless capped, then by `NLMSGERR_ATTR_*` TLVs when
/// `NLM_F_ACK_TLVS` is set.
///
/// ```text
///  0               1               2               3
/// +---------------------------------------------------------------+
/// |            error (s32: 0 = ACK, else -errno)                  |  0
/// +---------------------------------------------------------------+
/// |                                                               |
/// +        msg: the request's struct nlmsghdr (16 bytes),         +  4
/// |             copied unchanged (its own nlmsg_len)              |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NlMsgErr {
    pub error: i32,
    pub msg: NlMsgHdr,
}

impl NlMsgErr {
    /// Size on the wire.
    pub const LEN: usize = 20;

    /// Host-order bytes of the structure.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0..4].copy_from_slice(&self.error.to_ne_bytes());
        b[4..20].copy_from_slice(&self.msg.to_bytes());
        b
    }

    /// Reads the structure from the first 20 bytes; fails on shorter input.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::LEN }>(buf)?;
        Ok(Self {
            error: i32::from_ne_bytes(field(b, 0)),
            msg: NlMsgHdr::from_bytes(&b[4..])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align() {
        assert_eq!(nlmsg_align(0), 0);
        assert_eq!(nlmsg_align(1), 4);
        assert_eq!(nlmsg_align(17), 20);
        assert_eq!(nla_align(5), 8);
        assert_eq!(nla_align(8), 8);
        assert_eq!(NLA_TYPE_MASK, 0x3fff);
        assert_eq!(NLM_F_DUMP, 0x300);
    }

    #[test]
    fn nlmsghdr_round_trip() {
        let h = NlMsgHdr {
            nlmsg_len: 36,
            nlmsg_type: 2,
            nlmsg_flags: 0x300,
            nlmsg_seq: 7,
            nlmsg_pid: 99,
        };
        let b = h.to_bytes();
        #[cfg(target_endian = "little")]
        assert_eq!(b, [36, 0, 0, 0, 2, 0, 0, 3, 7, 0, 0, 0, 99, 0, 0, 0]);
        assert_eq!(NlMsgHdr::from_bytes(&b), Ok(h));
        assert_eq!(
            NlMsgHdr::from_bytes(&b[..15]),
            Err(TooShort {
                needed: 16,
                got: 15
            })
        );
    }

    #[test]
    fn nlmsgerr_round_trip() {
        let e = NlMsgErr {
            error: -22,
            msg: NlMsgHdr {
                nlmsg_len: 20,
                nlmsg_type: 0x10,
                ..Default::default()
            },
        };
        let b = e.to_bytes();
        #[cfg(target_endian = "little")]
        assert_eq!(&b[..8], &[0xea, 0xff, 0xff, 0xff, 20, 0, 0, 0]);
        assert_eq!(NlMsgErr::from_bytes(&b), Ok(e));
        assert!(NlMsgErr::from_bytes(&b[..19]).is_err());
    }

    #[test]
    fn matches_libc() {
        assert_eq!(NETLINK_GENERIC, libc::NETLINK_GENERIC);
        assert_eq!(NETLINK_ROUTE, libc::NETLINK_ROUTE);
        assert_eq!(SOL_NETLINK, libc::SOL_NETLINK);
        assert_eq!(NETLINK_EXT_ACK, libc::NETLINK_EXT_ACK);
        assert_eq!(NETLINK_CAP_ACK, libc::NETLINK_CAP_ACK);
        assert_eq!(NETLINK_GET_STRICT_CHK, libc::NETLINK_GET_STRICT_CHK);
        assert_eq!(NLM_F_ACK_TLVS as i32, libc::NLM_F_ACK_TLVS);
        assert_eq!(NLM_F_CAPPED as i32, libc::NLM_F_CAPPED);
        assert_eq!(NLMSG_ERROR as i32, libc::NLMSG_ERROR);
        assert_eq!(NLA_F_NESTED as i32, libc::NLA_F_NESTED);
    }
}
