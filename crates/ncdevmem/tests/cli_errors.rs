//! Argument errors: messages and exit codes as ncdevmem.c prints them. The world here
//! knows one interface (`eth0`, ifindex 2) and refuses every socket and netlink call,
//! so each run stops exactly at its argument check.

use std::cell::RefCell;
use std::io::{self, Write};
use std::net::SocketAddrV6;
use std::rc::Rc;

use devmem::dmabuf::Dmabuf;
use ncdevmem::platform::{Platform, RecvMsg, Shell, ShellOutput, Sockets, Transport};
use ncdevmem::{Stdio, main};

struct NoWorld;

fn enosys<T>() -> io::Result<T> {
    Err(io::Error::from_raw_os_error(38))
}

impl Platform for NoWorld {
    fn genl(&self) -> io::Result<Transport> {
        enosys()
    }
    fn if_nametoindex(&self, name: &str) -> u32 {
        if name == "eth0" { 2 } else { 0 }
    }
    fn alloc_dmabuf(&self, size: usize) -> io::Result<Dmabuf> {
        Dmabuf::memfd(size)
    }
}

impl Sockets for NoWorld {
    fn socket_inet6_stream(&self) -> io::Result<i32> {
        enosys()
    }
    fn setsockopt(&self, _: i32, _: i32, _: i32, _: &[u8]) -> io::Result<i32> {
        enosys()
    }
    fn bind(&self, _: i32, _: SocketAddrV6) -> io::Result<()> {
        enosys()
    }
    fn listen(&self, _: i32, _: i32) -> io::Result<()> {
        enosys()
    }
    async fn accept(&self, _: i32) -> io::Result<(i32, SocketAddrV6)> {
        enosys()
    }
    async fn connect(&self, _: i32, _: SocketAddrV6) -> io::Result<()> {
        enosys()
    }
    async fn recvmsg(&self, _: i32, _: usize, _: usize, _: u32) -> io::Result<RecvMsg> {
        enosys()
    }
    async fn sendmsg_iov(&self, _: i32, _: &[(u64, usize)], _: &[u8], _: u32) -> io::Result<usize> {
        enosys()
    }
    async fn poll(&self, _: i32, _: i16, _: i32) -> io::Result<i16> {
        enosys()
    }
    fn close(&self, _: i32) -> io::Result<()> {
        Ok(())
    }
    fn now_ms(&self) -> u64 {
        0
    }
}

#[derive(Clone, Default)]
struct Buf(Rc<RefCell<Vec<u8>>>);

impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct NoShell;

impl Shell for NoShell {
    fn popen(&mut self, _: &str) -> ShellOutput {
        ShellOutput {
            status: 127,
            stdout: String::new(),
        }
    }
}

fn run(args: &str) -> (i32, String) {
    let err = Buf::default();
    let io = Stdio {
        stdin: Box::new(io::Cursor::new(Vec::new())),
        stdout: Box::new(Buf::default()),
        stderr: Box::new(err.clone()),
        shell: Box::new(NoShell),
    };
    let argv: Vec<String> = args.split_whitespace().map(String::from).collect();
    let fut = main(&NoWorld, &argv, io);
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let code = match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(c) => c,
        std::task::Poll::Pending => panic!("ncdevmem blocked in a world that refuses everything"),
    };
    let text = String::from_utf8(err.0.borrow().clone()).unwrap_or_default();
    (code, text)
}

#[test]
fn missing_f() {
    assert_eq!(
        run("-l -s ::1 -p 1"),
        (1, "ncdevmem: Missing -f argument\n".into())
    );
}

#[test]
fn both_t_and_q_required() {
    let (code, err) = run("-f eth0 -t 1");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "using ifindex=2\nncdevmem: Both -t and -q are required\n"
    );
}

#[test]
fn unknown_option_is_reported_and_ignored() {
    let (code, err) = run("-x -f eth0 -q 1");
    assert_eq!(code, 1);
    assert!(
        err.starts_with("ncdevmem: invalid option -- 'x'\nunknown option: x\nusing ifindex=2\n")
    );
    assert!(err.ends_with("ncdevmem: Both -t and -q are required\n"));
}

#[test]
fn missing_server_options() {
    let (code, err) = run("-f eth0 -t 1 -q 1 -c ::1");
    assert_eq!(code, 1);
    assert!(err.ends_with("ncdevmem: Missing -s argument\n"), "{err}");
    let (code, err) = run("-f eth0 -t 1 -q 1 -s ::1 extra");
    assert_eq!(code, 1);
    assert!(err.contains("extra arguments: extra\n"));
    assert!(err.ends_with("ncdevmem: Missing -p argument\n"), "{err}");
}

#[test]
fn bad_address_and_port() {
    let (code, err) = run("-l -n -f eth0 -t 1 -q 1 -s 2001:db8::zz -p 5201");
    assert_eq!(code, 1);
    assert!(err.ends_with("ncdevmem: parse server address\n"), "{err}");
    let (code, err) = run("-f eth0 -t 0 -q 1 -s 192.0.2.1 -c not-an-ip -p 5201");
    assert_eq!(code, 1);
    assert!(err.ends_with("ncdevmem: parse client address\n"), "{err}");
    let (code, err) = run("-l -f eth0 -t 1 -q 1 -s ::1 -p 70000");
    assert_eq!(code, 1);
    assert!(err.ends_with("ncdevmem: invalid port '70000'\n"), "{err}");
}

#[test]
fn unknown_interface() {
    let (code, err) = run("-f nope0 -t 1 -q 1");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "using ifindex=0\nncdevmem: no such interface: No such device\n"
    );
}
