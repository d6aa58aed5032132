//! IAM conformance: what each function's `Policies` in template.yaml allow, and the check of the
//! AWS calls the functions were seen making (recorded by the local server, `azora_local::iam`)
//! against them, resource included.
//!
//! Both sides speak *canonical ARNs*: the stack deployed into partition `aws`, region
//! [`REGION`], account [`ACCOUNT`], every resource's physical name being its logical id (table
//! `Table`, queue `EmailQueue`) and every parameter at its default (`${SenderDomain}` is
//! `azora.example`). The recorder maps the local names (a per-test table, prefixed queues, the
//! local sender domain) to these, and [`FunctionPolicy::resolve`] resolves `!GetAtt Table.Arn`,
//! `!Sub "${Table.Arn}/index/*"`, SAM policy templates etc. to the same.
//!
//! Evaluation follows IAM for identity policies without conditions: an action is allowed when an
//! `Allow` statement matches action and resource (wildcards `*` and `?`, per ARN segment) and no
//! `Deny` statement does. Anything this module does not understand (another policy template, a
//! managed policy, `NotAction`, `Condition`, an intrinsic it cannot resolve) is an error that
//! names it, never a silent pass.

use crate::template::{Template, TemplateError};
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

pub const PARTITION: &str = "aws";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// The function of a call made outside any function (test setup writing to the table directly).
pub const UNATTRIBUTED: &str = "-";

pub fn table_arn(table: &str) -> String {
    format!("arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{table}")
}

pub fn index_arn(table: &str, index: &str) -> String {
    format!("{}/index/{index}", table_arn(table))
}

pub fn queue_arn(queue: &str) -> String {
    format!("arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{queue}")
}

pub fn queue_url(queue: &str) -> String {
    format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}")
}

pub fn ses_identity_arn(identity: &str) -> String {
    format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:identity/{identity}")
}

pub fn ses_configuration_set_arn(name: &str) -> String {
    format!("arn:{PARTITION}:ses:{REGION}:{ACCOUNT}:configuration-set/{name}")
}

/// One AWS action a function performed on one resource, as IAM authorizes it: a
/// `TransactWriteItems` is one call per item kind and table (`dynamodb:PutItem`, ...), a
/// `Query` on an index is on the index's ARN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Call {
    /// The function's binary (template `Metadata.BuildProperties.Binary`), or [`UNATTRIBUTED`].
    pub function: String,
    /// e.g. `dynamodb:Query`
    pub action: String,
    /// A canonical ARN.
    pub resource: String,
}

impl Call {
    /// One line of a recording file: `function<TAB>action<TAB>resource`.
    pub fn to_line(&self) -> String {
        format!("{}\t{}\t{}", self.function, self.action, self.resource)
    }

