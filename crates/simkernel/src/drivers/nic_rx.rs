//! The NIC's receive side: flow steering, RSS, header split into net_iovs.
//!
//! Kernel/hardware model: ntuple rules (`ethtool -N`, matched by location order) pick a
//! queue or discard first; otherwise the Toeplitz hash of the 4-tuple (2-tuple for non
//! TCP/UDP) with the common 40-byte default key indexes the RSS indirection table. The
//! NIC verifies the TCP checksum (`CHECKSUM_UNNECESSARY` when good, `CHECKSUM_NONE` when
//! bad). On a queue whose page pool has a devmem memory provider and with header split
//! on (`tcp-data-split` enabled, `hds-thresh` 0 or below the payload), the frame is split
//! after the TCP header: headers into a host buffer (the skb's readable head), payload
//! DMA-written through the IOMMU into net_iovs taken from the page pool (provider = the
//! binding's chunk pool); an empty pool drops the frame (`rx_dropped`, `alloc_fail`).
//! Other queues put the whole frame into a readable page. The queue is chosen when the
//! frame arrives, and each RX queue holds at most `ethtool -G rx` frames the NAPI poll has
//! not taken yet: one more is dropped by the NIC (`rx_missed_errors`). Frames wait on the
//! RX ring for the NAPI poll, which interrupt moderation batches (the device's `rx-usecs`
//! and `rx-frames`, `ethtool -c` / `-C`: [`crate::net::ethtool::coalesce`]), and the poll
//! hands them to GRO ([`crate::net::core::gro`]).

use std::collections::VecDeque;
use std::net::IpAddr;

use uapi::ethtool::TcpDataSplit;

use crate::PAGE_SIZE;
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, NetDevice};
use crate::net::core::gro::GroList;
use crate::net::core::page_pool::RxPageRing;
use crate::net::core::skbuff::{Frag, IpSummed, NapiSkbCache, Skb};
use crate::net::ethtool::{FlowType, NtupleAction, NtupleRule};
use crate::time::{Duration, Instant, KernelEvent};

/// Driver RX counters (`ethtool -S` style).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NicRxStats {
    /// Page-pool allocation failures (`rx_alloc_fail`).
    pub alloc_fail: u64,
    /// Frames with a bad TCP checksum (`rx_csum_bad`).
    pub csum_bad: u64,
    /// Frames discarded by an ntuple rule (on arrival, before they take a descriptor).
    pub ntuple_discard: u64,
    /// Frames header-split into net_iovs.
    pub hds_split: u64,
    /// IOMMU faults while writing payload.
    pub dma_faults: u64,
}

/// The common default RSS key (Microsoft's verification key, used by many drivers).
pub const RSS_DEFAULT_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Toeplitz hash of `input` under `key`: for every set input bit (MSB first), XOR in the
/// 32 key bits starting at that bit's position. Each input byte reads one 64-bit big-endian
/// key window, so the eight bit positions are shifts of it (no per-bit key walk).
pub fn toeplitz(key: &[u8], input: &[u8]) -> u32 {
    let mut hash = 0u32;
    for (i, &byte) in input.iter().enumerate() {
        let mut w = [0u8; 8];
        if let Some(k) = key.get(i..) {
            let n = k.len().min(8);
            w[..n].copy_from_slice(&k[..n]);
        }
        let window = u64::from_be_bytes(w);
        for bit in 0..8 {
            if byte & (0x80 >> bit) != 0 {
                hash ^= (window >> (32 - bit)) as u32;
            }
        }
    }
    hash
}

/// What the NIC's parser extracts from a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Source address.
    pub saddr: IpAddr,
    /// Destination address.
    pub daddr: IpAddr,
    /// IP protocol.
    pub proto: u8,
    /// Ports (TCP/UDP).
    pub ports: Option<(u16, u16)>,
    /// Offset of the L4 header.
    pub l4: usize,
    /// L4 length per the IP header.
    pub l4_len: usize,
}

/// Parse Ethernet + IPv4/IPv6 + ports; `None` for anything else or truncated frames.
pub fn parse_flow(f: &[u8]) -> Option<Flow> {
    parse_rx_flow(f).map(|r| r.flow())
}

/// What [`rss_hash`] reads of a flow, as the header bytes: addresses (an IPv4 one in the
/// first 4 bytes, the rest zero) and ports. Compared as plain words, no `IpAddr` built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RssInput {
    saddr: [u8; 16],
    daddr: [u8; 16],
    ports: Option<(u16, u16)>,
    v6: bool,
}

/// [`Flow`] as the NIC's parser reads it off the header bytes ([`parse_rx_flow`]): the
/// per-frame form, which [`parse_flow`] turns into addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RxFlow {
    rss: RssInput,
    /// IP protocol ([`Flow::proto`]).
    proto: u8,
    /// Offset of the L4 header ([`Flow::l4`]).
    l4: usize,
    /// L4 length per the IP header ([`Flow::l4_len`]).
    l4_len: usize,
}

