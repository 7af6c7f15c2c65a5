//! Catalog rules (M1): products (a style), their variants as SKUs, status,
//! translations, attributes, media and prices. Input becomes these types at
//! the edge or is rejected there.

use crate::error::{DomainError, DomainResult, ErrorCode};
use crate::ids::ProductId;
use crate::locale::Locale;
use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

pub const MAX_TITLE_CHARS: usize = 200;
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;
pub const MAX_ATTRIBUTES: usize = 50;
pub const MAX_MEDIA: usize = 20;
pub const MAX_SKUS_PER_PRODUCT: usize = 200;
pub const MAX_SEARCH_CHARS: usize = 100;
pub const MAX_ATTRIBUTE_FILTERS: usize = 5;

/// Where a product is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Being prepared; only its supplier and operators see it.
    Draft,
    /// On sale; everyone sees it.
    Active,
    /// Withdrawn; kept for history.
    Archived,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Draft => "draft",
            ProductStatus::Active => "active",
            ProductStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(Self::Draft),
            "active" => Some(Self::Active),
            "archived" => Some(Self::Archived),
            _ => None,
        }
    }
}

/// The legal status changes. Publishing needs at least one priced SKU.
pub fn transition_status(
    from: ProductStatus,
    to: ProductStatus,
    priced_sku_count: usize,
) -> DomainResult<ProductStatus> {
    use ProductStatus::*;
    let legal = matches!(
        (from, to),
        (Draft, Active) | (Draft, Archived) | (Active, Archived) | (Archived, Draft)
    );
    if !legal {
        return Err(DomainError::new(
            ErrorCode::IllegalTransition,
            format!(
                "A product cannot go from {} to {}.",
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    if to == Active && priced_sku_count == 0 {
        return Err(DomainError::new(
            ErrorCode::IllegalTransition,
            "A product needs at least one SKU with a price before it can be published.",
        ));
    }
    Ok(to)
}

pub use crate::text::check_text;

/// Title and description in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Translation {
    pub title: String,
    #[serde(default)]
    pub description: String,
}

/// Checks a set of translations: at least one, each title 1..=200 chars.
pub fn validate_translations(
    t: &BTreeMap<Locale, Translation>,
) -> DomainResult<BTreeMap<Locale, Translation>> {
    if t.is_empty() {
        return Err(DomainError::invalid(
            "A product needs a title in at least one language (zh-CN or en).",
        ));
    }
    t.iter()
        .map(|(l, tr)| {
            let title = tr.title.trim().to_owned();
            let n = title.chars().count();
            if n == 0 || n > MAX_TITLE_CHARS {
                return Err(DomainError::invalid(format!(
                    "The {l} title must be 1 to {MAX_TITLE_CHARS} characters."
                )));
            }
            if tr.description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(DomainError::invalid(format!(
                    "The {l} description may be at most {MAX_DESCRIPTION_CHARS} characters."
                )));
            }
            check_text(&format!("{l} title"), &title, false)?;
            check_text(&format!("{l} description"), &tr.description, true)?;
            Ok((
                *l,
                Translation {
                    title,
                    description: tr.description.trim().to_owned(),
                },
            ))
        })
        .collect()
}

/// Attribute keys are lower-case words (`material`, `skin_type`); values are short text.
pub fn validate_attributes(a: &BTreeMap<String, String>) -> DomainResult<()> {
    if a.len() > MAX_ATTRIBUTES {
        return Err(DomainError::invalid(format!(
            "A product may have at most {MAX_ATTRIBUTES} attributes."
        )));
    }
    for (k, v) in a {
        validate_attribute_key(k)?;
        let n = v.trim().chars().count();
        if n == 0 || n > 200 {
            return Err(DomainError::invalid(format!(
                "Attribute {k:?} must have a value of 1 to 200 characters."
            )));
        }
        check_text(&format!("value of attribute {k:?}"), v, false)?;
    }
    Ok(())
}

pub fn validate_attribute_key(k: &str) -> DomainResult<()> {
    let ok = !k.is_empty()
        && k.len() <= 40
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(format!(
            "Attribute key {k:?} must be 1 to 40 characters of a-z, 0-9 and _."
        )))
    }
}

/// Media are absolute http(s) URLs.
pub fn validate_media(urls: &[String]) -> DomainResult<()> {
    if urls.len() > MAX_MEDIA {
        return Err(DomainError::invalid(format!(
            "A product may have at most {MAX_MEDIA} media URLs."
        )));
    }
    for u in urls {
        let scheme_ok = u.starts_with("https://") || u.starts_with("http://") || u.starts_with('/');
        if !scheme_ok || u.len() > 500 || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(DomainError::invalid(format!(
                "{u:?} is not a usable media URL (http(s):// or a /path)."
            )));
        }
    }
    Ok(())
}

