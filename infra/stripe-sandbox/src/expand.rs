//! `expand[]`: replaces ids in a response with the objects they name (`latest_charge`,
//! `data.customer`, `latest_charge.payment_intent`, ...).

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::store::Store;

pub fn apply(store: &Store, value: &mut Value, paths: &[String], account: Option<&str>) -> ApiResult<()> {
    for path in paths {
        let segments: Vec<&str> = path.split('.').collect();
        expand_path(store, value, &segments, account, path)?;
    }
    Ok(())
}

fn expand_path(
    store: &Store,
    value: &mut Value,
    segments: &[&str],
    account: Option<&str>,
    full: &str,
) -> ApiResult<()> {
    let Some((first, rest)) = segments.split_first() else {
        return Ok(());
    };
    let is_list = value.get("object").and_then(Value::as_str) == Some("list");
    if is_list && *first == "data" {
        if let Some(items) = value.get_mut("data").and_then(Value::as_array_mut) {
            for item in items {
                expand_path(store, item, rest, account, full)?;
            }
        }
        return Ok(());
    }
    let cannot = || ApiError::invalid_nocode(format!("This property cannot be expanded ({full})."));
    // Includable fields (an invoice's `confirmation_secret`, `payments`) appear when asked for.
    if value.get(*first).is_none()
        && let Some(included) = crate::billing::includable(store, value, first)
        && let Some(obj) = value.as_object_mut()
    {
        obj.insert((*first).to_string(), included);
    }
    let field = value.get_mut(*first).ok_or_else(cannot)?;
    match field {
        Value::String(id) => {
            // Ids the sandbox does not keep (e.g. balance transactions) stay ids.
            if let Some(obj) = store.find_any(id, account) {
                *field = obj.clone();
            }
        }
        Value::Object(_) | Value::Null => {}
        _ => return Err(cannot()),
    }
    if field.is_object() { expand_path(store, field, rest, account, full) } else { Ok(()) }
}
