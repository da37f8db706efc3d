//! The emulated kernel: namespaces, devices, processes and global devmem state.
//!
//! [`Kernel`] is driven through `&mut self` by the message layers (netdev genetlink,
//! rtnetlink, ethtool) and by the executor. Each operation returns the errno and extack
//! text the kernel gives, in the kernel's check order. There is no clock: the executor
//! sets [`Kernel::set_now`] for the few timestamps reported (page-pool detach time).

use std::collections::BTreeMap;
use std::rc::Rc;

use uapi::errno::{EBADF, EEXIST, EINVAL, ENODEV, ENOMEM, EOPNOTSUPP, ESRCH};

use crate::dma::DmaBuf;
use crate::error::{KResult, KernelError};
use crate::net::core::dev::{DevId, DeviceKind, NetDevice};
use crate::net::core::devmem::DevmemState;
use crate::net::core::net_namespace::{NetNs, NetNsId};
use crate::net::core::page_pool::PagePoolRegistry;
use crate::process::{Cred, File, Process, ProcessId};

/// Which kernel to emulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelModel {
    /// With "net: devmem: support devmem with netkit devices": three netmem TX modes,
    /// netkit is `NETMEM_TX_NO_DMA`, bind-tx resolves leases, the route check accepts
    /// `binding->vdev`.
    #[default]
    Series,
    /// Before the series: `netmem_tx` is a bool (None/Dma), netkit has none, bind-tx binds
    /// the named device directly, the route check accepts only `binding->dev`.
    PreSeries,
}

/// Kernel configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelConfig {
    /// Kernel model.
    pub model: KernelModel,
    /// Debug switch: `false` skips `validate_xmit_unreadable_skb()` so that what it
    /// prevents (IOMMU faults on the wrong NIC) can be observed.
    pub tx_validation: bool,
}

impl Default for KernelConfig {
    fn default() -> Self {
        KernelConfig {
            model: KernelModel::Series,
            tx_validation: true,
        }
    }
}

/// Identifies a netlink socket (the owner of `netdev_nl_sock` private data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NlSockId(pub u64);

/// Who issues a netlink operation: `genl_info_net(info)`, the socket's creds, the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    /// The calling process (fds are resolved in its table).
    pub pid: ProcessId,
    /// The socket's network namespace.
    pub netns: NetNsId,
    /// Credentials.
    pub cred: Cred,
    /// The netlink socket.
    pub sock: NlSockId,
}

/// First NAPI id: `MIN_NAPI_ID` = `NR_CPUS + 1` with `NR_CPUS` 8192.
pub const MIN_NAPI_ID: u32 = 8193;

/// The emulated kernel.
#[derive(Debug)]
pub struct Kernel {
    pub(crate) config: KernelConfig,
    pub(crate) netns: crate::idr::IdTable<NetNsId, NetNs>,
    init_net: NetNsId,
    next_netns: u64,
    pub(crate) devices: crate::idr::IdTable<DevId, NetDevice>,
    next_dev: u64,
    pub(crate) nic_count: u32,
    processes: BTreeMap<ProcessId, Process>,
    next_pid: u32,
    pub(crate) devmem: DevmemState,
    pub(crate) page_pools: PagePoolRegistry,
    next_napi_id: u32,
    next_dmabuf_id: u64,
    pub(crate) now: u64,
    pub(crate) napi_cfg: BTreeMap<u32, crate::net::core::netdev_nl_ops::NapiSet>,
    /// Virtual clock, event queue and seeded RNG.
    pub(crate) time: crate::time::TimeState,
    /// Sockets.
    pub(crate) socks: crate::net::core::sock::SockTable,
    pub(crate) netlink: crate::net::netlink::NetlinkTable,
    /// The softnet backlog.
    pub(crate) softnet: crate::net::core::dev_rx::SoftnetData,
    /// Wires between NICs.
    pub(crate) wires: crate::drivers::wire::WireTable,
    /// Ping helper state.
    pub(crate) ping: crate::net::ipv6::icmp::PingState,
    /// Transport entry points the sockets layer registers.
    pub hooks: crate::net::inet::L4Hooks,
    /// Kernel: the IPv4 ID generator (one counter: `ip_select_ident()` reduced).
    pub(crate) ip_ident: u16,
    /// The ethtool family's notifications (`ethnl_bcast_seq` and what "monitor" carried).
    pub(crate) ethnl_monitor: crate::net::ethtool::netlink::EthnlMonitor,
    /// Kernel: `fib6_sernum`: moves at every change a cached IPv6 output route depends
    /// on ([`Kernel::fib6_sernum_bump`]).
    pub(crate) fib6_sernum: u64,
}

