//! Helpers the unit tests share.

/// `n` pseudo-random bytes from a xorshift32 state (non-zero), which advances: repeatable
/// inputs without a dependency.
pub(crate) fn xorshift_bytes(state: &mut u32, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 17;
            *state ^= *state << 5;
            *state as u8
        })
        .collect()
}
