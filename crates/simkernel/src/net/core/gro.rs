//! Generic receive offload: consecutive TCP segments of one flow that a NAPI poll
//! receives are merged into one skb before the stack sees them, so IP and TCP run once per
//! up to 64 KiB instead of once per frame, and the receiver ACKs once per merged skb.
//!
//! Kernel: `dev_gro_receive()` / `napi_gro_flush()` (net/core/gro.c), `ipv6_gro_receive()`
//! / `ipv6_gro_complete()` (net/ipv6/ip6_offload.c), `inet_gro_receive()` /
//! `inet_gro_complete()` (net/ipv4/af_inet.c), `tcp_gro_receive()` / `tcp_gro_complete()`
//! (net/ipv4/tcp_offload.c), `skb_gro_receive()` (net/core/gro.c).
//!
//! What merges, as the kernel decides it: the same flow (Ethernet header, 4-tuple and,
//! for IPv6, flow label); IPv6 without extension headers with the same traffic class and
//! hop limit, or IPv4 without options
//! or fragmentation with the same TOS, TTL and DF; the next expected sequence number; the
//! same ACK number, option bytes and flag word (header length, reserved and AE bits,
//! window and flags; PSH and FIN may be added, CWR may not); for IPv4, the IP ID of the
//! held skb's first segment plus the segments merged, or (DF set) the same ID throughout
//! when the second segment repeated it (`inet_gro_flush()`); a payload no larger than the first segment's (`gso_size`); a
//! checksum the NIC verified; less than [`GRO_MAX_SIZE`] bytes from the IP header on; and,
//! since the devmem series' ancestors, never readable and unreadable frags in one skb
//! (`skb_frags_readable()` must agree). A segment with PSH, FIN, URG, RST or SYN, or one
//! shorter than `gso_size`, is merged (when it may be) and then the flow is flushed;
//! anything that cannot merge flushes the held skb of its flow first, so a flow's order is
//! kept. A frame whose payload stayed linear (`rx_copybreak`) merges too:
//! `skb_gro_receive()` appends its head as a frag (`head_frag`) or chains it on
//! `frag_list`; here its payload becomes a page frag of the held skb. But a copied frame
//! and a page-pool one never merge (`pp_recycle` must agree).
//!
//! Frags past [`MAX_SKB_FRAGS`]: when appending would exceed it, `skb_gro_receive()` chains
//! the segment on the held skb's `frag_list` instead (a 9000-byte frame in 4 KiB buffers
//! takes three frags, so a 64 KiB merge needs more than 17). The emulated skb has no
//! `frag_list`; the chained segments' frags continue in `frags`. Readers walk them in the
//! order the kernel walks frags and then `frag_list` (`tcp_recvmsg_dmabuf()`: `skb =
//! skb_shinfo(skb)->frag_list ?: skb->next`), so bytes, devmem cmsgs and tokens are the
//! same. Forwarded, such an skb is segmented in software before a driver without
//! `NETIF_F_FRAGLIST` (`skb_gso_ok()`); the emulated NIC's TSO puts the same frames on the
//! wire.
//!
//! On flush (`*_gro_complete()`), a merged skb gets its IP length rewritten, `gso_size` /
//! `gso_type` set and `CHECKSUM_PARTIAL` with the pseudo-header sum in the TCP checksum
//! field, so that it is re-segmented correctly if forwarded.

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::page_pool::RxPageRing;
use crate::net::core::skbuff::{Frag, GsoType, IpSummed, MAX_SKB_FRAGS, NapiSkbCache, Page, Skb};
use wire::checksum;
use wire::{IpProtocol, TcpFlags};

/// Kernel: `GRO_LEGACY_MAX_SIZE`: the largest merged packet (IP length fields are 16 bits).
pub const GRO_MAX_SIZE: usize = 65536;

/// Kernel: `MAX_GRO_SKBS`: held skbs per GRO hash bucket; one more flushes that bucket's
/// oldest.
pub const MAX_GRO_SKBS: usize = 8;

/// Kernel: `GRO_HASH_BUCKETS`: the lists a NAPI instance holds skbs in, chosen by
/// `skb->hash` (`dev_gro_receive()`).
pub const GRO_HASH_BUCKETS: usize = 8;

/// The bucket of `skb` (`skb_get_hash_raw(skb) & (GRO_HASH_BUCKETS - 1)`).
fn gro_bucket(hash: u32) -> usize {
    hash as usize & (GRO_HASH_BUCKETS - 1)
}

const TCP_FIN: u8 = TcpFlags::FIN.0;
const TCP_PSH: u8 = TcpFlags::PSH.0;
const TCP_CWR: u8 = TcpFlags::CWR.0;
/// A segment with any of these ends its flow's merge (`tcp_gro_receive()`'s final check).
const TCP_FLUSH: u8 =
    (TcpFlags::URG.0) | TcpFlags::PSH.0 | TcpFlags::RST.0 | TcpFlags::SYN.0 | TcpFlags::FIN.0;