impl RxFlow {
    /// The same flow with its addresses as `IpAddr`s.
    fn flow(&self) -> Flow {
        let r = &self.rss;
        let addr = |a: &[u8; 16]| {
            if r.v6 {
                IpAddr::from(*a)
            } else {
                IpAddr::from([a[0], a[1], a[2], a[3]])
            }
        };
        Flow {
            saddr: addr(&r.saddr),
            daddr: addr(&r.daddr),
            proto: self.proto,
            ports: r.ports,
            l4: self.l4,
            l4_len: self.l4_len,
        }
    }
}

/// [`parse_flow`]'s parse, keeping the addresses as bytes.
#[inline]
fn parse_rx_flow(f: &[u8]) -> Option<RxFlow> {
    let et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
    // Filled in place (the input is not built apart and copied into the flow).
    let mut flow = RxFlow {
        rss: RssInput {
            saddr: [0; 16],
            daddr: [0; 16],
            ports: None,
            v6: false,
        },
        proto: 0,
        l4: 0,
        l4_len: 0,
    };
    let rss = &mut flow.rss;
    (flow.proto, flow.l4, flow.l4_len) = match et {
        0x86dd => {
            let h = f.get(14..54)?;
            rss.saddr.copy_from_slice(&h[8..24]);
            rss.daddr.copy_from_slice(&h[24..40]);
            rss.v6 = true;
            let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
            (h[6], 54, plen)
        }
        0x0800 => {
            let h = f.get(14..34)?;
            let ihl = usize::from(h[0] & 0xf) * 4;
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            rss.saddr[..4].copy_from_slice(&h[12..16]);
            rss.daddr[..4].copy_from_slice(&h[16..20]);
            (h[9], 14 + ihl, total.checked_sub(ihl)?)
        }
        _ => return None,
    };
    flow.rss.ports = match flow.proto {
        6 | 17 => {
            let p = f.get(flow.l4..flow.l4 + 4)?;
            Some((
                u16::from_be_bytes([p[0], p[1]]),
                u16::from_be_bytes([p[2], p[3]]),
            ))
        }
        _ => None,
    };
    Some(flow)
}

/// Per input byte position and value, the Toeplitz contribution under [`RSS_DEFAULT_KEY`]
/// (a NIC's hash unit does this per packet in hardware; the table keeps the emulator's
/// per-frame cost at one lookup per tuple byte). 36 positions cover an IPv6 4-tuple.
fn rss_default_table() -> &'static [[u32; 256]; 36] {
    static TABLE: std::sync::OnceLock<Box<[[u32; 256]; 36]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([[0u32; 256]; 36]);
        for (i, row) in t.iter_mut().enumerate() {
            // Linear in the bits: a byte's contribution is the XOR of its set bits' ones, so
            // each value extends the one without its lowest set bit. A lone set bit at byte
            // `i` reads only the key from byte `i` on (the zero bytes before it add nothing),
            // so it is hashed as a one-byte input under the key's tail.
            let mut bit = [0u32; 8];
            for (b, slot) in bit.iter_mut().enumerate() {
                *slot = toeplitz(&RSS_DEFAULT_KEY[i..], &[1 << b]);
            }
            for v in 1..256usize {
                row[v] = row[v & (v - 1)] ^ bit[v.trailing_zeros() as usize];
            }
        }
        t
    })
}

/// The Toeplitz hash of the RSS input (addresses, then ports), without assembling the input:
/// Toeplitz is linear in the input bits, so it is the XOR of each byte's contribution at its
/// position.
pub fn rss_hash(flow: &Flow) -> u32 {
    let t = rss_default_table();
    let mut h = 0;
    let mut pos = 0;
    let mut put = |bytes: &[u8]| {
        for (row, &b) in t[pos..].iter().zip(bytes) {
            h ^= row[usize::from(b)];
        }
        pos += bytes.len();
    };
    for a in [flow.saddr, flow.daddr] {
        match a {
            IpAddr::V4(v) => put(&v.octets()),
            IpAddr::V6(v) => put(&v.octets()),
        }
    }
    if let Some((s, d)) = flow.ports {
        put(&s.to_be_bytes());
        put(&d.to_be_bytes());
    }
    h
}

/// [`rss_hash`] of the flow whose RSS input is `r`, off its bytes.
fn rss_hash_input(r: &RssInput) -> u32 {
    let t = rss_default_table();
    let mut h = 0;
    let mut pos = 0;
    let mut put = |bytes: &[u8]| {
        for (row, &b) in t[pos..].iter().zip(bytes) {
            h ^= row[usize::from(b)];
        }
        pos += bytes.len();
    };
    let n = if r.v6 { 16 } else { 4 };
    put(&r.saddr[..n]);
    put(&r.daddr[..n]);
    if let Some((s, d)) = r.ports {
        put(&s.to_be_bytes());
        put(&d.to_be_bytes());
    }
    h
}

/// A flow's RSS hash and the TCP pseudo-header sum of its addresses (length 0), which the
/// RX checksum check completes with each frame's length.
type FlowSums = (u32, Option<u16>);

