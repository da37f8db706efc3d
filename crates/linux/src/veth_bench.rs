//! The Linux kernel's own TCP over a veth pair between two network namespaces: the baseline
//! that `nkdevmem bench tx` measures in the same run as the emulator's devmem TX.
//!
//! Both namespaces are made with iproute2 (`ip netns add`, `ip link add … type veth`), the
//! addresses come from the benchmarking range 198.18.0.0/15 (RFC 2544), and the namespaces
//! are deleted when the run ends, even on error. Sender and receiver threads are pinned to
//! one CPU, so the kernel's figure is a one-core figure like the emulator's.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::netns::run_in_netns;

const ADDR_A: &str = "198.18.0.1";
const ADDR_B: &str = "198.18.0.2";
const PORT: u16 = 5201;
const CHUNK: usize = 256 * 1024;

/// Result of one baseline run.
#[derive(Debug, Clone, Copy)]
pub struct VethThroughput {
    /// Bytes moved from the sender's socket to the receiver's.
    pub bytes: u64,
    /// Wall time from connect to the receiver seeing EOF.
    pub elapsed: Duration,
}

impl VethThroughput {
    /// Goodput in Gbit/s.
    pub fn gbps(&self) -> f64 {
        self.bytes as f64 * 8.0 / self.elapsed.as_secs_f64() / 1e9
    }
}

/// Deletes the namespaces it names when dropped.
struct Namespaces([String; 2]);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn ip(args: &[&str]) -> io::Result<()> {
    let out = Command::new("ip").args(args).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Pins the calling thread to `cpu` (`sched_setaffinity(0, …)`), so a benchmark's other
/// side (the emulator) can run on the same single core as this baseline.
pub fn pin(cpu: usize) -> io::Result<()> {
    crate::sys::pin_current_thread(cpu)
}

/// CPU time the calling thread has used so far (`CLOCK_THREAD_CPUTIME_ID`): lets a
/// single-threaded benchmark report a figure that other load on the core does not skew.
pub fn thread_cpu_time() -> io::Result<Duration> {
    crate::sys::thread_cpu_time()
}

/// Moves `bytes` over TCP from namespace A to namespace B through a veth pair and reports the
/// goodput. Needs root (CAP_SYS_ADMIN for namespaces, CAP_NET_ADMIN for links) and iproute2.
pub fn veth_tcp_throughput(bytes: u64) -> io::Result<VethThroughput> {
    let tag = std::process::id();
    let names = Namespaces([format!("nkbench-a-{tag}"), format!("nkbench-b-{tag}")]);
    let [a, b] = &names.0;
    ip(&["netns", "add", a])?;
    ip(&["netns", "add", b])?;
    ip(&[
        "link", "add", "nkb0", "netns", a, "type", "veth", "peer", "name", "nkb1", "netns", b,
    ])?;
    for (ns, dev, addr) in [(a, "nkb0", ADDR_A), (b, "nkb1", ADDR_B)] {
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    let listen: SocketAddr = format!("{ADDR_B}:{PORT}")
        .parse()
        .map_err(io::Error::other)?;

    let (ready_tx, ready_rx) = mpsc::channel();
    let path_b = format!("/run/netns/{b}");
    let receiver = std::thread::spawn(move || -> io::Result<u64> {
        run_in_netns(path_b, move || -> io::Result<u64> {
            pin(0)?;
            let l = TcpListener::bind(listen)?;
            let _ = ready_tx.send(());
            let (mut s, _) = l.accept()?;
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0u64;
            loop {
                match s.read(&mut buf)? {
                    0 => return Ok(got),
                    n => got += n as u64,
                }
            }
        })?
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| io::Error::other("receiver did not start"))?;
    let sent = run_in_netns(format!("/run/netns/{a}"), move || -> io::Result<Instant> {
        pin(0)?;
        let mut s = TcpStream::connect(listen)?;
        let start = Instant::now();
        let buf = vec![0x5au8; CHUNK];
        let mut left = bytes;
        while left > 0 {
            let n = left.min(CHUNK as u64) as usize;
            s.write_all(&buf[..n])?;
            left -= n as u64;
        }
        Ok(start)
    })??;
    let got = receiver
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    let elapsed = sent.elapsed();
    if got != bytes {
        return Err(io::Error::other(format!(
            "receiver got {got} of {bytes} bytes"
        )));
    }
    Ok(VethThroughput {
        bytes: got,
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs only where namespaces can be made (root with iproute2, as in CI).
    #[test]
    fn moves_every_byte() {
        if netns_probe().is_err() {
            eprintln!("skipping: cannot create network namespaces here");
            return;
        }
        let r = veth_tcp_throughput(8 << 20).expect("veth run");
        assert_eq!(r.bytes, 8 << 20);
        assert!(r.gbps() > 0.0);
    }

    fn netns_probe() -> io::Result<()> {
        let name = format!("nkbench-probe-{}", std::process::id());
        ip(&["netns", "add", &name])?;
        ip(&["netns", "del", &name])
    }
}
