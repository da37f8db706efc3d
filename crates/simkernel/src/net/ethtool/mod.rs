//! ethtool state and the set operations later parts call.
//!
//! Kernel: `net/ethtool/channels.c` (`ethnl_set_channels`), `common.c`
//! (`ethtool_check_max_channel`), `rings.c` (`ethnl_set_rings{,_validate}`), RSS
//! (`ethtool -X equal N` / `default`), ntuple rules (`ethtool -N`) and interrupt
//! coalescing ([`coalesce`]). Messages and order are the kernel's; drivers are reduced to
//! their limits (see [`NicProfile`]).
//!
//! [`NicProfile`]: crate::drivers::nic::NicProfile

use std::collections::BTreeMap;
use std::net::IpAddr;

use uapi::errno::{EINVAL, ENOENT, ENOSPC, EOPNOTSUPP};
use uapi::ethtool::{ETHTOOL_MSG_CHANNELS_NTF, ETHTOOL_MSG_RINGS_NTF, TcpDataSplit};
use uapi::netdev::QueueType;

use crate::error::KernelError;
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::net::core::netdev_nl_ops::OpError;
use crate::net::core::netdev_queues::netdev_queue_busy;

pub use coalesce::{Coalesce, CoalesceSet};

/// Kernel: `struct ethtool_channels`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Channels {
    /// `max_rx`.
    pub max_rx: u32,
    /// `max_tx`.
    pub max_tx: u32,
    /// `max_other`.
    pub max_other: u32,
    /// `max_combined`.
    pub max_combined: u32,
    /// `rx_count`.
    pub rx_count: u32,
    /// `tx_count`.
    pub tx_count: u32,
    /// `other_count`.
    pub other_count: u32,
    /// `combined_count`.
    pub combined_count: u32,
}

/// Kernel: `struct ethtool_ringparam` + `kernel_ethtool_ringparam` + `dev->cfg` HDS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rings {
    /// `rx_pending`.
    pub rx: u32,
    /// `rx_max_pending`.
    pub rx_max: u32,
    /// `tx_pending`.
    pub tx: u32,
    /// `tx_max_pending`.
    pub tx_max: u32,
    /// Kernel: `dev->cfg->hds_config`.
    pub tcp_data_split: TcpDataSplit,
    /// Kernel: `dev->cfg->hds_thresh`.
    pub hds_thresh: u32,
    /// `hds_thresh_max`.
    pub hds_thresh_max: u32,
    /// `ETHTOOL_RING_USE_TCP_DATA_SPLIT` in `supported_ring_params`.
    pub tcp_data_split_supported: bool,
    /// `ETHTOOL_RING_USE_HDS_THRS` in `supported_ring_params`.
    pub hds_thresh_supported: bool,
}

impl Default for Rings {
    fn default() -> Self {
        Rings {
            rx: 0,
            rx_max: 0,
            tx: 0,
            tx_max: 0,
            tcp_data_split: TcpDataSplit::Unknown,
            hds_thresh: 0,
            hds_thresh_max: 0,
            tcp_data_split_supported: false,
            hds_thresh_supported: false,
        }
    }
}

/// An ntuple flow type (`ethtool -N flow-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    /// `tcp4`.
    Tcp4,
    /// `tcp6`.
    Tcp6,
}

/// What a matching flow does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NtupleAction {
    /// Steer to this RX queue (`action N`).
    Queue(u32),
    /// `action -1` (RX_CLS_FLOW_DISC).
    Discard,
}

/// One ntuple rule (`struct ethtool_rx_flow_spec`, what we match on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NtupleRule {
    /// Flow type.
    pub flow_type: FlowType,
    /// `src-ip`.
    pub src_ip: Option<IpAddr>,
    /// `dst-ip`.
    pub dst_ip: Option<IpAddr>,
    /// `src-port`.
    pub src_port: Option<u16>,
    /// `dst-port`.
    pub dst_port: Option<u16>,
    /// Action.
    pub action: NtupleAction,
}

/// ethtool-visible configuration of a device.
#[derive(Debug, Clone, Default)]
pub struct EthtoolState {
    /// Whether the driver implements `get/set_channels` and `get/set_ringparam`.
    pub ops: bool,
    /// Channels.
    pub channels: Channels,
    /// Rings and HDS.
    pub rings: Rings,
    /// RSS indirection table (queue per entry).
    pub rss_indir: Vec<u32>,
    /// Kernel: `netif_is_rxfh_configured()` (user set the table).
    pub rss_configured: bool,
    /// ntuple rules by location.
    pub ntuple: BTreeMap<u32, NtupleRule>,
    /// Rule slots the hardware has.
    pub ntuple_capacity: u32,
    /// Interrupt coalescing (`None`: the driver has no `get/set_coalesce`).
    pub coalesce: Option<Coalesce>,
    /// Kernel: `ethtool_ops::supported_coalesce_params`.
    pub supported_coalesce_params: u32,
}

