//! SQL storage for souk, on SQLite (embedded default) or PostgreSQL.
//!
//! One SQL text serves both dialects through sqlx's `Any` driver: both accept
//! `$1` placeholders, `RETURNING`, and `ON CONFLICT`. Where they differ, the
//! repository branches on [`Dialect`]. Migrations are kept per dialect.

pub mod accounts;
pub mod batch;
pub mod bulk;
pub mod catalog;
pub mod coupons;
pub mod db;
pub mod error;
pub mod idempotency;
pub mod locations;
pub mod orders;
pub mod sql;
pub mod stock;

pub use db::{commit, Db, Dialect, WriteTx};
pub use error::{StoreError, StoreResult};
