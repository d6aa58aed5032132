//! Schema-driven fuzzing of every operation (issue #12): schemathesis, pinned in the local tools
//! (`.local/fuzz-venv`), generates requests from the OpenAPI document this server serves and sends
//! each with the token of the role its route is for (`infra/fuzz/hooks.py`). Checks
//! (`infra/fuzz/schemathesis.toml`): no 5xx, every status and response body as documented, and no
//! schema-valid request refused with 400 — so the document says what the server enforces.
//!
//! `make test` runs it as its own step with a fixed seed (`AZORA_FUZZ_SEED`) and a few examples
//! per operation; `make fuzz` runs it with many examples and a fresh seed. Ignored in a plain
//! `cargo test`: it needs the fuzz tools and takes a minute or two.

use azora_e2e::{spawn_app, unique};
use serde_json::json;
use std::path::PathBuf;
use std::process::Stdio;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::test]
#[ignore = "run by make test's API fuzzing step (needs .local/fuzz-venv)"]
async fn every_operation_answers_generated_requests_as_the_document_says() {
    let app = spawn_app().await;
    let instructor = unique("fuzz-instructor");
    for price in [0, 1999, 4900] {
        app.seed_course(&instructor, price, "USD").await;
    }
    let org = unique("org-fuzz");
    let tokens = json!({
        "student": app.token(&unique("fuzz-student"), &["student"]),
        "instructor": app.token(&instructor, &["instructor"]),
        "enterprise": app.token_with_email_and_org(&unique("fuzz-boss"), &["enterprise"], "boss@example.com", Some(&org)),
        "admin": app.token(&unique("fuzz-admin"), &["admin"]),
        "service": app.token("learning-platform", &["service"]),
    });

    let local_dir = std::env::var("LOCAL_DIR").map(PathBuf::from).unwrap_or_else(|_| repo_root().join(".local"));
    let schemathesis = local_dir.join("fuzz-venv/bin/schemathesis");
    assert!(schemathesis.exists(), "{} is missing: run infra/scripts/install.sh", schemathesis.display());
    let examples = std::env::var("AZORA_FUZZ_EXAMPLES").unwrap_or_else(|_| "25".into());
    let mut command = tokio::process::Command::new(&schemathesis);
    command
        .current_dir(repo_root().join("infra/fuzz"))
        .env("SCHEMATHESIS_HOOKS", "hooks")
        .env("AZORA_FUZZ_TOKENS", tokens.to_string())
        .args(["--config-file", "schemathesis.toml", "run"])
        .arg(format!("{}/api/openapi.json", app.base_url))
        .args(["--max-examples", &examples, "--workers", "2", "--phases", "examples,fuzzing", "--no-color"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Ok(seed) = std::env::var("AZORA_FUZZ_SEED") {
        command.args(["--seed", &seed]);
    }
    let output = command.output().await.expect("schemathesis runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "schemathesis found failures (report above)");
    assert!(report.contains("Tested:"), "schemathesis tested nothing");
}
