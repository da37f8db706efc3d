//! The netlink message layer: AF_NETLINK sockets and generic netlink dispatch.
//!
//! Kernel: `net/netlink/` — [`af_netlink`] models the socket side (`netlink_autobind`,
//! socket options, `netlink_rcv_skb`, the receive queue, release) and [`genetlink`] the
//! generic netlink families (`genl_rcv_msg`, the `nlctrl` controller, the family id
//! allocator). The families' handlers live next to the code they expose:
//! `net::core::netdev_genl` (netdev), `net::ethtool::netlink` (ethtool), and
//! `net::core::rtnetlink` (NETLINK_ROUTE).

pub mod af_netlink;
pub mod genetlink;

pub use af_netlink::{NetlinkSock, NetlinkTable};
pub use genetlink::GenlCtx;
