//! Network devices and the transmit path.
//!
//! Kernel: `include/linux/netdevice.h` (`struct net_device`, `enum netmem_tx_mode`) and
//! `net/core/dev.c` (`validate_xmit_unreadable_skb()`, `validate_xmit_skb()`,
//! `__dev_queue_xmit()`). Every transmit in the emulator goes through
//! [`Kernel::dev_queue_xmit`], which validates before the driver sees the skb (DESIGN
//! invariant 3).

use std::collections::VecDeque;
use std::fmt;

use crate::dma::{Iommu, IommuFault};
use crate::drivers::netkit::NetkitState;
use crate::drivers::nic::NicState;
use crate::drivers::veth::VethState;
use crate::kernel::Kernel;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::netdev_rx_queue::RxQueue;
use crate::net::core::skbuff::Skb;
use crate::net::ethtool::EthtoolState;

/// A device identity, global and never reused (unlike ifindexes, which are per netns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DevId(pub u64);

/// Kernel: `enum netmem_tx_mode` (series patch 1/8 and 2/8).
///
/// Before the series the field was a one-bit `bool`: [`KernelModel::PreSeries`]
/// (crate::kernel::KernelModel) devices only ever get `None` (= false) or `Dma` (= true),
/// and netkit has `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetmemTx {
    /// `NETMEM_TX_NONE`: no netmem TX (zeroed default).
    #[default]
    None,
    /// `NETMEM_TX_DMA`: real hardware that DMA-reads the netmem.
    Dma,
    /// `NETMEM_TX_NO_DMA`: never DMAs, never touches frag contents (netkit).
    NoDma,
}

/// A DMA-capable `struct device` with its IOMMU domain (`dev->dma_mask` set).
#[derive(Debug, Clone)]
pub struct DmaDev {
    bus: String,
    iommu: Iommu,
}

impl DmaDev {
    /// A DMA device on `bus` with a fresh IOMMU domain.
    pub fn new(bus: impl Into<String>) -> Self {
        let bus = bus.into();
        DmaDev {
            iommu: Iommu::new(bus.clone()),
            bus,
        }
    }

    /// Bus address (e.g. `0000:03:00.0`).
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// The device's IOMMU domain.
    pub fn iommu(&self) -> &Iommu {
        &self.iommu
    }
}

impl PartialEq for DmaDev {
    /// Pointer identity, as the kernel compares `struct device *`.
    fn eq(&self, other: &Self) -> bool {
        self.iommu.same(&other.iommu)
    }
}

/// Kernel: `dev->dev.parent`, the bus device behind a physical netdev.
#[derive(Debug, Clone)]
pub struct ParentDev {
    /// Bus name, e.g. `0000:03:00.0`.
    pub bus: String,
    /// Its DMA view, if it can DMA.
    pub dma: Option<DmaDev>,
}

/// Kernel: `struct netdev_queue_mgmt_ops`: which ops a driver implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueMgmtOps {
    /// All four of `ndo_queue_mem_alloc/free`, `ndo_queue_start/stop` (queue restart).
    pub restart: bool,
    /// `ndo_queue_create` (netkit).
    pub create: bool,
}

/// Per-device counters (`ip -s link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DevStats {
    /// RX packets.
    pub rx_packets: u64,
    /// RX bytes.
    pub rx_bytes: u64,
    /// TX packets.
    pub tx_packets: u64,
    /// TX bytes.
    pub tx_bytes: u64,
    /// Kernel: `dev_core_stats_tx_dropped_inc()`.
    pub tx_dropped: u64,
    /// Kernel: `dev_core_stats_rx_dropped_inc()`.
    pub rx_dropped: u64,
    /// Frames the driver could not DMA (IOMMU fault); faults themselves are counted by
    /// the device's [`Iommu`].
    pub tx_errors: u64,
    /// Frames the NIC dropped because their RX queue had no free descriptor
    /// (`rtnl_link_stats64::rx_missed_errors`: bnxt's `rx_discard_pkts`, mlx5e's
    /// `rx_out_of_buffer`).
    pub rx_missed_errors: u64,
}

