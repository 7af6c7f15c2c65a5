//! Stock storage: levels, the movement ledger, reservations and transfers.
//! Written only by the stock owner (engine), in batches.

use crate::batch::{Shape, Step, Value};
use crate::error::{StoreError, StoreResult};
use souk_core::ids::{AccountId, LocationId, SkuId};
use souk_core::stock::{HoldState, Level, Movement, Reason};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRow {
    pub id: i64,
    pub sku: SkuId,
    pub location: LocationId,
    pub qty: i64,
    pub state: HoldState,
    pub channel: String,
    pub holder: AccountId,
    /// The channel allocation the units were taken from, if any.
    pub allocation_id: Option<i64>,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

fn reservation_from(r: &AnyRow) -> StoreResult<ReservationRow> {
    let state: String = r.try_get("state")?;
    Ok(ReservationRow {
        id: r.try_get("id")?,
        sku: SkuId(r.try_get("sku_id")?),
        location: LocationId(r.try_get("location_id")?),
        qty: r.try_get("qty")?,
        state: HoldState::parse(&state).ok_or_else(|| corrupt(format!("hold state {state}")))?,
        channel: r.try_get("channel")?,
        holder: AccountId(r.try_get("holder_id")?),
        allocation_id: r.try_get("allocation_id")?,
        expires_at_ms: r.try_get("expires_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

const RESERVATION_COLUMNS: &str =
    "id, sku_id, location_id, qty, state, channel, holder_id, allocation_id, expires_at_ms, created_at_ms, updated_at_ms";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRow {
    pub id: i64,
    pub sku: SkuId,
    pub from: LocationId,
    pub to: LocationId,
    pub qty: i64,
    /// `in_transit` or `received`.
    pub state: String,
    pub created_at_ms: i64,
    pub received_at_ms: Option<i64>,
}

/// A channel allocation: units of a SKU set aside for one channel key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllocationRow {
    pub id: i64,
    pub sku: SkuId,
    pub channel: String,
    pub qty: i64,
    pub taken: i64,
    pub open: bool,
    /// Untaken units returned to the pool at close.
    pub returned: i64,
    pub note: String,
    pub created_by: AccountId,
    pub closed_by: Option<AccountId>,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

impl AllocationRow {
    /// The figures the pure rules work on.
    pub fn rule(&self) -> souk_core::stock::allocation::Allocation {
        souk_core::stock::allocation::Allocation {
            channel: self.channel.clone(),
            qty: self.qty,
            taken: self.taken,
        }
    }
}

const ALLOCATION_COLUMNS: &str = "id, sku_id, channel, qty, taken, state, returned, note, created_by, closed_by, created_at_ms, closed_at_ms";

fn allocation_from(r: &AnyRow) -> StoreResult<AllocationRow> {
    let state: String = r.try_get("state")?;
    Ok(AllocationRow {
        id: r.try_get("id")?,
        sku: SkuId(r.try_get("sku_id")?),
        channel: r.try_get("channel")?,
        qty: r.try_get("qty")?,
        taken: r.try_get("taken")?,
        open: match state.as_str() {
            "open" => true,
            "closed" => false,
            other => return Err(corrupt(format!("allocation state {other}"))),
        },
        returned: r.try_get("returned")?,
        note: r.try_get("note")?,
        created_by: AccountId(r.try_get("created_by")?),
        closed_by: r.try_get::<Option<i64>, _>("closed_by")?.map(AccountId),
        created_at_ms: r.try_get("created_at_ms")?,
        closed_at_ms: r.try_get("closed_at_ms")?,
    })
}

fn allocation_state(open: bool) -> &'static str {
    if open {
        "open"
    } else {
        "closed"
    }
}

/// A movement as the ledger stores it, with its context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovementRow {
    pub id: i64,
    pub movement: Movement,
    pub reservation_id: Option<i64>,
    pub transfer_id: Option<i64>,
    pub actor: Option<AccountId>,
    pub note: String,
    pub created_at_ms: i64,
}

/// Everything one group commit writes.
#[derive(Debug, Default)]
pub struct Batch {
    pub movements: Vec<MovementRow>,
    /// Final figures of every level the batch touched.
    pub levels: Vec<(SkuId, LocationId, Level)>,
    pub new_reservations: Vec<ReservationRow>,
    /// (id, new state, at)
    pub reservation_states: Vec<(i64, HoldState, i64)>,
    /// (id, new expiry, at): holds kept longer (a paid order keeps its stock).
    pub reservation_expiries: Vec<(i64, i64, i64)>,
    pub new_transfers: Vec<TransferRow>,
    /// (id, received at)
    pub received_transfers: Vec<(i64, i64)>,
    /// Allocations opened in this batch, as they stand at its end.
    pub new_allocations: Vec<AllocationRow>,
    /// Allocations opened earlier whose figures or state changed, as they stand at its end.
    pub changed_allocations: Vec<AllocationRow>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.movements.is_empty()
            && self.levels.is_empty()
            && self.new_reservations.is_empty()
            && self.reservation_states.is_empty()
            && self.reservation_expiries.is_empty()
            && self.new_transfers.is_empty()
            && self.received_transfers.is_empty()
            && self.new_allocations.is_empty()
            && self.changed_allocations.is_empty()
    }
}

static MOVEMENT: Shape = Shape::Insert {
    table: "stock_movements",
    columns: "id, sku_id, location_id, reason, on_hand_delta, reserved_delta, safety_delta, \
              reservation_id, transfer_id, actor_id, note, created_at_ms",
    cols: 12,
    tail: "",
    key: 0,
};
static LEVEL: Shape = Shape::Insert {
    table: "stock_levels",
    columns: "sku_id, location_id, on_hand, reserved, safety, updated_at_ms",
    cols: 6,
    tail: " ON CONFLICT (sku_id, location_id) DO UPDATE SET on_hand = excluded.on_hand, \
           reserved = excluded.reserved, safety = excluded.safety, updated_at_ms = excluded.updated_at_ms",
    key: 2,
};
static RESERVATION: Shape = Shape::Insert {
    table: "reservations",
    columns: RESERVATION_COLUMNS,
    cols: 11,
    tail: "",
    key: 0,
};
static RESERVATION_STATE: Shape =
    Shape::Plain("UPDATE reservations SET state = $1, updated_at_ms = $2 WHERE id = $3");
static RESERVATION_EXPIRY: Shape =
    Shape::Plain("UPDATE reservations SET expires_at_ms = $1, updated_at_ms = $2 WHERE id = $3");
static TRANSFER: Shape = Shape::Insert {
    table: "transfers",
    columns: "id, sku_id, from_location, to_location, qty, state, created_at_ms",
    cols: 7,
    tail: "",
    key: 0,
};
static TRANSFER_RECEIVED: Shape =
    Shape::Plain("UPDATE transfers SET state = $1, received_at_ms = $2 WHERE id = $3");
static ALLOCATION: Shape = Shape::Insert {
    table: "stock_allocations",
    columns: ALLOCATION_COLUMNS,
    cols: 12,
    tail: "",
    key: 0,
};
static ALLOCATION_CHANGE: Shape = Shape::Plain(
    "UPDATE stock_allocations SET taken = $1, state = $2, returned = $3, closed_by = $4, closed_at_ms = $5 WHERE id = $6",
);

/// The statements that write a batch, in order, for [`crate::batch::Writer`].
pub fn batch_steps(b: &Batch) -> Vec<Step> {
    let mut out = Vec::with_capacity(b.movements.len() + b.new_reservations.len() + 8);
    let step = |shape: &'static Shape, values: Vec<Value>| Step { shape, values };
    for m in &b.movements {
        out.push(step(
            &MOVEMENT,
            vec![
                m.id.into(),
                m.movement.sku.0.into(),
                m.movement.location.0.into(),
                m.movement.reason.as_str().into(),
                m.movement.on_hand_delta.into(),
                m.movement.reserved_delta.into(),
                m.movement.safety_delta.into(),
                m.reservation_id.into(),
                m.transfer_id.into(),
                m.actor.map(|a| a.0).into(),
                m.note.clone().into(),
                m.created_at_ms.into(),
            ],
        ));
    }
    let now = b.movements.last().map(|m| m.created_at_ms).unwrap_or(0);
    for (sku, loc, l) in &b.levels {
        out.push(step(
            &LEVEL,
            vec![
                sku.0.into(),
                loc.0.into(),
                l.on_hand.into(),
                l.reserved.into(),
                l.safety.into(),
                now.into(),
            ],
        ));
    }
    for r in &b.new_reservations {
        out.push(step(
            &RESERVATION,
            vec![
                r.id.into(),
                r.sku.0.into(),
                r.location.0.into(),
                r.qty.into(),
                r.state.as_str().into(),
                r.channel.clone().into(),
                r.holder.0.into(),
                r.allocation_id.into(),
                r.expires_at_ms.into(),
                r.created_at_ms.into(),
                r.updated_at_ms.into(),
            ],
        ));
    }
    for (id, state, at) in &b.reservation_states {
        out.push(step(
            &RESERVATION_STATE,
            vec![state.as_str().into(), (*at).into(), (*id).into()],
        ));
    }
    for (id, expires, at) in &b.reservation_expiries {
        out.push(step(
            &RESERVATION_EXPIRY,
            vec![(*expires).into(), (*at).into(), (*id).into()],
        ));
    }
    for t in &b.new_transfers {
        out.push(step(
            &TRANSFER,
            vec![
                t.id.into(),
                t.sku.0.into(),
                t.from.0.into(),
                t.to.0.into(),
                t.qty.into(),
                t.state.clone().into(),
                t.created_at_ms.into(),
            ],
        ));
    }
    // Changes first: an allocation closed and another opened for the same
    // channel in one batch must not meet in the one-open-per-channel index.
    for a in &b.changed_allocations {
        out.push(step(
            &ALLOCATION_CHANGE,
            vec![
                a.taken.into(),
                allocation_state(a.open).into(),
                a.returned.into(),
                a.closed_by.map(|x| x.0).into(),
                a.closed_at_ms.into(),
                a.id.into(),
            ],
        ));
    }
    let mut new_allocations: Vec<&AllocationRow> = b.new_allocations.iter().collect();
    new_allocations.sort_by_key(|a| a.open);
    for a in new_allocations {
        out.push(step(
            &ALLOCATION,
            vec![
                a.id.into(),
                a.sku.0.into(),
                a.channel.clone().into(),
                a.qty.into(),
                a.taken.into(),
                allocation_state(a.open).into(),
                a.returned.into(),
                a.note.clone().into(),
                a.created_by.0.into(),
                a.closed_by.map(|x| x.0).into(),
                a.created_at_ms.into(),
                a.closed_at_ms.into(),
            ],
        ));
    }
    for (id, at) in &b.received_transfers {
        out.push(step(
            &TRANSFER_RECEIVED,
            vec!["received".into(), (*at).into(), (*id).into()],
        ));
    }
    out
}

pub async fn level<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
    loc: LocationId,
) -> StoreResult<Option<Level>> {
    let row = sqlx::query(
        "SELECT on_hand, reserved, safety FROM stock_levels WHERE sku_id = $1 AND location_id = $2",
    )
    .bind(sku.0)
    .bind(loc.0)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(Level {
            on_hand: r.try_get("on_hand")?,
            reserved: r.try_get("reserved")?,
            safety: r.try_get("safety")?,
        })
    })
    .transpose()
}

