//! Request rate limits like OpenAI's Admin API (`--rate-limit-rpm N`): at
//! most N requests per route (method and path template, as the stats name
//! them), or per organization with `--rate-limit-scope org`, in any window
//! of the emulator's clock (60 s, or `--rate-limit-window-secs W`). Beyond
//! that: 429 `rate_limit_exceeded` with OpenAI's message and, like the real
//! API, no `Retry-After` unless `--rate-limit-retry-after` asks for one.
//! Timed by the emulator's clock in whole seconds, so a test either shifts
//! it forward instead of waiting a minute or runs a short real window.
//! Refused requests do not use up the window.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::App;
use super::errors::ApiError;

/// Length of the window by default, in seconds.
pub const DEFAULT_WINDOW_SECS: u32 = 60;

/// What one bucket covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RateLimitScope {
    /// One bucket per route template (`GET /v1/organization/projects/{id}`).
    #[default]
    Route,
    /// One bucket for every Admin API request.
    Org,
}

impl std::str::FromStr for RateLimitScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "route" => Ok(RateLimitScope::Route),
            "org" => Ok(RateLimitScope::Org),
            other => Err(format!("expected `route` or `org`, got `{other}`")),
        }
    }
}

/// The limiter's settings and its buckets: accepted requests' times
/// (emulator clock, Unix seconds), oldest first.
pub struct Limiter {
    rpm: Option<u32>,
    /// Seconds; at least 1.
    window: i64,
    retry_after: bool,
    scope: RateLimitScope,
    buckets: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl Limiter {
    pub fn new(
        rpm: Option<u32>,
        window_secs: u32,
        retry_after: bool,
        scope: RateLimitScope,
    ) -> Self {
        Limiter {
            rpm: rpm.filter(|n| *n > 0),
            window: i64::from(window_secs.max(1)),
            retry_after,
            scope,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Admits a request at `now`, or says how many seconds until it would be.
    fn admit(&self, route: &str, now: i64) -> Result<(), i64> {
        let Some(rpm) = self.rpm else { return Ok(()) };
        let key = match self.scope {
            RateLimitScope::Route => route,
            RateLimitScope::Org => "*",
        };
        let mut buckets = self.buckets.lock().expect("rate limit lock");
        let bucket = buckets.entry(key.to_owned()).or_default();
        // A clock shifted backwards must not keep old entries alive forever.
        bucket.retain(|t| *t > now - self.window && *t <= now);
        if bucket.len() >= rpm as usize {
            let oldest = bucket.front().copied().unwrap_or(now);
            return Err((oldest + self.window - now).max(1));
        }
        bucket.push_back(now);
        Ok(())
    }
}

/// Middleware on the Admin API routes (inside the counter, so refused
/// requests are counted too).
pub async fn limit(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let route = format!("{} {template}", req.method());
    match app.limiter.admit(&route, app.now()) {
        Ok(()) => next.run(req).await,
        Err(wait_secs) => {
            tracing::debug!(%route, wait_secs, "rate limit exceeded");
            let mut response = ApiError::too_many_requests().into_response();
            let headers = response.headers_mut();
            headers.remove("retry-after");
            headers.remove("retry-after-ms");
            if app.limiter.retry_after {
                headers.insert("retry-after", HeaderValue::from(wait_secs));
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_slides_per_route() {
        let l = Limiter::new(Some(2), DEFAULT_WINDOW_SECS, false, RateLimitScope::Route);
        assert_eq!(l.admit("GET /a", 100), Ok(()));
        assert_eq!(l.admit("GET /a", 110), Ok(()));
        assert_eq!(l.admit("GET /a", 120), Err(40));
        assert_eq!(l.admit("GET /b", 120), Ok(()));
        assert_eq!(l.admit("GET /a", 160), Ok(()));
        assert_eq!(l.admit("GET /a", 161), Err(9));
    }

    #[test]
    fn org_scope_shares_one_bucket_and_zero_is_off() {
        let l = Limiter::new(Some(1), DEFAULT_WINDOW_SECS, false, RateLimitScope::Org);
        assert_eq!(l.admit("GET /a", 0), Ok(()));
        assert_eq!(l.admit("GET /b", 0), Err(60));
        let off = Limiter::new(Some(0), DEFAULT_WINDOW_SECS, false, RateLimitScope::Org);
        assert!((0..100).all(|_| off.admit("GET /a", 0).is_ok()));
    }

    #[test]
    fn a_short_window_frees_after_its_own_span() {
        let l = Limiter::new(Some(2), 3, false, RateLimitScope::Route);
        assert_eq!(l.admit("GET /a", 100), Ok(()));
        assert_eq!(l.admit("GET /a", 101), Ok(()));
        assert_eq!(l.admit("GET /a", 102), Err(1));
        assert_eq!(l.admit("GET /a", 103), Ok(()));
        assert_eq!(l.admit("GET /a", 103), Err(1));
        // Zero would be no window at all: it is taken as one second.
        let l = Limiter::new(Some(1), 0, false, RateLimitScope::Route);
        assert_eq!(l.admit("GET /a", 5), Ok(()));
        assert_eq!(l.admit("GET /a", 5), Err(1));
        assert_eq!(l.admit("GET /a", 6), Ok(()));
    }
}
