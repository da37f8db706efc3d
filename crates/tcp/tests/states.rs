//! Per-state, per-event unit tests in smoltcp's `test_<state>_<event>` style: segments in,
//! segments out, checked field by field.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use tcp::{
    Config, Connection, Duration, Event, Flags, Instant, Payload, Rejected, Segment, SendError,
    SeqNumber, SharedBytes, State, TcpOptions, Timer,
};

const LOCAL_SEQ: u32 = 5000;
const REMOTE_SEQ: u32 = 1000;
const T0: Instant = Instant::from_millis(100);

fn local() -> SocketAddr {
    "192.0.2.1:80".parse().unwrap()
}

fn remote() -> SocketAddr {
    "192.0.2.2:49500".parse().unwrap()
}

type Conn = Connection<SharedBytes>;
type Seg = Segment<SharedBytes>;

/// A segment from the remote end.
fn recv(seq: u32, ack: Option<u32>, flags: Flags, data: &[u8]) -> Seg {
    let mut s = Segment::new(remote().port(), local().port(), SeqNumber(seq));
    s.ack = ack.map(SeqNumber);
    s.flags = flags;
    s.window = 2048;
    if !data.is_empty() {
        s.payload.push(SharedBytes::from(data.to_vec()));
    }
    s
}

fn ack_seg(seq: u32, ack: u32) -> Seg {
    recv(seq, Some(ack), Flags::default(), b"")
}

const SYN: Flags = Flags {
    syn: true,
    fin: false,
    rst: false,
    psh: false,
};
const FIN: Flags = Flags {
    syn: false,
    fin: true,
    rst: false,
    psh: false,
};
const RST: Flags = Flags {
    syn: false,
    fin: false,
    rst: true,
    psh: false,
};

fn syn_seg() -> Seg {
    let mut s = recv(REMOTE_SEQ, None, SYN, b"");
    s.window = 64240;
    s.options = TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        ..TcpOptions::default()
    };
    s
}

fn drain(c: &mut Conn, now: Instant) -> Vec<Seg> {
    std::iter::from_fn(|| c.poll_transmit(now, usize::MAX)).collect()
}

fn events(c: &mut Conn) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn bytes(p: &[SharedBytes]) -> Vec<u8> {
    p.iter().flat_map(|c| c.as_bytes().to_vec()).collect()
}

fn syn_received_with(config: Config) -> Conn {
    let mut c = Conn::accept(
        T0,
        config,
        local(),
        remote(),
        &syn_seg(),
        SeqNumber(LOCAL_SEQ),
    )
    .unwrap();
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    c
}

fn syn_received() -> Conn {
    syn_received_with(Config::default())
}

fn established_with(config: Config) -> Conn {
    let mut c = syn_received_with(config);
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 1));
    assert_eq!(c.state(), State::Established);
    assert_eq!(events(&mut c), vec![Event::Connected]);
    c
}

fn established() -> Conn {
    established_with(Config::default())
}

#[test]
fn test_listen_accept_rejects_non_syn() {
    let not_syn = ack_seg(REMOTE_SEQ, 1);
    assert_eq!(
        Conn::accept(
            T0,
            Config::default(),
            local(),
            remote(),
            &not_syn,
            SeqNumber(1)
        )
        .err(),
        Some(Rejected::NotSyn)
    );
    assert_eq!(
        Conn::accept(
            T0,
            Config::default(),
            remote(),
            local(),
            &syn_seg(),
            SeqNumber(1)
        )
        .err(),
        Some(Rejected::PortMismatch)
    );
}

#[test]
fn test_syn_received_sends_syn_ack() {
    let mut c = Conn::accept(
        T0,
        Config::default(),
        local(),
        remote(),
        &syn_seg(),
        SeqNumber(LOCAL_SEQ),
    )
    .unwrap();
    assert_eq!(c.state(), State::SynReceived);
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    let s = &out[0];
    assert_eq!((s.src_port, s.dst_port), (80, 49500));
    assert_eq!(s.seq, SeqNumber(LOCAL_SEQ));
    assert_eq!(s.ack, Some(SeqNumber(REMOTE_SEQ + 1)));
    assert_eq!(s.flags, SYN);
    assert_eq!(s.window, 65535);
    assert_eq!(s.options.mss, Some(1460));
    assert_eq!(s.options.window_scale, Some(7));
    assert!(!s.options.sack_permitted && s.options.timestamps.is_none());
    assert_eq!(
        c.timer_deadline(Timer::Retransmit),
        Some(T0 + Duration::from_secs(1))
    );
}

