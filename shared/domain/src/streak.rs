//! Learning streaks, counted in the user's own time zone.
//!
//! A day counts when the user completes learning activity during that calendar day **in their IANA
//! time zone** (sent with the event, else the last one we stored for the user, else UTC). The
//! streak is the number of consecutive such days ending with the latest one:
//! - activity on the same local day as the last one changes nothing;
//! - activity on the next local day extends the streak by one;
//! - activity after one or more missed days starts a new streak of 1;
//! - activity for a local day *before* the last one (a late, out-of-order event) changes nothing:
//!   history is not rewritten.
//!
//! Days are calendar days, not 24-hour spans: across a DST change a "day" is 23 or 25 hours long
//! and still counts as one day. The current streak as shown to the user is 0 once a whole local
//! day has passed without activity (the streak is broken, even before the next activity resets it).

use crate::error::ValidationError;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// The streak bonus grows by this many percent per consecutive day after the first...
pub const BONUS_PERCENT_PER_DAY: u32 = 10;
/// ...up to this cap.
pub const MAX_BONUS_PERCENT: u32 = 50;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// Consecutive active local days ending with `last_day`.
    pub current: u32,
    pub longest: u32,
    /// The latest local day with activity.
    pub last_day: Option<Date>,
}

impl Streak {
    /// The streak after activity on local `day`.
    pub fn record(&self, day: Date) -> Streak {
        let current = match self.last_day {
            None => 1,
            Some(last) if day <= last => return *self,
            Some(last) if last.tomorrow().is_ok_and(|next| next == day) => self.current.saturating_add(1),
            Some(_) => 1,
        };
        Streak { current, longest: self.longest.max(current), last_day: Some(day) }
    }

    /// The streak as the user sees it on local day `today`: 0 when yesterday had no activity.
    pub fn current_as_of(&self, today: Date) -> u32 {
        match self.last_day {
            Some(last) if last >= today || last.tomorrow().is_ok_and(|next| next == today) => self.current,
            _ => 0,
        }
    }
}

/// The bonus for an award on the `streak_days`-th consecutive day:
/// `min(10 × (streak_days − 1), 50)` percent (day 1: 0 %, day 2: 10 %, …, day 6 and later: 50 %).
pub fn bonus_percent(streak_days: u32) -> u32 {
    BONUS_PERCENT_PER_DAY.saturating_mul(streak_days.saturating_sub(1)).min(MAX_BONUS_PERCENT)
}

/// The calendar day of `at` in `tz`.
pub fn local_day(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned(tz.clone()).date()
}

/// Resolves an IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`) from the bundled
/// time zone database.
pub fn parse_time_zone(name: &str) -> Result<TimeZone, ValidationError> {
    let invalid = || ValidationError::new("timeZone", format!("'{name}' is not an IANA time zone name"));
    if !is_zone_name_shaped(name) {
        return Err(invalid());
    }
    TimeZone::get(name).map_err(|_| invalid())
}

