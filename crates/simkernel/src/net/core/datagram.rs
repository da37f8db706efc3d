//! Devmem TX: turning dma-buf offsets into skb frags.
//!
//! Kernel: `net/core/datagram.c` `zerocopy_fill_skb_from_devmem()` and the partial-progress
//! rules of `skb_zerocopy_iter_stream()` (net/core/skbuff.c). Each `iov_base` is a byte
//! offset into the bound dma-buf; every frag covers bytes of one PAGE_SIZE net_iov only
//! (`net_devmem_get_niov_at()` returns the bytes left in that niov), an skb holds at most
//! MAX_SKB_FRAGS frags (then the caller starts a new skb), and an offset past the dma-buf is
//! EFAULT. On EFAULT the skb being filled is trimmed back to what it held before this
//! call; skbs already completed stay queued and sendmsg reports their bytes.

use std::collections::VecDeque;
use std::rc::Rc;

use uapi::errno::EFAULT;

use crate::PAGE_SIZE;
use crate::error::KernelError;
use crate::net::core::devmem::DevmemBinding;
use crate::net::core::netmem::NetIov;
use crate::net::core::skbuff::{Frag, MAX_SKB_FRAGS};
use crate::net::core::sock::SkbData;

/// One iovec as the emulated process passes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserIov<'a> {
    /// Bytes the kernel may copy (a readable send).
    Buf(&'a [u8]),
    /// `(iov_base, iov_len)` as a raw address: for devmem TX, `iov_base` is a dma-buf offset.
    Addr {
        /// `iov_base`.
        base: u64,
        /// `iov_len`.
        len: usize,
    },
}

impl UserIov<'_> {
    /// `iov_len`.
    pub fn len(&self) -> usize {
        match self {
            UserIov::Buf(b) => b.len(),
            UserIov::Addr { len, .. } => *len,
        }
    }

    /// Whether the iovec is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Kernel: the `tcp_sendmsg_locked()` copy loop with `skb_zerocopy_iter_stream()` →
