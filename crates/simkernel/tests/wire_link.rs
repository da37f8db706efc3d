//! The wire's timing: serialisation at the configured bandwidth plus latency, per
//! direction, independent of the other direction.
#![allow(clippy::unwrap_used)]

mod common;

use common::Shared;
use simkernel::drivers::nic::NicProfile;
use simkernel::drivers::wire::WireConfig;
use simkernel::{Duration, Kernel, KernelConfig, Skb};

#[test]
fn bandwidth_and_latency() {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("far").unwrap();
    let a = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    let b = k.nic_add(ns, "eth0", NicProfile::bnxt(), 2).unwrap();
    let cfg = WireConfig {
        latency: Duration::from_micros(50),
        bandwidth_bps: 1_000_000_000,
    };
    let w = k.wire_connect(a, b, cfg).unwrap();
    assert_eq!(
        k.wire_connect(a, b, cfg).unwrap_err().errno,
        uapi::errno::EBUSY
    );
    for d in [a, b] {
        k.link_set_up(d, true).unwrap();
    }
    k.advance(k.clock() + Duration::from_secs(2));
    let start = k.clock();
    let cap = Shared::default();
    k.capture_start(b, Box::new(cap.clone())).unwrap();
    // Ten 1000-byte frames at once: 1024 bytes on the wire each (with preamble, FCS, IFG)
    // = 8.192 µs at 1 Gbit/s; the last bit of frame i is out at (i+1)·8.192 µs.
    let mut frame = vec![0u8; 1000];
    frame[..6].copy_from_slice(&k.device(b).mac);
    frame[12] = 0x88;
    frame[13] = 0xb5; // local experimental EtherType: nobody handles it
    for _ in 0..10 {
        k.dev_queue_xmit(a, Skb::linear(frame.clone()));
    }
    k.run_until(start + Duration::from_millis(1), |_| false);
    k.capture_stop(b).unwrap();
    let bytes = cap.0.borrow().clone();
    let mut r = wire::PcapReader::new(&bytes[..]).unwrap();
    let mut ts = Vec::new();
    while let Some(rec) = r.next_packet().unwrap() {
        assert_eq!(rec.data, frame);
        ts.push(rec.ts_us - start.as_micros());
    }
    let want: Vec<u64> = (1..=10u64)
        .map(|i| (i * 8192).div_ceil(1000) + 50)
        .collect();
    assert_eq!(ts, want);
    // The other direction has its own transmitter: a frame from b now is not queued
    // behind a's ten.
    let t0 = k.clock();
    let cap = Shared::default();
    k.capture_start(a, Box::new(cap.clone())).unwrap();
    let before = k.wire_stats(w).unwrap().sent;
    for _ in 0..10 {
        k.dev_queue_xmit(a, Skb::linear(frame.clone()));
    }
    let mut back = frame.clone();
    back[..6].copy_from_slice(&k.device(a).mac);
    k.dev_queue_xmit(b, Skb::linear(back));
    k.run_until(t0 + Duration::from_millis(1), |_| false);
    k.capture_stop(a).unwrap();
    let bytes = cap.0.borrow().clone();
    let mut r = wire::PcapReader::new(&bytes[..]).unwrap();
    let mut rx_ts = None;
    while let Some(rec) = r.next_packet().unwrap() {
        if rec.data[..6] == k.device(a).mac {
            rx_ts = Some(rec.ts_us - t0.as_micros());
        }
    }
    assert_eq!(rx_ts, Some(9 + 50));
    assert_eq!(k.wire_stats(w).unwrap().sent, before + 11);
}

/// The wire remembers what its fault rules did, with a tcpdump-style summary of each frame.
#[test]
fn fault_rules_are_logged() {
    use simkernel::drivers::wire::{Loss, Verdict, WIRE_LOG_LEN};
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let ns = k.netns_add("far").unwrap();
    let a = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    let b = k.nic_add(ns, "eth0", NicProfile::bnxt(), 2).unwrap();
    let w = k.wire_connect(a, b, WireConfig::default()).unwrap();
    for d in [a, b] {
        k.link_set_up(d, true).unwrap();
    }
    k.advance(k.clock() + Duration::from_secs(2));
    k.wire_clear_rules(w);
    k.wire_add_rule(w, Box::new(Loss(1.0))).unwrap();
    let before = k.wire_stats(w).unwrap().dropped;
    let mut frame = vec![0u8; 100];
    frame[..6].copy_from_slice(&k.device(b).mac);
    frame[12] = 0x88;
    frame[13] = 0xb5;
    for _ in 0..WIRE_LOG_LEN + 3 {
        k.dev_queue_xmit(a, Skb::linear(frame.clone()));
    }
    assert_eq!(
        k.wire_stats(w).unwrap().dropped - before,
        WIRE_LOG_LEN as u64 + 3
    );
    let log = k.wire_log(w);
    assert_eq!(log.len(), WIRE_LOG_LEN);
    assert!(
        log.iter()
            .all(|e| e.verdict == Verdict::Drop && e.from == 0)
    );
    assert!(
        log[0].summary.contains("ethertype 0x88b5"),
        "{}",
        log[0].summary
    );
    assert_eq!(Verdict::Drop.to_string(), "dropped");
}
