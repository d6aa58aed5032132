//! Where money depends on it, the sandbox behaves like Stripe, checked with async-stripe as the
//! peer: charges are pending before they are available, transfers are funded from the available
//! balance only (`balance_insufficient` otherwise), unknown currencies are refused, and
//! `Stripe-Version` is checked and echoed.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use azora_stripe_sandbox::{API_VERSION, SandboxOptions};
use common::{KEY, SECRET, start, start_with};
use serde_json::{Value, json};
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesTransfers, CreateAccountType,
};
use stripe_connect::transfer::{CreateTransfer, ListTransfer};
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_core::payment_intent::{
    CreatePaymentIntent, CreatePaymentIntentAutomaticPaymentMethods,
    CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects,
};
use stripe_core::refund::CreateRefund;
use stripe_shared::PaymentIntent;
use stripe_types::Currency;

const DAY: i64 = 86_400;

async fn pay(client: &stripe::Client, pm: &str, amount: i64) -> PaymentIntent {
    CreatePaymentIntent::new(amount, Currency::USD)
        .payment_method(pm)
        .confirm(true)
        .automatic_payment_methods(CreatePaymentIntentAutomaticPaymentMethods {
            allow_redirects: Some(CreatePaymentIntentAutomaticPaymentMethodsAllowRedirects::Never),
            enabled: true,
        })
        .send(client)
        .await
        .expect("paid")
}

async fn onboarded_account(t: &common::TestSandbox) -> String {
    let account = CreateAccount::new()
        .type_(CreateAccountType::Express)
        .capabilities(CreateAccountCapabilities {
            transfers: Some(CreateAccountCapabilitiesTransfers { requested: Some(true) }),
            ..CreateAccountCapabilities::new()
        })
        .send(&t.client)
        .await
        .expect("account");
    t.sandbox.complete_account_onboarding(account.id.as_str()).expect("onboarded");
    account.id.as_str().to_string()
}

/// `(available, pending)` in USD of the platform, through the API.
async fn platform_usd(client: &stripe::Client) -> (i64, i64) {
    let balance = RetrieveForMyAccountBalance::new().send(client).await.expect("balance");
    let pick = |list: &[stripe_core::BalanceAmount]| {
        list.iter().filter(|b| b.currency == Currency::USD).map(|b| b.amount).sum::<i64>()
    };
    (pick(&balance.available), pick(&balance.pending))
}

fn stripe_error(err: &StripeError) -> (u16, String, Option<String>) {
    match err {
        StripeError::Stripe(e, status) => {
            (*status, e.type_.as_str().to_string(), e.code.as_ref().map(|c| c.as_str().to_string()))
        }
        other => panic!("not a Stripe error: {other:?}"),
    }
}

