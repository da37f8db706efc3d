//! The IPv6 FIB of a namespace and output route lookups.
//!
//! Kernel: `net/ipv6/route.c` (`ip6_route_add()`, `ip6_route_output()`,
//! `ip6_pol_route()`), `net/ipv6/ip6_fib.c` (longest-prefix match). One main table per
//! namespace; local addresses resolve first (the local table) to a route through `lo`.
//! Entries whose device is down or gone are skipped (`RTNH_F_DEAD`/`LINKDOWN` in spirit).
//! No route: `ENETUNREACH`, as `ip6_null_entry` gives.

use std::cell::Cell;
use std::net::Ipv6Addr;

use uapi::errno::{EEXIST, EINVAL, ENETUNREACH, ENODEV, ESRCH};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::ipv6::addrconf::ipv6_prefix;

/// [`ipv6_prefix`] on the address as an integer.
fn prefix6(a: u128, plen: u8) -> u128 {
    if plen == 0 {
        0
    } else {
        a & (u128::MAX << (128 - u32::from(plen.min(128))))
    }
}

/// Kernel: `rtm_protocol` values we distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteProto {
    /// `RTPROT_KERNEL`: installed by addrconf for an address prefix.
    Kernel,
    /// `RTPROT_BOOT`: `ip route add`.
    Boot,
}

/// One route (kernel: `struct fib6_info` with one nexthop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fib6Entry {
    /// Destination prefix (network address).
    pub dst: Ipv6Addr,
    /// Prefix length.
    pub plen: u8,
    /// Output device.
    pub dev: DevId,
    /// Gateway (`via`), if any.
    pub gateway: Option<Ipv6Addr>,
    /// Metric (lower wins): 256 for prefix routes, 1024 for `ip route add` default.
    pub metric: u32,
    /// Who installed it.
    pub proto: RouteProto,
}

/// The main table.
#[derive(Debug, Default, Clone)]
pub struct Fib6 {
    /// Entries, in insertion order.
    pub entries: Vec<Fib6Entry>,
    /// The namespace's last unicast answer of [`ip6_route_output`] (the socket layer's
    /// lookup), valid while [`Kernel::fib6_sernum`] still has the value it was taken at.
    /// Kernel: a socket's `sk_dst_cache` checked by `ip6_dst_check()` against
    /// `fib6_sernum`; here one entry per namespace, and the serial number also moves with
    /// the address and link changes the emulator's lookup reads directly (see
    /// [`Kernel::fib6_sernum_bump`]).
    cached: Cell<Option<Fib6Cached>>,
    /// The namespace's last [`Kernel::fib6_lookup`] answer through
    /// [`Kernel::fib6_lookup_cached`] (the per-skb lookup of `bpf_redirect_neigh()`),
    /// valid on the same terms: while [`Kernel::fib6_sernum`] is unchanged, as every
    /// change the lookup reads (a FIB entry, a device's presence, state or namespace)
    /// bumps it.
    lookup_cached: Cell<Option<Fib6LookupCached>>,
}

/// One cached [`Kernel::fib6_lookup`] answer (a miss included) and what it was asked.
#[derive(Debug, Clone, Copy)]
struct Fib6LookupCached {
    sernum: u64,
    daddr: Ipv6Addr,
    oif: Option<DevId>,
    entry: Option<Fib6Entry>,
}

/// One cached [`ip6_route_output`] answer and what it was asked.
#[derive(Debug, Clone, Copy)]
struct Fib6Cached {
    sernum: u64,
    daddr: Ipv6Addr,
    oif: Option<DevId>,
    route: Route6,
}

/// What an output lookup yields (kernel: the `rt6_info` dst: device, preferred source,
/// and `rt6_nexthop()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route6 {
    /// Output device.
    pub dev: DevId,
    /// Source address to use.
    pub saddr: Ipv6Addr,
    /// Neighbour to resolve: the gateway, or the destination itself.
    pub nexthop: Ipv6Addr,
}

