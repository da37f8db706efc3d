//! (D) outputs: choosing the next segment. Kernel: tcp_write_xmit() / tcp_send_ack().

use super::Connection;
use crate::payload::Payload;
use crate::segment::Segment;
use crate::state::State;
use crate::time::Instant;

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
        let seg = match self.pending_rst.take() {
            Some(rst) => Some(rst),
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
                _ => self.data_or_control(now, max_payload),
            },
        };
        if seg.is_some() {
            self.stats.segs_out += 1;
        }
        self.update_timers(now);
        seg
    }

    /// SYN (SYN-SENT) or SYN-ACK (SYN-RECEIVED), carrying our MSS and window scale.
    fn syn_segment(&mut self, now: Instant) -> Segment<P> {
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

    fn data_or_control(&mut self, now: Instant, max_payload: usize) -> Option<Segment<P>> {
        let mss = self.send_mss;
        let data_end = 1 + self.send_buf.end();
        let fin_off = self.fin_off();

        let limit = if max_payload >= mss {
            mss * (max_payload / mss)
        } else {
            max_payload
        } as u64;

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
                return Some(self.data_segment(self.snd_una, len, fin, data_end));
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
                let seg = self.data_segment(start, len as usize, fin, data_end);
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

    /// Data `[start, start+len)` (send offsets) plus FIN if asked; PSH on the last data.
    fn data_segment(&mut self, start: u64, len: usize, fin: bool, data_end: u64) -> Segment<P> {
        let mut seg = self.header(start);
        if len > 0 {
            seg.payload = self.send_buf.range(start - 1, len);
            seg.flags.psh = start + len as u64 == data_end;
        }
        seg.flags.fin = fin;
        seg
    }
}
