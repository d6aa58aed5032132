//! Receipts a customer can keep (issue #14 item 9): the seller, the tax included, the card, the
//! buyer, refunds and the net paid, as HTML, JSON and PDF, for the buyer and admins only.

use azora_e2e::{
    AppOptions, TEST_AUDIENCE, TEST_ISSUER, TEST_SECRET, TestApp, error_code, json_of, spawn_app_with, unique,
};
use serde_json::json;

struct Buyer {
    email: String,
    token: String,
}

/// A buyer whose token carries `email` and `name` claims.
fn buyer(name: &str) -> Buyer {
    let id = unique("rcpt");
    let email = format!("{id}@example.com");
    let now = jiff::Timestamp::now().as_second();
    let claims = json!({
        "sub": id, "roles": ["student"], "email": email, "name": name,
        "iss": TEST_ISSUER, "aud": TEST_AUDIENCE, "exp": now + 600
    });
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("token");
    Buyer { email, token }
}

async fn app_with(settings: &[(&str, &str)]) -> TestApp {
    let settings = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    spawn_app_with(AppOptions { settings, ..Default::default() }).await
}

/// Pays for a course of `amount` USD with Visa and waits for the fulfilment; returns the payment id.
async fn paid_order(app: &TestApp, b: &Buyer, amount: i64) -> String {
    let course = app.seed_course("instructor-rcpt", amount, "USD").await;
    let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_visa" });
    let (status, created) =
        json_of(app.post("/api/payments/process", Some(&b.token), Some(&unique("k")), &body).await).await;
    assert_eq!(status, 201, "{created}");
    let payment_id = created["paymentId"].as_str().expect("paymentId").to_string();
    app.wait_for_payment(&payment_id, &b.token, |p| p["fulfilled"] == true).await;
    payment_id
}

