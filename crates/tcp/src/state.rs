//! The RFC 9293 connection states and their declared transition table.
//!
//! In the spirit of s2n-quic's `event!` tables: every state change the connection makes goes
//! through [`State::on`], which consults [`TRANSITIONS`]. A transition not in the table is a bug
//! in the connection (a broken internal invariant) and panics. `tests/state_matrix.rs` snapshots
//! the whole state × event matrix so any change to the machine is a reviewable diff.

use core::fmt;

/// RFC 9293 §3.3.2 connection states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    /// No connection.
    Closed,
    /// Waiting for a SYN. A [`crate::Connection`] never sits here: passive opens are decided
    /// by the socket layer with [`crate::listener::listen_segment`].
    Listen,
    /// SYN sent, waiting for a matching SYN.
    SynSent,
    /// SYN received and SYN sent, waiting for the ACK of our SYN.
    SynReceived,
    /// Open: data flows both ways.
    Established,
    /// We closed; waiting for the ACK of our FIN or the peer's FIN.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2,
    /// The peer closed; waiting for the application to close.
    CloseWait,
    /// Both sides closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both FINs exchanged; waiting 2*MSL for stray segments.
    TimeWait,
}

impl State {
    /// All states, in RFC order.
    pub const ALL: [State; 11] = [
        State::Closed,
        State::Listen,
        State::SynSent,
        State::SynReceived,
        State::Established,
        State::FinWait1,
        State::FinWait2,
        State::CloseWait,
        State::Closing,
        State::LastAck,
        State::TimeWait,
    ];

    /// The RFC's name for the state.
    pub fn name(self) -> &'static str {
        match self {
            State::Closed => "CLOSED",
            State::Listen => "LISTEN",
            State::SynSent => "SYN-SENT",
            State::SynReceived => "SYN-RECEIVED",
            State::Established => "ESTABLISHED",
            State::FinWait1 => "FIN-WAIT-1",
            State::FinWait2 => "FIN-WAIT-2",
            State::CloseWait => "CLOSE-WAIT",
            State::Closing => "CLOSING",
            State::LastAck => "LAST-ACK",
            State::TimeWait => "TIME-WAIT",
        }
    }

    /// RFC 9293 "synchronized" states: sequence numbers of both sides are known.
    pub fn is_synchronized(self) -> bool {
        !matches!(self, State::Closed | State::Listen | State::SynSent)
    }

    /// The state after `event`, or `None` when the table has no such transition.
    pub fn on(self, event: StateEvent) -> Option<State> {
        TRANSITIONS
            .iter()
            .find(|(from, ev, _)| *from == self && *ev == event)
            .map(|(_, _, to)| *to)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What moves the state machine (RFC 9293 Figure 5's arrow labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StateEvent {
    /// Application active OPEN: send SYN.
    Connect,
    /// Application passive OPEN.
    Listen,
    /// A SYN without ACK arrived.
    RcvSyn,
    /// A SYN acknowledging our SYN arrived.
    RcvSynAck,
    /// The ACK of our SYN arrived.
    RcvAckOfSyn,
    /// Application CLOSE (or shutdown of the write side): send FIN once data is out.
    Close,
    /// The peer's FIN was reached in sequence.
    RcvFin,
    /// The ACK of our FIN arrived.
    RcvAckOfFin,
    /// An acceptable RST arrived.
    RcvRst,
    /// The TIME-WAIT 2*MSL timer expired.
    Timeout2Msl,
    /// Retransmissions (or zero-window probes) were exhausted.
    GiveUp,
    /// Application ABORT: RST sent if synchronized.
    Abort,
}

impl StateEvent {
    /// All events, in table column order.
    pub const ALL: [StateEvent; 12] = [
        StateEvent::Connect,
        StateEvent::Listen,
        StateEvent::RcvSyn,
        StateEvent::RcvSynAck,
        StateEvent::RcvAckOfSyn,
        StateEvent::Close,
        StateEvent::RcvFin,
        StateEvent::RcvAckOfFin,
        StateEvent::RcvRst,
        StateEvent::Timeout2Msl,
        StateEvent::GiveUp,
        StateEvent::Abort,
    ];

    /// Short name used in the snapshot matrix.
    pub fn name(self) -> &'static str {
        match self {
            StateEvent::Connect => "connect",
            StateEvent::Listen => "listen",
            StateEvent::RcvSyn => "rcv_syn",
            StateEvent::RcvSynAck => "rcv_synack",
            StateEvent::RcvAckOfSyn => "rcv_ack_syn",
            StateEvent::Close => "close",
            StateEvent::RcvFin => "rcv_fin",
            StateEvent::RcvAckOfFin => "rcv_ack_fin",
            StateEvent::RcvRst => "rcv_rst",
            StateEvent::Timeout2Msl => "2msl",
            StateEvent::GiveUp => "give_up",
            StateEvent::Abort => "abort",
        }
    }
}

