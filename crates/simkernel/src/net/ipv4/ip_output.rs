//! IPv4 output.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `ip_queue_xmit()`): delivers TCP skbs to
//! the same namespace's TCP input as a zero-latency event.

use std::net::{IpAddr, Ipv4Addr};

use crate::error::KResult;
use crate::kernel::Kernel;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::ipv4::route::Route4;
use crate::net::ipv4::tcp_input::IpInfo;
use crate::time::KernelEvent;

/// Kernel: `ip_queue_xmit()`: `skb.head` starts with the transport header.
pub fn ip_queue_xmit(
    k: &mut Kernel,
    netns: NetNsId,
    route: &Route4,
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    proto: u8,
    skb: Skb,
) -> KResult<()> {
    if proto != crate::net::ipv6::ip6_output::IPPROTO_TCP {
        return Ok(());
    }
    let dev = route.dev;
    let now = k.clock();
    k.schedule(
        now,
        KernelEvent::Run(Box::new(move |k: &mut Kernel| {
            let ip = IpInfo {
                saddr: IpAddr::V4(saddr),
                daddr: IpAddr::V4(daddr),
            };
            crate::net::ipv4::tcp_input::tcp_v4_rcv(k, netns, dev, ip, skb);
        })),
    );
    Ok(())
}
