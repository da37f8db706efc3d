//! rtnetlink (`NETLINK_ROUTE`): links (netkit, veth), addresses and routes, as the
//! selftest environment sets them up.
//!
//! `netkit_create` writes exactly what `NetDrvContEnv`'s python YNL `rtnl.newlink()`
//! writes (env.py: `{"linkinfo": {"kind": "netkit", "data": {"mode", "policy",
//! "peer-policy"}}, "num-rx-queues": N}` with `NLM_F_CREATE | NLM_F_EXCL`): a zeroed
//! `ifinfomsg`, then `IFLA_IFNAME` if named, `IFLA_LINKINFO` (nested) with
//! `IFLA_INFO_KIND` and `IFLA_INFO_DATA` (nested), then `IFLA_NUM_RX_QUEUES`. Note the
//! order: python YNL follows the dict, which puts `linkinfo` before `num-rx-queues`.
//! The other requests follow iproute2's layout.
//!
//! Moving a link to a netns by *nsid* is not offered: the kernel reads only
//! `IFLA_NET_NS_PID` and `IFLA_NET_NS_FD` for that (`rtnl_link_get_net_ifla()`).

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use netlink::client::OwnedMsg;
use netlink::msg::MsgBuilder;
use uapi::inet::{AF_INET, AF_INET6};
use uapi::netlink::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use uapi::rtnetlink::*;

use crate::Error;
use crate::conn::Connection;
use crate::reply::attrs_after;
use crate::transport::{KernelTransport, NetlinkTransport};

pub use uapi::rtnetlink::{NetkitAction, NetkitMode, NetkitPairing};

/// A link as `RTM_NEWLINK` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    /// `IFLA_INFO_KIND` ("netkit", "veth"...), absent for plain devices like lo.
    pub kind: Option<String>,
    /// `ifi_flags` (`IFF_*`).
    pub flags: u32,
    /// `IFLA_LINK_NETNSID`: the peer's netns id, for pairs split across namespaces.
    pub link_netnsid: Option<i32>,
}

impl LinkInfo {
    /// `IFF_UP` is set.
    pub fn is_up(&self) -> bool {
        self.flags & IFF_UP != 0
    }
}

/// A netkit device (pair) to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetkitSpec {
    /// Primary's name; `None` lets the kernel pick ("nk%d").
    pub name: Option<String>,
    /// Peer's name (sent inside `IFLA_NETKIT_PEER_INFO`).
    pub peer_name: Option<String>,
    pub mode: NetkitMode,
    pub policy: NetkitAction,
    pub peer_policy: Option<NetkitAction>,
    /// `IFLA_NETKIT_PAIRING`; `None` leaves the kernel default (pair).
    pub pairing: Option<NetkitPairing>,
    pub num_rx_queues: Option<u32>,
    /// Peer's `IFLA_NUM_RX_QUEUES` (sent inside `IFLA_NETKIT_PEER_INFO`).
    pub peer_num_rx_queues: Option<u32>,
}

impl NetkitSpec {
    /// What `NetDrvContEnv(rxqueues=N)` creates: l2, forward / forward, N RX queues.
    pub fn selftest(rxqueues: u32) -> Self {
        Self {
            name: None,
            peer_name: None,
            mode: NetkitMode::L2,
            policy: NetkitAction::Pass,
            peer_policy: Some(NetkitAction::Pass),
            pairing: None,
            num_rx_queues: Some(rxqueues),
            peer_num_rx_queues: None,
        }
    }
}

/// A typed rtnetlink client.
#[derive(Debug)]
pub struct RtnlClient<T> {
    conn: Connection<T>,
}

impl RtnlClient<KernelTransport> {
    /// A client of the real kernel (`NETLINK_ROUTE`).
    pub fn open_kernel() -> io::Result<Self> {
        Ok(Self::new(KernelTransport::open(
            uapi::netlink::NETLINK_ROUTE,
        )?))
    }
}

const CREATE: u16 = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;

fn ifinfomsg(index: i32, flags: u32, change: u32) -> [u8; IfInfoMsg::SIZE] {
    IfInfoMsg {
        ifi_index: index,
        ifi_flags: flags,
        ifi_change: change,
        ..Default::default()
    }
    .to_bytes()
}

fn ifindex_i32(ifindex: u32) -> Result<i32, Error> {
    i32::try_from(ifindex).map_err(|_| {
        Error::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            "ifindex above i32::MAX",
        ))
    })
}

