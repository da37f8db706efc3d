//! The NIC data path: TSO + checksum offload over bytes gathered through the IOMMU, RSS
//! and ntuple steering, header split into net_iovs of a devmem binding (payload read back
//! through the dma-buf's memory, i.e. the process's view), page-pool exhaustion.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv6Addr};
use std::rc::Rc;

use simkernel::drivers::nic::NicProfile;
use simkernel::drivers::nic_rx::{nic_select_queue, parse_flow, rss_hash};
use simkernel::net::core::dev::DeviceKind;
use simkernel::net::core::skbuff::{GsoType, IpSummed};
use simkernel::net::ethtool::{FlowType, NtupleAction, NtupleRule, RingsSet};
use simkernel::{Caller, Cred, DevId, Frag, Kernel, KernelConfig, NlSockId, QueueSel, Skb};
use uapi::ethtool::TcpDataSplit;
use wire::{EthernetAddress, IpProtocol, IpRepr, Ipv6Repr, TcpFlags, TcpRepr, TcpSeqNumber};

const PAGE: usize = simkernel::PAGE_SIZE;
const MAC_A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xa]);
const MAC_B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xb]);

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn ip6(src: &str, dst: &str) -> IpRepr {
    IpRepr::Ipv6(Ipv6Repr {
        src_addr: v6(src),
        dst_addr: v6(dst),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    })
}

fn tcp(sport: u16, dport: u16, flags: TcpFlags, payload: &[u8]) -> TcpRepr<'_> {
    TcpRepr {
        src_port: sport,
        dst_port: dport,
        seq_number: TcpSeqNumber(1000),
        ack_number: Some(TcpSeqNumber(1)),
        flags,
        window_len: 1000,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload,
    }
}

fn admin(k: &mut Kernel) -> Caller {
    let init = k.init_net();
    let cred = Cred {
        cap_net_admin: true,
    };
    Caller {
        pid: k.process_spawn(init, cred),
        netns: init,
        cred,
        sock: NlSockId(5),
    }
}

fn nic(k: &mut Kernel, name: &str) -> DevId {
    let init = k.init_net();
    let d = k.nic_add(init, name, NicProfile::bnxt(), 4).unwrap();
    k.link_set_up(d, true).unwrap();
    d
}

fn ring(k: &mut Kernel, d: DevId) -> Vec<Vec<u8>> {
    match &mut k.device_mut_for_tests(d).kind {
        DeviceKind::Nic(n) => n.tx_ring.drain(..).collect(),
        _ => unreachable!(),
    }
}

/// A GSO skb (CHECKSUM_PARTIAL, gso_size 1448) leaves as MSS frames whose checksums
/// verify, whose sequence numbers are contiguous, and whose payload is the original.
#[test]
fn tso_with_page_and_net_iov_frags() {
    let mut k = Kernel::new(KernelConfig::default());
    let a = nic(&mut k, "eth0");
    let c = admin(&mut k);
    let dmabuf = k.dmabuf_create(8 * PAGE, PAGE).unwrap();
    let pattern: Vec<u8> = (0..8 * PAGE).map(|i| (i * 31 % 251) as u8).collect();
    dmabuf.memory().write_at(0, &pattern).unwrap();
    let fd = k.process_install_dmabuf(c.pid, dmabuf).unwrap();
    let ifindex = k.device(a).ifindex;
    let id = k.bind_tx(&c, ifindex, fd).unwrap();
    let b = k.net_devmem_lookup_dmabuf(id).unwrap();
    ring(&mut k, a);

    let hdr_tcp = tcp(40000, 5201, TcpFlags::PSH | TcpFlags::FIN, &[]);
    // Payload: 3000 page bytes then 3 pages of net_iov (from offset 100), 15288 bytes.
    let page = simkernel::net::core::skbuff::Page::new_buf(
        (0..3000).map(|i| (i % 7) as u8).collect::<Vec<_>>(),
    );
    let mut frags = vec![Frag::Page {
        bytes: page.clone(),
        off: 0,
        len: 3000,
    }];
    let mut want: Vec<u8> = page.to_vec();
    let mut off = 100;
    for len in [PAGE - 100, PAGE, PAGE] {
        let (niov, o, _) = b.net_devmem_get_niov_at(off).unwrap();
        frags.push(Frag::NetIov { niov, off: o, len });
        want.extend_from_slice(&pattern[off..off + len]);
        off += len;
    }
    let total = want.len();
    let head = wire::frame::build_tcp_header_frame(
        MAC_A,
        MAC_B,
        &ip6("2001:db8::1", "2001:db8::2"),
        &hdr_tcp,
        total,
        wire::TcpChecksum::Partial,
    )
    .unwrap();
    let skb = Skb {
        head,
        frags,
        ip_summed: IpSummed::Partial,
        csum_start: 54,
        csum_offset: 16,
        gso_size: 1448,
        gso_type: GsoType::TcpV6,
        ..Skb::default()
    };
    assert_eq!(k.dev_queue_xmit(a, skb), simkernel::XmitResult::Ok);
    let frames = ring(&mut k, a);
    assert_eq!(frames.len(), total.div_ceil(1448));
    let mut got = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        let p = wire::frame::parse_frame(f).expect("checksums verify");
        let t = p.tcp().unwrap();
        assert_eq!(t.seq_number, TcpSeqNumber(1000 + (i * 1448) as u32));
        let last = i + 1 == frames.len();
        assert_eq!(t.flags.contains(TcpFlags::FIN), last);
        assert_eq!(t.flags.contains(TcpFlags::PSH), last);
        assert!(t.payload.len() <= 1448);
        got.extend_from_slice(t.payload);
    }
    assert_eq!(got, want);
    assert_eq!(k.device(a).iommu_faults(), 0);
}

