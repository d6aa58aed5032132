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
    #[error(
        "template.yaml function {logical_id} uses binary {binary}, which has no registry entry"
    )]
    Unregistered { logical_id: String, binary: String },
    #[error("template.yaml gives {binary} a {event} event but its registry entry is another kind")]
    WrongKind { binary: String, event: &'static str },
}

impl Routes {
    pub fn from_template(template: &Template) -> Result<Routes, RouteError> {
        let mut routes = Routes {
            http: Vec::new(),
            consumers: Vec::new(),
            jobs: HashMap::new(),
        };
        for f in &template.functions {
            let entry = registry::find(&f.binary)
                .ok_or_else(|| RouteError::Unregistered {
                    logical_id: f.logical_id.clone(),
                    binary: f.binary.clone(),
                })?
                .entry;
            let wrong = |event| RouteError::WrongKind {
                binary: f.binary.clone(),
                event,
            };
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
                routes.consumers.push(Consumer {
                    queue_logical_id: q.clone(),
                    binary: f.binary.clone(),
                    handler,
                });
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
            .filter_map(|r| {
                match_path(&r.path, &segments).map(|(params, literals)| (r, params, literals))
            })
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
            let decoded = percent_encoding::percent_decode_str(seg)
                .decode_utf8()
                .ok()?;
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
