//! rtnetlink through the message layer: request bytes in, reply bytes out.

use netlink::msg::{MsgBuilder, messages};
use uapi::errno::*;
use uapi::netlink::{
    NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NlMsgErr,
};
use uapi::rtnetlink::*;

use crate::kernel::{Kernel, KernelConfig, NlSockId};
use crate::process::{Cred, ProcessId};

struct T {
    k: Kernel,
    pid: ProcessId,
    s: NlSockId,
    seq: u32,
}

impl T {
    fn new(admin: bool) -> Self {
        let mut k = Kernel::new(KernelConfig::default());
        let pid = k.process_spawn(
            k.init_net(),
            Cred {
                cap_net_admin: admin,
            },
        );
        let s = k.netlink_socket(pid, NETLINK_ROUTE).unwrap();
        k.netlink_setsockopt(s, NETLINK_EXT_ACK, true).unwrap();
        T { k, pid, s, seq: 0 }
    }

    fn start(&mut self, ty: u16, flags: u16) -> MsgBuilder {
        self.seq += 1;
        MsgBuilder::new(ty, NLM_F_REQUEST | flags, self.seq, 0)
    }

    /// Sends and returns every reply message (type, raw bytes).
    fn send(&mut self, b: MsgBuilder) -> Vec<(u16, Vec<u8>)> {
        let m = b.finish();
        self.k.netlink_send(self.s, &m).unwrap();
        let mut out = Vec::new();
        while let Some(d) = self.k.netlink_recv(self.s) {
            for m in messages(&d) {
                let m = m.unwrap();
                out.push((m.hdr.nlmsg_type, m.raw.to_vec()));
            }
        }
        out
    }

    /// Sends with NLM_F_ACK; returns (errno, extack message, other replies).
    fn call(&mut self, b: MsgBuilder) -> (i32, Option<String>, Vec<Vec<u8>>) {
        let mut errno = None;
        let mut msg = None;
        let mut rest = Vec::new();
        for (ty, raw) in self.send(b) {
            if ty == NLMSG_ERROR {
                let e = NlMsgErr::from_bytes(&raw[16..]).unwrap();
                errno = Some(-e.error);
                msg = extack_msg(&raw);
            } else {
                rest.push(raw);
            }
        }
        (errno.expect("an ack"), msg, rest)
    }
}

/// NLMSGERR_ATTR_MSG (1) of an ack, wherever its TLVs start.
fn extack_msg(raw: &[u8]) -> Option<String> {
    let flags = u16::from_ne_bytes([raw[6], raw[7]]);
    if flags & uapi::netlink::NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let capped = flags & uapi::netlink::NLM_F_CAPPED != 0;
    let start = if capped {
        36
    } else {
        let inner = u32::from_ne_bytes(raw[20..24].try_into().unwrap()) as usize;
        20 + uapi::netlink::nlmsg_align(inner)
    };
    for a in netlink::attr::Attrs::new(&raw[start..], start) {
        let a = a.unwrap();
        if a.ty == 1 {
            return Some(a.str().unwrap().to_string());
        }
    }
    None
}

fn ifinfo(index: i32, flags: u32, change: u32) -> [u8; 16] {
    IfInfoMsg {
        ifi_index: index,
        ifi_flags: flags,
        ifi_change: change,
        ..Default::default()
    }
    .to_bytes()
}

/// The netkit request env.py's YNL newlink sends.
fn netkit_req(t: &mut T, flags: u16, rxq: u32, pairing: Option<u32>) -> MsgBuilder {
    let mut b = t.start(RTM_NEWLINK, flags).raw_header(&ifinfo(0, 0, 0));
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "netkit");
    let d = b.nest_start(IFLA_INFO_DATA);
    b.put_u32(IFLA_NETKIT_MODE, NETKIT_L2)
        .put_u32(IFLA_NETKIT_POLICY, 0)
        .put_u32(IFLA_NETKIT_PEER_POLICY, 0);
    if let Some(p) = pairing {
        b.put_u32(IFLA_NETKIT_PAIRING, p);
    }
    b.nest_end(d);
    b.nest_end(li);
    b.put_u32(IFLA_NUM_RX_QUEUES, rxq);
    b
}

