//! A deterministic two-endpoint harness (quinn's `tests/util.rs` `Pair`): virtual time, a
//! seeded link model, and scripted applications on both sides.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::rc::Rc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tcp::{Config, Connection, Duration, Event, Instant, Payload, Segment, SeqNumber, SharedBytes};

/// Which endpoint sent a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Client,
    Server,
}

/// Per-direction link behaviour (turmoil-style faults, seeded like smoltcp's FaultInjector).
#[derive(Clone, Debug)]
pub struct Link {
    pub latency: Duration,
    pub loss: f64,
    /// Probability a segment is held back by an extra 1..=3 latencies.
    pub reorder: f64,
    pub duplicate: f64,
    /// Corrupted segments fail the checksum at the receiver: modelled as a drop.
    pub corrupt: f64,
}

impl Link {
    pub fn perfect(latency_ms: u64) -> Self {
        Link {
            latency: Duration::from_millis(latency_ms),
            loss: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
        }
    }
}

pub type Rule = Box<dyn FnMut(Side, &Segment<SharedBytes>) -> bool>;

/// One segment as it left an endpoint.
#[derive(Clone, Debug)]
pub struct Sent {
    pub at: Instant,
    pub from: Side,
    pub seg: Segment<SharedBytes>,
    pub dropped: bool,
}

/// A scripted application on one endpoint.
#[derive(Default)]
pub struct App {
    /// Payloads still to hand to `send`.
    pub to_send: VecDeque<SharedBytes>,
    /// `shutdown_write` once `to_send` is drained.
    pub shutdown_when_done: bool,
    shutdown_done: bool,
    /// Read everything as it arrives.
    pub read: bool,
    pub received: Vec<SharedBytes>,
    pub events: Vec<(Instant, Event)>,
}

impl App {
    pub fn received_bytes(&self) -> Vec<u8> {
        self.received
            .iter()
            .flat_map(|p| p.as_bytes().iter().copied())
            .collect()
    }
}

pub struct Pair {
    pub client: Connection<SharedBytes>,
    pub server: Connection<SharedBytes>,
    pub client_app: App,
    pub server_app: App,
    pub time: Instant,
    pub link: Link,
    pub max_payload: usize,
    /// Returns true to drop a segment (after the random link model passed it).
    pub rule: Option<Rule>,
    pub log: Vec<Sent>,
    rng: ChaCha8Rng,
    in_flight: BTreeMap<(Instant, u64), (Side, Segment<SharedBytes>)>,
    next_id: u64,
}

pub fn client_addr() -> SocketAddr {
    "192.0.2.1:40000".parse().unwrap()
}

pub fn server_addr() -> SocketAddr {
    "192.0.2.2:5201".parse().unwrap()
}

impl Pair {
    /// Client connects; the server is created from the SYN when it arrives.
    pub fn new(seed: u64, link: Link, client_cfg: Config, server_cfg: Config) -> Self {
        let time = Instant::from_millis(1);
        let client = Connection::connect(
            time,
            client_cfg,
            client_addr(),
            server_addr(),
            SeqNumber(0xfff0_0000),
        );
        let mut client = client;
        let syn = client.poll_transmit(time, usize::MAX).unwrap();
        let server = Connection::accept(
            time,
            server_cfg,
            server_addr(),
            client_addr(),
            &syn,
            SeqNumber(7),
        )
        .unwrap();
        let log = vec![Sent {
            at: time,
            from: Side::Client,
            seg: syn,
            dropped: false,
        }];
        Pair {
            client,
            server,
            client_app: App {
                read: true,
                ..App::default()
            },
            server_app: App {
                read: true,
                ..App::default()
            },
            time,
            link,
            max_payload: usize::MAX,
            rule: None,
            log,
            rng: ChaCha8Rng::seed_from_u64(seed),
            in_flight: BTreeMap::new(),
            next_id: 0,
        }
    }

    /// Default configs, perfect 5 ms link.
    pub fn default_pair() -> Self {
        Pair::new(1, Link::perfect(5), Config::default(), Config::default())
    }

    fn conn(&mut self, side: Side) -> (&mut Connection<SharedBytes>, &mut App) {
        match side {
            Side::Client => (&mut self.client, &mut self.client_app),
            Side::Server => (&mut self.server, &mut self.server_app),
        }
    }

    fn enqueue(&mut self, from: Side, seg: Segment<SharedBytes>) {
        let mut dropped =
            self.rng.random_bool(self.link.loss) || self.rng.random_bool(self.link.corrupt);
        if !dropped && let Some(rule) = self.rule.as_mut() {
            dropped = rule(from, &seg);
        }
        self.log.push(Sent {
            at: self.time,
            from,
            seg: seg.clone(),
            dropped,
        });
        if dropped {
            return;
        }
        let mut delay = self.link.latency;
        if self.rng.random_bool(self.link.reorder) {
            delay += self.link.latency * self.rng.random_range(1..=3);
        }
        if self.rng.random_bool(self.link.duplicate) {
            let extra = Duration::from_micros(self.rng.random_range(0..2000));
            self.push(self.time + delay + extra, from, seg.clone());
        }
        self.push(self.time + delay, from, seg);
    }

