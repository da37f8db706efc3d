//! The executor: emulated processes as async tasks on the kernel's virtual clock.
//!
//! Single-threaded and deterministic (quinn's `Pair` and turmoil's harness in spirit). A
//! [`World`] owns the [`Kernel`] and a set of tasks, each bound to an emulated process
//! ([`Proc`]). Syscalls are methods on `Proc`: the non-blocking ones return at once; the
//! blocking ones (connect, accept, recvmsg, sendmsg on a full buffer, poll with a timeout,
//! sleep) are futures that leave their [`Waker`] on the kernel object's wait queue and
//! return `Pending`.
//!
//! The loop ([`World::step`]): poll every ready task (in wake order); when none is ready,
//! run the events due now, else move the clock to [`Kernel::next_deadline`] (running due
//! events, which wake tasks); with no ready task and no deadline the run is deadlocked and
//! the error names the blocked tasks.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use uapi::errno::{EBADF, ENOTSOCK, ESRCH};

use crate::error::{KResult, KernelError};
use crate::kernel::Kernel;
use crate::net::core::datagram::UserIov;
use crate::net::core::net_namespace::NetNsId;
use crate::net::core::sock::SockId;
use crate::net::ipv4::tcp::{RecvOut, SendProgress};
use crate::process::{Cred, File, ProcessId};
use crate::time::{Duration, Instant, KernelEvent};

/// Why a run stopped without finishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimError {
    /// No task can run and no event is pending: these tasks wait forever.
    Deadlock {
        /// Names of the blocked tasks.
        blocked: Vec<String>,
    },
    /// [`World::drive_bounded`] ran out of steps (a livelock, or too small a bound).
    StepLimit {
        /// Steps taken.
        steps: u64,
    },
    /// A wall-clock run ([`crate::wall_clock`]) did not finish within its time limit.
    WallTimeout {
        /// The limit, in milliseconds of wall time.
        after_ms: u64,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Deadlock { blocked } => write!(f, "deadlock: blocked tasks {blocked:?}"),
            SimError::StepLimit { steps } => write!(f, "no completion after {steps} steps"),
            SimError::WallTimeout { after_ms } => {
                write!(f, "no completion after {after_ms} ms of wall time")
            }
        }
    }
}

impl std::error::Error for SimError {}

/// An emulated process: its pid and the kernel it runs on. Cheap to clone.
#[derive(Clone)]
pub struct Proc {
    pid: ProcessId,
    kernel: Rc<RefCell<Kernel>>,
}

impl fmt::Debug for Proc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proc({})", self.pid.0)
    }
}

/// The woken tasks, in wake order, each once until it is polled.
#[derive(Default)]
struct ReadyQueue {
    order: Vec<usize>,
    /// `queued[id]`: task `id` is in `order` (a task woken again before its poll keeps its
    /// place).
    queued: Vec<bool>,
}

/// The ready queue, shared with the tasks' wakers.
#[derive(Default)]
struct Ready {
    /// Whether `queue.order` holds a task: set by the wake that queues one and cleared by
    /// the step that takes them, both under the lock, so a step with nothing to poll does
    /// not take the lock.
    any: AtomicBool,
    queue: Mutex<ReadyQueue>,
}

struct TaskWaker {
    id: usize,
    ready: Arc<Ready>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // A poisoned lock means a task panicked: the run is already failing.
        if let Ok(mut q) = self.ready.queue.lock() {
            let q = &mut *q;
            if q.queued.len() <= self.id {
                q.queued.resize(self.id + 1, false);
            }
            if !q.queued[self.id] {
                q.queued[self.id] = true;
                q.order.push(self.id);
                self.ready.any.store(true, Ordering::Relaxed);
            }
        }
    }
}

struct Task {
    name: String,
    fut: Pin<Box<dyn Future<Output = ()>>>,
    waker: Waker,
}

