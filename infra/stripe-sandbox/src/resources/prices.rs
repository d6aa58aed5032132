//! Prices (per-unit, one-time or recurring): create (for a `product` or with `product_data`),
//! retrieve, update, list (`lookup_keys[]`, `product`, `active`, `type`, `currency`,
//! `recurring[interval]`). Lookup keys are unique; `transfer_lookup_key=true` moves one.
//! Events `price.created`, `price.updated`.

use serde_json::{Map, Value, json};

use super::{check_members, member_i64, member_str, metadata, one_of, overlay, reject_unsupported, s, set};
use crate::error::{ApiError, ApiResult};
use crate::fixtures::fixture;
use crate::ids;
use crate::listing::list_response;
use crate::money;
use crate::params::Params;
use crate::router::{Ctx, Method, Route};

const CREATE: &[&str] = &[
    "active",
    "billing_scheme",
    "currency",
    "currency_options",
    "custom_unit_amount",
    "lookup_key",
    "metadata",
    "nickname",
    "product",
    "product_data",
    "recurring",
    "tax_behavior",
    "tiers",
    "tiers_mode",
    "transfer_lookup_key",
    "transform_quantity",
    "unit_amount",
    "unit_amount_decimal",
];
const UPDATE: &[&str] =
    &["active", "currency_options", "lookup_key", "metadata", "nickname", "tax_behavior", "transfer_lookup_key"];
const LIST: &[&str] = &[
    "active",
    "created",
    "currency",
    "ending_before",
    "limit",
    "lookup_keys",
    "product",
    "recurring",
    "starting_after",
    "type",
];

pub fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::Post, "/v1/prices", CREATE, create),
        Route::new(Method::Get, "/v1/prices", LIST, list),
        Route::new(Method::Get, "/v1/prices/{id}", &[], retrieve),
        Route::new(Method::Post, "/v1/prices/{id}", UPDATE, update),
    ]
}

const KIND: &str = "price";
const LABEL: &str = "price";
const INTERVALS: &[&str] = &["day", "week", "month", "year"];

/// The billing-relevant part of a price, from `POST /v1/prices` or `default_price_data`.
#[derive(Debug, Clone)]
pub struct PriceSpec {
    pub currency: String,
    pub unit_amount: i64,
    /// `(interval, interval_count, trial_period_days)` for a recurring price.
    pub recurring: Option<(String, i64, Option<i64>)>,
    pub tax_behavior: Option<String>,
    pub metadata: Map<String, Value>,
}

fn name(prefix: &str, key: &str) -> String {
    if prefix.is_empty() { key.to_string() } else { format!("{prefix}[{key}]") }
}

