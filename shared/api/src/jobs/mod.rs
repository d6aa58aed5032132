//! Scheduled jobs (EventBridge Scheduler in AWS; `POST /_local/jobs/<name>` locally).
//!
//! Long jobs are bounded by a time [`Budget`]: the Lambda invocation's deadline (less a margin for
//! the call in flight and the final checkpoint) where there is one, else the budget the input names,
//! else a default. They checkpoint their progress per run ([`Checkpoint`]) so that the next
//! invocation of the same run resumes where this one stopped.

pub mod billing_cycle;
mod error;
pub mod leaderboard_stats;
pub mod payouts;
pub mod reconcile;

pub use error::JobError;

use crate::state::{AppState, Clock};
use azora_store::job_runs::{JobRun, StepProgress};
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

tokio::task_local! {
    /// The Lambda invocation's deadline, set by `lambda::run_job` around each job invocation.
    static LAMBDA_DEADLINE: Instant;
}

/// Runs `job` with the Lambda context's deadline (wall-clock) available to [`Budget::from_input`].
pub async fn with_lambda_deadline<F: Future>(deadline: SystemTime, job: F) -> F::Output {
    // The runtime's deadline is real time, so it is measured against the wall clock, not the app's.
    let remaining = deadline.duration_since(Clock::wall_time().into()).unwrap_or_default();
    LAMBDA_DEADLINE.scope(Instant::now() + remaining, job).await
}

fn lambda_deadline() -> Option<Instant> {
    LAMBDA_DEADLINE.try_with(|d| *d).ok()
}

/// Kept free before the Lambda deadline: the Stripe or DynamoDB call in flight when the budget
/// runs out (the SDKs' own timeouts and retries), and the final checkpoint.
const LAMBDA_MARGIN: Duration = Duration::from_secs(20);
/// Without a Lambda deadline or an input budget (the local server): the AWS timeout less the margin.
const DEFAULT_BUDGET: Duration = Duration::from_secs(280);
/// The longest budget an input may ask for.
const MAX_BUDGET: Duration = Duration::from_secs(900);

/// How long a job invocation may keep starting new work.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    until: Instant,
}

impl Budget {
    pub fn for_duration(d: Duration) -> Self {
        Self { until: Instant::now() + d }
    }

    /// `input.budgetMs` (milliseconds, e.g. from the schedule's input or a test), bounded by the
    /// Lambda deadline less a margin when running in Lambda.
    pub fn from_input(input: &Value) -> Result<Self, JobError> {
        let asked = match input.get("budgetMs") {
            None | Some(Value::Null) => None,
            Some(v) => {
                Some(v.as_u64().filter(|ms| *ms >= 1 && *ms <= MAX_BUDGET.as_millis() as u64).ok_or_else(|| {
                    JobError::BadInput(format!("budgetMs must be 1 to {} milliseconds", MAX_BUDGET.as_millis()))
                })?)
            }
        };
        let now = Instant::now();
        let from_lambda = lambda_deadline().map(|d| d.checked_sub(LAMBDA_MARGIN).unwrap_or(now).max(now));
        let until = match (asked.map(|ms| now + Duration::from_millis(ms)), from_lambda) {
            (Some(a), Some(l)) => a.min(l),
            (Some(a), None) => a,
            (None, Some(l)) => l,
            (None, None) => now + DEFAULT_BUDGET,
        };
        Ok(Self { until })
    }

    pub fn expired(&self) -> bool {
        Instant::now() >= self.until
    }

    pub fn remaining(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }
}

/// The run id of a scheduled job: `input.run` when it names one (an id, or the scheduler's
/// `<aws.scheduler.scheduled-time>` whose UTC date is used), else today's UTC date.
pub fn run_id(input: &Value, today: jiff::Timestamp) -> Result<String, JobError> {
    let invalid = || JobError::BadInput("run must be a timestamp, or 1 to 40 letters, digits or dashes".into());
    match input.get("run") {
        None | Some(Value::Null) => Ok(today.strftime("%Y-%m-%d").to_string()),
        Some(Value::String(run)) => {
            if let Ok(at) = run.parse::<jiff::Timestamp>() {
                return Ok(at.strftime("%Y-%m-%d").to_string());
            }
            if !run.is_empty() && run.len() <= 40 && run.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                Ok(run.clone())
            } else {
                Err(invalid())
            }
        }
        Some(_) => Err(invalid()),
    }
}

