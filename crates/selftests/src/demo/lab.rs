//! One act's world: the nk_devmem topology (`NetDrvContEnv(rxqueues=2,
//! primary_rx_redirect=True)`), NIC queue leased to the guest the way devmem_lib's
//! `configure_nic()` leases it, and optionally a second NIC pair (host eth1 wired to
//! remote eth1) for the validation act. Commands run as emulated processes through the
//! selftests' shell; the binding table is sampled on every step.

use std::rc::Rc;

use devmem::netdev::{Lease, QueueType};
use simkernel::drivers::wire::WireConfig;
use simkernel::net::sched::TcDir;
use simkernel::{DevId, Duration, KernelModel};

use super::counters::{DevRow, Sampler};
use super::misdirect::Misdirect;
use crate::config::{Driver, RunConfig};
use crate::devmem_lib::setup_test;
use crate::env::{CMD_TIMEOUT, DevmemEnv, Host, NetDrvContEnv, REMOTE_V6};
use crate::runner::BIN_LOCAL;
use crate::tools::CmdOutput;
use crate::tools::sh::Job;

/// The demo's seed (ports, ISNs, netns name).
pub const SEED: u64 = 1;

/// The second NIC pair of the validation act.
#[derive(Debug, Clone, Copy)]
pub struct Eth1 {
    /// Host `eth1`: same driver as eth0, no binding, no lease.
    pub host: DevId,
    /// Remote `eth1`, on its own wire to host eth1.
    pub remote: DevId,
}

/// One act's world.
#[derive(Debug)]
pub struct Lab {
    /// The selftests' container env.
    pub env: NetDrvContEnv,
    /// nk_host.
    pub nk_host: DevId,
    /// nk_guest.
    pub nk_guest: DevId,
    /// The NIC queue leased to nk_guest.
    pub src_queue: u32,
    /// Present in the validation act.
    pub eth1: Option<Eth1>,
    /// Binding watcher.
    pub sampler: Sampler,
}

fn kerr(what: &'static str) -> impl Fn(simkernel::KernelError) -> String {
    move |e| format!("{what}: {}", ncdevmem::report::strerror(e.errno))
}

impl Lab {
    /// Builds the topology for `model`/`driver` and leases the NIC's last combined
    /// queue to nk_guest from inside the container (YNL `queue-create`).
    pub fn new(model: KernelModel, driver: Driver) -> Result<Lab, String> {
        let cfg = RunConfig {
            driver,
            model,
            seed: SEED,
            ..RunConfig::default()
        };
        let env = NetDrvContEnv::new(&cfg, 2, true)?;
        setup_test(&env, BIN_LOCAL);
        let (nk_host, nk_guest, combined) = {
            let k = env.ep.kernel.borrow();
            let h = k
                .dev_get_by_index(env.ep.host_ns, env.nk_host_ifindex)
                .ok_or("nk_host vanished")?;
            let g = k
                .dev_get_by_index(env.netns_id, env.nk_guest_ifindex)
                .ok_or("nk_guest vanished")?;
            (h, g, k.device(env.ep.dev).ethtool.channels.combined_count)
        };
        let src_queue = combined.checked_sub(1).ok_or("eth0 has no channels")?;
        env.ep.src_queue.set(Some(src_queue));
        let mut nd = env
            .ep
            .netdev_ynl_in(env.netns_id)
            .map_err(|e| format!("{e:?}"))?;
        let q = nd
            .queue_create(
                env.nk_guest_ifindex,
                QueueType::Rx,
                Lease {
                    ifindex: env.ep.ifindex,
                    queue: (src_queue, QueueType::Rx),
                    netns_id: Some(0),
                },
            )
            .map_err(|e| format!("queue-create: {}", ncdevmem::report::ynl_msg(&e)))?;
        env.nk_queue.set(Some(q));
        Ok(Lab {
            env,
            nk_host,
            nk_guest,
            src_queue,
            eth1: None,
            sampler: Sampler::default(),
        })
    }

