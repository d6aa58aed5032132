//! Percentiles over recorded durations (nearest rank, no interpolation).

use serde_json::{Value, json};
use std::time::Duration;

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Rounds to microsecond precision for display and JSON.
pub fn round_ms(d: Duration) -> f64 {
    (ms(d) * 1000.0).round() / 1000.0
}

#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub min: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub mean: Duration,
}

/// The nearest-rank percentile `p` (0–100) of sorted samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Summary {
    pub fn of(samples: &[Duration]) -> Summary {
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let total: Duration = sorted.iter().sum();
        let count = sorted.len();
        Summary {
            count,
            min: sorted.first().copied().unwrap_or_default(),
            p50: percentile(&sorted, 50.0),
            p90: percentile(&sorted, 90.0),
            p99: percentile(&sorted, 99.0),
            max: sorted.last().copied().unwrap_or_default(),
            mean: if count == 0 { Duration::ZERO } else { Duration::from_secs_f64(total.as_secs_f64() / count as f64) },
        }
    }

    pub fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "min_ms": round_ms(self.min),
            "p50_ms": round_ms(self.p50),
            "p90_ms": round_ms(self.p90),
            "p99_ms": round_ms(self.p99),
            "max_ms": round_ms(self.max),
            "mean_ms": round_ms(self.mean),
        })
    }
}
