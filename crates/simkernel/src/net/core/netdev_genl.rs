//! The netdev generic netlink family's handlers: attributes in, messages out.
//!
//! Kernel: `net/core/netdev-genl.c` (@326150d4) and `page_pool_user.c`. Requests
//! arrive validated by the op's policy ([`netlink::family::netdev`]); each handler does
//! the `GENL_REQ_ATTR_CHECK`s in the kernel's order, calls the core operation in
//! [`crate::net::core::netdev_nl_ops`], and writes the reply attributes in the order
//! the kernel's fill functions put them. Errors the kernel points at an attribute
//! (`NL_SET_BAD_ATTR`, `NL_REQ_ATTR_CHECK` in a nest) are resolved to that attribute's
//! offset in the request.
//!
//! Message shapes worth knowing: `genlmsg_iput()` writes flags 0 even for dump parts
//! (only `NLMSG_DONE` carries `NLM_F_MULTI`); u64 attributes are
//! `nla_put_u64_64bit()` without a pad attribute (x86-64 has efficient unaligned
//! access); counters are `NLA_UINT` (4 bytes when they fit).

use netlink::attr::Attr;
use netlink::family::GenlRequest;
use netlink::family::netdev::{
    LEASE_POLICY, NETDEV_CMD_BIND_RX, NETDEV_CMD_BIND_TX, NETDEV_CMD_DEV_GET, NETDEV_CMD_NAPI_GET,
    NETDEV_CMD_NAPI_SET, NETDEV_CMD_PAGE_POOL_GET, NETDEV_CMD_PAGE_POOL_STATS_GET,
    NETDEV_CMD_QSTATS_GET, NETDEV_CMD_QUEUE_CREATE, NETDEV_CMD_QUEUE_GET, PAGE_POOL_INFO_POLICY,
    QUEUE_ID_POLICY,
};
use netlink::msg::MsgBuilder;
use netlink::policy::{ExtAckError, Parsed, parse_nested};
use uapi::errno::{EINVAL, ENODEV, ENOENT, EOPNOTSUPP, EPERM};
use uapi::netdev::{
    NETDEV_A_DEV_IFINDEX, NETDEV_A_DEV_XDP_FEATURES, NETDEV_A_DEV_XDP_RX_METADATA_FEATURES,
    NETDEV_A_DEV_XDP_ZC_MAX_SEGS, NETDEV_A_DEV_XSK_FEATURES, NETDEV_A_DMABUF_FD,
    NETDEV_A_DMABUF_ID, NETDEV_A_DMABUF_QUEUES, NETDEV_A_LEASE_IFINDEX, NETDEV_A_LEASE_NETNS_ID,
    NETDEV_A_LEASE_QUEUE, NETDEV_A_NAPI_DEFER_HARD_IRQS, NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT,
    NETDEV_A_NAPI_ID, NETDEV_A_NAPI_IFINDEX, NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT,
    NETDEV_A_NAPI_THREADED, NETDEV_A_PAGE_POOL_DETACH_TIME, NETDEV_A_PAGE_POOL_DMABUF,
    NETDEV_A_PAGE_POOL_ID, NETDEV_A_PAGE_POOL_IFINDEX, NETDEV_A_PAGE_POOL_INFLIGHT,
    NETDEV_A_PAGE_POOL_INFLIGHT_MEM, NETDEV_A_PAGE_POOL_IO_URING, NETDEV_A_PAGE_POOL_NAPI_ID,
    NETDEV_A_PAGE_POOL_STATS_ALLOC_FAST, NETDEV_A_PAGE_POOL_STATS_INFO,
    NETDEV_A_PAGE_POOL_STATS_RECYCLE_RELEASED_REFCNT, NETDEV_A_QSTATS_IFINDEX,
    NETDEV_A_QSTATS_QUEUE_ID, NETDEV_A_QSTATS_QUEUE_TYPE, NETDEV_A_QSTATS_RX_BYTES,
    NETDEV_A_QSTATS_RX_PACKETS, NETDEV_A_QSTATS_SCOPE, NETDEV_A_QSTATS_TX_BYTES,
    NETDEV_A_QSTATS_TX_PACKETS, NETDEV_A_QUEUE_DMABUF, NETDEV_A_QUEUE_ID, NETDEV_A_QUEUE_IFINDEX,
    NETDEV_A_QUEUE_IO_URING, NETDEV_A_QUEUE_LEASE, NETDEV_A_QUEUE_NAPI_ID, NETDEV_A_QUEUE_TYPE,
    NETDEV_A_QUEUE_XSK, NETDEV_QSTATS_SCOPE_QUEUE, NETDEV_QUEUE_TYPE_RX, QueueType,
};

