//! The nk_qlease suite, with every NIC driver profile: all cases pass.

use selftests::config::{Driver, RunConfig, Suite};
use selftests::ktap::{KtapOut, SharedBuf};
use selftests::runner::run;

#[test]
fn nk_qlease_passes_with_every_driver() {
    for driver in Driver::ALL {
        let cfg = RunConfig {
            suites: vec![Suite::NkQlease],
            driver,
            ..RunConfig::default()
        };
        let buf = SharedBuf::default();
        let reports = run(&cfg, &KtapOut::new(buf.clone()));
        let text = buf.text();
        assert_eq!(reports.len(), 1);
        let t = reports[0].totals;
        assert_eq!(
            (t.fail, t.skip, t.xfail),
            (0, 0, 0),
            "{}:\n{text}",
            driver.name()
        );
        assert_eq!(t.pass as usize, reports[0].cases.len());
        assert!(text.starts_with("TAP version 13\n1..35\nok 1 nk_qlease.test_remove_phys\n"));
        assert!(text.ends_with(&format!(
            "# Totals: pass:{} fail:0 xfail:0 xpass:0 skip:0 error:0\n",
            t.pass
        )));
    }
}

#[test]
fn several_suites_are_wrapped_like_run_kselftest() {
    let cfg = RunConfig {
        suites: vec![Suite::NkQlease, Suite::NkDevmem],
        ..RunConfig::default()
    };
    let buf = SharedBuf::default();
    let reports = run(&cfg, &KtapOut::new(buf.clone()));
    let text = buf.text();
    assert_eq!(reports.len(), 2);
    assert!(text.starts_with(
        "TAP version 13\n1..2\n# selftests: drivers/net/hw: nk_qlease.py\n# TAP version 13\n# 1..35\n"
    ));
    assert!(text.contains("\nok 1 selftests: drivers/net/hw: nk_qlease.py\n"));
    let json = selftests::runner::to_json(&cfg, &reports);
    assert!(json.contains("\"suite\":\"nk_qlease\",\"pass\":35,\"fail\":0"));
}
