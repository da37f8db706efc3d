//! Server (RX) mode: `-l`.
//!
//! Kernel: `do_server()` in ncdevmem.c (selftests-spec §3.5, §3.10). NIC configuration
//! (unless `-n`), bind-rx, accept one connection, then `recvmsg(MSG_SOCK_DEVMEM)` until
//! the peer closes: each dmabuf frag is checked against the bound id, copied out of the
//! dma-buf, validated or printed, and its token handed back with `SO_DEVMEM_DONTNEED`.

use std::io::Write;

use uapi::errno::{EAGAIN, EFAULT};
use uapi::socket::{
    DmabufCmsg, DmabufToken, MSG_SOCK_DEVMEM, SCM_DEVMEM_DMABUF, SCM_DEVMEM_LINEAR,
    SO_DEVMEM_DONTNEED, SOL_SOCKET,
};

use crate::addr::{parse_address, parse_port};
use crate::cmsg::cmsgs;
use crate::platform::Sys;
use crate::report::pr_err;
use crate::validate::Validator;
use crate::{Ctx, PAGE_SIZE};

/// Kernel: `char iobuf[819200]`.
const IOBUF_LEN: usize = 819_200;
/// Kernel: `char ctrl_data[sizeof(int) * 20000]`.
const CTRL_LEN: usize = 4 * 20_000;

