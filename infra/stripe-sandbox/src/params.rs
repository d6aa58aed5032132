//! Stripe's form encoding: `a=1&metadata[k]=v&expand[0]=x&automatic_payment_methods[enabled]=true`.
//!
//! [`Params`] keeps both views: `flat` (the decoded pairs as sent, keys like `metadata[k]`) and
//! `nested` (keys split on brackets into JSON objects; objects whose keys are all indices become
//! arrays, except under `metadata`; `a[]=x` appends). Every leaf is a string, as on the wire.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// How deep `a[b][c]…` may nest (Stripe's own objects need far fewer levels).
const MAX_DEPTH: usize = 12;

#[derive(Debug, Clone, Default)]
pub struct Params {
    pub flat: Vec<(String, String)>,
    pub nested: Map<String, Value>,
}

impl Params {
    pub fn parse(raw: &[u8]) -> ApiResult<Params> {
        let flat: Vec<(String, String)> = form_urlencoded::parse(raw)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .filter(|(k, _)| !k.is_empty())
            .collect();
        let mut nested = Map::new();
        for (key, value) in &flat {
            let segments = split_key(key);
            if segments.len() > MAX_DEPTH {
                return Err(ApiError::invalid_nocode(format!(
                    "Invalid parameter {key}: parameters can be nested at most {MAX_DEPTH} levels deep."
                )));
            }
            insert(&mut nested, &segments, value.clone()).map_err(|_| {
                ApiError::invalid_nocode(format!(
                    "Invalid value for {key}: it conflicts with another parameter of the same name."
                ))
                .param(segments.first().map(String::as_str).unwrap_or(key))
            })?;
        }
        let nested = match arrays(Value::Object(nested), false) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok(Params { flat, nested })
    }

    /// Builds params from a JSON object (control API bodies), stringifying leaves.
    pub fn from_json(value: &Value) -> Params {
        let mut flat = Vec::new();
        flatten("", value, &mut flat);
        let nested = match stringify(value) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Params { flat, nested }
    }

    /// The flat pairs as a JSON object (a repeated key keeps its last value).
    pub fn flat_json(&self) -> Map<String, Value> {
        self.flat.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect()
    }

    /// A canonical string of the parameters, for idempotency comparisons.
    pub fn fingerprint(&self) -> String {
        let mut pairs = self.flat.clone();
        pairs.sort();
        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.nested.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.nested.contains_key(key)
    }

    /// Rejects top-level parameters the endpoint does not know (Stripe's `parameter_unknown`).
    pub fn check_allowed(&self, allowed: &[&str]) -> ApiResult<()> {
        for key in self.nested.keys() {
            if key != "expand" && !allowed.contains(&key.as_str()) {
                return Err(ApiError::unknown_param(key));
            }
        }
        Ok(())
    }

    /// A string parameter; an empty string counts as absent.
    pub fn str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_str(v, key).map(|s| if s.is_empty() { None } else { Some(s) }),
        }
    }

    pub fn required_str(&self, key: &str) -> ApiResult<String> {
        self.str(key)?.ok_or_else(|| ApiError::missing_param(key))
    }

    /// For updates: `None` = not given, `Some(None)` = unset (empty string), `Some(Some(s))` = set.
    pub fn nullable_str(&self, key: &str) -> ApiResult<Option<Option<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_str(v, key).map(|s| Some(if s.is_empty() { None } else { Some(s) })),
        }
    }

    pub fn i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_i64(v, key).map(Some),
        }
    }

    pub fn required_i64(&self, key: &str) -> ApiResult<i64> {
        self.i64(key)?.ok_or_else(|| ApiError::missing_param(key))
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => value_bool(v, key).map(Some),
        }
    }

    /// A hash parameter (`address[city]=...`); an empty string means "unset" and gives `Some(None)`.
    pub fn object(&self, key: &str) -> ApiResult<Option<Option<&Map<String, Value>>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Some(m))),
            Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
            Some(_) => Err(ApiError::invalid_nocode(format!("Invalid object: {key} must be a hash.")).param(key)),
        }
    }

    /// An array of strings (`expand[0]=a&expand[1]=b` or `expand[]=a`).
    pub fn str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => {
                items.iter().map(|v| value_str(v, key)).collect::<ApiResult<Vec<_>>>().map(Some)
            }
            Some(Value::String(s)) if s.is_empty() => Ok(Some(Vec::new())),
            Some(_) => Err(ApiError::invalid_nocode(format!("Invalid array: {key} must be an array.")).param(key)),
        }
    }

    pub fn expand(&self) -> ApiResult<Vec<String>> {
        Ok(self.str_list("expand")?.unwrap_or_default())
    }
}

pub fn value_str(v: &Value, name: &str) -> ApiResult<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(ApiError::invalid_nocode(format!("Invalid string: {name} must be a string.")).param(name)),
    }
}

