//! POST /api/enterprise/quotes/{quoteId}/accept: runs `azora_api::functions::ENTERPRISE_QUOTES_ACCEPT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ENTERPRISE_QUOTES_ACCEPT).await
}
