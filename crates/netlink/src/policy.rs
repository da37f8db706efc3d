//! Attribute policies and the kernel's validating parser.
//!
//! [`AttrPolicy`] / [`Policy`] are the kernel's `struct nla_policy` arrays as const data;
//! [`parse`] models `__nla_validate_parse()` and `validate_nla()` (lib/nlattr.c): the
//! same order of checks, the same errno, the same extack message, bad-attribute offset
//! and policy, so a request rejected by Linux is rejected here with identical bytes in
//! the ack.
//!
//! Which check wins, in order, for each attribute `nla_for_each_attr()` reaches:
//!
//! 1. type 0 or above `maxtype`: skipped, or under `NL_VALIDATE_MAXTYPE`
//!    `EINVAL` "Unknown attribute type" (bad attr, no policy).
//! 2. fixed-size integer (`U8..S64`, `BE16/32`) of the wrong length: a kernel warning
//!    only, or under `NL_VALIDATE_STRICT_ATTRS` `EINVAL` "invalid attribute length".
//! 3. under `NL_VALIDATE_NESTED`: `EINVAL` "NLA_F_NESTED is missing" for a nest without
//!    the flag, "NLA_F_NESTED not expected" for a non-nest (other than unspec) with it.
//! 4. the per-type check: an unspec entry under `NL_VALIDATE_UNSPEC` is `EINVAL`
//!    "Unsupported attribute" (no policy); `NLA_UINT`/`NLA_SINT` not 4 or 8 bytes is
//!    `EINVAL` "invalid attribute length" in every mode; other size/format failures are
//!    `ERANGE` (or `EINVAL` for strings without NUL and bad bitfields) with "Attribute
//!    failed policy validation"; nests recurse and an inner error is returned as is.
//! 5. the validation: min/max/range `ERANGE` "integer out of range" (or
//!    "binary attribute size out of range"), mask `EINVAL` "reserved bit set".
//!
//! After the walk, bytes that do not form an attribute set "bytes leftover after parsing
//! attributes", an error only under `NL_VALIDATE_TRAILING`. Every message above except
//! "Unknown attribute type", "Unsupported attribute" and "reserved bit set" also records
//! the attribute's policy (`NL_SET_ERR_MSG_ATTR_POL`), which the ack renders as
//! `NLMSGERR_ATTR_POLICY`.

use std::borrow::Cow;
use std::fmt;

use crate::attr::Attr;
use crate::errno::{EINVAL, ERANGE};
use uapi::netlink::{NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, nla_align};

/// Kernel: `MAX_POLICY_RECURSION_DEPTH` (lib/nlattr.c), the nesting limit that stops a
/// policy referring back to itself from recursing without end.
pub const MAX_POLICY_RECURSION_DEPTH: u32 = 10;

/// Kernel: `enum nla_types` (include/net/netlink.h).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// `NLA_UNSPEC`: no type; rejected under `NL_VALIDATE_UNSPEC`.
    Unspec,
    /// `NLA_U8`.
    U8,
    /// `NLA_U16`.
    U16,
    /// `NLA_U32`.
    U32,
    /// `NLA_U64`.
    U64,
    /// `NLA_STRING`: `len` is the maximum length, a trailing NUL not counted.
    String,
    /// `NLA_FLAG`: zero-length.
    Flag,
    /// `NLA_MSECS`: a u64.
    Msecs,
    /// `NLA_NESTED`: `nested` is the inner policy.
    Nested,
    /// `NLA_NESTED_ARRAY`: entries whose payloads follow `nested`.
    NestedArray,
    /// `NLA_NUL_STRING`: NUL-terminated, `len` is the maximum length.
    NulString,
    /// `NLA_BINARY`: `len` is the maximum length.
    Binary,
    /// `NLA_S8`.
    S8,
    /// `NLA_S16`.
    S16,
    /// `NLA_S32`.
    S32,
    /// `NLA_S64`.
    S64,
    /// `NLA_BITFIELD32`: `struct nla_bitfield32`.
    Bitfield32,
    /// `NLA_REJECT`: always rejected.
    Reject,
    /// `NLA_BE16`.
    Be16,
    /// `NLA_BE32`.
    Be32,
    /// `NLA_SINT`: s32 or s64.
    Sint,
    /// `NLA_UINT`: u32 or u64.
    Uint,
}

impl PolicyType {
    /// Kernel: `nla_attr_len[]`, the exact size a fixed-size type must have under
    /// `NL_VALIDATE_STRICT_ATTRS`.
    const fn exact_len(self) -> Option<usize> {
        match self {
            PolicyType::U8 | PolicyType::S8 => Some(1),
            PolicyType::U16 | PolicyType::S16 | PolicyType::Be16 => Some(2),
            PolicyType::U32 | PolicyType::S32 | PolicyType::Be32 => Some(4),
            PolicyType::U64 | PolicyType::S64 => Some(8),
            _ => None,
        }
    }

