//! Virtual time, the kernel's timer/event queue and its seeded RNG.
//!
//! The kernel has no clock of its own: the executor ([`crate::sim`]) owns the loop and moves
//! [`Kernel::clock`] forward to [`Kernel::next_deadline`] when no task can run. Everything that
//! happens "later" in the kernel (a frame arriving at the far end of a wire, a TCP
//! retransmission timer, a neighbour timer, a sleeping task's wakeup) is a [`KernelEvent`] in
//! one order by `(at, seq)`, so equal deadlines run in scheduling order and a run is
//! reproducible from its seed (DESIGN invariant 5). Most events sit in a binary heap; a
//! wire's deliveries, which come in deadline order per direction, go to that direction's
//! FIFO lane instead while they do ([`Kernel::schedule_wire_deliver`]), and the next event
//! is the least `(at, seq)` of the heap's top and the lanes' fronts: the same order, without
//! a heap sift per frame. A lane holds only its direction's frames (the wire and the
//! receiving end are the lane's number), so a delivery in flight is a key and a frame.
//!
//! Kernel: the roles of `jiffies`/hrtimers, softirq `NET_RX` processing and
//! `get_random_bytes()`, collapsed into one deterministic queue.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;
use std::task::Waker;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::drivers::wire::WireId;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::sock::SockId;

pub use tcp::time::{Duration, Instant};

/// Something the kernel does at a given instant.
pub enum KernelEvent {
    /// A TCP socket's connection timer (retransmission, delayed ACK, TIME-WAIT, ...).
    /// Stale events (the socket re-armed or went away) are ignored when they fire.
    TcpTimer {
        /// The socket.
        sk: SockId,
    },
    /// Wake a task sleeping until this instant (`nanosleep`, a `poll` timeout).
    Wake(Waker),
    /// A frame's last bit reaches end `to` of a wire (the per-frame event of every link,
    /// kept out of [`KernelEvent::Run`] so a frame in flight costs no boxed closure).
    WireDeliver {
        /// The wire.
        wire: WireId,
        /// The receiving end (0 or 1).
        to: u8,
        /// The frame.
        frame: Vec<u8>,
    },
    /// The moderated RX interrupt of NIC `dev` armed for `at`.
    NapiIrq {
        /// The NIC.
        dev: DevId,
        /// The instant it was armed for (a superseded one does nothing).
        at: Instant,
    },
    /// A deferred kernel action (a neighbour or addrconf timer, softirq work).
    /// Kernel: the work a softirq or a timer callback does, as a closure.
    Run(Box<dyn FnOnce(&mut Kernel)>),
}

impl fmt::Debug for KernelEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KernelEvent::TcpTimer { sk } => write!(f, "TcpTimer({sk:?})"),
            KernelEvent::Wake(_) => f.write_str("Wake"),
            KernelEvent::WireDeliver { wire, to, frame } => {
                write!(f, "WireDeliver({wire:?}, {to}, {} bytes)", frame.len())
            }
            KernelEvent::NapiIrq { dev, at } => write!(f, "NapiIrq({dev:?}, {at:?})"),
            KernelEvent::Run(_) => f.write_str("Run"),
        }
    }
}

/// An event's place in the one order, `(at, seq)`, packed in one integer (deadline in µs
/// above, scheduling sequence below) so that comparing two is one integer comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key(u128);

impl Key {
    fn new(at: Instant, seq: u64) -> Self {
        Key((u128::from(at.as_micros()) << 64) | u128::from(seq))
    }

    fn at(self) -> Instant {
        Instant::from_micros((self.0 >> 64) as u64)
    }
}

/// A wire delivery on its direction's lane: [`KernelEvent::WireDeliver`] of wire
/// `lane / 2` to end `lane % 2` ([`lane_of`]), stored as its `(at, seq)` and the frame
/// (40 bytes: the key as two words keeps the entry 8-aligned).
struct LaneEntry {
    /// Deadline in µs.
    at: u64,
    seq: u64,
    frame: Vec<u8>,
}

impl LaneEntry {
    #[inline]
    fn key(&self) -> Key {
        Key((u128::from(self.at) << 64) | u128::from(self.seq))
    }
}

/// The lane of wire `wire`'s deliveries to end `to` (0 or 1).
#[inline]
fn lane_of(wire: WireId, to: u8) -> usize {
    wire.0 as usize * 2 + usize::from(to & 1)
}

