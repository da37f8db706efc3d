//! The RX validation pattern of `-v N`.
//!
//! Kernel: `validate_buffer()` in ncdevmem.c. A byte counter that lives for the whole
//! run (it continues across fragments and recvmsg calls) starts at 1; the expected
//! byte is the counter, or `'\n'` when the counter is 0; after each byte the counter
//! (a u8) increments and wraps to 0 when it reaches N. With N = 7 the stream is
//! `01 02 03 04 05 06 0a` repeated: what `yes` prints for the line `\x01..\x06`.
//! Mismatches are printed; the run fails once more than 20 have been seen.

use std::io::Write;

/// Mismatches tolerated before the run fails (the C code fails on the 21st).
pub const MAX_ERRORS: u32 = 20;

/// The running validator state (the C function's `static` locals).
#[derive(Debug, Clone)]
pub struct Validator {
    period: u64,
    seed: u8,
    errors: u32,
}

/// The validation failed for good (more than [`MAX_ERRORS`] mismatches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationFailed;

impl Validator {
    /// A validator for period `period` (`-v`).
    pub fn new(period: u64) -> Self {
        Validator {
            period,
            seed: 1,
            errors: 0,
        }
    }

    /// Mismatches so far.
    pub fn errors(&self) -> u32 {
        self.errors
    }

    /// Checks one fragment. Prints `Failed validation: ...` per mismatch on `stderr`,
    /// `Validated buffer` on `stdout` when the fragment is done.
    pub fn validate(
        &mut self,
        buf: &[u8],
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<(), ValidationFailed> {
        for (i, &actual) in buf.iter().enumerate() {
            let expected = if self.seed != 0 { self.seed } else { b'\n' };
            if actual != expected {
                let _ = writeln!(
                    stderr,
                    "Failed validation: expected={expected}, actual={actual}, index={i}"
                );
                self.errors += 1;
                if self.errors > MAX_ERRORS {
                    let _ = writeln!(stderr, "ncdevmem: validation failed");
                    return Err(ValidationFailed);
                }
            }
            self.seed = self.seed.wrapping_add(1);
            if u64::from(self.seed) == self.period {
                self.seed = 0;
            }
        }
        let _ = writeln!(stdout, "Validated buffer");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yes_pattern_across_fragments() {
        let stream: Vec<u8> = b"\x01\x02\x03\x04\x05\x06\n".repeat(147);
        let mut v = Validator::new(7);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        // Split at odd places: the counter continues across fragments.
        for chunk in stream.chunks(13) {
            v.validate(chunk, &mut out, &mut err).unwrap();
        }
        assert_eq!(v.errors(), 0);
        assert!(err.is_empty());
        assert_eq!(
            String::from_utf8(out).unwrap().lines().count(),
            stream.len().div_ceil(13)
        );
    }

    #[test]
    fn fails_after_twenty_one_mismatches() {
        let mut v = Validator::new(7);
        let (mut out, mut err) = (Vec::new(), Vec::new());
        assert!(v.validate(&[0u8; 20], &mut out, &mut err).is_ok());
        let first = String::from_utf8(err.clone()).unwrap();
        assert!(first.starts_with("Failed validation: expected=1, actual=0, index=0\n"));
        assert_eq!(
            v.validate(&[0u8; 1], &mut out, &mut err),
            Err(ValidationFailed)
        );
        assert!(
            String::from_utf8(err)
                .unwrap()
                .ends_with("ncdevmem: validation failed\n")
        );
    }
}
