//! The `netdev` family, typed and ynl-like: what ncdevmem and the selftests ask.
//!
//! Every request is written attribute for attribute as the YNL-generated C code
//! (`netdev-user.c`, used by ncdevmem) and the python YNL (used by the selftests for
//! queue-create) write it: same order, same nesting, `NLA_F_NESTED` on nests,
//! `NLM_F_REQUEST | NLM_F_ACK` on do, `| NLM_F_DUMP` on dumps, genl version 1.
//!
//! Bindings made by [`NetdevClient::bind_rx`] and [`NetdevClient::bind_tx`] belong to
//! the netlink socket (kernel: `struct netdev_nl_sock`, whose release unbinds every
//! binding it lists). The client owns its transport, so dropping the client closes the
//! socket and unbinds: keep the client alive as long as the binding is in use.

use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink::attr::{Attr, Attrs};
use netlink::client::OwnedMsg;
use netlink::msg::MsgBuilder;
use uapi::netdev::*;

use crate::Error;
use crate::genl::{GenlClient, NETDEV};
use crate::reply::genl_attrs;
use crate::transport::{KernelTransport, NetlinkTransport};

pub use uapi::netdev::{NapiThreaded, QueueType};

/// A device as `dev-get` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DevInfo {
    pub ifindex: u32,
    /// `NETDEV_XDP_ACT_*` bits.
    pub xdp_features: u64,
    /// Only reported by devices with XSK zero-copy.
    pub xdp_zc_max_segs: Option<u32>,
    /// `NETDEV_XDP_RX_METADATA_*` bits.
    pub xdp_rx_metadata_features: u64,
    /// `NETDEV_XSK_FLAGS_*` bits.
    pub xsk_features: u64,
}

/// The lease nest of a queue: reported on the physical device's leased queue only,
/// naming the virtual (netkit) side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseInfo {
    /// The virtual device.
    pub ifindex: u32,
    /// The virtual queue: (id, type).
    pub queue: (u32, QueueType),
    /// Present when the virtual device lives in another netns (id as seen from ours).
    pub netns_id: Option<i32>,
}

/// A queue as `queue-get` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueInfo {
    pub id: u32,
    pub r#type: QueueType,
    pub ifindex: u32,
    pub napi_id: Option<u32>,
    /// Id of the devmem binding providing this queue's memory.
    pub dmabuf: Option<u32>,
    /// An io_uring zero-copy RX provider is installed.
    pub io_uring: bool,
    /// An AF_XDP pool is installed.
    pub xsk: bool,
    pub lease: Option<LeaseInfo>,
}

/// A lease request: the physical queue a new virtual queue is leased from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The physical device.
    pub ifindex: u32,
    /// The physical queue: (id, type).
    pub queue: (u32, QueueType),
    /// The physical device's netns, as an id seen from the caller's netns; `None` is
    /// the caller's own netns.
    pub netns_id: Option<i32>,
}

/// A NAPI instance as `napi-get` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NapiInfo {
    pub id: u32,
    pub ifindex: u32,
    pub irq: Option<u32>,
    pub pid: Option<u32>,
    pub defer_hard_irqs: Option<u32>,
    pub gro_flush_timeout: Option<u64>,
    pub irq_suspend_timeout: Option<u64>,
    pub threaded: Option<NapiThreaded>,
}

/// The settable fields of `napi-set` (absent = unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NapiSet {
    pub id: u32,
    pub defer_hard_irqs: Option<u32>,
    pub gro_flush_timeout: Option<u64>,
    pub irq_suspend_timeout: Option<u64>,
    pub threaded: Option<NapiThreaded>,
}

/// A page pool as `page-pool-get` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PagePoolInfo {
    pub id: u64,
    pub ifindex: Option<u32>,
    pub napi_id: Option<u64>,
    pub inflight: Option<u64>,
    pub inflight_mem: Option<u64>,
    pub detach_time: Option<u64>,
    /// Binding id of a devmem memory provider.
    pub dmabuf: Option<u32>,
    pub io_uring: bool,
}

