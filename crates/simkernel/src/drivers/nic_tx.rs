//! The NIC's transmit DMA: gather through the IOMMU, TSO, checksum offload.
//!
//! Kernel: what a driver's `ndo_start_xmit` programs into descriptors and the hardware
//! then does (e.g. `bnxt_start_xmit()` with `TX_BD_FLAGS_LSO`): one header template,
//! payload split at `gso_size`, per segment the IP length/ID and TCP sequence number
//! rewritten, FIN/PSH kept on the last segment and CWR on the first, the TCP checksum
//! computed over the pseudo-header, the header and exactly the bytes the DMA engine read.
//! The engine reads page frags from host memory and net_iov frags by IOVA through the
//! NIC's IOMMU; a miss is an [`IommuFault`].

use crate::dma::{Iommu, IommuFault, Iova};
use crate::net::core::skbuff::{Frag, IpSummed, Skb};
use wire::checksum::{self, Accumulator};
use wire::{IpProtocol, TcpFlags};

/// Where the headers of a TCP/IP frame end.
#[derive(Debug, Clone, Copy)]
struct Hdrs {
    v6: bool,
    l3: usize,
    l4: usize,
    end: usize,
}

fn parse_hdrs(h: &[u8]) -> Option<Hdrs> {
    let et = u16::from_be_bytes([*h.get(12)?, *h.get(13)?]);
    let (v6, l4) = match et {
        0x86dd => (true, 14 + 40),
        0x0800 => (false, 14 + usize::from(h.get(14)? & 0x0f) * 4),
        _ => return None,
    };
    let proto = if v6 { *h.get(14 + 6)? } else { *h.get(14 + 9)? };
    if proto != 6 {
        return None;
    }
    let doff = usize::from(h.get(l4 + 12)? >> 4) * 4;
    if doff < 20 || h.len() < l4 + doff {
        return None;
    }
    Some(Hdrs {
        v6,
        l3: 14,
        l4,
        end: l4 + doff,
    })
}

/// Where a gather stands in an skb's payload: `off` bytes into the linear part after the
/// headers (`piece` 0) or into frag `piece - 1`. A DMA engine walks the descriptors in order,
/// so each TSO segment starts where the previous one stopped, not from the first frag again.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    piece: usize,
    off: usize,
}

/// Gather the next `len` payload bytes at `cur` (in `lin`, the linear part after the
/// headers, then the frags) into `out`, and move `cur` past them: page frags from host
/// memory, net_iov frags by IOVA through the IOMMU, each on its own.
fn gather(
    skb: &Skb,
    lin: &[u8],
    cur: &mut Cursor,
    mut len: usize,
    iommu: Option<&Iommu>,
    out: &mut Vec<u8>,
) -> Result<(), IommuFault> {
    if cur.piece == 0 {
        if cur.off < lin.len() {
            let n = len.min(lin.len() - cur.off);
            out.extend_from_slice(&lin[cur.off..cur.off + n]);
            len -= n;
            cur.off += n;
        }
        if cur.off < lin.len() {
            return Ok(());
        }
        *cur = Cursor { piece: 1, off: 0 };
    }
    while len > 0 {
        let Some(f) = skb.frags.get(cur.piece - 1) else {
            break;
        };
        let flen = f.len();
        if cur.off >= flen {
            *cur = Cursor {
                piece: cur.piece + 1,
                off: 0,
            };
            continue;
        }
        let off = cur.off;
        let n = len.min(flen - off);
        match f {
            Frag::Page { bytes, off: po, .. } => match bytes.get(po + off..po + off + n) {
                Some(b) => out.extend_from_slice(b),
                None => panic!("page frag out of bounds"),
            },
            Frag::NetIov { niov, off: no, .. } => {
                let iova = niov.dma_addr() + (no + off) as u64;
                match iommu {
                    Some(mmu) => mmu.dma_read_append(iova, n, out)?,
                    None => {
                        return Err(IommuFault {
                            iova,
                            len: n,
                            write: false,
                        });
                    }
                }
            }
        }
        len -= n;
        cur.off += n;
        if cur.off == flen {
            // Past this frag: the next gather starts at the next one without a lap here.
            *cur = Cursor {
                piece: cur.piece + 1,
                off: 0,
            };
        }
    }
    Ok(())
}