#[test]
fn test_syn_received_ack_too_high() {
    let mut c = syn_received();
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 2));
    assert_eq!(c.state(), State::SynReceived);
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].flags, RST);
    assert_eq!((out[0].seq, out[0].ack), (SeqNumber(LOCAL_SEQ + 2), None));
}

#[test]
fn test_syn_received_retransmitted_syn_resends_syn_ack() {
    let mut c = syn_received();
    c.handle_segment(T0, syn_seg());
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].flags, out[0].seq), (SYN, SeqNumber(LOCAL_SEQ)));
    assert_eq!(c.stats().retransmits, 1);
}

#[test]
fn test_syn_received_rst() {
    let mut c = syn_received();
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, None, RST, b""));
    assert_eq!(c.state(), State::Closed);
    assert_eq!(events(&mut c), vec![Event::Reset]);
    assert!(drain(&mut c, T0).is_empty());
}

#[test]
fn test_syn_received_synack_timeout_gives_up() {
    let mut c = syn_received();
    let mut now = T0;
    let mut sent = 0;
    while let Some(t) = c.poll_timeout() {
        now = t;
        c.handle_timeout(now);
        sent += drain(&mut c, now).len();
    }
    // tcp_synack_retries = 5 retransmissions: 1+2+4+8+16 s, then 32 s until giving up.
    assert_eq!(sent, 5);
    assert_eq!(now, T0 + Duration::from_secs(63));
    assert_eq!(events(&mut c), vec![Event::TimedOut]);
}

#[test]
fn test_syn_sent_syn_ack() {
    let mut c = Conn::connect(
        T0,
        Config::default(),
        local(),
        remote(),
        SeqNumber(LOCAL_SEQ),
    );
    assert_eq!(c.state(), State::SynSent);
    let out = drain(&mut c, T0);
    assert_eq!((out.len(), out[0].flags, out[0].ack), (1, SYN, None));
    let mut synack = recv(REMOTE_SEQ, Some(LOCAL_SEQ + 1), SYN, b"");
    synack.options.mss = Some(1200);
    c.handle_segment(T0 + Duration::from_millis(30), synack);
    assert_eq!(c.state(), State::Established);
    // No window scale in the SYN-ACK: neither side scales; MSS follows the peer's option.
    assert_eq!(c.window_scales(), (0, 0));
    assert_eq!(c.send_mss(), 1200);
    assert_eq!(c.srtt(), Some(Duration::from_millis(30)));
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].ack, out[0].flags),
        (
            SeqNumber(LOCAL_SEQ + 1),
            Some(SeqNumber(REMOTE_SEQ + 1)),
            Flags::default()
        )
    );
    assert_eq!(out[0].window, 65535);
}

#[test]
fn test_syn_sent_bad_ack_gets_rst() {
    let mut c = Conn::connect(
        T0,
        Config::default(),
        local(),
        remote(),
        SeqNumber(LOCAL_SEQ),
    );
    drain(&mut c, T0);
    c.handle_segment(T0, recv(REMOTE_SEQ, Some(LOCAL_SEQ + 9), SYN, b""));
    assert_eq!(c.state(), State::SynSent);
    let out = drain(&mut c, T0);
    assert_eq!((out[0].flags, out[0].seq), (RST, SeqNumber(LOCAL_SEQ + 9)));
}

#[test]
fn test_syn_sent_rst() {
    let mut c = Conn::connect(
        T0,
        Config::default(),
        local(),
        remote(),
        SeqNumber(LOCAL_SEQ),
    );
    drain(&mut c, T0);
    // RST without ACK is not acceptable in SYN-SENT.
    c.handle_segment(T0, recv(0, None, RST, b""));
    assert_eq!(c.state(), State::SynSent);
    c.handle_segment(T0, recv(0, Some(LOCAL_SEQ + 1), RST, b""));
    assert_eq!(c.state(), State::Closed);
    assert_eq!(events(&mut c), vec![Event::Reset]);
}

