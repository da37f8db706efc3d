//! The sans-IO TCP connection (one TCB).

mod ack_sched;
mod input;
mod output;
mod timers;

use core::fmt;
use core::net::SocketAddr;
use core::ops::ControlFlow;
use std::collections::VecDeque;

use self::ack_sched::AckSched;
use crate::assembler::Assembler;
use crate::config::{Config, default_peer_mss};
use crate::congestion::Reno;
use crate::payload::Payload;
use crate::rtt::RttEstimator;
use crate::segment::{Flags, Segment, TcpOptions};
use crate::send_buffer::SendBuffer;
use crate::seq::SeqNumber;
use crate::state::{State, StateEvent};
use crate::time::{Duration, Instant};
use crate::timer::{Timer, TimerTable};

/// Something the application should know about, from [`Connection::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The three-way handshake completed (entered ESTABLISHED).
    Connected,
    /// In-order data arrived while the receive queue was empty (edge-triggered).
    Readable,
    /// Send-buffer space freed after a [`Connection::send`] could not take everything.
    Writable,
    /// The peer acknowledged the send stream up to `bytes` (a stream offset: total data bytes
    /// acknowledged since the start, SYN and FIN excluded). MSG_ZEROCOPY-style completions for
    /// everything below `bytes` may be issued.
    Acked {
        /// Send stream offset now acknowledged.
        bytes: u64,
    },
    /// The peer's FIN was reached: no more data will arrive after what is queued.
    PeerFin,
    /// The peer reset the connection (ECONNRESET, or ECONNREFUSED in SYN-SENT). Terminal.
    Reset,
    /// Retransmissions were exhausted (ETIMEDOUT). Terminal.
    TimedOut,
    /// The connection reached CLOSED normally (or by [`Connection::abort`]). Terminal.
    Closed,
}

/// Counters, in the spirit of `nstat`'s Tcp* MIBs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Segments handed to `handle_segment` that matched this connection's ports.
    pub segs_in: u64,
    /// Segments returned by `poll_transmit`.
    pub segs_out: u64,
    /// Segments sent again (SYN, SYN-ACK, data or FIN), for any reason.
    pub retransmits: u64,
    /// Payload bytes sent again.
    pub retransmitted_bytes: u64,
    /// Fast retransmits entered on three duplicate ACKs (TcpExtTCPFastRetrans-like).
    pub fast_retransmits: u64,
    /// Retransmission timer expirations acted on (TcpExtTCPTimeouts-like).
    pub rto_count: u64,
    /// Duplicate ACKs received (RFC 5681 definition).
    pub dup_acks: u64,
    /// Zero-window probes sent.
    pub zero_window_probes: u64,
    /// Challenge ACKs sent for in-window RSTs or SYNs (RFC 5961).
    pub challenge_acks: u64,
    /// Payload bytes received in order.
    pub bytes_received: u64,
}

/// [`Connection::send`] failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The write side is shut down or the connection is closed (EPIPE).
    WriteClosed,
    /// The send buffer is full (EAGAIN); an [`Event::Writable`] follows when space frees.
    WouldBlock,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::WriteClosed => "connection write side closed",
            SendError::WouldBlock => "send buffer full",
        })
    }
}

impl std::error::Error for SendError {}

/// Why [`Connection::accept`] refused to create a connection from a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejected {
    /// The segment is not a bare SYN (SYN without ACK and RST); see
    /// [`crate::listener::listen_segment`] for what to do with it instead.
    NotSyn,
    /// The segment's ports do not match the given endpoints.
    PortMismatch,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejected::NotSyn => "segment is not a SYN",
            Rejected::PortMismatch => "segment ports do not match the endpoints",
        })
    }
}

impl std::error::Error for Rejected {}

