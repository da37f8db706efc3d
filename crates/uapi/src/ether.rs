//! Ethernet numbers (`include/uapi/linux/if_ether.h`, `if_arp.h`). The single
//! definition of each; other modules re-export what they need.

/// Octets in an Ethernet address.
pub const ETH_ALEN: usize = 6;
/// Octets in an Ethernet header (two addresses and the EtherType).
pub const ETH_HLEN: usize = 14;
/// Largest payload of an untagged frame.
pub const ETH_DATA_LEN: usize = 1500;

/// Host byte order values; they go on the wire big-endian.
pub const ETH_P_ALL: u16 = 0x0003;
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_IPV6: u16 = 0x86DD;

/// `ifinfomsg.ifi_type` of Ethernet-like devices (NICs, veth, netkit in L2 and L3 mode).
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPHRD_LOOPBACK: u16 = 772;
/// Devices without a link-layer header (e.g. tun in L3 mode).
pub const ARPHRD_NONE: u16 = 0xFFFE;

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn match_libc() {
        assert_eq!(ETH_ALEN, libc::ETH_ALEN as usize);
        assert_eq!(ETH_HLEN, libc::ETH_HLEN as usize);
        assert_eq!(i32::from(ETH_P_ALL), libc::ETH_P_ALL);
        assert_eq!(i32::from(ETH_P_IP), libc::ETH_P_IP);
        assert_eq!(i32::from(ETH_P_ARP), libc::ETH_P_ARP);
        assert_eq!(i32::from(ETH_P_IPV6), libc::ETH_P_IPV6);
        assert_eq!(ARPHRD_ETHER, libc::ARPHRD_ETHER);
        assert_eq!(ARPHRD_LOOPBACK, libc::ARPHRD_LOOPBACK);
        assert_eq!(ARPHRD_NONE, libc::ARPHRD_NONE);
    }
}
