//! Path and query extractors whose rejections are the API's JSON errors (axum's own answer in plain text).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The route's path parameters, as axum's `Path`; a value that does not decode is a JSON 400
/// `invalid_path`.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

/// The query string, as axum's `Query`; one that does not decode is a JSON 400 `invalid_query`.
#[derive(Debug, Clone)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_path",
                message: format!("the URL path does not decode: {}", e.body_text()),
                field: None,
            })
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError::BadRequest {
                code: "invalid_query",
                message: format!("the query string does not decode: {}", e.body_text()),
                field: None,
            })
    }
}