/// A channels-set request: `None` leaves a count unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelsSet {
    /// `ETHTOOL_A_CHANNELS_RX_COUNT`.
    pub rx: Option<u32>,
    /// `ETHTOOL_A_CHANNELS_TX_COUNT`.
    pub tx: Option<u32>,
    /// `ETHTOOL_A_CHANNELS_OTHER_COUNT`.
    pub other: Option<u32>,
    /// `ETHTOOL_A_CHANNELS_COMBINED_COUNT`.
    pub combined: Option<u32>,
}

/// A rings-set request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingsSet {
    /// `ETHTOOL_A_RINGS_RX`.
    pub rx: Option<u32>,
    /// `ETHTOOL_A_RINGS_TX`.
    pub tx: Option<u32>,
    /// `ETHTOOL_A_RINGS_TCP_DATA_SPLIT`.
    pub tcp_data_split: Option<TcpDataSplit>,
    /// `ETHTOOL_A_RINGS_HDS_THRESH`.
    pub hds_thresh: Option<u32>,
    /// `ETHTOOL_A_RINGS_RX_MINI`: no modelled driver has a mini ring (current and maximum
    /// 0), so any other value is over the limit.
    pub rx_mini: Option<u32>,
    /// `ETHTOOL_A_RINGS_RX_JUMBO`: no modelled driver has a jumbo ring (as `rx_mini`).
    pub rx_jumbo: Option<u32>,
    /// `ETHTOOL_A_RINGS_RX_BUF_LEN`: no modelled driver sets
    /// `ETHTOOL_RING_USE_RX_BUF_LEN`, so its presence is refused.
    pub rx_buf_len: Option<u32>,
    /// `ETHTOOL_A_RINGS_CQE_SIZE` (no `ETHTOOL_RING_USE_CQE_SIZE`: refused).
    pub cqe_size: Option<u32>,
    /// `ETHTOOL_A_RINGS_TX_PUSH` (no `ETHTOOL_RING_USE_TX_PUSH`: refused).
    pub tx_push: Option<u8>,
    /// `ETHTOOL_A_RINGS_RX_PUSH` (no `ETHTOOL_RING_USE_RX_PUSH`: refused).
    pub rx_push: Option<u8>,
    /// `ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN` (no `ETHTOOL_RING_USE_TX_PUSH_BUF_LEN`: refused).
    pub tx_push_buf_len: Option<u32>,
}

fn einval_attr(msg: &'static str, attr: u16) -> OpError {
    OpError::attr(KernelError::msg(EINVAL, msg), crate::BadAttr::Ethtool(attr))
}

fn einval(msg: KernelError) -> OpError {
    OpError::from(msg)
}

impl EthtoolState {
    /// Highest queue the RSS table uses, when the user configured it (kernel:
    /// `ethtool_get_max_rxfh_channel()`: 0 when the table is the default).
    pub fn max_rxfh_channel(&self) -> u32 {
        if !self.rss_configured {
            return 0;
        }
        self.rss_indir.iter().copied().max().unwrap_or(0)
    }

