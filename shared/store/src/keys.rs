//! The single-table key design. Every item has `PK` and `SK`; some also `GSI1PK`/`GSI1SK`.
//! `expiresAt` (epoch seconds) is the TTL attribute.
//!
//! | entity                | PK                          | SK                     | GSI1PK / GSI1SK              | access pattern                         |
//! |-----------------------|-----------------------------|------------------------|------------------------------|----------------------------------------|
//! | subscription          | `USER#<userId>`             | `SUBSCRIPTION`         |                              | a user's current plan (GetItem)        |
//! | subscription slot claim | `USER#<userId>`           | `SUBSCRIPTION_CLAIM`   | `SUBSCRIPTION_CLAIMS` / `<userId>` | one create talks to Stripe at a time (lease, TTL); billing cycle settles crashed ones |
//! | claim (idempotency)   | `CLAIM#<scope>#<key>`       | `CLAIM`                |                              | one request / email per key (GetItem)  |
//! | audit entry           | `AUDIT#<yyyy-mm>`           | `<rfc3339>#<id>`       |                              | admin lists a month, newest first      |
//! | course (sale view)    | `COURSE#<courseId>`         | `COURSE`               |                              | price a course (BatchGetItem)          |
//! | enrollment            | `USER#<userId>`             | `ENROLLMENT#<courseId>`|                              | does the user own a course             |
//! | Stripe customer       | `USER#<userId>`             | `STRIPE_CUSTOMER`      |                              | one Stripe customer per user           |
//! | payment               | `PAYMENT#<paymentId>`       | `PAYMENT`              | `USER#<id>#PAYMENTS` / `<createdAt>#<paymentId>` | get; a user's history newest first |
//! | refund                | `PAYMENT#<paymentId>`       | `REFUND#<refundId>`    |                              | a payment's refunds                    |
//! | PaymentIntent link    | `STRIPE_PI#<pi>`            | `LINK`                 |                              | webhook → our payment                  |
//! | webhook event seen    | `STRIPE_EVENT#<evt>`        | `EVENT`                |                              | dedupe deliveries (TTL 30 days)        |
//! | receipt counter       | `COUNTER#RECEIPT#<year>`    | `COUNTER`              |                              | gap-free receipt numbers               |
//! | receipt number        | `RECEIPT#<number>`          | `RECEIPT`              |                              | a number is used once                  |
//! | license               | `LICENSE#<licenseId>`       | `LICENSE`              | `LICENSE_EXPIRY#<yyyy-mm>` / `<expiry>#<licenseId>` while active or suspended | get; billing cycle pages licenses by expiry month |
//! | seat                  | `LICENSE#<licenseId>`       | `SEAT#<userId>`        |                              | one seat per member; list a license's seats |
//! | member's seat         | `USER#<userId>`             | `SEAT#<licenseId>`     |                              | a user's seats (Query, begins_with)    |
//! | usage month           | `ORG#<orgId>`               | `USAGE#<yyyy-mm>`      |                              | an org's usage by month (Query, between) |
//! | usage event counted   | `ORG#<orgId>`               | `USAGE_EVENT#<eventId>`|                              | count each event once                  |
//! | active learner mark   | `ORG#<orgId>`               | `USAGE_ACTIVE#<yyyy-mm>#<userId>` |                   | distinct active learners per month     |
//! | custom domain         | `DOMAIN#<hostname>`         | `WHITE_LABEL`          |                              | white-label theme by domain; one license per domain |
//! | enterprise quote      | `ENT_QUOTE#<quoteId>`       | `ENT_QUOTE`            | `ENT_QUOTES#<owner>` / `<createdAt>#<quoteId>` | self-serve seat quotes; an owner's quotes newest first |
//! | pending domain claim  | `LICENSE#<licenseId>`       | `WHITE_LABEL_CLAIM`    |                              | a claimed, not yet verified white-label domain and its DNS token |
//! | support ticket        | `TICKET#<ticketId>`         | `TICKET`               | `ORG#<orgId>#TICKETS` / `<createdAt>#<ticketId>` | get; an org's tickets newest first |
//! | ticket reply          | `TICKET#<ticketId>`         | `REPLY#<at>#<replyId>` |                              | a ticket's conversation in order       |
//! | support queue entry   | `SUPPORTQUEUE`              | `<createdAt>#<ticketId>` |                            | tickets waiting for support, oldest first |
//! | rate-limit window     | `RATE#<scope>#<caller>#<windowStart>` | `RATE`       |                              | fixed-window request counter (TTL)     |
//! | job run checkpoint    | `JOBRUN#<job>#<runId>`      | `RUN`                  |                              | steps done, cursors, totals, lease (TTL) |
//! | report month totals   | `REPORT#<yyyy-mm>`          | `TOTALS#<CUR>`         |                              | business report of a month (BatchGetItem by key) |
//! | running MRR           | `REPORT#MRR`                | `<CUR>`                |                              | MRR now per currency (BatchGetItem)    |
//! | report event counted  | `REPORT_EVENT#<key>`        | `REPORT_EVENT`         |                              | count an invoice attempt / dispute once |
//!
//! Renewal notices are claims (`CLAIM#license-notice#<licenseId>:<expiry>:<days>`), one per
//! license, expiry and threshold.

