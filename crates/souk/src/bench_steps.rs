//! The reservation step of the flash sale, swappable: what a user would pick
//! instead of souk, and souk itself, behind one small trait.
//!
//! - `pg-update`: plain PostgreSQL, one conditional `UPDATE` per attempt on
//!   one hot row (its own small table, straight through a `PgPool`);
//! - `redis` / `redis-aof`: a Lua check-and-decrement script, without
//!   persistence, and with `appendonly yes` + `appendfsync always`;
//! - `souk`: souk's stock owner (single writer, group commit), on whichever
//!   database the bench was given.
//!
//! Each step is measured bare (an in-process loop, N tasks at once) and behind
//! the same thin HTTP endpoint (`POST /api/v1/reservations`, souk's bearer
//! auth and JSON extractors), so the difference between the two is HTTP.

use anyhow::{bail, Context};
use souk_core::error::ErrorCode;
use souk_core::ids::{AccountId, SkuId};
use souk_core::stock::Fulfilment;
use souk_engine::stock::{Actor, ReserveRequest, DEFAULT_HOLD_MS};
use souk_engine::Services;
use std::future::Future;

/// What one attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserved {
    /// Held; the id of the reservation (or of the unit, where the step has no rows).
    Held {
        id: i64,
        location: i64,
    },
    SoldOut,
}

/// What the step's own store says after the run.
#[derive(Debug, Clone, Copy)]
pub struct StepCheck {
    /// Units the store says are held.
    pub held_units: i64,
    /// Units the store had on hand.
    pub on_hand: i64,
    /// Accepted ids the store cannot find (acknowledged but lost).
    pub lost: usize,
    /// The step's own consistency check (souk: ledger rebuild; others: none).
    pub consistent: bool,
}

/// One way to take a unit of the SKU on sale.
pub trait ReserveStep: Send + Sync + 'static {
    /// Reserves `qty` units for `buyer`.
    fn reserve(
        &self,
        buyer: AccountId,
        qty: i64,
    ) -> impl Future<Output = anyhow::Result<Reserved>> + Send;

    /// Checks the store against the accepted ids.
    fn check(&self, accepted: &[i64]) -> impl Future<Output = anyhow::Result<StepCheck>> + Send;

    /// Undoes what setting up the step changed outside souk (Redis config).
    fn restore(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async { Ok(()) }
    }
}

// ---------------------------------------------------------------- PostgreSQL

/// `UPDATE stock SET reserved = reserved + 1 WHERE sku = $1 AND on_hand - reserved >= 1`,
/// one transaction (an autocommit statement) per attempt.
pub struct PgUpdate {
    pool: sqlx::PgPool,
    sku: i64,
    units: i64,
}

impl PgUpdate {
    pub async fn setup(url: &str, units: i64, connections: u32) -> anyhow::Result<Self> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(connections)
            .min_connections(connections)
            .connect(url)
            .await
            .with_context(|| format!("connecting to {url}"))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS souk_bench_stock (sku BIGINT PRIMARY KEY, \
             on_hand BIGINT NOT NULL, reserved BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await?;
        sqlx::query("DELETE FROM souk_bench_stock")
            .execute(&pool)
            .await?;
        let sku = 1;
        sqlx::query("INSERT INTO souk_bench_stock (sku, on_hand, reserved) VALUES ($1, $2, 0)")
            .bind(sku)
            .bind(units)
            .execute(&pool)
            .await?;
        Ok(Self { pool, sku, units })
    }
}

