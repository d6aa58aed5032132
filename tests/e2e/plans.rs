//! `GET /api/plans`: the tiers from the one domain definition, with the amounts Stripe charges.

use azora_domain::plans::catalog;
use azora_e2e::{TestApp, json_of, spawn_app};
use serde_json::Value;

async fn plans(app: &TestApp) -> (Value, reqwest::header::HeaderMap) {
    let resp = app.get("/api/plans", None).await;
    let headers = resp.headers().clone();
    let (status, body) = json_of(resp).await;
    assert_eq!(status, 200, "{body}");
    (body, headers)
}

#[tokio::test]
async fn plans_come_from_the_domain_catalog_and_are_cacheable() {
    let app = spawn_app().await;
    let (body, headers) = plans(&app).await;
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let served = body["plans"].as_array().expect("plans");
    let defined = catalog();
    assert_eq!(served.len(), defined.len());
    for (s, d) in served.iter().zip(&defined) {
        assert_eq!(s["tier"], d.tier.as_str());
        let features: Vec<&str> = d.features.iter().map(|f| f.as_str()).collect();
        assert_eq!(s["features"], serde_json::json!(features));
        assert_eq!(s["tokenMultiplierPercent"], d.token_multiplier_percent);
        for (sp, dp) in s["prices"].as_array().expect("prices").iter().zip(&d.prices) {
            // A fresh Stripe account has no Pro price yet: the catalog's amounts.
            assert_eq!(sp["amount"], dp.amount.amount);
            assert_eq!(sp["source"], "catalog");
        }
    }
    assert_eq!(body["features"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn a_price_stripe_has_is_shown_at_stripes_amount() {
    let app = spawn_app().await;
    // An operator set the monthly Pro price in the Stripe dashboard to 15.00.
    let url = format!("{}v1/prices", app.stripe.base_url());
    let resp = app
        .http
        .post(url)
        .bearer_auth(&app.booted.state.config.stripe.get().expect("stripe").secret_key)
        .form(&[
            ("currency", "usd"),
            ("unit_amount", "1500"),
            ("recurring[interval]", "month"),
            ("lookup_key", "azora_pro_month"),
            ("product_data[name]", "Azora Pro"),
        ])
        .send()
        .await
        .expect("sandbox answers");
    assert_eq!(resp.status(), 200);
    let (body, _) = plans(&app).await;
    let pro = &body["plans"][1];
    let month = pro["prices"].as_array().expect("prices").iter().find(|p| p["interval"] == "month").expect("month");
    assert_eq!(month["amount"], 1500);
    assert_eq!(month["source"], "stripe");
    assert_eq!(month["currency"], "USD");
    let year = pro["prices"].as_array().expect("prices").iter().find(|p| p["interval"] == "year").expect("year");
    assert_eq!(year["source"], "catalog");
}
