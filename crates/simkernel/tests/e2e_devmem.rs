//! End to end through the selftest topology (selftests-spec §2): devmem TX from the
//! container through netkit (primary RX redirect) to the NIC, across a wire, to a plain
//! socket on the remote host; and the reverse RX path into leased devmem queues.
//!
//! The 64 MiB runs are release-only (`cargo test --release -p simkernel --test
//! e2e_devmem`); debug builds run the same bodies on a smaller transfer.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use simkernel::drivers::wire::{Duplicate, Loss, Reorder};
use simkernel::net::core::datagram::UserIov;
use simkernel::net::core::sock::AF_INET6;
use simkernel::sim::PollFd;
use simkernel::time::Duration;
use simkernel::topology::{Topology, TopologyConfig};
use simkernel::{Caller, Cred, Kernel, KernelConfig, NlSockId, Proc, World};
use uapi::socket::{
    CmsgHdr, DmabufCmsg, DmabufToken, MSG_ERRQUEUE, MSG_SOCK_DEVMEM, MSG_ZEROCOPY, POLLERR,
    SCM_DEVMEM_DMABUF, SO_BINDTODEVICE, SO_DEVMEM_DONTNEED, SO_EE_ORIGIN_ZEROCOPY, SO_ZEROCOPY,
    SOCK_STREAM, SOL_SOCKET, SOL_TCP, SockExtendedErr, TCP_NODELAY, cmsg_len, cmsg_space,
};

const PAGE: usize = simkernel::PAGE_SIZE;

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 12)) as u8
}

fn devmem_cmsg(id: u32) -> Vec<u8> {
    let h = CmsgHdr {
        cmsg_len: cmsg_len(4) as u64,
        cmsg_level: SOL_SOCKET,
        cmsg_type: SCM_DEVMEM_DMABUF,
    };
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(&id.to_ne_bytes());
    v.resize(cmsg_space(4), 0);
    v
}

struct Setup {
    w: World,
    t: Topology,
    cont: Proc,
    remote: Proc,
}

fn setup(seed: u64, impaired: bool) -> Setup {
    setup_model(seed, impaired, simkernel::KernelModel::Series)
}

fn setup_model(seed: u64, impaired: bool, model: simkernel::KernelModel) -> Setup {
    let mut k = Kernel::new(KernelConfig {
        model,
        tx_validation: true,
    });
    k.seed(seed);
    let cfg = TopologyConfig {
        primary_rx_redirect: true,
        rxqueues: 2,
        ..TopologyConfig::default()
    };
    let t = k.topology_build(&cfg).unwrap();
    if impaired {
        k.wire_add_rule(t.wire, Box::new(Loss(0.02))).unwrap();
        k.wire_add_rule(
            t.wire,
            Box::new(Reorder {
                p: 0.01,
                delay: Duration::from_micros(50),
            }),
        )
        .unwrap();
        k.wire_add_rule(t.wire, Box::new(Duplicate(0.01))).unwrap();
    }
    let w = World::new(k);
    let cont = w.process(
        t.cont_ns,
        Cred {
            cap_net_admin: true,
        },
    );
    let remote = w.process(
        t.remote_ns,
        Cred {
            cap_net_admin: true,
        },
    );
    Setup { w, t, cont, remote }
}

fn caller(p: &Proc, sock: u64) -> Caller {
    let k = p.kernel().borrow();
    Caller {
        pid: p.pid(),
        netns: k.process(p.pid()).unwrap().netns,
        cred: Cred {
            cap_net_admin: true,
        },
        sock: NlSockId(sock),
    }
}

/// Lease NIC queue `q` to the guest and bind a `size`-byte dma-buf for TX on nk_guest from
/// the container; the dma-buf is filled with [`pattern`].
fn bind_tx_in_container(s: &Setup, q: u32, size: usize) -> u32 {
    let c = caller(&s.cont, 1000);
    let mut k = s.w.kernel.borrow_mut();
    let g = k.device(s.t.nk_guest).ifindex;
    let n = k.device(s.t.nic).ifindex;
    k.queue_create(&c, g, n, q, Some(0)).unwrap();
    let buf = k.dmabuf_create(size, 0).unwrap();
    let bytes: Vec<u8> = (0..size).map(pattern).collect();
    buf.memory().write_at(0, &bytes).unwrap();
    let fd = k.process_install_dmabuf(s.cont.pid(), buf).unwrap();
    k.bind_tx(&c, g, fd).unwrap()
}

