//! kernel-spec §5.3–§5.5 and selftests-spec §10.4: queue-create, lease reporting, lease
//! lifetime across flaps, moves, deletions and resizes.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use simkernel::drivers::netkit::NetkitConfig;
use simkernel::drivers::nic::NicProfile;
use simkernel::net::ethtool::ChannelsSet;
use simkernel::{BadAttr, KernelModel};
use uapi::errno::{EBUSY, EINVAL, ENODEV, ENONET, EOPNOTSUPP, EPERM, ERANGE};
use uapi::netdev::QueueType;

fn qc(
    e: &mut Env,
    c: &simkernel::Caller,
    virt: u32,
    phys: u32,
    q: u32,
    ns: Option<i32>,
) -> Result<u32, simkernel::OpError> {
    e.k.queue_create(c, virt, phys, q, ns)
}

fn em(r: Result<u32, simkernel::OpError>) -> (i32, Option<String>) {
    let e = r.unwrap_err();
    (e.errno(), e.msg().map(str::to_string))
}

#[test]
fn multiple_leases_get_ids_1_2_and_queue_zero_is_leasable() {
    let mut e = env(KernelModel::Series);
    assert_eq!(e.lease(0), 1);
    assert_eq!(e.lease(2), 2);
    assert_eq!(e.k.device(e.guest).real_num_rx_queues, 3);
    assert!(e.k.netif_rxq_is_leased(e.nic, 0));
}

#[test]
fn queue_create_error_table() {
    let mut e = env_with(KernelModel::Series, 3);
    let init = e.k.init_net();
    let c = e.cont;
    let a = e.admin;
    let (g, n, h) = (
        ifindex(&e.k, e.guest),
        ifindex(&e.k, e.nic),
        ifindex(&e.k, e.host),
    );
    // ENODEV: lessee missing, lessor missing.
    assert_eq!(em(qc(&mut e, &c, 4242, n, 0, Some(0))), (ENODEV, None));
    assert_eq!(em(qc(&mut e, &c, g, 99999, 0, Some(0))), (ENODEV, None));
    // ENONET: unknown netns id.
    let r = qc(&mut e, &c, g, n, 0, Some(999)).unwrap_err();
    assert_eq!(
        (r.errno(), r.bad_attr),
        (ENONET, Some(BadAttr::LeaseNetnsId))
    );
    // EPERM: netns-id needs init-ns CAP_NET_ADMIN.
    let unpriv = caller(&mut e.k, e.ns, false);
    assert_eq!(em(qc(&mut e, &unpriv, g, n, 0, Some(0))), (EPERM, None));
    // EINVAL: virtual lessor, self lease, physical lessee, veth lessee.
    let virt = (EINVAL, Some("Lease device is a virtual device".to_string()));
    assert_eq!(em(qc(&mut e, &c, g, h, 0, Some(0))), virt);
    assert_eq!(em(qc(&mut e, &c, g, g, 0, None)), virt);
    assert_eq!(
        em(qc(&mut e, &a, n, n, 0, None)),
        (EINVAL, Some("Device is not a virtual device".to_string()))
    );
    let (veth, _) = e.k.veth_add(init, "v0", init, "v1").unwrap();
    let v = ifindex(&e.k, veth);
    assert_eq!(
        em(qc(&mut e, &a, v, n, 0, None)),
        (
            EINVAL,
            Some("Device does not support queue creation".to_string())
        )
    );
    // EOPNOTSUPP: the primary of a pair.
    assert_eq!(
        em(qc(&mut e, &a, h, n, 0, None)),
        (
            EOPNOTSUPP,
            Some("netkit can only lease against the peer device".to_string())
        )
    );
    // ERANGE: queue beyond the NIC's real queues.
    let r = qc(&mut e, &c, g, n, 4, Some(0)).unwrap_err();
    assert_eq!(
        (r.errno(), r.bad_attr),
        (ERANGE, Some(BadAttr::LeaseQueueId))
    );
    // Lessor not present.
    e.k.nic_set_present(e.nic, false);
    assert_eq!(
        em(qc(&mut e, &c, g, n, 0, Some(0))),
        (
            EINVAL,
            Some("Lease device has been removed from the system".to_string())
        )
    );
    e.k.nic_set_present(e.nic, true);
    // Capacity: num-rx-queues 3 → two leases, the third fails.
    assert_eq!(qc(&mut e, &c, g, n, 1, Some(0)).unwrap(), 1);
    // EBUSY: already leased.
    assert_eq!(
        em(qc(&mut e, &c, g, n, 1, Some(0))),
        (
            EBUSY,
            Some("Device queue in use due to queue leasing".to_string())
        )
    );
    // EOPNOTSUPP: a second lessor device.
    let nic2 = e.k.nic_add(init, "eth1", NicProfile::fbnic(), 2).unwrap();
    let n2 = ifindex(&e.k, nic2);
    assert_eq!(
        em(qc(&mut e, &c, g, n2, 0, Some(0))),
        (
            EOPNOTSUPP,
            Some("Leasing queues from different devices not supported".to_string())
        )
    );
    assert_eq!(qc(&mut e, &c, g, n, 2, Some(0)).unwrap(), 2);
    assert_eq!(
        em(qc(&mut e, &c, g, n, 3, Some(0))),
        (
            EINVAL,
            Some("netkit maximum queue limit reached".to_string())
        )
    );
}

