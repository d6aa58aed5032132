//! The sale view of courses, enrollments (who owns what) and Stripe customers per user.

use crate::error::{StoreError, from_sdk};
use crate::item::{Item, get_i64, get_s, n, s};
use crate::{Store, keys};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use azora_domain::course::{CourseOffer, CourseStatus};
use azora_domain::{Currency, Money, UserId};
use std::collections::{HashMap, HashSet};

impl Store {
    /// Writes the fields a sale needs. The marketplace's course upload writes the same item.
    pub async fn put_course_offer(&self, offer: &CourseOffer) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::course(&offer.id)))
            .item(keys::SK, s(keys::COURSE))
            .item("courseId", s(&offer.id))
            .item("instructorId", s(offer.instructor_id.as_str()))
            .item("title", s(&offer.title))
            .item("priceAmount", n(offer.price.amount))
            .item("priceCurrency", s(offer.price.currency.code()))
            .item("status", s(offer.status.as_str()))
            .send()
            .await
            .map_err(|e| from_sdk("PutItem", e))?;
        Ok(())
    }

    /// The offers for `ids`, in order; `None` where a course does not exist.
    pub async fn get_course_offers(&self, ids: &[String]) -> Result<Vec<Option<CourseOffer>>, StoreError> {
        let keys: Vec<HashMap<String, AttributeValue>> = unique(ids)
            .into_iter()
            .map(|id| {
                HashMap::from([(keys::PK.to_string(), s(keys::course(id))), (keys::SK.to_string(), s(keys::COURSE))])
            })
            .collect();
        let found = self.batch_get(keys).await?;
        let by_id: HashMap<String, CourseOffer> = found
            .iter()
            .map(offer_from_item)
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .map(|o| (o.id.clone(), o))
            .collect();
        Ok(ids.iter().map(|id| by_id.get(id).cloned()).collect())
    }

    /// Which of `course_ids` the user is enrolled in.
    pub async fn enrolled_in(&self, user: &UserId, course_ids: &[String]) -> Result<HashSet<String>, StoreError> {
        let keys = unique(course_ids)
            .into_iter()
            .map(|id| {
                HashMap::from([
                    (keys::PK.to_string(), s(keys::user(user.as_str()))),
                    (keys::SK.to_string(), s(keys::enrollment(id))),
                ])
            })
            .collect();
        let found = self.batch_get(keys).await?;
        found.iter().map(|item| get_s(item, "courseId").map(str::to_string)).collect()
    }

    pub async fn is_enrolled(&self, user: &UserId, course_id: &str) -> Result<bool, StoreError> {
        Ok(self.enrolled_in(user, &[course_id.to_string()]).await?.contains(course_id))
    }

    pub async fn get_stripe_customer(&self, user: &UserId) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(keys::PK, s(keys::user(user.as_str())))
            .key(keys::SK, s(keys::STRIPE_CUSTOMER))
            .send()
            .await
            .map_err(|e| from_sdk("GetItem", e))?;
        out.item.as_ref().map(|i| get_s(i, "customerId").map(str::to_string)).transpose()
    }

    /// Records the user's Stripe customer unless one is recorded already; returns the one kept.
    pub async fn keep_stripe_customer(&self, user: &UserId, customer_id: &str) -> Result<String, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(keys::PK, s(keys::user(user.as_str())))
            .item(keys::SK, s(keys::STRIPE_CUSTOMER))
            .item("customerId", s(customer_id))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match put.map_err(|e| from_sdk("PutItem", e)) {
            Ok(_) => Ok(customer_id.to_string()),
            Err(StoreError::ConditionFailed) => {
                self.get_stripe_customer(user).await?.ok_or_else(|| StoreError::Malformed("customer vanished".into()))
            }
            Err(e) => Err(e),
        }
    }

    /// BatchGetItem with retries of unprocessed keys (at most 100 keys).
    pub(crate) async fn batch_get(&self, keys: Vec<HashMap<String, AttributeValue>>) -> Result<Vec<Item>, StoreError> {
        let mut pending = keys;
        let mut found = Vec::new();
        for attempt in 0..5 {
            if pending.is_empty() {
                break;
            }
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Malformed(e.to_string()))?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| from_sdk("BatchGetItem", e))?;
            if let Some(mut responses) = out.responses {
                found.extend(responses.remove(&self.table).unwrap_or_default());
            }
            if let Some(mut unprocessed) = out.unprocessed_keys {
                pending = unprocessed.remove(&self.table).map(|k| k.keys).unwrap_or_default();
                if !pending.is_empty() {
                    tokio_sleep_ms(20 << attempt).await;
                }
            }
        }
        if !pending.is_empty() {
            return Err(StoreError::Backend { operation: "BatchGetItem", message: "keys left unprocessed".into() });
        }
        Ok(found)
    }
}

async fn tokio_sleep_ms(ms: u64) {
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}

fn unique(ids: &[String]) -> Vec<&str> {
    let mut seen = HashSet::new();
    ids.iter().map(String::as_str).filter(|id| seen.insert(*id)).collect()
}

pub(crate) fn offer_from_item(item: &Item) -> Result<CourseOffer, StoreError> {
    let malformed = |what: &str| StoreError::Malformed(format!("course.{what}"));
    Ok(CourseOffer {
        id: get_s(item, "courseId")?.to_string(),
        instructor_id: UserId::parse(get_s(item, "instructorId")?).map_err(|_| malformed("instructorId"))?,
        title: get_s(item, "title")?.to_string(),
        price: Money::new(
            get_i64(item, "priceAmount")?,
            Currency::parse(get_s(item, "priceCurrency")?).map_err(|_| malformed("priceCurrency"))?,
        ),
        status: CourseStatus::parse(get_s(item, "status")?).ok_or_else(|| malformed("status"))?,
    })
}
