//! Address parsing as ncdevmem's `parse_address()`: an IPv6 literal, or an IPv4 literal
//! turned into its v4-mapped IPv6 form (`::ffff:a.b.c.d`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

/// `-s`/`-c` plus port as a v6 socket address; `None` when neither family parses.
/// Kernel: `parse_address()` (inet_pton AF_INET6, then AF_INET with the ::ffff prefix).
pub fn parse_address(s: &str, port: u16) -> Option<SocketAddrV6> {
    let ip = match s.parse::<Ipv6Addr>() {
        Ok(ip) => ip,
        Err(_) => s.parse::<Ipv4Addr>().ok()?.to_ipv6_mapped(),
    };
    Some(SocketAddrV6::new(ip, port, 0, 0))
}

/// A port for `-p`. The C tool takes `atoi()` of anything (so `-p abc` is port 0);
/// this port refuses what is not a decimal number in 0..=65535 so that a typo gets a
/// clear message instead of an ephemeral port.
pub fn parse_port(s: &str) -> Option<u16> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Whether an address is IPv4-mapped (`IN6_IS_ADDR_V4MAPPED`).
pub fn is_v4_mapped(ip: &Ipv6Addr) -> bool {
    ip.to_ipv4_mapped().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_v4_and_garbage() {
        let a = parse_address("2001:db8::1", 5201).unwrap();
        assert_eq!(a.ip().segments()[0], 0x2001);
        assert_eq!(a.port(), 5201);
        let m = parse_address("192.0.2.1", 1).unwrap();
        assert_eq!(m.ip().to_string(), "::ffff:192.0.2.1");
        assert!(is_v4_mapped(m.ip()));
        assert!(parse_address("2001:db8::zz", 1).is_none());
        assert!(parse_address("", 1).is_none());
        assert!(parse_address("[2001:db8::1]", 1).is_none());
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("5201"), Some(5201));
        assert_eq!(parse_port("0"), Some(0));
        assert_eq!(parse_port("65536"), None);
        assert_eq!(parse_port("abc"), None);
        assert_eq!(parse_port("-1"), None);
    }
}
