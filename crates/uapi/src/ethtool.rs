//! The `ethtool` generic-netlink family (`include/uapi/linux/ethtool_netlink.h`,
//! `ethtool_netlink_generated.h`) and the ioctl-era RX flow numbers ntuple steering and
//! RSS still use (`include/uapi/linux/ethtool.h`).
//!
//! Message ids differ by direction: requests use `ETHTOOL_MSG_*` from the user enum,
//! replies and notifications the kernel enum (`*_REPLY`, `*_NTF`). The same number means
//! different things each way (16 is RINGS_SET going in, RINGS_GET_REPLY coming out).

use crate::value_enum::value_enum;

pub const ETHTOOL_GENL_NAME: &str = "ethtool";
pub const ETHTOOL_GENL_VERSION: u8 = 1;
pub const ETHTOOL_MCGRP_MONITOR_NAME: &str = "monitor";

// enum ethtool_header_flags
pub const ETHTOOL_FLAG_COMPACT_BITSETS: u32 = 1;
pub const ETHTOOL_FLAG_OMIT_REPLY: u32 = 2;
pub const ETHTOOL_FLAG_STATS: u32 = 4;

// User → kernel messages.
pub const ETHTOOL_MSG_USER_NONE: u8 = 0;
pub const ETHTOOL_MSG_STRSET_GET: u8 = 1;
pub const ETHTOOL_MSG_LINKINFO_GET: u8 = 2;
pub const ETHTOOL_MSG_LINKINFO_SET: u8 = 3;
pub const ETHTOOL_MSG_LINKMODES_GET: u8 = 4;
pub const ETHTOOL_MSG_LINKMODES_SET: u8 = 5;
pub const ETHTOOL_MSG_LINKSTATE_GET: u8 = 6;
pub const ETHTOOL_MSG_DEBUG_GET: u8 = 7;
pub const ETHTOOL_MSG_DEBUG_SET: u8 = 8;
pub const ETHTOOL_MSG_WOL_GET: u8 = 9;
pub const ETHTOOL_MSG_WOL_SET: u8 = 10;
pub const ETHTOOL_MSG_FEATURES_GET: u8 = 11;
pub const ETHTOOL_MSG_FEATURES_SET: u8 = 12;
pub const ETHTOOL_MSG_PRIVFLAGS_GET: u8 = 13;
pub const ETHTOOL_MSG_PRIVFLAGS_SET: u8 = 14;
pub const ETHTOOL_MSG_RINGS_GET: u8 = 15;
pub const ETHTOOL_MSG_RINGS_SET: u8 = 16;
pub const ETHTOOL_MSG_CHANNELS_GET: u8 = 17;
pub const ETHTOOL_MSG_CHANNELS_SET: u8 = 18;
pub const ETHTOOL_MSG_COALESCE_GET: u8 = 19;
pub const ETHTOOL_MSG_COALESCE_SET: u8 = 20;
pub const ETHTOOL_MSG_PAUSE_GET: u8 = 21;
pub const ETHTOOL_MSG_PAUSE_SET: u8 = 22;
pub const ETHTOOL_MSG_EEE_GET: u8 = 23;
pub const ETHTOOL_MSG_EEE_SET: u8 = 24;
pub const ETHTOOL_MSG_TSINFO_GET: u8 = 25;
pub const ETHTOOL_MSG_CABLE_TEST_ACT: u8 = 26;
pub const ETHTOOL_MSG_CABLE_TEST_TDR_ACT: u8 = 27;
pub const ETHTOOL_MSG_TUNNEL_INFO_GET: u8 = 28;
pub const ETHTOOL_MSG_FEC_GET: u8 = 29;
pub const ETHTOOL_MSG_FEC_SET: u8 = 30;
pub const ETHTOOL_MSG_MODULE_EEPROM_GET: u8 = 31;
pub const ETHTOOL_MSG_STATS_GET: u8 = 32;
pub const ETHTOOL_MSG_PHC_VCLOCKS_GET: u8 = 33;
pub const ETHTOOL_MSG_MODULE_GET: u8 = 34;
pub const ETHTOOL_MSG_MODULE_SET: u8 = 35;
pub const ETHTOOL_MSG_PSE_GET: u8 = 36;
pub const ETHTOOL_MSG_PSE_SET: u8 = 37;
pub const ETHTOOL_MSG_RSS_GET: u8 = 38;

