//! Stripe Billing through the real async-stripe client: products and prices (lookup keys),
//! subscriptions (payment behaviours, prorations, cancellation), invoices, test clocks and the
//! sandbox clock, failing renewals. Every answer must deserialize into async-stripe's types.

mod common;

use std::collections::HashMap;

use azora_stripe_sandbox::SandboxOptions;
use common::{KEY, SECRET, TestSandbox, parse_as, start, start_with};
use serde_json::{Value, json};
use stripe::StripeError;
use stripe_billing::invoice::{ListInvoice, PayInvoice, RetrieveInvoice};
use stripe_billing::subscription::{
    CancelSubscription, CreateSubscription, CreateSubscriptionItems, CreateSubscriptionPaymentBehavior,
    CreateSubscriptionPaymentSettings, CreateSubscriptionPaymentSettingsSaveDefaultPaymentMethod, ListSubscription,
    RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems, UpdateSubscriptionProrationBehavior,
};
use stripe_billing::test_helpers_test_clock::{
    AdvanceTestHelpersTestClock, CreateTestHelpersTestClock, DeleteTestHelpersTestClock, ListTestHelpersTestClock,
    RetrieveTestHelpersTestClock,
};
use stripe_billing::{Invoice, InvoiceStatus, Subscription, SubscriptionStatus, TestHelpersTestClockStatus};
use stripe_core::customer::DeleteCustomer;
use stripe_core::customer::{
    CreateCustomer, CreateCustomerInvoiceSettings, UpdateCustomer, UpdateCustomerInvoiceSettings,
};
use stripe_payment::payment_method::{AttachPaymentMethod, ListPaymentMethod};
use stripe_product::price::{CreatePrice, CreatePriceRecurring, CreatePriceRecurringInterval, ListPrice, UpdatePrice};
use stripe_product::product::{CreateProduct, ListProduct, RetrieveProduct};
use stripe_types::{Currency, Expandable};
use stripe_webhook::{EventObject, Webhook};

/// 2026-01-15T00:00:00Z.
const JAN_15: i64 = 1_768_435_200;
const FEB_15: i64 = 1_771_113_600;
const MAR_15: i64 = 1_773_532_800;
const DAY: i64 = 86_400;

struct Catalog {
    monthly: String,
    yearly: String,
    team: String,
    free: String,
}

/// Pro monthly $10, Pro yearly $100, Team monthly $25, Free monthly $0.
async fn catalog(client: &stripe::Client) -> Catalog {
    let pro = CreateProduct::new("Pro").send(client).await.expect("product");
    let team = CreateProduct::new("Team").send(client).await.expect("product");
    let free = CreateProduct::new("Free").send(client).await.expect("product");
    let price = |product: &str, amount: i64, interval: CreatePriceRecurringInterval, key: &str| {
        CreatePrice::new(Currency::USD).product(product.to_string()).unit_amount(amount).lookup_key(key).recurring(
            CreatePriceRecurring {
                interval,
                interval_count: None,
                meter: None,
                trial_period_days: None,
                usage_type: None,
            },
        )
    };
    let monthly = price(pro.id.as_str(), 1000, CreatePriceRecurringInterval::Month, "pro_monthly")
        .send(client)
        .await
        .expect("monthly");
    let yearly = price(pro.id.as_str(), 10_000, CreatePriceRecurringInterval::Year, "pro_yearly")
        .send(client)
        .await
        .expect("yearly");
    let team_monthly = price(team.id.as_str(), 2500, CreatePriceRecurringInterval::Month, "team_monthly")
        .send(client)
        .await
        .expect("team");
    let free_monthly = price(free.id.as_str(), 0, CreatePriceRecurringInterval::Month, "free_monthly")
        .send(client)
        .await
        .expect("free");
    Catalog {
        monthly: monthly.id.as_str().to_string(),
        yearly: yearly.id.as_str().to_string(),
        team: team_monthly.id.as_str().to_string(),
        free: free_monthly.id.as_str().to_string(),
    }
}

