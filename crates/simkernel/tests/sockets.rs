//! TCP sockets on the emulated stack, driven by the executor.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use simkernel::net::core::sock::AF_INET6;
use simkernel::sim::PollFd;
use simkernel::{Cred, Kernel, KernelConfig, SimError, World};
use uapi::errno::{EADDRINUSE, ECONNREFUSED, ENODEV};
use uapi::socket::{
    POLLIN, POLLOUT, SO_BINDTODEVICE, SO_ERROR, SO_REUSEADDR, SO_REUSEPORT, SOCK_STREAM, SOL_SOCKET,
};

fn world() -> World {
    let mut k = Kernel::new(KernelConfig::default());
    k.seed(1);
    World::new(k)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn echo_over_loopback_with_poll() {
    let mut w = world();
    let ns = w.kernel.borrow().init_net();
    let server = w.process(ns, Cred::default());
    let client = w.process(ns, Cred::default());
    let lfd = server.socket(AF_INET6, SOCK_STREAM).unwrap();
    server
        .setsockopt_int(lfd, SOL_SOCKET, SO_REUSEADDR, 1)
        .unwrap();
    server.bind(lfd, addr("[::1]:5000")).unwrap();
    server.listen(lfd, 8).unwrap();
    let s2 = server.clone();
    w.spawn(&server, async move {
        let (fd, peer) = s2.accept(lfd).await.unwrap();
        assert_eq!(peer.ip(), addr("[::1]:1").ip());
        let mut got = Vec::new();
        loop {
            let b = s2.recv(fd, 100_000, 0).await.unwrap();
            if b.is_empty() {
                break;
            }
            got.extend_from_slice(&b);
        }
        assert_eq!(got.len(), 300_000);
        let n = s2.send(fd, &got, 0).await.unwrap();
        assert_eq!(n, got.len());
        s2.close(fd).unwrap();
    });
    let c = client.clone();
    let echoed = w
        .run_until(&client, async move {
            let fd = c.socket(AF_INET6, SOCK_STREAM).unwrap();
            c.connect(fd, addr("[::1]:5000")).await.unwrap();
            let local = c.getsockname(fd).unwrap();
            assert!(local.port() >= 32768);
            assert_eq!(c.getpeername(fd).unwrap(), addr("[::1]:5000"));
            let mut p = [PollFd {
                fd,
                events: POLLOUT | POLLIN,
                revents: 0,
            }];
            assert_eq!(c.poll(&mut p, None).await.unwrap(), 1);
            assert_eq!(p[0].revents, POLLOUT);
            let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            assert_eq!(c.send(fd, &data, 0).await.unwrap(), data.len());
            c.shutdown(fd, uapi::socket::SHUT_WR).unwrap();
            let mut back = Vec::new();
            loop {
                let b = c.recv(fd, 65536, 0).await.unwrap();
                if b.is_empty() {
                    break;
                }
                back.extend_from_slice(&b);
            }
            assert_eq!(back, data);
            c.close(fd).unwrap();
            back.len()
        })
        .unwrap();
    assert_eq!(echoed, 300_000);
    w.drive_bounded(10_000).unwrap();
    // Let TIME-WAIT expire: every socket but the listener is gone.
    w.run_for(simkernel::time::Duration::from_secs(61)).unwrap();
    assert_eq!(w.kernel.borrow().sock_count(), 1);
}

#[test]
fn connect_refused_and_bind_rules() {
    let mut w = world();
    let ns = w.kernel.borrow().init_net();
    let p = w.process(ns, Cred::default());
    let a = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    let b = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    p.bind(a, addr("[::]:7000")).unwrap();
    assert_eq!(p.bind(b, addr("[::1]:7000")).unwrap_err().errno, EADDRINUSE);
    // Both with SO_REUSEADDR and not listening: allowed; listening on both is not.
    let c = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    let d = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    for fd in [c, d] {
        p.setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
    }
    p.bind(c, addr("[::1]:7001")).unwrap();
    p.bind(d, addr("[::1]:7001")).unwrap();
    p.listen(c, 1).unwrap();
    assert_eq!(p.listen(d, 1).unwrap_err().errno, EADDRINUSE);
    // SO_REUSEPORT on both: two listeners.
    let e = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    let f = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    for fd in [e, f] {
        p.setsockopt_int(fd, SOL_SOCKET, SO_REUSEPORT, 1).unwrap();
        p.bind(fd, addr("[::1]:7002")).unwrap();
        p.listen(fd, 1).unwrap();
    }
    // SO_BINDTODEVICE to an unknown name.
    assert_eq!(
        p.setsockopt(e, SOL_SOCKET, SO_BINDTODEVICE, b"nope0\0")
            .unwrap_err()
            .errno,
        ENODEV
    );
    p.setsockopt(e, SOL_SOCKET, SO_BINDTODEVICE, b"lo\0")
        .unwrap();
    assert_eq!(p.getsockopt(e, SOL_SOCKET, SO_BINDTODEVICE).unwrap(), b"lo");
    // Nobody listens on 7003: RST → ECONNREFUSED, SO_ERROR then reads 0.
    let g = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    let p2 = p.clone();
    let r = w
        .run_until(&p, async move { p2.connect(g, addr("[::1]:7003")).await })
        .unwrap();
    assert_eq!(r.unwrap_err().errno, ECONNREFUSED);
    assert_eq!(
        p.getsockopt(g, SOL_SOCKET, SO_ERROR).unwrap(),
        0i32.to_ne_bytes()
    );
}

#[test]
fn deadlock_is_reported() {
    let mut w = world();
    let ns = w.kernel.borrow().init_net();
    let p = w.process(ns, Cred::default());
    let l = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    p.bind(l, addr("[::1]:7100")).unwrap();
    p.listen(l, 1).unwrap();
    let p2 = p.clone();
    let e = w
        .run_until(&p, async move { p2.accept(l).await.map(|_| ()) })
        .unwrap_err();
    assert!(
        matches!(e, SimError::Deadlock { ref blocked } if blocked.len() == 1),
        "{e:?}"
    );
}

#[test]
fn v4_mapped_and_rst_on_close_with_unread_data() {
    use simkernel::net::core::sock::AF_INET;
    use uapi::errno::{EAFNOSUPPORT, ECONNRESET, ENOTCONN};
    let mut w = world();
    let ns = w.kernel.borrow().init_net();
    let p = w.process(ns, Cred::default());
    let l = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    p.bind(l, addr("[::]:8000")).unwrap();
    p.listen(l, 2).unwrap();
    let v4 = p.socket(AF_INET, SOCK_STREAM).unwrap();
    assert_eq!(p.bind(v4, addr("[::1]:1")).unwrap_err().errno, EAFNOSUPPORT);
    assert_eq!(
        p.shutdown(v4, uapi::socket::SHUT_WR).unwrap_err().errno,
        ENOTCONN
    );
    let p2 = p.clone();
    let (afd, peer, local) = w
        .run_until(&p, async move {
            p2.connect(v4, addr("127.0.0.1:8000")).await.unwrap();
            let (afd, peer) = p2.accept(l).await.unwrap();
            (afd, peer, p2.getsockname(afd).unwrap())
        })
        .unwrap();
    // The AF_INET6 listener sees the IPv4 peer as v4-mapped.
    assert_eq!(peer.ip(), addr("[::ffff:127.0.0.1]:1").ip());
    assert_eq!(local, addr("[::ffff:127.0.0.1]:8000"));
    assert_eq!(p.getpeername(v4).unwrap(), addr("127.0.0.1:8000"));
    // Data the server never reads; closing it then sends RST (tcp_close()).
    let p2 = p.clone();
    let r = w
        .run_until(&p, async move {
            p2.send(v4, b"unread", 0).await.unwrap();
            p2.sleep(simkernel::time::Duration::from_millis(1)).await;
            p2.close(afd).unwrap();
            p2.recv(v4, 100, 0).await
        })
        .unwrap();
    assert_eq!(r.unwrap_err().errno, ECONNRESET);
}

#[test]
fn sndbuf_rcvbuf_are_doubled_clamped_and_bound_the_connection() {
    use uapi::socket::{SO_RCVBUF, SO_SNDBUF};
    let mut w = world();
    let ns = w.kernel.borrow().init_net();
    let p = w.process(ns, Cred::default());
    let l = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    // Kernel: the value is doubled; below the minimum it is clamped up.
    p.setsockopt_int(l, SOL_SOCKET, SO_RCVBUF, 1).unwrap();
    assert_eq!(
        p.getsockopt(l, SOL_SOCKET, SO_RCVBUF).unwrap(),
        2304i32.to_ne_bytes()
    );
    p.setsockopt_int(l, SOL_SOCKET, SO_RCVBUF, 20_000).unwrap();
    assert_eq!(
        p.getsockopt(l, SOL_SOCKET, SO_RCVBUF).unwrap(),
        40_000i32.to_ne_bytes()
    );
    p.bind(l, addr("[::1]:8100")).unwrap();
    p.listen(l, 1).unwrap();
    let c = p.socket(AF_INET6, SOCK_STREAM).unwrap();
    p.setsockopt_int(c, SOL_SOCKET, SO_SNDBUF, 8192).unwrap();
    assert_eq!(
        p.getsockopt(c, SOL_SOCKET, SO_SNDBUF).unwrap(),
        16_384i32.to_ne_bytes()
    );
    let p2 = p.clone();
    let k = w.kernel.clone();
    let (sent, max_q, wnd) = w
        .run_until(&p, async move {
            p2.connect(c, addr("[::1]:8100")).await.unwrap();
            let (a, _) = p2.accept(l).await.unwrap();
            let sk = p2.sock_of(c).unwrap();
            let reader = p2.clone();
            let data = vec![5u8; 1 << 20];
            // Reader and writer interleave on the virtual clock.
            let mut got = 0;
            let mut sent = 0;
            let mut max_q = 0;
            while got < data.len() {
                if sent < data.len() {
                    let mut pf = [PollFd {
                        fd: c,
                        events: POLLOUT,
                        revents: 0,
                    }];
                    reader
                        .poll(&mut pf, Some(simkernel::time::Duration::ZERO))
                        .await
                        .unwrap();
                    if pf[0].revents & POLLOUT != 0 {
                        let n = (data.len() - sent).min(4096);
                        sent += p2.send(c, &data[sent..sent + n], 0).await.unwrap();
                    }
                }
                max_q = max_q.max(
                    k.borrow()
                        .sock(sk)
                        .unwrap()
                        .conn()
                        .unwrap()
                        .send_queue_len(),
                );
                let mut pf = [PollFd {
                    fd: a,
                    events: POLLIN,
                    revents: 0,
                }];
                reader
                    .poll(&mut pf, Some(simkernel::time::Duration::from_millis(1)))
                    .await
                    .unwrap();
                if pf[0].revents & POLLIN != 0 {
                    got += reader.recv(a, 65536, 0).await.unwrap().len();
                }
            }
            let wnd = k.borrow().sock(sk).unwrap().conn().unwrap().send_window();
            (sent, max_q, wnd)
        })
        .unwrap();
    assert_eq!(sent, 1 << 20);
    assert!(
        max_q <= 16_384 + 4096,
        "send queue {max_q} beyond SO_SNDBUF"
    );
    assert!(wnd <= 40_000, "advertised window {wnd} beyond SO_RCVBUF");
}
