//! Network memory: pages and net_iovs.
//!
//! Kernel: `include/net/netmem.h` (`netmem_ref`, `struct net_iov`, `enum net_iov_type`).
//! A [`NetIov`] is a counted reference to one PAGE_SIZE chunk of device memory: a devmem
//! dma-buf binding's niov, or an io_uring zero-copy RX area's niov. It deliberately has
//! **no byte accessor** (DESIGN invariant 1): kernel code can learn where the chunk is
//! (its DMA address, its offset in the dma-buf) but never what it holds. Only a device's DMA
//! engine reads it, through that device's IOMMU.

use std::fmt;
use std::rc::Rc;

use crate::PAGE_SIZE;
use crate::dma::Iova;
use crate::net::core::devmem::DevmemBinding;

/// Kernel: `enum net_iov_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetIovType {
    /// `NET_IOV_DMABUF`: a devmem dma-buf chunk.
    Dmabuf,
    /// `NET_IOV_IOURING`: an io_uring zcrx area chunk.
    IoUring,
}

/// A minimal io_uring zero-copy RX area (kernel: `struct io_zcrx_area`): only what the
/// core looks at. Its niovs are not devmem, so TX validation rule 6 applies to them.
#[derive(Debug)]
pub struct IoUringArea {
    /// Area id.
    pub id: u32,
    /// DMA address of the first niov in the device the area is mapped for.
    pub base_dma: Iova,
    /// Number of niovs.
    pub num_niovs: u32,
}

/// Where the niovs of one area of an owner (a devmem binding's SG entry, an io_uring
/// area) are in IOVA space: niov `first + i` is at `base_dma + i * PAGE_SIZE`. See
/// [`NetIov::dma_addr_cached`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct NiovDmaArea {
    owner: usize,
    first: u32,
    num: u32,
    base_dma: Iova,
}

#[derive(Clone)]
enum Owner {
    Dmabuf(Rc<DevmemBinding>),
    IoUring(Rc<IoUringArea>),
}

/// A counted reference to one net_iov (kernel: `struct net_iov *` plus the binding
/// reference that `net_devmem_get_net_iov()` / `get_netmem()` takes). Cloning takes
/// another reference; dropping puts it. While any `NetIov` of a binding lives, the binding
/// and its IOMMU mappings live.
#[derive(Clone)]
pub struct NetIov {
    owner: Owner,
    index: u32,
    /// Kernel: `niov->pp`: the page pool that allocated this RX niov (None for TX).
    pp: Option<crate::net::core::page_pool::PagePoolId>,
}

impl fmt::Debug for NetIov {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.owner {
            Owner::Dmabuf(b) => write!(f, "NetIov(dmabuf {} #{})", b.id(), self.index),
            Owner::IoUring(a) => write!(f, "NetIov(io_uring area {} #{})", a.id, self.index),
        }
    }
}

impl NetIov {
    /// A reference to niov `index` of a devmem binding. Panics if out of range: callers
    /// derive indexes from the binding itself.
    pub(crate) fn dmabuf(binding: Rc<DevmemBinding>, index: u32) -> Self {
        assert!(index < binding.num_niovs(), "niov index out of range");
        NetIov {
            owner: Owner::Dmabuf(binding),
            index,
            pp: None,
        }
    }

    /// A reference to niov `index` of an io_uring area.
    pub fn io_uring(area: Rc<IoUringArea>, index: u32) -> Self {
        assert!(index < area.num_niovs, "niov index out of range");
        NetIov {
            owner: Owner::IoUring(area),
            index,
            pp: None,
        }
    }

    /// Kernel: `niov->pp`: the page pool this RX niov came from.
    pub fn pp(&self) -> Option<crate::net::core::page_pool::PagePoolId> {
        self.pp
    }

    pub(crate) fn set_pp(&mut self, pp: Option<crate::net::core::page_pool::PagePoolId>) {
        self.pp = pp;
    }

    /// Kernel: `net_iov_type()`.
    pub fn niov_type(&self) -> NetIovType {
        match self.owner {
            Owner::Dmabuf(_) => NetIovType::Dmabuf,
            Owner::IoUring(_) => NetIovType::IoUring,
        }
    }