/// A customer (optionally on a test clock) whose default payment method is `pm` attached to it.
async fn customer_with(client: &stripe::Client, pm: &str, clock: Option<&str>) -> (String, String) {
    let mut create = CreateCustomer::new().email("sub@example.com").name("Sub Scriber");
    if let Some(c) = clock {
        create = create.test_clock(c);
    }
    let customer = create.send(client).await.expect("customer");
    let attached = AttachPaymentMethod::new(pm).customer(customer.id.as_str()).send(client).await.expect("attach");
    assert_eq!(attached.customer.as_ref().map(|c| c.id().as_str().to_string()), Some(customer.id.as_str().to_string()));
    UpdateCustomer::new(customer.id.clone())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(attached.id.as_str().to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(client)
        .await
        .expect("default pm");
    (customer.id.as_str().to_string(), attached.id.as_str().to_string())
}

fn item(price: &str) -> CreateSubscriptionItems {
    CreateSubscriptionItems { price: Some(price.to_string()), ..CreateSubscriptionItems::new() }
}

fn invoice_of(sub: &Subscription) -> Invoice {
    match &sub.latest_invoice {
        Some(Expandable::Object(invoice)) => (**invoice).clone(),
        other => panic!("latest_invoice not expanded: {other:?}"),
    }
}

fn latest_invoice_id(sub: &Subscription) -> String {
    sub.latest_invoice.as_ref().and_then(|i| i.id().as_ref().map(|id| id.as_str().to_string())).expect("latest invoice")
}

fn period(sub: &Subscription) -> (i64, i64) {
    let item = &sub.items.data[0];
    (item.current_period_start, item.current_period_end)
}

async fn clock(client: &stripe::Client, at: i64) -> String {
    CreateTestHelpersTestClock::new(at).name("billing test").send(client).await.expect("clock").id.as_str().to_string()
}

async fn advance(client: &stripe::Client, clock: &str, to: i64) {
    let ready = AdvanceTestHelpersTestClock::new(clock, to).send(client).await.expect("advance");
    assert_eq!(ready.status, TestHelpersTestClockStatus::Ready);
    assert_eq!(ready.frozen_time, to);
}

/// A sandbox with the catalog, and a customer on a test clock at Jan 15 with a Visa card and a
/// monthly Pro subscription.
async fn monthly_on_a_clock() -> (TestSandbox, Catalog, String, String, Subscription) {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    (t, c, clock, customer, sub)
}

/// Switches the subscription's one item to `price`.
fn price_change(sub: &Subscription, item_id: &str, price: &str) -> UpdateSubscription {
    UpdateSubscription::new(sub.id.clone()).items(vec![UpdateSubscriptionItems {
        id: Some(item_id.to_string()),
        price: Some(price.to_string()),
        ..UpdateSubscriptionItems::new()
    }])
}

fn events(t: &TestSandbox, kind: &str) -> Vec<Value> {
    t.sandbox.events_of_type(kind)
}

#[tokio::test]
async fn products_and_prices_with_lookup_keys() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let found = ListPrice::new()
        .lookup_keys(vec!["pro_monthly".to_string(), "pro_yearly".to_string()])
        .expand(vec!["data.product".to_string()])
        .send(&t.client)
        .await
        .expect("lookup");
    let mut ids: Vec<&str> = found.data.iter().map(|p| p.id.as_str()).collect();
    ids.sort();
    let mut want = vec![c.monthly.as_str(), c.yearly.as_str()];
    want.sort();
    assert_eq!(ids, want);
    for price in &found.data {
        assert!(matches!(&price.product, Expandable::Object(p) if p.name == "Pro"), "{:?}", price.product);
        assert_eq!(price.currency, Currency::USD);
        assert!(price.recurring.is_some());
    }
    let yearly = found.data.iter().find(|p| p.id.as_str() == c.yearly).expect("yearly");
    assert_eq!(yearly.unit_amount, Some(10_000));
    assert_eq!(yearly.lookup_key.as_deref(), Some("pro_yearly"));

    // A lookup key is unique; transfer_lookup_key moves it.
    let product = RetrieveProduct::new(yearly.product.id().clone()).send(&t.client).await.expect("product");
    let dup = CreatePrice::new(Currency::USD)
        .product(product.id.as_str())
        .unit_amount(1200)
        .lookup_key("pro_monthly")
        .recurring(CreatePriceRecurring {
            interval: CreatePriceRecurringInterval::Month,
            interval_count: None,
            meter: None,
            trial_period_days: None,
            usage_type: None,
        });
    let err = dup.clone().send(&t.client).await.expect_err("duplicate lookup key");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    let moved = dup.transfer_lookup_key(true).send(&t.client).await.expect("transfer");
    let now = ListPrice::new().lookup_keys(vec!["pro_monthly".to_string()]).send(&t.client).await.expect("lookup");
    assert_eq!(now.data.len(), 1);
    assert_eq!(now.data[0].id, moved.id);
    let old = UpdatePrice::new(c.monthly.as_str()).active(false).send(&t.client).await.expect("update");
    assert!(!old.active);
    assert_eq!(old.lookup_key, None);

    let products = ListProduct::new().send(&t.client).await.expect("products");
    assert_eq!(products.data.len(), 3);
    assert_eq!(events(&t, "product.created").len(), 3);
    assert_eq!(events(&t, "price.created").len(), 5);
    assert_eq!(events(&t, "price.updated").len(), 2, "lookup key moved away, then deactivated");
}

#[tokio::test]
async fn subscription_with_a_default_card_is_active_and_paid() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let (customer, pm) = customer_with(&t.client, "pm_card_visa", None).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .metadata(HashMap::from([("userId".to_string(), "u_1".to_string())]))
        .expand(vec!["latest_invoice".to_string()])
        .send(&t.client)
        .await
        .expect("subscription");
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(sub.metadata.get("userId").map(String::as_str), Some("u_1"));
    let (start, end) = period(&sub);
    assert_eq!(start, sub.created);
    assert_eq!(sub.billing_cycle_anchor, sub.created);
    assert!(end - start >= 28 * DAY && end - start <= 31 * DAY, "one month: {start}..{end}");
    let invoice = invoice_of(&sub);
    assert_eq!(invoice.status, Some(InvoiceStatus::Paid));
    assert_eq!(invoice.amount_due, 1000);
    assert_eq!(invoice.amount_paid, 1000);
    assert_eq!(invoice.lines.data.len(), 1);
    assert_eq!(invoice.lines.data[0].period.start, start);
    assert_eq!(invoice.lines.data[0].period.end, end);
    assert!(invoice.number.is_some());

    let listed = ListInvoice::new().subscription(sub.id.as_str()).send(&t.client).await.expect("list invoices");
    assert_eq!(listed.data.len(), 1);
    let fetched = RetrieveInvoice::new(invoice.id.clone().expect("id"))
        .expand(vec!["payments".to_string()])
        .send(&t.client)
        .await
        .expect("retrieve");
    let payments = fetched.payments.expect("payments included");
    assert_eq!(payments.data.len(), 1);
    assert_eq!(payments.data[0].status, "paid");

    let created = events(&t, "customer.subscription.created");
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["data"]["object"]["status"], "active");
    for kind in ["invoice.created", "invoice.finalized", "invoice.paid", "invoice.payment_succeeded"] {
        assert_eq!(events(&t, kind).len(), 1, "{kind}");
    }
    assert!(events(&t, "customer.subscription.updated").is_empty());
    // The charge used the customer's default card.
    let charges: Vec<Value> = events(&t, "charge.succeeded");
    assert_eq!(charges[0]["data"]["object"]["payment_method"], pm.as_str());

    let (status, by_customer) = t.get_json(&format!("v1/subscriptions?customer={customer}")).await;
    assert_eq!(status, 200);
    let list: stripe_types::List<Subscription> = parse_as(&by_customer);
    assert_eq!(list.data.len(), 1);
    let again = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(again.id, sub.id);
}

#[tokio::test]
async fn default_incomplete_then_the_client_confirms() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let customer = CreateCustomer::new().email("new@example.com").send(&t.client).await.expect("customer");
    let sub = CreateSubscription::new()
        .customer(customer.id.as_str())
        .items(vec![item(&c.monthly)])
        .payment_behavior(CreateSubscriptionPaymentBehavior::DefaultIncomplete)
        .payment_settings(CreateSubscriptionPaymentSettings {
            save_default_payment_method: Some(
                CreateSubscriptionPaymentSettingsSaveDefaultPaymentMethod::OnSubscription,
            ),
            ..CreateSubscriptionPaymentSettings::new()
        })
        .expand(vec!["latest_invoice.confirmation_secret".to_string()])
        .send(&t.client)
        .await
        .expect("subscription");
    assert_eq!(sub.status, SubscriptionStatus::Incomplete);
    let invoice = invoice_of(&sub);
    assert_eq!(invoice.status, Some(InvoiceStatus::Open));
    let secret = invoice.confirmation_secret.expect("confirmation_secret").client_secret;
    let pi_id = secret.split("_secret_").next().expect("pi id").to_string();
    assert!(pi_id.starts_with("pi_"));
    // Not included unless asked for, as on Stripe.
    let plain = RetrieveInvoice::new(invoice.id.clone().expect("id")).send(&t.client).await.expect("invoice");
    assert!(plain.confirmation_secret.is_none());

    // The browser confirms the PaymentIntent with a card (Stripe.js).
    let pi = t.sandbox.confirm_payment_intent(&pi_id, Some("pm_card_visa")).expect("confirm");
    assert_eq!(pi["status"], "succeeded");
    let sub = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub.status, SubscriptionStatus::Active);
    let saved = sub.default_payment_method.as_ref().map(|p| p.id().as_str().to_string()).expect("saved card");
    assert_eq!(Some(saved.as_str()), pi["payment_method"].as_str());
    let updated = events(&t, "customer.subscription.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["data"]["previous_attributes"]["status"], "incomplete");
    assert_eq!(events(&t, "invoice.paid").len(), 1);
    assert_eq!(events(&t, "payment_method.attached").len(), 1, "the card is saved to the customer");
}

