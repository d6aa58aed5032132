//! `make bench`: measures, on this machine,
//!
//! 1. the cold start of one function binary (`subscriptions-current`, release): a fresh process
//!    per run against a mock Lambda Runtime API in this process, timed from spawn to its first
//!    `next` poll (init) and to its first posted response (cold start with the first invocation,
//!    a real DynamoDB Local read);
//! 2. the latency of `GET /api/subscriptions/current` and `GET /api/health` through the local
//!    server booted in this process: sequential percentiles, then a bounded concurrent run.
//!
//! `bench leaderboard` instead loads 1,000,000 users' leaderboard scores and measures the top-100
//! read (see `leaderboard.rs`).
//!
//! Needs the local services (DynamoDB Local, moto): `infra/scripts/bench.sh` starts and stops
//! them. Prints a table and writes a JSON report (default `target/bench/results.json`).

mod catalog_scale;
mod cold;
mod latency;
mod leaderboard;
mod load;
mod plot;
mod report;
mod runtime_api;
mod stats;
mod survey;

use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use azora_local::dev::{BootOptions, Booted, DEV_DEFAULTS, boot};
use azora_local::gateway::{IncomingRequest, v2_event};
use azora_local::tokens::{TokenSpec, mint_hs256};
use azora_stack::Template;
use latency::{ConcurrentResult, Endpoint};
use serde_json::{Value, json};
use stats::{Summary, ms};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const FUNCTION: &str = "subscriptions-current";
const SUBSCRIPTION_PATH: &str = "/api/subscriptions/current";
const HEALTH_PATH: &str = "/api/health";
const BENCH_SECRET: &str = "azora-bench-secret-0123456789abcdef0123";
const BENCH_ISSUER: &str = "https://auth.azora.bench/";
const BENCH_AUDIENCE: &str = "azora-monetization";
/// Upper bound for every count option, so a typo cannot start an endless run.
const MAX_COUNT: usize = 100_000;

const USAGE: &str = "usage: bench [--function-binary PATH] [--runs N] [--warmup N] [--requests N]
             [--clients N] [--per-client N] [--out PATH]

  --function-binary  release build of subscriptions-current
                     (default: $CARGO_TARGET_DIR or target/, then release/subscriptions-current)
  --runs             cold-start runs, one fresh process each (default 10)
  --warmup           warm-up requests per endpoint before measuring (default 200)
  --requests         sequential requests per endpoint (default 2000)
  --clients          concurrent clients (default 8)
  --per-client       requests per concurrent client (default 500)
  --out              JSON report (default <target>/bench/results.json)

Subcommand: `bench leaderboard --help` (the 1,000,000-user leaderboard load and top-100 reads).
Subcommand: `bench load --help` (latency per endpoint class, round trips, the open-model load and
its money invariants, written to docs/benchmarks.md).

Needs DynamoDB Local and moto: run `make bench`, or `source $(infra/scripts/start.sh test)` first.";

struct Options {
    function_binary: PathBuf,
    runs: usize,
    warmup: usize,
    requests: usize,
    clients: usize,
    per_client: usize,
    out: PathBuf,
}

/// The repository root, without the `infra/stack/../..` it is found through.
fn repo_root() -> PathBuf {
    let root = azora_stack::template::repo_root();
    root.canonicalize().unwrap_or(root)
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("target"),
    }
}

