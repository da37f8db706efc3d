//! GRO on the emulated NIC against the kernel's merge rules, one rule per test: frames are
//! built byte by byte (checksums refreshed after each edit), received in one NAPI poll, and
//! the skbs GRO passes up are read back from the device's backlog.
//!
//! Kernel: `dev_gro_receive()` / `skb_gro_receive()` (net/core/gro.c), `inet_gro_receive()`
//! (net/ipv4/af_inet.c), `inet_gro_flush()` (include/net/gro.h), `tcp_gro_receive()`
//! (net/ipv4/tcp_offload.c).
#![allow(clippy::unwrap_used)]

mod common;

use std::net::Ipv4Addr;

use common::Shared;
use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::dev::DeviceKind;
use simkernel::{DevId, Kernel, KernelConfig};
use wire::checksum::{Accumulator, pseudo_header_of};
use wire::{
    EthernetAddress, IpProtocol, IpRepr, Ipv4Repr, Ipv6Repr, TcpFlags, TcpRepr, TcpSeqNumber,
};

const MAC_B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0xb]);
/// Offset of the IP header.
const L3: usize = 14;

fn nic() -> (Kernel, DevId) {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 1).unwrap();
    k.link_set_up(nic, true).unwrap();
    (k, nic)
}

fn ip6() -> IpRepr {
    IpRepr::Ipv6(Ipv6Repr {
        src_addr: "2001:db8::2".parse().unwrap(),
        dst_addr: "2001:db8::1".parse().unwrap(),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    })
}

fn ip4() -> IpRepr {
    IpRepr::Ipv4(Ipv4Repr {
        src_addr: Ipv4Addr::new(192, 0, 2, 2),
        dst_addr: Ipv4Addr::new(192, 0, 2, 1),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit: 64,
        ident: 0,
        dont_frag: true,
        dscp_ecn: 0,
    })
}

/// A TCP frame of flow `sport` -> 80 over `ip` to `nic`, `len` payload bytes at `seq`.
fn frame(k: &Kernel, nic: DevId, ip: &IpRepr, sport: u16, seq: u32, len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..len).map(|i| (i as u32 + seq) as u8).collect();
    let t = TcpRepr {
        src_port: sport,
        dst_port: 80,
        seq_number: TcpSeqNumber(seq),
        ack_number: Some(TcpSeqNumber(1)),
        flags: TcpFlags::ACK,
        window_len: 1000,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: &payload,
    };
    wire::frame::build_tcp_frame(MAC_B, EthernetAddress(k.device(nic).mac), ip, &t).unwrap()
}

/// Where the TCP header of `f` starts.
fn l4(f: &[u8]) -> usize {
    if f[12..14] == [0x86, 0xdd] {
        L3 + 40
    } else {
        L3 + usize::from(f[L3] & 0xf) * 4
    }
}

