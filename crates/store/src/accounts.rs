//! Accounts, grants, credentials (sessions and API keys) and one-time codes.

use crate::db::{Dialect, WriteTx};
use crate::error::{StoreError, StoreResult};
use souk_core::access::Grant;
use souk_core::ids::{AccountId, SessionId};
use souk_core::otp::IssuedCode;
use sqlx::{Any, Executor, Row};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct AccountRow {
    pub id: AccountId,
    pub display_name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at_ms: i64,
}

const ACCOUNT_COLUMNS: &str =
    "id, display_name, phone, email, password_hash, disabled, created_at_ms";

fn account_from(row: &sqlx::any::AnyRow) -> StoreResult<AccountRow> {
    Ok(AccountRow {
        id: AccountId(row.try_get("id")?),
        display_name: row.try_get("display_name")?,
        phone: row.try_get("phone")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at_ms: row.try_get("created_at_ms")?,
    })
}

pub struct NewAccount<'a> {
    pub display_name: &'a str,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub password_hash: Option<&'a str>,
}

pub async fn insert_account<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    a: NewAccount<'_>,
    now_ms: i64,
) -> StoreResult<AccountId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO accounts (display_name, phone, email, password_hash, disabled, created_at_ms) \
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(a.display_name)
    .bind(a.phone)
    .bind(a.email)
    .bind(a.password_hash)
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(AccountId(id))
}

pub async fn account_by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: AccountId,
) -> StoreResult<Option<AccountRow>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(account_from).transpose()
}

pub async fn account_by_phone<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    phone: &str,
) -> StoreResult<Option<AccountRow>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE phone = $1"
    ))
    .bind(phone)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(account_from).transpose()
}

pub async fn account_by_email<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    email: &str,
) -> StoreResult<Option<AccountRow>> {
    let row = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(account_from).transpose()
}

pub async fn list_accounts<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<AccountRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await?;
    rows.iter().map(account_from).collect()
}

pub async fn set_disabled<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: AccountId,
    disabled: bool,
) -> StoreResult<bool> {
    let r = sqlx::query("UPDATE accounts SET disabled = $1 WHERE id = $2")
        .bind(i64::from(disabled))
        .bind(id.0)
        .execute(ex)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn add_grant<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
    grant: Grant,
) -> StoreResult<()> {
    let (role, org) = grant.to_row();
    sqlx::query(
        "INSERT INTO grants (account_id, role, org_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(account.0)
    .bind(role)
    .bind(org.unwrap_or(0))
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn grants_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
) -> StoreResult<Vec<Grant>> {
    let rows =
        sqlx::query("SELECT role, org_id FROM grants WHERE account_id = $1 ORDER BY role, org_id")
            .bind(account.0)
            .fetch_all(ex)
            .await?;
    rows.iter()
        .map(|r| grant_from(&r.try_get::<String, _>("role")?, r.try_get("org_id")?))
        .collect()
}

/// A grant as stored: org 0 means none.
fn grant_from(role: &str, org: i64) -> StoreResult<Grant> {
    Grant::from_row(role, (org != 0).then_some(org))
        .ok_or_else(|| StoreError::Corrupt(format!("grant {role}/{org}")))
}

/// What kind of bearer secret a credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    Session,
    ApiKey,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Session => "session",
            CredentialKind::ApiKey => "api_key",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CredentialRow {
    pub id: SessionId,
    pub account_id: AccountId,
    pub kind: CredentialKind,
    pub label: String,
    pub created_at_ms: i64,
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    pub account_disabled: bool,
}

fn credential_from(r: &sqlx::any::AnyRow) -> StoreResult<CredentialRow> {
    let kind: String = r.try_get("kind")?;
    Ok(CredentialRow {
        id: SessionId(r.try_get("id")?),
        account_id: AccountId(r.try_get("account_id")?),
        kind: if kind == "api_key" {
            CredentialKind::ApiKey
        } else {
            CredentialKind::Session
        },
        label: r.try_get("label")?,
        created_at_ms: r.try_get("created_at_ms")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
        account_disabled: r.try_get::<i64, _>("disabled")? != 0,
    })
}

const CREDENTIAL_SELECT: &str =
    "SELECT c.id, c.account_id, c.kind, c.label, c.created_at_ms, c.expires_at_ms, \
     c.revoked_at_ms, a.disabled FROM credentials c JOIN accounts a ON a.id = c.account_id";

pub async fn insert_credential<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
    kind: CredentialKind,
    label: &str,
    secret_hash: &str,
    now_ms: i64,
    expires_at_ms: Option<i64>,
) -> StoreResult<SessionId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO credentials (account_id, kind, label, secret_hash, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(account.0)
    .bind(kind.as_str())
    .bind(label)
    .bind(secret_hash)
    .bind(now_ms)
    .bind(expires_at_ms)
    .fetch_one(ex)
    .await?;
    Ok(SessionId(id))
}

pub async fn credential_by_hash<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    secret_hash: &str,
) -> StoreResult<Option<CredentialRow>> {
    let row = sqlx::query(&format!("{CREDENTIAL_SELECT} WHERE c.secret_hash = $1"))
        .bind(secret_hash)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(credential_from).transpose()
}

