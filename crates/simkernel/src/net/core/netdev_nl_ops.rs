//! The logic behind the netdev genetlink family's doits, after attribute parsing.
//!
//! Kernel: `net/core/netdev-genl.c` @326150d4 (kernel-spec §3, §5.3, §5.5). The message
//! layer (`netdev_genl.rs`) parses attributes, checks `GENL_ADMIN_PERM`, and calls these
//! with plain values; everything that depends on kernel state — device lookups, lease
//! resolution, DMA devices, bindings — happens here, in the kernel's order, with its errno
//! and extack text. Errors that the kernel points at an attribute say which one.

use std::collections::BTreeSet;

use uapi::errno::{EINVAL, ENODEV, ENOENT, ENONET, EOPNOTSUPP, EPERM, ERANGE};
use uapi::netdev::QueueType;

use crate::dma::DmaDirection;
use crate::error::KernelError;
use crate::kernel::{Caller, Kernel, KernelModel};
use crate::net::core::dev::{DevId, DeviceKind, NetmemTx, QueueStats};
use crate::net::core::netdev_queues::{
    netdev_can_create_queue, netdev_can_lease_queue, netdev_queue_busy,
};
use crate::net::core::netdev_rx_queue::{LeaseDir, MemoryProvider};

/// The attribute an error points at (`NL_SET_BAD_ATTR`), or a missing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadAttr {
    /// `NETDEV_A_DEV_IFINDEX` / `NETDEV_A_DMABUF_IFINDEX` / `NETDEV_A_QUEUE_IFINDEX`.
    Ifindex,
    /// `NETDEV_A_QUEUE_ID` inside the i-th `NETDEV_A_DMABUF_QUEUES` nest.
    QueueId(usize),
    /// `NETDEV_A_QUEUE_TYPE` inside the i-th queues nest.
    QueueType(usize),
    /// A required attribute missing inside the i-th queues nest (`NL_REQ_ATTR_CHECK`).
    QueueMissing {
        /// Nest index.
        nest: usize,
        /// Missing attribute type.
        attr: u16,
    },
    /// `NETDEV_A_QUEUE_ID` inside `lease.queue` (queue-create).
    LeaseQueueId,
    /// `NETDEV_A_LEASE_NETNS_ID`.
    LeaseNetnsId,
    /// An ethtool attribute (`ETHTOOL_A_*`).
    Ethtool(u16),
    /// `NETDEV_A_NAPI_ID`.
    NapiId,
}

/// An operation's failure: the kernel error plus the attribute it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// errno and extack message.
    pub error: KernelError,
    /// `NL_SET_BAD_ATTR` / missing attribute, if the kernel sets one.
    pub bad_attr: Option<BadAttr>,
}

impl OpError {
    /// An error pointing at `attr`.
    pub fn attr(error: KernelError, attr: BadAttr) -> Self {
        OpError {
            error,
            bad_attr: Some(attr),
        }
    }

    /// The errno.
    pub fn errno(&self) -> i32 {
        self.error.errno
    }

    /// The extack message.
    pub fn msg(&self) -> Option<&str> {
        self.error.msg.as_deref()
    }
}

impl From<KernelError> for OpError {
    fn from(error: KernelError) -> Self {
        OpError {
            error,
            bad_attr: None,
        }
    }
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for OpError {}

/// One `NETDEV_A_DMABUF_QUEUES` nest as parsed by the policy (either field may be absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSel {
    /// `NETDEV_A_QUEUE_ID`.
    pub id: Option<u32>,
    /// `NETDEV_A_QUEUE_TYPE` (raw).
    pub ty: Option<u32>,
}

impl QueueSel {
    /// An RX queue selector.
    pub fn rx(id: u32) -> Self {
        QueueSel {
            id: Some(id),
            ty: Some(uapi::netdev::NETDEV_QUEUE_TYPE_RX),
        }
    }
}

