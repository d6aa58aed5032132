//! Self-serve enterprise purchase end to end: a quote accepted into a Stripe invoice (sent for
//! payment), the license issued once when the invoice is paid, nothing issued by an `invoice.paid`
//! that does not pay the quote's invoice, and an unpaid invoice voided after its due date.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use azora_local::tokens::TokenSpec;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const DAY: i64 = 86_400;

fn org_admin(app: &TestApp, org: &str) -> String {
    app.token_with(&TokenSpec {
        sub: &format!("buyer-{org}"),
        roles: &["enterprise"],
        org: Some(org),
        ttl_seconds: 600,
    })
}

async fn quote(app: &TestApp, token: &str, seats: u32) -> Value {
    let body = json!({ "seats": seats, "termMonths": 12, "orgName": "Acme", "contactEmail": "billing@acme.example" });
    let (status, quote) = json_of(app.post("/api/enterprise/quotes", Some(token), None, &body).await).await;
    assert_eq!(status, 201, "{quote}");
    quote
}

async fn accept(app: &TestApp, token: &str, quote_id: &str) -> (u16, Value) {
    json_of(app.post(&format!("/api/enterprise/quotes/{quote_id}/accept"), Some(token), None, &json!({})).await).await
}

async fn get_quote(app: &TestApp, token: &str, quote_id: &str) -> Value {
    let (status, quote) = json_of(app.get(&format!("/api/enterprise/quotes/{quote_id}"), Some(token)).await).await;
    assert_eq!(status, 200, "{quote}");
    quote
}

/// A call to the sandbox's Stripe API, as the customer's browser on the hosted invoice page would
/// make it (Stripe's own page pays through the same endpoint).
async fn stripe_api(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = app
        .http
        .post(format!("{}{}", app.stripe.base_url(), path.trim_start_matches('/')))
        .bearer_auth("sk_test_end_to_end")
        .form(form)
        .send()
        .await
        .expect("sandbox answers");
    json_of(resp).await
}

