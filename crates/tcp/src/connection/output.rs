//! (D) outputs: choosing the next segment. Kernel: tcp_write_xmit() / tcp_send_ack().

use core::ops::Range;

use super::Connection;
use crate::payload::Payload;
use crate::segment::Segment;
use crate::state::State;
use crate::time::Instant;

/// The payload a segment carries for bytes `r` of a queued payload `p`: the payload itself
/// when `r` covers it, else its slice (what [`Connection::poll_transmit`] hands out).
#[inline]
fn slice_or_clone<P: Payload>(p: &P, r: Range<usize>) -> P {
    if r.start == 0 && r.end == p.len() {
        p.clone()
    } else {
        p.slice(r)
    }
}

impl<P: Payload> Connection<P> {
    /// The next segment to send, if any. Call until `None` after every input.
    ///
    /// `max_payload` is the caller's per-segment payload limit (GSO/TSO size, or the MSS):
    /// a segment carries at most `send_mss × ⌊max_payload / send_mss⌋` bytes (or
    /// `max_payload` itself when below one MSS), and never more than the peer's window and
    /// the congestion window allow.
    ///
    /// Order of preference: pending RST, SYN/SYN-ACK, a fast retransmission, new data (or the
    /// go-back-N resend after an RTO) with FIN, a zero-window probe, a pure ACK.
    pub fn poll_transmit(&mut self, now: Instant, max_payload: usize) -> Option<Segment<P>> {
        self.poll_transmit_map(now, max_payload, slice_or_clone)
    }

    /// [`poll_transmit`](Self::poll_transmit), with the segment's payload built by `map`
    /// straight from the send queue: `map(p, r)` is called, in stream order, for each queued
    /// payload `p` the segment covers, with `r` the bytes of `p` it carries (all of `p`, or
    /// the part at the segment's start or end). The same segment choice and state change as
    /// `poll_transmit`, which is this with a `map` giving `p` itself when `r` covers it and
    /// `p.slice(r)` otherwise. A caller that turns payload references into its own (an skb's
    /// frag array) takes them once from the queue instead of through a vector of clones.
    pub fn poll_transmit_map<T>(
        &mut self,
        now: Instant,
        max_payload: usize,
        map: impl FnMut(&P, Range<usize>) -> T,
    ) -> Option<Segment<T>> {
        let seg = self.next_segment(now, max_payload, &mut None, map);
        if seg.is_some() {
            self.stats.segs_out += 1;
        }
        self.update_timers(now);
        seg
    }

    /// [`poll_transmit_map`](Self::poll_transmit_map) until it gives `None`, each segment
    /// handed to `each` as it comes: the same segments, in the same order, and the same
    /// state after (a test compares the two). The per-segment limit is worked out once
    /// (`send_mss` does not change while segments are polled: only input sets it), and the final `None` poll
    /// after a segment does not run `update_timers` again: that poll changes nothing it
    /// reads (state, `snd_nxt`/`snd_una`, the send queue's end, `snd_wnd`, `probes`, the
    /// RTO, the timers: a poll that gives nothing at most clears `retransmit_first`), and the
    /// segment's own poll ran it at the same `now`, so it would set and stop nothing new.
    /// `map` is `Copy` (a function, or a closure over shared references) so each poll gets
    /// it by value, as `poll_transmit_map` does: through `&mut` the send queue's walk
    /// over the payloads does not inline it (measured: ~230 instructions more a segment).
    pub fn poll_transmit_each<T>(
        &mut self,
        now: Instant,
        max_payload: usize,
        map: impl FnMut(&P, Range<usize>) -> T + Copy,
        mut each: impl FnMut(Segment<T>),
    ) {
        let mut limit = None;
        let mut any = false;
        while let Some(seg) = self.next_segment(now, max_payload, &mut limit, map) {
            self.stats.segs_out += 1;
            self.update_timers(now);
            any = true;
            each(seg);
        }
        if !any {
            self.update_timers(now);
        }
    }