impl Kernel {
    /// Boot: `init_net` with its loopback device.
    pub fn new(config: KernelConfig) -> Self {
        let mut k = Kernel {
            config,
            netns: Default::default(),
            init_net: NetNsId(0),
            next_netns: 1,
            devices: Default::default(),
            next_dev: 1,
            nic_count: 0,
            processes: BTreeMap::new(),
            next_pid: 1,
            devmem: DevmemState::default(),
            page_pools: PagePoolRegistry::default(),
            next_napi_id: MIN_NAPI_ID,
            fib6_sernum: 0,
            next_dmabuf_id: 1,
            now: 0,
            napi_cfg: BTreeMap::new(),
            time: crate::time::TimeState::default(),
            socks: crate::net::core::sock::SockTable::default(),
            netlink: Default::default(),
            softnet: Default::default(),
            wires: Default::default(),
            ping: Default::default(),
            hooks: Default::default(),
            ip_ident: 1,
            ethnl_monitor: Default::default(),
        };
        k.netns
            .insert(NetNsId(0), NetNs::new(NetNsId(0), "init_net"));
        // A fresh namespace has no devices, so ifindex 1 is free: cannot fail.
        match k.loopback_add(NetNsId(0)) {
            // A booted system has lo up in init_net (with ::1); new namespaces start down.
            Ok(lo) => {
                let _ = k.link_set_up(lo, true);
            }
            Err(_) => unreachable!("init_net loopback"),
        }
        k
    }

    /// The configuration.
    pub fn config(&self) -> KernelConfig {
        self.config
    }

    /// Flip the TX validation debug switch.
    pub fn set_tx_validation(&mut self, on: bool) {
        self.config.tx_validation = on;
    }

    /// Set the virtual clock (seconds) used for timestamps the kernel reports.
    pub fn set_now(&mut self, secs: u64) {
        self.now = secs;
    }

    /// The initial namespace.
    pub fn init_net(&self) -> NetNsId {
        self.init_net
    }

    pub(crate) fn alloc_dev_id(&mut self) -> DevId {
        let id = DevId(self.next_dev);
        self.next_dev += 1;
        id
    }

    pub(crate) fn alloc_napi_id(&mut self) -> u32 {
        let id = self.next_napi_id;
        self.next_napi_id += 1;
        id
    }

    /// Internal lookup; a stale id here is a broken invariant.
    pub(crate) fn dev(&self, id: DevId) -> &NetDevice {
        match self.devices.get(&id) {
            Some(d) => d,
            None => panic!("stale device id {id:?}"),
        }
    }

    pub(crate) fn dev_mut(&mut self, id: DevId) -> &mut NetDevice {
        match self.devices.get_mut(&id) {
            Some(d) => d,
            None => panic!("stale device id {id:?}"),
        }
    }

    /// The device `id`. Panics if it has been unregistered: use [`Kernel::try_device`]
    /// when the id may be stale.
    pub fn device(&self, id: DevId) -> &NetDevice {
        self.dev(id)
    }

    /// The device `id`, if it still exists.
    pub fn try_device(&self, id: DevId) -> Option<&NetDevice> {
        self.devices.get(&id)
    }

    /// Every device, in id order.
    pub fn devices(&self) -> impl Iterator<Item = &NetDevice> {
        self.devices.values()
    }

    /// Kernel: `__dev_get_by_index()`.
    pub fn dev_get_by_index(&self, ns: NetNsId, ifindex: u32) -> Option<DevId> {
        self.netns.get(&ns)?.dev_by_index.get(&ifindex).copied()
    }