/// Where a GRO candidate's headers are and what must match to merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Hdr {
    v6: bool,
    /// Offset of the TCP header in `head` (Ethernet at 0, IP at 14).
    l4: usize,
    /// TCP header length.
    thlen: usize,
    seq: u32,
    flags: u8,
    /// TCP payload bytes (in the head past the headers, then in frags).
    payload: usize,
}

const L3: usize = 14;

/// What GRO makes of a received frame, before looking for its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroIn {
    /// Leaves GRO before the flow lookup and goes up on its own; a held skb of its flow
    /// stays held (`inet_gro_receive()` / `tcp*_gro_receive()` return with the frame's
    /// `flush` set and no held skb to complete).
    Bypass,
    /// Reaches `tcp_gro_receive()` with its `flush` set: its flow's held skb is completed
    /// first, then the frame goes up.
    Flush(Hdr),
    /// A merge candidate.
    Merge(Hdr),
}

/// What GRO reads of a received segment: its linear head (Ethernet header first, the
/// whole head of the skb), `skb->len`, `skb->hash`, whether the NIC verified its checksum
/// and what [`can_merge`] compares of its frags.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GroSeg<'a> {
    /// `skb->data` .. `skb_headlen()`.
    pub(crate) head: &'a [u8],
    /// `skb->len`.
    pub(crate) len: usize,
    /// `skb->hash`.
    pub(crate) hash: u32,
    /// `skb->ip_summed == CHECKSUM_UNNECESSARY`.
    pub(crate) csum_ok: bool,
    /// `skb->pp_recycle`.
    pub(crate) pp_recycle: bool,
    /// `skb_frags_readable()`.
    pub(crate) readable: bool,
}

impl<'a> GroSeg<'a> {
    /// The segment `skb` is; `len` is `skb.len()`.
    fn of(skb: &'a Skb, len: usize) -> Self {
        GroSeg {
            head: &skb.head,
            len,
            hash: skb.hash,
            csum_ok: skb.ip_summed == IpSummed::Unnecessary,
            pp_recycle: skb.pp_recycle,
            readable: skb.skb_frags_readable(),
        }
    }
}

/// Parses a received frame's headers for GRO.
#[inline]
fn gro_hdr(seg: &GroSeg) -> GroIn {
    gro_hdr_parse(seg.head, seg.len).unwrap_or(GroIn::Bypass)
}

#[inline]
fn gro_hdr_parse(h: &[u8], len: usize) -> Option<GroIn> {
    let et = u16::from_be_bytes([*h.get(12)?, *h.get(13)?]);
    // Whether the IP header asks for a flush (`inet_gro_receive()`: any frag_off bit but
    // DF, the reserved one included).
    let (v6, l4, ip_len, ip_flush) = match et {
        0x86dd => {
            let ip = h.get(L3..L3 + 40)?;
            if ip[6] != 6 {
                return None; // extension headers or not TCP
            }
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            (true, L3 + 40, 40 + plen, false)
        }
        0x0800 => {
            let ip = h.get(L3..L3 + 20)?;
            let frag = u16::from_be_bytes([ip[6], ip[7]]);
            // `inet_gro_receive()`: options, a fragment (MF or an offset) or a bad header
            // checksum leave before the flow lookup.
            if ip[0] != 0x45 || ip[9] != 6 || frag & 0x3fff != 0 || !ipv4_csum_ok(ip) {
                return None;
            }
            let tot = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            (false, L3 + 20, tot, frag & !0x4000 != 0)
        }
        _ => return None,
    };
    let th = h.get(l4..l4 + 20)?;
    let thlen = usize::from(th[12] >> 4) * 4;
    // `tcp_gro_pull_header()`: a data offset below 20 leaves GRO. The headers are in the
    // head; the payload may follow them there (a linear skb) and continue in frags.
    if thlen < 20 || h.len() < l4 + thlen {
        return None;
    }
    let hdr = Hdr {
        v6,
        l4,
        thlen,
        seq: u32::from_be_bytes([th[4], th[5], th[6], th[7]]),
        flags: th[13],
        payload: len - (l4 + thlen),
    };
    // An IP length that does not cover exactly the frame (Ethernet padding) flushes
    // (`inet_gro_receive()`: `tot_len ^ skb_gro_len()`; `ipv6_gro_receive()`:
    // `payload_len != skb->len - hlen`), as does a segment without payload in
    // `tcp_gro_receive()` (`(len - 1) >= mss`).
    let len_flush = len != L3 + ip_len;
    Some(if ip_flush || len_flush || hdr.payload == 0 {
        GroIn::Flush(hdr)
    } else {
        GroIn::Merge(hdr)
    })
}

