//! Internet checksum (RFC 1071) arithmetic: folded one's-complement sums that compose across
//! scattered chunks, and the TCP/UDP/ICMPv6 pseudo-headers.
//!
//! All sums here are *folded but not inverted* 16-bit values; a checksum field holds the
//! inversion `!sum`. Sums commute and associate, so a header and any number of payload chunks can
//! be summed separately and [`combine`]d. A chunk that starts at an odd byte offset of the
//! covered data has its bytes in the opposite lanes; [`Accumulator`] handles that by swapping
//! the chunk's sum (RFC 1071 §2(B): the sum is byte-order independent).
//!
//! Kernel: `csum_partial()`, `csum_block_add()` (which swaps for odd offsets), `csum_fold()`,
//! `csum_tcpudp_nofold()` / `csum_ipv6_magic()` in include/net/checksum.h and net/ipv6/ip6_checksum.c.

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ip::IpProtocol;
use crate::{Error, Result};

/// Fold a wide one's-complement accumulator into 16 bits (end-around carry).
///
/// Kernel: `csum_fold()` (without the final inversion).
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// The folded one's-complement sum of `data`, treated as big-endian 16-bit words, a trailing odd
/// byte padded with zero. This is the emulator's per-byte hot path for checksum offload on both
/// NICs, so on x86_64 the bulk is vectorised: AVX2 (`vpmaddwd`, 8 lanes) when the CPU has it,
/// detected at run time so the binary still runs on baseline x86_64, else SSE2 (`pmaddwd`,
/// 4 lanes, part of the baseline). Elsewhere it is [`data_scalar`]. All give the same value for
/// every input.
///
/// Kernel: `csum_partial()`.
pub fn data(data: &[u8]) -> u16 {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // Below one AVX2 step the AVX2 path would only run its tail, so short chunks
        // (pseudo-header pieces, bare headers) skip the detection and the call.
        if data.len() >= avx2::STEP
            && let Some(sum) = avx2::data(data)
        {
            return sum;
        }
        sse2::data(data)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        data_scalar(data)
    }
}

/// The SSE2 path of [`data`], whatever the CPU has: for the benchmark, which compares it with
/// the AVX2 one [`data`] picks when it can.
#[doc(hidden)]
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub fn data_sse2(data: &[u8]) -> u16 {
    sse2::data(data)
}

/// Portable [`data`]: the fallback on targets without SSE2 and the reference the vector paths
/// are tested and benchmarked against.
///
/// The bulk is summed as native-endian 64-bit words with end-around carry in four
/// independent lanes, so the carry chains overlap (2^64 - 1 is a multiple of 0xffff, so the
/// 64-bit one's-complement sum folds to the 16-bit one); the folded result is then
/// byte-swapped on little-endian hosts, since a one's-complement sum of byte-swapped words is
/// the byte-swapped sum (RFC 1071 §2(B)).
///
/// Kernel: `csum_partial()` (arch/x86/lib/csum-partial_64.c adds 64-bit words with `adc`).
pub fn data_scalar(data: &[u8]) -> u16 {
    let mut lanes = [0u64; 4];
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        for (lane, w) in lanes.iter_mut().zip(b.chunks_exact(8)) {
            let w: [u8; 8] = w.try_into().unwrap_or_default();
            *lane = add1(*lane, u64::from_ne_bytes(w));
        }
    }
    let mut wide = add1(add1(lanes[0], lanes[1]), add1(lanes[2], lanes[3]));
    let mut tail = blocks.remainder().chunks_exact(8);
    for w in &mut tail {
        let w: [u8; 8] = w.try_into().unwrap_or_default();
        wide = add1(wide, u64::from_ne_bytes(w));
    }
    let native = fold((wide >> 32) + (wide & 0xffff_ffff));
    let mut sum = u64::from(if cfg!(target_endian = "little") {
        native.swap_bytes()
    } else {
        native
    });
    let rest = tail.remainder();
    let mut pairs = rest.chunks_exact(2);
    for p in &mut pairs {
        sum += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    fold(sum)
}

