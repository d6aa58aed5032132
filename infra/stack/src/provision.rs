//! Creates template.yaml's table, queues and sender identity on DynamoDB Local and moto.

use crate::template::{EnvValue, TableDef, Template};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StackError {
    #[error("{0}")]
    Template(#[from] crate::TemplateError),
    #[error("{operation}: {message}")]
    Aws { operation: &'static str, message: String },
}

fn aws<E: std::error::Error>(operation: &'static str) -> impl FnOnce(E) -> StackError {
    move |e| StackError::Aws { operation, message: format!("{}", aws_sdk_dynamodb::error::DisplayErrorContext(e)) }
}

fn key_element(k: &crate::template::KeyElement) -> Result<KeySchemaElement, StackError> {
    KeySchemaElement::builder()
        .attribute_name(&k.name)
        .key_type(KeyType::from(k.key_type.as_str()))
        .build()
        .map_err(aws("KeySchemaElement"))
}

/// Clients for the local services.
#[derive(Clone, Debug)]
pub struct LocalStack {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub ses: aws_sdk_sesv2::Client,
}

/// What was created: resolved names and URLs by logical id.
#[derive(Debug, Clone, Default)]
pub struct Provisioned {
    pub table_name: String,
    pub queue_urls: BTreeMap<String, String>,
}

impl LocalStack {
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sqs: aws_sdk_sqs::Client::new(config),
            ses: aws_sdk_sesv2::Client::new(config),
        }
    }

    /// Creates the table, the queues (named `<prefix><LogicalId>`) and the sender identity.
    /// Idempotent: resources that exist are left as they are.
    pub async fn provision(
        &self,
        template: &Template,
        table_name: &str,
        queue_prefix: &str,
        sender_domain: &str,
    ) -> Result<Provisioned, StackError> {
        self.create_table(template.table()?, table_name).await?;
        let queue_urls = self.create_queues(template, queue_prefix).await?;
        self.ensure_sender_identity(sender_domain).await?;
        Ok(Provisioned { table_name: table_name.to_string(), queue_urls })
    }

    /// Creates the table; when it exists already (a kept `make dev` table), adds the global
    /// secondary indexes template.yaml gained since, so old local data keeps working.
    pub async fn create_table(&self, def: &TableDef, name: &str) -> Result<(), StackError> {
        if let Ok(existing) = self.dynamodb.describe_table().table_name(name).send().await {
            let indexes = existing.table.and_then(|t| t.global_secondary_indexes).unwrap_or_default();
            if indexes.iter().any(|i| i.index_status != Some(aws_sdk_dynamodb::types::IndexStatus::Active)) {
                tracing::warn!(table = name, "an index is still being created; the others are added on a later start");
                return Ok(());
            }
            let have: Vec<String> = indexes.into_iter().filter_map(|i| i.index_name).collect();
            // One index at a time (DynamoDB creates one per table at once).
            for index in def.global_indexes.iter().filter(|i| !have.contains(&i.name)) {
                if !self.add_index(def, name, index).await? {
                    break;
                }
            }
            return Ok(());
        }
        let key = key_element;
        let mut req = self.dynamodb.create_table().table_name(name).billing_mode(BillingMode::PayPerRequest);
        for (attr, ty) in &def.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ScalarAttributeType::from(ty.as_str()))
                    .build()
                    .map_err(aws("AttributeDefinition"))?,
            );
        }
        for k in &def.keys {
            req = req.key_schema(key(k)?);
        }
        for index in &def.global_indexes {
            let mut gsi = GlobalSecondaryIndex::builder().index_name(&index.name).projection(
                Projection::builder().projection_type(ProjectionType::from(index.projection.as_str())).build(),
            );
            for k in &index.keys {
                gsi = gsi.key_schema(key(k)?);
            }
            req = req.global_secondary_indexes(gsi.build().map_err(aws("GlobalSecondaryIndex"))?);
        }
        req.send().await.map_err(aws("CreateTable"))?;
        if let Some(ttl) = &def.ttl_attribute {
            self.dynamodb
                .update_time_to_live()
                .table_name(name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(ttl)
                        .enabled(true)
                        .build()
                        .map_err(aws("TimeToLiveSpecification"))?,
                )
                .send()
                .await
                .map_err(aws("UpdateTimeToLive"))?;
        }
        Ok(())
    }

    /// Adds one index; `false` when it is still being created after the wait.
    async fn add_index(
        &self,
        def: &TableDef,
        name: &str,
        index: &crate::template::IndexDef,
    ) -> Result<bool, StackError> {
        use aws_sdk_dynamodb::types::{CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate, IndexStatus};
        let mut create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(&index.name)
            .projection(Projection::builder().projection_type(ProjectionType::from(index.projection.as_str())).build());
        for k in &index.keys {
            create = create.key_schema(key_element(k)?);
        }
        let mut req = self.dynamodb.update_table().table_name(name).global_secondary_index_updates(
            GlobalSecondaryIndexUpdate::builder()
                .create(create.build().map_err(aws("CreateGlobalSecondaryIndexAction"))?)
                .build(),
        );
        // Only the new index's key attributes may be defined here.
        for (attr, ty) in def.attributes.iter().filter(|(a, _)| index.keys.iter().any(|k| &k.name == a)) {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attr)
                    .attribute_type(ScalarAttributeType::from(ty.as_str()))
                    .build()
                    .map_err(aws("AttributeDefinition"))?,
            );
        }
        req.send().await.map_err(aws("UpdateTable"))?;
        tracing::info!(table = name, index = %index.name, "added a global secondary index from template.yaml");
        // Wait (bounded) until the index can be queried; DynamoDB Local sometimes reports it as
        // CREATING for long, so after 10 s go on with a warning rather than block `make dev`.
        for _ in 0..50 {
            let status = self
                .dynamodb
                .describe_table()
                .table_name(name)
                .send()
                .await
                .map_err(aws("DescribeTable"))?
                .table
                .and_then(|t| t.global_secondary_indexes)
                .unwrap_or_default()
                .into_iter()
                .find(|i| i.index_name.as_deref() == Some(index.name.as_str()))
                .and_then(|i| i.index_status);
            if status == Some(IndexStatus::Active) {
                return Ok(true);
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tracing::warn!(table = name, index = %index.name, "index still being created; queries on it fail until it is active");
        Ok(false)
    }

    /// Dead-letter queues first, then the queues that redrive into them.
    pub async fn create_queues(
        &self,
        template: &Template,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, StackError> {
        let mut urls = BTreeMap::new();
        let mut arns = BTreeMap::new();
        let mut ordered: Vec<_> = template.queues.iter().collect();
        ordered.sort_by_key(|q| q.dead_letter.is_some());
        for q in ordered {
            let name =
                if q.fifo { format!("{prefix}{}.fifo", q.logical_id) } else { format!("{prefix}{}", q.logical_id) };
            let mut req = self
                .sqs
                .create_queue()
                .queue_name(&name)
                .attributes(QueueAttributeName::VisibilityTimeout, q.visibility_timeout.to_string());
            if q.fifo {
                req = req.attributes(QueueAttributeName::FifoQueue, "true");
            }
            if let Some((dlq, max)) = &q.dead_letter {
                let arn: &String = arns.get(dlq).ok_or_else(|| StackError::Aws {
                    operation: "CreateQueue",
                    message: format!("{}'s dead-letter queue {dlq} is not defined", q.logical_id),
                })?;
                req = req.attributes(
                    QueueAttributeName::RedrivePolicy,
                    format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"{max}"}}"#),
                );
            }
            let url = req.send().await.map_err(aws("CreateQueue"))?.queue_url.unwrap_or_default();
            let arn = self
                .sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(aws("GetQueueAttributes"))?
                .attributes
                .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            arns.insert(q.logical_id.clone(), arn);
            urls.insert(q.logical_id.clone(), url);
        }
        Ok(urls)
    }

    /// SES (moto too) refuses to send until the sender's identity exists.
    pub async fn ensure_sender_identity(&self, domain: &str) -> Result<(), StackError> {
        let exists = self.ses.get_email_identity().email_identity(domain).send().await.is_ok();
        if !exists {
            self.ses.create_email_identity().email_identity(domain).send().await.map_err(aws("CreateEmailIdentity"))?;
        }
        Ok(())
    }
}

