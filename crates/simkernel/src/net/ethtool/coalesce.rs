//! Interrupt coalescing (`ethtool -c` / `-C`): COALESCE_GET, COALESCE_SET and the
//! per-device parameters they read and write.
//!
//! Kernel: `net/ethtool/coalesce.c`, as of net-next 2026 (attributes up to
//! `ETHTOOL_A_COALESCE_RX_CQE_NSECS`):
//! - `coalesce_prepare_data()`: `EOPNOTSUPP` for a device without `get_coalesce` (lo,
//!   veth, netkit), then `ethnl_ops_begin()`: `ENODEV` for an absent device.
//! - `coalesce_fill_reply()`: every parameter in attribute order, each only when it is
//!   non-zero or its bit is in the driver's `supported_coalesce_params`
//!   (`coalesce_put_u32()`, `coalesce_put_bool()`: u8 0/1). The DIM profiles
//!   (`ETHTOOL_A_COALESCE_{RX,TX}_PROFILE`) belong to devices with `irq_moder`, which
//!   none of the emulated drivers has: never reported, never settable.
//! - `ethnl_coalesce_set_policy` ([`COALESCE_SET_POLICY`]).
//! - `ethnl_set_coalesce_validate()`: `EOPNOTSUPP` without `get/set_coalesce`; then, in
//!   attribute order, the first attribute present whose bit the driver does not support
//!   is `EINVAL` "cannot modify an unsupported parameter" pointing at it (the same as
//!   Linux 6.18 answers `ethtool -C eth0 stats-block-usecs 0` on virtio_net).
//! - `__ethnl_set_coalesce()`: the driver's `get_coalesce`, `ethnl_update_u32()` /
//!   `ethnl_update_bool32()` / `ethnl_update_u8()` per attribute present; nothing
//!   changed: done, no `set_coalesce`, no notification. Otherwise `set_coalesce` and
//!   `ethnl_default_set_doit()` sends `ETHTOOL_MSG_COALESCE_NTF`. The kernel calls the
//!   driver twice when one request changes both a mode (adaptive, CQE) and values; the
//!   emulated drivers never reset values on a mode change, so once is the same.
//!
//! What the parameters do here: `rx_usecs` and `rx_max_frames` moderate the NIC's RX
//! interrupt, and so when the NAPI poll runs ([`Kernel::nic_receive`]). Every other
//! parameter (TX, `*_irq`, adaptive/DIM, CQE mode, rate thresholds, TX aggregation, RX
//! CQE coalescing) is stored and reported only. Drivers' own range checks in
//! `set_coalesce` are not modelled: any u32 is taken.

use netlink::attr::Attr;
use netlink::family::GenlRequest;
use netlink::msg::MsgBuilder;
use netlink::policy::{AttrPolicy, ExtAckError, Policy};
use uapi::errno::{EINVAL, ENODEV, EOPNOTSUPP};
use uapi::ethtool::*;

use super::netlink::{HEADER, U8, U32, UNSPEC};
use crate::error::KernelError;
use crate::kernel::Kernel;
use crate::net::core::dev::DevId;
use crate::net::core::netdev_nl_ops::{BadAttr, OpError};