//! | course                | `COURSE#<courseId>`         | `COURSE`               | `INSTRUCTOR#<id>#COURSES` / sortable createdAt | an instructor's courses |
//! | course in catalog     | (same item, published only) |                        | `CatalogPK`=`CATALOG` with `SortNewest`/`SortPopular`/`SortRating`/`SortPrice` (N) on four indexes | public listing per sort order |
//! | review                | `COURSE#<courseId>`         | `REVIEW#<userId>`      | `COURSE#<id>#REVIEWS` / sortable updatedAt | one per student; newest first |
//! | earnings entry        | `INSTRUCTOR#<id>`           | `EARNING#<ts>#<ref>`   |                              | an instructor's ledger, newest first   |
//! | earnings balance      | `INSTRUCTOR#<id>`           | `BALANCE#<CUR>`        | `INSTRUCTOR_BALANCES` / `<id>#<CUR>` | totals; the payout job's instructors; the instructor's months in the business reports (`report#<yyyy-mm>#<counter>` attributes) |
//! | payout                | `INSTRUCTOR#<id>`           | `PAYOUT#<run>#<CUR>`   |                              | one per instructor, currency and run; pending ones (Query, begins_with) |

//! Token rewards (see `tokens` and `leaderboard`):
//!
//! | entity                | PK                          | SK                     | index keys                   | access pattern                         |
//! |-----------------------|-----------------------------|------------------------|------------------------------|----------------------------------------|
//! | token account         | `USER#<userId>`             | `TOKENS`               |                              | balance, version, streak (GetItem)     |
//! | ledger entry          | `USER#<userId>`             | `LEDGER#<seq:012>`     |                              | history newest first; never changed    |
//! | ledger source key     | `USER#<userId>`             | `SOURCE#<sourceKey>`   |                              | a source applies once per user, ever   |
//! | voucher               | `USER#<userId>`             | `VOUCHER#<voucherId>`  |                              | the owner's vouchers; used once        |
//! | Pro credit            | `USER#<userId>`             | `PRO_CREDIT`           |                              | Pro features until `until`             |
//! | leaderboard score     | `USER#<userId>`             | `SCORE#<periodId>`     | `LbPK`=`LB#<periodId>#<shard>` / `LbScore` (N) on index `Leaderboard` (keys only) | top N per shard; count ahead |
//! | leaderboard stats     | `LBSTATS#<periodId>`        | `STATS`                |                              | percentile cuts (stats job)            |
//! | profile               | `USER#<userId>`             | `PROFILE`              |                              | display name, privacy, follow count    |
//! | follow                | `USER#<userId>`             | `FOLLOWS#<otherId>`    |                              | whom a user follows                    |
//! | follow request        | `USER#<otherId>`            | `FOLLOWREQ#<userId>`   |                              | who asks to follow a user (incoming)   |
//! | follow request sent   | `USER#<userId>`             | `FOLLOWREQTO#<otherId>`|                              | a user's pending requests (outgoing)   |
//! | class                 | `CLASS#<classId>`           | `CLASS`                |                              | owner and name                         |
//! | class member          | `CLASS#<classId>`           | `MEMBER#<userId>`      |                              | members; is the caller a member        |
//! | class join code       | `CLASSCODE#<code>`          | `CLASSCODE`            |                              | which class a join code opens          |
//! | user's class          | `USER#<userId>`             | `MYCLASS#<classId>`    |                              | the classes a user owns or joined (Query) |

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const TTL: &str = "expiresAt";

