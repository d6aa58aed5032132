//! Notifications the domain emits (receipts, renewal notices, ...) and how each renders as email.
//!
//! The API crate queues a [`Notification`]; the email worker renders it with [`render`] and sends it.

use crate::error::ValidationError;
use crate::money::Money;
use crate::receipt::Receipt;
use crate::support::TicketPriority;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, checked for a plausible shape (not deliverability).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: impl Into<String>) -> Result<Self, ValidationError> {
        let raw = raw.into().trim().to_string();
        let invalid = || ValidationError::new("email", "must be an email address like name@example.com");
        if raw.len() > 254 || raw.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') {
            return Err(invalid());
        }
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        if local.is_empty()
            || domain.contains('@')
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
        {
            return Err(invalid());
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ValidationError;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(raw)
    }
}

impl From<EmailAddress> for String {
    fn from(e: EmailAddress) -> String {
        e.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened, with the facts the email needs. New kinds are added as features need them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotificationKind {
    /// An operator checking that email delivery works end to end.
    TestEmail { requested_by: String },
    /// A payment succeeded; the receipt is the email.
    PaymentReceipt { receipt: Receipt },
    /// A payment attempt was declined.
    PaymentFailed { payment_id: String, amount: Money, reason: String },
    /// Money was returned.
    RefundIssued { payment_id: String, amount: Money, remaining: Money },
    /// A subscription renews soon.
    RenewalReminder { plan: String, renews_on: String, amount: Money },
    /// A renewal payment failed: the subscription is past due until the card is updated.
    /// A renewal payment attempt failed: one email per attempt, with Stripe's next retry date.
    SubscriptionPaymentFailed {
        plan: String,
        update_card_url: String,
        grace_days: i64,
        #[serde(default)]
        attempt: u32,
        /// When Stripe tries again (`None`: no automatic retry is scheduled).
        #[serde(default)]
        next_attempt: Option<String>,
    },
    /// A renewal was paid: the receipt of the new period.
    SubscriptionRenewed { plan: String, amount: Money, invoice_number: String, paid_on: String, period_end: String },
    /// The card the next renewal will be charged to expires before that renewal (sent once per
    /// card and renewal period).
    CardExpiring { plan: String, card: String, expires: String, renews_on: String, update_card_url: String },
    /// The subscription ended (canceled, or unpaid past its grace period): back on Free.
    SubscriptionEnded { plan: String, reason: String },
    /// An enterprise license expires soon (sent 30, 7 and 1 days before, each once).
    LicenseRenewalNotice {
        license_id: String,
        org_name: String,
        expires_at: Timestamp,
        days_left: u32,
        grace_days: u32,
    },
    /// An enterprise customer filed a support ticket; goes to the support address.
    /// A reply on a ticket: from support to the filer, or from the organisation to support.
    SupportTicketReply { ticket_id: String, subject: String, body: String, from_support: bool, status: String },
    SupportTicketFiled {
        ticket_id: String,
        org_id: String,
        subject: String,
        body: String,
        priority: TicketPriority,
        filed_by: String,
        reply_to: Option<String>,
    },
    /// The token awards of one user in one digest window `[window_start, window_end)`. Queued
    /// (delayed to the window's end) once per award with the same id; the email worker sends the
    /// first delivery, filling `awards` and `balance` from the ledger at send time.
    TokenDigest {
        user_id: String,
        window_start: Timestamp,
        window_end: Timestamp,
        #[serde(default)]
        awards: Vec<DigestAward>,
        #[serde(default)]
        balance: Option<i64>,
    },
}

/// One award in a token digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigestAward {
    pub amount: i64,
    pub reason: String,
    pub at: Timestamp,
}

/// The digest's notification id: one per user and window, so the email worker's claim sends one
/// email however many awards (and queued messages) the window had.
pub fn token_digest_id(user_id: &str, window_start: Timestamp) -> String {
    format!("token-digest-{user_id}-{}", window_start.as_second())
}

/// The digest window containing `at`: `[floor(t / w) × w, + w)` in epoch seconds.
pub fn digest_window(at: Timestamp, window_seconds: i64) -> (Timestamp, Timestamp) {
    let w = window_seconds.max(1);
    let start = at.as_second().div_euclid(w) * w;
    let ts = |s: i64| Timestamp::from_second(s).unwrap_or(at);
    (ts(start), ts(start + w))
}

/// One email to send. `id` is unique and makes sending idempotent: a redelivered message with the
/// same id is not sent twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub to: EmailAddress,
    #[serde(flatten)]
    pub kind: NotificationKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Files sent with the email (the receipt's PDF).
    pub attachments: Vec<Attachment>,
}

/// A file attached to an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// Escapes text for inclusion in HTML element content or a quoted attribute.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn html_page(title: &str, paragraphs: &[String]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>", escape_html(p))).collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body style=\"font-family:sans-serif\"><h1>{t}</h1>{body}<p style=\"color:#888\">Azora</p></body></html>",
        t = escape_html(title)
    )
}

