//! Leaderboards: periods, shards, the sort key, ranks and percentile bands.
//!
//! **Score**: tokens *earned* (ledger entries of kind `award`) in the period — `all` (all time) or
//! the current ISO week (weeks start Monday 00:00 UTC, id `2026-W48`). Redemptions do not lower it.
//!
//! **Order**: score descending; equal scores rank by who reached that score first. Both are folded
//! into one number, the index sort key `score × 10^13 + (10^13 − 1 − reachedAtMillis)`, so one
//! numeric comparison orders users exactly as the ranking does. Users with the same key (same
//! score reached in the same millisecond) share a rank ("1224" competition ranking: rank = 1 +
//! the number of users with a strictly greater key).
//!
//! **Shards**: a user's score item lives in index partition `LB#<period>#<shard>` where
//! `shard = fnv1a64(userId) mod 16`, so writes spread over 16 partitions and the top N is one
//! parallel round of 16 queries (each the shard's top N, key descending) merged here.
//!
//! **The caller's rank**: exact when fewer than 1,000 users are ahead (counted per shard, 16
//! parallel `COUNT` queries of `key > mine`, each stopping at 1,000); otherwise a percentile band
//! from the latest statistics snapshot: the leaderboard-stats job reads 4 of the 16 shards (a
//! uniform 25 % sample, users are hashed to shards) and records the keys at the top 1, 5, 10, 25,
//! 50 and 75 % of the sample; the caller is in the smallest band whose cut their key reaches, or in
//! the bottom 25 %. On a large board (top 1 % ≥ 5,000 users) a caller below the top-1 % cut is
//! outside the top 1,000 beyond sampling doubt, and the count is skipped (one read instead of 17).

use crate::error::ValidationError;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// Index partitions per period.
pub const SHARDS: u32 = 16;
/// The largest board (`limit`).
pub const MAX_TOP: usize = 100;
/// Ranks are exact while fewer than this many users are ahead.
pub const EXACT_RANK_LIMIT: usize = 1000;
/// Shards the statistics job samples (shards 0..4 of 16: 25 % of users).
pub const STATS_SAMPLE_SHARDS: u32 = 4;
/// Percentile bands, "top p %".
pub const BANDS: [u32; 6] = [1, 5, 10, 25, 50, 75];
/// Most users one may follow (the friends board reads them all).
pub const MAX_FOLLOWS: u32 = 500;
/// Most members of a class.
pub const MAX_CLASS_MEMBERS: usize = 200;
/// How a user who hides from global boards appears there.
pub const ANONYMOUS: &str = "Anonymous learner";

const TIME_SLOTS: i128 = 10_000_000_000_000; // 10^13 ms ≈ year 2286

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    All,
    Week,
}

impl Period {
    pub fn parse(raw: &str) -> Option<Period> {
        match raw {
            "all" => Some(Period::All),
            "week" => Some(Period::Week),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::All => "all",
            Period::Week => "week",
        }
    }

    /// The period's id at `at`: `all`, or the ISO week like `2026-W48`.
    pub fn id_at(self, at: Timestamp) -> String {
        match self {
            Period::All => "all".to_string(),
            Period::Week => week_id(at),
        }
    }
}

/// The ISO week (Monday 00:00 UTC to the next Monday) containing `at`, e.g. `2026-W48`.
pub fn week_id(at: Timestamp) -> String {
    let week = at.to_zoned(TimeZone::UTC).date().iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

/// When the week containing `at` ends (the next Monday 00:00 UTC).
pub fn week_end(at: Timestamp) -> Timestamp {
    let date = at.to_zoned(TimeZone::UTC).date();
    let days_to_monday = 7 - i64::from(date.weekday().to_monday_zero_offset());
    let midnight = date.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(at);
    midnight + jiff::SignedDuration::from_hours(24 * days_to_monday)
}

/// FNV-1a, 64 bit: a stable hash (the standard library's is seeded per process).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

pub fn shard_of(user_id: &str) -> u32 {
    (fnv1a64(user_id.as_bytes()) % u64::from(SHARDS)) as u32
}

/// The index sort key: score first, then earlier `reached_at` first.
pub fn sort_key(score: i64, reached_at: Timestamp) -> i128 {
    let millis = i128::from(reached_at.as_millisecond()).clamp(0, TIME_SLOTS - 1);
    i128::from(score) * TIME_SLOTS + (TIME_SLOTS - 1 - millis)
}

/// The score a sort key carries.
pub fn score_of(key: i128) -> i64 {
    i64::try_from(key.div_euclid(TIME_SLOTS)).unwrap_or(if key < 0 { i64::MIN } else { i64::MAX })
}

/// One user on a board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranked {
    pub rank: u64,
    pub user_id: String,
    pub key: i128,
    pub score: i64,
}

