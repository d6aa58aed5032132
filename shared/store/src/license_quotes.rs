//! Enterprise seat quotes (self-serve purchase): one item per quote, listed by owner through GSI1
//! (`ENT_QUOTES#<owner>`, newest first). A quote's price is fixed when it is written; it is only
//! ever read back, never recomputed.
//!
//! Each move of a quote's status is one conditional write on its current status (and invoice), so
//! a retried or concurrent accept, payment or void applies once. An invoiced quote also has a
//! marker `ENT_QUOTES_DUE` / `<dueAt>#<quoteId>`, written and deleted in the same transactions,
//! through which the billing cycle finds unpaid invoices past due without a scan.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Item, ToItem, from_item, n, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::AttributeValue;
use azora_domain::license_purchase::{Quote, QuoteInvoice, QuoteKind, QuoteStatus, SeatPrice};
use azora_domain::notification::EmailAddress;
use azora_domain::{Money, OrgId};
use jiff::Timestamp;

fn quote_key(quote_id: &str) -> Key {
    key(keys::enterprise_quote(quote_id), keys::ENTERPRISE_QUOTE)
}

impl ToItem for Quote {
    fn to_item(&self) -> Result<Item, StoreError> {
        let p = &self.price;
        let mut item = quote_key(&self.id).item([
            ("quoteId", s(&self.id)),
            ("owner", s(&self.owner)),
            ("requestedBy", s(self.requested_by.as_str())),
            ("orgName", s(&self.org_name)),
            ("contactEmail", s(self.contact_email.as_str())),
            ("seats", n(p.seats)),
            ("termMonths", n(p.term_months)),
            ("unitMonthly", n(p.unit_monthly.amount)),
            ("unitPerTerm", n(p.unit_per_term.amount)),
            ("total", n(p.total.amount)),
            ("currency", s(p.total.currency.code())),
            ("status", s(self.status.as_str())),
            ("createdAt", ts(self.created_at)),
            ("validUntil", ts(self.valid_until)),
            (keys::GSI1PK, s(keys::enterprise_quotes_of(&self.owner))),
            (keys::GSI1SK, s(format!("{}#{}", self.created_at, self.id))),
        ]);
        if let Some(org) = &self.org_id {
            item.insert("orgId".into(), s(org.as_str()));
        }
        if let Some(invoice) = &self.invoice {
            item.extend(invoice_attributes(invoice));
        }
        if let Some(license) = &self.license_id {
            item.insert("licenseId".into(), s(license));
        }
        item.insert("kind".into(), s(self.kind.as_str()));
        if let Some(target) = self.kind.license() {
            item.insert("targetLicenseId".into(), s(target));
        }
        if let QuoteKind::Renewal { expires_at, .. } = &self.kind {
            item.insert("renewsExpiry".into(), ts(*expires_at));
        }
        Ok(item)
    }
}

from_item! { Quote as "enterprise quote", |f| {
    id: f.string("quoteId")?, owner: f.string("owner")?,
    org_id: f.opt("orgId").map(OrgId::parse).transpose().map_err(|_| f.bad("orgId"))?,
    requested_by: f.user("requestedBy")?, org_name: f.string("orgName")?,
    contact_email: f.parse("contactEmail", |v| EmailAddress::parse(v))?,
    kind: match f.opt("kind").as_deref() {
        None | Some("new_license") => QuoteKind::NewLicense,
        Some("add_seats") => QuoteKind::AddSeats { license_id: f.string("targetLicenseId")? },
        Some("renewal") => QuoteKind::Renewal { license_id: f.string("targetLicenseId")?, expires_at: f.ts("renewsExpiry")? },
        Some(_) => return Err(f.bad("kind")),
    },
    price: SeatPrice {
        seats: f.u32("seats")?, term_months: f.u32("termMonths")?,
        unit_monthly: Money::new(f.i64("unitMonthly")?, f.currency("currency")?),
        unit_per_term: Money::new(f.i64("unitPerTerm")?, f.currency("currency")?),
        total: f.money("total", "currency")?,
    },
    status: f.named("status", QuoteStatus::parse)?, created_at: f.ts("createdAt")?, valid_until: f.ts("validUntil")?,
    invoice: match f.opt("invoiceId") {
        None => None,
        Some(invoice_id) => Some(QuoteInvoice {
            invoice_id, customer_id: f.string("stripeCustomerId")?, hosted_url: f.opt("hostedInvoiceUrl"),
            due_at: f.ts("dueAt")?,
        }),
    },
    license_id: f.opt("licenseId"),
} }

fn invoice_attributes(invoice: &QuoteInvoice) -> Vec<(String, AttributeValue)> {
    let mut attrs = vec![
        ("invoiceId".to_string(), s(&invoice.invoice_id)),
        ("stripeCustomerId".to_string(), s(&invoice.customer_id)),
        ("dueAt".to_string(), ts(invoice.due_at)),
    ];
    if let Some(url) = &invoice.hosted_url {
        attrs.push(("hostedInvoiceUrl".to_string(), s(url)));
    }
    attrs
}

fn due_key(due_at: Timestamp, quote_id: &str) -> Key {
    key(keys::ENTERPRISE_QUOTES_DUE, keys::enterprise_quote_due(due_at, quote_id))
}

