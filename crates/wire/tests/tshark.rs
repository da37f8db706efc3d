//! Invariant 4 ("frames on a wire are valid Ethernet frames that Wireshark decodes without
//! complaint"): write a pcap with every kind of frame this crate builds, including a
//! header-only devmem capture, and have tshark decode it with checksum validation on.
//! Skips (passes with a note) when tshark is not installed.

#![allow(clippy::unwrap_used)] // test: a panic is the failure report

use std::net::{Ipv4Addr, Ipv6Addr};
use std::process::Command;

use wire::frame::{
    build_arp_frame, build_icmpv4_frame, build_icmpv6_frame, build_tcp_frame,
    build_tcp_header_frame, build_udp_frame,
};
use wire::ipv6::solicited_node;
use wire::{
    ArpOperation, ArpRepr, EthernetAddress, Icmpv4Repr, Icmpv6Repr, IpProtocol, IpRepr, Ipv4Repr,
    Ipv6Repr, NdiscNeighborFlags, NdiscRepr, PcapWriter, TcpChecksum, TcpFlags, TcpRepr,
    TcpSeqNumber, TcpTimestampRepr, UdpRepr,
};

const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);

fn ip6(src: &str, dst: &str, hop_limit: u8) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: src.parse().unwrap(),
        dst_addr: dst.parse().unwrap(),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit,
        traffic_class: 0,
        flow_label: 0xbeef,
    }
}

fn ip4() -> Ipv4Repr {
    Ipv4Repr {
        src_addr: Ipv4Addr::new(192, 0, 2, 1),
        dst_addr: Ipv4Addr::new(192, 0, 2, 2),
        next_header: IpProtocol::Tcp,
        payload_len: 0,
        hop_limit: 64,
        ident: 0x1111,
        dont_frag: true,
        dscp_ecn: 0,
    }
}

fn syn() -> TcpRepr<'static> {
    TcpRepr {
        src_port: 40000,
        dst_port: 5201,
        seq_number: TcpSeqNumber(0xffff_fff0),
        ack_number: None,
        flags: TcpFlags::SYN,
        window_len: 64800,
        urgent_pointer: 0,
        max_seg_size: Some(1440),
        window_scale: Some(7),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: Some(TcpTimestampRepr {
            tsval: 1000,
            tsecr: 0,
        }),
        payload: &[],
    }
}

/// Every kind of frame, as (captured bytes, original length).
fn frames() -> Vec<(Vec<u8>, usize)> {
    let v6 = IpRepr::Ipv6(ip6("2001:db8::1", "2001:db8::2", 64));
    let v4 = IpRepr::Ipv4(ip4());
    let mut out = Vec::new();
    let mut full = |b: Vec<u8>| {
        let n = b.len();
        out.push((b, n))
    };

    // Neighbour discovery.
    let group = solicited_node(&"2001:db8::2".parse::<Ipv6Addr>().unwrap());
    let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target_addr: "2001:db8::2".parse().unwrap(),
        lladdr: Some(MAC_A),
    });
    let ns_ip = Ipv6Repr {
        dst_addr: group,
        ..ip6("2001:db8::1", "::", 255)
    };
    full(
        build_icmpv6_frame(
            MAC_A,
            EthernetAddress::from_ipv6_multicast(&group),
            &ns_ip,
            &ns,
        )
        .unwrap(),
    );
    let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
        target_addr: "2001:db8::2".parse().unwrap(),
        lladdr: Some(MAC_B),
    });
    full(build_icmpv6_frame(MAC_B, MAC_A, &ip6("2001:db8::2", "2001:db8::1", 255), &na).unwrap());
    let rs = Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
        lladdr: Some(MAC_A),
    });
    full(
        build_icmpv6_frame(
            MAC_A,
            EthernetAddress([0x33, 0x33, 0, 0, 0, 2]),
            &ip6("fe80::a", "ff02::2", 255),
            &rs,
        )
        .unwrap(),
    );
    // Echo, both families.
    let echo6 = Icmpv6Repr::EchoRequest {
        ident: 7,
        seq_no: 1,
        data: b"0123456789abcdefg",
    };
    full(build_icmpv6_frame(MAC_A, MAC_B, &ip6("2001:db8::1", "2001:db8::2", 64), &echo6).unwrap());
    let echo4 = Icmpv4Repr::EchoReply {
        ident: 7,
        seq_no: 1,
        data: b"odd",
    };
    full(build_icmpv4_frame(MAC_B, MAC_A, &ip4(), &echo4).unwrap());
    // ARP.
    full(build_arp_frame(
        MAC_A,
        EthernetAddress::BROADCAST,
        &ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: MAC_A,
            source_protocol_addr: Ipv4Addr::new(192, 0, 2, 1),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Addr::new(192, 0, 2, 2),
        },
    ));
    // TCP handshake + data with SACK, both families.
    for ip in [v6, v4] {
        full(build_tcp_frame(MAC_A, MAC_B, &ip, &syn()).unwrap());
        let data: Vec<u8> = (0..1001u32).map(|i| i as u8).collect();
        let seg = TcpRepr {
            seq_number: TcpSeqNumber(0xffff_fff1),
            ack_number: Some(TcpSeqNumber(77)),
            flags: TcpFlags::PSH,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            timestamp: Some(TcpTimestampRepr {
                tsval: 1001,
                tsecr: 500,
            }),
            sack_ranges: [Some((10, 20)), Some((30, 40)), None],
            payload: &data,
            ..syn()
        };
        full(build_tcp_frame(MAC_A, MAC_B, &ip, &seg).unwrap());
        let fin = TcpRepr {
            flags: TcpFlags::FIN | TcpFlags::ECE | TcpFlags::CWR,
            payload: &[],
            ..seg
        };
        full(build_tcp_frame(MAC_A, MAC_B, &ip, &fin).unwrap());
    }
    // UDP.
    full(
        build_udp_frame(
            MAC_A,
            MAC_B,
            &v6,
            &UdpRepr {
                src_port: 9,
                dst_port: 9999,
                payload: b"u",
            },
        )
        .unwrap(),
    );
    // A devmem segment captured header-only: orig_len counts the payload tshark never sees.
    let seg = TcpRepr {
        ack_number: Some(TcpSeqNumber(1)),
        flags: TcpFlags::PSH,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        ..syn()
    };
    let hdr = build_tcp_header_frame(MAC_A, MAC_B, &v6, &seg, 4096, TcpChecksum::Partial).unwrap();
    let orig = hdr.len() + 4096;
    out.push((hdr, orig));
    out
}

