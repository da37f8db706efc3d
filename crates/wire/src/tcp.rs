//! TCP (RFC 9293) segments: header view, options, sequence-number arithmetic, and a `Repr` that
//! can emit either a whole segment or only a header for a payload that is not in the buffer
//! (devmem: the payload lives in device memory and the NIC DMAs it in later).

use core::fmt;
use core::net::IpAddr;
use core::ops;

use crate::checksum::{self, Accumulator};
use crate::ip::IpProtocol;
use crate::{ChecksumCaps, Error, Result};

/// A TCP sequence number: arithmetic wraps modulo 2^32 and comparisons are made on the signed
/// distance, so `a < b` means "b is ahead of a by less than 2^31". Kernel: `before()` /
/// `after()` in include/net/tcp.h.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpSeqNumber(pub u32);

impl TcpSeqNumber {
    /// The later of two sequence numbers.
    pub fn max(self, rhs: Self) -> Self {
        if self > rhs { self } else { rhs }
    }

    /// The earlier of two sequence numbers.
    pub fn min(self, rhs: Self) -> Self {
        if self < rhs { self } else { rhs }
    }

    /// Signed distance `self - rhs`.
    pub fn distance(self, rhs: Self) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }
}

impl fmt::Display for TcpSeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ops::Add<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    /// Advance by `rhs` bytes, modulo 2^32.
    fn add(self, rhs: usize) -> Self {
        TcpSeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::Sub<usize> for TcpSeqNumber {
    type Output = TcpSeqNumber;
    /// Go back `rhs` bytes, modulo 2^32.
    fn sub(self, rhs: usize) -> Self {
        TcpSeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl ops::AddAssign<usize> for TcpSeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl ops::Sub for TcpSeqNumber {
    type Output = i32;
    /// Signed distance, as [`distance`](Self::distance).
    fn sub(self, rhs: Self) -> i32 {
        self.distance(rhs)
    }
}

impl PartialOrd for TcpSeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.distance(*other).cmp(&0))
    }
}

