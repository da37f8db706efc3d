//! The test environments over the emulator: `NetDrvEpEnv` (a DMA NIC and a remote
//! endpoint on a wire) and `NetDrvContEnv` (plus a netkit pair into a container
//! netns), in the order `drivers/net/lib/py/env.py` builds and tears them down
//! (selftests-spec §9).
//!
//! The emulated lab: the DUT's NIC `eth0` (driver profile from `--driver`) with
//! [`LOCAL_V6`], a remote netns whose `eth0` has [`REMOTE_V6`], one wire between them
//! (impairment from `--impair`, RNG from `--seed`, pcap taps from `--pcap`).
//! Commands run as emulated processes ([`crate::tools::sh`]); the YNL calls the
//! python makes run through generic netlink sockets of a harness process in the
//! right netns.
//!
//! Teardown restores what setup changed and then VERIFIES that the NIC is back:
//! rings, channels, RSS, ntuple rules as saved at setup, no devmem binding, no lease.

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;
use std::rc::Rc;

use devmem::emulator::EmulatedTransport;
use devmem::ethtool::EthtoolClient;
use devmem::netdev::NetdevClient;
use ncdevmem::os_platform::emulated_netlink;
use simkernel::drivers::netkit::NetkitConfig;
use simkernel::drivers::nic::NicProfile;
use simkernel::drivers::wire::{Corrupt, Duplicate, Loss, Reorder, WireConfig, WireId};
use simkernel::net::sched::TcDir;
use simkernel::progs::{NkForward, NkPrimaryRxRedirect};
use simkernel::{Cred, DevId, Duration, Kernel, KernelConfig, NetNsId, Proc, World};
use uapi::netlink::NETLINK_GENERIC;
use uapi::rtnetlink::{NetkitAction, NetkitMode};

use crate::config::RunConfig;
use crate::ksft::{KsftError, KsftResult};
use crate::tools::CmdOutput;
use crate::tools::sh::{self, Job};

/// `LOCAL_V6` of the emulated lab.
pub const LOCAL_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
/// `REMOTE_V6`.
pub const REMOTE_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2);
/// `LOCAL_PREFIX_V6` (a /64).
pub const LOCAL_PREFIX_V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0);
/// utils.py `cmd()`'s default timeout.
pub const CMD_TIMEOUT: Duration = Duration::from_secs(5);
/// Virtual time teardown lets pass before checking (> 2 × TCP MSL).
const SETTLE: Duration = Duration::from_secs(130);
/// How long a reordered frame is held back on the wire.
const REORDER_DELAY: Duration = Duration::from_micros(200);

/// Where a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// The DUT's init netns.
    Local,
    /// The remote endpoint (`host=cfg.remote`).
    Remote,
}

/// NIC state that teardown must restore.
#[derive(Debug, Clone, PartialEq)]
pub struct NicSnapshot {
    channels: simkernel::net::ethtool::Channels,
    rings: simkernel::net::ethtool::Rings,
    rss_indir: Vec<u32>,
    ntuple: Vec<u32>,
}

fn snapshot(k: &Kernel, dev: DevId) -> NicSnapshot {
    let e = &k.device(dev).ethtool;
    NicSnapshot {
        channels: e.channels,
        rings: e.rings,
        rss_indir: e.rss_indir.clone(),
        ntuple: e.ntuple.keys().copied().collect(),
    }
}

fn kfail(what: &str) -> impl Fn(simkernel::KernelError) -> String + '_ {
    move |e| format!("{what}: {}", ncdevmem::report::strerror(e.errno))
}

