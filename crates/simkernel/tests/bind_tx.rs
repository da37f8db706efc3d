//! kernel-spec §3.1–§3.2 and §4.2/§4.4: bind-tx, every step, both models.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use simkernel::dma::DmaDirection;
use simkernel::drivers::nic::{GveQueueFormat, NicProfile};
use simkernel::net::core::devmem::SkDst;
use simkernel::process::File;
use simkernel::{KernelModel, QueueSel};
use uapi::errno::{EBADF, EHOSTUNREACH, EINVAL, ENODEV, EOPNOTSUPP};

fn err(r: Result<u32, simkernel::OpError>) -> (i32, Option<String>) {
    let e = r.unwrap_err();
    (e.errno(), e.msg().map(str::to_string))
}

#[test]
fn missing_and_absent_devices_are_enodev() {
    let mut e = env(KernelModel::Series);
    let fd = dmabuf_fd(&mut e.k, &e.admin, PAGE, 0);
    let a = e.admin;
    assert_eq!(err(e.k.bind_tx(&a, 999, fd)), (ENODEV, None));
    // The guest's ifindex is looked up in the caller's namespace, not the guest's.
    let nic = ifindex(&e.k, e.nic);
    e.k.nic_set_present(e.nic, false);
    assert_eq!(err(e.k.bind_tx(&a, nic, fd)), (ENODEV, None));
}

#[test]
fn devices_without_netmem_tx() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    let (veth, _) = e.k.veth_add(init, "v0", init, "v1").unwrap();
    let gqi =
        e.k.nic_add(init, "gve0", NicProfile::gve(GveQueueFormat::GqiQpl), 2)
            .unwrap();
    let dqo_qpl =
        e.k.nic_add(init, "gve1", NicProfile::gve(GveQueueFormat::DqoQpl), 2)
            .unwrap();
    let fd = dmabuf_fd(&mut e.k, &e.admin, PAGE, 0);
    let a = e.admin;
    let want = (
        EOPNOTSUPP,
        Some("Driver does not support netmem TX".to_string()),
    );
    for d in [veth, gqi, dqo_qpl] {
        assert_eq!(err(e.k.bind_tx(&a, ifindex(&e.k, d), fd)), want);
    }
    let lo = e.k.dev_by_ifindex(init, 1).unwrap();
    assert_eq!(err(e.k.bind_tx(&a, ifindex(&e.k, lo), fd)), want);
    // gve DQO RDA is the devmem-capable format.
    let rda =
        e.k.nic_add(init, "gve2", NicProfile::gve(GveQueueFormat::DqoRda), 2)
            .unwrap();
    assert!(e.k.bind_tx(&a, ifindex(&e.k, rda), fd).is_ok());
}

#[test]
fn no_dma_device_without_usable_lease() {
    let mut e = env(KernelModel::Series);
    let want = (
        EOPNOTSUPP,
        Some("No DMA-capable device found for netmem TX".to_string()),
    );
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    // The primary never leases.
    assert_eq!(err(e.k.bind_tx(&a, ifindex(&e.k, e.host), fd)), want);
    // The guest without a lease.
    let c = e.cont;
    let cfd = dmabuf_fd(&mut e.k, &c, PAGE, 0);
    let g = ifindex(&e.k, e.guest);
    assert_eq!(err(e.k.bind_tx(&c, g, cfd)), want);
    // Leased from a NIC that is absent: skipped.
    e.lease(3);
    e.k.nic_set_present(e.nic, false);
    assert_eq!(err(e.k.bind_tx(&c, g, cfd)), want);
    e.k.nic_set_present(e.nic, true);
    assert!(e.k.bind_tx(&c, g, cfd).is_ok());
}

#[test]
fn leased_from_a_nic_without_netmem_tx() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    let gqi =
        e.k.nic_add(init, "gve0", NicProfile::gve(GveQueueFormat::GqiRda), 2)
            .unwrap();
    let c = e.cont;
    let (g, n) = (ifindex(&e.k, e.guest), ifindex(&e.k, gqi));
    e.k.queue_create(&c, g, n, 1, Some(0)).unwrap();
    let fd = dmabuf_fd(&mut e.k, &c, PAGE, 0);
    assert_eq!(
        err(e.k.bind_tx(&c, g, fd)),
        (
            EOPNOTSUPP,
            Some("No DMA-capable device found for netmem TX".to_string())
        )
    );
}

#[test]
fn fd_errors() {
    let mut e = env(KernelModel::Series);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    assert_eq!(err(e.k.bind_tx(&a, nic, 77)), (EBADF, None));
    let fd = e.k.process_mut(a.pid).unwrap().fd_install(File::Other);
    assert_eq!(err(e.k.bind_tx(&a, nic, fd)), (EINVAL, None));
    // No binding was created by the failures.
    assert_eq!(e.k.live_bindings(), 0);
}