    /// Alias of [`Kernel::dev_get_by_index`].
    pub fn dev_by_ifindex(&self, ns: NetNsId, ifindex: u32) -> Option<DevId> {
        self.dev_get_by_index(ns, ifindex)
    }

    /// Kernel: `__dev_get_by_name()`.
    pub fn dev_get_by_name(&self, ns: NetNsId, name: &str) -> Option<DevId> {
        let n = self.netns.get(&ns)?;
        n.dev_by_index
            .values()
            .copied()
            .find(|d| self.devices.get(d).is_some_and(|d| d.name == name))
    }

    /// Kernel: `register_netdevice()`: unique name in the namespace, an ifindex, listed.
    pub(crate) fn register_netdevice(
        &mut self,
        mut d: NetDevice,
        ifindex: Option<u32>,
    ) -> KResult<()> {
        if self.dev_get_by_name(d.netns, &d.name).is_some() {
            return Err(KernelError::new(EEXIST));
        }
        let ns = self
            .netns
            .get_mut(&d.netns)
            .ok_or(KernelError::new(ENODEV))?;
        d.ifindex = ns.dev_index_reserve(ifindex, d.id)?;
        self.devices.insert(d.id, d);
        self.fib6_sernum_bump();
        Ok(())
    }

    /// Kernel: `unregister_netdevice_many_notify()` for one device: netkit uninit
    /// (unlease), memory providers uninstalled, page pools detached, index released.
    pub(crate) fn unregister_netdevice(&mut self, dev: DevId) {
        if !self.devices.contains_key(&dev) {
            return;
        }
        if matches!(self.dev(dev).kind, DeviceKind::Netkit(_)) {
            self.netkit_queue_unlease(dev);
        }
        self.dev_memory_provider_uninstall(dev);
        self.page_pools_unreg_netdev(dev);
        // Peers forget us (netkit: RCU_INIT_POINTER(nk->peer, NULL); veth likewise).
        let peer = match &self.dev(dev).kind {
            DeviceKind::Netkit(nk) => nk.peer,
            DeviceKind::Veth(v) => v.peer,
            _ => None,
        };
        if let Some(p) = peer.and_then(|p| self.devices.get_mut(&p)) {
            match &mut p.kind {
                DeviceKind::Netkit(nk) => nk.peer = None,
                DeviceKind::Veth(v) => v.peer = None,
                _ => {}
            }
        }
        if let Some(d) = self.devices.remove(&dev)
            && let Some(ns) = self.netns.get_mut(&d.netns)
        {
            ns.dev_index_release(d.ifindex);
        }
        self.fib6_sernum_bump();
    }

    /// Kernel: `rtnl_dellink()`: netkit and veth delete both ends; devices without
    /// `rtnl_link_ops->dellink` (physical NICs, lo) refuse with EOPNOTSUPP.
    pub fn link_del(&mut self, dev: DevId) -> KResult<()> {
        let d = self.devices.get(&dev).ok_or(KernelError::new(ENODEV))?;
        let peer = match &d.kind {
            DeviceKind::Netkit(nk) => nk.peer,
            DeviceKind::Veth(v) => v.peer,
            _ => return Err(KernelError::new(EOPNOTSUPP)),
        };
        self.unregister_netdevice(dev);
        if let Some(p) = peer {
            self.unregister_netdevice(p);
        }
        Ok(())
    }

    /// Unplug a NIC: `netkit_notifier` first deletes every netkit (pair) leasing one of
    /// its queues, then the NIC unregisters (providers uninstalled, pools detached).
    pub fn nic_remove(&mut self, dev: DevId) -> KResult<()> {
        let d = self.devices.get(&dev).ok_or(KernelError::new(ENODEV))?;
        if !matches!(d.kind, DeviceKind::Nic(_)) {
            return Err(KernelError::new(EINVAL));
        }
        let mut lessees: Vec<DevId> = d
            .rx_queues
            .iter()
            .filter_map(|q| q.lease.map(|l| l.0))
            .collect();
        lessees.sort();
        lessees.dedup();
        for nk in lessees {
            if self.devices.contains_key(&nk) {
                // netkit_del_link(): the device and its peer.
                let _ = self.link_del(nk);
            }
        }
        self.unregister_netdevice(dev);
        Ok(())
    }