/// `NetDrvEpEnv`: the NIC under test and a remote endpoint.
pub struct NetDrvEpEnv {
    /// The emulated world (kernel + processes).
    pub world: RefCell<World>,
    /// The kernel.
    pub kernel: Rc<RefCell<Kernel>>,
    /// The DUT's init netns.
    pub host_ns: NetNsId,
    /// The remote's netns.
    pub remote_ns: NetNsId,
    /// `NETIF`.
    pub ifname: String,
    /// Its ifindex.
    pub ifindex: u32,
    /// The device.
    pub dev: DevId,
    /// The remote's interface.
    pub remote_ifname: String,
    /// The remote's device.
    pub remote_dev: DevId,
    /// `LOCAL_V6`.
    pub addr: Ipv6Addr,
    /// `REMOTE_V6`.
    pub remote_addr: Ipv6Addr,
    /// `addr_ipver`.
    pub addr_ipver: &'static str,
    /// The wire.
    pub wire: WireId,
    /// devmem_lib: `bin_local`.
    pub bin_local: RefCell<String>,
    /// devmem_lib: `bin_remote` (deployed, never run).
    pub bin_remote: RefCell<String>,
    /// devmem_lib: `devmem_probed`.
    pub devmem_probed: Cell<bool>,
    /// devmem_lib: `devmem_supported`.
    pub devmem_supported: Cell<bool>,
    /// devmem_lib: `src_queue`.
    pub src_queue: Cell<Option<u32>>,
    /// The harness (python) process in the init netns.
    pub harness: Proc,
    saved: NicSnapshot,
    next_port: Cell<u16>,
    pcap_devs: Vec<DevId>,
}

impl std::fmt::Debug for NetDrvEpEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDrvEpEnv")
            .field("ifname", &self.ifname)
            .field("addr", &self.addr)
            .finish()
    }
}

impl NetDrvEpEnv {
    /// Builds the lab and the endpoint env for `cfg`.
    pub fn new(cfg: &RunConfig) -> Result<Self, String> {
        let mut k = Kernel::new(KernelConfig {
            model: cfg.model,
            tx_validation: true,
        });
        k.seed(cfg.seed);
        let host = k.init_net();
        let dev = k
            .nic_add(host, "eth0", cfg.driver.profile(), 0)
            .map_err(kfail("NETIF"))?;
        let remote_ns = k.netns_add("remote").map_err(kfail("remote netns"))?;
        let remote_dev = k
            .nic_add(remote_ns, "eth0", NicProfile::mlx5e(), 0)
            .map_err(kfail("remote NIC"))?;
        let wire = k
            .wire_connect(dev, remote_dev, WireConfig::default())
            .map_err(kfail("wire"))?;
        let i = cfg.impair;
        if i.loss > 0.0 {
            k.wire_add_rule(wire, Box::new(Loss(i.loss)))
                .map_err(kfail("impair"))?;
        }
        if i.reorder > 0.0 {
            k.wire_add_rule(
                wire,
                Box::new(Reorder {
                    p: i.reorder,
                    delay: REORDER_DELAY,
                }),
            )
            .map_err(kfail("impair"))?;
        }
        if i.dup > 0.0 {
            k.wire_add_rule(wire, Box::new(Duplicate(i.dup)))
                .map_err(kfail("impair"))?;
        }
        if i.corrupt > 0.0 {
            k.wire_add_rule(wire, Box::new(Corrupt(i.corrupt)))
                .map_err(kfail("impair"))?;
        }
        for (ns, d, a) in [(host, dev, LOCAL_V6), (remote_ns, remote_dev, REMOTE_V6)] {
            let lo = k.netns_loopback(ns).ok_or("no loopback")?;
            k.link_set_up(lo, true).map_err(kfail("lo up"))?;
            // NetDrvEnvBase.__enter__: device up (carrier follows the wire).
            k.link_set_up(d, true).map_err(kfail("link up"))?;
            k.ipv6_addr_add(d, a, 64, true).map_err(kfail("address"))?;
        }
        let mut pcap_devs = Vec::new();
        if let Some(dir) = &cfg.pcap {
            std::fs::create_dir_all(dir).map_err(|e| format!("--pcap {}: {e}", dir.display()))?;
            for (d, name) in [(dev, "host-eth0"), (remote_dev, "remote-eth0")] {
                start_pcap(&mut k, d, dir.join(format!("{name}.pcap")))?;
                pcap_devs.push(d);
            }
        }
        let ifindex = k.device(dev).ifindex;
        let saved = snapshot(&k, dev);
        let world = World::new(k);
        let harness = world.process(
            host,
            Cred {
                cap_net_admin: true,
            },
        );
        let port0 = 10000 + (cfg.seed % 20000) as u16;
        Ok(NetDrvEpEnv {
            kernel: world.kernel.clone(),
            world: RefCell::new(world),
            host_ns: host,
            remote_ns,
            ifname: "eth0".into(),
            ifindex,
            dev,
            remote_ifname: "eth0".into(),
            remote_dev,
            addr: LOCAL_V6,
            remote_addr: REMOTE_V6,
            addr_ipver: "6",
            wire,
            bin_local: RefCell::new(String::new()),
            bin_remote: RefCell::new(String::new()),
            devmem_probed: Cell::new(false),
            devmem_supported: Cell::new(false),
            src_queue: Cell::new(None),
            harness,
            saved,
            next_port: Cell::new(port0),
            pcap_devs,
        })
    }

