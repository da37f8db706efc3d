//! ICMPv6 (RFC 4443) echo, and the neighbour-discovery messages (RFC 4861) the emulated
//! `net/ipv6/ndisc` needs: Router Solicitation, Neighbor Solicitation and Neighbor
//! Advertisement with Source/Target Link-Layer Address options. The checksum covers the IPv6
//! pseudo-header, so parse and emit take the addresses.

use core::fmt;
use core::net::Ipv6Addr;

use crate::checksum::{self, Accumulator};
use crate::ethernet::EthernetAddress;
use crate::ip::IpProtocol;
use crate::{ChecksumCaps, Error, Result};

/// The ICMPv6 message type (include/uapi/linux/icmpv6.h, include/net/ndisc.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Icmpv6Message {
    /// `ICMPV6_DEST_UNREACH` 1.
    DstUnreachable,
    /// `ICMPV6_PKT_TOOBIG` 2.
    PktTooBig,
    /// `ICMPV6_ECHO_REQUEST` 128.
    EchoRequest,
    /// `ICMPV6_ECHO_REPLY` 129.
    EchoReply,
    /// `NDISC_ROUTER_SOLICITATION` 133.
    RouterSolicit,
    /// `NDISC_ROUTER_ADVERTISEMENT` 134.
    RouterAdvert,
    /// `NDISC_NEIGHBOUR_SOLICITATION` 135.
    NeighborSolicit,
    /// `NDISC_NEIGHBOUR_ADVERTISEMENT` 136.
    NeighborAdvert,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv6Message {
    fn from(v: u8) -> Self {
        match v {
            1 => Icmpv6Message::DstUnreachable,
            2 => Icmpv6Message::PktTooBig,
            128 => Icmpv6Message::EchoRequest,
            129 => Icmpv6Message::EchoReply,
            133 => Icmpv6Message::RouterSolicit,
            134 => Icmpv6Message::RouterAdvert,
            135 => Icmpv6Message::NeighborSolicit,
            136 => Icmpv6Message::NeighborAdvert,
            other => Icmpv6Message::Unknown(other),
        }
    }
}

impl From<Icmpv6Message> for u8 {
    fn from(v: Icmpv6Message) -> Self {
        match v {
            Icmpv6Message::DstUnreachable => 1,
            Icmpv6Message::PktTooBig => 2,
            Icmpv6Message::EchoRequest => 128,
            Icmpv6Message::EchoReply => 129,
            Icmpv6Message::RouterSolicit => 133,
            Icmpv6Message::RouterAdvert => 134,
            Icmpv6Message::NeighborSolicit => 135,
            Icmpv6Message::NeighborAdvert => 136,
            Icmpv6Message::Unknown(other) => other,
        }
    }
}

mod field {
    use crate::field::*;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    // Echo.
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQNO: Field = 6..8;
    pub const ECHO_DATA: Rest = 8..;
    // Neighbor Solicitation / Advertisement: flags (NA only) + reserved, target, options.
    pub const NEIGH_FLAGS: usize = 4;
    pub const NEIGH_RESERVED: Field = 4..8;
    pub const NEIGH_TARGET: Field = 8..24;
    pub const NEIGH_OPTIONS: Rest = 24..;
    // Router Solicitation: reserved, options.
    pub const RS_RESERVED: Field = 4..8;
    pub const RS_OPTIONS: Rest = 8..;
}

/// Length of the ICMPv6 header including the 4-byte message-specific word.
pub const HEADER_LEN: usize = 8;
/// Length of an NS/NA without options.
pub const NEIGH_LEN: usize = field::NEIGH_OPTIONS.start;

/// `ND_OPT_SOURCE_LL_ADDR`.
const OPT_SOURCE_LLADDR: u8 = 1;
/// `ND_OPT_TARGET_LL_ADDR`.
const OPT_TARGET_LLADDR: u8 = 2;
/// An Ethernet link-layer address option: type, length (in 8-byte units), 6-byte MAC.
const LLADDR_OPT_LEN: usize = 8;

