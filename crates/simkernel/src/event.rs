//! Virtual time, the kernel's timer/event queue and its seeded RNG.
//!
//! The kernel has no clock of its own: the executor ([`crate::sim`]) owns the loop and moves
//! [`Kernel::clock`] forward to [`Kernel::next_deadline`] when no task can run. Everything that
//! happens "later" in the kernel (a frame arriving at the far end of a wire, a TCP
//! retransmission timer, a neighbour timer, a sleeping task's wakeup) is a [`KernelEvent`] in
//! one heap ordered by `(at, seq)`, so equal deadlines run in scheduling order and a run is
//! reproducible from its seed (DESIGN invariant 5).
//!
//! Kernel: the roles of `jiffies`/hrtimers, softirq `NET_RX` processing and
//! `get_random_bytes()`, collapsed into one deterministic queue.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::fmt;
use std::task::Waker;

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::SeedableRng;

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::inet::IpInfo;

pub use tcp::time::{Duration, Instant};

/// Something the kernel does at a given instant.
#[derive(Debug, Clone)]
pub enum KernelEvent {
    /// A TCP socket timer (retransmit, delayed ACK, TIME_WAIT...); the id is the socket's.
    /// Stale events (the socket re-armed or went away) are ignored when they fire.
    TcpTimer {
        /// Socket id.
        sock: u64,
    },
    /// Wake a task sleeping until this instant (`nanosleep`, a `poll` timeout).
    Wake(Waker),
    /// PLACEHOLDER until the IP input paths land: hand a transport skb to the L4 hook of
    /// `netns` (what `ip6_input_finish()` / `ip_local_deliver_finish()` do).
    L4Deliver {
        /// Namespace.
        netns: NetNsId,
        /// Receiving device.
        dev: DevId,
        /// IP facts.
        ip: IpInfo,
        /// The skb, TCP header first.
        skb: Skb,
    },
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

/// The clock, the event heap and the RNG.
pub struct EventQueue {
    pub(crate) clock: Instant,
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    pub(crate) rng: ChaCha8Rng,
}

impl fmt::Debug for EventQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventQueue")
            .field("clock", &self.clock)
            .field("pending", &self.heap.len())
            .finish()
    }
}

impl Default for EventQueue {
    fn default() -> Self {
        EventQueue {
            clock: Instant::ZERO,
            heap: BinaryHeap::new(),
            seq: 0,
            rng: ChaCha8Rng::seed_from_u64(0),
        }
    }
}

impl Kernel {
    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.events.clock
    }

    /// Reseed the kernel RNG (wire faults, ISNs, ephemeral ports). Same seed, same run.
    pub fn set_seed(&mut self, seed: u64) {
        self.events.rng = ChaCha8Rng::seed_from_u64(seed);
        self.socks.isn_secret = rand::RngCore::next_u64(&mut self.events.rng);
    }

    /// The seeded RNG. Pass it explicitly; never use a thread RNG in the kernel.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.events.rng
    }

    /// Run `ev` at `at` (immediately-due events run on the next [`Kernel::advance`]).
    pub fn schedule(&mut self, at: Instant, ev: KernelEvent) {
        let seq = self.events.seq;
        self.events.seq += 1;
        self.events.heap.push(Reverse(Entry { at, seq, ev }));
    }

    /// The earliest pending event, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.events.heap.peek().map(|Reverse(e)| e.at)
    }

    /// Number of pending events.
    pub fn pending_events(&self) -> usize {
        self.events.heap.len()
    }

    /// Move the clock to `now` (never backwards) and run every event due by then, including
    /// the ones those events schedule for no later than `now`.
    pub fn advance(&mut self, now: Instant) {
        if now > self.events.clock {
            self.events.clock = now;
            self.now = now.as_micros() / 1_000_000;
        }
        while let Some(Reverse(top)) = self.events.heap.peek() {
            if top.at > self.events.clock {
                break;
            }
            let Some(Reverse(e)) = self.events.heap.pop() else {
                break;
            };
            self.run_event(e.ev);
        }
    }

    fn run_event(&mut self, ev: KernelEvent) {
        match ev {
            KernelEvent::TcpTimer { sock } => {
                if let Some(h) = self.hooks.tcp_timer {
                    h(self, sock);
                }
            }
            KernelEvent::Wake(w) => w.wake(),
            KernelEvent::L4Deliver {
                netns,
                dev,
                ip,
                skb,
            } => {
                let rcv = if ip.daddr.is_ipv4() {
                    self.hooks.tcp_v4_rcv
                } else {
                    self.hooks.tcp_v6_rcv
                };
                if let Some(rcv) = rcv {
                    rcv(self, netns, dev, ip, skb);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;
    use rand::RngCore;
    use std::cell::RefCell;

    #[test]
    fn events_run_in_deadline_then_fifo_order() {
        thread_local! { static LOG: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) }; }
        fn h(_k: &mut Kernel, s: u64) {
            LOG.with(|l| l.borrow_mut().push(s));
        }
        let mut k = Kernel::new(KernelConfig::default());
        k.hooks.tcp_timer = Some(h);
        for (at, sock) in [(5u64, 2), (3, 1), (5, 3)] {
            k.schedule(Instant::from_micros(at), KernelEvent::TcpTimer { sock });
        }
        assert_eq!(k.next_deadline(), Some(Instant::from_micros(3)));
        k.advance(Instant::from_micros(4));
        assert_eq!(k.now(), Instant::from_micros(4));
        LOG.with(|l| assert_eq!(*l.borrow(), vec![1]));
        k.advance(Instant::from_micros(5));
        LOG.with(|l| assert_eq!(*l.borrow(), vec![1, 2, 3]));
        assert_eq!(k.next_deadline(), None);
        // The clock never goes back.
        k.advance(Instant::from_micros(1));
        assert_eq!(k.now(), Instant::from_micros(5));
    }

    #[test]
    fn rng_is_seeded() {
        let mut a = Kernel::new(KernelConfig::default());
        let mut b = Kernel::new(KernelConfig::default());
        a.set_seed(7);
        b.set_seed(7);
        assert_eq!(a.rng().next_u64(), b.rng().next_u64());
        b.set_seed(8);
        assert_ne!(a.rng().next_u64(), b.rng().next_u64());
    }
}
