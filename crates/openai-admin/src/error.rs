//! Typed errors of the Admin API client and of the token exchange. Their
//! `Display` is written to be shown to a Terraform user as is: what failed,
//! on which endpoint, the server's own words, and what to do.

use reqwest::{Method, StatusCode};

/// Environment variable the provider reads the admin key from.
pub const ADMIN_KEY_ENV: &str = "OPENAI_ADMIN_KEY";

/// What OpenAI's 401 for a restricted key says ("You have insufficient
/// permissions for this operation. Missing scopes: ...").
pub const MISSING_SCOPES: &str = "Missing scopes:";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Raised only when an Admin API method is called, so configurations that
    /// use nothing but the token exchange need no admin key.
    #[error(
        "no OpenAI Admin API key is configured: set `admin_api_key` in the provider block \
         or the environment variable {ADMIN_KEY_ENV}"
    )]
    MissingAdminKey,

    #[error("invalid OpenAI API client configuration: {0}")]
    Config(String),

    /// An id argument was empty: sending it would address a different
    /// endpoint (the collection) instead of failing.
    #[error("the {what} id is empty: an OpenAI object id is required here")]
    EmptyId { what: &'static str },

    /// An id argument was `.` or `..`, which a URL path would resolve away.
    #[error("the {what} id {id:?} is not an OpenAI object id (it is a path step); check the id")]
    PathStepId { what: &'static str, id: String },

    /// Any non-2xx answer from the Admin API.
    #[error("{}", status_message(*.status, message, code.as_deref(), param.as_deref(), request_id.as_deref(), method, path))]
    Status {
        status: StatusCode,
        message: String,
        /// The envelope's `type` (e.g. `invalid_request_error`); `None` when
        /// the body was not an OpenAI error envelope.
        kind: Option<String>,
        param: Option<String>,
        code: Option<String>,
        request_id: Option<String>,
        method: Method,
        path: String,
    },

    /// The request never got a complete answer (connect failure, reset,
    /// timeout), even after retries.
    #[error(
        "could not complete {method} {path} against the OpenAI Admin API after {attempts} \
         attempt(s): {detail}; check the provider's base URL and network access"
    )]
    Transport {
        method: Method,
        path: String,
        attempts: u32,
        detail: String,
        #[source]
        source: reqwest::Error,
    },

    /// A 2xx answer whose body is not what the endpoint documents. Neither
    /// the body nor the decoder's own message (which quotes values) is
    /// included: it may hold secrets (a new API key, an echoed admin key).
    #[error(
        "OpenAI Admin API returned an unexpected response body for {method} {path} \
         (HTTP {status}{}): {detail}",
        request_id.as_deref().map(|r| format!(", request id: {r}")).unwrap_or_default()
    )]
    Decode {
        method: Method,
        path: String,
        status: StatusCode,
        request_id: Option<String>,
        /// What is wrong and where, without values.
        detail: String,
    },

    /// 429s went on beyond the time one request may wait for them.
    #[error(
        "OpenAI kept rate limiting {method} {path}: after {attempts} attempt(s) and {waited_secs}s \
         of waiting, the next wait ({next_wait_secs}s) would exceed the rate limit budget; raise \
         the provider's `rate_limit_wait_seconds`, or run fewer operations at once (e.g. \
         `-parallelism=2`). Last answer: {source}"
    )]
    RateLimited {
        method: Method,
        path: String,
        attempts: u32,
        waited_secs: u64,
        next_wait_secs: u64,
        /// The last 429, as [`ApiError::Status`].
        source: Box<ApiError>,
    },

    /// The client's cancellation token fired while the request waited or
    /// was in flight.
    #[error(
        "{method} {path} was cancelled because the operation is being stopped{}",
        if *maybe_committed { "; the request had been sent, so it may have taken effect" } else { "" }
    )]
    Cancelled {
        method: Method,
        path: String,
        /// The request (or an earlier attempt of it) reached the server
        /// without an answer: it may have been carried out.
        maybe_committed: bool,
    },

    /// A list endpoint claimed more pages but gave no usable cursor.
    #[error("OpenAI Admin API pagination of {endpoint} cannot continue: {detail}")]
    Pagination { endpoint: String, detail: String },

    /// A create got no definite answer and the follow-up search for the
    /// object it may have made failed too, so retrying could duplicate it.
    #[error(
        "{method} {path} may or may not have created {what}: the response was lost and \
         looking for the object failed ({source}); check in the OpenAI dashboard before \
         retrying, and import the object if it exists"
    )]
    CreateOutcomeUnknown {
        method: Method,
        path: String,
        what: String,
        #[source]
        source: Box<ApiError>,
    },

    /// The answer's body was longer than the client reads.
    #[error(
        "OpenAI Admin API answered {method} {path} with HTTP {status} and a body longer than \
         {limit} bytes, which the provider does not read; check the provider's base URL"
    )]
    TooLarge {
        method: Method,
        path: String,
        status: StatusCode,
        limit: usize,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Decode { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            _ => None,
        }
    }

    /// The object does not exist (or belongs to another organization).
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND) && matches!(self, ApiError::Status { .. })
    }

    /// A 404 on a collection (a listing, or a create into one) rather than
    /// on one object: the collection always exists at OpenAI, so the base
    /// URL is wrong (most often missing its `/v1`).
    pub fn is_unknown_collection(&self) -> bool {
        match self {
            ApiError::Status { status, path, .. } if *status == StatusCode::NOT_FOUND => {
                // Top-level collections only: a nested one (a provider's
                // rules, a project's accounts) is missing with its parent.
                let path = path
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .trim_end_matches('/');
                matches!(
                    path,
                    "/organization/workload_identity_providers" | "/organization/projects"
                )
            }
            _ => false,
        }
    }

    /// The request ran out of time (after its retries).
    pub fn is_timeout(&self) -> bool {
        matches!(self, ApiError::Transport { source, .. } if source.is_timeout())
    }

    /// Cancelled after the request (a create, say) may have reached the
    /// server: the object may exist although no answer says so.
    pub fn cancelled_after_send(&self) -> bool {
        matches!(
            self,
            ApiError::Cancelled {
                maybe_committed: true,
                ..
            }
        )
    }

    pub fn is_conflict(&self) -> bool {
        self.status() == Some(StatusCode::CONFLICT) && matches!(self, ApiError::Status { .. })
    }

    /// A 409 for a name another object holds (not a limit, which OpenAI
    /// may also answer with 409).
    pub fn is_name_taken(&self) -> bool {
        self.is_conflict() && !self.is_limit_exceeded()
    }

    /// A documented limit (50 providers per organization, 50 rules per
    /// provider) was reached.
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(self, ApiError::Status { code: Some(code), .. } if code == "limit_exceeded")
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            ApiError::Status { request_id, .. } | ApiError::Decode { request_id, .. } => {
                request_id.as_deref()
            }
            _ => None,
        }
    }

    /// The request parameter the API blamed, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            ApiError::Status { param, .. } => param.as_deref(),
            _ => None,
        }
    }
}

