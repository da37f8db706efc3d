//! The netlink codec shared by the emulated kernel (server side) and the clients.
//!
//! Layers, in the order a message meets them:
//!
//! - [`msg`]: `nlmsghdr` framing. [`msg::MsgBuilder`] writes one message with the
//!   kernel's padding; [`msg::messages`] walks a received datagram.
//! - [`attr`]: attribute TLVs and nests, read with exact-length getters.
//! - [`policy`]: the kernel's `nla_policy` as const data and [`policy::parse`], a model of
//!   `__nla_validate_parse()` that fails with the kernel's errno and extack.
//! - [`ack`]: the server's `NLMSG_ERROR` and `NLMSG_DONE` messages, byte for byte as
//!   `netlink_ack()` and `netlink_dump_done()` build them.
//! - [`client`]: a sans-IO request tracker (netlink-proto's `Protocol` shape).
//! - [`family`]: generic netlink dispatch (`genl_family_rcv_msg()`), the netdev family's
//!   op table and the `nlctrl` controller.
//!
//! Fuzzing: `crates/netlink/fuzz` is a cargo-fuzz project (its own workspace) with the
//! targets `parse_messages` (client decoders) and `policy_parse` (server validation);
//! run `cargo fuzz run -s none <target>` from that directory on stable.
//!
//! Nothing here panics on input bytes: every malformed header, length or nest is an
//! [`Error`] (decoding) or an [`policy::ExtAckError`] (validation).
#![deny(unsafe_code)]
// Tests unwrap freely: a panic there is a failed assertion on our own bytes.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod ack;
pub mod attr;
pub mod client;
mod errno;
pub mod family;
pub mod msg;
pub mod policy;

use std::fmt;

/// Bytes that cannot be decoded: what was wrong and where.
///
/// `offset` counts from the start of the buffer handed to the decoder that failed
/// (a datagram for [`msg::messages`], the message's `nlmsghdr` for attributes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Malformed or truncated input.
    DecodeError {
        /// What was wrong, e.g. "truncated nlmsghdr".
        what: &'static str,
        /// Where it was found.
        offset: usize,
    },
}

impl Error {
    pub(crate) const fn decode(what: &'static str, offset: usize) -> Self {
        Error::DecodeError { what, offset }
    }

    /// What was wrong.
    pub fn what(&self) -> &'static str {
        match self {
            Error::DecodeError { what, .. } => what,
        }
    }

    /// Where it was found.
    pub fn offset(&self) -> usize {
        match self {
            Error::DecodeError { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::DecodeError { what, offset } => {
                write!(f, "netlink decode error at offset {offset}: {what}")
            }
        }
    }
}

impl std::error::Error for Error {}
