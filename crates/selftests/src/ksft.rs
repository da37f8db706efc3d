//! The kselftest python runner's semantics: checks, skip/xfail, `defer()`, disruptive.
//!
//! Kernel: tools/testing/selftests/net/lib/py/ksft.py (`ksft_run`, `ksft_eq`...,
//! `KsftSkipEx`, `KsftXfailEx`, `ksft_flush_defer`, `ksft_disruptive`) and
//! utils.py (`defer`). Behaviour kept:
//! - a failed check marks the case failed but lets it go on (`KSFT_RESULT = False`);
//! - raising (here: returning `Err`) ends the case: Skip and Xfail are reported "ok"
//!   with a directive, anything else fails it with `# Exception|` lines;
//! - deferred cleanups run after the case, newest first, even when it failed; a
//!   failing cleanup fails the case;
//! - a disruptive case is skipped "marked as disruptive" when disruptive tests are off.

use std::cell::{Cell, RefCell};
use std::fmt::Debug;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;

use crate::ktap::{KtapOut, Outcome, Totals};

/// Why a case stopped early (the exception it raised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KsftError {
    /// Kernel: `KsftSkipEx`.
    Skip(String),
    /// Kernel: `KsftXfailEx`.
    Xfail(String),
    /// Any other exception: the case fails; the text is printed as `# Exception|`.
    Fail(String),
}

impl KsftError {
    /// A failure with a message.
    pub fn fail(msg: impl Into<String>) -> Self {
        KsftError::Fail(msg.into())
    }
}

impl From<String> for KsftError {
    fn from(s: String) -> Self {
        KsftError::Fail(s)
    }
}

impl From<&str> for KsftError {
    fn from(s: &str) -> Self {
        KsftError::Fail(s.to_string())
    }
}

impl From<devmem::Error> for KsftError {
    fn from(e: devmem::Error) -> Self {
        KsftError::Fail(e.to_string())
    }
}

/// A case's result.
pub type KsftResult<T = ()> = Result<T, KsftError>;

/// A boxed, non-Send future (everything runs on the emulator's single thread).
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A test case function over environment `E`.
pub type CaseFn<E> = for<'a> fn(&'a Ksft, &'a E) -> LocalBoxFuture<'a, KsftResult>;

/// One test case: its function name, body, and whether it is `@ksft_disruptive`.
pub struct Case<E> {
    /// Function name (`check_nk_rx`).
    pub name: &'static str,
    /// Body.
    pub func: CaseFn<E>,
    /// Kernel: `@ksft_disruptive`.
    pub disruptive: bool,
}

impl<E> std::fmt::Debug for Case<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Case")
            .field("name", &self.name)
            .field("disruptive", &self.disruptive)
            .finish()
    }
}

type Cleanup = Box<dyn FnOnce() -> Result<(), String>>;

/// The runner state one suite run shares with its cases.
pub struct Ksft {
    out: KtapOut,
    result: Cell<bool>,
    defers: RefCell<Vec<Cleanup>>,
    armed: Cell<bool>,
    /// Kernel: `KSFT_DISRUPTIVE` (`DISRUPTIVE=False` turns it off).
    pub disruptive: bool,
    /// Explains failed cases (an emulator addition; see [`CaseDiag`]).
    pub diag: Option<Box<dyn CaseDiag>>,
}

/// Something that can say why a case failed beyond its checks, printed as `#` lines right
/// before the case's `not ok` line: the emulator's wire fault log (what the real tests
/// would leave to tcpdump).
pub trait CaseDiag {
    /// A case starts: remember where its story begins.
    fn start(&self);
    /// Lines for a case that failed, about what happened since [`CaseDiag::start`].
    fn explain(&self) -> Vec<String>;
}

impl std::fmt::Debug for Ksft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ksft")
            .field("result", &self.result.get())
            .field("defers", &self.defers.borrow().len())
            .finish()
    }
}

impl Ksft {
    /// A runner printing to `out`.
    pub fn new(out: KtapOut) -> Self {
        Ksft {
            out,
            result: Cell::new(true),
            defers: RefCell::new(Vec::new()),
            armed: Cell::new(false),
            disruptive: true,
            diag: None,
        }
    }

    /// The output.
    pub fn out(&self) -> &KtapOut {
        &self.out
    }

    /// Kernel: `ksft_pr()`.
    pub fn pr(&self, text: &str) {
        self.out.diag(text);
    }

    #[track_caller]
    fn fail_check(&self, what: String) {
        self.result.set(false);
        let at = Location::caller();
        self.out
            .diag(&format!("Check| At {}, line {}:", at.file(), at.line()));
        self.out.diag(&what);
    }

