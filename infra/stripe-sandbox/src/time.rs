//! Calendar arithmetic in UTC for billing periods (no time-zone database: Stripe bills in UTC
//! unless told otherwise), and the proration rounding.

const DAY: i64 = 86_400;

/// The latest timestamp the sandbox accepts (9999-12-31T23:59:59Z); later ones are refused so
/// calendar arithmetic stays far from overflow.
pub const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// A timestamp parameter within `0..=MAX_TIMESTAMP`, or Stripe's "Invalid timestamp" error.
pub fn check_timestamp(ts: i64, param: &str) -> crate::error::ApiResult<i64> {
    if (0..=MAX_TIMESTAMP).contains(&ts) {
        Ok(ts)
    } else {
        Err(crate::error::ApiError::invalid_nocode(format!(
            "Invalid timestamp: must be an integer Unix timestamp between 0 and {MAX_TIMESTAMP} (got {ts})."
        ))
        .param(param))
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month 1–12, day 1–31) of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// `ts` plus `months` calendar months, keeping the time of day; the day of the month is that of
/// `ts`, clamped to the end of shorter months (Jan 31 + 1 month = Feb 28/29).
fn add_months(ts: i64, months: i64) -> i64 {
    let ts = ts.clamp(-MAX_TIMESTAMP, MAX_TIMESTAMP);
    let (y, m, d) = civil_from_days(ts.div_euclid(DAY));
    let seconds = ts.rem_euclid(DAY);
    let total = y * 12 + (m - 1) + months;
    let (ny, nm) = (total.div_euclid(12), total.rem_euclid(12) + 1);
    let nd = d.min(days_in_month(ny, nm));
    days_from_civil(ny, nm, nd) * DAY + seconds
}

/// The end of the `n`th billing period after `anchor` (`n` = 1 is the end of the first), as Stripe
/// computes it: always from the anchor, so a subscription anchored on Jan 31 renews on Feb 28,
/// then Mar 31.
pub fn period_boundary(anchor: i64, interval: &str, count: i64, n: i64) -> i64 {
    let steps = count.saturating_mul(n);
    match interval {
        "day" => anchor.saturating_add(DAY.saturating_mul(steps)),
        "week" => anchor.saturating_add((7 * DAY).saturating_mul(steps)),
        "year" => add_months(anchor, steps.saturating_mul(12).clamp(-120_000, 120_000)),
        _ => add_months(anchor, steps.clamp(-120_000, 120_000)),
    }
}

/// `15 Jan 2026`, as Stripe writes dates in invoice line descriptions.
pub fn format_date(ts: i64) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (y, m, d) = civil_from_days(ts.div_euclid(DAY));
    let month = MONTHS.get((m - 1) as usize).copied().unwrap_or("Jan");
    format!("{d} {month} {y}")
}

/// `amount × numerator / denominator`, rounded to the nearest integer with halves away from zero,
/// in exact integer arithmetic (the proration of an amount to a fraction of a period, in seconds).
pub fn prorate(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let negative = amount < 0;
    let scaled = i128::from(amount).abs() * i128::from(numerator.clamp(0, denominator));
    let rounded = (2 * scaled + i128::from(denominator)) / (2 * i128::from(denominator));
    let value = i64::try_from(rounded).unwrap_or(i64::MAX);
    if negative { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-1_000_000, -1, 0, 1, 19_000, 20_454, 1_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2026-01-31T12:00:00Z
        assert_eq!(days_from_civil(2026, 1, 31) * DAY, 1_769_817_600);
    }

    #[test]
    fn months_clamp_to_month_end_from_the_anchor() {
        let jan31 = days_from_civil(2026, 1, 31) * DAY + 3600;
        let feb = period_boundary(jan31, "month", 1, 1);
        assert_eq!(civil_from_days(feb.div_euclid(DAY)), (2026, 2, 28));
        assert_eq!(feb.rem_euclid(DAY), 3600);
        let mar = period_boundary(jan31, "month", 1, 2);
        assert_eq!(civil_from_days(mar.div_euclid(DAY)), (2026, 3, 31));
        let leap = period_boundary(days_from_civil(2024, 2, 29) * DAY, "year", 1, 1);
        assert_eq!(civil_from_days(leap.div_euclid(DAY)), (2025, 2, 28));
        assert_eq!(period_boundary(0, "week", 2, 1), 14 * DAY);
        assert_eq!(period_boundary(0, "day", 1, 3), 3 * DAY);
        assert_eq!(format_date(jan31), "31 Jan 2026");
    }

    #[test]
    fn proration_rounds_half_away_from_zero() {
        assert_eq!(prorate(1000, 1, 2), 500);
        assert_eq!(prorate(1001, 1, 2), 501);
        assert_eq!(prorate(-1001, 1, 2), -501);
        assert_eq!(prorate(999, 1, 3), 333);
        assert_eq!(prorate(1000, 2, 3), 667);
        assert_eq!(prorate(1000, 5, 0), 0);
        assert_eq!(prorate(1000, 7, 5), 1000, "never more than the whole period");
    }
}
