//! rtnetlink's attribute policies, as const tables in the kernel's `nla_policy` shape.
//!
//! Kernel: `ifla_policy[]`, `ifla_info_policy[]` (net/core/rtnetlink.c),
//! `netkit_policy[]` (drivers/net/netkit.c), `veth_policy[]` (drivers/net/veth.c),
//! `ifa_ipv6_policy[]` (net/ipv6/addrconf.c), `ifa_ipv4_policy[]` (net/ipv4/devinet.c),
//! `rtm_ipv6_policy[]` (net/ipv6/route.c), `rtm_ipv4_policy[]` (net/ipv4/fib_frontend.c),
//! `rtnl_net_policy[]` (net/core/net_namespace.c). Only the entries a request can
//! reach through the handlers modelled here matter for behaviour; the others are kept
//! so that length checks on attributes we ignore still fail as the kernel's do.

use netlink::policy::{AttrPolicy, Policy, PolicyType};
use uapi::rtnetlink::*;

/// Kernel: `MAX_ADDR_LEN`.
const MAX_ADDR_LEN: u16 = 32;
/// Kernel: `sizeof(struct rtnl_link_ifmap)` (28 bytes of fields, padded to 32).
const RTNL_LINK_IFMAP_LEN: u16 = 32;
/// Kernel: `IFALIASZ`.
const IFALIASZ: u16 = 256;
/// Kernel: `MAX_PHYS_ITEM_ID_LEN`.
const MAX_PHYS_ITEM_ID_LEN: u16 = 32;
/// Kernel: `ALTIFNAMSIZ`.
const ALTIFNAMSIZ: u16 = 128;
/// `MAX_TCP_HEADER`, here only the `IFLA_GSO_MAX_SIZE` minimum.
const MAX_TCP_HEADER: i64 = crate::net::ipv4::tcp_output::MAX_TCP_HEADER as i64;
/// `sizeof(struct ifinfomsg)`.
const IFINFOMSG_LEN: u16 = IfInfoMsg::SIZE as u16;

const fn u(ty: PolicyType) -> AttrPolicy {
    AttrPolicy::new(ty)
}

const fn unspec_len(len: u16) -> AttrPolicy {
    AttrPolicy::UNSPEC.with_len(len)
}

const fn binary(len: u16) -> AttrPolicy {
    AttrPolicy::new(PolicyType::Binary).with_len(len)
}

