//! A TAP-backed NIC: the emulated stack pings the real Linux kernel across a TAP
//! interface in a fresh network namespace (root and /dev/net/tun needed; skipped with a
//! printed reason otherwise).
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use simkernel::drivers::nic::NicProfile;
use simkernel::{Kernel, KernelConfig};

#[test]
fn ping_the_real_kernel_through_a_tap() {
    let r = std::thread::spawn(|| -> Result<(), String> {
        // A fresh namespace for this thread: the TAP and its address live only there.
        if let Err(e) = linux::netns::unshare_net() {
            return Err(format!("SKIP: unshare(CLONE_NEWNET): {e}"));
        }
        let tap = match linux::tap::Tap::open("nktap%d") {
            Ok(t) => t,
            Err(e) => return Err(format!("SKIP: /dev/net/tun: {e}")),
        };
        let name = tap.name().to_string();
        linux::tap::set_link_up(&name).map_err(|e| e.to_string())?;
        linux::tap::set_ipv4(&name, Ipv4Addr::new(198, 18, 0, 1), 24).map_err(|e| e.to_string())?;

        let mut k = Kernel::new(KernelConfig::default());
        let init = k.init_net();
        let nic = k.nic_add(init, "eth0", NicProfile::bnxt(), 2).unwrap();
        k.nic_attach_tap(nic, tap).unwrap();
        k.link_set_up(nic, true).unwrap();
        k.ipv4_addr_add(nic, Ipv4Addr::new(198, 18, 0, 2), 24)
            .unwrap();
        k.ping4_send(
            init,
            Ipv4Addr::new(198, 18, 0, 1),
            0x4242,
            1,
            b"through a tap",
        )
        .unwrap();
        let start = WallInstant::now();
        while k.ip_stats(init).icmp_in_echo_reps == 0 {
            if start.elapsed() > WallDuration::from_secs(3) {
                return Err(format!(
                    "no echo reply from the real kernel; rx {:?}",
                    k.device(nic).stats
                ));
            }
            k.tap_poll();
            std::thread::sleep(WallDuration::from_millis(2));
        }
        // The real kernel resolved us over ARP and we resolved it.
        let n = k
            .neigh_lookup(nic, std::net::IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)))
            .unwrap();
        assert!(n.lladdr.is_some());
        Ok(())
    })
    .join()
    .unwrap();
    match r {
        Ok(()) => {}
        Err(m) if m.starts_with("SKIP") => println!("{m}"),
        Err(m) => panic!("{m}"),
    }
}
