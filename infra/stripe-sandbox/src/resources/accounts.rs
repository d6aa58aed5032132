//! Connect accounts (`/v1/accounts`) and account links (`/v1/account_links`), the onboarding page
//! links point at (`/_sandbox/connect/onboarding/{token}`), onboarding completion, and each
//! connected account's balance (a ledger: transfers add to `available`, reversals take from it,
//! the control API sets it).
//!
//! Events `account.updated` (with `previous_attributes`; like Stripe's Connect events it carries
//! `account: acct_…`). Creating an account emits nothing, as on Stripe.

use serde_json::{Map, Value, json};

use super::{check_members, member_bool, member_i64, member_str, metadata, one_of, overlay, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};
use crate::store::{EventSource, Store, previous_attributes};

const CREATE: &[&str] = &[
    "account_token",
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "controller",
    "country",
    "default_currency",
    "documents",
    "email",
    "external_account",
    "groups",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
    "type",
];
const UPDATE: &[&str] = &[
    "account_token",
    "business_profile",
    "business_type",
    "capabilities",
    "company",
    "default_currency",
    "documents",
    "email",
    "external_account",
    "groups",
    "individual",
    "metadata",
    "settings",
    "tos_acceptance",
];
const UNSUPPORTED: &[&str] =
    &["account_token", "company", "documents", "external_account", "groups", "individual", "tos_acceptance"];
const LINK: &[&str] = &["account", "collect", "collection_options", "refresh_url", "return_url", "type"];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/accounts", CREATE, create),
        Route::new(Method::Get, "/v1/accounts", &["created", "ending_before", "limit", "starting_after"], list),
        Route::new(Method::Get, "/v1/accounts/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/accounts/{id}", UPDATE, update),
        Route::new(Method::Delete, "/v1/accounts/{id}", &[], delete),
        Route::new(Method::Post, "/v1/account_links", LINK, create_link),
    ]
}

const KIND: &str = "account";
const LABEL: &str = "account";
/// Hidden objects that remember account links (an AccountLink has no id of its own).
const LINK_KIND: &str = "sandbox.account_link";
/// Stripe's account links expire after five minutes.
const LINK_LIFETIME_SECONDS: i64 = 300;

const REQUIREMENTS: &[&str] = &[
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "individual.phone",
    "tos_acceptance.date",
    "tos_acceptance.ip",
];

fn default_currency(country: &str) -> &'static str {
    match country {
        "US" => "usd",
        "GB" => "gbp",
        "CA" => "cad",
        "AU" => "aud",
        "NZ" => "nzd",
        "JP" => "jpy",
        "CH" => "chf",
        "SE" => "sek",
        "NO" => "nok",
        "DK" => "dkk",
        "PL" => "pln",
        "SG" => "sgd",
        "HK" => "hkd",
        "MX" => "mxn",
        "BR" => "brl",
        "IN" => "inr",
        "AT" | "BE" | "CY" | "DE" | "EE" | "ES" | "FI" | "FR" | "GR" | "HR" | "IE" | "IT" | "LT" | "LU" | "LV"
        | "MT" | "NL" | "PT" | "SI" | "SK" => "eur",
        _ => "usd",
    }
}

