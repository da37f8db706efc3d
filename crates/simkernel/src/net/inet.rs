//! Per-namespace IP state (sysctls, counters) and error reports to transports.
//!
//! The IP input paths (`ip6_input_finish()`, `ip_local_deliver_finish()`) deliver TCP to
//! `tcp_v6_rcv()` / `tcp_v4_rcv()` with the skb's head starting at the TCP header; errors
//! found below TCP (an unresolved neighbour, `ndisc_error_report()` → `tcp_v6_err()`) go
//! to [`L4Hooks::l4_err`] when the sockets layer registers one.

use std::net::IpAddr;

pub use crate::net::ipv4::tcp_input::IpInfo;

use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::skbuff::Skb;

/// `tcp_v6_err` shape: the offending packet's addresses, its first transport bytes, errno.
pub type L4Err = fn(&mut Kernel, NetNsId, IpInfo, &[u8], i32);

/// Error entry points the sockets layer may register (kernel: `inet6_protos[]->err_handler`).
#[derive(Debug, Default, Clone, Copy)]
pub struct L4Hooks {
    /// Kernel: `tcp_v6_err()` / `tcp_v4_err()`: `transport` holds the first bytes of the
    /// offending segment's TCP header (ports, sequence number).
    pub l4_err: Option<L4Err>,
}

/// Per-namespace sysctls (`net.ipv6.conf.all.*`, `net.ipv4.*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NetSysctl {
    /// `net.ipv6.conf.all.forwarding` (default 0).
    pub ipv6_forwarding: bool,
    /// `net.ipv4.ip_forward` (default 0).
    pub ipv4_forwarding: bool,
    /// `net.ipv6.conf.all.accept_ra` (default 1; recorded only).
    pub accept_ra: u8,
}

/// Per-namespace IP counters (a reduced `/proc/net/snmp6` + `snmp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpStats {
    /// Bad headers, wrong host, short packets.
    pub in_hdr_errors: u64,
    /// No handler for the protocol.
    pub in_unknown_protos: u64,
    /// Forwarded datagrams.
    pub forwarded: u64,
    /// Forwarding dropped for hop limit / TTL.
    pub forward_hoplimit_exceeded: u64,
    /// Forwarding dropped for lack of a route.
    pub forward_no_route: u64,
    /// Malformed ICMP.
    pub icmp_in_errors: u64,
    /// Echo requests received.
    pub icmp_in_echos: u64,
    /// Echo replies received.
    pub icmp_in_echo_reps: u64,
    /// Echo replies sent.
    pub icmp_out_echo_reps: u64,
    /// Locally generated packets that failed neighbour resolution.
    pub out_no_neigh: u64,
}

impl Kernel {
    pub(crate) fn ip_stats_mut(&mut self, netns: NetNsId) -> &mut IpStats {
        match self.netns.get_mut(&netns) {
            Some(n) => &mut n.ipstats,
            None => panic!("stale netns {netns:?}"),
        }
    }

    /// The namespace's IP counters.
    pub fn ip_stats(&self, netns: NetNsId) -> IpStats {
        self.netns
            .get(&netns)
            .map(|n| n.ipstats)
            .unwrap_or_default()
    }

    /// `sysctl -w net.ipv6.conf.all.forwarding=V` in `netns`.
    pub fn sysctl_ipv6_forwarding(&mut self, netns: NetNsId, on: bool) {
        if let Some(n) = self.netns.get_mut(&netns) {
            n.sysctl.ipv6_forwarding = on;
        }
    }

    /// `sysctl -w net.ipv4.ip_forward=V` in `netns`.
    pub fn sysctl_ipv4_forwarding(&mut self, netns: NetNsId, on: bool) {
        if let Some(n) = self.netns.get_mut(&netns) {
            n.sysctl.ipv4_forwarding = on;
        }
    }

    /// `sysctl -w net.ipv6.conf.all.accept_ra=V` in `netns` (0 off, 1 unless
    /// forwarding, 2 even when forwarding). Recorded only: no router advertisements
    /// are processed.
    pub fn sysctl_ipv6_accept_ra(&mut self, netns: NetNsId, v: u8) {
        if let Some(n) = self.netns.get_mut(&netns) {
            n.sysctl.accept_ra = v;
        }
    }

    /// The namespace's sysctls.
    pub fn sysctl(&self, netns: NetNsId) -> NetSysctl {
        self.netns.get(&netns).map(|n| n.sysctl).unwrap_or_default()
    }

    /// Kernel: `ndisc_error_report()` / `arp_error_report()` → `icmp*_send(DEST_UNREACH)`
    /// to ourselves → `icmpv6_notify()` → the protocol's `err_handler`: tell the local
    /// sender of `skb` (network header first) that it could not be delivered.
    pub(crate) fn ip_error_report(&mut self, dev: DevId, skb: &Skb, errno: i32) {
        let netns = self.dev(dev).netns;
        self.ip_stats_mut(netns).out_no_neigh += 1;
        let (info, l4, proto) = match skb.protocol {
            0x86dd => {
                let Some(h) = crate::net::ipv6::ip6_output::ipv6_hdr(&skb.head) else {
                    return;
                };
                let info = IpInfo {
                    saddr: IpAddr::V6(h.src_addr),
                    daddr: IpAddr::V6(h.dst_addr),
                };
                (
                    info,
                    skb.head.get(40..).unwrap_or(&[]),
                    u8::from(h.next_header),
                )
            }
            0x0800 => {
                let Some(h) = skb.head.get(..20) else { return };
                let p = wire::Ipv4Packet::new_unchecked(h);
                let info = IpInfo {
                    saddr: IpAddr::V4(p.src_addr()),
                    daddr: IpAddr::V4(p.dst_addr()),
                };
                (
                    info,
                    skb.head.get(20..).unwrap_or(&[]),
                    u8::from(p.next_header()),
                )
            }
            _ => return,
        };
        match proto {
            // Echo request (ICMPv6 128 / ICMP 8): the ping helper's.
            58 | 1 => {
                if let (Some(&ty), Some(id)) = (l4.first(), l4.get(4..6))
                    && (ty == 128 || ty == 8)
                {
                    self.ping_error(u16::from_be_bytes([id[0], id[1]]), errno);
                }
            }
            6 => {
                if let Some(h) = self.hooks.l4_err {
                    let l4 = l4.get(..l4.len().min(20)).unwrap_or(&[]).to_vec();
                    h(self, netns, info, &l4, errno);
                }
            }
            _ => {}
        }
    }
}