    /// Kernel: `nla_attr_minlen[]`, the minimum size when the policy has no `len`.
    const fn min_len(self) -> usize {
        match self {
            PolicyType::U8 | PolicyType::S8 => 1,
            PolicyType::U16 | PolicyType::S16 | PolicyType::Be16 => 2,
            PolicyType::U32 | PolicyType::S32 | PolicyType::Be32 => 4,
            PolicyType::U64 | PolicyType::S64 | PolicyType::Msecs => 8,
            PolicyType::Nested => NLA_HDRLEN,
            _ => 0,
        }
    }

    const fn is_nest(self) -> bool {
        matches!(self, PolicyType::Nested | PolicyType::NestedArray)
    }
}

/// Kernel: `enum nla_policy_validation` with its data (`min`, `max`, `range`, `mask`,
/// `reject_message`), as set by the `NLA_POLICY_*` macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// `NLA_VALIDATE_NONE`.
    None,
    /// `NLA_POLICY_MIN(type, min)`; the maximum is the type's.
    Min(i64),
    /// `NLA_POLICY_MAX(type, max)`; the minimum is the type's (0 when unsigned).
    Max(u64),
    /// `NLA_POLICY_RANGE` / `NLA_POLICY_FULL_RANGE` for an unsigned type (the minimum is
    /// taken as unsigned) or a signed one (the maximum is clamped to `i64::MAX`).
    Range(i64, u64),
    /// `NLA_POLICY_FULL_RANGE_SIGNED` with a negative maximum.
    SignedRange(i64, i64),
    /// `NLA_POLICY_MASK(type, mask)`: bits outside the mask are "reserved bit set".
    Mask(u64),
    /// `NLA_POLICY_EXACT_LEN(len)`: a binary attribute of exactly `len` bytes.
    ExactLen(u16),
    /// `NLA_POLICY_EXACT_LEN_WARN(len)`: too long is only a warning unless
    /// `NL_VALIDATE_STRICT_ATTRS`.
    ExactLenWarn(u16),
    /// `NLA_POLICY_MIN_LEN(len)`.
    MinLen(u16),
    /// `NLA_POLICY_MAX_LEN(len)`.
    MaxLen(u16),
    /// `NLA_POLICY_BITFIELD32(valid)`: the valid flags mask.
    Bitfield32(u32),
    /// `NLA_POLICY_REJECT` with `.reject_message`.
    RejectMessage(&'static str),
}

/// The kernel's `nla_policy.validation_type` after macro expansion.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    None,
    Range,
    RangeWarnTooLong,
    Min,
    Max,
    Mask,
}

impl Validation {
    fn kind(self) -> Kind {
        match self {
            Validation::Min(_) | Validation::MinLen(_) => Kind::Min,
            Validation::Max(_) | Validation::MaxLen(_) => Kind::Max,
            Validation::Range(..) | Validation::SignedRange(..) | Validation::ExactLen(_) => {
                Kind::Range
            }
            Validation::ExactLenWarn(_) => Kind::RangeWarnTooLong,
            Validation::Mask(_) => Kind::Mask,
            Validation::None | Validation::Bitfield32(_) | Validation::RejectMessage(_) => {
                Kind::None
            }
        }
    }
}

/// Kernel: `struct nla_policy`, one entry of a policy array.
#[derive(Clone, Copy)]
pub struct AttrPolicy {
    /// `type`.
    pub ty: PolicyType,
    /// `len`: maximum length of strings and binaries, minimum length of other types
    /// (0 = the type's own). Nests take their maxtype from `nested` instead.
    pub len: u16,
    /// `validation_type` and its data.
    pub validation: Validation,
    /// `nested_policy` of `NLA_NESTED` / `NLA_NESTED_ARRAY`.
    pub nested: Option<&'static Policy>,
}

impl AttrPolicy {
    /// An empty (`NLA_UNSPEC`) entry: what C leaves in unnamed slots.
    pub const UNSPEC: AttrPolicy = AttrPolicy::new(PolicyType::Unspec);

    /// `{ .type = ty }`.
    pub const fn new(ty: PolicyType) -> Self {
        Self {
            ty,
            len: 0,
            validation: Validation::None,
            nested: None,
        }
    }

    /// `.len = len`.
    pub const fn with_len(mut self, len: u16) -> Self {
        self.len = len;
        self
    }

    /// `NLA_POLICY_MIN(ty, min)`.
    pub const fn min(mut self, min: i64) -> Self {
        self.validation = Validation::Min(min);
        self
    }

    /// `NLA_POLICY_MAX(ty, max)`.
    pub const fn max(mut self, max: u64) -> Self {
        self.validation = Validation::Max(max);
        self
    }

    /// `NLA_POLICY_RANGE(ty, min, max)` / `NLA_POLICY_FULL_RANGE`.
    pub const fn range(mut self, min: i64, max: u64) -> Self {
        self.validation = Validation::Range(min, max);
        self
    }

