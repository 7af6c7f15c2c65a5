//! Omnichannel stock (M2): receiving, counts, safety stock, availability,
//! reservations with expiry, transfers, and the movement ledger.

use crate::auth::{Auth, MaybeAuth};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::routes::dto::{List, Page};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use souk_core::access::{may_manage_stock_at, require_operator, Principal};
use souk_core::error::{DomainError, DomainResult};
use souk_core::ids::{LocationId, SkuId};
use souk_core::location::LocationKind;
use souk_core::page::{after_id, page_size, split_page};
use souk_core::stock::{allocation, Command, Fulfilment, Level};
use souk_engine::locations::owner_of;
use souk_engine::stock::{Actor, ReserveRequest, DEFAULT_HOLD_MS};
use souk_store::stock::{AllocationRow, MovementRow, ReservationRow, TransferRow};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(receive))
        .routes(routes!(adjust))
        .routes(routes!(record_return))
        .routes(routes!(set_safety))
        .routes(routes!(stock_of_sku))
        .routes(routes!(movements))
        .routes(routes!(check_ledger))
        .routes(routes!(availability))
        .routes(routes!(create_reservation, my_reservations))
        .routes(routes!(get_reservation))
        .routes(routes!(release_reservation))
        .routes(routes!(commit_reservation))
        .routes(routes!(start_transfer))
        .routes(routes!(receive_transfer))
        .routes(routes!(open_allocation, allocations_of_sku))
        .routes(routes!(get_allocation))
        .routes(routes!(close_allocation))
}

fn actor(p: &Principal) -> Actor {
    Actor {
        account: p.account_id,
        privileged: p.is_operator(),
    }
}

/// Checks that `p` may move stock at `location`; others' locations answer 404.
async fn require_stock_manager(
    s: &AppState,
    p: &Principal,
    location: LocationId,
) -> DomainResult<()> {
    let l = s.services.locations.get(p, location).await?;
    if may_manage_stock_at(p, l.id, owner_of(&l)) {
        Ok(())
    } else {
        Err(DomainError::forbidden(
            "You may not move stock at this location.",
        ))
    }
}

/// A supplier's warehouse holds only that supplier's goods; cloud warehouses
/// and stores hold anyone's. Checked for every movement into or at a location.
async fn require_goods_fit(s: &AppState, location: LocationId, sku: SkuId) -> DomainResult<()> {
    let Some(l) = s
        .services
        .locations
        .all()
        .await?
        .into_iter()
        .find(|l| l.id == location)
    else {
        return Err(DomainError::not_found("The location"));
    };
    if let Some(owner) = l.supplier_id {
        let product = s.services.catalog.any_product_of_sku(sku).await?;
        if product.supplier_id != owner {
            return Err(DomainError::invalid(
                "A supplier warehouse holds only its own supplier's products.",
            ));
        }
    }
    Ok(())
}

/// Checks that `p` may see the stock figures of `sku`: operators, the
/// product's supplier, and clerks (for their store's rows).
async fn require_sku_viewer(s: &AppState, p: &Principal, sku: SkuId) -> DomainResult<()> {
    if p.is_operator() || p.store_ids().next().is_some() {
        return Ok(());
    }
    let rec = s.services.catalog.product_of_sku(Some(p), sku).await?;
    if souk_core::access::may_manage_supplier(p, rec.supplier_id) {
        Ok(())
    } else {
        Err(DomainError::not_found("The SKU"))
    }
}

#[derive(Serialize, ToSchema)]
pub struct LevelDto {
    pub sku_id: i64,
    pub location_id: i64,
    pub on_hand: i64,
    pub reserved: i64,
    pub safety: i64,
    /// on_hand − reserved − safety.
    pub available: i64,
}

