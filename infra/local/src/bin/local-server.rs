//! `make dev`: every function on one port (default 3000), against DynamoDB Local and moto.
//! `--seed` writes the demo data.

use azora_local::console::ConsoleOptions;
use azora_local::dev::{BootOptions, boot, dev_settings};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    azora_api::telemetry::init();
    let settings = dev_settings();
    let port: u16 = settings.get("PORT").and_then(|p| p.parse().ok()).unwrap_or(3000);
    let booted = boot(BootOptions {
        settings,
        queue_prefix: "azora-dev-".into(),
        bind: SocketAddr::from(([127, 0, 0, 1], port)),
        run_consumers: true,
        force_base64_bodies: std::env::var("LOCAL_BASE64_BODIES").is_ok_and(|v| v == "1"),
    })
    .await?;
    if std::env::args().any(|a| a == "--seed") {
        for line in azora_local::seed::seed(&booted.state).await? {
            eprintln!("seeded {line}");
        }
    }
    let web_root = std::env::var_os("AZORA_WEB_DIST").map(Into::into).unwrap_or_else(ConsoleOptions::default_web_root);
    booted.server.serve_console(ConsoleOptions::from_env(&booted.env, Some(web_root)));
    let base = booted.server.base_url();
    eprintln!("\nAzora console on {base}/  (dev sign-in; `make web` rebuilds it on change)");
    eprintln!("Azora API on {base}  (table {}, docs {base}/api/docs)", booted.provisioned.table_name);
    for r in &booted.routes.http {
        eprintln!("  {:6} {base}{}  → {}", r.method, r.path, r.binary);
    }
    for c in &booted.routes.consumers {
        eprintln!("  SQS    {} → {}", c.queue_logical_id, c.binary);
    }
    for job in booted.routes.jobs.keys() {
        eprintln!("  JOB    POST {base}/_local/jobs/{job}");
    }
    eprintln!("Tokens: make token ROLE=student|instructor|enterprise|admin|service\n");
    tokio::signal::ctrl_c().await?;
    booted.server.shutdown().await;
    Ok(())
}