/// `controller` of an account of `type`, or from `controller[...]` parameters.
fn controller(kind: &str, given: Option<&Map<String, Value>>) -> ApiResult<(Value, String)> {
    if let Some(c) = given {
        check_members(c, "controller", &["fees", "losses", "requirement_collection", "stripe_dashboard"])?;
        let sub = |key: &str, member: &str| -> ApiResult<Option<String>> {
            match c.get(key) {
                Some(Value::Object(m)) => member_str(m, &format!("controller[{key}]"), member),
                Some(_) => Err(ApiError::invalid_nocode(format!("Invalid object: controller[{key}] must be a hash."))),
                None => Ok(None),
            }
        };
        let dashboard = sub("stripe_dashboard", "type")?.unwrap_or_else(|| "full".into());
        let fees = sub("fees", "payer")?.unwrap_or_else(|| "account".into());
        let losses = sub("losses", "payments")?.unwrap_or_else(|| "stripe".into());
        let collection = member_str(c, "controller", "requirement_collection")?.unwrap_or_else(|| "stripe".into());
        let kind = match dashboard.as_str() {
            "express" => "express",
            "none" => "custom",
            _ => "standard",
        };
        let controller = json!({
            "fees": {"payer": fees},
            "is_controller": true,
            "losses": {"payments": losses},
            "requirement_collection": collection,
            "stripe_dashboard": {"type": dashboard},
            "type": "application",
        });
        return Ok((controller, kind.to_string()));
    }
    let controller = match kind {
        "express" => json!({
            "fees": {"payer": "application_express"},
            "is_controller": true,
            "losses": {"payments": "application"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "express"},
            "type": "application",
        }),
        "custom" => json!({
            "fees": {"payer": "application_custom"},
            "is_controller": true,
            "losses": {"payments": "application"},
            "requirement_collection": "application",
            "stripe_dashboard": {"type": "none"},
            "type": "application",
        }),
        _ => json!({
            "fees": {"payer": "account"},
            "is_controller": false,
            "losses": {"payments": "stripe"},
            "requirement_collection": "stripe",
            "stripe_dashboard": {"type": "full"},
            "type": "account",
        }),
    };
    Ok((controller, kind.to_string()))
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    super::reject_unsupported(p, UNSUPPORTED)?;
    let kind = one_of(p, "type", &["custom", "express", "standard"])?;
    let given_controller = p.object("controller")?.flatten();
    let (controller, kind) = match (kind, given_controller) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_nocode("You cannot specify both `type` and `controller`.").param("type"));
        }
        (Some(k), None) => controller(&k, None)?,
        (None, Some(c)) => controller("", Some(c))?,
        (None, None) => controller("standard", None)?,
    };
    let country = p.str("country")?.map(|c| c.to_ascii_uppercase()).unwrap_or_else(|| "US".into());
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ApiError::invalid_nocode(format!("Invalid country: {country}")).param("country"));
    }
    let currency = match p.str("default_currency")? {
        Some(c) => crate::money::currency(&c, "default_currency")?,
        None => default_currency(&country).to_string(),
    };
    let id = ids::new_id("acct");
    let now = ctx.now();
    let mut account = Value::Object(fixture("account")?);
    overlay(
        &mut account,
        json!({
            "id": id,
            "object": "account",
            "business_type": null,
            "capabilities": {},
            "charges_enabled": false,
            "controller": controller,
            "country": country,
            "created": now,
            "default_currency": currency,
            "details_submitted": false,
            "email": null,
            "external_accounts": {
                "object": "list",
                "data": [],
                "has_more": false,
                "total_count": 0,
                "url": format!("/v1/accounts/{id}/external_accounts"),
            },
            "future_requirements": {
                "alternatives": [],
                "current_deadline": null,
                "currently_due": [],
                "disabled_reason": null,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "metadata": {},
            "payouts_enabled": false,
            "requirements": {
                "alternatives": [],
                "current_deadline": null,
                "currently_due": REQUIREMENTS,
                "disabled_reason": "requirements.past_due",
                "errors": [],
                "eventually_due": REQUIREMENTS,
                "past_due": REQUIREMENTS,
                "pending_verification": [],
            },
            "tos_acceptance": {"date": null, "ip": null, "user_agent": null},
            "type": kind,
        }),
    );
    if let Some(settings) = account.get_mut("settings").and_then(Value::as_object_mut) {
        settings.insert("dashboard".into(), json!({"display_name": null, "timezone": "Etc/UTC"}));
    }
    apply(p, &mut account, false)?;
    ctx.save(&account)?;
    Ok(account)
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let items: Vec<Value> = ctx.store.list(KIND, ctx.account()).into_iter().cloned().collect();
    list_response(items, "/v1/accounts", ctx.params)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    super::reject_unsupported(ctx.params, UNSUPPORTED)?;
    let id = ctx.path(0).to_string();
    let old = live(ctx, &id)?;
    let mut account = old.clone();
    if let Some(c) = ctx.params.str("default_currency")? {
        set(&mut account, "default_currency", json!(crate::money::currency(&c, "default_currency")?));
    }
    let onboarded = old.get("details_submitted") == Some(&Value::Bool(true));
    apply(ctx.params, &mut account, onboarded)?;
    ctx.save(&account)?;
    let source = EventSource { account: Some(id.clone()), ..ctx.meta.source() };
    if let Some(previous) = previous_attributes(&old, &account) {
        ctx.store.emit(&source, "account.updated", &account, Some(previous));
    }
    Ok(account)
}

