//! The devmem probe as a suite of its own: `ncdevmem -f NETIF` in the host netns
//! (selftests-spec §3.4; what `require_devmem()` runs).

use crate::env::{Host, NetDrvEpEnv, cmd_failed};
use crate::ksft::{Case, Ksft, KsftError, KsftResult, LocalBoxFuture};

fn probe<'a>(k: &'a Ksft, cfg: &'a NetDrvEpEnv) -> LocalBoxFuture<'a, KsftResult> {
    Box::pin(async move {
        let line = format!("ncdevmem -f {}", cfg.ifname);
        let out = cfg.cmd(&line, Host::Local, false)?;
        if out.status != 0 {
            return Err(KsftError::fail(cmd_failed(&line, &out)));
        }
        k.eq(out.status, 0, "");
        Ok(())
    })
}

/// One case.
pub fn cases() -> Vec<Case<NetDrvEpEnv>> {
    vec![Case {
        name: "probe",
        func: probe,
        disruptive: false,
    }]
}
