//! Linux UAPI numbers and wire layouts used by devmem-netkit.
//!
//! Numbers and layouts only: no logic, no I/O. Every constant keeps the
//! name it has in the kernel header it comes from, so one search finds it in
//! both trees. Values are x86_64's where an architecture matters.
//!
//! Value enums (`QueueType`, `NetkitMode`, ...) follow rust-netlink's shape: a
//! `#[non_exhaustive]` enum with an `Other(..)` arm, `From` in both directions and
//! `Display`/`FromStr` in the words YNL or iproute2 print.
#![no_std]
#![deny(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod bpf;
pub mod errno;
pub mod ether;
pub mod ethtool;
pub mod genetlink;
pub mod inet;
pub mod netdev;
pub mod netlink;
pub mod rtnetlink;
pub mod socket;
pub mod udmabuf;

mod layout;
mod value_enum;

pub use layout::TooShort;
pub use value_enum::UnknownWord;
