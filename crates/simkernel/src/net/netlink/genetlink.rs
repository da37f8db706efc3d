//! Generic netlink: the registered families, their ids, and per-message dispatch.
//!
//! Kernel: `net/netlink/genetlink.c`. `genl_rcv_msg()` finds the family by
//! `nlmsg_type` (`ENOENT` when none), then [`netlink::family::Family::rcv_msg`] runs
//! the header, op, permission and policy checks; the op's handler runs last. A doit's
//! reply goes out as its own datagram; a dumpit's messages are followed by
//! `NLMSG_DONE` carrying the dump's status (and extack) — a dump that fails is not
//! acked, its error travels in DONE (`netlink_dump_done()`).
//!
//! Ids: `nlctrl` is `GENL_ID_CTRL` (16); the other families get ids from the
//! kernel's allocator (`idr_alloc_cyclic()` from `GENL_START_ALLOC`, 19) in
//! registration order: ethtool 19, netdev 20 (the real kernel on the build host also
//! gave netdev 20). Multicast group numbers come from `mc_groups` (bits 0, 1, 16, 17,
//! 18 reserved): ethtool "monitor" 2, netdev "mgmt" 3 and "page-pool" 4; nlctrl's
//! "notify" is `GENL_ID_CTRL`.

use netlink::ack::{AckOpts, done_for};
use netlink::family::ctrl::{self, FamilyInfo};
use netlink::family::{Caps, Family, GenlRequest};
use netlink::msg::{Msg, MsgBuilder};
use netlink::policy::ExtAckError;
use uapi::errno::{ENOENT, EOPNOTSUPP};
use uapi::genetlink::{CTRL_CMD_GETFAMILY, CTRL_CMD_NEWFAMILY, GENL_ID_CTRL};
use uapi::netlink::{NLM_F_MULTI, NLMSG_HDRLEN, NlMsgHdr};

use crate::kernel::{Caller, Kernel};
use crate::net::netlink::af_netlink::Handled;

/// Kernel: `GENL_START_ALLOC`, the first dynamically allocated family id.
const GENL_START_ALLOC: u16 = uapi::genetlink::GENL_START_ALLOC;

/// One registered family: its table, id and first multicast group number.
#[derive(Debug, Clone, Copy)]
pub struct Registered {
    /// The family.
    pub family: &'static Family,
    /// `family->id`.
    pub id: u16,
    /// `family->mcgrp_offset`.
    pub mcgrp_offset: u32,
}

/// The families this kernel registers, in registration order.
pub fn families() -> [Registered; 3] {
    [
        Registered {
            family: &ctrl::FAMILY,
            id: GENL_ID_CTRL,
            mcgrp_offset: u32::from(GENL_ID_CTRL),
        },
        Registered {
            family: &crate::net::ethtool::netlink::FAMILY,
            id: GENL_START_ALLOC,
            mcgrp_offset: 2,
        },
        Registered {
            family: &netlink::family::netdev::FAMILY,
            id: GENL_START_ALLOC + 1,
            mcgrp_offset: 3,
        },
    ]
}

/// The id of the family called `name`.
pub fn genl_family_id(name: &str) -> Option<u16> {
    families()
        .into_iter()
        .find(|r| r.family.name == name)
        .map(|r| r.id)
}

/// What a handler knows about the request it serves (`struct genl_info`).
#[derive(Debug, Clone)]
pub struct GenlCtx<'a> {
    /// Who asked.
    pub caller: Caller,
    /// The family's id (the reply's `nlmsg_type`).
    pub family_id: u16,
    /// The family's version (the reply's genl version).
    pub version: u8,
    /// The request's command (`genlmsg_iput()` answers with the same).
    pub cmd: u8,
    /// The request's sequence number.
    pub seq: u32,
    /// The requesting socket's port id.
    pub portid: u32,
    /// The whole request message.
    pub raw: &'a [u8],
}

impl GenlCtx<'_> {
    /// Kernel: `genlmsg_iput()`: a reply or dump message header (flags 0).
    pub fn reply(&self) -> MsgBuilder {
        self.reply_flags(0)
    }

    /// A message header with `flags` (`ethnl_dump_put()` uses `NLM_F_MULTI`).
    pub fn reply_flags(&self, flags: u16) -> MsgBuilder {
        MsgBuilder::new(self.family_id, flags, self.seq, self.portid).genl(self.cmd, self.version)
    }
}