/// Kernel: `IP6_RT_PRIO_USER`.
pub const IP6_RT_PRIO_USER: u32 = 1024;

impl Kernel {
    /// Kernel: `fib6_update_sernum()`: invalidate every cached output route. Called by
    /// each change [`Kernel::ip6_route_output`] depends on: a FIB entry added or removed
    /// (here), an IPv6 address added, removed or done with DAD (`addrconf`), a device
    /// registered, unregistered, brought up or down, or moved to another namespace
    /// (`kernel.rs`; a namespace's deletion goes through those and drops its cache).
    pub(crate) fn fib6_sernum_bump(&mut self) {
        self.fib6_sernum = self.fib6_sernum.wrapping_add(1);
    }

    pub(crate) fn fib6_insert(&mut self, netns: NetNsId, e: Fib6Entry) {
        self.fib6_sernum_bump();
        if let Some(ns) = self.netns.get_mut(&netns)
            && !ns.fib6.entries.contains(&e)
        {
            ns.fib6.entries.push(e);
        }
    }

    /// `ip -6 route add DST/PLEN [via GW] [dev DEV] [metric M]` (kernel: `ip6_route_add()`).
    /// A gateway without a device is resolved through the connected route that covers
    /// it; a link-local gateway needs the device (EINVAL); a duplicate is EEXIST.
    pub fn ip6_route_add(
        &mut self,
        netns: NetNsId,
        dst: Ipv6Addr,
        plen: u8,
        gateway: Option<Ipv6Addr>,
        dev: Option<DevId>,
        metric: Option<u32>,
    ) -> KResult<()> {
        self.fib6_sernum_bump();
        if plen > 128 {
            return Err(KernelError::new(EINVAL));
        }
        if let Some(d) = dev
            && self.try_device(d).is_none_or(|d| d.netns != netns)
        {
            return Err(KernelError::new(ENODEV));
        }
        let dev = match (dev, gateway) {
            (Some(d), _) => d,
            (None, Some(gw)) if wire::ipv6::is_link_local(&gw) => {
                return Err(KernelError::msg(EINVAL, "Nexthop has invalid gateway"));
            }
            (None, Some(gw)) => self
                .fib6_lookup(netns, &gw, None)
                .filter(|e| e.gateway.is_none())
                .map(|e| e.dev)
                .ok_or(KernelError::msg(EINVAL, "Nexthop has invalid gateway"))?,
            (None, None) => return Err(KernelError::new(ENODEV)),
        };
        let e = Fib6Entry {
            dst: ipv6_prefix(&dst, plen),
            plen,
            dev,
            gateway,
            metric: metric.unwrap_or(IP6_RT_PRIO_USER),
            proto: RouteProto::Boot,
        };
        let ns = self.netns.get_mut(&netns).ok_or(KernelError::new(ENODEV))?;
        if ns
            .fib6
            .entries
            .iter()
            .any(|o| o.dst == e.dst && o.plen == e.plen && o.metric == e.metric)
        {
            return Err(KernelError::new(EEXIST));
        }
        ns.fib6.entries.push(e);
        Ok(())
    }

    /// `ip -6 route del DST/PLEN` (first match; ESRCH if none).
    pub fn ip6_route_del(&mut self, netns: NetNsId, dst: Ipv6Addr, plen: u8) -> KResult<()> {
        self.fib6_sernum_bump();
        let ns = self.netns.get_mut(&netns).ok_or(KernelError::new(ENODEV))?;
        let dst = ipv6_prefix(&dst, plen);
        let pos = ns
            .fib6
            .entries
            .iter()
            .position(|e| e.dst == dst && e.plen == plen)
            .ok_or(KernelError::new(ESRCH))?;
        ns.fib6.entries.remove(pos);
        Ok(())
    }

