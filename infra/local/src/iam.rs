//! Records which AWS actions each function performs, for the IAM conformance check
//! (`azora_stack::iam`, run by `make test` after the end-to-end suite).
//!
//! The local server serves every function from one `AppState`, so it attributes AWS calls to the
//! function being dispatched: [`in_function`] sets a task-local around each HTTP handler, SQS
//! consumer batch and job, and [`IamRecorder`], an SDK interceptor on the state's DynamoDB, SQS
//! and SES clients, reads it for every call. A call outside any function (test setup writing to
//! the table, seeding) is recorded as [`UNATTRIBUTED`] and not checked. Handlers do not spawn
//! tasks; one that did would have to run its task inside [`in_function`] too (a task-local is not
//! inherited), or its calls show up as unattributed.
//!
//! Each call is recorded as IAM authorizes it, with a canonical ARN ([`azora_stack::iam`]): a
//! `Query` on an index is on `table/Table/index/<name>`, each item of a `TransactWriteItems` is a
//! `PutItem`/`UpdateItem`/`DeleteItem`/`ConditionCheckItem` on its table, `SendMessageBatch` is
//! `sqs:SendMessage`, `SendEmail` is on the sender's identity.
//!
//! Calls are kept in a process-wide set ([`recorded`]); when `AZORA_IAM_CALLS_DIR` is set, each
//! new one is also appended to `$AZORA_IAM_CALLS_DIR/calls-<pid>.tsv`, which the check reads.
//! `GET /_local/iam` on the local server lists them with the check's verdict ([`report_json`]).
//! Production never installs the recorder.
//!
//! Not recorded: the SQS polling the local server does for the consumers (`ReceiveMessage`,
//! `DeleteMessageBatch`, ...), which in AWS is Lambda's event source mapping, authorized by the
//! poller permissions SAM adds to a function with an `SQS` event.

use aws_sdk_dynamodb::config::{
    ConfigBag, Intercept, RuntimeComponents, interceptors::BeforeSerializationInterceptorContextRef,
};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::Input;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
pub use azora_stack::iam::{Call, UNATTRIBUTED};
use azora_stack::iam::{queue_arn, ses_configuration_set_arn, ses_identity_arn, table_arn};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// Where recordings go when set (a directory; created if missing).
pub const CALLS_DIR_VAR: &str = "AZORA_IAM_CALLS_DIR";

tokio::task_local! {
    static FUNCTION: Arc<str>;
}

/// Runs `fut` as function `binary`: its AWS calls are recorded for that function.
pub async fn in_function<F: Future>(binary: &str, fut: F) -> F::Output {
    FUNCTION.scope(Arc::from(binary), fut).await
}

/// The function being served by the current task, if any.
pub fn current_function() -> Option<Arc<str>> {
    FUNCTION.try_with(Arc::clone).ok()
}

/// How one local stack's physical names map to template.yaml's logical resources.
#[derive(Debug, Clone, Default)]
pub struct ResourceNames {
    /// Local table name → logical id.
    pub tables: BTreeMap<String, String>,
    /// Local queue URL → logical id.
    pub queues: BTreeMap<String, String>,
    /// Local SES identity (the sender domain) → the identity in the canonical stack (the
    /// `SenderDomain` parameter's default).
    pub ses_identities: BTreeMap<String, String>,
}

/// The SDK interceptor that records each call for the function being served.
#[derive(Debug)]
pub struct IamRecorder {
    names: ResourceNames,
    sink: fn(Call),
}

impl IamRecorder {
    /// Records into the process-wide registry ([`recorded`], `$AZORA_IAM_CALLS_DIR`).
    pub fn new(names: ResourceNames) -> Self {
        Self::with_sink(names, record)
    }

    /// Hands every call to `sink` instead (tests of the recorder itself, whose made-up functions
    /// must not reach the recordings the conformance check reads).
    pub fn with_sink(names: ResourceNames, sink: fn(Call)) -> Self {
        Self { names, sink }
    }

