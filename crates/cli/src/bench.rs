//! `nkdevmem bench tx [--bytes N] [--driver D]`: devmem TX through netkit on the emulated
//! kernel against the real kernel's TCP over veth, both on one pinned core, in one run.
//!
//! The emulated side is the selftest topology (selftests-spec §2) with the series' model:
//! a container process binds a dma-buf for TX on nk_guest (which leases a NIC queue), sends
//! with `MSG_ZEROCOPY` + `SCM_DEVMEM_DMABUF` and reuses a dma-buf region only after its
//! completion came back, as ncdevmem's client does. The skbs cross netkit, the primary RX
//! redirect, the NIC's validation, TSO and IOMMU-translated DMA, the wire, the remote NIC and
//! its TCP stack into a plain socket that a remote process drains. Throughput is bytes the
//! remote application read divided by WALL-CLOCK time (the emulator's virtual clock is
//! reported alongside but is not the figure). The baseline is
//! [`linux::veth_bench::veth_tcp_throughput`] for the same byte count.

mod floor;

use std::cell::{Cell, RefCell};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use selftests::config::Driver;
use simkernel::drivers::wire::WireConfig;
use simkernel::net::core::datagram::UserIov;
use simkernel::net::core::sock::AF_INET6;
use simkernel::sim::PollFd;
use simkernel::time::Duration as VDuration;
use simkernel::topology::{Topology, TopologyConfig};
use simkernel::{Caller, Cred, Kernel, KernelConfig, KernelModel, NlSockId, Proc, World};
use uapi::socket::{
    MSG_ERRQUEUE, MSG_ZEROCOPY, POLLERR, SCM_DEVMEM_DMABUF, SO_BINDTODEVICE, SO_EE_ORIGIN_ZEROCOPY,
    SO_ZEROCOPY, SOCK_STREAM, SOL_SOCKET, SockExtendedErr,
};

/// `nkdevmem bench …`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub cmd: BenchCmd,
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCmd {
    /// devmem TX container → remote through netkit (emulated) vs. Linux TCP over veth.
    Tx(TxArgs),
}

/// `nkdevmem bench tx` options.
#[derive(Debug, Clone, clap::Args)]
pub struct TxArgs {
    /// Bytes to move in each of the two runs.
    #[arg(long, default_value_t = 1 << 30)]
    pub bytes: u64,
    /// NIC driver profile of the emulated host NIC: bnxt, gve, mlx5e, fbnic.
    #[arg(long, default_value = "bnxt")]
    pub driver: String,
    /// MTU of every device on the emulated path (a devmem NIC runs jumbo frames).
    #[arg(long, default_value_t = 9000)]
    pub mtu: u32,
    /// Bytes per sendmsg call, and per read of the remote (the baseline writes and reads
    /// 256 KiB).
    #[arg(long, default_value_t = 256 << 10)]
    pub chunk: usize,
    /// The remote compares every byte it reads with the dma-buf's pattern (slower).
    #[arg(long)]
    pub verify: bool,
    /// Size of the dma-buf the sender cycles through (regions are reused after completion).
    #[arg(long, default_value_t = 1 << 20)]
    pub ring: usize,
    /// The wire's bandwidth in Gbit/s each way (0 = unlimited: every frame of a burst
    /// lands at once).
    #[arg(long, default_value_t = 100)]
    pub wire_gbps: u64,
    /// Runs of each side, alternating; the last line reports the medians.
    #[arg(long, default_value_t = 3)]
    pub runs: u32,
    /// Skip the Linux veth baseline (the last line then says nan).
    #[arg(long)]
    pub no_baseline: bool,
}

const PORT: u16 = 5201;
/// The wire's one-way latency.
const LATENCY_US: u64 = 10;

/// What the emulated run measured.
#[derive(Debug, Clone, Copy)]
pub struct EmulatedTx {
    /// Bytes the remote application read.
    pub bytes: u64,
    /// Wall-clock time from connect() to the remote reading EOF.
    pub wall: std::time::Duration,
    /// CPU time the (single) emulator thread used over the same span.
    pub cpu: std::time::Duration,
    /// Virtual time over the same span.
    pub virt_us: u64,
    /// sendmsg calls, each completed exactly once.
    pub calls: u32,
    /// Frames the host NIC put on the wire (both directions count in `wire_frames`).
    pub wire_frames: u64,
    /// Of `wire_frames`, those the remote NIC sent: the remote TCP's ACKs.
    pub acks: u64,
    /// Skbs the remote NIC's GRO passed up for the frames it received: the remote TCP's
    /// receive work (and, one MSS past the last ACK, its ACKs) goes by these.
    pub remote_skbs: u64,
    /// Frames either NIC dropped for want of a free RX descriptor (`rx_missed_errors`);
    /// TCP retransmits them.
    pub rx_missed: u64,
    /// The MSS both ends used.
    pub mtu: u32,
}