/// The TCP flag byte (byte 13 of the header). The AE/NS bit in byte 12 is not modelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// URG.
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECE.
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// CWR.
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// No flags.
    pub const EMPTY: TcpFlags = TcpFlags(0);

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    pub fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Set the flags of `other`.
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0
    }

    /// Clear the flags of `other`.
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0
    }

    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, rhs: Self) -> Self {
        TcpFlags(self.0 | rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's letters in its order: `F S R P U . E W`, or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LETTERS: [(TcpFlags, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        if self.is_empty() {
            return f.write_str("none");
        }
        for (flag, c) in LETTERS {
            if self.contains(flag) {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

mod field {
    use crate::field::*;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS: Rest = 20..;
}

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = field::URGENT.end;
/// Maximum option space (data offset 15 words).
pub const MAX_OPTIONS_LEN: usize = 40;

/// Option kinds (include/net/tcp.h `TCPOPT_*`).
mod kind {
    pub const EOL: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WINDOW: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TIMESTAMP: u8 = 8;
}

/// Largest window shift a peer may announce (RFC 7323 §2.3). Kernel: `TCP_MAX_WSCALE`.
pub const MAX_WINDOW_SCALE: u8 = 14;

/// A read/write view of a TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

fn get_u16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn get_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wrap a buffer without checking its length.
    pub fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Wrap a buffer and [`check_len`](Self::check_len) it.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Ensure the fixed header and the options the data offset announces are present, and the
    /// data offset is at least 5 words. Kernel: the checks at the top of `tcp_v4_rcv()`.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN || header_len > len {
            return Err(Error);
        }
        Ok(())
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

    /// Return the sequence number field.
    pub fn seq_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(get_u32(&self.buffer.as_ref()[field::SEQ_NUM]))
    }

    /// Return the acknowledgement number field (meaningful only with ACK).
    pub fn ack_number(&self) -> TcpSeqNumber {
        TcpSeqNumber(get_u32(&self.buffer.as_ref()[field::ACK_NUM]))
    }

    /// Return the header length in bytes (data offset × 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }

    /// Return the flag byte.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }

    /// Return the FIN flag.
    pub fn fin(&self) -> bool {
        self.flags().contains(TcpFlags::FIN)
    }

    /// Return the SYN flag.
    pub fn syn(&self) -> bool {
        self.flags().contains(TcpFlags::SYN)
    }

    /// Return the RST flag.
    pub fn rst(&self) -> bool {
        self.flags().contains(TcpFlags::RST)
    }

    /// Return the PSH flag.
    pub fn psh(&self) -> bool {
        self.flags().contains(TcpFlags::PSH)
    }

    /// Return the ACK flag.
    pub fn ack(&self) -> bool {
        self.flags().contains(TcpFlags::ACK)
    }

    /// Return the URG flag.
    pub fn urg(&self) -> bool {
        self.flags().contains(TcpFlags::URG)
    }

    /// Return the ECE flag.
    pub fn ece(&self) -> bool {
        self.flags().contains(TcpFlags::ECE)
    }

    /// Return the CWR flag.
    pub fn cwr(&self) -> bool {
        self.flags().contains(TcpFlags::CWR)
    }

    /// Return the window size field.
    pub fn window_len(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::WIN_SIZE])
    }

    /// Return the checksum field.
    pub fn checksum(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Return the urgent pointer field.
    pub fn urgent_at(&self) -> u16 {
        get_u16(&self.buffer.as_ref()[field::URGENT])
    }

    /// Return the segment length in sequence space: payload plus one for SYN and for FIN.
    pub fn segment_len(&self) -> usize {
        let payload = self.buffer.as_ref().len() - usize::from(self.header_len());
        payload + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// Whether the checksum over the pseudo-header and the whole buffer is correct.
    /// Mixed address families never verify. Kernel: `tcp_checksum_complete()`.
    pub fn verify_checksum(&self, src: &IpAddr, dst: &IpAddr) -> bool {
        let data = self.buffer.as_ref();
        let Ok(len) = u32::try_from(data.len()) else {
            return false;
        };
        let Ok(pseudo) = checksum::pseudo_header(src, dst, IpProtocol::Tcp, len) else {
            return false;
        };
        let mut acc = Accumulator::new();
        acc.add_sum(pseudo);
        acc.add(data);
        acc.sum() == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// Return the options bytes.
    pub fn options(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::OPTIONS.start..usize::from(self.header_len())]
    }

    /// Return the payload.
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[usize::from(self.header_len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    /// Set the source port field.
    pub fn set_src_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::SRC_PORT].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the destination port field.
    pub fn set_dst_port(&mut self, value: u16) {
        self.buffer.as_mut()[field::DST_PORT].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the sequence number field.
    pub fn set_seq_number(&mut self, value: TcpSeqNumber) {
        self.buffer.as_mut()[field::SEQ_NUM].copy_from_slice(&value.0.to_be_bytes())
    }

    /// Set the acknowledgement number field.
    pub fn set_ack_number(&mut self, value: TcpSeqNumber) {
        self.buffer.as_mut()[field::ACK_NUM].copy_from_slice(&value.0.to_be_bytes())
    }

    /// Set the header length in bytes (multiple of 4, 20..=60); clears the reserved bits.
    pub fn set_header_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = (value / 4) << 4
    }

    /// Set the flag byte.
    pub fn set_flags(&mut self, value: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = value.0
    }

    fn set_flag(&mut self, flag: TcpFlags, value: bool) {
        let mut flags = self.flags();
        if value {
            flags.insert(flag)
        } else {
            flags.remove(flag)
        }
        self.set_flags(flags)
    }

    /// Set the FIN flag.
    pub fn set_fin(&mut self, value: bool) {
        self.set_flag(TcpFlags::FIN, value)
    }

    /// Set the SYN flag.
    pub fn set_syn(&mut self, value: bool) {
        self.set_flag(TcpFlags::SYN, value)
    }

    /// Set the RST flag.
    pub fn set_rst(&mut self, value: bool) {
        self.set_flag(TcpFlags::RST, value)
    }

    /// Set the PSH flag.
    pub fn set_psh(&mut self, value: bool) {
        self.set_flag(TcpFlags::PSH, value)
    }

    /// Set the ACK flag.
    pub fn set_ack(&mut self, value: bool) {
        self.set_flag(TcpFlags::ACK, value)
    }

    /// Set the URG flag.
    pub fn set_urg(&mut self, value: bool) {
        self.set_flag(TcpFlags::URG, value)
    }

    /// Set the ECE flag.
    pub fn set_ece(&mut self, value: bool) {
        self.set_flag(TcpFlags::ECE, value)
    }

    /// Set the CWR flag.
    pub fn set_cwr(&mut self, value: bool) {
        self.set_flag(TcpFlags::CWR, value)
    }

    /// Set the window size field.
    pub fn set_window_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::WIN_SIZE].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes())
    }

    /// Set the urgent pointer field.
    pub fn set_urgent_at(&mut self, value: u16) {
        self.buffer.as_mut()[field::URGENT].copy_from_slice(&value.to_be_bytes())
    }

    /// Return a mutable view of the options.
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.header_len());
        &mut self.buffer.as_mut()[field::OPTIONS.start..end]
    }

    /// Return a mutable view of the payload.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = usize::from(self.header_len());
        &mut self.buffer.as_mut()[start..]
    }

    /// Compute and store the checksum over the pseudo-header and the whole buffer.
    pub fn fill_checksum(&mut self, src: &IpAddr, dst: &IpAddr) -> Result<()> {
        let len = u32::try_from(self.buffer.as_ref().len()).map_err(|_| Error)?;
        let pseudo = checksum::pseudo_header(src, dst, IpProtocol::Tcp, len)?;
        self.set_checksum(0);
        let mut acc = Accumulator::new();
        acc.add_sum(pseudo);
        acc.add(self.buffer.as_ref());
        self.set_checksum(acc.checksum());
        Ok(())
    }

    /// Finish a `CHECKSUM_PARTIAL` checksum the way a NIC's TX checksum offload does: the
    /// buffer holds the header only, its checksum field holds the pseudo-header sum (see
    /// [`TcpChecksum::Partial`]), and `payload` are the bytes the NIC DMAs after it. Sums
    /// from the header start (`csum_start`) over header and payload and stores the inverted
    /// result at `csum_offset`. Kernel: what `skb_checksum_help()` does in software.
    pub fn finish_partial_checksum(&mut self, payload: &[&[u8]]) {
        let mut acc = Accumulator::new();
        acc.add(self.buffer.as_ref());
        for chunk in payload {
            acc.add(chunk);
        }
        self.set_checksum(acc.checksum())
    }
}

/// A TCP timestamps option (RFC 7323 §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpTimestampRepr {
    /// TSval.
    pub tsval: u32,
    /// TSecr.
    pub tsecr: u32,
}

/// One TCP option as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list (kind 0).
    EndOfList,
    /// Padding (kind 1).
    NoOperation,
    /// Maximum segment size (kind 2).
    MaxSegmentSize(u16),
    /// Window scale shift (kind 3).
    WindowScale(u8),
    /// SACK permitted (kind 4).
    SackPermitted,
    /// SACK blocks (kind 5), at most 3 kept.
    SackRange([Option<(u32, u32)>; 3]),
    /// Timestamps (kind 8).
    Timestamp(TcpTimestampRepr),
    /// Any other option, or a known one with a wrong length.
    Unknown {
        /// Kind byte.
        kind: u8,
        /// Bytes after kind and length.
        data: &'a [u8],
    },
}