/// [`rss_hash`] of the flow with RSS input `input` and its pseudo-header address sum,
/// reusing `last` when it computed them for the same input (the input is all both read,
/// so an equal input gives equal sums).
#[inline(always)]
fn rss_hash_cached(input: &RssInput, last: &mut Option<(RssInput, FlowSums)>) -> FlowSums {
    match last {
        Some((i, sums)) if i == input => *sums,
        _ => rss_hash_miss(input, last),
    }
}

#[cold]
#[inline(never)]
fn rss_hash_miss(input: &RssInput, last: &mut Option<(RssInput, FlowSums)>) -> FlowSums {
    let f = RxFlow {
        rss: *input,
        proto: 6,
        l4: 0,
        l4_len: 0,
    }
    .flow();
    let ph = wire::checksum::pseudo_header(&f.saddr, &f.daddr, wire::IpProtocol::Tcp, 0).ok();
    let sums = (rss_hash_input(input), ph);
    *last = Some((*input, sums));
    sums
}

fn ntuple_match(r: &NtupleRule, f: &Flow) -> bool {
    let fam = matches!(
        (r.flow_type, f.daddr),
        (FlowType::Tcp4, IpAddr::V4(_)) | (FlowType::Tcp6, IpAddr::V6(_))
    );
    let (sp, dp) = f.ports.unwrap_or((0, 0));
    fam && f.proto == 6
        && r.src_ip.is_none_or(|a| a == f.saddr)
        && r.dst_ip.is_none_or(|a| a == f.daddr)
        && r.src_port.is_none_or(|p| p == sp)
        && r.dst_port.is_none_or(|p| p == dp)
}

/// Which RX queue `frame` lands on (`None`: discarded by an ntuple rule).
pub fn nic_select_queue(k: &Kernel, dev: DevId, frame: &[u8]) -> Option<u32> {
    let flow = parse_rx_flow(frame);
    let hash = flow.as_ref().map_or(0, |f| rss_hash_input(&f.rss));
    nic_select_queue_flow(k.device(dev), frame, flow.is_some(), hash)
}

/// [`nic_select_queue`] for `frame`, which [`parse_flow`] parses when `parsed` and whose
/// RSS hash is then `hash` ([`rss_hash`]). The ntuple rules match against the parsed
/// [`Flow`], made only when the device `d` has rules.
fn nic_select_queue_flow(d: &NetDevice, frame: &[u8], parsed: bool, hash: u32) -> Option<u32> {
    if !parsed {
        return Some(0);
    }
    if !d.ethtool.ntuple.is_empty()
        && let Some(action) = ntuple_action(&d.ethtool.ntuple, frame)
    {
        return match action {
            NtupleAction::Queue(q) => Some(q.min(d.real_num_rx_queues.saturating_sub(1))),
            NtupleAction::Discard => None,
        };
    }
    let table = &d.ethtool.rss_indir;
    if table.is_empty() {
        return Some(0);
    }
    let q = table[(hash as usize) % table.len()];
    Some(q.min(d.real_num_rx_queues.saturating_sub(1)))
}

/// The action of the first ntuple rule (in location order) that `frame` matches.
#[cold]
#[inline(never)]
fn ntuple_action(
    rules: &std::collections::BTreeMap<u32, NtupleRule>,
    frame: &[u8],
) -> Option<NtupleAction> {
    let f = parse_flow(frame)?;
    rules
        .values()
        .find(|r| ntuple_match(r, &f))
        .map(|r| r.action)
}

/// Where a TCP frame's segment is, as the NIC's parser found it ([`Flow`]): what RX
/// processing reads of the flow after steering.
#[derive(Debug, Clone, Copy)]
struct RxTcp {
    /// Offset of the TCP header ([`Flow::l4`]).
    l4: usize,
    /// TCP length per the IP header ([`Flow::l4_len`]).
    l4_len: usize,
    /// An IPv6 frame (the pseudo-header's layout).
    v6: bool,
}

impl RxTcp {
    /// The TCP part of `flow` (`None` when it is not TCP).
    fn of(flow: &RxFlow) -> Option<RxTcp> {
        (flow.proto == 6).then_some(RxTcp {
            l4: flow.l4,
            l4_len: flow.l4_len,
            v6: flow.rss.v6,
        })
    }
}

/// Whether the TCP checksum of the frame is right (`ph_addrs`: the pseudo-header sum of
/// its addresses, from [`rss_hash_cached`]).
fn tcp_csum_ok(frame: &[u8], f: &RxTcp, ph_addrs: Option<u16>) -> bool {
    let Some(seg) = frame.get(f.l4..f.l4 + f.l4_len) else {
        return false;
    };
    let Some(ph_addrs) = ph_addrs else {
        return false;
    };
    let mut acc = wire::checksum::Accumulator::new();
    wire::checksum::pseudo_header_add_len(&mut acc, ph_addrs, f.v6, seg.len() as u32);
    acc.add(seg);
    acc.sum() == 0xffff
}

/// Frames whose TCP payload is at most this many bytes stay linear (the drivers'
/// `rx_copybreak`: copying a small frame is cheaper than a page reference).
pub const RX_COPYBREAK: usize = 256;

