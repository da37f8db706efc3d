//! Driving a [`World`] against the wall clock, for runs with a NIC plugged into a TAP.
//!
//! DESIGN: "When a NIC is attached to a TAP device, the same loop runs against the wall
//! clock and polls the TAP fd." The real kernel on the other side of the TAP keeps real
//! time (its RTO, delayed ACKs, ND/ARP timers), so the emulator's virtual clock must not
//! jump ahead to its next deadline as [`World::step`] does. Instead a [`WallClock`] maps
//! elapsed wall time onto the virtual clock, and each turn of [`World::run_until_wall`]:
//!
//! 1. polls the tasks that are ready (no time passes);
//! 2. reads every frame the real kernel queued ([`Kernel::tap_poll`]) and moves the
//!    virtual clock to "now", running the timers that fell due;
//! 3. when nothing is ready, sleeps in `poll(2)` on the TAP fds until a frame arrives or
//!    the next kernel deadline (or the run's time limit) comes ([`Kernel::tap_wait`]).
//!
//! No busy loop: an idle run sleeps until one of those two things happens. The run is not
//! reproducible (invariant 5 holds only for virtual-time runs).

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use crate::kernel::Kernel;
use crate::sim::{Proc, SimError, World};
use crate::time::Instant;

/// The mapping from wall time onto the kernel's virtual clock: virtual time advances
/// one-for-one with wall time from the instant the clock was taken.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    wall: WallInstant,
    virt: Instant,
}

impl WallClock {
    /// Anchor the mapping at the kernel's current virtual time and the wall clock's now.
    pub fn start(k: &Kernel) -> Self {
        WallClock {
            wall: WallInstant::now(),
            virt: k.clock(),
        }
    }

    /// The virtual instant that corresponds to the wall clock's now.
    pub fn now(&self) -> Instant {
        self.virt + self.wall.elapsed()
    }

    /// How long, in wall time, until the virtual clock reaches `at` (zero if passed).
    pub fn until(&self, at: Instant) -> WallDuration {
        at.saturating_duration_since(self.now())
    }
}

/// Longest single sleep: bounds how stale the virtual clock can get when neither a frame
/// nor a deadline comes (so a caller's time limit is honoured promptly).
const MAX_SLEEP: WallDuration = WallDuration::from_millis(50);

impl World {
    /// One turn of the wall-clock loop (see the module docs); sleeps at most until
    /// `limit`. Returns whether a task was polled.
    pub fn step_wall(&mut self, clock: &WallClock, limit: WallInstant) -> Result<bool, SimError> {
        if self.has_ready_tasks() {
            self.step()?;
            return Ok(true);
        }
        let now = clock.now();
        {
            let mut k = self.kernel.borrow_mut();
            k.tap_poll();
            k.advance(now);
        }
        if self.has_ready_tasks() {
            return Ok(false);
        }
        let k = self.kernel.borrow();
        let mut wait = limit
            .saturating_duration_since(WallInstant::now())
            .min(MAX_SLEEP);
        if let Some(at) = k.next_deadline() {
            wait = wait.min(clock.until(at));
        }
        if wait.is_zero() {
            return Ok(false);
        }
        if !k.tap_wait(wait) && !k.has_tap() {
            // Nothing to poll: sleep on the clock alone (a run with no TAP plugged in).
            std::thread::sleep(wait);
        }
        Ok(false)
    }

    /// Run `fut` (as a task of `proc`) and the other tasks in real time until `fut`
    /// completes, at most `limit` of wall time ([`SimError::WallTimeout`] past it).
    /// Deadlocks cannot be detected (the real kernel may always send something).
    pub fn run_until_wall<T: 'static>(
        &mut self,
        proc: &Proc,
        fut: impl Future<Output = T> + 'static,
        limit: WallDuration,
    ) -> Result<T, SimError> {
        let slot = Rc::new(RefCell::new(None));
        let s2 = slot.clone();
        self.spawn(proc, async move {
            let v = fut.await;
            *s2.borrow_mut() = Some(v);
        });
        let clock = WallClock::start(&self.kernel.borrow());
        let end = WallInstant::now() + limit;
        loop {
            if let Some(v) = slot.borrow_mut().take() {
                return Ok(v);
            }
            if WallInstant::now() >= end {
                return Err(SimError::WallTimeout {
                    after_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                });
            }
            self.step_wall(&clock, end)?;
        }
    }

    /// Keep the kernel running in real time for `d` (timers fire, frames from the TAP are
    /// received, woken tasks run), e.g. to let a FIN handshake or TIME-WAIT play out.
    pub fn run_for_wall(&mut self, d: WallDuration) -> Result<(), SimError> {
        let clock = WallClock::start(&self.kernel.borrow());
        let end = WallInstant::now() + d;
        while WallInstant::now() < end {
            self.step_wall(&clock, end)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;
    use crate::process::Cred;
    use crate::time::Duration;

    /// Without a TAP the loop still follows the wall clock: a 30 ms virtual sleep takes
    /// about 30 ms of real time (not zero, as on the virtual clock), and the loop sleeps
    /// rather than spins (few turns).
    #[test]
    fn virtual_sleep_takes_wall_time() {
        let mut w = World::new(Kernel::new(KernelConfig::default()));
        let ns = w.kernel.borrow().init_net();
        let p = w.process(ns, Cred::default());
        let p2 = p.clone();
        let t0 = WallInstant::now();
        let v0 = w.kernel.borrow().clock();
        w.run_until_wall(
            &p,
            async move { p2.sleep(Duration::from_millis(30)).await },
            WallDuration::from_secs(2),
        )
        .unwrap();
        let took = t0.elapsed();
        assert!(took >= WallDuration::from_millis(30), "{took:?}");
        assert!(took < WallDuration::from_secs(1), "{took:?}");
        let v = w.kernel.borrow().clock() - v0;
        assert!(
            v >= Duration::from_millis(30) && v <= took,
            "{v:?} vs {took:?}"
        );
    }

    #[test]
    fn a_task_that_never_finishes_times_out() {
        let mut w = World::new(Kernel::new(KernelConfig::default()));
        let ns = w.kernel.borrow().init_net();
        let p = w.process(ns, Cred::default());
        let p2 = p.clone();
        let t0 = WallInstant::now();
        let e = w
            .run_until_wall(
                &p,
                async move { p2.sleep(Duration::from_secs(3600)).await },
                WallDuration::from_millis(80),
            )
            .unwrap_err();
        assert_eq!(e, SimError::WallTimeout { after_ms: 80 });
        let took = t0.elapsed();
        assert!(took >= WallDuration::from_millis(80) && took < WallDuration::from_millis(500));
    }
}
