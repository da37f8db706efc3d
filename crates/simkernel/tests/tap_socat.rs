//! Interop with real Linux peers: the emulated stack talks TCP to a real `socat` over a
//! TAP interface that lives in a fresh real network namespace (`ip netns add`), driven by
//! the wall-clock loop ([`simkernel::wall_clock`]).
//!
//! Each test needs root, /dev/net/tun, `ip` and `socat`; without them it prints the
//! reason and returns. Every wait is bounded; the namespace (and so the TAP interface) is
//! deleted when the test ends, failed or not.
#![allow(clippy::unwrap_used)]

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::rc::Rc;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::sock::{AF_INET, AF_INET6};
use simkernel::time::Duration;
use simkernel::{Cred, DevId, Kernel, KernelConfig, Proc, World};
use uapi::errno::ECONNREFUSED;
use uapi::socket::SOCK_STREAM;

/// Wall-time limit for one transfer (1 MiB over a TAP takes well under a second).
const LIMIT: WallDuration = WallDuration::from_secs(20);
const MIB: usize = 1 << 20;

/// The bytes sent: a pattern that a shifted or dropped byte cannot reproduce.
fn payload(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(131) ^ (i >> 11)) as u8)
        .collect()
}

/// A real network namespace made with `ip netns add`, deleted on drop.
struct RealNetns {
    name: String,
}

impl RealNetns {
    fn add(tag: &str) -> Result<RealNetns, String> {
        let name = format!("nktap-{tag}-{}", std::process::id());
        // A stale one from a killed earlier run with the same pid: remove it first.
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(Command::new("ip").args(["netns", "add", &name]))
            .map_err(|e| format!("SKIP: ip netns add: {e}"))?;
        Ok(RealNetns { name })
    }

    /// `ip -n NAME ARGS...`
    fn ip(&self, args: &[&str]) -> Result<(), String> {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// A command run inside the namespace (`ip netns exec NAME PROG ARGS...`).
    fn exec(&self, prog: &str, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, prog]).args(args);
        c
    }
}

impl Drop for RealNetns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

fn run(c: &mut Command) -> Result<(), String> {
    let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{c:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// Wait for `child` at most until `deadline`; kill it past that.
fn wait_child(child: &mut Child, deadline: WallInstant) -> Result<ExitStatus, String> {
    loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(s);
        }
        if WallInstant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("socat did not finish in time (killed)".into());
        }
        std::thread::sleep(WallDuration::from_millis(10));
    }
}

/// The real side's and the emulator's addresses on the TAP link.
#[derive(Clone, Copy)]
struct Addrs {
    real: IpAddr,
    emu: IpAddr,
    plen: u8,
}

const V6: Addrs = Addrs {
    real: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 1)),
    emu: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 7, 0, 0, 0, 0, 2)),
    plen: 64,
};
const V4: Addrs = Addrs {
    real: IpAddr::V4(Ipv4Addr::new(198, 18, 7, 1)),
    emu: IpAddr::V4(Ipv4Addr::new(198, 18, 7, 2)),
    plen: 24,
};

/// Preconditions that are not bugs when missing: root's tools and /dev/net/tun.
fn tools_present() -> Result<(), String> {
    for (prog, arg) in [("ip", "-V"), ("socat", "-V")] {
        match Command::new(prog).arg(arg).output() {
            Ok(o) if o.status.success() => {}
            _ => return Err(format!("SKIP: `{prog}` is not installed")),
        }
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Err("SKIP: no /dev/net/tun".into());
    }
    Ok(())
}

/// A TAP interface created inside `ns`, up, with the real side's address (no DAD).
fn real_tap(ns: &RealNetns, a: Addrs) -> Result<linux::tap::Tap, String> {
    let tap = linux::netns::run_in_netns(format!("/run/netns/{}", ns.name), || {
        linux::tap::Tap::open("nktap%d")
    })
    .map_err(|e| format!("SKIP: setns into {}: {e}", ns.name))?
    .map_err(|e| format!("SKIP: /dev/net/tun: {e}"))?;
    let name = tap.name().to_string();
    ns.ip(&["link", "set", "lo", "up"])?;
    ns.ip(&["link", "set", &name, "up"])?;
    let cidr = format!("{}/{}", a.real, a.plen);
    match a.real {
        IpAddr::V6(_) => ns.ip(&["-6", "addr", "add", &cidr, "dev", &name, "nodad"])?,
        IpAddr::V4(_) => ns.ip(&["addr", "add", &cidr, "dev", &name])?,
    }
    Ok(tap)
}