#[test]
fn rss_and_ntuple_steering() {
    let mut k = Kernel::new(KernelConfig::default());
    let a = nic(&mut k, "eth0");
    let frame = |sport: u16, dport: u16| {
        wire::frame::build_tcp_frame(
            MAC_B,
            MAC_A,
            &ip6("2001:db8::2", "2001:db8::1"),
            &tcp(sport, dport, TcpFlags::PSH, b"x"),
        )
        .unwrap()
    };
    // Default table spreads over the 4 channels; the queue follows the Toeplitz hash.
    let mut seen = [0u32; 4];
    for sport in 10000..10400u16 {
        let f = frame(sport, 80);
        let q = nic_select_queue(&k, a, &f).unwrap();
        let h = rss_hash(&parse_flow(&f).unwrap());
        let table = &k.device(a).ethtool.rss_indir;
        assert_eq!(q, table[h as usize % table.len()]);
        assert_eq!(nic_select_queue(&k, a, &f), Some(q), "stable");
        seen[q as usize] += 1;
    }
    assert!(seen.iter().all(|&n| n > 50), "{seen:?}");
    // ethtool -X equal 2: only queues 0 and 1.
    k.ethtool_rss_equal(a, 2).unwrap();
    assert!((10000..10100u16).all(|s| nic_select_queue(&k, a, &frame(s, 80)).unwrap() < 2));
    // ntuple rules first: dst-port 5201 → queue 3; src-ip + dst-port 9 → discard.
    k.ethtool_ntuple_add(
        a,
        NtupleRule {
            flow_type: FlowType::Tcp6,
            src_ip: None,
            dst_ip: Some(IpAddr::V6(v6("2001:db8::1"))),
            src_port: None,
            dst_port: Some(5201),
            action: NtupleAction::Queue(3),
        },
    )
    .unwrap();
    k.ethtool_ntuple_add(
        a,
        NtupleRule {
            flow_type: FlowType::Tcp6,
            src_ip: Some(IpAddr::V6(v6("2001:db8::2"))),
            src_port: None,
            dst_ip: None,
            dst_port: Some(9),
            action: NtupleAction::Discard,
        },
    )
    .unwrap();
    assert!((10000..10050u16).all(|s| nic_select_queue(&k, a, &frame(s, 5201)) == Some(3)));
    assert_eq!(nic_select_queue(&k, a, &frame(1, 9)), None);
    // A tcp4 rule does not match IPv6.
    k.ethtool_ntuple_add(
        a,
        NtupleRule {
            flow_type: FlowType::Tcp4,
            src_ip: None,
            dst_ip: None,
            src_port: None,
            dst_port: Some(80),
            action: NtupleAction::Queue(3),
        },
    )
    .unwrap();
    assert!((10000..10050u16).all(|s| nic_select_queue(&k, a, &frame(s, 80)).unwrap() < 2));
    // Through the receive path: queue counters move on queue 3 only.
    let before = k.device(a).rx_queues[3].stats.packets;
    k.nic_receive(a, frame(4242, 5201));
    k.nic_napi_poll(a);
    assert_eq!(k.device(a).rx_queues[3].stats.packets, before + 1);
    k.nic_receive(a, frame(4242, 9));
    k.nic_napi_poll(a);
    let DeviceKind::Nic(n) = &k.device(a).kind else {
        unreachable!()
    };
    assert_eq!(n.rx_stats.ntuple_discard, 1);
}

