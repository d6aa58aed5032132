//! What the world looks like after a run: our DynamoDB table, read item by item (one consistent
//! Scan; see `shared/store/src/keys.rs` for the key design), and the Stripe sandbox, read through
//! its HTTP API with the secret key, as any Stripe client would. Nothing here calls production
//! code: the oracle must not share bugs with what it checks.

use crate::TestApp;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

pub type Item = HashMap<String, AttributeValue>;

/// `PAYMENT#<id>` / `PAYMENT`.
#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub id: String,
    pub user_id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    /// `refundedAmount`.
    pub refunded: i64,
    pub items: Vec<ItemRecord>,
    pub receipt_number: Option<String>,
    pub fulfilled: bool,
    pub payment_intent: Option<String>,
}

impl PaymentRecord {
    /// Money was captured, as far as our record says.
    pub fn is_paid(&self) -> bool {
        matches!(self.status.as_str(), "succeeded" | "partially_refunded" | "refunded")
    }
}

#[derive(Debug, Clone)]
pub struct ItemRecord {
    pub course_id: String,
    pub instructor_id: String,
    pub price: i64,
}

/// `PAYMENT#<id>` / `REFUND#<refundId>`.
#[derive(Debug, Clone)]
pub struct RefundRecord {
    pub payment_id: String,
    pub refund_id: String,
    pub amount: i64,
    pub status: String,
}

/// `USER#<userId>` / `ENROLLMENT#<courseId>`.
#[derive(Debug, Clone)]
pub struct EnrollmentRecord {
    pub user_id: String,
    pub course_id: String,
    pub payment_id: Option<String>,
}

/// `INSTRUCTOR#<id>` / `EARNING#...`.
#[derive(Debug, Clone)]
pub struct EarningRecord {
    pub instructor_id: String,
    pub sk: String,
    pub kind: String,
    pub amount: i64,
    pub currency: String,
    pub payment_id: Option<String>,
    pub course_id: Option<String>,
    pub released: bool,
}

/// `INSTRUCTOR#<id>` / `BALANCE#<CUR>`.
#[derive(Debug, Clone, Default)]
pub struct BalanceRecord {
    pub instructor_id: String,
    pub currency: String,
    pub pending: i64,
    pub available: i64,
    pub paid_out: i64,
    pub reversed: i64,
    pub lifetime: i64,
}

/// `INSTRUCTOR#<id>` / `PAYOUT#<run>#<CUR>`.
#[derive(Debug, Clone)]
pub struct PayoutRecord {
    pub instructor_id: String,
    pub sk: String,
    pub transfer_id: String,
    pub amount: i64,
}

/// `USER#<userId>` / `SUBSCRIPTION`.
#[derive(Debug, Clone)]
pub struct SubscriptionRecord {
    pub user_id: String,
    pub stripe_subscription_id: Option<String>,
    pub status: Option<String>,
    pub cancel_at_period_end: bool,
}

/// Stripe objects, as listed by the API (every page).
#[derive(Debug, Clone, Default)]
pub struct StripeSnapshot {
    pub payment_intents: Vec<Value>,
    pub refunds: Vec<Value>,
    pub transfers: Vec<Value>,
    pub subscriptions: Vec<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub payments: BTreeMap<String, PaymentRecord>,
    pub refunds: Vec<RefundRecord>,
    pub enrollments: Vec<EnrollmentRecord>,
    pub earnings: Vec<EarningRecord>,
    pub balances: Vec<BalanceRecord>,
    pub payouts: Vec<PayoutRecord>,
    /// instructor → connected account (`USER#<id>` / `PAYOUT_ACCOUNT`).
    pub payout_accounts: BTreeMap<String, String>,
    pub subscriptions: Vec<SubscriptionRecord>,
    /// year → `value` of `COUNTER#RECEIPT#<year>`.
    pub receipt_counters: BTreeMap<String, i64>,
    /// (number, paymentId) of every `RECEIPT#<number>` item.
    pub receipts: Vec<(String, String)>,
    /// (courseId, userId, rating) of every `COURSE#<id>` / `REVIEW#<userId>` item.
    pub reviews: Vec<(String, String, i64)>,
    /// courseId → (`ratingCount`, `ratingSum`) of the course item.
    pub course_ratings: BTreeMap<String, (i64, i64)>,
    /// currency → counter → sum over every month of the business report totals
    /// (`REPORT#<month>` / `TOTALS#<CUR>`).
    pub report_totals: BTreeMap<String, BTreeMap<String, i64>>,
    /// Items the snapshot could not read (reported as violations: a malformed record is a bug).
    pub unreadable: Vec<String>,
    pub stripe: StripeSnapshot,
}

