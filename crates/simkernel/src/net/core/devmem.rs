//! Device-memory TCP bindings.
//!
//! Kernel: `net/core/devmem.c` / `devmem.h` (merged state of the netkit series, see
//! kernel-spec §4). A [`DevmemBinding`] is `struct net_devmem_dmabuf_binding`: a dma-buf
//! attached and DMA-mapped for one device, cut into PAGE_SIZE net_iovs.
//!
//! Lifetime (kernel's `percpu_ref`) is an `Rc`: the global id table and the owning netlink
//! socket's list hold the "user" reference; every page pool using the binding and every
//! in-flight [`NetIov`] holds one more. [`Kernel::net_devmem_unbind_dmabuf`] drops the user
//! references; the last drop unmaps the IOMMU entries (the attachment's `Drop`) and
//! decrements the live-binding counter.
//!
//! Costs: binding a dma-buf allocates one area per scatter-gather entry and one IOMMU
//! mapping per entry; TX `tx_vec` lookups are computed from the areas (no per-niov array),
//! so a 1 GiB bind is O(SG entries). RX bindings additionally keep a `pp_ref` count per niov.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use uapi::errno::{EBUSY, EINVAL, ENODEV, EOPNOTSUPP};

use crate::PAGE_SIZE;
use crate::dma::{DmaBufAttachment, DmaDirection, Iova};
use crate::error::{KResult, KernelError};
use crate::kernel::{Kernel, KernelModel, NlSockId};
use crate::net::core::dev::{DevId, DmaDev};
use crate::net::core::netmem::NetIov;
use crate::process::ProcessId;

/// Kernel: `struct net_iov_area` + `struct dmabuf_genpool_chunk_owner`: one per DMA-mapped
/// scatter-gather entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetIovArea {
    /// Offset of this SG entry in the dma-buf (`base_virtual`).
    pub base_virtual: u64,
    /// DMA address of the entry in the device's IOMMU (`base_dma_addr`).
    pub base_dma: Iova,
    /// Index of the area's first niov in the binding.
    pub first_niov: u32,
    /// Number of niovs (`num_niovs`).
    pub num_niovs: u32,
}

/// The RX chunk allocator. Kernel: the binding's `gen_pool` (merged state, kernel-spec
/// §4.1), created with the default `gen_pool_first_fit` algorithm and one chunk per
/// scatter-gather entry. `gen_pool_add_owner()` links each new chunk at the *head* of the
/// pool's chunk list and `gen_pool_alloc_owner()` walks that list from the head, so the
/// last SG entry is searched first; inside a chunk first-fit takes the lowest free PAGE_SIZE
/// bit. Per area we keep a bump cursor and the freed indexes below it (the lowest free bit
/// is the smallest freed index, else the cursor), and the set of areas with room, so
/// allocation and free stay O(log n).
#[derive(Debug)]
struct ChunkPool {
    /// Per area (binding order): niovs handed out so far from its start (bump cursor).
    next: Vec<u32>,
    /// Per area: freed niov indexes (binding-global) below the cursor.
    free: Vec<std::collections::BTreeSet<u32>>,
    /// Positions of the areas that still have a free niov.
    avail: std::collections::BTreeSet<usize>,
    /// Niovs currently allocated.
    in_use: u32,
}

impl ChunkPool {
    fn new(areas: &[NetIovArea]) -> Self {
        ChunkPool {
            next: vec![0; areas.len()],
            free: vec![Default::default(); areas.len()],
            avail: (0..areas.len())
                .filter(|&i| areas[i].num_niovs > 0)
                .collect(),
            in_use: 0,
        }
    }

    /// `gen_pool_alloc_owner()`: newest chunk first, lowest free bit in it.
    fn alloc(&mut self, areas: &[NetIovArea]) -> Option<u32> {
        let pos = *self.avail.last()?;
        let a = &areas[pos];
        let index = match self.free[pos].pop_first() {
            Some(i) => i,
            None => {
                self.next[pos] += 1;
                a.first_niov + self.next[pos] - 1
            }
        };
        if self.free[pos].is_empty() && self.next[pos] == a.num_niovs {
            self.avail.remove(&pos);
        }
        self.in_use += 1;
        Some(index)
    }

