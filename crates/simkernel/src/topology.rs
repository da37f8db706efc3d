//! The selftests' container topology (selftests-spec §2, `NetDrvContEnv`), built in one
//! call for tests and demos.
//!
//! ```text
//!  remote ns                         init_net (host)                     container ns
//!  eth0 REMOTE_V6 ==== wire ==== eth0 LOCAL_V6 [tc in: nk_forward]
//!  guest/128 via LOCAL_V6            nk_host fe80::1 [tc in: nk_primary_rx_redirect]
//!                                    guest/128 via fe80::2 dev nk_host  <==>  nk_guest fe80::2,
//!                                    forwarding=1                             GUEST/64 nodad,
//!                                                                             default via fe80::1
//! ```
//!
//! Addresses and order follow `NetDrvContEnv._setup_ns()` / `_attach_bpf()` /
//! `_attach_primary_rx_redirect_bpf()`; the guest address is the prefix + `::2:2`.

use std::net::Ipv6Addr;
use std::rc::Rc;

use uapi::rtnetlink::{NetkitAction, NetkitMode};

use crate::drivers::netkit::NetkitConfig;
use crate::drivers::nic::NicProfile;
use crate::drivers::wire::{WireConfig, WireId};
use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::sched::TcDir;
use crate::progs::{NkForward, NkPrimaryRxRedirect};

/// What to build.
#[derive(Debug, Clone)]
pub struct TopologyConfig {
    /// `LOCAL_V6` (on the host NIC, /64).
    pub local_v6: Ipv6Addr,
    /// `REMOTE_V6` (on the remote NIC, /64).
    pub remote_v6: Ipv6Addr,
    /// `LOCAL_PREFIX_V6` (a /64).
    pub prefix_v6: Ipv6Addr,
    /// `rxqueues` for the guest (`num-rx-queues` of the peer).
    pub rxqueues: u32,
    /// `primary_rx_redirect=True`.
    pub primary_rx_redirect: bool,
    /// Host NIC profile.
    pub nic: NicProfile,
    /// Combined channels of both NICs (0 = profile default).
    pub channels: u32,
    /// The cable.
    pub wire: WireConfig,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            local_v6: "2001:db8:1::1".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            remote_v6: "2001:db8:1::2".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            prefix_v6: "2001:db8:2::".parse().unwrap_or(Ipv6Addr::UNSPECIFIED),
            rxqueues: 1,
            primary_rx_redirect: false,
            nic: NicProfile::bnxt(),
            channels: 4,
            wire: WireConfig::default(),
        }
    }
}

/// What was built.
#[derive(Debug, Clone)]
pub struct Topology {
    /// init_net (the DUT's host namespace).
    pub host_ns: NetNsId,
    /// The container namespace.
    pub cont_ns: NetNsId,
    /// The remote endpoint's namespace.
    pub remote_ns: NetNsId,
    /// `NETIF`.
    pub nic: DevId,
    /// The remote's NIC.
    pub remote_nic: DevId,
    /// The cable between them.
    pub wire: WireId,
    /// netkit primary (host side).
    pub nk_host: DevId,
    /// netkit peer (container side).
    pub nk_guest: DevId,
    /// `LOCAL_V6`.
    pub local_v6: Ipv6Addr,
    /// `REMOTE_V6`.
    pub remote_v6: Ipv6Addr,
    /// The /64 prefix.
    pub prefix_v6: Ipv6Addr,
    /// prefix + `::2:1`.
    pub nk_host_ipv6: Ipv6Addr,
    /// prefix + `::2:2`.
    pub nk_guest_ipv6: Ipv6Addr,
    /// The program on NETIF ingress.
    pub nk_forward: Rc<NkForward>,
    /// The program on nk_host ingress, when requested.
    pub nk_primary_rx_redirect: Option<Rc<NkPrimaryRxRedirect>>,
}

fn plus(p: Ipv6Addr, low: u128) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(p) + low)
}

