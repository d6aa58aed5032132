//! Token rewards end to end: awards through the rewards queue and worker, streaks, redemption,
//! vouchers at /api/payments/process with the Stripe sandbox, digests through SES (moto),
//! leaderboards, friends, classes and privacy.

use azora_domain::leaderboard::default_display_name;
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use azora_e2e::{AppOptions, TestApp, error_code, json_of, spawn_app, spawn_app_with, unique};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

fn settings(pairs: &[(&str, &str)]) -> AppOptions {
    AppOptions { settings: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), ..Default::default() }
}

async fn balance(app: &TestApp, token: &str) -> Value {
    let (status, body) = json_of(app.get("/api/tokens/balance", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls the balance until it equals `want` (the rewards worker runs asynchronously).
async fn wait_balance(app: &TestApp, token: &str, want: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let body = balance(app, token).await;
        if body["balance"] == want {
            return body;
        }
        assert!(Instant::now() < deadline, "balance never reached {want}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn history(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, body) = json_of(app.get("/api/tokens/history?limit=100", Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// A manual admin award (201).
async fn grant(app: &TestApp, user: &str, amount: i64) -> Value {
    let admin = app.token("admin-rewards", &["admin"]);
    let (status, body) = json_of(
        app.post(
            "/api/tokens/award",
            Some(&admin),
            Some(&unique("grant")),
            &json!({ "userId": user, "amount": amount, "reason": "contest_winner" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body
}

async fn complete(app: &TestApp, body: Value) -> (u16, Value) {
    let service = app.token("learning-platform", &["service"]);
    json_of(app.post("/api/tokens/award", Some(&service), None, &body).await).await
}

async fn redeem(app: &TestApp, token: &str, reward: &str, key: &str) -> (u16, Value) {
    json_of(app.post("/api/tokens/redeem", Some(token), Some(key), &json!({ "rewardId": reward })).await).await
}

#[tokio::test]
async fn the_same_completion_delivered_five_times_awards_once() {
    let app = spawn_app().await;
    let learner = unique("learner");
    let token = app.token(&learner, &["student"]);
    let event = json!({ "userId": learner, "reason": "course_completion", "courseId": "crs_rust_101" });
    let sends: Vec<_> = (0..5)
        .map(|_| {
            let rb = app
                .request(Method::POST, "/api/tokens/award", Some(&app.token("learning-platform", &["service"])))
                .json(&event);
            tokio::spawn(async move { json_of(rb.send().await.unwrap()).await })
        })
        .collect();
    for s in sends {
        let (status, body) = s.await.unwrap();
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["sourceKey"], "completion#crs_rust_101");
    }
    let b = wait_balance(&app, &token, 100).await;
    assert_eq!(b["lifetimeEarned"], 100);
    // Let every delivery be processed, then check nothing more was awarded.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let entries = history(&app, &token).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    assert_eq!(
        (e["kind"].as_str(), e["reason"].as_str(), e["delta"].as_i64()),
        (Some("award"), Some("course_completion"), Some(100))
    );
    assert_eq!(e["sourceKey"], "completion#crs_rust_101");
    assert_eq!(e["balanceAfter"], 100);
    assert_eq!(e["details"]["multiplierPercent"], 100);
    assert_eq!(balance(&app, &token).await["balance"], 100);

    // The multiplier comes from the subscription: Pro earns 150 % of the base.
    let pro = unique("pro-learner");
    let sub = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::Active,
        interval: Some(BillingInterval::Month),
        current_period_end: None,
        cancel_at_period_end: false,
    };
    app.booted.state.store.put_subscription(&UserId::parse(pro.as_str()).unwrap(), &sub).await.unwrap();
    let (status, _) =
        complete(&app, json!({ "userId": pro, "reason": "course_completion", "courseId": "crs_rust_101" })).await;
    assert_eq!(status, 202);
    wait_balance(&app, &app.token(&pro, &["student"]), 150).await;
}

#[tokio::test]
async fn streaks_count_local_days_across_a_dst_change() {
    let app = spawn_app().await;
    // New York springs forward on 2026-03-08. Three completions at these instants are, in New
    // York: Mar 7 23:30 EST, Mar 8 23:30 EDT (23 h later) and Mar 9 01:30 EDT — three days in a row;
    // in UTC: Mar 8, Mar 9, Mar 9 — two days.
    let instants = ["2026-03-08T04:30:00Z", "2026-03-09T03:30:00Z", "2026-03-09T05:30:00Z"];
    for (zone, first_zone, expected) in
        [("America/New_York", Some("America/New_York"), [100, 210, 330]), ("UTC", None, [100, 210, 320])]
    {
        let learner = unique("streaker");
        let token = app.token(&learner, &["student"]);
        for (i, at) in instants.iter().enumerate() {
            let mut event = json!({ "userId": learner, "reason": "course_completion", "courseId": format!("crs_{i}"), "completedAt": at });
            // The zone is sent once; later events use the one stored with the user.
            if i == 0
                && let Some(z) = first_zone
            {
                event["timeZone"] = json!(z);
            }
            let (status, body) = complete(&app, event).await;
            assert_eq!(status, 202, "{body}");
            wait_balance(&app, &token, expected[i]).await;
        }
        let b = balance(&app, &token).await;
        assert_eq!(b["timeZone"], zone);
        let longest = if zone == "UTC" { 2 } else { 3 };
        assert_eq!(b["longestStreak"], longest, "{zone}: {b}");
        assert_eq!(b["currentStreak"], 0, "the streak ended long ago");
        assert_eq!(b["lastActivityDay"], "2026-03-09");
        let newest = &history(&app, &token).await[0];
        assert_eq!(newest["details"]["streakDays"], if zone == "UTC" { 2 } else { 3 });
        assert_eq!(newest["details"]["timeZone"], zone);
    }
}

#[tokio::test]
async fn fifty_concurrent_redemptions_of_ten_on_a_balance_of_one_hundred() {
    let catalog = r#"[{"id":"mini_voucher","title":"USD 0.10 off","cost":10,"kind":"course_voucher","discount":{"amount":10,"currency":"USD"}}]"#;
    let app = spawn_app_with(settings(&[("TOKEN_REWARDS_CATALOG", catalog)])).await;
    let user = unique("spender");
    let token = app.token(&user, &["student"]);
    grant(&app, &user, 100).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let rb = app
                .request(Method::POST, "/api/tokens/redeem", Some(&token))
                .header("Idempotency-Key", format!("r-{i}"))
                .json(&json!({ "rewardId": "mini_voucher" }));
            tokio::spawn(async move { json_of(rb.send().await.unwrap()).await })
        })
        .collect();
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => ok += 1,
            422 => {
                assert_eq!(error_code(&body), "insufficient_balance");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok, refused), (10, 40));
    let b = balance(&app, &token).await;
    assert_eq!((b["balance"].as_i64(), b["lifetimeRedeemed"].as_i64()), (Some(0), Some(100)));
    assert_eq!(b["vouchers"].as_array().unwrap().len(), 10);
    let entries = history(&app, &token).await;
    assert_eq!(entries.len(), 11);
    assert_eq!(entries.iter().map(|e| e["delta"].as_i64().unwrap()).sum::<i64>(), 0, "balance = sum of the ledger");
}

#[tokio::test]
async fn a_voucher_pays_for_one_purchase_and_its_tokens_return_on_a_full_refund() {
    let app = spawn_app().await;
    let instructor = unique("teacher");
    let course = app.seed_course(&instructor, 1999, "USD").await;
    let other_course = app.seed_course(&instructor, 2999, "USD").await;
    let euro_course = app.seed_course(&instructor, 2999, "EUR").await;
    let buyer = unique("buyer");
    let email = format!("{buyer}@example.com");
    let token = app.token_with_email(&buyer, &["student"], &email);
    grant(&app, &buyer, 600).await;

    let (status, body) = json_of(app.get("/api/tokens/rewards", Some(&token)).await).await;
    assert_eq!(status, 200);
    assert!(body["items"].as_array().unwrap().iter().any(|r| r["id"] == "course_voucher_500" && r["cost"] == 500));
    let (status, redeemed) = redeem(&app, &token, "course_voucher_500", "v-1").await;
    assert_eq!(status, 201, "{redeemed}");
    assert_eq!(redeemed["balance"], 100);
    let voucher = redeemed["voucher"]["voucherId"].as_str().unwrap().to_string();
    assert_eq!(redeemed["voucher"]["discount"], json!({ "amount": 500, "currency": "USD" }));
    // A replay is the same redemption.
    let (status, replay) = redeem(&app, &token, "course_voucher_500", "v-1").await;
    assert_eq!((status, replay["voucher"]["voucherId"].as_str()), (201, Some(voucher.as_str())));

    let pay = |course: &str, key: &str, voucher: &str| {
        let body = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_visa", "voucherId": voucher });
        let rb =
            app.request(Method::POST, "/api/payments/process", Some(&token)).header("Idempotency-Key", key).json(&body);
        async move { json_of(rb.send().await.unwrap()).await }
    };
    // A declined card cancels that payment and gives the voucher back for the next attempt.
    let declined = json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": "pm_card_chargeDeclined", "voucherId": voucher });
    let (status, body) = json_of(app.post("/api/payments/process", Some(&token), Some("p-0"), &declined).await).await;
    assert_eq!((status, error_code(&body)), (402, "card_declined"));
    assert_eq!(
        (body["error"]["voucherReleased"].as_bool(), body["error"]["status"].as_str()),
        (Some(true), Some("canceled")),
        "{body}"
    );
    let declined_payment = body["error"]["paymentId"].as_str().unwrap().to_string();
    let (_, p) = json_of(app.get(&format!("/api/payments/{declined_payment}"), Some(&token)).await).await;
    assert_eq!(p["status"], "canceled");
    assert_eq!(balance(&app, &token).await["vouchers"][0]["voucherId"], voucher);

    let (status, paid) = pay(&course, "p-1", &voucher).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!(paid["amount"], 1499);
    assert_eq!(paid["voucher"], json!({ "voucherId": voucher, "discount": 500, "listAmount": 1999 }));
    let payment_id = paid["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &token, |p| p["fulfilled"] == true).await;
    let charged = app.stripe_requests("POST", "/v1/payment_intents").await;
    assert_eq!(charged.len(), 2, "the declined attempt and this one");
    assert!(charged.iter().all(|c| c["params"]["amount"] == "1499"));

    // Used once only: another purchase with it is refused, and nothing is charged.
    let (status, body) = pay(&other_course, "p-2", &voucher).await;
    assert_eq!((status, error_code(&body)), (409, "voucher_used"));
    assert_eq!(app.stripe_requests("POST", "/v1/payment_intents").await.len(), 2, "nothing more charged");
    let (status, body) = pay(&other_course, "p-3", "vch_nope").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    // The instructor earns 70 % of the cash received (floor(0.7 × 1499)): never more than was paid.
    let teacher = app.token(&instructor, &["instructor"]);
    let (_, earnings) = json_of(app.get("/api/instructors/me/earnings", Some(&teacher)).await).await;
    assert_eq!(earnings["balances"][0]["pending"], 1049, "{earnings}");
    let html = app.get(&format!("/api/payments/{payment_id}/receipt"), Some(&token)).await.text().await.unwrap();
    assert!(html.contains(&format!("Token voucher {voucher}")) && html.contains("USD -5.00"), "{html}");
    assert!(html.contains("USD 14.99"), "{html}");

    // A full refund returns the voucher's 500 tokens once, and reverses the instructor's share.
    let admin = app.token("admin-1", &["admin"]);
    let (status, refund) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("rf-1"),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{refund}");
    assert_eq!((refund["amount"].as_i64(), refund["paymentStatus"].as_str()), (Some(1499), Some("refunded")));
    wait_balance(&app, &token, 600).await;
    tokio::time::sleep(Duration::from_millis(1500)).await; // the refund webhook is processed too
    let reversals: Vec<Value> = history(&app, &token).await.into_iter().filter(|e| e["kind"] == "reversal").collect();
    assert_eq!(reversals.len(), 1, "{reversals:?}");
    assert_eq!(reversals[0]["sourceKey"], format!("voucher-refund#{payment_id}"));
    assert_eq!(reversals[0]["delta"], 500);
    let b = balance(&app, &token).await;
    assert_eq!((b["balance"].as_i64(), b["lifetimeRedeemed"].as_i64()), (Some(600), Some(0)));
    let (_, earnings) = json_of(app.get("/api/instructors/me/earnings", Some(&teacher)).await).await;
    assert_eq!(
        (earnings["balances"][0]["pending"].as_i64(), earnings["balances"][0]["reversed"].as_i64()),
        (Some(0), Some(1049))
    );

    // A USD voucher does not pay for a EUR order, and stays available.
    let (_, second) = redeem(&app, &token, "course_voucher_500", "v-2").await;
    let voucher2 = second["voucher"]["voucherId"].as_str().unwrap().to_string();
    let (status, body) = pay(&euro_course, "p-4", &voucher2).await;
    assert_eq!((status, error_code(&body)), (422, "voucher_currency_mismatch"));
    assert_eq!(balance(&app, &token).await["vouchers"][0]["voucherId"], voucher2);
}

#[tokio::test]
async fn a_pro_month_reports_pro_features_and_the_pro_multiplier() {
    let app = spawn_app().await;
    let user = unique("saver");
    let token = app.token(&user, &["student"]);
    let (_, free) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(free["tier"], "free");
    grant(&app, &user, 2000).await;
    let (status, body) = redeem(&app, &token, "pro_month", "pm-1").await;
    assert_eq!(status, 201, "{body}");
    let until = body["proCreditUntil"].as_str().expect("a Pro credit").to_string();
    let (_, current) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(current["tier"], "pro");
    assert_eq!(current["proCreditUntil"], until);
    assert_eq!(current["tokenMultiplierPercent"], 150);
    assert!(current["features"].as_array().unwrap().iter().any(|f| f == "ai_tutor"));
    let (status, body) = redeem(&app, &token, "pro_month", "pm-2").await;
    assert_eq!((status, error_code(&body)), (422, "insufficient_balance"));
    let (status, _) =
        complete(&app, json!({ "userId": user, "reason": "course_completion", "courseId": "crs_x" })).await;
    assert_eq!(status, 202);
    wait_balance(&app, &token, 150).await;
}

#[tokio::test]
async fn a_burst_of_awards_becomes_one_digest_email() {
    let app = spawn_app_with(settings(&[("TOKEN_DIGEST_WINDOW_SECONDS", "8")])).await;
    let user = unique("digest");
    let email = format!("{user}@example.com");
    let admin = app.token("admin-digest", &["admin"]);
    // Start just after a window boundary so the burst falls in one window.
    let now_ms = jiff::Timestamp::now().as_millisecond();
    tokio::time::sleep(Duration::from_millis((8000 - now_ms.rem_euclid(8000) + 200) as u64)).await;
    for (i, amount) in [10, 20, 30].into_iter().enumerate() {
        let (status, body) = json_of(
            app.post(
                "/api/tokens/award",
                Some(&admin),
                Some(&format!("d-{i}")),
                &json!({ "userId": user, "amount": amount, "reason": "quiz_streak", "email": email }),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    assert!(app.sent_emails(&email).await.is_empty(), "nothing is sent before the window ends");
    let emails = app.wait_for_emails(&email, 1).await;
    assert_eq!(emails.len(), 1, "one digest");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let emails = app.sent_emails(&email).await;
    assert_eq!(emails.len(), 1, "still one digest: {emails:?}");
    assert_eq!(emails[0]["subject"], "You earned Azora tokens");
    let text = emails[0].to_string();
    assert!(text.contains("You earned 60 tokens in 3 awards.") && text.contains("balance is now 60"), "{text}");
}

async fn put_privacy(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    json_of(app.request(Method::PUT, "/api/users/me/privacy", Some(token)).json(&body).send().await.unwrap()).await
}

#[tokio::test]
async fn leaderboards_rank_by_tokens_earned_and_honour_privacy_and_membership() {
    let app = spawn_app().await;
    let [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(|n| unique(&format!("lb-{n}")));
    let tok = |u: &str| app.token(u, &["student"]);
    for (user, amount) in [(&a, 800), (&b, 200), (&c, 100), (&d, 50)] {
        grant(&app, user, amount).await;
    }
    // Spending does not lower the score (tokens earned).
    let (status, _) = redeem(&app, &tok(&a), "course_voucher_500", "x").await;
    assert_eq!(status, 201);
    let (status, body) = put_privacy(&app, &tok(&b), json!({ "hideFromLeaderboards": true })).await;
    assert_eq!((status, body["hideFromLeaderboards"].as_bool()), (200, Some(true)));
    let (status, _) = put_privacy(&app, &tok(&a), json!({ "hideFromLeaderboards": false, "displayName": "Ada" })).await;
    assert_eq!(status, 200);
    let (status, _) = put_privacy(&app, &tok(&a), json!({ "hideFromLeaderboards": false, "displayName": "" })).await;
    assert_eq!(status, 400);

    for period in ["all", "week"] {
        let (status, board) =
            json_of(app.get(&format!("/api/leaderboard/global?period={period}&limit=3"), Some(&tok(&d))).await).await;
        assert_eq!(status, 200, "{board}");
        let entries = board["entries"].as_array().unwrap();
        let got: Vec<(i64, Value, Value, i64)> = entries
            .iter()
            .map(|x| {
                (
                    x["rank"].as_i64().unwrap(),
                    x["userId"].clone(),
                    x["displayName"].clone(),
                    x["score"].as_i64().unwrap(),
                )
            })
            .collect();
        // No board shows user ids: display names only.
        assert_eq!(got[0], (1, Value::Null, json!("Ada"), 800));
        assert_eq!(got[1], (2, Value::Null, json!("Anonymous learner"), 200));
        assert_eq!((got[2].0, &got[2].1, got[2].3), (3, &Value::Null, 100));
        assert_eq!(got[2].2, json!(default_display_name(&c)));
        assert_eq!(entries.len(), 3);
        assert_eq!(board["me"]["rank"], 4, "{board}");
        assert_eq!((board["me"]["rankExact"].as_bool(), board["me"]["score"].as_i64()), (Some(true), Some(50)));
    }
    // The hidden user still sees their own rank.
    let (status, board) = json_of(app.get("/api/leaderboard/global", Some(&tok(&b))).await).await;
    assert_eq!(status, 200, "{board}");
    assert_eq!((board["me"]["rank"].as_i64(), board["me"]["hidden"].as_bool()), (Some(2), Some(true)), "{board}");
    assert_eq!(board["entries"][1]["isMe"], true);
    assert_eq!(board["entries"][1]["anonymous"], false, "a hidden user sees their own entry");
    // Someone without tokens has no rank.
    let (_, board) = json_of(app.get("/api/leaderboard/global", Some(&tok(&e))).await).await;
    assert_eq!(board["me"]["rank"], Value::Null);
    let (status, body) = json_of(app.get("/api/leaderboard/global?period=month", Some(&tok(&e))).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_period"));

    // Friends: the caller and whom they follow with consent, nobody else; a hidden friend is
    // anonymous too.
    let ask = |from: &str, to: &str| {
        let (app, token) = (&app, tok(from));
        let body = json!({ "userId": to });
        async move { json_of(app.post("/api/friends", Some(&token), None, &body).await).await }
    };
    let answer = |user: &str, requester: &str, accept: bool| {
        let (app, token) = (&app, tok(user));
        let (method, path) = if accept {
            (Method::POST, format!("/api/friends/requests/{requester}/accept"))
        } else {
            (Method::DELETE, format!("/api/friends/requests/{requester}"))
        };
        async move { json_of(app.request(method, &path, Some(&token)).send().await.unwrap()).await }
    };
    for other in [&a, &c, &e] {
        let (status, body) = ask(d.as_str(), other.as_str()).await;
        assert_eq!((status, &body["requested"]), (202, &json!(true)), "{body}");
    }
    let (status, body) = ask(d.as_str(), a.as_str()).await;
    assert_eq!((status, &body["requested"]), (200, &json!(true)), "asking twice is a no-op: {body}");
    let (status, body) = ask(d.as_str(), d.as_str()).await;
    assert_eq!((status, error_code(&body)), (400, "cannot_follow_self"));
    // Nothing shows before consent.
    let (_, list) = json_of(app.get("/api/friends", Some(&tok(&d))).await).await;
    assert_eq!((list["items"].as_array().unwrap().len(), list["pending"].as_array().unwrap().len()), (0, 3), "{list}");
    let (status, requests) = json_of(app.get("/api/friends/requests", Some(&tok(&a))).await).await;
    assert_eq!((status, &requests["items"][0]["userId"]), (200, &json!(d)), "{requests}");
    // Someone else cannot answer a's request; a and c accept, e declines.
    assert_eq!(answer(c.as_str(), e.as_str(), true).await.0, 404);
    for (user, accept) in [(&a, true), (&c, true), (&e, false)] {
        let (status, body) = answer(user.as_str(), d.as_str(), accept).await;
        assert_eq!((status, &body["accepted"]), (200, &json!(accept)), "{body}");
    }
    assert_eq!(answer(a.as_str(), d.as_str(), true).await.0, 404, "answered already");
    let (status, body) = ask(d.as_str(), a.as_str()).await;
    assert_eq!((status, &body["following"]), (200, &json!(true)), "{body}");
    assert_eq!(ask(e.as_str(), b.as_str()).await.0, 202);
    assert_eq!(answer(b.as_str(), e.as_str(), true).await.0, 200);
    let board_names = |path: String, token: String| {
        let app = &app;
        async move {
            let (status, board) = json_of(app.get(&path, Some(&token)).await).await;
            assert_eq!(status, 200, "{board}");
            let entries = board["entries"].as_array().unwrap();
            assert!(entries.iter().all(|x| x.get("userId").is_none()), "no user ids on a board: {board}");
            entries
                .iter()
                .map(|x| (x["displayName"].as_str().unwrap().to_string(), x["rank"].as_i64().unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let friends_board = |token: String| board_names("/api/leaderboard/friends".to_string(), token);
    let name = |u: &str| default_display_name(u);
    assert_eq!(friends_board(tok(&d)).await, vec![("Ada".into(), 1), (name(&c), 2), (name(&d), 3)]);
    assert_eq!(
        friends_board(tok(&e)).await,
        vec![("Anonymous learner".into(), 1), (name(&e), 2)],
        "another user's board is their own, and b hides"
    );
    let (_, list) = json_of(app.get("/api/friends", Some(&tok(&d))).await).await;
    assert_eq!((list["items"].as_array().unwrap().len(), list["pending"].as_array().unwrap().len()), (2, 0), "{list}");
    let resp = app.request(Method::DELETE, &format!("/api/friends/{c}"), Some(&tok(&d))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.request(Method::DELETE, &format!("/api/friends/{c}"), Some(&tok(&d))).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(friends_board(tok(&d)).await, vec![("Ada".into(), 1), (name(&d), 2)]);

    // Classes: nobody is put in one; members join with the owner's code. Members and the owner
    // read the board; anyone else gets 404.
    let owner = unique("instructor");
    let owner_token = app.token(&owner, &["instructor"]);
    let (status, body) =
        json_of(app.post("/api/classes", Some(&tok(&a)), None, &json!({ "name": "Rust 1" })).await).await;
    assert_eq!((status, error_code(&body)), (403, "forbidden"));
    let (status, body) = json_of(
        app.post("/api/classes", Some(&owner_token), None, &json!({ "name": "Rust 1", "memberIds": [a, b] })).await,
    )
    .await;
    assert_eq!(status, 400, "members cannot be added by the owner: {body}");
    let (status, class) =
        json_of(app.post("/api/classes", Some(&owner_token), Some("class-1"), &json!({ "name": "Rust 1" })).await)
            .await;
    assert_eq!(status, 201, "{class}");
    assert_eq!(class["memberCount"], 0);
    let code = class["joinCode"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 16, "{class}");
    let class_id = class["classId"].as_str().unwrap().to_string();
    let join = |token: String, code: String| {
        let app = &app;
        async move { json_of(app.post("/api/classes/join", Some(&token), None, &json!({ "joinCode": code })).await).await }
    };
    let (status, joined) = join(tok(&a), code.clone()).await;
    assert_eq!((status, &joined["classId"], &joined["memberCount"]), (201, &json!(class_id), &json!(1)), "{joined}");
    assert!(
        joined.get("joinCode").is_none() && joined.get("ownerId").is_none(),
        "only the owner sees the code: {joined}"
    );
    let (status, joined) = join(tok(&a), code.to_lowercase()).await;
    assert_eq!((status, &joined["memberCount"]), (200, &json!(1)), "joining again changes nothing: {joined}");
    assert_eq!(join(tok(&b), code.clone()).await.0, 201);
    let (status, body) = join(tok(&c), "0000000000000000".into()).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let path = format!("/api/leaderboard/class/{class_id}");
    for reader in [owner_token.clone(), tok(&a)] {
        let names = board_names(path.clone(), reader).await;
        assert_eq!(names, vec![("Ada".into(), 1), ("Anonymous learner".into(), 2)], "b hides here too");
    }
    let (_, board) = json_of(app.get(&path, Some(&tok(&b))).await).await;
    assert_eq!((&board["entries"][1]["displayName"], &board["entries"][1]["isMe"]), (&json!(name(&b)), &json!(true)));
    let (_, board) = json_of(app.get(&path, Some(&owner_token)).await).await;
    assert_eq!(board["class"]["joinCode"], json!(code));
    assert_eq!(board["class"]["name"], "Rust 1");
    for outsider in [tok(&c), app.token("another-instructor", &["instructor"])] {
        let (status, body) = json_of(app.get(&path, Some(&outsider)).await).await;
        assert_eq!((status, error_code(&body)), (404, "not_found"));
    }
    let (status, _) = json_of(app.get("/api/leaderboard/class/cls_missing", Some(&owner_token)).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn each_user_lists_the_classes_they_created_or_joined_once() {
    let app = spawn_app().await;
    let owner = app.token(&unique("teacher"), &["instructor"]);
    let learner = app.token(&unique("learner"), &["student"]);
    let outsider = app.token(&unique("outsider"), &["student"]);
    let create = |key: &'static str, name: &'static str| {
        let (app, owner) = (&app, owner.clone());
        async move { json_of(app.post("/api/classes", Some(&owner), Some(key), &json!({ "name": name })).await).await.1 }
    };
    let first = create("list-1", "Algebra").await;
    assert_eq!(create("list-1", "Algebra").await["classId"], first["classId"], "a retried create is one class");
    let second = create("list-2", "Geometry").await;
    for (token, code) in [(&learner, &first["joinCode"]), (&learner, &first["joinCode"]), (&owner, &first["joinCode"])]
    {
        let (status, body) =
            json_of(app.post("/api/classes/join", Some(token), None, &json!({ "joinCode": code })).await).await;
        assert!(status == 201 || status == 200, "{body}");
    }
    let list = |token: String, query: &'static str| {
        let app = &app;
        async move { json_of(app.get(&format!("/api/classes{query}"), Some(&token)).await).await }
    };

    let (status, mine) = list(owner.clone(), "").await;
    assert_eq!(status, 200, "{mine}");
    // By class id (random): compare as sets.
    let mut items = mine["items"].as_array().unwrap().clone();
    items.sort_by_key(|c| c["name"].as_str().unwrap().to_string());
    let names: Vec<_> = items.iter().map(|c| (c["name"].as_str().unwrap(), c["role"].as_str().unwrap())).collect();
    assert_eq!(names, vec![("Algebra", "owner"), ("Geometry", "owner")], "created, and joined by its owner, once each");
    assert_eq!(items[0]["joinCode"], first["joinCode"], "the owner sees their codes");
    assert_eq!(items[0]["memberCount"], 2, "{mine}");
    assert_eq!(items[1]["classId"], second["classId"]);
    assert!(items.iter().all(|c| c["since"].as_str().is_some_and(|s| s.parse::<jiff::Timestamp>().is_ok())));

    let (_, theirs) = list(learner.clone(), "").await;
    let items = theirs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "joined twice, listed once: {theirs}");
    assert_eq!((&items[0]["classId"], &items[0]["role"]), (&first["classId"], &json!("member")));
    assert!(items[0].get("joinCode").is_none() && items[0].get("ownerId").is_none(), "only owners see codes: {theirs}");

    let (_, none) = list(outsider, "").await;
    assert_eq!(none, json!({ "items": [], "nextCursor": null }), "nobody else's classes");

    let (_, page1) = list(owner.clone(), "?limit=1").await;
    let cursor = page1["nextCursor"].as_str().expect("a second page").to_string();
    let (_, page2) = json_of(app.get(&format!("/api/classes?limit=1&cursor={cursor}"), Some(&owner)).await).await;
    let mut paged = [page1["items"][0]["name"].clone(), page2["items"][0]["name"].clone()];
    paged.sort_by_key(|n| n.to_string());
    assert_eq!(paged, [json!("Algebra"), json!("Geometry")], "{page1} {page2}");
    let (status, body) = list(owner, "?limit=0").await;
    assert_eq!((status, error_code(&body)), (400, "invalid_limit"));
}

#[tokio::test]
async fn awards_and_redemptions_are_validated_and_authorized() {
    let app = spawn_app().await;
    let user = unique("val");
    let student = app.token(&user, &["student"]);
    let service = app.token("learning-platform", &["service"]);
    let admin = app.token("admin-val", &["admin"]);
    let award = |token: &str, key: Option<&str>, body: Value| {
        let rb = app.request(Method::POST, "/api/tokens/award", Some(token)).json(&body);
        let rb = match key {
            Some(k) => rb.header("Idempotency-Key", k),
            None => rb,
        };
        async move { json_of(rb.send().await.unwrap()).await }
    };
    let manual = json!({ "userId": user, "amount": 50, "reason": "bonus" });
    let cases = [
        (student.clone(), Some("k1"), manual.clone(), 403, "forbidden"),
        (service.clone(), Some("k2"), manual.clone(), 403, "forbidden"),
        (admin.clone(), None, manual.clone(), 400, "idempotency_key_required"),
        (admin.clone(), Some("k3"), json!({ "userId": user, "reason": "bonus" }), 400, "validation_failed"),
        (
            admin.clone(),
            Some("k4"),
            json!({ "userId": user, "amount": 0, "reason": "bonus" }),
            400,
            "validation_failed",
        ),
        (
            admin.clone(),
            Some("k5"),
            json!({ "userId": user, "amount": 5, "reason": "Bad Reason" }),
            400,
            "validation_failed",
        ),
        (service.clone(), None, json!({ "userId": user, "reason": "course_completion" }), 400, "validation_failed"),
        (
            service.clone(),
            None,
            json!({ "userId": user, "reason": "course_completion", "courseId": "c", "amount": 5 }),
            400,
            "validation_failed",
        ),
        (
            service.clone(),
            None,
            json!({ "userId": user, "reason": "course_completion", "courseId": "c", "timeZone": "Mars/Base" }),
            422,
            "unknown_time_zone",
        ),
        (
            service.clone(),
            None,
            json!({ "userId": user, "reason": "course_completion", "courseId": "c", "timeZone": "Mars Base!" }),
            400,
            "validation_failed",
        ),
        (
            service.clone(),
            None,
            json!({ "userId": user, "reason": "course_completion", "courseId": "c", "completedAt": "2999-01-01T00:00:00Z" }),
            422,
            "completed_in_future",
        ),
        (
            service.clone(),
            None,
            json!({ "userId": "a#b", "reason": "course_completion", "courseId": "c" }),
            400,
            "validation_failed",
        ),
    ];
    for (i, (token, key, body, status, code)) in cases.into_iter().enumerate() {
        let (got, resp) = award(&token, key, body).await;
        assert_eq!((got, error_code(&resp)), (status, code), "case {i}: {resp}");
    }
    // A manual award is audited, idempotent, and its source key applies once.
    let (status, first) =
        award(&admin, Some("m-1"), json!({ "userId": user, "amount": 50, "reason": "bonus", "sourceKey": "event#42" }))
            .await;
    assert_eq!(status, 201, "{first}");
    let (status, replay) =
        award(&admin, Some("m-1"), json!({ "userId": user, "amount": 50, "reason": "bonus", "sourceKey": "event#42" }))
            .await;
    assert_eq!((status, &replay), (201, &first));
    let (status, dup) =
        award(&admin, Some("m-2"), json!({ "userId": user, "amount": 50, "reason": "bonus", "sourceKey": "event#42" }))
            .await;
    assert_eq!((status, dup["duplicate"].as_bool()), (200, Some(true)));
    let (_, audit) = json_of(app.get("/api/admin/audit", Some(&admin)).await).await;
    let awards: Vec<&Value> =
        audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "tokens.award").collect();
    assert_eq!(awards.len(), 1);
    assert_eq!(awards[0]["target"], format!("user:{user}"));
    // A negative manual award is an adjustment that cannot overdraw.
    let (status, body) =
        award(&admin, Some("m-3"), json!({ "userId": user, "amount": -60, "reason": "correction" })).await;
    assert_eq!((status, error_code(&body)), (422, "insufficient_balance"));
    let (status, body) =
        award(&admin, Some("m-4"), json!({ "userId": user, "amount": -20, "reason": "correction" })).await;
    assert_eq!((status, body["entry"]["kind"].as_str()), (201, Some("adjust")));
    assert_eq!(balance(&app, &student).await["balance"], 30);

    let (status, body) = redeem(&app, &student, "no_such_reward", "r-1").await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));
    let (status, body) =
        json_of(app.post("/api/tokens/redeem", Some(&student), None, &json!({ "rewardId": "pro_month" })).await).await;
    assert_eq!((status, error_code(&body)), (400, "idempotency_key_required"));
    let (status, body) = json_of(app.get("/api/tokens/history?cursor=garbage", Some(&student)).await).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_cursor"));
    let (status, _) = json_of(app.get("/api/tokens/balance", None).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn outside_the_top_thousand_the_rank_is_a_percentile_band_from_the_stats_job() {
    let app = spawn_app().await;
    let store = &app.booted.state.store;
    let at = jiff::Timestamp::now();
    // 1,200 users with scores 10..=12,000 (user i has 10 × (i + 1)), written straight to the table.
    let items = (0..1200)
        .map(|i| azora_store::tokens::score_item(&format!("band-user-{i:04}"), "all", 10 * (i + 1), at, None))
        .collect();
    store.batch_put(items).await.unwrap();
    let lowest = app.token("band-user-0000", &["student"]);
    let (_, board) = json_of(app.get("/api/leaderboard/global", Some(&lowest)).await).await;
    assert_eq!(board["me"]["rank"], Value::Null, "{board}");
    assert_eq!(board["me"]["rankExact"], false);
    assert_eq!(board["me"]["percentileBand"], Value::Null, "no snapshot yet");
    let (status, job) = json_of(app.post("/_local/jobs/leaderboard-stats", None, None, &json!({})).await).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["boards"][0]["periodId"], "all");
    let (_, board) = json_of(app.get("/api/leaderboard/global", Some(&lowest)).await).await;
    assert_eq!(board["me"]["percentileBand"], "bottom 25%", "{board}");
    assert!(board["me"]["estimatedParticipants"].as_u64().is_some_and(|n| (900..=1500).contains(&n)), "{board}");
    // Inside the top 1,000 the rank is exact: users 1000..=1199 are ahead of user 999.
    let (_, board) =
        json_of(app.get("/api/leaderboard/global", Some(&app.token("band-user-0999", &["student"]))).await).await;
    assert_eq!((board["me"]["rank"].as_u64(), board["me"]["rankExact"].as_bool()), (Some(201), Some(true)), "{board}");
    let (_, board) =
        json_of(app.get("/api/leaderboard/global", Some(&app.token("band-user-1150", &["student"]))).await).await;
    assert_eq!(board["me"]["rank"], 50);
    assert_eq!(board["entries"][0]["score"], 12000);
}

#[tokio::test]
async fn a_voucher_left_on_an_abandoned_3ds_payment_comes_back_after_the_hold() {
    let app = spawn_app().await;
    let instructor = unique("teacher");
    let course = app.seed_course(&instructor, 1999, "USD").await;
    let other_course = app.seed_course(&instructor, 2999, "USD").await;
    let buyer = unique("buyer");
    let token = app.token(&buyer, &["student"]);
    grant(&app, &buyer, 600).await;
    let (status, redeemed) = redeem(&app, &token, "course_voucher_500", "v-1").await;
    assert_eq!(status, 201, "{redeemed}");
    let voucher = redeemed["voucher"]["voucherId"].as_str().unwrap().to_string();
    let order = |course: &str, card: &str| json!({ "items": [{ "type": "course", "courseId": course }], "paymentMethodId": card, "voucherId": voucher });

    // A 3-D Secure payment takes the voucher, and the buyer never completes the challenge.
    let abandoned = order(&course, "pm_card_authenticationRequired");
    let (status, started) =
        json_of(app.post("/api/payments/process", Some(&token), Some("p-3ds"), &abandoned).await).await;
    assert_eq!((status, started["status"].as_str()), (201, Some("requires_action")), "{started}");
    let held_by = started["paymentId"].as_str().unwrap().to_string();
    let intent = started["clientSecret"].as_str().and_then(|s| s.split("_secret").next()).unwrap().to_string();

    // While the challenge may still be completed, the voucher stays with that order.
    let retry = order(&other_course, "pm_card_visa");
    let (status, body) = json_of(app.post("/api/payments/process", Some(&token), Some("p-early"), &retry).await).await;
    assert_eq!((status, error_code(&body)), (409, "voucher_used"), "{body}");

    // After the hold, a new order takes it back: the abandoned order is canceled (its intent at
    // Stripe first, so it can never be charged) and the new one gets the discount.
    app.booted.state.clock.advance(31 * 60);
    let (status, paid) = json_of(app.post("/api/payments/process", Some(&token), Some("p-late"), &retry).await).await;
    assert_eq!(status, 201, "{paid}");
    assert_eq!((paid["amount"].as_i64(), paid["voucher"]["voucherId"].as_str()), (Some(2499), Some(voucher.as_str())));
    let cancels = app.stripe_requests("POST", &format!("/v1/payment_intents/{intent}/cancel")).await;
    assert_eq!(cancels.len(), 1, "the abandoned intent is canceled once");
    let (_, old) = json_of(app.get(&format!("/api/payments/{held_by}"), Some(&token)).await).await;
    assert_eq!(old["status"], "canceled", "{old}");
}
