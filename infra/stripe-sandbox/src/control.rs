//! The control API under `/_sandbox/` (no authentication): configuration, the event log and
//! manual webhook deliveries, the request log, reset, and the steps a customer takes in the
//! browser (confirming with Stripe.js, passing or failing 3-D Secure).
//!
//! Bodies are JSON (form encoding is accepted too); answers are JSON; errors are Stripe-shaped.

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use serde_json::{Map, Value, json};

use crate::billing;
use crate::error::{ApiError, ApiResult};
use crate::params::{Params, value_bool, value_i64, value_str};
use crate::records::DeliverOptions;
use crate::resources::accounts::{self, LinkOutcome};
use crate::resources::disputes;
use crate::resources::payment_intents::{self, ConfirmArgs};
use crate::resources::payment_methods;
use crate::resources::setup_intents::{self, SetupConfirmArgs};
use crate::sandbox::Shared;
use crate::server::{error_response, json_response};
use crate::store::{API_VERSION, EventSource};
use crate::{ids, webhooks};

pub(crate) async fn handle(
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &Bytes,
) -> Response<Full<Bytes>> {
    let segments: Vec<&str> = path.trim_start_matches("/_sandbox").split('/').filter(|s| !s.is_empty()).collect();
    if let (Some(&"3ds"), Some(id), 2, "GET") = (segments.first(), segments.get(1), segments.len(), method) {
        return three_d_secure_page(shared, id, query);
    }
    if let (["connect", "onboarding", token], "GET") = (segments.as_slice(), method) {
        return onboarding_page(shared, token, query);
    }
    if let (["invoices", id], "GET") = (segments.as_slice(), method) {
        return invoice_page(shared, id);
    }
    let result = match parse_body(body) {
        Err(e) => Err(e),
        Ok(input) => route(shared, method, &segments, &input).await,
    };
    match result {
        Ok(value) => json_response(200, &value, &[]),
        Err(e) => error_response(&e, None),
    }
}

