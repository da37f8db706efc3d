//! `RTM_NEWNSID` / `RTM_GETNSID`: the ids a namespace gives its peers.
//!
//! Kernel: net/core/net_namespace.c `rtnl_net_newid()`, `rtnl_net_getid()`,
//! `rtnl_net_fill()`. `ip netns set NAME ID` sends NEWNSID with `NETNSA_FD` (an fd of
//! `/run/netns/NAME`) and `NETNSA_NSID`; an nsid below 0 asks for the next free one.
//! The fixed header is a one-byte `struct rtgenmsg`, padded to 4.

use netlink::attr::Attr;
use netlink::msg::MsgBuilder;
use netlink::policy::{ExtAckError, Parsed};
use uapi::errno::{EEXIST, EINVAL, ENOENT};
use uapi::rtnetlink::*;

use super::policy::RTNL_NET_POLICY;
use super::{RtnlReq, kerr, nla_get_s32, nla_get_u32, nlmsg_parse_deprecated};
use crate::kernel::Kernel;
use crate::net::core::net_namespace::NetNsId;

/// `sizeof(struct rtgenmsg)`.
const RTGENMSG: usize = 1;

impl Kernel {
    /// The peer a NETNSA_PID / NETNSA_FD names, with the attribute that named it.
    fn rtnl_net_peer<'a>(
        &self,
        r: &RtnlReq<'_>,
        tb: &Parsed<'a>,
    ) -> Option<(Result<NetNsId, ExtAckError>, Attr<'a>)> {
        if let Some(a) = tb.get(NETNSA_PID) {
            return Some((self.get_net_ns_by_pid(nla_get_u32(&a)).map_err(kerr), a));
        }
        if let Some(a) = tb.get(NETNSA_FD) {
            let fd = nla_get_u32(&a) as i32;
            return Some((self.get_net_ns_by_fd(r.caller.pid, fd).map_err(kerr), a));
        }
        None
    }

    /// Kernel: `rtnl_net_newid()`.
    pub(crate) fn rtnl_net_newid(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, RTGENMSG, &RTNL_NET_POLICY)?;
        let nsid_attr = tb
            .get(NETNSA_NSID)
            .ok_or(ExtAckError::new(EINVAL).msg("nsid is missing"))?;
        let nsid = nla_get_s32(&nsid_attr);
        let (peer, nla) = self
            .rtnl_net_peer(r, &tb)
            .ok_or(ExtAckError::new(EINVAL).msg("Peer netns reference is missing"))?;
        let peer = peer.map_err(|e| {
            ExtAckError::new(e.errno)
                .bad_attr(&nla)
                .msg("Peer netns reference is invalid")
        })?;
        let net = r.caller.netns;
        if self.peernet2id(net, peer).is_some() {
            return Err(ExtAckError::new(EEXIST)
                .bad_attr(&nla)
                .msg("Peer netns already has a nsid assigned"));
        }
        if nsid < 0 {
            // alloc_netid() with no request: the lowest free id.
            self.peernet2id_alloc(net, peer);
            return Ok(tb.warning);
        }
        if self.get_net_ns_by_id(net, nsid).is_some() {
            return Err(ExtAckError::new(EEXIST)
                .bad_attr(&nsid_attr)
                .msg("The specified nsid is already used"));
        }
        self.netns_set_id(net, peer, nsid).map_err(kerr)?;
        Ok(tb.warning)
    }

    /// Kernel: `rtnl_net_getid()` (non-strict request validation; `NETNSA_TARGET_NSID`
    /// is not modelled) and `rtnl_net_fill()`: a `RTM_NEWNSID` with `NETNSA_NSID`,
    /// -1 when the peer has no id here.
    pub(crate) fn rtnl_net_getid(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, RTGENMSG, &RTNL_NET_POLICY)?;
        let net = r.caller.netns;
        let (peer, nla) = match self.rtnl_net_peer(r, &tb) {
            Some(p) => p,
            None => match tb.get(NETNSA_NSID) {
                Some(a) => (
                    self.get_net_ns_by_id(net, nla_get_s32(&a))
                        .ok_or(ExtAckError::new(ENOENT)),
                    a,
                ),
                None => {
                    return Err(ExtAckError::new(EINVAL).msg("Peer netns reference is missing"));
                }
            },
        };
        let peer = peer.map_err(|e| {
            ExtAckError::new(e.errno)
                .bad_attr(&nla)
                .msg("Peer netns reference is invalid")
        })?;
        let id = self
            .peernet2id(net, peer)
            .unwrap_or(NETNSA_NSID_NOT_ASSIGNED);
        let mut b = MsgBuilder::new(RTM_NEWNSID, 0, r.hdr.nlmsg_seq, r.portid)
            .raw_header(&[AF_UNSPEC, 0, 0, 0]);
        b.put_s32(NETNSA_NSID, id);
        self.netlink_unicast(r.caller.sock, b.finish());
        Ok(tb.warning)
    }
}
