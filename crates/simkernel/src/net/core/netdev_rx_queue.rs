//! RX queues: memory providers and queue leasing.
//!
//! Kernel: `include/net/netdev_rx_queue.h`, `net/core/netdev_rx_queue.c` (queue-lease era,
//! kernel-spec §3.4 and §5.1–§5.2). A lease links a queue of a virtual device (netkit) with
//! a queue of a physical device, both ways; memory-provider operations named on the virtual
//! queue act on the physical one.

use std::rc::Rc;

use uapi::errno::{EBUSY, EEXIST, EINVAL, EOPNOTSUPP, ERANGE};
use uapi::ethtool::TcpDataSplit;

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, QueueStats};
use crate::net::core::devmem::DevmemBinding;
use crate::net::core::netmem::IoUringArea;
use crate::net::core::page_pool::PagePoolId;

/// Kernel: `struct pp_memory_provider_params` (`mp_priv` + `mp_ops`).
#[derive(Debug, Clone)]
pub enum MemoryProvider {
    /// `dmabuf_devmem_ops` with a devmem binding.
    Devmem(Rc<DevmemBinding>),
    /// io_uring zcrx with its area.
    IoUring(Rc<IoUringArea>),
}

impl MemoryProvider {
    /// Whether two providers are the same `mp_priv`.
    pub fn same(&self, other: &MemoryProvider) -> bool {
        match (self, other) {
            (MemoryProvider::Devmem(a), MemoryProvider::Devmem(b)) => Rc::ptr_eq(a, b),
            (MemoryProvider::IoUring(a), MemoryProvider::IoUring(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// The devmem binding, if this is a devmem provider.
    pub fn binding(&self) -> Option<&Rc<DevmemBinding>> {
        match self {
            MemoryProvider::Devmem(b) => Some(b),
            MemoryProvider::IoUring(_) => None,
        }
    }
}

/// Kernel: `struct netdev_rx_queue`.
#[derive(Debug, Default)]
pub struct RxQueue {
    /// Kernel: `rxq->lease`: the other side (device, queue index), both ways.
    pub lease: Option<(DevId, u32)>,
    /// Kernel: `rxq->mp_params`.
    pub mp: Option<MemoryProvider>,
    /// The page pool currently serving the queue.
    pub page_pool: Option<PagePoolId>,
    /// Kernel: `rxq->napi->napi_id`.
    pub napi_id: Option<u32>,
    /// Kernel: `rxq->pool` (an AF_XDP zero-copy socket is bound).
    pub xsk: bool,
    /// qstats counters.
    pub stats: QueueStats,
}

/// Kernel: `enum netif_lease_dir`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseDir {
    /// `NETIF_VIRT_TO_PHYS`.
    VirtToPhys,
    /// `NETIF_PHYS_TO_VIRT`.
    PhysToVirt,
}

impl Kernel {
    /// Kernel: `netdev_rx_queue_lease()`: link virtual queue `dst` and physical queue `src`.
    pub fn netdev_rx_queue_lease(&mut self, dst: (DevId, u32), src: (DevId, u32)) {
        self.dev_mut(dst.0).rx_queues[dst.1 as usize].lease = Some(src);
        self.dev_mut(src.0).rx_queues[src.1 as usize].lease = Some(dst);
    }

    /// Kernel: `netdev_rx_queue_unlease()` with the 7.1-era `netif_rxq_cleanup_unlease()`:
    /// a provider installed on the physical queue through the lease is closed and
    /// uninstalled (with the virtual rxq, where bind-rx recorded it) before the link breaks.
    pub fn netdev_rx_queue_unlease(&mut self, dst: (DevId, u32), src: (DevId, u32)) {
        let mp = self.dev(src.0).rx_queues[src.1 as usize].mp.clone();
        if let Some(mp) = mp {
            self.dev_mut(src.0).rx_queues[src.1 as usize].mp = None;
            self.netdev_rx_queue_restart(src.0, src.1);
            if let MemoryProvider::Devmem(b) = &mp {
                b.uninstall_rxq(dst);
            }
        }
        self.dev_mut(dst.0).rx_queues[dst.1 as usize].lease = None;
        self.dev_mut(src.0).rx_queues[src.1 as usize].lease = None;
    }

    /// Kernel: `netif_rxq_is_leased()`.
    pub fn netif_rxq_is_leased(&self, dev: DevId, idx: u32) -> bool {
        let d = self.dev(dev);
        idx < d.real_num_rx_queues && d.rx_queues[idx as usize].lease.is_some()
    }

    /// Kernel: `__netif_get_rx_queue_lease()`: follow a lease in direction `dir`. With a
    /// lease, starting on the direction's side yields the other side; starting on the
    /// wrong side yields `None`. Without a lease, the queue itself.
    pub fn netif_get_rx_queue_lease(
        &self,
        dev: DevId,
        idx: u32,
        dir: LeaseDir,
    ) -> Option<(DevId, u32)> {
        let d = self.dev(dev);
        match d.rx_queues.get(idx as usize)?.lease {
            None => Some((dev, idx)),
            Some(other) => {
                let from_virtual = d.is_virtual();
                let right_side = match dir {
                    LeaseDir::VirtToPhys => from_virtual,
                    LeaseDir::PhysToVirt => !from_virtual,
                };
                right_side.then_some(other)
            }
        }
    }

    /// Kernel: `netif_rx_queue_lease_get_owner()`: the virtual owner of a leased physical
    /// queue.
    pub fn netif_rx_queue_lease_get_owner(&self, dev: DevId, idx: u32) -> Option<(DevId, u32)> {
        let d = self.dev(dev);
        if d.is_virtual() {
            return None;
        }
        d.rx_queues.get(idx as usize)?.lease
    }

    /// Kernel: `__net_mp_open_rxq()` / `netif_mp_open_rxq()` (kernel-spec §3.4): install
    /// `mp` on `dev`'s queue `idx`, resolving a lease to the physical queue. Checks in the
    /// kernel's order.
    pub fn net_mp_open_rxq(&mut self, dev: DevId, idx: u32, mp: MemoryProvider) -> KResult<()> {
        let d = self.dev(dev);
        //= kernel-spec §3.4 check 1
        if !d.need_ops_lock() {
            return Err(KernelError::new(EOPNOTSUPP));
        }
        //= kernel-spec §3.4 check 2
        if idx >= d.real_num_rx_queues {
            return Err(KernelError::msg(ERANGE, "rx queue index out of range"));
        }
        //= kernel-spec §3.4 check 3: lease resolution VIRT→PHYS
        let Some((pdev, pidx)) = self.netif_get_rx_queue_lease(dev, idx, LeaseDir::VirtToPhys)
        else {
            return Err(KernelError::msg(
                EBUSY,
                "rx queue peered to a virtual netdev",
            ));
        };
        let p = self.dev(pdev);
        //= kernel-spec §3.4 check 4
        if p.is_virtual() {
            return Err(KernelError::msg(
                EBUSY,
                "rx queue is mapped to a virtual netdev",
            ));
        }
        //= kernel-spec §3.4 check 5
        if p.ethtool.rings.tcp_data_split != TcpDataSplit::Enabled {
            return Err(KernelError::msg(EINVAL, "tcp-data-split is disabled"));
        }
        //= kernel-spec §3.4 check 6
        if p.ethtool.rings.hds_thresh != 0 {
            return Err(KernelError::msg(EINVAL, "hds-thresh is not zero"));
        }
        //= kernel-spec §3.4 check 7
        if p.xdp_prog.is_some() {
            return Err(KernelError::msg(
                EEXIST,
                "unable to custom memory provider to device with XDP program attached",
            ));
        }
        let q = &p.rx_queues[pidx as usize];
        //= kernel-spec §3.4 check 8
        if q.mp.is_some() {
            return Err(KernelError::msg(
                EEXIST,
                "designated queue already memory provider bound",
            ));
        }
        //= kernel-spec §3.4 check 9
        if q.xsk {
            return Err(KernelError::msg(
                EBUSY,
                "designated queue already in use by AF_XDP",
            ));
        }
        //= kernel-spec §3.4 step 10: store params, restart the queue
        if !p.queue_mgmt_ops.is_some_and(|o| o.restart) {
            return Err(KernelError::new(EOPNOTSUPP));
        }
        self.dev_mut(pdev).rx_queues[pidx as usize].mp = Some(mp);
        self.netdev_rx_queue_restart(pdev, pidx);
        Ok(())
    }

    /// Kernel: `__net_mp_close_rxq()` for a devmem binding: resolve the lease, clear the
    /// provider if it is this binding's, restart the queue.
    pub fn net_mp_close_rxq(&mut self, dev: DevId, idx: u32, binding: &Rc<DevmemBinding>) {
        if idx >= self.dev(dev).real_num_rx_queues {
            return;
        }
        let Some((pdev, pidx)) = self.netif_get_rx_queue_lease(dev, idx, LeaseDir::VirtToPhys)
        else {
            return;
        };
        let q = &mut self.dev_mut(pdev).rx_queues[pidx as usize];
        let ours =
            q.mp.as_ref()
                .and_then(MemoryProvider::binding)
                .is_some_and(|b| Rc::ptr_eq(b, binding));
        if ours {
            q.mp = None;
            self.netdev_rx_queue_restart(pdev, pidx);
        }
    }

    /// Kernel: `netdev_rx_queue_restart()`: allocate fresh queue memory (a new page pool
    /// that carries the queue's current memory provider), swap it in, free the old one.
    pub fn netdev_rx_queue_restart(&mut self, dev: DevId, idx: u32) {
        let old = self.dev(dev).rx_queues[idx as usize].page_pool;
        let new = self.page_pool_create(dev, idx);
        self.dev_mut(dev).rx_queues[idx as usize].page_pool = Some(new);
        if let Some(old) = old {
            self.page_pool_destroy(old);
        }
    }

    /// Kernel: `dev_memory_provider_uninstall()` at unregister: every provider on `dev`'s
    /// queues is uninstalled (bindings forget the queue; one left with none loses its
    /// `dev`).
    pub fn dev_memory_provider_uninstall(&mut self, dev: DevId) {
        let n = self.dev(dev).rx_queues.len();
        for i in 0..n {
            let mp = self.dev_mut(dev).rx_queues[i].mp.take();
            if let Some(MemoryProvider::Devmem(b)) = mp {
                b.uninstall_rxq((dev, i as u32));
            }
        }
    }
}
