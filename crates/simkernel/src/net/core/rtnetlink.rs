//! rtnetlink (`NETLINK_ROUTE`): the subset the selftest environment drives — links
//! (netkit and veth pairs, up/down, netns moves, delete), addresses, routes and netns
//! ids — with the kernel's parsing strictness, error order and extack strings.
//!
//! Kernel: `net/core/rtnetlink.c` `rtnetlink_rcv_msg()` dispatches on message type and
//! family: link messages are `PF_UNSPEC` handlers (any family reaches them), addresses
//! and routes exist only for `AF_INET` / `AF_INET6`, netns ids are `PF_UNSPEC`.
//! Anything else is `EOPNOTSUPP`, as for a type without a registered handler. Every
//! request but a GET needs `CAP_NET_ADMIN` (`EPERM`). Most handlers parse with
//! `nlmsg_parse_deprecated()` (liberal: unknown types skipped, trailing bytes only
//! warned about); link GET/dump parse strictly only on sockets with
//! `NETLINK_GET_STRICT_CHK`.
//!
//! - [`link`]: `rtnl_getlink()`, `rtnl_dump_ifinfo()`, `rtnl_fill_ifinfo()`,
//!   `rtnl_newlink()` (create / change), `rtnl_dellink()`, `rtnl_setlink()`.
//! - [`addr`]: `inet6_rtm_newaddr()`, `inet_rtm_newaddr()`.
//! - [`route`]: `inet6_rtm_newroute()`, `inet_rtm_newroute()`.
//! - [`nsid`]: `rtnl_net_newid()`, `rtnl_net_getid()`.
//! - [`policy`]: the attribute policies.
//!
//! Not modelled: notifications to `RTNLGRP_*` listeners, address / route / nsid
//! dumps and deletes, `IFLA_AF_SPEC`, VFs, XDP attach, alternative names.

pub mod addr;
pub mod link;
pub mod nsid;
pub mod policy;
pub mod route;

use netlink::ack::AckOpts;
use netlink::attr::Attr;
use netlink::policy::{ExtAckError, Parsed, Policy, Strictness, parse};
use uapi::errno::{EINVAL, EOPNOTSUPP, EPERM};
use uapi::inet::{AF_INET, AF_INET6};
use uapi::netlink::{NLM_F_DUMP, NLMSG_HDRLEN, NlMsgHdr, nlmsg_align};
use uapi::rtnetlink::*;

use crate::error::KernelError;
use crate::kernel::{Caller, Kernel};
use crate::net::netlink::af_netlink::Handled;

/// One request being handled: the message, who sent it and on which socket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RtnlReq<'a> {
    /// The whole message (`nlmsg_len` bytes).
    pub raw: &'a [u8],
    /// Its header.
    pub hdr: NlMsgHdr,
    /// The sender.
    pub caller: Caller,
    /// The socket's port id (replies go there).
    pub portid: u32,
    /// The socket's ack options (for a dump's DONE).
    pub opts: AckOpts,
    /// `NETLINK_GET_STRICT_CHK` on the socket.
    pub strict_chk: bool,
}

impl RtnlReq<'_> {
    /// The payload after the `nlmsghdr`.
    pub fn payload(&self) -> &[u8] {
        self.raw.get(NLMSG_HDRLEN..).unwrap_or(&[])
    }

    /// `nlh->nlmsg_flags & flag`.
    pub fn has_flag(&self, flag: u16) -> bool {
        self.hdr.nlmsg_flags & flag != 0
    }
}

/// A kernel error as the extack the ack carries (errno plus message).
pub(crate) fn kerr(e: KernelError) -> ExtAckError {
    let mut x = ExtAckError::new(e.errno);
    if let Some(m) = e.msg {
        x = x.msg(m);
    }
    x
}

/// Kernel: `__nlmsg_parse()`: a message shorter than its fixed header is `EINVAL`
/// "Invalid header length"; the attributes after the (aligned) header are parsed
/// against `policy` with `strict`.
pub(crate) fn nlmsg_parse<'a>(
    raw: &'a [u8],
    hdrlen: usize,
    policy: &Policy,
    strict: Strictness,
) -> Result<Parsed<'a>, ExtAckError> {
    if raw.len() < NLMSG_HDRLEN + hdrlen {
        return Err(ExtAckError::new(EINVAL).msg("Invalid header length"));
    }
    let off = (NLMSG_HDRLEN + nlmsg_align(hdrlen)).min(raw.len());
    parse(policy, &raw[off..], off, strict)
}

