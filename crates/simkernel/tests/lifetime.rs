//! kernel-spec §4.6 and DESIGN invariants 1, 2, 6: binding lifetimes, the IOMMU and the
//! end-to-end TX path through netkit, plus the 1 GiB bind cost.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::devmem::SkDst;
use simkernel::{Frag, KernelModel, Skb, XmitDrop, XmitResult};

fn nic_ring(e: &Env, d: simkernel::DevId) -> Vec<Vec<u8>> {
    e.k.device(d)
        .tx_ring()
        .map(|r| r.iter().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn socket_close_unbinds_and_frees_everything() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let c = e.cont;
    let fd = dmabuf_fd(&mut e.k, &c, 4 * PAGE, PAGE);
    let id = e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd).unwrap();
    let iommu = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert_eq!((iommu.mapping_count(), e.k.live_bindings()), (4, 1));
    e.k.unbind_socket_bindings(c.sock);
    assert!(e.k.net_devmem_lookup_dmabuf(id).is_none());
    assert_eq!((iommu.mapping_count(), e.k.live_bindings()), (0, 0));
}

#[test]
fn in_flight_net_iov_keeps_binding_and_mapping_alive() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let c = e.cont;
    let buf = e.k.dmabuf_create(2 * PAGE, 0).unwrap();
    buf.memory().write_at(PAGE + 8, b"device memory!").unwrap();
    let fd = e.k.process_install_dmabuf(c.pid, buf).unwrap();
    let id = e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd).unwrap();
    let b = e.k.net_devmem_get_binding(id, SkDst::Dev(e.guest)).unwrap();
    let (niov, off, _) = b.net_devmem_get_niov_at(PAGE + 8).unwrap();
    drop(b);
    let skb = Skb {
        head: b"HDR:".to_vec(),
        frags: vec![Frag::NetIov { niov, off, len: 14 }],
        ..Skb::default()
    };
    e.k.unbind_socket_bindings(c.sock);
    let iommu = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert!(e.k.net_devmem_lookup_dmabuf(id).is_none());
    assert_eq!((iommu.mapping_count(), e.k.live_bindings()), (1, 1));
    // The retransmit can still go out: the NIC DMA-reads the bytes by IOVA.
    assert_eq!(e.k.dev_queue_xmit(e.nic, skb.clone()), XmitResult::Ok);
    assert_eq!(nic_ring(&e, e.nic), vec![b"HDR:device memory!".to_vec()]);
    drop(skb);
    assert_eq!((iommu.mapping_count(), e.k.live_bindings()), (0, 0));
}

#[test]
fn wrong_nic_faults_without_validation_and_drops_with_it() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    let other = e.k.nic_add(init, "eth1", NicProfile::fbnic(), 2).unwrap();
    e.k.link_set_up(other, true).unwrap();
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let mk = || Skb {
        head: vec![0; 54],
        frags: vec![Frag::NetIov {
            niov: b.net_devmem_get_niov_at(0).unwrap().0,
            off: 0,
            len: 100,
        }],
        ..Skb::default()
    };
    let mmu = e.k.device(other).dma_dev().unwrap().iommu().clone();
    // Validation on: dropped before the driver, counted, no DMA attempted.
    assert_eq!(
        e.k.dev_queue_xmit(other, mk()),
        XmitResult::Dropped(XmitDrop::Unreadable)
    );
    assert_eq!((e.k.device(other).stats.tx_dropped, mmu.faults()), (1, 0));
    // Debug switch off: the NIC DMAs an IOVA its IOMMU never mapped → fault, frame lost.
    e.k.set_tx_validation(false);
    let r = e.k.dev_queue_xmit(other, mk());
    assert!(
        matches!(r, XmitResult::Dropped(XmitDrop::IommuFault(_))),
        "{r:?}"
    );
    assert_eq!(mmu.faults(), 1);
    assert_eq!(e.k.device(other).stats.tx_errors, 1);
    assert!(nic_ring(&e, other).is_empty());
    // The right NIC is fine either way, and faults nothing.
    assert_eq!(e.k.dev_queue_xmit(e.nic, mk()), XmitResult::Ok);
    let own = e.k.device(e.nic).dma_dev().unwrap().iommu().clone();
    assert_eq!(own.faults(), 0);
}

