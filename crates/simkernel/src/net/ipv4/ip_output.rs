//! IPv4 output.
//!
//! PLACEHOLDER owned by the plumbing half (kernel: `ip_queue_xmit()`): hands TCP skbs to the
//! device's namespace L4 hook as a zero-latency event. Same signature as the real one.

use std::net::{IpAddr, Ipv4Addr};

use wire::ip::IpProtocol;

use crate::error::KResult;
use crate::event::KernelEvent;
use crate::kernel::Kernel;
use crate::net::core::skbuff::Skb;
use crate::net::inet::IpInfo;
use crate::net::ipv4::route::Route4;

impl Kernel {
    /// Kernel: `ip_queue_xmit()`: `skb.head` starts with the transport header.
    pub fn ip_queue_xmit(
        &mut self,
        route: &Route4,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        proto: IpProtocol,
        skb: Skb,
    ) -> KResult<()> {
        if proto != IpProtocol::Tcp {
            return Ok(());
        }
        let Some(netns) = self.try_device(route.dev).map(|d| d.netns) else {
            return Ok(());
        };
        let ip = IpInfo {
            saddr: IpAddr::V4(saddr),
            daddr: IpAddr::V4(daddr),
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
