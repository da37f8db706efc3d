//! An emulated point-to-point Ethernet link between two NICs.
//!
//! Not a kernel object: the cable. Each direction serialises frames at the configured
//! bandwidth (a frame starts when the previous one has left) and delivers them `latency`
//! later as a [`WireDeliver`](crate::time::KernelEvent::WireDeliver) event. Faults follow turmoil's shape: an ordered
//! chain of [`Rule`]s sees every frame, the first non-[`Verdict::Pass`] wins; rules draw
//! from the kernel's seeded RNG, so a seed replays the same losses, reorderings,
//! duplicates and bit flips.

use std::fmt;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use uapi::errno::{EBUSY, EINVAL, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::time::{Duration, Instant};

/// Identifies a wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireId(pub u32);

impl crate::idr::TableId for WireId {
    fn slot(&self) -> Option<usize> {
        usize::try_from(self.0).ok()
    }
}

/// What a rule decides for one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No opinion: the next rule decides (default: deliver on time).
    Pass,
    /// Lose the frame.
    Drop,
    /// Deliver it this much later than normal (later frames may overtake it).
    Delay(Duration),
    /// Deliver it twice.
    Duplicate,
    /// Flip one random bit after the Ethernet header.
    Corrupt,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pass => f.write_str("passed"),
            Verdict::Drop => f.write_str("dropped"),
            Verdict::Delay(d) => write!(f, "delayed {} us", d.as_micros()),
            Verdict::Duplicate => f.write_str("duplicated"),
            Verdict::Corrupt => f.write_str("corrupted"),
        }
    }
}

/// A fault rule (turmoil's `Rule`).
pub trait Rule: fmt::Debug {
    /// Decide for `frame`, drawing randomness from `rng` only.
    fn on_frame(&mut self, frame: &[u8], rng: &mut ChaCha8Rng) -> Verdict;
}

/// Lose a fraction `p` of frames.
#[derive(Debug, Clone, Copy)]
pub struct Loss(pub f64);
impl Rule for Loss {
    fn on_frame(&mut self, _: &[u8], rng: &mut ChaCha8Rng) -> Verdict {
        if rng.random_bool(self.0.clamp(0.0, 1.0)) {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
}

/// Hold back a fraction `p` of frames by `delay`, so later ones overtake them.
#[derive(Debug, Clone, Copy)]
pub struct Reorder {
    /// Probability.
    pub p: f64,
    /// Extra delay.
    pub delay: Duration,
}
impl Rule for Reorder {
    fn on_frame(&mut self, _: &[u8], rng: &mut ChaCha8Rng) -> Verdict {
        if rng.random_bool(self.p.clamp(0.0, 1.0)) {
            Verdict::Delay(self.delay)
        } else {
            Verdict::Pass
        }
    }
}

/// Duplicate a fraction `p` of frames.
#[derive(Debug, Clone, Copy)]
pub struct Duplicate(pub f64);
impl Rule for Duplicate {
    fn on_frame(&mut self, _: &[u8], rng: &mut ChaCha8Rng) -> Verdict {
        if rng.random_bool(self.0.clamp(0.0, 1.0)) {
            Verdict::Duplicate
        } else {
            Verdict::Pass
        }
    }
}

/// Corrupt a fraction `p` of frames.
#[derive(Debug, Clone, Copy)]
pub struct Corrupt(pub f64);
impl Rule for Corrupt {
    fn on_frame(&mut self, _: &[u8], rng: &mut ChaCha8Rng) -> Verdict {
        if rng.random_bool(self.0.clamp(0.0, 1.0)) {
            Verdict::Corrupt
        } else {
            Verdict::Pass
        }
    }
}

/// Link parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Bits per second each way; 0 = unlimited.
    pub bandwidth_bps: u64,
}

impl Default for WireConfig {
    /// 10 µs, 100 Gbit/s.
    fn default() -> Self {
        WireConfig {
            latency: Duration::from_micros(10),
            bandwidth_bps: 100_000_000_000,
        }
    }
}

/// Per-wire counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WireStats {
    /// Frames put on the wire.
    pub sent: u64,
    /// Frames delivered to a NIC (duplicates count twice).
    pub delivered: u64,
    /// Frames lost by a rule.
    pub dropped: u64,
    /// Frames held back by a rule.
    pub delayed: u64,
    /// Extra copies.
    pub duplicated: u64,
    /// Bit flips.
    pub corrupted: u64,
    /// Bytes put on the wire.
    pub bytes: u64,
}

