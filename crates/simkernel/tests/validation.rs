//! kernel-spec §2.2: `validate_xmit_unreadable_skb()`, every row, both kernel models.
#![allow(clippy::unwrap_used)]

mod common;

use std::rc::Rc;

use common::*;
use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::dev::{Verdict, validate_xmit_unreadable_skb};
use simkernel::net::core::netmem::{IoUringArea, NetIov};
use simkernel::{Frag, KernelModel, Skb};

fn skb_with(niov: NetIov) -> Skb {
    Skb {
        head: vec![0xab; 64],
        frags: vec![Frag::NetIov {
            niov,
            off: 0,
            len: 100,
        }],
        ..Skb::default()
    }
}

#[test]
fn decision_table_series() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    let nic_b = e.k.nic_add(init, "eth1", NicProfile::mlx5e(), 2).unwrap();
    let (veth, _) = e.k.veth_add(init, "veth0", init, "veth1").unwrap();
    let lo = e.k.dev_by_ifindex(init, 1).unwrap();
    let fd = dmabuf_fd(&mut e.k, &e.admin, 4 * PAGE, 0);
    let a = e.admin;
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let devmem = skb_with(b.net_devmem_get_niov_at(0).unwrap().0);
    let readable = Skb::linear(vec![1; 60]);
    let v = |d| validate_xmit_unreadable_skb(&devmem, e.k.device(d));

    // Row 1: readable → accept, even on a NONE device.
    assert_eq!(
        validate_xmit_unreadable_skb(&readable, e.k.device(veth)),
        Verdict::Accept
    );
    // Row 1': NO_DMA (netkit, both ends) accepts any unreadable skb.
    assert_eq!(v(e.guest), Verdict::Accept);
    assert_eq!(v(e.host), Verdict::Accept);
    // Row 2: NONE → drop (veth, lo).
    assert_eq!(v(veth), Verdict::Drop);
    assert_eq!(v(lo), Verdict::Drop);
    // Row 3: DMA, no frags: our skbs are unreadable only through a frag, so a frag-less
    // skb is readable and row 1 accepts it first; the outcome (accept) is the same.
    assert_eq!(
        validate_xmit_unreadable_skb(&readable, e.k.device(e.nic)),
        Verdict::Accept
    );
    // Row 4: devmem bound to another device → drop.
    assert_eq!(v(nic_b), Verdict::Drop);
    // Row 5: devmem bound to this device → accept.
    assert_eq!(v(e.nic), Verdict::Accept);
    // Row 6: a non-devmem niov (io_uring zcrx) → accept on a DMA device.
    let area = Rc::new(IoUringArea {
        id: 1,
        base_dma: 0x1000_0000,
        num_niovs: 4,
    });
    let iou = skb_with(NetIov::io_uring(area, 2));
    assert_eq!(
        validate_xmit_unreadable_skb(&iou, e.k.device(nic_b)),
        Verdict::Accept
    );
    // ... but still dropped on a NONE device (row 2 comes first).
    assert_eq!(
        validate_xmit_unreadable_skb(&iou, e.k.device(veth)),
        Verdict::Drop
    );
}

#[test]
fn rx_binding_with_cleared_dev_drops_on_dma_devices() {
    let mut e = env(KernelModel::Series);
    enable_hds(&mut e.k, e.nic);
    let fd = dmabuf_fd(&mut e.k, &e.admin, 8 * PAGE, 0);
    let a = e.admin;
    let id =
        e.k.bind_rx(&a, ifindex(&e.k, e.nic), fd, &[simkernel::QueueSel::rx(3)])
            .unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let skb = skb_with(b.net_devmem_alloc_dmabuf().unwrap());
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(e.nic)),
        Verdict::Accept
    );
    // NIC unplugged: mp_dmabuf_devmem_uninstall() clears binding->dev; NULL never matches.
    let init = e.k.init_net();
    let other = e.k.nic_add(init, "eth9", NicProfile::bnxt(), 2).unwrap();
    e.k.nic_remove(e.nic).unwrap();
    assert_eq!(b.dev(), None);
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(other)),
        Verdict::Drop
    );
}

#[test]
fn decision_table_pre_series() {
    let mut e = env(KernelModel::PreSeries);
    let init = e.k.init_net();
    let nic_b = e.k.nic_add(init, "eth1", NicProfile::fbnic(), 2).unwrap();
    let fd = dmabuf_fd(&mut e.k, &e.admin, 2 * PAGE, 0);
    let a = e.admin;
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let skb = skb_with(b.net_devmem_get_niov_at(PAGE + 5).unwrap().0);
    // No NO_DMA before the series: netkit is NONE and drops unreadable skbs.
    assert_eq!(e.k.device(e.guest).netmem_tx, simkernel::NetmemTx::None);
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(e.guest)),
        Verdict::Drop
    );
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(e.host)),
        Verdict::Drop
    );
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(e.nic)),
        Verdict::Accept
    );
    assert_eq!(
        validate_xmit_unreadable_skb(&skb, e.k.device(nic_b)),
        Verdict::Drop
    );
    let readable = Skb::linear(vec![0; 10]);
    assert_eq!(
        validate_xmit_unreadable_skb(&readable, e.k.device(e.guest)),
        Verdict::Accept
    );
}

#[test]
fn drops_are_counted_in_tx_dropped_of_the_validating_device() {
    let mut e = env(KernelModel::Series);
    let init = e.k.init_net();
    let (veth, peer) = e.k.veth_add(init, "veth0", init, "veth1").unwrap();
    e.k.link_set_up(veth, true).unwrap();
    e.k.link_set_up(peer, true).unwrap();
    let fd = dmabuf_fd(&mut e.k, &e.admin, PAGE, 0);
    let a = e.admin;
    let id = e.k.bind_tx(&a, ifindex(&e.k, e.nic), fd).unwrap();
    let b = e.k.net_devmem_lookup_dmabuf(id).unwrap();
    let skb = skb_with(b.net_devmem_get_niov_at(0).unwrap().0);
    let r = e.k.dev_queue_xmit(veth, skb);
    assert_eq!(
        r,
        simkernel::XmitResult::Dropped(simkernel::XmitDrop::Unreadable)
    );
    assert_eq!(e.k.device(veth).stats.tx_dropped, 1);
    assert_eq!(e.k.device(veth).stats.tx_packets, 0);
    assert_eq!(e.k.device(peer).rx_backlog.len(), 0);
}
