//! Server side: the `NLMSG_ERROR` (ack / error) and `NLMSG_DONE` messages, byte for
//! byte as `netlink_ack()` and `netlink_dump_done()` (net/netlink/af_netlink.c) build
//! them.
//!
//! How the kernel fills the reply headers:
//!
//! - `nlmsg_pid` is the *requesting socket's* port id (`NETLINK_CB(in_skb).portid`), not
//!   whatever the request carried in its own `nlmsg_pid`.
//! - `nlmsg_seq` is the request's sequence number (a dump's DONE uses the dump
//!   request's).
//! - An error ack is `NLMSG_ERROR` with flags `NLM_F_CAPPED` when the request is not
//!   echoed (success, or `NETLINK_CAP_ACK`), plus `NLM_F_ACK_TLVS` when extack TLVs
//!   follow (`NETLINK_EXT_ACK` set and something to report). DONE carries `NLM_F_MULTI`
//!   (plus the dump's answer flags) and `NLM_F_ACK_TLVS` likewise.
//! - TLV order: `MSG`, `COOKIE`, then on errors only `OFFS`, `POLICY`, `MISS_TYPE`,
//!   `MISS_NEST`. Offsets are emitted only when they point inside the request's payload
//!   (`nlmsg_check_in_payload()`), yet still count for `NLM_F_ACK_TLVS`.

use crate::msg::MsgBuilder;
use crate::policy::{AttrPolicy, ExtAckError, PolicyType, Validation};
use uapi::netlink::*;

/// The socket options that shape acks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AckOpts {
    /// `NETLINK_CAP_ACK`: never echo the request's payload.
    pub cap_ack: bool,
    /// `NETLINK_EXT_ACK`: append extack TLVs.
    pub ext_ack: bool,
}

/// Kernel: `netlink_policy_dump_attr_size_estimate()` is non-zero, i.e. the policy of a
/// bad attribute is reported at all.
fn policy_reported(pt: &AttrPolicy) -> bool {
    !matches!(
        pt.ty,
        PolicyType::Unspec | PolicyType::Reject | PolicyType::Be16 | PolicyType::Be32
    )
}

/// Kernel: `netlink_ack_tlv_len() != 0`.
fn has_tlvs(err: bool, e: &ExtAckError, opts: AckOpts) -> bool {
    if !opts.ext_ack {
        return false;
    }
    let common = e.msg.is_some() || e.cookie.as_ref().is_some_and(|c| !c.is_empty());
    let error_only = e.bad_attr_offset.is_some()
        || e.policy.as_ref().is_some_and(policy_reported)
        || e.missing_type.is_some_and(|t| t != 0)
        || e.missing_nest_offset.is_some();
    common || (err && error_only)
}

/// Kernel: `nlmsg_check_in_payload()`: the offset points into the request's payload.
fn in_payload(offset: u32, req_len: u32) -> bool {
    offset as usize >= NLMSG_HDRLEN && offset < req_len
}