/// What a fault rule did to one frame, kept so that a failed run can say which frames the
/// wire lost or mangled (the last [`WIRE_LOG_LEN`] are kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireEvent {
    /// When the frame was put on the wire.
    pub at: Instant,
    /// The end that sent it (0 or 1).
    pub from: u8,
    /// The rule's verdict (never [`Verdict::Pass`]).
    pub verdict: Verdict,
    /// tcpdump-style summary of the frame as sent ([`wire::pretty::summarize`]).
    pub summary: String,
}

/// How many [`WireEvent`]s a wire keeps.
pub const WIRE_LOG_LEN: usize = 64;

/// A cable between two NICs.
#[derive(Debug)]
pub struct Wire {
    /// The NICs at end 0 and end 1.
    pub ends: [DevId; 2],
    /// Parameters.
    pub config: WireConfig,
    rules: Vec<Box<dyn Rule>>,
    /// When each direction's transmitter is free again, in nanoseconds of virtual time
    /// (finer than the µs clock, so back-to-back frames add up exactly).
    busy_until_ns: [u64; 2],
    /// Counters.
    pub stats: WireStats,
    /// The latest frames a rule did not pass, oldest first.
    log: std::collections::VecDeque<WireEvent>,
}

impl Wire {
    /// End `from` serialises a frame of `len` bytes put on the wire `now`: it starts when
    /// the direction's transmitter is free, its last bit is out at the bandwidth (rounded
    /// up to the µs clock) and reaches the far end `latency` later, when it is delivered.
    /// Counts it as sent.
    #[inline]
    fn serialise(&mut self, now: Instant, from: u8, len: usize) -> Instant {
        let i = usize::from(from & 1);
        let start_ns = now
            .as_micros()
            .saturating_mul(1000)
            .max(self.busy_until_ns[i]);
        let bits = (len as u64 + 24) * 8; // preamble, FCS, inter-frame gap
        let ser_ns = match self.config.bandwidth_bps {
            0 => 0,
            bps => bits.saturating_mul(1_000_000_000) / bps,
        };
        let done_ns = start_ns + ser_ns;
        self.busy_until_ns[i] = done_ns;
        // The last bit is out at done_ns; the clock ticks in µs, so round up.
        let done = Instant::from_micros(done_ns.div_ceil(1000));
        self.stats.sent += 1;
        self.stats.bytes += len as u64;
        done + self.config.latency
    }
}

/// All wires of the kernel.
#[derive(Debug, Default)]
pub struct WireTable {
    /// By id: ids are handed out in increasing order and never reused (`next`), so a
    /// vector indexed by id is the lookup each frame's transmit and delivery make.
    pub(crate) wires: crate::idr::IdTable<WireId, Wire>,
    next: u32,
}

impl Kernel {
    /// Plug a cable between NICs `a` and `b` (EINVAL for non-NICs, EBUSY if wired).
    pub fn wire_connect(&mut self, a: DevId, b: DevId, config: WireConfig) -> KResult<WireId> {
        for d in [a, b] {
            let dev = self.try_device(d).ok_or(KernelError::new(ENODEV))?;
            match &dev.kind {
                DeviceKind::Nic(n) if n.wire.is_none() => {}
                DeviceKind::Nic(_) => return Err(KernelError::new(EBUSY)),
                _ => return Err(KernelError::new(EINVAL)),
            }
        }
        if a == b {
            return Err(KernelError::new(EINVAL));
        }
        let id = WireId(self.wires.next);
        self.wires.next += 1;
        self.wires.wires.insert(
            id,
            Wire {
                ends: [a, b],
                config,
                rules: Vec::new(),
                busy_until_ns: [0; 2],
                stats: WireStats::default(),
                log: Default::default(),
            },
        );
        for (end, d) in [(0u8, a), (1u8, b)] {
            if let DeviceKind::Nic(n) = &mut self.dev_mut(d).kind {
                n.wire = Some((id, end));
            }
        }
        Ok(id)
    }

    /// Unplug `wire`: both NICs lose their cable (frames they send afterwards stay on
    /// their TX rings), so one of them can be plugged into a TAP instead. Frames in flight
    /// are lost, as on a pulled cable. ENODEV for an unknown wire.
    pub fn wire_disconnect(&mut self, wire: WireId) -> KResult<()> {
        let w = self
            .wires
            .wires
            .remove(&wire)
            .ok_or(KernelError::new(ENODEV))?;
        for d in w.ends {
            if let Some(DeviceKind::Nic(n)) = self.devices.get_mut(&d).map(|d| &mut d.kind)
                && n.wire.is_some_and(|(id, _)| id == wire)
            {
                n.wire = None;
            }
        }
        Ok(())
    }

