//! Runs the suites a [`RunConfig`] names and reports them as kselftest does.
//!
//! One suite prints exactly what its python file prints. Several suites are wrapped
//! the way `run_kselftest.sh` wraps test programs: an outer plan, each program's own
//! output indented as `# ` diagnostics, and one `ok N selftests: drivers/net/hw: X.py`
//! line per program.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use simkernel::{Kernel, KernelConfig};

use crate::config::{RunConfig, Suite};
use crate::devmem_lib::setup_test;
use crate::env::{NetDrvContEnv, NetDrvEpEnv};
use crate::ksft::{CaseDiag, CaseReport, Ksft, block_on_ready, ksft_run};
use crate::ktap::{KtapOut, Outcome, SharedBuf, Totals};
use crate::suites::{self, nk_qlease};

/// What the emulator cannot run yet, per suite: the suite is reported with every case
/// skipped for this reason. `None` = runnable.
pub fn missing_support(_s: Suite) -> Option<&'static str> {
    None
}

/// Case names of each suite (reported as skipped when its env cannot be built).
fn planned_cases(s: Suite) -> &'static [&'static str] {
    match s {
        Suite::Devmem => &["check_rx", "check_tx", "check_tx_chunks", "check_rx_hds"],
        Suite::NkDevmem => &[
            "check_nk_rx",
            "check_nk_tx",
            "check_nk_tx_chunks",
            "check_nk_rx_hds",
        ],
        Suite::NkNetns => &["test_ping"],
        Suite::Probe => &["probe"],
        Suite::NkQlease => &[],
    }
}

/// The binary devmem_lib's `setup_test()` is given (the emulated shell runs it by name).
pub const BIN_LOCAL: &str = "ncdevmem";

/// One suite's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteReport {
    /// `KSFT_MAIN_NAME`.
    pub suite: &'static str,
    /// Totals.
    pub totals: Totals,
    /// Each case.
    pub cases: Vec<CaseReport>,
    /// The env's teardown failed (state not restored): the suite fails.
    pub env_error: Option<String>,
}

impl SuiteReport {
    /// No case failed.
    pub fn ok(&self) -> bool {
        self.totals.fail == 0 && self.env_error.is_none()
    }
}

/// Runs one suite, printing its KTAP to `out`.
pub fn run_suite(cfg: &RunConfig, s: Suite, out: &KtapOut) -> SuiteReport {
    let mut ksft = Ksft::new(out.clone());
    ksft.disruptive = cfg.disruptive;
    let mut env_error = None;
    let mut teardown = |r: Result<(), String>| {
        if let Err(e) = r {
            out.diag(&format!("env teardown failed: {e}"));
            env_error = Some(e);
        }
    };
    let (totals, cases) = match s {
        Suite::NkQlease => {
            let k = Rc::new(RefCell::new(Kernel::new(KernelConfig {
                model: cfg.model,
                tx_validation: true,
            })));
            match nk_qlease::QleaseEnv::new(k, cfg.driver) {
                Ok(env) => block_on_ready(ksft_run(&ksft, s.name(), &nk_qlease::cases(), &env)),
                Err(e) => skipped(out, s, &format!("environment setup failed: {e}")),
            }
        }
        Suite::Devmem | Suite::Probe => match NetDrvEpEnv::new(cfg) {
            Ok(env) => {
                setup_test(&env, BIN_LOCAL);
                ksft.diag = Some(Box::new(WireDiag::new(&env)));
                let cases = if s == Suite::Devmem {
                    suites::devmem::cases()
                } else {
                    suites::probe::cases()
                };
                let r = block_on_ready(ksft_run(&ksft, s.name(), &cases, &env));
                teardown(env.teardown());
                r
            }
            Err(e) => skipped(out, s, &format!("environment setup failed: {e}")),
        },
        Suite::NkDevmem | Suite::NkNetns => {
            let (rxq, redirect) = if s == Suite::NkDevmem {
                (2, true)
            } else {
                (1, false)
            };
            match NetDrvContEnv::new(cfg, rxq, redirect) {
                Ok(env) => {
                    setup_test(&env, BIN_LOCAL);
                    ksft.diag = Some(Box::new(WireDiag::new(&env.ep)));
                    let cases = if s == Suite::NkDevmem {
                        suites::nk_devmem::cases()
                    } else {
                        suites::nk_netns::cases()
                    };
                    let r = block_on_ready(ksft_run(&ksft, s.name(), &cases, &env));
                    teardown(env.teardown());
                    r
                }
                Err(e) => skipped(out, s, &format!("environment setup failed: {e}")),
            }
        }
    };
    SuiteReport {
        suite: s.name(),
        totals,
        cases,
        env_error,
    }
}