/// Kernel: `netlink_policy_dump_write_attr()` with no dump state: one
/// `NLMSGERR_ATTR_POLICY` nest describing `pt`; nothing for unspec/reject entries.
pub fn write_policy_attr(b: &mut MsgBuilder, pt: &AttrPolicy, nestattr: u16) {
    let ty = match pt.ty {
        PolicyType::Nested => NL_ATTR_TYPE_NESTED,
        PolicyType::NestedArray => NL_ATTR_TYPE_NESTED_ARRAY,
        PolicyType::U8 => NL_ATTR_TYPE_U8,
        PolicyType::U16 => NL_ATTR_TYPE_U16,
        PolicyType::U32 => NL_ATTR_TYPE_U32,
        PolicyType::U64 => NL_ATTR_TYPE_U64,
        PolicyType::Uint | PolicyType::Msecs => NL_ATTR_TYPE_UINT,
        PolicyType::S8 => NL_ATTR_TYPE_S8,
        PolicyType::S16 => NL_ATTR_TYPE_S16,
        PolicyType::S32 => NL_ATTR_TYPE_S32,
        PolicyType::S64 => NL_ATTR_TYPE_S64,
        PolicyType::Sint => NL_ATTR_TYPE_SINT,
        PolicyType::Bitfield32 => NL_ATTR_TYPE_BITFIELD32,
        PolicyType::String => NL_ATTR_TYPE_STRING,
        PolicyType::NulString => NL_ATTR_TYPE_NUL_STRING,
        PolicyType::Binary => NL_ATTR_TYPE_BINARY,
        PolicyType::Flag => NL_ATTR_TYPE_FLAG,
        // The kernel cancels the nest: no policy data for these.
        PolicyType::Unspec | PolicyType::Reject | PolicyType::Be16 | PolicyType::Be32 => return,
    };
    let nest = b.nest_start(nestattr);
    match pt.ty {
        PolicyType::U8
        | PolicyType::U16
        | PolicyType::U32
        | PolicyType::U64
        | PolicyType::Uint
        | PolicyType::Msecs => {
            if let Validation::Mask(mask) = pt.validation {
                b.put_u64(NL_POLICY_TYPE_ATTR_MASK, mask);
            } else {
                let (min, max) = pt.range_unsigned();
                b.put_u64(NL_POLICY_TYPE_ATTR_MIN_VALUE_U, min);
                b.put_u64(NL_POLICY_TYPE_ATTR_MAX_VALUE_U, max);
            }
        }
        PolicyType::S8 | PolicyType::S16 | PolicyType::S32 | PolicyType::S64 | PolicyType::Sint => {
            let (min, max) = pt.range_signed();
            b.put_s64(NL_POLICY_TYPE_ATTR_MIN_VALUE_S, min);
            b.put_s64(NL_POLICY_TYPE_ATTR_MAX_VALUE_S, max);
        }
        PolicyType::Bitfield32 => {
            let valid = match pt.validation {
                Validation::Bitfield32(v) => v,
                _ => 0,
            };
            b.put_u32(NL_POLICY_TYPE_ATTR_BITFIELD32_MASK, valid);
        }
        PolicyType::String | PolicyType::NulString | PolicyType::Binary => {
            let ranged = matches!(
                pt.validation,
                Validation::Range(..)
                    | Validation::SignedRange(..)
                    | Validation::ExactLen(_)
                    | Validation::ExactLenWarn(_)
            );
            if ranged {
                let (min, max) = pt.range_unsigned();
                if min != 0 {
                    b.put_u32(NL_POLICY_TYPE_ATTR_MIN_LENGTH, min as u32);
                }
                if max < u64::from(u16::MAX) {
                    b.put_u32(NL_POLICY_TYPE_ATTR_MAX_LENGTH, max as u32);
                }
            } else if pt.len != 0 {
                b.put_u32(NL_POLICY_TYPE_ATTR_MAX_LENGTH, u32::from(pt.len));
            }
        }
        _ => {}
    }
    b.put_u32(NL_POLICY_TYPE_ATTR_TYPE, ty);
    b.nest_end(nest);
}

/// Kernel: `netlink_ack_tlv_fill()`.
fn fill_tlvs(b: &mut MsgBuilder, err: bool, e: &ExtAckError, req_len: Option<u32>) {
    if let Some(m) = &e.msg {
        b.put_str(NLMSGERR_ATTR_MSG, m);
    }
    if let Some(c) = e.cookie.as_ref().filter(|c| !c.is_empty()) {
        b.put_bytes(NLMSGERR_ATTR_COOKIE, c);
    }
    if !err {
        return;
    }
    let ok = |o: u32| req_len.is_none_or(|l| in_payload(o, l));
    if let Some(o) = e.bad_attr_offset.filter(|&o| ok(o)) {
        b.put_u32(NLMSGERR_ATTR_OFFS, o);
    }
    if let Some(pt) = &e.policy {
        write_policy_attr(b, pt, NLMSGERR_ATTR_POLICY);
    }
    if let Some(t) = e.missing_type.filter(|&t| t != 0) {
        b.put_u32(NLMSGERR_ATTR_MISS_TYPE, u32::from(t));
    }
    if let Some(o) = e.missing_nest_offset.filter(|&o| ok(o)) {
        b.put_u32(NLMSGERR_ATTR_MISS_NEST, o);
    }
}

/// Kernel: `netlink_ack()`: the `NLMSG_ERROR` reply to `req` (the whole request
/// message), sent to the socket with port id `portid`.
///
/// `err` `None` is a plain ACK; `Some` with `errno` 0 is an ACK with extack content
/// (warning message, cookie); otherwise an error carrying `-errno`.
pub fn ack(req: &[u8], err: Option<&ExtAckError>, opts: AckOpts, portid: u32) -> Vec<u8> {
    // A request shorter than its header cannot come from the kernel's receive path;
    // zero-fill rather than panic.
    let mut hdr_bytes = [0u8; NLMSG_HDRLEN];
    let n = req.len().min(NLMSG_HDRLEN);
    hdr_bytes[..n].copy_from_slice(&req[..n]);
    let req_hdr = NlMsgHdr::from_bytes(&hdr_bytes).unwrap_or_default();

    let errno = err.map_or(0, |e| e.errno);
    let is_err = errno != 0;
    let mut flags = 0;
    let echo = is_err && !opts.cap_ack;
    if !echo {
        flags |= NLM_F_CAPPED;
    }
    let tlvs = err.is_some_and(|e| has_tlvs(is_err, e, opts));
    if tlvs {
        flags |= NLM_F_ACK_TLVS;
    }

    let mut fixed = NlMsgErr {
        error: -errno,
        msg: req_hdr,
    }
    .to_bytes()
    .to_vec();
    if echo {
        // nlmsg_append(): the request payload (nlmsg_len(nlh) bytes), NLMSG-aligned.
        // A request whose nlmsg_len claims more than `req` holds (impossible on the
        // kernel's receive path) echoes only the bytes that exist.
        let avail = req.get(NLMSG_HDRLEN..).unwrap_or(&[]);
        let payload_len = (req_hdr.nlmsg_len as usize)
            .saturating_sub(NLMSG_HDRLEN)
            .min(avail.len());
        fixed.extend_from_slice(&avail[..payload_len]);
        fixed.resize(NlMsgErr::LEN + nlmsg_align(payload_len), 0);
    }
    let mut b = MsgBuilder::new(NLMSG_ERROR, flags, req_hdr.nlmsg_seq, portid).raw_header(&fixed);
    if let (true, Some(e)) = (tlvs, err) {
        fill_tlvs(&mut b, is_err, e, Some(req_hdr.nlmsg_len));
    }
    b.finish()
}

