//! `nkdevmem bench tx`: the report's last line has the exact shape.

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

/// Without the baseline the figure is still printed, the baseline and ratio are nan and
/// the exit status says the comparison did not happen.
#[test]
fn bench_tx_last_line_without_baseline() {
    let (code, out, err) = nkdevmem(&["bench", "tx", "--bytes", "2097152", "--no-baseline"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("WALL-CLOCK"), "{out}");
    assert!(out.contains("2097152 bytes read by the remote"), "{out}");
    let last = out.lines().last().expect("a last line");
    let f: Vec<&str> = last.split(' ').collect();
    assert_eq!(f.len(), 3, "{last}");
    let gbps = f[0].strip_prefix("devmem_tx_gbps=").expect(last);
    assert!(gbps.parse::<f64>().expect(last) > 0.0, "{last}");
    assert_eq!(gbps.split('.').nth(1).map(str::len), Some(2), "{last}");
    assert_eq!(&f[1..], ["linux_veth_gbps=nan", "ratio=nan"]);
}

#[test]
fn bench_tx_bad_input() {
    for (args, msg) in [
        (&["bench", "tx", "--driver", "e1000"][..], "e1000"),
        (&["bench", "tx", "--bytes", "lots"][..], "--bytes"),
        (
            &[
                "bench",
                "tx",
                "--mtu",
                "20",
                "--bytes",
                "4096",
                "--no-baseline",
            ][..],
            "mtu 20",
        ),
    ] {
        let (code, _, err) = nkdevmem(args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// With the baseline (root and iproute2, as in CI): alternating runs, the medians on the
/// last line, ratio = devmem / veth.
#[test]
fn bench_tx_medians_with_baseline() {
    let (code, out, err) = nkdevmem(&["bench", "tx", "--bytes", "4194304", "--runs", "2"]);
    if out.contains("baseline could not run") {
        println!("skipping: {out}");
        return;
    }
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.matches("emulated: 4194304 bytes read").count(),
        2,
        "{out}"
    );
    assert_eq!(
        out.matches("linux veth: the kernel's TCP").count(),
        2,
        "{out}"
    );
    assert!(out.contains("# medians of 2 alternating runs"), "{out}");
    let last = out.lines().last().expect("a last line");
    let v: Vec<f64> = last
        .split(' ')
        .map(|kv| kv.split_once('=').expect(last).1.parse().expect(last))
        .collect();
    assert_eq!(v.len(), 3, "{last}");
    assert!(v[0] > 0.0 && v[1] > 0.0, "{last}");
    assert!((v[2] - v[0] / v[1]).abs() < 0.02, "{last}");
}