/// One TCP connection as a deterministic state machine: no I/O, no clock.
///
/// # Contract (quinn-proto's shape)
///
/// Methods fall in four groups:
///
/// - **(A) getters**: [`state`](Self::state), [`send_stream_acked`](Self::send_stream_acked),
///   [`send_queue_len`](Self::send_queue_len), [`recv_queue_len`](Self::recv_queue_len),
///   [`stats`](Self::stats), … They never change anything.
/// - **(B) inputs**: [`handle_segment`](Self::handle_segment) for a segment the socket layer
///   demultiplexed to this connection, [`handle_timeout`](Self::handle_timeout) once the
///   instant returned by `poll_timeout` is reached.
/// - **(C) application commands**: [`send`](Self::send), [`recv`](Self::recv),
///   [`shutdown_write`](Self::shutdown_write), [`close`](Self::close), [`abort`](Self::abort),
///   [`set_nodelay`](Self::set_nodelay).
/// - **(D) outputs**: [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event),
///   [`poll_timeout`](Self::poll_timeout).
///
/// After any (B) or (C) call the driver must, in this order: call `poll_transmit` until it
/// returns `None`, drain `poll_event`, then re-read `poll_timeout` and arm its timer there.
/// `now` must never go backwards across calls (a backwards `now` is treated as "no time
/// passed", never a panic).
///
/// # Sequence space
///
/// Internally both directions count 64-bit offsets from the initial sequence numbers (0 is the
/// SYN, data byte `i` is `1 + i`, the FIN follows the data), so no comparison wraps; only
/// segments carry 32-bit [`SeqNumber`]s.
///
/// # Choices (documented departures and options)
///
/// - Timestamps and SACK are not offered; a peer's offer is ignored, which RFC 7323 §3.2 and
///   RFC 2018 make "don't use" for both sides. RTT is measured on one segment per flight
///   (RFC 6298 with Karn's algorithm).
/// - Window scaling is used only when both SYNs carry the option (RFC 7323 §2.2).
/// - Give-up counts retransmissions (`retries2`) rather than Linux's time-based
///   `retransmits_timed_out()`.
/// - A zero-window probe is Linux's: an ACK with `SEQ = SND.UNA - 1` and no data
///   (tcp_xmit_probe_skb()), which the peer must answer with an ACK carrying its window.
/// - `close()` with unread data sends RST (RFC 2525 §2.17, Linux tcp_close()); data arriving
///   after `close()` also aborts with RST (Linux LINUX_MIB_TCPABORTONDATA).
/// - FIN-WAIT-2 has no timeout here (Linux's tcp_fin_timeout is for orphans the socket layer
///   owns).
#[derive(Debug)]
pub struct Connection<P: Payload> {
    config: Config,
    local: SocketAddr,
    remote: SocketAddr,
    state: State,

    // Send sequence space (offsets from `iss`).
    iss: SeqNumber,
    snd_una: u64,
    snd_nxt: u64,
    /// Highest offset ever sent (`snd_nxt` goes back after an RTO; this does not).
    snd_max: u64,
    snd_wnd: u64,
    max_snd_wnd: u64,
    snd_wl1: SeqNumber,
    snd_wl2: u64,
    snd_wscale: u8,
    rcv_wscale: u8,
    ws_negotiated: bool,
    send_mss: usize,
    local_mss: u16,
    send_buf: SendBuffer<P>,
    /// The application shut the write side: a FIN follows the queued data.
    fin_queued: bool,

    // Receive sequence space (offsets from `irs`).
    irs: SeqNumber,
    rcv_nxt: u64,
    assembler: Assembler<P>,
    /// Offset of the peer's FIN once seen (possibly ahead of `rcv_nxt`).
    peer_fin: Option<u64>,
    fin_received: bool,
    /// Right edge of the last advertised window.
    rcv_adv_edge: u64,
    /// In-order bytes received since our last ACK (delayed-ACK accounting).
    unacked_rcv_bytes: usize,
    /// When to ACK at once rather than delay ([`ack_sched`]).
    ack_sched: AckSched,
    ack_now: bool,
    /// Immediate pure ACKs owed, one per out-of-order or duplicate segment, so the peer
    /// counts its duplicate ACKs (Kernel: tcp_send_dupack(), tcp_data_queue_ofo()).
    acks_owed: u32,

    // Pending control output.
    pending_rst: Option<Segment<P>>,
    retransmit_first: bool,
    send_probe: bool,
    app_closed: bool,

