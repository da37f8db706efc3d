//! net/nk_qlease.py: queue leasing between a NIC and netkit devices (selftests-spec
//! §10.4), plus hw/nk_qlease.py's `test_attrs` (§10.2).
//!
//! The python suite runs on netdevsim devices and drives YNL (`rtnl newlink`, `netdev
//! queue-create/queue-get/bind-rx`, `ethtool channels-set`); here the lessor is an
//! emulated NIC of the run's driver profile and the calls go to the emulated kernel's
//! operations for those requests, with the same arguments and the errno YNL would
//! raise. Every test builds its own devices and defers their removal; one container
//! namespace (nsid 0 = init) is shared, as in python.

use std::cell::RefCell;
use std::rc::Rc;

use simkernel::drivers::netkit::NetkitConfig;
use simkernel::net::ethtool::ChannelsSet;
use simkernel::{Caller, Cred, DevId, Kernel, NetNsId, NlSockId, OpError};
use uapi::errno::{EBUSY, EINVAL, ENODEV, ENONET, EOPNOTSUPP, ERANGE};
use uapi::netdev::QueueType;
use uapi::rtnetlink::{NetkitMode, NetkitPairing};

use crate::config::Driver;
use crate::ksft::{Case, CaseFn, Ksft, KsftError, KsftResult, LocalBoxFuture};

/// The suite's shared state: the kernel, the container namespace, admin callers.
pub struct QleaseEnv {
    /// The emulated kernel.
    pub k: Rc<RefCell<Kernel>>,
    /// Driver profile of the lessor NICs.
    pub driver: Driver,
    init: NetNsId,
    ns: NetNsId,
    admin: Caller,
    cont: Caller,
    names: RefCell<u32>,
}

impl std::fmt::Debug for QleaseEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QleaseEnv")
            .field("driver", &self.driver)
            .finish()
    }
}

fn caller(k: &mut Kernel, ns: NetNsId, sock: u64) -> Caller {
    let cred = Cred {
        cap_net_admin: true,
    };
    Caller {
        pid: k.process_spawn(ns, cred),
        netns: ns,
        cred,
        sock: NlSockId(sock),
    }
}

fn kerr(e: impl std::fmt::Display) -> KsftError {
    KsftError::Fail(e.to_string())
}

impl QleaseEnv {
    /// A fresh environment on `k`: the container namespace with `ip netns set init 0`.
    pub fn new(k: Rc<RefCell<Kernel>>, driver: Driver) -> Result<Self, String> {
        let (init, ns, admin, cont) = {
            let mut kk = k.borrow_mut();
            let init = kk.init_net();
            let ns = kk.netns_add("nk_qlease").map_err(|e| e.to_string())?;
            kk.netns_set_id(ns, init, 0).map_err(|e| e.to_string())?;
            let admin = caller(&mut kk, init, 0x51_0001);
            let cont = caller(&mut kk, ns, 0x51_0002);
            (init, ns, admin, cont)
        };
        Ok(QleaseEnv {
            k,
            driver,
            init,
            ns,
            admin,
            cont,
            names: RefCell::new(0),
        })
    }

    fn name(&self, pfx: &str) -> String {
        let mut n = self.names.borrow_mut();
        *n += 1;
        format!("{pfx}{n}")
    }

    fn ifindex(&self, d: DevId) -> u32 {
        self.k.borrow().device(d).ifindex
    }

