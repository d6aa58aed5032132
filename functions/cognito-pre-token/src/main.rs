//! Cognito pre-token-generation trigger (groups to the roles claim, custom:org to org): runs `azora_api::functions::COGNITO_PRE_TOKEN`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::COGNITO_PRE_TOKEN).await
}
