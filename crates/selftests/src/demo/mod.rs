//! `nkdevmem demo`: the cover letter's story, told by real processes on the emulated
//! data path (kernel-spec §0, §2.5, §3.2, §4.4; selftests-spec §2).
//!
//! Every act builds the nk_devmem topology afresh ([`lab`]): a DMA NIC `eth0` in the
//! host wired to a remote host, a netkit pair whose guest lives in a container netns
//! and leases eth0's last RX queue, `nk_forward` on eth0's ingress and
//! `nk_primary_rx_redirect` on nk_host's ingress. The remote runs `socat -U -
//! TCP6-LISTEN`, the container runs ncdevmem's TX client as nk_devmem.py does.
//!
//! 1. Before the series: ncdevmem's bind-tx on nk_guest fails (EOPNOTSUPP, "Driver
//!    does not support netmem TX"); a binding made on eth0 by a host process does not
//!    help: the container's `sendmsg` fails the route check (ENODEV), and netkit
//!    (`netmem_tx` none) would drop the unreadable skb anyway (a kernel probe).
//! 2. With the series: bind-tx on nk_guest binds eth0 (dev) with nk_guest as vdev; the
//!    remote receives the bytes, IOMMU faults stay at 0.
//! 3. What validation prevents: a tc program on nk_host sends the container's
//!    payload segments to a second NIC eth1 with no binding. Validation on: eth1 drops
//!    them (`tx_dropped`), no fault. Validation off: eth1's DMA engine faults on every
//!    one. Either way remote eth1 receives nothing.

pub mod acts;
pub mod counters;
pub mod lab;
pub mod misdirect;
pub mod sender;

use std::fmt::Write as _;

pub use acts::{Act, Misdirected, PreSeries, Series};
pub use counters::DevRow;

use crate::config::Driver;

/// What the demo observed (tests check these; the text is for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// The printed story.
    pub text: String,
    /// The acts in order: pre-series, series, validation on, validation off.
    pub acts: Vec<Act>,
    /// Act 1.
    pub pre: PreSeries,
    /// Act 2.
    pub series: Series,
    /// Act 3, validation on.
    pub validated: Misdirected,
    /// Act 3, validation off.
    pub unvalidated: Misdirected,
}

impl DemoReport {
    /// Whether the story unfolded as the cover letter tells it: each act's outcome, no
    /// IOMMU fault except with validation off, drops where validation must drop.
    pub fn check(&self) -> Result<(), String> {
        let row = |a: usize, d: &str| {
            self.acts
                .get(a)
                .and_then(|x| x.row(d))
                .ok_or_else(|| format!("act {a}: no row {d}"))
        };
        let faults = |a: usize| -> u64 { self.acts[a].rows.iter().map(|r| r.iommu_faults).sum() };
        let mut bad = Vec::new();
        let mut want = |ok: bool, what: &str| {
            if !ok {
                bad.push(what.to_string());
            }
        };
        want(
            self.pre.ncdevmem.status == 1
                && self
                    .pre
                    .ncdevmem
                    .stderr
                    .contains("'Driver does not support netmem TX'"),
            "pre-series bind-tx on nk_guest refused",
        );
        want(
            self.pre.sender.sendmsg == Some(Err(uapi::errno::ENODEV)),
            "pre-series route check refuses the eth0 binding (ENODEV)",
        );
        want(
            row(0, "nk_guest")?.tx_dropped == 1 && self.pre.remote.is_empty(),
            "pre-series netkit drops the unreadable skb",
        );
        want(
            self.series.ncdevmem.status == 0 && self.series.remote == acts::PAYLOAD,
            "series: the remote receives the bytes",
        );
        want(
            self.series.binding == ("eth0".into(), "nk_guest".into()),
            "series: binding->dev eth0, vdev nk_guest",
        );
        want(
            faults(0) + faults(1) + faults(2) == 0,
            "no IOMMU fault with validation on",
        );
        let (on, off) = (row(2, "eth1")?, row(3, "eth1")?);
        want(
            on.tx_dropped > 0 && self.validated.remote_eth1_rx == 0,
            "validation on: eth1 drops",
        );
        want(
            off.iommu_faults > 0 && off.tx_dropped == 0 && self.unvalidated.remote_eth1_rx == 0,
            "validation off: eth1 faults",
        );
        if bad.is_empty() {
            Ok(())
        } else {
            Err(format!("the story did not hold: {}", bad.join("; ")))
        }
    }
}

fn render(driver: Driver, acts: &[Act]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "devmem TCP through netkit, on the emulated kernel (eth0 driver: {}, seed {})",
        driver.name(),
        lab::SEED
    );
    let _ = writeln!(
        out,
        "topology (nk_devmem.py): remote eth0 <=wire=> eth0 [tc ingress: nk_forward]\n\
         \x20                        nk_host [tc ingress: nk_primary_rx_redirect] <=netkit=> \
         nk_guest (container netns)"
    );
    for (i, a) in acts.iter().enumerate() {
        let n = if i < 2 {
            format!("{}", i + 1)
        } else {
            format!("3{}", if i == 2 { 'a' } else { 'b' })
        };
        let _ = writeln!(out, "\nAct {n}: {}", a.title);
        for l in &a.lines {
            let _ = writeln!(out, "  {l}");
        }
        let _ = writeln!(out, "  counters:");
        counters::render(&mut out, &a.rows, 4);
        let _ = writeln!(
            out,
            "  live devmem bindings after the act: {}",
            a.live_bindings_after
        );
    }
    out
}

/// Runs every act with `driver` as the host NICs' profile.
pub fn run(driver: Driver) -> Result<DemoReport, String> {
    let (a1, pre) = acts::pre_series(driver)?;
    let (a2, series) = acts::series(driver)?;
    let (a3, validated) = acts::misdirected(driver, true)?;
    let (a4, unvalidated) = acts::misdirected(driver, false)?;
    let acts = vec![a1, a2, a3, a4];
    Ok(DemoReport {
        text: render(driver, &acts),
        acts,
        pre,
        series,
        validated,
        unvalidated,
    })
}