/// One's-complement add of two 64-bit partial sums (end-around carry).
fn add1(acc: u64, w: u64) -> u64 {
    let (s, c) = acc.overflowing_add(w);
    s + u64::from(c)
}

/// The SSE2 path of [`data`], through `safe_arch`'s safe wrappers (SSE2 is part of the
/// x86_64 baseline, so no runtime detection).
///
/// SSE2 has no unsigned 16-bit widening add, but `pmaddwd` against ones adds adjacent signed
/// 16-bit lanes into 32-bit lanes. XOR with 0x8000 turns each unsigned word `w` into the
/// signed `w - 32768`, so every 32-bit lane gains `w0 + w1 - 65536` per vector; the bias is
/// added back when a block's lanes are widened into the 64-bit total. Blocks are short enough
/// that no 32-bit lane can overflow. Words are summed in native (little-endian) order and the
/// folded result byte-swapped, as in [`data_scalar`].
///
/// Kernel: `csum_partial()` (the x86 version is scalar `adc`; this is the same sum, vectorised).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use safe_arch::{
        add_i32_m128i, bitxor_m128i, load_unaligned_m128i, m128i, mul_i16_horizontal_add_m128i,
        set_splat_i16_m128i, zeroed_m128i,
    };

    use super::{add1, data_scalar, fold};

    /// Bytes per loop step: one 16-byte vector into each of four independent accumulators, so
    /// the `paddd` chains overlap. 2 accumulators and 128- or 256-byte steps measured the same
    /// within this machine's noise.
    const STEP: usize = 64;
    /// Steps per block. Each step adds one `w0 + w1 - 65536` (in `-65536..=65534`) to every
    /// 32-bit lane, so a lane stays within 2^14 * 2^16 = 2^30 in magnitude: no `i32` overflow.
    const BLOCK_STEPS: usize = 16_384;

    pub(super) fn data(bytes: &[u8]) -> u16 {
        let (steps, rest) = bytes.as_chunks::<STEP>();
        let mut total = 0u64;
        for block in steps.chunks(BLOCK_STEPS) {
            total = add1(total, block_sum(block));
        }
        // `rest` (under 64 bytes) starts at an even offset, so its big-endian sum adds as is.
        let native = fold(total);
        fold(u64::from(native.swap_bytes()) + u64::from(data_scalar(rest)))
    }

    /// The exact (unfolded) sum of the native-endian 16-bit words of `block`.
    fn block_sum(block: &[[u8; STEP]]) -> u64 {
        let bias = set_splat_i16_m128i(i16::MIN);
        let ones = set_splat_i16_m128i(1);
        let mut acc: [m128i; 4] = [zeroed_m128i(); 4];
        for step in block {
            let (vecs, _) = step.as_chunks::<16>();
            for (a, v) in acc.iter_mut().zip(vecs) {
                let w = bitxor_m128i(load_unaligned_m128i(v), bias);
                *a = add_i32_m128i(*a, mul_i16_horizontal_add_m128i(w, ones));
            }
        }
        let lanes: i64 = acc
            .iter()
            .flat_map(|a| <[i32; 4]>::from(*a))
            .map(i64::from)
            .sum();
        // Each step took 65536 from each of the 16 lanes.
        let bias_back = block.len() as i64 * 16 * 65_536;
        // A sum of unsigned words, so never negative.
        (lanes + bias_back) as u64
    }
}

