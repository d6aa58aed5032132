//! The pagination cursor decoder never panics and never lets a cursor leave its partition:
//! arbitrary strings, base64url of arbitrary bytes and of arbitrary JSON maps. `AZORA_FUZZ_CASES`
//! sets the number of cases (64 by default, `make fuzz` runs 20000).

use crate::cursor::{decode, encode};
use crate::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use proptest::prelude::*;
use std::collections::HashMap;

fn config() -> ProptestConfig {
    let cases = std::env::var("AZORA_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

const PARTITION: &str = "USER#me";

fn stays_in_partition(item: &Item) -> bool {
    item.get("PK") == Some(&AttributeValue::S(PARTITION.into())) && item.len() <= 4
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_cursor_decode_never_panics_on_arbitrary_text(raw in any::<String>(), b64 in "[A-Za-z0-9_=+/-]{0,200}") {
        for cursor in [raw.as_str(), b64.as_str()] {
            if let Ok(item) = decode(cursor, "PK", PARTITION) {
                prop_assert!(stays_in_partition(&item));
            }
        }
    }

    #[test]
    fn fuzz_cursor_decode_never_panics_on_encoded_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(item) = decode(&URL_SAFE_NO_PAD.encode(&bytes), "PK", PARTITION) {
            prop_assert!(stays_in_partition(&item));
        }
    }

    #[test]
    fn fuzz_cursor_decode_of_any_string_map_stays_in_its_partition(
        map in proptest::collection::hash_map("(PK|SK|GSI1PK|GSI1SK|[a-zA-Z]{0,6})", "(S:|N:|B:|)[^\u{0}]{0,20}", 0..6),
    ) {
        let json = serde_json::to_vec(&map).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if let Ok(item) = decode(&URL_SAFE_NO_PAD.encode(json), "PK", PARTITION) {
            prop_assert!(stays_in_partition(&item));
        }
    }

    #[test]
    fn fuzz_cursor_round_trips(sk in any::<String>(), n in any::<i64>()) {
        let item: Item = HashMap::from([
            ("PK".to_string(), AttributeValue::S(PARTITION.into())),
            ("SK".to_string(), AttributeValue::S(sk)),
            ("Score".to_string(), AttributeValue::N(n.to_string())),
        ]);
        let cursor = encode(Some(&item)).ok_or_else(|| TestCaseError::fail("no cursor"))?;
        prop_assert_eq!(decode(&cursor, "PK", PARTITION).map_err(|e| TestCaseError::fail(e.to_string()))?, item);
        prop_assert!(decode(&cursor, "PK", "USER#someone-else").is_err());
    }
}