fn delete(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    live(ctx, &id)?;
    let mut deleted = Value::Object(fixture("deleted_account")?);
    set(&mut deleted, "id", json!(id));
    ctx.save(&deleted)?;
    Ok(deleted)
}

fn live(ctx: &Ctx<'_>, id: &str) -> ApiResult<Value> {
    let account = ctx.load(KIND, LABEL, id)?;
    if account.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::not_found(LABEL, id));
    }
    Ok(account)
}

/// The writable fields shared by create and update. Newly requested capabilities are `inactive`
/// until onboarding completes (`active` right away once it has).
fn apply(p: &Params, account: &mut Value, onboarded: bool) -> ApiResult<()> {
    if let Some(email) = p.nullable_str("email")? {
        set(account, "email", json!(email));
    }
    if let Some(t) = one_of(p, "business_type", &["company", "government_entity", "individual", "non_profit"])? {
        set(account, "business_type", json!(t));
    }
    if let Some(profile) = p.object("business_profile")?.flatten() {
        let allowed = [
            "mcc",
            "name",
            "product_description",
            "support_email",
            "support_phone",
            "support_url",
            "url",
            "estimated_worker_count",
            "minority_owned_business_designation",
            "annual_revenue",
            "monthly_estimated_revenue",
            "support_address",
        ];
        check_members(profile, "business_profile", &allowed)?;
        if let Some(bp) = account.get_mut("business_profile").and_then(Value::as_object_mut) {
            for key in ["mcc", "name", "product_description", "support_email", "support_phone", "support_url", "url"] {
                if let Some(v) = member_str(profile, "business_profile", key)? {
                    bp.insert(key.into(), json!(v));
                } else if profile.contains_key(key) {
                    bp.insert(key.into(), Value::Null);
                }
            }
        }
    }
    if let Some(caps) = p.object("capabilities")?.flatten() {
        let mut current = account.get("capabilities").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, spec) in caps {
            let param = format!("capabilities[{name}]");
            let spec = spec.as_object().ok_or_else(|| {
                ApiError::invalid_nocode(format!("Invalid object: {param} must be a hash.")).param(&param)
            })?;
            check_members(spec, &param, &["requested"])?;
            match member_bool(spec, &param, "requested")? {
                Some(true) => {
                    let status = if onboarded { "active" } else { "inactive" };
                    current.entry(name.clone()).or_insert(json!(status));
                }
                Some(false) => {
                    current.remove(name);
                }
                None => return Err(ApiError::missing_param(&format!("{param}[requested]"))),
            }
        }
        set(account, "capabilities", Value::Object(current));
    }
    if let Some(settings) = p.object("settings")?.flatten() {
        check_members(settings, "settings", &["payouts"])?;
        if let Some(payouts) = settings.get("payouts").and_then(Value::as_object) {
            check_members(
                payouts,
                "settings[payouts]",
                &["debit_negative_balances", "schedule", "statement_descriptor"],
            )?;
            let target = account.pointer_mut("/settings/payouts").and_then(Value::as_object_mut);
            if let Some(target) = target {
                if let Some(d) = member_bool(payouts, "settings[payouts]", "debit_negative_balances")? {
                    target.insert("debit_negative_balances".into(), json!(d));
                }
                if let Some(d) = member_str(payouts, "settings[payouts]", "statement_descriptor")? {
                    target.insert("statement_descriptor".into(), json!(d));
                }
                if let Some(schedule) = payouts.get("schedule").and_then(Value::as_object) {
                    let param = "settings[payouts][schedule]";
                    check_members(
                        schedule,
                        param,
                        &[
                            "delay_days",
                            "interval",
                            "monthly_anchor",
                            "weekly_anchor",
                            "monthly_payout_days",
                            "weekly_payout_days",
                        ],
                    )?;
                    let mut out = json!({"delay_days": 2, "interval": "daily"});
                    if let Some(i) = member_str(schedule, param, "interval")? {
                        if !["daily", "manual", "monthly", "weekly"].contains(&i.as_str()) {
                            return Err(ApiError::invalid_nocode(format!(
                                "Invalid {param}[interval]: must be one of daily, manual, monthly, weekly"
                            )));
                        }
                        set(&mut out, "interval", json!(i));
                    }
                    if let Some(d) = member_i64(schedule, param, "delay_days")? {
                        set(&mut out, "delay_days", json!(d));
                    }
                    if let Some(a) = member_i64(schedule, param, "monthly_anchor")? {
                        set(&mut out, "monthly_anchor", json!(a));
                    }
                    if let Some(a) = member_str(schedule, param, "weekly_anchor")? {
                        set(&mut out, "weekly_anchor", json!(a));
                    }
                    target.insert("schedule".into(), out);
                }
            }
        }
    }
    let current = account.get("metadata").cloned();
    set(account, "metadata", metadata(p, current.as_ref())?);
    Ok(())
}

