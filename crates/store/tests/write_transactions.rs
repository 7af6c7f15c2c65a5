//! Repository-level checks on both databases: migrations apply twice without
//! harm, read-then-write transactions do not lose updates under concurrency,
//! and stored idempotency keys page out whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use souk_store::{catalog, Db};

async fn sqlite() -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    // A nested folder that does not exist yet: the store creates it.
    let db = Db::connect(
        &format!("sqlite://{}/nested/souk.db", dir.path().display()),
        8,
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    (db, dir)
}

async fn postgres() -> Option<Db> {
    use sqlx::Connection;
    let server = match std::env::var("SOUK_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            if std::env::var("SOUK_REQUIRE_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0") {
                panic!("SOUK_REQUIRE_POSTGRES is set but SOUK_TEST_POSTGRES_URL is not");
            }
            eprintln!("skipping PostgreSQL test: set SOUK_TEST_POSTGRES_URL to run it");
            return None;
        }
    };
    let name = format!("souk_store_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&server).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let base = &server[..server.rfind('/').unwrap()];
    let db = Db::connect(&format!("{base}/{name}"), 8).await.unwrap();
    db.migrate().await.unwrap();
    Some(db)
}

/// 40 tasks each read a row and write back its value + 1 inside one write
/// transaction. With a deferred BEGIN on SQLite some would fail with
/// SQLITE_BUSY_SNAPSHOT; with BEGIN IMMEDIATE (SQLite) and a row lock
/// (PostgreSQL, SELECT … FOR UPDATE) every one succeeds and none is lost.
async fn read_then_write_loses_nothing(db: Db) {
    let supplier = catalog::insert_supplier(db.pool(), "Counter Co", "", 0)
        .await
        .unwrap();
    let for_update = match db.dialect() {
        souk_store::Dialect::Sqlite => "",
        souk_store::Dialect::Postgres => " FOR UPDATE",
    };
    let sql = format!("SELECT contact_email FROM suppliers WHERE id = $1{for_update}");
    let tasks = (0..40).map(|_| {
        let db = db.clone();
        let sql = sql.clone();
        tokio::spawn(async move {
            let mut tx = db.begin_write().await.unwrap();
            let v: String = sqlx::query_scalar(&sql)
                .bind(supplier.0)
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            let n: i64 = v.parse().unwrap_or(0);
            tokio::task::yield_now().await;
            sqlx::query("UPDATE suppliers SET contact_email = $1 WHERE id = $2")
                .bind((n + 1).to_string())
                .bind(supplier.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            souk_store::commit(tx).await.unwrap();
        })
    });
    for t in futures::future::join_all(tasks).await {
        t.unwrap();
    }
    let row = catalog::supplier(db.pool(), supplier)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.contact_email, "40");
}

/// Stored idempotency keys read page by page (as a starting node loads
/// them): every key within the window once, in key order, none older.
async fn idempotency_keys_page_out_whole(db: Db) {
    use souk_store::idempotency::{keys_page, save_step, Record};
    let mut steps = Vec::new();
    for (scope, key, at) in [
        ("b", "2", 100),
        ("a", "9", 100),
        ("b", "1", 100),
        ("a", "10", 100),
        ("c", "1", 5),
        ("a", "1", 100),
    ] {
        steps.push(save_step(Record {
            scope: scope.into(),
            key: key.into(),
            request_hash: "h".into(),
            status_code: 201,
            content_type: None,
            body: Vec::new(),
            created_at_ms: at,
        }));
    }
    let mut tx = db.begin_write().await.unwrap();
    souk_store::sql::execute_all(&mut tx, souk_store::batch::to_builders(steps).unwrap())
        .await
        .unwrap();
    souk_store::commit(tx).await.unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = keys_page(db.pool(), 50, after.as_ref(), 2).await.unwrap();
        seen.extend(page.iter().cloned());
        if page.len() < 2 {
            break;
        }
        after = page.last().cloned();
    }
    let pairs: Vec<(&str, &str)> = seen.iter().map(|(s, k)| (s.as_str(), k.as_str())).collect();
    assert_eq!(
        pairs,
        vec![("a", "1"), ("a", "10"), ("a", "9"), ("b", "1"), ("b", "2")]
    );
}

#[tokio::test]
async fn sqlite_idempotency_keys_page_out_whole() {
    let (db, _dir) = sqlite().await;
    idempotency_keys_page_out_whole(db).await;
}

#[tokio::test]
async fn postgres_idempotency_keys_page_out_whole() {
    if let Some(db) = postgres().await {
        idempotency_keys_page_out_whole(db).await;
    }
}

async fn migrations_are_idempotent(db: Db) {
    db.migrate().await.unwrap();
    db.migrate().await.unwrap();
    db.ping().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_read_then_write_loses_nothing() {
    let (db, _dir) = sqlite().await;
    read_then_write_loses_nothing(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_read_then_write_loses_nothing() {
    if let Some(db) = postgres().await {
        read_then_write_loses_nothing(db).await;
    }
}

#[tokio::test]
async fn sqlite_migrations_are_idempotent() {
    let (db, _dir) = sqlite().await;
    migrations_are_idempotent(db).await;
}

#[tokio::test]
async fn postgres_migrations_are_idempotent() {
    if let Some(db) = postgres().await {
        migrations_are_idempotent(db).await;
    }
}

#[tokio::test]
async fn sqlite_pragmas_are_set() {
    let (db, _dir) = sqlite().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    // 2 = FULL
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(sync, 2);
}

#[tokio::test]
async fn unsupported_url_is_refused() {
    assert!(Db::connect("mysql://localhost/x", 1).await.is_err());
}
