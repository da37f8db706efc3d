//! The send queue: application payloads kept as queued until acknowledged.
//!
//! Kernel: the socket write queue / rtx queue (`sk->tcp_rtx_queue`). Positions are 64-bit
//! stream offsets (byte 0 is the first byte after the SYN), so nothing wraps. Ranges handed to
//! the transmitter are `slice`s of the queued values, so a retransmission carries the same
//! references as the first transmission.

use core::ops::Range;
use std::collections::VecDeque;

use crate::payload::Payload;

#[derive(Clone, Debug)]
pub(crate) struct SendBuffer<P> {
    /// The queued payloads, contiguous and in stream order; the front one starts at `start`.
    chunks: VecDeque<P>,
    /// Stream offset one past each chunk's last byte (`ends[i]` = end of `chunks[i]`, and so
    /// the start of `chunks[i + 1]`), kept beside the payloads so the binary searches compare
    /// plain offsets and a whole queue of payloads moves in with one `append`.
    ends: VecDeque<u64>,
    /// Stream offset of the first unacknowledged byte.
    start: u64,
    /// Stream offset one past the last queued byte.
    end: u64,
    /// Where the next range probably starts: the index of the chunk the last
    /// [`range_map`](Self::range_map) ended in (ranges are mostly read in stream order), and
    /// that range's chunk count less one. Only guesses: each search checks its answer against
    /// the neighbouring `ends` and falls back to the binary search ([`partition_near`]), so a
    /// stale value (after `ack_to` drops chunks, which shifts it down by their number, or a
    /// range read out of order) costs time, never a wrong answer.
    hint: usize,
    span: usize,
    /// [`append_if_fits`](Self::append_if_fits)'s end offsets before they are queued (only
    /// its allocation outlives a call).
    ends_scratch: Vec<u64>,
}

/// `ends.partition_point(pred)` for a `pred` true on a prefix of `ends`, looked for first
/// within a few steps of `guess`: an index is the answer exactly when `pred` holds before
/// it and fails at it, which each step checks; past the steps, the binary search.
#[inline]
fn partition_near(ends: &VecDeque<u64>, guess: usize, pred: impl Fn(u64) -> bool) -> usize {
    let n = ends.len();
    let mut i = guess.min(n);
    for _ in 0..4 {
        if i < n && pred(ends[i]) {
            i += 1;
        } else if i > 0 && !pred(ends[i - 1]) {
            i -= 1;
        } else {
            return i;
        }
    }
    ends.partition_point(|&e| pred(e))
}

impl<P: Payload> SendBuffer<P> {
    pub(crate) fn new() -> Self {
        SendBuffer {
            chunks: VecDeque::new(),
            ends: VecDeque::new(),
            start: 0,
            end: 0,
            hint: 0,
            span: 0,
            ends_scratch: Vec::new(),
        }
    }

    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Bytes queued and not yet acknowledged.
    pub(crate) fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    #[inline]
    pub(crate) fn push(&mut self, data: P) {
        if data.is_empty() {
            return;
        }
        self.end += data.len() as u64;
        self.chunks.push_back(data);
        self.ends.push_back(self.end);
    }

    /// Queue every payload of `pending` at once, when all of them together fit in `room`
    /// bytes and none is empty: the same queue as [`push`](Self::push) payload by payload,
    /// with the payloads moved in one `append` (`pending` is left empty, its allocation kept).
    /// Otherwise nothing changes and `None` comes back. Returns the bytes queued.
    pub(crate) fn append_if_fits(
        &mut self,
        pending: &mut VecDeque<P>,
        room: usize,
    ) -> Option<usize> {
        // One pass sums the lengths and writes the end offsets to `ends_scratch` (an exact-size
        // extend from the deque's two slices), which then goes onto `ends` as one copy.
        let mut total = 0usize;
        let mut empty = false;
        let mut end = self.end;
        let (a, b) = pending.as_slices();
        self.ends_scratch.clear();
        self.ends_scratch.extend(a.iter().chain(b).map(|p| {
            let len = p.len();
            empty |= len == 0;
            total = total.saturating_add(len);
            end = end.wrapping_add(len as u64);
            end
        }));
        if empty || total > room {
            return None;
        }
        self.ends.extend(self.ends_scratch.iter());
        self.chunks.append(pending);
        self.end = end;
        Some(total)
    }