/// One `qstats-get` dump entry: a device total, or one queue with scope `queue`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QstatsInfo {
    pub ifindex: u32,
    pub queue_type: Option<QueueType>,
    pub queue_id: Option<u32>,
    /// Counters by attribute id (`NETDEV_A_QSTATS_RX_PACKETS`...).
    pub counters: BTreeMap<u16, u64>,
}

impl QstatsInfo {
    /// A counter, if reported.
    pub fn get(&self, attr: u16) -> Option<u64> {
        self.counters.get(&attr).copied()
    }
}

/// A typed client of the `netdev` family. Owns its socket: see the module docs about
/// binding lifetime.
#[derive(Debug)]
pub struct NetdevClient<T> {
    genl: GenlClient<T>,
}

impl NetdevClient<KernelTransport> {
    /// A client of the real kernel (`NETLINK_GENERIC`).
    pub fn open_kernel() -> std::io::Result<Self> {
        Ok(Self::new(KernelTransport::open(
            uapi::netlink::NETLINK_GENERIC,
        )?))
    }
}

impl<T: NetlinkTransport> NetdevClient<T> {
    /// A client over `transport` (a `NETLINK_GENERIC` one).
    pub fn new(transport: T) -> Self {
        Self {
            genl: GenlClient::new(transport),
        }
    }

    /// The generic netlink layer underneath.
    pub fn genl(&mut self) -> &mut GenlClient<T> {
        &mut self.genl
    }

