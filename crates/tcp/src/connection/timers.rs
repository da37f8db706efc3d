//! (B) timer input and timer bookkeeping.

use super::{Connection, Event};
use crate::payload::Payload;
use crate::state::{State, StateEvent};
use crate::time::{Duration, Instant};
use crate::timer::Timer;

impl<P: Payload> Connection<P> {
    /// Time passed: act on every timer due at `now`.
    ///
    /// Kernel: tcp_retransmit_timer(), tcp_probe_timer(), tcp_delack_timer(),
    /// tcp_time_wait() expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timers.take_expired(Timer::Retransmit, now) {
            self.on_rto(now);
        }
        if self.timers.take_expired(Timer::Persist, now) {
            self.probes += 1;
            if self.probes > self.config.retries2 {
                self.give_up();
            } else {
                self.send_probe = true;
                self.timers
                    .set(Timer::Persist, now + self.persist_interval());
            }
        }
        if self.timers.take_expired(Timer::DelayedAck, now) {
            self.ack_now = true;
        }
        if self.timers.take_expired(Timer::TimeWait, now) {
            self.transition(StateEvent::Timeout2Msl);
            self.enter_closed(Event::Closed);
        }
        self.update_timers(now);
    }

    //= RFC 6298 §5.4-5.6 and RFC 5681 §3.1: on timeout retransmit the earliest unacknowledged
    //= segment, back the timer off, and restart slow start from one segment.
    fn on_rto(&mut self, now: Instant) {
        let _ = now;
        self.retries += 1;
        let limit = match self.state {
            State::SynSent => self.config.syn_retries,
            State::SynReceived => self.config.synack_retries,
            _ => self.config.retries2,
        };
        if self.retries > limit {
            self.give_up();
            return;
        }
        self.stats.rto_count += 1;
        self.rtt.back_off();
        if !matches!(self.state, State::SynSent | State::SynReceived) {
            let flight = self.snd_max - self.snd_una;
            self.cc.on_rto(flight, self.snd_max, self.send_mss as u64);
        }
        // Go back N: everything from SND.UNA is sent again, from the same references.
        self.snd_nxt = self.snd_una;
        self.rtt_sample = None;
        self.retransmit_first = false;
    }

    fn give_up(&mut self) {
        self.transition(StateEvent::GiveUp);
        self.enter_closed(Event::TimedOut);
    }

    /// Persist interval: the RTO doubled per unanswered probe, capped at the maximum RTO.
    /// Kernel: tcp_probe0_when().
    fn persist_interval(&self) -> Duration {
        let base = self.rtt.base_rto();
        base.checked_mul(1u32 << self.probes.min(16))
            .unwrap_or(self.config.max_rto)
            .min(self.config.max_rto)
    }

    /// Arm or stop the retransmission and persist timers to match the send state.
    pub(super) fn update_timers(&mut self, now: Instant) {
        if matches!(self.state, State::Closed | State::Listen | State::TimeWait) {
            self.timers.stop(Timer::Retransmit);
            self.timers.stop(Timer::Persist);
            return;
        }
        //= RFC 6298 §5.1/5.2: running while anything is in flight, stopped when all is acked.
        if self.snd_nxt > self.snd_una {
            if !self.timers.is_set(Timer::Retransmit) {
                self.timers.set(Timer::Retransmit, now + self.rtt.rto());
            }
        } else {
            self.timers.stop(Timer::Retransmit);
        }
        // Persist: data waits, nothing is in flight, and the peer's window is zero.
        let data_waiting = self.snd_nxt < 1 + self.send_buf.end();
        let synced = self.state.is_synchronized() && self.state != State::SynReceived;
        if synced && self.snd_wnd == 0 && self.snd_nxt == self.snd_una && data_waiting {
            if !self.timers.is_set(Timer::Persist) {
                self.timers
                    .set(Timer::Persist, now + self.persist_interval());
            }
        } else {
            self.timers.stop(Timer::Persist);
            if self.snd_wnd > 0 {
                self.probes = 0;
            }
        }
    }
}
