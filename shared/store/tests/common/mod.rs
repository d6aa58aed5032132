//! What every store test file needs: a table of its own on DynamoDB Local, from template.yaml.

use azora_stack::{LocalStack, Template};
use azora_store::Store;

/// A fresh table named `<prefix>-<ulid>`.
pub async fn fresh_store(prefix: &str) -> Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run `make test` (it starts DynamoDB Local)"
    );
    let sdk = azora_stack::sdk_config().await;
    let template = Template::load_default().unwrap();
    let name = format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase());
    LocalStack::new(&sdk).create_table(template.table().unwrap(), &name).await.unwrap();
    Store::new(aws_sdk_dynamodb::Client::new(&sdk), name)
}
