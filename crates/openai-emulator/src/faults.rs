//! Test knobs on the Admin API: added latency, random faults and scripted
//! faults.
//!
//! **Random faults.** With `--fault-rate F` a seeded RNG (`--fault-seed`)
//! makes that fraction of Admin API requests fail, the kind drawn uniformly
//! from:
//! - HTTP 500 (`server_error` envelope);
//! - HTTP 502 with an HTML body, as a gateway would send (clients must not
//!   assume JSON on 5xx);
//! - HTTP 503 (`server_error` envelope);
//! - HTTP 429 (`rate_limit_error` envelope, `Retry-After: 1`, `Retry-After-Ms: 1000`);
//! - connection reset: the TCP connection is closed (RST) before any response;
//! - lost response: the request IS processed (a write is committed), then the
//!   connection is reset instead of answering.
//!
//! `POST /_emulator/faults {"fault_rate": F}` changes the rate at run time.
//! The draw sequence is deterministic for a given seed and request order.
//! The token exchange never gets random faults.
//!
//! **Scripted faults** misbehave exactly as told, on the Admin API and on
//! `POST /oauth/token`. `POST /_emulator/faults/script` with
//! `{"rules": [RULE, ...]}` appends rules (also [`crate::RunningEmulator::script`]);
//! `GET` lists the rules not yet used up, `DELETE` drops them all. A rule is
//! `{"method", "path", "times" (default 1), "action"}`: `path` is either the
//! exact request path (`/v1/organization/projects/proj_1`) or the route
//! template (`/v1/organization/projects/{id}`). A request takes the first
//! rule that matches it, in the order added, and that rule's `times` counts
//! down; a request no rule matches is handled normally (random faults
//! included). `action` is one of (`{"type": ..., ...}`):
//! - `status {status}`: answer that status with an error envelope, without
//!   handling the request;
//! - `reply {status, headers, body}`: answer exactly this (headers is an
//!   object of strings; `content-type` defaults to JSON), without handling;
//! - `drop`: reset the connection without handling;
//! - `delay {ms}`: wait, then handle normally (to exceed a client timeout
//!   before anything happened);
//! - `commit_then_status {status}` / `commit_then_reply {...}`: handle the
//!   request (writes are committed), then answer this instead;
//! - `commit_then_drop`: handle, then reset the connection;
//! - `commit_then_delay {ms}`: handle, then hold the real answer;
//! - `commit_then_truncate`: handle, then send the real status and headers
//!   and break the body off halfway.
//!
//! Every fault, random or scripted, is counted in `GET /_emulator/stats`
//! (`faults_injected`, scripted ones as `scripted_<type>`).

use std::collections::BTreeMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Frame;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json_, json};

use super::App;
use super::errors::{ApiError, TYPE_INVALID_REQUEST, TYPE_RATE_LIMIT, TYPE_SERVER};
use super::server::ConnControl;
use openai_admin::models::{ErrorBody, ErrorEnvelope};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Status500,
    Status502,
    Status503,
    RateLimited,
    ConnectionReset,
    LostResponse,
}

