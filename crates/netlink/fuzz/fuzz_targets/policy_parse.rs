//! Arbitrary requests through the server side: genl dispatch and strict/liberal policy
//! validation for every netdev and nlctrl op, nested re-parses, and the acks they
//! produce. None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netlink::ack::{AckOpts, ack};
use netlink::family::{Caps, ctrl, netdev};
use netlink::msg::messages;
use netlink::policy::{Strictness, parse, parse_nested};

fuzz_target!(|data: &[u8]| {
    let caps = Caps {
        net_admin: true,
        ns_net_admin: true,
    };
    for m in messages(data).flatten() {
        for fam in [&netdev::FAMILY, &ctrl::FAMILY] {
            let res = fam.rcv_msg(&m, caps);
            let err = match &res {
                Ok(req) => {
                    // Re-parse every nest the way handlers do.
                    if let Some(attrs) = &req.attrs {
                        for a in attrs.iter() {
                            let _ = parse_nested(&netdev::QUEUE_ID_POLICY, &a);
                            let _ = parse_nested(&netdev::LEASE_POLICY, &a);
                        }
                    }
                    None
                }
                Err(e) => Some(e),
            };
            for opts in [
                AckOpts {
                    cap_ack: false,
                    ext_ack: true,
                },
                AckOpts {
                    cap_ack: true,
                    ext_ack: true,
                },
            ] {
                let reply = ack(m.raw, err, opts, 1);
                assert!(messages(&reply).all(|r| r.is_ok()));
            }
        }
    }
    // The raw bytes as an attribute stream against every policy.
    for p in netdev::OPS
        .iter()
        .chain(ctrl::OPS.iter())
        .filter_map(|o| o.policy)
    {
        for s in [
            Strictness::STRICT,
            Strictness::LIBERAL,
            Strictness::DEPRECATED_STRICT,
        ] {
            let _ = parse(p, data, 20, s);
        }
    }
});
