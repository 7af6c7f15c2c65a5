//! Domain errors: a stable machine-readable code and a human sentence.
//!
//! The code table is the one place where every error the API can return is
//! named. The HTTP status for each kind is mapped once, in the api crate.

use std::fmt;

/// What went wrong, in the broad sense a client can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is malformed or breaks a rule (4xx: 400/422).
    Invalid,
    /// No credentials, or credentials that are not (or no longer) valid.
    Unauthenticated,
    /// Authenticated, but this principal may not do this.
    Forbidden,
    /// The resource does not exist, or is not visible to this principal.
    NotFound,
    /// The request conflicts with the current state (409).
    Conflict,
    /// Too many attempts; slow down (429).
    RateLimited,
    /// Something outside the client's control failed (5xx).
    Internal,
}

macro_rules! error_codes {
    ($($variant:ident => ($code:literal, $kind:ident)),+ $(,)?) => {
        /// Every error code souk returns. Codes are part of the public API: never rename one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            pub fn kind(self) -> ErrorKind {
                match self { $(ErrorCode::$variant => ErrorKind::$kind),+ }
            }
        }
    };
}

error_codes! {
    // request shape
    MalformedJson => ("malformed_json", Invalid),
    InvalidBody => ("invalid_body", Invalid),
    UnsupportedMediaType => ("unsupported_media_type", Invalid),
    BodyTooLarge => ("body_too_large", Invalid),
    InvalidQuery => ("invalid_query", Invalid),
    InvalidPath => ("invalid_path", Invalid),
    InvalidField => ("invalid_field", Invalid),
    FieldNotAllowed => ("field_not_allowed", Invalid),
    InvalidCursor => ("invalid_cursor", Invalid),
    // money
    InvalidAmount => ("invalid_amount", Invalid),
    UnknownCurrency => ("unknown_currency", Invalid),
    // accounts and access
    InvalidPhone => ("invalid_phone", Invalid),
    InvalidCode => ("invalid_code", Unauthenticated),
    CodeExpired => ("code_expired", Unauthenticated),
    TooManyAttempts => ("too_many_attempts", RateLimited),
    InvalidCredentials => ("invalid_credentials", Unauthenticated),
    Unauthenticated => ("unauthenticated", Unauthenticated),
    TokenRevoked => ("token_revoked", Unauthenticated),
    Forbidden => ("forbidden", Forbidden),
    WeakPassword => ("weak_password", Invalid),
    EmailTaken => ("email_taken", Conflict),
    // resources
    NotFound => ("not_found", NotFound),
    RouteNotFound => ("route_not_found", NotFound),
    MethodNotAllowed => ("method_not_allowed", Invalid),
    SkuCodeTaken => ("sku_code_taken", Conflict),
    DuplicateVariant => ("duplicate_variant", Conflict),
    IllegalTransition => ("illegal_transition", Conflict),
    NameTaken => ("name_taken", Conflict),
    // stock
    InvalidQuantity => ("invalid_quantity", Invalid),
    OutOfStock => ("out_of_stock", Conflict),
    ReservationExpired => ("reservation_expired", Conflict),
    // pricing and coupons
    CurrencyMismatch => ("currency_mismatch", Invalid),
    EmptyCart => ("empty_cart", Invalid),
    CouponMinSpendNotMet => ("coupon_min_spend_not_met", Invalid),
    CouponNotStackable => ("coupon_not_stackable", Invalid),
    CouponExpired => ("coupon_expired", Invalid),
    CouponNotYetValid => ("coupon_not_yet_valid", Invalid),
    CouponWrongChannel => ("coupon_wrong_channel", Invalid),
    CouponAlreadyRedeemed => ("coupon_already_redeemed", Conflict),
    CouponBudgetExhausted => ("coupon_budget_exhausted", Conflict),
    CouponLimitReached => ("coupon_limit_reached", Conflict),
    CouponCodeTaken => ("coupon_code_taken", Conflict),
    // orders and payments
    AlreadyCaptured => ("already_captured", Conflict),
    InvalidSignature => ("invalid_signature", Unauthenticated),
    PriceUnavailable => ("price_unavailable", Invalid),
    PaymentDeclined => ("payment_declined", Conflict),
    // idempotency
    InvalidIdempotencyKey => ("invalid_idempotency_key", Invalid),
    IdempotencyKeyReused => ("idempotency_key_reused", Conflict),
    IdempotencyKeyInFlight => ("idempotency_key_in_flight", Conflict),
    // limits
    RateLimited => ("rate_limited", RateLimited),
    // server
    Internal => ("internal", Internal),
    Unavailable => ("unavailable", Internal),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error a rule produced: a code from the table and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DomainError {
    pub code: ErrorCode,
    pub message: String,
}

impl DomainError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} was not found."))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.code.kind()
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_snake_case() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "duplicate code {s}");
            assert!(s.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{s}");
        }
    }
}