impl<'a> TcpOption<'a> {
    /// Parse one option from the front of `buffer`, returning it and the rest. A length byte
    /// below 2 or past the end ends the walk with an error; the caller stops parsing there, as
    /// Linux does ("silly options"/partial options). Known kinds with a wrong length come back
    /// as `Unknown`, which Linux likewise ignores. Kernel: `tcp_parse_options()`.
    pub fn parse(buffer: &'a [u8]) -> Result<(&'a [u8], TcpOption<'a>)> {
        let (&k, rest) = buffer.split_first().ok_or(Error)?;
        match k {
            kind::EOL => return Ok((&[], TcpOption::EndOfList)),
            kind::NOP => return Ok((rest, TcpOption::NoOperation)),
            _ => {}
        }
        let &len = rest.first().ok_or(Error)?;
        let len = usize::from(len);
        if len < 2 || len > buffer.len() {
            return Err(Error);
        }
        let data = &buffer[2..len];
        let rest = &buffer[len..];
        let option = match (k, data.len()) {
            (kind::MSS, 2) => TcpOption::MaxSegmentSize(get_u16(data)),
            (kind::WINDOW, 1) => TcpOption::WindowScale(data[0]),
            (kind::SACK_PERM, 0) => TcpOption::SackPermitted,
            (kind::TIMESTAMP, 8) => TcpOption::Timestamp(TcpTimestampRepr {
                tsval: get_u32(&data[0..4]),
                tsecr: get_u32(&data[4..8]),
            }),
            (kind::SACK, n) if n > 0 && n % 8 == 0 => {
                let mut ranges = [None; 3];
                for (slot, block) in ranges.iter_mut().zip(data.chunks_exact(8)) {
                    *slot = Some((get_u32(&block[0..4]), get_u32(&block[4..8])));
                }
                TcpOption::SackRange(ranges)
            }
            (kind, _) => TcpOption::Unknown { kind, data },
        };
        Ok((rest, option))
    }

    /// Encoded length.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(r) => 2 + 8 * r.iter().flatten().count(),
            TcpOption::Timestamp(_) => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Write the option at the front of `buffer`, returning the rest.
    pub fn emit<'b>(&self, buffer: &'b mut [u8]) -> &'b mut [u8] {
        let len = self.buffer_len();
        let (out, rest) = buffer.split_at_mut(len);
        match *self {
            TcpOption::EndOfList => out[0] = kind::EOL,
            TcpOption::NoOperation => out[0] = kind::NOP,
            TcpOption::MaxSegmentSize(mss) => {
                out[0] = kind::MSS;
                out[2..4].copy_from_slice(&mss.to_be_bytes());
            }
            TcpOption::WindowScale(shift) => {
                out[0] = kind::WINDOW;
                out[2] = shift;
            }
            TcpOption::SackPermitted => out[0] = kind::SACK_PERM,
            TcpOption::SackRange(ranges) => {
                out[0] = kind::SACK;
                for (block, (l, r)) in out[2..].chunks_exact_mut(8).zip(ranges.iter().flatten()) {
                    block[0..4].copy_from_slice(&l.to_be_bytes());
                    block[4..8].copy_from_slice(&r.to_be_bytes());
                }
            }
            TcpOption::Timestamp(ts) => {
                out[0] = kind::TIMESTAMP;
                out[2..6].copy_from_slice(&ts.tsval.to_be_bytes());
                out[6..10].copy_from_slice(&ts.tsecr.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                out[0] = kind;
                out[2..].copy_from_slice(data);
            }
        }
        if len > 1 {
            out[1] = len as u8;
        }
        rest
    }
}

/// How [`TcpRepr::emit_header`] fills the checksum field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpChecksum<'c> {
    /// The full checksum, over the header and these payload chunks (scatter-gather: what a
    /// NIC's TX checksum offload sees as it DMAs the frags). Chunk lengths may be odd.
    Chunks(&'c [&'c [u8]]),
    /// `CHECKSUM_PARTIAL`: the folded pseudo-header sum, not inverted, as Linux leaves it for
    /// the device to finish (see [`TcpPacket::finish_partial_checksum`]).
    /// Kernel: `__tcp_v4_send_check()` / `__tcp_v6_send_check()`.
    Partial,
    /// Zero, for a device that computes the checksum from scratch.
    Zero,
}

