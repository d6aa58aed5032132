//! Checkpoints of scheduled job runs: `JOBRUN#<job>#<runId>` / `RUN`.
//!
//! A run (e.g. one day's billing cycle) is made of independent steps. The checkpoint records which
//! steps are done, a cursor within each unfinished step and running totals, so an invocation cut
//! short by its time budget (or a crash) is resumed by the next invocation of the same run, which
//! skips the steps already done. One invocation works on a run at a time: it holds a lease on the
//! checkpoint, and every save is conditional on still holding it.

use crate::error::StoreError;
use crate::item::{Item, n, opt_i64, opt_s, s};
use crate::table::{Expr, Key, Outcome, key};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use std::collections::{BTreeMap, BTreeSet};

const KEEP_SECONDS: i64 = 90 * 86_400;
const CURSOR_PREFIX: &str = "cursor_";
const TOTAL_PREFIX: &str = "total_";

/// What earlier invocations of a run achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobRun {
    pub done: BTreeSet<String>,
    /// Where each unfinished step stopped (opaque to the store).
    pub cursors: BTreeMap<String, String>,
    /// Running totals, `<step>.<counter>`.
    pub totals: BTreeMap<String, i64>,
    pub invocations: i64,
    pub completed_at: Option<i64>,
}

/// Step names and counters become attribute names: letters, digits and `_` only.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 40 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if valid_name(name) { Ok(()) } else { Err(StoreError::Malformed(format!("job step or counter name {name:?}"))) }
}

fn run_from_item(item: &Item) -> Result<JobRun, StoreError> {
    let mut run = JobRun {
        done: item.get("doneSteps").and_then(|v| v.as_ss().ok()).into_iter().flatten().cloned().collect(),
        invocations: opt_i64(item, "invocations")?.unwrap_or(0),
        completed_at: opt_i64(item, "completedAt")?,
        ..JobRun::default()
    };
    for (name, value) in item {
        if let Some(step) = name.strip_prefix(CURSOR_PREFIX) {
            if let Some(c) = opt_s(item, name) {
                run.cursors.insert(step.to_string(), c.to_string());
            }
        } else if let Some(total) = name.strip_prefix(TOTAL_PREFIX)
            && let AttributeValue::N(v) = value
        {
            let v = v.parse().map_err(|_| StoreError::Malformed(format!("job run {name}")))?;
            // `<step>__<counter>` in the attribute name, `<step>.<counter>` for callers.
            run.totals.insert(total.replacen("__", ".", 1), v);
        }
    }
    Ok(run)
}

/// One save of a step's progress.
#[derive(Debug, Clone, Default)]
pub struct StepProgress<'a> {
    pub step: &'a str,
    /// Where to resume; `None` with `done: false` means "from the start".
    pub cursor: Option<&'a str>,
    pub done: bool,
    /// Added to the run's totals.
    pub increments: &'a [(&'a str, i64)],
}

fn run_key(job: &str, run: &str) -> Key {
    key(keys::job_run(job, run), "RUN")
}

/// Every save is conditional on still holding the run.
fn owned_by(owner: &str) -> Expr {
    Expr::when("#owner = :me").name("#owner", "owner").value(":me", s(owner))
}

