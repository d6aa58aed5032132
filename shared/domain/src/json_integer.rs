//! Integers in JSON request bodies as JSON Schema (and so our OpenAPI document) defines them: any
//! number without a fractional part. `4`, `4.0` and `4e0` are the same integer; `4.5` is refused.
//! serde alone reads `4.0` as a float and refuses it for an integer field, which would reject a
//! body the document calls valid. Out-of-range values are refused like non-integers.
//!
//! Use with `#[serde(deserialize_with = "azora_domain::json_integer::exact")]`, or
//! `json_integer::optional` (with `#[serde(default)]`) for an `Option`.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

struct Integer<T>(PhantomData<T>);

impl<T: TryFrom<i64>> Integer<T> {
    fn fit<E: de::Error>(v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("integer {v} out of range")))
    }
}

impl<'de, T: TryFrom<i64>> Visitor<'de> for Integer<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Self::fit(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        let v = i64::try_from(v).map_err(|_| E::custom(format!("integer {v} out of range")))?;
        Self::fit(v)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        // 2^63 is exactly representable; every whole f64 below it (and at or above -2^63) fits.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() != 0.0 || !v.is_finite() {
            return Err(E::invalid_type(de::Unexpected::Float(v), &self));
        }
        if !(-LIMIT..LIMIT).contains(&v) {
            return Err(E::custom(format!("integer {v} out of range")));
        }
        Self::fit(v as i64)
    }
}

/// An integer field.
pub fn exact<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Integer(PhantomData))
}

/// An optional integer field (`null` or absent is `None`; pair it with `#[serde(default)]`).
pub fn optional<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D) -> Result<Option<T>, D::Error> {
    struct Maybe<T>(PhantomData<T>);
    impl<'de, T: TryFrom<i64>> Visitor<'de> for Maybe<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an integer or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            exact(d).map(Some)
        }
    }
    d.deserialize_option(Maybe(PhantomData))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Body {
        #[serde(deserialize_with = "super::exact")]
        n: u32,
        #[serde(default, deserialize_with = "super::optional")]
        m: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_in_any_spelling_are_integers() {
        for json in [r#"{"n": 4}"#, r#"{"n": 4.0}"#, r#"{"n": 4e0}"#, r#"{"n": 40e-1}"#] {
            assert_eq!(parse(json).unwrap().n, 4, "{json}");
        }
        let body = parse(r#"{"n": 1, "m": -250.0}"#).unwrap();
        assert_eq!(body.m, Some(-250));
        assert_eq!(parse(r#"{"n": 1, "m": null}"#).unwrap().m, None);
        assert_eq!(parse(r#"{"n": 1}"#).unwrap().m, None);
    }

    #[test]
    fn fractions_out_of_range_values_and_other_types_are_refused() {
        for json in [
            r#"{"n": 4.5}"#,
            r#"{"n": -1}"#,
            r#"{"n": 4294967296}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": "4"}"#,
            r#"{"n": 1, "m": 9223372036854775808}"#,
            r#"{"n": 1, "m": 0.1}"#,
        ] {
            assert!(parse(json).is_err(), "{json}");
        }
    }

    #[test]
    fn the_full_i64_range_is_kept() {
        let body = parse(r#"{"n": 0, "m": -9223372036854775808}"#).unwrap();
        assert_eq!(body.m, Some(i64::MIN));
        let body = parse(r#"{"n": 0, "m": 9223372036854775807}"#).unwrap();
        assert_eq!(body.m, Some(i64::MAX));
    }
}