/// Per-queue counters (qstats).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueStats {
    /// Packets.
    pub packets: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Driver-specific state.
#[derive(Debug)]
pub enum DeviceKind {
    /// A DMA NIC.
    Nic(NicState),
    /// A netkit device.
    Netkit(NetkitState),
    /// A veth device.
    Veth(VethState),
    /// The loopback device.
    Loopback,
}

/// Kernel: `struct xdp_prog` attached to a device, reduced to what checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpProg {
    /// `prog->aux->xdp_has_frags` (multi-buffer capable, e.g. `xdp.frags` section).
    pub has_frags: bool,
}

/// Kernel: `struct net_device`.
#[derive(Debug)]
pub struct NetDevice {
    /// Global identity.
    pub id: DevId,
    /// Kernel: `dev_net(dev)`.
    pub netns: NetNsId,
    /// Kernel: `dev->ifindex` (unique within `netns`).
    pub ifindex: u32,
    /// Kernel: `dev->name`.
    pub name: String,
    /// `IFF_UP`.
    pub up: bool,
    /// Kernel: `netif_device_present()`.
    pub present: bool,
    /// Kernel: `dev->dev.parent`; `None` for virtual devices.
    pub parent: Option<ParentDev>,
    /// Kernel: `dev->netmem_tx`.
    pub netmem_tx: NetmemTx,
    /// Kernel: `dev->queue_mgmt_ops`.
    pub queue_mgmt_ops: Option<QueueMgmtOps>,
    /// Kernel: `dev->num_rx_queues` (allocated).
    pub num_rx_queues: u32,
    /// Kernel: `dev->real_num_rx_queues` (active).
    pub real_num_rx_queues: u32,
    /// Kernel: `dev->num_tx_queues`.
    pub num_tx_queues: u32,
    /// Kernel: `dev->real_num_tx_queues`.
    pub real_num_tx_queues: u32,
    /// Kernel: `dev->_rx`, `num_rx_queues` long.
    pub rx_queues: Vec<RxQueue>,
    /// TX queue counters, `num_tx_queues` long.
    pub tx_queue_stats: Vec<QueueStats>,
    /// Kernel: `dev->dev_addr`.
    pub mac: [u8; 6],
    /// Kernel: `dev->mtu`.
    pub mtu: u32,
    /// Driver state.
    pub kind: DeviceKind,
    /// ethtool-visible configuration.
    pub ethtool: EthtoolState,
    /// Counters.
    pub stats: DevStats,
    /// Attached XDP program (native mode).
    pub xdp_prog: Option<XdpProg>,
    /// Frames received and not yet processed by the stack (kernel: this device's share of
    /// the softnet backlog; [`Kernel::net_rx_action`] drains it in arrival order).
    pub rx_backlog: VecDeque<Skb>,
    /// Kernel: `dev->ip6_ptr` (IPv6 addresses).
    pub ip6: crate::net::ipv6::addrconf::Inet6Dev,
    /// Kernel: `dev->ip_ptr` (IPv4 addresses).
    pub ip4: crate::net::ipv4::devinet::InDevice,
    /// This device's rows of `nd_tbl` / `arp_tbl`.
    pub neigh: crate::net::core::neighbour::NeighTable,
    /// The clsact qdisc, if added.
    pub tc: Option<crate::net::sched::Clsact>,
    /// netkit: programs attached for this device's xmit (`nk->active`), in order.
    pub netkit_progs: Vec<std::rc::Rc<dyn crate::net::sched::TcProgram>>,
    /// An open packet capture.
    pub capture: Option<crate::net::core::capture::Capture>,
}