    fn push(&mut self, at: Instant, from: Side, seg: Segment<SharedBytes>) {
        self.next_id += 1;
        self.in_flight.insert((at, self.next_id), (from, seg));
    }

    fn run_app(&mut self, side: Side) {
        let now = self.time;
        let (conn, app) = self.conn(side);
        while let Some(front) = app.to_send.pop_front() {
            match conn.send(front.clone()) {
                Ok(n) if n == front.len() => {}
                Ok(n) => {
                    app.to_send.push_front(front.slice(n..front.len()));
                    break;
                }
                Err(_) => {
                    app.to_send.push_front(front);
                    break;
                }
            }
        }
        let open = matches!(
            conn.state(),
            tcp::State::Established | tcp::State::CloseWait
        );
        if open && app.to_send.is_empty() && app.shutdown_when_done && !app.shutdown_done {
            app.shutdown_done = true;
            conn.shutdown_write();
        }
        if app.read {
            while let Some(p) = conn.recv(usize::MAX) {
                app.received.push(p);
            }
        }
        while let Some(ev) = conn.poll_event() {
            app.events.push((now, ev));
        }
    }

    fn transmit(&mut self, side: Side) {
        loop {
            let now = self.time;
            let max = self.max_payload;
            let Some(seg) = self.conn(side).0.poll_transmit(now, max) else {
                break;
            };
            self.enqueue(side, seg);
        }
    }

    /// Process everything due now, then advance time to the next event. False when idle.
    pub fn step(&mut self) -> bool {
        let now = self.time;
        for side in [Side::Client, Side::Server] {
            let conn = self.conn(side).0;
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
        }
        while let Some(entry) = self.in_flight.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (from, seg) = entry.remove();
            let to = if from == Side::Client {
                Side::Server
            } else {
                Side::Client
            };
            self.conn(to).0.handle_segment(now, seg);
        }
        for side in [Side::Client, Side::Server] {
            self.run_app(side);
            self.transmit(side);
            self.run_app(side);
        }
        let next = [
            self.in_flight.keys().next().map(|k| k.0),
            self.client.poll_timeout(),
            self.server.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min();
        match next {
            Some(t) => {
                self.time = self.time.max(t);
                true
            }
            None => false,
        }
    }

    /// Step until idle; Err on livelock after `max_steps`.
    pub fn drive_bounded(&mut self, max_steps: usize) -> Result<usize, String> {
        for i in 0..max_steps {
            if !self.step() {
                return Ok(i);
            }
        }
        Err(format!(
            "livelock: not idle after {max_steps} steps at {:?} (client {}, server {})",
            self.time,
            self.client.state(),
            self.server.state()
        ))
    }

    /// Run the applications and send what is ready now, without advancing time.
    pub fn transmit_now(&mut self) {
        for side in [Side::Client, Side::Server] {
            self.run_app(side);
            self.transmit(side);
        }
    }

    pub fn drive(&mut self) {
        self.drive_bounded(1_000_000).unwrap();
    }

    /// Step until `done(self)` holds; Err if idle or out of steps first.
    pub fn drive_until(
        &mut self,
        max_steps: usize,
        mut done: impl FnMut(&Pair) -> bool,
    ) -> Result<(), String> {
        for _ in 0..max_steps {
            if done(self) {
                return Ok(());
            }
            if !self.step() {
                return if done(self) {
                    Ok(())
                } else {
                    Err(format!("idle at {:?} before condition", self.time))
                };
            }
        }
        Err(format!(
            "condition not reached in {max_steps} steps at {:?}",
            self.time
        ))
    }

    /// Data segments sent by `side` (payload > 0), in order.
    pub fn data_segments(&self, side: Side) -> Vec<&Sent> {
        self.log
            .iter()
            .filter(|s| s.from == side && s.seg.payload_len() > 0)
            .collect()
    }

    pub fn events(&self, side: Side) -> Vec<Event> {
        let app = if side == Side::Client {
            &self.client_app
        } else {
            &self.server_app
        };
        app.events.iter().map(|(_, e)| *e).collect()
    }
}

/// Deterministic test data: `len` bytes from `seed`.
pub fn pattern(len: usize, seed: u64) -> SharedBytes {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut v = vec![0u8; len];
    rng.fill(&mut v[..]);
    SharedBytes::new(Rc::from(v))
}
