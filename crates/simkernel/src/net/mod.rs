//! Kernel: `net/`.

pub mod core;
pub mod ethtool;
