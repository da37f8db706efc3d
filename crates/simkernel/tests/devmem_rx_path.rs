//! Devmem RX through a leased queue (selftests-spec §2 RX path): remote → NIC → ntuple
//! rule to the leased queue → header split into the container's RX binding → nk_forward
//! (`bpf_redirect_peer`) → nk_guest, arriving as unreadable skbs (header-only captures).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::IpAddr;

use common::Shared;
use simkernel::net::core::dev::DeviceKind;
use simkernel::net::core::skbuff::IpSummed;
use simkernel::net::ethtool::{FlowType, NtupleAction, NtupleRule, RingsSet};
use simkernel::topology::TopologyConfig;
use simkernel::{Caller, Cred, Duration, Kernel, KernelConfig, NlSockId, QueueSel, Skb};
use uapi::ethtool::TcpDataSplit;
use wire::{IpProtocol, TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

const PAGE: usize = simkernel::PAGE_SIZE;

/// The selftest RX set-up at `mtu` on every device of the path: HDS on the NIC, the flow
/// to queue 3, which the container leases and binds for devmem RX; a capture on nk_guest.
struct RxPath {
    k: Kernel,
    t: simkernel::topology::Topology,
    pool: simkernel::net::core::page_pool::PagePoolId,
    cap: Shared,
}

fn rx_path(mtu: u32) -> RxPath {
    let mut k = Kernel::new(KernelConfig::default());
    let t = k
        .topology_build(&TopologyConfig {
            rxqueues: 2,
            primary_rx_redirect: true,
            ..Default::default()
        })
        .unwrap();
    for d in [t.nic, t.remote_nic, t.nk_host, t.nk_guest] {
        k.dev_set_mtu(d, mtu).unwrap();
    }
    let cred = Cred {
        cap_net_admin: true,
    };
    let cont = Caller {
        pid: k.process_spawn(t.cont_ns, cred),
        netns: t.cont_ns,
        cred,
        sock: NlSockId(31),
    };
    // The harness (host netns): HDS on, RSS off queue 3, the flow to queue 3.
    k.ethtool_rings_set(
        t.nic,
        RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            hds_thresh: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    k.ethtool_rss_equal(t.nic, 3).unwrap();
    k.ethtool_ntuple_add(
        t.nic,
        NtupleRule {
            flow_type: FlowType::Tcp6,
            src_ip: None,
            dst_ip: None,
            src_port: None,
            dst_port: Some(5201),
            action: NtupleAction::Queue(3),
        },
    )
    .unwrap();
    // The container: lease NIC queue 3, bind-rx on the netkit queue it got.
    let (g, n) = (k.device(t.nk_guest).ifindex, k.device(t.nic).ifindex);
    let q = k.queue_create(&cont, g, n, 3, Some(0)).unwrap();
    let dmabuf = k.dmabuf_create(64 * PAGE, 0).unwrap();
    let fd = k.process_install_dmabuf(cont.pid, dmabuf.clone()).unwrap();
    k.bind_rx(&cont, g, fd, &[QueueSel::rx(q)]).unwrap();
    let pool = k.device(t.nic).rx_queues[3].page_pool.unwrap();
    let cap = Shared::default();
    k.capture_start(t.nk_guest, Box::new(cap.clone())).unwrap();
    RxPath { k, t, pool, cap }
}

/// The remote transmits `len` bytes to the guest's port 5201 as one GSO skb of segments of
/// `mss`, the last with PSH; then 5 ms pass and the capture on nk_guest stops.
fn remote_sends(p: &mut RxPath, len: usize, mss: u16) {
    let (k, t) = (&mut p.k, &p.t);
    let route = k
        .ip6_route_output(t.remote_ns, t.nk_guest_ipv6, None)
        .unwrap();
    let payload: Vec<u8> = (0..len).map(|i| (i % 241) as u8).collect();
    let repr = TcpRepr {
        src_port: 33333,
        dst_port: 5201,
        seq_number: TcpSeqNumber(1),
        ack_number: Some(TcpSeqNumber(1)),
        flags: TcpFlags::PSH,
        window_len: 1000,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &[],
    };
    let mut head = vec![0u8; repr.header_len()];
    repr.emit_header(
        &mut TcpPacket::new_unchecked(&mut head[..]),
        &IpAddr::V6(route.saddr),
        &IpAddr::V6(t.nk_guest_ipv6),
        payload.len(),
        wire::TcpChecksum::Partial,
    )
    .unwrap();
    head.extend_from_slice(&payload);
    let skb = Skb {
        head,
        ip_summed: IpSummed::Partial,
        csum_offset: 16,
        gso_size: mss,
        ..Skb::default()
    };
    k.ip6_xmit(
        t.remote_ns,
        &route,
        route.saddr,
        t.nk_guest_ipv6,
        IpProtocol::Tcp,
        skb,
    )
    .unwrap();
    k.run_until(k.clock() + Duration::from_millis(5), |_| false);
    k.capture_stop(t.nk_guest).unwrap();
}

/// Payload sizes of the header-only (unreadable) TCP segments captured on nk_guest; panics
/// on a readable segment to port 5201.
fn captured_devmem_sizes(cap: &Shared) -> Vec<usize> {
    let bytes = cap.0.borrow().clone();
    let mut r = wire::PcapReader::new(&bytes[..]).unwrap();
    let mut sizes = Vec::new();
    while let Some(rec) = r.next_packet().unwrap() {
        let Ok(f) = wire::frame::parse_frame_with(&rec.data, &wire::ChecksumCaps::ignored()) else {
            // Header-only: IPv6 says more follows than was captured.
            assert_eq!(rec.data.len(), 74);
            sizes.push(rec.orig_len - 74);
            continue;
        };
        assert!(
            f.tcp().is_none_or(|t| t.dst_port != 5201),
            "readable devmem segment"
        );
    }
    sizes
}

#[test]
fn remote_to_container_arrives_as_devmem() {
    let mut p = rx_path(1500);
    // The remote sends 3000 bytes (one GSO skb, MSS 1400) to the guest.
    remote_sends(&mut p, 3000, 1400);
    let RxPath { k, t, pool, cap } = &p;
    let DeviceKind::Nic(nic) = &k.device(t.nic).kind else {
        unreachable!()
    };
    assert_eq!(nic.rx_stats.hds_split, 3);
    assert_eq!(nic.rx_stats.csum_bad, 0);
    assert_eq!(k.device(t.nic).rx_queues[3].stats.packets, 3);
    // On nk_guest the three segments are header-only: the payload is device memory.
    let sizes = captured_devmem_sizes(cap);
    // The three frames landed within one moderated interrupt, so GRO merged them into one
    // unreadable skb (its frags still the three frames' net_iovs), as tcpdump on a GRO
    // device shows one large segment.
    assert_eq!(sizes, vec![3000]);
    assert_eq!((nic.napi.gro.merged, nic.napi.gro.flushed), (2, 1));
    // Each segment took its payload's net_iovs from the leased queue's devmem pool; no
    // socket listens, so TCP drops them and every buffer is back in the pool.
    assert_eq!(k.page_pool(*pool).unwrap().inflight, 0);
    let b = k.device(t.nic).rx_queues[3]
        .mp
        .as_ref()
        .unwrap()
        .binding()
        .unwrap()
        .clone();
    // kernel-spec §2.2: an RX binding made on a netkit guest has binding->dev = the guest.
    assert_eq!(b.dev(), Some(t.nk_guest));
}

/// At MTU 9000 each frame's payload (8928 bytes here) takes three 4 KiB net_iovs, so a
/// 64 KiB merge needs more than MAX_SKB_FRAGS (17) frags: GRO chains the rest as the
/// kernel's `skb_gro_receive()` does on its `frag_list`, and the seven frames of one
/// interrupt still reach the guest as one unreadable skb of 21 frags.
#[test]
fn jumbo_frames_merge_past_max_skb_frags() {
    let mut p = rx_path(9000);
    // 40 + 20 + 7 * 8928 = 62556 bytes of IP packet: under GRO's 64 KiB.
    remote_sends(&mut p, 7 * 8928, 8928);
    let RxPath { k, t, pool, cap } = &p;
    let DeviceKind::Nic(nic) = &k.device(t.nic).kind else {
        unreachable!()
    };
    assert_eq!(nic.rx_stats.hds_split, 7);
    assert_eq!((nic.napi.gro.merged, nic.napi.gro.flushed), (6, 1));
    assert_eq!(captured_devmem_sizes(cap), vec![7 * 8928]);
    assert_eq!(k.page_pool(*pool).unwrap().inflight, 0);
}