/// Kernel: `ip_fast_csum(iph, 5) == 0`: the 20-byte IPv4 header sums to all ones.
fn ipv4_csum_ok(ip: &[u8]) -> bool {
    let mut acc = checksum::Accumulator::new();
    acc.add(&ip[..20]);
    acc.sum() == 0xffff
}

/// Same flow: the Ethernet header (`gro_list_prepare()`: `compare_ether_header()`),
/// addresses (`inet_gro_receive()`; `ipv6_gro_receive()` also the version and flow label,
/// `first_word & 0xF00FFFFF`) and ports (`tcp_gro_lookup()`). Frames that differ only in
/// what [`same_ip`] and [`can_merge`] compare are one flow that cannot merge (flush);
/// frames that differ here are two flows, held side by side.
#[inline(always)]
fn same_flow(a: &Skb, ah: &Hdr, b: &GroSeg, bh: &Hdr) -> bool {
    if a.hash != b.hash || ah.v6 != bh.v6 {
        return false;
    }
    let (pa, pb) = (u32_at(&a.head, ah.l4), u32_at(b.head, bh.l4));
    // Both heads hold the Ethernet and IP headers and 20 TCP bytes ([`gro_hdr`] checked),
    // which is at least `L3 + 40` bytes for either family: one bounds check for the reads
    // below.
    let (a, b) = (&a.head[..L3 + 40], &b.head[..L3 + 40]);
    // The 14 bytes as two overlapping words.
    if u64_at(a, 0) != u64_at(b, 0) || u64_at(a, L3 - 8) != u64_at(b, L3 - 8) {
        return false;
    }
    let ip_same = if ah.v6 {
        // Version and flow label: `first_word & 0xF00FFFFF` (big-endian).
        let first = |h: &[u8]| u32::from_be_bytes(bytes_at(h, L3)) & 0xF00F_FFFF;
        first(a) == first(b)
            && u128_at(a, L3 + 8) == u128_at(b, L3 + 8)
            && u128_at(a, L3 + 24) == u128_at(b, L3 + 24)
    } else {
        u64_at(a, L3 + 12) == u64_at(b, L3 + 12)
    };
    ip_same && pa == pb
}

/// `s[at..at + N]` as an array (panics past the end, as slicing does), so that header
/// bytes compare as machine words rather than through a `memcmp` call.
#[inline(always)]
fn bytes_at<const N: usize>(s: &[u8], at: usize) -> [u8; N] {
    let mut b = [0; N];
    b.copy_from_slice(&s[at..at + N]);
    b
}

#[inline(always)]
fn u32_at(s: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes_at(s, at))
}

#[inline(always)]
fn u64_at(s: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes(bytes_at(s, at))
}

#[inline(always)]
fn u128_at(s: &[u8], at: usize) -> u128 {
    u128::from_ne_bytes(bytes_at(s, at))
}

/// The IP fields that must agree (`ipv6_gro_flush()` / `inet_gro_flush()`).
#[inline(always)]
fn same_ip(a: &[u8], b: &[u8], v6: bool) -> bool {
    // Both heads hold at least `L3 + 40` bytes (see [`same_flow`]).
    let (a, b) = (&a[..L3 + 40], &b[..L3 + 40]);
    if v6 {
        // Traffic class (the low nibble of byte 0, the high one of byte 1); hop limit.
        a[L3] & 0x0f == b[L3] & 0x0f
            && a[L3 + 1] & 0xf0 == b[L3 + 1] & 0xf0
            && a[L3 + 7] == b[L3 + 7]
    } else {
        // TOS, DF, TTL.
        a[L3 + 1] == b[L3 + 1] && (a[L3 + 6] & 0x40) == (b[L3 + 6] & 0x40) && a[L3 + 8] == b[L3 + 8]
    }
}

/// One held (possibly merged) skb.
#[derive(Debug)]
struct Held {
    skb: Skb,
    hdr: Hdr,
    next_seq: u32,
    /// The first segment's payload size (`gso_size`).
    mss: usize,
    /// Segments merged (`NAPI_GRO_CB(p)->count`).
    segs: u16,
    /// `skb.len()`, kept up to date as segments merge (`p->len`), so the size check does
    /// not walk the growing frags.
    len: usize,
    /// `skb.skb_frags_readable()`, fixed while held: only segments that agree merge.
    readable: bool,
    /// Kernel: `NAPI_GRO_CB(p)->ip_fixedid`: an IPv4 flow whose second segment repeated the
    /// first one's ID (with DF); its IDs must then stay fixed instead of incrementing.
    fixed_id: bool,
}

/// Kernel: `struct gro_node` of a NAPI instance: the flows held during one poll.
#[derive(Debug, Default)]
pub struct GroList {
    /// Kernel: `gro_hash[]`: per bucket, the held skbs oldest first.
    held: [Vec<Held>; GRO_HASH_BUCKETS],
    /// Segments merged into an earlier skb (`ethtool -S` `rx_gro_packets`-style counter).
    pub merged: u64,
    /// Merged skbs delivered.
    pub flushed: u64,
    /// The NAPI instance's RX pages, reused for the next frames the driver builds once the
    /// stack has released them.
    pub(crate) rx_pages: RxPageRing,
}

