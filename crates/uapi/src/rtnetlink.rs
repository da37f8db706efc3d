//! rtnetlink (`NETLINK_ROUTE`): message types, fixed headers and attributes for links,
//! addresses, routes and netns ids (`include/uapi/linux/rtnetlink.h`, `if_link.h`,
//! `if_addr.h`, `if.h`, `net_namespace.h`, `veth.h`), plus netkit's link attributes.
//!
//! Fixed headers are native-endian, like every netlink header: the kernel writes them
//! in the host's byte order.

use crate::layout::{TooShort, field, prefix};
use crate::value_enum::value_enum;

pub use crate::ether::{ARPHRD_ETHER, ARPHRD_LOOPBACK, ARPHRD_NONE};
pub use crate::inet::{AF_INET, AF_INET6, AF_UNSPEC};

/// Longest interface name, including the NUL (`include/uapi/linux/if.h`).
pub const IFNAMSIZ: usize = 16;

// Message types (nlmsghdr.nlmsg_type).
pub const RTM_BASE: u16 = 16;
pub const RTM_NEWLINK: u16 = 16;
pub const RTM_DELLINK: u16 = 17;
pub const RTM_GETLINK: u16 = 18;
pub const RTM_SETLINK: u16 = 19;
pub const RTM_NEWADDR: u16 = 20;
pub const RTM_DELADDR: u16 = 21;
pub const RTM_GETADDR: u16 = 22;
pub const RTM_NEWROUTE: u16 = 24;
pub const RTM_DELROUTE: u16 = 25;
pub const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
pub const RTM_DELNEIGH: u16 = 29;
pub const RTM_GETNEIGH: u16 = 30;
pub const RTM_NEWRULE: u16 = 32;
pub const RTM_DELRULE: u16 = 33;
pub const RTM_GETRULE: u16 = 34;
pub const RTM_NEWQDISC: u16 = 36;
pub const RTM_DELQDISC: u16 = 37;
pub const RTM_GETQDISC: u16 = 38;
pub const RTM_NEWTFILTER: u16 = 44;
pub const RTM_DELTFILTER: u16 = 45;
pub const RTM_GETTFILTER: u16 = 46;
pub const RTM_NEWNSID: u16 = 88;
pub const RTM_DELNSID: u16 = 89;
pub const RTM_GETNSID: u16 = 90;

// rtmsg.rtm_flags
pub const RTM_F_NOTIFY: u32 = 0x100;
pub const RTM_F_CLONED: u32 = 0x200;
pub const RTM_F_EQUALIZE: u32 = 0x400;
pub const RTM_F_PREFIX: u32 = 0x800;
pub const RTM_F_LOOKUP_TABLE: u32 = 0x1000;
pub const RTM_F_FIB_MATCH: u32 = 0x2000;
pub const RTM_F_OFFLOAD: u32 = 0x4000;
pub const RTM_F_TRAP: u32 = 0x8000;

// Legacy multicast group bitmask (sockaddr_nl.nl_groups).
pub const RTMGRP_LINK: u32 = 0x1;
pub const RTMGRP_NOTIFY: u32 = 0x2;
pub const RTMGRP_NEIGH: u32 = 0x4;
pub const RTMGRP_TC: u32 = 0x8;
pub const RTMGRP_IPV4_IFADDR: u32 = 0x10;
pub const RTMGRP_IPV4_MROUTE: u32 = 0x20;
pub const RTMGRP_IPV4_ROUTE: u32 = 0x40;
pub const RTMGRP_IPV4_RULE: u32 = 0x80;
pub const RTMGRP_IPV6_IFADDR: u32 = 0x100;
pub const RTMGRP_IPV6_MROUTE: u32 = 0x200;
pub const RTMGRP_IPV6_ROUTE: u32 = 0x400;
pub const RTMGRP_IPV6_IFINFO: u32 = 0x800;

