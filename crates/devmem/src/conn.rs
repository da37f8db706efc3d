//! A netlink connection: a transport, sequence numbers, and the `netlink` crate's
//! sans-IO tracker ([`netlink::client::Request`]) driving one request at a time.

use std::os::fd::BorrowedFd;

use netlink::client::{OwnedMsg, Progress, Request};
use netlink::msg::MsgBuilder;

use crate::Error;
use crate::transport::NetlinkTransport;

/// A transport plus the request bookkeeping every family shares.
#[derive(Debug)]
pub struct Connection<T> {
    transport: T,
    seq: u32,
    /// Messages that arrived for no pending request (notifications), in order.
    unrelated: Vec<OwnedMsg>,
}

impl<T: NetlinkTransport> Connection<T> {
    /// Sequence numbers start at 1 and grow by one per request.
    pub fn new(transport: T) -> Self {
        Self {
            transport,
            seq: 0,
            unrelated: Vec::new(),
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// The transport, mutably.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// Gives the transport back (closing nothing).
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The sequence number the next request gets.
    pub fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// Messages received that belonged to no request, drained.
    pub fn take_unrelated(&mut self) -> Vec<OwnedMsg> {
        std::mem::take(&mut self.unrelated)
    }

    /// Starts a message of type `ty` with `NLM_F_REQUEST | extra_flags` and the next
    /// sequence number, port id 0 (as YNL and iproute2 send it).
    pub fn start(&mut self, ty: u16, extra_flags: u16) -> MsgBuilder {
        let seq = self.next_seq();
        MsgBuilder::new(ty, uapi::netlink::NLM_F_REQUEST | extra_flags, seq, 0)
    }

    /// Sends one finished request and reads datagrams until the tracker says it is
    /// complete: the reply messages (a do's reply, or every part of a dump), or the
    /// kernel's error.
    pub fn transact(&mut self, req: &[u8], fds: &[BorrowedFd<'_>]) -> Result<Vec<OwnedMsg>, Error> {
        let mut tracker = Request::for_message(req)?;
        self.transport.send(req, fds)?;
        loop {
            let datagram = self.transport.recv()?;
            let progress = tracker.handle_datagram(&datagram);
            self.unrelated.append(&mut tracker.unrelated);
            if let Progress::Done(reply) = progress? {
                return Ok(reply?);
            }
        }
    }
}
