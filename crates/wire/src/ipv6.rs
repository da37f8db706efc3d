//! IPv6 (RFC 8200). Addresses are `core::net::Ipv6Addr`. Extension headers are not emitted; a
//! parsed packet whose next header is one is reported as such (see
//! [`IpProtocol::is_ipv6_extension_header`]) and the caller decides (the emulator drops it).

use core::fmt;
use core::net::Ipv6Addr;

use crate::ethernet::EthernetAddress;
use crate::ip::IpProtocol;
use crate::{Error, Result};

/// ff02::1, all nodes on the link.
pub const LINK_LOCAL_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, all routers on the link.
pub const LINK_LOCAL_ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// Whether `addr` is in fe80::/10. Kernel: `ipv6_addr_type()` `IPV6_ADDR_LINKLOCAL`.
pub fn is_link_local(addr: &Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// Whether `addr` is in ff00::/8.
pub fn is_multicast(addr: &Ipv6Addr) -> bool {
    addr.octets()[0] == 0xff
}

/// The solicited-node multicast group of `addr`: ff02::1:ff00:0/104 plus its low 24 bits
/// (RFC 4291 §2.7.1). Kernel: `addrconf_addr_solict_mult()`.
pub fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The fe80::/64 address with a modified EUI-64 interface identifier from `mac` (RFC 4291
/// App. A). Kernel: `addrconf_ifid_eui48()`.
pub fn link_local_from_mac(mac: &EthernetAddress) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

mod field {
    use crate::field::*;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed IPv6 header.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// A read/write view of an IPv6 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(b);
    Ipv6Addr::from(o)
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the fixed header and the payload-length bytes are present (trailing padding is
    /// allowed). Kernel: the length checks of `ipv6_rcv()` / `ip6_rcv_core()`.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < HEADER_LEN + usize::from(self.payload_len()) {
            Err(Error)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Return the version field.
    pub fn version(&self) -> u8 {
        (self.ver_tc_flow() >> 28) as u8
    }

    /// Return the traffic class field.
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// Return the 20-bit flow label field.
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// Return the payload length field.
    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Return the next header field.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// Return the hop limit field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// Return the source address field.
    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// Return the destination address field.
    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// Return the payload (payload-length bytes after the fixed header).
    pub fn payload(&self) -> &'a [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn set_ver_tc_flow(&mut self, f: impl FnOnce(u32) -> u32) {
        let v = f(self.ver_tc_flow());
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&v.to_be_bytes())
    }

    /// Set the version field.
    pub fn set_version(&mut self, value: u8) {
        self.set_ver_tc_flow(|v| (v & 0x0fff_ffff) | (u32::from(value & 0x0f) << 28))
    }

    /// Set the traffic class field.
    pub fn set_traffic_class(&mut self, value: u8) {
        self.set_ver_tc_flow(|v| (v & 0xf00f_ffff) | (u32::from(value) << 20))
    }

    /// Set the flow label field (low 20 bits used).
    pub fn set_flow_label(&mut self, value: u32) {
        self.set_ver_tc_flow(|v| (v & 0xfff0_0000) | (value & 0x000f_ffff))
    }

    /// Set the payload length field.
    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the next header field.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = u8::from(value)
    }

    /// Set the hop limit field.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value
    }

    /// Set the source address field.
    pub fn set_src_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets())
    }

    /// Set the destination address field.
    pub fn set_dst_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets())
    }

    /// Return a mutable view of the payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// A parsed IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// Next header: the upper layer, or an extension header the caller must handle.
    pub next_header: IpProtocol,
    /// Payload length (extension headers included).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// 20-bit flow label (Linux derives it from the flow hash, `ip6_make_flowlabel()`).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// Parse a checked packet; the version must be 6.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Ipv6Packet<&T>) -> Result<Self> {
        packet.check_len()?;
        if packet.version() != 6 {
            return Err(Error);
        }
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Header length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the fixed header. `payload_len` above 65535 (a jumbogram) is a caller bug and is
    /// clamped.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX));
        packet.set_ver_tc_flow(|_| 0);
        packet.set_version(6);
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

