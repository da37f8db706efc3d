//! The send queue: application payloads kept as queued until acknowledged.
//!
//! Kernel: the socket write queue / rtx queue (`sk->tcp_rtx_queue`). Positions are 64-bit
//! stream offsets (byte 0 is the first byte after the SYN), so nothing wraps. Ranges handed to
//! the transmitter are `slice`s of the queued values, so a retransmission carries the same
//! references as the first transmission.

use std::collections::VecDeque;

use crate::payload::Payload;

#[derive(Clone, Debug)]
pub(crate) struct SendBuffer<P> {
    /// (stream offset of first byte, payload), contiguous and in order.
    chunks: VecDeque<(u64, P)>,
    /// Stream offset of the first unacknowledged byte.
    start: u64,
    /// Stream offset one past the last queued byte.
    end: u64,
}

impl<P: Payload> SendBuffer<P> {
    pub(crate) fn new() -> Self {
        SendBuffer {
            chunks: VecDeque::new(),
            start: 0,
            end: 0,
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
        let len = data.len() as u64;
        self.chunks.push_back((self.end, data));
        self.end += len;
    }

    /// Drop everything before stream offset `to` (acknowledged). Kernel: tcp_clean_rtx_queue(),
    /// which frees the fully acknowledged skbs in one pass and trims a partly acknowledged
    /// head (`tcp_trim_head()`): the whole chunks go as one drained run, found by binary search.
    pub(crate) fn ack_to(&mut self, to: u64) {
        let to = to.min(self.end);
        let whole = self
            .chunks
            .partition_point(|(off, p)| off + p.len() as u64 <= to);
        self.chunks.drain(..whole);
        if let Some((off, p)) = self.chunks.front_mut()
            && *off < to
        {
            let cut = (to - *off) as usize;
            *p = p.slice(cut..p.len());
            *off = to;
        }
        self.start = self.start.max(to);
    }

    /// Payload references covering `[from, from + len)`; the range must be queued.
    pub(crate) fn range(&self, from: u64, len: usize) -> Vec<P> {
        assert!(
            from >= self.start && from + len as u64 <= self.end,
            "range not queued"
        );
        let to = from + len as u64;
        let first = self
            .chunks
            .partition_point(|(off, p)| off + p.len() as u64 <= from);
        let last = self.chunks.partition_point(|(off, _)| *off < to);
        let mut out = Vec::with_capacity(last.saturating_sub(first));
        for (off, p) in self.chunks.range(first..last) {
            let s = from.saturating_sub(*off) as usize;
            let e = ((to - off) as usize).min(p.len());
            out.push(if s == 0 && e == p.len() {
                p.clone()
            } else {
                p.slice(s..e)
            });
        }
        out
    }

    pub(crate) fn clear(&mut self) {
        self.chunks.clear();
        self.start = self.end;
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
}
