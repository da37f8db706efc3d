//! GRO on the emulated NIC against the kernel's merge rules, one rule per test: frames are
//! built byte by byte (checksums refreshed after each edit), received in one NAPI poll, and
//! the skbs GRO passes up are read back from the device's backlog.
//!
//! Kernel: `dev_gro_receive()` / `skb_gro_receive()` (net/core/gro.c), `inet_gro_receive()`
//! (net/ipv4/af_inet.c), `inet_gro_flush()` (include/net/gro.h), `tcp_gro_receive()`
//! (net/ipv4/tcp_offload.c).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;

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

/// Receive `frames` in one NAPI poll; per skb passed up: (TCP sequence number, TCP payload
/// bytes, gso_size).
fn poll(k: &mut Kernel, nic: DevId, frames: Vec<Vec<u8>>) -> Vec<(u32, usize, u16)> {
    for f in frames {
        k.nic_receive(nic, f);
    }
    k.nic_napi_poll(nic);
    k.device_mut_for_tests(nic)
        .rx_backlog
        .drain(..)
        .map(|s| {
            let l4 = l4(&s.head);
            let thlen = usize::from(s.head[l4 + 12] >> 4) * 4;
            let seq = u32::from_be_bytes(s.head[l4 + 4..l4 + 8].try_into().unwrap());
            (seq, s.len() - l4 - thlen, s.gso_size)
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
