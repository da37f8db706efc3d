//! Per-connection tunables, defaulting to Linux's values where Linux has one.

use core::net::SocketAddr;
use core::time::Duration;

/// Connection configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// MSS we advertise and cap our own segments at. `None`: 1460 for IPv4, 1440 for IPv6
    /// (a 1500-byte MTU minus IP and TCP headers).
    pub mss: Option<u16>,
    /// Window scale shift we offer (RFC 7323); `None` does not offer the option. Linux's
    /// default buffers make it offer 7.
    pub window_scale: Option<u8>,
    /// Send buffer in bytes (SO_SNDBUF-like: queued, unacknowledged data).
    pub send_buffer: usize,
    /// Receive buffer in bytes: the most we advertise (in-order unread + reassembly).
    pub recv_buffer: usize,
    /// RTO before any RTT sample (RFC 6298 §2.1: 1 s; Linux TCP_TIMEOUT_INIT).
    pub initial_rto: Duration,
    /// Lower bound on the RTO (Linux TCP_RTO_MIN = 200 ms; RFC 6298 says 1 s).
    pub min_rto: Duration,
    /// Upper bound on the RTO (Linux TCP_RTO_MAX = 120 s).
    pub max_rto: Duration,
    /// Retransmissions of data or FIN before giving up (Linux net.ipv4.tcp_retries2 = 15).
    pub retries2: u32,
    /// SYN retransmissions before giving up (Linux net.ipv4.tcp_syn_retries = 6).
    pub syn_retries: u32,
    /// SYN-ACK retransmissions before giving up (Linux net.ipv4.tcp_synack_retries = 5).
    pub synack_retries: u32,
    /// Delayed ACK timeout (Linux TCP_DELACK_MIN = 40 ms). `None` acknowledges every segment.
    pub delayed_ack: Option<Duration>,
    /// TIME-WAIT duration, 2*MSL (Linux TCP_TIMEWAIT_LEN = 60 s).
    pub time_wait: Duration,
    /// Initial congestion window in segments (RFC 6928, Linux TCP_INIT_CWND = 10).
    pub initial_window: u32,
    /// Start with Nagle disabled (TCP_NODELAY).
    pub nodelay: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            mss: None,
            window_scale: Some(7),
            send_buffer: 256 * 1024,
            recv_buffer: 256 * 1024,
            initial_rto: Duration::from_secs(1),
            min_rto: Duration::from_millis(200),
            max_rto: Duration::from_secs(120),
            retries2: 15,
            syn_retries: 6,
            synack_retries: 5,
            delayed_ack: Some(Duration::from_millis(40)),
            time_wait: Duration::from_secs(60),
            initial_window: 10,
            nodelay: false,
        }
    }
}

impl Config {
    /// The MSS we advertise towards `remote`.
    pub fn local_mss(&self, remote: SocketAddr) -> u16 {
        self.mss
            .unwrap_or(if remote.is_ipv4() { 1460 } else { 1440 })
    }
}

/// The send MSS assumed when the peer's SYN carries no MSS option (RFC 9293 §3.7.1: 536 for
/// IPv4; 1220 for IPv6).
pub(crate) fn default_peer_mss(remote: SocketAddr) -> u16 {
    if remote.is_ipv4() { 536 } else { 1220 }
}
