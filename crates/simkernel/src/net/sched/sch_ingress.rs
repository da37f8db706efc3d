//! The clsact qdisc: ingress and egress filter chains on a device.
//!
//! Kernel: `net/sched/sch_ingress.c` (`clsact_init()`, the `tcx` entries on
//! `dev->tcx_ingress/egress`). `tc qdisc add dev D clsact` twice is EEXIST; deleting a
//! qdisc that is not there is EINVAL ("Cannot find specified qdisc on specified device").

use uapi::errno::{EEXIST, EINVAL, ENODEV};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::sched::TcFilter;

/// A clsact qdisc's two chains, each ordered by `pref`.
#[derive(Debug, Default)]
pub struct Clsact {
    /// Ingress filters.
    pub ingress: Vec<TcFilter>,
    /// Egress filters.
    pub egress: Vec<TcFilter>,
}

impl Kernel {
    /// `tc qdisc add dev DEV clsact`.
    pub fn tc_qdisc_add_clsact(&mut self, dev: DevId) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        if d.tc.is_some() {
            return Err(KernelError::msg(
                EEXIST,
                "Exclusivity flag on, cannot modify",
            ));
        }
        d.tc = Some(Clsact::default());
        Ok(())
    }

    /// `tc qdisc del dev DEV clsact`: the filters go with it.
    pub fn tc_qdisc_del_clsact(&mut self, dev: DevId) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        if d.tc.take().is_none() {
            return Err(KernelError::msg(
                EINVAL,
                "Cannot find specified qdisc on specified device",
            ));
        }
        Ok(())
    }

    /// Whether `dev` has a clsact qdisc.
    pub fn tc_has_clsact(&self, dev: DevId) -> bool {
        self.try_device(dev).is_some_and(|d| d.tc.is_some())
    }
}
