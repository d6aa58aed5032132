//! `spawn_app()`: a fresh table and fresh queues on the running local services, and the local
//! server on a random port in this process, so every test starts from clean state and tests run
//! in parallel. The services themselves are started by `make test` (infra/scripts/start.sh).

pub mod invariants;

use azora_domain::course::{CourseOffer, CourseStatus};
use azora_domain::{Currency, Money, UserId};
use azora_local::dev::{BootOptions, Booted, DEV_DEFAULTS, boot};
use azora_local::tokens::{TokenSpec, mint_hs256};
use azora_stripe_sandbox::{Sandbox, SandboxHandle, SandboxOptions};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub const TEST_SECRET: &str = "end-to-end-test-secret-0123456789abcdef";
pub const TEST_ISSUER: &str = "https://auth.azora.test/";
pub const TEST_AUDIENCE: &str = "azora-monetization";
pub const TEST_WEBHOOK_SECRET: &str = "whsec_end_to_end_tests";

pub struct TestApp {
    pub base_url: String,
    pub http: reqwest::Client,
    pub booted: Booted,
    pub moto_url: String,
    /// This test's own Stripe sandbox; it delivers webhooks to this app.
    pub stripe: SandboxHandle,
}

#[derive(Default)]
pub struct AppOptions {
    pub settings: BTreeMap<String, String>,
    pub force_base64_bodies: bool,
    /// How long the sandbox keeps a charge's funds pending before the platform can transfer them
    /// (`SandboxOptions::available_after`). `None`: available at once, so tests that pay
    /// instructors right after a sale need not move the sandbox clock; `Some(2 days)` is Stripe's
    /// behaviour (then advance the sandbox clock, e.g. `app.stripe.advance_clock(..)`).
    pub stripe_available_after: Option<Duration>,
}

pub fn require_stack() -> String {
    for name in ["AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "MOTO_URL"] {
        assert!(
            std::env::var(name).is_ok(),
            "{name} is not set: these tests need the local stack. Run `make test`, or `source $(infra/scripts/start.sh test)` first."
        );
    }
    std::env::var("MOTO_URL").unwrap_or_default()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(AppOptions::default()).await
}

pub async fn spawn_app_with(options: AppOptions) -> TestApp {
    let moto_url = require_stack();
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let mut settings: BTreeMap<String, String> =
        DEV_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    settings.insert("TABLE_NAME".into(), format!("azora-test-{run}"));
    settings.insert("JWT_SECRET".into(), TEST_SECRET.into());
    settings.insert("JWT_ISSUER".into(), TEST_ISSUER.into());
    settings.insert("JWT_AUDIENCE".into(), TEST_AUDIENCE.into());
    let stripe = Sandbox::start(SandboxOptions {
        webhook_secret: TEST_WEBHOOK_SECRET.into(),
        retry_delays: vec![Duration::from_millis(200), Duration::from_millis(500)],
        available_after: options.stripe_available_after.unwrap_or(Duration::ZERO),
        ..SandboxOptions::default()
    })
    .await
    .expect("stripe sandbox starts");
    settings.insert("STRIPE_API_BASE".into(), stripe.base_url());
    settings.insert("DNS_RESOLVER_URL".into(), format!("{}dns-query", stripe.base_url()));
    settings.insert("STRIPE_SECRET_KEY".into(), "sk_test_end_to_end".into());
    settings.insert("STRIPE_WEBHOOK_SECRET".into(), TEST_WEBHOOK_SECRET.into());
    settings.extend(options.settings);
    let booted = boot(BootOptions {
        settings,
        queue_prefix: format!("t{}-", &run[run.len() - 10..]),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        run_consumers: true,
        force_base64_bodies: options.force_base64_bodies,
    })
    .await
    .expect("local stack boots");
    stripe.set_webhook_url(format!("{}/api/webhooks/stripe", booted.server.base_url()));
    TestApp { base_url: booted.server.base_url(), http: reqwest::Client::new(), booted, moto_url, stripe }
}

