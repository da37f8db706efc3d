//! Transmit and redirect paths (kernel-spec §2.2, §2.4, §5.4): netkit programs and their
//! attach rules, tc clsact hooks and the redirect helpers, and the redirect matrix of an
//! unreadable skb across netkit, veth, lo, the bound NIC and an unbound NIC.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::net::{IpAddr, Ipv6Addr};
use std::rc::Rc;

use simkernel::drivers::netkit::{NetkitAttach, NetkitConfig};
use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::dev::DeviceKind;
use simkernel::net::sched::{BPF_F_INGRESS, TcAction, TcCtx, TcDir, TcProgram};
use simkernel::topology::TopologyConfig;
use simkernel::{
    Caller, Cred, DevId, Duration, Frag, Kernel, KernelConfig, NetNsId, NlSockId, Skb, XmitDrop,
    XmitResult,
};
use uapi::errno::{EACCES, EEXIST, EINVAL, ENODEV, ENOENT, ENXIO, EOPNOTSUPP};
use wire::{EthernetAddress, IpProtocol, IpRepr, Ipv6Repr, TcpFlags, TcpRepr, TcpSeqNumber};

const PAGE: usize = simkernel::PAGE_SIZE;

/// A program that returns `act` and, for REDIRECT, asks for `how` to `ifindex`.
#[derive(Debug)]
struct Fixed {
    act: TcAction,
    how: u8,
    ifindex: Cell<u32>,
    runs: Cell<u32>,
}

impl Fixed {
    fn new(act: TcAction) -> Rc<Self> {
        Rc::new(Fixed {
            act,
            how: 0,
            ifindex: Cell::new(0),
            runs: Cell::new(0),
        })
    }
    /// 0 = bpf_redirect, 1 = BPF_F_INGRESS, 2 = redirect_peer, 3 = redirect_neigh.
    fn redirect(how: u8, ifindex: u32) -> Rc<Self> {
        Rc::new(Fixed {
            act: TcAction::Redirect,
            how,
            ifindex: Cell::new(ifindex),
            runs: Cell::new(0),
        })
    }
}

impl TcProgram for Fixed {
    fn name(&self) -> &str {
        "fixed"
    }
    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction {
        self.runs.set(self.runs.get() + 1);
        if self.act != TcAction::Redirect {
            return self.act;
        }
        let i = self.ifindex.get();
        match self.how {
            0 => ctx.redirect(i, 0),
            1 => ctx.redirect(i, BPF_F_INGRESS),
            2 => ctx.redirect_peer(i, 0),
            _ => ctx.redirect_neigh(i, 0),
        }
    }
}

fn ifx(k: &Kernel, d: DevId) -> u32 {
    k.device(d).ifindex
}

fn admin(k: &mut Kernel, ns: NetNsId) -> Caller {
    let cred = Cred {
        cap_net_admin: true,
    };
    Caller {
        pid: k.process_spawn(ns, cred),
        netns: ns,
        cred,
        sock: NlSockId(77),
    }
}

