//! Direct-action BPF classifiers on clsact, and running a chain.
//!
//! Kernel: `net/sched/cls_bpf.c` (`cls_bpf_classify()` in direct-action mode: the
//! program's return value is the action; `TC_ACT_UNSPEC` falls through to the next
//! filter) and `tc_new_tfilter()` / `tc_del_tfilter()` (auto `pref` 49152 for the first
//! filter, then one below the lowest; no clsact → EINVAL; unknown pref → ENOENT).

use std::rc::Rc;

use uapi::errno::{EEXIST, EINVAL, ENODEV, ENOENT};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::dev::{DevId, XmitDrop, XmitResult};
use crate::net::core::dev_rx::IngressResult;
use crate::net::core::skbuff::Skb;
use crate::net::sched::{Redirect, TcAction, TcCtx, TcDir, TcProgram};

/// Kernel: `tcf_auto_prio()` for the first filter of a chain.
pub const TC_AUTO_PREF: u32 = 49152;

/// One `tc filter ... bpf da` instance.
#[derive(Debug, Clone)]
pub struct TcFilter {
    /// Priority (lower runs first).
    pub pref: u32,
    /// The program.
    pub prog: Rc<dyn TcProgram>,
}

/// Run `progs` in order on `skb` until one returns something other than UNSPEC.
pub(crate) fn run_progs<'p>(
    progs: impl IntoIterator<Item = &'p Rc<dyn TcProgram>>,
    skb: &mut Skb,
    ifindex: u32,
    ingress: bool,
) -> (TcAction, Option<Redirect>) {
    let len = skb.len() as u32;
    for p in progs {
        let mut ctx = TcCtx::new(
            &mut skb.head,
            len,
            skb.protocol,
            ifindex,
            skb.mark,
            skb.priority,
            ingress,
        );
        let act = p.run(&mut ctx);
        let redirect = ctx.redirect;
        let (mark, priority) = (ctx.mark, ctx.priority);
        skb.mark = mark;
        skb.priority = priority;
        if act != TcAction::Unspec {
            return (act, redirect);
        }
    }
    (TcAction::Unspec, None)
}

impl Kernel {
    /// `tc filter add dev DEV {ingress|egress} [pref P] bpf da obj ...`. Returns the pref.
    pub fn tc_filter_add(
        &mut self,
        dev: DevId,
        dir: TcDir,
        prog: Rc<dyn TcProgram>,
        pref: Option<u32>,
    ) -> KResult<u32> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        let Some(tc) = d.tc.as_mut() else {
            return Err(KernelError::msg(EINVAL, "Parent Qdisc doesn't exists"));
        };
        let chain = match dir {
            TcDir::Ingress => &mut tc.ingress,
            TcDir::Egress => &mut tc.egress,
        };
        let pref = match pref {
            Some(p) if chain.iter().any(|f| f.pref == p) => return Err(KernelError::new(EEXIST)),
            Some(p) => p,
            None => chain
                .iter()
                .map(|f| f.pref)
                .min()
                .map_or(TC_AUTO_PREF, |m| m.saturating_sub(1)),
        };
        chain.push(TcFilter { pref, prog });
        chain.sort_by_key(|f| f.pref);
        Ok(pref)
    }

    /// `tc filter del dev DEV {ingress|egress} pref P`.
    pub fn tc_filter_del(&mut self, dev: DevId, dir: TcDir, pref: u32) -> KResult<()> {
        let d = self.devices.get_mut(&dev).ok_or(KernelError::new(ENODEV))?;
        let Some(tc) = d.tc.as_mut() else {
            return Err(KernelError::msg(
                EINVAL,
                "Cannot find specified qdisc on specified device",
            ));
        };
        let chain = match dir {
            TcDir::Ingress => &mut tc.ingress,
            TcDir::Egress => &mut tc.egress,
        };
        let pos = chain
            .iter()
            .position(|f| f.pref == pref)
            .ok_or(KernelError::msg(
                ENOENT,
                "Filter with specified priority/protocol not found",
            ))?;
        chain.remove(pos);
        Ok(())
    }

    /// `tc filter show dev DEV {ingress|egress}`: (pref, program name).
    pub fn tc_filter_show(&self, dev: DevId, dir: TcDir) -> Vec<(u32, String)> {
        let Some(tc) = self.try_device(dev).and_then(|d| d.tc.as_ref()) else {
            return Vec::new();
        };
        let chain = match dir {
            TcDir::Ingress => &tc.ingress,
            TcDir::Egress => &tc.egress,
        };
        chain
            .iter()
            .map(|f| (f.pref, f.prog.name().to_string()))
            .collect()
    }

    /// Kernel: `tcx_run()` + `tcx_action_code()` at ingress (`sch_handle_ingress()`; the
    /// egress hook is [`Kernel::sch_handle_egress`]).
    pub(crate) fn tcf_classify(&mut self, dev: DevId, mut skb: Skb) -> IngressResult {
        let d = self.dev(dev);
        let chain = d.tc.as_ref().map_or(&[][..], |tc| &tc.ingress[..]);
        let progs = chain.iter().map(|f| &f.prog);
        let (act, redirect) = run_progs(progs, &mut skb, d.ifindex, true);
        match act {
            TcAction::Shot => {
                self.softnet.tc_dropped += 1;
                self.kfree_skb(skb);
                IngressResult::Consumed
            }
            TcAction::Redirect => match redirect {
                Some(r) => self.skb_do_redirect(dev, skb, r),
                None => {
                    self.softnet.redirect_dropped += 1;
                    self.kfree_skb(skb);
                    IngressResult::Consumed
                }
            },
            _ => {
                skb.tc_at_ingress = false;
                IngressResult::Continue(skb)
            }
        }
    }

    /// Kernel: `sch_handle_egress()`: before validation, in `__dev_queue_xmit()`.
    /// Returns the skb to transmit, or what `__dev_queue_xmit()` reports when the chain
    /// consumed it: `TC_ACT_SHOT` → `NET_XMIT_DROP` (no device counter moves),
    /// `TC_ACT_REDIRECT` → `NET_XMIT_SUCCESS` whatever `skb_do_redirect()` made of it.
    pub(crate) fn sch_handle_egress(&mut self, dev: DevId, skb: Skb) -> Result<Skb, XmitResult> {
        if self
            .dev(dev)
            .tc
            .as_ref()
            .is_none_or(|t| t.egress.is_empty())
        {
            return Ok(skb);
        }
        let d = self.dev(dev);
        let chain = d.tc.as_ref().map_or(&[][..], |tc| &tc.egress[..]);
        let progs = chain.iter().map(|f| &f.prog);
        let mut skb = skb;
        let (act, redirect) = run_progs(progs, &mut skb, d.ifindex, false);
        match act {
            TcAction::Shot => {
                self.softnet.tc_dropped += 1;
                self.kfree_skb(skb);
                Err(XmitResult::Dropped(XmitDrop::TcShot))
            }
            TcAction::Redirect => {
                match redirect {
                    // Only ingress can redirect to a peer; skb_do_redirect() refuses it.
                    Some(r) => {
                        let _ = self.skb_do_redirect(dev, skb, r);
                    }
                    None => {
                        self.softnet.redirect_dropped += 1;
                        self.kfree_skb(skb);
                    }
                }
                Err(XmitResult::Ok)
            }
            _ => Ok(skb),
        }
    }
}