#[tokio::test]
async fn a_declined_first_payment_leaves_the_subscription_incomplete_until_it_expires() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let customer = CreateCustomer::new().send(&t.client).await.expect("customer");
    let sub = CreateSubscription::new()
        .customer(customer.id.as_str())
        .items(vec![item(&c.monthly)])
        .default_payment_method("pm_card_chargeDeclined")
        .send(&t.client)
        .await
        .expect("allow_incomplete answers 200");
    assert_eq!(sub.status, SubscriptionStatus::Incomplete);
    assert_eq!(events(&t, "invoice.payment_failed").len(), 1);

    // error_if_incomplete: 402, nothing created.
    let err = CreateSubscription::new()
        .customer(customer.id.as_str())
        .items(vec![item(&c.monthly)])
        .default_payment_method("pm_card_chargeDeclined")
        .payment_behavior(CreateSubscriptionPaymentBehavior::ErrorIfIncomplete)
        .send(&t.client)
        .await
        .expect_err("402");
    assert!(matches!(err, StripeError::Stripe(_, 402)), "{err:?}");
    let all = ListSubscription::new().send(&t.client).await.expect("list");
    assert_eq!(all.data.len(), 1);

    // 23 hours later the incomplete subscription expires and its invoice is voided.
    t.sandbox.advance_clock(24 * 3600).expect("advance");
    let sub = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub.status, SubscriptionStatus::IncompleteExpired);
    let invoice = RetrieveInvoice::new(latest_invoice_id(&sub)).send(&t.client).await.expect("invoice");
    assert_eq!(invoice.status, Some(InvoiceStatus::Void));
    assert_eq!(events(&t, "customer.subscription.deleted").len(), 1);
    let active = ListSubscription::new().send(&t.client).await.expect("list");
    assert!(active.data.is_empty(), "expired subscriptions are not listed by default");
}

#[tokio::test]
async fn test_clock_renewals_then_a_failing_card_makes_it_past_due() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    assert_eq!(sub.created, JAN_15, "objects on a test clock live at its time");
    assert_eq!(period(&sub), (JAN_15, FEB_15));
    assert_eq!(sub.test_clock.as_ref().map(|c| c.id().as_str().to_string()), Some(clock.clone()));

    // One renewal at Feb 15, paid.
    advance(&t.client, &clock, FEB_15 + 3600).await;
    let sub = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(period(&sub), (FEB_15, MAR_15));
    let renewal = RetrieveInvoice::new(latest_invoice_id(&sub)).send(&t.client).await.expect("invoice");
    assert_eq!(renewal.status, Some(InvoiceStatus::Paid));
    assert_eq!(renewal.created, FEB_15);
    assert_eq!(renewal.billing_reason, Some(stripe_billing::InvoiceBillingReason::SubscriptionCycle));
    assert_eq!(
        (renewal.period_start, renewal.period_end),
        (JAN_15, FEB_15),
        "an invoice's period is the one that ended"
    );
    assert_eq!(renewal.lines.data[0].period.start, FEB_15);
    assert_eq!(renewal.lines.data[0].period.end, MAR_15);
    let cycle_events: Vec<Value> = events(&t, "invoice.paid")
        .into_iter()
        .filter(|e| e["data"]["object"]["billing_reason"] == "subscription_cycle")
        .collect();
    assert_eq!(cycle_events.len(), 1);
    assert_eq!(cycle_events[0]["created"], FEB_15, "events are dated at the clock's time");
    let updated = events(&t, "customer.subscription.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"], FEB_15);

    // The customer's card now fails: the next renewal fails, the subscription is past_due.
    let failing =
        AttachPaymentMethod::new("pm_card_chargeCustomerFail").customer(customer.as_str()).send(&t.client).await;
    let failing = failing.expect("pm_card_chargeCustomerFail attaches");
    UpdateCustomer::new(customer.as_str())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(failing.id.as_str().to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(&t.client)
        .await
        .expect("switch card");
    advance(&t.client, &clock, MAR_15 + 60).await;
    let sub = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub.status, SubscriptionStatus::PastDue);
    let open = RetrieveInvoice::new(latest_invoice_id(&sub)).send(&t.client).await.expect("invoice");
    assert_eq!(open.status, Some(InvoiceStatus::Open));
    assert_eq!(open.attempt_count, 1);
    let failed = events(&t, "invoice.payment_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["created"], MAR_15);
    let past_due: Vec<Value> = events(&t, "customer.subscription.updated")
        .into_iter()
        .filter(|e| e["data"]["previous_attributes"]["status"] == "active")
        .collect();
    assert_eq!(past_due.len(), 1);

    // Paying with a good card settles it.
    let err = PayInvoice::new(open.id.clone().expect("id")).send(&t.client).await.expect_err("still failing");
    assert!(matches!(err, StripeError::Stripe(_, 402)), "{err:?}");
    let good =
        AttachPaymentMethod::new("pm_card_visa").customer(customer.as_str()).send(&t.client).await.expect("attach");
    let paid = PayInvoice::new(open.id.clone().expect("id"))
        .payment_method(good.id.as_str())
        .send(&t.client)
        .await
        .expect("paid");
    assert_eq!(paid.status, Some(InvoiceStatus::Paid));
    let sub = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub.status, SubscriptionStatus::Active);
    let clock_now = RetrieveTestHelpersTestClock::new(clock.as_str()).send(&t.client).await.expect("clock");
    assert_eq!(clock_now.frozen_time, MAR_15 + 60);
    assert_eq!(events(&t, "test_helpers.test_clock.ready").len(), 2);
}

