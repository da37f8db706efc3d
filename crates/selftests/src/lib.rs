//! The devmem / netkit kselftests, ported onto the emulator, with KTAP output.
//!
//! Kernel: tools/testing/selftests/drivers/net/hw/{devmem,nk_devmem,nk_netns,
//! nk_qlease}.py, devmem_lib.py, and the python library under
//! tools/testing/selftests/net/lib/py and drivers/net/lib/py (selftests-spec).
//!
//! - [`ktap`]: the KTAP lines kselftest prints;
//! - [`ksft`]: the runner (`ksft_run`, checks, skip/xfail, `defer`, disruptive);
//! - [`tools`]: the command-line tools the tests run, as emulated programs.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod demo;
pub mod devmem_lib;
pub mod env;
pub mod ksft;
pub mod ktap;
pub mod runner;
pub mod suites;
pub mod tools;
