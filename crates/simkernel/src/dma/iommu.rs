//! A per-device IOMMU domain.
//!
//! Kernel: `iommu_dma_map_sg()` / `iommu_dma_unmap_sg()` and the IOVA allocator in
//! `drivers/iommu/dma-iommu.c`. Mappings are page granular and carry the DMA direction they
//! were made for; a device access outside every mapping, or against the direction, is an
//! IOMMU fault: counted, and the access fails (the driver drops the frame). Nothing is silent.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use crate::PAGE_SIZE;

/// An I/O virtual address as the device sees it.
pub type Iova = u64;

/// Memory a device may reach through an IOMMU mapping: dma-buf backing store or host pages.
pub trait DmaMemory: fmt::Debug {
    /// Size in bytes.
    fn len(&self) -> usize;
    /// Whether the memory is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Device read (DMA from memory). `off + dst.len()` is within `len()`.
    fn dma_read(&self, off: usize, dst: &mut [u8]);
    /// Device write (DMA to memory). `off + src.len()` is within `len()`.
    fn dma_write(&self, off: usize, src: &[u8]);
    /// Device read of `len` bytes appended to `out` (a TX gather into the frame being
    /// built). `off + len` is within `len()`.
    fn dma_read_append(&self, off: usize, len: usize, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + len, 0);
        self.dma_read(off, &mut out[start..]);
    }
}

/// Kernel: `enum dma_data_direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmaDirection {
    /// `DMA_BIDIRECTIONAL`
    Bidirectional,
    /// `DMA_TO_DEVICE`: the device reads memory (TX).
    ToDevice,
    /// `DMA_FROM_DEVICE`: the device writes memory (RX).
    FromDevice,
}

impl DmaDirection {
    fn allows_read(self) -> bool {
        matches!(self, DmaDirection::Bidirectional | DmaDirection::ToDevice)
    }

    fn allows_write(self) -> bool {
        matches!(self, DmaDirection::Bidirectional | DmaDirection::FromDevice)
    }
}

/// Why a device access faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IommuFault {
    /// The faulting IOVA.
    pub iova: Iova,
    /// Length of the attempted access.
    pub len: usize,
    /// Whether the access was a device write.
    pub write: bool,
}

impl fmt::Display for IommuFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.write { "write" } else { "read" };
        write!(
            f,
            "IOMMU fault: device {kind} of {} bytes at iova {:#x}",
            self.len, self.iova
        )
    }
}

#[derive(Debug, Clone)]
struct Mapping {
    len: u64,
    mem: Rc<dyn DmaMemory>,
    mem_off: usize,
    dir: DmaDirection,
}

/// The offset into `m`'s memory of the access `iova..iova + len`, if `m` (mapped at
/// `start`) covers all of it in a direction that allows it.
fn translate(start: Iova, m: &Mapping, iova: Iova, len: usize, write: bool) -> Option<usize> {
    let end = iova.checked_add(len as u64)?;
    let ok_dir = if write {
        m.dir.allows_write()
    } else {
        m.dir.allows_read()
    };
    (start <= iova && end <= start + m.len && ok_dir).then(|| m.mem_off + (iova - start) as usize)
}

/// An IOVA range translated once for a burst of device reads inside it, as the IOTLB entry
/// of its one mapping serves a DMA engine walking a buffer (e.g. a TSO skb's payload read
/// segment by segment): each [`read_append`](Self::read_append) reads exactly what
/// [`Iommu::dma_read_append`] on the same sub-range would. Mappings never abut (the
/// allocator leaves a guard page after each), so a range of consecutive buffers that one
/// mapping covers is one every buffer of would translate in. It holds the translation, not
/// the mapping: use it only while the domain does not change (within one transmit, during
/// which nothing maps or unmaps).
#[derive(Debug)]
pub struct DmaReadWindow {
    mem: Rc<dyn DmaMemory>,
    off: usize,
    len: usize,
}

impl DmaReadWindow {
    /// Append the `len` bytes at `at` into the window to `out`. Panics outside the window:
    /// the caller only asks for sub-ranges of what it translated.
    pub fn read_append(&self, at: usize, len: usize, out: &mut Vec<u8>) {
        assert!(
            at.checked_add(len).is_some_and(|end| end <= self.len),
            "read outside the DMA window"
        );
        self.mem.dma_read_append(self.off + at, len, out);
    }
}