impl GroList {
    /// Skbs held right now.
    pub fn held(&self) -> usize {
        self.held.iter().map(Vec::len).sum()
    }
}

/// Kernel: `inet_gro_flush()` (include/net/gro.h), for IPv4 `new` against the held skb
/// (whose header is its first segment's): `None` flushes; otherwise whether the flow's IDs
/// are fixed from now on.
///
/// The IP ID of the n-th merged segment must be the first one's plus n (incrementing IDs,
/// as TSO and software GSO write them), unless the flow is a fixed-ID one: with DF set, a
/// second segment repeating the first one's ID marks the flow fixed (`ip_fixedid`), and
/// every later segment must repeat it too. TOS, TTL and DF must match (see [`same_ip`]).
#[inline]
fn inet_gro_flush(held: &Held, new: &[u8]) -> Option<bool> {
    let a = &held.skb.head;
    let id = |h: &[u8]| u16::from_be_bytes([h[L3 + 4], h[L3 + 5]]);
    let offset = id(new).wrapping_sub(id(a));
    let df = new[L3 + 6] & 0x40 != 0;
    let fixed = held.fixed_id || (held.segs == 1 && df && offset == 0);
    let want = if fixed { 0 } else { held.segs };
    (offset == want).then_some(fixed)
}

/// Whether `new` may be appended to `held` (`tcp_gro_receive()`'s flush conditions,
/// `gro_receive_network_flush()` included): `None` flushes; otherwise the held skb's
/// `ip_fixedid` after the merge.
#[inline]
fn can_merge(held: &Held, new: &GroSeg, nh: &Hdr) -> Option<bool> {
    let (a, b) = (&held.skb.head[..], new.head);
    let (al4, bl4) = (held.hdr.l4, nh.l4);
    // Both 20-byte TCP headers are in the heads ([`gro_hdr`] checked), so the field reads
    // below index within them.
    let (ta, tb) = (&a[al4..al4 + 20], &b[bl4..bl4 + 20]);
    let mergeable = held.hdr.thlen == nh.thlen
        && nh.seq == held.next_seq
        && nh.payload <= held.mss
        && nh.flags & TCP_CWR == 0
        && held.hdr.flags & (TCP_PSH | TCP_FIN) == 0
        // ACK number; then the flag word (`tcp_flag_word()`: data offset, the reserved
        // bits and AE, the flags but PSH, FIN and CWR, the window); then options.
        && u32_at(ta, 8) == u32_at(tb, 8)
        && ta[12] == tb[12]
        && (ta[13] ^ nh.flags) & !(TCP_CWR | TCP_FIN | TCP_PSH) == 0
        && bytes_at::<2>(ta, 14) == bytes_at::<2>(tb, 14)
        && same_options(&a[al4 + 20..al4 + held.hdr.thlen], &b[bl4 + 20..bl4 + nh.thlen])
        && same_ip(a, b, nh.v6)
        // `skb_gro_receive()`: `p->len + len >= gro_max_size` is E2BIG, `p->len` counted
        // from the IP header. No frag limit: past MAX_SKB_FRAGS the segment is chained.
        && held.len - L3 + nh.payload < GRO_MAX_SIZE
        // `skb_gro_receive()`: page-pool pages and others never share an skb
        // (`p->pp_recycle != skb->pp_recycle` is -ETOOMANYREFS).
        && held.skb.pp_recycle == new.pp_recycle
        && held.readable == new.readable;
    if !mergeable {
        return None;
    }
    if nh.v6 {
        Some(false)
    } else {
        inet_gro_flush(held, b)
    }
}

/// The TCP option bytes agree (`tcp_gro_receive()`'s `memcmp()` of what follows the
/// 20-byte header). The usual 12 bytes (NOP, NOP, timestamps) compare as one array.
#[inline(always)]
fn same_options(a: &[u8], b: &[u8]) -> bool {
    if a.len() == 12 && b.len() == 12 {
        u64_at(a, 0) == u64_at(b, 0) && u32_at(a, 8) == u32_at(b, 8)
    } else {
        a.len() == b.len() && (a.is_empty() || a == b)
    }
}

