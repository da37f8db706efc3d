//! NIC configuration ncdevmem does around a run: header split through YNL ethtool,
//! RSS and ntuple rules through the `ethtool` command, the channel-count probe, and
//! the bind-rx / bind-tx requests.
//!
//! Kernel: `get_ring_config()`, `restore_ring_config()`, `configure_headersplit()`,
//! `configure_rss()`, `reset_rss()`, `ethtool_add_flow()`, `reset_flow_steering()`,
//! `configure_flow_steering()`, `check_changing_channels()`, `rxq_num()`,
//! `bind_rx_queue()`, `bind_tx_queue()` in ncdevmem.c. Each YNL call opens its own
//! socket, as the C code does; only the bind sockets stay open (closing one unbinds).

use std::io::Write;
use std::net::SocketAddrV6;

use devmem::ethtool::{ChannelsSet, EthtoolClient, Rings, RingsSet, TcpDataSplit};
use devmem::netdev::{NetdevClient, QueueType};

use crate::Ctx;
use crate::addr::is_v4_mapped;
use crate::platform::Transport;
use crate::report::{strerror, ynl_msg};

/// Kernel: `MAX_FLOWS`: ntuple rules one run remembers.
pub const MAX_FLOWS: usize = 8;

/// A netdev socket holding a binding: dropping it unbinds.
pub type BindSock = NetdevClient<Transport>;

fn tcp_data_split_str(v: Option<TcpDataSplit>) -> &'static str {
    match v {
        Some(TcpDataSplit::Unknown) => "auto",
        Some(TcpDataSplit::Disabled) => "off",
        Some(TcpDataSplit::Enabled) => "on",
        _ => "?",
    }
}

