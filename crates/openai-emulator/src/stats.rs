//! Request counters and the request log, for tests: Admin API and token
//! requests by route template
//! (`GET /v1/organization/workload_identity_providers/{id}`), the faults
//! injected by kind, and every such request in order. `/_emulator` routes
//! are neither counted nor logged.
//!
//! - `GET /_emulator/stats` → `{"requests_total", "by_route", "by_status",
//!   "faults_injected", "in_flight_max"}`, `by_status` counting responses by
//!   HTTP status (`"429"`), `in_flight_max` the most requests that were being
//!   served at once (from arrival to the end of the response's headers);
//! - `GET /_emulator/requests` → `{"requests": [...], "dropped": N}`, oldest
//!   first: each `{"method", "path", "query", "route", "authorization",
//!   "request_id"}`, where `authorization` is `null` (no header),
//!   `"admin_key"`, `"access_token"` (one the exchange issued) or `"other"`:
//!   never the credential itself. Only the newest [`MAX_LOGGED`] are kept;
//!   `dropped` counts the older ones;
//! - `POST /_emulator/requests/reset` empties the log;
//! - `POST /_emulator/stats/reset` zeroes the counters and empties the log;
//!   `in_flight_max` restarts from the requests being served at that moment.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::{App, RequestId};

/// How many requests the log keeps (the newest).
pub const MAX_LOGGED: usize = 10_000;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub requests_total: u64,
    pub by_route: BTreeMap<String, u64>,
    /// Responses by status code, e.g. `"429"`. A dropped connection counts
    /// under the status the handler would have sent.
    pub by_status: BTreeMap<String, u64>,
    pub faults_injected: BTreeMap<String, u64>,
    /// The most counted requests in flight at once since the last reset:
    /// how much concurrency a client (e.g. `-parallelism`) really produced.
    pub in_flight_max: u64,
}

/// What a request's `Authorization` header held, without the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    /// `Bearer <the emulator's admin key>`.
    AdminKey,
    /// `Bearer <the read-only admin key>` (`--read-only-admin-key`).
    ReadOnlyAdminKey,
    /// `Bearer <an access token the exchange issued>`.
    AccessToken,
    /// Anything else.
    Other,
}

/// One logged request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The route template the request matched.
    pub route: String,
    /// `None`: no `Authorization` header.
    pub authorization: Option<Credential>,
    /// The `x-request-id` the response carries.
    pub request_id: String,
}

#[derive(Default)]
struct Log {
    requests: VecDeque<RecordedRequest>,
    dropped: u64,
}

#[derive(Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
    log: Mutex<Log>,
    in_flight: AtomicU64,
    in_flight_max: AtomicU64,
}

/// Counts one request as in flight until dropped, so a request whose
/// connection is reset (its future dropped) still leaves the count.
struct InFlight<'a>(&'a Stats);

impl<'a> InFlight<'a> {
    fn enter(stats: &'a Stats) -> Self {
        let now = stats.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        stats.in_flight_max.fetch_max(now, Ordering::SeqCst);
        InFlight(stats)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Stats {
    pub fn record_request(&self, route: String) {
        let mut s = self.inner.lock().expect("stats lock");
        s.requests_total += 1;
        *s.by_route.entry(route).or_default() += 1;
    }

    pub fn record_status(&self, status: u16) {
        let mut s = self.inner.lock().expect("stats lock");
        *s.by_status.entry(status.to_string()).or_default() += 1;
    }

    pub fn record_fault(&self, kind: &str) {
        let mut s = self.inner.lock().expect("stats lock");
        *s.faults_injected.entry(kind.to_owned()).or_default() += 1;
    }

    fn log(&self, request: RecordedRequest) {
        let mut log = self.log.lock().expect("log lock");
        if log.requests.len() == MAX_LOGGED {
            log.requests.pop_front();
            log.dropped += 1;
        }
        log.requests.push_back(request);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut s = self.inner.lock().expect("stats lock").clone();
        s.in_flight_max = self.in_flight_max.load(Ordering::SeqCst);
        s
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        let log = self.log.lock().expect("log lock");
        log.requests.iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        *self.log.lock().expect("log lock") = Log::default();
    }

    pub fn reset(&self) {
        *self.inner.lock().expect("stats lock") = Snapshot::default();
        self.in_flight_max
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
        self.clear_requests();
    }
}

fn credential(app: &App, req: &Request) -> Option<Credential> {
    let value = req.headers().get(AUTHORIZATION)?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    Some(match token {
        Some(t) if app.is_admin_key(t) => Credential::AdminKey,
        Some(t) if app.is_read_only_admin_key(t) => Credential::ReadOnlyAdminKey,
        Some(t) if app.is_access_token(t) => Credential::AccessToken,
        _ => Credential::Other,
    })
}

/// Middleware on the counted routes (runs after routing, so the template is known).
pub async fn count(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    app.stats
        .record_request(format!("{} {template}", req.method()));
    app.stats.log(RecordedRequest {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().map(str::to_owned),
        route: template,
        authorization: credential(&app, &req),
        request_id: req
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default(),
    });
    let in_flight = InFlight::enter(&app.stats);
    let response = next.run(req).await;
    drop(in_flight);
    app.stats.record_status(response.status().as_u16());
    response
}

pub async fn get(State(app): State<Arc<App>>) -> Json<Snapshot> {
    Json(app.stats.snapshot())
}

pub async fn reset(State(app): State<Arc<App>>) -> Json<Snapshot> {
    app.stats.reset();
    Json(app.stats.snapshot())
}

pub async fn get_requests(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    let log = app.stats.log.lock().expect("log lock");
    Json(serde_json::json!({
        "requests": log.requests,
        "dropped": log.dropped,
    }))
}

pub async fn reset_requests(State(app): State<Arc<App>>) -> Json<serde_json::Value> {
    app.stats.clear_requests();
    Json(serde_json::json!({ "requests": [], "dropped": 0 }))
}
