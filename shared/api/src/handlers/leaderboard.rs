//! Leaderboards (global, friends, class), follows, classes and leaderboard privacy: parse,
//! authenticate, call `leaderboards` / `classes`, map. The rules (privacy, consent, ranks) are the
//! services'.

use crate::auth::Principal;
use crate::classes::{self, Created};
use crate::error::ApiError;
use crate::http::{self, HttpResult, header, json_body, limit, ok, path_param, query};
use crate::idempotency;
use crate::idempotency::derived_id;
use crate::leaderboards::{self, Board, Named, Standing};
use crate::state::AppState;
use ::http::StatusCode;
use azora_domain::ids::new_id;
use azora_domain::leaderboard::{MAX_TOP, Period, validate_class_name, validate_display_name};
use azora_domain::{Role, UserId};
use azora_store::leaderboard::{Class, FollowRequestOutcome, JoinOutcome};
use lambda_http::Request;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

fn period(req: &Request) -> Result<Period, ApiError> {
    match query(req, "period") {
        None => Ok(Period::All),
        Some(raw) => {
            Period::parse(&raw).ok_or_else(|| ApiError::bad_request("invalid_period", "period must be all or week."))
        }
    }
}

fn board_json(board: &Board) -> Value {
    let entries: Vec<Value> = board
        .entries
        .iter()
        .map(|e| json!({ "rank": e.rank, "displayName": e.display_name, "score": e.score, "anonymous": e.anonymous, "isMe": e.is_me }))
        .collect();
    json!({ "period": board.period.as_str(), "periodId": board.period_id, "entries": entries })
}

/// `GET /api/leaderboard/global?period=all|week&limit=`: the top N (default 10, at most 100) by
/// tokens earned in the period, and the caller's own rank.
pub async fn global(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    let limit = http::limit(&req, 10, MAX_TOP as i32)? as usize;
    let global = leaderboards::global(&state, &principal.user_id, period, limit).await?;
    let mut me = match global.me {
        Standing::NoScore => json!({ "score": 0, "rank": null, "rankExact": false, "percentileBand": null }),
        Standing::Ranked { score, rank } => {
            json!({ "score": score, "rank": rank, "rankExact": true, "percentileBand": null })
        }
        Standing::Banded { score, band, snapshot } => json!({
            "score": score,
            "rank": null,
            "rankExact": false,
            "percentileBand": band,
            "statsComputedAt": snapshot.as_ref().map(|s| s.computed_at.to_string()),
            "estimatedParticipants": snapshot.as_ref().map(|s| s.estimated_total),
        }),
    };
    me["userId"] = json!(principal.user_id);
    me["displayName"] = json!(global.my_name);
    me["hidden"] = json!(global.i_hide);
    let mut body = board_json(&global.board);
    body["me"] = me;
    ok(&body)
}

/// `GET /api/leaderboard/friends?period=`: the caller and the users they follow.
pub async fn friends(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    ok(&board_json(&leaderboards::friends(&state, &principal.user_id, period).await?))
}

/// `GET /api/leaderboard/class/{classId}?period=`: the class members; only members and the owner
/// may read it (anyone else gets the same 404 as for a missing class).
pub async fn class(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let period = period(&req)?;
    let (class, members) = classes::readable(&state, &principal.user_id, &path_param(&req, "classId")?).await?;
    let mut board = board_json(&leaderboards::board_of(&state, members, period, &principal.user_id).await?);
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

fn named_json(n: &Named) -> Value {
    json!({ "userId": n.user_id, "displayName": n.display_name })
}

/// `POST /api/friends {"userId"}`: ask to follow a user. Following needs their consent: the
/// request waits until they accept it (`POST /api/friends/requests/{userId}/accept`).
pub async fn follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let body: FollowRequest = json_body(&req)?;
    let other = UserId::parse(body.user_id)?;
    match leaderboards::follow(&state, &principal.user_id, &other).await? {
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
    leaderboards::unfollow(&state, &principal.user_id, &other).await?;
    ok(&json!({ "userId": other, "following": false, "requested": false }))
}

/// `GET /api/friends`: whom the caller follows, and whom they asked to follow (`pending`).
pub async fn list_friends(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let follows = leaderboards::follows(&state, &principal.user_id).await?;
    ok(&json!({
        "items": follows.following.iter().map(named_json).collect::<Vec<_>>(),
        "pending": follows.pending.iter().map(named_json).collect::<Vec<_>>(),
    }))
}

/// `GET /api/friends/requests`: who asks to follow the caller, oldest first.
pub async fn follow_requests(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requests = leaderboards::follow_requests(&state, &principal.user_id).await?;
    let items: Vec<Value> = requests
        .iter()
        .map(|r| {
            let mut item = named_json(&r.requester);
            item["requestedAt"] = json!(r.requested_at.to_string());
            item
        })
        .collect();
    ok(&json!({ "items": items }))
}

/// `POST /api/friends/requests/{userId}/accept`: the caller lets `userId` follow them (their
/// friends board then shows the caller). No request from them is a 404.
pub async fn accept_follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requester = UserId::parse(path_param(&req, "userId")?)?;
    leaderboards::accept(&state, &principal.user_id, &requester).await?;
    ok(&json!({ "userId": requester, "accepted": true }))
}

/// `DELETE /api/friends/requests/{userId}`: the caller declines `userId`'s request.
pub async fn decline_follow(req: Request, state: Arc<AppState>) -> HttpResult {
    let principal = state.authenticate(&req)?;
    let requester = UserId::parse(path_param(&req, "userId")?)?;
    leaderboards::decline(&state, &principal.user_id, &requester).await?;
    ok(&json!({ "userId": requester, "accepted": false }))
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
    let privacy =
        leaderboards::set_privacy(&state, &principal.user_id, body.hide_from_leaderboards, name.as_deref()).await?;
    ok(&json!({
        "userId": principal.user_id,
        "hideFromLeaderboards": privacy.hide_from_leaderboards,
        "displayName": privacy.display_name,
    }))
}