#[test]
fn test_syn_sent_simultaneous_open() {
    let mut c = Conn::connect(
        T0,
        Config::default(),
        local(),
        remote(),
        SeqNumber(LOCAL_SEQ),
    );
    drain(&mut c, T0);
    c.handle_segment(T0, syn_seg());
    assert_eq!(c.state(), State::SynReceived);
    let out = drain(&mut c, T0);
    assert_eq!(
        (out[0].flags, out[0].seq, out[0].ack),
        (SYN, SeqNumber(LOCAL_SEQ), Some(SeqNumber(REMOTE_SEQ + 1)))
    );
    // The peer's SYN-ACK completes the open.
    c.handle_segment(T0, recv(REMOTE_SEQ, Some(LOCAL_SEQ + 1), SYN, b""));
    assert_eq!(c.state(), State::Established);
}

#[test]
fn test_established_rst_exact_resets() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, None, RST, b""));
    assert_eq!(c.state(), State::Closed);
    assert_eq!(events(&mut c), vec![Event::Reset]);
}

#[test]
fn test_established_rst_in_window_challenge_ack() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 100, None, RST, b""));
    assert_eq!(c.state(), State::Established);
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].ack, out[0].flags),
        (Some(SeqNumber(REMOTE_SEQ + 1)), Flags::default())
    );
    assert_eq!(c.stats().challenge_acks, 1);
}

#[test]
fn test_established_rst_out_of_window_ignored() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 10_000_000, None, RST, b""));
    assert_eq!(c.state(), State::Established);
    assert!(drain(&mut c, T0).is_empty());
}

#[test]
fn test_established_syn_challenge_ack() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 5, None, SYN, b""));
    assert_eq!(c.state(), State::Established);
    assert_eq!(drain(&mut c, T0).len(), 1);
    assert_eq!(c.stats().challenge_acks, 1);
}

#[test]
fn test_established_old_duplicate_is_acked() {
    let mut c = established();
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ - 100,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            b"old",
        ),
    );
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, Some(SeqNumber(REMOTE_SEQ + 1)));
    assert_eq!(c.recv_queue_len(), 0);
}

#[test]
fn test_established_ack_of_unsent_data() {
    let mut c = established();
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 500));
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].seq, SeqNumber(LOCAL_SEQ + 1));
    assert_eq!(c.send_stream_acked(), 0);
}

#[test]
fn test_established_fin() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 1), FIN, b"bye"));
    assert_eq!(c.state(), State::CloseWait);
    assert_eq!(events(&mut c), vec![Event::Readable, Event::PeerFin]);
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ack, Some(SeqNumber(REMOTE_SEQ + 5)));
    assert_eq!(c.recv(100).unwrap().as_bytes(), b"bye");
    assert!(c.recv_finished());
}

#[test]
fn test_established_out_of_order_then_fill() {
    let mut c = established();
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 6,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            b"world",
        ),
    );
    // Immediate duplicate ACK for the hole.
    let out = drain(&mut c, T0);
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 1)))
    );
    assert_eq!(c.recv_queue_len(), 0);
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 1,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            b"hello",
        ),
    );
    // Filling a hole is acknowledged at once.
    let out = drain(&mut c, T0);
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 11)))
    );
    let chunks: Vec<Vec<u8>> = std::iter::from_fn(|| c.recv(100))
        .map(|p| p.as_bytes().to_vec())
        .collect();
    assert_eq!(chunks, vec![b"hello".to_vec(), b"world".to_vec()]);
}

/// Full segments number `i` (0-based) of 1460 bytes from the peer.
fn full_seg(i: u32) -> Seg {
    recv(
        REMOTE_SEQ + 1 + 1460 * i,
        Some(LOCAL_SEQ + 1),
        Flags::default(),
        &[7u8; 1460],
    )
}