/// An Ethernet + IPv6 + TCP header for `dst_mac`, `len` payload bytes following in frags.
fn tcp_head(dst_mac: [u8; 6], payload_len: usize) -> Vec<u8> {
    let ip = IpRepr::Ipv6(Ipv6Repr {
        src_addr: "2001:db8:2::2:2".parse().unwrap(),
        dst_addr: "2001:db8:1::2".parse().unwrap(),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    });
    let tcp = TcpRepr {
        src_port: 40000,
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
    wire::frame::build_tcp_header_frame(
        EthernetAddress([2, 0, 0, 0, 0, 0x99]),
        EthernetAddress(dst_mac),
        &ip,
        &tcp,
        payload_len,
        wire::TcpChecksum::Zero,
    )
    .unwrap()
}

struct Matrix {
    k: Kernel,
    nic_a: DevId,
    nic_b: DevId,
    veth: DevId,
    lo: DevId,
    nk_host: DevId,
    nk_guest: DevId,
    binding: Rc<simkernel::DevmemBinding>,
    dmabuf: Rc<simkernel::dma::DmaBuf>,
}

fn matrix(validation: bool) -> Matrix {
    let mut k = Kernel::new(KernelConfig::default());
    k.set_tx_validation(validation);
    let init = k.init_net();
    let cont = k.netns_add("c").unwrap();
    let nic_a = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    let nic_b = k.nic_add(init, "eth1", NicProfile::mlx5e(), 2).unwrap();
    let (veth, vpeer) = k.veth_add(init, "veth0", cont, "veth1").unwrap();
    let mut cfg = NetkitConfig::pair("nk_host", "nk_guest");
    cfg.peer_netns = Some(cont);
    cfg.mode = uapi::rtnetlink::NetkitMode::L2;
    let (nk_host, nk_guest) = k.netkit_add(init, cfg).unwrap();
    let nk_guest = nk_guest.unwrap();
    let lo = k.netns_loopback(init).unwrap();
    for d in [nic_a, nic_b, veth, vpeer, nk_host, nk_guest] {
        k.link_set_up(d, true).unwrap();
    }
    let c = admin(&mut k, init);
    let dmabuf = k.dmabuf_create(4 * PAGE, 0).unwrap();
    let pattern: Vec<u8> = (0..4 * PAGE).map(|i| (i % 253) as u8).collect();
    dmabuf.memory().write_at(0, &pattern).unwrap();
    let fd = k.process_install_dmabuf(c.pid, dmabuf.clone()).unwrap();
    let id = k.bind_tx(&c, ifx(&k, nic_a), fd).unwrap();
    let binding = k.net_devmem_lookup_dmabuf(id).unwrap();
    // Settle DAD probes etc. so counters start from what the test sends.
    k.advance(k.clock() + Duration::from_secs(2));
    for d in [nic_a, nic_b] {
        if let DeviceKind::Nic(n) = &mut k.device_mut_for_tests(d).kind {
            n.tx_ring.clear();
        }
    }
    Matrix {
        k,
        nic_a,
        nic_b,
        veth,
        lo,
        nk_host,
        nk_guest,
        binding,
        dmabuf,
    }
}

impl Matrix {
    /// 74 header bytes + 100 payload bytes at dma-buf offset 10 (unreadable).
    fn skb(&self, dst_mac: [u8; 6]) -> Skb {
        let (niov, off, _) = self.binding.net_devmem_get_niov_at(10).unwrap();
        Skb {
            head: tcp_head(dst_mac, 100),
            frags: vec![Frag::NetIov {
                niov,
                off,
                len: 100,
            }],
            ..Skb::default()
        }
    }

    fn ring(&self, d: DevId) -> Vec<Vec<u8>> {
        self.k
            .device(d)
            .tx_ring()
            .unwrap()
            .iter()
            .cloned()
            .collect()
    }

    fn dropped(&self, d: DevId) -> u64 {
        self.k.device(d).stats.tx_dropped
    }
}

/// First hop: the skb is transmitted on each device directly (§2.2 for that device).
#[test]
fn first_hop_on_every_device() {
    let mut m = matrix(true);
    let mac_a = m.k.device(m.nic_a).mac;
    // Bound NIC: accepted, the DMA engine gathers the payload from the dma-buf.
    let r = m.k.dev_queue_xmit(m.nic_a, m.skb(mac_a));
    assert_eq!(r, XmitResult::Ok);
    let ring = m.ring(m.nic_a);
    assert_eq!(ring.len(), 1);
    assert_eq!(
        &ring[0][74..],
        &(10..110).map(|i| (i % 253) as u8).collect::<Vec<_>>()[..]
    );
    // Unbound NIC, veth, lo (NONE): dropped by validation on that device.
    for d in [m.nic_b, m.veth, m.lo] {
        let before = m.dropped(d);
        let r = m.k.dev_queue_xmit(d, m.skb(mac_a));
        assert_eq!(
            r,
            XmitResult::Dropped(XmitDrop::Unreadable),
            "{}",
            m.k.device(d).name
        );
        assert_eq!(m.dropped(d), before + 1);
    }
    assert!(m.ring(m.nic_b).is_empty());
    // netkit (NO_DMA): accepted, delivered to the primary.
    let host_mac = m.k.device(m.nk_host).mac;
    let rx = m.k.device(m.nk_host).stats.rx_packets;
    assert_eq!(
        m.k.dev_queue_xmit(m.nk_guest, m.skb(host_mac)),
        XmitResult::Ok
    );
    assert_eq!(m.k.device(m.nk_host).stats.rx_packets, rx + 1);
    assert_eq!(
        m.k.device(m.nic_a).iommu_faults() + m.k.device(m.nic_b).iommu_faults(),
        0
    );
}

/// Second hop: the skb crosses netkit, then nk_host's tc ingress redirects it (egress,
/// validated on the target) to each device.
#[test]
fn redirect_matrix_from_netkit() {
    // (target, accepted and transmitted?)
    let cases: Vec<(&str, bool)> = vec![
        ("eth0", true),
        ("eth1", false),
        ("veth0", false),
        ("lo", false),
        ("nk_host", true),
    ];
    for (name, ok) in cases {
        let mut m = matrix(true);
        let init = m.k.init_net();
        let target = m.k.dev_get_by_name(init, name).unwrap();
        m.k.tc_qdisc_add_clsact(m.nk_host).unwrap();
        let prog = Fixed::redirect(0, ifx(&m.k, target));
        m.k.tc_filter_add(m.nk_host, TcDir::Ingress, prog.clone(), None)
            .unwrap();
        let before = m.dropped(target);
        let guest_rx = m.k.device(m.nk_guest).stats.rx_packets;
        let host_mac = m.k.device(m.nk_host).mac;
        assert_eq!(
            m.k.dev_queue_xmit(m.nk_guest, m.skb(host_mac)),
            XmitResult::Ok
        );
        m.k.net_rx_action();
        assert_eq!(prog.runs.get(), 1, "{name}");
        if ok {
            assert_eq!(m.dropped(target), before, "{name}");
        } else {
            assert_eq!(
                m.dropped(target),
                before + 1,
                "{name}: tx_dropped on the target"
            );
        }
        match name {
            "eth0" => assert_eq!(m.ring(m.nic_a).len(), 1),
            // nk_host egress → its peer, the guest, receives it back.
            "nk_host" => assert_eq!(m.k.device(m.nk_guest).stats.rx_packets, guest_rx + 1),
            _ => {}
        }
        assert!(m.ring(m.nic_b).is_empty());
        assert_eq!(m.k.device(m.nic_b).iommu_faults(), 0);
    }
}

/// Validation off: the same redirect to the unbound NIC reaches its DMA engine, which
/// reads an IOVA its IOMMU never mapped: a fault, counted, and no byte leaves.
#[test]
fn validation_off_redirect_to_unbound_nic_faults() {
    let mut m = matrix(false);
    m.k.tc_qdisc_add_clsact(m.nk_host).unwrap();
    let prog = Fixed::redirect(0, ifx(&m.k, m.nic_b));
    m.k.tc_filter_add(m.nk_host, TcDir::Ingress, prog, None)
        .unwrap();
    let host_mac = m.k.device(m.nk_host).mac;
    m.k.dev_queue_xmit(m.nk_guest, m.skb(host_mac));
    m.k.net_rx_action();
    assert_eq!(m.k.device(m.nic_b).iommu_faults(), 1);
    assert_eq!(m.k.device(m.nic_b).stats.tx_errors, 1);
    assert!(m.ring(m.nic_b).is_empty());
    assert_eq!(m.dropped(m.nic_b), 0);
    // And the bound NIC still works without faults.
    let mac_a = m.k.device(m.nic_a).mac;
    assert_eq!(m.k.dev_queue_xmit(m.nic_a, m.skb(mac_a)), XmitResult::Ok);
    assert_eq!(m.k.device(m.nic_a).iommu_faults(), 0);
    let _ = &m.dmabuf;
}

#[test]
fn netkit_attach_rules() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let (p, peer) = k
        .netkit_add(init, NetkitConfig::pair("nk0", "nk1"))
        .unwrap();
    let peer = peer.unwrap();
    let (single, _) = k.netkit_add(init, NetkitConfig::single("nks")).unwrap();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    let prog = Fixed::new(TcAction::Ok);
    let at = |k: &mut Kernel, d: DevId, w| {
        let i = ifx(k, d);
        k.netkit_prog_attach(init, i, w, prog.clone())
            .map_err(|e| e.errno)
    };
    assert_eq!(at(&mut k, peer, NetkitAttach::Primary), Err(EACCES));
    assert_eq!(at(&mut k, single, NetkitAttach::Primary), Err(EOPNOTSUPP));
    assert_eq!(at(&mut k, nic, NetkitAttach::Primary), Err(ENXIO));
    assert_eq!(
        k.netkit_prog_attach(init, 999, NetkitAttach::Peer, prog.clone())
            .unwrap_err()
            .errno,
        ENODEV
    );
    // PRIMARY lands on the primary, PEER on its peer (both through the primary's ifindex).
    at(&mut k, p, NetkitAttach::Primary).unwrap();
    at(&mut k, p, NetkitAttach::Peer).unwrap();
    assert_eq!(k.device(p).netkit_progs.len(), 1);
    assert_eq!(k.device(peer).netkit_progs.len(), 1);
    k.netkit_prog_detach(init, ifx(&k, p), NetkitAttach::Peer, "fixed")
        .unwrap();
    assert_eq!(
        k.netkit_prog_detach(init, ifx(&k, p), NetkitAttach::Peer, "fixed")
            .unwrap_err()
            .errno,
        ENOENT
    );
}

