//! Packet capture taps, as tcpdump sees a device.
//!
//! Kernel: `dev_queue_xmit_nit()` (egress, after validation, in `xmit_one()`) and the
//! `ptype_all` delivery in `__netif_receive_skb_core()` (ingress, before tc). An
//! AF_PACKET socket copies what the kernel can read: the linear head and page frags. On
//! netkit, veth and lo an skb with net_iov frags is therefore captured header-only, its
//! `orig_len` counting the unreadable payload. A NIC's taps record the frames on its wire
//! side instead: each TSO segment as the DMA engine gathered it, each received frame
//! before header split.

use std::io::Write;

use uapi::errno::{EBUSY, EIO, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};
use crate::net::core::skbuff::{Frag, Skb};

/// An open capture on one device.
pub struct Capture {
    writer: wire::PcapWriter<Box<dyn Write>>,
    /// Records written.
    pub packets: u64,
    /// Write errors (the capture keeps going; tcpdump would report them at exit).
    pub errors: u64,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("packets", &self.packets)
            .finish()
    }
}

impl Kernel {
    /// Start capturing `dev` into `writer` (pcap header written now).
    pub fn capture_start(&mut self, dev: DevId, writer: Box<dyn Write>) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        if d.capture.is_some() {
            return Err(KernelError::new(EBUSY));
        }
        let w = wire::PcapWriter::new(writer).map_err(|_| KernelError::new(EIO))?;
        d.capture = Some(Capture {
            writer: w,
            packets: 0,
            errors: 0,
        });
        Ok(())
    }

    /// Stop capturing `dev`: flush, and return how many records were written.
    pub fn capture_stop(&mut self, dev: DevId) -> KResult<u64> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        let mut c = d.capture.take().ok_or(KernelError::new(ENODEV))?;
        c.writer.flush().map_err(|_| KernelError::new(EIO))?;
        Ok(c.packets)
    }

    /// `--pcap DIR`: capture every current device into `DIR/<netns>-<dev>.pcap` (one file
    /// per device, as tcpdump would see it there). Returns the files opened.
    pub fn capture_dir(&mut self, dir: &std::path::Path) -> KResult<Vec<std::path::PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|_| KernelError::new(EIO))?;
        let devs: Vec<(DevId, String)> = self
            .devices
            .values()
            .filter(|d| d.capture.is_none())
            .map(|d| {
                let ns = self.netns.get(&d.netns).map_or("?", |n| n.name.as_str());
                (d.id, format!("{ns}-{}.pcap", d.name))
            })
            .collect();
        let mut out = Vec::new();
        for (dev, name) in devs {
            let path = dir.join(name);
            let f = std::fs::File::create(&path).map_err(|_| KernelError::new(EIO))?;
            self.capture_start(dev, Box::new(std::io::BufWriter::new(f)))?;
            out.push(path);
        }
        Ok(out)
    }

    /// Stop every capture (flushing the files); returns (device, records) pairs.
    pub fn capture_stop_all(&mut self) -> Vec<(DevId, u64)> {
        let devs: Vec<DevId> = self
            .devices
            .values()
            .filter(|d| d.capture.is_some())
            .map(|d| d.id)
            .collect();
        devs.into_iter()
            .filter_map(|d| self.capture_stop(d).ok().map(|n| (d, n)))
            .collect()
    }

    fn capture_write(&mut self, dev: DevId, bytes: &[u8], orig_len: usize) {
        let ts = self.clock().as_micros();
        if let Some(c) = self.devices.get_mut(&dev).and_then(|d| d.capture.as_mut()) {
            match c.writer.write_packet(ts, bytes, orig_len) {
                Ok(()) => c.packets += 1,
                Err(_) => c.errors += 1,
            }
        }
    }

    fn capture_skb(&mut self, dev: DevId, skb: &Skb) {
        let Some(d) = self.devices.get(&dev) else {
            return;
        };
        if d.capture.is_none() || matches!(d.kind, DeviceKind::Nic(_)) {
            return;
        }
        let mut bytes = skb.head.clone();
        for f in &skb.frags {
            match f {
                Frag::Page { bytes: b, off, len } => {
                    if let Some(s) = b.get(*off..off + len) {
                        bytes.extend_from_slice(s);
                    }
                }
                // Unreadable: nothing after the first net_iov frag is captured.
                Frag::NetIov { .. } => break,
            }
        }
        self.capture_write(dev, &bytes, skb.len());
    }

    /// Egress tap (`dev_queue_xmit_nit()`), skipped for NICs (they tap their wire side).
    pub(crate) fn capture_tx(&mut self, dev: DevId, skb: &Skb) {
        self.capture_skb(dev, skb);
    }

    /// Ingress tap, skipped for NICs.
    pub(crate) fn capture_rx(&mut self, dev: DevId, skb: &Skb) {
        self.capture_skb(dev, skb);
    }

    /// A NIC's wire-side tap: a whole frame as it is on the wire.
    pub(crate) fn capture_wire(&mut self, dev: DevId, frame: &[u8]) {
        if self.try_device(dev).is_some_and(|d| d.capture.is_some()) {
            self.capture_write(dev, frame, frame.len());
        }
    }
}
