//! A TAP-backed NIC: the emulated NIC's wire side is a TAP interface of the real kernel.
//!
//! Frames the NIC transmits (after TSO and checksum offload, exactly as they would go on
//! a wire) are written to the TAP fd; [`Kernel::tap_poll`] reads what the real kernel
//! sent and feeds it to the NIC's receive path (RSS, ntuple, header split). This is the
//! one place the emulator meets wall-clock time: the caller polls, and virtual time is
//! not advanced by it (DESIGN: "only a TAP-attached run uses the wall clock"); the
//! [`crate::wall_clock`] driver ties the two together and sleeps in [`Kernel::tap_wait`].

use std::rc::Rc;

use uapi::errno::{EBUSY, EINVAL, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, DeviceKind};

/// Largest frame read from a TAP (jumbo frames included).
const TAP_MTU_MAX: usize = 65_536;

impl Kernel {
    /// Plug NIC `dev` into `tap` instead of a wire (EINVAL for non-NICs, EBUSY if wired).
    pub fn nic_attach_tap(&mut self, dev: DevId, tap: linux::tap::Tap) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        match &mut d.kind {
            DeviceKind::Nic(n) if n.wire.is_some() || n.tap.is_some() => {
                Err(KernelError::new(EBUSY))
            }
            DeviceKind::Nic(n) => {
                n.tap = Some(Rc::new(tap));
                Ok(())
            }
            _ => Err(KernelError::new(EINVAL)),
        }
    }

    /// Read every frame the real kernel queued on each TAP-backed NIC, run them through
    /// the NIC's receive path (the read is the interrupt: the NAPI poll runs at once, GRO
    /// included) and the softirq. Returns the number of frames.
    pub fn tap_poll(&mut self) -> usize {
        let taps: Vec<(DevId, Rc<linux::tap::Tap>)> = self
            .devices
            .values()
            .filter_map(|d| match &d.kind {
                DeviceKind::Nic(n) => n.tap.clone().map(|t| (d.id, t)),
                _ => None,
            })
            .collect();
        let mut n = 0;
        let mut buf = vec![0u8; TAP_MTU_MAX];
        for (dev, tap) in taps {
            while let Ok(Some(len)) = tap.recv(&mut buf) {
                self.nic_receive(dev, buf[..len].to_vec());
                n += 1;
            }
            while let Some(DeviceKind::Nic(nic)) = self.devices.get(&dev).map(|d| &d.kind)
                && nic.napi.pending() > 0
            {
                self.nic_napi_poll(dev);
            }
        }
        self.net_rx_action();
        n
    }

    /// Sleep until a TAP-backed NIC has a frame from the real kernel or `timeout` passes
    /// (`poll(2)` on every TAP fd). Returns whether a frame is waiting; `false` at once
    /// when no NIC is plugged into a TAP (nothing could wake us early).
    pub fn tap_wait(&self, timeout: std::time::Duration) -> bool {
        let taps: Vec<Rc<linux::tap::Tap>> = self
            .devices
            .values()
            .filter_map(|d| match &d.kind {
                DeviceKind::Nic(n) => n.tap.clone(),
                _ => None,
            })
            .collect();
        if taps.is_empty() {
            return false;
        }
        let refs: Vec<&linux::tap::Tap> = taps.iter().map(|t| t.as_ref()).collect();
        linux::tap::wait_readable(&refs, timeout).unwrap_or(false)
    }

    /// Whether any NIC is plugged into a TAP (the run then follows the wall clock).
    pub fn has_tap(&self) -> bool {
        self.devices
            .values()
            .any(|d| matches!(&d.kind, DeviceKind::Nic(n) if n.tap.is_some()))
    }
}
