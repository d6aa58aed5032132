//! Receipts: one document rendered as the HTML page and the PDF (`GET
//! /api/payments/{id}/receipt`, `?format=pdf`), its JSON (`?format=json`) and the email, all from
//! the same rows so that they state the same facts.
//!
//! **Tax.** Prices are tax-inclusive (what the catalogue shows is what the buyer pays, as on
//! Udemy): the receipt splits the total into its net amount and the tax included in it at the
//! rate recorded on the payment, see [`included_tax`]. A zero rate is stated ("Tax 0%"), never
//! omitted.

use crate::money::Money;
use crate::notification::escape_html;
use crate::pdf::{self, PdfLine};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptLine {
    pub description: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptRefund {
    pub at: Timestamp,
    pub amount: Money,
}

/// Who sells: the legal name, postal address (one entry per line) and tax id from the
/// configuration (`SELLER_NAME`, `SELLER_ADDRESS`, `SELLER_TAX_ID`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seller {
    pub name: String,
    pub address: Vec<String>,
    pub tax_id: Option<String>,
}

/// Who paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buyer {
    pub name: Option<String>,
    pub email: String,
}

/// The card a payment was made with, as the charge reported it (`visa`, `4242`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentCard {
    pub brand: String,
    pub last4: String,
}

impl PaymentCard {
    /// `Visa ending in 4242`.
    pub fn describe(&self) -> String {
        let brand = match self.brand.as_str() {
            "visa" => "Visa".to_string(),
            "mastercard" => "Mastercard".to_string(),
            "amex" => "American Express".to_string(),
            "discover" => "Discover".to_string(),
            "diners" => "Diners Club".to_string(),
            "jcb" => "JCB".to_string(),
            "unionpay" => "UnionPay".to_string(),
            "" | "unknown" => "Card".to_string(),
            other => {
                let mut c = other.chars();
                c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
            }
        };
        format!("{brand} ending in {}", self.last4)
    }
}

/// The tax included in a total: `net + tax == total` exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaxLine {
    /// The rate in basis points (2000 = 20%).
    pub rate_bps: u32,
    pub net: Money,
    pub tax: Money,
}

impl TaxLine {
    /// `Tax 20% (included)`, `Tax 8.25% (included)`, `Tax 0%`.
    pub fn label(&self) -> String {
        if self.rate_bps == 0 { "Tax 0%".to_string() } else { format!("Tax {} (included)", percent(self.rate_bps)) }
    }
}

/// `2000` → `20%`, `825` → `8.25%`, `5` → `0.05%`.
pub fn percent(bps: u32) -> String {
    let (whole, frac) = (bps / 100, bps % 100);
    match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    }
}

/// The largest rate accepted (100%).
pub const MAX_TAX_RATE_BPS: u32 = 10_000;

