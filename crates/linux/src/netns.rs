//! Network namespaces: which one a thread is in, running code in another, making a new one.
//!
//! `setns(2)` and `unshare(CLONE_NEWNET)` change the namespace of the calling *thread* only.
//! To keep the caller's thread where it was, [`run_in_netns`] hops on a dedicated thread.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::sys::cvt;

/// The inode number identifying the calling thread's network namespace (what `ip netns identify`
/// compares). Read from `/proc/thread-self/ns/net`, not `/proc/self`: after a `setns` on this
/// thread the two differ, and the thread's is the one its sockets use.
pub fn current_netns_inode() -> io::Result<u64> {
    Ok(std::fs::metadata("/proc/thread-self/ns/net")?.ino())
}

/// Runs `f` on a new thread that first joins the network namespace at `path` (e.g.
/// `/run/netns/<name>` or `/proc/<pid>/ns/net`) and returns `f`'s result. Sockets `f` opens stay
/// in that namespace after it returns. A panic in `f` is resumed on the caller.
pub fn run_in_netns<T, F>(path: impl AsRef<Path>, f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let ns = File::open(path)?;
    run_in_netns_fd(ns.as_fd(), f)
}

/// [`run_in_netns`] for an already-open namespace fd (`setns(fd, CLONE_NEWNET)` refuses an fd
/// of another namespace type with `EINVAL`).
pub fn run_in_netns_fd<T, F>(ns: BorrowedFd<'_>, f: F) -> io::Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    std::thread::scope(|s| {
        let worker = s.spawn(move || {
            // SAFETY: plain syscall on a live fd; it only changes this (scoped) thread.
            cvt(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) })?;
            Ok(f())
        });
        worker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// `unshare(CLONE_NEWNET)`: moves the calling thread into a fresh, empty network namespace
/// (only `lo`, down). Needs CAP_SYS_ADMIN. Call it on a thread you own (see module docs).
pub fn unshare_net() -> io::Result<()> {
    // SAFETY: plain syscall with a flag argument.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWNET) })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Makes a new namespace on a throwaway thread and returns an fd that keeps it alive.
    fn new_netns() -> Option<File> {
        std::thread::spawn(|| match unshare_net() {
            Ok(()) => Some(File::open("/proc/thread-self/ns/net").expect("ns file")),
            Err(e) => {
                println!("skip: unshare(CLONE_NEWNET): {e}");
                None
            }
        })
        .join()
        .expect("thread")
    }

    #[test]
    fn run_in_netns_enters_only_a_helper_thread() {
        let here = current_netns_inode().expect("inode");
        let Some(ns) = new_netns() else { return };
        let theirs = ns.metadata().expect("stat").ino();
        assert_ne!(here, theirs, "unshare made a new namespace");

        let seen = run_in_netns_fd(ns.as_fd(), current_netns_inode)
            .expect("setns")
            .expect("inode");
        assert_eq!(seen, theirs);
        assert_eq!(
            current_netns_inode().expect("inode"),
            here,
            "caller untouched"
        );

        let path = format!("/proc/self/fd/{}", ns.as_raw_fd());
        let seen = run_in_netns(&path, current_netns_inode)
            .expect("setns by path")
            .expect("inode");
        assert_eq!(seen, theirs);
    }

    #[test]
    fn run_in_netns_refuses_a_non_netns_fd() {
        let not_ns = File::open("/proc/self/exe").expect("file");
        let err = run_in_netns_fd(not_ns.as_fd(), || ()).expect_err("not a namespace");
        assert_eq!(err.raw_os_error(), Some(libc::EINVAL));
        assert!(run_in_netns("/nonexistent/netns", || ()).is_err());
    }
}
