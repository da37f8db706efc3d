//! Kernel: `net/ipv6/`: addresses, routes, neighbour discovery, input, output and
//! forwarding, ICMPv6.

pub mod addrconf;
pub mod icmp;
pub mod ip6_input;
pub mod ip6_output;
pub mod ndisc;
pub mod route;