    /// The most payload one segment may carry: `send_mss × ⌊max_payload / send_mss⌋`, or
    /// `max_payload` itself when below one MSS.
    #[inline]
    fn payload_limit(&self, max_payload: usize) -> u64 {
        let mss = self.send_mss;
        (if max_payload >= mss {
            mss * (max_payload / mss)
        } else {
            max_payload
        }) as u64
    }

    /// The segment choice and state change of one poll, without the timer update. `limit`
    /// keeps [`payload_limit`](Self::payload_limit) once a poll has worked it out (only
    /// the states that send data need it).
    #[inline]
    fn next_segment<T>(
        &mut self,
        now: Instant,
        max_payload: usize,
        limit: &mut Option<u64>,
        mut map: impl FnMut(&P, Range<usize>) -> T,
    ) -> Option<Segment<T>> {
        match self.pending_rst.take() {
            Some(rst) => Some(rst.map_payload(|p| map(&p, 0..p.len()))),
            None => match self.state {
                State::Closed | State::Listen => None,
                State::SynSent | State::SynReceived if self.snd_nxt == 0 => {
                    Some(self.syn_segment(now))
                }
                State::SynSent => None,
                State::SynReceived if self.ack_now || self.acks_owed > 0 => {
                    self.acks_owed = self.acks_owed.saturating_sub(1);
                    Some(self.header(self.snd_nxt))
                }
                State::SynReceived => None,
                _ => {
                    let limit = match *limit {
                        Some(l) => l,
                        None => *limit.insert(self.payload_limit(max_payload)),
                    };
                    self.data_or_control(now, limit, map)
                }
            },
        }
    }

    /// SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), carrying our MSS and window scale.
    fn syn_segment<T>(&mut self, now: Instant) -> Segment<T> {
        let is_synack = self.state == State::SynReceived;
        let mut seg = self.header(0);
        seg.flags.syn = true;
        //= RFC 7323 §2.2: the window field of a SYN is never scaled.
        seg.window = self.max_rcv_wnd_unscaled();
        seg.options.mss = Some(self.local_mss);
        // A SYN offers our scale; a SYN-ACK only answers an offer.
        if !is_synack || self.ws_negotiated {
            seg.options.window_scale = self.config.window_scale.map(|s| s.min(14));
        }
        if self.snd_max > 0 {
            self.stats.retransmits += 1;
            self.rtt_sample = None;
        } else {
            self.rtt_sample = Some((1, now));
        }
        self.snd_nxt = 1;
        self.snd_max = self.snd_max.max(1);
        seg
    }

    fn max_rcv_wnd_unscaled(&self) -> u16 {
        self.rcv_wnd().min(65_535) as u16
    }

