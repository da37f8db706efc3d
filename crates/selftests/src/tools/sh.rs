//! The command lines the selftests run, as `sh -c` would run them on the emulator.
//!
//! The python harness builds command strings (devmem_lib's builders) and runs them
//! with `cmd()` / `bkg()`, locally, in a netns (`ip netns exec NS ...`) or on the
//! remote. This module parses exactly those shapes and runs them as emulated
//! processes on a [`World`]:
//!
//! - an optional `ip netns exec NS` prefix, an optional `bash -c '...'` / `sh -c`;
//! - a pipeline (`|`) whose leading stages are byte generators (`yes`, `head -c`,
//!   `dd if=/dev/zero`, `echo`) and whose last stage is a program (`ncdevmem`,
//!   `socat`, `ethtool`, `ping`) or a generator;
//! - `$(...)` command substitution of a generator pipeline, split into words;
//! - single and double quotes, backslash outside quotes.
//!
//! Anything else is a clear error (exit status 2, or 127 for an unknown program).

use std::cell::RefCell;
use std::io::Cursor;
use std::net::IpAddr;
use std::rc::Rc;

use devmem::os::Os;
use simkernel::{Cred, NetNsId, Proc, World};

use super::coreutils::{self, Stream};
use super::shell::ProcShell;
use super::{CmdOutput, ethtool, socat};
use crate::ktap::SharedBuf;

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    /// `ip netns exec NAME`.
    pub netns: Option<String>,
    /// Pipeline stages, each an argv.
    pub stages: Vec<Vec<String>>,
}

fn err(status: i32, msg: impl Into<String>) -> CmdOutput {
    CmdOutput::err(status, format!("sh: {}\n", msg.into()))
}

/// Splits `s` at top-level `|` (outside quotes and `$(...)`).
fn split_pipeline(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, '$') if chars.peek() == Some(&'(') => {
                depth += 1;
                cur.push(c);
                cur.push('(');
                chars.next();
            }
            (None, ')') if depth > 0 => {
                depth -= 1;
                cur.push(c);
            }
            (None, '\\') => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            (None, '|') if depth == 0 => out.push(std::mem::take(&mut cur)),
            (None, c) => cur.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quoted string".into());
    }
    if depth > 0 {
        return Err("unterminated $(".into());
    }
    out.push(cur);
    if out.iter().any(|s| s.trim().is_empty()) {
        return Err("syntax error near unexpected token `|'".into());
    }
    Ok(out)
}

/// Splits one stage into words: quotes group, backslash escapes outside quotes,
/// `$(...)` is replaced by its output split at blanks, redirections are dropped.
fn words(stage: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = stage.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(n) = chars.next()
                    && n != '\n'
                {
                    cur.push(n);
                    in_word = true;
                }
            }
            (None, '$') if chars.peek() == Some(&'(') => {
                chars.next();
                let mut inner = String::new();
                let mut depth = 1;
                for n in chars.by_ref() {
                    match n {
                        '(' => depth += 1,
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    inner.push(n);
                }
                let bytes = generate(&inner)?
                    .finite()
                    .ok_or("command substitution of an endless stream")?;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut fields = text.split([' ', '\t', '\n']).filter(|f| !f.is_empty());
                if let Some(first) = fields.next() {
                    cur.push_str(first);
                    in_word = true;
                    for f in fields {
                        out.push(std::mem::take(&mut cur));
                        cur.push_str(f);
                    }
                }
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("unterminated quoted string".into());
    }
    if in_word {
        out.push(cur);
    }
    out.retain(|w| {
        let t = w.trim_start_matches(|c: char| c.is_ascii_digit());
        !(t.starts_with('>') || t.starts_with('<'))
    });
    Ok(out)
}

fn is_generator(prog: &str) -> bool {
    matches!(prog, "yes" | "head" | "dd" | "echo")
}

/// Runs a pipeline made only of generators.
fn generate(line: &str) -> Result<Stream, String> {
    let mut s = Stream::Bytes(Vec::new());
    for stage in split_pipeline(line)? {
        let w = words(&stage)?;
        s = run_generator(&w, &s)?;
    }
    Ok(s)
}

