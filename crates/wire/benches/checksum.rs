//! Throughput of the Internet checksum: the portable reference, the SSE2 path, and
//! `checksum::data` (AVX2 when the CPU has it, else SSE2, on x86_64), on a jumbo frame and a
//! 64 KiB GSO-sized buffer, both L1/L2-hot.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wire::checksum;

fn bench(c: &mut Criterion) {
    for len in [9000usize, 64 * 1024] {
        // Deterministic pseudo-random contents, offset by one byte so loads are unaligned.
        let mut x: u32 = 0x2545_f491;
        let buf: Vec<u8> = (0..len + 1)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let buf = &buf[1..];
        let mut g = c.benchmark_group(format!("checksum/{len}"));
        // Decimal bytes, so criterion reports GB/s.
        g.throughput(Throughput::BytesDecimal(len as u64));
        g.bench_function("scalar", |b| {
            b.iter(|| checksum::data_scalar(black_box(buf)))
        });
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        g.bench_function("sse2", |b| b.iter(|| checksum::data_sse2(black_box(buf))));
        g.bench_function("data", |b| b.iter(|| checksum::data(black_box(buf))));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
