//! The TCP segment as the connection sees it: a parsed header plus payload references.
//!
//! Independent of any wire crate (smoltcp's `TcpRepr` shape): the emulator converts frames to
//! and from this type, and checksums, data offsets and option padding are its business.

use crate::payload::Payload;
use crate::seq::SeqNumber;

/// Control bits the state machine acts on (URG is not modelled; ACK is [`Segment::ack`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Synchronize sequence numbers.
    pub syn: bool,
    /// No more data from the sender.
    pub fin: bool,
    /// Reset the connection.
    pub rst: bool,
    /// Push: the last segment of a send.
    pub psh: bool,
}

/// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018). Absent options are `None`/`false`/empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcpOptions {
    /// Maximum segment size (kind 2), only meaningful on SYNs.
    pub mss: Option<u16>,
    /// Window scale shift (kind 3), only meaningful on SYNs; values above 14 are read as 14.
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4).
    pub sack_permitted: bool,
    /// SACK blocks (kind 5) as (left, right) edges. Parsed by the emulator, ignored here.
    pub sack_ranges: Vec<(SeqNumber, SeqNumber)>,
    /// Timestamps (kind 8) as (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
}

/// One TCP segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment<P> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first octet (of the SYN when `flags.syn`).
    pub seq: SeqNumber,
    /// Acknowledgment number; `Some` exactly when the ACK bit is set.
    pub ack: Option<SeqNumber>,
    /// Control bits.
    pub flags: Flags,
    /// The window field as on the wire, not yet shifted by the window scale.
    pub window: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload, possibly in several chunks (e.g. one per skb frag), in stream order.
    pub payload: Vec<P>,
}

impl<P> Segment<P> {
    /// A segment with no payload, no flags, no options.
    pub fn new(src_port: u16, dst_port: u16, seq: SeqNumber) -> Self {
        Segment {
            src_port,
            dst_port,
            seq,
            ack: None,
            flags: Flags::default(),
            window: 0,
            options: TcpOptions::default(),
            payload: Vec::new(),
        }
    }

    /// The same segment with each payload `p` replaced by `f(p)`, in order.
    pub fn map_payload<T>(self, f: impl FnMut(P) -> T) -> Segment<T> {
        Segment {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            options: self.options,
            payload: self.payload.into_iter().map(f).collect(),
        }
    }
}

impl<P: Payload> Segment<P> {
    /// Payload bytes.
    pub fn payload_len(&self) -> usize {
        self.payload.iter().map(Payload::len).sum()
    }

    /// Sequence space consumed: payload plus one each for SYN and FIN (RFC 9293 SEG.LEN).
    pub fn seq_len(&self) -> usize {
        self.payload_len() + usize::from(self.flags.syn) + usize::from(self.flags.fin)
    }
}