// Kernel: `ETHTOOL_COALESCE_*` (include/linux/ethtool.h): bit `attr - RX_USECS` of
// `ethtool_ops::supported_coalesce_params`.
pub const ETHTOOL_COALESCE_RX_USECS: u32 = 1 << 0;
pub const ETHTOOL_COALESCE_RX_MAX_FRAMES: u32 = 1 << 1;
pub const ETHTOOL_COALESCE_RX_USECS_IRQ: u32 = 1 << 2;
pub const ETHTOOL_COALESCE_RX_MAX_FRAMES_IRQ: u32 = 1 << 3;
pub const ETHTOOL_COALESCE_TX_USECS: u32 = 1 << 4;
pub const ETHTOOL_COALESCE_TX_MAX_FRAMES: u32 = 1 << 5;
pub const ETHTOOL_COALESCE_TX_USECS_IRQ: u32 = 1 << 6;
pub const ETHTOOL_COALESCE_TX_MAX_FRAMES_IRQ: u32 = 1 << 7;
pub const ETHTOOL_COALESCE_STATS_BLOCK_USECS: u32 = 1 << 8;
pub const ETHTOOL_COALESCE_USE_ADAPTIVE_RX: u32 = 1 << 9;
pub const ETHTOOL_COALESCE_USE_ADAPTIVE_TX: u32 = 1 << 10;
pub const ETHTOOL_COALESCE_PKT_RATE_LOW: u32 = 1 << 11;
pub const ETHTOOL_COALESCE_RX_USECS_LOW: u32 = 1 << 12;
pub const ETHTOOL_COALESCE_RX_MAX_FRAMES_LOW: u32 = 1 << 13;
pub const ETHTOOL_COALESCE_TX_USECS_LOW: u32 = 1 << 14;
pub const ETHTOOL_COALESCE_TX_MAX_FRAMES_LOW: u32 = 1 << 15;
pub const ETHTOOL_COALESCE_PKT_RATE_HIGH: u32 = 1 << 16;
pub const ETHTOOL_COALESCE_RX_USECS_HIGH: u32 = 1 << 17;
pub const ETHTOOL_COALESCE_RX_MAX_FRAMES_HIGH: u32 = 1 << 18;
pub const ETHTOOL_COALESCE_TX_USECS_HIGH: u32 = 1 << 19;
pub const ETHTOOL_COALESCE_TX_MAX_FRAMES_HIGH: u32 = 1 << 20;
pub const ETHTOOL_COALESCE_RATE_SAMPLE_INTERVAL: u32 = 1 << 21;
pub const ETHTOOL_COALESCE_USE_CQE_TX: u32 = 1 << 22;
pub const ETHTOOL_COALESCE_USE_CQE_RX: u32 = 1 << 23;
pub const ETHTOOL_COALESCE_TX_AGGR_MAX_BYTES: u32 = 1 << 24;
pub const ETHTOOL_COALESCE_TX_AGGR_MAX_FRAMES: u32 = 1 << 25;
pub const ETHTOOL_COALESCE_TX_AGGR_TIME_USECS: u32 = 1 << 26;
pub const ETHTOOL_COALESCE_RX_PROFILE: u32 = 1 << 27;
pub const ETHTOOL_COALESCE_TX_PROFILE: u32 = 1 << 28;
pub const ETHTOOL_COALESCE_RX_CQE_FRAMES: u32 = 1 << 29;
pub const ETHTOOL_COALESCE_RX_CQE_NSECS: u32 = 1 << 30;
/// `GENMASK(30, 0)`.
pub const ETHTOOL_COALESCE_ALL_PARAMS: u32 = (1 << 31) - 1;

pub const ETHTOOL_COALESCE_USECS: u32 = ETHTOOL_COALESCE_RX_USECS | ETHTOOL_COALESCE_TX_USECS;
pub const ETHTOOL_COALESCE_MAX_FRAMES: u32 =
    ETHTOOL_COALESCE_RX_MAX_FRAMES | ETHTOOL_COALESCE_TX_MAX_FRAMES;
pub const ETHTOOL_COALESCE_USECS_IRQ: u32 =
    ETHTOOL_COALESCE_RX_USECS_IRQ | ETHTOOL_COALESCE_TX_USECS_IRQ;
pub const ETHTOOL_COALESCE_MAX_FRAMES_IRQ: u32 =
    ETHTOOL_COALESCE_RX_MAX_FRAMES_IRQ | ETHTOOL_COALESCE_TX_MAX_FRAMES_IRQ;
pub const ETHTOOL_COALESCE_USE_ADAPTIVE: u32 =
    ETHTOOL_COALESCE_USE_ADAPTIVE_RX | ETHTOOL_COALESCE_USE_ADAPTIVE_TX;
pub const ETHTOOL_COALESCE_USE_CQE: u32 = ETHTOOL_COALESCE_USE_CQE_RX | ETHTOOL_COALESCE_USE_CQE_TX;