    // Loss recovery.
    rtt: RttEstimator,
    /// (offset whose acknowledgment completes the sample, when the segment left).
    rtt_sample: Option<(u64, Instant)>,
    cc: Reno,
    retries: u32,
    probes: u32,
    timers: TimerTable,

    events: VecDeque<Event>,
    stats: Stats,
    writable_wanted: bool,
    nodelay: bool,
}

impl<P: Payload> Connection<P> {
    fn new(
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        iss: SeqNumber,
        now: Instant,
    ) -> Self {
        let _ = now;
        let local_mss = config.local_mss(remote);
        let rtt = RttEstimator::new(config.initial_rto, config.min_rto, config.max_rto);
        let cc = Reno::new(u64::from(local_mss), config.initial_window);
        Connection {
            nodelay: config.nodelay,
            local,
            remote,
            state: State::Closed,
            iss,
            snd_una: 0,
            snd_nxt: 0,
            snd_max: 0,
            snd_wnd: 0,
            max_snd_wnd: 0,
            snd_wl1: SeqNumber(0),
            snd_wl2: 0,
            snd_wscale: 0,
            rcv_wscale: 0,
            ws_negotiated: false,
            send_mss: usize::from(local_mss),
            local_mss,
            send_buf: SendBuffer::new(),
            fin_queued: false,
            irs: SeqNumber(0),
            rcv_nxt: 0,
            assembler: Assembler::new(),
            peer_fin: None,
            fin_received: false,
            rcv_adv_edge: 0,
            unacked_rcv_bytes: 0,
            ack_sched: AckSched::new(local_mss, config.recv_buffer as u64),
            ack_now: false,
            acks_owed: 0,
            pending_rst: None,
            retransmit_first: false,
            send_probe: false,
            app_closed: false,
            rtt,
            rtt_sample: None,
            cc,
            retries: 0,
            probes: 0,
            timers: TimerTable::default(),
            events: VecDeque::new(),
            stats: Stats::default(),
            writable_wanted: false,
            config,
        }
    }

    /// Active open: the first `poll_transmit` yields the SYN. `isn` is the initial sequence
    /// number, e.g. from [`crate::listener::initial_sequence_number`].
    ///
    /// Kernel: tcp_v4_connect() → tcp_connect().
    pub fn connect(
        now: Instant,
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        isn: SeqNumber,
    ) -> Self {
        let mut c = Self::new(config, local, remote, isn, now);
        c.transition(StateEvent::Connect);
        c
    }

    /// Passive open from a SYN that reached a listener: the connection starts in SYN-RECEIVED
    /// and the first `poll_transmit` yields the SYN-ACK. Data or FIN on the SYN are dropped
    /// (no TCP Fast Open), as Linux does.
    ///
    /// Kernel: tcp_conn_request() / tcp_v4_syn_recv_sock() (Linux keeps a request sock until
    /// the handshake completes; here the full connection exists from the SYN on).
    pub fn accept(
        now: Instant,
        config: Config,
        local: SocketAddr,
        remote: SocketAddr,
        syn: &Segment<P>,
        isn: SeqNumber,
    ) -> Result<Self, Rejected> {
        if !syn.flags.syn || syn.flags.rst || syn.ack.is_some() {
            return Err(Rejected::NotSyn);
        }
        if syn.dst_port != local.port() || syn.src_port != remote.port() {
            return Err(Rejected::PortMismatch);
        }
        let mut c = Self::new(config, local, remote, isn, now);
        c.transition(StateEvent::Listen);
        c.transition(StateEvent::RcvSyn);
        c.irs = syn.seq;
        c.rcv_nxt = 1;
        c.negotiate(&syn.options);
        c.snd_wnd = u64::from(syn.window);
        c.max_snd_wnd = c.snd_wnd;
        c.snd_wl1 = syn.seq;
        Ok(c)
    }

    // ---- (A) getters -------------------------------------------------------------------

    /// The RFC 9293 state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Local endpoint.
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// Remote endpoint.
    pub fn remote(&self) -> SocketAddr {
        self.remote
    }