    fn do_one(
        &mut self,
        cmd: u8,
        build: impl FnOnce(&mut MsgBuilder),
        fds: &[BorrowedFd<'_>],
    ) -> Result<Option<OwnedMsg>, Error> {
        Ok(self
            .genl
            .request(NETDEV, cmd, 0, build, fds)?
            .into_iter()
            .next())
    }

    /// `dev-get` do: `{ifindex}`.
    pub fn dev_get(&mut self, ifindex: u32) -> Result<DevInfo, Error> {
        let m = self.do_one(NETDEV_CMD_DEV_GET, |b| put_dev_get(b, ifindex), &[])?;
        parse_dev(&m.ok_or(Error::MissingAttr("ifindex"))?)
    }

    /// `dev-get` dump (no attributes).
    pub fn dev_dump(&mut self) -> Result<Vec<DevInfo>, Error> {
        let parts = self.genl.dump(NETDEV, NETDEV_CMD_DEV_GET, |_| {})?;
        parts.iter().map(parse_dev).collect()
    }

    /// `queue-get` do: `{ifindex, type, id}`.
    pub fn queue_get(&mut self, ifindex: u32, id: u32, ty: QueueType) -> Result<QueueInfo, Error> {
        let m = self.do_one(
            NETDEV_CMD_QUEUE_GET,
            |b| put_queue_get(b, ifindex, id, ty),
            &[],
        )?;
        parse_queue(&m.ok_or(Error::MissingAttr("id"))?)
    }

    /// `queue-get` dump, of one device (`{ifindex}`) or all.
    pub fn queue_dump(&mut self, ifindex: Option<u32>) -> Result<Vec<QueueInfo>, Error> {
        let parts = self.genl.dump(NETDEV, NETDEV_CMD_QUEUE_GET, |b| {
            if let Some(i) = ifindex {
                b.put_u32(NETDEV_A_QUEUE_IFINDEX, i);
            }
        })?;
        parts.iter().map(parse_queue).collect()
    }

    /// `napi-get` do: `{id}`.
    pub fn napi_get(&mut self, id: u32) -> Result<NapiInfo, Error> {
        let m = self.do_one(
            NETDEV_CMD_NAPI_GET,
            |b| {
                b.put_u32(NETDEV_A_NAPI_ID, id);
            },
            &[],
        )?;
        parse_napi(&m.ok_or(Error::MissingAttr("id"))?)
    }

    /// `napi-get` dump, of one device (`{ifindex}`) or all.
    pub fn napi_dump(&mut self, ifindex: Option<u32>) -> Result<Vec<NapiInfo>, Error> {
        let parts = self.genl.dump(NETDEV, NETDEV_CMD_NAPI_GET, |b| {
            if let Some(i) = ifindex {
                b.put_u32(NETDEV_A_NAPI_IFINDEX, i);
            }
        })?;
        parts.iter().map(parse_napi).collect()
    }

    /// `napi-set`: `{id, defer-hard-irqs?, gro-flush-timeout?, irq-suspend-timeout?,
    /// threaded?}` (the yaml's request order; timeouts as `uint`).
    pub fn napi_set(&mut self, set: &NapiSet) -> Result<(), Error> {
        self.do_one(NETDEV_CMD_NAPI_SET, |b| put_napi_set(b, set), &[])?;
        Ok(())
    }

    /// `page-pool-get` do: `{id}` (a `uint`).
    pub fn page_pool_get(&mut self, id: u64) -> Result<PagePoolInfo, Error> {
        let m = self.do_one(
            NETDEV_CMD_PAGE_POOL_GET,
            |b| {
                b.put_uint(NETDEV_A_PAGE_POOL_ID, id);
            },
            &[],
        )?;
        parse_page_pool(&m.ok_or(Error::MissingAttr("id"))?)
    }

    /// `page-pool-get` dump (no attributes).
    pub fn page_pool_dump(&mut self) -> Result<Vec<PagePoolInfo>, Error> {
        let parts = self.genl.dump(NETDEV, NETDEV_CMD_PAGE_POOL_GET, |_| {})?;
        parts.iter().map(parse_page_pool).collect()
    }

    /// `qstats-get` dump: `{ifindex?, scope?}` (scope `NETDEV_QSTATS_SCOPE_QUEUE` for
    /// per-queue entries).
    pub fn qstats_dump(
        &mut self,
        ifindex: Option<u32>,
        scope: Option<u64>,
    ) -> Result<Vec<QstatsInfo>, Error> {
        let parts = self.genl.dump(NETDEV, NETDEV_CMD_QSTATS_GET, |b| {
            if let Some(i) = ifindex {
                b.put_u32(NETDEV_A_QSTATS_IFINDEX, i);
            }
            if let Some(s) = scope {
                b.put_uint(NETDEV_A_QSTATS_SCOPE, s);
            }
        })?;
        parts.iter().map(parse_qstats).collect()
    }

    /// `bind-rx`: binds the dma-buf `fd` to RX `queues` of `ifindex`; returns the
    /// binding id (the `dmabuf_id` RX cmsgs carry). Request `{ifindex, fd, queues*}`,
    /// one `queues` nest `{id, type}` per queue. The fd travels by number, and by
    /// `SCM_RIGHTS` on transports that need it. The binding lives as long as `self`.
    pub fn bind_rx(
        &mut self,
        ifindex: u32,
        fd: BorrowedFd<'_>,
        queues: &[(u32, QueueType)],
    ) -> Result<u32, Error> {
        let raw = fd_number(fd);
        let m = self.do_one(
            NETDEV_CMD_BIND_RX,
            |b| put_bind_rx(b, ifindex, raw, queues),
            &[fd],
        )?;
        dmabuf_id(m)
    }

    /// `bind-tx`: `{ifindex, fd}`; returns the binding id that `SCM_DEVMEM_DMABUF`
    /// names on send. The binding lives as long as `self`.
    pub fn bind_tx(&mut self, ifindex: u32, fd: BorrowedFd<'_>) -> Result<u32, Error> {
        let raw = fd_number(fd);
        let m = self.do_one(
            NETDEV_CMD_BIND_TX,
            |b| {
                b.put_u32(NETDEV_A_DMABUF_IFINDEX, ifindex)
                    .put_u32(NETDEV_A_DMABUF_FD, raw);
            },
            &[fd],
        )?;
        dmabuf_id(m)
    }

    /// `queue-create`: a new queue of type `ty` on the virtual device `ifindex`, leased
    /// from `lease`; returns the new queue's id. Request `{ifindex, type, lease {ifindex,
    /// queue {id, type}, netns-id?}}`, as devmem_lib.py's python YNL dict orders it.
    pub fn queue_create(
        &mut self,
        ifindex: u32,
        ty: QueueType,
        lease: Lease,
    ) -> Result<u32, Error> {
        let m = self.do_one(
            NETDEV_CMD_QUEUE_CREATE,
            |b| put_queue_create(b, ifindex, ty, &lease),
            &[],
        )?;
        let m = m.ok_or(Error::MissingAttr("id"))?;
        for a in genl_attrs(&m)? {
            let a = a?;
            if a.ty == NETDEV_A_QUEUE_ID {
                return Ok(a.u32()?);
            }
        }
        Err(Error::MissingAttr("id"))
    }
}

/// The number an fd has in this process, as the request writes it. Fds are never
/// negative, so the cast keeps the value.
fn fd_number(fd: BorrowedFd<'_>) -> u32 {
    fd.as_raw_fd() as u32
}

fn put_dev_get(b: &mut MsgBuilder, ifindex: u32) {
    b.put_u32(NETDEV_A_DEV_IFINDEX, ifindex);
}

/// `netdev_queue_get()` order: ifindex, type, id.
fn put_queue_get(b: &mut MsgBuilder, ifindex: u32, id: u32, ty: QueueType) {
    b.put_u32(NETDEV_A_QUEUE_IFINDEX, ifindex)
        .put_u32(NETDEV_A_QUEUE_TYPE, ty.into())
        .put_u32(NETDEV_A_QUEUE_ID, id);
}

/// `netdev_queue_id_put()`: a nest `{id, type}`.
fn put_queue_id(b: &mut MsgBuilder, attr: u16, id: u32, ty: QueueType) {
    let n = b.nest_start(attr);
    b.put_u32(NETDEV_A_QUEUE_ID, id)
        .put_u32(NETDEV_A_QUEUE_TYPE, ty.into());
    b.nest_end(n);
}

/// `netdev_bind_rx()` order: ifindex, fd, then one `queues` nest per queue.
fn put_bind_rx(b: &mut MsgBuilder, ifindex: u32, fd: u32, queues: &[(u32, QueueType)]) {
    b.put_u32(NETDEV_A_DMABUF_IFINDEX, ifindex)
        .put_u32(NETDEV_A_DMABUF_FD, fd);
    for &(id, ty) in queues {
        put_queue_id(b, NETDEV_A_DMABUF_QUEUES, id, ty);
    }
}

fn put_queue_create(b: &mut MsgBuilder, ifindex: u32, ty: QueueType, lease: &Lease) {
    b.put_u32(NETDEV_A_QUEUE_IFINDEX, ifindex)
        .put_u32(NETDEV_A_QUEUE_TYPE, ty.into());
    let n = b.nest_start(NETDEV_A_QUEUE_LEASE);
    b.put_u32(NETDEV_A_LEASE_IFINDEX, lease.ifindex);
    put_queue_id(b, NETDEV_A_LEASE_QUEUE, lease.queue.0, lease.queue.1);
    if let Some(ns) = lease.netns_id {
        b.put_s32(NETDEV_A_LEASE_NETNS_ID, ns);
    }
    b.nest_end(n);
}

fn put_napi_set(b: &mut MsgBuilder, set: &NapiSet) {
    b.put_u32(NETDEV_A_NAPI_ID, set.id);
    if let Some(v) = set.defer_hard_irqs {
        b.put_u32(NETDEV_A_NAPI_DEFER_HARD_IRQS, v);
    }
    if let Some(v) = set.gro_flush_timeout {
        b.put_uint(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, v);
    }
    if let Some(v) = set.irq_suspend_timeout {
        b.put_uint(NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT, v);
    }
    if let Some(v) = set.threaded {
        b.put_u32(NETDEV_A_NAPI_THREADED, v.into());
    }
}

fn dmabuf_id(m: Option<OwnedMsg>) -> Result<u32, Error> {
    let m = m.ok_or(Error::MissingAttr("id"))?;
    for a in genl_attrs(&m)? {
        let a = a?;
        if a.ty == NETDEV_A_DMABUF_ID {
            return Ok(a.u32()?);
        }
    }
    Err(Error::MissingAttr("id"))
}

/// Kernel side: `netdev_nl_dev_fill()`.
fn parse_dev(m: &OwnedMsg) -> Result<DevInfo, Error> {
    let mut d = DevInfo::default();
    let mut have_ifindex = false;
    for a in genl_attrs(m)? {
        let a = a?;
        match a.ty {
            NETDEV_A_DEV_IFINDEX => {
                d.ifindex = a.u32()?;
                have_ifindex = true;
            }
            NETDEV_A_DEV_XDP_FEATURES => d.xdp_features = a.u64()?,
            NETDEV_A_DEV_XDP_ZC_MAX_SEGS => d.xdp_zc_max_segs = Some(a.u32()?),
            NETDEV_A_DEV_XDP_RX_METADATA_FEATURES => d.xdp_rx_metadata_features = a.u64()?,
            NETDEV_A_DEV_XSK_FEATURES => d.xsk_features = a.u64()?,
            _ => {}
        }
    }
    if !have_ifindex {
        return Err(Error::MissingAttr("ifindex"));
    }
    Ok(d)
}

/// A `queue-id` nest: `{id, type}`.
fn parse_queue_id(nest: &Attr<'_>) -> Result<(u32, QueueType), Error> {
    let (mut id, mut ty) = (None, None);
    for a in nest.attrs() {
        let a = a?;
        match a.ty {
            NETDEV_A_QUEUE_ID => id = Some(a.u32()?),
            NETDEV_A_QUEUE_TYPE => ty = Some(QueueType::from(a.u32()?)),
            _ => {}
        }
    }
    Ok((
        id.ok_or(Error::MissingAttr("id"))?,
        ty.ok_or(Error::MissingAttr("type"))?,
    ))
}

/// Kernel side: `netdev_nl_queue_fill_lease()`.
fn parse_lease(nest: &Attr<'_>) -> Result<LeaseInfo, Error> {
    let (mut ifindex, mut queue, mut netns_id) = (None, None, None);
    for a in nest.attrs() {
        let a = a?;
        match a.ty {
            NETDEV_A_LEASE_IFINDEX => ifindex = Some(a.u32()?),
            NETDEV_A_LEASE_QUEUE => queue = Some(parse_queue_id(&a)?),
            NETDEV_A_LEASE_NETNS_ID => netns_id = Some(a.s32()?),
            _ => {}
        }
    }
    Ok(LeaseInfo {
        ifindex: ifindex.ok_or(Error::MissingAttr("lease.ifindex"))?,
        queue: queue.ok_or(Error::MissingAttr("lease.queue"))?,
        netns_id,
    })
}

/// Kernel side: `netdev_nl_queue_fill_one()`.
fn parse_queue(m: &OwnedMsg) -> Result<QueueInfo, Error> {
    let (mut id, mut ty, mut ifindex) = (None, None, None);
    let mut q = QueueInfo {
        id: 0,
        r#type: QueueType::Rx,
        ifindex: 0,
        napi_id: None,
        dmabuf: None,
        io_uring: false,
        xsk: false,
        lease: None,
    };
    for a in genl_attrs(m)? {
        let a = a?;
        match a.ty {
            NETDEV_A_QUEUE_ID => id = Some(a.u32()?),
            NETDEV_A_QUEUE_TYPE => ty = Some(QueueType::from(a.u32()?)),
            NETDEV_A_QUEUE_IFINDEX => ifindex = Some(a.u32()?),
            NETDEV_A_QUEUE_NAPI_ID => q.napi_id = Some(a.u32()?),
            NETDEV_A_QUEUE_DMABUF => q.dmabuf = Some(a.u32()?),
            NETDEV_A_QUEUE_IO_URING => q.io_uring = true,
            NETDEV_A_QUEUE_XSK => q.xsk = true,
            NETDEV_A_QUEUE_LEASE => q.lease = Some(parse_lease(&a)?),
            _ => {}
        }
    }
    q.id = id.ok_or(Error::MissingAttr("id"))?;
    q.r#type = ty.ok_or(Error::MissingAttr("type"))?;
    q.ifindex = ifindex.ok_or(Error::MissingAttr("ifindex"))?;
    Ok(q)
}

/// Kernel side: `netdev_nl_napi_fill_one()`.
fn parse_napi(m: &OwnedMsg) -> Result<NapiInfo, Error> {
    let mut n = NapiInfo::default();
    let (mut have_id, mut have_ifindex) = (false, false);
    for a in genl_attrs(m)? {
        let a = a?;
        match a.ty {
            NETDEV_A_NAPI_ID => {
                n.id = a.u32()?;
                have_id = true;
            }
            NETDEV_A_NAPI_IFINDEX => {
                n.ifindex = a.u32()?;
                have_ifindex = true;
            }
            NETDEV_A_NAPI_IRQ => n.irq = Some(a.u32()?),
            NETDEV_A_NAPI_PID => n.pid = Some(a.u32()?),
            NETDEV_A_NAPI_DEFER_HARD_IRQS => n.defer_hard_irqs = Some(a.u32()?),
            NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT => n.gro_flush_timeout = Some(a.uint()?),
            NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT => n.irq_suspend_timeout = Some(a.uint()?),
            NETDEV_A_NAPI_THREADED => n.threaded = Some(NapiThreaded::from(a.u32()?)),
            _ => {}
        }
    }
    if !have_id {
        return Err(Error::MissingAttr("id"));
    }
    if !have_ifindex {
        return Err(Error::MissingAttr("ifindex"));
    }
    Ok(n)
}

/// Kernel side: `page_pool_nl_fill()`.
fn parse_page_pool(m: &OwnedMsg) -> Result<PagePoolInfo, Error> {
    let mut p = PagePoolInfo::default();
    let mut have_id = false;
    for a in genl_attrs(m)? {
        let a = a?;
        match a.ty {
            NETDEV_A_PAGE_POOL_ID => {
                p.id = a.uint()?;
                have_id = true;
            }
            NETDEV_A_PAGE_POOL_IFINDEX => p.ifindex = Some(a.u32()?),
            NETDEV_A_PAGE_POOL_NAPI_ID => p.napi_id = Some(a.uint()?),
            NETDEV_A_PAGE_POOL_INFLIGHT => p.inflight = Some(a.uint()?),
            NETDEV_A_PAGE_POOL_INFLIGHT_MEM => p.inflight_mem = Some(a.uint()?),
            NETDEV_A_PAGE_POOL_DETACH_TIME => p.detach_time = Some(a.uint()?),
            NETDEV_A_PAGE_POOL_DMABUF => p.dmabuf = Some(a.u32()?),
            NETDEV_A_PAGE_POOL_IO_URING => p.io_uring = true,
            _ => {}
        }
    }
    if !have_id {
        return Err(Error::MissingAttr("id"));
    }
    Ok(p)
}

/// Kernel side: `netdev_nl_stats_queue()` / `netdev_nl_stats_write_rx/tx()`.
fn parse_qstats(m: &OwnedMsg) -> Result<QstatsInfo, Error> {
    let mut q = QstatsInfo::default();
    let mut have_ifindex = false;
    let attrs: Attrs<'_> = genl_attrs(m)?;
    for a in attrs {
        let a = a?;
        match a.ty {
            NETDEV_A_QSTATS_IFINDEX => {
                q.ifindex = a.u32()?;
                have_ifindex = true;
            }
            NETDEV_A_QSTATS_QUEUE_TYPE => q.queue_type = Some(QueueType::from(a.u32()?)),
            NETDEV_A_QSTATS_QUEUE_ID => q.queue_id = Some(a.u32()?),
            NETDEV_A_QSTATS_RX_PACKETS..=NETDEV_A_QSTATS_MAX => {
                q.counters.insert(a.ty, a.uint()?);
            }
            _ => {}
        }
    }
    if !have_ifindex {
        return Err(Error::MissingAttr("ifindex"));
    }
    Ok(q)
}

#[cfg(all(test, target_endian = "little"))]
mod tests;
