//! One module per Stripe resource; [`routes`] is the API's route table.
//!
//! To add a resource (checkout sessions, ...): copy its object from Stripe's `fixtures3.json` into
//! `fixtures/stripe-objects.json`, write a module here with a `routes()` and handlers over
//! [`Ctx`](crate::router::Ctx) (load/save objects, `ctx.emit(...)` events), and add its routes
//! below. Hidden state goes in `StoredObject::internal`; time comes from `Store::now()`, or
//! `billing::clock_time` for objects on a test clock (with events dated through
//! `EventSource::at`). Subscriptions, invoices and test clocks share the engine in `billing`.

pub mod accounts;
pub mod charges;
pub mod customers;
pub mod disputes;
pub mod events;
pub mod invoiceitems;
pub mod invoices;
pub mod payment_intents;
pub mod payment_methods;
pub mod prices;
pub mod products;
pub mod refunds;
pub mod setup_intents;
pub mod subscriptions;
pub mod test_clocks;
pub mod transfers;

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::router::Route;

/// Every API route, in matching order (literal segments before `{id}` where both could match).
pub fn routes() -> Vec<Route> {
    [
        customers::routes(),
        payment_methods::routes(),
        payment_intents::routes(),
        setup_intents::routes(),
        charges::routes(),
        refunds::routes(),
        disputes::routes(),
        events::routes(),
        products::routes(),
        prices::routes(),
        subscriptions::routes(),
        invoices::routes(),
        invoiceitems::routes(),
        test_clocks::routes(),
        accounts::routes(),
        transfers::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

const METADATA_MAX_KEYS: usize = 50;
const METADATA_KEY_MAX: usize = 40;
const METADATA_VALUE_MAX: usize = 500;

/// `metadata` applied to `existing`: `metadata[k]=v` sets, `metadata[k]=` removes a key,
/// `metadata=` clears all; Stripe's limits (50 keys, 40-character keys, 500-character values).
pub fn metadata(params: &Params, existing: Option<&Value>) -> ApiResult<Value> {
    let mut map: Map<String, Value> = existing.and_then(Value::as_object).cloned().unwrap_or_default();
    match params.object("metadata")? {
        None => {}
        Some(None) => map.clear(),
        Some(Some(given)) => {
            for (k, v) in given {
                let value = match v {
                    Value::String(s) => s.clone(),
                    _ => {
                        return Err(ApiError::invalid_nocode(format!(
                            "Invalid value for metadata[{k}]: metadata values must be strings."
                        ))
                        .param(&format!("metadata[{k}]")));
                    }
                };
                if k.chars().count() > METADATA_KEY_MAX {
                    return Err(ApiError::invalid_nocode(format!(
                        "Metadata keys can have up to {METADATA_KEY_MAX} characters; `{k}` is too long."
                    ))
                    .param(&format!("metadata[{k}]")));
                }
                if value.chars().count() > METADATA_VALUE_MAX {
                    return Err(ApiError::invalid_nocode(format!(
                        "Metadata values can have up to {METADATA_VALUE_MAX} characters, but you passed in a value that is {} characters. Invalid value: metadata[{k}]",
                        value.chars().count()
                    ))
                    .param(&format!("metadata[{k}]")));
                }
                if value.is_empty() {
                    map.remove(k);
                } else {
                    map.insert(k.clone(), Value::String(value));
                }
            }
        }
    }
    if map.len() > METADATA_MAX_KEYS {
        return Err(ApiError::invalid_nocode(format!(
            "You can have up to {METADATA_MAX_KEYS} keys in metadata; you tried to set {}.",
            map.len()
        ))
        .param("metadata"));
    }
    Ok(Value::Object(map))
}

/// One of `allowed`, or Stripe's "Invalid … must be one of" error.
pub fn one_of(params: &Params, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
    match params.str(key)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => {
            Err(ApiError::invalid_nocode(format!("Invalid {key}: must be one of {} (got {v})", allowed.join(", ")))
                .param(key))
        }
    }
}

/// Parameters the sandbox accepts but cannot model yet answer a clear 400 rather than being
/// silently ignored.
pub fn reject_unsupported(params: &Params, unsupported: &[&str]) -> ApiResult<()> {
    for key in unsupported {
        if params.has(key) {
            return Err(ApiError::invalid_nocode(format!(
                "The Stripe sandbox does not support the `{key}` parameter yet."
            ))
            .param(key));
        }
    }
    Ok(())
}

/// A string from a JSON object field ("" when absent or not a string).
pub fn s<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Overwrites the fields of `target` with those of `overrides` (both objects).
pub fn overlay(target: &mut Value, overrides: Value) {
    if let (Some(t), Value::Object(o)) = (target.as_object_mut(), overrides) {
        for (k, v) in o {
            t.insert(k, v);
        }
    }
}

/// An integer from a JSON object field (0 when absent).
pub fn int(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// `param[key]`, or `key` at the top level (`param` empty).
pub fn member_name(param: &str, key: &str) -> String {
    if param.is_empty() { key.to_string() } else { format!("{param}[{key}]") }
}

/// A string from a hash parameter's member (`recurring[interval]`), named `param[key]` in errors.
pub fn member_str(map: &Map<String, Value>, param: &str, key: &str) -> ApiResult<Option<String>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => {
            crate::params::value_str(v, &member_name(param, key)).map(|s| if s.is_empty() { None } else { Some(s) })
        }
    }
}

/// An integer from a hash parameter's member.
pub fn member_i64(map: &Map<String, Value>, param: &str, key: &str) -> ApiResult<Option<i64>> {
    match map.get(key) {
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => crate::params::value_i64(v, &member_name(param, key)).map(Some),
    }
}

/// A boolean from a hash parameter's member.
pub fn member_bool(map: &Map<String, Value>, param: &str, key: &str) -> ApiResult<Option<bool>> {
    match map.get(key) {
        None => Ok(None),
        Some(v) => crate::params::value_bool(v, &member_name(param, key)).map(Some),
    }
}

/// Rejects members of a hash parameter other than `allowed` (`parameter_unknown`).
pub fn check_members(map: &Map<String, Value>, param: &str, allowed: &[&str]) -> ApiResult<()> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::unknown_param(&member_name(param, k))),
        None => Ok(()),
    }
}

/// Sets `obj[key] = v` when `value` is an object.
pub fn set(value: &mut Value, key: &str, v: Value) {
    if let Some(obj) = value.as_object_mut() {
        obj.insert(key.to_string(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_merges_and_unsets() {
        let p = Params::parse(b"metadata[a]=1&metadata[b]=").unwrap_or_default();
        let m = metadata(&p, Some(&json!({"b": "old", "c": "keep"}))).unwrap_or_default();
        assert_eq!(m, json!({"a": "1", "c": "keep"}));
        let p = Params::parse(b"metadata=").unwrap_or_default();
        assert_eq!(metadata(&p, Some(&json!({"b": "old"}))).unwrap_or_default(), json!({}));
        let long = format!("metadata[{}]=x", "k".repeat(41));
        assert!(metadata(&Params::parse(long.as_bytes()).unwrap_or_default(), None).is_err());
    }
}