    /// `NetdevSimDev(queue_count=n)`: a NIC with `n` channels, up; removed at test end.
    fn nic(&self, ksft: &Ksft, n: u32) -> KsftResult<DevId> {
        let name = self.name("eni");
        let d = {
            let mut k = self.k.borrow_mut();
            let d = k
                .nic_add(self.init, &name, self.driver.profile(), n)
                .map_err(kerr)?;
            k.link_set_up(d, true).map_err(kerr)?;
            d
        };
        let k = self.k.clone();
        ksft.defer(move || {
            let mut k = k.borrow_mut();
            if k.try_device(d).is_some() {
                k.nic_remove(d).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?;
        Ok(d)
    }

    /// rtnl newlink netkit (forward/forward) with `rxq` guest RX queues; the guest is
    /// moved into the container namespace unless `same_ns`. Deleted at test end.
    fn netkit(
        &self,
        ksft: &Ksft,
        mode: NetkitMode,
        pairing: NetkitPairing,
        rxq: u32,
        same_ns: bool,
    ) -> KsftResult<(DevId, Option<DevId>)> {
        let (h, g) = (self.name("nk"), self.name("nkg"));
        let mut cfg = match pairing {
            NetkitPairing::Single => NetkitConfig::single(&h),
            _ => NetkitConfig::pair(&h, &g),
        };
        cfg.mode = mode;
        if pairing == NetkitPairing::Single {
            cfg.num_rx_queues = Some(rxq);
        } else {
            cfg.peer_num_rx_queues = Some(rxq);
            if !same_ns {
                cfg.peer_netns = Some(self.ns);
            }
        }
        let (host, guest) = {
            let mut k = self.k.borrow_mut();
            let (host, guest) = k.netkit_add(self.init, cfg).map_err(kerr)?;
            for d in std::iter::once(host).chain(guest) {
                k.link_set_up(d, true).map_err(kerr)?;
            }
            (host, guest)
        };
        let k = self.k.clone();
        ksft.defer(move || {
            let mut k = k.borrow_mut();
            if k.try_device(host).is_some() {
                k.link_del(host).map_err(|e| e.to_string())?;
            }
            Ok(())
        })?;
        Ok((host, guest))
    }

    /// YNL `queue-create` {ifindex = virt, type rx, lease {ifindex = phys, queue {q, rx},
    /// netns-id?}} from `c`.
    fn lease_from(
        &self,
        c: &Caller,
        virt: DevId,
        phys: DevId,
        q: u32,
        netns_id: Option<i32>,
    ) -> Result<u32, OpError> {
        let (v, p) = (self.ifindex(virt), self.ifindex(phys));
        self.k.borrow_mut().queue_create(c, v, p, q, netns_id)
    }

    /// queue-create from inside the container (netns-id 0), as the tests do.
    fn lease(&self, guest: DevId, phys: DevId, q: u32) -> Result<u32, OpError> {
        let c = self.cont;
        self.lease_from(&c, guest, phys, q, Some(0))
    }

    /// YNL `queue-get` {ifindex, id, type rx} on `dev`.
    fn qget(
        &self,
        dev: DevId,
        id: u32,
    ) -> Result<simkernel::net::core::netdev_nl_ops::QueueInfo, OpError> {
        self.k.borrow_mut().queue_info(dev, QueueType::Rx, id)
    }

    fn lease_of(
        &self,
        dev: DevId,
        id: u32,
    ) -> KsftResult<Option<simkernel::net::core::netdev_nl_ops::LeaseInfo>> {
        Ok(self.qget(dev, id).map_err(kerr)?.lease)
    }

    /// ethtool `channels-set` combined-count `n`.
    fn channels(&self, dev: DevId, n: u32) -> Result<(), OpError> {
        self.k
            .borrow_mut()
            .ethtool_channels_set(
                dev,
                ChannelsSet {
                    combined: Some(n),
                    ..ChannelsSet::default()
                },
            )
            .map(|_changed| ())
    }

    fn exists(&self, d: DevId) -> bool {
        self.k.borrow().try_device(d).is_some()
    }
}

/// `with ksft_raises(NlError) as e: ...; ksft_eq(e.exception.nl_msg.error, -errno)`.
#[track_caller]
fn raises<T: std::fmt::Debug>(ksft: &Ksft, r: Result<T, OpError>, errno: i32) {
    match r {
        Ok(v) => ksft.eq(
            format!("ok {v:?}"),
            format!("errno {errno}"),
            "expected NlError",
        ),
        Err(e) => ksft.eq(e.errno(), errno, e.msg().unwrap_or("")),
    }
}

fn guest(g: Option<DevId>) -> KsftResult<DevId> {
    g.ok_or_else(|| KsftError::fail("netkit pair has no peer"))
}

macro_rules! case {
    ($name:ident, |$k:ident, $e:ident| $body:block) => {
        fn $name<'a>($k: &'a Ksft, $e: &'a QleaseEnv) -> LocalBoxFuture<'a, KsftResult> {
            Box::pin(async move { $body })
        }
    };
}

const L2: NetkitMode = NetkitMode::L2;
const L3: NetkitMode = NetkitMode::L3;
const PAIR: NetkitPairing = NetkitPairing::Pair;
const SINGLE: NetkitPairing = NetkitPairing::Single;

case!(test_remove_phys, |k, e| {
    let nic = e.nic(k, 2)?;
    let (host, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    e.k.borrow_mut().nic_remove(nic).map_err(kerr)?;
    k.is_true(!e.exists(host), "netkit primary removed with its lessor");
    k.is_true(!e.exists(guest(g)?), "netkit peer removed with its lessor");
    Ok(())
});

case!(test_multi_netkit_remove_phys, |k, e| {
    let nic = e.nic(k, 3)?;
    let (h1, g1) = e.netkit(k, L2, PAIR, 2, false)?;
    let (h2, g2) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g1)?, nic, 1).map_err(kerr)?;
    e.lease(guest(g2)?, nic, 2).map_err(kerr)?;
    e.k.borrow_mut().nic_remove(nic).map_err(kerr)?;
    k.is_true(!e.exists(h1) && !e.exists(h2), "both netkits removed");
    Ok(())
});

case!(test_single_remove_phys, |k, e| {
    let nic = e.nic(k, 2)?;
    let (nk, _) = e.netkit(k, L3, SINGLE, 2, true)?;
    let a = e.admin;
    e.lease_from(&a, nk, nic, 1, None).map_err(kerr)?;
    e.k.borrow_mut().nic_remove(nic).map_err(kerr)?;
    k.is_true(!e.exists(nk), "single netkit removed with its lessor");
    Ok(())
});

case!(test_double_lease, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 3, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    raises(k, e.lease(guest(g)?, nic, 1), EBUSY);
    Ok(())
});

case!(test_two_netkits_same_queue, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g1) = e.netkit(k, L2, PAIR, 2, false)?;
    let (_, g2) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g1)?, nic, 1).map_err(kerr)?;
    raises(k, e.lease(guest(g2)?, nic, 1), EBUSY);
    Ok(())
});