async fn route(shared: &Shared, method: &str, segments: &[&str], input: &Map<String, Value>) -> ApiResult<Value> {
    match (method, segments) {
        ("GET", [] | ["health"]) => Ok(json!({"ok": true, "api_version": API_VERSION, "baseUrl": shared.base_url()})),
        ("GET", ["config"]) => config_json(shared),
        ("POST", ["config"]) => {
            update_config(shared, input)?;
            config_json(shared)
        }
        ("GET", ["events"]) => {
            let events = shared.lock().events().to_vec();
            Ok(json!({"object": "list", "data": events}))
        }
        ("POST", ["events", id, "deliver"]) => {
            let options: DeliverOptions = serde_json::from_value(Value::Object(input.clone()))
                .map_err(|e| ApiError::invalid_nocode(format!("Invalid delivery options: {e}")))?;
            let attempts = webhooks::deliver_manual(shared, id, &options).await?;
            let statuses: Vec<Option<u16>> = attempts.iter().map(|a| a.status).collect();
            Ok(json!({"statuses": statuses, "attempts": attempts}))
        }
        ("GET", ["deliveries"]) => {
            let deliveries = shared.lock().deliveries.clone();
            Ok(json!({"object": "list", "data": deliveries}))
        }
        ("GET", ["requests"]) => {
            let requests = shared.lock().requests.clone();
            Ok(json!({"object": "list", "data": requests}))
        }
        ("POST", ["dns", "txt"]) => {
            let name = crate::dns::normalize(&value_str(input.get("name").unwrap_or(&Value::Null), "name")?);
            let values: Vec<String> = match input.get("values") {
                Some(Value::Array(values)) => {
                    values.iter().map(|v| value_str(v, "values")).collect::<ApiResult<Vec<String>>>()?
                }
                _ => return Err(ApiError::invalid_nocode("values must be a list of strings.")),
            };
            let mut store = shared.lock();
            if values.is_empty() {
                store.dns_txt.remove(&name);
            } else {
                store.dns_txt.insert(name.clone(), values.clone());
            }
            Ok(json!({"name": name, "values": values}))
        }
        ("POST", ["reset"]) => {
            shared.lock().reset();
            Ok(json!({"ok": true}))
        }
        ("POST", ["payment_intents", id, "confirm"]) => {
            let params = Params::from_json(&Value::Object(input.clone()));
            let args = ConfirmArgs {
                payment_method: params.str("payment_method")?,
                return_url: params.str("return_url")?,
                from_client: true,
                ..ConfirmArgs::default()
            };
            let source = client_source(input)?;
            let base = shared.base_url();
            let mut store = shared.lock();
            let result = payment_intents::confirm_intent(&mut store, &source, &base, id, args);
            shared.dispatch(&mut store);
            result
        }
        ("POST", ["setup_intents", id, "confirm"]) => {
            let params = Params::from_json(&Value::Object(input.clone()));
            let args = SetupConfirmArgs {
                payment_method: params.str("payment_method")?,
                return_url: params.str("return_url")?,
                from_client: true,
                ..SetupConfirmArgs::default()
            };
            let source = client_source(input)?;
            let base = shared.base_url();
            let mut store = shared.lock();
            let result = setup_intents::confirm_intent(&mut store, &source, &base, id, args);
            shared.dispatch(&mut store);
            result
        }
        ("POST", ["setup_intents", id, "authenticate"]) => {
            let succeed = match input.get("succeed") {
                Some(v) => value_bool(v, "succeed")?,
                None => true,
            };
            let account = stripe_account(input)?;
            let mut store = shared.lock();
            let result = setup_intents::authenticate(&mut store, account.as_deref(), id, succeed);
            shared.dispatch(&mut store);
            result
        }
        ("POST", ["payment_methods", id, "expiry"]) => {
            let month = input.get("exp_month").map(|v| value_i64(v, "exp_month")).transpose()?;
            let year = input.get("exp_year").map(|v| value_i64(v, "exp_year")).transpose()?;
            let (Some(month), Some(year)) = (month, year) else {
                return Err(ApiError::missing_param("exp_month"));
            };
            let account = stripe_account(input)?;
            let mut store = shared.lock();
            let result = payment_methods::set_expiry(&mut store, account.as_deref(), id, month, year);
            shared.dispatch(&mut store);
            result
        }
        ("GET", ["clock"]) => Ok(billing::clock_json(&shared.lock())),
        ("POST", ["clock", "advance"]) => {
            let mut store = shared.lock();
            let now = store.now();
            let target = match (input.get("seconds"), input.get("to")) {
                (Some(_), Some(_)) => {
                    return Err(ApiError::invalid_nocode("Pass either `seconds` or `to`, not both."));
                }
                (Some(v), None) => {
                    let seconds = value_i64(v, "seconds")?;
                    if seconds < 0 {
                        return Err(ApiError::invalid_nocode(
                            "The sandbox clock only moves forward: `seconds` must be at least 0.",
                        )
                        .param("seconds"));
                    }
                    now.saturating_add(seconds)
                }
                (None, Some(v)) => {
                    let to = value_i64(v, "to")?;
                    if to < now {
                        return Err(ApiError::invalid_nocode(format!(
                            "The sandbox clock only moves forward: `to` must be at least {now}."
                        ))
                        .param("to"));
                    }
                    to
                }
                (None, None) => return Err(ApiError::missing_param("seconds")),
            };
            let target = crate::time::check_timestamp(target, "seconds")?;
            billing::check_jump(&store, None, target, "seconds")?;
            let result = billing::advance(&mut store, &shared.base_url(), None, target);
            shared.dispatch(&mut store);
            result?;
            Ok(billing::clock_json(&store))
        }
        ("POST", ["customers", id, "fail_charges"]) => {
            let fail = match input.get("fail") {
                Some(v) => value_bool(v, "fail")?,
                None => true,
            };
            billing::set_customer_fails(&mut shared.lock(), id, fail)
        }
        ("POST", ["accounts", id, "complete_onboarding"]) => {
            let mut store = shared.lock();
            let result = accounts::complete_onboarding(&mut store, id);
            shared.dispatch(&mut store);
            result
        }
        ("GET", ["accounts", id, "balance"]) => accounts::balance_json(&shared.lock(), id),
        ("GET", ["balance"]) => crate::resources::transfers::platform_balance_json(&shared.lock()),
        ("POST", ["accounts", id, "balance"]) => {
            let mut store = shared.lock();
            let account = accounts::connected(&store, id).ok_or_else(|| ApiError::not_found("account", id))?;
            let currency = match input.get("currency") {
                Some(v) => crate::money::currency(&value_str(v, "currency")?, "currency")?,
                None => account.get("default_currency").and_then(Value::as_str).unwrap_or("usd").to_string(),
            };
            let amount = |key: &str| input.get(key).map(|v| value_i64(v, key)).transpose();
            let (available, pending) = (amount("available")?, amount("pending")?);
            if available.is_none() && pending.is_none() {
                return Err(ApiError::missing_param("available"));
            }
            accounts::set_balance(&mut store, id, &currency, available, pending);
            accounts::balance_json(&store, id)
        }
        ("POST", ["charges", id, "dispute"]) => {
            let amount = input.get("amount").map(|v| value_i64(v, "amount")).transpose()?;
            let reason = input.get("reason").map(|v| value_str(v, "reason")).transpose()?;
            let mut store = shared.lock();
            let result = disputes::open(&mut store, id, amount, reason.as_deref());
            shared.dispatch(&mut store);
            result
        }
        ("POST", ["disputes", id, "close"]) => {
            let won = match input.get("outcome").and_then(Value::as_str) {
                Some("won") => true,
                Some("lost") => false,
                _ => return Err(ApiError::invalid_nocode("Pass `outcome`: `won` or `lost`.").param("outcome")),
            };
            let mut store = shared.lock();
            let result = disputes::close(&mut store, id, won);
            shared.dispatch(&mut store);
            result
        }
        ("POST", ["payment_intents", id, "authenticate"]) => {
            let succeed = match input.get("succeed") {
                Some(v) => value_bool(v, "succeed")?,
                None => true,
            };
            let account = stripe_account(input)?;
            let mut store = shared.lock();
            let result = payment_intents::authenticate(&mut store, account.as_deref(), id, succeed);
            shared.dispatch(&mut store);
            result
        }
        _ => Err(ApiError::new(
            404,
            crate::error::ErrorType::InvalidRequest,
            None,
            format!("Unrecognized sandbox control URL ({method}: /_sandbox/{}).", segments.join("/")),
        )),
    }
}

