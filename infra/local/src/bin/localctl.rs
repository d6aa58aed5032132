//! Local helpers: `localctl token <role> [sub] [org]` prints a dev JWT; `localctl seed` writes demo
//! data into the dev table.

use azora_domain::subscription::{BillingInterval, Subscription, SubscriptionStatus};
use azora_domain::{Tier, UserId};
use azora_local::dev::dev_settings;
use azora_local::tokens::{TokenSpec, mint_hs256};
use azora_store::Store;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = dev_settings();
    let get = |k: &str| settings.get(k).cloned().unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("token") => {
            let role = args.get(1).map(String::as_str).unwrap_or("student");
            let default_sub = format!("demo-{role}");
            let sub = args.get(2).map(String::as_str).unwrap_or(&default_sub);
            let org = args
                .get(3)
                .map(String::as_str)
                .or((role == "enterprise").then_some("demo-org"));
            let spec = TokenSpec {
                sub,
                roles: &[role],
                org,
                ttl_seconds: 12 * 3600,
            };
            println!(
                "{}",
                mint_hs256(
                    get("JWT_SECRET").as_bytes(),
                    &get("JWT_ISSUER"),
                    &get("JWT_AUDIENCE"),
                    &spec
                )?
            );
        }
        Some("seed") => {
            let sdk = azora_stack::sdk_config().await;
            let store = Store::new(aws_sdk_dynamodb_client(&sdk), get("TABLE_NAME"));
            let pro = Subscription {
                tier: Tier::Pro,
                status: SubscriptionStatus::Active,
                interval: Some(BillingInterval::Month),
                current_period_end: Some(
                    jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24 * 30),
                ),
                cancel_at_period_end: false,
            };
            store
                .put_subscription(&UserId::parse("demo-pro")?, &pro)
                .await?;
            eprintln!(
                "seeded: demo-pro has an active Pro subscription (token: make token ROLE=student SUB=demo-pro)"
            );
        }
        _ => {
            eprintln!("usage: localctl token <role> [sub] [org] | localctl seed");
            std::process::exit(2);
        }
    }
    Ok(())
}

fn aws_sdk_dynamodb_client(sdk: &aws_config::SdkConfig) -> azora_store::DynamoClient {
    azora_store::DynamoClient::new(sdk)
}