/// The TX body: the container sends `total` bytes from the dma-buf in `chunk`-byte
/// sendmsg calls; the remote reads them on a plain socket, byte-exact, and completions
/// cover every call once.
fn devmem_tx(seed: u64, impaired: bool, total: usize, chunk: usize) {
    devmem_tx_rx_ring(seed, impaired, total, chunk, None);
}

/// [`devmem_tx`] with the remote NIC's RX rings set to `remote_rx_ring` descriptors
/// (`ethtool -G rx`); a ring too small for the wire's bursts must drop frames and TCP must
/// recover them.
fn devmem_tx_rx_ring(
    seed: u64,
    impaired: bool,
    total: usize,
    chunk: usize,
    remote_rx_ring: Option<u32>,
) {
    let mut s = setup(seed, impaired);
    if let Some(rx) = remote_rx_ring {
        let mut k = s.w.kernel.borrow_mut();
        let set = simkernel::net::ethtool::RingsSet {
            rx: Some(rx),
            ..Default::default()
        };
        assert!(k.ethtool_rings_set(s.t.remote_nic, set).unwrap());
    }
    let id = bind_tx_in_container(&s, 3, total.div_ceil(PAGE) * PAGE);
    let port = 5201;
    let r = s.remote.clone();
    let received = Rc::new(RefCell::new(Vec::with_capacity(total)));
    let rx = received.clone();
    let l = r.socket(AF_INET6, SOCK_STREAM).unwrap();
    r.bind(
        l,
        SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), port),
    )
    .unwrap();
    r.listen(l, 1).unwrap();
    s.w.spawn(&s.remote, async move {
        let (fd, _) = r.accept(l).await.unwrap();
        loop {
            let b = r.recv(fd, 1 << 20, 0).await.unwrap();
            if b.is_empty() {
                break;
            }
            rx.borrow_mut().extend_from_slice(&b);
        }
        r.close(fd).unwrap();
    });
    let c = s.cont.clone();
    let dst = SocketAddr::new(IpAddr::V6(s.t.remote_v6), port);
    let (calls, ranges) =
        s.w.run_until(&s.cont, async move {
            let fd = c.socket(AF_INET6, SOCK_STREAM).unwrap();
            c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"nk_guest\0")
                .unwrap();
            c.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
            c.connect(fd, dst).await.unwrap();
            let ctl = devmem_cmsg(id);
            let mut off = 0usize;
            let mut calls = 0u32;
            let mut ranges: Vec<(u32, u32)> = Vec::new();
            while off < total {
                let len = chunk.min(total - off);
                let iov = [UserIov::Addr {
                    base: off as u64,
                    len,
                }];
                let n = c.sendmsg(fd, &iov, &ctl, MSG_ZEROCOPY).await.unwrap();
                assert_eq!(n, len, "short devmem send");
                off += n;
                calls += 1;
                // Drain completions as ncdevmem does (poll for POLLERR, MSG_ERRQUEUE).
                drain_errqueue(&c, fd, &mut ranges, Some(Duration::ZERO)).await;
            }
            while covered(&ranges) < calls {
                drain_errqueue(&c, fd, &mut ranges, Some(Duration::from_secs(5))).await;
            }
            c.close(fd).unwrap();
            (calls, ranges)
        })
        .unwrap();
    s.w.drive_bounded(10_000_000).unwrap();
    let got = received.borrow();
    assert_eq!(got.len(), total);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == pattern(i)),
        "byte-exact"
    );
    // Completions cover every call, each exactly once, in order.
    let mut next = 0u32;
    for &(lo, hi) in &ranges {
        assert_eq!(lo, next);
        next = hi + 1;
    }
    assert_eq!(next, calls);
    let k = s.w.kernel.borrow();
    assert_eq!(k.device(s.t.nic).iommu_faults(), 0);
    assert_eq!(k.device(s.t.nic).stats.tx_dropped, 0);
    let missed = k.device(s.t.remote_nic).stats.rx_missed_errors;
    if remote_rx_ring.is_some() {
        assert!(missed > 0, "the small RX ring actually dropped frames");
    } else {
        assert_eq!(missed, 0);
    }
    let ws = k.wire_stats(s.t.wire).unwrap();
    if impaired {
        assert!(
            ws.dropped > 0,
            "the impairment actually dropped frames: {ws:?}"
        );
    } else {
        assert_eq!(ws.dropped, 0);
    }
}