/// The kernel plus the tasks running on it.
pub struct World {
    /// The kernel, shared with every [`Proc`].
    pub kernel: Rc<RefCell<Kernel>>,
    tasks: Vec<Option<Task>>,
    ready: Arc<Ready>,
    /// The tasks one step polls, taken out of the ready queue: its buffer and the queue's
    /// swap places every step, so neither allocates once they have grown.
    batch: Vec<usize>,
    steps: u64,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World")
            .field(
                "tasks",
                &self
                    .tasks
                    .iter()
                    .flatten()
                    .map(|t| &t.name)
                    .collect::<Vec<_>>(),
            )
            .field("steps", &self.steps)
            .finish()
    }
}

impl World {
    /// A world around `kernel`.
    pub fn new(kernel: Kernel) -> Self {
        World {
            kernel: Rc::new(RefCell::new(kernel)),
            tasks: Vec::new(),
            ready: Arc::new(Ready::default()),
            batch: Vec::new(),
            steps: 0,
        }
    }

    /// Start a process in `netns` and return its handle.
    pub fn process(&self, netns: NetNsId, cred: Cred) -> Proc {
        let pid = self.kernel.borrow_mut().process_spawn(netns, cred);
        Proc {
            pid,
            kernel: self.kernel.clone(),
        }
    }

    /// Run `fut` as a task of `proc`.
    pub fn spawn(&mut self, proc: &Proc, fut: impl Future<Output = ()> + 'static) {
        let id = self.tasks.len();
        let name = format!("pid {} task {id}", proc.pid.0);
        let waker = Waker::from(Arc::new(TaskWaker {
            id,
            ready: self.ready.clone(),
        }));
        waker.wake_by_ref();
        self.tasks.push(Some(Task {
            name,
            fut: Box::pin(fut),
            waker,
        }));
    }

    /// Whether some task was woken and waits to be polled.
    pub fn has_ready_tasks(&self) -> bool {
        self.ready
            .queue
            .lock()
            .map(|q| !q.order.is_empty())
            .unwrap_or(false)
    }

    /// Tasks not yet finished.
    pub fn live_tasks(&self) -> usize {
        self.tasks.iter().flatten().count()
    }

    /// One step: poll the ready tasks, or else advance the clock. `Ok(false)` when
    /// nothing is left to do at all.
    pub fn step(&mut self) -> Result<bool, SimError> {
        self.steps += 1;
        // The tasks woken so far, in wake order; one woken again while they are polled is
        // queued anew for the next step.
        if self.ready.any.load(Ordering::Relaxed) {
            let mut ready = std::mem::take(&mut self.batch);
            if let Ok(mut q) = self.ready.queue.lock() {
                let q = &mut *q;
                std::mem::swap(&mut q.order, &mut ready);
                for &id in &ready {
                    q.queued[id] = false;
                }
                self.ready.any.store(false, Ordering::Relaxed);
            }
            if !ready.is_empty() {
                for &id in &ready {
                    let Some(Some(t)) = self.tasks.get_mut(id) else {
                        continue;
                    };
                    let mut cx = Context::from_waker(&t.waker);
                    if t.fut.as_mut().poll(&mut cx).is_ready() {
                        self.tasks[id] = None;
                    }
                }
                ready.clear();
                self.batch = ready;
                return Ok(true);
            }
            self.batch = ready;
        }
        let mut k = self.kernel.borrow_mut();
        if let Some(at) = k.next_deadline() {
            let at = at.max(k.clock());
            k.advance(at);
            return Ok(true);
        }
        drop(k);
        if self.live_tasks() == 0 {
            return Ok(false);
        }
        Err(SimError::Deadlock {
            blocked: self
                .tasks
                .iter()
                .flatten()
                .map(|t| t.name.clone())
                .collect(),
        })
    }

    /// Run until every task finished (pending kernel events may remain), at most
    /// `max_steps` steps.
    pub fn drive_bounded(&mut self, max_steps: u64) -> Result<(), SimError> {
        let start = self.steps;
        while self.live_tasks() > 0 {
            if self.steps - start >= max_steps {
                return Err(SimError::StepLimit {
                    steps: self.steps - start,
                });
            }
            self.step()?;
        }
        Ok(())
    }