#[test]
fn netkit_verdicts_and_policy() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("c").unwrap();
    let mut cfg = NetkitConfig::pair("nk0", "nk1");
    cfg.peer_netns = Some(ns);
    cfg.peer_policy = Some(uapi::rtnetlink::NetkitAction::Drop);
    let (p, peer) = k.netkit_add(init, cfg).unwrap();
    let peer = peer.unwrap();
    for d in [p, peer] {
        k.link_set_up(d, true).unwrap();
    }
    let frame = || {
        let mut s = Skb::linear(vec![0u8; 60]);
        s.mark = 7;
        s.priority = 3;
        s
    };
    // No program: the peer's policy (drop) decides.
    assert_eq!(
        k.dev_queue_xmit(peer, frame()),
        XmitResult::Dropped(XmitDrop::Policy)
    );
    assert_eq!(k.device(peer).stats.tx_dropped, 1);
    // A PEER program returning PASS overrides the policy; crossing namespaces scrubs.
    let pass = Fixed::new(TcAction::Ok);
    k.netkit_prog_attach(init, ifx(&k, p), NetkitAttach::Peer, pass.clone())
        .unwrap();
    assert_eq!(k.dev_queue_xmit(peer, frame()), XmitResult::Ok);
    let got = k.device_mut_for_tests(p).rx_backlog.pop_front().unwrap();
    assert_eq!((got.mark, got.priority), (0, 0));
    // NEXT (UNSPEC) from the last program also passes.
    let next = Fixed::new(TcAction::Unspec);
    k.netkit_prog_detach(init, ifx(&k, p), NetkitAttach::Peer, "fixed")
        .unwrap();
    k.netkit_prog_attach(init, ifx(&k, p), NetkitAttach::Peer, next)
        .unwrap();
    assert_eq!(k.dev_queue_xmit(peer, frame()), XmitResult::Ok);
    // DROP (SHOT) and unknown codes drop with tx_dropped.
    let mut drops = k.device(peer).stats.tx_dropped;
    for act in [TcAction::Shot, TcAction::Other(42)] {
        k.netkit_prog_detach(init, ifx(&k, p), NetkitAttach::Peer, "fixed")
            .unwrap();
        k.netkit_prog_attach(init, ifx(&k, p), NetkitAttach::Peer, Fixed::new(act))
            .unwrap();
        assert_eq!(
            k.dev_queue_xmit(peer, frame()),
            XmitResult::Dropped(XmitDrop::Policy)
        );
        drops += 1;
        assert_eq!(k.device(peer).stats.tx_dropped, drops);
    }
    // Same namespace: mark survives (no xnet scrub) on the primary's xmit.
    let (a, b) = k
        .netkit_add(init, NetkitConfig::pair("nk2", "nk3"))
        .unwrap();
    let b = b.unwrap();
    for d in [a, b] {
        k.link_set_up(d, true).unwrap();
    }
    assert_eq!(k.dev_queue_xmit(a, frame()), XmitResult::Ok);
    let got = k.device_mut_for_tests(b).rx_backlog.pop_front().unwrap();
    assert_eq!(got.mark, 7);
}

