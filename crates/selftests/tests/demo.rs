//! `nkdevmem demo`: every act's numbers for every driver profile, and the printed
//! report's structure against a snapshot (counter values masked; they are asserted
//! here one by one).
#![allow(clippy::unwrap_used)]

use selftests::config::Driver;
use selftests::demo::{self, DevRow};

fn row<'a>(rows: &'a [DevRow], name: &str) -> &'a DevRow {
    rows.iter().find(|r| r.name == name).unwrap()
}

fn no_faults(rows: &[DevRow]) {
    for r in rows {
        assert_eq!(r.iommu_faults, 0, "{}", r.name);
    }
}

#[test]
fn every_act_for_every_driver() {
    for d in Driver::ALL {
        let r = demo::run(d).unwrap();
        let name = d.name();
        r.check().unwrap();
        assert_eq!(r.acts.len(), 4);

        // Act 1: pre-series.
        let a = &r.acts[0];
        assert_eq!(r.pre.ncdevmem.status, 1, "{name}");
        let err = &r.pre.ncdevmem.stderr;
        assert!(
            err.contains("netdev_bind_tx: Operation not supported"),
            "{err}"
        );
        assert!(
            err.contains("Kernel error: 'Driver does not support netmem TX'"),
            "{err}"
        );
        assert!(
            !err.contains("Connect to"),
            "failed before connecting: {err}"
        );
        assert_eq!(r.pre.sender.connect, Ok(()));
        assert_eq!(r.pre.sender.sendmsg, Some(Err(uapi::errno::ENODEV)));
        assert_eq!(r.pre.probe, "Dropped(Unreadable)");
        assert_eq!(r.pre.remote, "");
        assert_eq!(row(&a.rows, "nk_guest").tx_dropped, 1);
        assert_eq!(row(&a.rows, "eth0").tx_dropped, 0);
        assert_eq!(row(&a.rows, "eth0").bindings, 1, "the host's binding");
        assert_eq!(row(&a.rows, "nk_guest").bindings, 0);
        no_faults(&a.rows);
        assert_eq!(a.live_bindings_after, 0, "released with its netlink socket");

        // Act 2: series.
        let a = &r.acts[1];
        assert_eq!(r.series.ncdevmem.status, 0, "{}", r.series.ncdevmem.stderr);
        assert!(r.series.ncdevmem.stderr.contains("got tx dmabuf id=1"));
        assert!(r.series.ncdevmem.stderr.ends_with("ncdevmem: tx ok\n"));
        assert_eq!(r.series.remote, "hello\nworld\n");
        assert_eq!(r.series.binding, ("eth0".into(), "nk_guest".into()));
        for dev in ["eth0", "nk_host", "nk_guest", "remote eth0"] {
            assert_eq!(row(&a.rows, dev).tx_dropped, 0, "{name} {dev}");
        }
        assert_eq!(row(&a.rows, "eth0").bindings, 1);
        // Handshake, two data segments and the FIN at least left eth0 for the wire.
        assert!(row(&a.rows, "eth0").tx_packets >= 4);
        assert_eq!(
            row(&a.rows, "eth0").tx_packets,
            row(&a.rows, "remote eth0").rx_packets,
            "every frame eth0 sent arrived"
        );
        no_faults(&a.rows);
        assert_eq!(a.live_bindings_after, 0);

        // Act 3: the payload segments misdirected to eth1.
        for (i, m) in [(2, &r.validated), (3, &r.unvalidated)] {
            let a = &r.acts[i];
            assert_eq!(m.validation, i == 2);
            assert_eq!(m.ncdevmem.status, 1);
            assert!(
                m.ncdevmem
                    .stderr
                    .ends_with("ncdevmem: did not receive tx completion\n")
            );
            assert_eq!(m.remote_eth1_rx, 0, "{name}: nothing reached the remote");
            let eth1 = row(&a.rows, "eth1");
            // "hello\n" and one retransmission within ncdevmem's 500 ms wait.
            if m.validation {
                assert_eq!((eth1.tx_dropped, eth1.iommu_faults), (2, 0), "{name}");
            } else {
                assert_eq!((eth1.tx_dropped, eth1.iommu_faults), (0, 2), "{name}");
            }
            assert_eq!(eth1.bindings, 0);
            assert_eq!(row(&a.rows, "eth0").iommu_faults, 0);
            assert_eq!(row(&a.rows, "eth0").bindings, 1);
            assert_eq!(a.live_bindings_after, 1, "the retransmit queue holds it");
        }
        assert_eq!(
            row(&r.acts[2].rows, "eth1").tx_packets,
            row(&r.acts[3].rows, "eth1").tx_packets,
            "faulted frames are not transmitted"
        );
    }
}

/// The report with the counter tables' numbers masked.
fn structure(text: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for l in text.lines() {
        if l.trim_start().starts_with("device ") {
            in_table = true;
        } else if !l.starts_with("    ") {
            in_table = false;
        }
        let l = if in_table {
            // Keep the indent and the device name; mask the counters.
            l.char_indices()
                .map(|(i, c)| {
                    if i >= 16 && c.is_ascii_digit() {
                        '#'
                    } else {
                        c
                    }
                })
                .collect()
        } else {
            l.to_string()
        };
        out.push_str(&l);
        out.push('\n');
    }
    out
}

#[test]
fn report_structure_snapshot() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/demo_bnxt.txt");
    let got = structure(&demo::run(Driver::Bnxt).unwrap().text);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap();
    assert_eq!(got, want, "UPDATE_SNAPSHOTS=1 rewrites {path}");
    // Same structure whatever the driver.
    for d in Driver::ALL {
        let other = structure(&demo::run(d).unwrap().text).replace(d.name(), "bnxt");
        assert_eq!(other, want, "{}", d.name());
    }
}
