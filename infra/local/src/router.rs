//! Routes from template.yaml's HttpApi events to the functions' handlers, matched like API
//! Gateway: literal segments win over `{param}` segments. Each route, consumer and job carries its
//! function's own state, built from that function's environment alone.

use crate::functions;
use azora_api::AppState;
use azora_api::config::ConfigError;
use azora_api::lambda::{Entry, HttpHandler, JobHandler, SqsHandler};
use azora_api::needs::Needs;
use azora_stack::Template;
use azora_stack::template::FunctionDef;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone)]
pub struct Route {
    pub method: String,
    /// e.g. `/api/courses/{courseId}`
    pub path: String,
    pub binary: String,
    pub handler: HttpHandler,
    pub state: Arc<AppState>,
}

#[derive(Clone)]
pub struct Consumer {
    pub queue_logical_id: String,
    pub binary: String,
    pub handler: SqsHandler,
    pub state: Arc<AppState>,
}

#[derive(Clone)]
pub struct Routes {
    pub http: Vec<Route>,
    pub consumers: Vec<Consumer>,
    pub jobs: HashMap<String, (JobHandler, Arc<AppState>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("template.yaml function {logical_id} uses binary {binary}, which no azora_api::functions constant runs")]
    Unregistered { logical_id: String, binary: String },
    #[error("template.yaml gives {binary} a {event} event but its handler is another kind")]
    WrongKind { binary: String, event: &'static str },
    #[error("function {binary} cannot start: {source}")]
    Config { binary: String, source: ConfigError },
}

impl Routes {
    /// `state_of` builds one function's state from its template definition and declared needs.
    pub fn from_template(
        template: &Template,
        state_of: impl Fn(&FunctionDef, Needs) -> Result<Arc<AppState>, ConfigError>,
    ) -> Result<Routes, RouteError> {
        let mut routes = Routes { http: Vec::new(), consumers: Vec::new(), jobs: HashMap::new() };
        for f in &template.functions {
            let function = functions::find(&f.binary).ok_or_else(|| RouteError::Unregistered {
                logical_id: f.logical_id.clone(),
                binary: f.binary.clone(),
            })?;
            let entry = function.entry;
            let state = state_of(f, function.needs)
                .map_err(|source| RouteError::Config { binary: f.binary.clone(), source })?;
            let wrong = |event| RouteError::WrongKind { binary: f.binary.clone(), event };
            for r in &f.http_routes {
                let Entry::Http(handler) = entry else {
                    return Err(wrong("HttpApi"));
                };
                routes.http.push(Route {
                    method: r.method.clone(),
                    path: r.path.clone(),
                    binary: f.binary.clone(),
                    handler,
                    state: state.clone(),
                });
            }
            for q in &f.sqs_queues {
                let Entry::Sqs(handler) = entry else {
                    return Err(wrong("SQS"));
                };
                routes.consumers.push(Consumer {
                    queue_logical_id: q.clone(),
                    binary: f.binary.clone(),
                    handler,
                    state: state.clone(),
                });
            }
            // Scheduled jobs and user-pool triggers: invoked with an event, answering a value
            // (locally through `POST /_local/jobs/<binary>`).
            if !f.schedules.is_empty() || !f.cognito_triggers.is_empty() {
                let Entry::Job(handler) = entry else {
                    return Err(wrong("Schedule"));
                };
                routes.jobs.insert(f.binary.clone(), (handler, state.clone()));
            }
        }
        Ok(routes)
    }

    /// The best route for a request and its decoded path parameters: as API Gateway chooses, a
    /// route with the request's method before `ANY`, and without a greedy `{proxy+}` before one
    /// with it, then the most literal segments.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route, HashMap<String, String>)> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.http
            .iter()
            .filter(|r| r.method == method || r.method == "ANY")
            .filter_map(|r| match_path(&r.path, &segments).map(|(params, literals)| (r, params, literals)))
            .max_by_key(|(r, _, literals)| (!r.path.ends_with("+}"), r.method != "ANY", *literals))
            .map(|(r, params, _)| (r, params))
    }
}