impl Ctx<'_> {
    /// Kernel: `do_server()`.
    pub(crate) async fn do_server<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
    ) -> Result<(), ()> {
        let port = self.o.port.clone().unwrap_or_default();
        let server_ip = self.o.server_ip.clone().unwrap_or_default();
        let Some(server_sin) = parse_port(&port).and_then(|p| parse_address(&server_ip, p)) else {
            pr_err(&mut self.io.stderr, "parse server address", None);
            return Err(());
        };
        let mut ring_config = None;
        if !self.o.skip_config {
            let Some(rc) = self.get_ring_config() else {
                pr_err(
                    &mut self.io.stderr,
                    "Failed to get current ring configuration",
                    None,
                );
                return Err(());
            };
            ring_config = Some(rc);
            if self.configure_headersplit(&rc, true).is_err() {
                pr_err(
                    &mut self.io.stderr,
                    "Failed to enable TCP header split",
                    None,
                );
                self.restore_ring_config(&rc);
                return Err(());
            }
            if self.configure_rss() != 0 {
                pr_err(&mut self.io.stderr, "Failed to configure rss", None);
                self.restore_ring_config(&rc);
                return Err(());
            }
            if self.configure_flow_steering(&server_sin).is_err() {
                pr_err(
                    &mut self.io.stderr,
                    "Failed to configure flow steering",
                    None,
                );
                self.reset_rss();
                self.restore_ring_config(&rc);
                return Err(());
            }
        }
        let res = self.serve(os, mem, server_sin, &server_ip).await;
        if !self.o.skip_config {
            self.reset_flow_steering();
            self.reset_rss();
            if let Some(rc) = ring_config {
                self.restore_ring_config(&rc);
            }
        }
        res
    }

    /// bind-rx, accept, receive; the binding socket is dropped (unbound) on return.
    async fn serve<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
        server_sin: std::net::SocketAddrV6,
        server_ip: &str,
    ) -> Result<(), ()> {
        let queues = self.create_queues();
        let Ok((_ys, dmabuf_id)) = self.bind_rx_queue(mem.fd(), &queues) else {
            pr_err(&mut self.io.stderr, "Failed to bind", None);
            return Err(());
        };
        let socket_fd = match os.socket_inet6_stream() {
            Ok(fd) => fd,
            Err(e) => {
                pr_err(
                    &mut self.io.stderr,
                    "Failed to create socket",
                    e.raw_os_error(),
                );
                return Err(());
            }
        };
        let res = self
            .accept_and_receive(os, mem, socket_fd, server_sin, server_ip, dmabuf_id)
            .await;
        let _ = os.close(socket_fd);
        res
    }

    async fn accept_and_receive<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
        socket_fd: i32,
        server_sin: std::net::SocketAddrV6,
        server_ip: &str,
        dmabuf_id: u32,
    ) -> Result<(), ()> {
        self.enable_reuseaddr(os, socket_fd)?;
        let _ = writeln!(
            self.io.stderr,
            "binding to address {server_ip}:{}",
            server_sin.port()
        );
        if let Err(e) = os.bind(socket_fd, server_sin) {
            pr_err(&mut self.io.stderr, "Failed to bind", e.raw_os_error());
            return Err(());
        }
        if let Err(e) = os.listen(socket_fd, 1) {
            pr_err(&mut self.io.stderr, "Failed to listen", e.raw_os_error());
            return Err(());
        }
        let _ = writeln!(
            self.io.stderr,
            "Waiting or connection on {}:{}",
            server_sin.ip(),
            server_sin.port()
        );
        let (client_fd, client) = match os.accept(socket_fd).await {
            Ok(c) => c,
            Err(e) => {
                pr_err(&mut self.io.stderr, "Failed to accept", e.raw_os_error());
                return Err(());
            }
        };
        let _ = writeln!(
            self.io.stderr,
            "Got connection from {}:{}",
            client.ip(),
            client.port()
        );
        let res = self.receive_loop(os, mem, client_fd, dmabuf_id).await;
        let _ = os.close(client_fd);
        res
    }

    /// Kernel: `enable_reuseaddr()`.
    pub(crate) fn enable_reuseaddr<S: Sys>(&mut self, os: &S, fd: i32) -> Result<(), ()> {
        let one = 1i32.to_ne_bytes();
        if let Err(e) = os.setsockopt(fd, SOL_SOCKET, uapi::socket::SO_REUSEPORT, &one) {
            pr_err(&mut self.io.stderr, "SO_REUSEPORT failed", e.raw_os_error());
            return Err(());
        }
        if let Err(e) = os.setsockopt(fd, SOL_SOCKET, uapi::socket::SO_REUSEADDR, &one) {
            pr_err(&mut self.io.stderr, "SO_REUSEADDR failed", e.raw_os_error());
            return Err(());
        }
        Ok(())
    }

    async fn receive_loop<S: Sys>(
        &mut self,
        os: &S,
        mem: &devmem::dmabuf::Dmabuf,
        client_fd: i32,
        dmabuf_id: u32,
    ) -> Result<(), ()> {
        let mut validator = Validator::new(self.o.do_validation);
        let mut total_received: u64 = 0;
        let mut tmp = Vec::new();
        loop {
            let msg = os
                .recvmsg(client_fd, IOBUF_LEN, CTRL_LEN, MSG_SOCK_DEVMEM)
                .await;
            let msg = match msg {
                Ok(m) => {
                    let _ = writeln!(self.io.stderr, "recvmsg ret={}", m.len);
                    m
                }
                Err(e) => {
                    let _ = writeln!(self.io.stderr, "recvmsg ret=-1");
                    let errno = e.raw_os_error().unwrap_or(0);
                    if errno == EAGAIN {
                        continue;
                    }
                    let _ = writeln!(
                        self.io.stderr,
                        "recvmsg: {}",
                        crate::report::strerror(errno)
                    );
                    if errno == EFAULT {
                        pr_err(
                            &mut self.io.stderr,
                            "received EFAULT, won't recover",
                            Some(errno),
                        );
                        return Err(());
                    }
                    continue;
                }
            };
            if msg.len == 0 {
                pr_err(&mut self.io.stderr, "client exited", None);
                return Ok(());
            }
            let mut is_devmem = false;
            for cm in cmsgs(&msg.control) {
                if cm.level != SOL_SOCKET
                    || (cm.ty != SCM_DEVMEM_DMABUF && cm.ty != SCM_DEVMEM_LINEAR)
                {
                    let _ = writeln!(self.io.stderr, "skipping non-devmem cmsg");
                    continue;
                }
                let Ok(dc) = DmabufCmsg::from_bytes(cm.data) else {
                    let _ = writeln!(self.io.stderr, "skipping non-devmem cmsg");
                    continue;
                };
                is_devmem = true;
                if cm.ty == SCM_DEVMEM_LINEAR {
                    let _ = writeln!(
                        self.io.stderr,
                        "SCM_DEVMEM_LINEAR. dmabuf_cmsg->frag_size={}",
                        dc.frag_size
                    );
                    if self.o.fail_on_linear {
                        pr_err(
                            &mut self.io.stderr,
                            "received SCM_DEVMEM_LINEAR but --fail-on-linear (-L) set",
                            None,
                        );
                        return Err(());
                    }
                    continue;
                }
                total_received += u64::from(dc.frag_size);
                let _ = writeln!(
                    self.io.stderr,
                    "received frag_page={}, in_page_offset={}, frag_offset={}, frag_size={}, token={}, total_received={}, dmabuf_id={}",
                    dc.frag_offset >> crate::PAGE_SHIFT,
                    dc.frag_offset % PAGE_SIZE as u64,
                    dc.frag_offset,
                    dc.frag_size,
                    dc.frag_token,
                    total_received,
                    dc.dmabuf_id
                );
                if dc.dmabuf_id != dmabuf_id {
                    pr_err(
                        &mut self.io.stderr,
                        "received on wrong dmabuf_id: flow steering error",
                        None,
                    );
                    return Err(());
                }
                tmp.resize(dc.frag_size as usize, 0);
                let copied = usize::try_from(dc.frag_offset).ok().and_then(|off| {
                    mem.sync_start(devmem::dmabuf::Access::Read).ok()?;
                    let r = mem.read_at(off, &mut tmp).ok();
                    mem.sync_end(devmem::dmabuf::Access::Read).ok()?;
                    r
                });
                if copied.is_none() {
                    pr_err(&mut self.io.stderr, "frag outside the dma-buf", None);
                    return Err(());
                }
                if self.o.do_validation != 0 {
                    if validator
                        .validate(&tmp, &mut self.io.stdout, &mut self.io.stderr)
                        .is_err()
                    {
                        return Err(());
                    }
                } else {
                    let _ = self.io.stdout.write_all(&tmp);
                }
                let token = DmabufToken {
                    token_start: dc.frag_token,
                    token_count: 1,
                };
                match os.setsockopt(client_fd, SOL_SOCKET, SO_DEVMEM_DONTNEED, &token.to_bytes()) {
                    Ok(1) => {}
                    Ok(_) => {
                        pr_err(
                            &mut self.io.stderr,
                            "SO_DEVMEM_DONTNEED not enough tokens",
                            None,
                        );
                        return Err(());
                    }
                    Err(e) => {
                        pr_err(
                            &mut self.io.stderr,
                            "SO_DEVMEM_DONTNEED not enough tokens",
                            e.raw_os_error(),
                        );
                        return Err(());
                    }
                }
            }
            if !is_devmem {
                pr_err(&mut self.io.stderr, "flow steering error", None);
                return Err(());
            }
            let _ = writeln!(self.io.stderr, "total_received={total_received}");
        }
    }
}