/// Kernel: `*_gro_complete()`: make a merged skb look like one large TCP packet.
fn gro_complete(h: Held) -> Skb {
    let Held {
        mut skb,
        hdr,
        mss,
        segs,
        ..
    } = h;
    if segs < 2 {
        return skb;
    }
    let len = skb.len();
    let tcp_len = len - hdr.l4;
    let head = &mut skb.head;
    if hdr.v6 {
        head[L3 + 4..L3 + 6].copy_from_slice(&((len - L3 - 40) as u16).to_be_bytes());
    } else {
        head[L3 + 2..L3 + 4].copy_from_slice(&((len - L3) as u16).to_be_bytes());
        crate::net::ipv4::ip_output::ipv4_fill_checksum(&mut head[L3..]);
    }
    // gro_hdr() read a whole IPv4 or IPv6 header, so its addresses are there.
    let ph = checksum::pseudo_header_of(&head[L3..], hdr.v6, IpProtocol::Tcp, tcp_len as u32)
        .unwrap_or_default();
    head[hdr.l4 + 16..hdr.l4 + 18].copy_from_slice(&ph.to_be_bytes());
    skb.ip_summed = IpSummed::Partial;
    skb.csum_start = hdr.l4 as u16;
    skb.csum_offset = 16;
    skb.gso_size = mss as u16;
    skb.gso_type = if hdr.v6 {
        GsoType::TcpV6
    } else {
        GsoType::TcpV4
    };
    skb
}

/// What GRO does with a received segment (`dev_gro_receive()`'s decision), found
/// without changing anything.
#[derive(Debug, Clone, Copy)]
enum GroAction {
    /// Pass it up on its own (it left GRO before the flow lookup).
    Up,
    /// Pass it up after the held skb of its flow (index in its bucket), if any.
    FlushUp(Option<usize>),
    /// Append it to held skb `.1` of its bucket; `.2` is that skb's `ip_fixedid` after.
    Merge(Hdr, usize, bool),
    /// Flush the held skb of its flow that it cannot merge into (if any), then hold it
    /// (or pass it up if its flags end the merge at once).
    Hold(Hdr, Option<usize>),
}

/// `napi_gro_receive()`'s decision for `seg`, inlined into the per-frame path
/// ([`Kernel::napi_gro_receive_frame`]); built skbs go through [`gro_decide_skb`].
#[inline(always)]
fn gro_decide(gro: &GroList, seg: &GroSeg) -> GroAction {
    // `tcp*_gro_receive()`: a checksum the NIC did not verify is checked in software
    // (`skb_gro_checksum_validate()`); the emulated NIC leaves only bad ones unverified.
    let input = if seg.csum_ok {
        gro_hdr(seg)
    } else {
        GroIn::Bypass
    };
    let held = &gro.held[gro_bucket(seg.hash)];
    match input {
        GroIn::Bypass => GroAction::Up,
        GroIn::Flush(nh) => GroAction::FlushUp(
            held.iter()
                .position(|h| same_flow(&h.skb, &h.hdr, seg, &nh)),
        ),
        GroIn::Merge(nh) => match held
            .iter()
            .position(|h| same_flow(&h.skb, &h.hdr, seg, &nh))
        {
            Some(i) => match can_merge(&held[i], seg, &nh) {
                Some(fixed_id) => GroAction::Merge(nh, i, fixed_id),
                None => GroAction::Hold(nh, Some(i)),
            },
            None => GroAction::Hold(nh, None),
        },
    }
}

/// [`gro_decide`] out of line, for skbs the driver built before GRO
/// ([`Kernel::napi_gro_receive`]: linear frames, header split), so that one copy of it
/// sits in the per-frame path.
#[inline(never)]
fn gro_decide_skb(gro: &GroList, seg: &GroSeg) -> GroAction {
    gro_decide(gro, seg)
}

/// `skb_gro_receive()`: the frags of `skb` (segment `nh`) are appended to held skb `i` of
/// bucket `b`; a linear segment's payload goes in as one (its `head_frag`), or the segment
/// is chained on `frag_list` (which the emulated skb's frags stand for): the bytes follow in
/// order.
#[inline]
fn gro_merge_skb(
    gro: &mut GroList,
    cache: &mut NapiSkbCache,
    b: usize,
    i: usize,
    skb: Skb,
    nh: &Hdr,
) {
    let h = &mut gro.held[b][i];
    let hlen = nh.l4 + nh.thlen;
    let Skb {
        head, mut frags, ..
    } = skb;
    let head = if head.len() > hlen {
        let len = head.len() - hlen;
        h.skb.frags.push(Frag::Page {
            bytes: Page::new_buf(head),
            off: hlen,
            len,
        });
        Vec::new()
    } else {
        head
    };
    h.skb.frags.append(&mut frags);
    // `napi_skb_free_stolen_head()`: the merged segment's head and frag array go back to
    // the NAPI skb cache.
    cache.put(head, frags);
}

impl Kernel {
    /// Kernel: `napi_gro_receive()`: merge `skb` (received on NIC `dev`, Ethernet header
    /// first) into a held skb of its flow, hold it, or pass it up (`netif_rx()`). `len` is
    /// `skb.len()` (`skb->len`, which the driver set as it built the skb).
    pub(crate) fn napi_gro_receive(&mut self, dev: DevId, gro: &mut GroList, skb: Skb, len: usize) {
        debug_assert_eq!(len, skb.len());
        let act = gro_decide_skb(gro, &GroSeg::of(&skb, len));
        let b = gro_bucket(skb.hash);
        if let GroAction::Merge(nh, i, fixed_id) = act {
            gro_merge_skb(gro, &mut self.softnet.skb_cache, b, i, skb, &nh);
            self.gro_merged(dev, gro, b, i, &nh, fixed_id);
        } else {
            self.gro_receive_rest(dev, gro, b, skb, len, act);
        }
    }

