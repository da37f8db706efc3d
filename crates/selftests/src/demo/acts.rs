//! The demo's acts, each on a fresh lab, each run by emulated processes: a socat
//! listener on the remote, ncdevmem (or the minimal sender) in the container.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;

use simkernel::{Cred, Duration, Frag, KernelModel, Skb};

use super::counters::DevRow;
use super::lab::Lab;
use super::sender::{HostBinder, SendOutcome, devmem_send};
use crate::config::Driver;
use crate::devmem_lib::{ncdevmem_tx, socat_listen};
use crate::env::{CMD_TIMEOUT, Host, REMOTE_V6};
use crate::tools::CmdOutput;

/// What ncdevmem sends: selftests' `echo -e "hello\nworld"`.
pub const PAYLOAD: &str = "hello\nworld\n";

/// One act as printed: what was done (command lines, quoted output), and the counters
/// once it was over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// Heading.
    pub title: String,
    /// Narration, one line each.
    pub lines: Vec<String>,
    /// Counters at the end of the act.
    pub rows: Vec<DevRow>,
    /// Bindings alive when the act ended.
    pub live_bindings_after: u64,
}

impl Act {
    /// The row of device `name`.
    pub fn row(&self, name: &str) -> Option<&DevRow> {
        self.rows.iter().find(|r| r.name == name)
    }
}

const ROOT: Cred = Cred {
    cap_net_admin: true,
};

/// Starts the remote `socat -U - TCP6-LISTEN:port` and the container's
/// `ncdevmem -f nk_guest ... -n` fed with [`PAYLOAD`]; returns ncdevmem's output and
/// the socat job and its port.
fn ncdevmem_tx_run(
    lab: &Lab,
    lines: &mut Vec<String>,
) -> Result<(CmdOutput, crate::tools::sh::Job, u16), String> {
    let port = lab.port();
    let listen = socat_listen(&lab.env, port);
    let socat = lab.bkg(&listen, Host::Remote);
    lab.wait_remote_listen(port)?;
    lines.push(format!("remote$ {listen} &"));
    let tx = ncdevmem_tx(&lab.env, port, 0);
    let shell = format!("bash -c 'echo -e \"hello\\nworld\"| {tx}'");
    let job = lab.bkg(&lab.env.in_netns(&shell), Host::Local);
    let out = lab.wait(&job)?;
    lines.push(format!("container$ {shell}"));
    lines.push(format!("  exit {}; stderr:", out.status));
    for l in out.stderr.lines() {
        lines.push(format!("  | {l}"));
    }
    Ok((out, socat, port))
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

/// Act 1's observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreSeries {
    /// ncdevmem TX in the container (bind-tx on nk_guest).
    pub ncdevmem: CmdOutput,
    /// The host's binding on eth0.
    pub binder_id: u32,
    /// The minimal sender using that binding from the container.
    pub sender: SendOutcome,
    /// The kernel probe's result: a devmem skb queued on nk_guest.
    pub probe: String,
    /// What the remote socat printed.
    pub remote: String,
}