    /// Longest-prefix match among live entries (device present in `netns` and up),
    /// restricted to `oif` when given; ties go to the lower metric, then the older entry.
    /// An entry is skipped as soon as it cannot beat the best so far; the prefix is then
    /// compared as integers, and the device is checked only for an entry that would win:
    /// the same answer for less work on every packet.
    pub fn fib6_lookup(
        &self,
        netns: NetNsId,
        daddr: &Ipv6Addr,
        oif: Option<DevId>,
    ) -> Option<Fib6Entry> {
        let ns = self.netns.get(&netns)?;
        let da = u128::from(*daddr);
        let mut best: Option<&Fib6Entry> = None;
        for e in &ns.fib6.entries {
            if oif.is_some_and(|o| o != e.dev)
                || best
                    .is_some_and(|b| e.plen < b.plen || (e.plen == b.plen && e.metric >= b.metric))
                || prefix6(da, e.plen) != u128::from(e.dst)
            {
                continue;
            }
            if self
                .try_device(e.dev)
                .is_some_and(|d| d.up && d.netns == netns)
            {
                best = Some(e);
            }
        }
        best.copied()
    }

    /// [`Kernel::fib6_lookup`] answered from the namespace's last answer when the same
    /// question comes again with no change since ([`Fib6`]'s `lookup_cached`). Kernel:
    /// `bpf_out_neigh_v6()` looks the route up for every skb; the answer is the same.
    pub(crate) fn fib6_lookup_cached(
        &self,
        netns: NetNsId,
        daddr: &Ipv6Addr,
        oif: Option<DevId>,
    ) -> Option<Fib6Entry> {
        let fib = &self.netns.get(&netns)?.fib6;
        if let Some(c) = fib.lookup_cached.get()
            && c.sernum == self.fib6_sernum
            && c.daddr == *daddr
            && c.oif == oif
        {
            return c.entry;
        }
        let entry = self.fib6_lookup(netns, daddr, oif);
        fib.lookup_cached.set(Some(Fib6LookupCached {
            sernum: self.fib6_sernum,
            daddr: *daddr,
            oif,
            entry,
        }));
        entry
    }

    /// The namespace's loopback device (ifindex 1).
    pub fn netns_loopback(&self, netns: NetNsId) -> Option<DevId> {
        self.dev_get_by_index(netns, 1)
    }

    /// Kernel: `ip6_route_output()`: where a locally generated packet to `daddr` leaves.
    /// Local addresses go through lo; multicast and link-local destinations need `oif`
    /// (multicast without one is ENETUNREACH); otherwise the FIB decides.
    pub fn ip6_route_output(
        &self,
        netns: NetNsId,
        daddr: Ipv6Addr,
        oif: Option<DevId>,
    ) -> KResult<Route6> {
        let unreach = KernelError::new(ENETUNREACH);
        if daddr.is_multicast() {
            if let Some(owner) = self.ipv6_chk_addr(netns, &daddr, None)
                && (oif.is_none() || oif == Some(owner) || !wire::ipv6::is_link_local(&daddr))
            {
                let lo = self.netns_loopback(netns).ok_or(unreach.clone())?;
                return Ok(Route6 {
                    dev: lo,
                    saddr: daddr,
                    nexthop: daddr,
                });
            }
            let dev = oif.ok_or(unreach.clone())?;
            let saddr = self
                .ipv6_dev_get_saddr(netns, dev, &daddr)
                .unwrap_or(Ipv6Addr::UNSPECIFIED);
            return Ok(Route6 {
                dev,
                saddr,
                nexthop: daddr,
            });
        }
        // Unicast: the FIB depends on no address, so it is consulted first and one walk
        // over the namespace's addresses then answers both "is it ours" (→ lo) and the
        // source for the FIB's device.
        let e = self.fib6_lookup(netns, &daddr, oif);
        let (owner, saddr) = self.ipv6_addr_walk(netns, &daddr, e.map(|e| e.dev), true);
        if let Some(owner) = owner
            && (oif.is_none()
                || oif == Some(owner)
                || daddr.is_loopback()
                || !wire::ipv6::is_link_local(&daddr))
        {
            let lo = self.netns_loopback(netns).ok_or(unreach.clone())?;
            return Ok(Route6 {
                dev: lo,
                saddr: daddr,
                nexthop: daddr,
            });
        }
        let e = e.ok_or(unreach)?;
        let saddr = saddr.ok_or(KernelError::new(uapi::errno::EADDRNOTAVAIL))?;
        Ok(Route6 {
            dev: e.dev,
            saddr,
            nexthop: e.gateway.unwrap_or(daddr),
        })
    }
}