#[test]
fn clsact_and_filter_errors() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    let prog = Fixed::new(TcAction::Ok);
    assert_eq!(
        k.tc_filter_add(nic, TcDir::Ingress, prog.clone(), None)
            .unwrap_err()
            .errno,
        EINVAL
    );
    assert_eq!(k.tc_qdisc_del_clsact(nic).unwrap_err().errno, EINVAL);
    k.tc_qdisc_add_clsact(nic).unwrap();
    assert_eq!(k.tc_qdisc_add_clsact(nic).unwrap_err().errno, EEXIST);
    assert_eq!(
        k.tc_filter_add(nic, TcDir::Ingress, prog.clone(), None)
            .unwrap(),
        49152
    );
    assert_eq!(
        k.tc_filter_add(nic, TcDir::Ingress, prog.clone(), None)
            .unwrap(),
        49151
    );
    assert_eq!(
        k.tc_filter_add(nic, TcDir::Ingress, prog.clone(), Some(49151))
            .unwrap_err()
            .errno,
        EEXIST
    );
    assert_eq!(
        k.tc_filter_add(nic, TcDir::Egress, prog.clone(), Some(1))
            .unwrap(),
        1
    );
    assert_eq!(
        k.tc_filter_show(nic, TcDir::Ingress),
        vec![(49151, "fixed".to_string()), (49152, "fixed".to_string())]
    );
    assert_eq!(
        k.tc_filter_del(nic, TcDir::Egress, 2).unwrap_err().errno,
        ENOENT
    );
    k.tc_filter_del(nic, TcDir::Egress, 1).unwrap();
    k.tc_qdisc_del_clsact(nic).unwrap();
    assert!(k.tc_filter_show(nic, TcDir::Ingress).is_empty());
}

/// tc egress runs before validation: a SHOT there drops before anything is counted as
/// a validation drop, and the sender hears `NET_XMIT_DROP` (`sch_handle_egress()`);
/// redirect_peer outside ingress is refused.
#[test]
fn egress_hook_and_peer_only_from_ingress() {
    let mut m = matrix(true);
    m.k.tc_qdisc_add_clsact(m.veth).unwrap();
    let shot = Fixed::new(TcAction::Shot);
    m.k.tc_filter_add(m.veth, TcDir::Egress, shot.clone(), None)
        .unwrap();
    let mac = m.k.device(m.veth).mac;
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, m.skb(mac)),
        XmitResult::Dropped(XmitDrop::TcShot)
    );
    assert_eq!(shot.runs.get(), 1);
    assert_eq!(
        m.dropped(m.veth),
        0,
        "the egress hook, not validation, consumed it"
    );
    assert_eq!(m.k.softnet_stats().1, 1);
    // redirect_peer from egress (here: a netkit program) is dropped.
    let init = m.k.init_net();
    let peer = Fixed::redirect(2, ifx(&m.k, m.nk_host));
    m.k.netkit_prog_attach(init, ifx(&m.k, m.nk_host), NetkitAttach::Peer, peer)
        .unwrap();
    let host_mac = m.k.device(m.nk_host).mac;
    let redirect_drops = m.k.softnet_stats().2;
    m.k.dev_queue_xmit(m.nk_guest, m.skb(host_mac));
    assert_eq!(m.k.softnet_stats().2, redirect_drops + 1);
}

/// bpf_redirect(BPF_F_INGRESS) receives on the target without TX validation: an
/// unreadable skb reaches veth0's RX path even though veth could never transmit it.
#[test]
fn redirect_ingress_skips_tx_validation() {
    let mut m = matrix(true);
    m.k.tc_qdisc_add_clsact(m.nk_host).unwrap();
    m.k.tc_qdisc_add_clsact(m.veth).unwrap();
    let to_veth = Fixed::redirect(1, ifx(&m.k, m.veth));
    m.k.tc_filter_add(m.nk_host, TcDir::Ingress, to_veth, None)
        .unwrap();
    let seen = Fixed::new(TcAction::Shot);
    m.k.tc_filter_add(m.veth, TcDir::Ingress, seen.clone(), None)
        .unwrap();
    let host_mac = m.k.device(m.nk_host).mac;
    m.k.dev_queue_xmit(m.nk_guest, m.skb(host_mac));
    m.k.net_rx_action();
    assert_eq!(seen.runs.get(), 1);
    assert_eq!(m.dropped(m.veth), 0);
}

