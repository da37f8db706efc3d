//! Page pools: per-queue buffer pools, possibly backed by a memory provider.
//!
//! Kernel: `net/core/page_pool.c`, `page_pool_user.c` (what page-pool-get reports). A pool
//! that carries a devmem provider holds a binding reference until it is destroyed and its
//! last in-flight buffer comes back (kernel: `mp_dmabuf_devmem_destroy()`).

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::PAGE_SIZE;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::netdev_rx_queue::MemoryProvider;
use crate::net::core::netmem::NetIov;
use crate::net::core::skbuff::{Page, PageBuf};

/// A page pool id (global, from 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PagePoolId(pub u32);

/// Kernel: `struct page_pool`, the parts netlink reports.
#[derive(Debug)]
pub struct PagePool {
    /// Id.
    pub id: PagePoolId,
    /// Owning device; `None` once the device is gone.
    pub dev: Option<DevId>,
    /// RX queue index.
    pub queue: u32,
    /// NAPI instance id.
    pub napi_id: Option<u32>,
    /// The memory provider the pool was created with.
    pub provider: Option<MemoryProvider>,
    /// Buffers handed out and not yet returned.
    pub inflight: u64,
    /// Virtual-clock seconds at which the pool was destroyed while buffers were in flight.
    pub detach_time: Option<u64>,
}

/// What page-pool-get reports for one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagePoolInfo {
    /// `NETDEV_A_PAGE_POOL_ID`.
    pub id: u32,
    /// `NETDEV_A_PAGE_POOL_IFINDEX` (absent once the device is gone).
    pub ifindex: Option<u32>,
    /// `NETDEV_A_PAGE_POOL_NAPI_ID`.
    pub napi_id: Option<u32>,
    /// `NETDEV_A_PAGE_POOL_INFLIGHT`.
    pub inflight: u64,
    /// `NETDEV_A_PAGE_POOL_INFLIGHT_MEM`.
    pub inflight_mem: u64,
    /// `NETDEV_A_PAGE_POOL_DETACH_TIME`.
    pub detach_time: Option<u64>,
    /// `NETDEV_A_PAGE_POOL_DMABUF`.
    pub dmabuf: Option<u32>,
    /// `NETDEV_A_PAGE_POOL_IO_URING` present.
    pub io_uring: bool,
}

/// The global pool registry (kernel: `page_pools` xarray, ids from 1).
#[derive(Debug)]
pub struct PagePoolRegistry {
    pub(crate) pools: BTreeMap<PagePoolId, PagePool>,
    next_id: u32,
}

impl Default for PagePoolRegistry {
    fn default() -> Self {
        PagePoolRegistry {
            pools: BTreeMap::new(),
            next_id: 1,
        }
    }
}

/// How many RX pages an [`RxPageRing`] keeps a reference to.
const RX_PAGE_RING: usize = 256;

/// The RX pages a NAPI instance handed to the stack, for reuse once the stack lets go of
/// them: the emulated NIC's RX buffers ([`PageBuf`]) are shared by reference count, and a
/// page whose only reference is the ring's is reposted with a later frame instead of being
/// freed and allocated again.
///
/// Kernel: the drivers' RX page reuse by reference count (`ixgbe_can_reuse_rx_page()`,
/// `i40e_can_reuse_rx_page()`: the driver keeps a reference to each RX page and reuses one
/// whose count shows the stack released it), the page pool's recycling in the emulator's
/// terms. Only the allocation is reused: the page's bytes are the new frame's, as a new
/// page's would be, and nothing reads a page's reference count or identity.
#[derive(Debug, Default)]
pub struct RxPageRing {
    /// The pages, walked round by `next`.
    pages: Vec<PageBuf>,
    /// The slot the next frame looks at first.
    next: usize,
}

impl RxPageRing {
    /// A page holding `bytes` (what [`Page::new_buf`] makes): the page in the ring's next
    /// slot when nobody else references it any more (its old buffer freed as dropping it
    /// would have), else a new page, kept in the ring while it has room. Either way the
    /// walk moves on, so a page held for long does not stop the others' reuse. Inlined
    /// into the per-frame path; a new page is made out of line.
    #[inline(always)]
    pub fn page(&mut self, bytes: Vec<u8>) -> PageBuf {
        let (i, n) = (self.next, self.pages.len());
        if let Some(slot) = self.pages.get_mut(i) {
            self.next = if i + 1 < n { i + 1 } else { 0 };
            if let Some(p) = Rc::get_mut(slot) {
                p.refill(bytes);
                return Rc::clone(slot);
            }
        }
        self.new_page(bytes)
    }

    /// [`RxPageRing::page`] when no page is free to reuse: a new one, kept in the ring
    /// while it has room.
    #[cold]
    #[inline(never)]
    fn new_page(&mut self, bytes: Vec<u8>) -> PageBuf {
        let page = Page::new_buf(bytes);
        if self.pages.len() < RX_PAGE_RING {
            self.pages.push(Rc::clone(&page));
        }
        page
    }
}

impl Kernel {
    /// Kernel: `page_pool_create()` for RX queue `idx` of `dev`, picking up the queue's
    /// memory provider (`page_pool_init()` reads `rxq->mp_params`).
    pub(crate) fn page_pool_create(&mut self, dev: DevId, idx: u32) -> PagePoolId {
        let q = &self.dev(dev).rx_queues[idx as usize];
        let (napi_id, provider) = (q.napi_id, q.mp.clone());
        let id = PagePoolId(self.page_pools.next_id);
        self.page_pools.next_id += 1;
        self.page_pools.pools.insert(
            id,
            PagePool {
                id,
                dev: Some(dev),
                queue: idx,
                napi_id,
                provider,
                inflight: 0,
                detach_time: None,
            },
        );
        id
    }