impl EmulatedTx {
    /// Goodput in Gbit/s over wall-clock time.
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.wall.as_secs_f64() / 1e9
    }

    /// Goodput in Gbit/s over the thread's CPU time (robust to other load on the core).
    pub fn cpu_gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.cpu.as_secs_f64() / 1e9
    }
}

fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(131) ^ (i >> 12)) as u8
}

/// The `SCM_DEVMEM_DMABUF` control message naming binding `id`.
fn devmem_cmsg(id: u32) -> Vec<u8> {
    ncdevmem::cmsg::build(SOL_SOCKET, SCM_DEVMEM_DMABUF, &id.to_ne_bytes())
}

fn admin() -> Cred {
    Cred {
        cap_net_admin: true,
    }
}

/// The topology, the two processes and the TX binding (dma-buf filled with [`pattern`]).
struct Setup {
    w: World,
    t: Topology,
    cont: Proc,
    remote: Proc,
    binding: u32,
}

fn setup(driver: Driver, mtu: u32, ring: usize, wire_gbps: u64) -> Result<Setup, String> {
    let mut k = Kernel::new(KernelConfig {
        model: KernelModel::Series,
        tx_validation: true,
    });
    k.seed(1);
    let cfg = TopologyConfig {
        primary_rx_redirect: true,
        rxqueues: 2,
        nic: driver.profile(),
        wire: WireConfig {
            latency: VDuration::from_micros(LATENCY_US),
            bandwidth_bps: wire_gbps.saturating_mul(1_000_000_000),
        },
        ..TopologyConfig::default()
    };
    let t = k
        .topology_build(&cfg)
        .map_err(|e| format!("topology: {e}"))?;
    for d in [t.nic, t.remote_nic, t.nk_host, t.nk_guest] {
        k.dev_set_mtu(d, mtu)
            .map_err(|e| format!("mtu {mtu}: {e}"))?;
    }
    let w = World::new(k);
    let cont = w.process(t.cont_ns, admin());
    let remote = w.process(t.remote_ns, admin());
    // The container leases NIC queue 3 to nk_guest and binds its dma-buf for TX there.
    let binding = {
        let mut k = w.kernel.borrow_mut();
        let c = Caller {
            pid: cont.pid(),
            netns: t.cont_ns,
            cred: admin(),
            sock: NlSockId(1000),
        };
        let g = k.device(t.nk_guest).ifindex;
        let n = k.device(t.nic).ifindex;
        k.queue_create(&c, g, n, 3, Some(0))
            .map_err(|e| format!("queue-create: {e:?}"))?;
        let buf = k
            .dmabuf_create(ring, 0)
            .map_err(|e| format!("dma-buf: {e}"))?;
        let bytes: Vec<u8> = (0..ring).map(pattern).collect();
        buf.memory()
            .write_at(0, &bytes)
            .map_err(|e| format!("dma-buf fill: {e}"))?;
        let fd = k
            .process_install_dmabuf(cont.pid(), buf)
            .map_err(|e| format!("dma-buf fd: {e}"))?;
        k.bind_tx(&c, g, fd)
            .map_err(|e| format!("bind-tx: {e:?}"))?
    };
    Ok(Setup {
        w,
        t,
        cont,
        remote,
        binding,
    })
}

/// Reads completions (`MSG_ERRQUEUE`) once POLLERR is up, waiting at most `wait`; returns
/// the number of sendmsg calls they covered.
async fn drain_errqueue(c: &Proc, fd: i32, wait: Option<VDuration>) -> Result<u32, String> {
    let mut p = [PollFd {
        fd,
        events: 0,
        revents: 0,
    }];
    c.poll(&mut p, wait)
        .await
        .map_err(|e| format!("poll: {e}"))?;
    if p[0].revents & POLLERR == 0 {
        return Ok(0);
    }
    let mut n = 0;
    while let Ok(m) = c.recvmsg(fd, 0, 128, MSG_ERRQUEUE).await {
        let ee = ncdevmem::cmsg::cmsgs(&m.control)
            .next()
            .and_then(|c| SockExtendedErr::from_bytes(c.data).ok())
            .ok_or("short MSG_ERRQUEUE cmsg")?;
        if (ee.ee_errno, ee.ee_origin) != (0, SO_EE_ORIGIN_ZEROCOPY) {
            return Err(format!("unexpected completion {ee:?}"));
        }
        n += ee.ee_data.wrapping_sub(ee.ee_info) + 1;
    }
    Ok(n)
}

