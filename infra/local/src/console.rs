//! What the local server adds for the web console (`web/`), and only locally:
//!
//! - the built console (`web/dist`) at `/`, with the SPA fallback to `index.html` for other GETs
//!   (never for `/api`, `/_local` or `/_sandbox`, which keep their own 404s);
//! - `GET /_local/console`: tells the console it runs under the local server (dev sign-in, sandbox
//!   cards); a deployed console gets no such answer and hides both;
//! - `POST /_local/token` `{role, sub, org?}`: a dev JWT for the sign-in screen, minted like
//!   `make token` ([`crate::tokens`]). It exists only here, never in a function;
//! - `GET /_sandbox/3ds/{paymentIntent}`: the Stripe sandbox's 3-D Secure page, forwarded so the
//!   console can show it in a same-origin frame, as Stripe.js shows the bank's page.

use crate::tokens::{TokenSpec, mint_hs256};
use bytes::Bytes;
use http_body_util::Full;
use serde::Deserialize;
use serde_json::json;
use std::path::{Component, Path, PathBuf};

type HyperResponse = hyper::Response<Full<Bytes>>;

/// Dev tokens live as long as `make token`'s.
const DEV_TOKEN_TTL_SECONDS: i64 = 12 * 3600;
const ROLES: &[&str] = &["student", "instructor", "enterprise", "admin", "service"];

/// How the local server signs dev tokens: the HS256 settings the functions verify with.
#[derive(Clone)]
pub struct DevSignIn {
    pub secret: String,
    pub issuer: String,
    pub audience: String,
}

#[derive(Clone, Default)]
pub struct ConsoleOptions {
    /// The built console (`web/dist`); `None` serves no static files.
    pub web_root: Option<PathBuf>,
    /// `None` when tokens are not HS256 (then the sign-in endpoint says so).
    pub dev_sign_in: Option<DevSignIn>,
    /// The Stripe sandbox's base URL (`STRIPE_API_BASE`) whose 3-D Secure page is forwarded.
    pub stripe_sandbox: Option<String>,
}

impl ConsoleOptions {
    /// From the settings the functions run with (`Booted::env`) and the console at `web_root`.
    pub fn from_env(env: &std::collections::BTreeMap<String, String>, web_root: Option<PathBuf>) -> ConsoleOptions {
        let get = |k: &str| env.get(k).cloned().unwrap_or_default();
        let dev_sign_in = (get("JWT_ALGORITHM") == "HS256").then(|| DevSignIn {
            secret: get("JWT_SECRET"),
            issuer: get("JWT_ISSUER"),
            audience: get("JWT_AUDIENCE"),
        });
        let sandbox = get("STRIPE_API_BASE");
        // Only a local sandbox: the real Stripe API has no such page to forward.
        let stripe_sandbox =
            (sandbox.starts_with("http://127.0.0.1") || sandbox.starts_with("http://localhost")).then_some(sandbox);
        ConsoleOptions { web_root, dev_sign_in, stripe_sandbox }
    }

    /// `web/dist` in this checkout (the crate sits at `infra/local`).
    pub fn default_web_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
    }
}

/// Answers the console's requests; `None` leaves the request to the API router.
pub async fn handle(
    options: &ConsoleOptions,
    method: &str,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Option<HyperResponse> {
    match (method, path) {
        ("GET", "/_local/console") => Some(json_response(
            200,
            json!({
                "local": true,
                "devSignIn": options.dev_sign_in.is_some(),
                "sandbox3ds": options.stripe_sandbox.is_some(),
            }),
        )),
        ("POST", "/_local/token") => Some(mint_dev_token(options, body)),
        ("GET", p) if p.starts_with("/_sandbox/3ds/") => Some(forward_3ds(options, p, query).await),
        ("GET" | "HEAD", p) if !is_reserved(p) => {
            let root = options.web_root.clone()?;
            let path = p.to_string();
            let head = method == "HEAD";
            tokio::task::spawn_blocking(move || static_file(&root, &path, head)).await.ok().flatten()
        }
        _ => None,
    }
}

/// Paths the console must never answer, so their own routes (or 404s) stay authoritative.
fn is_reserved(path: &str) -> bool {
    ["/api", "/_local", "/_sandbox"].iter().any(|prefix| path == *prefix || path.starts_with(&format!("{prefix}/")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    role: String,
    sub: String,
    org: Option<String>,
}

fn mint_dev_token(options: &ConsoleOptions, body: &[u8]) -> HyperResponse {
    let Some(signer) = &options.dev_sign_in else {
        return error_response(404, "dev_sign_in_unavailable", "Dev sign-in needs JWT_ALGORITHM=HS256.");
    };
    let request: TokenRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return error_response(400, "validation_failed", &format!("Expected {{role, sub, org?}}: {e}")),
    };
    if !ROLES.contains(&request.role.as_str()) {
        return field_error("role", &format!("role must be one of {}", ROLES.join(", ")));
    }
    let sub = request.sub.trim();
    if sub.is_empty() || sub.len() > 128 || sub.chars().any(char::is_whitespace) {
        return field_error("sub", "user id: 1–128 characters, no spaces");
    }
    let org = request.org.as_deref().map(str::trim).filter(|o| !o.is_empty());
    let roles = [request.role.as_str()];
    let spec = TokenSpec { sub, roles: &roles, org, ttl_seconds: DEV_TOKEN_TTL_SECONDS };
    match mint_hs256(signer.secret.as_bytes(), &signer.issuer, &signer.audience, &spec) {
        Ok(token) => json_response(
            201,
            json!({
                "token": token,
                "sub": sub,
                "roles": roles,
                "org": org,
                "expiresAt": jiff::Timestamp::now().as_second() + DEV_TOKEN_TTL_SECONDS,
            }),
        ),
        Err(e) => error_response(500, "internal", &format!("cannot sign: {e}")),
    }
}

async fn forward_3ds(options: &ConsoleOptions, path: &str, query: Option<&str>) -> HyperResponse {
    let Some(base) = &options.stripe_sandbox else {
        return error_response(404, "route_not_found", "No local Stripe sandbox to forward to.");
    };
    let url = match query {
        Some(q) => format!("{}{}?{q}", base.trim_end_matches('/'), path),
        None => format!("{}{}", base.trim_end_matches('/'), path),
    };
    // The sandbox answers a completed challenge with a redirect to the return URL, if any; the
    // frame should see that redirect itself.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build();
    let sent = match client {
        Ok(c) => c.get(&url).send().await,
        Err(e) => return error_response(502, "sandbox_unavailable", &e.to_string()),
    };
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            return error_response(502, "sandbox_unavailable", &format!("The Stripe sandbox did not answer: {e}"));
        }
    };
    let mut builder = hyper::Response::builder().status(response.status().as_u16());
    for name in [http::header::CONTENT_TYPE, http::header::LOCATION] {
        if let Some(v) = response.headers().get(&name) {
            builder = builder.header(name, v.as_bytes());
        }
    }
    let body = response.bytes().await.unwrap_or_default();
    builder.body(Full::new(body)).unwrap_or_default()
}