/// Kernel: `attr_to_mask()`: the `supported_coalesce_params` bit of a parameter
/// attribute (0 for the header and anything out of range).
pub const fn attr_to_mask(attr: u16) -> u32 {
    match attr.checked_sub(ETHTOOL_A_COALESCE_RX_USECS) {
        Some(bit) if bit < 32 => 1 << bit,
        _ => 0,
    }
}

// Kernel: the `__CHECK_SUPPORTED_OFFSET()` static asserts (bit = attribute - RX_USECS),
// here at each group's edge, and the mask of all parameters.
const _: () = {
    assert!(ETHTOOL_COALESCE_RX_USECS == attr_to_mask(ETHTOOL_A_COALESCE_RX_USECS));
    assert!(
        ETHTOOL_COALESCE_STATS_BLOCK_USECS == attr_to_mask(ETHTOOL_A_COALESCE_STATS_BLOCK_USECS)
    );
    assert!(
        ETHTOOL_COALESCE_RATE_SAMPLE_INTERVAL
            == attr_to_mask(ETHTOOL_A_COALESCE_RATE_SAMPLE_INTERVAL)
    );
    assert!(ETHTOOL_COALESCE_USE_CQE_TX == attr_to_mask(ETHTOOL_A_COALESCE_USE_CQE_MODE_TX));
    assert!(ETHTOOL_COALESCE_USE_CQE_RX == attr_to_mask(ETHTOOL_A_COALESCE_USE_CQE_MODE_RX));
    assert!(
        ETHTOOL_COALESCE_TX_AGGR_TIME_USECS == attr_to_mask(ETHTOOL_A_COALESCE_TX_AGGR_TIME_USECS)
    );
    assert!(ETHTOOL_COALESCE_RX_PROFILE == attr_to_mask(ETHTOOL_A_COALESCE_RX_PROFILE));
    assert!(ETHTOOL_COALESCE_TX_PROFILE == attr_to_mask(ETHTOOL_A_COALESCE_TX_PROFILE));
    assert!(ETHTOOL_COALESCE_RX_CQE_NSECS == attr_to_mask(ETHTOOL_A_COALESCE_RX_CQE_NSECS));
    assert!(ETHTOOL_COALESCE_ALL_PARAMS == attr_to_mask(ETHTOOL_A_COALESCE_MAX + 1) - 1);
};

/// One parameter's value as it goes on the wire: a u32, or a flag sent as u8 0/1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `nla_put_u32()`.
    U32(u32),
    /// `nla_put_u8(!!val)`.
    Flag(bool),
}

impl Param {
    fn is_zero(self) -> bool {
        matches!(self, Param::U32(0) | Param::Flag(false))
    }
}