    /// `NLA_POLICY_MASK(ty, mask)`.
    pub const fn mask(mut self, mask: u64) -> Self {
        self.validation = Validation::Mask(mask);
        self
    }

    /// `NLA_POLICY_NESTED(policy)`.
    pub const fn nested(policy: &'static Policy) -> Self {
        Self {
            ty: PolicyType::Nested,
            len: 0,
            validation: Validation::None,
            nested: Some(policy),
        }
    }

    /// `NLA_POLICY_NESTED_ARRAY(policy)`.
    pub const fn nested_array(policy: &'static Policy) -> Self {
        Self {
            ty: PolicyType::NestedArray,
            len: 0,
            validation: Validation::None,
            nested: Some(policy),
        }
    }

    /// `{ .type = NLA_STRING, .len = max }`.
    pub const fn string(max: u16) -> Self {
        Self::new(PolicyType::String).with_len(max)
    }

    /// `{ .type = NLA_NUL_STRING, .len = max }`.
    pub const fn nul_string(max: u16) -> Self {
        Self::new(PolicyType::NulString).with_len(max)
    }

    /// `NLA_POLICY_EXACT_LEN(len)`.
    pub const fn exact_len(len: u16) -> Self {
        Self {
            ty: PolicyType::Binary,
            len: 0,
            validation: Validation::ExactLen(len),
            nested: None,
        }
    }

    /// `NLA_POLICY_REJECT` with an optional `.reject_message`.
    pub const fn reject(message: Option<&'static str>) -> Self {
        let validation = match message {
            Some(m) => Validation::RejectMessage(m),
            None => Validation::None,
        };
        Self {
            ty: PolicyType::Reject,
            len: 0,
            validation,
            nested: None,
        }
    }

    /// The maxtype a nest recurses with (`pt->len` of `NLA_POLICY_NESTED`).
    fn nested_maxtype(&self) -> u16 {
        self.nested.map_or(0, |p| p.maxattr)
    }

    /// Kernel: `nla_get_range_unsigned()`.
    pub(crate) fn range_unsigned(&self) -> (u64, u64) {
        let type_max = match self.ty {
            PolicyType::U8 => u64::from(u8::MAX),
            PolicyType::U16 | PolicyType::Be16 | PolicyType::Binary => u64::from(u16::MAX),
            PolicyType::U32 | PolicyType::Be32 => u64::from(u32::MAX),
            _ => u64::MAX,
        };
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        match self.validation {
            Validation::Range(min, max) => (unsigned(min), max),
            Validation::SignedRange(min, max) => (unsigned(min), unsigned(max)),
            Validation::ExactLen(n) | Validation::ExactLenWarn(n) => (u64::from(n), u64::from(n)),
            Validation::Min(min) => (unsigned(min), type_max),
            Validation::MinLen(n) => (u64::from(n), type_max),
            Validation::Max(max) => (0, max),
            Validation::MaxLen(n) => (0, u64::from(n)),
            _ => (0, type_max),
        }
    }

    /// Kernel: `nla_get_range_signed()`.
    pub(crate) fn range_signed(&self) -> (i64, i64) {
        let (tmin, tmax) = match self.ty {
            PolicyType::S8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
            PolicyType::S16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
            PolicyType::S32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        match self.validation {
            Validation::Range(min, max) => (min, signed(max)),
            Validation::SignedRange(min, max) => (min, max),
            Validation::Min(min) => (min, tmax),
            Validation::Max(max) => (tmin, signed(max)),
            _ => (tmin, tmax),
        }
    }
}

impl fmt::Debug for AttrPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AttrPolicy");
        d.field("ty", &self.ty)
            .field("len", &self.len)
            .field("validation", &self.validation);
        // Policies may refer to themselves: print the nested policy by name only.
        d.field("nested", &self.nested.map(|p| p.name));
        d.finish()
    }
}

impl PartialEq for AttrPolicy {
    fn eq(&self, other: &Self) -> bool {
        let nested_eq = match (self.nested, other.nested) {
            (Some(a), Some(b)) => std::ptr::eq(a, b),
            (None, None) => true,
            _ => false,
        };
        self.ty == other.ty
            && self.len == other.len
            && self.validation == other.validation
            && nested_eq
    }
}

impl Eq for AttrPolicy {}

/// A kernel `nla_policy` array with its maxtype.
///
/// `attrs` is indexed by attribute type; entries past its end (up to `maxattr`) are
/// [`AttrPolicy::UNSPEC`], as unnamed slots of a C array are.
#[derive(Clone, Copy)]
pub struct Policy {
    /// The kernel's name for the array, for diagnostics.
    pub name: &'static str,
    /// Highest attribute type (`ARRAY_SIZE(policy) - 1`, or the op's `maxattr`).
    pub maxattr: u16,
    /// The entries, index = attribute type (index 0 unused).
    pub attrs: &'static [AttrPolicy],
    /// `policy[0].strict_start_type`: types at or above it are validated strictly
    /// (0 = none).
    pub strict_start_type: u16,
}

