//! Bad requests get Stripe-shaped 4xx answers; the sandbox keeps serving.

mod common;

use common::{KEY, start};
use serde_json::Value;

#[tokio::test]
async fn malformed_requests_answer_stripe_errors() {
    let t = start().await;
    let deep = format!("a{}=1", "[x]".repeat(50_000));
    let bodies: Vec<(&str, &str, Vec<u8>)> = vec![
        ("POST", "v1/customers", b"metadata[a]=1&metadata=2".to_vec()),
        ("POST", "v1/customers", b"metadata=&metadata[a][b]=1".to_vec()),
        ("POST", "v1/customers", deep.into_bytes()),
        ("POST", "v1/customers", vec![0xff, 0xfe, b'=', 0x80]),
        ("POST", "v1/customers", b"email=not-an-email".to_vec()),
        ("POST", "v1/customers", b"address[planet]=mars".to_vec()),
        ("POST", "v1/customers", b"shipping[name]=x".to_vec()),
        ("POST", "v1/customers", format!("metadata[k]={}", "v".repeat(501)).into_bytes()),
        ("POST", "v1/payment_intents", b"amount=100&currency=usd&capture_method=manual".to_vec()),
        ("POST", "v1/payment_intents", b"amount=100&currency=usd&confirm=maybe".to_vec()),
        ("POST", "v1/payment_intents", b"amount[x]=1&currency=usd".to_vec()),
        ("POST", "v1/payment_intents", b"amount=99999999999999999999999&currency=usd".to_vec()),
        ("POST", "v1/payment_intents", b"amount=100&currency=dollars".to_vec()),
        ("POST", "v1/payment_intents", b"amount=100&currency=usd&payment_method=pm_nope&confirm=true".to_vec()),
        ("POST", "v1/payment_intents", b"amount=100&currency=usd&off_session=true".to_vec()),
        ("POST", "v1/payment_intents/pi_missing/confirm", b"payment_method=pm_card_visa".to_vec()),
        ("POST", "v1/payment_intents/pi_missing/cancel", Vec::new()),
        ("POST", "v1/refunds", b"charge=ch_missing".to_vec()),
        ("POST", "v1/refunds", b"payment_intent=pi_x&amount=-5".to_vec()),
        ("GET", "v1/events?limit=1000", Vec::new()),
        ("GET", "v1/events?type=a&types[0]=b", Vec::new()),
        ("GET", "v1/events?starting_after=evt_nope", Vec::new()),
        ("GET", "v1/customers?created[between]=1", Vec::new()),
        ("GET", "v1/customers/cus_x?expand[0]=nothing", Vec::new()),
        ("PUT", "v1/customers", Vec::new()),
        ("PATCH", "v1/whatever", Vec::new()),
    ];
    for (method, path, body) in bodies {
        let resp = t
            .http
            .request(method.parse().expect("method"), t.url(path))
            .bearer_auth(KEY)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("answered");
        let status = resp.status().as_u16();
        let json: Value = resp.json().await.unwrap_or(Value::Null);
        assert!((400..500).contains(&status), "{method} {path}: {status} {json}");
        assert!(json["error"]["type"].is_string(), "{method} {path}: {json}");
        assert!(json["error"]["message"].is_string(), "{method} {path}: {json}");
    }

    let controls: Vec<(&str, &str, &str)> = vec![
        ("POST", "_sandbox/config", "{not json"),
        ("POST", "_sandbox/config", "[1,2]"),
        ("POST", "_sandbox/config", r#"{"webhookUrl": "ftp://x"}"#),
        ("POST", "_sandbox/config", r#"{"autoDeliver": "sometimes"}"#),
        ("POST", "_sandbox/config", r#"{"unknown": 1}"#),
        ("POST", "_sandbox/events/evt_x/deliver", r#"{"times": "two"}"#),
        ("POST", "_sandbox/events/evt_x/deliver", "{}"),
        ("POST", "_sandbox/payment_intents/pi_x/authenticate", r#"{"succeed": true}"#),
        ("POST", "_sandbox/payment_intents/pi_x/confirm", r#"{"payment_method": 5}"#),
        ("GET", "_sandbox/nothing", ""),
        ("GET", "_sandbox/3ds/pi_x?succeed=true", ""),
    ];
    for (method, path, body) in controls {
        let resp = t
            .http
            .request(method.parse().expect("method"), t.url(path))
            .body(body.to_string())
            .send()
            .await
            .expect("answered");
        let status = resp.status().as_u16();
        let json: Value = resp.json().await.unwrap_or(Value::Null);
        assert!((400..500).contains(&status), "{method} {path}: {status} {json}");
        assert!(json["error"]["message"].is_string(), "{method} {path}: {json}");
    }

    // Still alive and consistent.
    let (status, body) = t.get_json("v1/customers").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], serde_json::json!([]));
    assert!(t.sandbox.events().is_empty(), "failed requests changed nothing");
}
