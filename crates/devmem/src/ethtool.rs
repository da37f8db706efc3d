//! The `ethtool` genl family: ring and channel settings, what ncdevmem and
//! devmem_lib.py read and change (header split, hds-thresh, RX ring size, queue count),
//! and interrupt coalescing (`ethtool -c` / `-C`).
//!
//! Requests carry the `ETHTOOL_A_*_HEADER` nest with `ETHTOOL_A_HEADER_DEV_INDEX`, as
//! YNL's `ethtool_header_put()` writes it. Message ids differ by direction: requests use
//! `ETHTOOL_MSG_*_GET/SET`, replies come back as `ETHTOOL_MSG_*_GET_REPLY`.

use netlink::attr::Attr;
use netlink::client::OwnedMsg;
use netlink::msg::MsgBuilder;
use uapi::ethtool::*;

use crate::Error;
use crate::genl::{ETHTOOL, GenlClient};
use crate::reply::genl_attrs;
use crate::transport::{KernelTransport, NetlinkTransport};

pub use uapi::ethtool::TcpDataSplit;

/// `rings-get`: ring sizes and header-split state. Absent counters read 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rings {
    pub rx: u32,
    pub rx_max: u32,
    pub tx: u32,
    pub tx_max: u32,
    pub tcp_data_split: Option<TcpDataSplit>,
    pub hds_thresh: Option<u32>,
    pub hds_thresh_max: Option<u32>,
}

/// `rings-set`: only the `Some` fields are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RingsSet {
    pub rx: Option<u32>,
    pub tx: Option<u32>,
    pub tcp_data_split: Option<TcpDataSplit>,
    pub hds_thresh: Option<u32>,
}

/// `channels-get`: maxima and current counts. Absent counters read 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Channels {
    pub rx_max: u32,
    pub tx_max: u32,
    pub other_max: u32,
    pub combined_max: u32,
    pub rx_count: u32,
    pub tx_count: u32,
    pub other_count: u32,
    pub combined_count: u32,
}

/// `channels-set`: only the `Some` counts are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChannelsSet {
    pub rx: Option<u32>,
    pub tx: Option<u32>,
    pub other: Option<u32>,
    pub combined: Option<u32>,
}

/// A coalescing parameter's wire form: u32, or a flag sent as u8 0/1.
trait CoalesceValue: Copy {
    fn get(a: &Attr<'_>) -> Result<Self, Error>;
    fn put(self, b: &mut MsgBuilder, attr: u16);
}

impl CoalesceValue for u32 {
    fn get(a: &Attr<'_>) -> Result<Self, Error> {
        Ok(a.u32()?)
    }
    fn put(self, b: &mut MsgBuilder, attr: u16) {
        b.put_u32(attr, self);
    }
}

impl CoalesceValue for bool {
    fn get(a: &Attr<'_>) -> Result<Self, Error> {
        Ok(a.u8()? != 0)
    }
    fn put(self, b: &mut MsgBuilder, attr: u16) {
        b.put_u8(attr, u8::from(self));
    }
}

/// Both structs, the reply decoding and the request encoding, from the parameter table
/// ([`uapi::ethtool_coalesce_params`]).
macro_rules! coalesce_params {
    ($( $name:literal $field:ident: $ty:ty = $attr:path; )*) => {
        /// `coalesce-get`: the parameters the kernel reported. The kernel reports a
        /// parameter when the driver supports it or it is non-zero
        /// (`coalesce_fill_reply()`), so `None` means unsupported (and 0).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Coalesce {
            $( #[doc = concat!("`", $name, "`.")] pub $field: Option<$ty>, )*
        }

        /// `coalesce-set`: only the `Some` parameters are sent, in attribute order. One
        /// the driver does not support fails the whole request (`EINVAL`, "cannot
        /// modify an unsupported parameter").
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct CoalesceSet {
            $( #[doc = concat!("`", $name, "`.")] pub $field: Option<$ty>, )*
        }

        impl Coalesce {
            /// Takes one reply attribute (others, e.g. the DIM profiles, are ignored).
            fn read(&mut self, a: &Attr<'_>) -> Result<(), Error> {
                match a.ty {
                    $( $attr => self.$field = Some(<$ty as CoalesceValue>::get(a)?), )*
                    _ => {}
                }
                Ok(())
            }
        }

        impl CoalesceSet {
            fn put(&self, b: &mut MsgBuilder) {
                $(
                    if let Some(v) = self.$field {
                        v.put(b, $attr);
                    }
                )*
            }
        }
    };
}

uapi::ethtool_coalesce_params!(coalesce_params);

/// A typed client of the `ethtool` family.
#[derive(Debug)]
pub struct EthtoolClient<T> {
    genl: GenlClient<T>,
}

impl EthtoolClient<KernelTransport> {
    /// A client of the real kernel (`NETLINK_GENERIC`).
    pub fn open_kernel() -> std::io::Result<Self> {
        Ok(Self::new(KernelTransport::open(
            uapi::netlink::NETLINK_GENERIC,
        )?))
    }
}

/// `ethtool_header_put()` with only the device index.
fn put_header(b: &mut MsgBuilder, attr: u16, ifindex: u32) {
    let n = b.nest_start(attr);
    b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, ifindex);
    b.nest_end(n);
}

impl<T: NetlinkTransport> EthtoolClient<T> {
    /// A client over `transport` (a `NETLINK_GENERIC` one).
    pub fn new(transport: T) -> Self {
        Self {
            genl: GenlClient::new(transport),
        }
    }

