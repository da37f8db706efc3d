//! Address families and IP protocol numbers (`include/linux/socket.h`,
//! `include/uapi/linux/in.h`, `in6.h`). The single definition of each; other modules
//! re-export what they need.

pub const AF_UNSPEC: u8 = 0;
pub const AF_UNIX: u8 = 1;
pub const AF_INET: u8 = 2;
pub const AF_INET6: u8 = 10;
pub const AF_NETLINK: u8 = 16;
pub const AF_PACKET: u8 = 17;

pub const IPPROTO_IP: u8 = 0;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_IPV6: u8 = 41;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_RAW: u8 = 255;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn match_libc() {
        assert_eq!(i32::from(AF_UNSPEC), libc::AF_UNSPEC);
        assert_eq!(i32::from(AF_INET), libc::AF_INET);
        assert_eq!(i32::from(AF_INET6), libc::AF_INET6);
        assert_eq!(i32::from(AF_NETLINK), libc::AF_NETLINK);
        assert_eq!(i32::from(AF_PACKET), libc::AF_PACKET);
        assert_eq!(i32::from(IPPROTO_ICMP), libc::IPPROTO_ICMP);
        assert_eq!(i32::from(IPPROTO_TCP), libc::IPPROTO_TCP);
        assert_eq!(i32::from(IPPROTO_UDP), libc::IPPROTO_UDP);
        assert_eq!(i32::from(IPPROTO_IPV6), libc::IPPROTO_IPV6);
        assert_eq!(i32::from(IPPROTO_ICMPV6), libc::IPPROTO_ICMPV6);
    }
}