impl Fault {
    const ALL: [Fault; 6] = [
        Fault::Status500,
        Fault::Status502,
        Fault::Status503,
        Fault::RateLimited,
        Fault::ConnectionReset,
        Fault::LostResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "http_500",
            Fault::Status502 => "http_502",
            Fault::Status503 => "http_503",
            Fault::RateLimited => "http_429",
            Fault::ConnectionReset => "connection_reset",
            Fault::LostResponse => "lost_response",
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("fault rate {0} is not between 0 and 1")]
pub struct BadRate(pub f64);

pub fn check_rate(rate: f64) -> Result<f64, BadRate> {
    if rate.is_finite() && (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(BadRate(rate))
    }
}

struct Inner {
    rate: f64,
    rng: StdRng,
}

pub struct Faults {
    inner: Mutex<Inner>,
    script: Mutex<Vec<FaultRule>>,
}

/// What a scripted rule does to the request it matches (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FaultAction {
    /// Answer this status with an error envelope; the request is not handled.
    Status { status: u16 },
    /// Answer exactly this; the request is not handled.
    Reply {
        status: u16,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: String,
    },
    /// Reset the connection; the request is not handled.
    Drop,
    /// Wait, then handle the request normally.
    Delay { ms: u64 },
    /// Handle the request, then answer this status with an error envelope.
    CommitThenStatus { status: u16 },
    /// Handle the request, then answer exactly this.
    CommitThenReply {
        status: u16,
        #[serde(default)]
        headers: BTreeMap<String, String>,
        #[serde(default)]
        body: String,
    },
    /// Handle the request, then reset the connection.
    CommitThenDrop,
    /// Handle the request, then hold the real answer this long.
    CommitThenDelay { ms: u64 },
    /// Handle the request, then break the real answer's body off halfway.
    CommitThenTruncate,
}

impl FaultAction {
    /// A reply without handling, with no extra headers.
    pub fn reply(status: u16, body: impl Into<String>) -> Self {
        FaultAction::Reply {
            status,
            headers: BTreeMap::new(),
            body: body.into(),
        }
    }

    /// A reply after handling, with no extra headers.
    pub fn commit_then_reply(status: u16, body: impl Into<String>) -> Self {
        FaultAction::CommitThenReply {
            status,
            headers: BTreeMap::new(),
            body: body.into(),
        }
    }

    /// Adds a header to a `Reply` or `CommitThenReply` (other actions are
    /// returned unchanged).
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        if let FaultAction::Reply { headers, .. } | FaultAction::CommitThenReply { headers, .. } =
            &mut self
        {
            headers.insert(name.to_ascii_lowercase(), value.into());
        }
        self
    }

    /// The name counted in the stats' `faults_injected`.
    fn stat_name(&self) -> &'static str {
        match self {
            FaultAction::Status { .. } => "scripted_status",
            FaultAction::Reply { .. } => "scripted_reply",
            FaultAction::Drop => "scripted_drop",
            FaultAction::Delay { .. } => "scripted_delay",
            FaultAction::CommitThenStatus { .. } => "scripted_commit_then_status",
            FaultAction::CommitThenReply { .. } => "scripted_commit_then_reply",
            FaultAction::CommitThenDrop => "scripted_commit_then_drop",
            FaultAction::CommitThenDelay { .. } => "scripted_commit_then_delay",
            FaultAction::CommitThenTruncate => "scripted_commit_then_truncate",
        }
    }

    /// Why this action cannot be carried out, naming the bad field.
    fn check(&self) -> Result<(), (&'static str, String)> {
        let status = |s: u16| {
            StatusCode::from_u16(s)
                .map(|_| ())
                .map_err(|_| ("status", format!("{s} is not an HTTP status (100..=999)")))
        };
        let headers = |h: &BTreeMap<String, String>| {
            for (name, value) in h {
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| ("headers", format!("'{name}' is not a header name")))?;
                HeaderValue::from_str(value).map_err(|_| {
                    (
                        "headers",
                        format!("the value of '{name}' is not a header value"),
                    )
                })?;
            }
            Ok(())
        };
        match self {
            FaultAction::Status { status: s } | FaultAction::CommitThenStatus { status: s } => {
                status(*s)
            }
            FaultAction::Reply {
                status: s,
                headers: h,
                ..
            }
            | FaultAction::CommitThenReply {
                status: s,
                headers: h,
                ..
            } => status(*s).and_then(|()| headers(h)),
            _ => Ok(()),
        }
    }
}

/// One scripted rule: the next `times` requests matching `method` and `path`
/// get `action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    pub method: String,
    /// The exact request path or the route template (`.../{id}`).
    pub path: String,
    #[serde(default = "one")]
    pub times: u32,
    pub action: FaultAction,
}

