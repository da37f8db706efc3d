//! rtnetlink (NETLINK_ROUTE): not modelled yet — every request is `EOPNOTSUPP`.
//!
//! Kernel: `net/core/rtnetlink.c` `rtnetlink_rcv_msg()`.

use netlink::ack::AckOpts;
use netlink::policy::ExtAckError;
use uapi::errno::EOPNOTSUPP;

use crate::kernel::{Caller, Kernel};
use crate::net::netlink::af_netlink::Handled;

impl Kernel {
    /// Kernel: `rtnetlink_rcv_msg()`.
    pub(crate) fn rtnetlink_rcv_msg(
        &mut self,
        _caller: &Caller,
        _portid: u32,
        _opts: AckOpts,
        _raw: &[u8],
    ) -> Result<Handled, ExtAckError> {
        Err(ExtAckError::new(EOPNOTSUPP))
    }
}
