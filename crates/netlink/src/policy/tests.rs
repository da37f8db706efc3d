//! One test per kernel error kind of `__nla_validate_parse()` / `validate_nla()`, on the
//! netdev and nlctrl policies where possible.

use super::*;
use crate::family::ctrl::CTRL_POLICY_FAMILY;
use crate::family::netdev::*;
use crate::msg::{MsgBuilder, messages};
use uapi::genetlink::CTRL_ATTR_FAMILY_NAME;

/// Attribute bytes of a genl message built by `f`, with base offset 20.
fn attrs_of(f: impl FnOnce(&mut MsgBuilder)) -> Vec<u8> {
    let mut b = MsgBuilder::new(0x20, 0x5, 1, 0).genl(1, 1);
    f(&mut b);
    b.finish()[20..].to_vec()
}

fn strict(p: &Policy, buf: &[u8]) -> Result<Parsed<'static>, ExtAckError> {
    let leaked: &'static [u8] = Box::leak(buf.to_vec().into_boxed_slice());
    parse(p, leaked, 20, Strictness::STRICT)
}

fn liberal(p: &Policy, buf: &[u8]) -> Result<Parsed<'static>, ExtAckError> {
    let leaked: &'static [u8] = Box::leak(buf.to_vec().into_boxed_slice());
    parse(p, leaked, 20, Strictness::LIBERAL)
}

fn msg_of(e: &ExtAckError) -> Option<&str> {
    e.msg.as_deref()
}

#[test]
fn valid_bind_tx_parses() {
    let b = attrs_of(|b| {
        b.put_u32(1, 3).put_u32(3, 7);
    });
    let p = strict(&BIND_TX_POLICY, &b).unwrap();
    assert_eq!(p.get(1).unwrap().u32(), Ok(3));
    assert_eq!(p.get(1).unwrap().offset, 20);
    assert_eq!(p.get(3).unwrap().u32(), Ok(7));
    assert_eq!(p.get(3).unwrap().offset, 28);
    assert_eq!(p.warning, None);
}

#[test]
fn missing_attribute_sets_miss_type_only() {
    let b = attrs_of(|b| {
        b.put_u32(3, 7);
    });
    let p = strict(&BIND_TX_POLICY, &b).unwrap();
    let e = p.require(1, None).unwrap_err();
    assert_eq!(e.errno, EINVAL);
    assert_eq!(e.missing_type, Some(1));
    assert_eq!(e.missing_nest_offset, None);
    assert_eq!(e.msg, None);
    assert_eq!(e.bad_attr_offset, None);
}

#[test]
fn missing_attribute_in_nest_reports_the_nest() {
    let b = attrs_of(|b| {
        b.put_u32(2, 5).put_u32(3, 0);
        let n = b.nest_start(8);
        b.put_u32(1, 2);
        b.nest_end(n);
    });
    let p = strict(&QUEUE_CREATE_POLICY, &b).unwrap();
    let lease = p.get(8).unwrap();
    assert_eq!(lease.offset, 36);
    let inner = parse_nested(&LEASE_POLICY, &lease).unwrap();
    let e = inner.require(2, Some(&lease)).unwrap_err();
    assert_eq!(
        (e.errno, e.missing_type, e.missing_nest_offset),
        (EINVAL, Some(2), Some(36))
    );
}

#[test]
fn below_min_is_erange_integer_out_of_range() {
    let b = attrs_of(|b| {
        b.put_u32(3, 7).put_u32(1, 0);
    });
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(e.errno, ERANGE);
    assert_eq!(msg_of(&e), Some("integer out of range"));
    assert_eq!(e.bad_attr_offset, Some(28));
    assert_eq!(e.policy, Some(AttrPolicy::new(PolicyType::U32).min(1)));
}

#[test]
fn above_max_is_erange() {
    let b = attrs_of(|b| {
        b.put_u32(2, 1).put_u32(3, 2).put_u32(1, 0);
    });
    let e = strict(&QUEUE_GET_DO_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (ERANGE, Some("integer out of range"), Some(28))
    );
    // napi-set threaded max 2, defer-hard-irqs max S32_MAX.
    let b = attrs_of(|b| {
        b.put_u32(5, 0x8000_0000);
    });
    assert_eq!(strict(&NAPI_SET_POLICY, &b).unwrap_err().errno, ERANGE);
    let b = attrs_of(|b| {
        b.put_u32(5, 0x7fff_ffff).put_u32(8, 2);
    });
    assert!(strict(&NAPI_SET_POLICY, &b).is_ok());
}

