//! The `netdev` generic-netlink family (`include/uapi/linux/netdev.h`, generated from
//! `Documentation/netlink/specs/netdev.yaml`).
//!
//! Includes the queue-lease additions (`NETDEV_CMD_QUEUE_CREATE`, `NETDEV_A_QUEUE_LEASE`,
//! `NETDEV_A_LEASE_*`) that the netkit devmem series builds on (kernel-spec.md §6).

use crate::value_enum::value_enum;

/// Family name passed to `CTRL_CMD_GETFAMILY`.
pub const NETDEV_FAMILY_NAME: &str = "netdev";
/// `genlmsghdr.version` of the family.
pub const NETDEV_FAMILY_VERSION: u8 = 1;

/// Multicast group for device add/del/change notifications.
pub const NETDEV_MCGRP_MGMT: &str = "mgmt";
/// Multicast group for page-pool notifications.
pub const NETDEV_MCGRP_PAGE_POOL: &str = "page-pool";
/// Kernel-side index of the "mgmt" group (`enum netdev_nlgrp` in netdev-genl-gen.h).
pub const NETDEV_NLGRP_MGMT: u32 = 0;
/// Kernel-side index of the "page-pool" group.
pub const NETDEV_NLGRP_PAGE_POOL: u32 = 1;

// enum netdev_xdp_act (flags)
pub const NETDEV_XDP_ACT_BASIC: u64 = 1;
pub const NETDEV_XDP_ACT_REDIRECT: u64 = 2;
pub const NETDEV_XDP_ACT_NDO_XMIT: u64 = 4;
pub const NETDEV_XDP_ACT_XSK_ZEROCOPY: u64 = 8;
pub const NETDEV_XDP_ACT_HW_OFFLOAD: u64 = 16;
pub const NETDEV_XDP_ACT_RX_SG: u64 = 32;
pub const NETDEV_XDP_ACT_NDO_XMIT_SG: u64 = 64;
/// Private in the header: all defined bits.
pub const NETDEV_XDP_ACT_MASK: u64 = 127;

// enum netdev_xdp_rx_metadata (flags)
pub const NETDEV_XDP_RX_METADATA_TIMESTAMP: u64 = 1;
pub const NETDEV_XDP_RX_METADATA_HASH: u64 = 2;
pub const NETDEV_XDP_RX_METADATA_VLAN_TAG: u64 = 4;

// enum netdev_xsk_flags (flags)
pub const NETDEV_XSK_FLAGS_TX_TIMESTAMP: u64 = 1;
pub const NETDEV_XSK_FLAGS_TX_CHECKSUM: u64 = 2;
pub const NETDEV_XSK_FLAGS_TX_LAUNCH_TIME_FIFO: u64 = 4;

// enum netdev_queue_type
pub const NETDEV_QUEUE_TYPE_RX: u32 = 0;
pub const NETDEV_QUEUE_TYPE_TX: u32 = 1;

// enum netdev_qstats_scope (flags)
pub const NETDEV_QSTATS_SCOPE_QUEUE: u64 = 1;

// enum netdev_napi_threaded
pub const NETDEV_NAPI_THREADED_DISABLED: u32 = 0;
pub const NETDEV_NAPI_THREADED_ENABLED: u32 = 1;
pub const NETDEV_NAPI_THREADED_BUSY_POLL: u32 = 2;

value_enum! {
    /// Kernel: `enum netdev_queue_type`; words as YNL prints them.
    pub enum QueueType: u32 {
        Rx = NETDEV_QUEUE_TYPE_RX => "rx",
        Tx = NETDEV_QUEUE_TYPE_TX => "tx",
    }
}

value_enum! {
    /// Kernel: `enum netdev_napi_threaded`; words as YNL prints them.
    pub enum NapiThreaded: u32 {
        Disabled = NETDEV_NAPI_THREADED_DISABLED => "disabled",
        Enabled = NETDEV_NAPI_THREADED_ENABLED => "enabled",
        BusyPoll = NETDEV_NAPI_THREADED_BUSY_POLL => "busy-poll",
    }
}

