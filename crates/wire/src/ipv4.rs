//! IPv4 (RFC 791). Addresses are `core::net::Ipv4Addr`. Options are skipped on parse (the IHL
//! says how far) and never emitted; fragments are unsupported.

use core::fmt;
use core::net::Ipv4Addr;

use crate::ip::IpProtocol;
use crate::{ChecksumCaps, Error, Result, checksum};

mod field {
    use crate::field::*;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = field::DST_ADDR.end;

/// `IP_DF`.
const FLAG_DF: u16 = 0x4000;
/// `IP_MF`.
const FLAG_MF: u16 = 0x2000;
/// `IP_OFFSET`.
const OFFSET_MASK: u16 = 0x1fff;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn get_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn addr(b: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure no accessor panics: the fixed header, the IHL-announced options and the
    /// total-length bytes are all present, and the IHL fits inside the total length. Trailing
    /// bytes (Ethernet padding) are allowed. Kernel: the length checks of `ip_rcv_core()`.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error);
        }
        let header_len = usize::from(self.header_len());
        let total_len = usize::from(self.total_len());
        if header_len < HEADER_LEN || header_len > total_len || total_len > len {
            return Err(Error);
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Return the version field.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Return the header length in bytes (IHL × 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Return the DSCP/ECN (former TOS) byte.
    pub fn dscp_ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Return the total length field.
    pub fn total_len(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Return the identification field.
    pub fn ident(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::IDENT])
    }

    /// Return the don't-fragment flag.
    pub fn dont_frag(&self) -> bool {
        get_u16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_DF != 0
    }

    /// Return the more-fragments flag.
    pub fn more_frags(&self) -> bool {
        get_u16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_MF != 0
    }

    /// Return the fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (get_u16(&self.buffer.as_ref()[field::FLG_OFF]) & OFFSET_MASK) << 3
    }

    /// Return the time-to-live field.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Return the protocol field.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Return the header checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Return the source address field.
    pub fn src_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// Return the destination address field.
    pub fn dst_addr(&self) -> Ipv4Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// Whether the header checksum is correct. Kernel: `ip_fast_csum()` == 0 in `ip_rcv_core()`.
    pub fn verify_checksum(&self) -> bool {
        let header = &self.buffer.as_ref()[..usize::from(self.header_len())];
        checksum::data(header) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// Return the payload: from the end of the options to the total length (padding excluded).
    pub fn payload(&self) -> &'a [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }

    /// Return the options bytes.
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.header_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Set the version field.
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// Set the header length in bytes (must be a multiple of 4).
    pub fn set_header_len(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((value / 4) & 0x0f);
    }

    /// Set the DSCP/ECN byte.
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = value
    }

    /// Set the total length field.
    pub fn set_total_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the identification field.
    pub fn set_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&value.to_be_bytes())
    }

    fn set_flg_off(&mut self, f: impl FnOnce(u16) -> u16) {
        let v = f(get_u16(&self.buffer.as_ref()[field::FLG_OFF]));
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes())
    }

    /// Set the don't-fragment flag.
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flg_off(|v| if value { v | FLAG_DF } else { v & !FLAG_DF })
    }

    /// Set the more-fragments flag.
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flg_off(|v| if value { v | FLAG_MF } else { v & !FLAG_MF })
    }

    /// Set the fragment offset in bytes (multiple of 8).
    pub fn set_frag_offset(&mut self, value: u16) {
        self.set_flg_off(|v| (v & !OFFSET_MASK) | ((value >> 3) & OFFSET_MASK))
    }

    /// Clear the whole flags/fragment-offset field.
    pub fn clear_flags(&mut self) {
        self.set_flg_off(|_| 0)
    }

    /// Set the time-to-live field.
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value
    }

    /// Set the protocol field.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = u8::from(value)
    }

    /// Set the header checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the source address field.
    pub fn set_src_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets())
    }

    /// Set the destination address field.
    pub fn set_dst_addr(&mut self, value: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets())
    }

    /// Compute and store the header checksum. Kernel: `ip_send_check()`.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = usize::from(self.header_len());
        let sum = checksum::data(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(!sum)
    }

    /// Return a mutable view of the payload (up to the total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

