//! `bench leaderboard`: loads N users' all-time scores into a fresh DynamoDB Local table (the
//! production key design: score items in 16 index shards, written with `BatchWriteItem` by a
//! bounded number of concurrent writers), then measures what the API does per request:
//!
//! - the global top 100: one parallel round of 16 shard queries and a merge (checked against a
//!   brute-force ranking of the generated data);
//! - the caller's rank (as the API computes it): the stats snapshot, then, unless the caller is
//!   clearly outside the top 1,000, 16 parallel `COUNT` queries capped at 1,000 for the exact rank;
//! - the leaderboard-stats job over the data (reads 4 of 16 shards).
//!
//! Progress is printed every few seconds; loading stops at `--max-load-seconds` so the bench stays
//! bounded (the report then says how many users were loaded).

use crate::stats::{Summary, ms, round_ms};
use azora_domain::leaderboard::{EXACT_RANK_LIMIT, SHARDS, rank, sort_key};
use azora_stack::{LocalStack, Template};
use azora_store::Store;
use azora_store::leaderboard::CallerRank;
use azora_store::tokens::score_item;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PERIOD: &str = "all";
const MAX_USERS: usize = 5_000_000;

pub const USAGE: &str = "usage: bench leaderboard [--users N] [--writers N] [--reads N] [--max-load-seconds N]
                         [--out PATH] [--keep-table]

  --users             users (score items) to load (default 1000000)
  --writers           concurrent BatchWriteItem writers (default 12)
  --reads             measured top-100 reads (default 50)
  --max-load-seconds  stop loading after this long (default 1800)
  --out               JSON report (default <target>/bench/leaderboard.json)
  --keep-table        leave the table in DynamoDB Local afterwards";

struct Options {
    users: usize,
    writers: usize,
    reads: usize,
    max_load: Duration,
    out: PathBuf,
    keep: bool,
}