fn s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

fn n(item: &Item, name: &str) -> Option<i64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// Every item of the table (a consistent Scan, page by page).
pub async fn scan_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .consistent_read(true)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return items,
        }
    }
}

/// Every object of a Stripe list endpoint (`/v1/payment_intents`, ...), following `has_more`.
pub async fn stripe_list(app: &TestApp, path: &str, extra: &str) -> Vec<Value> {
    let mut all: Vec<Value> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}{}?limit=100{extra}", app.stripe.base_url(), path.trim_start_matches('/'));
        if let Some(a) = &after {
            url.push_str(&format!("&starting_after={a}"));
        }
        let resp = app.http.get(&url).bearer_auth(STRIPE_KEY).send().await.expect("sandbox answers");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("a Stripe list is JSON");
        assert_eq!(status, 200, "GET {url}: {body}");
        let data = body["data"].as_array().cloned().unwrap_or_default();
        after = data.last().and_then(|o| o["id"].as_str()).map(str::to_string);
        all.extend(data);
        if body["has_more"] != true || after.is_none() {
            return all;
        }
    }
}

/// The secret key `spawn_app()` configures.
pub const STRIPE_KEY: &str = "sk_test_end_to_end";

impl Snapshot {
    /// Reads the table and the sandbox.
    pub async fn read(app: &TestApp) -> Snapshot {
        let store = &app.booted.state.store;
        let items = scan_table(store.client(), store.table()).await;
        let mut snapshot = Snapshot::from_items(&items);
        snapshot.stripe = StripeSnapshot {
            payment_intents: stripe_list(app, "v1/payment_intents", "").await,
            refunds: stripe_list(app, "v1/refunds", "").await,
            transfers: stripe_list(app, "v1/transfers", "").await,
            subscriptions: stripe_list(app, "v1/subscriptions", "&status=all").await,
        };
        snapshot
    }

