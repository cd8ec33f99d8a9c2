//! Error responses of the emulator: the Admin API error envelope
//! (`docs/reference/openai-api.md#error-envelope`) and the OAuth error body of the token exchange
//! (`docs/reference/openai-api.md#token-exchange-refusals`).

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use openai_admin::models::{ErrorBody, ErrorEnvelope, OAuthError};
use openai_admin::refusal::Reason;

pub const TYPE_INVALID_REQUEST: &str = "invalid_request_error";
pub const TYPE_SERVER: &str = "server_error";
pub const TYPE_RATE_LIMIT: &str = "rate_limit_error";

/// The header with which OpenAI's servers tell clients whether to retry;
/// its value follows the client's own rule, so the two never disagree.
pub use openai_admin::retry::SHOULD_RETRY;

/// Whether a retry of a request answered with `status` can succeed.
pub fn should_retry(status: StatusCode) -> bool {
    openai_admin::retry::is_retryable_status(status)
}

/// One Admin API failure, rendered as `{"error":{"message","type","param","code"}}`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: Option<&'static str>,
        param: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            param,
            code,
        }
    }

    /// A required field is absent.
    pub fn missing(param: impl Into<String>) -> Self {
        let param = param.into();
        let message = format!("Missing required parameter: '{param}'.");
        Self::new(
            StatusCode::BAD_REQUEST,
            TYPE_INVALID_REQUEST,
            Some("missing_required_parameter"),
            Some(param),
            message,
        )
    }

    /// A field has the wrong JSON type.
    pub fn invalid_type(param: impl Into<String>, expected: &str) -> Self {
        let param = param.into();
        let message = format!("Invalid type for '{param}': expected {expected}.");
        Self::new(
            StatusCode::BAD_REQUEST,
            TYPE_INVALID_REQUEST,
            Some("invalid_type"),
            Some(param),
            message,
        )
    }

    /// A field the endpoint does not accept.
    pub fn unknown_param(param: impl Into<String>, hint: &str) -> Self {
        let param = param.into();
        let message = format!("Unrecognized request argument supplied: '{param}'. {hint}")
            .trim_end()
            .to_owned();
        Self::new(
            StatusCode::BAD_REQUEST,
            TYPE_INVALID_REQUEST,
            Some("unknown_parameter"),
            Some(param),
            message,
        )
    }

    /// A field has the right type but a value the API refuses.
    pub fn invalid_value(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            TYPE_INVALID_REQUEST,
            Some("invalid_value"),
            Some(param.into()),
            message,
        )
    }

    /// The body is not JSON (or not an object).
    pub fn bad_json(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            TYPE_INVALID_REQUEST,
            Some("invalid_json"),
            None,
            message,
        )
    }

    pub fn unauthorized(message: impl Into<String>, code: Option<&'static str>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            TYPE_INVALID_REQUEST,
            code,
            None,
            message,
        )
    }

    /// The caller is known but lacks a scope: OpenAI answers 401 (not 403),
    /// `code: null`, "You have insufficient permissions for this operation.
    /// Missing scopes: ..." (`docs/reference/openai-api.md#error-envelope`).
    /// `why` (may be empty) follows the sentence.
    pub fn missing_scopes(scopes: &str, why: &str) -> Self {
        let message = format!(
            "You have insufficient permissions for this operation. Missing scopes: {scopes}. {why}"
        );
        Self::new(
            StatusCode::UNAUTHORIZED,
            TYPE_INVALID_REQUEST,
            None,
            None,
            message.trim_end(),
        )
    }

    /// Unknown or foreign id: never reveals whether it exists elsewhere.
    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            TYPE_INVALID_REQUEST,
            Some("not_found"),
            None,
            format!("No {what} found with id '{id}'."),
        )
    }

    /// An unknown path, or a known path with a method it does not take:
    /// OpenAI answers both with 404 "Invalid URL (METHOD /path)" and
    /// `code: null`, never 405.
    pub fn unknown_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            TYPE_INVALID_REQUEST,
            None,
            None,
            format!("Invalid URL ({method} {path})"),
        )
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            TYPE_INVALID_REQUEST,
            Some("limit_exceeded"),
            None,
            message,
        )
    }

    pub fn conflict(param: Option<&str>, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            TYPE_INVALID_REQUEST,
            Some("conflict"),
            param.map(str::to_owned),
            message,
        )
    }

    pub fn server(status: StatusCode, message: impl Into<String>) -> Self {
        Self::new(status, TYPE_SERVER, None, None, message)
    }

    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            TYPE_RATE_LIMIT,
            Some("rate_limit_exceeded"),
            None,
            "Rate limit reached for requests (emulated). Retry after 1 second.",
        )
    }

    /// OpenAI's answer beyond its request rate limit (no `Retry-After` there;
    /// the caller decides which headers to send).
    pub fn too_many_requests() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            TYPE_RATE_LIMIT,
            Some("rate_limit_exceeded"),
            None,
            "You're making too many requests, please slow down.",
        )
    }

    pub fn envelope(&self) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                message: self.message.clone(),
                kind: self.kind.to_owned(),
                param: self.param.clone(),
                code: self.code.map(str::to_owned),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.envelope())).into_response();
        // OpenAI's servers say whether a retry can help (its SDKs and
        // Terraform provider obey): yes for rate limits and server errors,
        // no for an answer about the request itself
        // (`docs/reference/openai-api.md#rate-limits-and-retries`).
        response.headers_mut().insert(
            SHOULD_RETRY,
            HeaderValue::from_static(if should_retry(self.status) {
                "true"
            } else {
                "false"
            }),
        );
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // Integer seconds (`docs/reference/openai-api.md#rate-limits-and-retries`), plus the
            // millisecond hint OpenAI also sends.
            let headers = response.headers_mut();
            headers.insert("retry-after", HeaderValue::from_static("1"));
            headers.insert("retry-after-ms", HeaderValue::from_static("1000"));
        }
        response
    }
}

