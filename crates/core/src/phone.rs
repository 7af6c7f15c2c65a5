//! Phone numbers, parsed at the edge into E.164 form.

use crate::error::{DomainError, DomainResult, ErrorCode};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+` then 8 to 15 digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Phone(String);

impl Phone {
    /// Accepts E.164 (`+8613800138000`), or an 11-digit mainland China mobile
    /// number (`13800138000`, taken as +86). Spaces and dashes are ignored.
    pub fn parse(raw: &str) -> DomainResult<Self> {
        let err = || {
            DomainError::new(
                ErrorCode::InvalidPhone,
                format!(
                    "{raw:?} is not a phone number; use international form such as +8613800138000."
                ),
            )
        };
        if raw.len() > 32 {
            return Err(err());
        }
        let cleaned: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = if let Some(rest) = cleaned.strip_prefix('+') {
            rest.to_owned()
        } else if cleaned.len() == 11 && cleaned.starts_with('1') {
            format!("86{cleaned}")
        } else {
            return Err(err());
        };
        if !(8..=15).contains(&digits.len())
            || !digits.chars().all(|c| c.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(err());
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle digits hidden, for logs and receipts.
    pub fn masked(&self) -> String {
        let s = &self.0;
        if s.len() <= 7 {
            return "***".into();
        }
        format!("{}****{}", &s[..5], &s[s.len() - 3..])
    }
}

impl TryFrom<String> for Phone {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Phone::parse(&value).map_err(|e| e.message)
    }
}

impl From<Phone> for String {
    fn from(p: Phone) -> Self {
        p.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_e164_and_china_mobile() {
        assert_eq!(
            Phone::parse("+86 138-0013-8000").map(|p| p.0),
            Ok("+8613800138000".into())
        );
        assert_eq!(
            Phone::parse("13800138000").map(|p| p.0),
            Ok("+8613800138000".into())
        );
        assert_eq!(
            Phone::parse("+14155550100").map(|p| p.0),
            Ok("+14155550100".into())
        );
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "+",
            "abc",
            "+0123456789",
            "12345",
            "+1234567890123456",
            "+86abc12345678",
            "1380013800",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn masks_middle() {
        let p = Phone::parse("+8613800138000").map(|p| p.masked());
        assert_eq!(p, Ok("+8613****000".into()));
    }
}
