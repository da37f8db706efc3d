//! ICMPv4 (RFC 792): echo request and reply only, which is what `ping` needs.

use core::fmt;

use crate::{ChecksumCaps, Error, Result, checksum};

/// The ICMPv4 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Icmpv4Message {
    /// `ICMP_ECHOREPLY` 0.
    EchoReply,
    /// `ICMP_DEST_UNREACH` 3.
    DstUnreachable,
    /// `ICMP_ECHO` 8.
    EchoRequest,
    /// `ICMP_TIME_EXCEEDED` 11.
    TimeExceeded,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv4Message {
    fn from(v: u8) -> Self {
        match v {
            0 => Icmpv4Message::EchoReply,
            3 => Icmpv4Message::DstUnreachable,
            8 => Icmpv4Message::EchoRequest,
            11 => Icmpv4Message::TimeExceeded,
            other => Icmpv4Message::Unknown(other),
        }
    }
}

impl From<Icmpv4Message> for u8 {
    fn from(v: Icmpv4Message) -> Self {
        match v {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::Unknown(other) => other,
        }
    }
}

mod field {
    use crate::field::*;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
    pub const ECHO_DATA: Rest = 8..;
}

/// Length of the ICMPv4 header including the 4-byte rest-of-header word.
pub const HEADER_LEN: usize = field::ECHO_DATA.start;

/// A read/write view of an ICMPv4 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv4Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the 8-byte header is present.
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

    /// Return the type field.
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Return the code field.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Return the checksum field.
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Return the echo identifier field.
    pub fn echo_ident(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ECHO_IDENT];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Return the echo sequence number field.
    pub fn echo_seq_no(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::ECHO_SEQNO];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Whether the checksum over the whole message is correct.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv4Packet<&'a T> {
    /// Return the data after the 8-byte header.
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::ECHO_DATA]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Set the type field.
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = u8::from(value)
    }

    /// Set the code field.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the echo identifier field.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_IDENT].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the echo sequence number field.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_SEQNO].copy_from_slice(&value.to_be_bytes())
    }

    /// Compute and store the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum)
    }

    /// Return a mutable view of the data after the header.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::ECHO_DATA]
    }
}

/// A parsed ICMPv4 echo message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Repr<'a> {
    /// Echo request.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data echoed back.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echoed data.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parse an echo message (checksum per `caps.icmpv4.rx()`); other types are unsupported.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Icmpv4Packet<&'a T>,
        caps: &ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.icmpv4.rx() && !packet.verify_checksum() {
            return Err(Error);
        }
        let (ident, seq_no, data) = (packet.echo_ident(), packet.echo_seq_no(), packet.data());
        match (packet.msg_type(), packet.msg_code()) {
            (Icmpv4Message::EchoRequest, 0) => Ok(Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }),
            (Icmpv4Message::EchoReply, 0) => Ok(Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            }),
            _ => Err(Error),
        }
    }

    /// Message length.
    pub fn buffer_len(&self) -> usize {
        match self {
            Icmpv4Repr::EchoRequest { data, .. } | Icmpv4Repr::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
        }
    }

    /// Write the message into a buffer of exactly [`buffer_len`](Self::buffer_len) bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Icmpv4Packet<T>,
        caps: &ChecksumCaps,
    ) {
        let (ty, ident, seq_no, data) = match *self {
            Icmpv4Repr::EchoRequest {
                ident,
                seq_no,
                data,
            } => (Icmpv4Message::EchoRequest, ident, seq_no, data),
            Icmpv4Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => (Icmpv4Message::EchoReply, ident, seq_no, data),
        };
        packet.set_msg_type(ty);
        packet.set_msg_code(0);
        packet.set_echo_ident(ident);
        packet.set_echo_seq_no(seq_no);
        packet.data_mut()[..data.len()].copy_from_slice(data);
        if caps.icmpv4.tx() {
            packet.fill_checksum();
        } else {
            packet.set_checksum(0);
        }
    }
}

impl fmt::Display for Icmpv4Repr<'_> {
    /// tcpdump style: `ICMP echo request, id 1, seq 2, length 64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, ident, seq_no) = match *self {
            Icmpv4Repr::EchoRequest { ident, seq_no, .. } => ("request", ident, seq_no),
            Icmpv4Repr::EchoReply { ident, seq_no, .. } => ("reply", ident, seq_no),
        };
        write!(
            f,
            "ICMP echo {what}, id {ident}, seq {seq_no}, length {}",
            self.buffer_len()
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    static PACKET_BYTES: [u8; 12] = [
        0x08, // type: echo request
        0x00, // code 0
        0x8e, 0xfe, // checksum
        0x12, 0x34, // identifier
        0xab, 0xcd, // sequence number
        0xaa, 0x00, 0x00, 0xff, // data
    ];

    static DATA: [u8; 4] = [0xaa, 0x00, 0x00, 0xff];

    fn repr() -> Icmpv4Repr<'static> {
        Icmpv4Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 0xabcd,
            data: &DATA,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = Icmpv4Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv4Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x8efe);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 0xabcd);
        assert_eq!(p.data(), &DATA[..]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 12];
        let mut p = Icmpv4Packet::new_unchecked(&mut bytes);
        p.set_msg_type(Icmpv4Message::EchoRequest);
        p.set_msg_code(0);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(0xabcd);
        p.data_mut().copy_from_slice(&DATA);
        p.fill_checksum();
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse_emit() {
        let p = Icmpv4Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(
            Icmpv4Repr::parse(&p, &ChecksumCaps::default()).unwrap(),
            repr()
        );
        let mut bytes = vec![0xa5; repr().buffer_len()];
        repr().emit(
            &mut Icmpv4Packet::new_unchecked(&mut bytes),
            &ChecksumCaps::default(),
        );
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
        assert_eq!(
            repr().to_string(),
            "ICMP echo request, id 4660, seq 43981, length 12"
        );
    }

    #[test]
    fn test_truncated_bad_checksum_unsupported() {
        for n in 0..8 {
            assert_eq!(Icmpv4Packet::new_checked(&PACKET_BYTES[..n]), Err(Error));
        }
        let mut bytes = PACKET_BYTES;
        bytes[11] ^= 1;
        let p = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&p, &ChecksumCaps::default()), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[0] = 3;
        let p = Icmpv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Icmpv4Repr::parse(&p, &ChecksumCaps::ignored()), Err(Error));
    }
}