/// Whether `name` has the shape of an IANA zone name (1 to 64 of letters, digits, `/ _ - +`),
/// known or not: a well-formed unknown name is a different refusal from a malformed one.
pub fn is_zone_name_shaped(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn ts(raw: &str) -> Timestamp {
        raw.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        parse_time_zone(name).unwrap()
    }

    fn run(tz_name: &str, instants: &[&str]) -> Streak {
        let zone = tz(tz_name);
        instants.iter().fold(Streak::default(), |s, at| s.record(local_day(ts(at), &zone)))
    }

    #[test]
    fn consecutive_days_extend_and_a_missed_day_resets() {
        let s = Streak::default().record(date(2026, 3, 1));
        assert_eq!((s.current, s.longest), (1, 1));
        let s = s.record(date(2026, 3, 1));
        assert_eq!((s.current, s.longest), (1, 1), "same day counts once");
        let s = s.record(date(2026, 3, 2)).record(date(2026, 3, 3));
        assert_eq!((s.current, s.longest), (3, 3));
        let s = s.record(date(2026, 3, 5));
        assert_eq!((s.current, s.longest), (1, 3), "one missed day resets");
        let s = s.record(date(2026, 3, 4));
        assert_eq!((s.current, s.last_day), (1, Some(date(2026, 3, 5))), "late events do not rewrite history");
    }

    #[test]
    fn month_and_year_ends_are_consecutive() {
        let s = Streak::default().record(date(2026, 12, 31)).record(date(2027, 1, 1));
        assert_eq!(s.current, 2);
        let s = Streak::default().record(date(2028, 2, 28)).record(date(2028, 2, 29)).record(date(2028, 3, 1));
        assert_eq!(s.current, 3);
    }

    #[test]
    fn the_day_is_the_users_local_day_not_utc() {
        // 23:30 UTC on June 1 is already June 2 in Berlin (UTC+2) and still June 1 in New York.
        let at = ts("2026-06-01T23:30:00Z");
        assert_eq!(local_day(at, &tz("Europe/Berlin")), date(2026, 6, 2));
        assert_eq!(local_day(at, &tz("America/New_York")), date(2026, 6, 1));
        assert_eq!(local_day(at, &TimeZone::UTC), date(2026, 6, 1));
        // Consecutive days in UTC but one day in Tokyo (UTC+9): June 2 01:00 and 10:00 JST.
        let pair = ["2026-06-01T16:00:00Z", "2026-06-02T01:00:00Z"];
        assert_eq!(run("UTC", &pair).current, 2);
        assert_eq!(run("Asia/Tokyo", &pair).current, 1);
    }

    #[test]
    fn day_boundary_across_time_zones() {
        // Two completions 2 hours apart around midnight UTC.
        let pair = ["2026-06-01T23:00:00Z", "2026-06-02T01:00:00Z"];
        // UTC: June 1 then June 2 → 2-day streak.
        assert_eq!(run("UTC", &pair).current, 2);
        // Los Angeles (UTC−7): June 1 16:00 and 18:00 → one day.
        assert_eq!(run("America/Los_Angeles", &pair).current, 1);
        // Kiritimati (UTC+14): June 2 13:00 and 15:00 → one day.
        assert_eq!(run("Pacific/Kiritimati", &pair).current, 1);
        // The same day in UTC and Berlin, but two days at both ends of the world.
        let pair = ["2026-06-01T09:00:00Z", "2026-06-01T11:00:00Z"];
        assert_eq!(run("UTC", &pair).current, 1);
        assert_eq!(run("Europe/Berlin", &pair).current, 1);
        assert_eq!(run("Pacific/Kiritimati", &pair).current, 2, "June 1 23:00, June 2 01:00");
        assert_eq!(run("Pacific/Pago_Pago", &pair).current, 2, "May 31 22:00, June 1 00:00");
    }

    #[test]
    fn dst_spring_forward_day_is_one_day() {
        // New York springs forward on 2026-03-08 (a 23-hour day).
        let ny = "America/New_York";
        // 23:30 EST on March 7, then 23:30 EDT on March 8: 23 hours apart, consecutive days.
        let s = run(ny, &["2026-03-08T04:30:00Z", "2026-03-09T03:30:00Z"]);
        assert_eq!(s.current, 2);
        // 00:30 EST on March 8 and 23:30 EDT on March 8: 22 hours apart, the same day.
        let s = run(ny, &["2026-03-08T05:30:00Z", "2026-03-09T03:30:00Z"]);
        assert_eq!(s.current, 1);
        // In UTC those two instants are different days.
        assert_eq!(run("UTC", &["2026-03-08T05:30:00Z", "2026-03-09T03:30:00Z"]).current, 2);
    }

    #[test]
    fn dst_fall_back_day_is_one_day() {
        // Berlin falls back on 2026-10-25 (a 25-hour day): 00:10 CEST and 23:50 CET are the same day,
        // 24 h 40 min apart.
        let s = run("Europe/Berlin", &["2026-10-24T22:10:00Z", "2026-10-25T22:50:00Z"]);
        assert_eq!((s.current, s.last_day), (1, Some(date(2026, 10, 25))));
        // And 23:50 CET on Oct 25 followed by 00:10 CET on Oct 26 is the next day, 20 minutes later.
        let s = run("Europe/Berlin", &["2026-10-25T22:50:00Z", "2026-10-25T23:10:00Z"]);
        assert_eq!(s.current, 2);
        // A gap of 48+ hours across the change still resets.
        let s = run("Europe/Berlin", &["2026-10-24T10:00:00Z", "2026-10-26T23:30:00Z"]);
        assert_eq!(s.current, 1);
    }

    #[test]
    fn current_streak_is_zero_once_a_day_was_missed() {
        let s = Streak::default().record(date(2026, 3, 1)).record(date(2026, 3, 2));
        assert_eq!(s.current_as_of(date(2026, 3, 2)), 2);
        assert_eq!(s.current_as_of(date(2026, 3, 3)), 2, "today may still extend it");
        assert_eq!(s.current_as_of(date(2026, 3, 4)), 0);
        assert_eq!(s.longest, 2);
        assert_eq!(Streak::default().current_as_of(date(2026, 3, 4)), 0);
    }

    #[test]
    fn bonus_grows_ten_percent_a_day_up_to_fifty() {
        let got: Vec<u32> = (0..9).map(bonus_percent).collect();
        assert_eq!(got, [0, 0, 10, 20, 30, 40, 50, 50, 50]);
        assert_eq!(bonus_percent(u32::MAX), 50);
    }

    #[test]
    fn time_zone_names_are_validated() {
        assert!(parse_time_zone("Europe/Berlin").is_ok());
        assert!(parse_time_zone("UTC").is_ok());
        assert!(parse_time_zone("America/Argentina/Buenos_Aires").is_ok());
        for bad in ["", "Mars/Olympus", "../../etc/passwd", "Europe/Berlin ", "x".repeat(80).as_str()] {
            assert!(parse_time_zone(bad).is_err(), "{bad:?}");
        }
    }
}
