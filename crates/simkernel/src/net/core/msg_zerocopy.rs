//! MSG_ZEROCOPY notifications: one `ubuf_info` per sendmsg, completed once the stream has
//! acknowledged every byte it covers, reported on the socket error queue.
//!
//! Kernel: `net/core/skbuff.c` (`msg_zerocopy_realloc()`, `msg_zerocopy_callback()`,
//! `__msg_zerocopy_callback()`, `skb_zerocopy_notification_extend()`). A notification is
//! a `sock_extended_err` with `ee_errno` 0, `ee_origin` SO_EE_ORIGIN_ZEROCOPY and the range
//! of sendmsg counters `[ee_info, ee_data]`. When the error queue's tail is a zerocopy
//! notification whose range ends right before the new one, and the merged range still
//! counts fewer than 2^32 calls, the tail is extended instead of queueing a new entry.
//!
//! In the kernel the uarg completes when the last skb referencing it is freed, which for
//! TCP is when the data is acknowledged (and no clone is still in a driver). Here the TCP
//! reports [`tcp::Event::Acked`] with the acknowledged stream offset; every uarg whose
//! bytes lie below it completes, in order.

use std::collections::VecDeque;

use uapi::socket::{SO_EE_ORIGIN_ZEROCOPY, SockExtendedErr};

/// Per-socket MSG_ZEROCOPY state.
#[derive(Debug, Default)]
pub struct ZerocopyState {
    /// Kernel: `sk->sk_zckey`: the next sendmsg counter (32-bit, wraps).
    pub next_id: u32,
    /// Outstanding uargs: (counter, send-stream offset just past its last byte).
    pub pending: VecDeque<(u32, u64)>,
}

impl ZerocopyState {
    /// Kernel: `msg_zerocopy_alloc()`: a uarg for a sendmsg whose bytes end at stream
    /// offset `end`. Returns its counter.
    pub fn alloc(&mut self, end: u64) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.pending.push_back((id, end));
        id
    }

    /// The uargs whose bytes are all acknowledged once the stream is acked up to `acked`.
    pub fn complete_upto(&mut self, acked: u64) -> Vec<u32> {
        let mut done = Vec::new();
        while let Some(&(id, end)) = self.pending.front() {
            if end > acked {
                break;
            }
            self.pending.pop_front();
            done.push(id);
        }
        done
    }
}

/// Kernel: `__msg_zerocopy_callback()` for a uarg covering `len` calls from `lo`: extend the
/// error queue's tail when contiguous, else queue a new notification.
pub fn msg_zerocopy_notify(q: &mut VecDeque<SockExtendedErr>, lo: u32, len: u32) {
    if len == 0 {
        return;
    }
    let hi = lo.wrapping_add(len - 1);
    if let Some(tail) = q.back_mut()
        && tail.ee_origin == SO_EE_ORIGIN_ZEROCOPY
        && skb_zerocopy_notification_extend(tail, lo, len)
    {
        return;
    }
    q.push_back(SockExtendedErr {
        ee_errno: 0,
        ee_origin: SO_EE_ORIGIN_ZEROCOPY,
        ee_type: 0,
        ee_code: 0,
        ee_pad: 0,
        ee_info: lo,
        ee_data: hi,
    });
}

/// Kernel: `skb_zerocopy_notification_extend()`.
fn skb_zerocopy_notification_extend(tail: &mut SockExtendedErr, lo: u32, len: u32) -> bool {
    let (old_lo, old_hi) = (tail.ee_info, tail.ee_data);
    let sum_len = u64::from(old_hi.wrapping_sub(old_lo)) + 1 + u64::from(len);
    if sum_len >= 1 << 32 {
        return false;
    }
    if lo != old_hi.wrapping_add(1) {
        return false;
    }
    tail.ee_data = tail.ee_data.wrapping_add(len);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_completions_coalesce() {
        let mut q = VecDeque::new();
        msg_zerocopy_notify(&mut q, 0, 1);
        msg_zerocopy_notify(&mut q, 1, 1);
        msg_zerocopy_notify(&mut q, 2, 2);
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].ee_info, q[0].ee_data), (0, 3));
        // A gap starts a new notification.
        msg_zerocopy_notify(&mut q, 6, 1);
        assert_eq!(q.len(), 2);
        assert_eq!((q[1].ee_info, q[1].ee_data), (6, 6));
        assert_eq!(q[1].ee_origin, SO_EE_ORIGIN_ZEROCOPY);
        assert_eq!(q[1].ee_errno, 0);
    }

    #[test]
    fn wraparound_and_overflow_guard() {
        let mut q = VecDeque::new();
        msg_zerocopy_notify(&mut q, u32::MAX, 1);
        msg_zerocopy_notify(&mut q, 0, 1);
        assert_eq!(q.len(), 1);
        assert_eq!((q[0].ee_info, q[0].ee_data), (u32::MAX, 0));
        // A range that already spans 2^32 - 1 calls cannot grow.
        let mut q = VecDeque::new();
        q.push_back(SockExtendedErr {
            ee_errno: 0,
            ee_origin: SO_EE_ORIGIN_ZEROCOPY,
            ee_type: 0,
            ee_code: 0,
            ee_pad: 0,
            ee_info: 1,
            ee_data: u32::MAX,
        });
        msg_zerocopy_notify(&mut q, 0, 1);
        assert_eq!(q.len(), 2);
    }

    #[test]
    fn uargs_complete_in_order_only_when_acked() {
        let mut z = ZerocopyState::default();
        assert_eq!(z.alloc(100), 0);
        assert_eq!(z.alloc(250), 1);
        assert!(z.complete_upto(99).is_empty());
        assert_eq!(z.complete_upto(200), vec![0]);
        assert_eq!(z.complete_upto(250), vec![1]);
        assert!(z.pending.is_empty());
    }
}
