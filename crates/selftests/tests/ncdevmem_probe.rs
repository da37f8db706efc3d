//! ncdevmem's probe mode (`ncdevmem -f NETIF`, selftests-spec §3.4) run as an emulated
#![allow(clippy::unwrap_used)]
//! process against an emulated NIC of each driver profile.

use std::io::Cursor;

use devmem::os::Os;
use ncdevmem::Stdio;
use selftests::config::Driver;
use selftests::ktap::SharedBuf;
use selftests::tools::shell::ProcShell;
use simkernel::{Cred, Kernel, KernelConfig, World};

fn probe(driver: Driver, channels: u32) -> (i32, String, World) {
    let mut k = Kernel::new(KernelConfig::default());
    let init = k.init_net();
    let dev = k.nic_add(init, "eth0", driver.profile(), channels).unwrap();
    k.link_set_up(dev, true).unwrap();
    let mut w = World::new(k);
    let p = w.process(
        init,
        Cred {
            cap_net_admin: true,
        },
    );
    let err = SharedBuf::default();
    let io = Stdio {
        stdin: Box::new(Cursor::new(Vec::new())),
        stdout: Box::new(SharedBuf::default()),
        stderr: Box::new(err.clone()),
        shell: Box::new(ProcShell::new(p.clone(), Box::new(err.clone()))),
    };
    let os = Os::Emulated(p.clone());
    let argv = vec!["-f".to_string(), "eth0".to_string()];
    let code = w
        .run_until(&p, async move { ncdevmem::main(&os, &argv, io).await })
        .unwrap();
    (code, err.text(), w)
}

#[test]
fn probe_passes_on_every_driver_and_restores_the_nic() {
    for d in [Driver::Bnxt, Driver::Gve, Driver::Mlx5e, Driver::Fbnic] {
        let (code, err, w) = probe(d, 4);
        assert_eq!(code, 0, "{d:?}: {err}");
        assert!(err.contains("using ifindex="), "{err}");
        assert!(err.contains("Running: ethtool -X eth0 equal 2"), "{err}");
        assert!(err.contains("TCP header split: on"), "{err}");
        assert!(err.contains("got dmabuf id="), "{err}");
        assert!(err.contains("setting channel count rx:2 tx:2"), "{err}");
        assert!(err.contains("Running: ethtool -X eth0 default"), "{err}");
        // Closing the netlink sockets unbound everything.
        let k = w.kernel.borrow();
        assert_eq!(k.live_bindings(), 0, "{d:?}");
        let dev = k.dev_get_by_name(k.init_net(), "eth0").unwrap();
        let r = k.device(dev).ethtool.rings;
        assert_eq!(
            r.tcp_data_split,
            uapi::ethtool::TcpDataSplit::Unknown,
            "{d:?}: {err}"
        );
    }
}

#[test]
fn probe_refuses_a_nic_with_one_queue() {
    let (code, err, _) = probe(Driver::Bnxt, 1);
    assert_eq!(code, 1);
    assert!(
        err.contains("ncdevmem: number of device queues is too low"),
        "{err}"
    );
}
