//! The ported test files, one module each.

pub mod nk_qlease;
