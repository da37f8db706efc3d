//! IPv4 addresses per device.
//!
//! Kernel: `net/ipv4/devinet.c` (`inet_rtm_newaddr()` → `__inet_insert_ifa()`) and the
//! routes `fib_add_ifaddr()` installs for it (here: the prefix route; the local address is
//! found by [`Kernel::inet_addr_local`] as the local table would).

use std::net::Ipv4Addr;

use uapi::errno::{EADDRNOTAVAIL, EEXIST, EINVAL, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::ipv4::route::{Fib4Entry, ipv4_prefix};
use crate::net::ipv6::route::RouteProto;

/// Kernel: `struct in_ifaddr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InIfaddr {
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
}

/// Kernel: `struct in_device`, the address list.
#[derive(Debug, Default, Clone)]
pub struct InDevice {
    /// Addresses in insertion order (the first of a subnet is primary).
    pub addrs: Vec<InIfaddr>,
}

impl Kernel {
    /// `ip addr add ADDR/PLEN dev DEV`.
    pub fn ipv4_addr_add(&mut self, dev: DevId, addr: Ipv4Addr, plen: u8) -> KResult<()> {
        if plen > 32 {
            return Err(KernelError::new(EINVAL));
        }
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        if d.ip4.addrs.iter().any(|a| a.addr == addr) {
            return Err(KernelError::new(EEXIST));
        }
        d.ip4.addrs.push(InIfaddr {
            addr,
            prefix_len: plen,
        });
        let netns = d.netns;
        if plen < 32 {
            let e = Fib4Entry {
                dst: ipv4_prefix(addr, plen),
                plen,
                dev,
                gateway: None,
                metric: 0,
                proto: RouteProto::Kernel,
            };
            if let Some(ns) = self.netns.get_mut(&netns)
                && !ns.fib4.entries.contains(&e)
            {
                ns.fib4.entries.push(e);
            }
        }
        Ok(())
    }

    /// `ip addr del ADDR dev DEV`.
    pub fn ipv4_addr_del(&mut self, dev: DevId, addr: Ipv4Addr) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        let pos = d
            .ip4
            .addrs
            .iter()
            .position(|a| a.addr == addr)
            .ok_or(KernelError::new(EADDRNOTAVAIL))?;
        let a = d.ip4.addrs.remove(pos);
        let netns = d.netns;
        let dst = ipv4_prefix(addr, a.prefix_len);
        if let Some(ns) = self.netns.get_mut(&netns) {
            ns.fib4
                .entries
                .retain(|e| !(e.dev == dev && e.dst == dst && e.proto == RouteProto::Kernel));
        }
        Ok(())
    }

    /// Kernel: `inet_addr_type() == RTN_LOCAL` (plus 127/8 on lo): the device owning
    /// `addr` in `netns`.
    pub fn inet_addr_local(&self, netns: NetNsId, addr: Ipv4Addr) -> Option<DevId> {
        let ns = self.netns.get(&netns)?;
        if addr.is_loopback() {
            return self.netns_loopback(netns).filter(|&lo| self.dev(lo).up);
        }
        ns.dev_by_index.values().copied().find(|id| {
            self.devices
                .get(id)
                .is_some_and(|d| d.ip4.addrs.iter().any(|a| a.addr == addr))
        })
    }

    /// Kernel: `inet_select_addr()`: the primary address of `dev` in `daddr`'s subnet, else
    /// its first address, else any address in the namespace.
    pub fn inet_select_addr(
        &self,
        netns: NetNsId,
        dev: DevId,
        daddr: Ipv4Addr,
    ) -> Option<Ipv4Addr> {
        let d = self.try_device(dev)?;
        d.ip4
            .addrs
            .iter()
            .find(|a| ipv4_prefix(a.addr, a.prefix_len) == ipv4_prefix(daddr, a.prefix_len))
            .or_else(|| d.ip4.addrs.first())
            .map(|a| a.addr)
            .or_else(|| {
                let ns = self.netns.get(&netns)?;
                ns.dev_by_index
                    .values()
                    .filter_map(|id| self.devices.get(id))
                    .find_map(|d| d.ip4.addrs.first().map(|a| a.addr))
            })
    }
}
