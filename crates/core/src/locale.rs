//! Languages souk translates into, and the choice of one from `Accept-Language`.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Locale {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

impl Locale {
    pub const ALL: &'static [Locale] = &[Locale::ZhCn, Locale::En];
    /// The language shown when nothing the client asked for is available.
    pub const FALLBACK: Locale = Locale::En;

    pub fn tag(self) -> &'static str {
        match self {
            Locale::ZhCn => "zh-CN",
            Locale::En => "en",
        }
    }

    /// Exact or primary-language match of one language tag (`zh`, `zh-CN`, `zh-Hans`, `en-US`).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let lower = tag.trim().to_ascii_lowercase();
        let primary = lower.split(['-', '_']).next().unwrap_or("");
        match primary {
            "zh" => Some(Locale::ZhCn),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// Picks the best of `available` for an `Accept-Language` header value,
    /// honouring q-values; falls back to [`Locale::FALLBACK`] if available,
    /// else the first available. `None` only if `available` is empty.
    pub fn negotiate(header: Option<&str>, available: &[Locale]) -> Option<Locale> {
        let mut prefs: Vec<(u16, usize, Locale)> = Vec::new();
        if let Some(h) = header {
            for (i, part) in h.split(',').take(32).enumerate() {
                let mut bits = part.split(';');
                let tag = bits.next().unwrap_or("");
                let mut q: u16 = 1000;
                for b in bits {
                    if let Some(v) = b.trim().strip_prefix("q=") {
                        q = parse_q(v.trim()).unwrap_or(0);
                    }
                }
                if q == 0 {
                    continue;
                }
                if let Some(l) = Locale::from_tag(tag) {
                    prefs.push((q, i, l));
                }
            }
        }
        // Highest q first; equal q keeps header order.
        prefs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        prefs
            .into_iter()
            .map(|(_, _, l)| l)
            .find(|l| available.contains(l))
            .or_else(|| {
                available
                    .contains(&Locale::FALLBACK)
                    .then_some(Locale::FALLBACK)
            })
            .or_else(|| available.first().copied())
    }
}

/// A q-value (`1`, `0.8`, `0.125`) in thousandths, without floats.
fn parse_q(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac_thousandths: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_thousandths),
        "1" if frac_thousandths == 0 => Some(1000),
        _ => None,
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const BOTH: &[Locale] = &[Locale::ZhCn, Locale::En];

    #[test]
    fn picks_by_q_value() {
        assert_eq!(
            Locale::negotiate(Some("en;q=0.5, zh-CN"), BOTH),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::negotiate(Some("zh;q=0.4, en-US;q=0.8"), BOTH),
            Some(Locale::En)
        );
        assert_eq!(Locale::negotiate(Some("zh-Hans"), BOTH), Some(Locale::ZhCn));
    }

    #[test]
    fn falls_back() {
        assert_eq!(Locale::negotiate(Some("fr-FR, de"), BOTH), Some(Locale::En));
        assert_eq!(Locale::negotiate(None, BOTH), Some(Locale::En));
        assert_eq!(
            Locale::negotiate(Some("en"), &[Locale::ZhCn]),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::negotiate(Some("en"), &[]), None);
        assert_eq!(
            Locale::negotiate(Some("en;q=0, zh"), BOTH),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::negotiate(Some("zh;q=NaN"), BOTH), Some(Locale::En));
    }
}