fn status_message(
    status: StatusCode,
    message: &str,
    code: Option<&str>,
    param: Option<&str>,
    request_id: Option<&str>,
    method: &Method,
    path: &str,
) -> String {
    let mut out = format!("OpenAI Admin API returned {status} for {method} {path}: ");
    if let Some(code) = code {
        out.push_str(code);
        out.push_str(": ");
    }
    out.push_str(message);
    let extras: Vec<String> = [
        param.map(|p| format!("param: {p}")),
        request_id.map(|r| format!("request id: {r}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !extras.is_empty() {
        out.push_str(&format!(" ({})", extras.join(", ")));
    }
    match status {
        // OpenAI answers a key that is valid but restricted with 401 too;
        // "check the key is valid" would send the user the wrong way.
        StatusCode::UNAUTHORIZED if message.contains(MISSING_SCOPES) => out.push_str(&format!(
            "; the admin key is valid but restricted: give `admin_api_key` (or \
             {ADMIN_KEY_ENV}) a key with the missing scopes (api.management.read to \
             read, api.management.write to create, change or delete), or lift the \
             key's restriction in the organization's settings"
        )),
        StatusCode::UNAUTHORIZED => out.push_str(&format!(
            "; check that `admin_api_key` (or {ADMIN_KEY_ENV}) holds a valid Admin API key"
        )),
        StatusCode::FORBIDDEN => out.push_str(
            "; the admin key's owner needs permission to manage this organization's \
             Workload Identity Federation settings",
        ),
        _ => {}
    }
    out
}

/// Failures of the token exchange (`POST <token_exchange_url>`).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The token endpoint refused with an OAuth error body
    /// (`{"error": "...", "error_description": "..."}`).
    #[error("{}", oauth_message(url, *.status, error, error_description.as_deref(), request_id.as_deref()))]
    OAuth {
        url: String,
        status: StatusCode,
        error: String,
        error_description: Option<String>,
        request_id: Option<String>,
    },

    /// A non-2xx answer without an OAuth error body.
    #[error(
        "token exchange at {url} failed with HTTP {status}{}{}",
        detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default(),
        request_id.as_deref().map(|r| format!(" (request id: {r})")).unwrap_or_default()
    )]
    Status {
        url: String,
        status: StatusCode,
        detail: Option<String>,
        request_id: Option<String>,
    },

    #[error(
        "could not reach the token exchange endpoint {url} after {attempts} attempt(s): \
         {detail}; check `token_exchange_url` and network access"
    )]
    Transport {
        url: String,
        attempts: u32,
        detail: String,
        #[source]
        source: reqwest::Error,
    },

    /// A 2xx answer that is not a token response. Like
    /// [`ApiError::Decode`], it names no value from the body.
    #[error(
        "token exchange at {url} returned an unexpected response body (HTTP {status}{}): {detail}",
        request_id.as_deref().map(|r| format!(", request id: {r}")).unwrap_or_default()
    )]
    Decode {
        url: String,
        status: StatusCode,
        request_id: Option<String>,
        detail: String,
    },

    #[error("invalid token exchange configuration: {0}")]
    Config(String),

    /// 429s went on beyond the time one request may wait for them.
    #[error(
        "the token exchange at {url} kept answering 429 (rate limited): after {attempts} \
         attempt(s) and {waited_secs}s of waiting, the next wait ({next_wait_secs}s) would exceed \
         the rate limit budget; raise the provider's `rate_limit_wait_seconds` or exchange less often"
    )]
    RateLimited {
        url: String,
        attempts: u32,
        waited_secs: u64,
        next_wait_secs: u64,
    },

    /// The client's cancellation token fired while the exchange waited.
    #[error("the token exchange at {url} was cancelled while waiting to retry")]
    Cancelled { url: String },

    /// The answer's body was longer than the client reads.
    #[error(
        "the token exchange at {url} answered HTTP {status} with a body longer than {limit} \
         bytes, which the provider does not read; check `token_exchange_url`"
    )]
    TooLarge {
        url: String,
        status: StatusCode,
        limit: usize,
    },
}

