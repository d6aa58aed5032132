//! The oracle: what must hold between Stripe (the ground truth about money) and our records,
//! computed from first principles. Each violation is one readable line, tagged with the
//! invariant it breaks (`[1]` .. `[7]`); all of them are reported, not just the first.
//!
//! 1. Per payment: captured in Stripe − refunded in Stripe = our net; at most one succeeded
//!    PaymentIntent per payment id.
//! 2. Access exists exactly for course items paid and not refunded; a buyer is never charged
//!    twice for one course (two payments for it both still paid); a course's rating counts
//!    only reviews by buyers who still have access.
//! 3. Each instructor's earned − reversed = Σ over paid items of the documented share rule.
//! 4. Paid out never exceeds earned net or available; every Stripe transfer is recorded by us.
//! 5. No live Stripe subscription without our record; each record agrees with the subscription
//!    it follows (status, cancel at period end); our own cancel reads back at once.
//! 6. Receipt numbers unique and gap-free per year, one per fulfilled payment.
//! 7. Plumbing: order answers name the ordered courses, no Stripe event dead-lettered.

use super::snapshot::{PaymentRecord, Snapshot};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The product rules the oracle encodes, in one place, so they can follow the lead's choices.
pub mod policy {
    /// The instructor's percentage of an item's cash (README "Money rules").
    pub const INSTRUCTOR_SHARE_PERCENT: i64 = 70;

    /// Buyers may refund only in full; partial refunds are admin-only (issue 10, #2). A buyer's
    /// partial refund answered 201 is a violation while this is `false`.
    pub const BUYER_PARTIAL_REFUNDS: bool = false;

    /// floor(70 % × amount), for amounts ≥ 0.
    pub fn share(amount: i64) -> i64 {
        amount.max(0) * INSTRUCTOR_SHARE_PERCENT / 100
    }

    /// The cash actually received for each item of an order that was charged `charged` for
    /// items listed at `list_prices`. Without a discount this is the list price of each item.
    ///
    /// Vouchers (issue 10, #9; the lead's choice): the instructor earns 70 % of the cash actually
    /// received for the item, never of a list price the buyer did not pay. The charge is spread
    /// over the items in proportion to their list prices (floor), and the cents left over go one
    /// each to the first items, so the parts add up to the charge. (The walk only uses vouchers
    /// on single-course orders, where item cash = the charge, so the spreading rule is not
    /// exercised yet.)
    pub fn item_cash(list_prices: &[i64], charged: i64) -> Vec<i64> {
        let list_total: i64 = list_prices.iter().sum();
        if list_total <= 0 || charged >= list_total {
            return list_prices.to_vec();
        }
        let mut parts: Vec<i64> = list_prices
            .iter()
            .map(|p| (i128::from(*p) * i128::from(charged) / i128::from(list_total)) as i64)
            .collect();
        let mut left = charged - parts.iter().sum::<i64>();
        for part in parts.iter_mut() {
            if left == 0 {
                break;
            }
            *part += 1;
            left -= 1;
        }
        parts
    }

    /// Refunds fill the items in order, the first item first (README "Money rules").
    pub fn allocate_refunds(item_cash: &[i64], refunded: i64) -> Vec<i64> {
        let mut left = refunded.max(0);
        item_cash
            .iter()
            .map(|c| {
                let part = left.min(*c);
                left -= part;
                part
            })
            .collect()
    }

    /// What the instructor keeps of an item with `cash` received and `refunded` of it refunded.
    /// README: "after refunds totalling R of an item, floor(70 % × R) has been reversed in
    /// total", so the net is floor(70 % × cash) − floor(70 % × R). (That can be one cent more
    /// than floor(70 % × (cash − R)) after a partial refund; a full refund leaves exactly 0.)
    pub fn instructor_net(cash: i64, refunded: i64) -> i64 {
        share(cash) - share(refunded.min(cash))
    }

    /// An item grants access while its refunds do not cover its cash (a fully refunded order
    /// grants nothing). A lost dispute counts like a refund of what it took (README "Disputes").
    pub fn keeps_access(cash: i64, refunded: i64) -> bool {
        refunded < cash
    }

