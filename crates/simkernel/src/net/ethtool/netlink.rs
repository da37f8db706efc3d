//! The ethtool generic netlink family, reduced to rings, channels and coalesce get/set.
//!
//! Kernel: `net/ethtool/netlink.c` (`ethnl_parse_header_dev_get()`,
//! `ethnl_default_doit()`, `ethnl_default_dumpit()`, `ethnl_default_set_doit()`,
//! `ethnl_default_notify()`), `rings.c` (`rings_fill_reply()`), `channels.c`
//! (`channels_fill_reply()`) and `coalesce.c` ([`super::coalesce`]). The set rules and
//! their messages live in the core ([`Kernel::ethtool_rings_set`],
//! [`Kernel::ethtool_channels_set`], [`Kernel::ethtool_coalesce_set`]); this module
//! parses and replies.
//!
//! Replies carry the request header nest {DEV_INDEX, DEV_NAME}; dump parts carry
//! `NLM_F_MULTI` (`ethnl_dump_put()`), and devices without the ops are skipped.
//! Notifications (`*_NTF`) are built as the kernel multicasts them to the "monitor"
//! group; delivery to sockets is not modelled, [`Kernel::ethnl_monitor_take`] hands them
//! out instead.

use std::collections::VecDeque;

use netlink::attr::Attr;
use netlink::family::{Family, GenlRequest, SplitOp};
use netlink::msg::MsgBuilder;
use netlink::policy::{AttrPolicy, ExtAckError, Policy, PolicyType, parse_nested};
use uapi::errno::{EINVAL, ENODEV, EOPNOTSUPP};
use uapi::ethtool::*;
use uapi::genetlink::GENL_UNS_ADMIN_PERM;
use uapi::netlink::NLM_F_MULTI;

use super::coalesce::{
    COALESCE_SET_POLICY, coalesce_fill_reply, coalesce_request_attrs, coalesce_set_of,
};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::netdev_nl_ops::{BadAttr, OpError};
use crate::net::ethtool::{ChannelsSet, RingsSet};
use crate::net::netlink::genetlink::{DumpOut, GenlCtx, genl_family_id};

pub(super) const UNSPEC: AttrPolicy = AttrPolicy::UNSPEC;
pub(super) const U32: AttrPolicy = AttrPolicy::new(PolicyType::U32);
pub(super) const U8: AttrPolicy = AttrPolicy::new(PolicyType::U8);

/// `ethnl_header_policy`: ifindex, name (`ALTIFNAMSIZ - 1`), flags (basic), phy index.
pub static HEADER_POLICY: Policy = Policy::new(
    "ethnl_header_policy",
    ETHTOOL_A_HEADER_PHY_INDEX,
    &[
        UNSPEC,
        U32,
        AttrPolicy::nul_string(127),
        U32.mask((ETHTOOL_FLAG_COMPACT_BITSETS | ETHTOOL_FLAG_OMIT_REPLY) as u64),
        U32.min(1),
    ],
);

pub(super) const HEADER: AttrPolicy = AttrPolicy::nested(&HEADER_POLICY);

/// `ethnl_rings_get_policy` / `ethnl_channels_get_policy` / `ethnl_coalesce_get_policy`:
/// the header only.
pub static GET_POLICY: Policy = Policy::new("ethnl_get_policy", 1, &[UNSPEC, HEADER]);

/// `ethnl_rings_set_policy`.
pub static RINGS_SET_POLICY: Policy = Policy::new(
    "ethnl_rings_set_policy",
    ETHTOOL_A_RINGS_HDS_THRESH,
    &[
        UNSPEC,
        HEADER,
        UNSPEC,
        UNSPEC,
        UNSPEC,
        UNSPEC,
        U32,
        U32,
        U32,
        U32,
        U32.min(1),
        U8.max(ETHTOOL_TCP_DATA_SPLIT_ENABLED as u64),
        U32.min(1),
        U8.max(1),
        U8.max(1),
        U32,
        UNSPEC,
        U32,
    ],
);