    /// New data, a retransmission or a control segment; `limit` is
    /// [`payload_limit`](Self::payload_limit) of the caller's `max_payload`.
    fn data_or_control<T>(
        &mut self,
        now: Instant,
        limit: u64,
        map: impl FnMut(&P, Range<usize>) -> T,
    ) -> Option<Segment<T>> {
        let mss = self.send_mss;
        let data_end = 1 + self.send_buf.end();
        let fin_off = self.fin_off();

        //= RFC 5681 §3.2 step 2 / RFC 6582 partial ACK: resend the first unacknowledged segment.
        if self.retransmit_first && limit > 0 {
            self.retransmit_first = false;
            let len = data_end
                .saturating_sub(self.snd_una)
                .min((mss as u64).min(limit)) as usize;
            let fin = fin_off.is_some_and(|f| self.snd_una + len as u64 == f && self.snd_max > f);
            if len > 0 || fin {
                self.stats.retransmits += 1;
                self.stats.retransmitted_bytes += len as u64;
                return Some(self.data_segment(self.snd_una, len, fin, data_end, map));
            }
        }

        if self.acks_owed > 0 {
            self.acks_owed -= 1;
            return Some(self.header(self.snd_nxt));
        }

        let in_flight = self.snd_nxt - self.snd_una;
        let usable = self.snd_wnd.min(self.cc.cwnd).saturating_sub(in_flight);
        let avail = data_end.saturating_sub(self.snd_nxt);
        let len = avail.min(usable).min(limit);
        let fin = fin_off.is_some_and(|f| self.snd_nxt + len == f);
        if len > 0 || fin {
            let retransmission = self.snd_nxt < self.snd_max;
            let all_queued = self.snd_nxt + len == data_end;
            //= RFC 9293 §3.8.6.2.1 sender SWS avoidance with Nagle (RFC 896): send a full
            //= segment, or everything queued when nothing is in flight (or TCP_NODELAY), or
            //= at least half the largest window the peer offered. A FIN is pushed at once
            //= (Linux tcp_send_fin() sends with Nagle off).
            let send = retransmission
                || fin
                || len >= (mss as u64).min(limit)
                || (all_queued && (self.nodelay || in_flight == 0))
                || (self.max_snd_wnd > 0 && len >= self.max_snd_wnd / 2);
            if send {
                let start = self.snd_nxt;
                let seg = self.data_segment(start, len as usize, fin, data_end, map);
                let end = start + len + u64::from(fin);
                if retransmission {
                    self.stats.retransmits += 1;
                    self.stats.retransmitted_bytes += len.min(self.snd_max - start);
                } else if self.rtt_sample.is_none() {
                    self.rtt_sample = Some((end, now));
                }
                self.snd_nxt = end;
                self.snd_max = self.snd_max.max(end);
                return Some(seg);
            }
        }

        if self.send_probe {
            self.send_probe = false;
            self.stats.zero_window_probes += 1;
            // Kernel: tcp_xmit_probe_skb(): an old sequence number forces an ACK.
            return Some(self.header(self.snd_una.saturating_sub(1)));
        }
        if self.ack_now {
            return Some(self.header(self.snd_nxt));
        }
        None
    }