/// The wire and receiving end whose deliveries lane `lane` holds (inverse of [`lane_of`]).
#[inline]
fn lane_wire(lane: usize) -> (WireId, u8) {
    (WireId((lane / 2) as u32), (lane & 1) as u8)
}

struct Entry {
    key: Key,
    ev: KernelEvent,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        self.key == o.key
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Entry {
    fn cmp(&self, o: &Self) -> Ordering {
        self.key.cmp(&o.key)
    }
}

/// Where the next event is.
#[derive(Clone, Copy)]
enum Source {
    Heap,
    Lane(usize),
}

/// The clock, the event heap, the FIFO lanes and the RNG.
pub struct TimeState {
    pub(crate) clock: Instant,
    heap: BinaryHeap<Reverse<Entry>>,
    /// Wire deliveries scheduled in deadline order on their direction's lane
    /// ([`Kernel::schedule_wire_deliver`]): every lane is sorted by `(at, seq)`.
    lanes: Vec<std::collections::VecDeque<LaneEntry>>,
    /// The least `(at, seq)` of the heap's top and the lanes' fronts, and where it is
    /// ([`TimeState::scan`]), kept so that the next deadline is known without looking at
    /// every lane. Changed only by a push ([`TimeState::note_push`]: a new event can only
    /// become the least one) and a pop ([`TimeState::pop_next`]: it scans again); nothing
    /// else touches the heap or a lane.
    next: Option<(Key, Source)>,
    seq: u64,
    pub(crate) rng: ChaCha8Rng,
}

impl fmt::Debug for TimeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeState")
            .field("clock", &self.clock)
            .field("pending", &self.pending())
            .finish()
    }
}

impl Default for TimeState {
    fn default() -> Self {
        TimeState {
            clock: Instant::ZERO,
            heap: BinaryHeap::new(),
            lanes: Vec::new(),
            next: None,
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }
}

impl TimeState {
    fn next_key(&mut self, at: Instant) -> Key {
        let seq = self.seq;
        self.seq += 1;
        Key::new(at, seq)
    }

    /// The earliest event by `(at, seq)` and where it is, found by looking at the heap's top
    /// and every lane's front.
    fn scan(&self) -> Option<(Key, Source)> {
        let mut best = self.heap.peek().map(|Reverse(e)| (e.key, Source::Heap));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(e) = lane.front()
                && best.is_none_or(|(key, _)| e.key() < key)
            {
                best = Some((e.key(), Source::Lane(i)));
            }
        }
        best
    }

    /// The earliest event's deadline (from the cached [`TimeState::scan`]).
    fn next_at(&self) -> Option<Instant> {
        self.next.map(|(key, _)| key.at())
    }

    /// The event `key` being stored at `src` is the next one if it comes before the
    /// current next. A lane's new event goes to its back, after the lane's other events, so
    /// it can only come first on an empty lane, where it is the front.
    fn note_push(&mut self, key: Key, src: Source) {
        if self.next.is_none_or(|(next, _)| key < next) {
            self.next = Some((key, src));
        }
    }

    fn push_heap(&mut self, e: Entry) {
        self.note_push(e.key, Source::Heap);
        self.heap.push(Reverse(e));
    }

    /// Takes the earliest event out, if any (a lane's as the [`KernelEvent::WireDeliver`]
    /// it stands for; [`Kernel::advance`] takes events out itself, in the same order, with
    /// no event built for a lane's frame).
    #[cfg(test)]
    pub(crate) fn pop_next(&mut self) -> Option<KernelEvent> {
        let (_, src) = self.next?;
        let e = match src {
            Source::Heap => self.heap.pop().map(|Reverse(e)| e.ev),
            Source::Lane(i) => self.lanes.get_mut(i).and_then(|l| l.pop_front()).map(|e| {
                let (wire, to) = lane_wire(i);
                KernelEvent::WireDeliver {
                    wire,
                    to,
                    frame: e.frame,
                }
            }),
        };
        self.next = self.scan();
        e
    }