case!(test_virtual_lessor, |k, e| {
    let (_, g1) = e.netkit(k, L2, PAIR, 2, false)?;
    let (h2, _) = e.netkit(k, L2, PAIR, 2, false)?;
    let c = e.cont;
    raises(k, e.lease_from(&c, guest(g1)?, h2, 0, Some(0)), EINVAL);
    Ok(())
});

case!(test_self_lease, |k, e| {
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let g = guest(g)?;
    let c = e.cont;
    raises(k, e.lease_from(&c, g, g, 0, None), EINVAL);
    Ok(())
});

case!(test_phys_lessee, |k, e| {
    let a = e.nic(k, 2)?;
    let b = e.nic(k, 2)?;
    let adm = e.admin;
    raises(k, e.lease_from(&adm, a, b, 1, None), EINVAL);
    Ok(())
});

case!(test_veth_queue_create, |k, e| {
    let nic = e.nic(k, 2)?;
    let (va, vb) = {
        let mut kk = e.k.borrow_mut();
        let (va, vb) = kk
            .veth_add(e.init, &e.name("veth"), e.init, &e.name("vethp"))
            .map_err(kerr)?;
        kk.link_set_up(va, true).map_err(kerr)?;
        (va, vb)
    };
    let kk = e.k.clone();
    k.defer(move || kk.borrow_mut().link_del(va).map_err(|e| e.to_string()))?;
    let _ = vb;
    let adm = e.admin;
    raises(k, e.lease_from(&adm, va, nic, 1, None), EINVAL);
    Ok(())
});

