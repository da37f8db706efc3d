//! `ethtool -c` / `-C` through the emulated kernel's AF_NETLINK socket: COALESCE_GET
//! (do and dump) reports what each driver supports, COALESCE_SET changes and reads
//! back, notifies only on change, refuses unsupported parameters with the kernel's errno,
//! extack and attribute offset, needs CAP_NET_ADMIN like RINGS_SET, and the policy is
//! `ethnl_coalesce_set_policy`'s. RINGS_SET and CHANNELS_SET notify the same way
//! (`ETHTOOL_MSG_{RINGS,CHANNELS}_NTF`, the GET reply's body, only on change).
#![allow(clippy::unwrap_used)]

use netlink::attr::Attrs;
use netlink::client::{NlError, OwnedMsg, Progress, Reply, Request};
use netlink::msg::MsgBuilder;
use simkernel::drivers::nic::{GveQueueFormat, NicProfile};
use simkernel::net::ethtool::{ChannelsSet, CoalesceSet, RingsSet};
use simkernel::net::netlink::genetlink::genl_family_id;
use simkernel::{Cred, DevId, Kernel, KernelConfig, NlSockId};
use uapi::errno::{EINVAL, EOPNOTSUPP, EPERM, ERANGE};
use uapi::ethtool::*;
use uapi::netlink::{
    NETLINK_EXT_ACK, NETLINK_GENERIC, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTI, NLM_F_REQUEST,
};

/// An ethtool socket of a process in `ns`.
struct Nl {
    sock: NlSockId,
    family: u16,
    seq: u32,
}

impl Nl {
    fn open(k: &mut Kernel, admin: bool) -> Nl {
        let ns = k.init_net();
        let pid = k.process_spawn(
            ns,
            Cred {
                cap_net_admin: admin,
            },
        );
        let sock = k.netlink_socket(pid, NETLINK_GENERIC).unwrap();
        k.netlink_setsockopt(sock, NETLINK_EXT_ACK, true).unwrap();
        Nl {
            sock,
            family: genl_family_id(ETHTOOL_GENL_NAME).unwrap(),
            seq: 0,
        }
    }

    /// Sends `cmd` with a header nest for `ifindex` (none if 0) and the attributes
    /// `build` adds; the reply or the error.
    fn call(
        &mut self,
        k: &mut Kernel,
        cmd: u8,
        dump: bool,
        ifindex: u32,
        build: impl FnOnce(&mut MsgBuilder),
    ) -> Reply {
        self.seq += 1;
        let flags = NLM_F_REQUEST | NLM_F_ACK | if dump { NLM_F_DUMP } else { 0 };
        let mut b = MsgBuilder::new(self.family, flags, self.seq, 0).genl(cmd, 1);
        if ifindex != 0 {
            let h = b.nest_start(1);
            b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
            b.nest_end(h);
        }
        build(&mut b);
        let req = b.finish();
        k.netlink_send(self.sock, &req).unwrap();
        let mut r = Request::for_message(&req).unwrap();
        loop {
            let d = k.netlink_recv(self.sock).expect("the kernel answers");
            if let Progress::Done(reply) = r.handle_datagram(&d).unwrap() {
                return reply;
            }
        }
    }

    fn get(&mut self, k: &mut Kernel, ifindex: u32) -> Result<Vec<(u16, u32)>, NlError> {
        let parts = self.call(k, ETHTOOL_MSG_COALESCE_GET, false, ifindex, |_| {})?;
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].payload[0], ETHTOOL_MSG_COALESCE_GET_REPLY);
        Ok(params(&parts[0]))
    }

    fn set(
        &mut self,
        k: &mut Kernel,
        ifindex: u32,
        build: impl FnOnce(&mut MsgBuilder),
    ) -> Result<(), NlError> {
        self.call(k, ETHTOOL_MSG_COALESCE_SET, false, ifindex, build)
            .map(|parts| assert!(parts.is_empty()))
    }
}

