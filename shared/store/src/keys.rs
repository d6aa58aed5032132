//! The single-table key design. Every item has `PK` and `SK`; some also `GSI1PK`/`GSI1SK`.
//! `expiresAt` (epoch seconds) is the TTL attribute.
//!
//! | entity                | PK                          | SK                     | GSI1PK / GSI1SK              | access pattern                         |
//! |-----------------------|-----------------------------|------------------------|------------------------------|----------------------------------------|
//! | subscription          | `USER#<userId>`             | `SUBSCRIPTION`         |                              | a user's current plan (GetItem)        |
//! | claim (idempotency)   | `CLAIM#<scope>#<key>`       | `CLAIM`                |                              | one request / email per key (GetItem)  |
//! | audit entry           | `AUDIT#<yyyy-mm>`           | `<rfc3339>#<id>`       |                              | admin lists a month, newest first      |

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
