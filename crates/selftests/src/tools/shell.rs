//! The shell an emulated process runs its helper commands in (ncdevmem's `popen()`
//! of `ethtool -X/-N`): the command line is split as `sh` would, the program is looked
//! up among the emulated tools and run in the process's network namespace.

use std::io::Write;

use ncdevmem::platform::{Shell, ShellOutput};
use simkernel::Proc;

use super::{CmdOutput, ethtool, split_words};

/// Runs one simple command line (no pipes) in `proc`'s netns.
pub fn run_simple(proc: &Proc, cmd: &str) -> CmdOutput {
    let words = split_words(cmd);
    let Some((prog, args)) = words.split_first() else {
        return CmdOutput::ok("");
    };
    let mut k = proc.kernel().borrow_mut();
    let Some(netns) = k.process(proc.pid()).map(|p| p.netns) else {
        return CmdOutput::err(127, "sh: no such process\n");
    };
    match prog.as_str() {
        "ethtool" => ethtool::ethtool(&mut k, netns, args),
        _ => CmdOutput::err(127, format!("sh: 1: {prog}: not found\n")),
    }
}

/// [`Shell`] for an emulated process: stdout goes back to the caller, stderr (and
/// stdout redirected with `>&2`) to `stderr`.
pub struct ProcShell {
    proc: Proc,
    stderr: Box<dyn Write>,
}

impl std::fmt::Debug for ProcShell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcShell")
            .field("proc", &self.proc)
            .finish()
    }
}

impl ProcShell {
    /// A shell for `proc` whose commands write their stderr to `stderr`.
    pub fn new(proc: Proc, stderr: Box<dyn Write>) -> Self {
        Self { proc, stderr }
    }
}

impl Shell for ProcShell {
    fn popen(&mut self, cmd: &str) -> ShellOutput {
        let out = run_simple(&self.proc, cmd);
        let _ = self.stderr.write_all(out.stderr.as_bytes());
        let to_stderr = cmd.split_whitespace().any(|w| w == ">&2" || w == "1>&2");
        if to_stderr {
            let _ = self.stderr.write_all(out.stdout.as_bytes());
            return ShellOutput {
                status: out.status,
                stdout: String::new(),
            };
        }
        ShellOutput {
            status: out.status,
            stdout: out.stdout,
        }
    }
}