#[tokio::test]
async fn upgrades_with_always_invoice_are_prorated_to_the_second() {
    let (t, c, clock, _customer, monthly) = monthly_on_a_clock().await;
    // 2026-01-29T12:00:00Z: 1 425 600 s of the 2 678 400 s period left.
    let at = JAN_15 + 14 * DAY + DAY / 2;
    advance(&t.client, &clock, at).await;

    // Same interval (monthly $10 → $25): credit the unused time, charge the remaining time.
    let item_id = monthly.items.data[0].id.as_str().to_string();
    let upgraded = UpdateSubscription::new(monthly.id.clone())
        .items(vec![UpdateSubscriptionItems {
            id: Some(item_id.clone()),
            price: Some(c.team.clone()),
            ..UpdateSubscriptionItems::new()
        }])
        .proration_behavior(UpdateSubscriptionProrationBehavior::AlwaysInvoice)
        .expand(vec!["latest_invoice".to_string()])
        .send(&t.client)
        .await
        .expect("upgrade");
    assert_eq!(upgraded.items.data[0].id.as_str(), item_id, "the item keeps its id");
    assert_eq!(period(&upgraded), (JAN_15, FEB_15), "the billing cycle stays");
    let invoice = invoice_of(&upgraded);
    let amounts: Vec<i64> = invoice.lines.data.iter().map(|l| l.amount).collect();
    // -round(1000 × 1425600 / 2678400) = -532; round(2500 × 1425600 / 2678400) = 1331.
    assert_eq!(amounts, vec![-532, 1331]);
    assert_eq!(invoice.amount_due, 799);
    assert_eq!(invoice.status, Some(InvoiceStatus::Paid));
    assert_eq!(invoice.billing_reason, Some(stripe_billing::InvoiceBillingReason::SubscriptionUpdate));
    assert_eq!(invoice.created, at);
    let credit = &invoice.lines.data[0];
    assert!(
        credit.description.as_deref().unwrap_or("").starts_with("Unused time on Pro after 29 Jan 2026"),
        "{credit:?}"
    );
    let updated = events(&t, "customer.subscription.updated");
    assert_eq!(updated.len(), 1);
    assert_eq!(updated[0]["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"], c.monthly.as_str());

    // A new interval (monthly $25 → yearly $100) restarts the cycle now: the new year is charged in
    // full, less the unused time of what was paid for this month (the $13.31 debit, prorated
    // from the upgrade: it covered exactly the remaining time, so all of it is unused).
    let yearly = UpdateSubscription::new(monthly.id.clone())
        .items(vec![UpdateSubscriptionItems {
            id: Some(item_id.clone()),
            price: Some(c.yearly.clone()),
            ..UpdateSubscriptionItems::new()
        }])
        .proration_behavior(UpdateSubscriptionProrationBehavior::AlwaysInvoice)
        .expand(vec!["latest_invoice".to_string()])
        .send(&t.client)
        .await
        .expect("to yearly");
    let jan_29_2027 = 1_801_224_000;
    assert_eq!(period(&yearly), (at, jan_29_2027));
    assert_eq!(yearly.billing_cycle_anchor, at);
    let invoice = invoice_of(&yearly);
    let amounts: Vec<i64> = invoice.lines.data.iter().map(|l| l.amount).collect();
    assert_eq!(amounts, vec![-1331, 10_000]);
    assert_eq!(invoice.amount_due, 8669);

    // A downgrade to a free price with create_prorations: no invoice now, the credit waits for the
    // next invoice.
    let before =
        ListInvoice::new().subscription(monthly.id.as_str()).send(&t.client).await.expect("invoices").data.len();
    let free = UpdateSubscription::new(monthly.id.clone())
        .items(vec![UpdateSubscriptionItems {
            id: Some(item_id.clone()),
            price: Some(c.free.clone()),
            ..UpdateSubscriptionItems::new()
        }])
        .send(&t.client)
        .await
        .expect("downgrade");
    assert_eq!(free.status, SubscriptionStatus::Active);
    assert_eq!(period(&free).1 - period(&free).0, 30 * DAY, "a new monthly cycle from now (Jan 29 to Feb 28)");
    let after = ListInvoice::new().subscription(monthly.id.as_str()).send(&t.client).await.expect("invoices").data;
    assert_eq!(after.len(), before + 1, "an interval change is invoiced right away");
    let last = &after[0];
    assert_eq!(last.total, -10_000, "the whole unused year is credited");
    assert_eq!(last.amount_due, 0);
    assert_eq!(last.ending_balance, Some(-10_000));
}

#[tokio::test]
async fn cancel_at_period_end_and_cancel_now() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    let ending =
        UpdateSubscription::new(sub.id.clone()).cancel_at_period_end(true).send(&t.client).await.expect("cancel later");
    assert!(ending.cancel_at_period_end);
    assert_eq!(ending.cancel_at, Some(FEB_15));
    assert_eq!(ending.canceled_at, Some(JAN_15));
    let kept = UpdateSubscription::new(sub.id.clone()).cancel_at_period_end(false).send(&t.client).await.expect("undo");
    assert!(!kept.cancel_at_period_end);
    assert_eq!(kept.cancel_at, None);
    UpdateSubscription::new(sub.id.clone()).cancel_at_period_end(true).send(&t.client).await.expect("cancel later");
    advance(&t.client, &clock, FEB_15 + 10).await;
    let ended = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(ended.status, SubscriptionStatus::Canceled);
    assert_eq!(ended.ended_at, Some(FEB_15));
    let deleted = events(&t, "customer.subscription.deleted");
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["created"], FEB_15);
    let invoices = ListInvoice::new().subscription(sub.id.as_str()).send(&t.client).await.expect("invoices");
    assert_eq!(invoices.data.len(), 1, "no renewal after the cancellation");

    // DELETE cancels right away.
    let other = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.yearly)])
        .send(&t.client)
        .await
        .expect("subscription");
    let canceled = CancelSubscription::new(other.id.clone()).send(&t.client).await.expect("cancel");
    assert_eq!(canceled.status, SubscriptionStatus::Canceled);
    assert_eq!(canceled.canceled_at, Some(FEB_15 + 10));
    let err = UpdateSubscription::new(other.id.clone())
        .cancel_at_period_end(true)
        .send(&t.client)
        .await
        .expect_err("canceled");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    let updated_meta = UpdateSubscription::new(other.id.clone())
        .metadata(HashMap::from([("note".to_string(), "gone".to_string())]))
        .send(&t.client)
        .await
        .expect("metadata still updates");
    assert_eq!(updated_meta.metadata.get("note").map(String::as_str), Some("gone"));
}

