//! `ethtool -X` (RSS indirection) and `ethtool -N` (ntuple rules), as ncdevmem and
//! devmem_lib.py run them.
//!
//! Output and exit codes follow ethtool(8): `-N ... action|queue Q` prints
//! `Added rule with ID N` on success (the location the driver chose for
//! `RX_CLS_LOC_ANY`); failures print `rmgr: Cannot insert RX class rule: <strerror>`
//! or `Cannot ...` lines on stderr and exit 1; bad arguments print
//! `ethtool: bad command line argument(s)` and exit 1.

use std::net::IpAddr;

use simkernel::net::ethtool::{FlowType, NtupleAction, NtupleRule};
use simkernel::{Kernel, NetNsId};

use super::CmdOutput;

fn strerror(errno: i32) -> String {
    ncdevmem::report::strerror(errno)
}

fn bad_args() -> CmdOutput {
    CmdOutput::err(
        1,
        "ethtool: bad command line argument(s)\nFor more information run ethtool -h\n",
    )
}

/// Runs `ethtool` with `argv` (without the program name) in `netns`.
pub fn ethtool(k: &mut Kernel, netns: NetNsId, argv: &[String]) -> CmdOutput {
    let (Some(mode), Some(ifname)) = (argv.first(), argv.get(1)) else {
        return bad_args();
    };
    let rest = &argv[2..];
    let Some(dev) = k.dev_get_by_name(netns, ifname) else {
        return CmdOutput::err(
            1,
            format!(
                "Cannot get control socket\nnetlink error: no device matches name ({ifname})\n"
            ),
        );
    };
    match mode.as_str() {
        "-X" | "--set-rxfh-indir" | "--rxfh" => set_rxfh(k, dev, rest),
        "-N" | "-U" | "--config-ntuple" | "--config-nfc" => config_ntuple(k, dev, rest),
        _ => bad_args(),
    }
}

/// `-X DEV equal N` / `-X DEV default`.
fn set_rxfh(k: &mut Kernel, dev: simkernel::DevId, rest: &[String]) -> CmdOutput {
    let words: Vec<&str> = rest.iter().map(String::as_str).collect();
    let r = match words.as_slice() {
        ["equal", n] => match n.parse::<u32>() {
            Ok(0) | Err(_) => return bad_args(),
            Ok(n) => k.ethtool_rss_equal(dev, n),
        },
        ["default"] => k.ethtool_rss_default(dev),
        _ => return bad_args(),
    };
    match r {
        Ok(()) => CmdOutput::ok(""),
        Err(e) => CmdOutput::err(
            1,
            format!(
                "Cannot set RX flow hash configuration: {}\n",
                strerror(e.errno())
            ),
        ),
    }
}

/// `-N DEV flow-type tcp4|tcp6 [src-ip A] [dst-ip A] [src-port P] [dst-port P]
/// action|queue Q` and `-N DEV delete LOC`.
fn config_ntuple(k: &mut Kernel, dev: simkernel::DevId, rest: &[String]) -> CmdOutput {
    if let [w, loc] = rest
        && w == "delete"
    {
        let Ok(loc) = loc.parse::<u32>() else {
            return bad_args();
        };
        return match k.ethtool_ntuple_del(dev, loc) {
            Ok(()) => CmdOutput::ok(""),
            Err(e) => CmdOutput::err(
                1,
                format!(
                    "rmgr: Cannot delete RX class rule: {}\nCannot delete classification rule\n",
                    strerror(e.errno())
                ),
            ),
        };
    }
    let Some(rule) = parse_rule(rest) else {
        return bad_args();
    };
    match k.ethtool_ntuple_add(dev, rule) {
        Ok(loc) => CmdOutput::ok(format!("Added rule with ID {loc}\n")),
        Err(e) => CmdOutput::err(
            1,
            format!(
                "rmgr: Cannot insert RX class rule: {}\nCannot insert classification rule\n",
                strerror(e.errno())
            ),
        ),
    }
}