/// Kernel: `ip6_route_output()` as the socket layer calls it: a unicast destination's
/// answer is kept in the namespace's [`Fib6`] cache and reused while no route, address or
/// link change bumped [`Kernel::fib6_sernum`] (the same answer: the lookup reads nothing
/// else), as a connected socket reuses its `sk_dst_cache` until `ip6_dst_check()` fails.
pub fn ip6_route_output(
    k: &Kernel,
    netns: NetNsId,
    daddr: Ipv6Addr,
    oif: Option<DevId>,
) -> KResult<Route6> {
    let Some(fib) = k.netns.get(&netns).map(|ns| &ns.fib6) else {
        return k.ip6_route_output(netns, daddr, oif);
    };
    if let Some(c) = fib.cached.get()
        && c.sernum == k.fib6_sernum
        && c.daddr == daddr
        && c.oif == oif
    {
        return Ok(c.route);
    }
    let r = k.ip6_route_output(netns, daddr, oif);
    if let Ok(route) = r
        && !daddr.is_multicast()
    {
        fib.cached.set(Some(Fib6Cached {
            sernum: k.fib6_sernum,
            daddr,
            oif,
            route,
        }));
    }
    r
}

#[cfg(test)]
mod tests {
    use crate::KernelConfig;
    use crate::drivers::nic::NicProfile;
    use crate::kernel::Kernel;
    use crate::net::core::dev::DevId;
    use crate::net::core::net_namespace::NetNsId;

    fn v6(s: &str) -> std::net::Ipv6Addr {
        s.parse().unwrap()
    }

    /// A kernel whose initial namespace has two NICs, eth0 and eth1, up.
    fn two_nics_up() -> (Kernel, NetNsId, DevId, DevId) {
        let mut k = Kernel::new(KernelConfig::default());
        let ns = k.init_net();
        let a = k.nic_add(ns, "eth0", NicProfile::bnxt(), 1).unwrap();
        let b = k.nic_add(ns, "eth1", NicProfile::bnxt(), 1).unwrap();
        for d in [a, b] {
            k.link_set_up(d, true).unwrap();
        }
        (k, ns, a, b)
    }