#[test]
fn size_and_sg_alignment() {
    let mut e = env(KernelModel::Series);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 2 * PAGE + 100, 0);
    assert_eq!(
        err(e.k.bind_tx(&a, nic, fd)),
        (
            EINVAL,
            Some("TX dma-buf size must be a multiple of PAGE_SIZE".to_string())
        )
    );
    let fd = dmabuf_fd(&mut e.k, &a, 2 * PAGE, 6144);
    assert_eq!(
        err(e.k.bind_tx(&a, nic, fd)),
        (
            EINVAL,
            Some("dma-buf SG length must be PAGE_SIZE aligned".to_string())
        )
    );
    // RX checks SG alignment too, but not the total size (size check is TX only): a
    // non-page size yields a short last SG entry.
    enable_hds(&mut e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 2 * PAGE + 100, 0);
    assert_eq!(
        err(e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(1)])),
        (
            EINVAL,
            Some("dma-buf SG length must be PAGE_SIZE aligned".to_string())
        )
    );
    // Failed binds leave nothing mapped.
    let iommu = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert_eq!(iommu.mapping_count(), 0);
    assert_eq!(e.k.live_bindings(), 0);
}

#[test]
fn device_without_dma_is_eopnotsupp() {
    let mut e = env(KernelModel::Series);
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    let r =
        e.k.net_devmem_bind_dmabuf(e.nic, None, None, DmaDirection::ToDevice, a.pid, fd, a.sock);
    let er = r.unwrap_err();
    assert_eq!(er.errno, EOPNOTSUPP);
    assert_eq!(er.msg.as_deref(), Some("Device doesn't support DMA"));
}

#[test]
fn through_netkit_binds_the_nic_with_the_guest_as_vdev() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let c = e.cont;
    let fd = dmabuf_fd(&mut e.k, &c, 8 * PAGE, 2 * PAGE);
    let id = e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd).unwrap();
    assert_eq!(id, 1);
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(b.dev(), Some(e.nic));
    assert_eq!(b.vdev(), Some(e.guest));
    assert!(b.is_tx());
    assert_eq!(b.num_niovs(), 8);
    assert_eq!(b.areas().len(), 4);
    // Mapped for the NIC's DMA device, one IOMMU mapping per SG entry.
    let iommu = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert_eq!(iommu.mapping_count(), 4);
    assert_eq!(iommu.mapped_bytes(), 8 * PAGE as u64);
    // Route check: out of the guest (vdev) or the NIC (dev); anything else is ENODEV.
    assert!(e.k.net_devmem_get_binding(id, SkDst::Dev(e.guest)).is_ok());
    assert!(e.k.net_devmem_get_binding(id, SkDst::Dev(e.nic)).is_ok());
    assert_eq!(
        e.k.net_devmem_get_binding(id, SkDst::Dev(e.host))
            .unwrap_err()
            .errno,
        ENODEV
    );
    assert_eq!(
        e.k.net_devmem_get_binding(id, SkDst::RebuildFailed)
            .unwrap_err()
            .errno,
        EHOSTUNREACH
    );
    assert_eq!(
        e.k.net_devmem_get_binding(id, SkDst::None)
            .unwrap_err()
            .errno,
        ENODEV
    );
    assert_eq!(
        e.k.net_devmem_get_binding(99, SkDst::Dev(e.nic))
            .unwrap_err()
            .errno,
        EINVAL
    );
    // get_niov_at: page index and offset; past the end → None (EFAULT upstream).
    let (niov, off, size) = b.net_devmem_get_niov_at(3 * PAGE + 10).unwrap();
    assert_eq!((niov.index(), off, size), (3, 10, PAGE - 10));
    assert_eq!(niov.virtual_offset(), 3 * PAGE as u64);
    assert_eq!(niov.dma_addr(), b.areas()[1].base_dma + PAGE as u64);
    assert!(b.net_devmem_get_niov_at(8 * PAGE).is_none());
    // Ids are allocated cyclically from 1.
    let fd2 = dmabuf_fd(&mut e.k, &c, PAGE, 0);
    assert_eq!(e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd2).unwrap(), 2);
}

#[test]
fn rx_bindings_are_not_tx_bindings() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let id =
        e.k.bind_rx(&a, ifindex(&e.k, e.nic), fd, &[QueueSel::rx(2)])
            .unwrap();
    assert_eq!(
        e.k.net_devmem_get_binding(id, SkDst::Dev(e.nic))
            .unwrap_err()
            .errno,
        EINVAL
    );
}

#[test]
fn pre_series_netkit_guest_fails_and_route_check_is_dev_only() {
    let mut e = env(KernelModel::PreSeries);
    e.lease(3);
    let c = e.cont;
    let fd = dmabuf_fd(&mut e.k, &c, PAGE, 0);
    assert_eq!(
        err(e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd)),
        (
            EOPNOTSUPP,
            Some("Driver does not support netmem TX".to_string())
        )
    );
    // Binding the NIC directly still works; the route must leave through it.
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!((b.dev(), b.vdev()), (Some(e.nic), None));
    assert!(e.k.net_devmem_get_binding(id, SkDst::Dev(e.nic)).is_ok());
    assert_eq!(
        e.k.net_devmem_get_binding(id, SkDst::Dev(e.guest))
            .unwrap_err()
            .errno,
        ENODEV
    );
}