// enum rtnetlink_groups (NETLINK_ADD_MEMBERSHIP numbers).
pub const RTNLGRP_NONE: u32 = 0;
pub const RTNLGRP_LINK: u32 = 1;
pub const RTNLGRP_NOTIFY: u32 = 2;
pub const RTNLGRP_NEIGH: u32 = 3;
pub const RTNLGRP_TC: u32 = 4;
pub const RTNLGRP_IPV4_IFADDR: u32 = 5;
pub const RTNLGRP_IPV4_MROUTE: u32 = 6;
pub const RTNLGRP_IPV4_ROUTE: u32 = 7;
pub const RTNLGRP_IPV4_RULE: u32 = 8;
pub const RTNLGRP_IPV6_IFADDR: u32 = 9;
pub const RTNLGRP_IPV6_MROUTE: u32 = 10;
pub const RTNLGRP_IPV6_ROUTE: u32 = 11;
pub const RTNLGRP_IPV6_IFINFO: u32 = 12;
pub const RTNLGRP_IPV6_PREFIX: u32 = 18;
pub const RTNLGRP_IPV6_RULE: u32 = 19;
pub const RTNLGRP_ND_USEROPT: u32 = 20;
pub const RTNLGRP_NSID: u32 = 28;

// Interface flags (include/uapi/linux/if.h, enum net_device_flags).
pub const IFF_UP: u32 = 1 << 0;
pub const IFF_BROADCAST: u32 = 1 << 1;
pub const IFF_DEBUG: u32 = 1 << 2;
pub const IFF_LOOPBACK: u32 = 1 << 3;
pub const IFF_POINTOPOINT: u32 = 1 << 4;
pub const IFF_NOTRAILERS: u32 = 1 << 5;
pub const IFF_RUNNING: u32 = 1 << 6;
pub const IFF_NOARP: u32 = 1 << 7;
pub const IFF_PROMISC: u32 = 1 << 8;
pub const IFF_ALLMULTI: u32 = 1 << 9;
pub const IFF_MASTER: u32 = 1 << 10;
pub const IFF_SLAVE: u32 = 1 << 11;
pub const IFF_MULTICAST: u32 = 1 << 12;
pub const IFF_PORTSEL: u32 = 1 << 13;
pub const IFF_AUTOMEDIA: u32 = 1 << 14;
pub const IFF_DYNAMIC: u32 = 1 << 15;
pub const IFF_LOWER_UP: u32 = 1 << 16;
pub const IFF_DORMANT: u32 = 1 << 17;
pub const IFF_ECHO: u32 = 1 << 18;

// RFC 2863 operational states (IFLA_OPERSTATE, u8).
pub const IF_OPER_UNKNOWN: u8 = 0;
pub const IF_OPER_NOTPRESENT: u8 = 1;
pub const IF_OPER_DOWN: u8 = 2;
pub const IF_OPER_LOWERLAYERDOWN: u8 = 3;
pub const IF_OPER_TESTING: u8 = 4;
pub const IF_OPER_DORMANT: u8 = 5;
pub const IF_OPER_UP: u8 = 6;

