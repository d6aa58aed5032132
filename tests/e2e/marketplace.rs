//! The course marketplace end to end: upload and publish, the catalog, purchase and access,
//! the 70/30 split and its reversal, reviews.

use azora_e2e::{TestApp, error_code, json_of, spawn_app, unique};
use serde_json::{Value, json};
use std::collections::HashSet;

fn lesson() -> Value {
    json!({ "title": "Intro", "durationSeconds": 300, "contentUrl": "https://cdn.example.com/intro.mp4" })
}

fn course_body(title: &str, category: &str, amount: i64, level: &str) -> Value {
    json!({
        "title": title, "description": "A course.", "category": category, "level": level, "language": "en",
        "tags": ["t"], "price": { "amount": amount, "currency": "USD" }, "lessons": [lesson()], "publish": true
    })
}

async fn upload(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    json_of(app.post("/api/courses/upload", Some(token), None, body).await).await
}

async fn publish(app: &TestApp, token: &str, title: &str, category: &str, amount: i64, level: &str) -> String {
    let (status, body) = upload(app, token, &course_body(title, category, amount, level)).await;
    assert_eq!(status, 201, "{body}");
    body["courseId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn instructors_upload_validate_and_publish_their_own_courses() {
    let app = spawn_app().await;
    let teacher = app.token("teacher-1", &["instructor"]);
    let student = app.token("student-1", &["student"]);

    let bad = json!({
        "title": "abc", "category": "cooking", "level": "guru", "language": "en",
        "price": { "amount": 5, "currency": "USD" },
        "lessons": [{ "title": "x", "durationSeconds": 0, "contentUrl": "http://insecure.example.com/a" }]
    });
    let (status, body) = upload(&app, &teacher, &bad).await;
    assert_eq!(status, 400);
    assert_eq!(error_code(&body), "validation_failed");
    let (_, body) = upload(
        &app,
        &teacher,
        &json!({ "title": "abc", "category": "cooking", "level": "beginner", "language": "en",
        "price": { "amount": 5, "currency": "USD" },
        "lessons": [{ "title": "x", "durationSeconds": 0, "contentUrl": "http://insecure.example.com/a" }] }),
    )
    .await;
    let fields: HashSet<String> =
        body["error"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    for f in ["title", "category", "price.amount", "lessons[0].durationSeconds", "lessons[0].contentUrl"] {
        assert!(fields.contains(f), "{f} not reported: {fields:?}");
    }

    let (status, _) = upload(&app, &student, &course_body("Students cannot", "development", 0, "beginner")).await;
    assert_eq!(status, 403);

    // A draft without lessons; publishing it needs a lesson.
    let mut draft = course_body("My first course", "development", 1999, "beginner");
    draft["lessons"] = json!([]);
    draft["publish"] = json!(false);
    let (status, created) = upload(&app, &teacher, &draft).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["status"], "draft");
    let id = created["courseId"].as_str().unwrap().to_string();
    draft["courseId"] = json!(id);
    draft["publish"] = json!(true);
    let (status, body) = upload(&app, &teacher, &draft).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("lessons")), "{body}");
    // Publishing the stored draft later: the course, not the request, is incomplete (422).
    let publish = json!({ "status": "published" });
    let (status, body) =
        json_of(app.post(&format!("/api/courses/{id}/status"), Some(&teacher), None, &publish).await).await;
    assert_eq!(
        (status, &body["error"]["code"], &body["error"]["field"]),
        (422, &json!("course_incomplete"), &json!("lessons")),
        "{body}"
    );

    // Drafts are private.
    let (status, _) = json_of(app.get(&format!("/api/courses/{id}"), None).await).await;
    assert_eq!(status, 404);
    let (status, _) = json_of(app.get(&format!("/api/courses/{id}"), Some(&teacher)).await).await;
    assert_eq!(status, 200);

    draft["lessons"] = json!([lesson()]);
    let (status, published) = upload(&app, &teacher, &draft).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["status"], "published");
    let (status, public) = json_of(app.get(&format!("/api/courses/{id}"), None).await).await;
    assert_eq!(status, 200);
    assert!(public["lessons"][0].get("contentUrl").is_none(), "lesson URLs are for those with access");
    assert_eq!(public["lessons"][0]["durationSeconds"], 300);
    let (_, listed) = json_of(app.get("/api/courses/list", None).await).await;
    assert!(listed["items"].as_array().unwrap().iter().any(|c| c["courseId"] == id.as_str()));
}