// Kernel → user messages.
pub const ETHTOOL_MSG_KERNEL_NONE: u8 = 0;
pub const ETHTOOL_MSG_STRSET_GET_REPLY: u8 = 1;
pub const ETHTOOL_MSG_LINKINFO_GET_REPLY: u8 = 2;
pub const ETHTOOL_MSG_LINKINFO_NTF: u8 = 3;
pub const ETHTOOL_MSG_LINKMODES_GET_REPLY: u8 = 4;
pub const ETHTOOL_MSG_LINKMODES_NTF: u8 = 5;
pub const ETHTOOL_MSG_LINKSTATE_GET_REPLY: u8 = 6;
pub const ETHTOOL_MSG_DEBUG_GET_REPLY: u8 = 7;
pub const ETHTOOL_MSG_DEBUG_NTF: u8 = 8;
pub const ETHTOOL_MSG_WOL_GET_REPLY: u8 = 9;
pub const ETHTOOL_MSG_WOL_NTF: u8 = 10;
pub const ETHTOOL_MSG_FEATURES_GET_REPLY: u8 = 11;
pub const ETHTOOL_MSG_FEATURES_SET_REPLY: u8 = 12;
pub const ETHTOOL_MSG_FEATURES_NTF: u8 = 13;
pub const ETHTOOL_MSG_PRIVFLAGS_GET_REPLY: u8 = 14;
pub const ETHTOOL_MSG_PRIVFLAGS_NTF: u8 = 15;
pub const ETHTOOL_MSG_RINGS_GET_REPLY: u8 = 16;
pub const ETHTOOL_MSG_RINGS_NTF: u8 = 17;
pub const ETHTOOL_MSG_CHANNELS_GET_REPLY: u8 = 18;
pub const ETHTOOL_MSG_CHANNELS_NTF: u8 = 19;
pub const ETHTOOL_MSG_COALESCE_GET_REPLY: u8 = 20;
pub const ETHTOOL_MSG_COALESCE_NTF: u8 = 21;
pub const ETHTOOL_MSG_PAUSE_GET_REPLY: u8 = 22;
pub const ETHTOOL_MSG_PAUSE_NTF: u8 = 23;
pub const ETHTOOL_MSG_EEE_GET_REPLY: u8 = 24;
pub const ETHTOOL_MSG_EEE_NTF: u8 = 25;
pub const ETHTOOL_MSG_TSINFO_GET_REPLY: u8 = 26;
pub const ETHTOOL_MSG_CABLE_TEST_NTF: u8 = 27;
pub const ETHTOOL_MSG_CABLE_TEST_TDR_NTF: u8 = 28;
pub const ETHTOOL_MSG_TUNNEL_INFO_GET_REPLY: u8 = 29;
pub const ETHTOOL_MSG_FEC_GET_REPLY: u8 = 30;
pub const ETHTOOL_MSG_FEC_NTF: u8 = 31;
pub const ETHTOOL_MSG_MODULE_EEPROM_GET_REPLY: u8 = 32;
pub const ETHTOOL_MSG_STATS_GET_REPLY: u8 = 33;
pub const ETHTOOL_MSG_PHC_VCLOCKS_GET_REPLY: u8 = 34;
pub const ETHTOOL_MSG_MODULE_GET_REPLY: u8 = 35;
pub const ETHTOOL_MSG_MODULE_NTF: u8 = 36;
pub const ETHTOOL_MSG_PSE_GET_REPLY: u8 = 37;
pub const ETHTOOL_MSG_RSS_GET_REPLY: u8 = 38;

// Request header nest (ETHTOOL_A_*_HEADER of every message).
pub const ETHTOOL_A_HEADER_UNSPEC: u16 = 0;
pub const ETHTOOL_A_HEADER_DEV_INDEX: u16 = 1;
pub const ETHTOOL_A_HEADER_DEV_NAME: u16 = 2;
pub const ETHTOOL_A_HEADER_FLAGS: u16 = 3;
pub const ETHTOOL_A_HEADER_PHY_INDEX: u16 = 4;
pub const ETHTOOL_A_HEADER_MAX: u16 = 4;