/// `"stripeAccount": "acct_…"` for objects of a connected account.
/// The event source of a confirmation the control API makes on the client's behalf (Stripe.js's
/// confirm): a fresh request id, no idempotency key, the connected account if one is named.
fn client_source(input: &Map<String, Value>) -> ApiResult<EventSource> {
    Ok(EventSource {
        request_id: Some(ids::new_id("req")),
        idempotency_key: None,
        account: stripe_account(input)?,
        at: None,
    })
}

fn stripe_account(input: &Map<String, Value>) -> ApiResult<Option<String>> {
    match input.get("stripeAccount") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => value_str(v, "stripeAccount").map(Some),
    }
}

fn parse_body(body: &Bytes) -> ApiResult<Map<String, Value>> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::invalid_nocode("The body is not UTF-8."))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(Map::new());
    }
    if trimmed.starts_with('{') {
        return match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(ApiError::invalid_nocode("The body must be a JSON object.")),
            Err(e) => Err(ApiError::invalid_nocode(format!("Invalid JSON body: {e}"))),
        };
    }
    Ok(Params::parse(trimmed.as_bytes())?.nested)
}

fn config_json(shared: &Shared) -> ApiResult<Value> {
    let config = shared.lock().config.clone();
    serde_json::to_value(config).map_err(|e| ApiError::internal(e.to_string()))
}

