//! Appends audit entries for sensitive operations.

use crate::auth::Principal;
use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::audit::AuditEntry;
use azora_domain::ids::new_id;

pub async fn record(
    state: &AppState,
    actor: &Principal,
    request_id: &str,
    action: &str,
    target: &str,
    details: serde_json::Value,
) -> Result<AuditEntry, Fault> {
    let entry = AuditEntry {
        id: new_id("aud"),
        at: state.clock.now(),
        actor: actor.user_id.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        request_id: request_id.to_string(),
        details,
    };
    state.store.append_audit(&entry).await?;
    tracing::info!(action, target, "audited");
    Ok(entry)
}