impl Ctx<'_> {
    fn ethtool(&mut self) -> Option<EthtoolClient<Transport>> {
        match self.plat.genl() {
            Ok(t) => Some(EthtoolClient::new(t)),
            Err(e) => {
                let _ = writeln!(self.io.stderr, "YNL: {e}");
                None
            }
        }
    }

    /// Kernel: `rxq_num()`: rx + combined channel count, -1 on failure.
    pub(crate) fn rxq_num(&mut self) -> i32 {
        let ifindex = self.ifindex;
        let Some(mut ys) = self.ethtool() else {
            return -1;
        };
        match ys.channels_get(ifindex) {
            Ok(c) => (c.rx_count + c.combined_count) as i32,
            Err(_) => -1,
        }
    }

    /// Kernel: `get_ring_config()`.
    pub(crate) fn get_ring_config(&mut self) -> Option<Rings> {
        let ifindex = self.ifindex;
        let mut ys = self.ethtool()?;
        ys.rings_get(ifindex).ok()
    }

    /// Kernel: `configure_headersplit()`: on = enabled (+ hds-thresh 0 when the device
    /// reports one), off = unknown (driver default). Prints the state read back.
    pub(crate) fn configure_headersplit(&mut self, old: &Rings, on: bool) -> Result<(), ()> {
        let ifindex = self.ifindex;
        let Some(mut ys) = self.ethtool() else {
            return Err(());
        };
        let set = if on {
            RingsSet {
                tcp_data_split: Some(TcpDataSplit::Enabled),
                hds_thresh: old.hds_thresh.map(|_| 0),
                ..RingsSet::default()
            }
        } else {
            RingsSet {
                tcp_data_split: Some(TcpDataSplit::Unknown),
                ..RingsSet::default()
            }
        };
        if let Err(e) = ys.rings_set(ifindex, &set) {
            let _ = writeln!(self.io.stderr, "YNL failed: {}", ynl_msg(&e));
            return Err(());
        }
        if let Ok(r) = ys.rings_get(ifindex) {
            let _ = writeln!(
                self.io.stderr,
                "TCP header split: {}",
                tcp_data_split_str(r.tcp_data_split)
            );
        }
        Ok(())
    }

    /// Kernel: `restore_ring_config()`: back to "unknown" plus the old hds-thresh; if
    /// that did not bring back the saved tcp-data-split, set the saved value explicitly.
    pub(crate) fn restore_ring_config(&mut self, config: &Rings) {
        let ifindex = self.ifindex;
        let Some(mut ys) = self.ethtool() else {
            return;
        };
        let mut set = RingsSet {
            tcp_data_split: Some(TcpDataSplit::Unknown),
            hds_thresh: config.hds_thresh,
            ..RingsSet::default()
        };
        if let Err(e) = ys.rings_set(ifindex, &set) {
            let _ = writeln!(self.io.stderr, "YNL restoring HDS cfg: {}", ynl_msg(&e));
        }
        let now = ys.rings_get(ifindex).ok();
        if now.map(|r| r.tcp_data_split) != Some(config.tcp_data_split) {
            set.tcp_data_split = config.tcp_data_split;
            if let Err(e) = ys.rings_set(ifindex, &set) {
                let _ = writeln!(
                    self.io.stderr,
                    "YNL restoring expl HDS cfg: {}",
                    ynl_msg(&e)
                );
            }
        }
    }

    /// Kernel: `__run_command()`: echo `Running: ...` on stderr, run, return the exit
    /// status and the first stdout line without its newline.
    pub(crate) fn run_command(&mut self, cmd: &str) -> (i32, String) {
        let _ = writeln!(self.io.stderr, "Running: {cmd}");
        let out = self.io.shell.popen(cmd);
        let first = out.stdout.lines().next().unwrap_or("").to_string();
        (out.status, first)
    }

    /// Kernel: `configure_rss()`: `ethtool -X <if> equal <start_queue>`.
    pub(crate) fn configure_rss(&mut self) -> i32 {
        let cmd = format!(
            "ethtool -X {} equal {} >&2",
            self.ifname, self.o.start_queue
        );
        self.run_command(&cmd).0
    }

    /// Kernel: `reset_rss()`.
    pub(crate) fn reset_rss(&mut self) {
        let cmd = format!("ethtool -X {} default >&2", self.ifname);
        self.run_command(&cmd);
    }

    /// Kernel: `ethtool_add_flow()`: runs `ethtool -N <if> <rule>`, parses "Added rule
    /// with ID N" and remembers N for teardown. Negative on failure.
    pub(crate) fn ethtool_add_flow(&mut self, rule: &str) -> i64 {
        let Some(slot) = self.ntuple_ids.iter().position(|&id| id == -1) else {
            let _ = writeln!(self.io.stderr, "Error: too many flows");
            return -1;
        };
        let cmd = format!("ethtool -N {} {rule}", self.ifname);
        let (status, out) = self.run_command(&cmd);
        if status != 0 {
            return -i64::from(status.abs().max(1));
        }
        const KEY: &str = "Added rule with ID ";
        let Some(at) = out.find(KEY) else {
            return -1;
        };
        let digits: String = out[at + KEY.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let Ok(id) = digits.parse::<i32>() else {
            return -1;
        };
        let _ = writeln!(self.io.stderr, "Added flow rule with ID {id}");
        self.ntuple_ids[slot] = id;
        i64::from(id)
    }

    /// Kernel: `reset_flow_steering()`.
    pub(crate) fn reset_flow_steering(&mut self) {
        for i in 0..MAX_FLOWS {
            let id = self.ntuple_ids[i];
            if id == -1 {
                continue;
            }
            let cmd = format!("ethtool -N {} delete {id}", self.ifname);
            self.run_command(&cmd);
            self.ntuple_ids[i] = -1;
        }
    }

    /// Kernel: `configure_flow_steering()`: the 5-tuple rule (with `-c`), else the
    /// 3-tuple one; `tcp4` with the dotted address for v4-mapped servers. The rule text
    /// keeps the C format's blanks for absent fields.
    pub(crate) fn configure_flow_steering(&mut self, server: &SocketAddrV6) -> Result<(), ()> {
        let (ty, addr) = match server.ip().to_ipv4_mapped() {
            Some(v4) if is_v4_mapped(server.ip()) => ("tcp4", v4.to_string()),
            _ => ("tcp6", server.ip().to_string()),
        };
        let port = self.o.port.clone().unwrap_or_default();
        let client = self.o.client_ip.clone();
        let q = self.o.start_queue;
        let five = format!(
            "flow-type {ty} {} {} dst-ip {addr} {} {} dst-port {port} queue {q}",
            if client.is_some() { "src-ip" } else { "" },
            client.as_deref().unwrap_or(""),
            if client.is_some() { "src-port" } else { "" },
            if client.is_some() { port.as_str() } else { "" },
        );
        if self.ethtool_add_flow(&five) < 0 {
            let three = format!("flow-type {ty} dst-ip {addr} dst-port {port} queue {q}");
            if self.ethtool_add_flow(&three) < 0 {
                return Err(());
            }
        }
        Ok(())
    }

    /// Kernel: `check_changing_channels()`: asks for rx/tx channel counts; returns Ok
    /// when the kernel accepted (and the old counts were put back), Err when refused.
    pub(crate) fn check_changing_channels(&mut self, rx: u32, tx: u32) -> Result<(), ()> {
        let _ = writeln!(self.io.stderr, "setting channel count rx:{rx} tx:{tx}");
        let ifindex = self.ifindex;
        let Some(mut ys) = self.ethtool() else {
            return Err(());
        };
        let chan = match ys.channels_get(ifindex) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(self.io.stderr, "YNL get channels: {}", ynl_msg(&e));
                return Err(());
            }
        };
        // The kernel reports a count only for the kinds the device has (max != 0).
        let (has_combined, has_rx, has_tx) =
            (chan.combined_max > 0, chan.rx_max > 0, chan.tx_max > 0);
        let mut set = ChannelsSet::default();
        if has_combined {
            if has_rx || has_tx {
                set.rx = Some(0);
                set.tx = Some(0);
            }
            if rx == tx {
                set.combined = Some(rx);
            } else if rx > tx {
                set.combined = Some(tx);
                set.rx = Some(rx - tx);
            } else {
                set.combined = Some(rx);
                set.tx = Some(tx - rx);
            }
        } else if has_rx {
            set.rx = Some(rx);
            set.tx = Some(tx);
        } else {
            let _ = writeln!(
                self.io.stderr,
                "Error: device has neither combined nor rx channels"
            );
            return Err(());
        }
        match ys.channels_set(ifindex, &set) {
            Err(e) => {
                let _ = writeln!(self.io.stderr, "YNL set channels: {}", ynl_msg(&e));
                Err(())
            }
            Ok(()) => {
                // Expected a failure: go back to the previous settings.
                let back = ChannelsSet {
                    combined: Some(chan.combined_count),
                    rx: Some(chan.rx_count),
                    tx: Some(chan.tx_count),
                    ..ChannelsSet::default()
                };
                if let Err(e) = ys.channels_set(ifindex, &back) {
                    let _ = writeln!(self.io.stderr, "YNL un-setting channels: {}", ynl_msg(&e));
                }
                Ok(())
            }
        }
    }

    /// Kernel: `bind_rx_queue()`: bind-rx of `queues`; the socket returned holds the
    /// binding. Prints `got dmabuf id=N`.
    pub(crate) fn bind_rx_queue(
        &mut self,
        fd: std::os::fd::BorrowedFd<'_>,
        queues: &[(u32, QueueType)],
    ) -> Result<(BindSock, u32), ()> {
        let t = match self.plat.genl() {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(self.io.stderr, "YNL: {e}");
                return Err(());
            }
        };
        let mut ys = NetdevClient::new(t);
        match ys.bind_rx(self.ifindex, fd, queues) {
            Ok(id) => {
                let _ = writeln!(self.io.stderr, "got dmabuf id={id}");
                Ok((ys, id))
            }
            Err(e) => {
                self.ynl_bind_failed("netdev_bind_rx", &e);
                Err(())
            }
        }
    }

    /// Kernel: `bind_tx_queue()`. Prints `got tx dmabuf id=N`.
    pub(crate) fn bind_tx_queue(
        &mut self,
        fd: std::os::fd::BorrowedFd<'_>,
    ) -> Result<(BindSock, u32), devmem::Error> {
        let t = match self.plat.genl() {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(self.io.stderr, "YNL: {e}");
                return Err(devmem::Error::Io(e));
            }
        };
        let mut ys = NetdevClient::new(t);
        match ys.bind_tx(self.ifindex, fd) {
            Ok(id) => {
                let _ = writeln!(self.io.stderr, "got tx dmabuf id={id}");
                Ok((ys, id))
            }
            Err(e) => {
                self.ynl_bind_failed("netdev_bind_tx", &e);
                Err(e)
            }
        }
    }

    fn ynl_bind_failed(&mut self, what: &str, e: &devmem::Error) {
        let errno = e.errno().unwrap_or(0);
        let _ = writeln!(self.io.stderr, "{what}: {}", strerror(errno));
        let _ = writeln!(self.io.stderr, "YNL failed: {}", ynl_msg(e));
    }
}