    /// Kernel: `page_pool_destroy()`: gone now if nothing is in flight, else detached
    /// until the last buffer returns.
    pub(crate) fn page_pool_destroy(&mut self, id: PagePoolId) {
        let now = self.now;
        if let Some(p) = self.page_pools.pools.get_mut(&id) {
            if p.inflight == 0 {
                self.page_pools.pools.remove(&id);
            } else {
                p.detach_time = Some(now);
            }
        }
    }

    /// Kernel: `page_pool_alloc_netmems()` for a devmem pool: an RX niov from the
    /// provider's binding, with its `pp_ref_count` raised.
    pub fn page_pool_alloc_netmem(&mut self, id: PagePoolId) -> Option<NetIov> {
        let p = self.page_pools.pools.get_mut(&id)?;
        let b = p.provider.as_ref()?.binding()?.clone();
        let mut niov = b.net_devmem_alloc_dmabuf()?;
        niov.set_pp(Some(id));
        b.pp_ref_inc(&niov);
        p.inflight += 1;
        Some(niov)
    }

    /// Kernel: `page_pool_put_netmem()` → `mp_dmabuf_devmem_release_page()`: the niov goes
    /// back to the binding's chunk pool; a detached pool whose last buffer returned is freed
    /// (dropping its binding reference).
    pub fn page_pool_put_netmem(&mut self, id: PagePoolId, niov: NetIov) {
        let Some(p) = self.page_pools.pools.get_mut(&id) else {
            return;
        };
        // Only the last reference (skb or devmem token) returns the buffer.
        let last = match niov.binding().cloned() {
            Some(b) if b.pp_ref_dec(&niov) == 0 => {
                b.net_devmem_free_dmabuf(niov);
                true
            }
            Some(_) => false,
            None => true,
        };
        if last {
            p.inflight = p.inflight.saturating_sub(1);
        }
        if p.inflight == 0 && p.detach_time.is_some() {
            self.page_pools.pools.remove(&id);
        }
    }

    /// Kernel: `page_pool_unreg_netdev()`: pools of a vanishing device lose it.
    pub(crate) fn page_pools_unreg_netdev(&mut self, dev: DevId) {
        let now = self.now;
        let ids: Vec<PagePoolId> = self
            .page_pools
            .pools
            .values()
            .filter(|p| p.dev == Some(dev))
            .map(|p| p.id)
            .collect();
        for id in ids {
            let remove = match self.page_pools.pools.get_mut(&id) {
                Some(p) => {
                    p.dev = None;
                    if p.inflight > 0 && p.detach_time.is_none() {
                        p.detach_time = Some(now);
                    }
                    p.inflight == 0
                }
                None => false,
            };
            if remove {
                self.page_pools.pools.remove(&id);
            }
        }
    }

    /// The pool with `id`.
    pub fn page_pool(&self, id: PagePoolId) -> Option<&PagePool> {
        self.page_pools.pools.get(&id)
    }

    /// Page-pool-get data for every pool, in id order.
    pub fn page_pool_list(&self) -> Vec<PagePoolInfo> {
        self.page_pools
            .pools
            .values()
            .map(|p| PagePoolInfo {
                id: p.id.0,
                ifindex: p.dev.and_then(|d| self.devices.get(&d)).map(|d| d.ifindex),
                napi_id: p.napi_id,
                inflight: p.inflight,
                inflight_mem: p.inflight * PAGE_SIZE as u64,
                detach_time: p.detach_time,
                dmabuf: p
                    .provider
                    .as_ref()
                    .and_then(|m| m.binding())
                    .map(|b| b.id()),
                io_uring: matches!(p.provider, Some(MemoryProvider::IoUring(_))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reused page holds exactly the new frame, as a new page would; a page the stack
    /// still holds is never reused, and keeps its bytes.
    #[test]
    fn rx_page_ring_reuses_only_released_pages() {
        let mut ring = RxPageRing::default();
        let a = ring.page(vec![1; 3000]);
        let a_ptr = Rc::as_ptr(&a);
        let held = ring.page(vec![2; 3000]);
        drop(a);
        // `a` is free: the oldest, reused for the next frame.
        let c = ring.page(vec![3; 10]);
        assert_eq!(Rc::as_ptr(&c), a_ptr);
        assert_eq!(&c[..], &[3; 10][..]);
        // `held` is still referenced: a new page, and `held` is untouched.
        let d = ring.page(vec![4; 5]);
        assert!(!Rc::ptr_eq(&d, &held));
        assert_eq!(&d[..], &[4; 5][..]);
        assert_eq!(&held[..], &[2; 3000][..]);
        assert_eq!(&c[..], &[3; 10][..]);
        // Slow path and fast path agree frame after frame.
        let mut kept = Vec::new();
        for i in 0..1000u32 {
            let bytes: Vec<u8> = (0..(i % 97) as u8).collect();
            let p = ring.page(bytes.clone());
            assert_eq!(&p[..], &Page::new_buf(bytes)[..]);
            if i % 3 == 0 {
                kept.push(p);
            }
        }
        assert!(
            kept.iter()
                .enumerate()
                .all(|(j, p)| p.len() == (j * 3 % 97))
        );
    }
}