    /// Kernel: `ksft_eq()`.
    #[track_caller]
    pub fn eq<T: PartialEq + Debug>(&self, a: T, b: T, comment: &str) {
        if a != b {
            self.fail_check(format!("Check failed {a:?} != {b:?} {comment}"));
        }
    }

    /// Kernel: `ksft_ge()`.
    #[track_caller]
    pub fn ge<T: PartialOrd + Debug>(&self, a: T, b: T, comment: &str) {
        if a < b {
            self.fail_check(format!("Check failed {a:?} < {b:?} {comment}"));
        }
    }

    /// Kernel: `ksft_lt()`.
    #[track_caller]
    pub fn lt<T: PartialOrd + Debug>(&self, a: T, b: T, comment: &str) {
        if a >= b {
            self.fail_check(format!("Check failed {a:?} >= {b:?} {comment}"));
        }
    }

    /// Kernel: `ksft_true()`.
    #[track_caller]
    pub fn is_true(&self, a: bool, comment: &str) {
        if !a {
            self.fail_check(format!(
                "Check failed {a:?} does not eval to True {comment}"
            ));
        }
    }

    /// Kernel: `ksft_in()`.
    #[track_caller]
    pub fn is_in<T: PartialEq + Debug>(&self, a: T, b: &[T], comment: &str) {
        if !b.contains(&a) {
            self.fail_check(format!("Check failed {a:?} not in {b:?} {comment}"));
        }
    }

    /// Whether the current case is still passing.
    pub fn passing(&self) -> bool {
        self.result.get()
    }

    /// Kernel: `defer(func)`: run `f` when the current case ends (newest first). An
    /// `Err` fails the case. Only valid inside a case, as in python.
    pub fn defer(&self, f: impl FnOnce() -> Result<(), String> + 'static) -> KsftResult {
        if !self.armed.get() {
            return Err(KsftError::fail(
                "defer queue not armed (not inside a test case)",
            ));
        }
        self.defers.borrow_mut().push(Box::new(f));
        Ok(())
    }

    /// Kernel: `ksft_flush_defer()`.
    fn flush_defer(&self) {
        let qlen = self.defers.borrow().len();
        let mut i = 0;
        loop {
            let Some(f) = self.defers.borrow_mut().pop() else {
                break;
            };
            i += 1;
            if let Err(e) = f() {
                self.out.diag(&format!(
                    "Exception while handling defer / cleanup (callback {i} of {qlen})!"
                ));
                for l in e.lines() {
                    self.out.diag(&format!("Defer Exception| {l}"));
                }
                self.result.set(false);
            }
        }
    }

    /// Runs one case and its deferred cleanups; returns its outcome.
    pub async fn run_case<E>(&self, case: &Case<E>, env: &E) -> Outcome {
        self.result.set(true);
        if case.disruptive && !self.disruptive {
            return Outcome::Skip("marked as disruptive".into());
        }
        self.armed.set(true);
        if let Some(d) = &self.diag {
            d.start();
        }
        let r = (case.func)(self, env).await;
        self.armed.set(false);
        let mut outcome = match r {
            Ok(()) => None,
            Err(KsftError::Skip(s)) => Some(Outcome::Skip(s)),
            Err(KsftError::Xfail(s)) => Some(Outcome::Xfail(s)),
            Err(KsftError::Fail(s)) => {
                for l in s.lines() {
                    self.out.diag(&format!("Exception| {l}"));
                }
                self.result.set(false);
                Some(Outcome::Fail)
            }
        };
        self.flush_defer();
        if outcome.is_none() {
            outcome = Some(if self.result.get() {
                Outcome::Pass
            } else {
                Outcome::Fail
            });
        }
        let outcome = outcome.unwrap_or(Outcome::Fail);
        if outcome == Outcome::Fail
            && let Some(d) = &self.diag
        {
            for l in d.explain() {
                self.out.diag(&l);
            }
        }
        outcome
    }
}

/// One reported case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    /// `suite.case`.
    pub name: String,
    /// Outcome.
    pub outcome: Outcome,
}

/// Kernel: `ksft_run()`: header, each case in order with its result line, totals.
/// `main_name` is `KSFT_MAIN_NAME` (the test file's name without `.py`).
pub async fn ksft_run<E>(
    ksft: &Ksft,
    main_name: &str,
    cases: &[Case<E>],
    env: &E,
) -> (Totals, Vec<CaseReport>) {
    ksft.out.header(cases.len());
    let mut totals = Totals::default();
    let mut reports = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let outcome = ksft.run_case(case, env).await;
        let name = format!("{main_name}.{}", case.name);
        ksft.out.result(i + 1, &name, &outcome);
        totals.add(&outcome);
        reports.push(CaseReport { name, outcome });
    }
    ksft.out.totals(&totals);
    (totals, reports)
}