case!(test_create_limit, |k, e| {
    let nic = e.nic(k, 3)?;
    let (_, g) = e.netkit(k, L2, PAIR, 1, false)?;
    raises(k, e.lease(guest(g)?, nic, 1), EINVAL);
    Ok(())
});

case!(test_different_lessors, |k, e| {
    let a = e.nic(k, 2)?;
    let b = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 3, false)?;
    e.lease(guest(g)?, a, 1).map_err(kerr)?;
    raises(k, e.lease(guest(g)?, b, 1), EOPNOTSUPP);
    Ok(())
});

case!(test_create_primary, |k, e| {
    let nic = e.nic(k, 2)?;
    let (h, _) = e.netkit(k, L2, PAIR, 2, false)?;
    let adm = e.admin;
    raises(k, e.lease_from(&adm, h, nic, 1, None), EOPNOTSUPP);
    Ok(())
});

case!(test_queue_out_of_range, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    raises(k, e.lease(guest(g)?, nic, 2), ERANGE);
    Ok(())
});

case!(test_invalid_netns, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let c = e.cont;
    raises(k, e.lease_from(&c, guest(g)?, nic, 1, Some(999)), ENONET);
    Ok(())
});

case!(test_invalid_phys_ifindex, |k, e| {
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let gi = e.ifindex(guest(g)?);
    let c = e.cont;
    raises(
        k,
        e.k.borrow_mut().queue_create(&c, gi, 99999, 0, Some(0)),
        ENODEV,
    );
    Ok(())
});

case!(test_resize_leased, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    raises(k, e.channels(nic, 1), EINVAL);
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease kept");
    Ok(())
});

case!(test_resize_phys_shrink_past_leased, |k, e| {
    let nic = e.nic(k, 4)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    raises(k, e.channels(nic, 1), EINVAL);
    e.channels(nic, 2).map_err(kerr)?;
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease kept above the cut");
    Ok(())
});

case!(test_resize_after_unlease, |k, e| {
    let nic = e.nic(k, 2)?;
    let (h, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    e.k.borrow_mut().link_del(h).map_err(kerr)?;
    e.channels(nic, 1).map_err(kerr)?;
    Ok(())
});

case!(test_resize_phys_up, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    e.channels(nic, 4).map_err(kerr)?;
    e.channels(nic, 2).map_err(kerr)?;
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease kept");
    Ok(())
});

case!(test_resize_virt_not_supported, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let g = guest(g)?;
    e.lease(g, nic, 1).map_err(kerr)?;
    raises(k, e.channels(g, 1), EOPNOTSUPP);
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease intact");
    Ok(())
});

case!(test_bind_rx_leased_phys_queue, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    let adm = e.admin;
    let r = {
        let mut kk = e.k.borrow_mut();
        let buf = kk.dmabuf_create(64 * 4096, 0).map_err(kerr)?;
        let fd = kk.process_install_dmabuf(adm.pid, buf).map_err(kerr)?;
        let ni = kk.device(nic).ifindex;
        kk.bind_rx(
            &adm,
            ni,
            fd,
            &[simkernel::QueueSel::rx(0), simkernel::QueueSel::rx(1)],
        )
    };
    raises(k, r, EOPNOTSUPP);
    Ok(())
});

case!(test_attrs, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let g = guest(g)?;
    let nkq = e.lease(g, nic, 1).map_err(kerr)?;
    let q = e.qget(nic, 1).map_err(kerr)?;
    k.eq(q.id, 1, "id");
    k.eq(q.ty, QueueType::Rx, "type");
    k.eq(q.ifindex, e.ifindex(nic), "ifindex");
    let Some(l) = q.lease else {
        return Err(KsftError::fail("lease nest missing on the physical queue"));
    };
    k.eq(l.ifindex, e.ifindex(g), "lease ifindex");
    k.eq(l.queue_id, nkq, "lease queue id");
    k.is_true(l.netns_id.is_some(), "netns-id present across namespaces");
    Ok(())
});

