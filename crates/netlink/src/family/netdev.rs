//! The netdev family's ops and request policies, as net/core/netdev-genl-gen.c
//! generates them from netdev.yaml in the queue-create era (kernel-spec §6; the stored
//! copy read is mptcp_net-next @80ca687d).
//!
//! Notes that shape errors:
//! - maxattr is per op: bind-tx stops at `NETDEV_A_DMABUF_FD`, so a `QUEUES` attribute
//!   (type 2) in bind-tx is inside maxattr but unspec: "Unsupported attribute"; a type
//!   above an op's maxattr is "Unknown attribute type".
//! - `DEV_GET` dump has no policy: its attributes are not parsed at all.
//! - `CONFIG_PAGE_POOL` and `CONFIG_PAGE_POOL_STATS` are assumed on (their ops exist).
//! - bind-rx is `GENL_ADMIN_PERM` here (kernel-spec §9 item 2: later kernels use
//!   `GENL_UNS_ADMIN_PERM`).
//!
//! Attribute numbers are spelled locally (kernel names) so this table depends only on
//! include/uapi/linux/netdev.h's values, quoted in kernel-spec §6.3.

use super::{Family, SplitOp};
use crate::policy::{AttrPolicy, Policy, PolicyType};
use uapi::genetlink::GENL_ADMIN_PERM;

/// Family name and version (`NETDEV_FAMILY_NAME`, `NETDEV_FAMILY_VERSION`).
pub const NETDEV_FAMILY_NAME: &str = "netdev";
pub const NETDEV_FAMILY_VERSION: u8 = 1;

pub const NETDEV_CMD_DEV_GET: u8 = 1;
pub const NETDEV_CMD_PAGE_POOL_GET: u8 = 5;
pub const NETDEV_CMD_PAGE_POOL_STATS_GET: u8 = 9;
pub const NETDEV_CMD_QUEUE_GET: u8 = 10;
pub const NETDEV_CMD_NAPI_GET: u8 = 11;
pub const NETDEV_CMD_QSTATS_GET: u8 = 12;
pub const NETDEV_CMD_BIND_RX: u8 = 13;
pub const NETDEV_CMD_NAPI_SET: u8 = 14;
pub const NETDEV_CMD_BIND_TX: u8 = 15;
pub const NETDEV_CMD_QUEUE_CREATE: u8 = 16;

const A_DEV_IFINDEX: u16 = 1;
const A_PAGE_POOL_ID: u16 = 1;
const A_PAGE_POOL_IFINDEX: u16 = 2;
const A_PAGE_POOL_STATS_INFO: u16 = 1;
const A_QUEUE_TYPE: u16 = 3;
const A_QUEUE_IFINDEX: u16 = 2;
const A_QUEUE_LEASE: u16 = 8;
const A_NAPI_ID: u16 = 2;
const A_NAPI_IFINDEX: u16 = 1;
const A_NAPI_THREADED: u16 = 8;
const A_QSTATS_SCOPE: u16 = 4;
const A_DMABUF_FD: u16 = 3;
const A_LEASE_NETNS_ID: u16 = 3;

const UNSPEC: AttrPolicy = AttrPolicy::UNSPEC;
const U32: AttrPolicy = AttrPolicy::new(PolicyType::U32);
const UINT: AttrPolicy = AttrPolicy::new(PolicyType::Uint);
/// `NLA_POLICY_MIN(NLA_U32, 1)`: every ifindex.
const IFINDEX: AttrPolicy = U32.min(1);
/// `netdev_a_page_pool_id_range`: 1..=U32_MAX on an NLA_UINT.
const PAGE_POOL_ID: AttrPolicy = UINT.range(1, u32::MAX as u64);
/// `netdev_a_page_pool_ifindex_range`: 1..=S32_MAX.
const PAGE_POOL_IFINDEX: AttrPolicy = U32.range(1, i32::MAX as u64);

/// `netdev_queue_id_nl_policy` (id, type ≤ 1).
pub static QUEUE_ID_POLICY: Policy = Policy::new(
    "netdev_queue_id_nl_policy",
    A_QUEUE_TYPE,
    &[UNSPEC, U32, UNSPEC, U32.max(1)],
);

