//! What the IP layers hand to the transport layers, and the sockets layer's entry points.
//!
//! The IP input paths deliver TCP to the sockets layer through [`L4Hooks`]: `tcp_v6_rcv` /
//! `tcp_v4_rcv` with the skb's head starting at the TCP header. The sockets layer
//! registers its functions in [`Kernel::new`].

use std::net::IpAddr;

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

/// The IP header facts a transport protocol needs (kernel: `ipv6_hdr(skb)` / `ip_hdr(skb)`
/// as seen from `tcp_v6_rcv()` / `tcp_v4_rcv()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpInfo {
    /// Source address.
    pub saddr: IpAddr,
    /// Destination address.
    pub daddr: IpAddr,
    /// Hop limit / TTL as received.
    pub hop_limit: u8,
    /// Traffic class / TOS.
    pub tclass: u8,
    /// Transport length (header + payload) from the IP header.
    pub payload_len: usize,
}

/// `tcp_v6_rcv` / `tcp_v4_rcv` shape.
pub type L4Rcv = fn(&mut Kernel, NetNsId, DevId, IpInfo, Skb);
/// `tcp_v6_err` shape: the offending packet's IP facts, its first transport bytes, errno.
pub type L4Err = fn(&mut Kernel, NetNsId, IpInfo, &[u8], i32);

/// Transport entry points registered by the sockets layer.
#[derive(Debug, Default, Clone, Copy)]
pub struct L4Hooks {
    /// Kernel: `tcp_v6_rcv()`.
    pub tcp_v6_rcv: Option<L4Rcv>,
    /// Kernel: `tcp_v4_rcv()`.
    pub tcp_v4_rcv: Option<L4Rcv>,
    /// Kernel: `tcp_v6_err()` / `tcp_v4_err()`.
    pub l4_err: Option<L4Err>,
    /// A TCP timer fired ([`crate::event::KernelEvent::TcpTimer`]).
    pub tcp_timer: Option<fn(&mut Kernel, u64)>,
}

impl L4Hooks {
    /// The sockets layer's entry points.
    pub fn sockets() -> Self {
        L4Hooks {
            tcp_v6_rcv: Some(crate::net::ipv4::tcp_input::tcp_v6_rcv),
            tcp_v4_rcv: Some(crate::net::ipv4::tcp_input::tcp_v4_rcv),
            l4_err: None,
            tcp_timer: Some(crate::net::ipv4::tcp_output::tcp_write_timer),
        }
    }
}
