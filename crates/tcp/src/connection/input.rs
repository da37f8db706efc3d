//! (B) inputs: segment arrival, RFC 9293 §3.10.7 "SEGMENT ARRIVES".

use super::{Connection, Event};
use crate::congestion::AckAction;
use crate::payload::Payload;
use crate::segment::{Flags, Segment};
use crate::state::{State, StateEvent};
use crate::time::Instant;
use crate::timer::Timer;

impl<P: Payload> Connection<P> {
    /// A segment for this connection arrived (the socket layer already matched the 4-tuple).
    ///
    /// Kernel: tcp_rcv_state_process() / tcp_rcv_established().
    pub fn handle_segment(&mut self, now: Instant, mut seg: Segment<P>) {
        self.handle_segment_in(now, &mut seg);
    }

    /// [`Connection::handle_segment`] on a borrowed segment whose payload it takes: on
    /// return `seg.payload` is empty (what was not queued is dropped at the point
    /// `handle_segment` drops it) and keeps its capacity, so a caller can reuse the vector
    /// for the next segment instead of allocating one per received skb.
    pub fn handle_segment_in(&mut self, now: Instant, seg: &mut Segment<P>) {
        if seg.src_port != self.remote.port() || seg.dst_port != self.local.port() {
            seg.payload.clear();
            return;
        }
        self.stats.segs_in += 1;
        match self.state {
            State::Closed | State::Listen => {}
            State::SynSent => self.on_syn_sent(now, seg),
            _ => self.on_synchronized(now, seg),
        }
        seg.payload.clear();
        self.update_timers(now);
    }

    /// Queue `<SEQ=ack><CTL=RST>` answering an unacceptable ACK.
    fn reset_answering(&mut self, seg: &Segment<P>) {
        if let (false, Some(ack)) = (seg.flags.rst, seg.ack) {
            let mut rst = Segment::new(self.local.port(), self.remote.port(), ack);
            rst.flags = Flags {
                rst: true,
                ..Flags::default()
            };
            self.pending_rst = Some(rst);
        }
    }

    /// An acceptable RST arrived. Kernel: tcp_reset().
    fn reset_by_peer(&mut self) {
        self.transition(StateEvent::RcvRst);
        self.enter_closed(Event::Reset);
    }

    //= RFC 9293 §3.10.7.3 SYN-SENT STATE
    fn on_syn_sent(&mut self, now: Instant, seg: &mut Segment<P>) {
        let ack_off = seg.ack.map(|a| i64::from(a.wrapping_diff(self.iss)));
        if let Some(a) = ack_off {
            //# If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
            //# set, if so drop the segment and return)
            if a <= 0 || a > self.snd_max as i64 {
                self.reset_answering(seg);
                return;
            }
        }
        if seg.flags.rst {
            //# If the ACK was acceptable, then signal to the user "error: connection reset"
            if ack_off.is_some() {
                self.reset_by_peer();
            }
            return;
        }
        if !seg.flags.syn {
            return;
        }
        self.irs = seg.seq;
        self.rcv_nxt = 1;
        self.negotiate(&seg.options);
        // The window of a SYN is never scaled (RFC 7323 §2.2).
        self.snd_wnd = u64::from(seg.window);
        self.max_snd_wnd = self.snd_wnd;
        self.snd_wl1 = seg.seq;
        match ack_off {
            Some(a) => {
                self.snd_wl2 = a as u64;
                self.ack_syn(now, a as u64);
                self.transition(StateEvent::RcvSynAck);
                self.events.push_back(Event::Connected);
                self.ack_now = true;
                let flags = seg.flags;
                let lens = payload_lens(&seg.payload);
                self.process_text(now, 1, &mut seg.payload, lens, flags);
            }
            None => {
                // Simultaneous open: answer with SYN-ACK (our SYN again, now with ACK).
                self.transition(StateEvent::RcvSyn);
                self.snd_nxt = 0;
                self.rtt_sample = None;
            }
        }
    }

    /// Our SYN was acknowledged.
    fn ack_syn(&mut self, now: Instant, ack_off: u64) {
        if let Some((end, sent)) = self.rtt_sample
            && ack_off >= end
        {
            self.rtt.sample(now - sent);
        }
        self.rtt_sample = None;
        self.snd_una = ack_off;
        self.snd_nxt = self.snd_nxt.max(ack_off);
        self.retries = 0;
        self.rtt.reset_backoff();
        self.timers.stop(Timer::Retransmit);
    }