/// What `netlink_rcv_skb()` does with a request once its handler returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Send [`ack`] with this errno (0 = success).
    Ack(i32),
    /// Send nothing more (success without `NLM_F_ACK`, or a dump that started: its
    /// answer ends with [`done`] instead).
    Silent,
}

/// Kernel: the tail of `netlink_rcv_skb()`: a message without `NLM_F_REQUEST` or of a
/// control type (`< NLMSG_MIN_TYPE`) is not handled but still acked when it asked for
/// one; a started dump (the handler's `-EINTR`) is never acked; otherwise an error is
/// always acked and a success only with `NLM_F_ACK`.
///
/// `result` is the handler's outcome as a positive errno or 0; `dump_started` says the
/// handler began a dump.
pub fn disposition(hdr: &NlMsgHdr, result: i32, dump_started: bool) -> Disposition {
    let handled = hdr.nlmsg_flags & NLM_F_REQUEST != 0 && hdr.nlmsg_type >= NLMSG_MIN_TYPE;
    let err = if handled { result } else { 0 };
    if handled && dump_started && err == 0 {
        return Disposition::Silent;
    }
    if hdr.nlmsg_flags & NLM_F_ACK != 0 || err != 0 {
        Disposition::Ack(err)
    } else {
        Disposition::Silent
    }
}

/// Kernel: `netlink_dump_done()`: the `NLMSG_DONE` that ends a dump, with the dump's
/// final status (`errno_or_0`: 0, or a positive errno; a negative value is taken as
/// already negated) as its `int` payload.
///
/// Offsets in `extack` are emitted as given (use [`done_for`] to check them against the
/// dump request like the kernel does).
pub fn done(
    seq: u32,
    portid: u32,
    errno_or_0: i32,
    extack: Option<&ExtAckError>,
    opts: AckOpts,
) -> Vec<u8> {
    done_inner(seq, portid, errno_or_0, extack, opts, 0, None)
}

/// [`done`] for the dump request `req`: its seq, its length for the offset checks, and
/// the dump's `answer_flags` (`NLM_F_DUMP_FILTERED`, `NLM_F_DUMP_INTR`).
pub fn done_for(
    req: &[u8],
    portid: u32,
    errno_or_0: i32,
    extack: Option<&ExtAckError>,
    opts: AckOpts,
    answer_flags: u16,
) -> Vec<u8> {
    let hdr = NlMsgHdr::from_bytes(req).unwrap_or_default();
    done_inner(
        hdr.nlmsg_seq,
        portid,
        errno_or_0,
        extack,
        opts,
        answer_flags,
        Some(hdr.nlmsg_len),
    )
}

fn done_inner(
    seq: u32,
    portid: u32,
    errno_or_0: i32,
    extack: Option<&ExtAckError>,
    opts: AckOpts,
    answer_flags: u16,
    req_len: Option<u32>,
) -> Vec<u8> {
    let status = if errno_or_0 > 0 {
        -errno_or_0
    } else {
        errno_or_0
    };
    let is_err = status != 0;
    let tlvs = extack.is_some_and(|e| has_tlvs(is_err, e, opts));
    let mut flags = NLM_F_MULTI | answer_flags;
    if tlvs {
        flags |= NLM_F_ACK_TLVS;
    }
    let mut b = MsgBuilder::new(NLMSG_DONE, flags, seq, portid).raw_header(&status.to_ne_bytes());
    if let (true, Some(e)) = (tlvs, extack) {
        fill_tlvs(&mut b, is_err, e, req_len);
    }
    b.finish()
}

#[cfg(test)]
mod tests;
