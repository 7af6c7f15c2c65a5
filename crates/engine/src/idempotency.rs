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
//!
//! Most keys are new, and a new key costs no read either: [`KnownKeys`], a
//! Bloom filter of every key stored in the last day, answers "never stored"
//! from memory, and only a "maybe" goes to the database. That holds because
//! this node is the only one writing the database's keys (one node per
//! database, as for the stock owner).

use crate::clock::Clock;
use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_store::batch::Writer;
use souk_store::idempotency::{self as repo, Record};
use souk_store::Db;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use tokio::sync::oneshot;

/// A first request still "in flight" after this long is taken to have died,
/// and a retry of the same request may run it again.
const STALE_AFTER_MS: i64 = 60_000;
/// Stored results are kept this long.
pub const RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

type Key = (String, String);

/// Keys each generation of [`KnownKeys`] is sized for; past that its false
/// "maybe"s grow, and they only cost a read.
const KEYS_PER_GENERATION: usize = 4_000_000;
/// Keys read per query while loading the stored ones.
const LOAD_PAGE: i64 = 10_000;

/// Every key stored in at least the last [`RETENTION_MS`], as two Bloom
/// filters: keys go into the current one, and both are asked. When the
/// current one is a retention old it becomes the previous one and the old
/// previous one is dropped, so a key is forgotten only once it is past
/// retention. Until the keys stored before this process started are loaded,
/// every key is a "maybe".
pub struct KnownKeys {
    generations: RwLock<Generations>,
    loaded: AtomicBool,
}

struct Generations {
    current: fastbloom::AtomicBloomFilter,
    previous: fastbloom::AtomicBloomFilter,
    current_since_ms: i64,
}

fn generation() -> fastbloom::AtomicBloomFilter {
    fastbloom::AtomicBloomFilter::with_false_pos(0.001).expected_items(KEYS_PER_GENERATION)
}

impl KnownKeys {
    fn new(now_ms: i64) -> Self {
        KnownKeys {
            generations: RwLock::new(Generations {
                current: generation(),
                previous: generation(),
                current_since_ms: now_ms,
            }),
            loaded: AtomicBool::new(false),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Generations> {
        // The filters are atomics: a panic elsewhere cannot leave them half-written.
        self.generations
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers a key (before its record is written: a retry then reads it).
    fn insert(&self, key: &Key, now_ms: i64) {
        if now_ms - self.read().current_since_ms >= RETENTION_MS {
            let mut g = self
                .generations
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if now_ms - g.current_since_ms >= RETENTION_MS {
                g.previous = std::mem::replace(&mut g.current, generation());
                g.current_since_ms = now_ms;
            }
        }
        self.read().current.insert(key);
    }

    /// False only for a key never stored (within retention).
    fn may_hold(&self, key: &Key) -> bool {
        if !self.loaded.load(Ordering::Acquire) {
            return true;
        }
        let g = self.read();
        g.current.contains(key) || g.previous.contains(key)
    }

    /// Reads the keys stored in the last retention into the filter, then
    /// lets it answer.
    async fn load(&self, db: &Db, now_ms: i64) -> DomainResult<u64> {
        let mut after: Option<Key> = None;
        let mut n = 0;
        loop {
            let page = repo::keys_page(db.pool(), now_ms - RETENTION_MS, after.as_ref(), LOAD_PAGE)
                .await?;
            for k in &page {
                self.read().current.insert(k);
            }
            n += page.len() as u64;
            if (page.len() as i64) < LOAD_PAGE {
                break;
            }
            after = page.into_iter().last();
        }
        self.loaded.store(true, Ordering::Release);
        Ok(n)
    }
}

pub struct Idempotency {
    db: Db,
    clock: Arc<dyn Clock>,
    /// (scope, key) → (request hash, started at).
    in_flight: DashMap<Key, (String, i64)>,
    writer: Writer,
    known: Arc<KnownKeys>,
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
    /// Stores finished responses through `writer`; starts loading the keys
    /// stored before (from within a Tokio runtime).
    pub fn new(db: Db, writer: Writer, clock: Arc<dyn Clock>) -> Self {
        let known = Arc::new(KnownKeys::new(clock.now_ms()));
        let (load_db, load_known, now) = (db.clone(), known.clone(), clock.now_ms());
        tokio::spawn(async move {
            match load_known.load(&load_db, now).await {
                Ok(n) => tracing::debug!(keys = n, "stored idempotency keys loaded"),
                // Every key stays a "maybe": correct, one read per request.
                Err(e) => tracing::warn!(error = %e, "could not load stored idempotency keys"),
            }
        });
        Self {
            db,
            clock,
            in_flight: DashMap::new(),
            writer,
            known,
        }
    }

    /// Whether the keys stored before this process started are loaded (until
    /// then every new key costs a read).
    pub fn keys_loaded(&self) -> bool {
        self.known.loaded.load(Ordering::Acquire)
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
        if !self.known.may_hold(&k) {
            return Ok(Begin::Run);
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
        self.known.insert(&k, self.clock.now_ms());
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
