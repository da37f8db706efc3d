//! Whole frames in one call: [`parse_frame`] walks Ethernet → ARP / IPv4 / IPv6 → TCP / UDP /
//! ICMP / ICMPv6 (neighbour discovery included), and the `build_*` helpers emit complete frames
//! with correct lengths and checksums. The emulator's RX path and the tests use these.

use core::net::IpAddr;

use crate::arp::{ArpPacket, ArpRepr};
use crate::ethernet::{self, EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use crate::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use crate::icmpv6::{Icmpv6Packet, Icmpv6Repr, NdiscRepr};
use crate::ip::{IpProtocol, IpRepr};
use crate::ipv4::{Ipv4Packet, Ipv4Repr};
use crate::ipv6::{Ipv6Packet, Ipv6Repr};
use crate::tcp::{TcpChecksum, TcpPacket, TcpRepr};
use crate::udp::{UdpPacket, UdpRepr};
use crate::{ChecksumCaps, Error, Result};

/// What a frame carries above IP (or instead of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport<'a> {
    /// An ARP packet (no IP header).
    Arp(ArpRepr),
    /// A TCP segment.
    Tcp(TcpRepr<'a>),
    /// A UDP datagram.
    Udp(UdpRepr<'a>),
    /// An ICMPv4 echo.
    Icmpv4(Icmpv4Repr<'a>),
    /// An ICMPv6 echo or neighbour-discovery message.
    Icmpv6(Icmpv6Repr<'a>),
    /// IPv6 with an extension header first: not walked, the caller may drop it.
    Ipv6Extension(IpProtocol),
    /// Another IP protocol, payload unparsed.
    Other {
        /// Protocol number.
        protocol: IpProtocol,
        /// IP payload.
        payload: &'a [u8],
    },
    /// A non-IP, non-ARP EtherType, payload unparsed.
    NonIp(&'a [u8]),
}

/// A frame parsed layer by layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFrame<'a> {
    /// Ethernet header.
    pub ethernet: EthernetRepr,
    /// IP header, absent for ARP and non-IP frames.
    pub ip: Option<IpRepr>,
    /// What is above.
    pub transport: Transport<'a>,
}

impl<'a> ParsedFrame<'a> {
    /// The TCP segment, if any.
    pub fn tcp(&self) -> Option<&TcpRepr<'a>> {
        match &self.transport {
            Transport::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The neighbour-discovery message, if any.
    pub fn ndisc(&self) -> Option<&NdiscRepr> {
        match &self.transport {
            Transport::Icmpv6(Icmpv6Repr::Ndisc(n)) => Some(n),
            _ => None,
        }
    }
}

/// Parse a frame, verifying every checksum.
pub fn parse_frame(bytes: &[u8]) -> Result<ParsedFrame<'_>> {
    parse_frame_with(bytes, &ChecksumCaps::default())
}

/// Parse a frame, verifying the checksums `caps` asks for. Ethernet padding after the IP
/// length is ignored. Unsupported ICMP types are errors (the stack drops them).
pub fn parse_frame_with<'a>(bytes: &'a [u8], caps: &ChecksumCaps) -> Result<ParsedFrame<'a>> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let ethernet = EthernetRepr::parse(&frame)?;
    let payload = frame.payload();
    let (ip, ip_payload) = match ethernet.ethertype {
        EtherType::Arp => {
            let arp = ArpRepr::parse(&ArpPacket::new_checked(payload)?)?;
            return Ok(ParsedFrame {
                ethernet,
                ip: None,
                transport: Transport::Arp(arp),
            });
        }
        EtherType::Ipv4 => {
            let packet = Ipv4Packet::new_checked(payload)?;
            (
                IpRepr::Ipv4(Ipv4Repr::parse(&packet, caps)?),
                packet.payload(),
            )
        }
        EtherType::Ipv6 => {
            let packet = Ipv6Packet::new_checked(payload)?;
            (IpRepr::Ipv6(Ipv6Repr::parse(&packet)?), packet.payload())
        }
        EtherType::Other(_) => {
            return Ok(ParsedFrame {
                ethernet,
                ip: None,
                transport: Transport::NonIp(payload),
            });
        }
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let transport = match (ip, ip.next_header()) {
        (_, IpProtocol::Tcp) => Transport::Tcp(TcpRepr::parse(
            &TcpPacket::new_checked(ip_payload)?,
            &src,
            &dst,
            caps,
        )?),
        (_, IpProtocol::Udp) => Transport::Udp(UdpRepr::parse(
            &UdpPacket::new_checked(ip_payload)?,
            &src,
            &dst,
            caps,
        )?),
        (IpRepr::Ipv4(_), IpProtocol::Icmp) => Transport::Icmpv4(Icmpv4Repr::parse(
            &Icmpv4Packet::new_checked(ip_payload)?,
            caps,
        )?),
        (IpRepr::Ipv6(v6), IpProtocol::Icmpv6) => {
            let packet = Icmpv6Packet::new_checked(ip_payload)?;
            Transport::Icmpv6(Icmpv6Repr::parse(
                &v6.src_addr,
                &v6.dst_addr,
                &packet,
                caps,
            )?)
        }
        (IpRepr::Ipv6(_), nh) if nh.is_ipv6_extension_header() => Transport::Ipv6Extension(nh),
        (_, protocol) => Transport::Other {
            protocol,
            payload: ip_payload,
        },
    };
    Ok(ParsedFrame {
        ethernet,
        ip: Some(ip),
        transport,
    })
}

/// Ethernet + IP headers for `next_header` and `payload_len`, emitted into a fresh buffer that
/// also has room for `room` more bytes after the IP header. Returns the buffer and the offset
/// of the upper layer.
fn emit_l2_l3(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &IpRepr,
    next_header: IpProtocol,
    payload_len: usize,
    room: usize,
) -> Result<(Vec<u8>, usize)> {
    let (ethertype, ip_len) = match ip {
        IpRepr::Ipv4(r) => (EtherType::Ipv4, r.buffer_len()),
        IpRepr::Ipv6(r) => (EtherType::Ipv6, r.buffer_len()),
    };
    let max_payload = match ip {
        IpRepr::Ipv4(_) => usize::from(u16::MAX) - ip_len,
        IpRepr::Ipv6(_) => usize::from(u16::MAX),
    };
    if payload_len > max_payload {
        return Err(Error);
    }
    let l4 = ethernet::HEADER_LEN + ip_len;
    let mut buf = vec![0u8; l4 + room];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype,
    }
    .emit(&mut frame);
    let l3 = &mut buf[ethernet::HEADER_LEN..];
    match *ip {
        IpRepr::Ipv4(r) => Ipv4Repr {
            next_header,
            payload_len,
            ..r
        }
        .emit(&mut Ipv4Packet::new_unchecked(l3), &ChecksumCaps::default()),
        IpRepr::Ipv6(r) => Ipv6Repr {
            next_header,
            payload_len,
            ..r
        }
        .emit(&mut Ipv6Packet::new_unchecked(l3)),
    }
    Ok((buf, l4))
}

/// A complete TCP frame with correct checksums. `ip`'s `next_header` and `payload_len` are
/// filled in from `tcp`.
pub fn build_tcp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &IpRepr,
    tcp: &TcpRepr<'_>,
) -> Result<Vec<u8>> {
    let len = tcp.buffer_len();
    let (mut buf, l4) = emit_l2_l3(src_mac, dst_mac, ip, IpProtocol::Tcp, len, len)?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    tcp.emit(
        &mut TcpPacket::new_unchecked(&mut buf[l4..]),
        &src,
        &dst,
        &ChecksumCaps::default(),
    )?;
    Ok(buf)
}

/// The headers of a TCP frame whose `payload_len` payload bytes are not in the buffer (devmem:
/// the NIC DMAs them later). IP lengths count the payload; the TCP checksum follows `policy`.
/// The result is what a header-only capture records, with `orig_len` = result + `payload_len`.
pub fn build_tcp_header_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &IpRepr,
    tcp: &TcpRepr<'_>,
    payload_len: usize,
    policy: TcpChecksum<'_>,
) -> Result<Vec<u8>> {
    let hlen = tcp.header_len();
    let (mut buf, l4) = emit_l2_l3(
        src_mac,
        dst_mac,
        ip,
        IpProtocol::Tcp,
        hlen + payload_len,
        hlen,
    )?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    tcp.emit_header(
        &mut TcpPacket::new_unchecked(&mut buf[l4..]),
        &src,
        &dst,
        payload_len,
        policy,
    )?;
    Ok(buf)
}

