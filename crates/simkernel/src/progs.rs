//! Native implementations of the selftests' BPF programs, configured like their `.bss`.
//!
//! * [`NkForward`] — `tools/testing/selftests/drivers/net/hw/nk_forward.bpf.c`
//!   (selftests-spec §8): on the physical NIC's tc ingress, IPv6 whose destination's
//!   first 64 bits equal the container prefix → `bpf_redirect_peer(netkit_ifindex, 0)`.
//! * [`NkPrimaryRxRedirect`] — `nk_primary_rx_redirect.bpf.c` (selftests-spec §7): on the
//!   netkit primary's tc ingress, IPv6 that is not ICMPv6 →
//!   `bpf_redirect_neigh(phys_ifindex, NULL, 0, 0)`; everything else passes, so neighbour
//!   discovery and ping stay on the netkit link.
//!
//! The `.bss` values sit in `Cell`s so a harness can write them after attaching, the way
//! `bpftool map update` does, with the same byte layouts.

use std::cell::Cell;

use uapi::errno::EINVAL;

use crate::error::{KResult, KernelError};
use crate::net::sched::{TcAction, TcCtx, TcProgram};

const ETH_P_IPV6: u16 = 0x86dd;
const ETH_HLEN: usize = 14;
const IPV6_HLEN: usize = 40;

/// `nk_forward.bpf.c` (`tc_redirect_peer`).
#[derive(Debug, Default)]
pub struct NkForward {
    /// `.bss` `netkit_ifindex`.
    pub netkit_ifindex: Cell<u32>,
    /// `.bss` `ipv6_prefix`.
    pub ipv6_prefix: Cell<[u8; 16]>,
}

impl NkForward {
    /// A program with its `.bss` already set.
    pub fn new(netkit_ifindex: u32, ipv6_prefix: [u8; 16]) -> Self {
        NkForward {
            netkit_ifindex: Cell::new(netkit_ifindex),
            ipv6_prefix: Cell::new(ipv6_prefix),
        }
    }

    /// `bpftool map update ... value <20 bytes>`: the prefix, then the ifindex as 4
    /// little-endian bytes (what NetDrvContEnv writes).
    pub fn bss_update(&self, value: &[u8]) -> KResult<()> {
        let v: &[u8; 20] = value.try_into().map_err(|_| KernelError::new(EINVAL))?;
        let mut p = [0u8; 16];
        p.copy_from_slice(&v[..16]);
        self.ipv6_prefix.set(p);
        self.netkit_ifindex
            .set(u32::from_le_bytes([v[16], v[17], v[18], v[19]]));
        Ok(())
    }
}

impl TcProgram for NkForward {
    fn name(&self) -> &str {
        "nk_forward.bpf.o:[tc/ingress]"
    }

    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction {
        if ctx.protocol != ETH_P_IPV6 {
            return TcAction::Ok;
        }
        let Some(ip6) = ctx.data().get(ETH_HLEN..ETH_HLEN + IPV6_HLEN) else {
            return TcAction::Ok;
        };
        let prefix = self.ipv6_prefix.get();
        if ip6[24..32] == prefix[..8] {
            return ctx.redirect_peer(self.netkit_ifindex.get(), 0);
        }
        TcAction::Ok
    }
}

/// `nk_primary_rx_redirect.bpf.c`.
#[derive(Debug, Default)]
pub struct NkPrimaryRxRedirect {
    /// `.bss` `phys_ifindex`.
    pub phys_ifindex: Cell<u32>,
}

impl NkPrimaryRxRedirect {
    /// A program with its `.bss` set.
    pub fn new(phys_ifindex: u32) -> Self {
        NkPrimaryRxRedirect {
            phys_ifindex: Cell::new(phys_ifindex),
        }
    }

    /// `bpftool map update ... value <4 bytes, host order>` (x86: little-endian).
    pub fn bss_update(&self, value: &[u8]) -> KResult<()> {
        let v: [u8; 4] = value.try_into().map_err(|_| KernelError::new(EINVAL))?;
        self.phys_ifindex.set(u32::from_ne_bytes(v));
        Ok(())
    }
}

impl TcProgram for NkPrimaryRxRedirect {
    fn name(&self) -> &str {
        "nk_primary_rx_redirect.bpf.o:[tc/ingress]"
    }

    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction {
        let d = ctx.data();
        let Some(eth) = d.get(..ETH_HLEN) else {
            return TcAction::Ok;
        };
        if u16::from_be_bytes([eth[12], eth[13]]) != ETH_P_IPV6 {
            return TcAction::Ok;
        }
        let Some(ip6) = d.get(ETH_HLEN..ETH_HLEN + IPV6_HLEN) else {
            return TcAction::Ok;
        };
        if ip6[6] == 58 {
            return TcAction::Ok;
        }
        ctx.redirect_neigh(self.phys_ifindex.get(), 0)
    }
}