fn create_link(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let account_id = p.required_str("account")?;
    let account = ctx.load_ref(KIND, "account", &account_id, "account")?;
    if account.get("deleted") == Some(&Value::Bool(true)) {
        return Err(ApiError::missing_reference("account", &account_id, "account"));
    }
    let kind =
        one_of(p, "type", &["account_onboarding", "account_update"])?.ok_or_else(|| ApiError::missing_param("type"))?;
    for key in ["refresh_url", "return_url"] {
        if let Some(url) = p.str(key)?
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ApiError::invalid("url_invalid", format!("Not a valid URL: {url}")).param(key));
        }
    }
    if kind == "account_update" && s(&account, "type") != "custom" {
        return Err(ApiError::invalid_nocode(
            "You cannot create `account_update` type Account Links for Express or Standard accounts.",
        )
        .param("type"));
    }
    let now = ctx.now();
    let token = ids::random_chars(24);
    let url = format!("{}_sandbox/connect/onboarding/{token}", ctx.meta.base_url);
    let record = json!({
        "id": token,
        "object": LINK_KIND,
        "account": account_id,
        "type": kind,
        "refresh_url": p.str("refresh_url")?,
        "return_url": p.str("return_url")?,
        "expires_at": now + LINK_LIFETIME_SECONDS,
        "used": false,
    });
    ctx.save(&record)?;
    let mut link = Value::Object(fixture("account_link")?);
    overlay(
        &mut link,
        json!({"object": "account_link", "created": now, "expires_at": now + LINK_LIFETIME_SECONDS, "url": url}),
    );
    Ok(link)
}

/// What the onboarding page does with a link.
pub enum LinkOutcome {
    /// Show the page (the link is valid): `(account, type)`.
    Page(String, String),
    /// Redirect (or show a note when there is no URL to go to).
    Redirect(Option<String>),
}

/// Follows an account link: `action` `None` shows the page; `complete` finishes onboarding and
/// returns to `return_url`; `leave` returns without finishing. Used or expired links go to
/// `refresh_url`, as on Stripe.
pub fn follow_link(store: &mut Store, token: &str, action: Option<&str>) -> ApiResult<LinkOutcome> {
    let record = store
        .stored(token)
        .map(|o| o.value.clone())
        .filter(|v| s(v, "object") == LINK_KIND)
        .ok_or_else(|| ApiError::not_found("account link", token))?;
    let expired = super::int(&record, "expires_at") < store.now() || record.get("used") == Some(&Value::Bool(true));
    let refresh = record.get("refresh_url").and_then(Value::as_str).map(str::to_string);
    let back = record.get("return_url").and_then(Value::as_str).map(str::to_string);
    if expired {
        return Ok(LinkOutcome::Redirect(refresh));
    }
    let account = s(&record, "account").to_string();
    match action {
        None => Ok(LinkOutcome::Page(account, s(&record, "type").to_string())),
        Some(a) => {
            if a == "complete" {
                complete_onboarding(store, &account)?;
            }
            let mut used = record.clone();
            set(&mut used, "used", json!(true));
            store.put(used, None)?;
            Ok(LinkOutcome::Redirect(back))
        }
    }
}

