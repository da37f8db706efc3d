//! A DMA NIC with per-driver capability profiles.
//!
//! Kernel: `bnxt_init_one()`, `gve_probe()`, `mlx5e_build_nic_netdev()`,
//! `fbnic_netdev_alloc()` (kernel-spec §1.3): every profile is a value, not a branch. The
//! NIC's DMA engine reaches memory only through its own [`Iommu`](crate::dma::Iommu): TX
//! gathers net_iov frags by IOVA, and an IOVA its domain does not map is a fault (counted,
//! frame dropped).

use std::collections::VecDeque;

use uapi::ethtool::TcpDataSplit;
use uapi::netdev::{
    NETDEV_XDP_ACT_BASIC, NETDEV_XDP_ACT_NDO_XMIT, NETDEV_XDP_ACT_NDO_XMIT_SG,
    NETDEV_XDP_ACT_REDIRECT, NETDEV_XDP_ACT_RX_SG, NETDEV_XDP_ACT_XSK_ZEROCOPY,
};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{
    DevId, DeviceKind, DmaDev, NetDevice, NetmemTx, ParentDev, QueueMgmtOps, XmitDrop, XmitResult,
};
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::ethtool::coalesce::{
    ETHTOOL_COALESCE_MAX_FRAMES, ETHTOOL_COALESCE_MAX_FRAMES_IRQ, ETHTOOL_COALESCE_RX_MAX_FRAMES,
    ETHTOOL_COALESCE_STATS_BLOCK_USECS, ETHTOOL_COALESCE_USE_ADAPTIVE,
    ETHTOOL_COALESCE_USE_ADAPTIVE_RX, ETHTOOL_COALESCE_USE_CQE, ETHTOOL_COALESCE_USECS,
    ETHTOOL_COALESCE_USECS_IRQ,
};
use crate::net::ethtool::{Channels, Coalesce, EthtoolState, Rings};

/// gve queue formats (`enum gve_queue_format`), which decide netmem TX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GveQueueFormat {
    /// GQI with raw addressing.
    GqiRda,
    /// GQI with queue page lists.
    GqiQpl,
    /// DQO with raw addressing: the only devmem-capable format.
    DqoRda,
    /// DQO with queue page lists.
    DqoQpl,
}

/// A NIC's capabilities. Limits are representative of the real drivers, not exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NicProfile {
    /// Driver name (`ethtool -i`).
    pub driver: &'static str,
    /// `dev->netmem_tx` set at probe.
    pub netmem_tx: NetmemTx,
    /// Implements `netdev_queue_mgmt_ops` (queue restart).
    pub queue_mgmt: bool,
    /// Supports `tcp-data-split` (header split).
    pub header_split: bool,
    /// Supports setting `hds-thresh`.
    pub hds_thresh_supported: bool,
    /// `hds_thresh_max`.
    pub hds_thresh_max: u32,
    /// Default `hds_thresh`.
    pub hds_thresh_default: u32,
    /// Maximum combined channels (= allocated RX/TX queues).
    pub max_channels: u32,
    /// Default combined channels.
    pub default_channels: u32,
    /// Ring size limit (RX and TX).
    pub ring_max: u32,
    /// Default ring size.
    pub ring_default: u32,
    /// ntuple rule slots.
    pub ntuple_slots: u32,
    /// RSS indirection table size.
    pub rss_table_size: u32,
    /// `NETDEV_XDP_ACT_*` features.
    pub xdp_features: u64,
    /// Kernel: `ethtool_ops::supported_coalesce_params`, what `ethtool -C` may change.
    pub supported_coalesce_params: u32,
    /// The coalescing parameters at probe (`ethtool -c`). `rx_usecs` / `rx_max_frames`
    /// moderate the RX interrupt and so the NAPI poll (see [`Kernel::nic_receive`]); a
    /// value outside `supported_coalesce_params` is the device's fixed setting, used but
    /// neither reported nor settable. Representative of the drivers, not exact.
    pub coalesce: Coalesce,
}

const XDP_COMMON: u64 = NETDEV_XDP_ACT_BASIC
    | NETDEV_XDP_ACT_REDIRECT
    | NETDEV_XDP_ACT_NDO_XMIT
    | NETDEV_XDP_ACT_RX_SG
    | NETDEV_XDP_ACT_NDO_XMIT_SG;

