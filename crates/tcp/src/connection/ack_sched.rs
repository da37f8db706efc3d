//! When the receiver ACKs at once and when it delays: Linux's rules, not just RFC 5681's.
//!
//! Kernel: `icsk->icsk_ack` (include/net/inet_connection_sock.h) and the functions that run it
//! in net/ipv4/tcp_input.c and tcp.c:
//! - `tcp_event_data_recv()`: the first in-order data enters quick-ACK mode
//!   (`tcp_incr_quickack()`, at most `TCP_MAX_QUICKACKS`, so slow start is not held back by
//!   delayed ACKs), and `tcp_measure_rcv_mss()` estimates the peer's segment size and marks
//!   short or pushed segments (`ICSK_ACK_PUSHED`, twice `ICSK_ACK_PUSHED2`);
//! - `__tcp_ack_snd_check()`: ACK at once in quick-ACK mode or once more than one estimated
//!   MSS is unacknowledged (not "every second full segment": one full segment plus a byte is
//!   enough), else delay;
//! - `__tcp_cleanup_rbuf()`: a read that empties the receive queue after a pushed segment ACKs
//!   at once instead of waiting for the delayed-ACK timer. That is what keeps the end of an
//!   application write, or a `MSG_ZEROCOPY` sender waiting for its completions, from stalling
//!   for the delayed-ACK timeout (the kernel comment names TX zero copy);
//! - `tcp_event_ack_sent()` → `tcp_dec_quickack_mode()` and the DACK timer clear: an ACK sent
//!   uses up one quick ACK and clears the pushed marks.
//!
//! Not modelled: interactive ("ping-pong") mode, which in Linux turns the quick and pushed
//! ACKs off for request/response traffic so that ACKs ride on the replies; here a connection
//! always behaves as a bulk receiver. The delayed-ACK timeout is fixed (`Config::delayed_ack`,
//! Linux's `TCP_DELACK_MIN`) rather than adapted to arrival gaps (`icsk_ack.ato`). The window
//! condition of `__tcp_ack_snd_check()` (the window offered now is at least the last one) is
//! taken as met: this stack offers exactly its free space, with none of the slack Linux's
//! receive buffer keeps over its window.

/// Kernel: `TCP_MAX_QUICKACKS`.
pub(crate) const TCP_MAX_QUICKACKS: u32 = 16;
/// Kernel: `TCP_MSS_DEFAULT`: the initial peer-MSS estimate is at most this.
const TCP_MSS_DEFAULT: usize = 536;
/// Kernel: `TCP_MIN_MSS`.
const TCP_MIN_MSS: usize = 88;
/// TCP header length without options: this stack sends no timestamps, so every segment's
/// options-free header is the invariant part `tcp_measure_rcv_mss()` adds back.
const TCP_HDR: usize = 20;

/// Kernel: the `icsk_ack` fields the ACK decisions read.
#[derive(Clone, Debug)]
pub(crate) struct AckSched {
    /// Kernel: `icsk_ack.rcv_mss`: the estimated size of the peer's full segments.
    rcv_mss: usize,
    /// Kernel: `icsk_ack.last_seg_size`.
    last_seg_size: usize,
    /// Kernel: `ICSK_ACK_PUSHED`.
    pushed: bool,
    /// Kernel: `ICSK_ACK_PUSHED2`.
    pushed2: bool,
    /// Kernel: `icsk_ack.quick`: ACKs left to send at once.
    quick: u32,
    /// Kernel: `icsk_ack.ato != 0`: in-order data has arrived before.
    seen_data: bool,
}

impl AckSched {
    /// Kernel: `tcp_initialize_rcv_mss()`: the estimate starts at the smallest of our MSS,
    /// half the window and `TCP_MSS_DEFAULT`, and at least `TCP_MIN_MSS`.
    pub(crate) fn new(local_mss: u16, rcv_wnd: u64) -> Self {
        let half = usize::try_from(rcv_wnd / 2).unwrap_or(usize::MAX);
        AckSched {
            rcv_mss: usize::from(local_mss)
                .min(half)
                .clamp(TCP_MIN_MSS, TCP_MSS_DEFAULT),
            last_seg_size: 0,
            pushed: false,
            pushed2: false,
            quick: 0,
            seen_data: false,
        }
    }

    /// In-order data of `len` payload bytes arrived; `remnant` is whether it carried PSH,
    /// FIN, URG or SYN (`TCP_REMNANT`), `psh` whether PSH. `rcv_wnd` is the window we last
    /// offered. Kernel: `tcp_event_data_recv()` (its quick-ACK part) → `tcp_measure_rcv_mss()`.
    pub(crate) fn data_recv(
        &mut self,
        len: usize,
        psh: bool,
        remnant: bool,
        local_mss: u16,
        rcv_wnd: u64,
    ) {
        self.measure_rcv_mss(len, psh, remnant, usize::from(local_mss));
        if !self.seen_data {
            self.seen_data = true;
            self.incr_quickack(rcv_wnd);
        }
    }

    /// Kernel: `tcp_measure_rcv_mss()`. A segment at least the estimate raises it (up to our
    /// MSS) and, with PSH, marks the end of a write; a shorter one is the peer's real MSS only
    /// when two in a row have the same size, otherwise it is a short (pushed) segment.
    fn measure_rcv_mss(&mut self, len: usize, psh: bool, remnant: bool, advmss: usize) {
        let lss = self.last_seg_size;
        self.last_seg_size = 0;
        if len >= self.rcv_mss {
            self.rcv_mss = len.min(advmss);
            if psh {
                self.pushed = true;
            }
            return;
        }
        let wire = len + TCP_HDR;
        if wire >= TCP_MSS_DEFAULT + TCP_HDR || (wire >= TCP_MIN_MSS + TCP_HDR && !remnant) {
            self.last_seg_size = len;
            if len == lss {
                self.rcv_mss = len;
                return;
            }
        }
        if self.pushed {
            self.pushed2 = true;
        }
        self.pushed = true;
    }

