//! Kernel: `drivers/net/`. Each driver is data (a capabilities profile or a state struct)
//! plus its `ndo_start_xmit`; the core dispatches on [`DeviceKind`](crate::net::core::dev::DeviceKind).

pub mod loopback;
pub mod netkit;
pub mod nic;
pub mod nic_rx;
pub mod nic_tx;
pub mod tap;
pub mod veth;
pub mod wire;
