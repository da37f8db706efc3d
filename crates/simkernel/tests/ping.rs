//! L2/L3 plumbing end to end: NDP, ARP, routes, forwarding and ICMP echo through
//! netkit, veth and a wire (hw/nk_netns.py `test_ping` and friends).
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::neighbour::NudState;
use simkernel::topology::TopologyConfig;
use simkernel::{Duration, Kernel, KernelConfig};

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

const T: Duration = Duration::from_secs(5);

#[test]
fn nk_netns_ping_both_ways() {
    let mut k = Kernel::new(KernelConfig::default());
    let t = k.topology_build(&TopologyConfig::default()).unwrap();
    // remote → guest: nk_forward redirects into the container (bpf_redirect_peer).
    let rtt = k.ping(t.remote_ns, IpAddr::V6(t.nk_guest_ipv6), T).unwrap();
    assert!(rtt > Duration::ZERO, "a wire has latency");
    // guest → remote: default route via fe80::1, the host forwards.
    k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), T).unwrap();
    assert!(k.ip_stats(t.host_ns).forwarded >= 2);
    // NDP resolved both link-local neighbours over netkit.
    let ll1 = IpAddr::V6(v6("fe80::1"));
    let n = k.neigh_lookup(t.nk_guest, ll1).unwrap();
    assert_eq!(n.state, NudState::Reachable);
    assert_eq!(n.lladdr, Some(k.device(t.nk_host).mac));
    // The NIC resolved the remote over the wire.
    let n = k.neigh_lookup(t.nic, IpAddr::V6(t.remote_v6)).unwrap();
    assert_eq!(n.lladdr, Some(k.device(t.remote_nic).mac));
    assert_eq!(k.device(t.nic).iommu_faults(), 0);
}

#[test]
fn forwarding_off_breaks_the_container_path() {
    let mut k = Kernel::new(KernelConfig::default());
    let t = k.topology_build(&TopologyConfig::default()).unwrap();
    k.sysctl_ipv6_forwarding(t.host_ns, false);
    let e = k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), T).unwrap_err();
    assert_eq!(e.errno, uapi::errno::ETIMEDOUT);
    assert_eq!(k.ip_stats(t.host_ns).forwarded, 0);
    k.sysctl_ipv6_forwarding(t.host_ns, true);
    k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), T).unwrap();
}

#[test]
fn primary_rx_redirect_keeps_icmpv6_local() {
    let mut k = Kernel::new(KernelConfig::default());
    let cfg = TopologyConfig {
        primary_rx_redirect: true,
        rxqueues: 2,
        ..Default::default()
    };
    let t = k.topology_build(&cfg).unwrap();
    // ICMPv6 from the guest is not redirected: ND and ping keep working (forwarded).
    k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), T).unwrap();
    k.ping(t.remote_ns, IpAddr::V6(t.nk_guest_ipv6), T).unwrap();
    assert!(k.ip_stats(t.host_ns).forwarded >= 2);
}

#[test]
fn no_route_and_unresolved_neighbour() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    k.link_set_up(nic, true).unwrap();
    k.ipv6_addr_add(nic, v6("2001:db8:1::1"), 64, true).unwrap();
    // No route at all.
    let e = k
        .ping(init, IpAddr::V6(v6("2001:db8:9::1")), T)
        .unwrap_err();
    assert_eq!(e.errno, uapi::errno::ENETUNREACH);
    // On-link but nobody answers (no wire): 3 solicitations, then EHOSTUNREACH.
    let start = k.clock();
    let e = k
        .ping(init, IpAddr::V6(v6("2001:db8:1::99")), T)
        .unwrap_err();
    assert_eq!(e.errno, uapi::errno::EHOSTUNREACH);
    assert_eq!(
        k.clock().saturating_duration_since(start),
        Duration::from_secs(3)
    );
    let n = k
        .neigh_lookup(nic, IpAddr::V6(v6("2001:db8:1::99")))
        .unwrap();
    assert_eq!(n.state, NudState::Failed);
    // The NIC put the DAD probe for its link-local, and 3 NS on its (unplugged) ring.
    let simkernel::net::core::dev::DeviceKind::Nic(n) = &k.device(nic).kind else {
        panic!("not a NIC")
    };
    let ring = &n.tx_ring;
    let ns_count = ring
        .iter()
        .filter(|f| {
            wire::frame::parse_frame(f)
                .ok()
                .and_then(|p| p.ndisc().copied())
                .is_some_and(|n| matches!(n, wire::NdiscRepr::NeighborSolicit { target_addr, .. } if target_addr == v6("2001:db8:1::99")))
        })
        .count();
    assert_eq!(ns_count, 3);
}

