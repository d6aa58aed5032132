//! Demo data for `make dev`: a Pro subscriber, five instructors and fifty published courses across
//! every category. Idempotent: existing items are left as they are.

use azora_api::AppState;
use azora_domain::course::{CATEGORIES, Course, CourseContent, CourseStatus, Lesson, Level};
use azora_domain::license::{DEFAULT_GRACE_DAYS, License, LicenseStatus, parse_expiry};
use azora_domain::notification::EmailAddress;
use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Currency, Money, OrgId, Tier, UserId};
use azora_store::StoreError;

const INSTRUCTORS: [&str; 5] = ["demo-instructor", "ada-lovelace", "grace-hopper", "alan-kay", "barbara-liskov"];
const TOPICS: [&str; 10] = [
    "Foundations",
    "Hands-on Projects",
    "Masterclass",
    "Crash Course",
    "Patterns",
    "Deep Dive",
    "Essentials",
    "Bootcamp",
    "Workshop",
    "Toolkit",
];
const LEVELS: [Level; 4] = [Level::Beginner, Level::Intermediate, Level::Advanced, Level::AllLevels];
const PRICES: [i64; 7] = [0, 999, 1999, 2999, 4900, 7900, 12900];

fn id_error(e: azora_domain::ValidationError) -> StoreError {
    StoreError::Malformed(e.to_string())
}

pub async fn seed(state: &AppState) -> Result<Vec<String>, StoreError> {
    let mut done = Vec::new();
    let pro = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::Active,
        interval: Some(BillingInterval::Month),
        current_period_end: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)),
        cancel_at_period_end: false,
    };
    let user = UserId::parse("demo-pro").map_err(id_error)?;
    if state.store.get_subscription(&user).await?.is_none() {
        state.store.put_subscription(&user, &pro).await?;
    }
    done.push("demo-pro: active Pro subscription (make token ROLE=student SUB=demo-pro)".to_string());

    let now = jiff::Timestamp::now();
    let mut created = 0;
    for i in 0..50usize {
        let id = format!("demo-course-{i:02}");
        if state.store.get_course(&id).await?.is_some() {
            continue;
        }
        let category = CATEGORIES[i % CATEGORIES.len()];
        let title = format!("{} {}", category.replace('-', " ").to_uppercase(), TOPICS[i % TOPICS.len()]);
        let lessons = (1..=3 + i % 5)
            .map(|n| Lesson {
                title: format!("Lesson {n}"),
                duration_seconds: 300 + 60 * n as u32,
                content_url: format!("https://cdn.azora.example/{id}/{n}.mp4"),
            })
            .collect();
        let published = now - jiff::SignedDuration::from_hours(i as i64);
        let course = Course {
            id: id.clone(),
            instructor_id: UserId::parse(INSTRUCTORS[i % INSTRUCTORS.len()]).map_err(id_error)?,
            content: CourseContent {
                title,
                subtitle: format!("Demo course {i}"),
                description: "A demo course seeded by make dev.".to_string(),
                category: category.to_string(),
                level: LEVELS[i % LEVELS.len()],
                language: if i % 3 == 0 { "es".into() } else { "en".into() },
                tags: vec![category.to_string(), "demo".to_string()],
                price: Money::new(PRICES[i % PRICES.len()], if i % 10 == 9 { Currency::Eur } else { Currency::Usd }),
                lessons,
            },
            status: CourseStatus::Published,
            rating_sum: 0,
            rating_count: 0,
            enrollment_count: 0,
            stats: Default::default(),
            created_at: published,
            updated_at: published,
            published_at: Some(published),
        };
        state.store.create_course(&course).await?;
        created += 1;
    }
    done.push(format!("{created} demo courses (demo-course-00 … demo-course-49) by {}", INSTRUCTORS.join(", ")));
    done.push(seed_license(state).await?);
    Ok(done)
}

async fn seed_license(state: &AppState) -> Result<String, StoreError> {
    let invalid = |e: azora_domain::ValidationError| StoreError::Malformed(e.to_string());
    let now = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second())
        .map_err(|e| StoreError::Malformed(e.to_string()))?;
    if let Some(existing) = state.store.get_license("lic_demo").await? {
        return Ok(format!("license lic_demo (exists) for demo-org, key {}", existing.key));
    }
    let mut license = License {
        id: "lic_demo".into(),
        org_id: OrgId::parse("demo-org").map_err(invalid)?,
        org_name: "Demo Org".into(),
        contact_email: EmailAddress::parse("it@demo-org.example").map_err(invalid)?,
        seats: 10,
        seats_used: 0,
        features: Tier::Enterprise.features().to_vec(),
        status: LicenseStatus::Active,
        issued_at: now,
        expires_at: parse_expiry(now, Some(12), None).map_err(invalid)?,
        grace_days: DEFAULT_GRACE_DAYS,
        self_activation: true,
        key_version: 1,
        key: String::new(),
        white_label: None,
        updated_at: now,
    };
    let signer = state.config.license_signer.get().map_err(|e| StoreError::Malformed(e.to_string()))?;
    license.key = signer.issue(&license.key_payload());
    state.store.create_license(&license).await?;
    Ok(format!("license lic_demo: 10 seats for demo-org (make token ROLE=enterprise), key {}", license.key))
}
