//! Cold start of one function binary: a fresh process per run against the mock Runtime API,
//! timed from spawn to its first `next` poll (init) and to its first posted response (cold start
//! including the first invocation). Each process is killed once it has answered.

use crate::runtime_api::{Invocation, MockRuntimeApi, Observed};
use crate::stats::{ms, round_ms};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::mpsc;

/// A run that has not answered by then failed (a healthy cold start takes milliseconds).
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

pub struct ColdOptions {
    pub binary: PathBuf,
    pub function_name: String,
    pub runs: usize,
    /// The application's configuration (TABLE_NAME, JWT_*, EMAIL_*...), as template.yaml sets it.
    pub function_env: BTreeMap<String, String>,
    pub memory_mb: u64,
    pub timeout_seconds: u64,
    /// Builds the API Gateway event for one request id.
    pub event_for: Box<dyn Fn(&str) -> Value + Send>,
    pub logs_dir: PathBuf,
    /// Count an invocation error or a response that is not an HTTP one as an answer (status 0):
    /// the size/init/memory survey invokes consumers and jobs without their services.
    pub any_answer: bool,
}

pub struct ColdRun {
    pub init: Duration,
    pub cold_start: Duration,
    pub status: u16,
    pub tier: Option<String>,
    /// The process's peak resident memory (VmHWM) once it has answered, where /proc has it.
    pub peak_rss_kb: Option<u64>,
}

pub struct ColdReport {
    pub binary: PathBuf,
    pub binary_size: u64,
    pub runs: Vec<ColdRun>,
}

/// The median (mean of the two middle values for an even count) and the maximum.
pub fn median_max(values: &[Duration]) -> (Duration, Duration) {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    let median = match n {
        0 => Duration::ZERO,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2,
    };
    (median, v.last().copied().unwrap_or_default())
}

impl ColdReport {
    pub fn inits(&self) -> Vec<Duration> {
        self.runs.iter().map(|r| r.init).collect()
    }

    pub fn cold_starts(&self) -> Vec<Duration> {
        self.runs.iter().map(|r| r.cold_start).collect()
    }

    pub fn first_invokes(&self) -> Vec<Duration> {
        self.runs.iter().map(|r| r.cold_start - r.init).collect()
    }

    pub fn to_json(&self) -> Value {
        let stat = |values: Vec<Duration>| {
            let (median, max) = median_max(&values);
            json!({ "median_ms": round_ms(median), "max_ms": round_ms(max) })
        };
        let statuses: Vec<u16> = self.runs.iter().map(|r| r.status).collect();
        json!({
            "binary": self.binary.display().to_string(),
            "binary_size_bytes": self.binary_size,
            "runs": self.runs.len(),
            "init_ms": stat(self.inits()),
            "cold_start_ms": stat(self.cold_starts()),
            "first_invoke_ms": stat(self.first_invokes()),
            "status_codes": statuses,
            "per_run": self.runs.iter().map(|r| json!({
                "init_ms": round_ms(r.init),
                "cold_start_ms": round_ms(r.cold_start),
                "status": r.status,
                "tier": r.tier,
            })).collect::<Vec<_>>(),
        })
    }
}

