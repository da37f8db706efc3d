//! Shared fixtures: a host with NICs and a netkit pair whose guest lives in a container
//! namespace that calls init_net nsid 0 (the nk_devmem.py topology, selftests-spec §2).
#![allow(dead_code)]

use simkernel::drivers::netkit::NetkitConfig;
use simkernel::drivers::nic::NicProfile;
use simkernel::{Caller, Cred, DevId, Kernel, KernelConfig, KernelModel, NetNsId, NlSockId};
use uapi::ethtool::TcpDataSplit;

pub const PAGE: usize = simkernel::PAGE_SIZE;

pub struct Env {
    pub k: Kernel,
    pub nic: DevId,
    pub host: DevId,
    pub guest: DevId,
    pub ns: NetNsId,
    /// Admin process in init_net.
    pub admin: Caller,
    /// Admin process in the container namespace.
    pub cont: Caller,
}

pub fn kernel(model: KernelModel) -> Kernel {
    Kernel::new(KernelConfig {
        model,
        tx_validation: true,
    })
}

static NEXT_SOCK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn caller(k: &mut Kernel, ns: NetNsId, admin: bool) -> Caller {
    let cred = Cred {
        cap_net_admin: admin,
    };
    let pid = k.process_spawn(ns, cred);
    Caller {
        pid,
        netns: ns,
        cred,
        sock: NlSockId(NEXT_SOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed)),
    }
}

/// A dma-buf of `size` bytes (SG entries of `chunk` bytes, 0 = one) installed in `c`'s
/// fd table.
pub fn dmabuf_fd(k: &mut Kernel, c: &Caller, size: usize, chunk: usize) -> i32 {
    let b = k.dmabuf_create(size, chunk).unwrap();
    k.process_install_dmabuf(c.pid, b).unwrap()
}

pub fn ifindex(k: &Kernel, d: DevId) -> u32 {
    k.device(d).ifindex
}

/// Header split on, hds-thresh 0 (what ncdevmem configures).
pub fn enable_hds(k: &mut Kernel, nic: DevId) {
    k.ethtool_rings_set(
        nic,
        simkernel::net::ethtool::RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            hds_thresh: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
}

/// NIC `eth0` (bnxt, 4 channels) and a netkit pair `nk_host` (init_net) / `nk_guest`
/// (namespace "c", `guest_rxq` allocated RX queues), everything up.
pub fn env_with(model: KernelModel, guest_rxq: u32) -> Env {
    let mut k = kernel(model);
    let init = k.init_net();
    let ns = k.netns_add("c").unwrap();
    k.netns_set_id(ns, init, 0).unwrap();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 4).unwrap();
    let mut cfg = NetkitConfig::pair("nk_host", "nk_guest");
    cfg.peer_netns = Some(ns);
    cfg.peer_num_rx_queues = Some(guest_rxq);
    let (host, guest) = k.netkit_add(init, cfg).unwrap();
    let guest = guest.unwrap();
    for d in [nic, host, guest] {
        k.link_set_up(d, true).unwrap();
    }
    let admin = caller(&mut k, init, true);
    let cont = caller(&mut k, ns, true);
    Env {
        k,
        nic,
        host,
        guest,
        ns,
        admin,
        cont,
    }
}

pub fn env(model: KernelModel) -> Env {
    env_with(model, 4)
}

impl Env {
    /// Lease NIC queue `q` to the guest from inside the container (netns-id 0).
    pub fn lease(&mut self, q: u32) -> u32 {
        let (g, n) = (ifindex(&self.k, self.guest), ifindex(&self.k, self.nic));
        let c = self.cont;
        self.k.queue_create(&c, g, n, q, Some(0)).unwrap()
    }
}

/// A `Write` whose bytes the test reads back (the sink of a capture).
#[derive(Clone, Default)]
pub struct Shared(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