use State::*;
use StateEvent as E;

/// Every legal transition `(from, event, to)`, from RFC 9293 §3.10 event processing.
///
/// Notes on departures:
/// - SYN-RECEIVED + RST goes to CLOSED: the connection object dies; a passive open's LISTEN
///   lives on in the socket layer, as in Linux where the request sock is simply dropped.
/// - CLOSE in SYN-RECEIVED is recorded when it happens but the FIN waits for ESTABLISHED
///   (RFC 9293 §3.10.4 "queue for processing after entering ESTABLISHED").
/// - TIME-WAIT + FIN (a retransmitted FIN) stays in TIME-WAIT and restarts the 2*MSL timer.
pub const TRANSITIONS: &[(State, StateEvent, State)] = &[
    (Closed, E::Connect, SynSent),
    (Closed, E::Listen, Listen),
    (Listen, E::RcvSyn, SynReceived),
    (Listen, E::Close, Closed),
    (Listen, E::Abort, Closed),
    (SynSent, E::RcvSyn, SynReceived),
    (SynSent, E::RcvSynAck, Established),
    (SynSent, E::Close, Closed),
    (SynSent, E::RcvRst, Closed),
    (SynSent, E::GiveUp, Closed),
    (SynSent, E::Abort, Closed),
    (SynReceived, E::RcvAckOfSyn, Established),
    (SynReceived, E::Close, FinWait1),
    (SynReceived, E::RcvFin, CloseWait),
    (SynReceived, E::RcvRst, Closed),
    (SynReceived, E::GiveUp, Closed),
    (SynReceived, E::Abort, Closed),
    (Established, E::Close, FinWait1),
    (Established, E::RcvFin, CloseWait),
    (Established, E::RcvRst, Closed),
    (Established, E::GiveUp, Closed),
    (Established, E::Abort, Closed),
    (FinWait1, E::RcvFin, Closing),
    (FinWait1, E::RcvAckOfFin, FinWait2),
    (FinWait1, E::RcvRst, Closed),
    (FinWait1, E::GiveUp, Closed),
    (FinWait1, E::Abort, Closed),
    (FinWait2, E::RcvFin, TimeWait),
    (FinWait2, E::RcvRst, Closed),
    (FinWait2, E::Abort, Closed),
    (CloseWait, E::Close, LastAck),
    (CloseWait, E::RcvRst, Closed),
    (CloseWait, E::GiveUp, Closed),
    (CloseWait, E::Abort, Closed),
    (Closing, E::RcvAckOfFin, TimeWait),
    (Closing, E::RcvRst, Closed),
    (Closing, E::GiveUp, Closed),
    (Closing, E::Abort, Closed),
    (LastAck, E::RcvAckOfFin, Closed),
    (LastAck, E::RcvRst, Closed),
    (LastAck, E::GiveUp, Closed),
    (LastAck, E::Abort, Closed),
    (TimeWait, E::RcvFin, TimeWait),
    (TimeWait, E::RcvRst, Closed),
    (TimeWait, E::Timeout2Msl, Closed),
    (TimeWait, E::Abort, Closed),
];

/// The full state × event matrix as text: one row per state, one column per event, the
/// target state's name or `-`.
pub fn render_matrix() -> String {
    let width = State::ALL.iter().map(|s| s.name().len()).max().unwrap_or(0);
    let mut out = String::new();
    out.push_str(&format!("{:width$}", ""));
    for ev in StateEvent::ALL {
        out.push_str(&format!(" | {:width$}", ev.name()));
    }
    trim_line(&mut out);
    for s in State::ALL {
        out.push_str(&format!("{:width$}", s.name()));
        for ev in StateEvent::ALL {
            out.push_str(&format!(" | {:width$}", s.on(ev).map_or("-", State::name)));
        }
        trim_line(&mut out);
    }
    out
}

/// End the current line without trailing blanks.
fn trim_line(out: &mut String) {
    out.truncate(out.trim_end().len());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_no_duplicate_rows() {
        for (i, (s, e, _)) in TRANSITIONS.iter().enumerate() {
            assert!(
                !TRANSITIONS[i + 1..]
                    .iter()
                    .any(|(s2, e2, _)| s2 == s && e2 == e),
                "{s} {e:?} twice"
            );
        }
    }

    #[test]
    fn every_state_but_closed_can_abort_to_closed() {
        for s in State::ALL {
            if s != Closed {
                assert_eq!(s.on(E::Abort), Some(Closed), "{s}");
            }
        }
    }
}
