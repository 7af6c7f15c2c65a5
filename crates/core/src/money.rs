//! Money: integer minor units with a currency. Never floats.
//!
//! Bounds live here so that "absurd" is defined once: a price is positive and
//! at most [`MAX_PRICE_MINOR`].

use crate::error::{DomainError, DomainResult, ErrorCode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest price accepted for one unit: 100 million major units of a
/// two-decimal currency. Anything above is a typo or an attack.
pub const MAX_PRICE_MINOR: i64 = 10_000_000_000;

/// ISO 4217 currencies souk trades in, with their minor-unit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Currency {
    Cny,
    Usd,
    Eur,
    Gbp,
    Hkd,
    Jpy,
    Krw,
    Sgd,
}

impl Currency {
    pub const ALL: &'static [Currency] = &[
        Currency::Cny,
        Currency::Usd,
        Currency::Eur,
        Currency::Gbp,
        Currency::Hkd,
        Currency::Jpy,
        Currency::Krw,
        Currency::Sgd,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Currency::Cny => "CNY",
            Currency::Usd => "USD",
            Currency::Eur => "EUR",
            Currency::Gbp => "GBP",
            Currency::Hkd => "HKD",
            Currency::Jpy => "JPY",
            Currency::Krw => "KRW",
            Currency::Sgd => "SGD",
        }
    }

    /// Digits after the decimal point in the major unit.
    pub fn exponent(self) -> u32 {
        match self {
            Currency::Jpy | Currency::Krw => 0,
            _ => 2,
        }
    }

    pub fn parse(code: &str) -> DomainResult<Self> {
        Currency::ALL
            .iter()
            .copied()
            .find(|c| c.code() == code)
            .ok_or_else(|| {
                DomainError::new(
                    ErrorCode::UnknownCurrency,
                    format!("Currency {code:?} is not one souk trades in (use an ISO 4217 code such as CNY or USD)."),
                )
            })
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value).map_err(|e| e.message)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An amount of money in minor units (fen, cents) of a currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: Currency,
}

impl Money {
    /// A unit price: strictly positive and at most [`MAX_PRICE_MINOR`].
    pub fn price(amount_minor: i64, currency: Currency) -> DomainResult<Self> {
        if amount_minor <= 0 {
            return Err(DomainError::new(
                ErrorCode::InvalidAmount,
                format!("A price must be more than zero; got {amount_minor} minor units."),
            ));
        }
        if amount_minor > MAX_PRICE_MINOR {
            return Err(DomainError::new(
                ErrorCode::InvalidAmount,
                format!(
                    "A price may be at most {MAX_PRICE_MINOR} minor units; got {amount_minor}."
                ),
            ));
        }
        Ok(Self {
            amount_minor,
            currency,
        })
    }

    /// Human display, e.g. "CNY 129.00". Rounding never happens: minor units are exact.
    pub fn display(&self) -> String {
        let exp = self.currency.exponent();
        if exp == 0 {
            return format!("{} {}", self.currency, self.amount_minor);
        }
        let div = 10_i64.pow(exp);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        let div_u = div.unsigned_abs();
        format!(
            "{} {sign}{}.{:0width$}",
            self.currency,
            abs / div_u,
            abs % div_u,
            width = exp as usize
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_must_be_positive_and_bounded() {
        assert!(Money::price(0, Currency::Cny).is_err());
        assert!(Money::price(-1, Currency::Cny).is_err());
        assert!(Money::price(i64::MAX, Currency::Cny).is_err());
        assert!(Money::price(MAX_PRICE_MINOR + 1, Currency::Cny).is_err());
        assert_eq!(
            Money::price(1, Currency::Cny).map(|m| m.amount_minor),
            Ok(1)
        );
    }

    #[test]
    fn currency_parsing_is_strict() {
        assert_eq!(Currency::parse("CNY"), Ok(Currency::Cny));
        assert!(Currency::parse("cny").is_err());
        assert!(Currency::parse("XXX").is_err());
    }

    #[test]
    fn display_uses_exponent() {
        assert_eq!(
            Money {
                amount_minor: 12900,
                currency: Currency::Cny
            }
            .display(),
            "CNY 129.00"
        );
        assert_eq!(
            Money {
                amount_minor: 5,
                currency: Currency::Usd
            }
            .display(),
            "USD 0.05"
        );
        assert_eq!(
            Money {
                amount_minor: 1500,
                currency: Currency::Jpy
            }
            .display(),
            "JPY 1500"
        );
    }
}
