//! The real-Linux `ncdevmem` binary: argument errors before any kernel access.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ncdevmem"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn missing_interface_and_unknown_device() {
    let (code, err) = run(&["-l"]);
    assert_eq!(code, 1);
    assert_eq!(err, "ncdevmem: Missing -f argument\n");
    let (code, err) = run(&["-f", "no-such-dev0", "-s", "::1", "-p", "5201"]);
    assert_eq!(code, 1);
    assert!(err.contains("using ifindex=0"), "{err}");
    assert!(err.contains("ncdevmem: no such interface"), "{err}");
}

#[test]
fn bad_port_is_refused_on_lo() {
    let (code, err) = run(&["-f", "lo", "-s", "::1", "-p", "http", "-t", "0", "-q", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("ncdevmem: invalid port 'http'"), "{err}");
}
