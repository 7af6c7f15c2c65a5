//! Locations: cloud warehouses, stores, supplier warehouses.

use crate::error::{StoreError, StoreResult};
use souk_core::ids::{LocationId, SupplierId};
use souk_core::location::{Address, Capabilities, LocationKind};
use sqlx::{Any, Executor, Row};

#[derive(Debug, Clone)]
pub struct LocationRow {
    pub id: LocationId,
    pub kind: LocationKind,
    pub name: String,
    pub supplier_id: Option<SupplierId>,
    pub address: Address,
    pub capabilities: Capabilities,
    pub created_at_ms: i64,
}

const COLUMNS: &str =
    "id, kind, name, supplier_id, address_json, can_ship, can_pickup, can_sell_in_person, created_at_ms";

fn from_row(r: &sqlx::any::AnyRow) -> StoreResult<LocationRow> {
    let kind: String = r.try_get("kind")?;
    let address: String = r.try_get("address_json")?;
    Ok(LocationRow {
        id: LocationId(r.try_get("id")?),
        kind: LocationKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("location kind {kind}")))?,
        name: r.try_get("name")?,
        supplier_id: r.try_get::<Option<i64>, _>("supplier_id")?.map(SupplierId),
        address: serde_json::from_str(&address).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        capabilities: Capabilities {
            ship: r.try_get::<i64, _>("can_ship")? != 0,
            pickup: r.try_get::<i64, _>("can_pickup")? != 0,
            sell_in_person: r.try_get::<i64, _>("can_sell_in_person")? != 0,
        },
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub struct NewLocation<'a> {
    pub kind: LocationKind,
    pub name: &'a str,
    pub supplier_id: Option<SupplierId>,
    pub address: &'a Address,
    pub capabilities: Capabilities,
}

pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    l: NewLocation<'_>,
    now_ms: i64,
) -> StoreResult<LocationId> {
    let address =
        serde_json::to_string(l.address).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO locations (kind, name, supplier_id, address_json, can_ship, can_pickup, can_sell_in_person, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(l.kind.as_str())
    .bind(l.name)
    .bind(l.supplier_id.map(|s| s.0))
    .bind(address)
    .bind(i64::from(l.capabilities.ship))
    .bind(i64::from(l.capabilities.pickup))
    .bind(i64::from(l.capabilities.sell_in_person))
    .bind(now_ms)
    .fetch_one(ex)
    .await?;
    Ok(LocationId(id))
}

pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: LocationId,
) -> StoreResult<Option<LocationRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM locations WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(ex)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn list_all<'e, E: Executor<'e, Database = Any>>(ex: E) -> StoreResult<Vec<LocationRow>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM locations ORDER BY id"))
        .fetch_all(ex)
        .await?;
    rows.iter().map(from_row).collect()
}

pub struct LocationChange<'a> {
    pub name: &'a str,
    pub address: &'a Address,
    pub capabilities: Capabilities,
}

pub async fn update<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: LocationId,
    c: LocationChange<'_>,
) -> StoreResult<bool> {
    let address =
        serde_json::to_string(c.address).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let r = sqlx::query(
        "UPDATE locations SET name = $1, address_json = $2, can_ship = $3, can_pickup = $4, can_sell_in_person = $5 \
         WHERE id = $6",
    )
    .bind(c.name)
    .bind(address)
    .bind(i64::from(c.capabilities.ship))
    .bind(i64::from(c.capabilities.pickup))
    .bind(i64::from(c.capabilities.sell_in_person))
    .bind(id.0)
    .execute(ex)
    .await?;
    Ok(r.rows_affected() == 1)
}
