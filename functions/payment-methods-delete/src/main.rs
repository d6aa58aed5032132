//! DELETE /api/payment-methods/{paymentMethodId}: runs `azora_api::functions::PAYMENT_METHODS_DELETE`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENT_METHODS_DELETE).await
}