/// (ifindex, name, flags, attrs) of a RTM_NEWLINK reply.
type Link = (i32, String, u32, Vec<(u16, Vec<u8>)>);

fn link_of(raw: &[u8]) -> Link {
    let h = IfInfoMsg::from_bytes(&raw[16..]).unwrap();
    let mut name = String::new();
    let mut attrs = Vec::new();
    for a in netlink::attr::Attrs::new(&raw[32..], 32) {
        let a = a.unwrap();
        if a.ty == IFLA_IFNAME {
            name = a.str().unwrap().to_string();
        }
        attrs.push((a.ty, a.value.to_vec()));
    }
    (h.ifi_index, name, h.ifi_flags, attrs)
}

fn attr(attrs: &[(u16, Vec<u8>)], ty: u16) -> Option<Vec<u8>> {
    attrs.iter().find(|(t, _)| *t == ty).map(|(_, v)| v.clone())
}

fn dump(t: &mut T) -> Vec<Link> {
    let b = t
        .start(RTM_GETLINK, NLM_F_DUMP)
        .raw_header(&ifinfo(0, 0, 0));
    let replies = t.send(b);
    let (last_ty, last) = replies.last().unwrap();
    assert_eq!(*last_ty, NLMSG_DONE);
    assert_eq!(&last[16..20], &0i32.to_ne_bytes());
    replies[..replies.len() - 1]
        .iter()
        .map(|(ty, raw)| {
            assert_eq!(*ty, RTM_NEWLINK);
            assert_eq!(
                u16::from_ne_bytes([raw[6], raw[7]]),
                uapi::netlink::NLM_F_MULTI
            );
            link_of(raw)
        })
        .collect()
}

#[test]
fn netkit_create_like_env_py_and_dump() {
    let mut t = T::new(true);
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 3, None);
    assert_eq!(t.call(b).0, 0);
    let links = dump(&mut t);
    let names: Vec<_> = links.iter().map(|l| (l.0, l.1.as_str())).collect();
    // Peer registered first: nk0 (guest) gets the lower ifindex, the primary nk1.
    assert_eq!(names, vec![(1, "lo"), (2, "nk0"), (3, "nk1")]);
    let (_, _, flags, attrs) = &links[2];
    assert_eq!(*flags & IFF_UP, 0);
    assert_eq!(attr(attrs, IFLA_NUM_RX_QUEUES).unwrap(), 3u32.to_ne_bytes());
    assert_eq!(attr(attrs, IFLA_NUM_TX_QUEUES).unwrap(), 1u32.to_ne_bytes());
    assert_eq!(attr(attrs, IFLA_LINK).unwrap(), 2u32.to_ne_bytes());
    assert!(attr(attrs, IFLA_LINK_NETNSID).is_none());
    // The peer takes the primary's queue count when no peer info is given.
    assert_eq!(
        attr(&links[1].3, IFLA_NUM_RX_QUEUES).unwrap(),
        3u32.to_ne_bytes()
    );
    // IFLA_LINKINFO { kind "netkit", data { netkit_fill_info() } }, no NLA_F_NESTED.
    let li = attr(attrs, IFLA_LINKINFO).unwrap();
    let mut expect = Vec::new();
    let mut put = |ty: u16, v: &[u8]| {
        expect.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
        expect.extend_from_slice(&ty.to_ne_bytes());
        expect.extend_from_slice(v);
        expect.resize(uapi::netlink::nla_align(expect.len()), 0);
    };
    put(IFLA_INFO_KIND, b"netkit\0");
    let mut data = Vec::new();
    for (ty, v) in [
        (IFLA_NETKIT_PRIMARY, vec![1u8]),
        (IFLA_NETKIT_POLICY, 0u32.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_MODE, NETKIT_L2.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_SCRUB, 1u32.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_HEADROOM, 0u16.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_TAILROOM, 0u16.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_PAIRING, 0u32.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_PEER_POLICY, 0u32.to_ne_bytes().to_vec()),
        (IFLA_NETKIT_PEER_SCRUB, 1u32.to_ne_bytes().to_vec()),
    ] {
        data.extend_from_slice(&((4 + v.len()) as u16).to_ne_bytes());
        data.extend_from_slice(&ty.to_ne_bytes());
        data.extend_from_slice(&v);
        data.resize(uapi::netlink::nla_align(data.len()), 0);
    }
    put(IFLA_INFO_DATA, &data);
    assert_eq!(li, expect);
    // The guest's view: primary 0.
    let gli = attr(&links[1].3, IFLA_LINKINFO).unwrap();
    assert_eq!(&gli[12 + 4..12 + 8], &[5, 0, 2, 0]);
    assert_eq!(gli[12 + 8], 0);
}

