//! netkit: BPF-programmable virtual devices, in pairs or single, that can lease RX queues
//! of a physical NIC.
//!
//! Kernel: `drivers/net/netkit.c` @4753f810 (kernel-spec §5.4): `netkit_new_link()`
//! validation, `netkit_setup()` (`NETMEM_TX_NO_DMA` on every netkit device, with the
//! series), `netkit_queue_create()`, `netkit_xmit()`, `netkit_uninit()` (unlease).
//! BPF programs are attached by later parts; without one, the device policy is the verdict.

use std::rc::Rc;

use uapi::errno::{EACCES, EINVAL, ENODEV, ENOTCONN, ENXIO, EOPNOTSUPP};
use uapi::rtnetlink::{NetkitAction, NetkitMode, NetkitPairing, NetkitScrub};

use crate::error::{KResult, KernelError};
use crate::kernel::{Kernel, KernelModel};
use crate::net::core::dev::{
    DevId, DeviceKind, NetDevice, NetmemTx, QueueMgmtOps, XmitDrop, XmitResult,
};
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::sched::cls_bpf::run_progs;
use crate::net::sched::{TcAction, TcProgram};

/// Kernel: `NETKIT_NUM_RX_QUEUES_MAX`.
pub const NETKIT_NUM_RX_QUEUES_MAX: u32 = 1024;
/// Kernel: `NETKIT_NUM_TX_QUEUES_MAX`.
pub const NETKIT_NUM_TX_QUEUES_MAX: u32 = 1;

/// Kernel: `struct netkit` (slow-path part).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetkitState {
    /// L2 or L3.
    pub mode: NetkitMode,
    /// The primary (host-side) device of a pair, or a single device.
    pub primary: bool,
    /// The other end (pair mode).
    pub peer: Option<DevId>,
    /// Pair or single.
    pub pairing: NetkitPairing,
    /// Default verdict when no program is attached.
    pub policy: NetkitAction,
    /// Scrub mode.
    pub scrub: NetkitScrub,
    /// `needed_headroom`.
    pub headroom: u16,
    /// `needed_tailroom`.
    pub tailroom: u16,
}

/// What `ip link add type netkit ...` asks for (the parsed IFLA_* attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetkitConfig {
    /// Primary name.
    pub name: String,
    /// Peer name (`IFLA_NETKIT_PEER_INFO` → ifname); `Some` counts as peer info.
    pub peer_name: Option<String>,
    /// Namespace of the peer (defaults to the primary's).
    pub peer_netns: Option<NetNsId>,
    /// `IFLA_NETKIT_MODE` (default L3).
    pub mode: NetkitMode,
    /// `IFLA_NETKIT_PAIRING` (default pair).
    pub pairing: NetkitPairing,
    /// `IFLA_NETKIT_POLICY`.
    pub policy: Option<NetkitAction>,
    /// `IFLA_NETKIT_PEER_POLICY`.
    pub peer_policy: Option<NetkitAction>,
    /// `IFLA_NETKIT_SCRUB`.
    pub scrub: Option<NetkitScrub>,
    /// `IFLA_NETKIT_PEER_SCRUB`.
    pub peer_scrub: Option<NetkitScrub>,
    /// `IFLA_NUM_RX_QUEUES` for the primary (default 1).
    pub num_rx_queues: Option<u32>,
    /// `IFLA_NUM_RX_QUEUES` inside the peer info (default 1).
    pub peer_num_rx_queues: Option<u32>,
    /// `IFLA_NETKIT_HEADROOM`.
    pub headroom: u16,
    /// `IFLA_NETKIT_TAILROOM`.
    pub tailroom: u16,
}

impl NetkitConfig {
    /// A pair `name` / `peer_name` with defaults (L3, pass/pass).
    pub fn pair(name: &str, peer_name: &str) -> Self {
        NetkitConfig {
            name: name.into(),
            peer_name: Some(peer_name.into()),
            peer_netns: None,
            mode: NetkitMode::L3,
            pairing: NetkitPairing::Pair,
            policy: None,
            peer_policy: None,
            scrub: None,
            peer_scrub: None,
            num_rx_queues: None,
            peer_num_rx_queues: None,
            headroom: 0,
            tailroom: 0,
        }
    }

    /// A single-mode device `name`.
    pub fn single(name: &str) -> Self {
        NetkitConfig {
            peer_name: None,
            pairing: NetkitPairing::Single,
            ..Self::pair(name, "")
        }
    }
}

