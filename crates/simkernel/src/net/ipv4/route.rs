//! IPv4 output routes.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `net/ipv4/route.c`,
//! `ip_route_output_key()`): every destination routes through `oif` or the loopback.

use std::net::Ipv4Addr;

use uapi::errno::{ENETUNREACH, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;

/// An IPv4 output route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route4 {
    /// Output device.
    pub dev: DevId,
    /// Preferred source address.
    pub saddr: Ipv4Addr,
    /// Next hop.
    pub nexthop: Ipv4Addr,
}

/// Kernel: `ip_route_output()`.
pub fn ip_route_output(
    k: &Kernel,
    netns: NetNsId,
    daddr: Ipv4Addr,
    oif: Option<DevId>,
) -> KResult<Route4> {
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
    Ok(Route4 {
        dev,
        saddr: daddr,
        nexthop: daddr,
    })
}
