//! The demo's rogue tc program: on nk_host's ingress, ahead of
//! `nk_primary_rx_redirect`, it sends every IPv6 TCP segment that carries payload to a
//! second NIC with `bpf_redirect_neigh(target_ifindex)`, and leaves everything else
//! (handshake, pure ACKs, ICMPv6) to the next program. A misconfigured or hostile host
//! program is exactly what TX validation is there for: the segments' payload lives in a
//! dma-buf mapped for eth0 only.
//!
//! It reads only the linear headers, as a tc program must: the payload is unreadable.

use std::cell::Cell;

use simkernel::net::sched::{TcAction, TcCtx, TcProgram};

const ETH_HLEN: usize = 14;
const IPV6_HLEN: usize = 40;
const ETH_P_IPV6: u16 = 0x86dd;
const IPPROTO_TCP: u8 = 6;

/// `misdirect.bpf.o`: payload-carrying TCP over IPv6 → `bpf_redirect_neigh(target)`.
#[derive(Debug, Default)]
pub struct Misdirect {
    /// `.bss` `target_ifindex`.
    pub target_ifindex: Cell<u32>,
}

/// TCP payload length of an Ethernet + IPv6 (no extension headers) + TCP frame, from
/// the headers alone: IPv6 payload length minus the TCP data offset. `None` for
/// anything else or a truncated head.
fn tcp_payload_len(d: &[u8]) -> Option<usize> {
    let eth = d.get(..ETH_HLEN)?;
    if u16::from_be_bytes([eth[12], eth[13]]) != ETH_P_IPV6 {
        return None;
    }
    let ip6 = d.get(ETH_HLEN..ETH_HLEN + IPV6_HLEN)?;
    if ip6[6] != IPPROTO_TCP {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([ip6[4], ip6[5]]));
    let doff = usize::from(*d.get(ETH_HLEN + IPV6_HLEN + 12)? >> 4) * 4;
    plen.checked_sub(doff)
}

impl TcProgram for Misdirect {
    fn name(&self) -> &str {
        "misdirect.bpf.o:[tc/ingress]"
    }

    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction {
        match tcp_payload_len(ctx.data()) {
            Some(n) if n > 0 => ctx.redirect_neigh(self.target_ifindex.get(), 0),
            _ => TcAction::Unspec,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(next: u8, plen: u16, doff_words: u8) -> Vec<u8> {
        let mut f = vec![0u8; ETH_HLEN + IPV6_HLEN + 20];
        f[12..14].copy_from_slice(&ETH_P_IPV6.to_be_bytes());
        f[ETH_HLEN + 4..ETH_HLEN + 6].copy_from_slice(&plen.to_be_bytes());
        f[ETH_HLEN + 6] = next;
        f[ETH_HLEN + IPV6_HLEN + 12] = doff_words << 4;
        f
    }

    #[test]
    fn payload_length_from_headers_only() {
        assert_eq!(tcp_payload_len(&frame(6, 32 + 6, 8)), Some(6));
        assert_eq!(tcp_payload_len(&frame(6, 32, 8)), Some(0));
        assert_eq!(tcp_payload_len(&frame(58, 32 + 6, 8)), None);
        // A data offset beyond the IPv6 payload is malformed, not payload.
        assert_eq!(tcp_payload_len(&frame(6, 20, 8)), None);
        let mut v4 = frame(6, 38, 8);
        v4[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert_eq!(tcp_payload_len(&v4), None);
        assert_eq!(tcp_payload_len(&frame(6, 38, 8)[..60]), None);
    }
}
