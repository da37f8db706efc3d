//! What fixed-layout decoding can report.

use core::fmt;

/// The input is shorter than the C struct being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooShort {
    /// Bytes the struct needs.
    pub needed: usize,
    /// Bytes that were given.
    pub got: usize,
}

impl fmt::Display for TooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "need {} bytes, got {}", self.needed, self.got)
    }
}

impl core::error::Error for TooShort {}

/// Borrow the first `N` bytes of `buf`, or report how short it is.
pub(crate) fn prefix<const N: usize>(buf: &[u8]) -> Result<&[u8; N], TooShort> {
    buf.get(..N)
        .and_then(|b| b.try_into().ok())
        .ok_or(TooShort {
            needed: N,
            got: buf.len(),
        })
}

/// Copy `N` bytes at `at` out of a buffer already checked to hold them.
pub(crate) fn field<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&buf[at..at + N]);
    out
}
