//! The authorization matrix: every `HttpApi` route of template.yaml × every kind of caller, with
//! the status class each must get, and the security headers on every one of those responses.
//! A route added to template.yaml without a row here fails `every_route_has_a_row`.
//!
//! Then probes of every route that takes the id of another user's or organisation's object:
//! created as A, read or changed as B, the answer is 404 (403 where documented), never 2xx or 5xx.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_local::tokens::TokenSpec;
use azora_stack::Template;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The callers, in the order of a row's cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    Student,
    Instructor,
    /// Role `enterprise` with the org that owns the fixtures' license and ticket.
    OrgMember,
    /// Role `enterprise` with another org.
    OtherOrg,
    Admin,
    Service,
}

const WHO: [Who; 7] =
    [Who::Anonymous, Who::Student, Who::Instructor, Who::OrgMember, Who::OtherOrg, Who::Admin, Who::Service];

/// One route: its query and body templates (placeholders `{name}` are fixture values) and one
/// cell per caller in `WHO` order:
/// `U` 401 · `D` denied (403 or 404) · `2` 2xx · `A` allowed (2xx, or a 4xx other than 401/403:
/// validation, conflict, business rule, missing precondition) · `X` authenticated and
/// state-dependent (anything but 401 and 5xx).
struct Row {
    method: &'static str,
    path: &'static str,
    query: &'static str,
    body: &'static str,
    cells: &'static str,
}

const fn row(
    method: &'static str,
    path: &'static str,
    query: &'static str,
    body: &'static str,
    cells: &'static str,
) -> Row {
    Row { method, path, query, body, cells }
}