pub fn value_i64(v: &Value, name: &str) -> ApiResult<i64> {
    match v {
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("parameter_invalid_integer", format!("Invalid integer: {s}")).param(name)),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| ApiError::invalid("parameter_invalid_integer", format!("Invalid integer: {n}")).param(name)),
        _ => Err(ApiError::invalid("parameter_invalid_integer", "Invalid integer").param(name)),
    }
}

pub fn value_bool(v: &Value, name: &str) -> ApiResult<bool> {
    match v {
        Value::String(s) if s == "true" => Ok(true),
        Value::String(s) if s == "false" => Ok(false),
        Value::Bool(b) => Ok(*b),
        Value::String(s) => {
            Err(ApiError::invalid_nocode(format!("Invalid boolean: {s}. Must be one of: true, false.")).param(name))
        }
        _ => Err(ApiError::invalid_nocode("Invalid boolean").param(name)),
    }
}

/// `a[b][c]` → `["a", "b", "c"]`; `a[]` → `["a", ""]`. A malformed key stays whole.
fn split_key(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    if open == 0 {
        return vec![key.to_string()];
    }
    let mut segments = vec![key[..open].to_string()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            return vec![key.to_string()];
        };
        segments.push(stripped[..close].to_string());
        rest = &stripped[close + 1..];
    }
    if !rest.is_empty() {
        return vec![key.to_string()];
    }
    segments
}

fn insert(node: &mut Map<String, Value>, segments: &[String], value: String) -> Result<(), ()> {
    let Some((first, rest)) = segments.split_first() else {
        return Err(());
    };
    if rest.is_empty() {
        if let Some(Value::Object(_) | Value::Array(_)) = node.get(first) {
            return Err(());
        }
        node.insert(first.clone(), Value::String(value));
        return Ok(());
    }
    if rest.len() == 1 && rest[0].is_empty() {
        // `a[]=x`: append.
        let entry = node.entry(first.clone()).or_insert_with(|| Value::Array(Vec::new()));
        return match entry {
            Value::Array(items) => {
                items.push(Value::String(value));
                Ok(())
            }
            _ => Err(()),
        };
    }
    let entry = node.entry(first.clone()).or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(child) => insert(child, rest, value),
        _ => Err(()),
    }
}

/// Objects keyed only by indices become arrays (ordered by index), except metadata hashes.
fn arrays(value: Value, in_metadata: bool) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if all_indices && !in_metadata {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse::<usize>().unwrap_or(usize::MAX), arrays(v, false)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(
                    map.into_iter()
                        .map(|(k, v)| {
                            let meta = k == "metadata";
                            (k, if meta { v } else { arrays(v, false) })
                        })
                        .collect(),
                )
            }
        }
        other => other,
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}[{k}]") };
                flatten(&key, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

fn stringify(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), stringify(v))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(stringify).collect()),
        Value::Null => Value::String(String::new()),
        Value::String(s) => Value::String(s.clone()),
        other => Value::String(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_and_arrays() {
        let p = Params::parse(
            b"amount=100&metadata[paymentId]=p%201&metadata[0]=zero&expand[0]=latest_charge&expand[1]=customer&automatic_payment_methods[enabled]=true&types[]=a&types[]=b",
        )
        .unwrap_or_default();
        assert_eq!(
            Value::Object(p.nested.clone()),
            json!({
                "amount": "100",
                "metadata": {"paymentId": "p 1", "0": "zero"},
                "expand": ["latest_charge", "customer"],
                "automatic_payment_methods": {"enabled": "true"},
                "types": ["a", "b"],
            })
        );
        assert_eq!(p.flat_json()["metadata[paymentId]"], "p 1");
        assert_eq!(p.i64("amount").ok().flatten(), Some(100));
        assert!(p.i64("metadata").is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_recursed() {
        let key = format!("a{}", "[x]".repeat(100_000));
        assert!(Params::parse(format!("{key}=1").as_bytes()).is_err());
        assert!(Params::parse(b"a[b][c][d]=1").is_ok());
    }

    #[test]
    fn conflicting_keys_are_rejected() {
        assert!(Params::parse(b"a=1&a[b]=2").is_err());
        assert!(Params::parse(b"a[b]=2&a=1").is_err());
    }

    #[test]
    fn bad_scalars_give_stripe_errors() {
        let p = Params::parse(b"amount=abc&confirm=yes").unwrap_or_default();
        let err = p.i64("amount").err().map(|e| e.code);
        assert_eq!(err, Some(Some("parameter_invalid_integer")));
        assert!(p.bool("confirm").is_err());
    }

    #[test]
    fn json_bodies_become_params() {
        let p = Params::from_json(&json!({"payment_method": "pm_card_visa", "n": 2, "m": {"a": "b"}}));
        assert_eq!(p.str("payment_method").ok().flatten().as_deref(), Some("pm_card_visa"));
        assert_eq!(p.i64("n").ok().flatten(), Some(2));
        assert!(p.flat.contains(&("m[a]".to_string(), "b".to_string())));
    }
}