/// Severity value of Wireshark's `PI_ERROR`.
const PI_ERROR: &str = "8388608";

/// One tab-separated line per frame: number, protocols, malformed, severities, messages.
fn tshark_fields(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(path)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.protocols",
            "-e",
            "_ws.malformed",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}\n{stderr}");
    assert!(out.status.success(), "tshark failed: {stderr}");
    stdout.lines().map(str::to_owned).collect()
}

fn write_pcap(path: &std::path::Path, frames: &[(Vec<u8>, usize)]) {
    let mut w = PcapWriter::new(std::fs::File::create(path).unwrap()).unwrap();
    for (i, (bytes, orig)) in frames.iter().enumerate() {
        w.write_packet(1_000_000 + i as u64 * 1000, bytes, *orig)
            .unwrap();
    }
    w.flush().unwrap();
}

fn has_error(line: &str) -> bool {
    let cols: Vec<&str> = line.split('\t').collect();
    !cols.get(2).copied().unwrap_or("").is_empty()
        || cols
            .get(3)
            .copied()
            .unwrap_or("")
            .split(',')
            .any(|s| s == PI_ERROR)
}

#[test]
fn tshark_decodes_everything_without_complaint() {
    if Command::new("tshark").arg("--version").output().is_err() {
        println!("SKIP: tshark not installed; cannot check Wireshark decoding");
        return;
    }
    let dir = std::env::temp_dir().join(format!("wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Negative control: the check can fail. A flipped payload bit must be flagged.
    let mut bad = frames();
    let (ref mut data_frame, _) = bad[7];
    let last = data_frame.len() - 1;
    data_frame[last] ^= 0x01;
    let bad_path = dir.join("bad.pcap");
    write_pcap(&bad_path, &bad[7..8]);
    let lines = tshark_fields(&bad_path);
    assert_eq!(lines.len(), 1);
    assert!(
        has_error(&lines[0]),
        "corrupted checksum went unnoticed: {}",
        lines[0]
    );

    let path = dir.join("frames.pcap");
    let frames = frames();
    write_pcap(&path, &frames);
    let lines = tshark_fields(&path);
    assert_eq!(lines.len(), frames.len(), "one line per frame");
    for line in &lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols[2].is_empty(), "malformed: {line}");
        assert!(!has_error(line), "expert error: {line}");
    }
    let protos: Vec<&str> = lines
        .iter()
        .map(|l| l.split('\t').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        protos.iter().filter(|p| p.contains(":icmpv6")).count(),
        4,
        "{protos:?}"
    );
    assert!(protos.iter().any(|p| p.ends_with(":arp")), "{protos:?}");
    assert!(protos.iter().any(|p| p.contains(":icmp:")), "{protos:?}");
    assert!(protos.iter().any(|p| p.contains(":udp")), "{protos:?}");
    assert_eq!(
        protos.iter().filter(|p| p.contains(":tcp")).count(),
        7,
        "{protos:?}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
