//! The IAM conformance check: every AWS call a function was seen making in the end-to-end suite is
//! allowed by that function's `Policies` in template.yaml, resource included.
//!
//! The local server records the calls (`azora_local::iam`) into `$AZORA_IAM_CALLS_DIR/*.tsv`
//! while the suite runs; this test reads them afterwards. Cargo runs tests in parallel in no fixed
//! order, so it is `#[ignore]`d in the main run and `infra/scripts/test.sh` runs it as its own
//! step after `cargo test` (`cargo test -p azora-stack --test iam_conformance -- --ignored`).

use azora_stack::Template;
use azora_stack::iam::{Call, check};
use std::collections::BTreeSet;

#[test]
#[ignore = "reads the calls recorded by the end-to-end suite; infra/scripts/test.sh runs it after cargo test"]
fn every_recorded_aws_call_is_allowed_by_its_functions_policy() {
    let dir = std::env::var("AZORA_IAM_CALLS_DIR")
        .expect("AZORA_IAM_CALLS_DIR must name the directory the end-to-end suite recorded AWS calls into");
    let mut calls = BTreeSet::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {dir}: {e}"));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|x| x == "tsv") {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            for line in text.lines().filter(|l| !l.is_empty()) {
                calls.insert(Call::parse_line(line).unwrap_or_else(|| panic!("{}: bad line {line:?}", path.display())));
            }
        }
    }
    let template = Template::load_default().expect("template.yaml parses");
    let report = check(&template, &calls).expect("every function's Policies resolve");
    assert!(report.checked > 0, "no AWS calls were recorded in {dir}: did the end-to-end suite run with it set?");
    let unexercised: Vec<&str> = template
        .functions
        .iter()
        .filter(|f| !report.functions_seen.contains(&f.binary))
        .map(|f| f.logical_id.as_str())
        .collect();
    eprintln!(
        "IAM conformance: {} distinct calls by {} of {} functions checked ({} outside any function not checked); \
         no AWS calls seen for: {}",
        report.checked,
        report.functions_seen.len(),
        template.functions.len(),
        report.unattributed,
        if unexercised.is_empty() { "-".to_string() } else { unexercised.join(", ") }
    );
    let violations: Vec<String> = report.violations.iter().map(|v| format!("  {v}")).collect();
    assert!(
        violations.is_empty(),
        "{} AWS call(s) would be denied in AWS (fix the function's Policies in template.yaml, least privilege):\n{}",
        violations.len(),
        violations.join("\n")
    );
}