// Link attributes (IFLA_*).
pub const IFLA_UNSPEC: u16 = 0;
pub const IFLA_ADDRESS: u16 = 1;
pub const IFLA_BROADCAST: u16 = 2;
pub const IFLA_IFNAME: u16 = 3;
pub const IFLA_MTU: u16 = 4;
pub const IFLA_LINK: u16 = 5;
pub const IFLA_QDISC: u16 = 6;
pub const IFLA_STATS: u16 = 7;
pub const IFLA_COST: u16 = 8;
pub const IFLA_PRIORITY: u16 = 9;
pub const IFLA_MASTER: u16 = 10;
pub const IFLA_WIRELESS: u16 = 11;
pub const IFLA_PROTINFO: u16 = 12;
pub const IFLA_TXQLEN: u16 = 13;
pub const IFLA_MAP: u16 = 14;
pub const IFLA_WEIGHT: u16 = 15;
pub const IFLA_OPERSTATE: u16 = 16;
pub const IFLA_LINKMODE: u16 = 17;
pub const IFLA_LINKINFO: u16 = 18;
pub const IFLA_NET_NS_PID: u16 = 19;
pub const IFLA_IFALIAS: u16 = 20;
pub const IFLA_NUM_VF: u16 = 21;
pub const IFLA_VFINFO_LIST: u16 = 22;
pub const IFLA_STATS64: u16 = 23;
pub const IFLA_VF_PORTS: u16 = 24;
pub const IFLA_PORT_SELF: u16 = 25;
pub const IFLA_AF_SPEC: u16 = 26;
pub const IFLA_GROUP: u16 = 27;
pub const IFLA_NET_NS_FD: u16 = 28;
pub const IFLA_EXT_MASK: u16 = 29;
pub const IFLA_PROMISCUITY: u16 = 30;
pub const IFLA_NUM_TX_QUEUES: u16 = 31;
pub const IFLA_NUM_RX_QUEUES: u16 = 32;
pub const IFLA_CARRIER: u16 = 33;
pub const IFLA_PHYS_PORT_ID: u16 = 34;
pub const IFLA_CARRIER_CHANGES: u16 = 35;
pub const IFLA_PHYS_SWITCH_ID: u16 = 36;
pub const IFLA_LINK_NETNSID: u16 = 37;
pub const IFLA_PHYS_PORT_NAME: u16 = 38;
pub const IFLA_PROTO_DOWN: u16 = 39;
pub const IFLA_GSO_MAX_SEGS: u16 = 40;
pub const IFLA_GSO_MAX_SIZE: u16 = 41;
pub const IFLA_PAD: u16 = 42;
pub const IFLA_XDP: u16 = 43;
pub const IFLA_EVENT: u16 = 44;
pub const IFLA_NEW_NETNSID: u16 = 45;
pub const IFLA_IF_NETNSID: u16 = 46;
/// Same number as `IFLA_IF_NETNSID`; the newer name.
pub const IFLA_TARGET_NETNSID: u16 = IFLA_IF_NETNSID;
pub const IFLA_CARRIER_UP_COUNT: u16 = 47;
pub const IFLA_CARRIER_DOWN_COUNT: u16 = 48;
pub const IFLA_NEW_IFINDEX: u16 = 49;
pub const IFLA_MIN_MTU: u16 = 50;
pub const IFLA_MAX_MTU: u16 = 51;
pub const IFLA_PROP_LIST: u16 = 52;
pub const IFLA_ALT_IFNAME: u16 = 53;
pub const IFLA_PERM_ADDRESS: u16 = 54;
pub const IFLA_PROTO_DOWN_REASON: u16 = 55;
pub const IFLA_PARENT_DEV_NAME: u16 = 56;
pub const IFLA_PARENT_DEV_BUS_NAME: u16 = 57;
pub const IFLA_GRO_MAX_SIZE: u16 = 58;
pub const IFLA_TSO_MAX_SIZE: u16 = 59;
pub const IFLA_TSO_MAX_SEGS: u16 = 60;
pub const IFLA_ALLMULTI: u16 = 61;
pub const IFLA_DEVLINK_PORT: u16 = 62;
pub const IFLA_GSO_IPV4_MAX_SIZE: u16 = 63;
pub const IFLA_GRO_IPV4_MAX_SIZE: u16 = 64;
pub const IFLA_DPLL_PIN: u16 = 65;
pub const IFLA_MAX_PACING_OFFLOAD_HORIZON: u16 = 66;
pub const IFLA_NETNS_IMMUTABLE: u16 = 67;
pub const IFLA_HEADROOM: u16 = 68;
pub const IFLA_TAILROOM: u16 = 69;
pub const IFLA_MAX: u16 = 69;

// Nested in IFLA_LINKINFO.
pub const IFLA_INFO_UNSPEC: u16 = 0;
pub const IFLA_INFO_KIND: u16 = 1;
pub const IFLA_INFO_DATA: u16 = 2;
pub const IFLA_INFO_XSTATS: u16 = 3;
pub const IFLA_INFO_SLAVE_KIND: u16 = 4;
pub const IFLA_INFO_SLAVE_DATA: u16 = 5;
pub const IFLA_INFO_MAX: u16 = 5;

// veth's IFLA_INFO_DATA (include/uapi/linux/veth.h): the peer is a whole ifinfomsg
// followed by IFLA_* attributes.
pub const VETH_INFO_UNSPEC: u16 = 0;
pub const VETH_INFO_PEER: u16 = 1;
pub const VETH_INFO_MAX: u16 = 1;