/// An invoiced quote past due, as the due marker names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuoteDue {
    pub quote_id: String,
    pub invoice_id: String,
}

from_item! { QuoteDue as "quote due marker", |f| { quote_id: f.string("quoteId")?, invoice_id: f.string("invoiceId")? } }

impl Store {
    /// Writes a new quote; `ConditionFailed` when its id exists.
    pub async fn create_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        self.put(quote.to_item()?, Some(Expr::absent())).await
    }

    pub async fn get_quote(&self, quote_id: &str) -> Result<Option<Quote>, StoreError> {
        self.get(&quote_key(quote_id), true).await
    }

    /// `open` → `invoiced` with its invoice, and the due marker. `ConditionFailed` when the quote
    /// is no longer open (accepted meanwhile).
    pub async fn mark_quote_invoiced(&self, quote_id: &str, invoice: &QuoteInvoice) -> Result<(), StoreError> {
        let attributes = invoice_attributes(invoice);
        let set: Vec<String> = (0..attributes.len()).map(|i| format!("#a{i} = :a{i}")).collect();
        let mut expr = Expr::update(format!("SET #status = :invoiced, {}", set.join(", ")))
            .status()
            .value(":invoiced", s(QuoteStatus::Invoiced.as_str()))
            .only_if("attribute_exists(PK) AND #status = :open")
            .value(":open", s(QuoteStatus::Open.as_str()));
        for (i, (name, value)) in attributes.into_iter().enumerate() {
            expr = expr.name(format!("#a{i}"), name).value(format!(":a{i}"), value);
        }
        let marker =
            due_key(invoice.due_at, quote_id).item([("quoteId", s(quote_id)), ("invoiceId", s(&invoice.invoice_id))]);
        match self.transact(vec![self.tx_update(&quote_key(quote_id), expr)?, self.tx_new(marker)?]).await {
            Err(e) if e.failed_condition_at(0) => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// `invoiced` → `paid` (by `invoice_id`) with the license it issued; the due marker goes.
    /// `ConditionFailed` when the quote is not invoiced with that invoice (paid already, voided).
    pub async fn mark_quote_paid(&self, quote: &Quote, license_id: &str, now: Timestamp) -> Result<(), StoreError> {
        self.close_invoiced(quote, Self::paid_update(license_id, now)).await
    }

    /// `invoiced` → `void` (its invoice was voided unpaid); the due marker goes.
    pub async fn mark_quote_void(&self, quote: &Quote, now: Timestamp) -> Result<(), StoreError> {
        let expr = Expr::update("SET #status = :void, voidedAt = :now")
            .status()
            .value(":void", s(QuoteStatus::Void.as_str()))
            .value(":now", ts(now));
        self.close_invoiced(quote, expr).await
    }

    async fn close_invoiced(&self, quote: &Quote, update: Expr) -> Result<(), StoreError> {
        match self.transact(self.close_invoiced_items(quote, update)?).await {
            Err(e) if e.failed_condition_at(0) => Err(StoreError::ConditionFailed),
            other => other,
        }
    }

    /// The writes that move an invoiced quote on (its update, conditioned on it being invoiced with
    /// its invoice, first) and drop its due marker: for transactions that do more with them.
    pub(crate) fn close_invoiced_items(
        &self,
        quote: &Quote,
        update: Expr,
    ) -> Result<Vec<aws_sdk_dynamodb::types::TransactWriteItem>, StoreError> {
        let invoice = quote.invoice.as_ref().ok_or(StoreError::ConditionFailed)?;
        let expr = update
            .only_if("#status = :invoiced AND invoiceId = :invoice")
            .value(":invoiced", s(QuoteStatus::Invoiced.as_str()))
            .value(":invoice", s(&invoice.invoice_id));
        Ok(vec![
            self.tx_update(&quote_key(&quote.id), expr)?,
            self.tx_delete(&due_key(invoice.due_at, &quote.id), None)?,
        ])
    }

    /// The update that marks a quote paid by `license_id` (see [`Store::close_invoiced_items`]).
    pub(crate) fn paid_update(license_id: &str, now: Timestamp) -> Expr {
        Expr::update("SET #status = :paid, licenseId = :license, paidAt = :now")
            .status()
            .value(":paid", s(QuoteStatus::Paid.as_str()))
            .value(":license", s(license_id))
            .value(":now", ts(now))
    }

    /// Invoiced quotes whose invoice fell due before `now`, oldest first (at most `limit`).
    pub async fn quotes_past_due(&self, now: Timestamp, limit: i32) -> Result<Vec<QuoteDue>, StoreError> {
        let q = Query::on(None, keys::PK, keys::ENTERPRISE_QUOTES_DUE)
            .sort_key("SK < :sk", s(keys::enterprise_quote_due(now, "")))
            .limit(limit);
        Ok(self.page::<QuoteDue>(q, None).await?.items)
    }

    /// One page of an owner's quotes, newest first.
    pub async fn quotes_of(&self, owner: &str, limit: i32, cursor: Option<&str>) -> Result<Page<Quote>, StoreError> {
        self.page(Query::gsi1(keys::enterprise_quotes_of(owner)).newest_first().limit(limit), cursor).await
    }
}
