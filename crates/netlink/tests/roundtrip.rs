//! Property tests: what the builder writes the parsers read back, and arbitrary bytes
//! never panic any decoder.
#![allow(clippy::unwrap_used)]

use netlink::ack::{AckOpts, ack};
use netlink::attr::Attr;
use netlink::client::{ErrorMsg, Request, parse_error};
use netlink::family::ctrl::{FamilyInfo, McastGroup, OpInfo, family_reply, parse_family};
use netlink::family::{Caps, netdev};
use netlink::msg::{MsgBuilder, messages};
use netlink::policy::{ExtAckError, Strictness, parse};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Tlv {
    Bytes(u16, Vec<u8>),
    Nest(u16, Vec<Tlv>),
}

fn tlv() -> impl Strategy<Value = Tlv> {
    let leaf = (1u16..0x3fff, prop::collection::vec(any::<u8>(), 0..24))
        .prop_map(|(t, v)| Tlv::Bytes(t, v));
    leaf.prop_recursive(3, 24, 4, |inner| {
        (1u16..0x3fff, prop::collection::vec(inner, 0..4)).prop_map(|(t, v)| Tlv::Nest(t, v))
    })
}

fn put(b: &mut MsgBuilder, t: &Tlv) {
    match t {
        Tlv::Bytes(ty, v) => {
            b.put_bytes(*ty, v);
        }
        Tlv::Nest(ty, inner) => {
            let n = b.nest_start(*ty);
            for i in inner {
                put(b, i);
            }
            b.nest_end(n);
        }
    }
}

/// Reads `a` back as the shape `t` and checks offsets grow in message order.
fn check(a: &Attr<'_>, t: &Tlv) {
    match t {
        Tlv::Bytes(ty, v) => {
            assert_eq!((a.ty, a.nested, a.value), (*ty, false, &v[..]));
        }
        Tlv::Nest(ty, inner) => {
            assert_eq!((a.ty, a.nested), (*ty, true));
            let got: Vec<_> = a.attrs().collect::<Result<_, _>>().unwrap();
            assert_eq!(got.len(), inner.len());
            let mut prev = a.offset;
            for (g, i) in got.iter().zip(inner) {
                assert!(g.offset >= prev + 4);
                prev = g.offset;
                check(g, i);
            }
        }
    }
}