// netkit's IFLA_INFO_DATA (if_link.h).
pub const IFLA_NETKIT_UNSPEC: u16 = 0;
/// ifinfomsg + IFLA_* of the peer, as for veth.
pub const IFLA_NETKIT_PEER_INFO: u16 = 1;
/// u8, read-only: set in dumps of the primary, rejected in requests.
pub const IFLA_NETKIT_PRIMARY: u16 = 2;
/// u32 `netkit_action`, PASS or DROP only.
pub const IFLA_NETKIT_POLICY: u16 = 3;
pub const IFLA_NETKIT_PEER_POLICY: u16 = 4;
/// u32 `netkit_mode`.
pub const IFLA_NETKIT_MODE: u16 = 5;
/// u32 `netkit_scrub`.
pub const IFLA_NETKIT_SCRUB: u16 = 6;
pub const IFLA_NETKIT_PEER_SCRUB: u16 = 7;
/// u16 needed_headroom.
pub const IFLA_NETKIT_HEADROOM: u16 = 8;
/// u16 needed_tailroom.
pub const IFLA_NETKIT_TAILROOM: u16 = 9;
/// u32 `netkit_pairing`.
pub const IFLA_NETKIT_PAIRING: u16 = 10;
pub const IFLA_NETKIT_MAX: u16 = 10;

// enum netkit_action: the TC_ACT_* values netkit's BPF verdicts share.
pub const NETKIT_NEXT: i32 = -1;
pub const NETKIT_PASS: i32 = crate::bpf::TC_ACT_OK;
pub const NETKIT_DROP: i32 = crate::bpf::TC_ACT_SHOT;
pub const NETKIT_REDIRECT: i32 = crate::bpf::TC_ACT_REDIRECT;

// enum netkit_mode
pub const NETKIT_L2: u32 = 0;
pub const NETKIT_L3: u32 = 1;

// enum netkit_scrub
/// Leave `skb->{mark,priority}` to the attached BPF program.
pub const NETKIT_SCRUB_NONE: u32 = 0;
/// Clear `mark` and `priority` when crossing netns (the default).
pub const NETKIT_SCRUB_DEFAULT: u32 = 1;

// enum netkit_pairing
pub const NETKIT_DEVICE_PAIR: u32 = 0;
pub const NETKIT_DEVICE_SINGLE: u32 = 1;

value_enum! {
    /// Kernel: `enum netkit_action`; a device policy or a BPF verdict. Words as
    /// iproute2 prints policies ("forward", "blackhole"); NEXT and REDIRECT are never
    /// policies, so iproute2 has no word for them and we use the enum names.
    pub enum NetkitAction: i32 {
        Next = NETKIT_NEXT => "next",
        Pass = NETKIT_PASS => "forward",
        Drop = NETKIT_DROP => "blackhole",
        Redirect = NETKIT_REDIRECT => "redirect",
    }
}

/// `IFLA_NETKIT_POLICY` travels as a u32: the same 32 bits as the C enum.
impl From<u32> for NetkitAction {
    fn from(value: u32) -> Self {
        Self::from(value as i32)
    }
}

impl From<NetkitAction> for u32 {
    fn from(value: NetkitAction) -> Self {
        i32::from(value) as u32
    }
}

value_enum! {
    /// Kernel: `enum netkit_mode`; iproute2 words.
    pub enum NetkitMode: u32 {
        L2 = NETKIT_L2 => "l2",
        L3 = NETKIT_L3 => "l3",
    }
}

value_enum! {
    /// Kernel: `enum netkit_scrub`; iproute2 words.
    pub enum NetkitScrub: u32 {
        None = NETKIT_SCRUB_NONE => "none",
        Default = NETKIT_SCRUB_DEFAULT => "default",
    }
}

value_enum! {
    /// Kernel: `enum netkit_pairing`; iproute2 words ("pair", "single").
    pub enum NetkitPairing: u32 {
        Pair = NETKIT_DEVICE_PAIR => "pair",
        Single = NETKIT_DEVICE_SINGLE => "single",
    }
}

// Address attributes (if_addr.h).
pub const IFA_UNSPEC: u16 = 0;
pub const IFA_ADDRESS: u16 = 1;
pub const IFA_LOCAL: u16 = 2;
pub const IFA_LABEL: u16 = 3;
pub const IFA_BROADCAST: u16 = 4;
pub const IFA_ANYCAST: u16 = 5;
pub const IFA_CACHEINFO: u16 = 6;
pub const IFA_MULTICAST: u16 = 7;
/// u32 flags; supersedes the u8 `ifa_flags` for bits above 7.
pub const IFA_FLAGS: u16 = 8;
pub const IFA_RT_PRIORITY: u16 = 9;
pub const IFA_TARGET_NETNSID: u16 = 10;
pub const IFA_PROTO: u16 = 11;
pub const IFA_MAX: u16 = 11;