/// A read/write view of an ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

fn get_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        Icmpv6Packet { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the header of the message's type is present: 8 bytes, or 24 for NS/NA.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error);
        }
        let need = match self.msg_type() {
            Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => NEIGH_LEN,
            _ => HEADER_LEN,
        };
        if len < need { Err(Error) } else { Ok(()) }
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Return the type field.
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// Return the code field.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// Return the checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Return the echo identifier field.
    pub fn echo_ident(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::ECHO_IDENT])
    }

    /// Return the echo sequence number field.
    pub fn echo_seq_no(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::ECHO_SEQNO])
    }

    /// Return the NA flags byte (R, S, O in the top three bits).
    pub fn neighbor_flags(&self) -> NdiscNeighborFlags {
        NdiscNeighborFlags(self.buffer.as_ref()[field::NEIGH_FLAGS] & NdiscNeighborFlags::ALL.0)
    }

    /// Return the NS/NA target address (needs the 24-byte NS/NA length).
    pub fn target_addr(&self) -> Ipv6Addr {
        let mut o = [0u8; 16];
        o.copy_from_slice(&self.buffer.as_ref()[field::NEIGH_TARGET]);
        Ipv6Addr::from(o)
    }

    /// Whether the checksum over pseudo-header and message is correct.
    /// Kernel: `icmpv6_rcv()` → `skb_checksum_validate()`.
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let Ok(len) = u32::try_from(data.len()) else {
            return false;
        };
        let mut acc = Accumulator::new();
        acc.add_sum(checksum::pseudo_header_v6(
            src,
            dst,
            IpProtocol::Icmpv6,
            len,
        ));
        acc.add(data);
        acc.sum() == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Icmpv6Packet<&'a T> {
    /// Return the echo data after the 8-byte header.
    pub fn echo_data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::ECHO_DATA]
    }

    /// Return the NDISC options of an NS/NA/RS (empty for other types).
    pub fn ndisc_options(&self) -> &'a [u8] {
        let b = self.buffer.as_ref();
        match self.msg_type() {
            Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => {
                &b[field::NEIGH_OPTIONS]
            }
            Icmpv6Message::RouterSolicit => &b[field::RS_OPTIONS],
            _ => &[],
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Set the type field.
    pub fn set_msg_type(&mut self, value: Icmpv6Message) {
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

    /// Set the NA flags and clear the reserved bits (also right for NS, whose word is reserved).
    pub fn set_neighbor_flags(&mut self, value: NdiscNeighborFlags) {
        let b = self.buffer.as_mut();
        b[field::NEIGH_RESERVED].fill(0);
        b[field::NEIGH_FLAGS] = value.0;
    }

    /// Clear the reserved word of a Router Solicitation.
    pub fn clear_rs_reserved(&mut self) {
        self.buffer.as_mut()[field::RS_RESERVED].fill(0)
    }

    /// Set the NS/NA target address.
    pub fn set_target_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::NEIGH_TARGET].copy_from_slice(&value.octets())
    }

    /// Return a mutable view of the echo data.
    pub fn echo_data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::ECHO_DATA]
    }

    /// Return a mutable view of the NDISC options of an NS/NA/RS.
    pub fn ndisc_options_mut(&mut self) -> &mut [u8] {
        match self.msg_type() {
            Icmpv6Message::NeighborSolicit | Icmpv6Message::NeighborAdvert => {
                &mut self.buffer.as_mut()[field::NEIGH_OPTIONS]
            }
            Icmpv6Message::RouterSolicit => &mut self.buffer.as_mut()[field::RS_OPTIONS],
            _ => &mut [],
        }
    }

    /// Compute and store the checksum over the pseudo-header and the whole buffer.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let mut acc = Accumulator::new();
        // An ICMPv6 message never exceeds an IPv6 payload, so its length fits 32 bits.
        let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
        acc.add_sum(checksum::pseudo_header_v6(
            src,
            dst,
            IpProtocol::Icmpv6,
            len,
        ));
        acc.add(data);
        let sum = acc.checksum();
        self.set_checksum(sum)
    }
}

