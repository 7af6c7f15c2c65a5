//! Connection pools, pragmas, migrations and write transactions.

use crate::error::{StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Executor, Transaction};
use std::str::FromStr;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// Every SQLite connection's settings. WAL lets readers run beside the one
/// writer; FULL fsyncs every commit, so an acknowledged write survives power
/// loss. No memory map and SQLite's default page cache: in WAL mode a
/// connection empties its cache whenever another one wrote, so during a
/// flash sale a big cache is only more to empty (`pcache1TruncateUnsafe` in
/// perf), and a growing file makes every mapped connection remap it, whose
/// munmaps' TLB shootdowns cost more than the reads they save (thin HTTP
/// reservation step 4,168 → 6,916/s with `mmap_size = 0`).
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;";

/// A write transaction. On SQLite it was begun with `BEGIN IMMEDIATE`.
pub type WriteTx = Transaction<'static, Any>;

/// The database: a pool and the dialect it speaks.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    dialect: Dialect,
    /// The SQLite file, when there is one (not PostgreSQL, not `:memory:`).
    sqlite_file: Option<std::sync::Arc<std::path::PathBuf>>,
}

static SQLITE_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Db {
    /// Opens `url`: `sqlite://path` (created with its folder if missing) or `postgres://…`.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Db> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let url = match dialect {
            Dialect::Sqlite => sqlite_url(url).await?,
            Dialect::Postgres => url.to_owned(),
        };
        let sqlite_file = (dialect == Dialect::Sqlite)
            .then(|| sqlite_path(&url))
            .flatten()
            .map(std::sync::Arc::new);
        let opts = AnyConnectOptions::from_str(&url)?.disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        conn.execute(SQLITE_PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(opts)
            .await?;
        Ok(Db {
            pool,
            dialect,
            sqlite_file,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// One pooled connection, for a few reads in a row.
    pub async fn acquire(&self) -> StoreResult<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool().acquire().await?)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The SQLite file this database lives in, if it is one.
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.sqlite_file.as_deref().map(|p| p.as_path())
    }

    /// Applies the dialect's pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATOR.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATOR.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock
    /// up front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes fails with SQLITE_BUSY_SNAPSHOT when another writer got in between.
    pub async fn begin_write(&self) -> StoreResult<WriteTx> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Refreshes the planner's statistics. Worth calling after a bulk load:
    /// PostgreSQL plans a search over freshly loaded tables as if they were
    /// empty until autovacuum catches up (seen: 15x slower search).
    pub async fn analyze(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Checks the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A `sqlite://path?query` URL's path and query.
fn split_sqlite_url(url: &str) -> (&str, &str) {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    rest.split_once('?').unwrap_or((rest, ""))
}

/// The file of a SQLite URL; `None` for an in-memory database.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let (path, query) = split_sqlite_url(url);
    let in_memory =
        path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory");
    (!in_memory).then(|| std::path::PathBuf::from(path))
}

/// Makes sure the SQLite file's folder exists and the file is created on first open.
async fn sqlite_url(url: &str) -> StoreResult<String> {
    let (path, query) = split_sqlite_url(url);
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = std::path::Path::new(path).parent() {
            if !parent.as_os_str().is_empty() {
                tokio::fs::create_dir_all(parent).await?;
            }
        }
    }
    let mut params: Vec<&str> = query.split('&').filter(|p| !p.is_empty()).collect();
    if !params.iter().any(|p| p.starts_with("mode=")) {
        params.push("mode=rwc");
    }
    Ok(format!("sqlite://{path}?{}", params.join("&")))
}

/// Bool flags are stored as 0/1 integers in both dialects.
pub fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Commits a write transaction. Nothing is acknowledged before this returns.
pub async fn commit(tx: WriteTx) -> crate::StoreResult<()> {
    tx.commit().await?;
    Ok(())
}