fn one() -> u32 {
    1
}

impl FaultRule {
    /// A rule for the next one matching request.
    pub fn new(method: &str, path: impl Into<String>, action: FaultAction) -> Self {
        FaultRule {
            method: method.to_ascii_uppercase(),
            path: path.into(),
            times: 1,
            action,
        }
    }

    /// The rule applies to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = n;
        self
    }

    fn matches(&self, method: &str, path: &str, template: Option<&str>) -> bool {
        self.method.eq_ignore_ascii_case(method)
            && (self.path == path || Some(self.path.as_str()) == template)
    }
}

/// A rejected script: which field of which rule, and why.
#[derive(Debug, thiserror::Error)]
#[error("rules[{index}].{field}: {message}")]
pub struct BadRule {
    pub index: usize,
    pub field: String,
    pub message: String,
}

/// Checks every rule before any is added, so a bad script adds nothing.
pub fn check_rules(rules: &[FaultRule]) -> Result<(), BadRule> {
    for (index, rule) in rules.iter().enumerate() {
        let bad = |field: &str, message: String| BadRule {
            index,
            field: field.to_owned(),
            message,
        };
        if rule.method.is_empty() || !rule.method.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad(
                "method",
                format!("'{}' is not an HTTP method", rule.method),
            ));
        }
        if !rule.path.starts_with('/') {
            return Err(bad(
                "path",
                format!("'{}' does not start with '/'", rule.path),
            ));
        }
        if rule.times == 0 {
            return Err(bad("times", "must be at least 1".to_owned()));
        }
        rule.action
            .check()
            .map_err(|(field, message)| bad(&format!("action.{field}"), message))?;
    }
    Ok(())
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Self {
        Faults {
            inner: Mutex::new(Inner {
                rate,
                rng: StdRng::seed_from_u64(seed),
            }),
            script: Mutex::new(Vec::new()),
        }
    }

    /// Appends rules (already checked) to the script.
    pub fn add_rules(&self, rules: impl IntoIterator<Item = FaultRule>) {
        let mut script = self.script.lock().expect("script lock");
        script.extend(rules.into_iter().map(|mut r| {
            r.method.make_ascii_uppercase();
            r
        }));
    }

    /// The rules not used up yet, with their remaining `times`.
    pub fn pending_rules(&self) -> Vec<FaultRule> {
        self.script.lock().expect("script lock").clone()
    }

    pub fn clear_rules(&self) {
        self.script.lock().expect("script lock").clear();
    }

    /// Takes one use of the first rule matching the request, if any.
    fn take_rule(&self, method: &str, path: &str, template: Option<&str>) -> Option<FaultAction> {
        let mut script = self.script.lock().expect("script lock");
        let i = script
            .iter()
            .position(|r| r.matches(method, path, template))?;
        script[i].times -= 1;
        let action = script[i].action.clone();
        if script[i].times == 0 {
            script.remove(i);
        }
        Some(action)
    }

    pub fn set_rate(&self, rate: f64) {
        self.inner.lock().expect("faults lock").rate = rate;
    }

    pub fn rate(&self) -> f64 {
        self.inner.lock().expect("faults lock").rate
    }

    /// Draws whether (and how) the next request fails.
    pub fn draw(&self) -> Option<Fault> {
        let mut inner = self.inner.lock().expect("faults lock");
        if inner.rate <= 0.0 {
            return None;
        }
        let roll: f64 = inner.rng.random();
        if roll >= inner.rate {
            return None;
        }
        let kind = inner.rng.random_range(0..Fault::ALL.len());
        Some(Fault::ALL[kind])
    }
}

/// Never completes: the connection task drops the request once it sees the
/// abort signal.
async fn abort_connection(ctl: Option<ConnControl>) -> Response {
    match ctl {
        Some(ctl) => {
            ctl.abort();
            std::future::pending::<Response>().await
        }
        // Not served by our accept loop (cannot happen in `start`): degrade
        // to a plain 500 rather than hanging.
        None => ApiError::server(
            StatusCode::INTERNAL_SERVER_ERROR,
            "emulated connection fault",
        )
        .into_response(),
    }
}

