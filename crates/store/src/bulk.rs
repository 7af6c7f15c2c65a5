//! Bulk loading of many rows at once (benchmarks, imports): multi-row inserts
//! in large transactions instead of one statement per row.

use crate::db::Db;
use crate::error::StoreResult;
use crate::sql::SqlBuilder;
use sqlx::Row;
use std::collections::HashMap;

const ROWS: usize = 500;

/// Creates buyer accounts for `phones` with one session each, whose secret
/// hashes are given. Returns the number of accounts created.
pub async fn buyers_with_sessions(
    db: &Db,
    buyers: &[(String, String)],
    now_ms: i64,
    expires_at_ms: i64,
) -> StoreResult<usize> {
    for chunk in buyers.chunks(ROWS * 10) {
        let mut tx = db.begin_write().await?;
        for rows in chunk.chunks(ROWS) {
            let mut q = SqlBuilder::new("INSERT INTO accounts (display_name, phone, email, password_hash, disabled, created_at_ms) VALUES ");
            let mut values = Vec::with_capacity(rows.len());
            for (phone, _) in rows {
                let a = q.bind(format!("Bench buyer {phone}"))?;
                let b = q.bind(phone.clone())?;
                let c = q.bind(now_ms)?;
                values.push(format!("({a}, {b}, NULL, NULL, 0, {c})"));
            }
            q.text.push_str(&values.join(", "));
            sqlx::query_with(&q.text, q.args).execute(&mut *tx).await?;

            let mut q = SqlBuilder::new("SELECT id, phone FROM accounts WHERE phone IN (");
            let mut params = Vec::with_capacity(rows.len());
            for (phone, _) in rows {
                params.push(q.bind(phone.clone())?);
            }
            q.text.push_str(&params.join(", "));
            q.text.push(')');
            let ids: HashMap<String, i64> = sqlx::query_with(&q.text, q.args)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| Ok((r.try_get::<String, _>("phone")?, r.try_get::<i64, _>("id")?)))
                .collect::<StoreResult<_>>()?;

            let mut g = SqlBuilder::new("INSERT INTO grants (account_id, role, org_id) VALUES ");
            let mut c = SqlBuilder::new(
                "INSERT INTO credentials (account_id, kind, label, secret_hash, created_at_ms, expires_at_ms) VALUES ",
            );
            let (mut gv, mut cv) = (Vec::new(), Vec::new());
            for (phone, hash) in rows {
                let Some(id) = ids.get(phone).copied() else {
                    continue;
                };
                let a = g.bind(id)?;
                gv.push(format!("({a}, 'buyer', 0)"));
                let (a, b, t, e) = (
                    c.bind(id)?,
                    c.bind(hash.clone())?,
                    c.bind(now_ms)?,
                    c.bind(expires_at_ms)?,
                );
                cv.push(format!("({a}, 'session', 'bulk', {b}, {t}, {e})"));
            }
            g.text.push_str(&gv.join(", "));
            c.text.push_str(&cv.join(", "));
            sqlx::query_with(&g.text, g.args).execute(&mut *tx).await?;
            sqlx::query_with(&c.text, c.args).execute(&mut *tx).await?;
        }
        crate::db::commit(tx).await?;
    }
    Ok(buyers.len())
}

/// Reservations held or committed for a SKU: (count, units).
pub async fn reservations_of_sku(db: &Db, sku: i64) -> StoreResult<(i64, i64)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(qty), 0) AS BIGINT) AS units FROM reservations \
         WHERE sku_id = $1 AND state IN ('held', 'committed')",
    )
    .bind(sku)
    .fetch_one(db.pool())
    .await?;
    Ok((row.try_get("n")?, row.try_get("units")?))
}

/// Which of `ids` exist as reservations.
pub async fn existing_reservations(db: &Db, ids: &[i64]) -> StoreResult<usize> {
    let mut n = 0;
    for chunk in ids.chunks(ROWS) {
        let mut q = SqlBuilder::new("SELECT COUNT(*) FROM reservations WHERE id IN (");
        let mut params = Vec::with_capacity(chunk.len());
        for id in chunk {
            params.push(q.bind(*id)?);
        }
        q.text.push_str(&params.join(", "));
        q.text.push(')');
        let c: i64 = sqlx::query_scalar_with(&q.text, q.args)
            .fetch_one(db.pool())
            .await?;
        n += usize::try_from(c).unwrap_or(0);
    }
    Ok(n)
}