/// A complete ICMPv6 frame (echo or neighbour discovery) with a correct checksum. `ip`'s
/// `next_header` and `payload_len` are filled in.
pub fn build_icmpv6_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &Ipv6Repr,
    icmp: &Icmpv6Repr<'_>,
) -> Result<Vec<u8>> {
    let len = icmp.buffer_len();
    let ip_repr = IpRepr::Ipv6(*ip);
    let (mut buf, l4) = emit_l2_l3(src_mac, dst_mac, &ip_repr, IpProtocol::Icmpv6, len, len)?;
    icmp.emit(
        &ip.src_addr,
        &ip.dst_addr,
        &mut Icmpv6Packet::new_unchecked(&mut buf[l4..]),
        &ChecksumCaps::default(),
    );
    Ok(buf)
}

/// A complete ICMPv4 echo frame.
pub fn build_icmpv4_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &Ipv4Repr,
    icmp: &Icmpv4Repr<'_>,
) -> Result<Vec<u8>> {
    let len = icmp.buffer_len();
    let ip_repr = IpRepr::Ipv4(*ip);
    let (mut buf, l4) = emit_l2_l3(src_mac, dst_mac, &ip_repr, IpProtocol::Icmp, len, len)?;
    icmp.emit(
        &mut Icmpv4Packet::new_unchecked(&mut buf[l4..]),
        &ChecksumCaps::default(),
    );
    Ok(buf)
}