/// `netdev_lease_nl_policy` (ifindex ≥ 1, queue nest, netns-id s32 ≥ 0).
pub static LEASE_POLICY: Policy = Policy::new(
    "netdev_lease_nl_policy",
    A_LEASE_NETNS_ID,
    &[
        UNSPEC,
        IFINDEX,
        AttrPolicy::nested(&QUEUE_ID_POLICY),
        AttrPolicy::new(PolicyType::S32).min(0),
    ],
);

/// `netdev_page_pool_info_nl_policy`.
pub static PAGE_POOL_INFO_POLICY: Policy = Policy::new(
    "netdev_page_pool_info_nl_policy",
    A_PAGE_POOL_IFINDEX,
    &[UNSPEC, PAGE_POOL_ID, PAGE_POOL_IFINDEX],
);

/// `netdev_dev_get_nl_policy`.
pub static DEV_GET_POLICY: Policy = Policy::new(
    "netdev_dev_get_nl_policy",
    A_DEV_IFINDEX,
    &[UNSPEC, IFINDEX],
);

/// `netdev_page_pool_get_do_nl_policy`.
pub static PAGE_POOL_GET_DO_POLICY: Policy = Policy::new(
    "netdev_page_pool_get_do_nl_policy",
    A_PAGE_POOL_ID,
    &[UNSPEC, PAGE_POOL_ID],
);

/// `netdev_page_pool_get_dump_nl_policy`.
pub static PAGE_POOL_GET_DUMP_POLICY: Policy = Policy::new(
    "netdev_page_pool_get_dump_nl_policy",
    A_PAGE_POOL_IFINDEX,
    &[UNSPEC, UNSPEC, PAGE_POOL_IFINDEX],
);

/// `netdev_page_pool_stats_get_{do,dump}_nl_policy` (identical).
pub static PAGE_POOL_STATS_GET_POLICY: Policy = Policy::new(
    "netdev_page_pool_stats_get_nl_policy",
    A_PAGE_POOL_STATS_INFO,
    &[UNSPEC, AttrPolicy::nested(&PAGE_POOL_INFO_POLICY)],
);

/// `netdev_queue_get_do_nl_policy` (id, ifindex ≥ 1, type ≤ 1).
pub static QUEUE_GET_DO_POLICY: Policy = Policy::new(
    "netdev_queue_get_do_nl_policy",
    A_QUEUE_TYPE,
    &[UNSPEC, U32, IFINDEX, U32.max(1)],
);

/// `netdev_queue_get_dump_nl_policy`.
pub static QUEUE_GET_DUMP_POLICY: Policy = Policy::new(
    "netdev_queue_get_dump_nl_policy",
    A_QUEUE_IFINDEX,
    &[UNSPEC, UNSPEC, IFINDEX],
);

/// `netdev_napi_get_do_nl_policy`.
pub static NAPI_GET_DO_POLICY: Policy = Policy::new(
    "netdev_napi_get_do_nl_policy",
    A_NAPI_ID,
    &[UNSPEC, UNSPEC, U32],
);

/// `netdev_napi_get_dump_nl_policy`.
pub static NAPI_GET_DUMP_POLICY: Policy = Policy::new(
    "netdev_napi_get_dump_nl_policy",
    A_NAPI_IFINDEX,
    &[UNSPEC, IFINDEX],
);

/// `netdev_qstats_get_nl_policy` (ifindex ≥ 1, scope uint mask 0x1).
pub static QSTATS_GET_POLICY: Policy = Policy::new(
    "netdev_qstats_get_nl_policy",
    A_QSTATS_SCOPE,
    &[UNSPEC, IFINDEX, UNSPEC, UNSPEC, UINT.mask(0x1)],
);

/// `netdev_bind_rx_nl_policy` (ifindex ≥ 1, queues nest, fd).
pub static BIND_RX_POLICY: Policy = Policy::new(
    "netdev_bind_rx_nl_policy",
    A_DMABUF_FD,
    &[UNSPEC, IFINDEX, AttrPolicy::nested(&QUEUE_ID_POLICY), U32],
);