#[tokio::test]
async fn the_sandbox_clock_renews_and_a_customer_can_be_made_to_fail() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", None).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    let (_, end) = period(&sub);

    let (status, body) = t.control("POST", "_sandbox/clock/advance", json!({"seconds": end - sub.created + 5})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["now"].as_i64().unwrap_or(0) >= end);
    let renewed = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(period(&renewed).0, end);
    let invoices = ListInvoice::new().customer(customer.as_str()).send(&t.client).await.expect("invoices");
    assert_eq!(invoices.data.len(), 2);
    assert_eq!(invoices.data[0].status, Some(InvoiceStatus::Paid));

    let (status, body) =
        t.control("POST", &format!("_sandbox/customers/{customer}/fail_charges"), json!({"fail": true})).await;
    assert_eq!(status, 200, "{body}");
    let (_, end) = period(&renewed);
    let now = t.sandbox.clock_now();
    t.sandbox.advance_clock(end - now + 5).expect("advance");
    let failed = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(failed.status, SubscriptionStatus::PastDue);
    assert_eq!(events(&t, "invoice.payment_failed").len(), 1);
    let declined = events(&t, "charge.failed");
    assert_eq!(declined[0]["data"]["object"]["failure_code"], "card_declined");

    t.sandbox.set_customer_charges_fail(&customer, false).expect("unmark");
    let invoice = latest_invoice_id(&failed);
    PayInvoice::new(invoice.as_str()).send(&t.client).await.expect("retry succeeds");
    let back = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(back.status, SubscriptionStatus::Active);
}

#[tokio::test]
async fn trials_and_free_prices() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let trial = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .trial_period_days(14u32)
        .expand(vec!["latest_invoice".to_string()])
        .send(&t.client)
        .await
        .expect("trial");
    assert_eq!(trial.status, SubscriptionStatus::Trialing);
    assert_eq!(trial.trial_end, Some(JAN_15 + 14 * DAY));
    assert_eq!(invoice_of(&trial).amount_due, 0);
    assert_eq!(invoice_of(&trial).status, Some(InvoiceStatus::Paid));
    advance(&t.client, &clock, JAN_15 + 15 * DAY).await;
    let paid = RetrieveSubscription::new(trial.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(paid.status, SubscriptionStatus::Active);
    assert_eq!(paid.billing_cycle_anchor, JAN_15 + 14 * DAY);
    let invoice = RetrieveInvoice::new(latest_invoice_id(&paid)).send(&t.client).await.expect("invoice");
    assert_eq!(invoice.amount_paid, 1000);

    // A free price needs no payment method.
    let nobody = CreateCustomer::new().test_clock(clock.as_str()).send(&t.client).await.expect("customer");
    let free = CreateSubscription::new()
        .customer(nobody.id.as_str())
        .items(vec![item(&c.free)])
        .send(&t.client)
        .await
        .expect("free");
    assert_eq!(free.status, SubscriptionStatus::Active);
}

#[tokio::test]
async fn customers_default_payment_methods_must_be_theirs() {
    let t = start().await;
    let a = CreateCustomer::new().send(&t.client).await.expect("a");
    let b = CreateCustomer::new().send(&t.client).await.expect("b");
    let card = AttachPaymentMethod::new("pm_card_visa").customer(a.id.as_str()).send(&t.client).await.expect("attach");
    let err = UpdateCustomer::new(b.id.clone())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(card.id.as_str().to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(&t.client)
        .await
        .expect_err("not b's card");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    let err = AttachPaymentMethod::new("pm_card_chargeDeclined").customer(a.id.as_str()).send(&t.client).await;
    assert!(matches!(err, Err(StripeError::Stripe(_, 402))), "declining cards do not attach: {err:?}");
    let created = CreateCustomer::new()
        .invoice_settings(CreateCustomerInvoiceSettings {
            default_payment_method: Some("pm_card_visa".into()),
            ..CreateCustomerInvoiceSettings::new()
        })
        .send(&t.client)
        .await
        .expect("test ids are accepted as they are");
    assert_eq!(
        created
            .invoice_settings
            .as_ref()
            .and_then(|s| s.default_payment_method.as_ref())
            .map(|p| p.id().as_str().to_string()),
        Some("pm_card_visa".to_string())
    );
}

/// Every billing event parses into async-stripe-webhook's typed `EventObject`.
#[tokio::test]
async fn billing_events_are_typed() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    t.sandbox.set_customer_charges_fail(&customer, true).expect("fail");
    advance(&t.client, &clock, FEB_15 + 1).await;
    t.sandbox.set_customer_charges_fail(&customer, false).expect("ok");
    UpdateSubscription::new(sub.id.clone()).cancel_at_period_end(true).send(&t.client).await.expect("update");
    let incomplete = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.yearly)])
        .payment_behavior(CreateSubscriptionPaymentBehavior::DefaultIncomplete)
        .send(&t.client)
        .await
        .expect("incomplete");
    t.http
        .post(t.url(&format!("v1/invoices/{}/void", latest_invoice_id(&incomplete))))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("void");
    CancelSubscription::new(sub.id.clone()).send(&t.client).await.expect("cancel");

    let mut seen = std::collections::BTreeSet::new();
    for raw in t.sandbox.events() {
        let body = serde_json::to_string_pretty(&raw).expect("json");
        let header = azora_stripe_sandbox::signature_header(SECRET, azora_stripe_sandbox_now(), &body);
        let event = Webhook::construct_event(&body, &header, SECRET)
            .unwrap_or_else(|e| panic!("{} does not parse: {e}\n{body}", raw["type"]));
        assert!(!matches!(event.data.object, EventObject::Unknown(_)), "{} is untyped", raw["type"]);
        let via_serde: stripe_webhook::Event = parse_as(&raw);
        assert_eq!(via_serde.id, event.id);
        seen.insert(event.type_.as_str().to_string());
    }
    for kind in [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.created",
        "invoice.finalized",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.voided",
        "payment_method.attached",
        "product.created",
        "price.created",
        "test_helpers.test_clock.created",
        "test_helpers.test_clock.advancing",
        "test_helpers.test_clock.ready",
    ] {
        assert!(seen.contains(kind), "{kind} not emitted: {seen:?}");
    }
}

fn azora_stripe_sandbox_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