/// Lease nest of queue-get (kernel-spec §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseInfo {
    /// `NETDEV_A_LEASE_IFINDEX`: the virtual device.
    pub ifindex: u32,
    /// `NETDEV_A_QUEUE_ID` in `NETDEV_A_LEASE_QUEUE`: the virtual queue.
    pub queue_id: u32,
    /// `NETDEV_A_LEASE_NETNS_ID`, only across namespaces.
    pub netns_id: Option<i32>,
}

/// What queue-get reports for one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// `NETDEV_A_QUEUE_ID`.
    pub id: u32,
    /// `NETDEV_A_QUEUE_TYPE`.
    pub ty: QueueType,
    /// `NETDEV_A_QUEUE_IFINDEX`.
    pub ifindex: u32,
    /// `NETDEV_A_QUEUE_NAPI_ID`.
    pub napi_id: Option<u32>,
    /// `NETDEV_A_QUEUE_DMABUF`.
    pub dmabuf: Option<u32>,
    /// `NETDEV_A_QUEUE_IO_URING` present.
    pub io_uring: bool,
    /// `NETDEV_A_QUEUE_XSK` present.
    pub xsk: bool,
    /// `NETDEV_A_QUEUE_LEASE`.
    pub lease: Option<LeaseInfo>,
}

/// What napi-get reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NapiInfo {
    /// `NETDEV_A_NAPI_ID`.
    pub id: u32,
    /// `NETDEV_A_NAPI_IFINDEX`.
    pub ifindex: u32,
    /// `NETDEV_A_NAPI_DEFER_HARD_IRQS`.
    pub defer_hard_irqs: u32,
    /// `NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT`.
    pub gro_flush_timeout: u64,
    /// `NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT`.
    pub irq_suspend_timeout: u64,
    /// `NETDEV_A_NAPI_THREADED`.
    pub threaded: u32,
}

/// napi-set request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NapiSet {
    /// `NETDEV_A_NAPI_DEFER_HARD_IRQS`.
    pub defer_hard_irqs: Option<u32>,
    /// `NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT`.
    pub gro_flush_timeout: Option<u64>,
    /// `NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT`.
    pub irq_suspend_timeout: Option<u64>,
    /// `NETDEV_A_NAPI_THREADED`.
    pub threaded: Option<u32>,
}

/// What dev-get reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevInfo {
    /// `NETDEV_A_DEV_IFINDEX`.
    pub ifindex: u32,
    /// `NETDEV_A_DEV_XDP_FEATURES`.
    pub xdp_features: u64,
    /// `NETDEV_A_DEV_XDP_ZC_MAX_SEGS` (only with XSK zero-copy).
    pub xdp_zc_max_segs: Option<u32>,
    /// `NETDEV_A_DEV_XDP_RX_METADATA_FEATURES`.
    pub xdp_rx_metadata_features: u64,
    /// `NETDEV_A_DEV_XSK_FEATURES`.
    pub xsk_features: u64,
}

/// One qstats row (scope queue).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QstatsRow {
    /// `NETDEV_A_QSTATS_IFINDEX`.
    pub ifindex: u32,
    /// `NETDEV_A_QSTATS_QUEUE_TYPE`.
    pub ty: QueueType,
    /// `NETDEV_A_QSTATS_QUEUE_ID`.
    pub id: u32,
    /// Counters.
    pub stats: QueueStats,
}

impl Kernel {
    /// Kernel: `netdev_find_netmem_tx_dev()` (kernel-spec §3.1): the device that DMAs for
    /// TX on behalf of `dev`.
    pub fn netdev_find_netmem_tx_dev(&self, dev: DevId) -> Option<DevId> {
        let d = self.dev(dev);
        match d.netmem_tx {
            NetmemTx::Dma => Some(dev),
            NetmemTx::None => None,
            NetmemTx::NoDma => (0..d.real_num_rx_queues).find_map(|i| {
                let (phys, _) = d.rx_queues[i as usize].lease?;
                let p = self.devices.get(&phys)?;
                (p.present && p.netmem_tx == NetmemTx::Dma).then_some(phys)
            }),
        }
    }