    fn table(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            return name.to_string();
        }
        self.names.tables.get(name).map_or_else(|| table_arn(name), |logical| table_arn(logical))
    }

    fn queue(&self, url: Option<&str>) -> String {
        let url = url.unwrap_or_default();
        match self.names.queues.get(url) {
            Some(logical) => queue_arn(logical),
            None => queue_arn(url.rsplit('/').next().unwrap_or_default()),
        }
    }

    /// The (action, canonical resource) pairs IAM authorizes for one request.
    fn actions(&self, input: &Input, metadata: Option<&Metadata>) -> Vec<(String, String)> {
        use aws_sdk_dynamodb::operation as ddb;
        let one = |action: &str, resource: String| vec![(action.to_string(), resource)];
        if let Some(i) = input.downcast_ref::<ddb::get_item::GetItemInput>() {
            return one("dynamodb:GetItem", self.table(i.table_name().unwrap_or_default()));
        }
        if let Some(i) = input.downcast_ref::<ddb::put_item::PutItemInput>() {
            return one("dynamodb:PutItem", self.table(i.table_name().unwrap_or_default()));
        }
        if let Some(i) = input.downcast_ref::<ddb::update_item::UpdateItemInput>() {
            return one("dynamodb:UpdateItem", self.table(i.table_name().unwrap_or_default()));
        }
        if let Some(i) = input.downcast_ref::<ddb::delete_item::DeleteItemInput>() {
            return one("dynamodb:DeleteItem", self.table(i.table_name().unwrap_or_default()));
        }
        if let Some(i) = input.downcast_ref::<ddb::query::QueryInput>() {
            return one("dynamodb:Query", self.table_or_index(i.table_name(), i.index_name()));
        }
        if let Some(i) = input.downcast_ref::<ddb::scan::ScanInput>() {
            return one("dynamodb:Scan", self.table_or_index(i.table_name(), i.index_name()));
        }
        if let Some(i) = input.downcast_ref::<ddb::batch_get_item::BatchGetItemInput>() {
            let tables = i.request_items().map(|m| m.keys().collect::<Vec<_>>()).unwrap_or_default();
            return tables.into_iter().map(|t| ("dynamodb:BatchGetItem".to_string(), self.table(t))).collect();
        }
        if let Some(i) = input.downcast_ref::<ddb::batch_write_item::BatchWriteItemInput>() {
            let tables = i.request_items().map(|m| m.keys().collect::<Vec<_>>()).unwrap_or_default();
            return tables.into_iter().map(|t| ("dynamodb:BatchWriteItem".to_string(), self.table(t))).collect();
        }
        if let Some(i) = input.downcast_ref::<ddb::transact_write_items::TransactWriteItemsInput>() {
            return i
                .transact_items()
                .iter()
                .filter_map(|item| {
                    let (action, table) = if let Some(x) = item.put() {
                        ("dynamodb:PutItem", x.table_name())
                    } else if let Some(x) = item.update() {
                        ("dynamodb:UpdateItem", x.table_name())
                    } else if let Some(x) = item.delete() {
                        ("dynamodb:DeleteItem", x.table_name())
                    } else {
                        ("dynamodb:ConditionCheckItem", item.condition_check()?.table_name())
                    };
                    Some((action.to_string(), self.table(table)))
                })
                .collect();
        }
        if let Some(i) = input.downcast_ref::<ddb::transact_get_items::TransactGetItemsInput>() {
            return i
                .transact_items()
                .iter()
                .filter_map(|item| Some(("dynamodb:GetItem".to_string(), self.table(item.get()?.table_name()))))
                .collect();
        }
        if let Some(i) = input.downcast_ref::<aws_sdk_sqs::operation::send_message::SendMessageInput>() {
            return one("sqs:SendMessage", self.queue(i.queue_url()));
        }
        if let Some(i) = input.downcast_ref::<aws_sdk_sqs::operation::send_message_batch::SendMessageBatchInput>() {
            return one("sqs:SendMessage", self.queue(i.queue_url()));
        }
        if let Some(i) = input.downcast_ref::<aws_sdk_sesv2::operation::send_email::SendEmailInput>() {
            let identity = match i.from_email_address_identity_arn() {
                Some(arn) => arn.to_string(),
                None => {
                    let from = i.from_email_address().unwrap_or_default();
                    let domain = from.rsplit('@').next().unwrap_or_default().trim_end_matches('>');
                    ses_identity_arn(self.names.ses_identities.get(domain).map_or(domain, String::as_str))
                }
            };
            let mut calls = one("ses:SendEmail", identity);
            if let Some(set) = i.configuration_set_name() {
                calls.push(("ses:SendEmail".into(), ses_configuration_set_arn(set)));
            }
            return calls;
        }
        // An operation this recorder does not know: recorded with an unknown resource, so the
        // check fails and names it rather than passing it silently.
        let (service, operation) = metadata.map_or(("unknown", "unknown"), |m| (m.service(), m.name()));
        let prefix = match service.to_ascii_lowercase().as_str() {
            "dynamodb" => "dynamodb".to_string(),
            "sqs" => "sqs".to_string(),
            "sesv2" => "ses".to_string(),
            other => other.to_string(),
        };
        one(&format!("{prefix}:{operation}"), "unknown-resource (teach infra/local/src/iam.rs this operation)".into())
    }

    fn table_or_index(&self, table: Option<&str>, index: Option<&str>) -> String {
        let table = self.table(table.unwrap_or_default());
        match index {
            Some(index) => format!("{table}/index/{index}"),
            None => table,
        }
    }
}