impl NetDevice {
    /// A device with the given identity and queue layout; drivers fill in the rest.
    pub(crate) fn new(
        id: DevId,
        netns: NetNsId,
        name: String,
        kind: DeviceKind,
        rx: (u32, u32),
        tx: (u32, u32),
    ) -> Self {
        NetDevice {
            id,
            netns,
            ifindex: 0,
            name,
            up: false,
            present: true,
            parent: None,
            netmem_tx: NetmemTx::None,
            queue_mgmt_ops: None,
            num_rx_queues: rx.0,
            real_num_rx_queues: rx.1,
            num_tx_queues: tx.0,
            real_num_tx_queues: tx.1,
            rx_queues: (0..rx.0).map(|_| RxQueue::default()).collect(),
            tx_queue_stats: vec![QueueStats::default(); tx.0 as usize],
            mac: [0; 6],
            mtu: 1500,
            kind,
            ethtool: EthtoolState::default(),
            stats: DevStats::default(),
            xdp_prog: None,
            rx_backlog: VecDeque::new(),
            ip6: Default::default(),
            ip4: Default::default(),
            neigh: Default::default(),
            tc: None,
            netkit_progs: Vec::new(),
            capture: None,
        }
    }

    /// Kernel: `netdev_need_ops_lock()`: drivers with queue management ops run under the
    /// instance lock, which is what memory providers require.
    pub fn need_ops_lock(&self) -> bool {
        self.queue_mgmt_ops.is_some()
    }

    /// Kernel: `netif_is_queue_leasee()`: a virtual device (no parent) may hold leases.
    pub fn is_virtual(&self) -> bool {
        self.parent.is_none()
    }

    /// The device's DMA device (`dev->dev.parent` with a DMA mask).
    pub fn dma_dev(&self) -> Option<&DmaDev> {
        self.parent.as_ref().and_then(|p| p.dma.as_ref())
    }

    /// Kernel: `dev_get_min_mp_channel_count()`: highest RX queue index with a memory
    /// provider, plus one; 0 when none.
    pub fn min_mp_channel_count(&self) -> u32 {
        (0..self.real_num_rx_queues)
            .rev()
            .find(|&i| self.rx_queues[i as usize].mp.is_some())
            .map_or(0, |i| i + 1)
    }

    /// Kernel: `dev_xdp_sb_prog_count()`: single-buffer XDP programs attached.
    pub fn xdp_sb_prog_count(&self) -> u32 {
        u32::from(self.xdp_prog.is_some_and(|p| !p.has_frags))
    }

    /// The NIC's TX ring (frames its DMA engine gathered), for NIC devices.
    pub fn tx_ring(&self) -> Option<&VecDeque<Vec<u8>>> {
        match &self.kind {
            DeviceKind::Nic(n) => Some(&n.tx_ring),
            _ => None,
        }
    }

    /// IOMMU faults of this device's DMA engine (0 for devices without one).
    pub fn iommu_faults(&self) -> u64 {
        self.dma_dev().map_or(0, |d| d.iommu().faults())
    }

    /// `IFF_*` flags as rtnetlink reports them.
    pub fn flags(&self) -> u32 {
        use uapi::rtnetlink::{IFF_LOOPBACK, IFF_LOWER_UP, IFF_RUNNING, IFF_UP};
        let mut f = 0;
        if self.up {
            f |= IFF_UP | IFF_RUNNING | IFF_LOWER_UP;
        }
        if matches!(self.kind, DeviceKind::Loopback) {
            f |= IFF_LOOPBACK;
        }
        f
    }
}

/// What `validate_xmit_unreadable_skb()` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Return the skb unchanged.
    Accept,
    /// `kfree_skb()` and return NULL.
    Drop,
}

