//! One socket test body, run against the emulated kernel and the real one (turmoil's
//! io_uring-suite idea): plain TCP over IPv6 loopback with a listener, SO_REUSEADDR,
//! connect, send/recv, poll, shutdown and close.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use devmem::os::{Os, PollFd, block_on};
use simkernel::{Cred, Kernel, KernelConfig, World};
use uapi::socket::{POLLIN, POLLOUT, SHUT_WR, SO_ERROR, SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET};

const AF_INET6: i32 = 10;

/// The conformance body: returns what it observed so both worlds can be compared.
async fn echo_body(os: Os) -> Vec<String> {
    let mut seen = Vec::new();
    let l = os.socket(AF_INET6, SOCK_STREAM).await.unwrap();
    os.setsockopt_int(l, SOL_SOCKET, SO_REUSEADDR, 1)
        .await
        .unwrap();
    let v = os.getsockopt(l, SOL_SOCKET, SO_REUSEADDR, 4).await.unwrap();
    seen.push(format!(
        "reuseaddr={}",
        i32::from_ne_bytes(v.try_into().unwrap()) != 0
    ));
    os.bind(l, "[::1]:0".parse().unwrap()).await.unwrap();
    os.listen(l, 4).await.unwrap();
    let la: SocketAddr = os.getsockname(l).await.unwrap();
    assert_ne!(la.port(), 0);
    // Nothing pending on the listener yet.
    let mut p = [PollFd {
        fd: l,
        events: POLLIN,
        revents: 0,
    }];
    seen.push(format!(
        "listener idle={}",
        os.poll(&mut p, Some(Duration::ZERO)).await.unwrap()
    ));

    let c = os.socket(AF_INET6, SOCK_STREAM).await.unwrap();
    os.connect(c, la).await.unwrap();
    let mut p = [PollFd {
        fd: l,
        events: POLLIN,
        revents: 0,
    }];
    os.poll(&mut p, Some(Duration::from_secs(1))).await.unwrap();
    seen.push(format!("listener readable={}", p[0].revents & POLLIN != 0));
    let (a, peer) = os.accept(l).await.unwrap();
    seen.push(format!(
        "peer matches={}",
        peer == os.getsockname(c).await.unwrap()
    ));
    seen.push(format!(
        "getpeername={}",
        os.getpeername(c).await.unwrap() == la
    ));

    let mut p = [PollFd {
        fd: c,
        events: POLLOUT,
        revents: 0,
    }];
    os.poll(&mut p, None).await.unwrap();
    seen.push(format!("client writable={}", p[0].revents & POLLOUT != 0));
    let msg: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    assert_eq!(os.send(c, &msg, 0).await.unwrap(), msg.len());
    let mut got = Vec::new();
    while got.len() < msg.len() {
        let mut p = [PollFd {
            fd: a,
            events: POLLIN,
            revents: 0,
        }];
        os.poll(&mut p, Some(Duration::from_secs(1))).await.unwrap();
        assert_eq!(p[0].revents & POLLIN, POLLIN);
        got.extend(os.recv(a, 65536, 0).await.unwrap());
    }
    seen.push(format!("echo exact={}", got == msg));
    os.send(a, &got, 0).await.unwrap();
    os.shutdown(a, SHUT_WR).await.unwrap();
    let mut back = Vec::new();
    loop {
        let b = os.recv(c, 65536, 0).await.unwrap();
        if b.is_empty() {
            break;
        }
        back.extend(b);
    }
    seen.push(format!("back exact={} then eof", back == msg));
    let e = os.getsockopt(c, SOL_SOCKET, SO_ERROR, 4).await.unwrap();
    seen.push(format!(
        "so_error={}",
        i32::from_ne_bytes(e.try_into().unwrap())
    ));
    // Binding the listener's port again without SO_REUSEADDR: EADDRINUSE.
    let d = os.socket(AF_INET6, SOCK_STREAM).await.unwrap();
    let err = os.bind(d, la).await.unwrap_err();
    seen.push(format!("rebind errno={:?}", err.raw_os_error()));
    for fd in [a, c, l, d] {
        os.close(fd).await.unwrap();
    }
    seen
}

fn expected() -> Vec<String> {
    [
        "reuseaddr=true",
        "listener idle=0",
        "listener readable=true",
        "peer matches=true",
        "getpeername=true",
        "client writable=true",
        "echo exact=true",
        "back exact=true then eof",
        "so_error=0",
        "rebind errno=Some(98)",
    ]
    .map(String::from)
    .to_vec()
}

#[test]
fn conformance_emulated() {
    let mut k = Kernel::new(KernelConfig::default());
    k.seed(9);
    let mut w = World::new(k);
    let ns = w.kernel.borrow().init_net();
    let p = w.process(ns, Cred::default());
    let seen = w.run_until(&p, echo_body(Os::Emulated(p.clone()))).unwrap();
    assert_eq!(seen, expected());
}

#[test]
fn conformance_linux() {
    let seen = block_on(echo_body(Os::Linux));
    assert_eq!(seen, expected());
}
