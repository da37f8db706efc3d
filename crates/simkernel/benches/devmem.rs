//! Control- and data-plane costs of devmem TX in the emulated kernel.
//!
//! - `bind_tx_unbind/1GiB`: bind-tx of a 1 GiB dma-buf (262,144 net_iovs) on a DMA NIC and
//!   the unbind that frees it, as `netdev_nl_bind_tx_doit()` + `netdev_nl_sock_priv_destroy()`.
//! - `bind_tx_unbind/1GiB-page-sg`: the same with udmabuf's layout, one scatter-gather
//!   entry (and so one IOVA mapping and one net_iov area) per page.
//! - `xmit/validate+dma`: one `dev_queue_xmit()` of an unreadable skb (a 66-byte header and
//!   one 4 KiB net_iov frag) on the bound NIC: validation, then the DMA engine gathering the
//!   frag through the IOMMU onto the TX ring.
//! - `xmit/readable`: the same with a readable 4 KiB page frag, the baseline measured in
//!   the same run: the ratio shows what validation and IOVA translation add.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use simkernel::drivers::nic::NicProfile;
use simkernel::net::core::dev::DeviceKind;
use simkernel::{Caller, Cred, DevId, Frag, Kernel, KernelConfig, KernelModel, NlSockId, Skb};

const PAGE: usize = simkernel::PAGE_SIZE;

struct Bench {
    k: Kernel,
    nic: DevId,
    ifindex: u32,
    admin: Caller,
}

fn setup() -> Bench {
    let mut k = Kernel::new(KernelConfig {
        model: KernelModel::Series,
        tx_validation: true,
    });
    let init = k.init_net();
    let nic = k
        .nic_add(init, "eth0", NicProfile::bnxt(), 4)
        .expect("nic_add");
    k.link_set_up(nic, true).expect("link up");
    let cred = Cred {
        cap_net_admin: true,
    };
    let pid = k.process_spawn(init, cred);
    let admin = Caller {
        pid,
        netns: init,
        cred,
        sock: NlSockId(1),
    };
    let ifindex = k.device(nic).ifindex;
    Bench {
        k,
        nic,
        ifindex,
        admin,
    }
}

fn bind_tx_unbind(c: &mut Criterion) {
    let mut b = setup();
    let buf = b.k.dmabuf_create(1 << 30, 0).expect("dmabuf");
    let fd = b.k.process_install_dmabuf(b.admin.pid, buf).expect("fd");
    c.bench_function("bind_tx_unbind/1GiB", |bench| {
        bench.iter(|| {
            let id = b.k.bind_tx(&b.admin, b.ifindex, fd).expect("bind-tx");
            black_box(id);
            b.k.unbind_socket_bindings(b.admin.sock);
        })
    });
    // udmabuf's layout: one scatter-gather entry per page, so one IOVA mapping per page.
    let buf = b.k.dmabuf_create(1 << 30, PAGE).expect("dmabuf");
    let fd = b.k.process_install_dmabuf(b.admin.pid, buf).expect("fd");
    let mut group = c.benchmark_group("bind_tx_unbind");
    group.sample_size(10);
    group.bench_function("1GiB-page-sg", |bench| {
        bench.iter(|| {
            let id = b.k.bind_tx(&b.admin, b.ifindex, fd).expect("bind-tx");
            black_box(id);
            b.k.unbind_socket_bindings(b.admin.sock);
        })
    });
    group.finish();
    assert_eq!(b.k.live_bindings(), 0);
}

fn xmit(c: &mut Criterion) {
    let mut b = setup();
    let buf = b.k.dmabuf_create(16 * PAGE, 0).expect("dmabuf");
    buf.memory().fill(0, 16 * PAGE, 0x5a).expect("fill");
    let fd = b.k.process_install_dmabuf(b.admin.pid, buf).expect("fd");
    let id = b.k.bind_tx(&b.admin, b.ifindex, fd).expect("bind-tx");
    let binding = b.k.net_devmem_lookup_dmabuf(id).expect("binding");
    let (niov, _, _) = binding.net_devmem_get_niov_at(0).expect("niov");
    let page = simkernel::net::core::skbuff::Page::new_buf(vec![0x5a; PAGE]);
    let header = vec![0u8; 66];

    let mut group = c.benchmark_group("xmit");
    group.bench_function("validate+dma", |bench| {
        bench.iter(|| {
            let mut skb = Skb::linear(header.clone());
            skb.frags.push(Frag::NetIov {
                niov: niov.clone(),
                off: 0,
                len: PAGE,
            });
            black_box(b.k.dev_queue_xmit(b.nic, skb));
            drain(&mut b);
        })
    });
    group.bench_function("readable", |bench| {
        bench.iter(|| {
            let mut skb = Skb::linear(header.clone());
            skb.frags.push(Frag::Page {
                bytes: page.clone(),
                off: 0,
                len: PAGE,
            });
            black_box(b.k.dev_queue_xmit(b.nic, skb));
            drain(&mut b);
        })
    });
    group.finish();
    assert_eq!(b.k.device(b.nic).stats.tx_dropped, 0);
}

/// Empties the NIC's TX ring (the wire would take the frames).
fn drain(b: &mut Bench) {
    if let DeviceKind::Nic(n) = &mut b.k.device_mut_for_tests(b.nic).kind {
        n.tx_ring.clear();
    }
}

criterion_group!(benches, bind_tx_unbind, xmit);
criterion_main!(benches);