/// Completes a connected account's onboarding: details submitted, charges and payouts enabled,
/// requested capabilities active, requirements cleared. Event `account.updated`.
pub fn complete_onboarding(store: &mut Store, id: &str) -> ApiResult<Value> {
    let old = store
        .find(KIND, id, None)
        .filter(|a| a.get("deleted") != Some(&Value::Bool(true)))
        .cloned()
        .ok_or_else(|| ApiError::not_found(LABEL, id))?;
    let now = store.now();
    let mut account = old.clone();
    let capabilities: Map<String, Value> = account
        .get("capabilities")
        .and_then(Value::as_object)
        .map(|caps| caps.keys().map(|k| (k.clone(), json!("active"))).collect())
        .unwrap_or_default();
    let business_type = account.get("business_type").filter(|v| !v.is_null()).cloned().unwrap_or(json!("individual"));
    overlay(
        &mut account,
        json!({
            "business_type": business_type,
            "capabilities": capabilities,
            "charges_enabled": true,
            "details_submitted": true,
            "payouts_enabled": true,
            "requirements": {
                "alternatives": [],
                "current_deadline": null,
                "currently_due": [],
                "disabled_reason": null,
                "errors": [],
                "eventually_due": [],
                "past_due": [],
                "pending_verification": [],
            },
            "tos_acceptance": {"date": now, "ip": "127.0.0.1", "user_agent": "azora-stripe-sandbox"},
        }),
    );
    store.put(account.clone(), None)?;
    if let Some(previous) = previous_attributes(&old, &account) {
        let source = EventSource { account: Some(id.to_string()), ..EventSource::default() };
        store.emit(&source, "account.updated", &account, Some(previous));
    }
    Ok(account)
}

/// A connected account that exists (for transfers and balances).
pub fn connected(store: &Store, id: &str) -> Option<Value> {
    store.find(KIND, id, None).filter(|a| a.get("deleted") != Some(&Value::Bool(true))).cloned()
}

/// `(available, pending)` of a connected account in `currency`.
pub fn balance_of(store: &Store, id: &str, currency: &str) -> (i64, i64) {
    let entry = store.stored(id).and_then(|o| o.internal.get("balance")).and_then(|b| b.get(currency)).cloned();
    match entry {
        Some(e) => (super::int(&e, "available"), super::int(&e, "pending")),
        None => (0, 0),
    }
}

/// Sets a connected account's balance in `currency` (only the parts given).
pub fn set_balance(store: &mut Store, id: &str, currency: &str, available: Option<i64>, pending: Option<i64>) {
    let (a, p) = balance_of(store, id, currency);
    if let Some(o) = store.stored_mut(id) {
        let mut all = o.internal.get("balance").and_then(Value::as_object).cloned().unwrap_or_default();
        all.insert(currency.to_string(), json!({"available": available.unwrap_or(a), "pending": pending.unwrap_or(p)}));
        o.internal.insert("balance".into(), Value::Object(all));
    }
}

/// Adds `delta` to a connected account's available balance.
pub fn adjust_available(store: &mut Store, id: &str, currency: &str, delta: i64) {
    let (available, _) = balance_of(store, id, currency);
    set_balance(store, id, currency, Some(available.saturating_add(delta)), None);
}

/// A Balance object for a connected account (its ledger, per currency; its default currency
/// with zeros when empty).
pub fn balance_json(store: &Store, id: &str) -> ApiResult<Value> {
    let account = connected(store, id).ok_or_else(|| ApiError::not_found(LABEL, id))?;
    let mut currencies: Vec<String> = store
        .stored(id)
        .and_then(|o| o.internal.get("balance"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    if currencies.is_empty() {
        currencies.push(s(&account, "default_currency").to_string());
    }
    let amounts = |pick: fn((i64, i64)) -> i64| -> Vec<Value> {
        currencies
            .iter()
            .map(|c| {
                let amount = pick(balance_of(store, id, c));
                json!({"amount": amount, "currency": c, "source_types": {"card": amount}})
            })
            .collect()
    };
    let mut balance = Value::Object(fixture("balance")?);
    overlay(
        &mut balance,
        json!({
            "object": "balance",
            "available": amounts(|(a, _)| a),
            "pending": amounts(|(_, p)| p),
            "livemode": false,
        }),
    );
    if let Some(obj) = balance.as_object_mut() {
        obj.remove("connect_reserved");
    }
    Ok(balance)
}