impl PriceSpec {
    /// Reads `currency`, `unit_amount`/`unit_amount_decimal`, `recurring[...]`, `tax_behavior` and
    /// `metadata` from a (possibly nested) parameter hash named `prefix` ("" for the top level).
    pub fn from_map(map: &Map<String, Value>, prefix: &str) -> ApiResult<PriceSpec> {
        let currency = member_str(map, prefix, "currency")?
            .ok_or_else(|| ApiError::missing_param(&name(prefix, "currency")))
            .map(|c| money::currency(&c, &name(prefix, "currency")))??;
        let get_str = |key: &str| -> ApiResult<Option<String>> {
            match map.get(key) {
                None => Ok(None),
                Some(v) => crate::params::value_str(v, &name(prefix, key)).map(|s| (!s.is_empty()).then_some(s)),
            }
        };
        let get_i64 = |key: &str| -> ApiResult<Option<i64>> {
            match map.get(key) {
                None => Ok(None),
                Some(v) => crate::params::value_i64(v, &name(prefix, key)).map(Some),
            }
        };
        let unit_amount = match (get_i64("unit_amount")?, get_str("unit_amount_decimal")?) {
            (Some(_), Some(_)) => {
                return Err(ApiError::invalid(
                    "parameters_exclusive",
                    "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
                ));
            }
            (Some(a), None) => a,
            (None, Some(d)) => {
                let whole = d.strip_suffix(".0").unwrap_or(&d);
                whole.parse::<i64>().map_err(|_| {
                    ApiError::invalid_nocode(format!(
                        "The Stripe sandbox only supports whole unit amounts (got unit_amount_decimal={d})."
                    ))
                    .param(&name(prefix, "unit_amount_decimal"))
                })?
            }
            (None, None) => return Err(ApiError::missing_param(&name(prefix, "unit_amount"))),
        };
        if !(0..=money::MAX_AMOUNT).contains(&unit_amount) {
            return Err(ApiError::invalid_nocode(format!(
                "Invalid unit_amount: must be between 0 and {} (got {unit_amount}).",
                money::MAX_AMOUNT
            ))
            .param(&name(prefix, "unit_amount")));
        }
        let recurring = match map.get("recurring") {
            None => None,
            Some(Value::Object(r)) => {
                let param = name(prefix, "recurring");
                check_members(r, &param, &["interval", "interval_count", "meter", "trial_period_days", "usage_type"])?;
                let interval = member_str(r, &param, "interval")?
                    .ok_or_else(|| ApiError::missing_param(&format!("{param}[interval]")))?;
                if !INTERVALS.contains(&interval.as_str()) {
                    return Err(ApiError::invalid_nocode(format!(
                        "Invalid {param}[interval]: must be one of day, week, month, or year (got {interval})"
                    ))
                    .param(&format!("{param}[interval]")));
                }
                let count = member_i64(r, &param, "interval_count")?.unwrap_or(1);
                let max = match interval.as_str() {
                    "day" => 1095,
                    "week" => 156,
                    "month" => 36,
                    _ => 3,
                };
                if !(1..=max).contains(&count) {
                    return Err(ApiError::invalid_nocode(
                        "Invalid recurring interval: the maximum billing interval is 3 years (3 years, 36 months, 156 weeks or 1095 days).",
                    )
                    .param(&format!("{param}[interval_count]")));
                }
                if let Some(usage) = member_str(r, &param, "usage_type")?
                    && usage != "licensed"
                {
                    return Err(ApiError::invalid_nocode(
                        "The Stripe sandbox only supports licensed (per-seat) recurring prices.",
                    )
                    .param(&format!("{param}[usage_type]")));
                }
                let trial = member_i64(r, &param, "trial_period_days")?;
                Some((interval, count, trial))
            }
            Some(_) => {
                return Err(ApiError::invalid_nocode(format!(
                    "Invalid object: {} must be a hash.",
                    name(prefix, "recurring")
                ))
                .param(&name(prefix, "recurring")));
            }
        };
        let tax_behavior = match get_str("tax_behavior")? {
            None => None,
            Some(t) if ["exclusive", "inclusive", "unspecified"].contains(&t.as_str()) => Some(t),
            Some(t) => {
                return Err(ApiError::invalid_nocode(format!(
                    "Invalid tax_behavior: must be one of exclusive, inclusive, or unspecified (got {t})"
                ))
                .param(&name(prefix, "tax_behavior")));
            }
        };
        let metadata = match map.get("metadata") {
            None => Map::new(),
            Some(m) => {
                let params = Params { flat: Vec::new(), nested: Map::from_iter([("metadata".to_string(), m.clone())]) };
                super::metadata(&params, None)?.as_object().cloned().unwrap_or_default()
            }
        };
        Ok(PriceSpec { currency, unit_amount, recurring, tax_behavior, metadata })
    }
}

/// A new Price object for `product` (not saved).
pub fn build(_ctx: &Ctx<'_>, spec: &PriceSpec, product: &str, now: i64) -> ApiResult<Value> {
    let mut price = Value::Object(fixture("price")?);
    let recurring = match &spec.recurring {
        Some((interval, count, trial)) => json!({
            "interval": interval,
            "interval_count": count,
            "meter": null,
            "trial_period_days": trial,
            "usage_type": "licensed",
        }),
        None => Value::Null,
    };
    overlay(
        &mut price,
        json!({
            "id": ids::new_id("price"),
            "object": "price",
            "active": true,
            "billing_scheme": "per_unit",
            "created": now,
            "currency": spec.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": null,
            "metadata": spec.metadata,
            "nickname": null,
            "product": product,
            "recurring": recurring,
            "tax_behavior": spec.tax_behavior.clone().unwrap_or_else(|| "unspecified".into()),
            "tiers_mode": null,
            "transform_quantity": null,
            "type": if spec.recurring.is_some() { "recurring" } else { "one_time" },
            "unit_amount": spec.unit_amount,
            "unit_amount_decimal": spec.unit_amount.to_string(),
        }),
    );
    Ok(price)
}