/// Neighbor Advertisement flags (RFC 4861 §4.4), the top bits of the first message word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NdiscNeighborFlags(pub u8);

impl NdiscNeighborFlags {
    /// R: the sender is a router.
    pub const ROUTER: NdiscNeighborFlags = NdiscNeighborFlags(0x80);
    /// S: sent in response to a solicitation.
    pub const SOLICITED: NdiscNeighborFlags = NdiscNeighborFlags(0x40);
    /// O: override an existing cache entry.
    pub const OVERRIDE: NdiscNeighborFlags = NdiscNeighborFlags(0x20);
    /// All three.
    pub const ALL: NdiscNeighborFlags = NdiscNeighborFlags(0xe0);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: NdiscNeighborFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for NdiscNeighborFlags {
    type Output = NdiscNeighborFlags;
    fn bitor(self, rhs: Self) -> Self {
        NdiscNeighborFlags(self.0 | rhs.0)
    }
}

/// A parsed neighbour-discovery message. Only Ethernet link-layer address options are kept;
/// others are skipped. Kernel: `ndisc_parse_options()` in net/ipv6/ndisc.c.
///
/// RFC 4861 also requires hop limit 255 and code 0; the code is checked here, the hop limit is
/// the caller's (it lives in the IPv6 header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscRepr {
    /// Router Solicitation.
    RouterSolicit {
        /// Source link-layer address option.
        lladdr: Option<EthernetAddress>,
    },
    /// Neighbor Solicitation.
    NeighborSolicit {
        /// Address being resolved.
        target_addr: Ipv6Addr,
        /// Source link-layer address option (absent in DAD probes).
        lladdr: Option<EthernetAddress>,
    },
    /// Neighbor Advertisement.
    NeighborAdvert {
        /// R, S, O flags.
        flags: NdiscNeighborFlags,
        /// Address being advertised.
        target_addr: Ipv6Addr,
        /// Target link-layer address option.
        lladdr: Option<EthernetAddress>,
    },
}

/// Walk NDISC options, returning the Ethernet address carried by the first option of `kind`.
/// A zero-length option makes the message invalid (RFC 4861 §4.6).
fn find_lladdr(mut options: &[u8], kind: u8) -> Result<Option<EthernetAddress>> {
    let mut found = None;
    while !options.is_empty() {
        let [ty, len_units, ..] = *options else {
            return Err(Error);
        };
        let len = usize::from(len_units) * 8;
        if len == 0 || len > options.len() {
            return Err(Error);
        }
        if ty == kind && found.is_none() && len == LLADDR_OPT_LEN {
            found = Some(EthernetAddress::from_bytes(&options[2..8])?);
        }
        options = &options[len..];
    }
    Ok(found)
}

fn emit_lladdr(buf: &mut [u8], kind: u8, lladdr: Option<EthernetAddress>) {
    if let Some(mac) = lladdr {
        buf[0] = kind;
        buf[1] = (LLADDR_OPT_LEN / 8) as u8;
        buf[2..8].copy_from_slice(&mac.0);
    }
}

impl NdiscRepr {
    fn buffer_len(&self) -> usize {
        let (base, lladdr) = match self {
            NdiscRepr::RouterSolicit { lladdr } => (HEADER_LEN, lladdr),
            NdiscRepr::NeighborSolicit { lladdr, .. }
            | NdiscRepr::NeighborAdvert { lladdr, .. } => (NEIGH_LEN, lladdr),
        };
        base + if lladdr.is_some() { LLADDR_OPT_LEN } else { 0 }
    }
}

