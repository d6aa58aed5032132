//! Payment endpoints: process (pay for an order), history, one payment, its receipt, refunds.

use crate::audit;
use crate::auth::Principal;
use crate::checkout::{self, Charged, Order};
use crate::error::ApiError;
use crate::http::{self, HttpResult, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::idempotency::derived_id;
use crate::payments::receipt_of;
use crate::refunds::{RefundAsk, request_refund};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::UserId;
use azora_domain::course::check_course_ref;
use azora_domain::payment::{OrderItem, Payment, Refund};
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ProcessRequest {
    items: Vec<ItemRequest>,
    payment_method_id: Option<String>,
    /// A course voucher bought with tokens (`POST /api/tokens/redeem`), used by this payment.
    voucher_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ItemRequest {
    Course {
        #[serde(rename = "courseId")]
        course_id: String,
    },
}

/// `POST /api/payments/process`: prices the order from the catalog and creates the PaymentIntent.
pub async fn process(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: ProcessRequest = json_body(&req)?;
    if let Some(pm) = &body.payment_method_id {
        validate_payment_method(pm)?;
    }
    let key = idempotency::key(&req)?;
    let course_ids: Vec<String> = body
        .items
        .iter()
        .map(|i| match i {
            ItemRequest::Course { course_id } => course_id.clone(),
        })
        .collect();
    for id in &course_ids {
        check_course_ref("items.courseId", id)?;
    }
    if let Some(v) = &body.voucher_id
        && (v.is_empty() || v.len() > 64 || !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    {
        return Err(ApiError::bad_request("validation_failed", "voucherId is not a valid id")
            .with_details(json!({ "field": "voucherId" })));
    }
    let ip = http::source_ip(&req);
    idempotency::once(&state, &req, &principal, || async {
        let payment_id = derived_id("pay", &principal, &key);
        let order = Order {
            payment_id: &payment_id,
            course_ids: &course_ids,
            voucher_id: body.voucher_id.as_deref(),
            payment_method: body.payment_method_id.as_deref(),
            source_ip: &ip,
        };
        charged_response(checkout::pay(&state, &principal, order).await?)
    })
    .await
}

/// The `paymentMethodId` of a checkout request (`pm_...`), checked before anything is written.
pub(super) fn validate_payment_method(pm: &str) -> Result<(), ApiError> {
    let valid = pm.starts_with("pm_") && pm.len() <= 255 && pm.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::bad_request("validation_failed", "paymentMethodId must look like pm_...")
            .with_details(json!({ "field": "paymentMethodId" })))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChargeResponse<'a> {
    payment_id: &'a str,
    status: &'a str,
    amount: i64,
    currency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_action: Option<String>,
    /// With a voucher: the voucher, the discount and the list total before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    voucher: Option<serde_json::Value>,
}

/// 201 with what the client needs next (both checkout routes answer alike).
pub(super) fn charged_response(c: Charged) -> HttpResult {
    http::json(
        StatusCode::CREATED,
        &ChargeResponse {
            payment_id: &c.payment.id,
            status: c.status.as_str(),
            amount: c.payment.amount.amount,
            currency: c.payment.amount.currency.code(),
            client_secret: c.client_secret,
            next_action: c.next_action,
            voucher: c.voucher.map(
                |v| json!({ "voucherId": v.voucher_id, "discount": v.discount.amount, "listAmount": v.list_amount }),
            ),
        },
    )
}

/// Loads a payment the caller may see; anyone else gets the same 404 as for a missing one.
async fn visible_payment(state: &AppState, principal: &Principal, payment_id: &str) -> Result<Payment, ApiError> {
    let payment = state.store.get_payment(payment_id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    if payment.user_id != principal.user_id && !principal.is_admin() {
        return Err(ApiError::not_found("payment"));
    }
    Ok(payment)
}

fn payment_json(p: &Payment, refunds: Option<&[Refund]>) -> serde_json::Value {
    let mut v = json!({
        "paymentId": p.id,
        "userId": p.user_id,
        "status": p.status.as_str(),
        "amount": p.amount.amount,
        "currency": p.amount.currency.code(),
        "refundedAmount": p.refunded,
        "items": p.items.iter().map(|i| match i {
            OrderItem::Course { course_id, title, price, .. } => json!({
                "type": "course", "courseId": course_id, "title": title, "amount": price.amount
            }),
        }).collect::<Vec<_>>(),
        "receiptNumber": p.receipt_number,
        "fulfilled": p.fulfilled_at.is_some(),
        "createdAt": p.created_at.to_string(),
        "paidAt": p.paid_at.map(|t| t.to_string()),
    });
    if let (Some(refunds), Some(obj)) = (refunds, v.as_object_mut()) {
        obj.insert(
            "refunds".into(),
            refunds
                .iter()
                .map(|r| {
                    json!({
                        "refundId": r.id, "amount": r.amount.amount, "status": r.status.as_str(),
                        "reason": r.reason, "createdAt": r.created_at.to_string()
                    })
                })
                .collect(),
        );
    }
    v
}

/// `GET /api/payments/history?limit=&cursor=` (admins may add `userId`).
pub async fn history(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let user = match query(&req, "userId") {
        Some(other) if other != principal.user_id.as_str() => {
            if !principal.is_admin() {
                return Err(ApiError::forbidden("forbidden", "Only admins may read another user's payments."));
            }
            UserId::parse(other)?
        }
        _ => principal.user_id.clone(),
    };
    let page = state.store.list_payments(&user, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<_> = page.items.iter().map(|p| payment_json(p, None)).collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

/// `GET /api/payments/{paymentId}`: owner or admin.
pub async fn get(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let payment = visible_payment(&state, &principal, &path_param(&req, "paymentId")?).await?;
    let refunds = state.store.list_refunds(&payment.id).await?;
    ok(&payment_json(&payment, Some(&refunds)))
}

/// `GET /api/payments/{paymentId}/receipt[?format=html|pdf|json]`: the receipt, once the payment
/// succeeded, for its buyer and admins (another user's answers 404 like a missing one): an HTML
/// page (the default), a PDF download or the JSON document they are both rendered from.
pub async fn receipt(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let format = query(&req, "format");
    let format = match format.as_deref() {
        None | Some("html") => "html",
        Some("pdf") => "pdf",
        Some("json") => "json",
        Some(_) => {
            return Err(ApiError::bad_request("validation_failed", "format must be html, pdf or json.")
                .with_details(json!({ "field": "format" })));
        }
    };
    let payment = visible_payment(&state, &principal, &path_param(&req, "paymentId")?).await?;
    let receipt = receipt_of(&state, &payment).await?.ok_or_else(|| {
        ApiError::conflict("receipt_not_ready", "The receipt is issued once the payment has succeeded.")
    })?;
    match format {
        "pdf" => http::file("application/pdf", &format!("{}.pdf", receipt.number), receipt.pdf()),
        "json" => ok(&json!({ "receipt": receipt, "netPaid": receipt.net_paid() })),
        _ => http::html(receipt.html()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RefundBody {
    payment_id: String,
    #[serde(default, deserialize_with = "azora_domain::json_integer::optional")]
    amount: Option<i64>,
    reason: String,
}

const REFUND_REASONS: &[&str] =
    &["requested_by_customer", "duplicate", "fraudulent", "course_not_as_described", "other"];

/// `POST /api/payments/refund`: full or partial; buyers within the refund window, admins any time.
pub async fn refund(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: RefundBody = json_body(&req)?;
    if !REFUND_REASONS.contains(&body.reason.as_str()) {
        return Err(ApiError::bad_request("validation_failed", format!("reason must be one of {REFUND_REASONS:?}"))
            .with_details(json!({ "field": "reason" })));
    }
    let key = idempotency::key(&req)?;
    idempotency::once(&state, &req, &principal, || async {
        let payment = visible_payment(&state, &principal, &body.payment_id).await?;
        let ask = RefundAsk {
            refund_id: derived_id("ref", &principal, &key),
            amount: body.amount,
            reason: &body.reason,
            by: &principal,
        };
        let refund = request_refund(&state, &payment, ask).await?;
        audit::record(
            &state,
            &principal,
            &http::request_id(&req),
            "payment.refund",
            &format!("payment:{}", payment.id),
            json!({ "refundId": refund.id, "amount": refund.amount.amount, "currency": refund.amount.currency, "reason": refund.reason }),
        )
        .await?;
        let payment = state.store.get_payment(&payment.id).await?.unwrap_or(payment);
        http::json(
            StatusCode::CREATED,
            &json!({
                "refundId": refund.id,
                "paymentId": payment.id,
                "amount": refund.amount.amount,
                "currency": refund.amount.currency,
                "status": refund.status.as_str(),
                "paymentStatus": payment.status.as_str(),
                "refundedAmount": payment.refunded,
            }),
        )
    })
    .await
}