    pub fn parse_line(line: &str) -> Option<Call> {
        let mut parts = line.trim_end_matches(['\r', '\n']).split('\t');
        let call = Call {
            function: parts.next()?.to_string(),
            action: parts.next()?.to_string(),
            resource: parts.next()?.to_string(),
        };
        parts.next().is_none().then_some(call)
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub effect: Effect,
    pub actions: Vec<String>,
    /// Resolved to canonical ARNs (may contain wildcards).
    pub resources: Vec<String>,
}

impl Statement {
    fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions.iter().any(|a| glob(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && self.resources.iter().any(|r| arn_matches(r, resource))
    }
}

/// One function's identity policy, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionPolicy {
    pub logical_id: String,
    pub binary: String,
    pub statements: Vec<Statement>,
}

impl FunctionPolicy {
    /// Resolves the `Policies` of function `logical_id` in `template`.
    pub fn resolve(template: &Template, logical_id: &str) -> Result<FunctionPolicy, TemplateError> {
        let err = |msg: String| TemplateError::Shape(format!("{logical_id}: {msg}"));
        let function = template
            .functions
            .iter()
            .find(|f| f.logical_id == logical_id)
            .ok_or_else(|| err("no such AWS::Serverless::Function".into()))?;
        let resolver = Resolver { template };
        let props = &template.raw()["Resources"][logical_id]["Properties"];
        if props.get("Role").is_some() {
            return Err(err("Role is not supported by the IAM conformance check; use Policies".into()));
        }
        let policies = match props.get("Policies") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Sequence(seq)) => seq.clone(),
            Some(one) => vec![one.clone()],
        };
        let mut statements = Vec::new();
        for policy in &policies {
            let Some(map) = policy.as_mapping() else {
                return Err(err(format!(
                    "policy {} (a managed policy) is not supported by the IAM conformance check",
                    serde_yaml::to_string(policy).unwrap_or_default().trim()
                )));
            };
            if let Some(list) = policy.get("Statement") {
                if map.len() > 2 || (map.len() == 2 && policy.get("Version").is_none()) {
                    return Err(err("an inline policy may only have Version and Statement".into()));
                }
                let list = match list {
                    Value::Sequence(seq) => seq.clone(),
                    one => vec![one.clone()],
                };
                for s in &list {
                    statements.push(resolver.statement(s).map_err(err)?);
                }
                continue;
            }
            let [(name, params)] = map.iter().collect::<Vec<_>>()[..] else {
                return Err(err("a SAM policy template entry must have exactly one key".into()));
            };
            let name = name.as_str().unwrap_or_default();
            statements.extend(resolver.sam_policy_template(name, params).map_err(err)?);
        }
        Ok(FunctionPolicy { logical_id: logical_id.to_string(), binary: function.binary.clone(), statements })
    }

    /// IAM's decision for an identity policy: some Allow matches and no Deny does.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        let matching =
            |effect| self.statements.iter().filter(move |s| s.effect == effect && s.matches(action, resource));
        matching(Effect::Allow).next().is_some() && matching(Effect::Deny).next().is_none()
    }
}

/// Every function's resolved policy, by binary.
pub fn function_policies(template: &Template) -> Result<BTreeMap<String, FunctionPolicy>, TemplateError> {
    template
        .functions
        .iter()
        .map(|f| Ok((f.binary.clone(), FunctionPolicy::resolve(template, &f.logical_id)?)))
        .collect()
}

/// A recorded call its function's policy does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub call: Call,
    /// The template function, if the binary is one.
    pub logical_id: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.logical_id {
            Some(id) => write!(f, "{id} ({}): {} is not allowed by its Policies", self.call.function, self.call),
            None => write!(f, "{}: {} by a binary that is not a template.yaml function", self.call.function, self.call),
        }
    }
}

/// The outcome of checking a set of recorded calls.
#[derive(Debug, Default)]
pub struct Report {
    pub violations: Vec<Violation>,
    /// Calls made outside any function (test setup); not checked.
    pub unattributed: usize,
    /// Functions with at least one recorded call.
    pub functions_seen: BTreeSet<String>,
    pub checked: usize,
}

/// Checks every attributed call against its function's policy.
pub fn check<'a>(template: &Template, calls: impl IntoIterator<Item = &'a Call>) -> Result<Report, TemplateError> {
    let policies = function_policies(template)?;
    let mut report = Report::default();
    for call in calls {
        if call.function == UNATTRIBUTED {
            report.unattributed += 1;
            continue;
        }
        report.checked += 1;
        report.functions_seen.insert(call.function.clone());
        match policies.get(&call.function) {
            Some(p) if p.allows(&call.action, &call.resource) => {}
            Some(p) => report.violations.push(Violation { call: call.clone(), logical_id: Some(p.logical_id.clone()) }),
            None => report.violations.push(Violation { call: call.clone(), logical_id: None }),
        }
    }
    Ok(report)
}

/// Resolves intrinsics to canonical values.
struct Resolver<'a> {
    template: &'a Template,
}

