//! A sans-IO TCP for the emulated kernel, shaped like quinn-proto's `Connection`.
//!
//! The connection never performs I/O and never reads a clock: the caller feeds segments and
//! timeouts in with the current [`Instant`], and pulls segments, events and the next deadline
//! out. The same seed and inputs give the same segments, byte for byte.
//!
//! Payloads are opaque, refcounted references ([`Payload`]): device-memory `net_iov`s cannot be
//! read by the kernel, so the TCP only measures and slices them. Retransmissions resend the
//! very references the application queued, and [`Event::Acked`] reports the acknowledged
//! send-stream offset so MSG_ZEROCOPY completions can be issued.
//!
//! Modules, bottom up:
//! - [`time`], [`seq`]: instants and wrapping sequence numbers.
//! - [`payload`], [`segment`]: what travels.
//! - [`state`]: the RFC 9293 states and the declared transition table.
//! - [`config`], [`timer`]: tunables (Linux defaults) and the timer set.
//! - [`connection`]: the state machine (RFC 9293, 6298, 5681, 6582, 7323, 5961, 896).
//! - [`listener`]: what the socket layer needs around it (LISTEN decision, RST for segments
//!   matching no socket, ISN generation).
//!
//! Port demultiplexing, the listen backlog, SO_REUSEADDR/SO_REUSEPORT and SO_BINDTODEVICE
//! belong to the emulator's socket layer, not here.

#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod assembler;
pub mod config;
mod congestion;
pub mod connection;
pub mod listener;
pub mod payload;
mod rtt;
pub mod segment;
mod send_buffer;
pub mod seq;
pub mod state;
pub mod time;
pub mod timer;

pub use config::Config;
pub use connection::{Connection, Event, Rejected, SendError, Stats};
pub use listener::{ListenAction, initial_sequence_number, listen_segment, reset_for_unmatched};
pub use payload::{Payload, SharedBytes};
pub use segment::{Flags, Segment, TcpOptions};
pub use seq::SeqNumber;
pub use state::{State, StateEvent};
pub use time::{Duration, Instant};
pub use timer::Timer;