    /// Adds host eth1 (same driver as eth0) wired to a remote eth1, both up, a
    /// permanent neighbour for `REMOTE_V6` on host eth1, and [`Misdirect`] on nk_host's
    /// ingress ahead of `nk_primary_rx_redirect`, aimed at eth1.
    pub fn add_eth1(&mut self, driver: Driver) -> Result<Eth1, String> {
        let ep = &self.env.ep;
        let mut k = ep.kernel.borrow_mut();
        let host = k
            .nic_add(ep.host_ns, "eth1", driver.profile(), 0)
            .map_err(kerr("eth1"))?;
        let remote = k
            .nic_add(
                ep.remote_ns,
                "eth1",
                simkernel::drivers::nic::NicProfile::mlx5e(),
                0,
            )
            .map_err(kerr("remote eth1"))?;
        k.wire_connect(host, remote, WireConfig::default())
            .map_err(kerr("wire"))?;
        k.link_set_up(host, true).map_err(kerr("eth1 up"))?;
        k.link_set_up(remote, true)
            .map_err(kerr("remote eth1 up"))?;
        let mac = k.device(remote).mac;
        k.neigh_add(host, std::net::IpAddr::V6(REMOTE_V6), mac);
        let prog = Rc::new(Misdirect::default());
        prog.target_ifindex.set(k.device(host).ifindex);
        k.tc_filter_add(self.nk_host, TcDir::Ingress, prog, None)
            .map_err(kerr("tc filter add misdirect"))?;
        let e = Eth1 { host, remote };
        self.eth1 = Some(e);
        Ok(e)
    }

    /// Runs the world until `done()` or `timeout`, sampling bindings on every step.
    pub fn drive(&self, timeout: Duration, done: impl Fn() -> bool) -> Result<(), String> {
        let k = self.env.ep.kernel.clone();
        self.env.ep.drive_until(timeout, || {
            self.sampler.sample(&k.borrow());
            done()
        })
    }

    /// Starts `line` on `host` (`ip netns exec` lines run in the container).
    pub fn bkg(&self, line: &str, host: Host) -> Job {
        self.env.ep.bkg(line, host)
    }

    /// Waits (5 s of virtual time) for `job` and returns what it printed.
    pub fn wait(&self, job: &Job) -> Result<CmdOutput, String> {
        self.drive(CMD_TIMEOUT, || job.done())
            .map_err(|e| format!("{}: {e}", job.line))?;
        job.result()
            .ok_or_else(|| format!("{}: no result", job.line))
    }

    /// Waits until a TCP listener on `port` exists in the remote namespace.
    pub fn wait_remote_listen(&self, port: u16) -> Result<(), String> {
        self.env
            .ep
            .wait_port_listen(port, self.env.ep.remote_ns)
            .map_err(|e| format!("{e:?}"))
    }

    /// The counter rows, topology order.
    pub fn rows(&self) -> Vec<DevRow> {
        let ep = &self.env.ep;
        let k = ep.kernel.borrow();
        self.sampler.sample(&k);
        let mut devs = vec![
            (ep.dev, "eth0"),
            (self.nk_host, "nk_host"),
            (self.nk_guest, "nk_guest"),
        ];
        if let Some(e) = self.eth1 {
            devs.push((e.host, "eth1"));
        }
        devs.push((ep.remote_dev, "remote eth0"));
        if let Some(e) = self.eth1 {
            devs.push((e.remote, "remote eth1"));
        }
        devs.into_iter()
            .map(|(d, n)| self.sampler.row(&k, d, n))
            .collect()
    }

    /// A device's name as the report prints it.
    pub fn name(&self, d: Option<DevId>) -> String {
        d.map_or_else(
            || "(none)".into(),
            |d| self.env.ep.kernel.borrow().device(d).name.clone(),
        )
    }

    /// Bindings alive now.
    pub fn live_bindings(&self) -> u64 {
        self.env.ep.kernel.borrow().live_bindings()
    }

    /// The env's port picker.
    pub fn port(&self) -> u16 {
        self.env.ep().rand_port()
    }
}
