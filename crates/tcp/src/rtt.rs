//! RFC 6298 round-trip estimation and retransmission timeout.

use core::time::Duration;

/// SRTT/RTTVAR estimator with exponential backoff.
///
/// Kernel: tcp_rtt_estimator() / tcp_set_rto() (Linux keeps the same quantities in fixed
/// point; the result is RFC 6298's `SRTT + max(G, 4*RTTVAR)` clamped to [min_rto, max_rto]).
#[derive(Clone, Debug)]
pub(crate) struct RttEstimator {
    srtt: Option<Duration>,
    rttvar: Duration,
    initial: Duration,
    min: Duration,
    max: Duration,
    /// [`base_rto`](Self::base_rto), computed from `srtt`, `rttvar`, `initial`, `min` and
    /// `max` when they are set (in `new` and `sample`, nowhere else): every new ACK reads it
    /// to rearm the retransmit timer, samples are rarer.
    base: Duration,
    /// Number of doublings applied since the last valid sample or new ACK (RFC 6298 §5.5).
    backoff: u32,
}

/// Clock granularity G: the emulator clock counts microseconds, Linux counts jiffies (≥1 ms).
const GRANULARITY: Duration = Duration::from_millis(1);

impl RttEstimator {
    pub(crate) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        let mut e = RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            initial,
            min,
            max,
            base: Duration::ZERO,
            backoff: 0,
        };
        e.base = e.compute_base_rto();
        e
    }

    /// RFC 6298 §2.2/2.3: fold a measurement in. Callers apply Karn's algorithm (no samples
    /// from retransmitted segments).
    pub(crate) fn sample(&mut self, r: Duration) {
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
        self.base = self.compute_base_rto();
        self.backoff = 0;
    }

    /// Smoothed RTT, if any sample was taken.
    pub(crate) fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The un-backed-off RTO.
    #[inline]
    pub(crate) fn base_rto(&self) -> Duration {
        self.base
    }

    /// RFC 6298 §2: `SRTT + max(G, 4*RTTVAR)` (the initial RTO before any sample), clamped
    /// to [min, max].
    fn compute_base_rto(&self) -> Duration {
        let rto = match self.srtt {
            None => self.initial,
            Some(srtt) => srtt + (self.rttvar * 4).max(GRANULARITY),
        };
        rto.clamp(self.min, self.max)
    }

    /// The RTO with backoff applied (RFC 6298 §5.5), capped at the maximum.
    #[inline]
    pub(crate) fn rto(&self) -> Duration {
        let base = self.base_rto();
        if self.backoff == 0 {
            // No doubling: `base` is already within [min, max] (every new ACK ends here).
            return base;
        }
        base.checked_mul(1u32 << self.backoff.min(16))
            .unwrap_or(self.max)
            .min(self.max)
    }

    /// Double the RTO after a timeout.
    pub(crate) fn back_off(&mut self) {
        self.backoff = self.backoff.saturating_add(1).min(16);
    }

    /// Forget the backoff (new data was acknowledged). Kernel: tcp_ack() clears icsk_backoff.
    pub(crate) fn reset_backoff(&mut self) {
        self.backoff = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est() -> RttEstimator {
        RttEstimator::new(
            Duration::from_secs(1),
            Duration::from_millis(200),
            Duration::from_secs(120),
        )
    }

    #[test]
    fn first_sample_then_smoothing() {
        let mut e = est();
        assert_eq!(e.rto(), Duration::from_secs(1));
        e.sample(Duration::from_millis(100));
        // SRTT 100, RTTVAR 50 → 100 + 200 = 300 ms.
        assert_eq!(e.rto(), Duration::from_millis(300));
        e.sample(Duration::from_millis(100));
        // RTTVAR = (150 + 0)/4 = 37.5 ms, SRTT 100 → 250 ms.
        assert_eq!(e.rto(), Duration::from_micros(250_000));
    }

    /// The kept base RTO is the one computed from the estimator's state, before and after
    /// every sample, whether the sample grows, shrinks or clamps it.
    #[test]
    fn kept_base_rto_matches_computed() {
        let mut e = est();
        assert_eq!(e.base_rto(), e.compute_base_rto());
        for ms in [100, 3, 250, 1, 90_000, 400_000, 7, 7, 7] {
            e.sample(Duration::from_millis(ms));
            assert_eq!(e.base_rto(), e.compute_base_rto());
            e.back_off();
            assert_eq!(e.base_rto(), e.compute_base_rto());
        }
    }

    #[test]
    fn clamps_and_backs_off() {
        let mut e = est();
        e.sample(Duration::from_millis(1));
        assert_eq!(e.rto(), Duration::from_millis(200));
        e.back_off();
        e.back_off();
        assert_eq!(e.rto(), Duration::from_millis(800));
        for _ in 0..20 {
            e.back_off();
        }
        assert_eq!(e.rto(), Duration::from_secs(120));
        e.reset_backoff();
        assert_eq!(e.rto(), Duration::from_millis(200));
    }
}