/// A parsed TCP segment.
///
/// ACK is not in `flags`: it is expressed by `ack_number` being `Some` (emit sets the ACK bit
/// exactly then; parse strips it from `flags`), so the two cannot disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: TcpSeqNumber,
    /// Acknowledgement number, present iff ACK is set.
    pub ack_number: Option<TcpSeqNumber>,
    /// Every flag except ACK.
    pub flags: TcpFlags,
    /// Raw (unscaled) window field.
    pub window_len: u16,
    /// Urgent pointer field.
    pub urgent_pointer: u16,
    /// MSS option.
    pub max_seg_size: Option<u16>,
    /// Window scale option (clamped to 14 on parse, as Linux does).
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks, filled from the front.
    pub sack_ranges: [Option<(u32, u32)>; 3],
    /// Timestamps option.
    pub timestamp: Option<TcpTimestampRepr>,
    /// Payload bytes.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parse a segment between `src` and `dst` (checksum per `caps.tcp.rx()`). Port zero is
    /// invalid. Unknown options are skipped; a malformed option length ends option parsing
    /// without failing the segment (Linux: `tcp_parse_options()`).
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &TcpPacket<&'a T>,
        src: &IpAddr,
        dst: &IpAddr,
        caps: &ChecksumCaps,
    ) -> Result<Self> {
        packet.check_len()?;
        if packet.src_port() == 0 || packet.dst_port() == 0 {
            return Err(Error);
        }
        if caps.tcp.rx() && !packet.verify_checksum(src, dst) {
            return Err(Error);
        }
        let mut flags = packet.flags();
        let ack_number = flags.contains(TcpFlags::ACK).then(|| packet.ack_number());
        flags.remove(TcpFlags::ACK);
        let mut repr = TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number,
            flags,
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_at(),
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: packet.payload(),
        };
        let mut options = packet.options();
        while !options.is_empty() {
            let Ok((rest, option)) = TcpOption::parse(options) else {
                break;
            };
            match option {
                TcpOption::EndOfList => break,
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(ws) => repr.window_scale = Some(ws.min(MAX_WINDOW_SCALE)),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(r) => repr.sack_ranges = r,
                TcpOption::Timestamp(ts) => repr.timestamp = Some(ts),
                TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
            options = rest;
        }
        Ok(repr)
    }

    /// The options in emit order, following Linux's `tcp_options_write()` layout so every
    /// option is 4-byte aligned without trailing padding: MSS; SACK-permitted folded into the
    /// timestamp word (or NOP NOP SACK-permitted); NOP window-scale; NOP NOP SACK blocks
    /// (as many as fit in 40 bytes, like `tcp_established_options()`). Each option goes to
    /// `f` in turn: sizing and emitting walk this one layout, and nothing is collected (the
    /// header of every segment sent is laid out here).
    #[inline]
    fn for_each_option(&self, mut f: impl FnMut(TcpOption<'static>)) {
        let mut used = 0;
        if let Some(mss) = self.max_seg_size {
            f(TcpOption::MaxSegmentSize(mss));
            used += 4;
        }
        match (self.timestamp, self.sack_permitted) {
            (Some(ts), true) => {
                f(TcpOption::SackPermitted);
                f(TcpOption::Timestamp(ts));
                used += 12;
            }
            (Some(ts), false) => {
                f(TcpOption::NoOperation);
                f(TcpOption::NoOperation);
                f(TcpOption::Timestamp(ts));
                used += 12;
            }
            (None, true) => {
                f(TcpOption::NoOperation);
                f(TcpOption::NoOperation);
                f(TcpOption::SackPermitted);
                used += 4;
            }
            (None, false) => {}
        }
        if let Some(ws) = self.window_scale {
            f(TcpOption::NoOperation);
            f(TcpOption::WindowScale(ws));
            used += 4;
        }
        if self.sack_ranges.iter().all(Option::is_none) {
            return;
        }
        let room = MAX_OPTIONS_LEN.saturating_sub(used + 4) / 8;
        let count = self.sack_ranges.iter().flatten().count().min(room);
        if count > 0 {
            let mut ranges = [None; 3];
            for (slot, r) in ranges
                .iter_mut()
                .zip(self.sack_ranges.iter().flatten())
                .take(count)
            {
                *slot = Some(*r);
            }
            f(TcpOption::NoOperation);
            f(TcpOption::NoOperation);
            f(TcpOption::SackRange(ranges));
        }
    }

    /// Length of the options [`for_each_option`](Self::for_each_option) lays out, option
    /// by option (what [`header_len`](Self::header_len) adds up in closed form; the tests
    /// compare the two).
    #[cfg(test)]
    fn options_len(&self) -> usize {
        let mut len = 0;
        self.for_each_option(|o| len += o.buffer_len());
        len
    }

    /// Header length including options: the words of
    /// [`for_each_option`](Self::for_each_option)'s layout added up without walking it (it
    /// is taken for every segment sent): MSS 4; timestamp (with SACK-permitted folded in
    /// or two NOPs) 12, else SACK-permitted with two NOPs 4; NOP window-scale 4; NOP NOP
    /// and the SACK blocks that fit, 4 + 8 each.
    #[inline]
    pub fn header_len(&self) -> usize {
        let mut used = 0;
        if self.max_seg_size.is_some() {
            used += 4;
        }
        if self.timestamp.is_some() {
            used += 12;
        } else if self.sack_permitted {
            used += 4;
        }
        if self.window_scale.is_some() {
            used += 4;
        }
        let ranges = self.sack_ranges.iter().flatten().count();
        if ranges > 0 {
            let room = MAX_OPTIONS_LEN.saturating_sub(used + 4) / 8;
            let count = ranges.min(room);
            if count > 0 {
                used += 4 + 8 * count;
            }
        }
        HEADER_LEN + used
    }

    /// Segment length: header plus payload.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Length in sequence space: payload plus one each for SYN and FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len()
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// The fixed header and the options; `header_len` is [`header_len`](Self::header_len).
    fn emit_fixed<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        header_len: usize,
    ) {
        let mut flags = self.flags;
        flags.remove(TcpFlags::ACK);
        if self.ack_number.is_some() {
            flags.insert(TcpFlags::ACK);
        }
        // The fixed 20 bytes are laid out on the stack and written with one bounds check
        // (the same bytes the field setters write, checksum 0).
        let mut fixed = [0u8; HEADER_LEN];
        fixed[field::SRC_PORT].copy_from_slice(&self.src_port.to_be_bytes());
        fixed[field::DST_PORT].copy_from_slice(&self.dst_port.to_be_bytes());
        fixed[field::SEQ_NUM].copy_from_slice(&self.seq_number.0.to_be_bytes());
        let ack = self.ack_number.unwrap_or_default();
        fixed[field::ACK_NUM].copy_from_slice(&ack.0.to_be_bytes());
        fixed[field::DATA_OFF] = (header_len as u8 / 4) << 4;
        fixed[field::FLAGS] = flags.0;
        fixed[field::WIN_SIZE].copy_from_slice(&self.window_len.to_be_bytes());
        fixed[field::URGENT].copy_from_slice(&self.urgent_pointer.to_be_bytes());
        packet.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&fixed);
        // Every option takes at least one byte, so a bare header has none to lay out.
        if header_len > HEADER_LEN {
            let mut buf = packet.options_mut();
            self.for_each_option(|option| {
                buf = option.emit(std::mem::take(&mut buf));
            });
        }
    }

    /// Write the whole segment (header and payload) into a buffer of exactly
    /// [`buffer_len`](Self::buffer_len) bytes, checksum per `caps.tcp.tx()` (else zero).
    /// Fails only for mixed address families.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        checksum::pseudo_header(src, dst, IpProtocol::Tcp, 0)?;
        self.emit_fixed(packet, self.header_len());
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
        if caps.tcp.tx() {
            packet.fill_checksum(src, dst)?;
        }
        Ok(())
    }

    /// Write only the header, for a payload of `payload_len` bytes that is not in the buffer
    /// (`self.payload` is ignored). `packet` needs [`header_len`](Self::header_len) bytes.
    /// With [`TcpChecksum::Chunks`] the chunks must add up to `payload_len`.
    #[inline]
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: &IpAddr,
        dst: &IpAddr,
        payload_len: usize,
        policy: TcpChecksum<'_>,
    ) -> Result<()> {
        let header_len = self.header_len();
        let seg_len = u32::try_from(header_len + payload_len).map_err(|_| Error)?;
        let pseudo = checksum::pseudo_header(src, dst, IpProtocol::Tcp, seg_len)?;
        if packet.buffer.as_ref().len() < header_len {
            return Err(Error);
        }
        if let TcpChecksum::Chunks(chunks) = policy
            && chunks.iter().map(|c| c.len()).sum::<usize>() != payload_len
        {
            return Err(Error);
        }
        self.emit_fixed(packet, header_len);
        match policy {
            TcpChecksum::Chunks(chunks) => {
                let mut acc = Accumulator::new();
                acc.add_sum(pseudo);
                acc.add(&packet.buffer.as_ref()[..header_len]);
                for chunk in chunks {
                    acc.add(chunk);
                }
                packet.set_checksum(acc.checksum());
            }
            TcpChecksum::Partial => packet.set_checksum(pseudo),
            TcpChecksum::Zero => {}
        }
        Ok(())
    }
}