/// Linux's ACK timing (tcp_event_data_recv / __tcp_ack_snd_check): the first data enters
/// quick-ACK mode, 16 ACKs with the default 256 KiB buffer; after it, one full segment waits
/// for the delayed-ACK timer and more than one MSS is ACKed at once.
#[test]
fn test_established_delayed_ack() {
    let mut c = established();
    let mut i = 0;
    for _ in 0..16 {
        c.handle_segment(T0, full_seg(i));
        i += 1;
        let out = drain(&mut c, T0);
        assert_eq!(
            (out.len(), out[0].ack),
            (1, Some(SeqNumber(REMOTE_SEQ + 1 + 1460 * i))),
            "quick ACK {i}"
        );
        // The application keeps up, so the window stays open.
        while c.recv(usize::MAX).is_some() {}
    }
    c.handle_segment(T0, full_seg(i));
    i += 1;
    assert!(drain(&mut c, T0).is_empty());
    assert_eq!(c.poll_timeout(), Some(T0 + Duration::from_millis(40)));
    c.handle_timeout(T0 + Duration::from_millis(40));
    let out = drain(&mut c, T0 + Duration::from_millis(40));
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 1 + 1460 * i)))
    );
    // One full segment and one byte more: ACK at once.
    c.handle_segment(T0, full_seg(i));
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 1 + 1460 * (i + 1),
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            &[7u8],
        ),
    );
    let out = drain(&mut c, T0);
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 2 + 1460 * (i + 1))))
    );
}

/// __tcp_cleanup_rbuf: once quick-ACK mode is over, a short (end-of-write) segment is ACKed
/// when the application reads the queue empty, not when the delayed-ACK timer fires; a full
/// segment without PSH still waits for the timer.
#[test]
fn test_established_read_of_pushed_segment_acks() {
    let mut c = established();
    let mut i = 0;
    for _ in 0..16 {
        c.handle_segment(T0, full_seg(i));
        i += 1;
        drain(&mut c, T0);
        while c.recv(usize::MAX).is_some() {}
    }
    c.handle_segment(T0, full_seg(i));
    i += 1;
    while c.recv(usize::MAX).is_some() {}
    assert!(
        drain(&mut c, T0).is_empty(),
        "full segment read: still delayed"
    );
    c.handle_timeout(T0 + Duration::from_millis(40));
    drain(&mut c, T0 + Duration::from_millis(40));
    let psh = Flags {
        psh: true,
        ..Flags::default()
    };
    c.handle_segment(
        T0,
        recv(REMOTE_SEQ + 1 + 1460 * i, Some(LOCAL_SEQ + 1), psh, b"tail"),
    );
    assert!(drain(&mut c, T0).is_empty(), "delayed until read");
    assert_eq!(bytes(&[c.recv(2).expect("data")]), b"ta");
    assert!(drain(&mut c, T0).is_empty(), "data still queued");
    assert_eq!(bytes(&[c.recv(2).expect("data")]), b"il");
    let out = drain(&mut c, T0);
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 5 + 1460 * i)))
    );
}

#[test]
fn test_established_zero_window_drops_data_and_acks() {
    let mut c = established_with(Config {
        recv_buffer: 1000,
        window_scale: None,
        ..Config::default()
    });
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 1,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            &[1u8; 1000],
        ),
    );
    c.handle_timeout(T0 + Duration::from_millis(40));
    let out = drain(&mut c, T0 + Duration::from_millis(40));
    assert_eq!(
        (out[0].ack, out[0].window),
        (Some(SeqNumber(REMOTE_SEQ + 1001)), 0)
    );
    // More data into a zero window: not queued, answered with an ACK.
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 1001,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            b"x",
        ),
    );
    assert_eq!(c.recv_queue_len(), 1000);
    let out = drain(&mut c, T0);
    assert_eq!(
        (out.len(), out[0].ack, out[0].window),
        (1, Some(SeqNumber(REMOTE_SEQ + 1001)), 0)
    );
    // Reading reopens the window with an update.
    assert_eq!(c.recv(2000).unwrap().len(), 1000);
    let out = drain(&mut c, T0);
    assert_eq!((out.len(), out[0].window), (1, 1000));
}

#[test]
fn test_fin_wait_1_ack_then_fin_to_time_wait() {
    let mut c = established();
    c.shutdown_write();
    assert_eq!(c.state(), State::FinWait1);
    let out = drain(&mut c, T0);
    assert_eq!((out[0].flags, out[0].seq), (FIN, SeqNumber(LOCAL_SEQ + 1)));
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 2));
    assert_eq!(c.state(), State::FinWait2);
    assert_eq!(c.poll_timeout(), None);
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 2), FIN, b""));
    assert_eq!(c.state(), State::TimeWait);
    assert_eq!(c.poll_timeout(), Some(T0 + Duration::from_secs(60)));
    assert_eq!(drain(&mut c, T0)[0].ack, Some(SeqNumber(REMOTE_SEQ + 2)));
}

