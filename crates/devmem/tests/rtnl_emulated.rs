//! `RtnlClient` over `EmulatedTransport`: the typed client's exact request bytes
//! through the emulated kernel's rtnetlink, as env.py's container setup drives it.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;

use devmem::emulator::EmulatedTransport;
use devmem::rtnl::{NetkitSpec, RtnlClient};
use simkernel::{Cred, Kernel, KernelConfig};
use uapi::errno::{EEXIST, ENODEV, EOPNOTSUPP, EPERM};
use uapi::netlink::NETLINK_ROUTE;

fn client(
    k: &Rc<RefCell<Kernel>>,
    admin: bool,
) -> (RtnlClient<EmulatedTransport>, simkernel::ProcessId) {
    let ns = k.borrow().init_net();
    let pid = k.borrow_mut().process_spawn(
        ns,
        Cred {
            cap_net_admin: admin,
        },
    );
    let t = EmulatedTransport::open(k.clone(), pid, NETLINK_ROUTE).unwrap();
    (RtnlClient::new(t), pid)
}

#[test]
fn env_py_container_setup_through_rtnl_client() {
    let k = Rc::new(RefCell::new(Kernel::new(KernelConfig::default())));
    let (mut c, pid) = client(&k, true);
    c.netkit_create(&NetkitSpec::selftest(2)).unwrap();
    // Peer (guest) first: nk0 at the lower ifindex, the primary (host) nk1.
    let links = c.link_dump().unwrap();
    let nk: Vec<_> = links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("netkit") && !l.is_up())
        .map(|l| (l.ifindex, l.name.as_str()))
        .collect();
    assert_eq!(nk, vec![(2, "nk0"), (3, "nk1")]);
    let guest = c.link_get_by_name("nk0").unwrap();
    assert_eq!(guest.ifindex, 2);

    let ns = k.borrow_mut().netns_add("cont").unwrap();
    let fd = k.borrow_mut().netns_open(pid, ns).unwrap();
    c.netns_set_id_fd_num(fd, 1).unwrap();
    assert_eq!(
        c.netns_set_id_fd_num(fd, 2).unwrap_err().errno(),
        Some(EEXIST)
    );
    c.link_set_netns_fd_num(2, fd).unwrap();
    let host = c.link_get_by_name("nk1").unwrap();
    assert_eq!(host.link_netnsid, Some(1));
    c.link_set_up(host.ifindex, true).unwrap();
    assert!(c.link_get_by_name("nk1").unwrap().is_up());
    let fe80_1: IpAddr = "fe80::1".parse().unwrap();
    c.addr_add(host.ifindex, fe80_1, 64, true).unwrap();
    assert_eq!(
        c.addr_add(host.ifindex, fe80_1, 64, true)
            .unwrap_err()
            .errno(),
        Some(EEXIST)
    );
    let guest_ip: IpAddr = "2001:db8:1:2::2".parse().unwrap();
    let fe80_2: IpAddr = "fe80::2".parse().unwrap();
    c.route_add(guest_ip, 128, Some(fe80_2), host.ifindex)
        .unwrap();
    {
        let kk = k.borrow();
        let r = kk
            .fib6_lookup(kk.init_net(), &"2001:db8:1:2::2".parse().unwrap(), None)
            .unwrap();
        assert_eq!(r.gateway, Some("fe80::2".parse().unwrap()));
        assert_eq!(kk.device(r.dev).name, "nk1");
    }
    // The guest is gone from init's view.
    assert_eq!(c.link_get_by_name("nk0").unwrap_err().errno(), Some(ENODEV));
    // lo refuses deletion; deleting the host removes the guest in the container too.
    assert_eq!(c.link_del(1).unwrap_err().errno(), Some(EOPNOTSUPP));
    c.link_del(host.ifindex).unwrap();
    assert!(k.borrow().dev_get_by_index(ns, 2).is_none());
    // Without CAP_NET_ADMIN only GET works.
    let (mut u, _) = client(&k, false);
    assert_eq!(u.link_dump().unwrap().len(), 1);
    assert_eq!(
        u.netkit_create(&NetkitSpec::selftest(1))
            .unwrap_err()
            .errno(),
        Some(EPERM)
    );
}

#[test]
fn veth_pair_through_rtnl_client() {
    let k = Rc::new(RefCell::new(Kernel::new(KernelConfig::default())));
    let (mut c, _) = client(&k, true);
    c.veth_create("va", "vb").unwrap();
    let a = c.link_get_by_name("va").unwrap();
    let b = c.link_get_by_name("vb").unwrap();
    assert_eq!(a.kind.as_deref(), Some("veth"));
    assert_eq!((b.ifindex, a.ifindex), (2, 3));
    assert_eq!(c.veth_create("va", "vc").unwrap_err().errno(), Some(EEXIST));
    let v4: IpAddr = "192.0.2.1".parse().unwrap();
    c.addr_add(a.ifindex, v4, 24, false).unwrap();
    c.route_add("198.18.0.0".parse().unwrap(), 15, None, a.ifindex)
        .unwrap();
    c.link_del(b.ifindex).unwrap();
    assert_eq!(c.link_dump().unwrap().len(), 1);
}