/// A file under `root`, or `index.html` for a path without a file extension (a console route).
fn static_file(root: &Path, path: &str, head: bool) -> Option<HyperResponse> {
    let relative = path.trim_start_matches('/');
    let candidate = Path::new(relative);
    // Only plain names below the root: no `..`, no absolute parts.
    if !candidate.components().all(|c| matches!(c, Component::Normal(_))) {
        return Some(error_response(404, "not_found", "No such file."));
    }
    let file = root.join(candidate);
    let (file, is_index) = if relative.is_empty() || file.is_dir() {
        (root.join("index.html"), true)
    } else if file.is_file() {
        (file, false)
    } else if candidate.extension().is_none() {
        (root.join("index.html"), true)
    } else {
        return Some(error_response(404, "not_found", "No such file."));
    };
    let bytes = match std::fs::read(&file) {
        Ok(b) => b,
        Err(_) if is_index => {
            return Some(error_response(
                503,
                "console_not_built",
                "The web console is not built: run `make dev` (or `npm run build` in web/).",
            ));
        }
        Err(_) => return Some(error_response(404, "not_found", "No such file.")),
    };
    // Hashed assets never change; index.html must be re-read to pick up a new build.
    let cache = if relative.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let body = if head { Bytes::new() } else { Bytes::from(bytes) };
    hyper::Response::builder()
        .status(200)
        .header("content-type", content_type(&file))
        .header("cache-control", cache)
        .header("x-content-type-options", "nosniff")
        .body(Full::new(body))
        .ok()
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn json_response(status: u16, value: serde_json::Value) -> HyperResponse {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(value.to_string())))
        .unwrap_or_default()
}

fn error_response(status: u16, code: &str, message: &str) -> HyperResponse {
    json_response(status, json!({ "error": { "code": code, "message": message } }))
}

fn field_error(field: &str, message: &str) -> HyperResponse {
    json_response(400, json!({ "error": { "code": "validation_failed", "message": message, "field": field } }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefixes_are_never_the_console_s() {
        for p in ["/api", "/api/courses/list", "/_local/jobs/x", "/_sandbox/3ds/pi_1", "/_local"] {
            assert!(is_reserved(p), "{p}");
        }
        for p in ["/", "/catalog", "/apis", "/assets/index.js", "/_localish"] {
            assert!(!is_reserved(p), "{p}");
        }
    }

    #[test]
    fn static_files_stay_under_the_root_and_routes_fall_back_to_index() {
        let root = std::env::temp_dir().join(format!("azora-console-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(root.join("assets")).unwrap();
        std::fs::write(root.join("index.html"), "<!doctype html>app").unwrap();
        std::fs::write(root.join("assets/app.js"), "console.log(1)").unwrap();
        let body = |r: HyperResponse| {
            let status = r.status().as_u16();
            let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap_or("").to_string());
            (status, ct.unwrap_or_default())
        };
        assert_eq!(body(static_file(&root, "/", false).unwrap()), (200, "text/html; charset=utf-8".into()));
        assert_eq!(body(static_file(&root, "/courses/c-1", false).unwrap()), (200, "text/html; charset=utf-8".into()));
        assert_eq!(
            body(static_file(&root, "/assets/app.js", false).unwrap()),
            (200, "text/javascript; charset=utf-8".into())
        );
        assert_eq!(static_file(&root, "/assets/missing.js", false).unwrap().status(), 404);
        assert_eq!(static_file(&root, "/../Cargo.toml", false).unwrap().status(), 404);
        std::fs::remove_dir_all(&root).unwrap();
        let unbuilt = static_file(&root, "/", false).unwrap();
        assert_eq!(unbuilt.status(), 503);
    }
}