fn covered(r: &[(u32, u32)]) -> u32 {
    r.iter().map(|&(lo, hi)| hi - lo + 1).sum()
}

async fn drain_errqueue(c: &Proc, fd: i32, ranges: &mut Vec<(u32, u32)>, wait: Option<Duration>) {
    let mut p = [PollFd {
        fd,
        events: 0,
        revents: 0,
    }];
    c.poll(&mut p, wait).await.unwrap();
    if p[0].revents & POLLERR == 0 {
        return;
    }
    while let Ok(m) = c.recvmsg(fd, 0, 128, MSG_ERRQUEUE).await {
        let ee = SockExtendedErr::from_bytes(&m.control[CmsgHdr::SIZE..]).unwrap();
        assert_eq!((ee.ee_errno, ee.ee_origin), (0, SO_EE_ORIGIN_ZEROCOPY));
        ranges.push((ee.ee_info, ee.ee_data));
    }
}

#[test]
fn devmem_tx_container_to_remote_small() {
    devmem_tx(1, false, 1 << 20, 64 * 1024);
}

#[test]
fn devmem_tx_container_to_remote_impaired_small() {
    for seed in [1, 2, 3] {
        devmem_tx(seed, true, 1 << 20, 64 * 1024);
    }
}

/// The remote NIC's RX rings hold 8 descriptors: bursts from the 100 Gbit/s wire overrun
/// them before the moderated interrupt polls (rx-usecs 10), the NIC drops the excess
/// (`rx_missed_errors`), and TCP's retransmissions still deliver every byte.
#[test]
fn devmem_tx_recovers_from_a_full_remote_rx_ring() {
    devmem_tx_rx_ring(5, false, 1 << 20, 64 * 1024, Some(8));
}

#[test]
#[cfg_attr(debug_assertions, ignore = "64 MiB: run with --release")]
fn devmem_tx_64mib_container_to_remote() {
    devmem_tx(7, false, 64 << 20, 1 << 20);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "64 MiB: run with --release")]
fn devmem_tx_64mib_impaired_three_seeds() {
    for seed in [11, 12, 13] {
        devmem_tx(seed, true, 64 << 20, 1 << 20);
    }
}