/// `ethnl_channels_set_policy`.
pub static CHANNELS_SET_POLICY: Policy = Policy::new(
    "ethnl_channels_set_policy",
    ETHTOOL_A_CHANNELS_COMBINED_COUNT,
    &[
        UNSPEC, HEADER, UNSPEC, UNSPEC, UNSPEC, UNSPEC, U32, U32, U32, U32,
    ],
);

/// The modelled part of `ethtool_genl_ops[]` (get: do + dump; set: admin in the
/// netns' user namespace).
pub static OPS: [SplitOp; 9] = [
    SplitOp::doit(ETHTOOL_MSG_RINGS_GET, 0, Some(&GET_POLICY)),
    SplitOp::dumpit(ETHTOOL_MSG_RINGS_GET, 0, Some(&GET_POLICY)),
    SplitOp::doit(
        ETHTOOL_MSG_RINGS_SET,
        GENL_UNS_ADMIN_PERM,
        Some(&RINGS_SET_POLICY),
    ),
    SplitOp::doit(ETHTOOL_MSG_CHANNELS_GET, 0, Some(&GET_POLICY)),
    SplitOp::dumpit(ETHTOOL_MSG_CHANNELS_GET, 0, Some(&GET_POLICY)),
    SplitOp::doit(
        ETHTOOL_MSG_CHANNELS_SET,
        GENL_UNS_ADMIN_PERM,
        Some(&CHANNELS_SET_POLICY),
    ),
    SplitOp::doit(ETHTOOL_MSG_COALESCE_GET, 0, Some(&GET_POLICY)),
    SplitOp::dumpit(ETHTOOL_MSG_COALESCE_GET, 0, Some(&GET_POLICY)),
    SplitOp::doit(
        ETHTOOL_MSG_COALESCE_SET,
        GENL_UNS_ADMIN_PERM,
        Some(&COALESCE_SET_POLICY),
    ),
];

/// `ethtool_genl_family`: "ethtool", version 1, `resv_start_op =
/// ETHTOOL_MSG_MODULE_GET + 1`, group "monitor".
pub static FAMILY: Family = Family {
    name: ETHTOOL_GENL_NAME,
    version: ETHTOOL_GENL_VERSION,
    hdrsize: 0,
    maxattr: 0,
    netnsok: true,
    resv_start_op: ETHTOOL_MSG_MODULE_GET + 1,
    ops: &OPS,
    mcgrps: &[ETHTOOL_MCGRP_MONITOR_NAME],
};

fn u32_of(a: Attr<'_>) -> Result<u32, ExtAckError> {
    a.u32().map_err(|_| ExtAckError::new(EINVAL))
}

/// Notifications kept when nobody takes them (oldest dropped first).
pub const ETHNL_MONITOR_BACKLOG: usize = 64;

/// What the ethtool "monitor" multicast group carried (`ethnl_multicast()`), per
/// namespace, oldest first, and `ethnl_bcast_seq`.
#[derive(Debug, Default)]
pub struct EthnlMonitor {
    /// Kernel: `ethnl_bcast_seq`, the last notification's sequence number.
    seq: u32,
    /// The notifications not taken yet, at most [`ETHNL_MONITOR_BACKLOG`].
    ntf: VecDeque<(NetNsId, Vec<u8>)>,
}

