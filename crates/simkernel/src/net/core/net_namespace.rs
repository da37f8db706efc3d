//! Network namespaces: per-namespace ifindex space and peer nsids.
//!
//! Kernel: `net/core/net_namespace.c` (`peernet2id`, `peernet2id_alloc`,
//! `get_net_ns_by_id`, `rtnl_net_newid` behind `ip netns set NAME ID`) and
//! `dev_index_reserve()` in `net/core/dev.c`.

use std::collections::BTreeMap;

use uapi::errno::{EEXIST, ENFILE};

use crate::error::{KResult, KernelError};
use crate::net::core::dev::DevId;

/// Identifies a namespace for the kernel's lifetime (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NetNsId(pub u64);

/// Highest ifindex (`xa_limit_31b`).
const IFINDEX_MAX: u32 = i32::MAX as u32;

/// Kernel: `struct net`, the parts that matter here.
#[derive(Debug)]
pub struct NetNs {
    /// Identity.
    pub id: NetNsId,
    /// The `ip netns` name ("init_net" for the initial namespace).
    pub name: String,
    /// Kernel: `net->dev_by_index`.
    pub dev_by_index: BTreeMap<u32, DevId>,
    /// Kernel: `net->ifindex`, the cyclic allocation cursor.
    ifindex_next: u32,
    /// Kernel: `net->netns_ids`: the ids this namespace uses for its peers.
    pub nsids: BTreeMap<NetNsId, i32>,
    /// Kernel: `net->ipv6.fib6_main_tbl`.
    pub fib6: crate::net::ipv6::route::Fib6,
    /// Kernel: `net->ipv4.fib_main`.
    pub fib4: crate::net::ipv4::route::Fib4,
    /// Sysctls.
    pub sysctl: crate::net::inet::NetSysctl,
    /// IP counters.
    pub ipstats: crate::net::inet::IpStats,
}

impl NetNs {
    /// An empty namespace.
    pub fn new(id: NetNsId, name: impl Into<String>) -> Self {
        NetNs {
            id,
            name: name.into(),
            dev_by_index: BTreeMap::new(),
            ifindex_next: 1,
            nsids: BTreeMap::new(),
            fib6: Default::default(),
            fib4: Default::default(),
            sysctl: crate::net::inet::NetSysctl {
                accept_ra: 1,
                ..Default::default()
            },
            ipstats: Default::default(),
        }
    }

    /// Kernel: `dev_index_reserve()`. With `want`, that exact index (EEXIST if taken);
    /// otherwise `xa_alloc_cyclic()` from the cursor, so the first device (lo) gets 1 and
    /// indexes are not reused until the space wraps.
    pub fn dev_index_reserve(&mut self, want: Option<u32>, dev: DevId) -> KResult<u32> {
        if let Some(i) = want {
            if i == 0 || i > IFINDEX_MAX || self.dev_by_index.contains_key(&i) {
                return Err(KernelError::new(EEXIST));
            }
            self.dev_by_index.insert(i, dev);
            return Ok(i);
        }
        let start = self.ifindex_next.clamp(1, IFINDEX_MAX);
        let found = (start..=IFINDEX_MAX)
            .chain(1..start)
            .find(|i| !self.dev_by_index.contains_key(i))
            .ok_or(KernelError::new(ENFILE))?;
        self.dev_by_index.insert(found, dev);
        self.ifindex_next = if found == IFINDEX_MAX { 1 } else { found + 1 };
        Ok(found)
    }

    /// Kernel: `dev_index_release()`.
    pub fn dev_index_release(&mut self, ifindex: u32) {
        self.dev_by_index.remove(&ifindex);
    }

    /// Kernel: `peernet2id()`: the id this namespace has for `peer`, if any.
    pub fn peernet2id(&self, peer: NetNsId) -> Option<i32> {
        self.nsids.get(&peer).copied()
    }

    /// Kernel: `peernet2id_alloc()`: the existing id, or the lowest free id ≥ 0.
    pub fn peernet2id_alloc(&mut self, peer: NetNsId) -> i32 {
        if let Some(id) = self.peernet2id(peer) {
            return id;
        }
        let mut id = 0;
        let mut used: Vec<i32> = self.nsids.values().copied().collect();
        used.sort_unstable();
        for u in used {
            if u == id {
                id += 1;
            } else if u > id {
                break;
            }
        }
        self.nsids.insert(peer, id);
        id
    }

    /// Kernel: `get_net_ns_by_id()`: the peer this namespace calls `id`.
    pub fn get_net_ns_by_id(&self, id: i32) -> Option<NetNsId> {
        self.nsids
            .iter()
            .find_map(|(&peer, &v)| (v == id).then_some(peer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifindex_is_cyclic_from_one() {
        let mut ns = NetNs::new(NetNsId(1), "a");
        assert_eq!(ns.dev_index_reserve(None, DevId(1)).unwrap(), 1);
        assert_eq!(ns.dev_index_reserve(None, DevId(2)).unwrap(), 2);
        ns.dev_index_release(2);
        // Not reused: the cursor moved on.
        assert_eq!(ns.dev_index_reserve(None, DevId(3)).unwrap(), 3);
        assert_eq!(
            ns.dev_index_reserve(Some(3), DevId(4)).unwrap_err().errno,
            EEXIST
        );
        assert_eq!(ns.dev_index_reserve(Some(2), DevId(4)).unwrap(), 2);
    }

    #[test]
    fn nsid_alloc_lowest_free() {
        let mut ns = NetNs::new(NetNsId(1), "a");
        ns.nsids.insert(NetNsId(7), 0);
        ns.nsids.insert(NetNsId(8), 2);
        assert_eq!(ns.peernet2id_alloc(NetNsId(9)), 1);
        assert_eq!(ns.peernet2id_alloc(NetNsId(10)), 3);
        assert_eq!(ns.peernet2id_alloc(NetNsId(9)), 1);
        assert_eq!(ns.get_net_ns_by_id(2), Some(NetNsId(8)));
        assert_eq!(ns.get_net_ns_by_id(999), None);
    }
}