/// Runs the emulated devmem TX of `bytes` and measures it.
pub fn emulated_tx(a: &TxArgs, driver: Driver) -> Result<EmulatedTx, String> {
    let ring = a.ring;
    if ring == 0 || !ring.is_multiple_of(4096) {
        return Err("--ring must be a non-zero multiple of 4096".into());
    }
    if a.chunk == 0 || a.chunk > ring {
        return Err(format!("--chunk must be 1..={ring}"));
    }
    let total = a.bytes;
    let chunk = a.chunk;
    // The sender's regions: whole chunks of the ring, reused in order.
    let span = ring / chunk * chunk;
    let Setup {
        mut w,
        t,
        cont,
        remote,
        binding,
    } = setup(driver, a.mtu, ring, a.wire_gbps)?;

    // The remote: accept, drain into a reused buffer, note the time of EOF.
    let got = Rc::new(Cell::new(0u64));
    let bad = Rc::new(RefCell::new(None::<String>));
    let eof_at = Rc::new(Cell::new(
        None::<(Instant, std::time::Duration, simkernel::time::Instant)>,
    ));
    let l = remote
        .socket(AF_INET6, SOCK_STREAM)
        .map_err(|e| format!("socket: {e}"))?;
    remote
        .bind(l, SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), PORT))
        .map_err(|e| format!("bind: {e}"))?;
    remote.listen(l, 1).map_err(|e| format!("listen: {e}"))?;
    {
        let (r, got, bad, eof_at, verify) = (
            remote.clone(),
            got.clone(),
            bad.clone(),
            eof_at.clone(),
            a.verify,
        );
        w.spawn(&remote, async move {
            let fd = match r.accept(l).await {
                Ok((fd, _)) => fd,
                Err(e) => {
                    *bad.borrow_mut() = Some(format!("accept: {e}"));
                    return;
                }
            };
            // One user buffer of `--chunk` bytes for the whole run, read a chunk at a time:
            // the baseline's receiver reads its 256 KiB buffer the same way.
            let mut b = Vec::with_capacity(chunk);
            loop {
                match r.recv_into(fd, &mut b, chunk, 0).await {
                    Ok(0) => break,
                    Ok(_) => {
                        let off = got.get() as usize;
                        if verify
                            && let Some(i) =
                                (0..b.len()).find(|&i| b[i] != pattern((off + i) % span))
                        {
                            bad.borrow_mut()
                                .get_or_insert(format!("byte {} differs", off + i));
                        }
                        got.set(got.get() + b.len() as u64);
                    }
                    Err(e) => {
                        *bad.borrow_mut() = Some(format!("recv: {e}"));
                        return;
                    }
                }
            }
            let cpu = linux::veth_bench::thread_cpu_time().unwrap_or_default();
            eof_at.set(Some((Instant::now(), cpu, r.kernel().borrow().clock())));
            let _ = r.close(fd);
        });
    }

    let dst = SocketAddr::new(IpAddr::V6(t.remote_v6), PORT);
    let c = cont.clone();
    let start = Instant::now();
    let cpu_start = linux::veth_bench::thread_cpu_time().map_err(|e| format!("cpu clock: {e}"))?;
    let vstart = w.kernel.borrow().clock();
    let sender = async move {
        let fd = c
            .socket(AF_INET6, SOCK_STREAM)
            .map_err(|e| format!("socket: {e}"))?;
        c.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, b"nk_guest\0")
            .map_err(|e| format!("SO_BINDTODEVICE: {e}"))?;
        c.setsockopt_int(fd, SOL_SOCKET, SO_ZEROCOPY, 1)
            .map_err(|e| format!("SO_ZEROCOPY: {e}"))?;
        c.connect(fd, dst)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let ctl = devmem_cmsg(binding);
        let window = (span / chunk) as u32;
        let (mut sent, mut calls, mut done) = (0u64, 0u32, 0u32);
        while sent < total {
            // Reuse a region only once its completion came back.
            while calls - done >= window {
                done += drain_errqueue(&c, fd, None).await?;
            }
            let len = (chunk as u64).min(total - sent) as usize;
            let base = (u64::from(calls) * chunk as u64) % span as u64;
            let iov = [UserIov::Addr { base, len }];
            let n = c
                .sendmsg(fd, &iov, &ctl, MSG_ZEROCOPY)
                .await
                .map_err(|e| format!("sendmsg: {e}"))?;
            if n != len {
                return Err(format!("short devmem send: {n} of {len}"));
            }
            sent += n as u64;
            calls += 1;
            done += drain_errqueue(&c, fd, Some(VDuration::ZERO)).await?;
        }
        while done < calls {
            done += drain_errqueue(&c, fd, None).await?;
        }
        if done != calls {
            return Err(format!("{done} completions for {calls} calls"));
        }
        c.close(fd).map_err(|e| format!("close: {e}"))?;
        Ok::<u32, String>(calls)
    };
    let calls = w
        .run_until(&cont, sender)
        .map_err(|e| format!("sender: {e:?}"))??;
    w.drive_bounded(u64::MAX)
        .map_err(|e| format!("receiver: {e:?}"))?;
    if let Some(e) = bad.borrow_mut().take() {
        return Err(e);
    }
    let (end, cpu_end, vend) = eof_at.get().ok_or("the remote never saw EOF")?;
    if got.get() != total {
        return Err(format!("remote read {} of {total} bytes", got.get()));
    }
    let k = w.kernel.borrow();
    let nic = k.device(t.nic);
    if nic.iommu_faults() != 0 || nic.stats.tx_dropped != 0 {
        return Err(format!(
            "NIC: {} IOMMU faults, {} TX drops",
            nic.iommu_faults(),
            nic.stats.tx_dropped
        ));
    }
    let ws = k.wire_stats(t.wire).ok_or("wire vanished")?;
    let remote = k.device(t.remote_nic);
    let merged = match &remote.kind {
        simkernel::net::core::dev::DeviceKind::Nic(n) => n.napi.gro.merged,
        _ => 0,
    };
    let (acks, remote_skbs) = (remote.stats.tx_packets, remote.stats.rx_packets - merged);
    let rx_missed = [t.nic, t.remote_nic]
        .iter()
        .map(|&d| k.device(d).stats.rx_missed_errors)
        .sum();
    Ok(EmulatedTx {
        bytes: got.get(),
        wall: end - start,
        cpu: cpu_end.saturating_sub(cpu_start),
        virt_us: u64::try_from((vend - vstart).as_micros()).unwrap_or(u64::MAX),
        calls,
        wire_frames: ws.sent,
        acks,
        remote_skbs,
        rx_missed,
        mtu: a.mtu,
    })
}

