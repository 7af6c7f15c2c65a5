//! Health and metrics.

use crate::error::ErrorBody;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(prometheus_metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` when the database answers.
    pub status: &'static str,
    pub database: &'static str,
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    let dialect = match s.services.db.dialect() {
        souk_store::Dialect::Sqlite => "sqlite",
        souk_store::Dialect::Postgres => "postgres",
    };
    match s.services.db.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: dialect,
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: dialect,
                }),
            )
        }
    }
}

/// Metrics in Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text exposition", content_type = "text/plain")))]
async fn prometheus_metrics(State(s): State<AppState>) -> impl IntoResponse {
    metrics::gauge!("souk_catalog_cached_products")
        .set(s.services.catalog.cached_products() as f64);
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(),
    )
}
