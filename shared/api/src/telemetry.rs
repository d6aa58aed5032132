//! Structured JSON logs (tracing) and business metrics as CloudWatch Embedded Metric Format lines.
//!
//! Every request runs inside a span carrying `request_id` and, once authenticated, `user_id`, so
//! both appear on every log line. Never log secrets, tokens or card data.

use serde_json::json;
use std::sync::OnceLock;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let json = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false);
        let _ = tracing_subscriber::registry().with(json).with(log_filter(std::env::var("RUST_LOG").ok())).try_init();
    });
}

/// `RUST_LOG` as `target=level` directives and a bare default level (`info` when unset or
/// unreadable). `Targets`, not `EnvFilter`: the same syntax without span filters, and without
/// the regex engine `EnvFilter` brings into every binary.
fn log_filter(spec: Option<String>) -> Targets {
    spec.and_then(|s| s.parse().ok()).unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO))
}

pub const NAMESPACE: &str = "Azora";

/// The EMF document for one metric, as CloudWatch Logs extracts it.
pub fn emf_line(function: &str, name: &str, value: f64, unit: &str, timestamp_ms: i64) -> String {
    json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": [{ "Name": name, "Unit": unit }]
            }]
        },
        "Function": function,
        name: value
    })
    .to_string()
}

fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "local".into())
}

/// Emits a count metric (e.g. `PaymentsSucceeded`).
pub fn count(name: &str, value: u64) {
    // Real time, not the app's clock: CloudWatch drops metric points stamped far from its own time.
    let at = crate::state::Clock::wall_time().as_millisecond();
    println!("{}", emf_line(&function_name(), name, value as f64, "Count", at));
}

#[cfg(test)]
mod tests {
    #[test]
    fn rust_log_directives_choose_levels_per_target() {
        use tracing::Level;
        let filter = super::log_filter(Some("warn,azora_api=debug".into()));
        assert!(filter.would_enable("azora_api::lambda", &Level::DEBUG));
        assert!(!filter.would_enable("hyper", &Level::INFO));
        let default = super::log_filter(None);
        assert!(default.would_enable("anything", &Level::INFO));
        assert!(!default.would_enable("anything", &Level::DEBUG));
        let unreadable = super::log_filter(Some("=?=".into()));
        assert!(unreadable.would_enable("anything", &Level::INFO));
    }

    #[test]
    fn emf_line_has_the_documented_shape() {
        let line = super::emf_line("f", "PaymentsSucceeded", 2.0, "Count", 1000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "PaymentsSucceeded");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Azora");
        assert_eq!(v["PaymentsSucceeded"], 2.0);
        assert_eq!(v["Function"], "f");
    }
}
