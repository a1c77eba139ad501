//! Ids of credential types and membership tiers. The registries number both from 1, and a token id packs
//! one above its holder ([`super::token`]). A [`TypeId`] or [`TierId`] is parsed once, where input enters
//! (CLI flags, CSV columns, API paths and bodies), so a value of either is always a real id: never 0, never
//! text. Ids the chain reports (decoded events, mirror rows) are the chain's own and stay plain `u64`.

use std::fmt;
use std::str::FromStr;

use alloy::primitives::{Address, U256};
use serde::{Deserialize, Serialize};

/// Why text or a number is not an id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a {what} id: ids are whole numbers from 1 (see `laurel gov {cmd} list`)")]
pub struct IdError {
    /// What was expected ("credential type", "membership tier").
    pub what: &'static str,
    /// The `laurel gov` subcommand that lists them.
    pub cmd: &'static str,
    /// The input as given.
    pub input: String,
}

macro_rules! scope_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $cmd:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "u64", into = "u64")]
        pub struct $name(u64);

        impl $name {
            /// The id `n`, or None for 0 (the registries number from 1).
            pub const fn new(n: u64) -> Option<Self> {
                if n == 0 {
                    None
                } else {
                    Some(Self(n))
                }
            }

            /// The id as a number.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// The token id of `holder`'s token in this scope.
            pub fn token(self, holder: Address) -> U256 {
                super::token::token_id(self.0, holder)
            }

            fn error(input: impl fmt::Display) -> IdError {
                IdError {
                    what: $what,
                    cmd: $cmd,
                    input: input.to_string(),
                }
            }
        }

        impl TryFrom<u64> for $name {
            type Error = IdError;
            fn try_from(n: u64) -> Result<Self, IdError> {
                Self::new(n).ok_or_else(|| Self::error(n))
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> u64 {
                id.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            /// Decimal digits only (surrounding spaces allowed): no sign, no hex, no 0.
            fn from_str(s: &str) -> Result<Self, IdError> {
                let t = s.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Self::error(s));
                }
                t.parse::<u64>()
                    .ok()
                    .and_then(Self::new)
                    .ok_or_else(|| Self::error(s))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

scope_id!(
    /// A credential type's id.
    TypeId,
    "credential type",
    "type"
);
scope_id!(
    /// A membership tier's id.
    TierId,
    "membership tier",
    "tier"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_from_whole_numbers_from_one_only() {
        assert_eq!("7".parse::<TypeId>().map(TypeId::get), Ok(7));
        assert_eq!(" 12 ".parse::<TierId>().map(TierId::get), Ok(12));
        for bad in [
            "0",
            "",
            " ",
            "-1",
            "+1",
            "0x1",
            "1.0",
            "one",
            "18446744073709551616",
        ] {
            let e = bad.parse::<TypeId>().expect_err(bad);
            assert_eq!((e.what, e.input.as_str()), ("credential type", bad));
        }
        assert_eq!(TypeId::new(0), None);
        assert!(TierId::try_from(0)
            .unwrap_err()
            .to_string()
            .contains("laurel gov tier list"));
    }

    #[test]
    fn ids_serialize_as_numbers_and_refuse_zero() {
        let t = TypeId::new(3).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "3");
        assert_eq!(serde_json::from_str::<TypeId>("3").unwrap(), t);
        assert!(serde_json::from_str::<TypeId>("0").is_err());
        assert!(serde_json::from_str::<TypeId>("\"3\"").is_err());
    }

    #[test]
    fn an_id_packs_its_token_above_the_holder() {
        let h = Address::repeat_byte(0x11);
        let t = TypeId::new(5).unwrap().token(h);
        assert_eq!(super::super::token::holder_of(t), h);
        assert_eq!(super::super::token::high_of(t), U256::from(5));
    }
}
