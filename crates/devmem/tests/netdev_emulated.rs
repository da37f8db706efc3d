//! The netdev and ethtool families through the message layer: the typed clients'
//! request bytes go through `EmulatedTransport` into the emulated kernel's AF_NETLINK
//! socket and the replies (data, NLMSG_ERROR with extack) are parsed back, on the
//! selftests topology (`default_topology`): permissions, the container's queue-create
//! lease, bind-rx on the leased queue, its errors, the read-only dumps, and ethtool
//! coalesce get/set.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use devmem::dmabuf::Dmabuf;
use devmem::emulator::EmulatedTransport;
use devmem::ethtool::{ChannelsSet, Coalesce, CoalesceSet, EthtoolClient, RingsSet, TcpDataSplit};
use devmem::netdev::{Lease, NetdevClient, QueueType};
use simkernel::topology::{Topology, default_topology};
use simkernel::{Cred, Duration, Kernel, KernelConfig, NetNsId};
use uapi::errno::{EBUSY, EINVAL, EOPNOTSUPP, EPERM};
use uapi::netdev::{NETDEV_A_QSTATS_RX_PACKETS, NETDEV_A_QSTATS_TX_PACKETS};
use uapi::netlink::NETLINK_GENERIC;

struct Env {
    k: Rc<RefCell<Kernel>>,
    t: Topology,
    nic: u32,
    guest: u32,
}

fn env() -> Env {
    let mut k = Kernel::new(KernelConfig::default());
    let t = default_topology(&mut k).unwrap();
    let nic = k.device(t.nic).ifindex;
    let guest = k.device(t.nk_guest).ifindex;
    Env {
        k: Rc::new(RefCell::new(k)),
        t,
        nic,
        guest,
    }
}

impl Env {
    fn transport(&self, ns: NetNsId, admin: bool) -> EmulatedTransport {
        let pid = self.k.borrow_mut().process_spawn(
            ns,
            Cred {
                cap_net_admin: admin,
            },
        );
        EmulatedTransport::open(self.k.clone(), pid, NETLINK_GENERIC).unwrap()
    }

    fn netdev(&self, ns: NetNsId, admin: bool) -> NetdevClient<EmulatedTransport> {
        NetdevClient::new(self.transport(ns, admin))
    }

    fn ethtool(&self) -> EthtoolClient<EmulatedTransport> {
        EthtoolClient::new(self.transport(self.t.host_ns, true))
    }

    fn ethtool_as(&self, ns: NetNsId, admin: bool) -> EthtoolClient<EmulatedTransport> {
        EthtoolClient::new(self.transport(ns, admin))
    }

    /// What ncdevmem configures before binding: header split on, threshold 0.
    fn enable_hds(&self) {
        self.ethtool()
            .rings_set(
                self.nic,
                &RingsSet {
                    tcp_data_split: Some(TcpDataSplit::Enabled),
                    hds_thresh: Some(0),
                    ..Default::default()
                },
            )
            .unwrap();
    }

    /// The selftest's exact request, from inside the container: a new RX queue on the
    /// guest leased from NIC queue `q`, the NIC named by its init_net ifindex through
    /// netns-id 0.
    fn lease(&self, c: &mut NetdevClient<EmulatedTransport>, q: u32) -> u32 {
        c.queue_create(
            self.guest,
            QueueType::Rx,
            Lease {
                ifindex: self.nic,
                queue: (q, QueueType::Rx),
                netns_id: Some(0),
            },
        )
        .unwrap()
    }
}

#[test]
fn unprivileged_gets_eperm_for_bind_rx_and_queue_create_but_may_bind_tx() {
    let e = env();
    let mut u = e.netdev(e.t.host_ns, false);
    let buf = Dmabuf::memfd(1 << 20).unwrap();
    let err = u
        .bind_rx(e.nic, buf.fd(), &[(1, QueueType::Rx)])
        .unwrap_err();
    assert_eq!((err.errno(), err.extack_msg()), (Some(EPERM), None));
    let err = u
        .queue_create(
            e.guest,
            QueueType::Rx,
            Lease {
                ifindex: e.nic,
                queue: (1, QueueType::Rx),
                netns_id: None,
            },
        )
        .unwrap_err();
    assert_eq!((err.errno(), err.extack_msg()), (Some(EPERM), None));
    // bind-tx has no GENL_ADMIN_PERM.
    let id = u.bind_tx(e.nic, buf.fd()).unwrap();
    assert!(id >= 1);
    assert_eq!(e.k.borrow().live_bindings(), 1);
    drop(u);
    assert_eq!(
        e.k.borrow().live_bindings(),
        0,
        "closing the socket unbinds"
    );
}