#[test]
fn test_fin_wait_1_fin_ack_together() {
    let mut c = established();
    c.shutdown_write();
    drain(&mut c, T0);
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 2), FIN, b""));
    assert_eq!(c.state(), State::TimeWait);
}

#[test]
fn test_fin_wait_1_fin_to_closing_then_time_wait() {
    let mut c = established();
    c.shutdown_write();
    drain(&mut c, T0);
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 1), FIN, b""));
    assert_eq!(c.state(), State::Closing);
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 2, LOCAL_SEQ + 2));
    assert_eq!(c.state(), State::TimeWait);
}

#[test]
fn test_last_ack_ack_closes() {
    let mut c = established();
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 1), FIN, b""));
    c.shutdown_write();
    assert_eq!(c.state(), State::LastAck);
    let out = drain(&mut c, T0);
    assert!(
        out.iter()
            .any(|s| s.flags.fin && s.seq == SeqNumber(LOCAL_SEQ + 1))
    );
    events(&mut c);
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 2, LOCAL_SEQ + 2));
    assert_eq!(c.state(), State::Closed);
    assert_eq!(events(&mut c), vec![Event::Closed]);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn test_time_wait_retransmitted_fin_restarts_timer() {
    let mut c = established();
    c.shutdown_write();
    drain(&mut c, T0);
    c.handle_segment(T0, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 2), FIN, b""));
    drain(&mut c, T0);
    let later = T0 + Duration::from_secs(10);
    c.handle_segment(later, recv(REMOTE_SEQ + 1, Some(LOCAL_SEQ + 2), FIN, b""));
    let out = drain(&mut c, later);
    assert_eq!(
        (out.len(), out[0].ack),
        (1, Some(SeqNumber(REMOTE_SEQ + 2)))
    );
    assert_eq!(c.poll_timeout(), Some(later + Duration::from_secs(60)));
    c.handle_timeout(later + Duration::from_secs(60));
    assert_eq!(c.state(), State::Closed);
}

#[test]
fn test_close_with_unread_data_sends_rst() {
    let mut c = established();
    c.handle_segment(
        T0,
        recv(
            REMOTE_SEQ + 1,
            Some(LOCAL_SEQ + 1),
            Flags::default(),
            b"unread",
        ),
    );
    c.close();
    assert_eq!(c.state(), State::Closed);
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert!(out[0].flags.rst);
    assert_eq!(out[0].seq, SeqNumber(LOCAL_SEQ + 1));
}

#[test]
fn test_send_buffer_full_then_writable() {
    let mut c = established_with(Config {
        send_buffer: 3000,
        nodelay: true,
        ..Config::default()
    });
    let data = SharedBytes::from(vec![9u8; 5000]);
    assert_eq!(c.send(data.clone()), Ok(3000));
    assert_eq!(c.send(data.clone()), Err(SendError::WouldBlock));
    let out = drain(&mut c, T0);
    assert_eq!(out.iter().map(|s| s.payload_len()).sum::<usize>(), 3000);
    assert!(
        out.iter()
            .all(|s| s.payload.iter().all(|p| p.shares_buffer(&data)))
    );
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 1 + 1460));
    assert_eq!(
        events(&mut c),
        vec![Event::Acked { bytes: 1460 }, Event::Writable]
    );
    c.shutdown_write();
    assert_eq!(c.send(data), Err(SendError::WriteClosed));
    assert!(bytes(&out[0].payload) == vec![9u8; 3000]);
}

#[test]
fn test_fast_retransmit_after_three_dup_acks() {
    let mut c = established_with(Config {
        nodelay: true,
        ..Config::default()
    });
    c.send(SharedBytes::from(vec![1u8; 1460 * 5])).unwrap();
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].payload_len(), 1460 * 5);
    for _ in 0..2 {
        c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 1));
        assert!(drain(&mut c, T0).is_empty());
    }
    c.handle_segment(T0, ack_seg(REMOTE_SEQ + 1, LOCAL_SEQ + 1));
    let out = drain(&mut c, T0);
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].seq, out[0].payload_len()),
        (SeqNumber(LOCAL_SEQ + 1), 1460)
    );
    let st = c.stats();
    assert_eq!((st.dup_acks, st.fast_retransmits, st.rto_count), (3, 1, 0));
}