#[test]
fn busy_lessor_queues() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let a = e.admin;
    let n = ifindex(&e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    e.k.bind_rx(&a, n, fd, &[simkernel::QueueSel::rx(2)])
        .unwrap();
    let c = e.cont;
    let g = ifindex(&e.k, e.guest);
    assert_eq!(
        em(e.k.queue_create(&c, g, n, 2, Some(0))),
        (
            EBUSY,
            Some("Device queue in use by memory provider".to_string())
        )
    );
    e.k.device_mut_for_tests(e.nic).rx_queues[1].xsk = true;
    assert_eq!(
        em(e.k.queue_create(&c, g, n, 1, Some(0))),
        (EBUSY, Some("Device queue in use by AF_XDP".to_string()))
    );
}

#[test]
fn two_netkits_same_queue_and_single_mode() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    e.lease(3);
    let mut cfg = NetkitConfig::single("nks");
    cfg.num_rx_queues = Some(4);
    let (single, peer) = e.k.netkit_add(init, cfg).unwrap();
    assert!(peer.is_none());
    let a = e.admin;
    let (s, n) = (ifindex(&e.k, single), ifindex(&e.k, e.nic));
    assert_eq!(em(e.k.queue_create(&a, s, n, 3, None)).0, EBUSY);
    // Single mode may lease on the "primary".
    assert_eq!(e.k.queue_create(&a, s, n, 2, None).unwrap(), 1);
    // Single mode forbids peer settings and non-pass policies.
    let mut bad = NetkitConfig::single("nks2");
    bad.policy = Some(uapi::rtnetlink::NetkitAction::Drop);
    assert_eq!(e.k.netkit_add(init, bad).unwrap_err().errno, EOPNOTSUPP);
    let mut bad = NetkitConfig::single("nks3");
    bad.peer_name = Some("x".into());
    assert_eq!(e.k.netkit_add(init, bad).unwrap_err().errno, EOPNOTSUPP);
    let mut bad = NetkitConfig::pair("nkp", "nkq");
    bad.policy = Some(uapi::rtnetlink::NetkitAction::Redirect);
    let r = e.k.netkit_add(init, bad).unwrap_err();
    assert_eq!(
        (r.errno, r.msg.as_deref()),
        (EINVAL, Some("Provided default xmit policy not supported"))
    );
}