/// Ranks `(user, key)` pairs: key descending, ties share a rank, listed by user id; at most `limit`.
pub fn rank(mut entries: Vec<(String, i128)>, limit: usize) -> Vec<Ranked> {
    entries.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut out: Vec<Ranked> = Vec::with_capacity(entries.len().min(limit));
    for (i, (user_id, key)) in entries.into_iter().take(limit).enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.key == key => prev.rank,
            _ => i as u64 + 1,
        };
        out.push(Ranked { rank, user_id, key, score: score_of(key) });
    }
    out
}

/// A statistics snapshot: cut keys for each band from a sample of shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsSnapshot {
    pub computed_at: Timestamp,
    pub sample_size: u64,
    /// `sample_size × SHARDS / sampled shards`.
    pub estimated_total: u64,
    /// (p, the lowest key still in the top p % of the sample), for p in [`BANDS`].
    pub cuts: Vec<(u32, String)>,
}

impl StatsSnapshot {
    /// From the keys of the sampled shards (any order).
    pub fn from_sample(mut keys: Vec<i128>, sampled_shards: u32, computed_at: Timestamp) -> StatsSnapshot {
        keys.sort_unstable_by(|a, b| b.cmp(a));
        let n = keys.len();
        let cuts = if n == 0 {
            Vec::new()
        } else {
            BANDS
                .iter()
                .map(|p| {
                    // ceil(p% of n) users make the top p %; the cut is the last of them.
                    let count = (n * *p as usize).div_ceil(100).max(1);
                    (*p, keys[count - 1].to_string())
                })
                .collect()
        };
        let estimated_total = (n as u64 * u64::from(SHARDS)).div_ceil(u64::from(sampled_shards.max(1)));
        StatsSnapshot { computed_at, sample_size: n as u64, estimated_total, cuts }
    }

    /// Whether `key` is outside the top `limit` beyond any sampling doubt, so counting the users
    /// ahead can be skipped: the board is large enough that its top 1 % holds at least
    /// 5 × `limit` users, and `key` is below the sample's top-1 % cut.
    pub fn clearly_outside_top(&self, key: i128, limit: usize) -> bool {
        let top_percent = self.estimated_total / 100;
        let cut = self.cuts.iter().find(|(p, _)| *p == 1).and_then(|(_, c)| c.parse::<i128>().ok());
        top_percent >= 5 * limit as u64 && cut.is_some_and(|c| key < c)
    }

    /// The band of `key`: `Some(p)` for "top p %", `None` for "bottom 25 %" (or no data).
    pub fn band_of(&self, key: i128) -> Option<u32> {
        self.cuts.iter().find(|(_, cut)| cut.parse::<i128>().is_ok_and(|c| key >= c)).map(|(p, _)| *p)
    }
}

/// A human label for a band.
pub fn band_label(band: Option<u32>) -> String {
    match band {
        Some(p) => format!("top {p}%"),
        None => format!("bottom {}%", 100 - BANDS[BANDS.len() - 1]),
    }
}

/// The name shown for a user who never chose one: `Learner 1a2b3c`, stable per user id and
/// without revealing it.
pub fn default_display_name(user_id: &str) -> String {
    format!("Learner {:06x}", fnv1a64(user_id.as_bytes()) >> 40)
}

/// 1 to 40 characters, no control characters, trimmed.
pub fn validate_display_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(ValidationError::new("displayName", "must be 1 to 40 characters without control characters"));
    }
    Ok(name.to_string())
}