// Attribute set "dev".
pub const NETDEV_A_DEV_IFINDEX: u16 = 1;
pub const NETDEV_A_DEV_PAD: u16 = 2;
pub const NETDEV_A_DEV_XDP_FEATURES: u16 = 3;
pub const NETDEV_A_DEV_XDP_ZC_MAX_SEGS: u16 = 4;
pub const NETDEV_A_DEV_XDP_RX_METADATA_FEATURES: u16 = 5;
pub const NETDEV_A_DEV_XSK_FEATURES: u16 = 6;
pub const NETDEV_A_DEV_MAX: u16 = 6;

// Attribute set "io-uring-provider-info": empty in this series (later kernels add
// RX_BUF_LEN 1), so only the MAX exists.
pub const NETDEV_A_IO_URING_PROVIDER_INFO_MAX: u16 = 0;

// Attribute set "page-pool".
pub const NETDEV_A_PAGE_POOL_ID: u16 = 1;
pub const NETDEV_A_PAGE_POOL_IFINDEX: u16 = 2;
pub const NETDEV_A_PAGE_POOL_NAPI_ID: u16 = 3;
pub const NETDEV_A_PAGE_POOL_INFLIGHT: u16 = 4;
pub const NETDEV_A_PAGE_POOL_INFLIGHT_MEM: u16 = 5;
pub const NETDEV_A_PAGE_POOL_DETACH_TIME: u16 = 6;
pub const NETDEV_A_PAGE_POOL_DMABUF: u16 = 7;
pub const NETDEV_A_PAGE_POOL_IO_URING: u16 = 8;
pub const NETDEV_A_PAGE_POOL_MAX: u16 = 8;

// Attribute set "page-pool-stats" (2..7 are reserved: the ids jump to 8).
pub const NETDEV_A_PAGE_POOL_STATS_INFO: u16 = 1;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_FAST: u16 = 8;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_SLOW: u16 = 9;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_SLOW_HIGH_ORDER: u16 = 10;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_EMPTY: u16 = 11;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_REFILL: u16 = 12;
pub const NETDEV_A_PAGE_POOL_STATS_ALLOC_WAIVE: u16 = 13;
pub const NETDEV_A_PAGE_POOL_STATS_RECYCLE_CACHED: u16 = 14;
pub const NETDEV_A_PAGE_POOL_STATS_RECYCLE_CACHE_FULL: u16 = 15;
pub const NETDEV_A_PAGE_POOL_STATS_RECYCLE_RING: u16 = 16;
pub const NETDEV_A_PAGE_POOL_STATS_RECYCLE_RING_FULL: u16 = 17;
pub const NETDEV_A_PAGE_POOL_STATS_RECYCLE_RELEASED_REFCNT: u16 = 18;
pub const NETDEV_A_PAGE_POOL_STATS_MAX: u16 = 18;

// Attribute set "napi".
pub const NETDEV_A_NAPI_IFINDEX: u16 = 1;
pub const NETDEV_A_NAPI_ID: u16 = 2;
pub const NETDEV_A_NAPI_IRQ: u16 = 3;
pub const NETDEV_A_NAPI_PID: u16 = 4;
pub const NETDEV_A_NAPI_DEFER_HARD_IRQS: u16 = 5;
pub const NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT: u16 = 6;
pub const NETDEV_A_NAPI_IRQ_SUSPEND_TIMEOUT: u16 = 7;
pub const NETDEV_A_NAPI_THREADED: u16 = 8;
pub const NETDEV_A_NAPI_MAX: u16 = 8;

// Attribute set "xsk-info": no attributes (an empty nest marks AF_XDP on a queue).
pub const NETDEV_A_XSK_INFO_MAX: u16 = 0;

