//! Neighbour tables: IPv6 (NDP) and IPv4 (ARP) address resolution per device.
//!
//! Kernel: `net/core/neighbour.c` (`__neigh_event_send()`, `neigh_resolve_output()`,
//! `neigh_update()`, `neigh_timer_handler()`, `neigh_invalidate()`). An unresolved entry
//! queues the skbs that wait for it (`arp_queue`, bounded like `unres_qlen`), solicits
//! every `retrans_time` (1 s) up to `mcast_solicit` (3) times and then fails: the queued
//! skbs are reported unreachable to their senders (`ndisc_error_report()` /
//! `arp_error_report()` → EHOSTUNREACH) and freed.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

use uapi::errno::{EHOSTUNREACH, ENETDOWN, ENOBUFS, ENOMEM};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind, XmitDrop, XmitResult};
use crate::net::core::skbuff::Skb;
use crate::time::{Duration, KernelEvent};

/// Kernel: `NEIGH_VAR(parms, RETRANS_TIME)` default (1 s).
pub const RETRANS_TIME: Duration = Duration::from_secs(1);
/// Kernel: `NEIGH_VAR(parms, MCAST_PROBES)` default.
pub const MCAST_SOLICIT: u32 = 3;
/// Kernel: `unres_qlen` default (packets waiting for one entry).
pub const UNRES_QLEN: usize = 101;

/// Kernel: `NUD_*` states we model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NudState {
    /// `NUD_INCOMPLETE`: soliciting.
    Incomplete,
    /// `NUD_REACHABLE` (we never age entries to STALE: no reachability timer).
    Reachable,
    /// `NUD_FAILED`: the last resolution timed out.
    Failed,
}

/// Kernel: `struct neighbour`.
#[derive(Debug)]
pub struct Neighbour {
    /// State.
    pub state: NudState,
    /// Link-layer address once known.
    pub lladdr: Option<[u8; 6]>,
    /// Solicitations sent in this round.
    pub probes: u32,
    /// Skbs (network header first) waiting for resolution.
    pub queue: VecDeque<Skb>,
}

/// A neighbour's protocol address as a table key: ordered as [`IpAddr`] is (IPv4 before
/// IPv6, then by address), compared as a flag and an integer rather than as an enum of
/// byte arrays (each transmit's lookup compares a few keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct NeighKey(bool, u128);

impl From<IpAddr> for NeighKey {
    fn from(a: IpAddr) -> Self {
        match a {
            IpAddr::V4(a) => NeighKey(false, u128::from(u32::from(a))),
            IpAddr::V6(a) => NeighKey(true, u128::from(a)),
        }
    }
}

/// Per-device neighbour entries (kernel: `nd_tbl` / `arp_tbl` rows of this device).
#[derive(Debug, Default)]
pub struct NeighTable {
    /// Entries by protocol address.
    pub entries: BTreeMap<NeighKey, Neighbour>,
}

/// Ethernet header: `dst`, `src`, EtherType.
pub(crate) fn eth_header(dst: [u8; 6], src: [u8; 6], ethertype: u16) -> [u8; 14] {
    let mut h = [0u8; 14];
    h[..6].copy_from_slice(&dst);
    h[6..12].copy_from_slice(&src);
    h[12..].copy_from_slice(&ethertype.to_be_bytes());
    h
}

/// Kernel: `dev_hard_header()` → `eth_header()`: prepend an Ethernet header to an skb
/// whose head starts with its network header.
pub(crate) fn push_eth(skb: &mut Skb, dst: [u8; 6], src: [u8; 6]) {
    let h = eth_header(dst, src, skb.protocol);
    skb.push(&h);
    skb.mac_header = 0;
    skb.network_header = 14;
    skb.transport_header += 14;
    if skb.csum_start != 0 {
        skb.csum_start += 14;
    }
}