fn create(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, &["currency_options", "custom_unit_amount", "tiers", "tiers_mode", "transform_quantity"])?;
    if let Some(scheme) = one_of(p, "billing_scheme", &["per_unit", "tiered"])?
        && scheme != "per_unit"
    {
        return Err(ApiError::invalid_nocode("The Stripe sandbox only supports billing_scheme=per_unit.")
            .param("billing_scheme"));
    }
    let spec = PriceSpec::from_map(&p.nested, "")?;
    let lookup_key = p.str("lookup_key")?;
    let transfer = p.bool("transfer_lookup_key")?.unwrap_or(false);
    let now = ctx.now();
    let (product_id, new_product) = match (p.str("product")?, p.object("product_data")?.flatten()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "parameters_exclusive",
                "You may only specify one of these parameters: product, product_data.",
            ));
        }
        (Some(id), None) => {
            let product = ctx.load_ref("product", "product", &id, "product")?;
            if product.get("deleted") == Some(&Value::Bool(true)) {
                return Err(ApiError::missing_reference("product", &id, "product"));
            }
            (id, None)
        }
        (None, Some(data)) => {
            check_members(
                data,
                "product_data",
                &["active", "id", "metadata", "name", "statement_descriptor", "tax_code", "tax_details", "unit_label"],
            )?;
            let name = member_str(data, "product_data", "name")?
                .ok_or_else(|| ApiError::missing_param("product_data[name]"))?;
            let id = member_str(data, "product_data", "id")?.unwrap_or_else(|| ids::new_id("prod"));
            if ctx.store.stored(&id).is_some() {
                return Err(
                    ApiError::invalid("resource_already_exists", "Product already exists.").param("product_data[id]")
                );
            }
            let mut product = Value::Object(fixture("product")?);
            let product_metadata = match data.get("metadata") {
                None => json!({}),
                Some(m) => {
                    let params = Params { flat: Vec::new(), nested: Map::from_iter([("metadata".into(), m.clone())]) };
                    metadata(&params, None)?
                }
            };
            overlay(
                &mut product,
                json!({
                    "id": id,
                    "object": "product",
                    "active": super::member_bool(data, "product_data", "active")?.unwrap_or(true),
                    "created": now,
                    "default_price": null,
                    "description": null,
                    "images": [],
                    "livemode": false,
                    "marketing_features": [],
                    "metadata": product_metadata,
                    "name": name,
                    "package_dimensions": null,
                    "shippable": null,
                    "statement_descriptor": member_str(data, "product_data", "statement_descriptor")?,
                    "tax_code": null,
                    "type": "service",
                    "unit_label": member_str(data, "product_data", "unit_label")?,
                    "updated": now,
                    "url": null,
                }),
            );
            (id, Some(product))
        }
        (None, None) => return Err(ApiError::missing_param("product")),
    };
    let mut price = build(ctx, &spec, &product_id, now)?;
    if let Some(active) = p.bool("active")? {
        set(&mut price, "active", json!(active));
    }
    if let Some(nickname) = p.str("nickname")? {
        set(&mut price, "nickname", json!(nickname));
    }
    let price_id = s(&price, "id").to_string();
    let previous_holder = match &lookup_key {
        Some(key) => holder_of(ctx, key, &price_id, transfer)?,
        None => None,
    };
    set(&mut price, "lookup_key", json!(lookup_key));
    if let Some(product) = &new_product {
        ctx.save(product)?;
        ctx.emit("product.created", product);
    }
    if let Some(old) = previous_holder {
        release_lookup_key(ctx, old)?;
    }
    ctx.save(&price)?;
    ctx.emit("price.created", &price);
    Ok(price)
}

