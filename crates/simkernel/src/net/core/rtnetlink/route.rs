//! `RTM_NEWROUTE` for IPv6 and IPv4 in the main table.
//!
//! Kernel: net/ipv6/route.c `inet6_rtm_newroute()` (`rtm_to_fib6_config()`,
//! `ip6_route_add()`) and net/ipv4/fib_frontend.c `inet_rtm_newroute()`
//! (`rtm_to_fib_config()`, `fib_table_insert()`). IPv6 checks `RTA_DST` against
//! `rtm_dst_len` itself (its policy has no entry for it); a metric of 0 becomes
//! `IP6_RT_PRIO_USER`. Tables other than main, route types other than unicast, and
//! multipath are not modelled (the route goes to the main table as unicast).

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink::policy::ExtAckError;
use uapi::errno::{EINVAL, ENODEV};
use uapi::rtnetlink::*;

use super::policy::{RTM_IPV4_POLICY, RTM_IPV6_POLICY};
use super::{RtnlReq, kerr, nla_get_u32, nlmsg_parse_deprecated};
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;

impl Kernel {
    /// `RTA_OIF` resolved in the caller's namespace; ENODEV when it names nothing.
    fn rtm_oif(&self, r: &RtnlReq<'_>, oif: Option<u32>) -> Result<Option<DevId>, ExtAckError> {
        match oif {
            None | Some(0) => Ok(None),
            Some(i) => self
                .dev_get_by_index(r.caller.netns, i)
                .map(Some)
                .ok_or(ExtAckError::new(ENODEV)),
        }
    }

    /// Kernel: `inet6_rtm_newroute()`.
    pub(crate) fn inet6_rtm_newroute(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, RtMsg::SIZE, &RTM_IPV6_POLICY)?;
        let rtm = RtMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        let gateway = tb.get(RTA_GATEWAY).map(|a| {
            let mut g = [0u8; 16];
            g.copy_from_slice(&a.value[..16]);
            Ipv6Addr::from(g)
        });
        let mut dst = [0u8; 16];
        if let Some(a) = tb.get(RTA_DST) {
            let plen = (usize::from(rtm.rtm_dst_len) + 7) >> 3;
            if a.value.len() < plen {
                return Err(ExtAckError::new(EINVAL));
            }
            let n = plen.min(16);
            dst[..n].copy_from_slice(&a.value[..n]);
        }
        let oif = tb.get(RTA_OIF).map(|a| nla_get_u32(&a));
        let metric = tb
            .get(RTA_PRIORITY)
            .map(|a| nla_get_u32(&a))
            .filter(|&m| m != 0);
        // ip6_route_info_create(): the prefix length first, then the device.
        if rtm.rtm_dst_len > 128 {
            return Err(ExtAckError::new(EINVAL).msg("Invalid prefix length"));
        }
        let dev = self.rtm_oif(r, oif)?;
        self.ip6_route_add(
            r.caller.netns,
            Ipv6Addr::from(dst),
            rtm.rtm_dst_len,
            gateway,
            dev,
            metric,
        )
        .map_err(kerr)?;
        Ok(tb.warning)
    }

    /// Kernel: `inet_rtm_newroute()`.
    pub(crate) fn inet_rtm_newroute(
        &mut self,
        r: &RtnlReq<'_>,
    ) -> Result<Option<&'static str>, ExtAckError> {
        let tb = nlmsg_parse_deprecated(r.raw, RtMsg::SIZE, &RTM_IPV4_POLICY)?;
        let rtm = RtMsg::from_bytes(r.payload()).map_err(|_| ExtAckError::new(EINVAL))?;
        let v4 = |t: u16| {
            tb.get(t).map(|a| {
                let mut b = [0u8; 4];
                b.copy_from_slice(&a.value[..4]);
                Ipv4Addr::from(b)
            })
        };
        let dst = v4(RTA_DST).unwrap_or(Ipv4Addr::UNSPECIFIED);
        let gateway = v4(RTA_GATEWAY);
        let oif = tb.get(RTA_OIF).map(|a| nla_get_u32(&a));
        let metric = tb.get(RTA_PRIORITY).map(|a| nla_get_u32(&a));
        // fib_table_insert(): prefix length, then host bits beyond it.
        if rtm.rtm_dst_len > 32 {
            return Err(ExtAckError::new(EINVAL).msg("Invalid prefix length"));
        }
        if crate::net::ipv4::route::ipv4_prefix(dst, rtm.rtm_dst_len) != dst {
            return Err(ExtAckError::new(EINVAL).msg("Invalid prefix for given prefix length"));
        }
        let dev = match self.rtm_oif(r, oif) {
            Ok(d) => d,
            Err(e) => return Err(e.msg("Nexthop device not found")),
        };
        self.ip_route_add(r.caller.netns, dst, rtm.rtm_dst_len, gateway, dev, metric)
            .map_err(kerr)?;
        Ok(tb.warning)
    }
}
