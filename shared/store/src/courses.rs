//! The sale view of courses: what a checkout reads to price an order.

use crate::error::StoreError;
use crate::item::{FromItem, attrs, from_item, n, s};
use crate::table::key;
use crate::{Store, keys};
use azora_domain::course::{CourseOffer, CourseStatus};
use std::collections::HashMap;

from_item! { CourseOffer as "course", |f| {
    id: f.string("courseId")?, instructor_id: f.user("instructorId")?, title: f.string("title")?,
    price: f.money("priceAmount", "priceCurrency")?, status: f.named("status", CourseStatus::parse)?,
} }

impl Store {
    /// Writes the fields a sale needs. The marketplace's course upload writes the same item.
    pub async fn put_course_offer(&self, offer: &CourseOffer) -> Result<(), StoreError> {
        let item = key(keys::course(&offer.id), keys::COURSE).item(attrs! {
            "courseId" => s(&offer.id), "instructorId" => s(offer.instructor_id.as_str()), "title" => s(&offer.title),
            "priceAmount" => n(offer.price.amount), "priceCurrency" => s(offer.price.currency.code()),
            "status" => s(offer.status.as_str()),
        });
        self.put(item, None).await
    }

    /// The offers for `ids`, in order; `None` where a course does not exist.
    pub async fn get_course_offers(&self, ids: &[String]) -> Result<Vec<Option<CourseOffer>>, StoreError> {
        let wanted = ids.iter().map(|id| key(keys::course(id), keys::COURSE)).collect();
        let by_id: HashMap<String, CourseOffer> = self
            .batch_get(wanted, true)
            .await?
            .iter()
            .map(|item| CourseOffer::from_item(item).map(|o| (o.id.clone(), o)))
            .collect::<Result<_, _>>()?;
        Ok(ids.iter().map(|id| by_id.get(id).cloned()).collect())
    }
}