impl Resolver<'_> {
    fn statement(&self, s: &Value) -> Result<Statement, String> {
        for unsupported in ["NotAction", "NotResource", "Condition", "Principal", "NotPrincipal"] {
            if s.get(unsupported).is_some() {
                return Err(format!("statement uses {unsupported}, which the IAM conformance check does not support"));
            }
        }
        let effect = match s.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("statement Effect must be Allow or Deny, not {other:?}")),
        };
        let actions = match s.get("Action") {
            Some(Value::String(a)) => vec![a.clone()],
            Some(Value::Sequence(seq)) => seq
                .iter()
                .map(|a| a.as_str().map(str::to_string).ok_or_else(|| format!("action {a:?} is not a string")))
                .collect::<Result<_, _>>()?,
            other => return Err(format!("statement Action must be a string or a list, not {other:?}")),
        };
        let resources = match s.get("Resource") {
            Some(Value::Sequence(seq)) => {
                seq.iter().map(|r| self.value(r, &BTreeMap::new())).collect::<Result<_, _>>()?
            }
            Some(one) => vec![self.value(one, &BTreeMap::new())?],
            None => return Err("statement has no Resource".into()),
        };
        Ok(Statement { effect, actions, resources })
    }

    /// The SAM policy templates template.yaml uses, as SAM expands them
    /// (github.com/aws/serverless-application-model, samtranslator/policy_templates_data).
    fn sam_policy_template(&self, name: &str, params: &Value) -> Result<Vec<Statement>, String> {
        let param = |p: &str| -> Result<String, String> {
            let v = params.get(p).ok_or_else(|| format!("{name} needs {p}"))?;
            self.value(v, &BTreeMap::new())
        };
        match name {
            "SQSSendMessagePolicy" => Ok(vec![Statement {
                effect: Effect::Allow,
                actions: vec!["sqs:SendMessage*".into()],
                resources: vec![queue_arn(&param("QueueName")?)],
            }]),
            other => Err(format!(
                "SAM policy template {other} is not supported by the IAM conformance check \
                 (infra/stack/src/iam.rs: add its expansion, or write the statement inline)"
            )),
        }
    }

    fn value(&self, v: &Value, vars: &BTreeMap<String, String>) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Tagged(t) => self.intrinsic(&t.tag.to_string(), &t.value, vars),
            Value::Mapping(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().ok_or("empty mapping")?;
                let k = k.as_str().unwrap_or_default();
                let tag = match k {
                    "Ref" => "!Ref".to_string(),
                    _ => match k.strip_prefix("Fn::") {
                        Some(f) => format!("!{f}"),
                        None => return Err(format!("unsupported value {v:?}")),
                    },
                };
                self.intrinsic(&tag, arg, vars)
            }
            other => Err(format!("unsupported value {other:?}")),
        }
    }

    fn intrinsic(&self, tag: &str, arg: &Value, vars: &BTreeMap<String, String>) -> Result<String, String> {
        match tag {
            "!Ref" => self.reference(arg.as_str().ok_or("!Ref needs a name")?, vars),
            "!GetAtt" => {
                let (resource, attribute) = match arg {
                    Value::String(s) => s.split_once('.').ok_or_else(|| format!("!GetAtt {s}: need X.Attribute"))?,
                    Value::Sequence(seq) => match seq.as_slice() {
                        [Value::String(r), Value::String(a)] => (r.as_str(), a.as_str()),
                        _ => return Err(format!("!GetAtt {seq:?}: need [X, Attribute]")),
                    },
                    other => return Err(format!("!GetAtt {other:?}")),
                };
                self.get_att(resource, attribute)
            }
            "!Sub" => match arg {
                Value::String(s) => self.sub(s, vars),
                Value::Sequence(seq) => match seq.as_slice() {
                    [Value::String(s), Value::Mapping(m)] => {
                        let mut local = vars.clone();
                        for (k, v) in m {
                            let k = k.as_str().ok_or("!Sub variable names must be strings")?.to_string();
                            local.insert(k, self.value(v, vars)?);
                        }
                        self.sub(s, &local)
                    }
                    _ => Err("!Sub needs a string or [string, {variables}]".into()),
                },
                _ => Err("!Sub needs a string or [string, {variables}]".into()),
            },
            "!Join" => match arg.as_sequence().map(Vec::as_slice) {
                Some([Value::String(sep), Value::Sequence(parts)]) => {
                    Ok(parts.iter().map(|p| self.value(p, vars)).collect::<Result<Vec<_>, _>>()?.join(sep))
                }
                _ => Err("!Join needs [separator, [values]]".into()),
            },
            other => Err(format!("intrinsic {other} is not supported by the IAM conformance check")),
        }
    }

    fn sub(&self, s: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| format!("!Sub {s:?}: unclosed ${{"))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else if let Some(v) = vars.get(name) {
                out.push_str(v);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.get_att(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name, vars)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
        if let Some(v) = vars.get(name) {
            return Ok(v.clone());
        }
        match name {
            "AWS::Partition" => return Ok(PARTITION.into()),
            "AWS::Region" => return Ok(REGION.into()),
            "AWS::AccountId" => return Ok(ACCOUNT.into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            _ => {}
        }
        if let Some(default) = self.template.parameters.get(name) {
            return Ok(default.clone());
        }
        match self.resource_type(name)? {
            "AWS::DynamoDB::Table" => Ok(name.to_string()),
            "AWS::SQS::Queue" => Ok(queue_url(name)),
            other => Err(format!("!Ref {name} (a {other}) is not supported by the IAM conformance check")),
        }
    }

    fn get_att(&self, resource: &str, attribute: &str) -> Result<String, String> {
        match (self.resource_type(resource)?, attribute) {
            ("AWS::DynamoDB::Table", "Arn") => Ok(table_arn(resource)),
            ("AWS::SQS::Queue", "Arn") => Ok(queue_arn(resource)),
            ("AWS::SQS::Queue", "QueueName") => Ok(resource.to_string()),
            ("AWS::SQS::Queue", "QueueUrl") => Ok(queue_url(resource)),
            (kind, _) => {
                Err(format!("!GetAtt {resource}.{attribute} (a {kind}) is not supported by the IAM conformance check"))
            }
        }
    }

    fn resource_type(&self, name: &str) -> Result<&str, String> {
        self.template.raw()["Resources"][name]["Type"]
            .as_str()
            .ok_or_else(|| format!("{name} is neither a parameter nor a resource of template.yaml"))
    }
}

