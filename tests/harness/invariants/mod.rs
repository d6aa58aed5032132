//! Building blocks of the randomized invariant test (`tests/e2e/invariants.rs`, in the spirit of
//! Jepsen's bank test): a seeded PRNG, webhook delivery control and settling, a snapshot of our
//! table and of the Stripe sandbox, and the oracle that checks one against the other.

pub mod oracle;
pub mod rng;
pub mod snapshot;

use crate::TestApp;
use aws_sdk_sqs::types::QueueAttributeName;
use azora_stripe_sandbox::DeliverOptions;
use rng::Rng;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// Sandbox events no delivery (automatic or manual) has had accepted with a 2xx: (id, type).
pub fn undelivered_events(app: &TestApp) -> Vec<(String, String)> {
    let delivered: HashSet<String> =
        app.stripe.deliveries().into_iter().filter(|d| d.succeeded()).map(|d| d.event_id).collect();
    app.stripe
        .events()
        .iter()
        .filter_map(|e| {
            let id = e["id"].as_str()?;
            (!delivered.contains(id)).then(|| (id.to_string(), e["type"].as_str().unwrap_or("").to_string()))
        })
        .collect()
}

/// Delivers one event `times` times now (as Stripe would on a retry); the statuses answered.
pub async fn deliver(app: &TestApp, event_id: &str, times: u32) -> Vec<Option<u16>> {
    let options = DeliverOptions { times: Some(times), ..DeliverOptions::default() };
    match app.stripe.deliver_event(event_id, options).await {
        Ok(attempts) => attempts.into_iter().map(|a| a.status).collect(),
        Err(e) => panic!("sandbox could not deliver {event_id}: {e}"),
    }
}

/// Messages in a queue of this app (visible, in flight or delayed), by logical id.
pub struct Queues {
    sqs: aws_sdk_sqs::Client,
    urls: BTreeMap<String, String>,
}

impl Queues {
    pub async fn of(app: &TestApp) -> Queues {
        Queues {
            sqs: aws_sdk_sqs::Client::new(&azora_stack::sdk_config().await),
            urls: app.booted.provisioned.queue_urls.clone(),
        }
    }

    pub async fn depth(&self, logical_id: &str) -> i64 {
        let url = self.urls.get(logical_id).unwrap_or_else(|| panic!("no queue {logical_id}: {:?}", self.urls));
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!("queue attributes of {logical_id}: {}", aws_sdk_sqs::error::DisplayErrorContext(e))
            });
        out.attributes().map(|a| a.values().filter_map(|v| v.parse::<i64>().ok()).sum()).unwrap_or(0)
    }
}

/// Brings the world to rest: automatic delivery back on, every event that was held, dropped or
/// refused delivered (in a seeded random order; each at most `max_attempts` times here, so an
/// endpoint that keeps refusing one cannot stall us), and the Stripe-events queue empty for
/// several polls in a row. Bounded by `timeout`; `Err` says what did not settle.
pub async fn settle(app: &TestApp, rng: &mut Rng, timeout: Duration) -> Result<Duration, String> {
    const MAX_ATTEMPTS: u32 = 2;
    const QUIET_POLLS: u32 = 4;
    let started = Instant::now();
    let deadline = started + timeout;
    app.stripe.set_auto_deliver(true);
    let queues = Queues::of(app).await;
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut quiet = 0;
    loop {
        let mut pending: Vec<(String, String)> = undelivered_events(app)
            .into_iter()
            .filter(|(id, _)| attempts.get(id).copied().unwrap_or(0) < MAX_ATTEMPTS)
            .collect();
        rng.shuffle(&mut pending);
        let delivered_now = !pending.is_empty();
        for (id, _) in &pending {
            *attempts.entry(id.clone()).or_default() += 1;
            deliver(app, id, 1).await;
        }
        let depth = queues.depth("StripeEventsQueue").await;
        quiet = if depth == 0 && !delivered_now { quiet + 1 } else { 0 };
        if quiet >= QUIET_POLLS {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the world did not settle within {timeout:?}: {depth} Stripe-events messages queued, {} events undelivered",
                undelivered_events(app).len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// Deliveries our endpoint did not accept with a 2xx, grouped by (event type, status).
pub fn refused_deliveries(app: &TestApp) -> Vec<String> {
    let mut groups: BTreeMap<(String, String), (usize, String)> = BTreeMap::new();
    for d in app.stripe.deliveries().into_iter().filter(|d| !d.succeeded() && !d.tampered) {
        let status = match d.status {
            Some(s) => s.to_string(),
            None => format!("no answer ({})", d.error.unwrap_or_default()),
        };
        let entry = groups.entry((d.event_type.clone(), status)).or_insert((0, d.event_id.clone()));
        entry.0 += 1;
    }
    groups
        .into_iter()
        .map(|((ty, status), (count, example))| {
            format!("[7] the webhook endpoint answered {status} to {count} delivery(ies) of {ty} (e.g. {example})")
        })
        .collect()
}