#[tokio::test]
async fn another_instructor_cannot_touch_a_course_and_mass_assignment_has_no_effect() {
    let app = spawn_app().await;
    let owner = app.token("teacher-a", &["instructor"]);
    let other = app.token("teacher-b", &["instructor"]);
    let id = publish(&app, &owner, "Owned course title", "design", 2500, "advanced").await;

    let mut hijack = course_body("Hijacked title", "design", 100, "advanced");
    hijack["courseId"] = json!(id);
    let (status, body) = upload(&app, &other, &hijack).await;
    assert_eq!((status, error_code(&body)), (404, "not_found"));

    for field in [
        ("instructorId", json!("teacher-b")),
        ("ratingAvg", json!(5)),
        ("enrollmentCount", json!(999)),
        ("status", json!("published")),
    ] {
        let mut body = course_body("Owned course title", "design", 2500, "advanced");
        body["courseId"] = json!(id);
        body[field.0] = field.1;
        let (status, resp) = upload(&app, &owner, &body).await;
        assert_eq!(status, 400, "{} must be refused: {resp}", field.0);
    }
    let (_, course) = json_of(app.get(&format!("/api/courses/{id}"), None).await).await;
    assert_eq!(course["title"], "Owned course title");
    assert_eq!(course["instructorId"], "teacher-a");
    assert_eq!(course["rating"]["count"], 0);
    assert_eq!(course["enrollmentCount"], 0);
    assert_eq!(course["price"]["amount"], 2500);
}

async fn collect_all(app: &TestApp, query: &str, page: usize) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if query.is_empty() { "" } else { "&" };
        let url = match &cursor {
            Some(c) => format!("/api/courses/list?{query}{sep}limit={page}&cursor={c}"),
            None => format!("/api/courses/list?{query}{sep}limit={page}"),
        };
        let (status, body) = json_of(app.get(&url, None).await).await;
        assert_eq!(status, 200, "{url}: {body}");
        all.extend(body["items"].as_array().unwrap().iter().cloned());
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return all,
        }
    }
    panic!("pagination did not end");
}

fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|c| c["courseId"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_catalog_filters_sorts_and_paginates_without_duplicates_or_gaps() {
    let app = spawn_app().await;
    let teacher = app.token("teacher-cat", &["instructor"]);
    let other = app.token("teacher-other", &["instructor"]);
    let mut expected: Vec<(String, &str, i64, &str, &str)> = Vec::new();
    let specs = [
        ("Rust systems programming", "development", 4900, "advanced"),
        ("Rust for beginners", "development", 1900, "beginner"),
        ("Design thinking basics", "design", 2900, "beginner"),
        ("Marketing funnels", "marketing", 0, "intermediate"),
        ("Advanced data pipelines", "data-science", 9900, "advanced"),
        ("Spanish for travellers", "languages", 1500, "beginner"),
        ("Guitar chords", "music", 1500, "all_levels"),
        ("Web development bootcamp", "development", 12900, "all_levels"),
        ("Typography essentials", "design", 3900, "intermediate"),
        ("Growth marketing with data", "marketing", 2400, "advanced"),
        ("Python data science", "data-science", 5900, "intermediate"),
    ];
    for (i, (title, cat, price, level)) in specs.iter().enumerate() {
        let token = if i % 4 == 0 { &other } else { &teacher };
        let id = publish(&app, token, title, cat, *price, level).await;
        expected.push((id, cat, *price, level, title));
    }
    // A draft never shows.
    let mut draft = course_body("Unfinished draft course", "development", 1000, "beginner");
    draft["publish"] = json!(false);
    upload(&app, &teacher, &draft).await;

    // Newest first, page by page, equals the full set in publish order.
    let newest = collect_all(&app, "", 3).await;
    let mut want: Vec<String> = expected.iter().map(|e| e.0.clone()).collect();
    want.reverse();
    assert_eq!(ids(&newest), want);

    // Price ascending with bounds (index-served), then descending.
    let asc = collect_all(&app, "sort=price_asc&minPrice=1500&maxPrice=9900", 2).await;
    let mut want: Vec<(i64, String)> =
        expected.iter().filter(|e| (1500..=9900).contains(&e.2)).map(|e| (e.2, e.0.clone())).collect();
    want.sort();
    let got: Vec<i64> = asc.iter().map(|c| c["price"]["amount"].as_i64().unwrap()).collect();
    assert_eq!(got, want.iter().map(|w| w.0).collect::<Vec<_>>());
    assert_eq!(ids(&asc).into_iter().collect::<HashSet<_>>(), want.iter().map(|w| w.1.clone()).collect::<HashSet<_>>());
    let desc = collect_all(&app, "sort=price_desc", 4).await;
    let prices: Vec<i64> = desc.iter().map(|c| c["price"]["amount"].as_i64().unwrap()).collect();
    assert!(prices.windows(2).all(|w| w[0] >= w[1]), "{prices:?}");
    assert_eq!(desc.len(), expected.len());

    // Filters: category (paginated), level, instructor, title words, price under another sort.
    let dev = collect_all(&app, "category=development", 1).await;
    assert_eq!(
        ids(&dev).into_iter().collect::<HashSet<_>>(),
        expected.iter().filter(|e| e.1 == "development").map(|e| e.0.clone()).collect()
    );
    let beginners = collect_all(&app, "level=beginner&sort=price_asc", 2).await;
    assert_eq!(beginners.len(), expected.iter().filter(|e| e.3 == "beginner").count());
    let by_other = collect_all(&app, "instructorId=teacher-other", 2).await;
    assert_eq!(by_other.len(), 3);
    let rust = collect_all(&app, "q=rust", 5).await;
    assert_eq!(rust.len(), 2);
    let data_marketing = collect_all(&app, "q=data%20marketing", 5).await;
    assert_eq!(ids(&data_marketing), vec![expected[9].0.clone()]);
    let cheap_newest = collect_all(&app, "maxPrice=1900", 2).await;
    assert_eq!(cheap_newest.len(), expected.iter().filter(|e| e.2 <= 1900).count());

    for bad in [
        "sort=cheapest",
        "level=guru",
        "category=cooking",
        "minPrice=-1",
        "minRating=7",
        "limit=0",
        "limit=101",
        "cursor=abc",
    ] {
        let (status, body) = json_of(app.get(&format!("/api/courses/list?{bad}"), None).await).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
    // An empty price range finds nothing (it was a 503: DynamoDB refuses a reversed BETWEEN).
    // So does a range with only one bound beyond every price (the fuzzer's minPrice=i64::MAX
    // against the implied upper bound was the same 503).
    for sort in ["price_asc", "price_desc", "newest"] {
        for range in ["minPrice=5000&maxPrice=100", "minPrice=9223372036854775807", "minPrice=4611686018427387904"] {
            let path = format!("/api/courses/list?sort={sort}&{range}");
            let (status, body) = json_of(app.get(&path, None).await).await;
            assert_eq!((status, &body["items"]), (200, &json!([])), "{sort} {range}: {body}");
        }
    }
}

#[tokio::test]
async fn a_purchase_enrolls_once_and_splits_70_30_and_a_refund_reverses_the_split() {
    let app = spawn_app().await;
    app.sandbox_post("/_sandbox/config", json!({ "autoDeliver": false })).await;
    let teacher = app.token("teacher-split", &["instructor"]);
    let course = publish(&app, &teacher, "Exact money course", "business", 1999, "beginner").await;
    let buyer_id = unique("buyer");
    let buyer = app.token(&buyer_id, &["student"]);
    let (status, bought) = json_of(
        app.post(
            "/api/courses/purchase",
            Some(&buyer),
            Some("p-1"),
            &json!({ "courseId": course, "paymentMethodId": "pm_card_visa" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{bought}");
    let payment_id = bought["paymentId"].as_str().unwrap().to_string();
    let (_, access) = json_of(app.get(&format!("/api/courses/{course}/access"), Some(&buyer)).await).await;
    assert_eq!(access["owned"], false, "access only after the webhook");

    let succeeded = app.sandbox_event("payment_intent.succeeded").await;
    assert_eq!(app.deliver(&succeeded, json!({ "times": 4 })).await, vec![200; 4]);
    app.wait_for_payment(&payment_id, &buyer, |p| p["fulfilled"] == true).await;
    let (_, access) = json_of(app.get(&format!("/api/courses/{course}/access"), Some(&buyer)).await).await;
    assert_eq!(access["owned"], true);
    let (_, c) = json_of(app.get(&format!("/api/courses/{course}"), Some(&buyer)).await).await;
    assert_eq!(c["enrollmentCount"], 1, "one enrollment despite four deliveries");
    assert_eq!(c["lessons"][0]["contentUrl"], "https://cdn.example.com/intro.mp4");

    let earnings = |app: &TestApp| {
        let t = teacher.clone();
        let app_url = app.base_url.clone();
        async move {
            let resp = reqwest::Client::new()
                .get(format!("{app_url}/api/instructors/me/earnings"))
                .bearer_auth(t)
                .send()
                .await
                .unwrap();
            json_of(resp).await.1
        }
    };
    let e = earnings(&app).await;
    assert_eq!(e["balances"][0]["pending"], 1399, "floor(70% of 1999): {e}");
    assert_eq!(e["balances"][0]["lifetime"], 1399);
    assert_eq!(e["perCourse"][0]["revenueGross"], 1999);
    assert_eq!(e["perCourse"][0]["revenueInstructor"], 1399);
    assert_eq!(e["entries"].as_array().unwrap().len(), 1);

    let admin = app.token("admin-1", &["admin"]);
    let (status, _) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("r-1"),
            &json!({ "paymentId": payment_id, "amount": 1000, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let e = earnings(&app).await;
    assert_eq!(e["balances"][0]["pending"], 1399 - 700, "{e}");
    assert_eq!(e["balances"][0]["reversed"], 700);
    let (status, _) = json_of(
        app.post(
            "/api/payments/refund",
            Some(&admin),
            Some("r-2"),
            &json!({ "paymentId": payment_id, "reason": "other" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    // Late webhooks about the refunds change nothing more.
    for event in ["charge.refunded"] {
        let (_, all) =
            json_of(app.http.get(format!("{}_sandbox/events", app.stripe.base_url())).send().await.unwrap()).await;
        for evt in all["data"].as_array().unwrap().iter().filter(|e| e["type"] == event) {
            app.deliver(evt["id"].as_str().unwrap(), json!({})).await;
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    let e = earnings(&app).await;
    assert_eq!(e["balances"][0]["pending"], 0, "a full refund reverses exactly the share: {e}");
    assert_eq!(e["balances"][0]["reversed"], 1399);
    assert_eq!(e["perCourse"][0]["revenueInstructor"], 0);
    let (_, access) = json_of(app.get(&format!("/api/courses/{course}/access"), Some(&buyer)).await).await;
    assert_eq!(access["owned"], false, "a full refund removes access");
}

#[tokio::test]
async fn free_courses_enroll_at_once_without_stripe() {
    let app = spawn_app().await;
    let teacher = app.token("teacher-free", &["instructor"]);
    let course = publish(&app, &teacher, "A free taster course", "music", 0, "beginner").await;
    let student = app.token("student-free", &["student"]);
    let (status, body) =
        json_of(app.post("/api/courses/purchase", Some(&student), Some("f-1"), &json!({ "courseId": course })).await)
            .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["enrolled"], true);
    let (_, access) = json_of(app.get(&format!("/api/courses/{course}/access"), Some(&student)).await).await;
    assert_eq!(access["owned"], true);
    let (status, body) =
        json_of(app.post("/api/courses/purchase", Some(&student), Some("f-2"), &json!({ "courseId": course })).await)
            .await;
    assert_eq!((status, error_code(&body)), (409, "already_owned"));
    assert!(app.stripe_requests("POST", "/v1/payment_intents").await.is_empty());
}

#[tokio::test]
async fn reviews_need_enrollment_edit_on_repeat_and_keep_the_aggregate_exact() {
    let app = spawn_app().await;
    let teacher = app.token("teacher-rev", &["instructor"]);
    let course = publish(&app, &teacher, "Reviewed free course", "languages", 0, "beginner").await;
    let outsider = app.token("outsider", &["student"]);
    let (status, body) = json_of(
        app.post(&format!("/api/courses/{course}/reviews"), Some(&outsider), None, &json!({ "rating": 5 })).await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, "not_enrolled"));
    let (status, body) = json_of(
        app.post(&format!("/api/courses/{course}/reviews"), Some(&teacher), None, &json!({ "rating": 5 })).await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (403, "own_course"));

    let mut students = Vec::new();
    for i in 0..6 {
        let token = app.token(&format!("reviewer-{i}"), &["student"]);
        let (status, _) = json_of(
            app.post("/api/courses/purchase", Some(&token), Some("enroll"), &json!({ "courseId": course })).await,
        )
        .await;
        assert_eq!(status, 201);
        students.push(token);
    }
    let (status, body) = json_of(
        app.post(&format!("/api/courses/{course}/reviews"), Some(&students[0]), None, &json!({ "rating": 6 })).await,
    )
    .await;
    assert_eq!((status, error_code(&body)), (400, "validation_failed"));

    // Concurrent first reviews, then an edit.
    let mut handles = Vec::new();
    for (i, token) in students.iter().enumerate() {
        let rb = app
            .request(reqwest::Method::POST, &format!("/api/courses/{course}/reviews"), Some(token))
            .json(&json!({ "rating": (i % 5) + 1, "text": format!("review {i}") }));
        handles.push(tokio::spawn(async move { rb.send().await.unwrap().status().as_u16() }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let (status, body) = json_of(
        app.post(
            &format!("/api/courses/{course}/reviews"),
            Some(&students[0]),
            None,
            &json!({ "rating": 5, "text": "changed my mind" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["edited"], true);

    let reviews = app.booted.state.store.all_reviews(&course).await.unwrap();
    assert_eq!(reviews.len(), 6);
    let sum: i64 = reviews.iter().map(|r| r.rating).sum();
    let c = app.booted.state.store.get_course(&course).await.unwrap().unwrap();
    assert_eq!((c.rating_sum, c.rating_count), (sum, 6), "aggregate equals a recount");
    let (_, public) = json_of(app.get(&format!("/api/courses/{course}"), None).await).await;
    assert_eq!(public["rating"]["count"], 6);

    let (_, page) = json_of(app.get(&format!("/api/courses/{course}/reviews?limit=4"), None).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    assert_eq!(page["items"][0]["text"], "changed my mind", "newest first");
    let (_, rest) = json_of(
        app.get(
            &format!("/api/courses/{course}/reviews?limit=4&cursor={}", page["nextCursor"].as_str().unwrap()),
            None,
        )
        .await,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 2);

    // Rating filter and sort reflect the aggregate.
    let (_, by_rating) = json_of(app.get("/api/courses/list?sort=rating&minRating=2", None).await).await;
    assert_eq!(by_rating["items"][0]["courseId"], course.as_str());
}

#[tokio::test]
async fn make_dev_seed_publishes_fifty_courses_across_categories_idempotently() {
    let app = spawn_app().await;
    azora_local::seed::seed(&app.booted.state).await.unwrap();
    azora_local::seed::seed(&app.booted.state).await.unwrap();
    let all = collect_all(&app, "", 100).await;
    assert_eq!(all.len(), 50);
    let categories: HashSet<&str> = all.iter().map(|c| c["category"].as_str().unwrap()).collect();
    assert_eq!(categories.len(), azora_domain::course::CATEGORIES.len());
}

async fn earnings_of(app: &TestApp, token: &str) -> Value {
    json_of(app.get("/api/instructors/me/earnings", Some(token)).await).await.1
}

async fn buy_and_settle(app: &TestApp, course: &str, key: &str) -> String {
    let buyer = app.token(&unique("buyer"), &["student"]);
    let (status, body) = json_of(
        app.post(
            "/api/courses/purchase",
            Some(&buyer),
            Some(key),
            &json!({ "courseId": course, "paymentMethodId": "pm_card_visa" }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let payment_id = body["paymentId"].as_str().unwrap().to_string();
    app.wait_for_payment(&payment_id, &buyer, |p| p["fulfilled"] == true).await;
    payment_id
}

#[tokio::test]
async fn payouts_transfer_once_per_run_and_refunds_after_payout_reverse_or_carry() {
    let settings = [("REFUND_WINDOW_DAYS".to_string(), "0".to_string())].into_iter().collect();
    let app = azora_e2e::spawn_app_with(azora_e2e::AppOptions { settings, ..Default::default() }).await;
    let teacher = app.token("teacher-payout", &["instructor"]);
    let admin = app.token("admin-1", &["admin"]);
    let course = publish(&app, &teacher, "Course that pays out", "business", 2000, "beginner").await;

    // Onboarding: an account and a link; Stripe's account.updated enables payouts.
    let (status, account) =
        json_of(app.post("/api/instructors/me/payout-account", Some(&teacher), None, &json!({})).await).await;
    assert_eq!(status, 200, "{account}");
    assert_eq!(account["payoutsEnabled"], false);
    assert!(account["onboardingUrl"].as_str().is_some_and(|u| u.starts_with("http")));
    let account_id = account["accountId"].as_str().unwrap().to_string();

    let first = buy_and_settle(&app, &course, "buy-1").await;
    let (_, report) = json_of(app.post("/_local/jobs/instructor-payouts", None, None, &json!({})).await).await;
    assert!(report["paid"].as_array().unwrap().is_empty(), "not onboarded yet: {report}");

    app.sandbox_post(&format!("/_sandbox/accounts/{account_id}/complete_onboarding"), json!({})).await;
    for _ in 0..100 {
        let (_, a) =
            json_of(app.post("/api/instructors/me/payout-account", Some(&teacher), None, &json!({})).await).await;
        if a["payoutsEnabled"] == true {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // Two runs, one transfer.
    let (_, report) = json_of(app.post("/_local/jobs/instructor-payouts", None, None, &json!({})).await).await;
    assert_eq!(report["paid"][0]["amount"], 1400, "{report}");
    let (_, again) = json_of(app.post("/_local/jobs/instructor-payouts", None, None, &json!({})).await).await;
    assert!(again["paid"].as_array().unwrap().is_empty(), "{again}");
    let transfers = app.stripe_requests("POST", "/v1/transfers").await;
    assert_eq!(transfers.len(), 1);
    assert_eq!(transfers[0]["params"]["amount"], "1400");
    assert_eq!(transfers[0]["params"]["destination"], account_id.as_str());
    assert!(transfers[0]["params"]["transfer_group"].as_str().unwrap().starts_with("payout-"));
    let e = earnings_of(&app, &teacher).await;
    assert_eq!(
        (e["balances"][0]["available"].as_i64(), e["balances"][0]["paidOut"].as_i64()),
        (Some(0), Some(1400)),
        "{e}"
    );

    // Refund after payout while the connected account still holds the money: a reversal.
    let (status, _) = json_of(
        app.post("/api/payments/refund", Some(&admin), Some("r-1"), &json!({ "paymentId": first, "reason": "other" }))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(
        app.stripe_requests(
            "POST",
            &format!("/v1/transfers/{}/reversals", report["paid"][0]["transferId"].as_str().unwrap())
        )
        .await
        .len(),
        1
    );
    let e = earnings_of(&app, &teacher).await;
    let b = &e["balances"][0];
    assert_eq!(
        (b["available"].as_i64(), b["paidOut"].as_i64(), b["reversed"].as_i64()),
        (Some(0), Some(0), Some(1400)),
        "{e}"
    );

    // Another sale paid out in a later run; the instructor empties the connected account; a
    // refund now cannot be reversed and is carried as a negative balance into the next payout.
    let second = buy_and_settle(&app, &course, "buy-2").await;
    let (_, report) =
        json_of(app.post("/_local/jobs/instructor-payouts", None, None, &json!({ "run": "run-2" })).await).await;
    assert_eq!(report["paid"][0]["amount"], 1400, "{report}");
    app.sandbox_post(&format!("/_sandbox/accounts/{account_id}/balance"), json!({ "available": 0, "currency": "usd" }))
        .await;
    let (status, _) = json_of(
        app.post("/api/payments/refund", Some(&admin), Some("r-2"), &json!({ "paymentId": second, "reason": "other" }))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let e = earnings_of(&app, &teacher).await;
    let b = &e["balances"][0];
    assert_eq!((b["available"].as_i64(), b["paidOut"].as_i64()), (Some(-1400), Some(1400)), "carried: {e}");

    // The next sale nets the debt out: nothing to transfer, nothing paid twice.
    buy_and_settle(&app, &course, "buy-3").await;
    let (_, report) =
        json_of(app.post("/_local/jobs/instructor-payouts", None, None, &json!({ "run": "run-3" })).await).await;
    assert!(report["paid"].as_array().unwrap().is_empty(), "{report}");
    let e = earnings_of(&app, &teacher).await;
    assert_eq!(e["balances"][0]["available"], 0, "{e}");
    assert_eq!(app.stripe_requests("POST", "/v1/transfers").await.len(), 2);
}
