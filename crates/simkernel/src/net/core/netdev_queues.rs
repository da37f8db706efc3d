//! Queue helpers shared by netlink and ethtool.
//!
//! Kernel: `net/core/netdev_queues.c` (queue-lease era): `netdev_queue_get_dma_dev()`
//! (kernel-spec §3.5), `netdev_can_create_queue()`, `netdev_can_lease_queue()`,
//! `netdev_queue_busy()` (§5.3 steps 9, 12, 15).

use uapi::errno::EINVAL;
use uapi::netdev::QueueType;

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DmaDev, NetDevice};

impl Kernel {
    /// Kernel: `netdev_queue_get_dma_dev()`: the device that DMAs for queue `idx`. A leased
    /// RX queue of a virtual device answers with the physical queue's DMA device; a leased
    /// physical queue answers `None`.
    pub fn netdev_queue_get_dma_dev(&self, dev: DevId, idx: u32, ty: QueueType) -> Option<DmaDev> {
        let d = self.dev(dev);
        if ty != QueueType::Rx || !self.netif_rxq_is_leased(dev, idx) {
            return d.dma_dev().cloned();
        }
        if !d.is_virtual() {
            return None;
        }
        let (pdev, _pidx) = d.rx_queues[idx as usize].lease?;
        self.dev(pdev).dma_dev().cloned()
    }
}

/// Kernel: `netdev_can_create_queue()`: first failing rule wins.
pub fn netdev_can_create_queue(dev: &NetDevice) -> KResult<()> {
    if !dev.is_virtual() {
        return Err(KernelError::msg(EINVAL, "Device is not a virtual device"));
    }
    if !dev.queue_mgmt_ops.is_some_and(|o| o.create) {
        return Err(KernelError::msg(
            EINVAL,
            "Device does not support queue creation",
        ));
    }
    if dev.real_num_rx_queues < 1 || dev.real_num_tx_queues < 1 {
        return Err(KernelError::msg(
            EINVAL,
            "Device must have at least one real queue",
        ));
    }
    Ok(())
}

/// Kernel: `netdev_can_lease_queue()`.
pub fn netdev_can_lease_queue(dev: &NetDevice) -> KResult<()> {
    if dev.is_virtual() {
        return Err(KernelError::msg(EINVAL, "Lease device is a virtual device"));
    }
    if !dev.present {
        return Err(KernelError::msg(
            EINVAL,
            "Lease device has been removed from the system",
        ));
    }
    if dev.queue_mgmt_ops.is_none() {
        return Err(KernelError::msg(
            EINVAL,
            "Lease device does not support queue management operations",
        ));
    }
    Ok(())
}

/// Kernel: `netdev_queue_busy()`: the message that says why queue `idx` is busy, if it is.
pub fn netdev_queue_busy(dev: &NetDevice, idx: u32, ty: QueueType) -> Option<&'static str> {
    let q = dev.rx_queues.get(idx as usize)?;
    if q.xsk {
        return Some("Device queue in use by AF_XDP");
    }
    if ty == QueueType::Tx {
        return None;
    }
    if idx < dev.real_num_rx_queues && q.lease.is_some() {
        return Some("Device queue in use due to queue leasing");
    }
    if q.mp.is_some() {
        return Some("Device queue in use by memory provider");
    }
    None
}
