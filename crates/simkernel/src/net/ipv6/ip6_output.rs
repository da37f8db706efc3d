//! IPv6 output.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `net/ipv6/ip6_output.c`,
//! `ip6_xmit()`): until neighbour resolution and the devices' RX paths land, a TCP skb is
//! handed to the same namespace's L4 hook as a zero-latency event. Same signature as the
//! real one.

use std::net::{IpAddr, Ipv6Addr};

use wire::ip::IpProtocol;

use crate::error::KResult;
use crate::event::KernelEvent;
use crate::kernel::Kernel;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;
use crate::net::inet::IpInfo;
use crate::net::ipv6::route::Route6;

impl Kernel {
    /// Kernel: `ip6_xmit()`: `skb.head` starts with the transport header.
    pub fn ip6_xmit(
        &mut self,
        netns: NetNsId,
        route: &Route6,
        saddr: Ipv6Addr,
        daddr: Ipv6Addr,
        proto: IpProtocol,
        skb: Skb,
    ) -> KResult<()> {
        if proto != IpProtocol::Tcp {
            return Ok(());
        }
        let ip = IpInfo {
            saddr: IpAddr::V6(saddr),
            daddr: IpAddr::V6(daddr),
            hop_limit: 64,
            tclass: 0,
            payload_len: skb.len(),
        };
        let now = self.now();
        self.schedule(
            now,
            KernelEvent::L4Deliver {
                netns,
                dev: route.dev,
                ip,
                skb,
            },
        );
        Ok(())
    }
}