    /// Append a fault rule to `wire`'s chain (both directions).
    pub fn wire_add_rule(&mut self, wire: WireId, rule: Box<dyn Rule>) -> KResult<()> {
        let w = self
            .wires
            .wires
            .get_mut(&wire)
            .ok_or(KernelError::new(ENODEV))?;
        w.rules.push(rule);
        Ok(())
    }

    /// Remove every fault rule.
    pub fn wire_clear_rules(&mut self, wire: WireId) {
        if let Some(w) = self.wires.wires.get_mut(&wire) {
            w.rules.clear();
        }
    }

    /// The wire's counters.
    pub fn wire_stats(&self, wire: WireId) -> Option<WireStats> {
        self.wires.wires.get(&wire).map(|w| w.stats)
    }

    /// The latest frames the wire's rules dropped, delayed, duplicated or corrupted.
    pub fn wire_log(&self, wire: WireId) -> Vec<WireEvent> {
        self.wires
            .wires
            .get(&wire)
            .map(|w| w.log.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// A NIC at end `from` of `wire` puts `frame` on it (a TSO burst of frames goes
    /// through [`Kernel::wire_xmit_all`], which does what this does per frame).
    #[inline]
    pub(crate) fn wire_xmit(&mut self, wire: WireId, from: u8, mut frame: Vec<u8>) {
        // The MAC pads runt frames to the Ethernet minimum.
        if frame.len() < wire::ethernet::MIN_FRAME_LEN {
            frame.resize(wire::ethernet::MIN_FRAME_LEN, 0);
        }
        let now = self.clock();
        let Some(w) = self.wires.wires.get_mut(&wire) else {
            return;
        };
        if !w.rules.is_empty() {
            return self.wire_xmit_ruled(wire, from, frame);
        }
        // No rule: every frame passes (no RNG draw, nothing logged).
        let at = w.serialise(now, from, frame.len());
        self.schedule_wire_deliver(wire, 1 - (from & 1), at, frame);
    }

    /// [`Kernel::wire_xmit`] of every frame in `frames` (emptied), in order: one TSO
    /// burst of a NIC at end `from`. Returns the bytes handed over (before the MAC's
    /// padding), as the NIC's counters count them.
    ///
    /// Exactly the frames' wire_xmit() one after the other: nothing else runs between
    /// them, so the clock and the wire stay as they are and, on a wire without rules (the
    /// per-frame case), the wire is looked up once for the burst and each frame is
    /// serialised and scheduled with it borrowed. A wire with rules (which draw from the
    /// kernel RNG per frame) or none takes each frame's wire_xmit().
    pub(crate) fn wire_xmit_all(
        &mut self,
        wire: WireId,
        from: u8,
        frames: &mut Vec<Vec<u8>>,
    ) -> u64 {
        let mut bytes = 0u64;
        let now = self.clock();
        let w = match self.wires.wires.get_mut(&wire) {
            Some(w) if w.rules.is_empty() => w,
            _ => {
                for frame in frames.drain(..) {
                    bytes += frame.len() as u64;
                    self.wire_xmit(wire, from, frame);
                }
                return bytes;
            }
        };
        let to = 1 - (from & 1);
        for mut frame in frames.drain(..) {
            bytes += frame.len() as u64;
            // The MAC pads runt frames to the Ethernet minimum.
            if frame.len() < wire::ethernet::MIN_FRAME_LEN {
                frame.resize(wire::ethernet::MIN_FRAME_LEN, 0);
            }
            let at = w.serialise(now, from, frame.len());
            self.time.schedule_wire_deliver(wire, to, at, frame);
        }
        bytes
    }

    /// [`Kernel::wire_xmit`] of a wire with fault rules: they see the frame first.
    #[cold]
    #[inline(never)]
    fn wire_xmit_ruled(&mut self, wire: WireId, from: u8, mut frame: Vec<u8>) {
        let now = self.clock();
        // One lookup of the wire: its rules draw from the kernel RNG, a field apart.
        let Some(w) = self.wires.wires.get_mut(&wire) else {
            return;
        };
        let rng = &mut self.time.rng;
        let verdict = w
            .rules
            .iter_mut()
            .map(|r| r.on_frame(&frame, rng))
            .find(|v| *v != Verdict::Pass)
            .unwrap_or(Verdict::Pass);
        let flip = if verdict == Verdict::Corrupt && frame.len() > 14 {
            Some((rng.random_range(14..frame.len()), rng.random_range(0..8u8)))
        } else {
            None
        };
        if verdict != Verdict::Pass {
            if w.log.len() == WIRE_LOG_LEN {
                w.log.pop_front();
            }
            w.log.push_back(WireEvent {
                at: now,
                from,
                verdict,
                summary: wire::pretty::summarize(&frame),
            });
        }
        let mut at = w.serialise(now, from, frame.len());
        let to = 1 - (from & 1);
        // A direction's deliveries come in serialisation order unless a rule delays one:
        // its own event lane keeps them off the heap (Kernel::schedule_wire_deliver).
        match verdict {
            Verdict::Drop => {
                w.stats.dropped += 1;
                return;
            }
            Verdict::Delay(d) => {
                w.stats.delayed += 1;
                at += d;
            }
            Verdict::Duplicate => {
                w.stats.duplicated += 1;
                let copy = frame.clone();
                self.schedule_wire_deliver(wire, to, at, copy);
            }
            Verdict::Corrupt => {
                w.stats.corrupted += 1;
                if let Some((byte, bit)) = flip {
                    frame[byte] ^= 1 << bit;
                }
            }
            Verdict::Pass => {}
        }
        self.schedule_wire_deliver(wire, to, at, frame);
    }

    /// The delivery event: the frame reaches the NIC at end `to`.
    #[inline]
    pub(crate) fn wire_deliver(&mut self, wire: WireId, to: u8, frame: Vec<u8>) {
        let Some(w) = self.wires.wires.get_mut(&wire) else {
            return;
        };
        w.stats.delivered += 1;
        let dev = w.ends[usize::from(to & 1)];
        if self.devices.contains_key(&dev) {
            self.nic_receive(dev, frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::nic::NicProfile;
    use crate::kernel::KernelConfig;
    use crate::time::KernelEvent;

    /// wire_xmit_all() of a burst is its frames' wire_xmit() one by one: the same bytes
    /// counted, wire counters, deliveries (wire, end, deadline, padded frame) in the same
    /// `(at, seq)` order, over bursts from both ends (runts, full frames) sent while earlier
    /// ones are still in flight, and onto a wire that does not exist.
    #[test]
    fn a_burst_is_its_frames_sent_one_by_one() {
        let setup = || {
            let mut k = Kernel::new(KernelConfig::default());
            let ns = k.init_net();
            let a = k.nic_add(ns, "eth0", NicProfile::bnxt(), 0).unwrap();
            let b = k.nic_add(ns, "eth1", NicProfile::bnxt(), 0).unwrap();
            let w = k.wire_connect(a, b, WireConfig::default()).unwrap();
            (k, w)
        };
        let (mut burst, w) = setup();
        let (mut each, _) = setup();
        let frame = |len: usize, tag: u8| vec![tag; len];
        let bursts = [
            (
                0u64,
                0u8,
                vec![frame(9014, 1), frame(9014, 2), frame(40, 3)],
            ),
            (0, 1, vec![frame(66, 4)]),
            (1, 0, vec![frame(1514, 5), frame(20, 6), frame(9014, 7)]),
            (3, 1, vec![frame(60, 8), frame(86, 9)]),
            (40, 0, vec![frame(9014, 10)]),
        ];
        for (at, from, frames) in bursts {
            let now = Instant::from_micros(at);
            burst.time.clock = now;
            each.time.clock = now;
            let want: u64 = frames.iter().map(|f| f.len() as u64).sum();
            let mut v = frames.clone();
            assert_eq!(burst.wire_xmit_all(w, from, &mut v), want);
            assert!(v.is_empty());
            for f in frames.clone() {
                each.wire_xmit(w, from, f);
            }
            let mut v = frames;
            assert_eq!(burst.wire_xmit_all(WireId(7), from, &mut v), want);
            assert!(v.is_empty());
            assert_eq!(burst.wire_stats(w), each.wire_stats(w));
            assert_eq!(burst.pending_events(), each.pending_events());
            assert_eq!(burst.next_deadline(), each.next_deadline());
        }
        let mut n = 0;
        loop {
            let deadline = burst.next_deadline();
            assert_eq!(deadline, each.next_deadline());
            let (x, y) = match (burst.time.pop_next(), each.time.pop_next()) {
                (Some(x), Some(y)) => (x, y),
                (None, None) => break,
                _ => panic!("one more event on one side"),
            };
            let (
                KernelEvent::WireDeliver { wire, to, frame },
                KernelEvent::WireDeliver {
                    wire: wire2,
                    to: to2,
                    frame: frame2,
                },
            ) = (x, y)
            else {
                panic!("not deliveries");
            };
            assert_eq!((wire, to, &frame), (wire2, to2, &frame2));
            assert!(frame.len() >= wire::ethernet::MIN_FRAME_LEN);
            n += 1;
        }
        assert_eq!(n, 10);
    }
}