/// `zerocopy_fill_skb_from_devmem()`, for an iov of dma-buf offsets. The frags go straight
/// onto `out` (the socket's queue: the caller moves them to the connection without regrouping
/// them), and `skb_end(out.len())` marks where each skb (≤ MAX_SKB_FRAGS frags, ≤
/// `size_goal` bytes) ends. Returns the bytes of the completed skbs and the EFAULT that
/// stopped the fill, if the iov ran past the dma-buf (the skb in progress is trimmed off
/// `out` first).
pub fn zerocopy_fill_skb_from_devmem(
    binding: &Rc<DevmemBinding>,
    iov: &[UserIov<'_>],
    size_goal: usize,
    out: &mut VecDeque<SkbData>,
    mut skb_end: impl FnMut(usize),
) -> (usize, Option<KernelError>) {
    // Room for every frag at once (one per page touched), bounded: an iov far past the
    // dma-buf faults long before.
    let pages = iov.iter().fold(0usize, |n, v| {
        n.saturating_add(v.len().div_ceil(PAGE_SIZE) + 1)
    });
    out.reserve(pages.min(4096));
    let mut bytes = 0usize;
    let mut skb_start = out.len();
    // Frags and bytes of the skb in progress (`out[skb_start..]`).
    let mut nr_frags = 0usize;
    let mut cur_len = 0usize;
    for v in iov {
        let (base, len) = match *v {
            UserIov::Addr { base, len } => (base, len),
            // A pointer the emulated process cannot hand over: as a dma-buf offset it is
            // whatever the address is; the emulator has none, so it faults.
            UserIov::Buf([]) => continue,
            UserIov::Buf(_) => {
                out.truncate(skb_start);
                return (bytes, Some(KernelError::new(EFAULT)));
            }
        };
        // -EMSGSIZE with progress: this skb is complete, start the next one.
        macro_rules! next_skb_if_full {
            () => {
                if nr_frags == MAX_SKB_FRAGS || cur_len >= size_goal {
                    bytes += cur_len;
                    skb_start += nr_frags;
                    skb_end(skb_start);
                    nr_frags = 0;
                    cur_len = 0;
                }
            };
        }
        // The whole iov is inside the TX dma-buf (the usual case): its frags are computed
        // from the offset, each niov the one net_devmem_get_niov_at() would return, the
        // same frags as the lookup loop below, which is for an iov that runs past the
        // dma-buf (its first byte past the end faults).
        if let Some(start) = binding.net_devmem_tx_span(base, len) {
            let (mut o, end) = (start, start + len);
            while o < end {
                next_skb_if_full!();
                let in_off = o % PAGE_SIZE;
                let size = (PAGE_SIZE - in_off).min(end - o).min(size_goal - cur_len);
                // The index fits: net_devmem_tx_span() checked the span's last niov.
                let niov = NetIov::dmabuf(binding.clone(), (o / PAGE_SIZE) as u32);
                out.push_back(devmem_tx_frag(niov, in_off, size));
                nr_frags += 1;
                cur_len += size;
                o += size;
            }
            continue;
        }
        let mut done = 0usize;
        while done < len {
            next_skb_if_full!();
            let off = base
                .checked_add(done as u64)
                .and_then(|o| usize::try_from(o).ok());
            let Some((niov, in_off, left)) = off.and_then(|o| binding.net_devmem_get_niov_at(o))
            else {
                // -EFAULT: trim the skb in progress back, keep the completed ones.
                out.truncate(skb_start);
                return (bytes, Some(KernelError::new(EFAULT)));
            };
            let size = left.min(len - done).min(size_goal - cur_len);
            out.push_back(devmem_tx_frag(niov, in_off, size));
            nr_frags += 1;
            cur_len += size;
            done += size;
        }
    }
    if nr_frags > 0 {
        bytes += cur_len;
        skb_end(skb_start + nr_frags);
    }
    (bytes, None)
}

/// The send-queue entry for `len` bytes at `off` in `niov`: an unreadable net_iov frag.
#[inline(always)]
fn devmem_tx_frag(niov: NetIov, off: usize, len: usize) -> SkbData {
    SkbData {
        frag: Frag::NetIov { niov, off, len },
        linear: false,
        unreadable: true,
        rx_ref: None,
    }
}

/// Appends `src` to the user's buffer `dst` (recvmsg's copy, the one per-byte cost of a
/// plain receive), in [`linux::shm::COPY_CHUNK`]-sized `memcpy` calls (why: there).
/// Kernel: `copy_to_iter()` / `skb_copy_datagram_iter()`.
pub fn copy_to_user(dst: &mut Vec<u8>, src: &[u8]) {
    dst.reserve(src.len());
    // The same pieces as `src.chunks(COPY_CHUNK)`, split off by hand: fewer instructions
    // per piece than the iterator takes.
    let mut rest = src;
    while rest.len() > linux::shm::COPY_CHUNK {
        let (piece, tail) = rest.split_at(linux::shm::COPY_CHUNK);
        dst.extend_from_slice(piece);
        rest = tail;
    }
    dst.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dma::DmaDirection;
    use crate::kernel::{Kernel, KernelConfig, NlSockId};
    use crate::net::core::dev::DmaDev;
    use crate::process::Cred;

    /// The user's buffer gets exactly the source's bytes after what it held, for lengths
    /// around the copy's piece size.
    #[test]
    fn copy_to_user_appends_the_bytes() {
        let c = linux::shm::COPY_CHUNK;
        for n in [0, 1, c - 1, c, c + 1, 3 * c, 4 * c + 17] {
            let src: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let mut dst = vec![9u8; 5];
            copy_to_user(&mut dst, &src);
            assert_eq!(dst[..5], [9; 5]);
            assert_eq!(dst[5..], src[..], "{n} bytes");
        }
    }

    fn tx_binding(pages: usize) -> (Kernel, Rc<DevmemBinding>) {
        let mut k = Kernel::new(KernelConfig::default());
        let pid = k.process_spawn(k.init_net(), Cred::default());
        let buf = k.dmabuf_create(pages * PAGE_SIZE, 0).unwrap();
        let fd = k.process_install_dmabuf(pid, buf).unwrap();
        let lo = k.dev_get_by_name(k.init_net(), "lo").unwrap();
        let b = k
            .net_devmem_bind_dmabuf(
                lo,
                None,
                Some(DmaDev::new("0000:01:00.0")),
                DmaDirection::ToDevice,
                pid,
                fd,
                NlSockId(1),
            )
            .unwrap();
        (k, b)
    }

    /// The skbs one devmem sendmsg builds: each a list of net_iov frags, the bytes in
    /// them, and the error that stopped the fill, if any.
    struct DevmemFill {
        skbs: Vec<Vec<SkbData>>,
        bytes: usize,
        err: Option<KernelError>,
    }

    fn fill(b: &Rc<DevmemBinding>, iov: &[UserIov<'_>], size_goal: usize) -> DevmemFill {
        let mut frags = VecDeque::new();
        let mut ends = Vec::new();
        let (bytes, err) =
            zerocopy_fill_skb_from_devmem(b, iov, size_goal, &mut frags, |e| ends.push(e));
        let mut skbs = Vec::new();
        let mut start = 0;
        for end in ends {
            skbs.push(frags.drain(..end - start).collect());
            start = end;
        }
        assert!(frags.is_empty());
        DevmemFill { skbs, bytes, err }
    }

    fn spans(f: &DevmemFill) -> Vec<Vec<(u64, usize)>> {
        f.skbs
            .iter()
            .map(|s| {
                s.iter()
                    .map(|d| match &d.frag {
                        Frag::NetIov { niov, off, len } => {
                            (niov.virtual_offset() + *off as u64, *len)
                        }
                        Frag::Page { .. } => panic!("page frag"),
                    })
                    .collect()
            })
            .collect()
    }

    /// The frags and skbs of the original per-frag walk (every offset looked up with
    /// `net_devmem_get_niov_at()`, the skb in progress trimmed on a fault), as dma-buf
    /// spans: what the fill must give whether or not an iov takes the checked-once path.
    fn reference_spans(
        b: &Rc<DevmemBinding>,
        iov: &[(u64, usize)],
        goal: usize,
    ) -> (Vec<Vec<(u64, usize)>>, usize, bool) {
        let (mut skbs, mut cur, mut cur_len, mut bytes) = (Vec::new(), Vec::new(), 0, 0);
        for &(base, len) in iov {
            let mut done = 0;
            while done < len {
                if cur.len() == MAX_SKB_FRAGS || cur_len >= goal {
                    bytes += cur_len;
                    skbs.push(std::mem::take(&mut cur));
                    cur_len = 0;
                }
                let Some((niov, off, left)) = b.net_devmem_get_niov_at(base as usize + done) else {
                    return (skbs, bytes, true);
                };
                let size = left.min(len - done).min(goal - cur_len);
                cur.push((niov.virtual_offset() + off as u64, size));
                cur_len += size;
                done += size;
            }
        }
        if !cur.is_empty() {
            bytes += cur_len;
            skbs.push(cur);
        }
        (skbs, bytes, false)
    }

    /// Iovs inside the dma-buf (frags computed from the offset) and iovs running past it
    /// (frags looked up one by one until the fault) give the per-frag walk's skbs.
    #[test]
    fn checked_span_fill_matches_the_per_frag_walk() {
        let (_k, b) = tx_binding(16);
        let size = 16 * PAGE_SIZE as u64;
        let bases = [
            0,
            100,
            PAGE_SIZE as u64 - 1,
            5 * PAGE_SIZE as u64,
            size - 5000,
            size - 1,
        ];
        let lens = [1, 10, PAGE_SIZE - 100, 3 * PAGE_SIZE + 7, 9 * PAGE_SIZE];
        for goal in [4096, 6000, 65_000] {
            for &b0 in &bases {
                for &l0 in &lens {
                    for &(b1, l1) in &[(0, 0), (200, 2 * PAGE_SIZE), (size - 300, 600)] {
                        let pieces: Vec<(u64, usize)> = [(b0, l0), (b1, l1)]
                            .into_iter()
                            .filter(|p| p.1 > 0)
                            .collect();
                        let iov: Vec<UserIov> = pieces
                            .iter()
                            .map(|&(base, len)| UserIov::Addr { base, len })
                            .collect();
                        let f = fill(&b, &iov, goal);
                        let (want, bytes, fault) = reference_spans(&b, &pieces, goal);
                        assert_eq!(spans(&f), want, "{pieces:?} goal {goal}");
                        assert_eq!(f.bytes, bytes, "{pieces:?} goal {goal}");
                        assert_eq!(f.err.is_some(), fault, "{pieces:?} goal {goal}");
                    }
                }
            }
        }
    }

    #[test]
    fn frags_never_cross_a_page() {
        let (_k, b) = tx_binding(8);
        let iov = [UserIov::Addr {
            base: 100,
            len: 3 * PAGE_SIZE,
        }];
        let f = fill(&b, &iov, 65_000);
        assert!(f.err.is_none());
        assert_eq!(
            spans(&f),
            vec![vec![(100, 3996), (4096, 4096), (8192, 4096), (12288, 100)]]
        );
        assert_eq!(f.bytes, 3 * PAGE_SIZE);
    }

    #[test]
    fn max_skb_frags_then_next_skb_and_efault_trims_the_skb_in_progress() {
        let (_k, b) = tx_binding(64);
        let mut iov: Vec<UserIov> = (0..20)
            .map(|i| UserIov::Addr {
                base: i * PAGE_SIZE as u64,
                len: 10,
            })
            .collect();
        let f = fill(&b, &iov, 65_000);
        assert_eq!(f.skbs.iter().map(Vec::len).collect::<Vec<_>>(), vec![17, 3]);
        assert_eq!(f.bytes, 200);
        // A fault after 20 frags: the 3-frag skb in progress is trimmed, 17 frags stay.
        iov.push(UserIov::Addr {
            base: 64 * PAGE_SIZE as u64,
            len: 1,
        });
        let f = fill(&b, &iov, 65_000);
        assert_eq!(f.err.as_ref().map(|e| e.errno), Some(EFAULT));
        assert_eq!(f.skbs.len(), 1);
        assert_eq!(f.bytes, 170);
        // Size goal: an skb never exceeds it.
        let iov = [UserIov::Addr {
            base: 0,
            len: 10 * PAGE_SIZE,
        }];
        let f = fill(&b, &iov, 6000);
        assert!(
            f.skbs
                .iter()
                .all(|s| s.iter().map(|d| d.frag.len()).sum::<usize>() <= 6000)
        );
        assert_eq!(f.bytes, 10 * PAGE_SIZE);
    }
}