impl Policy {
    /// A policy over `attrs` with the given maxattr.
    pub const fn new(name: &'static str, maxattr: u16, attrs: &'static [AttrPolicy]) -> Self {
        Self {
            name,
            maxattr,
            attrs,
            strict_start_type: 0,
        }
    }

    /// The entry for `ty` (unspec past the table).
    pub fn get(&self, ty: u16) -> AttrPolicy {
        self.attrs
            .get(usize::from(ty))
            .copied()
            .unwrap_or(AttrPolicy::UNSPEC)
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("maxattr", &self.maxattr)
            .field("attrs", &self.attrs)
            .finish()
    }
}

/// Policies compare by identity (same table), which also terminates on policies that
/// refer to themselves.
impl PartialEq for Policy {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.maxattr == other.maxattr
            && self.strict_start_type == other.strict_start_type
            && std::ptr::eq(self.attrs, other.attrs)
    }
}

impl Eq for Policy {}

/// Kernel: `enum netlink_validation`, the strictness flags of a parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Strictness(u8);

impl Strictness {
    /// `NL_VALIDATE_LIBERAL`: no flag.
    pub const LIBERAL: Self = Self(0);
    /// `NL_VALIDATE_TRAILING`: reject bytes left after the last attribute.
    pub const TRAILING: Self = Self(1 << 0);
    /// `NL_VALIDATE_MAXTYPE`: reject types above maxtype (and type 0).
    pub const MAXTYPE: Self = Self(1 << 1);
    /// `NL_VALIDATE_UNSPEC`: reject attributes whose entry is unspec.
    pub const UNSPEC: Self = Self(1 << 2);
    /// `NL_VALIDATE_STRICT_ATTRS`: exact sizes for fixed-size types.
    pub const STRICT_ATTRS: Self = Self(1 << 3);
    /// `NL_VALIDATE_NESTED`: `NLA_F_NESTED` exactly on nests.
    pub const NESTED: Self = Self(1 << 4);
    /// `NL_VALIDATE_DEPRECATED_STRICT`.
    pub const DEPRECATED_STRICT: Self = Self(Self::TRAILING.0 | Self::MAXTYPE.0);
    /// `NL_VALIDATE_STRICT`: what genetlink uses unless an op opts out.
    pub const STRICT: Self = Self(
        Self::TRAILING.0 | Self::MAXTYPE.0 | Self::UNSPEC.0 | Self::STRICT_ATTRS.0 | Self::NESTED.0,
    );

    /// All flags of `other` are set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw flag bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl std::ops::BitOr for Strictness {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A request failure as the kernel reports it: errno plus the `netlink_ext_ack` fields
/// that end up as `NLMSGERR_ATTR_*` TLVs.
///
/// `errno` 0 means success with extack content (a warning message or a cookie), which
/// [`crate::ack::ack`] reports on an ACK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtAckError {
    /// Positive errno (the message carries it negated).
    pub errno: i32,
    /// `_msg`: the extack message.
    pub msg: Option<Cow<'static, str>>,
    /// `bad_attr`, as an offset from the request's `nlmsghdr`.
    pub bad_attr_offset: Option<u32>,
    /// `policy`: the entry the bad attribute failed.
    pub policy: Option<AttrPolicy>,
    /// `miss_type`: a required attribute that is missing.
    pub missing_type: Option<u16>,
    /// `miss_nest`: the nest it is missing from, as an offset from the `nlmsghdr`.
    pub missing_nest_offset: Option<u32>,
    /// `cookie` (at most 20 bytes in the kernel).
    pub cookie: Option<Vec<u8>>,
}

impl ExtAckError {
    /// An error with no extack content.
    pub fn new(errno: i32) -> Self {
        Self {
            errno,
            msg: None,
            bad_attr_offset: None,
            policy: None,
            missing_type: None,
            missing_nest_offset: None,
            cookie: None,
        }
    }

    /// `NL_SET_ERR_MSG()`.
    #[must_use]
    pub fn msg(mut self, msg: impl Into<Cow<'static, str>>) -> Self {
        self.msg = Some(msg.into());
        self
    }

    /// `NL_SET_BAD_ATTR()`: records the attribute and clears the policy.
    #[must_use]
    pub fn bad_attr(mut self, attr: &Attr<'_>) -> Self {
        self.bad_attr_offset = u32::try_from(attr.offset).ok();
        self.policy = None;
        self
    }

    /// `NL_SET_BAD_ATTR_POLICY()`.
    #[must_use]
    pub fn bad_attr_policy(mut self, attr: &Attr<'_>, policy: AttrPolicy) -> Self {
        self.bad_attr_offset = u32::try_from(attr.offset).ok();
        self.policy = Some(policy);
        self
    }

