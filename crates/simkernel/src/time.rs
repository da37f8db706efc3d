//! Virtual time, the kernel's timer/event queue and its seeded RNG.
//!
//! The kernel has no clock of its own: the executor ([`crate::sim`]) owns the loop and moves
//! [`Kernel::clock`] forward to [`Kernel::next_deadline`] when no task can run. Everything that
//! happens "later" in the kernel (a frame arriving at the far end of a wire, a TCP
//! retransmission timer, a neighbour timer, a sleeping task's wakeup) is a [`KernelEvent`] in
//! one order by `(at, seq)`, so equal deadlines run in scheduling order and a run is
//! reproducible from its seed (DESIGN invariant 5). Most events sit in a binary heap; a
//! wire's deliveries, which come in deadline order per direction, go to that direction's
//! FIFO lane instead while they do ([`Kernel::schedule_in_lane`]), and the next event is the
//! least `(at, seq)` of the heap's top and the lanes' fronts: the same order, without a
//! heap sift per frame.
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

struct Entry {
    at: Instant,
    seq: u64,
    ev: KernelEvent,
}

impl PartialEq for Entry {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
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
        (self.at, self.seq).cmp(&(o.at, o.seq))
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
    /// Events scheduled in deadline order on one lane each ([`Kernel::schedule_in_lane`]):
    /// every lane is sorted by `(at, seq)`.
    lanes: Vec<std::collections::VecDeque<Entry>>,
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
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }
}

impl TimeState {
    fn next_seq(&mut self) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        seq
    }

    /// The earliest event's deadline and where it is.
    fn peek(&self) -> Option<(Instant, Source)> {
        let mut best = self
            .heap
            .peek()
            .map(|Reverse(e)| (e.at, e.seq, Source::Heap));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(e) = lane.front()
                && best.is_none_or(|(at, seq, _)| (e.at, e.seq) < (at, seq))
            {
                best = Some((e.at, e.seq, Source::Lane(i)));
            }
        }
        best.map(|(at, _, src)| (at, src))
    }

    fn pop(&mut self, src: Source) -> Option<Entry> {
        match src {
            Source::Heap => self.heap.pop().map(|Reverse(e)| e),
            Source::Lane(i) => self.lanes.get_mut(i)?.pop_front(),
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
        let seq = self.time.next_seq();
        self.time.heap.push(Reverse(Entry { at, seq, ev }));
    }

    /// [`Kernel::schedule`] for a source whose events mostly come in deadline order (one
    /// direction of a wire): kept on FIFO lane `lane` when `at` is no earlier than the
    /// lane's last event, else in the heap. Either way it runs in the same `(at, seq)` order.
    pub(crate) fn schedule_in_lane(&mut self, lane: usize, at: Instant, ev: KernelEvent) {
        let t = &mut self.time;
        if t.lanes.len() <= lane {
            t.lanes.resize_with(lane + 1, Default::default);
        }
        let seq = t.next_seq();
        let l = &mut t.lanes[lane];
        if l.back().is_none_or(|e| e.at <= at) {
            l.push_back(Entry { at, seq, ev });
        } else {
            t.heap.push(Reverse(Entry { at, seq, ev }));
        }
    }

    /// The earliest pending event, if any; "now" while received skbs wait for the softirq
    /// ([`Kernel::net_rx_action`]).
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.softirq_pending() {
            return Some(self.time.clock);
        }
        self.time.peek().map(|(at, _)| at)
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
        self.net_rx_action();
        while let Some((at, src)) = self.time.peek() {
            if at > self.time.clock {
                break;
            }
            let Some(e) = self.time.pop(src) else {
                break;
            };
            self.run_event(e.ev);
            self.net_rx_action();
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

    /// Lane events and heap events run in one `(at, seq)` order; an event earlier than its
    /// lane's last goes to the heap and still runs in order.
    #[test]
    fn lanes_merge_with_the_heap_in_deadline_then_fifo_order() {
        let mut k = Kernel::new(KernelConfig::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        let ev = |tag: &'static str| {
            let l = log.clone();
            KernelEvent::Run(Box::new(move |_| l.borrow_mut().push(tag)))
        };
        k.schedule_in_lane(1, Instant::from_micros(5), ev("lane1@5"));
        k.schedule(Instant::from_micros(5), ev("heap@5"));
        k.schedule_in_lane(0, Instant::from_micros(5), ev("lane0@5"));
        k.schedule_in_lane(1, Instant::from_micros(3), ev("lane1@3 (heap)"));
        k.schedule_in_lane(1, Instant::from_micros(7), ev("lane1@7"));
        k.schedule(Instant::from_micros(6), ev("heap@6"));
        assert_eq!(k.pending_events(), 6);
        assert_eq!(k.next_deadline(), Some(Instant::from_micros(3)));
        assert_eq!(k.advance(Instant::from_micros(10)), 6);
        assert_eq!(
            *log.borrow(),
            vec![
                "lane1@3 (heap)",
                "lane1@5",
                "heap@5",
                "lane0@5",
                "heap@6",
                "lane1@7"
            ]
        );
        assert_eq!(k.pending_events(), 0);
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