    /// Send stream offset acknowledged by the peer (bytes, SYN/FIN excluded).
    pub fn send_stream_acked(&self) -> u64 {
        self.send_buf.start()
    }

    /// Send stream offset written by the application so far.
    pub fn send_stream_written(&self) -> u64 {
        self.send_buf.end()
    }

    /// Bytes queued for sending and not yet acknowledged.
    pub fn send_queue_len(&self) -> usize {
        self.send_buf.len()
    }

    /// In-order bytes waiting for [`recv`](Self::recv).
    pub fn recv_queue_len(&self) -> usize {
        self.assembler.ready_len()
    }

    /// True once the peer's FIN was reached and every byte before it was read (EOF).
    pub fn recv_finished(&self) -> bool {
        self.fin_received && self.assembler.ready_len() == 0
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The MSS we send with (peer's MSS option clamped to ours).
    pub fn send_mss(&self) -> usize {
        self.send_mss
    }

    /// The largest window the peer has offered, in bytes (Linux: `tp->max_window`).
    pub fn max_send_window(&self) -> u64 {
        self.max_snd_wnd
    }

    /// Congestion window in bytes.
    pub fn cwnd(&self) -> u64 {
        self.cc.cwnd
    }

    /// The peer's advertised window in bytes (scaled).
    pub fn send_window(&self) -> u64 {
        self.snd_wnd
    }

    /// The current retransmission timeout, backoff included.
    pub fn rto(&self) -> Duration {
        self.rtt.rto()
    }

    /// Smoothed RTT, once measured.
    pub fn srtt(&self) -> Option<Duration> {
        self.rtt.srtt()
    }

    /// Window scale shifts in use (ours for what we advertise, the peer's for what it does).
    pub fn window_scales(&self) -> (u8, u8) {
        (self.rcv_wscale, self.snd_wscale)
    }

    /// When `timer` is due, if armed (for tests and `ss -o`-style dumps).
    pub fn timer_deadline(&self, timer: Timer) -> Option<Instant> {
        self.timers.get(timer)
    }

    /// SND.NXT as a wire sequence number (for harnesses that inject segments).
    pub fn snd_nxt_seq(&self) -> SeqNumber {
        self.snd_seq(self.snd_nxt)
    }

    /// RCV.NXT as a wire sequence number (for harnesses that inject segments).
    pub fn rcv_nxt_seq(&self) -> SeqNumber {
        self.rcv_seq(self.rcv_nxt)
    }

    /// True when Nagle's algorithm is off.
    pub fn nodelay(&self) -> bool {
        self.nodelay
    }

    // ---- (C) application commands ------------------------------------------------------

    /// Queue `data` for sending. Takes as much as the send buffer has room for (slicing
    /// `data` if needed) and returns how many bytes were taken.
    ///
    /// Allowed in SYN-SENT, SYN-RECEIVED, ESTABLISHED and CLOSE-WAIT before
    /// `shutdown_write`.
    pub fn send(&mut self, data: P) -> Result<usize, SendError> {
        self.send_from(&mut VecDeque::from([data]))
    }

    /// [`send`](Self::send) over a queue of payloads, front first, until the send buffer is
    /// full: taken payloads leave `pending`, and one that only partly fits leaves its
    /// remainder at the front. Returns the bytes taken, or, when nothing was taken, the error
    /// for the front payload. The same result as sending payload by payload (kernel: the
    /// `tcp_sendmsg_locked()` copy loop, which checks `sk_stream_memory_free()` per skb),
    /// without moving each payload in and out of a call.
    pub fn send_from(&mut self, pending: &mut VecDeque<P>) -> Result<usize, SendError> {
        let open = matches!(
            self.state,
            State::SynSent | State::SynReceived | State::Established | State::CloseWait
        );
        if pending.is_empty() {
            return Ok(0);
        }
        if !open || self.fin_queued {
            return Err(SendError::WriteClosed);
        }
        let mut free = self.config.send_buffer.saturating_sub(self.send_buf.len());
        // The usual case, a queue that fits whole with no empty payload, moves in at once;
        // the loop below takes the same payloads one by one.
        if let Some(taken) = self.send_buf.append_if_fits(pending, free) {
            return Ok(taken);
        }
        let mut taken = 0;
        while let Some(front) = pending.front() {
            let len = front.len();
            if len == 0 {
                pending.pop_front();
            } else if free == 0 {
                self.writable_wanted = true;
                return if taken == 0 {
                    Err(SendError::WouldBlock)
                } else {
                    Ok(taken)
                };
            } else if len <= free {
                if let Some(p) = pending.pop_front() {
                    self.send_buf.push(p);
                }
                free -= len;
                taken += len;
            } else {
                self.writable_wanted = true;
                let head = front.slice(0..free);
                pending[0] = front.slice(free..len);
                self.send_buf.push(head);
                return Ok(taken + free);
            }
        }
        Ok(taken)
    }

    /// Up to `max` bytes of in-order received data: the front chunk as it arrived, or its first
    /// `max` bytes. `None` when nothing is queued (see [`recv_finished`](Self::recv_finished)
    /// for EOF).
    ///
    /// Reading opens the receive window; when it grew enough a window update is queued.
    /// Kernel: tcp_recvmsg() → __tcp_cleanup_rbuf().
    pub fn recv(&mut self, max: usize) -> Option<P> {
        let p = self.assembler.read(max)?;
        self.recv_done();
        Some(p)
    }

    /// Reads up to `max` bytes of in-order data chunk by chunk into `f`, each chunk as
    /// [`recv`](Self::recv) would return it (the last one cut at what is left of `max`),
    /// until `f` breaks, `max` bytes went or the queue is empty. Returns the bytes read and
    /// the chunk `f` broke on, which has left the queue all the same (the caller keeps it);
    /// `f` borrows each chunk, and the others are dropped once it is done with them.
    ///
    /// The window-update and ACK-on-read check is made once, after the chunks, when any
    /// were read, as the kernel's tcp_recvmsg_locked() copies its skbs and then calls
    /// tcp_cleanup_rbuf() once. It decides as a check after every chunk (what `recv` makes)
    /// would: reading changes neither the advertised remainder nor the unacknowledged bytes,
    /// the free window only grows, and the queue, once empty, stays empty, so no condition
    /// met after one chunk fails after a later one.
    pub fn recv_each(
        &mut self,
        max: usize,
        f: impl FnMut(&P) -> ControlFlow<()>,
    ) -> (usize, Option<P>) {
        let (n, stopped) = self.assembler.read_each(max, f);
        if n > 0 {
            self.recv_done();
        }
        (n, stopped)
    }

    /// The window-update and ACK-on-read check after a read that returned data: queue an
    /// ACK when the window grew enough or a pushed segment was drained.
    /// Kernel: tcp_recvmsg() → __tcp_cleanup_rbuf().
    fn recv_done(&mut self) {
        if self.state.is_synchronized() && !self.fin_received {
            // Window update when the advertised remainder fell to half the maximum and the
            // window now at least doubles it; receiver SWS avoidance (RFC 9293 §3.8.6.2.2)
            // requires the gain to be min(buffer/2, MSS).
            let remaining = self.rcv_adv_edge.saturating_sub(self.rcv_nxt);
            let now_wnd = self.rcv_wnd();
            let max_wnd = self.max_rcv_wnd();
            let sws = (max_wnd / 2).min(u64::from(self.local_mss));
            if 2 * remaining <= max_wnd && now_wnd >= 2 * remaining && now_wnd - remaining >= sws {
                self.ack_now = true;
            }
            // A delayed ACK goes now if this read drained a pushed segment.
            if self.unacked_rcv_bytes > 0
                && self
                    .ack_sched
                    .ack_now_on_read(self.unacked_rcv_bytes, self.assembler.ready_len() == 0)
            {
                self.ack_now = true;
            }
        }
    }

    /// Shut the write side (`shutdown(SHUT_WR)`): a FIN follows the queued data.
    ///
    /// Kernel: tcp_shutdown() → tcp_close_state() + tcp_send_fin().
    pub fn shutdown_write(&mut self) {
        match self.state {
            State::Listen | State::SynSent => {
                self.transition(StateEvent::Close);
                self.enter_closed(Event::Closed);
            }
            // The FIN waits for ESTABLISHED (RFC 9293 §3.10.4).
            State::SynReceived => self.fin_queued = true,
            State::Established | State::CloseWait => {
                self.fin_queued = true;
                self.transition(StateEvent::Close);
            }
            _ => {}
        }
    }

    /// `close()` on the socket: shut the write side, and stop accepting data. Unread data (now
    /// or later) turns this into an abort with RST, as Linux's tcp_close() does.
    pub fn close(&mut self) {
        self.app_closed = true;
        if self.assembler.ready_len() > 0 {
            self.abort();
        } else {
            self.shutdown_write();
        }
    }

    /// Abort: send RST (in synchronized states) and go to CLOSED at once.
    ///
    /// Kernel: tcp_disconnect() / tcp_send_active_reset().
    pub fn abort(&mut self) {
        if self.state == State::Closed {
            return;
        }
        if self.state.is_synchronized() && self.state != State::TimeWait {
            let mut rst = self.header(self.snd_max);
            rst.flags.rst = true;
            rst.window = 0;
            self.pending_rst = Some(rst);
        }
        self.transition(StateEvent::Abort);
        self.enter_closed(Event::Closed);
    }

    /// TCP_NODELAY: turn Nagle's algorithm off (`true`) or on.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nodelay = nodelay;
    }

    // ---- (D) outputs (poll_transmit in output.rs) ----------------------------------------

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The earliest armed timer, if any. Call [`handle_timeout`](Self::handle_timeout) then.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    // ---- internals ---------------------------------------------------------------------

    /// Apply `event` through the declared table; a missing row is a bug here.
    fn transition(&mut self, event: StateEvent) {
        match self.state.on(event) {
            Some(next) => self.state = next,
            None => panic!("no transition from {} on {:?}", self.state, event),
        }
    }

    /// Enter CLOSED: stop timers, drop what can no longer be sent, report `event`.
    fn enter_closed(&mut self, event: Event) {
        debug_assert_eq!(self.state, State::Closed);
        self.timers.stop_all();
        self.send_buf.clear();
        self.retransmit_first = false;
        self.send_probe = false;
        self.ack_now = false;
        self.acks_owed = 0;
        self.events.push_back(event);
    }

    /// Process the options of the peer's SYN. Kernel: tcp_parse_options() +
    /// tcp_sync_mss().
    fn negotiate(&mut self, opts: &TcpOptions) {
        let peer_mss = opts.mss.unwrap_or_else(|| default_peer_mss(self.remote));
        // Linux clamps a tiny MSS option to TCP_MIN_MSS (88).
        self.send_mss = usize::from(peer_mss.clamp(88, self.local_mss.max(88)));
        if let (Some(ours), Some(theirs)) = (self.config.window_scale, opts.window_scale) {
            self.ws_negotiated = true;
            self.rcv_wscale = ours.min(14);
            self.snd_wscale = theirs.min(14);
        } else {
            self.ws_negotiated = false;
            self.rcv_wscale = 0;
            self.snd_wscale = 0;
        }
        self.cc = Reno::new(self.send_mss as u64, self.config.initial_window);
    }

    /// Owe the peer one immediate ACK.
    fn owe_ack(&mut self) {
        self.acks_owed = self.acks_owed.saturating_add(1);
    }

    /// The largest window our scale lets us advertise, bounded by the buffer.
    fn max_rcv_wnd(&self) -> u64 {
        (self.config.recv_buffer as u64).min(65_535u64 << self.rcv_wscale)
    }

    /// Free receive space: the window we may advertise now.
    fn rcv_wnd(&self) -> u64 {
        self.max_rcv_wnd()
            .saturating_sub(self.assembler.ready_len() as u64)
    }

    /// Sequence number of send offset `off`.
    fn snd_seq(&self, off: u64) -> SeqNumber {
        self.iss + (off as usize)
    }

    /// Sequence number of receive offset `off`.
    fn rcv_seq(&self, off: u64) -> SeqNumber {
        self.irs + (off as usize)
    }

    /// Offset (from `iss`) of our FIN, once the application shut the write side.
    fn fin_off(&self) -> Option<u64> {
        self.fin_queued.then(|| 1 + self.send_buf.end())
    }

    /// A segment from us at send offset `seq_off`, with ACK and window when synchronized.
    /// Sending any ACK satisfies pending and delayed ACKs.
    fn header<T>(&mut self, seq_off: u64) -> Segment<T> {
        let mut seg = Segment::new(self.local.port(), self.remote.port(), self.snd_seq(seq_off));
        if self.state.is_synchronized() || self.rcv_nxt > 0 {
            seg.ack = Some(self.rcv_seq(self.rcv_nxt));
            let wnd = self.rcv_wnd();
            let raw = (wnd >> self.rcv_wscale).min(65_535);
            seg.window = raw as u16;
            self.rcv_adv_edge = self
                .rcv_adv_edge
                .max(self.rcv_nxt + (raw << self.rcv_wscale));
            self.ack_sched.ack_sent(self.unacked_rcv_bytes > 0);
            self.ack_now = false;
            self.unacked_rcv_bytes = 0;
            self.timers.stop(Timer::DelayedAck);
        }
        seg.flags = Flags::default();
        seg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SharedBytes;

    /// A connection that accepted 192.0.2.2:4000 on port 80 and is established, with a
    /// send buffer of `send_buffer` bytes (the output tests use it too).
    pub(super) fn established(send_buffer: usize) -> Connection<SharedBytes> {
        let (local, remote) = (
            "192.0.2.1:80".parse().unwrap(),
            "192.0.2.2:4000".parse().unwrap(),
        );
        let mut syn = Segment::new(4000, 80, SeqNumber(1000));
        syn.flags.syn = true;
        syn.window = 65535;
        let config = Config {
            send_buffer,
            ..Config::default()
        };
        let t0 = Instant::from_millis(1);
        let mut c = Connection::accept(t0, config, local, remote, &syn, SeqNumber(5000)).unwrap();
        while c.poll_transmit(t0, usize::MAX).is_some() {}
        let mut ack = Segment::new(4000, 80, SeqNumber(1001));
        ack.ack = Some(SeqNumber(5001));
        ack.window = 65535;
        c.handle_segment(t0, ack);
        assert_eq!(c.state(), State::Established);
        c
    }

    /// One `recv_each` per read sends the same ACKs (sequence, acknowledgment, window) at
    /// the same moments as `recv` chunk by chunk with the check after every chunk, and
    /// leaves the same bytes queued, through in-order and out-of-order arrivals (several
    /// chunks per segment, some pushed) and reads of every size, some stopped early.
    #[test]
    fn recv_each_acks_as_recv_per_chunk() {
        let t = Instant::from_millis(2);
        // (segment start in payload bytes, chunk sizes, PSH) then a read of
        // (max, chunks before the reader stops).
        let arrivals: &[(u64, &[usize], bool)] = &[
            (0, &[9000, 9000, 4000], false),
            (22_000, &[9000, 9000, 9000, 9000], true),
            (76_000, &[9000, 1000], false),
            (58_000, &[9000, 9000], false),
            (86_000, &[100], true),
            (86_100, &[60_000, 60_000, 60_000], false),
        ];
        let reads = [
            (5000, 9),
            (100_000, 2),
            (1, 9),
            (usize::MAX, 9),
            (70_000, 9),
            (200_000, 3),
            (usize::MAX, 9),
        ];
        let mut read_acks = 0;
        for (i, &(max, stop)) in reads.iter().enumerate() {
            let (mut a, mut b) = (established(1000), established(1000));
            let mut sent = (Vec::new(), Vec::new());
            let mut kept = (Vec::new(), Vec::new());
            for (j, &(start, chunks, psh)) in arrivals.iter().enumerate() {
                let mut seg = Segment::new(4000, 80, SeqNumber(1001) + start as usize);
                seg.ack = Some(SeqNumber(5001));
                seg.window = 65535;
                seg.flags.psh = psh;
                seg.payload = chunks.iter().map(|&n| vec![j as u8; n].into()).collect();
                for (c, out) in [(&mut a, &mut sent.0), (&mut b, &mut sent.1)] {
                    c.handle_segment(t, seg.clone());
                    while let Some(seg) = c.poll_transmit(t, usize::MAX) {
                        out.push((j, false, seg.seq, seg.ack, seg.window, seg.flags));
                    }
                }
                // Chunk by chunk, the check after each.
                let mut left = max;
                let mut n = 0;
                while n < stop
                    && let Some(p) = a.recv(left)
                {
                    left -= p.len();
                    n += 1;
                    kept.0.push(p);
                }
                // Once per read.
                let mut n = 0;
                b.recv_each(max, |p| {
                    kept.1.push(p.clone());
                    n += 1;
                    if n == stop {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                for (c, out) in [(&mut a, &mut sent.0), (&mut b, &mut sent.1)] {
                    while let Some(seg) = c.poll_transmit(t, usize::MAX) {
                        out.push((j, true, seg.seq, seg.ack, seg.window, seg.flags));
                    }
                }
                assert_eq!(a.recv_queue_len(), b.recv_queue_len(), "read {i}");
                assert_eq!(
                    a.timer_deadline(Timer::DelayedAck),
                    b.timer_deadline(Timer::DelayedAck)
                );
            }
            assert_eq!(sent.0, sent.1, "read {i}: max {max}, stop after {stop}");
            read_acks += sent.0.iter().filter(|s| s.1).count();
            assert_eq!(kept.0, kept.1);
        }
        assert!(read_acks > 0, "some reads send an ACK");
    }

    /// `send_from` on the whole queue takes exactly what it takes payload by payload (each
    /// alone in a queue, as `send` does), leaves the same remainder, and reports a full
    /// buffer and a closed write side the same way.
    #[test]
    fn send_from_matches_send_per_payload() {
        for (chunks, room) in [&[700usize, 0, 1200, 900, 400][..], &[700, 1200, 900, 400]]
            .into_iter()
            .flat_map(|c| [0usize, 500, 700, 1900, 2800, 3200, 10_000].map(|r| (c, r)))
        {
            let data: Vec<SharedBytes> = chunks.iter().map(|&n| vec![n as u8; n].into()).collect();
            let (mut a, mut b) = (established(room), established(room));
            let mut one: VecDeque<SharedBytes> = data.iter().cloned().collect();
            let mut taken = 0;
            let mut blocked = false;
            while let Some(front) = one.pop_front() {
                let mut alone = VecDeque::from([front]);
                match a.send_from(&mut alone) {
                    Ok(n) => {
                        taken += n;
                        if let Some(rest) = alone.pop_front() {
                            one.push_front(rest);
                            break;
                        }
                    }
                    Err(e) => {
                        assert_eq!(e, SendError::WouldBlock);
                        blocked = true;
                        if let Some(front) = alone.pop_front() {
                            one.push_front(front);
                        }
                        break;
                    }
                }
            }
            let mut all: VecDeque<SharedBytes> = data.iter().cloned().collect();
            match b.send_from(&mut all) {
                Ok(n) => assert_eq!(n, taken, "room {room}"),
                Err(e) => assert_eq!((e, taken, blocked), (SendError::WouldBlock, 0, true)),
            }
            assert_eq!(all, one, "room {room}");
            assert_eq!(b.send_buf.range(0, taken), a.send_buf.range(0, taken));
            assert_eq!(a.writable_wanted, b.writable_wanted, "room {room}");
        }
        let mut c = established(1000);
        c.shutdown_write();
        let mut q: VecDeque<SharedBytes> = [SharedBytes::from(vec![1u8; 10])].into();
        assert_eq!(c.send_from(&mut q), Err(SendError::WriteClosed));
        assert_eq!(q.len(), 1);
        assert_eq!(c.send_from(&mut VecDeque::new()), Ok(0));
    }
}
