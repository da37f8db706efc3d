//! Kernel-side errors: an errno plus the extack message the kernel would attach.

use std::borrow::Cow;
use std::fmt;

/// An error as a kernel function returns it: a negative errno (kept positive here) and,
/// where the kernel sets one with `NL_SET_ERR_MSG*`, the extack message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno value (`EINVAL`, not `-EINVAL`).
    pub errno: i32,
    /// The extack message, if the kernel sets one on this path.
    pub msg: Option<Cow<'static, str>>,
}

impl KernelError {
    /// An error without extack message.
    pub const fn new(errno: i32) -> Self {
        KernelError { errno, msg: None }
    }

    /// An error carrying a static extack message.
    pub const fn msg(errno: i32, msg: &'static str) -> Self {
        KernelError {
            errno,
            msg: Some(Cow::Borrowed(msg)),
        }
    }

    /// An error carrying a formatted extack message (`NL_SET_ERR_MSG_FMT`).
    pub fn fmt(errno: i32, msg: String) -> Self {
        KernelError {
            errno,
            msg: Some(Cow::Owned(msg)),
        }
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "errno {}", self.errno)?;
        if let Some(name) = uapi::errno::name(self.errno) {
            write!(f, " ({name})")?;
        }
        if let Some(msg) = &self.msg {
            write!(f, ": {msg}")?;
        }
        Ok(())
    }
}

impl std::error::Error for KernelError {}

/// Result of a kernel-side operation.
pub type KResult<T> = Result<T, KernelError>;