#[tokio::test]
async fn bad_billing_requests_answer_stripe_errors() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let customer = CreateCustomer::new().send(&t.client).await.expect("customer");
    let cus = customer.id.as_str();
    let cases: Vec<(&str, String)> = vec![
        ("v1/products", String::new()),
        ("v1/prices", "currency=usd&unit_amount=100".into()),
        ("v1/prices", "currency=usd&product=prod_missing&unit_amount=1".into()),
        ("v1/prices", format!("currency=usd&product={}&unit_amount=-1", "prod_x")),
        ("v1/prices", "currency=usd&product_data[name]=X&unit_amount=1&recurring[interval]=fortnight".into()),
        (
            "v1/prices",
            "currency=usd&product_data[name]=X&unit_amount=1&recurring[interval_count]=40&recurring[interval]=month"
                .into(),
        ),
        ("v1/subscriptions", format!("customer={cus}")),
        ("v1/subscriptions", format!("customer={cus}&items[0][price]=price_missing")),
        ("v1/subscriptions", "items[0][price]=x".into()),
        ("v1/subscriptions", format!("customer={cus}&items[0][price]={}&items[1][price]={}", c.monthly, c.yearly)),
        ("v1/subscriptions", format!("customer={cus}&items[0][price]={}&payment_behavior=sometimes", c.monthly)),
        ("v1/subscriptions", format!("customer={cus}&items[0][price]={}&default_payment_method=pm_nope", c.monthly)),
        (
            "v1/subscriptions",
            format!("customer={cus}&items[0][price]={}&items[0][price_data][currency]=usd", c.monthly),
        ),
        ("v1/subscriptions/sub_missing", "cancel_at_period_end=true".into()),
        ("v1/test_helpers/test_clocks", String::new()),
        ("v1/test_helpers/test_clocks", "frozen_time=soon".into()),
        ("v1/test_helpers/test_clocks/clock_missing/advance", "frozen_time=1".into()),
        ("v1/invoices/in_missing/pay", String::new()),
        ("v1/payment_methods/pm_card_visa/attach", "customer=cus_missing".into()),
    ];
    for (path, body) in cases {
        let (status, _, json) = t.post_form(path, &form(&body), None).await;
        assert!((400..500).contains(&status), "{path} {body}: {status} {json}");
        assert!(json["error"]["message"].is_string(), "{path}: {json}");
    }
    let clock = clock(&t.client, JAN_15).await;
    let (status, _, json) =
        t.post_form(&format!("v1/test_helpers/test_clocks/{clock}/advance"), &[("frozen_time", "5")], None).await;
    assert_eq!(status, 400, "{json}");
    let (status, json) = t.control("POST", "_sandbox/clock/advance", json!({"seconds": -5})).await;
    assert_eq!(status, 400, "{json}");
    let (status, json) = t.control("POST", "_sandbox/customers/cus_missing/fail_charges", json!({})).await;
    assert_eq!(status, 404, "{json}");
    assert!(ListSubscription::new().send(&t.client).await.expect("list").data.is_empty());
}

fn form(body: &str) -> Vec<(&str, &str)> {
    body.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))).collect()
}

#[tokio::test]
async fn clocks_payment_methods_and_cleanup() {
    let t = start().await;
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let clocks = ListTestHelpersTestClock::new().send(&t.client).await.expect("clocks");
    assert_eq!(clocks.data.len(), 1);
    assert_eq!(clocks.data[0].frozen_time, JAN_15);
    let (customer, pm) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let cards = ListPaymentMethod::new().customer(customer.as_str()).send(&t.client).await.expect("cards");
    assert_eq!(cards.data.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), vec![pm.as_str()]);
    let (status, body) = t.get_json(&format!("v1/customers/{customer}/payment_methods")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(1));

    // DELETE with a body (async-stripe sends cancellation_details form-encoded).
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    let canceled = CancelSubscription::new(sub.id.clone())
        .cancellation_details(stripe_billing::subscription::CancelSubscriptionCancellationDetails {
            comment: Some("too expensive".into()),
            feedback: None,
            feedback_option: None,
        })
        .send(&t.client)
        .await
        .expect("cancel");
    assert_eq!(canceled.cancellation_details.as_ref().and_then(|d| d.comment.as_deref()), Some("too expensive"));

    // Deleting a customer cancels their subscriptions.
    let other = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.yearly)])
        .send(&t.client)
        .await
        .expect("subscription");
    DeleteCustomer::new(customer.as_str()).send(&t.client).await.expect("delete customer");
    let gone = RetrieveSubscription::new(other.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(gone.status, SubscriptionStatus::Canceled);
    assert_eq!(events(&t, "customer.subscription.deleted").len(), 2);

    // The hosted invoice page exists.
    let page =
        t.http.get(t.url(&format!("_sandbox/invoices/{}", latest_invoice_id(&other)))).send().await.expect("page");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap_or_default().contains("Pro"));

    let (status, body) = t.control("GET", "_sandbox/clock", Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(body["offsetSeconds"], 0);

    let deleted = DeleteTestHelpersTestClock::new(clock.as_str()).send(&t.client).await.expect("delete clock");
    assert_eq!(deleted.id.as_str(), clock);
    let err = CreateCustomer::new().test_clock(clock.as_str()).send(&t.client).await.expect_err("deleted clock");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
}

#[tokio::test]
async fn too_long_a_jump_is_refused_before_anything_happens() {
    let t = start().await;
    let product = CreateProduct::new("Daily").send(&t.client).await.expect("product");
    let daily = CreatePrice::new(Currency::USD)
        .product(product.id.as_str())
        .unit_amount(100)
        .recurring(CreatePriceRecurring {
            interval: CreatePriceRecurringInterval::Day,
            interval_count: None,
            meter: None,
            trial_period_days: None,
            usage_type: None,
        })
        .send(&t.client)
        .await
        .expect("price");
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(daily.id.as_str())])
        .send(&t.client)
        .await
        .expect("subscription");
    let err =
        AdvanceTestHelpersTestClock::new(clock.as_str(), JAN_15 + 1500 * DAY).send(&t.client).await.expect_err("400");
    assert!(matches!(err, StripeError::Stripe(_, 400)), "{err:?}");
    assert!(events(&t, "test_helpers.test_clock.advancing").is_empty());
    let unchanged = RetrieveTestHelpersTestClock::new(clock.as_str()).send(&t.client).await.expect("clock");
    assert_eq!(unchanged.frozen_time, JAN_15);
    advance(&t.client, &clock, JAN_15 + 30 * DAY).await;
    let invoices = ListInvoice::new().customer(customer.as_str()).limit(100).send(&t.client).await.expect("invoices");
    assert_eq!(invoices.data.len(), 31, "the first invoice and one per day");
}