/// The parameter attributes of a reply or notification, u8 flags widened, after checking
/// the header nest comes first.
fn params(m: &OwnedMsg) -> Vec<(u16, u32)> {
    let mut it = Attrs::new(&m.payload[4..], 20).map(Result::unwrap);
    let h = it.next().unwrap();
    assert_eq!((h.ty, h.nested), (ETHTOOL_A_COALESCE_HEADER, true));
    it.map(|a| {
        let v = match a.value.len() {
            1 => u32::from(a.u8().unwrap()),
            _ => a.u32().unwrap(),
        };
        (a.ty, v)
    })
    .collect()
}

struct Env {
    k: Kernel,
    bnxt: DevId,
    gve: DevId,
    mlx5e: DevId,
    fbnic: DevId,
}

fn env() -> Env {
    let mut k = Kernel::new(KernelConfig::default());
    let ns = k.init_net();
    let mut add = |name, p| k.nic_add(ns, name, p, 2).unwrap();
    let bnxt = add("eth0", NicProfile::bnxt());
    let gve = add("eth1", NicProfile::gve(GveQueueFormat::DqoRda));
    let mlx5e = add("eth2", NicProfile::mlx5e());
    let fbnic = add("eth3", NicProfile::fbnic());
    Env {
        k,
        bnxt,
        gve,
        mlx5e,
        fbnic,
    }
}

impl Env {
    fn ifindex(&self, d: DevId) -> u32 {
        self.k.device(d).ifindex
    }
}

const A_RX_USECS: u16 = ETHTOOL_A_COALESCE_RX_USECS;
const A_RX_FRAMES: u16 = ETHTOOL_A_COALESCE_RX_MAX_FRAMES;

#[test]
fn get_reports_each_drivers_supported_parameters_and_defaults() {
    let mut e = env();
    let (i_bnxt, i_gve) = (e.ifindex(e.bnxt), e.ifindex(e.gve));
    let (i_mlx5e, i_fbnic) = (e.ifindex(e.mlx5e), e.ifindex(e.fbnic));
    let mut nl = Nl::open(&mut e.k, false);
    let bnxt = nl.get(&mut e.k, i_bnxt).unwrap();
    assert_eq!(
        bnxt,
        [
            (A_RX_USECS, 10),
            (A_RX_FRAMES, 15),
            (ETHTOOL_A_COALESCE_RX_USECS_IRQ, 1),
            (ETHTOOL_A_COALESCE_RX_MAX_FRAMES_IRQ, 1),
            (ETHTOOL_A_COALESCE_TX_USECS, 28),
            (ETHTOOL_A_COALESCE_TX_MAX_FRAMES, 30),
            (ETHTOOL_A_COALESCE_TX_USECS_IRQ, 2),
            (ETHTOOL_A_COALESCE_TX_MAX_FRAMES_IRQ, 2),
            (ETHTOOL_A_COALESCE_STATS_BLOCK_USECS, 1_000_000),
            (ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, 0),
            (ETHTOOL_A_COALESCE_USE_CQE_MODE_TX, 0),
            (ETHTOOL_A_COALESCE_USE_CQE_MODE_RX, 0),
        ]
    );
    // gve supports usecs only: its fixed 64-frame RX threshold is not reported.
    let gve = nl.get(&mut e.k, i_gve).unwrap();
    assert_eq!(gve, [(A_RX_USECS, 20), (ETHTOOL_A_COALESCE_TX_USECS, 50)]);
    let mlx5e = nl.get(&mut e.k, i_mlx5e).unwrap();
    assert_eq!(
        mlx5e,
        [
            (A_RX_USECS, 8),
            (A_RX_FRAMES, 128),
            (ETHTOOL_A_COALESCE_TX_USECS, 16),
            (ETHTOOL_A_COALESCE_TX_MAX_FRAMES, 32),
            (ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, 0),
            (ETHTOOL_A_COALESCE_USE_ADAPTIVE_TX, 0),
            (ETHTOOL_A_COALESCE_USE_CQE_MODE_TX, 0),
            (ETHTOOL_A_COALESCE_USE_CQE_MODE_RX, 0),
        ]
    );
    let fbnic = nl.get(&mut e.k, i_fbnic).unwrap();
    assert_eq!(
        fbnic,
        [
            (A_RX_USECS, 30),
            (A_RX_FRAMES, 64),
            (ETHTOOL_A_COALESCE_TX_USECS, 35),
        ]
    );
    // lo has no get_coalesce.
    let lo = nl.get(&mut e.k, 1).unwrap_err();
    assert_eq!((lo.errno, lo.msg), (EOPNOTSUPP, None));
}