fn run_generator(argv: &[String], input: &Stream) -> Result<Stream, String> {
    let Some((prog, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    match prog.as_str() {
        "yes" => Ok(coreutils::yes(args)),
        "head" => coreutils::head(args, input),
        "dd" => coreutils::dd(args),
        "echo" => coreutils::echo(args).map(Stream::Bytes),
        p => Err(format!("{p}: not a byte generator")),
    }
}

/// Parses a command line (see the module docs).
pub fn parse(line: &str) -> Result<CommandLine, String> {
    let line = line.trim();
    let w = words_prefix(line);
    let (netns, rest) = match w.as_slice() {
        [ip, netns, exec, ns, ..] if ip == "ip" && netns == "netns" && exec == "exec" => {
            let skip = nth_word_end(line, 4);
            (Some(ns.clone()), line[skip..].trim())
        }
        [ip, ..] if ip == "ip" => return Err("only `ip netns exec` is emulated".into()),
        _ => (None, line),
    };
    let inner_words = words(rest)?;
    let body = match inner_words.as_slice() {
        [sh, c, script] if (sh == "bash" || sh == "sh") && c == "-c" => script.clone(),
        [sh, ..] if sh == "bash" || sh == "sh" => {
            return Err(format!("{sh}: only `{sh} -c SCRIPT` is emulated"));
        }
        _ => rest.to_string(),
    };
    let mut stages = Vec::new();
    for st in split_pipeline(&body)? {
        let w = words(&st)?;
        if w.is_empty() {
            return Err("empty command".into());
        }
        stages.push(w);
    }
    for st in &stages[..stages.len() - 1] {
        if !is_generator(&st[0]) {
            return Err(format!("{}: only byte generators may feed a pipe", st[0]));
        }
    }
    Ok(CommandLine { netns, stages })
}

/// The first few blank-separated words (no quoting: enough to spot `ip netns exec`).
fn words_prefix(line: &str) -> Vec<String> {
    line.split_whitespace()
        .take(4)
        .map(str::to_string)
        .collect()
}

/// Byte offset just past the `n`-th blank-separated word.
fn nth_word_end(line: &str, n: usize) -> usize {
    let mut count = 0;
    let mut in_word = false;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if in_word {
                count += 1;
                if count == n {
                    return i;
                }
            }
            in_word = false;
        } else {
            in_word = true;
        }
    }
    line.len()
}

/// A command running (or finished) on the world.
#[derive(Debug, Clone)]
pub struct Job {
    /// The command line.
    pub line: String,
    /// The process it runs as.
    pub proc: Proc,
    result: Rc<RefCell<Option<CmdOutput>>>,
}

impl Job {
    /// Its output once finished.
    pub fn result(&self) -> Option<CmdOutput> {
        self.result.borrow().clone()
    }

    /// Whether it finished.
    pub fn done(&self) -> bool {
        self.result.borrow().is_some()
    }
}

/// Starts `line` as an emulated process; `netns` is where it runs unless the line
/// says `ip netns exec`. A line that cannot be parsed finishes at once with the shell's
/// error.
pub fn spawn(world: &mut World, netns: NetNsId, line: &str) -> Job {
    let result = Rc::new(RefCell::new(None));
    let cred = Cred {
        cap_net_admin: true,
    };
    let parsed = parse(line).and_then(|c| {
        let ns = match &c.netns {
            None => netns,
            Some(name) => world
                .kernel
                .borrow()
                .netns_by_name(name)
                .ok_or_else(|| format!("Cannot open network namespace \"{name}\""))?,
        };
        Ok((c, ns))
    });
    let (cl, ns) = match parsed {
        Ok(v) => v,
        Err(e) => {
            let proc = world.process(netns, cred);
            *result.borrow_mut() = Some(err(2, e));
            return Job {
                line: line.to_string(),
                proc,
                result,
            };
        }
    };
    let proc = world.process(ns, cred);
    let r2 = result.clone();
    let p2 = proc.clone();
    world.spawn(&proc, async move {
        let out = run(&p2, ns, cl).await;
        *r2.borrow_mut() = Some(out);
    });
    Job {
        line: line.to_string(),
        proc,
        result,
    }
}

async fn run(proc: &Proc, ns: NetNsId, cl: CommandLine) -> CmdOutput {
    let n = cl.stages.len();
    let mut input = Stream::Bytes(Vec::new());
    for st in &cl.stages[..n - 1] {
        match run_generator(st, &input) {
            Ok(s) => input = s,
            Err(e) => return err(1, e),
        }
    }
    let argv = &cl.stages[n - 1];
    let prog = argv[0].rsplit('/').next().unwrap_or("");
    if is_generator(prog) {
        return match run_generator(argv, &input).map(Stream::finite) {
            Ok(Some(b)) => CmdOutput::ok(String::from_utf8_lossy(&b).into_owned()),
            Ok(None) => err(1, format!("{prog}: endless output")),
            Err(e) => err(1, e),
        };
    }
    let Some(stdin) = input.finite() else {
        return err(1, format!("{prog}: endless input"));
    };
    let args = &argv[1..];
    let os = Os::Emulated(proc.clone());
    match prog {
        "ncdevmem" => run_ncdevmem(proc, &os, args, stdin).await,
        "socat" => match socat::parse(args) {
            Ok(s) => s.run(&os, &stdin).await,
            Err(e) => CmdOutput::err(1, format!("socat E {e}\n")),
        },
        "ethtool" => ethtool::ethtool(&mut proc.kernel().borrow_mut(), ns, args),
        "ping" => ping(proc, ns, args),
        p => err(127, format!("{p}: not found")),
    }
}

