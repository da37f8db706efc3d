use super::*;
use crate::ack::{AckOpts, ack, done};
use crate::msg::MsgBuilder;
use crate::policy::ExtAckError;

fn request(seq: u32, flags: u16) -> Vec<u8> {
    let mut b = MsgBuilder::new(0x20, NLM_F_REQUEST | flags, seq, 0).genl(1, 1);
    b.put_u32(1, 2);
    b.finish()
}

fn reply(seq: u32, flags: u16, v: u32) -> Vec<u8> {
    let mut b = MsgBuilder::new(0x20, flags, seq, 77).genl(1, 1);
    b.put_u32(1, v);
    b.finish()
}

#[test]
fn do_without_ack_completes_on_reply() {
    let req = request(5, 0);
    let mut r = Request::for_message(&req).unwrap();
    assert_eq!(r.seq(), 5);
    let p = r.handle_datagram(&reply(5, 0, 9)).unwrap();
    let Progress::Done(Ok(msgs)) = p else {
        panic!("{p:?}")
    };
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].to_bytes(), reply(5, 0, 9));
    assert!(r.is_done());
}

#[test]
fn do_with_ack_waits_for_the_ack() {
    let req = request(6, NLM_F_ACK);
    let mut r = Request::for_message(&req).unwrap();
    assert_eq!(
        r.handle_datagram(&reply(6, 0, 1)).unwrap(),
        Progress::Pending
    );
    let a = ack(
        &req,
        None,
        AckOpts {
            cap_ack: false,
            ext_ack: true,
        },
        77,
    );
    let Progress::Done(Ok(msgs)) = r.handle_datagram(&a).unwrap() else {
        panic!()
    };
    assert_eq!(msgs.len(), 1);
}

#[test]
fn dump_gathers_until_done_in_one_datagram() {
    let req = request(7, NLM_F_DUMP);
    let mut r = Request::for_message(&req).unwrap();
    let mut d = reply(7, NLM_F_MULTI, 1);
    d.extend(reply(99, 0, 5)); // a notification in between
    d.extend(reply(7, NLM_F_MULTI, 2));
    assert_eq!(r.handle_datagram(&d).unwrap(), Progress::Pending);
    let Progress::Done(Ok(msgs)) = r
        .handle_datagram(&done(7, 77, 0, None, AckOpts::default()))
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(msgs.len(), 2);
    assert_eq!(r.unrelated.len(), 1);
    assert_eq!(r.unrelated[0].hdr.nlmsg_seq, 99);
}

#[test]
fn error_ack_maps_every_tlv() {
    let req = request(8, NLM_F_ACK);
    let mut e = ExtAckError::new(34).msg("integer out of range");
    e.bad_attr_offset = Some(20);
    e.missing_type = Some(3);
    e.missing_nest_offset = Some(20);
    for opts in [
        AckOpts {
            cap_ack: true,
            ext_ack: true,
        },
        AckOpts {
            cap_ack: false,
            ext_ack: true,
        },
    ] {
        let mut r = Request::for_message(&req).unwrap();
        let Progress::Done(Err(err)) = r.handle_datagram(&ack(&req, Some(&e), opts, 1)).unwrap()
        else {
            panic!()
        };
        assert_eq!(err.errno, 34);
        assert_eq!(err.msg.as_deref(), Some("integer out of range"));
        assert_eq!(
            (
                err.bad_attr_offset,
                err.missing_type,
                err.missing_nest_offset
            ),
            (Some(20), Some(3), Some(20))
        );
        assert_eq!(
            err.to_string(),
            "Netlink error: Numerical result out of range (errno 34): integer out of range \
             (bad-attr-offs 20) (miss-type 3) (miss-nest 20)"
        );
    }
}

#[test]
fn error_in_done_fails_the_dump() {
    let mut r = Request::new(3, true, false);
    let e = ExtAckError::new(19).msg("gone");
    let d = done(
        3,
        1,
        19,
        Some(&e),
        AckOpts {
            cap_ack: false,
            ext_ack: true,
        },
    );
    let Progress::Done(Err(err)) = r.handle_datagram(&d).unwrap() else {
        panic!()
    };
    assert_eq!((err.errno, err.msg.as_deref()), (19, Some("gone")));
}

#[test]
fn malformed_datagram_is_an_error_not_a_panic() {
    let mut r = Request::new(3, true, false);
    assert!(r.handle_datagram(&[1, 2, 3]).is_err());
    let mut bad = reply(3, NLM_F_MULTI, 1);
    bad[4] = NLMSG_ERROR as u8;
    bad.truncate(20);
    bad[0] = 20;
    assert!(r.handle_datagram(&bad).is_err());
    assert!(!r.is_done());
}
