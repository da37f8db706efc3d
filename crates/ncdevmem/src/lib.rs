//! ncdevmem: the kernel selftests' device-memory TCP netcat, ported.
//!
//! Kernel: tools/testing/selftests/drivers/net/hw/ncdevmem.c (post-series, with `-n`).
//! Same flags (`-l -s -c -p -v -q -t -f -z -L -n`), same messages on stderr, same exit
//! codes (selftests-spec §3). One implementation for both worlds: it is written against
//! [`platform::Sys`] — generic netlink sockets, a dma-buf, sockets, a shell for
//! `ethtool` — which the emulator's processes and the real kernel both provide.
//!
//! Modules: [`args`] (getopt), [`addr`], [`validate`] (`-v`), [`cmsg`], [`report`]
//! (messages), `nic` (ethtool/YNL configuration and binds), `probe` (§3.4), `server`
//! (§3.5), `client` (§3.7, §3.8).
//!
//! Deliberate departures, each for a clear error instead of undefined behaviour:
//! `-p` must be a decimal port (the C tool takes `atoi()` of anything); an unknown
//! interface stops with `ncdevmem: no such interface` instead of running on ifindex 0.
#![deny(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod addr;
pub mod args;
pub mod client;
pub mod cmsg;
mod nic;
pub mod os_platform;
pub mod platform;
mod probe;
pub mod report;
mod server;
pub mod validate;

use std::io::{BufRead, Write};

use args::Opts;
use platform::{Platform, Shell, Sys};
use report::pr_err;

/// Kernel: `PAGE_SHIFT`.
pub const PAGE_SHIFT: u32 = 12;
/// `getpagesize()`.
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// Kernel: `NUM_PAGES`: the dma-buf is this many pages (62.5 MiB).
pub const NUM_PAGES: usize = 16000;

/// The process's standard streams and its shell.
pub struct Stdio {
    /// Standard input (TX mode sends it line by line).
    pub stdin: Box<dyn BufRead>,
    /// Standard output (payload, `Validated buffer`).
    pub stdout: Box<dyn Write>,
    /// Standard error (everything else).
    pub stderr: Box<dyn Write>,
    /// Where `ethtool` commands run.
    pub shell: Box<dyn Shell>,
}

impl std::fmt::Debug for Stdio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stdio")
    }
}

/// One run's state (the C globals).
pub(crate) struct Ctx<'a> {
    pub(crate) plat: &'a dyn Platform,
    pub(crate) io: Stdio,
    pub(crate) o: Opts,
    pub(crate) ifname: String,
    pub(crate) ifindex: u32,
    pub(crate) ntuple_ids: [i32; nic::MAX_FLOWS],
}

/// Runs ncdevmem with `argv` (without the program name); returns the exit code.
///
/// Kernel: `main()`: parse, `-f` check, probe mode when neither `-s` nor `-c`, else
/// queue defaults, mandatory options, dma-buf allocation, then server or client.
pub async fn main<S: Sys>(os: &S, argv: &[String], mut io: Stdio) -> i32 {
    let (o, diag) = args::parse(argv);
    for d in diag {
        let _ = writeln!(io.stderr, "{d}");
    }
    let Some(ifname) = o.ifname.clone() else {
        pr_err(&mut io.stderr, "Missing -f argument", None);
        return 1;
    };
    let ifindex = os.if_nametoindex(&ifname);
    let _ = writeln!(io.stderr, "using ifindex={ifindex}");
    if ifindex == 0 {
        pr_err(
            &mut io.stderr,
            "no such interface",
            Some(uapi::errno::ENODEV),
        );
        return 1;
    }
    let mut c = Ctx {
        plat: os,
        io,
        o,
        ifname,
        ifindex,
        ntuple_ids: [-1; nic::MAX_FLOWS],
    };
    let code = c.run(os).await;
    let _ = c.io.stdout.flush();
    let _ = c.io.stderr.flush();
    code
}

impl Ctx<'_> {
    async fn run<S: Sys>(&mut self, os: &S) -> i32 {
        if self.o.server_ip.is_none() && self.o.client_ip.is_none() {
            if self.o.start_queue < 0 && self.o.num_queues < 0 {
                let n = self.rxq_num();
                if n < 0 {
                    pr_err(
                        &mut self.io.stderr,
                        "couldn't detect number of queues",
                        None,
                    );
                    return 1;
                }
                if n < 2 {
                    pr_err(
                        &mut self.io.stderr,
                        "number of device queues is too low",
                        None,
                    );
                    return 1;
                }
                self.o.start_queue = n / 2;
                self.o.num_queues = n / 2;
            }
            if self.o.start_queue < 0 || self.o.num_queues < 0 {
                pr_err(&mut self.io.stderr, "Both -t and -q are required", None);
                return 1;
            }
            return if self.run_devmem_tests().is_ok() {
                0
            } else {
                1
            };
        }
        if self.o.start_queue < 0 && self.o.num_queues < 0 {
            let n = self.rxq_num();
            if n < 2 {
                pr_err(
                    &mut self.io.stderr,
                    "number of device queues is too low",
                    None,
                );
                return 1;
            }
            self.o.num_queues = 1;
            self.o.start_queue = n - 1;
            let _ = writeln!(
                self.io.stderr,
                "using queues {}..{}",
                self.o.start_queue,
                self.o.start_queue + self.o.num_queues
            );
        }
        for e in &self.o.extra {
            let _ = writeln!(self.io.stderr, "extra arguments: {e}");
        }
        let missing = [
            (self.o.start_queue < 0, "Missing -t argument"),
            (self.o.num_queues < 0, "Missing -q argument"),
            (self.o.server_ip.is_none(), "Missing -s argument"),
            (self.o.port.is_none(), "Missing -p argument"),
        ];
        if let Some((_, msg)) = missing.iter().find(|(m, _)| *m) {
            pr_err(&mut self.io.stderr, msg, None);
            return 1;
        }
        if let Some(p) = self.o.port.as_deref()
            && addr::parse_port(p).is_none()
        {
            pr_err(&mut self.io.stderr, &format!("invalid port '{p}'"), None);
            return 1;
        }
        let mem = match self.plat.alloc_dmabuf(PAGE_SIZE * NUM_PAGES) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(self.io.stderr, "ncdevmem: [skip,no-udmabuf: {e}]");
                pr_err(
                    &mut self.io.stderr,
                    "Failed to allocate memory buffer",
                    None,
                );
                return 1;
            }
        };
        let res = if self.o.is_server {
            self.do_server(os, &mem).await
        } else {
            self.do_client(os, &mem).await
        };
        if res.is_ok() { 0 } else { 1 }
    }
}