    /// `gen_pool_free()`: clear the niov's bit in its chunk.
    fn free(&mut self, areas: &[NetIovArea], index: u32) {
        let pos = areas.partition_point(|a| a.first_niov <= index) - 1;
        if self.free[pos].insert(index) {
            self.avail.insert(pos);
            self.in_use -= 1;
        }
    }
}

/// Kernel: `struct net_devmem_dmabuf_binding`.
pub struct DevmemBinding {
    id: u32,
    /// "Physical NIC that does the actual DMA for this binding"; for RX, the netdev named
    /// in bind-rx; cleared by `mp_dmabuf_devmem_uninstall()` (hence a `Cell`).
    dev: Cell<Option<DevId>>,
    /// Opaque cookie: the virtual device bind-tx was issued on. Only compared.
    vdev: Option<DevId>,
    direction: DmaDirection,
    attachment: DmaBufAttachment,
    areas: Vec<NetIovArea>,
    num_niovs: u32,
    tx: bool,
    chunk_pool: RefCell<ChunkPool>,
    bound_rxqs: RefCell<Vec<(DevId, u32)>>,
    pp_ref: RefCell<Vec<u32>>,
    live: Rc<Cell<u64>>,
}

impl fmt::Debug for DevmemBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevmemBinding")
            .field("id", &self.id)
            .field("dev", &self.dev.get())
            .field("vdev", &self.vdev)
            .field("direction", &self.direction)
            .field("num_niovs", &self.num_niovs)
            .field("areas", &self.areas.len())
            .finish()
    }
}

