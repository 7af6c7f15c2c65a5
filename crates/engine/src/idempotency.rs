//! Idempotency keys with Stripe's semantics, in one place.
//!
//! The first request with a key runs and its response is stored; a retry
//! with the same key and the same request gets the stored response back
//! byte for byte; the same key with a different request is refused; a retry
//! that arrives while the first is still running is refused with 409.
//!
//! Requests in flight are tracked in memory (this node runs them); finished
//! responses go to the node's group-commit log (`souk_store::batch::Writer`,
//! shared with the stock owner), and a response is sent only after its record
//! is durable. Claiming a key costs no disk write, and a thousand finished
//! requests cost one fsync, not a thousand.

use crate::clock::Clock;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_store::batch::Writer;
use souk_store::idempotency::{self as repo, Record};
use souk_store::Db;
use std::sync::Arc;
use tokio::sync::oneshot;

/// A first request still "in flight" after this long is taken to have died,
/// and a retry of the same request may run it again.
const STALE_AFTER_MS: i64 = 60_000;
/// Stored results are kept this long.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

type Key = (String, String);

pub struct Idempotency {
    db: Db,
    clock: Arc<dyn Clock>,
    /// (scope, key) → (request hash, started at).
    in_flight: DashMap<Key, (String, i64)>,
    writer: Writer,
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

fn in_flight() -> DomainError {
    DomainError::new(
        ErrorCode::IdempotencyKeyInFlight,
        "A request with this Idempotency-Key is still being processed; retry shortly.",
    )
}

impl Idempotency {
    /// Stores finished responses through `writer`.
    pub fn new(db: Db, writer: Writer, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            clock,
            in_flight: DashMap::new(),
            writer,
        }
    }

    pub async fn begin(&self, scope: &str, key: &str, request_hash: &str) -> DomainResult<Begin> {
        let now = self.clock.now_ms();
        let k: Key = (scope.to_owned(), key.to_owned());
        match self.in_flight.entry(k.clone()) {
            Entry::Occupied(mut e) => {
                let (hash, started) = e.get().clone();
                if hash != request_hash {
                    return Err(reused());
                }
                if now - started <= STALE_AFTER_MS {
                    return Err(in_flight());
                }
                // Taken to have died: this retry runs it again.
                e.insert((hash, now));
            }
            Entry::Vacant(e) => {
                e.insert((request_hash.to_owned(), now));
            }
        }
        match repo::load(self.db.pool(), scope, key).await {
            Ok(None) => Ok(Begin::Run),
            Ok(Some(done)) => {
                self.in_flight.remove(&k);
                if done.request_hash != request_hash {
                    return Err(reused());
                }
                Ok(Begin::Replay {
                    status_code: done.status_code,
                    content_type: done.content_type,
                    body: done.body,
                })
            }
            Err(e) => {
                self.in_flight.remove(&k);
                Err(e.into())
            }
        }
    }

    /// Stores the response of a request that ran; returns once it is durable.
    pub async fn finish(
        &self,
        scope: &str,
        key: &str,
        status_code: u16,
        content_type: Option<&str>,
        body: &[u8],
    ) -> DomainResult<()> {
        let k: Key = (scope.to_owned(), key.to_owned());
        let Some(request_hash) = self.in_flight.get(&k).map(|e| e.0.clone()) else {
            return Err(DomainError::internal(
                "finished an idempotent request that was not begun",
            ));
        };
        let record = Record {
            scope: k.0.clone(),
            key: k.1.clone(),
            request_hash,
            status_code,
            content_type: content_type.map(str::to_owned),
            body: body.to_vec(),
            created_at_ms: self.clock.now_ms(),
        };
        let (tx, rx) = oneshot::channel();
        // A stored response stands alone: no epoch, never refused for a
        // stock batch's failure.
        self.writer.submit(
            None,
            vec![repo::save_step(record)],
            Box::new(move |written| {
                let _ = tx.send(written);
            }),
        );
        let result = match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "idempotency record could not be written");
                Err(DomainError::internal(
                    "idempotency record could not be written",
                ))
            }
            Err(_) => Err(DomainError::internal("idempotency writer stopped")),
        };
        self.in_flight.remove(&k);
        result
    }

    /// Forgets the key of a request that failed on the server, so it may be retried.
    pub async fn abandon(&self, scope: &str, key: &str) -> DomainResult<()> {
        self.forget(scope, key);
        Ok(())
    }

    /// Stops holding a key in flight (sync, for drop guards).
    pub fn forget(&self, scope: &str, key: &str) {
        self.in_flight.remove(&(scope.to_owned(), key.to_owned()));
    }

    /// Deletes stored results past retention; returns how many.
    pub async fn purge(&self) -> DomainResult<u64> {
        Ok(repo::purge_before(self.db.pool(), self.clock.now_ms() - RETENTION_MS).await?)
    }
}