impl Intercept for IamRecorder {
    fn name(&self) -> &'static str {
        "IamRecorder"
    }

    // Not `read_before_execution`: for a client's interceptors it runs before the operation's
    // configuration (its `Metadata`) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let function = current_function().map_or_else(|| UNATTRIBUTED.to_string(), |f| f.to_string());
        let service = cfg.load::<Metadata>().map_or("unknown", |m| m.service()).to_ascii_lowercase();
        count_round_trip(&function, &service);
        for (action, resource) in self.actions(context.input(), cfg.load::<Metadata>()) {
            (self.sink)(Call { function: function.clone(), action, resource });
        }
        Ok(())
    }
}

/// Round trips (SDK operations, a transaction counting once) per (function, service) since the
/// process started: `make bench` reads them around a run of one endpoint to count its calls.
fn round_trips() -> &'static Mutex<BTreeMap<(String, String), u64>> {
    static COUNTS: OnceLock<Mutex<BTreeMap<(String, String), u64>>> = OnceLock::new();
    COUNTS.get_or_init(|| Mutex::new(BTreeMap::new()))
}

fn count_round_trip(function: &str, service: &str) {
    let mut counts = round_trips().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *counts.entry((function.to_string(), service.to_string())).or_default() += 1;
}

/// A copy of the round-trip counters: (function, service) → operations sent.
pub fn round_trip_counts() -> BTreeMap<(String, String), u64> {
    round_trips().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

struct Registry {
    calls: BTreeSet<Call>,
    file: Option<std::fs::File>,
}

fn registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let file = std::env::var_os(CALLS_DIR_VAR).filter(|d| !d.is_empty()).and_then(|dir| {
            let dir = std::path::PathBuf::from(dir);
            let path = dir.join(format!("calls-{}.tsv", std::process::id()));
            let opened = std::fs::create_dir_all(&dir)
                .and_then(|_| std::fs::OpenOptions::new().create(true).append(true).open(&path));
            match opened {
                Ok(f) => Some(f),
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "cannot record IAM calls");
                    None
                }
            }
        });
        Mutex::new(Registry { calls: BTreeSet::new(), file })
    })
}

fn record(call: Call) {
    let mut registry = registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if registry.calls.contains(&call) {
        return;
    }
    if let Some(file) = registry.file.as_mut()
        && let Err(e) = writeln!(file, "{}", call.to_line())
    {
        tracing::error!(error = %e, "cannot record an IAM call");
    }
    registry.calls.insert(call);
}

/// Every distinct call recorded in this process so far.
pub fn recorded() -> BTreeSet<Call> {
    registry().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).calls.clone()
}

/// `GET /_local/iam`: every call recorded in this process, each with whether its function's
/// policy in template.yaml allows it (`null` outside any function), and the violations.
pub fn report_json() -> serde_json::Value {
    let calls = recorded();
    let report = azora_stack::Template::load_default()
        .and_then(|template| azora_stack::iam::check(&template, &calls))
        .map_err(|e| e.to_string());
    let denied: BTreeSet<&Call> = match &report {
        Ok(r) => r.violations.iter().map(|v| &v.call).collect(),
        Err(_) => BTreeSet::new(),
    };
    let listed: Vec<serde_json::Value> = calls
        .iter()
        .map(|c| {
            let allowed = match (&report, c.function.as_str()) {
                (_, UNATTRIBUTED) | (Err(_), _) => serde_json::Value::Null,
                (Ok(_), _) => (!denied.contains(c)).into(),
            };
            serde_json::json!({ "function": c.function, "action": c.action, "resource": c.resource, "allowed": allowed })
        })
        .collect();
    match report {
        Ok(r) => serde_json::json!({
            "calls": listed,
            "violations": r.violations.iter().map(ToString::to_string).collect::<Vec<_>>(),
        }),
        Err(e) => serde_json::json!({ "calls": listed, "error": e }),
    }
}

/// The recorder as an interceptor for `AppState::with_interceptors`.
pub fn interceptor(names: ResourceNames) -> aws_sdk_dynamodb::config::SharedInterceptor {
    aws_sdk_dynamodb::config::SharedInterceptor::new(IamRecorder::new(names))
}

#[cfg(test)]
mod tests {
    use super::*;
    use azora_stack::iam::index_arn;

