//! Routes from template.yaml's HttpApi events to registry handlers, matched like API Gateway:
//! literal segments win over `{param}` segments.

use azora_api::registry::{self, Entry, HttpHandler, JobHandler, SqsHandler};
use azora_stack::Template;
use std::collections::HashMap;

#[derive(Clone)]
pub struct Route {
    pub method: String,
    /// e.g. `/api/courses/{courseId}`
    pub path: String,
    pub binary: String,
    pub handler: HttpHandler,
}

#[derive(Clone)]
pub struct Consumer {
    pub queue_logical_id: String,
    pub binary: String,
    pub handler: SqsHandler,
}

#[derive(Clone)]
pub struct Routes {
    pub http: Vec<Route>,
    pub consumers: Vec<Consumer>,
    pub jobs: HashMap<String, JobHandler>,
}

#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    #[error("template.yaml function {logical_id} uses binary {binary}, which has no registry entry")]
    Unregistered { logical_id: String, binary: String },
    #[error("template.yaml gives {binary} a {event} event but its registry entry is another kind")]
    WrongKind { binary: String, event: &'static str },
}

impl Routes {
    pub fn from_template(template: &Template) -> Result<Routes, RouteError> {
        let mut routes = Routes { http: Vec::new(), consumers: Vec::new(), jobs: HashMap::new() };
        for f in &template.functions {
            let entry = registry::find(&f.binary)
                .ok_or_else(|| RouteError::Unregistered { logical_id: f.logical_id.clone(), binary: f.binary.clone() })?
                .entry;
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
                });
            }
            for q in &f.sqs_queues {
                let Entry::Sqs(handler) = entry else {
                    return Err(wrong("SQS"));
                };
                routes.consumers.push(Consumer { queue_logical_id: q.clone(), binary: f.binary.clone(), handler });
            }
            if !f.schedules.is_empty() {
                let Entry::Job(handler) = entry else {
                    return Err(wrong("Schedule"));
                };
                routes.jobs.insert(f.binary.clone(), handler);
            }
        }
        Ok(routes)
    }

    /// The best route for a request and its decoded path parameters.
    pub fn find(&self, method: &str, path: &str) -> Option<(&Route, HashMap<String, String>)> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.http
            .iter()
            .filter(|r| r.method == method)
            .filter_map(|r| match_path(&r.path, &segments).map(|(params, literals)| (r, params, literals)))
            .max_by_key(|(_, _, literals)| *literals)
            .map(|(r, params, _)| (r, params))
    }
}

/// Matches segment by segment; returns the parameters and how many literal segments matched.
fn match_path(template: &str, segments: &[&str]) -> Option<(HashMap<String, String>, usize)> {
    let parts: Vec<&str> = template.trim_end_matches('/').split('/').collect();
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

    /// template.yaml, the crates in functions/ and the registry agree one to one.
    #[test]
    fn template_function_crates_and_registry_agree() {
        let template = Template::load_default().unwrap();
        let in_template: BTreeSet<String> = template.functions.iter().map(|f| f.binary.clone()).collect();
        assert_eq!(in_template.len(), template.functions.len(), "two template functions share a binary");
        let crates: BTreeSet<String> = std::fs::read_dir(azora_stack::template::repo_root().join("functions"))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("Cargo.toml").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let registered: BTreeSet<String> = registry::FUNCTIONS.iter().map(|f| f.binary.to_string()).collect();
        assert_eq!(registered.len(), registry::FUNCTIONS.len(), "duplicate registry entry");
        assert_eq!(in_template, crates, "template.yaml functions vs functions/ crates");
        assert_eq!(in_template, registered, "template.yaml functions vs registry");
        for dir in &crates {
            let main = std::fs::read_to_string(
                azora_stack::template::repo_root().join("functions").join(dir).join("src/main.rs"),
            )
            .unwrap();
            assert!(
                main.contains("azora_api::lambda::run(env!(\"CARGO_BIN_NAME\"))"),
                "functions/{dir}/src/main.rs must only wire the registry entry"
            );
            let manifest = std::fs::read_to_string(
                azora_stack::template::repo_root().join("functions").join(dir).join("Cargo.toml"),
            )
            .unwrap();
            assert!(manifest.contains(&format!("name = \"{dir}\"")), "functions/{dir} must build binary {dir}");
        }
        // Every event kind matches its handler kind, and every route is unique.
        let routes = Routes::from_template(&template).unwrap();
        let keys: BTreeSet<(String, String)> = routes.http.iter().map(|r| (r.method.clone(), r.path.clone())).collect();
        assert_eq!(keys.len(), routes.http.len(), "duplicate route in template.yaml");
        for f in registry::FUNCTIONS {
            let def = template.function_by_binary(f.binary).unwrap();
            let has_event = !def.http_routes.is_empty() || !def.sqs_queues.is_empty() || !def.schedules.is_empty();
            assert!(has_event, "{} has no event in template.yaml", f.binary);
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
