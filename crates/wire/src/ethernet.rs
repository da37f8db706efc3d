//! Ethernet II framing (IEEE 802.3 with an EtherType, no 802.1Q tags, no FCS: Linux hands
//! frames to taps and pcap without the FCS).

use core::fmt;
use core::net::Ipv6Addr;

use crate::{Error, Result};

/// A 48-bit Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Address from a 6-byte slice.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        <[u8; 6]>::try_from(bytes)
            .map(EthernetAddress)
            .map_err(|_| Error)
    }

    /// The six octets.
    pub fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Group bit (I/G) set: multicast or broadcast.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// The all-ones address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Individual address.
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// U/L bit set: locally administered (as Linux's `eth_random_addr()` produces).
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// The MAC an IPv6 multicast group maps to: 33:33 then the group's low 32 bits (RFC 2464 §7).
    ///
    /// Kernel: `ipv6_eth_mc_map()`.
    pub fn from_ipv6_multicast(group: &Ipv6Addr) -> Self {
        let o = group.octets();
        EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The EtherType field (include/uapi/linux/if_ether.h `ETH_P_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum EtherType {
    /// `ETH_P_IP` 0x0800.
    Ipv4,
    /// `ETH_P_ARP` 0x0806.
    Arp,
    /// `ETH_P_IPV6` 0x86DD.
    Ipv6,
    /// Any other value.
    Other(u16),
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            other => EtherType::Other(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(v: EtherType) -> Self {
        match v {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Other(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Other(v) => write!(f, "0x{v:04x}"),
        }
    }
}

mod field {
    use crate::field::*;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header.
pub const HEADER_LEN: usize = field::PAYLOAD.start;

/// Minimum frame length on the wire without FCS; shorter frames are padded (802.3 §4.2.3.3).
pub const MIN_FRAME_LEN: usize = 60;

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Ensure no accessor will panic: the buffer holds a whole header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Header length (constant).
    pub const fn header_len() -> usize {
        HEADER_LEN
    }

    /// Frame length for a payload of `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        HEADER_LEN + payload_len
    }

    /// Return the destination address field.
    pub fn dst_addr(&self) -> EthernetAddress {
        let b = &self.buffer.as_ref()[field::DESTINATION];
        EthernetAddress([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Return the source address field.
    pub fn src_addr(&self) -> EthernetAddress {
        let b = &self.buffer.as_ref()[field::SOURCE];
        EthernetAddress([b[0], b[1], b[2], b[3], b[4], b[5]])
    }

    /// Return the EtherType field.
    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// Return the payload (everything after the header, padding included).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Set the destination address field.
    pub fn set_dst_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&value.0)
    }

    /// Set the source address field.
    pub fn set_src_addr(&mut self, value: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&value.0)
    }

    /// Set the EtherType field.
    pub fn set_ethertype(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(value).to_be_bytes())
    }

    /// Return a mutable view of the payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

/// A parsed Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Source MAC.
    pub src_addr: EthernetAddress,
    /// Destination MAC.
    pub dst_addr: EthernetAddress,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Parse a checked frame header.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &EthernetFrame<&T>) -> Result<Self> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Header length.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header; the payload is left alone.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for EthernetRepr {
    /// tcpdump `-e` style: `02:00:00:00:00:01 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} > {}, ethertype {} (0x{:04x})",
            self.src_addr,
            self.dst_addr,
            self.ethertype,
            u16::from(self.ethertype)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    /// An IPv6 frame header followed by 4 payload bytes.
    static FRAME_BYTES: [u8; 18] = [
        0x33, 0x33, 0xff, 0x00, 0x00, 0x02, // destination: solicited-node MAC of ::2
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // source: locally administered unicast
        0x86, 0xdd, // ethertype: IPv6
        0xaa, 0x00, 0x00, 0xff, // payload
    ];

    static PAYLOAD: [u8; 4] = [0xaa, 0x00, 0x00, 0xff];

    const SRC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
    const DST: EthernetAddress = EthernetAddress([0x33, 0x33, 0xff, 0, 0, 0x02]);

    #[test]
    fn test_deconstruct() {
        let frame = EthernetFrame::new_checked(&FRAME_BYTES[..]).unwrap();
        assert_eq!(frame.dst_addr(), DST);
        assert_eq!(frame.src_addr(), SRC);
        assert_eq!(frame.ethertype(), EtherType::Ipv6);
        assert_eq!(frame.payload(), &PAYLOAD[..]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 18];
        let mut frame = EthernetFrame::new_unchecked(&mut bytes);
        frame.set_dst_addr(DST);
        frame.set_src_addr(SRC);
        frame.set_ethertype(EtherType::Ipv6);
        frame.payload_mut().copy_from_slice(&PAYLOAD);
        assert_eq!(&bytes[..], &FRAME_BYTES[..]);
    }

    #[test]
    fn test_parse_emit() {
        let frame = EthernetFrame::new_checked(&FRAME_BYTES[..]).unwrap();
        let repr = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            EthernetRepr {
                src_addr: SRC,
                dst_addr: DST,
                ethertype: EtherType::Ipv6
            }
        );
        let mut bytes = vec![0xa5; 18];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut bytes));
        assert_eq!(&bytes[..14], &FRAME_BYTES[..14]);
        assert_eq!(&bytes[14..], &[0xa5; 4]);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(EthernetFrame::new_checked(&FRAME_BYTES[..13]), Err(Error));
        assert!(EthernetFrame::new_checked(&FRAME_BYTES[..14]).is_ok());
    }

    #[test]
    fn test_address_helpers() {
        assert!(DST.is_multicast() && !DST.is_broadcast() && !DST.is_unicast());
        assert!(SRC.is_unicast() && SRC.is_local());
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert_eq!(SRC.to_string(), "02:00:00:00:00:01");
        let group: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
        assert_eq!(EthernetAddress::from_ipv6_multicast(&group), DST);
        assert_eq!(EthernetAddress::from_bytes(&[1, 2, 3]), Err(Error));
    }

    #[test]
    fn test_ethertype_round_trip() {
        for v in [0x0800u16, 0x0806, 0x86dd, 0x88cc, 0] {
            assert_eq!(u16::from(EtherType::from(v)), v);
        }
        assert_eq!(EtherType::from(0x88cc), EtherType::Other(0x88cc));
    }
}