use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::net::core::netdev_nl_ops::{
    BadAttr, NapiInfo, NapiSet, OpError, QstatsRow, QueueInfo, QueueSel,
};
use crate::net::core::page_pool::{PagePoolId, PagePoolInfo};
use crate::net::netlink::genetlink::{DumpOut, GenlCtx};

/// Kernel: `LOOPBACK_IFINDEX`: pools parked on lo do not report an ifindex.
const LOOPBACK_IFINDEX: u32 = 1;

fn einval() -> ExtAckError {
    ExtAckError::new(EINVAL)
}

fn get_u32(a: Attr<'_>) -> Result<u32, ExtAckError> {
    a.u32().map_err(|_| einval())
}

fn get_uint(a: Attr<'_>) -> Result<u64, ExtAckError> {
    a.uint().map_err(|_| einval())
}

/// The attributes an [`OpError`] may point at, found in the request.
#[derive(Default)]
struct AttrMap<'a> {
    ifindex: Option<Attr<'a>>,
    queues: Vec<(Attr<'a>, Parsed<'a>)>,
    lease_queue_id: Option<Attr<'a>>,
    lease_netns_id: Option<Attr<'a>>,
    napi_id: Option<Attr<'a>>,
}

impl AttrMap<'_> {
    /// An [`OpError`] as the extack the kernel fills.
    fn ext(&self, e: OpError) -> ExtAckError {
        let mut x = ExtAckError::new(e.error.errno);
        if let Some(m) = e.error.msg {
            x = x.msg(m);
        }
        let at = |x: ExtAckError, a: Option<&Attr<'_>>| match a {
            Some(a) => x.bad_attr(a),
            None => x,
        };
        match e.bad_attr {
            None | Some(BadAttr::Ethtool(_)) => x,
            Some(BadAttr::Ifindex) => at(x, self.ifindex.as_ref()),
            Some(BadAttr::NapiId) => at(x, self.napi_id.as_ref()),
            Some(BadAttr::LeaseQueueId) => at(x, self.lease_queue_id.as_ref()),
            Some(BadAttr::LeaseNetnsId) => at(x, self.lease_netns_id.as_ref()),
            Some(BadAttr::QueueId(i)) => {
                let a = self.queues.get(i).and_then(|q| q.1.get(NETDEV_A_QUEUE_ID));
                at(x, a.as_ref())
            }
            Some(BadAttr::QueueType(i)) => {
                let a = self
                    .queues
                    .get(i)
                    .and_then(|q| q.1.get(NETDEV_A_QUEUE_TYPE));
                at(x, a.as_ref())
            }
            Some(BadAttr::QueueMissing { nest, attr }) => {
                x.missing(attr, self.queues.get(nest).map(|q| &q.0))
            }
        }
    }
}