impl Store {
    /// Starts (or resumes) `run` of `job` for `owner` until `lease_until`. `None` while another
    /// invocation holds an unexpired lease on it.
    pub async fn begin_job_run(
        &self,
        job: &str,
        run: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<Option<JobRun>, StoreError> {
        let expr = Expr::update(
            "SET #owner = :me, leaseUntil = :lease, startedAt = if_not_exists(startedAt, :now), \
             #ttl = :ttl ADD invocations :one",
        )
        .with(owned_by(owner))
        .only_if("attribute_not_exists(PK) OR leaseUntil < :now OR #owner = :me")
        .name("#ttl", keys::TTL)
        .value(":lease", n(lease_until))
        .value(":now", n(now))
        .value(":ttl", n(now + KEEP_SECONDS))
        .value(":one", n(1));
        match self.update_returning(&run_key(job, run), expr, ReturnValue::AllNew).await {
            Ok(attributes) => attributes.as_ref().map(run_from_item).transpose().map(|r| Some(r.unwrap_or_default())),
            Err(StoreError::ConditionFailed) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Saves a step's progress; refused (`ConditionFailed`) once `owner` no longer holds the run.
    pub async fn save_job_step(
        &self,
        job: &str,
        run: &str,
        owner: &str,
        progress: &StepProgress<'_>,
    ) -> Result<(), StoreError> {
        check_name(progress.step)?;
        let mut sets = Vec::new();
        let mut adds = Vec::new();
        let mut removes = Vec::new();
        let mut expr = owned_by(owner).name("#cursor", format!("{CURSOR_PREFIX}{}", progress.step));
        match (progress.done, progress.cursor) {
            (false, Some(c)) => {
                sets.push("#cursor = :cursor");
                expr = expr.value(":cursor", s(c));
            }
            _ => removes.push("#cursor"),
        }
        if progress.done {
            adds.push("doneSteps :step".to_string());
            expr = expr.value(":step", AttributeValue::Ss(vec![progress.step.to_string()]));
        }
        for (i, (counter, by)) in progress.increments.iter().enumerate() {
            check_name(counter)?;
            if *by == 0 {
                continue;
            }
            adds.push(format!("#t{i} :t{i}"));
            expr = expr
                .name(format!("#t{i}"), format!("{TOTAL_PREFIX}{}__{counter}", progress.step))
                .value(format!(":t{i}"), n(*by));
        }
        let mut expression = String::new();
        if !sets.is_empty() {
            expression.push_str(&format!("SET {} ", sets.join(", ")));
        }
        if !adds.is_empty() {
            expression.push_str(&format!("ADD {} ", adds.join(", ")));
        }
        if !removes.is_empty() {
            expression.push_str(&format!("REMOVE {}", removes.join(", ")));
        }
        self.update(&run_key(job, run), Expr::update(expression.trim_end()).with(expr)).await
    }

    /// Ends this invocation's hold on the run (the next invocation need not wait for the lease),
    /// marking the run completed when every step is done.
    pub async fn end_job_run(
        &self,
        job: &str,
        run: &str,
        owner: &str,
        completed_at: Option<i64>,
    ) -> Result<(), StoreError> {
        let expr = match completed_at {
            Some(at) => Expr::update("SET leaseUntil = :zero, completedAt = if_not_exists(completedAt, :at)")
                .value(":at", n(at)),
            None => Expr::update("SET leaseUntil = :zero"),
        };
        // Someone took over after our lease ran out: theirs now.
        self.update(&run_key(job, run), expr.with(owned_by(owner)).value(":zero", n(0))).await.or_done()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_attribute_safe() {
        assert!(valid_name("reminders"));
        assert!(valid_name("noticesSent"));
        assert!(!valid_name("a.b"));
        assert!(!valid_name(""));
        assert!(!valid_name("x#y"));
    }

    #[test]
    fn reads_steps_cursors_and_totals() {
        let item: Item = [
            ("doneSteps", AttributeValue::Ss(vec!["grace".into(), "reminders".into()])),
            ("cursor_licenses", s("2026-12|abc")),
            ("total_reminders__sent", n(3)),
            ("invocations", n(4)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let run = run_from_item(&item).unwrap();
        assert_eq!(run.done.iter().map(String::as_str).collect::<Vec<_>>(), ["grace", "reminders"]);
        assert_eq!(run.cursors.get("licenses").map(String::as_str), Some("2026-12|abc"));
        assert_eq!(run.totals.get("reminders.sent"), Some(&3));
        assert_eq!((run.invocations, run.completed_at), (4, None));
    }
}
