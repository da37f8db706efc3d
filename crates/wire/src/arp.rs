//! ARP (RFC 826), Ethernet/IPv4 only: what the emulated IPv4 neighbour code speaks.

use core::fmt;
use core::net::Ipv4Addr;

use crate::ethernet::{EtherType, EthernetAddress};
use crate::{Error, Result};

/// The ARP opcode (`ARPOP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArpOperation {
    /// `ARPOP_REQUEST` 1.
    Request,
    /// `ARPOP_REPLY` 2.
    Reply,
    /// Any other opcode.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(v: ArpOperation) -> Self {
        match v {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// `ARPHRD_ETHER`.
const HTYPE_ETHERNET: u16 = 1;

mod field {
    use crate::field::*;
    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;

    pub fn sha(hlen: u8, _plen: u8) -> Field {
        let start = OPER.end;
        start..start + hlen as usize
    }
    pub fn spa(hlen: u8, plen: u8) -> Field {
        let start = sha(hlen, plen).end;
        start..start + plen as usize
    }
    pub fn tha(hlen: u8, plen: u8) -> Field {
        let start = spa(hlen, plen).end;
        start..start + hlen as usize
    }
    pub fn tpa(hlen: u8, plen: u8) -> Field {
        let start = tha(hlen, plen).end;
        start..start + plen as usize
    }
}

/// Length of an Ethernet/IPv4 ARP packet.
pub const ETHERNET_IPV4_LEN: usize = 28;

/// A read/write view of an ARP packet of any hardware/protocol address lengths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        ArpPacket { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the fixed part and the four addresses its lengths announce are present.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::OPER.end {
            return Err(Error);
        }
        if len < field::tpa(self.hardware_len(), self.protocol_len()).end {
            return Err(Error);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Return the hardware type field.
    pub fn hardware_type(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::HTYPE];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Return the protocol type field.
    pub fn protocol_type(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::PTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Return the hardware address length field.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Return the protocol address length field.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// Return the operation field.
    pub fn operation(&self) -> ArpOperation {
        let b = &self.buffer.as_ref()[field::OPER];
        ArpOperation::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Return the sender hardware address.
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hardware_len(), self.protocol_len())]
    }

    /// Return the sender protocol address.
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hardware_len(), self.protocol_len())]
    }

    /// Return the target hardware address.
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hardware_len(), self.protocol_len())]
    }

    /// Return the target protocol address.
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Set the hardware type field.
    pub fn set_hardware_type(&mut self, value: u16) {
        self.buffer.as_mut()[field::HTYPE].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the protocol type field.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        self.buffer.as_mut()[field::PTYPE].copy_from_slice(&u16::from(value).to_be_bytes())
    }

    /// Set the hardware address length field.
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value
    }

    /// Set the protocol address length field.
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value
    }

    /// Set the operation field.
    pub fn set_operation(&mut self, value: ArpOperation) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&u16::from(value).to_be_bytes())
    }

    /// Set the sender hardware address (length must match the length field).
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let r = field::sha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Set the sender protocol address.
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let r = field::spa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Set the target hardware address.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let r = field::tha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }

    /// Set the target protocol address.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let r = field::tpa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[r].copy_from_slice(value)
    }
}

/// A parsed Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender MAC.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC (zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

fn ipv4(bytes: &[u8]) -> Result<Ipv4Addr> {
    <[u8; 4]>::try_from(bytes)
        .map(Ipv4Addr::from)
        .map_err(|_| Error)
}

