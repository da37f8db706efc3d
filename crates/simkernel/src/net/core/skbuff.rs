//! Socket buffers: a readable linear head plus page or net_iov fragments.
//!
//! Kernel: `include/linux/skbuff.h`. "Unreadable" is a type fact here: a [`Frag::NetIov`]
//! carries no bytes, so nothing in the kernel model can copy, checksum or inspect devmem
//! payload. `skb->unreadable` is derived from the frags ([`Skb::skb_frags_readable`]).
//! Cloning an skb shares every frag by reference (pages by `Rc`, net_iovs by a counted
//! [`NetIov`]), as `skb_clone()` shares `skb_shinfo`.

use std::rc::Rc;

use crate::net::core::netmem::NetIov;

/// A host page (or a driver's RX buffer) shared by reference: a buffer the NIC just filled
/// becomes the page without a copy, as `build_skb()` wraps the DMA buffer instead of
/// copying it.
pub type PageBuf = Rc<Page>;

/// The bytes of a host page. When the last reference goes, the buffer goes back to this
/// thread's recycling list, from which the next frame a NIC builds is taken
/// ([`frame_buf_alloc`]); frames are jumbo-sized, and reusing them keeps the per-frame
/// cost off the allocator. Kernel: the page pool's recycling (`page_pool_put_page()` into
/// the pool's cache, `page_pool_alloc_pages()` from it).
#[derive(Debug, Default)]
pub struct Page(Vec<u8>);

impl Page {
    /// A shared page holding `bytes`.
    pub fn new_buf(bytes: Vec<u8>) -> PageBuf {
        Rc::new(Page(bytes))
    }

    /// Makes the page hold `bytes` instead, its old buffer going back for reuse as dropping
    /// the page would send it ([`frame_buf_free`]): a page nobody else references, reused
    /// (`crate::net::core::page_pool::RxPageRing`).
    pub(crate) fn refill(&mut self, bytes: Vec<u8>) {
        frame_buf_free(std::mem::replace(&mut self.0, bytes));
    }
}

impl std::ops::Deref for Page {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        frame_buf_free(std::mem::take(&mut self.0));
    }
}

/// Kernel: `MAX_TCP_HEADER`: the head room a TCP skb is allocated with, enough for the
/// TCP, IP and link headers pushed in front of it on the way down.
pub const MAX_TCP_HEADER: usize = 128 + 60;

/// Buffers smaller than this are left to the allocator (its own caches are fast for them).
const FRAME_BUF_MIN: usize = 2048;
/// How many free buffers a thread keeps.
const FRAME_BUF_CACHE: usize = 512;

/// This thread's recycled frame buffers and their one size, behind one thread-local (one
/// access and one borrow per call, not one for each).
struct FrameBufs {
    /// The one size recycled buffers have: the largest asked for so far.
    size: usize,
    /// The free buffers, at most [`FRAME_BUF_CACHE`].
    bufs: Vec<Vec<u8>>,
}

thread_local! {
    static FRAME_BUFS: std::cell::RefCell<FrameBufs> = const {
        std::cell::RefCell::new(FrameBufs { size: 0, bufs: Vec::new() })
    };
}

/// An empty buffer with room for at least `cap` bytes, recycled when one is free.
///
/// Recycled buffers all have one size, the largest requested so far, as a page pool's
/// pages do (`page_pool_params.order`): a TSO burst's short last frame then takes a buffer
/// any later full frame could reuse, where mixed sizes on the free list made the next
/// full-size request miss it.
#[inline]
pub fn frame_buf_alloc(cap: usize) -> Vec<u8> {
    if cap < FRAME_BUF_MIN {
        return Vec::with_capacity(cap);
    }
    let (got, size) = FRAME_BUFS.with_borrow_mut(|p| {
        p.size = p.size.max(cap);
        let got = match p.bufs.last() {
            Some(v) if v.capacity() >= cap => p.bufs.pop(),
            _ => None,
        };
        (got, p.size)
    });
    got.unwrap_or_else(|| Vec::with_capacity(size))
}