#[test]
fn newlink_errors_in_kernel_order() {
    let mut t = T::new(true);
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2, None);
    assert_eq!(t.call(b).0, 0);
    // A taken name with CREATE|EXCL: rtnl_changelink()'s EEXIST.
    let mut b = t
        .start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        .raw_header(&ifinfo(0, 0, 0));
    b.put_str(IFLA_IFNAME, "nk1");
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "netkit");
    b.nest_end(li);
    assert_eq!(t.call(b).0, EEXIST);
    // Unknown kind.
    let mut b = t
        .start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&ifinfo(0, 0, 0));
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "bogus");
    b.nest_end(li);
    assert_eq!(
        t.call(b),
        (EOPNOTSUPP, Some("Unknown device type".into()), vec![])
    );
    // No CREATE and nothing named: ENODEV.
    let mut b = t.start(RTM_NEWLINK, NLM_F_ACK).raw_header(&ifinfo(0, 0, 0));
    b.put_str(IFLA_IFNAME, "nope");
    assert_eq!(t.call(b).0, ENODEV);
    // Read-only IFLA_NETKIT_PRIMARY: the policy's reject message.
    let mut b = t
        .start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&ifinfo(0, 0, 0));
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "netkit");
    let d = b.nest_start(IFLA_INFO_DATA);
    b.put_u8(IFLA_NETKIT_PRIMARY, 1);
    b.nest_end(d);
    b.nest_end(li);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("Primary attribute is read-only"))
    );
    // Bad policy value.
    let mut b = t
        .start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&ifinfo(0, 0, 0));
    let li = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "netkit");
    let d = b.nest_start(IFLA_INFO_DATA);
    b.put_u32(IFLA_NETKIT_POLICY, 7);
    b.nest_end(d);
    b.nest_end(li);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("Provided default xmit policy not supported"))
    );
    // Queue counts: rtnl_create_link() bounds, then netkit's own.
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE, 0, None);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("Invalid number of receive queues"))
    );
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE, 2000, None);
    assert_eq!(t.call(b).0, EOPNOTSUPP);
    // Single mode with a peer policy.
    let b = netkit_req(
        &mut t,
        NLM_F_ACK | NLM_F_CREATE,
        1,
        Some(NETKIT_DEVICE_SINGLE),
    );
    assert_eq!(t.call(b).0, EOPNOTSUPP);
    // Header shorter than ifinfomsg.
    let mut b = t.start(RTM_NEWLINK, NLM_F_ACK);
    b.put_u8(0, 0);
    let (e, m, _) = t.call(b);
    assert_eq!((e, m.as_deref()), (EINVAL, Some("Invalid header length")));
}