/// A parameter's Rust type: `u32`, or `bool` for the u8 flags.
trait ParamValue: Copy + Default + PartialEq + Into<Param> {
    /// The value of a validated request attribute (`nla_get_u32()` / `!!nla_get_u8()`).
    fn decode(a: &Attr<'_>) -> Result<Self, ExtAckError>;
}

impl From<u32> for Param {
    fn from(v: u32) -> Self {
        Param::U32(v)
    }
}

impl From<bool> for Param {
    fn from(v: bool) -> Self {
        Param::Flag(v)
    }
}

impl ParamValue for u32 {
    fn decode(a: &Attr<'_>) -> Result<Self, ExtAckError> {
        a.u32().map_err(|_| ExtAckError::new(EINVAL))
    }
}

impl ParamValue for bool {
    fn decode(a: &Attr<'_>) -> Result<Self, ExtAckError> {
        a.u8().map(|v| v != 0).map_err(|_| ExtAckError::new(EINVAL))
    }
}

/// [`Coalesce`] and [`CoalesceSet`], the reply order and the request decoding, from the
/// parameter table ([`uapi::ethtool_coalesce_params`]).
macro_rules! coalesce_params {
    ($( $name:literal $field:ident: $ty:ty = $attr:path; )*) => {
        /// Kernel: `struct ethtool_coalesce` plus the parameters of `struct
        /// kernel_ethtool_coalesce`, one field per `ETHTOOL_A_COALESCE_*` parameter
        /// (the u8 flags as `bool`). `rx_usecs` (the RX interrupt comes at most this long
        /// after the first waiting frame; 0: at once) and `rx_max_frames` (or as soon as
        /// this many frames wait; 0: the timer alone) drive the emulated NAPI; the others
        /// are stored and reported only (TX completions are immediate and there is no net
        /// DIM, so the adaptive flags leave the static values in force).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct Coalesce {
            $( #[doc = concat!("`", $name, "`.")] pub $field: $ty, )*
        }

        /// A coalesce-set request: `None` leaves a parameter unchanged.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct CoalesceSet {
            $( #[doc = concat!("`", $name, "`.")] pub $field: Option<$ty>, )*
        }

        impl Coalesce {
            /// Every parameter with its attribute, in attribute order.
            pub fn params(&self) -> impl Iterator<Item = (u16, Param)> + use<> {
                [$( ($attr, Param::from(self.$field)), )*].into_iter()
            }

            /// Kernel: the `ethnl_update_*()` calls of `__ethnl_set_coalesce()`: takes
            /// every `Some` value of `set`; whether anything changed (`mod || mod_mode`).
            fn update(&mut self, set: &CoalesceSet) -> bool {
                let mut modified = false;
                $(
                    if let Some(v) = set.$field
                        && self.$field != v
                    {
                        self.$field = v;
                        modified = true;
                    }
                )*
                modified
            }

            /// What a driver's `get_coalesce` fills in: the parameters it supports (the
            /// others read 0).
            fn masked(mut self, supported: u32) -> Self {
                $(
                    if supported & attr_to_mask($attr) == 0 {
                        self.$field = Default::default();
                    }
                )*
                self
            }
        }

        impl CoalesceSet {
            /// The attributes of the `Some` parameters, in attribute order.
            pub fn attrs(&self) -> impl Iterator<Item = u16> + use<> {
                [$( (self.$field.is_some(), $attr), )*]
                    .into_iter()
                    .filter_map(|(set, a)| set.then_some(a))
            }

            /// Takes parameter attribute `a` of a validated request into its field;
            /// other attributes (header, profiles) are left alone.
            fn put(&mut self, a: &Attr<'_>) -> Result<(), ExtAckError> {
                match a.ty {
                    $( $attr => self.$field = Some(<$ty as ParamValue>::decode(a)?), )*
                    _ => {}
                }
                Ok(())
            }
        }
    };
}

uapi::ethtool_coalesce_params!(coalesce_params);

/// `coalesce_irq_moderation_policy`.
static IRQ_MODERATION_POLICY: Policy = Policy::new(
    "coalesce_irq_moderation_policy",
    ETHTOOL_A_IRQ_MODERATION_COMPS,
    &[UNSPEC, U32, U32, U32],
);

/// `coalesce_profile_policy`.
static PROFILE_POLICY: Policy = Policy::new(
    "coalesce_profile_policy",
    ETHTOOL_A_PROFILE_IRQ_MODERATION,
    &[UNSPEC, AttrPolicy::nested(&IRQ_MODERATION_POLICY)],
);

const PROFILE: AttrPolicy = AttrPolicy::nested(&PROFILE_POLICY);

/// `ethnl_coalesce_set_policy`: u32 parameters, u8 adaptive flags, the CQE modes
/// `NLA_POLICY_MAX(NLA_U8, 1)`, the profiles nested.
pub static COALESCE_SET_POLICY: Policy = Policy::new(
    "ethnl_coalesce_set_policy",
    ETHTOOL_A_COALESCE_RX_CQE_NSECS,
    &[
        UNSPEC,
        HEADER,
        U32, // RX_USECS
        U32,
        U32,
        U32,
        U32, // TX_USECS
        U32,
        U32,
        U32,
        U32, // STATS_BLOCK_USECS
        U8,  // USE_ADAPTIVE_RX
        U8,
        U32, // PKT_RATE_LOW
        U32,
        U32,
        U32,
        U32,
        U32, // PKT_RATE_HIGH
        U32,
        U32,
        U32,
        U32,
        U32,       // RATE_SAMPLE_INTERVAL
        U8.max(1), // USE_CQE_MODE_TX
        U8.max(1),
        U32, // TX_AGGR_MAX_BYTES
        U32,
        U32,
        PROFILE, // RX_PROFILE
        PROFILE,
        U32, // RX_CQE_FRAMES
        U32,
    ],
);

/// Kernel: `coalesce_fill_reply()`: parameters in attribute order, each when non-zero
/// or supported; no profiles (no `irq_moder`).
pub(super) fn coalesce_fill_reply(b: &mut MsgBuilder, c: &Coalesce, supported: u32) {
    for (attr, v) in c.params() {
        if v.is_zero() && supported & attr_to_mask(attr) == 0 {
            continue;
        }
        match v {
            Param::U32(x) => b.put_u32(attr, x),
            Param::Flag(f) => b.put_u8(attr, u8::from(f)),
        };
    }
}

/// The parameter attribute types present in a validated request.
pub(super) fn coalesce_request_attrs(req: &GenlRequest<'_>) -> Vec<u16> {
    (ETHTOOL_A_COALESCE_RX_USECS..=ETHTOOL_A_COALESCE_MAX)
        .filter(|&a| req.get(a).is_some())
        .collect()
}

/// The parameters of a validated COALESCE_SET request.
pub(super) fn coalesce_set_of(req: &GenlRequest<'_>) -> Result<CoalesceSet, ExtAckError> {
    let mut set = CoalesceSet::default();
    for a in coalesce_request_attrs(req) {
        if let Some(attr) = req.get(a) {
            set.put(&attr)?;
        }
    }
    Ok(set)
}

impl Kernel {
    /// Kernel: `coalesce_prepare_data()`: `EOPNOTSUPP` without `get_coalesce`, `ENODEV`
    /// from `ethnl_ops_begin()` for an absent device, then the driver's `get_coalesce`
    /// (the parameters it supports; the others read 0).
    pub fn ethtool_coalesce_get(&self, dev: DevId) -> Result<Coalesce, OpError> {
        let d = self.device(dev);
        let Some(c) = d.ethtool.coalesce else {
            return Err(KernelError::new(EOPNOTSUPP).into());
        };
        if !d.present {
            return Err(KernelError::new(ENODEV).into());
        }
        Ok(c.masked(d.ethtool.supported_coalesce_params))
    }