pub const IFA_F_SECONDARY: u32 = 0x01;
pub const IFA_F_TEMPORARY: u32 = IFA_F_SECONDARY;
pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_OPTIMISTIC: u32 = 0x04;
pub const IFA_F_DADFAILED: u32 = 0x08;
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_DEPRECATED: u32 = 0x20;
pub const IFA_F_TENTATIVE: u32 = 0x40;
pub const IFA_F_PERMANENT: u32 = 0x80;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;
pub const IFA_F_STABLE_PRIVACY: u32 = 0x800;

// Route attributes.
pub const RTA_UNSPEC: u16 = 0;
pub const RTA_DST: u16 = 1;
pub const RTA_SRC: u16 = 2;
pub const RTA_IIF: u16 = 3;
pub const RTA_OIF: u16 = 4;
pub const RTA_GATEWAY: u16 = 5;
pub const RTA_PRIORITY: u16 = 6;
pub const RTA_PREFSRC: u16 = 7;
pub const RTA_METRICS: u16 = 8;
pub const RTA_MULTIPATH: u16 = 9;
pub const RTA_PROTOINFO: u16 = 10;
pub const RTA_FLOW: u16 = 11;
pub const RTA_CACHEINFO: u16 = 12;
pub const RTA_SESSION: u16 = 13;
pub const RTA_MP_ALGO: u16 = 14;
/// u32 table id; needed for ids above 255 that do not fit `rtm_table`.
pub const RTA_TABLE: u16 = 15;
pub const RTA_MARK: u16 = 16;
pub const RTA_MFC_STATS: u16 = 17;
pub const RTA_VIA: u16 = 18;
pub const RTA_NEWDST: u16 = 19;
pub const RTA_PREF: u16 = 20;
pub const RTA_ENCAP_TYPE: u16 = 21;
pub const RTA_ENCAP: u16 = 22;
pub const RTA_EXPIRES: u16 = 23;
pub const RTA_PAD: u16 = 24;
pub const RTA_UID: u16 = 25;
pub const RTA_TTL_PROPAGATE: u16 = 26;
pub const RTA_IP_PROTO: u16 = 27;
pub const RTA_SPORT: u16 = 28;
pub const RTA_DPORT: u16 = 29;
pub const RTA_NH_ID: u16 = 30;
pub const RTA_FLOWLABEL: u16 = 31;
pub const RTA_MAX: u16 = 31;

// rtm_type
pub const RTN_UNSPEC: u8 = 0;
pub const RTN_UNICAST: u8 = 1;
pub const RTN_LOCAL: u8 = 2;
pub const RTN_BROADCAST: u8 = 3;
pub const RTN_ANYCAST: u8 = 4;
pub const RTN_MULTICAST: u8 = 5;
pub const RTN_BLACKHOLE: u8 = 6;
pub const RTN_UNREACHABLE: u8 = 7;
pub const RTN_PROHIBIT: u8 = 8;
pub const RTN_THROW: u8 = 9;
pub const RTN_NAT: u8 = 10;
pub const RTN_XRESOLVE: u8 = 11;

// rtm_protocol
pub const RTPROT_UNSPEC: u8 = 0;
pub const RTPROT_REDIRECT: u8 = 1;
pub const RTPROT_KERNEL: u8 = 2;
pub const RTPROT_BOOT: u8 = 3;
pub const RTPROT_STATIC: u8 = 4;
pub const RTPROT_RA: u8 = 9;
pub const RTPROT_DHCP: u8 = 16;

// rtm_scope / ifa_scope
pub const RT_SCOPE_UNIVERSE: u8 = 0;
pub const RT_SCOPE_SITE: u8 = 200;
pub const RT_SCOPE_LINK: u8 = 253;
pub const RT_SCOPE_HOST: u8 = 254;
pub const RT_SCOPE_NOWHERE: u8 = 255;

// rtm_table
pub const RT_TABLE_UNSPEC: u8 = 0;
pub const RT_TABLE_COMPAT: u8 = 252;
pub const RT_TABLE_DEFAULT: u8 = 253;
pub const RT_TABLE_MAIN: u8 = 254;
pub const RT_TABLE_LOCAL: u8 = 255;

