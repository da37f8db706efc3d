use super::ctrl::{FamilyInfo, McastGroup, OpInfo, family_reply, getfamily, parse_family};
use super::*;
use crate::errno::{ENOENT, ERANGE};
use crate::msg::{MsgBuilder, messages};

fn rcv(fam: &Family, bytes: &[u8], caps: Caps) -> Result<(u8, bool, usize), ExtAckError> {
    let msg = messages(bytes).next().unwrap().unwrap();
    fam.rcv_msg(&msg, caps)
        .map(|r| (r.hdr.cmd, r.dump, r.attrs.map_or(0, |a| a.iter().count())))
}

const ADMIN: Caps = Caps {
    net_admin: true,
    ns_net_admin: true,
};

#[test]
fn netdev_dispatch_errors_in_kernel_order() {
    let f = &netdev::FAMILY;
    // Unknown cmd, and a dump of a do-only op: EOPNOTSUPP.
    let m = MsgBuilder::new(0x20, 0x5, 1, 0).genl(99, 1).finish();
    assert_eq!(rcv(f, &m, ADMIN).unwrap_err(), ExtAckError::new(EOPNOTSUPP));
    let m = MsgBuilder::new(0x20, 0x301, 1, 0)
        .genl(netdev::NETDEV_CMD_BIND_TX, 1)
        .finish();
    assert_eq!(rcv(f, &m, ADMIN).unwrap_err().errno, EOPNOTSUPP);
    // Admin-only op without CAP_NET_ADMIN: EPERM, before attribute validation.
    let mut b = MsgBuilder::new(0x20, 0x5, 1, 0).genl(netdev::NETDEV_CMD_BIND_RX, 1);
    b.put_u32(1, 0);
    let m = b.finish();
    assert_eq!(
        rcv(f, &m, Caps::default()).unwrap_err(),
        ExtAckError::new(EPERM)
    );
    assert_eq!(rcv(f, &m, ADMIN).unwrap_err().errno, ERANGE);
    // bind-tx is unprivileged.
    let mut b = MsgBuilder::new(0x20, 0x5, 1, 0).genl(netdev::NETDEV_CMD_BIND_TX, 1);
    b.put_u32(1, 2).put_u32(3, 5);
    assert_eq!(rcv(f, &b.finish(), Caps::default()), Ok((15, false, 2)));
    // Header checks apply to every netdev cmd (resv_start_op 0).
    let m = MsgBuilder::new(0x20, 0x5, 1, 0)
        .raw_header(&[1, 1, 1, 0])
        .finish();
    assert_eq!(
        rcv(f, &m, ADMIN).unwrap_err().msg.as_deref(),
        Some("genlmsghdr.reserved field is not 0")
    );
    let m = MsgBuilder::new(0x20, 0x5 | 0x400, 1, 0).genl(1, 1).finish();
    assert_eq!(
        rcv(f, &m, ADMIN).unwrap_err().msg.as_deref(),
        Some("ambiguous or reserved bits set in nlmsg_flags")
    );
    // Too short for the genl header: EINVAL without message.
    let m = MsgBuilder::new(0x20, 0x5, 1, 0).finish();
    assert_eq!(rcv(f, &m, ADMIN).unwrap_err(), ExtAckError::new(EINVAL));
}

#[test]
fn dev_get_dump_ignores_attributes() {
    let mut b = MsgBuilder::new(0x20, 0x301, 1, 0).genl(netdev::NETDEV_CMD_DEV_GET, 1);
    b.put_u32(42, 0).put_bytes(1, &[1]);
    assert_eq!(
        rcv(&netdev::FAMILY, &b.finish(), Caps::default()),
        Ok((1, true, 0))
    );
}

#[test]
fn netdev_info_flags_as_ctrl_fill_info() {
    let info = netdev::FAMILY.info(0x1c, 5);
    let ops: Vec<(u32, u32)> = info.ops.iter().map(|o| (o.id, o.flags)).collect();
    assert_eq!(
        ops,
        [
            (1, 0xe),
            (5, 0xe),
            (9, 0xe),
            (10, 0xe),
            (11, 0xe),
            (12, 0xc),
            (13, 0xb),
            (14, 0xb),
            (15, 0xa),
            (16, 0xb)
        ]
    );
    assert_eq!(
        info.mcast_groups,
        [
            McastGroup {
                name: "mgmt".into(),
                id: 5
            },
            McastGroup {
                name: "page-pool".into(),
                id: 6
            }
        ]
    );
    assert_eq!((info.version, info.maxattr, info.hdrsize), (1, 0, 0));
}

