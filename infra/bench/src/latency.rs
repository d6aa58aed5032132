//! Request latency through the local server (in this process) over keep-alive HTTP/1.1 on
//! 127.0.0.1: a sequential run per endpoint, then a bounded concurrent run. Every response must be
//! 200; the first other status stops the bench with the body it returned.

use crate::stats::Summary;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Endpoint {
    pub name: &'static str,
    pub url: String,
    pub bearer: Option<String>,
}

pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// One request, timed from send to the last byte of the body.
async fn timed(client: &reqwest::Client, endpoint: &Endpoint) -> Result<Duration, String> {
    let started = Instant::now();
    let mut request = client.get(&endpoint.url);
    if let Some(token) = &endpoint.bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| format!("GET {}: {e}", endpoint.url))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| format!("GET {}: reading the body: {e}", endpoint.url))?;
    let elapsed = started.elapsed();
    if status != reqwest::StatusCode::OK {
        return Err(format!("GET {} answered {status}: {}", endpoint.url, String::from_utf8_lossy(&body)));
    }
    Ok(elapsed)
}

pub async fn sequential(client: &reqwest::Client, endpoint: &Endpoint, count: usize) -> Result<Vec<Duration>, String> {
    let mut samples = Vec::with_capacity(count);
    for _ in 0..count {
        samples.push(timed(client, endpoint).await?);
    }
    Ok(samples)
}

pub struct ConcurrentResult {
    pub clients: usize,
    pub per_client: usize,
    pub wall: Duration,
    pub summary: Summary,
}

impl ConcurrentResult {
    pub fn throughput(&self) -> f64 {
        let secs = self.wall.as_secs_f64();
        if secs > 0.0 { self.summary.count as f64 / secs } else { 0.0 }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "clients": self.clients,
            "requests_per_client": self.per_client,
            "wall_ms": crate::stats::round_ms(self.wall),
            "throughput_rps": (self.throughput() * 10.0).round() / 10.0,
            "latency": self.summary.to_json(),
        })
    }
}

/// `clients` tasks, each with its own client (its own connection), `per_client` requests each.
pub async fn concurrent(endpoint: &Endpoint, clients: usize, per_client: usize) -> Result<ConcurrentResult, String> {
    let built: Vec<reqwest::Client> = (0..clients).map(|_| client()).collect::<Result<_, _>>()?;
    // Open every connection before the clock starts.
    for c in &built {
        timed(c, endpoint).await?;
    }
    let started = Instant::now();
    let tasks: Vec<_> = built
        .into_iter()
        .map(|c| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move { sequential(&c, &endpoint, per_client).await })
        })
        .collect();
    let mut samples = Vec::with_capacity(clients * per_client);
    let mut failure = None;
    for task in tasks {
        match task.await {
            Ok(Ok(s)) => samples.extend(s),
            Ok(Err(e)) => failure = failure.or(Some(e)),
            Err(e) => failure = failure.or(Some(format!("a client task failed: {e}"))),
        }
    }
    let wall = started.elapsed();
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(ConcurrentResult { clients, per_client, wall, summary: Summary::of(&samples) })
}
