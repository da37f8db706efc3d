//! Shared reply-reading helpers: lenient, as YNL's parsers are (unknown attributes are
//! skipped; a known attribute of the wrong size is a decode error).

use netlink::attr::Attrs;
use netlink::client::OwnedMsg;
use uapi::genetlink::GENL_HDRLEN;
use uapi::netlink::{NLMSG_HDRLEN, nlmsg_align};

/// The top-level attributes after the genl header, offsets relative to `nlmsghdr`.
pub(crate) fn genl_attrs(m: &OwnedMsg) -> Result<Attrs<'_>, netlink::Error> {
    let rest = m
        .payload
        .get(GENL_HDRLEN..)
        .ok_or(netlink::Error::DecodeError {
            what: "message too short for genlmsghdr",
            offset: NLMSG_HDRLEN,
        })?;
    Ok(Attrs::new(rest, NLMSG_HDRLEN + GENL_HDRLEN))
}

/// The attributes after a fixed family header of `hdrlen` bytes (rtnetlink).
pub(crate) fn attrs_after(m: &OwnedMsg, hdrlen: usize) -> Result<Attrs<'_>, netlink::Error> {
    let skip = nlmsg_align(hdrlen);
    let rest = m.payload.get(skip..).ok_or(netlink::Error::DecodeError {
        what: "message too short for its family header",
        offset: NLMSG_HDRLEN,
    })?;
    Ok(Attrs::new(rest, NLMSG_HDRLEN + skip))
}