/// Appends to `out` `n` empty buffers with room for at least `cap` bytes each, what `n`
/// calls of [`frame_buf_alloc`] give, with one thread-local access and borrow for all of
/// them (a TSO burst's frames are taken at once): the recycled ones that fit off the end
/// of the free list in one move, new ones at the recycled size for the rest.
#[inline]
pub fn frame_bufs_alloc(cap: usize, n: usize, out: &mut Vec<Vec<u8>>) {
    if cap < FRAME_BUF_MIN {
        out.extend((0..n).map(|_| Vec::with_capacity(cap)));
        return;
    }
    let (fit, size) = FRAME_BUFS.with_borrow_mut(|p| {
        p.size = p.size.max(cap);
        // frame_buf_alloc() pops from the end while the last one fits, and once one does
        // not, the ones after it miss too.
        let fit = p
            .bufs
            .iter()
            .rev()
            .take(n)
            .take_while(|v| v.capacity() >= cap)
            .count();
        let from = p.bufs.len() - fit;
        out.extend(p.bufs.drain(from..).rev());
        (fit, p.size)
    });
    out.extend((fit..n).map(|_| Vec::with_capacity(size)));
}

/// Hands `v` back for reuse (emptied), or frees it (a small one, or one smaller than the
/// recycled size).
#[inline]
pub fn frame_buf_free(mut v: Vec<u8>) {
    if v.capacity() < FRAME_BUF_MIN {
        return;
    }
    v.clear();
    // A buffer dropped after this thread's list is gone (thread exit) is just freed.
    let dropped = FRAME_BUFS.try_with(|p| {
        let mut p = p.borrow_mut();
        if v.capacity() >= p.size && p.bufs.len() < FRAME_BUF_CACHE {
            p.bufs.push(v);
            None
        } else {
            Some(v)
        }
    });
    // Freed outside the borrow.
    drop(dropped);
}

/// How many skb heads a [`NapiSkbCache`] keeps (kernel: `NAPI_SKB_CACHE_SIZE`).
const NAPI_SKB_CACHE_SIZE: usize = 64;

/// Emptied heads and frag arrays of skbs a NAPI poll consumed, for the next frame the
/// driver builds.
///
/// Kernel: the per-CPU `napi_alloc_cache` behind `napi_build_skb()`: skb heads freed in
/// softirq context (`napi_skb_cache_put()`, e.g. by GRO's `napi_skb_free_stolen_head()`
/// for a segment merged into a held skb, or by `napi_consume_skb()` for one the stack
/// consumed) are handed to the next built skb (`napi_skb_cache_get()`), so a frame costs
/// no slab round trip. Here the cache is the softirq's
/// (`crate::net::core::dev_rx::SoftnetData`, one per emulated CPU), shared by every NIC's
/// NAPI instance as the per-CPU one is.
#[derive(Debug, Default)]
pub struct NapiSkbCache(Vec<(Vec<u8>, Vec<Frag>)>);

impl NapiSkbCache {
    /// Kernel: `napi_skb_cache_get()`: an empty skb whose head has room for `head_cap`
    /// bytes and whose frag array has room for [`MAX_SKB_FRAGS`]. An empty cache allocates
    /// both at their size (`kmem_cache_alloc_bulk()` refilling it), not by growing empty
    /// vectors.
    #[inline]
    pub fn get(&mut self, head_cap: usize) -> Skb {
        let (head, frags) = match self.0.pop() {
            Some((mut head, mut frags)) => {
                head.reserve(head_cap);
                frags.reserve(MAX_SKB_FRAGS);
                (head, frags)
            }
            None => (
                Vec::with_capacity(head_cap),
                Vec::with_capacity(MAX_SKB_FRAGS),
            ),
        };
        Skb::from_parts(head, frags)
    }

    /// Kernel: `napi_skb_cache_put()`: keep a consumed skb's `head` and `frags` (emptied
    /// here) for [`NapiSkbCache::get`]; freed when the cache is full.
    #[inline(always)]
    pub fn put(&mut self, mut head: Vec<u8>, mut frags: Vec<Frag>) {
        if self.0.len() < NAPI_SKB_CACHE_SIZE {
            head.clear();
            frags.clear();
            self.0.push((head, frags));
        }
    }
}