const IFLA_ATTRS: [AttrPolicy; IFLA_MAX as usize + 1] = {
    use PolicyType::*;
    let mut a = [AttrPolicy::UNSPEC; IFLA_MAX as usize + 1];
    a[IFLA_IFNAME as usize] = AttrPolicy::string(uapi::rtnetlink::IFNAMSIZ as u16 - 1);
    a[IFLA_ADDRESS as usize] = binary(MAX_ADDR_LEN);
    a[IFLA_BROADCAST as usize] = binary(MAX_ADDR_LEN);
    a[IFLA_MAP as usize] = unspec_len(RTNL_LINK_IFMAP_LEN);
    a[IFLA_MTU as usize] = u(U32);
    a[IFLA_LINK as usize] = u(U32);
    a[IFLA_MASTER as usize] = u(U32);
    a[IFLA_CARRIER as usize] = u(U8);
    a[IFLA_TXQLEN as usize] = u(U32);
    a[IFLA_WEIGHT as usize] = u(U32);
    a[IFLA_OPERSTATE as usize] = u(U8);
    a[IFLA_LINKMODE as usize] = u(U8);
    a[IFLA_LINKINFO as usize] = u(Nested);
    a[IFLA_NET_NS_PID as usize] = u(U32);
    a[IFLA_NET_NS_FD as usize] = u(U32);
    a[IFLA_IFALIAS as usize] = binary(IFALIASZ - 1);
    a[IFLA_VFINFO_LIST as usize] = u(Nested);
    a[IFLA_VF_PORTS as usize] = u(Nested);
    a[IFLA_PORT_SELF as usize] = u(Nested);
    a[IFLA_AF_SPEC as usize] = u(Nested);
    a[IFLA_EXT_MASK as usize] = u(U32);
    a[IFLA_PROMISCUITY as usize] = u(U32);
    a[IFLA_NUM_TX_QUEUES as usize] = u(U32);
    a[IFLA_NUM_RX_QUEUES as usize] = u(U32);
    a[IFLA_GSO_MAX_SEGS as usize] = u(U32);
    a[IFLA_GSO_MAX_SIZE as usize] = u(U32).min(MAX_TCP_HEADER + 1);
    a[IFLA_PHYS_PORT_ID as usize] = binary(MAX_PHYS_ITEM_ID_LEN);
    a[IFLA_CARRIER_CHANGES as usize] = u(U32);
    a[IFLA_PHYS_SWITCH_ID as usize] = binary(MAX_PHYS_ITEM_ID_LEN);
    a[IFLA_LINK_NETNSID as usize] = u(S32);
    a[IFLA_PROTO_DOWN as usize] = u(U8);
    a[IFLA_XDP as usize] = u(Nested);
    a[IFLA_EVENT as usize] = u(U32);
    a[IFLA_GROUP as usize] = u(U32);
    a[IFLA_TARGET_NETNSID as usize] = u(S32);
    a[IFLA_CARRIER_UP_COUNT as usize] = u(U32);
    a[IFLA_CARRIER_DOWN_COUNT as usize] = u(U32);
    a[IFLA_MIN_MTU as usize] = u(U32);
    a[IFLA_MAX_MTU as usize] = u(U32);
    a[IFLA_PROP_LIST as usize] = u(Nested);
    a[IFLA_ALT_IFNAME as usize] = AttrPolicy::string(ALTIFNAMSIZ - 1);
    a[IFLA_PERM_ADDRESS as usize] = AttrPolicy::reject(None);
    a[IFLA_PROTO_DOWN_REASON as usize] = u(Nested);
    a[IFLA_NEW_IFINDEX as usize] = u(S32).min(1);
    a[IFLA_PARENT_DEV_NAME as usize] = u(NulString);
    a[IFLA_GRO_MAX_SIZE as usize] = u(U32);
    a[IFLA_TSO_MAX_SIZE as usize] = AttrPolicy::reject(None);
    a[IFLA_TSO_MAX_SEGS as usize] = AttrPolicy::reject(None);
    a[IFLA_ALLMULTI as usize] = AttrPolicy::reject(None);
    a[IFLA_GSO_IPV4_MAX_SIZE as usize] = u(U32).min(MAX_TCP_HEADER + 1);
    a[IFLA_GRO_IPV4_MAX_SIZE as usize] = u(U32);
    a[IFLA_NETNS_IMMUTABLE as usize] = AttrPolicy::reject(None);
    a[IFLA_HEADROOM as usize] = AttrPolicy::reject(None);
    a[IFLA_TAILROOM as usize] = AttrPolicy::reject(None);
    a
};

/// Kernel: `ifla_policy[]` (`strict_start_type = IFLA_DPLL_PIN`).
pub static IFLA_POLICY: Policy = Policy {
    name: "ifla_policy",
    maxattr: IFLA_MAX,
    attrs: &IFLA_ATTRS,
    strict_start_type: IFLA_DPLL_PIN,
};

/// Kernel: `ifla_info_policy[]`.
pub static IFLA_INFO_POLICY: Policy = Policy::new(
    "ifla_info_policy",
    IFLA_INFO_MAX,
    &[
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::String),
        AttrPolicy::new(PolicyType::Nested),
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::String),
        AttrPolicy::new(PolicyType::Nested),
    ],
);

