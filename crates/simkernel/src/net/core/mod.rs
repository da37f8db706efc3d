//! Kernel: `net/core/`.

pub mod datagram;
pub mod dev;
pub mod devmem;
pub mod msg_zerocopy;
pub mod net_namespace;
pub mod netdev_genl;
pub mod netdev_nl_ops;
pub mod netdev_queues;
pub mod netdev_rx_queue;
pub mod netmem;
pub mod page_pool;
pub mod rtnetlink;
pub mod skbuff;
pub mod sock;
