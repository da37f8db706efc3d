//! `socat`, the two shapes devmem_lib.py uses (selftests-spec §4.1):
//!
//! - `socat [-b N] -u - TCP6:[ADDR]:PORT,bind=[ADDR]:PORT[,nodelay]`: stdin to a TCP
//!   connection, one `write()` per block of at most `-b` bytes (socat's default 8192),
//!   then close at EOF;
//! - `socat -U - TCP6-LISTEN:PORT`: accept one connection and copy it to stdout until
//!   the peer closes.
//!
//! Parsed from the real command line; anything else is a syntax error with socat's
//! exit status 1. The program runs on [`devmem::os::Os`], so it is the same code as an
//! emulated process or (in principle) on Linux.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use devmem::os::Os;
use uapi::inet::AF_INET6;
use uapi::socket::{SO_REUSEADDR, SOCK_STREAM, SOL_SOCKET, SOL_TCP, TCP_NODELAY};

use super::CmdOutput;

/// socat's default transfer block (`-b`).
pub const DEFAULT_BLOCK: usize = 8192;

/// Which way data moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `-u`: left (stdin) to right.
    LeftToRight,
    /// `-U`: right to left (stdout).
    RightToLeft,
}

/// The network address (socat's second address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcpAddr {
    /// `TCP6:[addr]:port[,bind=[addr]:port][,nodelay]`.
    Connect {
        /// Where to connect.
        peer: SocketAddr,
        /// `bind=`.
        bind: Option<SocketAddr>,
        /// `nodelay`.
        nodelay: bool,
    },
    /// `TCP6-LISTEN:port`.
    Listen {
        /// The port.
        port: u16,
    },
}

/// A parsed socat invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socat {
    /// `-u` / `-U`.
    pub dir: Direction,
    /// `-b`.
    pub block: usize,
    /// The TCP side.
    pub addr: TcpAddr,
}

fn parse_hostport(s: &str) -> Result<SocketAddr, String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest
            .split_once("]:")
            .ok_or_else(|| format!("\"{s}\": wrong number of parameters"))?;
        (h, p)
    } else {
        s.rsplit_once(':')
            .ok_or_else(|| format!("\"{s}\": wrong number of parameters"))?
    };
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("getaddrinfo(\"{host}\", NULL, ...): Name or service not known"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("parseport(\"{port}\"): invalid port"))?;
    Ok(SocketAddr::new(ip, port))
}

fn parse_tcp(s: &str) -> Result<TcpAddr, String> {
    let mut parts = s.split(',');
    let head = parts.next().unwrap_or("");
    let mut bind = None;
    let mut nodelay = false;
    for o in parts {
        match o.split_once('=') {
            Some(("bind", v)) => bind = Some(parse_hostport(v)?),
            None if o == "nodelay" => nodelay = true,
            None if o == "reuseaddr" => {}
            _ => return Err(format!("unknown option \"{o}\"")),
        }
    }
    let (kind, rest) = head
        .split_once(':')
        .ok_or_else(|| format!("unknown device/address \"{head}\""))?;
    match kind.to_ascii_uppercase().as_str() {
        "TCP6" | "TCP" => {
            let peer = parse_hostport(rest)?;
            Ok(TcpAddr::Connect {
                peer,
                bind,
                nodelay,
            })
        }
        "TCP6-LISTEN" | "TCP-LISTEN" | "TCP6-L" => {
            let port = rest
                .parse()
                .map_err(|_| format!("parseport(\"{rest}\"): invalid port"))?;
            Ok(TcpAddr::Listen { port })
        }
        _ => Err(format!("unknown device/address \"{kind}\"")),
    }
}

/// Parses socat's argv (without the program name).
pub fn parse(argv: &[String]) -> Result<Socat, String> {
    let mut dir = None;
    let mut block = DEFAULT_BLOCK;
    let mut addrs = Vec::new();
    let mut i = 0;
    while let Some(a) = argv.get(i) {
        match a.as_str() {
            "-u" => dir = Some(Direction::LeftToRight),
            "-U" => dir = Some(Direction::RightToLeft),
            "-b" => {
                i += 1;
                let v = argv.get(i).ok_or("option -b requires an argument")?;
                block = v
                    .parse()
                    .ok()
                    .filter(|&b| b > 0)
                    .ok_or_else(|| format!("-b: invalid size \"{v}\""))?;
            }
            s if s.starts_with('-') && s.len() > 1 => {
                return Err(format!("unknown option \"{s}\""));
            }
            s => addrs.push(s.to_string()),
        }
        i += 1;
    }
    let [left, right] = addrs.as_slice() else {
        return Err(format!(
            "exactly 2 addresses required (there are {})",
            addrs.len()
        ));
    };
    if left != "-" && left != "STDIO" {
        return Err(format!("unsupported first address \"{left}\""));
    }
    let dir = dir.ok_or("only unidirectional transfers (-u / -U) are emulated")?;
    let addr = parse_tcp(right)?;
    match (dir, &addr) {
        (Direction::LeftToRight, TcpAddr::Connect { .. })
        | (Direction::RightToLeft, TcpAddr::Listen { .. }) => {}
        _ => return Err("unsupported direction for this address".into()),
    }
    Ok(Socat { dir, block, addr })
}

