//! Stripe Connect through the real async-stripe client: Express accounts, account links and the
//! onboarding page, transfers (idempotent), reversals against the connected account's balance,
//! `GET /v1/balance` with `Stripe-Account`.

mod common;

use std::collections::HashMap;

use common::{KEY, SECRET, parse_as, start};
use serde_json::{Value, json};
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_connect::account::{
    CreateAccount, CreateAccountCapabilities, CreateAccountCapabilitiesTransfers, CreateAccountType, RetrieveAccount,
    UpdateAccount,
};
use stripe_connect::account_link::{CreateAccountLink, CreateAccountLinkType};
use stripe_connect::transfer::{CreateTransfer, ListTransfer, RetrieveTransfer};
use stripe_connect::transfer_reversal::{CreateIdTransferReversal, ListIdTransferReversal};
use stripe_core::balance::RetrieveForMyAccountBalance;
use stripe_shared::{AccountCapabilitiesStatus, AccountId, AccountType};
use stripe_types::Currency;
use stripe_webhook::{EventObject, Webhook};

async fn express(client: &stripe::Client, email: &str) -> stripe_shared::Account {
    CreateAccount::new()
        .type_(CreateAccountType::Express)
        .country("US")
        .email(email)
        .capabilities(CreateAccountCapabilities {
            transfers: Some(CreateAccountCapabilitiesTransfers { requested: Some(true) }),
            ..CreateAccountCapabilities::new()
        })
        .metadata(HashMap::from([("instructorId".to_string(), "i_1".to_string())]))
        .send(client)
        .await
        .expect("account")
}

fn stripe_code(err: &StripeError) -> Option<String> {
    match err {
        StripeError::Stripe(e, _) => e.code.as_ref().map(|c| c.as_str().to_string()),
        _ => None,
    }
}

