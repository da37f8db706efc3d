//! Segment payloads as shared references, never copies.
//!
//! Device-memory payloads are refcounted `net_iov` references the kernel must not read, so
//! the TCP keeps payloads as opaque [`Payload`] values: it only measures and slices them.
//! Retransmissions resend slices of the very values the application queued, and received
//! chunks are handed to the application as they arrived (trimmed, never merged).

use core::fmt;
use core::ops::Range;
use std::rc::Rc;

/// A byte range the TCP can measure and split without looking inside.
///
/// `slice` must share the underlying storage (a cheap clone of refcounted frags): it is called
/// for every (re)transmission and every overlap trim.
pub trait Payload: Clone {
    /// Length in bytes.
    fn len(&self) -> usize;

    /// True when the payload holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sub-range `r` (relative to this payload); `r` is always within `0..self.len()`.
    fn slice(&self, r: Range<usize>) -> Self;

    /// Drop the first `n` bytes in place (`n` is at most `self.len()`): what
    /// `*self = self.slice(n..self.len())` leaves, which is the default; a payload that can
    /// move its own bounds overrides it to skip the clone and drop of its references.
    fn trim_front(&mut self, n: usize) {
        *self = self.slice(n..self.len());
    }
}

/// A readable payload for tests and the emulator's ordinary (page) memory: a range of a shared
/// `Rc<[u8]>`.
#[derive(Clone)]
pub struct SharedBytes {
    buf: Rc<[u8]>,
    range: Range<usize>,
}

impl SharedBytes {
    /// The whole of `buf`.
    pub fn new(buf: Rc<[u8]>) -> Self {
        let range = 0..buf.len();
        SharedBytes { buf, range }
    }

    /// The bytes this payload covers.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }

    /// Where this payload starts inside its shared buffer.
    pub fn offset(&self) -> usize {
        self.range.start
    }

    /// True when both payloads reference the same allocation (pointer equality).
    pub fn shares_buffer(&self, other: &SharedBytes) -> bool {
        Rc::ptr_eq(&self.buf, &other.buf)
    }

    /// The shared buffer itself, for reference-count checks.
    pub fn buffer(&self) -> &Rc<[u8]> {
        &self.buf
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        SharedBytes::new(v.into())
    }
}

impl From<&[u8]> for SharedBytes {
    fn from(v: &[u8]) -> Self {
        SharedBytes::new(v.into())
    }
}

impl Payload for SharedBytes {
    fn len(&self) -> usize {
        self.range.len()
    }

    fn slice(&self, r: Range<usize>) -> Self {
        assert!(
            r.start <= r.end && r.end <= self.range.len(),
            "slice {r:?} out of 0..{}",
            self.range.len()
        );
        SharedBytes {
            buf: self.buf.clone(),
            range: self.range.start + r.start..self.range.start + r.end,
        }
    }
}

impl PartialEq for SharedBytes {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SharedBytes {}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SharedBytes({:p}[{}..{}])",
            Rc::as_ptr(&self.buf) as *const u8,
            self.range.start,
            self.range.end
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_shares_storage() {
        let p = SharedBytes::from(b"hello world".to_vec());
        let s = p.slice(6..11);
        assert_eq!(s.as_bytes(), b"world");
        assert_eq!(s.offset(), 6);
        assert!(s.shares_buffer(&p));
        let t = s.slice(1..3);
        assert_eq!(t.as_bytes(), b"or");
        assert_eq!(t.offset(), 7);
        assert_eq!(Rc::strong_count(p.buffer()), 3);
    }
}