//                                                                          anon stud inst orgA orgB admin svc
const MATRIX: &[Row] = &[
    row("GET", "/api/health", "", "", "2222222"),
    row("GET", "/api/openapi.json", "", "", "2222222"),
    row("GET", "/api/docs", "", "", "2222222"),
    row("POST", "/api/admin/email-test", "", r#"{"to":"ops@example.com"}"#, "UDDDD2D"),
    row("GET", "/api/admin/audit", "month={month}", "", "UDDDD2D"),
    row("GET", "/api/admin/reconciliation", "", "", "UDDDD2D"),
    row("GET", "/api/admin/reports/monthly", "from={month}&to={month}", "", "UDDDD2D"),
    row("GET", "/api/admin/reports/instructors", "month={month}", "", "UDDDD2D"),
    row("GET", "/api/plans", "", "", "2222222"),
    row("GET", "/api/subscriptions/current", "", "", "U222222"),
    row(
        "POST",
        "/api/subscriptions/create",
        "",
        r#"{"tier":"pro","interval":"month","paymentMethodId":"pm_card_visa"}"#,
        "U222222",
    ),
    row("GET", "/api/subscriptions/preview", "interval=year", "", "U222222"),
    row("GET", "/api/subscriptions/invoices", "", "", "U222222"),
    row("POST", "/api/payment-methods/setup", "", r#"{"paymentMethodId":"pm_card_visa"}"#, "U222222"),
    row("GET", "/api/payment-methods", "", "", "U222222"),
    // The student's own card; everyone else's answer is 404, as for a card that does not exist.
    row("POST", "/api/payment-methods/{paymentMethodId}/default", "", "", "U2DDDDD"),
    row("DELETE", "/api/payment-methods/{paymentMethodId}", "", "", "UADDDDD"),
    row("PUT", "/api/subscriptions/update", "", r#"{"interval":"year"}"#, "U222222"),
    row("POST", "/api/subscriptions/cancel", "", r#"{"atPeriodEnd":true,"userId":"{student}"}"#, "U2DDD2D"),
    row("GET", "/api/courses/{courseId}/certificate", "", "", "U2DDDDD"),
    row(
        "POST",
        "/api/payments/process",
        "",
        r#"{"items":[{"type":"course","courseId":"{otherCourse}"}],"paymentMethodId":"pm_card_visa"}"#,
        "U222222",
    ),
    row("GET", "/api/payments/history", "userId={student}", "", "U2DDD2D"),
    row("GET", "/api/payments/{paymentId}", "", "", "U2DDD2D"),
    row("GET", "/api/payments/{paymentId}/receipt", "", "", "U2DDD2D"),
    row(
        "POST",
        "/api/payments/refund",
        "",
        r#"{"paymentId":"{refundablePayment}","reason":"requested_by_customer"}"#,
        "U2DDDAD",
    ),
    row("POST", "/api/webhooks/stripe", "", r#"{"id":"evt_unsigned","type":"payment_intent.succeeded"}"#, "AAAAAAA"),
    row(
        "POST",
        "/api/courses/upload",
        "",
        r#"{"title":"Matrix course","category":"development","level":"beginner","language":"en","price":{"amount":1000,"currency":"USD"}}"#,
        "UD2DDDD",
    ),
    row("GET", "/api/courses/list", "", "", "2222222"),
    row("GET", "/api/courses/{courseId}", "", "", "2222222"),
    row("GET", "/api/courses/{courseId}/access", "", "", "U222222"),
    row("POST", "/api/courses/{courseId}/status", "", r#"{"status":"published"}"#, "UD2DD2D"),
    row("DELETE", "/api/courses/{courseId}", "", "", "UDADDAD"),
    row("POST", "/api/courses/purchase", "", r#"{"courseId":"{freeCourse}"}"#, "U222222"),
    row("POST", "/api/courses/{courseId}/reviews", "", r#"{"rating":5,"text":"Great"}"#, "U2DDDDD"),
    row("GET", "/api/courses/{courseId}/reviews", "", "", "2222222"),
    row("GET", "/api/instructors/me/courses", "", "", "UD2DDDD"),
    row("GET", "/api/instructors/me/earnings", "", "", "UD2DDDD"),
    row("POST", "/api/instructors/me/payout-account", "", "", "UD2DDDD"),
    row(
        "POST",
        "/api/enterprise/licenses/create",
        "",
        r#"{"orgName":"Matrix","contactEmail":"it@matrix.example","seats":2,"termMonths":12}"#,
        "UDDDD2D",
    ),
    row("GET", "/api/enterprise/licenses/public-key", "", "", "2222222"),
    row("GET", "/api/enterprise/licenses/{licenseId}", "", "", "UDD2D2D"),
    row("POST", "/api/enterprise/licenses/activate", "", r#"{"key":"{licenseKey}","userId":"{member}"}"#, "UDD2D2D"),
    row(
        "POST",
        "/api/enterprise/licenses/deactivate",
        "",
        r#"{"licenseId":"{licenseId}","userId":"{member}"}"#,
        "UDD2DAD",
    ),
    row("GET", "/api/enterprise/licenses/validate", "key={licenseKey}", "", "2222222"),
    row("POST", "/api/enterprise/licenses/{licenseId}/suspend", "", r#"{"reason":"matrix"}"#, "UDDDD2D"),
    row("POST", "/api/enterprise/licenses/{licenseId}/reinstate", "", "{}", "UDDDD2D"),
    row("POST", "/api/enterprise/licenses/{licenseId}/revoke", "", r#"{"reason":"matrix"}"#, "UDDDD2D"),
    row("POST", "/api/enterprise/licenses/{licenseId}/renew", "", r#"{"termMonths":12}"#, "UDDDDAD"),
    // The fixture's license was made by an admin: 409 not_self_serve for those who may manage it.
    row("POST", "/api/enterprise/licenses/{licenseId}/seats", "", r#"{"add":2}"#, "UDDADAD"),
    row(
        "PUT",
        "/api/enterprise/licenses/{licenseId}/white-label",
        "",
        r##"{"brandName":"Org A","logoUrl":"https://cdn.example.com/a.png","primaryColor":"#112233","customDomain":"{domain}"}"##,
        "UDD2D2D",
    ),
    row("GET", "/api/enterprise/licenses/{licenseId}/white-label", "", "", "UDD2D2D"),
    // Nothing pending once the fixture's domain is verified: 409 nothing_to_verify for those allowed.
    row("POST", "/api/enterprise/licenses/{licenseId}/white-label/verify", "", "{}", "UDDADAD"),
    row("GET", "/api/enterprise/white-label", "domain={domain}", "", "2222222"),
    row("GET", "/api/enterprise/usage", "licenseId={licenseId}", "", "UDD2D2D"),
    // Anyone signed in may ask for a quote (for their org, or for themselves).
    row(
        "POST",
        "/api/enterprise/quotes",
        "",
        r#"{"seats":3,"termMonths":12,"orgName":"Matrix","contactEmail":"it@matrix.example"}"#,
        "U222222",
    ),
    row("GET", "/api/enterprise/quotes", "", "", "U222222"),
    // The fixture's quote is org A's: only org A's enterprise admins and admins see it.
    row("GET", "/api/enterprise/quotes/{quoteId}", "", "", "UDD2D2D"),
    // Accepting sends a Stripe invoice; a second accept (the admin after org A) answers the same.
    row("POST", "/api/enterprise/quotes/{quoteId}/accept", "", "{}", "UDD2D2D"),
    row(
        "POST",
        "/api/enterprise/support/tickets",
        "",
        r#"{"subject":"Matrix","body":"Checking who may file.","priority":"low"}"#,
        "UDD22DD",
    ),
    row("GET", "/api/enterprise/support/tickets", "orgId={org}", "", "UDD222D"),
    row("GET", "/api/enterprise/support/tickets/{ticketId}", "", "", "UDD2D2D"),
    row("POST", "/api/enterprise/support/tickets/{ticketId}/replies", "", r#"{"body":"Any news?"}"#, "UDD2D2D"),
    row("POST", "/api/enterprise/support/tickets/{ticketId}/status", "", r#"{"status":"resolved"}"#, "UDDAD2D"),
    row("GET", "/api/admin/support/tickets", "", "", "UDDDD2D"),
    row(
        "POST",
        "/api/tokens/award",
        "",
        r#"{"userId":"{student}","reason":"course_completion","courseId":"{courseId}"}"#,
        "UDDDD22",
    ),
    row("GET", "/api/tokens/balance", "", "", "U222222"),
    row("GET", "/api/tokens/history", "", "", "U222222"),
    row("GET", "/api/tokens/rewards", "", "", "U222222"),
    row("POST", "/api/tokens/redeem", "", r#"{"rewardId":"course_voucher_500"}"#, "UAAAAAA"),
    row("GET", "/api/leaderboard/global", "", "", "U222222"),
    row("GET", "/api/leaderboard/friends", "", "", "U222222"),
    row("GET", "/api/leaderboard/class/{classId}", "", "", "U22DDDD"),
    row("POST", "/api/friends", "", r#"{"userId":"{member}"}"#, "U222222"),
    row("DELETE", "/api/friends/{userId}", "", "", "U222222"),
    row("GET", "/api/friends", "", "", "U222222"),
    row("GET", "/api/users/me/courses", "", "", "U222222"),
    row("GET", "/api/friends/requests", "", "", "U222222"),
    row("POST", "/api/friends/requests/{userId}/accept", "", "", "UAAAAAA"),
    row("DELETE", "/api/friends/requests/{userId}", "", "", "UAAAAAA"),
    row("POST", "/api/classes", "", r#"{"name":"Matrix class"}"#, "UD222DD"),
    row("POST", "/api/classes/join", "", r#"{"joinCode":"{joinCode}"}"#, "U222222"),
    row("GET", "/api/classes", "", "", "U222222"),
    row("PUT", "/api/users/me/privacy", "", r#"{"hideFromLeaderboards":false}"#, "U222222"),
];

fn template_routes() -> BTreeSet<(String, String)> {
    let template = Template::load_default().expect("template.yaml parses");
    template
        .functions
        .iter()
        .flat_map(|f| f.http_routes.iter().filter(|r| !r.is_fallback()).map(|r| (r.method.clone(), r.path.clone())))
        .collect()
}

#[test]
fn every_route_has_a_row() {
    let routes = template_routes();
    let rows: BTreeSet<(String, String)> = MATRIX.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    assert_eq!(rows.len(), MATRIX.len(), "a route has two rows");
    let missing: Vec<_> = routes.difference(&rows).collect();
    let stale: Vec<_> = rows.difference(&routes).collect();
    assert!(missing.is_empty(), "routes of template.yaml without a row in the authorization matrix: {missing:?}");
    assert!(stale.is_empty(), "matrix rows for routes template.yaml does not have: {stale:?}");
    for r in MATRIX {
        assert_eq!(r.cells.len(), WHO.len(), "{} {}: one cell per caller", r.method, r.path);
        assert!(r.cells.chars().all(|c| "UD2AX".contains(c)), "{} {}: unknown cell", r.method, r.path);
    }
}

/// The objects the matrix's paths and bodies name; owned by `student`, `instructor` and `org`.
struct Fixtures {
    values: Vec<(&'static str, String)>,
}

impl Fixtures {
    fn fill(&self, template: &str) -> String {
        let mut out = template.to_string();
        for (name, value) in &self.values {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }

    fn get(&self, name: &str) -> &str {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }
}

struct Callers {
    student: String,
    instructor: String,
    org_member: String,
    other_org: String,
    admin: String,
    service: String,
}

impl Callers {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Student => Some(&self.student),
            Who::Instructor => Some(&self.instructor),
            Who::OrgMember => Some(&self.org_member),
            Who::OtherOrg => Some(&self.other_org),
            Who::Admin => Some(&self.admin),
            Who::Service => Some(&self.service),
        }
    }
}

fn enterprise(app: &TestApp, sub: &str, org: &str) -> String {
    app.token_with(&TokenSpec { sub, roles: &["enterprise"], org: Some(org), ttl_seconds: 600 })
}

async fn send(app: &TestApp, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = app.request(method.clone(), path, token);
    if method != Method::GET && method != Method::DELETE {
        rb = rb.header("Idempotency-Key", unique("matrix"));
    }
    if let Some(b) = body {
        rb = rb.json(b);
    }
    rb.send().await.expect("request sent")
}

async fn ok_json(app: &TestApp, method: &str, path: &str, token: &str, body: Value) -> Value {
    let (status, out) = json_of(send(app, method, path, Some(token), Some(&body)).await).await;
    assert!((200..300).contains(&status), "fixture {method} {path}: {status} {out}");
    out
}

/// A course bought and fulfilled, licenses, a ticket, a white-label domain and a class.
async fn fixtures(app: &TestApp, student_id: &str, instructor_id: &str, org: &str, callers: &Callers) -> Fixtures {
    let course = app.seed_course(instructor_id, 1999, "USD").await;
    let refundable_course = app.seed_course(instructor_id, 2999, "USD").await;
    let other_course = app.seed_course("matrix-other-instructor", 999, "USD").await;
    let free_course = app.seed_course("matrix-other-instructor", 0, "USD").await;
    let mut payments = Vec::new();
    for c in [&course, &refundable_course] {
        let body = json!({ "items": [{ "type": "course", "courseId": c }], "paymentMethodId": "pm_card_visa" });
        let paid = ok_json(app, "POST", "/api/payments/process", &callers.student, body).await;
        let id = paid["paymentId"].as_str().expect("paymentId").to_string();
        app.wait_for_payment(&id, &callers.student, |p| p["fulfilled"] == true).await;
        payments.push(id);
    }
    let admin = &callers.admin;
    let license = ok_json(
        app,
        "POST",
        "/api/enterprise/licenses/create",
        admin,
        json!({ "orgId": org, "orgName": "Org A", "contactEmail": "it@org-a.example", "seats": 5, "termMonths": 12,
                "features": ["white_label"] }),
    )
    .await;
    let admin_license = ok_json(
        app,
        "POST",
        "/api/enterprise/licenses/create",
        admin,
        json!({ "orgId": unique("org"), "orgName": "Org Z", "contactEmail": "it@org-z.example", "seats": 1, "termMonths": 12 }),
    )
    .await;
    let license_id = license["licenseId"].as_str().expect("licenseId").to_string();
    let domain = format!("{}.org-a.example.com", unique("learn"));
    let claim = ok_json(
        app,
        "PUT",
        &format!("/api/enterprise/licenses/{license_id}/white-label"),
        &callers.org_member,
        json!({ "brandName": "Org A", "logoUrl": "https://cdn.example.com/a.png", "primaryColor": "#112233",
                "customDomain": domain }),
    )
    .await;
    // The domain is proven through the sandbox's DNS stand-in, so its theme is served.
    let record = &claim["verification"];
    app.sandbox_post("/_sandbox/dns/txt", json!({ "name": record["name"], "values": [record["value"]] })).await;
    ok_json(
        app,
        "POST",
        &format!("/api/enterprise/licenses/{license_id}/white-label/verify"),
        &callers.org_member,
        json!({}),
    )
    .await;
    let quote = ok_json(
        app,
        "POST",
        "/api/enterprise/quotes",
        &callers.org_member,
        json!({ "seats": 5, "termMonths": 12, "orgName": "Org A", "contactEmail": "it@org-a.example" }),
    )
    .await;
    let ticket = ok_json(
        app,
        "POST",
        "/api/enterprise/support/tickets",
        &callers.org_member,
        json!({ "subject": "Fixture", "body": "A ticket of org A.", "priority": "low" }),
    )
    .await;
    let class = ok_json(app, "POST", "/api/classes", &callers.instructor, json!({ "name": "Fixture class" })).await;
    ok_json(app, "POST", "/api/classes/join", &callers.student, json!({ "joinCode": class["joinCode"] })).await;
    let card = ok_json(
        app,
        "POST",
        "/api/payment-methods/setup",
        &callers.student,
        json!({ "paymentMethodId": "pm_card_mastercard" }),
    )
    .await;
    let member = unique("member");
    let month = jiff::Timestamp::now().strftime("%Y-%m").to_string();
    Fixtures {
        values: vec![
            ("courseId", course),
            ("otherCourse", other_course),
            ("freeCourse", free_course),
            ("paymentId", payments[0].clone()),
            ("refundablePayment", payments[1].clone()),
            ("licenseId", license_id),
            ("licenseKey", license["key"].as_str().expect("key").to_string()),
            ("adminLicenseId", admin_license["licenseId"].as_str().expect("licenseId").to_string()),
            ("quoteId", quote["quoteId"].as_str().expect("quoteId").to_string()),
            ("ticketId", ticket["ticketId"].as_str().expect("ticketId").to_string()),
            ("classId", class["classId"].as_str().expect("classId").to_string()),
            ("joinCode", class["joinCode"].as_str().expect("joinCode").to_string()),
            ("domain", domain),
            ("org", org.to_string()),
            ("student", student_id.to_string()),
            ("member", member.clone()),
            // Unfollows the member every caller followed just before (`POST /api/friends`).
            ("userId", member),
            ("month", month),
            ("paymentMethodId", card["paymentMethodId"].as_str().expect("paymentMethodId").to_string()),
        ],
    }
}

fn matches(cell: char, status: u16) -> bool {
    match cell {
        'U' => status == 401,
        'D' => status == 403 || status == 404,
        '2' => (200..300).contains(&status),
        'A' => (200..500).contains(&status) && status != 401 && status != 403,
        'X' => (200..500).contains(&status) && status != 401,
        _ => false,
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_matrix_says_with_security_headers() {
    let app = spawn_app().await;
    let (student_id, instructor_id, org, other_org) =
        (unique("student"), unique("instructor"), unique("org"), unique("org"));
    let callers = Callers {
        student: app.token_with_email(&student_id, &["student"], &format!("{student_id}@example.com")),
        instructor: app.token(&instructor_id, &["instructor"]),
        org_member: enterprise(&app, &unique("boss"), &org),
        other_org: enterprise(&app, &unique("boss"), &other_org),
        admin: app.token(&unique("ops"), &["admin"]),
        service: app.token(&unique("learning-platform"), &["service"]),
    };
    let fx = fixtures(&app, &student_id, &instructor_id, &org, &callers).await;
    let mut failures = Vec::new();
    for r in MATRIX {
        // Admin actions change the license's status: they act on a license of their own.
        let path = if r.path.starts_with("/api/enterprise/licenses/{licenseId}/") && !r.path.contains("/white-label") {
            r.path.replace("{licenseId}", fx.get("adminLicenseId"))
        } else {
            fx.fill(r.path)
        };
        let url = if r.query.is_empty() { path } else { format!("{path}?{}", fx.fill(r.query)) };
        let body: Option<Value> = if r.body.is_empty() {
            None
        } else {
            Some(serde_json::from_str(&fx.fill(r.body)).expect("row body is JSON"))
        };
        for (who, cell) in WHO.iter().zip(r.cells.chars()) {
            let token = callers.token(*who);
            let resp = send(&app, r.method, &url, token, body.as_ref()).await;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let text = resp.text().await.unwrap_or_default();
            let cell_name = format!("{} {} as {who:?}", r.method, r.path);
            if !matches(cell, status) {
                failures.push(format!("{cell_name}: expected {cell}, got {status} {text}"));
            }
            if status >= 500 {
                failures.push(format!("{cell_name}: server error {status} {text}"));
            }
            let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            if !header("strict-transport-security").starts_with("max-age=") {
                failures.push(format!("{cell_name}: no Strict-Transport-Security"));
            }
            if header("x-content-type-options") != "nosniff" {
                failures.push(format!("{cell_name}: no X-Content-Type-Options: nosniff"));
            }
            let private = token.is_some() || cell == 'U';
            if private && header("cache-control") != "no-store" {
                failures.push(format!("{cell_name}: private answer without Cache-Control: no-store"));
            }
            if status >= 400 {
                // Errors are the JSON envelope, never a stack trace or an internal cause.
                let parsed: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let leaks = [
                    "panicked",
                    "backtrace",
                    "USER#",
                    "COURSE#",
                    "PAYMENT#",
                    "LICENSE#",
                    "arn:aws",
                    "dispatch failure",
                ];
                if parsed["error"]["code"].as_str().is_none() || leaks.iter().any(|l| text.contains(l)) {
                    failures.push(format!("{cell_name}: error without the envelope: {text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} authorization matrix failures:\n{}", failures.len(), failures.join("\n"));
}

/// method, path, B's token, body, the statuses B may get.
type Probe = (&'static str, String, String, Option<Value>, &'static [u16]);

/// A's objects, asked for by B (same role, other user or org): 404, or 403 where documented.
#[tokio::test]
async fn another_users_or_orgs_objects_are_never_served() {
    let app = spawn_app().await;
    let (a, b) = (unique("buyer-a"), unique("buyer-b"));
    let (ta, tb) = (app.token(&a, &["student"]), app.token(&b, &["student"]));
    let admin = app.token(&unique("ops"), &["admin"]);

    // Payments, receipts, refunds.
    let course = app.seed_course("probe-instructor", 1500, "USD").await;
    let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_visa" });
    let paid = ok_json(&app, "POST", "/api/payments/process", &ta, body).await;
    let payment = paid["paymentId"].as_str().expect("paymentId").to_string();
    app.wait_for_payment(&payment, &ta, |p| p["fulfilled"] == true).await;
    const NOT_FOUND: &[u16] = &[404];
    const FORBIDDEN: &[u16] = &[403];
    const DENIED: &[u16] = &[403, 404];
    let mut probes: Vec<Probe> = vec![
        ("GET", format!("/api/payments/{payment}"), tb.clone(), None, NOT_FOUND),
        ("GET", format!("/api/payments/{payment}/receipt"), tb.clone(), None, NOT_FOUND),
        ("GET", format!("/api/payments/{payment}/receipt?format=pdf"), tb.clone(), None, NOT_FOUND),
        ("GET", format!("/api/payments/{payment}/receipt?format=json"), tb.clone(), None, NOT_FOUND),
        (
            "POST",
            "/api/payments/refund".into(),
            tb.clone(),
            Some(json!({ "paymentId": payment, "reason": "requested_by_customer" })),
            NOT_FOUND,
        ),
        // Documented: another user's history is 403 unless admin.
        ("GET", format!("/api/payments/history?userId={a}"), tb.clone(), None, FORBIDDEN),
        // Someone else's subscription cannot be canceled: 404 as if none.
        (
            "POST",
            "/api/subscriptions/cancel".into(),
            tb.clone(),
            Some(json!({ "atPeriodEnd": true, "userId": a })),
            NOT_FOUND,
        ),
    ];

    // A token voucher of A cannot pay B's order.
    ok_json(&app, "POST", "/api/tokens/award", &admin, json!({ "userId": a, "amount": 500, "reason": "probe" })).await;
    let voucher = ok_json(&app, "POST", "/api/tokens/redeem", &ta, json!({ "rewardId": "course_voucher_500" })).await;
    let voucher_id = voucher["voucher"]["voucherId"]
        .as_str()
        .or_else(|| voucher["voucherId"].as_str())
        .unwrap_or_else(|| panic!("voucher id in {voucher}"))
        .to_string();
    let other = app.seed_course("probe-instructor", 900, "USD").await;
    probes.push((
        "POST",
        "/api/payments/process".into(),
        tb.clone(),
        Some(json!({ "items": [{ "type": "course", "courseId": other }], "paymentMethodId": "pm_card_visa",
                     "voucherId": voucher_id })),
        NOT_FOUND,
    ));

    // An instructor's draft and course edits.
    let (ia, ib) = (unique("teacher-a"), unique("teacher-b"));
    let (tia, tib) = (app.token(&ia, &["instructor"]), app.token(&ib, &["instructor"]));
    let draft = ok_json(
        &app,
        "POST",
        "/api/courses/upload",
        &tia,
        json!({ "title": "Draft of A", "category": "development", "level": "beginner", "language": "en",
                "price": { "amount": 1000, "currency": "USD" } }),
    )
    .await;
    let draft_id = draft["courseId"].as_str().unwrap_or_else(|| panic!("courseId in {draft}")).to_string();
    probes.push(("GET", format!("/api/courses/{draft_id}"), tib.clone(), None, NOT_FOUND));
    probes.push(("GET", format!("/api/courses/{draft_id}/reviews"), tib.clone(), None, NOT_FOUND));
    probes.push((
        "POST",
        format!("/api/courses/{draft_id}/status"),
        tib.clone(),
        Some(json!({ "status": "archived" })),
        NOT_FOUND,
    ));
    probes.push(("DELETE", format!("/api/courses/{draft_id}"), tib.clone(), None, NOT_FOUND));
    // Found by this test: `/access`, the certificate and a review answered 200/403 for another
    // instructor's draft, confirming that it exists.
    probes.push(("GET", format!("/api/courses/{draft_id}/access"), tib.clone(), None, NOT_FOUND));
    probes.push(("GET", format!("/api/courses/{draft_id}/access"), tb.clone(), None, NOT_FOUND));
    probes.push((
        "POST",
        format!("/api/courses/{draft_id}/reviews"),
        tb.clone(),
        Some(json!({ "rating": 1, "text": "never saw it" })),
        NOT_FOUND,
    ));
    // Buying it answers like an unknown course too (it was 422 `not_purchasable`).
    for route in ["/api/payments/process", "/api/courses/purchase"] {
        let body = if route.ends_with("process") {
            json!({ "items": [{ "type": "course", "courseId": draft_id }], "paymentMethodId": "pm_card_visa" })
        } else {
            json!({ "courseId": draft_id, "paymentMethodId": "pm_card_visa" })
        };
        probes.push(("POST", route.into(), tb.clone(), Some(body), NOT_FOUND));
    }
    probes.push((
        "POST",
        "/api/courses/upload".into(),
        tib.clone(),
        Some(json!({ "courseId": draft_id, "title": "Taken over", "category": "development", "level": "beginner",
                     "language": "en", "price": { "amount": 1000, "currency": "USD" } })),
        NOT_FOUND,
    ));

    // Licenses, white-label, usage, tickets of org A, asked for by org B's enterprise admin.
    let (org_a, org_b) = (unique("org"), unique("org"));
    let (boss_a, boss_b) = (enterprise(&app, &unique("boss"), &org_a), enterprise(&app, &unique("boss"), &org_b));
    let license = ok_json(
        &app,
        "POST",
        "/api/enterprise/licenses/create",
        &admin,
        json!({ "orgId": org_a, "orgName": "A", "contactEmail": "it@a.example", "seats": 3, "termMonths": 12,
                "features": ["white_label"] }),
    )
    .await;
    let lic = license["licenseId"].as_str().expect("licenseId").to_string();
    let key = license["key"].as_str().expect("key").to_string();
    ok_json(&app, "POST", "/api/enterprise/licenses/activate", &boss_a, json!({ "key": key, "userId": a })).await;
    let ticket = ok_json(
        &app,
        "POST",
        "/api/enterprise/support/tickets",
        &boss_a,
        json!({ "subject": "A's secret", "body": "Only org A may read this.", "priority": "high" }),
    )
    .await;
    let ticket_id = ticket["ticketId"].as_str().expect("ticketId").to_string();
    let white_label = json!({ "brandName": "B", "logoUrl": "https://cdn.example.com/b.png", "primaryColor": "#000000",
                              "customDomain": format!("{}.example.com", unique("b")) });
    for token in [boss_b.clone(), tb.clone()] {
        probes.push(("GET", format!("/api/enterprise/licenses/{lic}"), token.clone(), None, DENIED));
        probes.push(("GET", format!("/api/enterprise/usage?licenseId={lic}"), token.clone(), None, NOT_FOUND));
        probes.push((
            "PUT",
            format!("/api/enterprise/licenses/{lic}/white-label"),
            token.clone(),
            Some(white_label.clone()),
            NOT_FOUND,
        ));
        probes.push(("GET", format!("/api/enterprise/licenses/{lic}/white-label"), token.clone(), None, NOT_FOUND));
        probes.push((
            "POST",
            format!("/api/enterprise/licenses/{lic}/white-label/verify"),
            token.clone(),
            Some(json!({})),
            NOT_FOUND,
        ));
        probes.push(("GET", format!("/api/enterprise/support/tickets/{ticket_id}"), token.clone(), None, NOT_FOUND));
        probes.push((
            "POST",
            format!("/api/enterprise/support/tickets/{ticket_id}/replies"),
            token.clone(),
            Some(json!({ "body": "not my ticket" })),
            NOT_FOUND,
        ));
        probes.push((
            "POST",
            format!("/api/enterprise/support/tickets/{ticket_id}/status"),
            token.clone(),
            Some(json!({ "status": "closed" })),
            NOT_FOUND,
        ));
        probes.push((
            "POST",
            "/api/enterprise/licenses/deactivate".into(),
            token.clone(),
            Some(json!({ "licenseId": lic, "userId": a })),
            NOT_FOUND,
        ));
    }
    probes.push((
        "POST",
        "/api/enterprise/licenses/activate".into(),
        boss_b.clone(),
        Some(json!({ "key": key, "userId": b })),
        NOT_FOUND,
    ));

    // A follow request to A is A's to answer: B can neither accept nor decline it.
    let requester = unique("requester");
    ok_json(&app, "POST", "/api/friends", &app.token(&requester, &["student"]), json!({ "userId": a })).await;
    probes.push(("POST", format!("/api/friends/requests/{requester}/accept"), tb.clone(), None, NOT_FOUND));
    probes.push(("DELETE", format!("/api/friends/requests/{requester}"), tb.clone(), None, NOT_FOUND));

    // A class leaderboard is for its owner and members.
    let class = ok_json(&app, "POST", "/api/classes", &tia, json!({ "name": "A's class" })).await;
    let class_id = class["classId"].as_str().expect("classId").to_string();
    ok_json(&app, "POST", "/api/classes/join", &ta, json!({ "joinCode": class["joinCode"] })).await;
    probes.push(("GET", format!("/api/leaderboard/class/{class_id}"), tb.clone(), None, NOT_FOUND));
    probes.push(("GET", format!("/api/leaderboard/class/{class_id}"), tib.clone(), None, NOT_FOUND));

    let mut failures = Vec::new();
    for (method, path, token, body, expected) in &probes {
        let (status, out) = json_of(send(&app, method, path, Some(token.as_str()), body.as_ref()).await).await;
        if !expected.contains(&status) {
            failures.push(format!("{method} {path}: expected {expected:?}, got {status} {out}"));
        } else {
            error_code(&out);
        }
    }
    // Org B's ticket listing never shows org A's tickets, whatever orgId it asks for.
    let (status, listed) =
        json_of(app.get(&format!("/api/enterprise/support/tickets?orgId={org_a}"), Some(&boss_b)).await).await;
    assert_eq!(status, 200, "{listed}");
    assert!(!listed.to_string().contains(&ticket_id), "org B sees org A's ticket: {listed}");
    // And nothing B tried changed A's seat.
    let (status, seat) = json_of(app.get(&format!("/api/enterprise/licenses/{lic}"), Some(&boss_a)).await).await;
    assert_eq!((status, &seat["seatsUsed"]), (200, &json!(1)), "{seat}");
    assert!(failures.is_empty(), "{} cross-object probes failed:\n{}", failures.len(), failures.join("\n"));
}
