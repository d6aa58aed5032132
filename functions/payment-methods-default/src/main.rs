//! POST /api/payment-methods/{paymentMethodId}/default: runs `azora_api::functions::PAYMENT_METHODS_DEFAULT`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::PAYMENT_METHODS_DEFAULT).await
}