/// Middleware on the Admin API routes: latency first, then a scripted rule
/// if one matches, else maybe a random fault.
pub async fn inject(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
    let (req, next) = match scripted(&app, req, next).await {
        Ok(response) => return response,
        Err(unscripted) => unscripted,
    };
    let Some(fault) = app.faults.draw() else {
        return next.run(req).await;
    };
    app.stats.record_fault(fault.name());
    tracing::debug!(fault = fault.name(), path = %req.uri().path(), "injecting fault");
    let ctl = req.extensions().get::<ConnControl>().cloned();
    match fault {
        Fault::Status500 => ApiError::server(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server had an error while processing your request (emulated). Retry your request.",
        )
        .into_response(),
        Fault::Status502 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body>502 Bad Gateway (emulated)</body></html>",
        )
            .into_response(),
        Fault::Status503 => ApiError::server(
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is overloaded or not ready yet (emulated). Retry your request.",
        )
        .into_response(),
        Fault::RateLimited => ApiError::rate_limited().into_response(),
        Fault::ConnectionReset => abort_connection(ctl).await,
        Fault::LostResponse => {
            let _committed = next.run(req).await;
            abort_connection(ctl).await
        }
    }
}

/// Middleware on the token exchange: scripted rules only.
pub async fn inject_scripted(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    match scripted(&app, req, next).await {
        Ok(response) => response,
        Err((req, next)) => next.run(req).await,
    }
}

/// Carries out the first matching scripted rule, or hands the request back.
async fn scripted(app: &App, req: Request, next: Next) -> Result<Response, (Request, Next)> {
    let template = req.extensions().get::<MatchedPath>().map(|p| p.as_str());
    let Some(action) = app
        .faults
        .take_rule(req.method().as_str(), req.uri().path(), template)
    else {
        return Err((req, next));
    };
    app.stats.record_fault(action.stat_name());
    tracing::debug!(fault = action.stat_name(), path = %req.uri().path(), "scripted fault");
    let ctl = req.extensions().get::<ConnControl>().cloned();
    Ok(match action {
        FaultAction::Status { status } => status_reply(status),
        FaultAction::Reply {
            status,
            headers,
            body,
        } => exact_reply(status, &headers, body),
        FaultAction::Drop => abort_connection(ctl).await,
        FaultAction::Delay { ms } => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        FaultAction::CommitThenStatus { status } => {
            let _committed = next.run(req).await;
            status_reply(status)
        }
        FaultAction::CommitThenReply {
            status,
            headers,
            body,
        } => {
            let _committed = next.run(req).await;
            exact_reply(status, &headers, body)
        }
        FaultAction::CommitThenDrop => {
            let _committed = next.run(req).await;
            abort_connection(ctl).await
        }
        FaultAction::CommitThenDelay { ms } => {
            let response = next.run(req).await;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            response
        }
        FaultAction::CommitThenTruncate => truncate(next.run(req).await).await,
    })
}

fn status_code(status: u16) -> StatusCode {
    // Checked when the rule was added.
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An error envelope for `status`, typed as the API types it, with no
/// Retry-After (a test that wants one scripts a `reply`).
fn status_reply(status: u16) -> Response {
    let status = status_code(status);
    let (kind, code) = match status.as_u16() {
        429 => (TYPE_RATE_LIMIT, Some("rate_limit_exceeded")),
        500.. => (TYPE_SERVER, None),
        _ => (TYPE_INVALID_REQUEST, None),
    };
    let envelope = ErrorEnvelope {
        error: ErrorBody {
            message: format!("Scripted fault (emulated): HTTP {status}."),
            kind: kind.to_owned(),
            param: None,
            code: code.map(str::to_owned),
        },
    };
    (status, Json(envelope)).into_response()
}

fn exact_reply(status: u16, headers: &BTreeMap<String, String>, body: String) -> Response {
    let mut response = (status_code(status), body).into_response();
    let out = response.headers_mut();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in headers {
        // Checked when the rule was added.
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            out.insert(name, value);
        }
    }
    response
}