fn fail(e: String) -> CmdOutput {
    CmdOutput::err(1, format!("socat E {e}\n"))
}

fn io_fail(what: &str, e: std::io::Error) -> CmdOutput {
    fail(format!("{what}: {e}"))
}

impl Socat {
    /// Runs it: `stdin` feeds a sender; a listener's received bytes are its stdout.
    pub async fn run(&self, os: &Os, stdin: &[u8]) -> CmdOutput {
        let fd = match os.socket(i32::from(AF_INET6), SOCK_STREAM).await {
            Ok(fd) => fd,
            Err(e) => return io_fail("socket(AF_INET6, SOCK_STREAM)", e),
        };
        let out = match &self.addr {
            TcpAddr::Connect {
                peer,
                bind,
                nodelay,
            } => self.send(os, fd, *peer, *bind, *nodelay, stdin).await,
            TcpAddr::Listen { port } => self.listen(os, fd, *port).await,
        };
        let _ = os.close(fd).await;
        out
    }

    async fn send(
        &self,
        os: &Os,
        fd: i32,
        peer: SocketAddr,
        bind: Option<SocketAddr>,
        nodelay: bool,
        stdin: &[u8],
    ) -> CmdOutput {
        if nodelay && let Err(e) = os.setsockopt_int(fd, SOL_TCP, TCP_NODELAY, 1).await {
            return io_fail("setsockopt(TCP_NODELAY)", e);
        }
        if let Some(b) = bind
            && let Err(e) = os.bind(fd, b).await
        {
            return io_fail(&format!("bind({b})"), e);
        }
        if let Err(e) = os.connect(fd, peer).await {
            return io_fail(&format!("connect(AF=10 {peer})"), e);
        }
        for block in stdin.chunks(self.block) {
            let mut off = 0;
            while off < block.len() {
                match os.send(fd, &block[off..], 0).await {
                    Ok(n) => off += n,
                    Err(e) => return io_fail("write()", e),
                }
            }
        }
        CmdOutput::ok("")
    }

    async fn listen(&self, os: &Os, fd: i32, port: u16) -> CmdOutput {
        let any = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
        let steps = async {
            os.setsockopt_int(fd, SOL_SOCKET, SO_REUSEADDR, 1).await?;
            os.bind(fd, any).await?;
            os.listen(fd, 5).await?;
            os.accept(fd).await
        };
        let (cfd, _peer) = match steps.await {
            Ok(v) => v,
            Err(e) => return io_fail(&format!("listen/accept on port {port}"), e),
        };
        let _ = os.close(fd).await;
        let mut data = Vec::new();
        let res = loop {
            match os.recv(cfd, self.block, 0).await {
                Ok(b) if b.is_empty() => break Ok(()),
                Ok(b) => data.extend_from_slice(&b),
                Err(e) => break Err(e),
            }
        };
        let _ = os.close(cfd).await;
        if let Err(e) = res {
            return io_fail("read()", e);
        }
        CmdOutput {
            status: 0,
            stdout: String::from_utf8_lossy(&data).into_owned(),
            stderr: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::split_words;

    fn p(cmd: &str) -> Result<Socat, String> {
        parse(&split_words(cmd)[1..])
    }

    #[test]
    fn devmem_lib_shapes() {
        let s =
            p("socat -b 512 -u - TCP6:[2001:db8:2::2:2]:5201,bind=[2001:db8:1::2]:5201,nodelay")
                .unwrap();
        assert_eq!(s.block, 512);
        assert_eq!(s.dir, Direction::LeftToRight);
        assert_eq!(
            s.addr,
            TcpAddr::Connect {
                peer: "[2001:db8:2::2:2]:5201".parse().unwrap(),
                bind: Some("[2001:db8:1::2]:5201".parse().unwrap()),
                nodelay: true
            }
        );
        let s = p("socat -U - TCP6-LISTEN:4000").unwrap();
        assert_eq!(s.addr, TcpAddr::Listen { port: 4000 });
        assert_eq!(s.block, DEFAULT_BLOCK);
    }

    #[test]
    fn syntax_errors() {
        assert!(
            p("socat -u - TCP6:[2001:db8::1]")
                .unwrap_err()
                .contains("wrong number")
        );
        assert!(
            p("socat -u - TCP6:[2001:db8::x]:1")
                .unwrap_err()
                .contains("getaddrinfo")
        );
        assert!(
            p("socat -u - TCP6:[2001:db8::1]:99999")
                .unwrap_err()
                .contains("parseport")
        );
        assert!(p("socat -u -").unwrap_err().contains("exactly 2 addresses"));
        assert!(
            p("socat -z - TCP6-LISTEN:1")
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(
            p("socat -b 0 -u - TCP6:[::1]:1")
                .unwrap_err()
                .contains("-b")
        );
        assert!(p("socat - TCP6-LISTEN:1").is_err());
        assert!(p("socat -u - TCP6:[::1]:1,frobnicate").is_err());
    }
}
