//! UDP (RFC 768), minimal: enough to parse and print what crosses a wire.

use core::fmt;
use core::net::IpAddr;

use crate::checksum::{self, Accumulator};
use crate::ip::IpProtocol;
use crate::{ChecksumCaps, Error, Result};

mod field {
    use crate::field::*;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// Length of the UDP header.
pub const HEADER_LEN: usize = field::CHECKSUM.end;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn get_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the header is present and the length field is between 8 and the buffer length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN || field_len > len {
            Err(Error)
        } else {
            Ok(())
        }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Return the source port field.
    pub fn src_port(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// Return the destination port field.
    pub fn dst_port(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// Return the length field (header included).
    pub fn len(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Whether the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// Return the checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Whether the checksum is correct; zero means "none" and passes over IPv4 only
    /// (RFC 8200 §8.1 makes it mandatory over IPv6). Kernel: `udp4_csum_init()`.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        if self.checksum() == 0 {
            return src.is_ipv4();
        }
        let data = &self.buffer.as_ref()[..usize::from(self.len())];
        let Ok(pseudo) = checksum::pseudo_header(src, dst, IpProtocol::Udp, u32::from(self.len()))
        else {
            return false;
        };
        let mut acc = Accumulator::new();
        acc.add_sum(pseudo);
        acc.add(data);
        acc.sum() == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// Return the payload (up to the length field).
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Set the source port field.
    pub fn set_src_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::SRC_PORT].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the destination port field.
    pub fn set_dst_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::DST_PORT].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the length field.
    pub fn set_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes())
    }

    /// Return a mutable view of the payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Compute and store the checksum; a computed zero is sent as 0xffff (RFC 768).
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) -> Result<()> {
        let len = self.len();
        let pseudo = checksum::pseudo_header(src, dst, IpProtocol::Udp, u32::from(len))?;
        self.set_checksum(0);
        let mut acc = Accumulator::new();
        acc.add_sum(pseudo);
        acc.add(&self.buffer.as_ref()[..usize::from(len)]);
        let sum = acc.checksum();
        self.set_checksum(if sum == 0 { 0xffff } else { sum });
        Ok(())
    }
}

/// A parsed UDP datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> UdpRepr<'a> {
    /// Parse a datagram (checksum per `caps.udp.rx()`); destination port zero is invalid.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &UdpPacket<&'a T>,
        src: &IpAddr,
        dst: &IpAddr,
        caps: &ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if packet.dst_port() == 0 {
            return Err(Error);
        }
        if caps.udp.rx() && !packet.verify_checksum(src, dst) {
            return Err(Error);
        }
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: packet.payload(),
        })
    }

    /// Datagram length.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }

    /// Write the datagram into a buffer of exactly [`buffer_len`](Self::buffer_len) bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let len = u16::try_from(self.buffer_len()).map_err(|_| Error)?;
        checksum::pseudo_header(src, dst, IpProtocol::Udp, 0)?;
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        packet.set_checksum(0);
        packet.payload_mut().copy_from_slice(self.payload);
        if caps.udp.tx() {
            packet.fill_checksum(src, dst)?;
        }
        Ok(())
    }
}

impl fmt::Display for UdpRepr<'_> {
    /// tcpdump style: `UDP, length 4`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UDP, length {}", self.payload.len())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use core::net::Ipv4Addr;

    fn s() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
    }
    fn d() -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))
    }

    static PACKET_BYTES: [u8; 12] = [
        0x13, 0x89, // source port 5001
        0x00, 0x35, // destination port 53
        0x00, 0x0c, // length 12
        0xbd, 0x14, // checksum over the 192.0.2.1 -> 192.0.2.2 pseudo-header
        0xaa, 0x00, 0x00, 0xff, // payload
    ];

    #[test]
    fn test_deconstruct() {
        let p = UdpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.src_port(), 5001);
        assert_eq!(p.dst_port(), 53);
        assert_eq!(p.len(), 12);
        assert_eq!(p.checksum(), 0xbd14);
        assert_eq!(p.payload(), &[0xaa, 0, 0, 0xff]);
        assert!(p.verify_checksum(&s(), &d()));
    }

    #[test]
    fn test_construct_and_round_trip() {
        let repr = UdpRepr {
            src_port: 5001,
            dst_port: 53,
            payload: &[0xaa, 0, 0, 0xff],
        };
        let mut bytes = vec![0xa5; repr.buffer_len()];
        repr.emit(
            &mut UdpPacket::new_unchecked(&mut bytes),
            &s(),
            &d(),
            &ChecksumCaps::default(),
        )
        .unwrap();
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
        let p = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            UdpRepr::parse(&p, &s(), &d(), &ChecksumCaps::default()).unwrap(),
            repr
        );
    }

    #[test]
    fn test_truncated_and_zero_checksum() {
        for n in 0..12 {
            assert_eq!(
                UdpPacket::new_checked(&PACKET_BYTES[..n]),
                Err(Error),
                "len {n}"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[6] = 0;
        bytes[7] = 0;
        let p = UdpPacket::new_checked(&bytes[..]).unwrap();
        assert!(p.verify_checksum(&s(), &d()));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(!p.verify_checksum(&v6, &v6));
    }
}