pub async fn levels_of_sku<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
) -> StoreResult<Vec<(LocationId, Level)>> {
    let rows = sqlx::query("SELECT location_id, on_hand, reserved, safety FROM stock_levels WHERE sku_id = $1 ORDER BY location_id")
        .bind(sku.0)
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                LocationId(r.try_get("location_id")?),
                Level {
                    on_hand: r.try_get("on_hand")?,
                    reserved: r.try_get("reserved")?,
                    safety: r.try_get("safety")?,
                },
            ))
        })
        .collect()
}

/// All levels, keyed, for rebuild checks.
pub async fn all_levels<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<(SkuId, LocationId, Level)>> {
    let rows = sqlx::query("SELECT sku_id, location_id, on_hand, reserved, safety FROM stock_levels ORDER BY sku_id, location_id")
        .fetch_all(ex)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                SkuId(r.try_get("sku_id")?),
                LocationId(r.try_get("location_id")?),
                Level {
                    on_hand: r.try_get("on_hand")?,
                    reserved: r.try_get("reserved")?,
                    safety: r.try_get("safety")?,
                },
            ))
        })
        .collect()
}

/// The levels as the movement ledger says they should be.
pub async fn levels_from_ledger<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<(SkuId, LocationId, Level)>> {
    let rows = sqlx::query(
        "SELECT sku_id, location_id, CAST(SUM(on_hand_delta) AS BIGINT) AS on_hand, \
         CAST(SUM(reserved_delta) AS BIGINT) AS reserved, CAST(SUM(safety_delta) AS BIGINT) AS safety FROM stock_movements GROUP BY sku_id, location_id ORDER BY sku_id, location_id",
    )
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            // SUM of BIGINT is NUMERIC on PostgreSQL, hence the CASTs above.
            Ok((
                SkuId(r.try_get("sku_id")?),
                LocationId(r.try_get("location_id")?),
                Level {
                    on_hand: r.try_get("on_hand")?,
                    reserved: r.try_get("reserved")?,
                    safety: r.try_get("safety")?,
                },
            ))
        })
        .collect()
}

