//! `bench functions`: every function binary of one release build beside a hello-world
//! `lambda_http` binary built with the same profile — zipped artifact size, init (spawn → first
//! `next` poll, median of N fresh processes against the mock Runtime API), peak RSS after the
//! first invocation — with the verdicts of issue #11's targets; and the panic probe: a release
//! binary whose handler panics must answer a JSON 500, not crash.
//!
//! Each function runs with exactly its template.yaml environment (dev values), so a function
//! that reads a variable it is not given fails here at init. The first invocation is an API
//! Gateway GET of the function's first route without a token (or an empty SQS batch / an empty
//! job input); any answer counts — the survey is about the binary, not the request.

use crate::cold::{self, ColdOptions, median_max};
use crate::stats::ms;
use azora_api::needs::Needs;
use azora_local::dev::dev_settings;
use azora_local::gateway::{IncomingRequest, v2_event};
use azora_stack::Template;
use azora_stack::template::FunctionDef;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const HELLO: &str = "hello";
pub const PANIC_PROBE: &str = "panic-probe";

/// Issue #11's targets.
const ZIP_LIMIT_AWS_ONLY: u64 = 3 * 1024 * 1024;
const ZIP_LIMIT_STRIPE: u64 = 5 * 1024 * 1024;
const INIT_FACTOR_AWS_ONLY: f64 = 2.5;
const RSS_LIMIT_KB: u64 = 20 * 1024;

struct Row {
    binary: String,
    stripe: bool,
    size: u64,
    zipped: u64,
    init: Duration,
    rss_kb: Option<u64>,
}

pub async fn run(args: &[String], default_out: PathBuf) -> Result<(), String> {
    let mut release_dir = None;
    let mut out = default_out;
    let mut runs = 5usize;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--release-dir" => release_dir = Some(PathBuf::from(value)),
            "--out" => out = PathBuf::from(value),
            "--runs" => runs = value.parse().map_err(|_| "--runs needs a number".to_string())?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let release_dir = release_dir.ok_or("--release-dir is required")?;
    let template = Template::load_default().map_err(|e| format!("template.yaml: {e}"))?;
    let work = out.parent().unwrap_or(Path::new(".")).join("functions");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;

    let probe = panic_probe(&release_dir.join(PANIC_PROBE), &work).await?;
    let hello_def = FunctionDef {
        logical_id: HELLO.into(),
        binary: HELLO.into(),
        timeout_seconds: 10,
        http_routes: vec![],
        sqs_queues: vec![],
        schedules: vec![],
        cognito_triggers: vec![],
        env: BTreeMap::new(),
    };
    let hello = measure(&release_dir.join(HELLO), &hello_def, false, BTreeMap::new(), 10, &work, hello_event).await?;
    let mut rows = Vec::new();
    let mut not_built = Vec::new();
    for f in &template.functions {
        // A partial release build (`cargo build --release -p <some functions>`) surveys what it has;
        // `make bench` builds every function, so nothing is skipped there.
        if !release_dir.join(&f.binary).exists() {
            not_built.push(f.binary.clone());
            continue;
        }
        let needs = azora_local::functions::find(&f.binary).map(|f| f.needs).unwrap_or_default();
        let event = event_for(f);
        let row =
            measure(&release_dir.join(&f.binary), f, needs.has(Needs::STRIPE), env_of(f), runs, &work, event).await?;
        rows.push(row);
    }
    let mut report = report(&hello, &rows, &probe, runs);
    if !not_built.is_empty() {
        report.0.push_str(&format!("\nNot built, so not surveyed: {} function(s).\n", not_built.len()));
    }
    println!("{}", report.0);
    std::fs::write(&out, serde_json::to_string_pretty(&report.1).unwrap_or_default())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    std::fs::write(out.with_extension("md"), &report.0)
        .map_err(|e| format!("cannot write {}: {e}", out.with_extension("md").display()))?;
    eprintln!("bench: wrote {} and {}", out.display(), out.with_extension("md").display());
    if report.2 > 0 {
        return Err(format!("{} function(s) miss a target (see the table)", report.2));
    }
    Ok(())
}

/// The function's template environment with dev values; queue URLs point nowhere (no call is made
/// at init, and the survey's invocations do not reach a queue).
fn env_of(f: &FunctionDef) -> BTreeMap<String, String> {
    let dev = dev_settings();
    f.env
        .keys()
        .map(|name| {
            let value = match name.as_str() {
                "TABLE_NAME" => "azora-bench-survey".to_string(),
                "RUST_LOG" => "info".to_string(),
                n if n.ends_with("_QUEUE_URL") => format!("http://127.0.0.1:9/000000000000/{n}"),
                n => dev.get(n).cloned().unwrap_or_default(),
            };
            (name.clone(), value)
        })
        .collect()
}

type EventFor = fn(&FunctionDef, &str) -> Value;

fn hello_event(_: &FunctionDef, request_id: &str) -> Value {
    http_event("/", request_id)
}

fn event_for(f: &FunctionDef) -> EventFor {
    if !f.http_routes.is_empty() {
        |f, id| http_event(&f.http_routes[0].path.replace(['{', '}'], ""), id)
    } else if !f.sqs_queues.is_empty() {
        |_, _| json!({ "Records": [] })
    } else {
        |_, _| json!({})
    }
}

fn http_event(path: &str, request_id: &str) -> Value {
    let incoming = IncomingRequest {
        method: "GET",
        path,
        raw_query: "",
        headers: vec![],
        body: b"",
        source_ip: "127.0.0.1".into(),
    };
    v2_event(&incoming, &format!("GET {path}"), &HashMap::new(), request_id, false)
}