    /// [`Kernel::schedule_wire_deliver`]. Inlined into wire_xmit() and wire_xmit_all()'s
    /// burst, the in-order push on an existing lane being the per-frame case.
    #[inline(always)]
    pub(crate) fn schedule_wire_deliver(
        &mut self,
        wire: WireId,
        to: u8,
        at: Instant,
        frame: Vec<u8>,
    ) {
        let lane = lane_of(wire, to);
        let at_us = at.as_micros();
        match self.lanes.get_mut(lane) {
            Some(l) if l.back().is_none_or(|e| e.at <= at_us) => {
                // self.next_key(at), with the lane borrowed.
                let seq = self.seq;
                self.seq += 1;
                let was_empty = l.is_empty();
                l.push_back(LaneEntry {
                    at: at_us,
                    seq,
                    frame,
                });
                // Behind a lane's front the new event comes after that front, which is no
                // earlier than the next event: only on an empty lane can it be the next.
                if was_empty {
                    self.note_push(Key::new(at, seq), Source::Lane(lane));
                }
            }
            _ => self.schedule_wire_deliver_slow(wire, to, at, frame),
        }
    }

    /// [`TimeState::schedule_wire_deliver`] on a lane not made yet, or of a frame earlier
    /// than its lane's last (one a rule delayed: it goes to the heap).
    #[cold]
    #[inline(never)]
    fn schedule_wire_deliver_slow(&mut self, wire: WireId, to: u8, at: Instant, frame: Vec<u8>) {
        let lane = lane_of(wire, to);
        if self.lanes.len() <= lane {
            self.lanes.resize_with(lane + 1, Default::default);
        }
        let key = self.next_key(at);
        let l = &mut self.lanes[lane];
        let at_us = at.as_micros();
        if l.back().is_none_or(|e| e.at <= at_us) {
            let seq = key.0 as u64;
            l.push_back(LaneEntry {
                at: at_us,
                seq,
                frame,
            });
            self.note_push(key, Source::Lane(lane));
        } else {
            let ev = KernelEvent::WireDeliver { wire, to, frame };
            self.push_heap(Entry { key, ev });
        }
    }

    fn pending(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(|l| l.len()).sum::<usize>()
    }
}

impl Kernel {
    /// The virtual clock.
    pub fn clock(&self) -> Instant {
        self.time.clock
    }

    /// Reseed the kernel RNG (wire faults, ISNs, ephemeral ports).
    pub fn seed(&mut self, seed: u64) {
        self.time.rng = ChaCha8Rng::seed_from_u64(seed);
        self.socks.isn_secret = rand::RngCore::next_u64(&mut self.time.rng);
    }

