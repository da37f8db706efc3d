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

    /// A NIC at end `from` of `wire` puts `frame` on it. Inlined into nic_xmit()'s frame
    /// loop, the wire without rules being the per-frame case.
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