/// The skb for a frame landing in an ordinary (host page) RX buffer. A TCP frame with more
/// than [`RX_COPYBREAK`] payload bytes has its headers copied into the linear head and
/// keeps the rest as one page fragment of the RX buffer itself (the frame's own buffer
/// plays the page the NIC DMA-wrote, so nothing copies the payload), and the stack hands
/// the payload to the socket by reference until recvmsg copies it out. Other frames are
/// linear.
///
/// Kernel: the drivers' `build_skb()` + `eth_get_headlen()` header pull (mlx5e
/// `mlx5e_skb_from_cqe_nonlinear()`, bnxt `bnxt_rx_page_skb()`).
#[inline]
fn nic_build_skb(
    cache: &mut NapiSkbCache,
    pages: &mut RxPageRing,
    frame: Vec<u8>,
    tcp: Option<&RxTcp>,
) -> Skb {
    let Some(hlen) = tcp.and_then(|f| rx_page_hlen(&frame, f)) else {
        return Skb::linear(frame);
    };
    nic_page_skb(cache, pages, frame, hlen)
}

/// Where [`nic_build_skb`] splits a TCP frame into head and page frag: after the TCP
/// header, when more than [`RX_COPYBREAK`] bytes follow (`None`: the frame stays linear).
#[inline]
fn rx_page_hlen(frame: &[u8], f: &RxTcp) -> Option<usize> {
    let doff = frame.get(f.l4 + 12).map_or(20, |b| usize::from(b >> 4) * 4);
    let hlen = (f.l4 + doff).min(frame.len());
    (frame.len() - hlen > RX_COPYBREAK).then_some(hlen)
}

/// [`nic_build_skb`]'s skb for a frame split at `hlen` ([`rx_page_hlen`]).
#[inline]
fn nic_page_skb(
    cache: &mut NapiSkbCache,
    pages: &mut RxPageRing,
    frame: Vec<u8>,
    hlen: usize,
) -> Skb {
    let len = frame.len() - hlen;
    // `napi_build_skb()`: the head comes from the NAPI skb cache, its frag array with room
    // for what GRO may append, so a held skb does not reallocate as it grows.
    let mut skb = cache.get(hlen);
    skb.head.extend_from_slice(&frame[..hlen]);
    // The RX buffer is a page-pool page (`skb_mark_for_recycle()`); a copied frame
    // (`napi_alloc_skb()` + memcpy) is not.
    skb.pp_recycle = true;
    skb.frags.push(Frag::Page {
        bytes: pages.page(frame),
        off: hlen,
        len,
    });
    skb
}

/// Kernel: `NAPI_POLL_WEIGHT`: frames one poll takes off the ring.
pub const NAPI_POLL_WEIGHT: usize = 64;

/// A frame the NIC wrote into a descriptor of RX queue `queue`, waiting for the poll.
#[derive(Debug)]
struct RxDesc {
    /// The RX queue steering chose on arrival.
    queue: u32,
    /// Where its TCP segment is, as the NIC's parser saw it (`None`: not TCP).
    tcp: Option<RxTcp>,
    /// Its RSS hash, computed once on arrival for steering and reported with the frame.
    hash: u32,
    /// The TCP pseudo-header sum of its addresses, computed with the hash (per flow).
    ph_addrs: Option<u16>,
    /// The frame.
    frame: Vec<u8>,
}

/// The NIC's RX completion ring and its NAPI instance (one for the device: the emulated
/// NIC raises one interrupt for all its queues), with the fill level of each RX queue's
/// descriptor ring.
#[derive(Debug, Default)]
pub struct NicNapi {
    /// Frames the NIC received and the driver has not polled yet, in arrival order.
    ring: VecDeque<RxDesc>,
    /// The frames one poll took off the ring, kept between polls so that taking them
    /// allocates nothing (the driver walks its completion ring in place). A poll that
    /// takes every waiting frame swaps this with `ring` instead of moving them one by one.
    taken: VecDeque<RxDesc>,
    /// Per RX queue: descriptors holding a frame the poll has not taken (index = queue).
    filled: Vec<u32>,
    /// Per RX queue: frames dropped for want of a free descriptor (index = queue).
    missed: Vec<u64>,
    /// When the moderated interrupt fires (`None`: not armed).
    sched_at: Option<Instant>,
    /// The last RSS input hashed and its hash: consecutive frames are mostly one flow's,
    /// and its hash is reused instead of recomputed (the emulator's shortcut; the NIC's
    /// hash unit hashes every frame).
    rss_last: Option<(RssInput, FlowSums)>,
    /// GRO state of the NAPI instance (boxed: the poll takes it out of the device and puts
    /// it back, which then moves a pointer, not the whole list).
    pub gro: Box<GroList>,
    /// What stands in for `gro` while a poll has it out: an empty list, never used
    /// (nothing in a poll reaches the NAPI instance's GRO state but through the poll's).
    gro_spare: Option<Box<GroList>>,
    /// Polls run.
    pub polls: u64,
}

impl NicNapi {
    /// Frames waiting for the poll.
    pub fn pending(&self) -> usize {
        self.ring.len()
    }

    /// Frames waiting for the poll on RX queue `q`.
    pub fn queue_pending(&self, q: u32) -> u32 {
        self.filled.get(q as usize).copied().unwrap_or(0)
    }

