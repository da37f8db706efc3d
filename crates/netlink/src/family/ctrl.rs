//! The generic netlink controller, `nlctrl` (net/netlink/genetlink.c): its ops and
//! policies, `CTRL_CMD_GETFAMILY`'s lookup, the `CTRL_CMD_NEWFAMILY` message
//! `ctrl_fill_info()` writes, and a client-side parser for it.

use super::{Family, GENL_DONT_VALIDATE_DUMP, GENL_DONT_VALIDATE_STRICT, SplitOp};
use crate::Error;
use crate::errno::{EINVAL, ENOENT};
use crate::msg::{Msg, MsgBuilder};
use crate::policy::{AttrPolicy, ExtAckError, Parsed, Policy, PolicyType};
use uapi::genetlink::*;

/// `ctrl_policy_family`: family id u16, family name NUL-string of at most
/// `GENL_NAMSIZ - 1` characters.
pub static CTRL_POLICY_FAMILY: Policy = Policy::new(
    "ctrl_policy_family",
    CTRL_ATTR_FAMILY_NAME,
    &[
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::U16),
        AttrPolicy::nul_string((GENL_NAMSIZ - 1) as u16),
    ],
);

/// `ctrl_policy_policy`: as `ctrl_policy_family` plus `CTRL_ATTR_OP` u32.
pub static CTRL_POLICY_POLICY: Policy = Policy::new(
    "ctrl_policy_policy",
    CTRL_ATTR_OP,
    &[
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::U16),
        AttrPolicy::nul_string((GENL_NAMSIZ - 1) as u16),
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::U32),
    ],
);

/// `genl_ctrl_ops[]`: GETFAMILY do (liberal), GETFAMILY dump (strict: the split op
/// keeps its policy despite `GENL_DONT_VALIDATE_DUMP`), GETPOLICY dump (strict).
pub static OPS: [SplitOp; 3] = [
    SplitOp::doit(CTRL_CMD_GETFAMILY, 0, Some(&CTRL_POLICY_FAMILY))
        .validate(GENL_DONT_VALIDATE_STRICT),
    SplitOp::dumpit(CTRL_CMD_GETFAMILY, 0, Some(&CTRL_POLICY_FAMILY))
        .validate(GENL_DONT_VALIDATE_DUMP),
    SplitOp::dumpit(CTRL_CMD_GETPOLICY, 0, Some(&CTRL_POLICY_POLICY)),
];

/// `genl_ctrl`: id `GENL_ID_CTRL`, version 2, `resv_start_op = CTRL_CMD_GETPOLICY + 1`,
/// one multicast group "notify" (group number `GENL_ID_CTRL`). Its `maxattr` is 0: the
/// split-ops controller no longer sets one.
pub static FAMILY: Family = Family {
    name: "nlctrl",
    version: 2,
    hdrsize: 0,
    maxattr: 0,
    netnsok: true,
    resv_start_op: CTRL_CMD_GETPOLICY + 1,
    ops: &OPS,
    mcgrps: &["notify"],
};

/// One op as the controller reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    /// `CTRL_ATTR_OP_ID`: the command.
    pub id: u32,
    /// `CTRL_ATTR_OP_FLAGS`: `GENL_ADMIN_PERM`, `GENL_CMD_CAP_*`.
    pub flags: u32,
}

/// One multicast group as the controller reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McastGroup {
    /// `CTRL_ATTR_MCAST_GRP_NAME`.
    pub name: String,
    /// `CTRL_ATTR_MCAST_GRP_ID`: the netlink group number to join.
    pub id: u32,
}

/// A family as `CTRL_CMD_NEWFAMILY` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyInfo {
    /// `CTRL_ATTR_FAMILY_ID`.
    pub id: u16,
    /// `CTRL_ATTR_FAMILY_NAME`.
    pub name: String,
    /// `CTRL_ATTR_VERSION`.
    pub version: u32,
    /// `CTRL_ATTR_HDRSIZE`.
    pub hdrsize: u32,
    /// `CTRL_ATTR_MAXATTR`.
    pub maxattr: u32,
    /// `CTRL_ATTR_OPS`, in op order.
    pub ops: Vec<OpInfo>,
    /// `CTRL_ATTR_MCAST_GROUPS`, in group order.
    pub mcast_groups: Vec<McastGroup>,
}

