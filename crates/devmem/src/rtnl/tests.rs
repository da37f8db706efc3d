//! Golden rtnetlink requests (hand-annotated, x86_64) and link reply parsing.

use super::*;
use crate::testutil::*;

fn client(script: Vec<Responder>) -> (RtnlClient<Mock>, std::rc::Rc<std::cell::RefCell<Log>>) {
    let (mock, log) = Mock::new(script);
    (RtnlClient::new(mock), log)
}

#[test]
fn netkit_create_golden_selftest_layout() {
    let (mut c, log) = client(vec![reply_then_ack(vec![])]);
    c.netkit_create(&NetkitSpec::selftest(2)).unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x54, 0, 0, 0,    // nlmsg_len 84
        16, 0,            // RTM_NEWLINK
        0x05, 0x06,       // NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE
        1, 0, 0, 0,       // seq 1
        0, 0, 0, 0,       // pid 0
        0, 0, 0, 0,       // ifinfomsg: family, pad, type
        0, 0, 0, 0,       //   ifi_index 0
        0, 0, 0, 0,       //   ifi_flags
        0, 0, 0, 0,       //   ifi_change
        44, 0, 18, 0x80,  // IFLA_LINKINFO | NLA_F_NESTED
        11, 0, 1, 0,      //   IFLA_INFO_KIND
        b'n', b'e', b't', b'k', b'i', b't', 0, 0, // "netkit\0" + pad
        28, 0, 2, 0x80,   //   IFLA_INFO_DATA | NLA_F_NESTED
        8, 0, 5, 0,       //     IFLA_NETKIT_MODE
        0, 0, 0, 0,       //       = l2
        8, 0, 3, 0,       //     IFLA_NETKIT_POLICY
        0, 0, 0, 0,       //       = forward (NETKIT_PASS)
        8, 0, 4, 0,       //     IFLA_NETKIT_PEER_POLICY
        0, 0, 0, 0,       //       = forward
        8, 0, 32, 0,      // IFLA_NUM_RX_QUEUES
        2, 0, 0, 0,       //   = 2
    ];
    assert_eq!(log.borrow().sent[0].0, golden);
}

#[test]
fn netkit_create_golden_named_single_with_peer() {
    let (mut c, log) = client(vec![nack(uapi::errno::EOPNOTSUPP, None)]);
    let spec = NetkitSpec {
        name: Some("nk0".into()),
        peer_name: Some("nk1".into()),
        mode: NetkitMode::L3,
        policy: NetkitAction::Drop,
        peer_policy: Some(NetkitAction::Pass),
        pairing: Some(NetkitPairing::Pair),
        num_rx_queues: Some(4),
        peer_num_rx_queues: Some(3),
    };
    let e = c.netkit_create(&spec).unwrap_err();
    assert_eq!(e.errno(), Some(uapi::errno::EOPNOTSUPP));
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x88, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // ifinfomsg, zeroed
        8, 0, 3, 0,       // IFLA_IFNAME
        b'n', b'k', b'0', 0,
        88, 0, 18, 0x80,  // IFLA_LINKINFO | NLA_F_NESTED
        11, 0, 1, 0,      //   IFLA_INFO_KIND
        b'n', b'e', b't', b'k', b'i', b't', 0, 0,
        72, 0, 2, 0x80,   //   IFLA_INFO_DATA | NLA_F_NESTED
        8, 0, 5, 0,       //     IFLA_NETKIT_MODE
        1, 0, 0, 0,       //       = l3
        8, 0, 3, 0,       //     IFLA_NETKIT_POLICY
        2, 0, 0, 0,       //       = blackhole (NETKIT_DROP)
        8, 0, 4, 0,       //     IFLA_NETKIT_PEER_POLICY
        0, 0, 0, 0,       //       = forward
        8, 0, 10, 0,      //     IFLA_NETKIT_PAIRING
        0, 0, 0, 0,       //       = pair
        36, 0, 1, 0,      //     IFLA_NETKIT_PEER_INFO (no NLA_F_NESTED, as iproute2)
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // peer ifinfomsg
        8, 0, 3, 0,       //       IFLA_IFNAME
        b'n', b'k', b'1', 0,
        8, 0, 32, 0,      //       IFLA_NUM_RX_QUEUES
        3, 0, 0, 0,       //         = 3
        8, 0, 32, 0,      // IFLA_NUM_RX_QUEUES
        4, 0, 0, 0,       //   = 4
    ];
    assert_eq!(log.borrow().sent[0].0, golden);
}