    /// Kernel: `netdev_nl_bind_tx_doit()` steps 7–16 (kernel-spec §3.2). Returns the
    /// binding id. Pre-series: the named device binds itself (`vdev` none).
    pub fn bind_tx(&mut self, caller: &Caller, ifindex: u32, fd: i32) -> Result<u32, OpError> {
        //= kernel-spec §3.2 step 7
        let dev = self
            .dev_get_by_index(caller.netns, ifindex)
            .ok_or(KernelError::new(ENODEV))?;
        let d = self.dev(dev);
        //= kernel-spec §3.2 step 8
        if !d.present {
            return Err(KernelError::new(ENODEV).into());
        }
        //= kernel-spec §3.2 step 9
        if d.netmem_tx == NetmemTx::None {
            return Err(KernelError::msg(EOPNOTSUPP, "Driver does not support netmem TX").into());
        }
        let bind_dev = match self.config.model {
            KernelModel::PreSeries => dev,
            //= kernel-spec §3.2 step 10
            KernelModel::Series => self.netdev_find_netmem_tx_dev(dev).ok_or_else(|| {
                KernelError::msg(EOPNOTSUPP, "No DMA-capable device found for netmem TX")
            })?,
        };
        //= kernel-spec §3.2 step 12: queue 0, TX
        let dma_dev = self.netdev_queue_get_dma_dev(bind_dev, 0, QueueType::Tx);
        //= kernel-spec §3.2 step 13
        let vdev = (bind_dev != dev).then_some(dev);
        let binding = self.net_devmem_bind_dmabuf(
            bind_dev,
            vdev,
            dma_dev,
            DmaDirection::ToDevice,
            caller.pid,
            fd,
            caller.sock,
        )?;
        Ok(binding.id())
    }

    /// Kernel: `netdev_nl_bind_rx_doit()` steps 4–12 (kernel-spec §3.3). The message
    /// layer has checked CAP_NET_ADMIN and the presence of ifindex, fd and queues.
    pub fn bind_rx(
        &mut self,
        caller: &Caller,
        ifindex: u32,
        fd: i32,
        queues: &[QueueSel],
    ) -> Result<u32, OpError> {
        //= kernel-spec §3.3 step 4
        let dev = self
            .dev_get_by_index(caller.netns, ifindex)
            .ok_or(KernelError::new(ENODEV))?;
        let d = self.dev(dev);
        //= kernel-spec §3.3 step 5
        if !d.present {
            return Err(OpError::attr(KernelError::new(ENODEV), BadAttr::Ifindex));
        }
        if !d.need_ops_lock() {
            return Err(OpError::attr(
                KernelError::new(EOPNOTSUPP),
                BadAttr::Ifindex,
            ));
        }
        //= kernel-spec §3.3 step 7: netdev_nl_read_rxq_bitmap()
        let mut bitmap = BTreeSet::new();
        for (i, q) in queues.iter().enumerate() {
            let Some(id) = q.id else {
                return Err(OpError::attr(
                    KernelError::new(EINVAL),
                    BadAttr::QueueMissing {
                        nest: i,
                        attr: uapi::netdev::NETDEV_A_QUEUE_ID,
                    },
                ));
            };
            let Some(ty) = q.ty else {
                return Err(OpError::attr(
                    KernelError::new(EINVAL),
                    BadAttr::QueueMissing {
                        nest: i,
                        attr: uapi::netdev::NETDEV_A_QUEUE_TYPE,
                    },
                ));
            };
            if ty != uapi::netdev::NETDEV_QUEUE_TYPE_RX {
                return Err(OpError::attr(
                    KernelError::new(EINVAL),
                    BadAttr::QueueType(i),
                ));
            }
            if id >= d.real_num_rx_queues {
                return Err(OpError::attr(KernelError::new(EINVAL), BadAttr::QueueId(i)));
            }
            bitmap.insert(id);
        }
        //= kernel-spec §3.3 step 8: netdev_nl_get_dma_dev()
        let mut dma_dev = None;
        let mut prev = 0;
        for &idx in &bitmap {
            let q_dma = self.netdev_queue_get_dma_dev(dev, idx, QueueType::Rx);
            if dma_dev.is_some() && q_dma != dma_dev {
                return Err(KernelError::fmt(
                    EOPNOTSUPP,
                    format!(
                        "DMA device mismatch between queue {idx} and {prev} (multi-PF device?)"
                    ),
                )
                .into());
            }
            dma_dev = q_dma;
            prev = idx;
        }
        //= kernel-spec §3.3 step 9
        let binding = self.net_devmem_bind_dmabuf(
            dev,
            None,
            dma_dev,
            DmaDirection::FromDevice,
            caller.pid,
            fd,
            caller.sock,
        )?;
        //= kernel-spec §3.3 step 10: net_devmem_bind_dmabuf_to_queue() per queue
        for &idx in &bitmap {
            if let Err(e) = self.net_mp_open_rxq(dev, idx, MemoryProvider::Devmem(binding.clone()))
            {
                self.net_devmem_unbind_dmabuf(&binding);
                return Err(e.into());
            }
            binding.record_rxq((dev, idx));
        }
        Ok(binding.id())
    }

