//! The same clients against this machine's real kernel (through `KernelTransport`).
//! These document what Linux answers; the extack strings in comments are the ones
//! observed on the development machine (Linux 6.18, no netkit, no udmabuf, netdev ops
//! 1, 5, 10-15 only). Skipped, with the reason printed, where NETLINK_GENERIC cannot be
//! opened.
#![allow(clippy::unwrap_used)]

use devmem::Error;
use devmem::dmabuf::Dmabuf;
use devmem::ethtool::EthtoolClient;
use devmem::netdev::{Lease, NetdevClient, QueueType};
use devmem::rtnl::RtnlClient;
use uapi::errno::{ENODEV, EOPNOTSUPP};

fn netdev() -> Option<NetdevClient<devmem::transport::KernelTransport>> {
    if let Err(why) = linux::netlink::probe_netlink_generic() {
        eprintln!("skip: {why}");
        return None;
    }
    Some(NetdevClient::open_kernel().unwrap())
}

#[test]
fn dev_get_lo() {
    let Some(mut c) = netdev() else { return };
    let d = c.dev_get(1).unwrap();
    assert_eq!(d.ifindex, 1);
    assert_eq!(d.xdp_features, 0);
    assert_eq!(d.xdp_zc_max_segs, None);
    assert!(c.dev_dump().unwrap().iter().any(|d| d.ifindex == 1));
}

#[test]
fn dev_get_missing_is_enodev() {
    let Some(mut c) = netdev() else { return };
    let e = c.dev_get(999_999).unwrap_err();
    assert_eq!(e.errno(), Some(ENODEV), "{e}");
    // Observed: no extack message, just the errno.
    assert_eq!(e.to_string(), "Netlink error: No such device (errno 19)");
}

#[test]
fn bind_tx_on_lo_is_eopnotsupp() {
    let Some(mut c) = netdev() else { return };
    let buf = Dmabuf::memfd(4096).unwrap();
    let e = c.bind_tx(1, buf.fd()).unwrap_err();
    assert_eq!(e.errno(), Some(EOPNOTSUPP), "{e}");
    // Observed: "Driver does not support netmem TX" (netdev_nl_bind_tx_doit checks the
    // device before it ever looks at the fd).
    assert_eq!(e.extack_msg(), Some("Driver does not support netmem TX"));
}

#[test]
fn queue_get_lo_rx0() {
    let Some(mut c) = netdev() else { return };
    let q = c.queue_get(1, 0, QueueType::Rx).unwrap();
    assert_eq!((q.ifindex, q.id, q.r#type), (1, 0, QueueType::Rx));
    assert_eq!(q.lease, None);
    assert_eq!(q.dmabuf, None);
    let all = c.queue_dump(Some(1)).unwrap();
    assert!(all.iter().any(|q| q.id == 0 && q.r#type == QueueType::Rx));
}

#[test]
fn queue_create_is_not_in_this_kernel() {
    let Some(mut c) = netdev() else { return };
    let lease = Lease {
        ifindex: 1,
        queue: (0, QueueType::Rx),
        netns_id: None,
    };
    match c.queue_create(1, QueueType::Rx, lease) {
        // Observed on 6.18: the op does not exist; EOPNOTSUPP, no extack message.
        Err(e) => {
            eprintln!("queue-create observed: {e}");
            assert_eq!(e.errno(), Some(EOPNOTSUPP), "{e}");
        }
        Ok(id) => panic!("queue-create on lo succeeded with id {id}"),
    }
}

#[test]
fn rings_get_lo_is_eopnotsupp() {
    if let Err(why) = linux::netlink::probe_netlink_generic() {
        eprintln!("skip: {why}");
        return;
    }
    let mut c = EthtoolClient::open_kernel().unwrap();
    let e = c.rings_get(1).unwrap_err();
    eprintln!("rings-get observed: {e}");
    // lo has no get_ringparam: EOPNOTSUPP, observed with no extack message.
    assert_eq!(e.errno(), Some(EOPNOTSUPP), "{e}");
    let ch = c.channels_get(1);
    assert!(
        matches!(ch, Err(Error::Netlink(ref n)) if n.errno == EOPNOTSUPP),
        "{ch:?}"
    );
}

#[test]
fn coalesce_on_lo_is_eopnotsupp() {
    if let Err(why) = linux::netlink::probe_netlink_generic() {
        eprintln!("skip: {why}");
        return;
    }
    let mut c = EthtoolClient::open_kernel().unwrap();
    let e = c.coalesce_get(1).unwrap_err();
    eprintln!("coalesce-get observed: {e}");
    // lo has no get_coalesce (coalesce_prepare_data()): EOPNOTSUPP, no extack message.
    assert_eq!((e.errno(), e.extack_msg()), (Some(EOPNOTSUPP), None), "{e}");
    // Set stops in ethnl_set_coalesce_validate() before any parameter is looked at
    // (EPERM first without CAP_NET_ADMIN); nothing on lo changes either way.
    let set = devmem::ethtool::CoalesceSet {
        rx_usecs: Some(1),
        ..Default::default()
    };
    let e = c.coalesce_set(1, &set).unwrap_err();
    eprintln!("coalesce-set observed: {e}");
    assert!(
        matches!(e.errno(), Some(EOPNOTSUPP) | Some(uapi::errno::EPERM)),
        "{e}"
    );
}

#[test]
fn rtnl_link_lo() {
    let mut c = match RtnlClient::open_kernel() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("skip: NETLINK_ROUTE: {e}");
            return;
        }
    };
    let lo = c.link_get_by_name("lo").unwrap();
    assert_eq!((lo.ifindex, lo.name.as_str()), (1, "lo"));
    assert_eq!(lo.kind, None);
    let links = c.link_dump().unwrap();
    assert!(links.iter().any(|l| l.ifindex == 1 && l.name == "lo"));
    let e = c.link_get_by_name("no-such-dev0").unwrap_err();
    assert_eq!(e.errno(), Some(ENODEV), "{e}");
}