    /// Frames RX queue `q` dropped because its descriptor ring was full (bnxt's per-ring
    /// `rx_discard_pkts` in `ethtool -S`).
    pub fn queue_missed(&self, q: u32) -> u64 {
        self.missed.get(q as usize).copied().unwrap_or(0)
    }
}

impl Kernel {
    /// A frame arrives from the wire at NIC `dev`. Steering picks its RX queue (ntuple,
    /// then RSS: [`nic_select_queue`]; an ntuple discard drops it here, counted in
    /// `ntuple_discard`), and it takes one of that queue's `ethtool -G rx` descriptors until
    /// the NAPI poll processes it. With every descriptor of the queue filled the NIC drops
    /// the frame and counts it (`rx_missed_errors`, and per queue
    /// [`NicNapi::queue_missed`]): the host is too slow, other queues are unaffected.
    /// Otherwise the moderated interrupt schedules the NAPI poll `rx-usecs` after the first
    /// waiting frame, or at once when `rx-frames` frames wait ([`Kernel::nic_napi_poll`]).
    /// The values are the device's current coalescing parameters: `rx-usecs` 0 interrupts
    /// at once, `rx-frames` 0 leaves the timer alone to decide.
    ///
    /// Hardware: each RX queue is a ring of `rx` buffer descriptors the driver posts; the
    /// NIC drops a frame for which its queue has none posted (bnxt counts it in the ring's
    /// `rx_discard_pkts`, mlx5 in the queue counter's `rx_out_of_buffer`;
    /// `bnxt_get_stats64()` and `mlx5e_get_stats()` report them as `rx_missed_errors`).
    /// The emulated driver reposts a descriptor as soon as the poll takes its frame
    /// (`bnxt_rx_pkt()` reuses or refills the slot before the frame goes up), so a queue's
    /// free descriptors are `rx` minus the frames waiting for the poll. Steering runs once,
    /// here: the poll uses the queue carried with the frame.
    pub fn nic_receive(&mut self, dev: DevId, frame: Vec<u8>) {
        let d = self.dev(dev);
        // The wire-side tap, called only when a capture is open (it checks the same).
        if d.capture.is_some() {
            self.capture_wire(dev, &frame);
        }
        let now = self.clock();
        // One lookup of the device for the rest (it is there: `dev()` above found it).
        let d = self.dev_mut(dev);
        if !d.up || !d.present {
            d.stats.rx_dropped += 1;
            return;
        }
        if !matches!(d.kind, DeviceKind::Nic(_)) {
            return;
        }
        let flow = parse_rx_flow(&frame);
        let (hash, ph_addrs) = match (&flow, &mut d.kind) {
            (Some(f), DeviceKind::Nic(n)) => rss_hash_cached(&f.rss, &mut n.napi.rss_last),
            _ => (0, None),
        };
        let queue = nic_select_queue_flow(d, &frame, flow.is_some(), hash);
        let ring_size = d.ethtool.rings.rx;
        let (usecs, frames) = d
            .ethtool
            .coalesce
            .map_or((0, 0), |c| (c.rx_usecs, c.rx_max_frames));
        let DeviceKind::Nic(n) = &mut d.kind else {
            return;
        };
        let Some(queue) = queue else {
            n.rx_stats.ntuple_discard += 1;
            return;
        };
        let q = queue as usize;
        if n.napi.filled.len() <= q {
            n.napi.filled.resize(q + 1, 0);
            n.napi.missed.resize(q + 1, 0);
        }
        if n.napi.filled[q] >= ring_size {
            n.napi.missed[q] += 1;
            d.stats.rx_missed_errors += 1;
            return;
        }
        n.napi.filled[q] += 1;
        n.napi.ring.push_back(RxDesc {
            queue,
            tcp: flow.as_ref().and_then(RxTcp::of),
            hash,
            ph_addrs,
            frame,
        });
        let frames_due = frames != 0 && n.napi.ring.len() >= frames as usize;
        let at = if frames_due || usecs == 0 {
            now
        } else {
            now + Duration::from_micros(u64::from(usecs))
        };
        if n.napi.sched_at.is_none_or(|t| at < t) {
            self.nic_napi_schedule(dev, at);
        }
    }

    /// Arms the RX interrupt of NIC `dev` for `at` (superseding an armed later one).
    fn nic_napi_schedule(&mut self, dev: DevId, at: Instant) {
        if let Some(DeviceKind::Nic(n)) = self.devices.get_mut(&dev).map(|d| &mut d.kind) {
            n.napi.sched_at = Some(at);
            self.schedule(at, KernelEvent::NapiIrq { dev, at });
        }
    }

    /// The moderated RX interrupt armed for `at` fires (a stale one, superseded by an
    /// earlier interrupt, does nothing).
    pub(crate) fn nic_napi_irq(&mut self, dev: DevId, at: Instant) {
        let armed = match self.devices.get(&dev).map(|d| &d.kind) {
            Some(DeviceKind::Nic(n)) => n.napi.sched_at == Some(at),
            _ => false,
        };
        if armed {
            self.nic_napi_poll(dev);
        }
    }

