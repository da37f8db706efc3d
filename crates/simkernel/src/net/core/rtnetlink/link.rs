//! Link messages: get, dump, create (netkit, veth), change (up/down, netns, mtu,
//! name, address), delete.
//!
//! Kernel: net/core/rtnetlink.c `rtnl_getlink()`, `rtnl_dump_ifinfo()`,
//! `rtnl_fill_ifinfo()`, `rtnl_newlink()` → `__rtnl_newlink()` →
//! `rtnl_changelink()` / `rtnl_newlink_create()` → `rtnl_create_link()` and the
//! driver's `newlink` (drivers/net/netkit.c `netkit_new_link()`, drivers/net/veth.c
//! `veth_newlink()`), `do_setlink()`, `rtnl_dellink()`.
//!
//! `rtnl_fill_ifinfo()` is reduced to the attributes clients of the emulator read, in
//! the kernel's order: `IFLA_IFNAME`, `IFLA_MTU`, `IFLA_NUM_TX_QUEUES`,
//! `IFLA_NUM_RX_QUEUES`, `IFLA_ADDRESS` / `IFLA_BROADCAST`, `IFLA_LINKINFO` (kind and,
//! for netkit, `netkit_fill_info()`), `IFLA_LINK_NETNSID` and `IFLA_LINK`
//! (`rtnl_fill_link_netnsid()`: the peer's ifindex, forced when the peer lives in
//! another namespace). The kernel's other attributes (txqlen, operstate, stats, ...)
//! are left out, so a reply is shorter than Linux's but every attribute present has
//! Linux's type, layout and position relative to the others.

use netlink::ack::done_for;
use netlink::msg::MsgBuilder;
use netlink::policy::{ExtAckError, Parsed, Strictness, parse, parse_nested_deprecated};
use uapi::errno::{EACCES, EADDRNOTAVAIL, EEXIST, EINVAL, ENODEV, EOPNOTSUPP, EPERM};
use uapi::netlink::{
    NLA_HDRLEN, NLM_F_CREATE, NLM_F_DUMP_FILTERED, NLM_F_EXCL, NLM_F_MULTI, NLM_F_REPLACE,
};
use uapi::rtnetlink::*;

use super::policy::{IFLA_INFO_POLICY, IFLA_POLICY, NETKIT_POLICY, VETH_POLICY};
use super::{RtnlReq, kerr, nla_get_s32, nla_get_u16, nla_get_u32, nla_strscpy, nlmsg_parse};
use crate::drivers::netkit::{NETKIT_NUM_RX_QUEUES_MAX, NETKIT_NUM_TX_QUEUES_MAX, NetkitConfig};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::net::core::net_namespace::NetNsId;

/// Kernel: `MODULE_NAME_LEN`, the longest kind `rtnl_newlink()` copies.
const MODULE_NAME_LEN: usize = 56;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG: usize = IfInfoMsg::SIZE;
/// Kernel: `ETH_MIN_MTU` / `ETH_MAX_MTU`, the limits `ether_setup()` devices get.
const ETH_MIN_MTU: u32 = 68;
const ETH_MAX_MTU: u32 = 65535;

/// The `rtnl_link_ops` the emulator has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkOps {
    Netkit,
    Veth,
}

impl LinkOps {
    /// Kernel: `rtnl_link_ops_get(kind)`.
    fn get(kind: &str) -> Option<Self> {
        match kind {
            "netkit" => Some(LinkOps::Netkit),
            "veth" => Some(LinkOps::Veth),
            _ => None,
        }
    }

    /// `ops->kind`.
    fn kind(self) -> &'static str {
        match self {
            LinkOps::Netkit => "netkit",
            LinkOps::Veth => "veth",
        }
    }

    /// `ops->policy` / `ops->maxtype`.
    fn policy(self) -> &'static netlink::policy::Policy {
        match self {
            LinkOps::Netkit => &NETKIT_POLICY,
            LinkOps::Veth => &VETH_POLICY,
        }
    }

    /// `ops->peer_type`.
    fn peer_type(self) -> u16 {
        match self {
            LinkOps::Netkit => IFLA_NETKIT_PEER_INFO,
            LinkOps::Veth => VETH_INFO_PEER,
        }
    }

    /// `dev->rtnl_link_ops` of a device.
    fn of(kind: &DeviceKind) -> Option<Self> {
        match kind {
            DeviceKind::Netkit(_) => Some(LinkOps::Netkit),
            DeviceKind::Veth(_) => Some(LinkOps::Veth),
            _ => None,
        }
    }

    /// Kernel: `netkit_validate()` / `veth_validate()` on a (main or peer) `tb`.
    fn validate(self, tb: &Parsed<'_>) -> Result<(), ExtAckError> {
        if let Some(a) = tb.get(IFLA_ADDRESS) {
            if a.value.len() != 6 {
                return Err(ExtAckError::new(EINVAL));
            }
            // is_valid_ether_addr(): not multicast, not all zero.
            if a.value[0] & 1 != 0 || a.value.iter().all(|&b| b == 0) {
                return Err(ExtAckError::new(EADDRNOTAVAIL));
            }
        }
        if self == LinkOps::Veth
            && let Some(a) = tb.get(IFLA_MTU)
        {
            let mtu = nla_get_u32(&a);
            if !(ETH_MIN_MTU..=ETH_MAX_MTU).contains(&mtu) {
                return Err(ExtAckError::new(EINVAL));
            }
        }
        Ok(())
    }
}