impl Drop for DevmemBinding {
    /// Kernel: `__net_devmem_dmabuf_binding_free()`: the attachment unmaps and detaches as
    /// it drops right after this.
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl DevmemBinding {
    /// The binding id (`binding->id`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// `READ_ONCE(binding->dev)`.
    pub fn dev(&self) -> Option<DevId> {
        self.dev.get()
    }

    /// `binding->vdev` (cookie).
    pub fn vdev(&self) -> Option<DevId> {
        self.vdev
    }

    /// `binding->direction`.
    pub fn direction(&self) -> DmaDirection {
        self.direction
    }

    /// Whether this is a TX binding (has `tx_vec`).
    pub fn is_tx(&self) -> bool {
        self.tx
    }

    /// Number of PAGE_SIZE niovs.
    pub fn num_niovs(&self) -> u32 {
        self.num_niovs
    }

    /// The areas, one per SG entry.
    pub fn areas(&self) -> &[NetIovArea] {
        &self.areas
    }

    /// The mapped attachment.
    pub fn attachment(&self) -> &DmaBufAttachment {
        &self.attachment
    }

    /// Size of the dma-buf.
    pub fn size(&self) -> usize {
        self.attachment.dmabuf().size()
    }

    /// The RX queues this binding is installed on (kernel: `bound_rxqs`).
    pub fn bound_rxqs(&self) -> Vec<(DevId, u32)> {
        self.bound_rxqs.borrow().clone()
    }

    fn area_of(&self, index: u32) -> &NetIovArea {
        let pos = self.areas.partition_point(|a| a.first_niov <= index);
        // Invariant: index < num_niovs and areas cover [0, num_niovs) in order.
        &self.areas[pos - 1]
    }

    pub(crate) fn niov_dma_addr(&self, index: u32) -> Iova {
        let a = self.area_of(index);
        a.base_dma + u64::from(index - a.first_niov) * PAGE_SIZE as u64
    }

    pub(crate) fn niov_virtual_addr(&self, index: u32) -> u64 {
        let a = self.area_of(index);
        a.base_virtual + u64::from(index - a.first_niov) * PAGE_SIZE as u64
    }

    /// Kernel: `net_devmem_get_niov_at()`: the TX niov holding byte `virt_addr` of the
    /// dma-buf, the offset inside it and the bytes left in it. `None` past the end (the
    /// caller turns that into EFAULT). Areas are laid out back to back in dma-buf order,
    /// so `tx_vec[virt_addr / PAGE_SIZE]` is simply that niov index.
    pub fn net_devmem_get_niov_at(
        self: &Rc<Self>,
        virt_addr: usize,
    ) -> Option<(NetIov, usize, usize)> {
        if !self.tx || virt_addr >= self.size() {
            return None;
        }
        let off = virt_addr % PAGE_SIZE;
        let index = u32::try_from(virt_addr / PAGE_SIZE).ok()?;
        Some((NetIov::dmabuf(self.clone(), index), off, PAGE_SIZE - off))
    }

    /// Whether [`net_devmem_get_niov_at`](Self::net_devmem_get_niov_at) finds every byte of
    /// `[virt_addr, virt_addr + len)` (`len` > 0): a TX binding, the span inside the dma-buf
    /// (whose size never changes) and every niov index a `u32`. Then the niov of byte `o` of
    /// the span is `o / PAGE_SIZE`, at offset `o % PAGE_SIZE`, and a fill over the span
    /// checks it once instead of per frag (the same bytes fault: none). Returns the span's
    /// start as a `usize`.
    #[inline]
    pub(crate) fn net_devmem_tx_span(&self, virt_addr: u64, len: usize) -> Option<usize> {
        let start = usize::try_from(virt_addr).ok()?;
        let end = start.checked_add(len)?;
        (self.tx && len > 0 && end <= self.size() && u32::try_from((end - 1) / PAGE_SIZE).is_ok())
            .then_some(start)
    }

    /// Kernel: `net_devmem_alloc_dmabuf()`: one free RX niov, or `None` when exhausted.
    /// The order is the gen_pool's (see [`ChunkPool`]): last SG entry first, lowest free
    /// niov inside it.
    pub fn net_devmem_alloc_dmabuf(self: &Rc<Self>) -> Option<NetIov> {
        let index = self.chunk_pool.borrow_mut().alloc(&self.areas)?;
        Some(NetIov::dmabuf(self.clone(), index))
    }

    /// Kernel: `net_devmem_free_dmabuf()`: return an RX niov to the chunk pool.
    pub fn net_devmem_free_dmabuf(&self, niov: NetIov) {
        debug_assert!(niov.binding().is_some_and(|b| std::ptr::eq(&**b, self)));
        self.chunk_pool.borrow_mut().free(&self.areas, niov.index());
    }

    /// Niovs currently handed out by the RX chunk pool.
    pub fn chunks_in_use(&self) -> u32 {
        self.chunk_pool.borrow().in_use
    }

    /// Kernel: `atomic_long_inc(&niov->pp_ref_count)` (RX only). Returns the new count.
    pub fn pp_ref_inc(&self, niov: &NetIov) -> u32 {
        let mut r = self.pp_ref.borrow_mut();
        match r.get_mut(niov.index() as usize) {
            Some(c) => {
                *c += 1;
                *c
            }
            None => 0,
        }
    }

    /// Kernel: `atomic_long_dec_return(&niov->pp_ref_count)` (RX only).
    pub fn pp_ref_dec(&self, niov: &NetIov) -> u32 {
        let mut r = self.pp_ref.borrow_mut();
        match r.get_mut(niov.index() as usize) {
            Some(c) => {
                *c = c.saturating_sub(1);
                *c
            }
            None => 0,
        }
    }

    /// Kernel: the `xa_alloc(&binding->bound_rxqs, ...)` in
    /// `net_devmem_bind_dmabuf_to_queue()`: remember the queue the user named.
    pub(crate) fn record_rxq(&self, rxq: (DevId, u32)) {
        self.bound_rxqs.borrow_mut().push(rxq);
    }

    /// Kernel: `mp_dmabuf_devmem_uninstall()`: look `rxq` up in `bound_rxqs`; only if it is
    /// there, erase that one entry and, when that empties the set, clear `dev`. An rxq the
    /// binding never recorded leaves both untouched.
    pub(crate) fn uninstall_rxq(&self, rxq: (DevId, u32)) {
        let mut b = self.bound_rxqs.borrow_mut();
        let Some(pos) = b.iter().position(|&q| q == rxq) else {
            return;
        };
        b.remove(pos);
        if b.is_empty() {
            self.dev.set(None);
        }
    }
}

/// The routing answer `net_devmem_get_binding()` gets from the socket (part 2 supplies it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkDst {
    /// `__sk_dst_get()` (possibly after `rebuild_header`) gives a route out of this device.
    Dev(DevId),
    /// No cached dst and `icsk_af_ops->rebuild_header()` failed.
    RebuildFailed,
    /// Still no dst after rebuilding.
    None,
}