async fn receipt(app: &TestApp, token: &str, payment_id: &str, format: &str) -> reqwest::Response {
    app.get(&format!("/api/payments/{payment_id}/receipt{format}"), Some(token)).await
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn a_paid_order_has_a_receipt_with_seller_tax_card_and_buyer_then_lists_refunds_and_the_net() {
    let app = app_with(&[
        ("SELLER_NAME", "Azora Learning Ltd"),
        ("SELLER_ADDRESS", "1 Example Street|London EC1A 1AA|United Kingdom"),
        ("SELLER_TAX_ID", "GB123456789"),
        ("TAX_RATE_BPS", "2000"),
    ])
    .await;
    let b = buyer("Zoë Buyer");
    let payment_id = paid_order(&app, &b, 1999).await;

    // JSON: 19.99 including 20% tax = 16.66 + 3.33, exactly.
    let (status, doc) = json_of(receipt(&app, &b.token, &payment_id, "?format=json").await).await;
    assert_eq!(status, 200, "{doc}");
    let r = &doc["receipt"];
    assert_eq!(r["seller"]["name"], "Azora Learning Ltd");
    assert_eq!(r["seller"]["address"], json!(["1 Example Street", "London EC1A 1AA", "United Kingdom"]));
    assert_eq!(r["seller"]["taxId"], "GB123456789");
    assert_eq!(r["buyer"], json!({ "name": "Zoë Buyer", "email": b.email }));
    assert_eq!(r["paymentMethod"], json!({ "brand": "visa", "last4": "4242" }));
    assert_eq!(r["tax"]["rateBps"], 2000);
    assert_eq!((r["tax"]["net"]["amount"].as_i64(), r["tax"]["tax"]["amount"].as_i64()), (Some(1666), Some(333)));
    assert_eq!(r["total"], json!({ "amount": 1999, "currency": "USD" }));
    assert_eq!(doc["netPaid"]["amount"], 1999);

    // HTML: the same facts.
    let resp = receipt(&app, &b.token, &payment_id, "").await;
    assert_eq!(resp.status(), 200);
    let html = resp.text().await.unwrap();
    for needle in [
        "Azora Learning Ltd",
        "London EC1A 1AA",
        "Tax ID: GB123456789",
        "Billed to: Zoë Buyer &lt;",
        "Paid with: Visa ending in 4242",
        "Subtotal (excl. tax)",
        "USD 16.66",
        "Tax 20% (included)",
        "USD 3.33",
        "USD 19.99",
    ] {
        assert!(html.contains(needle), "{needle}: {html}");
    }

    // PDF: a PDF with the totals.
    let resp = receipt(&app, &b.token, &payment_id, "?format=pdf").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().contains(".pdf"));
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"), "{:?}", &pdf[..16.min(pdf.len())]);
    assert!(pdf.ends_with(b"%%EOF\n"));
    for needle in
        ["(Total) Tj", "(USD 19.99) Tj", "(Tax 20% \\(included\\)) Tj", "(USD 3.33) Tj", "Visa ending in 4242"]
    {
        assert!(contains(&pdf, needle), "{needle}");
    }

    // The receipt email states the same and carries the PDF.
    let emails = app.wait_for_emails(&b.email, 1).await;
    let email = emails.iter().find(|e| e["subject"].as_str().is_some_and(|s| s.starts_with("Your Azora receipt")));
    let email = email.expect("receipt email").to_string();
    for needle in ["Tax 20% (included)", "Visa ending in 4242", "Azora Learning Ltd", "attached as a PDF"] {
        assert!(email.contains(needle), "{needle}: {email}");
    }

    // A partial refund (support): listed with its date, and the net paid with the tax it includes.
    let admin = app.token("admin-rcpt", &["admin"]);
    let refund = json!({ "paymentId": payment_id, "amount": 500, "reason": "requested_by_customer" });
    let (status, body) =
        json_of(app.post("/api/payments/refund", Some(&admin), Some(&unique("r")), &refund).await).await;
    assert_eq!(status, 201, "{body}");
    let today = app.booted.state.clock.now().strftime("%Y-%m-%d").to_string();
    let (_, doc) = json_of(receipt(&app, &b.token, &payment_id, "?format=json").await).await;
    assert_eq!(doc["receipt"]["refunds"].as_array().map(Vec::len), Some(1), "{doc}");
    assert_eq!(doc["receipt"]["refunds"][0]["amount"]["amount"], 500);
    assert_eq!(doc["netPaid"], json!({ "amount": 1499, "currency": "USD" }));
    let html = receipt(&app, &b.token, &payment_id, "").await.text().await.unwrap();
    for needle in
        [format!("Refunded {today}"), "-USD 5.00".into(), "Net paid (incl. USD 2.50 tax)".into(), "USD 14.99".into()]
    {
        assert!(html.contains(&needle), "{needle}: {html}");
    }
    let pdf = receipt(&app, &admin, &payment_id, "?format=pdf").await.bytes().await.unwrap();
    assert!(contains(&pdf, "(-USD 5.00) Tj") && contains(&pdf, "(USD 14.99) Tj"), "admins read it too");
}

#[tokio::test]
async fn only_the_buyer_and_admins_read_a_receipt_and_a_zero_rate_is_stated() {
    let app = app_with(&[("TAX_RATE_BPS", "0")]).await;
    let b = buyer("Ann Owner");
    let payment_id = paid_order(&app, &b, 1000).await;
    let html = receipt(&app, &b.token, &payment_id, "?format=html").await.text().await.unwrap();
    assert!(html.contains("Tax 0%") && html.contains("USD 0.00"), "{html}");

    // Another user's receipt is missing, whatever the format; a made-up id alike.
    let other = buyer("Eve Other");
    for format in ["", "?format=pdf", "?format=json"] {
        let (status, body) = json_of(receipt(&app, &other.token, &payment_id, format).await).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"), "{format}");
        let (status, _) = json_of(receipt(&app, &other.token, "pay_made_up", format).await).await;
        assert_eq!(status, 404);
    }
    let (status, body) = json_of(receipt(&app, &b.token, &payment_id, "?format=docx").await).await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));
    let (status, _) = json_of(app.get(&format!("/api/payments/{payment_id}/receipt?format=pdf"), None).await).await;
    assert_eq!(status, 401);
    let admin = app.token("admin-rcpt", &["admin"]);
    assert_eq!(receipt(&app, &admin, &payment_id, "?format=json").await.status(), 200);
}
