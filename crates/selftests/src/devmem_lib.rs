//! `hw/devmem_lib.py`: the helpers and test bodies devmem.py and nk_devmem.py share
//! (selftests-spec §4). Every helper picks plain or netkit mode by whether the env is
//! a `NetDrvContEnv` ([`DevmemEnv::cont`], python's `hasattr(cfg, 'netns')`). Command
//! lines are built byte for byte as the python builds them, then run by the emulated
//! shell.

use std::rc::Rc;

use devmem::ethtool::{RingsSet, TcpDataSplit};
use devmem::netdev::{Lease, QueueType};

use crate::env::{DevmemEnv, Host};
use crate::ksft::{Ksft, KsftError, KsftResult};
use crate::tools::{CmdOutput, ethtool};

/// `setup_test(cfg, bin_local)`: remember the local binary, "deploy" it to the remote.
pub fn setup_test(cfg: &dyn DevmemEnv, bin_local: &str) {
    let ep = cfg.ep();
    *ep.bin_local.borrow_mut() = bin_local.to_string();
    *ep.bin_remote.borrow_mut() = bin_local.to_string();
}

/// `require_devmem(cfg)`: the probe `ncdevmem -f NETIF` once per env, in the host.
pub fn require_devmem(cfg: &dyn DevmemEnv) -> KsftResult {
    let ep = cfg.ep();
    if !ep.devmem_probed.get() {
        let line = format!("{} -f {}", ep.bin_local.borrow(), ep.ifname);
        let out = ep.cmd(&line, Host::Local, false)?;
        ep.devmem_supported.set(out.status == 0);
        ep.devmem_probed.set(true);
    }
    if !ep.devmem_supported.get() {
        return Err(KsftError::Skip("Test requires devmem support".into()));
    }
    Ok(())
}

fn ynl(e: devmem::Error) -> KsftError {
    KsftError::fail(format!("YNL: {}", ncdevmem::report::ynl_msg(&e)))
}

/// Runs `ethtool ARGS` the way a deferred `ethtool(...)` call does (host netns).
fn ethtool_now(
    k: &Rc<std::cell::RefCell<simkernel::Kernel>>,
    ns: simkernel::NetNsId,
    args: &str,
) -> Result<(), String> {
    let argv: Vec<String> = args.split_whitespace().map(str::to_string).collect();
    let out: CmdOutput = ethtool::ethtool(&mut k.borrow_mut(), ns, &argv);
    if out.status == 0 {
        Ok(())
    } else {
        Err(format!("ethtool {args}: {}", out.stderr.trim_end()))
    }
}

/// `configure_nic(cfg)`: netkit env only. HDS + hds-thresh 0 + rx ≤ 64, RSS away from
/// the last queue, and the lease of that queue from inside the container netns.
pub fn configure_nic(ksft: &Ksft, cfg: &dyn DevmemEnv) -> KsftResult {
    let Some(c) = cfg.cont() else {
        return Ok(());
    };
    let ep = cfg.ep();
    ep.require_ipver("6")?;
    let mut et = ep.ethtool_ynl()?;
    let chans = et.channels_get(ep.ifindex).map_err(ynl)?;
    if chans.combined_count < 2 {
        return Err(KsftError::Skip(
            "Test requires NETIF with at least 2 combined channels".into(),
        ));
    }
    let rings = et.rings_get(ep.ifindex).map_err(ynl)?;
    let (rx, hds_thresh, split) = (rings.rx, rings.hds_thresh, rings.tcp_data_split);
    et.rings_set(
        ep.ifindex,
        &RingsSet {
            tcp_data_split: Some(TcpDataSplit::Enabled),
            // Only devices that report hds-thresh take one (ncdevmem's own rule; gve
            // and mlx5e have no hds-thresh knob).
            hds_thresh: hds_thresh.map(|_| 0),
            rx: Some(rx.min(64)),
            ..RingsSet::default()
        },
    )
    .map_err(ynl)?;
    let harness = ep.harness.clone();
    let ifindex = ep.ifindex;
    ksft.defer(move || {
        let t = ncdevmem::os_platform::emulated_netlink(&harness, uapi::netlink::NETLINK_GENERIC)
            .map_err(|e| e.to_string())?;
        devmem::ethtool::EthtoolClient::new(t)
            .rings_set(
                ifindex,
                &RingsSet {
                    rx: Some(rx),
                    hds_thresh,
                    // The kernel leaves the attribute out for "unknown".
                    tcp_data_split: Some(split.unwrap_or(TcpDataSplit::Unknown)),
                    ..RingsSet::default()
                },
            )
            .map_err(|e| ncdevmem::report::ynl_msg(&e))
    })?;
    let src_queue = chans.combined_count - 1;
    ep.src_queue.set(Some(src_queue));
    ep.cmd(
        &format!("ethtool -X {} equal {src_queue}", ep.ifname),
        Host::Local,
        true,
    )?;
    let (k, ns, ifname) = (ep.kernel.clone(), ep.host_ns, ep.ifname.clone());
    ksft.defer(move || ethtool_now(&k, ns, &format!("-X {ifname} default")))?;
    if c.nk_queue.get().is_none() {
        let mut nd = ep.netdev_ynl_in(c.netns_id)?;
        let id = nd
            .queue_create(
                c.nk_guest_ifindex,
                QueueType::Rx,
                Lease {
                    ifindex: ep.ifindex,
                    queue: (src_queue, QueueType::Rx),
                    netns_id: Some(0),
                },
            )
            .map_err(ynl)?;
        c.nk_queue.set(Some(id));
    }
    Ok(())
}

