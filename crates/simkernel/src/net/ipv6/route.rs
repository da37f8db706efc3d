//! IPv6 output routes.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `net/ipv6/route.c`,
//! `ip6_route_output()`): until the real FIB lands, every destination routes through the
//! requested `oif`, or else the namespace's loopback, with the destination as source, so
//! sockets can talk to each other inside one namespace. Same signatures as the real one.

use std::net::Ipv6Addr;

use uapi::errno::{ENETUNREACH, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;

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

impl Kernel {
    /// Kernel: `ip6_route_output()`.
    pub fn ip6_route_output(
        &self,
        netns: NetNsId,
        daddr: Ipv6Addr,
        oif: Option<DevId>,
    ) -> KResult<Route6> {
        let dev = match oif {
            Some(d) => {
                if self.try_device(d).is_none() {
                    return Err(KernelError::new(ENODEV));
                }
                d
            }
            None => self
                .dev_get_by_name(netns, "lo")
                .ok_or(KernelError::new(ENETUNREACH))?,
        };
        Ok(Route6 {
            dev,
            saddr: daddr,
            nexthop: daddr,
        })
    }
}
