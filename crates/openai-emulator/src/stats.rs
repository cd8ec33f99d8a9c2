//! Request counters for tests: Admin API and token requests by route
//! template (`GET /v1/organization/workload_identity_providers/{id}`), and the
//! faults injected by kind. `/_emulator` routes are not counted.
//!
//! `GET /_emulator/stats` → `{"requests_total", "by_route", "faults_injected"}`;
//! `POST /_emulator/stats/reset` zeroes everything.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;

use super::App;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    pub requests_total: u64,
    pub by_route: BTreeMap<String, u64>,
    pub faults_injected: BTreeMap<String, u64>,
}

#[derive(Default)]
pub struct Stats {
    inner: Mutex<Snapshot>,
}

impl Stats {
    pub fn record_request(&self, route: String) {
        let mut s = self.inner.lock().expect("stats lock");
        s.requests_total += 1;
        *s.by_route.entry(route).or_default() += 1;
    }

    pub fn record_fault(&self, kind: &str) {
        let mut s = self.inner.lock().expect("stats lock");
        *s.faults_injected.entry(kind.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> Snapshot {
        self.inner.lock().expect("stats lock").clone()
    }

    pub fn reset(&self) {
        *self.inner.lock().expect("stats lock") = Snapshot::default();
    }
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
    next.run(req).await
}

pub async fn get(State(app): State<Arc<App>>) -> Json<Snapshot> {
    Json(app.stats.snapshot())
}

pub async fn reset(State(app): State<Arc<App>>) -> Json<Snapshot> {
    app.stats.reset();
    Json(app.stats.snapshot())
}