#[test]
fn reply_bytes_are_the_kernels() {
    let mut e = env();
    let fbnic = e.ifindex(e.fbnic);
    let mut nl = Nl::open(&mut e.k, false);
    let parts = nl
        .call(&mut e.k, ETHTOOL_MSG_COALESCE_GET, false, fbnic, |_| {})
        .unwrap();
    #[rustfmt::skip]
    let want: &[u8] = &[
        20, 1, 0, 0,           // ETHTOOL_MSG_COALESCE_GET_REPLY, version 1
        24, 0, 1, 0x80,        // ETHTOOL_A_COALESCE_HEADER | NLA_F_NESTED
        8, 0, 1, 0, 5, 0, 0, 0,            // DEV_INDEX 5
        9, 0, 2, 0, b'e', b't', b'h', b'3', 0, 0, 0, 0, // DEV_NAME "eth3"
        8, 0, 2, 0, 30, 0, 0, 0,           // RX_USECS 30
        8, 0, 3, 0, 64, 0, 0, 0,           // RX_MAX_FRAMES 64
        8, 0, 6, 0, 35, 0, 0, 0,           // TX_USECS 35
    ];
    assert_eq!(fbnic, 5, "lo is 1, the NICs follow");
    assert_eq!(parts[0].payload, want);
    assert_eq!(parts[0].hdr.nlmsg_flags, 0);
}

#[test]
fn dump_lists_every_device_with_coalescing_in_ifindex_order() {
    let mut e = env();
    let mut nl = Nl::open(&mut e.k, false);
    let parts = nl
        .call(&mut e.k, ETHTOOL_MSG_COALESCE_GET, true, 0, |_| {})
        .unwrap();
    let devs: Vec<u32> = parts
        .iter()
        .map(|m| {
            assert_eq!(m.hdr.nlmsg_flags & NLM_F_MULTI, NLM_F_MULTI);
            assert_eq!(m.payload[0], ETHTOOL_MSG_COALESCE_GET_REPLY);
            let h = Attrs::new(&m.payload[4..], 20).next().unwrap().unwrap();
            h.attrs().next().unwrap().unwrap().u32().unwrap()
        })
        .collect();
    // lo (1) has no coalescing ops and is left out.
    assert_eq!(devs, [2, 3, 4, 5]);
    assert_eq!(params(&parts[3]), nl.get(&mut e.k, 5).unwrap());
}