#[test]
fn signed_min_in_lease_nest() {
    let b = attrs_of(|b| {
        let n = b.nest_start(8);
        b.put_u32(1, 2).put_s32(3, -1);
        b.nest_end(n);
    });
    let e = strict(&QUEUE_CREATE_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (ERANGE, Some("integer out of range"))
    );
    // nest at 20, header 4, ifindex 8 bytes: netns-id at 32.
    assert_eq!(e.bad_attr_offset, Some(32));
    assert_eq!(e.policy, Some(AttrPolicy::new(PolicyType::S32).min(0)));
}

#[test]
fn wrong_length_strict_vs_liberal() {
    let short = attrs_of(|b| {
        b.put_u16(1, 3);
    });
    let e = strict(&BIND_TX_POLICY, &short).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (EINVAL, Some("invalid attribute length"), Some(20))
    );
    assert!(e.policy.is_some());
    // Liberal: only a kernel warning for the length, then too short for a u32.
    let e = liberal(&BIND_TX_POLICY, &short).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (ERANGE, Some("Attribute failed policy validation"))
    );
    // Liberal and too long: accepted, the value is the first four bytes.
    let long = attrs_of(|b| {
        b.put_u64(1, 3);
    });
    let p = liberal(&BIND_TX_POLICY, &long).unwrap();
    assert_eq!(p.get(1).map(|a| a.value.len()), Some(8));
    let e = strict(&BIND_TX_POLICY, &long).unwrap_err();
    assert_eq!(msg_of(&e), Some("invalid attribute length"));
}

#[test]
fn uint_must_be_4_or_8_in_every_mode() {
    let b = attrs_of(|b| {
        b.put_bytes(4, &[1, 0]);
    });
    for e in [
        strict(&QSTATS_GET_POLICY, &b).unwrap_err(),
        liberal(&QSTATS_GET_POLICY, &b).unwrap_err(),
    ] {
        assert_eq!(
            (e.errno, msg_of(&e)),
            (EINVAL, Some("invalid attribute length"))
        );
    }
}

#[test]
fn mask_reserved_bit() {
    let b = attrs_of(|b| {
        b.put_uint(4, 2);
    });
    let e = strict(&QSTATS_GET_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset, e.policy),
        (EINVAL, Some("reserved bit set"), Some(20), None)
    );
    let b = attrs_of(|b| {
        b.put_uint(4, 1);
    });
    assert!(strict(&QSTATS_GET_POLICY, &b).is_ok());
}

#[test]
fn above_maxtype_is_unknown_attribute_type() {
    let b = attrs_of(|b| {
        b.put_u32(1, 3).put_u32(4, 9);
    });
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset, e.policy),
        (EINVAL, Some("Unknown attribute type"), Some(28), None)
    );
    // Type 0 too.
    let b = attrs_of(|b| {
        b.put_u32(0, 3);
    });
    assert_eq!(
        msg_of(&strict(&BIND_TX_POLICY, &b).unwrap_err()),
        Some("Unknown attribute type")
    );
    // Liberal: silently skipped, not in tb[].
    let b = attrs_of(|b| {
        b.put_u32(1, 3).put_u32(4, 9);
    });
    let p = liberal(&BIND_TX_POLICY, &b).unwrap();
    assert!(p.get(4).is_none());
    assert_eq!(p.iter().count(), 1);
}

#[test]
fn unspec_within_maxtype_is_unsupported_attribute() {
    // bind-tx: QUEUES (2) is below maxattr FD (3) but has no policy entry.
    let b = attrs_of(|b| {
        b.put_u32(1, 3);
        let n = b.nest_start(2);
        b.nest_end(n);
    });
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset, e.policy),
        (EINVAL, Some("Unsupported attribute"), Some(28), None)
    );
    assert!(liberal(&BIND_TX_POLICY, &b).is_ok());
}

