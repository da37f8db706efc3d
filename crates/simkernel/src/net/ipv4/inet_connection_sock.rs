//! Local ports: bind conflicts and ephemeral ports.
//!
//! Kernel: `net/ipv4/inet_connection_sock.c` (`inet_csk_get_port()`,
//! `inet_csk_bind_conflict()`, `inet_csk_find_open_port()`) and `inet_hashtables.c`
//! (`__inet_hash_connect()`). Two sockets conflict on a port when their addresses overlap
//! (equal, or either is the wildcard, `::` covering IPv4 too) and their bound devices
//! overlap (equal, or either unbound), unless both set SO_REUSEADDR and the other is not
//! listening, or both set SO_REUSEPORT (same owner in the kernel; one user here).

use std::net::{IpAddr, SocketAddr};

use rand::Rng;
use uapi::errno::{EADDRINUSE, EADDRNOTAVAIL};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::sock::{AF_INET6, SkState, Sock, SockId};
use crate::net::ipv4::tcp_input::canon_ip;

/// Kernel: `net.ipv4.ip_local_port_range` default.
pub const LOCAL_PORT_RANGE: (u16, u16) = (32768, 60999);

fn addrs_overlap(a: &Sock, aip: IpAddr, b: &Sock, bip: IpAddr) -> bool {
    let (a_any, b_any) = (aip.is_unspecified(), bip.is_unspecified());
    let a_v6any = a_any && aip.is_ipv6() && a.family == AF_INET6;
    let b_v6any = b_any && bip.is_ipv6() && b.family == AF_INET6;
    if a_v6any || b_v6any {
        return true;
    }
    if aip.is_ipv4() != bip.is_ipv4() {
        return false;
    }
    a_any || b_any || aip == bip
}

impl Kernel {
    /// Kernel: `inet_csk_bind_conflict()` for `sk` wanting `ip:port`.
    fn inet_bind_conflict(&self, sk: SockId, ip: IpAddr, port: u16) -> bool {
        let Some(me) = self.socks.map.get(&sk) else {
            return false;
        };
        self.socks.map.values().any(|o| {
            if o.id == sk || o.netns != me.netns {
                return false;
            }
            let Some(ol) = o.local else { return false };
            if ol.port() != port {
                return false;
            }
            // A passive child shares its listener's port: never a bind conflict.
            if o.passive {
                return false;
            }
            if let (Some(a), Some(b)) = (me.bound_dev_if, o.bound_dev_if)
                && a != b
            {
                return false;
            }
            if !addrs_overlap(me, canon_ip(ip), o, canon_ip(ol.ip())) {
                return false;
            }
            let o_listen = matches!(o.state, SkState::Listen { .. });
            if me.reuseport && o.reuseport {
                return false;
            }
            if me.reuseaddr && o.reuseaddr && !o_listen {
                return false;
            }
            true
        })
    }

    /// Kernel: `inet_csk_get_port()`: claim `addr` (port 0: an ephemeral one) for `sk`.
    pub(crate) fn inet_csk_get_port(&mut self, sk: SockId, addr: SocketAddr) -> KResult<u16> {
        if addr.port() != 0 {
            if self.inet_bind_conflict(sk, addr.ip(), addr.port()) {
                return Err(KernelError::new(EADDRINUSE));
            }
            return Ok(addr.port());
        }
        let (lo, hi) = LOCAL_PORT_RANGE;
        let span = u32::from(hi - lo) + 1;
        let start = self.rng().random_range(0..span);
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            if !self.port_in_use(sk, port) && !self.inet_bind_conflict(sk, addr.ip(), port) {
                return Ok(port);
            }
        }
        Err(KernelError::new(EADDRINUSE))
    }

    fn port_in_use(&self, sk: SockId, port: u16) -> bool {
        let Some(me) = self.socks.map.get(&sk) else {
            return false;
        };
        self.socks
            .map
            .values()
            .any(|o| o.id != sk && o.netns == me.netns && o.local.is_some_and(|l| l.port() == port))
    }

    /// `listen()`'s second `inet_csk_get_port()`: another listener on an overlapping
    /// address is EADDRINUSE unless both use SO_REUSEPORT.
    pub(crate) fn inet_listen_conflict(&self, sk: SockId) -> bool {
        let Some(me) = self.socks.map.get(&sk) else {
            return false;
        };
        let Some(l) = me.local else { return false };
        self.socks.map.values().any(|o| {
            o.id != sk
                && o.netns == me.netns
                && matches!(o.state, SkState::Listen { .. })
                && o.local.is_some_and(|ol| {
                    ol.port() == l.port()
                        && addrs_overlap(me, canon_ip(l.ip()), o, canon_ip(ol.ip()))
                        && !(me.reuseport && o.reuseport)
                        && me
                            .bound_dev_if
                            .zip(o.bound_dev_if)
                            .is_none_or(|(a, b)| a == b)
                })
        })
    }

    /// Kernel: `__inet_hash_connect()`: a local port for `local_ip` → `remote` whose 4-tuple
    /// is unused, starting at a random offset in the ephemeral range.
    pub(crate) fn inet_hash_connect(
        &mut self,
        sk: SockId,
        local_ip: IpAddr,
        remote: SocketAddr,
    ) -> KResult<u16> {
        let netns = self.socks.map.get(&sk).map(|s| s.netns);
        let Some(netns) = netns else {
            return Err(KernelError::new(EADDRNOTAVAIL));
        };
        let (lo, hi) = LOCAL_PORT_RANGE;
        let span = u32::from(hi - lo) + 1;
        let start = self.rng().random_range(0..span);
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            let local = SocketAddr::new(local_ip, port);
            if self.socks.ehash.contains_key(&(netns, local, remote)) {
                continue;
            }
            // Ports bound without connecting (or listening) are not reusable here.
            let bound_elsewhere = self.socks.map.values().any(|o| {
                o.id != sk
                    && o.netns == netns
                    && o.remote.is_none()
                    && o.local.is_some_and(|l| l.port() == port)
            });
            if !bound_elsewhere {
                return Ok(port);
            }
        }
        Err(KernelError::new(EADDRNOTAVAIL))
    }
}
