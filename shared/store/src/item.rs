//! Reading and writing attribute maps without panicking on unexpected shapes.

use crate::error::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

pub fn get_s<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(StoreError::Malformed(format!("missing string attribute {name}"))),
    }
}

pub fn opt_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v),
        _ => None,
    }
}

pub fn get_i64(item: &Item, name: &str) -> Result<i64, StoreError> {
    opt_i64(item, name)?.ok_or_else(|| StoreError::Malformed(format!("missing number attribute {name}")))
}

pub fn opt_i64(item: &Item, name: &str) -> Result<Option<i64>, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => {
            v.parse().map(Some).map_err(|_| StoreError::Malformed(format!("attribute {name} is not an integer")))
        }
        None | Some(AttributeValue::Null(_)) => Ok(None),
        _ => Err(StoreError::Malformed(format!("attribute {name} is not a number"))),
    }
}

pub fn get_bool(item: &Item, name: &str) -> bool {
    matches!(item.get(name), Some(AttributeValue::Bool(true)))
}

/// A timestamp attribute (RFC 3339, as every `*At` string attribute is written).
pub fn ts(t: jiff::Timestamp) -> AttributeValue {
    s(t.to_string())
}

/// A JSON-encoded string attribute.
pub fn json<T: serde::Serialize + ?Sized>(v: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(v).map(s).map_err(|e| StoreError::Malformed(e.to_string()))
}

/// `impl FromItem for $ty`: each field read from the item through `Fields` (`$f`, whose errors
/// name `$kind`), so a conversion lists only its fields.
macro_rules! from_item {
    ($ty:ident as $kind:literal, |$f:ident| { $($field:ident: $value:expr),* $(,)? }) => {
        impl $crate::item::FromItem for $ty {
            fn from_item(item: &$crate::item::Item) -> Result<Self, $crate::error::StoreError> {
                let $f = $crate::item::Fields::of(item, $kind);
                Ok($ty { $($field: $value),* })
            }
        }
    };
}
pub(crate) use from_item;

/// The `(name, value)` attributes of an item, for `Key::item`: `attrs! { "a" => s(x), ... }`.
macro_rules! attrs {
    ($($name:expr => $value:expr),* $(,)?) => { [$(($name, $value)),*] };
}
pub(crate) use attrs;

/// One conversion per stored type: how it is read back from its item.
pub trait FromItem: Sized {
    fn from_item(item: &Item) -> Result<Self, StoreError>;
}

/// One conversion per stored type: the whole item (keys included) it is written as.
pub trait ToItem {
    fn to_item(&self) -> Result<Item, StoreError>;
}

/// Reads the attributes of one kind of item; every error names the kind and the attribute.
#[derive(Clone, Copy)]
pub struct Fields<'a> {
    item: &'a Item,
    kind: &'static str,
}

impl<'a> Fields<'a> {
    pub fn of(item: &'a Item, kind: &'static str) -> Self {
        Fields { item, kind }
    }

    pub fn bad(&self, name: &str) -> StoreError {
        StoreError::Malformed(format!("{}.{name}", self.kind))
    }

    pub fn str(&self, name: &str) -> Result<&'a str, StoreError> {
        get_s(self.item, name)
    }

    pub fn string(&self, name: &str) -> Result<String, StoreError> {
        self.str(name).map(str::to_string)
    }

    pub fn opt(&self, name: &str) -> Option<String> {
        opt_s(self.item, name).map(str::to_string)
    }

    pub fn i64(&self, name: &str) -> Result<i64, StoreError> {
        get_i64(self.item, name)
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, StoreError> {
        opt_i64(self.item, name)
    }

    /// A counter that starts at zero when absent.
    pub fn count(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self.opt_i64(name)?.unwrap_or(0))
    }

    pub fn u32(&self, name: &str) -> Result<u32, StoreError> {
        u32::try_from(self.i64(name)?).map_err(|_| self.bad(name))
    }

    pub fn bool(&self, name: &str) -> bool {
        get_bool(self.item, name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.item.contains_key(name)
    }

    /// A string attribute parsed by `parse` (an enum, an id...).
    pub fn parse<T, E>(&self, name: &str, parse: impl FnOnce(&str) -> Result<T, E>) -> Result<T, StoreError> {
        parse(self.str(name)?).map_err(|_| self.bad(name))
    }

    /// An enum stored by name (`parse` answers `None` for an unknown one).
    pub fn named<T>(&self, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, StoreError> {
        parse(self.str(name)?).ok_or_else(|| self.bad(name))
    }

    /// An RFC 3339 timestamp.
    pub fn ts(&self, name: &str) -> Result<jiff::Timestamp, StoreError> {
        self.str(name)?.parse().map_err(|_| self.bad(name))
    }

    pub fn opt_ts(&self, name: &str) -> Result<Option<jiff::Timestamp>, StoreError> {
        opt_s(self.item, name).map(|v| v.parse().map_err(|_| self.bad(name))).transpose()
    }

    /// A timestamp in Unix seconds.
    pub fn secs(&self, name: &str) -> Result<jiff::Timestamp, StoreError> {
        jiff::Timestamp::from_second(self.i64(name)?).map_err(|_| self.bad(name))
    }

    pub fn opt_secs(&self, name: &str) -> Result<Option<jiff::Timestamp>, StoreError> {
        self.opt_i64(name)?.map(|t| jiff::Timestamp::from_second(t).map_err(|_| self.bad(name))).transpose()
    }

    pub fn user(&self, name: &str) -> Result<azora_domain::UserId, StoreError> {
        self.parse(name, |v| azora_domain::UserId::parse(v))
    }

    pub fn currency(&self, name: &str) -> Result<azora_domain::Currency, StoreError> {
        self.parse(name, azora_domain::Currency::parse)
    }

    /// An amount in minor units and its currency, from two attributes.
    pub fn money(&self, amount: &str, currency: &str) -> Result<azora_domain::Money, StoreError> {
        Ok(azora_domain::Money::new(self.i64(amount)?, self.currency(currency)?))
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        serde_json::from_str(self.str(name)?).map_err(|_| self.bad(name))
    }

    pub fn opt_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        opt_s(self.item, name).map(|v| serde_json::from_str(v).map_err(|_| self.bad(name))).transpose()
    }
}