    /// The generic netlink layer underneath.
    pub fn genl(&mut self) -> &mut GenlClient<T> {
        &mut self.genl
    }

    fn get(&mut self, cmd: u8, header: u16, ifindex: u32) -> Result<OwnedMsg, Error> {
        let parts = self
            .genl
            .request(ETHTOOL, cmd, 0, |b| put_header(b, header, ifindex), &[])?;
        parts.into_iter().next().ok_or(Error::MissingAttr("header"))
    }

    /// `rings-get {header {dev-index}}`. Kernel: `rings_fill_reply()`.
    pub fn rings_get(&mut self, ifindex: u32) -> Result<Rings, Error> {
        let m = self.get(ETHTOOL_MSG_RINGS_GET, ETHTOOL_A_RINGS_HEADER, ifindex)?;
        let mut r = Rings::default();
        for a in genl_attrs(&m)? {
            let a = a?;
            match a.ty {
                ETHTOOL_A_RINGS_RX => r.rx = a.u32()?,
                ETHTOOL_A_RINGS_RX_MAX => r.rx_max = a.u32()?,
                ETHTOOL_A_RINGS_TX => r.tx = a.u32()?,
                ETHTOOL_A_RINGS_TX_MAX => r.tx_max = a.u32()?,
                ETHTOOL_A_RINGS_TCP_DATA_SPLIT => {
                    r.tcp_data_split = Some(TcpDataSplit::from(a.u8()?))
                }
                ETHTOOL_A_RINGS_HDS_THRESH => r.hds_thresh = Some(a.u32()?),
                ETHTOOL_A_RINGS_HDS_THRESH_MAX => r.hds_thresh_max = Some(a.u32()?),
                _ => {}
            }
        }
        Ok(r)
    }

    /// `rings-set {header, rx?, tx?, tcp-data-split?, hds-thresh?}` in the yaml's
    /// request order (`TcpDataSplit::Unknown` asks for the driver default).
    pub fn rings_set(&mut self, ifindex: u32, set: &RingsSet) -> Result<(), Error> {
        self.genl.request(
            ETHTOOL,
            ETHTOOL_MSG_RINGS_SET,
            0,
            |b| put_rings_set(b, ifindex, set),
            &[],
        )?;
        Ok(())
    }

