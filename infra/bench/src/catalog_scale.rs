//! The catalog at scale, inside `bench load`: N published courses (default 100,000) written with
//! `BatchWriteItem` into an app (table) of their own, then cursor walks of `GET /api/courses/list`
//! per query shape (sort orders, index-served price range, filters on the index, title search),
//! with the latency and the DynamoDB round trips of each page.

use azora_domain::course::{Course, CourseContent, CourseStats, CourseStatus, Lesson, Level};
use azora_domain::{Currency, Money, UserId};
use azora_e2e::TestApp;
use azora_store::item::ToItem;
use serde_json::{Value, json};
use std::time::Instant;

const WORDS: [&str; 16] = [
    "Rust",
    "Finance",
    "Design",
    "Guitar",
    "Spanish",
    "Marketing",
    "Data",
    "Python",
    "Leadership",
    "Photography",
    "Statistics",
    "Piano",
    "Writing",
    "Cloud",
    "Negotiation",
    "Drawing",
];
const CATEGORIES: [&str; 8] =
    ["development", "business", "design", "marketing", "data-science", "languages", "music", "personal-development"];
const LEVELS: [Level; 4] = [Level::Beginner, Level::Intermediate, Level::Advanced, Level::AllLevels];
const LANGUAGES: [&str; 4] = ["en", "es", "fr", "de"];

/// The query shapes walked, page by page: name and query string.
const WALKS: &[(&str, &str)] = &[
    ("newest", "sort=newest"),
    ("popular", "sort=popular"),
    ("price ascending, 20.00–40.00 (index range)", "sort=price_asc&minPrice=2000&maxPrice=4000"),
    ("category music (filter on the index)", "category=music"),
    ("level advanced, language fr (filters)", "level=advanced&language=fr"),
    ("title search 'rust'", "q=rust"),
];

fn course(i: usize, now: jiff::Timestamp) -> Result<Course, String> {
    let at = now - jiff::SignedDuration::from_millis(i as i64);
    let title = format!("{} {} {} {i}", WORDS[i % 16], WORDS[(i / 16) % 16], WORDS[(i / 256) % 16]);
    Ok(Course {
        id: format!("scale-{i:06}"),
        instructor_id: UserId::parse(format!("scale-instructor-{}", i % 500)).map_err(|e| e.to_string())?,
        content: CourseContent {
            title,
            subtitle: String::new(),
            description: "A course of the catalog-scale bench.".into(),
            category: CATEGORIES[i % 8].into(),
            level: LEVELS[(i / 8) % 4],
            language: LANGUAGES[(i / 32) % 4].into(),
            tags: Vec::new(),
            price: Money::new(999 + ((i as i64 * 37) % 9_000), Currency::Usd),
            lessons: vec![Lesson {
                title: "Welcome".into(),
                duration_seconds: 300,
                content_url: "https://cdn.example.com/welcome.mp4".into(),
            }],
        },
        status: CourseStatus::Published,
        rating_sum: 0,
        rating_count: 0,
        enrollment_count: 0,
        stats: CourseStats::default(),
        created_at: at,
        updated_at: at,
        published_at: Some(at),
    })
}

/// Writes `n` published courses; how long it took and how many requests.
pub async fn seed(app: &TestApp, n: usize) -> Result<Value, String> {
    let now = app.booted.state.clock.now();
    let started = Instant::now();
    let store = app.booted.state.store.clone();
    let chunk = n.div_ceil(8).max(1);
    let mut tasks = Vec::new();
    for part in 0..8 {
        let range = (part * chunk)..((part + 1) * chunk).min(n);
        let mut items = Vec::with_capacity(range.len());
        for i in range {
            items.push(course(i, now)?.to_item().map_err(|e| e.to_string())?);
        }
        let store = store.clone();
        tasks.push(tokio::spawn(async move { store.batch_put(items).await }));
    }
    let mut requests = 0;
    for t in tasks {
        requests += t.await.map_err(|e| e.to_string())?.map_err(|e| format!("BatchWriteItem: {e}"))?;
    }
    Ok(
        json!({ "courses": n, "seconds": (started.elapsed().as_secs_f64() * 10.0).round() / 10.0, "requests": requests }),
    )
}

/// Walks up to `pages` pages of 20 of each query shape.
pub async fn walks(app: &TestApp, client: &reqwest::Client, pages: usize) -> Value {
    let mut out = Vec::new();
    for (name, query) in WALKS {
        let mut latencies = Vec::new();
        let mut items = 0usize;
        let mut cursor: Option<String> = None;
        let before = round_trips();
        for _ in 0..pages {
            let mut url = format!("{}/api/courses/list?limit=20&{query}", app.base_url);
            if let Some(c) = &cursor {
                url.push_str(&format!("&cursor={c}"));
            }
            let started = Instant::now();
            let Ok(resp) = client.get(url).send().await else { break };
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            latencies.push(started.elapsed());
            items += body["items"].as_array().map_or(0, Vec::len);
            match body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let trips = round_trips().saturating_sub(before);
        let summary = crate::stats::Summary::of(&latencies);
        out.push(json!({
            "walk": name,
            "query": query,
            "pages": latencies.len(),
            "items": items,
            "p50_ms": crate::stats::round_ms(summary.p50),
            "max_ms": crate::stats::round_ms(summary.max),
            "dynamodbPerPage": (trips as f64 / latencies.len().max(1) as f64 * 10.0).round() / 10.0,
        }));
    }
    Value::Array(out)
}

fn round_trips() -> u64 {
    azora_local::iam::round_trip_counts()
        .into_iter()
        .filter(|((f, service), _)| f == "courses-list" && service == "dynamodb")
        .map(|(_, n)| n)
        .sum()
}