/// Whether `pattern` (an ARN with wildcards) matches the ARN `arn`: segment by segment (partition,
/// service, region, account, resource), `*` and `?` never crossing a `:` between segments.
pub fn arn_matches(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}

/// `*` matches any run of characters, `?` any one character.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  SenderDomain: { Type: String, Default: azora.example }
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{ AttributeName: PK, AttributeType: S }]
      KeySchema: [{ AttributeName: PK, KeyType: HASH }]
  EmailQueue: { Type: AWS::SQS::Queue }
  CurrentFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: subscriptions-current } }
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:GetItem]
              Resource: !GetAtt Table.Arn
  WorkerFunction:
    Type: AWS::Serverless::Function
    Metadata: { BuildProperties: { Binary: worker } }
    Properties:
      Policies:
        - Statement:
            - Effect: Allow
              Action: [dynamodb:Query, dynamodb:PutItem]
              Resource: [!GetAtt Table.Arn, !Sub "${Table.Arn}/index/*"]
            - Effect: Allow
              Action: ses:SendEmail
              Resource: !Sub arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderDomain}
            - Effect: Deny
              Action: dynamodb:PutItem
              Resource: !Join ["", [!GetAtt Table.Arn, "/index/*"]]
        - SQSSendMessagePolicy: { QueueName: !GetAtt EmailQueue.QueueName }