impl NicProfile {
    /// Broadcom bnxt: netmem TX DMA unconditionally. Coalescing: `bnxt_ethtool_ops`
    /// (usecs, max-frames, their `_irq` forms, stats-block-usecs, adaptive-rx, CQE mode);
    /// defaults after `bnxt_init_dflt_coal()` (RX 10 µs / 30 completion records, TX 28 µs /
    /// 30, stats every second), adaptive-rx off since there is no DIM here. An RX frame
    /// takes two records (`bufs_per_record`), so the RX interrupt comes after 15 frames and
    /// `bnxt_get_coalesce()` reports rx-frames 15 (rx-frames-irq: 2 records, 1 frame).
    pub fn bnxt() -> Self {
        NicProfile {
            driver: "bnxt_en",
            netmem_tx: NetmemTx::Dma,
            queue_mgmt: true,
            header_split: true,
            hds_thresh_supported: true,
            hds_thresh_max: 1023,
            hds_thresh_default: 256,
            max_channels: 16,
            default_channels: 8,
            ring_max: 2047,
            ring_default: 511,
            ntuple_slots: 128,
            rss_table_size: 128,
            xdp_features: XDP_COMMON,
            supported_coalesce_params: ETHTOOL_COALESCE_USECS
                | ETHTOOL_COALESCE_MAX_FRAMES
                | ETHTOOL_COALESCE_USECS_IRQ
                | ETHTOOL_COALESCE_MAX_FRAMES_IRQ
                | ETHTOOL_COALESCE_STATS_BLOCK_USECS
                | ETHTOOL_COALESCE_USE_ADAPTIVE_RX
                | ETHTOOL_COALESCE_USE_CQE,
            coalesce: Coalesce {
                rx_usecs: 10,
                rx_max_frames: 15,
                rx_usecs_irq: 1,
                rx_max_frames_irq: 1,
                tx_usecs: 28,
                tx_max_frames: 30,
                tx_usecs_irq: 2,
                tx_max_frames_irq: 2,
                stats_block_usecs: 1_000_000,
                ..Coalesce::default()
            },
        }
    }

    /// Google gve: netmem TX DMA only for DQO without QPL. Coalescing: `gve_ethtool_ops`
    /// has usecs only (DQO rate limits, RX 20 µs, TX 50 µs); the 64-frame RX threshold is
    /// the device's own.
    pub fn gve(format: GveQueueFormat) -> Self {
        let dqo = matches!(format, GveQueueFormat::DqoRda | GveQueueFormat::DqoQpl);
        NicProfile {
            driver: "gve",
            netmem_tx: if format == GveQueueFormat::DqoRda {
                NetmemTx::Dma
            } else {
                NetmemTx::None
            },
            queue_mgmt: true,
            header_split: dqo,
            hds_thresh_supported: false,
            hds_thresh_max: 0,
            hds_thresh_default: 0,
            max_channels: 16,
            default_channels: 8,
            ring_max: 4096,
            ring_default: 1024,
            ntuple_slots: 64,
            rss_table_size: 128,
            xdp_features: NETDEV_XDP_ACT_BASIC | NETDEV_XDP_ACT_REDIRECT | NETDEV_XDP_ACT_NDO_XMIT,
            supported_coalesce_params: ETHTOOL_COALESCE_USECS,
            coalesce: Coalesce {
                rx_usecs: 20,
                rx_max_frames: 64,
                tx_usecs: 50,
                ..Coalesce::default()
            },
        }
    }

    /// Mellanox mlx5e: netmem TX DMA unconditionally. Coalescing: `mlx5e_ethtool_ops`
    /// (usecs, max-frames, adaptive RX/TX, CQE mode); defaults the
    /// `MLX5E_PARAMS_DEFAULT_{RX,TX}_CQ_MODERATION_*` values, adaptive off (no DIM here).
    pub fn mlx5e() -> Self {
        NicProfile {
            driver: "mlx5_core",
            netmem_tx: NetmemTx::Dma,
            queue_mgmt: true,
            header_split: true,
            hds_thresh_supported: false,
            hds_thresh_max: 0,
            hds_thresh_default: 0,
            max_channels: 32,
            default_channels: 8,
            ring_max: 8192,
            ring_default: 1024,
            ntuple_slots: 256,
            rss_table_size: 256,
            xdp_features: XDP_COMMON | NETDEV_XDP_ACT_XSK_ZEROCOPY,
            supported_coalesce_params: ETHTOOL_COALESCE_USECS
                | ETHTOOL_COALESCE_MAX_FRAMES
                | ETHTOOL_COALESCE_USE_ADAPTIVE
                | ETHTOOL_COALESCE_USE_CQE,
            coalesce: Coalesce {
                rx_usecs: 8,
                rx_max_frames: 128,
                tx_usecs: 16,
                tx_max_frames: 32,
                ..Coalesce::default()
            },
        }
    }

