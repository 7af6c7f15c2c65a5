//! Cross-cutting request handling: idempotency keys, per-client rate limits,
//! HTTP metrics. Each is one function, applied to every route in `lib.rs`.

use crate::error::ApiError;
use crate::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};
use souk_core::error::ErrorCode;
use souk_engine::idempotency::{parse_key, Begin};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::{Duration, Instant};

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn is_mutating(m: &Method) -> bool {
    matches!(
        *m,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

fn peer_ip(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "local".into())
}

/// Who a request is from, for idempotency scopes and write limits: the
/// credential when one is sent, else the peer address.
fn client_key(req: &Request) -> String {
    match req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(auth) => format!("t:{}", &hex::encode(Sha256::digest(auth.as_bytes()))[..32]),
        None => format!("ip:{}", peer_ip(req)),
    }
}

/// Stripe-style `Idempotency-Key` handling for every mutating request.
pub async fn idempotency(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !is_mutating(req.method()) {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match raw
        .to_str()
        .map_err(|_| ())
        .and_then(|k| parse_key(k).map_err(|_| ()))
    {
        Ok(k) => k.to_owned(),
        Err(()) => {
            return ApiError::new(
                ErrorCode::InvalidIdempotencyKey,
                "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID is ideal).",
            )
            .into_response()
        }
    };
    let scope = client_key(&req);
    let (parts, body) = req.into_parts();
    let bytes = match to_bytes(body, state.config.body_limit_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                ErrorCode::BodyTooLarge,
                "The body is larger than this server accepts.",
            )
            .into_response()
        }
    };
    let mut h = Sha256::new();
    h.update(parts.method.as_str().as_bytes());
    h.update(b"\n");
    h.update(parts.uri.to_string().as_bytes());
    h.update(b"\n");
    h.update(&bytes);
    let request_hash = hex::encode(h.finalize());

    let svc = &state.services.idempotency;
    match svc.begin(&scope, &key, &request_hash).await {
        Err(e) => ApiError(e).into_response(),
        Ok(Begin::Replay {
            status_code,
            content_type,
            body,
        }) => {
            let mut res = Response::new(Body::from(body));
            *res.status_mut() = StatusCode::from_u16(status_code).unwrap_or(StatusCode::OK);
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                res.headers_mut()
                    .insert(axum::http::header::CONTENT_TYPE, ct);
            }
            res.headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            res
        }
        Ok(Begin::Run) => {
            // Gives the key back if this future is dropped (timeout, panic,
            // client gone) before the response is stored.
            let mut claim = Claim {
                svc: svc.clone(),
                scope: scope.clone(),
                key: key.clone(),
                armed: true,
            };
            let res = next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
            let (rparts, rbody) = res.into_parts();
            let rbytes = match to_bytes(rbody, usize::MAX).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "could not buffer a response for idempotency");
                    let _ = svc.abandon(&scope, &key).await;
                    return ApiError::new(
                        ErrorCode::Internal,
                        "The response could not be stored; retry.",
                    )
                    .into_response();
                }
            };
            if rparts.status.is_server_error() {
                if let Err(e) = svc.abandon(&scope, &key).await {
                    tracing::error!(error = %e, "could not release an idempotency key");
                }
            } else {
                let ct = rparts
                    .headers
                    .get(axum::http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok());
                if let Err(e) = svc
                    .finish(&scope, &key, rparts.status.as_u16(), ct, &rbytes)
                    .await
                {
                    tracing::error!(error = %e, "could not store an idempotent response");
                }
            }
            claim.armed = false;
            Response::from_parts(rparts, Body::from(rbytes))
        }
    }
}

/// A running request's hold on its idempotency key, released if the request
/// is dropped before its response was stored or given up.
struct Claim {
    svc: std::sync::Arc<souk_engine::idempotency::Idempotency>,
    scope: String,
    key: String,
    armed: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.armed {
            self.svc.forget(&self.scope, &self.key);
        }
    }
}

/// Most of an over-long body that is read (and thrown away) before the 413 is
/// sent. A client that is still sending when the server answers and closes
/// gets a reset connection instead of the answer; reading the rest first lets
/// it see the 413, and keeps the connection usable.
const DRAIN_MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Longest time spent reading the rest of an over-long body.
const DRAIN_MAX_TIME: Duration = Duration::from_secs(10);

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::BodyTooLarge,
        format!("The body is larger than this server accepts ({limit} bytes)."),
    )
}