// RTM_*NSID attributes (include/uapi/linux/net_namespace.h).
pub const NETNSA_NONE: u16 = 0;
pub const NETNSA_NSID: u16 = 1;
pub const NETNSA_PID: u16 = 2;
pub const NETNSA_FD: u16 = 3;
pub const NETNSA_TARGET_NSID: u16 = 4;
pub const NETNSA_CURRENT_NSID: u16 = 5;
pub const NETNSA_MAX: u16 = 5;
/// NETNSA_NSID value meaning "this peer netns has no id here".
pub const NETNSA_NSID_NOT_ASSIGNED: i32 = -1;

/// Kernel: `struct ifinfomsg`, the fixed header of RTM_*LINK (16 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+-------------------------------+
/// |  ifi_family   |   __ifi_pad   |       ifi_type (ARPHRD_*)     |
/// +---------------+---------------+-------------------------------+
/// |                      ifi_index (s32)                          |
/// +---------------------------------------------------------------+
/// |                      ifi_flags (IFF_*)                        |
/// +---------------------------------------------------------------+
/// |                  ifi_change (mask of flags to change)         |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfInfoMsg {
    pub ifi_family: u8,
    pub ifi_pad: u8,
    pub ifi_type: u16,
    pub ifi_index: i32,
    pub ifi_flags: u32,
    pub ifi_change: u32,
}

impl IfInfoMsg {
    pub const SIZE: usize = 16;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0] = self.ifi_family;
        b[1] = self.ifi_pad;
        b[2..4].copy_from_slice(&self.ifi_type.to_ne_bytes());
        b[4..8].copy_from_slice(&self.ifi_index.to_ne_bytes());
        b[8..12].copy_from_slice(&self.ifi_flags.to_ne_bytes());
        b[12..16].copy_from_slice(&self.ifi_change.to_ne_bytes());
        b
    }

    /// Reads the first 16 bytes; trailing bytes (attributes) are the caller's.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            ifi_family: b[0],
            ifi_pad: b[1],
            ifi_type: u16::from_ne_bytes(field(b, 2)),
            ifi_index: i32::from_ne_bytes(field(b, 4)),
            ifi_flags: u32::from_ne_bytes(field(b, 8)),
            ifi_change: u32::from_ne_bytes(field(b, 12)),
        })
    }
}

/// Kernel: `struct ifaddrmsg`, the fixed header of RTM_*ADDR (8 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+---------------+---------------+
/// |  ifa_family   | ifa_prefixlen | ifa_flags(u8) |   ifa_scope   |
/// +---------------+---------------+---------------+---------------+
/// |                      ifa_index (u32)                          |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfAddrMsg {
    pub ifa_family: u8,
    pub ifa_prefixlen: u8,
    /// Low 8 bits of IFA_F_*; the full set travels in IFA_FLAGS.
    pub ifa_flags: u8,
    pub ifa_scope: u8,
    pub ifa_index: u32,
}

impl IfAddrMsg {
    pub const SIZE: usize = 8;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0] = self.ifa_family;
        b[1] = self.ifa_prefixlen;
        b[2] = self.ifa_flags;
        b[3] = self.ifa_scope;
        b[4..8].copy_from_slice(&self.ifa_index.to_ne_bytes());
        b
    }

    /// Reads the first 8 bytes; trailing bytes (attributes) are the caller's.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            ifa_family: b[0],
            ifa_prefixlen: b[1],
            ifa_flags: b[2],
            ifa_scope: b[3],
            ifa_index: u32::from_ne_bytes(field(b, 4)),
        })
    }
}

/// Kernel: `struct rtmsg`, the fixed header of RTM_*ROUTE (12 bytes).
///
/// ```text
///  0               1               2               3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +---------------+---------------+---------------+---------------+
/// |  rtm_family   |  rtm_dst_len  |  rtm_src_len  |    rtm_tos    |
/// +---------------+---------------+---------------+---------------+
/// |   rtm_table   | rtm_protocol  |   rtm_scope   |   rtm_type    |
/// +---------------+---------------+---------------+---------------+
/// |                     rtm_flags (RTM_F_*)                       |
/// +---------------------------------------------------------------+
/// ```
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RtMsg {
    pub rtm_family: u8,
    pub rtm_dst_len: u8,
    pub rtm_src_len: u8,
    pub rtm_tos: u8,
    pub rtm_table: u8,
    pub rtm_protocol: u8,
    pub rtm_scope: u8,
    pub rtm_type: u8,
    pub rtm_flags: u32,
}

