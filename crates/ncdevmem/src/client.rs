//! Client (TX) mode: no `-l`.
//!
//! Kernel: `do_client()` and `wait_compl()` in ncdevmem.c (selftests-spec §3.7, §3.8).
//! Bind the socket to the interface, bind-tx the dma-buf, connect, then for each stdin
//! line: copy it to dma-buf offset 0, send it with `MSG_ZEROCOPY` and an
//! `SCM_DEVMEM_DMABUF` cmsg whose iovec bases are dma-buf offsets, and wait for the
//! zerocopy completion on the error queue before reusing the buffer.

use std::io::{BufRead, Write};

use uapi::errno::EAGAIN;
use uapi::socket::{
    IP_RECVERR, IPV6_RECVERR, MSG_CTRUNC, MSG_ERRQUEUE, MSG_ZEROCOPY, POLLERR, SCM_DEVMEM_DMABUF,
    SO_BINDTODEVICE, SO_EE_ORIGIN_ZEROCOPY, SO_ZEROCOPY, SOL_IP, SOL_IPV6, SOL_SOCKET,
    SockExtendedErr, cmsg_space,
};

use crate::Ctx;
use crate::addr::{parse_address, parse_port};
use crate::cmsg::{build, cmsgs};
use crate::platform::Sys;
use crate::report::pr_err;

/// Kernel: `MAX_IOV`.
pub const MAX_IOV: usize = 1024;
/// Kernel: `waittime_ms`: how long to wait for each completion.
pub const WAITTIME_MS: u64 = 500;

/// The iovecs for one line of `len` bytes: one at offset 0, or `-z` chunks at offsets
/// `i * max_chunk` with the remainder in the last. `None` past [`MAX_IOV`].
pub fn line_iovs(len: usize, max_chunk: usize) -> Option<Vec<(u64, usize)>> {
    if max_chunk == 0 {
        return Some(vec![(0, len)]);
    }
    let n = len.div_ceil(max_chunk);
    if n > MAX_IOV {
        return None;
    }
    let mut v: Vec<(u64, usize)> = (0..n)
        .map(|i| ((i * max_chunk) as u64, max_chunk))
        .collect();
    if let Some(last) = v.last_mut() {
        last.1 = len - (n - 1) * max_chunk;
    }
    Some(v)
}

