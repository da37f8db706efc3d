//! What IPv4 and IPv6 share: protocol numbers and a family-agnostic header repr.

use core::fmt;
use core::net::IpAddr;

use crate::ipv4::Ipv4Repr;
use crate::ipv6::Ipv6Repr;

/// The IPv4 protocol / IPv6 next-header number (include/uapi/linux/in.h `IPPROTO_*`, in6.h
/// `NEXTHDR_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum IpProtocol {
    /// IPv6 hop-by-hop options (0).
    HopByHop,
    /// ICMP (1).
    Icmp,
    /// TCP (6).
    Tcp,
    /// UDP (17).
    Udp,
    /// IPv6 routing header (43).
    Ipv6Route,
    /// IPv6 fragment header (44).
    Ipv6Frag,
    /// ICMPv6 (58).
    Icmpv6,
    /// IPv6 no next header (59).
    Ipv6NoNxt,
    /// IPv6 destination options (60).
    Ipv6Opts,
    /// Any other number.
    Other(u8),
}

impl IpProtocol {
    /// Whether this is an IPv6 extension header (RFC 8200 §4) that the caller would have to walk
    /// before reaching the upper layer. Kernel: `ipv6_ext_hdr()`.
    pub fn is_ipv6_extension_header(self) -> bool {
        matches!(u8::from(self), 0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140)
    }
}

impl From<u8> for IpProtocol {
    fn from(v: u8) -> Self {
        match v {
            0 => IpProtocol::HopByHop,
            1 => IpProtocol::Icmp,
            6 => IpProtocol::Tcp,
            17 => IpProtocol::Udp,
            43 => IpProtocol::Ipv6Route,
            44 => IpProtocol::Ipv6Frag,
            58 => IpProtocol::Icmpv6,
            59 => IpProtocol::Ipv6NoNxt,
            60 => IpProtocol::Ipv6Opts,
            other => IpProtocol::Other(other),
        }
    }
}

impl From<IpProtocol> for u8 {
    fn from(v: IpProtocol) -> Self {
        match v {
            IpProtocol::HopByHop => 0,
            IpProtocol::Icmp => 1,
            IpProtocol::Tcp => 6,
            IpProtocol::Udp => 17,
            IpProtocol::Ipv6Route => 43,
            IpProtocol::Ipv6Frag => 44,
            IpProtocol::Icmpv6 => 58,
            IpProtocol::Ipv6NoNxt => 59,
            IpProtocol::Ipv6Opts => 60,
            IpProtocol::Other(other) => other,
        }
    }
}

impl fmt::Display for IpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpProtocol::HopByHop => f.write_str("HBH"),
            IpProtocol::Icmp => f.write_str("ICMP"),
            IpProtocol::Tcp => f.write_str("TCP"),
            IpProtocol::Udp => f.write_str("UDP"),
            IpProtocol::Ipv6Route => f.write_str("routing"),
            IpProtocol::Ipv6Frag => f.write_str("frag"),
            IpProtocol::Icmpv6 => f.write_str("ICMP6"),
            IpProtocol::Ipv6NoNxt => f.write_str("no next header"),
            IpProtocol::Ipv6Opts => f.write_str("dstopts"),
            IpProtocol::Other(v) => write!(f, "ip-proto-{v}"),
        }
    }
}

/// An IPv4 or IPv6 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpRepr {
    /// IPv4.
    Ipv4(Ipv4Repr),
    /// IPv6.
    Ipv6(Ipv6Repr),
}

impl IpRepr {
    /// Source address.
    pub fn src_addr(&self) -> IpAddr {
        match self {
            IpRepr::Ipv4(r) => IpAddr::V4(r.src_addr),
            IpRepr::Ipv6(r) => IpAddr::V6(r.src_addr),
        }
    }

    /// Destination address.
    pub fn dst_addr(&self) -> IpAddr {
        match self {
            IpRepr::Ipv4(r) => IpAddr::V4(r.dst_addr),
            IpRepr::Ipv6(r) => IpAddr::V6(r.dst_addr),
        }
    }

    /// Upper-layer protocol.
    pub fn next_header(&self) -> IpProtocol {
        match self {
            IpRepr::Ipv4(r) => r.next_header,
            IpRepr::Ipv6(r) => r.next_header,
        }
    }

    /// Upper-layer length in bytes.
    pub fn payload_len(&self) -> usize {
        match self {
            IpRepr::Ipv4(r) => r.payload_len,
            IpRepr::Ipv6(r) => r.payload_len,
        }
    }

    /// TTL / hop limit.
    pub fn hop_limit(&self) -> u8 {
        match self {
            IpRepr::Ipv4(r) => r.hop_limit,
            IpRepr::Ipv6(r) => r.hop_limit,
        }
    }

    /// Header length.
    pub fn header_len(&self) -> usize {
        match self {
            IpRepr::Ipv4(r) => r.buffer_len(),
            IpRepr::Ipv6(r) => r.buffer_len(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    #[test]
    fn test_protocol_round_trip() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(IpProtocol::from(v)), v);
        }
        assert_eq!(IpProtocol::from(6), IpProtocol::Tcp);
        assert_eq!(IpProtocol::from(58), IpProtocol::Icmpv6);
        assert!(IpProtocol::HopByHop.is_ipv6_extension_header());
        assert!(IpProtocol::Ipv6Frag.is_ipv6_extension_header());
        assert!(!IpProtocol::Tcp.is_ipv6_extension_header());
        assert!(!IpProtocol::Ipv6NoNxt.is_ipv6_extension_header());
    }
}
