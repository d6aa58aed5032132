//! A typed view of the parts of template.yaml the local stack needs.

use serde_yaml::{Mapping, Value};
use std::collections::BTreeMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("template.yaml is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(msg: impl Into<String>) -> TemplateError {
    TemplateError::Shape(msg.into())
}

/// An environment value: a literal or a reference to a parameter or resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Literal(String),
    Ref(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRoute {
    pub method: String,
    pub path: String,
}

impl HttpRoute {
    /// The catch-all (`ANY /api/{proxy+}`) that answers what no other route takes: not an
    /// endpoint, so not in the OpenAPI document nor the authorization matrix.
    pub fn is_fallback(&self) -> bool {
        self.method == "ANY"
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionDef {
    pub logical_id: String,
    /// The cargo binary (and crate under `functions/`) that implements it.
    pub binary: String,
    pub timeout_seconds: u64,
    pub http_routes: Vec<HttpRoute>,
    /// Logical ids of the queues it consumes.
    pub sqs_queues: Vec<String>,
    pub schedules: Vec<String>,
    /// The Cognito user pool triggers it is (`PreTokenGenerationConfig`, ...): invoked by the
    /// pool with an event it returns, like a job's input and report.
    pub cognito_triggers: Vec<String>,
    pub env: BTreeMap<String, EnvValue>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElement {
    pub name: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDef {
    pub name: String,
    pub keys: Vec<KeyElement>,
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDef {
    pub logical_id: String,
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyElement>,
    pub global_indexes: Vec<IndexDef>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueDef {
    pub logical_id: String,
    pub fifo: bool,
    pub visibility_timeout: u64,
    /// (dead-letter queue logical id, maxReceiveCount)
    pub dead_letter: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct Template {
    pub parameters: BTreeMap<String, String>,
    pub functions: Vec<FunctionDef>,
    pub tables: Vec<TableDef>,
    pub queues: Vec<QueueDef>,
    raw: Value,
}

/// The repository root, found from this crate's location at build time (or `AZORA_REPO_ROOT`).
pub fn repo_root() -> std::path::PathBuf {
    if let Ok(root) = std::env::var("AZORA_REPO_ROOT") {
        return root.into();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

impl Template {
    /// `template.yaml` at the repository root.
    pub fn load_default() -> Result<Template, TemplateError> {
        Self::load(&repo_root().join("template.yaml"))
    }

    pub fn load(path: &Path) -> Result<Template, TemplateError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| TemplateError::Read { path: path.display().to_string(), source })?;
        Self::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let raw: Value = serde_yaml::from_str(text)?;
        let resources = raw.get("Resources").and_then(Value::as_mapping).ok_or_else(|| shape("no Resources"))?;
        let parameters = raw
            .get("Parameters")
            .and_then(Value::as_mapping)
            .map(|m| {
                m.iter().filter_map(|(k, v)| Some((k.as_str()?.to_string(), scalar(v.get("Default")?)?))).collect()
            })
            .unwrap_or_default();
        let globals = raw.get("Globals").and_then(|g| g.get("Function"));
        let global_timeout = globals.and_then(|g| g.get("Timeout")).and_then(Value::as_u64).unwrap_or(3);
        let global_env = globals.map(env_of).transpose()?.unwrap_or_default();

        let mut functions = Vec::new();
        let mut tables = Vec::new();
        let mut queues = Vec::new();
        for (id, res) in resources {
            let id = id.as_str().ok_or_else(|| shape("non-string resource id"))?.to_string();
            let props = res.get("Properties").cloned().unwrap_or(Value::Mapping(Mapping::new()));
            match res.get("Type").and_then(Value::as_str) {
                Some("AWS::Serverless::Function") => {
                    functions.push(function_of(&id, res, &props, global_timeout, &global_env)?)
                }
                Some("AWS::DynamoDB::Table") => tables.push(table_of(&id, &props)?),
                Some("AWS::SQS::Queue") => queues.push(queue_of(&id, &props)?),
                _ => {}
            }
        }
        for (trigger, function) in cognito_triggers(resources) {
            if let Some(def) = functions.iter_mut().find(|f: &&mut FunctionDef| f.logical_id == function) {
                def.cognito_triggers.push(trigger);
            }
        }
        Ok(Template { parameters, functions, tables, queues, raw })
    }

    pub fn raw(&self) -> &Value {
        &self.raw
    }

    pub fn table(&self) -> Result<&TableDef, TemplateError> {
        match self.tables.as_slice() {
            [one] => Ok(one),
            _ => Err(shape("expected exactly one AWS::DynamoDB::Table")),
        }
    }

    pub fn function_by_binary(&self, binary: &str) -> Option<&FunctionDef> {
        self.functions.iter().find(|f| f.binary == binary)
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn env_of(function_props: &Value) -> Result<BTreeMap<String, EnvValue>, TemplateError> {
    let Some(vars) = function_props.get("Environment").and_then(|e| e.get("Variables")).and_then(Value::as_mapping)
    else {
        return Ok(BTreeMap::new());
    };
    vars.iter()
        .map(|(k, v)| {
            let name = k.as_str().ok_or_else(|| shape("env name"))?.to_string();
            let value = match v {
                Value::Tagged(t) if t.tag == "!Ref" => {
                    EnvValue::Ref(scalar(&t.value).ok_or_else(|| shape("!Ref target"))?)
                }
                Value::Mapping(m) if m.get("Ref").is_some() => {
                    EnvValue::Ref(m.get("Ref").and_then(scalar).ok_or_else(|| shape("Ref target"))?)
                }
                other => {
                    EnvValue::Literal(scalar(other).ok_or_else(|| shape(format!("unsupported env value for {name}")))?)
                }
            };
            Ok((name, value))
        })
        .collect()
}

fn function_of(
    id: &str,
    res: &Value,
    props: &Value,
    global_timeout: u64,
    global_env: &BTreeMap<String, EnvValue>,
) -> Result<FunctionDef, TemplateError> {
    let binary = res
        .get("Metadata")
        .and_then(|m| m.get("BuildProperties"))
        .and_then(|b| b.get("Binary"))
        .and_then(Value::as_str)
        .ok_or_else(|| shape(format!("{id}: Metadata.BuildProperties.Binary is required")))?
        .to_string();
    let mut env = global_env.clone();
    env.extend(env_of(props)?);
    let mut def = FunctionDef {
        logical_id: id.to_string(),
        binary,
        timeout_seconds: props.get("Timeout").and_then(Value::as_u64).unwrap_or(global_timeout),
        http_routes: Vec::new(),
        sqs_queues: Vec::new(),
        schedules: Vec::new(),
        cognito_triggers: Vec::new(),
        env,
    };
    if let Some(events) = props.get("Events").and_then(Value::as_mapping) {
        for (name, event) in events {
            let ep = event.get("Properties");
            match event.get("Type").and_then(Value::as_str) {
                Some("HttpApi") => {
                    let get = |k: &str| ep.and_then(|p| p.get(k)).and_then(Value::as_str).map(str::to_string);
                    let (Some(path), Some(method)) = (get("Path"), get("Method")) else {
                        return Err(shape(format!("{id}: HttpApi event {name:?} needs Path and Method")));
                    };
                    def.http_routes.push(HttpRoute { method: method.to_ascii_uppercase(), path });
                }
                Some("SQS") => {
                    let queue = ep
                        .and_then(|p| p.get("Queue"))
                        .and_then(get_att_target)
                        .ok_or_else(|| shape(format!("{id}: SQS event needs Queue: !GetAtt X.Arn")))?;
                    def.sqs_queues.push(queue);
                }
                Some("Schedule" | "ScheduleV2") => {
                    def.schedules.push(name.as_str().unwrap_or_default().to_string());
                }
                _ => {}
            }
        }
    }
    Ok(def)
}

/// (trigger, function logical id) of every user pool's `LambdaConfig`: `PreTokenGeneration: !GetAtt
/// X.Arn`, or `PreTokenGenerationConfig: { LambdaArn: !GetAtt X.Arn, LambdaVersion: V2_0 }`.
fn cognito_triggers(resources: &Mapping) -> Vec<(String, String)> {
    let pools = resources.values().filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Cognito::UserPool"));
    pools
        .filter_map(|pool| pool.get("Properties")?.get("LambdaConfig")?.as_mapping())
        .flat_map(|config| config.iter())
        .filter_map(|(trigger, target)| {
            let function = get_att_target(target).or_else(|| get_att_target(target.get("LambdaArn")?))?;
            Some((trigger.as_str()?.to_string(), function))
        })
        .collect()
}

/// `!GetAtt X.Arn` (either syntax) → `X`.
fn get_att_target(v: &Value) -> Option<String> {
    match v {
        Value::Tagged(t) if t.tag == "!GetAtt" => match &t.value {
            Value::String(s) => s.split('.').next().map(str::to_string),
            Value::Sequence(seq) => seq.first().and_then(Value::as_str).map(str::to_string),
            _ => None,
        },
        Value::Mapping(m) => m.get("Fn::GetAtt").and_then(|x| x.as_sequence()?.first()?.as_str().map(str::to_string)),
        _ => None,
    }
}

fn key_elements(v: Option<&Value>) -> Result<Vec<KeyElement>, TemplateError> {
    let seq = v.and_then(Value::as_sequence).ok_or_else(|| shape("KeySchema must be a list"))?;
    seq.iter()
        .map(|k| {
            Ok(KeyElement {
                name: k.get("AttributeName").and_then(Value::as_str).ok_or_else(|| shape("AttributeName"))?.into(),
                key_type: k.get("KeyType").and_then(Value::as_str).ok_or_else(|| shape("KeyType"))?.into(),
            })
        })
        .collect()
}

fn table_of(id: &str, props: &Value) -> Result<TableDef, TemplateError> {
    let attributes = props
        .get("AttributeDefinitions")
        .and_then(Value::as_sequence)
        .ok_or_else(|| shape(format!("{id}: AttributeDefinitions")))?
        .iter()
        .map(|a| {
            Ok((
                a.get("AttributeName").and_then(Value::as_str).ok_or_else(|| shape("AttributeName"))?.to_string(),
                a.get("AttributeType").and_then(Value::as_str).ok_or_else(|| shape("AttributeType"))?.to_string(),
            ))
        })
        .collect::<Result<_, TemplateError>>()?;
    let global_indexes = props
        .get("GlobalSecondaryIndexes")
        .and_then(Value::as_sequence)
        .map(|seq| {
            seq.iter()
                .map(|g| {
                    Ok(IndexDef {
                        name: g.get("IndexName").and_then(Value::as_str).ok_or_else(|| shape("IndexName"))?.to_string(),
                        keys: key_elements(g.get("KeySchema"))?,
                        projection: g
                            .get("Projection")
                            .and_then(|p| p.get("ProjectionType"))
                            .and_then(Value::as_str)
                            .unwrap_or("ALL")
                            .to_string(),
                    })
                })
                .collect::<Result<Vec<_>, TemplateError>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(TableDef {
        logical_id: id.to_string(),
        attributes,
        keys: key_elements(props.get("KeySchema"))?,
        global_indexes,
        ttl_attribute: props
            .get("TimeToLiveSpecification")
            .filter(|t| t.get("Enabled").and_then(Value::as_bool) == Some(true))
            .and_then(|t| t.get("AttributeName"))
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

fn queue_of(id: &str, props: &Value) -> Result<QueueDef, TemplateError> {
    let dead_letter = match props.get("RedrivePolicy") {
        None => None,
        Some(policy) => {
            let target = policy
                .get("deadLetterTargetArn")
                .and_then(get_att_target)
                .ok_or_else(|| shape(format!("{id}: RedrivePolicy.deadLetterTargetArn must be !GetAtt X.Arn")))?;
            let max = policy
                .get("maxReceiveCount")
                .and_then(Value::as_u64)
                .ok_or_else(|| shape(format!("{id}: maxReceiveCount")))?;
            Some((target, max))
        }
    };
    Ok(QueueDef {
        logical_id: id.to_string(),
        fifo: props.get("FifoQueue").and_then(Value::as_bool).unwrap_or(false),
        visibility_timeout: props.get("VisibilityTimeout").and_then(Value::as_u64).unwrap_or(30),
        dead_letter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::load_default().expect("template.yaml parses")
    }

    #[test]
    fn every_queue_with_a_consumer_has_a_dlq_and_enough_visibility() {
        let t = template();
        for f in &t.functions {
            for q in &f.sqs_queues {
                let queue = t.queues.iter().find(|x| &x.logical_id == q).expect("consumed queue exists");
                let (dlq, max) = queue.dead_letter.as_ref().unwrap_or_else(|| panic!("{q} has no DLQ"));
                assert_eq!(*max, 5, "{q} maxReceiveCount");
                assert!(t.queues.iter().any(|x| &x.logical_id == dlq), "{q}'s DLQ {dlq} exists");
                assert!(
                    queue.visibility_timeout >= 6 * f.timeout_seconds,
                    "{q}: visibility {} < 6 × {}'s timeout {}",
                    queue.visibility_timeout,
                    f.logical_id,
                    f.timeout_seconds
                );
            }
        }
    }

    #[test]
    fn every_queue_is_consumed_or_is_a_dead_letter_queue() {
        let t = template();
        for q in &t.queues {
            let consumed = t.functions.iter().any(|f| f.sqs_queues.contains(&q.logical_id));
            let is_dlq = t.queues.iter().any(|x| x.dead_letter.as_ref().is_some_and(|(d, _)| d == &q.logical_id));
            assert!(consumed || is_dlq, "{} is neither consumed nor a DLQ", q.logical_id);
        }
    }

    #[test]
    fn every_function_and_dead_letter_queue_has_an_alarm() {
        let t = template();
        let resources = t.raw().get("Resources").and_then(Value::as_mapping).unwrap();
        let alarm_dims: Vec<String> = resources
            .values()
            .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::CloudWatch::Alarm"))
            .filter_map(|r| {
                let dim = r.get("Properties")?.get("Dimensions")?.as_sequence()?.first()?.get("Value")?.clone();
                match dim {
                    Value::Tagged(t) => scalar(&t.value).map(|s| s.split('.').next().unwrap_or_default().to_string()),
                    _ => None,
                }
            })
            .collect();
        for f in &t.functions {
            assert!(alarm_dims.contains(&f.logical_id), "{} has no error alarm", f.logical_id);
        }
        for q in t.queues.iter().filter_map(|q| q.dead_letter.as_ref()) {
            assert!(alarm_dims.contains(&q.0), "{} has no depth alarm", q.0);
        }
    }

    #[test]
    fn table_has_ttl_pitr_and_on_demand_billing() {
        let t = template();
        let table = t.table().unwrap();
        assert_eq!(table.ttl_attribute.as_deref(), Some("expiresAt"));
        let props = t.raw()["Resources"][table.logical_id.as_str()]["Properties"].clone();
        assert_eq!(props["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
        assert_eq!(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(), Some(true));
    }

    #[test]
    fn functions_are_built_by_cargo_lambda_and_least_privileged() {
        let t = template();
        let resources = t.raw()["Resources"].clone();
        for f in &t.functions {
            let res = &resources[f.logical_id.as_str()];
            assert_eq!(res["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"), "{}", f.logical_id);
            let policies = serde_yaml::to_string(&res["Properties"]["Policies"]).unwrap();
            for broad in ["DynamoDBCrudPolicy", "AmazonDynamoDBFullAccess", "dynamodb:*", "sqs:*", "ses:*", "\"*\""] {
                assert!(!policies.contains(broad), "{} uses broad policy {broad}", f.logical_id);
            }
        }
    }
}
