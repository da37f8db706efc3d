//! Kernel: `net/ipv6/`.

pub mod ip6_output;
pub mod route;