impl Kernel {
    /// Build the `NetDrvContEnv` topology (see the module docs).
    pub fn topology_build(&mut self, cfg: &TopologyConfig) -> KResult<Topology> {
        let host = self.init_net();
        let nic = self.nic_add(host, "eth0", cfg.nic.clone(), cfg.channels)?;
        let remote_ns = self.netns_add("remote")?;
        let remote_nic = self.nic_add(remote_ns, "eth0", NicProfile::mlx5e(), cfg.channels)?;
        let wire = self.wire_connect(nic, remote_nic, cfg.wire)?;
        for (ns, d, a) in [
            (host, nic, cfg.local_v6),
            (remote_ns, remote_nic, cfg.remote_v6),
        ] {
            let lo = self
                .netns_loopback(ns)
                .ok_or(crate::KernelError::new(uapi::errno::ENODEV))?;
            self.link_set_up(lo, true)?;
            self.link_set_up(d, true)?;
            self.ipv6_addr_add(d, a, 64, true)?;
        }
        let guest_v6 = plus(cfg.prefix_v6, 0x2_0002);
        let host_v6 = plus(cfg.prefix_v6, 0x2_0001);

        // netkit pair: mode l2, policy forward, peer-policy forward, num-rx-queues.
        let mut nk = NetkitConfig::pair("nk_host", "nk_guest");
        nk.mode = NetkitMode::L2;
        nk.policy = Some(NetkitAction::Pass);
        nk.peer_policy = Some(NetkitAction::Pass);
        nk.peer_num_rx_queues = Some(cfg.rxqueues);
        nk.num_rx_queues = Some(cfg.rxqueues);
        let (nk_host, nk_guest) = self.netkit_add(host, nk)?;
        let nk_guest = nk_guest.ok_or(crate::KernelError::new(uapi::errno::ENODEV))?;

        // _setup_ns()
        self.sysctl_ipv6_forwarding(host, true);
        if let Some(n) = self.netns.get_mut(&host) {
            n.sysctl.accept_ra = 2;
        }
        let cont = self.netns_add("nk-cont")?;
        self.netns_set_id(cont, host, 0)?;
        self.link_set_netns(nk_guest, cont)?;
        self.link_set_up(nk_host, true)?;
        let ll1: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let ll2: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        self.ipv6_addr_add(nk_host, ll1, 64, true)?;
        self.ip6_route_add(host, guest_v6, 128, Some(ll2), Some(nk_host), None)?;
        let cont_lo = self
            .netns_loopback(cont)
            .ok_or(crate::KernelError::new(uapi::errno::ENODEV))?;
        self.link_set_up(cont_lo, true)?;
        self.link_set_up(nk_guest, true)?;
        self.ipv6_addr_add(nk_guest, ll2, 64, false)?;
        self.ipv6_addr_add(nk_guest, guest_v6, 64, true)?;
        self.ip6_route_add(
            cont,
            Ipv6Addr::UNSPECIFIED,
            0,
            Some(ll1),
            Some(nk_guest),
            None,
        )?;

        // _attach_bpf(): nk_forward on NETIF ingress, .bss = prefix + nk_host ifindex.
        if !self.tc_has_clsact(nic) {
            self.tc_qdisc_add_clsact(nic)?;
        }
        let fwd = Rc::new(NkForward::default());
        self.tc_filter_add(nic, TcDir::Ingress, fwd.clone(), None)?;
        let mut bss = cfg.prefix_v6.octets().to_vec();
        bss.extend_from_slice(&self.dev(nk_host).ifindex.to_le_bytes());
        fwd.bss_update(&bss)?;

        let redirect = if cfg.primary_rx_redirect {
            self.tc_qdisc_add_clsact(nk_host)?;
            let p = Rc::new(NkPrimaryRxRedirect::default());
            self.tc_filter_add(nk_host, TcDir::Ingress, p.clone(), None)?;
            self.ip6_route_add(remote_ns, guest_v6, 128, Some(cfg.local_v6), None, None)?;
            p.bss_update(&self.dev(nic).ifindex.to_ne_bytes())?;
            Some(p)
        } else {
            // README: the remote must route LOCAL_PREFIX_V6 towards the DUT.
            self.ip6_route_add(remote_ns, cfg.prefix_v6, 64, Some(cfg.local_v6), None, None)?;
            None
        };
        Ok(Topology {
            host_ns: host,
            cont_ns: cont,
            remote_ns,
            nic,
            remote_nic,
            wire,
            nk_host,
            nk_guest,
            local_v6: cfg.local_v6,
            remote_v6: cfg.remote_v6,
            prefix_v6: cfg.prefix_v6,
            nk_host_ipv6: host_v6,
            nk_guest_ipv6: guest_v6,
            nk_forward: fwd,
            nk_primary_rx_redirect: redirect,
        })
    }
}

/// RX queues the guest may grow to in [`default_topology`] (so queue-create can lease
/// NIC queues to it).
pub const GUEST_NUM_RX_QUEUES: u32 = 8;

/// What `nkdevmem serve` runs: [`Kernel::topology_build`] with the default addresses,
/// the guest able to hold [`GUEST_NUM_RX_QUEUES`] RX queues. The host namespace is
/// `init_net` with lo at ifindex 1 and up, one DMA NIC, and the netkit pair whose peer
/// lives in the container namespace (which calls the host nsid 0).
pub fn default_topology(k: &mut Kernel) -> KResult<Topology> {
    k.topology_build(&TopologyConfig {
        rxqueues: GUEST_NUM_RX_QUEUES,
        ..TopologyConfig::default()
    })
}
