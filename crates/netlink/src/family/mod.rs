//! Generic netlink families as data, and the kernel's per-message dispatch
//! (`genl_family_rcv_msg()`, net/netlink/genetlink.c).
//!
//! A [`Family`] is a `struct genl_family` with split ops ([`SplitOp`] =
//! `struct genl_split_ops`: one entry per do / dump). [`Family::rcv_msg`] runs the
//! kernel's checks in order:
//!
//! 1. `nlmsg_len` too short for the genl (+ family) header: `EINVAL`, no message.
//! 2. `genl_header_check()` for cmds at or above `resv_start_op` (all cmds of a family
//!    that leaves it 0, as the YNL-generated ones do): `EINVAL` "genlmsghdr.reserved
//!    field is not 0" or "ambiguous or reserved bits set in nlmsg_flags".
//! 3. no op for (cmd, do/dump): `EOPNOTSUPP`.
//! 4. `GENL_ADMIN_PERM` without `CAP_NET_ADMIN` (init user ns), `GENL_UNS_ADMIN_PERM`
//!    without it in the netns owner's user ns: `EPERM`.
//! 5. attributes, when the op has a maxattr: strict validation unless the op sets
//!    `GENL_DONT_VALIDATE_STRICT` (do) / `GENL_DONT_VALIDATE_DUMP_STRICT` (dump).
//!    An op without maxattr ignores attributes entirely.

pub mod ctrl;
pub mod netdev;

use crate::errno::{EINVAL, EOPNOTSUPP, EPERM};
use crate::msg::Msg;
use crate::policy::{AttrPolicy, ExtAckError, Parsed, Policy, Strictness, parse};
use uapi::genetlink::*;
use uapi::netlink::{NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO, NLM_F_REQUEST, NLMSG_HDRLEN, nlmsg_align};

/// Kernel: `GENL_DONT_VALIDATE_STRICT` (`enum genl_validate_flags`).
pub const GENL_DONT_VALIDATE_STRICT: u8 = 1 << 0;
/// Kernel: `GENL_DONT_VALIDATE_DUMP`.
pub const GENL_DONT_VALIDATE_DUMP: u8 = 1 << 1;
/// Kernel: `GENL_DONT_VALIDATE_DUMP_STRICT`.
pub const GENL_DONT_VALIDATE_DUMP_STRICT: u8 = 1 << 2;

/// Kernel: `struct genl_split_ops`, without the handlers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOp {
    /// The command.
    pub cmd: u8,
    /// `GENL_CMD_CAP_DO` or `GENL_CMD_CAP_DUMP` (exactly one), plus `GENL_ADMIN_PERM` /
    /// `GENL_UNS_ADMIN_PERM`.
    pub flags: u8,
    /// `policy` and `maxattr` (taken as `policy.maxattr`); `None` = no attributes parsed.
    pub policy: Option<&'static Policy>,
    /// `GENL_DONT_VALIDATE_*`.
    pub validate: u8,
}

impl SplitOp {
    /// A `doit` entry.
    pub const fn doit(cmd: u8, perm: u8, policy: Option<&'static Policy>) -> Self {
        Self {
            cmd,
            flags: perm | GENL_CMD_CAP_DO,
            policy,
            validate: 0,
        }
    }

    /// A `dumpit` entry.
    pub const fn dumpit(cmd: u8, perm: u8, policy: Option<&'static Policy>) -> Self {
        Self {
            cmd,
            flags: perm | GENL_CMD_CAP_DUMP,
            policy,
            validate: 0,
        }
    }

    /// With `GENL_DONT_VALIDATE_*` flags.
    pub const fn validate(mut self, validate: u8) -> Self {
        self.validate = validate;
        self
    }

    /// `maxattr` of the op.
    pub fn maxattr(&self) -> u16 {
        self.policy.map_or(0, |p| p.maxattr)
    }
}

/// Kernel: `struct genl_family` (the parts that shape messages).
#[derive(Debug, Clone, Copy)]
pub struct Family {
    /// `name`.
    pub name: &'static str,
    /// `version`, put in every reply's genl header.
    pub version: u8,
    /// `hdrsize`: a fixed family header after the genl header.
    pub hdrsize: u16,
    /// `maxattr` of the family (0 for split-ops families).
    pub maxattr: u32,
    /// `netnsok`.
    pub netnsok: bool,
    /// `resv_start_op`: header checks apply to cmds at or above it.
    pub resv_start_op: u8,
    /// `split_ops`, sorted by cmd, do before dump.
    pub ops: &'static [SplitOp],
    /// `mcgrps` names, in index order.
    pub mcgrps: &'static [&'static str],
}

/// What the caller holds, for the permission checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Caps {
    /// `netlink_capable(skb, CAP_NET_ADMIN)`: in the initial user namespace.
    pub net_admin: bool,
    /// `netlink_ns_capable(skb, net->user_ns, CAP_NET_ADMIN)`.
    pub ns_net_admin: bool,
}

/// A request that passed `genl_family_rcv_msg()`'s checks.
#[derive(Debug, Clone)]
pub struct GenlRequest<'a> {
    /// The op that will run.
    pub op: SplitOp,
    /// The request's genl header.
    pub hdr: GenlMsgHdr,
    /// `NLM_F_DUMP` was set.
    pub dump: bool,
    /// The validated attributes (`info->attrs`); `None` when the op has no maxattr.
    pub attrs: Option<Parsed<'a>>,
}