    /// Run `fut` (as a task of `proc`) and the other tasks until `fut` completes.
    pub fn run_until<T: 'static>(
        &mut self,
        proc: &Proc,
        fut: impl Future<Output = T> + 'static,
    ) -> Result<T, SimError> {
        let slot = Rc::new(RefCell::new(None));
        let s2 = slot.clone();
        self.spawn(proc, async move {
            let v = fut.await;
            *s2.borrow_mut() = Some(v);
        });
        loop {
            if let Some(v) = slot.borrow_mut().take() {
                return Ok(v);
            }
            if !self.step()? {
                return Err(SimError::Deadlock {
                    blocked: Vec::new(),
                });
            }
        }
    }

    /// Advance the virtual clock by `d`, running due events (and the tasks they wake).
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        let end = self.kernel.borrow().clock() + d;
        loop {
            let idle = self
                .ready
                .queue
                .lock()
                .map(|q| q.order.is_empty())
                .unwrap_or(true);
            let next = self.kernel.borrow().next_deadline();
            match next {
                _ if !idle => {
                    self.step()?;
                }
                Some(t) if t <= end => {
                    self.step()?;
                }
                _ => {
                    self.kernel.borrow_mut().advance(end);
                    return Ok(());
                }
            }
        }
    }
}

/// `revents` for one fd of [`Proc::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollFd {
    /// The fd.
    pub fd: i32,
    /// Requested events.
    pub events: i16,
    /// Returned events.
    pub revents: i16,
}

impl Proc {
    /// The process id.
    pub fn pid(&self) -> ProcessId {
        self.pid
    }

    /// The kernel (for harness inspection; do not hold the borrow across an await).
    pub fn kernel(&self) -> &Rc<RefCell<Kernel>> {
        &self.kernel
    }

    fn netns(&self) -> KResult<NetNsId> {
        self.kernel
            .borrow()
            .process(self.pid)
            .map(|p| p.netns)
            .ok_or(KernelError::new(ESRCH))
    }

    /// Resolve `fd` to a socket (EBADF / ENOTSOCK).
    pub fn sock_of(&self, fd: i32) -> KResult<SockId> {
        let k = self.kernel.borrow();
        let p = k.process(self.pid).ok_or(KernelError::new(ESRCH))?;
        match p.fds.get(&fd) {
            None => Err(KernelError::new(EBADF)),
            Some(File::Socket(s)) => Ok(*s),
            Some(_) => Err(KernelError::new(ENOTSOCK)),
        }
    }

    fn install(&self, sk: SockId) -> KResult<i32> {
        let mut k = self.kernel.borrow_mut();
        let p = k.process_mut(self.pid).ok_or(KernelError::new(ESRCH))?;
        Ok(p.fd_install(File::Socket(sk)))
    }

    /// `socket(family, type, 0)`.
    pub fn socket(&self, family: i32, ty: i32) -> KResult<i32> {
        let netns = self.netns()?;
        let sk = self.kernel.borrow_mut().sys_socket(netns, family, ty)?;
        self.install(sk)
    }

