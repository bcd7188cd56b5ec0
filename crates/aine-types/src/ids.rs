//! Typed, prefixed identifiers.
//!
//! Generated ids (`RunId`, `GateId`) are a prefix plus a ULID (`run_01J…`, `gate_01J…`) and refuse
//! to parse with the wrong prefix. Names chosen by people (`StepId`, `PersonId`, `RoleName`) are
//! short slugs: ASCII letters, digits, `-`, `_` and `.`, starting with a letter, at most 64 bytes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The string lacks the id kind's prefix (e.g. a `gate_…` given where a `run_…` was expected).
    #[error("`{value}` is not a {kind} id: expected `{prefix}` followed by a ULID")]
    WrongPrefix {
        kind: &'static str,
        prefix: &'static str,
        value: String,
    },
    /// The part after the prefix is not a 26-character Crockford base32 ULID.
    #[error("`{value}` is not a {kind} id: the part after `{prefix}` is not a ULID")]
    BadUlid {
        kind: &'static str,
        prefix: &'static str,
        value: String,
    },
    /// A slug that is empty, too long, or has characters outside `[A-Za-z0-9_.-]`.
    #[error(
        "`{value}` is not a valid {kind}: use 1 to 64 ASCII letters, digits, `-`, `_` or `.`, starting with a letter"
    )]
    BadSlug { kind: &'static str, value: String },
}

macro_rules! ulid_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Ulid);

        impl $name {
            /// The textual prefix, including the underscore.
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a ULID (the caller chooses how it is generated: the clock lives at the edge).
            pub fn from_ulid(ulid: Ulid) -> Self {
                Self(ulid)
            }

            /// The underlying ULID.
            pub fn ulid(&self) -> Ulid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let rest = s.strip_prefix($prefix).ok_or_else(|| IdError::WrongPrefix {
                    kind: $kind,
                    prefix: $prefix,
                    value: s.to_owned(),
                })?;
                Ulid::from_string(rest)
                    .map(Self)
                    .map_err(|_| IdError::BadUlid { kind: $kind, prefix: $prefix, value: s.to_owned() })
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

ulid_id!(
    /// One execution of a workflow: `run_<ULID>`.
    RunId, "run_", "run"
);
ulid_id!(
    /// One opening of a gate in a run: `gate_<ULID>`.
    GateId, "gate_", "gate"
);

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates `value` as a slug (see the module docs).
            pub fn new(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                if is_slug(&value) {
                    Ok(Self(value))
                } else {
                    Err(IdError::BadSlug { kind: $kind, value })
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::new(s).map_err(serde::de::Error::custom)
            }
        }
    };
}

slug_id!(
    /// A step's `id` in a workflow file, e.g. `draft`.
    StepId, "step id"
);
slug_id!(
    /// A person configured in `aine.toml` `[people]`, e.g. `alice`.
    PersonId, "person id"
);
slug_id!(
    /// A role configured in `aine.toml` `[roles]`, e.g. `product-owner`.
    RoleName, "role name"
);

fn is_slug(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    s.len() <= 64
        && first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_id_round_trips_and_refuses_other_prefixes() {
        let id = RunId::from_ulid(Ulid::from_parts(1_700_000_000_000, 42));
        let text = id.to_string();
        assert!(text.starts_with("run_"));
        assert_eq!(text.parse::<RunId>(), Ok(id));
        let gate_text = text.replacen("run_", "gate_", 1);
        assert!(matches!(
            gate_text.parse::<RunId>(),
            Err(IdError::WrongPrefix { .. })
        ));
        assert!(gate_text.parse::<GateId>().is_ok());
        assert!(matches!(
            "run_nope".parse::<RunId>(),
            Err(IdError::BadUlid { .. })
        ));
    }

    #[test]
    fn slugs_are_checked() {
        assert!(StepId::new("draft").is_ok());
        assert!(StepId::new("spec.lint_2-x").is_ok());
        for bad in ["", "1abc", "has space", "ünï", &"a".repeat(65)] {
            assert!(StepId::new(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ids_serialize_as_strings() {
        let id = GateId::from_ulid(Ulid::from_parts(1, 2));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        let back: GateId = serde_json::from_str(&json).unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<RunId>(&json).is_err());
    }
}