#[test]
fn eperm_without_cap_net_admin_but_get_allowed() {
    let mut t = T::new(false);
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 1, None);
    assert_eq!(t.call(b).0, EPERM);
    let mut b = t.start(RTM_GETLINK, NLM_F_ACK).raw_header(&ifinfo(0, 0, 0));
    b.put_str(IFLA_IFNAME, "lo");
    let (e, _, rest) = t.call(b);
    assert_eq!(e, 0);
    let (idx, name, flags, attrs) = link_of(&rest[0]);
    assert_eq!((idx, name.as_str()), (1, "lo"));
    assert_ne!(flags & IFF_LOOPBACK, 0);
    assert_eq!(
        u16::from_ne_bytes([rest[0][18], rest[0][19]]),
        ARPHRD_LOOPBACK
    );
    assert!(attr(&attrs, IFLA_LINKINFO).is_none());
    // Unknown name / no selector.
    let mut b = t.start(RTM_GETLINK, NLM_F_ACK).raw_header(&ifinfo(0, 0, 0));
    b.put_str(IFLA_IFNAME, "eth9");
    assert_eq!(t.call(b).0, ENODEV);
    let b = t.start(RTM_GETLINK, NLM_F_ACK).raw_header(&ifinfo(0, 0, 0));
    assert_eq!(t.call(b).0, EINVAL);
    // Address and route families without a handler.
    let b = t.start(RTM_GETROUTE, NLM_F_ACK).raw_header(&[0u8; 12]);
    assert_eq!(t.call(b).0, EOPNOTSUPP);
}

#[test]
fn strict_getlink_rejects_header_values_and_attrs() {
    let mut t = T::new(true);
    t.k.netlink_setsockopt(t.s, NETLINK_GET_STRICT_CHK, true)
        .unwrap();
    let mut b = t.start(RTM_GETLINK, NLM_F_ACK).raw_header(&ifinfo(1, 1, 0));
    b.put_str(IFLA_IFNAME, "lo");
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (
            EINVAL,
            Some("Invalid values in header for get link request")
        )
    );
    let mut b = t.start(RTM_GETLINK, NLM_F_ACK).raw_header(&ifinfo(1, 0, 0));
    b.put_u32(IFLA_MTU, 1500);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("Unsupported attribute in get link request"))
    );
    // A strict dump with an ifindex: DONE carries the error.
    let b = t
        .start(RTM_GETLINK, NLM_F_DUMP)
        .raw_header(&ifinfo(1, 0, 0));
    let r = t.send(b);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].0, NLMSG_DONE);
    assert_eq!(&r[0].1[16..20], &(-EINVAL).to_ne_bytes());
}

