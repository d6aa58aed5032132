use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use azora_e2e::{json_of, spawn_app};

#[tokio::test]
async fn a_user_without_subscription_is_on_free() {
    let app = spawn_app().await;
    let token = app.token("new-user", &["student"]);
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["tier"], "free");
    assert_eq!(body["status"], "active");
    assert_eq!(body["features"], serde_json::json!([]));
    assert_eq!(body["tokenMultiplierPercent"], 100);
    assert_eq!(body["cancelAtPeriodEnd"], false);
}

#[tokio::test]
async fn the_answer_comes_from_dynamodb() {
    let app = spawn_app().await;
    let end = jiff::Timestamp::from_second(1_900_000_000).unwrap();
    let pro = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::Active,
        interval: Some(BillingInterval::Year),
        current_period_end: Some(end),
        cancel_at_period_end: true,
    };
    app.booted.state.store.put_subscription(&UserId::parse("pro-user").unwrap(), &pro).await.unwrap();
    let token = app.token("pro-user", &["student"]);
    let (status, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["tier"], "pro");
    assert_eq!(body["interval"], "year");
    assert_eq!(body["currentPeriodEnd"], end.to_string());
    assert_eq!(body["cancelAtPeriodEnd"], true);
    assert!(body["features"].as_array().unwrap().iter().any(|f| f == "ai_tutor"));
    assert_eq!(body["tokenMultiplierPercent"], 150);

    // Another user still sees their own (Free) plan.
    let other = app.token("someone-else", &["student"]);
    let (_, body) = json_of(app.get("/api/subscriptions/current", Some(&other)).await).await;
    assert_eq!(body["tier"], "free");
}

#[tokio::test]
async fn a_canceled_subscription_grants_no_features() {
    let app = spawn_app().await;
    let canceled = Subscription { tier: Tier::Pro, status: SubscriptionStatus::Canceled, ..Subscription::free() };
    app.booted.state.store.put_subscription(&UserId::parse("lapsed").unwrap(), &canceled).await.unwrap();
    let token = app.token("lapsed", &["student"]);
    let (_, body) = json_of(app.get("/api/subscriptions/current", Some(&token)).await).await;
    assert_eq!(body["status"], "canceled");
    assert_eq!(body["features"], serde_json::json!([]));
}
