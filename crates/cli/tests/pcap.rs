//! `nkdevmem selftest nk_devmem --pcap DIR`: one capture per device the README lists
//! (host eth0, remote eth0, and the netkit pair), each non-empty, and Wireshark finds
//! no malformed packet in any of them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files `--pcap DIR` must produce for nk_devmem.
const EXPECTED: [&str; 4] = [
    "host-eth0.pcap",
    "remote-eth0.pcap",
    "host-nk_host.pcap",
    "container-nk_guest.pcap",
];

/// pcap global header (24 bytes) + one record header (16 bytes).
const ONE_RECORD: u64 = 24 + 16;

/// (exit ok, stdout: one line per packet, non-empty when malformed, stderr).
fn tshark_malformed(f: &Path) -> Option<(bool, String, String)> {
    let o = Command::new("tshark")
        .args(["-r"])
        .arg(f)
        .args(["-T", "fields", "-e", "_ws.malformed"])
        .output()
        .ok()?;
    Some((
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    ))
}

#[test]
fn nk_devmem_pcap_files_decode_cleanly() {
    let dir: PathBuf = std::env::temp_dir().join(format!("nkdevmem-pcap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let o = Command::new(env!("CARGO_BIN_EXE_nkdevmem"))
        .args(["selftest", "nk_devmem", "--pcap"])
        .arg(&dir)
        .output()
        .expect("run nkdevmem");
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(out.contains("# Totals: pass:4 fail:0"), "{out}");
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .expect("pcap dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut want: Vec<String> = EXPECTED.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(found, want);
    let have_tshark = Command::new("tshark").arg("--version").output().is_ok();
    if !have_tshark {
        println!("skipping the tshark check: tshark is not installed");
    }
    for name in EXPECTED {
        let f = dir.join(name);
        let len = std::fs::metadata(&f).expect("pcap file").len();
        assert!(len > ONE_RECORD, "{name}: {len} bytes, no packets");
        if !have_tshark {
            continue;
        }
        let (ok, text, err) = tshark_malformed(&f).expect("tshark runs");
        assert!(ok, "{name}: tshark failed: {err}");
        let malformed: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            malformed.is_empty(),
            "{name}: malformed packets: {malformed:?}"
        );
        // Every record decoded: tshark printed one (empty) line per packet.
        assert!(text.lines().count() > 0, "{name}: tshark saw no packets");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