/// The AVX2 path of [`data`]: the SSE2 algorithm on 256-bit vectors, which doubles the bytes
/// per `vpmaddwd`/`vpaddd` and so roughly the throughput. AVX2 is not in the x86_64 baseline,
/// so it is detected at run time (`is_x86_feature_detected!`, cached by std) and the vector code
/// sits in a `#[target_feature(enable = "avx2")]` function, in which the value intrinsics are
/// safe. Calling that function is the one `unsafe` operation: the compiler cannot see the
/// detection. Loads are built from the chunk's four little-endian `u64`s, which LLVM turns into
/// one unaligned `vmovdqu`, so they need no raw pointer.
///
/// Kernel: `csum_partial()` (the x86 version is scalar `adc`; this is the same sum, vectorised).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod avx2 {
    use core::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_add_epi64, _mm256_and_si256, _mm256_castsi256_si128,
        _mm256_cvtepi32_epi64, _mm256_extract_epi64, _mm256_extracti128_si256, _mm256_madd_epi16,
        _mm256_set1_epi16, _mm256_setr_epi64x, _mm256_setzero_si256, _mm256_xor_si256,
    };

    use super::{add1, data_scalar, fold};

    /// Accumulators: independent `vpaddd` chains, so consecutive vectors do not wait on each
    /// other's add.
    const ACCS: usize = 4;
    /// Bytes per loop step: one 32-byte vector into each accumulator.
    pub(super) const STEP: usize = ACCS * 32;
    /// Steps per block. Each step adds one `w0 + w1 - 65536` (in `-65536..=65534`) to every
    /// 32-bit lane, so a lane stays within 2^14 * 2^16 = 2^30 in magnitude: no `i32` overflow.
    const BLOCK_STEPS: usize = 16_384;

    /// [`super::data`] through AVX2, or `None` if this CPU lacks it.
    #[allow(unsafe_code)]
    pub(super) fn data(bytes: &[u8]) -> Option<u16> {
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: `sum` only requires AVX2, which the CPU was just found to support.
            Some(unsafe { sum(bytes) })
        } else {
            None
        }
    }

    /// The AVX2 [`super::data`]. Callers not compiled for AVX2 must have detected it first, as
    /// [`data`] does.
    ///
    /// Per call it costs a few dozen instructions besides the loop, which matters since the
    /// NICs' checksum offload calls it once per frame: inputs under one block (2 MiB) skip
    /// the block loop and keep one set of accumulators for the steps and the rest alike,
    /// unbiased once, and the last partial vector is summed as the whole last 32 bytes with
    /// the bytes already summed masked out, instead of by a scalar tail.
    #[target_feature(enable = "avx2")]
    fn sum(bytes: &[u8]) -> u16 {
        if bytes.len() < 32 {
            // No whole vector to end on; [`super::data`] never sends these here.
            return data_scalar(bytes);
        }
        let (steps, rest) = bytes.as_chunks::<STEP>();
        let (mut acc, mut vectors, mut total) = if steps.len() <= BLOCK_STEPS {
            let mut acc = [_mm256_setzero_si256(); ACCS];
            sum_steps(steps, &mut acc);
            (acc, ACCS * steps.len(), 0)
        } else {
            let total = steps
                .chunks(BLOCK_STEPS)
                .fold(0, |t, block| add1(t, block_sum(block)));
            ([_mm256_setzero_si256(); ACCS], 0, total)
        };
        // At most three more whole vectors, one per accumulator, so that none takes more
        // than one vector past a block.
        let (vecs, tail) = rest.as_chunks::<32>();
        for (a, v) in acc.iter_mut().zip(vecs) {
            *a = _mm256_add_epi32(*a, biased_pairs(v));
            vectors += 1;
        }
        let t = tail.len();
        if t > 0 {
            // The whole last 32 bytes, the `32 - t` of them already summed masked to zero
            // (zero words add nothing; a trailing odd byte is zero-padded as RFC 1071 pads it).
            let at = bytes.len() - 32;
            let (Ok(v), Ok(mask)) = (
                <&[u8; 32]>::try_from(&bytes[at..]),
                <&[u8; 32]>::try_from(&TAIL_MASK[t..t + 32]),
            ) else {
                unreachable!("32-byte windows of 32-byte ranges")
            };
            let w = masked_biased_pairs(v, mask);
            if at.is_multiple_of(2) {
                acc[3] = _mm256_add_epi32(acc[3], w);
                vectors += 1;
            } else {
                // Starting at an odd offset, its bytes sit in the other lanes of their words.
                total = add1(total, u64::from(fold(unbias(&[w], 1)).swap_bytes()));
            }
        }
        total = add1(total, unbias(&acc, vectors));
        fold(total).swap_bytes()
    }

    /// Byte masks for the last partial vector: `TAIL_MASK[t..t + 32]` keeps the last `t` bytes.
    static TAIL_MASK: [u8; 64] = {
        let mut m = [0u8; 64];
        let mut i = 32;
        while i < 64 {
            m[i] = 0xff;
            i += 1;
        }
        m
    };

    /// The exact (unfolded) sum of the native-endian 16-bit words of `block`.
    #[target_feature(enable = "avx2")]
    fn block_sum(block: &[[u8; STEP]]) -> u64 {
        let mut acc = [_mm256_setzero_si256(); ACCS];
        sum_steps(block, &mut acc);
        unbias(&acc, ACCS * block.len())
    }

    /// Add `block`'s vectors into `acc`, one per accumulator per step. Two steps per loop
    /// iteration, written out, which halves the loop's own instructions.
    #[target_feature(enable = "avx2")]
    fn sum_steps(block: &[[u8; STEP]], acc: &mut [__m256i; ACCS]) {
        let (pairs, last) = block.as_chunks::<2>();
        for pair in pairs {
            for step in pair {
                let (vecs, _) = step.as_chunks::<32>();
                for (a, v) in acc.iter_mut().zip(vecs) {
                    *a = _mm256_add_epi32(*a, biased_pairs(v));
                }
            }
        }
        for step in last {
            let (vecs, _) = step.as_chunks::<32>();
            for (a, v) in acc.iter_mut().zip(vecs) {
                *a = _mm256_add_epi32(*a, biased_pairs(v));
            }
        }
    }

    /// [`biased_pairs`] of `v` with the bytes `mask` clears set to zero first.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn masked_biased_pairs(v: &[u8; 32], mask: &[u8; 32]) -> __m256i {
        let w = _mm256_and_si256(load(v), load(mask));
        let w = _mm256_xor_si256(w, _mm256_set1_epi16(i16::MIN));
        _mm256_madd_epi16(w, _mm256_set1_epi16(1))
    }

    /// `v` as a vector, from its four little-endian `u64`s (one unaligned `vmovdqu`).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn load(v: &[u8; 32]) -> __m256i {
        let (q, _) = v.as_chunks::<8>();
        let q = |i: usize| i64::from_le_bytes(q[i]);
        _mm256_setr_epi64x(q(0), q(1), q(2), q(3))
    }

    /// `w0 + w1 - 65536` for each pair of native-endian words of `v`, in eight `i32` lanes:
    /// XOR 0x8000 maps each unsigned word to the signed `w - 32768`, and `vpmaddwd` against
    /// ones adds adjacent signed words.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn biased_pairs(v: &[u8; 32]) -> __m256i {
        let w = _mm256_xor_si256(load(v), _mm256_set1_epi16(i16::MIN));
        _mm256_madd_epi16(w, _mm256_set1_epi16(1))
    }

    /// The sum of every `i32` lane of `acc`, which took `vectors` biased adds between them
    /// (each vector biases all eight lanes of the accumulator it went to), with the bias
    /// added back: the exact sum of the words behind them.
    #[target_feature(enable = "avx2")]
    fn unbias(acc: &[__m256i], vectors: usize) -> u64 {
        // Widen to i64 before adding lanes together, which could overflow i32.
        let mut wide = _mm256_setzero_si256();
        for &a in acc {
            let lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(a));
            let hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256::<1>(a));
            wide = _mm256_add_epi64(wide, _mm256_add_epi64(lo, hi));
        }
        let lanes = _mm256_extract_epi64::<0>(wide)
            + _mm256_extract_epi64::<1>(wide)
            + _mm256_extract_epi64::<2>(wide)
            + _mm256_extract_epi64::<3>(wide);
        // Each vector took 65536 from each of its 8 lanes.
        let bias_back = vectors as i64 * 8 * 65_536;
        // A sum of unsigned words, so never negative.
        (lanes + bias_back) as u64
    }
}

