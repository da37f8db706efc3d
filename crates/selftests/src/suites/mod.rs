//! The ported test files, one module each.

pub mod devmem;
pub mod nk_devmem;
pub mod nk_netns;
pub mod nk_qlease;
pub mod probe;
