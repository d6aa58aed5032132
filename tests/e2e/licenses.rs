//! Enterprise licensing end to end: keys, seats (with the race), validation for every status and its
//! rate limit, usage against a recount, white-label, support tickets, org isolation and the billing
//! cycle's renewal notices and expiry.

use azora_domain::UserId;
use azora_domain::license::{License, LicenseStatus};
use azora_domain::license_key::LicenseVerifier;
use azora_domain::notification::EmailAddress;
use azora_e2e::{AppOptions, TestApp, error_code, json_of, spawn_app, spawn_app_with, unique};
use azora_local::tokens::TokenSpec;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn days(d: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * d)
}

fn admin(app: &TestApp) -> String {
    app.token("ops-admin", &["admin"])
}

/// A token of the org's enterprise admin.
fn org_admin(app: &TestApp, org: &str) -> String {
    app.token_with(&TokenSpec { sub: &format!("boss-{org}"), roles: &["enterprise"], org: Some(org), ttl_seconds: 600 })
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (status, license) =
        json_of(app.post("/api/enterprise/licenses/create", Some(&admin(app)), Some(&unique("create")), &body).await)
            .await;
    assert_eq!(status, 201, "{license}");
    license
}

async fn create_for(app: &TestApp, org: &str, seats: u32) -> Value {
    create(
        app,
        json!({ "orgId": org, "orgName": format!("Org {org}"), "contactEmail": format!("it@{org}.example"),
                "seats": seats, "termMonths": 12 }),
    )
    .await
}

async fn activate(app: &TestApp, token: &str, key: &str, user: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "key": key });
    if let Some(u) = user {
        body["userId"] = json!(u);
    }
    json_of(app.post("/api/enterprise/licenses/activate", Some(token), Some(&unique("act")), &body).await).await
}

async fn validate(app: &TestApp, key: &str) -> (u16, Value) {
    let url = format!("/api/enterprise/licenses/validate?key={key}");
    json_of(app.get(&url, None).await).await
}