    /// Kernel: the driver's NAPI poll (`bnxt_poll()`, `mlx5e_napi_poll()`, …): up to
    /// [`NAPI_POLL_WEIGHT`] frames from the ring through RX processing and
    /// `napi_gro_receive()`, then `napi_complete_done()` flushes GRO. Frames left over
    /// reschedule the poll at once.
    pub fn nic_napi_poll(&mut self, dev: DevId) {
        let Some(DeviceKind::Nic(n)) = self.devices.get_mut(&dev).map(|d| &mut d.kind) else {
            return;
        };
        n.napi.sched_at = None;
        n.napi.polls += 1;
        let mut descs = std::mem::take(&mut n.napi.taken);
        if n.napi.ring.len() <= NAPI_POLL_WEIGHT {
            // Every waiting frame: the ring and the (empty) taken list trade places.
            std::mem::swap(&mut descs, &mut n.napi.ring);
        } else {
            descs.extend(n.napi.ring.drain(..NAPI_POLL_WEIGHT));
        }
        for desc in &descs {
            // The descriptor is reposted as the poll takes the frame.
            n.napi.filled[desc.queue as usize] -= 1;
        }
        let spare = n.napi.gro_spare.take().unwrap_or_default();
        let mut gro = std::mem::replace(&mut n.napi.gro, spare);
        for desc in descs.drain(..) {
            self.nic_rx_frame(dev, &mut gro, desc);
        }
        self.napi_gro_flush(dev, &mut gro);
        if let Some(DeviceKind::Nic(n)) = self.devices.get_mut(&dev).map(|d| &mut d.kind) {
            n.napi.gro_spare = Some(std::mem::replace(&mut n.napi.gro, gro));
            n.napi.taken = descs;
            if !n.napi.ring.is_empty() && n.napi.sched_at.is_none() {
                self.nic_napi_schedule(dev, self.clock());
            }
        }
    }

    /// RX processing of one frame off the ring, on the queue chosen at arrival: checksum
    /// verification, header split or page buffer, then `napi_gro_receive()` (unless
    /// dropped). The skb goes to GRO from here, built in place rather than handed back; a
    /// verified TCP frame whose payload goes in a page frag goes to GRO as the frame, and
    /// its skb is built only if it does not merge ([`Kernel::napi_gro_receive_frame`]).
    fn nic_rx_frame(&mut self, dev: DevId, gro: &mut GroList, desc: RxDesc) {
        let d = self.dev(dev);
        if !d.up || !d.present {
            self.dev_mut(dev).stats.rx_dropped += 1;
            return;
        }
        let RxDesc {
            queue: q,
            tcp,
            hash,
            ph_addrs,
            frame,
        } = desc;
        let csum = match &tcp {
            Some(f) if tcp_csum_ok(&frame, f, ph_addrs) => IpSummed::Unnecessary,
            Some(_) => {
                if let DeviceKind::Nic(n) = &mut self.dev_mut(dev).kind {
                    n.rx_stats.csum_bad += 1;
                }
                IpSummed::None
            }
            None => IpSummed::None,
        };
        let d = self.dev(dev);
        let rxq = &d.rx_queues[q as usize];
        let devmem_pool = rxq
            .page_pool
            .filter(|_| rxq.mp.as_ref().and_then(|m| m.binding()).is_some());
        let rings = d.ethtool.rings;
        let len = frame.len() as u64;
        // `skb->len`: the whole frame, or with header split what was kept of it (`end`).
        let mut skb_len = frame.len();
        let mut skb = match (devmem_pool, tcp) {
            (Some(pp), Some(f)) if rings.tcp_data_split == TcpDataSplit::Enabled => {
                let doff = frame.get(f.l4 + 12).map_or(20, |b| usize::from(b >> 4) * 4);
                let hlen = (f.l4 + doff).min(frame.len());
                let end = (f.l4 + f.l4_len).min(frame.len()).max(hlen);
                let payload_len = end - hlen;
                if payload_len > rings.hds_thresh as usize {
                    let Some(skb) = self.nic_hds_split(dev, pp, &frame, hlen, end) else {
                        return;
                    };
                    skb_len = end;
                    skb
                } else {
                    let cache = &mut self.softnet.skb_cache;
                    nic_build_skb(cache, &mut gro.rx_pages, frame, tcp.as_ref())
                }
            }
            // A TCP frame whose payload goes in a page frag, its checksum verified: GRO
            // may merge it without the skb being built ([`Kernel::napi_gro_receive_frame`]).
            (_, Some(f)) if csum == IpSummed::Unnecessary => match rx_page_hlen(&frame, &f) {
                Some(hlen) => {
                    self.nic_rx_stats(dev, q, len);
                    let build = |cache: &mut NapiSkbCache, pages: &mut RxPageRing, frame| {
                        let mut skb = nic_page_skb(cache, pages, frame, hlen);
                        skb.ip_summed = csum;
                        skb.hash = hash;
                        skb.dev = Some(dev);
                        skb
                    };
                    self.napi_gro_receive_frame(dev, gro, frame, hlen, hash, build);
                    return;
                }
                None => Skb::linear(frame),
            },
            _ => nic_build_skb(
                &mut self.softnet.skb_cache,
                &mut gro.rx_pages,
                frame,
                tcp.as_ref(),
            ),
        };
        skb.ip_summed = csum;
        // The drivers report the NIC's RSS hash (`skb_set_hash()`, NETIF_F_RXHASH on).
        skb.hash = hash;
        self.nic_rx_stats(dev, q, len);
        skb.dev = Some(dev);
        self.napi_gro_receive(dev, gro, skb, skb_len);
    }

