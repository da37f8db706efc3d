//! simkernel: an emulated Linux network stack for device-memory TCP through netkit.
//!
//! The layout mirrors the kernel tree so a kernel engineer finds their room:
//! - [`kernel`]: the [`Kernel`] object, its configuration and the kernel model switch;
//! - [`process`]: processes with a netns, credentials and an fd table;
//! - [`net::core`]: `dev` (xmit path, validation), `devmem` (bindings), `netdev_rx_queue`
//!   (leases, memory providers), `netdev_queues`, `page_pool`, `netmem`, `skbuff`,
//!   `net_namespace`, and `netdev_nl_ops` (the logic the netdev genetlink doits call);
//! - [`net::core`] also holds the receive half of `dev` (`dev_rx`: softnet backlog,
//!   `netif_receive_skb`), `neighbour` (NDP/ARP), `filter` (BPF redirect helpers) and
//!   `capture` (pcap taps);
//! - [`net::ipv6`], [`net::ipv4`]: addresses, FIBs, ND/ARP, input, output, forwarding,
//!   ICMP echo and the ping helper; [`net::inet`]: per-netns sysctls and IP counters;
//! - [`net::sched`]: clsact hooks, direct-action programs ([`net::sched::TcProgram`]);
//! - [`net::ethtool`]: channels, rings, RSS and ntuple state and their set operations;
//! - [`drivers`]: the DMA NIC (bnxt / gve / mlx5e / fbnic profiles; TX TSO and RX
//!   RSS/ntuple/header split), netkit (with programs), veth, loopback, wires, TAP;
//! - [`dma`]: dma-bufs and the per-device IOMMU;
//! - [`progs`]: the selftests' BPF programs in Rust; [`topology`]: the selftests' container
//!   topology in one call; [`wall_clock`]: driving a [`World`] in real time when a NIC is
//!   plugged into a TAP.
//!
//! The kernel is a plain struct driven through `&mut self` on a virtual clock: no
//! threads, no I/O beyond the memfds that back dma-bufs (and a TAP fd when a NIC is
//! plugged into the real kernel). Every collection that is iterated is ordered.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod dma;
pub mod drivers;
pub mod error;
pub mod idr;
pub mod kernel;
pub mod net;
pub mod process;
pub mod progs;
pub mod sim;
pub mod time;
pub mod topology;
pub mod wall_clock;

/// Kernel: `PAGE_SIZE` (x86_64).
pub const PAGE_SIZE: usize = 4096;
/// Kernel: `PAGE_SHIFT` (x86_64).
pub const PAGE_SHIFT: u32 = 12;

pub use error::{KResult, KernelError};
pub use kernel::{Caller, Kernel, KernelConfig, KernelModel, NlSockId};
pub use net::core::dev::{DevId, NetDevice, NetmemTx, XmitDrop, XmitResult};
pub use net::core::devmem::DevmemBinding;
pub use net::core::net_namespace::NetNsId;
pub use net::core::netdev_nl_ops::{BadAttr, OpError, QueueSel};
pub use net::core::netmem::NetIov;
pub use net::core::skbuff::{Frag, Skb};
pub use process::{Cred, File, ProcessId};
pub use sim::{Proc, SimError, World};
pub use time::{Duration, Instant, KernelEvent};