/// One fragment.
///
/// `#[repr(C)]` with `len` and `off` first in both variants: they sit at the same offsets
/// whichever the variant, so [`Frag::len`] (read for every frag of every skb walked) is one
/// load, not a branch on the variant (Rust's default layout places them differently around
/// the net_iov's niche).
#[derive(Debug, Clone)]
#[repr(C)]
pub enum Frag {
    /// A host page fragment: `bytes[off..off + len]`.
    Page {
        /// Length.
        len: usize,
        /// Offset into the page.
        off: usize,
        /// The page.
        bytes: PageBuf,
    },
    /// A net_iov fragment: `len` bytes at `off` inside the niov's PAGE_SIZE chunk.
    NetIov {
        /// Length.
        len: usize,
        /// Offset inside the niov.
        off: usize,
        /// The niov reference (keeps its binding alive).
        niov: NetIov,
    },
}

impl Frag {
    /// Fragment length.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Frag::Page { len, .. } | Frag::NetIov { len, .. } => *len,
        }
    }

    /// Whether the fragment is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The niov, for net_iov frags (kernel: `skb_frag_net_iov()`).
    pub fn net_iov(&self) -> Option<&NetIov> {
        match self {
            Frag::NetIov { niov, .. } => Some(niov),
            Frag::Page { .. } => None,
        }
    }
}

/// Kernel: `skb->ip_summed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IpSummed {
    /// `CHECKSUM_NONE`: nobody checked; the stack verifies (readable skbs only).
    #[default]
    None,
    /// `CHECKSUM_UNNECESSARY`: the device verified it (the only way for unreadable skbs).
    Unnecessary,
    /// `CHECKSUM_PARTIAL`: the TCP checksum field holds the pseudo-header sum; the device
    /// (or `skb_checksum_help()`) finishes it from `csum_start`, storing at
    /// `csum_start + csum_offset`.
    Partial,
}

/// Kernel: `skb_shinfo(skb)->gso_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GsoType {
    /// Not a GSO skb.
    #[default]
    None,
    /// `SKB_GSO_TCPV4`.
    TcpV4,
    /// `SKB_GSO_TCPV6`.
    TcpV6,
}

/// Kernel: `skb->pkt_type` (`PACKET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PktType {
    /// `PACKET_HOST`.
    #[default]
    Host,
    /// `PACKET_BROADCAST`.
    Broadcast,
    /// `PACKET_MULTICAST`.
    Multicast,
    /// `PACKET_OTHERHOST`: not for us (IP drops it).
    OtherHost,
    /// `PACKET_OUTGOING`.
    Outgoing,
}

/// Kernel: `struct sk_buff` (the parts the core uses).
///
/// `head` holds the readable bytes from the current layer's header on: a frame on a
/// device (transmit or receive) starts with its Ethernet header; what IP hands to TCP
/// starts with the TCP header; what TCP hands to IP starts with the TCP header too. The
/// `*_header` fields are offsets into `head` as the kernel keeps them relative to
/// `skb->head` (valid only for the layers already parsed or built).
#[derive(Debug, Clone, Default)]
pub struct Skb {
    /// The linear part: always readable (headers live here).
    pub head: Vec<u8>,
    /// Kernel: `skb_shinfo(skb)->frags`.
    pub frags: Vec<Frag>,
    /// Kernel: `skb->dev`: the device the skb is on (RX: arrived on; TX: leaving by).
    pub dev: Option<crate::net::core::dev::DevId>,
    /// Kernel: `skb->protocol` (EtherType, host order).
    pub protocol: u16,
    /// Kernel: `skb->mac_header`.
    pub mac_header: usize,
    /// Kernel: `skb->network_header`.
    pub network_header: usize,
    /// Kernel: `skb->transport_header`.
    pub transport_header: usize,
    /// Kernel: `skb->ip_summed`.
    pub ip_summed: IpSummed,
    /// Kernel: `skb->csum_start` (offset in `head` where checksumming starts).
    pub csum_start: u16,
    /// Kernel: `skb->csum_offset` (where the result goes, from `csum_start`).
    pub csum_offset: u16,
    /// Kernel: `skb_shinfo(skb)->gso_size` (MSS; 0 = not GSO).
    pub gso_size: u16,
    /// Kernel: `skb_shinfo(skb)->gso_type`.
    pub gso_type: GsoType,
    /// Kernel: `skb->mark`.
    pub mark: u32,
    /// Kernel: `skb->priority`.
    pub priority: u32,
    /// Kernel: `skb->tstamp` (virtual µs, 0 = none).
    pub tstamp: u64,
    /// Kernel: `skb->pkt_type`.
    pub pkt_type: PktType,
    /// Kernel: `skb_at_tc_ingress()`; set while the tc ingress hook runs.
    pub tc_at_ingress: bool,
    /// Kernel: `skb->hash`: on receive, the NIC's RSS hash the driver reports
    /// (`skb_set_hash()`); 0 = none. GRO picks its bucket by it.
    pub hash: u32,
    /// Kernel: `skb->pp_recycle` (`skb_mark_for_recycle()`): the skb's pages came from a
    /// page pool (a NIC's RX buffers or net_iovs), not from a copy.
    pub pp_recycle: bool,
}

