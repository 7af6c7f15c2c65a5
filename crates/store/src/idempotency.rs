//! Stored results of mutating requests (Stripe-style idempotency keys).

use crate::error::StoreResult;
use sqlx::{Any, Executor, Row};

/// What is stored under a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The first request with this key is still running.
    InFlight {
        request_hash: String,
        started_at_ms: i64,
    },
    /// The first request finished; its response is replayed.
    Done {
        request_hash: String,
        status_code: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

/// Claims `key` for a new request. Returns true if this request owns it now.
pub async fn claim<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
    request_hash: &str,
    now_ms: i64,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, state, created_at_ms) \
         VALUES ($1, $2, $3, 'in_flight', $4) ON CONFLICT DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn load<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
) -> StoreResult<Option<Stored>> {
    let row = sqlx::query(
        "SELECT request_hash, state, status_code, content_type, body, created_at_ms \
         FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let state: String = r.try_get("state")?;
    let request_hash: String = r.try_get("request_hash")?;
    Ok(Some(if state == "done" {
        let status: i64 = r.try_get::<Option<i64>, _>("status_code")?.unwrap_or(500);
        Stored::Done {
            request_hash,
            status_code: u16::try_from(status).unwrap_or(500),
            content_type: r.try_get("content_type")?,
            body: r.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
        }
    } else {
        Stored::InFlight {
            request_hash,
            started_at_ms: r.try_get("created_at_ms")?,
        }
    }))
}

pub async fn complete<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
    status_code: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', status_code = $1, content_type = $2, body = $3 \
         WHERE scope = $4 AND key = $5",
    )
    .bind(i64::from(status_code))
    .bind(content_type)
    .bind(body.to_vec())
    .bind(scope)
    .bind(key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Forgets a key whose request failed on the server's side, so a retry runs again.
pub async fn release<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}

/// Takes over a key whose first request has been in flight since before
/// `stale_before_ms` (its process died). Returns true if taken over.
pub async fn take_over_stale<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
    request_hash: &str,
    stale_before_ms: i64,
    now_ms: i64,
) -> StoreResult<bool> {
    let r = sqlx::query(
        "UPDATE idempotency_keys SET created_at_ms = $1 \
         WHERE scope = $2 AND key = $3 AND state = 'in_flight' AND request_hash = $4 AND created_at_ms < $5",
    )
    .bind(now_ms)
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(stale_before_ms)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes keys older than `before_ms` (retention: 24 hours, as Stripe).
pub async fn purge_before<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    before_ms: i64,
) -> StoreResult<u64> {
    let r = sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < $1")
        .bind(before_ms)
        .execute(ex)
        .await?;
    Ok(r.rows_affected())
}