pub async fn reservation<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> StoreResult<Option<ReservationRow>> {
    let row = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(reservation_from).transpose()
}

pub async fn held_reservations<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<ReservationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE state = 'held' ORDER BY id"
    ))
    .fetch_all(ex)
    .await?;
    rows.iter().map(reservation_from).collect()
}

pub async fn reservations_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    holder: AccountId,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<ReservationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {RESERVATION_COLUMNS} FROM reservations WHERE holder_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(holder.0)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await?;
    rows.iter().map(reservation_from).collect()
}

pub async fn transfer<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> StoreResult<Option<TransferRow>> {
    let row = sqlx::query(
        "SELECT id, sku_id, from_location, to_location, qty, state, created_at_ms, received_at_ms FROM transfers WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    row.map(|r| {
        Ok(TransferRow {
            id: r.try_get("id")?,
            sku: SkuId(r.try_get("sku_id")?),
            from: LocationId(r.try_get("from_location")?),
            to: LocationId(r.try_get("to_location")?),
            qty: r.try_get("qty")?,
            state: r.try_get("state")?,
            created_at_ms: r.try_get("created_at_ms")?,
            received_at_ms: r.try_get("received_at_ms")?,
        })
    })
    .transpose()
}

pub async fn movements<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<MovementRow>> {
    let rows = sqlx::query(
        "SELECT id, sku_id, location_id, reason, on_hand_delta, reserved_delta, safety_delta, reservation_id, transfer_id, \
         actor_id, note, created_at_ms FROM stock_movements WHERE sku_id = $1 AND id > $2 ORDER BY id LIMIT $3",
    )
    .bind(sku.0)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            let reason: String = r.try_get("reason")?;
            Ok(MovementRow {
                id: r.try_get("id")?,
                movement: Movement {
                    sku: SkuId(r.try_get("sku_id")?),
                    location: LocationId(r.try_get("location_id")?),
                    reason: Reason::parse(&reason)
                        .ok_or_else(|| corrupt(format!("reason {reason}")))?,
                    on_hand_delta: r.try_get("on_hand_delta")?,
                    reserved_delta: r.try_get("reserved_delta")?,
                    safety_delta: r.try_get("safety_delta")?,
                },
                reservation_id: r.try_get("reservation_id")?,
                transfer_id: r.try_get("transfer_id")?,
                actor: r.try_get::<Option<i64>, _>("actor_id")?.map(AccountId),
                note: r.try_get("note")?,
                created_at_ms: r.try_get("created_at_ms")?,
            })
        })
        .collect()
}