impl RtMsg {
    pub const SIZE: usize = 12;

    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut b = [0u8; Self::SIZE];
        b[0] = self.rtm_family;
        b[1] = self.rtm_dst_len;
        b[2] = self.rtm_src_len;
        b[3] = self.rtm_tos;
        b[4] = self.rtm_table;
        b[5] = self.rtm_protocol;
        b[6] = self.rtm_scope;
        b[7] = self.rtm_type;
        b[8..12].copy_from_slice(&self.rtm_flags.to_ne_bytes());
        b
    }

    /// Reads the first 12 bytes; trailing bytes (attributes) are the caller's.
    pub fn from_bytes(buf: &[u8]) -> Result<Self, TooShort> {
        let b = prefix::<{ Self::SIZE }>(buf)?;
        Ok(Self {
            rtm_family: b[0],
            rtm_dst_len: b[1],
            rtm_src_len: b[2],
            rtm_tos: b[3],
            rtm_table: b[4],
            rtm_protocol: b[5],
            rtm_scope: b[6],
            rtm_type: b[7],
            rtm_flags: u32::from_ne_bytes(field(b, 8)),
        })
    }
}

/// Kernel: `struct rtgenmsg`, the one-byte header of RTM_*NSID and plain dumps.
pub const RTGENMSG_SIZE: usize = 1;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value_enum::assert_round_trips;

    #[test]
    fn netkit_enums_round_trip() {
        assert_round_trips(NetkitAction::ALL, 3i32);
        assert_round_trips(NetkitMode::ALL, 2u32);
        assert_round_trips(NetkitScrub::ALL, 2u32);
        assert_round_trips(NetkitPairing::ALL, 2u32);
        // The u32 wire form keeps NEXT's sign and REDIRECT's value.
        assert_eq!(u32::from(NetkitAction::Next), 0xFFFF_FFFF);
        assert_eq!(NetkitAction::from(0xFFFF_FFFFu32), NetkitAction::Next);
        assert_eq!(NetkitAction::from(7u32), NetkitAction::Redirect);
        assert_eq!("blackhole".parse(), Ok(NetkitAction::Drop));
        assert_eq!("l2".parse(), Ok(NetkitMode::L2));
    }

    #[test]
    fn netkit_attr_ids() {
        let ids = [
            IFLA_NETKIT_PEER_INFO,
            IFLA_NETKIT_PRIMARY,
            IFLA_NETKIT_POLICY,
            IFLA_NETKIT_PEER_POLICY,
            IFLA_NETKIT_MODE,
            IFLA_NETKIT_SCRUB,
            IFLA_NETKIT_PEER_SCRUB,
            IFLA_NETKIT_HEADROOM,
            IFLA_NETKIT_TAILROOM,
            IFLA_NETKIT_PAIRING,
        ];
        for (i, id) in ids.into_iter().enumerate() {
            assert_eq!(usize::from(id), i + 1);
        }
        assert_eq!(NETKIT_PASS, 0);
        assert_eq!(NETKIT_DROP, 2);
        assert_eq!(NETKIT_REDIRECT, 7);
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn ifinfomsg_golden() {
        let m = IfInfoMsg {
            ifi_family: AF_UNSPEC,
            ifi_pad: 0,
            ifi_type: ARPHRD_ETHER,
            ifi_index: 7,
            ifi_flags: IFF_UP | IFF_LOWER_UP,
            ifi_change: 0xFFFF_FFFF,
        };
        let raw = [
            0x00, 0x00, 0x01, 0x00, // family, pad, type ARPHRD_ETHER
            0x07, 0x00, 0x00, 0x00, // ifindex 7
            0x01, 0x00, 0x01, 0x00, // IFF_UP | IFF_LOWER_UP
            0xff, 0xff, 0xff, 0xff, // change mask
        ];
        assert_eq!(m.to_bytes(), raw);
        assert_eq!(IfInfoMsg::from_bytes(&raw), Ok(m));
        assert_eq!(core::mem::size_of::<IfInfoMsg>(), IfInfoMsg::SIZE);
        assert_eq!(
            IfInfoMsg::from_bytes(&raw[..15]),
            Err(TooShort {
                needed: 16,
                got: 15
            })
        );
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn ifaddrmsg_golden() {
        let m = IfAddrMsg {
            ifa_family: AF_INET6,
            ifa_prefixlen: 64,
            ifa_flags: IFA_F_NODAD as u8,
            ifa_scope: RT_SCOPE_UNIVERSE,
            ifa_index: 0x0102_0304,
        };
        let raw = [0x0a, 0x40, 0x02, 0x00, 0x04, 0x03, 0x02, 0x01];
        assert_eq!(m.to_bytes(), raw);
        assert_eq!(IfAddrMsg::from_bytes(&raw), Ok(m));
        assert_eq!(core::mem::size_of::<IfAddrMsg>(), IfAddrMsg::SIZE);
        assert!(IfAddrMsg::from_bytes(&[]).is_err());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn rtmsg_golden() {
        let m = RtMsg {
            rtm_family: AF_INET6,
            rtm_dst_len: 128,
            rtm_src_len: 0,
            rtm_tos: 0,
            rtm_table: RT_TABLE_MAIN,
            rtm_protocol: RTPROT_STATIC,
            rtm_scope: RT_SCOPE_LINK,
            rtm_type: RTN_UNICAST,
            rtm_flags: RTM_F_NOTIFY,
        };
        let raw = [
            0x0a, 0x80, 0x00, 0x00, 0xfe, 0x04, 0xfd, 0x01, 0x00, 0x01, 0x00, 0x00,
        ];
        assert_eq!(m.to_bytes(), raw);
        assert_eq!(RtMsg::from_bytes(&raw), Ok(m));
        assert_eq!(core::mem::size_of::<RtMsg>(), RtMsg::SIZE);
        assert!(RtMsg::from_bytes(&raw[..11]).is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn match_libc() {
        assert_eq!(RTM_NEWLINK, libc::RTM_NEWLINK);
        assert_eq!(RTM_GETADDR, libc::RTM_GETADDR);
        assert_eq!(RTM_NEWROUTE, libc::RTM_NEWROUTE);
        assert_eq!(RTM_NEWNSID, libc::RTM_NEWNSID);
        assert_eq!(RTM_GETNSID, libc::RTM_GETNSID);
        assert_eq!(RTMGRP_IPV6_IFINFO as i32, libc::RTMGRP_IPV6_IFINFO);
        assert_eq!(RTNLGRP_NSID, libc::RTNLGRP_NSID);
        assert_eq!(IFF_LOWER_UP as i32, libc::IFF_LOWER_UP);
        assert_eq!(IFF_NOARP as i32, libc::IFF_NOARP);
        assert_eq!(IFLA_NUM_RX_QUEUES, libc::IFLA_NUM_RX_QUEUES);
        assert_eq!(IFLA_LINK_NETNSID, libc::IFLA_LINK_NETNSID);
        assert_eq!(IFLA_NEW_NETNSID, libc::IFLA_NEW_NETNSID);
        assert_eq!(IFLA_TARGET_NETNSID, libc::IFLA_TARGET_NETNSID);
        assert_eq!(IFLA_NET_NS_FD, libc::IFLA_NET_NS_FD);
        assert_eq!(IFLA_PARENT_DEV_NAME, libc::IFLA_PARENT_DEV_NAME);
        assert_eq!(IFLA_INFO_DATA, libc::IFLA_INFO_DATA);
        assert_eq!(IFA_FLAGS, libc::IFA_FLAGS);
        assert_eq!(IFA_F_NODAD, libc::IFA_F_NODAD);
        assert_eq!(RTA_TABLE, libc::RTA_TABLE);
        assert_eq!(RTN_UNICAST, libc::RTN_UNICAST);
        assert_eq!(RTPROT_STATIC, libc::RTPROT_STATIC);
        assert_eq!(RT_SCOPE_LINK, libc::RT_SCOPE_LINK);
        assert_eq!(RT_TABLE_MAIN, libc::RT_TABLE_MAIN);
        assert_eq!(RTM_F_NOTIFY, libc::RTM_F_NOTIFY);
    }
}
