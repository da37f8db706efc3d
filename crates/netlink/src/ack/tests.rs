//! Golden `NLMSG_ERROR` / `NLMSG_DONE` bytes, annotated per field (x86_64 byte order),
//! derived from netlink_ack() / netlink_ack_tlv_fill() / netlink_policy_dump_write_attr().

#![cfg(target_endian = "little")]

use super::*;
use crate::family::netdev::BIND_TX_POLICY;
use crate::msg::messages;
use crate::policy::{Strictness, parse};

/// bind-tx request, seq 7, pid 0: ifindex 0 (below min 1), fd 3.
#[rustfmt::skip]
const BIND_TX_BAD: [u8; 36] = [
    0x24, 0x00, 0x00, 0x00, // nlmsg_len 36
    0x20, 0x00,             // nlmsg_type: family id 0x20
    0x05, 0x00,             // NLM_F_REQUEST | NLM_F_ACK
    0x07, 0x00, 0x00, 0x00, // nlmsg_seq 7
    0x00, 0x00, 0x00, 0x00, // nlmsg_pid 0
    0x0f, 0x01, 0x00, 0x00, // genl: cmd 15 (BIND_TX), version 1
    0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, // NETDEV_A_DMABUF_IFINDEX = 0
    0x08, 0x00, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, // NETDEV_A_DMABUF_FD = 3
];

const PORTID: u32 = 0x1234;

fn bind_tx_error() -> ExtAckError {
    let msg = messages(&BIND_TX_BAD).next().unwrap().unwrap();
    let (_, attrs) = msg.genl().unwrap();
    parse(&BIND_TX_POLICY, attrs, 20, Strictness::STRICT).unwrap_err()
}

#[test]
fn success_ack_is_capped_header_only() {
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x24, 0x00, 0x00, 0x00, // nlmsg_len 36
        0x02, 0x00,             // NLMSG_ERROR
        0x00, 0x01,             // NLM_F_CAPPED
        0x07, 0x00, 0x00, 0x00, // seq 7 (the request's)
        0x34, 0x12, 0x00, 0x00, // pid: the requesting socket's port id
        0x00, 0x00, 0x00, 0x00, // error 0
        0x24, 0x00, 0x00, 0x00, 0x20, 0x00, 0x05, 0x00, // request header, as sent
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    ];
    let opts = AckOpts {
        cap_ack: false,
        ext_ack: true,
    };
    assert_eq!(ack(&BIND_TX_BAD, None, opts, PORTID), expected);
}

#[test]
fn error_without_ext_ack_echoes_request() {
    let e = bind_tx_error();
    let got = ack(&BIND_TX_BAD, Some(&e), AckOpts::default(), PORTID);
    #[rustfmt::skip]
    let head: &[u8] = &[
        0x38, 0x00, 0x00, 0x00, // nlmsg_len 56 = 16 + 20 + 20
        0x02, 0x00,             // NLMSG_ERROR
        0x00, 0x00,             // no flags: not capped, no TLVs
        0x07, 0x00, 0x00, 0x00, // seq 7
        0x34, 0x12, 0x00, 0x00, // pid
        0xde, 0xff, 0xff, 0xff, // error -34 (-ERANGE)
    ];
    assert_eq!(&got[..20], head);
    assert_eq!(&got[20..], &BIND_TX_BAD[..]);
}

#[test]
fn error_with_ext_ack_and_cap() {
    let e = bind_tx_error();
    let got = ack(
        &BIND_TX_BAD,
        Some(&e),
        AckOpts {
            cap_ack: true,
            ext_ack: true,
        },
        PORTID,
    );
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x6c, 0x00, 0x00, 0x00, // nlmsg_len 108
        0x02, 0x00,             // NLMSG_ERROR
        0x00, 0x03,             // NLM_F_CAPPED | NLM_F_ACK_TLVS
        0x07, 0x00, 0x00, 0x00, // seq 7
        0x34, 0x12, 0x00, 0x00, // pid
        0xde, 0xff, 0xff, 0xff, // error -ERANGE
        0x24, 0x00, 0x00, 0x00, 0x20, 0x00, 0x05, 0x00, // request header only (capped)
        0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x19, 0x00, 0x01, 0x00, // NLMSGERR_ATTR_MSG, len 25
        b'i', b'n', b't', b'e', b'g', b'e', b'r', b' ', b'o', b'u', b't', b' ',
        b'o', b'f', b' ', b'r', b'a', b'n', b'g', b'e', 0x00, 0x00, 0x00, 0x00, // + NUL + pad 3
        0x08, 0x00, 0x02, 0x00, 0x14, 0x00, 0x00, 0x00, // NLMSGERR_ATTR_OFFS = 20
        0x24, 0x00, 0x04, 0x80, // NLMSGERR_ATTR_POLICY | NLA_F_NESTED, len 36
        0x0c, 0x00, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // MIN_VALUE_U 1
        0x0c, 0x00, 0x05, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, // MAX_VALUE_U U32_MAX
        0x08, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, // TYPE = NL_ATTR_TYPE_U32
    ];
    assert_eq!(got, expected);
}