#[derive(Debug)]
struct Domain {
    name: String,
    next_iova: Iova,
    mappings: BTreeMap<Iova, Mapping>,
    /// The IOTLB: the last translation used, keyed by its mapping's first IOVA. A DMA
    /// engine walks a buffer in order, so consecutive accesses mostly hit it; unmapping
    /// that mapping invalidates it (`iommu_iotlb_sync()` after `iommu_unmap()`).
    iotlb: Option<(Iova, Mapping)>,
    faults: u64,
    mapped_bytes: u64,
}

/// An IOMMU domain shared by one device and the mappings made for it.
#[derive(Debug, Clone)]
pub struct Iommu(Rc<RefCell<Domain>>);

/// Where IOVA allocation starts; below it nothing is ever mapped, so stray small
/// addresses (a dmabuf offset mistaken for an IOVA) always fault.
const IOVA_BASE: Iova = 0x1_0000_0000;

impl Iommu {
    /// A new, empty domain for the device called `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Iommu(Rc::new(RefCell::new(Domain {
            name: name.into(),
            next_iova: IOVA_BASE,
            mappings: BTreeMap::new(),
            iotlb: None,
            faults: 0,
            mapped_bytes: 0,
        })))
    }

    /// The device name this domain belongs to.
    pub fn name(&self) -> String {
        self.0.borrow().name.clone()
    }

    /// Map `len` bytes of `mem` starting at `mem_off` for `dir`; returns the RAII mapping.
    /// The IOVA range is page aligned and never reused while mapped.
    pub fn map(
        &self,
        mem: Rc<dyn DmaMemory>,
        mem_off: usize,
        len: usize,
        dir: DmaDirection,
    ) -> IommuMapping {
        let mut d = self.0.borrow_mut();
        let iova = d.next_iova;
        let span = (len as u64).div_ceil(PAGE_SIZE as u64).max(1) * PAGE_SIZE as u64;
        // A guard page between mappings, as the kernel's allocator leaves holes too.
        d.next_iova += span + PAGE_SIZE as u64;
        d.mapped_bytes += len as u64;
        d.mappings.insert(
            iova,
            Mapping {
                len: len as u64,
                mem,
                mem_off,
                dir,
            },
        );
        IommuMapping {
            domain: self.clone(),
            iova,
            len,
        }
    }

    fn unmap(&self, iova: Iova) {
        let mut d = self.0.borrow_mut();
        if let Some(m) = d.mappings.remove(&iova) {
            d.mapped_bytes -= m.len;
        }
        if d.iotlb.as_ref().is_some_and(|(start, _)| *start == iova) {
            d.iotlb = None;
        }
    }

    /// Translate `iova..iova + len` and run `f` on the memory and offset it maps to, or hand
    /// `f` back untouched if no single mapping covers the range in a direction that allows
    /// the access (nothing counted: [`lookup`](Self::lookup) counts the fault).
    fn lookup_or<R, F: FnOnce(&Rc<dyn DmaMemory>, usize) -> R>(
        &self,
        iova: Iova,
        len: usize,
        write: bool,
        f: F,
    ) -> Result<R, F> {
        let translate = |start: Iova, m: &Mapping| translate(start, m, iova, len, write);
        // An IOTLB hit (the common case: a DMA engine walks a buffer in order) needs no
        // write access to the domain and no reference count on the memory. `f` only moves
        // bytes of a `DmaMemory` (or keeps a reference to it), which never calls back into an
        // IOMMU.
        {
            let d = self.0.borrow();
            if let Some((start, m)) = &d.iotlb
                && let Some(off) = translate(*start, m)
            {
                return Ok(f(&m.mem, off));
            }
        }
        let mut d = self.0.borrow_mut();
        let walked = d
            .mappings
            .range(..=iova)
            .next_back()
            .and_then(|(&start, m)| translate(start, m).map(|off| (start, m.clone(), off)));
        match walked {
            Some((start, m, off)) => {
                let mem = m.mem.clone();
                d.iotlb = Some((start, m));
                drop(d);
                Ok(f(&mem, off))
            }
            None => Err(f),
        }
    }

    /// A [`DmaReadWindow`] on `iova..iova + len`, or `None` (nothing counted) unless one
    /// mapping covers all of it for device reads; translated by
    /// [`lookup_or`](Self::lookup_or) (the IOTLB first, then the mapping walk, which fills
    /// the IOTLB), keeping a reference to the memory.
    pub fn dma_read_window(&self, iova: Iova, len: usize) -> Option<DmaReadWindow> {
        self.lookup_or(iova, len, false, |mem, off| DmaReadWindow {
            mem: mem.clone(),
            off,
            len,
        })
        .ok()
    }

    fn lookup<R>(
        &self,
        iova: Iova,
        len: usize,
        write: bool,
        f: impl FnOnce(&Rc<dyn DmaMemory>, usize) -> R,
    ) -> Result<R, IommuFault> {
        self.lookup_or(iova, len, write, f).map_err(|_| {
            self.0.borrow_mut().faults += 1;
            IommuFault { iova, len, write }
        })
    }

    /// A device read through the IOMMU (the DMA engine gathering a TX buffer).
    pub fn dma_read(&self, iova: Iova, dst: &mut [u8]) -> Result<(), IommuFault> {
        self.lookup(iova, dst.len(), false, |mem, off| mem.dma_read(off, dst))
    }

    /// [`dma_read`](Self::dma_read) of `len` bytes appended to `out`.
    pub fn dma_read_append(
        &self,
        iova: Iova,
        len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), IommuFault> {
        self.lookup(iova, len, false, |mem, off| {
            mem.dma_read_append(off, len, out)
        })
    }

    /// A device write through the IOMMU (the DMA engine filling an RX buffer).
    pub fn dma_write(&self, iova: Iova, src: &[u8]) -> Result<(), IommuFault> {
        self.lookup(iova, src.len(), true, |mem, off| mem.dma_write(off, src))
    }

    /// Faults seen by this domain so far.
    pub fn faults(&self) -> u64 {
        self.0.borrow().faults
    }

    /// Number of live mappings.
    pub fn mapping_count(&self) -> usize {
        self.0.borrow().mappings.len()
    }

    /// Bytes currently mapped.
    pub fn mapped_bytes(&self) -> u64 {
        self.0.borrow().mapped_bytes
    }

    /// Whether two handles name the same domain.
    pub fn same(&self, other: &Iommu) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// A live IOVA mapping; dropping it unmaps (kernel: `dma_unmap_sg_attrs()`).