/// Parses a flow spec; `None` for anything ethtool would reject as bad arguments.
pub fn parse_rule(words: &[String]) -> Option<NtupleRule> {
    let mut it = words.iter().map(String::as_str);
    if it.next()? != "flow-type" {
        return None;
    }
    let flow_type = match it.next()? {
        "tcp4" => FlowType::Tcp4,
        "tcp6" => FlowType::Tcp6,
        _ => return None,
    };
    let mut rule = NtupleRule {
        flow_type,
        src_ip: None,
        dst_ip: None,
        src_port: None,
        dst_port: None,
        action: NtupleAction::Discard,
    };
    let mut action = None;
    while let Some(key) = it.next() {
        let val = it.next()?;
        match key {
            "src-ip" => rule.src_ip = Some(parse_ip(flow_type, val)?),
            "dst-ip" => rule.dst_ip = Some(parse_ip(flow_type, val)?),
            "src-port" => rule.src_port = Some(val.parse().ok()?),
            "dst-port" => rule.dst_port = Some(val.parse().ok()?),
            "action" | "queue" => {
                let q: i64 = val.parse().ok()?;
                action = Some(match q {
                    -1 => NtupleAction::Discard,
                    q if q >= 0 => NtupleAction::Queue(u32::try_from(q).ok()?),
                    _ => return None,
                });
            }
            _ => return None,
        }
    }
    rule.action = action?;
    Some(rule)
}

fn parse_ip(ft: FlowType, s: &str) -> Option<IpAddr> {
    let ip: IpAddr = s.parse().ok()?;
    match (ft, ip) {
        (FlowType::Tcp4, IpAddr::V4(_)) | (FlowType::Tcp6, IpAddr::V6(_)) => Some(ip),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::split_words;
    use simkernel::KernelConfig;
    use simkernel::drivers::nic::NicProfile;

    fn run(k: &mut Kernel, ns: NetNsId, cmd: &str) -> CmdOutput {
        let w = split_words(cmd);
        assert_eq!(w[0], "ethtool");
        ethtool(k, ns, &w[1..])
    }

    #[test]
    fn rules_rss_and_errors() {
        let mut k = Kernel::new(KernelConfig::default());
        let ns = k.init_net();
        let nic = k.nic_add(ns, "eth0", NicProfile::bnxt(), 4).unwrap();
        let r = run(
            &mut k,
            ns,
            "ethtool -N eth0 flow-type tcp6 dst-port 5201 action 3",
        );
        assert_eq!(r, CmdOutput::ok("Added rule with ID 0\n"));
        // ncdevmem's 3-tuple format, with the blanks of its absent fields.
        let r = run(
            &mut k,
            ns,
            "ethtool -N eth0 flow-type tcp6   dst-ip 2001:db8::1   dst-port 5202 queue 3",
        );
        assert_eq!(r.stdout, "Added rule with ID 1\n");
        let rule = k.device(nic).ethtool.ntuple[&1];
        assert_eq!(rule.dst_port, Some(5202));
        assert_eq!(rule.action, NtupleAction::Queue(3));
        assert_eq!(run(&mut k, ns, "ethtool -N eth0 delete 0").status, 0);
        assert!(!k.device(nic).ethtool.ntuple.contains_key(&0));
        let r = run(&mut k, ns, "ethtool -N eth0 delete 0");
        assert_eq!(r.status, 1);
        assert!(
            r.stderr
                .starts_with("rmgr: Cannot delete RX class rule: No such file or directory")
        );
        let r = run(
            &mut k,
            ns,
            "ethtool -N eth0 flow-type tcp6 dst-port 1 action 9",
        );
        assert_eq!(r.status, 1);
        assert!(r.stderr.contains("Invalid argument"), "{}", r.stderr);

        assert_eq!(run(&mut k, ns, "ethtool -X eth0 equal 3 >&2").status, 0);
        assert!(k.device(nic).ethtool.rss_indir.iter().all(|&q| q < 3));
        assert_eq!(run(&mut k, ns, "ethtool -X eth0 default >&2").status, 0);
        assert!(k.device(nic).ethtool.rss_indir.contains(&3));

        for bad in [
            "ethtool -N eth0 flow-type udp6 dst-port 1 action 1",
            "ethtool -N eth0 flow-type tcp6 dst-ip 192.0.2.1 action 1",
            "ethtool -N eth0 flow-type tcp6 dst-port 1",
            "ethtool -X eth0 equal zero",
            "ethtool -Q eth0",
        ] {
            let r = run(&mut k, ns, bad);
            assert_eq!(r.status, 1, "{bad}");
            assert!(
                r.stderr
                    .starts_with("ethtool: bad command line argument(s)")
            );
        }
        assert_eq!(run(&mut k, ns, "ethtool -X nope default").status, 1);
    }
}