/// The real answer's status and headers, then half its body, then an error
/// (hyper then aborts the connection mid-body).
async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    let half = bytes.slice(..bytes.len() / 2);
    let body = BrokenBody {
        first: Some(half),
        // hyper flushes what it has only while the body is pending, so the
        // break comes a moment later: the client sees the status and a partial body.
        pause: Box::pin(tokio::time::sleep(Duration::from_millis(50))),
    };
    Response::from_parts(parts, Body::new(body))
}

/// A body that yields one chunk, pauses, then fails.
struct BrokenBody {
    first: Option<Bytes>,
    pause: Pin<Box<tokio::time::Sleep>>,
}

impl hyper::body::Body for BrokenBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(chunk) = self.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        match self.pause.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => Poll::Ready(Some(Err(std::io::Error::other(
                "scripted fault: the body breaks off here",
            )))),
        }
    }
}

/// `POST /_emulator/faults {"fault_rate": F}`.
pub async fn set_rate(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let rate = serde_json::from_slice::<Json_>(&body)
        .ok()
        .and_then(|v| v.get("fault_rate").and_then(Json_::as_f64));
    match rate.map(check_rate) {
        Some(Ok(rate)) => {
            app.faults.set_rate(rate);
            Json(json!({ "fault_rate": rate })).into_response()
        }
        _ => ApiError::invalid_value(
            "fault_rate",
            "Send {\"fault_rate\": F} with F between 0 and 1.",
        )
        .into_response(),
    }
}

pub async fn get_rate(State(app): State<Arc<App>>) -> Json<Json_> {
    Json(json!({ "fault_rate": app.faults.rate() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Script {
    rules: Vec<FaultRule>,
}

/// `POST /_emulator/faults/script {"rules": [...]}`: appends the rules and
/// answers with every pending rule.
pub async fn add_script(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let script: Script = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return ApiError::invalid_value(
                "rules",
                format!(
                    "Send {{\"rules\": [{{\"method\", \"path\", \"times\", \"action\": {{\"type\", ...}}}}]}}: {e}"
                ),
            )
            .into_response();
        }
    };
    if let Err(e) = check_rules(&script.rules) {
        return ApiError::invalid_value(format!("rules[{}].{}", e.index, e.field), e.to_string())
            .into_response();
    }
    app.faults.add_rules(script.rules);
    get_script(State(app)).await.into_response()
}

/// `GET /_emulator/faults/script`: the rules not used up yet.
pub async fn get_script(State(app): State<Arc<App>>) -> Json<Json_> {
    Json(json!({ "rules": app.faults.pending_rules() }))
}

/// `DELETE /_emulator/faults/script`: drops every pending rule.
pub async fn clear_script(State(app): State<Arc<App>>) -> Json<Json_> {
    app.faults.clear_rules();
    Json(json!({ "rules": [] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_deterministic_and_respect_the_rate() {
        let a = Faults::new(0.5, 42);
        let b = Faults::new(0.5, 42);
        let seq_a: Vec<_> = (0..50).map(|_| a.draw()).collect();
        let seq_b: Vec<_> = (0..50).map(|_| b.draw()).collect();
        assert_eq!(seq_a, seq_b);
        assert!(seq_a.iter().any(Option::is_some));
        assert!(seq_a.iter().any(Option::is_none));
        let never = Faults::new(0.0, 1);
        assert!((0..100).all(|_| never.draw().is_none()));
        let always = Faults::new(1.0, 1);
        assert!((0..100).all(|_| always.draw().is_some()));
    }
}
