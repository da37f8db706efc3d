//! The errno values this crate returns, from `uapi::errno` (positive, as userspace sees
//! them; the kernel's functions return them negated).

pub(crate) use uapi::errno::{EINVAL, ENOENT, EOPNOTSUPP, EPERM, ERANGE, strerror};
