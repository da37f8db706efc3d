//! `nkdevmem demo`: the cover letter's story, told on the emulated kernel.
//!
//! Three acts on the nk_devmem topology (a NIC in the host, a netkit pair whose guest
//! lives in a container namespace and leases the NIC's last RX queue):
//! 1. the kernel before the series: bind-tx on the netkit guest fails ("Driver does
//!    not support netmem TX"), and a devmem skb bound on the NIC cannot leave through
//!    netkit either (the route check refuses it, validation drops it on nk_guest);
//! 2. the kernel with the series: bind-tx on the guest binds the NIC (binding->dev)
//!    with the guest as its virtual device, and the frame crosses netkit and leaves
//!    on the NIC with zero IOMMU faults;
//! 3. what TX validation prevents: the same frame pushed to a second, unbound NIC is
//!    dropped and counted; with validation switched off that NIC DMAs an address its
//!    IOMMU never mapped: an IOMMU fault.
//!
//! The data path between the acts' steps is driven by hand (dev_queue_xmit on each
//! device in turn), standing in for the tc programs of the selftest topology.

use std::fmt::Write as _;

use simkernel::drivers::netkit::NetkitConfig;
use simkernel::net::core::devmem::SkDst;
use simkernel::{
    Caller, Cred, DevId, Frag, Kernel, KernelConfig, KernelModel, NlSockId, Skb, XmitResult,
};

use crate::config::Driver;

/// The demo's world: kernel, devices, callers.
struct Stage {
    k: Kernel,
    nic: DevId,
    host: DevId,
    guest: DevId,
    admin: Caller,
    cont: Caller,
}

fn stage(model: KernelModel, driver: Driver) -> Result<Stage, String> {
    let e = |e: simkernel::KernelError| e.to_string();
    let mut k = Kernel::new(KernelConfig {
        model,
        tx_validation: true,
    });
    let init = k.init_net();
    let ns = k.netns_add("container").map_err(e)?;
    k.netns_set_id(ns, init, 0).map_err(e)?;
    let nic = k.nic_add(init, "eth0", driver.profile(), 4).map_err(e)?;
    let mut cfg = NetkitConfig::pair("nk_host", "nk_guest");
    cfg.peer_netns = Some(ns);
    cfg.peer_num_rx_queues = Some(2);
    let (host, guest) = k.netkit_add(init, cfg).map_err(e)?;
    let guest = guest.ok_or("netkit pair without a peer")?;
    for d in [nic, host, guest] {
        k.link_set_up(d, true).map_err(e)?;
    }
    let cred = Cred {
        cap_net_admin: true,
    };
    let admin = Caller {
        pid: k.process_spawn(init, cred),
        netns: init,
        cred,
        sock: NlSockId(0xde_0001),
    };
    let cont = Caller {
        pid: k.process_spawn(ns, cred),
        netns: ns,
        cred,
        sock: NlSockId(0xde_0002),
    };
    let (gi, ni) = (k.device(guest).ifindex, k.device(nic).ifindex);
    k.queue_create(&cont, gi, ni, 3, Some(0))
        .map_err(|e| format!("queue-create: {e}"))?;
    Ok(Stage {
        k,
        nic,
        host,
        guest,
        admin,
        cont,
    })
}

/// One frame: 66 bytes of headers plus `payload` bytes of the binding's first page.
fn frame(b: &std::rc::Rc<simkernel::DevmemBinding>, payload: usize) -> Result<Skb, String> {
    let niov = b
        .net_devmem_get_niov_at(0)
        .ok_or("binding has no net_iov at offset 0")?
        .0;
    Ok(Skb {
        head: vec![0; 66],
        frags: vec![Frag::NetIov {
            niov,
            off: 0,
            len: payload,
        }],
        ..Skb::default()
    })
}

fn dmabuf(s: &mut Stage, c: Caller, text: &[u8]) -> Result<i32, String> {
    let buf =
        s.k.dmabuf_create(16 * simkernel::PAGE_SIZE, 0)
            .map_err(|e| e.to_string())?;
    buf.memory()
        .write_at(0, text)
        .map_err(|e| format!("dma-buf write: {e:?}"))?;
    s.k.process_install_dmabuf(c.pid, buf)
        .map_err(|e| e.to_string())
}