/// Kernel: `netdev_nl_dev_fill()`.
fn dev_fill(b: &mut MsgBuilder, info: &crate::net::core::netdev_nl_ops::DevInfo) {
    b.put_u32(NETDEV_A_DEV_IFINDEX, info.ifindex)
        .put_u64(NETDEV_A_DEV_XDP_FEATURES, info.xdp_features)
        .put_u64(
            NETDEV_A_DEV_XDP_RX_METADATA_FEATURES,
            info.xdp_rx_metadata_features,
        )
        .put_u64(NETDEV_A_DEV_XSK_FEATURES, info.xsk_features);
    if let Some(segs) = info.xdp_zc_max_segs {
        b.put_u32(NETDEV_A_DEV_XDP_ZC_MAX_SEGS, segs);
    }
}

/// Kernel: `netdev_nl_queue_fill_one()` (lease nest, then the memory provider).
fn queue_fill(b: &mut MsgBuilder, q: &QueueInfo) {
    b.put_u32(NETDEV_A_QUEUE_ID, q.id)
        .put_u32(NETDEV_A_QUEUE_TYPE, u32::from(q.ty))
        .put_u32(NETDEV_A_QUEUE_IFINDEX, q.ifindex);
    if let Some(n) = q.napi_id {
        b.put_u32(NETDEV_A_QUEUE_NAPI_ID, n);
    }
    if let Some(l) = &q.lease {
        let lease = b.nest_start(NETDEV_A_QUEUE_LEASE);
        let queue = b.nest_start(NETDEV_A_LEASE_QUEUE);
        b.put_u32(NETDEV_A_QUEUE_ID, l.queue_id)
            .put_u32(NETDEV_A_QUEUE_TYPE, NETDEV_QUEUE_TYPE_RX);
        b.nest_end(queue);
        b.put_u32(NETDEV_A_LEASE_IFINDEX, l.ifindex);
        if let Some(id) = l.netns_id {
            b.put_s32(NETDEV_A_LEASE_NETNS_ID, id);
        }
        b.nest_end(lease);
    }
    if let Some(id) = q.dmabuf {
        b.put_u32(NETDEV_A_QUEUE_DMABUF, id);
    }
    if q.io_uring {
        let n = b.nest_start(NETDEV_A_QUEUE_IO_URING);
        b.nest_end(n);
    }
    if q.xsk {
        let n = b.nest_start(NETDEV_A_QUEUE_XSK);
        b.nest_end(n);
    }
}

/// Kernel: `netdev_nl_napi_fill_one()` (no IRQ, no thread modelled).
fn napi_fill(b: &mut MsgBuilder, n: &NapiInfo) {
    b.put_u32(NETDEV_A_NAPI_ID, n.id)
        .put_u32(NETDEV_A_NAPI_IFINDEX, n.ifindex)
        .put_uint(NETDEV_A_NAPI_THREADED, u64::from(n.threaded))
        .put_s32(NETDEV_A_NAPI_DEFER_HARD_IRQS, n.defer_hard_irqs as i32)
        .put_uint(NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT, n.irq_suspend_timeout)
        .put_uint(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, n.gro_flush_timeout);
}

/// Kernel: `page_pool_nl_fill()`.
fn page_pool_fill(b: &mut MsgBuilder, p: &PagePoolInfo) {
    b.put_uint(NETDEV_A_PAGE_POOL_ID, u64::from(p.id));
    if let Some(i) = p.ifindex.filter(|&i| i != LOOPBACK_IFINDEX) {
        b.put_u32(NETDEV_A_PAGE_POOL_IFINDEX, i);
    }
    if let Some(n) = p.napi_id {
        b.put_uint(NETDEV_A_PAGE_POOL_NAPI_ID, u64::from(n));
    }
    b.put_uint(NETDEV_A_PAGE_POOL_INFLIGHT, p.inflight)
        .put_uint(NETDEV_A_PAGE_POOL_INFLIGHT_MEM, p.inflight_mem);
    if let Some(t) = p.detach_time {
        b.put_uint(NETDEV_A_PAGE_POOL_DETACH_TIME, t);
    }
    if let Some(id) = p.dmabuf {
        b.put_u32(NETDEV_A_PAGE_POOL_DMABUF, id);
    }
    if p.io_uring {
        let n = b.nest_start(NETDEV_A_PAGE_POOL_IO_URING);
        b.nest_end(n);
    }
}

