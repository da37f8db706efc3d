//! Receive side: in-order queue plus out-of-order reassembly keyed by stream offset.
//!
//! Kernel: tcp_data_queue() / tcp_data_queue_ofo() (an rbtree keyed by sequence; here a
//! BTreeMap keyed by 64-bit stream offset). Received chunks are stored as they arrived; where
//! they overlap data already held, only the missing part is kept (a `slice`), never merged.

use core::ops::ControlFlow;
use std::collections::{BTreeMap, VecDeque};

use crate::payload::Payload;

#[derive(Clone, Debug)]
pub(crate) struct Assembler<P> {
    /// In-order data the application has not read yet.
    ready: VecDeque<P>,
    ready_len: usize,
    /// Out-of-order chunks; never overlapping, all starting after `next`.
    ooo: BTreeMap<u64, P>,
    ooo_len: usize,
    /// Stream offset of the next in-order byte expected.
    next: u64,
}

impl<P: Payload> Assembler<P> {
    pub(crate) fn new() -> Self {
        Assembler {
            ready: VecDeque::new(),
            ready_len: 0,
            ooo: BTreeMap::new(),
            ooo_len: 0,
            next: 0,
        }
    }

    pub(crate) fn next(&self) -> u64 {
        self.next
    }

    pub(crate) fn ready_len(&self) -> usize {
        self.ready_len
    }

    pub(crate) fn ooo_len(&self) -> usize {
        self.ooo_len
    }

