//! Client side: a sans-IO tracker for one request, in the shape of netlink-proto's
//! `Protocol`.
//!
//! The caller sends the request bytes itself, then feeds every received datagram to
//! [`Request::handle_datagram`] until it returns [`Progress::Done`]. Messages for other
//! sequence numbers (notifications, other requests) are set aside in
//! [`Request::unrelated`]. The tracker knows the kernel's reply rules:
//!
//! - a dump (`NLM_F_DUMP`) gathers `NLM_F_MULTI` messages until `NLMSG_DONE`, whose
//!   `int` payload is the dump's status (no ACK follows a dump even with `NLM_F_ACK`);
//! - a do request completes on its reply message, or, with `NLM_F_ACK`, on the ACK
//!   that follows it;
//! - `NLMSG_ERROR` with a non-zero error completes any request with an [`NlError`].

use std::fmt;

use crate::Error;
use crate::attr::Attrs;
use crate::msg::{Msg, messages};
use uapi::netlink::*;

/// A received message, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedMsg {
    /// Its header.
    pub hdr: NlMsgHdr,
    /// The bytes after the header, up to `nlmsg_len`.
    pub payload: Vec<u8>,
}

impl OwnedMsg {
    /// Copies a borrowed message.
    pub fn from_msg(m: &Msg<'_>) -> Self {
        Self {
            hdr: m.hdr,
            payload: m.payload.to_vec(),
        }
    }

    /// The header and payload as one buffer (a message [`messages`] can walk).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = self.hdr.to_bytes().to_vec();
        v.extend_from_slice(&self.payload);
        v
    }
}

/// A netlink error as the client sees it: errno and the extack TLVs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NlError {
    /// Positive errno.
    pub errno: i32,
    /// `NLMSGERR_ATTR_MSG`.
    pub msg: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`: offset of the bad attribute in the request.
    pub bad_attr_offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`.
    pub missing_type: Option<u16>,
    /// `NLMSGERR_ATTR_MISS_NEST`: offset of the nest in the request.
    pub missing_nest_offset: Option<u32>,
    /// `NLMSGERR_ATTR_POLICY`: the raw nest payload (`NL_POLICY_TYPE_ATTR_*`).
    pub policy: Option<Vec<u8>>,
    /// `NLMSGERR_ATTR_COOKIE`.
    pub cookie: Option<Vec<u8>>,
}

impl NlError {
    /// An error with no extack.
    pub fn new(errno: i32) -> Self {
        Self {
            errno,
            msg: None,
            bad_attr_offset: None,
            missing_type: None,
            missing_nest_offset: None,
            policy: None,
            cookie: None,
        }
    }

    /// Reads the extack TLVs of an `NLMSG_ERROR` / `NLMSG_DONE` into `self`; unknown
    /// TLVs are skipped, malformed ones end the walk.
    fn read_tlvs(&mut self, tlvs: &[u8], base: usize) {
        for a in Attrs::new(tlvs, base) {
            let Ok(a) = a else { break };
            match a.ty {
                NLMSGERR_ATTR_MSG => self.msg = a.str().ok().map(str::to_owned),
                NLMSGERR_ATTR_OFFS => self.bad_attr_offset = a.u32().ok(),
                NLMSGERR_ATTR_MISS_TYPE => {
                    self.missing_type = a.u32().ok().and_then(|t| u16::try_from(t).ok())
                }
                NLMSGERR_ATTR_MISS_NEST => self.missing_nest_offset = a.u32().ok(),
                NLMSGERR_ATTR_POLICY => self.policy = Some(a.value.to_vec()),
                NLMSGERR_ATTR_COOKIE => self.cookie = Some(a.value.to_vec()),
                _ => {}
            }
        }
    }
}

impl fmt::Display for NlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Netlink error: {} (errno {})",
            crate::errno::strerror(self.errno),
            self.errno
        )?;
        if let Some(m) = &self.msg {
            write!(f, ": {m}")?;
        }
        if let Some(o) = self.bad_attr_offset {
            write!(f, " (bad-attr-offs {o})")?;
        }
        if let Some(t) = self.missing_type {
            write!(f, " (miss-type {t})")?;
        }
        if let Some(o) = self.missing_nest_offset {
            write!(f, " (miss-nest {o})")?;
        }
        Ok(())
    }
}

impl std::error::Error for NlError {}

/// What an `NLMSG_ERROR` message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorMsg {
    /// error 0: an ACK, with any extack (warning message, cookie) the kernel attached.
    Ack(NlError),
    /// A non-zero error.
    Nack(NlError),
}

