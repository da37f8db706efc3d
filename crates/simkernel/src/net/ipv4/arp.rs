//! ARP (RFC 826).
//!
//! Kernel: `net/ipv4/arp.c`: `arp_send()` requests (broadcast, sender = the device's
//! address), `arp_process()` (answer requests for our local addresses on the receiving
//! device, learn the sender when the request targets us, complete entries on replies).

use std::net::{IpAddr, Ipv4Addr};

use wire::{ArpOperation, ArpPacket, ArpRepr, EthernetAddress};

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::neighbour::push_eth;
use crate::net::core::skbuff::Skb;

/// `ETH_P_ARP`.
pub const ETH_P_ARP: u16 = 0x0806;

impl Kernel {
    fn arp_xmit(&mut self, dev: DevId, repr: &ArpRepr, dst_mac: [u8; 6]) {
        let mut b = vec![0u8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut b[..]));
        let mut skb = Skb::linear(b);
        skb.protocol = ETH_P_ARP;
        skb.dev = Some(dev);
        let src = self.dev(dev).mac;
        push_eth(&mut skb, dst_mac, src);
        let _ = self.dev_queue_xmit(dev, skb);
    }

    /// Kernel: `arp_solicit()`: broadcast "who-has `target`".
    pub(crate) fn arp_send_request(&mut self, dev: DevId, target: Ipv4Addr) {
        let netns = self.dev(dev).netns;
        let sip = self
            .inet_select_addr(netns, dev, target)
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: EthernetAddress(self.dev(dev).mac),
            source_protocol_addr: sip,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        self.arp_xmit(dev, &repr, [0xff; 6]);
    }

    /// Kernel: `arp_rcv()` → `arp_process()`; `skb` starts at the ARP header.
    pub(crate) fn arp_rcv(&mut self, dev: DevId, skb: Skb) {
        let Some(bytes) = self.skb_linearize(skb) else {
            return;
        };
        let Ok(pkt) = ArpPacket::new_checked(&bytes[..]) else {
            return;
        };
        let Ok(arp) = ArpRepr::parse(&pkt) else {
            return;
        };
        let ours = self.try_device(dev).is_some_and(|d| {
            d.ip4
                .addrs
                .iter()
                .any(|a| a.addr == arp.target_protocol_addr)
        });
        let sender = IpAddr::V4(arp.source_protocol_addr);
        let smac = arp.source_hardware_addr.0;
        match arp.operation {
            ArpOperation::Request if ours => {
                self.neigh_update(dev, sender, smac, true);
                let reply = ArpRepr {
                    operation: ArpOperation::Reply,
                    source_hardware_addr: EthernetAddress(self.dev(dev).mac),
                    source_protocol_addr: arp.target_protocol_addr,
                    target_hardware_addr: arp.source_hardware_addr,
                    target_protocol_addr: arp.source_protocol_addr,
                };
                self.arp_xmit(dev, &reply, smac);
            }
            ArpOperation::Reply => self.neigh_update(dev, sender, smac, ours),
            _ => {}
        }
    }
}
