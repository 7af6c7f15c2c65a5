//! Stored results of mutating requests (Stripe-style idempotency keys).

use crate::batch::{Shape, Step};
use crate::error::StoreResult;
use sqlx::{Any, Executor, Row};

/// A finished request's response, kept for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub scope: String,
    pub key: String,
    pub request_hash: String,
    pub status_code: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    pub created_at_ms: i64,
}

pub async fn load<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &str,
    key: &str,
) -> StoreResult<Option<Record>> {
    let row = sqlx::query(
        "SELECT request_hash, status_code, content_type, body, created_at_ms \
         FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'done'",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let status: i64 = r.try_get::<Option<i64>, _>("status_code")?.unwrap_or(500);
    Ok(Some(Record {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_hash: r.try_get("request_hash")?,
        status_code: u16::try_from(status).unwrap_or(500),
        content_type: r.try_get("content_type")?,
        body: r.try_get::<Option<Vec<u8>>, _>("body")?.unwrap_or_default(),
        created_at_ms: r.try_get("created_at_ms")?,
    }))
}

static RECORD: Shape = Shape::Insert {
    table: "idempotency_keys",
    columns: "scope, key, request_hash, state, status_code, content_type, body, created_at_ms",
    cols: 8,
    tail: " ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'done', \
           status_code = excluded.status_code, content_type = excluded.content_type, body = excluded.body, \
           created_at_ms = excluded.created_at_ms",
    key: 0,
};

/// The statement that stores a finished response, for [`crate::batch::Writer`].
pub fn save_step(r: Record) -> Step {
    Step {
        shape: &RECORD,
        values: vec![
            r.scope.into(),
            r.key.into(),
            r.request_hash.into(),
            "done".into(),
            i64::from(r.status_code).into(),
            r.content_type.into(),
            r.body.into(),
            r.created_at_ms.into(),
        ],
    }
}

/// One page of the (scope, key) pairs stored at or after `since_ms`, in key
/// order after `after` (the last pair of the page before; `None` first).
pub async fn keys_page<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    since_ms: i64,
    after: Option<&(String, String)>,
    limit: i64,
) -> StoreResult<Vec<(String, String)>> {
    let (scope, key) = after
        .map(|(s, k)| (s.as_str(), k.as_str()))
        .unwrap_or(("", ""));
    let rows = sqlx::query(
        "SELECT scope, key FROM idempotency_keys \
         WHERE (scope, key) > ($1, $2) AND created_at_ms >= $3 \
         ORDER BY scope, key LIMIT $4",
    )
    .bind(scope)
    .bind(key)
    .bind(since_ms)
    .bind(limit)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("scope")?, r.try_get("key")?)))
        .collect()
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
