//! kernel-spec §3.3–§3.6: bind-rx, memory-provider open, and the ethtool/XDP rules that
//! protect a bound queue (ncdevmem probe, selftests-spec §3.4).
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use simkernel::net::core::dev::XdpProg;
use simkernel::net::core::netdev_rx_queue::MemoryProvider;
use simkernel::net::ethtool::{ChannelsSet, RingsSet};
use simkernel::{BadAttr, KernelModel, QueueSel};
use uapi::errno::{EBUSY, EEXIST, EINVAL, ENODEV, EOPNOTSUPP, ERANGE};
use uapi::ethtool::TcpDataSplit;
use uapi::netdev::QueueType;

fn msg(e: &simkernel::OpError) -> (i32, Option<&str>) {
    (e.errno(), e.msg())
}

#[test]
fn bind_rx_on_the_nic_installs_a_provider_and_a_fresh_page_pool() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 16 * PAGE, 0);
    let pool_before = e.k.device(e.nic).rx_queues[2].page_pool;
    let id =
        e.k.bind_rx(
            &a,
            nic,
            fd,
            &[QueueSel::rx(2), QueueSel::rx(3), QueueSel::rx(2)],
        )
        .unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(b.dev(), Some(e.nic));
    assert_eq!(b.bound_rxqs(), vec![(e.nic, 2), (e.nic, 3)]);
    let q = &e.k.device(e.nic).rx_queues[2];
    assert!(q.page_pool != pool_before);
    let pools = e.k.page_pool_list();
    let with_dmabuf: Vec<_> = pools.iter().filter(|p| p.dmabuf == Some(id)).collect();
    assert_eq!(with_dmabuf.len(), 2);
    assert_eq!(with_dmabuf[0].ifindex, Some(nic));
    let qi = e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap();
    assert_eq!(qi.dmabuf, Some(id));
    assert!(qi.napi_id.unwrap() >= simkernel::kernel::MIN_NAPI_ID);
    // RX allocation from the provider's pool, pp_ref counted, inflight reported.
    let pp = e.k.device(e.nic).rx_queues[3].page_pool.unwrap();
    let niov = e.k.page_pool_alloc_netmem(pp).unwrap();
    assert_eq!(niov.binding_id(), id);
    assert_eq!(e.k.page_pool(pp).unwrap().inflight, 1);
    e.k.page_pool_put_netmem(pp, niov);
    assert_eq!(b.chunks_in_use(), 0);
}

#[test]
fn bind_rx_errors_in_kernel_order() {
    let mut e = env(KernelModel::Series);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let r = e.k.bind_rx(&a, 4242, fd, &[QueueSel::rx(0)]).unwrap_err();
    assert_eq!((r.errno(), r.bad_attr), (ENODEV, None));
    // veth has no queue management ops.
    let init = e.k.init_net();
    let (veth, _) = e.k.veth_add(init, "v0", init, "v1").unwrap();
    let r =
        e.k.bind_rx(&a, ifindex(&e.k, veth), fd, &[QueueSel::rx(0)])
            .unwrap_err();
    assert_eq!(
        (r.errno(), r.bad_attr),
        (EOPNOTSUPP, Some(BadAttr::Ifindex))
    );
    // Queue nest checks: missing id / type, TX type, index beyond real queues.
    let r =
        e.k.bind_rx(
            &a,
            nic,
            fd,
            &[QueueSel {
                id: None,
                ty: Some(0),
            }],
        )
        .unwrap_err();
    assert_eq!(
        r.bad_attr,
        Some(BadAttr::QueueMissing {
            nest: 0,
            attr: uapi::netdev::NETDEV_A_QUEUE_ID
        })
    );
    let tx = QueueSel {
        id: Some(0),
        ty: Some(uapi::netdev::NETDEV_QUEUE_TYPE_TX),
    };
    let r =
        e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(0), tx])
            .unwrap_err();
    assert_eq!(
        (r.errno(), r.bad_attr),
        (EINVAL, Some(BadAttr::QueueType(1)))
    );
    let r = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(4)]).unwrap_err();
    assert_eq!((r.errno(), r.bad_attr), (EINVAL, Some(BadAttr::QueueId(0))));
    // Header split off (the default).
    let r = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(1)]).unwrap_err();
    assert_eq!(msg(&r), (EINVAL, Some("tcp-data-split is disabled")));
    // bnxt's default hds-thresh is not zero.
    e.k.ethtool_rings_set(
        e.nic,
        RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            ..Default::default()
        },
    )
    .unwrap();
    let r = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(1)]).unwrap_err();
    assert_eq!(msg(&r), (EINVAL, Some("hds-thresh is not zero")));
    enable_hds(&mut e.k, e.nic);
    // XDP attached (multi-buffer, so header split allows it).
    e.k.dev_set_xdp(e.nic, Some(XdpProg { has_frags: true }))
        .unwrap();
    let r = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(1)]).unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EEXIST,
            Some("unable to custom memory provider to device with XDP program attached")
        )
    );
    e.k.dev_set_xdp(e.nic, None).unwrap();
    // Already bound: the second bind fails and is fully undone.
    let id = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(1)]).unwrap();
    let fd2 = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let r =
        e.k.bind_rx(&a, nic, fd2, &[QueueSel::rx(0), QueueSel::rx(1)])
            .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EEXIST,
            Some("designated queue already memory provider bound")
        )
    );
    assert_eq!(e.k.live_bindings(), 1);
    assert!(e.k.device(e.nic).rx_queues[0].mp.is_none());
    let q1 = e.k.device(e.nic).rx_queues[1].mp.clone().unwrap();
    assert_eq!(q1.binding().unwrap().id(), id);
    // AF_XDP on the queue.
    e.k.device_mut_for_tests(e.nic).rx_queues[2].xsk = true;
    let r = e.k.bind_rx(&a, nic, fd2, &[QueueSel::rx(2)]).unwrap_err();
    assert_eq!(
        msg(&r),
        (EBUSY, Some("designated queue already in use by AF_XDP"))
    );
}

