//! Idempotency keys with Stripe's semantics, in one place.
//!
//! The first request with a key runs and its response is stored; a retry
//! with the same key and the same request gets the stored response back
//! byte for byte; the same key with a different request is refused; a retry
//! that arrives while the first is still running is refused with 409.
//!
//! Requests in flight are tracked in memory (this node runs them); finished
//! responses are written by one writer task in batches (group commit), and a
//! response is sent only after its record is durable. Claiming a key costs no
//! disk write, and a thousand finished requests cost one fsync, not a thousand.

use crate::clock::Clock;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_store::idempotency::{self as repo, Record};
use souk_store::Db;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// A first request still "in flight" after this long is taken to have died,
/// and a retry of the same request may run it again.
const STALE_AFTER_MS: i64 = 60_000;
/// Stored results are kept this long.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;
/// Most records written in one transaction.
const MAX_BATCH: usize = 512;
const QUEUE_DEPTH: usize = 8192;

type Key = (String, String);

pub struct Idempotency {
    db: Db,
    clock: Arc<dyn Clock>,
    /// (scope, key) → (request hash, started at).
    in_flight: DashMap<Key, (String, i64)>,
    writer: mpsc::Sender<(Record, oneshot::Sender<DomainResult<()>>)>,
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
    /// Starts the writer task.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        let (writer, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(write_batches(db.clone(), rx));
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
        let result = match self.writer.send((record, tx)).await {
            Ok(()) => rx
                .await
                .unwrap_or_else(|_| Err(DomainError::internal("idempotency writer stopped"))),
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

/// The group-commit writer of finished responses.
async fn write_batches(
    db: Db,
    mut rx: mpsc::Receiver<(Record, oneshot::Sender<DomainResult<()>>)>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let records: Vec<&Record> = batch.iter().map(|(r, _)| r).collect();
        let result: DomainResult<()> = async {
            let mut tx = db.begin_write().await?;
            repo::save(&mut tx, &records).await?;
            souk_store::commit(tx).await?;
            Ok(())
        }
        .await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "idempotency records could not be written");
        }
        for (_, reply) in batch {
            let _ = reply.send(result.clone());
        }
    }
}
