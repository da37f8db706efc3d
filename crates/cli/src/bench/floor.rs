//! The per-byte floor of the emulated devmem TX: the passes over the payload that the
//! emulated data path cannot skip, run back to back on the same bytes without the stack.
//!
//! Per frame: the host NIC's DMA gather out of the dma-buf (page by page, as the IOMMU
//! translates), its TX checksum, then (after the frame has waited its turn behind the
//! data in flight) the remote NIC's RX checksum check and the remote application's
//! `recvmsg` copy into its buffer. The same primitives as the emulator's: a memfd mapping
//! as the dma-buf ([`linux::shm::SharedMem`]), [`wire::checksum::data`] and
//! [`simkernel::net::core::datagram::copy_to_user`]. Whatever the emulator's figure falls
//! short of this one is per-frame and per-skb work (descriptors, events, skbs, GRO,
//! TCP, ACKs), not bytes.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use linux::shm::SharedMem;
use simkernel::PAGE_SIZE;
use simkernel::net::core::datagram::copy_to_user;

use super::pattern;

/// Ethernet + IPv6 + TCP header bytes in front of each frame's payload.
const HDRS: usize = 14 + 40 + 20;

/// Moves `bytes` through the four passes in frames of `mss` payload bytes, cycling
/// through a dma-buf of `ring` bytes with at most `ring` bytes in flight (the emulated
/// sender's bound), reading up to `chunk` bytes per `recvmsg`; `on_read` sees each read's
/// bytes. Returns the time taken.
pub fn per_byte_floor(
    bytes: u64,
    mss: usize,
    ring: usize,
    chunk: usize,
    mut on_read: impl FnMut(&[u8]),
) -> std::io::Result<Duration> {
    let buf = SharedMem::new("nkdevmem-floor", ring)?;
    let contents: Vec<u8> = (0..ring).map(pattern).collect();
    buf.write_at(0, &contents).map_err(std::io::Error::other)?;
    let mss = mss.max(1);
    let window = (ring / mss).max(1);
    let mut in_flight: VecDeque<Vec<u8>> = VecDeque::with_capacity(window);
    let mut free: Vec<Vec<u8>> = Vec::with_capacity(window);
    let chunk = chunk.max(1);
    let mut user = Vec::with_capacity(chunk);
    let (mut sent, mut off, mut sum) = (0u64, 0usize, 0u16);
    let start = Instant::now();
    while sent < bytes || !in_flight.is_empty() {
        if sent < bytes && in_flight.len() < window {
            let n = (mss as u64).min(bytes - sent) as usize;
            let mut f = free.pop().unwrap_or_else(|| Vec::with_capacity(HDRS + mss));
            f.resize(HDRS, 0);
            let mut left = n;
            while left > 0 {
                let at = off % ring;
                let take = left.min(PAGE_SIZE - at % PAGE_SIZE).min(ring - at);
                buf.read_append(at, take, &mut f)
                    .map_err(std::io::Error::other)?;
                off += take;
                left -= take;
            }
            sum ^= wire::checksum::data(&f[HDRS - 20..]);
            in_flight.push_back(f);
            sent += n as u64;
            continue;
        }
        if let Some(mut f) = in_flight.pop_front() {
            sum ^= wire::checksum::data(&f[HDRS - 20..]);
            let mut payload = &f[HDRS..];
            while !payload.is_empty() {
                if user.len() == chunk {
                    on_read(&user);
                    user.clear();
                }
                let (now, rest) = payload.split_at(payload.len().min(chunk - user.len()));
                copy_to_user(&mut user, now);
                payload = rest;
            }
            f.clear();
            free.push(f);
        }
    }
    on_read(&user);
    let took = start.elapsed();
    std::hint::black_box(sum);
    Ok(took)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte reaches the reader in order, for a last short frame, frames crossing
    /// the ring's end and reads cut at `chunk`.
    #[test]
    fn reads_the_dma_buf_in_order() {
        for (bytes, ring, chunk) in [
            (1u64, 4096usize, 4096usize),
            (100_000, 12_288, 20_000),
            (50_000, 8192, 1000),
            (3 << 20, 1 << 20, 256 << 10),
        ] {
            let mut got = 0usize;
            per_byte_floor(bytes, 8940, ring, chunk, |r| {
                assert!(r.len() <= chunk);
                for (i, &b) in r.iter().enumerate() {
                    assert_eq!(b, pattern((got + i) % ring), "byte {}", got + i);
                }
                got += r.len();
            })
            .expect("floor run");
            assert_eq!(got as u64, bytes);
        }
    }
}
