//! The stock owner: one task on this node is the single writer of all stock.
//!
//! Commands queue to it through a bounded channel. It takes whatever is
//! queued (up to [`MAX_BATCH`]), decides each against its in-memory levels
//! with the pure rules of `souk_core::stock`, writes every resulting movement,
//! level, reservation and transfer in one transaction (group commit), and only
//! then answers the callers. A command that breaks a rule is answered at once
//! and writes nothing. If the commit fails, every caller in the batch gets an
//! error and the in-memory state is dropped and reloaded from the database.

use crate::clock::Clock;
use souk_core::error::{DomainError, DomainResult, ErrorCode};
use souk_core::ids::{AccountId, LocationId, SkuId};
use souk_core::location::LocationKind;
use souk_core::stock::allocation::{self, Source};
use souk_core::stock::{self, Candidate, Command, Fulfilment, HoldState, Level};
use souk_store::batch::Writer;
use souk_store::stock::{
    self as repo, AllocationRow, Batch, MovementRow, ReservationRow, TransferRow,
};
use souk_store::{locations as location_repo, Db};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Most commands decided and written in one transaction.
pub const MAX_BATCH: usize = 1024;
/// Commands waiting for the owner; callers wait (backpressure) beyond this.
const QUEUE_DEPTH: usize = 16_384;
/// How long a reservation holds stock unless the caller says otherwise.
pub const DEFAULT_HOLD_MS: i64 = 15 * 60 * 1000;
/// Longest hold a caller may ask for.
pub const MAX_HOLD_MS: i64 = 24 * 60 * 60 * 1000;
/// Expired holds released per sweep.
const EXPIRE_PER_SWEEP: usize = 1000;

/// Who asks, as far as the owner needs to know.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub account: AccountId,
    /// Operators may release or commit anyone's reservation.
    pub privileged: bool,
}

/// A request to reserve stock.
#[derive(Debug, Clone)]
pub struct ReserveRequest {
    pub sku: SkuId,
    pub qty: i64,
    /// Where to take it from; `None` lets the routing rule choose.
    pub location: Option<LocationId>,
    pub fulfilment: Fulfilment,
    pub channel: String,
    pub hold_ms: i64,
}

#[derive(Debug)]
enum Op {
    Level {
        sku: SkuId,
        location: LocationId,
        cmd: Command,
        note: String,
    },
    Reserve(ReserveRequest),
    Release {
        id: i64,
    },
    Commit {
        id: i64,
    },
    Extend {
        id: i64,
        until_ms: i64,
    },
    TransferStart {
        sku: SkuId,
        from: LocationId,
        to: LocationId,
        qty: i64,
    },
    TransferReceive {
        id: i64,
    },
    ExpireDue,
    AllocationOpen {
        sku: SkuId,
        channel: String,
        qty: i64,
        note: String,
    },
    AllocationClose {
        id: i64,
    },
}

/// What the owner answers.
#[derive(Debug, Clone)]
pub enum Outcome {
    Level {
        sku: SkuId,
        location: LocationId,
        level: Level,
    },
    Reservation(ReservationRow),
    Transfer(TransferRow),
    Expired(usize),
    Allocation(AllocationRow),
}

struct Job {
    op: Op,
    actor: Actor,
    reply: oneshot::Sender<DomainResult<Outcome>>,
}

/// The handle services use to talk to the owner.
pub struct Stock {
    tx: mpsc::Sender<Job>,
    db: Db,
}

fn unavailable() -> DomainError {
    DomainError::new(
        ErrorCode::Unavailable,
        "Stock is briefly unavailable; retry.",
    )
}

