//! The NIC's transmit DMA: gather through the IOMMU, TSO, checksum offload.
//!
//! Kernel: what a driver's `ndo_start_xmit` programs into descriptors and the hardware
//! then does (e.g. `bnxt_start_xmit()` with `TX_BD_FLAGS_LSO`): one header template,
//! payload split at `gso_size`, per segment the IP length/ID and TCP sequence number
//! rewritten, FIN/PSH kept on the last segment and CWR on the first, the TCP checksum
//! computed over the pseudo-header, the header and exactly the bytes the DMA engine read.
//! The engine reads page frags from host memory and net_iov frags by IOVA through the
//! NIC's IOMMU; a miss is an [`IommuFault`].

use crate::dma::{Iommu, IommuFault};
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
/// headers, then the frags) into `out`, and move `cur` past them.
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
    }
    Ok(())
}

/// Fill the TCP checksum of `frame` (headers per `h`), whose pseudo-header addresses sum
/// to `ph_addrs` (`None`: no addresses, the pseudo-header counts as 0).
fn tcp_csum(frame: &mut [u8], h: &Hdrs, ph_addrs: Option<u16>) {
    let tcp_len = frame.len() - h.l4;
    frame[h.l4 + 16] = 0;
    frame[h.l4 + 17] = 0;
    let mut acc = Accumulator::new();
    match ph_addrs {
        Some(p) => checksum::pseudo_header_add_len(&mut acc, p, h.v6, tcp_len as u32),
        None => acc.add_sum(0),
    }
    acc.add(&frame[h.l4..]);
    let c = acc.checksum();
    frame[h.l4 + 16..h.l4 + 18].copy_from_slice(&c.to_be_bytes());
}

/// Appends to `out` the frames the NIC puts on the wire for `skb` (the MAC pads short
/// ones, see [`Kernel::wire_xmit`](crate::Kernel)).
pub(crate) fn tso_segment(
    skb: &Skb,
    iommu: Option<&Iommu>,
    out: &mut Vec<Vec<u8>>,
) -> Result<(), IommuFault> {
    let total = skb.len();
    let hdrs = parse_hdrs(&skb.head);
    let Some(h) = hdrs else {
        // Not TCP: one frame, gathered as is.
        let mut f = Vec::with_capacity(total.max(60));
        gather(skb, &skb.head, &mut Cursor::default(), total, iommu, &mut f)?;
        out.push(f);
        return Ok(());
    };
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
    out.reserve(nseg);
    let lin = skb.head.get(h.end..).unwrap_or(&[]);
    let mut cur = Cursor::default();
    for i in 0..nseg {
        let off = i * seg;
        let n = seg.min(payload - off.min(payload));
        let mut f = crate::net::core::skbuff::frame_buf_alloc(h.end + n);
        f.extend_from_slice(&skb.head[..h.end]);
        gather(skb, lin, &mut cur, n, iommu, &mut f)?;
        if nseg > 1 {
            let l3_len = f.len() - h.l3;
            if h.v6 {
                f[h.l3 + 4..h.l3 + 6].copy_from_slice(&((l3_len - 40) as u16).to_be_bytes());
            } else {
                f[h.l3 + 2..h.l3 + 4].copy_from_slice(&(l3_len as u16).to_be_bytes());
                f[h.l3 + 4..h.l3 + 6].copy_from_slice(&id0.wrapping_add(i as u16).to_be_bytes());
            }
            let seq = seq0.wrapping_add(off as u32);
            f[h.l4 + 4..h.l4 + 8].copy_from_slice(&seq.to_be_bytes());
            let mut fl = flags0;
            if i + 1 < nseg {
                fl &= !(TcpFlags::FIN | TcpFlags::PSH).0; // only on the last segment
            }
            if i > 0 {
                fl &= !TcpFlags::CWR.0; // only on the first
            }
            f[h.l4 + 13] = fl;
            if !h.v6 {
                crate::net::ipv4::ip_output::ipv4_fill_checksum(&mut f[h.l3..]);
            }
        }
        if offload {
            tcp_csum(&mut f, &h, ph_addrs);
        }
        out.push(f);
    }
    Ok(())
}
