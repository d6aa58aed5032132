//! Opaque pagination cursors: DynamoDB's LastEvaluatedKey, base64url-encoded JSON.
//!
//! A cursor is only accepted for the partition it was issued for, so a forged cursor cannot read
//! another partition or make DynamoDB fail with a 500.

use crate::error::StoreError;
use crate::item::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::{BTreeMap, HashMap};

/// One page of results and the cursor for the next, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

pub fn encode(last_key: Option<&Item>) -> Option<String> {
    let key = last_key?;
    // Values carry their type: `S:` strings, `N:` numbers (index sort keys may be numbers).
    let map: BTreeMap<&str, String> = key
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(s) => Some((k.as_str(), format!("S:{s}"))),
            AttributeValue::N(n) => Some((k.as_str(), format!("N:{n}"))),
            _ => None,
        })
        .collect();
    let json = serde_json::to_vec(&map).ok()?;
    Some(URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a cursor and checks that `partition_attr` equals `partition_value`.
pub fn decode(cursor: &str, partition_attr: &str, partition_value: &str) -> Result<Item, StoreError> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| StoreError::InvalidCursor)?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| StoreError::InvalidCursor)?;
    if map.get(partition_attr).and_then(|v| v.strip_prefix("S:")) != Some(partition_value) || map.len() > 4 {
        return Err(StoreError::InvalidCursor);
    }
    map.into_iter()
        .map(|(k, v)| match v.split_at_checked(2) {
            Some(("S:", s)) => Ok((k, AttributeValue::S(s.to_string()))),
            Some(("N:", n)) if n.parse::<i64>().is_ok() => Ok((k, AttributeValue::N(n.to_string()))),
            _ => Err(StoreError::InvalidCursor),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([
            ("PK".to_string(), AttributeValue::S(pk.into())),
            ("SK".to_string(), AttributeValue::S(sk.into())),
        ])
    }

    #[test]
    fn round_trips_for_the_same_partition() {
        let c = encode(Some(&key("USER#a", "PAY#1"))).unwrap();
        assert_eq!(decode(&c, "PK", "USER#a").unwrap(), key("USER#a", "PAY#1"));
    }

    #[test]
    fn refuses_another_partition_or_garbage() {
        let c = encode(Some(&key("USER#a", "PAY#1"))).unwrap();
        assert!(matches!(decode(&c, "PK", "USER#b"), Err(StoreError::InvalidCursor)));
        assert!(matches!(decode("!!", "PK", "USER#a"), Err(StoreError::InvalidCursor)));
        assert!(matches!(decode("e30", "PK", "USER#a"), Err(StoreError::InvalidCursor)));
        // An untyped or malformed number value.
        let forged = URL_SAFE_NO_PAD.encode(r#"{"PK":"S:USER#a","SortPrice":"N:1e9"}"#);
        assert!(matches!(decode(&forged, "PK", "USER#a"), Err(StoreError::InvalidCursor)));
    }

    #[test]
    fn numbers_round_trip() {
        let mut k = key("CATALOG", "COURSE");
        k.insert("SortPrice".into(), AttributeValue::N("1999".into()));
        let c = encode(Some(&k)).unwrap();
        assert_eq!(decode(&c, "PK", "CATALOG").unwrap(), k);
    }

    #[test]
    fn no_last_key_means_no_cursor() {
        assert_eq!(encode(None), None);
    }
}
