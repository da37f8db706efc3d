//! Wire formats for the emulated network stack: Ethernet, ARP, IPv4, IPv6, ICMPv4, ICMPv6
//! (echo and neighbour discovery), TCP, UDP, plus classic pcap and tcpdump-style printing.
//!
//! Every protocol comes in two levels, as in smoltcp's `wire` module:
//!
//! * a `Packet<T: AsRef<[u8]>>` view over bytes (`EthernetFrame`, `Ipv6Packet`, `TcpPacket`, ...)
//!   with one-line getters, `set_*` twins and `payload()`/`payload_mut()`;
//! * a validated `Repr` that parses from `&Packet<&T>` and emits into `&mut Packet<&mut T>`.
//!
//! The contract: after `check_len()` (which `new_checked` calls) succeeds, no accessor of a
//! packet view panics, so untrusted bytes always go through `new_checked`. On the emit path use
//! `new_unchecked` on a buffer of `Repr::buffer_len()` bytes: checking a reused buffer would
//! look at stale contents. `Repr::parse` never panics on any input.
//!
//! The layers, bottom up: [`ethernet`], [`arp`], [`ip`] (protocol numbers, shared address
//! enum), [`ipv4`], [`ipv6`], [`icmpv4`], [`icmpv6`], [`tcp`], [`udp`]; then [`checksum`]
//! (one's-complement arithmetic over scattered chunks), [`frame`] (whole-frame parse and build),
//! [`pcap`] and [`pretty`].
#![deny(unsafe_code)]

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod frame;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod pcap;
pub mod pretty;
pub mod tcp;
pub mod udp;

use core::fmt;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
pub use frame::{ParsedFrame, Transport, build_icmpv6_frame, build_tcp_frame, parse_frame};
pub use icmpv4::{Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6Message, Icmpv6Packet, Icmpv6Repr, NdiscNeighborFlags, NdiscRepr};
pub use ip::{IpProtocol, IpRepr};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use pcap::{PcapReader, PcapRecord, PcapWriter};
pub use tcp::{
    TcpChecksum, TcpFlags, TcpOption, TcpPacket, TcpRepr, TcpSeqNumber, TcpTimestampRepr,
};
pub use udp::{UdpPacket, UdpRepr};

/// Byte ranges of header fields, shared by every `mod field`.
pub(crate) mod field {
    pub type Field = core::ops::Range<usize>;
    pub type Rest = core::ops::RangeFrom<usize>;
}

/// The parsing error: the bytes are either malformed or describe something this crate does not
/// support. Deliberately carries no detail (smoltcp's `wire::Error`): a stack drops such frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("wire: malformed or unsupported")
    }
}

impl std::error::Error for Error {}

/// Result of wire parsing.
pub type Result<T> = core::result::Result<T, Error>;

/// Which direction(s) the stack itself computes or verifies a checksum in; the rest is
/// offloaded to the device (smoltcp's `Checksum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksum {
    /// Verify on receive and compute on transmit.
    #[default]
    Both,
    /// Verify on receive only.
    Rx,
    /// Compute on transmit only.
    Tx,
    /// Neither: the device does both.
    None,
}

impl Checksum {
    /// Whether received checksums must be verified.
    pub fn rx(self) -> bool {
        matches!(self, Checksum::Both | Checksum::Rx)
    }

    /// Whether transmitted checksums must be computed.
    pub fn tx(self) -> bool {
        matches!(self, Checksum::Both | Checksum::Tx)
    }
}

/// Per-protocol checksum offloads of a device (smoltcp's `ChecksumCapabilities`). A NIC profile
/// is a value of this type, not a code branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChecksumCaps {
    /// IPv4 header checksum.
    pub ipv4: Checksum,
    /// UDP checksum.
    pub udp: Checksum,
    /// TCP checksum.
    pub tcp: Checksum,
    /// ICMPv4 checksum.
    pub icmpv4: Checksum,
    /// ICMPv6 checksum.
    pub icmpv6: Checksum,
}

impl ChecksumCaps {
    /// Every checksum left to the device: nothing verified, nothing computed.
    pub fn ignored() -> Self {
        ChecksumCaps {
            ipv4: Checksum::None,
            udp: Checksum::None,
            tcp: Checksum::None,
            icmpv4: Checksum::None,
            icmpv6: Checksum::None,
        }
    }
}