    /// `channels-get {header {dev-index}}`. Kernel: `channels_fill_reply()`.
    pub fn channels_get(&mut self, ifindex: u32) -> Result<Channels, Error> {
        let m = self.get(ETHTOOL_MSG_CHANNELS_GET, ETHTOOL_A_CHANNELS_HEADER, ifindex)?;
        let mut c = Channels::default();
        for a in genl_attrs(&m)? {
            let a = a?;
            let slot = match a.ty {
                ETHTOOL_A_CHANNELS_RX_MAX => &mut c.rx_max,
                ETHTOOL_A_CHANNELS_TX_MAX => &mut c.tx_max,
                ETHTOOL_A_CHANNELS_OTHER_MAX => &mut c.other_max,
                ETHTOOL_A_CHANNELS_COMBINED_MAX => &mut c.combined_max,
                ETHTOOL_A_CHANNELS_RX_COUNT => &mut c.rx_count,
                ETHTOOL_A_CHANNELS_TX_COUNT => &mut c.tx_count,
                ETHTOOL_A_CHANNELS_OTHER_COUNT => &mut c.other_count,
                ETHTOOL_A_CHANNELS_COMBINED_COUNT => &mut c.combined_count,
                _ => continue,
            };
            *slot = a.u32()?;
        }
        Ok(c)
    }

    /// `coalesce-get {header {dev-index}}`. Kernel: `coalesce_fill_reply()`.
    pub fn coalesce_get(&mut self, ifindex: u32) -> Result<Coalesce, Error> {
        let m = self.get(ETHTOOL_MSG_COALESCE_GET, ETHTOOL_A_COALESCE_HEADER, ifindex)?;
        let mut c = Coalesce::default();
        for a in genl_attrs(&m)? {
            c.read(&a?)?;
        }
        Ok(c)
    }

    /// `coalesce-set {header, <parameters>}`. Kernel: `ethnl_set_coalesce()`; a request
    /// that changes nothing succeeds without notifying.
    pub fn coalesce_set(&mut self, ifindex: u32, set: &CoalesceSet) -> Result<(), Error> {
        self.genl.request(
            ETHTOOL,
            ETHTOOL_MSG_COALESCE_SET,
            0,
            |b| {
                put_header(b, ETHTOOL_A_COALESCE_HEADER, ifindex);
                set.put(b);
            },
            &[],
        )?;
        Ok(())
    }

    /// `channels-set {header, rx-count?, tx-count?, other-count?, combined-count?}`.
    pub fn channels_set(&mut self, ifindex: u32, set: &ChannelsSet) -> Result<(), Error> {
        self.genl.request(
            ETHTOOL,
            ETHTOOL_MSG_CHANNELS_SET,
            0,
            |b| {
                put_header(b, ETHTOOL_A_CHANNELS_HEADER, ifindex);
                let counts = [
                    (ETHTOOL_A_CHANNELS_RX_COUNT, set.rx),
                    (ETHTOOL_A_CHANNELS_TX_COUNT, set.tx),
                    (ETHTOOL_A_CHANNELS_OTHER_COUNT, set.other),
                    (ETHTOOL_A_CHANNELS_COMBINED_COUNT, set.combined),
                ];
                for (attr, v) in counts {
                    if let Some(v) = v {
                        b.put_u32(attr, v);
                    }
                }
            },
            &[],
        )?;
        Ok(())
    }
}

fn put_rings_set(b: &mut MsgBuilder, ifindex: u32, set: &RingsSet) {
    put_header(b, ETHTOOL_A_RINGS_HEADER, ifindex);
    if let Some(v) = set.rx {
        b.put_u32(ETHTOOL_A_RINGS_RX, v);
    }
    if let Some(v) = set.tx {
        b.put_u32(ETHTOOL_A_RINGS_TX, v);
    }
    if let Some(v) = set.tcp_data_split {
        b.put_u8(ETHTOOL_A_RINGS_TCP_DATA_SPLIT, v.into());
    }
    if let Some(v) = set.hds_thresh {
        b.put_u32(ETHTOOL_A_RINGS_HDS_THRESH, v);
    }
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn rings_get_golden_and_reply() {
        let reply = genl_msg(ETHTOOL_ID, ETHTOOL_MSG_RINGS_GET_REPLY, |b| {
            let h = b.nest_start(ETHTOOL_A_RINGS_HEADER);
            b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, 2)
                .put_str(ETHTOOL_A_HEADER_DEV_NAME, "eth0");
            b.nest_end(h);
            b.put_u32(ETHTOOL_A_RINGS_RX_MAX, 4096)
                .put_u32(ETHTOOL_A_RINGS_TX_MAX, 4096)
                .put_u32(ETHTOOL_A_RINGS_RX, 1024)
                .put_u32(ETHTOOL_A_RINGS_TX, 512)
                .put_u8(ETHTOOL_A_RINGS_TCP_DATA_SPLIT, 2)
                .put_u32(ETHTOOL_A_RINGS_HDS_THRESH, 0)
                .put_u32(ETHTOOL_A_RINGS_HDS_THRESH_MAX, 1024);
        });
        let (mock, log) = Mock::new(vec![reply_then_ack(vec![reply])]);
        let mut c = EthtoolClient::new(mock);
        let r = c.rings_get(2).unwrap();
        assert_eq!(
            r,
            Rings {
                rx: 1024,
                rx_max: 4096,
                tx: 512,
                tx_max: 4096,
                tcp_data_split: Some(TcpDataSplit::Enabled),
                hds_thresh: Some(0),
                hds_thresh_max: Some(1024),
            }
        );
        #[rustfmt::skip]
        let golden: &[u8] = &[
            0x20, 0, 0, 0,    // nlmsg_len 32
            21, 0,            // the ethtool family id
            0x05, 0,          // NLM_F_REQUEST | NLM_F_ACK
            2, 0, 0, 0, 0, 0, 0, 0,
            15, 1, 0, 0,      // ETHTOOL_MSG_RINGS_GET, version 1
            12, 0, 1, 0x80,   // ETHTOOL_A_RINGS_HEADER | NLA_F_NESTED
            8, 0, 1, 0,       //   ETHTOOL_A_HEADER_DEV_INDEX
            2, 0, 0, 0,       //     = 2
        ];
        assert_eq!(log.borrow().sent[0].0, golden);
    }