struct Hds {
    k: Kernel,
    nic: DevId,
    dmabuf: Rc<simkernel::dma::DmaBuf>,
    pool: simkernel::net::core::page_pool::PagePoolId,
}

/// eth0 with HDS on, hds-thresh 0, an RX binding of `pages` pages on queue 2, and every
/// TCP flow to port 5201 steered there.
fn hds(pages: usize) -> Hds {
    let mut k = Kernel::new(KernelConfig::default());
    let a = nic(&mut k, "eth0");
    k.ethtool_rings_set(
        a,
        RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            hds_thresh: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    let c = admin(&mut k);
    let dmabuf = k.dmabuf_create(pages * PAGE, 0).unwrap();
    let fd = k.process_install_dmabuf(c.pid, dmabuf.clone()).unwrap();
    let ifindex = k.device(a).ifindex;
    k.bind_rx(&c, ifindex, fd, &[QueueSel::rx(2)]).unwrap();
    k.ethtool_ntuple_add(
        a,
        NtupleRule {
            flow_type: FlowType::Tcp6,
            src_ip: None,
            dst_ip: None,
            src_port: None,
            dst_port: Some(5201),
            action: NtupleAction::Queue(2),
        },
    )
    .unwrap();
    let pool = k.device(a).rx_queues[2].page_pool.unwrap();
    Hds {
        k,
        nic: a,
        dmabuf,
        pool,
    }
}

impl Hds {
    fn frame(&self, port: u16, payload: &[u8]) -> Vec<u8> {
        wire::frame::build_tcp_frame(
            MAC_B,
            EthernetAddress(self.k.device(self.nic).mac),
            &ip6("2001:db8::2", "2001:db8::1"),
            &tcp(1234, port, TcpFlags::PSH, payload),
        )
        .unwrap()
    }

    /// Deliver `frame` and take the skb the driver built off the backlog.
    fn receive(&mut self, frame: Vec<u8>) -> Option<Skb> {
        self.k.nic_receive(self.nic, frame);
        self.k.nic_napi_poll(self.nic);
        self.k.device_mut_for_tests(self.nic).rx_backlog.pop_front()
    }
}

/// Header split puts exactly the payload in net_iovs, read back through the dma-buf's
/// memory (what the process sees), for payload sizes across 1..8192.
#[test]
fn hds_split_payload_lands_in_the_dmabuf() {
    let mut h = hds(64);
    let mut sizes: Vec<usize> = vec![1, 2, 3, 7, 100, 1447, 1448, 4095, 4096, 4097, 8191, 8192];
    sizes.extend((1..=8192).step_by(331));
    for n in sizes {
        let payload: Vec<u8> = (0..n).map(|i| (i * 13 + n) as u8).collect();
        let skb = h.receive(h.frame(5201, &payload)).unwrap();
        assert_eq!(
            skb.head.len(),
            14 + 40 + 20,
            "headers only in the head (n={n})"
        );
        assert!(!skb.skb_frags_readable());
        assert_eq!(skb.ip_summed, IpSummed::Unnecessary);
        assert_eq!(skb.len(), 74 + n);
        let mut back = Vec::new();
        for f in &skb.frags {
            let Frag::NetIov { niov, off, len } = f else {
                panic!("readable frag")
            };
            let mut b = vec![0u8; *len];
            h.dmabuf
                .memory()
                .read_at(niov.virtual_offset() as usize + off, &mut b)
                .unwrap();
            back.extend_from_slice(&b);
        }
        assert_eq!(back, payload, "n={n}");
        h.k.kfree_skb(skb);
    }
    // Every net_iov went back to the pool.
    assert_eq!(h.k.page_pool(h.pool).unwrap().inflight, 0);
    // Other flows (RSS, queues without a provider) get whole readable frames.
    let skb = h.receive(h.frame(80, b"plain")).unwrap();
    assert!(skb.skb_frags_readable());
    assert!(skb.frags.is_empty());
    assert_eq!(&skb.head[74..], b"plain");
    // Header-only segments are not split.
    let skb = h.receive(h.frame(5201, b"")).unwrap();
    assert!(skb.frags.is_empty());
}

#[test]
fn hds_pool_exhaustion_drops_and_counts() {
    let mut h = hds(2);
    let full = vec![0x5au8; PAGE];
    let a = h.receive(h.frame(5201, &full)).unwrap();
    let b = h.receive(h.frame(5201, &full)).unwrap();
    assert!(h.receive(h.frame(5201, &full)).is_none());
    assert_eq!(h.k.device(h.nic).stats.rx_dropped, 1);
    let DeviceKind::Nic(n) = &h.k.device(h.nic).kind else {
        unreachable!()
    };
    assert_eq!(n.rx_stats.alloc_fail, 1);
    // A frame needing 2 niovs with 1 left: the one taken goes back.
    h.k.kfree_skb(a);
    assert!(h.receive(h.frame(5201, &vec![1u8; PAGE + 1])).is_none());
    assert_eq!(h.k.page_pool(h.pool).unwrap().inflight, 1);
    h.k.kfree_skb(b);
    assert_eq!(h.k.page_pool(h.pool).unwrap().inflight, 0);
    assert!(h.receive(h.frame(5201, &full)).is_some());
}

/// A corrupted frame fails the NIC's checksum check: CHECKSUM_NONE, counted.
#[test]
fn bad_checksum_is_not_marked_unnecessary() {
    let mut h = hds(8);
    let mut f = h.frame(80, b"hello world");
    let last = f.len() - 1;
    f[last] ^= 0xff;
    let skb = h.receive(f).unwrap();
    assert_eq!(skb.ip_summed, IpSummed::None);
    let DeviceKind::Nic(n) = &h.k.device(h.nic).kind else {
        unreachable!()
    };
    assert_eq!(n.rx_stats.csum_bad, 1);
}

/// A TCP/IPv6 frame to `nic` with `len` payload bytes at `seq`.
fn seg_frame(k: &Kernel, nic: DevId, seq: u32, flags: TcpFlags, len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i as u32 + seq) as u8).collect();
    let mut t = tcp(1234, 80, flags, &payload);
    t.seq_number = TcpSeqNumber(seq);
    wire::frame::build_tcp_frame(
        MAC_B,
        EthernetAddress(k.device(nic).mac),
        &ip6("2001:db8::2", "2001:db8::1"),
        &t,
    )
    .unwrap()
}