#[test]
fn up_down_move_netns_nsid_and_delete() {
    let mut t = T::new(true);
    let b = netkit_req(&mut t, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, 2, None);
    assert_eq!(t.call(b).0, 0);
    let ns = t.k.netns_add("guest").unwrap();
    let fd = t.k.netns_open(t.pid, ns).unwrap();
    // `ip netns set guest 5` from init: NEWNSID with NETNSA_FD + NETNSA_NSID.
    let mut b = t.start(RTM_NEWNSID, NLM_F_ACK).raw_header(&[0, 0, 0, 0]);
    b.put_s32(NETNSA_NSID, 5).put_u32(NETNSA_FD, fd as u32);
    assert_eq!(t.call(b).0, 0);
    let mut b = t.start(RTM_NEWNSID, NLM_F_ACK).raw_header(&[0, 0, 0, 0]);
    b.put_s32(NETNSA_NSID, 6).put_u32(NETNSA_FD, fd as u32);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EEXIST, Some("Peer netns already has a nsid assigned"))
    );
    let mut b = t.start(RTM_NEWNSID, NLM_F_ACK).raw_header(&[0, 0, 0, 0]);
    b.put_s32(NETNSA_NSID, 6).put_u32(NETNSA_FD, 99);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EBADF, Some("Peer netns reference is invalid"))
    );
    let mut b = t.start(RTM_GETNSID, NLM_F_ACK).raw_header(&[0, 0, 0, 0]);
    b.put_u32(NETNSA_FD, fd as u32);
    let (e, _, rest) = t.call(b);
    assert_eq!(e, 0);
    assert_eq!(rest[0].len(), 28);
    assert_eq!(&rest[0][16..20], &[0, 0, 0, 0]);
    assert_eq!(&rest[0][20..28], &[8, 0, 1, 0, 5, 0, 0, 0]);
    // Move the guest (nk0, ifindex 2) with IFLA_NET_NS_FD.
    let mut b = t.start(RTM_NEWLINK, NLM_F_ACK).raw_header(&ifinfo(2, 0, 0));
    b.put_u32(IFLA_NET_NS_FD, fd as u32);
    assert_eq!(t.call(b).0, 0);
    let links = dump(&mut t);
    assert_eq!(links.len(), 2);
    let host = &links[1];
    assert_eq!(host.1, "nk1");
    assert_eq!(
        attr(&host.3, IFLA_LINK_NETNSID).unwrap(),
        5i32.to_ne_bytes()
    );
    assert_eq!(attr(&host.3, IFLA_LINK).unwrap(), 2u32.to_ne_bytes());
    // Up with ifi_change = IFF_UP, then down.
    let b = t
        .start(RTM_NEWLINK, NLM_F_ACK)
        .raw_header(&ifinfo(3, IFF_UP, IFF_UP));
    assert_eq!(t.call(b).0, 0);
    assert_ne!(dump(&mut t)[1].2 & IFF_UP, 0);
    let b = t
        .start(RTM_NEWLINK, NLM_F_ACK)
        .raw_header(&ifinfo(3, 0, IFF_UP));
    assert_eq!(t.call(b).0, 0);
    assert_eq!(dump(&mut t)[1].2 & IFF_UP, 0);
    // A bad fd is EBADF, a non-netns fd EINVAL.
    let mut b = t.start(RTM_NEWLINK, NLM_F_ACK).raw_header(&ifinfo(3, 0, 0));
    b.put_u32(IFLA_NET_NS_FD, 77);
    assert_eq!(t.call(b).0, EBADF);
    // lo cannot be deleted (no rtnl_link_ops); the pair goes as a whole.
    let b = t.start(RTM_DELLINK, NLM_F_ACK).raw_header(&ifinfo(1, 0, 0));
    assert_eq!(t.call(b).0, EOPNOTSUPP);
    let b = t.start(RTM_DELLINK, NLM_F_ACK).raw_header(&ifinfo(3, 0, 0));
    assert_eq!(t.call(b).0, 0);
    assert_eq!(dump(&mut t).len(), 1);
    assert!(t.k.dev_get_by_index(ns, 2).is_none());
    let b = t.start(RTM_DELLINK, NLM_F_ACK).raw_header(&ifinfo(3, 0, 0));
    assert_eq!(t.call(b).0, ENODEV);
}