    #[test]
    fn rings_set_golden() {
        let (mock, log) = Mock::new(vec![reply_then_ack(vec![])]);
        let mut c = EthtoolClient::new(mock);
        c.rings_set(
            2,
            &RingsSet {
                rx: Some(64),
                tx: None,
                tcp_data_split: Some(TcpDataSplit::Enabled),
                hds_thresh: Some(0),
            },
        )
        .unwrap();
        #[rustfmt::skip]
        let golden: &[u8] = &[
            0x38, 0, 0, 0, 21, 0, 0x05, 0, 2, 0, 0, 0, 0, 0, 0, 0,
            16, 1, 0, 0,      // ETHTOOL_MSG_RINGS_SET v1 (16 means GET_REPLY coming back)
            12, 0, 1, 0x80,   // ETHTOOL_A_RINGS_HEADER | NLA_F_NESTED
            8, 0, 1, 0,       //   ETHTOOL_A_HEADER_DEV_INDEX
            2, 0, 0, 0,       //     = 2
            8, 0, 6, 0,       // ETHTOOL_A_RINGS_RX
            64, 0, 0, 0,      //   = 64
            5, 0, 11, 0,      // ETHTOOL_A_RINGS_TCP_DATA_SPLIT (u8)
            2, 0, 0, 0,       //   = enabled, 3 pad bytes
            8, 0, 17, 0,      // ETHTOOL_A_RINGS_HDS_THRESH
            0, 0, 0, 0,       //   = 0
        ];
        assert_eq!(log.borrow().sent[0].0, golden);
    }