    /// `ip link set DEV up|down`.
    pub fn link_set_up(&mut self, dev: DevId, up: bool) -> KResult<()> {
        if !self.devices.contains_key(&dev) {
            return Err(KernelError::new(ENODEV));
        }
        if up {
            self.netkit_open(dev)?;
        }
        let was = self.dev(dev).up;
        self.dev_mut(dev).up = up;
        self.fib6_sernum_bump();
        if up && !was {
            self.addrconf_dev_up(dev);
        }
        Ok(())
    }

    /// `ip link set DEV mtu N` (kernel: `dev_set_mtu()`): EINVAL outside the device's
    /// `[min_mtu, max_mtu]`, here 68 (`ETH_MIN_MTU`) to 9500 for NICs (jumbo frames, bnxt's
    /// `BNXT_MAX_MTU`) and 65535 (`ETH_MAX_MTU`) for software devices. TCP picks the new
    /// value up at the next connection's MSS (`tcp_config`).
    pub fn dev_set_mtu(&mut self, dev: DevId, mtu: u32) -> KResult<()> {
        let d = self.devices.get(&dev).ok_or(KernelError::new(ENODEV))?;
        let max = match d.kind {
            DeviceKind::Nic(_) => 9500,
            _ => 65_535,
        };
        if !(68..=max).contains(&mtu) {
            return Err(KernelError::new(EINVAL));
        }
        self.dev_mut(dev).mtu = mtu;
        Ok(())
    }

    /// Kernel: `__dev_change_net_namespace()`: keep the ifindex if it is free in the
    /// target, else allocate one. lo is netns-local (EINVAL); a name clash is EEXIST.
    pub fn link_set_netns(&mut self, dev: DevId, ns: NetNsId) -> KResult<()> {
        let d = self.devices.get(&dev).ok_or(KernelError::new(ENODEV))?;
        if matches!(d.kind, DeviceKind::Loopback) {
            return Err(KernelError::new(EINVAL));
        }
        if !self.netns.contains_key(&ns) {
            return Err(KernelError::new(ENODEV));
        }
        if d.netns == ns {
            return Ok(());
        }
        if self.dev_get_by_name(ns, &d.name).is_some() {
            return Err(KernelError::new(EEXIST));
        }
        let (old_ns, old_idx) = (d.netns, d.ifindex);
        let target = self.netns.get_mut(&ns).ok_or(KernelError::new(ENODEV))?;
        let idx = match target.dev_index_reserve(Some(old_idx), dev) {
            Ok(i) => i,
            Err(_) => target.dev_index_reserve(None, dev)?,
        };
        if let Some(o) = self.netns.get_mut(&old_ns) {
            o.dev_index_release(old_idx);
        }
        self.fib6_sernum_bump();
        let d = self.dev_mut(dev);
        d.netns = ns;
        d.ifindex = idx;
        // NETDEV_UNREGISTER in the old namespace: addrconf_ifdown()/inetdev_destroy() drop
        // the addresses, neigh_ifdown() the neighbours. The device stays up here, so its
        // automatic addresses come back at once (a kernel would wait for the next up).
        d.ip6 = Default::default();
        d.ip4 = Default::default();
        d.neigh = Default::default();
        if d.up {
            self.addrconf_dev_up(dev);
        }
        Ok(())
    }

    /// `ip netns add NAME`: a new namespace with lo at ifindex 1.
    pub fn netns_add(&mut self, name: &str) -> KResult<NetNsId> {
        if self.netns.values().any(|n| n.name == name) {
            return Err(KernelError::new(EEXIST));
        }
        let id = NetNsId(self.next_netns);
        self.next_netns += 1;
        self.netns.insert(id, NetNs::new(id, name));
        self.loopback_add(id)?;
        Ok(id)
    }

    /// The namespace called `name`.
    pub fn netns_by_name(&self, name: &str) -> Option<NetNsId> {
        self.netns.values().find(|n| n.name == name).map(|n| n.id)
    }