    /// A review counts in the course's rating while its author has access to the course
    /// (issue 10, #12: reviews must not survive a full refund).
    pub const REVIEWS_NEED_ACCESS: bool = true;

    /// Stripe subscription statuses that can still bill the customer (`incomplete` ones cannot
    /// renew and expire on their own).
    pub const LIVE_SUBSCRIPTION: &[&str] = &["active", "trialing", "past_due", "unpaid"];
}

/// Facts the walk learned from the API's answers (not from the table).
#[derive(Debug, Clone, Default)]
pub struct WalkFacts {
    /// Every 201 answer to an order.
    pub orders: Vec<OrderAnswer>,
    /// Messages in the Stripe-events dead-letter queue after settling.
    pub dead_letters: i64,
    /// PaymentIntents created straight at Stripe by a buyer, naming one of our payments in
    /// their metadata (issue 10, #3). Not ours: their money never pays for that payment.
    pub forged_intents: BTreeSet<String>,
    /// Disputes the walk opened and closed: dispute id → (payment id, disputed amount, lost).
    pub disputes: BTreeMap<String, (String, i64, bool)>,
}

#[derive(Debug, Clone)]
pub struct OrderAnswer {
    pub route: String,
    pub key: String,
    pub buyer: String,
    pub courses: Vec<String>,
    pub payment_id: String,
}

/// Stripe's view of one of our payment ids.
#[derive(Debug, Clone, Default)]
struct Truth {
    captured: i64,
    refunded: i64,
    succeeded_intents: Vec<String>,
    intents: Vec<String>,
}

fn metadata_payment(pi: &Value) -> Option<&str> {
    pi.pointer("/metadata/paymentId").and_then(Value::as_str)
}

fn i(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

fn st<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Per item of a payment: (cash, refunded part) as Stripe's money says.
struct ItemTruth<'a> {
    payment: &'a PaymentRecord,
    course_id: &'a str,
    instructor_id: &'a str,
    cash: i64,
    refunded: i64,
}

