//! Probe mode (no `-s`, no `-c`): the self-test `require_devmem()` runs on the NIC.
//!
//! Kernel: `run_devmem_tests()` in ncdevmem.c (selftests-spec §3.4). Each expectation
//! is a bind-rx outcome: an empty queue list and header split off must be refused, a
//! proper bind must succeed, and shrinking the channels under a bound queue must be
//! refused. Teardown closes the binding socket, restores the rings and RSS.

use devmem::netdev::QueueType;

use crate::report::pr_err;
use crate::{Ctx, NUM_PAGES, PAGE_SIZE};

impl Ctx<'_> {
    /// The queue list `-t`/`-q` name (kernel: `create_queues()`).
    pub(crate) fn create_queues(&self) -> Vec<(u32, QueueType)> {
        (0..self.o.num_queues.max(0))
            .map(|i| ((self.o.start_queue + i) as u32, QueueType::Rx))
            .collect()
    }

    /// Kernel: `run_devmem_tests()`. Ok = every expectation held.
    pub(crate) fn run_devmem_tests(&mut self) -> Result<(), ()> {
        let mem = match self.plat.alloc_dmabuf(PAGE_SIZE * NUM_PAGES) {
            Ok(m) => m,
            Err(e) => {
                pr_err(&mut self.io.stderr, &format!("{e}"), None);
                pr_err(
                    &mut self.io.stderr,
                    "Failed to allocate memory buffer",
                    None,
                );
                return Err(());
            }
        };
        let Some(ring_config) = self.get_ring_config() else {
            pr_err(
                &mut self.io.stderr,
                "Failed to get current ring configuration",
                None,
            );
            return Err(());
        };
        if self.configure_rss() != 0 {
            pr_err(&mut self.io.stderr, "rss error", None);
            return Err(());
        }
        let res = self.probe_steps(&mem, &ring_config);
        self.restore_ring_config(&ring_config);
        self.reset_rss();
        res
    }

    /// Steps 3–7; a binding socket that is still open when this returns is dropped
    /// (unbound) before the caller restores the rings.
    fn probe_steps(
        &mut self,
        mem: &devmem::dmabuf::Dmabuf,
        ring_config: &devmem::ethtool::Rings,
    ) -> Result<(), ()> {
        let fail = |c: &mut Self, msg: &str| {
            pr_err(&mut c.io.stderr, msg, None);
            Err(())
        };
        if self.configure_headersplit(ring_config, true).is_err() {
            return fail(self, "Failed to configure header split");
        }
        if self.bind_rx_queue(mem.fd(), &[]).is_ok() {
            return fail(self, "Binding empty queues array should have failed");
        }
        if self.configure_headersplit(ring_config, false).is_err() {
            return fail(self, "Failed to configure header split");
        }
        let queues = self.create_queues();
        if self.bind_rx_queue(mem.fd(), &queues).is_ok() {
            return fail(
                self,
                "Configure dmabuf with header split off should have failed",
            );
        }
        if self.configure_headersplit(ring_config, true).is_err() {
            return fail(self, "Failed to configure header split");
        }
        let Ok((ys, _id)) = self.bind_rx_queue(mem.fd(), &queues) else {
            return fail(self, "Failed to bind");
        };
        let n = self.o.num_queues.max(0) as u32;
        let res = if self.check_changing_channels(n, n).is_ok() {
            fail(self, "Deactivating a bound queue should be illegal")
        } else {
            Ok(())
        };
        drop(ys);
        res
    }
}