    /// The seeded RNG. Pass it explicitly; never use a thread RNG in the kernel.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.time.rng
    }

    /// Run `ev` at `at` (immediately-due events run on the next [`Kernel::advance`]).
    pub fn schedule(&mut self, at: Instant, ev: KernelEvent) {
        let key = self.time.next_key(at);
        self.time.push_heap(Entry { key, ev });
    }

    /// [`Kernel::schedule`] of `KernelEvent::WireDeliver { wire, to, frame }`, whose events
    /// mostly come in deadline order per direction: kept on the direction's FIFO lane
    /// ([`lane_of`]) when `at` is no earlier than the lane's last event, else in the heap.
    /// Either way it runs in the same `(at, seq)` order ([`TimeState::schedule_wire_deliver`],
    /// which a burst of frames calls with its wire borrowed).
    #[inline(always)]
    pub(crate) fn schedule_wire_deliver(
        &mut self,
        wire: WireId,
        to: u8,
        at: Instant,
        frame: Vec<u8>,
    ) {
        self.time.schedule_wire_deliver(wire, to, at, frame);
    }

    /// The earliest pending event, if any; "now" while received skbs wait for the softirq
    /// ([`Kernel::net_rx_action`]).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.softirq_pending() {
            return Some(self.time.clock);
        }
        self.time.next_at()
    }

    /// Number of pending events.
    pub fn pending_events(&self) -> usize {
        self.time.pending()
    }

    /// Move the clock to `now` (never backwards) and run every event due by then, including
    /// the ones those events schedule for no later than `now`. Returns how many ran.
    pub fn advance(&mut self, now: Instant) -> usize {
        if now > self.time.clock {
            self.time.clock = now;
            self.now = now.as_micros() / 1_000_000;
        }
        let mut ran = 0;
        // The softirq runs only when skbs wait for it (with none, net_rx_action() would
        // find its backlog empty and do nothing).
        if self.softirq_pending() {
            self.net_rx_action();
        }
        // The earliest event, while it is due: taken out of where it is (as pop_next()
        // does), the cached next found again, then run; a lane's frame goes straight to
        // wire_deliver().
        while let Some((key, src)) = self.time.next
            && key.at() <= self.time.clock
        {
            let t = &mut self.time;
            match src {
                Source::Heap => {
                    let Some(Reverse(e)) = t.heap.pop() else {
                        break;
                    };
                    t.next = t.scan();
                    self.run_event(e.ev);
                }
                Source::Lane(i) => {
                    let Some(e) = t.lanes.get_mut(i).and_then(|l| l.pop_front()) else {
                        break;
                    };
                    t.next = t.scan();
                    let (wire, to) = lane_wire(i);
                    self.wire_deliver(wire, to, e.frame);
                }
            }
            if self.softirq_pending() {
                self.net_rx_action();
            }
            ran += 1;
        }
        ran
    }

    fn run_event(&mut self, ev: KernelEvent) {
        match ev {
            KernelEvent::TcpTimer { sk } => self.tcp_timer_fire(sk),
            KernelEvent::Wake(w) => w.wake(),
            KernelEvent::WireDeliver { wire, to, frame } => self.wire_deliver(wire, to, frame),
            KernelEvent::NapiIrq { dev, at } => self.nic_napi_irq(dev, at),
            KernelEvent::Run(f) => f(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;
    use rand::RngCore;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn events_run_in_deadline_then_fifo_order() {
        let mut k = Kernel::new(KernelConfig::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        for (at, tag) in [(5u64, "b"), (3, "a"), (5, "c")] {
            let l = log.clone();
            k.schedule(
                Instant::from_micros(at),
                KernelEvent::Run(Box::new(move |_| l.borrow_mut().push(tag))),
            );
        }
        assert_eq!(k.next_deadline(), Some(Instant::from_micros(3)));
        assert_eq!(k.advance(Instant::from_micros(4)), 1);
        assert_eq!(k.clock(), Instant::from_micros(4));
        assert_eq!(k.advance(Instant::from_micros(5)), 2);
        assert_eq!(*log.borrow(), vec!["a", "b", "c"]);
        assert_eq!(k.next_deadline(), None);
        // The clock never goes back.
        k.advance(Instant::from_micros(1));
        assert_eq!(k.clock(), Instant::from_micros(5));
    }

    /// Lane events and heap events run in one `(at, seq)` order; a delivery earlier than
    /// its lane's last goes to the heap and still runs in order; a lane's event comes out
    /// as the delivery it was scheduled as (its wire and end).
    #[test]
    fn lanes_merge_with_the_heap_in_deadline_then_fifo_order() {
        let mut k = Kernel::new(KernelConfig::default());
        let ev = |tag: &str| KernelEvent::WireDeliver {
            wire: WireId(9),
            to: 0,
            frame: tag.as_bytes().to_vec(),
        };
        let us = Instant::from_micros;
        let deliver = |k: &mut Kernel, wire: u32, to: u8, at: u64, tag: &str| {
            k.schedule_wire_deliver(WireId(wire), to, us(at), tag.as_bytes().to_vec());
        };
        deliver(&mut k, 0, 1, 5, "w0.1@5");
        k.schedule(us(5), ev("heap@5"));
        deliver(&mut k, 0, 0, 5, "w0.0@5");
        deliver(&mut k, 0, 1, 3, "w0.1@3 (heap)");
        deliver(&mut k, 2, 1, 7, "w2.1@7");
        deliver(&mut k, 0, 1, 7, "w0.1@7");
        k.schedule(us(6), ev("heap@6"));
        assert_eq!(k.pending_events(), 7);
        assert_eq!(k.next_deadline(), Some(us(3)));
        let mut log = Vec::new();
        while let Some(e) = k.time.pop_next() {
            let KernelEvent::WireDeliver { wire, to, frame } = e else {
                panic!("{e:?}");
            };
            log.push((wire.0, to, String::from_utf8(frame).unwrap()));
        }
        let want = [
            (0, 1, "w0.1@3 (heap)"),
            (0, 1, "w0.1@5"),
            (9, 0, "heap@5"),
            (0, 0, "w0.0@5"),
            (9, 0, "heap@6"),
            (2, 1, "w2.1@7"),
            (0, 1, "w0.1@7"),
        ];
        let want: Vec<_> = want
            .iter()
            .map(|&(w, t, s)| (w, t, s.to_string()))
            .collect();
        assert_eq!(log, want);
        assert_eq!(k.pending_events(), 0);
        assert_eq!(k.next_deadline(), None);
    }

    /// advance() takes a lane's frames out itself: it runs every due event, lanes' and
    /// heap's, and leaves the later ones (deliveries to a wire that does not exist do
    /// nothing).
    #[test]
    fn advance_runs_due_lane_and_heap_events() {
        let mut k = Kernel::new(KernelConfig::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        let us = Instant::from_micros;
        for at in [2, 4, 6] {
            k.schedule_wire_deliver(WireId(5), 0, us(at), vec![0; 60]);
            let l = log.clone();
            k.schedule(
                us(at),
                KernelEvent::Run(Box::new(move |_| l.borrow_mut().push(at))),
            );
        }
        assert_eq!(k.advance(us(4)), 4);
        assert_eq!(*log.borrow(), vec![2, 4]);
        assert_eq!(k.pending_events(), 2);
        assert_eq!(k.next_deadline(), Some(us(6)));
        assert_eq!(k.advance(us(6)), 2);
        assert_eq!(k.next_deadline(), None);
    }

    /// The cached next event is always what a scan of the heap and the lanes finds, and
    /// the events come out in `(at, seq)` order, over a random mix of heap pushes, lane
    /// pushes (in and out of their lane's order) and pops.
    #[test]
    fn cached_next_event_matches_a_scan_of_heap_and_lanes() {
        let mut k = Kernel::new(KernelConfig::default());
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        let mut rnd = move |n: u64| rand::Rng::random_range(&mut rng, 0..n);
        // The packed key orders as the (at, seq) pair and gives the deadline back.
        let far = Instant::from_micros(u64::MAX);
        assert_eq!(Key::new(far, u64::MAX).at(), far);
        assert!(Key::new(Instant::from_micros(1), u64::MAX) < Key::new(Instant::from_micros(2), 0));
        assert!(Key::new(far, 0) < Key::new(far, 1));
        let mut model = std::collections::BTreeSet::new();
        let mut base = 0;
        let (mut via_lane, mut popped) = (0, 0);
        for _ in 0..5000 {
            let r = rnd(10);
            if r < 6 {
                let at = Instant::from_micros(base + rnd(8));
                let seq = k.time.seq;
                model.insert(Key::new(at, seq));
                if r < 4 {
                    // A delivery names itself in its frame: (at, seq, wire, end).
                    let (wire, to) = (WireId(rnd(2) as u32), rnd(2) as u8);
                    let mut frame = Vec::new();
                    frame.extend_from_slice(&at.as_micros().to_le_bytes());
                    frame.extend_from_slice(&seq.to_le_bytes());
                    frame.extend_from_slice(&wire.0.to_le_bytes());
                    frame.push(to);
                    k.schedule_wire_deliver(wire, to, at, frame);
                    via_lane += 1;
                } else {
                    // The event names itself: (at, seq) as a stale NAPI interrupt.
                    let dev = DevId(seq);
                    k.schedule(at, KernelEvent::NapiIrq { dev, at });
                }
            } else {
                let e = k.time.pop_next().map(|ev| match ev {
                    KernelEvent::NapiIrq { dev, at } => Key::new(at, dev.0),
                    KernelEvent::WireDeliver { wire, to, frame } => {
                        let word =
                            |i: usize| u64::from_le_bytes(frame[i..i + 8].try_into().unwrap());
                        assert_eq!(frame[16..20], wire.0.to_le_bytes());
                        assert_eq!(frame[20], to);
                        Key::new(Instant::from_micros(word(0)), word(8))
                    }
                    other => panic!("{other:?}"),
                });
                assert_eq!(e, model.pop_first());
                popped += usize::from(e.is_some());
                base += rnd(3);
            }
            let key = |n: Option<(Key, Source)>| n.map(|(key, _)| key);
            assert_eq!(key(k.time.next), key(k.time.scan()));
            assert_eq!(key(k.time.next), model.first().copied());
            assert_eq!(k.pending_events(), model.len());
        }
        assert!(via_lane > 1000 && popped > 1000);
        assert!(k.time.lanes.iter().any(|l| !l.is_empty()) && !k.time.heap.is_empty());
    }

    #[test]
    fn rng_is_seeded() {
        let mut a = Kernel::new(KernelConfig::default());
        let mut b = Kernel::new(KernelConfig::default());
        a.seed(7);
        b.seed(7);
        assert_eq!(a.rng().next_u64(), b.rng().next_u64());
        b.seed(8);
        assert_ne!(a.rng().next_u64(), b.rng().next_u64());
    }
}