fn counters(out: &mut String, s: &Stage, extra: &[(&str, DevId)]) {
    let _ = writeln!(
        out,
        "    {:<9} {:>10} {:>10} {:>10} {:>13}",
        "device", "tx packets", "tx_dropped", "tx_errors", "IOMMU faults"
    );
    let mut devs = vec![("eth0", s.nic), ("nk_host", s.host), ("nk_guest", s.guest)];
    devs.extend_from_slice(extra);
    for (name, d) in devs {
        let dev = s.k.device(d);
        let faults = dev
            .dma_dev()
            .map(|m| m.iommu().faults().to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "    {:<9} {:>10} {:>10} {:>10} {:>13}",
            name, dev.stats.tx_packets, dev.stats.tx_dropped, dev.stats.tx_errors, faults
        );
    }
    let _ = writeln!(out, "    live devmem bindings: {}", s.k.live_bindings());
}

/// What the demo observed (tests check these; the text is for people).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// The printed story.
    pub text: String,
    /// Pre-series bind-tx on the guest: (errno, extack).
    pub pre_bind_err: (i32, Option<String>),
    /// Pre-series: nk_guest's tx_dropped after sending a devmem frame.
    pub pre_guest_dropped: u64,
    /// Series: frames on the NIC's TX ring and IOMMU faults on it.
    pub series_nic_tx: (usize, u64),
    /// Validation on, unbound NIC: (tx_dropped, faults).
    pub validated: (u64, u64),
    /// Validation off, unbound NIC: faults.
    pub unvalidated_faults: u64,
}

