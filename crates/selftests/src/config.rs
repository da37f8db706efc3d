//! What one `nkdevmem selftest` run is: suites, NIC driver profile, kernel model, seed,
//! wire impairment, captures, output format. Parsing here is shared by the CLI and the
//! tests; every bad input is an error message, never a panic.

use std::fmt;
use std::path::PathBuf;

use simkernel::KernelModel;
use simkernel::drivers::nic::{GveQueueFormat, NicProfile};

/// A selftest suite (one python test file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suite {
    /// hw/devmem.py.
    Devmem,
    /// hw/nk_devmem.py.
    NkDevmem,
    /// hw/nk_netns.py.
    NkNetns,
    /// net/nk_qlease.py (and hw/nk_qlease.py's attribute checks).
    NkQlease,
    /// The devmem probe: `ncdevmem -f NETIF`.
    Probe,
}

impl Suite {
    /// Every suite, in the order `all` runs them.
    pub const ALL: [Suite; 5] = [
        Suite::Probe,
        Suite::Devmem,
        Suite::NkDevmem,
        Suite::NkNetns,
        Suite::NkQlease,
    ];

    /// `KSFT_MAIN_NAME`: the file name without `.py`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Devmem => "devmem",
            Suite::NkDevmem => "nk_devmem",
            Suite::NkNetns => "nk_netns",
            Suite::NkQlease => "nk_qlease",
            Suite::Probe => "probe",
        }
    }

    /// Parses a suite name (`nk_devmem`, also `nk-devmem`); `all` is handled by the caller.
    pub fn parse(s: &str) -> Result<Suite, String> {
        let norm = s.replace('-', "_");
        Suite::ALL
            .into_iter()
            .find(|x| x.name() == norm)
            .ok_or_else(|| {
                format!(
                    "unknown suite '{s}' (expected one of: all, {})",
                    Suite::ALL.map(Suite::name).join(", ")
                )
            })
    }
}

/// The NIC driver profile of the local host's NIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// Broadcom bnxt.
    #[default]
    Bnxt,
    /// Google gve in DQO RDA format (the devmem-capable one).
    Gve,
    /// NVIDIA mlx5e.
    Mlx5e,
    /// Meta fbnic.
    Fbnic,
}

impl Driver {
    /// Every profile.
    pub const ALL: [Driver; 4] = [Driver::Bnxt, Driver::Gve, Driver::Mlx5e, Driver::Fbnic];

    /// Parses `bnxt|gve|mlx5e|fbnic`.
    pub fn parse(s: &str) -> Result<Driver, String> {
        Driver::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| format!("unknown driver '{s}' (expected bnxt, gve, mlx5e or fbnic)"))
    }

    /// The driver's name.
    pub fn name(self) -> &'static str {
        match self {
            Driver::Bnxt => "bnxt",
            Driver::Gve => "gve",
            Driver::Mlx5e => "mlx5e",
            Driver::Fbnic => "fbnic",
        }
    }

    /// The emulated NIC's capabilities.
    pub fn profile(self) -> NicProfile {
        match self {
            Driver::Bnxt => NicProfile::bnxt(),
            Driver::Gve => NicProfile::gve(GveQueueFormat::DqoRda),
            Driver::Mlx5e => NicProfile::mlx5e(),
            Driver::Fbnic => NicProfile::fbnic(),
        }
    }
}

/// Parses `series|pre-series`.
pub fn parse_kernel(s: &str) -> Result<KernelModel, String> {
    match s {
        "series" => Ok(KernelModel::Series),
        "pre-series" | "preseries" => Ok(KernelModel::PreSeries),
        _ => Err(format!(
            "unknown kernel '{s}' (expected series or pre-series)"
        )),
    }
}

/// Wire impairment probabilities, each in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impair {
    pub loss: f64,
    pub reorder: f64,
    pub dup: f64,
    pub corrupt: f64,
}

