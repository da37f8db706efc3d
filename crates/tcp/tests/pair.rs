//! End-to-end behaviour of two connections over the seeded link model.
#![allow(clippy::unwrap_used)]

mod util;

use tcp::{Config, Duration, Event, Instant, Payload, SharedBytes, State, Timer};
use util::{Link, Pair, Side, pattern};

fn bulk(seed: u64, link: Link, len: usize) -> (Pair, SharedBytes) {
    let data = pattern(len, seed);
    let mut pair = Pair::new(seed, link, Config::default(), Config::default());
    // Several application writes so chunk boundaries vary.
    for (i, start) in (0..len).step_by(100_000).enumerate() {
        let end = (start + 100_000 - i * 7).min(len);
        pair.client_app.to_send.push_back(data.slice(start..end));
        if end < (start + 100_000).min(len) {
            pair.client_app
                .to_send
                .push_back(data.slice(end..(start + 100_000).min(len)));
        }
    }
    pair.client_app.shutdown_when_done = true;
    pair.server_app.shutdown_when_done = true;
    (pair, data)
}

#[test]
fn handshake_data_and_orderly_close() {
    let mut pair = Pair::default_pair();
    pair.client_app
        .to_send
        .push_back(SharedBytes::from(b"ping".to_vec()));
    pair.server_app
        .to_send
        .push_back(SharedBytes::from(b"pong!".to_vec()));
    pair.client_app.shutdown_when_done = true;
    pair.server_app.shutdown_when_done = true;
    pair.drive_until(1000, |p| {
        p.client.state() == State::TimeWait && p.server.state() == State::Closed
    })
    .unwrap();
    assert_eq!(pair.server_app.received_bytes(), b"ping");
    assert_eq!(pair.client_app.received_bytes(), b"pong!");
    // TIME-WAIT started when the client acknowledged the server's FIN (its last segment).
    let entered_tw = pair
        .log
        .iter()
        .rev()
        .find(|s| s.from == Side::Client)
        .unwrap()
        .at;
    assert_eq!(
        pair.client.timer_deadline(Timer::TimeWait),
        Some(entered_tw + Duration::from_secs(60))
    );
    pair.drive();
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.time, entered_tw + Duration::from_secs(60));
    let ce = pair.events(Side::Client);
    assert_eq!(ce.first(), Some(&Event::Connected));
    assert!(ce.contains(&Event::Acked { bytes: 4 }));
    assert!(ce.contains(&Event::PeerFin));
    assert_eq!(ce.last(), Some(&Event::Closed));
    let se = pair.events(Side::Server);
    assert_eq!(se.first(), Some(&Event::Connected));
    assert_eq!(se.last(), Some(&Event::Closed));
    assert_eq!(
        pair.client.stats().retransmits + pair.server.stats().retransmits,
        0
    );
    // Window scaling was negotiated both ways with Linux's default shift.
    assert_eq!(pair.client.window_scales(), (7, 7));
}

#[test]
fn bulk_transfer_survives_loss_reorder_duplication() {
    const LEN: usize = 4 << 20;
    for seed in [1, 2, 3] {
        let link = Link {
            latency: Duration::from_millis(10),
            loss: 0.02,
            reorder: 0.01,
            duplicate: 0.01,
            corrupt: 0.002,
        };
        let (mut pair, data) = bulk(seed, link, LEN);
        pair.max_payload = 4 * 1460;
        pair.drive_bounded(2_000_000).unwrap();
        let got = pair.server_app.received_bytes();
        assert_eq!(got.len(), LEN, "seed {seed}");
        assert!(got == data.as_bytes(), "seed {seed}: payload differs");
        // Every received chunk is a slice of the one buffer the client queued: no copies.
        assert!(
            pair.server_app
                .received
                .iter()
                .all(|p| p.shares_buffer(&data))
        );
        // Acked events are increasing and end at the stream length.
        let acked: Vec<u64> = pair
            .events(Side::Client)
            .iter()
            .filter_map(|e| {
                if let Event::Acked { bytes } = e {
                    Some(*bytes)
                } else {
                    None
                }
            })
            .collect();
        assert!(acked.windows(2).all(|w| w[0] < w[1]), "seed {seed}");
        assert_eq!(acked.last(), Some(&(LEN as u64)));
        assert_eq!(pair.client.send_stream_acked(), LEN as u64);
        let st = pair.client.stats();
        assert!(
            st.retransmits > 0 && st.fast_retransmits > 0,
            "seed {seed}: {st:?}"
        );
        assert_eq!(pair.client.state(), State::Closed, "seed {seed}");
        assert_eq!(pair.server.state(), State::Closed, "seed {seed}");
    }
}