    /// [`Kernel::napi_gro_receive`] of the skb the driver builds from `frame` as `build`
    /// does, when that skb is the frame's first `hlen` bytes in its head and the rest in
    /// one readable page-pool frag of `frame`'s RX page (`RxPageRing::page`), its checksum
    /// verified and its hash `hash`. A segment that merges into a held skb gives up its
    /// head and frag array at once (`napi_skb_free_stolen_head()`), so the skb is not
    /// built: its page goes straight into the held skb as the frag it would have had. Any
    /// other segment is built (before GRO acts on it, as the driver would have) and goes
    /// on as in [`Kernel::napi_gro_receive`]. The emulator's shortcut: the merged segment's
    /// head and frag array are neither taken from nor returned to the NAPI skb cache, which
    /// leaves the cache as taking and returning them would (the same arrays, emptied), but
    /// for its allocations.
    pub(crate) fn napi_gro_receive_frame(
        &mut self,
        dev: DevId,
        gro: &mut GroList,
        frame: Vec<u8>,
        hlen: usize,
        hash: u32,
        build: impl FnOnce(&mut NapiSkbCache, &mut RxPageRing, Vec<u8>) -> Skb,
    ) {
        let seg = GroSeg {
            head: &frame[..hlen],
            len: frame.len(),
            hash,
            csum_ok: true,
            pp_recycle: true,
            readable: true,
        };
        let act = gro_decide(gro, &seg);
        let b = gro_bucket(hash);
        match act {
            // The built skb's head would be exactly the headers GRO pulls, so merging
            // appends its page frag alone (no head frag).
            GroAction::Merge(nh, i, fixed_id) if nh.l4 + nh.thlen == hlen => {
                let len = frame.len() - hlen;
                let bytes = gro.rx_pages.page(frame);
                gro.held[b][i].skb.frags.push(Frag::Page {
                    bytes,
                    off: hlen,
                    len,
                });
                self.gro_merged(dev, gro, b, i, &nh, fixed_id);
            }
            GroAction::Merge(nh, i, fixed_id) => {
                let skb = build(&mut self.softnet.skb_cache, &mut gro.rx_pages, frame);
                gro_merge_skb(gro, &mut self.softnet.skb_cache, b, i, skb, &nh);
                self.gro_merged(dev, gro, b, i, &nh, fixed_id);
            }
            act => {
                let len = frame.len();
                let skb = build(&mut self.softnet.skb_cache, &mut gro.rx_pages, frame);
                self.gro_receive_rest(dev, gro, b, skb, len, act);
            }
        }
    }

    /// The held skb `i` of bucket `b` took segment `nh` (its frags appended): update its
    /// headers and counts, and flush it when `nh` ends the merge.
    #[inline]
    fn gro_merged(
        &mut self,
        dev: DevId,
        gro: &mut GroList,
        b: usize,
        i: usize,
        nh: &Hdr,
        fixed_id: bool,
    ) {
        let h = &mut gro.held[b][i];
        h.fixed_id = fixed_id;
        h.skb.head[h.hdr.l4 + 13] |= nh.flags & (TCP_FIN | TCP_PSH);
        h.hdr.flags |= nh.flags & (TCP_FIN | TCP_PSH);
        h.next_seq = h.next_seq.wrapping_add(nh.payload as u32);
        h.len += nh.payload;
        h.segs += 1;
        gro.merged += 1;
        let last = nh.payload < h.mss || nh.flags & TCP_FLUSH != 0;
        if last {
            self.gro_flush_one(dev, gro, b, i);
        }
    }

    /// What [`gro_decide`] chose for `skb` (of `len` bytes), but merging: pass it up,
    /// after its flow's held skb when that must go first, or hold it.
    fn gro_receive_rest(
        &mut self,
        dev: DevId,
        gro: &mut GroList,
        b: usize,
        skb: Skb,
        len: usize,
        act: GroAction,
    ) {
        let nh = match act {
            GroAction::Up => {
                self.netif_rx(dev, skb);
                return;
            }
            GroAction::FlushUp(flush) => {
                // Not mergeable: its flow's held skb goes first, then this one.
                if let Some(i) = flush {
                    self.gro_flush_one(dev, gro, b, i);
                }
                self.netif_rx(dev, skb);
                return;
            }
            GroAction::Hold(nh, flush) => {
                if let Some(i) = flush {
                    self.gro_flush_one(dev, gro, b, i);
                }
                nh
            }
            GroAction::Merge(..) => unreachable!("merges are done by the caller"),
        };
        if nh.flags & TCP_FLUSH != 0 {
            self.netif_rx(dev, skb);
            return;
        }
        // `gro_flush_oldest()`: the bucket is full, its oldest skb goes up.
        if gro.held[b].len() >= MAX_GRO_SKBS {
            self.gro_flush_one(dev, gro, b, 0);
        }
        let mut skb = skb;
        skb.frags
            .reserve(MAX_SKB_FRAGS - skb.frags.len().min(MAX_SKB_FRAGS));
        gro.held[b].push(Held {
            next_seq: nh.seq.wrapping_add(nh.payload as u32),
            mss: nh.payload,
            segs: 1,
            len,
            readable: skb.skb_frags_readable(),
            fixed_id: false,
            hdr: nh,
            skb,
        });
    }

