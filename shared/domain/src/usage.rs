//! Enterprise usage: per organisation and month, counted as events happen (never recomputed by
//! scanning), then read back as a month-by-month series.
//!
//! Definitions:
//! - seats activated / released: seat assignments made and freed in the month; *seats used* at the
//!   end of a month is the running total of activations minus releases up to that month;
//! - active learners: distinct seat holders with learning activity in the month (a course started
//!   or completed, or tokens earned);
//! - courses started: first enrollment of a seat holder in a course (a repeat purchase of the same
//!   course does not count again); courses completed: first completion per member and course;
//! - tokens earned: tokens awarded to seat holders.

use crate::audit::parse_month;
use crate::ids::UserId;
use serde::Serialize;

/// Counters of one month (or deltas to add to one month).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageCounters {
    pub seats_activated: i64,
    pub seats_released: i64,
    pub active_learners: i64,
    pub courses_started: i64,
    pub courses_completed: i64,
    pub tokens_earned: i64,
}

impl UsageCounters {
    /// The counter attribute names and values, for an atomic `ADD` of the non-zero ones.
    pub fn fields(&self) -> [(&'static str, i64); 6] {
        [
            ("seatsActivated", self.seats_activated),
            ("seatsReleased", self.seats_released),
            ("activeLearners", self.active_learners),
            ("coursesStarted", self.courses_started),
            ("coursesCompleted", self.courses_completed),
            ("tokensEarned", self.tokens_earned),
        ]
    }

    pub fn from_fields(mut get: impl FnMut(&str) -> i64) -> Self {
        Self {
            seats_activated: get("seatsActivated"),
            seats_released: get("seatsReleased"),
            active_learners: get("activeLearners"),
            courses_started: get("coursesStarted"),
            courses_completed: get("coursesCompleted"),
            tokens_earned: get("tokensEarned"),
        }
    }

    fn add(&mut self, o: &UsageCounters) {
        self.seats_activated += o.seats_activated;
        self.seats_released += o.seats_released;
        self.active_learners += o.active_learners;
        self.courses_started += o.courses_started;
        self.courses_completed += o.courses_completed;
        self.tokens_earned += o.tokens_earned;
    }
}

/// Learning activity of a seat holder, reported by the payments, learning and rewards code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberActivity {
    CourseStarted { course_id: String },
    CourseCompleted { course_id: String },
    TokensEarned { amount: i64, award_id: String },
}

impl MemberActivity {
    /// Identifies the event, so that a redelivered event is counted once.
    pub fn event_id(&self, user: &UserId) -> String {
        match self {
            MemberActivity::CourseStarted { course_id } => format!("course-started:{user}:{course_id}"),
            MemberActivity::CourseCompleted { course_id } => format!("course-completed:{user}:{course_id}"),
            MemberActivity::TokensEarned { award_id, .. } => format!("tokens:{award_id}"),
        }
    }

    pub fn delta(&self) -> UsageCounters {
        match self {
            MemberActivity::CourseStarted { .. } => UsageCounters { courses_started: 1, ..Default::default() },
            MemberActivity::CourseCompleted { .. } => UsageCounters { courses_completed: 1, ..Default::default() },
            MemberActivity::TokensEarned { amount, .. } => {
                UsageCounters { tokens_earned: (*amount).max(0), ..Default::default() }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MonthUsage {
    pub month: String,
    /// Seats assigned at the end of the month (running total).
    pub seats_used: i64,
    #[serde(flatten)]
    pub counters: UsageCounters,
}

/// The month after `YYYY-MM`.
pub fn next_month(month: &str) -> Option<String> {
    let (y, m) = month.split_once('-')?;
    let (y, m): (u32, u32) = (y.parse().ok()?, m.parse().ok()?);
    let (y, m) = if m >= 12 { (y + 1, 1) } else { (y, m + 1) };
    parse_month(&format!("{y:04}-{m:02}"))
}

/// Months from `from` to `to` inclusive; empty when `to` is before `from`.
pub fn months(from: &str, to: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut m = from.to_string();
    while m.as_str() <= to && out.len() < 1200 {
        out.push(m.clone());
        match next_month(&m) {
            Some(n) => m = n,
            None => break,
        }
    }
    out
}

/// The series for `from..=to` from the recorded months (any order, any range): every month
/// appears, zero-filled, and seats used carries the running total from all earlier months.
pub fn monthly_series(recorded: &[(String, UsageCounters)], from: &str, to: &str) -> Vec<MonthUsage> {
    let mut running: i64 =
        recorded.iter().filter(|(m, _)| m.as_str() < from).map(|(_, c)| c.seats_activated - c.seats_released).sum();
    months(from, to)
        .into_iter()
        .map(|month| {
            let mut counters = UsageCounters::default();
            for (_, c) in recorded.iter().filter(|(m, _)| *m == month) {
                counters.add(c);
            }
            running += counters.seats_activated - counters.seats_released;
            MonthUsage { month, seats_used: running, counters }
        })
        .collect()
}

/// Sum of the counters of a series (seats used is not summed: it is a level, not a flow).
pub fn totals(series: &[MonthUsage]) -> UsageCounters {
    let mut t = UsageCounters::default();
    for m in series {
        t.add(&m.counters);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(act: i64, rel: i64, started: i64) -> UsageCounters {
        UsageCounters { seats_activated: act, seats_released: rel, courses_started: started, ..Default::default() }
    }

    #[test]
    fn months_step_across_years() {
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(months("2026-11", "2027-02"), ["2026-11", "2026-12", "2027-01", "2027-02"]);
        assert!(months("2027-01", "2026-12").is_empty());
    }

    #[test]
    fn series_fills_gaps_and_carries_seats_used() {
        let recorded = vec![
            ("2026-09".to_string(), c(5, 0, 0)),
            ("2026-11".to_string(), c(2, 1, 3)),
            ("2027-01".to_string(), c(0, 4, 1)),
        ];
        let s = monthly_series(&recorded, "2026-10", "2027-01");
        let used: Vec<i64> = s.iter().map(|m| m.seats_used).collect();
        assert_eq!(used, [5, 6, 6, 2]);
        assert_eq!(s[1].counters.courses_started, 3);
        assert_eq!(s[2].counters, UsageCounters::default());
        assert_eq!(totals(&s).courses_started, 4);
        assert_eq!(totals(&s).seats_activated, 2);
    }

    #[test]
    fn activity_event_ids_dedupe_per_member_and_course() {
        let u = UserId::parse("u1").unwrap();
        let start = MemberActivity::CourseStarted { course_id: "c1".into() };
        assert_eq!(start.event_id(&u), "course-started:u1:c1");
        assert_eq!(start.delta().courses_started, 1);
        let tokens = MemberActivity::TokensEarned { amount: 40, award_id: "awd_1".into() };
        assert_eq!(tokens.delta().tokens_earned, 40);
        assert_eq!(MemberActivity::TokensEarned { amount: -5, award_id: "x".into() }.delta().tokens_earned, 0);
    }
}