/// The global function environment with `!Ref`s resolved against what was provisioned locally:
/// the table and queues by their local names, parameters by their defaults. Process environment
/// variables win, so `make dev` takes any of them from the caller's environment.
pub fn resolve_env(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut names: BTreeMap<String, EnvValue> = BTreeMap::new();
    for f in &template.functions {
        names.extend(f.env.clone());
    }
    resolve(template, provisioned, overrides, names)
}

/// One function's environment as the deployed function sees it: its template variables (globals
/// included) resolved locally, with `overrides` laid over the names it has, and nothing else.
pub fn resolve_function_env(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
    function: &crate::template::FunctionDef,
) -> BTreeMap<String, String> {
    resolve(template, provisioned, overrides, function.env.clone())
}

fn resolve(
    template: &Template,
    provisioned: &Provisioned,
    overrides: &BTreeMap<String, String>,
    names: BTreeMap<String, EnvValue>,
) -> BTreeMap<String, String> {
    let table_id = template.table().map(|t| t.logical_id.clone()).unwrap_or_default();
    names
        .into_iter()
        .map(|(name, value)| {
            let resolved = match value {
                EnvValue::Literal(v) => v,
                EnvValue::Ref(target) if target == table_id => provisioned.table_name.clone(),
                EnvValue::Ref(target) => provisioned
                    .queue_urls
                    .get(&target)
                    .cloned()
                    .or_else(|| template.parameters.get(&target).cloned())
                    .unwrap_or_default(),
            };
            let value = overrides.get(&name).cloned().unwrap_or(resolved);
            (name, value)
        })
        .collect()
}