    /// Meta fbnic: netmem TX DMA unconditionally, queue management and header split.
    /// Coalescing: `fbnic_ethtool_ops` (usecs, rx-frames).
    pub fn fbnic() -> Self {
        NicProfile {
            driver: "fbnic",
            netmem_tx: NetmemTx::Dma,
            queue_mgmt: true,
            header_split: true,
            hds_thresh_supported: true,
            hds_thresh_max: 1024,
            hds_thresh_default: 0,
            max_channels: 16,
            default_channels: 8,
            ring_max: 4096,
            ring_default: 1024,
            ntuple_slots: 64,
            rss_table_size: 128,
            xdp_features: XDP_COMMON,
            supported_coalesce_params: ETHTOOL_COALESCE_USECS | ETHTOOL_COALESCE_RX_MAX_FRAMES,
            coalesce: Coalesce {
                rx_usecs: 30,
                rx_max_frames: 64,
                tx_usecs: 35,
                ..Coalesce::default()
            },
        }
    }
}

/// Driver state of a NIC.
#[derive(Debug)]
pub struct NicState {
    /// The capabilities (boxed: the coalescing defaults make them large).
    pub profile: Box<NicProfile>,
    /// Frames the DMA engine gathered, in transmit order, when no wire is plugged in.
    pub tx_ring: VecDeque<Vec<u8>>,
    /// The cable and our end of it.
    pub wire: Option<(crate::drivers::wire::WireId, u8)>,
    /// A TAP interface of the real kernel instead of a wire (see [`crate::drivers::tap`]).
    pub tap: Option<std::rc::Rc<linux::tap::Tap>>,
    /// RX-side driver counters.
    pub rx_stats: crate::drivers::nic_rx::NicRxStats,
    /// The RX completion ring and its NAPI instance.
    pub napi: Box<crate::drivers::nic_rx::NicNapi>,
    /// The frames one transmit gathered, kept between transmits so that listing them
    /// allocates nothing (the driver fills its TX descriptor ring in place).
    tx_frames: Vec<Vec<u8>>,
}

impl Kernel {
    /// Probe a NIC in `netns`: a physical device with a bus parent, a DMA device with its
    /// own IOMMU domain, `channels` combined channels (0 = profile default), one NAPI per
    /// queue and a page pool per active RX queue.
    pub fn nic_add(
        &mut self,
        netns: NetNsId,
        name: &str,
        profile: NicProfile,
        channels: u32,
    ) -> KResult<DevId> {
        let max = profile.max_channels.max(1);
        let cur = if channels == 0 {
            profile.default_channels
        } else {
            channels
        };
        if cur > max {
            return Err(KernelError::new(uapi::errno::EINVAL));
        }
        let id = self.alloc_dev_id();
        self.nic_count += 1;
        let bus = format!("0000:{:02x}:00.0", self.nic_count + 2);
        let mut d = NetDevice::new(
            id,
            netns,
            name.to_string(),
            DeviceKind::Nic(NicState {
                profile: Box::new(profile.clone()),
                tx_ring: VecDeque::new(),
                wire: None,
                tap: None,
                rx_stats: Default::default(),
                napi: Default::default(),
                tx_frames: Vec::new(),
            }),
            (max, cur),
            (max, cur),
        );
        d.parent = Some(ParentDev {
            dma: Some(DmaDev::new(bus.clone())),
            bus,
        });
        d.netmem_tx = match self.config.model {
            crate::kernel::KernelModel::Series => profile.netmem_tx,
            // Pre-series the field is a bool: the same drivers set it to true.
            crate::kernel::KernelModel::PreSeries => match profile.netmem_tx {
                NetmemTx::NoDma => NetmemTx::None,
                m => m,
            },
        };
        d.queue_mgmt_ops = profile.queue_mgmt.then_some(QueueMgmtOps {
            restart: true,
            create: false,
        });
        d.mac = [
            0x02,
            0x00,
            0x00,
            0x00,
            (self.nic_count >> 8) as u8,
            self.nic_count as u8,
        ];
        d.ethtool = EthtoolState {
            ops: true,
            channels: Channels {
                max_combined: max,
                combined_count: cur,
                ..Channels::default()
            },
            rings: Rings {
                rx: profile.ring_default,
                rx_max: profile.ring_max,
                tx: profile.ring_default,
                tx_max: profile.ring_max,
                tcp_data_split: TcpDataSplit::Unknown,
                hds_thresh: profile.hds_thresh_default,
                hds_thresh_max: profile.hds_thresh_max,
                tcp_data_split_supported: profile.header_split,
                hds_thresh_supported: profile.hds_thresh_supported,
            },
            rss_indir: vec![0; profile.rss_table_size as usize],
            rss_configured: false,
            ntuple: Default::default(),
            ntuple_capacity: profile.ntuple_slots,
            coalesce: Some(profile.coalesce),
            supported_coalesce_params: profile.supported_coalesce_params,
        };
        d.ethtool.rss_spread(cur);
        for q in &mut d.rx_queues {
            q.napi_id = Some(self.alloc_napi_id());
        }
        self.register_netdevice(d, None)?;
        for i in 0..cur {
            let pp = self.page_pool_create(id, i);
            self.dev_mut(id).rx_queues[i as usize].page_pool = Some(pp);
        }
        Ok(id)
    }

