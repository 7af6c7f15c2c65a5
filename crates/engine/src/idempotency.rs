//! Idempotency keys with Stripe's semantics, in one place.
//!
//! The first request with a key runs and its response is stored; a retry
//! with the same key and the same request gets the stored response back
//! byte for byte; the same key with a different request is refused; a retry
//! that arrives while the first is still running is refused with 409.

use crate::clock::Clock;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_store::idempotency::{self as repo, Stored};
use souk_store::Db;
use std::sync::Arc;

/// A first request still "in flight" after this long is taken to have died
/// with its process, and a retry may run it again.
const STALE_AFTER_MS: i64 = 60_000;
/// Stored results are kept this long.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

pub struct Idempotency {
    db: Db,
    clock: Arc<dyn Clock>,
}

/// What to do with a request that carries a key.
#[derive(Debug)]
pub enum Begin {
    /// Run it, then call [`Idempotency::finish`] or [`Idempotency::abandon`].
    Run,
    /// Send this stored response instead of running it.
    Replay {
        status_code: u16,
        content_type: Option<String>,
        body: Vec<u8>,
    },
}

/// Checks an `Idempotency-Key` header value: 1 to 255 visible ASCII characters.
pub fn parse_key(raw: &str) -> DomainResult<&str> {
    if raw.is_empty() || raw.len() > 255 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::new(
            ErrorCode::InvalidIdempotencyKey,
            "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is ideal).",
        ));
    }
    Ok(raw)
}

fn reused() -> DomainError {
    DomainError::new(
        ErrorCode::IdempotencyKeyReused,
        "This Idempotency-Key was used with a different request; use a new key for a new request.",
    )
}

impl Idempotency {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }

    pub async fn begin(&self, scope: &str, key: &str, request_hash: &str) -> DomainResult<Begin> {
        let now = self.clock.now_ms();
        if repo::claim(self.db.pool(), scope, key, request_hash, now).await? {
            return Ok(Begin::Run);
        }
        match repo::load(self.db.pool(), scope, key).await? {
            // Released between our claim and load: try once more.
            None => {
                if repo::claim(self.db.pool(), scope, key, request_hash, now).await? {
                    Ok(Begin::Run)
                } else {
                    Err(in_flight())
                }
            }
            Some(Stored::Done {
                request_hash: h, ..
            }) if h != request_hash => Err(reused()),
            Some(Stored::Done {
                status_code,
                content_type,
                body,
                ..
            }) => Ok(Begin::Replay {
                status_code,
                content_type,
                body,
            }),
            Some(Stored::InFlight {
                request_hash: h, ..
            }) if h != request_hash => Err(reused()),
            Some(Stored::InFlight { started_at_ms, .. }) => {
                if now - started_at_ms > STALE_AFTER_MS
                    && repo::take_over_stale(
                        self.db.pool(),
                        scope,
                        key,
                        request_hash,
                        now - STALE_AFTER_MS,
                        now,
                    )
                    .await?
                {
                    Ok(Begin::Run)
                } else {
                    Err(in_flight())
                }
            }
        }
    }

    /// Stores the response of a request that ran.
    pub async fn finish(
        &self,
        scope: &str,
        key: &str,
        status_code: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> DomainResult<()> {
        repo::complete(self.db.pool(), scope, key, status_code, content_type, body).await?;
        Ok(())
    }

    /// Forgets the key of a request that failed on the server, so it may be retried.
    pub async fn abandon(&self, scope: &str, key: &str) -> DomainResult<()> {
        repo::release(self.db.pool(), scope, key).await?;
        Ok(())
    }

    /// Deletes stored results past retention; returns how many.
    pub async fn purge(&self) -> DomainResult<u64> {
        Ok(repo::purge_before(self.db.pool(), self.clock.now_ms() - RETENTION_MS).await?)
    }
}

fn in_flight() -> DomainError {
    DomainError::new(
        ErrorCode::IdempotencyKeyInFlight,
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )
}