#[tokio::test]
async fn express_onboarding_through_an_account_link() {
    let t = start().await;
    let account = express(&t.client, "teacher@example.com").await;
    assert!(account.id.as_str().starts_with("acct_"));
    assert_eq!(account.type_, Some(AccountType::Express));
    assert_eq!(account.charges_enabled, Some(false));
    assert_eq!(account.payouts_enabled, Some(false));
    assert_eq!(account.details_submitted, Some(false));
    let caps = account.capabilities.as_ref().expect("capabilities");
    assert_eq!(caps.transfers, Some(AccountCapabilitiesStatus::Inactive));
    assert_eq!(account.metadata.as_ref().and_then(|m| m.get("instructorId")).map(String::as_str), Some("i_1"));

    // A transfer before onboarding is refused, as on Stripe.
    let err =
        CreateTransfer::new(Currency::USD, account.id.as_str()).amount(500).send(&t.client).await.expect_err("400");
    assert_eq!(stripe_code(&err).as_deref(), Some("insufficient_capabilities_for_transfer"), "{err:?}");

    let link = CreateAccountLink::new(account.id.as_str(), CreateAccountLinkType::AccountOnboarding)
        .refresh_url("http://app.test/onboarding/refresh")
        .return_url("http://app.test/onboarding/done")
        .send(&t.client)
        .await
        .expect("link");
    assert!(link.url.starts_with(&t.sandbox.base_url()), "{}", link.url);
    assert_eq!(link.expires_at - link.created, 300);

    // The instructor opens the link, then completes onboarding.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let page = no_redirects.get(&link.url).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap_or_default().contains(account.id.as_str()));
    let done = no_redirects.get(format!("{}?action=complete", link.url)).send().await.expect("complete");
    assert_eq!(done.status(), 302);
    assert_eq!(done.headers().get("location").and_then(|v| v.to_str().ok()), Some("http://app.test/onboarding/done"));
    // A used link sends the user to refresh_url.
    let again = no_redirects.get(&link.url).send().await.expect("again");
    assert_eq!(
        again.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("http://app.test/onboarding/refresh")
    );

    let ready = RetrieveAccount::new(account.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(ready.charges_enabled, Some(true));
    assert_eq!(ready.payouts_enabled, Some(true));
    assert_eq!(ready.details_submitted, Some(true));
    assert_eq!(ready.capabilities.as_ref().and_then(|c| c.transfers.clone()), Some(AccountCapabilitiesStatus::Active));
    let updated = t.sandbox.events_of_type("account.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["account"], account.id.as_str(), "a Connect event names the account");
    assert_eq!(updated[0]["data"]["previous_attributes"]["charges_enabled"], false);

    let renamed = UpdateAccount::new(account.id.clone())
        .metadata(HashMap::from([("plan".to_string(), "gold".to_string())]))
        .send(&t.client)
        .await
        .expect("update");
    assert_eq!(renamed.metadata.as_ref().and_then(|m| m.get("plan")).map(String::as_str), Some("gold"));
    assert_eq!(t.sandbox.events_of_type("account.updated").len(), 2);
}

#[tokio::test]
async fn control_endpoint_completes_onboarding() {
    let t = start().await;
    let account = express(&t.client, "t2@example.com").await;
    let (status, body) =
        t.control("POST", &format!("_sandbox/accounts/{}/complete_onboarding", account.id.as_str()), json!({})).await;
    assert_eq!(status, 200, "{body}");
    let parsed: stripe_shared::Account = parse_as(&body);
    assert_eq!(parsed.charges_enabled, Some(true));
    let (status, body) = t.control("POST", "_sandbox/accounts/acct_missing/complete_onboarding", json!({})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn transfers_reversals_and_the_connected_balance() {
    let t = start().await;
    let account = express(&t.client, "t3@example.com").await;
    let acct = account.id.as_str().to_string();
    t.sandbox.complete_account_onboarding(&acct).expect("onboarded");
    // Transfers are funded from the platform's available balance: a charge that skips pending.
    let (status, _, body) = t
        .post_form(
            "v1/payment_intents",
            &[
                ("amount", "5000"),
                ("currency", "usd"),
                ("payment_method", "pm_card_bypassPending"),
                ("payment_method_types[]", "card"),
                ("confirm", "true"),
            ],
            None,
        )
        .await;
    assert_eq!((status, body["status"].as_str()), (200, Some("succeeded")), "{body}");

    let key = || RequestStrategy::Idempotent(IdempotencyKey::new("payout-enr-1").expect("key"));
    let transfer = || {
        CreateTransfer::new(Currency::USD, acct.as_str())
            .amount(5000)
            .transfer_group("course_42")
            .metadata(HashMap::from([("enrollmentId".to_string(), "e_1".to_string())]))
    };
    let first = transfer().customize().request_strategy(key()).send(&t.client).await.expect("transfer");
    let replay = transfer().customize().request_strategy(key()).send(&t.client).await.expect("replayed");
    assert_eq!(first.id, replay.id, "an idempotent retry is the same transfer");
    assert_eq!(first.amount, 5000);
    assert_eq!(first.destination.as_ref().map(|d| d.id().as_str().to_string()), Some(acct.clone()));
    assert_eq!(first.transfer_group.as_deref(), Some("course_42"));
    assert_eq!(t.sandbox.events_of_type("transfer.created").len(), 1);

    let balance = RetrieveForMyAccountBalance::new()
        .customize()
        .account_id(AccountId::from(acct.as_str()))
        .send(&t.client)
        .await
        .expect("balance");
    assert_eq!(balance.available[0].amount, 5000, "counted once");
    assert_eq!(balance.available[0].currency, Currency::USD);
    let platform = RetrieveForMyAccountBalance::new().send(&t.client).await.expect("platform balance");
    assert_eq!(platform.available[0].amount, 0, "the platform's 5000 went to the account");

    // Partial reversal.
    let reversal = CreateIdTransferReversal::new(first.id.clone())
        .amount(2000)
        .metadata(HashMap::from([("refundId".to_string(), "r_1".to_string())]))
        .send(&t.client)
        .await
        .expect("reversal");
    assert_eq!(reversal.amount, 2000);
    assert_eq!(reversal.transfer.id().as_str(), first.id.as_str());
    let after = RetrieveTransfer::new(first.id.clone()).send(&t.client).await.expect("transfer");
    assert_eq!(after.amount_reversed, 2000);
    assert!(!after.reversed);
    assert_eq!(after.reversals.data.len(), 1);
    assert_eq!(t.sandbox.account_balance(&acct).expect("balance")["available"][0]["amount"], 3000);

    // The instructor was paid out: nothing left to take back.
    let (status, body) = t
        .control("POST", &format!("_sandbox/accounts/{acct}/balance"), json!({"available": 0, "currency": "usd"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["available"][0]["amount"], 0);
    let err = CreateIdTransferReversal::new(first.id.clone()).amount(1000).send(&t.client).await.expect_err("no funds");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    assert_eq!(stripe_code(&err).as_deref(), Some("insufficient_funds"));
    // More than is left on the transfer.
    t.sandbox.set_account_balance(&acct, "usd", 100_000).expect("set");
    let err = CreateIdTransferReversal::new(first.id.clone()).amount(4000).send(&t.client).await.expect_err("too much");
    assert_eq!(stripe_code(&err).as_deref(), Some("amount_too_large"));
    // The rest, by default.
    let rest = CreateIdTransferReversal::new(first.id.clone()).send(&t.client).await.expect("rest");
    assert_eq!(rest.amount, 3000);
    let done = RetrieveTransfer::new(first.id.clone()).send(&t.client).await.expect("transfer");
    assert!(done.reversed);
    let listed = ListIdTransferReversal::new(first.id.clone()).send(&t.client).await.expect("reversals");
    assert_eq!(listed.data.len(), 2);
    assert_eq!(t.sandbox.events_of_type("transfer.reversed").len(), 2);
    let (status, body) = t.control("GET", &format!("_sandbox/accounts/{acct}/balance"), Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(body["available"][0]["amount"], 97_000);

    let by_group = ListTransfer::new().transfer_group("course_42").send(&t.client).await.expect("list");
    assert_eq!(by_group.data.len(), 1);
    let by_dest = ListTransfer::new().destination(acct.as_str()).send(&t.client).await.expect("list");
    assert_eq!(by_dest.data.len(), 1);

    // Every Connect event is typed for async-stripe-webhook.
    for raw in t.sandbox.events() {
        let body = serde_json::to_string_pretty(&raw).expect("json");
        let now = t.sandbox.clock_now();
        let header = azora_stripe_sandbox::signature_header(SECRET, now, &body);
        let event = Webhook::construct_event(&body, &header, SECRET)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{body}", raw["type"]));
        assert!(!matches!(event.data.object, EventObject::Unknown(_)), "{} is untyped", raw["type"]);
    }
}

#[tokio::test]
async fn bad_connect_requests_answer_stripe_errors() {
    let t = start().await;
    let account = express(&t.client, "t4@example.com").await;
    let acct = account.id.as_str();
    let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("v1/accounts".into(), vec![("type", "premium")]),
        ("v1/accounts".into(), vec![("capabilities[transfers][wanted]", "true")]),
        ("v1/accounts".into(), vec![("country", "Narnia")]),
        ("v1/account_links".into(), vec![("account", "acct_missing"), ("type", "account_onboarding")]),
        ("v1/account_links".into(), vec![("account", acct)]),
        ("v1/account_links".into(), vec![("account", acct), ("type", "account_onboarding"), ("return_url", "nope")]),
        ("v1/transfers".into(), vec![("amount", "100"), ("currency", "usd"), ("destination", "acct_missing")]),
        ("v1/transfers".into(), vec![("amount", "-1"), ("currency", "usd"), ("destination", acct)]),
        ("v1/transfers".into(), vec![("currency", "usd"), ("destination", acct)]),
        ("v1/transfers/tr_missing/reversals".into(), vec![("amount", "1")]),
    ];
    for (path, form) in cases {
        let (status, _, json) = t.post_form(&path, &form, None).await;
        assert!((400..500).contains(&status), "{path} {form:?}: {status} {json}");
        assert!(json["error"]["message"].is_string(), "{path}: {json}");
    }
    let resp = t.http.get(t.url("v1/balance")).bearer_auth(KEY).header("stripe-account", "acct_missing").send().await;
    assert_eq!(resp.expect("answered").status(), 404);
    let (status, _) =
        t.control("POST", &format!("_sandbox/accounts/{acct}/balance"), json!({"available": "lots"})).await;
    assert_eq!(status, 400);
    let (status, _) = t.control("GET", "_sandbox/connect/onboarding/nothing", Value::Null).await;
    assert_eq!(status, 404);
}

/// Objects created with `Stripe-Account` belong to that account, and so do their renewals.
#[tokio::test]
async fn subscriptions_on_a_connected_account_renew_there() {
    use stripe_billing::subscription::{CreateSubscription, CreateSubscriptionItems, RetrieveSubscription};
    use stripe_core::customer::CreateCustomer;
    use stripe_product::price::{
        CreatePrice, CreatePriceProductData, CreatePriceRecurring, CreatePriceRecurringInterval,
    };

    let t = start().await;
    let account = express(&t.client, "t5@example.com").await;
    let on = || AccountId::from(account.id.as_str());
    let price = CreatePrice::new(Currency::USD)
        .unit_amount(700)
        .product_data(CreatePriceProductData::new("Club"))
        .recurring(CreatePriceRecurring {
            interval: CreatePriceRecurringInterval::Month,
            interval_count: None,
            meter: None,
            trial_period_days: None,
            usage_type: None,
        })
        .customize()
        .account_id(on())
        .send(&t.client)
        .await
        .expect("price");
    let customer = CreateCustomer::new()
        .invoice_settings(stripe_core::customer::CreateCustomerInvoiceSettings {
            default_payment_method: Some("pm_card_visa".into()),
            ..stripe_core::customer::CreateCustomerInvoiceSettings::new()
        })
        .customize()
        .account_id(on())
        .send(&t.client)
        .await
        .expect("customer");
    let sub = CreateSubscription::new()
        .customer(customer.id.as_str())
        .items(vec![CreateSubscriptionItems {
            price: Some(price.id.as_str().to_string()),
            ..CreateSubscriptionItems::new()
        }])
        .customize()
        .account_id(on())
        .send(&t.client)
        .await
        .expect("subscription");
    let err = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect_err("not the platform's");
    assert!(matches!(err, StripeError::Stripe(_, 404)), "{err:?}");
    t.sandbox.advance_clock(32 * 86_400).expect("advance");
    let renewed =
        RetrieveSubscription::new(sub.id.clone()).customize().account_id(on()).send(&t.client).await.expect("retrieve");
    assert_eq!(renewed.status, stripe_shared::SubscriptionStatus::Active);
    assert!(renewed.items.data[0].current_period_start > sub.items.data[0].current_period_start);
    let paid: Vec<Value> = t
        .sandbox
        .events_of_type("invoice.paid")
        .into_iter()
        .filter(|e| e["data"]["object"]["billing_reason"] == "subscription_cycle")
        .collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["account"], account.id.as_str());
}