/// Polls a future that never waits to completion (the runner's own tests; suites run
/// under the emulator's executor).
pub fn block_on_ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ktap::SharedBuf;
    use std::rc::Rc;

    struct Env {
        log: Rc<RefCell<Vec<&'static str>>>,
    }

    fn passes<'a>(k: &'a Ksft, e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move {
            let l1 = e.log.clone();
            let l2 = e.log.clone();
            k.defer(move || {
                l1.borrow_mut().push("first");
                Ok(())
            })?;
            k.defer(move || {
                l2.borrow_mut().push("second");
                Ok(())
            })?;
            k.eq(1, 1, "");
            Ok(())
        })
    }

    fn check_fails<'a>(k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move {
            k.eq(1, 2, "numbers");
            k.ge(3, 2, "");
            Ok(())
        })
    }

    fn skips<'a>(_k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move { Err(KsftError::Skip("Test requires devmem support".into())) })
    }

    fn xfails<'a>(k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move {
            k.defer(|| Ok(()))?;
            Err(KsftError::Xfail("pre-series".into()))
        })
    }

    fn raises<'a>(_k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move { Err("Command failed: ncdevmem\nEXIT: 1".into()) })
    }

    fn bad_cleanup<'a>(k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move {
            k.defer(|| Err("ethtool -X default failed".into()))?;
            Ok(())
        })
    }

    fn disruptive<'a>(_k: &'a Ksft, _e: &'a Env) -> LocalBoxFuture<'a, KsftResult> {
        Box::pin(async move { panic!("must not run") })
    }

    #[test]
    fn runner_golden() {
        let buf = SharedBuf::default();
        let mut k = Ksft::new(KtapOut::new(buf.clone()));
        k.disruptive = false;
        let env = Env { log: Rc::default() };
        let case = |name, func: CaseFn<Env>, disruptive| Case {
            name,
            func,
            disruptive,
        };
        let cases = [
            case("passes", passes, false),
            case("check_fails", check_fails, false),
            case("skips", skips, false),
            case("xfails", xfails, false),
            case("raises", raises, false),
            case("bad_cleanup", bad_cleanup, false),
            case("disruptive", disruptive, true),
        ];
        let (t, reports) = block_on_ready(ksft_run(&k, "suite", &cases, &env));
        assert_eq!(*env.log.borrow(), vec!["second", "first"]);
        assert_eq!((t.pass, t.fail, t.skip, t.xfail), (1, 3, 2, 1));
        assert_eq!(reports.len(), 7);
        let text = buf.text();
        let expected_tail = "\
ok 3 suite.skips # SKIP Test requires devmem support
ok 4 suite.xfails # XFAIL pre-series
# Exception| Command failed: ncdevmem
# Exception| EXIT: 1
not ok 5 suite.raises
# Exception while handling defer / cleanup (callback 1 of 1)!
# Defer Exception| ethtool -X default failed
not ok 6 suite.bad_cleanup
ok 7 suite.disruptive # SKIP marked as disruptive
# Totals: pass:1 fail:3 xfail:1 xpass:0 skip:2 error:0
";
        assert!(text.ends_with(expected_tail), "{text}");
        assert!(text.starts_with("TAP version 13\n1..7\nok 1 suite.passes\n# Check| At "));
        assert!(text.contains("# Check failed 1 != 2 numbers\nnot ok 2 suite.check_fails\n"));
    }

    /// Counts case starts; explains every failure with the number of the case.
    struct Counting(Cell<u32>);

    impl CaseDiag for Counting {
        fn start(&self) {
            self.0.set(self.0.get() + 1);
        }
        fn explain(&self) -> Vec<String> {
            vec![format!("wire: something happened in case {}", self.0.get())]
        }
    }

    #[test]
    fn case_diag_explains_failures_above_their_result() {
        let buf = SharedBuf::default();
        let mut k = Ksft::new(KtapOut::new(buf.clone()));
        k.diag = Some(Box::new(Counting(Cell::new(0))));
        let env = Env { log: Rc::default() };
        let cases = [
            Case {
                name: "passes",
                func: passes,
                disruptive: false,
            },
            Case {
                name: "raises",
                func: raises,
                disruptive: false,
            },
        ];
        let (t, _) = block_on_ready(ksft_run(&k, "suite", &cases, &env));
        assert_eq!((t.pass, t.fail), (1, 1));
        let text = buf.text();
        assert!(!text.contains("in case 1"), "{text}");
        assert!(
            text.ends_with(
                "# Exception| EXIT: 1\n# wire: something happened in case 2\nnot ok 2 suite.raises\n\
                 # Totals: pass:1 fail:1 xfail:0 xpass:0 skip:0 error:0\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn defer_outside_a_case_is_an_error() {
        let k = Ksft::new(KtapOut::new(SharedBuf::default()));
        assert!(k.defer(|| Ok(())).is_err());
    }
}