#[tokio::test]
async fn charges_are_pending_then_available_and_transfers_need_available_funds() {
    let t = start().await;
    let acct = onboarded_account(&t).await;
    assert_eq!(platform_usd(&t.client).await, (0, 0));

    // A card payment lands in pending (2 days by default).
    let pi = pay(&t.client, "pm_card_visa", 10_000).await;
    assert_eq!(platform_usd(&t.client).await, (0, 10_000));

    // Transferring pending money is refused like Stripe does, and nothing moves.
    let key = || RequestStrategy::Idempotent(IdempotencyKey::new("payout-i1-usd-run1").expect("key"));
    let transfer = || {
        CreateTransfer::new(Currency::USD, acct.as_str())
            .amount(7000)
            .transfer_group("payout-run1")
            .metadata(HashMap::from([("instructorId".to_string(), "i1".to_string())]))
    };
    let err = transfer().customize().request_strategy(key()).send(&t.client).await.expect_err("pending funds");
    assert_eq!(
        stripe_error(&err),
        (400, "invalid_request_error".to_string(), Some("balance_insufficient".to_string())),
        "{err:?}"
    );
    assert!(ListTransfer::new().send(&t.client).await.expect("list").data.is_empty(), "nothing transferred");
    assert!(t.sandbox.events_of_type("transfer.created").is_empty());
    assert_eq!(t.sandbox.account_balance(&acct).expect("balance")["available"][0]["amount"], 0);
    assert_eq!(platform_usd(&t.client).await, (0, 10_000));

    // A day later still pending; after two days available.
    t.sandbox.advance_clock(DAY).expect("advance");
    assert_eq!(platform_usd(&t.client).await, (0, 10_000));
    t.sandbox.advance_clock(DAY).expect("advance");
    assert_eq!(platform_usd(&t.client).await, (10_000, 0));

    // The same idempotency key now goes through (the 400 was not saved), from available.
    let sent = transfer().customize().request_strategy(key()).send(&t.client).await.expect("transfer");
    assert_eq!(sent.amount, 7000);
    assert_eq!(platform_usd(&t.client).await, (3000, 0));
    assert_eq!(t.sandbox.account_balance(&acct).expect("balance")["available"][0]["amount"], 7000);

    // More than what is left is refused; exactly what is left is fine.
    let err = CreateTransfer::new(Currency::USD, acct.as_str()).amount(3001).send(&t.client).await.expect_err("3001");
    assert_eq!(stripe_error(&err).2.as_deref(), Some("balance_insufficient"));
    // Refunds reduce the balance: 1000 back to the buyer leaves 2000 to transfer.
    CreateRefund::new().payment_intent(pi.id.as_str()).amount(1000).send(&t.client).await.expect("refund");
    assert_eq!(platform_usd(&t.client).await, (2000, 0));
    let err = CreateTransfer::new(Currency::USD, acct.as_str()).amount(2001).send(&t.client).await.expect_err("2001");
    assert_eq!(stripe_error(&err).2.as_deref(), Some("balance_insufficient"));
    CreateTransfer::new(Currency::USD, acct.as_str()).amount(2000).send(&t.client).await.expect("exactly what is left");
    assert_eq!(platform_usd(&t.client).await, (0, 0));
    assert_eq!(t.sandbox.events_of_type("transfer.created").len(), 2);

    // A refund of a still-pending charge comes out of pending.
    pay(&t.client, "pm_card_visa", 5000).await;
    let pending = pay(&t.client, "pm_card_visa", 3000).await;
    CreateRefund::new().payment_intent(pending.id.as_str()).send(&t.client).await.expect("refund");
    assert_eq!(platform_usd(&t.client).await, (0, 5000));
}

#[tokio::test]
async fn the_hold_is_configurable_and_bypass_pending_cards_are_available_at_once() {
    // The in-process option.
    let t = start_with(SandboxOptions {
        webhook_secret: SECRET.into(),
        available_after: Duration::ZERO,
        ..SandboxOptions::default()
    })
    .await;
    let acct = onboarded_account(&t).await;
    pay(&t.client, "pm_card_visa", 4000).await;
    assert_eq!(platform_usd(&t.client).await, (4000, 0));
    CreateTransfer::new(Currency::USD, acct.as_str()).amount(4000).send(&t.client).await.expect("transfer");

    // The control API: one hour from now on; charges already made keep their own time.
    let (status, config) = t.control("POST", "_sandbox/config", json!({"availableAfterSeconds": 3600})).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["availableAfterSeconds"], 3600);
    pay(&t.client, "pm_card_visa", 1000).await;
    assert_eq!(platform_usd(&t.client).await, (0, 1000));
    let (status, body) = t.control("POST", "_sandbox/clock/advance", json!({"seconds": 3600})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(platform_usd(&t.client).await, (1000, 0));
    let (status, _) = t.control("POST", "_sandbox/config", json!({"availableAfterSeconds": -1})).await;
    assert_eq!(status, 400);

    // Stripe's 4000 0000 0000 0077 skips pending whatever the hold.
    t.sandbox.set_available_after(Duration::from_secs(2 * DAY as u64));
    pay(&t.client, "pm_card_bypassPending", 2500).await;
    pay(&t.client, "pm_card_visa", 600).await;
    assert_eq!(platform_usd(&t.client).await, (3500, 600));
    let (status, body) = t.control("GET", "_sandbox/balance", Value::Null).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["available"][0]["amount"].as_i64(), body["pending"][0]["amount"].as_i64()),
        (Some(3500), Some(600))
    );
    assert_eq!(t.sandbox.platform_balance().expect("balance")["pending"][0]["amount"], 600);
}