impl ReserveStep for PgUpdate {
    async fn reserve(&self, _buyer: AccountId, qty: i64) -> anyhow::Result<Reserved> {
        let reserved: Option<i64> = sqlx::query_scalar(
            "UPDATE souk_bench_stock SET reserved = reserved + $2 \
             WHERE sku = $1 AND on_hand - reserved >= $2 RETURNING reserved",
        )
        .bind(self.sku)
        .bind(qty)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match reserved {
            Some(n) => Reserved::Held { id: n, location: 0 },
            None => Reserved::SoldOut,
        })
    }

    async fn check(&self, accepted: &[i64]) -> anyhow::Result<StepCheck> {
        let (on_hand, reserved): (i64, i64) =
            sqlx::query_as("SELECT on_hand, reserved FROM souk_bench_stock WHERE sku = $1")
                .bind(self.sku)
                .fetch_one(&self.pool)
                .await?;
        // Each accepted attempt got the unit number it took: all must be distinct and ≤ reserved.
        let lost = accepted.iter().filter(|&&n| n > reserved).count();
        Ok(StepCheck {
            held_units: reserved,
            on_hand: on_hand.min(self.units),
            lost,
            consistent: distinct(accepted),
        })
    }
}

fn distinct(ids: &[i64]) -> bool {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.windows(2).all(|w| w[0] != w[1])
}

// --------------------------------------------------------------------- Redis

/// Check and decrement the units left; on success, number the unit taken.
const LUA: &str = r"
local left = tonumber(redis.call('GET', KEYS[1]) or '0')
local qty = tonumber(ARGV[1])
if left < qty then return -1 end
redis.call('DECRBY', KEYS[1], qty)
return redis.call('INCRBY', KEYS[2], qty)
";

/// A Lua check-and-decrement over one multiplexed (pipelined) connection.
pub struct RedisLua {
    conn: redis::aio::MultiplexedConnection,
    script: redis::Script,
    left_key: String,
    taken_key: String,
    units: i64,
    /// (appendonly, appendfsync) before the run, put back by `restore`.
    saved: Option<(String, String)>,
}

async fn config_get(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
) -> anyhow::Result<String> {
    let v: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(key)
        .query_async(conn)
        .await?;
    v.get(1).cloned().context("CONFIG GET answered nothing")
}

async fn config_set(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    value: &str,
) -> anyhow::Result<()> {
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(key)
        .arg(value)
        .query_async(conn)
        .await?;
    Ok(())
}

/// Waits until Redis is not rewriting its append-only file.
async fn aof_settled(conn: &mut redis::aio::MultiplexedConnection) -> anyhow::Result<()> {
    for _ in 0..600 {
        let info: String = redis::cmd("INFO")
            .arg("persistence")
            .query_async(conn)
            .await?;
        let busy = info.lines().any(|l| {
            l == "aof_rewrite_in_progress:1" || l == "aof_rewrite_scheduled:1" || l == "loading:1"
        });
        if !busy {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("Redis kept rewriting its append-only file for a minute")
}

impl RedisLua {
    pub async fn setup(url: &str, units: i64, aof: bool) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).with_context(|| format!("opening {url}"))?;
        let mut conn = client
            .get_multiplexed_async_connection()
            .await
            .with_context(|| format!("connecting to {url}"))?;
        let run = rand::random::<u32>();
        let (left_key, taken_key) = (
            format!("souk-bench:{run}:left"),
            format!("souk-bench:{run}:taken"),
        );
        let () = redis::cmd("SET")
            .arg(&left_key)
            .arg(units)
            .query_async(&mut conn)
            .await?;
        let saved = if aof {
            let saved = (
                config_get(&mut conn, "appendonly").await?,
                config_get(&mut conn, "appendfsync").await?,
            );
            config_set(&mut conn, "appendfsync", "always").await?;
            config_set(&mut conn, "appendonly", "yes").await?;
            aof_settled(&mut conn).await?;
            Some(saved)
        } else {
            let on: String = config_get(&mut conn, "appendonly").await?;
            if on != "no" {
                bail!("Redis has appendonly={on}; the no-persistence run needs it off");
            }
            None
        };
        let script = redis::Script::new(LUA);
        // Loads the script once, so attempts are EVALSHA.
        let _: i64 = script
            .key(&taken_key)
            .key(format!("souk-bench:{run}:warm"))
            .arg(0)
            .invoke_async(&mut conn)
            .await?;
        Ok(Self {
            conn,
            script,
            left_key,
            taken_key,
            units,
            saved,
        })
    }
}

