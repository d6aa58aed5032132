//! Leaderboards (global, friends, class), follows, classes and leaderboard privacy.
//!
//! Boards show display names, never user ids (which may be email addresses). Every board honours
//! privacy: a user who hides appears as "Anonymous learner", keeping their rank and score (so
//! everyone else's ranks stay true); only the caller's own entry is marked `isMe`. Friends boards
//! are the caller's follows; class boards are for the class's members (who joined it with its
//! code: nobody is put in a class without consent) and its owner.

use crate::auth::Principal;
use crate::classes::{self, Created};
use crate::error::ApiError;
use crate::http::{self, HttpResult, header, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::idempotency::derived_id;
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::ids::new_id;
use azora_domain::leaderboard::{
    ANONYMOUS, MAX_FOLLOWS, MAX_TOP, Period, Ranked, band_label, default_display_name, rank, validate_class_name,
    validate_display_name,
};
use azora_domain::{Role, UserId};
use azora_store::leaderboard::{CallerRank, Class, FollowOutcome, FollowRequestOutcome, JoinOutcome, Profile};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

fn period(req: &Request) -> Result<Period, ApiError> {
    match query(req, "period") {
        None => Ok(Period::All),
        Some(raw) => {
            Period::parse(&raw).ok_or_else(|| ApiError::bad_request("invalid_period", "period must be all or week."))
        }
    }
}

fn name_of(user: &str, profiles: &HashMap<String, Profile>) -> String {
    profiles.get(user).and_then(|p| p.display_name.clone()).unwrap_or_else(|| default_display_name(user))
}

fn hidden(user: &str, profiles: &HashMap<String, Profile>) -> bool {
    profiles.get(user).is_some_and(|p| p.hide_from_leaderboards)
}

/// `GET /api/leaderboard/global?period=all|week&limit=`: the top N (default 10, at most 100) by
/// tokens earned in the period, and the caller's own rank.
pub async fn global(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    let limit = http::limit(&req, 10, MAX_TOP as i32)? as usize;
    let now = state.clock.now();
    let period_id = period.id_at(now);
    let me = principal.user_id.to_string();
    let (top, my_key) = futures::try_join!(
        state.store.leaderboard_top(&period_id, limit),
        state.store.leaderboard_key(&me, &period_id)
    )?;
    let ranked = rank(top.entries, limit);
    let mut users: Vec<String> = ranked.iter().map(|r| r.user_id.clone()).collect();
    users.push(me.clone());
    let profiles = state.store.profiles(&users).await?;
    let entries = board_entries(&ranked, &profiles, &me);
    let mine = match my_key {
        None => json!({ "score": 0, "rank": null, "rankExact": false, "percentileBand": null }),
        Some(key) => my_rank(&state, &period_id, &ranked, &me, key).await?,
    };
    let mut me_json = mine;
    me_json["userId"] = json!(me);
    me_json["displayName"] = json!(name_of(&me, &profiles));
    me_json["hidden"] = json!(hidden(&me, &profiles));
    ok(&json!({ "period": period.as_str(), "periodId": period_id, "entries": entries, "me": me_json }))
}

/// A board's entries: display names, never user ids; hidden users anonymous, except to themselves.
fn board_entries(ranked: &[Ranked], profiles: &HashMap<String, Profile>, me: &str) -> Vec<Value> {
    ranked
        .iter()
        .map(|r| {
            let is_me = r.user_id == me;
            let anonymous = !is_me && hidden(&r.user_id, profiles);
            let name = if anonymous { ANONYMOUS.to_string() } else { name_of(&r.user_id, profiles) };
            json!({ "rank": r.rank, "displayName": name, "score": r.score, "anonymous": anonymous, "isMe": is_me })
        })
        .collect()
}

/// The caller's rank: from the board when on it; exact when fewer than 1,000 are ahead; else the
/// percentile band of the latest statistics snapshot (see `azora_domain::leaderboard`).
async fn my_rank(state: &AppState, period_id: &str, ranked: &[Ranked], me: &str, key: i128) -> Result<Value, ApiError> {
    let score = azora_domain::leaderboard::score_of(key);
    if let Some(r) = ranked.iter().find(|r| r.user_id == me) {
        return Ok(json!({ "score": score, "rank": r.rank, "rankExact": true, "percentileBand": null }));
    }
    let stats = match state.store.caller_rank(period_id, key).await?.0 {
        CallerRank::Exact(rank) => {
            return Ok(json!({ "score": score, "rank": rank, "rankExact": true, "percentileBand": null }));
        }
        CallerRank::Band { snapshot } => snapshot,
    };
    Ok(json!({
        "score": score,
        "rank": null,
        "rankExact": false,
        "percentileBand": stats.as_ref().map(|s| band_label(s.band_of(key))),
        "statsComputedAt": stats.as_ref().map(|s| s.computed_at.to_string()),
        "estimatedParticipants": stats.as_ref().map(|s| s.estimated_total),
    }))
}

/// Ranks `users` by their score in the period (users without one score 0).
async fn private_board(state: &AppState, users: Vec<String>, period: Period, me: &str) -> Result<Value, ApiError> {
    let period_id = period.id_at(state.clock.now());
    let (keys, profiles) =
        futures::try_join!(state.store.leaderboard_keys_of(&users, &period_id), state.store.profiles(&users))?;
    let ranked = rank(
        users
            .into_iter()
            .map(|u| {
                let k = keys.get(&u).copied().unwrap_or(0);
                (u, k)
            })
            .collect(),
        usize::MAX,
    );
    let entries = board_entries(&ranked, &profiles, me);
    Ok(json!({ "period": period.as_str(), "periodId": period_id, "entries": entries }))
}

/// `GET /api/leaderboard/friends?period=`: the caller and the users they follow.
pub async fn friends(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    let mut users = state.store.following(&principal.user_id).await?;
    users.push(principal.user_id.to_string());
    ok(&private_board(&state, users, period, principal.user_id.as_str()).await?)
}

/// `GET /api/leaderboard/class/{classId}?period=`: the class members; only members and the owner
/// may read it (anyone else gets the same 404 as for a missing class).
pub async fn class(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    let (class, members) = classes::readable(&state, &principal.user_id, &path_param(&req, "classId")?).await?;
    let mut board = private_board(&state, members, period, principal.user_id.as_str()).await?;
    board["class"] = class_json(&class, &principal);
    ok(&board)
}

/// A class as its readers see it; the join code only for its owner.
fn class_json(c: &Class, reader: &Principal) -> Value {
    let mut class = json!({ "classId": c.id, "name": c.name, "memberCount": c.member_count, "createdAt": c.created_at.to_string() });
    if c.owner_id == reader.user_id {
        class["ownerId"] = json!(c.owner_id);
        class["joinCode"] = json!(c.join_code);
    }
    class
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FollowRequest {
    user_id: String,
}

/// `POST /api/friends {"userId"}`: ask to follow a user. Following needs their consent: the
/// request waits until they accept it (`POST /api/friends/requests/{userId}/accept`).
pub async fn follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: FollowRequest = json_body(&req)?;
    let other = UserId::parse(body.user_id)?;
    if other == principal.user_id {
        return Err(ApiError::bad_request("cannot_follow_self", "You are always on your own friends board."));
    }
    match state.store.request_follow(&principal.user_id, &other, state.clock.now()).await? {
        FollowRequestOutcome::Requested => {
            http::json(StatusCode::ACCEPTED, &json!({ "userId": other, "following": false, "requested": true }))
        }
        FollowRequestOutcome::AlreadyRequested => {
            ok(&json!({ "userId": other, "following": false, "requested": true }))
        }
        FollowRequestOutcome::AlreadyFollowing => {
            ok(&json!({ "userId": other, "following": true, "requested": false }))
        }
    }
}

/// `DELETE /api/friends/{userId}`: stop following, or withdraw a request still waiting.
pub async fn unfollow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let other = UserId::parse(path_param(&req, "userId")?)?;
    if state.store.unfollow(&principal.user_id, &other).await?
        || state.store.withdraw_follow_request(&principal.user_id, &other).await?
    {
        ok(&json!({ "userId": other, "following": false, "requested": false }))
    } else {
        Err(ApiError::not_found("follow"))
    }
}