#[test]
fn set_reads_back_and_notifies_only_on_change() {
    let mut e = env();
    let ns = e.k.init_net();
    let bnxt = e.ifindex(e.bnxt);
    let mut nl = Nl::open(&mut e.k, true);
    nl.set(&mut e.k, bnxt, |b| {
        b.put_u32(A_RX_USECS, 0).put_u32(A_RX_FRAMES, 4);
    })
    .unwrap();
    let got = nl.get(&mut e.k, bnxt).unwrap();
    assert_eq!(&got[..2], [(A_RX_USECS, 0), (A_RX_FRAMES, 4)]);
    let c = e.k.ethtool_coalesce_get(e.bnxt).unwrap();
    assert_eq!((c.rx_usecs, c.rx_max_frames, c.tx_usecs), (0, 4, 28));

    // One ETHTOOL_MSG_COALESCE_NTF: broadcast seq 1, port 0, the get reply's attributes.
    let ntf = e.k.ethnl_monitor_take();
    assert_eq!(ntf.len(), 1);
    let (ntf_ns, bytes) = &ntf[0];
    assert_eq!(*ntf_ns, ns);
    let m = netlink::msg::messages(bytes).next().unwrap().unwrap();
    assert_eq!(
        (
            m.hdr.nlmsg_type,
            m.hdr.nlmsg_flags,
            m.hdr.nlmsg_seq,
            m.hdr.nlmsg_pid
        ),
        (nl.family, 0, 1, 0)
    );
    let m = OwnedMsg::from_msg(&m);
    assert_eq!(m.payload[0], ETHTOOL_MSG_COALESCE_NTF);
    assert_eq!(params(&m), got);

    // The same values again: acked, nothing changes, no notification.
    nl.set(&mut e.k, bnxt, |b| {
        b.put_u32(A_RX_FRAMES, 4);
    })
    .unwrap();
    assert!(e.k.ethnl_monitor_take().is_empty());
    let same = CoalesceSet {
        rx_usecs: Some(0),
        ..Default::default()
    };
    assert_eq!(e.k.ethtool_coalesce_set(e.bnxt, &same), Ok(false));
    assert!(e.k.ethnl_monitor_take().is_empty());

    // A mode flag alone is a change too.
    nl.set(&mut e.k, bnxt, |b| {
        b.put_u8(ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, 1);
    })
    .unwrap();
    let ntf = e.k.ethnl_monitor_take();
    assert_eq!(ntf.len(), 1);
    assert_eq!(ntf[0].1[8..12], 2u32.to_ne_bytes(), "ethnl_bcast_seq 2");
    assert!(e.k.ethtool_coalesce_get(e.bnxt).unwrap().use_adaptive_rx);
}

#[test]
fn unsupported_parameter_is_einval_at_the_lowest_such_attribute() {
    let mut e = env();
    let gve = e.ifindex(e.gve);
    let mut nl = Nl::open(&mut e.k, true);
    // Request order TX_USECS_IRQ, RX_USECS, RX_MAX_FRAMES: the kernel walks attribute
    // numbers, so RX_MAX_FRAMES (3) is reported, not TX_USECS_IRQ (8).
    let err = nl
        .set(&mut e.k, gve, |b| {
            b.put_u32(ETHTOOL_A_COALESCE_TX_USECS_IRQ, 1)
                .put_u32(A_RX_USECS, 5)
                .put_u32(A_RX_FRAMES, 16);
        })
        .unwrap_err();
    assert_eq!(err.errno, EINVAL);
    assert_eq!(
        err.msg.as_deref(),
        Some("cannot modify an unsupported parameter")
    );
    // nlmsghdr 16 + genlmsghdr 4 + header nest 12, then 8-byte attributes.
    assert_eq!(err.bad_attr_offset, Some(32 + 8 + 8));
    // Nothing was applied, nothing notified.
    assert_eq!(e.k.ethtool_coalesce_get(e.gve).unwrap().rx_usecs, 20);
    assert!(e.k.ethnl_monitor_take().is_empty());

    // The same through the kernel API.
    let set = CoalesceSet {
        rx_usecs: Some(5),
        rx_max_frames: Some(16),
        ..Default::default()
    };
    let err = e.k.ethtool_coalesce_set(e.gve, &set).unwrap_err();
    assert_eq!(err.errno(), EINVAL);
    assert_eq!(
        err.bad_attr,
        Some(simkernel::BadAttr::Ethtool(
            ETHTOOL_A_COALESCE_RX_MAX_FRAMES
        ))
    );

    // DIM profiles need irq_moder, which no emulated driver has.
    let bnxt = e.ifindex(e.bnxt);
    let err = nl
        .set(&mut e.k, bnxt, |b| {
            let p = b.nest_start(ETHTOOL_A_COALESCE_RX_PROFILE);
            let m = b.nest_start(ETHTOOL_A_PROFILE_IRQ_MODERATION);
            b.put_u32(ETHTOOL_A_IRQ_MODERATION_USEC, 8);
            b.nest_end(m);
            b.nest_end(p);
        })
        .unwrap_err();
    assert_eq!((err.errno, err.bad_attr_offset), (EINVAL, Some(32)));
    // RX CQE coalescing: no emulated driver has it either.
    let mlx5e = e.ifindex(e.mlx5e);
    let err = nl
        .set(&mut e.k, mlx5e, |b| {
            b.put_u32(ETHTOOL_A_COALESCE_RX_CQE_FRAMES, 8);
        })
        .unwrap_err();
    assert_eq!(
        (err.errno, err.msg.as_deref()),
        (EINVAL, Some("cannot modify an unsupported parameter"))
    );
    // A device without coalescing ops: EOPNOTSUPP before any parameter is looked at.
    let err = nl
        .set(&mut e.k, 1, |b| {
            b.put_u32(A_RX_USECS, 1);
        })
        .unwrap_err();
    assert_eq!((err.errno, err.msg), (EOPNOTSUPP, None));
}

