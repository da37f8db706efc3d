//! The receive half of `net/core/dev.c`.
//!
//! Kernel: `netif_rx()` / `enqueue_to_backlog()` (each device keeps its queued skbs in
//! `rx_backlog`; one FIFO of device ids keeps the global arrival order, as one CPU's
//! softnet backlog would), `net_rx_action()` → `process_backlog()` (the softirq: run by
//! [`Kernel::advance`] before any timer and whenever the backlog is not empty —
//! [`Kernel::next_deadline`] reports "now" then), and `__netif_receive_skb_core()`: capture
//! taps, tc ingress (clsact, which may redirect and, for `bpf_redirect_peer`, restart on
//! another device: `another_round`), then the protocol handlers (`ipv6_rcv`, `ip_rcv`,
//! `arp_rcv`). The skb arrives with its Ethernet header at the start of `head`.

use std::collections::VecDeque;

use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, XmitDrop, XmitResult};
use crate::net::core::skbuff::{NapiSkbCache, PktType, Skb};

/// Kernel: `netdev_max_backlog` default.
pub const NETDEV_MAX_BACKLOG: usize = 1000;

/// Kernel: `struct softnet_data` (one CPU).
#[derive(Debug, Default)]
pub struct SoftnetData {
    pub(crate) order: VecDeque<DevId>,
    pub(crate) in_softirq: bool,
    /// Kernel: `softnet_data.dropped` (backlog full).
    pub dropped: u64,
    /// Skbs a tc program shot.
    pub tc_dropped: u64,
    /// Skbs freed by `skb_do_redirect()` (unknown target, failed peer/neigh checks).
    pub redirect_dropped: u64,
    /// Kernel: `softnet_data.xmit.recursion`: how deep transmits are nested right now
    /// (a netkit program or tc egress redirecting into another `dev_queue_xmit()`).
    pub(crate) xmit_recursion: u32,
    /// Kernel: the per-CPU `napi_alloc_cache`: the NAPI skb cache every NIC's driver
    /// builds received skbs from, refilled by GRO with the heads of merged segments and by
    /// TCP input with those of the skbs it consumes ([`NapiSkbCache`]).
    pub(crate) skb_cache: NapiSkbCache,
}

/// Kernel: `XMIT_RECURSION_LIMIT`.
pub const XMIT_RECURSION_LIMIT: u32 = 8;

impl Kernel {
    /// Softnet counters: (backlog drops, tc drops, redirect drops).
    pub fn softnet_stats(&self) -> (u64, u64, u64) {
        (
            self.softnet.dropped,
            self.softnet.tc_dropped,
            self.softnet.redirect_dropped,
        )
    }
}

/// How many times one skb may be redirected at ingress before it is dropped (loop guard,
/// kernel: `XMIT_RECURSION_LIMIT` in spirit).
const MAX_ANOTHER_ROUND: u32 = 8;

impl Kernel {
    /// The receive half of a pair device's transmit (`netkit_xmit()`, `veth_xmit()`):
    /// `__netif_rx()` into `peer`; only if the peer's backlog takes `skb` do `dev`'s tx and
    /// `peer`'s rx counters move by `len` (its length as transmitted), else `dev` counts
    /// `tx_dropped` and the transmit is `NET_XMIT_DROP`.
    pub(crate) fn pair_xmit_rx(
        &mut self,
        dev: DevId,
        peer: DevId,
        skb: Skb,
        len: u64,
    ) -> XmitResult {
        if !self.netif_rx(peer, skb) {
            self.dev_mut(dev).stats.tx_dropped += 1;
            return XmitResult::Dropped(XmitDrop::Backlog);
        }
        let d = self.dev_mut(dev);
        d.stats.tx_packets += 1;
        d.stats.tx_bytes += len;
        let p = self.dev_mut(peer);
        p.stats.rx_packets += 1;
        p.stats.rx_bytes += len;
        XmitResult::Ok
    }

    /// Kernel: `netif_rx()`: queue `skb` as received on `dev`; the softirq
    /// ([`Kernel::net_rx_action`]) processes it. Returns whether it was queued
    /// (`NET_RX_SUCCESS`); a full backlog frees it (`enqueue_to_backlog()`: `rx_dropped`
    /// of `dev`, `NET_RX_DROP`), which netkit and veth count as a transmit drop.
    pub fn netif_rx(&mut self, dev: DevId, mut skb: Skb) -> bool {
        match self.devices.get_mut(&dev) {
            Some(d) if d.rx_backlog.len() < NETDEV_MAX_BACKLOG => {
                skb.dev = Some(dev);
                d.rx_backlog.push_back(skb);
                self.softnet.order.push_back(dev);
                true
            }
            _ => self.netif_rx_drop(dev, skb),
        }
    }

    /// [`Kernel::netif_rx`] when `dev` is gone (the skb is freed) or its backlog is full
    /// (`enqueue_to_backlog()`'s drop: `softnet_data.dropped` and `dev`'s `rx_dropped`
    /// count it); out of the per-skb path.
    #[cold]
    #[inline(never)]
    fn netif_rx_drop(&mut self, dev: DevId, skb: Skb) -> bool {
        if let Some(d) = self.devices.get_mut(&dev) {
            self.softnet.dropped += 1;
            d.stats.rx_dropped += 1;
        }
        self.kfree_skb(skb);
        false
    }

    /// Kernel: `dev_xmit_recursion()`: nested transmits are past `XMIT_RECURSION_LIMIT`.
    pub(crate) fn dev_xmit_recursion(&self) -> bool {
        self.softnet.xmit_recursion > XMIT_RECURSION_LIMIT
    }