pub async fn run(options: ColdOptions) -> Result<ColdReport, String> {
    let binary_size = std::fs::metadata(&options.binary)
        .map_err(|e| {
            format!(
                "function binary {} is not readable ({e}); build it with `cargo build --release -p {}`",
                options.binary.display(),
                options.function_name
            )
        })?
        .len();
    std::fs::create_dir_all(&options.logs_dir)
        .map_err(|e| format!("cannot create {}: {e}", options.logs_dir.display()))?;
    let (mock, mut observed) =
        MockRuntimeApi::start().await.map_err(|e| format!("cannot start the mock Lambda Runtime API: {e}"))?;
    let mut runs = Vec::with_capacity(options.runs);
    let mut failure = None;
    for i in 0..options.runs {
        match one_run(&options, &mock, &mut observed, i).await {
            Ok(run) => {
                eprintln!(
                    "  cold start {:>2}/{}: init {:>7.2} ms, first response {:>7.2} ms, status {}",
                    i + 1,
                    options.runs,
                    ms(run.init),
                    ms(run.cold_start),
                    run.status
                );
                runs.push(run);
            }
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    mock.shutdown().await;
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(ColdReport { binary: options.binary.clone(), binary_size, runs })
}

async fn one_run(
    options: &ColdOptions,
    mock: &MockRuntimeApi,
    observed: &mut mpsc::UnboundedReceiver<Observed>,
    index: usize,
) -> Result<ColdRun, String> {
    let request_id = format!("bench-{}-{index}", ulid::Ulid::new().to_string().to_lowercase());
    let event = (options.event_for)(&request_id);
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let timeout_ms = i64::try_from(options.timeout_seconds * 1000).unwrap_or(i64::MAX);
    mock.arm(Invocation {
        request_id: request_id.clone(),
        event: Bytes::from(event.to_string()),
        deadline_ms: now_ms.saturating_add(timeout_ms),
        function_arn: format!("arn:aws:lambda:us-east-1:000000000000:function:{}", options.function_name),
        trace_id: format!(
            "Root=1-{:08x}-{:024x};Parent=0000000000000001;Sampled=0",
            now_ms / 1000,
            ulid::Ulid::new().0 & ((1u128 << 96) - 1)
        ),
    });
    while observed.try_recv().is_ok() {}

    let log_path = options.logs_dir.join(format!("cold-start-{}.log", index + 1));
    let log = std::fs::File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| format!("cannot open {} twice: {e}", log_path.display()))?;
    let mut command = Command::new(&options.binary);
    command
        .envs(&options.function_env)
        .env("AWS_LAMBDA_RUNTIME_API", mock.addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", &options.function_name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", options.memory_mb.to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", options.function_name))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", format!("bench/[$LATEST]{request_id}"))
        .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
        .env_remove("AWS_LAMBDA_INITIALIZATION_TYPE")
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(log_err))
        .kill_on_drop(true);

    let spawned_at = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("cannot run {}: {e}", options.binary.display()))?;
    let deadline = tokio::time::Instant::from_std(spawned_at + RUN_TIMEOUT);
    let mut first_next = None;
    let outcome = loop {
        tokio::select! {
            // A recorded answer wins over the exit that may follow it: in the release build a
            // panicking function answers, then aborts (`azora_api::panic_report`).
            biased;
            event = observed.recv() => match event {
                Some(Observed::Next { at, served: true }) => first_next = Some(at),
                Some(Observed::Next { served: false, .. }) => {}
                Some(Observed::Response { at, request_id: id, body }) if id == request_id => {
                    break Ok((at, body));
                }
                Some(Observed::Response { request_id: id, .. }) => {
                    break Err(format!("response for unknown request id {id}"));
                }
                Some(Observed::InvocationError { at, request_id: id, .. }) if options.any_answer && id == request_id => {
                    break Ok((at, Bytes::from_static(b"{}")));
                }
                Some(Observed::InvocationError { at, request_id: id, error_type, body }) => {
                    break Err(format!(
                        "the function reported an error for {id} after {:.1} ms ({error_type}): {}",
                        ms(at.saturating_duration_since(spawned_at)),
                        String::from_utf8_lossy(&body)
                    ));
                }
                Some(Observed::InitError { at, error_type, body }) => {
                    break Err(format!(
                        "the function reported an init error after {:.1} ms ({error_type}): {}",
                        ms(at.saturating_duration_since(spawned_at)),
                        String::from_utf8_lossy(&body)
                    ));
                }
                None => break Err("the mock Runtime API stopped".to_string()),
            },
            exit = child.wait() => {
                break Err(match exit {
                    Ok(status) => format!("the function exited ({status}) before responding"),
                    Err(e) => format!("cannot wait for the function: {e}"),
                });
            }
            _ = tokio::time::sleep_until(deadline) => {
                break Err(format!("no response within {}s", RUN_TIMEOUT.as_secs()));
            }
        }
    };
    let peak_rss_kb = child.id().and_then(peak_rss_kb);
    // One invocation per process: kill it (Lambda would freeze it) and reap it.
    let _ = child.start_kill();
    let _ = child.wait().await;

    let (responded_at, body) = outcome.map_err(|e| {
        format!(
            "cold start run {} of {}: {e}\n--- {} (last lines) ---\n{}",
            index + 1,
            options.binary.display(),
            log_path.display(),
            tail(&log_path, 15)
        )
    })?;
    let init_at = first_next.ok_or("the function responded without polling next")?;
    let response: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) if options.any_answer => Value::Null,
        Err(e) => return Err(format!("the function's response is not JSON ({e})")),
    };
    let status = match response["statusCode"].as_u64().and_then(|s| u16::try_from(s).ok()) {
        Some(s) => s,
        None if options.any_answer => 0,
        None => return Err(format!("the function's response has no statusCode: {response}")),
    };
    let tier = response["body"]
        .as_str()
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|b| b["tier"].as_str().map(str::to_string));
    Ok(ColdRun {
        init: init_at.saturating_duration_since(spawned_at),
        cold_start: responded_at.saturating_duration_since(spawned_at),
        status,
        tier,
        peak_rss_kb,
    })
}

/// VmHWM of a live process, in KiB (Linux only).
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