    /// Kernel: `netdev_nl_queue_create_doit()` steps 5 and 8–19 (kernel-spec §5.3).
    /// `ifindex` names the virtual device, `lease_ifindex`/`lease_queue` the physical
    /// queue, `netns_id` the lessor's namespace as the caller sees it. Returns the new
    /// virtual queue index.
    pub fn queue_create(
        &mut self,
        caller: &Caller,
        ifindex: u32,
        lease_ifindex: u32,
        lease_queue: u32,
        netns_id: Option<i32>,
    ) -> Result<u32, OpError> {
        //= kernel-spec §5.3 step 5
        if netns_id.is_some() && !caller.cred.cap_net_admin {
            return Err(KernelError::new(EPERM).into());
        }
        //= kernel-spec §5.3 step 8
        let dev = self
            .dev_get_by_index(caller.netns, ifindex)
            .ok_or(KernelError::new(ENODEV))?;
        //= kernel-spec §5.3 step 9
        netdev_can_create_queue(self.dev(dev))?;
        //= kernel-spec §5.3 step 10
        let lease_net = match netns_id {
            None => caller.netns,
            Some(id) => self
                .get_net_ns_by_id(caller.netns, id)
                .ok_or_else(|| OpError::attr(KernelError::new(ENONET), BadAttr::LeaseNetnsId))?,
        };
        //= kernel-spec §5.3 step 11
        let phys = self
            .dev_get_by_index(lease_net, lease_ifindex)
            .ok_or(KernelError::new(ENODEV))?;
        let p = self.dev(phys);
        //= kernel-spec §5.3 step 12
        netdev_can_lease_queue(p)?;
        //= kernel-spec §5.3 step 14
        if lease_queue >= p.real_num_rx_queues {
            return Err(OpError::attr(
                KernelError::new(ERANGE),
                BadAttr::LeaseQueueId,
            ));
        }
        //= kernel-spec §5.3 step 15
        if let Some(msg) = netdev_queue_busy(p, lease_queue, QueueType::Rx) {
            return Err(KernelError::msg(uapi::errno::EBUSY, msg).into());
        }
        //= kernel-spec §5.3 step 16
        let v = self.dev(dev);
        let last = v.real_num_rx_queues - 1;
        if let Some((other, _)) = v.rx_queues[last as usize].lease
            && other != phys
        {
            return Err(KernelError::msg(
                EOPNOTSUPP,
                "Leasing queues from different devices not supported",
            )
            .into());
        }
        //= kernel-spec §5.3 step 17
        let queue_id = match &v.kind {
            DeviceKind::Netkit(_) => self.netkit_queue_create(dev)?,
            _ => return Err(KernelError::new(EOPNOTSUPP).into()),
        };
        //= kernel-spec §5.3 step 18
        self.netdev_rx_queue_lease((dev, queue_id), (phys, lease_queue));
        Ok(queue_id)
    }