impl Stock {
    /// Starts the owner task and the expiry sweep.
    /// `writer` is the node's group-commit log, shared with the other
    /// writers of hot paths (one SQLite connection writes for all of them).
    pub fn start(db: Db, writer: Writer, clock: Arc<dyn Clock>) -> Arc<Stock> {
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let owner = Owner::new(db.clone(), writer, clock);
        tokio::spawn(owner.run(rx));
        let stock = Arc::new(Stock { tx, db });
        let sweeper = Arc::downgrade(&stock);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                tick.tick().await;
                let Some(s) = sweeper.upgrade() else { break };
                let system = Actor {
                    account: AccountId(0),
                    privileged: true,
                };
                if let Err(e) = s.ask(Op::ExpireDue, system).await {
                    tracing::warn!(error = %e, "reservation expiry sweep failed");
                }
            }
        });
        stock
    }

    async fn ask(&self, op: Op, actor: Actor) -> DomainResult<Outcome> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Job { op, actor, reply })
            .await
            .map_err(|_| unavailable())?;
        rx.await.map_err(|_| unavailable())?
    }

    /// Applies a command to one level (receive, adjust, return, POS sale, safety).
    pub async fn change(
        &self,
        actor: Actor,
        sku: SkuId,
        location: LocationId,
        cmd: Command,
        note: String,
    ) -> DomainResult<Level> {
        match self
            .ask(
                Op::Level {
                    sku,
                    location,
                    cmd,
                    note,
                },
                actor,
            )
            .await?
        {
            Outcome::Level { level, .. } => Ok(level),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    pub async fn reserve(&self, actor: Actor, req: ReserveRequest) -> DomainResult<ReservationRow> {
        stock::check_qty(req.qty)?;
        if req.hold_ms <= 0 || req.hold_ms > MAX_HOLD_MS {
            return Err(DomainError::invalid(format!(
                "A hold lasts 1 ms to {} hours.",
                MAX_HOLD_MS / 3_600_000
            )));
        }
        match self.ask(Op::Reserve(req), actor).await? {
            Outcome::Reservation(r) => Ok(r),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    pub async fn release(&self, actor: Actor, id: i64) -> DomainResult<ReservationRow> {
        match self.ask(Op::Release { id }, actor).await? {
            Outcome::Reservation(r) => Ok(r),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    /// Ships a held reservation: its units leave on-hand.
    pub async fn commit(&self, actor: Actor, id: i64) -> DomainResult<ReservationRow> {
        match self.ask(Op::Commit { id }, actor).await? {
            Outcome::Reservation(r) => Ok(r),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    /// Keeps a live hold until `until_ms` (never shortens it): a paid order
    /// keeps its stock until it ships. An expired hold cannot be extended.
    pub async fn extend(
        &self,
        actor: Actor,
        id: i64,
        until_ms: i64,
    ) -> DomainResult<ReservationRow> {
        match self.ask(Op::Extend { id, until_ms }, actor).await? {
            Outcome::Reservation(r) => Ok(r),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    pub async fn start_transfer(
        &self,
        actor: Actor,
        sku: SkuId,
        from: LocationId,
        to: LocationId,
        qty: i64,
    ) -> DomainResult<TransferRow> {
        match self
            .ask(Op::TransferStart { sku, from, to, qty }, actor)
            .await?
        {
            Outcome::Transfer(t) => Ok(t),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    pub async fn receive_transfer(&self, actor: Actor, id: i64) -> DomainResult<TransferRow> {
        match self.ask(Op::TransferReceive { id }, actor).await? {
            Outcome::Transfer(t) => Ok(t),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    /// Releases holds past their expiry now (the sweep does this every second).
    pub async fn expire_due(&self) -> DomainResult<usize> {
        match self
            .ask(
                Op::ExpireDue,
                Actor {
                    account: AccountId(0),
                    privileged: true,
                },
            )
            .await?
        {
            Outcome::Expired(n) => Ok(n),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    /// Sets `qty` units of `sku` aside for `channel` (a channel key such as
    /// `livestream:room:42`): they come out of the pool other channels see,
    /// and cap what that channel may take. Refused (`out_of_stock`) when the
    /// pool less the allocations already open has fewer units.
    pub async fn open_allocation(
        &self,
        actor: Actor,
        sku: SkuId,
        channel: String,
        qty: i64,
        note: String,
    ) -> DomainResult<AllocationRow> {
        stock::check_qty(qty)?;
        match self
            .ask(
                Op::AllocationOpen {
                    sku,
                    channel,
                    qty,
                    note,
                },
                actor,
            )
            .await?
        {
            Outcome::Allocation(a) => Ok(a),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    /// Closes an open allocation: its untaken units return to the pool. Holds
    /// taken from it stay; released later, their units go to the pool.
    pub async fn close_allocation(&self, actor: Actor, id: i64) -> DomainResult<AllocationRow> {
        match self.ask(Op::AllocationClose { id }, actor).await? {
            Outcome::Allocation(a) => Ok(a),
            _ => Err(DomainError::internal("unexpected stock outcome")),
        }
    }

    pub async fn allocation(&self, id: i64) -> DomainResult<Option<AllocationRow>> {
        Ok(repo::allocation(self.db.pool(), id).await?)
    }

    pub async fn allocations_of(
        &self,
        sku: SkuId,
        after: i64,
        limit: u32,
    ) -> DomainResult<Vec<AllocationRow>> {
        Ok(repo::allocations_of_sku(self.db.pool(), sku, after, limit).await?)
    }

    pub async fn open_allocations_of(&self, sku: SkuId) -> DomainResult<Vec<AllocationRow>> {
        Ok(repo::open_allocations_of_sku(self.db.pool(), sku).await?)
    }

    /// Current figures of a SKU at every location that has held it. Read from
    /// the database: everything the owner acknowledged is there.
    pub async fn levels(&self, sku: SkuId) -> DomainResult<Vec<(LocationId, Level)>> {
        Ok(repo::levels_of_sku(self.db.pool(), sku).await?)
    }

    pub async fn reservation(&self, id: i64) -> DomainResult<Option<ReservationRow>> {
        Ok(repo::reservation(self.db.pool(), id).await?)
    }

    pub async fn transfer(&self, id: i64) -> DomainResult<Option<TransferRow>> {
        Ok(repo::transfer(self.db.pool(), id).await?)
    }

    pub async fn movements(
        &self,
        sku: SkuId,
        after: i64,
        limit: u32,
    ) -> DomainResult<Vec<MovementRow>> {
        Ok(repo::movements(self.db.pool(), sku, after, limit).await?)
    }

    pub async fn reservations_of(
        &self,
        holder: AccountId,
        after: i64,
        limit: u32,
    ) -> DomainResult<Vec<ReservationRow>> {
        Ok(repo::reservations_of(self.db.pool(), holder, after, limit).await?)
    }

    /// Rebuilds every level from the movement ledger and lists where the stored
    /// figures differ: (sku, location, stored, rebuilt). Empty means consistent.
    pub async fn check_ledger(&self) -> DomainResult<Vec<(SkuId, LocationId, Level, Level)>> {
        let stored = repo::all_levels(self.db.pool()).await?;
        let rebuilt: HashMap<(SkuId, LocationId), Level> = repo::levels_from_ledger(self.db.pool())
            .await?
            .into_iter()
            .map(|(s, l, v)| ((s, l), v))
            .collect();
        let mut diffs = Vec::new();
        for (s, l, v) in &stored {
            let r = rebuilt.get(&(*s, *l)).copied().unwrap_or_default();
            if r != *v {
                diffs.push((*s, *l, *v, r));
            }
        }
        for ((s, l), r) in &rebuilt {
            if !stored.iter().any(|(ss, ll, _)| ss == s && ll == l) && *r != Level::default() {
                diffs.push((*s, *l, Level::default(), *r));
            }
        }
        Ok(diffs)
    }
}

#[derive(Debug, Clone)]
struct Place {
    kind: LocationKind,
    region: String,
    can_ship: bool,
    can_pickup: bool,
}

/// The single writer's state.
struct Owner {
    db: Db,
    clock: Arc<dyn Clock>,
    /// The group-commit log.
    writer: Writer,
    /// One permit per batch the log may hold for this owner (`Writer::depth`).
    in_flight: Arc<tokio::sync::Semaphore>,
    /// Batches are written under this number; a failed one makes the
    /// writer refuse the rest of its epoch, and the owner reloads in a new one.
    epoch: u64,
    /// The last epoch a submitted batch failed in: from then on state must
    /// be read back, in the next epoch.
    failed_epoch: Arc<std::sync::atomic::AtomicU64>,
    loaded: bool,
    /// Levels of every SKU touched since start, per location.
    levels: HashMap<SkuId, HashMap<LocationId, Level>>,
    holds: HashMap<i64, ReservationRow>,
    transfers_in_transit: HashMap<i64, TransferRow>,
    /// Open channel allocations, per SKU.
    allocations: HashMap<SkuId, Vec<AllocationRow>>,
    places: HashMap<LocationId, Place>,
    /// SKUs known to exist (a movement of an unknown SKU would fail the whole batch).
    skus: std::collections::HashSet<SkuId>,
    next_movement: i64,
    next_reservation: i64,
    next_transfer: i64,
    next_allocation: i64,
}

/// Changes a batch would make, applied to the owner only after the commit.
#[derive(Default)]
struct Draft {
    levels: HashMap<(SkuId, LocationId), Level>,
    holds_added: Vec<ReservationRow>,
    holds_closed: Vec<i64>,
    transfers_added: Vec<TransferRow>,
    transfers_closed: Vec<i64>,
    /// Locations a SKU got its first level at in this batch.
    new_places: HashMap<SkuId, Vec<LocationId>>,
    /// Allocations opened or changed, as they stand now.
    allocations: HashMap<i64, AllocationRow>,
    allocations_opened: std::collections::HashSet<i64>,
    batch: Batch,
    next_movement: i64,
    next_reservation: i64,
    next_transfer: i64,
    next_allocation: i64,
}

impl Owner {
    fn new(db: Db, writer: Writer, clock: Arc<dyn Clock>) -> Self {
        Owner {
            db,
            clock,
            in_flight: Arc::new(tokio::sync::Semaphore::new(writer.depth())),
            writer,
            epoch: 1,
            failed_epoch: Arc::default(),
            loaded: false,
            levels: HashMap::new(),
            holds: HashMap::new(),
            transfers_in_transit: HashMap::new(),
            allocations: HashMap::new(),
            places: HashMap::new(),
            skus: std::collections::HashSet::new(),
            next_movement: 1,
            next_reservation: 1,
            next_transfer: 1,
            next_allocation: 1,
        }
    }

    async fn load(&mut self) -> DomainResult<()> {
        // Everything decided before is written or refused before reading back.
        self.writer.barrier().await?;
        let mut conn = self
            .db
            .pool()
            .acquire()
            .await
            .map_err(souk_store::StoreError::from)?;
        let (m, r, t) = repo::max_ids(&mut conn).await?;
        let a = repo::max_allocation_id(&mut conn).await?;
        drop(conn);
        self.next_movement = m + 1;
        self.next_reservation = r + 1;
        self.next_transfer = t + 1;
        self.next_allocation = a + 1;
        self.allocations.clear();
        for a in repo::open_allocations(self.db.pool()).await? {
            self.allocations.entry(a.sku).or_default().push(a);
        }
        self.levels.clear();
        self.holds = repo::held_reservations(self.db.pool())
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        self.transfers_in_transit.clear();
        self.places.clear();
        self.loaded = true;
        Ok(())
    }

    async fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.recv().await {
            let jobs = souk_store::batch::gather(first, MAX_BATCH, || rx.try_recv().ok());
            self.process(jobs).await;
        }
    }

    async fn process(&mut self, jobs: Vec<Job>) {
        let failed = self.failed_epoch.load(std::sync::atomic::Ordering::SeqCst);
        if failed >= self.epoch {
            // A batch this owner absorbed is not on disk: read back what is.
            self.epoch = failed + 1;
            self.loaded = false;
        }
        if !self.loaded {
            if let Err(e) = self.load().await {
                tracing::error!(error = %e, "stock owner could not load its state");
                for j in jobs {
                    let _ = j.reply.send(Err(unavailable()));
                }
                return;
            }
        }
        let now = self.clock.now_ms();
        // Load what the batch will read before deciding anything.
        for j in &jobs {
            if let Err(e) = self.prefetch(&j.op).await {
                tracing::error!(error = %e, "stock owner could not read stock");
            }
        }
        let mut draft = Draft {
            next_movement: self.next_movement,
            next_reservation: self.next_reservation,
            next_transfer: self.next_transfer,
            next_allocation: self.next_allocation,
            ..Draft::default()
        };
        let mut answers = Vec::with_capacity(jobs.len());
        for j in jobs {
            let result = self.decide(&mut draft, j.op, j.actor, now);
            answers.push((j.reply, result));
        }
        for (id, a) in &draft.allocations {
            if draft.allocations_opened.contains(id) {
                draft.batch.new_allocations.push(a.clone());
            } else {
                draft.batch.changed_allocations.push(a.clone());
            }
        }
        metrics::histogram!("souk_stock_batch_commands").record(answers.len() as f64);
        if draft.batch.is_empty() {
            for (reply, result) in answers {
                let _ = reply.send(result);
            }
            return;
        }
        // The batch goes to the log and the next one is decided on its
        // figures as soon as the log has room; its commands hear back once
        // it is on disk.
        let Ok(slot) = self.in_flight.clone().acquire_owned().await else {
            for (reply, _) in answers {
                let _ = reply.send(Err(unavailable()));
            }
            return;
        };
        let steps = repo::batch_steps(&draft.batch);
        let failed_epoch = self.failed_epoch.clone();
        let epoch = self.epoch;
        self.writer.submit(
            Some(epoch),
            steps,
            Box::new(move |written| {
                drop(slot);
                if let Err(e) = &written {
                    tracing::error!(error = %e, "stock group commit failed; nothing in the batch was acknowledged");
                    failed_epoch.fetch_max(epoch, std::sync::atomic::Ordering::SeqCst);
                }
                for (reply, result) in answers {
                    let _ = reply.send(match &written {
                        Ok(()) => result,
                        Err(_) => result.and(Err(unavailable())),
                    });
                }
            }),
        );
        self.absorb(draft);
    }

    fn absorb(&mut self, d: Draft) {
        for ((sku, loc), level) in d.levels {
            self.levels.entry(sku).or_default().insert(loc, level);
        }
        for id in d.holds_closed {
            self.holds.remove(&id);
        }
        for r in d.holds_added {
            if r.state == HoldState::Held {
                self.holds.insert(r.id, r);
            }
        }
        for id in d.transfers_closed {
            self.transfers_in_transit.remove(&id);
        }
        for t in d.transfers_added {
            self.transfers_in_transit.insert(t.id, t);
        }
        for (id, a) in d.allocations {
            let open = self.allocations.entry(a.sku).or_default();
            open.retain(|x| x.id != id);
            if a.open {
                open.push(a);
            }
        }
        self.allocations.retain(|_, v| !v.is_empty());
        self.next_movement = d.next_movement;
        self.next_reservation = d.next_reservation;
        self.next_transfer = d.next_transfer;
        self.next_allocation = d.next_allocation;
    }

    async fn ensure_sku(&mut self, sku: SkuId) -> DomainResult<()> {
        if !self.skus.contains(&sku)
            && souk_store::catalog::product_of_sku(self.db.pool(), sku)
                .await?
                .is_some()
        {
            self.skus.insert(sku);
        }
        if !self.levels.contains_key(&sku) {
            let rows = repo::levels_of_sku(self.db.pool(), sku).await?;
            self.levels.insert(sku, rows.into_iter().collect());
        }
        Ok(())
    }

    async fn ensure_place(&mut self, loc: LocationId) -> DomainResult<()> {
        if !self.places.contains_key(&loc) {
            if let Some(l) = location_repo::get(self.db.pool(), loc).await? {
                self.places.insert(
                    loc,
                    Place {
                        kind: l.kind,
                        region: l.address.region.clone(),
                        can_ship: l.capabilities.ship,
                        can_pickup: l.capabilities.pickup,
                    },
                );
            }
        }
        Ok(())
    }

    async fn prefetch(&mut self, op: &Op) -> DomainResult<()> {
        match op {
            Op::Level { sku, location, .. } => {
                self.ensure_sku(*sku).await?;
                self.ensure_place(*location).await?;
            }
            Op::Reserve(r) => {
                self.ensure_sku(r.sku).await?;
                let locs: Vec<LocationId> = self
                    .levels
                    .get(&r.sku)
                    .map(|m| m.keys().copied().collect())
                    .unwrap_or_default();
                for l in locs.into_iter().chain(r.location) {
                    self.ensure_place(l).await?;
                }
            }
            Op::AllocationOpen { sku, .. } => {
                self.ensure_sku(*sku).await?;
                let locs: Vec<LocationId> = self
                    .levels
                    .get(sku)
                    .map(|m| m.keys().copied().collect())
                    .unwrap_or_default();
                for l in locs {
                    self.ensure_place(l).await?;
                }
            }
            Op::AllocationClose { .. } => {}
            Op::Release { id } | Op::Commit { id } | Op::Extend { id, .. } => {
                if let Some(h) = self.holds.get(id).cloned() {
                    self.ensure_sku(h.sku).await?;
                }
            }
            Op::TransferStart { sku, from, to, .. } => {
                self.ensure_sku(*sku).await?;
                self.ensure_place(*from).await?;
                self.ensure_place(*to).await?;
            }
            Op::TransferReceive { id } => {
                if !self.transfers_in_transit.contains_key(id) {
                    if let Some(t) = repo::transfer(self.db.pool(), *id).await? {
                        if t.state == "in_transit" {
                            self.transfers_in_transit.insert(t.id, t);
                        }
                    }
                }
                if let Some(t) = self.transfers_in_transit.get(id).cloned() {
                    self.ensure_sku(t.sku).await?;
                    self.ensure_place(t.to).await?;
                }
            }
            Op::ExpireDue => {
                let due: Vec<SkuId> = self.holds.values().map(|h| h.sku).collect();
                for s in due {
                    self.ensure_sku(s).await?;
                }
            }
        }
        Ok(())
    }

    fn level(&self, d: &Draft, sku: SkuId, loc: LocationId) -> Level {
        d.levels
            .get(&(sku, loc))
            .copied()
            .or_else(|| self.levels.get(&sku).and_then(|m| m.get(&loc)).copied())
            .unwrap_or_default()
    }

    /// The pool of a SKU: units available at every location that ships.
    fn pool(&self, d: &Draft, sku: SkuId) -> i64 {
        let mut locs: Vec<LocationId> = self
            .levels
            .get(&sku)
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        locs.extend(d.new_places.get(&sku).into_iter().flatten());
        locs.into_iter()
            .filter(|l| self.places.get(l).is_some_and(|p| p.can_ship))
            .map(|l| self.level(d, sku, l).available())
            .sum()
    }

    /// Open allocations of a SKU as the draft stands, oldest first.
    fn open_allocations(&self, d: &Draft, sku: SkuId) -> Vec<AllocationRow> {
        let mut open: Vec<AllocationRow> = self
            .allocations
            .get(&sku)
            .into_iter()
            .flatten()
            .filter(|a| !d.allocations.contains_key(&a.id))
            .cloned()
            .chain(
                d.allocations
                    .values()
                    .filter(|a| a.sku == sku && a.open)
                    .cloned(),
            )
            .collect();
        open.sort_by_key(|a| a.id);
        open
    }

    /// Gives a released or expired hold's units back to the allocation it was
    /// taken from, while that is open (closed: they are simply the pool's again).
    fn give_back(&self, d: &mut Draft, h: &ReservationRow) {
        let Some(id) = h.allocation_id else { return };
        if let Some(a) = self
            .open_allocations(d, h.sku)
            .into_iter()
            .find(|a| a.id == id)
        {
            let taken = allocation::given_back(&a.rule(), h.qty).taken;
            d.allocations.insert(id, AllocationRow { taken, ..a });
        }
    }

    /// Decides one command into the draft: level change plus its ledger row.
    fn move_stock(
        &self,
        d: &mut Draft,
        sku: SkuId,
        loc: LocationId,
        cmd: Command,
        ctx: (Option<i64>, Option<i64>, Option<AccountId>, String),
        now: i64,
    ) -> DomainResult<Level> {
        let mut level = self.level(d, sku, loc);
        let m = stock::decide(&level, sku, loc, cmd)?;
        stock::apply(&mut level, &m);
        let known = self.levels.get(&sku).is_some_and(|l| l.contains_key(&loc));
        if d.levels.insert((sku, loc), level).is_none() && !known {
            d.new_places.entry(sku).or_default().push(loc);
        }
        d.batch.levels.retain(|(s, l, _)| !(*s == sku && *l == loc));
        d.batch.levels.push((sku, loc, level));
        d.batch.movements.push(MovementRow {
            id: d.next_movement,
            movement: m,
            reservation_id: ctx.0,
            transfer_id: ctx.1,
            actor: ctx.2,
            note: ctx.3,
            created_at_ms: now,
        });
        d.next_movement += 1;
        Ok(level)
    }

    fn hold<'a>(&'a self, d: &'a Draft, id: i64, actor: Actor) -> DomainResult<&'a ReservationRow> {
        let h = d
            .holds_added
            .iter()
            .find(|h| h.id == id)
            .or_else(|| self.holds.get(&id))
            .filter(|h| !d.holds_closed.contains(&h.id))
            .ok_or_else(|| DomainError::not_found("The held reservation"))?;
        if !actor.privileged && h.holder != actor.account {
            return Err(DomainError::not_found("The held reservation"));
        }
        Ok(h)
    }

    fn decide(&self, d: &mut Draft, op: Op, actor: Actor, now: i64) -> DomainResult<Outcome> {
        let who = (actor.account.0 != 0).then_some(actor.account);
        let sku = match &op {
            Op::Level { sku, .. }
            | Op::TransferStart { sku, .. }
            | Op::AllocationOpen { sku, .. } => Some(*sku),
            Op::Reserve(r) => Some(r.sku),
            _ => None,
        };
        if let Some(sku) = sku {
            if !self.skus.contains(&sku) {
                return Err(DomainError::not_found("The SKU"));
            }
        }
        match op {
            Op::Level {
                sku,
                location,
                cmd,
                note,
            } => {
                if !self.places.contains_key(&location) {
                    return Err(DomainError::invalid(format!(
                        "Location {location} does not exist."
                    )));
                }
                let level = self.move_stock(d, sku, location, cmd, (None, None, who, note), now)?;
                Ok(Outcome::Level {
                    sku,
                    location,
                    level,
                })
            }
            Op::Reserve(r) => {
                let location = match r.location {
                    Some(l) => l,
                    None => {
                        let candidates: Vec<Candidate> = self
                            .levels
                            .get(&r.sku)
                            .map(|m| m.keys().copied().collect::<Vec<_>>())
                            .unwrap_or_default()
                            .into_iter()
                            .filter_map(|loc| {
                                let p = self.places.get(&loc)?;
                                Some(Candidate {
                                    location: loc,
                                    kind: p.kind,
                                    region: p.region.clone(),
                                    available: self.level(d, r.sku, loc).available(),
                                    can_ship: p.can_ship,
                                    can_pickup: p.can_pickup,
                                })
                            })
                            .collect();
                        stock::choose_location(&candidates, r.qty, &r.fulfilment).ok_or_else(
                            || {
                                let total: i64 = candidates.iter().map(|c| c.available).sum();
                                DomainError::new(
                                    ErrorCode::OutOfStock,
                                    format!(
                                        "No location can fulfil {} (available in all: {total}).",
                                        r.qty
                                    ),
                                )
                            },
                        )?
                    }
                };
                // The channel's allocation serves and caps it; other channels
                // keep off the units open allocations still hold.
                let open = self.open_allocations(d, r.sku);
                let rules: Vec<_> = open.iter().map(AllocationRow::rule).collect();
                let in_pool = self.places.get(&location).is_some_and(|p| p.can_ship);
                // Without open allocations the physical check below is the whole rule.
                let source = if rules.is_empty() {
                    Source::Pool
                } else {
                    allocation::take(self.pool(d, r.sku), &rules, &r.channel, r.qty, in_pool)?
                };
                let id = d.next_reservation;
                self.move_stock(
                    d,
                    r.sku,
                    location,
                    Command::Reserve { qty: r.qty },
                    (Some(id), None, who, String::new()),
                    now,
                )?;
                d.next_reservation += 1;
                let allocation_id = match source {
                    Source::Allocation(i) => {
                        let a = open[i].clone();
                        let taken = allocation::taken(&rules[i], r.qty).taken;
                        d.allocations.insert(a.id, AllocationRow { taken, ..a });
                        Some(open[i].id)
                    }
                    Source::Pool => None,
                };
                let row = ReservationRow {
                    id,
                    sku: r.sku,
                    location,
                    qty: r.qty,
                    state: HoldState::Held,
                    channel: r.channel,
                    holder: actor.account,
                    allocation_id,
                    expires_at_ms: now.saturating_add(r.hold_ms),
                    created_at_ms: now,
                    updated_at_ms: now,
                };
                d.batch.new_reservations.push(row.clone());
                d.holds_added.push(row.clone());
                Ok(Outcome::Reservation(row))
            }
            Op::Release { id } => {
                let h = self.hold(d, id, actor)?.clone();
                self.move_stock(
                    d,
                    h.sku,
                    h.location,
                    Command::Release { qty: h.qty },
                    (Some(id), None, who, String::new()),
                    now,
                )?;
                self.give_back(d, &h);
                Ok(Outcome::Reservation(self.close(
                    d,
                    h,
                    HoldState::Released,
                    now,
                )))
            }
            Op::Commit { id } => {
                let h = self.hold(d, id, actor)?.clone();
                stock::may_commit(h.state, h.expires_at_ms, now)?;
                self.move_stock(
                    d,
                    h.sku,
                    h.location,
                    Command::Commit { qty: h.qty },
                    (Some(id), None, who, String::new()),
                    now,
                )?;
                Ok(Outcome::Reservation(self.close(
                    d,
                    h,
                    HoldState::Committed,
                    now,
                )))
            }
            Op::Extend { id, until_ms } => {
                let h = self.hold(d, id, actor)?.clone();
                stock::may_commit(h.state, h.expires_at_ms, now)?;
                let expires_at_ms = h.expires_at_ms.max(until_ms);
                let row = ReservationRow {
                    expires_at_ms,
                    updated_at_ms: now,
                    ..h
                };
                if let Some(added) = d.batch.new_reservations.iter_mut().find(|r| r.id == id) {
                    added.expires_at_ms = expires_at_ms;
                } else {
                    d.batch.reservation_expiries.push((id, expires_at_ms, now));
                }
                match d.holds_added.iter_mut().find(|r| r.id == id) {
                    Some(added) => added.expires_at_ms = expires_at_ms,
                    None => d.holds_added.push(row.clone()),
                }
                Ok(Outcome::Reservation(row))
            }
            Op::TransferStart { sku, from, to, qty } => {
                if from == to {
                    return Err(DomainError::invalid(
                        "A transfer goes between two different locations.",
                    ));
                }
                if !self.places.contains_key(&from) || !self.places.contains_key(&to) {
                    return Err(DomainError::invalid(
                        "Both locations of a transfer must exist.",
                    ));
                }
                let id = d.next_transfer;
                self.move_stock(
                    d,
                    sku,
                    from,
                    Command::TransferOut { qty },
                    (None, Some(id), who, String::new()),
                    now,
                )?;
                d.next_transfer += 1;
                let t = TransferRow {
                    id,
                    sku,
                    from,
                    to,
                    qty,
                    state: "in_transit".into(),
                    created_at_ms: now,
                    received_at_ms: None,
                };
                d.batch.new_transfers.push(t.clone());
                d.transfers_added.push(t.clone());
                Ok(Outcome::Transfer(t))
            }
            Op::TransferReceive { id } => {
                let t = d
                    .transfers_added
                    .iter()
                    .find(|t| t.id == id)
                    .or_else(|| self.transfers_in_transit.get(&id))
                    .filter(|t| !d.transfers_closed.contains(&t.id))
                    .cloned()
                    .ok_or_else(|| DomainError::not_found("The transfer in transit"))?;
                self.move_stock(
                    d,
                    t.sku,
                    t.to,
                    Command::TransferIn { qty: t.qty },
                    (None, Some(id), who, String::new()),
                    now,
                )?;
                d.batch.received_transfers.push((id, now));
                d.transfers_closed.push(id);
                Ok(Outcome::Transfer(TransferRow {
                    state: "received".into(),
                    received_at_ms: Some(now),
                    ..t
                }))
            }
            Op::ExpireDue => {
                let mut due: Vec<ReservationRow> = self
                    .holds
                    .values()
                    .filter(|h| h.expires_at_ms <= now && !d.holds_closed.contains(&h.id))
                    .cloned()
                    .collect();
                due.sort_by_key(|h| h.id);
                due.truncate(EXPIRE_PER_SWEEP);
                let n = due.len();
                for h in due {
                    let id = h.id;
                    self.move_stock(
                        d,
                        h.sku,
                        h.location,
                        Command::Release { qty: h.qty },
                        (Some(id), None, None, "expired".into()),
                        now,
                    )?;
                    self.give_back(d, &h);
                    self.close(d, h, HoldState::Expired, now);
                }
                Ok(Outcome::Expired(n))
            }
            Op::AllocationOpen {
                sku,
                channel,
                qty,
                note,
            } => {
                let open = self.open_allocations(d, sku);
                let rules: Vec<_> = open.iter().map(AllocationRow::rule).collect();
                let a = allocation::open(self.pool(d, sku), &rules, &channel, qty)?;
                let id = d.next_allocation;
                d.next_allocation += 1;
                let row = AllocationRow {
                    id,
                    sku,
                    channel: a.channel,
                    qty: a.qty,
                    taken: a.taken,
                    open: true,
                    returned: 0,
                    note,
                    created_by: actor.account,
                    closed_by: None,
                    created_at_ms: now,
                    closed_at_ms: None,
                };
                d.allocations.insert(id, row.clone());
                d.allocations_opened.insert(id);
                Ok(Outcome::Allocation(row))
            }
            Op::AllocationClose { id } => {
                let a = d
                    .allocations
                    .get(&id)
                    .cloned()
                    .or_else(|| {
                        self.allocations
                            .values()
                            .flatten()
                            .find(|a| a.id == id)
                            .cloned()
                    })
                    .filter(|a| a.open)
                    .ok_or_else(|| {
                        DomainError::new(
                            ErrorCode::IllegalTransition,
                            "The allocation is not open; it may already be closed.",
                        )
                    })?;
                let row = AllocationRow {
                    open: false,
                    returned: allocation::returned_on_close(&a.rule()),
                    closed_by: Some(actor.account),
                    closed_at_ms: Some(now),
                    ..a
                };
                d.allocations.insert(id, row.clone());
                Ok(Outcome::Allocation(row))
            }
        }
    }

    fn close(
        &self,
        d: &mut Draft,
        h: ReservationRow,
        state: HoldState,
        now: i64,
    ) -> ReservationRow {
        d.holds_closed.push(h.id);
        if let Some(added) = d.batch.new_reservations.iter_mut().find(|r| r.id == h.id) {
            // Created and closed in the same batch: write it closed.
            added.state = state;
            added.updated_at_ms = now;
        } else {
            d.batch.reservation_states.push((h.id, state, now));
        }
        ReservationRow {
            state,
            updated_at_ms: now,
            ..h
        }
    }
}
