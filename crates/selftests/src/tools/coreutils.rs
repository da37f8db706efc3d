//! The byte generators the selftests pipe into socat and ncdevmem: `yes`, `head -c`,
//! `dd if=/dev/zero`, `echo [-e] [-n]`. They only make bytes, so they run in the
//! harness; only the last stage of a pipeline touches the network.

/// `echo [-n] [-e] WORDS...`: words joined by blanks, then a newline unless `-n`;
/// `-e` interprets `\n`, `\t`, `\\`, `\xHH` and `\0NNN`.
pub fn echo(args: &[String]) -> Result<Vec<u8>, String> {
    let mut newline = true;
    let mut escapes = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        match a.as_str() {
            "-n" => newline = false,
            "-e" => escapes = true,
            "-ne" | "-en" => {
                newline = false;
                escapes = true;
            }
            _ => break,
        }
        i += 1;
    }
    let text = args[i..].join(" ");
    let mut out = if escapes {
        unescape(&text)
    } else {
        text.into_bytes()
    };
    if newline {
        out.push(b'\n');
    }
    Ok(out)
}

fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        i += 1;
        match b[i] {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex: Vec<u8> = b[i + 1..]
                    .iter()
                    .take(2)
                    .take_while(|c| c.is_ascii_hexdigit())
                    .copied()
                    .collect();
                if hex.is_empty() {
                    out.extend_from_slice(b"\\x");
                } else {
                    let v = std::str::from_utf8(&hex)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .unwrap_or(0);
                    out.push(v);
                    i += hex.len();
                }
            }
            b'0' => {
                let oct: Vec<u8> = b[i + 1..]
                    .iter()
                    .take(3)
                    .take_while(|c| (b'0'..=b'7').contains(c))
                    .copied()
                    .collect();
                let v = oct.iter().fold(0u32, |a, c| a * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += oct.len();
            }
            c => {
                out.push(b'\\');
                out.push(c);
            }
        }
        i += 1;
    }
    out
}

/// An infinite byte stream, cut by the stage that consumes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    /// Finite bytes.
    Bytes(Vec<u8>),
    /// `yes LINE`: `LINE\n` forever.
    Repeat(Vec<u8>),
}

impl Stream {
    /// The first `n` bytes (all of a finite stream when shorter).
    pub fn take(&self, n: usize) -> Vec<u8> {
        match self {
            Stream::Bytes(b) => b[..n.min(b.len())].to_vec(),
            Stream::Repeat(unit) if unit.is_empty() => Vec::new(),
            Stream::Repeat(unit) => unit.iter().copied().cycle().take(n).collect(),
        }
    }

    /// A finite stream's bytes; `None` for an endless one.
    pub fn finite(self) -> Option<Vec<u8>> {
        match self {
            Stream::Bytes(b) => Some(b),
            Stream::Repeat(_) => None,
        }
    }
}

/// `yes [STRING...]`: the words joined by blanks (default `y`), newline, forever.
pub fn yes(args: &[String]) -> Stream {
    let mut line = if args.is_empty() {
        b"y".to_vec()
    } else {
        args.join(" ").into_bytes()
    };
    line.push(b'\n');
    Stream::Repeat(line)
}

/// Parses a coreutils size: digits with an optional `K`/`M`/`G` (×1024) or
/// `kB`/`MB`/`GB` (×1000) suffix.
pub fn parse_size(s: &str) -> Option<usize> {
    let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
    let n: usize = digits.parse().ok()?;
    let mult = match &s[digits.len()..] {
        "" | "c" => 1,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "kB" | "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// `head -c N` over `input`.
pub fn head(args: &[String], input: &Stream) -> Result<Stream, String> {
    match args {
        [c, n] if c == "-c" => parse_size(n)
            .map(|n| Stream::Bytes(input.take(n)))
            .ok_or_else(|| format!("head: invalid number of bytes: '{n}'")),
        _ => Err(format!("head: unsupported arguments: {}", args.join(" "))),
    }
}

/// `dd if=/dev/zero bs=N count=M` (the only input the selftests use).
pub fn dd(args: &[String]) -> Result<Stream, String> {
    let mut bs = 512usize;
    let mut count: Option<usize> = None;
    let mut input = None;
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            return Err(format!("dd: unrecognized operand '{a}'"));
        };
        match k {
            "if" => input = Some(v.to_string()),
            "bs" => bs = parse_size(v).ok_or_else(|| format!("dd: invalid number: '{v}'"))?,
            "count" => {
                count = Some(parse_size(v).ok_or_else(|| format!("dd: invalid number: '{v}'"))?)
            }
            _ => return Err(format!("dd: unrecognized operand '{a}'")),
        }
    }
    if input.as_deref() != Some("/dev/zero") {
        return Err("dd: only if=/dev/zero is emulated".into());
    }
    let Some(count) = count else {
        return Ok(Stream::Repeat(vec![0]));
    };
    let n = bs
        .checked_mul(count)
        .ok_or_else(|| "dd: size overflow".to_string())?;
    Ok(Stream::Bytes(vec![0; n]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn echo_e_and_yes_head() {
        assert_eq!(
            echo(&w(&["-e", "hello\\nworld"])).unwrap(),
            b"hello\nworld\n"
        );
        assert_eq!(echo(&w(&["-n", "a", "b"])).unwrap(), b"a b");
        assert_eq!(echo(&w(&["-e", "\\x01\\x0a\\0101"])).unwrap(), b"\x01\nA\n");
        let y = yes(&w(&["\x01\x02\x03\x04\x05\x06"]));
        let b = head(&w(&["-c", "1K"]), &y).unwrap().finite().unwrap();
        assert_eq!(b.len(), 1024);
        assert_eq!(&b[..8], b"\x01\x02\x03\x04\x05\x06\n\x01");
        assert!(head(&w(&["-c", "lots"]), &y).is_err());
    }

    #[test]
    fn dd_zero() {
        let b = dd(&w(&["if=/dev/zero", "bs=4096", "count=1"])).unwrap();
        assert_eq!(b.finite().unwrap(), vec![0; 4096]);
        assert!(dd(&w(&["if=/dev/urandom", "bs=1", "count=1"])).is_err());
        assert!(dd(&w(&["if=/dev/zero", "bs=x", "count=1"])).is_err());
        assert_eq!(parse_size("1K"), Some(1024));
        assert_eq!(parse_size("8192"), Some(8192));
        assert_eq!(parse_size("2x"), None);
    }
}