#[test]
fn veth_addresses_and_routes() {
    let mut t = T::new(true);
    // Build the peer nest by hand: ifinfomsg + IFLA_IFNAME "vb".
    let mut b = t
        .start(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        .raw_header(&ifinfo(0, IFF_UP, IFF_UP));
    b.put_str(IFLA_IFNAME, "va");
    let li2 = b.nest_start(IFLA_LINKINFO);
    b.put_str(IFLA_INFO_KIND, "veth");
    let d2 = b.nest_start(IFLA_INFO_DATA);
    let mut peer = ifinfo(0, 0, 0).to_vec();
    peer.extend_from_slice(&[7, 0, 3, 0, b'v', b'b', 0, 0]);
    b.put_bytes(VETH_INFO_PEER, &peer);
    b.nest_end(d2);
    b.nest_end(li2);
    assert_eq!(t.call(b).0, 0);
    let links = dump(&mut t);
    let names: Vec<_> = links.iter().map(|l| l.1.as_str()).collect();
    assert_eq!(names, vec!["lo", "vb", "va"]);
    assert_ne!(links[2].2 & IFF_UP, 0);
    assert_eq!(links[1].2 & IFF_UP, 0);
    // 2001:db8::1/64 nodad on va (ifindex 3).
    let hdr = IfAddrMsg {
        ifa_family: AF_INET6,
        ifa_prefixlen: 64,
        ifa_flags: IFA_F_NODAD as u8,
        ifa_scope: 0,
        ifa_index: 3,
    };
    let a6: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let add6 = |t: &mut T| {
        let mut b = t
            .start(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .raw_header(&hdr.to_bytes());
        b.put_bytes(IFA_LOCAL, &a6.octets())
            .put_bytes(IFA_ADDRESS, &a6.octets());
        t.call(b).0
    };
    assert_eq!(add6(&mut t), 0);
    let d = t.k.dev_get_by_index(t.k.init_net(), 3).unwrap();
    let ifa = t.k.ipv6_dev_has_addr(d, &a6).unwrap();
    assert!(!ifa.tentative);
    assert_eq!(add6(&mut t), EEXIST);
    // Unknown device.
    let hdr9 = IfAddrMsg {
        ifa_index: 9,
        ..hdr
    };
    let mut b = t
        .start(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&hdr9.to_bytes());
    b.put_bytes(IFA_LOCAL, &a6.octets());
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (ENODEV, Some("ipv6: Unable to find the interface"))
    );
    // IPv4 without IFA_LOCAL.
    let h4 = IfAddrMsg {
        ifa_family: AF_INET,
        ifa_prefixlen: 24,
        ifa_flags: 0,
        ifa_scope: 0,
        ifa_index: 3,
    };
    let mut b = t
        .start(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&h4.to_bytes());
    b.put_bytes(IFA_ADDRESS, &[192, 0, 2, 1]);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("ipv4: Local address is not supplied"))
    );
    let mut b = t
        .start(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&h4.to_bytes());
    b.put_bytes(IFA_LOCAL, &[192, 0, 2, 1])
        .put_bytes(IFA_ADDRESS, &[192, 0, 2, 1]);
    assert_eq!(t.call(b).0, 0);
    // Family 0 has no NEWADDR handler.
    let h0 = IfAddrMsg {
        ifa_family: 0,
        ..h4
    };
    let b = t.start(RTM_NEWADDR, NLM_F_ACK).raw_header(&h0.to_bytes());
    assert_eq!(t.call(b).0, EOPNOTSUPP);
    // Routes: 2001:db8:2::/64 via 2001:db8::2 dev va; 198.18.0.0/15 dev va.
    let rt6 = RtMsg {
        rtm_family: AF_INET6,
        rtm_dst_len: 64,
        rtm_table: RT_TABLE_MAIN,
        rtm_protocol: RTPROT_BOOT,
        rtm_type: RTN_UNICAST,
        ..Default::default()
    };
    let dst: std::net::Ipv6Addr = "2001:db8:2::".parse().unwrap();
    let gw: std::net::Ipv6Addr = "2001:db8::2".parse().unwrap();
    let mut b = t
        .start(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
        .raw_header(&rt6.to_bytes());
    b.put_bytes(RTA_DST, &dst.octets())
        .put_bytes(RTA_GATEWAY, &gw.octets())
        .put_u32(RTA_OIF, 3);
    assert_eq!(t.call(b).0, 0);
    let e =
        t.k.fib6_lookup(t.k.init_net(), &"2001:db8:2::7".parse().unwrap(), None)
            .unwrap();
    assert_eq!((e.dev, e.gateway), (d, Some(gw)));
    // RTA_DST shorter than rtm_dst_len says.
    let mut b = t
        .start(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&rt6.to_bytes());
    b.put_bytes(RTA_DST, &[0x20, 0x01]).put_u32(RTA_OIF, 3);
    assert_eq!(t.call(b).0, EINVAL);
    let rt4 = RtMsg {
        rtm_family: AF_INET,
        rtm_dst_len: 15,
        rtm_scope: RT_SCOPE_LINK,
        ..rt6
    };
    let mut b = t
        .start(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&rt4.to_bytes());
    b.put_bytes(RTA_DST, &[198, 18, 0, 0]).put_u32(RTA_OIF, 3);
    assert_eq!(t.call(b).0, 0);
    let mut b = t
        .start(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE)
        .raw_header(&rt4.to_bytes());
    b.put_bytes(RTA_DST, &[198, 19, 0, 0]).put_u32(RTA_OIF, 3);
    let (e, m, _) = t.call(b);
    assert_eq!(
        (e, m.as_deref()),
        (EINVAL, Some("Invalid prefix for given prefix length"))
    );
}