#[cfg(target_endian = "little")]
#[test]
fn family_reply_golden_and_round_trip() {
    let info = FamilyInfo {
        id: 0x1c,
        name: "netdev".into(),
        version: 1,
        hdrsize: 0,
        maxattr: 0,
        ops: vec![OpInfo { id: 15, flags: 0xa }],
        mcast_groups: vec![McastGroup {
            name: "mgmt".into(),
            id: 5,
        }],
    };
    let m = family_reply(&info, 77, 3, 0, CTRL_CMD_NEWFAMILY);
    #[rustfmt::skip]
    let expected: &[u8] = &[
        0x74, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, // len 116, GENL_ID_CTRL, flags 0
        0x03, 0x00, 0x00, 0x00, 0x4d, 0x00, 0x00, 0x00, // seq 3, pid 77
        0x01, 0x02, 0x00, 0x00,                         // CTRL_CMD_NEWFAMILY, nlctrl version 2
        0x0b, 0x00, 0x02, 0x00, b'n', b'e', b't', b'd', b'e', b'v', 0x00, 0x00, // FAMILY_NAME
        0x06, 0x00, 0x01, 0x00, 0x1c, 0x00, 0x00, 0x00, // FAMILY_ID u16 + pad
        0x08, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, // VERSION 1
        0x08, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, // HDRSIZE 0
        0x08, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, // MAXATTR 0
        0x18, 0x00, 0x06, 0x00,                         // OPS (no NLA_F_NESTED)
        0x14, 0x00, 0x01, 0x00,                         //   op #1
        0x08, 0x00, 0x01, 0x00, 0x0f, 0x00, 0x00, 0x00, //     OP_ID 15
        0x08, 0x00, 0x02, 0x00, 0x0a, 0x00, 0x00, 0x00, //     OP_FLAGS 0xa
        0x1c, 0x00, 0x07, 0x00,                         // MCAST_GROUPS
        0x18, 0x00, 0x01, 0x00,                         //   group #1
        0x08, 0x00, 0x02, 0x00, 0x05, 0x00, 0x00, 0x00, //     GRP_ID 5
        0x09, 0x00, 0x01, 0x00, b'm', b'g', b'm', b't', 0x00, 0x00, 0x00, 0x00, // GRP_NAME
    ];
    assert_eq!(m, expected);
    let msg = messages(&m).next().unwrap().unwrap();
    assert_eq!(parse_family(&msg).unwrap(), info);
}

#[test]
fn ctrl_getfamily_lookup() {
    let fams = [
        netdev::FAMILY.info(0x1c, 5),
        ctrl::FAMILY.info(GENL_ID_CTRL, u32::from(GENL_ID_CTRL)),
    ];
    let by = |f: &dyn Fn(&mut MsgBuilder)| {
        let mut b = MsgBuilder::new(GENL_ID_CTRL, 0x5, 1, 0).genl(CTRL_CMD_GETFAMILY, 1);
        f(&mut b);
        b.finish()
    };
    let lookup = |m: &[u8]| {
        let msg = messages(m).next().unwrap().unwrap();
        let req = ctrl::FAMILY.rcv_msg(&msg, Caps::default())?;
        getfamily(req.attrs.as_ref().unwrap(), &fams).map(|f| f.id)
    };
    assert_eq!(
        lookup(&by(&|b| {
            b.put_str(CTRL_ATTR_FAMILY_NAME, "netdev");
        })),
        Ok(0x1c)
    );
    assert_eq!(
        lookup(&by(&|b| {
            b.put_u16(CTRL_ATTR_FAMILY_ID, 0x10);
        })),
        Ok(0x10)
    );
    assert_eq!(
        lookup(&by(&|b| {
            b.put_str(CTRL_ATTR_FAMILY_NAME, "nope");
        })),
        Err(ExtAckError::new(ENOENT))
    );
    assert_eq!(lookup(&by(&|_| {})), Err(ExtAckError::new(EINVAL)));
    // GETFAMILY do is liberal: an unknown attribute is ignored.
    assert_eq!(
        lookup(&by(&|b| {
            b.put_u32(9, 1).put_str(CTRL_ATTR_FAMILY_NAME, "netdev");
        })),
        Ok(0x1c)
    );
    // nlctrl's info: GETFAMILY do+dump, GETPOLICY dump, group "notify" = 16.
    let c = &fams[1];
    assert_eq!(
        c.ops,
        [OpInfo { id: 3, flags: 0xe }, OpInfo { id: 10, flags: 0xc }]
    );
    assert_eq!(
        c.mcast_groups,
        [McastGroup {
            name: "notify".into(),
            id: 16
        }]
    );
    assert_eq!(c.version, 2);
}