/// Kernel: `ipv6_eth_mc_map()` / `ip_eth_mc_map()`.
fn multicast_mac(addr: IpAddr) -> Option<[u8; 6]> {
    match addr {
        IpAddr::V6(a) if a.is_multicast() => Some(wire::EthernetAddress::from_ipv6_multicast(&a).0),
        IpAddr::V4(a) if a.is_broadcast() => Some([0xff; 6]),
        IpAddr::V4(a) if a.is_multicast() => {
            let o = a.octets();
            Some([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        }
        _ => None,
    }
}

/// Kernel: `IFF_NOARP` by device kind.
fn kind_noarp(kind: &DeviceKind) -> bool {
    match kind {
        DeviceKind::Loopback => true,
        DeviceKind::Netkit(nk) => nk.mode == uapi::rtnetlink::NetkitMode::L3,
        _ => false,
    }
}

impl Kernel {
    /// Kernel: `IFF_NOARP`: loopback and L3-mode netkit need no resolution.
    pub(crate) fn dev_noarp(&self, dev: DevId) -> bool {
        kind_noarp(&self.dev(dev).kind)
    }

    /// Map a `dev_queue_xmit()` outcome to what `ip6_xmit()`/`ip_queue_xmit()` return
    /// (`net_xmit_errno()`), following `__dev_queue_xmit()`:
    /// * a tc egress `TC_ACT_SHOT` is `NET_XMIT_DROP` (→ ENOBUFS) on every device, as
    ///   `sch_handle_egress()` runs before any qdisc;
    /// * qdisc devices (NICs) otherwise accepted the skb into their queue even if
    ///   validation drops it later (kernel-spec §2.3);
    /// * no-queue devices: down or a dead loop is `-ENETDOWN`, a validation drop leaves
    ///   `rc` at `-ENOMEM`, a driver drop is `NET_XMIT_DROP` (→ ENOBUFS).
    pub(crate) fn xmit_errno(&self, dev: DevId, res: XmitResult) -> KResult<()> {
        match res {
            XmitResult::Ok => Ok(()),
            XmitResult::Dropped(XmitDrop::TcShot) => Err(KernelError::new(ENOBUFS)),
            XmitResult::Dropped(_)
                if self
                    .try_device(dev)
                    .is_some_and(|d| matches!(d.kind, DeviceKind::Nic(_))) =>
            {
                Ok(())
            }
            XmitResult::Dropped(XmitDrop::Unreadable) => Err(KernelError::new(ENOMEM)),
            XmitResult::Dropped(XmitDrop::DeviceDown | XmitDrop::Recursion) => {
                Err(KernelError::new(ENETDOWN))
            }
            XmitResult::Dropped(_) => Err(KernelError::new(ENOBUFS)),
        }
    }

    /// Kernel: `neigh_output()` / `neigh_resolve_output()`: `skb` (network header first)
    /// leaves `dev` towards `nexthop`; resolve the link-layer address (queueing the skb
    /// meanwhile), add the Ethernet header and `dev_queue_xmit()`.
    pub fn neigh_output(&mut self, dev: DevId, nexthop: IpAddr, mut skb: Skb) -> KResult<()> {
        let Some(d) = self.try_device(dev) else {
            return Err(KernelError::new(uapi::errno::ENODEV));
        };
        let src = d.mac;
        skb.dev = Some(dev);
        let dst = if kind_noarp(&d.kind) {
            Some([0u8; 6])
        } else {
            multicast_mac(nexthop).or_else(|| {
                d.neigh
                    .entries
                    .get(&NeighKey::from(nexthop))
                    .filter(|n| n.state == NudState::Reachable)
                    .and_then(|n| n.lladdr)
            })
        };
        if let Some(mac) = dst {
            push_eth(&mut skb, mac, src);
            let r = self.dev_queue_xmit(dev, skb);
            return self.xmit_errno(dev, r);
        }
        // __neigh_event_send(): queue, and start probing unless already at it.
        let d = self.dev_mut(dev);
        let n = d.neigh.entries.entry(nexthop.into()).or_insert(Neighbour {
            state: NudState::Failed,
            lladdr: None,
            probes: 0,
            queue: VecDeque::new(),
        });
        if n.queue.len() >= UNRES_QLEN {
            // The oldest waiting skb is dropped to make room (neigh->arp_queue).
            n.queue.pop_front();
        }
        n.queue.push_back(skb);
        if n.state != NudState::Incomplete {
            n.state = NudState::Incomplete;
            n.probes = 0;
            self.neigh_solicit(dev, nexthop);
        }
        Ok(())
    }

    /// Send one solicitation and arm the retransmit timer.
    fn neigh_solicit(&mut self, dev: DevId, addr: IpAddr) {
        if let Some(n) = self.dev_mut(dev).neigh.entries.get_mut(&addr.into()) {
            n.probes += 1;
        }
        match addr {
            IpAddr::V6(a) => self.ndisc_send_ns(dev, a),
            IpAddr::V4(a) => self.arp_send_request(dev, a),
        }
        let at = self.clock() + RETRANS_TIME;
        self.schedule(
            at,
            KernelEvent::Run(Box::new(move |k: &mut Kernel| {
                k.neigh_timer_handler(dev, addr)
            })),
        );
    }

    /// Kernel: `neigh_timer_handler()`: solicit again, or fail the entry.
    pub(crate) fn neigh_timer_handler(&mut self, dev: DevId, addr: IpAddr) {
        let Some(d) = self.devices.get_mut(&dev) else {
            return;
        };
        let Some(n) = d.neigh.entries.get_mut(&addr.into()) else {
            return;
        };
        if n.state != NudState::Incomplete {
            return;
        }
        if n.probes < MCAST_SOLICIT {
            self.neigh_solicit(dev, addr);
            return;
        }
        // neigh_invalidate(): report every queued skb unreachable.
        n.state = NudState::Failed;
        let queued: Vec<Skb> = n.queue.drain(..).collect();
        for skb in queued {
            self.ip_error_report(dev, &skb, EHOSTUNREACH);
            self.kfree_skb(skb);
        }
    }

    /// Kernel: `neigh_update()`: `addr` on `dev` is at `lladdr`; flush the waiting skbs.
    /// Entries are created only when `create` (a solicitation aimed at us, or a reply).
    pub(crate) fn neigh_update(&mut self, dev: DevId, addr: IpAddr, lladdr: [u8; 6], create: bool) {
        let Some(d) = self.devices.get_mut(&dev) else {
            return;
        };
        let src = d.mac;
        let n = match d.neigh.entries.get_mut(&addr.into()) {
            Some(n) => n,
            None if create => d.neigh.entries.entry(addr.into()).or_insert(Neighbour {
                state: NudState::Reachable,
                lladdr: None,
                probes: 0,
                queue: VecDeque::new(),
            }),
            None => return,
        };
        n.state = NudState::Reachable;
        n.lladdr = Some(lladdr);
        n.probes = 0;
        let queued: Vec<Skb> = n.queue.drain(..).collect();
        for mut skb in queued {
            push_eth(&mut skb, lladdr, src);
            let _ = self.dev_queue_xmit(dev, skb);
        }
    }

    /// The neighbour entry for `addr` on `dev`.
    pub fn neigh_lookup(&self, dev: DevId, addr: IpAddr) -> Option<&Neighbour> {
        self.try_device(dev)?.neigh.entries.get(&addr.into())
    }

    /// `ip neigh replace ADDR lladdr MAC dev DEV nud permanent`.
    pub fn neigh_add(&mut self, dev: DevId, addr: IpAddr, lladdr: [u8; 6]) {
        self.neigh_update(dev, addr, lladdr, true);
    }
}

#[cfg(test)]
mod tests {
    use super::NeighKey;
    use std::net::IpAddr;

    /// The table key is equal and ordered exactly as the address it stands for, an IPv4
    /// address and the IPv6 address with the same low 32 bits included.
    #[test]
    fn key_orders_as_the_address() {
        let addrs: Vec<IpAddr> = [
            "10.0.0.1",
            "10.0.0.2",
            "255.255.255.255",
            "0.0.0.0",
            "::",
            "::a00:1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "2001:db8::2",
            "fe80::1",
            "ff02::1:ff00:1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        for a in &addrs {
            for b in &addrs {
                assert_eq!(
                    NeighKey::from(*a).cmp(&NeighKey::from(*b)),
                    a.cmp(b),
                    "{a} vs {b}"
                );
            }
        }
    }
}