#[test]
fn ipv4_arp_ping_over_veth_and_lo() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("b").unwrap();
    let (a, b) = k.veth_add(init, "veth0", ns, "veth1").unwrap();
    for d in [a, b] {
        k.link_set_up(d, true).unwrap();
    }
    let lo_b = k.netns_loopback(ns).unwrap();
    k.link_set_up(lo_b, true).unwrap();
    k.ipv4_addr_add(a, Ipv4Addr::new(192, 0, 2, 1), 24).unwrap();
    k.ipv4_addr_add(b, Ipv4Addr::new(192, 0, 2, 2), 24).unwrap();
    k.ping(init, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), T)
        .unwrap();
    assert_eq!(
        k.neigh_lookup(a, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)))
            .unwrap()
            .lladdr,
        Some(k.device(b).mac)
    );
    // Own address: through lo.
    k.ping(ns, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)), T)
        .unwrap();
    assert!(k.device(lo_b).stats.rx_packets >= 2);
    // IPv6 over the same veth: EUI-64 link-local addresses after DAD.
    k.advance(k.clock() + Duration::from_secs(2));
    let ll_b = wire::ipv6::link_local_from_mac(&wire::EthernetAddress(k.device(b).mac));
    // Link-local without an interface: the first fe80::/64 entry (veth0) routes it.
    k.ping(init, IpAddr::V6(ll_b), T).unwrap();
}

#[test]
fn ipv4_forwarding_through_a_router_namespace() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let r = k.netns_add("router").unwrap();
    let b = k.netns_add("b").unwrap();
    let (a0, r0) = k.veth_add(init, "a0", r, "r0").unwrap();
    let (r1, b0) = k.veth_add(r, "r1", b, "b0").unwrap();
    for d in [a0, r0, r1, b0] {
        k.link_set_up(d, true).unwrap();
    }
    k.ipv4_addr_add(a0, Ipv4Addr::new(192, 0, 2, 1), 24)
        .unwrap();
    k.ipv4_addr_add(r0, Ipv4Addr::new(192, 0, 2, 254), 24)
        .unwrap();
    k.ipv4_addr_add(r1, Ipv4Addr::new(198, 18, 0, 254), 24)
        .unwrap();
    k.ipv4_addr_add(b0, Ipv4Addr::new(198, 18, 0, 1), 24)
        .unwrap();
    k.ip_route_add(
        init,
        Ipv4Addr::UNSPECIFIED,
        0,
        Some(Ipv4Addr::new(192, 0, 2, 254)),
        None,
        None,
    )
    .unwrap();
    k.ip_route_add(
        b,
        Ipv4Addr::UNSPECIFIED,
        0,
        Some(Ipv4Addr::new(198, 18, 0, 254)),
        None,
        None,
    )
    .unwrap();
    let far = IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1));
    // Forwarding off (the default): the router drops it.
    assert_eq!(
        k.ping(init, far, T).unwrap_err().errno,
        uapi::errno::ETIMEDOUT
    );
    k.sysctl_ipv4_forwarding(r, true);
    k.ping(init, far, T).unwrap();
    assert_eq!(k.ip_stats(r).forwarded, 2);
    // The router's own far-side address answers without forwarding.
    k.ping(init, IpAddr::V4(Ipv4Addr::new(198, 18, 0, 254)), T)
        .unwrap();
    assert_eq!(k.ip_stats(r).forwarded, 2);
}