// RINGS_GET / RINGS_SET.
pub const ETHTOOL_A_RINGS_UNSPEC: u16 = 0;
pub const ETHTOOL_A_RINGS_HEADER: u16 = 1;
pub const ETHTOOL_A_RINGS_RX_MAX: u16 = 2;
pub const ETHTOOL_A_RINGS_RX_MINI_MAX: u16 = 3;
pub const ETHTOOL_A_RINGS_RX_JUMBO_MAX: u16 = 4;
pub const ETHTOOL_A_RINGS_TX_MAX: u16 = 5;
pub const ETHTOOL_A_RINGS_RX: u16 = 6;
pub const ETHTOOL_A_RINGS_RX_MINI: u16 = 7;
pub const ETHTOOL_A_RINGS_RX_JUMBO: u16 = 8;
pub const ETHTOOL_A_RINGS_TX: u16 = 9;
pub const ETHTOOL_A_RINGS_RX_BUF_LEN: u16 = 10;
/// u8 `ethtool_tcp_data_split`: header split, which devmem RX requires.
pub const ETHTOOL_A_RINGS_TCP_DATA_SPLIT: u16 = 11;
pub const ETHTOOL_A_RINGS_CQE_SIZE: u16 = 12;
pub const ETHTOOL_A_RINGS_TX_PUSH: u16 = 13;
pub const ETHTOOL_A_RINGS_RX_PUSH: u16 = 14;
pub const ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN: u16 = 15;
pub const ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN_MAX: u16 = 16;
/// u32: packets at most this long are not split (ncdevmem sets 0).
pub const ETHTOOL_A_RINGS_HDS_THRESH: u16 = 17;
pub const ETHTOOL_A_RINGS_HDS_THRESH_MAX: u16 = 18;
pub const ETHTOOL_A_RINGS_MAX: u16 = 18;

// CHANNELS_GET / CHANNELS_SET (all u32).
pub const ETHTOOL_A_CHANNELS_UNSPEC: u16 = 0;
pub const ETHTOOL_A_CHANNELS_HEADER: u16 = 1;
pub const ETHTOOL_A_CHANNELS_RX_MAX: u16 = 2;
pub const ETHTOOL_A_CHANNELS_TX_MAX: u16 = 3;
pub const ETHTOOL_A_CHANNELS_OTHER_MAX: u16 = 4;
pub const ETHTOOL_A_CHANNELS_COMBINED_MAX: u16 = 5;
pub const ETHTOOL_A_CHANNELS_RX_COUNT: u16 = 6;
pub const ETHTOOL_A_CHANNELS_TX_COUNT: u16 = 7;
pub const ETHTOOL_A_CHANNELS_OTHER_COUNT: u16 = 8;
pub const ETHTOOL_A_CHANNELS_COMBINED_COUNT: u16 = 9;
pub const ETHTOOL_A_CHANNELS_MAX: u16 = 9;