    #[test]
    fn longest_prefix_then_metric_then_age() {
        let (mut k, ns, a, b) = two_nics_up();
        k.ipv6_addr_add(a, v6("2001:db8:a::1"), 64, true).unwrap();
        k.ipv6_addr_add(b, v6("2001:db8:b::1"), 64, true).unwrap();
        k.ip6_route_add(ns, v6("::"), 0, Some(v6("2001:db8:a::fe")), None, None)
            .unwrap();
        k.ip6_route_add(
            ns,
            v6("2001:db8:c::"),
            48,
            Some(v6("2001:db8:b::fe")),
            None,
            None,
        )
        .unwrap();
        k.ip6_route_add(ns, v6("2001:db8:c:1::"), 64, None, Some(a), Some(10))
            .unwrap();
        let r = |k: &Kernel, d: &str| k.ip6_route_output(ns, v6(d), None).unwrap();
        assert_eq!(r(&k, "2001:db8:9::1").dev, a);
        assert_eq!(r(&k, "2001:db8:9::1").nexthop, v6("2001:db8:a::fe"));
        assert_eq!(r(&k, "2001:db8:c:2::1").dev, b);
        assert_eq!(r(&k, "2001:db8:c:2::1").saddr, v6("2001:db8:b::1"));
        assert_eq!(r(&k, "2001:db8:c:1::5").dev, a);
        assert_eq!(r(&k, "2001:db8:c:1::5").nexthop, v6("2001:db8:c:1::5"));
        // A lower metric for the same prefix wins; an equal one is EEXIST.
        k.ip6_route_add(ns, v6("2001:db8:c:1::"), 64, None, Some(b), Some(5))
            .unwrap();
        assert_eq!(r(&k, "2001:db8:c:1::5").dev, b);
        assert_eq!(
            k.ip6_route_add(ns, v6("2001:db8:c:1::"), 64, None, Some(b), Some(5))
                .unwrap_err()
                .errno,
            uapi::errno::EEXIST
        );
        // A local address goes through lo with itself as source.
        let lo = k.netns_loopback(ns).unwrap();
        assert_eq!(r(&k, "2001:db8:b::1").dev, lo);
        assert_eq!(r(&k, "2001:db8:b::1").saddr, v6("2001:db8:b::1"));
        // Down devices are skipped: eth1 down, the /48 and /64 via it vanish.
        k.link_set_up(b, false).unwrap();
        assert_eq!(r(&k, "2001:db8:c:2::1").dev, a);
        // Link-local gateway without a device.
        assert_eq!(
            k.ip6_route_add(ns, v6("2001:db8:d::"), 48, Some(v6("fe80::1")), None, None)
                .unwrap_err()
                .errno,
            uapi::errno::EINVAL
        );
        k.ip6_route_del(ns, v6("::"), 0).unwrap();
        assert_eq!(
            k.ip6_route_output(ns, v6("2001:db8:9::1"), None)
                .unwrap_err()
                .errno,
            uapi::errno::ENETUNREACH
        );
    }