    /// Highest queue an ntuple rule steers to (kernel: `ethtool_get_max_rxnfc_channel()`,
    /// 0 without rules).
    pub fn max_rxnfc_channel(&self) -> u32 {
        self.ntuple
            .values()
            .filter_map(|r| match r.action {
                NtupleAction::Queue(q) => Some(q),
                NtupleAction::Discard => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Kernel: driver `ethtool_rxfh_indir_default()`: spread over `n` queues.
    pub fn rss_spread(&mut self, n: u32) {
        let n = n.max(1);
        for (i, e) in self.rss_indir.iter_mut().enumerate() {
            *e = i as u32 % n;
        }
    }
}

impl Kernel {
    /// Kernel: `ethnl_set_channels()` + `ethtool_check_max_channel()` + the driver's
    /// `set_channels` (queue counts follow `combined + rx` / `combined + tx`) and, as
    /// `ethnl_default_set_doit()` does when a count changed,
    /// `ethtool_notify(ETHTOOL_MSG_CHANNELS_NTF)`. `Ok(true)` when something changed; a
    /// request that changes nothing neither reaches the driver nor notifies.
    pub fn ethtool_channels_set(&mut self, dev: DevId, req: ChannelsSet) -> Result<bool, OpError> {
        use uapi::ethtool::{
            ETHTOOL_A_CHANNELS_COMBINED_COUNT as A_COMB, ETHTOOL_A_CHANNELS_OTHER_COUNT as A_OTHER,
            ETHTOOL_A_CHANNELS_RX_COUNT as A_RX, ETHTOOL_A_CHANNELS_TX_COUNT as A_TX,
        };
        let d = self.dev(dev);
        if !d.ethtool.ops {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        let cur = d.ethtool.channels;
        let old_total = cur.combined_count + cur.rx_count.max(cur.tx_count);
        let mut ch = cur;
        let mut mod_any = false;
        let mut upd = |field: &mut u32, v: Option<u32>| {
            if let Some(v) = v
                && *field != v
            {
                *field = v;
                mod_any = true;
            }
        };
        upd(&mut ch.rx_count, req.rx);
        upd(&mut ch.tx_count, req.tx);
        upd(&mut ch.other_count, req.other);
        let before_comb = ch.combined_count;
        upd(&mut ch.combined_count, req.combined);
        let mod_combined = ch.combined_count != before_comb;
        if !mod_any {
            return Ok(false);
        }
        // ensure new channel counts are within limits
        let over = if ch.rx_count > ch.max_rx {
            Some(A_RX)
        } else if ch.tx_count > ch.max_tx {
            Some(A_TX)
        } else if ch.other_count > ch.max_other {
            Some(A_OTHER)
        } else if ch.combined_count > ch.max_combined {
            Some(A_COMB)
        } else {
            None
        };
        if let Some(a) = over {
            return Err(einval_attr("requested channel count exceeds maximum", a));
        }
        // ensure there is at least one RX and one TX channel
        let none = if ch.combined_count == 0 && ch.rx_count == 0 {
            Some(A_RX)
        } else if ch.combined_count == 0 && ch.tx_count == 0 {
            Some(A_TX)
        } else {
            None
        };
        if let Some(a) = none {
            let a = if mod_combined { A_COMB } else { a };
            return Err(einval_attr(
                "requested channel counts would result in no RX or TX channel being configured",
                a,
            ));
        }
        // ethtool_check_max_channel()
        let rx_total = ch.combined_count + ch.rx_count;
        let max_rxfh = d.ethtool.max_rxfh_channel();
        if rx_total <= max_rxfh {
            return Err(einval(KernelError::fmt(
                EINVAL,
                format!(
                    "requested channel counts are too low for existing indirection table ({max_rxfh})"
                ),
            )));
        }
        if rx_total <= d.ethtool.max_rxnfc_channel() {
            return Err(einval(KernelError::msg(
                EINVAL,
                "requested channel counts are too low for existing ntuple filter settings",
            )));
        }
        let max_mp = d.min_mp_channel_count();
        if rx_total <= max_mp {
            return Err(einval(KernelError::fmt(
                EINVAL,
                format!(
                    "requested channel counts are too low for existing memory provider setting ({max_mp})"
                ),
            )));
        }
        // ensure channels are not busy at the moment
        let from = ch.combined_count + ch.rx_count.min(ch.tx_count);
        for i in from..old_total {
            if netdev_queue_busy(d, i, QueueType::Rx).is_some() {
                return Err(einval(KernelError::msg(
                    EINVAL,
                    "requested channel counts are too low due to busy queues (AF_XDP or queue leasing)",
                )));
            }
        }
        self.nic_set_channels(dev, ch);
        self.ethtool_notify(dev, ETHTOOL_MSG_CHANNELS_NTF);
        Ok(true)
    }

    /// The driver side of `set_channels`: activate/deactivate RX and TX queues.
    fn nic_set_channels(&mut self, dev: DevId, ch: Channels) {
        let d = self.dev_mut(dev);
        let old_rx = d.real_num_rx_queues;
        let new_rx = (ch.combined_count + ch.rx_count).min(d.num_rx_queues);
        let new_tx = (ch.combined_count + ch.tx_count).min(d.num_tx_queues);
        d.ethtool.channels = ch;
        d.real_num_rx_queues = new_rx;
        d.real_num_tx_queues = new_tx;
        if !d.ethtool.rss_configured {
            d.ethtool.rss_spread(new_rx);
        }
        for i in new_rx..old_rx {
            if let Some(pp) = self.dev_mut(dev).rx_queues[i as usize].page_pool.take() {
                self.page_pool_destroy(pp);
            }
        }
        for i in old_rx..new_rx {
            let pp = self.page_pool_create(dev, i);
            self.dev_mut(dev).rx_queues[i as usize].page_pool = Some(pp);
        }
    }

    /// Kernel: `ethnl_set_rings_validate()` + `ethnl_set_rings()` and, as
    /// `ethnl_default_set_doit()` does when a parameter changed,
    /// `ethtool_notify(ETHTOOL_MSG_RINGS_NTF)`. `Ok(true)` when something changed; a
    /// request that changes nothing neither reaches the driver nor notifies.
    pub fn ethtool_rings_set(&mut self, dev: DevId, req: RingsSet) -> Result<bool, OpError> {
        use uapi::ethtool::{
            ETHTOOL_A_RINGS_CQE_SIZE, ETHTOOL_A_RINGS_HDS_THRESH as A_HDS,
            ETHTOOL_A_RINGS_RX as A_RX, ETHTOOL_A_RINGS_RX_BUF_LEN, ETHTOOL_A_RINGS_RX_JUMBO,
            ETHTOOL_A_RINGS_RX_MINI, ETHTOOL_A_RINGS_RX_PUSH,
            ETHTOOL_A_RINGS_TCP_DATA_SPLIT as A_TDS, ETHTOOL_A_RINGS_TX as A_TX,
            ETHTOOL_A_RINGS_TX_PUSH, ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN,
        };
        let d = self.dev(dev);
        let r = d.ethtool.rings;
        // ethnl_set_rings_validate(): a parameter the driver does not list in
        // `supported_ring_params` is refused by its mere presence, in attribute order,
        // before the ops are looked at. None of the modelled drivers lists rx-buf-len,
        // cqe-size, tx-push, rx-push or tx-push-buf-len.
        let unsupported = [
            (
                req.rx_buf_len.is_some(),
                "setting rx buf len not supported",
                ETHTOOL_A_RINGS_RX_BUF_LEN,
            ),
            (
                req.tcp_data_split.is_some() && !r.tcp_data_split_supported,
                "setting TCP data split is not supported",
                A_TDS,
            ),
            (
                req.hds_thresh.is_some() && !r.hds_thresh_supported,
                "setting hds-thresh is not supported",
                A_HDS,
            ),
            (
                req.cqe_size.is_some(),
                "setting cqe size not supported",
                ETHTOOL_A_RINGS_CQE_SIZE,
            ),
            (
                req.tx_push.is_some(),
                "setting tx push not supported",
                ETHTOOL_A_RINGS_TX_PUSH,
            ),
            (
                req.rx_push.is_some(),
                "setting rx push not supported",
                ETHTOOL_A_RINGS_RX_PUSH,
            ),
            (
                req.tx_push_buf_len.is_some(),
                "setting tx push buf len is not supported",
                ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN,
            ),
        ];
        if let Some(&(_, msg, a)) = unsupported.iter().find(|u| u.0) {
            return Err(OpError::attr(
                KernelError::msg(EOPNOTSUPP, msg),
                crate::BadAttr::Ethtool(a),
            ));
        }
        if !d.ethtool.ops {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        // ethnl_set_rings(): the mini and jumbo rings are 0 (no such ring), so any other
        // value is a modification that the limit check below refuses.
        let rx_mini = req.rx_mini.unwrap_or(0);
        let rx_jumbo = req.rx_jumbo.unwrap_or(0);
        let mut n = r;
        n.rx = req.rx.unwrap_or(n.rx);
        n.tx = req.tx.unwrap_or(n.tx);
        n.tcp_data_split = req.tcp_data_split.unwrap_or(n.tcp_data_split);
        n.hds_thresh = req.hds_thresh.unwrap_or(n.hds_thresh);
        if n == r && rx_mini == 0 && rx_jumbo == 0 {
            return Ok(false);
        }
        if n.tcp_data_split == TcpDataSplit::Enabled && d.xdp_sb_prog_count() > 0 {
            return Err(einval_attr(
                "tcp-data-split can not be enabled with single buffer XDP",
                A_TDS,
            ));
        }
        if d.min_mp_channel_count() > 0 {
            if n.tcp_data_split != TcpDataSplit::Enabled {
                return Err(einval(KernelError::msg(
                    EINVAL,
                    "can't disable tcp-data-split while device has memory provider enabled",
                )));
            } else if n.hds_thresh != 0 {
                return Err(einval(KernelError::msg(
                    EINVAL,
                    "can't set non-zero hds_thresh while device is memory provider enabled",
                )));
            }
        }
        let over = if n.rx > n.rx_max {
            Some(A_RX)
        } else if rx_mini > 0 {
            Some(ETHTOOL_A_RINGS_RX_MINI)
        } else if rx_jumbo > 0 {
            Some(ETHTOOL_A_RINGS_RX_JUMBO)
        } else if n.tx > n.tx_max {
            Some(A_TX)
        } else if n.hds_thresh > n.hds_thresh_max {
            Some(A_HDS)
        } else {
            None
        };
        if let Some(a) = over {
            return Err(einval_attr("requested ring size exceeds maximum", a));
        }
        self.dev_mut(dev).ethtool.rings = n;
        self.ethtool_notify(dev, ETHTOOL_MSG_RINGS_NTF);
        Ok(true)
    }

    /// `ethtool -X DEV equal N`: spread RSS over queues `0..N-1` (EINVAL if N is 0 or
    /// beyond the active RX queues).
    pub fn ethtool_rss_equal(&mut self, dev: DevId, n: u32) -> Result<(), OpError> {
        let d = self.dev_mut(dev);
        if !d.ethtool.ops || d.ethtool.rss_indir.is_empty() {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        if n == 0 || n > d.real_num_rx_queues {
            return Err(KernelError::new(EINVAL).into());
        }
        d.ethtool.rss_spread(n);
        d.ethtool.rss_configured = true;
        Ok(())
    }

    /// `ethtool -X DEV default`: back to the driver default over all active RX queues.
    pub fn ethtool_rss_default(&mut self, dev: DevId) -> Result<(), OpError> {
        let d = self.dev_mut(dev);
        if !d.ethtool.ops || d.ethtool.rss_indir.is_empty() {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        let n = d.real_num_rx_queues;
        d.ethtool.rss_spread(n);
        d.ethtool.rss_configured = false;
        Ok(())
    }

    /// `ethtool -N DEV flow-type ... action Q` with `loc` left to the driver
    /// (`RX_CLS_LOC_ANY`): the lowest free slot. ENOSPC when full, EINVAL for a queue that
    /// is not active.
    pub fn ethtool_ntuple_add(&mut self, dev: DevId, rule: NtupleRule) -> Result<u32, OpError> {
        let d = self.dev_mut(dev);
        if !d.ethtool.ops || d.ethtool.ntuple_capacity == 0 {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        if let NtupleAction::Queue(q) = rule.action
            && q >= d.real_num_rx_queues
        {
            return Err(KernelError::new(EINVAL).into());
        }
        let loc = (0..d.ethtool.ntuple_capacity)
            .find(|l| !d.ethtool.ntuple.contains_key(l))
            .ok_or(KernelError::new(ENOSPC))?;
        d.ethtool.ntuple.insert(loc, rule);
        Ok(loc)
    }

    /// `ethtool -N DEV delete LOC`.
    pub fn ethtool_ntuple_del(&mut self, dev: DevId, loc: u32) -> Result<(), OpError> {
        let d = self.dev_mut(dev);
        if !d.ethtool.ops {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        d.ethtool
            .ntuple
            .remove(&loc)
            .map(|_| ())
            .ok_or_else(|| KernelError::new(ENOENT).into())
    }

    /// Kernel: `dev_xdp_install()` checks for native XDP: a single-buffer program on a
    /// device with header split, or any program on a device with a memory provider, is
    /// refused with EBUSY. `None` detaches.
    pub fn dev_set_xdp(
        &mut self,
        dev: DevId,
        prog: Option<crate::net::core::dev::XdpProg>,
    ) -> Result<(), OpError> {
        let d = self.dev_mut(dev);
        if !matches!(d.kind, DeviceKind::Nic(_)) {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        if let Some(p) = prog {
            if d.ethtool.rings.tcp_data_split == TcpDataSplit::Enabled && !p.has_frags {
                return Err(KernelError::msg(
                    uapi::errno::EBUSY,
                    "unable to install XDP to device using tcp-data-split",
                )
                .into());
            }
            if d.min_mp_channel_count() > 0 {
                return Err(KernelError::msg(
                    uapi::errno::EBUSY,
                    "unable to install XDP to device using memory provider",
                )
                .into());
            }
        }
        d.xdp_prog = prog;
        Ok(())
    }
}

pub mod coalesce;
pub mod netlink;
