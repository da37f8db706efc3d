//! Golden request bytes (hand-annotated, x86_64) and reply parsing.
//!
//! Replies marked "probe" are the real kernel's bytes, captured on this machine by
//! /work/notes/probe.py (Linux 6.18, netdev family id 20, port id 0x1171, seq 7: the
//! mock rewrites seq to match the request).

use super::*;
use crate::testutil::*;

fn client(script: Vec<Responder>) -> (NetdevClient<Mock>, std::rc::Rc<std::cell::RefCell<Log>>) {
    let (mock, log) = Mock::new(script);
    (NetdevClient::new(mock), log)
}

fn sent(log: &std::rc::Rc<std::cell::RefCell<Log>>, i: usize) -> Vec<u8> {
    log.borrow().sent[i].0.clone()
}

/// probe: `dev-get {ifindex: 1}` reply for lo, then its ACK.
const DEVGET_LO: &str = "400000001400000007000000711100000101000008000100010000000c00030000000000000000000c00050000000000000000000c0006000000000000000000";
const ACK_DEVGET: &str = "24000000020000010700000071110000000000001c000000140005000700000000000000";

#[test]
fn dev_get_golden_and_probe_reply() {
    let (mut c, log) = client(vec![
        canned(vec![hex(DEVGET_LO), hex(ACK_DEVGET)]),
        canned(vec![hex(DEVGET_LO), hex(ACK_DEVGET)]),
    ]);
    let d = c.dev_get(1).unwrap();
    assert_eq!(
        d,
        DevInfo {
            ifindex: 1,
            xdp_features: 0,
            xdp_zc_max_segs: None,
            xdp_rx_metadata_features: 0,
            xsk_features: 0,
        }
    );
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x1c, 0, 0, 0,    // nlmsg_len 28
        20, 0,            // nlmsg_type: the netdev family id
        0x05, 0,          // NLM_F_REQUEST | NLM_F_ACK
        2, 0, 0, 0,       // seq 2 (seq 1 was the nlctrl lookup)
        0, 0, 0, 0,       // pid 0
        1, 1, 0, 0,       // genl: NETDEV_CMD_DEV_GET, version 1
        8, 0, 1, 0,       // NETDEV_A_DEV_IFINDEX
        1, 0, 0, 0,       //   = 1
    ];
    assert_eq!(sent(&log, 0), golden);
    // The family id is cached: the second request needs no lookup, seq moves on.
    c.dev_get(1).unwrap();
    assert_eq!(log.borrow().getfamily, 1);
    assert_eq!(sent(&log, 1)[8], 3);
}

/// probe: `dev-get` dump: lo, two more devices, and one with XDP features
/// 0x2b and `xdp-zc-max-segs` 1, then NLMSG_DONE, all in one datagram.
const DEVGET_DUMP: &str = "400000001400000007000000711100000101000008000100010000000c00030000000000000000000c00050000000000000000000c0006000000000000000000400000001400000007000000711100000101000008000100020000000c00030000000000000000000c00050000000000000000000c0006000000000000000000400000001400000007000000711100000101000008000100030000000c00030000000000000000000c00050000000000000000000c0006000000000000000000480000001400000007000000711100000101000008000100040000000c0003002b000000000000000c00050000000000000000000c000600000000000000000008000400010000001400000003000200070000007111000000000000";

