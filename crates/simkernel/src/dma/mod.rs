//! DMA-capable memory as devices see it: dma-bufs and the per-device IOMMU.
//!
//! Kernel: `drivers/dma-buf/` (exporters, attachments) and `drivers/iommu/` (IOVA
//! domains). A NIC never sees a CPU address: it is handed IOVAs and every read or write it
//! makes is translated by its own IOMMU domain. An IOVA the domain does not map is a fault.

pub mod dma_buf;
pub mod iommu;

pub use dma_buf::{DmaBuf, DmaBufAttachment, DmaBufId, SgEntry};
pub use iommu::{DmaDirection, DmaMemory, DmaReadWindow, Iommu, IommuFault, IommuMapping, Iova};
