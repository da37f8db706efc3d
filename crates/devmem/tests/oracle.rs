//! Oracle: the same raw request bytes to this machine's kernel (AF_NETLINK) and to the
//! emulator (a process in `init_net` with lo up), replies compared byte for byte after
//! normalising the family id and port id. Malformed requests included (missing
//! attributes, ifindex 0, wrong length, unknown and unsupported attributes, a nest
//! without `NLA_F_NESTED`, an unknown command). Skipped with a printed reason when a
//! NETLINK_GENERIC socket cannot be opened.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::rc::Rc;

use devmem::emulator::EmulatedTransport;
use devmem::transport::{KernelTransport, NetlinkTransport};
use netlink::family::ctrl::{FamilyInfo, parse_family};
use netlink::msg::{MsgBuilder, messages};
use simkernel::{Cred, Kernel, KernelConfig};
use uapi::genetlink::{CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, GENL_ID_CTRL};
use uapi::netlink::{NETLINK_GENERIC, NLA_F_NESTED, NLMSG_DONE, NLMSG_ERROR};

const SEQ: u32 = 7;

fn attr(ty: u16, v: &[u8]) -> Vec<u8> {
    let mut b = ((4 + v.len()) as u16).to_ne_bytes().to_vec();
    b.extend_from_slice(&ty.to_ne_bytes());
    b.extend_from_slice(v);
    while !b.len().is_multiple_of(4) {
        b.push(0);
    }
    b
}

fn u32a(ty: u16, v: u32) -> Vec<u8> {
    attr(ty, &v.to_ne_bytes())
}

fn request(ty: u16, flags: u16, cmd: u8, attrs: &[u8]) -> Vec<u8> {
    let mut b = MsgBuilder::new(ty, flags, SEQ, 0).genl(cmd, 1).finish();
    b.extend_from_slice(attrs);
    let len = b.len() as u32;
    b[..4].copy_from_slice(&len.to_ne_bytes());
    b
}

/// Every datagram up to and including the one that ends the exchange.
fn exchange(t: &mut dyn NetlinkTransport, req: &[u8]) -> Vec<Vec<u8>> {
    t.send(req, &[]).unwrap();
    let mut out = Vec::new();
    loop {
        let d = t.recv().unwrap();
        let end = messages(&d)
            .flatten()
            .any(|m| m.hdr.nlmsg_type == NLMSG_ERROR || m.hdr.nlmsg_type == NLMSG_DONE);
        out.push(d);
        if end {
            return out;
        }
    }
}

/// Zeroes port ids and the family id (also in an echoed request header).
fn normalise(mut d: Vec<u8>, family: u16) -> Vec<u8> {
    let mut pos = 0;
    while pos + 16 <= d.len() {
        let len = u32::from_ne_bytes(d[pos..pos + 4].try_into().unwrap()) as usize;
        let ty = u16::from_ne_bytes([d[pos + 4], d[pos + 5]]);
        if ty == family {
            d[pos + 4..pos + 6].copy_from_slice(&[0, 0]);
        }
        d[pos + 12..pos + 16].copy_from_slice(&[0; 4]);
        if ty == NLMSG_ERROR && d.len() >= pos + 36 {
            let ety = u16::from_ne_bytes([d[pos + 24], d[pos + 25]]);
            if ety == family {
                d[pos + 24..pos + 26].copy_from_slice(&[0, 0]);
            }
        }
        if len < 16 {
            break;
        }
        pos += (len + 3) & !3;
    }
    d
}

fn getfamily(t: &mut dyn NetlinkTransport, name: &str) -> FamilyInfo {
    let mut v = name.as_bytes().to_vec();
    v.push(0);
    let req = request(
        GENL_ID_CTRL,
        5,
        CTRL_CMD_GETFAMILY,
        &attr(CTRL_ATTR_FAMILY_NAME, &v),
    );
    let d = exchange(t, &req);
    let m = messages(&d[0]).next().unwrap().unwrap();
    parse_family(&m).unwrap()
}

/// CAP_NET_ADMIN in our effective set (bit 12 of CapEff).
fn have_net_admin() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|c| c & (1 << 12) != 0)
}

struct Sides {
    real: KernelTransport,
    emu: EmulatedTransport,
    real_id: u16,
    emu_id: u16,
    real_info: FamilyInfo,
    emu_info: FamilyInfo,
}