#[test]
fn mp_open_direct_checks() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let mp = || MemoryProvider::Devmem(b.clone());
    let r = e.k.net_mp_open_rxq(e.nic, 7, mp()).unwrap_err();
    assert_eq!(
        (r.errno, r.msg.as_deref()),
        (ERANGE, Some("rx queue index out of range"))
    );
    // A physical queue leased out cannot take a provider through the physical device.
    e.lease(3);
    let r = e.k.net_mp_open_rxq(e.nic, 3, mp()).unwrap_err();
    assert_eq!(
        (r.errno, r.msg.as_deref()),
        (EBUSY, Some("rx queue peered to a virtual netdev"))
    );
    // netkit's own queue 0 is not backed by hardware.
    let r = e.k.net_mp_open_rxq(e.guest, 0, mp()).unwrap_err();
    assert_eq!(
        (r.errno, r.msg.as_deref()),
        (EBUSY, Some("rx queue is mapped to a virtual netdev"))
    );
}

#[test]
fn bind_rx_through_a_netkit_lease() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let nkq = e.lease(3);
    assert_eq!(nkq, 1);
    let c = e.cont;
    let g = ifindex(&e.k, e.guest);
    let fd = dmabuf_fd(&mut e.k, &c, 8 * PAGE, 0);
    // netkit queue 0 has no DMA device: "Device doesn't support DMA".
    let r = e.k.bind_rx(&c, g, fd, &[QueueSel::rx(0)]).unwrap_err();
    assert_eq!(msg(&r), (EOPNOTSUPP, Some("Device doesn't support DMA")));
    // 0 and 1: DMA resolves to the NIC (a leading NULL is no mismatch), then queue 0 fails.
    let r =
        e.k.bind_rx(&c, g, fd, &[QueueSel::rx(0), QueueSel::rx(1)])
            .unwrap_err();
    assert_eq!(
        msg(&r),
        (EBUSY, Some("rx queue is mapped to a virtual netdev"))
    );
    assert_eq!(e.k.live_bindings(), 0);
    let id = e.k.bind_rx(&c, g, fd, &[QueueSel::rx(1)]).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    // binding->dev is the virtual device; the provider sits on the physical queue.
    assert_eq!((b.dev(), b.vdev()), (Some(e.guest), None));
    assert_eq!(b.bound_rxqs(), vec![(e.guest, 1)]);
    let phys_mp = e.k.device(e.nic).rx_queues[3].mp.clone().unwrap();
    assert_eq!(phys_mp.binding().unwrap().id(), id);
    drop(phys_mp);
    // Mapped in the NIC's IOMMU.
    let iommu = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert_eq!(iommu.mapping_count(), 1);
    // queue-get on either side reports the dmabuf.
    assert_eq!(
        e.k.queue_info(e.guest, QueueType::Rx, 1).unwrap().dmabuf,
        Some(id)
    );
    assert_eq!(
        e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap().dmabuf,
        Some(id)
    );
    // Unbind acts through the lease on the physical queue.
    e.k.unbind_socket_bindings(c.sock);
    assert!(e.k.device(e.nic).rx_queues[3].mp.is_none());
    drop(b);
    assert_eq!(iommu.mapping_count(), 0);
    assert_eq!(e.k.live_bindings(), 0);
}

