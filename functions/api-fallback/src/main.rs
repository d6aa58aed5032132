//! ANY /api/{proxy+}: runs `azora_api::functions::API_FALLBACK`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::API_FALLBACK).await
}