/// `netdev_napi_set_nl_policy` (id, defer-hard-irqs ≤ S32_MAX, gro-flush-timeout,
/// irq-suspend-timeout, threaded ≤ 2).
pub static NAPI_SET_POLICY: Policy = Policy::new(
    "netdev_napi_set_nl_policy",
    A_NAPI_THREADED,
    &[
        UNSPEC,
        UNSPEC,
        U32,
        UNSPEC,
        UNSPEC,
        U32.range(0, i32::MAX as u64),
        UINT,
        UINT,
        U32.max(2),
    ],
);

/// `netdev_bind_tx_nl_policy` (ifindex ≥ 1, fd; maxattr FD).
pub static BIND_TX_POLICY: Policy = Policy::new(
    "netdev_bind_tx_nl_policy",
    A_DMABUF_FD,
    &[UNSPEC, IFINDEX, UNSPEC, U32],
);

/// `netdev_queue_create_nl_policy` (ifindex ≥ 1, type ≤ 1, lease nest).
pub static QUEUE_CREATE_POLICY: Policy = Policy::new(
    "netdev_queue_create_nl_policy",
    A_QUEUE_LEASE,
    &[
        UNSPEC,
        UNSPEC,
        IFINDEX,
        U32.max(1),
        UNSPEC,
        UNSPEC,
        UNSPEC,
        UNSPEC,
        AttrPolicy::nested(&LEASE_POLICY),
    ],
);

/// `netdev_nl_ops[]`, in the generated order.
pub static OPS: [SplitOp; 15] = [
    SplitOp::doit(NETDEV_CMD_DEV_GET, 0, Some(&DEV_GET_POLICY)),
    SplitOp::dumpit(NETDEV_CMD_DEV_GET, 0, None),
    SplitOp::doit(NETDEV_CMD_PAGE_POOL_GET, 0, Some(&PAGE_POOL_GET_DO_POLICY)),
    SplitOp::dumpit(
        NETDEV_CMD_PAGE_POOL_GET,
        0,
        Some(&PAGE_POOL_GET_DUMP_POLICY),
    ),
    SplitOp::doit(
        NETDEV_CMD_PAGE_POOL_STATS_GET,
        0,
        Some(&PAGE_POOL_STATS_GET_POLICY),
    ),
    SplitOp::dumpit(
        NETDEV_CMD_PAGE_POOL_STATS_GET,
        0,
        Some(&PAGE_POOL_STATS_GET_POLICY),
    ),
    SplitOp::doit(NETDEV_CMD_QUEUE_GET, 0, Some(&QUEUE_GET_DO_POLICY)),
    SplitOp::dumpit(NETDEV_CMD_QUEUE_GET, 0, Some(&QUEUE_GET_DUMP_POLICY)),
    SplitOp::doit(NETDEV_CMD_NAPI_GET, 0, Some(&NAPI_GET_DO_POLICY)),
    SplitOp::dumpit(NETDEV_CMD_NAPI_GET, 0, Some(&NAPI_GET_DUMP_POLICY)),
    SplitOp::dumpit(NETDEV_CMD_QSTATS_GET, 0, Some(&QSTATS_GET_POLICY)),
    SplitOp::doit(NETDEV_CMD_BIND_RX, GENL_ADMIN_PERM, Some(&BIND_RX_POLICY)),
    SplitOp::doit(NETDEV_CMD_NAPI_SET, GENL_ADMIN_PERM, Some(&NAPI_SET_POLICY)),
    SplitOp::doit(NETDEV_CMD_BIND_TX, 0, Some(&BIND_TX_POLICY)),
    SplitOp::doit(
        NETDEV_CMD_QUEUE_CREATE,
        GENL_ADMIN_PERM,
        Some(&QUEUE_CREATE_POLICY),
    ),
];

/// `netdev_nl_family`: name "netdev", version 1, netnsok, split ops, groups "mgmt"
/// (`NETDEV_NLGRP_MGMT` = 0) and "page-pool" (1).
pub static FAMILY: Family = Family {
    name: NETDEV_FAMILY_NAME,
    version: NETDEV_FAMILY_VERSION,
    hdrsize: 0,
    maxattr: 0,
    netnsok: true,
    resv_start_op: 0,
    ops: &OPS,
    mcgrps: &["mgmt", "page-pool"],
};