/// The highest id in each owner-allocated table, to continue numbering after a restart.
pub async fn max_ids(conn: &mut AnyConnection) -> StoreResult<(i64, i64, i64)> {
    let m: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM stock_movements")
        .fetch_one(&mut *conn)
        .await?;
    let r: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM reservations")
        .fetch_one(&mut *conn)
        .await?;
    let t: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM transfers")
        .fetch_one(&mut *conn)
        .await?;
    Ok((m, r, t))
}

pub async fn allocation<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
) -> StoreResult<Option<AllocationRow>> {
    let row = sqlx::query(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM stock_allocations WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await?;
    row.as_ref().map(allocation_from).transpose()
}

/// Allocations of a SKU, open and closed, oldest first.
pub async fn allocations_of_sku<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
    after: i64,
    limit: u32,
) -> StoreResult<Vec<AllocationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM stock_allocations WHERE sku_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    ))
    .bind(sku.0)
    .bind(after)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await?;
    rows.iter().map(allocation_from).collect()
}

/// Open allocations of a SKU.
pub async fn open_allocations_of_sku<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sku: SkuId,
) -> StoreResult<Vec<AllocationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM stock_allocations WHERE sku_id = $1 AND state = 'open' ORDER BY id"
    ))
    .bind(sku.0)
    .fetch_all(ex)
    .await?;
    rows.iter().map(allocation_from).collect()
}

/// Every open allocation (the stock owner keeps them in memory).
pub async fn open_allocations<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<AllocationRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ALLOCATION_COLUMNS} FROM stock_allocations WHERE state = 'open' ORDER BY id"
    ))
    .fetch_all(ex)
    .await?;
    rows.iter().map(allocation_from).collect()
}

/// The highest allocation id, to continue numbering after a restart.
pub async fn max_allocation_id(conn: &mut AnyConnection) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM stock_allocations")
            .fetch_one(&mut *conn)
            .await?,
    )
}