// Attribute set "queue".
pub const NETDEV_A_QUEUE_ID: u16 = 1;
pub const NETDEV_A_QUEUE_IFINDEX: u16 = 2;
pub const NETDEV_A_QUEUE_TYPE: u16 = 3;
pub const NETDEV_A_QUEUE_NAPI_ID: u16 = 4;
pub const NETDEV_A_QUEUE_DMABUF: u16 = 5;
pub const NETDEV_A_QUEUE_IO_URING: u16 = 6;
pub const NETDEV_A_QUEUE_XSK: u16 = 7;
/// Nest of set "lease"; only reported on the physical device's leased queue.
pub const NETDEV_A_QUEUE_LEASE: u16 = 8;
pub const NETDEV_A_QUEUE_MAX: u16 = 8;

// Attribute set "qstats" (5..7 reserved).
pub const NETDEV_A_QSTATS_IFINDEX: u16 = 1;
pub const NETDEV_A_QSTATS_QUEUE_TYPE: u16 = 2;
pub const NETDEV_A_QSTATS_QUEUE_ID: u16 = 3;
pub const NETDEV_A_QSTATS_SCOPE: u16 = 4;
pub const NETDEV_A_QSTATS_RX_PACKETS: u16 = 8;
pub const NETDEV_A_QSTATS_RX_BYTES: u16 = 9;
pub const NETDEV_A_QSTATS_TX_PACKETS: u16 = 10;
pub const NETDEV_A_QSTATS_TX_BYTES: u16 = 11;
pub const NETDEV_A_QSTATS_RX_ALLOC_FAIL: u16 = 12;
pub const NETDEV_A_QSTATS_RX_HW_DROPS: u16 = 13;
pub const NETDEV_A_QSTATS_RX_HW_DROP_OVERRUNS: u16 = 14;
pub const NETDEV_A_QSTATS_RX_CSUM_COMPLETE: u16 = 15;
pub const NETDEV_A_QSTATS_RX_CSUM_UNNECESSARY: u16 = 16;
pub const NETDEV_A_QSTATS_RX_CSUM_NONE: u16 = 17;
pub const NETDEV_A_QSTATS_RX_CSUM_BAD: u16 = 18;
pub const NETDEV_A_QSTATS_RX_HW_GRO_PACKETS: u16 = 19;
pub const NETDEV_A_QSTATS_RX_HW_GRO_BYTES: u16 = 20;
pub const NETDEV_A_QSTATS_RX_HW_GRO_WIRE_PACKETS: u16 = 21;
pub const NETDEV_A_QSTATS_RX_HW_GRO_WIRE_BYTES: u16 = 22;
pub const NETDEV_A_QSTATS_RX_HW_DROP_RATELIMITS: u16 = 23;
pub const NETDEV_A_QSTATS_TX_HW_DROPS: u16 = 24;
pub const NETDEV_A_QSTATS_TX_HW_DROP_ERRORS: u16 = 25;
pub const NETDEV_A_QSTATS_TX_CSUM_NONE: u16 = 26;
pub const NETDEV_A_QSTATS_TX_NEEDS_CSUM: u16 = 27;
pub const NETDEV_A_QSTATS_TX_HW_GSO_PACKETS: u16 = 28;
pub const NETDEV_A_QSTATS_TX_HW_GSO_BYTES: u16 = 29;
pub const NETDEV_A_QSTATS_TX_HW_GSO_WIRE_PACKETS: u16 = 30;
pub const NETDEV_A_QSTATS_TX_HW_GSO_WIRE_BYTES: u16 = 31;
pub const NETDEV_A_QSTATS_TX_HW_DROP_RATELIMITS: u16 = 32;
pub const NETDEV_A_QSTATS_TX_STOP: u16 = 33;
pub const NETDEV_A_QSTATS_TX_WAKE: u16 = 34;
pub const NETDEV_A_QSTATS_MAX: u16 = 34;

