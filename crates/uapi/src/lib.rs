//! Linux UAPI numbers and wire layouts used by devmem-netkit.
//!
//! Numbers and layouts only: no logic, no I/O. Every constant keeps the
//! name it has in the kernel header it comes from, so one search finds it in
//! both trees.
#![no_std]

pub mod bpf;
pub mod errno;
pub mod ethtool;
pub mod genetlink;
pub mod netdev;
pub mod netlink;
pub mod rtnetlink;
pub mod socket;
pub mod udmabuf;