/// Kernel: `validate_xmit_unreadable_skb()` (kernel-spec §2.2): may `dev` transmit `skb`?
/// Evaluated top to bottom, first match wins. The pre-series kernel differs only in that
/// `NETMEM_TX_NO_DMA` does not exist (its devices are `NONE`), so one table serves both.
pub fn validate_xmit_unreadable_skb(skb: &Skb, dev: &NetDevice) -> Verdict {
    //= kernel-spec §2.2 rows 1 and 1'
    //# skb frags readable (no net_iov frags) → ACCEPT;
    //# (same test, OR-ed) `dev->netmem_tx == NETMEM_TX_NO_DMA` → ACCEPT
    if skb.skb_frags_readable() || dev.netmem_tx == NetmemTx::NoDma {
        return Verdict::Accept;
    }
    //= kernel-spec §2.2 row 2
    //# `dev->netmem_tx == NETMEM_TX_NONE` → DROP
    if dev.netmem_tx == NetmemTx::None {
        return Verdict::Drop;
    }
    //= kernel-spec §2.2 row 3
    //# (now `NETMEM_TX_DMA`) `skb_shinfo(skb)->nr_frags == 0` → ACCEPT
    let Some(first) = skb.frags.first() else {
        return Verdict::Accept;
    };
    //= kernel-spec §2.2 rows 4–6 (only frags[0] is inspected)
    //# devmem niov AND `READ_ONCE(binding->dev) != dev` → DROP; devmem and equal → ACCEPT;
    //# not devmem (io_uring zcrx niov) → ACCEPT
    match first.net_iov().and_then(|n| n.binding()) {
        Some(b) if b.dev() != Some(dev.id) => Verdict::Drop,
        _ => Verdict::Accept,
    }
}

/// Why a transmit did not reach the wire / the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmitDrop {
    /// `validate_xmit_unreadable_skb()` rejected it (`tx_dropped++`).
    Unreadable,
    /// The device is down or not present.
    DeviceDown,
    /// netkit/veth: no peer (single mode, or peer gone).
    NoPeer,
    /// netkit/veth: the peer is down.
    PeerDown,
    /// netkit: the device policy (or a program) said drop.
    Policy,
    /// A tc egress program returned `TC_ACT_SHOT` (`__dev_queue_xmit()` returns
    /// `NET_XMIT_DROP`; no device counter moves).
    TcShot,
    /// `dev_xmit_recursion()`: transmits nested past `XMIT_RECURSION_LIMIT` ("Dead loop on
    /// virtual device"; `-ENETDOWN`, `tx_dropped++`).
    Recursion,
    /// netkit/veth: the peer's backlog was full (`__netif_rx()` said `NET_RX_DROP`).
    Backlog,
    /// veth: `__dev_forward_skb()` refused it (peer down, or longer than the peer's MTU
    /// allows).
    NotForwardable,
    /// The NIC's DMA engine faulted while gathering the frame.
    IommuFault(IommuFault),
}

/// Outcome of [`Kernel::dev_queue_xmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmitResult {
    /// Handed to the driver, which put it on its ring / the peer's backlog.
    Ok,
    /// Dropped, and why.
    Dropped(XmitDrop),
}

impl fmt::Display for XmitResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XmitResult::Ok => f.write_str("ok"),
            XmitResult::Dropped(d) => write!(f, "dropped: {d:?}"),
        }
    }
}

/// A driver's transmit routine (`ndo_start_xmit`).
type NdoStartXmit = fn(&mut Kernel, DevId, Skb) -> XmitResult;

/// Kernel: `dev->netdev_ops->ndo_start_xmit`: the driver of a device of this kind.
#[inline(always)]
fn ndo_start_xmit(kind: &DeviceKind) -> NdoStartXmit {
    match kind {
        DeviceKind::Nic(_) => crate::drivers::nic::nic_xmit,
        DeviceKind::Netkit(_) => crate::drivers::netkit::netkit_xmit,
        DeviceKind::Veth(_) => crate::drivers::veth::veth_xmit,
        DeviceKind::Loopback => crate::drivers::loopback::loopback_xmit,
    }
}