/// Kernel: `netkit_policy[]` (4753f810).
pub static NETKIT_POLICY: Policy = Policy::new(
    "netkit_policy",
    IFLA_NETKIT_MAX,
    &[
        AttrPolicy::UNSPEC,
        // IFLA_NETKIT_PEER_INFO: at least a struct ifinfomsg.
        unspec_len(IFINFOMSG_LEN),
        // IFLA_NETKIT_PRIMARY
        AttrPolicy::reject(Some("Primary attribute is read-only")),
        // IFLA_NETKIT_POLICY, IFLA_NETKIT_PEER_POLICY
        AttrPolicy::new(PolicyType::U32),
        AttrPolicy::new(PolicyType::U32),
        // IFLA_NETKIT_MODE: NLA_POLICY_MAX(NLA_U32, NETKIT_L3)
        AttrPolicy::new(PolicyType::U32).max(NETKIT_L3 as u64),
        // IFLA_NETKIT_SCRUB, IFLA_NETKIT_PEER_SCRUB
        AttrPolicy::new(PolicyType::U32).max(NETKIT_SCRUB_DEFAULT as u64),
        AttrPolicy::new(PolicyType::U32).max(NETKIT_SCRUB_DEFAULT as u64),
        // IFLA_NETKIT_HEADROOM, IFLA_NETKIT_TAILROOM
        AttrPolicy::new(PolicyType::U16),
        AttrPolicy::new(PolicyType::U16),
        // IFLA_NETKIT_PAIRING
        AttrPolicy::new(PolicyType::U32).max(NETKIT_DEVICE_SINGLE as u64),
    ],
);

/// Kernel: `veth_policy[]`.
pub static VETH_POLICY: Policy = Policy::new(
    "veth_policy",
    VETH_INFO_MAX,
    &[AttrPolicy::UNSPEC, unspec_len(IFINFOMSG_LEN)],
);

/// `sizeof(struct in6_addr)`.
const IN6_LEN: u16 = 16;
/// `sizeof(struct ifa_cacheinfo)`.
const IFA_CACHEINFO_LEN: u16 = 16;

/// Kernel: `ifa_ipv6_policy[]`.
pub static IFA_IPV6_POLICY: Policy = Policy::new(
    "ifa_ipv6_policy",
    IFA_MAX,
    &[
        AttrPolicy::UNSPEC,
        unspec_len(IN6_LEN),              // IFA_ADDRESS
        unspec_len(IN6_LEN),              // IFA_LOCAL
        AttrPolicy::UNSPEC,               // IFA_LABEL
        AttrPolicy::UNSPEC,               // IFA_BROADCAST
        AttrPolicy::UNSPEC,               // IFA_ANYCAST
        unspec_len(IFA_CACHEINFO_LEN),    // IFA_CACHEINFO
        AttrPolicy::UNSPEC,               // IFA_MULTICAST
        AttrPolicy::new(PolicyType::U32), // IFA_FLAGS
        AttrPolicy::new(PolicyType::U32), // IFA_RT_PRIORITY
        AttrPolicy::new(PolicyType::S32), // IFA_TARGET_NETNSID
        AttrPolicy::new(PolicyType::U8),  // IFA_PROTO
    ],
);

/// Kernel: `ifa_ipv4_policy[]`.
pub static IFA_IPV4_POLICY: Policy = Policy::new(
    "ifa_ipv4_policy",
    IFA_MAX,
    &[
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::U32), // IFA_ADDRESS
        AttrPolicy::new(PolicyType::U32), // IFA_LOCAL
        AttrPolicy::string(uapi::rtnetlink::IFNAMSIZ as u16 - 1), // IFA_LABEL
        AttrPolicy::new(PolicyType::U32), // IFA_BROADCAST
        AttrPolicy::UNSPEC,               // IFA_ANYCAST
        unspec_len(IFA_CACHEINFO_LEN),    // IFA_CACHEINFO
        AttrPolicy::UNSPEC,               // IFA_MULTICAST
        AttrPolicy::new(PolicyType::U32), // IFA_FLAGS
        AttrPolicy::new(PolicyType::U32), // IFA_RT_PRIORITY
        AttrPolicy::new(PolicyType::S32), // IFA_TARGET_NETNSID
        AttrPolicy::new(PolicyType::U8),  // IFA_PROTO
    ],
);