case!(test_queue_get_virtual, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let g = guest(g)?;
    let nkq = e.lease(g, nic, 1).map_err(kerr)?;
    k.is_true(
        e.lease_of(g, nkq)?.is_none(),
        "no lease nest on the virtual side",
    );
    Ok(())
});

case!(test_phys_queue_no_lease, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    k.is_true(
        e.lease_of(nic, 0)?.is_none(),
        "unleased queue has no lease nest",
    );
    Ok(())
});

case!(test_same_ns_lease, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, true)?;
    let adm = e.admin;
    e.lease_from(&adm, guest(g)?, nic, 1, None).map_err(kerr)?;
    let l = e.lease_of(nic, 1)?;
    k.is_true(l.is_some(), "lease reported");
    k.eq(
        l.and_then(|l| l.netns_id),
        None,
        "no netns-id within one netns",
    );
    Ok(())
});

case!(test_link_flap_phys, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    {
        let mut kk = e.k.borrow_mut();
        kk.link_set_up(nic, false).map_err(kerr)?;
        kk.link_set_up(nic, true).map_err(kerr)?;
    }
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease survives a phys flap");
    Ok(())
});

case!(test_link_flap_virt, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    let g = guest(g)?;
    e.lease(g, nic, 1).map_err(kerr)?;
    {
        let mut kk = e.k.borrow_mut();
        kk.link_set_up(g, false).map_err(kerr)?;
        kk.link_set_up(g, true).map_err(kerr)?;
    }
    k.is_true(e.lease_of(nic, 1)?.is_some(), "lease survives a virt flap");
    Ok(())
});

case!(test_move_guest_netns, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, true)?;
    let g = guest(g)?;
    let adm = e.admin;
    e.lease_from(&adm, g, nic, 1, None).map_err(kerr)?;
    e.k.borrow_mut().link_set_netns(g, e.ns).map_err(kerr)?;
    let l = e.lease_of(nic, 1)?;
    k.is_true(l.is_some(), "lease survives the move");
    k.is_true(
        l.and_then(|l| l.netns_id).is_some(),
        "now across namespaces",
    );
    Ok(())
});

case!(test_remove_virt_first, |k, e| {
    let nic = e.nic(k, 2)?;
    let (h, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    e.k.borrow_mut().link_del(h).map_err(kerr)?;
    k.is_true(e.lease_of(nic, 1)?.is_none(), "lease released");
    k.is_true(e.exists(nic), "lessor kept");
    Ok(())
});

case!(test_release_and_reuse, |k, e| {
    let nic = e.nic(k, 2)?;
    let (h, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    e.k.borrow_mut().link_del(h).map_err(kerr)?;
    let (_, g2) = e.netkit(k, L2, PAIR, 2, false)?;
    let id = e.lease(guest(g2)?, nic, 1).map_err(kerr)?;
    k.eq(id, 1, "re-leased queue gets id 1");
    Ok(())
});

case!(test_delete_one_netkit_of_two, |k, e| {
    let nic = e.nic(k, 3)?;
    let (h1, g1) = e.netkit(k, L2, PAIR, 2, false)?;
    let (_, g2) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g1)?, nic, 1).map_err(kerr)?;
    e.lease(guest(g2)?, nic, 2).map_err(kerr)?;
    e.k.borrow_mut().link_del(h1).map_err(kerr)?;
    k.is_true(e.lease_of(nic, 1)?.is_none(), "first lease released");
    k.is_true(e.lease_of(nic, 2)?.is_some(), "second lease kept");
    Ok(())
});

