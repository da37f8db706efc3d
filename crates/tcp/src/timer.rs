//! The connection's timers (quinn's `Timer` + `TimerTable`).

use crate::time::Instant;

/// A connection timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    /// RFC 6298 retransmission timer (also SYN / SYN-ACK). Kernel: ICSK_TIME_RETRANS.
    Retransmit,
    /// Zero-window probe timer. Kernel: ICSK_TIME_PROBE0.
    Persist,
    /// Delayed ACK. Kernel: ICSK_TIME_DACK.
    DelayedAck,
    /// 2*MSL in TIME-WAIT. Kernel: inet_twsk_schedule().
    TimeWait,
}

impl Timer {
    /// Every timer, in the order expirations are handled.
    pub const ALL: [Timer; 4] = [
        Timer::Retransmit,
        Timer::Persist,
        Timer::DelayedAck,
        Timer::TimeWait,
    ];
}

/// One optional deadline per [`Timer`].
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    deadlines: [Option<Instant>; 4],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer as usize] = Some(at);
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer as usize]
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.deadlines[timer as usize] = None;
    }

    pub(crate) fn is_set(&self, timer: Timer) -> bool {
        self.get(timer).is_some()
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines = [None; 4];
    }

    /// The earliest deadline.
    pub(crate) fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// True when `timer` is set and due at `now`; clears it.
    pub(crate) fn take_expired(&mut self, timer: Timer, now: Instant) -> bool {
        match self.get(timer) {
            Some(at) if at <= now => {
                self.stop(timer);
                true
            }
            _ => false,
        }
    }
}