/// Matches segment by segment; returns the parameters and how many literal segments matched.
fn match_path(template: &str, segments: &[&str]) -> Option<(HashMap<String, String>, usize)> {
    let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
    if let Some((last, fixed)) = parts.split_last()
        && last.ends_with("+}")
    {
        // A greedy parameter takes one or more trailing segments.
        if segments.len() <= fixed.len() || !fixed.iter().zip(segments).all(|(p, s)| p == s) {
            return None;
        }
        let name = last.trim_start_matches('{').trim_end_matches("+}").to_string();
        return Some((HashMap::from([(name, segments[fixed.len()..].join("/"))]), fixed.len()));
    }
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = HashMap::new();
    let mut literals = 0;
    for (part, seg) in parts.iter().zip(segments) {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if seg.is_empty() {
                return None;
            }
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8().ok()?;
            params.insert(name.to_string(), decoded.into_owned());
        } else if part == seg {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((params, literals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// A state for each function from the dev settings, without touching AWS.
    fn offline_state(_: &FunctionDef, needs: Needs) -> Result<Arc<AppState>, ConfigError> {
        let mut settings = crate::dev::dev_settings();
        for name in ["EMAIL_QUEUE_URL", "STRIPE_EVENTS_QUEUE_URL", "REWARDS_QUEUE_URL"] {
            settings.insert(name.into(), "http://127.0.0.1:1/queue".into());
        }
        let config = azora_api::config::Config::from_map(needs, &settings)?;
        let sdk = aws_config::SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        AppState::new(config, &sdk)
    }

    /// template.yaml, the crates in functions/ and the name table agree one to one, and each
    /// crate's `main.rs` runs the constant its name says.
    #[test]
    fn template_function_crates_and_name_table_agree() {
        let template = Template::load_default().unwrap();
        let in_template: BTreeSet<String> = template.functions.iter().map(|f| f.binary.clone()).collect();
        assert_eq!(in_template.len(), template.functions.len(), "two template functions share a binary");
        let crates: BTreeSet<String> = std::fs::read_dir(azora_stack::template::repo_root().join("functions"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let registered: BTreeSet<String> = functions::ALL.iter().map(|(c, _)| functions::binary_of(c)).collect();
        assert_eq!(registered.len(), functions::ALL.len(), "duplicate name table entry");
        assert_eq!(in_template, crates, "template.yaml functions vs functions/ crates");
        assert_eq!(in_template, registered, "template.yaml functions vs the local name table");
        for dir in &crates {
            let main = std::fs::read_to_string(
                azora_stack::template::repo_root().join("functions").join(dir).join("src/main.rs"),
            )
            .unwrap();
            let run = format!("azora_api::lambda::run(azora_api::functions::{}).await", functions::constant_of(dir));
            assert!(main.contains(&run), "functions/{dir}/src/main.rs must run {run}");
            let code: String = main.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
            assert_eq!(
                code.matches("azora_api::").count(),
                2,
                "functions/{dir}/src/main.rs must only run its function"
            );
            let manifest = std::fs::read_to_string(
                azora_stack::template::repo_root().join("functions").join(dir).join("Cargo.toml"),
            )
            .unwrap();
            assert!(manifest.contains(&format!("name = \"{dir}\"")), "functions/{dir} must build binary {dir}");
        }
        // Every event kind matches its handler kind, and every route is unique.
        let routes = Routes::from_template(&template, offline_state).unwrap();
        let keys: BTreeSet<(String, String)> = routes.http.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
        assert_eq!(keys.len(), routes.http.len(), "duplicate route in template.yaml");
        for (constant, _) in functions::ALL {
            let binary = functions::binary_of(constant);
            let def = template.function_by_binary(&binary).unwrap();
            let has_event = !def.http_routes.is_empty()
                || !def.sqs_queues.is_empty()
                || !def.schedules.is_empty()
                || !def.cognito_triggers.is_empty();
            assert!(has_event, "{binary} has no event in template.yaml");
        }
    }

    /// The environment contract: template.yaml's Globals hold only the variables every function
    /// reads, and each function gets exactly the variables of its `Needs` — its secrets and no
    /// one else's. (The local server builds each function from that environment alone, so a part
    /// a handler uses but does not declare fails the end-to-end tests.)
    #[test]
    fn each_function_gets_exactly_the_variables_its_code_reads() {
        use azora_api::needs::GLOBAL_VARIABLES;
        let template = Template::load_default().unwrap();
        let globals: BTreeSet<String> = template.raw()["Globals"]["Function"]["Environment"]["Variables"]
            .as_mapping()
            .map(|m| m.keys().filter_map(|k| k.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let expected_globals: BTreeSet<String> = GLOBAL_VARIABLES.iter().map(|v| v.to_string()).collect();
        assert_eq!(globals, expected_globals, "template.yaml Globals environment");
        let mut wrong = Vec::new();
        for f in &template.functions {
            let Some(function) = functions::find(&f.binary) else { continue };
            let expected: BTreeSet<String> = function.needs.variables().iter().map(|v| v.to_string()).collect();
            let actual: BTreeSet<String> = f.env.keys().cloned().collect();
            if expected != actual {
                let missing: Vec<&String> = expected.difference(&actual).collect();
                let extra: Vec<&String> = actual.difference(&expected).collect();
                wrong.push(format!(
                    "{} ({}): missing {missing:?}, not read {extra:?}",
                    f.binary,
                    function.needs.names()
                ));
            }
        }
        assert!(wrong.is_empty(), "template.yaml environments differ from the functions' Needs:\n{}", wrong.join("\n"));
    }

    /// Signing secrets are pinned to their functions: a new holder is a decision to review here.
    #[test]
    fn signing_secrets_reach_only_the_functions_that_sign() {
        let template = Template::load_default().unwrap();
        let holders = |variable: &str| -> BTreeSet<String> {
            template.functions.iter().filter(|f| f.env.contains_key(variable)).map(|f| f.binary.clone()).collect()
        };
        let set = |names: &[&str]| -> BTreeSet<String> { names.iter().map(|n| n.to_string()).collect() };
        // The stripe-events worker issues the license of a paid enterprise quote (reviewed: it
        // signs only after the invoice, customer, amount and currency match the quote's).
        assert_eq!(
            holders("LICENSE_SIGNING_KEY"),
            set(&["enterprise-license-admin", "enterprise-license-create", "stripe-events-worker"])
        );
        assert_eq!(holders("STRIPE_WEBHOOK_SECRET"), set(&["stripe-webhook"]));
        for public in ["enterprise-license-public-key", "enterprise-license-validate", "enterprise-license-activate"] {
            assert!(holders("LICENSE_PUBLIC_KEY").contains(public), "{public}");
        }
    }

    #[test]
    fn literal_segments_beat_parameters() {
        let segs: Vec<&str> = "/api/courses/list".split('/').collect();
        let (_, lit_param) = match_path("/api/courses/{courseId}", &segs).unwrap();
        let (_, lit_literal) = match_path("/api/courses/list", &segs).unwrap();
        assert!(lit_literal > lit_param);
    }

    #[test]
    fn decodes_parameters_and_rejects_other_shapes() {
        let segs: Vec<&str> = "/api/courses/a%20b".split('/').collect();
        let (params, _) = match_path("/api/courses/{courseId}", &segs).unwrap();
        assert_eq!(params["courseId"], "a b");
        assert!(match_path("/api/courses/{courseId}/reviews", &segs).is_none());
        let empty: Vec<&str> = "/api/courses/".split('/').collect();
        assert!(match_path("/api/courses/{courseId}", &empty).is_none());
    }
}