    /// Kernel: `netdev_nl_queue_fill_one()` for queue-get do (kernel-spec §5.5): ENOENT if
    /// the device is down, EINVAL if the id is out of range.
    pub fn queue_info(&mut self, dev: DevId, ty: QueueType, id: u32) -> Result<QueueInfo, OpError> {
        let d = self.devices.get(&dev).ok_or(KernelError::new(ENODEV))?;
        if !d.up {
            return Err(KernelError::new(ENOENT).into());
        }
        let in_range = match ty {
            QueueType::Rx => id < d.real_num_rx_queues,
            QueueType::Tx => id < d.real_num_tx_queues,
            _ => false,
        };
        if !in_range {
            return Err(KernelError::new(EINVAL).into());
        }
        Ok(self.queue_fill_one(dev, ty, id))
    }

    /// Every queue of `dev` (RX then TX) as a queue-get dump reports it; a device that is
    /// down reports none.
    pub fn queue_list(&mut self, dev: DevId) -> Vec<QueueInfo> {
        let Some(d) = self.devices.get(&dev) else {
            return Vec::new();
        };
        if !d.up {
            return Vec::new();
        }
        let (rx, tx) = (d.real_num_rx_queues, d.real_num_tx_queues);
        let mut v: Vec<QueueInfo> = (0..rx)
            .map(|i| self.queue_fill_one(dev, QueueType::Rx, i))
            .collect();
        v.extend((0..tx).map(|i| self.queue_fill_one(dev, QueueType::Tx, i)));
        v
    }

    fn queue_fill_one(&mut self, dev: DevId, ty: QueueType, id: u32) -> QueueInfo {
        let d = self.dev(dev);
        let mut info = QueueInfo {
            id,
            ty,
            ifindex: d.ifindex,
            napi_id: None,
            dmabuf: None,
            io_uring: false,
            xsk: false,
            lease: None,
        };
        if ty != QueueType::Rx {
            return info;
        }
        info.napi_id = d.rx_queues[id as usize].napi_id;
        // Lease nest: PHYS_TO_VIRT only, i.e. when querying the physical side.
        let owner = self.netif_rx_queue_lease_get_owner(dev, id);
        let phys_ns = d.netns;
        // Memory provider: a leasee reports the physical queue's provider.
        let (mdev, midx) = self
            .netif_get_rx_queue_lease(dev, id, LeaseDir::VirtToPhys)
            .unwrap_or((dev, id));
        let mq = &self.dev(mdev).rx_queues[midx as usize];
        match &mq.mp {
            Some(MemoryProvider::Devmem(b)) => info.dmabuf = Some(b.id()),
            Some(MemoryProvider::IoUring(_)) => info.io_uring = true,
            None => {}
        }
        info.xsk = mq.xsk;
        if let Some((vdev, vq)) = owner {
            let v = self.dev(vdev);
            let (v_ifindex, v_ns) = (v.ifindex, v.netns);
            let netns_id = if v_ns != phys_ns {
                self.peernet2id_alloc(phys_ns, v_ns)
            } else {
                None
            };
            info.lease = Some(LeaseInfo {
                ifindex: v_ifindex,
                queue_id: vq,
                netns_id,
            });
        }
        info
    }

    /// NAPI instances of `dev` (one per active RX queue of a NIC), for napi-get dumps.
    pub fn napi_list(&self, dev: DevId) -> Vec<NapiInfo> {
        let Some(d) = self.devices.get(&dev) else {
            return Vec::new();
        };
        (0..d.real_num_rx_queues)
            .filter_map(|i| d.rx_queues[i as usize].napi_id)
            .map(|id| self.napi_info(d.id, id))
            .collect()
    }