/// Formats a figure with two decimals (`nan` stays `nan`).
fn fig(x: f64) -> String {
    format!("{x:.2}")
}

/// Prints the report; the last line is `devmem_tx_gbps=X linux_veth_gbps=Y ratio=Z`.
pub fn run(a: Args) -> ExitCode {
    match a.cmd {
        BenchCmd::Tx(t) => run_tx(t),
    }
}

fn run_tx(a: TxArgs) -> ExitCode {
    let driver = match Driver::parse(&a.driver) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("nkdevmem bench tx: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = linux::veth_bench::pin(0) {
        eprintln!("nkdevmem bench tx: cannot pin to CPU 0: {e}");
        return ExitCode::FAILURE;
    }
    println!("# nkdevmem bench tx: {} bytes, one core (CPU 0)", a.bytes);
    println!(
        "# emulated: devmem TX, container nk_guest -> netkit -> tc primary RX redirect -> \
         {} NIC (validation, TSO, DMA via IOMMU) -> wire -> remote NIC -> remote TCP socket",
        driver.name()
    );
    println!(
        "# emulated: MTU {} on every device, GSO 64 KiB, GRO, wire {}, latency {LATENCY_US} us, \
         sendmsg {} bytes MSG_ZEROCOPY cycling through {} KiB of the dma-buf, completions after ACK",
        a.mtu,
        match a.wire_gbps {
            0 => "unlimited".to_string(),
            g => format!("{g} Gbit/s"),
        },
        a.chunk,
        a.ring >> 10
    );
    let runs = a.runs.max(1);
    let (mut emus, mut veths) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let emu = match emulated_tx(&a, driver) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("nkdevmem bench tx: emulated run failed: {e}");
                println!("devmem_tx_gbps=nan linux_veth_gbps=nan ratio=nan");
                return ExitCode::FAILURE;
            }
        };
        println!(
            "# run {run}/{runs} emulated: {} bytes read by the remote in {:.3} s WALL-CLOCK ({:.3} s CPU = {} Gbps; {} sendmsg calls, {} frames at MTU {} on the wire of which {} ACKs, {} skbs out of the remote's GRO, {} dropped by a full RX ring, {:.3} s virtual): {} Gbps wall-clock",
            emu.bytes,
            emu.wall.as_secs_f64(),
            emu.cpu.as_secs_f64(),
            fig(emu.cpu_gbps()),
            emu.calls,
            emu.wire_frames,
            emu.mtu,
            emu.acks,
            emu.remote_skbs,
            emu.rx_missed,
            emu.virt_us as f64 / 1e6,
            fig(emu.gbps())
        );
        emus.push(emu.gbps());
        if a.no_baseline {
            continue;
        }
        // Alternating the two keeps a slow phase of a shared machine from favouring one.
        match linux::veth_bench::veth_tcp_throughput(a.bytes) {
            Ok(v) => {
                println!(
                    "# run {run}/{runs} linux veth: the kernel's TCP between two namespaces over veth, sender and receiver pinned to CPU 0: {} bytes in {:.3} s: {} Gbps",
                    v.bytes,
                    v.elapsed.as_secs_f64(),
                    fig(v.gbps())
                );
                veths.push(v.gbps());
            }
            Err(e) => {
                println!(
                    "# linux veth: baseline could not run ({e}); it needs root and iproute2 to create network namespaces"
                );
                println!(
                    "devmem_tx_gbps={} linux_veth_gbps=nan ratio=nan",
                    fig(median(&mut emus))
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let devmem = median(&mut emus);
    // The payload passes alone: what the emulated path would reach with no per-frame work.
    match floor::per_byte_floor(
        a.bytes,
        a.mtu.saturating_sub(60) as usize,
        a.ring,
        a.chunk,
        |_| {},
    ) {
        Ok(t) => {
            let g = a.bytes as f64 * 8.0 / t.as_secs_f64() / 1e9;
            println!(
                "# per-byte floor: the same bytes through TX DMA gather, TX checksum, RX checksum check and recvmsg copy alone, no stack: {} Gbps (the emulated median is {:.0}% of it)",
                fig(g),
                devmem / g * 100.0
            );
        }
        Err(e) => println!("# per-byte floor: could not run ({e})"),
    }
    if a.no_baseline {
        println!("# linux veth: skipped (--no-baseline)");
        println!(
            "devmem_tx_gbps={} linux_veth_gbps=nan ratio=nan",
            fig(devmem)
        );
        return ExitCode::FAILURE;
    }
    let veth = median(&mut veths);
    if runs > 1 {
        println!("# medians of {runs} alternating runs");
    }
    println!(
        "devmem_tx_gbps={} linux_veth_gbps={} ratio={}",
        fig(devmem),
        fig(veth),
        fig(devmem / veth)
    );
    ExitCode::SUCCESS
}

/// The median (the upper one of an even count); `nan` when empty.
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(bytes: u64, chunk: usize) -> TxArgs {
        TxArgs {
            bytes,
            driver: "bnxt".into(),
            mtu: 9000,
            chunk,
            verify: true,
            ring: 4 << 20,
            wire_gbps: 100,
            runs: 1,
            no_baseline: true,
        }
    }

    /// Every byte arrives in order, every call completes once, and jumbo frames are used.
    #[test]
    fn emulated_tx_moves_every_byte() {
        // Not a multiple of the chunk, and more than the ring: regions are reused.
        let total = (4 << 20) + 3 * 65_536 + 17;
        let r = emulated_tx(&args(total, 1 << 20), Driver::Bnxt).expect("run");
        assert_eq!(r.bytes, total);
        assert_eq!(r.calls as u64, total.div_ceil(1 << 20));
        // 8940-byte segments (9000 - 40 - 20), plus ACKs and the handshake.
        let data_frames = total.div_ceil(8940);
        // The host NIC's frames carry the data; the remote's are ACKs (and SYN-ACK, FIN).
        assert!(r.wire_frames - r.acks >= data_frames, "{r:?}");
        // GRO merges at most seven 8940-byte segments (64 KiB) into one skb, and merges.
        assert!(
            r.remote_skbs * 7 >= data_frames && r.remote_skbs < data_frames,
            "{r:?}"
        );
        assert!(r.gbps() > 0.0);
    }

    #[test]
    fn emulated_tx_every_driver() {
        for d in [Driver::Gve, Driver::Mlx5e, Driver::Fbnic] {
            let r = emulated_tx(&args(3 << 20, 256 << 10), d).expect("run");
            assert_eq!(r.bytes, 3 << 20);
        }
    }

    #[test]
    fn rejects_bad_chunk_and_mtu() {
        assert!(emulated_tx(&args(1, 0), Driver::Bnxt).is_err());
        let mut a = args(1 << 20, 1 << 20);
        a.mtu = 20;
        assert!(emulated_tx(&a, Driver::Bnxt).is_err());
    }

    #[test]
    fn median_of_runs() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0]), 4.0);
        assert!(median(&mut []).is_nan());
    }
}
