//! IPv6 output routes.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `net/ipv6/route.c`,
//! `ip6_route_output()`): until the real FIB lands, every destination routes through the
//! requested `oif`, or else the namespace's loopback, with the destination as source, so
//! sockets can talk to each other inside one namespace.

use std::net::Ipv6Addr;

use uapi::errno::{ENETUNREACH, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;

/// An output route (kernel: the parts of `struct rt6_info` the socket layer uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route6 {
    /// Output device.
    pub dev: DevId,
    /// Preferred source address.
    pub saddr: Ipv6Addr,
    /// Next hop (the destination itself when on-link).
    pub nexthop: Ipv6Addr,
}

/// Kernel: `ip6_route_output()`.
pub fn ip6_route_output(
    k: &Kernel,
    netns: NetNsId,
    daddr: Ipv6Addr,
    oif: Option<DevId>,
) -> KResult<Route6> {
    let dev = match oif {
        Some(d) => {
            if k.try_device(d).is_none() {
                return Err(KernelError::new(ENODEV));
            }
            d
        }
        None => k
            .dev_get_by_name(netns, "lo")
            .ok_or(KernelError::new(ENETUNREACH))?,
    };
    Ok(Route6 {
        dev,
        saddr: daddr,
        nexthop: daddr,
    })
}