case!(test_multiple_leases, |k, e| {
    let nic = e.nic(k, 3)?;
    let (_, g) = e.netkit(k, L2, PAIR, 3, false)?;
    let g = guest(g)?;
    let a = e.lease(g, nic, 1).map_err(kerr)?;
    let b = e.lease(g, nic, 2).map_err(kerr)?;
    k.eq((a, b), (1, 2), "lease ids");
    Ok(())
});

case!(test_lease_queue_zero, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L2, PAIR, 2, false)?;
    e.lease(guest(g)?, nic, 0).map_err(kerr)?;
    k.is_true(e.lease_of(nic, 0)?.is_some(), "queue 0 leased");
    Ok(())
});

case!(test_l3_mode_lease, |k, e| {
    let nic = e.nic(k, 2)?;
    let (_, g) = e.netkit(k, L3, PAIR, 2, false)?;
    let id = e.lease(guest(g)?, nic, 1).map_err(kerr)?;
    k.eq(id, 1, "l3 lease id");
    Ok(())
});

case!(test_lease_capacity_exhaustion, |k, e| {
    let nic = e.nic(k, 4)?;
    let (_, g) = e.netkit(k, L2, PAIR, 3, false)?;
    let g = guest(g)?;
    e.lease(g, nic, 1).map_err(kerr)?;
    e.lease(g, nic, 2).map_err(kerr)?;
    raises(k, e.lease(g, nic, 3), EINVAL);
    Ok(())
});

/// The cases in the file's order.
pub fn cases() -> Vec<Case<QleaseEnv>> {
    let c = |name, func: CaseFn<QleaseEnv>| Case {
        name,
        func,
        disruptive: false,
    };
    vec![
        c("test_remove_phys", test_remove_phys),
        c(
            "test_multi_netkit_remove_phys",
            test_multi_netkit_remove_phys,
        ),
        c("test_single_remove_phys", test_single_remove_phys),
        c("test_double_lease", test_double_lease),
        c("test_two_netkits_same_queue", test_two_netkits_same_queue),
        c("test_virtual_lessor", test_virtual_lessor),
        c("test_self_lease", test_self_lease),
        c("test_phys_lessee", test_phys_lessee),
        c("test_veth_queue_create", test_veth_queue_create),
        c("test_create_limit", test_create_limit),
        c("test_different_lessors", test_different_lessors),
        c("test_create_primary", test_create_primary),
        c("test_queue_out_of_range", test_queue_out_of_range),
        c("test_invalid_netns", test_invalid_netns),
        c("test_invalid_phys_ifindex", test_invalid_phys_ifindex),
        c("test_resize_leased", test_resize_leased),
        c(
            "test_resize_phys_shrink_past_leased",
            test_resize_phys_shrink_past_leased,
        ),
        c("test_resize_after_unlease", test_resize_after_unlease),
        c("test_resize_phys_up", test_resize_phys_up),
        c(
            "test_resize_virt_not_supported",
            test_resize_virt_not_supported,
        ),
        c(
            "test_bind_rx_leased_phys_queue",
            test_bind_rx_leased_phys_queue,
        ),
        c("test_attrs", test_attrs),
        c("test_queue_get_virtual", test_queue_get_virtual),
        c("test_phys_queue_no_lease", test_phys_queue_no_lease),
        c("test_same_ns_lease", test_same_ns_lease),
        c("test_link_flap_phys", test_link_flap_phys),
        c("test_link_flap_virt", test_link_flap_virt),
        c("test_move_guest_netns", test_move_guest_netns),
        c("test_remove_virt_first", test_remove_virt_first),
        c("test_release_and_reuse", test_release_and_reuse),
        c(
            "test_delete_one_netkit_of_two",
            test_delete_one_netkit_of_two,
        ),
        c("test_multiple_leases", test_multiple_leases),
        c("test_lease_queue_zero", test_lease_queue_zero),
        c("test_l3_mode_lease", test_l3_mode_lease),
        c(
            "test_lease_capacity_exhaustion",
            test_lease_capacity_exhaustion,
        ),
    ]
}