fn parse(args: &[String], default_out: PathBuf) -> Result<Option<Options>, String> {
    let mut o = Options {
        users: 1_000_000,
        writers: 12,
        reads: 50,
        max_load: Duration::from_secs(1800),
        out: default_out,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "--keep-table" => {
                o.keep = true;
                continue;
            }
            _ => {}
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let count = |max: usize| -> Result<usize, String> {
            match value.parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(format!("{flag} must be a number from 1 to {max}, not {value:?}")),
            }
        };
        match flag.as_str() {
            "--users" => o.users = count(MAX_USERS)?,
            "--writers" => o.writers = count(64)?,
            "--reads" => o.reads = count(10_000)?,
            "--max-load-seconds" => o.max_load = Duration::from_secs(count(86_400)? as u64),
            "--out" => o.out = PathBuf::from(value),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    Ok(Some(o))
}

/// splitmix64: reproducible data without a dependency.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// User `i`: a long-tailed score (most users earn little, a few a lot) and when they reached it.
fn user(i: usize, base: jiff::Timestamp) -> (String, i64, jiff::Timestamp) {
    let r = mix(i as u64);
    let uniform = (r >> 11) as f64 / (1u64 << 53) as f64;
    let score = (100.0 / (1.0 - uniform).max(1e-6).powf(0.8)) as i64 / 10 * 10;
    let at = base + jiff::SignedDuration::from_secs((mix(r) % 30_000_000) as i64);
    (format!("bench-user-{i:07}"), score, at)
}

pub async fn run(args: &[String], default_out: PathBuf) -> Result<(), String> {
    let Some(o) = parse(args, default_out)? else { return Ok(()) };
    let started = Instant::now();
    let sdk = azora_stack::sdk_config().await;
    let template = Template::load_default().map_err(|e| format!("template.yaml: {e}"))?;
    let table = format!("azora-bench-lb-{}", ulid::Ulid::new().to_string().to_lowercase());
    let stack = LocalStack::new(&sdk);
    stack
        .create_table(template.table().map_err(|e| e.to_string())?, &table)
        .await
        .map_err(|e| format!("cannot create table {table}: {e}"))?;
    let store = Store::new(azora_store::DynamoClient::new(&sdk), &table);
    eprintln!("bench leaderboard: table {table}, {} users, {} writers", o.users, o.writers);
    let result = measure(&o, &store).await;
    if !o.keep
        && let Err(e) = stack.dynamodb.delete_table().table_name(&table).send().await
    {
        eprintln!("bench leaderboard: warning: could not delete table {table}: {e}");
    }
    let mut report = result?;
    report["table"] = json!(table);
    report["bench_wall_ms"] = json!(round_ms(started.elapsed()));
    if let Some(dir) = o.out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    std::fs::write(&o.out, text + "\n").map_err(|e| format!("cannot write {}: {e}", o.out.display()))?;
    println!("   report: {}", o.out.display());
    Ok(())
}

async fn measure(o: &Options, store: &Store) -> Result<Value, String> {
    let base = jiff::Timestamp::from_second(1_760_000_000).map_err(|e| e.to_string())?;

    // 1. Load, with bounded concurrency and progress.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let load_started = Instant::now();
    let deadline = load_started + o.max_load;
    const CHUNK: usize = 250;
    let writers: Vec<_> = (0..o.writers)
        .map(|_| {
            let (store, next, done, requests) = (store.clone(), next.clone(), done.clone(), requests.clone());
            let total = o.users;
            tokio::spawn(async move {
                loop {
                    // Check the deadline before taking a chunk: every chunk taken is written, so
                    // the users loaded are exactly 0..loaded.
                    if Instant::now() > deadline {
                        return Ok::<(), String>(());
                    }
                    let start = next.fetch_add(CHUNK, Ordering::Relaxed);
                    if start >= total {
                        return Ok(());
                    }
                    let end = (start + CHUNK).min(total);
                    let items = (start..end)
                        .map(|i| {
                            let (u, score, at) = user(i, base);
                            score_item(&u, PERIOD, score, at, None)
                        })
                        .collect();
                    let n = store.batch_put(items).await.map_err(|e| format!("BatchWriteItem: {e}"))?;
                    requests.fetch_add(n as usize, Ordering::Relaxed);
                    done.fetch_add(end - start, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let progress = {
        let done = done.clone();
        let total = o.users;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let d = done.load(Ordering::Relaxed);
                let secs = load_started.elapsed().as_secs_f64();
                let rate = d as f64 / secs.max(0.001);
                let eta = if rate > 0.0 { (total - d.min(total)) as f64 / rate } else { f64::INFINITY };
                eprintln!("bench leaderboard: loaded {d}/{total} ({rate:.0} items/s, {secs:.0} s, eta {eta:.0} s)");
            }
        })
    };
    for w in writers {
        w.await.map_err(|e| format!("a writer failed: {e}"))??;
    }
    progress.abort();
    let load = load_started.elapsed();
    let loaded = done.load(Ordering::Relaxed);
    let write_requests = requests.load(Ordering::Relaxed);
    if loaded < o.users {
        eprintln!("bench leaderboard: warning: stopped loading at {loaded} users (--max-load-seconds)");
    }
    eprintln!(
        "bench leaderboard: loaded {loaded} users in {:.1} s ({:.0} items/s, {write_requests} BatchWriteItem requests)",
        load.as_secs_f64(),
        loaded as f64 / load.as_secs_f64().max(0.001)
    );

    // The brute-force ranking of what was loaded.
    let brute: Vec<(String, i128)> =
        (0..loaded).map(|i| user(i, base)).map(|(u, s, at)| (u, sort_key(s, at))).collect();
    let expected = rank(brute.clone(), 100);

    // 2. Top 100.
    for _ in 0..3 {
        store.leaderboard_top(PERIOD, 100).await.map_err(|e| e.to_string())?;
    }
    let mut samples = Vec::with_capacity(o.reads);
    let mut top_requests = 0;
    let mut correct = true;
    for _ in 0..o.reads {
        let t = Instant::now();
        let top = store.leaderboard_top(PERIOD, 100).await.map_err(|e| e.to_string())?;
        let ranked = rank(top.entries, 100);
        samples.push(t.elapsed());
        top_requests = top.requests;
        correct &= ranked == expected;
    }
    if !correct {
        return Err("the top 100 read from the index differs from the brute-force ranking".into());
    }
    let top = Summary::of(&samples);

    // 3. Rank lookups after the stats job: one user inside the top 1,000 (exact), one at the
    //    median (band).
    let all = rank(brute, usize::MAX);
    let mut rank_rows = Vec::new();
    let stats_started = Instant::now();
    let (snapshot, stats_requests) =
        store.compute_leaderboard_stats(PERIOD, jiff::Timestamp::now(), None).await.map_err(|e| e.to_string())?;
    let stats_time = stats_started.elapsed();
    for position in [all.len().min(EXACT_RANK_LIMIT) / 2, all.len() / 2] {
        let Some(target) = all.get(position) else { continue };
        let mut times = Vec::new();
        let mut outcome = String::new();
        let mut requests = 0;
        for _ in 0..10 {
            let t = Instant::now();
            let (rank, n) = store.caller_rank(PERIOD, target.key).await.map_err(|e| e.to_string())?;
            requests = n;
            outcome = match rank {
                CallerRank::Exact(r) => {
                    if r != target.rank {
                        return Err(format!("rank of position {position}: {r} instead of {}", target.rank));
                    }
                    format!("exact rank {r}")
                }
                CallerRank::Band { snapshot } => {
                    let band = snapshot.and_then(|s| s.band_of(target.key));
                    format!("band {} (true rank {})", azora_domain::leaderboard::band_label(band), target.rank)
                }
            };
            times.push(t.elapsed());
        }
        rank_rows.push((position, outcome, Summary::of(&times), requests));
    }

    // Report.
    println!();
    println!("Leaderboard bench: {loaded} users' scores in DynamoDB Local ({} shards, keys-only index)", SHARDS);
    println!(
        "   load: {:.1} s, {:.0} items/s, {write_requests} BatchWriteItem requests, {} writers",
        load.as_secs_f64(),
        loaded as f64 / load.as_secs_f64().max(0.001),
        o.writers
    );
    println!(
        "   top 100 ({} reads): p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; {top_requests} queries per read (one parallel round), equals brute force",
        top.count,
        ms(top.p50),
        ms(top.p90),
        ms(top.p99),
        ms(top.max)
    );
    for (position, outcome, s, requests) in &rank_rows {
        println!(
            "   caller at position {position}: {outcome}; p50 {:.2} ms, max {:.2} ms, {requests} requests",
            ms(s.p50),
            ms(s.max)
        );
    }
    println!(
        "   stats job: {:.1} s, {stats_requests} requests, sample {} users, estimated total {}",
        stats_time.as_secs_f64(),
        snapshot.sample_size,
        snapshot.estimated_total
    );
    Ok(json!({
        "users_requested": o.users,
        "users_loaded": loaded,
        "shards": SHARDS,
        "load": {
            "wall_ms": round_ms(load),
            "items_per_second": (loaded as f64 / load.as_secs_f64().max(0.001)).round(),
            "batch_write_requests": write_requests,
            "writers": o.writers,
        },
        "top100": {
            "reads": top.count,
            "requests_per_read": top_requests,
            "equals_brute_force": correct,
            "latency": top.to_json(),
        },
        "rank": rank_rows.iter().map(|(p, outcome, s, requests)| json!({
            "position": p, "outcome": outcome, "requests": requests, "latency": s.to_json()
        })).collect::<Vec<_>>(),
        "stats_job": {
            "wall_ms": round_ms(stats_time),
            "requests": stats_requests,
            "sample_size": snapshot.sample_size,
            "estimated_total": snapshot.estimated_total,
        },
    }))
}
