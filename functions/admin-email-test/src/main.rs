//! POST /api/admin/email-test: runs `azora_api::functions::ADMIN_EMAIL_TEST`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    azora_api::lambda::run(azora_api::functions::ADMIN_EMAIL_TEST).await
}
