//! Signing in and out: phone codes for buyers, passwords for console users,
//! API keys for machines; sessions can be listed and revoked.

use crate::auth::{bearer, Auth};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::dto::{GrantDto, List};
use crate::AppState;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use souk_core::access::Credential;
use souk_core::ids::SessionId;
use souk_core::ErrorCode;
use souk_engine::accounts::{CredentialView, SignedIn};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_code))
        .routes(routes!(verify_code))
        .routes(routes!(password_sign_in))
        .routes(routes!(logout))
        .routes(routes!(list_credentials))
        .routes(routes!(revoke_credential))
        .routes(routes!(create_api_key))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeRequest {
    #[schema(example = "+8613800138000")]
    pub phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct CodeSent {
    pub expires_in_s: i64,
}

/// Sends a six-digit sign-in code to a phone. Limited to one per 30 s and five per hour per phone.
#[utoipa::path(post, path = "/api/v1/auth/otp/request", tag = "sign-in", request_body = CodeRequest,
    responses((status = 202, body = CodeSent), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn request_code(
    State(s): State<AppState>,
    Json(b): Json<CodeRequest>,
) -> ApiResult<(StatusCode, Json<CodeSent>)> {
    let ttl = s.services.accounts.request_code(&b.phone).await?;
    Ok((StatusCode::ACCEPTED, Json(CodeSent { expires_in_s: ttl })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeCheck {
    pub phone: String,
    #[schema(example = "123456")]
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct SessionDto {
    /// The bearer token: send it as `Authorization: Bearer <token>`. Shown only once.
    pub token: String,
    pub session_id: i64,
    pub account_id: i64,
    pub grants: Vec<GrantDto>,
    pub expires_at_ms: i64,
}

impl From<SignedIn> for SessionDto {
    fn from(s: SignedIn) -> Self {
        SessionDto {
            token: s.token,
            session_id: s.session_id.0,
            account_id: s.account_id.0,
            grants: s.grants.into_iter().map(GrantDto::from).collect(),
            expires_at_ms: s.expires_at_ms,
        }
    }
}

/// Checks a phone code and signs the buyer in (creating the account on first sign-in).
#[utoipa::path(post, path = "/api/v1/auth/otp/verify", tag = "sign-in", request_body = CodeCheck,
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn verify_code(
    State(s): State<AppState>,
    Json(b): Json<CodeCheck>,
) -> ApiResult<Json<SessionDto>> {
    Ok(Json(
        s.services
            .accounts
            .verify_code(&b.phone, &b.code)
            .await?
            .into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSignIn {
    pub email: String,
    pub password: String,
}

/// Console sign-in (operators, suppliers, clerks) by email and password.
#[utoipa::path(post, path = "/api/v1/auth/password", tag = "sign-in", request_body = PasswordSignIn,
    responses((status = 200, body = SessionDto), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn password_sign_in(
    State(s): State<AppState>,
    Json(b): Json<PasswordSignIn>,
) -> ApiResult<Json<SessionDto>> {
    Ok(Json(
        s.services
            .accounts
            .sign_in_password(&b.email, &b.password)
            .await?
            .into(),
    ))
}

/// Revokes the token this request was made with.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "sign-in", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(s): State<AppState>, Auth(_p): Auth, parts: Parts) -> ApiResult<StatusCode> {
    let token = bearer(&parts)?
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated, "Sign in first."))?;
    s.services.accounts.logout(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct CredentialDto {
    pub id: i64,
    /// `session` or `api_key`.
    pub kind: &'static str,
    pub label: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
}

impl From<CredentialView> for CredentialDto {
    fn from(c: CredentialView) -> Self {
        CredentialDto {
            id: c.id.0,
            kind: match c.kind {
                Credential::Session => "session",
                Credential::ApiKey => "api_key",
            },
            label: c.label,
            created_at_ms: c.created_at_ms,
            expires_at_ms: c.expires_at_ms,
        }
    }
}

/// The caller's live sessions and API keys.
#[utoipa::path(get, path = "/api/v1/me/credentials", tag = "sign-in", security(("bearer" = [])),
    responses((status = 200, body = List<CredentialDto>), (status = 401, body = ErrorBody)))]
async fn list_credentials(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<List<CredentialDto>>> {
    let items = s
        .services
        .accounts
        .credentials(&p)
        .await?
        .into_iter()
        .map(CredentialDto::from)
        .collect();
    Ok(Json(List { items }))
}

/// Revokes one of the caller's sessions or API keys (operators: anyone's).
#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "sign-in", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn revoke_credential(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<StatusCode> {
    s.services.accounts.revoke(&p, SessionId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    pub label: String,
}

#[derive(Serialize, ToSchema)]
pub struct ApiKeyDto {
    pub id: i64,
    pub label: String,
    /// The key itself; shown only once.
    pub key: String,
}

/// Issues an API key that acts as the caller (console roles only).
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "sign-in", security(("bearer" = [])), request_body = NewApiKey,
    responses((status = 201, body = ApiKeyDto), (status = 403, body = ErrorBody)))]
async fn create_api_key(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewApiKey>,
) -> ApiResult<(StatusCode, Json<ApiKeyDto>)> {
    let (id, key) = s.services.accounts.create_api_key(&p, &b.label).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyDto {
            id: id.0,
            label: b.label.trim().to_owned(),
            key,
        }),
    ))
}