/// Kernel: `MAX_SKB_FRAGS` (17 with 4 KiB pages and the default config).
pub const MAX_SKB_FRAGS: usize = 17;

impl Skb {
    /// An skb whose payload is all in the linear head.
    pub fn linear(head: Vec<u8>) -> Self {
        Skb::from_parts(head, Vec::new())
    }

    /// An skb of `head` and `frags` with every other field at its default, built field by
    /// field (a `..Skb::default()` would make, then drop, a default head and frag array).
    #[inline]
    fn from_parts(head: Vec<u8>, frags: Vec<Frag>) -> Self {
        Skb {
            head,
            frags,
            dev: None,
            protocol: 0,
            mac_header: 0,
            network_header: 0,
            transport_header: 0,
            ip_summed: IpSummed::None,
            csum_start: 0,
            csum_offset: 0,
            gso_size: 0,
            gso_type: GsoType::None,
            mark: 0,
            priority: 0,
            tstamp: 0,
            pkt_type: PktType::Host,
            tc_at_ingress: false,
            hash: 0,
            pp_recycle: false,
        }
    }

    /// Kernel: `skb_push()`: prepend `hdr` to the head. Heads are built with room for the
    /// headers the layers below push ([`MAX_TCP_HEADER`]), so this moves bytes, not memory.
    pub fn push(&mut self, hdr: &[u8]) {
        let old = self.head.len();
        let n = hdr.len();
        self.head.resize(old + n, 0);
        self.head.copy_within(0..old, n);
        self.head[..n].copy_from_slice(hdr);
    }

    /// Kernel: `skb_frags_readable()` (i.e. `!skb->unreadable`): no net_iov frag.
    pub fn skb_frags_readable(&self) -> bool {
        self.frags.iter().all(|f| f.net_iov().is_none())
    }

    /// Kernel: `skb_shinfo(skb)->nr_frags`.
    pub fn nr_frags(&self) -> usize {
        self.frags.len()
    }

    /// Kernel: `skb->len`.
    pub fn len(&self) -> usize {
        self.head.len() + self.frags.iter().map(Frag::len).sum::<usize>()
    }

    /// Kernel: `skb_headlen()`.
    pub fn headlen(&self) -> usize {
        self.head.len()
    }

    /// Kernel: `skb_scrub_packet(skb, xnet)`: forget per-netns state when crossing
    /// devices; `xnet` (crossing namespaces) also clears `mark` and `tstamp`.
    pub fn scrub(&mut self, xnet: bool) {
        self.tc_at_ingress = false;
        self.pkt_type = PktType::Host;
        if xnet {
            self.mark = 0;
            self.tstamp = 0;
        }
    }

