//! `wire_enum!`: a closed set of wire values as a Rust enum.
//!
//! Every enum of the vocabulary (wallets, payment types, scenes, states)
//! is written once with this macro: the variant, its exact wire spelling
//! and its documentation. The macro adds `ALL`, `as_str`, `parse`,
//! `Display` and `FromStr` (exact, case-sensitive spelling).

/// A wire value that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; one of {allowed}")]
pub struct UnknownValue {
    /// What kind of value it was (`wallet`, `payType`, …).
    pub what: &'static str,
    /// The value as given (at most 40 characters of it).
    pub value: String,
    /// The accepted spellings, `/`-separated.
    pub allowed: String,
}

/// Defines a wire enum: see the module documentation. Exported so the
/// gateway's stored states are written the same way.
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in table order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }

            /// Reads the exact wire spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($wire => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// Every spelling, `/`-separated, for messages.
            pub fn spellings() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join("/")
            }
        }

        /// Compares the wire spelling.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::wire_enum::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::wire_enum::UnknownValue {
                    what: $what,
                    value: s.chars().take(40).collect(),
                    allowed: Self::spellings(),
                })
            }
        }
    };
}