/// A SKU code doubles as its barcode / QR payload: 3..=40 of A-Z, 0-9, `-`, `_`, `.`.
/// Lower-case letters are taken as upper-case.
pub fn parse_sku_code(raw: &str) -> DomainResult<String> {
    let code = raw.trim().to_ascii_uppercase();
    let ok = (3..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(code)
    } else {
        Err(DomainError::invalid(format!(
            "SKU code {raw:?} must be 3 to 40 characters of A-Z, 0-9, '-', '_' and '.'."
        )))
    }
}

/// The code given to a SKU created without one.
pub fn generated_sku_code(product: ProductId, ordinal: usize) -> String {
    format!("SK{:07}-{:03}", product.0, ordinal)
}

/// Is this (normalised) code of the form souk generates: `SK`, digits, `-`, digits?
pub fn is_generated_sku_code(code: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    code.strip_prefix("SK")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(a, b)| digits(a) && digits(b))
}

/// A code a client chose for a new SKU. Codes of the generated form are
/// reserved, so that nobody can take the code another product's SKU will get.
pub fn parse_custom_sku_code(raw: &str) -> DomainResult<String> {
    let code = parse_sku_code(raw)?;
    if is_generated_sku_code(&code) {
        return Err(DomainError::invalid(format!(
            "SKU codes of the form SK<digits>-<digits> are reserved for generated codes; {code} cannot be chosen."
        )));
    }
    Ok(code)
}

/// A variant option value (a colour or a size): 1..=40 characters.
pub fn parse_option(kind: &str, raw: &str) -> DomainResult<String> {
    let v = raw.trim();
    let n = v.chars().count();
    if n == 0 || n > 40 {
        return Err(DomainError::invalid(format!(
            "A {kind} must be 1 to 40 characters."
        )));
    }
    check_text(kind, v, false)?;
    Ok(v.to_owned())
}

/// One price of a SKU as a client sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceInput {
    pub currency: String,
    pub amount_minor: i64,
}

/// Prices: at most one per currency, each a valid unit price.
pub fn validate_prices(prices: &[PriceInput]) -> DomainResult<Vec<Money>> {
    let mut seen = BTreeSet::new();
    prices
        .iter()
        .map(|p| {
            let c = Currency::parse(&p.currency)?;
            if !seen.insert(c) {
                return Err(DomainError::invalid(format!(
                    "Currency {c} is listed twice."
                )));
            }
            Money::price(p.amount_minor, c)
        })
        .collect()
}

/// The variants to create: the cross product of colours and sizes, each pair once.
pub fn expand_variants(colors: &[String], sizes: &[String]) -> DomainResult<Vec<(String, String)>> {
    let colors: Vec<String> = colors
        .iter()
        .map(|c| parse_option("colour", c))
        .collect::<DomainResult<_>>()?;
    let sizes: Vec<String> = sizes
        .iter()
        .map(|s| parse_option("size", s))
        .collect::<DomainResult<_>>()?;
    if colors.is_empty() || sizes.is_empty() {
        return Err(DomainError::invalid(
            "Give at least one colour and one size.",
        ));
    }
    if colors.len() * sizes.len() > MAX_SKUS_PER_PRODUCT {
        return Err(DomainError::invalid(format!(
            "A product may have at most {MAX_SKUS_PER_PRODUCT} SKUs."
        )));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for c in &colors {
        for s in &sizes {
            if seen.insert((c.clone(), s.clone())) {
                out.push((c.clone(), s.clone()));
            }
        }
    }
    Ok(out)
}

/// A parsed search request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchQuery {
    /// Words to find in a title in any language (lower-cased).
    pub text: Option<String>,
    /// `key:value` attribute filters, all of which must match.
    pub attributes: Vec<(String, String)>,
}