#[test]
fn end_to_end_tx_through_netkit() {
    let mut e = env(KernelModel::Series);
    e.lease(3);
    let c = e.cont;
    let buf = e.k.dmabuf_create(PAGE, 0).unwrap();
    buf.memory().write_at(0, b"payload").unwrap();
    let fd = e.k.process_install_dmabuf(c.pid, buf).unwrap();
    let id = e.k.bind_tx(&c, ifindex(&e.k, e.guest), fd).unwrap();
    let b = e.k.net_devmem_get_binding(id, SkDst::Dev(e.guest)).unwrap();
    let skb = Skb {
        head: b"eth+ip6+tcp hdr:".to_vec(),
        frags: vec![Frag::NetIov {
            niov: b.net_devmem_get_niov_at(0).unwrap().0,
            off: 0,
            len: 7,
        }],
        ..Skb::default()
    };
    // Guest: NO_DMA accepts; netkit_xmit hands it to the host-side primary.
    assert_eq!(e.k.dev_queue_xmit(e.guest, skb), XmitResult::Ok);
    let on_host =
        e.k.device_mut_for_tests(e.host)
            .rx_backlog
            .pop_front()
            .unwrap();
    assert_eq!(e.k.device(e.host).stats.rx_packets, 1);
    // Host redirects to the NIC (bpf_redirect_neigh): validated again, binding->dev == NIC.
    assert_eq!(e.k.dev_queue_xmit(e.nic, on_host), XmitResult::Ok);
    assert_eq!(
        nic_ring(&e, e.nic),
        vec![b"eth+ip6+tcp hdr:payload".to_vec()]
    );
    assert_eq!(e.k.device(e.nic).stats.tx_bytes, 23);
    // Peer down: netkit drops.
    e.k.link_set_up(e.host, false).unwrap();
    let r = e.k.dev_queue_xmit(e.guest, Skb::linear(vec![1]));
    assert_eq!(r, XmitResult::Dropped(XmitDrop::PeerDown));
    assert_eq!(e.k.device(e.guest).stats.tx_dropped, 1);
}

#[test]
fn pre_series_netkit_drops_devmem_skbs() {
    let mut e = env(KernelModel::PreSeries);
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, PAGE, 0);
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let skb = Skb {
        head: vec![0; 10],
        frags: vec![Frag::NetIov {
            niov: b.net_devmem_get_niov_at(0).unwrap().0,
            off: 0,
            len: 10,
        }],
        ..Skb::default()
    };
    assert_eq!(
        e.k.dev_queue_xmit(e.guest, skb),
        XmitResult::Dropped(XmitDrop::Unreadable)
    );
    assert_eq!(e.k.device(e.guest).stats.tx_dropped, 1);
}

/// A 1 GiB bind is functional end to end (its cost is measured by `benches/devmem.rs`,
/// not asserted here: timing belongs in benchmarks).
#[test]
fn one_gib_bind_and_unbind() {
    let mut e = env(KernelModel::Series);
    let a = e.admin;
    let fd = dmabuf_fd(&mut e.k, &a, 1 << 30, 0);
    let nic = ifindex(&e.k, e.nic);
    let id = e.k.bind_tx(&a, nic, fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(b.num_niovs(), 262_144);
    let (last, _, _) = b.net_devmem_get_niov_at((1 << 30) - 1).unwrap();
    assert_eq!(last.index(), 262_143);
    assert!(b.net_devmem_get_niov_at(1 << 30).is_none());
    drop((b, last));
    e.k.unbind_socket_bindings(a.sock);
    assert_eq!(e.k.live_bindings(), 0);
}
