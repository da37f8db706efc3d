//! IPv6 output.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `net/ipv6/ip6_output.c`,
//! `ip6_xmit()`): until neighbour resolution and devices' RX paths land, a TCP skb is
//! delivered to the same namespace's TCP input as a zero-latency softirq event.

use std::net::{IpAddr, Ipv6Addr};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::ipv4::tcp_input::IpInfo;
use crate::net::ipv6::route::Route6;
use crate::time::KernelEvent;

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;

/// Kernel: `ip6_xmit()`: `skb.head` starts with the transport header.
pub fn ip6_xmit(
    k: &mut Kernel,
    netns: NetNsId,
    route: &Route6,
    saddr: Ipv6Addr,
    daddr: Ipv6Addr,
    proto: u8,
    skb: Skb,
) -> KResult<()> {
    if proto != IPPROTO_TCP {
        return Ok(());
    }
    let dev = route.dev;
    let now = k.clock();
    k.schedule(
        now,
        KernelEvent::Run(Box::new(move |k: &mut Kernel| {
            let ip = IpInfo {
                saddr: IpAddr::V6(saddr),
                daddr: IpAddr::V6(daddr),
            };
            crate::net::ipv4::tcp_input::tcp_v6_rcv(k, netns, dev, ip, skb);
        })),
    );
    Ok(())
}
