//! Who is calling: `Authorization: Bearer <session token or API key>`.

use crate::error::ApiError;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use souk_core::access::Principal;
use souk_core::error::ErrorCode;

/// The bearer secret of a request, if it sent one.
pub fn bearer(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(v) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::Unauthenticated,
            "The Authorization header is not readable.",
        )
    })?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "Use Authorization: Bearer <token>.",
            )
        })?;
    Ok(Some(token))
}

/// A signed-in caller; requests without valid credentials get 401.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?.ok_or_else(|| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "Sign in first: send Authorization: Bearer <token>.",
            )
        })?;
        Ok(Auth(state.services.accounts.authenticate(token).await?))
    }
}

/// A caller who may or may not be signed in. Credentials sent but invalid are still 401.
pub struct MaybeAuth(pub Option<Principal>);

impl FromRequestParts<AppState> for MaybeAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts)? {
            None => Ok(MaybeAuth(None)),
            Some(t) => Ok(MaybeAuth(Some(
                state.services.accounts.authenticate(t).await?,
            ))),
        }
    }
}