impl fmt::Display for TcpRepr<'_> {
    /// tcpdump style (absolute sequence numbers, as `-S`):
    /// `Flags [S], seq 1, win 65535, options [mss 1460,wscale 7], length 0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut flags = self.flags;
        if self.ack_number.is_some() {
            flags.insert(TcpFlags::ACK);
        }
        write!(f, "Flags [{flags}]")?;
        let len = self.payload.len();
        if len > 0 {
            write!(f, ", seq {}:{}", self.seq_number, self.seq_number + len)?;
        } else if flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
            write!(f, ", seq {}", self.seq_number)?;
        }
        if let Some(ack) = self.ack_number {
            write!(f, ", ack {ack}")?;
        }
        write!(f, ", win {}", self.window_len)?;
        if flags.contains(TcpFlags::URG) {
            write!(f, ", urg {}", self.urgent_pointer)?;
        }
        let mut opts: Vec<String> = Vec::new();
        if let Some(mss) = self.max_seg_size {
            opts.push(format!("mss {mss}"));
        }
        if self.sack_permitted {
            opts.push("sackOK".into());
        }
        if let Some(ts) = self.timestamp {
            opts.push(format!("TS val {} ecr {}", ts.tsval, ts.tsecr));
        }
        if let Some(ws) = self.window_scale {
            opts.push(format!("wscale {ws}"));
        }
        let sacks: Vec<String> = self
            .sack_ranges
            .iter()
            .flatten()
            .map(|(l, r)| format!("{{{l}:{r}}}"))
            .collect();
        if !sacks.is_empty() {
            opts.push(format!("sack {} {}", sacks.len(), sacks.concat()));
        }
        if !opts.is_empty() {
            write!(f, ", options [{}]", opts.join(","))?;
        }
        write!(f, ", length {len}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse::<Ipv6Addr>().unwrap())
    }

    fn src() -> IpAddr {
        v6("2001:db8::1")
    }

    fn dst() -> IpAddr {
        v6("2001:db8::2")
    }

    /// A SYN from 2001:db8::1.5201 to 2001:db8::2.80, as Linux lays out its options.
    static SYN_BYTES: [u8; 40] = [
        0x14, 0x51, // source port 5201
        0x00, 0x50, // destination port 80
        0x00, 0x00, 0x00, 0x01, // sequence number 1
        0x00, 0x00, 0x00, 0x00, // acknowledgement number (no ACK)
        0xa0, // data offset 10 words = 40 bytes
        0x02, // flags: SYN
        0xff, 0xff, // window 65535
        0xd7, 0x85, // checksum over the 2001:db8::1 -> 2001:db8::2 pseudo-header
        0x00, 0x00, // urgent pointer
        0x02, 0x04, 0x05, 0xb4, // MSS 1460
        0x04, 0x02, // SACK permitted
        0x08, 0x0a, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, // TS val 100 ecr 0
        0x01, // NOP
        0x03, 0x03, 0x07, // window scale 7
    ];

    fn syn_bytes() -> [u8; 40] {
        SYN_BYTES
    }

    const SYN_CHECKSUM: u16 = 0xd785;

    fn syn_repr() -> TcpRepr<'static> {
        TcpRepr {
            src_port: 5201,
            dst_port: 80,
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            flags: TcpFlags::SYN,
            window_len: 65535,
            urgent_pointer: 0,
            max_seg_size: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_ranges: [None; 3],
            timestamp: Some(TcpTimestampRepr {
                tsval: 100,
                tsecr: 0,
            }),
            payload: &[],
        }
    }

    #[test]
    fn test_deconstruct() {
        let bytes = syn_bytes();
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.src_port(), 5201);
        assert_eq!(p.dst_port(), 80);
        assert_eq!(p.seq_number(), TcpSeqNumber(1));
        assert_eq!(p.ack_number(), TcpSeqNumber(0));
        assert_eq!(p.header_len(), 40);
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh());
        assert!(!p.urg() && !p.ece() && !p.cwr());
        assert_eq!(p.window_len(), 65535);
        assert_eq!(p.checksum(), SYN_CHECKSUM);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options(), &SYN_BYTES[20..]);
        assert_eq!(p.payload(), &[] as &[u8]);
        assert_eq!(p.segment_len(), 1);
        assert!(p.verify_checksum(&src(), &dst()));
    }

    #[test]
    fn test_construct() {
        let mut bytes = vec![0xa5; 40];
        let mut p = TcpPacket::new_unchecked(&mut bytes);
        p.set_src_port(5201);
        p.set_dst_port(80);
        p.set_seq_number(TcpSeqNumber(1));
        p.set_ack_number(TcpSeqNumber(0));
        p.set_header_len(40);
        p.set_flags(TcpFlags::EMPTY);
        p.set_syn(true);
        p.set_window_len(65535);
        p.set_urgent_at(0);
        p.options_mut().copy_from_slice(&SYN_BYTES[20..]);
        p.fill_checksum(&src(), &dst()).unwrap();
        assert_eq!(&bytes[..], &syn_bytes()[..]);
    }

    #[test]
    fn test_parse_emit() {
        let bytes = syn_bytes();
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        let repr = TcpRepr::parse(&p, &src(), &dst(), &ChecksumCaps::default()).unwrap();
        assert_eq!(repr, syn_repr());
        assert_eq!(repr.buffer_len(), 40);
        let mut out = vec![0xa5; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out),
            &src(),
            &dst(),
            &ChecksumCaps::default(),
        )
        .unwrap();
        assert_eq!(&out[..], &bytes[..]);
        assert_eq!(
            repr.to_string(),
            "Flags [S], seq 1, win 65535, options [mss 1460,sackOK,TS val 100 ecr 0,wscale 7], length 0"
        );
    }

    #[test]
    fn test_flags_and_ack() {
        let repr = TcpRepr {
            ack_number: Some(TcpSeqNumber(77)),
            flags: TcpFlags::PSH | TcpFlags::ECE | TcpFlags::CWR | TcpFlags::URG | TcpFlags::FIN,
            urgent_pointer: 3,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            timestamp: None,
            payload: b"hello",
            ..syn_repr()
        };
        let mut out = vec![0xa5; repr.buffer_len()];
        let caps = ChecksumCaps::default();
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out),
            &src(),
            &dst(),
            &caps,
        )
        .unwrap();
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(p.flags(), TcpFlags(0xf9));
        assert!(p.ack() && p.psh() && p.ece() && p.cwr() && p.urg() && p.fin() && !p.syn());
        assert_eq!(p.ack_number(), TcpSeqNumber(77));
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.payload(), b"hello");
        assert_eq!(TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap(), repr);
        assert_eq!(
            repr.to_string(),
            "Flags [FPU.EW], seq 1:6, ack 77, win 65535, urg 3, length 5"
        );
    }

    /// header_len()'s closed form is the length of the options for_each_option() lays
    /// out, for every mix of options and SACK slots (holes included).
    #[test]
    fn header_len_is_the_laid_out_options() {
        let ts = TcpTimestampRepr { tsval: 1, tsecr: 2 };
        for bits in 0..128u32 {
            let bit = |i: u32| bits & (1 << i) != 0;
            let mut sack_ranges = [None; 3];
            for (i, slot) in sack_ranges.iter_mut().enumerate() {
                if bit(4 + i as u32) {
                    *slot = Some((10 * i as u32, 10 * i as u32 + 5));
                }
            }
            let repr = TcpRepr {
                max_seg_size: bit(0).then_some(1460),
                timestamp: bit(1).then_some(ts),
                sack_permitted: bit(2),
                window_scale: bit(3).then_some(7),
                sack_ranges,
                ..syn_repr()
            };
            assert_eq!(
                repr.header_len(),
                HEADER_LEN + repr.options_len(),
                "{repr:?}"
            );
        }
    }

    #[test]
    fn test_sack_blocks_and_option_space() {
        let repr = TcpRepr {
            flags: TcpFlags::EMPTY,
            ack_number: Some(TcpSeqNumber(5)),
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [Some((10, 20)), Some((30, 40)), Some((50, 60))],
            ..syn_repr()
        };
        // NOP NOP TS (12) + NOP NOP SACK 3 blocks (28) = 40 bytes of options.
        assert_eq!(repr.header_len(), 60);
        let mut out = vec![0xa5; repr.buffer_len()];
        let caps = ChecksumCaps::default();
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out),
            &src(),
            &dst(),
            &caps,
        )
        .unwrap();
        assert_eq!(&out[20..24], &[1, 1, 8, 10]);
        assert_eq!(&out[32..36], &[1, 1, 5, 26]);
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap(), repr);
        // With MSS and window scale too, only the blocks that fit are sent.
        let crowded = TcpRepr {
            max_seg_size: Some(1000),
            window_scale: Some(2),
            ..repr
        };
        // MSS (4) + NOP NOP TS (12) + NOP WS (4) leave 20 bytes: NOP NOP and two blocks.
        assert_eq!(crowded.header_len(), 60);
        let mut out = vec![0xa5; crowded.buffer_len()];
        crowded
            .emit(
                &mut TcpPacket::new_unchecked(&mut out),
                &src(),
                &dst(),
                &caps,
            )
            .unwrap();
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        let parsed = TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap();
        assert_eq!(parsed.sack_ranges, [Some((10, 20)), Some((30, 40)), None]);
    }

    #[test]
    fn test_unknown_and_malformed_options() {
        // Header with 12 option bytes: unknown kind 30 len 4, EOL, garbage after EOL.
        let mut bytes = vec![0u8; 32];
        {
            let mut p = TcpPacket::new_unchecked(&mut bytes);
            p.set_src_port(1);
            p.set_dst_port(2);
            p.set_header_len(32);
            p.set_flags(TcpFlags::SYN);
        }
        bytes[20..32].copy_from_slice(&[30, 4, 0xde, 0xad, 2, 4, 0x01, 0x00, 0, 0xff, 0xff, 0xff]);
        let caps = ChecksumCaps::ignored();
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        let r = TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap();
        assert_eq!(r.max_seg_size, Some(256));
        // A zero option length stops the walk without failing the segment.
        bytes[20..24].copy_from_slice(&[30, 0, 2, 4]);
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        let r = TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap();
        assert_eq!(r.max_seg_size, None);
        // Window scale above 14 is clamped; MSS with a wrong length is ignored.
        bytes[20..32].copy_from_slice(&[3, 3, 20, 2, 3, 5, 1, 0, 0, 0, 0, 0]);
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        let r = TcpRepr::parse(&p, &src(), &dst(), &caps).unwrap();
        assert_eq!(r.window_scale, Some(14));
        assert_eq!(r.max_seg_size, None);
        assert_eq!(TcpOption::parse(&[2, 4, 0]), Err(Error));
        assert_eq!(TcpOption::parse(&[2]), Err(Error));
        assert_eq!(TcpOption::parse(&[]), Err(Error));
    }

    #[test]
    fn test_truncated_and_invalid() {
        let bytes = syn_bytes();
        for n in 0..40 {
            assert_eq!(TcpPacket::new_checked(&bytes[..n]), Err(Error), "len {n}");
        }
        let mut bad = bytes;
        bad[12] = 0x40; // data offset 4 words
        assert_eq!(TcpPacket::new_checked(&bad[..]), Err(Error));
        let mut bad = bytes;
        bad[39] ^= 0x01; // corrupt: checksum fails
        let p = TcpPacket::new_checked(&bad[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&p, &src(), &dst(), &ChecksumCaps::default()),
            Err(Error)
        );
        let mut bad = bytes;
        bad[0] = 0;
        bad[1] = 0; // source port 0
        let p = TcpPacket::new_checked(&bad[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&p, &src(), &dst(), &ChecksumCaps::ignored()),
            Err(Error)
        );
        // Mixed families.
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let p = TcpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            TcpRepr::parse(&p, &v4, &dst(), &ChecksumCaps::default()),
            Err(Error)
        );
        let mut out = vec![0; 40];
        let r = syn_repr().emit(
            &mut TcpPacket::new_unchecked(&mut out),
            &v4,
            &dst(),
            &ChecksumCaps::default(),
        );
        assert_eq!(r, Err(Error));
    }

    #[test]
    fn test_checksum_v4() {
        let s = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        let d = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        let repr = TcpRepr {
            payload: b"abc",
            ack_number: Some(TcpSeqNumber(9)),
            ..syn_repr()
        };
        let mut out = vec![0; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out),
            &s,
            &d,
            &ChecksumCaps::default(),
        )
        .unwrap();
        let p = TcpPacket::new_checked(&out[..]).unwrap();
        assert!(p.verify_checksum(&s, &d));
        assert!(!p.verify_checksum(&s, &IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3))));
    }

    #[test]
    fn test_emit_header_policies() {
        let payload: Vec<u8> = (0..1001u32).map(|i| (i * 7 + 3) as u8).collect();
        let repr = TcpRepr {
            payload: &payload,
            ack_number: Some(TcpSeqNumber(9)),
            ..syn_repr()
        };
        let caps = ChecksumCaps::default();
        // Reference: the whole segment emitted contiguously.
        let mut whole = vec![0; repr.buffer_len()];
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut whole),
            &src(),
            &dst(),
            &caps,
        )
        .unwrap();
        let hlen = repr.header_len();

        // (a) Scatter-gather chunks with odd boundaries.
        let chunks: [&[u8]; 4] = [
            &payload[..1],
            &payload[1..500],
            &payload[500..999],
            &payload[999..],
        ];
        let mut hdr = vec![0xa5; hlen];
        repr.emit_header(
            &mut TcpPacket::new_unchecked(&mut hdr),
            &src(),
            &dst(),
            payload.len(),
            TcpChecksum::Chunks(&chunks),
        )
        .unwrap();
        assert_eq!(&hdr[..], &whole[..hlen]);

        // (b) CHECKSUM_PARTIAL, then the "NIC" finishes it.
        let mut hdr = vec![0xa5; hlen];
        repr.emit_header(
            &mut TcpPacket::new_unchecked(&mut hdr),
            &src(),
            &dst(),
            payload.len(),
            TcpChecksum::Partial,
        )
        .unwrap();
        let pseudo = checksum::pseudo_header(
            &src(),
            &dst(),
            IpProtocol::Tcp,
            (hlen + payload.len()) as u32,
        )
        .unwrap();
        assert_eq!(TcpPacket::new_unchecked(&hdr[..]).checksum(), pseudo);
        TcpPacket::new_unchecked(&mut hdr).finish_partial_checksum(&chunks);
        assert_eq!(&hdr[..], &whole[..hlen]);

        // (c) Zero.
        let mut hdr = vec![0xa5; hlen];
        repr.emit_header(
            &mut TcpPacket::new_unchecked(&mut hdr),
            &src(),
            &dst(),
            payload.len(),
            TcpChecksum::Zero,
        )
        .unwrap();
        assert_eq!(&hdr[16..18], &[0, 0]);
        assert_eq!(&hdr[..16], &whole[..16]);

        // Chunks that do not add up, and a short buffer, are errors.
        let mut hdr = vec![0; hlen];
        let e = repr.emit_header(
            &mut TcpPacket::new_unchecked(&mut hdr),
            &src(),
            &dst(),
            5,
            TcpChecksum::Chunks(&chunks),
        );
        assert_eq!(e, Err(Error));
        let mut short = vec![0; hlen - 1];
        let e = repr.emit_header(
            &mut TcpPacket::new_unchecked(&mut short),
            &src(),
            &dst(),
            5,
            TcpChecksum::Zero,
        );
        assert_eq!(e, Err(Error));
    }

    #[test]
    fn test_seq_number_wrap() {
        let a = TcpSeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, TcpSeqNumber(2));
        assert!(a < b);
        assert!(b > a);
        assert!(b >= a);
        assert!(a - b < 0);
        assert_eq!(b - a, 4);
        assert_eq!(a - b, -4);
        assert_eq!(b - 4, a);
        assert_eq!(a.max(b), b);
        assert_eq!(a.min(b), a);
        let mut c = a;
        c += 2;
        assert_eq!(c, TcpSeqNumber(0));
    }

    fn arb_repr() -> impl Strategy<Value = (TcpRepr<'static>, Vec<u8>)> {
        (
            (
                1u16..,
                1u16..,
                any::<u32>(),
                proptest::option::of(any::<u32>()),
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
            ),
            (
                proptest::option::of(any::<u16>()),
                proptest::option::of(0u8..=14),
                any::<bool>(),
                proptest::collection::vec((any::<u32>(), any::<u32>()), 0..=3),
                proptest::option::of((any::<u32>(), any::<u32>())),
            ),
            proptest::collection::vec(any::<u8>(), 0..64),
        )
            .prop_map(
                |((sp, dp, seq, ack, flags, win, urg), (mss, ws, sp_ok, sacks, ts), payload)| {
                    let mut sack_ranges = [None; 3];
                    for (slot, s) in sack_ranges.iter_mut().zip(sacks) {
                        *slot = Some(s);
                    }
                    let mut flags = TcpFlags(flags);
                    flags.remove(TcpFlags::ACK);
                    let repr = TcpRepr {
                        src_port: sp,
                        dst_port: dp,
                        seq_number: TcpSeqNumber(seq),
                        ack_number: ack.map(TcpSeqNumber),
                        flags,
                        window_len: win,
                        urgent_pointer: urg,
                        max_seg_size: mss,
                        window_scale: ws,
                        sack_permitted: sp_ok,
                        sack_ranges,
                        timestamp: ts.map(|(tsval, tsecr)| TcpTimestampRepr { tsval, tsecr }),
                        payload: &[],
                    };
                    (repr, payload)
                },
            )
    }

    proptest! {
        #[test]
        fn prop_repr_round_trip((repr, payload) in arb_repr(), v4 in any::<bool>()) {
            let repr = TcpRepr { payload: &payload, ..repr };
            let (s, d) = if v4 {
                (IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)), IpAddr::V4(Ipv4Addr::new(198, 18, 0, 2)))
            } else {
                (src(), dst())
            };
            let caps = ChecksumCaps::default();
            let mut out = vec![0xa5; repr.buffer_len()];
            repr.emit(&mut TcpPacket::new_unchecked(&mut out), &s, &d, &caps).unwrap();
            prop_assert!(repr.header_len() <= 60);
            let p = TcpPacket::new_checked(&out[..]).unwrap();
            let parsed = TcpRepr::parse(&p, &s, &d, &caps).unwrap();
            // SACK blocks beyond the option space are dropped on emit; everything else survives.
            let sent = parsed.sack_ranges.iter().flatten().count();
            prop_assert_eq!(&parsed.sack_ranges[..sent], &repr.sack_ranges[..sent]);
            prop_assert_eq!(TcpRepr { sack_ranges: repr.sack_ranges, ..parsed }, repr);
        }

        /// The fixed header laid out on the stack and copied once is byte for byte what the
        /// field setters write (every byte of the 20 covered, options after it).
        #[test]
        fn prop_fixed_header_matches_field_setters((repr, _payload) in arb_repr()) {
            let hlen = repr.header_len();
            let mut got = vec![0xa5; hlen];
            repr.emit_header(&mut TcpPacket::new_unchecked(&mut got), &src(), &dst(), 0, TcpChecksum::Zero).unwrap();
            let mut want = vec![0x5a; hlen];
            let mut p = TcpPacket::new_unchecked(&mut want);
            p.set_src_port(repr.src_port);
            p.set_dst_port(repr.dst_port);
            p.set_seq_number(repr.seq_number);
            p.set_ack_number(repr.ack_number.unwrap_or_default());
            p.set_header_len(hlen as u8);
            let mut flags = repr.flags;
            flags.remove(TcpFlags::ACK);
            if repr.ack_number.is_some() {
                flags.insert(TcpFlags::ACK);
            }
            p.set_flags(flags);
            p.set_window_len(repr.window_len);
            p.set_checksum(0);
            p.set_urgent_at(repr.urgent_pointer);
            let mut buf = p.options_mut();
            repr.for_each_option(|option| {
                buf = option.emit(std::mem::take(&mut buf));
            });
            prop_assert_eq!(got, want);
        }

        #[test]
        fn prop_emit_header_chunks_match_emit(
            (repr, payload) in arb_repr(),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let repr = TcpRepr { payload: &payload, ..repr };
            let caps = ChecksumCaps::default();
            let mut whole = vec![0; repr.buffer_len()];
            repr.emit(&mut TcpPacket::new_unchecked(&mut whole), &src(), &dst(), &caps).unwrap();
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (payload.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut start = 0;
            for c in cuts {
                chunks.push(&payload[start..c]);
                start = c;
            }
            chunks.push(&payload[start..]);
            let hlen = repr.header_len();
            let mut hdr = vec![0xa5; hlen];
            repr.emit_header(&mut TcpPacket::new_unchecked(&mut hdr), &src(), &dst(), payload.len(), TcpChecksum::Chunks(&chunks)).unwrap();
            prop_assert_eq!(&hdr[..], &whole[..hlen]);
            let mut hdr = vec![0xa5; hlen];
            repr.emit_header(&mut TcpPacket::new_unchecked(&mut hdr), &src(), &dst(), payload.len(), TcpChecksum::Partial).unwrap();
            TcpPacket::new_unchecked(&mut hdr).finish_partial_checksum(&chunks);
            prop_assert_eq!(&hdr[..], &whole[..hlen]);
        }
    }
}