impl ArpRepr {
    /// Parse an Ethernet/IPv4 request or reply; other hardware/protocol types and opcodes are
    /// unsupported. Kernel: the checks at the top of `arp_process()`.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &ArpPacket<&T>) -> Result<Self> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error);
        }
        let operation = packet.operation();
        if let ArpOperation::Unknown(_) = operation {
            return Err(Error);
        }
        Ok(ArpRepr {
            operation,
            source_hardware_addr: EthernetAddress::from_bytes(packet.source_hardware_addr())?,
            source_protocol_addr: ipv4(packet.source_protocol_addr())?,
            target_hardware_addr: EthernetAddress::from_bytes(packet.target_hardware_addr())?,
            target_protocol_addr: ipv4(packet.target_protocol_addr())?,
        })
    }

    /// Packet length (28).
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_IPV4_LEN
    }

    /// Write the packet into a buffer of at least [`buffer_len`](Self::buffer_len) bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(HTYPE_ETHERNET);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(&self.source_hardware_addr.0);
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(&self.target_hardware_addr.0);
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

impl fmt::Display for ArpRepr {
    /// tcpdump style: `ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => write!(
                f,
                "ARP, Request who-has {} tell {}, length {}",
                self.target_protocol_addr,
                self.source_protocol_addr,
                self.buffer_len()
            ),
            ArpOperation::Reply => write!(
                f,
                "ARP, Reply {} is-at {}, length {}",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.buffer_len()
            ),
            ArpOperation::Unknown(op) => {
                write!(f, "ARP, Unknown ({op}), length {}", self.buffer_len())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    static PACKET_BYTES: [u8; 28] = [
        0x00, 0x01, // hardware type: Ethernet
        0x08, 0x00, // protocol type: IPv4
        0x06, // hardware length
        0x04, // protocol length
        0x00, 0x01, // operation: request
        0x02, 0x00, 0x00, 0x00, 0x00, 0x01, // sender MAC
        0xc0, 0x00, 0x02, 0x01, // sender IP 192.0.2.1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // target MAC: unknown
        0xc0, 0x00, 0x02, 0x02, // target IP 192.0.2.2
    ];

    fn repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress([0x02, 0, 0, 0, 0, 1]),
            source_protocol_addr: Ipv4Addr::new(192, 0, 2, 1),
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: Ipv4Addr::new(192, 0, 2, 2),
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = ArpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::Ipv4);
        assert_eq!(p.hardware_len(), 6);
        assert_eq!(p.protocol_len(), 4);
        assert_eq!(p.operation(), ArpOperation::Request);
        assert_eq!(p.source_hardware_addr(), &[0x02, 0, 0, 0, 0, 1]);
        assert_eq!(p.source_protocol_addr(), &[192, 0, 2, 1]);
        assert_eq!(p.target_hardware_addr(), &[0; 6]);
        assert_eq!(p.target_protocol_addr(), &[192, 0, 2, 2]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 28];
        let mut p = ArpPacket::new_unchecked(&mut bytes);
        p.set_hardware_type(1);
        p.set_protocol_type(EtherType::Ipv4);
        p.set_hardware_len(6);
        p.set_protocol_len(4);
        p.set_operation(ArpOperation::Request);
        p.set_source_hardware_addr(&[0x02, 0, 0, 0, 0, 1]);
        p.set_source_protocol_addr(&[192, 0, 2, 1]);
        p.set_target_hardware_addr(&[0; 6]);
        p.set_target_protocol_addr(&[192, 0, 2, 2]);
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse_emit() {
        let p = ArpPacket::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p).unwrap(), repr());
        let mut bytes = vec![0xa5; repr().buffer_len()];
        repr().emit(&mut ArpPacket::new_unchecked(&mut bytes));
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
        assert_eq!(
            repr().to_string(),
            "ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28"
        );
    }

    #[test]
    fn test_truncated_and_unsupported() {
        for n in 0..28 {
            assert_eq!(
                ArpPacket::new_checked(&PACKET_BYTES[..n]),
                Err(Error),
                "len {n}"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[4] = 8; // hardware length 8: the announced addresses no longer fit
        assert_eq!(ArpPacket::new_checked(&bytes[..]), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[7] = 9; // opcode 9
        let p = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(ArpRepr::parse(&p), Err(Error));
    }
}
