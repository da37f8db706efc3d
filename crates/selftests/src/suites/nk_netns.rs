//! `hw/nk_netns.py`: ping the container from the remote and the remote from the
//! container (`NetDrvContEnv()`, one rx queue, no primary redirect). selftests-spec
//! §10.1.

use crate::env::{Host, NetDrvContEnv};
use crate::ksft::{Case, Ksft, KsftResult, LocalBoxFuture};

fn test_ping<'a>(_k: &'a Ksft, cfg: &'a NetDrvContEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move {
        cfg.ep.require_ipver("6")?;
        cfg.ep.cmd(
            &format!("ping -c 1 -W5 {}", cfg.nk_guest_ipv6),
            Host::Remote,
            true,
        )?;
        cfg.ep.cmd(
            &cfg.in_netns(&format!("ping -c 1 -W5 {}", cfg.ep.remote_addr)),
            Host::Local,
            true,
        )?;
        Ok(())
    })
}

/// `ksft_run([test_ping])`.
pub fn cases() -> Vec<Case<NetDrvContEnv>> {
    vec![Case {
        name: "test_ping",
        func: test_ping,
        disruptive: false,
    }]
}