    /// Whether the skb carries no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl crate::kernel::Kernel {
    /// Kernel: `kfree_skb()`: drop the skb; RX net_iov frags go back to the page pool
    /// they came from (`skb_pp_recycle()` → `page_pool_put_netmem()`).
    pub fn kfree_skb(&mut self, skb: Skb) {
        for f in skb.frags {
            if let Frag::NetIov { niov, .. } = f
                && let Some(pp) = niov.pp()
            {
                self.page_pool_put_netmem(pp, niov);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field-by-field constructor builds what `..Skb::default()` did.
    #[test]
    fn from_parts_is_default_but_buffers() {
        let skb = Skb::from_parts(vec![1, 2], Vec::new());
        let want = Skb {
            head: vec![1, 2],
            ..Skb::default()
        };
        assert_eq!(format!("{skb:?}"), format!("{want:?}"));
        let mut cache = NapiSkbCache::default();
        let got = cache.get(80);
        assert!(got.head.capacity() >= 80 && got.frags.capacity() >= MAX_SKB_FRAGS);
        assert_eq!(format!("{got:?}"), format!("{:?}", Skb::default()));
        cache.put(vec![7; 10], vec![]);
        let got = cache.get(80);
        assert!(got.head.is_empty() && got.head.capacity() >= 80);
        assert!(got.frags.capacity() >= MAX_SKB_FRAGS);
    }

    /// One thread-local for the recycled size and the list: a buffer comes back at the
    /// largest size asked, is reused for any request it covers, and one smaller than that
    /// size is freed, not kept.
    #[test]
    fn frame_bufs_recycle_at_one_size() {
        assert!(frame_buf_alloc(100).capacity() >= 100);
        let a = frame_buf_alloc(3000);
        assert!(a.capacity() >= 3000);
        let pa = a.as_ptr();
        frame_buf_free(a);
        let b = frame_buf_alloc(2500);
        assert_eq!(b.as_ptr(), pa, "reused");
        assert!(b.is_empty() && b.capacity() >= 3000);
        let c = frame_buf_alloc(5000);
        assert!(c.capacity() >= 5000);
        let pc = c.as_ptr();
        frame_buf_free(b); // below the recycled size now: freed
        frame_buf_free(c);
        let d = frame_buf_alloc(2048);
        assert_eq!(d.as_ptr(), pc, "the full-size one");
        let e = frame_buf_alloc(2048);
        assert!(e.capacity() >= 5000, "a new one at the recycled size");
    }

    /// A batch takes what as many single allocations would, in the same order: the
    /// recycled buffers that fit from the end of the list, then new ones at the recycled
    /// size; small ones from the allocator.
    #[test]
    fn a_batch_of_frame_bufs_is_single_allocations() {
        let bufs: Vec<Vec<u8>> = (0..4).map(|_| frame_buf_alloc(3000)).collect();
        let ptrs: Vec<*const u8> = bufs.iter().map(|b| b.as_ptr()).collect();
        for b in bufs {
            frame_buf_free(b);
        }
        let mut out = vec![Vec::new()];
        frame_bufs_alloc(2500, 3, &mut out);
        let got: Vec<*const u8> = out[1..].iter().map(|b| b.as_ptr()).collect();
        assert_eq!(got, [ptrs[3], ptrs[2], ptrs[1]]);
        let single = frame_buf_alloc(2500);
        assert_eq!(single.as_ptr(), ptrs[0]);
        frame_bufs_alloc(2048, 2, &mut out);
        assert_eq!(out.len(), 6);
        assert!(
            out.iter()
                .skip(1)
                .all(|b| b.is_empty() && b.capacity() >= 3000)
        );
        frame_bufs_alloc(100, 2, &mut out);
        assert!(out[6..].iter().all(|b| b.is_empty() && b.capacity() >= 100));
        assert_eq!(out.len(), 8);
    }

    /// `len` (and `off`) read the same through either variant.
    #[test]
    fn frag_len_of_both_variants() {
        let p = Frag::Page {
            bytes: Page::new_buf(vec![0u8; 10]),
            off: 3,
            len: 7,
        };
        assert_eq!((p.len(), p.is_empty()), (7, false));
        let mut skb = Skb::linear(vec![1]);
        skb.frags.push(p);
        skb.frags.push(Frag::Page {
            bytes: Page::new_buf(vec![0u8; 4]),
            off: 4,
            len: 0,
        });
        assert!(skb.frags[1].is_empty());
        assert_eq!(skb.len(), 8);
    }

    #[test]
    fn readable_until_a_niov_frag() {
        let mut skb = Skb::linear(vec![1, 2, 3]);
        skb.frags.push(Frag::Page {
            bytes: Page::new_buf(vec![0u8; 10]),
            off: 2,
            len: 5,
        });
        assert!(skb.skb_frags_readable());
        assert_eq!(skb.len(), 8);
        assert_eq!(skb.nr_frags(), 1);
    }
}