async fn stripe_get(app: &TestApp, path: &str) -> Value {
    let resp = app
        .http
        .get(format!("{}{}", app.stripe.base_url(), path.trim_start_matches('/')))
        .bearer_auth("sk_test_end_to_end")
        .send()
        .await
        .expect("sandbox answers");
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn wait_for_status(app: &TestApp, token: &str, quote_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let q = get_quote(app, token, quote_id).await;
        if q["status"] == status {
            return q;
        }
        assert!(Instant::now() < deadline, "quote never became {status}: {q}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_paid_quote_issues_one_license_and_accepting_twice_sends_one_invoice() {
    let app = spawn_app().await;
    let org = unique("org");
    let boss = org_admin(&app, &org);
    let q = quote(&app, &boss, 3).await;
    let id = q["quoteId"].as_str().unwrap().to_string();
    let total = q["total"]["amount"].as_i64().unwrap();

    // Two accepts at once: one invoice, sent for payment, due in 30 days.
    let (a, b) = tokio::join!(accept(&app, &boss, &id), accept(&app, &boss, &id));
    assert_eq!((a.0, b.0), (200, 200), "{a:?} {b:?}");
    assert_eq!(a.1["status"], "invoiced", "{}", a.1);
    let invoice_id = a.1["invoice"]["invoiceId"].as_str().unwrap().to_string();
    assert_eq!(b.1["invoice"]["invoiceId"], invoice_id.as_str());
    assert!(a.1["invoice"]["hostedInvoiceUrl"].as_str().is_some_and(|u| u.contains(&invoice_id)), "{}", a.1);
    let invoice = stripe_get(&app, &format!("/v1/invoices/{invoice_id}")).await;
    let customer = invoice["customer"].as_str().unwrap().to_string();
    let all = stripe_get(&app, &format!("/v1/invoices?customer={customer}")).await;
    assert_eq!(all["data"].as_array().map(Vec::len), Some(1), "one invoice for one quote: {all}");
    assert_eq!(
        (invoice["collection_method"].as_str(), invoice["status"].as_str(), invoice["amount_due"].as_i64()),
        (Some("send_invoice"), Some("open"), Some(total)),
        "{invoice}"
    );
    let due = invoice["due_date"].as_i64().unwrap() - invoice["status_transitions"]["finalized_at"].as_i64().unwrap();
    assert_eq!(due, 30 * DAY);
    assert_eq!(a.1["licenseId"], Value::Null, "no license before payment");

    // The customer pays on the hosted page: the license is issued with the quote's seats.
    let (status, paid) = stripe_api(
        &app,
        &format!("/v1/invoices/{invoice_id}/pay"),
        &[("payment_method", "pm_card_visa"), ("off_session", "false")],
    )
    .await;
    assert_eq!((status, paid["status"].as_str()), (200, Some("paid")), "{paid}");
    let done = wait_for_status(&app, &boss, &id, "paid").await;
    let license_id = done["licenseId"].as_str().expect("license issued").to_string();
    let (status, license) =
        json_of(app.get(&format!("/api/enterprise/licenses/{license_id}"), Some(&boss)).await).await;
    assert_eq!(
        (status, license["seats"].as_u64(), license["orgId"].as_str()),
        (200, Some(3), Some(org.as_str())),
        "{license}"
    );
    let key = license["key"].clone();

    // Stripe delivers the news again (and its twin event): still one license, the same key.
    let event = app.sandbox_event("invoice.paid").await;
    assert!(app.deliver(&event, json!({ "times": 2 })).await.iter().all(|s| *s == 200));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, again) = json_of(app.get(&format!("/api/enterprise/licenses/{license_id}"), Some(&boss)).await).await;
    assert_eq!((again["seats"].as_u64(), &again["key"]), (Some(3), &key), "{again}");
    assert_eq!(get_quote(&app, &boss, &id).await["licenseId"], license_id.as_str());
    // Accepting a paid quote answers it as it is.
    let (status, same) = accept(&app, &boss, &id).await;
    assert_eq!((status, same["status"].as_str()), (200, Some("paid")));
    // Another org's admin cannot accept it, nor see it.
    let (status, err) = accept(&app, &org_admin(&app, &unique("org")), &id).await;
    assert_eq!((status, error_code(&err)), (404, "not_found"));
}

#[tokio::test]
async fn an_invoice_paid_event_that_does_not_pay_the_quote_issues_nothing() {
    let app = spawn_app().await;
    let boss = org_admin(&app, &unique("org"));
    let q = quote(&app, &boss, 2).await;
    let id = q["quoteId"].as_str().unwrap().to_string();
    let total = q["total"]["amount"].as_i64().unwrap();
    // Not accepted yet: a signed event naming the quote changes nothing.
    let forged = |invoice: &str, customer: &str, amount: i64, currency: &str| {
        json!({ "id": invoice, "object": "invoice", "customer": customer, "amount_paid": amount, "currency": currency,
                "status": "paid", "metadata": { "azoraQuoteId": id } })
    };
    assert_eq!(app.signed_event("invoice.paid", forged("in_forged", "cus_forged", total, "usd"), json!({})).await, 200);
    let (_, accepted) = accept(&app, &boss, &id).await;
    let invoice = accepted["invoice"]["invoiceId"].as_str().unwrap().to_string();
    let customer = stripe_get(&app, &format!("/v1/invoices/{invoice}")).await["customer"].as_str().unwrap().to_string();
    // Our invoice id with another customer, a smaller amount, another currency; another invoice.
    for object in [
        forged(&invoice, "cus_someone_else", total, "usd"),
        forged(&invoice, &customer, total - 1, "usd"),
        forged(&invoice, &customer, total, "eur"),
        forged("in_other", &customer, total, "usd"),
    ] {
        assert_eq!(app.signed_event("invoice.paid", object, json!({})).await, 200);
    }
    // From a connected account: not ours either.
    let acct = json!({ "account": "acct_connected" });
    assert_eq!(app.signed_event("invoice.paid", forged(&invoice, &customer, total, "usd"), acct).await, 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let still = get_quote(&app, &boss, &id).await;
    assert_eq!((still["status"].as_str(), &still["licenseId"]), (Some("invoiced"), &Value::Null), "{still}");
}

#[tokio::test]
async fn an_invoice_unpaid_at_its_due_date_is_voided_with_its_quote() {
    let app = spawn_app().await;
    let boss = org_admin(&app, &unique("org"));
    let q = quote(&app, &boss, 4).await;
    let id = q["quoteId"].as_str().unwrap().to_string();
    let (status, accepted) = accept(&app, &boss, &id).await;
    assert_eq!(status, 200, "{accepted}");
    let invoice = accepted["invoice"]["invoiceId"].as_str().unwrap().to_string();

    // Before the due date the billing cycle leaves it alone.
    let (_, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(report["quoteInvoicesVoided"], 0, "{report}");
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": 31 * DAY })).await;
    app.booted.state.clock.advance(31 * DAY);
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!((status, report["quoteInvoicesVoided"].as_u64()), (200, Some(1)), "{report}");
    assert_eq!((&report["errors"], &report["complete"]), (&json!([]), &json!(true)), "{report}");
    let voided = get_quote(&app, &boss, &id).await;
    assert_eq!(voided["status"], "void", "{voided}");
    let inv = stripe_get(&app, &format!("/v1/invoices/{invoice}")).await;
    assert_eq!(inv["status"], "void", "{inv}");
    // It can no longer be paid, nor accepted again.
    let (status, _) =
        stripe_api(&app, &format!("/v1/invoices/{invoice}/pay"), &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(status, 400);
    let (status, err) = accept(&app, &boss, &id).await;
    assert_eq!((status, error_code(&err)), (409, "quote_not_open"), "{err}");
}

/// The one sandbox event of `event_type` about `object_id`.
async fn event_about(app: &TestApp, event_type: &str, object_id: &str) -> String {
    let (_, all) =
        json_of(app.http.get(format!("{}_sandbox/events", app.stripe.base_url())).send().await.expect("sandbox")).await;
    let matching: Vec<&Value> = all["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["type"] == event_type && e["data"]["object"]["id"] == object_id)
        .collect();
    assert_eq!(matching.len(), 1, "one {event_type} about {object_id}");
    matching[0]["id"].as_str().unwrap().to_string()
}

async fn cycle(app: &TestApp) -> Value {
    let (status, report) = json_of(app.post("/_local/jobs/billing-cycle", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{report}");
    report
}

/// Buys a license self-serve: quote, accept, pay. Returns the license as its admin sees it.
async fn buy_license(app: &TestApp, boss: &str, seats: u32) -> Value {
    let q = quote(app, boss, seats).await;
    let id = q["quoteId"].as_str().unwrap().to_string();
    let (_, accepted) = accept(app, boss, &id).await;
    let invoice = accepted["invoice"]["invoiceId"].as_str().unwrap().to_string();
    let (status, paid) =
        stripe_api(app, &format!("/v1/invoices/{invoice}/pay"), &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(status, 200, "{paid}");
    let license_id = wait_for_status(app, boss, &id, "paid").await["licenseId"].as_str().unwrap().to_string();
    license(app, boss, &license_id).await
}

async fn license(app: &TestApp, token: &str, license_id: &str) -> Value {
    let (status, license) =
        json_of(app.get(&format!("/api/enterprise/licenses/{license_id}"), Some(token)).await).await;
    assert_eq!(status, 200, "{license}");
    license
}

async fn add_seats(app: &TestApp, token: &str, license_id: &str, add: u32, key: &str) -> (u16, Value) {
    let path = format!("/api/enterprise/licenses/{license_id}/seats");
    json_of(app.post(&path, Some(token), Some(key), &json!({ "add": add })).await).await
}

async fn wait_for_license(app: &TestApp, token: &str, license_id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let l = license(app, token, license_id).await;
        if done(&l) {
            return l;
        }
        assert!(Instant::now() < deadline, "license never changed as expected: {l}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn seats_added_mid_term_are_invoiced_prorated_and_added_once_when_paid() {
    let app = spawn_app().await;
    let boss = org_admin(&app, &unique("org"));
    let bought = buy_license(&app, &boss, 10).await;
    let license_id = bought["licenseId"].as_str().unwrap().to_string();
    let expires: jiff::Timestamp = bought["expiresAt"].as_str().unwrap().parse().unwrap();
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": 100 * DAY })).await;
    app.booted.state.clock.advance(100 * DAY);

    // The price is the domain's proration of the original quote's seat price over the term.
    let now = app.booted.state.clock.now();
    let expected = azora_domain::license_purchase::seats_price(
        &azora_domain::license_purchase::quote(10, 12).unwrap(),
        2,
        expires,
        now,
    );
    let key = unique("seats");
    let (status, order) = add_seats(&app, &boss, &license_id, 2, &key).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!((order["kind"].as_str(), order["status"].as_str()), (Some("add_seats"), Some("invoiced")), "{order}");
    assert_eq!(order["total"]["amount"].as_i64(), Some(expected.total.amount), "{order}");
    assert!(expected.total.amount > 0 && expected.total.amount < 2 * 18_000, "{expected:?}");
    // A retry with the same key is the same order; without a key the request is refused.
    let (status, again) = add_seats(&app, &boss, &license_id, 2, &key).await;
    assert_eq!((status, &again["quoteId"]), (201, &order["quoteId"]));
    let (status, err) = json_of(
        app.post(&format!("/api/enterprise/licenses/{license_id}/seats"), Some(&boss), None, &json!({ "add": 2 }))
            .await,
    )
    .await;
    assert_eq!((status, error_code(&err)), (400, "idempotency_key_required"));
    // Nothing changes before payment.
    assert_eq!(license(&app, &boss, &license_id).await["seats"], 10);

    let invoice = order["invoice"]["invoiceId"].as_str().unwrap().to_string();
    let (status, _) =
        stripe_api(&app, &format!("/v1/invoices/{invoice}/pay"), &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(status, 200);
    let grown = wait_for_license(&app, &boss, &license_id, |l| l["seats"] == 12).await;
    assert_eq!(grown["expiresAt"], bought["expiresAt"], "the term is unchanged");
    assert_ne!(grown["key"], bought["key"], "a new key carries the new seats");
    // The payment's news again: still 12 seats, the same key.
    let event = event_about(&app, "invoice.paid", &invoice).await;
    assert!(app.deliver(&event, json!({ "times": 2 })).await.iter().all(|s| *s == 200));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = license(&app, &boss, &license_id).await;
    assert_eq!((after["seats"].as_u64(), &after["key"]), (Some(12), &grown["key"]), "{after}");

    // Another org's admin gets 404; a license made by an admin is not for sale this way.
    let (status, _) = add_seats(&app, &org_admin(&app, &unique("org")), &license_id, 1, &unique("k")).await;
    assert_eq!(status, 404);
    let (status, err) = add_seats(&app, &boss, &license_id, 0, &unique("k")).await;
    assert_eq!((status, error_code(&err)), (400, "validation_failed"), "{err}");
}

#[tokio::test]
async fn a_self_serve_license_is_invoiced_once_for_renewal_and_extended_when_paid() {
    let app = spawn_app().await;
    let boss = org_admin(&app, &unique("org"));
    let bought = buy_license(&app, &boss, 5).await;
    let license_id = bought["licenseId"].as_str().unwrap().to_string();
    let expires: jiff::Timestamp = bought["expiresAt"].as_str().unwrap().parse().unwrap();
    let renewals = |report: &Value| {
        report["steps"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["step"] == "licenses"))
            .map(|s| s["renewalInvoices"].clone())
    };
    // Not yet: more than 30 days before expiry.
    assert_eq!(renewals(&cycle(&app).await), Some(json!(0)));
    // 340 days on: inside the 30 days, the renewal is invoiced once, due at the expiry.
    for _ in 0..2 {
        app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": 170 * DAY })).await;
        app.booted.state.clock.advance(170 * DAY);
    }
    assert_eq!(renewals(&cycle(&app).await), Some(json!(1)));
    app.sandbox_post("/_sandbox/clock/advance", json!({ "seconds": DAY })).await;
    app.booted.state.clock.advance(DAY);
    assert_eq!(renewals(&cycle(&app).await), Some(json!(0)), "one renewal invoice per term");
    let (_, list) = json_of(app.get("/api/enterprise/quotes", Some(&boss)).await).await;
    let renewal = list["data"].as_array().unwrap().iter().find(|q| q["kind"] == "renewal").cloned().expect("renewal");
    assert_eq!((renewal["status"].as_str(), renewal["seats"].as_u64()), (Some("invoiced"), Some(5)), "{renewal}");
    assert_eq!(renewal["targetLicenseId"], license_id.as_str());
    let due: jiff::Timestamp = renewal["invoice"]["dueAt"].as_str().unwrap().parse().unwrap();
    assert!((due.as_second() - expires.as_second()).abs() <= DAY, "due at expiry: {due} vs {expires}");

    let invoice = renewal["invoice"]["invoiceId"].as_str().unwrap().to_string();
    let (status, _) =
        stripe_api(&app, &format!("/v1/invoices/{invoice}/pay"), &[("payment_method", "pm_card_visa")]).await;
    assert_eq!(status, 200);
    let renewed = wait_for_license(&app, &boss, &license_id, |l| l["expiresAt"] != bought["expiresAt"]).await;
    let new_expiry: jiff::Timestamp = renewed["expiresAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(new_expiry, azora_domain::license_purchase::term_end(expires, 12), "{renewed}");
    assert_eq!(renewed["seats"], 5);
}