    //= RFC 9293 §3.10.7.4 Other States
    fn on_synchronized(&mut self, now: Instant, seg: &mut Segment<P>) {
        let rn = self.rcv_nxt as i64;
        let seq_off = rn + i64::from(seg.seq.wrapping_diff(self.rcv_seq(self.rcv_nxt)));
        // The payload is measured once here, for the acceptability test, the duplicate-ACK
        // test and the text (SEG.LEN is it plus one each for SYN and FIN).
        let lens = payload_lens(&seg.payload);
        let plen = lens.0 as usize;
        let seg_len = (plen + usize::from(seg.flags.syn) + usize::from(seg.flags.fin)) as i64;
        let wnd = self.rcv_wnd() as i64;

        // A SYN again in SYN-RECEIVED: the peer lost our SYN-ACK (resend it) or, in a
        // simultaneous open, this is its SYN-ACK (Kernel: tcp_check_req()).
        if self.state == State::SynReceived && seg.flags.syn && !seg.flags.rst && seq_off == 0 {
            match seg.ack.map(|a| i64::from(a.wrapping_diff(self.iss))) {
                Some(a) if a >= 1 && a <= self.snd_max as i64 => {
                    self.ack_syn(now, a as u64);
                    self.snd_wnd = u64::from(seg.window);
                    self.max_snd_wnd = self.max_snd_wnd.max(self.snd_wnd);
                    self.snd_wl1 = seg.seq;
                    self.snd_wl2 = a as u64;
                    self.establish();
                    self.ack_now = true;
                }
                Some(_) => self.reset_answering(seg),
                None => self.snd_nxt = 0,
            }
            return;
        }

        //# There are four cases for the acceptability test for an incoming segment
        let acceptable = match (seg_len, wnd) {
            (0, 0) => seq_off == rn,
            (0, _) => rn <= seq_off && seq_off < rn + wnd,
            // Zero window: RFC 9293 asks to still process valid ACKs and RSTs; the text is
            // trimmed to nothing below.
            (_, 0) => seq_off == rn,
            (_, _) => {
                let last = seq_off + seg_len - 1;
                (rn <= seq_off && seq_off < rn + wnd) || (rn <= last && last < rn + wnd)
            }
        };
        if !acceptable {
            //# If an incoming segment is not acceptable, an acknowledgment should be sent
            //# in reply (unless the RST bit is set, if so drop the segment and return)
            if !seg.flags.rst {
                if self.state == State::TimeWait && seg.flags.fin {
                    // A retransmitted FIN: acknowledge it and restart the 2*MSL timeout.
                    self.transition(StateEvent::RcvFin);
                    self.timers
                        .set(Timer::TimeWait, now + self.config.time_wait);
                }
                self.ack_now = true;
            }
            return;
        }

        if seg.flags.rst {
            //= RFC 5961 §3.2: reset only on an exact match, challenge otherwise.
            if seq_off == rn {
                self.reset_by_peer();
            } else {
                self.challenge_ack();
            }
            return;
        }
        if seg.flags.syn {
            //= RFC 5961 §4.2: a SYN in a synchronized state gets a challenge ACK.
            self.challenge_ack();
            return;
        }
        let Some(ack) = seg.ack else {
            //# if the ACK bit is off, drop the segment and return
            return;
        };
        let ack_off =
            self.snd_una as i64 + i64::from(ack.wrapping_diff(self.snd_seq(self.snd_una)));

        if self.state == State::SynReceived {
            //# If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state
            if ack_off > self.snd_una as i64 && ack_off <= self.snd_max as i64 {
                self.snd_wnd = u64::from(seg.window) << self.snd_wscale;
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = ack_off as u64;
                self.establish();
            } else {
                //# If the segment acknowledgment is not acceptable, form a reset segment
                self.reset_answering(seg);
                return;
            }
        }

        if ack_off > self.snd_max as i64 {
            //# If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK,
            //# drop the segment, and return.
            self.ack_now = true;
            return;
        }
        if ack_off >= self.snd_una as i64 {
            let ack_off = ack_off as u64;
            let window = u64::from(seg.window) << self.snd_wscale;
            //= RFC 5681 §2 DUPLICATE ACKNOWLEDGMENT (a)-(e)
            let is_dup = ack_off == self.snd_una
                && self.snd_max > self.snd_una
                && plen == 0
                && !seg.flags.fin
                && window == self.snd_wnd;
            //# If SND.WL1 < SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK), set
            //# SND.WND <- SEG.WND, set SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK.
            if self.snd_wl1 < seg.seq || (self.snd_wl1 == seg.seq && self.snd_wl2 <= ack_off) {
                self.snd_wnd = window;
                self.max_snd_wnd = self.max_snd_wnd.max(window);
                self.snd_wl1 = seg.seq;
                self.snd_wl2 = ack_off;
            }
            self.probes = 0;
            if ack_off > self.snd_una {
                self.on_new_ack(now, ack_off);
            } else if is_dup {
                self.stats.dup_acks += 1;
                let flight = self.snd_max - self.snd_una;
                let mss = self.send_mss as u64;
                if self.cc.on_dup_ack(self.snd_una, self.snd_max, flight, mss)
                    == AckAction::RetransmitFirst
                {
                    self.retransmit_first = true;
                    self.stats.fast_retransmits += 1;
                    self.rtt_sample = None;
                }
            }
        }

        // Our FIN acknowledged?
        if let Some(fin) = self.fin_off()
            && self.snd_una > fin
        {
            match self.state {
                State::FinWait1 => self.transition(StateEvent::RcvAckOfFin),
                State::Closing => {
                    self.transition(StateEvent::RcvAckOfFin);
                    self.enter_time_wait(now);
                }
                State::LastAck => {
                    self.transition(StateEvent::RcvAckOfFin);
                    self.enter_closed(Event::Closed);
                    return;
                }
                _ => {}
            }
        }

        // A bare ACK (no payload, no FIN) has no text: `process_text` would change nothing
        // (kernel: tcp_rcv_established() frees a pure ACK without tcp_data_queue()).
        if (lens.0 > 0 || seg.flags.fin)
            && matches!(
                self.state,
                State::Established | State::FinWait1 | State::FinWait2
            )
        {
            let flags = seg.flags;
            self.process_text(now, seq_off as u64, &mut seg.payload, lens, flags);
        }
    }