/// Kernel: `netkit_check_policy()`.
fn check_policy(p: NetkitAction) -> KResult<()> {
    match p {
        NetkitAction::Pass | NetkitAction::Drop => Ok(()),
        _ => Err(KernelError::msg(
            EINVAL,
            "Provided default xmit policy not supported",
        )),
    }
}

/// `IFLA_NUM_RX_QUEUES` bounds (rtnl + netkit).
fn check_rxq(n: Option<u32>) -> KResult<u32> {
    let n = n.unwrap_or(1);
    if n == 0 || n > NETKIT_NUM_RX_QUEUES_MAX {
        return Err(KernelError::msg(EINVAL, "Invalid number of receive queues"));
    }
    Ok(n)
}

impl Kernel {
    /// Kernel: `netkit_new_link()`. Returns (primary, peer).
    pub fn netkit_add(
        &mut self,
        netns: NetNsId,
        cfg: NetkitConfig,
    ) -> KResult<(DevId, Option<DevId>)> {
        let policy = cfg.policy.unwrap_or(NetkitAction::Pass);
        let peer_policy = cfg.peer_policy.unwrap_or(NetkitAction::Pass);
        check_policy(policy)?;
        check_policy(peer_policy)?;
        if !matches!(cfg.mode, NetkitMode::L2 | NetkitMode::L3) {
            return Err(KernelError::msg(
                EINVAL,
                "Provided device mode can only be L2 or L3",
            ));
        }
        let single = match cfg.pairing {
            NetkitPairing::Pair => false,
            NetkitPairing::Single => true,
            _ => return Err(KernelError::new(EINVAL)),
        };
        let seen_peer = cfg.peer_name.is_some()
            || cfg.peer_scrub.is_some()
            || cfg.peer_policy.is_some()
            || cfg.peer_num_rx_queues.is_some()
            || cfg.peer_netns.is_some();
        if single && (seen_peer || policy != NetkitAction::Pass) {
            return Err(KernelError::new(EOPNOTSUPP));
        }
        let nrx = check_rxq(cfg.num_rx_queues)?;
        let peer_nrx = check_rxq(cfg.peer_num_rx_queues)?;
        let mk = |k: &mut Kernel, ns, name: String, primary: bool, pol, scrub, nrx: u32| {
            let id = k.alloc_dev_id();
            let mut d = NetDevice::new(
                id,
                ns,
                name,
                DeviceKind::Netkit(NetkitState {
                    mode: cfg.mode,
                    primary,
                    peer: None,
                    pairing: cfg.pairing,
                    policy: pol,
                    scrub,
                    headroom: cfg.headroom,
                    tailroom: cfg.tailroom,
                }),
                (nrx, 1),
                (NETKIT_NUM_TX_QUEUES_MAX, 1),
            );
            //= kernel-spec §1.3: netkit_setup() sets NETMEM_TX_NO_DMA (series only)
            d.netmem_tx = match k.config.model {
                KernelModel::Series => NetmemTx::NoDma,
                KernelModel::PreSeries => NetmemTx::None,
            };
            if cfg.mode == NetkitMode::L2 {
                // eth_hw_addr_random(), made deterministic from the device id.
                let n = id.0;
                d.mac = [0x02, 0x6e, 0x6b, (n >> 16) as u8, (n >> 8) as u8, n as u8];
            }
            d.queue_mgmt_ops = Some(QueueMgmtOps {
                restart: false,
                create: true,
            });
            d
        };
        let scrub = cfg.scrub.unwrap_or(NetkitScrub::Default);
        let peer_scrub = cfg.peer_scrub.unwrap_or(NetkitScrub::Default);
        let prim = mk(self, netns, cfg.name.clone(), true, policy, scrub, nrx);
        let prim_id = prim.id;
        let peer = if single {
            None
        } else {
            let ns = cfg.peer_netns.unwrap_or(netns);
            let name = cfg.peer_name.clone().unwrap_or_else(|| "nk0".into());
            Some(mk(self, ns, name, false, peer_policy, peer_scrub, peer_nrx))
        };
        let peer_id = peer.as_ref().map(|p| p.id);
        if let Some(mut p) = peer {
            if let DeviceKind::Netkit(s) = &mut p.kind {
                s.peer = Some(prim_id);
            }
            self.register_netdevice(p, None)?;
        }
        let mut prim = prim;
        if let DeviceKind::Netkit(s) = &mut prim.kind {
            s.peer = peer_id;
        }
        if let Err(e) = self.register_netdevice(prim, None) {
            if let Some(p) = peer_id {
                self.unregister_netdevice(p);
            }
            return Err(e);
        }
        Ok((prim_id, peer_id))
    }