/// Partial update: only the keys present change; `"webhookUrl": null` turns delivery off.
fn update_config(shared: &Shared, input: &Map<String, Value>) -> ApiResult<()> {
    let mut config = shared.lock().config.clone();
    for (key, value) in input {
        match key.as_str() {
            "webhookUrl" => {
                config.webhook_url = match value {
                    Value::Null => None,
                    v => {
                        let url = value_str(v, key)?;
                        if url.is_empty() {
                            None
                        } else if url.starts_with("http://") {
                            Some(url)
                        } else {
                            return Err(ApiError::invalid_nocode("webhookUrl must be an http:// URL.").param(key));
                        }
                    }
                }
            }
            "webhookSecret" => config.webhook_secret = value_str(value, key)?,
            "autoDeliver" => config.auto_deliver = value_bool(value, key)?,
            "retryDelaysMs" => {
                config.retry_delays_ms = serde_json::from_value(value.clone()).map_err(|_| {
                    ApiError::invalid_nocode("retryDelaysMs must be an array of milliseconds.").param(key)
                })?
            }
            "availableAfterSeconds" => {
                let seconds = value_i64(value, key)?;
                if !(0..=crate::time::MAX_TIMESTAMP).contains(&seconds) {
                    return Err(ApiError::invalid_nocode("availableAfterSeconds must be 0 or more.").param(key));
                }
                config.available_after_seconds = seconds;
            }
            "invoiceRetryDays" => {
                config.invoice_retry_days = serde_json::from_value::<Vec<i64>>(value.clone())
                    .ok()
                    .filter(|days| days.len() <= 8 && days.iter().all(|d| (1..=60).contains(d)))
                    .ok_or_else(|| {
                        ApiError::invalid_nocode(
                            "invoiceRetryDays must be an array of at most 8 whole days from 1 to 60.",
                        )
                        .param(key)
                    })?
            }
            "invoiceRetryEnd" => {
                let end = value_str(value, key)?;
                if !crate::records::INVOICE_RETRY_ENDS.contains(&end.as_str()) {
                    return Err(
                        ApiError::invalid_nocode("invoiceRetryEnd must be past_due, unpaid or canceled.").param(key)
                    );
                }
                config.invoice_retry_end = end;
            }
            other => return Err(ApiError::unknown_param(other)),
        }
    }
    shared.lock().config = config;
    Ok(())
}

/// The page `next_action` points at: `?succeed=true|false` completes the challenge and
/// redirects to the `return_url` (with Stripe's query parameters) when there is one.
fn three_d_secure_page(shared: &Shared, id: &str, query: Option<&str>) -> Response<Full<Bytes>> {
    let params = Params::parse(query.unwrap_or("").as_bytes()).unwrap_or_default();
    let Some(succeed) = params.bool("succeed").ok().flatten() else {
        let html = format!(
            "<!doctype html><title>3D Secure (Stripe sandbox)</title><h1>3D Secure test page</h1>\
             <p>Intent {id}</p>\
             <p><a href=\"?succeed=true\">Complete authentication</a></p>\
             <p><a href=\"?succeed=false\">Fail authentication</a></p>"
        );
        let mut response = Response::new(Full::new(Bytes::from(html)));
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
        return response;
    };
    let mut store = shared.lock();
    let result = if setup_intents::is_setup_intent(id) {
        setup_intents::authenticate(&mut store, None, id, succeed)
    } else {
        payment_intents::authenticate(&mut store, None, id, succeed)
    };
    let return_url =
        store.stored(id).and_then(|o| o.internal.get("return_url")).and_then(Value::as_str).map(str::to_string);
    shared.dispatch(&mut store);
    drop(store);
    match (result, return_url) {
        (Ok(pi), Some(url)) => {
            let secret = pi.get("client_secret").and_then(Value::as_str).unwrap_or("");
            let status = if succeed { "succeeded" } else { "failed" };
            let sep = if url.contains('?') { '&' } else { '?' };
            let kind = if setup_intents::is_setup_intent(id) { "setup_intent" } else { "payment_intent" };
            let location = format!("{url}{sep}{kind}={id}&{kind}_client_secret={secret}&redirect_status={status}");
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = http::StatusCode::FOUND;
            if let Ok(v) = http::HeaderValue::from_str(&location) {
                response.headers_mut().insert(http::header::LOCATION, v);
            }
            response
        }
        (Ok(pi), None) => json_response(200, &pi, &[]),
        (Err(e), _) => error_response(&e, None),
    }
}