#[test]
fn missing_attribute_ack() {
    let e = ExtAckError::new(22).missing(1, None);
    let got = ack(
        &BIND_TX_BAD,
        Some(&e),
        AckOpts {
            cap_ack: true,
            ext_ack: true,
        },
        PORTID,
    );
    #[rustfmt::skip]
    let tail: &[u8] = &[
        0x08, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, // NLMSGERR_ATTR_MISS_TYPE = 1
    ];
    assert_eq!(got.len(), 44);
    assert_eq!(&got[0..8], &[0x2c, 0, 0, 0, 0x02, 0x00, 0x00, 0x03]);
    assert_eq!(&got[16..20], &[0xea, 0xff, 0xff, 0xff]); // -EINVAL
    assert_eq!(&got[36..], tail);
}

#[test]
fn miss_nest_and_offsets_outside_payload() {
    // A nest offset inside the request is reported; one past its end is dropped, yet
    // still flags NLM_F_ACK_TLVS (the kernel counts before it checks).
    let mut e = ExtAckError::new(22);
    e.missing_type = Some(2);
    e.missing_nest_offset = Some(20);
    let got = ack(
        &BIND_TX_BAD,
        Some(&e),
        AckOpts {
            cap_ack: true,
            ext_ack: true,
        },
        1,
    );
    assert_eq!(
        &got[36..],
        &[8, 0, 5, 0, 2, 0, 0, 0, 8, 0, 6, 0, 20, 0, 0, 0]
    );

    let mut e = ExtAckError::new(22);
    e.bad_attr_offset = Some(36);
    let got = ack(
        &BIND_TX_BAD,
        Some(&e),
        AckOpts {
            cap_ack: true,
            ext_ack: true,
        },
        1,
    );
    assert_eq!(got.len(), 36);
    assert_eq!(&got[6..8], &[0x00, 0x03]);
}

#[test]
fn success_ack_keeps_only_msg_and_cookie() {
    let e = ExtAckError::new(0)
        .msg("careful")
        .cookie(&[1, 2, 3, 4, 5, 6, 7, 8])
        .missing(3, None);
    let got = ack(
        &BIND_TX_BAD,
        Some(&e),
        AckOpts {
            cap_ack: false,
            ext_ack: true,
        },
        1,
    );
    #[rustfmt::skip]
    let tlvs: &[u8] = &[
        0x0c, 0x00, 0x01, 0x00, b'c', b'a', b'r', b'e', b'f', b'u', b'l', 0x00, // MSG "careful"
        0x0c, 0x00, 0x03, 0x00, 1, 2, 3, 4, 5, 6, 7, 8,                         // COOKIE
    ];
    assert_eq!(&got[6..8], &[0x00, 0x03]); // capped (success) + TLVs
    assert_eq!(&got[36..], tlvs);
    // Without NETLINK_EXT_ACK nothing is appended.
    let got = ack(&BIND_TX_BAD, Some(&e), AckOpts::default(), 1);
    assert_eq!((got.len(), &got[6..8]), (36, &[0x00, 0x01][..]));
}

#[test]
fn unaligned_request_echo_is_padded() {
    let mut req = BIND_TX_BAD.to_vec();
    req.truncate(34);
    req[0] = 34;
    let got = ack(&req, Some(&ExtAckError::new(22)), AckOpts::default(), 1);
    assert_eq!(got.len(), 16 + 20 + 20); // 18 payload bytes, aligned to 20
    assert_eq!(&got[54..], &[0, 0]);
    // A buffer shorter than a header does not panic.
    let got = ack(
        &[1, 2, 3],
        Some(&ExtAckError::new(22)),
        AckOpts::default(),
        1,
    );
    assert_eq!(got.len(), 36);
}