impl Kernel {
    /// Kernel: `ethnl_parse_header_dev_get()` with `require_dev`.
    fn ethnl_header_dev(
        &self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
    ) -> Result<DevId, ExtAckError> {
        let Some(h) = req.get(1) else {
            return Err(ExtAckError::new(EINVAL).msg("request header missing"));
        };
        let tb = parse_nested(&HEADER_POLICY, &h)?;
        let ns = ctx.caller.netns;
        let idx = tb.get(ETHTOOL_A_HEADER_DEV_INDEX);
        let name = tb.get(ETHTOOL_A_HEADER_DEV_NAME);
        let dev = match (idx, name) {
            (Some(a), _) => {
                let dev = self.dev_get_by_index(ns, u32_of(a)?).ok_or_else(|| {
                    ExtAckError::new(ENODEV)
                        .msg("no device matches ifindex")
                        .bad_attr(&a)
                })?;
                if let Some(n) = name {
                    let s = n.str().map_err(|_| ExtAckError::new(EINVAL))?;
                    if self.device(dev).name != s {
                        return Err(ExtAckError::new(ENODEV)
                            .msg("ifindex and name do not match")
                            .bad_attr(&n));
                    }
                }
                dev
            }
            (None, Some(n)) => {
                let s = n.str().map_err(|_| ExtAckError::new(EINVAL))?;
                self.dev_get_by_name(ns, s).ok_or_else(|| {
                    ExtAckError::new(ENODEV)
                        .msg("no device matches name")
                        .bad_attr(&n)
                })?
            }
            (None, None) => {
                return Err(ExtAckError::new(EINVAL)
                    .msg("neither ifindex nor name specified")
                    .bad_attr(&h));
            }
        };
        Ok(dev)
    }