fn sides() -> Option<Sides> {
    if let Err(why) = linux::netlink::probe_netlink_generic() {
        eprintln!("skip: {why}");
        return None;
    }
    let mut real = KernelTransport::open(NETLINK_GENERIC).unwrap();
    let mut k = Kernel::new(KernelConfig::default());
    let lo = k.dev_get_by_index(k.init_net(), 1).unwrap();
    k.link_set_up(lo, true).unwrap();
    let cred = Cred {
        cap_net_admin: have_net_admin(),
    };
    let pid = k.process_spawn(k.init_net(), cred);
    let mut emu = EmulatedTransport::open(Rc::new(RefCell::new(k)), pid, NETLINK_GENERIC).unwrap();
    let real_info = getfamily(&mut real, "netdev");
    let emu_info = getfamily(&mut emu, "netdev");
    Some(Sides {
        real,
        emu,
        real_id: real_info.id,
        emu_id: emu_info.id,
        real_info,
        emu_info,
    })
}

#[test]
fn netdev_replies_match_the_kernel() {
    let Some(mut s) = sides() else { return };
    let nest = |ty: u16, v: &[u8]| attr(ty | NLA_F_NESTED, v);
    let q = [u32a(1, 0), u32a(3, 0)].concat();
    let cases: Vec<(&str, u8, Vec<u8>)> = vec![
        ("dev-get lo", 1, u32a(1, 1)),
        ("dev-get 999", 1, u32a(1, 999)),
        ("dev-get none", 1, vec![]),
        ("dev-get ifindex 0", 1, u32a(1, 0)),
        ("dev-get short", 1, attr(1, &[1, 0])),
        (
            "dev-get extra",
            1,
            [u32a(1, 1), attr(3, &0u64.to_ne_bytes())].concat(),
        ),
        ("dev-get unknown", 1, [u32a(1, 1), u32a(9, 0)].concat()),
        (
            "queue-get lo",
            10,
            [u32a(2, 1), u32a(3, 0), u32a(1, 0)].concat(),
        ),
        (
            "queue-get lo tx",
            10,
            [u32a(2, 1), u32a(3, 1), u32a(1, 0)].concat(),
        ),
        (
            "queue-get lo id 5",
            10,
            [u32a(2, 1), u32a(3, 0), u32a(1, 5)].concat(),
        ),
        ("queue-get missing", 10, u32a(2, 1)),
        (
            "queue-get 999",
            10,
            [u32a(2, 999), u32a(3, 0), u32a(1, 0)].concat(),
        ),
        (
            "queue-get type 2",
            10,
            [u32a(2, 1), u32a(3, 2), u32a(1, 0)].concat(),
        ),
        ("bind-tx lo", 15, [u32a(1, 1), u32a(3, 0)].concat()),
        ("bind-tx 999", 15, [u32a(1, 999), u32a(3, 0)].concat()),
        ("bind-tx ifindex 0", 15, [u32a(1, 0), u32a(3, 0)].concat()),
        ("bind-tx no fd", 15, u32a(1, 1)),
        ("bind-tx no ifindex", 15, u32a(3, 0)),
        (
            "bind-tx queues",
            15,
            [u32a(1, 1), u32a(3, 0), nest(2, &[])].concat(),
        ),
        (
            "bind-tx id",
            15,
            [u32a(1, 1), u32a(3, 0), u32a(4, 1)].concat(),
        ),
        (
            "bind-tx short fd",
            15,
            [u32a(1, 1), attr(3, &[0, 0])].concat(),
        ),
        (
            "bind-rx lo",
            13,
            [u32a(1, 1), u32a(3, 0), nest(2, &q)].concat(),
        ),
        (
            "bind-rx 999",
            13,
            [u32a(1, 999), u32a(3, 0), nest(2, &q)].concat(),
        ),
        ("bind-rx no queues", 13, [u32a(1, 1), u32a(3, 0)].concat()),
        (
            "bind-rx nest no flag",
            13,
            [u32a(1, 1), u32a(3, 0), attr(2, &q)].concat(),
        ),
        (
            "bind-rx queue type 5",
            13,
            [
                u32a(1, 1),
                u32a(3, 0),
                nest(2, &[u32a(1, 0), u32a(3, 5)].concat()),
            ]
            .concat(),
        ),
        (
            "bind-rx queue attr 2",
            13,
            [
                u32a(1, 1),
                u32a(3, 0),
                nest(2, &[u32a(1, 0), u32a(2, 0)].concat()),
            ]
            .concat(),
        ),
        ("unknown cmd 99", 99, vec![]),
    ];
    // bind-rx is admin-only on both sides: EPERM when we lack the capability.
    let (real_id, emu_id) = (s.real_id, s.emu_id);
    let failures = mismatches(&mut s, (real_id, emu_id), &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// ethtool COALESCE_GET / COALESCE_SET on lo (no coalescing ops) and on a missing
/// device, well-formed and not: header checks, `ethnl_coalesce_set_policy` (ranges,
/// lengths, the profile nests) and the ops check, byte for byte. Attributes 31 and 32 are
/// left out: this 6.18 kernel's policy ends at 30.
#[test]
fn ethtool_coalesce_replies_match_the_kernel() {
    let Some(mut s) = sides() else { return };
    let real_id = getfamily(&mut s.real, "ethtool").id;
    let emu_id = getfamily(&mut s.emu, "ethtool").id;
    let nest = |ty: u16, v: &[u8]| attr(ty | NLA_F_NESTED, v);
    let hdr = |ifindex: u32| nest(1, &u32a(1, ifindex));
    let u8a = |ty: u16, v: u8| attr(ty, &[v]);
    let moder = |inner: &[u8]| nest(29, &nest(1, inner));
    let (get, set) = (19u8, 20u8);
    let cases: Vec<(&str, u8, Vec<u8>)> = vec![
        ("get lo", get, hdr(1)),
        ("get 999999", get, hdr(999_999)),
        ("set lo rx-usecs", set, [hdr(1), u32a(2, 5)].concat()),
        (
            "set lo tx-profile",
            set,
            [hdr(1), moder(&u32a(1, 8))].concat(),
        ),
        ("set 999999", set, [hdr(999_999), u32a(2, 5)].concat()),
        ("set cqe-mode-rx 2", set, [hdr(1), u8a(25, 2)].concat()),
        ("set cqe-mode-tx 1", set, [hdr(1), u8a(24, 1)].concat()),
        (
            "set adaptive-rx as u32",
            set,
            [hdr(1), u32a(11, 1)].concat(),
        ),
        ("set rx-usecs as u8", set, [hdr(1), u8a(2, 1)].concat()),
        (
            "set profile u16",
            set,
            [hdr(1), moder(&attr(2, &[1, 0]))].concat(),
        ),
        (
            "set profile no NLA_F_NESTED",
            set,
            [hdr(1), attr(30, &nest(1, &u32a(1, 8)))].concat(),
        ),
        (
            "set profile moderation attr 4",
            set,
            [hdr(1), moder(&u32a(4, 8))].concat(),
        ),
    ];
    let failures = mismatches(&mut s, (real_id, emu_id), &cases);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Sends each `(name, command, attributes)` case to the kernel and to the emulator (family
/// ids `ids`) and describes every case whose normalised replies differ.
fn mismatches(s: &mut Sides, ids: (u16, u16), cases: &[(&str, u8, Vec<u8>)]) -> Vec<String> {
    let (real_id, emu_id) = ids;
    let mut failures = Vec::new();
    for (name, cmd, attrs) in cases {
        let real = exchange(&mut s.real, &request(real_id, 5, *cmd, attrs));
        let emu = exchange(&mut s.emu, &request(emu_id, 5, *cmd, attrs));
        let real: Vec<_> = real.into_iter().map(|d| normalise(d, real_id)).collect();
        let emu: Vec<_> = emu.into_iter().map(|d| normalise(d, emu_id)).collect();
        if real != emu {
            failures.push(format!(
                "{name}:\n  kernel   {}\n  emulator {}",
                real.iter().map(|d| hex(d)).collect::<Vec<_>>().join(" | "),
                emu.iter().map(|d| hex(d)).collect::<Vec<_>>().join(" | ")
            ));
        }
    }
    failures
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn nlctrl_netdev_family_matches_the_kernel() {
    let Some(s) = sides() else { return };
    let (r, e) = (&s.real_info, &s.emu_info);
    assert_eq!(r.name, e.name);
    assert_eq!(r.version, e.version);
    assert_eq!(r.hdrsize, e.hdrsize);
    assert_eq!(r.maxattr, e.maxattr);
    let names = |i: &FamilyInfo| {
        i.mcast_groups
            .iter()
            .map(|g| g.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(r), names(e));
    // Every op the real kernel has, the emulator has with the same flags; the
    // emulator may have more (queue-create, 16, is newer than this kernel).
    for op in &r.ops {
        let mine = e.ops.iter().find(|o| o.id == op.id);
        assert_eq!(mine.map(|o| o.flags), Some(op.flags), "op {}", op.id);
    }
    assert!(e.ops.iter().any(|o| o.id == 16));
    assert_eq!(s.real_id, s.emu_id, "both number netdev 20 here");
}
