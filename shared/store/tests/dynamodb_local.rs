//! Store tests against DynamoDB Local: each test gets its own table, created from template.yaml.

mod common;

use azora_domain::audit::AuditEntry;
use azora_domain::catalog::{CatalogQuery, CatalogSort};
use azora_domain::course::{Course, CourseContent, CourseStats, CourseStatus, Level};
use azora_domain::{Currency, Money, UserId};
use azora_stack::{LocalStack, Template};
use azora_store::StoreError;
use azora_store::claims::{ClaimOutcome, ClaimRequest};
use common::fresh_store;

fn req<'a>(key: &'a str, fp: &'a str, attempt: &'a str, now: i64) -> ClaimRequest<'a> {
    ClaimRequest { scope: "test", key, fingerprint: fp, attempt, now, lease_seconds: 60, ttl_seconds: 3600 }
}

#[tokio::test]
async fn a_claim_is_acquired_once_then_replayed() {
    let store = fresh_store("store-test").await;
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
    let store = fresh_store("store-test").await;
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
    let store = fresh_store("store-test").await;
    store.claim(&req("k", "fp", "a1", 1000)).await.unwrap();
    assert_eq!(store.claim(&req("k", "other", "a2", 2000)).await.unwrap(), ClaimOutcome::Mismatch);
}

#[tokio::test]
async fn a_released_claim_can_be_acquired_again() {
    let store = fresh_store("store-test").await;
    store.claim(&req("k", "fp", "a1", 1000)).await.unwrap();
    store.release_claim("test", "k", "a1").await.unwrap();
    assert_eq!(store.claim(&req("k", "fp", "a2", 1001)).await.unwrap(), ClaimOutcome::Acquired);
    // Releasing someone else's claim does nothing.
    store.release_claim("test", "k", "a1").await.unwrap();
    assert_eq!(store.claim(&req("k", "fp", "a3", 1002)).await.unwrap(), ClaimOutcome::InProgress);
}

#[tokio::test]
async fn concurrent_claims_have_exactly_one_winner() {
    let store = fresh_store("store-test").await;
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
    let store = fresh_store("store-test").await;
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

fn course(i: usize, category: &str, published_at: jiff::Timestamp) -> Course {
    Course {
        id: format!("course-{i:02}"),
        instructor_id: UserId::parse("teacher").unwrap(),
        content: CourseContent {
            title: format!("Course number {i}"),
            subtitle: String::new(),
            description: String::new(),
            category: category.into(),
            level: Level::Beginner,
            language: "en".into(),
            tags: Vec::new(),
            price: Money::new(1000, Currency::parse("USD").unwrap()),
            lessons: Vec::new(),
        },
        status: CourseStatus::Published,
        rating_sum: 0,
        rating_count: 0,
        enrollment_count: 0,
        stats: CourseStats::default(),
        created_at: published_at,
        updated_at: published_at,
        published_at: Some(published_at),
    }
}

/// A filtered catalog page filled exactly by a read that reaches the end of the index has no next
/// page. (It used to hand back the cursor of the read before, so the next page repeated items.)
#[tokio::test]
async fn a_filtered_catalog_page_filled_by_the_last_read_has_no_next_page() {
    let store = fresh_store("store-test").await;
    let start: jiff::Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
    // Newest first: course 39 .. course 0. The first read (25 items: 39..15) finds one `art`
    // course (30); the second read (14..0, the end) finds the two that fill a page of 3.
    for i in 0..40 {
        let category = if [30, 10, 5].contains(&i) { "art" } else { "math" };
        store.create_course(&course(i, category, start + jiff::SignedDuration::from_mins(i as i64))).await.unwrap();
    }
    let query = CatalogQuery {
        sort: CatalogSort::Newest,
        category: Some("art".into()),
        level: None,
        language: None,
        instructor_id: None,
        min_price: None,
        max_price: None,
        min_rating_x100: None,
        words: Vec::new(),
    };
    let page = store.list_catalog(&query, 3, None).await.unwrap();
    let ids: Vec<&str> = page.items.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["course-30", "course-10", "course-05"]);
    assert_eq!(page.next_cursor, None, "nothing follows the last art course");
    // Pages of 2 walk the same three courses once each.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store.list_catalog(&query, 2, cursor.as_deref()).await.unwrap();
        seen.extend(page.items.into_iter().map(|c| c.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["course-30", "course-10", "course-05"]);
}
