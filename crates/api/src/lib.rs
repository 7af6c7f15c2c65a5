//! The HTTP interface of souk: REST under `/api/v1`, an OpenAPI document,
//! health and metrics, and the web pages. Handlers are thin: they extract,
//! call a service, and map the result.

pub mod auth;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod routes;
pub mod web;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use souk_engine::Services;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Limits of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Reads per second allowed per client address (0 = no limit).
    pub read_rate_per_sec: u32,
    /// Writes per second allowed per client credential or address (0 = no limit).
    pub write_rate_per_sec: u32,
    /// A request running longer than this is answered 503.
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 1024 * 1024,
            read_rate_per_sec: 50_000,
            write_rate_per_sec: 100,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    pub config: Arc<ApiConfig>,
    pub limits: Arc<middleware::Limits>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(services: Services, config: ApiConfig) -> Self {
        let limits = Arc::new(middleware::Limits::new(
            config.read_rate_per_sec,
            config.write_rate_per_sec,
        ));
        Self {
            services,
            config: Arc::new(config),
            limits,
            metrics: metrics_handle(),
        }
    }
}

/// The process-wide Prometheus recorder, installed on first use.
fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed; then ours just stays empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

#[derive(OpenApi)]
#[openapi(
    info(title = "souk", description = "A real-time commerce engine. Errors are `{code, message}`. Every mutating request accepts an `Idempotency-Key` header."),
    modifiers(&SecurityAddon),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        if let Some(c) = openapi.components.as_mut() {
            c.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The OpenAPI document, generated from the route annotations.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_router(ApiDoc::openapi()).split_for_parts().1
}

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let (api, doc) = routes::api_router(ApiDoc::openapi()).split_for_parts();
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.config.body_limit_bytes;
    let timeout = state.config.request_timeout;

    let api = api
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .route_layer(axum::middleware::from_fn(middleware::http_metrics))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.clone()),
            middleware::idempotency,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.limits.clone(),
            middleware::rate_limit,
        ))
        .with_state(state);

    Router::new()
        .merge(api)
        .merge(SwaggerUi::new("/api/docs").url("/api/openapi.json", doc))
        .fallback(web::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            body_limit,
            middleware::body_limit,
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            timeout,
        ))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            use axum::response::IntoResponse;
            error::ApiError::new(souk_core::ErrorCode::Internal, "The server hit a bug; it has been logged.").into_response()
        }))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("http", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, FastRequestUuid))
}

/// Request ids: random (version 4) UUIDs like `MakeRequestUuid`'s, drawn from
/// the thread's generator instead of a `getrandom` system call per request.
#[derive(Clone, Copy)]
struct FastRequestUuid;

impl MakeRequestId for FastRequestUuid {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut buf);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Background upkeep of the HTTP layer: fold recorded latencies into the
/// metrics summaries (every 5 s; unscraped, they would pile up in memory),
/// forget idle rate-limit entries and purge old idempotency keys (every minute).
pub fn spawn_upkeep(state: &AppState) -> tokio::task::JoinHandle<()> {
    let limits = state.limits.clone();
    let services = state.services.clone();
    let metrics = state.metrics.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        for n in 0u64.. {
            tick.tick().await;
            metrics.run_upkeep();
            if n % 12 != 0 {
                continue;
            }
            limits.shrink();
            match services.idempotency.purge().await {
                Ok(n) if n > 0 => {
                    tracing::info!(purged = n, "idempotency keys past retention removed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "idempotency purge failed"),
            }
        }
    })
}