#[test]
fn set_needs_net_admin_like_rings_set() {
    let mut e = env();
    let bnxt = e.ifindex(e.bnxt);
    let mut user = Nl::open(&mut e.k, false);
    let err = user
        .set(&mut e.k, bnxt, |b| {
            b.put_u32(A_RX_USECS, 1);
        })
        .unwrap_err();
    assert_eq!((err.errno, err.msg.as_deref()), (EPERM, None));
    let rings = user
        .call(&mut e.k, ETHTOOL_MSG_RINGS_SET, false, bnxt, |b| {
            b.put_u32(ETHTOOL_A_RINGS_RX, 256);
        })
        .unwrap_err();
    assert_eq!(rings, err, "the same refusal as rings-set");
    // Reading needs no privilege; nothing changed.
    assert_eq!(user.get(&mut e.k, bnxt).unwrap()[0], (A_RX_USECS, 10));
}

#[test]
fn policy_is_ethnl_coalesce_set_policy() {
    let mut e = env();
    let bnxt = e.ifindex(e.bnxt);
    let mut nl = Nl::open(&mut e.k, true);
    // NLA_POLICY_MAX(NLA_U8, 1).
    let err = nl
        .set(&mut e.k, bnxt, |b| {
            b.put_u8(ETHTOOL_A_COALESCE_USE_CQE_MODE_RX, 2);
        })
        .unwrap_err();
    assert_eq!(
        (err.errno, err.msg.as_deref(), err.bad_attr_offset),
        (ERANGE, Some("integer out of range"), Some(32))
    );
    assert!(err.policy.is_some(), "the policy is reported");
    // A u8 flag sent as u32: strict validation wants the exact length.
    let err = nl
        .set(&mut e.k, bnxt, |b| {
            b.put_u32(ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, 1);
        })
        .unwrap_err();
    assert_eq!(
        (err.errno, err.msg.as_deref()),
        (EINVAL, Some("invalid attribute length"))
    );
    // Past ETHTOOL_A_COALESCE_MAX.
    let err = nl
        .set(&mut e.k, bnxt, |b| {
            b.put_u32(ETHTOOL_A_COALESCE_MAX + 1, 1);
        })
        .unwrap_err();
    assert_eq!(
        (err.errno, err.msg.as_deref()),
        (EINVAL, Some("Unknown attribute type"))
    );
    // The profile nests are validated down to the IRQ moderation values.
    let err = nl
        .set(&mut e.k, bnxt, |b| {
            let p = b.nest_start(ETHTOOL_A_COALESCE_TX_PROFILE);
            let m = b.nest_start(ETHTOOL_A_PROFILE_IRQ_MODERATION);
            b.put_u16(ETHTOOL_A_IRQ_MODERATION_PKTS, 1);
            b.nest_end(m);
            b.nest_end(p);
        })
        .unwrap_err();
    assert_eq!(
        (err.errno, err.msg.as_deref(), err.bad_attr_offset),
        (EINVAL, Some("invalid attribute length"), Some(32 + 4 + 4))
    );
    assert_eq!(e.k.ethtool_coalesce_get(e.bnxt).unwrap().rx_usecs, 10);
}