async fn plan_of(app: &TestApp, user: &str) -> Value {
    let (status, body) =
        json_of(app.get("/api/subscriptions/current", Some(&app.token(user, &["student"]))).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn run_billing_cycle(app: &TestApp) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{report}");
    report["steps"].as_array().and_then(|s| s.iter().find(|s| s["step"] == "licenses")).cloned().expect("licenses step")
}

/// A license written straight to the table (for dates the API refuses, like a past expiry), with a
/// key signed by the app's own signer.
async fn seed_license(app: &TestApp, org: &str, status: LicenseStatus, expires_at: Timestamp) -> License {
    let now = Timestamp::from_second(Timestamp::now().as_second()).unwrap();
    let mut license = License {
        id: unique("lic"),
        org_id: azora_domain::OrgId::parse(org).unwrap(),
        org_name: format!("Org {org}"),
        contact_email: EmailAddress::parse(format!("{}@example.com", unique("contact"))).unwrap(),
        seats: 5,
        seats_used: 0,
        features: azora_domain::Tier::Enterprise.features().to_vec(),
        status,
        issued_at: now - days(400),
        expires_at: Timestamp::from_second(expires_at.as_second()).unwrap(),
        grace_days: 14,
        self_activation: false,
        key_version: 1,
        key: String::new(),
        white_label: None,
        updated_at: now,
    };
    license.key = app.booted.state.config.license_signer.get().unwrap().issue(&license.key_payload());
    app.booted.state.store.create_license(&license).await.unwrap();
    license
}

#[tokio::test]
async fn a_license_is_issued_verified_offline_and_its_seats_grant_enterprise() {
    let app = spawn_app().await;
    let org = unique("org");
    let body = json!({ "orgId": org, "orgName": "Acme", "contactEmail": "it@acme.example", "seats": 3,
                       "termMonths": 12, "features": ["white_label", "ai_tutor", "certificates"] });
    let (status, license) =
        json_of(app.post("/api/enterprise/licenses/create", Some(&admin(&app)), Some("lic-1"), &body).await).await;
    assert_eq!(status, 201, "{license}");
    let key = license["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("AZL1."), "{key}");
    assert_eq!(license["features"], json!(["certificates", "ai_tutor", "white_label"]));
    assert_eq!(license["status"], "active");
    // Retrying with the same Idempotency-Key replays the same license.
    let (status, again) =
        json_of(app.post("/api/enterprise/licenses/create", Some(&admin(&app)), Some("lic-1"), &body).await).await;
    assert_eq!((status, &again["licenseId"]), (201, &license["licenseId"]));

    // Offline: the published public key alone verifies the key and reads its terms.
    let (status, published) = json_of(app.get("/api/enterprise/licenses/public-key", None).await).await;
    assert_eq!(status, 200);
    let verifier = LicenseVerifier::parse(published["publicKey"].as_str().unwrap()).unwrap();
    let payload = verifier.verify(&key).unwrap();
    assert_eq!(payload.license_id, license["licenseId"].as_str().unwrap());
    assert_eq!((payload.org_id.as_str(), payload.seats), (org.as_str(), 3));
    assert_eq!(LicenseVerifier::parse(published["publicKeyPem"].as_str().unwrap()).unwrap(), verifier);

    let boss = org_admin(&app, &org);
    let member = unique("member");
    assert_eq!(plan_of(&app, &member).await["tier"], "free");
    let (status, seat) = activate(&app, &boss, &key, Some(&member)).await;
    assert_eq!(status, 201, "{seat}");
    assert_eq!((seat["seatsUsed"].as_u64(), seat["alreadyActive"].as_bool()), (Some(1), Some(false)));
    let (status, seat) = activate(&app, &boss, &key, Some(&member)).await;
    assert_eq!(status, 200, "{seat}");
    assert_eq!((seat["seatsUsed"].as_u64(), seat["alreadyActive"].as_bool()), (Some(1), Some(true)));

    let plan = plan_of(&app, &member).await;
    assert_eq!(plan["tier"], "enterprise");
    assert_eq!(plan["source"], "license");
    assert_eq!(plan["licenseId"], license["licenseId"]);
    assert_eq!(plan["features"], json!(["certificates", "ai_tutor", "white_label"]));
    assert_eq!(plan["tokenMultiplierPercent"], 200);

    let (status, freed) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&boss),
            Some("free-1"),
            &json!({ "licenseId": license["licenseId"], "userId": member }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{freed}");
    assert_eq!(freed["seatsUsed"], 0);
    assert_eq!(plan_of(&app, &member).await["tier"], "free");
    let (status, body) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&boss),
            Some("free-2"),
            &json!({ "licenseId": license["licenseId"], "userId": member }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404, "a seat not held: {body}");

    let (_, audit) = json_of(app.get("/api/admin/audit", Some(&admin(&app))).await).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["license.create", "license.seat.activate", "license.seat.deactivate"] {
        assert!(actions.contains(&action), "{action} not audited: {actions:?}");
    }
    assert_eq!(actions.iter().filter(|a| **a == "license.create").count(), 1, "the replay did not act again");
}

#[tokio::test]
async fn n_plus_one_concurrent_activations_seat_exactly_n() {
    let app = spawn_app().await;
    let org = unique("org");
    let seats = 4;
    let license = create_for(&app, &org, seats).await;
    let key = license["key"].as_str().unwrap().to_string();
    let boss = org_admin(&app, &org);
    let mut handles = Vec::new();
    for i in 0..=seats {
        let rb = app
            .request(reqwest::Method::POST, "/api/enterprise/licenses/activate", Some(&boss))
            .header("Idempotency-Key", format!("race-{i}"))
            .json(&json!({ "key": key, "userId": format!("racer-{i}") }));
        handles.push(tokio::spawn(async move { json_of(rb.send().await.unwrap()).await }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        let (status, body) = h.await.unwrap();
        if status == 409 {
            assert_eq!(error_code(&body), "no_seats_left");
        }
        statuses.push(status);
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 201, 201, 201, 409]);
    let id = license["licenseId"].as_str().unwrap();
    let (_, now) = json_of(app.get(&format!("/api/enterprise/licenses/{id}"), Some(&boss)).await).await;
    assert_eq!(now["seatsUsed"], seats);
    assert_eq!(app.booted.state.store.list_seats(id, 100, None).await.unwrap().items.len(), seats as usize);
}

#[tokio::test]
async fn members_activate_themselves_only_when_the_license_allows_it() {
    let app = spawn_app().await;
    let open = create(
        &app,
        json!({ "orgName": "Open", "contactEmail": "it@open.example", "seats": 2, "termMonths": 1,
                "allowSelfActivation": true }),
    )
    .await;
    assert!(open["orgId"].as_str().unwrap().starts_with("org_"), "an org id is minted: {open}");
    let closed = create_for(&app, &unique("org"), 2).await;
    let member_of =
        |sub: &str, org: Option<&str>| app.token_with(&TokenSpec { sub, roles: &["student"], org, ttl_seconds: 600 });
    let student = member_of("learner-1", open["orgId"].as_str());
    // Holding the key is not membership: no org claim, or another org's, is refused.
    for outsider in [member_of("stranger", None), member_of("stranger", Some("org_elsewhere"))] {
        let (status, body) = activate(&app, &outsider, open["key"].as_str().unwrap(), None).await;
        assert_eq!((status, error_code(&body)), (403, "org_mismatch"), "{body}");
    }

    let (status, body) = activate(&app, &student, open["key"].as_str().unwrap(), None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["userId"], "learner-1");
    let (status, body) = activate(&app, &student, open["key"].as_str().unwrap(), Some("someone-else")).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));
    let (status, body) = activate(&app, &student, closed["key"].as_str().unwrap(), None).await;
    assert_eq!((status, error_code(&body)), (403, "self_activation_disabled"));
    // A member frees their own seat.
    let (status, body) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&student),
            Some("self-free"),
            &json!({ "licenseId": open["licenseId"] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // A damaged key is refused before anything is read.
    let key = open["key"].as_str().unwrap();
    let damaged = format!("{}{}", &key[..key.len() - 2], if key.ends_with("AA") { "BA" } else { "AA" });
    let (status, body) = activate(&app, &student, &damaged, None).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_license_key"));
    let (status, body) =
        json_of(app.post("/api/enterprise/licenses/activate", Some(&student), None, &json!({ "key": key })).await)
            .await;
    assert_eq!((status, error_code(&body)), (400, "idempotency_key_required"));
}

#[tokio::test]
async fn validate_reports_every_status() {
    let app = spawn_app().await;
    let org = unique("org");
    let now = Timestamp::now();
    let active = create_for(&app, &org, 5).await;
    let key = active["key"].as_str().unwrap().to_string();
    let (status, v) = validate(&app, &key).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(true), Some("active")));
    assert_eq!((v["seats"].as_u64(), v["seatsUsed"].as_u64()), (Some(5), Some(0)));
    assert!(v.get("graceUntil").is_none() && v.get("reason").is_none() && v.get("warning").is_none(), "{v}");

    let in_grace = seed_license(&app, &org, LicenseStatus::Active, now - days(3)).await;
    let (_, v) = validate(&app, &in_grace.key).await;
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(true), Some("active")), "{v}");
    assert_eq!(v["graceUntil"], in_grace.grace_until().to_string());
    assert!(v["warning"].as_str().unwrap().contains("grace"), "{v}");

    let lapsed = seed_license(&app, &org, LicenseStatus::Active, now - days(20)).await;
    let (_, v) = validate(&app, &lapsed.key).await;
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(false), Some("expired")), "{v}");
    let expired = seed_license(&app, &org, LicenseStatus::Expired, now - days(60)).await;
    let (_, v) = validate(&app, &expired.key).await;
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(false), Some("expired")), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("expired"));

    let id = active["licenseId"].as_str().unwrap();
    let ops = admin(&app);
    let (status, body) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id}/suspend"),
            Some(&ops),
            Some("s1"),
            &json!({ "reason": "unpaid invoice" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, v) = validate(&app, &key).await;
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(false), Some("suspended")), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("suspended"));
    let (status, _) = json_of(
        app.post(&format!("/api/enterprise/licenses/{id}/reinstate"), Some(&ops), Some("r1"), &json!({})).await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(validate(&app, &key).await.1["valid"], true);
    let (status, _) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id}/revoke"),
            Some(&ops),
            Some("v1"),
            &json!({ "reason": "fraud" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, v) = validate(&app, &key).await;
    assert_eq!((v["valid"].as_bool(), v["status"].as_str()), (Some(false), Some("revoked")), "{v}");
    let (status, body) = json_of(
        app.post(&format!("/api/enterprise/licenses/{id}/suspend"), Some(&ops), Some("s2"), &json!({ "reason": "x" }))
            .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (409, "invalid_status_transition"));

    // Keys that are not ours: one byte flipped, or signed by another key.
    let mut bytes = key.clone().into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let (status, body) = validate(&app, &String::from_utf8(bytes).unwrap()).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_license_key"));
    let foreign = azora_domain::license_key::LicenseSigner::from_seed([42; 32]).issue(&lapsed.key_payload());
    let (status, body) = validate(&app, &foreign).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_license_key"));
    let (status, body) = json_of(app.get("/api/enterprise/licenses/validate", None).await).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));
}