    /// Data `[start, start+len)` (send offsets) plus FIN if asked; PSH on the last data. The
    /// payload is `map` over the queued payloads (see [`poll_transmit_map`](Self::poll_transmit_map)).
    fn data_segment<T>(
        &mut self,
        start: u64,
        len: usize,
        fin: bool,
        data_end: u64,
        map: impl FnMut(&P, Range<usize>) -> T,
    ) -> Segment<T> {
        let mut seg = self.header(start);
        if len > 0 {
            seg.payload = self.send_buf.range_map(start - 1, len, map);
            seg.flags.psh = start + len as u64 == data_end;
        }
        seg.flags.fin = fin;
        seg
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::connection::tests::established;
    use crate::payload::SharedBytes;
    use crate::seq::SeqNumber;

    /// A payload as (offset in its buffer, bytes): what tells a slice from its payload.
    fn key(p: &SharedBytes) -> (usize, Vec<u8>) {
        (p.offset(), p.as_bytes().to_vec())
    }

    /// `poll_transmit_map` gives the segments `poll_transmit` gives (headers, and through
    /// its map the same payload pieces: `map(p, r)` is `p.slice(r)`), segment by segment
    /// over sends of mixed sizes, several segment-size limits and partial ACKs, and leaves
    /// the connection in the same state (the next segments agree too).
    #[test]
    fn poll_transmit_map_matches_poll_transmit() {
        let mut a = established(Config::default().send_buffer);
        let mut b = established(Config::default().send_buffer);
        let sizes = [100usize, 5000, 3, 9000, 40_000, 1, 700, 20_000];
        for (i, n) in sizes.into_iter().enumerate() {
            let p = SharedBytes::from(vec![i as u8; n]);
            assert_eq!(a.send(p.clone()), b.send(p));
        }
        let mut t = Instant::from_millis(2);
        let mut pieces = 0;
        // Stream offsets: the end of what went out, and of what the peer acknowledged.
        let (mut end, mut acked) = (0usize, 0usize);
        for (round, max) in [1000usize, 6000, 64_000, 3, 2000, usize::MAX]
            .into_iter()
            .cycle()
            .take(24)
            .enumerate()
        {
            loop {
                let sa = a.poll_transmit(t, max);
                let sb = b.poll_transmit_map(t, max, |p, r| key(&p.slice(r)));
                let (Some(sa), Some(sb)) = (sa, sb) else {
                    assert!(a.poll_transmit(t, max).is_none());
                    break;
                };
                let want: Vec<_> = sa.payload.iter().map(key).collect();
                pieces += want.len();
                end = end.max(sa.seq.0.wrapping_sub(5001) as usize + sa.seq_len());
                assert_eq!(want, sb.payload, "round {round}");
                assert_eq!(sa.map_payload(|_| ()), sb.map_payload(|_| ()));
            }
            // The peer acknowledges half of what is out, or all of it every third round.
            acked = if round % 3 == 2 {
                end
            } else {
                acked + (end - acked).div_ceil(2)
            };
            let mut ack = Segment::new(4000, 80, SeqNumber(1001));
            ack.ack = Some(SeqNumber(5001) + acked);
            ack.window = 65535;
            t += crate::time::Duration::from_millis(1);
            a.handle_segment(t, ack.clone());
            b.handle_segment(t, ack);
        }
        assert_eq!(a.send_stream_acked(), b.send_stream_acked());
        // Everything went out, in many pieces (the loop ran on data, not just ACKs).
        assert_eq!(a.send_stream_acked(), sizes.iter().sum::<usize>() as u64);
        assert!(pieces > 2 * sizes.len(), "{pieces} pieces");
    }

    /// `poll_transmit_each` is `poll_transmit_map` polled until `None`: the same segments
    /// (headers and payload pieces) and the same connection after (its whole `Debug` state,
    /// timers included), over sends, limits, partial ACKs, a delayed ACK owed, an RTO's
    /// go-back-N and a zero window with its persist timer.
    #[test]
    fn poll_transmit_each_matches_polling_until_none() {
        let mut a = established(Config::default().send_buffer);
        let mut b = established(Config::default().send_buffer);
        let mut t = Instant::from_millis(2);
        let mut rcv = 1001u32;
        let step = |a: &mut Connection<SharedBytes>,
                    b: &mut Connection<SharedBytes>,
                    t: Instant,
                    max: usize| {
            let mut want = Vec::new();
            while let Some(s) = a.poll_transmit_map(t, max, |p, r| key(&p.slice(r))) {
                want.push(s);
            }
            let mut got = Vec::new();
            b.poll_transmit_each(t, max, |p, r| key(&p.slice(r)), |s| got.push(s));
            assert_eq!(want, got);
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
            want.len()
        };
        let mut sent = 0;
        for (round, max) in [1000usize, 64_000, 3, usize::MAX, 9000, 2000]
            .into_iter()
            .cycle()
            .take(30)
            .enumerate()
        {
            if round % 4 == 0 {
                let p = SharedBytes::from(vec![round as u8; 700 * (round + 1)]);
                assert_eq!(a.send(p.clone()), b.send(p));
            }
            sent += step(&mut a, &mut b, t, max);
            // Nothing new: a poll with nothing to send still updates the timers.
            step(&mut a, &mut b, t, max);
            // The peer: data (an ACK owed), an ACK of all (or past all: answered with an
            // ACK) that is out, a window that closes every fifth round and opens after.
            let una = a.send_stream_acked() as u32;
            let nxt = 5001 + una + (round as u32 % 3) * 100;
            let mut seg = Segment::new(4000, 80, SeqNumber(rcv));
            seg.ack = Some(SeqNumber(nxt));
            seg.window = if round % 5 == 4 { 0 } else { 65535 };
            if round % 2 == 1 {
                seg.payload = vec![SharedBytes::from(vec![1u8; 10])];
                rcv += 10;
            }
            t += crate::time::Duration::from_millis(1 + (round as u64 % 7) * 150);
            a.handle_segment(t, seg.clone());
            b.handle_segment(t, seg);
            if let Some(at) = a.poll_timeout()
                && at <= t
            {
                a.handle_timeout(t);
                b.handle_timeout(t);
            }
        }
        assert!(sent > 20, "{sent} segments");
    }
}