#[test]
fn container_queue_create_lease_reported_on_the_nic_side_only() {
    let e = env();
    let mut c = e.netdev(e.t.cont_ns, true);
    let id = e.lease(&mut c, 2);
    assert_eq!(id, 1, "the guest had queue 0; the new one is 1");

    let mut h = e.netdev(e.t.host_ns, true);
    let q = h.queue_get(e.nic, 2, QueueType::Rx).unwrap();
    let lease = q.lease.expect("the NIC's queue reports its lessee");
    assert_eq!(lease.ifindex, e.guest);
    assert_eq!(lease.queue, (id, QueueType::Rx));
    assert!(lease.netns_id.is_some(), "the guest is in another netns");

    let g = c.queue_get(e.guest, id, QueueType::Rx).unwrap();
    assert_eq!((g.ifindex, g.id, g.r#type), (e.guest, id, QueueType::Rx));
    assert_eq!(g.lease, None, "the virtual side carries no lease nest");
    // An unleased NIC queue has none either.
    assert_eq!(h.queue_get(e.nic, 1, QueueType::Rx).unwrap().lease, None);
}

#[test]
fn bind_rx_on_the_leased_guest_queue() {
    let e = env();
    let mut c = e.netdev(e.t.cont_ns, true);
    let id = e.lease(&mut c, 2);
    let buf = Dmabuf::memfd(1 << 20).unwrap();

    // HDS off (the NIC's default): the physical queue's checks run through the lease.
    let err = c
        .bind_rx(e.guest, buf.fd(), &[(id, QueueType::Rx)])
        .unwrap_err();
    assert_eq!(
        (err.errno(), err.extack_msg()),
        (Some(EINVAL), Some("tcp-data-split is disabled"))
    );

    e.enable_hds();
    // Guest queue 0 is netkit's own: alone it has no DMA device; next to the leased
    // queue the DMA device resolves to the NIC and queue 0 then fails the provider check.
    let err = c
        .bind_rx(e.guest, buf.fd(), &[(0, QueueType::Rx)])
        .unwrap_err();
    assert_eq!(
        (err.errno(), err.extack_msg()),
        (Some(EOPNOTSUPP), Some("Device doesn't support DMA"))
    );
    let err = c
        .bind_rx(
            e.guest,
            buf.fd(),
            &[(0, QueueType::Rx), (id, QueueType::Rx)],
        )
        .unwrap_err();
    assert_eq!(
        (err.errno(), err.extack_msg()),
        (Some(EBUSY), Some("rx queue is mapped to a virtual netdev"))
    );

    let dmabuf = c
        .bind_rx(e.guest, buf.fd(), &[(id, QueueType::Rx)])
        .unwrap();
    assert!(dmabuf >= 1);
    let g = c.queue_get(e.guest, id, QueueType::Rx).unwrap();
    assert_eq!(g.dmabuf, Some(dmabuf));
    let mut h = e.netdev(e.t.host_ns, true);
    let n = h.queue_get(e.nic, 2, QueueType::Rx).unwrap();
    assert_eq!(n.dmabuf, Some(dmabuf));
    assert_eq!(h.queue_get(e.nic, 1, QueueType::Rx).unwrap().dmabuf, None);

    // The provider's page pool, named by its binding.
    let pools = h.page_pool_dump().unwrap();
    let mine: Vec<_> = pools.iter().filter(|p| p.dmabuf == Some(dmabuf)).collect();
    assert_eq!(mine.len(), 1, "{pools:?}");
    assert_eq!(mine[0].ifindex, Some(e.nic));
    let one = h.page_pool_get(mine[0].id).unwrap();
    assert_eq!(one.dmabuf, Some(dmabuf));

    // ethtool channels-set below the bound queue: the kernel's errno and extack.
    let err = e
        .ethtool()
        .channels_set(
            e.nic,
            &ChannelsSet {
                combined: Some(2),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(err.errno(), Some(EINVAL));
    let msg = err.extack_msg().unwrap();
    assert!(
        msg.starts_with("requested channel counts are too low"),
        "{msg}"
    );
    assert_eq!(e.ethtool().channels_get(e.nic).unwrap().combined_count, 4);

    // Closing the container's socket releases the binding on both sides.
    drop(c);
    assert_eq!(h.queue_get(e.nic, 2, QueueType::Rx).unwrap().dmabuf, None);
}

#[test]
fn napi_dump_on_the_nic() {
    let e = env();
    let mut h = e.netdev(e.t.host_ns, false);
    let napis = h.napi_dump(Some(e.nic)).unwrap();
    assert!(!napis.is_empty());
    assert!(napis.iter().all(|n| n.ifindex == e.nic), "{napis:?}");
    // Each NIC RX queue names one of those NAPIs.
    for q in 0..4 {
        let qi = h.queue_get(e.nic, q, QueueType::Rx).unwrap();
        let napi = qi.napi_id.expect("NIC queues have a NAPI");
        assert!(napis.iter().any(|n| n.id == napi), "{napi} {napis:?}");
        assert_eq!(h.napi_get(napi).unwrap().ifindex, e.nic);
    }
}

#[test]
fn qstats_dump_counts_a_ping_through_the_topology() {
    let e = env();
    let mut h = e.netdev(e.t.host_ns, false);
    let total = |h: &mut NetdevClient<EmulatedTransport>, attr| {
        h.qstats_dump(Some(e.nic), None)
            .unwrap()
            .iter()
            .map(|s| s.get(attr).unwrap_or(0))
            .sum::<u64>()
    };
    let (rx0, tx0) = (
        total(&mut h, NETDEV_A_QSTATS_RX_PACKETS),
        total(&mut h, NETDEV_A_QSTATS_TX_PACKETS),
    );
    e.k.borrow_mut()
        .ping(
            e.t.cont_ns,
            IpAddr::V6(e.t.remote_v6),
            Duration::from_secs(5),
        )
        .unwrap();
    let (rx1, tx1) = (
        total(&mut h, NETDEV_A_QSTATS_RX_PACKETS),
        total(&mut h, NETDEV_A_QSTATS_TX_PACKETS),
    );
    // At least the echo request out and the reply in (plus neighbour discovery).
    assert!(rx1 > rx0, "rx {rx0} → {rx1}");
    assert!(tx1 > tx0, "tx {tx0} → {tx1}");
    // Per-queue scope: entries for NIC queues, summing to the device totals.
    let per_q = h
        .qstats_dump(Some(e.nic), Some(uapi::netdev::NETDEV_QSTATS_SCOPE_QUEUE))
        .unwrap();
    assert!(per_q.iter().all(|s| s.queue_id.is_some()), "{per_q:?}");
    let rxq: u64 = per_q
        .iter()
        .filter(|s| s.queue_type == Some(QueueType::Rx))
        .map(|s| s.get(NETDEV_A_QSTATS_RX_PACKETS).unwrap_or(0))
        .sum();
    assert_eq!(rxq, rx1);
}

#[test]
fn coalesce_get_and_set_on_the_bnxt_nic() {
    let e = env();
    let mut c = e.ethtool();
    let before = c.coalesce_get(e.nic).unwrap();
    // bnxt_ethtool_ops' supported parameters, reported even when 0; nothing else.
    assert_eq!(
        before,
        Coalesce {
            rx_usecs: Some(10),
            rx_max_frames: Some(15),
            rx_usecs_irq: Some(1),
            rx_max_frames_irq: Some(1),
            tx_usecs: Some(28),
            tx_max_frames: Some(30),
            tx_usecs_irq: Some(2),
            tx_max_frames_irq: Some(2),
            stats_block_usecs: Some(1_000_000),
            use_adaptive_rx: Some(false),
            use_cqe_mode_tx: Some(false),
            use_cqe_mode_rx: Some(false),
            ..Default::default()
        }
    );
    c.coalesce_set(
        e.nic,
        &CoalesceSet {
            rx_usecs: Some(0),
            rx_max_frames: Some(8),
            use_adaptive_rx: Some(true),
            ..Default::default()
        },
    )
    .unwrap();
    let after = c.coalesce_get(e.nic).unwrap();
    assert_eq!(
        (after.rx_usecs, after.rx_max_frames, after.use_adaptive_rx),
        (Some(0), Some(8), Some(true))
    );
    assert_eq!(after.tx_usecs, before.tx_usecs);
    let k = e.k.borrow().ethtool_coalesce_get(e.t.nic).unwrap();
    assert_eq!((k.rx_usecs, k.rx_max_frames), (0, 8));

    // Not in bnxt's supported_coalesce_params: EINVAL, the kernel's extack.
    let err = c
        .coalesce_set(
            e.nic,
            &CoalesceSet {
                tx_aggr_max_bytes: Some(4096),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        (err.errno(), err.extack_msg()),
        (Some(EINVAL), Some("cannot modify an unsupported parameter"))
    );
    // Unprivileged: EPERM, as for rings-set.
    let err = e
        .ethtool_as(e.t.host_ns, false)
        .coalesce_set(
            e.nic,
            &CoalesceSet {
                rx_usecs: Some(1),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!((err.errno(), err.extack_msg()), (Some(EPERM), None));
    // netkit has no coalescing ops.
    let err = e
        .ethtool_as(e.t.cont_ns, true)
        .coalesce_get(e.guest)
        .unwrap_err();
    assert_eq!(err.errno(), Some(EOPNOTSUPP));
    assert_eq!(c.coalesce_get(e.nic).unwrap(), after);
}