"#;

    fn call(function: &str, action: &str, resource: String) -> Call {
        Call { function: function.into(), action: action.into(), resource }
    }

    #[test]
    fn a_query_on_an_index_needs_the_index_arn_and_the_action() {
        let t = Template::parse(TEMPLATE).unwrap();
        let calls = [
            call("subscriptions-current", "dynamodb:GetItem", table_arn("Table")),
            call("subscriptions-current", "dynamodb:Query", index_arn("Table", "GSI1")),
            call("worker", "dynamodb:Query", index_arn("Table", "GSI1")),
            call("worker", "dynamodb:Query", table_arn("Table")),
            call(UNATTRIBUTED, "dynamodb:Scan", table_arn("Table")),
        ];
        let report = check(&t, &calls).unwrap();
        assert_eq!(report.checked, 4);
        assert_eq!(report.unattributed, 1);
        let found: Vec<String> = report.violations.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [format!(
                "CurrentFunction (subscriptions-current): dynamodb:Query on {} is not allowed by its Policies",
                index_arn("Table", "GSI1")
            )]
        );
    }

    #[test]
    fn resolves_sub_join_parameters_and_sam_templates_and_honours_deny() {
        let t = Template::parse(TEMPLATE).unwrap();
        let p = FunctionPolicy::resolve(&t, "WorkerFunction").unwrap();
        assert!(p.allows("ses:SendEmail", &ses_identity_arn("azora.example")));
        assert!(!p.allows("ses:SendEmail", &ses_identity_arn("azora.local")));
        assert!(p.allows("sqs:SendMessage", &queue_arn("EmailQueue")));
        assert!(!p.allows("sqs:SendMessage", &queue_arn("OtherQueue")));
        assert!(!p.allows("sqs:ReceiveMessage", &queue_arn("EmailQueue")));
        assert!(p.allows("DynamoDB:putitem", &table_arn("Table")), "actions are case-insensitive");
        assert!(!p.allows("dynamodb:PutItem", &index_arn("Table", "GSI1")), "explicit deny wins");
        assert!(!p.allows("dynamodb:Query", &table_arn("Table2")));
        assert!(check(&t, &[call("nobody", "dynamodb:GetItem", table_arn("Table"))]).unwrap().violations.len() == 1);
    }

    #[test]
    fn unknown_policy_shapes_fail_clearly() {
        let unknown = TEMPLATE.replace("SQSSendMessagePolicy", "SQSPollerPolicy");
        let t = Template::parse(&unknown).unwrap();
        let e = FunctionPolicy::resolve(&t, "WorkerFunction").unwrap_err().to_string();
        assert!(e.contains("SAM policy template SQSPollerPolicy is not supported"), "{e}");
        let managed = TEMPLATE.replace(
            "        - SQSSendMessagePolicy: { QueueName: !GetAtt EmailQueue.QueueName }",
            "        - AWSLambdaBasicExecutionRole",
        );
        let e = FunctionPolicy::resolve(&Template::parse(&managed).unwrap(), "WorkerFunction").unwrap_err().to_string();
        assert!(e.contains("managed policy"), "{e}");
        let conditional =
            TEMPLATE.replace("Action: ses:SendEmail", "Action: ses:SendEmail\n              Condition: {}");
        let e =
            FunctionPolicy::resolve(&Template::parse(&conditional).unwrap(), "WorkerFunction").unwrap_err().to_string();
        assert!(e.contains("Condition"), "{e}");
    }

    #[test]
    fn arn_wildcards_stay_within_a_segment() {
        assert!(arn_matches("arn:aws:dynamodb:*:*:table/T/index/*", "arn:aws:dynamodb:us-east-1:1:table/T/index/GSI1"));
        assert!(!arn_matches("arn:aws:dynamodb:*:*:table/T", "arn:aws:dynamodb:us-east-1:1:table/T/index/GSI1"));
        assert!(arn_matches("arn:aws:dynamodb:*:*:table/T*", "arn:aws:dynamodb:us-east-1:1:table/T/index/GSI1"));
        assert!(arn_matches("arn:aws:sqs:us-east-?:1:q", "arn:aws:sqs:us-east-1:1:q"));
        assert!(arn_matches("*", "arn:aws:sqs:us-east-1:1:q"));
    }

    #[test]
    fn recording_lines_round_trip() {
        let c = call("payments-process", "dynamodb:ConditionCheckItem", table_arn("Table"));
        assert_eq!(Call::parse_line(&format!("{}\n", c.to_line())), Some(c));
        assert_eq!(Call::parse_line("a\tb"), None);
    }

    /// Every function's policy in template.yaml resolves (no unsupported shapes).
    #[test]
    fn every_policy_in_template_yaml_resolves() {
        let t = Template::load_default().unwrap();
        let policies = function_policies(&t).unwrap();
        assert_eq!(policies.len(), t.functions.len());
    }
}