/// `GET /api/friends`: whom the caller follows, and whom they asked to follow (`pending`).
pub async fn list_friends(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let (users, pending) =
        futures::try_join!(state.store.following(&principal.user_id), state.store.pending_follows(&principal.user_id))?;
    let everyone: Vec<String> = users.iter().chain(&pending).cloned().collect();
    let profiles = state.store.profiles(&everyone).await?;
    let entry = |u: &String| json!({ "userId": u, "displayName": name_of(u, &profiles) });
    ok(
        &json!({ "items": users.iter().map(entry).collect::<Vec<_>>(), "pending": pending.iter().map(entry).collect::<Vec<_>>() }),
    )
}

/// `GET /api/friends/requests`: who asks to follow the caller, oldest first.
pub async fn follow_requests(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requests = state.store.follow_requests(&principal.user_id).await?;
    let users: Vec<String> = requests.iter().map(|r| r.requester.clone()).collect();
    let profiles = state.store.profiles(&users).await?;
    let items: Vec<Value> = requests
        .iter()
        .map(|r| {
            json!({ "userId": r.requester, "displayName": name_of(&r.requester, &profiles), "requestedAt": r.requested_at.to_string() })
        })
        .collect();
    ok(&json!({ "items": items }))
}

/// `POST /api/friends/requests/{userId}/accept`: the caller lets `userId` follow them (their
/// friends board then shows the caller). No request from them is a 404.
pub async fn accept_follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requester = UserId::parse(path_param(&req, "userId")?)?;
    match state.store.accept_follow(&principal.user_id, &requester, MAX_FOLLOWS, state.clock.now()).await? {
        FollowOutcome::Followed | FollowOutcome::AlreadyFollowing => {
            ok(&json!({ "userId": requester, "accepted": true }))
        }
        FollowOutcome::NoRequest => Err(ApiError::not_found("follow request")),
        FollowOutcome::LimitReached => Err(ApiError::unprocessable(
            "follow_limit_reached",
            format!("They already follow {MAX_FOLLOWS} users, the most anyone can."),
        )),
    }
}