/// The frags' total length and, with `extent`, the IOVA of the first payload byte and how
/// many payload bytes from it lie back to back in IOVA space in net_iov frags (as a devmem
/// sendmsg's usually all do); `(0, 0)` for those when the payload starts in the linear part
/// (`lin_empty` false) or a page frag, or without `extent`. One walk for both, each
/// niov's IOVA found with its area's lookup shared ([`NetIov::dma_addr_cached`]).
///
/// [`NetIov::dma_addr_cached`]: crate::net::core::netmem::NetIov::dma_addr_cached
fn frags_extent(skb: &Skb, lin_empty: bool, extent: bool) -> (usize, Iova, usize) {
    let frags = &skb.frags[..];
    let mut total = 0usize;
    let mut start: Iova = 0;
    let mut i = 0;
    if extent && lin_empty {
        let mut area = None;
        // Where the extent's next byte must lie (`None` past the end of IOVA space: no
        // frag follows on).
        let mut next: Option<Iova> = None;
        // The extent runs while the frags are net_iovs, each where the one before ended;
        // `total` is its length until it stops.
        while let Some(Frag::NetIov { niov, off, len }) = frags.get(i) {
            let iova = niov.dma_addr_cached(&mut area) + *off as u64;
            if i == 0 {
                start = iova;
            } else if next != Some(iova) {
                break;
            }
            next = iova.checked_add(*len as u64);
            total += len;
            i += 1;
        }
    }
    let ext_len = total;
    for f in &frags[i..] {
        total += f.len();
    }
    (total, start, ext_len)
}

/// The gather cursor `off` bytes into the payload (`lin`, then the frags).
fn cursor_at(skb: &Skb, lin: &[u8], mut off: usize) -> Cursor {
    if off < lin.len() {
        return Cursor { piece: 0, off };
    }
    off -= lin.len();
    for (i, f) in skb.frags.iter().enumerate() {
        if off < f.len() {
            return Cursor { piece: i + 1, off };
        }
        off -= f.len();
    }
    Cursor {
        piece: skb.frags.len() + 1,
        off: 0,
    }
}

/// Fill the TCP checksum of `frame` (headers per `h`), whose pseudo-header addresses sum
/// to `ph_addrs` (`None`: no addresses, the pseudo-header counts as 0).
fn tcp_csum(frame: &mut [u8], h: &Hdrs, ph_addrs: Option<u16>) {
    let tcp_len = frame.len() - h.l4;
    let tcp = &mut frame[h.l4..];
    tcp[16..18].fill(0);
    let mut acc = Accumulator::new();
    match ph_addrs {
        Some(p) => checksum::pseudo_header_add_len(&mut acc, p, h.v6, tcp_len as u32),
        None => acc.add_sum(0),
    }
    acc.add(tcp);
    let c = acc.checksum();
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
}

/// Appends to `out` the frames the NIC puts on the wire for `skb` (the MAC pads short
/// ones, see [`Kernel::wire_xmit`](crate::Kernel)).
pub(crate) fn tso_segment(
    skb: &Skb,
    iommu: Option<&Iommu>,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), IommuFault> {
    tso_segment_with(skb, iommu, true, out)
}

