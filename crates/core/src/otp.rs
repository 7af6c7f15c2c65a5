//! One-time sign-in codes: how long they live, how often they may be asked
//! for and guessed. Pure rules; the engine stores codes hashed.

use crate::error::{DomainError, DomainResult, ErrorCode};

/// A code is valid for five minutes.
pub const CODE_TTL_MS: i64 = 5 * 60 * 1000;
/// Wrong guesses allowed against one code before it is burnt.
pub const MAX_ATTEMPTS: i64 = 5;
/// At most this many codes per phone in [`SEND_WINDOW_MS`].
pub const MAX_SENDS_PER_WINDOW: i64 = 5;
pub const SEND_WINDOW_MS: i64 = 60 * 60 * 1000;
/// Minimum gap between two codes to the same phone.
pub const RESEND_GAP_MS: i64 = 30 * 1000;

/// Six decimal digits from random bytes supplied by the caller.
pub fn code_from_entropy(entropy: u64) -> String {
    format!("{:06}", entropy % 1_000_000)
}

/// May another code be sent, given the send times in the window (newest last)?
pub fn may_send(now_ms: i64, recent_sends_ms: &[i64]) -> DomainResult<()> {
    let in_window = recent_sends_ms
        .iter()
        .filter(|t| now_ms - **t < SEND_WINDOW_MS)
        .count() as i64;
    if in_window >= MAX_SENDS_PER_WINDOW {
        return Err(DomainError::new(
            ErrorCode::TooManyAttempts,
            "Too many codes were sent to this phone; try again in an hour.",
        ));
    }
    if let Some(last) = recent_sends_ms.iter().max() {
        if now_ms - last < RESEND_GAP_MS {
            return Err(DomainError::new(
                ErrorCode::TooManyAttempts,
                "A code was sent moments ago; wait 30 seconds before asking again.",
            ));
        }
    }
    Ok(())
}

/// The state of the newest code for a phone, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub code_hash: String,
    pub expires_at_ms: i64,
    pub attempts: i64,
    pub consumed: bool,
}

/// What a verification attempt does to the stored code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Right code: consume it and sign in.
    Accept,
    /// Wrong code: count the attempt.
    Reject,
}

/// Checks a guess (already hashed by the caller) against the issued code.
pub fn verify(now_ms: i64, issued: Option<&IssuedCode>, guess_hash: &str) -> DomainResult<Verdict> {
    let Some(c) = issued else {
        return Err(DomainError::new(
            ErrorCode::InvalidCode,
            "No code was sent to this phone, or it was already used; ask for a new one.",
        ));
    };
    if c.consumed {
        return Err(DomainError::new(
            ErrorCode::InvalidCode,
            "This code was already used; ask for a new one.",
        ));
    }
    if c.attempts >= MAX_ATTEMPTS {
        return Err(DomainError::new(
            ErrorCode::TooManyAttempts,
            "Too many wrong codes; ask for a new one.",
        ));
    }
    if now_ms >= c.expires_at_ms {
        return Err(DomainError::new(
            ErrorCode::CodeExpired,
            "The code has expired; ask for a new one.",
        ));
    }
    if constant_time_eq(c.code_hash.as_bytes(), guess_hash.as_bytes()) {
        Ok(Verdict::Accept)
    } else {
        Ok(Verdict::Reject)
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issued(attempts: i64) -> IssuedCode {
        IssuedCode {
            code_hash: "h".into(),
            expires_at_ms: 1000,
            attempts,
            consumed: false,
        }
    }

    #[test]
    fn codes_are_six_digits() {
        assert_eq!(code_from_entropy(42), "000042");
        assert_eq!(code_from_entropy(u64::MAX).len(), 6);
    }

    #[test]
    fn expiry_attempts_and_reuse() {
        assert_eq!(verify(10, Some(&issued(0)), "h"), Ok(Verdict::Accept));
        assert_eq!(verify(10, Some(&issued(0)), "x"), Ok(Verdict::Reject));
        assert_eq!(
            verify(1000, Some(&issued(0)), "h").map_err(|e| e.code),
            Err(ErrorCode::CodeExpired)
        );
        assert_eq!(
            verify(10, Some(&issued(MAX_ATTEMPTS)), "h").map_err(|e| e.code),
            Err(ErrorCode::TooManyAttempts)
        );
        let used = IssuedCode {
            consumed: true,
            ..issued(0)
        };
        assert_eq!(
            verify(10, Some(&used), "h").map_err(|e| e.code),
            Err(ErrorCode::InvalidCode)
        );
        assert_eq!(
            verify(10, None, "h").map_err(|e| e.code),
            Err(ErrorCode::InvalidCode)
        );
    }

    #[test]
    fn send_rate() {
        assert!(may_send(100_000, &[]).is_ok());
        assert!(may_send(100_000, &[90_000]).is_err());
        assert!(may_send(100_000, &[60_000]).is_ok());
        let five: Vec<i64> = (0..5).map(|i| i * 40_000).collect();
        assert!(may_send(300_000, &five).is_err());
        assert!(may_send(SEND_WINDOW_MS + 200_000, &five).is_ok());
    }
}
