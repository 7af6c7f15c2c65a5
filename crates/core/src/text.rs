//! Text a person typed: names and free text, checked once, here.

use crate::error::{DomainError, DomainResult};

/// Refuses control characters in text a person typed: they are never meant,
/// break displays and logs, and PostgreSQL cannot store a NUL at all.
/// `multiline` text may hold line breaks and tabs.
pub fn check_text(what: &str, s: &str, multiline: bool) -> DomainResult<()> {
    let bad = s
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        return Err(DomainError::invalid(format!(
            "The {what} may not contain control characters."
        )));
    }
    Ok(())
}

/// A display name of 1..=120 characters (suppliers, brands, locations, categories).
pub fn parse_name(what: &str, raw: &str) -> DomainResult<String> {
    check_text(&format!("{what} name"), raw, false)?;
    let v = raw.trim();
    let n = v.chars().count();
    if n == 0 || n > 120 {
        return Err(DomainError::invalid(format!(
            "The {what} name must be 1 to 120 characters."
        )));
    }
    Ok(v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(parse_name("brand", "  Acme "), Ok("Acme".to_owned()));
        assert!(parse_name("brand", " ").is_err());
        assert!(parse_name("brand", &"x".repeat(121)).is_err());
        assert!(parse_name("location", "Store\u{0}1").is_err());
        assert!(check_text("description", "line\nbreak\ttab", true).is_ok());
        assert!(check_text("title", "line\nbreak", false).is_err());
    }
}
