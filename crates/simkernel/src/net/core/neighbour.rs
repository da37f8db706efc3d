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
    eth_pushed(skb);
}

/// The offsets [`push_eth`] leaves: the MAC header first, the network header after it.
#[inline]
fn eth_pushed(skb: &mut Skb) {
    skb.mac_header = 0;
    skb.network_header = 14;
    skb.transport_header += 14;
    if skb.csum_start != 0 {
        skb.csum_start += 14;
    }
}

/// The offsets `__skb_pull(skb, ETH_HLEN)` leaves on an skb whose head starts with its
/// Ethernet header (the network header first; offsets below it clamp to 0), without the
/// bytes moving: what `bpf_out_neigh_v{4,6}()` sees before `neigh_output()`.
#[inline]
fn eth_pulled(skb: &mut Skb) {
    skb.network_header = 0;
    skb.transport_header = skb.transport_header.saturating_sub(14);
    if skb.csum_start >= 14 {
        skb.csum_start -= 14;
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

/// The destination MAC `neigh_output()` puts on an skb for `nexthop` leaving `dev`: none
/// needed (`IFF_NOARP`: zeros), the multicast mapping, or a reachable entry's address;
/// `None` while it has to be resolved.
#[inline]
fn neigh_dst_mac(d: &crate::net::core::dev::NetDevice, nexthop: IpAddr) -> Option<[u8; 6]> {
    if kind_noarp(&d.kind) {
        return Some([0u8; 6]);
    }
    multicast_mac(nexthop).or_else(|| {
        d.neigh
            .entries
            .get(&NeighKey::from(nexthop))
            .filter(|n| n.state == NudState::Reachable)
            .and_then(|n| n.lladdr)
    })
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
        if let Some(mac) = neigh_dst_mac(d, nexthop) {
            push_eth(&mut skb, mac, src);
            let r = self.dev_queue_xmit(dev, skb);
            return self.xmit_errno(dev, r);
        }
        self.neigh_event_send(dev, nexthop, skb);
        Ok(())
    }

    /// `__skb_pull(skb, ETH_HLEN)` then [`Kernel::neigh_output`], for an skb whose head
    /// starts with the Ethernet header it arrived with (`bpf_out_neigh_v{4,6}()`, its
    /// `skb->protocol` already the header's EtherType). A resolved neighbour's header
    /// replaces the old one in place: the same bytes and offsets as pulling 14 bytes and
    /// pushing 14 new ones, without moving the rest of the head twice. An skb that has to
    /// wait for resolution is queued pulled, network header first, as `neigh_output()`
    /// queues it.
    pub(crate) fn neigh_output_over_eth(
        &mut self,
        dev: DevId,
        nexthop: IpAddr,
        mut skb: Skb,
    ) -> KResult<()> {
        eth_pulled(&mut skb);
        let Some(d) = self.try_device(dev) else {
            return Err(KernelError::new(uapi::errno::ENODEV));
        };
        let src = d.mac;
        skb.dev = Some(dev);
        let dst = neigh_dst_mac(d, nexthop);
        if let Some(mac) = dst
            && let Some(old) = skb.head.get_mut(..14)
        {
            old.copy_from_slice(&eth_header(mac, src, skb.protocol));
            eth_pushed(&mut skb);
            let r = self.dev_queue_xmit(dev, skb);
            return self.xmit_errno(dev, r);
        }
        skb.head.drain(..skb.head.len().min(14));
        if let Some(mac) = dst {
            push_eth(&mut skb, mac, src);
            let r = self.dev_queue_xmit(dev, skb);
            return self.xmit_errno(dev, r);
        }
        self.neigh_event_send(dev, nexthop, skb);
        Ok(())
    }

    /// Kernel: `__neigh_event_send()`: `skb` (network header first) waits for `nexthop`
    /// on `dev` to resolve; probing starts unless already at it.
    #[cold]
    #[inline(never)]
    fn neigh_event_send(&mut self, dev: DevId, nexthop: IpAddr, skb: Skb) {
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
    use crate::KernelConfig;
    use crate::kernel::Kernel;
    use crate::net::core::skbuff::Skb;
    use std::net::IpAddr;

    /// neigh_output_over_eth() hands the driver (or the resolution queue) the skb that
    /// pulling its Ethernet header and calling neigh_output() does: same bytes, offsets
    /// and fields, for a resolved and an unresolved neighbour, offsets below and past the
    /// Ethernet header, with and without a checksum start.
    #[test]
    fn over_eth_matches_pull_then_neigh_output() {
        let mut k = Kernel::new(KernelConfig::default());
        let ns = k.init_net();
        let (a, b) = k.veth_add(ns, "v0", ns, "v1").unwrap();
        for d in [a, b] {
            k.link_set_up(d, true).unwrap();
        }
        let resolved: IpAddr = "2001:db8::2".parse().unwrap();
        let unresolved: IpAddr = "2001:db8::3".parse().unwrap();
        k.neigh_add(a, resolved, [0x02, 0, 0, 0, 0, 0x22]);
        let mut n = 0;
        for (transport, csum_start) in [(54, 54), (54, 0), (54, 14), (54, 13), (10, 0), (0, 3)] {
            let mut head = vec![0xee; 14];
            head[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
            head.extend((0..60u8).map(|i| i.wrapping_mul(7)));
            let mut skb = Skb::linear(head);
            skb.protocol = 0x86dd;
            skb.mac_header = 0;
            skb.network_header = 14;
            skb.transport_header = transport;
            skb.csum_start = csum_start;
            skb.mark = 7;
            // What bpf_out_neigh() did before: pull, then neigh_output().
            let mut pulled = skb.clone();
            pulled.head.drain(..14);
            pulled.network_header = 0;
            pulled.transport_header = pulled.transport_header.saturating_sub(14);
            if pulled.csum_start >= 14 {
                pulled.csum_start -= 14;
            }
            // Resolved: the skbs the peer receives.
            k.neigh_output(a, resolved, pulled.clone()).unwrap();
            k.neigh_output_over_eth(a, resolved, skb.clone()).unwrap();
            let rx = &mut k.dev_mut(b).rx_backlog;
            let (want, got) = (rx.pop_front().unwrap(), rx.pop_front().unwrap());
            assert_eq!(format!("{got:?}"), format!("{want:?}"));
            assert_eq!(got.head[..6], [0x02, 0, 0, 0, 0, 0x22]);
            rx.clear();
            // Unresolved: the skbs queued for the neighbour.
            k.neigh_output(a, unresolved, pulled).unwrap();
            k.neigh_output_over_eth(a, unresolved, skb).unwrap();
            let q = &k.neigh_lookup(a, unresolved).unwrap().queue;
            assert_eq!(q.len(), n + 2);
            assert_eq!(format!("{:?}", q[n + 1]), format!("{:?}", q[n]));
            n += 2;
            k.dev_mut(b).rx_backlog.clear();
        }
    }

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