impl ReserveStep for RedisLua {
    async fn reserve(&self, _buyer: AccountId, qty: i64) -> anyhow::Result<Reserved> {
        let mut conn = self.conn.clone();
        let n: i64 = self
            .script
            .key(&self.left_key)
            .key(&self.taken_key)
            .arg(qty)
            .invoke_async(&mut conn)
            .await?;
        Ok(if n < 0 {
            Reserved::SoldOut
        } else {
            Reserved::Held { id: n, location: 0 }
        })
    }

    async fn check(&self, accepted: &[i64]) -> anyhow::Result<StepCheck> {
        let mut conn = self.conn.clone();
        let left: i64 = redis::cmd("GET")
            .arg(&self.left_key)
            .query_async(&mut conn)
            .await?;
        let taken: i64 = redis::cmd("GET")
            .arg(&self.taken_key)
            .query_async::<Option<i64>>(&mut conn)
            .await?
            .unwrap_or(0);
        let lost = accepted.iter().filter(|&&n| n > taken).count();
        Ok(StepCheck {
            held_units: self.units - left,
            on_hand: self.units,
            lost,
            consistent: taken == self.units - left && distinct(accepted),
        })
    }

    async fn restore(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let () = redis::cmd("DEL")
            .arg(&self.left_key)
            .arg(&self.taken_key)
            .query_async(&mut conn)
            .await?;
        if let Some((appendonly, appendfsync)) = &self.saved {
            aof_settled(&mut conn).await?;
            config_set(&mut conn, "appendonly", appendonly).await?;
            config_set(&mut conn, "appendfsync", appendfsync).await?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------- souk

/// souk's stock owner: decided in memory, written by group commit, answered
/// only once durable.
pub struct Souk {
    pub services: Services,
    pub sku: SkuId,
    pub units: i64,
}

impl ReserveStep for Souk {
    async fn reserve(&self, buyer: AccountId, qty: i64) -> anyhow::Result<Reserved> {
        let r = self
            .services
            .stock
            .reserve(
                Actor {
                    account: buyer,
                    privileged: false,
                },
                ReserveRequest {
                    sku: self.sku,
                    qty,
                    location: None,
                    fulfilment: Fulfilment::DeliverHome {
                        region: String::new(),
                    },
                    channel: "web".into(),
                    hold_ms: DEFAULT_HOLD_MS,
                },
            )
            .await;
        match r {
            Ok(row) => Ok(Reserved::Held {
                id: row.id,
                location: row.location.0,
            }),
            Err(e) if e.code == ErrorCode::OutOfStock => Ok(Reserved::SoldOut),
            Err(e) => Err(anyhow::anyhow!(e.to_string())),
        }
    }

    async fn check(&self, accepted: &[i64]) -> anyhow::Result<StepCheck> {
        let db = &self.services.db;
        let (_, held_units) = souk_store::bulk::reservations_of_sku(db, self.sku.0).await?;
        let stored = souk_store::bulk::existing_reservations(db, accepted).await?;
        let levels = souk_store::stock::levels_of_sku(db.pool(), self.sku).await?;
        let on_hand: i64 = levels.iter().map(|(_, l)| l.on_hand).sum();
        let reserved: i64 = levels.iter().map(|(_, l)| l.reserved).sum();
        let ledger = self
            .services
            .stock
            .check_ledger()
            .await
            .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        Ok(StepCheck {
            held_units,
            on_hand: on_hand.min(self.units),
            lost: accepted.len().saturating_sub(stored),
            consistent: ledger.is_empty() && reserved == held_units && distinct(accepted),
        })
    }
}