#[test]
fn retransmission_resends_the_same_references() {
    let data = pattern(20_000, 9);
    let mut pair = Pair::default_pair();
    pair.max_payload = 1460;
    pair.client_app.to_send.push_back(data.clone());
    let mut dropped = false;
    pair.rule = Some(Box::new(move |side, seg| {
        if side == Side::Client && seg.payload_len() > 0 && !dropped {
            dropped = true;
            return true;
        }
        false
    }));
    pair.drive();
    assert!(pair.server_app.received_bytes() == data.as_bytes());
    let segs = pair.data_segments(Side::Client);
    let first = segs[0];
    assert!(first.dropped);
    let again: Vec<_> = segs
        .iter()
        .skip(1)
        .filter(|s| s.seg.seq == first.seg.seq)
        .collect();
    assert_eq!(again.len(), 1);
    let (a, b) = (&first.seg.payload, &again[0].seg.payload);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        assert!(x.shares_buffer(&data) && y.shares_buffer(&data));
        assert_eq!((x.offset(), x.len()), (y.offset(), y.len()));
    }
    // The server saw 3 duplicate ACKs' worth of later segments: fast retransmit, no RTO.
    let st = pair.client.stats();
    assert_eq!((st.fast_retransmits, st.rto_count), (1, 0));
    assert!(st.dup_acks >= 3);
}

#[test]
fn syn_retransmission_backs_off_then_times_out() {
    let mut pair = Pair::default_pair();
    // Every SYN-ACK is lost: the client keeps retransmitting its SYN.
    pair.rule = Some(Box::new(|side, _| side == Side::Server));
    pair.drive();
    let syn_times: Vec<u64> = pair
        .log
        .iter()
        .filter(|s| s.from == Side::Client && s.seg.flags.syn)
        .map(|s| s.at.as_millis())
        .collect();
    // 1 s initial RTO doubling, six retries (tcp_syn_retries), started at t = 1 ms.
    assert_eq!(syn_times, vec![1, 1001, 3001, 7001, 15001, 31001, 63001]);
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.events(Side::Client), vec![Event::TimedOut]);
    assert_eq!(pair.time, Instant::from_millis(127_001));
    assert_eq!(pair.client.stats().rto_count, 6);
}

#[test]
fn data_rto_backoff_doubles_from_measured_rto() {
    let mut pair = Pair::default_pair();
    pair.drive();
    assert_eq!(pair.client.state(), State::Established);
    // Handshake RTT 10 ms → RTO clamps to the 200 ms minimum.
    assert_eq!(pair.client.rto(), Duration::from_millis(200));
    pair.rule = Some(Box::new(|side, _| side == Side::Client));
    let start = pair.time;
    pair.client.send(SharedBytes::from(vec![1u8; 100])).unwrap();
    pair.drive();
    let times: Vec<u64> = pair
        .data_segments(Side::Client)
        .iter()
        .map(|s| (s.at - start).as_millis() as u64)
        .take(6)
        .collect();
    assert_eq!(times, vec![0, 200, 600, 1400, 3000, 6200]);
    assert_eq!(pair.client.stats().rto_count, 15);
    assert_eq!(pair.client.state(), State::Closed);
    assert_eq!(pair.events(Side::Client).last(), Some(&Event::TimedOut));
}

#[test]
fn zero_window_persist_then_window_update() {
    let server_cfg = Config {
        recv_buffer: 8192,
        ..Config::default()
    };
    let mut pair = Pair::new(4, Link::perfect(5), Config::default(), server_cfg);
    pair.server_app.read = false;
    let data = pattern(50_000, 4);
    pair.client_app.to_send.push_back(data.clone());
    // Let the server's window fill and the client probe for a while.
    pair.drive_until(10_000, |p| p.client.stats().zero_window_probes >= 3)
        .unwrap();
    assert_eq!(pair.client.send_window(), 0);
    assert_eq!(pair.server.recv_queue_len(), 8192);
    assert!(pair.client.timer_deadline(Timer::Persist).is_some());
    assert_eq!(pair.client.state(), State::Established);
    // Probes carry no data and an old sequence number.
    let probes = pair
        .log
        .iter()
        .filter(|s| s.from == Side::Client && s.seg.payload_len() == 0)
        .count();
    assert!(probes >= 3);
    pair.server_app.read = true;
    pair.drive();
    assert!(pair.server_app.received_bytes() == data.as_bytes());
    assert_eq!(pair.client.send_stream_acked(), 50_000);
    assert_eq!(pair.client.stats().rto_count, 0);
}

