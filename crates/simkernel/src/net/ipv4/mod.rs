//! Kernel: `net/ipv4/`: addresses, routes, ARP, input, output and forwarding, ICMP echo,
//! and TCP for both families (as in Linux).

pub mod arp;
pub mod devinet;
pub mod icmp;
pub mod inet_connection_sock;
pub mod ip_input;
pub mod ip_output;
pub mod route;
pub mod tcp;
pub mod tcp_input;
pub mod tcp_output;