/// Recompute the IPv4 header checksum and the TCP checksum of `f` after an edit.
fn refresh(f: &mut [u8]) {
    let v6 = f[12..14] == [0x86, 0xdd];
    if !v6 {
        let ihl = usize::from(f[L3] & 0xf) * 4;
        f[L3 + 10..L3 + 12].fill(0);
        let mut acc = Accumulator::new();
        acc.add(&f[L3..L3 + ihl]);
        let c = acc.checksum();
        f[L3 + 10..L3 + 12].copy_from_slice(&c.to_be_bytes());
    }
    let l4 = l4(f);
    f[l4 + 16..l4 + 18].fill(0);
    let ph = pseudo_header_of(&f[L3..], v6, IpProtocol::Tcp, (f.len() - l4) as u32).unwrap();
    let mut acc = Accumulator::new();
    acc.add_sum(ph);
    acc.add(&f[l4..]);
    let c = acc.checksum();
    f[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
}

/// Receive `frames` in one NAPI poll; the skbs GRO passes up, in order.
fn poll_skbs(k: &mut Kernel, nic: DevId, frames: Vec<Vec<u8>>) -> Vec<simkernel::Skb> {
    for f in frames {
        k.nic_receive(nic, f);
    }
    k.nic_napi_poll(nic);
    k.device_mut_for_tests(nic).rx_backlog.drain(..).collect()
}

/// An skb's TCP sequence number and TCP header length.
fn seq_thlen(s: &simkernel::Skb) -> (u32, usize) {
    let l4 = l4(&s.head);
    let thlen = usize::from(s.head[l4 + 12] >> 4) * 4;
    (
        u32::from_be_bytes(s.head[l4 + 4..l4 + 8].try_into().unwrap()),
        l4 + thlen,
    )
}

/// Receive `frames` in one NAPI poll; per skb passed up: (TCP sequence number, TCP payload
/// bytes, gso_size).
fn poll(k: &mut Kernel, nic: DevId, frames: Vec<Vec<u8>>) -> Vec<(u32, usize, u16)> {
    poll_skbs(k, nic, frames)
        .into_iter()
        .map(|s| {
            let (seq, hdrs) = seq_thlen(&s);
            (seq, s.len() - hdrs, s.gso_size)
        })
        .collect()
}

fn merged(k: &Kernel, nic: DevId) -> u64 {
    let DeviceKind::Nic(n) = &k.device(nic).kind else {
        unreachable!()
    };
    n.napi.gro.merged
}

/// `tcp_gro_receive()` compares the whole 32-bit flag word of the two TCP headers (data
/// offset, the reserved bits and AE, the flags, the window) and ignores only CWR, FIN and
/// PSH there: a segment whose reserved/AE bits differ from the held one's is not merged.
#[test]
fn gro_flag_word_includes_reserved_and_ae_bits() {
    let (mut k, nic) = nic();
    let a = frame(&k, nic, &ip6(), 1234, 1000, 1000);
    let mut b = frame(&k, nic, &ip6(), 1234, 2000, 1000);
    let l4 = l4(&b);
    b[l4 + 12] |= 0x01; // AE (AccECN), the low bit of the data-offset byte
    refresh(&mut b);
    let c = frame(&k, nic, &ip6(), 1234, 3000, 1000);
    let got = poll(&mut k, nic, vec![a, b, c]);
    // The AE segment flushes the held one and starts its own skb; the next segment (AE
    // clear) differs from that one in turn.
    assert_eq!(got, vec![(1000, 1000, 0), (2000, 1000, 0), (3000, 1000, 0)]);
    assert_eq!(merged(&k, nic), 0);
    // Reserved bits likewise.
    let mut frames = vec![frame(&k, nic, &ip6(), 1234, 4000, 1000)];
    let mut r = frame(&k, nic, &ip6(), 1234, 5000, 1000);
    r[l4 + 12] |= 0x0e;
    refresh(&mut r);
    frames.push(r);
    let got = poll(&mut k, nic, frames);
    assert_eq!(got, vec![(4000, 1000, 0), (5000, 1000, 0)]);
    assert_eq!(merged(&k, nic), 0);
}

/// An IPv4 frame of flow `sport` with IP ID `id` and DF as given.
fn frame4(k: &Kernel, nic: DevId, sport: u16, seq: u32, id: u16, df: bool) -> Vec<u8> {
    let mut f = frame(k, nic, &ip4(), sport, seq, 1000);
    f[L3 + 4..L3 + 6].copy_from_slice(&id.to_be_bytes());
    f[L3 + 6] = if df { 0x40 } else { 0 };
    refresh(&mut f);
    f
}

/// One IP-ID case: the segments' IDs, DF, and the (seq, payload length) of each skb GRO
/// passes up.
type IdCase = (&'static [u16], bool, &'static [(u32, usize)]);

/// `inet_gro_flush()`: an IPv4 segment merges only if its IP ID is the held skb's first
/// ID plus the segments merged so far (incrementing IDs), or, when the second segment had
/// the first one's ID and DF is set, the same ID again (a fixed-ID flow); without DF an
/// ID cannot stay fixed.
#[test]
fn gro_ipv4_ip_id_increments_or_stays_fixed_with_df() {
    let (mut k, nic) = nic();
    let cases: [IdCase; 5] = [
        // Incrementing: one skb.
        (&[100, 101, 102], true, &[(1000, 3000)]),
        // Fixed with DF: one skb.
        (&[200, 200, 200], true, &[(1000, 3000)]),
        // A jump: the held skb goes up, the segment starts another.
        (&[300, 305], true, &[(1000, 1000), (2000, 1000)]),
        // Fixed without DF: no merge.
        (&[400, 400], false, &[(1000, 1000), (2000, 1000)]),
        // Fixed, then incrementing: the flow chose fixed at its second segment.
        (&[500, 500, 501], true, &[(1000, 2000), (3000, 1000)]),
    ];
    for (i, (ids, df, want)) in cases.into_iter().enumerate() {
        let frames = ids
            .iter()
            .enumerate()
            .map(|(j, &id)| frame4(&k, nic, 1000 + i as u16, 1000 + 1000 * j as u32, id, df))
            .collect();
        let got: Vec<(u32, usize)> = poll(&mut k, nic, frames)
            .into_iter()
            .map(|(seq, len, _)| (seq, len))
            .collect();
        assert_eq!(got, want, "case {i}: ids {ids:?}, DF {df}");
    }
}

/// The IP IDs a TCP/IPv4 connection puts on the wire are its own (`inet_id`, advanced by
/// the number of segments of each skb, `ip_select_ident_segs()`), so the data frames of a
/// bulk transfer carry consecutive IDs across TSO skbs and the peer's GRO merges them;
/// the peer's ACKs do not take IDs from the sender's sequence.
#[test]
fn tcp_ipv4_ip_ids_are_per_socket_and_count_segments() {
    use simkernel::World;
    use simkernel::net::core::sock::AF_INET;
    use uapi::socket::SOCK_STREAM;

    let mut k = Kernel::new(KernelConfig::default());
    k.seed(7);
    let init = k.init_net();
    let srv = k.netns_add("srv").unwrap();
    let a = k.nic_add(init, "eth0", NicProfile::bnxt(), 1).unwrap();
    let b = k.nic_add(srv, "eth0", NicProfile::bnxt(), 1).unwrap();
    k.wire_connect(a, b, Default::default()).unwrap();
    for (ns, d, ip) in [(init, a, 1), (srv, b, 2)] {
        let lo = k.netns_loopback(ns).unwrap();
        k.link_set_up(lo, true).unwrap();
        k.link_set_up(d, true).unwrap();
        k.ipv4_addr_add(d, Ipv4Addr::new(192, 0, 2, ip), 24)
            .unwrap();
    }
    let cap = Shared::default();
    k.capture_start(b, Box::new(cap.clone())).unwrap();
    let mut w = World::new(k);
    let server = w.process(srv, simkernel::Cred::default());
    let client = w.process(init, simkernel::Cred::default());
    let lfd = server.socket(AF_INET, SOCK_STREAM).unwrap();
    server.bind(lfd, "192.0.2.2:5000".parse().unwrap()).unwrap();
    server.listen(lfd, 8).unwrap();
    let s2 = server.clone();
    w.spawn(&server, async move {
        let (fd, _) = s2.accept(lfd).await.unwrap();
        let mut n = 0;
        loop {
            let got = s2.recv(fd, 1 << 20, 0).await.unwrap();
            if got.is_empty() {
                break;
            }
            n += got.len();
        }
        assert_eq!(n, 400_000);
        s2.close(fd).unwrap();
    });
    let c = client.clone();
    w.run_until(&client, async move {
        let fd = c.socket(AF_INET, SOCK_STREAM).unwrap();
        c.connect(fd, "192.0.2.2:5000".parse().unwrap())
            .await
            .unwrap();
        let data = vec![7u8; 400_000];
        assert_eq!(c.send(fd, &data, 0).await.unwrap(), data.len());
        c.close(fd).unwrap();
    })
    .unwrap();
    w.drive_bounded(10_000).unwrap();
    let mut k = w.kernel.borrow_mut();
    k.capture_stop(b).unwrap();
    let bytes = cap.0.borrow().clone();
    let mut r = wire::PcapReader::new(&bytes[..]).unwrap();
    let (mut ids, mut srv_ids) = (Vec::new(), Vec::new());
    while let Some(rec) = r.next_packet().unwrap() {
        let f = &rec.data;
        if f[12..14] != [8, 0] {
            continue;
        }
        let id = u16::from_be_bytes([f[L3 + 4], f[L3 + 5]]);
        let flags = f[L3 + 20 + 13];
        match f[L3 + 12..L3 + 16] {
            [192, 0, 2, 1] => ids.push(id),
            _ => srv_ids.push((id, flags)),
        }
    }
    assert!(ids.len() > 200, "{} frames from the client", ids.len());
    for w in ids.windows(2) {
        assert_eq!(w[1], w[0].wrapping_add(1), "client IP IDs {ids:?}");
    }
    // The server's SYN-ACK comes from the request sock (`ip_build_and_send_pkt()`: DF, ID
    // 0); the accepted socket's own IDs follow one by one.
    assert_eq!(srv_ids[0], (0, 0x12), "server frames {srv_ids:?}");
    for w in srv_ids[1..].windows(2) {
        assert_eq!(w[1].0, w[0].0.wrapping_add(1), "server frames {srv_ids:?}");
    }
    let DeviceKind::Nic(n) = &k.device(b).kind else {
        unreachable!()
    };
    assert!(n.napi.gro.merged > 100, "merged {}", n.napi.gro.merged);
}

/// The TCP payload bytes of the skbs GRO passes up, in order (head past the headers, then
/// page frags).
fn poll_bytes(k: &mut Kernel, nic: DevId, frames: Vec<Vec<u8>>) -> Vec<(u32, Vec<u8>)> {
    poll_skbs(k, nic, frames)
        .into_iter()
        .map(|s| {
            let (seq, hdrs) = seq_thlen(&s);
            let mut b = s.head[hdrs..].to_vec();
            for f in &s.frags {
                match f {
                    simkernel::Frag::Page { bytes, off, len } => {
                        b.extend_from_slice(&bytes[*off..*off + *len])
                    }
                    simkernel::Frag::NetIov { .. } => panic!("no devmem here"),
                }
            }
            (seq, b)
        })
        .collect()
}

/// `inet_gro_receive()` leaves GRO early for an IPv4 header whose checksum is wrong (the
/// frame goes up on its own and its flow's held skb stays held), and flushes on any
/// fragment-offset bit but DF, the reserved one included (the held skb goes up first).
#[test]
fn gro_ipv4_header_checksum_and_reserved_flag() {
    let (mut k, nic) = nic();
    let a = frame4(&k, nic, 1, 1000, 100, true);
    let mut b = frame4(&k, nic, 1, 2000, 101, true);
    b[L3 + 10] ^= 0x55; // a bad IP header checksum; the TCP checksum is still right
    let c = frame4(&k, nic, 1, 2000, 101, true);
    let got = poll(&mut k, nic, vec![a, b, c]);
    assert_eq!(got, vec![(2000, 1000, 0), (1000, 2000, 1000)]);

    let d = frame4(&k, nic, 2, 1000, 200, true);
    let mut e = frame4(&k, nic, 2, 2000, 201, true);
    e[L3 + 6] |= 0x80; // the reserved ("evil") bit
    refresh(&mut e);
    let f = frame4(&k, nic, 2, 3000, 202, true);
    let got = poll(&mut k, nic, vec![d, e, f]);
    assert_eq!(got, vec![(1000, 1000, 0), (2000, 1000, 0), (3000, 1000, 0)]);
}

/// `skb_gro_receive()` merges a segment whatever its layout: frags are appended, a linear
/// one's head goes in as a frag (`head_frag`) or the skb is chained on `frag_list`. So
/// small segments the driver copied into linear skbs (`rx_copybreak`) merge, and a flow
/// can start with one. What it refuses is mixing page-pool skbs with others
/// (`p->pp_recycle != skb->pp_recycle`): a copied segment after a held page-pool one
/// completes the held skb and is held itself, never overtaking it. A padded IPv4 frame
/// (IP length below the frame's) is flushed in `inet_gro_receive()`: its flow's held skb
/// goes up first.
#[test]
fn gro_merges_linear_segments_and_flushes_before_padded_ones() {
    let (mut k, nic) = nic();
    let a = frame(&k, nic, &ip6(), 1, 1000, 1000);
    let b = frame(&k, nic, &ip6(), 1, 2000, 100);
    let got = poll_bytes(&mut k, nic, vec![a.clone(), b.clone()]);
    assert_eq!(
        got,
        vec![(1000, a[74..].to_vec()), (2000, b[74..].to_vec())]
    );

    let c = frame(&k, nic, &ip6(), 2, 5000, 200);
    let d = frame(&k, nic, &ip6(), 2, 5200, 200);
    let e = frame(&k, nic, &ip6(), 2, 5400, 100);
    let want: Vec<u8> = [&c, &d, &e].iter().flat_map(|f| f[74..].to_vec()).collect();
    let got = poll(&mut k, nic, vec![c.clone(), d.clone(), e.clone()]);
    assert_eq!(got, vec![(5000, 500, 200)]);
    let got = poll_bytes(&mut k, nic, vec![c, d, e]);
    assert_eq!(got, vec![(5000, want)]);

    let f = frame4(&k, nic, 3, 8000, 300, true);
    let mut g = frame(&k, nic, &ip4(), 3, 9000, 2);
    g[L3 + 4..L3 + 6].copy_from_slice(&301u16.to_be_bytes());
    refresh(&mut g);
    g.resize(60, 0); // Ethernet padding
    let got: Vec<u32> = poll(&mut k, nic, vec![f, g])
        .into_iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(got, vec![8000, 9000]);
}

/// What makes two frames one flow: the Ethernet header (`gro_list_prepare()`:
/// `compare_ether_header()`), addresses and, for IPv6, version and flow label
/// (`ipv6_gro_receive()`: `first_word & 0xF00FFFFF`), and the ports (`tcp_gro_lookup()`).
/// A frame of the same 4-tuple with another flow label or source MAC is another flow: the
/// held skb stays held (both go up when the poll ends, oldest first) instead of being
/// flushed, so a third flow's frame in between goes up before both.
#[test]
fn gro_flow_identity_includes_mac_header_and_flow_label() {
    let (mut k, nic) = nic();
    let ack_of_other_flow = frame(&k, nic, &ip6(), 9, 1, 0);
    let a = frame(&k, nic, &ip6(), 1, 1000, 1000);
    let mut b = frame(&k, nic, &ip6(), 1, 2000, 1000);
    b[L3 + 3] = 0x02; // flow label 2
    let got = poll(&mut k, nic, vec![a, b, ack_of_other_flow.clone()]);
    assert_eq!(got, vec![(1, 0, 0), (1000, 1000, 0), (2000, 1000, 0)]);

    let a = frame(&k, nic, &ip6(), 2, 1000, 1000);
    let mut b = frame(&k, nic, &ip6(), 2, 2000, 1000);
    b[11] = 0xc; // another source MAC
    let got = poll(&mut k, nic, vec![a, b, ack_of_other_flow]);
    assert_eq!(got, vec![(1, 0, 0), (1000, 1000, 0), (2000, 1000, 0)]);
    assert_eq!(merged(&k, nic), 0);
}

/// The GRO bucket of a frame: `skb->hash` (the NIC's RSS hash, which the drivers set with
/// `skb_set_hash()`) modulo `GRO_HASH_BUCKETS`.
fn bucket(f: &[u8]) -> u32 {
    let flow = simkernel::drivers::nic_rx::parse_flow(f).unwrap();
    simkernel::drivers::nic_rx::rss_hash(&flow) & 7
}

/// `dev_gro_receive()` keeps its held skbs in `GRO_HASH_BUCKETS` (8) lists chosen by the
/// skb's hash, and `MAX_GRO_SKBS` (8) bounds each list, not the NAPI instance: nine
/// flows spread over two or more buckets are all held and all merge, where one bound of
/// eight for the whole NAPI would have evicted and never merged. `napi_gro_flush()` then
/// completes bucket by bucket (lowest index first), oldest first within a bucket.
/// Nine flows in one bucket do evict that bucket's oldest.
#[test]
fn gro_max_skbs_is_per_hash_bucket_and_flush_goes_bucket_by_bucket() {
    let (mut k, nic) = nic();
    // Nine flows whose first segments leave no bucket with more than eight.
    let ports: Vec<u16> = (1000..1009).collect();
    let first: Vec<Vec<u8>> = ports
        .iter()
        .map(|&p| frame(&k, nic, &ip6(), p, 1000, 1000))
        .collect();
    let buckets: Vec<u32> = first.iter().map(|f| bucket(f)).collect();
    assert!(
        buckets.iter().any(|&b| b != buckets[0]),
        "{buckets:?}: the flows should not share one bucket"
    );
    let mut frames = first;
    frames.extend(ports.iter().map(|&p| frame(&k, nic, &ip6(), p, 2000, 1000)));
    let got = poll(&mut k, nic, frames);
    assert_eq!(got.len(), 9, "{got:?}");
    assert!(got.iter().all(|s| *s == (1000, 2000, 1000)), "{got:?}");
    assert_eq!(merged(&k, nic), 9);
    // The order they went up in: by bucket, then arrival (all arrived in port order).
    let mut want: Vec<(u32, u16)> = buckets.iter().copied().zip(ports.iter().copied()).collect();
    want.sort();
    let frames: Vec<Vec<u8>> = ports
        .iter()
        .map(|&p| frame(&k, nic, &ip6(), p, 3000, 1000))
        .collect();
    for f in frames {
        k.nic_receive(nic, f);
    }
    k.nic_napi_poll(nic);
    let order: Vec<u16> = k
        .device_mut_for_tests(nic)
        .rx_backlog
        .drain(..)
        .map(|s| u16::from_be_bytes([s.head[54], s.head[55]]))
        .collect();
    assert_eq!(order, want.iter().map(|w| w.1).collect::<Vec<_>>());

    // Nine flows in one bucket: the ninth evicts the oldest, and each second segment then
    // finds its flow gone and evicts the next.
    let b0 = bucket(&frame(&k, nic, &ip6(), 2000, 1, 1000));
    let same: Vec<u16> = (2000..u16::MAX)
        .filter(|&p| bucket(&frame(&k, nic, &ip6(), p, 1, 1000)) == b0)
        .take(9)
        .collect();
    let before = merged(&k, nic);
    let mut frames: Vec<Vec<u8>> = same
        .iter()
        .map(|&p| frame(&k, nic, &ip6(), p, 1000, 1000))
        .collect();
    frames.extend(same.iter().map(|&p| frame(&k, nic, &ip6(), p, 2000, 1000)));
    let got = poll(&mut k, nic, frames);
    assert_eq!(got.len(), 18);
    assert_eq!(merged(&k, nic), before);
}
