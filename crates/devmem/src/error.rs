//! The one error type of every client.

use std::fmt;
use std::io;

use netlink::client::NlError;

/// What a client call can fail with.
#[derive(Debug)]
pub enum Error {
    /// The kernel (or emulator) answered `NLMSG_ERROR` (or a failed `NLMSG_DONE`):
    /// errno and extack.
    Netlink(NlError),
    /// The transport failed (socket error, peer hung up).
    Io(io::Error),
    /// A reply could not be decoded.
    Decode(netlink::Error),
    /// A reply lacked an attribute the call needs (named as YNL names it).
    MissingAttr(&'static str),
}

impl Error {
    /// The positive errno of a netlink error, if this is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Netlink(e) => Some(e.errno),
            Error::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }

    /// The extack message of a netlink error, if any.
    pub fn extack_msg(&self) -> Option<&str> {
        match self {
            Error::Netlink(e) => e.msg.as_deref(),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    /// Netlink errors print as ynl prints them: "Netlink error: No such device (errno 19)"
    /// followed by the extack message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Netlink(e) => e.fmt(f),
            Error::Io(e) => write!(f, "netlink transport: {e}"),
            Error::Decode(e) => e.fmt(f),
            Error::MissingAttr(name) => write!(f, "reply lacks attribute '{name}'"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Netlink(e) => Some(e),
            Error::Io(e) => Some(e),
            Error::Decode(e) => Some(e),
            Error::MissingAttr(_) => None,
        }
    }
}

impl From<NlError> for Error {
    fn from(e: NlError) -> Self {
        Error::Netlink(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<netlink::Error> for Error {
    fn from(e: netlink::Error) -> Self {
        Error::Decode(e)
    }
}