/// Runs the three acts with the local NIC of `driver`.
pub fn run(driver: Driver) -> Result<DemoReport, String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "devmem TX through netkit, on the emulated kernel (NIC profile: {})\n\
         topology: eth0 (host) <- lease queue 3 -> nk_guest (container netns), nk_host (host)\n",
        driver.name()
    );

    // Act 1.
    let _ = writeln!(
        out,
        "1. Before the series (netmem_tx is a bool; netkit has none)"
    );
    let mut s = stage(KernelModel::PreSeries, driver)?;
    let cont = s.cont;
    let fd = dmabuf(&mut s, cont, b"hello\nworld\n")?;
    let gi = s.k.device(s.guest).ifindex;
    let pre_bind_err = match s.k.bind_tx(&cont, gi, fd) {
        Ok(id) => {
            return Err(format!(
                "pre-series bind-tx on nk_guest succeeded (id {id})"
            ));
        }
        Err(e) => (e.errno(), e.msg().map(String::from)),
    };
    let _ = writeln!(
        out,
        "   problem 1: bind-tx on nk_guest -> errno {} ({}) \"{}\"",
        pre_bind_err.0,
        ncdevmem::report::strerror(pre_bind_err.0),
        pre_bind_err.1.as_deref().unwrap_or("")
    );
    let admin = s.admin;
    let fd = dmabuf(&mut s, admin, b"hello\nworld\n")?;
    let ni = s.k.device(s.nic).ifindex;
    let id =
        s.k.bind_tx(&admin, ni, fd)
            .map_err(|e| format!("bind-tx on eth0: {e}"))?;
    let route = s.k.net_devmem_get_binding(id, SkDst::Dev(s.guest));
    let _ = writeln!(
        out,
        "   problem 2: bound on eth0 instead (id {id}); a socket routed out nk_guest {}",
        match &route {
            Ok(_) => "is accepted by the route check".to_string(),
            Err(e) => format!("is refused by the route check: {e}"),
        }
    );
    let b = s.k.net_devmem_lookup_dmabuf(id).ok_or("binding vanished")?;
    let r = s.k.dev_queue_xmit(s.guest, frame(&b, 12)?);
    let _ = writeln!(
        out,
        "              and a devmem frame sent on nk_guest is {r:?} by TX validation"
    );
    let pre_guest_dropped = s.k.device(s.guest).stats.tx_dropped;
    counters(&mut out, &s, &[]);
    drop(b);

    // Act 2.
    let _ = writeln!(out, "\n2. With the series (netkit is NETMEM_TX_NO_DMA)");
    let mut s = stage(KernelModel::Series, driver)?;
    let cont = s.cont;
    let fd = dmabuf(&mut s, cont, b"hello\nworld\n")?;
    let gi = s.k.device(s.guest).ifindex;
    let id =
        s.k.bind_tx(&cont, gi, fd)
            .map_err(|e| format!("series bind-tx on nk_guest failed: {e}"))?;
    let b =
        s.k.net_devmem_get_binding(id, SkDst::Dev(s.guest))
            .map_err(|e| format!("route check refused nk_guest: {e}"))?;
    let _ = writeln!(
        out,
        "   bind-tx on nk_guest -> id {id}: binding->dev = {}, binding->vdev = {}",
        b.dev()
            .map(|d| s.k.device(d).name.clone())
            .unwrap_or_default(),
        b.vdev()
            .map(|d| s.k.device(d).name.clone())
            .unwrap_or_default()
    );
    let r1 = s.k.dev_queue_xmit(s.guest, frame(&b, 12)?);
    let on_host =
        s.k.device_mut_for_tests(s.host)
            .rx_backlog
            .pop_front()
            .ok_or("nothing arrived on nk_host")?;
    let r2 = s.k.dev_queue_xmit(s.nic, on_host);
    let nic_ring = s.k.device(s.nic).tx_ring().map(|r| r.len()).unwrap_or(0);
    let nic_faults =
        s.k.device(s.nic)
            .dma_dev()
            .map(|m| m.iommu().faults())
            .unwrap_or(0);
    let _ = writeln!(
        out,
        "   nk_guest xmit: {r1:?}; nk_host -> eth0 (redirect_neigh) xmit: {r2:?}; \
         frames on eth0's TX ring: {nic_ring}"
    );
    counters(&mut out, &s, &[]);

    // Act 3.
    let _ = writeln!(out, "\n3. What TX validation prevents");
    let init = s.k.init_net();
    let other =
        s.k.nic_add(init, "eth1", Driver::Fbnic.profile(), 2)
            .map_err(|e| e.to_string())?;
    s.k.link_set_up(other, true).map_err(|e| e.to_string())?;
    let r = s.k.dev_queue_xmit(other, frame(&b, 12)?);
    let mmu =
        s.k.device(other)
            .dma_dev()
            .ok_or("eth1 has no DMA device")?
            .iommu()
            .clone();
    let validated = (s.k.device(other).stats.tx_dropped, mmu.faults());
    let _ = writeln!(
        out,
        "   validation on:  frame of eth0's binding sent on eth1 -> {r:?} (no DMA attempted)"
    );
    s.k.set_tx_validation(false);
    let r = s.k.dev_queue_xmit(other, frame(&b, 12)?);
    let unvalidated_faults = mmu.faults();
    let _ = writeln!(
        out,
        "   validation off: the same frame -> {r:?}: eth1 read an IOVA its IOMMU never mapped"
    );
    s.k.set_tx_validation(true);
    counters(&mut out, &s, &[("eth1", other)]);
    let _ = matches!(r, XmitResult::Ok);
    Ok(DemoReport {
        text: out,
        pre_bind_err,
        pre_guest_dropped,
        series_nic_tx: (nic_ring, nic_faults),
        validated,
        unvalidated_faults,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_holds_for_every_driver() {
        for d in Driver::ALL {
            let r = run(d).unwrap();
            assert_eq!(r.pre_bind_err.0, uapi::errno::EOPNOTSUPP, "{}", d.name());
            assert_eq!(
                r.pre_bind_err.1.as_deref(),
                Some("Driver does not support netmem TX")
            );
            assert_eq!(r.pre_guest_dropped, 1);
            assert_eq!(r.series_nic_tx, (1, 0));
            assert_eq!(r.validated, (1, 0));
            assert_eq!(r.unvalidated_faults, 1);
            assert!(
                r.text
                    .contains("binding->dev = eth0, binding->vdev = nk_guest")
            );
        }
    }
}