#[test]
fn capture_dir_writes_one_pcap_per_device() {
    let mut k = Kernel::new(KernelConfig::default());
    let t = k.topology_build(&TopologyConfig::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("simkernel-capdir-{}", std::process::id()));
    let files = k.capture_dir(&dir).unwrap();
    assert_eq!(files.len(), k.devices().count());
    k.ping(t.remote_ns, IpAddr::V6(t.nk_guest_ipv6), T).unwrap();
    let stopped = k.capture_stop_all();
    assert!(stopped.iter().any(|&(d, n)| d == t.nk_guest && n >= 2));
    let guest = dir.join("nk-cont-nk_guest.pcap");
    let bytes = std::fs::read(&guest).unwrap();
    let mut r = wire::PcapReader::new(&bytes[..]).unwrap();
    let mut n = 0;
    while r.next_packet().unwrap().is_some() {
        n += 1;
    }
    assert!(n >= 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn dad_keeps_an_address_tentative_for_a_second() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("b").unwrap();
    let (a, b) = k.veth_add(init, "veth0", ns, "veth1").unwrap();
    for d in [a, b] {
        k.link_set_up(d, true).unwrap();
    }
    k.ipv6_addr_add(a, v6("2001:db8:5::1"), 64, true).unwrap();
    // Without nodad: tentative, so it neither answers NS nor serves as a source.
    k.ipv6_addr_add(b, v6("2001:db8:5::2"), 64, false).unwrap();
    assert!(k.ipv6_chk_addr(ns, &v6("2001:db8:5::2"), None).is_none());
    let e = k
        .ping(
            init,
            IpAddr::V6(v6("2001:db8:5::2")),
            Duration::from_millis(500),
        )
        .unwrap_err();
    assert_eq!(e.errno, uapi::errno::ETIMEDOUT);
    // One RetransTimer later DAD is done (nobody objected).
    k.advance(k.clock() + Duration::from_secs(1));
    assert_eq!(k.ipv6_chk_addr(ns, &v6("2001:db8:5::2"), None), Some(b));
    k.ping(init, IpAddr::V6(v6("2001:db8:5::2")), T).unwrap();
}

#[test]
fn forwarding_drops_at_hop_limit_one() {
    let mut k = Kernel::new(KernelConfig::default());
    let t = k.topology_build(&TopologyConfig::default()).unwrap();
    k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), T).unwrap();
    let before = k.ip_stats(t.host_ns);
    // An echo request from the guest whose hop limit is already 1.
    let body = {
        let m = wire::Icmpv6Repr::EchoRequest {
            ident: 9,
            seq_no: 1,
            data: b"x",
        };
        let mut b = vec![0u8; m.buffer_len()];
        m.emit(
            &t.nk_guest_ipv6,
            &t.remote_v6,
            &mut wire::Icmpv6Packet::new_unchecked(&mut b[..]),
            &wire::ChecksumCaps::default(),
        );
        b
    };
    let mut frame = Vec::new();
    frame.extend_from_slice(&k.device(t.nk_host).mac);
    frame.extend_from_slice(&k.device(t.nk_guest).mac);
    frame.extend_from_slice(&[0x86, 0xdd]);
    let mut ip = [0u8; 40];
    let mut p = wire::Ipv6Packet::new_unchecked(&mut ip[..]);
    p.set_version(6);
    p.set_payload_len(body.len() as u16);
    p.set_next_header(wire::IpProtocol::Icmpv6);
    p.set_hop_limit(1);
    p.set_src_addr(t.nk_guest_ipv6);
    p.set_dst_addr(t.remote_v6);
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&body);
    k.dev_queue_xmit(t.nk_guest, simkernel::Skb::linear(frame));
    k.run_until(k.clock() + Duration::from_millis(10), |_| false);
    let after = k.ip_stats(t.host_ns);
    assert_eq!(
        after.forward_hoplimit_exceeded,
        before.forward_hoplimit_exceeded + 1
    );
    assert_eq!(after.forwarded, before.forwarded);
    assert_eq!(
        k.ip_stats(t.remote_ns).icmp_in_echos,
        1,
        "only the first ping's"
    );
}

#[test]
fn moving_a_device_flushes_its_addresses_and_neighbours() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("b").unwrap();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    k.link_set_up(nic, true).unwrap();
    k.ipv6_addr_add(nic, v6("2001:db8:7::1"), 64, true).unwrap();
    k.ipv4_addr_add(nic, Ipv4Addr::new(192, 0, 2, 1), 24)
        .unwrap();
    k.neigh_add(nic, IpAddr::V6(v6("2001:db8:7::2")), [2, 0, 0, 0, 0, 2]);
    k.link_set_netns(nic, ns).unwrap();
    let d = k.device(nic);
    assert!(d.ip4.addrs.is_empty());
    assert!(d.neigh.entries.is_empty());
    // Only the regenerated EUI-64 link-local is left.
    assert_eq!(d.ip6.addrs.len(), 1);
    assert!(wire::ipv6::is_link_local(&d.ip6.addrs[0].addr));
    assert!(k.ipv6_chk_addr(init, &v6("2001:db8:7::1"), None).is_none());
    assert_eq!(
        k.ip6_route_output(init, v6("2001:db8:7::2"), None)
            .unwrap_err()
            .errno,
        uapi::errno::ENETUNREACH
    );
}
