//! The public course catalog: sort orders, filters and title search words.

use crate::course::{CATEGORIES, Level};
use crate::error::ValidationError;
use crate::ids::UserId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogSort {
    Newest,
    Popular,
    Rating,
    PriceAsc,
    PriceDesc,
}

impl CatalogSort {
    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "newest" => Self::Newest,
            "popular" => Self::Popular,
            "rating" => Self::Rating,
            "price_asc" => Self::PriceAsc,
            "price_desc" => Self::PriceDesc,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogQuery {
    pub sort: CatalogSort,
    pub category: Option<String>,
    pub level: Option<Level>,
    pub language: Option<String>,
    pub instructor_id: Option<UserId>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    /// In hundredths: 450 = 4.5 stars.
    pub min_rating_x100: Option<i64>,
    /// Lower-case title words that must all appear.
    pub words: Vec<String>,
}

/// The searchable words of a title: lower-case letters and digits, at least 2 characters.
pub fn title_words(title: &str) -> Vec<String> {
    let mut words: Vec<String> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 2)
        .map(|w| w.to_lowercase())
        .collect();
    words.sort();
    words.dedup();
    words.truncate(30);
    words
}

/// Parses `4`, `4.5` or `4.25` (0 to 5) into hundredths.
pub fn parse_rating(raw: &str) -> Result<i64, ValidationError> {
    let bad = || ValidationError::new("minRating", "must be a number from 0 to 5 with at most 2 decimals");
    let (whole, frac) = raw.split_once('.').unwrap_or((raw, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().map_err(|_| bad())? };
    let value = whole * 100 + frac;
    if (0..=500).contains(&value) { Ok(value) } else { Err(bad()) }
}

pub fn validate_category(raw: &str) -> Result<String, ValidationError> {
    if CATEGORIES.contains(&raw) {
        Ok(raw.to_string())
    } else {
        Err(ValidationError::new("category", format!("must be one of {}", CATEGORIES.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_words_are_lowercase_and_unique() {
        assert_eq!(title_words("Rust & rust: The Basics (2nd ed.)"), ["2nd", "basics", "ed", "rust", "the"]);
    }

    #[test]
    fn ratings_parse_to_hundredths() {
        assert_eq!(parse_rating("4"), Ok(400));
        assert_eq!(parse_rating("4.5"), Ok(450));
        assert_eq!(parse_rating("4.25"), Ok(425));
        for bad in ["", "5.1", "-1", "4.255", "a", ".5", "4."] {
            if bad == "4." {
                assert_eq!(parse_rating(bad), Ok(400));
                continue;
            }
            assert!(parse_rating(bad).is_err(), "{bad}");
        }
    }
}