/// `ethnl_ops_begin()`: a device that is gone (`netif_device_detach()`) answers ENODEV
/// to get and set, and a dump stops at it with that error.
#[test]
fn absent_device_is_enodev() {
    let mut e = env();
    let gve = e.ifindex(e.gve);
    e.k.nic_set_present(e.gve, false);
    let mut nl = Nl::open(&mut e.k, true);
    let err = nl.get(&mut e.k, gve).unwrap_err();
    assert_eq!((err.errno, err.msg), (uapi::errno::ENODEV, None));
    let err = nl
        .set(&mut e.k, gve, |b| {
            b.put_u32(A_RX_USECS, 1);
        })
        .unwrap_err();
    assert_eq!(err.errno, uapi::errno::ENODEV);
    // Validation comes first: an unsupported parameter is still EINVAL.
    let err = nl
        .set(&mut e.k, gve, |b| {
            b.put_u32(A_RX_FRAMES, 1);
        })
        .unwrap_err();
    assert_eq!(err.errno, EINVAL);
    let err = nl
        .call(&mut e.k, ETHTOOL_MSG_COALESCE_GET, true, 0, |_| {})
        .unwrap_err();
    assert_eq!(err.errno, uapi::errno::ENODEV);
}

/// The attribute `ty` of a reply or notification, as a u32.
fn attr_u32(m: &OwnedMsg, ty: u16) -> Option<u32> {
    Attrs::new(&m.payload[4..], 20)
        .map(Result::unwrap)
        .find(|a| a.ty == ty)
        .map(|a| a.u32().unwrap())
}

/// Takes the one notification the "monitor" group carried since the last take: it was
/// multicast in `ns` with `ethnl_default_notify()`'s header (the ethtool family, no
/// flags, broadcast sequence `seq`, port 0).
fn take_one_ntf(e: &mut Env, nl: &Nl, seq: u32) -> OwnedMsg {
    let ns = e.k.init_net();
    let ntf = e.k.ethnl_monitor_take();
    assert_eq!(ntf.len(), 1, "exactly one notification");
    let (ntf_ns, bytes) = &ntf[0];
    assert_eq!(*ntf_ns, ns);
    let mut msgs = netlink::msg::messages(bytes);
    let m = OwnedMsg::from_msg(&msgs.next().unwrap().unwrap());
    assert!(msgs.next().is_none(), "one message in the datagram");
    let h = m.hdr;
    assert_eq!(
        (h.nlmsg_type, h.nlmsg_flags, h.nlmsg_seq, h.nlmsg_pid),
        (nl.family, 0, seq, 0)
    );
    m
}

/// Asserts `ntf` is command `ntf_cmd` with the body (version, reserved, header nest and
/// attributes) of a `get_cmd` reply for `ifindex` read now; returns that reply.
fn assert_ntf_is_get_reply(
    e: &mut Env,
    nl: &mut Nl,
    ntf: &OwnedMsg,
    ntf_cmd: u8,
    get_cmd: u8,
    ifindex: u32,
) -> OwnedMsg {
    let mut parts = nl.call(&mut e.k, get_cmd, false, ifindex, |_| {}).unwrap();
    assert_eq!(parts.len(), 1);
    let reply = parts.remove(0);
    assert_eq!(reply.payload[0], get_cmd + 1, "the GET_REPLY");
    assert_eq!(ntf.payload[0], ntf_cmd);
    assert_eq!(ntf.payload[1..], reply.payload[1..]);
    reply
}

/// A SET that notifies on change, driven through one count attribute.
struct NtfCase {
    /// Which of the environment's NICs.
    dev: fn(&Env) -> DevId,
    set_cmd: u8,
    get_cmd: u8,
    ntf_cmd: u8,
    /// The attribute set, as both the request and the GET reply carry it.
    attr: u16,
    /// A GET reply attribute that must not change, and its value.
    max: (u16, u32),
    /// The value at start; the one set over netlink; one past the maximum; the one the
    /// kernel API sets at the end.
    start: u32,
    new: u32,
    too_big: u32,
    back: u32,
    /// The value in the device's state.
    current: fn(&Kernel, DevId) -> u32,
    /// The kernel API's set of the value: whether it changed something.
    api: fn(&mut Kernel, DevId, u32) -> bool,
}

