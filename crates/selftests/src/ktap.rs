//! KTAP output exactly as kselftest's python library prints it.
//!
//! Kernel: `ktap_result()`, `ksft_pr()` and the header/totals lines of `ksft_run()` in
//! tools/testing/selftests/net/lib/py/ksft.py:
//!
//! ```text
//! TAP version 13
//! 1..4
//! # a diagnostic line
//! ok 1 nk_devmem.check_nk_rx
//! not ok 2 nk_devmem.check_nk_tx
//! ok 3 nk_devmem.check_nk_tx_chunks # SKIP reason
//! ok 4 nk_devmem.check_nk_rx_hds # XFAIL reason
//! # Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0
//! ```
//!
//! A skipped or expected-failure case is "ok" with a directive; the case name is the
//! test file's name (`KSFT_MAIN_NAME`) dot the function's name.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Passed.
    Pass,
    /// Failed (a check failed, or the case raised).
    Fail,
    /// Skipped, with the reason.
    Skip(String),
    /// Failed the way it is expected to, with the reason.
    Xfail(String),
}

impl Outcome {
    /// The key in the totals line.
    pub fn key(&self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::Fail => "fail",
            Outcome::Skip(_) => "skip",
            Outcome::Xfail(_) => "xfail",
        }
    }
}

/// Counts per outcome, as the totals line prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub pass: u32,
    pub fail: u32,
    pub xfail: u32,
    pub skip: u32,
}

impl Totals {
    /// Counts `o`.
    pub fn add(&mut self, o: &Outcome) {
        match o {
            Outcome::Pass => self.pass += 1,
            Outcome::Fail => self.fail += 1,
            Outcome::Skip(_) => self.skip += 1,
            Outcome::Xfail(_) => self.xfail += 1,
        }
    }

    /// Adds another suite's totals.
    pub fn merge(&mut self, o: Totals) {
        self.pass += o.pass;
        self.fail += o.fail;
        self.xfail += o.xfail;
        self.skip += o.skip;
    }
}

/// Where KTAP lines go: a shared, cloneable sink (a buffer, stdout, or both).
#[derive(Clone)]
pub struct KtapOut {
    sink: Rc<RefCell<dyn Write>>,
}

impl std::fmt::Debug for KtapOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KtapOut")
    }
}

/// A `Write` that appends to a shared byte buffer (tests read it back).
#[derive(Debug, Clone, Default)]
pub struct SharedBuf(pub Rc<RefCell<Vec<u8>>>);

impl SharedBuf {
    /// The bytes written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl KtapOut {
    /// Lines go to `w`.
    pub fn new(w: impl Write + 'static) -> Self {
        KtapOut {
            sink: Rc::new(RefCell::new(w)),
        }
    }

    /// Lines go to process stdout, flushed per line (as `print(..., flush=True)`).
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }

    /// Writes one line.
    pub fn line(&self, s: &str) {
        let mut w = self.sink.borrow_mut();
        let _ = writeln!(w, "{s}");
        let _ = w.flush();
    }

    /// `TAP version 13` and the plan `1..N`.
    pub fn header(&self, n: usize) {
        self.line("TAP version 13");
        self.line(&format!("1..{n}"));
    }

    /// Kernel: `ksft_pr()`: `# ` then the text; one diagnostic per line of `text`.
    pub fn diag(&self, text: &str) {
        for l in text.lines() {
            self.line(&format!("# {l}"));
        }
    }

    /// Kernel: `ktap_result()`.
    pub fn result(&self, cnt: usize, name: &str, o: &Outcome) {
        self.line(&result_line(cnt, name, o));
    }

    /// The totals line ending a run.
    pub fn totals(&self, t: &Totals) {
        self.line(&totals_line(t));
    }
}

/// One result line: `ok N name`, `not ok N name`, `ok N name # SKIP reason`,
/// `ok N name # XFAIL reason`.
pub fn result_line(cnt: usize, name: &str, o: &Outcome) -> String {
    match o {
        Outcome::Pass => format!("ok {cnt} {name}"),
        Outcome::Fail => format!("not ok {cnt} {name}"),
        Outcome::Skip(r) => format!("ok {cnt} {name} # SKIP {r}"),
        Outcome::Xfail(r) => format!("ok {cnt} {name} # XFAIL {r}"),
    }
}

/// `# Totals: pass:N fail:N xfail:N xpass:0 skip:N error:0`.
pub fn totals_line(t: &Totals) -> String {
    format!(
        "# Totals: pass:{} fail:{} xfail:{} xpass:0 skip:{} error:0",
        t.pass, t.fail, t.xfail, t.skip
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_report() {
        let buf = SharedBuf::default();
        let k = KtapOut::new(buf.clone());
        k.header(4);
        k.diag("two\nlines");
        let outcomes = [
            Outcome::Pass,
            Outcome::Fail,
            Outcome::Skip("Test requires devmem support".into()),
            Outcome::Xfail("Driver does not support netmem TX".into()),
        ];
        let names = [
            "check_nk_rx",
            "check_nk_tx",
            "check_nk_tx_chunks",
            "check_nk_rx_hds",
        ];
        let mut t = Totals::default();
        for (i, (o, n)) in outcomes.iter().zip(names).enumerate() {
            k.result(i + 1, &format!("nk_devmem.{n}"), o);
            t.add(o);
        }
        k.totals(&t);
        assert_eq!(
            buf.text(),
            "TAP version 13\n\
             1..4\n\
             # two\n\
             # lines\n\
             ok 1 nk_devmem.check_nk_rx\n\
             not ok 2 nk_devmem.check_nk_tx\n\
             ok 3 nk_devmem.check_nk_tx_chunks # SKIP Test requires devmem support\n\
             ok 4 nk_devmem.check_nk_rx_hds # XFAIL Driver does not support netmem TX\n\
             # Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0\n"
        );
    }
}