// Attribute set "lease" (nested in queue-create requests and queue-get replies).
pub const NETDEV_A_LEASE_IFINDEX: u16 = 1;
/// Nest of subset "queue-id" ({QUEUE_ID, QUEUE_TYPE}).
pub const NETDEV_A_LEASE_QUEUE: u16 = 2;
/// s32; present only when the leasing device lives in another netns.
pub const NETDEV_A_LEASE_NETNS_ID: u16 = 3;
pub const NETDEV_A_LEASE_MAX: u16 = 3;

// Attribute set "dmabuf" (bind-rx / bind-tx).
pub const NETDEV_A_DMABUF_IFINDEX: u16 = 1;
/// Multi-attr nest of subset "queue-id".
pub const NETDEV_A_DMABUF_QUEUES: u16 = 2;
pub const NETDEV_A_DMABUF_FD: u16 = 3;
pub const NETDEV_A_DMABUF_ID: u16 = 4;
pub const NETDEV_A_DMABUF_MAX: u16 = 4;

// Commands.
pub const NETDEV_CMD_DEV_GET: u8 = 1;
pub const NETDEV_CMD_DEV_ADD_NTF: u8 = 2;
pub const NETDEV_CMD_DEV_DEL_NTF: u8 = 3;
pub const NETDEV_CMD_DEV_CHANGE_NTF: u8 = 4;
pub const NETDEV_CMD_PAGE_POOL_GET: u8 = 5;
pub const NETDEV_CMD_PAGE_POOL_ADD_NTF: u8 = 6;
pub const NETDEV_CMD_PAGE_POOL_DEL_NTF: u8 = 7;
pub const NETDEV_CMD_PAGE_POOL_CHANGE_NTF: u8 = 8;
pub const NETDEV_CMD_PAGE_POOL_STATS_GET: u8 = 9;
pub const NETDEV_CMD_QUEUE_GET: u8 = 10;
pub const NETDEV_CMD_NAPI_GET: u8 = 11;
pub const NETDEV_CMD_QSTATS_GET: u8 = 12;
pub const NETDEV_CMD_BIND_RX: u8 = 13;
pub const NETDEV_CMD_NAPI_SET: u8 = 14;
pub const NETDEV_CMD_BIND_TX: u8 = 15;
pub const NETDEV_CMD_QUEUE_CREATE: u8 = 16;
pub const NETDEV_CMD_MAX: u8 = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value_enum::assert_round_trips;

    #[test]
    fn value_enums_round_trip() {
        assert_round_trips(QueueType::ALL, 7u32);
        assert_round_trips(NapiThreaded::ALL, 3u32);
        assert_eq!(QueueType::ALL.len(), 2);
        assert_eq!(NapiThreaded::ALL.len(), 3);
    }

    #[test]
    fn words_are_ynl_words() {
        use std::string::ToString;
        assert_eq!(QueueType::Rx.to_string(), "rx");
        assert_eq!(u32::from(QueueType::Tx), 1);
        assert_eq!("busy-poll".parse(), Ok(NapiThreaded::BusyPoll));
        assert_eq!("5".parse(), Ok(QueueType::Other(5)));
    }

    #[test]
    fn ids_match_spec_section_6() {
        assert_eq!(NETDEV_CMD_BIND_RX, 13);
        assert_eq!(NETDEV_CMD_BIND_TX, 15);
        assert_eq!(NETDEV_CMD_QUEUE_CREATE, 16);
        assert_eq!(NETDEV_A_QUEUE_LEASE, 8);
        assert_eq!(NETDEV_A_DMABUF_ID, 4);
        assert_eq!(NETDEV_A_NAPI_THREADED, 8);
        assert_eq!(NETDEV_XDP_ACT_MASK, (NETDEV_XDP_ACT_NDO_XMIT_SG << 1) - 1);
    }
}
