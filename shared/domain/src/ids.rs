//! Identifiers that validate on parse, so an invalid id never reaches a key or a log line.

use crate::error::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

const MAX_ID_LEN: usize = 128;

fn validate_id(field: &str, raw: &str) -> Result<(), ValidationError> {
    if raw.is_empty() || raw.len() > MAX_ID_LEN {
        return Err(ValidationError::new(field, format!("must be 1 to {MAX_ID_LEN} characters")));
    }
    // '#' is our key separator in DynamoDB; keep ids to a safe, URL-friendly alphabet.
    if !raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'|')) {
        return Err(ValidationError::new(field, "may contain only letters, digits and - _ . @ |"));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
                let raw = raw.into();
                validate_id($field, &raw)?;
                Ok(Self(raw))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ValidationError;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                Self::parse(raw)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The authenticated user's id (the JWT `sub`).
    UserId,
    "userId"
);
string_id!(
    /// An enterprise organisation's id (the JWT `org`).
    OrgId,
    "orgId"
);

/// A new, time-ordered, globally unique id with a readable prefix, e.g. `pay_01J…`.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", ulid::Ulid::new().to_string().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_ids() {
        assert!(UserId::parse("user_123").is_ok());
        assert!(UserId::parse("auth0|abc.def@x").is_ok());
    }

    #[test]
    fn rejects_separator_empty_and_long_ids() {
        assert!(UserId::parse("a#b").is_err());
        assert!(UserId::parse("").is_err());
        assert!(UserId::parse("x".repeat(129)).is_err());
    }

    #[test]
    fn new_ids_are_prefixed_and_unique() {
        let a = new_id("pay");
        let b = new_id("pay");
        assert!(a.starts_with("pay_"));
        assert_ne!(a, b);
    }
}