    /// SYN-RECEIVED → ESTABLISHED, then any close the application asked for meanwhile.
    fn establish(&mut self) {
        self.transition(StateEvent::RcvAckOfSyn);
        self.events.push_back(Event::Connected);
        if self.fin_queued {
            self.transition(StateEvent::Close);
        }
    }

    fn challenge_ack(&mut self) {
        self.stats.challenge_acks += 1;
        self.ack_now = true;
    }

    /// New data (or SYN/FIN) acknowledged up to send offset `ack_off`.
    /// Kernel: tcp_ack() → tcp_clean_rtx_queue().
    fn on_new_ack(&mut self, now: Instant, ack_off: u64) {
        let acked = ack_off - self.snd_una;
        let data_acked_to = ack_off.saturating_sub(1).min(self.send_buf.end());
        if data_acked_to > self.send_buf.start() {
            self.send_buf.ack_to(data_acked_to);
            self.events.push_back(Event::Acked {
                bytes: data_acked_to,
            });
            if self.writable_wanted && self.send_buf.len() < self.config.send_buffer {
                self.writable_wanted = false;
                self.events.push_back(Event::Writable);
            }
        }
        //= RFC 6298 §3 Karn: samples only from segments never retransmitted (the sample is
        //= dropped on every retransmission).
        if let Some((end, sent)) = self.rtt_sample
            && ack_off >= end
        {
            self.rtt.sample(now - sent);
            self.rtt_sample = None;
        }
        self.snd_una = ack_off;
        self.snd_nxt = self.snd_nxt.max(ack_off);
        self.retries = 0;
        self.rtt.reset_backoff();
        let flight = self.snd_max - self.snd_una;
        if self.cc.on_ack(acked, ack_off, flight, self.send_mss as u64)
            == AckAction::RetransmitFirst
        {
            self.retransmit_first = true;
            self.rtt_sample = None;
        }
        //= RFC 6298 §5.3: restart the timer when an ACK acknowledges new data.
        if self.snd_nxt > self.snd_una {
            self.timers.set(Timer::Retransmit, now + self.rtt.rto());
        } else {
            self.timers.stop(Timer::Retransmit);
        }
    }