/// Kernel: `page_pool_nl_stats_fill()`: the info nest, then every counter (the
/// emulator's pools count nothing yet: all zero).
fn page_pool_stats_fill(b: &mut MsgBuilder, p: &PagePoolInfo) {
    let n = b.nest_start(NETDEV_A_PAGE_POOL_STATS_INFO);
    b.put_uint(NETDEV_A_PAGE_POOL_ID, u64::from(p.id));
    if let Some(i) = p.ifindex.filter(|&i| i != LOOPBACK_IFINDEX) {
        b.put_u32(NETDEV_A_PAGE_POOL_IFINDEX, i);
    }
    b.nest_end(n);
    for ty in NETDEV_A_PAGE_POOL_STATS_ALLOC_FAST..=NETDEV_A_PAGE_POOL_STATS_RECYCLE_RELEASED_REFCNT
    {
        b.put_uint(ty, 0);
    }
}

/// Kernel: `netdev_nl_stats_queue()` for one queue (packets and bytes are the only
/// counters the emulated drivers keep; the others are "not set" and omitted).
fn qstats_fill(b: &mut MsgBuilder, r: &QstatsRow) {
    b.put_u32(NETDEV_A_QSTATS_IFINDEX, r.ifindex)
        .put_u32(NETDEV_A_QSTATS_QUEUE_TYPE, u32::from(r.ty))
        .put_u32(NETDEV_A_QSTATS_QUEUE_ID, r.id);
    if r.ty == QueueType::Rx {
        b.put_uint(NETDEV_A_QSTATS_RX_PACKETS, r.stats.packets)
            .put_uint(NETDEV_A_QSTATS_RX_BYTES, r.stats.bytes);
    } else {
        b.put_uint(NETDEV_A_QSTATS_TX_PACKETS, r.stats.packets)
            .put_uint(NETDEV_A_QSTATS_TX_BYTES, r.stats.bytes);
    }
}

impl Kernel {
    /// Devices of `ns` in ifindex order (`for_each_netdev_lock_scoped()`).
    fn netns_devices(&self, ns: crate::NetNsId) -> Vec<DevId> {
        self.netns(ns)
            .map(|n| n.dev_by_index.values().copied().collect())
            .unwrap_or_default()
    }

    /// Kernel: `netdev->stat_ops` is set (the emulated NIC driver only).
    fn has_stat_ops(&self, dev: DevId) -> bool {
        matches!(self.device(dev).kind, DeviceKind::Nic(_))
    }

    /// The netns a page pool is visible in: its device's, or `init_net` once detached
    /// (kernel: `page_pool_unreg_netdev()` parks it on lo).
    fn page_pool_netns(&self, id: u32) -> Option<crate::NetNsId> {
        let p = self.page_pool(PagePoolId(id))?;
        Some(match p.dev.and_then(|d| self.try_device(d)) {
            Some(d) => d.netns,
            None => self.init_net(),
        })
    }

    /// Page pools of `ns` as the dump lists them: per device in ifindex order, newest
    /// first (`hlist_add_head()`), detached pools under init_net's lo.
    fn page_pools_in(&self, ns: crate::NetNsId) -> Vec<PagePoolInfo> {
        let all = self.page_pool_list();
        let mut out = Vec::new();
        for dev in self.netns_devices(ns) {
            let d = self.device(dev);
            let is_lo = matches!(d.kind, DeviceKind::Loopback) && ns == self.init_net();
            let mut mine: Vec<&PagePoolInfo> = all
                .iter()
                .filter(|p| {
                    let owner = self
                        .page_pool(PagePoolId(p.id))
                        .and_then(|pp| pp.dev)
                        .filter(|&o| self.try_device(o).is_some());
                    owner == Some(dev) || (is_lo && owner.is_none())
                })
                .collect();
            mine.reverse();
            out.extend(mine.into_iter().cloned());
        }
        out
    }

