//! A group commit's statements, said once and written by either driver.
//!
//! The stock owner's batch is a list of [`Step`]s: a statement [`Shape`] and
//! its values, handed to the [`Writer`]. On PostgreSQL (and an in-memory
//! SQLite) they go through sqlx, consecutive rows of one INSERT shape merged
//! into multi-row INSERTs. On a SQLite file they go through rusqlite on a
//! thread of their own: no statement text to build and parse per batch, no
//! `Any` argument conversion, no hand-offs inside a transaction (see
//! docs/BENCHMARKS.md, "The stock writer").

use crate::error::{StoreError, StoreResult};
use crate::sql::SqlBuilder;
use std::collections::HashMap;
use std::path::Path;

/// A value both drivers can bind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    Int(i64),
    OptInt(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bytes(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::OptInt(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::OptText(v)
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Int(v) | Value::OptInt(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::OptInt(None) | Value::OptText(None) => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Text(s) | Value::OptText(Some(s)) => {
                ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
            }
            Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

/// What one statement of a batch looks like.
#[derive(Debug)]
pub enum Shape {
    /// `INSERT INTO {table} ({columns}) VALUES (…){tail}`, one row of `cols`
    /// values. Rows of one shape in a row may be sent as one multi-row INSERT.
    Insert {
        table: &'static str,
        columns: &'static str,
        cols: usize,
        tail: &'static str,
        /// 0 for an insert. `k` for an upsert that sets the whole row, keyed
        /// by its first `k` values: in one transaction only the last row of
        /// a key counts, and the SQLite writer skips the earlier ones (a
        /// stock level is written once per group, not once per batch).
        key: usize,
    },
    /// Any other statement, with placeholders `$1 … $n` in order.
    Plain(&'static str),
}

impl Shape {
    /// The statement for one row (an `Insert`) or as it is (`Plain`).
    pub fn one_row(&self) -> String {
        match self {
            Shape::Insert {
                table,
                columns,
                cols,
                tail,
                ..
            } => {
                let marks: Vec<String> = (1..=*cols).map(|i| format!("${i}")).collect();
                format!(
                    "INSERT INTO {table} ({columns}) VALUES ({}){tail}",
                    marks.join(", ")
                )
            }
            Shape::Plain(text) => (*text).to_owned(),
        }
    }
}

/// One statement of a batch with its values, in column order.
#[derive(Debug)]
pub struct Step {
    pub shape: &'static Shape,
    pub values: Vec<Value>,
}

/// Rows per multi-row INSERT: well under both databases' parameter limits.
const ROWS_PER_INSERT: usize = 200;

/// The steps as sqlx statements: consecutive rows of one INSERT shape become
/// one multi-row INSERT of up to [`ROWS_PER_INSERT`] rows.
pub fn to_builders(steps: Vec<Step>) -> StoreResult<Vec<SqlBuilder>> {
    let mut out: Vec<SqlBuilder> = Vec::new();
    // The INSERT being filled (the last of `out`): its shape and rows so far.
    let mut open: Option<(&'static Shape, usize)> = None;
    for step in steps {
        let q = match step.shape {
            Shape::Insert {
                table,
                columns,
                cols,
                ..
            } => {
                let rows = match open {
                    Some((s, rows)) if std::ptr::eq(s, step.shape) && rows < ROWS_PER_INSERT => {
                        rows
                    }
                    _ => {
                        close(&mut out, open.take());
                        out.push(SqlBuilder::new(&format!(
                            "INSERT INTO {table} ({columns}) VALUES "
                        )));
                        0
                    }
                };
                open = Some((step.shape, rows + 1));
                let q = out.last_mut().ok_or_else(|| {
                    StoreError::Corrupt("batch insert without a statement".into())
                })?;
                q.row(rows, *cols);
                q
            }
            Shape::Plain(text) => {
                close(&mut out, open.take());
                out.push(SqlBuilder::new(text));
                out.last_mut().ok_or_else(|| {
                    StoreError::Corrupt("batch statement without a builder".into())
                })?
            }
        };
        for v in step.values {
            bind(q, v)?;
        }
    }
    close(&mut out, open.take());
    Ok(out)
}

/// Ends the multi-row INSERT being filled with its shape's tail.
fn close(out: &mut [SqlBuilder], open: Option<(&'static Shape, usize)>) {
    if let (Some((Shape::Insert { tail, .. }, _)), Some(q)) = (open, out.last_mut()) {
        q.text.push_str(tail);
    }
}

fn bind(q: &mut SqlBuilder, v: Value) -> StoreResult<()> {
    match v {
        Value::Int(i) => q.arg(i),
        Value::OptInt(i) => q.arg(i),
        Value::Text(s) => q.arg(s),
        Value::OptText(s) => q.arg(s),
        Value::Bytes(b) => q.arg(b),
    }
}

/// Called once with the fate of a submitted batch: `Ok` when it is on disk,
/// an error when it never will be. Nothing may be acknowledged before.
pub type Done = Box<dyn FnOnce(StoreResult<()>) + Send>;

enum Job {
    Write {
        /// The owner's epoch; 0 for a batch that depends on no other.
        epoch: u64,
        steps: Vec<Step>,
        done: Done,
    },
    /// Answered once every job sent before it has been written or refused.
    Barrier(tokio::sync::oneshot::Sender<()>),
}

/// Batches one submitter may have in flight on SQLite: in effect no limit
/// (bare flash-sale step, alternating runs: depth 1, 2, 4, 16 gave 30k, 37k,
/// 44k, 50k/s, unbounded 57k/s), only a bound on memory.
const SQLITE_DEPTH: usize = 1024;

/// Most batches written in one transaction when they queue up.
const MAX_GROUP: usize = 64;

/// The node's group-commit log for hot writes (the stock owner's batches,
/// stored idempotent responses): batches go in without waiting, in order;
/// each one's [`Done`] is called once it is durable.
///
/// The owner decides batch N+1 on batch N's figures before N is on disk, so
/// a batch depends on every batch before it. The writer therefore keeps an
/// order and a rule: batches carry the owner's *epoch*, and once a batch of
/// an epoch fails (its transaction), every later batch of that epoch is
/// refused, never written. The owner then moves to a new epoch,
/// waits at a [`Writer::barrier`] and reads the database back. What is on
/// disk is always a prefix of what the owner decided, and nobody was told of
/// a batch outside it.
///
/// On a SQLite file the batches go to a connection of its own on a thread of
/// its own, each statement shape prepared once and stepped per row; batches
/// that queued up meanwhile go in one transaction. That connection commits
/// with `synchronous = NORMAL`: in WAL mode that writes the frames but does
/// not fsync them (checkpoints still sync the WAL before copying it, and the
/// database file before the WAL is reused). Another thread `fdatasync`s
/// the WAL once for every commit that reached it before the call, so the
/// next group is written while the last one syncs; a failed fsync stops the
/// process (see [`sync_loop`]). A WAL's frames are checksummed in a chain: a
/// crash loses a tail of commits, never one from the middle. Other writers
/// meet it at SQLite's write lock.
///
/// On PostgreSQL (and an in-memory SQLite) a task writes them through sqlx,
/// one transaction per group, durable at its commit.
#[derive(Debug, Clone)]
pub struct Writer {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    depth: usize,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Job::Write { epoch, steps, .. } => {
                write!(f, "Write(epoch {epoch}, {} steps)", steps.len())
            }
            Job::Barrier(_) => write!(f, "Barrier"),
        }
    }
}

fn gone() -> StoreError {
    StoreError::GroupCommit("the batch writer has stopped".into())
}

fn refused() -> StoreError {
    StoreError::GroupCommit("an earlier batch failed; this one was not written".into())
}

fn failed_with(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::GroupCommit(e.to_string())
}

impl Writer {
    /// Starts the writer for `db` (from within a Tokio runtime); it stops
    /// when every clone is dropped. A SQLite connection that cannot be opened
    /// fails the batches given to it, and is tried again for the next ones.
    pub fn open(db: &crate::Db) -> Writer {
        let (jobs, rx) = tokio::sync::mpsc::unbounded_channel();
        let depth = match db.sqlite_file() {
            Some(path) => {
                start_sqlite(path, rx);
                SQLITE_DEPTH
            }
            None => {
                tokio::spawn(run_sql(db.clone(), rx));
                1
            }
        };
        Writer { jobs, depth }
    }

    /// Queues a batch. `epoch` is the submitter's epoch for batches that
    /// build on the ones before (the stock owner's), `None` for one that
    /// stands alone (stored idempotent responses): never refused for another
    /// batch's failure. `done` is called from the writer's thread or task.
    pub fn submit(&self, epoch: Option<u64>, steps: Vec<Step>, done: Done) {
        let epoch = epoch.unwrap_or(0);
        if let Err(e) = self.jobs.send(Job::Write { epoch, steps, done }) {
            if let Job::Write { done, .. } = e.0 {
                done(Err(gone()));
            }
        }
    }

    /// How many batches of one submitter may be in flight (submitted, not
    /// yet durable) at once. The stock owner waits for a slot, gathering
    /// commands meanwhile. On SQLite many: batches are written while earlier
    /// ones sync. Through sqlx one, as before the log: the commit is the
    /// sync, and a batch gathered while the last commits is one multi-row
    /// INSERT where pipelined small batches would be many round trips
    /// (souk on PostgreSQL, bare: 4.8k/s pipelined, 12.3k/s at depth 1).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Waits until every batch submitted before has been written or refused.
    pub async fn barrier(&self) -> StoreResult<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs.send(Job::Barrier(tx)).map_err(|_| gone())?;
        rx.await.map_err(|_| gone())
    }
}

/// A group of queued jobs: the batches to write (with their epochs) and the
/// barriers; batches refused are told so while grouping.
struct Group {
    steps: Vec<Vec<Step>>,
    dones: Vec<(u64, Done)>,
    barriers: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Group {
    /// The newest epoch written in this group (0: none).
    fn epoch(&self) -> u64 {
        self.dones.iter().map(|(e, _)| *e).max().unwrap_or(0)
    }
}

/// `first` and what `next` still has ready, up to `max` in all: the one
/// way souk's queues (the log, the stock owner, bearer lookups) take
/// everything waiting as one batch without waiting for more.
pub fn gather<T>(first: T, max: usize, mut next: impl FnMut() -> Option<T>) -> Vec<T> {
    let mut all = vec![first];
    while all.len() < max {
        match next() {
            Some(t) => all.push(t),
            None => break,
        }
    }
    all
}

/// Whether a batch of `epoch` must be refused once `poisoned` failed.
fn is_refused(epoch: u64, poisoned: u64) -> bool {
    epoch != 0 && epoch <= poisoned
}

/// Sorts jobs into a group; batches of an epoch that failed are refused now.
fn group(jobs: Vec<Job>, poisoned: u64) -> Group {
    let mut g = Group {
        steps: Vec::new(),
        dones: Vec::new(),
        barriers: Vec::new(),
    };
    for j in jobs {
        match j {
            Job::Write { epoch, done, .. } if is_refused(epoch, poisoned) => done(Err(refused())),
            Job::Write { epoch, steps, done } => {
                g.steps.push(steps);
                g.dones.push((epoch, done));
            }
            Job::Barrier(b) => g.barriers.push(b),
        }
    }
    g
}

fn tell(dones: Vec<(u64, Done)>, outcome: &StoreResult<()>) {
    for (_, d) in dones {
        d(match outcome {
            Ok(()) => Ok(()),
            Err(e) => Err(failed_with(e)),
        });
    }
}

fn open_sqlite(path: &Path) -> StoreResult<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.execute_batch(crate::db::SQLITE_PRAGMAS)?;
    // The writer's cache stays valid between its own commits: a big one
    // keeps the B-tree walks of a stream of inserts in memory.
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn start_sqlite(path: &Path, mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    let path = path.to_owned();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    let (syncs, sync_rx) = std::sync::mpsc::channel::<Vec<(u64, Done)>>();
    let spawned = std::thread::Builder::new()
        .name("souk-sqlite-sync".into())
        .spawn(move || sync_loop(&wal, &sync_rx));
    let spawned = spawned.and_then(|_| {
        std::thread::Builder::new()
            .name("souk-sqlite-writer".into())
            .spawn(move || {
                // Opened on the first group, again after it failed to open.
                let mut conn: Option<rusqlite::Connection> = None;
                let mut texts: HashMap<*const Shape, String> = HashMap::new();
                // The last epoch a batch failed in.
                let mut poisoned = 0;
                while let Some(first) = rx.blocking_recv() {
                    let g = group(gather(first, MAX_GROUP, || rx.try_recv().ok()), poisoned);
                    if !g.dones.is_empty() {
                        match write_group(&mut conn, &path, &mut texts, &g.steps) {
                            Ok(()) => {
                                if let Err(e) = syncs.send(g.dones) {
                                    tell(e.0, &Err(gone()));
                                }
                            }
                            Err(e) => {
                                poisoned = poisoned.max(g.epoch());
                                tell(g.dones, &Err(e));
                            }
                        }
                    }
                    for b in g.barriers {
                        let _ = b.send(());
                    }
                }
            })
    });
    if let Err(e) = spawned {
        // The receiver was moved into the closure that did not run: every
        // job sent will find the channel closed and be told so.
        tracing::error!(error = %e, "could not start the SQLite batch writer");
    }
}

/// Writes a group in one transaction, opening the connection first if need be.
fn write_group(
    conn: &mut Option<rusqlite::Connection>,
    path: &Path,
    texts: &mut HashMap<*const Shape, String>,
    steps: &[Vec<Step>],
) -> StoreResult<()> {
    let c = match conn {
        Some(c) => c,
        None => {
            texts.clear();
            conn.insert(open_sqlite(path)?)
        }
    };
    write(c, texts, steps.iter().flatten())
}

/// Takes every written group waiting, fsyncs the WAL once, tells them all.
/// (A second sync thread, so that a group written while a sync runs could
/// start its own at once, did not move the bare flash-sale step in
/// alternating runs: 74k, 77k, 72k/s with one; 77k, 73k, 73k/s with two.)
///
/// A failed fsync stops the process. Linux may have dropped the dirty pages
/// it could not write and marked them clean, so a later fsync that succeeds
/// proves nothing about them, and later commits, acknowledged, would sit
/// behind a hole in the WAL that recovery stops at. PostgreSQL panics for
/// the same reason; a restart recovers what is really on disk.
fn sync_loop(wal: &Path, waiting: &std::sync::mpsc::Receiver<Vec<(u64, Done)>>) {
    let mut file: Option<std::fs::File> = None;
    while let Ok(first) = waiting.recv() {
        let mut dones = first;
        for more in waiting.try_iter() {
            dones.extend(more);
        }
        if let Err(e) = sync_wal(wal, &mut file) {
            tracing::error!(error = %e, wal = %wal.display(), "fsync of the WAL failed; stopping so that nothing unsynced is acknowledged");
            std::process::abort();
        }
        tell(dones, &Ok(()));
    }
}

fn sync_wal(wal: &Path, file: &mut Option<std::fs::File>) -> std::io::Result<()> {
    let f = match file {
        Some(f) => f,
        None => file.insert(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(wal)?,
        ),
    };
    f.sync_data()
}

fn write<'a>(
    conn: &mut rusqlite::Connection,
    texts: &mut HashMap<*const Shape, String>,
    steps: impl Iterator<Item = &'a Step>,
) -> StoreResult<()> {
    let steps: Vec<&Step> = steps.collect();
    let skip = overwritten(&steps);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (i, step) in steps.into_iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let text = texts
            .entry(step.shape as *const Shape)
            .or_insert_with(|| step.shape.one_row());
        let mut stmt = tx.prepare_cached(text)?;
        stmt.execute(rusqlite::params_from_iter(step.values.iter()))?;
    }
    // Dropped without commit on an error above: rolled back.
    tx.commit()?;
    Ok(())
}

/// The positions of upserts a later row of the same shape and key
/// overwrites (see `Shape::Insert::key`).
fn overwritten(steps: &[&Step]) -> std::collections::HashSet<usize> {
    let mut seen = std::collections::HashSet::new();
    let mut skip = std::collections::HashSet::new();
    for (i, step) in steps.iter().enumerate().rev() {
        if let Shape::Insert { key, .. } = step.shape {
            if *key > 0 && !seen.insert((step.shape as *const Shape, &step.values[..*key])) {
                skip.insert(i);
            }
        }
    }
    skip
}

/// The writer on sqlx: one transaction per group, durable at its commit.
async fn run_sql(db: crate::Db, mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    let mut poisoned = 0;
    while let Some(first) = rx.recv().await {
        let g = group(gather(first, MAX_GROUP, || rx.try_recv().ok()), poisoned);
        if !g.dones.is_empty() {
            let epoch = g.epoch();
            let batches = g.dones.iter().map(|(e, _)| *e).zip(g.steps).collect();
            let outcome = write_sql(&db, batches).await;
            if outcome.is_err() {
                poisoned = poisoned.max(epoch);
            }
            tell(g.dones, &outcome);
        }
        for b in g.barriers {
            let _ = b.send(());
        }
    }
}

async fn write_sql(db: &crate::Db, batches: Vec<(u64, Vec<Step>)>) -> StoreResult<()> {
    let mut tx = db.begin_write().await?;
    // Each owner batch's statements on their own: two batches' upserts of
    // one level must not meet in one multi-row INSERT (PostgreSQL refuses
    // it). Batches that stand alone (stored responses, one row each, keys
    // unique while in flight) in a row are merged into multi-row INSERTs.
    let mut alone: Vec<Step> = Vec::new();
    for (epoch, steps) in batches {
        if epoch == 0 {
            alone.extend(steps);
            continue;
        }
        if !alone.is_empty() {
            crate::sql::execute_all(&mut tx, to_builders(std::mem::take(&mut alone))?).await?;
        }
        crate::sql::execute_all(&mut tx, to_builders(steps)?).await?;
    }
    if !alone.is_empty() {
        crate::sql::execute_all(&mut tx, to_builders(alone)?).await?;
    }
    crate::commit(tx).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    static ROW: Shape = Shape::Insert {
        table: "t",
        columns: "a, b",
        cols: 2,
        tail: " ON CONFLICT (a) DO NOTHING",
        key: 0,
    };
    static SET: Shape = Shape::Insert {
        table: "t",
        columns: "a, b",
        cols: 2,
        tail: " ON CONFLICT (a) DO UPDATE SET b = excluded.b",
        key: 1,
    };
    static BUMP: Shape = Shape::Plain("UPDATE t SET b = $1 WHERE a = $2");

    fn row(a: i64, b: &str) -> Step {
        Step {
            shape: &ROW,
            values: vec![a.into(), b.into()],
        }
    }

    #[test]
    fn consecutive_rows_of_a_shape_become_one_insert() {
        let steps = vec![
            row(1, "x"),
            row(2, "y"),
            Step {
                shape: &BUMP,
                values: vec!["z".into(), 1.into()],
            },
            row(3, "w"),
        ];
        let texts: Vec<String> = to_builders(steps)
            .unwrap()
            .into_iter()
            .map(|q| q.text)
            .collect();
        assert_eq!(
            texts,
            vec![
                "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING",
                "UPDATE t SET b = $1 WHERE a = $2",
                "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING",
            ]
        );
    }

    #[test]
    fn long_runs_split_at_the_row_limit() {
        let steps = (0..ROWS_PER_INSERT as i64 + 1)
            .map(|i| row(i, "v"))
            .collect();
        let builders = to_builders(steps).unwrap();
        assert_eq!(builders.len(), 2);
        assert!(builders[1]
            .text
            .ends_with("VALUES ($1, $2) ON CONFLICT (a) DO NOTHING"));
    }

    #[test]
    fn one_row_text_numbers_its_placeholders() {
        assert_eq!(
            ROW.one_row(),
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING"
        );
    }

    fn count(conn: &rusqlite::Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    /// Submits a batch; its fate arrives on the receiver.
    fn submit(
        w: &Writer,
        epoch: u64,
        steps: Vec<Step>,
    ) -> tokio::sync::oneshot::Receiver<StoreResult<()>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        w.submit(
            Some(epoch),
            steps,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        );
        rx
    }

    fn set(a: i64, b: &str) -> Step {
        Step {
            shape: &SET,
            values: vec![a.into(), b.into()],
        }
    }

    /// A SQLite file with a table `t (a, b)`, and a log writing to it.
    async fn table_t() -> (tempfile::TempDir, Writer) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/w.db", dir.path().display());
        let db = crate::Db::connect(&url, 2).await.unwrap();
        sqlx::query("CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT NOT NULL)")
            .execute(db.pool())
            .await
            .unwrap();
        (dir, Writer::open(&db))
    }

    #[test]
    fn an_upsert_overwritten_later_in_the_group_is_skipped() {
        let steps = [
            set(1, "a"),
            row(1, "x"),
            set(2, "b"),
            set(1, "c"),
            row(1, "y"),
        ];
        let refs: Vec<&Step> = steps.iter().collect();
        let skip = overwritten(&refs);
        assert_eq!(skip, std::collections::HashSet::from([0]));
    }

    #[tokio::test]
    async fn the_last_upsert_of_a_key_wins_across_batches_of_a_group() {
        let (dir, w) = table_t().await;
        // Submitted without waiting: they queue up and share transactions.
        let fates: Vec<_> = [
            vec![set(1, "a"), set(2, "p")],
            vec![set(1, "b")],
            vec![set(3, "c"), set(1, "d")],
            vec![set(2, "q")],
        ]
        .into_iter()
        .map(|steps| submit(&w, 1, steps))
        .collect();
        for f in fates {
            f.await.unwrap().unwrap();
        }
        let check = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
        let rows: Vec<(i64, String)> = check
            .prepare("SELECT a, b FROM t ORDER BY a")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![(1, "d".into()), (2, "q".into()), (3, "c".into())]
        );
    }

    #[tokio::test]
    async fn a_failed_batch_refuses_the_rest_of_its_epoch() {
        let (dir, w) = table_t().await;
        submit(&w, 1, vec![row(1, "x"), row(2, "y")])
            .await
            .unwrap()
            .unwrap();
        // A NULL into a NOT NULL column fails the batch: its first row is
        // rolled back, and the batch after it, of the same epoch, is refused.
        let bad = Step {
            shape: &ROW,
            values: vec![4.into(), Value::OptInt(None)],
        };
        let failed = submit(&w, 1, vec![row(3, "z"), bad]);
        let after = submit(&w, 1, vec![row(5, "v")]);
        assert!(failed.await.unwrap().is_err());
        assert!(after.await.unwrap().is_err());
        w.barrier().await.unwrap();
        let check = rusqlite::Connection::open(dir.path().join("w.db")).unwrap();
        assert_eq!(count(&check), 2);
        // A new epoch is written again.
        submit(&w, 2, vec![row(6, "u")]).await.unwrap().unwrap();
        assert_eq!(count(&check), 3);
    }
}