async fn run_ncdevmem(proc: &Proc, os: &Os, args: &[String], stdin: Vec<u8>) -> CmdOutput {
    let out = SharedBuf::default();
    let errb = SharedBuf::default();
    let io = ncdevmem::Stdio {
        stdin: Box::new(Cursor::new(stdin)),
        stdout: Box::new(out.clone()),
        stderr: Box::new(errb.clone()),
        shell: Box::new(ProcShell::new(proc.clone(), Box::new(errb.clone()))),
    };
    let status = ncdevmem::main(os, args, io).await;
    CmdOutput {
        status,
        stdout: out.text(),
        stderr: errb.text(),
    }
}

/// `ping [-6] -c 1 -W SECS ADDR`: one echo request; exit 0 on a reply, 1 without one,
/// 2 on an error (iputils' codes).
fn ping(proc: &Proc, ns: NetNsId, args: &[String]) -> CmdOutput {
    let mut count = 1u32;
    let mut wait = 10u64;
    let mut dst = None;
    let mut i = 0;
    let bad = |m: String| CmdOutput::err(2, format!("ping: {m}\n"));
    while let Some(a) = args.get(i) {
        let (flag, inline) = if a.len() > 2 && a.starts_with('-') {
            (&a[..2], Some(a[2..].to_string()))
        } else {
            (a.as_str(), None)
        };
        let mut val = || {
            inline.clone().or_else(|| {
                i += 1;
                args.get(i).cloned()
            })
        };
        match flag {
            "-6" | "-4" | "-q" => {}
            "-c" => match val().and_then(|v| v.parse().ok()) {
                Some(c) if c > 0 => count = c,
                _ => return bad("invalid argument for -c".into()),
            },
            "-W" => match val().and_then(|v| v.parse().ok()) {
                Some(w) => wait = w,
                _ => return bad("bad linger time".into()),
            },
            s if s.starts_with('-') => return bad(format!("invalid option -- '{s}'")),
            s => match s.parse::<IpAddr>() {
                Ok(a) => dst = Some(a),
                Err(_) => return bad(format!("{s}: Name or service not known")),
            },
        }
        i += 1;
    }
    let Some(dst) = dst else {
        return bad("usage error: Destination address required".into());
    };
    let mut k = proc.kernel().borrow_mut();
    let mut received = 0;
    let mut lines = format!("PING {dst} {dst}: 56 data bytes\n");
    for seq in 1..=count {
        match k.ping(ns, dst, simkernel::Duration::from_secs(wait)) {
            Ok(rtt) => {
                received += 1;
                lines += &format!(
                    "64 bytes from {dst}: icmp_seq={seq} ttl=64 time={:.3} ms\n",
                    rtt.as_micros() as f64 / 1000.0
                );
            }
            Err(e) if e.errno == uapi::errno::ETIMEDOUT => {}
            Err(e) => {
                return CmdOutput::err(
                    2,
                    format!("ping: connect: {}\n", ncdevmem::report::strerror(e.errno)),
                );
            }
        }
    }
    lines += &format!(
        "\n--- {dst} ping statistics ---\n{count} packets transmitted, {received} received\n"
    );
    CmdOutput {
        status: if received > 0 { 0 } else { 1 },
        stdout: lines,
        stderr: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_harness_shapes() {
        let c = parse(
            "yes $(echo -e \x01\x02\x03\x04\x05\x06) |             head -c 1K | socat -u - TCP6:[2001:db8:2::2:2]:5201,bind=[2001:db8:1::2]:5201",
        )
        .unwrap();
        assert_eq!(c.netns, None);
        assert_eq!(c.stages.len(), 3);
        assert_eq!(c.stages[0], vec!["yes", "\x01\x02\x03\x04\x05\x06"]);
        assert_eq!(c.stages[1], vec!["head", "-c", "1K"]);
        let c = parse(
            "ip netns exec nk-1 bash -c 'echo -e \"hello\\nworld\" | ncdevmem -f nk_guest -s 2001:db8:1::2 -p 5201 -t 0 -q 1 -n'",
        )
        .unwrap();
        assert_eq!(c.netns.as_deref(), Some("nk-1"));
        assert_eq!(c.stages[0], vec!["echo", "-e", "hello\\nworld"]);
        assert_eq!(c.stages[1][0], "ncdevmem");
        let g = generate("echo -e \"hello\\nworld\"").unwrap();
        assert_eq!(g.finite().unwrap(), b"hello\nworld\n");
        let c = parse("ethtool -X eth0 equal 1 >&2").unwrap();
        assert_eq!(c.stages[0], vec!["ethtool", "-X", "eth0", "equal", "1"]);
    }

    #[test]
    fn syntax_errors_are_clear() {
        assert!(
            parse("socat -u - 'TCP6")
                .unwrap_err()
                .contains("unterminated")
        );
        assert!(parse("yes | | socat").unwrap_err().contains("syntax error"));
        assert!(
            parse("socat -U - TCP6-LISTEN:1 | head -c 1")
                .unwrap_err()
                .contains("generators")
        );
        assert!(parse("ip link show").unwrap_err().contains("netns exec"));
        assert!(parse("yes $(echo a").unwrap_err().contains("unterminated"));
    }
}