/// `DELETE /api/friends/requests/{userId}`: the caller declines `userId`'s request.
pub async fn decline_follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requester = UserId::parse(path_param(&req, "userId")?)?;
    if state.store.withdraw_follow_request(&requester, &principal.user_id).await? {
        ok(&json!({ "userId": requester, "accepted": false }))
    } else {
        Err(ApiError::not_found("follow request"))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ClassRequest {
    name: String,
}

/// `POST /api/classes`: an instructor or enterprise admin creates an empty class and gets its
/// join code to share; learners join with it (`POST /api/classes/join`). With an
/// `Idempotency-Key` a retry returns the same class.
pub async fn create_class(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    principal.require_any(&[Role::Instructor, Role::Enterprise])?;
    let body: ClassRequest = json_body(&req)?;
    let name = validate_class_name(&body.name)?;
    if header(&req, idempotency::HEADER).is_some() {
        let key = idempotency::key(&req)?;
        let id = derived_id("cls", &principal, &key);
        idempotency::once(&state, &req, &principal, || write_class(&state, &principal, id, name)).await
    } else {
        write_class(&state, &principal, new_id("cls"), name).await
    }
}

/// `GET /api/classes?limit=&cursor=`: the classes the caller created or joined, by class id, each
/// as its readers see it (the join code only on the caller's own) with the caller's `role` and
/// `since`. What the console lists on the class boards screen, on any device.
pub async fn list_classes(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let page =
        classes::list(&state, &principal.user_id, limit(&req, 20, 100)?, query(&req, "cursor").as_deref()).await?;
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|listed| {
            let mut item = class_json(&listed.class, &principal);
            item["role"] = json!(if listed.class.owner_id == principal.user_id { "owner" } else { "member" });
            item["since"] = json!(listed.since.to_string());
            item
        })
        .collect();
    ok(&json!({ "items": items, "nextCursor": page.next_cursor }))
}

async fn write_class(state: &AppState, principal: &Principal, id: String, name: String) -> HttpResult {
    match classes::create(state, &principal.user_id, id, name).await? {
        Created::New(class) => http::json(StatusCode::CREATED, &class_json(&class, principal)),
        Created::Existing(class) => ok(&class_json(&class, principal)),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JoinRequest {
    join_code: String,
}

/// `POST /api/classes/join {"joinCode"}`: the caller joins the class the code opens (at most
/// MAX_CLASS_MEMBERS members). Joining again changes nothing. An unknown code is a 404.
pub async fn join_class(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: JoinRequest = json_body(&req)?;
    let (class, outcome) = classes::join(&state, &principal.user_id, &body.join_code).await?;
    let status = if outcome == JoinOutcome::Joined { StatusCode::CREATED } else { StatusCode::OK };
    let mut body = class_json(&class, &principal);
    body["joined"] = json!(true);
    http::json(status, &body)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PrivacyRequest {
    hide_from_leaderboards: bool,
    display_name: Option<String>,
}

/// `PUT /api/users/me/privacy`: hide from global leaderboards (shown as "Anonymous learner"), and
/// optionally set the display name boards show.
pub async fn privacy(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: PrivacyRequest = json_body(&req)?;
    let name = body.display_name.as_deref().map(validate_display_name).transpose()?;
    let profile = state
        .store
        .put_privacy(&principal.user_id, body.hide_from_leaderboards, name.as_deref(), state.clock.now())
        .await?;
    ok(&json!({
        "userId": principal.user_id,
        "hideFromLeaderboards": profile.hide_from_leaderboards,
        "displayName": profile.display_name.unwrap_or_else(|| default_display_name(principal.user_id.as_str())),
    }))
}
