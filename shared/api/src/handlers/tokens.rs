//! Token endpoints: award (admins and the learning platform), balance, history, the redemption
//! catalog and redeeming.

use crate::auth::Principal;
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, query};
use crate::idempotency;
use crate::idempotency::derived_id;
use crate::rewards::wallet;
use crate::rewards::{self, CompletionEvent, ManualAward, entry_json};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::course::check_course_ref;
use azora_domain::notification::EmailAddress;
use azora_domain::streak::{is_zone_name_shaped, parse_time_zone};
use azora_domain::tokens::{MAX_MANUAL_AMOUNT, Voucher, completion_source, validate_source_key};
use azora_domain::{Role, UserId};
use azora_store::tokens::Applied;
use jiff::Timestamp;
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

pub const COURSE_COMPLETION: &str = "course_completion";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AwardRequest {
    user_id: String,
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
    amount: Option<i64>,
    reason: String,
    course_id: Option<String>,
    source_key: Option<String>,
    /// Course completions: the learner's IANA time zone (else the last one stored, else UTC).
    time_zone: Option<String>,
    /// Course completions: when the learner finished (default: now).
    completed_at: Option<Timestamp>,
    /// Where award digests go (else the last address stored for the user).
    email: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::bad_request("validation_failed", message).with_details(json!({ "field": field }))
}

fn validate_reason(reason: &str) -> Result<(), ApiError> {
    let ok = !reason.is_empty()
        && reason.len() <= 64
        && reason.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok { Ok(()) } else { Err(invalid("reason", "reason must be 1 to 64 characters of a-z, 0-9 and _")) }
}

fn validate_course_id(id: &str) -> Result<(), ApiError> {
    Ok(check_course_ref("courseId", id)?)
}

/// `POST /api/tokens/award`. `reason: "course_completion"` (roles service or admin) queues the
/// completion for the rewards worker (202); any other reason is a manual award by an admin with
/// an explicit amount (negative: an `adjust` debit), idempotent and audited (201).
pub async fn award(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Admin, Role::Service])?;
    let body: AwardRequest = json_body(&req)?;
    let user = UserId::parse(body.user_id.clone())?;
    validate_reason(&body.reason)?;
    if let Some(email) = &body.email {
        EmailAddress::parse(email.clone())?;
    }
    if body.reason == COURSE_COMPLETION {
        // Completions are idempotent by their source key; a key sent anyway must still be well formed.
        if http::header(&req, "idempotency-key").is_some() {
            idempotency::key(&req)?;
        }
        return queue_completion(&state, &user, body).await;
    }
    principal.require_any(&[Role::Admin])?;
    let amount = body.amount.ok_or_else(|| invalid("amount", "amount is required for manual awards"))?;
    if amount == 0 || amount.abs() > MAX_MANUAL_AMOUNT {
        return Err(invalid("amount", format!("amount must be non-zero and at most {MAX_MANUAL_AMOUNT} in size")));
    }
    if body.time_zone.is_some() || body.completed_at.is_some() {
        return Err(invalid("timeZone", "timeZone and completedAt apply to course completions only"));
    }
    if let Some(course_id) = &body.course_id {
        validate_course_id(course_id)?;
    }
    if let Some(source) = &body.source_key {
        validate_source_key(source)?;
    }
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || manual_award(&state, &req, &principal, &user, &body, amount, &key))
        .await
}

async fn queue_completion(state: &AppState, user: &UserId, body: AwardRequest) -> HttpResult {
    let course_id = body.course_id.ok_or_else(|| invalid("courseId", "courseId is required for course_completion"))?;
    validate_course_id(&course_id)?;
    if body.amount.is_some() {
        return Err(invalid("amount", "completion awards are computed by the server; omit amount"));
    }
    if body.source_key.is_some() {
        return Err(invalid("sourceKey", "completion awards use the source key completion#<courseId>"));
    }
    if let Some(zone) = &body.time_zone {
        parse_time_zone(zone).map_err(|e| {
            if is_zone_name_shaped(zone) {
                ApiError::unprocessable("unknown_time_zone", e.message).with_details(json!({ "field": "timeZone" }))
            } else {
                e.into()
            }
        })?;
    }
    let event = CompletionEvent {
        user_id: user.clone(),
        course_id: course_id.clone(),
        completed_at: body.completed_at.unwrap_or(state.clock.now()),
        time_zone: body.time_zone,
        email: body.email,
    };
    rewards::report_completion(state, &event).await?;
    http::json(
        StatusCode::ACCEPTED,
        &json!({ "status": "queued", "userId": user, "courseId": course_id, "sourceKey": completion_source(&course_id) }),
    )
}