    /// Counts a received frame of `len` bytes on RX queue `q` of `dev`.
    #[inline]
    fn nic_rx_stats(&mut self, dev: DevId, q: u32, len: u64) {
        let d = self.dev_mut(dev);
        d.stats.rx_packets += 1;
        d.stats.rx_bytes += len;
        let qs = &mut d.rx_queues[q as usize].stats;
        qs.packets += 1;
        qs.bytes += len;
    }

    /// Header split: headers `[..hlen]` linear, payload `[hlen..end]` DMA-written into
    /// net_iovs from page pool `pp`. `None` when the pool runs dry or the IOMMU faults
    /// (frame dropped, counted, every niov taken so far returned).
    fn nic_hds_split(
        &mut self,
        dev: DevId,
        pp: crate::net::core::page_pool::PagePoolId,
        frame: &[u8],
        hlen: usize,
        end: usize,
    ) -> Option<Skb> {
        let iommu = self.dev(dev).dma_dev().map(|m| m.iommu().clone());
        let mut skb = self.softnet.skb_cache.get(hlen);
        skb.head.extend_from_slice(&frame[..hlen]);
        skb.pp_recycle = true;
        let mut failed = None;
        for chunk in frame[hlen..end].chunks(PAGE_SIZE) {
            let Some(niov) = self.page_pool_alloc_netmem(pp) else {
                failed = Some(false);
                break;
            };
            let ok = iommu
                .as_ref()
                .is_some_and(|m| m.dma_write(niov.dma_addr(), chunk).is_ok());
            skb.frags.push(Frag::NetIov {
                niov,
                off: 0,
                len: chunk.len(),
            });
            if !ok {
                failed = Some(true);
                break;
            }
        }
        let d = self.dev_mut(dev);
        let DeviceKind::Nic(n) = &mut d.kind else {
            return None;
        };
        match failed {
            None => {
                n.rx_stats.hds_split += 1;
                Some(skb)
            }
            Some(fault) => {
                if fault {
                    n.rx_stats.dma_faults += 1;
                } else {
                    n.rx_stats.alloc_fail += 1;
                }
                d.stats.rx_dropped += 1;
                self.kfree_skb(skb);
                None
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;

    /// Bit-at-a-time Toeplitz, straight from the definition.
    fn toeplitz_bitwise(key: &[u8], input: &[u8]) -> u32 {
        let key_bit = |i: usize| key.get(i / 8).map_or(0, |k| (k >> (7 - i % 8)) & 1);
        let mut hash = 0u32;
        for (i, &byte) in input.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    let start = i * 8 + bit;
                    hash ^= (0..32).fold(0u32, |w, j| (w << 1) | u32::from(key_bit(start + j)));
                }
            }
        }
        hash
    }

    /// IPv6 4-tuples (36 bytes) reach the key's last bits; compare with the definition.
    #[test]
    fn toeplitz_matches_definition_for_v6_tuples() {
        let mut x = 0x9e37_79b9u32;
        for _ in 0..200 {
            let input: Vec<u8> = (0..36)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(
                toeplitz(&RSS_DEFAULT_KEY, &input),
                toeplitz_bitwise(&RSS_DEFAULT_KEY, &input)
            );
        }
    }

    /// The table-driven RSS hash equals the plain Toeplitz hash of the same tuple.
    #[test]
    fn rss_hash_matches_toeplitz() {
        let f6 = Flow {
            saddr: "2001:db8:1::2".parse().unwrap(),
            daddr: "2001:db8:2::2:2".parse().unwrap(),
            proto: 6,
            ports: Some((5201, 40000)),
            l4: 54,
            l4_len: 20,
        };
        let f4 = Flow {
            saddr: "66.9.149.187".parse().unwrap(),
            daddr: "161.142.100.80".parse().unwrap(),
            ports: Some((2794, 1766)),
            ..f6
        };
        assert_eq!(rss_hash(&f4), 0x51cc_c178);
        let mut input = Vec::new();
        for a in [f6.saddr, f6.daddr] {
            if let IpAddr::V6(v) = a {
                input.extend_from_slice(&v.octets());
            }
        }
        input.extend_from_slice(&5201u16.to_be_bytes());
        input.extend_from_slice(&40000u16.to_be_bytes());
        assert_eq!(rss_hash(&f6), toeplitz_bitwise(&RSS_DEFAULT_KEY, &input));
        let no_ports = Flow { ports: None, ..f4 };
        assert_eq!(rss_hash(&no_ports), 0x323e_8fc2);
    }