#[test]
fn abort_sends_rst_and_peer_sees_reset() {
    let mut pair = Pair::default_pair();
    pair.drive();
    pair.client.abort();
    assert_eq!(pair.client.state(), State::Closed);
    pair.drive();
    let rst = pair.log.last().unwrap();
    assert!(rst.from == Side::Client && rst.seg.flags.rst);
    assert_eq!(pair.server.state(), State::Closed);
    assert_eq!(pair.events(Side::Server).last(), Some(&Event::Reset));
    assert_eq!(pair.events(Side::Client).last(), Some(&Event::Closed));
}

fn small_writes(nodelay: bool) -> Pair {
    let cfg = Config {
        nodelay,
        ..Config::default()
    };
    let mut pair = Pair::new(5, Link::perfect(5), cfg, Config::default());
    pair.drive();
    for i in 0..10u8 {
        pair.client.send(SharedBytes::from(vec![i])).unwrap();
        pair.transmit_now();
    }
    pair.drive();
    assert_eq!(
        pair.server_app.received_bytes(),
        (0..10).collect::<Vec<u8>>()
    );
    pair
}

#[test]
fn nagle_coalesces_small_writes() {
    let pair = small_writes(false);
    let sizes: Vec<usize> = pair
        .data_segments(Side::Client)
        .iter()
        .map(|s| s.seg.payload_len())
        .collect();
    // The first byte goes alone; the other nine wait for its ACK (delayed 40 ms) and leave as
    // one segment made of nine chunks.
    assert_eq!(sizes, vec![1, 9]);
    assert_eq!(pair.data_segments(Side::Client)[1].seg.payload.len(), 9);
}

#[test]
fn nodelay_sends_each_write() {
    let pair = small_writes(true);
    let sizes: Vec<usize> = pair
        .data_segments(Side::Client)
        .iter()
        .map(|s| s.seg.payload_len())
        .collect();
    assert_eq!(sizes, vec![1; 10]);
    assert!(
        pair.data_segments(Side::Client)
            .iter()
            .all(|s| s.seg.flags.psh)
    );
}

#[test]
fn gso_segments_are_mss_multiples() {
    let mut pair = Pair::default_pair();
    pair.max_payload = 3 * 1460 + 100;
    pair.client_app.to_send.push_back(pattern(100_000, 6));
    pair.drive();
    let sizes: Vec<usize> = pair
        .data_segments(Side::Client)
        .iter()
        .map(|s| s.seg.payload_len())
        .collect();
    assert_eq!(pair.server_app.received_bytes().len(), 100_000);
    assert!(sizes.iter().all(|&n| n <= 3 * 1460));
    assert_eq!(sizes[0], 3 * 1460);
    assert!(
        sizes.iter().take(sizes.len() - 1).all(|n| n % 1460 == 0),
        "{sizes:?}"
    );
}

#[test]
fn window_scaling_needs_both_sides() {
    let cfg = Config {
        window_scale: None,
        ..Config::default()
    };
    let mut pair = Pair::new(7, Link::perfect(5), Config::default(), cfg);
    pair.drive();
    assert_eq!(pair.client.window_scales(), (0, 0));
    assert_eq!(pair.server.window_scales(), (0, 0));
    // Without scaling the window tops out at 65535 even with a bigger buffer.
    pair.client_app.to_send.push_back(pattern(300_000, 7));
    pair.drive();
    assert_eq!(pair.server_app.received_bytes().len(), 300_000);
    assert!(pair.client.send_window() <= 65_535);
}

#[test]
fn simultaneous_close_goes_through_closing() {
    let mut pair = Pair::default_pair();
    pair.drive();
    pair.client.shutdown_write();
    pair.server.shutdown_write();
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::FinWait1, State::FinWait1)
    );
    pair.drive_until(100, |p| {
        p.client.state() == State::TimeWait && p.server.state() == State::TimeWait
    })
    .unwrap();
    pair.drive();
    assert_eq!(
        (pair.client.state(), pair.server.state()),
        (State::Closed, State::Closed)
    );
}

#[test]
fn same_seed_same_run() {
    let link = Link {
        latency: Duration::from_millis(3),
        loss: 0.05,
        reorder: 0.05,
        duplicate: 0.05,
        corrupt: 0.0,
    };
    let run = |seed| {
        let (mut pair, _) = bulk(seed, link.clone(), 200_000);
        pair.drive();
        pair.log
            .iter()
            .map(|s| {
                (
                    s.at,
                    s.from,
                    s.seg.seq,
                    s.seg.ack,
                    s.seg.payload_len(),
                    s.dropped,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}