// COALESCE_GET / COALESCE_SET (`ethtool_netlink_generated.h`). Parameters start at
// RX_USECS, and `supported_coalesce_params` bit N stands for attribute N + 2. RX_CQE_FRAMES
// and RX_CQE_NSECS came with net-next in 2026 ("net: ethtool: add ethtool
// COALESCE_RX_CQE_FRAMES/NSECS"); Linux 6.18 ends at TX_PROFILE (30).
pub const ETHTOOL_A_COALESCE_UNSPEC: u16 = 0;
pub const ETHTOOL_A_COALESCE_HEADER: u16 = 1;
/// u32 µs: how long after a frame arrives the RX interrupt may wait.
pub const ETHTOOL_A_COALESCE_RX_USECS: u16 = 2;
/// u32: frames after which the RX interrupt fires at once.
pub const ETHTOOL_A_COALESCE_RX_MAX_FRAMES: u16 = 3;
pub const ETHTOOL_A_COALESCE_RX_USECS_IRQ: u16 = 4;
pub const ETHTOOL_A_COALESCE_RX_MAX_FRAMES_IRQ: u16 = 5;
pub const ETHTOOL_A_COALESCE_TX_USECS: u16 = 6;
pub const ETHTOOL_A_COALESCE_TX_MAX_FRAMES: u16 = 7;
pub const ETHTOOL_A_COALESCE_TX_USECS_IRQ: u16 = 8;
pub const ETHTOOL_A_COALESCE_TX_MAX_FRAMES_IRQ: u16 = 9;
pub const ETHTOOL_A_COALESCE_STATS_BLOCK_USECS: u16 = 10;
/// u8 (bool).
pub const ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX: u16 = 11;
/// u8 (bool).
pub const ETHTOOL_A_COALESCE_USE_ADAPTIVE_TX: u16 = 12;
pub const ETHTOOL_A_COALESCE_PKT_RATE_LOW: u16 = 13;
pub const ETHTOOL_A_COALESCE_RX_USECS_LOW: u16 = 14;
pub const ETHTOOL_A_COALESCE_RX_MAX_FRAMES_LOW: u16 = 15;
pub const ETHTOOL_A_COALESCE_TX_USECS_LOW: u16 = 16;
pub const ETHTOOL_A_COALESCE_TX_MAX_FRAMES_LOW: u16 = 17;
pub const ETHTOOL_A_COALESCE_PKT_RATE_HIGH: u16 = 18;
pub const ETHTOOL_A_COALESCE_RX_USECS_HIGH: u16 = 19;
pub const ETHTOOL_A_COALESCE_RX_MAX_FRAMES_HIGH: u16 = 20;
pub const ETHTOOL_A_COALESCE_TX_USECS_HIGH: u16 = 21;
pub const ETHTOOL_A_COALESCE_TX_MAX_FRAMES_HIGH: u16 = 22;
pub const ETHTOOL_A_COALESCE_RATE_SAMPLE_INTERVAL: u16 = 23;
/// u8 (0 or 1).
pub const ETHTOOL_A_COALESCE_USE_CQE_MODE_TX: u16 = 24;
/// u8 (0 or 1).
pub const ETHTOOL_A_COALESCE_USE_CQE_MODE_RX: u16 = 25;
pub const ETHTOOL_A_COALESCE_TX_AGGR_MAX_BYTES: u16 = 26;
pub const ETHTOOL_A_COALESCE_TX_AGGR_MAX_FRAMES: u16 = 27;
pub const ETHTOOL_A_COALESCE_TX_AGGR_TIME_USECS: u16 = 28;
/// Nest of `ETHTOOL_A_PROFILE_*` (net DIM profile).
pub const ETHTOOL_A_COALESCE_RX_PROFILE: u16 = 29;
/// Nest of `ETHTOOL_A_PROFILE_*` (net DIM profile).
pub const ETHTOOL_A_COALESCE_TX_PROFILE: u16 = 30;
pub const ETHTOOL_A_COALESCE_RX_CQE_FRAMES: u16 = 31;
pub const ETHTOOL_A_COALESCE_RX_CQE_NSECS: u16 = 32;
pub const ETHTOOL_A_COALESCE_MAX: u16 = 32;

