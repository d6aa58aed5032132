//! GET /api/openapi.json and GET /api/docs: runs `azora_api::functions::DOCS`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::DOCS).await
}