#[test]
fn queue_get_reports_lease_only_on_the_physical_side() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    e.lease(3);
    let phys = e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap();
    let lease = phys.lease.unwrap();
    assert_eq!(lease.ifindex, ifindex(&e.k, e.guest));
    assert_eq!(lease.queue_id, 1);
    // Across namespaces: the NIC's namespace allocates an id for the guest's (lowest free).
    assert_eq!(lease.netns_id, Some(0));
    assert_eq!(e.k.peernet2id(init, e.ns), Some(0));
    assert!(
        e.k.queue_info(e.nic, QueueType::Rx, 2)
            .unwrap()
            .lease
            .is_none()
    );
    assert!(
        e.k.queue_info(e.guest, QueueType::Rx, 1)
            .unwrap()
            .lease
            .is_none()
    );
    // Same namespace: no netns-id.
    let mut cfg = NetkitConfig::pair("nka", "nkb");
    cfg.peer_num_rx_queues = Some(2);
    let (ha, gb) = e.k.netkit_add(init, cfg).unwrap();
    let gb = gb.unwrap();
    e.k.link_set_up(ha, true).unwrap();
    let a = e.admin;
    e.k.queue_create(&a, ifindex(&e.k, gb), ifindex(&e.k, e.nic), 2, None)
        .unwrap();
    let l =
        e.k.queue_info(e.nic, QueueType::Rx, 2)
            .unwrap()
            .lease
            .unwrap();
    assert_eq!(
        (l.ifindex, l.queue_id, l.netns_id),
        (ifindex(&e.k, gb), 1, None)
    );
    // queue-get do: down → ENOENT, out of range → EINVAL.
    assert_eq!(
        e.k.queue_info(e.nic, QueueType::Rx, 4).unwrap_err().errno(),
        EINVAL
    );
    e.k.link_set_up(e.nic, false).unwrap();
    assert_eq!(
        e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap_err().errno(),
        uapi::errno::ENOENT
    );
    assert!(e.k.queue_list(e.nic).is_empty());
}

#[test]
fn leases_survive_flaps_and_netns_moves() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    for d in [e.nic, e.guest, e.host] {
        e.k.link_set_up(d, false).unwrap();
        e.k.link_set_up(d, true).unwrap();
    }
    assert!(e.k.netif_rxq_is_leased(e.nic, 3));
    let other = e.k.netns_add("other").unwrap();
    e.k.link_set_netns(e.guest, other).unwrap();
    assert!(e.k.netif_rxq_is_leased(e.nic, 3));
    e.k.link_set_netns(e.nic, other).unwrap();
    let l =
        e.k.queue_info(e.nic, QueueType::Rx, 3)
            .unwrap()
            .lease
            .unwrap();
    assert_eq!(l.netns_id, None, "same namespace now");
    assert_eq!(l.ifindex, ifindex(&e.k, e.guest));
}

#[test]
fn removing_the_nic_deletes_leasing_netkits() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let init = e.k.init_net();
    let mut cfg = NetkitConfig::pair("nk2h", "nk2g");
    cfg.peer_num_rx_queues = Some(2);
    let (h2, g2) = e.k.netkit_add(init, cfg).unwrap();
    let a = e.admin;
    e.k.queue_create(
        &a,
        ifindex(&e.k, g2.unwrap()),
        ifindex(&e.k, e.nic),
        1,
        None,
    )
    .unwrap();
    e.k.nic_remove(e.nic).unwrap();
    for d in [e.nic, e.guest, e.host, h2, g2.unwrap()] {
        assert!(e.k.try_device(d).is_none());
    }
}

#[test]
fn deleting_netkit_or_its_namespace_releases_exactly_its_leases() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let init = e.k.init_net();
    let mut cfg = NetkitConfig::pair("nk2h", "nk2g");
    cfg.peer_num_rx_queues = Some(2);
    let (h2, g2) = e.k.netkit_add(init, cfg).unwrap();
    let a = e.admin;
    let n = ifindex(&e.k, e.nic);
    e.k.queue_create(&a, ifindex(&e.k, g2.unwrap()), n, 2, None)
        .unwrap();
    // Deleting one netkit releases only its queue.
    e.k.link_del(h2).unwrap();
    assert!(!e.k.netif_rxq_is_leased(e.nic, 2));
    assert!(e.k.netif_rxq_is_leased(e.nic, 3));
    // Deleting the guest's namespace deletes the pair and releases queue 3.
    e.k.netns_del(e.ns).unwrap();
    assert!(e.k.try_device(e.host).is_none());
    assert!(!e.k.netif_rxq_is_leased(e.nic, 3));
    // Re-lease: a fresh pair's first lease gets id 1.
    let mut cfg = NetkitConfig::pair("nk3h", "nk3g");
    cfg.peer_num_rx_queues = Some(2);
    let (_, g3) = e.k.netkit_add(init, cfg).unwrap();
    assert_eq!(
        e.k.queue_create(&a, ifindex(&e.k, g3.unwrap()), n, 3, None)
            .unwrap(),
        1
    );
    // Physical devices cannot be deleted as links.
    assert_eq!(e.k.link_del(e.nic).unwrap_err().errno, EOPNOTSUPP);
}