    /// The namespace `id`.
    pub fn netns(&self, id: NetNsId) -> Option<&NetNs> {
        self.netns.get(&id)
    }

    /// `ip netns del`: namespace teardown (`default_device_exit_batch`): devices with
    /// `rtnl_link_ops` (netkit, veth) are deleted — for a pair, both ends; physical devices
    /// go back to `init_net` (renamed `devN` on a clash); lo dies with the namespace.
    pub fn netns_del(&mut self, ns: NetNsId) -> KResult<()> {
        if ns == self.init_net {
            return Err(KernelError::new(EINVAL));
        }
        let n = self.netns.get(&ns).ok_or(KernelError::new(ENODEV))?;
        let devs: Vec<DevId> = n.dev_by_index.values().copied().collect();
        for dev in devs {
            let Some(d) = self.devices.get(&dev) else {
                continue;
            };
            match d.kind {
                DeviceKind::Netkit(_) | DeviceKind::Veth(_) => {
                    let _ = self.link_del(dev);
                }
                DeviceKind::Loopback => self.unregister_netdevice(dev),
                DeviceKind::Nic(_) => {
                    let init = self.init_net;
                    if self.dev_get_by_name(init, &d.name).is_some() {
                        let name = format!("dev{}", d.ifindex);
                        self.dev_mut(dev).name = name;
                    }
                    let _ = self.link_set_netns(dev, init);
                }
            }
        }
        self.netns.remove(&ns);
        for other in self.netns.values_mut() {
            other.nsids.remove(&ns);
        }
        Ok(())
    }

    /// `ip netns set NAME ID` run in `ns`: `ns` calls `peer` `id`.
    pub fn netns_set_id(&mut self, ns: NetNsId, peer: NetNsId, id: i32) -> KResult<()> {
        if !self.netns.contains_key(&peer) || id < 0 {
            return Err(KernelError::new(EINVAL));
        }
        let n = self.netns.get_mut(&ns).ok_or(KernelError::new(ENODEV))?;
        if n.nsids.contains_key(&peer) {
            return Err(KernelError::msg(
                EEXIST,
                "Peer netns already has a nsid assigned",
            ));
        }
        if n.get_net_ns_by_id(id).is_some() {
            return Err(KernelError::msg(
                EEXIST,
                "The specified nsid is already used",
            ));
        }
        n.nsids.insert(peer, id);
        Ok(())
    }

    /// Kernel: `peernet2id(ns, peer)`.
    pub fn peernet2id(&self, ns: NetNsId, peer: NetNsId) -> Option<i32> {
        self.netns.get(&ns)?.peernet2id(peer)
    }

    /// Kernel: `peernet2id_alloc(ns, peer)`.
    pub fn peernet2id_alloc(&mut self, ns: NetNsId, peer: NetNsId) -> Option<i32> {
        Some(self.netns.get_mut(&ns)?.peernet2id_alloc(peer))
    }

    /// Kernel: `get_net_ns_by_id(ns, id)`.
    pub fn get_net_ns_by_id(&self, ns: NetNsId, id: i32) -> Option<NetNsId> {
        self.netns.get(&ns)?.get_net_ns_by_id(id)
    }

    /// Start a process in `netns`.
    pub fn process_spawn(&mut self, netns: NetNsId, cred: Cred) -> ProcessId {
        let pid = ProcessId(self.next_pid);
        self.next_pid += 1;
        self.processes.insert(pid, Process::new(netns, cred));
        pid
    }

    /// The process `pid`.
    pub fn process(&self, pid: ProcessId) -> Option<&Process> {
        self.processes.get(&pid)
    }

    /// The process `pid`, mutably (fd table operations).
    pub fn process_mut(&mut self, pid: ProcessId) -> Option<&mut Process> {
        self.processes.get_mut(&pid)
    }

