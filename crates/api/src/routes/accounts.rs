//! Accounts: the caller's own, and operators managing console users.

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::dto::{GrantDto, Page};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use souk_core::ids::AccountId;
use souk_core::page::{after_id, page_size, split_page};
use souk_engine::accounts::{AccountView, NewConsoleUser};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(list_accounts, create_account))
        .routes(routes!(get_account))
        .routes(routes!(add_grant))
        .routes(routes!(disable_account))
}

#[derive(Serialize, ToSchema)]
pub struct AccountDto {
    pub id: i64,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub disabled: bool,
    pub grants: Vec<GrantDto>,
    pub created_at_ms: i64,
}

impl From<AccountView> for AccountDto {
    fn from(a: AccountView) -> Self {
        AccountDto {
            id: a.id.0,
            display_name: a.display_name,
            phone: a.phone,
            email: a.email,
            disabled: a.disabled,
            grants: a.grants.into_iter().map(GrantDto::from).collect(),
            created_at_ms: a.created_at_ms,
        }
    }
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts", security(("bearer" = [])),
    responses((status = 200, body = AccountDto), (status = 401, body = ErrorBody)))]
async fn me(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<AccountDto>> {
    Ok(Json(
        s.services.accounts.account(&p, p.account_id).await?.into(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    /// 1 to 100; default 20.
    pub limit: Option<u32>,
}

/// All accounts (operators only).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<AccountDto>), (status = 403, body = ErrorBody)))]
async fn list_accounts(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<AccountDto>>> {
    let limit = page_size(q.limit)?;
    let after = after_id(q.cursor.as_deref())?;
    let rows = s.services.accounts.list(&p, after, limit + 1).await?;
    let (rows, next_cursor) = split_page(rows, limit, |a| a.id.0);
    Ok(Json(Page {
        items: rows.into_iter().map(AccountDto::from).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountDto {
    pub email: String,
    /// 10 to 128 characters.
    pub password: String,
    pub display_name: String,
    pub grants: Vec<GrantDto>,
}

/// Creates a console user (operator, supplier user or store clerk). Operators only.
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", security(("bearer" = [])), request_body = NewAccountDto,
    responses((status = 201, body = AccountDto), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_account(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewAccountDto>,
) -> ApiResult<(StatusCode, Json<AccountDto>)> {
    let id = s
        .services
        .accounts
        .create_console_user(
            &p,
            NewConsoleUser {
                email: b.email,
                password: b.password,
                display_name: b.display_name,
                grants: b.grants.into_iter().map(Into::into).collect(),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(s.services.accounts.account(&p, id).await?.into()),
    ))
}

/// One account: your own, or any for operators. Others' ids answer 404.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "accounts", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AccountDto), (status = 404, body = ErrorBody)))]
async fn get_account(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountDto>> {
    Ok(Json(
        s.services.accounts.account(&p, AccountId(id)).await?.into(),
    ))
}

/// Gives an account another role (operators only).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/grants", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = GrantDto,
    responses((status = 200, body = AccountDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn add_grant(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Json(g): Json<GrantDto>,
) -> ApiResult<Json<AccountDto>> {
    s.services
        .accounts
        .add_grant(&p, AccountId(id), g.into())
        .await?;
    Ok(Json(
        s.services.accounts.account(&p, AccountId(id)).await?.into(),
    ))
}

/// Disables an account and revokes all its sessions and keys (operators only).
#[utoipa::path(post, path = "/api/v1/accounts/{id}/disable", tag = "accounts", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, body = AccountDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn disable_account(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AccountDto>> {
    s.services.accounts.disable(&p, AccountId(id)).await?;
    Ok(Json(
        s.services.accounts.account(&p, AccountId(id)).await?.into(),
    ))
}