    fn gro_flush_one(&mut self, dev: DevId, gro: &mut GroList, b: usize, i: usize) {
        let h = gro.held[b].remove(i);
        if h.segs > 1 {
            gro.flushed += 1;
        }
        let skb = gro_complete(h);
        self.netif_rx(dev, skb);
    }

    /// Kernel: `napi_gro_flush()`: pass every held skb up, bucket by bucket from the
    /// lowest index (`__napi_gro_flush_chain()` per set bit of the bucket mask), oldest
    /// first within a bucket.
    pub(crate) fn napi_gro_flush(&mut self, dev: DevId, gro: &mut GroList) {
        for b in 0..GRO_HASH_BUCKETS {
            while !gro.held[b].is_empty() {
                self.gro_flush_one(dev, gro, b, 0);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    /// The slice compares [`same_flow`] and [`same_options`] replaced, as they were.
    fn same_flow_slices(a: &Skb, ah: &Hdr, b: &Skb, bh: &Hdr) -> bool {
        if a.hash != b.hash || ah.v6 != bh.v6 || a.head[..L3] != b.head[..L3] {
            return false;
        }
        let (a3, b3) = (&a.head[L3..], &b.head[L3..]);
        let ip_same = if ah.v6 {
            a3[0] & 0xf0 == b3[0] & 0xf0
                && a3[1] & 0x0f == b3[1] & 0x0f
                && a3[2..4] == b3[2..4]
                && a3[8..40] == b3[8..40]
        } else {
            a3[12..20] == b3[12..20]
        };
        ip_same && a.head[ah.l4..ah.l4 + 4] == b.head[bh.l4..bh.l4 + 4]
    }

    /// The word compares agree with the byte-slice ones when any one byte of the headers
    /// differs, for both families and every option length.
    #[test]
    fn word_compares_match_slice_compares() {
        let mut x = 0x2545_f491u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for v6 in [false, true] {
            let l4 = if v6 { L3 + 40 } else { L3 + 20 };
            let hdr = Hdr {
                v6,
                l4,
                thlen: 32,
                seq: 0,
                flags: 0,
                payload: 0,
            };
            let head: Vec<u8> = (0..l4 + 32).map(|_| next() as u8).collect();
            let a = Skb::linear(head.clone());
            for i in 0..head.len() {
                for flip in [0u8, 0x01, 0x10, 0x80] {
                    let mut h = head.clone();
                    h[i] ^= flip;
                    let b = Skb::linear(h);
                    assert_eq!(
                        same_flow(&a, &hdr, &GroSeg::of(&b, b.len()), &hdr),
                        same_flow_slices(&a, &hdr, &b, &hdr),
                        "v6 {v6} byte {i} flip {flip:#x}"
                    );
                }
            }
            let mut b = Skb::linear(head.clone());
            b.hash = 1;
            assert!(!same_flow(&a, &hdr, &GroSeg::of(&b, b.len()), &hdr));
        }
        for len in (0..=40).step_by(4) {
            let a: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            assert!(same_options(&a, &a));
            for i in 0..len {
                let mut b = a.clone();
                b[i] ^= 1 << (next() % 8);
                assert!(!same_options(&a, &b), "len {len} byte {i}");
            }
        }
        assert!(!same_options(&[0; 12], &[0; 16]));
    }

    /// An Ethernet + IPv4 or IPv6 + TCP frame (timestamps option) of flow `port`.
    fn tcp_frame(v6: bool, port: u16, seq: u32, flags: u8, id: u16, payload: usize) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        let tcp_len = 32 + payload;
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&(tcp_len as u16).to_be_bytes());
            f.extend_from_slice(&[6, 64]);
            f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
            f.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        } else {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
            f.extend_from_slice(&id.to_be_bytes());
            f.extend_from_slice(&[0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
            crate::net::ipv4::ip_output::ipv4_fill_checksum(&mut f[L3..L3 + 20]);
        }
        f.extend_from_slice(&port.to_be_bytes());
        f.extend_from_slice(&5201u16.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 1, 0x80, 0x10 | flags, 1, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&[1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9]);
        f.extend((0..payload).map(|i| (seq as usize + i) as u8));
        f
    }

    /// What the stack sees of an skb GRO passed up: bytes and offload fields.
    fn skb_view(s: &Skb) -> (Vec<u8>, Vec<u8>, u16, u16, u32, bool, u16) {
        let mut data = Vec::new();
        for f in &s.frags {
            if let Frag::Page { bytes, off, len } = f {
                data.extend_from_slice(&bytes[*off..*off + *len]);
            }
        }
        let ip_summed = s.ip_summed == IpSummed::Partial;
        (
            s.head.clone(),
            data,
            s.gso_size,
            s.csum_start,
            s.hash,
            ip_summed,
            s.frags.len() as u16,
        )
    }

    /// Frames through [`Kernel::napi_gro_receive_frame`] (merged without building the
    /// skb) and the same frames built as the driver builds them through
    /// [`Kernel::napi_gro_receive`] leave the same skbs going up, in the same order, and the
    /// same held skbs and counts, frame after frame: merges, flushes (flags, sequence
    /// gaps, short and padded segments, option changes), two flows per family and a
    /// bucket shared by flows.
    #[test]
    fn frame_fast_path_matches_built_skb_path() {
        use crate::KernelConfig;
        use crate::drivers::nic::NicProfile;
        let mk = || {
            let mut k = Kernel::new(KernelConfig::default());
            let init = k.init_net();
            let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 1).unwrap();
            k.link_set_up(nic, true).unwrap();
            (k, nic, GroList::default())
        };
        let (mut ka, da, mut ga) = mk();
        let (mut kb, db, mut gb) = mk();
        let mut x = 0x2545_f491u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let mut seqs = [1000u32; 4];
        let mut ids = [7u16; 4];
        for n in 0..3000 {
            let r = next();
            let flow = (r & 3) as usize;
            let v6 = flow < 2;
            let payload = match (r >> 2) % 8 {
                0 => 300 + (r >> 8) as usize % 1000,
                1 => 257,
                _ => 1448,
            };
            let flags = match (r >> 5) % 32 {
                0 => TCP_PSH,
                1 => TCP_FIN,
                2 => TcpFlags::SYN.0,
                3 => TCP_CWR,
                _ => 0,
            };
            if (r >> 10) % 64 == 0 {
                seqs[flow] = seqs[flow].wrapping_add(1448);
            }
            let mut f = tcp_frame(
                v6,
                40000 + flow as u16,
                seqs[flow],
                flags,
                ids[flow],
                payload,
            );
            seqs[flow] = seqs[flow].wrapping_add(payload as u32);
            ids[flow] = ids[flow].wrapping_add(1);
            match (r >> 16) % 64 {
                0 => f.extend_from_slice(&[0; 6]),              // Ethernet padding
                1 => f[L3 + if v6 { 40 } else { 20 } + 25] = 9, // another timestamp
                _ => {}
            }
            let hash = [3u32, 11, 3, 5][flow];
            let hlen = L3 + if v6 { 40 } else { 20 } + 32;
            let build = move |cache: &mut NapiSkbCache, pages: &mut RxPageRing, frame: Vec<u8>| {
                let mut skb = cache.get(hlen);
                skb.head.extend_from_slice(&frame[..hlen]);
                skb.pp_recycle = true;
                let len = frame.len() - hlen;
                skb.frags.push(Frag::Page {
                    bytes: pages.page(frame),
                    off: hlen,
                    len,
                });
                skb.ip_summed = IpSummed::Unnecessary;
                skb.hash = hash;
                skb
            };
            ka.napi_gro_receive_frame(da, &mut ga, f.clone(), hlen, hash, build);
            let len = f.len();
            let skb = build(&mut kb.softnet.skb_cache, &mut gb.rx_pages, f);
            kb.napi_gro_receive(db, &mut gb, skb, len);
            if n % 50 == 49 {
                ka.napi_gro_flush(da, &mut ga);
                kb.napi_gro_flush(db, &mut gb);
            }
            let up_a: Vec<_> = ka.dev_mut(da).rx_backlog.drain(..).collect();
            let up_b: Vec<_> = kb.dev_mut(db).rx_backlog.drain(..).collect();
            let view = |v: &[Skb]| v.iter().map(skb_view).collect::<Vec<_>>();
            assert_eq!(view(&up_a), view(&up_b), "frame {n}");
            for b in 0..GRO_HASH_BUCKETS {
                let held = |g: &GroList| {
                    g.held[b]
                        .iter()
                        .map(|h| (skb_view(&h.skb), h.hdr, h.next_seq, h.segs, h.len))
                        .collect::<Vec<_>>()
                };
                assert_eq!(held(&ga), held(&gb), "frame {n} bucket {b}");
            }
            assert_eq!(
                (ga.merged, ga.flushed),
                (gb.merged, gb.flushed),
                "frame {n}"
            );
        }
        assert!(ga.merged > 1000 && ga.flushed > 100);
    }
}