    /// Give `pid` an fd for `dmabuf` (what UDMABUF_CREATE returns).
    pub fn process_install_dmabuf(&mut self, pid: ProcessId, dmabuf: Rc<DmaBuf>) -> KResult<i32> {
        let p = self
            .processes
            .get_mut(&pid)
            .ok_or(KernelError::new(ESRCH))?;
        Ok(p.fd_install(File::DmaBuf(dmabuf)))
    }

    /// Opens a reference to namespace `ns` in `pid`'s fd table, as
    /// `open("/run/netns/NAME")` gives `ip netns exec`, and returns the fd (ENODEV for
    /// a namespace that does not exist, ESRCH for an unknown process).
    pub fn netns_open(&mut self, pid: ProcessId, ns: NetNsId) -> KResult<i32> {
        if !self.netns.contains_key(&ns) {
            return Err(KernelError::new(ENODEV));
        }
        let p = self
            .processes
            .get_mut(&pid)
            .ok_or(KernelError::new(ESRCH))?;
        Ok(p.fd_install(File::NetNs(ns)))
    }

    /// Kernel: `get_net_ns_by_fd(fd)` in `pid`'s fd table (EBADF / EINVAL); a
    /// namespace deleted since the fd was opened is EINVAL here (the kernel keeps it
    /// alive by reference; the emulator does not).
    pub fn get_net_ns_by_fd(&self, pid: ProcessId, fd: i32) -> KResult<NetNsId> {
        let ns = self
            .processes
            .get(&pid)
            .ok_or(KernelError::new(EBADF))?
            .get_net_ns_by_fd(fd)?;
        if !self.netns.contains_key(&ns) {
            return Err(KernelError::new(EINVAL));
        }
        Ok(ns)
    }

    /// Kernel: `get_net_ns_by_pid(pid)`: the namespace process `pid` runs in (ESRCH).
    pub fn get_net_ns_by_pid(&self, pid: u32) -> KResult<NetNsId> {
        self.processes
            .get(&ProcessId(pid))
            .map(|p| p.netns)
            .ok_or(KernelError::new(ESRCH))
    }

    /// Kernel: `dma_buf_get(fd)` in `pid`'s fd table (EBADF / EINVAL).
    pub fn dma_buf_get(&self, pid: ProcessId, fd: i32) -> KResult<Rc<DmaBuf>> {
        self.processes
            .get(&pid)
            .ok_or(KernelError::new(EBADF))?
            .dma_buf_get(fd)
    }

    /// A dma-buf exported from an existing memfd (what a client passes with
    /// `SCM_RIGHTS` to `nkdevmem serve`), one SG entry for the whole buffer.
    pub fn dmabuf_from_memfd(&mut self, fd: std::os::fd::OwnedFd) -> KResult<Rc<DmaBuf>> {
        let id = self.next_dmabuf_id;
        self.next_dmabuf_id += 1;
        let mem = linux::shm::SharedMem::from_fd(fd).map_err(|_| KernelError::new(EBADF))?;
        let size = mem.len();
        Ok(Rc::new(DmaBuf::new(id, Rc::new(mem), size, 0, "udmabuf")))
    }

    /// A memfd-backed dma-buf of `size` bytes (sparse), exported as one SG entry per
    /// `sg_chunk` bytes (0 = one entry), as udmabuf does with its memfd.
    pub fn dmabuf_create(&mut self, size: usize, sg_chunk: usize) -> KResult<Rc<DmaBuf>> {
        let id = self.next_dmabuf_id;
        self.next_dmabuf_id += 1;
        let mem = linux::shm::SharedMem::new(&format!("udmabuf-{id}"), size)
            .map_err(|_| KernelError::new(ENOMEM))?;
        Ok(Rc::new(DmaBuf::new(
            id,
            Rc::new(mem),
            size,
            sg_chunk,
            "udmabuf",
        )))
    }
}

impl Kernel {
    /// Mutable access to a device, for tests and harnesses that simulate state the
    /// emulator has no operation for yet (e.g. an AF_XDP socket on a queue).
    #[doc(hidden)]
    pub fn device_mut_for_tests(&mut self, id: DevId) -> &mut NetDevice {
        // The caller may change what a cached output route was computed from.
        self.fib6_sernum_bump();
        self.dev_mut(id)
    }
}