#[test]
fn bind_rx_on_phys_including_a_leased_queue_is_eopnotsupp() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    e.lease(3);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let r = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(3)]).unwrap_err();
    assert_eq!(msg(&r), (EOPNOTSUPP, Some("Device doesn't support DMA")));
    let r =
        e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(2), QueueSel::rx(3)])
            .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EOPNOTSUPP,
            Some("DMA device mismatch between queue 3 and 2 (multi-PF device?)")
        )
    );
}

#[test]
fn bound_queues_are_protected_from_ethtool_and_xdp() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(2), QueueSel::rx(3)])
        .unwrap();
    // ncdevmem probe step 7: shrinking onto bound queues fails.
    let r =
        e.k.ethtool_channels_set(
            e.nic,
            ChannelsSet {
                combined: Some(2),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("requested channel counts are too low for existing memory provider setting (4)")
        )
    );
    let r =
        e.k.ethtool_rings_set(
            e.nic,
            RingsSet {
                tcp_data_split: Some(TcpDataSplit::Unknown),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("can't disable tcp-data-split while device has memory provider enabled")
        )
    );
    let r =
        e.k.ethtool_rings_set(
            e.nic,
            RingsSet {
                hds_thresh: Some(128),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("can't set non-zero hds_thresh while device is memory provider enabled")
        )
    );
    let r =
        e.k.dev_set_xdp(e.nic, Some(XdpProg { has_frags: true }))
            .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EBUSY,
            Some("unable to install XDP to device using memory provider")
        )
    );
    // Closing the socket (ncdevmem teardown) lifts every restriction.
    e.k.unbind_socket_bindings(a.sock);
    e.k.ethtool_channels_set(
        e.nic,
        ChannelsSet {
            combined: Some(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(e.k.device(e.nic).real_num_rx_queues, 2);
}

#[test]
fn ethtool_limits() {
    let mut e = env(KernelModel::Series);
    let set = |c| ChannelsSet {
        combined: Some(c),
        ..Default::default()
    };
    let r = e.k.ethtool_channels_set(e.nic, set(17)).unwrap_err();
    assert_eq!(
        msg(&r),
        (EINVAL, Some("requested channel count exceeds maximum"))
    );
    assert_eq!(
        r.bad_attr,
        Some(BadAttr::Ethtool(
            uapi::ethtool::ETHTOOL_A_CHANNELS_COMBINED_COUNT
        ))
    );
    let r = e.k.ethtool_channels_set(e.nic, set(0)).unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("requested channel counts would result in no RX or TX channel being configured")
        )
    );
    e.k.ethtool_rss_equal(e.nic, 3).unwrap();
    let r = e.k.ethtool_channels_set(e.nic, set(2)).unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("requested channel counts are too low for existing indirection table (2)")
        )
    );
    e.k.ethtool_rss_default(e.nic).unwrap();
    let rule = simkernel::net::ethtool::NtupleRule {
        flow_type: simkernel::net::ethtool::FlowType::Tcp6,
        src_ip: None,
        dst_ip: None,
        src_port: None,
        dst_port: Some(5201),
        action: simkernel::net::ethtool::NtupleAction::Queue(3),
    };
    assert_eq!(e.k.ethtool_ntuple_add(e.nic, rule).unwrap(), 0);
    assert_eq!(e.k.ethtool_ntuple_add(e.nic, rule).unwrap(), 1);
    e.k.ethtool_ntuple_del(e.nic, 0).unwrap();
    assert_eq!(e.k.ethtool_ntuple_add(e.nic, rule).unwrap(), 0);
    let r = e.k.ethtool_channels_set(e.nic, set(3)).unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("requested channel counts are too low for existing ntuple filter settings")
        )
    );
    let r =
        e.k.ethtool_rings_set(
            e.nic,
            RingsSet {
                rx: Some(100_000),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (EINVAL, Some("requested ring size exceeds maximum"))
    );
    // Single-buffer XDP and header split exclude each other.
    e.k.dev_set_xdp(e.nic, Some(XdpProg { has_frags: false }))
        .unwrap();
    let r =
        e.k.ethtool_rings_set(
            e.nic,
            RingsSet {
                tcp_data_split: Some(TcpDataSplit::Enabled),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (
            EINVAL,
            Some("tcp-data-split can not be enabled with single buffer XDP")
        )
    );
    // mlx5e has no hds-thresh knob.
    let init = e.k.init_net();
    let mlx =
        e.k.nic_add(
            init,
            "mlx0",
            simkernel::drivers::nic::NicProfile::mlx5e(),
            2,
        )
        .unwrap();
    let r =
        e.k.ethtool_rings_set(
            mlx,
            RingsSet {
                hds_thresh: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        msg(&r),
        (EOPNOTSUPP, Some("setting hds-thresh is not supported"))
    );
}

/// kernel-spec §2.3: a transmit refused by `validate_xmit_unreadable_skb()` (or by a
/// device that is down) frees the skb with `kfree_skb()`, so an RX net_iov in it goes
/// back to its page pool instead of staying in flight.
#[test]
fn refused_transmit_returns_rx_niovs_to_the_page_pool() {
    use simkernel::{Frag, Skb, XmitDrop, XmitResult};
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 16 * PAGE, 0);
    e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(3)]).unwrap();
    let pp = e.k.device(e.nic).rx_queues[3].page_pool.unwrap();
    let init = e.k.init_net();
    let (veth, vpeer) = e.k.veth_add(init, "veth0", init, "veth1").unwrap();
    e.k.link_set_up(vpeer, true).unwrap();
    let rx_skb = |k: &mut simkernel::Kernel| {
        let niov = k.page_pool_alloc_netmem(pp).unwrap();
        Skb {
            head: vec![0; 64],
            frags: vec![Frag::NetIov {
                niov,
                off: 0,
                len: 100,
            }],
            ..Skb::default()
        }
    };
    // veth0 is down.
    let skb = rx_skb(&mut e.k);
    assert_eq!(e.k.page_pool(pp).unwrap().inflight, 1);
    assert_eq!(
        e.k.dev_queue_xmit(veth, skb),
        XmitResult::Dropped(XmitDrop::DeviceDown)
    );
    assert_eq!(e.k.page_pool(pp).unwrap().inflight, 0);
    // veth0 is up but NETMEM_TX_NONE.
    e.k.link_set_up(veth, true).unwrap();
    let skb = rx_skb(&mut e.k);
    assert_eq!(
        e.k.dev_queue_xmit(veth, skb),
        XmitResult::Dropped(XmitDrop::Unreadable)
    );
    assert_eq!(e.k.page_pool(pp).unwrap().inflight, 0);
}