/// [`tso_segment`], with the payload's leading IOVA extent read through one translation
/// (`window`) or every segment gathered frag by frag (the reference the tests compare
/// against; the bytes, sums and faults are the same).
fn tso_segment_with(
    skb: &Skb,
    iommu: Option<&Iommu>,
    window: bool,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), IommuFault> {
    let hdrs = parse_hdrs(&skb.head);
    let Some(h) = hdrs else {
        // Not TCP: one frame, gathered as is (no checksum to fill).
        let total = skb.len();
        let mut f = Vec::with_capacity(total.max(60));
        gather(skb, &skb.head, &mut Cursor::default(), total, iommu, &mut f)?;
        out.push(f);
        return Ok(());
    };
    let lin = skb.head.get(h.end..).unwrap_or(&[]);
    // A segment inside the payload's leading IOVA extent is read with no frag walk, through
    // one translation of the whole extent; the cursor is only needed (and then found) for
    // the others.
    let (frags_len, ext_iova, ext_len) =
        frags_extent(skb, lin.is_empty(), window && iommu.is_some());
    let total = skb.head.len() + frags_len;
    let payload = total - h.end;
    let mss = usize::from(skb.gso_size);
    let seg = if mss > 0 && payload > mss {
        mss
    } else {
        payload.max(1)
    };
    let nseg = payload.div_ceil(seg).max(1);
    let seq0 = u32::from_be_bytes([
        skb.head[h.l4 + 4],
        skb.head[h.l4 + 5],
        skb.head[h.l4 + 6],
        skb.head[h.l4 + 7],
    ]);
    let flags0 = skb.head[h.l4 + 13];
    let id0 = u16::from_be_bytes([skb.head[h.l3 + 4], skb.head[h.l3 + 5]]);
    let offload = skb.ip_summed == IpSummed::Partial || nseg > 1;
    // Every segment has the skb's addresses: their pseudo-header sum is taken once.
    // parse_hdrs() read a whole IPv4 or IPv6 header, so they are there.
    let ph_addrs = offload
        .then(|| checksum::pseudo_header_of(&skb.head[h.l3..], h.v6, IpProtocol::Tcp, 0).ok())
        .flatten();
    // The frames' buffers, taken at once: the first frame is the longest.
    let base = out.len();
    crate::net::core::skbuff::frame_bufs_alloc(h.end + seg.min(payload), nseg, out);
    // None when no one mapping covers the extent: its segments are then gathered frag by
    // frag like the rest, so a fault is the one the first faulting frag's read reports.
    let window = match iommu {
        Some(mmu) if ext_len > 0 => mmu.dma_read_window(ext_iova, ext_len),
        _ => None,
    };
    let mut cur = Some(Cursor::default());
    let hdr = &skb.head[..h.end];
    for i in 0..nseg {
        let off = i * seg;
        let n = seg.min(payload - off.min(payload));
        let f = &mut out[base + i];
        f.extend_from_slice(hdr);
        match &window {
            Some(w) if n > 0 && off + n <= ext_len => {
                w.read_append(off, n, f);
                cur = None;
            }
            _ => {
                let c = cur.get_or_insert_with(|| cursor_at(skb, lin, off));
                if let Err(fault) = gather(skb, lin, c, n, iommu, f) {
                    // The frames gathered so far stay, as when each was pushed once done.
                    out.truncate(base + i);
                    return Err(fault);
                }
            }
        }
        if nseg > 1 {
            let l3_len = f.len() - h.l3;
            // parse_hdrs() saw a whole IP header at l3 and a 20-byte TCP header at l4: the
            // fields rewritten are read through fixed-size views, one bounds check each.
            let Some(ip) = f[h.l3..].first_chunk_mut::<6>() else {
                unreachable!("parse_hdrs() saw the IP header")
            };
            if h.v6 {
                ip[4..6].copy_from_slice(&((l3_len - 40) as u16).to_be_bytes());
            } else {
                ip[2..4].copy_from_slice(&(l3_len as u16).to_be_bytes());
                ip[4..6].copy_from_slice(&id0.wrapping_add(i as u16).to_be_bytes());
            }
            let Some(tcp) = f[h.l4..].first_chunk_mut::<14>() else {
                unreachable!("parse_hdrs() saw the TCP header")
            };
            let seq = seq0.wrapping_add(off as u32);
            tcp[4..8].copy_from_slice(&seq.to_be_bytes());
            let mut fl = flags0;
            if i + 1 < nseg {
                fl &= !(TcpFlags::FIN | TcpFlags::PSH).0; // only on the last segment
            }
            if i > 0 {
                fl &= !TcpFlags::CWR.0; // only on the first
            }
            tcp[13] = fl;
            if !h.v6 {
                crate::net::ipv4::ip_output::ipv4_fill_checksum(&mut f[h.l3..]);
            }
        }
        if offload {
            tcp_csum(f, &h, ph_addrs);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::PAGE_SIZE;
    use crate::dma::DmaDirection;
    use crate::kernel::{Kernel, KernelConfig, NlSockId};
    use crate::net::core::dev::DmaDev;
    use crate::net::core::devmem::DevmemBinding;
    use crate::net::core::skbuff::{GsoType, Page};
    use crate::process::Cred;

    /// A TX binding of a `pages`-page dmabuf (exported in `sg_chunk`-byte entries, each its
    /// own IOMMU mapping; 0: one) filled with a pattern, and the IOMMU it is mapped in.
    fn tx_binding(pages: usize, sg_chunk: usize) -> (Kernel, Rc<DevmemBinding>, Iommu, Vec<u8>) {
        let mut k = Kernel::new(KernelConfig::default());
        let pid = k.process_spawn(k.init_net(), Cred::default());
        let buf = k.dmabuf_create(pages * PAGE_SIZE, sg_chunk).unwrap();
        let pattern: Vec<u8> = (0..pages * PAGE_SIZE)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        buf.memory().write_at(0, &pattern).unwrap();
        let fd = k.process_install_dmabuf(pid, buf).unwrap();
        let lo = k.dev_get_by_name(k.init_net(), "lo").unwrap();
        let dma = DmaDev::new("0000:01:00.0");
        let mmu = dma.iommu().clone();
        let b = k
            .net_devmem_bind_dmabuf(
                lo,
                None,
                Some(dma),
                DmaDirection::ToDevice,
                pid,
                fd,
                NlSockId(1),
            )
            .unwrap();
        (k, b, mmu, pattern)
    }

    /// A TCP/IPv6 GSO skb over `frags` (Ethernet, IPv6 and a 20-byte TCP header).
    fn gso_skb(frags: Vec<Frag>, gso_size: u16) -> Skb {
        let mut head = vec![0u8; 14 + 40 + 20];
        head[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        head[14] = 0x60;
        head[14 + 6] = 6;
        head[14 + 7] = 64;
        head[14 + 8 + 15] = 1;
        head[14 + 24 + 15] = 2;
        head[54 + 4..54 + 8].copy_from_slice(&1000u32.to_be_bytes());
        head[54 + 12] = 5 << 4;
        head[54 + 13] = (TcpFlags::PSH | TcpFlags::ACK).0;
        Skb {
            head,
            frags,
            ip_summed: IpSummed::Partial,
            csum_start: 54,
            csum_offset: 16,
            gso_size,
            gso_type: GsoType::TcpV6,
            ..Skb::default()
        }
    }

    /// net_iov frags of `b` for the dmabuf ranges `(offset, len)`.
    fn niov_frags(b: &Rc<DevmemBinding>, ranges: &[(usize, usize)]) -> Vec<Frag> {
        ranges
            .iter()
            .map(|&(at, len)| {
                let (niov, off, _) = b.net_devmem_get_niov_at(at).unwrap();
                Frag::NetIov { niov, off, len }
            })
            .collect()
    }

    /// Segments `skb` frag by frag and through the extent window: the frames, or the
    /// fault, and the faults the IOMMU counts must be the same, and every frame's TCP
    /// checksum must verify.
    fn segment_both_ways(skb: &Skb, mmu: Option<&Iommu>) -> Result<Vec<Vec<u8>>, IommuFault> {
        let faults = || mmu.map_or(0, Iommu::faults);
        let f0 = faults();
        let mut slow = Vec::new();
        let rs = tso_segment_with(skb, mmu, false, &mut slow);
        let f1 = faults();
        let mut fast = Vec::new();
        let rf = tso_segment_with(skb, mmu, true, &mut fast);
        assert_eq!(rf, rs);
        assert_eq!(faults() - f1, f1 - f0, "faults counted");
        if rf.is_ok() {
            assert_eq!(fast, slow);
            for f in &fast {
                let tcp = &f[54..];
                let ph =
                    checksum::pseudo_header_of(&f[14..], true, IpProtocol::Tcp, tcp.len() as u32)
                        .unwrap();
                assert_eq!(
                    checksum::combine(&[ph, checksum::data(tcp)]),
                    0xffff,
                    "checksum"
                );
            }
        }
        rf.map(|()| fast)
    }

    fn payload(frames: &[Vec<u8>]) -> Vec<u8> {
        frames.iter().flat_map(|f| f[74..].to_vec()).collect()
    }

    /// The extent window reads what the frags read one by one would: with page frags that
    /// end the extent, across segment boundaries inside a frag, and across the dmabuf's
    /// mappings (one mapping, or one per page with guard pages between, where no window
    /// exists).
    #[test]
    fn window_and_frag_gathers_read_the_same_bytes() {
        for sg_chunk in [0, PAGE_SIZE] {
            let (_k, b, mmu, pattern) = tx_binding(8, sg_chunk);
            let ranges = [
                (100, PAGE_SIZE - 100),
                (PAGE_SIZE, PAGE_SIZE),
                (2 * PAGE_SIZE, 700),
                (5 * PAGE_SIZE + 8, 900),
                (5 * PAGE_SIZE + 908, PAGE_SIZE - 908),
                (6 * PAGE_SIZE, PAGE_SIZE),
            ];
            let mut frags = niov_frags(&b, &ranges[..3]);
            let page = Page::new_buf((0..3000).map(|i| (i % 7) as u8).collect());
            frags.push(Frag::Page {
                bytes: page.clone(),
                off: 0,
                len: 3000,
            });
            frags.extend(niov_frags(&b, &ranges[3..]));
            let mut want = Vec::new();
            for &(at, len) in &ranges[..3] {
                want.extend_from_slice(&pattern[at..at + len]);
            }
            want.extend_from_slice(&page);
            for &(at, len) in &ranges[3..] {
                want.extend_from_slice(&pattern[at..at + len]);
            }
            for gso in [1448, 8928, 0] {
                let frames = segment_both_ways(&gso_skb(frags.clone(), gso), Some(&mmu)).unwrap();
                assert_eq!(
                    payload(&frames),
                    want,
                    "sg_chunk {sg_chunk}, gso_size {gso}"
                );
            }
            assert_eq!(mmu.faults(), 0);
        }
    }

    /// frags_extent()'s extent, found frag by frag with dma_addr(): it runs from the first
    /// frag while the frags are net_iovs back to back in IOVA space.
    fn extent_by_frags(skb: &Skb) -> (usize, Iova, usize) {
        let total = skb.frags.iter().map(Frag::len).sum();
        let mut start = None;
        let mut len = 0usize;
        for f in &skb.frags {
            let Frag::NetIov {
                niov,
                off,
                len: flen,
            } = f
            else {
                break;
            };
            let iova = niov.dma_addr() + *off as u64;
            match start {
                None => start = Some(iova),
                Some(s) if s + len as u64 == iova => {}
                Some(_) => break,
            }
            len += flen;
        }
        (total, start.unwrap_or(0), len)
    }

    /// The extent is the frag-by-frag one: contiguous frags, a gap in the middle, a page
    /// frag first, in the middle or none; and none asked for.
    #[test]
    fn frags_extent_is_the_frag_by_frag_extent() {
        for sg_chunk in [0, PAGE_SIZE] {
            let (_k, b, _, _) = tx_binding(8, sg_chunk);
            let page = Frag::Page {
                bytes: Page::new_buf(vec![0u8; 500]),
                off: 0,
                len: 500,
            };
            let ranges = [
                (100, PAGE_SIZE - 100),
                (PAGE_SIZE, PAGE_SIZE),
                (2 * PAGE_SIZE, 700),
                (5 * PAGE_SIZE + 8, 900),
                (5 * PAGE_SIZE + 908, 1000),
            ];
            let all = niov_frags(&b, &ranges);
            let mut cases = vec![all.clone(), all[..3].to_vec(), all[3..].to_vec(), vec![]];
            let mut page_first = vec![page.clone()];
            page_first.extend(all.clone());
            cases.push(page_first);
            let mut page_mid = all[..2].to_vec();
            page_mid.push(page);
            page_mid.extend(all[2..].to_vec());
            cases.push(page_mid);
            for frags in cases {
                let skb = gso_skb(frags, 1448);
                let want = extent_by_frags(&skb);
                assert_eq!(frags_extent(&skb, true, true), want);
                assert_eq!(frags_extent(&skb, false, true), (want.0, 0, 0));
                assert_eq!(frags_extent(&skb, true, false), (want.0, 0, 0));
            }
        }
    }

    /// The area kept by dma_addr_cached() answers what dma_addr() does: for niovs of one
    /// binding in and out of order across its areas (one, one per page, three pages each),
    /// and across two bindings sharing the kept area.
    #[test]
    fn cached_dma_addrs_are_the_niovs_dma_addrs() {
        for sg_chunk in [0, PAGE_SIZE, 3 * PAGE_SIZE] {
            let (_k, a, _, _) = tx_binding(8, sg_chunk);
            let (_k2, b, _, _) = tx_binding(8, sg_chunk);
            let mut area = None;
            for (i, at) in [0, 1, 2, 3, 7, 6, 2, 4, 5, 0, 3, 3].into_iter().enumerate() {
                let bind = if i % 5 == 4 { &b } else { &a };
                let (niov, _, _) = bind.net_devmem_get_niov_at(at * PAGE_SIZE).unwrap();
                assert_eq!(
                    niov.dma_addr_cached(&mut area),
                    niov.dma_addr(),
                    "sg_chunk {sg_chunk}, niov {at}"
                );
            }
        }
    }

    /// An extent that does not translate as a whole faults where its first faulting frag
    /// does, counted once: a frag running past the end of the mapping, a device whose
    /// IOMMU maps nothing of the dmabuf, no IOMMU at all.
    #[test]
    fn a_faulting_extent_reports_its_first_faulting_frag() {
        let (_k, b, mmu, _) = tx_binding(2, 0);
        let frags = niov_frags(&b, &[(0, PAGE_SIZE), (PAGE_SIZE, PAGE_SIZE + 100)]);
        let second = match &frags[1] {
            Frag::NetIov { niov, .. } => niov.dma_addr(),
            Frag::Page { .. } => unreachable!(),
        };
        let skb = gso_skb(frags.clone(), 0);
        let fault = IommuFault {
            iova: second,
            len: PAGE_SIZE + 100,
            write: false,
        };
        assert_eq!(segment_both_ways(&skb, Some(&mmu)), Err(fault));
        assert_eq!(mmu.faults(), 2);
        // In 1448-byte segments: the first five read inside the mapping, the last one
        // crosses its end and faults on its part of the second frag.
        let r = segment_both_ways(&gso_skb(frags, 1448), Some(&mmu));
        let at = 5 * 1448;
        let fault = IommuFault {
            iova: second + (at - PAGE_SIZE) as u64,
            len: 2 * PAGE_SIZE + 100 - at,
            write: false,
        };
        assert_eq!(r, Err(fault));
        assert_eq!(mmu.faults(), 4);
        let other = Iommu::new("0000:02:00.0");
        let first = IommuFault {
            iova: second - PAGE_SIZE as u64,
            len: PAGE_SIZE,
            write: false,
        };
        assert_eq!(segment_both_ways(&skb, Some(&other)), Err(first));
        assert_eq!(other.faults(), 2);
        assert_eq!(segment_both_ways(&skb, None), Err(first));
    }
}