pub fn parse_search(text: Option<&str>, attrs: &[String]) -> DomainResult<SearchQuery> {
    let text = text
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase());
    let as_query = |e: DomainError| DomainError::new(ErrorCode::InvalidQuery, e.message);
    if let Some(t) = &text {
        if t.chars().count() > MAX_SEARCH_CHARS {
            return Err(DomainError::new(
                ErrorCode::InvalidQuery,
                format!("q may be at most {MAX_SEARCH_CHARS} characters."),
            ));
        }
        check_text("search text", t, false).map_err(as_query)?;
    }
    if attrs.len() > MAX_ATTRIBUTE_FILTERS {
        return Err(DomainError::new(
            ErrorCode::InvalidQuery,
            format!("At most {MAX_ATTRIBUTE_FILTERS} attribute filters."),
        ));
    }
    let attributes = attrs
        .iter()
        .map(|a| {
            let (k, v) = a.split_once(':').ok_or_else(|| {
                DomainError::new(
                    ErrorCode::InvalidQuery,
                    format!("Attribute filter {a:?} must look like key:value."),
                )
            })?;
            validate_attribute_key(k).map_err(as_query)?;
            check_text("attribute filter", v, false).map_err(as_query)?;
            Ok((k.to_owned(), v.to_owned()))
        })
        .collect::<DomainResult<_>>()?;
    Ok(SearchQuery { text, attributes })
}

/// Escapes `%`, `_` and `\` so user text is matched literally by `LIKE ... ESCAPE '\'`.
pub fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn status_machine() {
        use ProductStatus::*;
        assert_eq!(transition_status(Draft, Active, 1), Ok(Active));
        assert!(transition_status(Draft, Active, 0).is_err());
        assert!(transition_status(Active, Draft, 1).is_err());
        assert!(transition_status(Archived, Active, 1).is_err());
        assert_eq!(transition_status(Archived, Draft, 0), Ok(Draft));
        assert!(transition_status(Active, Active, 1).is_err());
    }

    #[test]
    fn sku_codes() {
        assert_eq!(parse_sku_code(" ab-12 "), Ok("AB-12".into()));
        assert!(parse_sku_code("a").is_err());
        assert!(parse_sku_code("has space").is_err());
        assert!(parse_sku_code("ÄÖ123").is_err());
        assert!(parse_sku_code(&"A".repeat(41)).is_err());
    }

    #[test]
    fn generated_codes_are_reserved() {
        let g = generated_sku_code(ProductId(42), 7);
        assert!(is_generated_sku_code(&g));
        assert!(parse_custom_sku_code(&g).is_err());
        assert!(parse_custom_sku_code(&g.to_lowercase()).is_err());
        assert!(parse_custom_sku_code("sk12345678901-1").is_err());
        assert_eq!(parse_custom_sku_code("SK-RED-1"), Ok("SK-RED-1".into()));
        assert_eq!(parse_custom_sku_code("SKA1-001"), Ok("SKA1-001".into()));
        assert_eq!(parse_custom_sku_code("SK1-"), Ok("SK1-".into()));
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_text("title", "a\u{0}b", false).is_err());
        assert!(check_text("title", "a\nb", false).is_err());
        assert!(check_text("description", "a\nb\tc\r\n", true).is_ok());
        assert!(check_text("description", "a\u{7}", true).is_err());
        assert!(check_text("title", "真丝 scarf", false).is_ok());
        let t = BTreeMap::from([(
            Locale::En,
            Translation {
                title: "ok".into(),
                description: "nul\u{0}".into(),
            },
        )]);
        assert!(validate_translations(&t).is_err());
        assert!(parse_option("colour", "Red\u{0}").is_err());
        assert!(parse_search(Some("a\u{0}"), &[]).is_err());
        assert!(parse_search(None, &["k:v\u{0}".into()]).is_err());
    }

    #[test]
    fn variants_are_cross_product_without_duplicates() {
        let v = expand_variants(
            &["Red".into(), "Red".into(), "Blue".into()],
            &["S".into(), "M".into()],
        );
        assert_eq!(v.map(|v| v.len()), Ok(4));
        assert!(expand_variants(&[], &["S".into()]).is_err());
    }

    #[test]
    fn prices_reject_duplicates_and_junk() {
        let p = |c: &str, a| PriceInput {
            currency: c.into(),
            amount_minor: a,
        };
        assert!(validate_prices(&[p("CNY", 100), p("USD", 20)]).is_ok());
        assert!(validate_prices(&[p("CNY", 100), p("CNY", 20)]).is_err());
        assert!(validate_prices(&[p("CNY", 0)]).is_err());
        assert!(validate_prices(&[p("XYZ", 10)]).is_err());
    }

    #[test]
    fn like_escapes_wildcards() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
    }

    proptest! {
        #[test]
        fn search_parse_never_panics(q in ".{0,300}", a in proptest::collection::vec(".{0,50}", 0..8)) {
            let _ = parse_search(Some(&q), &a);
        }

        #[test]
        fn sku_code_output_is_always_valid(raw in ".{0,60}") {
            if let Ok(code) = parse_sku_code(&raw) {
                prop_assert_eq!(parse_sku_code(&code), Ok(code.clone()));
            }
        }
    }
}
