//! nkdevmem: the project's command line. With no arguments it runs the netkit devmem
//! selftest suite on the embedded emulator (`nkdevmem selftest nk_devmem`).
#![deny(unsafe_code)]

mod bench;
mod demo;
mod selftest;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the emulator allocates and frees small objects per frame (skb heads, frag
/// lists, events); its thread-local free lists serve them faster than glibc's malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Device-memory TCP through netkit containers: selftests and demos on an emulated
/// Linux network stack.
#[derive(Debug, Parser)]
#[command(name = "nkdevmem", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run selftest suites on the emulator and print their KTAP report.
    Selftest(selftest::Args),
    /// Tell the series' story: the problems before it, the fix, what validation prevents.
    Demo(demo::Args),
    /// Run the emulator and serve its NETLINK_GENERIC on a unix seqpacket socket.
    Serve(serve::Args),
    /// Benchmarks against the real kernel measured in the same run.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        None => selftest::run(selftest::Args::defaults()),
        Some(Cmd::Selftest(a)) => selftest::run(a),
        Some(Cmd::Demo(a)) => demo::run(a),
        Some(Cmd::Serve(a)) => serve::run(a),
        Some(Cmd::Bench(a)) => bench::run(a),
    }
}