    /// Kernel: `net_is_devmem_iov()`.
    pub fn is_devmem(&self) -> bool {
        self.niov_type() == NetIovType::Dmabuf
    }

    /// Kernel: `net_devmem_iov_binding()`; `None` for io_uring niovs.
    pub fn binding(&self) -> Option<&Rc<DevmemBinding>> {
        match &self.owner {
            Owner::Dmabuf(b) => Some(b),
            Owner::IoUring(_) => None,
        }
    }

    /// Kernel: `net_devmem_iov_binding_id()`; 0 for non-devmem niovs.
    pub fn binding_id(&self) -> u32 {
        self.binding().map_or(0, |b| b.id())
    }

    /// Index of the niov within its binding / area.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// Kernel: `net_iov_dma_addr()` / `page_pool_get_dma_addr_netmem()`: the IOVA the
    /// owning device's DMA engine uses for this chunk.
    pub fn dma_addr(&self) -> Iova {
        match &self.owner {
            Owner::Dmabuf(b) => b.niov_dma_addr(self.index),
            Owner::IoUring(a) => a.base_dma + u64::from(self.index) * PAGE_SIZE as u64,
        }
    }

    /// [`dma_addr`](Self::dma_addr), with the area it was found in kept in `area` and
    /// reused when this niov lies in it too (same binding or io_uring area, index inside
    /// the area's range): the frags of an skb mostly share one area, so a walk over them
    /// looks each area up once. `area` is only valid for one walk over niovs that keep
    /// their owners alive (it identifies the owner by address).
    #[inline]
    pub(crate) fn dma_addr_cached(&self, area: &mut Option<NiovDmaArea>) -> Iova {
        if let Some(a) = area
            && a.owner == self.owner_addr()
            && self.index >= a.first
            && self.index - a.first < a.num
        {
            return a.base_dma + u64::from(self.index - a.first) * PAGE_SIZE as u64;
        }
        self.dma_addr_find_area(area)
    }

    /// [`dma_addr_cached`](Self::dma_addr_cached) when `area` does not hold this niov:
    /// its area is looked up and kept.
    #[cold]
    fn dma_addr_find_area(&self, area: &mut Option<NiovDmaArea>) -> Iova {
        let owner = self.owner_addr();
        let a = match &self.owner {
            Owner::Dmabuf(b) => {
                // As DevmemBinding::area_of(): the areas cover [0, num_niovs) in order.
                let areas = b.areas();
                let x = &areas[areas.partition_point(|x| x.first_niov <= self.index) - 1];
                NiovDmaArea {
                    owner,
                    first: x.first_niov,
                    num: x.num_niovs,
                    base_dma: x.base_dma,
                }
            }
            Owner::IoUring(x) => NiovDmaArea {
                owner,
                first: 0,
                num: x.num_niovs,
                base_dma: x.base_dma,
            },
        };
        *area = Some(a);
        a.base_dma + u64::from(self.index - a.first) * PAGE_SIZE as u64
    }

    /// The address of the binding or io_uring area this niov belongs to (its identity).
    #[inline]
    fn owner_addr(&self) -> usize {
        match &self.owner {
            Owner::Dmabuf(b) => Rc::as_ptr(b).addr(),
            Owner::IoUring(a) => Rc::as_ptr(a).addr(),
        }
    }

    /// Kernel: `net_iov_virtual_addr()`: the offset of this chunk in its dma-buf (what
    /// users see as `frag_offset`). For io_uring niovs, the offset in the area.
    pub fn virtual_offset(&self) -> u64 {
        match &self.owner {
            Owner::Dmabuf(b) => b.niov_virtual_addr(self.index),
            Owner::IoUring(_) => u64::from(self.index) * PAGE_SIZE as u64,
        }
    }

    /// Whether two references name the same chunk.
    pub fn same(&self, other: &NetIov) -> bool {
        self.index == other.index
            && match (&self.owner, &other.owner) {
                (Owner::Dmabuf(a), Owner::Dmabuf(b)) => Rc::ptr_eq(a, b),
                (Owner::IoUring(a), Owner::IoUring(b)) => Rc::ptr_eq(a, b),
                _ => false,
            }
    }
}