    #[test]
    fn coalesce_get_and_set_golden() {
        let reply = genl_msg(ETHTOOL_ID, ETHTOOL_MSG_COALESCE_GET_REPLY, |b| {
            let h = b.nest_start(ETHTOOL_A_COALESCE_HEADER);
            b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, 2);
            b.nest_end(h);
            b.put_u32(ETHTOOL_A_COALESCE_RX_USECS, 10)
                .put_u32(ETHTOOL_A_COALESCE_RX_MAX_FRAMES, 30)
                .put_u8(ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, 0)
                .put_u8(ETHTOOL_A_COALESCE_USE_CQE_MODE_RX, 1);
        });
        let (mock, log) = Mock::new(vec![reply_then_ack(vec![reply]), reply_then_ack(vec![])]);
        let mut c = EthtoolClient::new(mock);
        assert_eq!(
            c.coalesce_get(2).unwrap(),
            Coalesce {
                rx_usecs: Some(10),
                rx_max_frames: Some(30),
                use_adaptive_rx: Some(false),
                use_cqe_mode_rx: Some(true),
                ..Default::default()
            }
        );
        assert_eq!(log.borrow().sent[0].0[16], ETHTOOL_MSG_COALESCE_GET);
        c.coalesce_set(
            2,
            &CoalesceSet {
                use_adaptive_rx: Some(true),
                rx_usecs: Some(50),
                ..Default::default()
            },
        )
        .unwrap();
        #[rustfmt::skip]
        let golden: &[u8] = &[
            0x30, 0, 0, 0, 21, 0, 0x05, 0, 3, 0, 0, 0, 0, 0, 0, 0,
            20, 1, 0, 0,      // ETHTOOL_MSG_COALESCE_SET v1 (20 means GET_REPLY coming back)
            12, 0, 1, 0x80,   // ETHTOOL_A_COALESCE_HEADER | NLA_F_NESTED
            8, 0, 1, 0,       //   ETHTOOL_A_HEADER_DEV_INDEX
            2, 0, 0, 0,       //     = 2
            8, 0, 2, 0,       // ETHTOOL_A_COALESCE_RX_USECS (attribute order, not field order)
            50, 0, 0, 0,      //   = 50
            5, 0, 11, 0,      // ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX (u8)
            1, 0, 0, 0,       //   = 1, 3 pad bytes
        ];
        assert_eq!(log.borrow().sent[1].0, golden);
    }

    #[test]
    fn channels_get_and_set() {
        let reply = genl_msg(ETHTOOL_ID, ETHTOOL_MSG_CHANNELS_GET_REPLY, |b| {
            let h = b.nest_start(ETHTOOL_A_CHANNELS_HEADER);
            b.put_u32(ETHTOOL_A_HEADER_DEV_INDEX, 2);
            b.nest_end(h);
            b.put_u32(ETHTOOL_A_CHANNELS_COMBINED_MAX, 8)
                .put_u32(ETHTOOL_A_CHANNELS_COMBINED_COUNT, 4)
                .put_u32(ETHTOOL_A_CHANNELS_OTHER_MAX, 1)
                .put_u32(ETHTOOL_A_CHANNELS_OTHER_COUNT, 1);
        });
        let (mock, log) = Mock::new(vec![
            reply_then_ack(vec![reply]),
            nack(
                uapi::errno::EINVAL,
                Some("requested channel counts are too low for existing memory provider setting"),
            ),
        ]);
        let mut c = EthtoolClient::new(mock);
        let ch = c.channels_get(2).unwrap();
        assert_eq!(
            (
                ch.combined_max,
                ch.combined_count,
                ch.other_count,
                ch.rx_count
            ),
            (8, 4, 1, 0)
        );
        let e = c
            .channels_set(
                2,
                &ChannelsSet {
                    rx: Some(1),
                    tx: Some(1),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert_eq!(e.errno(), Some(uapi::errno::EINVAL));
        #[rustfmt::skip]
        let golden: &[u8] = &[
            0x30, 0, 0, 0, 21, 0, 0x05, 0, 3, 0, 0, 0, 0, 0, 0, 0,
            18, 1, 0, 0,      // ETHTOOL_MSG_CHANNELS_SET v1
            12, 0, 1, 0x80,   // ETHTOOL_A_CHANNELS_HEADER | NLA_F_NESTED
            8, 0, 1, 0,       //   ETHTOOL_A_HEADER_DEV_INDEX
            2, 0, 0, 0,       //     = 2
            8, 0, 6, 0,       // ETHTOOL_A_CHANNELS_RX_COUNT
            1, 0, 0, 0,       //   = 1
            8, 0, 7, 0,       // ETHTOOL_A_CHANNELS_TX_COUNT
            1, 0, 0, 0,       //   = 1
        ];
        assert_eq!(log.borrow().sent[1].0, golden);
        assert_eq!(log.borrow().sent[0].0[16], ETHTOOL_MSG_CHANNELS_GET);
    }
}