/// Kernel: `nlmsg_parse_deprecated()`.
pub(crate) fn nlmsg_parse_deprecated<'a>(
    raw: &'a [u8],
    hdrlen: usize,
    policy: &Policy,
) -> Result<Parsed<'a>, ExtAckError> {
    nlmsg_parse(raw, hdrlen, policy, Strictness::LIBERAL)
}

/// Reads the first `N` bytes of a payload the policy already sized (zero-filled when a
/// liberal parse let a short one through, which the policy types here never do).
fn prefix<const N: usize>(a: &Attr<'_>) -> [u8; N] {
    let mut b = [0u8; N];
    let n = a.value.len().min(N);
    b[..n].copy_from_slice(&a.value[..n]);
    b
}

/// Kernel: `nla_get_u32()` (no length check: the policy did it).
pub(crate) fn nla_get_u32(a: &Attr<'_>) -> u32 {
    u32::from_ne_bytes(prefix(a))
}

/// Kernel: `nla_get_s32()`.
pub(crate) fn nla_get_s32(a: &Attr<'_>) -> i32 {
    i32::from_ne_bytes(prefix(a))
}

/// Kernel: `nla_get_u16()`.
pub(crate) fn nla_get_u16(a: &Attr<'_>) -> u16 {
    u16::from_ne_bytes(prefix(a))
}

/// Kernel: `nla_strscpy(dst, nla, size)`: the bytes up to the first NUL, at most
/// `size - 1` of them (non-UTF-8 bytes are replaced; device names are ASCII).
pub(crate) fn nla_strscpy(a: &Attr<'_>, size: usize) -> String {
    let v = a.value;
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end.min(size.saturating_sub(1))]).into_owned()
}

/// Kernel: `rtnl_msgtype_kind()`: NEW, DEL, GET, SET by the low two bits.
fn is_get(ty: u16) -> bool {
    ty >= RTM_BASE && (ty - RTM_BASE) & 3 == 2
}

impl Kernel {
    /// Kernel: `rtnetlink_rcv_msg()`.
    pub(crate) fn rtnetlink_rcv_msg(
        &mut self,
        caller: &Caller,
        portid: u32,
        opts: AckOpts,
        raw: &[u8],
    ) -> Result<Handled, ExtAckError> {
        let hdr = NlMsgHdr::from_bytes(raw).map_err(|_| ExtAckError::new(EINVAL))?;
        let strict_chk = self.netlink_sock(caller.sock).is_some_and(|s| s.strict_chk);
        let r = RtnlReq {
            raw,
            hdr,
            caller: *caller,
            portid,
            opts,
            strict_chk,
        };
        // "All the messages must have at least 1 byte length": shorter ones are
        // silently accepted.
        let Some(&family) = r.payload().first() else {
            return Ok(Handled::Done { warning: None });
        };
        let ty = hdr.nlmsg_type;
        let get = is_get(ty);
        if !get && !caller.cred.cap_net_admin {
            return Err(ExtAckError::new(EPERM));
        }
        if get && r.has_flag(NLM_F_DUMP) {
            return match ty {
                RTM_GETLINK => {
                    self.rtnl_dump_ifinfo(&r);
                    Ok(Handled::Dump)
                }
                _ => Err(ExtAckError::new(EOPNOTSUPP)),
            };
        }
        let done = |w: Option<&'static str>| Handled::Done {
            warning: w.map(|m| ExtAckError::new(0).msg(m)),
        };
        match (ty, family) {
            (RTM_GETLINK, _) => self.rtnl_getlink(&r).map(done),
            (RTM_NEWLINK, _) => self.rtnl_newlink(&r).map(done),
            (RTM_SETLINK, _) => self.rtnl_setlink(&r).map(done),
            (RTM_DELLINK, _) => self.rtnl_dellink(&r).map(done),
            (RTM_NEWADDR, AF_INET6) => self.inet6_rtm_newaddr(&r).map(done),
            (RTM_NEWADDR, AF_INET) => self.inet_rtm_newaddr(&r).map(done),
            (RTM_NEWROUTE, AF_INET6) => self.inet6_rtm_newroute(&r).map(done),
            (RTM_NEWROUTE, AF_INET) => self.inet_rtm_newroute(&r).map(done),
            (RTM_NEWNSID, _) => self.rtnl_net_newid(&r).map(done),
            (RTM_GETNSID, _) => self.rtnl_net_getid(&r).map(done),
            _ => Err(ExtAckError::new(EOPNOTSUPP)),
        }
    }
}

#[cfg(test)]
mod tests;
