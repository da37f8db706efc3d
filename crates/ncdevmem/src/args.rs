//! Command line: getopt(3) semantics for ncdevmem's option string `Lls:c:p:v:q:t:f:z:n`.
//!
//! Kernel: `main()` in tools/testing/selftests/drivers/net/hw/ncdevmem.c. GNU getopt
//! permutes, so options may follow positional arguments; `--` ends option parsing;
//! options cluster (`-lf eth0`, `-feth0`). Numbers are read as `atoi`/`atoll` read them
//! (leading digits, garbage is 0): the tool behaves as the C one does on odd input.

/// The option string, as passed to getopt.
pub const OPTSTRING: &str = "Lls:c:p:v:q:t:f:z:n";

/// Parsed options (the C globals of the same names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opts {
    /// `-L`: fail on `SCM_DEVMEM_LINEAR`.
    pub fail_on_linear: bool,
    /// `-l`: server (RX) mode.
    pub is_server: bool,
    /// `-s`.
    pub server_ip: Option<String>,
    /// `-c`.
    pub client_ip: Option<String>,
    /// `-p`, kept as text: it is also pasted into ethtool rules.
    pub port: Option<String>,
    /// `-v`: validation period, 0 = print payload.
    pub do_validation: u64,
    /// `-q`, -1 when absent.
    pub num_queues: i32,
    /// `-t`, -1 when absent.
    pub start_queue: i32,
    /// `-f`.
    pub ifname: Option<String>,
    /// `-z`: TX iovec size, 0 = one iovec per line.
    pub max_chunk: usize,
    /// `-n`: skip NIC configuration (RX server).
    pub skip_config: bool,
    /// Positional arguments left after option parsing.
    pub extra: Vec<String>,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            fail_on_linear: false,
            is_server: false,
            server_ip: None,
            client_ip: None,
            port: None,
            do_validation: 0,
            num_queues: -1,
            start_queue: -1,
            ifname: None,
            max_chunk: 0,
            skip_config: false,
            extra: Vec::new(),
        }
    }
}

/// `atoll(3)`: optional blanks and sign, then decimal digits; anything else ends the
/// number (no digits = 0). Saturates instead of overflowing.
pub fn atoll(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -v } else { v }
}

/// `atoi(3)`: [`atoll`] truncated to `int` as glibc's `(int) strtol()` does.
pub fn atoi(s: &str) -> i32 {
    atoll(s) as i32
}

fn takes_arg(c: char) -> Option<bool> {
    let i = OPTSTRING.find(c)?;
    Some(OPTSTRING[i + c.len_utf8()..].starts_with(':'))
}

/// Parses `argv` (without the program name). Returns the options and the lines getopt
/// and ncdevmem print to stderr while parsing (`invalid option -- 'x'` from getopt,
/// then `unknown option: x` from ncdevmem). Unknown options are otherwise ignored, as
/// in the C tool.
pub fn parse(argv: &[String]) -> (Opts, Vec<String>) {
    let mut o = Opts::default();
    let mut diag = Vec::new();
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        i += 1;
        if a == "--" {
            o.extra.extend(argv[i..].iter().cloned());
            break;
        }
        if !a.starts_with('-') || a.len() == 1 {
            o.extra.push(a.clone());
            continue;
        }
        let body = &a[1..];
        for (pos, c) in body.char_indices() {
            match takes_arg(c) {
                None => {
                    diag.push(format!("ncdevmem: invalid option -- '{c}'"));
                    diag.push(format!("unknown option: {c}"));
                }
                Some(false) => set_flag(&mut o, c),
                Some(true) => {
                    let rest = &body[pos + c.len_utf8()..];
                    let val = if !rest.is_empty() {
                        Some(rest.to_string())
                    } else if i < argv.len() {
                        i += 1;
                        Some(argv[i - 1].clone())
                    } else {
                        None
                    };
                    match val {
                        Some(v) => set_value(&mut o, c, v),
                        None => {
                            diag.push(format!("ncdevmem: option requires an argument -- '{c}'"));
                            diag.push(format!("unknown option: {c}"));
                        }
                    }
                    break;
                }
            }
        }
    }
    (o, diag)
}

fn set_flag(o: &mut Opts, c: char) {
    match c {
        'L' => o.fail_on_linear = true,
        'l' => o.is_server = true,
        'n' => o.skip_config = true,
        _ => unreachable!("flag {c} is not in OPTSTRING without ':'"),
    }
}

fn set_value(o: &mut Opts, c: char, v: String) {
    match c {
        's' => o.server_ip = Some(v),
        'c' => o.client_ip = Some(v),
        'p' => o.port = Some(v),
        'v' => o.do_validation = atoll(&v) as u64,
        'q' => o.num_queues = atoi(&v),
        't' => o.start_queue = atoi(&v),
        'f' => o.ifname = Some(v),
        'z' => o.max_chunk = atoi(&v) as usize,
        _ => unreachable!("option {c} is not in OPTSTRING with ':'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn nk_rx_command_line() {
        let (o, d) = parse(&argv(
            "-l -f nk_guest -s 2001:db8:2::2:2 -p 5201 -t 1 -q 1 -n -v 7 -L",
        ));
        assert!(d.is_empty());
        assert!(o.is_server && o.skip_config && o.fail_on_linear);
        assert_eq!(o.ifname.as_deref(), Some("nk_guest"));
        assert_eq!(o.server_ip.as_deref(), Some("2001:db8:2::2:2"));
        assert_eq!(o.port.as_deref(), Some("5201"));
        assert_eq!((o.start_queue, o.num_queues, o.do_validation), (1, 1, 7));
    }

    #[test]
    fn clusters_attached_values_and_permutation() {
        let (o, d) = parse(&argv("extra1 -lfeth0 -z3 -- -s"));
        assert!(d.is_empty());
        assert!(o.is_server);
        assert_eq!(o.ifname.as_deref(), Some("eth0"));
        assert_eq!(o.max_chunk, 3);
        assert_eq!(o.extra, vec!["extra1".to_string(), "-s".to_string()]);
        assert_eq!(o.server_ip, None);
    }

    #[test]
    fn unknown_and_missing_argument() {
        let (o, d) = parse(&argv("-x -f"));
        assert_eq!(
            d,
            vec![
                "ncdevmem: invalid option -- 'x'",
                "unknown option: x",
                "ncdevmem: option requires an argument -- 'f'",
                "unknown option: f",
            ]
        );
        assert_eq!(o.ifname, None);
    }

    #[test]
    fn atoi_reads_like_libc() {
        assert_eq!(atoi("42abc"), 42);
        assert_eq!(atoi("  -7"), -7);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi(""), 0);
        assert_eq!(atoll("99999999999999999999999"), i64::MAX);
    }
}