/// Credentials with their accounts' grants, by secret hash, in one query:
/// bearers seen for the first time at once (every buyer of a flash sale)
/// cost one read together. Hashes not found are absent from the map.
pub async fn credentials_with_grants<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    secret_hashes: &[&str],
) -> StoreResult<HashMap<String, (CredentialRow, Vec<Grant>)>> {
    let mut found: HashMap<String, (CredentialRow, Vec<Grant>)> = HashMap::new();
    if secret_hashes.is_empty() {
        return Ok(found);
    }
    let select = CREDENTIAL_SELECT.replacen(" FROM ", ", c.secret_hash, g.role, g.org_id FROM ", 1);
    let marks: Vec<String> = (1..=secret_hashes.len()).map(|i| format!("${i}")).collect();
    let text = format!(
        "{select} LEFT JOIN grants g ON g.account_id = c.account_id \
         WHERE c.secret_hash IN ({}) ORDER BY c.id, g.role, g.org_id",
        marks.join(", ")
    );
    let mut q = sqlx::query(&text);
    for h in secret_hashes {
        q = q.bind(*h);
    }
    for r in &q.fetch_all(ex).await? {
        let hash: String = r.try_get("secret_hash")?;
        let (_, grants) = match found.entry(hash) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert((credential_from(r)?, Vec::new()))
            }
        };
        // No grant: the LEFT JOIN's one row has NULLs.
        if let Some(role) = r.try_get::<Option<String>, _>("role")? {
            grants.push(grant_from(
                &role,
                r.try_get::<Option<i64>, _>("org_id")?.unwrap_or(0),
            )?);
        }
    }
    Ok(found)
}

pub async fn credential_by_id<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: SessionId,
) -> StoreResult<Option<CredentialRow>> {
    let row = sqlx::query(&format!("{CREDENTIAL_SELECT} WHERE c.id = $1"))
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(credential_from).transpose()
}

pub async fn credentials_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
) -> StoreResult<Vec<CredentialRow>> {
    let rows = sqlx::query(&format!(
        "{CREDENTIAL_SELECT} WHERE c.account_id = $1 AND c.revoked_at_ms IS NULL ORDER BY c.id"
    ))
    .bind(account.0)
    .fetch_all(ex)
    .await?;
    rows.iter().map(credential_from).collect()
}

/// Marks a credential revoked; returns false if it was already revoked or absent.
pub async fn revoke_credential<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: SessionId,
    now_ms: i64,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE credentials SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(now_ms)
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Revokes every live credential of an account (sign out everywhere, or disable).
pub async fn revoke_all_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    account: AccountId,
    now_ms: i64,
) -> StoreResult<u64> {
    let r = sqlx::query(
        "UPDATE credentials SET revoked_at_ms = $1 WHERE account_id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(now_ms)
    .bind(account.0)
    .execute(ex)
    .await?;
    Ok(r.rows_affected())
}

/// Advisory-lock namespace for one-time-code work ("otp!" as a 32-bit number).
const OTP_LOCK_CLASS: i32 = 0x6f74_7021;

/// Serialises one-time-code work for `phone` until `tx` ends, so that the
/// send limits and the attempt count are checked and updated as one step even
/// when requests race. PostgreSQL takes a transaction-scoped advisory lock on
/// the phone; SQLite's `BEGIN IMMEDIATE` already holds the database's write lock.
pub async fn lock_phone(tx: &mut WriteTx, dialect: Dialect, phone: &str) -> StoreResult<()> {
    if dialect == Dialect::Postgres {
        // The lock function returns void, which the Any driver cannot decode: select around it.
        sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1, hashtext($2))) AS l")
            .bind(OTP_LOCK_CLASS)
            .bind(phone)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

pub async fn insert_otp<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    phone: &str,
    code_hash: &str,
    now_ms: i64,
    expires_at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO otp_codes (phone, code_hash, created_at_ms, expires_at_ms, attempts, consumed) \
         VALUES ($1, $2, $3, $4, 0, 0)",
    )
    .bind(phone)
    .bind(code_hash)
    .bind(now_ms)
    .bind(expires_at_ms)
    .execute(ex)
    .await?;
    Ok(())
}

/// Send times of codes to `phone` since `since_ms`, oldest first.
pub async fn otp_sends_since<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    phone: &str,
    since_ms: i64,
) -> StoreResult<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT created_at_ms FROM otp_codes WHERE phone = $1 AND created_at_ms >= $2 ORDER BY created_at_ms",
    )
    .bind(phone)
    .bind(since_ms)
    .fetch_all(ex)
    .await?)
}

/// The newest code sent to `phone`, with its row id.
pub async fn latest_otp<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    phone: &str,
) -> StoreResult<Option<(i64, IssuedCode)>> {
    let row = sqlx::query(
        "SELECT id, code_hash, expires_at_ms, attempts, consumed FROM otp_codes \
         WHERE phone = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(phone)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get("id")?,
            IssuedCode {
                code_hash: r.try_get("code_hash")?,
                expires_at_ms: r.try_get("expires_at_ms")?,
                attempts: r.try_get("attempts")?,
                consumed: r.try_get::<i64, _>("consumed")? != 0,
            },
        ))
    })
    .transpose()
}

pub async fn count_otp_attempt<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Consumes a code once: of two racing verifications only one gets `true`.
pub async fn consume_otp<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> StoreResult<bool> {
    let r = sqlx::query("UPDATE otp_codes SET consumed = 1 WHERE id = $1 AND consumed = 0")
        .bind(id)
        .execute(ex)
        .await?;
    Ok(r.rows_affected() == 1)
}
