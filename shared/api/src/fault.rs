//! What goes wrong beneath a service's rules: the table or a queue unavailable, the payment
//! provider refusing or down where no rule of ours expects it, stored data we cannot read, a part
//! the function did not declare. A service's own error carries it as one variant; the HTTP
//! boundary maps it in one place (`error.rs`).

use crate::needs::UndeclaredPart;
use azora_store::StoreError;
use azora_stripe::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum Fault {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("payment provider: {0}")]
    Gateway(#[from] GatewayError),
    #[error("queue: {0}")]
    Queue(String),
    #[error(transparent)]
    Undeclared(#[from] UndeclaredPart),
    /// Something we rely on does not hold (a payment vanished, a body did not serialize).
    #[error("{0}")]
    Broken(String),
}

impl Fault {
    pub fn broken(what: impl std::fmt::Display) -> Self {
        Fault::Broken(what.to_string())
    }
}