    /// `bind(fd, addr)`.
    pub fn bind(&self, fd: i32, addr: SocketAddr) -> KResult<()> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow_mut().inet_bind(sk, addr)
    }

    /// `listen(fd, backlog)`.
    pub fn listen(&self, fd: i32, backlog: i32) -> KResult<()> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow_mut().inet_listen(sk, backlog)
    }

    /// `setsockopt(fd, level, name, optval)`; returns the syscall's value.
    pub fn setsockopt(&self, fd: i32, level: i32, name: i32, optval: &[u8]) -> KResult<i32> {
        let sk = self.sock_of(fd)?;
        self.kernel
            .borrow_mut()
            .sk_setsockopt(sk, level, name, optval)
    }

    /// `setsockopt` with an int value.
    pub fn setsockopt_int(&self, fd: i32, level: i32, name: i32, v: i32) -> KResult<i32> {
        self.setsockopt(fd, level, name, &v.to_ne_bytes())
    }

    /// `getsockopt(fd, level, name)`: the option bytes.
    pub fn getsockopt(&self, fd: i32, level: i32, name: i32) -> KResult<Vec<u8>> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow_mut().sk_getsockopt(sk, level, name)
    }

    /// `getsockname(fd)`.
    pub fn getsockname(&self, fd: i32) -> KResult<SocketAddr> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow().inet_getname(sk, false)
    }

    /// `getpeername(fd)`.
    pub fn getpeername(&self, fd: i32) -> KResult<SocketAddr> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow().inet_getname(sk, true)
    }

    /// `shutdown(fd, how)`.
    pub fn shutdown(&self, fd: i32, how: i32) -> KResult<()> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow_mut().inet_shutdown(sk, how)
    }

    /// `close(fd)`.
    pub fn close(&self, fd: i32) -> KResult<()> {
        let mut k = self.kernel.borrow_mut();
        let p = k.process_mut(self.pid).ok_or(KernelError::new(ESRCH))?;
        let f = p.fds.get(&fd).cloned();
        p.close(fd)?;
        if let Some(File::Socket(sk)) = f {
            k.tcp_close(sk);
        }
        Ok(())
    }

    /// Wait on `sk` until `f` gives an answer.
    async fn wait_on<T>(&self, sk: SockId, mut f: impl FnMut(&mut Kernel) -> Option<T>) -> T {
        std::future::poll_fn(|cx| {
            let mut k = self.kernel.borrow_mut();
            match f(&mut k) {
                Some(v) => Poll::Ready(v),
                None => {
                    k.sk_wait(sk, cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// `connect(fd, addr)` (blocking until established or failed).
    pub async fn connect(&self, fd: i32, addr: SocketAddr) -> KResult<()> {
        let sk = self.sock_of(fd)?;
        self.kernel.borrow_mut().tcp_connect_start(sk, addr)?;
        self.wait_on(sk, |k| k.tcp_connect_poll(sk)).await
    }

    /// `accept(fd)`: the new fd and the peer address.
    pub async fn accept(&self, fd: i32) -> KResult<(i32, SocketAddr)> {
        let sk = self.sock_of(fd)?;
        let child = self.wait_on(sk, |k| k.inet_accept_poll(sk)).await?;
        let nfd = self.install(child)?;
        let peer = self.kernel.borrow().inet_getname(child, true)?;
        Ok((nfd, peer))
    }

    /// `sendmsg(fd, iov, control, flags)`: blocks while the send buffer is full.
    pub async fn sendmsg(
        &self,
        fd: i32,
        iov: &[UserIov<'_>],
        control: &[u8],
        flags: u32,
    ) -> KResult<usize> {
        let sk = self.sock_of(fd)?;
        let mut prog = SendProgress::default();
        self.wait_on(sk, |k| k.tcp_sendmsg(sk, iov, control, flags, &mut prog))
            .await
    }

    /// `send(fd, buf, flags)`.
    pub async fn send(&self, fd: i32, buf: &[u8], flags: u32) -> KResult<usize> {
        self.sendmsg(fd, &[UserIov::Buf(buf)], &[], flags).await
    }

    /// `recvmsg(fd, len, controllen, flags)`: the bytes copied, the control messages in
    /// the kernel layout, and `msg_flags`.
    pub async fn recvmsg(
        &self,
        fd: i32,
        len: usize,
        controllen: usize,
        flags: u32,
    ) -> KResult<RecvOut> {
        let sk = self.sock_of(fd)?;
        self.wait_on(sk, |k| k.tcp_recvmsg(sk, len, controllen, flags))
            .await
    }

    /// `recv(fd, buf, len, flags)` into a buffer the caller reuses: `buf` is cleared and
    /// holds the bytes read; returns their count.
    pub async fn recv_into(
        &self,
        fd: i32,
        buf: &mut Vec<u8>,
        len: usize,
        flags: u32,
    ) -> KResult<usize> {
        let sk = self.sock_of(fd)?;
        buf.clear();
        let out = self
            .wait_on(sk, |k| k.tcp_recvmsg_into(sk, buf, len, 0, flags))
            .await?;
        Ok(out.len)
    }

    /// `recv(fd, len, flags)`: the bytes.
    pub async fn recv(&self, fd: i32, len: usize, flags: u32) -> KResult<Vec<u8>> {
        Ok(self.recvmsg(fd, len, 0, flags).await?.data)
    }

    /// `poll(fds, timeout)`: `None` timeout blocks until an event. Returns the number of
    /// fds with events; `fds[i].revents` filled in (POLLERR/POLLHUP always reported).
    pub async fn poll(&self, fds: &mut [PollFd], timeout: Option<Duration>) -> KResult<usize> {
        let socks: Vec<Option<SockId>> = fds.iter().map(|p| self.sock_of(p.fd).ok()).collect();
        let deadline = timeout.map(|t| self.kernel.borrow().clock() + t);
        let mut armed = false;
        std::future::poll_fn(|cx| {
            let mut k = self.kernel.borrow_mut();
            let mut n = 0;
            for (p, s) in fds.iter_mut().zip(&socks) {
                p.revents = match s.and_then(|s| k.sock(s)) {
                    Some(sock) => {
                        sock.poll_mask()
                            & (p.events | uapi::socket::POLLERR | uapi::socket::POLLHUP)
                    }
                    None => uapi::socket::POLLNVAL,
                };
                if p.revents != 0 {
                    n += 1;
                }
            }
            if n > 0 || deadline.is_some_and(|d| k.clock() >= d) {
                return Poll::Ready(Ok(n));
            }
            for s in socks.iter().flatten() {
                k.sk_wait(*s, cx.waker());
            }
            if let Some(d) = deadline
                && !armed
            {
                armed = true;
                k.schedule(d, KernelEvent::Wake(cx.waker().clone()));
            }
            Poll::Pending
        })
        .await
    }

    /// Sleep `d` of virtual time.
    pub async fn sleep(&self, d: Duration) {
        let until = self.kernel.borrow().clock() + d;
        self.sleep_until(until).await
    }

    /// Sleep until the virtual clock reaches `until`.
    pub async fn sleep_until(&self, until: Instant) {
        let mut armed = false;
        std::future::poll_fn(|cx| {
            let mut k = self.kernel.borrow_mut();
            if k.clock() >= until {
                return Poll::Ready(());
            }
            if !armed {
                armed = true;
                k.schedule(until, KernelEvent::Wake(cx.waker().clone()));
            }
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::KernelConfig;

    /// A step polls the woken tasks in wake order, each once however often it was woken;
    /// a task woken while the step polls waits for the next step, and a finished task's
    /// wake is ignored.
    #[test]
    fn a_step_polls_woken_tasks_once_each_in_wake_order() {
        let mut w = World::new(Kernel::new(KernelConfig::default()));
        let netns = w.kernel.borrow().init_net();
        let p = w.process(netns, Cred::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        let wakers: Rc<RefCell<Vec<Option<Waker>>>> = Rc::new(RefCell::new(vec![None; 3]));
        for (id, name) in ["a", "b", "c"].into_iter().enumerate() {
            let (log, wakers) = (log.clone(), wakers.clone());
            let mut polls = 0;
            w.spawn(
                &p,
                std::future::poll_fn(move |cx| {
                    polls += 1;
                    log.borrow_mut().push(format!("{name}{polls}"));
                    wakers.borrow_mut()[id] = Some(cx.waker().clone());
                    if name == "c" && polls == 1 {
                        cx.waker().wake_by_ref();
                    }
                    if polls == 3 {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                }),
            );
        }
        let wake = |i: usize| {
            if let Some(w) = &wakers.borrow()[i] {
                w.wake_by_ref();
            }
        };
        // Spawned tasks start woken, in spawn order.
        assert!(w.step().unwrap());
        assert_eq!(log.borrow()[..], ["a1", "b1", "c1"]);
        // c woke itself while step 1 polled it.
        assert!(w.step().unwrap());
        assert_eq!(log.borrow()[3..], ["c2"]);
        for i in [1, 0, 1, 2, 0] {
            wake(i);
        }
        assert!(w.has_ready_tasks());
        assert!(w.step().unwrap());
        assert_eq!(log.borrow()[4..], ["b2", "a2", "c3"]);
        assert!(!w.has_ready_tasks());
        assert_eq!(w.live_tasks(), 2);
        for i in [2, 0, 1] {
            wake(i);
        }
        assert!(w.step().unwrap());
        assert_eq!(log.borrow()[7..], ["a3", "b3"]);
        assert_eq!(w.live_tasks(), 0);
    }
}