/// A unique user id, so tests sharing moto never see each other's mail.
/// A valid `Stripe-Signature` header for `payload`, made by async-stripe's signer (not by the
/// verifier under test).
pub fn sign_webhook(payload: &str, secret: &str, timestamp: i64) -> String {
    stripe_webhook::Webhook::generate_test_header(payload, secret, Some(timestamp))
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

impl TestApp {
    pub fn token(&self, sub: &str, roles: &[&str]) -> String {
        self.token_with(&TokenSpec { sub, roles, org: None, ttl_seconds: 600 })
    }

    pub fn token_with(&self, spec: &TokenSpec<'_>) -> String {
        mint_hs256(TEST_SECRET.as_bytes(), TEST_ISSUER, TEST_AUDIENCE, spec).expect("token")
    }

    /// A token that also carries an `email` claim (receipts go there).
    pub fn token_with_email(&self, sub: &str, roles: &[&str], email: &str) -> String {
        self.token_with_email_and_org(sub, roles, email, None)
    }

    /// A token with an `email` claim and, when given, an `org` claim.
    pub fn token_with_email_and_org(&self, sub: &str, roles: &[&str], email: &str, org: Option<&str>) -> String {
        let now = jiff::Timestamp::now().as_second();
        let mut claims = serde_json::json!({
            "sub": sub, "roles": roles, "email": email, "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "exp": now + 600
        });
        if let Some(org) = org {
            claims["org"] = serde_json::json!(org);
        }
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
        )
        .expect("token")
    }

    /// A published course for sale, written straight to the table; returns its id.
    pub async fn seed_course(&self, instructor: &str, amount: i64, currency: &str) -> String {
        let id = unique("course");
        let offer = CourseOffer {
            id: id.clone(),
            instructor_id: UserId::parse(instructor).expect("instructor id"),
            title: format!("Course {id}"),
            price: Money::new(amount, Currency::parse(currency).expect("currency")),
            status: CourseStatus::Published,
        };
        self.booted.state.store.put_course_offer(&offer).await.expect("course written");
        id
    }

    /// Polls `GET /api/payments/{id}` until `done` holds (the worker runs asynchronously).
    pub async fn wait_for_payment(&self, payment_id: &str, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, payment) = json_of(self.get(&format!("/api/payments/{payment_id}"), Some(token)).await).await;
            if done(&payment) {
                return payment;
            }
            assert!(Instant::now() < deadline, "payment never reached the expected state: {payment}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn sandbox_post(&self, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}{}", self.stripe.base_url().trim_end_matches('/'), path))
            .json(&body)
            .send()
            .await;
        let (status, body) = json_of(resp.expect("sandbox answers")).await;
        assert_eq!(status, 200, "sandbox {path}: {body}");
        body
    }

    /// API requests the sandbox received for `method path`, oldest first.
    pub async fn stripe_requests(&self, method: &str, path: &str) -> Vec<Value> {
        let (_, all) = json_of(
            self.http.get(format!("{}_sandbox/requests", self.stripe.base_url())).send().await.expect("sandbox"),
        )
        .await;
        all["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["method"] == method && r["path"] == path)
            .cloned()
            .collect()
    }

    /// The id of the one sandbox event of `event_type` (panics if there is not exactly one).
    pub async fn sandbox_event(&self, event_type: &str) -> String {
        let (_, all) =
            json_of(self.http.get(format!("{}_sandbox/events", self.stripe.base_url())).send().await.expect("sandbox"))
                .await;
        let matching: Vec<&Value> =
            all["data"].as_array().into_iter().flatten().filter(|e| e["type"] == event_type).collect();
        assert_eq!(matching.len(), 1, "expected one {event_type} event");
        matching[0]["id"].as_str().expect("event id").to_string()
    }

    /// Delivers a sandbox event to this app now; returns the HTTP statuses our endpoint answered.
    pub async fn deliver(&self, event_id: &str, options: Value) -> Vec<u16> {
        let out = self.sandbox_post(&format!("/_sandbox/events/{event_id}/deliver"), options).await;
        out["statuses"].as_array().into_iter().flatten().map(|s| s.as_u64().unwrap_or(0) as u16).collect()
    }

    /// Posts an event signed with our webhook secret, as Stripe would (for events the sandbox
    /// cannot produce: disputes, failed refunds, other accounts' events). `extra` overrides
    /// envelope fields (`account`, `livemode`). Returns our endpoint's status.
    pub async fn signed_event(&self, event_type: &str, object: Value, extra: Value) -> u16 {
        let mut event = serde_json::json!({
            "id": unique("evt"), "object": "event", "type": event_type, "api_version": "2026-09-30.endive",
            "created": jiff::Timestamp::now().as_second(), "livemode": false, "pending_webhooks": 1,
            "request": { "id": null, "idempotency_key": null }, "data": { "object": object },
        });
        if let (Some(e), Some(x)) = (event.as_object_mut(), extra.as_object()) {
            e.extend(x.clone());
        }
        let payload = event.to_string();
        let header = sign_webhook(&payload, TEST_WEBHOOK_SECRET, jiff::Timestamp::now().as_second());
        let resp = self
            .request(Method::POST, "/api/webhooks/stripe", None)
            .header("stripe-signature", header)
            .header("content-type", "application/json")
            .body(payload)
            .send()
            .await
            .expect("request sent");
        resp.status().as_u16()
    }

    /// The PaymentIntent behind one of our payments.
    pub async fn payment_intent_of(&self, payment_id: &str) -> String {
        let payment = self.booted.state.store.get_payment(payment_id).await.expect("store").expect("payment exists");
        payment.stripe_payment_intent_id.expect("payment intent linked")
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base_url));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        rb
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        self.request(Method::GET, path, token).send().await.expect("request sent")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, idempotency_key: Option<&str>, body: &Value) -> Response {
        let mut rb = self.request(Method::POST, path, token).json(body);
        if let Some(k) = idempotency_key {
            rb = rb.header("Idempotency-Key", k);
        }
        rb.send().await.expect("request sent")
    }

    /// Emails moto's SES has accepted for `to`.
    pub async fn sent_emails(&self, to: &str) -> Vec<Value> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.moto_url))
            .send()
            .await
            .expect("moto answers")
            .json()
            .await
            .expect("moto data is JSON");
        data["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["destinations"]["ToAddresses"].as_array().is_some_and(|a| a.iter().any(|x| x == to)))
            .cloned()
            .collect()
    }

    /// Waits until an email matching `wanted` reached `to` (other mail may arrive first); returns
    /// every email to `to` at that point.
    pub async fn wait_for_email_where(&self, to: &str, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let emails = self.sent_emails(to).await;
            if emails.iter().any(&wanted) || Instant::now() > deadline {
                return emails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until at least `count` emails reached `to` (the email worker runs asynchronously).
    pub async fn wait_for_emails(&self, to: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let emails = self.sent_emails(to).await;
            if emails.len() >= count || Instant::now() > deadline {
                return emails;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Reads a response as (status, JSON body).
pub async fn json_of(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// Asserts the error envelope and returns the error code.
pub fn error_code(body: &Value) -> &str {
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error envelope: {body}"));
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "error without message: {body}");
    code
}
