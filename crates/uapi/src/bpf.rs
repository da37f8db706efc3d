//! tc and BPF numbers the netkit programs and their attachment use
//! (`include/uapi/linux/pkt_cls.h`, `linux/bpf.h`).

pub use crate::ether::{ETH_P_ARP, ETH_P_IP, ETH_P_IPV6};
pub use crate::inet::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};

// tc verdicts (pkt_cls.h); netkit's `netkit_action` reuses OK/SHOT/REDIRECT.
pub const TC_ACT_UNSPEC: i32 = -1;
pub const TC_ACT_OK: i32 = 0;
pub const TC_ACT_RECLASSIFY: i32 = 1;
pub const TC_ACT_SHOT: i32 = 2;
pub const TC_ACT_PIPE: i32 = 3;
pub const TC_ACT_STOLEN: i32 = 4;
pub const TC_ACT_QUEUED: i32 = 5;
pub const TC_ACT_REPEAT: i32 = 6;
pub const TC_ACT_REDIRECT: i32 = 7;
pub const TC_ACT_TRAP: i32 = 8;

/// `bpf_redirect()` flag: deliver to the target's ingress instead of its egress.
pub const BPF_F_INGRESS: u64 = 1;

// enum bpf_prog_type (subset).
pub const BPF_PROG_TYPE_UNSPEC: u32 = 0;
pub const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;
pub const BPF_PROG_TYPE_KPROBE: u32 = 2;
pub const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;
pub const BPF_PROG_TYPE_SCHED_ACT: u32 = 4;
pub const BPF_PROG_TYPE_XDP: u32 = 6;

// enum bpf_attach_type (subset).
pub const BPF_TCX_INGRESS: u32 = 46;
pub const BPF_TCX_EGRESS: u32 = 47;
/// Program runs on the netkit primary's xmit.
pub const BPF_NETKIT_PRIMARY: u32 = 54;
/// Program runs on the netkit peer's xmit (attached through the primary's ifindex).
pub const BPF_NETKIT_PEER: u32 = 55;

// bpf_fib_lookup() return codes.
pub const BPF_FIB_LKUP_RET_SUCCESS: i32 = 0;
pub const BPF_FIB_LKUP_RET_BLACKHOLE: i32 = 1;
pub const BPF_FIB_LKUP_RET_UNREACHABLE: i32 = 2;
pub const BPF_FIB_LKUP_RET_PROHIBIT: i32 = 3;
pub const BPF_FIB_LKUP_RET_NOT_FWDED: i32 = 4;
pub const BPF_FIB_LKUP_RET_FWD_DISABLED: i32 = 5;
pub const BPF_FIB_LKUP_RET_UNSUPP_LWT: i32 = 6;
pub const BPF_FIB_LKUP_RET_NO_NEIGH: i32 = 7;
pub const BPF_FIB_LKUP_RET_FRAG_NEEDED: i32 = 8;
pub const BPF_FIB_LKUP_RET_NO_SRC_ADDR: i32 = 9;

// bpf_fib_lookup() flags.
pub const BPF_FIB_LOOKUP_DIRECT: u32 = 1 << 0;
pub const BPF_FIB_LOOKUP_OUTPUT: u32 = 1 << 1;
pub const BPF_FIB_LOOKUP_SKIP_NEIGH: u32 = 1 << 2;
pub const BPF_FIB_LOOKUP_TBID: u32 = 1 << 3;
pub const BPF_FIB_LOOKUP_SRC: u32 = 1 << 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_and_attach_types() {
        assert_eq!(TC_ACT_REDIRECT, 7);
        assert_eq!(TC_ACT_SHOT, 2);
        assert_eq!(BPF_NETKIT_PEER, BPF_NETKIT_PRIMARY + 1);
        assert_eq!(BPF_TCX_EGRESS, BPF_TCX_INGRESS + 1);
        assert_eq!(BPF_FIB_LKUP_RET_NO_SRC_ADDR, 9);
        assert_eq!(ETH_P_IPV6, 0x86DD);
        assert_eq!(IPPROTO_ICMPV6, 58);
    }
}
