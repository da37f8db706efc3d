//! The nkdevmem binary: bad input gets a message and a non-zero exit, never a panic.

use std::process::Command;

fn nkdevmem(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_nkdevmem"))
        .args(args)
        .output()
        .expect("run nkdevmem");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn bad_input() {
    for (args, msg) in [
        (&["selftest", "bogus"][..], "unknown suite 'bogus'"),
        (
            &["selftest", "--impair", "loss=2"][..],
            "probability must be within 0..1",
        ),
        (
            &["selftest", "--impair", "jitter=0.1"][..],
            "unknown --impair key 'jitter'",
        ),
        (
            &["selftest", "--driver", "e1000"][..],
            "unknown driver 'e1000'",
        ),
        (
            &["selftest", "--kernel", "6.18"][..],
            "unknown kernel '6.18'",
        ),
        (&["demo", "--driver", "x"][..], "unknown driver 'x'"),
    ] {
        let (code, _, err) = nkdevmem(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    let (code, _, err) = nkdevmem(&["selftest", "--seed", "x"]);
    assert_ne!(code, 0);
    assert!(err.contains("invalid value 'x'"));
}

#[test]
fn qlease_suite_and_demo() {
    let (code, out, _) = nkdevmem(&["selftest", "nk_qlease", "--driver", "gve"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("TAP version 13\n1..35\n"));
    assert!(out.ends_with("# Totals: pass:35 fail:0 xfail:0 xpass:0 skip:0 error:0\n"));
    let (code, out, _) = nkdevmem(&["selftest", "nk_qlease", "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"ok\":true"));
    let (code, out, _) = nkdevmem(&["demo"]);
    assert_eq!(code, 0);
    assert!(out.contains("Kernel error: 'Driver does not support netmem TX'"));
    assert!(out.contains("remote received 12 bytes: \"hello\\nworld\\n\""));
    let (_, out, _) = nkdevmem(&["--help"]);
    assert!(out.contains("selftest") && out.contains("demo"));
}

#[test]
fn no_arguments_runs_nk_devmem() {
    let (code, out, _) = nkdevmem(&[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("TAP version 13\n1..4\nok 1 nk_devmem.check_nk_rx\n"),
        "{out}"
    );
    assert!(
        out.ends_with("# Totals: pass:4 fail:0 xfail:0 xpass:0 skip:0 error:0\n"),
        "{out}"
    );
}