/// Calls `$m!` with one row per coalescing parameter, in attribute order:
/// `"ynl-name" field: type = attribute;`, the u8 flags as `bool` (the DIM profiles, which
/// are nests, are not parameters). The emulated kernel's and the client's parameter
/// structs are both generated from this one table.
#[macro_export]
macro_rules! ethtool_coalesce_params {
    ($m:ident) => {
        $m! {
            "rx-usecs" rx_usecs: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_USECS;
            "rx-max-frames" rx_max_frames: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_MAX_FRAMES;
            "rx-usecs-irq" rx_usecs_irq: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_USECS_IRQ;
            "rx-max-frames-irq" rx_max_frames_irq: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_MAX_FRAMES_IRQ;
            "tx-usecs" tx_usecs: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_USECS;
            "tx-max-frames" tx_max_frames: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_MAX_FRAMES;
            "tx-usecs-irq" tx_usecs_irq: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_USECS_IRQ;
            "tx-max-frames-irq" tx_max_frames_irq: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_MAX_FRAMES_IRQ;
            "stats-block-usecs" stats_block_usecs: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_STATS_BLOCK_USECS;
            "use-adaptive-rx" use_adaptive_rx: bool = $crate::ethtool::ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX;
            "use-adaptive-tx" use_adaptive_tx: bool = $crate::ethtool::ETHTOOL_A_COALESCE_USE_ADAPTIVE_TX;
            "pkt-rate-low" pkt_rate_low: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_PKT_RATE_LOW;
            "rx-usecs-low" rx_usecs_low: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_USECS_LOW;
            "rx-max-frames-low" rx_max_frames_low: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_MAX_FRAMES_LOW;
            "tx-usecs-low" tx_usecs_low: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_USECS_LOW;
            "tx-max-frames-low" tx_max_frames_low: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_MAX_FRAMES_LOW;
            "pkt-rate-high" pkt_rate_high: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_PKT_RATE_HIGH;
            "rx-usecs-high" rx_usecs_high: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_USECS_HIGH;
            "rx-max-frames-high" rx_max_frames_high: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_MAX_FRAMES_HIGH;
            "tx-usecs-high" tx_usecs_high: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_USECS_HIGH;
            "tx-max-frames-high" tx_max_frames_high: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_MAX_FRAMES_HIGH;
            "rate-sample-interval" rate_sample_interval: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RATE_SAMPLE_INTERVAL;
            "use-cqe-mode-tx" use_cqe_mode_tx: bool = $crate::ethtool::ETHTOOL_A_COALESCE_USE_CQE_MODE_TX;
            "use-cqe-mode-rx" use_cqe_mode_rx: bool = $crate::ethtool::ETHTOOL_A_COALESCE_USE_CQE_MODE_RX;
            "tx-aggr-max-bytes" tx_aggr_max_bytes: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_AGGR_MAX_BYTES;
            "tx-aggr-max-frames" tx_aggr_max_frames: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_AGGR_MAX_FRAMES;
            "tx-aggr-time-usecs" tx_aggr_time_usecs: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_TX_AGGR_TIME_USECS;
            "rx-cqe-frames" rx_cqe_frames: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_CQE_FRAMES;
            "rx-cqe-nsecs" rx_cqe_nsecs: u32 = $crate::ethtool::ETHTOOL_A_COALESCE_RX_CQE_NSECS;
        }
    };
}

// Inside ETHTOOL_A_COALESCE_{RX,TX}_PROFILE: one IRQ_MODERATION nest per DIM level.
pub const ETHTOOL_A_PROFILE_UNSPEC: u16 = 0;
pub const ETHTOOL_A_PROFILE_IRQ_MODERATION: u16 = 1;
pub const ETHTOOL_A_PROFILE_MAX: u16 = 1;

// Inside ETHTOOL_A_PROFILE_IRQ_MODERATION (all u32).
pub const ETHTOOL_A_IRQ_MODERATION_UNSPEC: u16 = 0;
pub const ETHTOOL_A_IRQ_MODERATION_USEC: u16 = 1;
pub const ETHTOOL_A_IRQ_MODERATION_PKTS: u16 = 2;
pub const ETHTOOL_A_IRQ_MODERATION_COMPS: u16 = 3;
pub const ETHTOOL_A_IRQ_MODERATION_MAX: u16 = 3;

// RSS_GET.
pub const ETHTOOL_A_RSS_UNSPEC: u16 = 0;
pub const ETHTOOL_A_RSS_HEADER: u16 = 1;
pub const ETHTOOL_A_RSS_CONTEXT: u16 = 2;
pub const ETHTOOL_A_RSS_HFUNC: u16 = 3;
pub const ETHTOOL_A_RSS_INDIR: u16 = 4;
pub const ETHTOOL_A_RSS_HKEY: u16 = 5;
pub const ETHTOOL_A_RSS_INPUT_XFRM: u16 = 6;
pub const ETHTOOL_A_RSS_START_CONTEXT: u16 = 7;
pub const ETHTOOL_A_RSS_MAX: u16 = 7;

// enum ethtool_tcp_data_split
pub const ETHTOOL_TCP_DATA_SPLIT_UNKNOWN: u8 = 0;
pub const ETHTOOL_TCP_DATA_SPLIT_DISABLED: u8 = 1;
pub const ETHTOOL_TCP_DATA_SPLIT_ENABLED: u8 = 2;

value_enum! {
    /// Kernel: `enum ethtool_tcp_data_split`; YNL words. On set, UNKNOWN means "driver
    /// default" (how ncdevmem turns split back off).
    pub enum TcpDataSplit: u8 {
        Unknown = ETHTOOL_TCP_DATA_SPLIT_UNKNOWN => "unknown",
        Disabled = ETHTOOL_TCP_DATA_SPLIT_DISABLED => "disabled",
        Enabled = ETHTOOL_TCP_DATA_SPLIT_ENABLED => "enabled",
    }
}

