//! `localctl token <role> [sub] [org]` prints a development JWT signed with the dev settings.
//! `localctl license-public-key` prints the public key of `LICENSE_SIGNING_KEY` (the deploy
//! parameter `LicensePublicKey`).

use azora_local::dev::{dev_settings, license_public_key};
use azora_local::tokens::{TokenSpec, mint_hs256};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("license-public-key") {
        let key = dev_settings().get("LICENSE_SIGNING_KEY").cloned().unwrap_or_default();
        println!("{}", license_public_key(&key)?);
        return Ok(());
    }
    let (Some("token"), Some(role)) = (args.first().map(String::as_str), args.get(1)) else {
        eprintln!("usage: localctl token <student|instructor|enterprise|admin|service> [sub] [org]");
        eprintln!("       localctl license-public-key");
        std::process::exit(2);
    };
    let settings = dev_settings();
    let get = |k: &str| settings.get(k).cloned().unwrap_or_default();
    let default_sub = format!("demo-{role}");
    let sub = args.get(2).map(String::as_str).unwrap_or(&default_sub);
    let org = args.get(3).map(String::as_str).or((role == "enterprise").then_some("demo-org"));
    let spec = TokenSpec { sub, roles: &[role.as_str()], org, ttl_seconds: 12 * 3600 };
    println!("{}", mint_hs256(get("JWT_SECRET").as_bytes(), &get("JWT_ISSUER"), &get("JWT_AUDIENCE"), &spec)?);
    Ok(())
}