async fn measure(
    binary: &Path,
    def: &FunctionDef,
    stripe: bool,
    env: BTreeMap<String, String>,
    runs: usize,
    work: &Path,
    event: EventFor,
) -> Result<Row, String> {
    let size = std::fs::metadata(binary).map_err(|e| format!("{}: {e}", binary.display()))?.len();
    let zipped = zipped_size(binary, work)?;
    let name = def.binary.as_str();
    let template_def = def.clone();
    let report = cold::run(ColdOptions {
        binary: binary.to_path_buf(),
        function_name: name.into(),
        runs,
        function_env: env,
        memory_mb: 256,
        timeout_seconds: 10,
        event_for: Box::new(move |id| event(&template_def, id)),
        logs_dir: work.join("logs").join(name),
        any_answer: true,
    })
    .await?;
    let (init, _) = median_max(&report.inits());
    let rss_kb = report.runs.iter().filter_map(|r| r.peak_rss_kb).max();
    eprintln!("  {name}: {size} bytes, zipped {zipped}, init {:.2} ms, rss {rss_kb:?} KiB", ms(init));
    Ok(Row { binary: name.into(), stripe, size, zipped, init, rss_kb })
}

/// The size of the deployment zip (`bootstrap` alone, deflate -9), as `sam build` packs it.
fn zipped_size(binary: &Path, work: &Path) -> Result<u64, String> {
    let dir = work.join("zip");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bootstrap = dir.join("bootstrap");
    std::fs::copy(binary, &bootstrap).map_err(|e| format!("cannot copy {}: {e}", binary.display()))?;
    let zip = dir.join("function.zip");
    let _ = std::fs::remove_file(&zip);
    let status = std::process::Command::new("zip")
        .args(["-q", "-9", "-j"])
        .arg(&zip)
        .arg(&bootstrap)
        .status()
        .map_err(|e| format!("cannot run zip: {e}"))?;
    if !status.success() {
        return Err(format!("zip failed for {}", binary.display()));
    }
    std::fs::metadata(&zip).map(|m| m.len()).map_err(|e| e.to_string())
}

/// Runs the panic probe once: its handler panics; the answer must be a JSON 500.
async fn panic_probe(binary: &Path, work: &Path) -> Result<Value, String> {
    let env: BTreeMap<String, String> =
        [("TABLE_NAME".to_string(), "azora-bench-survey".to_string())].into_iter().collect();
    let report = cold::run(ColdOptions {
        binary: binary.to_path_buf(),
        function_name: PANIC_PROBE.into(),
        runs: 1,
        function_env: env,
        memory_mb: 256,
        timeout_seconds: 10,
        event_for: Box::new(|id| http_event("/panic", id)),
        logs_dir: work.join("logs").join(PANIC_PROBE),
        any_answer: false,
    })
    .await
    .map_err(|e| format!("panic probe: the release binary did not answer a panic with a response: {e}"))?;
    let status = report.runs.first().map(|r| r.status).unwrap_or_default();
    if status != 500 {
        return Err(format!("panic probe: a panicking handler answered {status}, not 500"));
    }
    Ok(json!({ "status": status, "verdict": "a panic is a JSON 500 in the release build" }))
}

/// The markdown table, the JSON report and how many functions miss a target.
fn report(hello: &Row, rows: &[Row], probe: &Value, runs: usize) -> (String, Value, usize) {
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let init_limit = hello.init.mul_f64(INIT_FACTOR_AWS_ONLY);
    let mut misses = 0;
    let mut md = format!(
        "| function | calls Stripe | binary (MiB) | zip (MiB) | zip target | init (ms, median of {runs}) | init target | peak RSS (MiB) | verdict |\n|---|---|---|---|---|---|---|---|---|\n| hello-world `lambda_http` | | {:.2} | {:.2} | | {:.2} | | {} | baseline |\n",
        mib(hello.size),
        mib(hello.zipped),
        ms(hello.init),
        hello.rss_kb.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or("?".into()),
    );
    let mut json_rows = Vec::new();
    for r in rows {
        let zip_limit = if r.stripe { ZIP_LIMIT_STRIPE } else { ZIP_LIMIT_AWS_ONLY };
        let zip_ok = r.zipped <= zip_limit;
        let init_ok = r.stripe || r.init <= init_limit;
        let rss_ok = r.rss_kb.is_none_or(|k| k <= RSS_LIMIT_KB);
        let ok = zip_ok && init_ok && rss_ok;
        if !ok {
            misses += 1;
        }
        md.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | ≤ {:.0} | {:.2} | {} | {} | {} |\n",
            r.binary,
            if r.stripe { "yes" } else { "" },
            mib(r.size),
            mib(r.zipped),
            mib(zip_limit),
            ms(r.init),
            if r.stripe { "—".to_string() } else { format!("≤ {:.2}", ms(init_limit)) },
            r.rss_kb.map(|k| format!("{:.1}", k as f64 / 1024.0)).unwrap_or("?".into()),
            if ok { "ok" } else { "MISS" },
        ));
        json_rows.push(json!({
            "binary": r.binary, "stripe": r.stripe, "binary_bytes": r.size, "zip_bytes": r.zipped,
            "init_ms": ms(r.init), "peak_rss_kb": r.rss_kb, "ok": ok,
        }));
    }
    let json = json!({
        "hello": { "binary_bytes": hello.size, "zip_bytes": hello.zipped, "init_ms": ms(hello.init), "peak_rss_kb": hello.rss_kb },
        "functions": json_rows,
        "panic_probe": probe,
        "misses": misses,
    });
    md.push_str(&format!("\nPanic probe: {}.\n", probe["verdict"].as_str().unwrap_or("?")));
    (md, json, misses)
}