#[derive(Debug)]
pub struct IommuMapping {
    domain: Iommu,
    iova: Iova,
    len: usize,
}

impl IommuMapping {
    /// First IOVA of the mapping.
    pub fn iova(&self) -> Iova {
        self.iova
    }

    /// Mapped length.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for IommuMapping {
    fn drop(&mut self) {
        self.domain.unmap(self.iova);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell as Cell;

    #[derive(Debug)]
    struct Ram(Cell<Vec<u8>>);

    impl DmaMemory for Ram {
        fn len(&self) -> usize {
            self.0.borrow().len()
        }
        fn dma_read(&self, off: usize, dst: &mut [u8]) {
            dst.copy_from_slice(&self.0.borrow()[off..off + dst.len()]);
        }
        fn dma_write(&self, off: usize, src: &[u8]) {
            self.0.borrow_mut()[off..off + src.len()].copy_from_slice(src);
        }
    }

    #[test]
    fn translate_read_write_and_direction() {
        let mmu = Iommu::new("0000:01:00.0");
        let ram: Rc<dyn DmaMemory> =
            Rc::new(Ram(Cell::new((0..=255u8).cycle().take(8192).collect())));
        let tx = mmu.map(ram.clone(), 4096, 4096, DmaDirection::ToDevice);
        let mut buf = [0u8; 4];
        mmu.dma_read(tx.iova() + 1, &mut buf).unwrap();
        assert_eq!(buf, [1, 2, 3, 4]);
        // A TX mapping is read-only for the device.
        assert!(mmu.dma_write(tx.iova(), &[9]).is_err());
        // Past the end of the mapping.
        assert!(mmu.dma_read(tx.iova() + 4094, &mut buf).is_err());
        assert_eq!(mmu.faults(), 2);
        let rx = mmu.map(ram.clone(), 0, 8192, DmaDirection::FromDevice);
        mmu.dma_write(rx.iova() + 10, &[0xee]).unwrap();
        mmu.dma_read(tx.iova(), &mut buf).unwrap();
        assert_eq!(buf[0], 0);
        drop(tx);
        assert!(mmu.dma_read(IOVA_BASE, &mut buf).is_err());
        assert_eq!(mmu.mapping_count(), 1);
        drop(rx);
        assert_eq!(mmu.mapped_bytes(), 0);
    }

    /// The IOTLB only ever answers for its own mapping, and unmapping drops it.
    #[test]
    fn iotlb_hits_stay_inside_their_mapping_and_die_with_it() {
        let mmu = Iommu::new("x");
        let ram: Rc<dyn DmaMemory> = Rc::new(Ram(Cell::new(vec![7; 8192])));
        let a = mmu.map(ram.clone(), 0, 4096, DmaDirection::ToDevice);
        let b = mmu.map(ram, 4096, 4096, DmaDirection::ToDevice);
        let mut buf = [0u8; 8];
        mmu.dma_read(a.iova() + 8, &mut buf).unwrap();
        // The guard page after `a` while `a` is cached.
        assert!(mmu.dma_read(a.iova() + 4096, &mut buf).is_err());
        // Straddling the end of `a`.
        assert!(mmu.dma_read(a.iova() + 4092, &mut buf).is_err());
        mmu.dma_read(b.iova(), &mut buf).unwrap();
        let b_iova = b.iova();
        drop(b);
        assert!(mmu.dma_read(b_iova, &mut buf).is_err());
        mmu.dma_read(a.iova(), &mut buf).unwrap();
        assert_eq!(mmu.faults(), 3);
    }

    /// A window reads what reads of its sub-ranges read, exists only where one mapping
    /// covers all of it for reads, and counts nothing either way.
    #[test]
    fn a_window_reads_what_run_reads_do() {
        let mmu = Iommu::new("x");
        let ram: Rc<dyn DmaMemory> =
            Rc::new(Ram(Cell::new((0..=255u8).cycle().take(8192).collect())));
        let a = mmu.map(ram.clone(), 100, 4000, DmaDirection::ToDevice);
        let b = mmu.map(ram.clone(), 4096, 4096, DmaDirection::ToDevice);
        let rx = mmu.map(ram, 0, 4096, DmaDirection::FromDevice);
        for (iova, len) in [(a.iova(), 4000), (a.iova() + 7, 3000), (b.iova() + 1, 4095)] {
            // Once through the mapping walk, once through the IOTLB.
            for _ in 0..2 {
                let w = mmu.dma_read_window(iova, len).unwrap();
                for (at, n) in [(0, len), (5, 1448), (len - 9, 9), (len, 0)] {
                    let (mut got, mut want) = (vec![1], vec![1]);
                    w.read_append(at, n, &mut got);
                    mmu.dma_read_append(iova + at as u64, n, &mut want).unwrap();
                    assert_eq!(got, want);
                }
            }
        }
        // Into the guard page after `a`, up to `b`, and against the direction.
        assert!(mmu.dma_read_window(a.iova() + 1, 4000).is_none());
        assert!(
            mmu.dma_read_window(a.iova(), (b.iova() - a.iova()) as usize + 1)
                .is_none()
        );
        assert!(mmu.dma_read_window(rx.iova(), 1).is_none());
        assert!(mmu.dma_read_window(u64::MAX, 2).is_none());
        assert_eq!(mmu.faults(), 0);
    }

    #[test]
    fn small_addresses_always_fault() {
        let mmu = Iommu::new("x");
        let ram: Rc<dyn DmaMemory> = Rc::new(Ram(Cell::new(vec![0; 4096])));
        let _m = mmu.map(ram, 0, 4096, DmaDirection::Bidirectional);
        let mut b = [0u8; 1];
        assert!(mmu.dma_read(0, &mut b).is_err());
        assert!(mmu.dma_read(u64::MAX, &mut b).is_err());
    }
}