/// What a link dump walks: (namespace, kind filter — `Some(None)` matches devices
/// without link ops —, every device filtered out by master, message flags).
type DumpFilter = (NetNsId, Option<Option<LinkOps>>, bool, u16);

/// A peer's `struct ifinfomsg` and attributes (`IFLA_NETKIT_PEER_INFO`,
/// `VETH_INFO_PEER`).
struct PeerInfo<'a> {
    tb: Parsed<'a>,
}

/// Kernel: `rtnl_nla_parse_ifinfomsg()`: a negative ifindex is "ifindex can't be
/// negative"; the attributes after the header parse liberally against `ifla_policy`.
fn parse_ifinfomsg<'a>(nla: &netlink::attr::Attr<'a>) -> Result<PeerInfo<'a>, ExtAckError> {
    // The policy guaranteed at least sizeof(struct ifinfomsg).
    let ifm = IfInfoMsg::from_bytes(nla.value).map_err(|_| ExtAckError::new(EINVAL))?;
    if ifm.ifi_index < 0 {
        return Err(ExtAckError::new(EINVAL)
            .msg("ifindex can't be negative")
            .bad_attr(nla));
    }
    let rest = nla.value.get(IFINFOMSG..).unwrap_or(&[]);
    let tb = parse(
        &IFLA_POLICY,
        rest,
        nla.offset + NLA_HDRLEN + IFINFOMSG,
        Strictness::LIBERAL,
    )?;
    Ok(PeerInfo { tb })
}

/// Kernel: `rtnl_ensure_unique_netns()`.
fn ensure_unique_netns(tb: &Parsed<'_>, netns_id_only: bool) -> Result<(), ExtAckError> {
    let pid = tb.get(IFLA_NET_NS_PID).is_some();
    let fd = tb.get(IFLA_NET_NS_FD).is_some();
    let id = tb.get(IFLA_TARGET_NETNSID).is_some();
    if netns_id_only {
        if pid || fd {
            return Err(ExtAckError::new(EOPNOTSUPP).msg("specified netns attribute not supported"));
        }
        return Ok(());
    }
    if u8::from(pid) + u8::from(fd) + u8::from(id) > 1 {
        return Err(ExtAckError::new(EINVAL).msg("multiple netns identifying attributes specified"));
    }
    Ok(())
}

/// Kernel: `rtnl_dev_combine_flags()`: `ifi_change` 0 means "all bits".
fn combine_flags(dev_flags: u32, ifm: &IfInfoMsg) -> u32 {
    if ifm.ifi_change != 0 {
        (ifm.ifi_flags & ifm.ifi_change) | (dev_flags & !ifm.ifi_change)
    } else {
        ifm.ifi_flags
    }
}

impl Kernel {
    /// Kernel: `rtnl_link_get_net_ifla()`: `IFLA_NET_NS_PID`, else `IFLA_NET_NS_FD`,
    /// resolved in the caller's process.
    fn rtnl_link_get_net_ifla(
        &self,
        r: &RtnlReq<'_>,
        tb: &Parsed<'_>,
    ) -> Result<Option<NetNsId>, ExtAckError> {
        if let Some(a) = tb.get(IFLA_NET_NS_PID) {
            return self
                .get_net_ns_by_pid(nla_get_u32(&a))
                .map(Some)
                .map_err(kerr);
        }
        if let Some(a) = tb.get(IFLA_NET_NS_FD) {
            let fd = nla_get_u32(&a) as i32;
            return self
                .get_net_ns_by_fd(r.caller.pid, fd)
                .map(Some)
                .map_err(kerr);
        }
        Ok(None)
    }

    /// Kernel: `rtnl_link_get_net_by_nlattr()`: PID / FD, else `IFLA_TARGET_NETNSID`
    /// (EINVAL when unknown), else the socket's namespace.
    fn rtnl_link_get_net_by_nlattr(
        &self,
        r: &RtnlReq<'_>,
        tb: &Parsed<'_>,
    ) -> Result<NetNsId, ExtAckError> {
        if let Some(ns) = self.rtnl_link_get_net_ifla(r, tb)? {
            return Ok(ns);
        }
        match tb.get(IFLA_TARGET_NETNSID) {
            None => Ok(r.caller.netns),
            Some(a) => self
                .get_net_ns_by_id(r.caller.netns, nla_get_s32(&a))
                .ok_or(ExtAckError::new(EINVAL)),
        }
    }

    /// Kernel: `rtnl_get_net_ns_capable()` for `IFLA_TARGET_NETNSID` of get/del.
    fn rtnl_target_net(&self, r: &RtnlReq<'_>, tb: &Parsed<'_>) -> Result<NetNsId, ExtAckError> {
        match tb.get(IFLA_TARGET_NETNSID) {
            None => Ok(r.caller.netns),
            Some(a) => self
                .get_net_ns_by_id(r.caller.netns, nla_get_s32(&a))
                .ok_or(ExtAckError::new(EINVAL)),
        }
    }

    /// Kernel: `rtnl_dev_get()`: by `IFLA_IFNAME`, else `IFLA_ALT_IFNAME` (the
    /// emulator has no alternative names, so that one finds only primary names).
    fn rtnl_dev_get(&self, ns: NetNsId, tb: &Parsed<'_>) -> Option<DevId> {
        let name = if let Some(a) = tb.get(IFLA_IFNAME) {
            nla_strscpy(&a, IFNAMSIZ)
        } else {
            nla_strscpy(&tb.get(IFLA_ALT_IFNAME)?, 128)
        };
        self.dev_get_by_name(ns, &name)
    }