impl ExchangeError {
    /// The OAuth `error` code (`invalid_grant`, `invalid_subject_token`, ...).
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            ExchangeError::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The known cause of an OAuth refusal, read from its code and the start
    /// of its description (see [`crate::refusal`]); `None` for other errors
    /// and for wording this crate does not know.
    pub fn refusal_reason(&self) -> Option<crate::refusal::Reason> {
        match self {
            ExchangeError::OAuth {
                error,
                error_description: Some(description),
                ..
            } => crate::refusal::Reason::classify(error, description),
            _ => None,
        }
    }
}

fn oauth_message(
    url: &str,
    status: StatusCode,
    error: &str,
    description: Option<&str>,
    request_id: Option<&str>,
) -> String {
    let mut out = format!("token exchange at {url} was refused with HTTP {status}: {error}");
    if let Some(d) = description {
        out.push_str(": ");
        out.push_str(d);
    }
    if let Some(r) = request_id {
        out.push_str(&format!(" (request id: {r})"));
    }
    let hint = match error {
        "invalid_grant" => Some(
            "check identity_provider_id and service_account_id, that the provider is enabled, \
             and that exactly one enabled federation rule matches the token's claims",
        ),
        "invalid_subject_token" => Some(
            "check the subject token: issuer and audience must equal the provider's, it must \
             be unexpired and signed by a key the provider trusts",
        ),
        "invalid_request" => Some("the request is missing a field or uses an unsupported value"),
        _ => None,
    };
    if let Some(hint) = hint {
        out.push_str("; ");
        out.push_str(hint);
    }
    out
}