    /// `NL_SET_ERR_ATTR_MISS()`: `ty` is missing, at top level or inside `nest`.
    #[must_use]
    pub fn missing(mut self, ty: u16, nest: Option<&Attr<'_>>) -> Self {
        self.missing_type = Some(ty);
        self.missing_nest_offset = nest.and_then(|n| u32::try_from(n.offset).ok());
        self
    }

    /// `nl_set_extack_cookie_u64()` and friends.
    #[must_use]
    pub fn cookie(mut self, cookie: &[u8]) -> Self {
        self.cookie = Some(cookie.to_vec());
        self
    }
}

impl fmt::Display for ExtAckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (errno {})",
            crate::errno::strerror(self.errno),
            self.errno
        )?;
        if let Some(m) = &self.msg {
            write!(f, ": {m}")?;
        }
        if let Some(o) = self.bad_attr_offset {
            write!(f, " [bad attribute at offset {o}]")?;
        }
        if let Some(t) = self.missing_type {
            write!(f, " [missing attribute type {t}]")?;
        }
        Ok(())
    }
}

impl std::error::Error for ExtAckError {}

/// The extack while a parse is running: fields are overwritten as the kernel's macros
/// overwrite them, including a "bytes leftover" message that survives a successful
/// liberal parse.
#[derive(Default)]
struct AckState {
    msg: Option<&'static str>,
    bad_attr: Option<usize>,
    policy: Option<AttrPolicy>,
}

impl AckState {
    /// `NL_SET_ERR_MSG_ATTR_POL()` (policy `None` = `NL_SET_ERR_MSG_ATTR()`).
    fn attr(&mut self, msg: &'static str, attr: &Attr<'_>, policy: Option<AttrPolicy>) {
        self.msg = Some(msg);
        self.bad_attr = Some(attr.offset);
        self.policy = policy;
    }

    fn into_error(self, errno: i32) -> ExtAckError {
        ExtAckError {
            errno,
            msg: self.msg.map(Cow::Borrowed),
            bad_attr_offset: self.bad_attr.and_then(|o| u32::try_from(o).ok()),
            policy: self.policy,
            missing_type: None,
            missing_nest_offset: None,
            cookie: None,
        }
    }
}

/// The result of a successful [`parse`]: the kernel's `tb[]` with every occurrence kept.
#[derive(Debug, Clone)]
pub struct Parsed<'a> {
    attrs: Vec<Attr<'a>>,
    maxattr: u16,
    /// A message the parse left in the extack without failing (the liberal
    /// "bytes leftover after parsing attributes"); the kernel reports it on the ACK.
    pub warning: Option<&'static str>,
}

impl<'a> Parsed<'a> {
    /// `tb[ty]`: the last occurrence, as the kernel's array keeps it.
    pub fn get(&self, ty: u16) -> Option<Attr<'a>> {
        self.attrs.iter().rev().find(|a| a.ty == ty).copied()
    }

    /// Every occurrence of `ty`, in message order (`nla_for_each_attr_type()`).
    pub fn all(&self, ty: u16) -> impl Iterator<Item = Attr<'a>> + '_ {
        self.attrs.iter().filter(move |a| a.ty == ty).copied()
    }

    /// Every accepted attribute (types 1..=maxattr), in message order.
    pub fn iter(&self) -> impl Iterator<Item = Attr<'a>> + '_ {
        self.attrs.iter().copied()
    }

    /// The maxtype the parse ran with.
    pub fn maxattr(&self) -> u16 {
        self.maxattr
    }

    /// Kernel: `GENL_REQ_ATTR_CHECK()` (nest `None`) / `NL_REQ_ATTR_CHECK()`: `ty` must
    /// be present, else `EINVAL` with `miss_type` (and `miss_nest`) set. The macros set
    /// no message; a parse warning already in the extack stays.
    pub fn require(&self, ty: u16, nest: Option<&Attr<'_>>) -> Result<Attr<'a>, ExtAckError> {
        self.get(ty).ok_or_else(|| {
            let mut e = ExtAckError::new(EINVAL).missing(ty, nest);
            e.msg = self.warning.map(Cow::Borrowed);
            e
        })
    }
}

/// Kernel: `__nla_parse()` / `__nlmsg_parse()` after the header: validates the
/// attribute stream `buf` against `policy` (maxtype `policy.maxattr`) with `strict`.
///
/// `base_offset` is where `buf` starts relative to the message's `nlmsghdr`, so the
/// bad-attribute offsets come out as the kernel reports them.
pub fn parse<'a>(
    policy: &Policy,
    buf: &'a [u8],
    base_offset: usize,
    strict: Strictness,
) -> Result<Parsed<'a>, ExtAckError> {
    let mut ack = AckState::default();
    let mut tb = Vec::new();
    match validate_parse(
        policy,
        policy.maxattr,
        buf,
        base_offset,
        strict,
        &mut ack,
        Some(&mut tb),
        0,
    ) {
        Ok(()) => Ok(Parsed {
            attrs: tb,
            maxattr: policy.maxattr,
            warning: ack.msg,
        }),
        Err(errno) => Err(ack.into_error(errno)),
    }
}

