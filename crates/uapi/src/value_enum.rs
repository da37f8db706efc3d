//! The one shape every UAPI value enum takes (rust-netlink's `NetkitMode` shape).
//!
//! `value_enum!` turns rows `Variant = CONST => "word"` into a `#[non_exhaustive]` enum
//! with an `Other(repr)` arm, `From` in both directions, `Display` in the tool's word
//! (YNL or iproute2) and `FromStr` accepting the word or a decimal number. Declaring the
//! three mappings in one row is what keeps them from drifting (rust-netlink's netkit
//! policy `Redirect` fails to round-trip because its two `From` impls were hand-written).

use core::fmt;

/// A word that names no value of the enum being parsed, and is not a number either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownWord;

impl fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unknown value word")
    }
}

impl core::error::Error for UnknownWord {}

macro_rules! value_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident: $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr => $word:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value without a name here (newer kernel, or garbage): kept, not rejected.
            Other($repr),
        }

        impl $name {
            /// Every named value, in header order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )*
                    other => $name::Other(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Other(other) => other,
                }
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                match self {
                    $( $name::$variant => f.write_str($word), )*
                    $name::Other(other) => write!(f, "{other}"),
                }
            }
        }

        impl core::str::FromStr for $name {
            type Err = $crate::value_enum::UnknownWord;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $( $word => Ok($name::$variant), )*
                    _ => s
                        .parse::<$repr>()
                        .map($name::from)
                        .map_err(|_| $crate::value_enum::UnknownWord),
                }
            }
        }
    };
}

pub(crate) use value_enum;

/// Test helper: every named value and one `Other` survive `From` and `Display`/`FromStr`.
#[cfg(test)]
pub(crate) fn assert_round_trips<T, R>(all: &[T], other: R)
where
    T: Copy + PartialEq + core::fmt::Debug + core::fmt::Display + core::str::FromStr + From<R>,
    R: Copy + PartialEq + core::fmt::Debug + From<T>,
    <T as core::str::FromStr>::Err: core::fmt::Debug,
{
    use std::string::ToString;
    assert!(!all.is_empty());
    for &v in all {
        let raw = R::from(v);
        assert_eq!(T::from(raw), v, "From round trip of {v:?}");
        let word = v.to_string();
        assert_eq!(
            word.parse::<T>().expect("own word parses"),
            v,
            "word {word}"
        );
    }
    let o = T::from(other);
    assert_eq!(R::from(o), other, "Other keeps its value");
    assert!(!all.contains(&o), "{other:?} must not be a named value");
    assert_eq!(o.to_string().parse::<T>().expect("number parses"), o);
    assert!("no-such-word".parse::<T>().is_err());
}