/// Kernel: the binding's RX `gen_pool` (merged state, kernel-spec §4.1): each SG entry is a
/// chunk added at the head of the chunk list, and `gen_pool_first_fit` takes the lowest free
/// niov of the first chunk with room, so the last SG entry is used first and a freed low
/// niov is reused before a freed high one.
#[test]
fn rx_niovs_come_from_the_gen_pool_in_first_fit_order() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    // Two SG entries of two pages each: area 0 = niovs 0-1, area 1 = niovs 2-3.
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 2 * PAGE);
    let id = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(2)]).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(b.areas().len(), 2);
    let got: Vec<_> = (0..4)
        .map(|_| b.net_devmem_alloc_dmabuf().unwrap())
        .collect();
    let offs: Vec<u64> = got.iter().map(|n| n.virtual_offset()).collect();
    assert_eq!(offs, vec![2 * PAGE as u64, 3 * PAGE as u64, 0, PAGE as u64]);
    assert!(b.net_devmem_alloc_dmabuf().is_none());
    assert_eq!(b.chunks_in_use(), 4);
    // Free niov 0, then 1, then 3: area 1 is searched first, then the lowest bit of area 0.
    let mut it = got.into_iter();
    let (n2, n3, n0, n1) = (
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
        it.next().unwrap(),
    );
    b.net_devmem_free_dmabuf(n0);
    b.net_devmem_free_dmabuf(n1);
    b.net_devmem_free_dmabuf(n3);
    assert_eq!(b.chunks_in_use(), 1);
    let again: Vec<u32> = (0..3)
        .map(|_| b.net_devmem_alloc_dmabuf().unwrap().index())
        .collect();
    assert_eq!(again, vec![3, 0, 1]);
    drop(n2);
}

/// Kernel: `net_devmem_unbind_dmabuf()` walks `bound_rxqs` with `xa_for_each()` to close
/// each queue's provider but erases nothing from it, and leaves `binding->dev` alone (only
/// `mp_dmabuf_devmem_uninstall()` changes either).
#[test]
fn unbind_closes_queues_but_keeps_bound_rxqs_and_dev() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let nic = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    let id = e.k.bind_rx(&a, nic, fd, &[QueueSel::rx(2)]).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    e.k.unbind_socket_bindings(a.sock);
    assert!(e.k.net_devmem_lookup_dmabuf(id).is_none());
    assert!(e.k.device(e.nic).rx_queues[2].mp.is_none());
    assert_eq!(b.bound_rxqs(), vec![(e.nic, 2)]);
    assert_eq!(b.dev(), Some(e.nic));
    drop(b);
    assert_eq!(e.k.live_bindings(), 0);
}