/// 1 to 100 characters, no control characters, trimmed.
pub fn validate_class_name(raw: &str) -> Result<String, ValidationError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ValidationError::new("name", "must be 1 to 100 characters without control characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    #[test]
    fn weeks_start_monday_utc() {
        // 2026-11-29 is a Sunday, 2026-11-30 a Monday.
        assert_eq!(week_id(ts("2026-11-29T23:59:59Z")), "2026-W48");
        assert_eq!(week_id(ts("2026-11-30T00:00:00Z")), "2026-W49");
        assert_eq!(week_end(ts("2026-11-29T23:59:59Z")), ts("2026-11-30T00:00:00Z"));
        assert_eq!(week_end(ts("2026-11-30T00:00:00Z")), ts("2026-12-07T00:00:00Z"));
        // ISO week-years at the year boundary.
        assert_eq!(week_id(ts("2027-01-01T12:00:00Z")), "2026-W53");
        assert_eq!(Period::All.id_at(ts("2027-01-01T12:00:00Z")), "all");
    }

    #[test]
    fn keys_order_by_score_then_earliest() {
        let early = sort_key(100, ts("2026-01-01T00:00:00Z"));
        let late = sort_key(100, ts("2026-06-01T00:00:00Z"));
        let more = sort_key(101, ts("2026-06-01T00:00:00Z"));
        assert!(more > early && early > late);
        assert_eq!(score_of(early), 100);
        assert_eq!(score_of(sort_key(0, ts("2026-01-01T00:00:00Z"))), 0);
        assert_eq!(score_of(sort_key(i64::MAX, ts("2026-01-01T00:00:00Z"))), i64::MAX);
    }

    #[test]
    fn ties_share_a_rank() {
        let r = rank(vec![("b".into(), 5), ("a".into(), 5), ("c".into(), 9), ("d".into(), 1)], 10);
        let got: Vec<(u64, &str)> = r.iter().map(|x| (x.rank, x.user_id.as_str())).collect();
        assert_eq!(got, [(1, "c"), (2, "a"), (2, "b"), (4, "d")]);
        assert_eq!(rank(vec![("a".into(), 1), ("b".into(), 2)], 1).len(), 1);
    }

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("user-1"), shard_of("user-1"));
        let mut counts = [0u32; SHARDS as usize];
        for i in 0..16_000 {
            counts[shard_of(&format!("user-{i}")) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }

    #[test]
    fn bands_from_a_sample() {
        let keys: Vec<i128> = (1..=1000).collect();
        let s = StatsSnapshot::from_sample(keys, 4, ts("2026-01-01T00:00:00Z"));
        assert_eq!(s.sample_size, 1000);
        assert_eq!(s.estimated_total, 4000);
        assert_eq!(s.band_of(1000), Some(1));
        assert_eq!(s.band_of(991), Some(1));
        assert_eq!(s.band_of(990), Some(5));
        assert_eq!(s.band_of(901), Some(10));
        assert_eq!(s.band_of(900), Some(25));
        assert_eq!(s.band_of(751), Some(25));
        assert_eq!(s.band_of(500), Some(75), "the 501st of 1000 is past the top 50%");
        assert_eq!(s.band_of(501), Some(50));
        assert_eq!(s.band_of(250), None);
        assert_eq!(band_label(None), "bottom 25%");
        assert_eq!(band_label(Some(10)), "top 10%");
        let empty = StatsSnapshot::from_sample(vec![], 4, ts("2026-01-01T00:00:00Z"));
        assert_eq!(empty.band_of(5), None);
        assert!(!empty.clearly_outside_top(5, 1000));
        // 1,000 sampled of 4,000: too few for the shortcut at 1,000; fine at 5.
        assert!(!s.clearly_outside_top(1, 1000));
        assert!(s.clearly_outside_top(990, 5) && !s.clearly_outside_top(991, 5));
    }

    #[test]
    fn display_names() {
        assert!(default_display_name("user-1").starts_with("Learner "));
        assert_eq!(default_display_name("user-1").len(), "Learner ".len() + 6);
        assert_ne!(default_display_name("user-1"), default_display_name("user-2"));
        assert_eq!(validate_display_name("  Ada  ").unwrap(), "Ada");
        assert!(validate_display_name("").is_err());
        assert!(validate_display_name("a\nb").is_err());
        assert!(validate_display_name(&"x".repeat(41)).is_err());
    }

    proptest! {
        #[test]
        fn key_order_is_score_then_time(s1 in 0i64..1_000_000, s2 in 0i64..1_000_000, t1 in 0i64..4_000_000_000, t2 in 0i64..4_000_000_000) {
            let a = sort_key(s1, Timestamp::from_second(t1).unwrap());
            let b = sort_key(s2, Timestamp::from_second(t2).unwrap());
            prop_assert_eq!(a.cmp(&b), s1.cmp(&s2).then(t2.cmp(&t1)));
            prop_assert_eq!(score_of(a), s1);
        }
    }
}