#[test]
fn veth_and_link_ops_golden() {
    let (mut c, log) = client(vec![
        reply_then_ack(vec![]),
        reply_then_ack(vec![]),
        reply_then_ack(vec![]),
    ]);
    c.veth_create("v0", "v1").unwrap();
    c.link_set_up(5, true).unwrap();
    c.link_del(5).unwrap();
    #[rustfmt::skip]
    let veth: &[u8] = &[
        0x58, 0, 0, 0, 16, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // nlmsg_len 88
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        7, 0, 3, 0, b'v', b'0', 0, 0,      // IFLA_IFNAME "v0"
        48, 0, 18, 0x80,                   // IFLA_LINKINFO | NLA_F_NESTED
        9, 0, 1, 0, b'v', b'e', b't', b'h', 0, 0, 0, 0, // IFLA_INFO_KIND "veth"
        32, 0, 2, 0x80,                    //   IFLA_INFO_DATA | NLA_F_NESTED
        28, 0, 1, 0,                       //     VETH_INFO_PEER
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        7, 0, 3, 0, b'v', b'1', 0, 0,      //       IFLA_IFNAME "v1"
    ];
    assert_eq!(log.borrow().sent[0].0, veth);
    #[rustfmt::skip]
    let up: &[u8] = &[
        0x20, 0, 0, 0, 16, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWLINK, REQUEST|ACK
        0, 0, 0, 0,       // family, pad, type
        5, 0, 0, 0,       // ifi_index 5
        1, 0, 0, 0,       // ifi_flags IFF_UP
        1, 0, 0, 0,       // ifi_change IFF_UP
    ];
    assert_eq!(log.borrow().sent[1].0, up);
    let del = &log.borrow().sent[2].0;
    assert_eq!(&del[4..6], &[17, 0]); // RTM_DELLINK
    assert_eq!(&del[20..24], &[5, 0, 0, 0]);
}

#[test]
fn addr_and_route_golden() {
    let (mut c, log) = client(vec![reply_then_ack(vec![]), reply_then_ack(vec![])]);
    c.addr_add(3, "2001:db8::2".parse().unwrap(), 64, true)
        .unwrap();
    c.route_add(
        "0.0.0.0".parse().unwrap(),
        0,
        Some("192.0.2.1".parse().unwrap()),
        3,
    )
    .unwrap();
    let mut a6 = [0u8; 16];
    a6[..4].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
    a6[15] = 2;
    let mut addr: Vec<u8> = vec![
        0x40, 0, 0, 0, 20, 0, 0x05, 0x06, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWADDR, CREATE|EXCL
        10, 64, 2, 0, // ifaddrmsg: AF_INET6, /64, IFA_F_NODAD, scope 0
        3, 0, 0, 0, //   ifa_index 3
        20, 0, 2, 0, // IFA_LOCAL
    ];
    addr.extend_from_slice(&a6);
    addr.extend_from_slice(&[20, 0, 1, 0]); // IFA_ADDRESS
    addr.extend_from_slice(&a6);
    assert_eq!(log.borrow().sent[0].0, addr);
    #[rustfmt::skip]
    let route: &[u8] = &[
        0x2c, 0, 0, 0, 24, 0, 0x05, 0x06, 2, 0, 0, 0, 0, 0, 0, 0, // RTM_NEWROUTE
        2, 0, 0, 0,       // rtmsg: AF_INET, dst_len 0, src_len 0, tos 0
        254, 3, 0, 1,     //   table main, proto boot, scope universe, type unicast
        0, 0, 0, 0,       //   rtm_flags
        8, 0, 5, 0,       // RTA_GATEWAY (no RTA_DST for a default route)
        192, 0, 2, 1,
        8, 0, 4, 0,       // RTA_OIF
        3, 0, 0, 0,
    ];
    assert_eq!(log.borrow().sent[1].0, route);
    let (mut c, _log) = client(vec![]);
    assert!(
        c.route_add(
            "2001:db8::".parse().unwrap(),
            64,
            Some("192.0.2.1".parse().unwrap()),
            3
        )
        .is_err()
    );
}

fn newlink(index: i32, flags: u32, name: &str, kind: Option<&str>, nsid: Option<i32>) -> Vec<u8> {
    let hdr = IfInfoMsg {
        ifi_index: index,
        ifi_flags: flags,
        ..Default::default()
    };
    let mut b = MsgBuilder::new(RTM_NEWLINK, 0, 0, PORTID).raw_header(&hdr.to_bytes());
    b.put_str(IFLA_IFNAME, name).put_u32(IFLA_MTU, 1500);
    if let Some(k) = kind {
        let li = b.nest_start(IFLA_LINKINFO);
        b.put_str(IFLA_INFO_KIND, k);
        b.nest_end(li);
    }
    if let Some(n) = nsid {
        b.put_s32(IFLA_LINK_NETNSID, n);
    }
    b.finish()
}

#[test]
fn link_replies_parse() {
    let (mut c, log) = client(vec![
        reply_then_ack(vec![newlink(1, IFF_UP | IFF_LOOPBACK, "lo", None, None)]),
        dump_reply(vec![
            newlink(1, IFF_UP, "lo", None, None),
            newlink(7, 0, "nk0", Some("netkit"), Some(0)),
        ]),
    ]);
    let lo = c.link_get_by_name("lo").unwrap();
    assert_eq!(
        (lo.ifindex, lo.name.as_str(), lo.is_up(), lo.kind.as_deref()),
        (1, "lo", true, None)
    );
    #[rustfmt::skip]
    let get: &[u8] = &[
        0x28, 0, 0, 0, 18, 0, 0x05, 0, 1, 0, 0, 0, 0, 0, 0, 0, // RTM_GETLINK, REQUEST|ACK
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        7, 0, 3, 0, b'l', b'o', 0, 0, // IFLA_IFNAME "lo"
    ];
    assert_eq!(log.borrow().sent[0].0, get);
    let links = c.link_dump().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(links[1].kind.as_deref(), Some("netkit"));
    assert_eq!(links[1].link_netnsid, Some(0));
    assert!(!links[1].is_up());
    assert_eq!(&log.borrow().sent[1].0[6..8], &[0x05, 0x03]);
}