    /// A frame with the given IP version header fields and ports (`proto` 6 = TCP).
    fn frame(v6: bool, s: &[u8], d: &[u8], proto: u8, sp: u16, dp: u16, extra: usize) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        if v6 {
            f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
            f.extend_from_slice(&((20 + extra) as u16).to_be_bytes());
            f.extend_from_slice(&[proto, 64]);
            f.extend_from_slice(&s[..16]);
            f.extend_from_slice(&d[..16]);
        } else {
            f.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
            f.extend_from_slice(&((40 + extra) as u16).to_be_bytes());
            f.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
            f.extend_from_slice(&s[..4]);
            f.extend_from_slice(&d[..4]);
        }
        f.extend_from_slice(&sp.to_be_bytes());
        f.extend_from_slice(&dp.to_be_bytes());
        f.resize(f.len() + 16 + extra, 0xab);
        f
    }

    /// The byte-level parse and its cached hash and pseudo-header sum agree with
    /// [`parse_flow`], [`rss_hash`] and `pseudo_header()` of the `IpAddr`s, frame after
    /// frame, for both families, TCP, UDP and other protocols, and truncated or foreign
    /// frames.
    #[test]
    fn rx_flow_parse_and_cached_hash_match_ipaddr_path() {
        let mut x = 0x9e37_79b9u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        let addrs: Vec<[u8; 16]> = (0..3)
            .map(|_| std::array::from_fn(|_| next() as u8))
            .collect();
        let mut last = None;
        for i in 0..600 {
            let r = next() as usize;
            let v6 = r & 1 != 0;
            let proto = [6, 6, 6, 17, 1][(r >> 1) % 5];
            let (s, d) = (&addrs[(r >> 4) % 3], &addrs[(r >> 6) % 3]);
            let ports = [(5201, 40000), (40000, 5201), (1, 2)][(r >> 8) % 3];
            let mut f = frame(v6, s, d, proto, ports.0, ports.1, r >> 10 & 63);
            match (r >> 16) % 16 {
                0 => f.truncate((r >> 20) % f.len()),
                1 => f[12] = 0x12,
                2 if !v6 => f[14] = 0x4f, // ihl 60: past the frame's ports
                3 if !v6 => f[16..18].copy_from_slice(&[0, 8]), // total below ihl
                _ => {}
            }
            let old = parse_flow_ipaddr(&f);
            let new = parse_rx_flow(&f);
            assert_eq!(new.map(|n| n.flow()), old, "frame {i}");
            let (Some(o), Some(n)) = (old, new) else {
                continue;
            };
            let ph = wire::checksum::pseudo_header(&o.saddr, &o.daddr, wire::IpProtocol::Tcp, 0);
            assert_eq!(rss_hash_input(&n.rss), rss_hash(&o), "frame {i}");
            assert_eq!(
                rss_hash_cached(&n.rss, &mut last),
                (rss_hash(&o), ph.ok()),
                "frame {i}"
            );
            assert_eq!(
                RxTcp::of(&n).map(|t| t.v6),
                (o.proto == 6).then_some(o.saddr.is_ipv6())
            );
        }
    }

    /// [`parse_flow`] as it was, building `IpAddr`s from the header directly.
    fn parse_flow_ipaddr(f: &[u8]) -> Option<Flow> {
        let et = u16::from_be_bytes([*f.get(12)?, *f.get(13)?]);
        let (saddr, daddr, proto, l4, l4_len) = match et {
            0x86dd => {
                let h = f.get(14..54)?;
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&h[8..24]);
                d.copy_from_slice(&h[24..40]);
                let plen = usize::from(u16::from_be_bytes([h[4], h[5]]));
                (IpAddr::from(s), IpAddr::from(d), h[6], 54, plen)
            }
            0x0800 => {
                let h = f.get(14..34)?;
                let ihl = usize::from(h[0] & 0xf) * 4;
                let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
                let s = [h[12], h[13], h[14], h[15]];
                let d = [h[16], h[17], h[18], h[19]];
                (
                    IpAddr::from(s),
                    IpAddr::from(d),
                    h[9],
                    14 + ihl,
                    total.checked_sub(ihl)?,
                )
            }
            _ => return None,
        };
        let ports = match proto {
            6 | 17 => {
                let p = f.get(l4..l4 + 4)?;
                Some((
                    u16::from_be_bytes([p[0], p[1]]),
                    u16::from_be_bytes([p[2], p[3]]),
                ))
            }
            _ => None,
        };
        Some(Flow {
            saddr,
            daddr,
            proto,
            ports,
            l4,
            l4_len,
        })
    }

    /// The Microsoft RSS verification suite's first IPv4 vector.
    #[test]
    fn toeplitz_matches_verification_vector() {
        let mut input = Vec::new();
        input.extend_from_slice(&[66, 9, 149, 187]); // src 66.9.149.187
        input.extend_from_slice(&[161, 142, 100, 80]); // dst 161.142.100.80
        assert_eq!(toeplitz(&RSS_DEFAULT_KEY, &input), 0x323e_8fc2);
        input.extend_from_slice(&2794u16.to_be_bytes());
        input.extend_from_slice(&1766u16.to_be_bytes());
        assert_eq!(toeplitz(&RSS_DEFAULT_KEY, &input), 0x51cc_c178);
    }
}