    /// Store `chunk` at stream offset `off`. Returns how far `next` advanced.
    pub(crate) fn insert(&mut self, off: u64, chunk: P) -> u64 {
        let len = chunk.len() as u64;
        let end = off + len;
        if len == 0 || end <= self.next {
            return 0;
        }
        let start = off.max(self.next);
        if start == self.next && self.ooo.is_empty() {
            // In sequence with nothing out of order: straight onto the receive queue
            // (tcp_data_queue()'s fast path to tcp_queue_rcv()).
            let piece = if start == off {
                chunk
            } else {
                chunk.slice((start - off) as usize..len as usize)
            };
            self.next = end;
            self.ready_len += piece.len();
            self.ready.push_back(piece);
            return end - start;
        }
        let mut cursor = start;
        if let Some((&k, v)) = self.ooo.range(..=cursor).next_back() {
            cursor = cursor.max(k + v.len() as u64);
        }
        let mut pieces = Vec::new();
        if cursor < end {
            for (&k, v) in self.ooo.range(cursor..end) {
                if k > cursor {
                    pieces.push((cursor, k));
                }
                cursor = cursor.max(k + v.len() as u64);
            }
        }
        if cursor < end {
            pieces.push((cursor, end));
        }
        for (s, e) in pieces {
            let piece = if s == off && e == end {
                chunk.clone()
            } else {
                chunk.slice((s - off) as usize..(e - off) as usize)
            };
            self.ooo_len += piece.len();
            self.ooo.insert(s, piece);
        }
        let before = self.next;
        while let Some(entry) = self.ooo.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            let p = entry.remove();
            self.ooo_len -= p.len();
            self.next += p.len() as u64;
            self.ready_len += p.len();
            self.ready.push_back(p);
        }
        self.next - before
    }

    /// Queue `chunks`, which start at stream offset `off` and hold `len` bytes, when
    /// [`insert`](Self::insert)ing them one by one would put each straight onto the receive
    /// queue: they are in sequence (`off` is `next`) with nothing held out of order. The
    /// caller makes sure none is empty (`insert` drops an empty chunk; this would queue
    /// it). Returns `false`, leaving `chunks` alone, when they are not in sequence; on
    /// `true` `chunks` is empty and `next` advanced by `len`, as the inserts would have.
    /// Kernel: tcp_data_queue()'s in-sequence path, for a whole skb's frags at once.
    pub(crate) fn append_in_order(&mut self, off: u64, chunks: &mut Vec<P>, len: u64) -> bool {
        if off != self.next || !self.ooo.is_empty() {
            return false;
        }
        debug_assert!(chunks.iter().all(|c| !c.is_empty()));
        debug_assert_eq!(chunks.iter().map(|c| c.len() as u64).sum::<u64>(), len);
        self.ready.extend(chunks.drain(..));
        self.next += len;
        self.ready_len += len as usize;
        true
    }

    /// Up to `max` bytes of in-order data: the front chunk, or its first `max` bytes.
    pub(crate) fn read(&mut self, max: usize) -> Option<P> {
        if max == 0 {
            return None;
        }
        let front = self.ready.pop_front()?;
        let out = if front.len() > max {
            let rest = front.slice(max..front.len());
            let head = front.slice(0..max);
            self.ready.push_front(rest);
            head
        } else {
            front
        };
        self.ready_len -= out.len();
        Some(out)
    }

    /// Up to `max` bytes of in-order data into `f`, chunk by chunk as repeated
    /// [`read`](Self::read)s of what is left of `max` hand them out, until `f` breaks, `max`
    /// bytes went or nothing is ready. The chunk `f` breaks on is read all the same and comes
    /// back with the bytes read; the others are dropped once `f` is done with them all (in
    /// the order they were read, as dropping each after its `f` would).
    ///
    /// `f` sees each chunk where it sits in the queue, and the ones it took are dropped
    /// there in one drain, so a chunk is never moved out on the way. A front chunk that
    /// holds more than is left of `max` is first cut in two in the queue (as `read` cuts
    /// it), and `f` then sees its head like any other chunk.
    pub(crate) fn read_each(
        &mut self,
        max: usize,
        mut f: impl FnMut(&P) -> ControlFlow<()>,
    ) -> (usize, Option<P>) {
        let mut left = max;
        let mut stopped = None;
        // At most two passes: the second after cutting the chunk the first stopped at.
        loop {
            let mut taken = 0;
            let mut broke = false;
            for c in &self.ready {
                let len = c.len();
                if left == 0 || len > left {
                    break;
                }
                left -= len;
                if f(c).is_break() {
                    broke = true;
                    break;
                }
                taken += 1;
            }
            self.ready.drain(..taken);
            if broke {
                stopped = self.ready.pop_front();
                break;
            }
            if left == 0 {
                break;
            }
            match self.ready.front_mut() {
                Some(front) if front.len() > left => {
                    let len = front.len();
                    let head = front.slice(0..left);
                    *front = front.slice(left..len);
                    self.ready.push_front(head);
                }
                _ => break,
            }
        }
        self.ready_len -= max - left;
        (max - left, stopped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::SharedBytes;

    fn p(s: &str) -> SharedBytes {
        SharedBytes::from(s.as_bytes())
    }

    fn drain(a: &mut Assembler<SharedBytes>) -> Vec<Vec<u8>> {
        std::iter::from_fn(|| a.read(usize::MAX))
            .map(|c| c.as_bytes().to_vec())
            .collect()
    }

    #[test]
    fn out_of_order_with_overlaps() {
        let mut a = Assembler::new();
        assert_eq!(a.insert(4, p("efgh")), 0);
        assert_eq!(a.insert(10, p("kl")), 0);
        assert_eq!(a.ooo_len(), 6);
        // Overlaps both stored chunks: only "ij" (8..10) and "mn" (12..14) are new.
        assert_eq!(a.insert(6, p("ghijklmn")), 0);
        assert_eq!(a.ooo_len(), 10);
        assert_eq!(a.insert(0, p("abcdef")), 14);
        assert_eq!(a.ooo_len(), 0);
        let got = drain(&mut a);
        let want: Vec<Vec<u8>> = ["abcd", "efgh", "ij", "kl", "mn"]
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        assert_eq!(got, want);
        // Old duplicate is ignored, partial duplicate trimmed.
        assert_eq!(a.insert(2, p("cd")), 0);
        assert_eq!(a.insert(12, p("mnop")), 2);
        assert_eq!(drain(&mut a), vec![b"op".to_vec()]);
    }

    /// `append_in_order` queues exactly what inserting the chunks one by one queues, and
    /// refuses chunks out of sequence or behind held out-of-order data.
    #[test]
    fn append_in_order_matches_inserts() {
        let chunks = || vec![p("abc"), p("d"), p("efgh")];
        let (mut one, mut all) = (Assembler::new(), Assembler::new());
        for a in [&mut one, &mut all] {
            a.insert(0, p("xy"));
        }
        let mut off = 2;
        for c in chunks() {
            off += c.len() as u64;
            one.insert(off - c.len() as u64, c);
        }
        let mut v = chunks();
        assert!(all.append_in_order(2, &mut v, 8));
        assert!(v.is_empty());
        assert_eq!((all.next(), all.ready_len()), (one.next(), one.ready_len()));
        assert_eq!(drain(&mut all), drain(&mut one));
        // Not in sequence, or with a hole before held data: left to `insert`.
        let mut v = chunks();
        assert!(!all.append_in_order(11, &mut v, 8));
        assert_eq!(v.len(), 3);
        all.insert(20, p("z"));
        assert!(!all.append_in_order(10, &mut v, 8));
        assert_eq!((v.len(), all.next(), all.ready_len()), (3, 10, 0));
    }

    /// `read_each` hands out the chunks repeated `read`s of what is left hand out, and stops
    /// where its closure breaks, for every split point and break position.
    #[test]
    fn read_each_matches_reads() {
        let fill = || {
            let mut a = Assembler::new();
            a.insert(0, p("abc"));
            a.insert(3, p("defgh"));
            a.insert(8, p("ij"));
            a
        };
        for max in 0..12 {
            for stop_after in 1..5 {
                let mut a = fill();
                let mut want = Vec::new();
                let mut left = max;
                while want.len() < stop_after {
                    let Some(c) = a.read(left) else { break };
                    left -= c.len();
                    want.push(c.as_bytes().to_vec());
                }
                let mut b = fill();
                let mut got = Vec::new();
                let (n, stopped) = b.read_each(max, |c| {
                    got.push(c.as_bytes().to_vec());
                    if got.len() == stop_after {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                });
                // The chunk broken on comes back, the same bytes `f` saw last.
                assert_eq!(
                    stopped.map(|c| c.as_bytes().to_vec()),
                    (got.len() == stop_after).then(|| got[stop_after - 1].clone())
                );
                assert_eq!(got, want, "max {max}, stop after {stop_after}");
                assert_eq!(n, max - left);
                assert_eq!(b.ready_len(), a.ready_len());
                assert_eq!(drain(&mut b), drain(&mut a));
            }
        }
    }

    #[test]
    fn read_splits_front_chunk() {
        let mut a = Assembler::new();
        a.insert(0, p("abcdef"));
        assert_eq!(
            a.read(4).map(|c| c.as_bytes().to_vec()),
            Some(b"abcd".to_vec())
        );
        assert_eq!(a.ready_len(), 2);
        assert_eq!(
            a.read(4).map(|c| c.as_bytes().to_vec()),
            Some(b"ef".to_vec())
        );
        assert!(a.read(4).is_none());
    }
}