#[test]
fn nested_flag_rules() {
    let b = attrs_of(|b| {
        b.put_u32(2, 1);
        let n = b.nest_start_noflag(8);
        b.put_u32(1, 2);
        b.nest_end(n);
    });
    let e = strict(&QUEUE_CREATE_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (EINVAL, Some("NLA_F_NESTED is missing"), Some(28))
    );
    assert_eq!(e.policy.map(|p| p.ty), Some(PolicyType::Nested));
    assert!(liberal(&QUEUE_CREATE_POLICY, &b).is_ok());

    let b = attrs_of(|b| {
        b.put_raw(1 | uapi::netlink::NLA_F_NESTED, &3u32.to_ne_bytes());
    });
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (EINVAL, Some("NLA_F_NESTED not expected"))
    );
}

#[test]
fn bad_nest_payload() {
    // A nest of 2 bytes: too short to hold an attribute.
    let b = attrs_of(|b| {
        b.put_raw(8 | uapi::netlink::NLA_F_NESTED, &[0, 0]);
    });
    let e = strict(&QUEUE_CREATE_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (ERANGE, Some("Attribute failed policy validation"), Some(20))
    );
    // An empty nest is fine.
    let b = attrs_of(|b| {
        let n = b.nest_start(8);
        b.nest_end(n);
    });
    assert!(strict(&QUEUE_CREATE_POLICY, &b).is_ok());
    // Unknown type inside the nested queue-id.
    let b = attrs_of(|b| {
        let l = b.nest_start(8);
        let q = b.nest_start(2);
        b.put_u32(9, 0);
        b.nest_end(q);
        b.nest_end(l);
    });
    let e = strict(&QUEUE_CREATE_POLICY, &b).unwrap_err();
    assert_eq!(
        (msg_of(&e), e.bad_attr_offset),
        (Some("Unknown attribute type"), Some(28))
    );
}

#[test]
fn trailing_bytes() {
    let mut b = attrs_of(|b| {
        b.put_u32(1, 3);
    });
    b.extend_from_slice(&[0xaa, 0xbb]);
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (
            EINVAL,
            Some("bytes leftover after parsing attributes"),
            None
        )
    );
    let p = liberal(&BIND_TX_POLICY, &b).unwrap();
    assert_eq!(p.warning, Some("bytes leftover after parsing attributes"));
    // An attribute running past the end stops the walk the same way.
    let mut b = attrs_of(|b| {
        b.put_u32(1, 3);
    });
    b.extend_from_slice(&[40, 0, 3, 0, 1, 2, 3, 4]);
    let e = strict(&BIND_TX_POLICY, &b).unwrap_err();
    assert_eq!(msg_of(&e), Some("bytes leftover after parsing attributes"));
    // The warning rides along into a later missing-attribute error.
    let p = liberal(&BIND_TX_POLICY, &b).unwrap();
    let e = p.require(3, None).unwrap_err();
    assert_eq!(
        (e.missing_type, msg_of(&e)),
        (Some(3), Some("bytes leftover after parsing attributes"))
    );
}

static RECURSIVE: Policy = Policy::new(
    "recursive",
    1,
    &[AttrPolicy::UNSPEC, AttrPolicy::nested(&RECURSIVE)],
);

#[test]
fn recursion_depth_limit() {
    fn nest(depth: usize) -> Vec<u8> {
        let mut inner: Vec<u8> = Vec::new();
        for _ in 0..depth {
            let mut v = Vec::new();
            v.extend_from_slice(&((4 + inner.len()) as u16).to_ne_bytes());
            v.extend_from_slice(&(1u16 | uapi::netlink::NLA_F_NESTED).to_ne_bytes());
            v.extend_from_slice(&inner);
            inner = v;
        }
        inner
    }
    // The top level parses at depth 0 and nest k's payload at depth k. The innermost
    // nest is empty and not descended into, so 10 levels parse; 11 need depth 10.
    assert!(strict(&RECURSIVE, &nest(10)).is_ok());
    let e = strict(&RECURSIVE, &nest(11)).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.bad_attr_offset),
        (
            EINVAL,
            Some("allowed policy recursion depth exceeded"),
            None
        )
    );
}