/// A complete UDP frame.
pub fn build_udp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    ip: &IpRepr,
    udp: &UdpRepr<'_>,
) -> Result<Vec<u8>> {
    let len = udp.buffer_len();
    let (mut buf, l4) = emit_l2_l3(src_mac, dst_mac, ip, IpProtocol::Udp, len, len)?;
    let (src, dst): (IpAddr, IpAddr) = (ip.src_addr(), ip.dst_addr());
    udp.emit(
        &mut UdpPacket::new_unchecked(&mut buf[l4..]),
        &src,
        &dst,
        &ChecksumCaps::default(),
    )?;
    Ok(buf)
}

/// A complete ARP frame.
pub fn build_arp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    arp: &ArpRepr,
) -> Vec<u8> {
    let mut buf = vec![0u8; ethernet::HEADER_LEN + arp.buffer_len()];
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..]);
    EthernetRepr {
        src_addr: src_mac,
        dst_addr: dst_mac,
        ethertype: EtherType::Arp,
    }
    .emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    buf
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use crate::icmpv6::NdiscNeighborFlags;
    use crate::tcp::{TcpFlags, TcpSeqNumber};
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    pub(crate) const MAC_A: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]);
    pub(crate) const MAC_B: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]);

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn ip6() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: v6("2001:db8::1"),
            dst_addr: v6("2001:db8::2"),
            next_header: IpProtocol::Tcp,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0x12345,
        }
    }

    fn ip4() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(192, 0, 2, 2),
            next_header: IpProtocol::Tcp,
            payload_len: 0,
            hop_limit: 64,
            ident: 7,
            dont_frag: true,
            dscp_ecn: 0,
        }
    }

    fn tcp(payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 5201,
            dst_port: 80,
            seq_number: TcpSeqNumber(1000),
            ack_number: Some(TcpSeqNumber(2000)),
            flags: TcpFlags::PSH,
            window_len: 502,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload,
        }
    }

    #[test]
    fn test_tcp_v6_round_trip() {
        let t = tcp(b"payload!");
        let bytes = build_tcp_frame(MAC_A, MAC_B, &IpRepr::Ipv6(ip6()), &t).unwrap();
        assert_eq!(bytes.len(), 14 + 40 + 20 + 8);
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(parsed.ethernet.src_addr, MAC_A);
        assert_eq!(parsed.ethernet.ethertype, EtherType::Ipv6);
        assert_eq!(
            parsed.ip,
            Some(IpRepr::Ipv6(Ipv6Repr {
                payload_len: 28,
                ..ip6()
            }))
        );
        assert_eq!(parsed.tcp(), Some(&t));
        assert_eq!(
            parsed.to_string(),
            "IP6 2001:db8::1.5201 > 2001:db8::2.80: Flags [P.], seq 1000:1008, ack 2000, win 502, length 8"
        );
    }

    #[test]
    fn test_tcp_v4_with_ethernet_padding() {
        let t = tcp(b"");
        let mut bytes = build_tcp_frame(MAC_A, MAC_B, &IpRepr::Ipv4(ip4()), &t).unwrap();
        assert_eq!(bytes.len(), 54);
        bytes.resize(ethernet::MIN_FRAME_LEN, 0); // a NIC pads to 60
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(parsed.tcp().map(|t| t.payload.len()), Some(0));
        assert_eq!(
            parsed.to_string(),
            "IP 192.0.2.1.5201 > 192.0.2.2.80: Flags [P.], ack 2000, win 502, length 0"
        );
        // A corrupted byte fails the TCP checksum unless checksums are ignored.
        bytes[53] ^= 0x40;
        assert_eq!(parse_frame(&bytes), Err(Error));
        assert!(parse_frame_with(&bytes, &ChecksumCaps::ignored()).is_ok());
    }

    #[test]
    fn test_header_frame_is_headers_only() {
        let t = tcp(b"");
        let payload = [0x5au8; 333];
        let chunks: [&[u8]; 2] = [&payload[..101], &payload[101..]];
        let hdr = build_tcp_header_frame(
            MAC_A,
            MAC_B,
            &IpRepr::Ipv6(ip6()),
            &t,
            payload.len(),
            TcpChecksum::Chunks(&chunks),
        )
        .unwrap();
        assert_eq!(hdr.len(), 14 + 40 + 20);
        // Once the NIC appends the payload, the frame is valid and equals a full build.
        let mut full = hdr.clone();
        full.extend_from_slice(&payload);
        let whole = build_tcp_frame(MAC_A, MAC_B, &IpRepr::Ipv6(ip6()), &tcp(&payload)).unwrap();
        assert_eq!(full, whole);
        assert!(parse_frame(&full).is_ok());
        // The header alone is not a parseable frame: IPv6 says 353 bytes follow.
        assert_eq!(parse_frame(&hdr), Err(Error));
    }

    #[test]
    fn test_ndisc_frame() {
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target_addr: v6("2001:db8::2"),
            lladdr: Some(MAC_A),
        });
        let group = crate::ipv6::solicited_node(&v6("2001:db8::2"));
        let ip = Ipv6Repr {
            dst_addr: group,
            hop_limit: 255,
            flow_label: 0,
            ..ip6()
        };
        let dst_mac = EthernetAddress::from_ipv6_multicast(&group);
        let bytes = build_icmpv6_frame(MAC_A, dst_mac, &ip, &ns).unwrap();
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(
            parsed.ndisc(),
            Some(&NdiscRepr::NeighborSolicit {
                target_addr: v6("2001:db8::2"),
                lladdr: Some(MAC_A)
            })
        );
        assert_eq!(
            parsed.ethernet.dst_addr,
            EthernetAddress([0x33, 0x33, 0xff, 0, 0, 2])
        );
        assert_eq!(
            parsed.to_string(),
            "IP6 2001:db8::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has 2001:db8::2, length 32"
        );
        let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED,
            target_addr: v6("2001:db8::2"),
            lladdr: Some(MAC_B),
        });
        let bytes = build_icmpv6_frame(
            MAC_B,
            MAC_A,
            &Ipv6Repr {
                hop_limit: 255,
                ..ip6()
            },
            &na,
        )
        .unwrap();
        assert_eq!(
            parse_frame(&bytes).unwrap().transport,
            Transport::Icmpv6(na)
        );
    }

    #[test]
    fn test_other_kinds() {
        let arp = ArpRepr {
            operation: crate::arp::ArpOperation::Reply,
            source_hardware_addr: MAC_B,
            source_protocol_addr: Ipv4Addr::new(192, 0, 2, 2),
            target_hardware_addr: MAC_A,
            target_protocol_addr: Ipv4Addr::new(192, 0, 2, 1),
        };
        let bytes = build_arp_frame(MAC_B, MAC_A, &arp);
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(parsed.transport, Transport::Arp(arp));
        assert_eq!(
            parsed.to_string(),
            "ARP, Reply 192.0.2.2 is-at 02:00:00:00:00:0b, length 28"
        );

        let echo = Icmpv4Repr::EchoReply {
            ident: 1,
            seq_no: 2,
            data: b"ping",
        };
        let bytes = build_icmpv4_frame(MAC_A, MAC_B, &ip4(), &echo).unwrap();
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(parsed.transport, Transport::Icmpv4(echo));
        assert_eq!(
            parsed.to_string(),
            "IP 192.0.2.1 > 192.0.2.2: ICMP echo reply, id 1, seq 2, length 12"
        );

        let udp = UdpRepr {
            src_port: 1234,
            dst_port: 53,
            payload: b"abc",
        };
        let bytes = build_udp_frame(MAC_A, MAC_B, &IpRepr::Ipv6(ip6()), &udp).unwrap();
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(parsed.transport, Transport::Udp(udp));
        assert_eq!(
            parsed.to_string(),
            "IP6 2001:db8::1.1234 > 2001:db8::2.53: UDP, length 3"
        );

        // Extension header first: reported, not walked.
        let mut bytes = build_tcp_frame(MAC_A, MAC_B, &IpRepr::Ipv6(ip6()), &tcp(b"")).unwrap();
        bytes[14 + 6] = 0; // next header: hop-by-hop
        let parsed = parse_frame(&bytes).unwrap();
        assert_eq!(
            parsed.transport,
            Transport::Ipv6Extension(IpProtocol::HopByHop)
        );

        // Unknown EtherType.
        bytes[12] = 0x88;
        bytes[13] = 0xcc;
        assert!(matches!(
            parse_frame(&bytes).unwrap().transport,
            Transport::NonIp(_)
        ));
    }

    #[test]
    fn test_truncated_frames() {
        let bytes = build_tcp_frame(MAC_A, MAC_B, &IpRepr::Ipv6(ip6()), &tcp(b"xyz")).unwrap();
        for n in 0..bytes.len() {
            assert_eq!(parse_frame(&bytes[..n]), Err(Error), "len {n}");
        }
    }

    proptest! {
        #[test]
        fn prop_parse_frame_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_frame(&bytes);
            let _ = parse_frame_with(&bytes, &ChecksumCaps::ignored());
        }

        /// Arbitrary bytes behind valid Ethernet/IP headers reach the deeper parsers.
        #[test]
        fn prop_parse_frame_deep_never_panics(
            ethertype in prop_oneof![Just(0x0800u16), Just(0x86dd), Just(0x0806)],
            proto in prop_oneof![Just(6u8), Just(17), Just(1), Just(58), any::<u8>()],
            tail in proptest::collection::vec(any::<u8>(), 0..120),
        ) {
            let mut bytes = vec![0u8; 14];
            bytes[12..14].copy_from_slice(&ethertype.to_be_bytes());
            match ethertype {
                0x0800 => {
                    let len = 20 + tail.len() as u16;
                    bytes.extend_from_slice(&[0x45, 0, (len >> 8) as u8, len as u8, 0, 0, 0, 0, 64, proto, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]);
                }
                0x86dd => {
                    let len = tail.len() as u16;
                    bytes.extend_from_slice(&[0x60, 0, 0, 0, (len >> 8) as u8, len as u8, proto, 64]);
                    bytes.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
                    bytes.extend_from_slice(&[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
                }
                _ => {}
            }
            bytes.extend_from_slice(&tail);
            let _ = parse_frame_with(&bytes, &ChecksumCaps::ignored());
            if let Ok(p) = parse_frame_with(&bytes, &ChecksumCaps::ignored()) {
                let _ = p.to_string();
            }
        }
    }
}