async fn manual_award(
    state: &AppState,
    req: &Request,
    principal: &Principal,
    user: &UserId,
    body: &AwardRequest,
    amount: i64,
    key: &str,
) -> HttpResult {
    let source = body.source_key.clone().unwrap_or_else(|| format!("manual#{key}"));
    let award = ManualAward {
        user,
        source_key: &source,
        amount,
        reason: &body.reason,
        details: json!({ "awardedBy": principal.user_id, "courseId": body.course_id }),
        email: body.email.as_deref(),
    };
    match rewards::award_by(state, principal, &http::request_id(req), award).await? {
        Applied::Written { entry, .. } => {
            http::json(StatusCode::CREATED, &json!({ "duplicate": false, "entry": entry_json(&entry) }))
        }
        Applied::Duplicate { entry } => {
            http::json(StatusCode::OK, &json!({ "duplicate": true, "entry": entry.as_ref().map(entry_json) }))
        }
    }
}

fn voucher_json(v: &Voucher) -> Value {
    json!({
        "voucherId": v.id,
        "rewardId": v.reward_id,
        "discount": v.discount,
        "status": v.status.as_str(),
        "paymentId": v.payment_id,
        "createdAt": v.created_at.to_string(),
    })
}

/// `GET /api/tokens/balance`: balance, lifetime totals, streaks, vouchers and the Pro credit.
pub async fn balance(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let w = wallet::wallet(&state, &principal.user_id).await?;
    ok(&json!({
        "userId": principal.user_id,
        "balance": w.account.balance,
        "lifetimeEarned": w.account.lifetime_earned,
        "lifetimeRedeemed": w.account.lifetime_redeemed,
        "currentStreak": w.current_streak,
        "longestStreak": w.account.streak.longest,
        "lastActivityDay": w.account.streak.last_day.map(|d| d.to_string()),
        "timeZone": w.time_zone,
        "earnedThisWeek": w.earned_this_week,
        "vouchers": w.vouchers.iter().map(voucher_json).collect::<Vec<_>>(),
        "proCreditUntil": w.pro_credit_until.map(|t| t.to_string()),
    }))
}

/// `GET /api/tokens/history?limit=&cursor=`: the caller's ledger, newest first.
pub async fn history(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let page =
        wallet::history(&state, &principal.user_id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    ok(&json!({ "items": page.items.iter().map(entry_json).collect::<Vec<_>>(), "nextCursor": page.next_cursor }))
}

/// `GET /api/tokens/rewards`: the redemption catalog.
pub async fn rewards(req: Request, state: Arc<AppState>) -> HttpResult {
    state.authenticate(&req)?;
    ok(&json!({ "items": wallet::catalog(&state)? }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RedeemRequest {
    reward_id: String,
}

/// `POST /api/tokens/redeem`: debits the reward's cost (never below zero) and creates the voucher
/// or extends the Pro credit in the same transaction. Idempotent by `Idempotency-Key`, which is
/// also the ledger source key `redeem#<key>`: a key redeems once, ever.
pub async fn redeem(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: RedeemRequest = json_body(&req)?;
    // An unknown reward is refused before the key is checked or stored.
    let reward = wallet::reward(&state, &body.reward_id)?;
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let voucher_id = derived_id("vch", &principal, &key);
        let r = wallet::redeem_reward(&state, &principal.user_id, &reward, &key, &voucher_id).await?;
        let mut out = json!({
            "entry": entry_json(&r.entry),
            "rewardId": r.entry.details["rewardId"],
            "cost": -r.entry.delta,
            "balance": r.entry.balance_after,
        });
        if r.entry.details["voucherId"].is_string() {
            out["voucher"] = r.voucher.as_ref().map(voucher_json).unwrap_or(Value::Null);
        } else {
            out["proCreditUntil"] = json!(r.pro_credit_until.map(|t| t.to_string()));
        }
        http::json(if r.new { StatusCode::CREATED } else { StatusCode::OK }, &out)
    })
    .await
}