/// A parsed ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Repr<'a> {
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
    /// Neighbour discovery.
    Ndisc(NdiscRepr),
}

impl<'a> Icmpv6Repr<'a> {
    /// Parse a message between `src` and `dst` (checksum per `caps.icmpv6.rx()`). Types other
    /// than echo, RS, NS and NA are unsupported.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &Icmpv6Packet<&'a T>,
        caps: &ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if caps.icmpv6.rx() && !packet.verify_checksum(src, dst) {
            return Err(Error);
        }
        let code = packet.msg_code();
        match packet.msg_type() {
            Icmpv6Message::EchoRequest if code == 0 => Ok(Icmpv6Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: packet.echo_data(),
            }),
            Icmpv6Message::EchoReply if code == 0 => Ok(Icmpv6Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data: packet.echo_data(),
            }),
            Icmpv6Message::RouterSolicit if code == 0 => {
                let lladdr = find_lladdr(packet.ndisc_options(), OPT_SOURCE_LLADDR)?;
                Ok(Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr }))
            }
            Icmpv6Message::NeighborSolicit if code == 0 => {
                let lladdr = find_lladdr(packet.ndisc_options(), OPT_SOURCE_LLADDR)?;
                let target_addr = packet.target_addr();
                Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                    target_addr,
                    lladdr,
                }))
            }
            Icmpv6Message::NeighborAdvert if code == 0 => {
                let lladdr = find_lladdr(packet.ndisc_options(), OPT_TARGET_LLADDR)?;
                Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags: packet.neighbor_flags(),
                    target_addr: packet.target_addr(),
                    lladdr,
                }))
            }
            _ => Err(Error),
        }
    }

    /// Message length.
    pub fn buffer_len(&self) -> usize {
        match self {
            Icmpv6Repr::EchoRequest { data, .. } | Icmpv6Repr::EchoReply { data, .. } => {
                HEADER_LEN + data.len()
            }
            Icmpv6Repr::Ndisc(n) => n.buffer_len(),
        }
    }

    /// Write the message into a buffer of exactly [`buffer_len`](Self::buffer_len) bytes
    /// (checksum per `caps.icmpv6.tx()`, else zero).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &mut Icmpv6Packet<T>,
        caps: &ChecksumCaps,
    ) {
        packet.set_msg_code(0);
        match *self {
            Icmpv6Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Icmpv6Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                let ty = if matches!(self, Icmpv6Repr::EchoRequest { .. }) {
                    Icmpv6Message::EchoRequest
                } else {
                    Icmpv6Message::EchoReply
                };
                packet.set_msg_type(ty);
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                packet.echo_data_mut()[..data.len()].copy_from_slice(data);
            }
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr }) => {
                packet.set_msg_type(Icmpv6Message::RouterSolicit);
                packet.clear_rs_reserved();
                emit_lladdr(packet.ndisc_options_mut(), OPT_SOURCE_LLADDR, lladdr);
            }
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr,
                lladdr,
            }) => {
                packet.set_msg_type(Icmpv6Message::NeighborSolicit);
                packet.set_neighbor_flags(NdiscNeighborFlags(0));
                packet.set_target_addr(target_addr);
                emit_lladdr(packet.ndisc_options_mut(), OPT_SOURCE_LLADDR, lladdr);
            }
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags,
                target_addr,
                lladdr,
            }) => {
                packet.set_msg_type(Icmpv6Message::NeighborAdvert);
                packet.set_neighbor_flags(flags);
                packet.set_target_addr(target_addr);
                emit_lladdr(packet.ndisc_options_mut(), OPT_TARGET_LLADDR, lladdr);
            }
        }
        if caps.icmpv6.tx() {
            packet.fill_checksum(src, dst);
        } else {
            packet.set_checksum(0);
        }
    }
}