/// A dump's output: the messages and how it ended.
pub type DumpOut = (Vec<Vec<u8>>, Result<(), ExtAckError>);

impl Kernel {
    /// Kernel: `genl_rcv_msg()` for one request message `raw` from `caller`.
    pub(crate) fn genl_rcv_msg(
        &mut self,
        caller: &Caller,
        portid: u32,
        opts: AckOpts,
        raw: &[u8],
    ) -> Result<Handled, ExtAckError> {
        let hdr = NlMsgHdr::from_bytes(raw).map_err(|_| ExtAckError::new(uapi::errno::EINVAL))?;
        let msg = Msg {
            hdr,
            payload: &raw[NLMSG_HDRLEN..],
            offset: 0,
            raw,
        };
        let reg = families()
            .into_iter()
            .find(|r| r.id == hdr.nlmsg_type)
            .ok_or(ExtAckError::new(ENOENT))?;
        let caps = Caps {
            net_admin: caller.cred.cap_net_admin,
            ns_net_admin: caller.cred.cap_net_admin,
        };
        let req = reg.family.rcv_msg(&msg, caps)?;
        let ctx = GenlCtx {
            caller: *caller,
            family_id: reg.id,
            version: reg.family.version,
            cmd: req.hdr.cmd,
            seq: hdr.nlmsg_seq,
            portid,
            raw,
        };
        if req.dump {
            let (parts, status) = match reg.id {
                GENL_ID_CTRL => self.ctrl_dumpit(&ctx, &req),
                id if id == GENL_START_ALLOC => self.ethnl_dumpit(&ctx, &req),
                _ => self.netdev_nl_dumpit(&ctx, &req),
            };
            let done = match &status {
                Ok(()) => done_for(raw, portid, 0, None, opts, 0),
                Err(e) => done_for(raw, portid, e.errno, Some(e), opts, 0),
            };
            self.netlink_dump_queue(caller.sock, parts, done);
            return Ok(Handled::Dump);
        }
        let warning = req
            .attrs
            .as_ref()
            .and_then(|p| p.warning)
            .map(|w| ExtAckError::new(0).msg(w));
        let replies = match reg.id {
            GENL_ID_CTRL => self.ctrl_doit(&ctx, &req)?,
            id if id == GENL_START_ALLOC => self.ethnl_doit(&ctx, &req)?,
            _ => self.netdev_nl_doit(&ctx, &req)?,
        };
        for r in replies {
            self.netlink_unicast(caller.sock, r);
        }
        Ok(Handled::Done { warning })
    }

    /// The controller's view of every family (`ctrl_fill_info()` data).
    pub fn genl_family_infos(&self) -> Vec<FamilyInfo> {
        families()
            .iter()
            .map(|r| r.family.info(r.id, r.mcgrp_offset))
            .collect()
    }

    /// Kernel: `ctrl_getfamily()`.
    fn ctrl_doit(
        &mut self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
    ) -> Result<Vec<Vec<u8>>, ExtAckError> {
        if ctx.cmd != CTRL_CMD_GETFAMILY {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        let infos = self.genl_family_infos();
        let Some(attrs) = &req.attrs else {
            return Err(ExtAckError::new(uapi::errno::EINVAL));
        };
        let info = ctrl::getfamily(attrs, &infos)?;
        Ok(vec![ctrl::family_reply(
            info,
            ctx.portid,
            ctx.seq,
            0,
            CTRL_CMD_NEWFAMILY,
        )])
    }

    /// Kernel: `ctrl_dumpfamily()`; `CTRL_CMD_GETPOLICY` is not modelled (EOPNOTSUPP in
    /// DONE).
    fn ctrl_dumpit(&mut self, ctx: &GenlCtx<'_>, _req: &GenlRequest<'_>) -> DumpOut {
        if ctx.cmd != CTRL_CMD_GETFAMILY {
            return (vec![], Err(ExtAckError::new(EOPNOTSUPP)));
        }
        let parts = self
            .genl_family_infos()
            .iter()
            .map(|i| ctrl::family_reply(i, ctx.portid, ctx.seq, NLM_F_MULTI, CTRL_CMD_NEWFAMILY))
            .collect();
        (parts, Ok(()))
    }
}