/// A refused token exchange: the reason, and the failed check with its
/// specifics (rule ids, expected matcher values), which only the log and
/// `--verbose-refusals` responses carry.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{}: {description}", reason.code())]
pub struct ExchangeError {
    pub reason: Reason,
    /// The verbose description: the reason's message, then the check.
    pub description: String,
}

impl ExchangeError {
    /// `details` follow the reason's lead (ids, claim values, what to fix).
    pub fn new(reason: Reason, details: impl std::fmt::Display) -> Self {
        ExchangeError {
            reason,
            description: reason.describe(details),
        }
    }

    /// The answer: the reason's status, its OAuth code, and its message
    /// alone unless `verbose`.
    pub fn respond(self, verbose: bool) -> Response {
        let status = StatusCode::from_u16(self.reason.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = OAuthError {
            error: self.reason.code().as_str().to_owned(),
            error_description: Some(if verbose {
                self.description
            } else {
                self.reason.message().to_owned()
            }),
        };
        // A refusal repeats until the identity or the mapping changes.
        let headers = [(SHOULD_RETRY, HeaderValue::from_static("false"))];
        (status, headers, axum::Json(body)).into_response()
    }
}

impl From<openai_federation_rules::matching::Refusal> for ExchangeError {
    fn from(r: openai_federation_rules::matching::Refusal) -> Self {
        ExchangeError::new(r.reason, r.details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The emulator says "retry" exactly where the client would retry on the
    /// status alone: the client obeys the header, so a wider emulator rule
    /// would make it retry what OpenAI's SDKs give up on (501, 505).
    #[test]
    fn should_retry_agrees_with_the_clients_status_rule() {
        for code in [400, 404, 408, 409, 429, 500, 501, 502, 503, 504, 505] {
            let status = StatusCode::from_u16(code).unwrap();
            assert_eq!(
                should_retry(status),
                matches!(code, 408 | 429 | 500 | 502 | 503 | 504),
                "{code}"
            );
        }
    }
}
