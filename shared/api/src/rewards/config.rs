//! Token rewards configuration (the `tokens` part of the app's `Config`).
//!
//! - `REWARDS_QUEUE_URL` (required): the queue the rewards worker consumes.
//! - `TOKEN_COMPLETION_BASE` (default 100): tokens for a course completion before the tier
//!   multiplier and the streak bonus; 1 to 1,000,000.
//! - `TOKEN_DIGEST_WINDOW_SECONDS` (default 900): award emails are batched per user in windows of
//!   this length; 1 to 900 (the digest is queued with an SQS delay until the window ends, and SQS
//!   delays at most 900 s).
//! - `TOKEN_REWARDS_CATALOG` (optional): the redemption catalog as a JSON array (see
//!   `azora_domain::tokens::Reward`); the built-in catalog when unset.

use crate::error::ConfigError;
use azora_domain::tokens::{Reward, default_catalog, parse_catalog};

pub const DEFAULT_COMPLETION_BASE: i64 = 100;
pub const DEFAULT_DIGEST_WINDOW_SECONDS: i64 = 900;

#[derive(Clone, Debug)]
pub struct TokensConfig {
    pub rewards_queue_url: String,
    pub completion_base: i64,
    pub digest_window_seconds: i64,
    pub catalog: Vec<Reward>,
}

impl TokensConfig {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<TokensConfig, ConfigError> {
        let number = |name: &'static str, default: i64, range: std::ops::RangeInclusive<i64>| match get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().ok().filter(|v| range.contains(v)).ok_or(ConfigError::Invalid {
                name,
                reason: format!("must be a whole number from {} to {}", range.start(), range.end()),
            }),
        };
        Ok(TokensConfig {
            rewards_queue_url: get("REWARDS_QUEUE_URL").ok_or(ConfigError::Missing("REWARDS_QUEUE_URL"))?,
            completion_base: number("TOKEN_COMPLETION_BASE", DEFAULT_COMPLETION_BASE, 1..=1_000_000)?,
            digest_window_seconds: number("TOKEN_DIGEST_WINDOW_SECONDS", DEFAULT_DIGEST_WINDOW_SECONDS, 1..=900)?,
            catalog: match get("TOKEN_REWARDS_CATALOG") {
                None => default_catalog(),
                Some(json) => parse_catalog(&json)
                    .map_err(|e| ConfigError::Invalid { name: "TOKEN_REWARDS_CATALOG", reason: e.message })?,
            },
        })
    }

    pub fn reward(&self, id: &str) -> Option<&Reward> {
        self.catalog.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn load(vars: &[(&str, &str)]) -> Result<TokensConfig, ConfigError> {
        let map: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        TokensConfig::from_lookup(&|name: &str| map.get(name).cloned())
    }

    #[test]
    fn defaults_and_validation() {
        let c = load(&[("REWARDS_QUEUE_URL", "http://q")]).unwrap();
        assert_eq!((c.completion_base, c.digest_window_seconds), (100, 900));
        assert!(c.reward("course_voucher_500").is_some() && c.reward("pro_month").is_some());
        assert_eq!(load(&[]).unwrap_err(), ConfigError::Missing("REWARDS_QUEUE_URL"));
        for (name, value) in [
            ("TOKEN_COMPLETION_BASE", "0"),
            ("TOKEN_COMPLETION_BASE", "x"),
            ("TOKEN_DIGEST_WINDOW_SECONDS", "901"),
            ("TOKEN_REWARDS_CATALOG", "[]"),
        ] {
            let err = load(&[("REWARDS_QUEUE_URL", "http://q"), (name, value)]).unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
        let custom = load(&[
            ("REWARDS_QUEUE_URL", "http://q"),
            (
                "TOKEN_REWARDS_CATALOG",
                r#"[{"id":"sticker","title":"A sticker","cost":10,"kind":"pro_credit","days":1}]"#,
            ),
        ])
        .unwrap();
        assert_eq!(custom.catalog.len(), 1);
    }
}