/// Frames received in one NAPI poll go through GRO: consecutive segments of a flow merge
/// into one skb (IP length rewritten, gso_size set, CHECKSUM_PARTIAL), a sequence gap or a
/// PSH ends a merge, a pure ACK of a held flow goes up after it, a frame whose payload
/// stayed linear (copybreak) is held like any other (its small `gso_size` then refuses the
/// larger next segment), and a frame whose checksum is bad goes up alone.
#[test]
fn gro_merges_consecutive_segments_of_one_poll() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    k.link_set_up(nic, true).unwrap();
    let ack = TcpFlags::ACK;
    let mut frames = vec![
        seg_frame(&k, nic, 1000, ack, 1000),
        seg_frame(&k, nic, 2000, ack, 1000),
        seg_frame(&k, nic, 3000, ack, 1000),
        // A gap: the held skb goes up, this one starts a new one ...
        seg_frame(&k, nic, 5000, ack, 1000),
        // ... which this PSH segment ends.
        seg_frame(&k, nic, 6000, ack | TcpFlags::PSH, 500),
        // Copybreak: linear payload, held with gso_size 100; the next one is larger, so
        // the held skb goes up and that one is held in turn.
        seg_frame(&k, nic, 6500, ack, 100),
        seg_frame(&k, nic, 6600, ack, 1000),
        // A pure ACK of the held flow: the held skb first.
        seg_frame(&k, nic, 7600, ack, 0),
    ];
    // A corrupted one: the NIC leaves it CHECKSUM_NONE, GRO passes it up alone.
    let mut bad = seg_frame(&k, nic, 7600, ack, 1000);
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    frames.push(bad);
    for f in frames {
        k.nic_receive(nic, f);
    }
    assert_eq!(
        k.device(nic).rx_backlog.len(),
        0,
        "the poll has not run yet"
    );
    k.nic_napi_poll(nic);
    let got: Vec<(u32, usize, u16, IpSummed, usize)> = k
        .device_mut_for_tests(nic)
        .rx_backlog
        .drain(..)
        .map(|s| {
            let seq = u32::from_be_bytes(s.head[58..62].try_into().unwrap());
            let plen = u16::from_be_bytes([s.head[18], s.head[19]]);
            assert_eq!(s.len(), 54 + usize::from(plen), "IP length covers the skb");
            (seq, s.len() - 74, s.gso_size, s.ip_summed, s.frags.len())
        })
        .collect();
    use IpSummed::{None as CsumNone, Partial, Unnecessary};
    assert_eq!(
        got,
        vec![
            (1000, 3000, 1000, Partial, 3),
            (5000, 1500, 1000, Partial, 2),
            (6500, 100, 0, Unnecessary, 0),
            (6600, 1000, 0, Unnecessary, 1),
            (7600, 0, 0, Unnecessary, 0),
            (7600, 1000, 0, CsumNone, 1),
        ]
    );
    let DeviceKind::Nic(n) = &k.device(nic).kind else {
        unreachable!()
    };
    assert_eq!(
        (n.napi.gro.merged, n.napi.gro.flushed, n.napi.polls),
        (3, 2, 1)
    );
}

