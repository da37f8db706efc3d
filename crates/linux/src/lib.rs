//! The real-kernel side of devmem-netkit: thin, safe wrappers over the Linux syscalls the `linux`
//! backend needs (memfd shared memory, AF_NETLINK, unix SOCK_SEQPACKET with SCM_RIGHTS, udmabuf,
//! network namespaces).
//!
//! This is the only crate in the workspace that may use `unsafe`, but for one call in
//! `wire::checksum` (into its AVX2 function after run-time CPU detection). Every `unsafe` block
//! here is a single syscall or raw-pointer copy with a `// SAFETY:` comment; everything exported
//! is safe.
//! Constants the `libc` crate lacks (udmabuf, dma-buf ioctls) are defined locally next to their
//! use, with the kernel header they come from.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod inet;
pub mod netlink;
pub mod netns;
pub mod seqpacket;
pub mod shm;
pub mod tap;
pub mod udmabuf;
pub mod veth_bench;

mod sys;