/// Act 1: the kernel before the series.
pub fn pre_series(driver: Driver) -> Result<(Act, PreSeries), String> {
    let lab = Lab::new(KernelModel::PreSeries, driver)?;
    let mut lines = vec![format!(
        "harness: queue-create leases eth0 RX queue {} to nk_guest (from the container)",
        lab.src_queue
    )];
    let (ncdevmem, socat, dst_port) = ncdevmem_tx_run(&lab, &mut lines)?;
    lines.push("problem 1: bind-tx on nk_guest is refused: netkit has no netmem TX support".into());

    let ep = &lab.env.ep;
    let host_proc = ep.world.borrow().process(ep.host_ns, ROOT);
    let mut binder = HostBinder::bind(&host_proc, ep.ifindex, PAYLOAD.as_bytes())?;
    lines.push(format!(
        "host$ devmem-bind-tx -f eth0   (holds its netlink socket) -> dmabuf id {}",
        binder.id
    ));
    // The socat listener is still waiting: ncdevmem failed before connecting.
    let cont = ep.world.borrow().process(lab.env.netns_id, ROOT);
    let slot: Rc<RefCell<Option<Result<SendOutcome, String>>>> = Rc::default();
    let dst = SocketAddr::new(IpAddr::V6(REMOTE_V6), dst_port);
    let fut = devmem_send(
        cont.clone(),
        lab.env.nk_guest_ifname.clone(),
        dst,
        binder.id,
        PAYLOAD.len(),
    );
    let s = slot.clone();
    ep.world.borrow_mut().spawn(&cont, async move {
        *s.borrow_mut() = Some(fut.await);
    });
    lab.drive(CMD_TIMEOUT, || slot.borrow().is_some())?;
    let sender = slot.borrow_mut().take().ok_or("sender vanished")??;
    lines.push(format!(
        "container$ devmem-send -f nk_guest -d {} [{REMOTE_V6}]:{dst_port}",
        binder.id
    ));
    lines.push(format!(
        "  connect: {}; sendmsg(MSG_ZEROCOPY, SCM_DEVMEM_DMABUF={}): {}",
        match sender.connect {
            Ok(()) => "ok".to_string(),
            Err(e) => errno_text(Err(e)),
        },
        binder.id,
        sender.sendmsg.map_or("not reached".into(), errno_text)
    ));
    lines.push(
        "problem 2: the route check accepts only binding->dev (eth0); the socket routes \
         out nk_guest"
            .into(),
    );

    let probe = {
        let mut k = ep.kernel.borrow_mut();
        let b = k
            .net_devmem_lookup_dmabuf(binder.id)
            .ok_or("binding vanished")?;
        let niov = b
            .net_devmem_get_niov_at(0)
            .ok_or("binding has no net_iov at offset 0")?
            .0;
        drop(b);
        let skb = Skb {
            head: vec![0; 74],
            frags: vec![Frag::NetIov {
                niov,
                off: 0,
                len: PAYLOAD.len(),
            }],
            ..Skb::default()
        };
        format!("{:?}", k.dev_queue_xmit(lab.nk_guest, skb))
    };
    lines.push(format!(
        "kernel probe (no socket gets this far): an skb with that binding's net_iov queued \
         on nk_guest -> {probe}: netmem_tx none drops unreadable skbs"
    ));
    binder.release();
    let out = lab.wait(&socat)?;
    lines.push(format!(
        "remote received {} bytes: {}",
        out.stdout.len(),
        quote(&out.stdout)
    ));
    let act = Act {
        title: "before the series (netmem_tx is a bool; netkit has none)".into(),
        lines,
        rows: lab.rows(),
        live_bindings_after: lab.live_bindings(),
    };
    Ok((
        act,
        PreSeries {
            ncdevmem,
            binder_id: binder.id,
            sender,
            probe,
            remote: out.stdout,
        },
    ))
}

fn errno_text(r: Result<usize, i32>) -> String {
    match r {
        Ok(n) => format!("ok ({n})"),
        Err(e) => format!(
            "{} ({})",
            uapi::errno::name(e).unwrap_or("?"),
            ncdevmem::report::strerror(e)
        ),
    }
}

/// Act 2's observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// ncdevmem TX in the container.
    pub ncdevmem: CmdOutput,
    /// `binding->dev`, `binding->vdev` of the binding ncdevmem made.
    pub binding: (String, String),
    /// What the remote socat printed.
    pub remote: String,
}

