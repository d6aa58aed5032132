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

/// The words of a catalog search that filter it: its title words, at most [`MAX_SEARCH_WORDS`]
/// of them, the longest (the most selective) when there are more.
pub fn search_words(q: &str) -> Vec<String> {
    let mut words = title_words(q);
    if words.len() > MAX_SEARCH_WORDS {
        words.sort_by(|a, b| b.chars().count().cmp(&a.chars().count()).then_with(|| a.cmp(b)));
        words.truncate(MAX_SEARCH_WORDS);
        words.sort();
    }
    words
}

pub const MAX_SEARCH_WORDS: usize = 5;

/// Parses a number from 0 to 5 (`4`, `4.5`, `4.25`, or as a JSON number prints, `4.2500000000000001`
/// or `4e0`) into hundredths, rounded to the nearest. A filter threshold, not money: the rounding
/// only decides which side of a boundary a request falls.
pub fn parse_rating(raw: &str) -> Result<i64, ValidationError> {
    let bad = || ValidationError::new("minRating", "must be a number from 0 to 5");
    let numeric =
        !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    let value: f64 = if numeric { raw.parse().map_err(|_| bad())? } else { return Err(bad()) };
    if !(0.0..=5.0).contains(&value) {
        return Err(bad());
    }
    Ok((value * 100.0).round() as i64)
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
    fn a_search_keeps_its_five_longest_words() {
        assert_eq!(search_words("Rust for the web"), ["for", "rust", "the", "web"]);
        assert_eq!(
            search_words("an intro to rust web servers with axum"),
            ["axum", "intro", "rust", "servers", "with"]
        );
    }

    #[test]
    fn ratings_parse_to_hundredths() {
        assert_eq!(parse_rating("4"), Ok(400));
        assert_eq!(parse_rating("4.5"), Ok(450));
        assert_eq!(parse_rating("4.25"), Ok(425));
        assert_eq!(parse_rating("4."), Ok(400));
        assert_eq!(parse_rating("0.5700000000000001"), Ok(57));
        assert_eq!(parse_rating("1.5e-187"), Ok(0));
        assert_eq!(parse_rating("5e0"), Ok(500));
        for bad in ["", "5.1", "-1", "a", "inf", "NaN", "1e3", "4,5", " 4"] {
            assert!(parse_rating(bad).is_err(), "{bad}");
        }
    }
}