/// `ethnl_default_set_doit()` → `ethtool_notify()`: a change notifies once, with the GET
/// reply's body and the new value; the same value again, an empty request and a refused
/// one do not; the kernel API notifies too, with the next broadcast sequence.
fn set_notifies_once_with_the_get_reply_only_on_change(c: NtfCase) {
    let mut e = env();
    let dev = (c.dev)(&e);
    let ifindex = e.ifindex(dev);
    let mut nl = Nl::open(&mut e.k, true);
    let set = |e: &mut Env, nl: &mut Nl, v: u32| {
        nl.call(&mut e.k, c.set_cmd, false, ifindex, |b| {
            b.put_u32(c.attr, v);
        })
        .map(|parts| assert!(parts.is_empty()))
    };
    assert_eq!((c.current)(&e.k, dev), c.start);

    set(&mut e, &mut nl, c.new).unwrap();
    let ntf = take_one_ntf(&mut e, &nl, 1);
    let reply = assert_ntf_is_get_reply(&mut e, &mut nl, &ntf, c.ntf_cmd, c.get_cmd, ifindex);
    // The notification carries the new value, not the old one.
    assert_eq!(attr_u32(&reply, c.attr), Some(c.new));
    assert_eq!(attr_u32(&reply, c.max.0), Some(c.max.1));

    // The same value again, an empty request and a refused one: no notification.
    set(&mut e, &mut nl, c.new).unwrap();
    nl.call(&mut e.k, c.set_cmd, false, ifindex, |_| {})
        .unwrap();
    assert_eq!(set(&mut e, &mut nl, c.too_big).unwrap_err().errno, EINVAL);
    assert!(!(c.api)(&mut e.k, dev, c.new));
    assert!(e.k.ethnl_monitor_take().is_empty());

    // The kernel API notifies too, with the next broadcast sequence.
    assert!((c.api)(&mut e.k, dev, c.back));
    let ntf = take_one_ntf(&mut e, &nl, 2);
    let reply = assert_ntf_is_get_reply(&mut e, &mut nl, &ntf, c.ntf_cmd, c.get_cmd, ifindex);
    assert_eq!(attr_u32(&reply, c.attr), Some(c.back));
}

#[test]
fn rings_set_notifies_once_with_the_get_reply_only_on_change() {
    set_notifies_once_with_the_get_reply_only_on_change(NtfCase {
        dev: |e| e.bnxt,
        set_cmd: ETHTOOL_MSG_RINGS_SET,
        get_cmd: ETHTOOL_MSG_RINGS_GET,
        ntf_cmd: ETHTOOL_MSG_RINGS_NTF,
        attr: ETHTOOL_A_RINGS_RX,
        max: (ETHTOOL_A_RINGS_RX_MAX, 2047),
        start: 511,
        new: 255,
        too_big: 4096,
        back: 511,
        current: |k, d| k.device(d).ethtool.rings.rx,
        api: |k, d, rx| {
            let req = RingsSet {
                rx: Some(rx),
                ..Default::default()
            };
            k.ethtool_rings_set(d, req).unwrap()
        },
    });
}

#[test]
fn channels_set_notifies_once_with_the_get_reply_only_on_change() {
    set_notifies_once_with_the_get_reply_only_on_change(NtfCase {
        dev: |e| e.gve,
        set_cmd: ETHTOOL_MSG_CHANNELS_SET,
        get_cmd: ETHTOOL_MSG_CHANNELS_GET,
        ntf_cmd: ETHTOOL_MSG_CHANNELS_NTF,
        attr: ETHTOOL_A_CHANNELS_COMBINED_COUNT,
        max: (ETHTOOL_A_CHANNELS_COMBINED_MAX, 16),
        start: 2,
        new: 4,
        too_big: 17,
        back: 1,
        current: |k, d| k.device(d).ethtool.channels.combined_count,
        api: |k, d, n| {
            let req = ChannelsSet {
                combined: Some(n),
                ..Default::default()
            };
            k.ethtool_channels_set(d, req).unwrap()
        },
    });
}

