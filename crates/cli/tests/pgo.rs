//! `pgo/rustc-wrapper`, which cargo runs instead of rustc (`.cargo/config.toml`): release
//! builds get the committed profile, everything else the arguments it was given. Run here with
//! `echo` standing in for rustc, so the test sees the command line the wrapper would run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The wrapper's stdout (echo's line) and exit status for `args` and `NKDEVMEM_PGO`.
fn wrap(args: &[&str], pgo: Option<&str>) -> (String, String, Option<i32>) {
    let mut c = Command::new(root().join("pgo/rustc-wrapper"));
    c.arg("echo").args(args).env_remove("NKDEVMEM_PGO");
    if let Some(v) = pgo {
        c.env("NKDEVMEM_PGO", v);
    }
    let o = c.output().expect("run pgo/rustc-wrapper");
    (
        String::from_utf8_lossy(&o.stdout).trim_end().to_string(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.code(),
    )
}

const RELEASE: &[&str] = &["--crate-name", "simkernel", "-C", "opt-level=3"];

#[test]
fn release_builds_use_the_committed_profile_by_absolute_path() {
    let (out, _, code) = wrap(RELEASE, None);
    assert_eq!(code, Some(0));
    let flag = out
        .split(' ')
        .find_map(|a| a.strip_prefix("-Cprofile-use="))
        .unwrap_or_else(|| panic!("no -Cprofile-use in {out}"));
    // Cargo runs rustc for registry crates in their own folder: a relative path would miss.
    assert!(flag.starts_with('/'), "{flag}");
    let committed = root().join("pgo/nkdevmem.profdata");
    assert_eq!(
        std::fs::canonicalize(flag).expect("profile exists"),
        std::fs::canonicalize(committed).expect("committed profile")
    );
}

#[test]
fn other_builds_pass_through_unchanged() {
    let debug = ["--crate-name", "simkernel", "-C", "debuginfo=2"];
    assert_eq!(
        wrap(&debug, None),
        (debug.join(" "), String::new(), Some(0))
    );
    assert_eq!(
        wrap(RELEASE, Some("off")),
        (RELEASE.join(" "), String::new(), Some(0))
    );
}

#[test]
fn generate_instruments_into_an_absolute_directory() {
    let (out, _, code) = wrap(RELEASE, Some("generate:/tmp/nk-pgo"));
    assert_eq!(code, Some(0));
    assert!(out.ends_with(" -Cprofile-generate=/tmp/nk-pgo"), "{out}");
    for bad in ["generate:relative/dir", "on", "generate"] {
        let (out, err, code) = wrap(RELEASE, Some(bad));
        assert_eq!(code, Some(2), "{bad}: {out}");
        assert!(err.contains("NKDEVMEM_PGO"), "{bad}: {err}");
    }
}

/// The committed file is an indexed LLVM profile (what `llvm-profdata merge` writes).
#[test]
fn committed_profile_is_indexed_profdata() {
    let p = std::fs::read(root().join("pgo/nkdevmem.profdata")).expect("committed profile");
    assert_eq!(p.get(..8), Some(&b"\xfflprofi\x81"[..]));
}