/// Says which frames the wire's fault rules lost or mangled during a failed case (the cause
/// the real tests would leave you to find with tcpdump).
struct WireDiag {
    kernel: Rc<RefCell<Kernel>>,
    wire: simkernel::drivers::wire::WireId,
    /// Fault events the wire had logged when the case started.
    at_start: Cell<u64>,
}

impl WireDiag {
    fn new(env: &NetDrvEpEnv) -> Self {
        WireDiag {
            kernel: env.kernel.clone(),
            wire: env.wire,
            at_start: Cell::new(0),
        }
    }

    /// Frames a rule did not pass, so far (each one logged).
    fn events(&self) -> u64 {
        self.kernel
            .borrow()
            .wire_stats(self.wire)
            .map_or(0, |s| s.dropped + s.delayed + s.duplicated + s.corrupted)
    }
}

impl CaseDiag for WireDiag {
    fn start(&self) {
        self.at_start.set(self.events());
    }

    fn explain(&self) -> Vec<String> {
        let new = usize::try_from(self.events() - self.at_start.get()).unwrap_or(usize::MAX);
        let log = self.kernel.borrow().wire_log(self.wire);
        log[log.len().saturating_sub(new)..]
            .iter()
            .map(|e| {
                let end = if e.from == 0 { "host" } else { "remote" };
                format!(
                    "wire: {} from {end} at {} us: {}",
                    e.verdict,
                    e.at.as_micros(),
                    e.summary
                )
            })
            .collect()
    }
}

fn skipped(out: &KtapOut, s: Suite, reason: &str) -> (Totals, Vec<CaseReport>) {
    let names = planned_cases(s);
    out.header(names.len());
    let mut t = Totals::default();
    let mut v = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let o = Outcome::Skip(reason.to_string());
        let name = format!("{}.{n}", s.name());
        out.result(i + 1, &name, &o);
        t.add(&o);
        v.push(CaseReport { name, outcome: o });
    }
    out.totals(&t);
    (t, v)
}

/// Runs every suite of `cfg`; KTAP goes to `out`. Returns the per-suite reports.
pub fn run(cfg: &RunConfig, out: &KtapOut) -> Vec<SuiteReport> {
    if cfg.suites.len() == 1 {
        return vec![run_suite(cfg, cfg.suites[0], out)];
    }
    out.header(cfg.suites.len());
    let mut reports = Vec::new();
    for (i, &s) in cfg.suites.iter().enumerate() {
        let file = format!("selftests: drivers/net/hw: {}.py", s.name());
        out.line(&format!("# {file}"));
        let buf = SharedBuf::default();
        let r = run_suite(cfg, s, &KtapOut::new(buf.clone()));
        out.diag(&buf.text());
        let o = if r.ok() { Outcome::Pass } else { Outcome::Fail };
        out.result(i + 1, &file, &o);
        reports.push(r);
    }
    reports
}

/// Sum over suites.
pub fn total(reports: &[SuiteReport]) -> Totals {
    let mut t = Totals::default();
    for r in reports {
        t.merge(r.totals);
    }
    t
}

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// The reports as one JSON document (`--json`).
pub fn to_json(cfg: &RunConfig, reports: &[SuiteReport]) -> String {
    let t = total(reports);
    let suites: Vec<String> = reports
        .iter()
        .map(|r| {
            let cases: Vec<String> = r
                .cases
                .iter()
                .map(|c| {
                    let reason = match &c.outcome {
                        Outcome::Skip(s) | Outcome::Xfail(s) => json_str(s),
                        _ => "null".into(),
                    };
                    format!(
                        "{{\"name\":{},\"result\":\"{}\",\"reason\":{}}}",
                        json_str(&c.name),
                        c.outcome.key(),
                        reason
                    )
                })
                .collect();
            format!(
                "{{\"suite\":\"{}\",\"pass\":{},\"fail\":{},\"xfail\":{},\"skip\":{},\"cases\":[{}]}}",
                r.suite,
                r.totals.pass,
                r.totals.fail,
                r.totals.xfail,
                r.totals.skip,
                cases.join(",")
            )
        })
        .collect();
    format!(
        "{{\"driver\":\"{}\",\"kernel\":\"{}\",\"seed\":{},\"impair\":\"{}\",\"ok\":{},\"totals\":{{\"pass\":{},\"fail\":{},\"xfail\":{},\"xpass\":0,\"skip\":{},\"error\":0}},\"suites\":[{}]}}",
        cfg.driver.name(),
        match cfg.model {
            simkernel::KernelModel::Series => "series",
            simkernel::KernelModel::PreSeries => "pre-series",
        },
        cfg.seed,
        cfg.impair,
        t.fail == 0,
        t.pass,
        t.fail,
        t.xfail,
        t.skip,
        suites.join(",")
    )
}
