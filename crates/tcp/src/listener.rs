//! What the socket layer needs around connections: the LISTEN decision, RSTs for segments no
//! socket owns, and initial sequence numbers.
//!
//! Port lookup, backlog, SO_REUSEADDR/SO_REUSEPORT and SO_BINDTODEVICE belong to the emulator's
//! socket layer; these helpers are the TCP rules it applies once it has (or has not) found a
//! socket.

use core::net::SocketAddr;

use crate::payload::Payload;
use crate::segment::{Flags, Segment};
use crate::seq::SeqNumber;
use crate::time::Instant;

/// What a LISTEN socket does with a segment (RFC 9293 §3.10.7.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListenAction<P> {
    /// Drop it silently (an RST, or nothing we act on).
    Ignore,
    /// Answer with this RST (any ACK reaching a listener is for a connection we do not have).
    Reset(Segment<P>),
    /// A SYN: create a connection with [`crate::Connection::accept`] if the backlog has room.
    Accept,
}

/// Kernel: tcp_v4_rcv() → tcp_rcv_state_process() in TCP_LISTEN.
pub fn listen_segment<P: Payload>(seg: &Segment<P>) -> ListenAction<P> {
    if seg.flags.rst {
        return ListenAction::Ignore;
    }
    if seg.ack.is_some() {
        return reset_for_unmatched(seg).map_or(ListenAction::Ignore, ListenAction::Reset);
    }
    if seg.flags.syn {
        return ListenAction::Accept;
    }
    ListenAction::Ignore
}

/// The RST answering a segment that matches no socket (RFC 9293 §3.10.7.1, CLOSED state), or
/// `None` for an incoming RST (never answer a reset).
///
/// - With ACK: `<SEQ=SEG.ACK><CTL=RST>`.
/// - Without: `<SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>`.
///
/// Kernel: tcp_v4_send_reset() / tcp_v6_send_reset().
pub fn reset_for_unmatched<P: Payload>(seg: &Segment<P>) -> Option<Segment<P>> {
    if seg.flags.rst {
        return None;
    }
    let mut rst = Segment::new(seg.dst_port, seg.src_port, SeqNumber(0));
    rst.flags = Flags {
        rst: true,
        ..Flags::default()
    };
    match seg.ack {
        Some(ack) => rst.seq = ack,
        None => rst.ack = Some(seg.seq + seg.seq_len()),
    }
    Some(rst)
}

/// An initial sequence number from the caller's seeded `secret`, the 4-tuple and the clock
/// (RFC 6528: `ISN = M + F(4-tuple, secret)`, M a clock ticking every 64 ns as in Linux).
///
/// Kernel: secure_tcp_seq() (SipHash keyed by a boot-time random secret, plus
/// `ktime_get_ns() >> 6`). The hash here is a splitmix64 mix, which is enough for a
/// deterministic emulator: the same secret gives the same ISNs.
pub fn initial_sequence_number(
    secret: u64,
    local: SocketAddr,
    remote: SocketAddr,
    now: Instant,
) -> SeqNumber {
    let mut h = splitmix64(secret);
    for addr in [local, remote] {
        let ip: u128 = match addr.ip() {
            core::net::IpAddr::V4(v4) => u128::from(u32::from(v4)),
            core::net::IpAddr::V6(v6) => u128::from(v6),
        };
        h = splitmix64(h ^ (ip as u64));
        h = splitmix64(h ^ ((ip >> 64) as u64));
        h = splitmix64(h ^ u64::from(addr.port()));
    }
    let clock = now.as_micros().wrapping_mul(1000) >> 6;
    SeqNumber((h as u32).wrapping_add(clock as u32))
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SharedBytes;

    fn seg() -> Segment<SharedBytes> {
        Segment::new(40000, 80, SeqNumber(1000))
    }

    #[test]
    fn rst_for_segment_without_ack() {
        let mut s = seg();
        s.flags.syn = true;
        s.payload.push(SharedBytes::from(b"abc".to_vec()));
        let r = reset_for_unmatched(&s).unwrap();
        assert_eq!((r.src_port, r.dst_port), (80, 40000));
        assert_eq!(r.seq, SeqNumber(0));
        assert_eq!(r.ack, Some(SeqNumber(1004)));
        assert!(r.flags.rst && !r.flags.syn);
    }

    #[test]
    fn rst_for_segment_with_ack_and_never_for_rst() {
        let mut s = seg();
        s.ack = Some(SeqNumber(77));
        let r = reset_for_unmatched(&s).unwrap();
        assert_eq!((r.seq, r.ack), (SeqNumber(77), None));
        assert_eq!(listen_segment(&s), ListenAction::Reset(r));
        s.flags.rst = true;
        assert!(reset_for_unmatched(&s).is_none());
        assert_eq!(listen_segment(&s), ListenAction::Ignore);
        let mut syn = seg();
        syn.flags.syn = true;
        assert_eq!(listen_segment(&syn), ListenAction::Accept);
        assert_eq!(listen_segment(&seg()), ListenAction::Ignore);
    }

    #[test]
    fn isn_is_deterministic_and_keyed() {
        let l: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let r: SocketAddr = "192.0.2.2:40000".parse().unwrap();
        let t = Instant::from_millis(5);
        assert_eq!(
            initial_sequence_number(1, l, r, t),
            initial_sequence_number(1, l, r, t)
        );
        assert_ne!(
            initial_sequence_number(1, l, r, t),
            initial_sequence_number(2, l, r, t)
        );
        assert_ne!(
            initial_sequence_number(1, l, r, t),
            initial_sequence_number(1, r, l, t)
        );
        // The clock advances the ISN by 1000/64 per µs.
        let later = initial_sequence_number(1, l, r, t + core::time::Duration::from_micros(64));
        assert_eq!(
            later.wrapping_diff(initial_sequence_number(1, l, r, t)),
            1000
        );
    }
}
