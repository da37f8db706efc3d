//! IPv6 addresses per device.
//!
//! Kernel: `net/ipv6/addrconf.c`: `inet6_addr_add()` (with `IFA_F_NODAD`), the prefix
//! route it installs (`addrconf_prefix_route()`, metric 256), the EUI-64 link-local
//! address an Ethernet device gets when it comes up (`addrconf_dev_config()` →
//! `addrconf_addr_gen()`; not on `IFF_NOARP` devices), `::1` on lo (`init_loopback()`),
//! duplicate address detection (tentative for `RetransTimer`, one probe from `::`), and
//! source address selection (`ipv6_dev_get_saddr()`, RFC 6724 reduced to: same scope,
//! prefer the outgoing device, then the longest matching prefix).

use std::net::Ipv6Addr;

use uapi::errno::{EADDRNOTAVAIL, EEXIST, EINVAL, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::net::core::neighbour::RETRANS_TIME;
use crate::net::core::net_namespace::NetNsId;
use crate::net::ipv6::route::{Fib6Entry, RouteProto};
use crate::time::KernelEvent;

/// Kernel: `struct inet6_ifaddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inet6Ifaddr {
    /// The address.
    pub addr: Ipv6Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// `IFA_F_NODAD`.
    pub nodad: bool,
    /// `IFA_F_TENTATIVE`: DAD still running; not usable as source or target.
    pub tentative: bool,
}

/// Kernel: `struct inet6_dev`, the address list.
#[derive(Debug, Default, Clone)]
pub struct Inet6Dev {
    /// Addresses in insertion order.
    pub addrs: Vec<Inet6Ifaddr>,
}

/// Kernel: `ipv6_addr_scope()` reduced: link-local (and loopback) vs global.
pub fn ipv6_addr_is_ll_scope(a: &Ipv6Addr) -> bool {
    wire::ipv6::is_link_local(a)
        || a.is_loopback()
        || (a.is_multicast() && a.segments()[0] & 0x000f == 2)
}

/// The network address of `a/plen`.
pub fn ipv6_prefix(a: &Ipv6Addr, plen: u8) -> Ipv6Addr {
    let bits = u128::from(*a);
    let mask = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen.min(128)))
    };
    Ipv6Addr::from(bits & mask)
}

impl Kernel {
    /// `ip -6 addr add ADDR/PLEN dev DEV [nodad]` (kernel: `inet6_addr_add()`): the address
    /// and, unless /128, its prefix route. Without `nodad` the address stays tentative
    /// for one DAD round (1 s) after a probe from `::`.
    pub fn ipv6_addr_add(
        &mut self,
        dev: DevId,
        addr: Ipv6Addr,
        plen: u8,
        nodad: bool,
    ) -> KResult<()> {
        if plen > 128 {
            return Err(KernelError::new(EINVAL));
        }
        self.fib6_sernum_bump();
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        if d.ip6.addrs.iter().any(|a| a.addr == addr) {
            return Err(KernelError::new(EEXIST));
        }
        let up = d.up;
        let tentative = !nodad && !matches!(d.kind, DeviceKind::Loopback) && !self.dev_noarp(dev);
        self.dev_mut(dev).ip6.addrs.push(Inet6Ifaddr {
            addr,
            prefix_len: plen,
            nodad,
            tentative,
        });
        if plen < 128 {
            let netns = self.dev(dev).netns;
            self.fib6_insert(
                netns,
                Fib6Entry {
                    dst: ipv6_prefix(&addr, plen),
                    plen,
                    dev,
                    gateway: None,
                    metric: 256,
                    proto: RouteProto::Kernel,
                },
            );
        }
        if tentative && up {
            self.addrconf_dad_start(dev, addr);
        }
        Ok(())
    }

    /// `ip -6 addr del ADDR/PLEN dev DEV`: the address and its prefix route.
    pub fn ipv6_addr_del(&mut self, dev: DevId, addr: Ipv6Addr) -> KResult<()> {
        self.fib6_sernum_bump();
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        let pos = d
            .ip6
            .addrs
            .iter()
            .position(|a| a.addr == addr)
            .ok_or(KernelError::new(EADDRNOTAVAIL))?;
        let a = d.ip6.addrs.remove(pos);
        let netns = d.netns;
        let still = d.ip6.addrs.iter().any(|o| {
            o.prefix_len == a.prefix_len
                && ipv6_prefix(&o.addr, a.prefix_len) == ipv6_prefix(&addr, a.prefix_len)
        });
        if !still && let Some(ns) = self.netns.get_mut(&netns) {
            let dst = ipv6_prefix(&addr, a.prefix_len);
            ns.fib6.entries.retain(|e| {
                !(e.dev == dev
                    && e.dst == dst
                    && e.plen == a.prefix_len
                    && e.proto == RouteProto::Kernel)
            });
        }
        Ok(())
    }