#[test]
fn dev_dump_golden_and_probe_reply() {
    let (mut c, log) = client(vec![canned(vec![hex(DEVGET_DUMP)])]);
    let devs = c.dev_dump().unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x14, 0, 0, 0,    // nlmsg_len 20
        20, 0,            // netdev
        0x05, 0x03,       // NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP
        2, 0, 0, 0, 0, 0, 0, 0,
        1, 1, 0, 0,       // NETDEV_CMD_DEV_GET v1, no attributes
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!(
        devs.iter().map(|d| d.ifindex).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(devs[3].xdp_features, 0x2b);
    assert_eq!(devs[3].xdp_zc_max_segs, Some(1));
    assert_eq!(devs[0].xdp_zc_max_segs, None);
}

/// probe: `queue-get {ifindex 1, type rx, id 0}` reply: id 0, type rx, ifindex 1.
const QUEUEGET_LO: &str =
    "2c0000001400000007000000711100000a010000080001000000000008000300000000000800020001000000";

#[test]
fn queue_get_golden_and_probe_reply() {
    let (mut c, log) = client(vec![canned(vec![hex(QUEUEGET_LO), hex(ACK_DEVGET)])]);
    let q = c.queue_get(1, 0, QueueType::Rx).unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x2c, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        10, 1, 0, 0,      // NETDEV_CMD_QUEUE_GET v1
        8, 0, 2, 0,       // NETDEV_A_QUEUE_IFINDEX
        1, 0, 0, 0,       //   = 1
        8, 0, 3, 0,       // NETDEV_A_QUEUE_TYPE
        0, 0, 0, 0,       //   = rx
        8, 0, 1, 0,       // NETDEV_A_QUEUE_ID
        0, 0, 0, 0,       //   = 0
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!((q.id, q.r#type, q.ifindex), (0, QueueType::Rx, 1));
    assert_eq!(
        (q.napi_id, q.dmabuf, q.io_uring, q.xsk, q.lease),
        (None, None, false, false, None)
    );
}

/// A physical queue as `netdev_nl_queue_fill_one()` reports it while leased.
fn leased_queue(netns_id: Option<i32>) -> Vec<u8> {
    genl_msg(NETDEV_ID, NETDEV_CMD_QUEUE_GET, |b| {
        b.put_u32(NETDEV_A_QUEUE_ID, 3)
            .put_u32(NETDEV_A_QUEUE_TYPE, 0)
            .put_u32(NETDEV_A_QUEUE_IFINDEX, 2)
            .put_u32(NETDEV_A_QUEUE_NAPI_ID, 8195);
        let lease = b.nest_start(NETDEV_A_QUEUE_LEASE);
        let q = b.nest_start(NETDEV_A_LEASE_QUEUE);
        b.put_u32(NETDEV_A_QUEUE_ID, 1)
            .put_u32(NETDEV_A_QUEUE_TYPE, 0);
        b.nest_end(q);
        b.put_u32(NETDEV_A_LEASE_IFINDEX, 9);
        if let Some(ns) = netns_id {
            b.put_s32(NETDEV_A_LEASE_NETNS_ID, ns);
        }
        b.nest_end(lease);
        b.put_u32(NETDEV_A_QUEUE_DMABUF, 4);
        let io = b.nest_start(NETDEV_A_QUEUE_IO_URING);
        b.nest_end(io);
        b.put_u32(99, 1); // an attribute from the future: ignored
    })
}

#[test]
fn queue_reply_with_lease_nest() {
    let (mut c, _log) = client(vec![
        reply_then_ack(vec![leased_queue(Some(0))]),
        reply_then_ack(vec![leased_queue(None)]),
    ]);
    let q = c.queue_get(2, 3, QueueType::Rx).unwrap();
    assert_eq!(
        q,
        QueueInfo {
            id: 3,
            r#type: QueueType::Rx,
            ifindex: 2,
            napi_id: Some(8195),
            dmabuf: Some(4),
            io_uring: true,
            xsk: false,
            lease: Some(LeaseInfo {
                ifindex: 9,
                queue: (1, QueueType::Rx),
                netns_id: Some(0),
            }),
        }
    );
    let q = c.queue_get(2, 3, QueueType::Rx).unwrap();
    assert_eq!(q.lease.unwrap().netns_id, None);
    assert_eq!(q.lease.unwrap().ifindex, 9);
}

#[test]
fn queue_reply_missing_id_is_an_error() {
    let bad = genl_msg(NETDEV_ID, NETDEV_CMD_QUEUE_GET, |b| {
        b.put_u32(NETDEV_A_QUEUE_TYPE, 0)
            .put_u32(NETDEV_A_QUEUE_IFINDEX, 2);
    });
    let (mut c, _log) = client(vec![reply_then_ack(vec![bad])]);
    assert!(matches!(
        c.queue_get(2, 0, QueueType::Rx),
        Err(Error::MissingAttr("id"))
    ));
}

#[test]
fn queue_dump_golden() {
    let (mut c, log) = client(vec![dump_reply(vec![leased_queue(None), hex(QUEUEGET_LO)])]);
    let qs = c.queue_dump(Some(1)).unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x1c, 0, 0, 0, 20, 0, 0x05, 0x03, 2, 0, 0, 0, 0, 0, 0, 0,
        10, 1, 0, 0,      // NETDEV_CMD_QUEUE_GET v1, dump
        8, 0, 2, 0,       // NETDEV_A_QUEUE_IFINDEX
        1, 0, 0, 0,       //   = 1
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!(qs.len(), 2);
    assert_eq!(qs[1].ifindex, 1);
}

#[test]
fn bind_rx_golden() {
    let mut b = MsgBuilder::new(20, 0x05, 2, 0).genl(NETDEV_CMD_BIND_RX, 1);
    put_bind_rx(&mut b, 3, 5, &[(2, QueueType::Rx), (3, QueueType::Rx)]);
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x4c, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        13, 1, 0, 0,      // NETDEV_CMD_BIND_RX v1
        8, 0, 1, 0,       // NETDEV_A_DMABUF_IFINDEX
        3, 0, 0, 0,       //   = 3
        8, 0, 3, 0,       // NETDEV_A_DMABUF_FD
        5, 0, 0, 0,       //   = 5
        20, 0, 2, 0x80,   // NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED
        8, 0, 1, 0,       //   NETDEV_A_QUEUE_ID
        2, 0, 0, 0,       //     = 2
        8, 0, 3, 0,       //   NETDEV_A_QUEUE_TYPE
        0, 0, 0, 0,       //     = rx
        20, 0, 2, 0x80,   // NETDEV_A_DMABUF_QUEUES | NLA_F_NESTED
        8, 0, 1, 0,       //   NETDEV_A_QUEUE_ID
        3, 0, 0, 0,       //     = 3
        8, 0, 3, 0,       //   NETDEV_A_QUEUE_TYPE
        0, 0, 0, 0,       //     = rx
    ];
    assert_eq!(b.finish(), golden);
}

fn dmabuf_id_reply(cmd: u8, id: u32) -> Vec<u8> {
    genl_msg(NETDEV_ID, cmd, |b| {
        b.put_u32(NETDEV_A_DMABUF_ID, id);
    })
}

#[test]
fn bind_rx_passes_fd_by_number_and_rights() {
    let buf = crate::dmabuf::Dmabuf::memfd(4096).unwrap();
    let fd = buf.fd().as_raw_fd();
    let (mut c, log) = client(vec![reply_then_ack(vec![dmabuf_id_reply(
        NETDEV_CMD_BIND_RX,
        7,
    )])]);
    assert_eq!(c.bind_rx(3, buf.fd(), &[(1, QueueType::Rx)]).unwrap(), 7);
    let (bytes, fds) = log.borrow().sent[0].clone();
    assert_eq!(fds, [fd]);
    let mut b = MsgBuilder::new(20, 0x05, 2, 0).genl(NETDEV_CMD_BIND_RX, 1);
    put_bind_rx(&mut b, 3, fd as u32, &[(1, QueueType::Rx)]);
    assert_eq!(bytes, b.finish());
}

#[test]
fn bind_tx_golden() {
    let buf = crate::dmabuf::Dmabuf::memfd(4096).unwrap();
    let fd = buf.fd().as_raw_fd() as u32;
    let (mut c, log) = client(vec![reply_then_ack(vec![dmabuf_id_reply(
        NETDEV_CMD_BIND_TX,
        11,
    )])]);
    assert_eq!(c.bind_tx(1, buf.fd()).unwrap(), 11);
    let f = fd.to_ne_bytes();
    #[rustfmt::skip]
    let golden: Vec<u8> = vec![
        0x24, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        15, 1, 0, 0,      // NETDEV_CMD_BIND_TX v1
        8, 0, 1, 0,       // NETDEV_A_DMABUF_IFINDEX
        1, 0, 0, 0,       //   = 1
        8, 0, 3, 0,       // NETDEV_A_DMABUF_FD
        f[0], f[1], f[2], f[3], // = the dma-buf's fd number
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!(log.borrow().sent[0].1, [fd as i32]);
}

/// probe: `bind-tx {ifindex 1, fd 0}` on lo: EOPNOTSUPP with extack.
const BINDTX_LO: &str = "4c000000020000030700000071110000a1ffffff240000001400050007000000000000002600010044726976657220646f6573206e6f7420737570706f7274206e65746d656d205458000000";
/// probe: `dev-get {ifindex 999}`: ENODEV, no extack.
const DEVGET_999: &str = "24000000020000010700000071110000edffffff1c000000140005000700000000000000";
/// probe: `dev-get {ifindex 0}`: ERANGE, message, bad-attr offset 20 and the policy.
const DEVGET_0: &str = "6c000000020000030700000071110000deffffff1c00000014000500070000000000000019000100696e7465676572206f7574206f662072616e6765000000000800020014000000240004800c00040001000000000000000c000500ffffffff000000000800010004000000";

#[test]
fn errors_map_from_nlmsg_error_with_extack() {
    let (mut c, _log) = client(vec![
        canned(vec![hex(BINDTX_LO)]),
        canned(vec![hex(DEVGET_999)]),
        canned(vec![hex(DEVGET_0)]),
    ]);
    let fd = crate::dmabuf::Dmabuf::memfd(4096).unwrap();
    let e = c.bind_tx(1, fd.fd()).unwrap_err();
    assert_eq!(e.errno(), Some(uapi::errno::EOPNOTSUPP));
    assert_eq!(e.extack_msg(), Some("Driver does not support netmem TX"));
    assert_eq!(
        e.to_string(),
        "Netlink error: Operation not supported (errno 95): Driver does not support netmem TX"
    );
    let e = c.dev_get(999).unwrap_err();
    assert_eq!(e.errno(), Some(uapi::errno::ENODEV));
    assert_eq!(e.to_string(), "Netlink error: No such device (errno 19)");
    let e = c.dev_get(0).unwrap_err();
    let Error::Netlink(nl) = &e else {
        panic!("not a netlink error: {e:?}")
    };
    assert_eq!(nl.errno, uapi::errno::ERANGE);
    assert_eq!(nl.msg.as_deref(), Some("integer out of range"));
    assert_eq!(nl.bad_attr_offset, Some(20));
    assert!(nl.policy.is_some());
}

#[test]
fn unknown_family_is_enoent() {
    let (mock, _log) = Mock::new(vec![]);
    let mut g = GenlClient::new(mock);
    let e = g
        .resolve(crate::genl::GenlFamily {
            name: "nosuch",
            version: 1,
        })
        .unwrap_err();
    assert_eq!(e.errno(), Some(uapi::errno::ENOENT));
}

#[test]
fn queue_create_golden() {
    let reply = genl_msg(NETDEV_ID, NETDEV_CMD_QUEUE_CREATE, |b| {
        b.put_u32(NETDEV_A_QUEUE_ID, 1);
    });
    let (mut c, log) = client(vec![reply_then_ack(vec![reply])]);
    let lease = Lease {
        ifindex: 2,
        queue: (1, QueueType::Rx),
        netns_id: Some(0),
    };
    assert_eq!(c.queue_create(7, QueueType::Rx, lease).unwrap(), 1);
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x4c, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        16, 1, 0, 0,      // NETDEV_CMD_QUEUE_CREATE v1
        8, 0, 2, 0,       // NETDEV_A_QUEUE_IFINDEX
        7, 0, 0, 0,       //   = 7 (the netkit guest)
        8, 0, 3, 0,       // NETDEV_A_QUEUE_TYPE
        0, 0, 0, 0,       //   = rx
        40, 0, 8, 0x80,   // NETDEV_A_QUEUE_LEASE | NLA_F_NESTED
        8, 0, 1, 0,       //   NETDEV_A_LEASE_IFINDEX
        2, 0, 0, 0,       //     = 2 (the physical NIC)
        20, 0, 2, 0x80,   //   NETDEV_A_LEASE_QUEUE | NLA_F_NESTED
        8, 0, 1, 0,       //     NETDEV_A_QUEUE_ID
        1, 0, 0, 0,       //       = 1
        8, 0, 3, 0,       //     NETDEV_A_QUEUE_TYPE
        0, 0, 0, 0,       //       = rx
        8, 0, 3, 0,       //   NETDEV_A_LEASE_NETNS_ID
        0, 0, 0, 0,       //     = 0 (init netns as the container sees it)
    ];
    assert_eq!(sent(&log, 0), golden);
}

#[test]
fn napi_set_golden() {
    let (mut c, log) = client(vec![reply_then_ack(vec![])]);
    c.napi_set(&NapiSet {
        id: 5,
        defer_hard_irqs: Some(100),
        gro_flush_timeout: Some(20000),
        irq_suspend_timeout: None,
        threaded: Some(NapiThreaded::Enabled),
    })
    .unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x34, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        14, 1, 0, 0,      // NETDEV_CMD_NAPI_SET v1
        8, 0, 2, 0,       // NETDEV_A_NAPI_ID
        5, 0, 0, 0,       //   = 5
        8, 0, 5, 0,       // NETDEV_A_NAPI_DEFER_HARD_IRQS
        100, 0, 0, 0,     //   = 100
        8, 0, 6, 0,       // NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT (uint: 4 bytes when it fits)
        0x20, 0x4e, 0, 0, //   = 20000
        8, 0, 8, 0,       // NETDEV_A_NAPI_THREADED
        1, 0, 0, 0,       //   = enabled
    ];
    assert_eq!(sent(&log, 0), golden);
}

#[test]
fn napi_get_and_dump() {
    let napi = genl_msg(NETDEV_ID, NETDEV_CMD_NAPI_GET, |b| {
        b.put_u32(NETDEV_A_NAPI_ID, 8193)
            .put_u32(NETDEV_A_NAPI_IFINDEX, 2)
            .put_u32(NETDEV_A_NAPI_IRQ, 40)
            .put_u32(NETDEV_A_NAPI_DEFER_HARD_IRQS, 0)
            .put_uint(NETDEV_A_NAPI_GRO_FLUSH_TIMEOUT, 1 << 33)
            .put_u32(NETDEV_A_NAPI_THREADED, 2);
    });
    let (mut c, log) = client(vec![
        reply_then_ack(vec![napi.clone()]),
        dump_reply(vec![napi.clone(), napi]),
    ]);
    let n = c.napi_get(8193).unwrap();
    assert_eq!(
        n,
        NapiInfo {
            id: 8193,
            ifindex: 2,
            irq: Some(40),
            pid: None,
            defer_hard_irqs: Some(0),
            gro_flush_timeout: Some(1 << 33),
            irq_suspend_timeout: None,
            threaded: Some(NapiThreaded::BusyPoll),
        }
    );
    #[rustfmt::skip]
    let golden_get: &[u8] = &[
        0x1c, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        11, 1, 0, 0,      // NETDEV_CMD_NAPI_GET v1
        8, 0, 2, 0,       // NETDEV_A_NAPI_ID
        0x01, 0x20, 0, 0, //   = 8193
    ];
    assert_eq!(sent(&log, 0), golden_get);
    assert_eq!(c.napi_dump(Some(2)).unwrap().len(), 2);
    #[rustfmt::skip]
    let golden_dump: &[u8] = &[
        0x1c, 0, 0, 0, 20, 0, 0x05, 0x03, 3, 0, 0, 0, 0, 0, 0, 0,
        11, 1, 0, 0,      // NETDEV_CMD_NAPI_GET v1, dump
        8, 0, 1, 0,       // NETDEV_A_NAPI_IFINDEX
        2, 0, 0, 0,       //   = 2
    ];
    assert_eq!(sent(&log, 1), golden_dump);
}

#[test]
fn page_pool_get_golden_and_reply() {
    let pp = genl_msg(NETDEV_ID, NETDEV_CMD_PAGE_POOL_GET, |b| {
        b.put_uint(NETDEV_A_PAGE_POOL_ID, 3)
            .put_u32(NETDEV_A_PAGE_POOL_IFINDEX, 2)
            .put_uint(NETDEV_A_PAGE_POOL_NAPI_ID, 8193)
            .put_uint(NETDEV_A_PAGE_POOL_INFLIGHT, 4)
            .put_uint(NETDEV_A_PAGE_POOL_INFLIGHT_MEM, 16384)
            .put_u32(NETDEV_A_PAGE_POOL_DMABUF, 9);
    });
    let (mut c, log) = client(vec![reply_then_ack(vec![pp.clone()]), dump_reply(vec![pp])]);
    let p = c.page_pool_get(3).unwrap();
    assert_eq!(
        p,
        PagePoolInfo {
            id: 3,
            ifindex: Some(2),
            napi_id: Some(8193),
            inflight: Some(4),
            inflight_mem: Some(16384),
            detach_time: None,
            dmabuf: Some(9),
            io_uring: false,
        }
    );
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x1c, 0, 0, 0, 20, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
        5, 1, 0, 0,       // NETDEV_CMD_PAGE_POOL_GET v1
        8, 0, 1, 0,       // NETDEV_A_PAGE_POOL_ID (uint, 4 bytes)
        3, 0, 0, 0,       //   = 3
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!(c.page_pool_dump().unwrap(), [p]);
    assert_eq!(sent(&log, 1)[16..20], [5, 1, 0, 0]);
    assert_eq!(sent(&log, 1).len(), 20);
}

#[test]
fn qstats_dump_golden_and_reply() {
    let st = genl_msg(NETDEV_ID, NETDEV_CMD_QSTATS_GET, |b| {
        b.put_u32(NETDEV_A_QSTATS_IFINDEX, 1)
            .put_u32(NETDEV_A_QSTATS_QUEUE_TYPE, 0)
            .put_u32(NETDEV_A_QSTATS_QUEUE_ID, 0)
            .put_uint(NETDEV_A_QSTATS_RX_PACKETS, 10)
            .put_uint(NETDEV_A_QSTATS_RX_BYTES, 1 << 33);
    });
    let (mut c, log) = client(vec![dump_reply(vec![st])]);
    let s = c
        .qstats_dump(Some(1), Some(NETDEV_QSTATS_SCOPE_QUEUE))
        .unwrap();
    #[rustfmt::skip]
    let golden: &[u8] = &[
        0x24, 0, 0, 0, 20, 0, 0x05, 0x03, 2, 0, 0, 0, 0, 0, 0, 0,
        12, 1, 0, 0,      // NETDEV_CMD_QSTATS_GET v1, dump
        8, 0, 1, 0,       // NETDEV_A_QSTATS_IFINDEX
        1, 0, 0, 0,       //   = 1
        8, 0, 4, 0,       // NETDEV_A_QSTATS_SCOPE (uint)
        1, 0, 0, 0,       //   = queue
    ];
    assert_eq!(sent(&log, 0), golden);
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].ifindex, s[0].queue_type, s[0].queue_id),
        (1, Some(QueueType::Rx), Some(0))
    );
    assert_eq!(s[0].get(NETDEV_A_QSTATS_RX_PACKETS), Some(10));
    assert_eq!(s[0].get(NETDEV_A_QSTATS_RX_BYTES), Some(1 << 33));
    assert_eq!(s[0].get(NETDEV_A_QSTATS_TX_BYTES), None);
}