/// An emulated kernel whose only NIC is plugged into `tap`, up, with the emulator's
/// address; and a process in its init_net.
fn emulated(tap: linux::tap::Tap, a: Addrs) -> (World, Proc, DevId) {
    let mut k = Kernel::new(KernelConfig::default());
    k.seed(7);
    let init = k.init_net();
    let lo = k.netns_loopback(init).unwrap();
    k.link_set_up(lo, true).unwrap();
    let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
    k.nic_attach_tap(nic, tap).unwrap();
    k.link_set_up(nic, true).unwrap();
    match a.emu {
        IpAddr::V6(v6) => k.ipv6_addr_add(nic, v6, a.plen, true).unwrap(),
        IpAddr::V4(v4) => k.ipv4_addr_add(nic, v4, a.plen).unwrap(),
    }
    let w = World::new(k);
    let p = w.process(init, Cred::default());
    (w, p, nic)
}

fn family(ip: IpAddr) -> i32 {
    if ip.is_ipv6() { AF_INET6 } else { AF_INET }
}

/// Connect, retrying while the real listener is not up yet (RST → ECONNREFUSED).
async fn connect_retry(p: &Proc, dst: SocketAddr) -> i32 {
    for _ in 0..50 {
        let fd = p.socket(family(dst.ip()), SOCK_STREAM).unwrap();
        match p.connect(fd, dst).await {
            Ok(()) => return fd,
            Err(e) if e.errno == ECONNREFUSED => {
                p.close(fd).unwrap();
                p.sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("connect {dst}: {e:?}"),
        }
    }
    panic!("connect {dst}: still refused after 50 tries");
}

/// Drain a child's stdout on a thread (the pipe must not fill while we drive the loop).
fn collect_stdout(child: &mut Child) -> std::thread::JoinHandle<Vec<u8>> {
    let mut out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    })
}

/// Report a precondition skip, or fail.
fn finish(r: Result<(), String>) {
    match r {
        Ok(()) => {}
        Err(m) if m.starts_with("SKIP") => println!("{m}"),
        Err(m) => panic!("{m}"),
    }
}

/// (a) An emulated process connects to a real `socat -u TCP-LISTEN -` and sends `len`
/// bytes; socat's stdout must be exactly those bytes and socat must exit 0 (it saw our
/// FIN and closed).
fn emu_to_real(tag: &str, a: Addrs, port: u16, len: usize) -> Result<(), String> {
    tools_present()?;
    let ns = RealNetns::add(tag)?;
    let tap = real_tap(&ns, a)?;
    let (mut w, p, nic) = emulated(tap, a);
    let listen = match a.real {
        IpAddr::V6(_) => format!("TCP6-LISTEN:{port},reuseaddr"),
        IpAddr::V4(_) => format!("TCP4-LISTEN:{port},reuseaddr"),
    };
    let mut socat = ns
        .exec("socat", &["-u", &listen, "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn socat: {e}"))?;
    let out = collect_stdout(&mut socat);
    let data = payload(len);
    let d2 = data.clone();
    let p2 = p.clone();
    let dst = SocketAddr::new(a.real, port);
    let sent = w.run_until_wall(
        &p,
        async move {
            let fd = connect_retry(&p2, dst).await;
            let n = p2.send(fd, &d2, 0).await.unwrap();
            p2.close(fd).unwrap();
            n
        },
        LIMIT,
    );
    let sent = match sent {
        Ok(n) => n,
        Err(e) => {
            let _ = socat.kill();
            let _ = socat.wait();
            return Err(format!(
                "{e}; nic {:?}",
                w.kernel.borrow().device(nic).stats
            ));
        }
    };
    assert_eq!(sent, len);
    // Keep the emulator running (retransmissions, the FIN handshake) until socat exits.
    let deadline = WallInstant::now() + LIMIT;
    let status = loop {
        if let Some(s) = socat.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if WallInstant::now() >= deadline {
            let _ = socat.kill();
            let _ = socat.wait();
            return Err(format!(
                "socat still running; nic {:?}",
                w.kernel.borrow().device(nic).stats
            ));
        }
        w.run_for_wall(WallDuration::from_millis(20))
            .map_err(|e| e.to_string())?;
    };
    let got = out.join().map_err(|_| "stdout reader panicked")?;
    let mut err = String::new();
    if let Some(mut e) = socat.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "socat: {status} {err}");
    assert_eq!(got.len(), len, "bytes socat received");
    assert!(got == data, "byte-exact");
    println!(
        "{tag}: real socat received {} bytes from the emulator; NIC {:?}",
        got.len(),
        w.kernel.borrow().device(nic).stats
    );
    Ok(())
}