pub fn user(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub const SUBSCRIPTION: &str = "SUBSCRIPTION";

pub fn claim(scope: &str, key: &str) -> String {
    format!("CLAIM#{scope}#{key}")
}

pub fn audit_month(month: &str) -> String {
    format!("AUDIT#{month}")
}

pub fn course(course_id: &str) -> String {
    format!("COURSE#{course_id}")
}

pub const COURSE: &str = "COURSE";

pub fn enrollment(course_id: &str) -> String {
    format!("ENROLLMENT#{course_id}")
}

pub const STRIPE_CUSTOMER: &str = "STRIPE_CUSTOMER";

pub fn payment(payment_id: &str) -> String {
    format!("PAYMENT#{payment_id}")
}

pub const PAYMENT: &str = "PAYMENT";

pub fn user_payments(user_id: &str) -> String {
    format!("USER#{user_id}#PAYMENTS")
}

/// Sparse index partitions of refunds whose work is not finished: reserved but not yet
/// confirmed by Stripe, and counted but with effects (ledger, access, email) still to apply.
/// The reconcile job reads them; finishing the work removes the index keys.
pub const REFUNDS_PENDING: &str = "REFUNDS#PENDING";
pub const REFUNDS_EFFECTS_DUE: &str = "REFUNDS#EFFECTS_DUE";

pub fn refund(refund_id: &str) -> String {
    format!("REFUND#{refund_id}")
}

pub fn payment_intent_link(pi: &str) -> String {
    format!("STRIPE_PI#{pi}")
}

pub fn stripe_event(event_id: &str) -> String {
    format!("STRIPE_EVENT#{event_id}")
}

pub fn receipt_counter(year: i16) -> String {
    format!("COUNTER#RECEIPT#{year}")
}

pub fn receipt(number: &str) -> String {
    format!("RECEIPT#{number}")
}

/// A timestamp as a fixed-width string, so that string order is time order in sort keys.
pub fn sortable(t: jiff::Timestamp) -> String {
    format!("{:020}", t.as_nanosecond().max(0))
}

pub fn instructor(instructor_id: &str) -> String {
    format!("INSTRUCTOR#{instructor_id}")
}

pub fn instructor_courses(instructor_id: &str) -> String {
    format!("INSTRUCTOR#{instructor_id}#COURSES")
}

pub fn review(user_id: &str) -> String {
    format!("REVIEW#{user_id}")
}

pub fn course_reviews(course_id: &str) -> String {
    format!("COURSE#{course_id}#REVIEWS")
}

pub fn balance(currency: &str) -> String {
    format!("BALANCE#{currency}")
}

pub const CATALOG: &str = "CATALOG";
pub const CATALOG_PK: &str = "CatalogPK";
pub const INSTRUCTOR_BALANCES: &str = "INSTRUCTOR_BALANCES";

pub fn report_month(month: &str) -> String {
    format!("REPORT#{month}")
}

pub fn report_event(event_key: &str) -> String {
    format!("REPORT_EVENT#{event_key}")
}
pub fn license(license_id: &str) -> String {
    format!("LICENSE#{license_id}")
}

pub const LICENSE: &str = "LICENSE";

/// GSI1 partition of the licenses expiring in a month (`yyyy-mm`).
pub fn job_run(job: &str, run: &str) -> String {
    format!("JOBRUN#{job}#{run}")
}

pub fn license_expiry_month(month: &str) -> String {
    format!("LICENSE_EXPIRY#{month}")
}

pub fn seat(user_id: &str) -> String {
    format!("SEAT#{user_id}")
}

pub const SEAT_PREFIX: &str = "SEAT#";

/// The member-side copy of a seat, under `USER#<userId>`.
pub fn user_seat(license_id: &str) -> String {
    format!("SEAT#{license_id}")
}

pub fn org(org_id: &str) -> String {
    format!("ORG#{org_id}")
}

pub fn usage_month(month: &str) -> String {
    format!("USAGE#{month}")
}

pub fn usage_event(event_id: &str) -> String {
    format!("USAGE_EVENT#{event_id}")
}

pub fn usage_active(month: &str, user_id: &str) -> String {
    format!("USAGE_ACTIVE#{month}#{user_id}")
}

pub fn custom_domain(host: &str) -> String {
    format!("DOMAIN#{host}")
}

pub const WHITE_LABEL: &str = "WHITE_LABEL";
pub const WHITE_LABEL_CLAIM: &str = "WHITE_LABEL_CLAIM";

pub fn enterprise_quote(quote_id: &str) -> String {
    format!("ENT_QUOTE#{quote_id}")
}

pub const ENTERPRISE_QUOTE: &str = "ENT_QUOTE";

/// GSI1 partition of an owner's (`org:<orgId>` or `user:<userId>`) enterprise quotes.
pub fn enterprise_quotes_of(owner: &str) -> String {
    format!("ENT_QUOTES#{owner}")
}

/// The partition of invoiced quotes by due date (`<dueAt>#<quoteId>`), for voiding unpaid ones.
pub const ENTERPRISE_QUOTES_DUE: &str = "ENT_QUOTES_DUE";

pub fn enterprise_quote_due(due_at: jiff::Timestamp, quote_id: &str) -> String {
    format!("{}#{quote_id}", sortable(due_at))
}

pub fn ticket(ticket_id: &str) -> String {
    format!("TICKET#{ticket_id}")
}

/// A reply in a ticket's partition, in the order written.
pub fn ticket_reply(at: jiff::Timestamp, reply_id: &str) -> String {
    format!("REPLY#{at}#{reply_id}")
}

/// The support queue: one item per ticket waiting for support, oldest first.
pub const SUPPORT_QUEUE: &str = "SUPPORTQUEUE";

pub fn support_queue_entry(created_at: jiff::Timestamp, ticket_id: &str) -> String {
    format!("{created_at}#{ticket_id}")
}

pub const TICKET: &str = "TICKET";

pub fn org_tickets(org_id: &str) -> String {
    format!("ORG#{org_id}#TICKETS")
}

pub fn rate_window(scope: &str, caller: &str, window_start: i64) -> String {
    format!("RATE#{scope}#{caller}#{window_start}")
}

pub const TOKENS: &str = "TOKENS";
pub const PRO_CREDIT: &str = "PRO_CREDIT";
pub const PROFILE: &str = "PROFILE";
pub const LEADERBOARD: &str = "Leaderboard";
pub const LB_PK: &str = "LbPK";
pub const LB_SCORE: &str = "LbScore";

pub fn ledger(seq: u64) -> String {
    format!("LEDGER#{seq:012}")
}

pub fn source(source_key: &str) -> String {
    format!("SOURCE#{source_key}")
}

pub fn voucher(voucher_id: &str) -> String {
    format!("VOUCHER#{voucher_id}")
}

pub fn score(period_id: &str) -> String {
    format!("SCORE#{period_id}")
}

pub fn leaderboard_shard(period_id: &str, shard: u32) -> String {
    format!("LB#{period_id}#{shard:02}")
}

pub fn leaderboard_stats(period_id: &str) -> String {
    format!("LBSTATS#{period_id}")
}

pub fn follows(other: &str) -> String {
    format!("FOLLOWS#{other}")
}

/// On the followed user's partition: `requester` asks to follow them.
pub fn follow_request_from(requester: &str) -> String {
    format!("FOLLOWREQ#{requester}")
}

/// On the requester's partition: they asked to follow `other` (their pending requests).
pub fn follow_request_to(other: &str) -> String {
    format!("FOLLOWREQTO#{other}")
}

pub fn class(class_id: &str) -> String {
    format!("CLASS#{class_id}")
}

pub const CLASS: &str = "CLASS";

pub fn class_member(user_id: &str) -> String {
    format!("MEMBER#{user_id}")
}

pub fn class_code(code: &str) -> String {
    format!("CLASSCODE#{code}")
}

pub const CLASS_CODE: &str = "CLASSCODE";

/// A class on its owner's or member's own list (`USER#<userId>`).
pub fn user_class(class_id: &str) -> String {
    format!("MYCLASS#{class_id}")
}