/// A parsed IPv4 header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Upper-layer protocol.
    pub next_header: IpProtocol,
    /// Upper-layer length (total length minus header length).
    pub payload_len: usize,
    /// Time to live.
    pub hop_limit: u8,
    /// Identification (Linux picks it per socket, see `ip_select_ident()`).
    pub ident: u16,
    /// Don't-fragment flag (Linux sets it on TCP when PMTU discovery is on).
    pub dont_frag: bool,
    /// DSCP and ECN bits.
    pub dscp_ecn: u8,
}

impl Ipv4Repr {
    /// Parse a checked packet: version 4, header checksum if `caps.ipv4.rx()`, no fragments.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Ipv4Packet<&T>,
        caps: &ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if packet.version() != 4 {
            return Err(Error);
        }
        if caps.ipv4.rx() && !packet.verify_checksum() {
            return Err(Error);
        }
        if packet.more_frags() || packet.frag_offset() != 0 {
            return Err(Error);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()) - usize::from(packet.header_len()),
            hop_limit: packet.hop_limit(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            dscp_ecn: packet.dscp_ecn(),
        })
    }

    /// Header length (no options are emitted).
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header (checksum per `caps.ipv4.tx()`, else zero). `payload_len` must fit the
    /// 16-bit total length; a larger one is a caller bug and is clamped.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Ipv4Packet<T>,
        caps: &ChecksumCaps,
    ) {
        debug_assert!(self.payload_len <= usize::from(u16::MAX) - HEADER_LEN);
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN as u8);
        packet.set_dscp_ecn(self.dscp_ecn);
        let total = u16::try_from(HEADER_LEN + self.payload_len).unwrap_or(u16::MAX);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.clear_flags();
        packet.set_dont_frag(self.dont_frag);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        if caps.ipv4.tx() {
            packet.fill_checksum();
        } else {
            packet.set_checksum(0);
        }
    }
}