fn simple(subject: &str, paragraphs: Vec<String>) -> RenderedEmail {
    RenderedEmail {
        html: html_page(subject, &paragraphs),
        text: paragraphs.join("\n\n"),
        subject: subject.to_string(),
        attachments: Vec::new(),
    }
}

/// Renders a notification as an email with an HTML and a plain-text part carrying the same facts.
pub fn render(notification: &Notification) -> RenderedEmail {
    match &notification.kind {
        NotificationKind::TestEmail { requested_by } => simple(
            "Azora test email",
            vec![
                "Email delivery from Azora works.".to_string(),
                format!("Requested by {requested_by} (notification {}).", notification.id),
            ],
        ),
        // The PDF goes with the email, rendered from the same receipt.
        NotificationKind::PaymentReceipt { receipt } => RenderedEmail {
            subject: format!("Your Azora receipt {}", receipt.number),
            text: format!("{}\nThe receipt is attached as a PDF ({}.pdf).\n", receipt.text(), receipt.number),
            html: receipt.html().replace(
                "</body>",
                &format!("<p>The receipt is attached as a PDF ({}.pdf).</p></body>", escape_html(&receipt.number)),
            ),
            attachments: vec![Attachment {
                file_name: format!("{}.pdf", receipt.number),
                content_type: "application/pdf".to_string(),
                content: receipt.pdf(),
            }],
        },
        NotificationKind::PaymentFailed { payment_id, amount, reason } => simple(
            "Your Azora payment did not go through",
            vec![
                format!("Your payment {payment_id} of {} was declined: {reason}.", amount.display()),
                "You can try again with another card; nothing was charged.".to_string(),
            ],
        ),
        NotificationKind::RenewalReminder { plan, renews_on, amount } => simple(
            "Your Azora subscription renews soon",
            vec![
                format!("Your {plan} subscription renews on {renews_on} for {}.", amount.display()),
                "Nothing to do if you want to keep it; you can change or cancel it any time before then.".to_string(),
            ],
        ),
        NotificationKind::SubscriptionPaymentFailed { plan, update_card_url, grace_days, attempt, next_attempt } => {
            simple(
                "We could not renew your Azora subscription",
                vec![
                    match attempt {
                        0 | 1 => format!("The payment for your {plan} subscription failed."),
                        n => format!("The payment for your {plan} subscription failed again (attempt {n})."),
                    },
                    match next_attempt {
                        Some(date) => format!("We will try your card again on {date}."),
                        None => {
                            "That was the final attempt: we will not try your card again automatically.".to_string()
                        }
                    },
                    format!("Update your card within {grace_days} days to keep your plan: {update_card_url}"),
                ],
            )
        }
        NotificationKind::SubscriptionRenewed { plan, amount, invoice_number, paid_on, period_end } => simple(
            "Your Azora subscription renewed",
            vec![
                format!("Thank you: your {plan} subscription renewed on {paid_on} for {}.", amount.display()),
                format!("Receipt: invoice {invoice_number}. Your plan now runs until {period_end}."),
            ],
        ),
        NotificationKind::CardExpiring { plan, card, expires, renews_on, update_card_url } => simple(
            "Your card expires before your Azora renewal",
            vec![
                format!(
                    "Your {card} expires at the end of {expires}, before your {plan} subscription renews on {renews_on}."
                ),
                format!("Add a new card so the renewal goes through: {update_card_url}"),
            ],
        ),
        NotificationKind::SubscriptionEnded { plan, reason } => simple(
            "Your Azora subscription has ended",
            vec![format!("Your {plan} subscription ended ({reason}). You are on the Free plan now.")],
        ),
        NotificationKind::TokenDigest { awards, balance, .. } => {
            let total: i64 = awards.iter().map(|a| a.amount).sum();
            let mut lines = vec![match awards.len() {
                0 => "You earned Azora tokens.".to_string(),
                1 => format!("You earned {total} tokens."),
                n => format!("You earned {total} tokens in {n} awards."),
            }];
            lines.extend(awards.iter().map(|a| {
                format!(
                    "+{} tokens: {} ({})",
                    a.amount,
                    a.reason.replace('_', " "),
                    a.at.strftime("%Y-%m-%d %H:%M UTC")
                )
            }));
            if let Some(b) = balance {
                lines.push(format!("Your balance is now {b} tokens."));
            }
            simple(if total > 0 { "You earned Azora tokens" } else { "Your Azora tokens" }, lines)
        }
        NotificationKind::RefundIssued { payment_id, amount, remaining } => simple(
            "Your Azora refund",
            vec![
                format!("We refunded {} of payment {payment_id}.", amount.display()),
                format!("Still charged after this refund: {}.", remaining.display()),
                "Refunds reach your card within 5-10 business days.".to_string(),
            ],
        ),
        NotificationKind::LicenseRenewalNotice { license_id, org_name, expires_at, days_left, grace_days } => {
            let when = expires_at.strftime("%Y-%m-%d %H:%M UTC");
            let days = if *days_left == 1 { "1 day".to_string() } else { format!("{days_left} days") };
            simple(
                &format!("Your Azora enterprise license expires in {days}"),
                vec![
                    format!("The enterprise license {license_id} of {org_name} expires on {when}."),
                    format!(
                        "Renew it to keep your members' seats; after expiry they keep access for {grace_days} grace days."
                    ),
                ],
            )
        }
        NotificationKind::SupportTicketReply { ticket_id, subject, body, from_support, status } => simple(
            &format!("Re: support ticket {ticket_id}: {subject}"),
            vec![
                if *from_support {
                    "Azora support replied to your ticket:".to_string()
                } else {
                    "The organisation replied on its ticket:".to_string()
                },
                body.clone(),
                format!("The ticket is now {}.", status.replace('_', " ")),
            ],
        ),
        NotificationKind::SupportTicketFiled { ticket_id, org_id, subject, body, priority, filed_by, reply_to } => {
            simple(
                &format!("[{}] Support ticket {ticket_id}: {subject}", priority.as_str()),
                vec![
                    format!("Organisation {org_id}, filed by {filed_by}."),
                    format!("Reply to: {}.", reply_to.as_deref().unwrap_or("(no email on the account)")),
                    body.clone(),
                ],
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_email_shape() {
        assert!(EmailAddress::parse("a@b.co").is_ok());
        for bad in ["", "a", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@b.co.", "<a@b.co>"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn html_part_escapes_user_text() {
        let n = Notification {
            id: "ntf_1".into(),
            to: EmailAddress::parse("a@b.co").unwrap(),
            kind: NotificationKind::TestEmail { requested_by: "<script>x</script>".into() },
        };
        let email = render(&n);
        assert!(email.html.contains("&lt;script&gt;"));
        assert!(!email.html.contains("<script>"));
        assert!(email.text.contains("<script>x</script>"));
    }

    #[test]
    fn licensing_notices_render_their_facts_and_escape_user_text() {
        let to = EmailAddress::parse("it@acme.example").unwrap();
        let notice = |days_left| Notification {
            id: "n".into(),
            to: to.clone(),
            kind: NotificationKind::LicenseRenewalNotice {
                license_id: "lic_1".into(),
                org_name: "Acme".into(),
                expires_at: "2027-01-31T00:00:00Z".parse().unwrap(),
                days_left,
                grace_days: 14,
            },
        };
        assert_eq!(render(&notice(1)).subject, "Your Azora enterprise license expires in 1 day");
        let email = render(&notice(30));
        assert_eq!(email.subject, "Your Azora enterprise license expires in 30 days");
        assert!(email.text.contains("2027-01-31 00:00 UTC") && email.text.contains("14 grace days"));
        let ticket = Notification {
            id: "t".into(),
            to,
            kind: NotificationKind::SupportTicketFiled {
                ticket_id: "tkt_1".into(),
                org_id: "org-1".into(),
                subject: "Broken".into(),
                body: "<img src=x onerror=alert(1)>".into(),
                priority: TicketPriority::Urgent,
                filed_by: "u1".into(),
                reply_to: None,
            },
        };
        let email = render(&ticket);
        assert_eq!(email.subject, "[urgent] Support ticket tkt_1: Broken");
        assert!(email.html.contains("&lt;img") && !email.html.contains("<img"));
        let json = serde_json::to_value(&ticket).unwrap();
        assert_eq!(json["kind"], "support_ticket_filed");
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), ticket);
    }

    #[test]
    fn round_trips_as_tagged_json() {
        let n = Notification {
            id: "ntf_1".into(),
            to: EmailAddress::parse("a@b.co").unwrap(),
            kind: NotificationKind::TestEmail { requested_by: "admin_1".into() },
        };
        let json = serde_json::to_value(&n).unwrap();
        assert_eq!(json["kind"], "test_email");
        assert_eq!(serde_json::from_value::<Notification>(json).unwrap(), n);
    }

    #[test]
    fn token_digest_lists_every_award() {
        let at: Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let (start, end) = digest_window(at, 900);
        assert_eq!(start, "2026-11-25T10:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(end, "2026-11-25T10:15:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(digest_window("2026-11-25T10:14:59Z".parse().unwrap(), 900).0, start);
        let n = Notification {
            id: token_digest_id("u1", start),
            to: EmailAddress::parse("a@b.co").unwrap(),
            kind: NotificationKind::TokenDigest {
                user_id: "u1".into(),
                window_start: start,
                window_end: end,
                awards: vec![
                    DigestAward { amount: 100, reason: "course_completion".into(), at },
                    DigestAward { amount: 120, reason: "course_completion".into(), at },
                ],
                balance: Some(720),
            },
        };
        let email = render(&n);
        assert_eq!(email.subject, "You earned Azora tokens");
        assert!(email.text.contains("You earned 220 tokens in 2 awards."), "{}", email.text);
        assert!(email.text.contains("+120 tokens: course completion"));
        assert!(email.text.contains("balance is now 720"));
        // Queued without awards, it still parses (the worker fills them in).
        let queued = r#"{"id":"x","to":"a@b.co","kind":"token_digest","user_id":"u1","window_start":"2026-11-25T10:00:00Z","window_end":"2026-11-25T10:15:00Z"}"#;
        assert!(serde_json::from_str::<Notification>(queued).is_ok());
    }
}