// ioctl commands behind `ethtool -N` / `-X` (SIOCETHTOOL).
pub const ETHTOOL_GRXFH: u32 = 0x29;
pub const ETHTOOL_SRXFH: u32 = 0x2a;
pub const ETHTOOL_GRXRINGS: u32 = 0x2d;
pub const ETHTOOL_GRXCLSRLCNT: u32 = 0x2e;
pub const ETHTOOL_GRXCLSRULE: u32 = 0x2f;
pub const ETHTOOL_GRXCLSRLALL: u32 = 0x30;
pub const ETHTOOL_SRXCLSRLDEL: u32 = 0x31;
pub const ETHTOOL_SRXCLSRLINS: u32 = 0x32;
pub const ETHTOOL_GRXFHINDIR: u32 = 0x38;
pub const ETHTOOL_SRXFHINDIR: u32 = 0x39;
pub const ETHTOOL_GCHANNELS: u32 = 0x3c;
pub const ETHTOOL_SCHANNELS: u32 = 0x3d;

// Flow types (ethtool_rx_flow_spec.flow_type).
pub const TCP_V4_FLOW: u32 = 0x01;
pub const UDP_V4_FLOW: u32 = 0x02;
pub const TCP_V6_FLOW: u32 = 0x05;
pub const UDP_V6_FLOW: u32 = 0x06;
pub const IPV4_FLOW: u32 = 0x10;
pub const IPV6_FLOW: u32 = 0x11;
pub const ETHER_FLOW: u32 = 0x12;
/// Flag: the flow spec carries the extended (VLAN / user data) fields.
pub const FLOW_EXT: u32 = 0x8000_0000;
pub const FLOW_MAC_EXT: u32 = 0x4000_0000;
/// Flag: `ring_cookie` selects an RSS context rather than a queue.
pub const FLOW_RSS: u32 = 0x2000_0000;

// Hash fields (ETHTOOL_SRXFH data).
pub const RXH_L2DA: u64 = 1 << 1;
pub const RXH_VLAN: u64 = 1 << 2;
pub const RXH_L3_PROTO: u64 = 1 << 3;
pub const RXH_IP_SRC: u64 = 1 << 4;
pub const RXH_IP_DST: u64 = 1 << 5;
pub const RXH_L4_B_0_1: u64 = 1 << 6;
pub const RXH_L4_B_2_3: u64 = 1 << 7;
pub const RXH_DISCARD: u64 = 1 << 31;

/// `ring_cookie` meaning "drop matching packets".
pub const RX_CLS_FLOW_DISC: u64 = 0xffff_ffff_ffff_ffff;
/// `ring_cookie` meaning "wake-on-LAN on match".
pub const RX_CLS_FLOW_WAKE: u64 = 0xffff_ffff_ffff_fffe;
/// Rule location flag: the driver picks the slot.
pub const RX_CLS_LOC_SPECIAL: u32 = 0x8000_0000;
pub const RX_CLS_LOC_ANY: u32 = 0xffff_ffff;
pub const RX_CLS_LOC_FIRST: u32 = 0xffff_fffe;
pub const RX_CLS_LOC_LAST: u32 = 0xffff_fffd;