#[test]
fn multi_attr_last_wins_all_in_order() {
    let b = attrs_of(|b| {
        b.put_u32(1, 2).put_u32(3, 9);
        for (id, ty) in [(0u32, 0u32), (1, 0)] {
            let n = b.nest_start(2);
            b.put_u32(1, id).put_u32(3, ty);
            b.nest_end(n);
        }
    });
    let p = strict(&BIND_RX_POLICY, &b).unwrap();
    let all: Vec<_> = p.all(2).collect();
    assert_eq!(all.len(), 2);
    let ids: Vec<u32> = all
        .iter()
        .map(|q| {
            parse_nested(&QUEUE_ID_POLICY, q)
                .unwrap()
                .get(1)
                .unwrap()
                .u32()
                .unwrap()
        })
        .collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(p.get(2).map(|a| a.offset), Some(all[1].offset));
}

#[test]
fn nul_string_policy() {
    let ok = attrs_of(|b| {
        b.put_str(CTRL_ATTR_FAMILY_NAME, "netdev");
    });
    assert!(strict(&CTRL_POLICY_FAMILY, &ok).is_ok());
    let no_nul = attrs_of(|b| {
        b.put_bytes(CTRL_ATTR_FAMILY_NAME, b"netdev");
    });
    let e = liberal(&CTRL_POLICY_FAMILY, &no_nul).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (EINVAL, Some("Attribute failed policy validation"))
    );
    let long = attrs_of(|b| {
        b.put_str(CTRL_ATTR_FAMILY_NAME, "a-name-of-16-chr");
    });
    // The NUL must sit within the first len + 1 bytes: a 16-character name fails there.
    let e = liberal(&CTRL_POLICY_FAMILY, &long).unwrap_err();
    assert_eq!(e.errno, EINVAL);
    // NUL early but bytes after it: the length check (ERANGE) catches it.
    let padded = attrs_of(|b| {
        b.put_bytes(CTRL_ATTR_FAMILY_NAME, b"abc\0aaaaaaaaaaaaa");
    });
    let e = liberal(&CTRL_POLICY_FAMILY, &padded).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (ERANGE, Some("Attribute failed policy validation"))
    );
    let fifteen = attrs_of(|b| {
        b.put_str(CTRL_ATTR_FAMILY_NAME, "name-of-15-chrs");
    });
    assert!(liberal(&CTRL_POLICY_FAMILY, &fifteen).is_ok());
}

#[test]
fn flag_binary_and_reject() {
    static P: Policy = Policy::new(
        "test",
        4,
        &[
            AttrPolicy::UNSPEC,
            AttrPolicy::new(PolicyType::Flag),
            AttrPolicy::exact_len(6),
            AttrPolicy::reject(Some("no, thanks")),
            AttrPolicy::reject(None),
        ],
    );
    let b = attrs_of(|b| {
        b.put_u8(1, 1);
    });
    let e = strict(&P, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (ERANGE, Some("Attribute failed policy validation"))
    );
    let b = attrs_of(|b| {
        b.put_bytes(2, &[0; 5]);
    });
    let e = strict(&P, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (ERANGE, Some("binary attribute size out of range"))
    );
    let b = attrs_of(|b| {
        b.put_flag(1).put_bytes(2, &[0; 6]);
    });
    assert!(strict(&P, &b).is_ok());
    let b = attrs_of(|b| {
        b.put_flag(3);
    });
    let e = strict(&P, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.policy),
        (EINVAL, Some("no, thanks"), None)
    );
    let b = attrs_of(|b| {
        b.put_flag(4);
    });
    let e = strict(&P, &b).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e)),
        (EINVAL, Some("Attribute failed policy validation"))
    );
}

#[test]
fn parse_nested_requires_flag() {
    let m = MsgBuilder::new(0x20, 1, 1, 0)
        .genl(1, 1)
        .raw_header(&[8, 0, 8, 0, 8, 0, 1, 0, 2, 0, 0, 0][..8])
        .finish();
    let msg = messages(&m).next().unwrap().unwrap();
    let (_, mut attrs) = msg.genl_attrs().unwrap();
    let a = attrs.next().unwrap().unwrap();
    let e = parse_nested(&LEASE_POLICY, &a).unwrap_err();
    assert_eq!(
        (e.errno, msg_of(&e), e.policy),
        (EINVAL, Some("NLA_F_NESTED is missing"), None)
    );
    assert!(parse_nested_deprecated(&LEASE_POLICY, &a).is_ok());
}