impl fmt::Display for Ipv6Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IP6 {} > {}: {} hlim {} flowlabel 0x{:05x} payload length {}",
            self.src_addr,
            self.dst_addr,
            self.next_header,
            self.hop_limit,
            self.flow_label,
            self.payload_len
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use proptest::prelude::*;

    static PACKET_BYTES: [u8; 44] = [
        0x60, 0x12, 0x34, 0x56, // version 6, traffic class 0x01, flow label 0x23456
        0x00, 0x04, // payload length 4
        0x3a, // next header ICMPv6
        0xff, // hop limit 255
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, // source 2001:db8::1
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0x02, // destination 2001:db8::2
        0xaa, 0x00, 0x00, 0xff, // payload
    ];

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn repr() -> Ipv6Repr {
        Ipv6Repr {
            src_addr: a("2001:db8::1"),
            dst_addr: a("2001:db8::2"),
            next_header: IpProtocol::Icmpv6,
            payload_len: 4,
            hop_limit: 255,
            traffic_class: 0x01,
            flow_label: 0x23456,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = Ipv6Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0x01);
        assert_eq!(p.flow_label(), 0x23456);
        assert_eq!(p.payload_len(), 4);
        assert_eq!(p.next_header(), IpProtocol::Icmpv6);
        assert_eq!(p.hop_limit(), 255);
        assert_eq!(p.src_addr(), a("2001:db8::1"));
        assert_eq!(p.dst_addr(), a("2001:db8::2"));
        assert_eq!(p.payload(), &[0xaa, 0x00, 0x00, 0xff]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 44];
        let mut p = Ipv6Packet::new_unchecked(&mut bytes);
        p.set_version(6);
        p.set_traffic_class(0x01);
        p.set_flow_label(0x23456);
        p.set_payload_len(4);
        p.set_next_header(IpProtocol::Icmpv6);
        p.set_hop_limit(255);
        p.set_src_addr(a("2001:db8::1"));
        p.set_dst_addr(a("2001:db8::2"));
        p.payload_mut().copy_from_slice(&[0xaa, 0x00, 0x00, 0xff]);
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse_emit() {
        let p = Ipv6Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), repr());
        let mut bytes = vec![0xa5; 44];
        repr().emit(&mut Ipv6Packet::new_unchecked(&mut bytes));
        assert_eq!(&bytes[..40], &PACKET_BYTES[..40]);
    }

    #[test]
    fn test_truncated_and_version() {
        for n in 0..44 {
            assert_eq!(
                Ipv6Packet::new_checked(&PACKET_BYTES[..n]),
                Err(Error),
                "len {n}"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x40;
        let p = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p), Err(Error));
    }

    #[test]
    fn test_extension_header_is_reported() {
        let mut bytes = PACKET_BYTES;
        bytes[6] = 0; // hop-by-hop
        let p = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        let r = Ipv6Repr::parse(&p).unwrap();
        assert_eq!(r.next_header, IpProtocol::HopByHop);
        assert!(r.next_header.is_ipv6_extension_header());
    }

    #[test]
    fn test_address_helpers() {
        assert_eq!(
            solicited_node(&a("2001:db8::1:2345:6789")),
            a("ff02::1:ff45:6789")
        );
        assert!(is_link_local(&a("fe80::1")));
        assert!(is_link_local(&a("febf::1")));
        assert!(!is_link_local(&a("fec0::1")));
        assert!(is_multicast(&a("ff02::1")));
        assert!(!is_multicast(&a("2001:db8::1")));
        let mac = EthernetAddress([0x02, 0x00, 0x00, 0xaa, 0xbb, 0xcc]);
        assert_eq!(link_local_from_mac(&mac), a("fe80::ff:feaa:bbcc"));
    }

    proptest! {
        #[test]
        fn prop_repr_round_trip(
            src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), nh in any::<u8>(),
            payload_len in 0usize..3000, hop_limit in any::<u8>(), traffic_class in any::<u8>(),
            flow_label in 0u32..0x10_0000,
        ) {
            let r = Ipv6Repr {
                src_addr: src.into(), dst_addr: dst.into(), next_header: nh.into(),
                payload_len, hop_limit, traffic_class, flow_label,
            };
            let mut bytes = vec![0xa5u8; r.buffer_len() + payload_len];
            r.emit(&mut Ipv6Packet::new_unchecked(&mut bytes));
            let p = Ipv6Packet::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p).unwrap(), r);
        }
    }
}
