//! GET /api/payment-methods: runs `azora_api::functions::PAYMENT_METHODS_LIST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENT_METHODS_LIST).await
}