impl<'a> GenlRequest<'a> {
    /// `GENL_REQ_ATTR_CHECK()`: a required top-level attribute.
    pub fn require(&self, ty: u16) -> Result<crate::attr::Attr<'a>, ExtAckError> {
        match &self.attrs {
            Some(p) => p.require(ty, None),
            None => Err(ExtAckError::new(EINVAL).missing(ty, None)),
        }
    }

    /// `info->attrs[ty]`.
    pub fn get(&self, ty: u16) -> Option<crate::attr::Attr<'a>> {
        self.attrs.as_ref().and_then(|p| p.get(ty))
    }
}

/// Kernel: `genl_policy_reject_all`, what the controller reports for ops without a
/// policy (maxattr 1, type 1 rejected).
pub static REJECT_ALL: Policy = Policy::new(
    "genl_policy_reject_all",
    1,
    &[AttrPolicy::reject(None), AttrPolicy::reject(None)],
);

impl Family {
    /// Kernel: `genl_get_cmd()` for split ops: the entry for `cmd` with `cap`
    /// (`GENL_CMD_CAP_DO` or `GENL_CMD_CAP_DUMP`).
    pub fn op(&self, cmd: u8, cap: u8) -> Option<&SplitOp> {
        self.ops.iter().find(|o| o.cmd == cmd && o.flags & cap != 0)
    }

    /// Kernel: `genl_family_rcv_msg()` up to the handler: header, op lookup,
    /// permissions and attribute validation. See the module docs for the order.
    pub fn rcv_msg<'a>(&self, msg: &Msg<'a>, caps: Caps) -> Result<GenlRequest<'a>, ExtAckError> {
        let hdrlen = GENL_HDRLEN + usize::from(self.hdrsize);
        if (msg.hdr.nlmsg_len as usize) < NLMSG_HDRLEN + hdrlen || msg.payload.len() < hdrlen {
            return Err(ExtAckError::new(EINVAL));
        }
        let hdr = GenlMsgHdr::from_bytes(msg.payload).map_err(|_| ExtAckError::new(EINVAL))?;
        self.header_check(msg, &hdr)?;

        let dump = msg.hdr.nlmsg_flags & NLM_F_DUMP == NLM_F_DUMP;
        let cap = if dump {
            GENL_CMD_CAP_DUMP
        } else {
            GENL_CMD_CAP_DO
        };
        let op = *self.op(hdr.cmd, cap).ok_or(ExtAckError::new(EOPNOTSUPP))?;
        if op.flags & GENL_ADMIN_PERM != 0 && !caps.net_admin {
            return Err(ExtAckError::new(EPERM));
        }
        if op.flags & GENL_UNS_ADMIN_PERM != 0 && !caps.ns_net_admin {
            return Err(ExtAckError::new(EPERM));
        }

        let no_strict = if dump {
            GENL_DONT_VALIDATE_DUMP_STRICT
        } else {
            GENL_DONT_VALIDATE_STRICT
        };
        let attrs = match op.policy {
            Some(policy) if policy.maxattr != 0 => {
                let strict = if op.validate & no_strict != 0 {
                    Strictness::LIBERAL
                } else {
                    Strictness::STRICT
                };
                // Kernel: __nlmsg_parse(): attributes start after NLMSG_ALIGN(hdrlen).
                let start = nlmsg_align(hdrlen);
                let buf = msg.payload.get(start..).unwrap_or(&[]);
                Some(parse(policy, buf, NLMSG_HDRLEN + start, strict)?)
            }
            _ => None,
        };
        Ok(GenlRequest {
            op,
            hdr,
            dump,
            attrs,
        })
    }

    /// Kernel: `genl_header_check()`.
    fn header_check(&self, msg: &Msg<'_>, hdr: &GenlMsgHdr) -> Result<(), ExtAckError> {
        if hdr.cmd < self.resv_start_op {
            return Ok(());
        }
        if hdr.reserved != 0 {
            return Err(ExtAckError::new(EINVAL).msg("genlmsghdr.reserved field is not 0"));
        }
        let mut flags = msg.hdr.nlmsg_flags;
        if flags & NLM_F_DUMP == NLM_F_DUMP {
            flags &= !NLM_F_DUMP;
        }
        if flags & !(NLM_F_REQUEST | NLM_F_ACK | NLM_F_ECHO) != 0 {
            return Err(
                ExtAckError::new(EINVAL).msg("ambiguous or reserved bits set in nlmsg_flags")
            );
        }
        Ok(())
    }

    /// The controller's view of this family (`ctrl_fill_info()`), given the id and
    /// first multicast group number the registry assigned.
    pub fn info(&self, id: u16, mcgrp_offset: u32) -> ctrl::FamilyInfo {
        let mut ops: Vec<ctrl::OpInfo> = Vec::new();
        let mut i = 0;
        // Kernel: genl_op_iter_next() merges a cmd's do and dump entries; an entry
        // without a policy gets genl_policy_reject_all, so HASPOL is always set.
        while i < self.ops.len() {
            let first = self.ops[i];
            let mut flags = u32::from(first.flags);
            i += 1;
            if first.flags & GENL_CMD_CAP_DO != 0
                && let Some(next) = self
                    .ops
                    .get(i)
                    .filter(|n| n.cmd == first.cmd && n.flags & GENL_CMD_CAP_DUMP != 0)
            {
                flags |= u32::from(next.flags);
                i += 1;
            }
            flags |= u32::from(GENL_CMD_CAP_HASPOL);
            ops.push(ctrl::OpInfo {
                id: u32::from(first.cmd),
                flags,
            });
        }
        ctrl::FamilyInfo {
            id,
            name: self.name.to_owned(),
            version: u32::from(self.version),
            hdrsize: u32::from(self.hdrsize),
            maxattr: self.maxattr,
            ops,
            mcast_groups: self
                .mcgrps
                .iter()
                .zip(0u32..)
                .map(|(name, i)| ctrl::McastGroup {
                    name: (*name).to_owned(),
                    id: mcgrp_offset + i,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
