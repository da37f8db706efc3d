//! A netdev client over `UnixTransport`, against a minimal server thread: the request
//! bytes name the dma-buf fd by number and the fd itself arrives by SCM_RIGHTS.
#![allow(clippy::unwrap_used)]

use std::os::fd::AsRawFd;

use devmem::dmabuf::Dmabuf;
use devmem::netdev::{NetdevClient, QueueType};
use devmem::transport::UnixTransport;
use linux::seqpacket::SeqpacketConn;
use netlink::ack::{AckOpts, ack};
use netlink::family::ctrl::{FamilyInfo, family_reply};
use netlink::msg::{MsgBuilder, messages};
use uapi::netdev::*;

const OPTS: AckOpts = AckOpts {
    cap_ack: true,
    ext_ack: true,
};

#[test]
fn bind_rx_over_unix_socket_passes_the_dmabuf() {
    let (client, server) = SeqpacketConn::pair().unwrap();
    let srv = std::thread::spawn(move || {
        let mut buf = Vec::new();
        // nlctrl lookup.
        server.recv(&mut buf).unwrap();
        let seq = messages(&buf).next().unwrap().unwrap().hdr.nlmsg_seq;
        let info = FamilyInfo {
            id: 30,
            name: "netdev".into(),
            version: 1,
            hdrsize: 0,
            maxattr: 0,
            ops: vec![],
            mcast_groups: vec![],
        };
        server
            .send(&family_reply(&info, 77, seq, 0, 1), &[])
            .unwrap();
        server.send(&ack(&buf, None, OPTS, 77), &[]).unwrap();
        // bind-rx.
        let (_, fds) = server.recv(&mut buf).unwrap();
        let m = messages(&buf).next().unwrap().unwrap();
        assert_eq!(m.hdr.nlmsg_type, 30);
        let (g, attrs) = m.genl_attrs().unwrap();
        assert_eq!(g.cmd, NETDEV_CMD_BIND_RX);
        let named = attrs
            .map(|a| a.unwrap())
            .find(|a| a.ty == NETDEV_A_DMABUF_FD)
            .unwrap()
            .u32()
            .unwrap();
        assert_eq!(fds.len(), 1);
        let mem = linux::shm::SharedMem::from_fd(fds.into_iter().next().unwrap()).unwrap();
        let mut b = [0u8; 4];
        mem.read_at(0, &mut b).unwrap();
        assert_eq!(&b, b"pg00");
        let mut r = MsgBuilder::new(30, 0, m.hdr.nlmsg_seq, 77).genl(NETDEV_CMD_BIND_RX, 1);
        r.put_u32(NETDEV_A_DMABUF_ID, 5);
        server.send(&r.finish(), &[]).unwrap();
        server.send(&ack(&buf, None, OPTS, 77), &[]).unwrap();
        named
    });
    let buf = Dmabuf::memfd(4096).unwrap();
    buf.write_at(0, b"pg00").unwrap();
    let mut c = NetdevClient::new(UnixTransport::from_conn(
        client,
        uapi::netlink::NETLINK_GENERIC,
    ));
    let id = c.bind_rx(2, buf.fd(), &[(1, QueueType::Rx)]).unwrap();
    assert_eq!(id, 5);
    assert_eq!(srv.join().unwrap(), buf.fd().as_raw_fd() as u32);
    use devmem::transport::NetlinkTransport;
    assert_eq!(c.genl().conn().transport().portid(), 77);
}
