//! The route table of the Stripe API (`/v1/...`): each resource module contributes its routes
//! (method, path pattern with `{param}` segments, accepted top-level parameters, handler).
//! Handlers are plain functions over [`Ctx`], run while the store is locked.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::store::{EventSource, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Delete,
}

impl Method {
    pub fn parse(m: &str) -> Option<Method> {
        match m {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "DELETE" => Some(Method::Delete),
            _ => None,
        }
    }
}

pub type Handler = fn(&mut Ctx<'_>) -> ApiResult<Value>;

pub struct Route {
    pub method: Method,
    /// e.g. `/v1/payment_intents/{id}/confirm`.
    pub pattern: &'static str,
    /// Top-level parameters the endpoint accepts (besides `expand`); others are
    /// `parameter_unknown`, as on Stripe.
    pub params: &'static [&'static str],
    pub handler: Handler,
}

impl Route {
    pub const fn new(
        method: Method,
        pattern: &'static str,
        params: &'static [&'static str],
        handler: Handler,
    ) -> Route {
        Route { method, pattern, params, handler }
    }

    /// The captured `{…}` segments when `path` matches.
    fn captures(&self, path: &str) -> Option<Vec<String>> {
        let mut pattern = self.pattern.split('/');
        let mut actual = path.split('/');
        let mut captured = Vec::new();
        loop {
            match (pattern.next(), actual.next()) {
                (None, None) => return Some(captured),
                (Some(p), Some(a)) if p.starts_with('{') && p.ends_with('}') => {
                    if a.is_empty() {
                        return None;
                    }
                    captured.push(a.to_string());
                }
                (Some(p), Some(a)) if p == a => {}
                _ => return None,
            }
        }
    }
}

/// The first route matching the method and path, with its captured path parameters.
pub fn find<'r>(routes: &'r [Route], method: Method, path: &str) -> Option<(&'r Route, Vec<String>)> {
    routes.iter().filter(|r| r.method == method).find_map(|r| r.captures(path).map(|c| (r, c)))
}

/// Facts about the API request being handled.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    pub idempotency_key: Option<String>,
    /// `Stripe-Account`.
    pub account: Option<String>,
    /// The sandbox's own base URL (for URLs it hands out, e.g. 3-D Secure pages).
    pub base_url: String,
}

impl RequestMeta {
    pub fn source(&self) -> EventSource {
        EventSource {
            request_id: self.request_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            account: self.account.clone(),
            at: None,
        }
    }
}

pub struct Ctx<'a> {
    pub store: &'a mut Store,
    pub params: &'a Params,
    pub path: Vec<String>,
    pub meta: &'a RequestMeta,
}

impl Ctx<'_> {
    /// The `i`th captured path segment.
    pub fn path(&self, i: usize) -> &str {
        self.path.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn account(&self) -> Option<&str> {
        self.meta.account.as_deref()
    }

    /// A copy of the object named in the URL path, or Stripe's 404.
    pub fn load(&self, kind: &str, label: &str, id: &str) -> ApiResult<Value> {
        self.store.find(kind, id, self.account()).cloned().ok_or_else(|| ApiError::not_found(label, id))
    }

    /// A copy of the object named by a parameter, or Stripe's 400 `resource_missing`.
    pub fn load_ref(&self, kind: &str, label: &str, id: &str, param: &str) -> ApiResult<Value> {
        self.store.find(kind, id, self.account()).cloned().ok_or_else(|| ApiError::missing_reference(label, id, param))
    }

    pub fn save(&mut self, value: &Value) -> ApiResult<()> {
        let account = self.meta.account.clone();
        self.store.put(value.clone(), account.as_deref())
    }

    pub fn emit(&mut self, event_type: &str, object: &Value) -> String {
        let source = self.meta.source();
        self.store.emit(&source, event_type, object, None)
    }

    pub fn emit_updated(&mut self, event_type: &str, old: &Value, new: &Value) -> Option<String> {
        let previous = crate::store::previous_attributes(old, new)?;
        let source = self.meta.source();
        Some(self.store.emit(&source, event_type, new, Some(previous)))
    }

    pub fn now(&self) -> i64 {
        self.store.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(_: &mut Ctx<'_>) -> ApiResult<Value> {
        Ok(Value::Null)
    }

    #[test]
    fn patterns_capture_segments() {
        let routes = [
            Route::new(Method::Get, "/v1/customers/search", &[], ok),
            Route::new(Method::Get, "/v1/customers/{id}", &[], ok),
            Route::new(Method::Post, "/v1/payment_intents/{id}/confirm", &[], ok),
        ];
        let (r, c) = find(&routes, Method::Get, "/v1/customers/cus_1").unzip();
        assert_eq!(r.map(|r| r.pattern), Some("/v1/customers/{id}"));
        assert_eq!(c, Some(vec!["cus_1".to_string()]));
        let (r, _) = find(&routes, Method::Get, "/v1/customers/search").unzip();
        assert_eq!(r.map(|r| r.pattern), Some("/v1/customers/search"));
        assert!(find(&routes, Method::Post, "/v1/payment_intents/pi_1/confirm").is_some());
        assert!(find(&routes, Method::Get, "/v1/payment_intents/pi_1/confirm").is_none());
        assert!(find(&routes, Method::Get, "/v1/customers/").is_none());
        assert!(find(&routes, Method::Get, "/v1/customers/a/b").is_none());
    }
}