    /// `baddr`: the local address as a URL host (`[v6]`).
    pub fn baddr(&self) -> String {
        format!("[{}]", self.addr)
    }

    /// `remote_baddr`.
    pub fn remote_baddr(&self) -> String {
        format!("[{}]", self.remote_addr)
    }

    /// `require_ipver("6")`: both ends have v6 in this lab.
    pub fn require_ipver(&self, v: &str) -> KsftResult {
        if v == "6" {
            Ok(())
        } else {
            Err(KsftError::Skip(format!(
                "Test requires IPv{v} connectivity"
            )))
        }
    }

    /// utils.py `rand_port()`: a port no socket uses (deterministic per seed).
    pub fn rand_port(&self) -> u16 {
        let p = self.next_port.get();
        self.next_port.set(if p >= 60000 { 10000 } else { p + 1 });
        p
    }

    fn netns_of(&self, host: Host) -> NetNsId {
        match host {
            Host::Local => self.host_ns,
            Host::Remote => self.remote_ns,
        }
    }

    /// Runs the world until `done()` holds or `timeout` of virtual time passes.
    pub fn drive_until(&self, timeout: Duration, done: impl Fn() -> bool) -> Result<(), String> {
        let deadline = self.kernel.borrow().clock() + timeout;
        let mut w = self.world.borrow_mut();
        loop {
            if done() {
                return Ok(());
            }
            if self.kernel.borrow().clock() > deadline {
                return Err(format!("timed out after {timeout:?}"));
            }
            match w.step() {
                Ok(true) => {}
                Ok(false) => {
                    return if done() {
                        Ok(())
                    } else {
                        Err("nothing left to run".into())
                    };
                }
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// utils.py `bkg()`: starts `line` on `host` (or in a named netns via `ip netns
    /// exec`).
    pub fn bkg(&self, line: &str, host: Host) -> Job {
        let ns = self.netns_of(host);
        sh::spawn(&mut self.world.borrow_mut(), ns, line)
    }

    /// Waits for a background job (utils.py `bkg(exit_wait=True)` leaving its block);
    /// a job that does not end in time is an error, as is a non-zero exit unless
    /// `fail` is false.
    pub fn wait(&self, job: &Job, fail: bool) -> KsftResult<CmdOutput> {
        let r = self.drive_until(CMD_TIMEOUT, || job.done());
        let out = match (r, job.result()) {
            (_, Some(out)) => out,
            (Err(e), None) => {
                return Err(KsftError::fail(format!(
                    "Command: {}\n{e} waiting for it to exit",
                    job.line
                )));
            }
            (Ok(()), None) => return Err(KsftError::fail("job vanished")),
        };
        if fail && out.status != 0 {
            return Err(KsftError::fail(cmd_failed(&job.line, &out)));
        }
        Ok(out)
    }

    /// utils.py `cmd()`: runs `line` to completion (5 s); non-zero exit raises unless
    /// `fail` is false.
    pub fn cmd(&self, line: &str, host: Host, fail: bool) -> KsftResult<CmdOutput> {
        let job = self.bkg(line, host);
        self.wait(&job, fail)
    }

    /// utils.py `wait_port_listen()`: a TCP LISTEN socket on `port` in `ns`, 5 s.
    pub fn wait_port_listen(&self, port: u16, ns: NetNsId) -> KsftResult {
        let k = self.kernel.clone();
        self.drive_until(CMD_TIMEOUT, || {
            k.borrow()
                .tcp_listeners(ns)
                .iter()
                .any(|a| a.port() == port)
        })
        .map_err(|e| KsftError::fail(format!("Waiting for port {port} to listen: {e}")))
    }

    /// A YNL ethtool socket of the harness.
    pub fn ethtool_ynl(&self) -> KsftResult<EthtoolClient<EmulatedTransport>> {
        let t = emulated_netlink(&self.harness, NETLINK_GENERIC)
            .map_err(|e| KsftError::fail(format!("YNL: {e}")))?;
        Ok(EthtoolClient::new(t))
    }

    /// A YNL netdev socket of a process in `ns` (`NetNSEnter`).
    pub fn netdev_ynl_in(&self, ns: NetNsId) -> KsftResult<NetdevClient<EmulatedTransport>> {
        let p = self.world.borrow().process(
            ns,
            Cred {
                cap_net_admin: true,
            },
        );
        let t = emulated_netlink(&p, NETLINK_GENERIC)
            .map_err(|e| KsftError::fail(format!("YNL: {e}")))?;
        Ok(NetdevClient::new(t))
    }

    /// Base-class teardown, then the check that the NIC is as setup found it.
    fn teardown_base(&self) -> Result<(), String> {
        // Let closing connections finish (FIN handshakes, TIME-WAIT) so that sockets
        // still holding received net_iovs give them back before the checks.
        let _ = self.world.borrow_mut().run_for(SETTLE);
        let mut k = self.kernel.borrow_mut();
        for d in &self.pcap_devs {
            let _ = k.capture_stop(*d);
        }
        let mut errs = Vec::new();
        let now = snapshot(&k, self.dev);
        if now.channels != self.saved.channels {
            errs.push(format!(
                "channels not restored: {:?} != {:?}",
                now.channels, self.saved.channels
            ));
        }
        if now.rings != self.saved.rings {
            errs.push(format!(
                "rings not restored: {:?} != {:?}",
                now.rings, self.saved.rings
            ));
        }
        if now.rss_indir != self.saved.rss_indir {
            errs.push("RSS indirection table not restored".into());
        }
        if now.ntuple != self.saved.ntuple {
            errs.push(format!("ntuple rules left: {:?}", now.ntuple));
        }
        if k.live_bindings() != 0 {
            errs.push(format!("{} devmem bindings left", k.live_bindings()));
        }
        let nq = k.device(self.dev).num_rx_queues;
        for q in 0..nq {
            if k.netif_rxq_is_leased(self.dev, q) {
                errs.push(format!("queue {q} of {} still leased", self.ifname));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// `__del__`: tear down and verify.
    pub fn teardown(&self) -> Result<(), String> {
        self.teardown_base()
    }
}

fn start_pcap(k: &mut Kernel, dev: DevId, path: PathBuf) -> Result<(), String> {
    let f = std::fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    k.capture_start(dev, Box::new(std::io::BufWriter::new(f)))
        .map_err(kfail("pcap"))
}

/// The text utils.py's `CmdExitFailure` carries.
pub fn cmd_failed(line: &str, out: &CmdOutput) -> String {
    format!(
        "Command failed: {line}\nEXIT: {}\nSTDOUT: {}\nSTDERR: {}",
        out.status,
        out.stdout.trim_end(),
        out.stderr.trim_end()
    )
}

/// `NetDrvContEnv(src_path, rxqueues, primary_rx_redirect)`.
pub struct NetDrvContEnv {
    /// The endpoint env it extends.
    pub ep: NetDrvEpEnv,
    /// `netns`: the container namespace's name.
    pub netns: String,
    /// Its id.
    pub netns_id: NetNsId,
    /// `nk_guest_ifname`.
    pub nk_guest_ifname: String,
    /// `nk_guest_ifindex`.
    pub nk_guest_ifindex: u32,
    /// `nk_host_ifindex`.
    pub nk_host_ifindex: u32,
    /// `_nk_host_ifname`.
    pub nk_host_ifname: String,
    /// `nk_guest_ipv6`.
    pub nk_guest_ipv6: Ipv6Addr,
    /// `ipv6_prefix`.
    pub ipv6_prefix: Ipv6Addr,
    /// devmem_lib: `nk_queue`.
    pub nk_queue: Cell<Option<u32>>,
    nk_host: DevId,
    nk_forward_pref: Option<u32>,
    netif_clsact_added: bool,
    redirect_pref: Option<u32>,
    nk_host_clsact_added: bool,
    remote_route: bool,
    saved_forwarding: bool,
    saved_accept_ra: u8,
}

impl std::fmt::Debug for NetDrvContEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetDrvContEnv")
            .field("netns", &self.netns)
            .field("nk_guest_ipv6", &self.nk_guest_ipv6)
            .finish()
    }
}

fn plus(p: Ipv6Addr, low: u128) -> Ipv6Addr {
    Ipv6Addr::from(u128::from(p) + low)
}

impl NetDrvContEnv {
    /// Builds the env in env.py's order (§9.2, steps 2–7).
    pub fn new(cfg: &RunConfig, rxqueues: u32, primary_rx_redirect: bool) -> Result<Self, String> {
        let ep = NetDrvEpEnv::new(cfg)?;
        let ll1 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
        let ll2 = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 2);
        // Step 2: the prefix and the two addresses.
        let ipv6_prefix = LOCAL_PREFIX_V6;
        let nk_guest_ipv6 = plus(ipv6_prefix, 0x2_0002);
        if u128::from(ep.addr) >> 64 == u128::from(ipv6_prefix) >> 64 {
            return Err("LOCAL_V6 lies inside LOCAL_PREFIX_V6".into());
        }
        let host = ep.host_ns;
        let kernel = ep.kernel.clone();
        let mut k = kernel.borrow_mut();
        // The lab README: the remote routes LOCAL_PREFIX_V6 to the DUT.
        k.ip6_route_add(ep.remote_ns, ipv6_prefix, 64, Some(ep.addr), None, None)
            .map_err(kfail("remote prefix route"))?;
        // Step 3: rtnl newlink netkit, mode l2, policy forward, peer-policy forward,
        // num-rx-queues (the emulator's netkit_add is what the newlink doit runs).
        let mut nk = NetkitConfig::pair("nk_host", "nk_guest");
        nk.mode = NetkitMode::L2;
        nk.policy = Some(NetkitAction::Pass);
        nk.peer_policy = Some(NetkitAction::Pass);
        nk.num_rx_queues = Some(rxqueues);
        nk.peer_num_rx_queues = Some(rxqueues);
        k.netkit_add(host, nk).map_err(kfail("netkit newlink"))?;
        // Step 4: the netkit links that are not up; exactly two; lower ifindex = guest.
        let mut nks: Vec<(u32, DevId, String)> = k
            .devices()
            .filter(|d| d.netns == host && !d.up)
            .filter(|d| matches!(d.kind, simkernel::net::core::dev::DeviceKind::Netkit(_)))
            .map(|d| (d.ifindex, d.id, d.name.clone()))
            .collect();
        nks.sort();
        let [
            (guest_ifindex, guest, guest_name),
            (host_ifindex, nk_host, host_name),
        ] = <[_; 2]>::try_from(nks).map_err(|_| "Failed to create netkit pair".to_string())?;
        // Step 5: _setup_ns().
        let saved_forwarding = k.sysctl(host).ipv6_forwarding;
        let saved_accept_ra = k.sysctl(host).accept_ra;
        k.sysctl_ipv6_forwarding(host, true);
        k.sysctl_ipv6_accept_ra(host, 2);
        let netns = format!("nk-{:08x}", cfg.seed.wrapping_mul(0x9e37_79b9) as u32);
        let cont = k.netns_add(&netns).map_err(kfail("ip netns add"))?;
        // `ip netns attach init 1` names init_net; `ip netns set init 0` in the new ns.
        k.netns_set_id(cont, host, 0)
            .map_err(kfail("ip netns set init 0"))?;
        k.link_set_netns(guest, cont)
            .map_err(kfail("ip link set netns"))?;
        k.link_set_up(nk_host, true).map_err(kfail("nk_host up"))?;
        k.ipv6_addr_add(nk_host, ll1, 64, true)
            .map_err(kfail("nk_host fe80::1"))?;
        k.ip6_route_add(host, nk_guest_ipv6, 128, Some(ll2), Some(nk_host), None)
            .map_err(kfail("guest /128 route"))?;
        let lo = k.netns_loopback(cont).ok_or("container lo")?;
        k.link_set_up(lo, true).map_err(kfail("lo up"))?;
        k.link_set_up(guest, true).map_err(kfail("guest up"))?;
        k.ipv6_addr_add(guest, ll2, 64, false)
            .map_err(kfail("guest fe80::2"))?;
        k.ipv6_addr_add(guest, nk_guest_ipv6, 64, true)
            .map_err(kfail("guest address"))?;
        k.ip6_route_add(cont, Ipv6Addr::UNSPECIFIED, 0, Some(ll1), Some(guest), None)
            .map_err(kfail("default route"))?;
        // Step 6: _attach_bpf(): nk_forward on NETIF ingress; .bss = prefix + ifindex.
        let netif_clsact_added = !k.tc_has_clsact(ep.dev);
        if netif_clsact_added {
            k.tc_qdisc_add_clsact(ep.dev).map_err(kfail("clsact"))?;
        }
        let fwd = Rc::new(NkForward::default());
        let pref = k
            .tc_filter_add(ep.dev, TcDir::Ingress, fwd.clone(), None)
            .map_err(kfail("tc filter add nk_forward"))?;
        let mut bss = ipv6_prefix.octets().to_vec();
        bss.extend_from_slice(&host_ifindex.to_le_bytes());
        fwd.bss_update(&bss).map_err(kfail("bpftool map update"))?;
        // Step 7: primary RX redirect on nk_host ingress and the remote /128 route.
        let (mut redirect_pref, mut nk_host_clsact_added, mut remote_route) = (None, false, false);
        if primary_rx_redirect {
            nk_host_clsact_added = !k.tc_has_clsact(nk_host);
            if nk_host_clsact_added {
                k.tc_qdisc_add_clsact(nk_host).map_err(kfail("clsact"))?;
            }
            let p = Rc::new(NkPrimaryRxRedirect::default());
            redirect_pref = Some(
                k.tc_filter_add(nk_host, TcDir::Ingress, p.clone(), None)
                    .map_err(kfail("tc filter add nk_primary_rx_redirect"))?,
            );
            k.ip6_route_add(ep.remote_ns, nk_guest_ipv6, 128, Some(ep.addr), None, None)
                .map_err(kfail("remote /128 route"))?;
            remote_route = true;
            p.bss_update(&ep.ifindex.to_ne_bytes())
                .map_err(kfail("bpftool map update"))?;
        }
        // --pcap: the netkit pair too (header-only for devmem payload, as tcpdump sees it).
        let mut ep = ep;
        if let Some(dir) = &cfg.pcap {
            for (d, name) in [(nk_host, "host-nk_host"), (guest, "container-nk_guest")] {
                start_pcap(&mut k, d, dir.join(format!("{name}.pcap")))?;
                ep.pcap_devs.push(d);
            }
        }
        drop(k);
        Ok(NetDrvContEnv {
            netns,
            netns_id: cont,
            nk_guest_ifname: guest_name,
            nk_guest_ifindex: guest_ifindex,
            nk_host_ifindex: host_ifindex,
            nk_host_ifname: host_name,
            nk_guest_ipv6,
            ipv6_prefix,
            nk_queue: Cell::new(None),
            nk_host,
            nk_forward_pref: Some(pref),
            netif_clsact_added,
            redirect_pref,
            nk_host_clsact_added,
            remote_route,
            saved_forwarding,
            saved_accept_ra,
            ep,
        })
    }

    /// `__del__` in env.py's order, then the base class's verified teardown.
    pub fn teardown(&self) -> Result<(), String> {
        {
            let mut k = self.ep.kernel.borrow_mut();
            let mut errs = Vec::new();
            // Flush the netkit captures before the pair goes away.
            let guest = k.dev_get_by_index(self.netns_id, self.nk_guest_ifindex);
            for d in [Some(self.nk_host), guest].into_iter().flatten() {
                if self.ep.pcap_devs.contains(&d) {
                    let _ = k.capture_stop(d);
                }
            }
            if let Some(p) = self.redirect_pref {
                k.tc_filter_del(self.nk_host, TcDir::Ingress, p)
                    .unwrap_or_else(|e| errs.push(kfail("tc filter del")(e)));
            }
            if self.nk_host_clsact_added {
                let _ = k.tc_qdisc_del_clsact(self.nk_host);
            }
            if let Some(p) = self.nk_forward_pref {
                k.tc_filter_del(self.ep.dev, TcDir::Ingress, p)
                    .unwrap_or_else(|e| errs.push(kfail("tc filter del")(e)));
            }
            if self.netif_clsact_added {
                k.tc_qdisc_del_clsact(self.ep.dev)
                    .unwrap_or_else(|e| errs.push(kfail("tc qdisc del")(e)));
            }
            if self.remote_route {
                k.ip6_route_del(self.ep.remote_ns, self.nk_guest_ipv6, 128)
                    .unwrap_or_else(|e| errs.push(kfail("ip -6 route del")(e)));
            }
            k.link_del(self.nk_host)
                .unwrap_or_else(|e| errs.push(kfail("ip link del")(e)));
            k.netns_del(self.netns_id)
                .unwrap_or_else(|e| errs.push(kfail("ip netns del")(e)));
            k.sysctl_ipv6_forwarding(self.ep.host_ns, self.saved_forwarding);
            k.sysctl_ipv6_accept_ra(self.ep.host_ns, self.saved_accept_ra);
            let _ = k.ip6_route_del(self.ep.remote_ns, self.ipv6_prefix, 64);
            if !errs.is_empty() {
                return Err(errs.join("; "));
            }
        }
        self.ep.teardown_base()
    }

    /// The host of a command: `ns=cfg.netns` prefixes `ip netns exec`.
    pub fn in_netns(&self, line: &str) -> String {
        format!("ip netns exec {} {line}", self.netns)
    }
}

/// What the devmem helpers need of an env (`hasattr(cfg, 'netns')` ↔ `cont()`).
pub trait DevmemEnv {
    /// The endpoint part.
    fn ep(&self) -> &NetDrvEpEnv;
    /// The container part, in a `NetDrvContEnv`.
    fn cont(&self) -> Option<&NetDrvContEnv>;
}

impl DevmemEnv for NetDrvEpEnv {
    fn ep(&self) -> &NetDrvEpEnv {
        self
    }
    fn cont(&self) -> Option<&NetDrvContEnv> {
        None
    }
}

impl DevmemEnv for NetDrvContEnv {
    fn ep(&self) -> &NetDrvEpEnv {
        &self.ep
    }
    fn cont(&self) -> Option<&NetDrvContEnv> {
        Some(self)
    }
}

/// The destination of a ping or a socat in the remote's view.
pub fn ip(a: Ipv6Addr) -> IpAddr {
    IpAddr::V6(a)
}
