//! Enterprise seat quotes (self-serve purchase): one item per quote, listed by owner through GSI1
//! (`ENT_QUOTES#<owner>`, newest first). A quote's price is fixed when it is written; it is only
//! ever read back, never recomputed.

use crate::cursor::Page;
use crate::error::StoreError;
use crate::item::{Item, ToItem, from_item, n, s, ts};
use crate::table::{Expr, Key, Query, key};
use crate::{Store, keys};
use azora_domain::license_purchase::{Quote, QuoteStatus, SeatPrice};
use azora_domain::notification::EmailAddress;
use azora_domain::{Money, OrgId};

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
        Ok(item)
    }
}

from_item! { Quote as "enterprise quote", |f| {
    id: f.string("quoteId")?, owner: f.string("owner")?,
    org_id: f.opt("orgId").map(OrgId::parse).transpose().map_err(|_| f.bad("orgId"))?,
    requested_by: f.user("requestedBy")?, org_name: f.string("orgName")?,
    contact_email: f.parse("contactEmail", |v| EmailAddress::parse(v))?,
    price: SeatPrice {
        seats: f.u32("seats")?, term_months: f.u32("termMonths")?,
        unit_monthly: Money::new(f.i64("unitMonthly")?, f.currency("currency")?),
        unit_per_term: Money::new(f.i64("unitPerTerm")?, f.currency("currency")?),
        total: f.money("total", "currency")?,
    },
    status: f.named("status", QuoteStatus::parse)?, created_at: f.ts("createdAt")?, valid_until: f.ts("validUntil")?,
} }

impl Store {
    /// Writes a new quote; `ConditionFailed` when its id exists.
    pub async fn create_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        self.put(quote.to_item()?, Some(Expr::absent())).await
    }

    pub async fn get_quote(&self, quote_id: &str) -> Result<Option<Quote>, StoreError> {
        self.get(&quote_key(quote_id), true).await
    }

    /// One page of an owner's quotes, newest first.
    pub async fn quotes_of(&self, owner: &str, limit: i32, cursor: Option<&str>) -> Result<Page<Quote>, StoreError> {
        self.page(Query::gsi1(keys::enterprise_quotes_of(owner)).newest_first().limit(limit), cursor).await
    }
}