/// Kernel: `nla_parse_nested()`: the nest must carry `NLA_F_NESTED` ("NLA_F_NESTED is
/// missing", without policy) and is parsed with `NL_VALIDATE_STRICT`.
pub fn parse_nested<'a>(policy: &Policy, nest: &Attr<'a>) -> Result<Parsed<'a>, ExtAckError> {
    if !nest.nested {
        let mut ack = AckState::default();
        ack.attr("NLA_F_NESTED is missing", nest, None);
        return Err(ack.into_error(EINVAL));
    }
    parse(
        policy,
        nest.value,
        nest.offset + NLA_HDRLEN,
        Strictness::STRICT,
    )
}

/// Kernel: `nla_parse_nested_deprecated()`: liberal, no flag check.
pub fn parse_nested_deprecated<'a>(
    policy: &Policy,
    nest: &Attr<'a>,
) -> Result<Parsed<'a>, ExtAckError> {
    parse(
        policy,
        nest.value,
        nest.offset + NLA_HDRLEN,
        Strictness::LIBERAL,
    )
}

/// One step of `nla_for_each_attr()`: the attribute at `pos` if `nla_ok()` holds.
fn nla_at(buf: &[u8], pos: usize, base: usize) -> Option<(Attr<'_>, usize)> {
    let rest = buf.get(pos..)?;
    if rest.len() < NLA_HDRLEN {
        return None;
    }
    let nla_len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
    if nla_len < NLA_HDRLEN || nla_len > rest.len() {
        return None;
    }
    let raw = u16::from_ne_bytes([rest[2], rest[3]]);
    let attr = Attr {
        ty: raw & NLA_TYPE_MASK,
        nested: raw & NLA_F_NESTED != 0,
        net_byteorder: raw & NLA_F_NET_BYTEORDER != 0,
        value: &rest[NLA_HDRLEN..nla_len],
        offset: base + pos,
    };
    Some((attr, pos + nla_align(nla_len)))
}

/// Kernel: `__nla_validate_parse()`.
#[allow(clippy::too_many_arguments)]
fn validate_parse<'a>(
    policy: &Policy,
    maxtype: u16,
    buf: &'a [u8],
    base: usize,
    validate: Strictness,
    ack: &mut AckState,
    mut tb: Option<&mut Vec<Attr<'a>>>,
    depth: u32,
) -> Result<(), i32> {
    if depth >= MAX_POLICY_RECURSION_DEPTH {
        ack.msg = Some("allowed policy recursion depth exceeded");
        return Err(EINVAL);
    }
    let mut pos = 0;
    while let Some((attr, next)) = nla_at(buf, pos, base) {
        pos = next;
        if attr.ty == 0 || attr.ty > maxtype {
            if validate.contains(Strictness::MAXTYPE) {
                ack.attr("Unknown attribute type", &attr, None);
                return Err(EINVAL);
            }
            continue;
        }
        validate_nla(&attr, policy, validate, ack, depth)?;
        if let Some(tb) = tb.as_deref_mut() {
            tb.push(attr);
        }
    }
    if pos < buf.len() {
        // Kernel: rem > 0 after the walk; the message stays even when tolerated.
        ack.msg = Some("bytes leftover after parsing attributes");
        if validate.contains(Strictness::TRAILING) {
            return Err(EINVAL);
        }
    }
    Ok(())
}

