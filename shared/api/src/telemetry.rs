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
        azora_store::reports::set_sink(business);
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

/// Namespace of the business metrics (the report counters, as they are committed).
pub const BUSINESS_NAMESPACE: &str = "Azora/Business";

/// The report counters that count events; the others are amounts in minor units.
const COUNT_METRICS: &[&str] = &[
    "paymentsSucceeded",
    "paymentsFailed",
    "refundsCount",
    "disputesOpened",
    "disputesLost",
    "payoutsCount",
    "subscriptionsNew",
    "subscriptionsChurned",
];

/// The EMF document of one committed set of report counters: every non-zero counter is a metric
/// (counts as `Count`, amounts in minor units as `None`), with the currency as the only dimension
/// and the month as a property.
pub fn business_line(
    month: &str,
    currency: azora_domain::Currency,
    counters: &azora_domain::reports::ReportCounters,
    timestamp_ms: i64,
) -> String {
    let mut doc = serde_json::Map::new();
    let mut metrics = Vec::new();
    for (name, value) in counters.fields() {
        if value != 0 {
            let unit = if COUNT_METRICS.contains(&name) { "Count" } else { "None" };
            metrics.push(json!({ "Name": name, "Unit": unit }));
            doc.insert(name.to_string(), json!(value));
        }
    }
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": BUSINESS_NAMESPACE,
                "Dimensions": [["Currency"]],
                "Metrics": metrics
            }]
        }),
    );
    doc.insert("Currency".into(), json!(currency.code()));
    doc.insert("month".into(), json!(month));
    serde_json::Value::Object(doc).to_string()
}

/// The report sink: one EMF line per committed event (installed by [`init`]).
fn business(at: jiff::Timestamp, currency: azora_domain::Currency, counters: &azora_domain::reports::ReportCounters) {
    // Real time stamps the metric (CloudWatch drops points far from its own time); the event's own
    // time names the month.
    let now = crate::state::Clock::wall_time().as_millisecond();
    println!("{}", business_line(&azora_domain::audit::month_of(at), currency, counters, now));
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
    fn business_line_has_one_metric_per_counted_value() {
        use azora_domain::reports::ReportCounters;
        let counters = ReportCounters {
            payments_succeeded: 1,
            revenue_gross: 1_000,
            revenue_instructor: 700,
            revenue_platform: 300,
            ..ReportCounters::default()
        };
        let line = super::business_line("2026-12", azora_domain::Currency::Usd, &counters, 1000);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(cw["Namespace"], "Azora/Business");
        assert_eq!(cw["Dimensions"], serde_json::json!([["Currency"]]));
        let metrics = cw["Metrics"].as_array().unwrap();
        assert_eq!(metrics.len(), 4, "only the non-zero counters: {line}");
        assert!(metrics.contains(&serde_json::json!({ "Name": "paymentsSucceeded", "Unit": "Count" })));
        assert!(metrics.contains(&serde_json::json!({ "Name": "revenueGross", "Unit": "None" })));
        let mrr =
            ReportCounters { subscriptions_new: 1, mrr_new: 1_200, mrr_change: 1_200, ..ReportCounters::default() };
        let movement: serde_json::Value =
            serde_json::from_str(&super::business_line("2026-12", azora_domain::Currency::Usd, &mrr, 1)).unwrap();
        let metrics = movement["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().clone();
        assert!(metrics.contains(&serde_json::json!({ "Name": "subscriptionsNew", "Unit": "Count" })));
        assert!(metrics.contains(&serde_json::json!({ "Name": "mrrNew", "Unit": "None" })));
        assert_eq!(v["_aws"]["Timestamp"], 1000);
        assert_eq!(v["Currency"], "USD");
        assert_eq!(v["month"], "2026-12");
        assert_eq!(v["revenueGross"], 1_000);
        assert_eq!(v["revenuePlatform"], 300);
        assert!(v.get("refundsAmount").is_none());
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