/// This invocation's hold on one run of a job, and the saves of its steps' progress.
pub struct Checkpoint<'a> {
    state: &'a AppState,
    job: &'static str,
    pub run: String,
    owner: String,
    pub progress: JobRun,
}

impl<'a> Checkpoint<'a> {
    /// Takes the run (`None` while another invocation holds it), with a lease that outlasts the
    /// budget by the Lambda margin.
    pub async fn begin(
        state: &'a AppState,
        job: &'static str,
        run: String,
        budget: &Budget,
    ) -> Result<Option<Checkpoint<'a>>, JobError> {
        let owner = azora_domain::ids::new_id("inv");
        let now = state.clock.now().as_second();
        let lease = now + (budget.remaining() + LAMBDA_MARGIN).as_secs() as i64 + 1;
        let Some(progress) = state.store.begin_job_run(job, &run, &owner, now, lease).await? else { return Ok(None) };
        Ok(Some(Checkpoint { state, job, run, owner, progress }))
    }

    pub fn is_done(&self, step: &str) -> bool {
        self.progress.done.contains(step)
    }

    pub fn cursor(&self, step: &str) -> Option<&str> {
        self.progress.cursors.get(step).map(String::as_str)
    }

    /// Records where `step` stands (and adds `increments` to its totals).
    pub async fn save(
        &mut self,
        step: &str,
        cursor: Option<&str>,
        done: bool,
        increments: &[(&str, i64)],
    ) -> Result<(), JobError> {
        let progress = StepProgress { step, cursor, done, increments };
        self.state.store.save_job_step(self.job, &self.run, &self.owner, &progress).await.map_err(|e| match e {
            azora_store::StoreError::ConditionFailed => JobError::TakenOver,
            other => other.into(),
        })?;
        match cursor {
            Some(c) if !done => {
                self.progress.cursors.insert(step.to_string(), c.to_string());
            }
            _ => {
                self.progress.cursors.remove(step);
            }
        }
        if done {
            self.progress.done.insert(step.to_string());
        }
        for (counter, by) in increments {
            *self.progress.totals.entry(format!("{step}.{counter}")).or_default() += by;
        }
        Ok(())
    }

    /// Lets the next invocation in at once; `completed` marks the whole run done.
    pub async fn end(self, completed: bool) -> Result<JobRun, JobError> {
        let at = completed.then(|| self.state.clock.now().as_second());
        self.state.store.end_job_run(self.job, &self.run, &self.owner, at).await?;
        Ok(self.progress)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_run_is_the_input_run_or_the_scheduled_date() {
        let today: jiff::Timestamp = "2026-12-02T03:00:07Z".parse().unwrap();
        assert_eq!(run_id(&json!({}), today).unwrap(), "2026-12-02");
        assert_eq!(run_id(&json!({ "run": "2026-11-30T03:00:00Z" }), today).unwrap(), "2026-11-30");
        assert_eq!(run_id(&json!({ "run": "extra-1" }), today).unwrap(), "extra-1");
        for bad in
            [json!({ "run": "" }), json!({ "run": "a b" }), json!({ "run": 7 }), json!({ "run": "x".repeat(41) })]
        {
            assert!(run_id(&bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_budget_comes_from_the_input_or_a_default() {
        let b = Budget::from_input(&json!({ "budgetMs": 1 })).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        assert!(b.expired());
        let b = Budget::from_input(&json!({})).unwrap();
        assert!(!b.expired() && b.remaining() > Duration::from_secs(200));
        assert!(Budget::from_input(&json!({ "budgetMs": 0 })).is_err());
        assert!(Budget::from_input(&json!({ "budgetMs": "5" })).is_err());
    }

    #[tokio::test]
    async fn a_lambda_deadline_bounds_the_budget() {
        let now = SystemTime::from(Clock::wall_time());
        let deadline = now + Duration::from_secs(25);
        let b = with_lambda_deadline(deadline, async { Budget::from_input(&json!({ "budgetMs": 600_000 })).unwrap() })
            .await;
        assert!(b.remaining() <= Duration::from_secs(5), "{:?}", b.remaining());
        let b = with_lambda_deadline(now, async { Budget::from_input(&json!({})).unwrap() }).await;
        assert!(b.expired());
    }
}
