//! `hw/devmem.py`: devmem RX/TX on the NIC itself (`NetDrvEpEnv`), ncdevmem configuring
//! the NIC (no `-n`). selftests-spec §5.

use crate::devmem_lib::{run_rx, run_rx_hds, run_tx, run_tx_chunks};
use crate::env::NetDrvEpEnv;
use crate::ksft::{Case, Ksft, KsftResult, LocalBoxFuture};

fn check_rx<'a>(k: &'a Ksft, cfg: &'a NetDrvEpEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_rx(k, cfg) })
}

fn check_tx<'a>(k: &'a Ksft, cfg: &'a NetDrvEpEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_tx(k, cfg) })
}

fn check_tx_chunks<'a>(k: &'a Ksft, cfg: &'a NetDrvEpEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_tx_chunks(k, cfg) })
}

fn check_rx_hds<'a>(k: &'a Ksft, cfg: &'a NetDrvEpEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move { run_rx_hds(k, cfg) })
}

/// `ksft_run([check_rx, check_tx, check_tx_chunks, check_rx_hds])`; the first three
/// are `@ksft_disruptive`.
pub fn cases() -> Vec<Case<NetDrvEpEnv>> {
    vec![
        Case {
            name: "check_rx",
            func: check_rx,
            disruptive: true,
        },
        Case {
            name: "check_tx",
            func: check_tx,
            disruptive: true,
        },
        Case {
            name: "check_tx_chunks",
            func: check_tx_chunks,
            disruptive: true,
        },
        Case {
            name: "check_rx_hds",
            func: check_rx_hds,
            disruptive: false,
        },
    ]
}