    /// Kernel: `ethnl_set_coalesce_validate()`: `EOPNOTSUPP` without `get/set_coalesce`;
    /// the lowest-numbered attribute of `attrs` the driver does not support is `EINVAL`
    /// "cannot modify an unsupported parameter" at that attribute. (Profiles would be
    /// supported through `irq_moder`, which no emulated driver has.)
    pub fn ethnl_set_coalesce_validate(&self, dev: DevId, attrs: &[u16]) -> Result<(), OpError> {
        let e = &self.device(dev).ethtool;
        if e.coalesce.is_none() {
            return Err(KernelError::new(EOPNOTSUPP).into());
        }
        let supported = e.supported_coalesce_params;
        match (ETHTOOL_A_COALESCE_RX_USECS..=ETHTOOL_A_COALESCE_MAX)
            .find(|&a| attrs.contains(&a) && supported & attr_to_mask(a) == 0)
        {
            Some(a) => Err(OpError::attr(
                KernelError::msg(EINVAL, "cannot modify an unsupported parameter"),
                BadAttr::Ethtool(a),
            )),
            None => Ok(()),
        }
    }

    /// Kernel: `ethnl_default_set_doit()` for COALESCE_SET: [`Self::ethnl_set_coalesce_validate`],
    /// `ethnl_ops_begin()` (`ENODEV` for an absent device), `ethnl_set_coalesce()` and,
    /// when a parameter changed, `ethtool_notify(ETHTOOL_MSG_COALESCE_NTF)`. `Ok(true)`
    /// when something changed; a request that changes nothing neither reaches the
    /// driver's `set_coalesce` nor notifies.
    pub fn ethtool_coalesce_set(&mut self, dev: DevId, req: &CoalesceSet) -> Result<bool, OpError> {
        let attrs: Vec<u16> = req.attrs().collect();
        self.ethnl_set_coalesce_validate(dev, &attrs)?;
        let d = self.dev_mut(dev);
        if !d.present {
            return Err(KernelError::new(ENODEV).into());
        }
        let Some(c) = d.ethtool.coalesce.as_mut() else {
            return Err(KernelError::new(EOPNOTSUPP).into());
        };
        if !c.update(req) {
            return Ok(false);
        }
        self.ethtool_notify(dev, ETHTOOL_MSG_COALESCE_NTF);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_follow_attribute_numbers() {
        assert_eq!(attr_to_mask(ETHTOOL_A_COALESCE_HEADER), 0);
        assert_eq!(attr_to_mask(ETHTOOL_A_COALESCE_RX_MAX_FRAMES), 2);
        assert_eq!(attr_to_mask(ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX), 1 << 9);
        assert_eq!(attr_to_mask(40), 0);
        assert_eq!(ETHTOOL_COALESCE_USE_CQE, 3 << 22);
    }

    /// The table lists every parameter attribute once, in order, and the policy types
    /// agree with how each is encoded.
    #[test]
    fn table_covers_every_parameter_in_order() {
        let attrs: Vec<u16> = Coalesce::default().params().map(|(a, _)| a).collect();
        let want: Vec<u16> = (ETHTOOL_A_COALESCE_RX_USECS..=ETHTOOL_A_COALESCE_MAX)
            .filter(|&a| a != ETHTOOL_A_COALESCE_RX_PROFILE && a != ETHTOOL_A_COALESCE_TX_PROFILE)
            .collect();
        assert_eq!(attrs, want);
        assert_eq!(COALESCE_SET_POLICY.maxattr, ETHTOOL_A_COALESCE_MAX);
        assert_eq!(
            COALESCE_SET_POLICY.attrs.len(),
            usize::from(ETHTOOL_A_COALESCE_MAX) + 1
        );
        for (a, v) in Coalesce::default().params() {
            let ty = COALESCE_SET_POLICY.get(a).ty;
            let want = match v {
                Param::U32(_) => netlink::policy::PolicyType::U32,
                Param::Flag(_) => netlink::policy::PolicyType::U8,
            };
            assert_eq!(ty, want, "attr {a}");
        }
    }

    #[test]
    fn fill_reports_supported_or_non_zero() {
        let c = Coalesce {
            rx_usecs: 0,
            tx_usecs: 7,
            use_adaptive_rx: true,
            ..Default::default()
        };
        let mut b = MsgBuilder::new(20, 0, 1, 0).genl(ETHTOOL_MSG_COALESCE_GET_REPLY, 1);
        coalesce_fill_reply(
            &mut b,
            &c,
            ETHTOOL_COALESCE_RX_USECS | ETHTOOL_COALESCE_RX_MAX_FRAMES,
        );
        let m = b.finish();
        #[rustfmt::skip]
        let want: &[u8] = &[
            8, 0, 2, 0, 0, 0, 0, 0,   // RX_USECS 0 (supported)
            8, 0, 3, 0, 0, 0, 0, 0,   // RX_MAX_FRAMES 0 (supported)
            8, 0, 6, 0, 7, 0, 0, 0,   // TX_USECS 7 (non-zero)
            5, 0, 11, 0, 1, 0, 0, 0,  // USE_ADAPTIVE_RX 1 (non-zero), 3 pad bytes
        ];
        assert_eq!(&m[20..], want);
    }

    #[test]
    fn update_tracks_changes() {
        let mut c = Coalesce {
            rx_usecs: 10,
            ..Default::default()
        };
        let same = CoalesceSet {
            rx_usecs: Some(10),
            ..Default::default()
        };
        assert!(!c.update(&same));
        let set = CoalesceSet {
            rx_usecs: Some(0),
            use_cqe_mode_rx: Some(true),
            ..Default::default()
        };
        assert_eq!(
            set.attrs().collect::<Vec<_>>(),
            [
                ETHTOOL_A_COALESCE_RX_USECS,
                ETHTOOL_A_COALESCE_USE_CQE_MODE_RX
            ]
        );
        assert!(c.update(&set));
        assert_eq!((c.rx_usecs, c.use_cqe_mode_rx), (0, true));
        let m = c.masked(ETHTOOL_COALESCE_RX_USECS);
        assert!(!m.use_cqe_mode_rx);
    }
}
