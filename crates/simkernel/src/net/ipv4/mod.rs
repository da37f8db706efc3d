//! Kernel: `net/ipv4/` (TCP lives here for both families, as in Linux).

pub mod inet_connection_sock;
pub mod ip_output;
pub mod route;
pub mod tcp;
pub mod tcp_input;
pub mod tcp_output;