/// Decodes the payload of an `NLMSG_ERROR` message with header flags `flags`
/// (to find the TLVs after a possibly echoed request).
pub fn parse_error(flags: u16, payload: &[u8]) -> Result<ErrorMsg, Error> {
    let e = NlMsgErr::from_bytes(payload)
        .map_err(|_| Error::decode("truncated nlmsgerr", NLMSG_HDRLEN))?;
    let mut skip = NlMsgErr::LEN;
    if flags & NLM_F_CAPPED == 0 {
        // The echoed request payload, NLMSG-aligned.
        skip += nlmsg_align((e.msg.nlmsg_len as usize).saturating_sub(NLMSG_HDRLEN));
    }
    let mut err = NlError::new(e.error.saturating_neg());
    if flags & NLM_F_ACK_TLVS != 0
        && let Some(tlvs) = payload.get(skip..)
    {
        err.read_tlvs(tlvs, NLMSG_HDRLEN + skip);
    }
    Ok(if e.error == 0 {
        ErrorMsg::Ack(err)
    } else {
        ErrorMsg::Nack(err)
    })
}

/// Decodes the payload of an `NLMSG_DONE`: the status (0 or positive errno) and TLVs.
pub fn parse_done(flags: u16, payload: &[u8]) -> Result<NlError, Error> {
    let status: [u8; 4] = payload
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::decode("truncated NLMSG_DONE", NLMSG_HDRLEN))?;
    let mut err = NlError::new(i32::from_ne_bytes(status).saturating_neg());
    if flags & NLM_F_ACK_TLVS != 0 {
        err.read_tlvs(&payload[4..], NLMSG_HDRLEN + 4);
    }
    Ok(err)
}

/// The outcome of a request: the reply messages, or the error.
pub type Reply = Result<Vec<OwnedMsg>, NlError>;

/// Where a request stands after a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// More messages are expected.
    Pending,
    /// The request is complete.
    Done(Reply),
}

/// One outstanding request, keyed by its sequence number.
#[derive(Debug, Clone)]
pub struct Request {
    seq: u32,
    dump: bool,
    ack: bool,
    parts: Vec<OwnedMsg>,
    done: bool,
    /// Messages with another sequence number, or arriving after completion, in order.
    pub unrelated: Vec<OwnedMsg>,
}

impl Request {
    /// Tracks a request with sequence `seq`; `dump` and `ack` as its `NLM_F_DUMP` and
    /// `NLM_F_ACK` flags.
    pub fn new(seq: u32, dump: bool, ack: bool) -> Self {
        Self {
            seq,
            dump,
            ack,
            parts: Vec::new(),
            done: false,
            unrelated: Vec::new(),
        }
    }

    /// Tracks the request in `req` (its header decides seq, dump and ack).
    pub fn for_message(req: &[u8]) -> Result<Self, Error> {
        let h = NlMsgHdr::from_bytes(req).map_err(|_| Error::decode("truncated nlmsghdr", 0))?;
        Ok(Self::new(
            h.nlmsg_seq,
            h.nlmsg_flags & NLM_F_DUMP == NLM_F_DUMP,
            h.nlmsg_flags & NLM_F_ACK != 0,
        ))
    }

    /// The sequence number this request waits for.
    pub fn seq(&self) -> u32 {
        self.seq
    }

    /// Whether a [`Progress::Done`] was already returned.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Consumes one received datagram. A malformed datagram is an `Err` (the request
    /// stays pending); messages decoded before the bad one are still applied.
    pub fn handle_datagram(&mut self, buf: &[u8]) -> Result<Progress, Error> {
        let mut progress = Progress::Pending;
        for m in messages(buf) {
            let m = m?;
            if let Progress::Done(r) = self.handle_msg(&m)? {
                progress = Progress::Done(r);
            }
        }
        Ok(progress)
    }

    /// Consumes one message.
    pub fn handle_msg(&mut self, m: &Msg<'_>) -> Result<Progress, Error> {
        if self.done || m.hdr.nlmsg_seq != self.seq {
            self.unrelated.push(OwnedMsg::from_msg(m));
            return Ok(Progress::Pending);
        }
        let finish = |s: &mut Self, r: Reply| {
            s.done = true;
            Ok(Progress::Done(r))
        };
        match m.hdr.nlmsg_type {
            NLMSG_NOOP | NLMSG_OVERRUN => Ok(Progress::Pending),
            NLMSG_ERROR => match parse_error(m.hdr.nlmsg_flags, m.payload)? {
                ErrorMsg::Nack(e) => finish(self, Err(e)),
                ErrorMsg::Ack(_) => {
                    let parts = std::mem::take(&mut self.parts);
                    finish(self, Ok(parts))
                }
            },
            NLMSG_DONE => {
                let e = parse_done(m.hdr.nlmsg_flags, m.payload)?;
                if e.errno != 0 {
                    return finish(self, Err(e));
                }
                let parts = std::mem::take(&mut self.parts);
                finish(self, Ok(parts))
            }
            _ => {
                self.parts.push(OwnedMsg::from_msg(m));
                if !self.dump && !self.ack && m.hdr.nlmsg_flags & NLM_F_MULTI == 0 {
                    let parts = std::mem::take(&mut self.parts);
                    return finish(self, Ok(parts));
                }
                Ok(Progress::Pending)
            }
        }
    }
}

#[cfg(test)]
mod tests;