#[test]
fn done_success_and_error() {
    #[rustfmt::skip]
    let ok: &[u8] = &[
        0x14, 0x00, 0x00, 0x00, // nlmsg_len 20
        0x03, 0x00,             // NLMSG_DONE
        0x02, 0x00,             // NLM_F_MULTI
        0x09, 0x00, 0x00, 0x00, // seq 9
        0x01, 0x00, 0x00, 0x00, // pid 1
        0x00, 0x00, 0x00, 0x00, // status 0
    ];
    assert_eq!(
        done(
            9,
            1,
            0,
            None,
            AckOpts {
                cap_ack: false,
                ext_ack: true
            }
        ),
        ok
    );
    let e = ExtAckError::new(19).msg("gone");
    let got = done(
        9,
        1,
        19,
        Some(&e),
        AckOpts {
            cap_ack: false,
            ext_ack: true,
        },
    );
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x20, 0x00, 0x00, 0x00, // nlmsg_len 32
        0x03, 0x00,             // NLMSG_DONE
        0x02, 0x02,             // NLM_F_MULTI | NLM_F_ACK_TLVS
        0x09, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0xed, 0xff, 0xff, 0xff, // status -19 (-ENODEV)
        0x09, 0x00, 0x01, 0x00, b'g', b'o', b'n', b'e', 0x00, 0x00, 0x00, 0x00, // MSG "gone"
    ];
    assert_eq!(got, expected);
    // A negative status is taken as already negated.
    assert_eq!(
        done(9, 1, -19, None, AckOpts::default())[16..20],
        [0xed, 0xff, 0xff, 0xff]
    );
    // done_for takes seq from the request and adds answer flags.
    let d = done_for(
        &BIND_TX_BAD,
        1,
        0,
        None,
        AckOpts::default(),
        NLM_F_DUMP_FILTERED,
    );
    assert_eq!(&d[6..12], &[0x22, 0x00, 0x07, 0x00, 0x00, 0x00]);
}

#[test]
fn policy_nest_shapes() {
    use crate::policy::{AttrPolicy, PolicyType};
    let render = |pt: AttrPolicy| {
        let mut b = MsgBuilder::new(0, 0, 0, 0);
        write_policy_attr(&mut b, &pt, 4);
        b.finish()[16..].to_vec()
    };
    // Signed min 0 (lease netns-id): MIN_VALUE_S 0, MAX_VALUE_S S32_MAX, TYPE S32.
    #[rustfmt::skip]
    let s32: &[u8] = &[
        0x24, 0x00, 0x04, 0x80,
        0x0c, 0x00, 0x02, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
        0x0c, 0x00, 0x03, 0x00, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0,
        0x08, 0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00,
    ];
    assert_eq!(render(AttrPolicy::new(PolicyType::S32).min(0)), s32);
    // Mask on a uint (qstats scope): MASK then TYPE UINT.
    #[rustfmt::skip]
    let mask: &[u8] = &[
        0x18, 0x00, 0x04, 0x80,
        0x0c, 0x00, 0x0c, 0x00, 1, 0, 0, 0, 0, 0, 0, 0,
        0x08, 0x00, 0x01, 0x00, 0x11, 0x00, 0x00, 0x00,
    ];
    assert_eq!(render(AttrPolicy::new(PolicyType::Uint).mask(1)), mask);
    // NUL string with len 15: MAX_LENGTH 15, TYPE NUL_STRING.
    assert_eq!(
        render(AttrPolicy::nul_string(15)),
        [
            0x14, 0, 4, 0x80, 8, 0, 7, 0, 15, 0, 0, 0, 8, 0, 1, 0, 12, 0, 0, 0
        ]
    );
    // Nested without dump state: TYPE only. Unspec: nothing at all.
    assert_eq!(
        render(AttrPolicy::new(PolicyType::Nested)),
        [0x0c, 0, 4, 0x80, 8, 0, 1, 0, 13, 0, 0, 0]
    );
    assert!(render(AttrPolicy::UNSPEC).is_empty());
}

#[test]
fn rcv_skb_disposition() {
    let h = |ty: u16, flags: u16| NlMsgHdr {
        nlmsg_len: 20,
        nlmsg_type: ty,
        nlmsg_flags: flags,
        ..Default::default()
    };
    let req = NLM_F_REQUEST;
    assert_eq!(disposition(&h(0x20, req), 0, false), Disposition::Silent);
    assert_eq!(
        disposition(&h(0x20, req | NLM_F_ACK), 0, false),
        Disposition::Ack(0)
    );
    assert_eq!(disposition(&h(0x20, req), 22, false), Disposition::Ack(22));
    assert_eq!(
        disposition(&h(0x20, req | NLM_F_ACK | NLM_F_DUMP), 0, true),
        Disposition::Silent
    );
    // Not a request / a control message: the handler never ran; ack only if asked.
    assert_eq!(
        disposition(&h(0x20, NLM_F_ACK), 22, false),
        Disposition::Ack(0)
    );
    assert_eq!(
        disposition(&h(NLMSG_NOOP, req), 0, false),
        Disposition::Silent
    );
}
