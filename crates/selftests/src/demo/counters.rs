//! Per-device counters of one act, as `ip -s link` and the IOMMU would report them,
//! plus the devmem bindings each device held (sampled while the act ran, since a
//! binding lives only as long as the netlink socket of the process that made it).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use simkernel::{DevId, Kernel};

/// One row of the counter table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevRow {
    /// `eth0`, `nk_host`, `nk_guest`, `eth1`, `remote eth0`, `remote eth1`.
    pub name: String,
    /// `rx_packets`.
    pub rx_packets: u64,
    /// `tx_packets`.
    pub tx_packets: u64,
    /// `tx_dropped` (kernel: `dev_core_stats_tx_dropped_inc()`).
    pub tx_dropped: u64,
    /// Faults of the device's IOMMU (0 for devices without a DMA engine).
    pub iommu_faults: u64,
    /// Most bindings with `binding->dev` = this device alive at once during the act.
    pub bindings: u64,
}

/// A binding seen during an act: id, `binding->dev`, `binding->vdev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenBinding {
    /// `NETDEV_A_DMABUF_ID`.
    pub id: u32,
    /// `binding->dev`.
    pub dev: Option<DevId>,
    /// `binding->vdev`.
    pub vdev: Option<DevId>,
}

/// Watches the binding table while the world runs.
#[derive(Debug, Default)]
pub struct Sampler {
    peak: RefCell<BTreeMap<DevId, u64>>,
    seen: RefCell<Vec<SeenBinding>>,
}

impl Sampler {
    /// Looks at the binding table once.
    pub fn sample(&self, k: &Kernel) {
        let mut now: BTreeMap<DevId, u64> = BTreeMap::new();
        let mut seen = self.seen.borrow_mut();
        for b in k.devmem_bindings() {
            if let Some(d) = b.dev() {
                *now.entry(d).or_default() += 1;
            }
            if !seen.iter().any(|s| s.id == b.id()) {
                seen.push(SeenBinding {
                    id: b.id(),
                    dev: b.dev(),
                    vdev: b.vdev(),
                });
            }
        }
        let mut peak = self.peak.borrow_mut();
        for (d, n) in now {
            let p = peak.entry(d).or_default();
            *p = (*p).max(n);
        }
    }

    /// Every binding seen so far, in the order they appeared.
    pub fn seen(&self) -> Vec<SeenBinding> {
        self.seen.borrow().clone()
    }

    /// The row of `dev`, named `name`.
    pub fn row(&self, k: &Kernel, dev: DevId, name: &str) -> DevRow {
        let d = k.device(dev);
        DevRow {
            name: name.to_string(),
            rx_packets: d.stats.rx_packets,
            tx_packets: d.stats.tx_packets,
            tx_dropped: d.stats.tx_dropped,
            iommu_faults: d.iommu_faults(),
            bindings: self.peak.borrow().get(&dev).copied().unwrap_or(0),
        }
    }
}

/// The table, indented by `indent` spaces.
pub fn render(out: &mut String, rows: &[DevRow], indent: usize) {
    let pad = " ".repeat(indent);
    let _ = writeln!(
        out,
        "{pad}{:<12} {:>10} {:>10} {:>10} {:>12} {:>8}",
        "device", "rx packets", "tx packets", "tx_dropped", "IOMMU faults", "bindings"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{pad}{:<12} {:>10} {:>10} {:>10} {:>12} {:>8}",
            r.name, r.rx_packets, r.tx_packets, r.tx_dropped, r.iommu_faults, r.bindings
        );
    }
}