#[tokio::test]
async fn validation_is_rate_limited_per_caller() {
    let app = spawn_app_with(AppOptions {
        settings: BTreeMap::from([("LICENSE_VALIDATE_RATE_LIMIT".to_string(), "3".to_string())]),
        ..Default::default()
    })
    .await;
    let license = create_for(&app, &unique("org"), 1).await;
    let key = license["key"].as_str().unwrap();
    // Stay inside one minute window so the count is deterministic.
    let secs_into_minute = Timestamp::now().as_second().rem_euclid(60);
    if secs_into_minute > 50 {
        tokio::time::sleep(Duration::from_secs((61 - secs_into_minute) as u64)).await;
    }
    for remaining in [2, 1, 0] {
        let resp = app.get(&format!("/api/enterprise/licenses/validate?key={key}"), None).await;
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["x-ratelimit-remaining"], remaining.to_string().as_str());
    }
    let resp = app.get(&format!("/api/enterprise/licenses/validate?key={key}"), None).await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let (_, body) = json_of(resp).await;
    assert_eq!(error_code(&body), "rate_limited");
    // A forged key is still refused by its signature, without touching the counter.
    let (status, _) = validate(&app, "AZL1.e30.AAAA").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_renewal_retires_the_old_key_after_a_72_hour_overlap() {
    let app = spawn_app().await;
    let org = unique("org");
    let license = create_for(&app, &org, 5).await;
    let id = license["licenseId"].as_str().unwrap();
    let old = license["key"].as_str().unwrap().to_string();
    let boss = org_admin(&app, &org);
    let renew = |k: &'static str| {
        let app = &app;
        async move {
            let path = format!("/api/enterprise/licenses/{id}/renew");
            let (status, renewed) =
                json_of(app.post(&path, Some(&admin(app)), Some(k), &json!({ "termMonths": 12 })).await).await;
            assert_eq!(status, 200, "{renewed}");
            renewed["key"].as_str().unwrap().to_string()
        }
    };
    let second = renew("rekey-1").await;
    // Within the overlap the replaced key still takes seats.
    app.booted.state.clock.advance(71 * 3600);
    let (status, body) = activate(&app, &boss, &old, Some(&format!("{org}-m1"))).await;
    assert_eq!(status, 201, "{body}");
    // After it, neither activation nor validation accepts it; the new key does.
    app.booted.state.clock.advance(3600);
    let (status, body) = activate(&app, &boss, &old, Some(&format!("{org}-m2"))).await;
    assert_eq!((status, error_code(&body)), (403, "key_superseded"), "{body}");
    let (status, v) = validate(&app, &old).await;
    assert_eq!((status, &v["valid"], &v["keyStatus"]), (200, &json!(false), &json!("superseded")), "{v}");
    assert!(v["reason"].as_str().unwrap().contains("newer key"), "{v}");
    let (status, body) = activate(&app, &boss, &second, Some(&format!("{org}-m2"))).await;
    assert_eq!(status, 201, "{body}");
    // Two re-keys: the key two versions back stops at once, the one just replaced keeps its overlap.
    let third = renew("rekey-2").await;
    let (_, v) = validate(&app, &second).await;
    assert_eq!((&v["valid"], &v["keyStatus"]), (&json!(true), &json!("replaced")), "{v}");
    let (_, v) = validate(&app, &old).await;
    assert_eq!(v["keyStatus"], "superseded");
    let (_, v) = validate(&app, &third).await;
    assert_eq!((&v["valid"], &v["keyStatus"]), (&json!(true), &json!("current")), "{v}");
}