    pub fn from_items(items: &[Item]) -> Snapshot {
        let mut out = Snapshot::default();
        for item in items {
            let (Some(pk), Some(sk)) = (s(item, "PK"), s(item, "SK")) else { continue };
            if pk.starts_with("PAYMENT#") && sk == "PAYMENT" {
                match payment(item) {
                    Some(p) => {
                        out.payments.insert(p.id.clone(), p);
                    }
                    None => out.unreadable.push(format!("{pk} / {sk}: unreadable payment")),
                }
            } else if pk.starts_with("PAYMENT#") && sk.starts_with("REFUND#") {
                out.refunds.push(RefundRecord {
                    payment_id: pk["PAYMENT#".len()..].to_string(),
                    refund_id: sk["REFUND#".len()..].to_string(),
                    amount: n(item, "amount").unwrap_or(0),
                    status: s(item, "status").unwrap_or("").to_string(),
                });
            } else if let (Some(user), Some(course)) = (pk.strip_prefix("USER#"), sk.strip_prefix("ENROLLMENT#")) {
                out.enrollments.push(EnrollmentRecord {
                    user_id: user.to_string(),
                    course_id: course.to_string(),
                    payment_id: s(item, "paymentId").map(str::to_string),
                });
            } else if let Some(user) = pk.strip_prefix("USER#")
                && !user.contains('#')
                && sk == "PAYOUT_ACCOUNT"
            {
                if let Some(acc) = s(item, "accountId") {
                    out.payout_accounts.insert(user.to_string(), acc.to_string());
                }
            } else if let Some(user) = pk.strip_prefix("USER#")
                && !user.contains('#')
                && sk == "SUBSCRIPTION"
            {
                out.subscriptions.push(SubscriptionRecord {
                    user_id: user.to_string(),
                    stripe_subscription_id: s(item, "stripeSubscriptionId").map(str::to_string),
                    status: s(item, "status").map(str::to_string),
                    cancel_at_period_end: matches!(item.get("cancelAtPeriodEnd"), Some(AttributeValue::Bool(true))),
                });
            } else if let Some(instructor) = pk.strip_prefix("INSTRUCTOR#")
                && !instructor.contains('#')
            {
                if sk.starts_with("EARNING#") {
                    out.earnings.push(EarningRecord {
                        instructor_id: instructor.to_string(),
                        sk: sk.to_string(),
                        kind: s(item, "kind").unwrap_or("").to_string(),
                        amount: n(item, "amount").unwrap_or(0),
                        currency: s(item, "currency").unwrap_or("").to_string(),
                        payment_id: s(item, "paymentId").map(str::to_string),
                        course_id: s(item, "courseId").map(str::to_string),
                        released: item.contains_key("releasedAt"),
                    });
                } else if let Some(currency) = sk.strip_prefix("BALANCE#") {
                    out.balances.push(BalanceRecord {
                        instructor_id: instructor.to_string(),
                        currency: currency.to_string(),
                        pending: n(item, "pending").unwrap_or(0),
                        available: n(item, "available").unwrap_or(0),
                        paid_out: n(item, "paidOut").unwrap_or(0),
                        reversed: n(item, "reversed").unwrap_or(0),
                        lifetime: n(item, "lifetime").unwrap_or(0),
                    });
                } else if sk.starts_with("PAYOUT#") {
                    out.payouts.push(PayoutRecord {
                        instructor_id: instructor.to_string(),
                        sk: sk.to_string(),
                        transfer_id: s(item, "transferId").unwrap_or("").to_string(),
                        amount: n(item, "amount").unwrap_or(0),
                    });
                }
            } else if let Some(course) = pk.strip_prefix("COURSE#")
                && !course.contains('#')
            {
                if let Some(user) = sk.strip_prefix("REVIEW#") {
                    out.reviews.push((course.to_string(), user.to_string(), n(item, "rating").unwrap_or(0)));
                } else if sk == "COURSE" {
                    let rating = (n(item, "ratingCount").unwrap_or(0), n(item, "ratingSum").unwrap_or(0));
                    out.course_ratings.insert(course.to_string(), rating);
                }
            } else if pk.starts_with("REPORT#")
                && let Some(currency) = sk.strip_prefix("TOTALS#")
            {
                let sums = out.report_totals.entry(currency.to_string()).or_default();
                for (name, value) in item {
                    if let Some(v) = n(item, name).filter(|_| matches!(value, AttributeValue::N(_))) {
                        *sums.entry(name.clone()).or_default() += v;
                    }
                }
            } else if let Some(year) = pk.strip_prefix("COUNTER#RECEIPT#") {
                out.receipt_counters.insert(year.to_string(), n(item, "value").unwrap_or(0));
            } else if let Some(number) = pk.strip_prefix("RECEIPT#")
                && sk == "RECEIPT"
            {
                out.receipts.push((number.to_string(), s(item, "paymentId").unwrap_or("").to_string()));
            }
        }
        out
    }
}

fn payment(item: &Item) -> Option<PaymentRecord> {
    let items: Value = serde_json::from_str(s(item, "items")?).ok()?;
    let items = items
        .as_array()?
        .iter()
        .map(|i| {
            Some(ItemRecord {
                course_id: i["courseId"].as_str()?.to_string(),
                instructor_id: i["instructorId"].as_str()?.to_string(),
                price: i["price"]["amount"].as_i64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(PaymentRecord {
        id: s(item, "paymentId")?.to_string(),
        user_id: s(item, "userId")?.to_string(),
        status: s(item, "status")?.to_string(),
        amount: n(item, "amount")?,
        currency: s(item, "currency")?.to_string(),
        refunded: n(item, "refundedAmount").unwrap_or(0),
        items,
        receipt_number: s(item, "receiptNumber").map(str::to_string),
        fulfilled: item.contains_key("fulfilledAt"),
        payment_intent: s(item, "stripePaymentIntentId").map(str::to_string),
    })
}