fn html(status: u16, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

fn redirect(location: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = http::StatusCode::FOUND;
    if let Ok(v) = http::HeaderValue::from_str(location) {
        response.headers_mut().insert(http::header::LOCATION, v);
    }
    response
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The page an account link points at: `?action=complete` finishes onboarding and returns to the
/// link's `return_url`; `?action=leave` returns without finishing; a used or expired link goes
/// to its `refresh_url`.
fn onboarding_page(shared: &Shared, token: &str, query: Option<&str>) -> Response<Full<Bytes>> {
    let params = Params::parse(query.unwrap_or("").as_bytes()).unwrap_or_default();
    let action = params.str("action").ok().flatten();
    if let Some(a) = &action
        && a != "complete"
        && a != "leave"
    {
        return error_response(&ApiError::invalid_nocode("action must be complete or leave").param("action"), None);
    }
    let mut store = shared.lock();
    let outcome = accounts::follow_link(&mut store, token, action.as_deref());
    shared.dispatch(&mut store);
    drop(store);
    match outcome {
        Ok(LinkOutcome::Page(account, kind)) => html(
            200,
            format!(
                "<!doctype html><title>Connect onboarding (Stripe sandbox)</title><h1>Connect onboarding</h1>\
                 <p>Account {} ({})</p>\
                 <p><a href=\"?action=complete\">Complete onboarding</a></p>\
                 <p><a href=\"?action=leave\">Leave without finishing</a></p>",
                escape(&account),
                escape(&kind)
            ),
        ),
        Ok(LinkOutcome::Redirect(Some(url))) => redirect(&url),
        Ok(LinkOutcome::Redirect(None)) => html(
            200,
            "<!doctype html><title>Connect onboarding</title><p>This link was used or has expired.</p>".into(),
        ),
        Err(e) => error_response(&e, None),
    }
}

/// The hosted invoice page (`hosted_invoice_url`, `invoice_pdf`): a plain summary.
fn invoice_page(shared: &Shared, id: &str) -> Response<Full<Bytes>> {
    let store = shared.lock();
    let Some(invoice) = store.stored(id).map(|o| o.value.clone()).filter(|v| v["object"] == "invoice") else {
        return error_response(&ApiError::not_found("invoice", id), None);
    };
    drop(store);
    let currency = invoice["currency"].as_str().unwrap_or("usd").to_string();
    let lines: String = invoice
        .pointer("/lines/data")
        .and_then(Value::as_array)
        .map(|lines| {
            lines
                .iter()
                .map(|l| {
                    format!(
                        "<tr><td>{}</td><td>{}</td></tr>",
                        escape(l["description"].as_str().unwrap_or("")),
                        crate::money::format(l["amount"].as_i64().unwrap_or(0), &currency)
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    html(
        200,
        format!(
            "<!doctype html><title>Invoice {number}</title><h1>Invoice {number}</h1><p>Status: {status}</p>\
             <table>{lines}</table><p>Total: {total}</p><p>Amount due: {due}</p>",
            number = escape(invoice["number"].as_str().unwrap_or(id)),
            status = escape(invoice["status"].as_str().unwrap_or("")),
            total = crate::money::format(invoice["total"].as_i64().unwrap_or(0), &currency),
            due = crate::money::format(invoice["amount_due"].as_i64().unwrap_or(0), &currency),
        ),
    )
}
