//! The IPv4 FIB of a namespace.
//!
//! Kernel: `net/ipv4/fib_trie.c` (longest prefix match), `net/ipv4/route.c`
//! (`ip_route_output_key()`; local destinations through lo; no route → ENETUNREACH).

use std::net::Ipv4Addr;

use uapi::errno::{EADDRNOTAVAIL, EEXIST, EINVAL, ENETUNREACH, ENODEV, ESRCH};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::ipv6::route::RouteProto;

/// One IPv4 route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fib4Entry {
    /// Network address.
    pub dst: Ipv4Addr,
    /// Prefix length.
    pub plen: u8,
    /// Output device.
    pub dev: DevId,
    /// Gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Metric (priority).
    pub metric: u32,
    /// Who installed it.
    pub proto: RouteProto,
}

/// The main table.
#[derive(Debug, Default, Clone)]
pub struct Fib4 {
    /// Entries in insertion order.
    pub entries: Vec<Fib4Entry>,
}

/// An output route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route4 {
    /// Output device.
    pub dev: DevId,
    /// Source address.
    pub saddr: Ipv4Addr,
    /// Next hop (gateway or destination).
    pub nexthop: Ipv4Addr,
}

/// `a/plen`'s network address.
pub fn ipv4_prefix(a: Ipv4Addr, plen: u8) -> Ipv4Addr {
    let mask = if plen == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(plen.min(32)))
    };
    Ipv4Addr::from(u32::from(a) & mask)
}

impl Kernel {
    /// `ip route add DST/PLEN [via GW] [dev DEV] [metric M]`.
    pub fn ip_route_add(
        &mut self,
        netns: NetNsId,
        dst: Ipv4Addr,
        plen: u8,
        gateway: Option<Ipv4Addr>,
        dev: Option<DevId>,
        metric: Option<u32>,
    ) -> KResult<()> {
        if plen > 32 {
            return Err(KernelError::new(EINVAL));
        }
        let dev = match (dev, gateway) {
            (Some(d), _) => d,
            (None, Some(gw)) => self
                .fib4_lookup(netns, gw, None)
                .filter(|e| e.gateway.is_none())
                .map(|e| e.dev)
                .ok_or(KernelError::msg(ENETUNREACH, "Nexthop has invalid gateway"))?,
            (None, None) => return Err(KernelError::new(ENODEV)),
        };
        let e = Fib4Entry {
            dst: ipv4_prefix(dst, plen),
            plen,
            dev,
            gateway,
            metric: metric.unwrap_or(0),
            proto: RouteProto::Boot,
        };
        let ns = self.netns.get_mut(&netns).ok_or(KernelError::new(ENODEV))?;
        if ns
            .fib4
            .entries
            .iter()
            .any(|o| o.dst == e.dst && o.plen == e.plen && o.metric == e.metric)
        {
            return Err(KernelError::new(EEXIST));
        }
        ns.fib4.entries.push(e);
        Ok(())
    }

    /// `ip route del DST/PLEN`.
    pub fn ip_route_del(&mut self, netns: NetNsId, dst: Ipv4Addr, plen: u8) -> KResult<()> {
        let ns = self.netns.get_mut(&netns).ok_or(KernelError::new(ENODEV))?;
        let dst = ipv4_prefix(dst, plen);
        let pos = ns
            .fib4
            .entries
            .iter()
            .position(|e| e.dst == dst && e.plen == plen)
            .ok_or(KernelError::new(ESRCH))?;
        ns.fib4.entries.remove(pos);
        Ok(())
    }

    /// Longest-prefix match over live entries.
    pub fn fib4_lookup(
        &self,
        netns: NetNsId,
        daddr: Ipv4Addr,
        oif: Option<DevId>,
    ) -> Option<Fib4Entry> {
        let ns = self.netns.get(&netns)?;
        let mut best: Option<Fib4Entry> = None;
        for e in &ns.fib4.entries {
            if oif.is_some_and(|o| o != e.dev)
                || !self
                    .try_device(e.dev)
                    .is_some_and(|d| d.up && d.netns == netns)
                || ipv4_prefix(daddr, e.plen) != e.dst
            {
                continue;
            }
            if best.is_none_or(|b| e.plen > b.plen || (e.plen == b.plen && e.metric < b.metric)) {
                best = Some(*e);
            }
        }
        best
    }

    /// Kernel: `ip_route_output_key()`.
    pub fn ip_route_output(
        &self,
        netns: NetNsId,
        daddr: Ipv4Addr,
        oif: Option<DevId>,
    ) -> KResult<Route4> {
        if self.inet_addr_local(netns, daddr).is_some() {
            let lo = self
                .netns_loopback(netns)
                .ok_or(KernelError::new(ENETUNREACH))?;
            return Ok(Route4 {
                dev: lo,
                saddr: daddr,
                nexthop: daddr,
            });
        }
        let e = self
            .fib4_lookup(netns, daddr, oif)
            .ok_or(KernelError::new(ENETUNREACH))?;
        let saddr = self
            .inet_select_addr(netns, e.dev, daddr)
            .ok_or(KernelError::new(EADDRNOTAVAIL))?;
        Ok(Route4 {
            dev: e.dev,
            saddr,
            nexthop: e.gateway.unwrap_or(daddr),
        })
    }
}

/// Kernel: `ip_route_output_key()` as the socket layer calls it.
pub fn ip_route_output(
    k: &Kernel,
    netns: NetNsId,
    daddr: Ipv4Addr,
    oif: Option<DevId>,
) -> KResult<Route4> {
    k.ip_route_output(netns, daddr, oif)
}
