//! dma-buf objects: memory shared between a process and the devices it is attached to.
//!
//! Kernel: `drivers/dma-buf/dma-buf.c` (`dma_buf_get`, `dma_buf_attach`,
//! `dma_buf_map_attachment_unlocked`) with `drivers/dma-buf/udmabuf.c` as the exporter.
//! The backing store is a memfd that the owning process maps and writes, exactly as with
//! udmabuf; devices reach it only through the IOVA mappings an attachment creates in their
//! own IOMMU domain.

use std::fmt;
use std::rc::Rc;

use super::iommu::{DmaDirection, DmaMemory, Iommu, IommuMapping, Iova};

/// Identifies a dma-buf object (the kernel's `struct dma_buf *`), unique per kernel.
pub type DmaBufId = u64;

impl DmaMemory for linux::shm::SharedMem {
    fn len(&self) -> usize {
        linux::shm::SharedMem::len(self)
    }

    fn dma_read(&self, off: usize, dst: &mut [u8]) {
        // The IOMMU only hands out in-bounds offsets; an out-of-bounds access here is a
        // broken invariant of the mapping code, not something input can cause.
        self.read_at(off, dst)
            .expect("IOMMU mapping exceeds dma-buf");
    }

    fn dma_write(&self, off: usize, src: &[u8]) {
        self.write_at(off, src)
            .expect("IOMMU mapping exceeds dma-buf");
    }

    fn dma_read_append(&self, off: usize, len: usize, out: &mut Vec<u8>) {
        self.read_append(off, len, out)
            .expect("IOMMU mapping exceeds dma-buf");
    }
}

/// One scatter-gather entry of the exporter's table: a byte range of the dma-buf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SgEntry {
    /// Offset of the entry in the dma-buf.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

/// A dma-buf: the backing memory and the exporter's scatter-gather layout.
pub struct DmaBuf {
    id: DmaBufId,
    mem: Rc<linux::shm::SharedMem>,
    size: usize,
    sg: Vec<SgEntry>,
    exporter: &'static str,
}

impl fmt::Debug for DmaBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DmaBuf")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("sg_entries", &self.sg.len())
            .field("exporter", &self.exporter)
            .finish()
    }
}

impl DmaBuf {
    /// A dma-buf over `mem` with `size` bytes, exported as one scatter-gather entry per
    /// `sg_chunk` bytes (the last entry takes the rest). `sg_chunk == 0` means one entry.
    /// udmabuf exports page-multiple sizes only; other exporters do not, which is why
    /// `net_devmem_bind_dmabuf()` checks sizes itself.
    pub fn new(
        id: DmaBufId,
        mem: Rc<linux::shm::SharedMem>,
        size: usize,
        sg_chunk: usize,
        exporter: &'static str,
    ) -> Self {
        let size = size.min(mem.len());
        let chunk = if sg_chunk == 0 { size.max(1) } else { sg_chunk };
        let sg = (0..size)
            .step_by(chunk)
            .map(|offset| SgEntry {
                offset,
                len: chunk.min(size - offset),
            })
            .collect();
        DmaBuf {
            id,
            mem,
            size,
            sg,
            exporter,
        }
    }

    /// Kernel-unique identity.
    pub fn id(&self) -> DmaBufId {
        self.id
    }

    /// `dmabuf->size`.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The exporter's scatter-gather entries.
    pub fn sg_entries(&self) -> &[SgEntry] {
        &self.sg
    }

    /// Exporter name (`dmabuf->exp_name`).
    pub fn exporter(&self) -> &'static str {
        self.exporter
    }

    /// The CPU view the owning process has through its mmap.
    pub fn memory(&self) -> &Rc<linux::shm::SharedMem> {
        &self.mem
    }

    /// Kernel: `dma_buf_attach()` followed by `dma_buf_map_attachment_unlocked()`: map
    /// every scatter-gather entry into the importing device's IOMMU domain.
    pub fn attach_and_map(self: &Rc<Self>, iommu: &Iommu, dir: DmaDirection) -> DmaBufAttachment {
        let mem: Rc<dyn DmaMemory> = self.mem.clone();
        let mapped = self
            .sg
            .iter()
            .map(|e| MappedSg {
                entry: *e,
                mapping: iommu.map(mem.clone(), e.offset, e.len, dir),
            })
            .collect();
        DmaBufAttachment {
            dmabuf: self.clone(),
            iommu: iommu.clone(),
            dir,
            mapped,
        }
    }
}

#[derive(Debug)]
struct MappedSg {
    entry: SgEntry,
    mapping: IommuMapping,
}

/// A mapped attachment of a dma-buf to one device. Dropping it unmaps and detaches.
#[derive(Debug)]
pub struct DmaBufAttachment {
    dmabuf: Rc<DmaBuf>,
    iommu: Iommu,
    dir: DmaDirection,
    mapped: Vec<MappedSg>,
}

impl DmaBufAttachment {
    /// The attached dma-buf.
    pub fn dmabuf(&self) -> &Rc<DmaBuf> {
        &self.dmabuf
    }

    /// The importing device's IOMMU domain.
    pub fn iommu(&self) -> &Iommu {
        &self.iommu
    }

    /// Direction of the mapping.
    pub fn direction(&self) -> DmaDirection {
        self.dir
    }

    /// The DMA-mapped scatter-gather list: (dma address, dma-buf offset, length) per entry.
    pub fn sg_dma(&self) -> impl Iterator<Item = (Iova, usize, usize)> + '_ {
        self.mapped
            .iter()
            .map(|m| (m.mapping.iova(), m.entry.offset, m.entry.len))
    }
}
