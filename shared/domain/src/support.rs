//! Enterprise support tickets.

use crate::error::ValidationError;
use crate::ids::{OrgId, UserId};
use crate::license::parse_text;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub const MAX_SUBJECT_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    Normal,
    High,
    Urgent,
}

impl TicketPriority {
    pub const ALL: [TicketPriority; 4] = [Self::Low, Self::Normal, Self::High, Self::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == raw)
            .ok_or_else(|| ValidationError::new("priority", "must be one of low, normal, high, urgent"))
    }
}

/// Where a ticket stands. Support staff (admins) answer and move it; the organisation replies,
/// resolves, closes or reopens it. A closed ticket takes no more replies or moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for support (in the support queue).
    Open,
    /// Support answered; waiting for the organisation.
    PendingCustomer,
    Resolved,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] = [Self::Open, Self::PendingCustomer, Self::Resolved, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::PendingCustomer => "pending_customer",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| ValidationError::new("status", "must be one of open, pending_customer, resolved, closed"))
    }

    /// Whether `by_support` (else the organisation) may move a ticket from `self` to `to`.
    pub fn may_move(self, to: TicketStatus, by_support: bool) -> bool {
        use TicketStatus::*;
        match (self, to) {
            (Closed, _) => false,
            (from, to) if from == to => false,
            (_, Resolved | Closed) => true,
            (Resolved, Open) => true,
            (Open, PendingCustomer) | (PendingCustomer, Open) => by_support,
            _ => false,
        }
    }

    /// The status a reply leaves: support's reply waits for the customer, the customer's goes
    /// back to support (also reopening a resolved ticket).
    pub fn after_reply(by_support: bool) -> TicketStatus {
        if by_support { TicketStatus::PendingCustomer } else { TicketStatus::Open }
    }
}

/// One message in a ticket's conversation after the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketReply {
    pub id: String,
    pub ticket_id: String,
    pub author: UserId,
    pub from_support: bool,
    pub body: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportTicket {
    pub id: String,
    pub org_id: OrgId,
    pub subject: String,
    pub body: String,
    pub priority: TicketPriority,
    /// `open` when filed; support staff work it from their own tools.
    pub status: String,
    pub created_by: UserId,
    /// Where support replies (the filer's `email` claim), when known.
    pub reply_to: Option<String>,
    pub created_at: Timestamp,
}

pub fn parse_subject(raw: &str) -> Result<String, ValidationError> {
    parse_text("subject", raw, MAX_SUBJECT_CHARS)
}

/// The body may span lines (newlines and tabs are kept); other control characters are refused.
pub fn parse_body(raw: &str) -> Result<String, ValidationError> {
    let v = raw.trim();
    if v.is_empty() || v.chars().count() > MAX_BODY_CHARS {
        return Err(ValidationError::new("body", format!("must be 1 to {MAX_BODY_CHARS} characters")));
    }
    if v.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
        return Err(ValidationError::new("body", "must not contain control characters"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_ticket_fields() {
        assert_eq!(TicketPriority::parse("urgent").unwrap(), TicketPriority::Urgent);
        assert_eq!(TicketPriority::parse("asap").unwrap_err().field, "priority");
        assert_eq!(parse_subject("  Login fails ").unwrap(), "Login fails");
        assert!(parse_subject("").is_err());
        assert!(parse_subject(&"s".repeat(201)).is_err());
        assert_eq!(parse_body("line 1\nline 2").unwrap(), "line 1\nline 2");
        assert!(parse_body("bell\u{7}").is_err());
        assert!(parse_body(" ").is_err());
    }
}

#[cfg(test)]
mod status_tests {
    use super::TicketStatus::*;

    #[test]
    fn moves_follow_who_works_the_ticket() {
        assert!(Open.may_move(PendingCustomer, true) && !Open.may_move(PendingCustomer, false));
        assert!(Open.may_move(Resolved, false) && PendingCustomer.may_move(Closed, false));
        assert!(Resolved.may_move(Open, false) && Resolved.may_move(Open, true));
        assert!(!Closed.may_move(Open, true) && !Closed.may_move(Resolved, false));
        assert!(!Open.may_move(Open, true), "not a move");
        assert_eq!(super::TicketStatus::after_reply(true), PendingCustomer);
        assert_eq!(super::TicketStatus::after_reply(false), Open);
    }
}