    /// The device a get/del/set request names: `ifi_index` if positive, else by
    /// name; `Err(None)` when it names none.
    fn rtnl_named_dev(
        &self,
        ns: NetNsId,
        ifm: &IfInfoMsg,
        tb: &Parsed<'_>,
    ) -> Result<Option<DevId>, ()> {
        if ifm.ifi_index > 0 {
            Ok(self.dev_get_by_index(ns, ifm.ifi_index as u32))
        } else if tb.get(IFLA_IFNAME).is_some() || tb.get(IFLA_ALT_IFNAME).is_some() {
            Ok(self.rtnl_dev_get(ns, tb))
        } else {
            Err(())
        }
    }

    /// Kernel: `dev_alloc_name()` for a `%d` pattern: the lowest free number in `ns`,
    /// skipping `taken` (a peer registered in the same request).
    fn dev_alloc_name(&self, ns: NetNsId, pattern: &str, taken: Option<&str>) -> String {
        if !pattern.contains("%d") {
            return pattern.to_string();
        }
        (0u32..)
            .map(|i| pattern.replacen("%d", &i.to_string(), 1))
            .find(|n| self.dev_get_by_name(ns, n).is_none() && Some(n.as_str()) != taken)
            .unwrap_or_else(|| pattern.replacen("%d", "0", 1))
    }

    /// Kernel: `dev_get_flags()`, with what `ether_setup()` and the drivers add:
    /// BROADCAST | MULTICAST on Ethernet-like devices, NOARP on L3 netkit.
    fn rtnl_dev_flags(&self, dev: DevId) -> u32 {
        let d = self.dev(dev);
        let mut f = d.flags();
        match &d.kind {
            DeviceKind::Loopback => {}
            DeviceKind::Netkit(nk) => {
                f |= IFF_BROADCAST | IFF_MULTICAST;
                if nk.mode == NetkitMode::L3 {
                    f |= IFF_NOARP;
                }
            }
            _ => f |= IFF_BROADCAST | IFF_MULTICAST,
        }
        f
    }

    /// Kernel: `rtnl_fill_ifinfo()` (reduced, see the module docs) for `dev` as seen
    /// from `src_net`. Allocates a netns id for a peer in another namespace, as
    /// `peernet2id_alloc()` does.
    pub(crate) fn rtnl_fill_ifinfo(
        &mut self,
        dev: DevId,
        src_net: NetNsId,
        ty: u16,
        portid: u32,
        seq: u32,
        flags: u16,
    ) -> Vec<u8> {
        let peer = match &self.dev(dev).kind {
            DeviceKind::Netkit(nk) => Some(nk.peer),
            DeviceKind::Veth(v) => Some(v.peer),
            _ => None,
        };
        let peer_net = peer.flatten().map(|p| self.dev(p).netns);
        let link_netnsid = match peer_net {
            Some(pn) if pn != self.dev(dev).netns => self.peernet2id_alloc(src_net, pn),
            _ => None,
        };
        let ifi_flags = self.rtnl_dev_flags(dev);
        let d = self.dev(dev);
        let arphrd = match d.kind {
            DeviceKind::Loopback => ARPHRD_LOOPBACK,
            _ => ARPHRD_ETHER,
        };
        let ifm = IfInfoMsg {
            ifi_family: AF_UNSPEC,
            ifi_pad: 0,
            ifi_type: arphrd,
            ifi_index: d.ifindex as i32,
            ifi_flags,
            ifi_change: 0,
        };
        let mut b = MsgBuilder::new(ty, flags, seq, portid).raw_header(&ifm.to_bytes());
        b.put_str(IFLA_IFNAME, &d.name)
            .put_u32(IFLA_MTU, d.mtu)
            .put_u32(IFLA_NUM_TX_QUEUES, d.num_tx_queues)
            .put_u32(IFLA_NUM_RX_QUEUES, d.num_rx_queues);
        let bcast = match d.kind {
            DeviceKind::Loopback => [0; 6],
            _ => [0xff; 6],
        };
        b.put_bytes(IFLA_ADDRESS, &d.mac)
            .put_bytes(IFLA_BROADCAST, &bcast);
        if let Some(ops) = LinkOps::of(&d.kind) {
            // rtnl_link_fill(): both nests without NLA_F_NESTED.
            let li = b.nest_start_noflag(IFLA_LINKINFO);
            b.put_str(IFLA_INFO_KIND, ops.kind());
            if let DeviceKind::Netkit(nk) = &d.kind {
                let data = b.nest_start_noflag(IFLA_INFO_DATA);
                // netkit_fill_info()
                b.put_u8(IFLA_NETKIT_PRIMARY, u8::from(nk.primary))
                    .put_u32(IFLA_NETKIT_POLICY, nk.policy.into())
                    .put_u32(IFLA_NETKIT_MODE, nk.mode.into());
                if nk.pairing == NetkitPairing::Pair {
                    b.put_u32(IFLA_NETKIT_SCRUB, nk.scrub.into());
                }
                b.put_u16(IFLA_NETKIT_HEADROOM, nk.headroom)
                    .put_u16(IFLA_NETKIT_TAILROOM, nk.tailroom)
                    .put_u32(IFLA_NETKIT_PAIRING, nk.pairing.into());
                if let Some(p) = nk.peer
                    && let DeviceKind::Netkit(pk) = &self.dev(p).kind
                {
                    b.put_u32(IFLA_NETKIT_PEER_POLICY, pk.policy.into())
                        .put_u32(IFLA_NETKIT_PEER_SCRUB, pk.scrub.into());
                }
                b.nest_end(data);
            }
            b.nest_end(li);
        }
        if let Some(id) = link_netnsid {
            b.put_s32(IFLA_LINK_NETNSID, id);
        }
        // nla_put_iflink(): netkit and veth report the peer (0 without one); forced
        // when the netns id went out.
        if let Some(peer) = peer {
            let iflink = peer.map_or(0, |p| self.dev(p).ifindex);
            if link_netnsid.is_some() || iflink != d.ifindex {
                b.put_u32(IFLA_LINK, iflink);
            }
        }
        b.finish()
    }