/// One's-complement addition of already folded sums.
///
/// Kernel: `csum_add()`.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Sum of the IPv4 pseudo-header (RFC 793 §3.1): addresses, zero, protocol, upper-layer length.
///
/// Kernel: `csum_tcpudp_nofold()`.
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: IpProtocol, length: u32) -> u16 {
    let mut acc = Accumulator::new();
    acc.add(&src.octets());
    acc.add(&dst.octets());
    acc.add(&[0, u8::from(protocol)]);
    // The IPv4 pseudo-header carries a 16-bit length; a longer one cannot occur in IPv4.
    acc.add(&(length as u16).to_be_bytes());
    acc.sum()
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1): addresses, 32-bit length, next header.
///
/// Kernel: `csum_ipv6_magic()` (without the final inversion).
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, protocol: IpProtocol, length: u32) -> u16 {
    let mut acc = Accumulator::new();
    acc.add(&src.octets());
    acc.add(&dst.octets());
    acc.add(&length.to_be_bytes());
    acc.add(&[0, 0, 0, u8::from(protocol)]);
    acc.sum()
}

/// Pseudo-header sum for either family; mixed families are an error.
pub fn pseudo_header(src: &IpAddr, dst: &IpAddr, protocol: IpProtocol, length: u32) -> Result<u16> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ok(pseudo_header_v4(s, d, protocol, length)),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ok(pseudo_header_v6(s, d, protocol, length)),
        _ => Err(Error),
    }
}

