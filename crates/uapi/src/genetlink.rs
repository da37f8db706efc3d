//! `include/uapi/linux/genetlink.h`: the generic netlink header, op flags, reserved
//! family ids and the controller (`nlctrl`) commands and attributes.

use crate::TooShort;
use crate::layout::{field, prefix};
use crate::netlink::NLMSG_MIN_TYPE;

/// Length of a family name, including the terminating NUL.
pub const GENL_NAMSIZ: usize = 16;
/// Lowest family id.
pub const GENL_MIN_ID: u16 = NLMSG_MIN_TYPE;
/// Highest family id.
pub const GENL_MAX_ID: u16 = 1023;

/// `NLMSG_ALIGN(sizeof(struct genlmsghdr))`.
pub const GENL_HDRLEN: usize = 4;

/// Op flag: the caller needs `CAP_NET_ADMIN` in the initial user namespace.
pub const GENL_ADMIN_PERM: u8 = 0x01;
/// Op flag (as reported by the controller): the op has a `doit`.
pub const GENL_CMD_CAP_DO: u8 = 0x02;
/// Op flag (as reported by the controller): the op has a `dumpit`.
pub const GENL_CMD_CAP_DUMP: u8 = 0x04;
/// Op flag (as reported by the controller): the op has an attribute policy.
pub const GENL_CMD_CAP_HASPOL: u8 = 0x08;
/// Op flag: the caller needs `CAP_NET_ADMIN` in the netns owner's user namespace.
pub const GENL_UNS_ADMIN_PERM: u8 = 0x10;

/// The controller's fixed family id.
pub const GENL_ID_CTRL: u16 = NLMSG_MIN_TYPE;
pub const GENL_ID_VFS_DQUOT: u16 = NLMSG_MIN_TYPE + 1;
pub const GENL_ID_PMCRAID: u16 = NLMSG_MIN_TYPE + 2;
/// First dynamically allocated family id.
pub const GENL_START_ALLOC: u16 = NLMSG_MIN_TYPE + 3;

// --- controller commands -------------------------------------------------------------

pub const CTRL_CMD_UNSPEC: u8 = 0;
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
pub const CTRL_CMD_DELFAMILY: u8 = 2;
pub const CTRL_CMD_GETFAMILY: u8 = 3;
pub const CTRL_CMD_NEWOPS: u8 = 4;
pub const CTRL_CMD_DELOPS: u8 = 5;
pub const CTRL_CMD_GETOPS: u8 = 6;
pub const CTRL_CMD_NEWMCAST_GRP: u8 = 7;
pub const CTRL_CMD_DELMCAST_GRP: u8 = 8;
/// Unused by the kernel.
pub const CTRL_CMD_GETMCAST_GRP: u8 = 9;
pub const CTRL_CMD_GETPOLICY: u8 = 10;
pub const CTRL_CMD_MAX: u8 = 10;

// --- controller attributes -----------------------------------------------------------

pub const CTRL_ATTR_UNSPEC: u16 = 0;
/// u16.
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// NUL-terminated string, at most `GENL_NAMSIZ - 1` characters.
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// u32.
pub const CTRL_ATTR_VERSION: u16 = 3;
/// u32.
pub const CTRL_ATTR_HDRSIZE: u16 = 4;
/// u32.
pub const CTRL_ATTR_MAXATTR: u16 = 5;
/// Nest of per-op nests (`CTRL_ATTR_OP_*`), indexed from 1.
pub const CTRL_ATTR_OPS: u16 = 6;
/// Nest of per-group nests (`CTRL_ATTR_MCAST_GRP_*`), indexed from 1.
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
pub const CTRL_ATTR_POLICY: u16 = 8;
pub const CTRL_ATTR_OP_POLICY: u16 = 9;
/// u32.
pub const CTRL_ATTR_OP: u16 = 10;
pub const CTRL_ATTR_MAX: u16 = 10;

pub const CTRL_ATTR_OP_UNSPEC: u16 = 0;
/// u32: the command.
pub const CTRL_ATTR_OP_ID: u16 = 1;
/// u32: `GENL_*` op flags.
pub const CTRL_ATTR_OP_FLAGS: u16 = 2;
pub const CTRL_ATTR_OP_MAX: u16 = 2;

pub const CTRL_ATTR_MCAST_GRP_UNSPEC: u16 = 0;
/// String.
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// u32: the netlink multicast group number.
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
pub const CTRL_ATTR_MCAST_GRP_MAX: u16 = 2;

pub const CTRL_ATTR_POLICY_UNSPEC: u16 = 0;
pub const CTRL_ATTR_POLICY_DO: u16 = 1;
pub const CTRL_ATTR_POLICY_DUMP: u16 = 2;
pub const CTRL_ATTR_POLICY_DUMP_MAX: u16 = 2;

/// Kernel: `struct genlmsghdr`, the 4-byte header after `nlmsghdr` in every generic
/// netlink message.
///
/// ```text
///  0               1               2               3
/// +---------------+---------------+-------------------------------+
/// |   cmd (u8)    | version (u8)  |     reserved (u16, zero)      |
/// +---------------+---------------+-------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct GenlMsgHdr {
    pub cmd: u8,
    pub version: u8,
    pub reserved: u16,
}

impl GenlMsgHdr {
    /// Size on the wire.
    pub const LEN: usize = GENL_HDRLEN;

    /// Host-order bytes of the header.
    pub fn to_bytes(&self) -> [u8; Self::LEN] {
        let r = self.reserved.to_ne_bytes();
        [self.cmd, self.version, r[0], r[1]]
    }

    /// Reads the header from the first 4 bytes; fails on shorter input.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::LEN }>(buf)?;
        Ok(Self {
            cmd: b[0],
            version: b[1],
            reserved: u16::from_ne_bytes(field(b, 2)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genlmsghdr_round_trip() {
        let h = GenlMsgHdr {
            cmd: CTRL_CMD_GETFAMILY,
            version: 1,
            reserved: 0,
        };
        assert_eq!(h.to_bytes(), [3, 1, 0, 0]);
        assert_eq!(GenlMsgHdr::from_bytes(&[3, 1, 0, 0, 9]), Ok(h));
        assert_eq!(
            GenlMsgHdr::from_bytes(&[3, 1, 0]),
            Err(TooShort { needed: 4, got: 3 })
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(GENL_ID_CTRL, 16);
        assert_eq!(CTRL_ATTR_OP, 10);
        assert_eq!(CTRL_CMD_GETPOLICY, 10);
        assert_eq!(GENL_UNS_ADMIN_PERM, 0x10);
    }
}