    /// Kernel: `rtnl_valid_getlink_req()`.
    fn rtnl_valid_getlink_req<'a>(
        &self,
        r: &RtnlReq<'a>,
    ) -> Result<(IfInfoMsg, Parsed<'a>), ExtAckError> {
        let ifm = IfInfoMsg::from_bytes(r.payload())
            .map_err(|_| ExtAckError::new(EINVAL).msg("Invalid header for get link"))?;
        if !r.strict_chk {
            return Ok((
                ifm,
                nlmsg_parse(r.raw, IFINFOMSG, &IFLA_POLICY, Strictness::LIBERAL)?,
            ));
        }
        if ifm.ifi_pad != 0 || ifm.ifi_type != 0 || ifm.ifi_flags != 0 || ifm.ifi_change != 0 {
            return Err(
                ExtAckError::new(EINVAL).msg("Invalid values in header for get link request")
            );
        }
        let tb = nlmsg_parse(
            r.raw,
            IFINFOMSG,
            &IFLA_POLICY,
            Strictness::DEPRECATED_STRICT,
        )?;
        for a in tb.iter() {
            if !matches!(
                a.ty,
                IFLA_IFNAME | IFLA_ALT_IFNAME | IFLA_EXT_MASK | IFLA_TARGET_NETNSID
            ) {
                return Err(
                    ExtAckError::new(EINVAL).msg("Unsupported attribute in get link request")
                );
            }
        }
        Ok((ifm, tb))
    }

    /// Kernel: `rtnl_getlink()`.
    pub(crate) fn rtnl_getlink(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let (ifm, tb) = self.rtnl_valid_getlink_req(r)?;
        ensure_unique_netns(&tb, true)?;
        let tgt = self.rtnl_target_net(r, &tb)?;
        let dev = self
            .rtnl_named_dev(tgt, &ifm, &tb)
            .map_err(|()| ExtAckError::new(EINVAL))?
            .ok_or(ExtAckError::new(ENODEV))?;
        let m = self.rtnl_fill_ifinfo(
            dev,
            r.caller.netns,
            RTM_NEWLINK,
            r.portid,
            r.hdr.nlmsg_seq,
            0,
        );
        self.netlink_unicast(r.caller.sock, m);
        Ok(tb.warning)
    }

    /// Kernel: `rtnl_valid_dump_ifinfo_req()` then the filter walk of
    /// `rtnl_dump_ifinfo()`: (namespace, kind filter, master filter, flags).
    fn rtnl_dump_filter(&self, r: &RtnlReq<'_>) -> Result<DumpFilter, ExtAckError> {
        let strict = r.strict_chk;
        let parsed = if strict {
            let ifm = IfInfoMsg::from_bytes(r.payload())
                .map_err(|_| ExtAckError::new(EINVAL).msg("Invalid header for link dump"))?;
            if ifm.ifi_pad != 0 || ifm.ifi_type != 0 || ifm.ifi_flags != 0 || ifm.ifi_change != 0 {
                return Err(
                    ExtAckError::new(EINVAL).msg("Invalid values in header for link dump request")
                );
            }
            if ifm.ifi_index != 0 {
                return Err(ExtAckError::new(EINVAL)
                    .msg("Filter by device index not supported for link dumps"));
            }
            nlmsg_parse(
                r.raw,
                IFINFOMSG,
                &IFLA_POLICY,
                Strictness::DEPRECATED_STRICT,
            )
        } else {
            // The pre-3.9 iproute2 hack: a payload shorter than ifinfomsg is a rtgenmsg.
            let hdrlen = if r.payload().len() < IFINFOMSG {
                1
            } else {
                IFINFOMSG
            };
            nlmsg_parse(r.raw, hdrlen, &IFLA_POLICY, Strictness::LIBERAL)
        };
        let tb = match parsed {
            Ok(tb) => tb,
            Err(e) if strict => return Err(e),
            Err(_) => return Ok((r.caller.netns, None, false, NLM_F_MULTI)),
        };
        let mut ns = r.caller.netns;
        let mut kind = None;
        let mut master_filtered = false;
        let mut flags = NLM_F_MULTI;
        for a in tb.iter() {
            match a.ty {
                IFLA_TARGET_NETNSID => {
                    ns = self
                        .get_net_ns_by_id(r.caller.netns, nla_get_s32(&a))
                        .ok_or(
                            ExtAckError::new(EINVAL).msg("Invalid target network namespace id"),
                        )?;
                }
                IFLA_EXT_MASK => {}
                IFLA_MASTER => {
                    // No device has a master here: a master index other than -1
                    // filters every device out (link_master_filtered()).
                    let m = nla_get_s32(&a);
                    master_filtered = m != 0 && m != -1;
                    if m != 0 {
                        flags |= NLM_F_DUMP_FILTERED;
                    }
                }
                IFLA_LINKINFO => {
                    // linkinfo_to_kind_ops(): a failed parse or no kind is no filter.
                    let ops = parse_nested_deprecated(&IFLA_INFO_POLICY, &a)
                        .ok()
                        .and_then(|li| li.get(IFLA_INFO_KIND))
                        .map(|k| LinkOps::get(&nla_strscpy(&k, MODULE_NAME_LEN)));
                    if let Some(Some(_)) = ops {
                        flags |= NLM_F_DUMP_FILTERED;
                        kind = ops;
                    }
                }
                _ if strict => {
                    return Err(
                        ExtAckError::new(EINVAL).msg("Unsupported attribute in link dump request")
                    );
                }
                _ => {}
            }
        }
        Ok((ns, kind, master_filtered, flags))
    }

    /// Kernel: `rtnl_dump_ifinfo()`: every device of the namespace in ifindex order,
    /// then DONE (carrying the error of a strict request that failed validation).
    pub(crate) fn rtnl_dump_ifinfo(&mut self, r: &RtnlReq<'_>) {
        let seq = r.hdr.nlmsg_seq;
        let (parts, status) = match self.rtnl_dump_filter(r) {
            Err(e) => (vec![], Err(e)),
            Ok((ns, kind, master_filtered, flags)) => {
                let devs: Vec<DevId> = self
                    .netns
                    .get(&ns)
                    .map(|n| n.dev_by_index.values().copied().collect())
                    .unwrap_or_default();
                let mut parts = Vec::new();
                for dev in devs {
                    if master_filtered {
                        continue;
                    }
                    if let Some(k) = kind
                        && LinkOps::of(&self.dev(dev).kind) != k
                    {
                        continue;
                    }
                    parts.push(self.rtnl_fill_ifinfo(
                        dev,
                        r.caller.netns,
                        RTM_NEWLINK,
                        r.portid,
                        seq,
                        flags,
                    ));
                }
                (parts, Ok(()))
            }
        };
        let done = match &status {
            Ok(()) => done_for(r.raw, r.portid, 0, None, r.opts, 0),
            Err(e) => done_for(r.raw, r.portid, e.errno, Some(e), r.opts, 0),
        };
        self.netlink_dump_queue(r.caller.sock, parts, done);
    }

    /// Kernel: `rtnl_dellink()`.
    pub(crate) fn rtnl_dellink(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse(r.raw, IFINFOMSG, &IFLA_POLICY, Strictness::LIBERAL)?;
        ensure_unique_netns(&tb, true)?;
        let tgt = self.rtnl_target_net(r, &tb)?;
        let ifm = IfInfoMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        match self.rtnl_named_dev(tgt, &ifm, &tb) {
            // rtnl_delete_link(): EOPNOTSUPP without rtnl_link_ops->dellink.
            Ok(Some(dev)) => self.link_del(dev).map_err(kerr)?,
            Ok(None) => return Err(ExtAckError::new(ENODEV)),
            Err(()) => match tb.get(IFLA_GROUP) {
                // rtnl_group_dellink(): group 0 is refused; no device is in another.
                Some(g) if nla_get_u32(&g) == 0 => return Err(ExtAckError::new(EPERM)),
                Some(_) => return Err(ExtAckError::new(ENODEV)),
                None => return Err(ExtAckError::new(EINVAL)),
            },
        }
        Ok(tb.warning)
    }

    /// Kernel: `rtnl_setlink()`.
    pub(crate) fn rtnl_setlink(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse(r.raw, IFINFOMSG, &IFLA_POLICY, Strictness::LIBERAL)?;
        ensure_unique_netns(&tb, false)?;
        let tgt = self.rtnl_link_get_net_by_nlattr(r, &tb)?;
        let ifm = IfInfoMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        let dev = self
            .rtnl_named_dev(r.caller.netns, &ifm, &tb)
            .map_err(|()| ExtAckError::new(EINVAL))?
            .ok_or(ExtAckError::new(ENODEV))?;
        self.do_setlink(dev, tgt, &ifm, &tb)?;
        Ok(tb.warning)
    }

    /// Kernel: `dev_validate_mtu()` for an Ethernet-like device.
    fn dev_validate_mtu(&self, dev: DevId, mtu: u32) -> Result<(), ExtAckError> {
        let (min, max) = match self.dev(dev).kind {
            DeviceKind::Loopback => (0, u32::MAX),
            _ => (ETH_MIN_MTU, ETH_MAX_MTU),
        };
        if mtu < min {
            return Err(ExtAckError::new(EINVAL).msg("mtu less than device minimum"));
        }
        if mtu > max {
            return Err(ExtAckError::new(EINVAL).msg("mtu greater than device maximum"));
        }
        Ok(())
    }

    /// Kernel: `do_setlink()`, for what the emulator models, in its order: netns
    /// move, address, MTU, rename (only when the ifindex named the device), flags.
    fn do_setlink(
        &mut self,
        dev: DevId,
        tgt: NetNsId,
        ifm: &IfInfoMsg,
        tb: &Parsed<'_>,
    ) -> Result<(), ExtAckError> {
        // validate_linkmsg(): addresses shorter than dev->addr_len.
        for t in [IFLA_ADDRESS, IFLA_BROADCAST] {
            if tb.get(t).is_some_and(|a| a.value.len() < 6) {
                return Err(ExtAckError::new(EINVAL));
            }
        }
        if tgt != self.dev(dev).netns {
            self.link_set_netns(dev, tgt).map_err(kerr)?;
        }
        if let Some(a) = tb.get(IFLA_ADDRESS) {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&a.value[..6]);
            self.dev_mut(dev).mac = mac;
        }
        if let Some(a) = tb.get(IFLA_MTU) {
            let mtu = nla_get_u32(&a);
            self.dev_validate_mtu(dev, mtu)?;
            self.dev_mut(dev).mtu = mtu;
        }
        if ifm.ifi_index > 0
            && let Some(a) = tb.get(IFLA_IFNAME)
        {
            let name = nla_strscpy(&a, IFNAMSIZ);
            if !name.is_empty() && name != self.dev(dev).name {
                if self.dev_get_by_name(self.dev(dev).netns, &name).is_some() {
                    return Err(ExtAckError::new(EEXIST));
                }
                self.dev_mut(dev).name = name;
            }
        }
        if ifm.ifi_flags != 0 || ifm.ifi_change != 0 {
            let flags = combine_flags(self.rtnl_dev_flags(dev), ifm);
            let up = flags & IFF_UP != 0;
            if up != self.dev(dev).up {
                self.link_set_up(dev, up).map_err(kerr)?;
            }
        }
        Ok(())
    }

    /// Kernel: `netkit_change_link()`.
    fn netkit_change_link(&mut self, dev: DevId, data: &Parsed<'_>) -> Result<(), ExtAckError> {
        let DeviceKind::Netkit(nk) = self.dev(dev).kind else {
            return Err(ExtAckError::new(EOPNOTSUPP));
        };
        if !nk.primary {
            return Err(ExtAckError::new(EACCES)
                .msg("netkit link settings can be changed only through the primary device"));
        }
        const FIXED: [(u16, &str); 7] = [
            (IFLA_NETKIT_MODE, "operating mode"),
            (IFLA_NETKIT_SCRUB, "scrubbing"),
            (IFLA_NETKIT_PEER_SCRUB, "peer scrubbing"),
            (IFLA_NETKIT_PEER_INFO, "peer info"),
            (IFLA_NETKIT_HEADROOM, "headroom"),
            (IFLA_NETKIT_TAILROOM, "tailroom"),
            (IFLA_NETKIT_PAIRING, "pairing"),
        ];
        for (t, what) in FIXED {
            if let Some(a) = data.get(t) {
                return Err(ExtAckError::new(EACCES)
                    .msg(format!(
                        "netkit link {what} cannot be changed after device creation"
                    ))
                    .bad_attr(&a));
            }
        }
        let check = |a: &netlink::attr::Attr<'_>| -> Result<NetkitAction, ExtAckError> {
            let p = NetkitAction::from(nla_get_u32(a));
            match p {
                NetkitAction::Pass | NetkitAction::Drop => Ok(p),
                _ => Err(ExtAckError::new(EINVAL)
                    .msg("Provided default xmit policy not supported")
                    .bad_attr(a)),
            }
        };
        if let Some(a) = data.get(IFLA_NETKIT_POLICY) {
            if nk.pairing != NetkitPairing::Pair {
                return Err(ExtAckError::new(EOPNOTSUPP));
            }
            let p = check(&a)?;
            if let DeviceKind::Netkit(s) = &mut self.dev_mut(dev).kind {
                s.policy = p;
            }
        }
        if let Some(a) = data.get(IFLA_NETKIT_PEER_POLICY) {
            let Some(peer) = nk.peer else {
                return Err(ExtAckError::new(EOPNOTSUPP));
            };
            let p = check(&a)?;
            if let DeviceKind::Netkit(s) = &mut self.dev_mut(peer).kind {
                s.policy = p;
            }
        }
        Ok(())
    }

    /// Kernel: `rtnl_newlink()` → `__rtnl_newlink()`.
    pub(crate) fn rtnl_newlink(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse(r.raw, IFINFOMSG, &IFLA_POLICY, Strictness::LIBERAL)?;
        ensure_unique_netns(&tb, false)?;
        // The linkinfo nest is parsed without extack: errors carry the errno only.
        let linkinfo = match tb.get(IFLA_LINKINFO) {
            Some(a) => Some(
                parse_nested_deprecated(&IFLA_INFO_POLICY, &a)
                    .map_err(|e| ExtAckError::new(e.errno))?,
            ),
            None => None,
        };
        let ops = linkinfo
            .as_ref()
            .and_then(|li| li.get(IFLA_INFO_KIND))
            .and_then(|k| LinkOps::get(&nla_strscpy(&k, MODULE_NAME_LEN)));
        let info_data = linkinfo.as_ref().and_then(|li| li.get(IFLA_INFO_DATA));
        let mut data = None;
        let mut peer = None;
        let mut peer_net = None;
        if let Some(ops) = ops {
            if let Some(d) = &info_data {
                data = Some(parse_nested_deprecated(ops.policy(), d)?);
            }
            ops.validate(&tb)?;
            // rtnl_get_peer_net(): the peer info's netns attributes, else the main ones.
            let peer_attr = data.as_ref().and_then(|d| d.get(ops.peer_type()));
            if let Some(pa) = &peer_attr {
                let pi = parse_ifinfomsg(pa)?;
                ops.validate(&pi.tb)?;
                peer_net = self.rtnl_link_get_net_ifla(r, &pi.tb)?;
                peer = Some(pi);
            } else {
                peer_net = self.rtnl_link_get_net_ifla(r, &tb)?;
            }
        }
        let tgt = self.rtnl_link_get_net_by_nlattr(r, &tb)?;
        let mut link_net = None;
        if let Some(a) = tb.get(IFLA_LINK_NETNSID) {
            link_net = Some(
                self.get_net_ns_by_id(tgt, nla_get_s32(&a))
                    .ok_or(ExtAckError::new(EINVAL).msg("Unknown network namespace id"))?,
            );
        }
        // __rtnl_newlink()
        let create = r.has_flag(NLM_F_CREATE);
        let device_net = if create && r.has_flag(NLM_F_EXCL) {
            tgt
        } else {
            r.caller.netns
        };
        let ifm = IfInfoMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        if ifm.ifi_index < 0 {
            return Err(ExtAckError::new(EINVAL).msg("ifindex can't be negative"));
        }
        let named = self.rtnl_named_dev(device_net, &ifm, &tb);
        if let Ok(Some(dev)) = named {
            // rtnl_changelink()
            if r.has_flag(NLM_F_EXCL) {
                return Err(ExtAckError::new(EEXIST));
            }
            if r.has_flag(NLM_F_REPLACE) {
                return Err(ExtAckError::new(EOPNOTSUPP));
            }
            if info_data.is_some() {
                let dev_ops = LinkOps::of(&self.dev(dev).kind);
                match (ops, data.as_ref()) {
                    (Some(LinkOps::Netkit), Some(d)) if dev_ops == Some(LinkOps::Netkit) => {
                        self.netkit_change_link(dev, d)?;
                    }
                    (Some(LinkOps::Netkit), None) if dev_ops == Some(LinkOps::Netkit) => {}
                    _ => return Err(ExtAckError::new(EOPNOTSUPP)),
                }
            }
            self.do_setlink(dev, tgt, &ifm, &tb)?;
            return Ok(tb.warning);
        }
        if !create {
            // No device and no NLM_F_CREATE: a named link that does not exist, or a
            // group change (no device is in a group other than 0 here).
            let group = tb.get(IFLA_GROUP).map(|g| nla_get_u32(&g));
            return match (named, group) {
                (Err(()), Some(0)) => {
                    let devs: Vec<DevId> = self
                        .netns
                        .get(&r.caller.netns)
                        .map(|n| n.dev_by_index.values().copied().collect())
                        .unwrap_or_default();
                    for dev in devs {
                        self.do_setlink(dev, tgt, &ifm, &tb)?;
                    }
                    Ok(tb.warning)
                }
                (Err(()), Some(_)) => Ok(tb.warning),
                _ => Err(ExtAckError::new(ENODEV)),
            };
        }
        if tb.get(IFLA_MAP).is_some() || tb.get(IFLA_PROTINFO).is_some() {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        let Some(ops) = ops else {
            return Err(ExtAckError::new(EOPNOTSUPP).msg("Unknown device type"));
        };
        // rtnl_newlink_params: the peer's namespace defaults to the link namespace,
        // then the caller's (rtnl_newlink_peer_net()).
        let peer_net = peer_net.or(link_net).unwrap_or(r.caller.netns);
        let primary = match ops {
            LinkOps::Netkit => {
                self.netkit_newlink(tgt, peer_net, &tb, data.as_ref(), peer.as_ref())?
            }
            LinkOps::Veth => self.veth_newlink(tgt, peer_net, &tb, peer.as_ref())?,
        };
        // rtnl_configure_link(): flags from the request's ifinfomsg.
        if ifm.ifi_flags != 0 || ifm.ifi_change != 0 {
            let flags = combine_flags(self.rtnl_dev_flags(primary), &ifm);
            if flags & IFF_UP != 0
                && let Err(e) = self.link_set_up(primary, true)
            {
                let _ = self.link_del(primary);
                return Err(kerr(e));
            }
        }
        Ok(tb.warning)
    }

    /// Kernel: `rtnl_create_link()`'s queue-count checks on `tb`: each count 1..=4096.
    fn rtnl_create_link_queues(tb: &Parsed<'_>) -> Result<(u32, u32), ExtAckError> {
        let tx = tb.get(IFLA_NUM_TX_QUEUES).map_or(1, |a| nla_get_u32(&a));
        let rx = tb.get(IFLA_NUM_RX_QUEUES).map_or(1, |a| nla_get_u32(&a));
        if !(1..=4096).contains(&tx) {
            return Err(ExtAckError::new(EINVAL).msg("Invalid number of transmit queues"));
        }
        if !(1..=4096).contains(&rx) {
            return Err(ExtAckError::new(EINVAL).msg("Invalid number of receive queues"));
        }
        Ok((tx, rx))
    }

    /// `rtnl_create_link()`'s settings after allocation: MTU (validated) and address.
    fn rtnl_create_link_apply(&mut self, dev: DevId, tb: &Parsed<'_>) -> Result<(), ExtAckError> {
        if let Some(a) = tb.get(IFLA_MTU) {
            let mtu = nla_get_u32(&a);
            self.dev_validate_mtu(dev, mtu)?;
            self.dev_mut(dev).mtu = mtu;
        }
        if let Some(a) = tb.get(IFLA_ADDRESS)
            && a.value.len() >= 6
        {
            let mut mac = [0u8; 6];
            mac.copy_from_slice(&a.value[..6]);
            self.dev_mut(dev).mac = mac;
        }
        Ok(())
    }

    /// Kernel: `rtnl_create_link()` + `netkit_alloc()` + `netkit_new_link()`.
    /// Returns the primary.
    fn netkit_newlink(
        &mut self,
        tgt: NetNsId,
        peer_net: NetNsId,
        tb: &Parsed<'_>,
        data: Option<&Parsed<'_>>,
        peer: Option<&PeerInfo<'_>>,
    ) -> Result<DevId, ExtAckError> {
        let (tx, rx) = Self::rtnl_create_link_queues(tb)?;
        // netkit_alloc(): more queues than netkit supports.
        if tx > NETKIT_NUM_TX_QUEUES_MAX || rx > NETKIT_NUM_RX_QUEUES_MAX {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        let tbp = peer.map_or(tb, |p| &p.tb);
        let get = |t: u16| data.and_then(|d| d.get(t));
        let mode =
            get(IFLA_NETKIT_MODE).map_or(NetkitMode::L3, |a| NetkitMode::from(nla_get_u32(&a)));
        let pairing = get(IFLA_NETKIT_PAIRING).map_or(NetkitPairing::Pair, |a| {
            NetkitPairing::from(nla_get_u32(&a))
        });
        let scrub = get(IFLA_NETKIT_SCRUB).map(|a| NetkitScrub::from(nla_get_u32(&a)));
        let peer_scrub = get(IFLA_NETKIT_PEER_SCRUB).map(|a| NetkitScrub::from(nla_get_u32(&a)));
        let check = |a: netlink::attr::Attr<'_>| -> Result<NetkitAction, ExtAckError> {
            let p = NetkitAction::from(nla_get_u32(&a));
            match p {
                NetkitAction::Pass | NetkitAction::Drop => Ok(p),
                _ => Err(ExtAckError::new(EINVAL)
                    .msg("Provided default xmit policy not supported")
                    .bad_attr(&a)),
            }
        };
        let policy = get(IFLA_NETKIT_POLICY).map(check).transpose()?;
        let peer_policy = get(IFLA_NETKIT_PEER_POLICY).map(check).transpose()?;
        let headroom = get(IFLA_NETKIT_HEADROOM).map_or(0, |a| nla_get_u16(&a));
        let tailroom = get(IFLA_NETKIT_TAILROOM).map_or(0, |a| nla_get_u16(&a));
        let seen_peer =
            get(IFLA_NETKIT_PEER_INFO).is_some() || peer_scrub.is_some() || peer_policy.is_some();
        if mode != NetkitMode::L2
            && (tb.get(IFLA_ADDRESS).is_some() || tbp.get(IFLA_ADDRESS).is_some())
        {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        let single = pairing == NetkitPairing::Single;
        if single
            && (peer.is_some()
                || seen_peer
                || scrub.is_some()
                || policy.is_some_and(|p| p != NetkitAction::Pass))
        {
            return Err(ExtAckError::new(EOPNOTSUPP));
        }
        let peer_name = if single {
            None
        } else {
            // The peer's own rtnl_create_link() checks its tb's queue counts.
            Self::rtnl_create_link_queues(tbp)?;
            let pat = match (peer, tbp.get(IFLA_IFNAME)) {
                (Some(_), Some(a)) => nla_strscpy(&a, IFNAMSIZ),
                _ => "nk%d".to_string(),
            };
            Some(self.dev_alloc_name(peer_net, &pat, None))
        };
        let name_pat = tb
            .get(IFLA_IFNAME)
            .map_or_else(|| "nk%d".to_string(), |a| nla_strscpy(&a, IFNAMSIZ));
        let taken = peer_name.as_deref().filter(|_| peer_net == tgt);
        let name = self.dev_alloc_name(tgt, &name_pat, taken);
        let peer_rx = tbp.get(IFLA_NUM_RX_QUEUES).map(|a| nla_get_u32(&a));
        let cfg = NetkitConfig {
            name,
            peer_name,
            peer_netns: (!single).then_some(peer_net),
            mode,
            pairing,
            policy,
            peer_policy,
            scrub,
            peer_scrub,
            num_rx_queues: Some(rx),
            peer_num_rx_queues: if single {
                None
            } else {
                Some(peer_rx.unwrap_or(1))
            },
            headroom,
            tailroom,
        };
        let (prim, peer_dev) = self.netkit_add(tgt, cfg).map_err(kerr)?;
        let applied = self
            .rtnl_create_link_apply(prim, tb)
            .and_then(|()| match peer_dev {
                Some(p) => self.rtnl_create_link_apply(p, tbp),
                None => Ok(()),
            });
        if let Err(e) = applied {
            let _ = self.link_del(prim);
            return Err(e);
        }
        Ok(prim)
    }

    /// Kernel: `veth_newlink()`: the peer (from `VETH_INFO_PEER`, named `veth%d` by
    /// default) in `peer_net`, then the device in `tgt`. Returns the device.
    fn veth_newlink(
        &mut self,
        tgt: NetNsId,
        peer_net: NetNsId,
        tb: &Parsed<'_>,
        peer: Option<&PeerInfo<'_>>,
    ) -> Result<DevId, ExtAckError> {
        Self::rtnl_create_link_queues(tb)?;
        let tbp = peer.map_or(tb, |p| &p.tb);
        Self::rtnl_create_link_queues(tbp)?;
        let peer_pat = match (peer, tbp.get(IFLA_IFNAME)) {
            (Some(_), Some(a)) => nla_strscpy(&a, IFNAMSIZ),
            _ => "veth%d".to_string(),
        };
        let peer_name = self.dev_alloc_name(peer_net, &peer_pat, None);
        let pat = tb
            .get(IFLA_IFNAME)
            .map_or_else(|| "veth%d".to_string(), |a| nla_strscpy(&a, IFNAMSIZ));
        let taken = Some(peer_name.as_str()).filter(|_| peer_net == tgt);
        let name = self.dev_alloc_name(tgt, &pat, taken);
        let (a, b) = self
            .veth_add(tgt, &name, peer_net, &peer_name)
            .map_err(kerr)?;
        let applied = self
            .rtnl_create_link_apply(a, tb)
            .and_then(|()| self.rtnl_create_link_apply(b, tbp));
        if let Err(e) = applied {
            let _ = self.link_del(a);
            return Err(e);
        }
        Ok(a)
    }
}