pub fn check(snap: &Snapshot, facts: &WalkFacts) -> Vec<String> {
    let mut v: Vec<String> = snap.unreadable.iter().map(|u| format!("[0] unreadable record {u}")).collect();

    // ---- Stripe's truth per payment id ----
    let mut truth: BTreeMap<String, Truth> = BTreeMap::new();
    let mut intent_payment: BTreeMap<String, String> = BTreeMap::new();
    for pi in &snap.stripe.payment_intents {
        let Some(pid) = metadata_payment(pi) else { continue }; // subscription invoices
        if facts.forged_intents.contains(st(pi, "id")) {
            continue;
        }
        let t = truth.entry(pid.to_string()).or_default();
        t.intents.push(st(pi, "id").to_string());
        intent_payment.insert(st(pi, "id").to_string(), pid.to_string());
        if st(pi, "status") == "succeeded" {
            t.captured += i(pi, "amount_received");
            t.succeeded_intents.push(st(pi, "id").to_string());
        }
    }
    for r in &snap.stripe.refunds {
        if st(r, "status") != "succeeded" {
            continue;
        }
        if let Some(pid) = intent_payment.get(st(r, "payment_intent")) {
            truth.entry(pid.clone()).or_default().refunded += i(r, "amount");
        }
    }
    // Lost disputes: the card network took the money back. The sandbox has no disputes, so what
    // each took is read from our record of it, checked against what the walk disputed: a lost
    // full dispute leaves nothing of the payment, a won one leaves no record.
    for (dispute_id, (pid, disputed, lost)) in &facts.disputes {
        let record = snap.refunds.iter().find(|r| &r.refund_id == dispute_id && r.status == "succeeded");
        match (lost, record) {
            (false, Some(r)) => v.push(format!("[1] won dispute {dispute_id} of payment {pid} took {}", r.amount)),
            (true, Some(r)) if r.amount > *disputed => {
                v.push(format!("[1] lost dispute {dispute_id} of payment {pid} took {} of {disputed}", r.amount))
            }
            (true, Some(r)) => truth.entry(pid.clone()).or_default().refunded += r.amount,
            _ => {}
        }
        if *lost && snap.payments.get(pid).is_some_and(|p| p.is_paid() && p.refunded < p.amount) {
            v.push(format!("[1] payment {pid} lost dispute {dispute_id} in full, yet keeps money of ours"));
        }
    }

    // ---- 1. money per payment ----
    for (pid, t) in &truth {
        if !snap.payments.contains_key(pid) {
            v.push(format!(
                "[1] Stripe PaymentIntents {:?} name payment {pid}, which we have no record of (captured {})",
                t.intents, t.captured
            ));
        }
    }
    let mut refund_sums: BTreeMap<&str, i64> = BTreeMap::new();
    for r in snap.refunds.iter().filter(|r| r.status == "succeeded") {
        *refund_sums.entry(r.payment_id.as_str()).or_default() += r.amount;
    }
    for r in snap.refunds.iter().filter(|r| r.status != "succeeded" && r.status != "failed") {
        v.push(format!(
            "[1] refund {} of payment {} ({}) is still {} after settling: its amount stays reserved",
            r.refund_id, r.payment_id, r.amount, r.status
        ));
    }
    for p in snap.payments.values() {
        let t = truth.get(&p.id).cloned().unwrap_or_default();
        if t.succeeded_intents.len() > 1 {
            v.push(format!(
                "[1] payment {} was charged {} times: succeeded PaymentIntents {:?} (captured {} for an order of {})",
                p.id,
                t.succeeded_intents.len(),
                t.succeeded_intents,
                t.captured,
                p.amount
            ));
        }
        let stripe_net = t.captured - t.refunded;
        let ours = if p.is_paid() { p.amount - p.refunded } else { 0 };
        if stripe_net != ours {
            v.push(format!(
                "[1] payment {} ({}, amount {}, refundedAmount {}): Stripe captured {} − refunded {} = {}, we record a net of {}",
                p.id, p.status, p.amount, p.refunded, t.captured, t.refunded, stripe_net, ours
            ));
        }
        let recorded = refund_sums.get(p.id.as_str()).copied().unwrap_or(0);
        if recorded != p.refunded {
            v.push(format!(
                "[1] payment {}: its succeeded refund records add up to {}, refundedAmount is {}",
                p.id, recorded, p.refunded
            ));
        }
    }

    // ---- per item, from Stripe's money ----
    let mut items: Vec<ItemTruth<'_>> = Vec::new();
    for p in snap.payments.values() {
        let t = truth.get(&p.id).cloned().unwrap_or_default();
        if t.captured <= 0 {
            continue;
        }
        let paid = t.captured.min(p.amount);
        let prices: Vec<i64> = p.items.iter().map(|it| it.price).collect();
        let cash = policy::item_cash(&prices, paid);
        let refunded = policy::allocate_refunds(&cash, t.refunded.min(paid));
        for ((it, c), r) in p.items.iter().zip(cash).zip(refunded) {
            items.push(ItemTruth {
                payment: p,
                course_id: &it.course_id,
                instructor_id: &it.instructor_id,
                cash: c,
                refunded: r,
            });
        }
    }

    // ---- 2. access ----
    let mut expected: BTreeMap<(&str, &str), Vec<&ItemTruth<'_>>> = BTreeMap::new();
    for it in items.iter().filter(|it| policy::keeps_access(it.cash, it.refunded)) {
        expected.entry((it.payment.user_id.as_str(), it.course_id)).or_default().push(it);
    }
    let mut actual: BTreeMap<(&str, &str), Option<&str>> = BTreeMap::new();
    for e in &snap.enrollments {
        actual.insert((e.user_id.as_str(), e.course_id.as_str()), e.payment_id.as_deref());
    }
    for ((user, course), paid_by) in &expected {
        if !actual.contains_key(&(*user, *course)) {
            let it = paid_by[0];
            v.push(format!(
                "[2] buyer {user} paid for course {course} (payment {} {}, item cash {}, refunded {}) but has no access",
                it.payment.id, it.payment.status, it.cash, it.refunded
            ));
        }
        if paid_by.len() > 1 {
            let ids: Vec<&str> = paid_by.iter().map(|it| it.payment.id.as_str()).collect();
            v.push(format!(
                "[2] buyer {user} is charged for course {course} by {} payments that are all still paid: {ids:?}",
                ids.len()
            ));
        }
    }
    for ((user, course), granted_by) in &actual {
        if expected.contains_key(&(*user, *course)) {
            continue;
        }
        let why = match granted_by.and_then(|pid| snap.payments.get(pid)) {
            Some(p) => {
                let t = truth.get(&p.id).cloned().unwrap_or_default();
                format!(
                    "granted by payment {} ({}, amount {}, refundedAmount {}; Stripe captured {}, refunded {})",
                    p.id, p.status, p.amount, p.refunded, t.captured, t.refunded
                )
            }
            None => format!("granted by {granted_by:?}, no such payment"),
        };
        v.push(format!("[2] buyer {user} has access to course {course} without a paid, unrefunded item: {why}"));
    }

    if policy::REVIEWS_NEED_ACCESS {
        let mut want: BTreeMap<&str, (i64, i64, Vec<&str>)> = BTreeMap::new();
        for (course, user, rating) in &snap.reviews {
            let entry = want.entry(course.as_str()).or_default();
            if expected.contains_key(&(user.as_str(), course.as_str())) {
                entry.0 += 1;
                entry.1 += rating;
            } else {
                entry.2.push(user.as_str());
            }
        }
        for (course, (count, sum, without_access)) in &want {
            let (have_count, have_sum) = snap.course_ratings.get(*course).copied().unwrap_or((0, 0));
            if (have_count, have_sum) != (*count, *sum) {
                v.push(format!(
                    "[2] course {course}: the rating counts {have_count} reviews (sum {have_sum}), expected {count} (sum {sum}) \
                     from reviewers who still have access; reviewers without access: {without_access:?}"
                ));
            }
        }
    }

    // ---- 3. instructors' earnings ----
    let mut expected_item: BTreeMap<(&str, &str, &str), (i64, i64, i64)> = BTreeMap::new();
    let mut expected_net: BTreeMap<&str, i64> = BTreeMap::new();
    for it in &items {
        let net = policy::instructor_net(it.cash, it.refunded);
        expected_item.insert((it.instructor_id, it.payment.id.as_str(), it.course_id), (net, it.cash, it.refunded));
        *expected_net.entry(it.instructor_id).or_default() += net;
    }
    let mut ledger_item: BTreeMap<(&str, &str, &str), i64> = BTreeMap::new();
    let mut ledger_net: BTreeMap<&str, i64> = BTreeMap::new();
    for e in snap.earnings.iter().filter(|e| e.kind == "sale" || e.kind == "refund") {
        let (Some(pid), Some(course)) = (e.payment_id.as_deref(), e.course_id.as_deref()) else {
            v.push(format!("[3] {} ledger entry {} names no payment or course", e.instructor_id, e.sk));
            continue;
        };
        *ledger_item.entry((e.instructor_id.as_str(), pid, course)).or_default() += e.amount;
        *ledger_net.entry(e.instructor_id.as_str()).or_default() += e.amount;
    }
    let keys: BTreeSet<(&str, &str, &str)> = expected_item.keys().chain(ledger_item.keys()).copied().collect();
    for key @ (instructor, pid, course) in keys {
        let (want, cash, refunded) = expected_item.get(&key).copied().unwrap_or((0, 0, 0));
        let got = ledger_item.get(&key).copied().unwrap_or(0);
        if want != got {
            let status = snap.payments.get(pid).map(|p| p.status.as_str()).unwrap_or("no record");
            v.push(format!(
                "[3] instructor {instructor}, payment {pid} ({status}), course {course}: the ledger nets {got}, expected {want} \
                 (floor(70% of cash {cash}) − floor(70% of refunded {refunded}))"
            ));
        }
    }
    let mut instructors: BTreeSet<&str> = expected_net.keys().copied().collect();
    instructors.extend(snap.balances.iter().map(|b| b.instructor_id.as_str()));
    instructors.extend(snap.payout_accounts.keys().map(String::as_str));
    for instructor in &instructors {
        let want = expected_net.get(instructor).copied().unwrap_or(0);
        let balance = snap.balances.iter().find(|b| b.instructor_id == *instructor).cloned().unwrap_or_default();
        let earned = balance.lifetime - balance.reversed;
        if earned != want {
            v.push(format!(
                "[3] instructor {instructor}: earned {} − reversed {} = {earned}, expected {want} from the paid items",
                balance.lifetime, balance.reversed
            ));
        }
        let ledger = ledger_net.get(instructor).copied().unwrap_or(0);
        if ledger != earned {
            v.push(format!(
                "[3] instructor {instructor}: sale and refund entries add up to {ledger}, the balance says {earned}"
            ));
        }
    }

    // ---- 4. payouts ----
    let recorded: BTreeSet<&str> = snap.payouts.iter().map(|p| p.transfer_id.as_str()).collect();
    let stripe_transfers: BTreeSet<&str> = snap.stripe.transfers.iter().map(|t| st(t, "id")).collect();
    for t in &snap.stripe.transfers {
        if !recorded.contains(st(t, "id")) {
            v.push(format!(
                "[4] Stripe transfer {} ({} to {}, group {}) is not recorded by us",
                st(t, "id"),
                i(t, "amount"),
                st(t, "destination"),
                st(t, "transfer_group")
            ));
        }
    }
    for p in &snap.payouts {
        if !stripe_transfers.contains(p.transfer_id.as_str()) {
            v.push(format!(
                "[4] payout {} of {} records transfer {:?}, which Stripe does not have",
                p.sk, p.instructor_id, p.transfer_id
            ));
        }
    }
    let account_owner: BTreeMap<&str, &str> =
        snap.payout_accounts.iter().map(|(i, a)| (a.as_str(), i.as_str())).collect();
    let mut transferred: BTreeMap<&str, i64> = BTreeMap::new();
    for t in &snap.stripe.transfers {
        match account_owner.get(st(t, "destination")) {
            Some(owner) => *transferred.entry(owner).or_default() += i(t, "amount") - i(t, "amount_reversed"),
            None => v.push(format!("[4] Stripe transfer {} goes to an account no instructor owns", st(t, "id"))),
        }
    }
    for instructor in &instructors {
        let net_paid = transferred.get(instructor).copied().unwrap_or(0);
        let earned = expected_net.get(instructor).copied().unwrap_or(0);
        let b = snap.balances.iter().find(|b| b.instructor_id == *instructor).cloned().unwrap_or_default();
        if net_paid != b.paid_out {
            v.push(format!(
                "[4] instructor {instructor}: Stripe transfers net of reversals {net_paid}, we record paidOut {}",
                b.paid_out
            ));
        }
        if net_paid > earned {
            v.push(format!("[4] instructor {instructor}: paid out {net_paid} exceeds the earned net {earned}"));
        }
        // Connected accounts keep what they were sent in this test, so every reversal after a
        // payout can be taken back: no balance should be carried negative.
        if b.available < 0 || b.pending < 0 {
            v.push(format!(
                "[4] instructor {instructor}: negative balance (pending {}, available {})",
                b.pending, b.available
            ));
        }
        if b.pending + b.available + b.paid_out != b.lifetime - b.reversed {
            v.push(format!(
                "[4] instructor {instructor}: pending {} + available {} + paidOut {} ≠ earned {} − reversed {}",
                b.pending, b.available, b.paid_out, b.lifetime, b.reversed
            ));
        }
    }

    // ---- 5. subscriptions ----
    let ours: BTreeSet<&str> = snap.subscriptions.iter().filter_map(|s| s.stripe_subscription_id.as_deref()).collect();
    // Settled, each record says what Stripe says of the subscription it follows.
    let theirs: BTreeMap<&str, &Value> = snap.stripe.subscriptions.iter().map(|s| (st(s, "id"), s)).collect();
    for record in &snap.subscriptions {
        let Some(stripe) = record.stripe_subscription_id.as_deref().and_then(|id| theirs.get(id)) else { continue };
        let status = azora_api::subscriptions::status_from_stripe(st(stripe, "status"));
        let cancel = stripe["cancel_at_period_end"].as_bool().unwrap_or(false);
        if record.status.as_deref() != Some(status.as_str()) || record.cancel_at_period_end != cancel {
            v.push(format!(
                "[5] {}'s subscription {}: ours {:?} cancelAtPeriodEnd {}, Stripe {} cancel_at_period_end {cancel}",
                record.user_id,
                st(stripe, "id"),
                record.status,
                record.cancel_at_period_end,
                st(stripe, "status")
            ));
        }
    }
    for s in &snap.stripe.subscriptions {
        if policy::LIVE_SUBSCRIPTION.contains(&st(s, "status")) && !ours.contains(st(s, "id")) {
            v.push(format!(
                "[5] live Stripe subscription {} ({}, customer {}) has no record of ours",
                st(s, "id"),
                st(s, "status"),
                st(s, "customer")
            ));
        }
    }

    // ---- 6. receipts ----
    let mut by_year: BTreeMap<String, Vec<(u64, &str, &str)>> = BTreeMap::new();
    for (number, pid) in &snap.receipts {
        let parsed = number.strip_prefix("R-").and_then(|r| r.split_once('-'));
        match parsed.and_then(|(y, seq)| seq.parse::<u64>().ok().map(|n| (y, n))) {
            Some((year, seq)) => by_year.entry(year.to_string()).or_default().push((seq, number, pid)),
            None => v.push(format!("[6] receipt number {number:?} is not R-<year>-<sequence>")),
        }
    }
    let years: BTreeSet<&String> = by_year.keys().chain(snap.receipt_counters.keys()).collect();
    for year in years {
        let counter = snap.receipt_counters.get(year).copied().unwrap_or(0);
        let mut seqs: Vec<u64> = by_year.get(year).map(|r| r.iter().map(|(s, _, _)| *s).collect()).unwrap_or_default();
        seqs.sort_unstable();
        let want: Vec<u64> = (1..=counter.max(0) as u64).collect();
        if seqs != want {
            let have: BTreeSet<u64> = seqs.iter().copied().collect();
            let missing: Vec<u64> = want.iter().filter(|n| !have.contains(n)).copied().collect();
            let extra: Vec<u64> = seqs.iter().filter(|n| **n == 0 || **n > counter as u64).copied().collect();
            v.push(format!(
                "[6] receipts of {year}: counter {counter}, {} receipt items; missing {missing:?}, beyond the counter {extra:?}",
                seqs.len()
            ));
        }
    }
    let mut numbers_of_payments: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in snap.payments.values() {
        if let Some(n) = &p.receipt_number {
            numbers_of_payments.entry(n.as_str()).or_default().push(p.id.as_str());
        }
    }
    for (number, payments) in &numbers_of_payments {
        if payments.len() > 1 {
            v.push(format!("[6] receipt number {number} is on {} payments: {payments:?}", payments.len()));
        }
        if !snap.receipts.iter().any(|(n, _)| n == number) {
            v.push(format!("[6] receipt number {number} of payment {} has no receipt item", payments[0]));
        }
    }
    for (number, pid) in &snap.receipts {
        match snap.payments.get(pid) {
            None => v.push(format!("[6] receipt {number} names payment {pid}, which does not exist")),
            Some(p) if p.receipt_number.as_deref() != Some(number.as_str()) => v.push(format!(
                "[6] receipt {number} names payment {pid}, whose receipt number is {:?}",
                p.receipt_number
            )),
            Some(p) if truth.get(&p.id).is_none_or(|t| t.captured <= 0) => {
                v.push(format!("[6] receipt {number} was issued for payment {pid}, on which Stripe captured nothing"))
            }
            Some(_) => {}
        }
    }

    // ---- 8. business reports: the month aggregates add up to what the records say ----
    // Sales are counted when fulfilled (gross, the instructors' floor(70 %) per item cash, the
    // platform's rest); refunds and lost disputes as the payments' refunded totals; payouts as the
    // payouts paid.
    let mut want: BTreeMap<(String, &str), i64> = BTreeMap::new();
    for p in snap.payments.values() {
        let cur = p.currency.clone();
        if p.fulfilled {
            let prices: Vec<i64> = p.items.iter().map(|it| it.price).collect();
            let instructor: i64 = policy::item_cash(&prices, p.amount).into_iter().map(policy::share).sum();
            *want.entry((cur.clone(), "revenueGross")).or_default() += p.amount;
            *want.entry((cur.clone(), "revenueInstructor")).or_default() += instructor;
            *want.entry((cur.clone(), "revenuePlatform")).or_default() += p.amount - instructor;
        }
        *want.entry((cur, "refundsAndDisputesLost")).or_default() += p.refunded;
    }
    for payout in snap.payouts.iter().filter(|p| !p.transfer_id.is_empty()) {
        let currency = payout.sk.rsplit('#').next().unwrap_or_default().to_string();
        *want.entry((currency, "payoutsAmount")).or_default() += payout.amount;
    }
    let got = |cur: &str, name: &str| snap.report_totals.get(cur).and_then(|c| c.get(name)).copied().unwrap_or(0);
    let mut currencies: Vec<&String> = snap.report_totals.keys().collect();
    currencies.extend(want.keys().map(|(c, _)| c));
    currencies.sort();
    currencies.dedup();
    for cur in currencies {
        let mut have = BTreeMap::new();
        for name in ["revenueGross", "revenueInstructor", "revenuePlatform", "payoutsAmount"] {
            have.insert(name, got(cur, name));
        }
        have.insert("refundsAndDisputesLost", got(cur, "refundsAmount") + got(cur, "disputesLostAmount"));
        for (name, value) in have {
            let expected = want.get(&(cur.clone(), name)).copied().unwrap_or(0);
            if value != expected {
                v.push(format!("[8] report {name} in {cur} sums to {value}, the records to {expected}"));
            }
        }
    }

    // ---- 7. plumbing ----
    for o in &facts.orders {
        match snap.payments.get(&o.payment_id) {
            None => v.push(format!(
                "[7] {} (key {}) answered 201 with payment {}, which does not exist",
                o.route, o.key, o.payment_id
            )),
            Some(p) => {
                let mut have: Vec<&str> = p.items.iter().map(|it| it.course_id.as_str()).collect();
                let mut want: Vec<&str> = o.courses.iter().map(String::as_str).collect();
                have.sort_unstable();
                want.sort_unstable();
                if have != want || p.user_id != o.buyer {
                    v.push(format!(
                        "[7] {} (key {}) for courses {want:?} answered 201 with payment {} of {} for courses {have:?}",
                        o.route, o.key, p.id, p.user_id
                    ));
                }
            }
        }
    }
    if facts.dead_letters > 0 {
        v.push(format!(
            "[7] {} Stripe event(s) ended in the dead-letter queue: their effects are lost",
            facts.dead_letters
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::policy::*;
    use super::{WalkFacts, check};
    use crate::invariants::snapshot::*;
    use serde_json::json;

    /// A consistent world: a two-course order (1000 + 3000) of which the first course was
    /// refunded in full by an admin, paid out in part; then single defects, each reported.
    fn consistent() -> Snapshot {
        let item = |course: &str, price| ItemRecord { course_id: course.into(), instructor_id: "t1".into(), price };
        let mut s = Snapshot::default();
        s.payments.insert(
            "pay_1".into(),
            PaymentRecord {
                id: "pay_1".into(),
                user_id: "b1".into(),
                status: "partially_refunded".into(),
                amount: 4000,
                currency: "USD".into(),
                refunded: 1000,
                items: vec![item("c1", 1000), item("c2", 3000)],
                receipt_number: Some("R-2026-000001".into()),
                fulfilled: true,
                payment_intent: Some("pi_1".into()),
            },
        );
        s.refunds.push(RefundRecord {
            payment_id: "pay_1".into(),
            refund_id: "ref_1".into(),
            amount: 1000,
            status: "succeeded".into(),
        });
        s.enrollments.push(EnrollmentRecord {
            user_id: "b1".into(),
            course_id: "c2".into(),
            payment_id: Some("pay_1".into()),
        });
        let entry = |kind: &str, course: &str, amount| EarningRecord {
            instructor_id: "t1".into(),
            sk: format!("EARNING#{kind}#{course}"),
            kind: kind.into(),
            amount,
            currency: "USD".into(),
            payment_id: Some("pay_1".into()),
            course_id: Some(course.into()),
            released: true,
        };
        s.earnings = vec![entry("sale", "c1", 700), entry("refund", "c1", -700), entry("sale", "c2", 2100)];
        s.balances.push(BalanceRecord {
            instructor_id: "t1".into(),
            currency: "USD".into(),
            pending: 0,
            available: 1100,
            paid_out: 1000,
            reversed: 700,
            lifetime: 2800,
        });
        s.payouts.push(PayoutRecord {
            instructor_id: "t1".into(),
            sk: "PAYOUT#r1#USD".into(),
            transfer_id: "tr_1".into(),
            amount: 1000,
        });
        s.payout_accounts.insert("t1".into(), "acct_1".into());
        s.receipt_counters.insert("2026".into(), 1);
        s.receipts.push(("R-2026-000001".into(), "pay_1".into()));
        s.stripe.payment_intents.push(json!({
            "id": "pi_1", "status": "succeeded", "amount_received": 4000, "metadata": { "paymentId": "pay_1" }
        }));
        s.stripe.refunds.push(json!({ "id": "re_1", "status": "succeeded", "amount": 1000, "payment_intent": "pi_1" }));
        s.stripe.transfers.push(json!({ "id": "tr_1", "amount": 1000, "amount_reversed": 0, "destination": "acct_1" }));
        // The business report's month totals, summed: the sale (4000: 2800 to the instructor), the
        // refund and the payout.
        let totals = [
            ("revenueGross", 4000),
            ("revenueInstructor", 2800),
            ("revenuePlatform", 1200),
            ("refundsAmount", 1000),
            ("payoutsAmount", 1000),
        ];
        s.report_totals.insert("USD".into(), totals.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        s
    }

    #[test]
    fn a_consistent_world_has_no_violations_and_each_defect_is_reported() {
        let facts = WalkFacts::default();
        assert_eq!(check(&consistent(), &facts), Vec::<String>::new());

        let mut s = consistent();
        s.enrollments.push(EnrollmentRecord {
            user_id: "b1".into(),
            course_id: "c1".into(),
            payment_id: Some("pay_1".into()),
        });
        let v = check(&s, &facts);
        assert!(v.len() == 1 && v[0].starts_with("[2] buyer b1 has access to course c1"), "{v:?}");

        let mut s = consistent();
        s.earnings.retain(|e| e.kind != "refund");
        s.balances[0].reversed = 0;
        s.balances[0].available += 700;
        let v = check(&s, &facts);
        assert!(v.iter().any(|l| l.starts_with("[3] instructor t1, payment pay_1")), "{v:?}");

        let mut s = consistent();
        s.stripe.payment_intents.push(json!({
            "id": "pi_2", "status": "succeeded", "amount_received": 4000, "metadata": { "paymentId": "pay_1" }
        }));
        let v = check(&s, &facts);
        assert!(v.iter().any(|l| l.contains("charged 2 times")), "{v:?}");

        let mut s = consistent();
        s.stripe.transfers.push(json!({ "id": "tr_2", "amount": 500, "amount_reversed": 0, "destination": "acct_1" }));
        let v = check(&s, &facts);
        assert!(v.iter().any(|l| l.contains("tr_2") && l.contains("not recorded")), "{v:?}");

        let mut s = consistent();
        s.report_totals.get_mut("USD").unwrap().insert("refundsAmount".into(), 2000);
        let v = check(&s, &facts);
        assert!(
            v.len() == 1 && v[0] == "[8] report refundsAndDisputesLost in USD sums to 2000, the records to 1000",
            "{v:?}"
        );

        let mut s = consistent();
        s.receipt_counters.insert("2026".into(), 2);
        let v = check(&s, &facts);
        assert!(v.iter().any(|l| l.starts_with("[6] receipts of 2026") && l.contains("missing [2]")), "{v:?}");
    }

    #[test]
    fn policy_arithmetic() {
        assert_eq!(share(1999), 1399);
        assert_eq!(instructor_net(1999, 1000), 1399 - 700);
        assert_eq!(instructor_net(1999, 1999), 0);
        assert_eq!(item_cash(&[1000, 3000], 4000), vec![1000, 3000]);
        assert_eq!(item_cash(&[1000, 3000], 3500), vec![875, 2625]);
        assert_eq!(item_cash(&[1, 1, 1], 2), vec![1, 1, 0]);
        assert_eq!(allocate_refunds(&[1000, 3000], 1500), vec![1000, 500]);
        assert!(!keeps_access(1000, 1000) && keeps_access(1000, 999));
    }
}