/// Interrupt moderation: the poll comes `rx-usecs` after the first frame, or at once when
/// `rx-frames` frames wait.
#[test]
fn napi_poll_follows_interrupt_moderation() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let profile = NicProfile::bnxt();
    let (usecs, frames) = (
        profile.coalesce.rx_usecs,
        profile.coalesce.rx_max_frames as usize,
    );
    let nic = k.nic_add(init, "eth0", profile, 2).unwrap();
    k.link_set_up(nic, true).unwrap();
    k.advance(k.clock() + simkernel::Duration::from_secs(1));
    let t0 = k.clock();
    k.nic_receive(nic, seg_frame(&k, nic, 1000, TcpFlags::ACK, 1000));
    let pending = |k: &Kernel| match &k.device(nic).kind {
        DeviceKind::Nic(n) => n.napi.pending(),
        _ => unreachable!(),
    };
    k.advance(t0 + simkernel::Duration::from_micros(u64::from(usecs) - 1));
    assert_eq!(pending(&k), 1);
    k.advance(t0 + simkernel::Duration::from_micros(u64::from(usecs)));
    assert_eq!(pending(&k), 0);
    for i in 0..frames {
        k.nic_receive(nic, seg_frame(&k, nic, 3000 + i as u32, TcpFlags::ACK, 1));
    }
    k.advance(k.clock());
    assert_eq!(pending(&k), 0, "rx-frames reached: polled at once");
}