/// Reads and discards up to [`DRAIN_MAX_BYTES`] more of `body`; true if it ended.
async fn drain(body: Body, already: u64) -> bool {
    let mut stream = body.into_data_stream();
    let mut seen = already;
    let read_all = async {
        while let Some(chunk) = stream.next().await {
            let Ok(chunk) = chunk else { return false };
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > DRAIN_MAX_BYTES {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_MAX_TIME, read_all)
        .await
        .unwrap_or(false)
}

/// A 413 after draining what is left of the body; asks the client to close
/// the connection when the body could not be read to its end.
async fn refuse_too_large(body: Body, already: u64, limit: usize) -> Response {
    let ended = drain(body, already).await;
    let mut res = too_large(limit).into_response();
    if !ended {
        res.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    res
}

/// Enforces the body limit for every request that may carry a body, before
/// any handler: a declared length over the limit is refused at once, and a
/// chunked body is read up to the limit and refused when it goes past it.
pub async fn body_limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (parts, body) = req.into_parts();
    if let Some(n) = declared {
        if n > limit as u64 {
            let res = if n > DRAIN_MAX_BYTES {
                // Too much to read through: answer and close.
                let mut res = too_large(limit).into_response();
                res.headers_mut().insert(
                    axum::http::header::CONNECTION,
                    HeaderValue::from_static("close"),
                );
                res
            } else {
                refuse_too_large(body, 0, limit).await
            };
            return res;
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    // No declared length (chunked): buffer up to the limit.
    let mut stream = body.into_data_stream();
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(_) => {
                return ApiError::new(ErrorCode::MalformedJson, "The body could not be read.")
                    .into_response()
            }
        };
        if buf.len() + chunk.len() > limit {
            let already = (buf.len() + chunk.len()) as u64;
            drop(buf);
            return refuse_too_large(Body::from_stream(stream), already, limit).await;
        }
        buf.extend_from_slice(&chunk);
    }
    next.run(Request::from_parts(parts, Body::from(buf.freeze())))
        .await
}

/// The JSON 405 for a path that exists with another method.
pub async fn method_not_allowed(method: Method, uri: axum::http::Uri) -> Response {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        format!("{method} is not allowed on {}.", uri.path()),
    )
    .into_response()
}

type KeyedLimiter = RateLimiter<String, DefaultKeyedStateStore<String>, DefaultClock>;

/// Per-client request rates: reads by peer address, writes by credential.
pub struct Limits {
    reads: Option<KeyedLimiter>,
    writes: Option<KeyedLimiter>,
}

impl Limits {
    /// A rate of 0 turns that limit off. The burst is twice the rate.
    pub fn new(reads_per_sec: u32, writes_per_sec: u32) -> Self {
        let make = |r: u32| {
            NonZeroU32::new(r).map(|rate| {
                let burst = NonZeroU32::new(r.saturating_mul(2)).unwrap_or(rate);
                RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
            })
        };
        Self {
            reads: make(reads_per_sec),
            writes: make(writes_per_sec),
        }
    }

    /// Forgets idle clients so the tables stay bounded.
    pub fn shrink(&self) {
        for l in [&self.reads, &self.writes].into_iter().flatten() {
            l.retain_recent();
            l.shrink_to_fit();
        }
    }
}

pub async fn rate_limit(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let mutating = is_mutating(req.method());
    let limiter = if mutating {
        &limits.writes
    } else {
        &limits.reads
    };
    // The key is built only when that limit is on.
    if let Some(l) = limiter {
        let key = if mutating {
            client_key(&req)
        } else {
            peer_ip(&req)
        };
        if l.check_key(&key).is_err() {
            metrics::counter!("souk_http_rate_limited_total").increment(1);
            let mut res = ApiError::new(
                ErrorCode::RateLimited,
                "Too many requests from this client; slow down.",
            )
            .into_response();
            res.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("1"),
            );
            return res;
        }
    }
    next.run(req).await
}

/// Counts requests and times them, by route (not by raw path, to bound label cardinality).
pub async fn http_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    let (requests, duration) = route_metrics(route, &method, res.status());
    requests.increment(1);
    duration.record(start.elapsed().as_secs_f64());
    res
}

type RouteHandles = (metrics::Counter, metrics::Histogram);
type KeptHandles = HashMap<String, Vec<(Method, StatusCode, RouteHandles)>>;

/// Per route, the metric handles by method and status. Looking a handle up in
/// the recorder builds and hashes its labels on every request; this keeps
/// them, so a request costs a read lock and a short scan.
static ROUTE_METRICS: LazyLock<RwLock<KeptHandles>> = LazyLock::new(Default::default);

/// Combinations kept per route; past this (odd methods), handles are looked up each time.
const MAX_KEPT_PER_ROUTE: usize = 64;

fn route_metrics(route: &str, method: &Method, status: StatusCode) -> RouteHandles {
    let found = |m: &KeptHandles| {
        m.get(route).and_then(|v| {
            v.iter()
                .find(|(m, s, _)| m == method && *s == status)
                .map(|(_, _, h)| h.clone())
        })
    };
    if let Some(h) = ROUTE_METRICS.read().ok().as_deref().and_then(found) {
        return h;
    }
    let labels = || (method.as_str().to_owned(), route.to_owned());
    let (m, r) = labels();
    let requests = metrics::counter!("souk_http_requests_total", "method" => m, "route" => r, "status" => status.as_u16().to_string());
    let (m, r) = labels();
    let duration =
        metrics::histogram!("souk_http_request_duration_seconds", "method" => m, "route" => r);
    let handles = (requests, duration);
    if let Ok(mut map) = ROUTE_METRICS.write() {
        let kept = map.entry(route.to_owned()).or_default();
        if kept.len() < MAX_KEPT_PER_ROUTE
            && !kept.iter().any(|(m, s, _)| m == method && *s == status)
        {
            kept.push((method.clone(), status, handles.clone()));
        }
    }
    handles
}