/// `create_prorations` (the default): the lines wait for the renewal, and a second change credits
/// what the first one charged.
#[tokio::test]
async fn pending_prorations_land_on_the_renewal_invoice() {
    let (t, c, clock, _customer, sub) = monthly_on_a_clock().await;
    let item_id = sub.items.data[0].id.as_str().to_string();
    let change = |price: &str| price_change(&sub, &item_id, price);
    let jan_29_noon = JAN_15 + 14 * DAY + DAY / 2;
    let feb_1 = 1_769_904_000;
    advance(&t.client, &clock, jan_29_noon).await;
    change(&c.team).send(&t.client).await.expect("up");
    advance(&t.client, &clock, feb_1).await;
    change(&c.monthly).send(&t.client).await.expect("down");
    let invoices = ListInvoice::new().subscription(sub.id.as_str()).send(&t.client).await.expect("invoices");
    assert_eq!(invoices.data.len(), 1, "nothing invoiced yet");
    advance(&t.client, &clock, FEB_15).await;
    let renewal =
        ListInvoice::new().subscription(sub.id.as_str()).send(&t.client).await.expect("invoices").data[0].clone();
    let amounts: Vec<i64> = renewal.lines.data.iter().map(|l| l.amount).collect();
    // Jan 29: −532 (unused $10) +1331 (remaining $25); Feb 1: −1129 (unused part of the 1331:
    // round(1331 × 1209600 / 1425600)) +452 (remaining $10: round(1000 × 1209600 / 2678400));
    // then the new period, $10.
    assert_eq!(amounts, vec![-532, 1331, -1129, 452, 1000]);
    assert_eq!(renewal.amount_paid, 1122);
}

/// `POST /v1/invoices/create_preview` shows what the update then invoices: the same lines and
/// total at the same proration date, for a change within the interval and for monthly → yearly
/// (the cycle restarts); without a change, the next renewal. A preview creates, emits and changes
/// nothing.
#[tokio::test]
async fn an_invoice_preview_is_what_the_update_then_invoices() {
    use stripe_billing::invoice::{
        CreatePreviewInvoice, CreatePreviewInvoiceSubscriptionDetails, CreatePreviewInvoiceSubscriptionDetailsItems,
        CreatePreviewInvoiceSubscriptionDetailsProrationBehavior as PreviewProration,
    };
    let (t, c, clock, customer, sub) = monthly_on_a_clock().await;
    let item_id = sub.items.data[0].id.as_str().to_string();
    // Quoted at 2026-01-29T12:00Z, confirmed an hour later with the quote's proration date.
    let at = JAN_15 + 14 * DAY + DAY / 2;
    advance(&t.client, &clock, at + 3600).await;
    let preview = |price: &str| {
        let details = CreatePreviewInvoiceSubscriptionDetails {
            items: Some(vec![CreatePreviewInvoiceSubscriptionDetailsItems {
                id: Some(item_id.clone()),
                price: Some(price.to_string()),
                ..CreatePreviewInvoiceSubscriptionDetailsItems::new()
            }]),
            proration_behavior: Some(PreviewProration::AlwaysInvoice),
            proration_date: Some(at),
            ..CreatePreviewInvoiceSubscriptionDetails::new()
        };
        CreatePreviewInvoice::new()
            .customer(customer.as_str())
            .subscription(sub.id.as_str())
            .subscription_details(details)
    };
    let events_before = t.sandbox.events().len();
    let invoices = async || {
        ListInvoice::new().customer(customer.as_str()).limit(100).send(&t.client).await.expect("invoices").data.len()
    };
    let invoices_before = invoices().await;

    let team = preview(&c.team).send(&t.client).await.expect("preview");
    let amounts: Vec<i64> = team.lines.data.iter().map(|l| l.amount).collect();
    assert_eq!(amounts, vec![-532, 1331], "as the update test computes them");
    assert_eq!((team.total, team.amount_due, team.currency), (799, 799, Currency::USD));
    assert_eq!(team.status, Some(InvoiceStatus::Draft));
    assert_eq!(team.billing_reason, Some(stripe_billing::InvoiceBillingReason::SubscriptionUpdate));
    assert_eq!(t.sandbox.events().len(), events_before, "a preview emits nothing");
    assert_eq!(invoices().await, invoices_before, "and creates no invoice");
    let unchanged = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(unchanged.items.data[0].price.id.as_str(), c.monthly, "and changes nothing");

    let quoted = preview(&c.yearly).send(&t.client).await.expect("preview yearly");
    let updated = price_change(&sub, &item_id, &c.yearly)
        .proration_behavior(UpdateSubscriptionProrationBehavior::AlwaysInvoice)
        .proration_date(at)
        .expand(vec!["latest_invoice".to_string()])
        .send(&t.client)
        .await
        .expect("to yearly");
    let invoice = invoice_of(&updated);
    let quoted_lines: Vec<(i64, Option<String>)> =
        quoted.lines.data.iter().map(|l| (l.amount, l.description.clone())).collect();
    let invoiced_lines: Vec<(i64, Option<String>)> =
        invoice.lines.data.iter().map(|l| (l.amount, l.description.clone())).collect();
    assert_eq!(quoted_lines, invoiced_lines);
    assert_eq!(quoted_lines.iter().map(|l| l.0).collect::<Vec<_>>(), vec![-532, 10_000]);
    assert_eq!((quoted.total, quoted.amount_due), (invoice.total, invoice.amount_due));
    assert_eq!(invoice.amount_due, 9468);

    // No change: the next renewal, a year after the restarted cycle.
    let upcoming = CreatePreviewInvoice::new().subscription(sub.id.as_str()).send(&t.client).await.expect("upcoming");
    assert_eq!(upcoming.lines.data.iter().map(|l| l.amount).collect::<Vec<_>>(), vec![10_000]);
    assert_eq!(upcoming.billing_reason, Some(stripe_billing::InvoiceBillingReason::Upcoming));
    assert_eq!(upcoming.lines.data[0].period.start, period(&updated).1);

    // Errors as Stripe answers them.
    let missing = CreatePreviewInvoice::new().subscription("sub_missing").send(&t.client).await;
    assert!(
        matches!(missing, Err(StripeError::Stripe(ref e, 400)) if e.param.as_deref() == Some("subscription")),
        "{missing:?}"
    );
    let wrong_customer =
        CreatePreviewInvoice::new().customer("cus_someoneelse").subscription(sub.id.as_str()).send(&t.client).await;
    assert!(matches!(wrong_customer, Err(StripeError::Stripe(_, 400))), "{wrong_customer:?}");
    CancelSubscription::new(sub.id.clone()).send(&t.client).await.expect("cancel");
    let ended = CreatePreviewInvoice::new().subscription(sub.id.as_str()).send(&t.client).await;
    assert!(
        matches!(ended, Err(StripeError::Stripe(ref e, 400)) if e.code.as_ref().map(|c| c.as_str()) == Some("invoice_upcoming_none")),
        "{ended:?}"
    );
}