/// Splits a tax-inclusive `total` at `rate_bps` into net and tax, in integer minor units:
/// `net = round(total × 10000 / (10000 + rate_bps))`, rounded to the nearest minor unit with
/// halves away from zero, and `tax = total − net`. So the two always add up to the total, the tax
/// is never negative for a non-negative total, and it is within half a minor unit of the exact
/// `total × rate / (1 + rate)`.
pub fn included_tax(total: Money, rate_bps: u32) -> TaxLine {
    let rate = i128::from(rate_bps.min(MAX_TAX_RATE_BPS));
    let den = 10_000 + rate;
    let num = i128::from(total.amount) * 10_000;
    let half_up = |n: i128| (2 * n + den) / (2 * den);
    let net = if num >= 0 { half_up(num) } else { -half_up(-num) };
    // |net| ≤ |total|, so it fits in i64.
    let net = i64::try_from(net).unwrap_or(total.amount);
    TaxLine {
        rate_bps: rate_bps.min(MAX_TAX_RATE_BPS),
        net: Money::new(net, total.currency),
        tax: Money::new(total.amount - net, total.currency),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub number: String,
    pub issued_at: Timestamp,
    pub payment_id: String,
    /// Absent only in receipts queued before sellers were configured.
    #[serde(default)]
    pub seller: Option<Seller>,
    #[serde(default)]
    pub buyer: Option<Buyer>,
    /// The card charged, when the charge reported one.
    #[serde(default)]
    pub payment_method: Option<PaymentCard>,
    pub lines: Vec<ReceiptLine>,
    /// The tax included in the total.
    pub tax: Option<TaxLine>,
    pub total: Money,
    pub refunds: Vec<ReceiptRefund>,
}

/// One row of the receipt's table: a label, an amount, and whether it is a total.
struct Row {
    label: String,
    amount: String,
    strong: bool,
}

impl Receipt {
    pub fn title(&self) -> String {
        format!("Receipt {}", self.number)
    }

    /// The total less the refunds listed.
    pub fn net_paid(&self) -> Money {
        let refunded: i64 = self.refunds.iter().map(|r| r.amount.amount).sum();
        Money::new(self.total.amount - refunded, self.total.currency)
    }

    /// The header lines: seller, then the receipt's facts and the buyer.
    fn header(&self) -> (Vec<String>, Vec<String>) {
        let mut seller = Vec::new();
        if let Some(s) = &self.seller {
            seller.push(s.name.clone());
            seller.extend(s.address.iter().cloned());
            if let Some(id) = &s.tax_id {
                seller.push(format!("Tax ID: {id}"));
            }
        }
        let mut facts =
            vec![format!("Date: {}", self.issued_at.strftime("%Y-%m-%d")), format!("Payment: {}", self.payment_id)];
        if let Some(b) = &self.buyer {
            facts.push(match &b.name {
                Some(name) => format!("Billed to: {name} <{}>", b.email),
                None => format!("Billed to: {}", b.email),
            });
        }
        if let Some(card) = &self.payment_method {
            facts.push(format!("Paid with: {}", card.describe()));
        }
        (seller, facts)
    }

    fn rows(&self) -> Vec<Row> {
        let row = |label: String, amount: String, strong: bool| Row { label, amount, strong };
        let mut rows: Vec<Row> =
            self.lines.iter().map(|l| row(l.description.clone(), l.amount.display(), false)).collect();
        if let Some(tax) = &self.tax {
            rows.push(row("Subtotal (excl. tax)".into(), tax.net.display(), false));
            rows.push(row(tax.label(), tax.tax.display(), false));
        }
        rows.push(row("Total".into(), self.total.display(), true));
        for r in &self.refunds {
            rows.push(row(
                format!("Refunded {}", r.at.strftime("%Y-%m-%d")),
                format!("-{}", r.amount.display()),
                false,
            ));
        }
        if !self.refunds.is_empty() {
            let net = self.net_paid();
            let label = match &self.tax {
                Some(t) => {
                    let left = included_tax(net, t.rate_bps);
                    format!("Net paid (incl. {} tax)", left.tax.display())
                }
                None => "Net paid".to_string(),
            };
            rows.push(row(label, net.display(), true));
        }
        rows
    }

    pub fn text(&self) -> String {
        let (seller, facts) = self.header();
        let mut out = format!("{}\n", self.title());
        for line in seller.iter().chain([String::new()].iter()).chain(facts.iter()) {
            out.push_str(line);
            out.push('\n');
        }
        out.push('\n');
        for r in self.rows() {
            out.push_str(&format!("{}  {}\n", r.label, r.amount));
        }
        out
    }

    pub fn html(&self) -> String {
        let (seller, facts) = self.header();
        let lines = |lines: &[String]| lines.iter().map(|l| escape_html(l)).collect::<Vec<_>>().join("<br>");
        let rows: String = self
            .rows()
            .iter()
            .map(|r| {
                let cell = if r.strong { "th" } else { "td" };
                format!(
                    "<tr><{cell} style=\"text-align:left\">{}</{cell}><{cell} style=\"text-align:right\">{}</{cell}></tr>",
                    escape_html(&r.label),
                    escape_html(&r.amount)
                )
            })
            .collect();
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif\"><h1>{t}</h1><p>{seller}</p><p>{facts}</p>\
             <table style=\"border-collapse:collapse;min-width:20rem\">{rows}</table></body></html>",
            t = escape_html(&self.title()),
            seller = lines(&seller),
            facts = lines(&facts),
        )
    }

    /// The receipt as a PDF document (A4, Helvetica).
    pub fn pdf(&self) -> Vec<u8> {
        let (seller, facts) = self.header();
        let mut lines = vec![PdfLine::text(self.title()).bold().size(16), PdfLine::text("")];
        for (i, l) in seller.iter().enumerate() {
            lines.push(if i == 0 { PdfLine::text(l).bold() } else { PdfLine::text(l) });
        }
        lines.push(PdfLine::text(""));
        lines.extend(facts.iter().map(PdfLine::text));
        lines.push(PdfLine::text(""));
        for r in self.rows() {
            let line = PdfLine::row(r.label, r.amount);
            lines.push(if r.strong { line.bold() } else { line });
        }
        pdf::document(&self.title(), &lines)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use proptest::prelude::*;

    fn usd(amount: i64) -> Money {
        Money::new(amount, Currency::Usd)
    }

    fn receipt(rate_bps: u32) -> Receipt {
        Receipt {
            number: "R-2026-000001".into(),
            issued_at: "2026-11-29T10:00:00Z".parse().unwrap(),
            payment_id: "pay_1".into(),
            seller: Some(Seller {
                name: "Azora Learning Ltd".into(),
                address: vec!["1 Example Street".into(), "London EC1A 1AA".into()],
                tax_id: Some("GB123456789".into()),
            }),
            buyer: Some(Buyer { name: Some("Zoë Buyer".into()), email: "zoe@example.com".into() }),
            payment_method: Some(PaymentCard { brand: "visa".into(), last4: "4242".into() }),
            lines: vec![ReceiptLine { description: "Rust <basics>".into(), amount: usd(1999) }],
            tax: Some(included_tax(usd(1999), rate_bps)),
            total: usd(1999),
            refunds: vec![ReceiptRefund { at: "2026-11-30T10:00:00Z".parse().unwrap(), amount: usd(500) }],
        }
    }

    #[test]
    fn text_html_and_pdf_carry_the_same_facts() {
        let r = receipt(2000);
        let pdf = r.pdf();
        let pdf_text = String::from_utf8_lossy(&pdf);
        // 19.99 incl. 20%: net round(1665.83) = 16.66, tax 3.33.
        for needle in [
            "R-2026-000001",
            "2026-11-29",
            "USD 19.99",
            "USD 16.66",
            "Tax 20% (included)",
            "USD 3.33",
            "Refunded 2026-11-30",
            "USD 5.00",
            "Net paid (incl. USD 2.50 tax)",
            "USD 14.99",
            "Azora Learning Ltd",
            "London EC1A 1AA",
            "Tax ID: GB123456789",
            "zoe@example.com",
            "Visa ending in 4242",
        ] {
            assert!(r.text().contains(needle), "text: {needle}");
            assert!(r.html().contains(needle), "html: {needle}");
            let escaped = needle.replace('(', "\\(").replace(')', "\\)");
            assert!(pdf_text.contains(&escaped), "pdf: {escaped}");
        }
        assert!(r.html().contains("Rust &lt;basics&gt;"));
        assert!(r.html().contains("Billed to: Zo\u{eb} Buyer &lt;zoe@example.com&gt;"));
        assert!(pdf_text.contains("(Billed to: Zo\\353 Buyer <zoe@example.com>)"));
        crate::pdf::tests::check_structure(&pdf);
    }

    #[test]
    fn a_zero_rate_is_stated() {
        let r = receipt(0);
        assert!(r.text().contains("Tax 0%  USD 0.00"), "{}", r.text());
        assert!(r.text().contains("Subtotal (excl. tax)  USD 19.99"));
    }

    #[test]
    fn rates_read_as_percentages() {
        assert_eq!(percent(2000), "20%");
        assert_eq!(percent(825), "8.25%");
        assert_eq!(percent(750), "7.5%");
        assert_eq!(percent(5), "0.05%");
        assert_eq!(percent(0), "0%");
    }

    #[test]
    fn rounding_halves_go_up_on_the_net() {
        // 21 incl. 5%: net 20 exactly.
        assert_eq!(included_tax(usd(21), 500).net, usd(20));
        // 1 incl. 100%: net 0.5 rounds up to 1, tax 0.
        assert_eq!(included_tax(usd(1), 10_000), TaxLine { rate_bps: 10_000, net: usd(1), tax: usd(0) });
        assert_eq!(included_tax(usd(3), 10_000).tax, usd(1));
    }

    proptest! {
        #[test]
        fn net_and_tax_add_up_exactly(total in 0i64..=1_000_000_000_000, rate in 0u32..=10_000) {
            let t = included_tax(usd(total), rate);
            prop_assert_eq!(t.net.amount + t.tax.amount, total);
            prop_assert!(t.tax.amount >= 0 && t.net.amount >= 0);
            // Within half a minor unit of the exact tax: |tax·(10000+r) − total·r| ≤ (10000+r)/2.
            let den = 10_000 + i128::from(rate);
            let exact = i128::from(total) * i128::from(rate);
            prop_assert!((i128::from(t.tax.amount) * den - exact).abs() * 2 <= den);
            if rate == 0 {
                prop_assert_eq!(t.tax.amount, 0);
            }
        }

        #[test]
        fn tax_never_decreases_with_the_total(total in 0i64..=1_000_000_000, rate in 0u32..=10_000) {
            let a = included_tax(usd(total), rate);
            let b = included_tax(usd(total + 1), rate);
            prop_assert!(b.tax.amount >= a.tax.amount && b.net.amount >= a.net.amount);
        }
    }
}