/// `rss_context` value asking the driver to allocate a new context.
pub const ETH_RXFH_CONTEXT_ALLOC: u32 = 0xffff_ffff;
/// Indirection-table size meaning "leave the table unchanged".
pub const ETH_RXFH_INDIR_NO_CHANGE: u32 = 0xffff_ffff;
/// Hash function bits (ETHTOOL_A_RSS_HFUNC).
pub const ETH_RSS_HASH_TOP: u32 = 1 << 0;
pub const ETH_RSS_HASH_XOR: u32 = 1 << 1;
pub const ETH_RSS_HASH_CRC32: u32 = 1 << 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value_enum::assert_round_trips;

    #[test]
    fn tcp_data_split_round_trips() {
        assert_round_trips(TcpDataSplit::ALL, 3u8);
        assert_eq!("enabled".parse(), Ok(TcpDataSplit::Enabled));
        assert_eq!(u8::from(TcpDataSplit::Enabled), 2);
    }

    #[test]
    fn directions_differ() {
        // Same number, different message each way.
        assert_eq!(ETHTOOL_MSG_RINGS_SET, ETHTOOL_MSG_RINGS_GET_REPLY);
        assert_eq!(ETHTOOL_MSG_RINGS_GET, 15);
        assert_eq!(ETHTOOL_MSG_CHANNELS_GET, 17);
        assert_eq!(ETHTOOL_MSG_CHANNELS_GET_REPLY, 18);
        assert_eq!(ETHTOOL_MSG_RSS_GET, ETHTOOL_MSG_RSS_GET_REPLY);
        assert_eq!(ETHTOOL_A_RINGS_HDS_THRESH_MAX, 18);
        assert_eq!(ETHTOOL_MSG_COALESCE_SET, ETHTOOL_MSG_COALESCE_GET_REPLY);
        assert_eq!(ETHTOOL_MSG_COALESCE_NTF, 21);
        // Kernel-to-user: each set's NTF follows its GET_REPLY.
        assert_eq!(ETHTOOL_MSG_RINGS_NTF, 17);
        assert_eq!(ETHTOOL_MSG_CHANNELS_NTF, 19);
    }

    /// The coalesce attributes as `ethtool_netlink_generated.h` enumerates them: dense
    /// from UNSPEC, header first, RX_USECS at 2 (the `supported_coalesce_params` offset).
    #[test]
    fn coalesce_attributes_are_dense() {
        let all = [
            ETHTOOL_A_COALESCE_UNSPEC,
            ETHTOOL_A_COALESCE_HEADER,
            ETHTOOL_A_COALESCE_RX_USECS,
            ETHTOOL_A_COALESCE_RX_MAX_FRAMES,
            ETHTOOL_A_COALESCE_RX_USECS_IRQ,
            ETHTOOL_A_COALESCE_RX_MAX_FRAMES_IRQ,
            ETHTOOL_A_COALESCE_TX_USECS,
            ETHTOOL_A_COALESCE_TX_MAX_FRAMES,
            ETHTOOL_A_COALESCE_TX_USECS_IRQ,
            ETHTOOL_A_COALESCE_TX_MAX_FRAMES_IRQ,
            ETHTOOL_A_COALESCE_STATS_BLOCK_USECS,
            ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX,
            ETHTOOL_A_COALESCE_USE_ADAPTIVE_TX,
            ETHTOOL_A_COALESCE_PKT_RATE_LOW,
            ETHTOOL_A_COALESCE_RX_USECS_LOW,
            ETHTOOL_A_COALESCE_RX_MAX_FRAMES_LOW,
            ETHTOOL_A_COALESCE_TX_USECS_LOW,
            ETHTOOL_A_COALESCE_TX_MAX_FRAMES_LOW,
            ETHTOOL_A_COALESCE_PKT_RATE_HIGH,
            ETHTOOL_A_COALESCE_RX_USECS_HIGH,
            ETHTOOL_A_COALESCE_RX_MAX_FRAMES_HIGH,
            ETHTOOL_A_COALESCE_TX_USECS_HIGH,
            ETHTOOL_A_COALESCE_TX_MAX_FRAMES_HIGH,
            ETHTOOL_A_COALESCE_RATE_SAMPLE_INTERVAL,
            ETHTOOL_A_COALESCE_USE_CQE_MODE_TX,
            ETHTOOL_A_COALESCE_USE_CQE_MODE_RX,
            ETHTOOL_A_COALESCE_TX_AGGR_MAX_BYTES,
            ETHTOOL_A_COALESCE_TX_AGGR_MAX_FRAMES,
            ETHTOOL_A_COALESCE_TX_AGGR_TIME_USECS,
            ETHTOOL_A_COALESCE_RX_PROFILE,
            ETHTOOL_A_COALESCE_TX_PROFILE,
            ETHTOOL_A_COALESCE_RX_CQE_FRAMES,
            ETHTOOL_A_COALESCE_RX_CQE_NSECS,
        ];
        for (i, a) in all.iter().enumerate() {
            assert_eq!(usize::from(*a), i);
        }
        assert_eq!(usize::from(ETHTOOL_A_COALESCE_MAX), all.len() - 1);
        assert_eq!(ETHTOOL_A_IRQ_MODERATION_MAX, ETHTOOL_A_IRQ_MODERATION_COMPS);
    }
}