/// `ethtool -C` changes the moderation: rx-usecs 0 polls each frame at once; rx-frames 0
/// with rx-usecs 50 waits out the timer whatever the count (the default 15-frame trigger
/// is gone), then drains the ring in NAPI_POLL_WEIGHT bites; rx-frames 4 with a long timer
/// polls on the 4th frame.
#[test]
fn napi_poll_follows_the_coalesce_settings() {
    use simkernel::Duration;
    use simkernel::drivers::nic_rx::NAPI_POLL_WEIGHT;
    use simkernel::net::ethtool::CoalesceSet;

    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    k.link_set_up(nic, true).unwrap();
    k.advance(k.clock() + Duration::from_secs(1));
    let napi = |k: &Kernel| match &k.device(nic).kind {
        DeviceKind::Nic(n) => (n.napi.pending(), n.napi.polls),
        _ => unreachable!(),
    };
    let set = |k: &mut Kernel, usecs, frames| {
        let req = CoalesceSet {
            rx_usecs: Some(usecs),
            rx_max_frames: Some(frames),
            ..Default::default()
        };
        assert!(k.ethtool_coalesce_set(nic, &req).unwrap());
    };
    let mut seq = 1000;
    let mut rx = |k: &mut Kernel, n: usize| {
        for _ in 0..n {
            let f = seg_frame(k, nic, seq, TcpFlags::ACK, 100);
            k.nic_receive(nic, f);
            seq += 100;
        }
    };

    set(&mut k, 0, 30);
    let (_, polls0) = napi(&k);
    rx(&mut k, 1);
    k.advance(k.clock());
    assert_eq!(napi(&k), (0, polls0 + 1), "rx-usecs 0: polled at once");

    set(&mut k, 50, 0);
    let t0 = k.clock();
    rx(&mut k, 100);
    k.advance(t0 + Duration::from_micros(49));
    assert_eq!(
        napi(&k),
        (100, polls0 + 1),
        "no frame trigger, the timer runs"
    );
    k.advance(t0 + Duration::from_micros(50));
    let (pending, polls) = napi(&k);
    assert_eq!(pending, 0);
    assert_eq!(
        polls,
        polls0 + 1 + 100_usize.div_ceil(NAPI_POLL_WEIGHT) as u64
    );

    set(&mut k, 1000, 4);
    let t1 = k.clock();
    rx(&mut k, 3);
    k.advance(t1 + Duration::from_micros(999));
    assert_eq!(napi(&k), (3, polls));
    rx(&mut k, 1);
    k.advance(k.clock());
    assert_eq!(napi(&k), (0, polls + 1), "the 4th frame interrupts");
    assert_eq!(
        k.device(nic).stats.rx_packets,
        105,
        "every frame went through RX"
    );
}

/// A 100-byte TCP/IPv6 segment to `nic` port `dport` at `seq` (flow 1234 → `dport`).
fn port_frame(k: &Kernel, nic: DevId, dport: u16, seq: u32) -> Vec<u8> {
    let payload = [0x5au8; 100];
    let mut t = tcp(1234, dport, TcpFlags::ACK, &payload);
    t.seq_number = TcpSeqNumber(seq);
    wire::frame::build_tcp_frame(
        MAC_B,
        EthernetAddress(k.device(nic).mac),
        &ip6("2001:db8::2", "2001:db8::1"),
        &t,
    )
    .unwrap()
}

/// eth0 (bnxt, 4 queues) with `ethtool -G rx <rx>` and ntuple rules steering TCP to port
/// 5201 onto queue 1, port 5202 onto queue 3 and discarding port 9.
fn ring_nic(rx: u32) -> (Kernel, DevId) {
    let mut k = Kernel::new(KernelConfig::default());
    let a = nic(&mut k, "eth0");
    k.ethtool_rings_set(
        a,
        RingsSet {
            rx: Some(rx),
            ..Default::default()
        },
    )
    .unwrap();
    for (port, action) in [
        (5201, NtupleAction::Queue(1)),
        (5202, NtupleAction::Queue(3)),
        (9, NtupleAction::Discard),
    ] {
        k.ethtool_ntuple_add(
            a,
            NtupleRule {
                flow_type: FlowType::Tcp6,
                src_ip: None,
                dst_ip: None,
                src_port: None,
                dst_port: Some(port),
                action,
            },
        )
        .unwrap();
    }
    (k, a)
}

/// `(pending, missed)` of RX queue `q`.
fn rxq(k: &Kernel, nic: DevId, q: u32) -> (u32, u64) {
    match &k.device(nic).kind {
        DeviceKind::Nic(n) => (n.napi.queue_pending(q), n.napi.queue_missed(q)),
        _ => unreachable!(),
    }
}