fn ip_bytes(a: &IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(v) => v.octets().to_vec(),
        IpAddr::V6(v) => v.octets().to_vec(),
    }
}

fn family(a: &IpAddr) -> u8 {
    match a {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// A peer's `ifinfomsg` and attributes inside `IFLA_NETKIT_PEER_INFO` / `VETH_INFO_PEER`,
/// opened without `NLA_F_NESTED` as iproute2's `addattr_nest()` does (the kernel reads it
/// with `rtnl_nla_parse_ifinfomsg()`, which does not care).
fn put_peer(b: &mut MsgBuilder, attr: u16, name: Option<&str>, rxq: Option<u32>) {
    let n = b.nest_start_noflag(attr);
    put_fixed(b, &ifinfomsg(0, 0, 0));
    if let Some(name) = name {
        b.put_str(IFLA_IFNAME, name);
    }
    if let Some(q) = rxq {
        b.put_u32(IFLA_NUM_RX_QUEUES, q);
    }
    b.nest_end(n);
}

/// Appends a fixed header (already 4-aligned) inside an open nest. `MsgBuilder` only
/// offers `raw_header()` by value, which appends at the current end wherever that is.
fn put_fixed(b: &mut MsgBuilder, bytes: &[u8]) {
    let taken = std::mem::replace(b, MsgBuilder::new(0, 0, 0, 0));
    *b = taken.raw_header(bytes);
}

fn put_netkit(b: &mut MsgBuilder, spec: &NetkitSpec) {
    if let Some(name) = &spec.name {
        b.put_str(IFLA_IFNAME, name);
    }
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "netkit");
    let data = b.nest_start(IFLA_INFO_DATA);
    b.put_u32(IFLA_NETKIT_MODE, spec.mode.into())
        .put_u32(IFLA_NETKIT_POLICY, spec.policy.into());
    if let Some(p) = spec.peer_policy {
        b.put_u32(IFLA_NETKIT_PEER_POLICY, p.into());
    }
    if let Some(p) = spec.pairing {
        b.put_u32(IFLA_NETKIT_PAIRING, p.into());
    }
    if spec.peer_name.is_some() || spec.peer_num_rx_queues.is_some() {
        put_peer(
            b,
            IFLA_NETKIT_PEER_INFO,
            spec.peer_name.as_deref(),
            spec.peer_num_rx_queues,
        );
    }
    b.nest_end(data);
    b.nest_end(li);
    if let Some(q) = spec.num_rx_queues {
        b.put_u32(IFLA_NUM_RX_QUEUES, q);
    }
}

impl<T: NetlinkTransport> RtnlClient<T> {
    /// A client over `transport` (a `NETLINK_ROUTE` one).
    pub fn new(transport: T) -> Self {
        Self {
            conn: Connection::new(transport),
        }
    }

    /// The connection underneath.
    pub fn conn(&mut self) -> &mut Connection<T> {
        &mut self.conn
    }

    fn link_msg(
        &mut self,
        ty: u16,
        flags: u16,
        hdr: [u8; IfInfoMsg::SIZE],
        build: impl FnOnce(&mut MsgBuilder),
        fds: &[BorrowedFd<'_>],
    ) -> Result<Vec<OwnedMsg>, Error> {
        let mut b = self.conn.start(ty, flags).raw_header(&hdr);
        build(&mut b);
        self.conn.transact(&b.finish(), fds)
    }

    /// `RTM_GETLINK {IFLA_IFNAME}`.
    pub fn link_get_by_name(&mut self, name: &str) -> Result<LinkInfo, Error> {
        let parts = self.link_msg(
            RTM_GETLINK,
            NLM_F_ACK,
            ifinfomsg(0, 0, 0),
            |b| {
                b.put_str(IFLA_IFNAME, name);
            },
            &[],
        )?;
        parse_link(parts.first().ok_or(Error::MissingAttr("ifinfomsg"))?)
    }

    /// `RTM_GETLINK` dump.
    pub fn link_dump(&mut self) -> Result<Vec<LinkInfo>, Error> {
        let parts = self.link_msg(
            RTM_GETLINK,
            NLM_F_ACK | NLM_F_DUMP,
            ifinfomsg(0, 0, 0),
            |_| {},
            &[],
        )?;
        parts.iter().map(parse_link).collect()
    }

    /// `RTM_NEWLINK` of kind netkit (see the module docs for the layout).
    pub fn netkit_create(&mut self, spec: &NetkitSpec) -> Result<(), Error> {
        self.link_msg(
            RTM_NEWLINK,
            CREATE,
            ifinfomsg(0, 0, 0),
            |b| put_netkit(b, spec),
            &[],
        )?;
        Ok(())
    }

    /// `RTM_NEWLINK` of kind veth: `IFLA_IFNAME`, `IFLA_LINKINFO {kind "veth", data
    /// {VETH_INFO_PEER: ifinfomsg + IFLA_IFNAME}}` (iproute2's layout).
    pub fn veth_create(&mut self, name: &str, peer_name: &str) -> Result<(), Error> {
        self.link_msg(
            RTM_NEWLINK,
            CREATE,
            ifinfomsg(0, 0, 0),
            |b| {
                b.put_str(IFLA_IFNAME, name);
                let li = b.nest_start(IFLA_LINKINFO);
                b.put_str(IFLA_INFO_KIND, "veth");
                let data = b.nest_start(IFLA_INFO_DATA);
                put_peer(b, VETH_INFO_PEER, Some(peer_name), None);
                b.nest_end(data);
                b.nest_end(li);
            },
            &[],
        )?;
        Ok(())
    }

    /// `RTM_DELLINK` of `ifindex` (a netkit or veth pair goes as a whole).
    pub fn link_del(&mut self, ifindex: u32) -> Result<(), Error> {
        let idx = ifindex_i32(ifindex)?;
        self.link_msg(RTM_DELLINK, NLM_F_ACK, ifinfomsg(idx, 0, 0), |_| {}, &[])?;
        Ok(())
    }

    /// `ip link set up|down`: `RTM_NEWLINK` with `ifi_change = IFF_UP`.
    pub fn link_set_up(&mut self, ifindex: u32, up: bool) -> Result<(), Error> {
        let idx = ifindex_i32(ifindex)?;
        let flags = if up { IFF_UP } else { 0 };
        self.link_msg(
            RTM_NEWLINK,
            NLM_F_ACK,
            ifinfomsg(idx, flags, IFF_UP),
            |_| {},
            &[],
        )?;
        Ok(())
    }

    /// Moves a link into the netns `fd` refers to (`IFLA_NET_NS_FD`; the fd is also
    /// passed along for transports that need it).
    pub fn link_set_netns_fd(&mut self, ifindex: u32, fd: BorrowedFd<'_>) -> Result<(), Error> {
        let idx = ifindex_i32(ifindex)?;
        let raw = fd.as_raw_fd() as u32;
        self.link_msg(
            RTM_NEWLINK,
            NLM_F_ACK,
            ifinfomsg(idx, 0, 0),
            |b| {
                b.put_u32(IFLA_NET_NS_FD, raw);
            },
            &[fd],
        )?;
        Ok(())
    }

    /// Moves a link into the netns the fd *number* `fd` refers to in the kernel's view
    /// of the caller (`IFLA_NET_NS_FD`, no fd passed along): for the emulator, where
    /// the fd lives in the emulated process's table (`Kernel::netns_open`).
    pub fn link_set_netns_fd_num(&mut self, ifindex: u32, fd: i32) -> Result<(), Error> {
        let idx = ifindex_i32(ifindex)?;
        self.link_msg(
            RTM_NEWLINK,
            NLM_F_ACK,
            ifinfomsg(idx, 0, 0),
            |b| {
                b.put_u32(IFLA_NET_NS_FD, fd as u32);
            },
            &[],
        )?;
        Ok(())
    }

    /// `ip netns set NAME NSID`: `RTM_NEWNSID` with `NETNSA_NSID` then `NETNSA_FD`
    /// (the fd number of `/run/netns/NAME` in the caller's view; no fd passed along).
    pub fn netns_set_id_fd_num(&mut self, fd: i32, nsid: i32) -> Result<(), Error> {
        let mut b = self
            .conn
            .start(RTM_NEWNSID, NLM_F_ACK)
            .raw_header(&[AF_UNSPEC, 0, 0, 0]);
        b.put_s32(NETNSA_NSID, nsid).put_u32(NETNSA_FD, fd as u32);
        self.conn.transact(&b.finish(), &[])?;
        Ok(())
    }

    /// Moves a link into the netns of process `pid` (`IFLA_NET_NS_PID`).
    pub fn link_set_netns_pid(&mut self, ifindex: u32, pid: u32) -> Result<(), Error> {
        let idx = ifindex_i32(ifindex)?;
        self.link_msg(
            RTM_NEWLINK,
            NLM_F_ACK,
            ifinfomsg(idx, 0, 0),
            |b| {
                b.put_u32(IFLA_NET_NS_PID, pid);
            },
            &[],
        )?;
        Ok(())
    }

    /// `ip addr add ADDR/PREFIX dev IFINDEX [nodad]`: `RTM_NEWADDR` with `IFA_LOCAL`
    /// then `IFA_ADDRESS`; `IFA_F_NODAD` fits in `ifa_flags`.
    pub fn addr_add(
        &mut self,
        ifindex: u32,
        addr: IpAddr,
        prefix: u8,
        nodad: bool,
    ) -> Result<(), Error> {
        let hdr = IfAddrMsg {
            ifa_family: family(&addr),
            ifa_prefixlen: prefix,
            ifa_flags: if nodad { IFA_F_NODAD as u8 } else { 0 },
            ifa_scope: 0,
            ifa_index: ifindex,
        };
        let mut b = self
            .conn
            .start(RTM_NEWADDR, CREATE)
            .raw_header(&hdr.to_bytes());
        let a = ip_bytes(&addr);
        b.put_bytes(IFA_LOCAL, &a).put_bytes(IFA_ADDRESS, &a);
        self.conn.transact(&b.finish(), &[])?;
        Ok(())
    }

    /// `ip route add DST/PREFIX [via GW] dev IFINDEX`: `RTM_NEWROUTE` in the main table,
    /// protocol boot, link scope without a gateway; `RTA_DST` (omitted for a default
    /// route), `RTA_GATEWAY`, `RTA_OIF`.
    pub fn route_add(
        &mut self,
        dst: IpAddr,
        prefix: u8,
        gateway: Option<IpAddr>,
        ifindex: u32,
    ) -> Result<(), Error> {
        if gateway.is_some_and(|g| family(&g) != family(&dst)) {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "gateway and destination families differ",
            )));
        }
        let hdr = RtMsg {
            rtm_family: family(&dst),
            rtm_dst_len: prefix,
            rtm_table: RT_TABLE_MAIN,
            rtm_protocol: RTPROT_BOOT,
            rtm_scope: if gateway.is_some() {
                RT_SCOPE_UNIVERSE
            } else {
                RT_SCOPE_LINK
            },
            rtm_type: RTN_UNICAST,
            ..Default::default()
        };
        let mut b = self
            .conn
            .start(RTM_NEWROUTE, CREATE)
            .raw_header(&hdr.to_bytes());
        if prefix > 0 {
            b.put_bytes(RTA_DST, &ip_bytes(&dst));
        }
        if let Some(g) = gateway {
            b.put_bytes(RTA_GATEWAY, &ip_bytes(&g));
        }
        b.put_u32(RTA_OIF, ifindex);
        self.conn.transact(&b.finish(), &[])?;
        Ok(())
    }
}

/// Kernel side: `rtnl_fill_ifinfo()`; only what the selftests look at.
fn parse_link(m: &OwnedMsg) -> Result<LinkInfo, Error> {
    let hdr = IfInfoMsg::from_bytes(&m.payload).map_err(|_| Error::MissingAttr("ifinfomsg"))?;
    let mut l = LinkInfo {
        ifindex: hdr.ifi_index as u32,
        name: String::new(),
        kind: None,
        flags: hdr.ifi_flags,
        link_netnsid: None,
    };
    let mut have_name = false;
    for a in attrs_after(m, IfInfoMsg::SIZE)? {
        let a = a?;
        match a.ty {
            IFLA_IFNAME => {
                l.name = a.str()?.to_owned();
                have_name = true;
            }
            IFLA_LINK_NETNSID => l.link_netnsid = Some(a.s32()?),
            IFLA_LINKINFO => {
                for i in a.attrs() {
                    let i = i?;
                    if i.ty == IFLA_INFO_KIND {
                        l.kind = Some(i.str()?.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    if !have_name {
        return Err(Error::MissingAttr("ifname"));
    }
    Ok(l)
}

#[cfg(all(test, target_endian = "little"))]
mod tests;