    /// The socket layer's cached lookup answers exactly as the full one after each kind of
    /// change the answer depends on: each step asks the same question before the change
    /// (filling the cache) and after it (where a missed serial-number bump would hand
    /// back the stale route).
    #[test]
    fn cached_output_route_follows_every_change() {
        use crate::error::KResult;
        let (mut k, ns, a, b) = two_nics_up();
        let other = k.netns_add("other").unwrap();
        let check = |k: &Kernel, d: &str, oif: Option<DevId>| {
            let full = |r: KResult<super::Route6>| r.map_err(|e| e.errno);
            let want = full(k.ip6_route_output(ns, v6(d), oif));
            for _ in 0..2 {
                let got = full(super::ip6_route_output(k, ns, v6(d), oif));
                assert_eq!(got, want, "{d} via {oif:?}");
            }
            // The redirect path's cached FIB lookup, likewise.
            let entry = k.fib6_lookup(ns, &v6(d), oif);
            for _ in 0..2 {
                assert_eq!(
                    k.fib6_lookup_cached(ns, &v6(d), oif),
                    entry,
                    "{d} via {oif:?}"
                );
            }
            want
        };
        let dst = "2001:db8:c::5";
        k.ipv6_addr_add(a, v6("2001:db8:a::1"), 64, true).unwrap();
        k.ipv6_addr_add(b, v6("2001:db8:b::1"), 64, true).unwrap();
        k.ip6_route_add(ns, v6("::"), 0, Some(v6("2001:db8:a::fe")), None, None)
            .unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        assert!(k.netns.get(&ns).unwrap().fib6.cached.get().is_some());
        assert!(k.netns.get(&ns).unwrap().fib6.lookup_cached.get().is_some());
        // Route added, then a better source address on its device, then that one gone.
        k.ip6_route_add(ns, v6("2001:db8:c::"), 48, None, Some(b), None)
            .unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, b);
        k.ipv6_addr_add(b, v6("2001:db8:c::1"), 64, true).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().saddr, v6("2001:db8:c::1"));
        k.ipv6_addr_del(b, v6("2001:db8:c::1")).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().saddr, v6("2001:db8:b::1"));
        // A tentative address is no source until DAD completes.
        k.ipv6_addr_add(b, v6("2001:db8:c::2"), 64, false).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().saddr, v6("2001:db8:b::1"));
        k.addrconf_dad_complete(b, v6("2001:db8:c::2"));
        assert_eq!(check(&k, dst, None).unwrap().saddr, v6("2001:db8:c::2"));
        // Link down and up again; the route deleted.
        k.link_set_up(b, false).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        k.link_set_up(b, true).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, b);
        k.ip6_route_del(ns, v6("2001:db8:c::"), 48).unwrap();
        k.ip6_route_del(ns, v6("2001:db8:c::"), 64).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        // With an output device: a local address goes through lo until it is deleted.
        let lo = k.netns_loopback(ns).unwrap();
        assert_eq!(check(&k, "2001:db8:b::1", Some(b)).unwrap().dev, lo);
        k.ipv6_addr_del(b, v6("2001:db8:b::1")).unwrap();
        assert_ne!(check(&k, "2001:db8:b::1", Some(b)).map(|r| r.dev), Ok(lo));
        // The device moves to another namespace.
        k.ip6_route_add(ns, v6("2001:db8:c::"), 48, None, Some(b), None)
            .unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, b);
        k.link_set_netns(b, other).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        // A device registered and given a better route, then unregistered; then the last.
        let c = k
            .nic_add(ns, "eth2", crate::drivers::nic::NicProfile::bnxt(), 1)
            .unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        k.link_set_up(c, true).unwrap();
        k.ipv6_addr_add(c, v6("2001:db8:c::7"), 64, true).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, c);
        k.nic_remove(c).unwrap();
        assert_eq!(check(&k, dst, None).unwrap().dev, a);
        k.nic_remove(a).unwrap();
        assert_eq!(check(&k, dst, None), Err(uapi::errno::ENETUNREACH));
    }

    /// The single address walk of `ip6_route_output()` keeps both tie-breaks: the owner
    /// of a local address is the first device in ifindex order, and among equally good
    /// sources on the outgoing device the first configured wins.
    #[test]
    fn one_walk_keeps_owner_and_source_order() {
        let (mut k, ns, a, b) = two_nics_up();
        k.ipv6_addr_add(b, v6("2001:db8:a::1"), 64, true).unwrap();
        k.ipv6_addr_add(b, v6("2001:db8:c::1"), 64, true).unwrap();
        k.ipv6_addr_add(a, v6("2001:db8:a::1"), 64, true).unwrap();
        assert_eq!(k.ipv6_chk_addr(ns, &v6("2001:db8:a::1"), None), Some(a));
        let lo = k.netns_loopback(ns).unwrap();
        let r = k.ip6_route_output(ns, v6("2001:db8:a::1"), None).unwrap();
        assert_eq!((r.dev, r.saddr), (lo, v6("2001:db8:a::1")));
        // 2001:db8:a::1 and 2001:db8:c::1 share 44 bits with 2001:db8:2::5: the older wins.
        k.ip6_route_add(ns, v6("2001:db8:2::"), 48, None, Some(b), None)
            .unwrap();
        let r = k.ip6_route_output(ns, v6("2001:db8:2::5"), None).unwrap();
        assert_eq!((r.dev, r.saddr), (b, v6("2001:db8:a::1")));
        assert_eq!(
            k.ipv6_dev_get_saddr(ns, b, &v6("2001:db8:2::5")),
            Some(v6("2001:db8:a::1"))
        );
        // A longer match on the outgoing device beats it.
        let r = k.ip6_route_output(ns, v6("2001:db8:c::9"), None).unwrap();
        assert_eq!((r.dev, r.saddr), (b, v6("2001:db8:c::1")));
    }
}