/// Kernel: `ethnl_set_rings_validate()` refuses each ring parameter the driver does not
/// list in `supported_ring_params` by its presence alone (EOPNOTSUPP, its own extack,
/// the attribute), and `ethnl_set_rings()` counts a non-zero mini or jumbo ring as a
/// change that exceeds the driver's maximum of 0.
#[test]
fn rings_set_refuses_unsupported_parameters_and_absent_rings() {
    let mut e = env();
    let bnxt = e.ifindex(e.bnxt);
    let mut nl = Nl::open(&mut e.k, true);
    let mut set = |e: &mut Env, build: &dyn Fn(&mut MsgBuilder)| {
        nl.call(&mut e.k, ETHTOOL_MSG_RINGS_SET, false, bnxt, |b| build(b))
            .map(|parts| assert!(parts.is_empty()))
    };
    // nlmsghdr 16 + genlmsghdr 4 + header nest 12: the first attribute is at 32.
    type Build = fn(&mut MsgBuilder);
    let cases: [(Build, &str); 5] = [
        (
            |b| {
                b.put_u32(ETHTOOL_A_RINGS_RX_BUF_LEN, 4096);
            },
            "setting rx buf len not supported",
        ),
        (
            |b| {
                b.put_u32(ETHTOOL_A_RINGS_CQE_SIZE, 128);
            },
            "setting cqe size not supported",
        ),
        (
            |b| {
                b.put_u8(ETHTOOL_A_RINGS_TX_PUSH, 0);
            },
            "setting tx push not supported",
        ),
        (
            |b| {
                b.put_u8(ETHTOOL_A_RINGS_RX_PUSH, 1);
            },
            "setting rx push not supported",
        ),
        (
            |b| {
                b.put_u32(ETHTOOL_A_RINGS_TX_PUSH_BUF_LEN, 64);
            },
            "setting tx push buf len is not supported",
        ),
    ];
    for (build, msg) in cases {
        let err = set(&mut e, &build).unwrap_err();
        assert_eq!(
            (err.errno, err.msg.as_deref(), err.bad_attr_offset),
            (EOPNOTSUPP, Some(msg), Some(32))
        );
    }
    // Refused before anything is applied, even a valid RX size in the same request.
    let err = set(&mut e, &|b| {
        b.put_u32(ETHTOOL_A_RINGS_RX, 255)
            .put_u8(ETHTOOL_A_RINGS_TX_PUSH, 0);
    })
    .unwrap_err();
    assert_eq!((err.errno, err.bad_attr_offset), (EOPNOTSUPP, Some(32 + 8)));
    assert_eq!(e.k.device(e.bnxt).ethtool.rings.rx, 511);

    // Mini and jumbo rings: 0 changes nothing, anything else exceeds the maximum.
    set(&mut e, &|b| {
        b.put_u32(ETHTOOL_A_RINGS_RX_MINI, 0)
            .put_u32(ETHTOOL_A_RINGS_RX_JUMBO, 0);
    })
    .unwrap();
    for ty in [ETHTOOL_A_RINGS_RX_MINI, ETHTOOL_A_RINGS_RX_JUMBO] {
        let err = set(&mut e, &|b| {
            b.put_u32(ETHTOOL_A_RINGS_RX, 255).put_u32(ty, 8);
        })
        .unwrap_err();
        assert_eq!(
            (err.errno, err.msg.as_deref(), err.bad_attr_offset),
            (
                EINVAL,
                Some("requested ring size exceeds maximum"),
                Some(32 + 8)
            )
        );
    }
    assert_eq!(e.k.device(e.bnxt).ethtool.rings.rx, 511);
    assert!(e.k.ethnl_monitor_take().is_empty());

    // The same through the kernel API.
    let req = RingsSet {
        rx_jumbo: Some(1),
        ..Default::default()
    };
    let err = e.k.ethtool_rings_set(e.bnxt, req).unwrap_err();
    assert_eq!(
        err.bad_attr,
        Some(simkernel::BadAttr::Ethtool(ETHTOOL_A_RINGS_RX_JUMBO))
    );
}