/// `set_flow_rule(cfg, port)`: the ntuple rule steering `port` to `src_queue`.
pub fn set_flow_rule(cfg: &dyn DevmemEnv, port: u16) -> KsftResult<u32> {
    let ep = cfg.ep();
    let q = ep.src_queue.get().ok_or("src_queue not configured")?;
    let out = ep.cmd(
        &format!(
            "ethtool -N {} flow-type tcp6 dst-port {port} action {q}",
            ep.ifname
        ),
        Host::Local,
        true,
    )?;
    let id = out
        .stdout
        .split("ID ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| KsftError::fail(format!("no rule id in {:?}", out.stdout)))?;
    Ok(id)
}

/// `ncdevmem_rx(cfg, port, verify, fail_on_linear, flow_steer)`.
pub fn ncdevmem_rx(
    ksft: &Ksft,
    cfg: &dyn DevmemEnv,
    port: u16,
    verify: bool,
    fail_on_linear: bool,
    flow_steer: bool,
) -> KsftResult<String> {
    let ep = cfg.ep();
    let bin = ep.bin_local.borrow().clone();
    let mut s = match cfg.cont() {
        Some(c) => {
            let id = set_flow_rule(cfg, port)?;
            let (k, ns, ifname) = (ep.kernel.clone(), ep.host_ns, ep.ifname.clone());
            ksft.defer(move || ethtool_now(&k, ns, &format!("-N {ifname} delete {id}")))?;
            let q = c.nk_queue.get().ok_or("nk_queue not configured")?;
            format!(
                "{bin} -l -f {} -s {} -p {port} -t {q} -q 1 -n",
                c.nk_guest_ifname, c.nk_guest_ipv6
            )
        }
        None => {
            let mut s = format!("{bin} -l -f {} -s {} -p {port}", ep.ifname, ep.addr);
            if flow_steer {
                s += &format!(" -c {}", ep.remote_addr);
            }
            s
        }
    };
    if verify {
        s += " -v 7";
    }
    if fail_on_linear {
        s += " -L";
    }
    Ok(s)
}

/// `ncdevmem_tx(cfg, port, chunk_size)`.
pub fn ncdevmem_tx(cfg: &dyn DevmemEnv, port: u16, chunk_size: usize) -> String {
    let ep = cfg.ep();
    let bin = ep.bin_local.borrow().clone();
    let mut s = match cfg.cont() {
        Some(c) => format!(
            "{bin} -f {} -s {} -p {port} -t 0 -q 1 -n",
            c.nk_guest_ifname, ep.remote_addr
        ),
        None => format!("{bin} -f {} -s {} -p {port}", ep.ifname, ep.remote_addr),
    };
    if chunk_size > 0 {
        s += &format!(" -z {chunk_size}");
    }
    s
}

/// `socat_send(cfg, port, buf_size)`: the remote sender, source bound to the remote
/// address and the same port.
pub fn socat_send(cfg: &dyn DevmemEnv, port: u16, buf_size: usize) -> String {
    let ep = cfg.ep();
    let dst = match cfg.cont() {
        Some(c) => format!("[{}]", c.nk_guest_ipv6),
        None => ep.baddr(),
    };
    let mut s = String::from("socat");
    if buf_size > 0 {
        s += &format!(" -b {buf_size}");
    }
    s += &format!(
        " -u - TCP{}:{dst}:{port},bind={}:{port}",
        ep.addr_ipver,
        ep.remote_baddr()
    );
    if buf_size > 0 {
        s += ",nodelay";
    }
    s
}

/// `socat_listen(cfg, port)`: the remote listener.
pub fn socat_listen(cfg: &dyn DevmemEnv, port: u16) -> String {
    format!("socat -U - TCP{}-LISTEN:{port}", cfg.ep().addr_ipver)
}

/// Where the ncdevmem side runs: the host, or `ip netns exec <netns>`.
fn local(cfg: &dyn DevmemEnv, line: &str) -> String {
    match cfg.cont() {
        Some(c) => c.in_netns(line),
        None => line.to_string(),
    }
}

fn listen_ns(cfg: &dyn DevmemEnv) -> simkernel::NetNsId {
    cfg.cont().map_or(cfg.ep().host_ns, |c| c.netns_id)
}

/// The RX data pipe: the 7-byte pattern, 1 KiB of it.
pub fn rx_pipe(socat: &str) -> String {
    format!("yes $(echo -e \x01\x02\x03\x04\x05\x06) |             head -c 1K | {socat}")
}

/// `run_rx(cfg)`.
pub fn run_rx(ksft: &Ksft, cfg: &dyn DevmemEnv) -> KsftResult {
    require_devmem(cfg)?;
    configure_nic(ksft, cfg)?;
    let ep = cfg.ep();
    let port = ep.rand_port();
    let socat = socat_send(cfg, port, 0);
    let listen_cmd = ncdevmem_rx(ksft, cfg, port, true, false, cfg.cont().is_none())?;
    let job = ep.bkg(&local(cfg, &listen_cmd), Host::Local);
    ep.wait_port_listen(port, listen_ns(cfg))?;
    ep.cmd(&rx_pipe(&socat), Host::Remote, true)?;
    let out = ep.wait(&job, false)?;
    report_stderr(ksft, &out);
    ksft.eq(out.status, 0, "");
    Ok(())
}

fn report_stderr(ksft: &Ksft, out: &CmdOutput) {
    if out.status != 0 {
        for l in out
            .stderr
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .iter()
            .rev()
        {
            ksft.pr(l);
        }
    }
}

/// `run_tx(cfg)` / `run_tx_chunks(cfg)` (`chunk_size` 3).
pub fn run_tx_sized(ksft: &Ksft, cfg: &dyn DevmemEnv, chunk_size: usize) -> KsftResult {
    require_devmem(cfg)?;
    configure_nic(ksft, cfg)?;
    let ep = cfg.ep();
    let port = ep.rand_port();
    let listen_cmd = socat_listen(cfg, port);
    let socat = ep.bkg(&listen_cmd, Host::Remote);
    ep.wait_port_listen(port, ep.remote_ns)?;
    let tx = ncdevmem_tx(cfg, port, chunk_size);
    let line = local(cfg, &format!("bash -c 'echo -e \"hello\\nworld\"| {tx}'"));
    ep.cmd(&line, Host::Local, true)?;
    let out = ep.wait(&socat, true)?;
    ksft.eq(out.stdout.trim(), "hello\nworld", "");
    Ok(())
}

/// `run_tx(cfg)`.
pub fn run_tx(ksft: &Ksft, cfg: &dyn DevmemEnv) -> KsftResult {
    run_tx_sized(ksft, cfg, 0)
}

/// `run_tx_chunks(cfg)`.
pub fn run_tx_chunks(ksft: &Ksft, cfg: &dyn DevmemEnv) -> KsftResult {
    run_tx_sized(ksft, cfg, 3)
}

/// The HDS sweep's payload sizes.
pub const HDS_SIZES: [usize; 12] = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];

/// `run_rx_hds(cfg)`: each payload size in one segment must land in the dma-buf.
pub fn run_rx_hds(ksft: &Ksft, cfg: &dyn DevmemEnv) -> KsftResult {
    require_devmem(cfg)?;
    configure_nic(ksft, cfg)?;
    let ep = cfg.ep();
    for size in HDS_SIZES {
        let port = ep.rand_port();
        let socat = socat_send(cfg, port, size);
        let listen_cmd = ncdevmem_rx(ksft, cfg, port, false, true, false)?;
        let job = ep.bkg(&local(cfg, &listen_cmd), Host::Local);
        ep.wait_port_listen(port, listen_ns(cfg))?;
        ep.cmd(
            &format!("dd if=/dev/zero bs={size} count=1 | {socat}"),
            Host::Remote,
            true,
        )?;
        let out = ep.wait(&job, false)?;
        report_stderr(ksft, &out);
        ksft.eq(
            out.status,
            0,
            &format!("HDS failed for payload size {size}"),
        );
    }
    Ok(())
}