    /// Kernel: `tcp_incr_quickack()` with `TCP_MAX_QUICKACKS`: enough quick ACKs for half
    /// the window in estimated segments (at least 2).
    fn incr_quickack(&mut self, rcv_wnd: u64) {
        let per = 2 * self.rcv_mss as u64;
        let n = u32::try_from(rcv_wnd / per).unwrap_or(u32::MAX);
        let n = if n == 0 { 2 } else { n }.min(TCP_MAX_QUICKACKS);
        self.quick = self.quick.max(n);
    }

    /// Whether data that just arrived, leaving `unacked` bytes received since our last ACK,
    /// is ACKed at once. Kernel: `__tcp_ack_snd_check()` (`tcp_in_quickack_mode()`, or more
    /// than one estimated MSS unacknowledged).
    pub(crate) fn ack_now_on_data(&self, unacked: usize) -> bool {
        self.quick > 0 || unacked > self.rcv_mss
    }

    /// Whether the application's read, with an ACK still delayed, sends it now:
    /// `unacked` bytes have not been ACKed and the read left the queue empty or not.
    /// Kernel: `__tcp_cleanup_rbuf()` (not ping-pong: see the module doc).
    pub(crate) fn ack_now_on_read(&self, unacked: usize, queue_empty: bool) -> bool {
        unacked > self.rcv_mss || ((self.pushed || self.pushed2) && queue_empty)
    }

    /// A segment carrying our ACK went out; `scheduled` is whether it acknowledged data not
    /// ACKed before (only such an ACK uses up a quick ACK). Kernel: `tcp_event_ack_sent()` →
    /// `tcp_dec_quickack_mode()` and `inet_csk_clear_xmit_timer(ICSK_TIME_DACK)` (which
    /// clears `icsk_ack.pending`).
    pub(crate) fn ack_sent(&mut self, scheduled: bool) {
        if scheduled {
            self.quick = self.quick.saturating_sub(1);
        }
        self.pushed = false;
        self.pushed2 = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_starts_small_and_follows_full_segments() {
        let mut a = AckSched::new(8940, 256 * 1024);
        assert_eq!(a.rcv_mss, 536);
        a.data_recv(8940, false, false, 8940, 256 * 1024);
        assert_eq!(a.rcv_mss, 8940);
        // A GRO'd 64 KiB segment does not raise it past our MSS.
        a.data_recv(65_000, false, false, 8940, 256 * 1024);
        assert_eq!(a.rcv_mss, 8940);
    }

    #[test]
    fn first_data_enters_quickack_bounded_by_the_window() {
        let mut a = AckSched::new(1460, 256 * 1024);
        a.data_recv(1460, false, false, 1460, 256 * 1024);
        assert_eq!(a.quick, TCP_MAX_QUICKACKS);
        for _ in 0..TCP_MAX_QUICKACKS {
            assert!(a.ack_now_on_data(1460));
            a.ack_sent(true);
        }
        assert!(!a.ack_now_on_data(1460), "one full segment waits");
        assert!(a.ack_now_on_data(1461), "more than one MSS does not");
        // Entering quick-ACK mode happens once, not on every segment.
        a.data_recv(1460, false, false, 1460, 256 * 1024);
        assert_eq!(a.quick, 0);
        // A small window gives fewer quick ACKs (at least 2).
        let mut b = AckSched::new(1460, 8000);
        b.data_recv(1460, false, false, 1460, 8000);
        assert_eq!(b.quick, 2);
        let mut c = AckSched::new(1460, 2000);
        c.data_recv(1460, false, false, 1460, 2000);
        assert_eq!(c.quick, 2);
    }

    #[test]
    fn short_or_pushed_segments_ack_when_the_read_empties_the_queue() {
        let mut a = AckSched::new(1460, 256 * 1024);
        a.data_recv(1460, false, false, 1460, 256 * 1024);
        assert!(!a.ack_now_on_read(1460, true), "full segment, no PSH");
        a.data_recv(1460, true, true, 1460, 256 * 1024);
        assert!(a.ack_now_on_read(1460, true), "full segment with PSH");
        assert!(
            !a.ack_now_on_read(1460, false),
            "not while data is still queued"
        );
        a.ack_sent(true);
        assert!(!a.ack_now_on_read(100, true));
        a.data_recv(100, false, false, 1460, 256 * 1024);
        assert!(a.ack_now_on_read(100, true), "short segment");
        assert!(a.pushed && !a.pushed2);
        a.data_recv(300, false, false, 1460, 256 * 1024);
        assert!(a.pushed2);
    }

    #[test]
    fn two_equal_short_segments_are_the_peers_mss() {
        // A peer behind a small MTU: its full segments are smaller than our estimate.
        let mut a = AckSched::new(1460, 256 * 1024);
        a.data_recv(1460, false, false, 1460, 256 * 1024);
        a.ack_sent(true);
        a.data_recv(1200, false, false, 1460, 256 * 1024);
        assert!(a.pushed, "the first short one counts as pushed");
        a.ack_sent(true);
        a.data_recv(1200, false, false, 1460, 256 * 1024);
        assert_eq!(a.rcv_mss, 1200);
        assert!(!a.pushed);
    }
}
