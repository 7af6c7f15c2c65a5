//! Locations: cloud warehouse, stores, supplier warehouses.

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::dto::List;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use souk_core::ids::{LocationId, SupplierId};
use souk_core::location::{Address, Capabilities, LocationKind};
use souk_engine::locations::{LocationInput, LocationPatch};
use souk_store::locations::LocationRow;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_locations, create_location))
        .routes(routes!(get_location, update_location))
        .routes(routes!(list_stores))
}

#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressDto {
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. `CN`.
    pub country: String,
}

impl From<AddressDto> for Address {
    fn from(a: AddressDto) -> Self {
        Address {
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

impl From<&Address> for AddressDto {
    fn from(a: &Address) -> Self {
        AddressDto {
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            region: a.region.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
        }
    }
}

/// What a location can do.
#[derive(Serialize, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CapabilitiesDto {
    #[serde(default)]
    pub ship: bool,
    #[serde(default)]
    pub pickup: bool,
    #[serde(default)]
    pub sell_in_person: bool,
}

impl From<CapabilitiesDto> for Capabilities {
    fn from(c: CapabilitiesDto) -> Self {
        Capabilities {
            ship: c.ship,
            pickup: c.pickup,
            sell_in_person: c.sell_in_person,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LocationDto {
    pub id: i64,
    /// `cloud_warehouse`, `store` or `supplier_warehouse`.
    pub kind: &'static str,
    pub name: String,
    pub supplier_id: Option<i64>,
    pub address: AddressDto,
    pub capabilities: CapabilitiesDto,
    pub created_at_ms: i64,
}

impl From<LocationRow> for LocationDto {
    fn from(l: LocationRow) -> Self {
        LocationDto {
            id: l.id.0,
            kind: l.kind.as_str(),
            name: l.name,
            supplier_id: l.supplier_id.map(|s| s.0),
            address: (&l.address).into(),
            capabilities: CapabilitiesDto {
                ship: l.capabilities.ship,
                pickup: l.capabilities.pickup,
                sell_in_person: l.capabilities.sell_in_person,
            },
            created_at_ms: l.created_at_ms,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLocationDto {
    /// `cloud_warehouse`, `store` or `supplier_warehouse`.
    #[schema(value_type = String)]
    pub kind: LocationKind,
    pub name: String,
    /// Only for a supplier warehouse created by an operator.
    pub supplier_id: Option<i64>,
    pub address: AddressDto,
    #[serde(default)]
    pub capabilities: CapabilitiesDto,
}

/// Locations the caller may see: all for operators, own warehouses for suppliers, own store for clerks.
#[utoipa::path(get, path = "/api/v1/locations", tag = "locations", security(("bearer" = [])),
    responses((status = 200, body = List<LocationDto>), (status = 401, body = ErrorBody)))]
async fn list_locations(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<List<LocationDto>>> {
    let items = s
        .services
        .locations
        .list(&p)
        .await?
        .into_iter()
        .map(LocationDto::from)
        .collect();
    Ok(Json(List { items }))
}

/// Creates a location: operators any; suppliers their own supplier warehouse.
#[utoipa::path(post, path = "/api/v1/locations", tag = "locations", security(("bearer" = [])), request_body = NewLocationDto,
    responses((status = 201, body = LocationDto), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_location(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<NewLocationDto>,
) -> ApiResult<(StatusCode, Json<LocationDto>)> {
    let row = s
        .services
        .locations
        .create(
            &p,
            LocationInput {
                kind: b.kind,
                name: b.name,
                supplier_id: b.supplier_id.map(SupplierId),
                address: b.address.into(),
                capabilities: b.capabilities.into(),
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

/// One location, if the caller may see it (else 404).
#[utoipa::path(get, path = "/api/v1/locations/{id}", tag = "locations", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = LocationDto), (status = 404, body = ErrorBody)))]
async fn get_location(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<LocationDto>> {
    Ok(Json(
        s.services.locations.get(&p, LocationId(id)).await?.into(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationPatchDto {
    pub name: Option<String>,
    pub address: Option<AddressDto>,
    pub capabilities: Option<CapabilitiesDto>,
}

/// Changes a location's name, address or capabilities.
#[utoipa::path(patch, path = "/api/v1/locations/{id}", tag = "locations", security(("bearer" = [])),
    params(("id" = i64, Path)), request_body = LocationPatchDto,
    responses((status = 200, body = LocationDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_location(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Json(b): Json<LocationPatchDto>,
) -> ApiResult<Json<LocationDto>> {
    let row = s
        .services
        .locations
        .update(
            &p,
            LocationId(id),
            LocationPatch {
                name: b.name,
                address: b.address.map(Into::into),
                capabilities: b.capabilities.map(Into::into),
            },
        )
        .await?;
    Ok(Json(row.into()))
}

#[derive(Serialize, ToSchema)]
pub struct StoreDto {
    pub id: i64,
    pub name: String,
    pub address: AddressDto,
    pub capabilities: CapabilitiesDto,
}

/// Stores, public: where buyers can pick up or shop in person.
#[utoipa::path(get, path = "/api/v1/stores", tag = "locations", responses((status = 200, body = List<StoreDto>)))]
async fn list_stores(State(s): State<AppState>) -> ApiResult<Json<List<StoreDto>>> {
    let items = s
        .services
        .locations
        .stores()
        .await?
        .into_iter()
        .map(|l| {
            let d = LocationDto::from(l);
            StoreDto {
                id: d.id,
                name: d.name,
                address: d.address,
                capabilities: d.capabilities,
            }
        })
        .collect();
    Ok(Json(List { items }))
}