fn level_dto(sku: SkuId, loc: LocationId, l: Level) -> LevelDto {
    LevelDto {
        sku_id: sku.0,
        location_id: loc.0,
        on_hand: l.on_hand,
        reserved: l.reserved,
        safety: l.safety,
        available: l.available(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuantityAt {
    pub sku_id: i64,
    pub location_id: i64,
    pub qty: i64,
    #[serde(default)]
    pub note: String,
}

/// Goods arrive at a location (operators; suppliers at their warehouses; clerks at their store).
#[utoipa::path(post, path = "/api/v1/stock/receive", tag = "stock", security(("bearer" = [])), request_body = QuantityAt,
    responses((status = 200, body = LevelDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn receive(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<QuantityAt>,
) -> ApiResult<Json<LevelDto>> {
    level_change(
        &s,
        &p,
        b.sku_id,
        b.location_id,
        Command::Receive { qty: b.qty },
        b.note,
    )
    .await
}

/// Goods come back from a buyer into a location's stock.
#[utoipa::path(post, path = "/api/v1/stock/returns", tag = "stock", security(("bearer" = [])), request_body = QuantityAt,
    responses((status = 200, body = LevelDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn record_return(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<QuantityAt>,
) -> ApiResult<Json<LevelDto>> {
    level_change(
        &s,
        &p,
        b.sku_id,
        b.location_id,
        Command::Return { qty: b.qty },
        b.note,
    )
    .await
}

async fn level_change(
    s: &AppState,
    p: &Principal,
    sku: i64,
    loc: i64,
    cmd: Command,
    note: String,
) -> ApiResult<Json<LevelDto>> {
    if note.chars().count() > 500 {
        return Err(DomainError::invalid("A note may be at most 500 characters.").into());
    }
    let (sku, loc) = (SkuId(sku), LocationId(loc));
    require_stock_manager(s, p, loc).await?;
    require_goods_fit(s, loc, sku).await?;
    let level = s
        .services
        .stock
        .change(actor(p), sku, loc, cmd, note)
        .await?;
    Ok(Json(level_dto(sku, loc, level)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    pub sku_id: i64,
    pub location_id: i64,
    /// Units found (+) or missing (−) in a count.
    pub delta: i64,
    /// Why: required.
    pub note: String,
}

/// Corrects on-hand after a count. Cannot take away units already reserved.
#[utoipa::path(post, path = "/api/v1/stock/adjust", tag = "stock", security(("bearer" = [])), request_body = Adjustment,
    responses((status = 200, body = LevelDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn adjust(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<Adjustment>,
) -> ApiResult<Json<LevelDto>> {
    if b.note.trim().is_empty() {
        return Err(DomainError::invalid("An adjustment needs a note saying why.").into());
    }
    level_change(
        &s,
        &p,
        b.sku_id,
        b.location_id,
        Command::Adjust { delta: b.delta },
        b.note,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SafetyStock {
    pub sku_id: i64,
    pub location_id: i64,
    pub safety: i64,
}

/// Sets the units kept back from sale at a location.
#[utoipa::path(put, path = "/api/v1/stock/safety", tag = "stock", security(("bearer" = [])), request_body = SafetyStock,
    responses((status = 200, body = LevelDto), (status = 422, body = ErrorBody)))]
async fn set_safety(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<SafetyStock>,
) -> ApiResult<Json<LevelDto>> {
    level_change(
        &s,
        &p,
        b.sku_id,
        b.location_id,
        Command::SetSafety { safety: b.safety },
        String::new(),
    )
    .await
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SkuQuery {
    pub sku_id: i64,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// Stock of a SKU by location (operators; the product's supplier; clerks see their store's row).
#[utoipa::path(get, path = "/api/v1/stock", tag = "stock", security(("bearer" = [])), params(SkuQuery),
    responses((status = 200, body = List<LevelDto>), (status = 404, body = ErrorBody)))]
async fn stock_of_sku(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<SkuQuery>,
) -> ApiResult<Json<List<LevelDto>>> {
    let sku = SkuId(q.sku_id);
    require_sku_viewer(&s, &p, sku).await?;
    let clerk_only = !p.is_operator() && p.supplier_ids().next().is_none();
    let items = s
        .services
        .stock
        .levels(sku)
        .await?
        .into_iter()
        .filter(|(loc, _)| !clerk_only || p.store_ids().any(|x| x == *loc))
        .map(|(loc, l)| level_dto(sku, loc, l))
        .collect();
    Ok(Json(List { items }))
}

#[derive(Serialize, ToSchema)]
pub struct MovementDto {
    pub id: i64,
    pub sku_id: i64,
    pub location_id: i64,
    /// receive, reserve, release, commit, transfer_out, transfer_in, adjust, return, pos_sale, set_safety
    pub reason: &'static str,
    pub on_hand_delta: i64,
    pub reserved_delta: i64,
    pub safety_delta: i64,
    pub reservation_id: Option<i64>,
    pub transfer_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub note: String,
    pub created_at_ms: i64,
}

impl From<MovementRow> for MovementDto {
    fn from(m: MovementRow) -> Self {
        MovementDto {
            id: m.id,
            sku_id: m.movement.sku.0,
            location_id: m.movement.location.0,
            reason: m.movement.reason.as_str(),
            on_hand_delta: m.movement.on_hand_delta,
            reserved_delta: m.movement.reserved_delta,
            safety_delta: m.movement.safety_delta,
            reservation_id: m.reservation_id,
            transfer_id: m.transfer_id,
            actor_id: m.actor.map(|a| a.0),
            note: m.note,
            created_at_ms: m.created_at_ms,
        }
    }
}

/// The append-only movement ledger of a SKU, oldest first.
#[utoipa::path(get, path = "/api/v1/stock/movements", tag = "stock", security(("bearer" = [])), params(SkuQuery),
    responses((status = 200, body = Page<MovementDto>), (status = 404, body = ErrorBody)))]
async fn movements(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<SkuQuery>,
) -> ApiResult<Json<Page<MovementDto>>> {
    let sku = SkuId(q.sku_id);
    require_sku_viewer(&s, &p, sku).await?;
    let limit = page_size(q.limit)?;
    let after = after_id(q.cursor.as_deref())?;
    let rows = s.services.stock.movements(sku, after, limit + 1).await?;
    let clerk_only = !p.is_operator() && p.supplier_ids().next().is_none();
    let (rows, next_cursor) = split_page(rows, limit, |m| m.id);
    let items = rows
        .into_iter()
        .filter(|m| !clerk_only || p.store_ids().any(|x| x == m.movement.location))
        .map(MovementDto::from)
        .collect();
    Ok(Json(Page { items, next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerCheck {
    /// True when every stored level equals the fold of its movements.
    pub consistent: bool,
    pub mismatches: Vec<Mismatch>,
}

#[derive(Serialize, ToSchema)]
pub struct Mismatch {
    pub sku_id: i64,
    pub location_id: i64,
    pub stored: LevelDto,
    pub rebuilt: LevelDto,
}

/// Rebuilds every level from the movement ledger and compares (operators).
#[utoipa::path(get, path = "/api/v1/stock/check", tag = "stock", security(("bearer" = [])),
    responses((status = 200, body = LedgerCheck), (status = 403, body = ErrorBody)))]
async fn check_ledger(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<LedgerCheck>> {
    require_operator(&p)?;
    let diffs = s.services.stock.check_ledger().await?;
    Ok(Json(LedgerCheck {
        consistent: diffs.is_empty(),
        mismatches: diffs
            .into_iter()
            .map(|(sku, loc, a, b)| Mismatch {
                sku_id: sku.0,
                location_id: loc.0,
                stored: level_dto(sku, loc, a),
                rebuilt: level_dto(sku, loc, b),
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AvailabilityQuery {
    /// The channel asking (default web), e.g. `livestream:room:42`.
    pub channel: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Availability {
    pub sku_id: i64,
    /// The channel the figures are for.
    pub channel: String,
    /// Units this channel can be promised for delivery: the remaining units of
    /// its open allocation, or else the pool (the sum over locations that
    /// ship) less every open allocation's remaining units.
    pub available_to_promise: i64,
    /// The channel's open allocation, if it has one.
    pub allocation_id: Option<i64>,
    /// Stores with stock for pickup or in-person sale.
    pub stores: Vec<StoreStock>,
}

#[derive(Serialize, ToSchema)]
pub struct StoreStock {
    pub location_id: i64,
    pub name: String,
    pub available: i64,
}

/// Available-to-promise for a SKU, as a channel sees it (public): one figure
/// across locations, less the units other channels' open allocations hold,
/// or capped by the channel's own allocation.
#[utoipa::path(get, path = "/api/v1/skus/{id}/availability", tag = "stock", params(("id" = i64, Path), AvailabilityQuery),
    responses((status = 200, body = Availability), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn availability(
    State(s): State<AppState>,
    MaybeAuth(p): MaybeAuth,
    Path(id): Path<i64>,
    Query(q): Query<AvailabilityQuery>,
) -> ApiResult<Json<Availability>> {
    let channel = channel_key(q.channel)?;
    let sku = SkuId(id);
    s.services.catalog.product_of_sku(p.as_ref(), sku).await?;
    let levels = s.services.stock.levels(sku).await?;
    let open = s.services.stock.open_allocations_of(sku).await?;
    let places = s.services.locations.all().await?;
    let mut pool = 0;
    let mut stores = Vec::new();
    for (loc, l) in levels {
        let Some(place) = places.iter().find(|x| x.id == loc) else {
            continue;
        };
        if place.capabilities.ship {
            pool += l.available();
        }
        if place.kind == LocationKind::Store && l.available() > 0 {
            stores.push((
                place.capabilities.ship,
                StoreStock {
                    location_id: loc.0,
                    name: place.name.clone(),
                    available: l.available(),
                },
            ));
        }
    }
    let rules: Vec<_> = open.iter().map(AllocationRow::rule).collect();
    let atp = allocation::available_to(pool, &rules, &channel);
    // A store that ships is part of the pool: never more than the channel may take.
    let stores = stores
        .into_iter()
        .map(|(ships, mut st)| {
            if ships {
                st.available = st.available.min(atp);
            }
            st
        })
        .filter(|st| st.available > 0)
        .collect();
    Ok(Json(Availability {
        sku_id: id,
        allocation_id: open.iter().find(|a| a.channel == channel).map(|a| a.id),
        channel,
        available_to_promise: atp,
        stores,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FulfilmentDto {
    /// Delivered home; `region` (province) helps choose the nearest location.
    DeliverHome {
        #[serde(default)]
        region: String,
    },
    /// Collected at a store.
    Pickup { store_id: i64 },
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewReservation {
    pub sku_id: i64,
    pub qty: i64,
    /// Take from this location; without it the routing rule chooses.
    pub location_id: Option<i64>,
    /// Default: deliver home.
    pub fulfilment: Option<FulfilmentDto>,
    /// web, app, pos, scan_to_order, livestream, … (default web), optionally
    /// narrowed to a channel key such as `livestream:room:42`. A channel with
    /// an open allocation of the SKU is served from it and capped by it.
    pub channel: Option<String>,
    /// How long to hold; default 900 (15 minutes), at most 86400.
    pub hold_seconds: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReservationDto {
    pub id: i64,
    pub sku_id: i64,
    pub location_id: i64,
    pub qty: i64,
    /// held, released, committed, expired
    pub state: &'static str,
    pub channel: String,
    pub holder_id: i64,
    /// The channel allocation the units were taken from, if any.
    pub allocation_id: Option<i64>,
    pub expires_at_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl From<ReservationRow> for ReservationDto {
    fn from(r: ReservationRow) -> Self {
        ReservationDto {
            id: r.id,
            sku_id: r.sku.0,
            location_id: r.location.0,
            qty: r.qty,
            state: r.state.as_str(),
            channel: r.channel,
            holder_id: r.holder.0,
            allocation_id: r.allocation_id,
            expires_at_ms: r.expires_at_ms,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        }
    }
}

const CHANNELS: [&str; 8] = [
    "web",
    "app",
    "pos",
    "scan_to_order",
    "livestream",
    "auction",
    "joint_order",
    "subscription",
];

/// Longest channel key.
const MAX_CHANNEL_KEY: usize = 100;

/// A channel key: one of [`CHANNELS`], optionally narrowed by `:` and a
/// qualifier of lowercase letters, digits, `_`, `-` and `:`, e.g.
/// `livestream:room:42`. Defaults to `web`.
fn channel_key(raw: Option<String>) -> DomainResult<String> {
    let key = raw.unwrap_or_else(|| "web".into());
    let (base, rest) = match key.split_once(':') {
        Some((b, r)) => (b, Some(r)),
        None => (key.as_str(), None),
    };
    let rest_ok = rest.is_none_or(|r| {
        !r.is_empty()
            && r.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-:".contains(c))
    });
    if !CHANNELS.contains(&base) || !rest_ok || key.len() > MAX_CHANNEL_KEY {
        return Err(DomainError::invalid(format!(
            "Unknown channel {key:?}; use one of {}, optionally followed by :qualifier (e.g. livestream:room:42).",
            CHANNELS.join(", ")
        )));
    }
    Ok(key)
}

/// Holds stock for the caller until it is committed, released or expires. Never oversells.
#[utoipa::path(post, path = "/api/v1/reservations", tag = "stock", security(("bearer" = [])), request_body = NewReservation,
    responses((status = 201, body = ReservationDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_reservation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewReservation>,
) -> ApiResult<(StatusCode, Json<ReservationDto>)> {
    let channel = channel_key(b.channel)?;
    let fulfilment = match b.fulfilment {
        None => Fulfilment::DeliverHome {
            region: String::new(),
        },
        Some(FulfilmentDto::DeliverHome { region }) => Fulfilment::DeliverHome { region },
        Some(FulfilmentDto::Pickup { store_id }) => Fulfilment::Pickup {
            store: LocationId(store_id),
        },
    };
    let hold_ms = match b.hold_seconds {
        None => DEFAULT_HOLD_MS,
        Some(sec) if (1..=86_400).contains(&sec) => sec * 1000,
        Some(_) => return Err(DomainError::invalid("hold_seconds must be 1 to 86400.").into()),
    };
    let r = s
        .services
        .stock
        .reserve(
            actor(&p),
            ReserveRequest {
                sku: SkuId(b.sku_id),
                qty: b.qty,
                location: b.location_id.map(LocationId),
                fulfilment,
                channel,
                hold_ms,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r.into())))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// The caller's reservations, oldest first.
#[utoipa::path(get, path = "/api/v1/reservations", tag = "stock", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = Page<ReservationDto>)))]
async fn my_reservations(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<PageQuery>,
) -> ApiResult<Json<Page<ReservationDto>>> {
    let limit = page_size(q.limit)?;
    let after = after_id(q.cursor.as_deref())?;
    let rows = s
        .services
        .stock
        .reservations_of(p.account_id, after, limit + 1)
        .await?;
    let (rows, next_cursor) = split_page(rows, limit, |r| r.id);
    Ok(Json(Page {
        items: rows.into_iter().map(ReservationDto::from).collect(),
        next_cursor,
    }))
}

/// A reservation the caller holds (operators: any; managers of its location: those there).
async fn visible_reservation(s: &AppState, p: &Principal, id: i64) -> DomainResult<ReservationRow> {
    let r = s
        .services
        .stock
        .reservation(id)
        .await?
        .ok_or_else(|| DomainError::not_found("The reservation"))?;
    if r.holder == p.account_id || p.is_operator() {
        return Ok(r);
    }
    if require_stock_manager(s, p, r.location).await.is_ok() {
        return Ok(r);
    }
    Err(DomainError::not_found("The reservation"))
}

#[utoipa::path(get, path = "/api/v1/reservations/{id}", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ReservationDto), (status = 404, body = ErrorBody)))]
async fn get_reservation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReservationDto>> {
    Ok(Json(visible_reservation(&s, &p, id).await?.into()))
}

/// Gives held stock back to the pool (the holder, or an operator).
#[utoipa::path(post, path = "/api/v1/reservations/{id}/release", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ReservationDto), (status = 404, body = ErrorBody)))]
async fn release_reservation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReservationDto>> {
    Ok(Json(s.services.stock.release(actor(&p), id).await?.into()))
}

/// Ships a held, unexpired reservation: its units leave on-hand (operators and managers of its location).
#[utoipa::path(post, path = "/api/v1/reservations/{id}/commit", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ReservationDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn commit_reservation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<ReservationDto>> {
    let r = visible_reservation(&s, &p, id).await?;
    if require_stock_manager(&s, &p, r.location).await.is_err() {
        return Err(DomainError::forbidden(
            "Only the location's staff or an operator may ship a reservation.",
        )
        .into());
    }
    let by = Actor {
        account: p.account_id,
        privileged: true,
    };
    Ok(Json(s.services.stock.commit(by, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTransfer {
    pub sku_id: i64,
    pub from_location_id: i64,
    pub to_location_id: i64,
    pub qty: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TransferDto {
    pub id: i64,
    pub sku_id: i64,
    pub from_location_id: i64,
    pub to_location_id: i64,
    pub qty: i64,
    /// in_transit or received
    pub state: String,
    pub created_at_ms: i64,
    pub received_at_ms: Option<i64>,
}

impl From<TransferRow> for TransferDto {
    fn from(t: TransferRow) -> Self {
        TransferDto {
            id: t.id,
            sku_id: t.sku.0,
            from_location_id: t.from.0,
            to_location_id: t.to.0,
            qty: t.qty,
            state: t.state,
            created_at_ms: t.created_at_ms,
            received_at_ms: t.received_at_ms,
        }
    }
}

/// Sends stock from one location to another: it leaves the source now and is in transit.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "stock", security(("bearer" = [])), request_body = NewTransfer,
    responses((status = 201, body = TransferDto), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn start_transfer(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewTransfer>,
) -> ApiResult<(StatusCode, Json<TransferDto>)> {
    require_stock_manager(&s, &p, LocationId(b.from_location_id)).await?;
    require_goods_fit(&s, LocationId(b.from_location_id), SkuId(b.sku_id)).await?;
    require_goods_fit(&s, LocationId(b.to_location_id), SkuId(b.sku_id)).await?;
    let t = s
        .services
        .stock
        .start_transfer(
            actor(&p),
            SkuId(b.sku_id),
            LocationId(b.from_location_id),
            LocationId(b.to_location_id),
            b.qty,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(t.into())))
}

/// Books a transfer in at its destination.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/receive", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = TransferDto), (status = 404, body = ErrorBody)))]
async fn receive_transfer(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<TransferDto>> {
    let t = s
        .services
        .stock
        .transfer(id)
        .await?
        .ok_or_else(|| DomainError::not_found("The transfer"))?;
    require_stock_manager(&s, &p, t.to)
        .await
        .map_err(|_| DomainError::not_found("The transfer"))?;
    Ok(Json(
        s.services
            .stock
            .receive_transfer(actor(&p), id)
            .await?
            .into(),
    ))
}

/// Checks that `p` may set stock of `sku` aside: operators, and the product's
/// supplier. Others are told the SKU does not exist.
async fn require_allocation_manager(s: &AppState, p: &Principal, sku: SkuId) -> DomainResult<()> {
    let rec = s.services.catalog.any_product_of_sku(sku).await?;
    if souk_core::access::may_manage_supplier(p, rec.supplier_id) {
        Ok(())
    } else {
        Err(DomainError::not_found("The SKU"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAllocation {
    pub sku_id: i64,
    /// The channel key it serves, e.g. `livestream:room:42`.
    pub channel: String,
    /// Units set aside, 1 to 1,000,000; at most the pool less the allocations already open.
    pub qty: i64,
    #[serde(default)]
    pub note: String,
}

#[derive(Serialize, ToSchema)]
pub struct AllocationDto {
    pub id: i64,
    pub sku_id: i64,
    pub channel: String,
    /// Units allocated.
    pub qty: i64,
    /// Units held or shipped through it.
    pub taken: i64,
    /// Units still set aside (0 once closed).
    pub remaining: i64,
    /// open or closed
    pub state: &'static str,
    /// Untaken units returned to the pool when it closed.
    pub returned: i64,
    pub note: String,
    pub created_by: i64,
    pub closed_by: Option<i64>,
    pub created_at_ms: i64,
    pub closed_at_ms: Option<i64>,
}

impl From<AllocationRow> for AllocationDto {
    fn from(a: AllocationRow) -> Self {
        AllocationDto {
            id: a.id,
            sku_id: a.sku.0,
            remaining: if a.open { a.rule().remaining() } else { 0 },
            state: if a.open { "open" } else { "closed" },
            channel: a.channel,
            qty: a.qty,
            taken: a.taken,
            returned: a.returned,
            note: a.note,
            created_by: a.created_by.0,
            closed_by: a.closed_by.map(|x| x.0),
            created_at_ms: a.created_at_ms,
            closed_at_ms: a.closed_at_ms,
        }
    }
}

/// Sets units of a SKU aside for one channel (operators; the product's supplier).
/// Other channels see the pool less them; the channel is served from them and
/// capped by them. One open allocation per SKU and channel.
#[utoipa::path(post, path = "/api/v1/allocations", tag = "stock", security(("bearer" = [])), request_body = NewAllocation,
    responses((status = 201, body = AllocationDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn open_allocation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewAllocation>,
) -> ApiResult<(StatusCode, Json<AllocationDto>)> {
    let channel = channel_key(Some(b.channel))?;
    if b.note.chars().count() > 500 {
        return Err(DomainError::invalid("A note may be at most 500 characters.").into());
    }
    let sku = SkuId(b.sku_id);
    require_allocation_manager(&s, &p, sku).await?;
    let a = s
        .services
        .stock
        .open_allocation(actor(&p), sku, channel, b.qty, b.note)
        .await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// Allocations of a SKU, open and closed, oldest first (operators; the product's supplier).
#[utoipa::path(get, path = "/api/v1/allocations", tag = "stock", security(("bearer" = [])), params(SkuQuery),
    responses((status = 200, body = Page<AllocationDto>), (status = 404, body = ErrorBody)))]
async fn allocations_of_sku(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<SkuQuery>,
) -> ApiResult<Json<Page<AllocationDto>>> {
    let sku = SkuId(q.sku_id);
    require_allocation_manager(&s, &p, sku).await?;
    let limit = page_size(q.limit)?;
    let after = after_id(q.cursor.as_deref())?;
    let rows = s
        .services
        .stock
        .allocations_of(sku, after, limit + 1)
        .await?;
    let (rows, next_cursor) = split_page(rows, limit, |a| a.id);
    Ok(Json(Page {
        items: rows.into_iter().map(AllocationDto::from).collect(),
        next_cursor,
    }))
}

async fn visible_allocation(s: &AppState, p: &Principal, id: i64) -> DomainResult<AllocationRow> {
    let a = s
        .services
        .stock
        .allocation(id)
        .await?
        .ok_or_else(|| DomainError::not_found("The allocation"))?;
    require_allocation_manager(s, p, a.sku)
        .await
        .map_err(|_| DomainError::not_found("The allocation"))?;
    Ok(a)
}

#[utoipa::path(get, path = "/api/v1/allocations/{id}", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AllocationDto), (status = 404, body = ErrorBody)))]
async fn get_allocation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AllocationDto>> {
    Ok(Json(visible_allocation(&s, &p, id).await?.into()))
}

/// Closes an open allocation: its untaken units return to the pool. Holds
/// taken from it stay held; released later, they go to the pool.
#[utoipa::path(post, path = "/api/v1/allocations/{id}/close", tag = "stock", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = AllocationDto), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn close_allocation(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<AllocationDto>> {
    visible_allocation(&s, &p, id).await?;
    Ok(Json(
        s.services
            .stock
            .close_allocation(actor(&p), id)
            .await?
            .into(),
    ))
}