    /// Kernel: `ethnl_fill_reply_header()` then the command's `fill_reply()`.
    fn ethnl_fill(&self, b: &mut MsgBuilder, cmd: u8, dev: DevId) {
        let d = self.device(dev);
        let hdr_attr = 1;
        let n = b.nest_start(hdr_attr);
        b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, d.ifindex)
            .put_str(ETHTOOL_A_HEADER_DEV_NAME, &d.name);
        b.nest_end(n);
        let e = &d.ethtool;
        if cmd == ETHTOOL_MSG_COALESCE_GET {
            // coalesce_prepare_data() ran before: only its errors are left out here.
            if let Ok(c) = self.ethtool_coalesce_get(dev) {
                coalesce_fill_reply(b, &c, e.supported_coalesce_params);
            }
        } else if cmd == ETHTOOL_MSG_RINGS_GET {
            let r = &e.rings;
            if r.rx_max != 0 {
                b.put_u32(ETHTOOL_A_RINGS_RX_MAX, r.rx_max)
                    .put_u32(ETHTOOL_A_RINGS_RX, r.rx);
            }
            if r.tx_max != 0 {
                b.put_u32(ETHTOOL_A_RINGS_TX_MAX, r.tx_max)
                    .put_u32(ETHTOOL_A_RINGS_TX, r.tx);
            }
            let split = u8::from(r.tcp_data_split);
            if split != 0 {
                b.put_u8(ETHTOOL_A_RINGS_TCP_DATA_SPLIT, split);
            }
            b.put_u8(ETHTOOL_A_RINGS_TX_PUSH, 0)
                .put_u8(ETHTOOL_A_RINGS_RX_PUSH, 0);
            if r.hds_thresh_supported {
                b.put_u32(ETHTOOL_A_RINGS_HDS_THRESH, r.hds_thresh)
                    .put_u32(ETHTOOL_A_RINGS_HDS_THRESH_MAX, r.hds_thresh_max);
            }
        } else {
            let c = &e.channels;
            for (max, cur, amax, acur) in [
                (
                    c.max_rx,
                    c.rx_count,
                    ETHTOOL_A_CHANNELS_RX_MAX,
                    ETHTOOL_A_CHANNELS_RX_COUNT,
                ),
                (
                    c.max_tx,
                    c.tx_count,
                    ETHTOOL_A_CHANNELS_TX_MAX,
                    ETHTOOL_A_CHANNELS_TX_COUNT,
                ),
                (
                    c.max_other,
                    c.other_count,
                    ETHTOOL_A_CHANNELS_OTHER_MAX,
                    ETHTOOL_A_CHANNELS_OTHER_COUNT,
                ),
                (
                    c.max_combined,
                    c.combined_count,
                    ETHTOOL_A_CHANNELS_COMBINED_MAX,
                    ETHTOOL_A_CHANNELS_COMBINED_COUNT,
                ),
            ] {
                if max != 0 {
                    b.put_u32(amax, max).put_u32(acur, cur);
                }
            }
        }
    }

    /// The reply command for a get command (`*_GET_REPLY` = get + 1).
    fn ethnl_reply_cmd(cmd: u8) -> u8 {
        cmd + 1
    }

    /// Kernel: the get command's `prepare_data()`: rings and channels need the ops,
    /// coalesce [`Kernel::ethtool_coalesce_get`]'s checks.
    fn ethnl_prepare(&self, cmd: u8, dev: DevId) -> Result<(), ExtAckError> {
        if cmd == ETHTOOL_MSG_COALESCE_GET {
            return self
                .ethtool_coalesce_get(dev)
                .map(|_| ())
                .map_err(|e| ExtAckError::new(e.errno()));
        }
        if !self.device(dev).ethtool.ops {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        Ok(())
    }

    /// Kernel: `ethtool_notify()` → `ethnl_default_notify()`: the `cmd` message
    /// (sequence `++ethnl_bcast_seq`, port 0, no flags) with the header nest and the
    /// get reply's attributes, multicast to "monitor" in the device's namespace. `cmd` is
    /// one of `ETHTOOL_MSG_{RINGS,CHANNELS,COALESCE}_NTF`; others are not modelled.
    pub(crate) fn ethtool_notify(&mut self, dev: DevId, cmd: u8) {
        let get = match cmd {
            ETHTOOL_MSG_RINGS_NTF => ETHTOOL_MSG_RINGS_GET,
            ETHTOOL_MSG_CHANNELS_NTF => ETHTOOL_MSG_CHANNELS_GET,
            ETHTOOL_MSG_COALESCE_NTF => ETHTOOL_MSG_COALESCE_GET,
            _ => return,
        };
        let Some(family) = genl_family_id(ETHTOOL_GENL_NAME) else {
            return;
        };
        if self.ethnl_prepare(get, dev).is_err() {
            return;
        }
        let seq = self.ethnl_monitor.seq.wrapping_add(1);
        self.ethnl_monitor.seq = seq;
        let mut b = MsgBuilder::new(family, 0, seq, 0).genl(cmd, ETHTOOL_GENL_VERSION);
        self.ethnl_fill(&mut b, get, dev);
        let ns = self.device(dev).netns;
        let q = &mut self.ethnl_monitor.ntf;
        if q.len() == ETHNL_MONITOR_BACKLOG {
            q.pop_front();
        }
        q.push_back((ns, b.finish()));
    }

    /// Takes the notifications the ethtool "monitor" group carried since the last call,
    /// oldest first, each with the namespace it was multicast in (the last
    /// [`ETHNL_MONITOR_BACKLOG`] are kept).
    pub fn ethnl_monitor_take(&mut self) -> Vec<(NetNsId, Vec<u8>)> {
        self.ethnl_monitor.ntf.drain(..).collect()
    }

    /// Kernel: `ethnl_default_doit()` / `ethnl_default_set_doit()`.
    pub(crate) fn ethnl_doit(
        &mut self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
    ) -> Result<Vec<Vec<u8>>, ExtAckError> {
        let dev = self.ethnl_header_dev(ctx, req)?;
        match ctx.cmd {
            ETHTOOL_MSG_RINGS_GET | ETHTOOL_MSG_CHANNELS_GET | ETHTOOL_MSG_COALESCE_GET => {
                self.ethnl_prepare(ctx.cmd, dev)?;
                let mut b = MsgBuilder::new(ctx.family_id, 0, ctx.seq, ctx.portid)
                    .genl(Self::ethnl_reply_cmd(ctx.cmd), ctx.version);
                self.ethnl_fill(&mut b, ctx.cmd, dev);
                Ok(vec![b.finish()])
            }
            ETHTOOL_MSG_RINGS_SET => {
                let g = |ty| req.get(ty).map(u32_of).transpose();
                let u8_opt = |ty| {
                    req.get(ty)
                        .map(|a| a.u8().map_err(|_| ExtAckError::new(EINVAL)))
                        .transpose()
                };
                let split = match req.get(ETHTOOL_A_RINGS_TCP_DATA_SPLIT) {
                    Some(a) => Some(TcpDataSplit::from(
                        a.u8().map_err(|_| ExtAckError::new(EINVAL))?,
                    )),
                    None => None,
                };
                let set = RingsSet {
                    rx: g(ETHTOOL_A_RINGS_RX)?,
                    tx: g(ETHTOOL_A_RINGS_TX)?,
                    tcp_data_split: split,
                    hds_thresh: g(ETHTOOL_A_RINGS_HDS_THRESH)?,
                    rx_mini: g(ETHTOOL_A_RINGS_RX_MINI)?,
                    rx_jumbo: g(ETHTOOL_A_RINGS_RX_JUMBO)?,
                    rx_buf_len: g(ETHTOOL_A_RINGS_RX_BUF_LEN)?,
                    cqe_size: g(ETHTOOL_A_RINGS_CQE_SIZE)?,
                    tx_push: u8_opt(ETHTOOL_A_RINGS_TX_PUSH)?,
                    rx_push: u8_opt(ETHTOOL_A_RINGS_RX_PUSH)?,
                    tx_push_buf_len: g(ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN)?,
                };
                self.ethtool_rings_set(dev, set)
                    .map_err(|e| ethnl_err(e, req))?;
                Ok(vec![])
            }
            ETHTOOL_MSG_CHANNELS_SET => {
                let g = |ty| req.get(ty).map(u32_of).transpose();
                let set = ChannelsSet {
                    rx: g(ETHTOOL_A_CHANNELS_RX_COUNT)?,
                    tx: g(ETHTOOL_A_CHANNELS_TX_COUNT)?,
                    other: g(ETHTOOL_A_CHANNELS_OTHER_COUNT)?,
                    combined: g(ETHTOOL_A_CHANNELS_COMBINED_COUNT)?,
                };
                self.ethtool_channels_set(dev, set)
                    .map_err(|e| ethnl_err(e, req))?;
                Ok(vec![])
            }
            ETHTOOL_MSG_COALESCE_SET => {
                // The validate step sees every attribute (profiles included), as
                // ethnl_set_coalesce_validate() walks info->attrs.
                self.ethnl_set_coalesce_validate(dev, &coalesce_request_attrs(req))
                    .map_err(|e| ethnl_err(e, req))?;
                let set = coalesce_set_of(req)?;
                self.ethtool_coalesce_set(dev, &set)
                    .map_err(|e| ethnl_err(e, req))?;
                Ok(vec![])
            }
            _ => Err(ExtAckError::new(EOPNOTSUPP)),
        }
    }

    /// Kernel: `ethnl_default_dumpit()`: every device of the caller's namespace, in
    /// ifindex order; a device whose `prepare_data()` says `EOPNOTSUPP` is skipped, any
    /// other error ends the dump with it.
    pub(crate) fn ethnl_dumpit(&mut self, ctx: &GenlCtx<'_>, _req: &GenlRequest<'_>) -> DumpOut {
        let devs: Vec<DevId> = self
            .netns(ctx.caller.netns)
            .map(|n| n.dev_by_index.values().copied().collect())
            .unwrap_or_default();
        let mut parts = Vec::new();
        for d in devs {
            match self.ethnl_prepare(ctx.cmd, d) {
                Ok(()) => {}
                Err(e) if e.errno == EOPNOTSUPP => continue,
                Err(e) => return (parts, Err(e)),
            }
            let mut b = MsgBuilder::new(ctx.family_id, NLM_F_MULTI, ctx.seq, ctx.portid)
                .genl(Self::ethnl_reply_cmd(ctx.cmd), ctx.version);
            self.ethnl_fill(&mut b, ctx.cmd, d);
            parts.push(b.finish());
        }
        (parts, Ok(()))
    }
}

/// A core error as the extack: `BadAttr::Ethtool(ty)` points at the request's `ty`.
fn ethnl_err(e: OpError, req: &GenlRequest<'_>) -> ExtAckError {
    let mut x = ExtAckError::new(e.error.errno);
    if let Some(m) = e.error.msg {
        x = x.msg(m);
    }
    if let Some(BadAttr::Ethtool(ty)) = e.bad_attr
        && let Some(a) = req.get(ty)
    {
        x = x.bad_attr(&a);
    }
    x
}
