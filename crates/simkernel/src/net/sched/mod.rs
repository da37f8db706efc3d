//! Kernel: `net/sched/`: the clsact qdisc's ingress/egress hooks and direct-action BPF
//! classifiers.
//!
//! BPF programs are native Rust objects implementing [`TcProgram`]. A program sees only
//! the skb's readable head (from the Ethernet header on, as `skb->data..data_end` for tc
//! programs) — never net_iov payload — plus a few skb fields, and asks for redirects
//! through the helper methods on [`TcCtx`]. The same trait serves netkit programs
//! (`BPF_NETKIT_PRIMARY`/`PEER`), whose verdicts share tc's numbers.

pub mod cls_bpf;
pub mod sch_ingress;

use std::fmt;

pub use cls_bpf::TcFilter;
pub use sch_ingress::Clsact;

/// `TC_ACT_*` / `NETKIT_*` verdicts (same numbers: UNSPEC/NEXT −1, OK/PASS 0, SHOT/DROP 2,
/// REDIRECT 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcAction {
    /// `TC_ACT_UNSPEC` / `NETKIT_NEXT` (−1): no opinion, next program (or default).
    Unspec,
    /// `TC_ACT_OK` / `NETKIT_PASS` (0).
    Ok,
    /// `TC_ACT_SHOT` / `NETKIT_DROP` (2).
    Shot,
    /// `TC_ACT_REDIRECT` / `NETKIT_REDIRECT` (7): act on the helper's redirect request.
    Redirect,
    /// Any other return value: treated like the kernel treats unknown codes (drop on
    /// netkit, pass in tc direct-action).
    Other(i32),
}

impl TcAction {
    /// The program's return value.
    pub fn code(self) -> i32 {
        match self {
            TcAction::Unspec => -1,
            TcAction::Ok => 0,
            TcAction::Shot => 2,
            TcAction::Redirect => 7,
            TcAction::Other(c) => c,
        }
    }
}

/// Which hook a program runs at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TcDir {
    /// clsact ingress (`tc filter add dev D ingress`).
    Ingress,
    /// clsact egress.
    Egress,
}

/// A redirect a helper asked for (kernel: `struct bpf_redirect_info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    /// `bpf_redirect(ifindex, 0)`: transmit on the target (validated there).
    Egress(u32),
    /// `bpf_redirect(ifindex, BPF_F_INGRESS)`: receive on the target.
    Ingress(u32),
    /// `bpf_redirect_peer(ifindex, 0)`: into the target's peer, ingress only.
    Peer(u32),
    /// `bpf_redirect_neigh(ifindex, NULL, 0, 0)`: FIB + neighbour in the target's netns.
    Neigh(u32),
}

/// `BPF_F_INGRESS`.
pub const BPF_F_INGRESS: u64 = 1;

/// The program context (kernel: `struct __sk_buff` + direct packet access).
#[derive(Debug)]
pub struct TcCtx<'a> {
    data: &'a mut [u8],
    /// `skb->len` (readable head + every frag, unreadable included).
    pub len: u32,
    /// `skb->protocol` (host order).
    pub protocol: u16,
    /// `skb->ifindex` (the device the hook runs on).
    pub ifindex: u32,
    /// `skb->mark`.
    pub mark: u32,
    /// `skb->priority` (readable and writable from tc and netkit programs, as
    /// `__sk_buff::priority`).
    pub priority: u32,
    /// Whether the hook is tc ingress.
    pub ingress: bool,
    pub(crate) redirect: Option<Redirect>,
}

impl<'a> TcCtx<'a> {
    pub(crate) fn new(
        data: &'a mut [u8],
        len: u32,
        protocol: u16,
        ifindex: u32,
        mark: u32,
        priority: u32,
        ingress: bool,
    ) -> Self {
        TcCtx {
            data,
            len,
            protocol,
            ifindex,
            mark,
            priority,
            ingress,
            redirect: None,
        }
    }

    /// The readable bytes (`data..data_end`): the linear head only.
    pub fn data(&self) -> &[u8] {
        self.data
    }

    /// Writable packet bytes (direct packet access).
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.data
    }

    /// Kernel: `bpf_redirect()`. Flags other than `BPF_F_INGRESS` → `TC_ACT_SHOT`.
    pub fn redirect(&mut self, ifindex: u32, flags: u64) -> TcAction {
        if flags & !BPF_F_INGRESS != 0 {
            return TcAction::Shot;
        }
        self.redirect = Some(if flags & BPF_F_INGRESS != 0 {
            Redirect::Ingress(ifindex)
        } else {
            Redirect::Egress(ifindex)
        });
        TcAction::Redirect
    }

    /// Kernel: `bpf_redirect_peer()`. Any flag → `TC_ACT_SHOT`.
    pub fn redirect_peer(&mut self, ifindex: u32, flags: u64) -> TcAction {
        if flags != 0 {
            return TcAction::Shot;
        }
        self.redirect = Some(Redirect::Peer(ifindex));
        TcAction::Redirect
    }

    /// Kernel: `bpf_redirect_neigh()` without nexthop parameters. Any flag → `TC_ACT_SHOT`.
    pub fn redirect_neigh(&mut self, ifindex: u32, flags: u64) -> TcAction {
        if flags != 0 {
            return TcAction::Shot;
        }
        self.redirect = Some(Redirect::Neigh(ifindex));
        TcAction::Redirect
    }

    /// The pending redirect request, if a helper set one.
    pub fn redirect_request(&self) -> Option<Redirect> {
        self.redirect
    }
}

/// A tc / netkit BPF program.
pub trait TcProgram: fmt::Debug {
    /// `bpf_prog->aux->name` (what `tc filter show` prints as `name`).
    fn name(&self) -> &str;
    /// Run on one packet.
    fn run(&self, ctx: &mut TcCtx<'_>) -> TcAction;
}
