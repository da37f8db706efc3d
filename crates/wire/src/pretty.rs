//! tcpdump-style one-line summaries of whole frames, for logs, test failures and `nkdevmem`
//! capture printing. Each `Repr` has its own `Display`; this module adds the IP addresses and
//! ports around them as tcpdump does (`IP6 a.port > b.port: ...`).

use core::fmt;
use core::net::IpAddr;

use crate::ChecksumCaps;
use crate::frame::{ParsedFrame, Transport, parse_frame_with};

fn ip_word(addr: &IpAddr) -> &'static str {
    if addr.is_ipv4() { "IP" } else { "IP6" }
}

impl fmt::Display for ParsedFrame<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(ip) = self.ip else {
            return match &self.transport {
                Transport::Arp(arp) => write!(f, "{arp}"),
                Transport::NonIp(payload) => {
                    write!(f, "{}, length {}", self.ethernet, payload.len() + 14)
                }
                // Only ARP and non-IP frames lack an IP header.
                _ => write!(f, "{}", self.ethernet),
            };
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let word = ip_word(&src);
        match &self.transport {
            Transport::Tcp(tcp) => {
                write!(
                    f,
                    "{word} {src}.{} > {dst}.{}: {tcp}",
                    tcp.src_port, tcp.dst_port
                )
            }
            Transport::Udp(udp) => {
                write!(
                    f,
                    "{word} {src}.{} > {dst}.{}: {udp}",
                    udp.src_port, udp.dst_port
                )
            }
            Transport::Icmpv4(icmp) => write!(f, "{word} {src} > {dst}: {icmp}"),
            Transport::Icmpv6(icmp) => write!(f, "{word} {src} > {dst}: {icmp}"),
            Transport::Ipv6Extension(nh) => {
                write!(
                    f,
                    "{word} {src} > {dst}: {nh} (extension header), length {}",
                    ip.payload_len()
                )
            }
            Transport::Other { protocol, payload } => {
                write!(
                    f,
                    "{word} {src} > {dst}: {protocol}, length {}",
                    payload.len()
                )
            }
            Transport::Arp(arp) => write!(f, "{arp}"),
            Transport::NonIp(_) => write!(f, "{}", self.ethernet),
        }
    }
}

/// A one-line summary of raw frame bytes, or `[malformed frame, N bytes]`. Checksums are not
/// verified: this describes what is there.
pub fn summarize(bytes: &[u8]) -> String {
    match parse_frame_with(bytes, &ChecksumCaps::ignored()) {
        Ok(frame) => frame.to_string(),
        Err(_) => format!("[malformed frame, {} bytes]", bytes.len()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod test {
    use super::*;
    use crate::ethernet::EthernetAddress;
    use crate::frame::build_tcp_frame;
    use crate::ip::{IpProtocol, IpRepr};
    use crate::ipv6::Ipv6Repr;
    use crate::tcp::{TcpFlags, TcpRepr, TcpSeqNumber};

    #[test]
    fn test_syn_line_matches_tcpdump() {
        let ip = IpRepr::Ipv6(Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: IpProtocol::Tcp,
            payload_len: 0,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        });
        let syn = TcpRepr {
            src_port: 5201,
            dst_port: 80,
            seq_number: TcpSeqNumber(1),
            ack_number: None,
            flags: TcpFlags::SYN,
            window_len: 65535,
            urgent_pointer: 0,
            max_seg_size: Some(1460),
            window_scale: Some(7),
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload: &[],
        };
        let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
        let bytes = build_tcp_frame(mac, mac, &ip, &syn).unwrap();
        assert_eq!(
            summarize(&bytes),
            "IP6 2001:db8::1.5201 > 2001:db8::2.80: Flags [S], seq 1, win 65535, options [mss 1460,wscale 7], length 0"
        );
        assert_eq!(summarize(&bytes[..20]), "[malformed frame, 20 bytes]");
    }
}