const RTM_IPV6_ATTRS: [AttrPolicy; RTA_MAX as usize + 1] = {
    use PolicyType::*;
    let mut a = [AttrPolicy::UNSPEC; RTA_MAX as usize + 1];
    a[RTA_GATEWAY as usize] = unspec_len(IN6_LEN);
    a[RTA_PREFSRC as usize] = unspec_len(IN6_LEN);
    a[RTA_OIF as usize] = u(U32);
    a[RTA_IIF as usize] = u(U32);
    a[RTA_PRIORITY as usize] = u(U32);
    a[RTA_METRICS as usize] = u(Nested);
    // sizeof(struct rtnexthop)
    a[RTA_MULTIPATH as usize] = unspec_len(8);
    a[RTA_PREF as usize] = u(U8);
    a[RTA_ENCAP_TYPE as usize] = u(U16);
    a[RTA_ENCAP as usize] = u(Nested);
    a[RTA_EXPIRES as usize] = u(U32);
    a[RTA_UID as usize] = u(U32);
    a[RTA_MARK as usize] = u(U32);
    a[RTA_TABLE as usize] = u(U32);
    a[RTA_IP_PROTO as usize] = u(U8);
    a[RTA_SPORT as usize] = u(U16);
    a[RTA_DPORT as usize] = u(U16);
    a[RTA_NH_ID as usize] = u(U32);
    a[RTA_FLOWLABEL as usize] = u(Be32);
    a
};

/// Kernel: `rtm_ipv6_policy[]` (`strict_start_type = RTA_DPORT + 1`). `RTA_DST` has no
/// entry: `rtm_to_fib6_config()` checks its length against `rtm_dst_len` itself.
pub static RTM_IPV6_POLICY: Policy = Policy {
    name: "rtm_ipv6_policy",
    maxattr: RTA_MAX,
    attrs: &RTM_IPV6_ATTRS,
    strict_start_type: RTA_DPORT + 1,
};

const RTM_IPV4_ATTRS: [AttrPolicy; RTA_MAX as usize + 1] = {
    use PolicyType::*;
    let mut a = [AttrPolicy::UNSPEC; RTA_MAX as usize + 1];
    a[RTA_DST as usize] = u(U32);
    a[RTA_SRC as usize] = u(U32);
    a[RTA_IIF as usize] = u(U32);
    a[RTA_OIF as usize] = u(U32);
    a[RTA_GATEWAY as usize] = u(U32);
    a[RTA_PRIORITY as usize] = u(U32);
    a[RTA_PREFSRC as usize] = u(U32);
    a[RTA_METRICS as usize] = u(Nested);
    a[RTA_MULTIPATH as usize] = unspec_len(8);
    a[RTA_FLOW as usize] = u(U32);
    a[RTA_ENCAP_TYPE as usize] = u(U16);
    a[RTA_ENCAP as usize] = u(Nested);
    a[RTA_UID as usize] = u(U32);
    a[RTA_MARK as usize] = u(U32);
    a[RTA_TABLE as usize] = u(U32);
    a[RTA_IP_PROTO as usize] = u(U8);
    a[RTA_SPORT as usize] = u(U16);
    a[RTA_DPORT as usize] = u(U16);
    a[RTA_NH_ID as usize] = u(U32);
    a
};

/// Kernel: `rtm_ipv4_policy[]` (`strict_start_type = RTA_DPORT + 1`).
pub static RTM_IPV4_POLICY: Policy = Policy {
    name: "rtm_ipv4_policy",
    maxattr: RTA_MAX,
    attrs: &RTM_IPV4_ATTRS,
    strict_start_type: RTA_DPORT + 1,
};

/// Kernel: `rtnl_net_policy[]`.
pub static RTNL_NET_POLICY: Policy = Policy::new(
    "rtnl_net_policy",
    NETNSA_MAX,
    &[
        AttrPolicy::UNSPEC,
        AttrPolicy::new(PolicyType::S32), // NETNSA_NSID
        AttrPolicy::new(PolicyType::U32), // NETNSA_PID
        AttrPolicy::new(PolicyType::U32), // NETNSA_FD
        AttrPolicy::new(PolicyType::S32), // NETNSA_TARGET_NSID
    ],
);