    /// Simulate surprise removal: `netif_device_detach()` (the netdev stays, absent).
    pub fn nic_set_present(&mut self, dev: DevId, present: bool) {
        self.dev_mut(dev).present = present;
    }
}

/// Where a NIC's transmitted frames go.
enum TxOut {
    /// Onto the wire plugged into it, from end `.1`.
    Wire(crate::drivers::wire::WireId, u8),
    /// Into a TAP interface of the real kernel.
    Tap(std::rc::Rc<linux::tap::Tap>),
    /// Nothing plugged in: the TX ring keeps them.
    Ring,
    /// Not a NIC: nowhere.
    Nowhere,
}

/// The NIC's `ndo_start_xmit`: the DMA engine gathers the frame — the linear head from
/// host memory, each net_iov frag by IOVA through the NIC's own IOMMU — segments GSO skbs
/// into MSS-sized frames (TSO) with the checksum computed over the gathered bytes
/// (checksum offload), and puts them on the wire (or the TX ring when unplugged). Any
/// IOMMU fault drops the whole skb before a byte leaves.
pub(crate) fn nic_xmit(k: &mut Kernel, dev: DevId, skb: Skb) -> XmitResult {
    let d = k.dev_mut(dev);
    let mut frames = match &mut d.kind {
        DeviceKind::Nic(n) => std::mem::take(&mut n.tx_frames),
        _ => Vec::new(),
    };
    // The DMA engine reads through the device's IOMMU, borrowed (not cloned) while it
    // gathers.
    let iommu = d.dma_dev().map(|m| m.iommu());
    if let Err(fault) = crate::drivers::nic_tx::tso_segment(&skb, iommu, &mut frames) {
        frames.clear();
        let d = k.dev_mut(dev);
        d.stats.tx_errors += 1;
        if let DeviceKind::Nic(n) = &mut d.kind {
            n.tx_frames = frames;
        }
        return XmitResult::Dropped(XmitDrop::IommuFault(fault));
    }
    // The counters move for every frame the DMA engine gathered (a TAP that refuses one
    // counts a tx_error too); nothing reads them while the frames go out, so they are
    // added up once, after the frames went (their bytes summed on the way).
    let packets = frames.len() as u64;
    // Where the frames go does not change while they go: looked up once.
    let d = k.dev_mut(dev);
    let capture = d.capture.is_some();
    let out = match &d.kind {
        DeviceKind::Nic(n) => match (&n.tap, n.wire) {
            (Some(tap), _) => TxOut::Tap(tap.clone()),
            (None, None) => TxOut::Ring,
            (None, Some((w, end))) => TxOut::Wire(w, end),
        },
        _ => TxOut::Nowhere,
    };
    let bytes = match out {
        // The per-skb case: a burst onto the wire, no capture to show each frame to.
        TxOut::Wire(w, end) if !capture => k.wire_xmit_all(w, end, &mut frames),
        out => nic_xmit_each(k, dev, capture, &out, &mut frames),
    };
    let d = k.dev_mut(dev);
    d.stats.tx_packets += packets;
    d.stats.tx_bytes += bytes;
    if let Some(q) = d.tx_queue_stats.first_mut() {
        q.packets += packets;
        q.bytes += bytes;
    }
    if let DeviceKind::Nic(n) = &mut d.kind {
        n.tx_frames = frames;
    }
    XmitResult::Ok
}

/// [`nic_xmit`]'s frames one by one to wherever they go (each shown to the capture first
/// when one is open); returns their bytes.
#[cold]
#[inline(never)]
fn nic_xmit_each(
    k: &mut Kernel,
    dev: DevId,
    capture: bool,
    out: &TxOut,
    frames: &mut Vec<Vec<u8>>,
) -> u64 {
    let mut bytes = 0u64;
    for frame in frames.drain(..) {
        bytes += frame.len() as u64;
        if capture {
            k.capture_wire(dev, &frame);
        }
        match out {
            TxOut::Wire(w, end) => k.wire_xmit(*w, *end, frame),
            TxOut::Ring => {
                if let DeviceKind::Nic(n) = &mut k.dev_mut(dev).kind {
                    n.tx_ring.push_back(frame);
                }
            }
            TxOut::Tap(t) => {
                if t.send(&frame).is_err() {
                    k.dev_mut(dev).stats.tx_errors += 1;
                }
            }
            TxOut::Nowhere => {}
        }
    }
    bytes
}