/// In the selftest topology with primary RX redirect: the guest's TCP frames are
/// redirected to the NIC by nk_primary_rx_redirect (not forwarded), while ICMPv6 (ND,
/// ping) stays on the netkit link.
#[test]
fn nd_stays_local_while_tcp_is_redirected() {
    let mut k = Kernel::new(KernelConfig::default());
    let cfg = TopologyConfig {
        primary_rx_redirect: true,
        rxqueues: 2,
        ..Default::default()
    };
    let t = k.topology_build(&cfg).unwrap();
    k.ping(t.cont_ns, IpAddr::V6(t.remote_v6), Duration::from_secs(5))
        .unwrap();
    let fwd = k.ip_stats(t.host_ns).forwarded;
    let remote_rx = k.device(t.remote_nic).stats.rx_packets;
    // A bare TCP segment from the guest to the remote.
    let route = k.ip6_route_output(t.cont_ns, t.remote_v6, None).unwrap();
    assert_eq!(route.dev, t.nk_guest);
    assert_eq!(route.nexthop, "fe80::1".parse::<Ipv6Addr>().unwrap());
    let mut head = tcp_head([0; 6], 0)[14 + 40..].to_vec();
    head.truncate(20);
    for _ in 0..3 {
        k.ip6_xmit(
            t.cont_ns,
            &route,
            route.saddr,
            t.remote_v6,
            IpProtocol::Tcp,
            Skb::linear(head.clone()),
        )
        .unwrap();
    }
    k.run_until(k.clock() + Duration::from_millis(10), |_| false);
    assert_eq!(
        k.ip_stats(t.host_ns).forwarded,
        fwd,
        "redirected, not forwarded"
    );
    assert!(k.device(t.remote_nic).stats.rx_packets >= remote_rx + 3);
    // The guest learned the host over ND (ICMPv6 passed the program).
    let n = k
        .neigh_lookup(t.nk_guest, IpAddr::V6("fe80::1".parse().unwrap()))
        .unwrap();
    assert_eq!(n.lladdr, Some(k.device(t.nk_host).mac));
    // The redirect used the NIC's neighbour entry for the remote.
    assert!(k.neigh_lookup(t.nic, IpAddr::V6(t.remote_v6)).is_some());
}

// ---------------------------------------------------------------------------------------
// Audit of the transmit and redirect paths against the kernel source (netkit.c, veth.c,
// dev.c, filter.c): each test below pins one behaviour the emulator got wrong.

/// Records the `mark` and `priority` each packet shows it, then returns `act`.
#[derive(Debug)]
struct Probe {
    act: TcAction,
    seen: std::cell::RefCell<Vec<(u32, u32)>>,
}

impl Probe {
    fn new(act: TcAction) -> Rc<Self> {
        Rc::new(Probe {
            act,
            seen: Default::default(),
        })
    }
    fn seen(&self) -> Vec<(u32, u32)> {
        self.seen.borrow().clone()
    }
}

impl TcProgram for Probe {
    fn name(&self) -> &str {
        "probe"
    }
    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction {
        self.seen.borrow_mut().push((ctx.mark, ctx.priority));
        self.act
    }
}

/// A readable skb: the `tcp_head()` frame for `dst_mac` with `mark` and `priority` set.
fn marked(dst_mac: [u8; 6], mark: u32, priority: u32) -> Skb {
    Skb {
        mark,
        priority,
        ..Skb::linear(tcp_head(dst_mac, 0))
    }
}

/// `netkit_prep_forward()`: `skb_scrub_packet(skb, false)` keeps `mark`; only a peer in
/// another namespace with `NETKIT_SCRUB_DEFAULT` has `mark` and `priority` zeroed
/// (`netkit_xnet()`). `NETKIT_SCRUB_NONE` keeps both across namespaces.
#[test]
fn netkit_scrub_mode_decides_mark_and_priority_across_netns() {
    use uapi::rtnetlink::{NetkitMode, NetkitScrub};
    let mut m = matrix(true);
    let init = m.k.init_net();
    let cont = m.k.device(m.nk_guest).netns;
    let cases = [
        ("nks", Some(cont), NetkitScrub::None, (7, 3)),
        ("nkd", Some(cont), NetkitScrub::Default, (0, 0)),
        ("nkl", None, NetkitScrub::Default, (7, 3)),
    ];
    for (name, peer_ns, scrub, expect) in cases {
        let mut cfg = NetkitConfig::pair(&format!("{name}0"), &format!("{name}1"));
        cfg.peer_netns = peer_ns;
        cfg.mode = NetkitMode::L2;
        cfg.scrub = Some(scrub);
        let (p, g) = m.k.netkit_add(init, cfg).unwrap();
        let g = g.unwrap();
        for d in [p, g] {
            m.k.link_set_up(d, true).unwrap();
        }
        let probe = Probe::new(TcAction::Ok);
        m.k.netkit_prog_attach(init, ifx(&m.k, p), NetkitAttach::Primary, probe.clone())
            .unwrap();
        let mac = m.k.device(g).mac;
        assert_eq!(m.k.dev_queue_xmit(p, marked(mac, 7, 3)), XmitResult::Ok);
        assert_eq!(probe.seen(), vec![expect], "{name}");
    }
}

