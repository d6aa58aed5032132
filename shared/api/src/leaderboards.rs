//! Leaderboards (global, friends, class), follows and leaderboard privacy. No HTTP here:
//! `catalogue.rs` maps [`LeaderboardError`]; classes are `classes.rs`'.
//!
//! Boards show display names, never user ids (which may be email addresses). Every board honours
//! privacy: a user who hides appears as "Anonymous learner", keeping their rank and score (so
//! everyone else's ranks stay true); only the caller's own entry is marked `is_me`. Friends boards
//! are the caller's follows, who accepted to be followed.

use crate::fault::Fault;
use crate::state::AppState;
use azora_domain::UserId;
use azora_domain::leaderboard::{
    ANONYMOUS, MAX_FOLLOWS, MAX_TOP, Period, Ranked, StatsSnapshot, default_display_name, rank, score_of,
};
use azora_store::StoreError;
use azora_store::leaderboard::{CallerRank, FollowOutcome, FollowRequestOutcome, Profile};
use jiff::Timestamp;
use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum LeaderboardError {
    #[error("you are always on your own friends board")]
    CannotFollowSelf,
    /// Neither a follow nor a request waiting for an answer.
    #[error("no such follow")]
    NoFollow,
    #[error("no such follow request")]
    NoFollowRequest,
    #[error("They already follow {MAX_FOLLOWS} users, the most anyone can")]
    FollowLimit,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<StoreError> for LeaderboardError {
    fn from(e: StoreError) -> Self {
        LeaderboardError::Fault(e.into())
    }
}

/// One line of a board, as every reader may see it.
pub struct BoardEntry {
    pub rank: u64,
    pub display_name: String,
    pub score: i64,
    pub anonymous: bool,
    pub is_me: bool,
}

pub struct Board {
    pub period: Period,
    pub period_id: String,
    pub entries: Vec<BoardEntry>,
}

/// Where the caller stands on the global board: on it, exactly ranked (fewer than 1,000 ahead),
/// or in a percentile band of the latest statistics snapshot (see `azora_domain::leaderboard`).
pub enum Standing {
    NoScore,
    Ranked { score: i64, rank: u64 },
    Banded { score: i64, band: Option<String>, snapshot: Option<StatsSnapshot> },
}

pub struct GlobalBoard {
    pub board: Board,
    pub me: Standing,
    pub my_name: String,
    pub i_hide: bool,
}

/// The top `limit` (at most `MAX_TOP`) by tokens earned in the period, and where `me` stands.
pub async fn global(
    state: &AppState,
    me: &UserId,
    period: Period,
    limit: usize,
) -> Result<GlobalBoard, LeaderboardError> {
    let limit = limit.min(MAX_TOP);
    let period_id = period.id_at(state.clock.now());
    let (top, my_key) = futures::try_join!(
        state.store.leaderboard_top(&period_id, limit),
        state.store.leaderboard_key(me.as_str(), &period_id)
    )?;
    let ranked = rank(top.entries, limit);
    let mut users: Vec<String> = ranked.iter().map(|r| r.user_id.clone()).collect();
    users.push(me.to_string());
    let profiles = state.store.profiles(&users).await?;
    let entries = entries(&ranked, &profiles, me.as_str());
    let standing = match my_key {
        None => Standing::NoScore,
        Some(key) => standing(state, &period_id, &ranked, me.as_str(), key).await?,
    };
    Ok(GlobalBoard {
        board: Board { period, period_id, entries },
        me: standing,
        my_name: name_of(me.as_str(), &profiles),
        i_hide: hidden(me.as_str(), &profiles),
    })
}

async fn standing(
    state: &AppState,
    period_id: &str,
    ranked: &[Ranked],
    me: &str,
    key: i128,
) -> Result<Standing, LeaderboardError> {
    let score = score_of(key);
    if let Some(r) = ranked.iter().find(|r| r.user_id == me) {
        return Ok(Standing::Ranked { score, rank: r.rank });
    }
    Ok(match state.store.caller_rank(period_id, key).await?.0 {
        CallerRank::Exact(rank) => Standing::Ranked { score, rank },
        CallerRank::Band { snapshot } => Standing::Banded {
            score,
            band: snapshot.as_ref().map(|s| azora_domain::leaderboard::band_label(s.band_of(key))),
            snapshot,
        },
    })
}

/// `users` ranked by their score in the period (users without one score 0), for `me`.
pub async fn board_of(
    state: &AppState,
    users: Vec<String>,
    period: Period,
    me: &UserId,
) -> Result<Board, LeaderboardError> {
    let period_id = period.id_at(state.clock.now());
    let (keys, profiles) =
        futures::try_join!(state.store.leaderboard_keys_of(&users, &period_id), state.store.profiles(&users))?;
    let scored = users
        .into_iter()
        .map(|u| {
            let key = keys.get(&u).copied().unwrap_or(0);
            (u, key)
        })
        .collect();
    let ranked = rank(scored, usize::MAX);
    Ok(Board { period, period_id, entries: entries(&ranked, &profiles, me.as_str()) })
}

/// The caller and the users they follow.
pub async fn friends(state: &AppState, me: &UserId, period: Period) -> Result<Board, LeaderboardError> {
    let mut users = state.store.following(me).await?;
    users.push(me.to_string());
    board_of(state, users, period, me).await
}

fn name_of(user: &str, profiles: &HashMap<String, Profile>) -> String {
    profiles.get(user).and_then(|p| p.display_name.clone()).unwrap_or_else(|| default_display_name(user))
}

fn hidden(user: &str, profiles: &HashMap<String, Profile>) -> bool {
    profiles.get(user).is_some_and(|p| p.hide_from_leaderboards)
}

/// Display names, never user ids; hidden users anonymous, except to themselves.
fn entries(ranked: &[Ranked], profiles: &HashMap<String, Profile>, me: &str) -> Vec<BoardEntry> {
    ranked
        .iter()
        .map(|r| {
            let is_me = r.user_id == me;
            let anonymous = !is_me && hidden(&r.user_id, profiles);
            let display_name = if anonymous { ANONYMOUS.to_string() } else { name_of(&r.user_id, profiles) };
            BoardEntry { rank: r.rank, display_name, score: r.score, anonymous, is_me }
        })
        .collect()
}

/// A user with the name boards show for them.
pub struct Named {
    pub user_id: String,
    pub display_name: String,
}

async fn named(state: &AppState, users: &[String]) -> Result<Vec<Named>, LeaderboardError> {
    let profiles = state.store.profiles(users).await?;
    Ok(users.iter().map(|u| Named { user_id: u.clone(), display_name: name_of(u, &profiles) }).collect())
}

/// Asks to follow `other`; following waits for their consent (`accept`).
pub async fn follow(state: &AppState, me: &UserId, other: &UserId) -> Result<FollowRequestOutcome, LeaderboardError> {
    if other == me {
        return Err(LeaderboardError::CannotFollowSelf);
    }
    Ok(state.store.request_follow(me, other, state.clock.now()).await?)
}

/// Stops following `other`, or withdraws a request still waiting.
pub async fn unfollow(state: &AppState, me: &UserId, other: &UserId) -> Result<(), LeaderboardError> {
    if state.store.unfollow(me, other).await? || state.store.withdraw_follow_request(me, other).await? {
        Ok(())
    } else {
        Err(LeaderboardError::NoFollow)
    }
}

pub struct Follows {
    pub following: Vec<Named>,
    /// Asked, not yet accepted.
    pub pending: Vec<Named>,
}

pub async fn follows(state: &AppState, me: &UserId) -> Result<Follows, LeaderboardError> {
    let (following, pending) = futures::try_join!(state.store.following(me), state.store.pending_follows(me))?;
    let everyone: Vec<String> = following.iter().chain(&pending).cloned().collect();
    let mut named = named(state, &everyone).await?;
    let pending = named.split_off(following.len());
    Ok(Follows { following: named, pending })
}

pub struct AskedToFollow {
    pub requester: Named,
    pub requested_at: Timestamp,
}

/// Who asks to follow `me`, oldest first.
pub async fn follow_requests(state: &AppState, me: &UserId) -> Result<Vec<AskedToFollow>, LeaderboardError> {
    let requests = state.store.follow_requests(me).await?;
    let users: Vec<String> = requests.iter().map(|r| r.requester.clone()).collect();
    let named = named(state, &users).await?;
    Ok(named
        .into_iter()
        .zip(requests)
        .map(|(requester, r)| AskedToFollow { requester, requested_at: r.requested_at })
        .collect())
}

/// `me` lets `requester` follow them (at most `MAX_FOLLOWS` follows each); accepting twice is
/// accepting once.
pub async fn accept(state: &AppState, me: &UserId, requester: &UserId) -> Result<(), LeaderboardError> {
    match state.store.accept_follow(me, requester, MAX_FOLLOWS, state.clock.now()).await? {
        FollowOutcome::Followed | FollowOutcome::AlreadyFollowing => Ok(()),
        FollowOutcome::NoRequest => Err(LeaderboardError::NoFollowRequest),
        FollowOutcome::LimitReached => Err(LeaderboardError::FollowLimit),
    }
}

pub async fn decline(state: &AppState, me: &UserId, requester: &UserId) -> Result<(), LeaderboardError> {
    if state.store.withdraw_follow_request(requester, me).await? {
        Ok(())
    } else {
        Err(LeaderboardError::NoFollowRequest)
    }
}

pub struct Privacy {
    pub hide_from_leaderboards: bool,
    pub display_name: String,
}

/// Hides `me` from boards (or shows them again) and optionally sets the name boards show.
pub async fn set_privacy(
    state: &AppState,
    me: &UserId,
    hide: bool,
    display_name: Option<&str>,
) -> Result<Privacy, LeaderboardError> {
    let profile = state.store.put_privacy(me, hide, display_name, state.clock.now()).await?;
    Ok(Privacy {
        hide_from_leaderboards: profile.hide_from_leaderboards,
        display_name: profile.display_name.unwrap_or_else(|| default_display_name(me.as_str())),
    })
}
