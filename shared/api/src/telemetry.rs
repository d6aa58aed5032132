//! Structured JSON logs (tracing) and business metrics as CloudWatch Embedded Metric Format lines.
//!
//! Every request runs inside a span carrying `request_id` and, once authenticated, `user_id`, so
//! both appear on every log line. Never log secrets, tokens or card data.

use serde_json::json;
use std::sync::OnceLock;
use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(false)
            .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
            .try_init();
    });
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
    fn emf_line_has_the_documented_shape() {
        let line = super::emf_line("f", "PaymentsSucceeded", 2.0, "Count", 1000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "PaymentsSucceeded");
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Azora");
        assert_eq!(v["PaymentsSucceeded"], 2.0);
        assert_eq!(v["Function"], "f");
    }
}