fn parse_options() -> Result<Option<Options>, String> {
    let target = target_dir();
    let mut options = Options {
        function_binary: target.join("release").join(FUNCTION),
        runs: 10,
        warmup: 200,
        requests: 2000,
        clients: 8,
        per_client: 500,
        out: target.join("bench").join("results.json"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return Ok(None);
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let count = |v: &str| -> Result<usize, String> {
            match v.parse::<usize>() {
                Ok(n) if (1..=MAX_COUNT).contains(&n) => Ok(n),
                _ => Err(format!("{flag} must be a number from 1 to {MAX_COUNT}, not {v:?}")),
            }
        };
        match flag.as_str() {
            "--function-binary" => options.function_binary = PathBuf::from(value),
            "--runs" => options.runs = count(&value)?,
            "--warmup" => options.warmup = count(&value)?,
            "--requests" => options.requests = count(&value)?,
            "--clients" => options.clients = count(&value)?.min(256),
            "--per-client" => options.per_client = count(&value)?,
            "--out" => options.out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(Some(options))
}

fn require_stack() -> Result<(), String> {
    for name in ["AWS_REGION", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_SESV2"] {
        if !std::env::var(name).is_ok_and(|v| !v.is_empty()) {
            return Err(format!(
                "{name} is not set: the bench needs the local stack (DynamoDB Local and moto). \
                 Run `make bench`, or `source $(infra/scripts/start.sh test)` first."
            ));
        }
    }
    Ok(())
}

fn profile() -> &'static str {
    if cfg!(debug_assertions) { "debug" } else { "release" }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("functions") {
        return survey::run(&args[1..], target_dir().join("bench").join("functions.json")).await;
    }
    if args.first().map(String::as_str) == Some("leaderboard") {
        require_stack()?;
        return leaderboard::run(&args[1..], target_dir().join("bench").join("leaderboard.json")).await;
    }
    if args.first().map(String::as_str) == Some("load") {
        if args.iter().any(|a| a == "-h" || a == "--help") {
            println!("{}", load::USAGE);
            return Ok(());
        }
        require_stack()?;
        let options = load::LoadOptions::parse(&args[1..], target_dir(), repo_root())?;
        let report = load::run(&options).await?;
        println!("{}", report::summary_table(&report));
        return Ok(());
    }
    let Some(options) = parse_options()? else {
        return Ok(());
    };
    require_stack()?;
    // Fail before provisioning anything when the function was not built.
    std::fs::metadata(&options.function_binary).map_err(|e| {
        format!(
            "function binary {} is not readable ({e}); build it with `cargo build --release -p {FUNCTION}`",
            options.function_binary.display()
        )
    })?;
    let started = Instant::now();
    let date = jiff::Timestamp::now();
    let load_before = load_average();

    // The local server, a fresh table and queues, as the end-to-end harness boots them.
    let run_tag = ulid::Ulid::new().to_string().to_lowercase();
    let mut settings: BTreeMap<String, String> =
        DEV_DEFAULTS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    settings.insert("TABLE_NAME".into(), format!("azora-bench-{run_tag}"));
    settings.insert("JWT_SECRET".into(), BENCH_SECRET.into());
    settings.insert("JWT_ISSUER".into(), BENCH_ISSUER.into());
    settings.insert("JWT_AUDIENCE".into(), BENCH_AUDIENCE.into());
    eprintln!("bench: provisioning table azora-bench-{run_tag} and booting the local server");
    let booted = boot(BootOptions {
        settings,
        queue_prefix: format!("b{}-", &run_tag[run_tag.len() - 10..]),
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        // No slice measured here uses a queue; pollers would only add background noise.
        run_consumers: false,
        force_base64_bodies: false,
    })
    .await
    .map_err(|e| format!("cannot boot the local server: {e}"))?;

    let result = measure(&options, &booted, &run_tag).await;
    cleanup(booted).await;
    let (cold, latency) = result?;

    let report = Report {
        options: &options,
        date,
        elapsed: started.elapsed(),
        load_before,
        load_after: load_average(),
        cold,
        latency,
    };
    report.print();
    report.write()?;
    let failed: Vec<u16> = report.cold.runs.iter().map(|r| r.status).filter(|s| *s != 200).collect();
    if !failed.is_empty() {
        return Err(format!(
            "the function answered {failed:?} instead of 200; see {}",
            options.out.parent().unwrap_or(Path::new(".")).join("logs").display()
        ));
    }
    Ok(())
}

struct LatencyRow {
    endpoint: &'static str,
    sequential: Summary,
    concurrent: ConcurrentResult,
}

async fn measure(
    options: &Options,
    booted: &Booted,
    run_tag: &str,
) -> Result<(cold::ColdReport, Vec<LatencyRow>), String> {
    // One user with an active Pro subscription, and a token for them.
    let user = format!("bench-pro-{run_tag}");
    let user_id = UserId::parse(user.clone()).map_err(|e| format!("bad user id {user}: {e}"))?;
    let pro = Subscription {
        tier: Tier::Pro,
        status: SubscriptionStatus::Active,
        interval: Some(BillingInterval::Month),
        current_period_end: Some(jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30)),
        cancel_at_period_end: false,
    };
    booted
        .state
        .store
        .put_subscription(&user_id, &pro)
        .await
        .map_err(|e| format!("cannot seed the Pro subscription: {e}"))?;
    let token = mint_hs256(
        BENCH_SECRET.as_bytes(),
        BENCH_ISSUER,
        BENCH_AUDIENCE,
        &TokenSpec { sub: &user, roles: &["student"], org: None, ttl_seconds: 3600 },
    )
    .map_err(|e| format!("cannot mint the bench token: {e}"))?;

    let base = booted.server.base_url();
    let endpoints = [
        Endpoint {
            name: "GET /api/subscriptions/current",
            url: format!("{base}{SUBSCRIPTION_PATH}"),
            bearer: Some(token.clone()),
        },
        Endpoint { name: "GET /api/health", url: format!("{base}{HEALTH_PATH}"), bearer: None },
    ];
    // Warm the server and DynamoDB Local (a JVM) first, so neither the cold starts' first
    // invocation nor the measured requests pay for DynamoDB Local's own warm-up.
    let client = latency::client()?;
    eprintln!("bench: warm-up, {} requests per endpoint", options.warmup);
    for endpoint in &endpoints {
        latency::sequential(&client, endpoint, options.warmup).await?;
    }

    // 1. Cold start of the function binary.
    let template = Template::load_default().map_err(|e| format!("template.yaml: {e}"))?;
    let function = template
        .function_by_binary(FUNCTION)
        .ok_or_else(|| format!("template.yaml has no function with binary {FUNCTION}"))?;
    let memory_mb = memory_size(&template, &function.logical_id);
    let logs_dir = options.out.parent().unwrap_or(Path::new(".")).join("logs");
    eprintln!(
        "bench: cold start of {} ({} runs, logs in {})",
        options.function_binary.display(),
        options.runs,
        logs_dir.display()
    );
    let event_token = token;
    let cold = cold::run(cold::ColdOptions {
        binary: options.function_binary.clone(),
        function_name: FUNCTION.to_string(),
        runs: options.runs,
        // The function's own environment, as template.yaml gives it.
        function_env: booted
            .env
            .iter()
            .filter(|(k, _)| function.env.contains_key(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        memory_mb,
        timeout_seconds: function.timeout_seconds,
        event_for: Box::new(move |request_id| api_event(&event_token, request_id)),
        logs_dir,
        any_answer: false,
    })
    .await?;

    // 2. Latency through the local server.
    let mut rows = Vec::new();
    for endpoint in &endpoints {
        eprintln!(
            "bench: {}: {} sequential, {} clients × {}",
            endpoint.name, options.requests, options.clients, options.per_client
        );
        let sequential = latency::sequential(&client, endpoint, options.requests).await?;
        let concurrent = latency::concurrent(endpoint, options.clients, options.per_client).await?;
        rows.push(LatencyRow { endpoint: endpoint.name, sequential: Summary::of(&sequential), concurrent });
    }
    Ok((cold, rows))
}

/// The API Gateway HTTP API (v2) event for the measured request, built by the same code the
/// local server uses, with a valid bearer token.
fn api_event(token: &str, request_id: &str) -> Value {
    let request = IncomingRequest {
        method: "GET",
        path: SUBSCRIPTION_PATH,
        raw_query: "",
        headers: vec![
            ("authorization".into(), format!("Bearer {token}")),
            ("host".into(), "api.azora.bench".into()),
            ("user-agent".into(), "azora-bench".into()),
            ("accept".into(), "application/json".into()),
        ],
        body: &[],
        source_ip: "127.0.0.1".into(),
    };
    v2_event(&request, &format!("GET {SUBSCRIPTION_PATH}"), &HashMap::new(), request_id, false)
}

/// The function's MemorySize from template.yaml (its own, else Globals), else Lambda's 128 MB.
fn memory_size(template: &Template, logical_id: &str) -> u64 {
    let raw = template.raw();
    raw.get("Resources")
        .and_then(|r| r.get(logical_id))
        .and_then(|f| f.get("Properties"))
        .and_then(|p| p.get("MemorySize"))
        .and_then(|m| m.as_u64())
        .or_else(|| {
            raw.get("Globals")
                .and_then(|g| g.get("Function"))
                .and_then(|f| f.get("MemorySize"))
                .and_then(|m| m.as_u64())
        })
        .unwrap_or(128)
}

/// Stops the server and removes the bench's table and queues (best effort).
async fn cleanup(booted: Booted) {
    let Booted { server, provisioned, .. } = booted;
    server.shutdown().await;
    let sdk = azora_stack::sdk_config().await;
    let stack = azora_stack::LocalStack::new(&sdk);
    if let Err(e) = stack.dynamodb.delete_table().table_name(&provisioned.table_name).send().await {
        eprintln!("bench: warning: could not delete table {}: {e}", provisioned.table_name);
    }
    for url in provisioned.queue_urls.values() {
        if let Err(e) = stack.sqs.delete_queue().queue_url(url).send().await {
            eprintln!("bench: warning: could not delete queue {url}: {e}");
        }
    }
}

fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg").ok().map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// `git rev-parse HEAD` and whether tracked files differ from it; None outside a repository.
fn git_commit() -> Option<(String, bool)> {
    let root = repo_root();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some((commit, dirty))
}

struct Report<'a> {
    options: &'a Options,
    date: jiff::Timestamp,
    elapsed: Duration,
    load_before: Option<String>,
    load_after: Option<String>,
    cold: cold::ColdReport,
    latency: Vec<LatencyRow>,
}

impl Report<'_> {
    fn print(&self) {
        let commit = match git_commit() {
            Some((c, dirty)) => format!("{}{}", &c[..c.len().min(12)], if dirty { "+dirty" } else { "" }),
            None => "unknown".into(),
        };
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        println!();
        println!(
            "Azora bench  {}  commit {commit}  {cpus} CPUs  load {} → {}",
            self.date.strftime("%Y-%m-%d %H:%M:%S UTC"),
            self.load_before.as_deref().unwrap_or("?"),
            self.load_after.as_deref().unwrap_or("?"),
        );
        println!();
        let c = &self.cold;
        println!(
            "1. Cold start: {FUNCTION} (release build, {:.2} MiB = {} bytes), {} fresh processes vs a mock Runtime API",
            c.binary_size as f64 / (1024.0 * 1024.0),
            c.binary_size,
            c.runs.len()
        );
        println!("   {:<44} {:>10} {:>10}", "", "median", "max");
        for (label, values) in [
            ("init: spawn → first next poll", c.inits()),
            ("cold start: spawn → first response posted", c.cold_starts()),
            ("first invocation: next → response", c.first_invokes()),
        ] {
            let (median, max) = cold::median_max(&values);
            println!("   {label:<44} {:>7.2} ms {:>7.2} ms", ms(median), ms(max));
        }
        let mut statuses: BTreeMap<(u16, String), usize> = BTreeMap::new();
        for r in &c.runs {
            *statuses.entry((r.status, r.tier.clone().unwrap_or_else(|| "-".into()))).or_default() += 1;
        }
        let statuses: Vec<String> = statuses.iter().map(|((s, tier), n)| format!("{s} (tier {tier}) ×{n}")).collect();
        println!("   {:<44} {}", "function response", statuses.join(", "));
        println!();
        println!(
            "2. Local server in this process (bench binary: {} build), keep-alive HTTP/1.1 on 127.0.0.1, DynamoDB Local behind it",
            profile()
        );
        println!(
            "   {:<32} {:<16} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}",
            "endpoint", "run", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s"
        );
        for row in &self.latency {
            let s = row.sequential;
            let seq_rps = if s.mean > Duration::ZERO { 1.0 / s.mean.as_secs_f64() } else { 0.0 };
            let k = &row.concurrent;
            for (run, s, rps) in [
                ("sequential".to_string(), s, seq_rps),
                (format!("{} × {}", k.clients, k.per_client), k.summary, k.throughput()),
            ] {
                println!(
                    "   {:<32} {:<16} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>9.0}",
                    row.endpoint,
                    run,
                    s.count,
                    ms(s.p50),
                    ms(s.p90),
                    ms(s.p99),
                    ms(s.max),
                    rps
                );
            }
        }
        println!();
        println!("   Latency = send → last body byte, one DynamoDB Local GetItem per request behind it; no log");
        println!("   subscriber in the bench process. Sequential req/s = 1 / mean; concurrent = requests / wall.");
        println!("   report: {}", self.options.out.display());
    }

    fn write(&self) -> Result<(), String> {
        let commit = git_commit();
        let latency: Vec<Value> = self
            .latency
            .iter()
            .map(|row| {
                json!({
                    "endpoint": row.endpoint,
                    "sequential": row.sequential.to_json(),
                    "concurrent": row.concurrent.to_json(),
                })
            })
            .collect();
        let report = json!({
            "date": self.date.to_string(),
            "git_commit": commit.as_ref().map(|(c, _)| c),
            "git_dirty": commit.as_ref().map(|(_, d)| d),
            "bench_build": profile(),
            "machine": {
                "cpus": std::thread::available_parallelism().map_or(0, |n| n.get()),
                "load_average_before": self.load_before,
                "load_average_after": self.load_after,
            },
            "parameters": {
                "cold_start_runs": self.options.runs,
                "warmup_requests": self.options.warmup,
                "sequential_requests": self.options.requests,
                "concurrent_clients": self.options.clients,
                "requests_per_client": self.options.per_client,
            },
            "cold_start": {
                "function": FUNCTION,
                "build": "release",
                "measured": "fresh process per run against a mock Lambda Runtime API; init = spawn → first next poll, cold_start = spawn → first response posted",
                "result": self.cold.to_json(),
            },
            "local_server": {
                "measured": "in-process local server (no log subscriber, SQS consumers off), keep-alive HTTP/1.1 over 127.0.0.1, time from send to last body byte; each request does one DynamoDB Local GetItem",
                "endpoints": latency,
            },
            "bench_wall_ms": stats::round_ms(self.elapsed),
        });
        if let Some(dir) = self.options.out.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(&report).map_err(|e| format!("cannot encode the report: {e}"))?;
        std::fs::write(&self.options.out, text + "\n")
            .map_err(|e| format!("cannot write {}: {e}", self.options.out.display()))
    }
}

/// The machine a figure ran on: CPU model, cores and memory, as Linux reports them.
pub fn machine_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|r| r.trim().to_string())))
        .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{model}, {cores} cores, {memory_gib:.0} GiB")
}
