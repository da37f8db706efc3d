//! `ncdevmem` on the real kernel: the same port the emulator runs, with `Os::Linux`
//! (real sockets, AF_NETLINK through `KernelTransport`, a udmabuf) and the helper
//! `ethtool` commands run by `sh -c` as `popen()` does.
//!
//! Kernel: tools/testing/selftests/drivers/net/hw/ncdevmem.c `main()`.

use std::io::{BufReader, Read};
use std::process::{Command, Stdio as PStdio};

use devmem::os::{Os, block_on};
use ncdevmem::Stdio;
use ncdevmem::platform::{Shell, ShellOutput};

/// `popen(cmd, "r")` + `pclose()`: stdout is read back, stderr is the tool's own.
struct SystemShell;

impl Shell for SystemShell {
    fn popen(&mut self, cmd: &str) -> ShellOutput {
        let child = Command::new("sh")
            .arg("-c")
            .arg(cmd)
            .stdout(PStdio::piped())
            .stderr(PStdio::inherit())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ncdevmem: popen: {e}");
                return ShellOutput {
                    status: 127,
                    stdout: String::new(),
                };
            }
        };
        let mut stdout = String::new();
        if let Some(mut out) = child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let status = child.wait().ok().and_then(|s| s.code()).unwrap_or(-1);
        ShellOutput { status, stdout }
    }
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let io = Stdio {
        stdin: Box::new(BufReader::new(std::io::stdin())),
        stdout: Box::new(std::io::stdout()),
        stderr: Box::new(std::io::stderr()),
        shell: Box::new(SystemShell),
    };
    let code = block_on(ncdevmem::main(&Os::Linux, &argv, io));
    std::process::exit(code);
}
