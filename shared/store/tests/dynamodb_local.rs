//! Store tests against DynamoDB Local: each test gets its own table, created from template.yaml.

use azora_domain::audit::AuditEntry;
use azora_stack::{LocalStack, Template};
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use azora_store::{Store, StoreError};

async fn fresh_store() -> Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run `make test` (it starts DynamoDB Local)"
    );
    let sdk = azora_stack::sdk_config().await;
    let template = Template::load_default().unwrap();
    let name = format!("store-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    LocalStack::new(&sdk).create_table(template.table().unwrap(), &name).await.unwrap();
    Store::new(aws_sdk_dynamodb::Client::new(&sdk), name)
}

fn req<'a>(key: &'a str, fp: &'a str, attempt: &'a str, now: i64) -> ClaimRequest<'a> {
    ClaimRequest { scope: "test", key, fingerprint: fp, attempt, now, lease_seconds: 60, ttl_seconds: 3600 }
}

#[tokio::test]
async fn a_claim_is_acquired_once_then_replayed() {
    let store = fresh_store().await;
    assert_eq!(store.claim(&req("k", "fp", "a1", 1000)).await.unwrap(), ClaimOutcome::Acquired);
    assert_eq!(store.claim(&req("k", "fp", "a2", 1001)).await.unwrap(), ClaimOutcome::InProgress);
    store.complete_claim("test", "k", "a1", "result").await.unwrap();
    assert_eq!(
        store.claim(&req("k", "fp", "a3", 1002)).await.unwrap(),
        ClaimOutcome::Completed { outcome: "result".into() }
    );
    assert_eq!(store.claim(&req("k", "other", "a4", 1003)).await.unwrap(), ClaimOutcome::Mismatch);
}

#[tokio::test]
async fn an_expired_lease_can_be_taken_over_and_the_old_owner_cannot_complete() {
    let store = fresh_store().await;
    assert_eq!(store.claim(&req("k", "fp", "crashed", 1000)).await.unwrap(), ClaimOutcome::Acquired);
    // Lease is 60 s: at 1061 a retry with the same fingerprint takes over.
    assert_eq!(store.claim(&req("k", "fp", "retry", 1061)).await.unwrap(), ClaimOutcome::Acquired);
    assert!(matches!(store.complete_claim("test", "k", "crashed", "late").await, Err(StoreError::ConditionFailed)));
    store.complete_claim("test", "k", "retry", "ok").await.unwrap();
    assert_eq!(
        store.claim(&req("k", "fp", "x", 1062)).await.unwrap(),
        ClaimOutcome::Completed { outcome: "ok".into() }
    );
}

#[tokio::test]
async fn an_expired_lease_is_not_taken_over_with_another_body() {
    let store = fresh_store().await;
    store.claim(&req("k", "fp", "a1", 1000)).await.unwrap();
    assert_eq!(store.claim(&req("k", "other", "a2", 2000)).await.unwrap(), ClaimOutcome::Mismatch);
}

#[tokio::test]
async fn a_released_claim_can_be_acquired_again() {
    let store = fresh_store().await;
    store.claim(&req("k", "fp", "a1", 1000)).await.unwrap();
    store.release_claim("test", "k", "a1").await.unwrap();
    assert_eq!(store.claim(&req("k", "fp", "a2", 1001)).await.unwrap(), ClaimOutcome::Acquired);
    // Releasing someone else's claim does nothing.
    store.release_claim("test", "k", "a1").await.unwrap();
    assert_eq!(store.claim(&req("k", "fp", "a3", 1002)).await.unwrap(), ClaimOutcome::InProgress);
}

#[tokio::test]
async fn concurrent_claims_have_exactly_one_winner() {
    let store = fresh_store().await;
    let mut handles = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let attempt = format!("a{i}");
            store.claim(&req("race", "fp", &attempt, 1000)).await.unwrap()
        }));
    }
    let mut acquired = 0;
    for h in handles {
        if h.await.unwrap() == ClaimOutcome::Acquired {
            acquired += 1;
        }
    }
    assert_eq!(acquired, 1);
}

#[tokio::test]
async fn audit_entries_list_newest_first_across_pages() {
    let store = fresh_store().await;
    let base: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    for i in 0..5 {
        let entry = AuditEntry {
            id: format!("aud_{i}"),
            at: base + jiff::SignedDuration::from_secs(i),
            actor: "admin".into(),
            action: "x.y".into(),
            target: format!("t:{i}"),
            request_id: "r".into(),
            details: serde_json::json!({ "i": i }),
        };
        store.append_audit(&entry).await.unwrap();
    }
    let p1 = store.list_audit("2026-11", 2, None).await.unwrap();
    let p2 = store.list_audit("2026-11", 2, p1.next_cursor.as_deref()).await.unwrap();
    let p3 = store.list_audit("2026-11", 2, p2.next_cursor.as_deref()).await.unwrap();
    let ids: Vec<String> = [p1.items, p2.items, p3.items].concat().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["aud_4", "aud_3", "aud_2", "aud_1", "aud_0"]);
    assert!(store.list_audit("2026-10", 10, None).await.unwrap().items.is_empty());
    let cursor = store.list_audit("2026-11", 1, None).await.unwrap().next_cursor.unwrap();
    assert!(matches!(store.list_audit("2026-10", 1, Some(&cursor)).await, Err(StoreError::InvalidCursor)));
}

#[tokio::test]
async fn provisioning_adds_indexes_a_kept_table_is_missing() {
    let sdk = azora_stack::sdk_config().await;
    let template = Template::load_default().unwrap();
    let full = template.table().unwrap().clone();
    let mut old = full.clone();
    old.global_indexes.truncate(1);
    let used: Vec<String> =
        old.keys.iter().chain(old.global_indexes.iter().flat_map(|i| i.keys.iter())).map(|k| k.name.clone()).collect();
    old.attributes.retain(|(a, _)| used.contains(a));
    let name = format!("upgrade-test-{}", ulid::Ulid::new().to_string().to_lowercase());
    let stack = LocalStack::new(&sdk);
    stack.create_table(&old, &name).await.unwrap();
    // Repeated provisioning adds what is missing, one index at a time, and never fails (DynamoDB
    // Local may keep an index CREATING for a while; the rest are added on a later start).
    for _ in 0..3 {
        stack.create_table(&full, &name).await.unwrap();
    }
    let described = aws_sdk_dynamodb::Client::new(&sdk).describe_table().table_name(&name).send().await.unwrap();
    let have: Vec<String> =
        described.table.unwrap().global_secondary_indexes.unwrap().into_iter().filter_map(|i| i.index_name).collect();
    assert!(have.len() > 1, "a missing index was added: {have:?}");
    assert!(have.iter().all(|h| full.global_indexes.iter().any(|i| &i.name == h)));
}