impl fmt::Display for Ipv4Repr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IP {} > {}: {} ttl {} id {} length {}",
            self.src_addr,
            self.dst_addr,
            self.next_header,
            self.hop_limit,
            self.ident,
            self.payload_len + HEADER_LEN
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use proptest::prelude::*;

    /// IPv4 header (checksum computed over these 20 bytes) plus 4 payload bytes.
    static PACKET_BYTES: [u8; 24] = [
        0x45, // version 4, IHL 5
        0x00, // DSCP/ECN
        0x00, 0x18, // total length 24
        0x12, 0x34, // identification
        0x40, 0x00, // flags: DF, offset 0
        0x40, // TTL 64
        0x06, // protocol TCP
        0xa4, 0xa8, // header checksum
        0xc0, 0x00, 0x02, 0x01, // source 192.0.2.1
        0xc0, 0x00, 0x02, 0x02, // destination 192.0.2.2
        0xaa, 0x00, 0x00, 0xff, // payload
    ];

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(192, 0, 2, 2),
            next_header: IpProtocol::Tcp,
            payload_len: 4,
            hop_limit: 64,
            ident: 0x1234,
            dont_frag: true,
            dscp_ecn: 0,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = Ipv4Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.dscp_ecn(), 0);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag());
        assert!(!p.more_frags());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.next_header(), IpProtocol::Tcp);
        assert_eq!(p.checksum(), 0xa4a8);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(192, 0, 2, 2));
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[0xaa, 0x00, 0x00, 0xff]);
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 24];
        let mut p = Ipv4Packet::new_unchecked(&mut bytes);
        p.set_version(4);
        p.set_header_len(20);
        p.clear_flags();
        p.set_dscp_ecn(0);
        p.set_total_len(24);
        p.set_ident(0x1234);
        p.set_dont_frag(true);
        p.set_more_frags(false);
        p.set_frag_offset(0);
        p.set_hop_limit(64);
        p.set_next_header(IpProtocol::Tcp);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst_addr(Ipv4Addr::new(192, 0, 2, 2));
        p.fill_checksum();
        p.payload_mut().copy_from_slice(&[0xaa, 0x00, 0x00, 0xff]);
        assert_eq!(&bytes[..], &PACKET_BYTES[..]);
    }

    #[test]
    fn test_parse_emit() {
        let p = Ipv4Packet::new_checked(&PACKET_BYTES[..]).unwrap();
        assert_eq!(
            Ipv4Repr::parse(&p, &ChecksumCaps::default()).unwrap(),
            repr()
        );
        let mut bytes = vec![0xa5; 24];
        repr().emit(
            &mut Ipv4Packet::new_unchecked(&mut bytes),
            &ChecksumCaps::default(),
        );
        assert_eq!(&bytes[..20], &PACKET_BYTES[..20]);
        // Without TX checksum the field is zero, not stale.
        repr().emit(
            &mut Ipv4Packet::new_unchecked(&mut bytes),
            &ChecksumCaps::ignored(),
        );
        assert_eq!(&bytes[10..12], &[0, 0]);
    }

    #[test]
    fn test_bad_checksum() {
        let mut bytes = PACKET_BYTES;
        bytes[8] = 63;
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Ipv4Repr::parse(&p, &ChecksumCaps::default()), Err(Error));
        assert!(Ipv4Repr::parse(&p, &ChecksumCaps::ignored()).is_ok());
    }

    #[test]
    fn test_options_skipped_and_padding() {
        // IHL 6: one 4-byte option word (NOP NOP NOP EOL), then 4 payload bytes, then padding.
        let mut bytes = vec![
            0x46, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
        ];
        bytes.extend_from_slice(&[1, 1, 1, 0, 9, 8, 7, 6, 0, 0]);
        let mut p = Ipv4Packet::new_unchecked(&mut bytes);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), &[9, 8, 7, 6]);
        let r = Ipv4Repr::parse(&p, &ChecksumCaps::default()).unwrap();
        assert_eq!(r.payload_len, 4);
        assert_eq!(r.next_header, IpProtocol::Udp);
    }

    #[test]
    fn test_truncated_and_invalid() {
        for n in 0..24 {
            assert_eq!(
                Ipv4Packet::new_checked(&PACKET_BYTES[..n]),
                Err(Error),
                "len {n}"
            );
        }
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x44; // IHL 4 < 5
        assert_eq!(Ipv4Packet::new_checked(&bytes[..]), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x4f; // IHL 15 = 60 bytes > total length
        assert_eq!(Ipv4Packet::new_checked(&bytes[..]), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[0] = 0x65; // version 6
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p, &ChecksumCaps::ignored()), Err(Error));
        let mut bytes = PACKET_BYTES;
        bytes[6] = 0x20; // more fragments
        let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p, &ChecksumCaps::ignored()), Err(Error));
    }

    proptest! {
        #[test]
        fn prop_repr_round_trip(
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), proto in any::<u8>(),
            payload_len in 0usize..2000, hop_limit in any::<u8>(), ident in any::<u16>(),
            dont_frag in any::<bool>(), dscp_ecn in any::<u8>(),
        ) {
            let r = Ipv4Repr {
                src_addr: src.into(), dst_addr: dst.into(), next_header: proto.into(),
                payload_len, hop_limit, ident, dont_frag, dscp_ecn,
            };
            let mut bytes = vec![0u8; r.buffer_len() + payload_len];
            r.emit(&mut Ipv4Packet::new_unchecked(&mut bytes), &ChecksumCaps::default());
            let p = Ipv4Packet::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(Ipv4Repr::parse(&p, &ChecksumCaps::default()).unwrap(), r);
        }
    }
}