    /// Drop everything before stream offset `to` (acknowledged). Kernel: tcp_clean_rtx_queue(),
    /// which frees the fully acknowledged skbs in one pass and trims a partly acknowledged
    /// head (`tcp_trim_head()`): the whole chunks go as one drained run, found by binary search.
    pub(crate) fn ack_to(&mut self, to: u64) {
        let to = to.min(self.end);
        let whole = self.ends.partition_point(|&end| end <= to);
        // Where the chunk left at the front starts: `start`, or the end of the last whole
        // chunk dropped (at most `to`).
        let front_off = match whole {
            0 => self.start,
            n => self.ends[n - 1],
        };
        self.chunks.drain(..whole);
        self.ends.drain(..whole);
        self.hint = self.hint.saturating_sub(whole);
        if let Some(p) = self.chunks.front_mut()
            && front_off < to
        {
            p.trim_front((to - front_off) as usize);
        }
        self.start = self.start.max(to);
    }

    /// Payload references covering `[from, from + len)`; the range must be queued. The first
    /// and last may be slices of their queued payloads, every other one is its payload.
    #[cfg(test)]
    pub(crate) fn range(&mut self, from: u64, len: usize) -> Vec<P> {
        self.range_map(from, len, |p, r| {
            if r.start == 0 && r.end == p.len() {
                p.clone()
            } else {
                p.slice(r)
            }
        })
    }