    /// The netdev family's doits.
    pub(crate) fn netdev_nl_doit(
        &mut self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
    ) -> Result<Vec<Vec<u8>>, ExtAckError> {
        let ns = ctx.caller.netns;
        match ctx.cmd {
            //= kernel: netdev_nl_dev_get_doit()
            NETDEV_CMD_DEV_GET => {
                let ifindex = get_u32(req.require(NETDEV_A_DEV_IFINDEX)?)?;
                let dev = self
                    .dev_get_by_index(ns, ifindex)
                    .ok_or(ExtAckError::new(ENODEV))?;
                let info = self.dev_info(dev).ok_or(ExtAckError::new(ENODEV))?;
                let mut b = ctx.reply();
                dev_fill(&mut b, &info);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_page_pool_get_doit()
            NETDEV_CMD_PAGE_POOL_GET => {
                let id = get_uint(req.require(NETDEV_A_PAGE_POOL_ID)?)?;
                let p = self.page_pool_do(ns, id)?;
                let mut b = ctx.reply();
                page_pool_fill(&mut b, &p);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_page_pool_stats_get_doit()
            NETDEV_CMD_PAGE_POOL_STATS_GET => {
                let nest = req.require(NETDEV_A_PAGE_POOL_STATS_INFO)?;
                let tb = parse_nested(&PAGE_POOL_INFO_POLICY, &nest)?;
                let id = get_uint(tb.require(NETDEV_A_PAGE_POOL_ID, Some(&nest))?)?;
                if let Some(a) = tb.get(NETDEV_A_PAGE_POOL_IFINDEX) {
                    return Err(einval()
                        .msg("selecting by ifindex not supported")
                        .bad_attr(&a));
                }
                let p = self.page_pool_do(ns, id)?;
                let mut b = ctx.reply();
                page_pool_stats_fill(&mut b, &p);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_queue_get_doit()
            NETDEV_CMD_QUEUE_GET => {
                let id = get_u32(req.require(NETDEV_A_QUEUE_ID)?)?;
                let ty = get_u32(req.require(NETDEV_A_QUEUE_TYPE)?)?;
                let ifindex = get_u32(req.require(NETDEV_A_QUEUE_IFINDEX)?)?;
                let dev = self
                    .dev_get_by_index(ns, ifindex)
                    .ok_or(ExtAckError::new(ENODEV))?;
                let q = self
                    .queue_info(dev, QueueType::from(ty), id)
                    .map_err(|e| AttrMap::default().ext(e))?;
                let mut b = ctx.reply();
                queue_fill(&mut b, &q);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_napi_get_doit()
            NETDEV_CMD_NAPI_GET => {
                let a = req.require(NETDEV_A_NAPI_ID)?;
                let id = get_u32(a)?;
                let map = AttrMap {
                    napi_id: Some(a),
                    ..Default::default()
                };
                let n = self.napi_get(&ctx.caller, id).map_err(|e| map.ext(e))?;
                // A NAPI of a device that is down fills nothing: ENOENT.
                let up = self
                    .dev_get_by_index(ns, n.ifindex)
                    .is_some_and(|d| self.device(d).up);
                if !up {
                    return Err(ExtAckError::new(ENOENT));
                }
                let mut b = ctx.reply();
                napi_fill(&mut b, &n);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_napi_set_doit()
            NETDEV_CMD_NAPI_SET => {
                let a = req.require(NETDEV_A_NAPI_ID)?;
                let id = get_u32(a)?;
                let set = NapiSet {
                    threaded: req.get(NETDEV_A_NAPI_THREADED).map(get_u32).transpose()?,
                    defer_hard_irqs: req
                        .get(NETDEV_A_NAPI_DEFER_HARD_IRQS)
                        .map(get_u32)
                        .transpose()?,
                    irq_suspend_timeout: req
                        .get(NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT)
                        .map(get_uint)
                        .transpose()?,
                    gro_flush_timeout: req
                        .get(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT)
                        .map(get_uint)
                        .transpose()?,
                };
                let map = AttrMap {
                    napi_id: Some(a),
                    ..Default::default()
                };
                self.napi_set(&ctx.caller, id, set)
                    .map_err(|e| map.ext(e))?;
                Ok(vec![])
            }
            //= kernel: netdev_nl_bind_rx_doit()
            NETDEV_CMD_BIND_RX => {
                let ifa = req.require(NETDEV_A_DEV_IFINDEX)?;
                let fd = get_u32(req.require(NETDEV_A_DMABUF_FD)?)?;
                req.require(NETDEV_A_DMABUF_QUEUES)?;
                let ifindex = get_u32(ifa)?;
                let mut map = AttrMap {
                    ifindex: Some(ifa),
                    ..Default::default()
                };
                let Some(attrs) = &req.attrs else {
                    return Err(einval());
                };
                // Kernel: netdev_nl_read_rxq_bitmap()'s nla_parse_nested() per nest;
                // the strict top-level validation already checked each one.
                let mut sels = Vec::new();
                for nest in attrs.all(NETDEV_A_DMABUF_QUEUES) {
                    let tb = parse_nested(&QUEUE_ID_POLICY, &nest)?;
                    sels.push(QueueSel {
                        id: tb.get(NETDEV_A_QUEUE_ID).map(get_u32).transpose()?,
                        ty: tb.get(NETDEV_A_QUEUE_TYPE).map(get_u32).transpose()?,
                    });
                    map.queues.push((nest, tb));
                }
                let id = self
                    .bind_rx(&ctx.caller, ifindex, fd as i32, &sels)
                    .map_err(|e| map.ext(e))?;
                let mut b = ctx.reply();
                b.put_u32(NETDEV_A_DMABUF_ID, id);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_bind_tx_doit()
            NETDEV_CMD_BIND_TX => {
                let ifa = req.require(NETDEV_A_DEV_IFINDEX)?;
                let fd = get_u32(req.require(NETDEV_A_DMABUF_FD)?)?;
                let map = AttrMap {
                    ifindex: Some(ifa),
                    ..Default::default()
                };
                let id = self
                    .bind_tx(&ctx.caller, get_u32(ifa)?, fd as i32)
                    .map_err(|e| map.ext(e))?;
                let mut b = ctx.reply();
                b.put_u32(NETDEV_A_DMABUF_ID, id);
                Ok(vec![b.finish()])
            }
            //= kernel: netdev_nl_queue_create_doit()
            NETDEV_CMD_QUEUE_CREATE => self.netdev_nl_queue_create(ctx, req),
            _ => Err(ExtAckError::new(EOPNOTSUPP)),
        }
    }

    /// Kernel: `netdev_nl_page_pool_get_do()`: ENOENT unless the pool is listed in the
    /// caller's namespace.
    fn page_pool_do(&self, ns: crate::NetNsId, id: u64) -> Result<PagePoolInfo, ExtAckError> {
        let id = u32::try_from(id).map_err(|_| ExtAckError::new(ENOENT))?;
        if self.page_pool_netns(id) != Some(ns) {
            return Err(ExtAckError::new(ENOENT));
        }
        self.page_pool_list()
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(ExtAckError::new(ENOENT))
    }

    /// Kernel: `netdev_nl_queue_create_doit()` up to the core's part (kernel-spec §5.3
    /// steps 1–6 happen here, in this order).
    fn netdev_nl_queue_create(
        &mut self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
    ) -> Result<Vec<Vec<u8>>, ExtAckError> {
        let ifa = req.require(NETDEV_A_QUEUE_IFINDEX)?;
        let tya = req.require(NETDEV_A_QUEUE_TYPE)?;
        let lease = req.require(NETDEV_A_QUEUE_LEASE)?;
        if get_u32(tya)? != NETDEV_QUEUE_TYPE_RX {
            return Err(einval().bad_attr(&tya));
        }
        let ifindex = get_u32(ifa)?;
        let ltb = parse_nested(&LEASE_POLICY, &lease)?;
        let lifa = ltb.require(NETDEV_A_LEASE_IFINDEX, Some(&lease))?;
        let qnest = ltb.require(NETDEV_A_LEASE_QUEUE, Some(&lease))?;
        let netns_attr = ltb.get(NETDEV_A_LEASE_NETNS_ID);
        let mut netns_id = None;
        if let Some(a) = netns_attr {
            if !ctx.caller.cred.cap_net_admin {
                return Err(ExtAckError::new(EPERM));
            }
            netns_id = Some(a.s32().map_err(|_| einval())?);
        }
        let lease_ifindex = get_u32(lifa)?;
        let qtb = parse_nested(&QUEUE_ID_POLICY, &qnest)?;
        let qid = qtb.require(NETDEV_A_QUEUE_ID, Some(&qnest))?;
        let qty = qtb.require(NETDEV_A_QUEUE_TYPE, Some(&qnest))?;
        if get_u32(qty)? != NETDEV_QUEUE_TYPE_RX {
            return Err(einval().bad_attr(&qty));
        }
        let map = AttrMap {
            ifindex: Some(ifa),
            lease_queue_id: Some(qid),
            lease_netns_id: netns_attr,
            ..Default::default()
        };
        let id = self
            .queue_create(&ctx.caller, ifindex, lease_ifindex, get_u32(qid)?, netns_id)
            .map_err(|e| map.ext(e))?;
        let mut b = ctx.reply();
        b.put_u32(NETDEV_A_QUEUE_ID, id);
        Ok(vec![b.finish()])
    }

    /// The netdev family's dumpits.
    pub(crate) fn netdev_nl_dumpit(&mut self, ctx: &GenlCtx<'_>, req: &GenlRequest<'_>) -> DumpOut {
        let mut parts = Vec::new();
        let r = self.netdev_nl_dump_into(ctx, req, &mut parts);
        (parts, r)
    }

    fn netdev_nl_dump_into(
        &mut self,
        ctx: &GenlCtx<'_>,
        req: &GenlRequest<'_>,
        parts: &mut Vec<Vec<u8>>,
    ) -> Result<(), ExtAckError> {
        let ns = ctx.caller.netns;
        let filter = |ty: u16| -> Result<Option<(Attr<'_>, u32)>, ExtAckError> {
            match req.get(ty) {
                Some(a) => Ok(Some((a, get_u32(a)?)).filter(|(_, i)| *i != 0)),
                None => Ok(None),
            }
        };
        let one = |b: MsgBuilder| b.finish();
        match ctx.cmd {
            //= kernel: netdev_nl_dev_get_dumpit()
            NETDEV_CMD_DEV_GET => {
                for dev in self.netns_devices(ns) {
                    if let Some(info) = self.dev_info(dev) {
                        let mut b = ctx.reply();
                        dev_fill(&mut b, &info);
                        parts.push(one(b));
                    }
                }
                Ok(())
            }
            //= kernel: netdev_nl_page_pool_get_dumpit()
            NETDEV_CMD_PAGE_POOL_GET | NETDEV_CMD_PAGE_POOL_STATS_GET => {
                for p in self.page_pools_in(ns) {
                    let mut b = ctx.reply();
                    if ctx.cmd == NETDEV_CMD_PAGE_POOL_GET {
                        page_pool_fill(&mut b, &p);
                    } else {
                        page_pool_stats_fill(&mut b, &p);
                    }
                    parts.push(one(b));
                }
                Ok(())
            }
            //= kernel: netdev_nl_queue_get_dumpit()
            NETDEV_CMD_QUEUE_GET => {
                let devs = match filter(NETDEV_A_QUEUE_IFINDEX)? {
                    Some((_, i)) => {
                        vec![
                            self.dev_get_by_index(ns, i)
                                .ok_or(ExtAckError::new(ENODEV))?,
                        ]
                    }
                    None => self.netns_devices(ns),
                };
                for dev in devs {
                    for q in self.queue_list(dev) {
                        let mut b = ctx.reply();
                        queue_fill(&mut b, &q);
                        parts.push(one(b));
                    }
                }
                Ok(())
            }
            //= kernel: netdev_nl_napi_get_dumpit()
            NETDEV_CMD_NAPI_GET => {
                let devs = match filter(NETDEV_A_NAPI_IFINDEX)? {
                    Some((_, i)) => {
                        vec![
                            self.dev_get_by_index(ns, i)
                                .ok_or(ExtAckError::new(ENODEV))?,
                        ]
                    }
                    None => self.netns_devices(ns),
                };
                for dev in devs {
                    if !self.device(dev).up {
                        continue;
                    }
                    // napi_list is newest first: descending ids.
                    let mut list = self.napi_list(dev);
                    list.sort_by_key(|n| std::cmp::Reverse(n.id));
                    for n in list {
                        let mut b = ctx.reply();
                        napi_fill(&mut b, &n);
                        parts.push(one(b));
                    }
                }
                Ok(())
            }
            //= kernel: netdev_nl_qstats_get_dumpit()
            NETDEV_CMD_QSTATS_GET => {
                let scope = req
                    .get(NETDEV_A_QSTATS_SCOPE)
                    .map(get_uint)
                    .transpose()?
                    .unwrap_or(0);
                let devs = match filter(NETDEV_A_QSTATS_IFINDEX)? {
                    Some((a, i)) => {
                        let dev = self
                            .dev_get_by_index(ns, i)
                            .ok_or_else(|| ExtAckError::new(ENODEV).bad_attr(&a))?;
                        if !self.has_stat_ops(dev) {
                            return Err(ExtAckError::new(EOPNOTSUPP).bad_attr(&a));
                        }
                        vec![dev]
                    }
                    None => self.netns_devices(ns),
                };
                for dev in devs {
                    if !self.has_stat_ops(dev) {
                        continue;
                    }
                    let rows = self.qstats(dev);
                    if scope == NETDEV_QSTATS_SCOPE_QUEUE {
                        if !self.device(dev).up {
                            continue;
                        }
                        for r in &rows {
                            let mut b = ctx.reply();
                            qstats_fill(&mut b, r);
                            parts.push(one(b));
                        }
                    } else {
                        // netdev_nl_stats_by_netdev(): base stats (0) plus every queue.
                        let (mut rx, mut tx) = ((0u64, 0u64), (0u64, 0u64));
                        for r in &rows {
                            let acc = if r.ty == QueueType::Rx {
                                &mut rx
                            } else {
                                &mut tx
                            };
                            acc.0 += r.stats.packets;
                            acc.1 += r.stats.bytes;
                        }
                        let mut b = ctx.reply();
                        b.put_u32(NETDEV_A_QSTATS_IFINDEX, self.device(dev).ifindex)
                            .put_uint(NETDEV_A_QSTATS_RX_PACKETS, rx.0)
                            .put_uint(NETDEV_A_QSTATS_RX_BYTES, rx.1)
                            .put_uint(NETDEV_A_QSTATS_TX_PACKETS, tx.0)
                            .put_uint(NETDEV_A_QSTATS_TX_BYTES, tx.1);
                        parts.push(one(b));
                    }
                }
                Ok(())
            }
            _ => Err(ExtAckError::new(EOPNOTSUPP)),
        }
    }
}
