//! Stripe's list envelope and cursor pagination (`limit`, `starting_after`, `ending_before`,
//! `created[gt|gte|lt|lte]`) over items already sorted newest first.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::params::{Params, value_i64};

pub fn list_response(items: Vec<Value>, url: &str, params: &Params) -> ApiResult<Value> {
    let limit = params.i64("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(
            ApiError::invalid_nocode(format!("Invalid limit: must be between 1 and 100, got {limit}")).param("limit")
        );
    }
    let limit = limit as usize;
    let items = filter_created(items, params)?;
    let position = |param: &str| -> ApiResult<Option<usize>> {
        let Some(cursor) = params.str(param)? else {
            return Ok(None);
        };
        items
            .iter()
            .position(|v| v.get("id").and_then(Value::as_str) == Some(cursor.as_str()))
            .map(Some)
            .ok_or_else(|| ApiError::missing_reference("object", &cursor, param))
    };
    let (page, has_more): (Vec<Value>, bool) = if let Some(after) = position("starting_after")? {
        let rest: Vec<Value> = items.into_iter().skip(after + 1).collect();
        let more = rest.len() > limit;
        (rest.into_iter().take(limit).collect(), more)
    } else if let Some(before) = position("ending_before")? {
        let head: Vec<Value> = items.into_iter().take(before).collect();
        let more = head.len() > limit;
        let skip = head.len().saturating_sub(limit);
        (head.into_iter().skip(skip).collect(), more)
    } else {
        let more = items.len() > limit;
        (items.into_iter().take(limit).collect(), more)
    };
    Ok(json!({ "object": "list", "data": page, "has_more": has_more, "url": url }))
}

fn filter_created(items: Vec<Value>, params: &Params) -> ApiResult<Vec<Value>> {
    let Some(created) = params.get("created") else {
        return Ok(items);
    };
    let mut bounds: Vec<(String, i64)> = Vec::new();
    match created {
        Value::Object(map) => {
            for (op, v) in map {
                if !["gt", "gte", "lt", "lte"].contains(&op.as_str()) {
                    return Err(ApiError::unknown_param(&format!("created[{op}]")));
                }
                bounds.push((op.clone(), value_i64(v, "created")?));
            }
        }
        other => bounds.push(("eq".into(), value_i64(other, "created")?)),
    }
    Ok(items
        .into_iter()
        .filter(|item| {
            let t = item.get("created").and_then(Value::as_i64).unwrap_or(0);
            bounds.iter().all(|(op, b)| match op.as_str() {
                "gt" => t > *b,
                "gte" => t >= *b,
                "lt" => t < *b,
                "lte" => t <= *b,
                _ => t == *b,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        (0..5).rev().map(|i| json!({"id": format!("o{i}"), "created": 100 + i})).collect()
    }

    fn ids(list: &Value) -> Vec<String> {
        list["data"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v["id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    #[test]
    fn paginates_newest_first() {
        let p = Params::parse(b"limit=2").unwrap_or_default();
        let page = list_response(items(), "/v1/x", &p).unwrap_or_default();
        assert_eq!(ids(&page), ["o4", "o3"]);
        assert_eq!(page["has_more"], true);
        let p = Params::parse(b"limit=2&starting_after=o3").unwrap_or_default();
        let page = list_response(items(), "/v1/x", &p).unwrap_or_default();
        assert_eq!(ids(&page), ["o2", "o1"]);
        let p = Params::parse(b"limit=2&ending_before=o1").unwrap_or_default();
        let page = list_response(items(), "/v1/x", &p).unwrap_or_default();
        assert_eq!(ids(&page), ["o3", "o2"]);
        assert_eq!(page["has_more"], true);
        let p = Params::parse(b"created[gte]=103").unwrap_or_default();
        let page = list_response(items(), "/v1/x", &p).unwrap_or_default();
        assert_eq!(ids(&page), ["o4", "o3"]);
        assert!(list_response(items(), "/v1/x", &Params::parse(b"limit=0").unwrap_or_default()).is_err());
    }
}