/// The `(mark, priority)` a probe on `probe_on`'s ingress sees after nic_b's tc ingress
/// redirects a marked skb to `to` (`how` as in [`Fixed::redirect`]).
fn seen_after_ingress_redirect(
    m: &mut Matrix,
    how: u8,
    to: DevId,
    probe_on: DevId,
) -> Vec<(u32, u32)> {
    m.k.tc_qdisc_add_clsact(m.nic_b).unwrap();
    let to = ifx(&m.k, to);
    m.k.tc_filter_add(m.nic_b, TcDir::Ingress, Fixed::redirect(how, to), None)
        .unwrap();
    m.k.tc_qdisc_add_clsact(probe_on).unwrap();
    let probe = Probe::new(TcAction::Shot);
    m.k.tc_filter_add(probe_on, TcDir::Ingress, probe.clone(), None)
        .unwrap();
    let mac = m.k.device(m.nic_b).mac;
    m.k.netif_receive_skb(m.nic_b, marked(mac, 9, 4));
    m.k.net_rx_action();
    probe.seen()
}

/// `skb_do_redirect()` with `BPF_F_PEER`: `skb_scrub_packet(skb, false)`, so the skb
/// keeps its `mark` (and `priority`) into the peer's namespace.
#[test]
fn redirect_peer_keeps_mark() {
    let mut m = matrix(true);
    let (host, guest) = (m.nk_host, m.nk_guest);
    assert_eq!(
        seen_after_ingress_redirect(&mut m, 2, host, guest),
        vec![(9, 4)]
    );
}

/// `bpf_redirect(BPF_F_INGRESS)` → `__bpf_rx_skb()` → `____dev_forward_skb()`: the
/// skb is scrubbed (same namespace: `mark` kept) and its `priority` zeroed.
#[test]
fn redirect_ingress_zeroes_priority() {
    let mut m = matrix(true);
    let veth = m.veth;
    assert_eq!(
        seen_after_ingress_redirect(&mut m, 1, veth, veth),
        vec![(9, 0)]
    );
}

#[test]
fn xmit_recursion_limit_stops_redirect_loops() {
    let mut m = matrix(true);
    let init = m.k.init_net();
    let (a, b) =
        m.k.netkit_add(init, NetkitConfig::pair("nkr0", "nkr1"))
            .unwrap();
    for d in [a, b.unwrap()] {
        m.k.link_set_up(d, true).unwrap();
    }
    let to_self = Fixed::redirect(0, ifx(&m.k, a));
    m.k.netkit_prog_attach(init, ifx(&m.k, a), NetkitAttach::Primary, to_self.clone())
        .unwrap();
    let skb = Skb::linear(tcp_head([0; 6], 0));
    assert_eq!(m.k.dev_queue_xmit(a, skb), XmitResult::Ok);
    assert_eq!(to_self.runs.get(), 5);
    assert_eq!(m.k.device(a).stats.tx_packets, 5);
    assert_eq!(m.k.device(a).stats.tx_dropped, 0);

    m.k.tc_qdisc_add_clsact(m.veth).unwrap();
    let egress_self = Fixed::redirect(0, ifx(&m.k, m.veth));
    m.k.tc_filter_add(m.veth, TcDir::Egress, egress_self.clone(), None)
        .unwrap();
    let before = m.k.device(m.veth).stats;
    let skb = Skb::linear(tcp_head([0; 6], 0));
    assert_eq!(m.k.dev_queue_xmit(m.veth, skb), XmitResult::Ok);
    assert_eq!(egress_self.runs.get(), 10);
    assert_eq!(m.k.device(m.veth).stats, before);
    // The loop unwound: a plain transmit afterwards is not affected.
    m.k.tc_qdisc_del_clsact(m.veth).unwrap();
    let peer_mac = m.k.device(m.k.dev_get_peer(m.veth).unwrap()).mac;
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, Skb::linear(tcp_head(peer_mac, 0))),
        XmitResult::Ok
    );
}

/// `netkit_xmit()`: when `__netif_rx()` refuses the skb (the backlog is full) the
/// transmit is a drop (`drop_stats`: `tx_dropped++`, `NET_XMIT_DROP`), and neither this
/// device's tx nor the peer's rx counters move.
#[test]
fn netkit_full_backlog_is_a_tx_drop() {
    use simkernel::net::core::dev_rx::NETDEV_MAX_BACKLOG;
    let mut m = matrix(true);
    let init = m.k.init_net();
    let (a, b) =
        m.k.netkit_add(init, NetkitConfig::pair("nkb0", "nkb1"))
            .unwrap();
    let b = b.unwrap();
    for d in [a, b] {
        m.k.link_set_up(d, true).unwrap();
    }
    for _ in 0..NETDEV_MAX_BACKLOG {
        let skb = Skb::linear(tcp_head([0; 6], 0));
        assert_eq!(m.k.dev_queue_xmit(a, skb), XmitResult::Ok);
    }
    let skb = Skb::linear(tcp_head([0; 6], 0));
    assert_eq!(
        m.k.dev_queue_xmit(a, skb),
        XmitResult::Dropped(XmitDrop::Backlog)
    );
    let n = NETDEV_MAX_BACKLOG as u64;
    let (sa, sb) = (m.k.device(a).stats, m.k.device(b).stats);
    assert_eq!((sa.tx_packets, sa.tx_dropped), (n, 1));
    assert_eq!((sb.rx_packets, sb.rx_dropped), (n, 1));
}