impl Kernel {
    /// Kernel: `__dev_queue_xmit()` → `validate_xmit_skb()` → `dev_hard_start_xmit()`.
    /// The one way into a driver's `ndo_start_xmit`. With the debug switch
    /// `tx_validation = false` validation is skipped, so what it prevents (IOMMU faults)
    /// becomes visible.
    ///
    /// Order as in the kernel: the skb leaves any ingress context
    /// (`tcx_set_ingress(skb, false)`), tc egress runs, then — for the no-queue devices
    /// (netkit, veth, lo) — the device must be up, the transmit must not be nested past
    /// `XMIT_RECURSION_LIMIT` (`dev_xmit_recursion()`: "Dead loop on virtual device";
    /// both drops are `-ENETDOWN` with `tx_dropped++`), validation runs, and the driver
    /// is called with the recursion count raised. NICs queue on their qdisc, whose
    /// dequeue is not nested, so only the up check and validation apply.
    pub fn dev_queue_xmit(&mut self, dev: DevId, mut skb: Skb) -> XmitResult {
        let Some(d) = self.devices.get(&dev) else {
            return XmitResult::Dropped(XmitDrop::DeviceDown);
        };
        let egress = d.tc.as_ref().is_some_and(|t| !t.egress.is_empty());
        skb.dev = Some(dev);
        skb.tc_at_ingress = false;
        // sch_handle_egress(): tc egress runs before validation (kernel-spec §2.4); with
        // no egress filter it passes the skb on untouched, so it is called only with one.
        if egress {
            return self.dev_queue_xmit_tc_egress(dev, skb);
        }
        self.dev_queue_xmit_validate(dev, skb)
    }

    /// [`Kernel::dev_queue_xmit`] on a device with a tc egress filter: `sch_handle_egress()`
    /// first, then the rest of the transmit with what it passed on.
    #[cold]
    #[inline(never)]
    fn dev_queue_xmit_tc_egress(&mut self, dev: DevId, skb: Skb) -> XmitResult {
        match self.sch_handle_egress(dev, skb) {
            Ok(skb) => self.dev_queue_xmit_validate(dev, skb),
            Err(res) => res,
        }
    }

    /// [`Kernel::dev_queue_xmit`] after tc egress: the up and recursion checks, validation,
    /// the taps and the driver.
    #[inline(always)]
    fn dev_queue_xmit_validate(&mut self, dev: DevId, skb: Skb) -> XmitResult {
        let recursion = self.dev_xmit_recursion();
        let Some(d) = self.devices.get_mut(&dev) else {
            return XmitResult::Dropped(XmitDrop::DeviceDown);
        };
        if !d.up || !d.present {
            d.stats.tx_dropped += 1;
            self.kfree_skb(skb);
            return XmitResult::Dropped(XmitDrop::DeviceDown);
        }
        let no_queue = !matches!(d.kind, DeviceKind::Nic(_));
        if no_queue && recursion {
            d.stats.tx_dropped += 1;
            self.kfree_skb(skb);
            return XmitResult::Dropped(XmitDrop::Recursion);
        }
        if self.config.tx_validation && validate_xmit_unreadable_skb(&skb, d) == Verdict::Drop {
            // `validate_xmit_skb()` → out_null: `dev_core_stats_tx_dropped_inc(dev)`.
            d.stats.tx_dropped += 1;
            self.kfree_skb(skb);
            return XmitResult::Dropped(XmitDrop::Unreadable);
        }
        let ndo_start_xmit = ndo_start_xmit(&d.kind);
        // xmit_one() → dev_queue_xmit_nit(): taps see what the driver gets (a device
        // with no capture open has none).
        if d.capture.is_some() {
            self.capture_tx(dev, &skb);
        }
        // The no-queue devices' driver runs with the recursion count raised.
        if no_queue {
            self.softnet.xmit_recursion += 1;
        }
        let res = ndo_start_xmit(self, dev, skb);
        if no_queue {
            self.softnet.xmit_recursion -= 1;
        }
        res
    }
}