    /// Kernel: `netkit_queue_create()` (`ndo_queue_create`): grow the real RX queue count
    /// by one and return the new queue's index.
    pub(crate) fn netkit_queue_create(&mut self, dev: DevId) -> KResult<u32> {
        let d = self.dev_mut(dev);
        let DeviceKind::Netkit(nk) = &d.kind else {
            return Err(KernelError::new(EOPNOTSUPP));
        };
        if nk.pairing == NetkitPairing::Pair && nk.primary {
            return Err(KernelError::msg(
                EOPNOTSUPP,
                "netkit can only lease against the peer device",
            ));
        }
        let old = d.real_num_rx_queues;
        // netif_set_real_num_rx_queues() refuses more than were allocated.
        if old + 1 > d.num_rx_queues {
            return Err(KernelError::msg(
                EINVAL,
                "netkit maximum queue limit reached",
            ));
        }
        d.real_num_rx_queues = old + 1;
        Ok(old)
    }

    /// Kernel: `netkit_queue_unlease()` from `netkit_uninit()`: release every leased queue
    /// (1..real) of `dev`.
    pub(crate) fn netkit_queue_unlease(&mut self, dev: DevId) {
        let n = self.dev(dev).real_num_rx_queues;
        for i in 1..n {
            if let Some(phys) = self.dev(dev).rx_queues[i as usize].lease {
                if self.devices.contains_key(&phys.0) {
                    self.netdev_rx_queue_unlease((dev, i), phys);
                } else {
                    self.dev_mut(dev).rx_queues[i as usize].lease = None;
                }
            }
        }
    }

    /// Kernel: `netkit_open()`: a pair device needs its peer.
    pub(crate) fn netkit_open(&self, dev: DevId) -> KResult<()> {
        if let DeviceKind::Netkit(nk) = &self.dev(dev).kind
            && nk.pairing == NetkitPairing::Pair
            && nk.peer.is_none()
        {
            return Err(KernelError::new(ENOTCONN));
        }
        Ok(())
    }
}

/// Kernel: `netkit_prep_forward()`: `skb_scrub_packet(skb, false)` (so `mark` and
/// `tstamp` survive it), then, only when the peer is in another namespace, clear the
/// timestamp and — with `NETKIT_SCRUB_DEFAULT`, not with `NETKIT_SCRUB_NONE` —
/// `netkit_xnet()`: zero `priority` and `mark`.
fn netkit_prep_forward(skb: &mut Skb, xnet: bool, scrub: NetkitScrub) {
    skb.scrub(false);
    skb.mac_header = 0;
    if !xnet {
        return;
    }
    skb.tstamp = 0;
    if scrub == NetkitScrub::Default {
        skb.priority = 0;
        skb.mark = 0;
    }
}