/// Global devmem state: the binding table, per-socket lists and the live counter.
#[derive(Debug)]
pub struct DevmemState {
    /// Kernel: `net_devmem_dmabuf_bindings` (xarray, ALLOC1, cyclic).
    pub(crate) table: BTreeMap<u32, Rc<DevmemBinding>>,
    next_id: u32,
    /// Kernel: `netdev_nl_sock.bindings`, per netlink socket.
    pub(crate) sock_bindings: BTreeMap<NlSockId, Vec<Rc<DevmemBinding>>>,
    live: Rc<Cell<u64>>,
}

impl Default for DevmemState {
    fn default() -> Self {
        DevmemState {
            table: BTreeMap::new(),
            next_id: 1,
            sock_bindings: BTreeMap::new(),
            live: Rc::new(Cell::new(0)),
        }
    }
}

impl DevmemState {
    /// Kernel: `xa_alloc_cyclic(..., xa_limit_32b, &id_alloc_next)` on an ALLOC1 xarray:
    /// the first free id at or after the cursor, wrapping at `u32::MAX` back to 1.
    fn alloc_id(&mut self) -> KResult<u32> {
        let start = self.next_id.max(1);
        let mut id = start;
        loop {
            if !self.table.contains_key(&id) {
                self.next_id = id.checked_add(1).unwrap_or(1);
                return Ok(id);
            }
            id = id.checked_add(1).unwrap_or(1);
            if id == start {
                return Err(KernelError::new(EBUSY));
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn set_next_id(&mut self, next: u32) {
        self.next_id = next;
    }
}

impl Kernel {
    /// Bindings alive right now (created and not yet freed), whatever holds them.
    pub fn live_bindings(&self) -> u64 {
        self.devmem.live.get()
    }

    /// The bindings in the global table (kernel: the `net_devmem_dmabuf_bindings`
    /// xarray), in id order: bound and not yet unbound.
    pub fn devmem_bindings(&self) -> impl Iterator<Item = &Rc<DevmemBinding>> {
        self.devmem.table.values()
    }

    /// Kernel: `net_devmem_bind_dmabuf()` (kernel-spec §4.2), every step in order.
    #[allow(clippy::too_many_arguments)]
    pub fn net_devmem_bind_dmabuf(
        &mut self,
        dev: DevId,
        vdev: Option<DevId>,
        dma_dev: Option<DmaDev>,
        direction: DmaDirection,
        pid: ProcessId,
        dmabuf_fd: i32,
        sock: NlSockId,
    ) -> KResult<Rc<DevmemBinding>> {
        //= kernel-spec §4.2 step 1
        //# `dma_dev == NULL` → -EOPNOTSUPP, "Device doesn't support DMA"
        let Some(dma_dev) = dma_dev else {
            return Err(KernelError::msg(EOPNOTSUPP, "Device doesn't support DMA"));
        };
        //= kernel-spec §4.2 step 2
        //# `dma_buf_get(fd)` → its error (bad fd / not a dmabuf)
        let dmabuf = self.dma_buf_get(pid, dmabuf_fd)?;
        //= kernel-spec §4.2 steps 6–7: attach and map with `direction`
        let attachment = dmabuf.attach_and_map(dma_dev.iommu(), direction);
        let tx = direction == DmaDirection::ToDevice;
        //= kernel-spec §4.2 step 8
        //# TX only: `dmabuf->size` must be a multiple of PAGE_SIZE
        if tx && dmabuf.size() % PAGE_SIZE != 0 {
            return Err(KernelError::msg(
                EINVAL,
                "TX dma-buf size must be a multiple of PAGE_SIZE",
            ));
        }
        //= kernel-spec §4.2 steps 11–12: one area per DMA-mapped SG entry
        let mut areas = Vec::new();
        let mut niovs: u32 = 0;
        let mut virt: u64 = 0;
        for (iova, _off, len) in attachment.sg_dma() {
            if len % PAGE_SIZE != 0 {
                return Err(KernelError::msg(
                    EINVAL,
                    "dma-buf SG length must be PAGE_SIZE aligned",
                ));
            }
            let n = u32::try_from(len / PAGE_SIZE).map_err(|_| KernelError::new(EINVAL))?;
            areas.push(NetIovArea {
                base_virtual: virt,
                base_dma: iova,
                first_niov: niovs,
                num_niovs: n,
            });
            niovs = niovs.checked_add(n).ok_or(KernelError::new(EINVAL))?;
            virt += len as u64;
        }
        //= kernel-spec §4.2 step 13: global id, cyclic from 1
        let id = self.devmem.alloc_id()?;
        let live = self.devmem.live.clone();
        live.set(live.get() + 1);
        let chunk_pool = RefCell::new(ChunkPool::new(&areas));
        let binding = Rc::new(DevmemBinding {
            id,
            dev: Cell::new(Some(dev)),
            vdev,
            direction,
            attachment,
            areas,
            num_niovs: niovs,
            tx,
            chunk_pool,
            bound_rxqs: RefCell::new(Vec::new()),
            pp_ref: RefCell::new(if tx {
                Vec::new()
            } else {
                vec![0; niovs as usize]
            }),
            live,
        });
        self.devmem.table.insert(id, binding.clone());
        //= kernel-spec §4.2 step 14: `list_add(&binding->list, &priv->bindings)`
        self.devmem
            .sock_bindings
            .entry(sock)
            .or_default()
            .push(binding.clone());
        Ok(binding)
    }

    /// Kernel: `net_devmem_unbind_dmabuf()` (kernel-spec §4.6): erase the id, unlink from
    /// the socket, close the memory provider on every bound RX queue, drop the user
    /// reference. The binding is freed when its last page pool / net_iov lets go. Closing
    /// leaves `bound_rxqs` and `dev` as they were: the kernel only iterates the set here.
    pub fn net_devmem_unbind_dmabuf(&mut self, binding: &Rc<DevmemBinding>) {
        self.devmem.table.remove(&binding.id);
        for list in self.devmem.sock_bindings.values_mut() {
            list.retain(|b| !Rc::ptr_eq(b, binding));
        }
        self.devmem.sock_bindings.retain(|_, l| !l.is_empty());
        // `xa_for_each(&binding->bound_rxqs, ...)` only walks the set: the entries stay
        // (only `mp_dmabuf_devmem_uninstall()` erases them), and so does `binding->dev`.
        let rxqs = binding.bound_rxqs();
        for (dev, idx) in rxqs {
            if self.devices.contains_key(&dev) {
                self.net_mp_close_rxq(dev, idx, binding);
            }
        }
    }

    /// Kernel: `netdev_nl_sock_priv_destroy()`: the netlink socket `sock` closed; unbind
    /// every binding it created.
    pub fn unbind_socket_bindings(&mut self, sock: NlSockId) {
        let list = self.devmem.sock_bindings.remove(&sock).unwrap_or_default();
        for b in list {
            self.net_devmem_unbind_dmabuf(&b);
        }
    }

    /// Kernel: `net_devmem_lookup_dmabuf()`: the binding with `id`, with a reference.
    pub fn net_devmem_lookup_dmabuf(&self, id: u32) -> Option<Rc<DevmemBinding>> {
        self.devmem.table.get(&id).cloned()
    }

    /// Kernel: `net_devmem_get_binding()` (kernel-spec §4.4): the per-sendmsg route check.
    /// With the series the route may leave through `binding->dev` or `binding->vdev`;
    /// before it, only through `binding->dev`.
    pub fn net_devmem_get_binding(&self, dmabuf_id: u32, dst: SkDst) -> KResult<Rc<DevmemBinding>> {
        let binding = self
            .net_devmem_lookup_dmabuf(dmabuf_id)
            .filter(|b| b.tx)
            .ok_or(KernelError::new(EINVAL))?;
        let dst_dev = match dst {
            SkDst::Dev(d) => d,
            SkDst::RebuildFailed => return Err(KernelError::new(uapi::errno::EHOSTUNREACH)),
            SkDst::None => return Err(KernelError::new(ENODEV)),
        };
        let ok = match self.config.model {
            KernelModel::Series => binding.dev() == Some(dst_dev) || binding.vdev == Some(dst_dev),
            // Pre-series: `if (!dst || !dst->dev || dst->dev != READ_ONCE(binding->dev))`.
            KernelModel::PreSeries => binding.dev() == Some(dst_dev),
        };
        if !ok {
            return Err(KernelError::new(ENODEV));
        }
        Ok(binding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mp_dmabuf_devmem_uninstall()` clears `binding->dev` only when it erased the rxq it
    /// was given and that left `bound_rxqs` empty; an rxq it never recorded changes nothing.
    #[test]
    fn uninstall_of_an_unrecorded_rxq_keeps_dev() {
        use crate::drivers::nic::NicProfile;
        use crate::kernel::KernelConfig;
        use crate::process::Cred;
        let mut k = Kernel::new(KernelConfig {
            model: KernelModel::Series,
            tx_validation: true,
        });
        let ns = k.init_net();
        let nic = k.nic_add(ns, "eth0", NicProfile::bnxt(), 2).unwrap();
        let pid = k.process_spawn(
            ns,
            Cred {
                cap_net_admin: true,
            },
        );
        let buf = k.dmabuf_create(4 * PAGE_SIZE, 0).unwrap();
        let fd = k.process_install_dmabuf(pid, buf).unwrap();
        let dma = k.dev(nic).dma_dev().cloned();
        let b = k
            .net_devmem_bind_dmabuf(
                nic,
                None,
                dma,
                DmaDirection::FromDevice,
                pid,
                fd,
                NlSockId(1),
            )
            .unwrap();
        // No rxq recorded yet: nothing to erase, `dev` stays.
        b.uninstall_rxq((nic, 0));
        assert_eq!(b.dev(), Some(nic));
        b.record_rxq((nic, 1));
        b.uninstall_rxq((nic, 0));
        assert_eq!((b.dev(), b.bound_rxqs()), (Some(nic), vec![(nic, 1)]));
        b.uninstall_rxq((nic, 1));
        assert_eq!((b.dev(), b.bound_rxqs()), (None, vec![]));
    }

    #[test]
    fn id_allocation_is_cyclic_and_wraps_to_one() {
        let mut s = DevmemState::default();
        assert_eq!(s.alloc_id().unwrap(), 1);
        s.set_next_id(u32::MAX);
        assert_eq!(s.alloc_id().unwrap(), u32::MAX);
        assert_eq!(s.alloc_id().unwrap(), 1);
        assert_eq!(s.next_id, 2);
    }
}