#[tokio::test]
async fn admins_renew_never_below_seats_in_use_and_suspension_stops_the_seats() {
    let app = spawn_app().await;
    let org = unique("org");
    let license = create_for(&app, &org, 3).await;
    let id = license["licenseId"].as_str().unwrap();
    let key = license["key"].as_str().unwrap().to_string();
    let boss = org_admin(&app, &org);
    for m in ["m1", "m2"] {
        assert_eq!(activate(&app, &boss, &key, Some(&format!("{org}-{m}"))).await.0, 201);
    }
    let ops = admin(&app);
    let renew = |body: Value, k: &'static str| {
        let app = &app;
        let ops = ops.clone();
        async move {
            json_of(app.post(&format!("/api/enterprise/licenses/{id}/renew"), Some(&ops), Some(k), &body).await).await
        }
    };
    let (status, body) = renew(json!({ "seats": 1 }), "n1").await;
    assert_eq!((status, error_code(&body)), (422, "seats_below_use"));
    let (status, renewed) = renew(json!({ "termMonths": 12, "seats": 2 }), "n2").await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!((renewed["seats"].as_u64(), renewed["keyVersion"].as_u64()), (Some(2), Some(2)));
    let old_end: Timestamp = license["expiresAt"].as_str().unwrap().parse().unwrap();
    let new_end: Timestamp = renewed["expiresAt"].as_str().unwrap().parse().unwrap();
    assert!(new_end > old_end + days(360), "{old_end} → {new_end}");
    assert_ne!(renewed["key"], license["key"]);
    // The old key still validates, with a hint to replace it; the new one carries the new terms.
    let (_, v) = validate(&app, &key).await;
    assert_eq!((&v["valid"], &v["keyStatus"]), (&json!(true), &json!("replaced")));
    assert!(v["warning"].as_str().unwrap().contains("newer key"), "{v}");
    let (_, v) = validate(&app, renewed["key"].as_str().unwrap()).await;
    assert!(v.get("warning").is_none(), "{v}");
    assert_eq!(v["keyStatus"], "current");
    let (status, body) = activate(&app, &boss, &key, Some(&format!("{org}-m3"))).await;
    assert_eq!((status, error_code(&body)), (409, "no_seats_left"));

    let member = format!("{org}-m1");
    assert_eq!(plan_of(&app, &member).await["tier"], "enterprise");
    let (status, _) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id}/suspend"),
            Some(&ops),
            Some("sus"),
            &json!({ "reason": "audit" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(plan_of(&app, &member).await["tier"], "free", "a suspended license grants nothing");
    let (status, body) = activate(&app, &boss, &key, Some(&format!("{org}-m4"))).await;
    assert_eq!((status, error_code(&body)), (422, "license_inactive"));
    let (status, _) = json_of(
        app.post(&format!("/api/enterprise/licenses/{id}/revoke"), Some(&ops), Some("rev"), &json!({ "reason": "x" }))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = renew(json!({ "termMonths": 1 }), "n3").await;
    assert_eq!((status, error_code(&body)), (409, "license_revoked"));
    let (status, _) = json_of(
        app.post(&format!("/api/enterprise/licenses/{id}/renew"), Some(&boss), Some("n4"), &json!({ "termMonths": 1 }))
            .await,
    )
    .await;
    assert_eq!(status, 403, "enterprise admins cannot renew their own license");

    let (_, audit) = json_of(app.get("/api/admin/audit?limit=100", Some(&ops)).await).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in ["license.renew", "license.suspend", "license.revoke"] {
        assert!(actions.contains(&action), "{action} not audited: {actions:?}");
    }
}

#[tokio::test]
async fn white_label_settings_are_validated_and_served_by_domain() {
    let app = spawn_app().await;
    let org = unique("org");
    let license = create_for(&app, &org, 2).await;
    let id = license["licenseId"].as_str().unwrap();
    let boss = org_admin(&app, &org);
    let domain = format!("{}.acme-learning.com", unique("learn"));
    let good = json!({ "brandName": "Acme Academy", "logoUrl": "https://cdn.acme.com/logo.png",
                       "primaryColor": "#1A2B3C", "customDomain": domain });
    let put = |body: Value, token: String, license_id: String| {
        let app = &app;
        async move {
            let resp = app
                .request(
                    reqwest::Method::PUT,
                    &format!("/api/enterprise/licenses/{license_id}/white-label"),
                    Some(&token),
                )
                .json(&body)
                .send()
                .await
                .unwrap();
            json_of(resp).await
        }
    };
    for (field, bad) in [
        ("logoUrl", json!("http://cdn.acme.com/logo.png")),
        ("logoUrl", json!("javascript:alert(1)")),
        ("primaryColor", json!("blue")),
        ("primaryColor", json!("#12345")),
        ("customDomain", json!("not a host")),
        ("customDomain", json!("localhost")),
        ("brandName", json!("")),
    ] {
        let mut body = good.clone();
        body[field] = bad.clone();
        let (status, err) = put(body, boss.clone(), id.to_string()).await;
        assert_eq!((status, error_code(&err)), (400, "validation_failed"), "{field}={bad}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let (status, saved) = put(good.clone(), boss.clone(), id.to_string()).await;
    assert_eq!((status, saved["status"].as_str()), (202, Some("pending_verification")), "{saved}");
    assert_eq!(saved["whiteLabel"]["primaryColor"], "#1a2b3c");
    prove_domain(&app, &saved["verification"]).await;
    let (status, verified) = verify_domain(&app, &boss, id).await;
    assert_eq!((status, verified["status"].as_str()), (200, Some("active")), "{verified}");
    let (status, theme) =
        json_of(app.get(&format!("/api/enterprise/white-label?domain={}", domain.to_uppercase()), None).await).await;
    assert_eq!(status, 200, "{theme}");
    assert_eq!(
        (theme["brandName"].as_str(), theme["customDomain"].as_str()),
        (Some("Acme Academy"), Some(domain.as_str()))
    );

    // The domain belongs to this license; another org's license cannot take it.
    let other_org = unique("org");
    let other = create_for(&app, &other_org, 1).await;
    let (status, err) =
        put(good.clone(), org_admin(&app, &other_org), other["licenseId"].as_str().unwrap().into()).await;
    assert_eq!((status, error_code(&err)), (409, "domain_taken"));
    // Nor may its admin touch this license (404, as if absent).
    let (status, _) = put(good.clone(), org_admin(&app, &other_org), id.to_string()).await;
    assert_eq!(status, 404);

    // Without the feature: refused.
    let plain_org = unique("org");
    let plain = create(
        &app,
        json!({ "orgId": plain_org, "orgName": "Plain", "contactEmail": "it@plain.example", "seats": 1,
                "termMonths": 1, "features": ["certificates"] }),
    )
    .await;
    let mut body = good.clone();
    body["customDomain"] = json!(format!("{}.plain.com", unique("x")));
    let (status, err) = put(body, org_admin(&app, &plain_org), plain["licenseId"].as_str().unwrap().into()).await;
    assert_eq!((status, error_code(&err)), (403, "feature_not_licensed"));

    // A suspended license's theme is not served.
    let (status, _) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id}/suspend"),
            Some(&admin(&app)),
            Some("s"),
            &json!({ "reason": "x" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = json_of(app.get(&format!("/api/enterprise/white-label?domain={domain}"), None).await).await;
    assert_eq!(status, 404);
    let (status, body) = json_of(app.get("/api/enterprise/white-label?domain=bad_host", None).await).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));

    // Revoking the license releases its domain: the other org may now claim it.
    let (status, _) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id}/revoke"),
            Some(&admin(&app)),
            Some("r"),
            &json!({ "reason": "contract ended" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, saved) =
        put(good.clone(), org_admin(&app, &other_org), other["licenseId"].as_str().unwrap().into()).await;
    assert_eq!(status, 202, "{saved}");
}

/// Creates the TXT record a claim asked for, in the sandbox's DNS stand-in.
async fn prove_domain(app: &TestApp, record: &Value) {
    assert_eq!(record["type"], "TXT", "{record}");
    app.sandbox_post("/_sandbox/dns/txt", json!({ "name": record["name"], "values": [record["value"]] })).await;
}

async fn verify_domain(app: &TestApp, token: &str, license_id: &str) -> (u16, Value) {
    json_of(
        app.post(&format!("/api/enterprise/licenses/{license_id}/white-label/verify"), Some(token), None, &json!({}))
            .await,
    )
    .await
}

async fn claim_domain(app: &TestApp, token: &str, license_id: &str, domain: &str, brand: &str) -> (u16, Value) {
    let body = json!({ "brandName": brand, "logoUrl": "https://cdn.example.com/logo.png", "primaryColor": "#102030",
                       "customDomain": domain });
    json_of(
        app.request(reqwest::Method::PUT, &format!("/api/enterprise/licenses/{license_id}/white-label"), Some(token))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_custom_domain_is_taken_only_with_dns_proof_and_released_on_revoke() {
    let app = spawn_app().await;
    let (org_a, org_b) = (unique("org"), unique("org"));
    let (lic_a, lic_b) = (create_for(&app, &org_a, 2).await, create_for(&app, &org_b, 2).await);
    let (id_a, id_b) = (lic_a["licenseId"].as_str().unwrap(), lic_b["licenseId"].as_str().unwrap());
    let (boss_a, boss_b) = (org_admin(&app, &org_a), org_admin(&app, &org_b));
    let domain = format!("{}.acme-learning.com", unique("learn"));
    let theme = |d: String| {
        let app = &app;
        async move { json_of(app.get(&format!("/api/enterprise/white-label?domain={d}"), None).await).await }
    };
    // What the settings screen reads back (after a reload, or on another device).
    let settings = |token: String, id: &'static str| {
        let app = &app;
        let id = if id == "a" { id_a } else { id_b };
        async move { json_of(app.get(&format!("/api/enterprise/licenses/{id}/white-label"), Some(&token)).await).await }
    };
    let (status, none) = settings(boss_a.clone(), "a").await;
    assert_eq!((status, &none["live"], &none["pending"]), (200, &Value::Null, &Value::Null), "{none}");

    // Nothing claimed yet: nothing to verify.
    let (status, err) = verify_domain(&app, &boss_a, id_a).await;
    assert_eq!((status, error_code(&err)), (409, "nothing_to_verify"), "{err}");

    // A claims: pending, with the TXT record to create; the domain serves nothing yet.
    let (status, claim) = claim_domain(&app, &boss_a, id_a, &domain, "A").await;
    assert_eq!((status, claim["status"].as_str()), (202, Some("pending_verification")), "{claim}");
    let record = claim["verification"].clone();
    assert_eq!(record["name"], format!("_azora-verify.{domain}"));
    let value = record["value"].as_str().unwrap().to_string();
    assert!(value.starts_with("azora-verify=") && value.len() > 30, "{value}");
    assert_eq!(theme(domain.clone()).await.0, 404);
    let (_, read) = settings(boss_a.clone(), "a").await;
    assert_eq!((&read["live"], &read["pending"]["verification"]), (&Value::Null, &record), "{read}");
    assert_eq!(read["pending"]["whiteLabel"]["customDomain"], domain.as_str());
    assert!(read["pending"]["claimedAt"].as_str().is_some_and(|t| t.parse::<jiff::Timestamp>().is_ok()), "{read}");
    // Another org's admin cannot read it (404, as if absent).
    assert_eq!(settings(boss_b.clone(), "a").await.0, 404);

    // B claims the same domain too (nobody holds it yet) and gets its own token.
    let (status, claim_b) = claim_domain(&app, &boss_b, id_b, &domain, "B").await;
    assert_eq!(status, 202, "{claim_b}");
    assert_ne!(claim_b["verification"]["value"], record["value"]);

    // Verifying without the record: refused with the record to create; nothing changes.
    let (status, err) = verify_domain(&app, &boss_a, id_a).await;
    assert_eq!((status, error_code(&err)), (422, "domain_not_verified"), "{err}");
    assert_eq!(err["error"]["record"]["value"], record["value"]);
    // A record with another token (B's) does not prove A's claim.
    prove_domain(&app, &claim_b["verification"]).await;
    let (status, err) = verify_domain(&app, &boss_a, id_a).await;
    assert_eq!((status, error_code(&err)), (422, "domain_not_verified"), "{err}");
    assert_eq!(err["error"]["found"], json!([claim_b["verification"]["value"]]));

    // A claiming again keeps its token, so the record it creates stays valid.
    let (_, again) = claim_domain(&app, &boss_a, id_a, &domain, "A again").await;
    assert_eq!(again["verification"]["value"], record["value"]);

    // With A's record: A takes the domain and its theme is served.
    prove_domain(&app, &record).await;
    let (status, verified) = verify_domain(&app, &boss_a, id_a).await;
    assert_eq!((status, verified["status"].as_str()), (200, Some("active")), "{verified}");
    let (status, served) = theme(domain.clone()).await;
    assert_eq!((status, served["brandName"].as_str()), (200, Some("A again")), "{served}");
    let (_, read) = settings(boss_a.clone(), "a").await;
    assert_eq!((&read["live"]["brandName"], &read["pending"]), (&json!("A again"), &Value::Null), "{read}");
    // Nothing pending any more.
    let (status, err) = verify_domain(&app, &boss_a, id_a).await;
    assert_eq!((status, error_code(&err)), (409, "nothing_to_verify"), "{err}");
    // A theme change on the verified domain applies at once.
    let (status, saved) = claim_domain(&app, &boss_a, id_a, &domain, "A renamed").await;
    assert_eq!((status, saved["status"].as_str()), (200, Some("active")), "{saved}");
    assert_eq!(theme(domain.clone()).await.1["brandName"], "A renamed");

    // B proving control now (say the DNS changed hands) does not take a verified domain away.
    prove_domain(&app, &claim_b["verification"]).await;
    let (status, err) = verify_domain(&app, &boss_b, id_b).await;
    assert_eq!((status, error_code(&err)), (409, "domain_taken"), "{err}");
    let (status, err) = claim_domain(&app, &boss_b, id_b, &domain, "B").await;
    assert_eq!((status, error_code(&err)), (409, "domain_taken"), "{err}");
    assert_eq!(theme(domain.clone()).await.1["brandName"], "A renamed");
    // B cannot verify A's license either (404, as if absent).
    let (status, _) = verify_domain(&app, &boss_b, id_a).await;
    assert_eq!(status, 404);

    // Revoking A releases the domain: B claims and proves it, and its theme is served.
    let (status, _) = json_of(
        app.post(
            &format!("/api/enterprise/licenses/{id_a}/revoke"),
            Some(&admin(&app)),
            Some("r"),
            &json!({ "reason": "ended" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(theme(domain.clone()).await.0, 404);
    let (status, claim_b) = claim_domain(&app, &boss_b, id_b, &domain, "B").await;
    assert_eq!(status, 202, "{claim_b}");
    prove_domain(&app, &claim_b["verification"]).await;
    let (status, verified) = verify_domain(&app, &boss_b, id_b).await;
    assert_eq!((status, verified["status"].as_str()), (200, Some("active")), "{verified}");
    assert_eq!(theme(domain.clone()).await.1["brandName"], "B");
}

#[tokio::test]
async fn an_org_never_sees_another_orgs_license_usage_or_tickets() {
    let app = spawn_app().await;
    let (org_a, org_b) = (unique("org"), unique("org"));
    let a = create_for(&app, &org_a, 2).await;
    create_for(&app, &org_b, 2).await;
    let a_id = a["licenseId"].as_str().unwrap();
    let (boss_a, boss_b) = (org_admin(&app, &org_a), org_admin(&app, &org_b));
    assert_eq!(activate(&app, &boss_a, a["key"].as_str().unwrap(), Some("a-member")).await.0, 201);

    let (status, ticket) = json_of(
        app.post(
            "/api/enterprise/support/tickets",
            Some(&boss_a),
            Some("t1"),
            &json!({ "subject": "SSO login fails", "body": "Since Monday\nour SSO users see 500.", "priority": "high" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{ticket}");
    let ticket_id = ticket["ticketId"].as_str().unwrap();
    assert_eq!(ticket["orgId"], org_a.as_str());

    // B's admin: everything of A is 404, exactly as for something that does not exist.
    let not_found = |path: String| {
        let app = &app;
        let token = boss_b.clone();
        async move {
            let (status, body) = json_of(app.get(&path, Some(&token)).await).await;
            assert_eq!((status, error_code(&body)), (404, "not_found"), "{path}");
        }
    };
    not_found(format!("/api/enterprise/licenses/{a_id}")).await;
    not_found(format!("/api/enterprise/usage?licenseId={a_id}")).await;
    not_found(format!("/api/enterprise/support/tickets/{ticket_id}")).await;
    not_found("/api/enterprise/licenses/lic_missing".to_string()).await;
    let (status, _) = activate(&app, &boss_b, a["key"].as_str().unwrap(), Some("b-member")).await;
    assert_eq!(status, 404);
    let (status, _) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&boss_b),
            Some("d"),
            &json!({ "licenseId": a_id, "userId": "a-member" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, list) = json_of(app.get("/api/enterprise/support/tickets", Some(&boss_b)).await).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"], json!([]));
    // A member of A without the enterprise role does not manage the license either.
    let (status, _) =
        json_of(app.get(&format!("/api/enterprise/licenses/{a_id}"), Some(&app.token("a-member", &["student"]))).await)
            .await;
    assert_eq!(status, 404);

    // A sees its own; the operator may read any.
    let (_, list) = json_of(app.get("/api/enterprise/support/tickets", Some(&boss_a)).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["ticketId"], ticket_id);
    let (status, _) =
        json_of(app.get(&format!("/api/enterprise/support/tickets/{ticket_id}"), Some(&admin(&app))).await).await;
    assert_eq!(status, 200);
    let (status, _) = json_of(app.get(&format!("/api/enterprise/usage?licenseId={a_id}"), Some(&boss_a)).await).await;
    assert_eq!(status, 200);

    // The ticket reached the support address through the notification pipeline.
    let deadline = Instant::now() + Duration::from_secs(20);
    let email = loop {
        let found = app
            .sent_emails("support@azora.local")
            .await
            .into_iter()
            .find(|e| e["subject"].as_str().is_some_and(|s| s.contains(ticket_id)));
        if let Some(e) = found {
            break e;
        }
        assert!(Instant::now() < deadline, "no support email for {ticket_id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(email["subject"], format!("[high] Support ticket {ticket_id}: SSO login fails"));
    assert!(email.to_string().contains(&org_a));

    let student = app.token("a-member", &["student"]);
    let (status, body) = json_of(
        app.post(
            "/api/enterprise/support/tickets",
            Some(&student),
            Some("t2"),
            &json!({ "subject": "s", "body": "b", "priority": "low" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));
    let (status, body) = json_of(
        app.post(
            "/api/enterprise/support/tickets",
            Some(&boss_a),
            Some("t3"),
            &json!({ "subject": "s", "body": "b", "priority": "asap" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("priority")));
}

/// A free course, published through the API.
async fn free_course(app: &TestApp) -> String {
    let teacher = app.token(&unique("teacher"), &["instructor"]);
    let body = json!({
        "title": "Free course", "description": "d", "category": "business", "level": "beginner",
        "language": "en", "price": { "amount": 0, "currency": "USD" }, "publish": true,
        "lessons": [{ "title": "One", "durationSeconds": 60, "contentUrl": "https://cdn.example.com/1.mp4" }]
    });
    let (status, course) = json_of(app.post("/api/courses/upload", Some(&teacher), None, &body).await).await;
    assert_eq!(status, 201, "{course}");
    course["courseId"].as_str().unwrap().to_string()
}

/// Waits for the rewards worker's completion award of `course` to `user`; returns its tokens.
async fn completion_award(app: &TestApp, user: &str, course: &str) -> i64 {
    let token = app.token(user, &["student"]);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, history) = json_of(app.get("/api/tokens/history?limit=100", Some(&token)).await).await;
        let entry = history["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["reason"] == "course_completion" && e["details"]["courseId"] == course);
        if let Some(entry) = entry {
            return entry["delta"].as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "no completion award for {user}: {history}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Buys one course for `user` through the real payment flow and waits until it is fulfilled.
async fn buy(app: &TestApp, user: &str, course: &str) {
    let token = app.token(user, &["student"]);
    let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_visa" });
    let (status, paid) =
        json_of(app.post("/api/payments/process", Some(&token), Some(&unique("buy")), &body).await).await;
    assert_eq!(status, 201, "{paid}");
    app.wait_for_payment(paid["paymentId"].as_str().unwrap(), &token, |p| p["fulfilled"] == true).await;
}

#[tokio::test]
async fn usage_numbers_equal_a_recount_of_the_source_events() {
    let app = spawn_app().await;
    let org = unique("org");
    let license = create_for(&app, &org, 5).await;
    let id = license["licenseId"].as_str().unwrap().to_string();
    let key = license["key"].as_str().unwrap().to_string();
    let boss = org_admin(&app, &org);
    let members: Vec<String> = (1..=3).map(|i| format!("{org}-m{i}")).collect();
    for m in &members {
        assert_eq!(activate(&app, &boss, &key, Some(m)).await.0, 201);
    }
    let (status, _) = json_of(
        app.post(
            "/api/enterprise/licenses/deactivate",
            Some(&boss),
            Some("rel"),
            &json!({ "licenseId": id, "userId": members[2] }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);

    // Source events: purchases by two members and one outsider; completions and token awards.
    let courses: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(app.seed_course("instructor-1", 1500, "USD").await);
        }
        v
    };
    buy(&app, &members[0], &courses[0]).await;
    buy(&app, &members[0], &courses[1]).await;
    buy(&app, &members[1], &courses[0]).await;
    buy(&app, "outsider", &courses[2]).await;
    let state = &app.booted.state;
    let now = Timestamp::now();
    let m = |i: usize| UserId::parse(members[i].as_str()).unwrap();
    // A free course: enrolling is a course start, counted by the purchase endpoint.
    let free = free_course(&app).await;
    let (status, body) = json_of(
        app.post(
            "/api/courses/purchase",
            Some(&app.token(&members[1], &["student"])),
            Some(&unique("enroll")),
            &json!({ "courseId": free }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // Completions (one delivered twice, one by the released member, whose later activity is not
    // the org's) go through the rewards queue; manual awards (one to an outsider) are immediate.
    let service = app.token("learning-platform", &["service"]);
    for (user, course) in [(&members[0], &courses[0]), (&members[0], &courses[0]), (&members[2], &courses[1])] {
        let event = json!({ "userId": user, "reason": "course_completion", "courseId": course });
        let (status, body) = json_of(app.post("/api/tokens/award", Some(&service), None, &event).await).await;
        assert_eq!(status, 202, "{body}");
    }
    let admin = app.token("admin-usage", &["admin"]);
    for (user, amount, source) in
        [(members[1].as_str(), 120, "award-1"), (&members[0], 30, "award-2"), ("outsider", 999, "award-3")]
    {
        let award = json!({ "userId": user, "amount": amount, "reason": "bonus", "sourceKey": source });
        let (status, body) =
            json_of(app.post("/api/tokens/award", Some(&admin), Some(&unique("award")), &award).await).await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = json_of(
        app.post(
            "/api/tokens/award",
            Some(&admin),
            Some(&unique("award")),
            &json!({ "userId": members[0], "amount": 30, "reason": "bonus", "sourceKey": "award-2" }),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["duplicate"].as_bool()), (200, Some(true)), "a replayed award: {body}");
    let completion = completion_award(&app, &members[0], &courses[0]).await;
    completion_award(&app, &members[2], &courses[1]).await;

    // Recount from the source: seats held, members' enrollments, completions and awards above.
    let seats_held = state.store.list_seats(&id, 100, None).await.unwrap().items.len() as i64;
    let mut courses_started = 0;
    let all_courses: Vec<String> = courses.iter().cloned().chain([free]).collect();
    for i in 0..2 {
        courses_started += state.store.enrolled_in(&m(i), &all_courses).await.unwrap().len() as i64;
    }
    let tokens_earned = completion + 150;
    let expected = json!({
        "seatsActivated": 3, "seatsReleased": 1, "seatsUsed": seats_held,
        "activeLearners": 2, "coursesStarted": courses_started, "coursesCompleted": 1, "tokensEarned": tokens_earned,
    });
    assert_eq!((seats_held, courses_started), (2, 4));

    // Course starts are counted by the payment worker after fulfilment, completions by the
    // rewards worker: wait for them.
    let deadline = Instant::now() + Duration::from_secs(20);
    let usage = loop {
        let (status, usage) =
            json_of(app.get(&format!("/api/enterprise/usage?licenseId={id}"), Some(&boss)).await).await;
        assert_eq!(status, 200, "{usage}");
        let totals = &usage["totals"];
        let done = totals["coursesStarted"] == courses_started
            && totals["coursesCompleted"] == 1
            && totals["tokensEarned"] == tokens_earned;
        if done || Instant::now() > deadline {
            break usage;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let months = usage["months"].as_array().unwrap();
    let month = months.last().unwrap();
    assert_eq!(month["month"], azora_domain::audit::month_of(now));
    let got: BTreeMap<&str, &Value> =
        expected.as_object().unwrap().keys().map(|k| (k.as_str(), &month[k.as_str()])).collect();
    let want: BTreeMap<&str, &Value> = expected.as_object().unwrap().iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert_eq!(got, want, "usage {usage}");
    assert_eq!(usage["seatsUsed"], seats_held);
    assert_eq!(usage["totals"]["tokensEarned"], tokens_earned);

    let (status, body) =
        json_of(app.get(&format!("/api/enterprise/usage?licenseId={id}&from=2026-13"), Some(&boss)).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_month"));
}

#[tokio::test]
async fn renewal_notices_are_sent_once_each_and_lapsed_licenses_expire() {
    let app = spawn_app().await;
    let org = unique("org");
    let now = Timestamp::now();
    let mut contacts = Vec::new();
    for (label, expires) in [
        ("d30", now + days(29) + SignedDuration::from_hours(1)),
        ("d7", now + days(6) + SignedDuration::from_hours(1)),
        ("d1", now + SignedDuration::from_hours(20)),
        ("later", now + days(60)),
    ] {
        let contact = format!("{}@example.com", unique(label));
        let body = json!({ "orgId": org, "orgName": format!("Org {label}"), "contactEmail": contact, "seats": 2,
                           "expiresAt": expires.to_string() });
        create(&app, body).await;
        contacts.push((label, contact));
    }
    // Past expiry and grace: the job marks it expired and its seat stops granting Enterprise.
    let lapsed = seed_license(&app, &org, LicenseStatus::Active, now - days(15)).await;
    let member = UserId::parse(unique("member")).unwrap();
    let before = License { status: LicenseStatus::Active, expires_at: now + days(1), ..lapsed.clone() };
    app.booted.state.store.activate_seat(&before, &member, "test", now - days(30)).await.unwrap();

    let first = run_billing_cycle(&app).await;
    assert_eq!((first["noticesSent"].as_u64(), first["expired"].as_u64()), (Some(3), Some(1)), "{first}");
    let second = run_billing_cycle(&app).await;
    assert_eq!((second["noticesSent"].as_u64(), second["expired"].as_u64()), (Some(0), Some(0)), "{second}");

    for (label, contact) in &contacts[..3] {
        let emails = app.wait_for_emails(contact, 1).await;
        assert_eq!(emails.len(), 1, "{label}");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let subjects: Vec<String> = {
        let mut v = Vec::new();
        for (_, contact) in &contacts {
            let emails = app.sent_emails(contact).await;
            v.push(
                emails
                    .iter()
                    .map(|e| e["subject"].as_str().unwrap_or_default().to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
        v
    };
    assert_eq!(
        subjects,
        [
            "Your Azora enterprise license expires in 30 days",
            "Your Azora enterprise license expires in 7 days",
            "Your Azora enterprise license expires in 1 day",
            "",
        ],
        "exactly one notice each across two runs"
    );
    let after = app.booted.state.store.get_license(&lapsed.id).await.unwrap().unwrap();
    assert_eq!(after.status, LicenseStatus::Expired);
    assert_eq!(plan_of(&app, member.as_str()).await["tier"], "free");
    assert_eq!(validate(&app, &lapsed.key).await.1["status"], "expired");

    // Renewing the expired license brings it and its seats back.
    let path = format!("/api/enterprise/licenses/{}/renew", lapsed.id);
    let (status, body) = json_of(app.post(&path, Some(&admin(&app)), Some("renew-0"), &json!({})).await).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"), "an expired license needs a term");
    // An explicit expiry in the past is a rule of the current time (422), not a malformed request;
    // a whole number written 12.0 is the integer 12.
    let past = json!({ "expiresAt": "2001-01-01T00:00:00Z" });
    let (status, body) = json_of(app.post(&path, Some(&admin(&app)), Some("renew-past"), &past).await).await;
    assert_eq!((status, error_code(&body)), (422, "expiry_out_of_range"), "{body}");
    let fraction = json!({ "termMonths": 12.5 });
    let (status, body) = json_of(app.post(&path, Some(&admin(&app)), Some("renew-frac"), &fraction).await).await;
    assert_eq!(status, 400, "{body}");
    let (status, renewed) =
        json_of(app.post(&path, Some(&admin(&app)), Some("renew-1"), &json!({ "termMonths": 12.0 })).await).await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(renewed["status"], "active");
    assert_eq!(plan_of(&app, member.as_str()).await["tier"], "enterprise");
    assert_eq!(validate(&app, renewed["key"].as_str().unwrap()).await.1["valid"], true);
    let third = run_billing_cycle(&app).await;
    assert_eq!((third["noticesSent"].as_u64(), third["expired"].as_u64()), (Some(0), Some(0)), "{third}");
}

#[tokio::test]
async fn a_quote_prices_seats_exactly_and_only_its_owner_sees_it() {
    let app = spawn_app().await;
    let (org_a, org_b) = (unique("org"), unique("org"));
    let (boss_a, boss_a2, boss_b) = (org_admin(&app, &org_a), org_admin(&app, &org_a), org_admin(&app, &org_b));
    let body = json!({ "seats": 25, "termMonths": 12, "orgName": "Acme", "contactEmail": "it@acme.example" });
    let (status, quote) = json_of(app.post("/api/enterprise/quotes", Some(&boss_a), None, &body).await).await;
    assert_eq!(status, 201, "{quote}");
    let unit = azora_domain::plans::ENTERPRISE_SEAT_MONTHLY_PRICE;
    assert_eq!(quote["unitPricePerMonth"], json!({ "amount": unit, "currency": "USD" }));
    assert_eq!(quote["unitPricePerTerm"], json!({ "amount": unit * 12, "currency": "USD" }));
    assert_eq!(quote["total"], json!({ "amount": unit * 12 * 25, "currency": "USD" }));
    assert_eq!((quote["orgId"].as_str(), quote["status"].as_str()), (Some(org_a.as_str()), Some("open")));
    let id = quote["quoteId"].as_str().unwrap();

    // Every enterprise admin of the org sees it, and lists it; another org's admin gets 404.
    let (status, same) = json_of(app.get(&format!("/api/enterprise/quotes/{id}"), Some(&boss_a2)).await).await;
    assert_eq!((status, &same["total"]), (200, &quote["total"]));
    let (status, list) = json_of(app.get("/api/enterprise/quotes", Some(&boss_a2)).await).await;
    assert_eq!((status, list["data"][0]["quoteId"].as_str()), (200, Some(id)), "{list}");
    let (status, err) = json_of(app.get(&format!("/api/enterprise/quotes/{id}"), Some(&boss_b)).await).await;
    assert_eq!((status, error_code(&err)), (404, "not_found"));
    let (_, list_b) = json_of(app.get("/api/enterprise/quotes", Some(&boss_b)).await).await;
    assert_eq!(list_b["data"], json!([]));
    let (status, _) = json_of(app.get("/api/enterprise/quotes/quo_missing", Some(&boss_a)).await).await;
    assert_eq!(status, 404);

    // A user without an organisation may ask too (self-serve); the quote is theirs alone.
    let student = app.token(&unique("buyer"), &["student"]);
    let (status, own) = json_of(app.post("/api/enterprise/quotes", Some(&student), None, &body).await).await;
    assert_eq!((status, own["orgId"].is_null()), (201, true), "{own}");
    let (status, _) =
        json_of(app.get(&format!("/api/enterprise/quotes/{}", own["quoteId"].as_str().unwrap()), Some(&boss_a)).await)
            .await;
    assert_eq!(status, 404);

    // Bad input is a clear 400 naming the field.
    for (field, bad) in [("seats", json!(0)), ("termMonths", json!(7)), ("contactEmail", json!("nope"))] {
        let mut b = body.clone();
        b[field] = bad;
        let (status, err) = json_of(app.post("/api/enterprise/quotes", Some(&boss_a), None, &b).await).await;
        assert_eq!((status, error_code(&err)), (400, "validation_failed"), "{field}: {err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
}