/// A customer on a test clock at Jan 15 with a monthly Pro subscription paid by Visa, whose
/// card then starts failing (`pm_card_chargeCustomerFail` becomes the default); the clock then
/// passes the Feb 15 renewal, which fails.
async fn failing_renewal(t: &TestSandbox) -> (String, String, Subscription) {
    let c = catalog(&t.client).await;
    let clock = clock(&t.client, JAN_15).await;
    let (customer, _) = customer_with(&t.client, "pm_card_visa", Some(&clock)).await;
    let sub = CreateSubscription::new()
        .customer(customer.as_str())
        .items(vec![item(&c.monthly)])
        .send(&t.client)
        .await
        .expect("subscription");
    let failing = AttachPaymentMethod::new("pm_card_chargeCustomerFail")
        .customer(customer.as_str())
        .send(&t.client)
        .await
        .expect("attaches");
    UpdateCustomer::new(customer.as_str())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(failing.id.as_str().to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(&t.client)
        .await
        .expect("switch card");
    advance(&t.client, &clock, FEB_15 + 60).await;
    (clock, customer, sub)
}

/// `(attempt_count, next_payment_attempt, created)` of each `invoice.payment_failed`, in order.
fn failures(t: &TestSandbox) -> Vec<(i64, Option<i64>, i64)> {
    let mut events = events(t, "invoice.payment_failed");
    events.sort_by_key(|e| e["created"].as_i64());
    events
        .iter()
        .map(|e| {
            let invoice = &e["data"]["object"];
            (
                invoice["attempt_count"].as_i64().unwrap_or(-1),
                invoice["next_payment_attempt"].as_i64(),
                e["created"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_failed_renewal_is_retried_on_the_schedule_then_left_as_configured() {
    for end in ["past_due", "unpaid", "canceled"] {
        let t = start_with(SandboxOptions {
            webhook_secret: SECRET.into(),
            invoice_retry_end: end.to_string(),
            ..SandboxOptions::default()
        })
        .await;
        let (clock, _, sub) = failing_renewal(&t).await;
        // Attempt 1 at the renewal, then retries 3, 2 and 2 days after the previous attempt.
        assert_eq!(failures(&t), vec![(1, Some(FEB_15 + 3 * DAY), FEB_15)], "{end}");
        let sub_now = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
        assert_eq!(sub_now.status, SubscriptionStatus::PastDue);
        let invoice = RetrieveInvoice::new(latest_invoice_id(&sub_now)).send(&t.client).await.expect("invoice");
        assert_eq!((invoice.attempt_count, invoice.next_payment_attempt), (1, Some(FEB_15 + 3 * DAY)));

        // Nothing happens before the retry is due.
        advance(&t.client, &clock, FEB_15 + 3 * DAY - 60).await;
        assert_eq!(failures(&t).len(), 1);
        advance(&t.client, &clock, FEB_15 + 7 * DAY + 60).await;
        assert_eq!(
            failures(&t),
            vec![
                (1, Some(FEB_15 + 3 * DAY), FEB_15),
                (2, Some(FEB_15 + 5 * DAY), FEB_15 + 3 * DAY),
                (3, Some(FEB_15 + 7 * DAY), FEB_15 + 5 * DAY),
                (4, None, FEB_15 + 7 * DAY),
            ],
            "{end}"
        );
        let sub_now = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
        let expected = match end {
            "past_due" => SubscriptionStatus::PastDue,
            "unpaid" => SubscriptionStatus::Unpaid,
            _ => SubscriptionStatus::Canceled,
        };
        assert_eq!(sub_now.status, expected, "{end}");
        assert_eq!(events(&t, "customer.subscription.deleted").len(), usize::from(end == "canceled"), "{end}");
        let invoice = RetrieveInvoice::new(latest_invoice_id(&sub_now)).send(&t.client).await.expect("invoice");
        assert_eq!((invoice.attempt_count, invoice.next_payment_attempt), (4, None));
        // No attempt after the last one.
        advance(&t.client, &clock, FEB_15 + 12 * DAY).await;
        assert_eq!(failures(&t).len(), 4, "{end}");
    }
}

#[tokio::test]
async fn a_retry_charges_the_card_fixed_meanwhile_and_the_subscription_is_active_again() {
    let t = start().await;
    let (clock, customer, sub) = failing_renewal(&t).await;
    let good =
        AttachPaymentMethod::new("pm_card_visa").customer(customer.as_str()).send(&t.client).await.expect("attach");
    UpdateCustomer::new(customer.as_str())
        .invoice_settings(UpdateCustomerInvoiceSettings {
            default_payment_method: Some(good.id.as_str().to_string()),
            ..UpdateCustomerInvoiceSettings::new()
        })
        .send(&t.client)
        .await
        .expect("fix card");
    advance(&t.client, &clock, FEB_15 + 3 * DAY + 60).await;
    let sub_now = RetrieveSubscription::new(sub.id.clone()).send(&t.client).await.expect("retrieve");
    assert_eq!(sub_now.status, SubscriptionStatus::Active);
    let invoice = RetrieveInvoice::new(latest_invoice_id(&sub_now)).send(&t.client).await.expect("invoice");
    assert_eq!(invoice.status, Some(InvoiceStatus::Paid));
    assert_eq!((invoice.attempt_count, invoice.next_payment_attempt), (2, None));
    let paid: Vec<Value> = events(&t, "invoice.paid")
        .into_iter()
        .filter(|e| e["data"]["object"]["billing_reason"] == "subscription_cycle")
        .collect();
    assert_eq!(paid.len(), 1);
    assert_eq!(paid[0]["created"], FEB_15 + 3 * DAY);
    assert_eq!(failures(&t).len(), 1, "one failure, then paid");
    advance(&t.client, &clock, FEB_15 + 10 * DAY).await;
    assert_eq!(failures(&t).len(), 1, "no retry once paid");
}