proptest! {
    #[test]
    fn builder_parser_round_trip(
        ty in 0x10u16..0xffff, flags in any::<u16>(), seq in any::<u32>(), pid in any::<u32>(),
        cmd in any::<u8>(), tlvs in prop::collection::vec(tlv(), 0..6),
    ) {
        let mut b = MsgBuilder::new(ty, flags, seq, pid).genl(cmd, 1);
        for t in &tlvs {
            put(&mut b, t);
        }
        let len = b.len();
        let bytes = b.finish();
        prop_assert_eq!(bytes.len(), len);
        let msgs: Vec<_> = messages(&bytes).collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(msgs.len(), 1);
        let m = msgs[0];
        prop_assert_eq!((m.hdr.nlmsg_type, m.hdr.nlmsg_flags, m.hdr.nlmsg_seq, m.hdr.nlmsg_pid), (ty, flags, seq, pid));
        prop_assert_eq!(m.hdr.nlmsg_len as usize, bytes.len());
        let (g, attrs) = m.genl_attrs().unwrap();
        prop_assert_eq!(g.cmd, cmd);
        let got: Vec<_> = attrs.collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(got.len(), tlvs.len());
        for (a, t) in got.iter().zip(&tlvs) {
            // The offset points at the attribute's own header inside the message.
            let raw = u16::from_ne_bytes([bytes[a.offset + 2], bytes[a.offset + 3]]);
            prop_assert_eq!(raw, a.raw_type());
            check(a, t);
        }
    }

    #[test]
    fn uint_round_trip(v in any::<u64>(), s in any::<i64>()) {
        let mut b = MsgBuilder::new(0x10, 0, 0, 0);
        b.put_uint(1, v).put_sint(2, s);
        let bytes = b.finish();
        let m = messages(&bytes).next().unwrap().unwrap();
        let attrs: Vec<_> = m.attrs(0).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(attrs[0].value.len(), if v <= u64::from(u32::MAX) { 4 } else { 8 });
        prop_assert_eq!(attrs[0].uint(), Ok(v));
        prop_assert_eq!(attrs[1].sint(), Ok(s));
    }

    #[test]
    fn ack_tlvs_round_trip_through_the_client(
        errno in 1i32..134, msg in proptest::option::of("[a-z ]{0,40}"),
        miss in proptest::option::of(1u16..100), cap in any::<bool>(), offs in proptest::option::of(16u32..36),
    ) {
        let mut req = MsgBuilder::new(0x20, 5, 42, 0).genl(15, 1);
        req.put_u32(1, 1).put_u32(3, 3);
        let req = req.finish();
        let mut e = ExtAckError::new(errno);
        e.msg = msg.clone().map(Into::into);
        e.missing_type = miss;
        e.bad_attr_offset = offs;
        let a = ack(&req, Some(&e), AckOpts { cap_ack: cap, ext_ack: true }, 9);
        let m = messages(&a).next().unwrap().unwrap();
        let ErrorMsg::Nack(got) = parse_error(m.hdr.nlmsg_flags, m.payload).unwrap() else { panic!() };
        prop_assert_eq!(got.errno, errno);
        prop_assert_eq!(got.msg, msg);
        prop_assert_eq!(got.missing_type, miss);
        prop_assert_eq!(got.bad_attr_offset, offs);
        let mut r = Request::for_message(&req).unwrap();
        prop_assert!(r.handle_datagram(&a).is_ok());
        prop_assert!(r.is_done());
    }

    #[test]
    fn family_info_round_trip(
        id in any::<u16>(), name in "[a-z_]{1,15}", version in any::<u32>(), maxattr in any::<u32>(),
        ops in prop::collection::vec((any::<u32>(), any::<u32>()), 0..8),
        groups in prop::collection::vec(("[a-z-]{1,15}", any::<u32>()), 0..4),
    ) {
        let info = FamilyInfo {
            id, name, version, hdrsize: 0, maxattr,
            ops: ops.into_iter().map(|(id, flags)| OpInfo { id, flags }).collect(),
            mcast_groups: groups.into_iter().map(|(name, id)| McastGroup { name, id }).collect(),
        };
        let bytes = family_reply(&info, 1, 2, 0, uapi::genetlink::CTRL_CMD_NEWFAMILY);
        let m = messages(&bytes).next().unwrap().unwrap();
        prop_assert_eq!(parse_family(&m).unwrap(), info);
    }

    /// Arbitrary bytes: every decoder returns, none panics.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for m in messages(&bytes).flatten() {
            if let Ok((_, attrs)) = m.genl_attrs() {
                for a in attrs.flatten() {
                    for inner in a.attrs().flatten() {
                        let _ = (inner.u32(), inner.str(), inner.uint());
                    }
                }
            }
            let _ = netdev::FAMILY.rcv_msg(&m, Caps { net_admin: true, ns_net_admin: true });
            let _ = parse_family(&m);
            let _ = parse_error(m.hdr.nlmsg_flags, m.payload);
            let _ = ack(m.raw, Some(&ExtAckError::new(22).msg("x")), AckOpts { cap_ack: false, ext_ack: true }, 1);
        }
        for op in netdev::OPS.iter().filter_map(|o| o.policy) {
            let _ = parse(op, &bytes, 20, Strictness::STRICT);
            let _ = parse(op, &bytes, 20, Strictness::LIBERAL);
        }
        let mut r = Request::new(0, true, false);
        let _ = r.handle_datagram(&bytes);
    }
}
