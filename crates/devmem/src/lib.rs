//! devmem: what applications use, in either world.
//!
//! One API over two worlds (DESIGN.md "Layers"): every client here talks netlink
//! through a [`transport::NetlinkTransport`], which is either the real kernel
//! ([`transport::KernelTransport`], AF_NETLINK) or the emulator (over a unix socket,
//! [`transport::UnixTransport`]; in process later). The bytes are the same in both.
//!
//! Modules, bottom up:
//!
//! - [`transport`]: one datagram in, one datagram out, plus fd passing.
//! - [`emulator`]: the emulated kernel as a transport (in process) and as a server
//!   (`nkdevmem serve`).
//! - [`conn`]: sequence numbers and the `netlink` crate's sans-IO request tracker.
//! - [`genl`]: generic netlink: family resolution through `nlctrl`, do and dump.
//! - [`netdev`], [`ethtool`]: typed, ynl-like clients of the two genl families.
//! - [`rtnl`]: rtnetlink links (netkit, veth), addresses and routes.
//! - [`dmabuf`]: the memory a process binds (udmabuf on real hosts, memfd for the emulator).
//! - [`os`]: the process-side socket API (TCP, devmem cmsgs, error queue, poll) in both worlds.
//!
//! Requests put attributes exactly as the kernel selftests' YNL does (same order, same
//! nesting, `NLA_F_NESTED` on nests); replies are parsed leniently, as YNL does: unknown
//! attributes are ignored.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod conn;
pub mod dmabuf;
pub mod emulator;
mod error;
pub mod ethtool;
pub mod genl;
pub mod netdev;
pub mod os;
mod reply;
pub mod rtnl;
pub mod transport;

#[cfg(test)]
mod testutil;

pub use error::Error;
