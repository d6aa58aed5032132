//! Test clocks (`/v1/test_helpers/test_clocks`): create at a `frozen_time`, retrieve, list,
//! delete, and advance. Customers created with `test_clock` (and their subscriptions, invoices,
//! PaymentIntents and charges) live at the clock's time; advancing runs their renewals period by
//! period (see `billing::advance`) before the clock reports `ready`.
//! Events `test_helpers.test_clock.created`, `.advancing`, `.ready`, `.deleted`.

use serde_json::{Value, json};

use super::{overlay, s, set};
use crate::billing;
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::router::{Ctx, Method, Route};

const KIND: &str = "test_helpers.test_clock";
const LABEL: &str = "test_helpers.test_clock";
/// Stripe deletes a test clock 30 days after it was created.
const LIFETIME_SECONDS: i64 = 30 * 86_400;

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/test_helpers/test_clocks", &["frozen_time", "name", "customer"], create),
        Route::new(Method::Get, "/v1/test_helpers/test_clocks", &["ending_before", "limit", "starting_after"], list),
        Route::new(Method::Get, "/v1/test_helpers/test_clocks/{id}", &[], retrieve),
        Route::new(Method::Delete, "/v1/test_helpers/test_clocks/{id}", &[], delete),
        Route::new(Method::Post, "/v1/test_helpers/test_clocks/{id}/advance", &["frozen_time"], advance),
    ]
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, &["customer"])?;
    let frozen = crate::time::check_timestamp(ctx.params.required_i64("frozen_time")?, "frozen_time")?;
    let now = ctx.now();
    let mut clock = Value::Object(fixture(KIND)?);
    overlay(
        &mut clock,
        json!({
            "id": ids::new_id("clock"),
            "object": KIND,
            "created": now,
            "deletes_after": now + LIFETIME_SECONDS,
            "frozen_time": frozen,
            "livemode": false,
            "name": ctx.params.str("name")?,
            "status": "ready",
            "status_details": {},
        }),
    );
    ctx.save(&clock)?;
    ctx.emit("test_helpers.test_clock.created", &clock);
    Ok(clock)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let items: Vec<Value> = ctx.store.list(KIND, ctx.account()).into_iter().cloned().collect();
    list_response(items, "/v1/test_helpers/test_clocks", ctx.params)
}

fn advance(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let target = crate::time::check_timestamp(ctx.params.required_i64("frozen_time")?, "frozen_time")?;
    let clock = live(ctx, &id)?;
    let current = super::int(&clock, "frozen_time");
    if target <= current {
        return Err(ApiError::invalid_nocode(format!(
            "The frozen_time ({target}) must be after the test clock's current frozen_time ({current})."
        ))
        .param("frozen_time"));
    }
    billing::check_jump(ctx.store, Some(&id), target, "frozen_time")?;
    let mut advancing = clock.clone();
    set(&mut advancing, "status", json!("advancing"));
    set(&mut advancing, "status_details", json!({"advancing": {"target_frozen_time": target}}));
    ctx.save(&advancing)?;
    let source = ctx.meta.source();
    ctx.store.emit(&source.at(Some(current)), "test_helpers.test_clock.advancing", &advancing, None);

    // Everything on the clock runs in time order up to the target (synchronously: the clock is
    // `ready` when this answers).
    let base_url = ctx.meta.base_url.clone();
    let result = billing::advance(ctx.store, &base_url, Some(&id), target);
    let mut ready = ctx.load(KIND, LABEL, &id)?;
    set(&mut ready, "status", json!("ready"));
    set(&mut ready, "status_details", json!({}));
    if result.is_ok() {
        set(&mut ready, "frozen_time", json!(target));
    }
    ctx.save(&ready)?;
    result?;
    ctx.store.emit(&source.at(Some(target)), "test_helpers.test_clock.ready", &ready, None);
    Ok(ready)
}

fn delete(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    let clock = live(ctx, &id)?;
    // Stripe deletes everything on the clock with it: its customers and their subscriptions.
    for sub_id in billing::subscriptions_on_clock(ctx.store, &id) {
        if let Some(o) = ctx.store.stored_mut(&sub_id) {
            let status = s(&o.value, "status").to_string();
            if status != "canceled" && status != "incomplete_expired" {
                set(&mut o.value, "status", json!("canceled"));
            }
        }
    }
    let customers: Vec<String> = ctx
        .store
        .list("customer", ctx.account())
        .into_iter()
        .filter(|c| s(c, "test_clock") == id)
        .map(|c| s(c, "id").to_string())
        .collect();
    for customer in customers {
        let mut deleted = Value::Object(fixture("deleted_customer")?);
        set(&mut deleted, "id", json!(customer));
        ctx.save(&deleted)?;
    }
    let mut deleted = Value::Object(fixture("deleted_test_helpers.test_clock")?);
    set(&mut deleted, "id", json!(id));
    ctx.save(&deleted)?;
    ctx.emit("test_helpers.test_clock.deleted", &clock);
    Ok(deleted)
}

fn live(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let clock = ctx.load(KIND, LABEL, id)?;
    if clock.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::not_found(LABEL, id));
    }
    Ok(clock)
}