/// Act 2: with the series.
pub fn series(driver: Driver) -> Result<(Act, Series), String> {
    let lab = Lab::new(KernelModel::Series, driver)?;
    let mut lines = vec![format!(
        "harness: queue-create leases eth0 RX queue {} to nk_guest (from the container)",
        lab.src_queue
    )];
    let (ncdevmem, socat, _) = ncdevmem_tx_run(&lab, &mut lines)?;
    let out = lab.wait(&socat)?;
    let seen = lab.sampler.seen();
    let b = seen.first().ok_or("ncdevmem made no binding")?;
    let binding = (lab.name(b.dev), lab.name(b.vdev));
    lines.push(format!(
        "bind-tx on nk_guest -> dmabuf id {}: binding->dev = {}, binding->vdev = {}",
        b.id, binding.0, binding.1
    ));
    lines.push(
        "the route check accepts vdev (nk_guest); nk_guest passes the skb (NO_DMA); \
         nk_primary_rx_redirect sends it to eth0, which accepts it (binding->dev == eth0)"
            .into(),
    );
    lines.push(format!(
        "remote received {} bytes: {}",
        out.stdout.len(),
        quote(&out.stdout)
    ));
    // ncdevmem's exit closed its netlink socket; let the last ACKs free the skbs.
    lab.drive(Duration::from_secs(1), || false).ok();
    let act = Act {
        title: "with the series (netkit is NETMEM_TX_NO_DMA)".into(),
        lines,
        rows: lab.rows(),
        live_bindings_after: lab.live_bindings(),
    };
    Ok((
        act,
        Series {
            ncdevmem,
            binding,
            remote: out.stdout,
        },
    ))
}

/// Act 3's observations (one per validation setting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misdirected {
    /// TX validation on?
    pub validation: bool,
    /// ncdevmem TX in the container.
    pub ncdevmem: CmdOutput,
    /// Frames remote eth1 received while ncdevmem ran (its link-up traffic excluded).
    pub remote_eth1_rx: u64,
}

/// Act 3: the container's devmem segments sent out eth1, which holds no binding.
pub fn misdirected(driver: Driver, validation: bool) -> Result<(Act, Misdirected), String> {
    let mut lab = Lab::new(KernelModel::Series, driver)?;
    let eth1 = lab.add_eth1(driver)?;
    let remote_rx = |lab: &Lab| {
        lab.env
            .ep
            .kernel
            .borrow()
            .device(eth1.remote)
            .stats
            .rx_packets
    };
    // eth1's own link-up frames reach the remote first.
    lab.drive(Duration::from_millis(10), || false).ok();
    let rx_before = remote_rx(&lab);
    lab.env.ep.kernel.borrow_mut().set_tx_validation(validation);
    let mut lines = vec![
        format!(
            "harness: queue-create leases eth0 RX queue {} to nk_guest; host eth1 ({}, \
             no binding) wired to remote eth1",
            lab.src_queue,
            driver.name()
        ),
        "host$ tc filter add dev nk_host ingress bpf da obj misdirect.bpf.o   \
         (TCP segments with payload -> bpf_redirect_neigh(eth1))"
            .into(),
        format!(
            "debug switch: TX validation {}",
            if validation { "on" } else { "OFF" }
        ),
    ];
    let (ncdevmem, _socat, _) = ncdevmem_tx_run(&lab, &mut lines)?;
    lines.push(if validation {
        "validate_xmit_unreadable_skb(eth1): binding->dev is eth0, not eth1 -> drop \
         (tx_dropped); no DMA is attempted"
            .into()
    } else {
        "eth1's DMA engine reads IOVAs of a dma-buf mapped for eth0 only: its IOMMU \
         faults, the frames never reach the wire"
            .into()
    });
    let remote_eth1_rx = remote_rx(&lab) - rx_before;
    lines.push(format!(
        "remote eth1 received {remote_eth1_rx} frames while ncdevmem ran; the remote socat \
         got nothing"
    ));
    lines.push(
        "the binding outlives ncdevmem: TCP's retransmit queue still holds its net_iovs".into(),
    );
    let act = Act {
        title: format!(
            "what TX validation prevents (validation {})",
            if validation { "on" } else { "off" }
        ),
        lines,
        rows: lab.rows(),
        live_bindings_after: lab.live_bindings(),
    };
    Ok((
        act,
        Misdirected {
            validation,
            ncdevmem,
            remote_eth1_rx,
        },
    ))
}
