//! `hw/nk_devmem.py`: the same four bodies through a netkit container
//! (`NetDrvContEnv(rxqueues=2, primary_rx_redirect=True)`), ncdevmem in the container
//! netns on the leased queue. selftests-spec §6.
//!
//! Under `--kernel pre-series` the TX cases fail the way that kernel fails them:
//! bind-tx on the netkit guest is refused (EOPNOTSUPP, "Driver does not support
//! netmem TX") and ncdevmem exits 1. Such a failure is recorded XFAIL; any other
//! failure stays FAIL.

use simkernel::KernelModel;

use crate::devmem_lib::{run_rx, run_rx_hds, run_tx, run_tx_chunks};
use crate::env::{DevmemEnv, NetDrvContEnv};
use crate::ksft::{Case, Ksft, KsftError, KsftResult, LocalBoxFuture};

/// The pre-series kernel's extack for bind-tx on a netkit device.
pub const PRE_SERIES_TX_EXTACK: &str = "Driver does not support netmem TX";

/// A pre-series TX failure is expected exactly when ncdevmem's bind-tx was refused
/// with that extack.
fn expect_pre_series(cfg: &NetDrvContEnv, r: KsftResult) -> KsftResult {
    let pre = cfg.ep().kernel.borrow().config().model == KernelModel::PreSeries;
    match r {
        Err(KsftError::Fail(msg))
            if pre
                && msg.contains("netdev_bind_tx: Operation not supported")
                && msg.contains(PRE_SERIES_TX_EXTACK)
                && msg.contains("EXIT: 1") =>
        {
            Err(KsftError::Xfail(PRE_SERIES_TX_EXTACK.into()))
        }
        r => r,
    }
}

fn check_nk_rx<'a>(k: &'a Ksft, cfg: &'a NetDrvContEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_rx(k, cfg) })
}

fn check_nk_tx<'a>(k: &'a Ksft, cfg: &'a NetDrvContEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { expect_pre_series(cfg, run_tx(k, cfg)) })
}

fn check_nk_tx_chunks<'a>(k: &'a Ksft, cfg: &'a NetDrvContEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { expect_pre_series(cfg, run_tx_chunks(k, cfg)) })
}

fn check_nk_rx_hds<'a>(k: &'a Ksft, cfg: &'a NetDrvContEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_rx_hds(k, cfg) })
}

/// The four cases, in nk_devmem.py's order.
pub fn cases() -> Vec<Case<NetDrvContEnv>> {
    vec![
        Case {
            name: "check_nk_rx",
            func: check_nk_rx,
            disruptive: true,
        },
        Case {
            name: "check_nk_tx",
            func: check_nk_tx,
            disruptive: true,
        },
        Case {
            name: "check_nk_tx_chunks",
            func: check_nk_tx_chunks,
            disruptive: true,
        },
        Case {
            name: "check_nk_rx_hds",
            func: check_nk_rx_hds,
            disruptive: false,
        },
    ]
}