impl fmt::Display for Icmpv6Repr<'_> {
    /// tcpdump style: `ICMP6, neighbor solicitation, who has 2001:db8::2, length 32`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let len = self.buffer_len();
        match self {
            Icmpv6Repr::EchoRequest { ident, seq_no, .. } => {
                write!(
                    f,
                    "ICMP6, echo request, id {ident}, seq {seq_no}, length {len}"
                )
            }
            Icmpv6Repr::EchoReply { ident, seq_no, .. } => {
                write!(
                    f,
                    "ICMP6, echo reply, id {ident}, seq {seq_no}, length {len}"
                )
            }
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { .. }) => {
                write!(f, "ICMP6, router solicitation, length {len}")
            }
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target_addr, .. }) => {
                write!(
                    f,
                    "ICMP6, neighbor solicitation, who has {target_addr}, length {len}"
                )
            }
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert { target_addr, .. }) => {
                write!(
                    f,
                    "ICMP6, neighbor advertisement, tgt is {target_addr}, length {len}"
                )
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    const MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

    /// NA from 2001:db8::2 to 2001:db8::1 (checksum over that pseudo-header).
    static NA_BYTES: [u8; 32] = [
        0x88, // type 136: neighbor advertisement
        0x00, // code 0
        0x8a, 0x71, // checksum
        0x60, 0x00, 0x00, 0x00, // flags: solicited | override, reserved
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, // target 2001:db8::2
        0x02, // option: target link-layer address
        0x01, // option length: 1 × 8 bytes
        0x02, 0x00, 0x00, 0x00, 0x00, 0x02, // MAC
    ];

    /// Echo request from 2001:db8::1 to 2001:db8::2 with 4 data bytes.
    static ECHO_BYTES: [u8; 12] = [
        0x80, // type 128: echo request
        0x00, // code 0
        0x67, 0x0f, // checksum
        0x12, 0x34, // identifier
        0x00, 0x01, // sequence number
        0xaa, 0x00, 0x00, 0xff, // data
    ];

    fn na_repr() -> Icmpv6Repr<'static> {
        Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
            target_addr: a("2001:db8::2"),
            lladdr: Some(MAC),
        })
    }

    #[test]
    fn test_deconstruct_na() {
        let p = Icmpv6Packet::new_checked(&NA_BYTES[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::NeighborAdvert);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x8a71);
        let flags = p.neighbor_flags();
        assert!(flags.contains(NdiscNeighborFlags::SOLICITED));
        assert!(flags.contains(NdiscNeighborFlags::OVERRIDE));
        assert!(!flags.contains(NdiscNeighborFlags::ROUTER));
        assert_eq!(p.target_addr(), a("2001:db8::2"));
        assert_eq!(p.ndisc_options(), &NA_BYTES[24..]);
        assert!(p.verify_checksum(&a("2001:db8::2"), &a("2001:db8::1")));
    }

    #[test]
    fn test_construct_na() {
        let mut bytes = vec![0xa5; 32];
        let mut p = Icmpv6Packet::new_unchecked(&mut bytes);
        p.set_msg_type(Icmpv6Message::NeighborAdvert);
        p.set_msg_code(0);
        p.set_neighbor_flags(NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE);
        p.set_target_addr(a("2001:db8::2"));
        p.ndisc_options_mut()
            .copy_from_slice(&[2, 1, 0x02, 0, 0, 0, 0, 0x02]);
        p.fill_checksum(&a("2001:db8::2"), &a("2001:db8::1"));
        assert_eq!(&bytes[..], &NA_BYTES[..]);
    }

    #[test]
    fn test_parse_emit_na() {
        let (src, dst) = (a("2001:db8::2"), a("2001:db8::1"));
        let p = Icmpv6Packet::new_checked(&NA_BYTES[..]).unwrap();
        assert_eq!(
            Icmpv6Repr::parse(&src, &dst, &p, &ChecksumCaps::default()).unwrap(),
            na_repr()
        );
        let mut bytes = vec![0xa5; na_repr().buffer_len()];
        na_repr().emit(
            &src,
            &dst,
            &mut Icmpv6Packet::new_unchecked(&mut bytes),
            &ChecksumCaps::default(),
        );
        assert_eq!(&bytes[..], &NA_BYTES[..]);
        assert_eq!(
            na_repr().to_string(),
            "ICMP6, neighbor advertisement, tgt is 2001:db8::2, length 32"
        );
    }

    #[test]
    fn test_echo_golden() {
        let (src, dst) = (a("2001:db8::1"), a("2001:db8::2"));
        let p = Icmpv6Packet::new_checked(&ECHO_BYTES[..]).unwrap();
        assert_eq!(p.msg_type(), Icmpv6Message::EchoRequest);
        assert_eq!(p.checksum(), 0x670f);
        assert_eq!(p.echo_ident(), 0x1234);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.echo_data(), &[0xaa, 0, 0, 0xff]);
        let repr = Icmpv6Repr::parse(&src, &dst, &p, &ChecksumCaps::default()).unwrap();
        assert_eq!(
            repr,
            Icmpv6Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 1,
                data: &[0xaa, 0, 0, 0xff]
            }
        );
        let mut bytes = vec![0xa5; repr.buffer_len()];
        repr.emit(
            &src,
            &dst,
            &mut Icmpv6Packet::new_unchecked(&mut bytes),
            &ChecksumCaps::default(),
        );
        assert_eq!(&bytes[..], &ECHO_BYTES[..]);
        // The pseudo-header is covered: swapping the addresses breaks the checksum.
        assert_eq!(
            Icmpv6Repr::parse(&dst, &a("2001:db8::3"), &p, &ChecksumCaps::default()),
            Err(Error)
        );
    }

    #[test]
    fn test_ns_and_rs_round_trip() {
        let (src, dst) = (a("fe80::1"), a("ff02::1:ff00:2"));
        for repr in [
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr: a("2001:db8::2"),
                lladdr: Some(MAC),
            }),
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target_addr: a("2001:db8::2"),
                lladdr: None,
            }),
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr: Some(MAC) }),
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr: None }),
        ] {
            let mut bytes = vec![0xa5; repr.buffer_len()];
            repr.emit(
                &src,
                &dst,
                &mut Icmpv6Packet::new_unchecked(&mut bytes),
                &ChecksumCaps::default(),
            );
            let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(
                Icmpv6Repr::parse(&src, &dst, &p, &ChecksumCaps::default()).unwrap(),
                repr
            );
        }
    }

    #[test]
    fn test_truncated_and_bad_options() {
        let caps = ChecksumCaps::ignored();
        let (src, dst) = (a("2001:db8::2"), a("2001:db8::1"));
        for n in 0..24 {
            assert_eq!(
                Icmpv6Packet::new_checked(&NA_BYTES[..n]),
                Err(Error),
                "len {n}"
            );
        }
        // Options cut short: the announced 8 bytes are not all there.
        let p = Icmpv6Packet::new_checked(&NA_BYTES[..30]).unwrap();
        assert_eq!(Icmpv6Repr::parse(&src, &dst, &p, &caps), Err(Error));
        // Zero-length option.
        let mut bytes = NA_BYTES;
        bytes[25] = 0;
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Icmpv6Repr::parse(&src, &dst, &p, &caps), Err(Error));
        // Unknown option type is skipped: no lladdr.
        let mut bytes = NA_BYTES;
        bytes[24] = 14;
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        match Icmpv6Repr::parse(&src, &dst, &p, &caps) {
            Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert { lladdr, .. })) => {
                assert_eq!(lladdr, None)
            }
            other => panic!("unexpected {other:?}"),
        }
        // Nonzero code.
        let mut bytes = NA_BYTES;
        bytes[1] = 1;
        let p = Icmpv6Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Icmpv6Repr::parse(&src, &dst, &p, &caps), Err(Error));
    }
}
