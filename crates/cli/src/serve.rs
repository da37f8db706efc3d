//! `nkdevmem serve --netlink-unix PATH`: the emulator on the default topology
//! ([`simkernel::topology::default_topology`]), its NETLINK_GENERIC served on a unix
//! `SOCK_SEQPACKET` socket to clients such as `devmem::transport::UnixTransport`.
//!
//! Each connection is one netlink socket (EXT_ACK and CAP_ACK on) of one process in
//! the host namespace with CAP_NET_ADMIN; each seqpacket message is one AF_NETLINK
//! datagram. A bind-rx / bind-tx request names its dma-buf by fd number: pass a memfd
//! with `SCM_RIGHTS` on the same message and the server installs it under that number
//! (see `devmem::emulator`). Closing the connection unbinds what it bound.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use devmem::emulator::UnixServer;
use simkernel::{Cred, Kernel, KernelConfig};

/// `serve` arguments.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to listen (a new unix socket path).
    #[arg(long = "netlink-unix", value_name = "PATH")]
    pub netlink_unix: PathBuf,
}

/// Builds the kernel and serves until killed.
pub fn run(a: Args) -> ExitCode {
    let mut k = Kernel::new(KernelConfig::default());
    let topo = match simkernel::topology::default_topology(&mut k) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("nkdevmem serve: topology: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cred = Cred {
        cap_net_admin: true,
    };
    let mut server = match UnixServer::bind(
        &a.netlink_unix,
        topo.host_ns,
        cred,
        uapi::netlink::NETLINK_GENERIC,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("nkdevmem serve: {}: {e}", a.netlink_unix.display());
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "nkdevmem serve: NETLINK_GENERIC on {} (eth0 ifindex {}, nk0 ifindex {})",
        a.netlink_unix.display(),
        k.device(topo.nic).ifindex,
        k.device(topo.nk_host).ifindex
    );
    let stop = Arc::new(AtomicBool::new(false));
    match server.run(&mut k, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nkdevmem serve: {e}");
            ExitCode::FAILURE
        }
    }
}