    static SEEN: Mutex<Vec<Call>> = Mutex::new(Vec::new());

    fn recorder() -> IamRecorder {
        IamRecorder::with_sink(names(), |call| SEEN.lock().unwrap().push(call))
    }

    fn names() -> ResourceNames {
        ResourceNames {
            tables: [("azora-test-1".to_string(), "Table".to_string())].into(),
            queues: [("http://localhost:5000/123/t1-EmailQueue".to_string(), "EmailQueue".to_string())].into(),
            ses_identities: [("azora.local".to_string(), "azora.example".to_string())].into(),
        }
    }

    fn actions(input: impl std::fmt::Debug + Send + Sync + 'static) -> Vec<(String, String)> {
        recorder().actions(&Input::erase(input), None)
    }

    #[test]
    fn index_queries_and_transaction_items_are_recorded_as_iam_sees_them() {
        use aws_sdk_dynamodb::operation::{query::QueryInput, transact_write_items::TransactWriteItemsInput};
        use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
        let q = QueryInput::builder().table_name("azora-test-1").index_name("GSI1").build().unwrap();
        assert_eq!(actions(q), [("dynamodb:Query".to_string(), index_arn("Table", "GSI1"))]);
        let pk = || aws_sdk_dynamodb::types::AttributeValue::S("a".into());
        let put = Put::builder().table_name("azora-test-1").item("PK", pk());
        let check = ConditionCheck::builder()
            .table_name("azora-test-1")
            .key("PK", pk())
            .condition_expression("attribute_exists(PK)");
        let update = Update::builder().table_name("other").key("PK", pk()).update_expression("SET a = :a");
        let tx = TransactWriteItemsInput::builder()
            .transact_items(TransactWriteItem::builder().put(put.build().unwrap()).build())
            .transact_items(TransactWriteItem::builder().condition_check(check.build().unwrap()).build())
            .transact_items(TransactWriteItem::builder().update(update.build().unwrap()).build())
            .build()
            .unwrap();
        assert_eq!(
            actions(tx),
            [
                ("dynamodb:PutItem".to_string(), table_arn("Table")),
                ("dynamodb:ConditionCheckItem".to_string(), table_arn("Table")),
                ("dynamodb:UpdateItem".to_string(), table_arn("other")),
            ]
        );
    }

    #[test]
    fn queues_and_sender_identities_map_to_the_template() {
        let send = aws_sdk_sqs::operation::send_message::SendMessageInput::builder()
            .queue_url("http://localhost:5000/123/t1-EmailQueue")
            .message_body("{}")
            .build()
            .unwrap();
        assert_eq!(actions(send), [("sqs:SendMessage".to_string(), queue_arn("EmailQueue"))]);
        let email = aws_sdk_sesv2::operation::send_email::SendEmailInput::builder()
            .from_email_address("Azora <no-reply@azora.local>")
            .build()
            .unwrap();
        assert_eq!(actions(email), [("ses:SendEmail".to_string(), ses_identity_arn("azora.example"))]);
    }

    /// Through a real client: the interceptor sees the task-local, and an operation it does not
    /// know is recorded under its name with a resource no policy allows. (Into a test sink: the
    /// process-wide registry and its file are for the conformance check.)
    #[tokio::test]
    async fn an_sdk_client_with_the_recorder_records_in_scope_and_names_unknown_operations() {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .http_client(azora_stack::https_client())
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
            .interceptor(recorder())
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(conf);
        in_function("probe-fn", async {
            let _ = client.get_item().table_name("azora-test-1").send().await;
            let _ = client.describe_table().table_name("azora-test-1").send().await;
        })
        .await;
        let _ = client.get_item().table_name("outside").send().await;
        let calls = SEEN.lock().unwrap().clone();
        let probe: Vec<&Call> = calls.iter().filter(|c| c.function == "probe-fn").collect();
        assert_eq!(probe.len(), 2, "{probe:?}");
        assert!(probe.iter().any(|c| c.action == "dynamodb:GetItem" && c.resource == table_arn("Table")));
        assert!(probe.iter().any(|c| c.action == "dynamodb:DescribeTable" && c.resource.starts_with("unknown")));
        assert!(calls.contains(&Call {
            function: UNATTRIBUTED.into(),
            action: "dynamodb:GetItem".into(),
            resource: table_arn("outside")
        }));
    }

    #[tokio::test]
    async fn calls_are_attributed_to_the_function_in_scope() {
        assert!(current_function().is_none());
        let inside = in_function("subscriptions-current", async { current_function() }).await;
        assert_eq!(inside.as_deref(), Some("subscriptions-current"));
    }
}