    fn napi_info(&self, dev: DevId, id: u32) -> NapiInfo {
        let cfg = self.napi_cfg.get(&id).copied().unwrap_or_default();
        NapiInfo {
            id,
            ifindex: self.dev(dev).ifindex,
            defer_hard_irqs: cfg.defer_hard_irqs.unwrap_or(0),
            gro_flush_timeout: cfg.gro_flush_timeout.unwrap_or(0),
            irq_suspend_timeout: cfg.irq_suspend_timeout.unwrap_or(0),
            threaded: cfg.threaded.unwrap_or(0),
        }
    }

    fn napi_by_id(&self, ns: crate::NetNsId, id: u32) -> Option<DevId> {
        self.devices
            .values()
            .filter(|d| d.netns == ns)
            .find(|d| {
                (0..d.real_num_rx_queues).any(|i| d.rx_queues[i as usize].napi_id == Some(id))
            })
            .map(|d| d.id)
    }

    /// Kernel: `netdev_nl_napi_get_doit()`: ENOENT (bad attr id) unless a NAPI with `id`
    /// lives in the caller's namespace.
    pub fn napi_get(&self, caller: &Caller, id: u32) -> Result<NapiInfo, OpError> {
        let dev = self
            .napi_by_id(caller.netns, id)
            .ok_or_else(|| OpError::attr(KernelError::new(ENOENT), BadAttr::NapiId))?;
        Ok(self.napi_info(dev, id))
    }

    /// Kernel: `netdev_nl_napi_set_doit()`.
    pub fn napi_set(&mut self, caller: &Caller, id: u32, set: NapiSet) -> Result<(), OpError> {
        self.napi_by_id(caller.netns, id)
            .ok_or_else(|| OpError::attr(KernelError::new(ENOENT), BadAttr::NapiId))?;
        let cfg = self.napi_cfg.entry(id).or_default();
        cfg.defer_hard_irqs = set.defer_hard_irqs.or(cfg.defer_hard_irqs);
        cfg.gro_flush_timeout = set.gro_flush_timeout.or(cfg.gro_flush_timeout);
        cfg.irq_suspend_timeout = set.irq_suspend_timeout.or(cfg.irq_suspend_timeout);
        cfg.threaded = set.threaded.or(cfg.threaded);
        Ok(())
    }

    /// dev-get data.
    pub fn dev_info(&self, dev: DevId) -> Option<DevInfo> {
        let d = self.devices.get(&dev)?;
        let xdp = match &d.kind {
            DeviceKind::Nic(n) => n.profile.xdp_features,
            _ => 0,
        };
        Some(DevInfo {
            ifindex: d.ifindex,
            xdp_features: xdp,
            xdp_zc_max_segs: (xdp & uapi::netdev::NETDEV_XDP_ACT_XSK_ZEROCOPY != 0).then_some(1),
            xdp_rx_metadata_features: 0,
            xsk_features: 0,
        })
    }

    /// qstats per active queue of `dev` (scope queue).
    pub fn qstats(&self, dev: DevId) -> Vec<QstatsRow> {
        let Some(d) = self.devices.get(&dev) else {
            return Vec::new();
        };
        let mut v: Vec<QstatsRow> = (0..d.real_num_rx_queues)
            .map(|i| QstatsRow {
                ifindex: d.ifindex,
                ty: QueueType::Rx,
                id: i,
                stats: d.rx_queues[i as usize].stats,
            })
            .collect();
        v.extend((0..d.real_num_tx_queues).map(|i| QstatsRow {
            ifindex: d.ifindex,
            ty: QueueType::Tx,
            id: i,
            stats: d.tx_queue_stats[i as usize],
        }));
        v
    }
}
