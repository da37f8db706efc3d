//! Reno congestion control with NewReno fast recovery (RFC 5681, RFC 6582, RFC 6928 IW10).
//!
//! Kernel: tcp_cong.c tcp_reno_cong_avoid() (Linux defaults to CUBIC; Reno is what the RFCs
//! specify and what `net.ipv4.tcp_congestion_control=reno` selects).

/// What the sender must do after an ACK was folded in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AckAction {
    /// Nothing special.
    None,
    /// Retransmit the first unacknowledged segment now (fast retransmit, or a NewReno
    /// partial ACK).
    RetransmitFirst,
}

/// Congestion state, in bytes.
#[derive(Clone, Debug)]
pub(crate) struct Reno {
    pub(crate) cwnd: u64,
    pub(crate) ssthresh: u64,
    /// Bytes acknowledged in congestion avoidance since cwnd last grew.
    ca_acked: u64,
    pub(crate) dup_acks: u32,
    /// NewReno `recover`: `snd_max` (one past the highest offset sent) when recovery or the
    /// last RTO started; an ACK at or beyond it covers everything outstanding then.
    pub(crate) recover: u64,
    pub(crate) in_recovery: bool,
}

impl Reno {
    pub(crate) fn new(mss: u64, initial_window: u32) -> Self {
        Reno {
            cwnd: mss * u64::from(initial_window.max(1)),
            ssthresh: u64::MAX,
            ca_acked: 0,
            dup_acks: 0,
            recover: 0,
            in_recovery: false,
        }
    }

    /// New data acknowledged: `acked` bytes, ACK now at `ack`, `flight` bytes still out.
    pub(crate) fn on_ack(&mut self, acked: u64, ack: u64, flight: u64, mss: u64) -> AckAction {
        self.dup_acks = 0;
        if self.in_recovery {
            if ack >= self.recover {
                // RFC 6582 §3.2 step 3, full ACK: deflate the window.
                self.in_recovery = false;
                self.cwnd = self.ssthresh.min(flight.max(mss) + mss);
                return AckAction::None;
            }
            // Partial ACK: retransmit the next hole, deflate by what was acked, add one MSS.
            self.cwnd = self.cwnd.saturating_sub(acked) + if acked >= mss { mss } else { 0 };
            self.cwnd = self.cwnd.max(mss);
            return AckAction::RetransmitFirst;
        }
        if self.cwnd < self.ssthresh {
            // Slow start, RFC 3465 byte counting with L = 2*SMSS.
            self.cwnd += acked.min(2 * mss);
        } else {
            self.ca_acked += acked;
            if self.ca_acked >= self.cwnd {
                self.ca_acked -= self.cwnd;
                self.cwnd += mss;
            }
        }
        AckAction::None
    }

    /// A duplicate ACK (RFC 5681 §2 definition) arrived. `snd_una`/`snd_max` are offsets.
    pub(crate) fn on_dup_ack(
        &mut self,
        snd_una: u64,
        snd_max: u64,
        flight: u64,
        mss: u64,
    ) -> AckAction {
        self.dup_acks += 1;
        if self.in_recovery {
            self.cwnd += mss;
            return AckAction::None;
        }
        // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`, so the
        // duplicates caused by a go-back-N after an RTO do not start a recovery.
        if self.dup_acks == 3 && snd_una >= self.recover {
            self.ssthresh = (flight / 2).max(2 * mss);
            self.recover = snd_max;
            self.cwnd = self.ssthresh + 3 * mss;
            self.in_recovery = true;
            return AckAction::RetransmitFirst;
        }
        AckAction::None
    }

    /// The retransmission timer fired (RFC 5681 §3.1 eq. 4, loss window of one segment).
    pub(crate) fn on_rto(&mut self, flight: u64, snd_max: u64, mss: u64) {
        self.ssthresh = (flight / 2).max(2 * mss);
        self.cwnd = mss;
        self.ca_acked = 0;
        self.dup_acks = 0;
        self.in_recovery = false;
        self.recover = snd_max;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        let mut r = Reno::new(1000, 10);
        assert_eq!(r.cwnd, 10_000);
        assert_eq!(r.on_ack(2000, 2000, 0, 1000), AckAction::None);
        assert_eq!(r.cwnd, 12_000);
        r.ssthresh = 12_000;
        r.on_ack(6000, 8000, 0, 1000);
        assert_eq!(r.cwnd, 12_000);
        r.on_ack(6000, 14000, 0, 1000);
        assert_eq!(r.cwnd, 13_000);
    }

    #[test]
    fn newreno_recovery() {
        let mut r = Reno::new(1000, 10);
        r.on_dup_ack(5, 10_005, 10_000, 1000);
        assert_eq!(r.on_dup_ack(5, 10_005, 10_000, 1000), AckAction::None);
        assert_eq!(
            r.on_dup_ack(5, 10_005, 10_000, 1000),
            AckAction::RetransmitFirst
        );
        assert_eq!((r.ssthresh, r.cwnd, r.recover), (5000, 8000, 10_005));
        r.on_dup_ack(5, 10_005, 10_000, 1000);
        assert_eq!(r.cwnd, 9000);
        assert_eq!(r.on_ack(1000, 1005, 9000, 1000), AckAction::RetransmitFirst);
        assert!(r.in_recovery);
        assert_eq!(r.on_ack(9000, 10_005, 0, 1000), AckAction::None);
        assert!(!r.in_recovery);
        assert_eq!(r.cwnd, 2000);
    }
}
