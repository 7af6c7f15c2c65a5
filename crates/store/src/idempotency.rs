//! Stored results of mutating requests (Stripe-style idempotency keys).

use crate::error::StoreResult;
use crate::sql::SqlBuilder;
use sqlx::{Any, AnyConnection, Executor, Row};

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

/// Writes finished responses, many rows per statement.
pub async fn save(conn: &mut AnyConnection, records: &[&Record]) -> StoreResult<()> {
    for chunk in records.chunks(200) {
        let mut q = SqlBuilder::new(
            "INSERT INTO idempotency_keys (scope, key, request_hash, state, status_code, content_type, body, created_at_ms) VALUES ",
        );
        let mut rows = Vec::with_capacity(chunk.len());
        for r in chunk {
            let p = [
                q.bind(r.scope.clone())?,
                q.bind(r.key.clone())?,
                q.bind(r.request_hash.clone())?,
                q.bind(i64::from(r.status_code))?,
                q.bind(r.content_type.clone())?,
                q.bind(r.body.clone())?,
                q.bind(r.created_at_ms)?,
            ];
            rows.push(format!(
                "({}, {}, {}, 'done', {}, {}, {}, {})",
                p[0], p[1], p[2], p[3], p[4], p[5], p[6]
            ));
        }
        q.text.push_str(&rows.join(", "));
        q.text.push_str(
            " ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'done', \
             status_code = excluded.status_code, content_type = excluded.content_type, body = excluded.body, \
             created_at_ms = excluded.created_at_ms",
        );
        sqlx::query_with(&q.text_for(conn.backend_name()), q.args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
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