/// Reads up to 8 bytes of an integer payload, zero-filled when shorter (the policy
/// guarantees the length before values are read; this only keeps odd policies safe).
fn read_ne(value: &[u8], n: usize) -> u64 {
    let mut b = [0u8; 8];
    let take = n.min(value.len());
    b[..take].copy_from_slice(&value[..take]);
    match n {
        1 => u64::from(b[0]),
        2 => u64::from(u16::from_ne_bytes([b[0], b[1]])),
        4 => u64::from(u32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        _ => u64::from_ne_bytes(b),
    }
}

fn read_be(value: &[u8], n: usize) -> u64 {
    let mut b = [0u8; 4];
    let take = n.min(value.len());
    b[..take].copy_from_slice(&value[..take]);
    match n {
        2 => u64::from(u16::from_be_bytes([b[0], b[1]])),
        _ => u64::from(u32::from_be_bytes(b)),
    }
}

/// `nla_get_uint()`-style read of an unsigned value per policy type, or `None` for a
/// type the range/mask helpers do not handle.
fn unsigned_value(pt: &AttrPolicy, value: &[u8]) -> Option<u64> {
    Some(match pt.ty {
        PolicyType::U8 => read_ne(value, 1),
        PolicyType::U16 => read_ne(value, 2),
        PolicyType::U32 => read_ne(value, 4),
        PolicyType::U64 | PolicyType::Msecs => read_ne(value, 8),
        PolicyType::Uint => read_ne(value, if value.len() == 4 { 4 } else { 8 }),
        PolicyType::Be16 => read_be(value, 2),
        PolicyType::Be32 => read_be(value, 4),
        _ => return None,
    })
}

fn signed_value(pt: &AttrPolicy, value: &[u8]) -> Option<i64> {
    Some(match pt.ty {
        PolicyType::S8 => i64::from(read_ne(value, 1) as u8 as i8),
        PolicyType::S16 => i64::from(read_ne(value, 2) as u16 as i16),
        PolicyType::S32 => i64::from(read_ne(value, 4) as u32 as i32),
        PolicyType::S64 => read_ne(value, 8) as i64,
        PolicyType::Sint if value.len() == 4 => i64::from(read_ne(value, 4) as u32 as i32),
        PolicyType::Sint => read_ne(value, 8) as i64,
        _ => return None,
    })
}

/// Kernel: `validate_nla()` for an attribute whose type is within `1..=maxtype`.
fn validate_nla(
    attr: &Attr<'_>,
    policy: &Policy,
    mut validate: Strictness,
    ack: &mut AckState,
    depth: u32,
) -> Result<(), i32> {
    if policy.strict_start_type != 0 && attr.ty >= policy.strict_start_type {
        validate = validate | Strictness::STRICT;
    }
    let pt = policy.get(attr.ty);
    let attrlen = attr.value.len();
    const FAILED: &str = "Attribute failed policy validation";

    if let Some(exact) = pt.ty.exact_len()
        && attrlen != exact
        && validate.contains(Strictness::STRICT_ATTRS)
    {
        // Without STRICT_ATTRS the kernel only logs "has an invalid length".
        ack.attr("invalid attribute length", attr, Some(pt));
        return Err(EINVAL);
    }

    if validate.contains(Strictness::NESTED) {
        if pt.ty.is_nest() && !attr.nested {
            ack.attr("NLA_F_NESTED is missing", attr, Some(pt));
            return Err(EINVAL);
        }
        if !pt.ty.is_nest() && pt.ty != PolicyType::Unspec && attr.nested {
            ack.attr("NLA_F_NESTED not expected", attr, Some(pt));
            return Err(EINVAL);
        }
    }

    // Per-type checks; `Err(errno)` here means "goto out_err".
    let typed: Result<(), i32> = match pt.ty {
        PolicyType::Reject => {
            if let Validation::RejectMessage(m) = pt.validation {
                // NL_SET_BAD_ATTR + custom message: no policy recorded.
                ack.msg = Some(m);
                ack.bad_attr = Some(attr.offset);
                ack.policy = None;
                return Err(EINVAL);
            }
            Err(EINVAL)
        }
        PolicyType::Flag => {
            if attrlen > 0 {
                Err(ERANGE)
            } else {
                Ok(())
            }
        }
        PolicyType::Sint | PolicyType::Uint => {
            if attrlen != 4 && attrlen != 8 {
                ack.attr("invalid attribute length", attr, Some(pt));
                return Err(EINVAL);
            }
            Ok(())
        }
        PolicyType::Bitfield32 => {
            if attrlen != 8 {
                Err(ERANGE)
            } else {
                let valid = match pt.validation {
                    Validation::Bitfield32(v) => v,
                    _ => 0,
                };
                let value = read_ne(attr.value, 4) as u32;
                let selector = read_ne(&attr.value[4..], 4) as u32;
                // Kernel: validate_nla_bitfield32().
                if valid == 0
                    || selector & !valid != 0
                    || value & !valid != 0
                    || value & !selector != 0
                {
                    Err(EINVAL)
                } else {
                    Ok(())
                }
            }
        }
        PolicyType::NulString | PolicyType::String => check_string(&pt, attr.value),
        PolicyType::Binary => {
            if pt.len != 0 && attrlen > usize::from(pt.len) {
                Err(ERANGE)
            } else {
                Ok(())
            }
        }
        PolicyType::Nested | PolicyType::NestedArray if attrlen == 0 => Ok(()),
        PolicyType::Nested | PolicyType::NestedArray if attrlen < NLA_HDRLEN => Err(ERANGE),
        PolicyType::Nested => {
            if let Some(inner) = pt.nested {
                // An inner error returns directly, keeping the inner message/attribute.
                validate_parse(
                    inner,
                    pt.nested_maxtype(),
                    attr.value,
                    attr.offset + NLA_HDRLEN,
                    validate,
                    ack,
                    None,
                    depth + 1,
                )?;
            }
            Ok(())
        }
        PolicyType::NestedArray => {
            if let Some(inner) = pt.nested {
                validate_array(inner, pt.nested_maxtype(), attr, validate, ack, depth)?;
            }
            Ok(())
        }
        PolicyType::Unspec => {
            if validate.contains(Strictness::UNSPEC) {
                ack.attr("Unsupported attribute", attr, None);
                return Err(EINVAL);
            }
            if attrlen < usize::from(pt.len) {
                Err(ERANGE)
            } else {
                Ok(())
            }
        }
        _ => {
            let minlen = if pt.len != 0 {
                usize::from(pt.len)
            } else {
                pt.ty.min_len()
            };
            if attrlen < minlen {
                Err(ERANGE)
            } else {
                Ok(())
            }
        }
    };
    if let Err(errno) = typed {
        ack.attr(FAILED, attr, Some(pt));
        return Err(errno);
    }

    match pt.validation.kind() {
        Kind::None => Ok(()),
        Kind::Range | Kind::RangeWarnTooLong | Kind::Min | Kind::Max => {
            validate_int_range(&pt, attr, validate, ack)
        }
        Kind::Mask => {
            // Kernel: nla_validate_mask(); unsupported types fail without a message.
            let Some(value) = unsigned_value(&pt, attr.value) else {
                return Err(EINVAL);
            };
            let Validation::Mask(mask) = pt.validation else {
                return Ok(());
            };
            if value & !mask != 0 {
                ack.attr("reserved bit set", attr, None);
                return Err(EINVAL);
            }
            Ok(())
        }
    }
}

/// The `NLA_STRING` / `NLA_NUL_STRING` cases of `validate_nla()`.
fn check_string(pt: &AttrPolicy, value: &[u8]) -> Result<(), i32> {
    let mut attrlen = value.len();
    let maxlen = usize::from(pt.len);
    if pt.ty == PolicyType::NulString {
        let minlen = if maxlen != 0 {
            attrlen.min(maxlen + 1)
        } else {
            attrlen
        };
        if minlen == 0 || !value[..minlen].contains(&0) {
            return Err(EINVAL);
        }
    }
    if attrlen < 1 {
        return Err(ERANGE);
    }
    if maxlen != 0 {
        if value[attrlen - 1] == 0 {
            attrlen -= 1;
        }
        if attrlen > maxlen {
            return Err(ERANGE);
        }
    }
    Ok(())
}

/// Kernel: `nla_validate_array()`.
fn validate_array(
    inner: &Policy,
    maxtype: u16,
    attr: &Attr<'_>,
    validate: Strictness,
    ack: &mut AckState,
    depth: u32,
) -> Result<(), i32> {
    let base = attr.offset + NLA_HDRLEN;
    let mut pos = 0;
    while let Some((entry, next)) = nla_at(attr.value, pos, base) {
        pos = next;
        if entry.value.is_empty() {
            continue;
        }
        if entry.value.len() < NLA_HDRLEN {
            // The kernel passes the nested policy array, i.e. its entry 0.
            ack.attr("Array element too short", &entry, Some(inner.get(0)));
            return Err(ERANGE);
        }
        validate_parse(
            inner,
            maxtype,
            entry.value,
            entry.offset + NLA_HDRLEN,
            validate,
            ack,
            None,
            depth + 1,
        )?;
    }
    Ok(())
}

/// Kernel: `nla_validate_int_range()` and its unsigned/signed halves.
fn validate_int_range(
    pt: &AttrPolicy,
    attr: &Attr<'_>,
    validate: Strictness,
    ack: &mut AckState,
) -> Result<(), i32> {
    if matches!(
        pt.ty,
        PolicyType::S8 | PolicyType::S16 | PolicyType::S32 | PolicyType::S64 | PolicyType::Sint
    ) {
        let Some(value) = signed_value(pt, attr.value) else {
            return Err(EINVAL);
        };
        let (min, max) = pt.range_signed();
        if value < min || value > max {
            ack.attr("integer out of range", attr, Some(*pt));
            return Err(ERANGE);
        }
        return Ok(());
    }
    let value = match pt.ty {
        PolicyType::Binary => attr.value.len() as u64,
        _ => match unsigned_value(pt, attr.value) {
            Some(v) => v,
            // Kernel: WARN and -EINVAL for a range on a type without one.
            None => return Err(EINVAL),
        },
    };
    let (min, max) = pt.range_unsigned();
    if pt.validation.kind() == Kind::RangeWarnTooLong && pt.ty == PolicyType::Binary && value > max
    {
        if validate.contains(Strictness::STRICT_ATTRS) {
            ack.attr("invalid attribute length", attr, Some(*pt));
            return Err(EINVAL);
        }
        return Ok(());
    }
    if value < min || value > max {
        let msg = if pt.ty == PolicyType::Binary {
            "binary attribute size out of range"
        } else {
            "integer out of range"
        };
        ack.attr(msg, attr, Some(*pt));
        return Err(ERANGE);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