/// Kernel: `ctrl_fill_info()`: the controller message describing `info`, from the
/// controller (type `GENL_ID_CTRL`, genl version 2) with the given command (usually
/// `CTRL_CMD_NEWFAMILY`), flags (0 for a GETFAMILY reply, `NLM_F_MULTI` in a dump).
///
/// Attribute order: FAMILY_NAME, FAMILY_ID, VERSION, HDRSIZE, MAXATTR, OPS, MCAST_GROUPS.
/// The OPS / MCAST_GROUPS nests and their entries (numbered from 1) are opened without
/// `NLA_F_NESTED`; a group lists its ID before its NAME.
pub fn family_reply(info: &FamilyInfo, portid: u32, seq: u32, flags: u16, cmd: u8) -> Vec<u8> {
    let mut b = MsgBuilder::new(GENL_ID_CTRL, flags, seq, portid).genl(cmd, FAMILY.version);
    b.put_str(CTRL_ATTR_FAMILY_NAME, &info.name)
        .put_u16(CTRL_ATTR_FAMILY_ID, info.id)
        .put_u32(CTRL_ATTR_VERSION, info.version)
        .put_u32(CTRL_ATTR_HDRSIZE, info.hdrsize)
        .put_u32(CTRL_ATTR_MAXATTR, info.maxattr);
    if !info.ops.is_empty() {
        let ops = b.nest_start_noflag(CTRL_ATTR_OPS);
        for (op, idx) in info.ops.iter().zip(1u16..) {
            let n = b.nest_start_noflag(idx);
            b.put_u32(CTRL_ATTR_OP_ID, op.id)
                .put_u32(CTRL_ATTR_OP_FLAGS, op.flags);
            b.nest_end(n);
        }
        b.nest_end(ops);
    }
    if !info.mcast_groups.is_empty() {
        let grps = b.nest_start_noflag(CTRL_ATTR_MCAST_GROUPS);
        for (g, idx) in info.mcast_groups.iter().zip(1u16..) {
            let n = b.nest_start_noflag(idx);
            b.put_u32(CTRL_ATTR_MCAST_GRP_ID, g.id)
                .put_str(CTRL_ATTR_MCAST_GRP_NAME, &g.name);
            b.nest_end(n);
        }
        b.nest_end(grps);
    }
    b.finish()
}

/// Kernel: `ctrl_getfamily()`'s lookup over the registered `families`: by id, then by
/// name (the name wins when both are given). Neither attribute is `EINVAL`; no match is
/// `ENOENT`. Neither sets an extack message.
pub fn getfamily<'f>(
    attrs: &Parsed<'_>,
    families: &'f [FamilyInfo],
) -> Result<&'f FamilyInfo, ExtAckError> {
    let mut res = None;
    let mut err = EINVAL;
    if let Some(a) = attrs.get(CTRL_ATTR_FAMILY_ID) {
        let id = a.u16().map_err(|_| ExtAckError::new(EINVAL))?;
        res = families.iter().find(|f| f.id == id);
        err = ENOENT;
    }
    if let Some(a) = attrs.get(CTRL_ATTR_FAMILY_NAME) {
        // The name is used as a C string: up to its first NUL (the policy saw one).
        let raw = a.value;
        let name = &raw[..raw.iter().position(|&c| c == 0).unwrap_or(raw.len())];
        res = families.iter().find(|f| f.name.as_bytes() == name);
        err = ENOENT;
    }
    res.ok_or(ExtAckError::new(err))
}

/// Client side: decodes a `CTRL_CMD_NEWFAMILY` message (reply or dump part).
pub fn parse_family(msg: &Msg<'_>) -> Result<FamilyInfo, Error> {
    let (hdr, attrs) = msg.genl_attrs()?;
    if hdr.cmd != CTRL_CMD_NEWFAMILY {
        return Err(Error::decode(
            "not a CTRL_CMD_NEWFAMILY message",
            msg.offset + 16,
        ));
    }
    let mut info = FamilyInfo {
        id: 0,
        name: String::new(),
        version: 0,
        hdrsize: 0,
        maxattr: 0,
        ops: vec![],
        mcast_groups: vec![],
    };
    let (mut have_id, mut have_name) = (false, false);
    for a in attrs {
        let a = a?;
        match a.ty {
            CTRL_ATTR_FAMILY_ID => {
                info.id = a.u16()?;
                have_id = true;
            }
            CTRL_ATTR_FAMILY_NAME => {
                info.name = a.str()?.to_owned();
                have_name = true;
            }
            CTRL_ATTR_VERSION => info.version = a.u32()?,
            CTRL_ATTR_HDRSIZE => info.hdrsize = a.u32()?,
            CTRL_ATTR_MAXATTR => info.maxattr = a.u32()?,
            CTRL_ATTR_OPS => {
                for op in a.attrs() {
                    let mut o = OpInfo { id: 0, flags: 0 };
                    for f in op?.attrs() {
                        let f = f?;
                        match f.ty {
                            CTRL_ATTR_OP_ID => o.id = f.u32()?,
                            CTRL_ATTR_OP_FLAGS => o.flags = f.u32()?,
                            _ => {}
                        }
                    }
                    info.ops.push(o);
                }
            }
            CTRL_ATTR_MCAST_GROUPS => {
                for grp in a.attrs() {
                    let mut g = McastGroup {
                        name: String::new(),
                        id: 0,
                    };
                    for f in grp?.attrs() {
                        let f = f?;
                        match f.ty {
                            CTRL_ATTR_MCAST_GRP_ID => g.id = f.u32()?,
                            CTRL_ATTR_MCAST_GRP_NAME => g.name = f.str()?.to_owned(),
                            _ => {}
                        }
                    }
                    info.mcast_groups.push(g);
                }
            }
            _ => {}
        }
    }
    if !have_id || !have_name {
        return Err(Error::decode(
            "NEWFAMILY without family id or name",
            msg.offset,
        ));
    }
    Ok(info)
}
