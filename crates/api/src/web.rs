//! The pages in `web/`, embedded in the binary (read from disk in debug builds).

use crate::error::ApiError;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use souk_core::error::ErrorCode;

#[derive(rust_embed::RustEmbed)]
#[folder = "../../web/"]
struct Pages;

/// Serves a page or asset; unknown `/api/` paths get a JSON 404.
pub async fn fallback(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") {
        return ApiError::new(
            ErrorCode::RouteNotFound,
            format!("There is no API route {path}."),
        )
        .into_response();
    }
    let name = path.trim_start_matches('/');
    let name = if name.is_empty() { "index.html" } else { name };
    let candidates = [
        name.to_owned(),
        format!("{name}.html"),
        format!("{}/index.html", name.trim_end_matches('/')),
    ];
    for c in candidates.iter() {
        if let Some(file) = Pages::get(c) {
            let mime = file.metadata.mimetype().to_owned();
            let cache = if c.ends_with(".html") {
                "no-cache"
            } else {
                "public, max-age=300"
            };
            return (
                [
                    (header::CONTENT_TYPE, mime),
                    (header::CACHE_CONTROL, cache.to_owned()),
                ],
                file.data.into_owned(),
            )
                .into_response();
        }
    }
    match Pages::get("404.html") {
        Some(f) => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            f.data.into_owned(),
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "Not found").into_response(),
    }
}
