//! The API's one error type. Every failure becomes JSON `{error, message, field?}` with a 4xx or 5xx status;
//! the internals of a 5xx go to the log (with the request id), never into the body.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable machine-readable code, e.g. `not_found`, `invalid_address`.
    pub error: &'static str,
    /// What was wrong and what to do, for a person.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter is malformed.
    #[error("{message}")]
    BadRequest {
        /// Machine-readable code sent as the body's `error`, e.g. `invalid_address`.
        code: &'static str,
        /// What was wrong, for a person; sent as the body's `message` (also the `Display` text).
        message: String,
        /// Field at fault.
        field: Option<String>,
    },
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// No or unknown credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// The thing asked for existed and was withdrawn for good (a compromised issuer key).
    #[error("{0}")]
    Gone(String),
    /// The credentials lack a scope.
    #[error("{0}")]
    Forbidden(String),
    /// The body or batch is too large.
    #[error("{0}")]
    TooLarge(String),
    /// Well-formed, but the chain (or the policy) refuses it.
    #[error("{0}")]
    Unprocessable(String),
    /// The mirror or the node cannot answer right now.
    #[error("{0}")]
    Unavailable(String),
    /// Too many requests of this kind right now: try again after `retry_after` seconds.
    #[error("{message}")]
    TooMany {
        /// What was shed, for a person.
        message: String,
        /// Seconds to wait (the `Retry-After` header).
        retry_after: u64,
    },
    /// Something broke inside; the detail is logged, not returned.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// A malformed field.
    pub fn field(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
            field: Some(field.to_string()),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Connect { .. } => {
                Self::Unavailable("the database is unavailable; try again shortly".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::TooMany {
            message,
            retry_after,
        } = self
        {
            let body = ErrorBody {
                error: "too_many_requests",
                message,
                field: None,
            };
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(axum::http::header::RETRY_AFTER, retry_after.to_string())],
                Json(body),
            )
                .into_response();
        }
        let (status, code, message, field) = match self {
            ApiError::BadRequest {
                code,
                message,
                field,
            } => (StatusCode::BAD_REQUEST, code, message, field),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m, None),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m, None),
            ApiError::Gone(m) => (StatusCode::GONE, "gone", m, None),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m, None),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", m, None),
            ApiError::Unprocessable(m) => (StatusCode::UNPROCESSABLE_ENTITY, "refused", m, None),
            ApiError::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m, None),
            ApiError::TooMany { .. } => unreachable!("answered above"),
            ApiError::Internal(detail) => {
                let detail = crate::config::redact_urls(&detail);
                tracing::error!(%detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "something went wrong on our side; it has been logged with this request's id"
                        .into(),
                    None,
                )
            }
        };
        (
            status,
            Json(ErrorBody {
                error: code,
                message,
                field,
            }),
        )
            .into_response()
    }
}
