//! Generic netlink: family ids resolved by name through `nlctrl`, then do and dump
//! requests in YNL's shape.

use std::collections::BTreeMap;
use std::os::fd::BorrowedFd;

use netlink::client::OwnedMsg;
use netlink::family::ctrl::{FamilyInfo, parse_family};
use netlink::msg::{MsgBuilder, messages};
use uapi::genetlink::{CTRL_ATTR_FAMILY_NAME, CTRL_CMD_GETFAMILY, GENL_ID_CTRL};
use uapi::netlink::{NLM_F_ACK, NLM_F_DUMP};

use crate::Error;
use crate::conn::Connection;
use crate::transport::NetlinkTransport;

/// A generic netlink family as a client addresses it: name and header version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenlFamily {
    /// Name to resolve through `CTRL_CMD_GETFAMILY`.
    pub name: &'static str,
    /// `genlmsghdr.version` requests carry.
    pub version: u8,
}

/// The `netdev` family (`NETDEV_FAMILY_NAME`, version 1).
pub const NETDEV: GenlFamily = GenlFamily {
    name: uapi::netdev::NETDEV_FAMILY_NAME,
    version: uapi::netdev::NETDEV_FAMILY_VERSION,
};

/// The `ethtool` family (`ETHTOOL_GENL_NAME`, version 1).
pub const ETHTOOL: GenlFamily = GenlFamily {
    name: uapi::ethtool::ETHTOOL_GENL_NAME,
    version: uapi::ethtool::ETHTOOL_GENL_VERSION,
};

/// YNL's `genlmsghdr.version` for nlctrl requests (`ynl_sock_read_family()` sends 1).
const CTRL_REQ_VERSION: u8 = 1;

/// A generic netlink socket: a [`Connection`] plus a cache of resolved families.
#[derive(Debug)]
pub struct GenlClient<T> {
    conn: Connection<T>,
    families: BTreeMap<&'static str, FamilyInfo>,
}

impl<T: NetlinkTransport> GenlClient<T> {
    /// A client over `transport` (which must speak `NETLINK_GENERIC`).
    pub fn new(transport: T) -> Self {
        Self {
            conn: Connection::new(transport),
            families: BTreeMap::new(),
        }
    }

    /// The underlying connection.
    pub fn conn(&mut self) -> &mut Connection<T> {
        &mut self.conn
    }

    /// The family as `nlctrl` describes it, asked once and cached: `CTRL_CMD_GETFAMILY`
    /// with `CTRL_ATTR_FAMILY_NAME`, `NLM_F_REQUEST | NLM_F_ACK`, version 1, as YNL
    /// sends it. An unknown family is the controller's `ENOENT`.
    pub fn resolve(&mut self, family: GenlFamily) -> Result<&FamilyInfo, Error> {
        if !self.families.contains_key(family.name) {
            let mut b = self
                .conn
                .start(GENL_ID_CTRL, NLM_F_ACK)
                .genl(CTRL_CMD_GETFAMILY, CTRL_REQ_VERSION);
            b.put_str(CTRL_ATTR_FAMILY_NAME, family.name);
            let reply = self.conn.transact(&b.finish(), &[])?;
            let first = reply.first().ok_or(Error::MissingAttr("family-id"))?;
            let bytes = first.to_bytes();
            let msg = messages(&bytes)
                .next()
                .ok_or(Error::MissingAttr("family-id"))??;
            let info = parse_family(&msg)?;
            self.families.insert(family.name, info);
        }
        self.families
            .get(family.name)
            .ok_or(Error::MissingAttr("family-id"))
    }

    /// Resolved family id.
    pub fn family_id(&mut self, family: GenlFamily) -> Result<u16, Error> {
        Ok(self.resolve(family)?.id)
    }

    /// A do request: `NLM_F_REQUEST | NLM_F_ACK | flags`, command `cmd`, attributes
    /// written by `build`. Returns the reply messages (none for ops that only ACK); the
    /// trailing ACK is consumed.
    pub fn request(
        &mut self,
        family: GenlFamily,
        cmd: u8,
        flags: u16,
        build: impl FnOnce(&mut MsgBuilder),
        fds: &[BorrowedFd<'_>],
    ) -> Result<Vec<OwnedMsg>, Error> {
        let id = self.family_id(family)?;
        let mut b = self
            .conn
            .start(id, NLM_F_ACK | flags)
            .genl(cmd, family.version);
        build(&mut b);
        self.conn.transact(&b.finish(), fds)
    }

    /// A dump: `NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP` (YNL's `ynl_gemsg_start_dump()`
    /// flags); gathers every `NLM_F_MULTI` part until `NLMSG_DONE`.
    pub fn dump(
        &mut self,
        family: GenlFamily,
        cmd: u8,
        build: impl FnOnce(&mut MsgBuilder),
    ) -> Result<Vec<OwnedMsg>, Error> {
        self.request(family, cmd, NLM_F_DUMP, build, &[])
    }
}
