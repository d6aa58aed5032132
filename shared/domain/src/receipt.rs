//! Receipts: the same document as the HTML page (`GET /api/payments/{id}/receipt`) and the email.

use crate::money::Money;
use crate::notification::escape_html;
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub number: String,
    pub issued_at: Timestamp,
    pub payment_id: String,
    pub lines: Vec<ReceiptLine>,
    /// Tax included in the total, when the payment was taxed.
    pub tax: Option<Money>,
    pub total: Money,
    pub refunds: Vec<ReceiptRefund>,
}

impl Receipt {
    pub fn title(&self) -> String {
        format!("Receipt {}", self.number)
    }

    pub fn text(&self) -> String {
        let mut out = format!(
            "{}\nDate: {}\nPayment: {}\n\n",
            self.title(),
            self.issued_at.strftime("%Y-%m-%d"),
            self.payment_id
        );
        for line in &self.lines {
            out.push_str(&format!("{}  {}\n", line.description, line.amount.display()));
        }
        if let Some(tax) = &self.tax {
            out.push_str(&format!("Tax (included)  {}\n", tax.display()));
        }
        out.push_str(&format!("Total  {}\n", self.total.display()));
        for r in &self.refunds {
            out.push_str(&format!("Refunded {}  -{}\n", r.at.strftime("%Y-%m-%d"), r.amount.display()));
        }
        out
    }

    pub fn html(&self) -> String {
        let row = |a: &str, b: &str| {
            format!("<tr><td>{}</td><td style=\"text-align:right\">{}</td></tr>", escape_html(a), escape_html(b))
        };
        let mut rows: String = self.lines.iter().map(|l| row(&l.description, &l.amount.display())).collect();
        if let Some(tax) = &self.tax {
            rows.push_str(&row("Tax (included)", &tax.display()));
        }
        rows.push_str(&format!(
            "<tr><th>Total</th><th style=\"text-align:right\">{}</th></tr>",
            escape_html(&self.total.display())
        ));
        for r in &self.refunds {
            rows.push_str(&row(
                &format!("Refunded {}", r.at.strftime("%Y-%m-%d")),
                &format!("-{}", r.amount.display()),
            ));
        }
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
             <body style=\"font-family:sans-serif\"><h1>{t}</h1><p>Date: {d}<br>Payment: {p}</p>\
             <table style=\"border-collapse:collapse;min-width:20rem\">{rows}</table><p style=\"color:#888\">Azora</p></body></html>",
            t = escape_html(&self.title()),
            d = escape_html(&self.issued_at.strftime("%Y-%m-%d").to_string()),
            p = escape_html(&self.payment_id),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    #[test]
    fn text_and_html_carry_the_same_facts() {
        let r = Receipt {
            number: "R-2026-000001".into(),
            issued_at: "2026-11-29T10:00:00Z".parse().unwrap(),
            payment_id: "pay_1".into(),
            lines: vec![ReceiptLine { description: "Rust <basics>".into(), amount: Money::new(1999, Currency::Usd) }],
            tax: None,
            total: Money::new(1999, Currency::Usd),
            refunds: vec![ReceiptRefund {
                at: "2026-11-30T10:00:00Z".parse().unwrap(),
                amount: Money::new(500, Currency::Usd),
            }],
        };
        for needle in ["R-2026-000001", "2026-11-29", "USD 19.99", "USD 5.00"] {
            assert!(r.text().contains(needle), "{needle}");
            assert!(r.html().contains(needle), "{needle}");
        }
        assert!(r.html().contains("Rust &lt;basics&gt;"));
    }
}