#[test]
fn destroying_netkit_closes_the_provider_on_the_physical_queue() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    e.lease(3);
    let c = e.cont;
    let fd = dmabuf_fd(&mut e.k, &c, 4 * PAGE, 0);
    let id =
        e.k.bind_rx(
            &c,
            ifindex(&e.k, e.guest),
            fd,
            &[simkernel::QueueSel::rx(1)],
        )
        .unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(
        e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap().dmabuf,
        Some(id)
    );
    e.k.link_del(e.host).unwrap();
    assert_eq!(
        e.k.queue_info(e.nic, QueueType::Rx, 3).unwrap().dmabuf,
        None
    );
    assert_eq!(
        b.dev(),
        None,
        "uninstalled from the virtual rxq it was recorded on"
    );
    // The queue is usable directly again.
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, 4 * PAGE, 0);
    assert!(
        e.k.bind_rx(&a, ifindex(&e.k, e.nic), fd, &[simkernel::QueueSel::rx(3)])
            .is_ok()
    );
}

#[test]
fn resize_rules_around_leases() {
    let mut e = env(KernelModel::Series);
    let set = |c| ChannelsSet {
        combined: Some(c),
        ..Default::default()
    };
    e.lease(2);
    // Shrinking into the leased queue fails...
    let r = e.k.ethtool_channels_set(e.nic, set(2)).unwrap_err();
    assert_eq!(
        (r.errno(), r.msg()),
        (
            EINVAL,
            Some(
                "requested channel counts are too low due to busy queues (AF_XDP or queue leasing)"
            )
        )
    );
    // ... shrinking above it and growing are fine, lease kept.
    e.k.ethtool_channels_set(e.nic, set(3)).unwrap();
    e.k.ethtool_channels_set(e.nic, set(8)).unwrap();
    e.k.ethtool_channels_set(e.nic, set(8)).unwrap();
    assert!(e.k.netif_rxq_is_leased(e.nic, 2));
    // channels-set on netkit: not supported, lease intact.
    assert_eq!(
        e.k.ethtool_channels_set(e.guest, set(1))
            .unwrap_err()
            .errno(),
        EOPNOTSUPP
    );
    assert!(e.k.netif_rxq_is_leased(e.nic, 2));
    // After unlease the resize is allowed.
    e.k.link_del(e.host).unwrap();
    e.k.ethtool_channels_set(e.nic, set(1)).unwrap();
    assert_eq!(e.k.device(e.nic).real_num_rx_queues, 1);
}

#[test]
fn l3_and_l2_modes_lease_and_leases_can_be_made_while_down() {
    for mode in [
        uapi::rtnetlink::NetkitMode::L2,
        uapi::rtnetlink::NetkitMode::L3,
    ] {
        let mut k = kernel(KernelModel::Series);
        let init = k.init_net();
        let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
        let mut cfg = NetkitConfig::pair("h", "g");
        cfg.mode = mode;
        cfg.peer_num_rx_queues = Some(2);
        let (_, g) = k.netkit_add(init, cfg).unwrap();
        let a = caller(&mut k, init, true);
        let (gi, ni) = (ifindex(&k, g.unwrap()), ifindex(&k, nic));
        assert_eq!(k.queue_create(&a, gi, ni, 1, None).unwrap(), 1);
    }
}