    /// `map(p, r)` for each queued payload `p` that `[from, from + len)` covers, in order,
    /// with `r` the part of `p` inside it (the range must be queued): the payloads of
    /// [`range`](Self::range), made by the caller's `map` from the queue's own payloads.
    pub(crate) fn range_map<T>(
        &mut self,
        from: u64,
        len: usize,
        mut map: impl FnMut(&P, Range<usize>) -> T,
    ) -> Vec<T> {
        assert!(
            from >= self.start && from + len as u64 <= self.end,
            "range not queued"
        );
        let to = from + len as u64;
        // The first chunk ending after `from`, and one past the last chunk starting before
        // `to` (chunk 0 starts at `start`, chunk i + 1 where chunk i ends): looked for where
        // the last range ended and as many chunks on (see `hint`).
        let first = partition_near(&self.ends, self.hint, |end| end <= from);
        let last = if self.chunks.is_empty() || self.start >= to {
            0
        } else {
            1 + partition_near(&self.ends, first + self.span, |end| end < to)
        };
        if first >= last {
            return Vec::new();
        }
        self.hint = last - 1;
        self.span = last - 1 - first;
        // The first chunk may start before `from` and the last end after `to`: their parts
        // are cut; every chunk between lies inside the range whole, and is read as one run
        // from the deque's two slices (no per-chunk offset arithmetic or capacity check).
        let start_of = |i: usize| match i {
            0 => self.start,
            i => self.ends[i - 1],
        };
        let mut out = Vec::with_capacity(last - first);
        let head_off = start_of(first);
        let head = &self.chunks[first];
        let s = (from - head_off) as usize;
        let e = ((to - head_off) as usize).min(head.len());
        out.push(map(head, s..e));
        if last - first > 1 {
            let (front, back) = self.chunks.as_slices();
            let (lo, hi) = (first + 1, last - 1);
            let split = front.len();
            for run in [
                &front[lo.min(split)..hi.min(split)],
                &back[lo.saturating_sub(split)..hi.saturating_sub(split)],
            ] {
                out.extend(run.iter().map(|p| map(p, 0..p.len())));
            }
            let tail = &self.chunks[last - 1];
            let e = ((to - start_of(last - 1)) as usize).min(tail.len());
            out.push(map(tail, 0..e));
        }
        out
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.ends.clear();
        self.start = self.end;
        self.hint = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SharedBytes;

    fn bytes(v: &[Vec<SharedBytes>]) -> Vec<u8> {
        v.iter()
            .flatten()
            .flat_map(|p| p.as_bytes().to_vec())
            .collect()
    }

    /// The search near a guess gives the binary search's answer for every guess.
    #[test]
    fn partition_near_matches_partition_point() {
        let ends: VecDeque<u64> = [3, 5, 9, 10, 20, 21, 22, 40, 41, 60, 61, 62].into();
        for x in 0..70 {
            for guess in 0..20 {
                for pred in [&(|e: u64| e <= x) as &dyn Fn(u64) -> bool, &|e| e < x] {
                    assert_eq!(
                        partition_near(&ends, guess, pred),
                        ends.partition_point(|&e| pred(e)),
                        "x {x} guess {guess}"
                    );
                }
            }
        }
        assert_eq!(partition_near(&VecDeque::new(), 3, |e| e < 1), 0);
    }

    #[test]
    fn range_and_ack_keep_references() {
        let a = SharedBytes::from(b"abcdef".to_vec());
        let b = SharedBytes::from(b"ghij".to_vec());
        let mut q = SendBuffer::new();
        q.push(a.clone());
        q.push(b.clone());
        assert_eq!(q.len(), 10);
        let r = q.range(4, 4);
        assert_eq!(bytes(std::slice::from_ref(&r)), b"efgh");
        assert!(r[0].shares_buffer(&a) && r[1].shares_buffer(&b));
        q.ack_to(5);
        assert_eq!(q.len(), 5);
        assert_eq!(bytes(&[q.range(5, 5)]), b"fghij");
        assert!(q.range(5, 1)[0].shares_buffer(&a));
        q.ack_to(10);
        assert_eq!(q.len(), 0);
    }

    /// The offset index (`ends`) and the bulk `append_if_fits` give the very ranges a plain
    /// list of (offset, payload) does, walked linearly, through pushes, appends, partial and
    /// whole acknowledgments (stale ones included) and ranges starting and ending anywhere.
    #[test]
    fn ranges_match_a_linear_walk() {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(7);
        let mut rnd = move |n: u64| rand::Rng::random_range(&mut rng, 0..n);
        let mut q = SendBuffer::new();
        // The reference: every payload with its stream offset, trimmed by hand.
        let mut list: Vec<(u64, SharedBytes)> = Vec::new();
        let mut start = 0u64;
        let mut end = 0u64;
        for round in 0..400 {
            match rnd(4) {
                0 => {
                    let n = rnd(40) as usize;
                    let p = SharedBytes::from(vec![round as u8; n]);
                    q.push(p.clone());
                    if n > 0 {
                        list.push((end, p));
                        end += n as u64;
                    }
                }
                1 => {
                    let mut batch: VecDeque<SharedBytes> = (0..rnd(5))
                        .map(|i| SharedBytes::from(vec![i as u8; rnd(30) as usize]))
                        .collect();
                    let room = rnd(120) as usize;
                    let fits = batch.iter().all(|p| !p.is_empty())
                        && batch.iter().map(Payload::len).sum::<usize>() <= room;
                    let copy: Vec<SharedBytes> = batch.iter().cloned().collect();
                    match q.append_if_fits(&mut batch, room) {
                        Some(n) => {
                            assert!(fits && batch.is_empty());
                            let before = end;
                            for p in copy {
                                end += p.len() as u64;
                                list.push((end - p.len() as u64, p));
                            }
                            assert_eq!(n as u64, end - before);
                        }
                        None => assert!(!fits && batch.len() == copy.len()),
                    }
                }
                2 => {
                    let to = start.saturating_sub(5) + rnd(end - start.saturating_sub(5) + 8);
                    q.ack_to(to);
                    let to = to.min(end);
                    list.retain(|(off, p)| off + p.len() as u64 > to);
                    if let Some((off, p)) = list.first_mut()
                        && *off < to
                    {
                        *p = p.slice((to - *off) as usize..p.len());
                        *off = to;
                    }
                    start = start.max(to);
                }
                _ => {}
            }
            assert_eq!((q.start(), q.end()), (start, end));
            let want_of = |from: u64, len: usize| -> Vec<Vec<u8>> {
                let to = from + len as u64;
                list.iter()
                    .filter(|(off, p)| off + (p.len() as u64) > from && *off < to)
                    .map(|(off, p)| {
                        let s = from.saturating_sub(*off) as usize;
                        let e = ((to - off) as usize).min(p.len());
                        p.as_bytes()[s..e].to_vec()
                    })
                    .collect()
            };
            // Ranges read in stream order, as the transmitter does (the search hint right,
            // or a chunk or a few off).
            let mut from = start;
            while from < end {
                let len = 1 + rnd((end - from).min(90)) as usize;
                let got: Vec<Vec<u8>> = q
                    .range(from, len)
                    .iter()
                    .map(|p| p.as_bytes().to_vec())
                    .collect();
                assert_eq!(
                    got,
                    want_of(from, len),
                    "round {round}: in order ({from}, {len})"
                );
                from += len as u64;
            }
            for _ in 0..4 {
                let from = start + rnd(end - start + 1);
                let len = rnd(end - from + 1) as usize;
                let want = want_of(from, len);
                let got: Vec<Vec<u8>> = q
                    .range(from, len)
                    .iter()
                    .map(|p| p.as_bytes().to_vec())
                    .collect();
                assert_eq!(got, want, "round {round}: range({from}, {len})");
                // Any other map sees the same pieces.
                let mapped = q.range_map(from, len, |p, r| p.slice(r).as_bytes().to_vec());
                assert_eq!(mapped, want, "round {round}: range_map({from}, {len})");
            }
        }
    }
}
