//! Every route, by capability. Each module's `router()` registers its
//! handlers together with their OpenAPI description.

pub mod accounts;
pub mod carts;
pub mod catalog;
pub mod coupons;
pub mod dto;
pub mod locations;
pub mod orders;
pub mod pos;
pub mod sign_in;
pub mod stock;
pub mod system;

use crate::AppState;
use utoipa_axum::router::OpenApiRouter;

pub fn api_router(doc: utoipa::openapi::OpenApi) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(doc)
        .merge(system::router())
        .merge(sign_in::router())
        .merge(accounts::router())
        .merge(catalog::router())
        .merge(coupons::router())
        .merge(locations::router())
        .merge(stock::router())
        .merge(orders::router())
        .merge(carts::router())
        .merge(pos::router())
}