/// (b) A real `socat -u - TCP:[emu]:port` sends `len` bytes from its stdin to an emulated
/// listener, which reads to EOF (their FIN) and closes (our FIN). Byte-exact; socat exits
/// 0; the emulated connection is fully gone (their last ACK arrived), and the real socket
/// sits in TIME-WAIT (it closed first and saw our FIN: no RST on either side).
fn real_to_emu(tag: &str, a: Addrs, port: u16, len: usize) -> Result<(), String> {
    tools_present()?;
    let ns = RealNetns::add(tag)?;
    let tap = real_tap(&ns, a)?;
    let (mut w, p, nic) = emulated(tap, a);
    let l = p.socket(family(a.emu), SOCK_STREAM).unwrap();
    p.bind(l, SocketAddr::new(a.emu, port)).unwrap();
    p.listen(l, 4).unwrap();
    let data = payload(len);
    let connect = match a.emu {
        IpAddr::V6(v6) => format!("TCP6:[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("TCP4:{v4}:{port}"),
    };
    let mut socat = ns
        .exec("socat", &["-u", "-", &connect])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn socat: {e}"))?;
    let mut stdin = socat.stdin.take().unwrap();
    let d2 = data.clone();
    let feeder = std::thread::spawn(move || {
        let r = stdin.write_all(&d2);
        drop(stdin); // EOF: socat shuts the connection down
        r.is_ok()
    });
    let p2 = p.clone();
    let got = Rc::new(RefCell::new(Vec::with_capacity(len)));
    let g2 = got.clone();
    let r = w.run_until_wall(
        &p,
        async move {
            let (fd, peer) = p2.accept(l).await.unwrap();
            loop {
                let b = p2.recv(fd, 1 << 16, 0).await.unwrap();
                if b.is_empty() {
                    break;
                }
                g2.borrow_mut().extend_from_slice(&b);
            }
            p2.close(fd).unwrap();
            peer
        },
        LIMIT,
    );
    let peer = match r {
        Ok(peer) => peer,
        Err(e) => {
            let _ = socat.kill();
            let _ = socat.wait();
            return Err(format!(
                "{e}; got {} bytes; nic {:?}",
                got.borrow().len(),
                w.kernel.borrow().device(nic).stats
            ));
        }
    };
    let peer_ip = match peer.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    assert_eq!(peer_ip, a.real);
    assert!(feeder.join().unwrap_or(false), "socat took all of stdin");
    // Let the last ACK of our FIN come back; only the listener remains.
    let deadline = WallInstant::now() + WallDuration::from_secs(5);
    while w.kernel.borrow().sock_count() > 1 && WallInstant::now() < deadline {
        w.run_for_wall(WallDuration::from_millis(20))
            .map_err(|e| e.to_string())?;
    }
    let status = wait_child(&mut socat, WallInstant::now() + LIMIT)?;
    let mut err = String::new();
    if let Some(mut e) = socat.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(status.success(), "socat: {status} {err}");
    assert_eq!(
        w.kernel.borrow().sock_count(),
        1,
        "the emulated connection closed cleanly"
    );
    let got = got.borrow();
    assert_eq!(got.len(), len, "bytes the emulator received");
    assert!(*got == data, "byte-exact");
    let ss = ns
        .exec("ss", &["-tanH", "state", "time-wait"])
        .output()
        .map_err(|e| e.to_string())?;
    let tw = String::from_utf8_lossy(&ss.stdout);
    assert!(
        tw.contains(&format!(":{port}")),
        "the real socket closed through FIN into TIME-WAIT: {tw:?}"
    );
    println!(
        "{tag}: emulator received {} bytes from real socat",
        got.len()
    );
    Ok(())
}

#[test]
fn a_emulated_sender_to_real_socat_v6() {
    finish(emu_to_real("a6", V6, 7001, MIB));
}

#[test]
fn b_real_socat_to_emulated_listener_v6() {
    finish(real_to_emu("b6", V6, 7002, MIB));
}

#[test]
fn c_emulated_sender_to_real_socat_v4() {
    finish(emu_to_real("a4", V4, 7003, MIB));
}

#[test]
fn c_real_socat_to_emulated_listener_v4() {
    finish(real_to_emu("b4", V4, 7004, MIB));
}

/// (d) Devmem TX onto a real wire: the selftest topology with the host NIC's cable
/// replaced by a TAP into a real namespace that plays the remote host. The container
/// binds a dma-buf for TX on nk_guest (a NIC queue leased to it) and sends 1 MiB from it
/// with `SCM_DEVMEM_DMABUF` + `MSG_ZEROCOPY`; the skbs cross netkit into the host, the NIC
/// gathers their net_iov frags through its IOMMU, segments them (TSO) and writes the
/// frames to the TAP; the real kernel reassembles the stream for a real socat.
fn devmem_tx_to_real(len: usize) -> Result<(), String> {
    use simkernel::net::core::datagram::UserIov;
    use simkernel::sim::PollFd;
    use simkernel::topology::TopologyConfig;
    use simkernel::{Caller, NlSockId};
    use uapi::socket::{
        CmsgHdr, MSG_ERRQUEUE, MSG_ZEROCOPY, POLLERR, SCM_DEVMEM_DMABUF, SO_BINDTODEVICE,
        SO_EE_ORIGIN_ZEROCOPY, SO_ZEROCOPY, SOL_SOCKET, SockExtendedErr, cmsg_len, cmsg_space,
    };

    tools_present()?;
    let ns = RealNetns::add("d6")?;
    let mut k = Kernel::new(KernelConfig::default());
    k.seed(11);
    let t = k
        .topology_build(&TopologyConfig {
            primary_rx_redirect: true,
            rxqueues: 2,
            ..TopologyConfig::default()
        })
        .unwrap();
    // The real namespace takes the remote's place: REMOTE_V6 on its TAP, and the
    // guest's /128 routed via LOCAL_V6 as NetDrvContEnv does with primary RX redirect.
    let real = Addrs {
        real: IpAddr::V6(t.remote_v6),
        emu: IpAddr::V6(t.local_v6),
        plen: 64,
    };
    let tap = real_tap(&ns, real)?;
    let guest = format!("{}/128", t.nk_guest_ipv6);
    ns.ip(&["-6", "route", "add", &guest, "via", &t.local_v6.to_string()])?;
    k.wire_disconnect(t.wire).unwrap();
    k.nic_attach_tap(t.nic, tap).unwrap();

    let mut w = World::new(k);
    let cred = Cred {
        cap_net_admin: true,
    };
    let cont = w.process(t.cont_ns, cred);
    let data = payload(len);
    let size = len.div_ceil(simkernel::PAGE_SIZE) * simkernel::PAGE_SIZE;
    let id = {
        let mut k = w.kernel.borrow_mut();
        let c = Caller {
            pid: cont.pid(),
            netns: t.cont_ns,
            cred,
            sock: NlSockId(1000),
        };
        let g = k.device(t.nk_guest).ifindex;
        let n = k.device(t.nic).ifindex;
        k.queue_create(&c, g, n, 1, Some(0)).unwrap();
        let buf = k.dmabuf_create(size, 0).unwrap();
        buf.memory().write_at(0, &data).unwrap();
        let fd = k.process_install_dmabuf(cont.pid(), buf).unwrap();
        k.bind_tx(&c, g, fd).unwrap()
    };

    let port = 7005u16;
    let mut socat = ns
        .exec(
            "socat",
            &["-u", &format!("TCP6-LISTEN:{port},reuseaddr"), "-"],
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn socat: {e}"))?;
    let out = collect_stdout(&mut socat);
    let c = cont.clone();
    let dst = SocketAddr::new(IpAddr::V6(t.remote_v6), port);
    let chunk = 64 * 1024;
    let r = w.run_until_wall(
        &cont,
        async move {
            let mut fd = -1;
            for _ in 0..50 {
                fd = c.socket(AF_INET6, SOCK_STREAM).unwrap();
                c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"nk_guest\0")
                    .unwrap();
                c.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1).unwrap();
                match c.connect(fd, dst).await {
                    Ok(()) => break,
                    Err(e) if e.errno == ECONNREFUSED => {
                        c.close(fd).unwrap();
                        fd = -1;
                        c.sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => panic!("connect {dst}: {e:?}"),
                }
            }
            assert!(fd >= 0, "socat never listened");
            let mut ctl = CmsgHdr {
                cmsg_len: cmsg_len(4) as u64,
                cmsg_level: SOL_SOCKET,
                cmsg_type: SCM_DEVMEM_DMABUF,
            }
            .to_bytes()
            .to_vec();
            ctl.extend_from_slice(&id.to_ne_bytes());
            ctl.resize(cmsg_space(4), 0);
            let (mut off, mut calls, mut completed) = (0usize, 0u32, 0u32);
            while off < len {
                let n = chunk.min(len - off);
                let iov = [UserIov::Addr {
                    base: off as u64,
                    len: n,
                }];
                assert_eq!(c.sendmsg(fd, &iov, &ctl, MSG_ZEROCOPY).await.unwrap(), n);
                off += n;
                calls += 1;
            }
            // Every devmem send completes on the error queue once the real peer ACKed it.
            for _ in 0..200 {
                if completed == calls {
                    break;
                }
                let mut p = [PollFd {
                    fd,
                    events: 0,
                    revents: 0,
                }];
                c.poll(&mut p, Some(Duration::from_millis(50)))
                    .await
                    .unwrap();
                if p[0].revents & POLLERR == 0 {
                    continue;
                }
                while let Ok(m) = c.recvmsg(fd, 0, 128, MSG_ERRQUEUE).await {
                    let ee = SockExtendedErr::from_bytes(&m.control[CmsgHdr::SIZE..]).unwrap();
                    assert_eq!((ee.ee_errno, ee.ee_origin), (0, SO_EE_ORIGIN_ZEROCOPY));
                    completed += ee.ee_data - ee.ee_info + 1;
                }
            }
            c.close(fd).unwrap();
            (calls, completed)
        },
        LIMIT,
    );
    let (calls, completed) = match r {
        Ok(v) => v,
        Err(e) => {
            let _ = socat.kill();
            let _ = socat.wait();
            return Err(format!(
                "{e}; nic {:?}",
                w.kernel.borrow().device(t.nic).stats
            ));
        }
    };
    assert_eq!(completed, calls, "every devmem sendmsg completed");
    let deadline = WallInstant::now() + LIMIT;
    let status = loop {
        if let Some(s) = socat.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if WallInstant::now() >= deadline {
            let _ = socat.kill();
            let _ = socat.wait();
            return Err("socat still running".into());
        }
        w.run_for_wall(WallDuration::from_millis(20))
            .map_err(|e| e.to_string())?;
    };
    let got = out.join().map_err(|_| "stdout reader panicked")?;
    assert!(status.success(), "socat: {status}");
    assert_eq!(got.len(), len, "bytes the real kernel delivered");
    assert!(got == data, "byte-exact: the dma-buf's contents");
    let k = w.kernel.borrow();
    let nic = k.device(t.nic);
    assert_eq!(nic.iommu_faults(), 0);
    assert_eq!(nic.stats.tx_dropped, 0);
    assert_eq!(nic.stats.tx_errors, 0, "every frame written to the TAP");
    // TSO: the payload left as MSS-sized frames, at least one per 1440 bytes.
    assert!(
        nic.stats.tx_packets as usize >= len / 1440,
        "{:?}",
        nic.stats
    );
    println!(
        "d6: real socat received {} devmem bytes in {} sendmsg calls; NIC {:?}",
        got.len(),
        calls,
        nic.stats
    );
    Ok(())
}

#[test]
fn d_devmem_tx_from_container_through_tap_to_real_socat() {
    finish(devmem_tx_to_real(MIB));
}