/// An error and its causes on one line, for messages that must stand alone.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(cause) = cur {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conflict() -> ApiError {
        ApiError::Status {
            status: StatusCode::CONFLICT,
            message: "Organization already has 50 workload identity providers.".into(),
            kind: Some("invalid_request_error".into()),
            param: Some("name".into()),
            code: Some("limit_exceeded".into()),
            request_id: Some("req_123".into()),
            method: Method::POST,
            path: "/organization/workload_identity_providers".into(),
        }
    }

    #[test]
    fn status_display_is_a_ready_diagnostic() {
        assert_eq!(
            conflict().to_string(),
            "OpenAI Admin API returned 409 Conflict for POST \
             /organization/workload_identity_providers: limit_exceeded: Organization already \
             has 50 workload identity providers. (param: name, request id: req_123)"
        );
    }

    #[test]
    fn status_display_omits_absent_parts() {
        let e = ApiError::Status {
            status: StatusCode::NOT_FOUND,
            message: "No such provider.".into(),
            kind: None,
            param: None,
            code: None,
            request_id: None,
            method: Method::GET,
            path: "/organization/workload_identity_providers/wip_1".into(),
        };
        assert_eq!(
            e.to_string(),
            "OpenAI Admin API returned 404 Not Found for GET \
             /organization/workload_identity_providers/wip_1: No such provider."
        );
        assert!(e.is_not_found());
        assert!(!e.is_conflict());
        assert!(!e.is_limit_exceeded());
    }

    #[test]
    fn predicates() {
        let e = conflict();
        assert!(e.is_conflict());
        assert!(e.is_limit_exceeded());
        assert!(!e.is_not_found());
        assert_eq!(e.request_id(), Some("req_123"));
        assert!(!ApiError::MissingAdminKey.is_not_found());
    }

    #[test]
    fn unauthorized_says_what_to_fix() {
        let e = ApiError::Status {
            status: StatusCode::UNAUTHORIZED,
            message: "Incorrect API key provided.".into(),
            kind: Some("invalid_request_error".into()),
            param: None,
            code: Some("invalid_api_key".into()),
            request_id: None,
            method: Method::GET,
            path: "/organization/projects".into(),
        };
        let text = e.to_string();
        assert!(text.contains("401 Unauthorized"), "{text}");
        assert!(text.contains("admin_api_key"), "{text}");
        assert!(text.contains(ADMIN_KEY_ENV), "{text}");
    }

    #[test]
    fn missing_key_names_both_settings() {
        let text = ApiError::MissingAdminKey.to_string();
        assert!(text.contains("`admin_api_key`"));
        assert!(text.contains("OPENAI_ADMIN_KEY"));
    }

    #[test]
    fn oauth_display_keeps_code_and_description() {
        let e = ExchangeError::OAuth {
            url: "https://auth.openai.com/oauth/token".into(),
            status: StatusCode::BAD_REQUEST,
            error: "invalid_grant".into(),
            error_description: Some("Identity was rejected.".into()),
            request_id: Some("req_9".into()),
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "token exchange at https://auth.openai.com/oauth/token was refused with HTTP \
                 400 Bad Request: invalid_grant: Identity was rejected. (request id: req_9)"
            ),
            "{text}"
        );
        assert_eq!(e.oauth_error(), Some("invalid_grant"));
    }

    #[test]
    fn chain_joins_distinct_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let e = Outer(std::io::Error::other("inner cause"));
        assert_eq!(chain(&e), "outer: inner cause");
    }
}