/// A burst larger than the RX ring, arriving before any poll runs: the queue's 8
/// descriptors fill, exactly the excess is dropped and counted (`rx_missed_errors`, the
/// queue's missed count), the 8 are delivered; ntuple discards never take a descriptor;
/// once the poll took the frames the descriptors are free again.
#[test]
fn rx_ring_full_drops_the_excess() {
    let (mut k, a) = ring_nic(8);
    let t0 = k.clock();
    for i in 0..20 {
        let f = port_frame(&k, a, 5201, 1000 + 100 * i);
        k.nic_receive(a, f);
    }
    let f = port_frame(&k, a, 9, 1);
    k.nic_receive(a, f);
    assert_eq!(k.clock(), t0, "one instant: no poll ran");
    assert_eq!(rxq(&k, a, 1), (8, 12));
    assert_eq!(k.device(a).stats.rx_missed_errors, 12);
    let DeviceKind::Nic(n) = &k.device(a).kind else {
        unreachable!()
    };
    assert_eq!((n.napi.pending(), n.rx_stats.ntuple_discard), (8, 1));
    k.advance(k.clock() + simkernel::Duration::from_millis(1));
    assert_eq!(rxq(&k, a, 1), (0, 12));
    let d = k.device(a);
    assert_eq!((d.stats.rx_packets, d.rx_queues[1].stats.packets), (8, 8));
    assert_eq!((d.stats.rx_dropped, d.stats.rx_missed_errors), (0, 12));
    // The poll reposted every descriptor: the next 8 fit.
    for i in 0..8 {
        let f = port_frame(&k, a, 5201, 5000 + 100 * i);
        k.nic_receive(a, f);
    }
    assert_eq!(rxq(&k, a, 1), (8, 12));
    k.advance(k.clock() + simkernel::Duration::from_millis(1));
    assert_eq!(k.device(a).stats.rx_packets, 16);
    assert_eq!(k.device(a).stats.rx_missed_errors, 12);
}

/// The same burst with a ring larger than it: nothing dropped, every frame delivered.
#[test]
fn rx_ring_larger_than_the_burst_delivers_everything() {
    let (mut k, a) = ring_nic(32);
    for i in 0..20 {
        let f = port_frame(&k, a, 5201, 1000 + 100 * i);
        k.nic_receive(a, f);
    }
    assert_eq!(rxq(&k, a, 1), (20, 0));
    k.advance(k.clock() + simkernel::Duration::from_millis(1));
    let d = k.device(a);
    assert_eq!((d.stats.rx_packets, d.stats.rx_missed_errors), (20, 0));
    assert_eq!(d.rx_queues[1].stats.packets, 20);
}

/// The bound is per RX queue: 16 frames spread over queues 1 and 3 fit two rings of 8;
/// the 9th frame of queue 1 is dropped on queue 1 alone, and queue 3 still takes nothing
/// more than its own 8.
#[test]
fn rx_ring_bound_is_per_queue() {
    let (mut k, a) = ring_nic(8);
    for i in 0..8 {
        for port in [5201, 5202] {
            let f = port_frame(&k, a, port, 1000 + 100 * i);
            k.nic_receive(a, f);
        }
    }
    assert_eq!((rxq(&k, a, 1), rxq(&k, a, 3)), ((8, 0), (8, 0)));
    assert_eq!(k.device(a).stats.rx_missed_errors, 0);
    let f = port_frame(&k, a, 5201, 9000);
    k.nic_receive(a, f);
    assert_eq!((rxq(&k, a, 1), rxq(&k, a, 3)), ((8, 1), (8, 0)));
    let f = port_frame(&k, a, 5202, 9000);
    k.nic_receive(a, f);
    assert_eq!((rxq(&k, a, 1), rxq(&k, a, 3)), ((8, 1), (8, 1)));
    // RSS traffic to another queue is unaffected.
    let (f, q) = (80..)
        .map(|port| port_frame(&k, a, port, 1))
        .map(|f| {
            let q = nic_select_queue(&k, a, &f).unwrap();
            (f, q)
        })
        .find(|&(_, q)| q != 1 && q != 3)
        .unwrap();
    k.nic_receive(a, f);
    assert_eq!(rxq(&k, a, q), (1, 0));
    k.advance(k.clock() + simkernel::Duration::from_millis(1));
    let d = k.device(a);
    assert_eq!((d.stats.rx_packets, d.stats.rx_missed_errors), (17, 2));
    assert_eq!(
        (d.rx_queues[1].stats.packets, d.rx_queues[3].stats.packets),
        (8, 8)
    );
}