    /// Queue payload starting at receive offset `seq_off` and note a FIN after it; the
    /// chunks are taken out of `payload` (any left, on an early return, are the caller's
    /// to drop). `(plen, none_empty)` is [`payload_lens`] of `payload`.
    /// Kernel: tcp_data_queue() / tcp_fin().
    fn process_text(
        &mut self,
        now: Instant,
        seq_off: u64,
        payload: &mut Vec<P>,
        (plen, none_empty): (u64, bool),
        flags: Flags,
    ) {
        debug_assert_eq!((plen, none_empty), payload_lens(payload));
        let fin = flags.fin;
        // A bare ACK (no payload, no FIN) queues and acknowledges nothing: `rcv_nxt` is
        // already `1 + assembler.next()` (it moves only here, and past a received FIN the
        // early return below is taken; a FIN held beyond a hole waits for data), so nothing
        // below would change.
        if plen == 0 && !fin {
            return;
        }
        let rn = self.rcv_nxt;
        let right = rn + self.rcv_wnd();
        if self.fin_received {
            return;
        }
        if self.app_closed && plen > 0 && seq_off + plen > rn {
            // Data for a closed socket: Linux aborts (tcp_rcv_state_process, TCPAbortOnData).
            self.abort();
            return;
        }
        let had_ooo = self.assembler.ooo_len() > 0;
        let was_empty = self.assembler.ready_len() == 0;
        let mut advanced = 0;
        let mut off = seq_off;
        // The usual skb, in sequence and inside the window, goes onto the receive queue
        // whole; the loop below queues the same chunks one by one.
        if none_empty
            && seq_off == rn
            && seq_off + plen <= right
            && self.assembler.append_in_order(seq_off - 1, payload, plen)
        {
            advanced = plen;
            off = seq_off + plen;
        }
        // Empty when appended whole above: no drain to make and drop.
        if !payload.is_empty() {
            for chunk in payload.drain(..) {
                let (s, e) = (off, off + chunk.len() as u64);
                off = e;
                let (s2, e2) = (s.max(rn), e.min(right));
                if s2 >= e2 {
                    continue;
                }
                let piece = if (s2, e2) == (s, e) {
                    chunk
                } else {
                    chunk.slice((s2 - s) as usize..(e2 - s) as usize)
                };
                advanced += self.assembler.insert(s2 - 1, piece);
            }
        }
        if fin && off <= right {
            self.peer_fin = Some(off);
        }
        self.rcv_nxt = 1 + self.assembler.next();
        self.stats.bytes_received += advanced;

        if plen > 0 {
            //= RFC 5681 §4.2: ACK at once for out-of-order data and for data filling a hole;
            //= otherwise as Linux decides (see `ack_sched`): at once in quick-ACK mode or
            //= past one MSS unacknowledged, else within the delay.
            if advanced == 0 || had_ooo || self.assembler.ooo_len() > 0 {
                self.owe_ack();
            } else {
                self.unacked_rcv_bytes += advanced as usize;
                let remnant = flags.psh || flags.fin || flags.syn;
                let wnd = self.rcv_wnd();
                self.ack_sched
                    .data_recv(plen as usize, flags.psh, remnant, self.local_mss, wnd);
                match self.config.delayed_ack {
                    Some(delay) if !self.ack_sched.ack_now_on_data(self.unacked_rcv_bytes) => {
                        if !self.timers.is_set(Timer::DelayedAck) {
                            self.timers.set(Timer::DelayedAck, now + delay);
                        }
                    }
                    _ => self.ack_now = true,
                }
            }
        }
        if advanced > 0 && was_empty {
            self.events.push_back(Event::Readable);
        }
        if self.peer_fin == Some(self.rcv_nxt) {
            self.rcv_nxt += 1;
            self.fin_received = true;
            self.ack_now = true;
            self.events.push_back(Event::PeerFin);
            self.transition(StateEvent::RcvFin);
            if self.state == State::TimeWait {
                self.enter_time_wait(now);
            }
        }
    }

    /// Arm 2*MSL; nothing is left to send or retransmit.
    fn enter_time_wait(&mut self, now: Instant) {
        self.timers.stop(Timer::Retransmit);
        self.timers.stop(Timer::Persist);
        self.timers
            .set(Timer::TimeWait, now + self.config.time_wait);
    }
}

/// A segment payload's length in bytes and whether none of its chunks is empty.
#[inline]
fn payload_lens<P: Payload>(payload: &[P]) -> (u64, bool) {
    payload.iter().fold((0u64, true), |(n, ok), p| {
        let len = p.len();
        (n + len as u64, ok && len > 0)
    })
}
