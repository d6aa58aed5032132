//! `stripe-sandbox`: the Stripe sandbox as a process, for `make dev`.
//!
//! ```text
//! stripe-sandbox [--host 127.0.0.1] [--port 12111] [--webhook-url URL] [--webhook-secret SECRET]
//!                [--no-auto-deliver] [--available-after SECONDS] [--quiet]
//! ```
//! Environment: `STRIPE_SANDBOX_HOST`, `STRIPE_SANDBOX_PORT` (default 12111),
//! `STRIPE_WEBHOOK_URL`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_SANDBOX_AVAILABLE_AFTER` (seconds a
//! charge stays pending, default 172800 = 2 days), `STRIPE_SANDBOX_INVOICE_RETRY_DAYS` (retries of
//! a failed subscription invoice in days after the previous attempt, default `3,2,2`; `none`: no
//! retries) and `STRIPE_SANDBOX_INVOICE_RETRY_END` (the subscription's status after the last
//! failed retry: `past_due`, the default, `unpaid` or `canceled`); flags win over the environment.
//! Logs one line per request to stderr. Stops on Ctrl-C or SIGTERM.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use azora_stripe_sandbox::{API_VERSION, DEFAULT_PORT, Sandbox, SandboxOptions};

const USAGE: &str = "usage: stripe-sandbox [--host ADDR] [--port PORT] [--webhook-url URL] [--webhook-secret SECRET] [--no-auto-deliver] [--available-after SECONDS] [--quiet]
env: STRIPE_SANDBOX_HOST, STRIPE_SANDBOX_PORT (default 12111), STRIPE_WEBHOOK_URL, STRIPE_WEBHOOK_SECRET, STRIPE_SANDBOX_AVAILABLE_AFTER (default 172800), STRIPE_SANDBOX_INVOICE_RETRY_DAYS (default 3,2,2), STRIPE_SANDBOX_INVOICE_RETRY_END (default past_due)";

fn seconds(raw: &str) -> Result<std::time::Duration, String> {
    raw.trim().parse::<u64>().map(std::time::Duration::from_secs).map_err(|_| format!("invalid seconds {raw}"))
}

/// `3,2,2`: retries in days after the previous attempt; empty or `none`: no retries.
fn retry_days(raw: &str) -> Result<Vec<i64>, String> {
    if raw.trim() == "none" {
        return Ok(Vec::new());
    }
    raw.split(',')
        .map(|d| d.trim().parse::<i64>().ok().filter(|d| (1..=60).contains(d)))
        .collect::<Option<Vec<i64>>>()
        .filter(|days| days.len() <= 8)
        .ok_or_else(|| format!("invalid retry schedule {raw}: at most 8 comma-separated days from 1 to 60"))
}

fn retry_end(raw: &str) -> Result<String, String> {
    let end = raw.trim();
    if azora_stripe_sandbox::INVOICE_RETRY_ENDS.contains(&end) {
        Ok(end.to_string())
    } else {
        Err(format!("invalid retry end state {raw}: past_due, unpaid or canceled"))
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn options() -> Result<SandboxOptions, String> {
    let mut options = SandboxOptions::default();
    let mut host = env("STRIPE_SANDBOX_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let mut port = env("STRIPE_SANDBOX_PORT").unwrap_or_else(|| DEFAULT_PORT.to_string());
    options.webhook_url = env("STRIPE_WEBHOOK_URL");
    if let Some(secret) = env("STRIPE_WEBHOOK_SECRET") {
        options.webhook_secret = secret;
    }
    options.log_requests = true;
    if let Some(after) = env("STRIPE_SANDBOX_AVAILABLE_AFTER") {
        options.available_after = seconds(&after)?;
    }
    if let Some(days) = env("STRIPE_SANDBOX_INVOICE_RETRY_DAYS") {
        options.invoice_retry_days = retry_days(&days)?;
    }
    if let Some(end) = env("STRIPE_SANDBOX_INVOICE_RETRY_END") {
        options.invoice_retry_end = retry_end(&end)?;
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--host" => host = value("--host")?,
            "--port" => port = value("--port")?,
            "--webhook-url" => options.webhook_url = Some(value("--webhook-url")?),
            "--webhook-secret" => options.webhook_secret = value("--webhook-secret")?,
            "--no-auto-deliver" => options.auto_deliver = false,
            "--available-after" => options.available_after = seconds(&value("--available-after")?)?,
            "--quiet" => options.log_requests = false,
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let ip: IpAddr = host.parse().map_err(|_| format!("invalid host {host}"))?;
    let port: u16 = port.parse().map_err(|_| format!("invalid port {port}"))?;
    options.bind = SocketAddr::new(ip, port);
    Ok(options)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match options() {
        Ok(o) => o,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let webhook = options.webhook_url.clone().unwrap_or_else(|| "(none yet: POST /_sandbox/config)".into());
    let auto = options.auto_deliver;
    let sandbox = match Sandbox::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("stripe-sandbox: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "stripe-sandbox listening on {} (API version {API_VERSION}); webhooks -> {webhook}{}",
        sandbox.base_url(),
        if auto { "" } else { " (manual delivery only)" }
    );
    shutdown_signal().await;
    eprintln!("stripe-sandbox stopping");
    drop(sandbox);
    ExitCode::SUCCESS
}