#[tokio::test]
async fn unknown_currencies_are_refused() {
    let t = start().await;
    let err = CreatePaymentIntent::new(1000, Currency::Unknown("xyz".into()))
        .payment_method("pm_card_visa")
        .send(&t.client)
        .await
        .expect_err("xyz is no currency");
    assert_eq!(stripe_error(&err), (400, "invalid_request_error".to_string(), None), "{err:?}");
    match &err {
        StripeError::Stripe(e, _) => {
            assert_eq!(e.param.as_deref(), Some("currency"));
            assert!(e.message.as_deref().is_some_and(|m| m.starts_with("Invalid currency: xyz")), "{e:?}");
        }
        _ => unreachable!(),
    }
    for (path, form) in [
        ("v1/payment_intents", vec![("amount", "1000"), ("currency", "abc")]),
        ("v1/payment_intents", vec![("amount", "1000"), ("currency", "usdollar")]),
        ("v1/transfers", vec![("amount", "1000"), ("currency", "zzz"), ("destination", "acct_1")]),
        ("v1/prices", vec![("unit_amount", "1000"), ("currency", "eur1"), ("product_data[name]", "P")]),
    ] {
        let (status, _, body) = t.post_form(path, &form, None).await;
        assert_eq!(status, 400, "{path} {form:?}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(body["error"]["param"], "currency", "{body}");
    }
    // Real ones in any case still work.
    let (status, _, body) = t.post_form("v1/payment_intents", &[("amount", "1000"), ("currency", "EUR")], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["currency"], "eur");
    assert!(t.sandbox.events_of_type("payment_intent.created").len() == 1, "only the valid one was created");
}

#[tokio::test]
async fn stripe_version_is_checked_and_echoed() {
    let t = start().await;
    let post = |version: Option<&str>| {
        let mut req = t
            .http
            .post(t.url("v1/customers"))
            .bearer_auth(KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("email=v%40example.com");
        if let Some(v) = version {
            req = req.header("stripe-version", v);
        }
        req.send()
    };
    // async-stripe sends the version it pins; it is echoed back, and on the events.
    let (status, headers, body) = t.post_form("v1/customers", &[("email", "a@example.com")], None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers.get("stripe-version").and_then(|v| v.to_str().ok()), Some(API_VERSION));
    let resp = post(Some(API_VERSION)).await.expect("answered");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("stripe-version").and_then(|v| v.to_str().ok()), Some(API_VERSION));
    stripe_core::customer::CreateCustomer::new().send(&t.client).await.expect("async-stripe's own version works");
    let created = t.sandbox.events_of_type("customer.created");
    assert_eq!(created.len(), 3);
    assert!(created.iter().all(|e| e["api_version"] == API_VERSION), "{created:?}");
    let versions: Vec<Option<String>> = t.sandbox.requests().into_iter().map(|r| r.stripe_version).collect();
    assert_eq!(versions.last().cloned().flatten().as_deref(), Some(API_VERSION), "async-stripe sends its version");

    // A malformed or unknown version is refused as Stripe does; nothing is created.
    for bad in ["not-a-version", "2026-02-30x", "2031-01-01.zinnia", "2026-09-30.Endive"] {
        let resp = post(Some(bad)).await.expect("answered");
        assert_eq!(resp.status(), 400, "{bad}");
        assert_eq!(resp.headers().get("stripe-version").and_then(|v| v.to_str().ok()), Some(API_VERSION));
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        assert_eq!(body["error"]["message"], format!("Invalid Stripe API version: {bad}"), "{body}");
    }
    // A real but other version is refused too: the sandbox only renders the pinned one.
    let resp = post(Some("2024-06-20")).await.expect("answered");
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.expect("json");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains(API_VERSION)), "{body}");
    assert_eq!(t.sandbox.events_of_type("customer.created").len(), 3, "refused requests create nothing");
}