impl Impair {
    /// Whether any impairment is set.
    pub fn any(&self) -> bool {
        self.loss > 0.0 || self.reorder > 0.0 || self.dup > 0.0 || self.corrupt > 0.0
    }

    /// Parses `loss=P,reorder=P,dup=P,corrupt=P` (any subset, any order).
    pub fn parse(s: &str) -> Result<Impair, String> {
        let mut imp = Impair::default();
        if s.trim().is_empty() {
            return Err("empty --impair (expected e.g. loss=0.02,reorder=0.01)".into());
        }
        for part in s.split(',') {
            let Some((k, v)) = part.split_once('=') else {
                return Err(format!("malformed --impair item '{part}' (expected KEY=P)"));
            };
            let p: f64 = v.trim().parse().map_err(|_| {
                format!("malformed --impair value '{v}' for {k} (expected a number)")
            })?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("--impair {k}={v}: probability must be within 0..1"));
            }
            match k.trim() {
                "loss" => imp.loss = p,
                "reorder" => imp.reorder = p,
                "dup" => imp.dup = p,
                "corrupt" => imp.corrupt = p,
                other => {
                    return Err(format!(
                        "unknown --impair key '{other}' (expected loss, reorder, dup, corrupt)"
                    ));
                }
            }
        }
        Ok(imp)
    }
}

impl fmt::Display for Impair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "loss={},reorder={},dup={},corrupt={}",
            self.loss, self.reorder, self.dup, self.corrupt
        )
    }
}

/// One run's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Suites, in order.
    pub suites: Vec<Suite>,
    /// Local NIC profile.
    pub driver: Driver,
    /// Kernel model.
    pub model: KernelModel,
    /// RNG seed (wire faults, ISNs, ports).
    pub seed: u64,
    /// Wire impairment.
    pub impair: Impair,
    /// Directory for per-device pcap files.
    pub pcap: Option<PathBuf>,
    /// Machine-readable output.
    pub json: bool,
    /// Kernel: `DISRUPTIVE` (true unless turned off).
    pub disruptive: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            suites: vec![Suite::NkDevmem],
            driver: Driver::default(),
            model: KernelModel::Series,
            seed: 1,
            impair: Impair::default(),
            pcap: None,
            json: false,
            disruptive: true,
        }
    }
}

/// Parses suite names (`all` expands to every suite); no names = `nk_devmem`.
pub fn parse_suites(names: &[String]) -> Result<Vec<Suite>, String> {
    if names.is_empty() {
        return Ok(vec![Suite::NkDevmem]);
    }
    let mut v = Vec::new();
    for n in names {
        if n == "all" {
            v.extend(Suite::ALL);
        } else {
            v.push(Suite::parse(n)?);
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impair_parsing() {
        let i = Impair::parse("loss=0.02,reorder=0.01,dup=0.01").unwrap();
        assert_eq!(
            (i.loss, i.reorder, i.dup, i.corrupt),
            (0.02, 0.01, 0.01, 0.0)
        );
        assert!(i.any());
        for bad in ["", "loss", "loss=x", "loss=2", "jitter=0.1", "loss=0.1,,"] {
            assert!(Impair::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Impair::parse("loss=1").unwrap().loss, 1.0);
    }

    #[test]
    fn names() {
        assert_eq!(parse_suites(&[]).unwrap(), vec![Suite::NkDevmem]);
        assert_eq!(parse_suites(&["all".into()]).unwrap().len(), 5);
        assert_eq!(Suite::parse("nk-qlease"), Ok(Suite::NkQlease));
        assert!(
            Suite::parse("nope")
                .unwrap_err()
                .contains("unknown suite 'nope'")
        );
        assert_eq!(Driver::parse("gve"), Ok(Driver::Gve));
        assert!(Driver::parse("e1000").is_err());
        assert_eq!(parse_kernel("pre-series"), Ok(KernelModel::PreSeries));
        assert!(parse_kernel("6.18").is_err());
    }
}