/// `veth_xmit()` → `__dev_forward_skb()`: the skb is scrubbed for the peer's namespace
/// (`mark` zeroed) and its `priority` zeroed; a peer that is down, or an skb longer than
/// the peer's MTU plus Ethernet and VLAN headers, counts `rx_dropped` on the peer and
/// `tx_dropped` on the sender; a full backlog counts only `tx_dropped`.
#[test]
fn veth_xmit_scrubs_and_counts_like_dev_forward_skb() {
    use simkernel::net::core::dev_rx::NETDEV_MAX_BACKLOG;
    let mut m = matrix(true);
    let vpeer = m.k.dev_get_peer(m.veth).unwrap();
    let mac = m.k.device(vpeer).mac;
    m.k.tc_qdisc_add_clsact(vpeer).unwrap();
    let probe = Probe::new(TcAction::Shot);
    m.k.tc_filter_add(vpeer, TcDir::Ingress, probe.clone(), None)
        .unwrap();
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, marked(mac, 5, 3)),
        XmitResult::Ok
    );
    m.k.net_rx_action();
    assert_eq!(probe.seen(), vec![(0, 0)]);

    // One byte past mtu + ETH_HLEN + VLAN_HLEN.
    let mtu = m.k.device(vpeer).mtu as usize;
    let mut long = tcp_head(mac, 0);
    long.resize(mtu + 14 + 4 + 1, 0);
    let (tx0, rx0) = (m.dropped(m.veth), m.k.device(vpeer).stats.rx_dropped);
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, Skb::linear(long.clone())),
        XmitResult::Dropped(XmitDrop::NotForwardable)
    );
    long.pop();
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, Skb::linear(long)),
        XmitResult::Ok
    );
    m.k.net_rx_action();
    assert_eq!(m.dropped(m.veth), tx0 + 1);
    assert_eq!(m.k.device(vpeer).stats.rx_dropped, rx0 + 1);

    m.k.link_set_up(vpeer, false).unwrap();
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, marked(mac, 0, 0)),
        XmitResult::Dropped(XmitDrop::PeerDown)
    );
    assert_eq!(m.dropped(m.veth), tx0 + 2);
    assert_eq!(m.k.device(vpeer).stats.rx_dropped, rx0 + 2);
    m.k.link_set_up(vpeer, true).unwrap();

    let tx = m.k.device(m.veth).stats.tx_packets;
    for _ in 0..NETDEV_MAX_BACKLOG {
        assert_eq!(
            m.k.dev_queue_xmit(m.veth, marked(mac, 0, 0)),
            XmitResult::Ok
        );
    }
    assert_eq!(
        m.k.dev_queue_xmit(m.veth, marked(mac, 0, 0)),
        XmitResult::Dropped(XmitDrop::Backlog)
    );
    assert_eq!(
        m.k.device(m.veth).stats.tx_packets,
        tx + NETDEV_MAX_BACKLOG as u64
    );
    assert_eq!(m.dropped(m.veth), tx0 + 3);
}

/// `__bpf_redirect_neigh()` refuses a multicast destination MAC outright (freed, no
/// counter); `__bpf_redirect_neigh_v6()` counts `tx_dropped` on the target when the
/// route lookup fails and when `neigh_output()` reports an error.
#[test]
fn redirect_neigh_drops_and_counters() {
    let mut m = matrix(true);
    let init = m.k.init_net();
    m.k.tc_qdisc_add_clsact(m.nic_b).unwrap();
    let to_a = Fixed::redirect(3, ifx(&m.k, m.nic_a));
    m.k.tc_filter_add(m.nic_b, TcDir::Ingress, to_a.clone(), None)
        .unwrap();
    let mac_b = m.k.device(m.nic_b).mac;
    // No route to 2001:db8:1::2 yet.
    m.k.netif_receive_skb(m.nic_b, marked(mac_b, 0, 0));
    assert_eq!(m.dropped(m.nic_a), 1);
    assert!(m.ring(m.nic_a).is_empty());
    // With a route and a resolved neighbour the frame leaves eth0 ...
    let dst: Ipv6Addr = "2001:db8:1::2".parse().unwrap();
    m.k.ip6_route_add(
        init,
        "2001:db8:1::".parse().unwrap(),
        64,
        None,
        Some(m.nic_a),
        None,
    )
    .unwrap();
    m.k.neigh_add(m.nic_a, IpAddr::V6(dst), [2, 0, 0, 0, 0, 0x22]);
    m.k.netif_receive_skb(m.nic_b, marked(mac_b, 0, 0));
    assert_eq!(m.ring(m.nic_a).len(), 1);
    // ... unless it came with a multicast destination MAC.
    m.k.netif_receive_skb(m.nic_b, marked([0x33, 0x33, 0, 0, 0, 1], 0, 0));
    assert_eq!(m.ring(m.nic_a).len(), 1);
    assert_eq!(m.dropped(m.nic_a), 1);
    assert_eq!(to_a.runs.get(), 3);

    // neigh_output() failing on the target: veth (NETMEM_TX_NONE) refuses an
    // unreadable skb (validation: tx_dropped), and the redirect counts it again.
    let mut m = matrix(true);
    m.k.ip6_route_add(
        init,
        "2001:db8:1::".parse().unwrap(),
        64,
        None,
        Some(m.veth),
        None,
    )
    .unwrap();
    m.k.neigh_add(m.veth, IpAddr::V6(dst), [2, 0, 0, 0, 0, 0x22]);
    m.k.tc_qdisc_add_clsact(m.nic_b).unwrap();
    m.k.tc_filter_add(
        m.nic_b,
        TcDir::Ingress,
        Fixed::redirect(3, ifx(&m.k, m.veth)),
        None,
    )
    .unwrap();
    let skb = m.skb(mac_b);
    m.k.netif_receive_skb(m.nic_b, skb);
    assert_eq!(m.dropped(m.veth), 2);
}

