//! `nkdevmem selftest [SUITE...] [--driver D] [--kernel K] [--seed N] [--impair SPEC]
//! [--pcap DIR] [--json]`: exits 0 iff nothing failed.

use std::path::PathBuf;
use std::process::ExitCode;

use selftests::config::{Driver, Impair, RunConfig, parse_kernel, parse_suites};
use selftests::ktap::KtapOut;
use selftests::runner;

/// Selftest options.
#[derive(Debug, Default, clap::Args)]
pub struct Args {
    /// Suites to run: devmem, nk_devmem, nk_netns, nk_qlease, probe, or all
    /// (default: nk_devmem).
    pub suites: Vec<String>,
    /// NIC driver profile of the local host: bnxt, gve, mlx5e, fbnic.
    #[arg(long, default_value = "bnxt")]
    pub driver: String,
    /// Kernel model: series (with "net: devmem: support devmem with netkit devices")
    /// or pre-series.
    #[arg(long, default_value = "series")]
    pub kernel: String,
    /// Seed of the emulator's RNG (wire faults, ISNs, ports).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Wire impairment, e.g. loss=0.02,reorder=0.01,dup=0.01,corrupt=0.001.
    #[arg(long)]
    pub impair: Option<String>,
    /// Write a pcap per device into DIR.
    #[arg(long, value_name = "DIR")]
    pub pcap: Option<PathBuf>,
    /// Print a JSON summary instead of KTAP.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// What `nkdevmem selftest` with no options means (clap's defaults).
    pub fn defaults() -> Self {
        Args {
            driver: "bnxt".into(),
            kernel: "series".into(),
            seed: 1,
            ..Args::default()
        }
    }
}

fn config(a: Args) -> Result<RunConfig, String> {
    Ok(RunConfig {
        suites: parse_suites(&a.suites)?,
        driver: Driver::parse(&a.driver)?,
        model: parse_kernel(&a.kernel)?,
        seed: a.seed,
        impair: match a.impair.as_deref() {
            Some(s) => Impair::parse(s)?,
            None => Impair::default(),
        },
        pcap: a.pcap,
        json: a.json,
        disruptive: std::env::var("DISRUPTIVE").map_or(true, |v| v != "False"),
    })
}

/// Runs the suites; exit 0 iff no case failed, 2 for bad arguments.
pub fn run(a: Args) -> ExitCode {
    let cfg = match config(a) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("nkdevmem selftest: {e}");
            return ExitCode::from(2);
        }
    };
    let reports = if cfg.json {
        let sink = KtapOut::new(std::io::sink());
        let r = runner::run(&cfg, &sink);
        println!("{}", runner::to_json(&cfg, &r));
        r
    } else {
        runner::run(&cfg, &KtapOut::stdout())
    };
    if reports.iter().all(runner::SuiteReport::ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
