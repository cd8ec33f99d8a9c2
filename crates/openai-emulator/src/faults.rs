//! Test knobs on the Admin API: added latency and injected faults.
//!
//! With `--fault-rate F` a seeded RNG (`--fault-seed`) makes that fraction of
//! Admin API requests fail, the kind drawn uniformly from:
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

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value as Json_, json};

use super::App;
use super::errors::ApiError;
use super::server::ConnControl;

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
}

impl Faults {
    pub fn new(rate: f64, seed: u64) -> Self {
        Faults {
            inner: Mutex::new(Inner {
                rate,
                rng: StdRng::seed_from_u64(seed),
            }),
        }
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

/// Middleware on the Admin API routes: latency first, then maybe a fault.
pub async fn inject(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    if !app.latency.is_zero() {
        tokio::time::sleep(app.latency).await;
    }
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