impl Ctx<'_> {
    /// Kernel: `do_client()`.
    pub(crate) async fn do_client<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
    ) -> Result<(), ()> {
        let port = self.o.port.clone().unwrap_or_default();
        let server_ip = self.o.server_ip.clone().unwrap_or_default();
        let Some(p) = parse_port(&port) else {
            pr_err(&mut self.io.stderr, "parse server address", None);
            return Err(());
        };
        let Some(server_sin) = parse_address(&server_ip, p) else {
            pr_err(&mut self.io.stderr, "parse server address", None);
            return Err(());
        };
        let client_sin = match self.o.client_ip.clone() {
            Some(c) => match parse_address(&c, p) {
                Some(a) => Some(a),
                None => {
                    pr_err(&mut self.io.stderr, "parse client address", None);
                    return Err(());
                }
            },
            None => None,
        };
        let fd = match os.socket_inet6_stream() {
            Ok(fd) => fd,
            Err(e) => {
                pr_err(&mut self.io.stderr, "create socket", e.raw_os_error());
                return Err(());
            }
        };
        let res = self
            .client_on(os, mem, fd, server_sin, client_sin, &server_ip)
            .await;
        let _ = os.close(fd);
        res
    }

    async fn client_on<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
        fd: i32,
        server_sin: std::net::SocketAddrV6,
        client_sin: Option<std::net::SocketAddrV6>,
        server_ip: &str,
    ) -> Result<(), ()> {
        self.enable_reuseaddr(os, fd)?;
        let mut name = self.ifname.clone().into_bytes();
        name.push(0);
        if let Err(e) = os.setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, &name) {
            pr_err(&mut self.io.stderr, "bindtodevice", e.raw_os_error());
            return Err(());
        }
        let (_ys, tx_dmabuf_id) = match self.bind_tx_queue(mem.fd()) {
            Ok(b) => b,
            Err(e) => {
                pr_err(&mut self.io.stderr, "Failed to bind", e.errno());
                return Err(());
            }
        };
        if let Some(c) = client_sin
            && let Err(e) = os.bind(fd, c)
        {
            pr_err(&mut self.io.stderr, "bind", e.raw_os_error());
            return Err(());
        }
        if let Err(e) = os.setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &1i32.to_ne_bytes()) {
            pr_err(&mut self.io.stderr, "set sock opt", e.raw_os_error());
            return Err(());
        }
        let _ = writeln!(
            self.io.stderr,
            "Connect to {server_ip} {} (via {})",
            server_sin.port(),
            self.ifname
        );
        if let Err(e) = os.connect(fd, server_sin).await {
            pr_err(&mut self.io.stderr, "connect", e.raw_os_error());
            return Err(());
        }
        let control = build(SOL_SOCKET, SCM_DEVMEM_DMABUF, &tx_dmabuf_id.to_ne_bytes());
        loop {
            let mut line = Vec::new();
            match self.io.stdin.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    pr_err(&mut self.io.stderr, "read stdin", e.raw_os_error());
                    return Err(());
                }
            }
            let Some(iov) = line_iovs(line.len(), self.o.max_chunk) else {
                pr_err(
                    &mut self.io.stderr,
                    &format!(
                        "can't partition {} bytes into maximum of {MAX_IOV} chunks",
                        line.len()
                    ),
                    None,
                );
                return Err(());
            };
            let copied = mem
                .sync_start(devmem::dmabuf::Access::Write)
                .and_then(|()| mem.write_at(0, &line))
                .and_then(|()| mem.sync_end(devmem::dmabuf::Access::Write));
            if let Err(e) = copied {
                pr_err(&mut self.io.stderr, &format!("copy to dma-buf: {e}"), None);
                return Err(());
            }
            let ret = match os.sendmsg_iov(fd, &iov, &control, MSG_ZEROCOPY).await {
                Ok(n) => n,
                Err(e) => {
                    pr_err(&mut self.io.stderr, "Failed sendmsg", e.raw_os_error());
                    return Err(());
                }
            };
            let _ = writeln!(self.io.stderr, "sendmsg_ret={ret}");
            if ret != line.len() {
                pr_err(
                    &mut self.io.stderr,
                    &format!("Did not send all bytes {ret} vs {}", line.len()),
                    None,
                );
                return Err(());
            }
            self.wait_compl(os, fd).await?;
        }
        let _ = writeln!(self.io.stderr, "ncdevmem: tx ok");
        Ok(())
    }

    /// Kernel: `wait_compl()`: poll for POLLERR and read the error queue until one
    /// zerocopy completion arrives, within [`WAITTIME_MS`].
    async fn wait_compl<S: Sys>(&mut self, os: &S, fd: i32) -> Result<(), ()> {
        let tstop = os.now_ms() + WAITTIME_MS;
        while os.now_ms() < tstop {
            let revents = match os.poll(fd, 0, WAITTIME_MS as i32).await {
                Ok(r) => r,
                Err(e) => {
                    pr_err(&mut self.io.stderr, "poll", e.raw_os_error());
                    return Err(());
                }
            };
            if revents & POLLERR == 0 {
                continue;
            }
            let msg = match os.recvmsg(fd, 0, cmsg_space(100), MSG_ERRQUEUE).await {
                Ok(m) => m,
                Err(e) if e.raw_os_error() == Some(EAGAIN) => continue,
                Err(e) => {
                    pr_err(
                        &mut self.io.stderr,
                        "recvmsg(MSG_ERRQUEUE)",
                        e.raw_os_error(),
                    );
                    return Err(());
                }
            };
            if msg.flags & MSG_CTRUNC != 0 {
                pr_err(&mut self.io.stderr, "MSG_CTRUNC", None);
                return Err(());
            }
            for cm in cmsgs(&msg.control) {
                let ours = (cm.level == SOL_IP && cm.ty == IP_RECVERR)
                    || (cm.level == SOL_IPV6 && cm.ty == IPV6_RECVERR);
                if !ours {
                    continue;
                }
                let Ok(serr) = SockExtendedErr::from_bytes(cm.data) else {
                    continue;
                };
                if serr.ee_origin != SO_EE_ORIGIN_ZEROCOPY {
                    pr_err(
                        &mut self.io.stderr,
                        &format!("wrong origin {}", serr.ee_origin),
                        None,
                    );
                    return Err(());
                }
                if serr.ee_errno != 0 {
                    pr_err(
                        &mut self.io.stderr,
                        &format!("wrong errno {}", serr.ee_errno),
                        None,
                    );
                    return Err(());
                }
                let _ = writeln!(
                    self.io.stderr,
                    "tx complete [{},{}]",
                    serr.ee_info, serr.ee_data
                );
                return Ok(());
            }
        }
        pr_err(&mut self.io.stderr, "did not receive tx completion", None);
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iovecs_per_line() {
        assert_eq!(line_iovs(6, 0), Some(vec![(0, 6)]));
        assert_eq!(line_iovs(6, 3), Some(vec![(0, 3), (3, 3)]));
        assert_eq!(line_iovs(7, 3), Some(vec![(0, 3), (3, 3), (6, 1)]));
        assert_eq!(
            line_iovs(1024, 1),
            Some((0..1024).map(|i| (i, 1)).collect())
        );
        assert_eq!(line_iovs(1025, 1), None);
    }
}
