//! Classes: an instructor or an enterprise admin creates one and shares its join code; learners
//! join it themselves, so nobody is put on a board without consent. Who may read a class's board,
//! and each user's own list of classes (created or joined). No HTTP here: `catalogue.rs` maps
//! [`ClassError`].

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::leaderboard::MAX_CLASS_MEMBERS;
use azora_store::leaderboard::{Class, JoinOutcome};
use azora_store::{Page, StoreError};
use jiff::Timestamp;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    /// No such class or join code, or a class the caller may not read (the same answer).
    #[error("no such class")]
    NotFound,
    #[error("the class has its {MAX_CLASS_MEMBERS} members")]
    Full,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for ClassError {
    fn from(e: StoreError) -> Self {
        ClassError::Fault(e.into())
    }
}

/// A class written now, or the one an earlier request with the same id wrote.
pub enum Created {
    New(Class),
    Existing(Class),
}

/// Creates an empty class owned by `owner` with a fresh join code. `id` derives from an
/// idempotency key when there is one, so a retry finds the class its first attempt wrote.
pub async fn create(state: &AppState, owner: &UserId, id: String, name: String) -> Result<Created, ClassError> {
    let class = Class {
        id,
        owner_id: owner.clone(),
        name,
        member_count: 0,
        join_code: Some(new_join_code()),
        created_at: state.clock.now(),
    };
    match state.store.create_class(&class).await {
        Ok(()) => Ok(Created::New(class)),
        Err(StoreError::ConditionFailed) => {
            let existing = state.store.get_class(&class.id).await?.ok_or(Fault::broken("class vanished"))?;
            Ok(Created::Existing(existing))
        }
        Err(e) => Err(e.into()),
    }
}

/// 16 Crockford base32 characters of a fresh ULID's random part: 80 bits, not guessable.
fn new_join_code() -> String {
    let id = ulid::Ulid::new().to_string();
    id[id.len() - 16..].to_string()
}

/// `user` joins the class `code` opens (any case, surrounding spaces ignored), at most
/// `MAX_CLASS_MEMBERS` members; joining again changes nothing. The class as it is afterwards.
pub async fn join(state: &AppState, user: &UserId, code: &str) -> Result<(Class, JoinOutcome), ClassError> {
    let code = code.trim().to_ascii_uppercase();
    if code.len() != 16 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(ClassError::NotFound);
    }
    let class_id = state.store.class_of_code(&code).await?.ok_or(ClassError::NotFound)?;
    let class = state.store.get_class(&class_id).await?.ok_or(ClassError::NotFound)?;
    let outcome = state.store.join_class(&class.id, user, MAX_CLASS_MEMBERS as u32, state.clock.now()).await?;
    if outcome == JoinOutcome::Full {
        return Err(ClassError::Full);
    }
    let class = state.store.get_class(&class.id).await?.unwrap_or(class);
    Ok((class, outcome))
}

/// A class on a user's own list.
pub struct Listed {
    pub class: Class,
    /// When they created or first joined it.
    pub since: Timestamp,
}

/// A page of the classes `user` created or joined, by class id.
pub async fn list(
    state: &AppState,
    user: &UserId,
    limit: i32,
    cursor: Option<&str>,
) -> Result<Page<Listed>, ClassError> {
    let page = state.store.classes_of(user, limit, cursor).await?;
    let ids: Vec<String> = page.items.iter().map(|l| l.class_id.clone()).collect();
    let mut classes: HashMap<String, Class> =
        state.store.get_classes(&ids).await?.into_iter().map(|c| (c.id.clone(), c)).collect();
    let items = page
        .items
        .into_iter()
        .filter_map(|listing| Some(Listed { class: classes.remove(&listing.class_id)?, since: listing.since }))
        .collect();
    Ok(Page { items, next_cursor: page.next_cursor })
}

/// The class and its members, for its owner or a member; anyone else: `NotFound`, as if absent.
pub async fn readable(state: &AppState, reader: &UserId, class_id: &str) -> Result<(Class, Vec<String>), ClassError> {
    if class_id.is_empty() || class_id.len() > 64 || class_id.contains('#') {
        return Err(ClassError::NotFound);
    }
    let class = state.store.get_class(class_id).await?.ok_or(ClassError::NotFound)?;
    let members = state.store.class_members(class_id).await?;
    if class.owner_id != *reader && !members.iter().any(|m| m == reader.as_str()) {
        return Err(ClassError::NotFound);
    }
    Ok((class, members))
}