/// `__netif_receive_skb_core()`: a frame whose EtherType no handler takes is counted in
/// `rx_dropped`, unless a tap (here an open capture, as tcpdump's `ptype_all` socket)
/// took it.
#[test]
fn unknown_ethertype_counts_rx_dropped_without_a_tap() {
    let mut m = matrix(true);
    let host_mac = m.k.device(m.nk_host).mac;
    let frame = |mac: [u8; 6]| {
        let mut f = mac.to_vec();
        f.extend_from_slice(&[2, 0, 0, 0, 0, 0x99, 0x88, 0xb5]);
        f.resize(60, 0);
        Skb::linear(f)
    };
    let rx_dropped = m.k.device(m.nk_host).stats.rx_dropped;
    assert_eq!(
        m.k.dev_queue_xmit(m.nk_guest, frame(host_mac)),
        XmitResult::Ok
    );
    m.k.net_rx_action();
    assert_eq!(m.k.device(m.nk_host).stats.rx_dropped, rx_dropped + 1);
    m.k.capture_start(m.nk_host, Box::new(std::io::sink()))
        .unwrap();
    assert_eq!(
        m.k.dev_queue_xmit(m.nk_guest, frame(host_mac)),
        XmitResult::Ok
    );
    m.k.net_rx_action();
    assert_eq!(m.k.device(m.nk_host).stats.rx_dropped, rx_dropped + 1);
}

/// `netkit_xmit()` → `eth_skb_pkt_type(skb, peer)`: the destination MAC is compared
/// with the peer's address even in L3 mode (IFF_NOARP), where that address is all
/// zeroes; a frame for any other unicast MAC is PACKET_OTHERHOST, which `ipv6_rcv()`
/// drops.
#[test]
fn l3_netkit_classifies_foreign_unicast_mac_as_otherhost() {
    let mut m = matrix(true);
    let init = m.k.init_net();
    let cont = m.k.device(m.nk_guest).netns;
    let mut cfg = NetkitConfig::pair("nk3p", "nk3g");
    cfg.peer_netns = Some(cont);
    let (p, g) = m.k.netkit_add(init, cfg).unwrap();
    for d in [p, g.unwrap()] {
        m.k.link_set_up(d, true).unwrap();
    }
    let errs = |m: &Matrix| m.k.ip_stats(cont).in_hdr_errors;
    let before = errs(&m);
    assert_eq!(m.k.dev_queue_xmit(p, marked([0; 6], 0, 0)), XmitResult::Ok);
    m.k.net_rx_action();
    assert_eq!(errs(&m), before, "the all-zero L3 address is this host");
    let foreign = [2, 0, 0, 0, 0, 0x77];
    assert_eq!(m.k.dev_queue_xmit(p, marked(foreign, 0, 0)), XmitResult::Ok);
    m.k.net_rx_action();
    assert_eq!(errs(&m), before + 1, "PACKET_OTHERHOST is dropped");
}

/// What a sender hears from `__dev_queue_xmit()` through `neigh_output()`: a tc egress
/// `TC_ACT_SHOT` is `NET_XMIT_DROP` (ENOBUFS) even on a NIC, because
/// `sch_handle_egress()` runs before the qdisc; a no-queue device that is down answers
/// `-ENETDOWN`.
#[test]
fn xmit_errors_seen_through_neigh_output() {
    let mut m = matrix(true);
    let dst = IpAddr::V6("2001:db8:1::2".parse().unwrap());
    let l3 = || Skb::linear(tcp_head([0; 6], 0)[14..].to_vec());
    m.k.neigh_add(m.nic_b, dst, [2, 0, 0, 0, 0, 0x22]);
    assert!(m.k.neigh_output(m.nic_b, dst, l3()).is_ok());
    m.k.tc_qdisc_add_clsact(m.nic_b).unwrap();
    m.k.tc_filter_add(m.nic_b, TcDir::Egress, Fixed::new(TcAction::Shot), None)
        .unwrap();
    assert_eq!(
        m.k.neigh_output(m.nic_b, dst, l3()).unwrap_err().errno,
        uapi::errno::ENOBUFS
    );
    m.k.link_set_up(m.veth, false).unwrap();
    m.k.neigh_add(m.veth, dst, [2, 0, 0, 0, 0, 0x22]);
    assert_eq!(
        m.k.neigh_output(m.veth, dst, l3()).unwrap_err().errno,
        uapi::errno::ENETDOWN
    );
}
