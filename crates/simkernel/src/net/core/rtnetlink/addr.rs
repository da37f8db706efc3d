//! `RTM_NEWADDR` for IPv6 and IPv4.
//!
//! Kernel: net/ipv6/addrconf.c `inet6_rtm_newaddr()` (→ `inet6_addr_add()`) and
//! net/ipv4/devinet.c `inet_rtm_newaddr()` (→ `rtm_to_ifaddr()`). Both parse with
//! `nlmsg_parse_deprecated()`. IPv6 takes its flags from `IFA_FLAGS` when present,
//! else from the u8 `ifa_flags`; only `IFA_F_NODAD` changes what the emulator does.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink::policy::ExtAckError;
use uapi::errno::{EEXIST, EINVAL, ENODEV};
use uapi::netlink::{NLM_F_EXCL, NLM_F_REPLACE};
use uapi::rtnetlink::*;

use super::policy::{IFA_IPV4_POLICY, IFA_IPV6_POLICY};
use super::{RtnlReq, kerr, nla_get_u32, nlmsg_parse_deprecated};
use crate::kernel::Kernel;

impl Kernel {
    /// Kernel: `inet6_rtm_newaddr()`.
    pub(crate) fn inet6_rtm_newaddr(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, IfAddrMsg::SIZE, &IFA_IPV6_POLICY)?;
        let ifm = IfAddrMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        // extract_addr(): IFA_LOCAL wins when both are there (IFA_ADDRESS is the peer).
        let pfx = tb
            .get(IFA_LOCAL)
            .or_else(|| tb.get(IFA_ADDRESS))
            .ok_or(ExtAckError::new(EINVAL))?;
        let mut a = [0u8; 16];
        a.copy_from_slice(&pfx.value[..16]);
        let addr = Ipv6Addr::from(a);
        let flags = tb
            .get(IFA_FLAGS)
            .map_or(u32::from(ifm.ifa_flags), |f| nla_get_u32(&f));
        let dev = self
            .dev_get_by_index(r.caller.netns, ifm.ifa_index)
            .ok_or(ExtAckError::new(ENODEV).msg("ipv6: Unable to find the interface"))?;
        if self.ipv6_dev_has_addr(dev, &addr).is_some() {
            // inet6_addr_modify() without NLM_F_EXCL: nothing the emulator tracks changes.
            if r.has_flag(NLM_F_EXCL) {
                return Err(ExtAckError::new(EEXIST));
            }
            return Ok(tb.warning);
        }
        if ifm.ifa_prefixlen > 128 {
            return Err(ExtAckError::new(EINVAL).msg("ipv6: Invalid prefix length"));
        }
        self.ipv6_addr_add(dev, addr, ifm.ifa_prefixlen, flags & IFA_F_NODAD != 0)
            .map_err(kerr)?;
        Ok(tb.warning)
    }

    /// Kernel: `inet_rtm_newaddr()`.
    pub(crate) fn inet_rtm_newaddr(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, IfAddrMsg::SIZE, &IFA_IPV4_POLICY)?;
        let ifm = IfAddrMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        if ifm.ifa_prefixlen > 32 {
            return Err(ExtAckError::new(EINVAL).msg("ipv4: Invalid prefix length"));
        }
        let local = tb
            .get(IFA_LOCAL)
            .ok_or(ExtAckError::new(EINVAL).msg("ipv4: Local address is not supplied"))?;
        let mut a = [0u8; 4];
        a.copy_from_slice(&local.value[..4]);
        let addr = Ipv4Addr::from(a);
        let dev = self
            .dev_get_by_index(r.caller.netns, ifm.ifa_index)
            .ok_or(ExtAckError::new(ENODEV).msg("ipv4: Device not found"))?;
        if self.dev(dev).ip4.addrs.iter().any(|x| x.addr == addr) {
            if r.has_flag(NLM_F_EXCL) || !r.has_flag(NLM_F_REPLACE) {
                return Err(ExtAckError::new(EEXIST).msg("ipv4: Address already assigned"));
            }
            return Ok(tb.warning);
        }
        self.ipv4_addr_add(dev, addr, ifm.ifa_prefixlen)
            .map_err(kerr)?;
        Ok(tb.warning)
    }
}