/// The price currently holding `key` (other than `price_id`): an error unless `transfer`.
fn holder_of(ctx: &Ctx<'_>, key: &str, price_id: &str, transfer: bool) -> ApiResult<Option<Value>> {
    let holder = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .find(|x| s(x, "lookup_key") == key && s(x, "id") != price_id)
        .cloned();
    match holder {
        Some(h) if !transfer => Err(ApiError::invalid_nocode(format!(
            "A price (`{}`) already uses the lookup key `{key}`. Pass `transfer_lookup_key=true` to move it to this price.",
            s(&h, "id")
        ))
        .param("lookup_key")),
        other => Ok(other),
    }
}

fn release_lookup_key(ctx: &mut Ctx<'_>, old: Value) -> ApiResult<()> {
    let mut updated = old.clone();
    set(&mut updated, "lookup_key", Value::Null);
    ctx.save(&updated)?;
    ctx.emit_updated("price.updated", &old, &updated);
    Ok(())
}

fn retrieve(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let id = ctx.path(0).to_string();
    ctx.load(KIND, LABEL, &id)
}

fn update(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    reject_unsupported(p, &["currency_options"])?;
    let id = ctx.path(0).to_string();
    let old = ctx.load(KIND, LABEL, &id)?;
    let mut price = old.clone();
    if let Some(active) = p.bool("active")? {
        set(&mut price, "active", json!(active));
    }
    if let Some(nickname) = p.nullable_str("nickname")? {
        set(&mut price, "nickname", json!(nickname));
    }
    if let Some(tax) = one_of(p, "tax_behavior", &["exclusive", "inclusive", "unspecified"])? {
        if s(&old, "tax_behavior") != "unspecified" && s(&old, "tax_behavior") != tax {
            return Err(ApiError::invalid_nocode("You cannot change the tax_behavior of a price once it is set.")
                .param("tax_behavior"));
        }
        set(&mut price, "tax_behavior", json!(tax));
    }
    let mut previous_holder = None;
    if let Some(key) = p.nullable_str("lookup_key")? {
        if let Some(k) = &key {
            previous_holder = holder_of(ctx, k, &id, p.bool("transfer_lookup_key")?.unwrap_or(false))?;
        }
        set(&mut price, "lookup_key", json!(key));
    }
    let current = price.get("metadata").cloned();
    set(&mut price, "metadata", metadata(p, current.as_ref())?);
    if let Some(holder) = previous_holder {
        release_lookup_key(ctx, holder)?;
    }
    ctx.save(&price)?;
    ctx.emit_updated("price.updated", &old, &price);
    Ok(price)
}

fn list(ctx: &mut Ctx<'_>) -> ApiResult<Value> {
    let p = ctx.params;
    let active = p.bool("active")?;
    let currency = p.str("currency")?.map(|c| c.to_ascii_lowercase());
    let product = p.str("product")?;
    let kind = one_of(p, "type", &["one_time", "recurring"])?;
    let lookup_keys = p.str_list("lookup_keys")?;
    if lookup_keys.as_ref().is_some_and(|k| k.len() > 10) {
        return Err(ApiError::invalid_nocode("You can pass up to 10 lookup_keys.").param("lookup_keys"));
    }
    let (interval, usage) = match p.object("recurring")?.flatten() {
        Some(r) => {
            check_members(r, "recurring", &["interval", "meter", "usage_type"])?;
            (member_str(r, "recurring", "interval")?, member_str(r, "recurring", "usage_type")?)
        }
        None => (None, None),
    };
    let items: Vec<Value> = ctx
        .store
        .list(KIND, ctx.account())
        .into_iter()
        .filter(|x| active.is_none_or(|a| x.get("active") == Some(&json!(a))))
        .filter(|x| currency.as_deref().is_none_or(|c| s(x, "currency") == c))
        .filter(|x| product.as_deref().is_none_or(|id| s(x, "product") == id))
        .filter(|x| kind.as_deref().is_none_or(|k| s(x, "type") == k))
        .filter(|x| lookup_keys.as_ref().is_none_or(|keys| keys.iter().any(|k| k == s(x, "lookup_key"))))
        .filter(|x| {
            interval.as_deref().is_none_or(|i| x.pointer("/recurring/interval").and_then(Value::as_str) == Some(i))
        })
        .filter(|x| {
            usage.as_deref().is_none_or(|u| x.pointer("/recurring/usage_type").and_then(Value::as_str) == Some(u))
        })
        .cloned()
        .collect();
    list_response(items, "/v1/prices", ctx.params)
}
