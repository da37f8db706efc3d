//! A scripted transport for unit tests: records every request (bytes and fd numbers)
//! and answers from a script, patching each reply's `nlmsg_seq` to the request's.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::rc::Rc;

use netlink::ack::{AckOpts, ack, done};
use netlink::family::ctrl::{FamilyInfo, family_reply};
use netlink::msg::messages;
use uapi::genetlink::{CTRL_CMD_NEWFAMILY, GENL_ID_CTRL};
use uapi::netlink::NLM_F_MULTI;

use crate::transport::NetlinkTransport;

pub(crate) const PORTID: u32 = 0x1171;
pub(crate) const NETDEV_ID: u16 = 20;
pub(crate) const ETHTOOL_ID: u16 = 21;
const OPTS: AckOpts = AckOpts {
    cap_ack: true,
    ext_ack: true,
};

/// Builds the datagrams answering one request.
pub(crate) type Responder = Box<dyn FnOnce(&[u8]) -> Vec<Vec<u8>>>;

#[derive(Default)]
pub(crate) struct Log {
    /// Every request except nlctrl lookups: bytes and passed fd numbers.
    pub sent: Vec<(Vec<u8>, Vec<RawFd>)>,
    /// Number of CTRL_CMD_GETFAMILY requests seen.
    pub getfamily: usize,
}

pub(crate) struct Mock {
    pub log: Rc<RefCell<Log>>,
    script: VecDeque<Responder>,
    inbox: VecDeque<Vec<u8>>,
}

impl Mock {
    pub fn new(script: Vec<Responder>) -> (Self, Rc<RefCell<Log>>) {
        let log = Rc::new(RefCell::new(Log::default()));
        (
            Self {
                log: log.clone(),
                script: script.into(),
                inbox: VecDeque::new(),
            },
            log,
        )
    }
}

fn family(name: &str, id: u16) -> FamilyInfo {
    FamilyInfo {
        id,
        name: name.to_owned(),
        version: 1,
        hdrsize: 0,
        maxattr: 0,
        ops: vec![],
        mcast_groups: vec![],
    }
}

fn seq_of(req: &[u8]) -> u32 {
    u32::from_ne_bytes(req[8..12].try_into().unwrap())
}

impl NetlinkTransport for Mock {
    fn send(&mut self, datagram: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        let ty = u16::from_ne_bytes([datagram[4], datagram[5]]);
        if ty == GENL_ID_CTRL && datagram[16] == 3 {
            self.log.borrow_mut().getfamily += 1;
            let name = messages(datagram)
                .next()
                .unwrap()
                .unwrap()
                .genl_attrs()
                .unwrap()
                .1;
            let name = name
                .map(|a| a.unwrap())
                .find(|a| a.ty == 2)
                .unwrap()
                .str()
                .unwrap();
            let id = match name {
                "netdev" => NETDEV_ID,
                "ethtool" => ETHTOOL_ID,
                _ => {
                    let e = netlink::policy::ExtAckError::new(2);
                    self.inbox.push_back(ack(datagram, Some(&e), OPTS, PORTID));
                    return Ok(());
                }
            };
            let seq = seq_of(datagram);
            self.inbox.push_back(family_reply(
                &family(name, id),
                PORTID,
                seq,
                0,
                CTRL_CMD_NEWFAMILY,
            ));
            self.inbox.push_back(ack(datagram, None, OPTS, PORTID));
            return Ok(());
        }
        self.log.borrow_mut().sent.push((
            datagram.to_vec(),
            fds.iter().map(|f| f.as_raw_fd()).collect(),
        ));
        let responder = self.script.pop_front().expect("unscripted request");
        self.inbox.extend(responder(datagram));
        Ok(())
    }

    fn recv(&mut self) -> io::Result<Vec<u8>> {
        self.inbox
            .pop_front()
            .ok_or_else(|| io::Error::new(io::ErrorKind::WouldBlock, "script exhausted"))
    }

    fn portid(&self) -> u32 {
        PORTID
    }
}

/// Sets `nlmsg_seq` of every message in `datagram`.
pub(crate) fn patch_seq(mut datagram: Vec<u8>, seq: u32) -> Vec<u8> {
    let offsets: Vec<usize> = messages(&datagram).map(|m| m.unwrap().offset).collect();
    for o in offsets {
        datagram[o + 8..o + 12].copy_from_slice(&seq.to_ne_bytes());
    }
    datagram
}

/// Decodes a hex string (whitespace allowed).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Replies with the given datagrams as they are (seq patched).
pub(crate) fn canned(datagrams: Vec<Vec<u8>>) -> Responder {
    Box::new(move |req| {
        let seq = seq_of(req);
        datagrams.into_iter().map(|d| patch_seq(d, seq)).collect()
    })
}

/// Replies with `msgs` (one datagram each) then the ACK.
pub(crate) fn reply_then_ack(msgs: Vec<Vec<u8>>) -> Responder {
    Box::new(move |req| {
        let seq = seq_of(req);
        let mut out: Vec<Vec<u8>> = msgs.into_iter().map(|d| patch_seq(d, seq)).collect();
        out.push(ack(req, None, OPTS, PORTID));
        out
    })
}

/// A dump: `msgs` flagged `NLM_F_MULTI` in one datagram, then `NLMSG_DONE`.
pub(crate) fn dump_reply(msgs: Vec<Vec<u8>>) -> Responder {
    Box::new(move |req| {
        let seq = seq_of(req);
        let mut page = Vec::new();
        for m in msgs {
            let mut m = patch_seq(m, seq);
            let flags = u16::from_ne_bytes([m[6], m[7]]) | NLM_F_MULTI;
            m[6..8].copy_from_slice(&flags.to_ne_bytes());
            page.extend_from_slice(&m);
        }
        vec![page, done(seq, PORTID, 0, None, OPTS)]
    })
}

/// The error the kernel would send for `req` with `errno` and extack `msg`.
pub(crate) fn nack(errno: i32, msg: Option<&'static str>) -> Responder {
    Box::new(move |req| {
        let mut e = netlink::policy::ExtAckError::new(errno);
        if let Some(m) = msg {
            e = e.msg(m);
        }
        vec![ack(req, Some(&e), OPTS, PORTID)]
    })
}

/// A genl message from the kernel: family `ty`, command `cmd`, attributes by `build`.
pub(crate) fn genl_msg(
    ty: u16,
    cmd: u8,
    build: impl FnOnce(&mut netlink::msg::MsgBuilder),
) -> Vec<u8> {
    let mut b = netlink::msg::MsgBuilder::new(ty, 0, 0, PORTID).genl(cmd, 1);
    build(&mut b);
    b.finish()
}
