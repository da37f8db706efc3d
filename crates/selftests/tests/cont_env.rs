//! `NetDrvContEnv`'s `_setup_ns()` sysctls: forwarding on and `accept_ra=2` (RAs still
//! accepted while forwarding) for the test's life, both restored by teardown as env.py
//! restores them.
#![allow(clippy::unwrap_used)]

use selftests::config::RunConfig;
use selftests::env::NetDrvContEnv;

#[test]
fn setup_ns_sets_forwarding_and_accept_ra_and_teardown_restores_them() {
    let env = NetDrvContEnv::new(&RunConfig::default(), 1, false).unwrap();
    let (k, host) = (env.ep.kernel.clone(), env.ep.host_ns);
    let fresh = simkernel::Kernel::new(simkernel::KernelConfig::default());
    let before = fresh.sysctl(fresh.init_net());
    assert_eq!((before.ipv6_forwarding, before.accept_ra), (false, 1));
    let s = k.borrow().sysctl(host);
    assert_eq!((s.ipv6_forwarding, s.accept_ra), (true, 2));
    env.teardown().unwrap();
    let s = k.borrow().sysctl(host);
    assert_eq!((s.ipv6_forwarding, s.accept_ra), (false, 1));
}
