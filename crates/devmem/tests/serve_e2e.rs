//! End to end: the `nkdevmem serve` loop in a thread on a temp socket path, driven by
//! the typed netdev client over `UnixTransport`: dev-get, queue-create's netkit rule,
//! bind-tx on the NIC with a memfd passed by `SCM_RIGHTS`, and unbind on close.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use devmem::dmabuf::Dmabuf;
use devmem::emulator::UnixServer;
use devmem::netdev::{Lease, NetdevClient, QueueType};
use devmem::transport::UnixTransport;
use simkernel::{Cred, Kernel, KernelConfig};
use std::os::fd::AsFd;
use uapi::errno::{EBADF, ENODEV, EOPNOTSUPP};
use uapi::netlink::NETLINK_GENERIC;

#[test]
fn serve_bind_tx_and_unbind_on_close() {
    let dir = std::env::temp_dir().join(format!("nkdevmem-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("netlink.sock");
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = mpsc::channel();
    let (p, s) = (path.clone(), stop.clone());
    // The kernel is single-threaded (Rc inside): it lives in the server thread, which
    // reports the topology's ifindexes and, at the end, the live binding count.
    let server = std::thread::spawn(move || {
        let mut k = Kernel::new(KernelConfig::default());
        let t = simkernel::topology::default_topology(&mut k).unwrap();
        let cred = Cred {
            cap_net_admin: true,
        };
        let mut srv = UnixServer::bind(&p, t.host_ns, cred, NETLINK_GENERIC).unwrap();
        ready_tx
            .send((k.device(t.nic).ifindex, k.device(t.nk_host).ifindex))
            .unwrap();
        while !s.load(Ordering::Relaxed) {
            if !srv.poll_once(&mut k).unwrap() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
        k.live_bindings()
    });
    let (nic, nk0) = ready_rx.recv().unwrap();

    let mut a = NetdevClient::new(UnixTransport::connect(&path, NETLINK_GENERIC).unwrap());
    let d = a.dev_get(nic).unwrap();
    assert_eq!(d.ifindex, nic);
    assert_ne!(d.xdp_features, 0, "the NIC advertises XDP");
    assert_eq!(a.dev_get(999).unwrap_err().errno(), Some(ENODEV));
    let devs: Vec<u32> = a.dev_dump().unwrap().iter().map(|d| d.ifindex).collect();
    assert_eq!(devs[0], 1, "lo first");
    assert!(devs.contains(&nic) && devs.contains(&nk0), "{devs:?}");

    // The host-side primary may not lease (pair mode): netkit_queue_create().
    let e = a
        .queue_create(
            nk0,
            QueueType::Rx,
            Lease {
                ifindex: nic,
                queue: (1, QueueType::Rx),
                netns_id: None,
            },
        )
        .unwrap_err();
    assert_eq!(e.errno(), Some(EOPNOTSUPP));
    assert_eq!(
        e.extack_msg(),
        Some("netkit can only lease against the peer device")
    );

    // bind-tx with a memfd passed alongside the request.
    let buf = Dmabuf::memfd(1 << 20).unwrap();
    let id = a.bind_tx(nic, buf.fd()).unwrap();
    assert!(id >= 1);
    let id2 = a.bind_tx(nic, buf.fd()).unwrap();
    assert_eq!(id2, id + 1);

    // A passed fd that is no memfd (a pipe): the request names an fd the emulated
    // process does not have, so the bind fails with EBADF, as dma_buf_get() would.
    let (pipe_r, _pipe_w) = std::io::pipe().unwrap();
    let e = a.bind_tx(nic, pipe_r.as_fd()).unwrap_err();
    assert_eq!(e.errno(), Some(EBADF));

    // A second connection sees the same kernel; closing the first unbinds both.
    let mut b = NetdevClient::new(UnixTransport::connect(&path, NETLINK_GENERIC).unwrap());
    assert_eq!(b.dev_get(nic).unwrap().ifindex, nic);
    drop(a);
    // Give the server a moment to notice the hang-up, then stop it.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let id3 = b.bind_tx(nic, buf.fd()).unwrap();
    drop(b);
    std::thread::sleep(std::time::Duration::from_millis(50));
    stop.store(true, Ordering::Relaxed);
    let live = server.join().unwrap();
    assert_eq!(id3, id2 + 1, "ids are cyclic, not reused");
    assert_eq!(
        live, 0,
        "every binding was unbound when its connection closed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
