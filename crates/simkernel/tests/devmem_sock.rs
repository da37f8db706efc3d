//! Devmem TCP on sockets: TX (kernel-spec §8.1) and RX (§8.2) semantics through the
//! executor. The client lives in init_net behind eth0 (bound for TX), the server in
//! namespace "srv" behind eth1, the two NICs joined by a wire; a second server in init_net
//! listens on [::1] for the "route through lo" case.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, SocketAddr};

use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::datagram::UserIov;
use simkernel::net::core::netdev_nl_ops::QueueSel;
use simkernel::net::core::skbuff::IpSummed;
use simkernel::net::core::sock::{AF_INET6, SockId};
use simkernel::net::ipv4::tcp::ETOOSMALL;
use simkernel::net::ipv4::tcp_input::{IpInfo, tcp_v6_rcv};
use simkernel::sim::PollFd;
use simkernel::{
    Caller, Cred, DevId, Frag, Kernel, KernelConfig, NetIov, NlSockId, Proc, Skb, World,
};
use uapi::errno::{EAGAIN, EFAULT, EHOSTUNREACH, EINVAL, ENODEV};
use uapi::ethtool::TcpDataSplit;
use uapi::socket::{
    CmsgHdr, DmabufCmsg, DmabufToken, IPV6_RECVERR, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_SOCK_DEVMEM,
    MSG_TRUNC, MSG_ZEROCOPY, POLLERR, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR, SO_BINDTODEVICE,
    SO_DEVMEM_DONTNEED, SO_EE_ORIGIN_ZEROCOPY, SO_ZEROCOPY, SOCK_STREAM, SOL_IPV6, SOL_SOCKET,
    SockExtendedErr, cmsg_len, cmsg_space,
};
use wire::tcp::{TcpChecksum, TcpFlags, TcpPacket, TcpRepr, TcpSeqNumber};

const PAGE: usize = simkernel::PAGE_SIZE;

struct Env {
    w: World,
    /// The client's NIC (TX bindings).
    nic: DevId,
    /// The server's NIC (RX bindings).
    srv_nic: DevId,
    server: Proc,
    client: Proc,
    /// A server in the client's namespace (reached through lo).
    local: Proc,
}

const SRV: &str = "2001:db8::2";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn env() -> Env {
    let mut k = Kernel::new(KernelConfig::default());
    k.seed(3);
    let init = k.init_net();
    let srv = k.netns_add("srv").unwrap();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 4).unwrap();
    let srv_nic = k.nic_add(srv, "eth1", NicProfile::bnxt(), 4).unwrap();
    k.wire_connect(nic, srv_nic, Default::default()).unwrap();
    for (ns, d, a) in [(init, nic, "2001:db8::1"), (srv, srv_nic, SRV)] {
        let lo = k.netns_loopback(ns).unwrap();
        k.link_set_up(lo, true).unwrap();
        k.link_set_up(d, true).unwrap();
        k.ipv6_addr_add(d, a.parse().unwrap(), 64, true).unwrap();
    }
    let w = World::new(k);
    let local = w.process(
        init,
        Cred {
            cap_net_admin: true,
        },
    );
    let server = w.process(
        srv,
        Cred {
            cap_net_admin: true,
        },
    );
    let client = w.process(
        init,
        Cred {
            cap_net_admin: true,
        },
    );
    Env {
        w,
        nic,
        srv_nic,
        server,
        client,
        local,
    }
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

/// bind-tx of a `size`-byte dma-buf on eth0 from `p`.
fn bind_tx(e: &Env, p: &Proc, size: usize) -> u32 {
    let mut k = e.w.kernel.borrow_mut();
    let b = k.dmabuf_create(size, 0).unwrap();
    let fd = k.process_install_dmabuf(p.pid(), b).unwrap();
    drop(k);
    let c = caller(p, 100 + u64::from(p.pid().0));
    let mut k = e.w.kernel.borrow_mut();
    let ifindex = k.device(e.nic).ifindex;
    k.bind_tx(&c, ifindex, fd).unwrap()
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

/// A listener on the server ([SRV]:port across the wire) and a client fd connected to it
/// (the accepted fd returned).
fn connect_pair(e: &mut Env, port: u16, client_opts: impl Fn(&Proc, i32)) -> (i32, i32) {
    let s = e.server.clone();
    connect_to(e, s, SRV, port, client_opts)
}

/// Like [`connect_pair`], with the listener in `s` on `[ip]:port`.
fn connect_to(
    e: &mut Env,
    s: Proc,
    ip: &str,
    port: u16,
    client_opts: impl Fn(&Proc, i32),
) -> (i32, i32) {
    let c = e.client.clone();
    let dst = addr(&format!("[{ip}]:{port}"));
    let l = s.socket(AF_INET6, SOCK_STREAM).unwrap();
    s.bind(l, dst).unwrap();
    s.listen(l, 4).unwrap();
    let cfd = c.socket(AF_INET6, SOCK_STREAM).unwrap();
    client_opts(&c, cfd);
    let c2 = c.clone();
    e.w.spawn(&c, async move {
        c2.connect(cfd, dst).await.unwrap();
    });
    let s2 = s.clone();
    let afd =
        e.w.run_until(&s, async move { s2.accept(l).await.unwrap().0 })
            .unwrap();
    e.w.drive_bounded(1000).unwrap();
    (cfd, afd)
}

fn zerocopy_bound(p: &Proc, fd: i32) {
    p.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
    p.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"eth0\0")
        .unwrap();
}

