//! Extractors that turn bad input into our JSON errors instead of axum's plain text.

use crate::error::ApiError;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use souk_core::error::ErrorCode;

/// A JSON body. Malformed JSON is 400 `malformed_json`; a body of the wrong
/// shape (wrong types, unknown fields, missing fields) is 422 `invalid_body`;
/// a body over the limit is 413 `body_too_large`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(e) => Err(json_rejection(e)),
        }
    }
}

fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::JsonDataError(e) => ApiError::new(
            ErrorCode::InvalidBody,
            format!("The body does not fit: {}", e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::new(
            ErrorCode::MalformedJson,
            format!("The body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with Content-Type: application/json.",
        ),
        JsonRejection::BytesRejection(e) => {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::BodyTooLarge,
                    "The body is larger than this server accepts.",
                )
            } else {
                ApiError::new(
                    ErrorCode::MalformedJson,
                    format!("The body could not be read: {}", e.body_text()),
                )
            }
        }
        other => ApiError::new(ErrorCode::MalformedJson, other.body_text()),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Path parameters; a malformed one (say, a non-numeric id) is 404: such a resource cannot exist.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::new(
                ErrorCode::NotFound,
                format!("No such resource: {}", e.body_text()),
            )),
            Err(e) => Err(ApiError::new(ErrorCode::InvalidPath, e.body_text())),
        }
    }
}

/// Query parameters, with repeated keys (`attr=a:b&attr=c:d`) allowed; bad ones are 422 `invalid_query`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum_extra::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum_extra::extract::Query(v)) => Ok(Query(v)),
            Err(e) => Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("The query string does not fit: {e}"),
            )),
        }
    }
}