    /// Kernel: `addrconf_notify(NETDEV_UP)`: lo gets `::1/128`, Ethernet devices that
    /// resolve neighbours get their EUI-64 link-local address; tentative addresses start DAD.
    pub(crate) fn addrconf_dev_up(&mut self, dev: DevId) {
        let d = self.dev(dev);
        let (lo, mac) = (matches!(d.kind, DeviceKind::Loopback), d.mac);
        if lo {
            let _ = self.ipv6_addr_add(dev, Ipv6Addr::LOCALHOST, 128, true);
            return;
        }
        if !self.dev_noarp(dev) && mac != [0; 6] {
            let ll = wire::ipv6::link_local_from_mac(&wire::EthernetAddress(mac));
            let _ = self.ipv6_addr_add(dev, ll, 64, false);
        }
        let tentative: Vec<Ipv6Addr> = self
            .dev(dev)
            .ip6
            .addrs
            .iter()
            .filter(|a| a.tentative)
            .map(|a| a.addr)
            .collect();
        for a in tentative {
            self.addrconf_dad_start(dev, a);
        }
    }

    /// Kernel: `addrconf_dad_begin()`: one NS from `::` for the tentative address.
    fn addrconf_dad_start(&mut self, dev: DevId, addr: Ipv6Addr) {
        // Without carrier (a veth/netkit whose peer is down) no probe goes out.
        if self.netif_carrier_ok(dev) {
            self.ndisc_send_dad(dev, addr);
        }
        let at = self.clock() + RETRANS_TIME;
        self.schedule(
            at,
            KernelEvent::Run(Box::new(move |k: &mut Kernel| {
                k.addrconf_dad_complete(dev, addr)
            })),
        );
    }

    /// Kernel: `addrconf_dad_completed()`: the address becomes usable.
    pub(crate) fn addrconf_dad_complete(&mut self, dev: DevId, addr: Ipv6Addr) {
        self.fib6_sernum_bump();
        if let Some(d) = self.devices.get_mut(&dev)
            && let Some(a) = d.ip6.addrs.iter_mut().find(|a| a.addr == addr)
        {
            a.tentative = false;
        }
    }

    /// Kernel: `ipv6_chk_addr()`: the device in `netns` that owns usable address `addr`
    /// (restricted to `dev` when given, as for link-local targets).
    pub fn ipv6_chk_addr(
        &self,
        netns: NetNsId,
        addr: &Ipv6Addr,
        dev: Option<DevId>,
    ) -> Option<DevId> {
        let ns = self.netns.get(&netns)?;
        // Runs for every received packet and every output route: compare the address as
        // one integer and walk the namespace once (the kernel hashes `inet6_addr_lst`).
        let want = u128::from(*addr);
        ns.dev_by_index.values().copied().find(|&id| {
            dev.is_none_or(|d| d == id)
                && self
                    .devices
                    .get(&id)
                    .is_some_and(|d| inet6_dev_owns(&d.ip6, want))
        })
    }

    /// Whether `addr` is configured on `dev` at all (tentative included).
    pub(crate) fn ipv6_dev_has_addr(&self, dev: DevId, addr: &Ipv6Addr) -> Option<Inet6Ifaddr> {
        self.try_device(dev)?
            .ip6
            .addrs
            .iter()
            .find(|a| a.addr == *addr)
            .copied()
    }

    /// Kernel: `ipv6_dev_get_saddr()`: a source for `daddr` leaving by `dev`.
    pub fn ipv6_dev_get_saddr(
        &self,
        netns: NetNsId,
        dev: DevId,
        daddr: &Ipv6Addr,
    ) -> Option<Ipv6Addr> {
        self.ipv6_addr_walk(netns, daddr, Some(dev), false).1
    }

    /// One walk over the devices of `netns` in ifindex order answering both
    /// `ipv6_chk_addr(netns, daddr, None)` (when `chk`) and, when `out` is given,
    /// `ipv6_dev_get_saddr(netns, out, daddr)`: `ip6_route_output()` needs both per
    /// packet, and each alone walks the same devices and addresses.
    pub(crate) fn ipv6_addr_walk(
        &self,
        netns: NetNsId,
        daddr: &Ipv6Addr,
        out: Option<DevId>,
        chk: bool,
    ) -> (Option<DevId>, Option<Ipv6Addr>) {
        let Some(ns) = self.netns.get(&netns) else {
            return (None, None);
        };
        let want = u128::from(*daddr);
        let d_loopback = daddr.is_loopback();
        let want_ll = ipv6_addr_is_ll_scope(daddr) && !d_loopback;
        let mut owner: Option<DevId> = None;
        let mut best: Option<(bool, u32, Ipv6Addr)> = None;
        for &id in ns.dev_by_index.values() {
            let Some(d) = self.devices.get(&id) else {
                continue;
            };
            if chk && owner.is_none() && inet6_dev_owns(&d.ip6, want) {
                owner = Some(id);
            }
            let Some(dev) = out else {
                if owner.is_some() {
                    break;
                }
                continue;
            };
            if want_ll && id != dev {
                continue;
            }
            let on_dev = id == dev;
            for a in &d.ip6.addrs {
                if a.tentative || a.addr.is_loopback() && !d_loopback {
                    continue;
                }
                if ipv6_addr_is_ll_scope(&a.addr) != want_ll && !d_loopback {
                    continue;
                }
                let key = (on_dev, (u128::from(a.addr) ^ want).leading_zeros());
                if best.is_none_or(|b| key > (b.0, b.1)) {
                    best = Some((key.0, key.1, a.addr));
                }
            }
        }
        (owner, best.map(|b| b.2))
    }
}

/// Whether `idev` holds the usable (not tentative) address `want`.
fn inet6_dev_owns(idev: &Inet6Dev, want: u128) -> bool {
    idev.addrs
        .iter()
        .any(|a| !a.tentative && u128::from(a.addr) == want)
}