/// Pseudo-header sum with the addresses read from the raw IPv6 (`v6`) or IPv4 header at the
/// start of `ip`; a header too short for them is an error. What a NIC's checksum offload and
/// GRO completion do with the packet in front of them.
pub fn pseudo_header_of(ip: &[u8], v6: bool, protocol: IpProtocol, length: u32) -> Result<u16> {
    if v6 {
        let a = |o: usize| -> Result<Ipv6Addr> {
            let b: [u8; 16] = ip
                .get(o..o + 16)
                .ok_or(Error)?
                .try_into()
                .map_err(|_| Error)?;
            Ok(Ipv6Addr::from(b))
        };
        Ok(pseudo_header_v6(&a(8)?, &a(24)?, protocol, length))
    } else {
        let a = |o: usize| -> Result<Ipv4Addr> {
            let b: [u8; 4] = ip
                .get(o..o + 4)
                .ok_or(Error)?
                .try_into()
                .map_err(|_| Error)?;
            Ok(Ipv4Addr::from(b))
        };
        Ok(pseudo_header_v4(&a(12)?, &a(16)?, protocol, length))
    }
}

/// Adds to `acc` the length field of a TCP pseudo-header whose other fields `ph_addrs`
/// summed ([`pseudo_header_v4`] / [`pseudo_header_v6`] with length 0):
/// the sum is then the full pseudo-header's, split so that the segments of one skb sum their
/// addresses once. One's-complement addition is associative, and with the protocol in it
/// the sum is never 0, so no fold tells the two groupings apart.
pub fn pseudo_header_add_len(acc: &mut Accumulator, ph_addrs: u16, v6: bool, len: u32) {
    acc.add_sum(ph_addrs);
    if v6 {
        // The IPv6 pseudo-header carries a 32-bit length: two 16-bit words.
        acc.add_sum((len >> 16) as u16);
    }
    acc.add_sum(len as u16);
}

/// Running one's-complement sum over a sequence of chunks of any lengths, as if they were one
/// contiguous buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accumulator {
    sum: u64,
    /// Whether the bytes added so far have odd total length.
    odd: bool,
}

impl Accumulator {
    /// An empty sum.
    pub fn new() -> Self {
        Accumulator::default()
    }

    /// Add the next chunk of the covered data.
    ///
    /// Kernel: `csum_block_add()`.
    pub fn add(&mut self, chunk: &[u8]) {
        let s = data(chunk);
        // At an odd offset every byte sits in the other lane of its 16-bit word.
        let s = if self.odd { s.swap_bytes() } else { s };
        self.sum += u64::from(s);
        self.odd ^= chunk.len() % 2 == 1;
    }

