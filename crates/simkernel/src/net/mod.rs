//! Kernel: `net/`.

pub mod core;
pub mod ethtool;
pub mod inet;
pub mod ipv4;
pub mod ipv6;
pub mod netlink;
pub mod sched;