/// Kernel: `netkit_xmit()` (kernel-spec §5.4): peer present and up, `ETH_HLEN` pullable,
/// scrub (`netkit_prep_forward()`), `skb->dev` = the peer, then this device's programs
/// (`nk->active`; none → the device policy).
/// * NEXT/PASS → `__netif_rx()` into the peer; only if the peer's backlog took it do
///   this device's tx and the peer's rx counters move, else `tx_dropped++` and
///   `NET_XMIT_DROP`;
/// * REDIRECT → tx counters, then `skb_do_redirect()` from the peer's namespace (egress
///   context, so `bpf_redirect_peer` is refused); its outcome is not reported back;
/// * DROP or any other code → freed, `tx_dropped++`, `NET_XMIT_DROP`.
pub(crate) fn netkit_xmit(k: &mut Kernel, dev: DevId, mut skb: Skb) -> XmitResult {
    let d = k.dev(dev);
    let (peer, policy, scrub) = match &d.kind {
        DeviceKind::Netkit(nk) => (nk.peer, nk.policy, nk.scrub),
        _ => (None, NetkitAction::Drop, NetkitScrub::Default),
    };
    let netns = d.netns;
    let len = skb.len() as u64;
    let peer_dev = match peer.and_then(|p| k.devices.get(&p)) {
        None => Err(XmitDrop::NoPeer),
        Some(p) if !p.up || !p.present => Err(XmitDrop::PeerDown),
        Some(_) if skb.head.len() < 14 => Err(XmitDrop::Policy),
        Some(p) => Ok(p),
    };
    let peer_dev = match peer_dev {
        Ok(p) => p,
        Err(why) => {
            k.dev_mut(dev).stats.tx_dropped += 1;
            k.kfree_skb(skb);
            return XmitResult::Dropped(why);
        }
    };
    let (peer, peer_ns, peer_ifindex) = (peer_dev.id, peer_dev.netns, peer_dev.ifindex);
    let xnet = netns != peer_ns;
    netkit_prep_forward(&mut skb, xnet, scrub);
    skb.dev = Some(peer);
    // The programs run on the skb alone (no kernel state), so they are run from the
    // device's list in place, with no copy of it per skb.
    let (act, redirect) = if d.netkit_progs.is_empty() {
        match policy {
            NetkitAction::Pass => (TcAction::Ok, None),
            _ => (TcAction::Shot, None),
        }
    } else {
        // eth_type_trans() has set skb->protocol before the programs run.
        skb.protocol = u16::from_be_bytes([skb.head[12], skb.head[13]]);
        run_progs(d.netkit_progs.iter(), &mut skb, peer_ifindex, false)
    };
    match act {
        TcAction::Unspec | TcAction::Ok => k.pair_xmit_rx(dev, peer, skb, len),
        TcAction::Redirect => {
            let d = k.dev_mut(dev);
            d.stats.tx_packets += 1;
            d.stats.tx_bytes += len;
            match redirect {
                Some(r) => {
                    let _ = k.skb_do_redirect(peer, skb, r);
                }
                None => {
                    k.softnet.redirect_dropped += 1;
                    k.kfree_skb(skb);
                }
            }
            XmitResult::Ok
        }
        _ => {
            k.dev_mut(dev).stats.tx_dropped += 1;
            k.kfree_skb(skb);
            XmitResult::Dropped(XmitDrop::Policy)
        }
    }
}

/// `bpf_attach_type` values for netkit programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetkitAttach {
    /// `BPF_NETKIT_PRIMARY`: runs when the primary transmits.
    Primary,
    /// `BPF_NETKIT_PEER`: runs when the peer transmits.
    Peer,
}

impl Kernel {
    /// Kernel: `netkit_dev_fetch()`: where a program attached through `ifindex` (in
    /// `netns`) with `which` runs. ENODEV (no device / no peer), ENXIO (not netkit),
    /// EACCES (not the primary), EOPNOTSUPP (single mode).
    pub fn netkit_dev_fetch(
        &self,
        netns: NetNsId,
        ifindex: u32,
        which: NetkitAttach,
    ) -> KResult<DevId> {
        let dev = self
            .dev_get_by_index(netns, ifindex)
            .ok_or(KernelError::new(ENODEV))?;
        let DeviceKind::Netkit(nk) = &self.dev(dev).kind else {
            return Err(KernelError::new(ENXIO));
        };
        if !nk.primary {
            return Err(KernelError::new(EACCES));
        }
        if nk.pairing == NetkitPairing::Single {
            return Err(KernelError::new(EOPNOTSUPP));
        }
        match which {
            NetkitAttach::Primary => Ok(dev),
            NetkitAttach::Peer => nk.peer.ok_or(KernelError::new(ENODEV)),
        }
    }

    /// Kernel: `netkit_prog_attach()` (append; `bpf_mprog` order).
    pub fn netkit_prog_attach(
        &mut self,
        netns: NetNsId,
        ifindex: u32,
        which: NetkitAttach,
        prog: Rc<dyn TcProgram>,
    ) -> KResult<()> {
        let dev = self.netkit_dev_fetch(netns, ifindex, which)?;
        self.dev_mut(dev).netkit_progs.push(prog);
        Ok(())
    }

    /// Kernel: `netkit_prog_detach()` by program name (ENOENT if not attached).
    pub fn netkit_prog_detach(
        &mut self,
        netns: NetNsId,
        ifindex: u32,
        which: NetkitAttach,
        name: &str,
    ) -> KResult<()> {
        let dev = self.netkit_dev_fetch(netns, ifindex, which)?;
        let progs = &mut self.dev_mut(dev).netkit_progs;
        let pos = progs
            .iter()
            .position(|p| p.name() == name)
            .ok_or(KernelError::new(uapi::errno::ENOENT))?;
        progs.remove(pos);
        Ok(())
    }
}