    /// Add an already folded sum of data that starts at an even offset (e.g. a pseudo-header).
    pub fn add_sum(&mut self, sum: u16) {
        self.sum += u64::from(sum);
    }

    /// The folded, not inverted, sum so far.
    pub fn sum(&self) -> u16 {
        fold(self.sum)
    }

    /// The value for a checksum field: the inverted sum.
    pub fn checksum(&self) -> u16 {
        !self.sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;

    /// The raw-header form reads the same addresses the typed forms take.
    #[test]
    fn pseudo_header_of_raw_headers() {
        let (s6, d6): (Ipv6Addr, Ipv6Addr) =
            ("2001:db8::1".parse().unwrap(), "fe80::2".parse().unwrap());
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[8..24].copy_from_slice(&s6.octets());
        v6[24..40].copy_from_slice(&d6.octets());
        assert_eq!(
            pseudo_header_of(&v6, true, IpProtocol::Tcp, 1234),
            Ok(pseudo_header_v6(&s6, &d6, IpProtocol::Tcp, 1234))
        );
        let (s4, d4) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(198, 51, 100, 7));
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[12..16].copy_from_slice(&s4.octets());
        v4[16..20].copy_from_slice(&d4.octets());
        assert_eq!(
            pseudo_header_of(&v4, false, IpProtocol::Tcp, 99),
            Ok(pseudo_header_v4(&s4, &d4, IpProtocol::Tcp, 99))
        );
        assert!(pseudo_header_of(&v6[..39], true, IpProtocol::Tcp, 1).is_err());
        assert!(pseudo_header_of(&v4[..19], false, IpProtocol::Tcp, 1).is_err());
    }
    use proptest::prelude::*;