fn sendmsg(
    e: &mut Env,
    fd: i32,
    iov: Vec<(u64, usize)>,
    control: Vec<u8>,
    flags: u32,
) -> Result<usize, i32> {
    let c = e.client.clone();
    e.w.run_until(&e.client, async move {
        let v: Vec<UserIov> = iov
            .iter()
            .map(|&(base, len)| UserIov::Addr { base, len })
            .collect();
        c.sendmsg(fd, &v, &control, flags)
            .await
            .map_err(|e| e.errno)
    })
    .unwrap()
}

#[test]
fn devmem_tx_errnos_in_kernel_order() {
    let mut e = env();
    let id = bind_tx(&e, &e.client.clone(), 64 * PAGE);
    let (cfd, _afd) = connect_pair(&mut e, 9000, zerocopy_bound);
    let z = MSG_ZEROCOPY;
    // cmsg_len != CMSG_LEN(4) → EINVAL.
    let mut bad = devmem_cmsg(id);
    bad[..8].copy_from_slice(&(cmsg_len(8) as u64).to_ne_bytes());
    bad.resize(cmsg_space(8), 0);
    assert_eq!(sendmsg(&mut e, cfd, vec![(0, 10)], bad, z), Err(EINVAL));
    // An id without MSG_ZEROCOPY → EINVAL.
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 10)], devmem_cmsg(id), 0),
        Err(EINVAL)
    );
    // An unknown id → EINVAL.
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 10)], devmem_cmsg(id + 7), z),
        Err(EINVAL)
    );
    // An offset past the dma-buf → EFAULT, nothing queued.
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(64 * PAGE as u64, 1)], devmem_cmsg(id), z),
        Err(EFAULT)
    );
    // Partial progress: 17 whole pages fill one skb, the 18th iov faults → 17 pages sent.
    let mut iov: Vec<(u64, usize)> = (0..17).map(|i| (i * PAGE as u64, 1)).collect();
    iov.push((1 << 40, 1));
    assert_eq!(sendmsg(&mut e, cfd, iov, devmem_cmsg(id), z), Ok(17));
    // Fault inside the first skb: trimmed back, EFAULT.
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 5), (1 << 40, 1)], devmem_cmsg(id), z),
        Err(EFAULT)
    );
    // SO_ZEROCOPY off: EINVAL even with MSG_ZEROCOPY.
    let c = e.client.clone();
    c.setsockopt_int(cfd, SOL_SOCKET, SO_ZEROCOPY, 0).unwrap();
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 10)], devmem_cmsg(id), z),
        Err(EINVAL)
    );
    c.setsockopt_int(cfd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 10)], devmem_cmsg(id), z),
        Ok(10)
    );

    // Route through another device (lo): ENODEV.
    let local = e.local.clone();
    let (cfd2, _) = connect_to(&mut e, local, "::1", 9001, |p, fd| {
        p.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
    });
    assert_eq!(
        sendmsg(&mut e, cfd2, vec![(0, 10)], devmem_cmsg(id), z),
        Err(ENODEV)
    );
    // Not connected: no dst and nothing to rebuild it from → EHOSTUNREACH.
    let c = e.client.clone();
    let fd3 = c.socket(AF_INET6, SOCK_STREAM).unwrap();
    c.setsockopt_int(fd3, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
    assert_eq!(
        sendmsg(&mut e, fd3, vec![(0, 10)], devmem_cmsg(id), z),
        Err(EHOSTUNREACH)
    );

    // An RX binding's id is not a TX binding → EINVAL.
    let rx_id = {
        let mut k = e.w.kernel.borrow_mut();
        k.ethtool_rings_set(
            e.srv_nic,
            simkernel::net::ethtool::RingsSet {
                tcp_data_split: Some(TcpDataSplit::Enabled),
                hds_thresh: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
        let b = k.dmabuf_create(4 * PAGE, 0).unwrap();
        let fd = k.process_install_dmabuf(e.server.pid(), b).unwrap();
        drop(k);
        let a = caller(&e.server, 7);
        let mut k = e.w.kernel.borrow_mut();
        let ifindex = k.device(e.srv_nic).ifindex;
        k.bind_rx(&a, ifindex, fd, &[QueueSel::rx(3)]).unwrap()
    };
    assert_eq!(
        sendmsg(&mut e, cfd, vec![(0, 10)], devmem_cmsg(rx_id), z),
        Err(EINVAL)
    );
}

fn ee_from(control: &[u8]) -> (i32, i32, SockExtendedErr) {
    let h = CmsgHdr::from_bytes(control).unwrap();
    let ee = SockExtendedErr::from_bytes(&control[CmsgHdr::SIZE..]).unwrap();
    (h.cmsg_level, h.cmsg_type, ee)
}

#[test]
fn zerocopy_completions_after_ack_coalesced() {
    let mut e = env();
    let id = bind_tx(&e, &e.client.clone(), 64 * PAGE);
    // The server's NIC steers the flow to a devmem queue with header split, so the
    // payload arrives as net_iovs of its RX binding.
    let rx = rx_binding(&e, 64);
    steer_to_devmem_queue(&e, 9100);
    let (cfd, afd) = connect_pair(&mut e, 9100, zerocopy_bound);
    let c = e.client.clone();
    let k = e.w.kernel.clone();
    let (before, after_one) =
        e.w.run_until(&e.client, async move {
            let ctl = devmem_cmsg(id);
            let v = [UserIov::Addr {
                base: 100,
                len: 10_000,
            }];
            assert_eq!(
                c.sendmsg(cfd, &v, &ctl, MSG_ZEROCOPY).await.unwrap(),
                10_000
            );
            assert_eq!(
                c.sendmsg(cfd, &v, &ctl, MSG_ZEROCOPY).await.unwrap(),
                10_000
            );
            // Nothing acknowledged yet: no completion, no POLLERR.
            let sk: SockId = c.sock_of(cfd).unwrap();
            let before = k.borrow().sock(sk).unwrap().err_queue.len();
            let mut p = [PollFd {
                fd: cfd,
                events: 0,
                revents: 0,
            }];
            c.poll(&mut p, Some(simkernel::time::Duration::from_millis(500)))
                .await
                .unwrap();
            assert_eq!(p[0].revents & POLLERR, POLLERR);
            (before, k.borrow().sock(sk).unwrap().err_queue.len())
        })
        .unwrap();
    assert_eq!(before, 0);
    assert_eq!(after_one, 1);
    // Let the second send's ACK cross the wire too: its completion merges into the
    // queued one (__msg_zerocopy_callback extends a contiguous tail notification).
    e.w.run_for(simkernel::time::Duration::from_millis(250))
        .unwrap();
    let c = e.client.clone();
    let out =
        e.w.run_until(&e.client, async move {
            c.recvmsg(cfd, 0, 128, MSG_ERRQUEUE).await.unwrap()
        })
        .unwrap();
    let (level, ty, ee) = ee_from(&out.control);
    assert_eq!((level, ty), (SOL_IPV6, IPV6_RECVERR));
    assert_eq!(out.control.len(), cmsg_len(16 + 28));
    assert_eq!(
        (ee.ee_errno, ee.ee_origin, ee.ee_info, ee.ee_data),
        (0, SO_EE_ORIGIN_ZEROCOPY, 0, 1)
    );
    assert_eq!(out.flags & MSG_ERRQUEUE, MSG_ERRQUEUE);
    // Queue empty: POLLERR gone, another read is EAGAIN.
    let c = e.client.clone();
    let r =
        e.w.run_until(&e.client, async move {
            c.recvmsg(cfd, 0, 128, MSG_ERRQUEUE).await
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errno, uapi::errno::EAGAIN);
    // The receiver got the devmem payload by reference: without MSG_SOCK_DEVMEM, EFAULT.
    let s = e.server.clone();
    let r =
        e.w.run_until(
            &e.server,
            async move { s.recvmsg(afd, 1 << 20, 0, 0).await },
        )
        .unwrap();
    assert_eq!(r.unwrap_err().errno, EFAULT);
    // With it: every payload byte is a frag of the server's RX binding, none crossing a
    // page, tokens numbered from 1.
    let s = e.server.clone();
    let out =
        e.w.run_until(&e.server, async move {
            s.recvmsg(afd, 1 << 20, 8192, MSG_SOCK_DEVMEM)
                .await
                .unwrap()
        })
        .unwrap();
    let cms = parse_dmabuf_cmsgs(&out.control);
    assert!(
        cms.iter()
            .all(|(t, d)| *t == SCM_DEVMEM_DMABUF && d.dmabuf_id == rx.id)
    );
    assert!(
        cms.iter()
            .all(|(_, d)| d.frag_offset % PAGE as u64 + u64::from(d.frag_size) <= PAGE as u64)
    );
    let total: u64 = cms.iter().map(|(_, d)| u64::from(d.frag_size)).sum();
    assert_eq!(total, out.len as u64);
    assert!(out.len > 0);
    let toks: Vec<u32> = cms.iter().map(|(_, d)| d.frag_token).collect();
    assert_eq!(toks, (1..=cms.len() as u32).collect::<Vec<_>>());
}

fn parse_dmabuf_cmsgs(control: &[u8]) -> Vec<(i32, DmabufCmsg)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + CmsgHdr::SIZE <= control.len() {
        let h = CmsgHdr::from_bytes(&control[off..]).unwrap();
        assert_eq!(h.cmsg_level, SOL_SOCKET);
        assert_eq!(h.cmsg_len as usize, cmsg_len(DmabufCmsg::SIZE));
        let d = DmabufCmsg::from_bytes(&control[off + CmsgHdr::SIZE..]).unwrap();
        out.push((h.cmsg_type, d));
        off += cmsg_space(DmabufCmsg::SIZE);
    }
    out
}

/// Inject a data segment into the server's connection as the NIC's header-split RX path
/// would deliver it: `linear` payload bytes in the head, then `frags`.
/// An ntuple rule on the server's NIC: TCP/IPv6 to `port` lands on queue 3, whose page
/// pool has the RX binding's dma-buf ([`rx_binding`]) and header split on.
fn steer_to_devmem_queue(e: &Env, port: u16) {
    e.w.kernel
        .borrow_mut()
        .ethtool_ntuple_add(
            e.srv_nic,
            simkernel::net::ethtool::NtupleRule {
                flow_type: simkernel::net::ethtool::FlowType::Tcp6,
                src_ip: None,
                dst_ip: None,
                src_port: None,
                dst_port: Some(port),
                action: simkernel::net::ethtool::NtupleAction::Queue(3),
            },
        )
        .unwrap();
}

/// [`inject`] of one segment whose `len` payload bytes are the start of net_iov `niov`.
fn inject_niov(e: &Env, afd: i32, niov: &NetIov, len: usize) {
    let f = Frag::NetIov {
        niov: niov.clone(),
        off: 0,
        len,
    };
    inject(e, afd, b"", vec![f], IpSummed::Unnecessary);
}

fn inject(e: &Env, afd: i32, linear: &[u8], frags: Vec<Frag>, summed: IpSummed) {
    let sk = e.server.sock_of(afd).unwrap();
    let mut k = e.w.kernel.borrow_mut();
    let s = k.sock(sk).unwrap();
    let c = s.conn().unwrap();
    let (local, remote) = (c.local(), c.remote());
    let (seq, ack) = (c.rcv_nxt_seq(), c.snd_nxt_seq());
    let repr = TcpRepr {
        src_port: remote.port(),
        dst_port: local.port(),
        seq_number: TcpSeqNumber(seq.0),
        ack_number: Some(TcpSeqNumber(ack.0)),
        flags: TcpFlags::PSH,
        window_len: 1000,
        urgent_pointer: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [None; 3],
        timestamp: None,
        payload: linear,
    };
    let mut head = vec![0u8; repr.buffer_len()];
    let flen: usize = frags.iter().map(Frag::len).sum();
    let (sip, dip): (IpAddr, IpAddr) = (remote.ip(), local.ip());
    repr.emit_header(
        &mut TcpPacket::new_unchecked(&mut head[..]),
        &sip,
        &dip,
        linear.len() + flen,
        TcpChecksum::Zero,
    )
    .unwrap();
    head[repr.header_len()..].copy_from_slice(linear);
    let skb = Skb {
        head,
        frags,
        ip_summed: summed,
        ..Skb::default()
    };
    let ns = k.process(e.server.pid()).unwrap().netns;
    let lo = k.dev_get_by_name(ns, "lo").unwrap();
    tcp_v6_rcv(
        &mut k,
        ns,
        lo,
        IpInfo {
            saddr: sip,
            daddr: dip,
        },
        skb,
    );
    let now = k.clock();
    k.advance(now);
}

struct Rx {
    pp: simkernel::net::core::page_pool::PagePoolId,
    id: u32,
}

fn rx_binding(e: &Env, pages: usize) -> Rx {
    let mut k = e.w.kernel.borrow_mut();
    k.ethtool_rings_set(
        e.srv_nic,
        simkernel::net::ethtool::RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            hds_thresh: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    let b = k.dmabuf_create(pages * PAGE, 0).unwrap();
    let fd = k.process_install_dmabuf(e.server.pid(), b).unwrap();
    drop(k);
    let a = caller(&e.server, 55);
    let mut k = e.w.kernel.borrow_mut();
    let ifindex = k.device(e.srv_nic).ifindex;
    let id = k.bind_rx(&a, ifindex, fd, &[QueueSel::rx(3)]).unwrap();
    let pp = k.device(e.srv_nic).rx_queues[3].page_pool.unwrap();
    Rx { pp, id }
}

fn alloc(e: &Env, rx: &Rx, n: usize) -> Vec<NetIov> {
    let mut k = e.w.kernel.borrow_mut();
    (0..n)
        .map(|_| k.page_pool_alloc_netmem(rx.pp).unwrap())
        .collect()
}

fn inflight(e: &Env, rx: &Rx) -> u64 {
    e.w.kernel
        .borrow()
        .page_pool(rx.pp)
        .map_or(0, |p| p.inflight)
}

fn recv(
    e: &mut Env,
    afd: i32,
    len: usize,
    ctl: usize,
    flags: u32,
) -> Result<simkernel::net::ipv4::tcp::RecvOut, i32> {
    let s = e.server.clone();
    e.w.run_until(&e.server, async move {
        s.recvmsg(afd, len, ctl, flags).await.map_err(|e| e.errno)
    })
    .unwrap()
}

fn dontneed(e: &Env, afd: i32, toks: &[(u32, u32)]) -> Result<i32, i32> {
    let mut v = Vec::new();
    for &(s, c) in toks {
        v.extend_from_slice(
            &DmabufToken {
                token_start: s,
                token_count: c,
            }
            .to_bytes(),
        );
    }
    e.server
        .setsockopt(afd, SOL_SOCKET, SO_DEVMEM_DONTNEED, &v)
        .map_err(|e| e.errno)
}

#[test]
fn devmem_rx_cmsgs_tokens_and_limits() {
    let mut e = env();
    let rx = rx_binding(&e, 2048);
    let (_cfd, afd) = connect_pair(&mut e, 9200, |_, _| {});
    let niovs = alloc(&e, &rx, 2);
    let voff: Vec<u64> = niovs.iter().map(NetIov::virtual_offset).collect();
    let frags = vec![
        Frag::NetIov {
            niov: niovs[0].clone(),
            off: 0,
            len: 4096,
        },
        Frag::NetIov {
            niov: niovs[1].clone(),
            off: 64,
            len: 100,
        },
    ];
    drop(niovs);
    inject(&e, afd, b"hello", frags, IpSummed::Unnecessary);
    assert_eq!(inflight(&e, &rx), 2);
    // Without MSG_SOCK_DEVMEM: EFAULT, data stays.
    assert_eq!(recv(&mut e, afd, 1 << 20, 0, 0).unwrap_err(), EFAULT);
    // Control buffer too small for the first cmsg: put_cmsg_notrunc → ETOOSMALL.
    assert_eq!(
        recv(&mut e, afd, 1 << 20, cmsg_len(24) - 1, MSG_SOCK_DEVMEM).unwrap_err(),
        ETOOSMALL
    );
    let out = recv(&mut e, afd, 1 << 20, 1024, MSG_SOCK_DEVMEM).unwrap();
    assert_eq!(out.len, 5 + 4096 + 100);
    assert_eq!(out.data, b"hello");
    let cms = parse_dmabuf_cmsgs(&out.control);
    assert_eq!(cms.len(), 3);
    assert_eq!(cms[0].0, SCM_DEVMEM_LINEAR);
    assert_eq!(
        cms[0].1,
        DmabufCmsg {
            frag_size: 5,
            ..Default::default()
        }
    );
    assert_eq!(
        cms[1].1,
        DmabufCmsg {
            frag_offset: voff[0],
            frag_size: 4096,
            frag_token: 1,
            dmabuf_id: rx.id,
            flags: 0
        }
    );
    assert_eq!(
        cms[2].1,
        DmabufCmsg {
            frag_offset: voff[1] + 64,
            frag_size: 100,
            frag_token: 2,
            dmabuf_id: rx.id,
            flags: 0
        }
    );
    // The skb is gone; the tokens hold the buffers.
    assert_eq!(inflight(&e, &rx), 2);
    // DONTNEED: bad lengths, a missing token skipped, the count freed.
    assert_eq!(
        e.server
            .setsockopt(afd, SOL_SOCKET, SO_DEVMEM_DONTNEED, &[0; 12])
            .unwrap_err()
            .errno,
        EINVAL
    );
    assert_eq!(dontneed(&e, afd, &vec![(50, 1); 129]).unwrap_err(), EINVAL);
    assert_eq!(dontneed(&e, afd, &[(1, 1), (99, 1)]), Ok(1));
    assert_eq!(inflight(&e, &rx), 1);
    assert_eq!(dontneed(&e, afd, &[(1, 2)]), Ok(1));
    assert_eq!(inflight(&e, &rx), 0);

    // Readable and unreadable skbs never mix in one call.
    let n = alloc(&e, &rx, 1);
    inject_niov(&e, afd, &n[0], 10);
    drop(n);
    inject(&e, afd, b"plain", vec![], IpSummed::Unnecessary);
    let a = recv(&mut e, afd, 1 << 20, 1024, MSG_SOCK_DEVMEM).unwrap();
    assert_eq!((a.len, a.data.len()), (10, 0));
    let b = recv(&mut e, afd, 1 << 20, 1024, MSG_SOCK_DEVMEM).unwrap();
    assert_eq!(
        (b.len, b.data.as_slice(), b.control.len()),
        (5, &b"plain"[..], 0)
    );

    // MAX_DONTNEED_FRAGS: one token range of 1100 frees only the first 1024.
    let mut frags = Vec::new();
    for niov in alloc(&e, &rx, 1100) {
        frags.push(Frag::NetIov {
            niov,
            off: 0,
            len: 8,
        });
    }
    inject(&e, afd, b"", frags, IpSummed::Unnecessary);
    let out = recv(&mut e, afd, 1 << 20, 1 << 20, MSG_SOCK_DEVMEM).unwrap();
    assert_eq!(out.len, 8800);
    // Token 1 is still held from the 10-byte skb above; the new ones are 2..=1101.
    assert_eq!(inflight(&e, &rx), 1101);
    assert_eq!(dontneed(&e, afd, &[(2, 1100)]), Ok(1024));
    assert_eq!(inflight(&e, &rx), 77);
    // Unread devmem data at close: purged with the receive queue (and an RST goes out).
    let n = alloc(&e, &rx, 2);
    inject(
        &e,
        afd,
        b"",
        n.into_iter()
            .map(|niov| Frag::NetIov {
                niov,
                off: 0,
                len: 100,
            })
            .collect(),
        IpSummed::Unnecessary,
    );
    assert_eq!(inflight(&e, &rx), 79);
    // Closing the socket returns every remaining token and the unread buffers.
    e.server.close(afd).unwrap();
    assert_eq!(inflight(&e, &rx), 0);
}

fn cmsg(level: i32, ty: i32, data: &[u8]) -> Vec<u8> {
    let h = CmsgHdr {
        cmsg_len: cmsg_len(data.len()) as u64,
        cmsg_level: level,
        cmsg_type: ty,
    };
    let mut v = h.to_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(cmsg_space(data.len()), 0);
    v
}

fn send_bytes(
    e: &mut Env,
    fd: i32,
    bytes: &'static [u8],
    control: Vec<u8>,
    flags: u32,
) -> Result<usize, i32> {
    let c = e.client.clone();
    e.w.run_until(&e.client, async move {
        c.sendmsg(fd, &[UserIov::Buf(bytes)], &control, flags)
            .await
            .map_err(|e| e.errno)
    })
    .unwrap()
}

/// `__sock_cmsg_send()`: every SOL_SOCKET cmsg goes through the type switch, whose default
/// is EINVAL; AF_UNIX's SCM_RIGHTS/SCM_CREDENTIALS are ignored; other levels are skipped.
#[test]
fn sendmsg_unknown_sol_socket_cmsg_is_einval() {
    use simkernel::net::ipv4::tcp::sock_cmsg_send;
    use uapi::socket::{SCM_CREDENTIALS, SCM_RIGHTS, SCM_TS_OPT_ID, SCM_TXTIME, SO_MARK};
    for ty in [SCM_DEVMEM_LINEAR, SCM_TXTIME, SCM_TS_OPT_ID, 9999] {
        assert_eq!(
            sock_cmsg_send(&cmsg(SOL_SOCKET, ty, &[0; 4])).map_err(|e| e.errno),
            Err(EINVAL),
            "SOL_SOCKET cmsg type {ty}"
        );
    }
    assert_eq!(
        sock_cmsg_send(&cmsg(SOL_SOCKET, SO_MARK, &[0; 8])).map_err(|e| e.errno),
        Err(EINVAL)
    );
    for ty in [SCM_RIGHTS, SCM_CREDENTIALS] {
        assert_eq!(sock_cmsg_send(&cmsg(SOL_SOCKET, ty, &[0; 4])), Ok(None));
    }
    assert_eq!(sock_cmsg_send(&cmsg(SOL_IPV6, 9999, &[0; 4])), Ok(None));

    // Through sendmsg on a connected socket: the remembered sockc_err, returned after the
    // connection wait.
    let mut e = env();
    let (cfd, afd) = connect_pair(&mut e, 9300, zerocopy_bound);
    assert_eq!(
        send_bytes(
            &mut e,
            cfd,
            b"x",
            cmsg(SOL_SOCKET, SCM_DEVMEM_LINEAR, &[0; 4]),
            0
        ),
        Err(EINVAL)
    );
    assert_eq!(
        send_bytes(&mut e, cfd, b"ok", cmsg(SOL_SOCKET, SCM_RIGHTS, &[0; 4]), 0),
        Ok(2)
    );
    assert_eq!(recv(&mut e, afd, 100, 0, 0).unwrap().data, b"ok");
}

/// `sockcm_cookie.dmabuf_id` starts at 0 and `tcp_sendmsg_locked()` treats 0 as "no
/// dma-buf": an SCM_DEVMEM_DMABUF of 0 makes an ordinary send (no EINVAL without
/// MSG_ZEROCOPY, no binding lookup).
#[test]
fn sendmsg_dmabuf_id_zero_is_an_ordinary_send() {
    use simkernel::net::ipv4::tcp::sock_cmsg_send;
    assert_eq!(sock_cmsg_send(&devmem_cmsg(0)), Ok(None));
    assert_eq!(sock_cmsg_send(&devmem_cmsg(5)), Ok(Some(5)));
    let mut two = devmem_cmsg(5);
    two.extend(devmem_cmsg(0));
    assert_eq!(
        sock_cmsg_send(&two),
        Ok(None),
        "the last id wins, 0 is none"
    );

    let mut e = env();
    let (cfd, afd) = connect_pair(&mut e, 9303, zerocopy_bound);
    assert_eq!(send_bytes(&mut e, cfd, b"hello", devmem_cmsg(0), 0), Ok(5));
    assert_eq!(
        send_bytes(&mut e, cfd, b"world", devmem_cmsg(0), MSG_ZEROCOPY),
        Ok(5)
    );
    let mut got = Vec::new();
    while got.len() < 10 {
        got.extend(recv(&mut e, afd, 100, 0, 0).unwrap().data);
    }
    assert_eq!(got, b"helloworld");
}

/// `sock_devmem_dontneed()`: the id is `token_start + j` in u32, so a range that runs past
/// u32::MAX wraps and frees tokens 0, 1, …
#[test]
fn devmem_dontneed_token_range_wraps_at_u32_max() {
    let mut e = env();
    let rx = rx_binding(&e, 16);
    let (_cfd, afd) = connect_pair(&mut e, 9301, |_, _| {});
    let n = alloc(&e, &rx, 1);
    inject_niov(&e, afd, &n[0], 10);
    drop(n);
    let out = recv(&mut e, afd, 100, 1024, MSG_SOCK_DEVMEM).unwrap();
    assert_eq!(parse_dmabuf_cmsgs(&out.control)[0].1.frag_token, 1);
    assert_eq!(inflight(&e, &rx), 1);
    // u32::MAX, 0, 1: token 1 is freed.
    assert_eq!(dontneed(&e, afd, &[(u32::MAX, 3)]), Ok(1));
    assert_eq!(inflight(&e, &rx), 0);
}

/// `tcp_recvmsg_locked()` with MSG_TRUNC: nothing is copied, so unreadable data is consumed
/// without MSG_SOCK_DEVMEM, without cmsgs or tokens, and readable and unreadable skbs are
/// read in one call.
#[test]
fn recvmsg_trunc_discards_devmem_without_tokens() {
    let mut e = env();
    let rx = rx_binding(&e, 16);
    let (_cfd, afd) = connect_pair(&mut e, 9302, |_, _| {});
    let n = alloc(&e, &rx, 2);
    inject(
        &e,
        afd,
        b"head",
        n.iter()
            .map(|niov| Frag::NetIov {
                niov: niov.clone(),
                off: 0,
                len: 100,
            })
            .collect(),
        IpSummed::Unnecessary,
    );
    drop(n);
    inject(&e, afd, b"plain", vec![], IpSummed::Unnecessary);
    assert_eq!(inflight(&e, &rx), 2);
    let out = recv(&mut e, afd, 1 << 20, 1024, MSG_TRUNC).unwrap();
    assert_eq!((out.len, out.data.len(), out.control.len()), (209, 0, 0));
    // The skb is gone and no token holds its buffers.
    assert_eq!(inflight(&e, &rx), 0);
    assert_eq!(dontneed(&e, afd, &[(1, 2)]), Ok(0));
    // Nothing left.
    assert_eq!(recv(&mut e, afd, 10, 0, MSG_DONTWAIT).unwrap_err(), EAGAIN);
}

/// `tcp_sendmsg_locked()` on a reset connection: `sk_stream_wait_connect()` returns
/// `sock_error()`, which clears `sk_err`, so the first send reports ECONNRESET, the next
/// one EPIPE, and SO_ERROR reads 0 in between.
#[test]
fn sendmsg_after_reset_consumes_the_pending_error() {
    use uapi::errno::{ECONNRESET, EPIPE};
    use uapi::socket::SO_ERROR;
    let mut e = env();
    let (cfd, afd) = connect_pair(&mut e, 9304, |_, _| {});
    // Unread data at the server's close → RST to the client.
    assert_eq!(send_bytes(&mut e, cfd, b"unread", vec![], 0), Ok(6));
    e.w.run_for(std::time::Duration::from_millis(100)).unwrap();
    e.server.close(afd).unwrap();
    e.w.run_for(std::time::Duration::from_millis(100)).unwrap();
    assert_eq!(send_bytes(&mut e, cfd, b"x", vec![], 0), Err(ECONNRESET));
    let c = e.client.clone();
    assert_eq!(
        c.getsockopt(cfd, SOL_SOCKET, SO_ERROR).unwrap(),
        0i32.to_ne_bytes().to_vec()
    );
    assert_eq!(send_bytes(&mut e, cfd, b"x", vec![], 0), Err(EPIPE));
}

/// Tokens belong to the full socket and go back in `tcp_v4_destroy_sock()`: a graceful
/// close keeps them until the orphan's FIN is acknowledged (the full socket then gives way
/// to a time-wait socket), not at close() itself.
#[test]
fn devmem_tokens_released_when_the_orphan_is_destroyed() {
    let mut e = env();
    let rx = rx_binding(&e, 64);
    steer_to_devmem_queue(&e, 9305);
    let (cfd, afd) = connect_pair(&mut e, 9305, |_, _| {});
    static DATA: [u8; 5000] = [7; 5000];
    assert_eq!(send_bytes(&mut e, cfd, &DATA, vec![], 0), Ok(5000));
    let mut got = 0;
    let mut tokens = 0;
    while got < 5000 {
        let out = recv(&mut e, afd, 1 << 20, 4096, MSG_SOCK_DEVMEM).unwrap();
        got += out.len;
        tokens += parse_dmabuf_cmsgs(&out.control)
            .iter()
            .filter(|(t, _)| *t == SCM_DEVMEM_DMABUF)
            .count();
    }
    assert!(tokens > 0);
    let held = inflight(&e, &rx);
    assert!(held > 0);
    // close(): FIN out, the orphan waits for its ACK; the tokens are still held.
    e.server.close(afd).unwrap();
    assert_eq!(inflight(&e, &rx), held);
    // The peer acknowledges the FIN: the full socket is destroyed, the tokens go back.
    e.w.run_for(std::time::Duration::from_millis(100)).unwrap();
    assert_eq!(inflight(&e, &rx), 0);
}

/// `sock_dequeue_err_skb()` regenerates `sk_err` from ICMP errors only: reading a zerocopy
/// completion leaves a pending ECONNRESET in place for SO_ERROR and the next call.
#[test]
fn reading_zerocopy_completions_keeps_the_pending_error() {
    use uapi::errno::ECONNRESET;
    use uapi::socket::SO_ERROR;
    let mut e = env();
    let (cfd, afd) = connect_pair(&mut e, 9306, zerocopy_bound);
    assert_eq!(send_bytes(&mut e, cfd, b"abc", vec![], MSG_ZEROCOPY), Ok(3));
    e.w.run_for(std::time::Duration::from_millis(100)).unwrap();
    // Unread data at the server's close → RST: the client's sk_err is ECONNRESET.
    e.server.close(afd).unwrap();
    e.w.run_for(std::time::Duration::from_millis(100)).unwrap();
    let c = e.client.clone();
    let out =
        e.w.run_until(&e.client, async move {
            c.recvmsg(cfd, 0, 256, MSG_ERRQUEUE | MSG_DONTWAIT).await
        })
        .unwrap()
        .unwrap();
    let (_, _, ee) = ee_from(&out.control);
    assert_eq!(ee.ee_origin, SO_EE_ORIGIN_ZEROCOPY);
    let c = e.client.clone();
    assert_eq!(
        c.getsockopt(cfd, SOL_SOCKET, SO_ERROR).unwrap(),
        ECONNRESET.to_ne_bytes().to_vec()
    );
}