    /// Run the softirq and due events until `done` holds or nothing is left before
    /// `deadline` (the clock then stands at `deadline`); returns whether `done` held.
    /// A helper for tests and the ping utility; the executor drives the same loop.
    pub fn run_until(
        &mut self,
        deadline: crate::time::Instant,
        mut done: impl FnMut(&Kernel) -> bool,
    ) -> bool {
        loop {
            self.net_rx_action();
            if done(self) {
                return true;
            }
            match self.next_deadline() {
                Some(t) if t <= deadline => {
                    self.advance(t.max(self.clock()));
                }
                _ => {
                    self.advance(deadline);
                    return done(self);
                }
            }
        }
    }

    /// Whether received skbs wait for the softirq.
    pub fn softirq_pending(&self) -> bool {
        !self.softnet.order.is_empty()
    }

    /// Kernel: `net_rx_action()` → `process_backlog()`: drain the backlog.
    pub fn net_rx_action(&mut self) {
        if self.softnet.in_softirq {
            return;
        }
        self.softnet.in_softirq = true;
        while let Some(dev) = self.softnet.order.pop_front() {
            // A harness may have taken the skb out of the device's backlog itself.
            let Some(skb) = self
                .devices
                .get_mut(&dev)
                .and_then(|d| d.rx_backlog.pop_front())
            else {
                continue;
            };
            self.netif_receive_skb(dev, skb);
        }
        self.softnet.in_softirq = false;
    }

    /// Kernel: `__netif_receive_skb_core()`.
    pub fn netif_receive_skb(&mut self, mut dev: DevId, mut skb: Skb) {
        let mut rounds = 0;
        loop {
            let Some(d) = self.devices.get(&dev) else {
                self.kfree_skb(skb);
                return;
            };
            if !d.up {
                self.kfree_skb(skb);
                return;
            }
            skb.dev = Some(dev);
            // eth_type_trans() / eth_skb_pkt_type() (by the driver or netkit_xmit(),
            // once): classify by destination MAC against this device's address, with no
            // exception for IFF_NOARP devices (an L3 netkit's address is all zeroes, so
            // any other unicast destination is PACKET_OTHERHOST). A peer redirect keeps
            // the scrubbed PACKET_HOST.
            let Some(eth) = skb.head.get(..14) else {
                self.dev_mut(dev).stats.rx_dropped += 1;
                self.kfree_skb(skb);
                return;
            };
            let dst: [u8; 6] = [eth[0], eth[1], eth[2], eth[3], eth[4], eth[5]];
            skb.protocol = u16::from_be_bytes([eth[12], eth[13]]);
            skb.pkt_type = if rounds > 0 {
                skb.pkt_type
            } else if dst == [0xff; 6] {
                PktType::Broadcast
            } else if dst[0] & 1 == 1 {
                PktType::Multicast
            } else if dst == d.mac {
                PktType::Host
            } else {
                PktType::OtherHost
            };
            skb.mac_header = 0;
            // Whether a tap or clsact ingress filters are attached, read off the device
            // looked up above (most devices have neither: the skb then skips both calls,
            // which check the same).
            let tap = d.capture.is_some();
            let ingress = d.tc.as_ref().is_some_and(|t| !t.ingress.is_empty());
            if tap {
                self.capture_rx(dev, &skb);
            }
            if !ingress {
                break;
            }
            match self.sch_handle_ingress(dev, skb) {
                IngressResult::Consumed => return,
                IngressResult::Continue(s) => skb = s,
                IngressResult::AnotherRound(to, s) => {
                    rounds += 1;
                    if rounds > MAX_ANOTHER_ROUND {
                        self.kfree_skb(s);
                        return;
                    }
                    dev = to;
                    skb = s;
                    continue;
                }
            }
            break;
        }
        // Protocol demux: the handlers see the network header first.
        let proto = skb.protocol;
        // `skb_pull()` of the Ethernet header (the head holds it: checked above), as
        // `drain(..14)` would leave the head, without the drain's guard.
        let n = skb.head.len();
        skb.head.copy_within(14..n, 0);
        skb.head.truncate(n - 14);
        skb.network_header = 0;
        match proto {
            0x86dd => self.ipv6_rcv(dev, skb),
            0x0800 => self.ip_rcv(dev, skb),
            0x0806 => self.arp_rcv(dev, skb),
            _ => {
                // No handler for the type: unless a tap (`ptype_all`, an open capture)
                // took the skb, `__netif_receive_skb_core()` counts it in `rx_dropped`.
                if let Some(d) = self.devices.get_mut(&dev)
                    && d.capture.is_none()
                {
                    d.stats.rx_dropped += 1;
                }
                self.kfree_skb(skb)
            }
        }
    }

    /// Kernel: `sch_handle_ingress()`: run the clsact ingress filters.
    fn sch_handle_ingress(&mut self, dev: DevId, mut skb: Skb) -> IngressResult {
        if self
            .dev(dev)
            .tc
            .as_ref()
            .is_none_or(|t| t.ingress.is_empty())
        {
            return IngressResult::Continue(skb);
        }
        skb.tc_at_ingress = true;
        self.tcf_classify(dev, skb)
    }
}

/// What the ingress hook did with an skb.
#[derive(Debug)]
pub(crate) enum IngressResult {
    /// Dropped or redirected elsewhere.
    Consumed,
    /// Go on to the protocol handlers.
    Continue(Skb),
    /// `bpf_redirect_peer`: process again as received on this device.
    AnotherRound(DevId, Skb),
}
