//! Events: `GET /v1/events/{id}` and `GET /v1/events` (newest first; `type` with a `*` wildcard,
//! `types[]`, `created`, cursors). Events are created by the other resources through
//! [`Ctx::emit`](crate::router::Ctx::emit).

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::listing::list_response;
use crate::router::{Ctx, Method, Route};

const LIST: &[&str] = &["created", "delivery_success", "ending_before", "limit", "starting_after", "type", "types"];

pub fn routes() -> Vec<Route> {
    vec![Route::new(Method::Get, "/v1/events", LIST, list), Route::new(Method::Get, "/v1/events/{id}", &[], retrieve)]
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0);
    ctx.store.event_for(id, ctx.account()).cloned().ok_or_else(|| ApiError::not_found("event", id))
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let single = ctx.params.str("type")?;
    let many = ctx.params.str_list("types")?;
    if single.is_some() && many.is_some() {
        return Err(ApiError::invalid(
            "parameters_exclusive",
            "You may only specify one of these parameters: type, types.",
        ));
    }
    let patterns: Vec<String> = single.map(|t| vec![t]).or(many).unwrap_or_default();
    let delivered = ctx.params.bool("delivery_success")?;
    let items: Vec<Value> = ctx
        .store
        .events_for(ctx.account())
        .into_iter()
        .filter(|e| {
            let t = e.get("type").and_then(Value::as_str).unwrap_or("");
            patterns.is_empty() || patterns.iter().any(|p| type_matches(p, t))
        })
        .filter(|e| match delivered {
            None => true,
            Some(d) => (e.get("pending_webhooks").and_then(Value::as_i64) == Some(0)) == d,
        })
        .cloned()
        .collect();
    list_response(items, "/v1/events", ctx.params)
}

/// `payment_intent.*` matches `payment_intent.succeeded`; otherwise an exact match.
fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

#[cfg(test)]
mod tests {
    use super::type_matches;

    #[test]
    fn wildcards() {
        assert!(type_matches("payment_intent.*", "payment_intent.succeeded"));
        assert!(!type_matches("payment_intent.*", "charge.succeeded"));
        assert!(type_matches("charge.refunded", "charge.refunded"));
        assert!(!type_matches("charge.refunded", "charge.refund.updated"));
    }
}