    /// Straightforward RFC 1071 reference: 16-bit words, one at a time.
    fn reference(bytes: &[u8]) -> u16 {
        let mut sum: u32 = 0;
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            let lo = pair.get(1).map_or(0, |&b| u32::from(b));
            sum += hi | lo;
            sum = (sum & 0xffff) + (sum >> 16);
        }
        sum as u16
    }

    #[test]
    fn test_rfc1071_example() {
        // RFC 1071 §3 example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        assert_eq!(
            data(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn test_odd_length_pads_low_byte() {
        assert_eq!(data(&[0x12]), 0x1200);
        assert_eq!(data(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn test_fold_end_around_carry() {
        assert_eq!(fold(0x1_0000), 0x0001);
        assert_eq!(fold(0xffff), 0xffff);
        assert_eq!(fold(0x2_fffe), 0x0001);
        assert_eq!(combine(&[0xffff, 0x0001]), 0x0001);
    }

    #[test]
    fn test_odd_chunk_boundaries() {
        let bytes: Vec<u8> = (0..=200u8)
            .map(|i| i.wrapping_mul(37).wrapping_add(11))
            .collect();
        let whole = data(&bytes);
        for split_a in [0usize, 1, 3, 7, 100] {
            for split_b in [split_a, split_a + 1, split_a + 5, 150] {
                let mut acc = Accumulator::new();
                acc.add(&bytes[..split_a]);
                acc.add(&bytes[split_a..split_b]);
                acc.add(&bytes[split_b..]);
                assert_eq!(acc.sum(), whole, "split at {split_a}/{split_b}");
            }
        }
        // Three one-byte chunks are one three-byte buffer.
        let mut acc = Accumulator::new();
        for b in [0xab, 0xcd, 0xef] {
            acc.add(&[b]);
        }
        assert_eq!(acc.sum(), data(&[0xab, 0xcd, 0xef]));
    }

    #[test]
    fn test_pseudo_header_v4_known_value() {
        // 192.0.2.1 -> 192.0.2.2, TCP, length 20:
        // c000 + 0201 + c000 + 0202 + 0006 + 0014 = 0x1841d.
        let s = pseudo_header_v4(
            &Ipv4Addr::new(192, 0, 2, 1),
            &Ipv4Addr::new(192, 0, 2, 2),
            IpProtocol::Tcp,
            20,
        );
        assert_eq!(s, fold(0x1841d));
    }

    #[test]
    fn test_pseudo_header_mixed_families() {
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        assert_eq!(pseudo_header(&v4, &v6, IpProtocol::Tcp, 0), Err(Error));
    }

    /// [`data`] and each vector path this CPU can run, by name, with its sum of `bytes`: what
    /// the tests below hold against the scalar references, so the SSE2 path stays tested on
    /// machines where [`data`] takes AVX2. On a CPU without AVX2 there is no `avx2` entry.
    fn paths(bytes: &[u8]) -> Vec<(&'static str, u16)> {
        #[allow(unused_mut)] // only pushed to on x86_64
        let mut sums = vec![("data", data(bytes))];
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        {
            sums.push(("sse2", sse2::data(bytes)));
            if let Some(s) = avx2::data(bytes) {
                sums.push(("avx2", s));
            }
        }
        sums
    }

    /// Every path gives `expected` for `bytes`.
    fn assert_paths(bytes: &[u8], expected: u16, what: &str) {
        for (path, sum) in paths(bytes) {
            assert_eq!(sum, expected, "{path}: {what}, {} bytes", bytes.len());
        }
    }

    #[test]
    fn test_wide_lanes_carry_and_tails() {
        // All-ones words carry on every add; every tail length after the 16-byte blocks.
        for n in [65_536usize, 65_537, 9_000, 9_001, 16, 17, 18, 19, 30, 31] {
            let ones = vec![0xffu8; n];
            assert_paths(&ones, reference(&ones), "0xff");
            let mixed: Vec<u8> = (0..n).map(|i| (i * 7 + i / 256) as u8).collect();
            assert_paths(&mixed, reference(&mixed), "mixed");
        }
        assert_paths(&[0u8; 64], 0, "zeros");
    }

    /// Every length up to a few AVX2 steps (128 bytes; SSE2 steps are 64), so every split
    /// into whole steps, leftover 32-byte vectors and a sub-vector tail, odd or even, is hit,
    /// at even, odd and end-of-vector start offsets: all-0xff (every lane at its largest),
    /// all-zero (every lane at the bias) and mixed bytes.
    #[test]
    fn test_every_length_across_steps() {
        let mixed: Vec<u8> = (0..720usize).map(|i| (i * 151 + i / 7) as u8).collect();
        let ones = [0xffu8; 720];
        let zeros = [0u8; 720];
        for off in [0usize, 1, 2, 31] {
            for n in 0..=(5 * 128 + 33) {
                let b = &mixed[off..off + n];
                assert_paths(b, data_scalar(b), &format!("mixed at {off}"));
                assert_paths(b, reference(b), &format!("mixed at {off}"));
                assert_paths(&ones[off..off + n], reference(&ones[..n]), "0xff");
                assert_paths(&zeros[off..off + n], 0, "0x00");
            }
        }
    }

    /// Lengths around the SSE2 (16384 64-byte steps, 1 MiB) and AVX2 (16384 128-byte steps,
    /// 2 MiB) blocks, where the 32-bit lanes are widened: all-0xff words drive every lane to its
    /// largest value, all-zero words to its most negative (the bias), and the sum must still
    /// match the scalar reference. A lane overflows past 2^15 steps (all-zero words; all-0xff
    /// past 32769), so the lengths of 4 blocks fail if a block runs on over twice too long.
    #[test]
    fn test_block_boundaries_all_ones_and_zeros() {
        const SSE2_BLOCK: usize = 16_384 * 64;
        const AVX2_BLOCK: usize = 16_384 * 128;
        let ones = vec![0xffu8; 4 * AVX2_BLOCK + 128];
        let zeros = vec![0u8; 4 * AVX2_BLOCK + 128];
        for block in [SSE2_BLOCK, AVX2_BLOCK] {
            for n in [
                block - 1,
                block,
                block + 1,
                block + 97,
                2 * block + 31,
                4 * block,
                4 * block + 63,
                4 * block + 127,
            ] {
                assert_paths(&ones[..n], reference(&ones[..n]), "0xff");
                assert_paths(&zeros[..n], 0, "0x00");
            }
            // A 0xffff word then zeros: one word at the far end of a full block still counts.
            let mut tail = vec![0u8; block + 2];
            tail[block] = 0x12;
            tail[block + 1] = 0x34;
            tail[block - 2] = 0xff;
            tail[block - 1] = 0xff;
            assert_paths(&tail, reference(&tail), "last word of a block");
        }
    }

    /// The pseudo-header summed in two parts (addresses once, the length per segment) gives
    /// the full pseudo-header's checksum, for both families, whatever the data after it.
    #[test]
    fn pseudo_header_split_matches_whole() {
        let pairs = [
            (
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
            ),
            (
                IpAddr::V4(Ipv4Addr::new(255, 255, 255, 255)),
                IpAddr::V4(Ipv4Addr::new(0, 0, 0, 0)),
            ),
            (
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2)),
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 2, 2)),
            ),
            (
                IpAddr::V6(Ipv6Addr::new(0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 0)),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ),
        ];
        for (s, d) in pairs {
            let addrs = pseudo_header(&s, &d, IpProtocol::Tcp, 0).unwrap();
            for len in [0u32, 1, 20, 1480, 8948, 65535, 65536, 70000] {
                let data: Vec<u8> = (0..len.min(2000)).map(|i| (i * 151 + len) as u8).collect();
                let whole = pseudo_header(&s, &d, IpProtocol::Tcp, len).unwrap();
                let mut a = Accumulator::new();
                a.add_sum(whole);
                a.add(&data);
                let mut b = Accumulator::new();
                pseudo_header_add_len(&mut b, addrs, s.is_ipv6(), len);
                b.add(&data);
                assert_eq!(a.sum(), b.sum(), "{s} {d} {len}");
            }
        }
    }

    /// RFC 1071 §3's example, repeated so the bytes go through the vector loops (whose sum is
    /// byte-order independent, §2(B)): n copies of ddf2 with end-around carry, for one SSE2
    /// step (8 copies) and two AVX2 steps (32).
    #[test]
    fn test_rfc1071_example_vector_path() {
        let chunk = [0x00u8, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        for copies in [8usize, 32] {
            let bytes: Vec<u8> = chunk.iter().copied().cycle().take(8 * copies).collect();
            assert_paths(&bytes, fold(copies as u64 * 0xddf2), "RFC 1071 example");
        }
    }

    proptest! {
        #[test]
        fn prop_data_matches_scalar(
            bytes in proptest::collection::vec(any::<u8>(), 0..20_000),
            off in 0usize..32,
        ) {
            // Any start alignment: the vector loads are unaligned.
            let b = &bytes[off.min(bytes.len())..];
            let expected = data_scalar(b);
            for (path, sum) in paths(b) {
                prop_assert_eq!(sum, expected, "{}", path);
            }
        }

        #[test]
        fn prop_data_matches_reference_long(bytes in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let expected = reference(&bytes);
            for (path, sum) in paths(&bytes) {
                prop_assert_eq!(sum, expected, "{}", path);
            }
        }

        #[test]
        fn prop_data_matches_reference(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let expected = reference(&bytes);
            for (path, sum) in paths(&bytes) {
                prop_assert_eq!(sum, expected, "{}", path);
            }
        }

        #[test]
        fn prop_chunking_is_invisible(
            bytes in proptest::collection::vec(any::<u8>(), 0..300),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut acc = Accumulator::new();
            let mut start = 0;
            for &c in &cuts {
                acc.add(&bytes[start..c]);
                start = c;
            }
            acc.add(&bytes[start..]);
            prop_assert_eq!(acc.sum(), reference(&bytes));
        }
    }
}