/// The RX body (nk_devmem.py check_nk_rx): HDS on, RSS over the other queues, an ntuple
/// rule steering the flow to NIC queue 3 leased to the guest and devmem-bound from the
/// container; the remote sends one message of every size in `sizes` (TCP_NODELAY). The
/// container reads with MSG_SOCK_DEVMEM only: every payload byte must arrive as a dma-buf
/// frag (no linear bytes), each token is returned, and at the end every buffer is back.
fn devmem_rx(seed: u64, sizes: std::ops::RangeInclusive<usize>, impaired: bool) {
    use simkernel::net::core::netdev_nl_ops::QueueSel;
    use simkernel::net::ethtool::{FlowType, NtupleAction, NtupleRule, RingsSet};
    use uapi::ethtool::TcpDataSplit;
    let mut s = setup(seed, impaired);
    let port = 5202;
    // ncdevmem: NUM_PAGES (16000) pages of udmabuf.
    let pages = 16000;
    let (id, buf, pp) = {
        let c = caller(&s.cont, 2000);
        let mut k = s.w.kernel.borrow_mut();
        let nic = s.t.nic;
        k.ethtool_rings_set(
            nic,
            RingsSet {
                tcp_data_split: Some(TcpDataSplit::Enabled),
                hds_thresh: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        k.ethtool_rss_equal(nic, 3).unwrap();
        k.ethtool_ntuple_add(
            nic,
            NtupleRule {
                flow_type: FlowType::Tcp6,
                src_ip: None,
                dst_ip: Some(IpAddr::V6(s.t.nk_guest_ipv6)),
                src_port: None,
                dst_port: Some(port),
                action: NtupleAction::Queue(3),
            },
        )
        .unwrap();
        let g = k.device(s.t.nk_guest).ifindex;
        let n = k.device(nic).ifindex;
        let q = k.queue_create(&c, g, n, 3, Some(0)).unwrap();
        let buf = k.dmabuf_create(pages * PAGE, 0).unwrap();
        let fd = k.process_install_dmabuf(s.cont.pid(), buf.clone()).unwrap();
        let id = k.bind_rx(&c, g, fd, &[QueueSel::rx(q)]).unwrap();
        let pp = k.device(nic).rx_queues[3].page_pool.unwrap();
        (id, buf, pp)
    };
    let total: usize = sizes.clone().sum();
    let c = s.cont.clone();
    let l = c.socket(AF_INET6, SOCK_STREAM).unwrap();
    c.bind(l, SocketAddr::new(IpAddr::V6(s.t.nk_guest_ipv6), port))
        .unwrap();
    c.listen(l, 1).unwrap();
    let r = s.remote.clone();
    let dst = SocketAddr::new(IpAddr::V6(s.t.nk_guest_ipv6), port);
    let sz = sizes.clone();
    s.w.spawn(&s.remote, async move {
        let fd = r.socket(AF_INET6, SOCK_STREAM).unwrap();
        r.setsockopt_int(fd, SOL_TCP, TCP_NODELAY, 1).unwrap();
        r.connect(fd, dst).await.unwrap();
        let mut off = 0usize;
        for n in sz {
            let msg: Vec<u8> = (off..off + n).map(pattern).collect();
            assert_eq!(r.send(fd, &msg, 0).await.unwrap(), n);
            off += n;
        }
        r.close(fd).unwrap();
    });
    let got =
        s.w.run_until(&s.cont, async move {
            let (fd, _) = c.accept(l).await.unwrap();
            let mut got = Vec::new();
            loop {
                let m = c
                    .recvmsg(fd, 800 * 1024, 80_000, MSG_SOCK_DEVMEM)
                    .await
                    .unwrap();
                if m.len == 0 {
                    break;
                }
                assert!(m.data.is_empty(), "no linear payload on the devmem queue");
                let mut off = 0;
                let mut toks = Vec::new();
                while off + CmsgHdr::SIZE <= m.control.len() {
                    let h = CmsgHdr::from_bytes(&m.control[off..]).unwrap();
                    assert_eq!((h.cmsg_level, h.cmsg_type), (SOL_SOCKET, SCM_DEVMEM_DMABUF));
                    let d = DmabufCmsg::from_bytes(&m.control[off + CmsgHdr::SIZE..]).unwrap();
                    assert_eq!(d.dmabuf_id, id, "flow steering error");
                    assert!(d.frag_offset as usize % PAGE + d.frag_size as usize <= PAGE);
                    let mut b = vec![0u8; d.frag_size as usize];
                    buf.memory()
                        .read_at(d.frag_offset as usize, &mut b)
                        .unwrap();
                    got.extend_from_slice(&b);
                    toks.extend_from_slice(
                        &DmabufToken {
                            token_start: d.frag_token,
                            token_count: 1,
                        }
                        .to_bytes(),
                    );
                    off += cmsg_space(DmabufCmsg::SIZE);
                }
                assert!(
                    !toks.is_empty(),
                    "data but no devmem cmsg: flow steering error"
                );
                // At most MAX_DONTNEED_TOKENS (128) per call.
                for batch in toks.chunks(128 * DmabufToken::SIZE) {
                    let freed = c
                        .setsockopt(fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, batch)
                        .unwrap();
                    assert_eq!(freed as usize, batch.len() / DmabufToken::SIZE);
                }
            }
            c.close(fd).unwrap();
            c.close(l).unwrap();
            got
        })
        .unwrap();
    s.w.drive_bounded(1_000_000).unwrap();
    assert_eq!(got.len(), total);
    assert!(
        got.iter().enumerate().all(|(i, &b)| b == pattern(i)),
        "byte-exact"
    );
    let k = s.w.kernel.borrow();
    assert_eq!(
        k.page_pool(pp).map_or(0, |p| p.inflight),
        0,
        "every buffer back in its pool"
    );
    let b = k.net_devmem_lookup_dmabuf(id).unwrap();
    assert_eq!(b.chunks_in_use(), 0);
    if impaired {
        assert!(k.wire_stats(s.t.wire).unwrap().dropped > 0);
    }
}

#[test]
fn devmem_rx_remote_to_container_small_sizes() {
    devmem_rx(5, 1..=300, false);
}

#[test]
#[cfg_attr(debug_assertions, ignore = "33 MB: run with --release")]
fn devmem_rx_remote_to_container_sizes_1_to_8192() {
    devmem_rx(6, 1..=8192, false);
}

/// Before the series (cover letter): netkit has no netmem TX, so bind-tx on the guest is
/// EOPNOTSUPP; a binding made on the physical NIC from the host fails the per-sendmsg route
/// check from the container (the route leaves through nk_guest, not `binding->dev`).
#[test]
fn pre_series_container_tx_fails_as_the_cover_letter_says() {
    use uapi::errno::{ENODEV, EOPNOTSUPP};
    let mut s = setup_model(1, false, simkernel::KernelModel::PreSeries);
    let c = caller(&s.cont, 3000);
    let h = s.w.process(
        s.t.host_ns,
        Cred {
            cap_net_admin: true,
        },
    );
    let hc = caller(&h, 3001);
    let id = {
        let mut k = s.w.kernel.borrow_mut();
        let g = k.device(s.t.nk_guest).ifindex;
        let buf = k.dmabuf_create(16 * PAGE, 0).unwrap();
        let fd = k.process_install_dmabuf(s.cont.pid(), buf).unwrap();
        assert_eq!(k.bind_tx(&c, g, fd).unwrap_err().errno(), EOPNOTSUPP);
        let n = k.device(s.t.nic).ifindex;
        let buf = k.dmabuf_create(16 * PAGE, 0).unwrap();
        let fd = k.process_install_dmabuf(h.pid(), buf).unwrap();
        k.bind_tx(&hc, n, fd).unwrap()
    };
    let r = s.remote.clone();
    let l = r.socket(AF_INET6, SOCK_STREAM).unwrap();
    r.bind(
        l,
        SocketAddr::new(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), 5203),
    )
    .unwrap();
    r.listen(l, 1).unwrap();
    let cp = s.cont.clone();
    let dst = SocketAddr::new(IpAddr::V6(s.t.remote_v6), 5203);
    let e =
        s.w.run_until(&s.cont, async move {
            let fd = cp.socket(AF_INET6, SOCK_STREAM).unwrap();
            cp.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"nk_guest\0")
                .unwrap();
            cp.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
            cp.connect(fd, dst).await.unwrap();
            let iov = [UserIov::Addr { base: 0, len: 100 }];
            cp.sendmsg(fd, &iov, &devmem_cmsg(id), MSG_ZEROCOPY)
                .await
                .unwrap_err()
        })
        .unwrap();
    assert_eq!(e.errno, ENODEV);
}

/// The same under 2% loss, 1% reordering and 1% duplication: duplicates and retransmitted
/// overlaps are trimmed by TCP, and their buffers still go back to the pool.
#[test]
fn devmem_rx_impaired_returns_every_buffer() {
    for seed in [21, 22, 23] {
        devmem_rx(seed, 1..=400, true);
    }
}
