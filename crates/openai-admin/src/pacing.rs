//! Pacing under OpenAI's rate limits. The Admin API allows only a few
//! requests per minute per endpoint and answers 429 without saying when to
//! come back, so one 429 makes every clone of a [`crate::Client`] hold back
//! on that route: a shared "not before" time per route that each 429 pushes
//! out (by the server's hint, else by a backoff growing with the route's
//! recent 429s), and that successes let shrink again.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Default)]
pub(crate) struct Pacer {
    routes: Mutex<HashMap<String, RouteState>>,
}

#[derive(Debug)]
struct RouteState {
    not_before: Instant,
    /// 429s seen lately on this route; each success takes one off.
    strikes: u32,
}

impl Pacer {
    /// How long a request on `route` should wait before it is sent.
    pub fn wait_for(&self, route: &str) -> Duration {
        let routes = self.routes.lock().expect("pacer lock");
        routes
            .get(route)
            .map(|s| s.not_before.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// 429s seen lately on `route`, counting none yet for the one at hand.
    pub fn strikes(&self, route: &str) -> u32 {
        let routes = self.routes.lock().expect("pacer lock");
        routes.get(route).map_or(0, |s| s.strikes)
    }

    /// A 429 on `route`: nothing goes there for `delay` (or longer, if
    /// another request already pushed further). Returns the wait from now.
    pub fn limited(&self, route: &str, delay: Duration) -> Duration {
        let now = Instant::now();
        let mut routes = self.routes.lock().expect("pacer lock");
        let state = routes.entry(route.to_owned()).or_insert(RouteState {
            not_before: now,
            strikes: 0,
        });
        state.strikes = state.strikes.saturating_add(1);
        state.not_before = state.not_before.max(now + delay);
        state.not_before - now
    }

    /// A success on `route`: the backoff for its next 429 shrinks.
    pub fn succeeded(&self, route: &str) {
        let mut routes = self.routes.lock().expect("pacer lock");
        if let Some(state) = routes.get_mut(route) {
            state.strikes = state.strikes.saturating_sub(1);
            if state.strikes == 0 && state.not_before <= Instant::now() {
                routes.remove(route);
            }
        }
    }
}

/// A route key from an Admin API path's segments: the ids (every second
/// segment after the collection, e.g. `organization/projects/{id}`) are
/// generalised, since OpenAI limits per endpoint, not per object.
pub(crate) fn route_of(method: &reqwest::Method, segments: &[&str]) -> String {
    let path: Vec<&str> = segments
        .iter()
        .enumerate()
        .map(|(i, s)| if i >= 2 && i % 2 == 0 { "{id}" } else { s })
        .collect();
    format!("{method} /{}", path.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_generalise_ids() {
        let m = reqwest::Method::GET;
        assert_eq!(
            route_of(
                &m,
                &[
                    "organization",
                    "projects",
                    "proj_1",
                    "service_accounts",
                    "sa"
                ]
            ),
            "GET /organization/projects/{id}/service_accounts/{id}"
        );
        assert_eq!(
            route_of(&m, &["organization", "projects"]),
            "GET /organization/projects"
        );
    }

    #[tokio::test]
    async fn a_429_holds_the_route_back_and_successes_forgive() {
        let p = Pacer::default();
        assert_eq!(p.wait_for("r"), Duration::ZERO);
        let w = p.limited("r", Duration::from_secs(5));
        assert!(w > Duration::from_secs(4), "{w:?}");
        // A shorter hint never shortens the wait another request set.
        assert!(p.limited("r", Duration::from_secs(1)) > Duration::from_secs(4));
        assert!(p.wait_for("r") > Duration::from_secs(4));
        assert_eq!(p.wait_for("other"), Duration::ZERO);
        assert_eq!(p.strikes("r"), 2);
        p.succeeded("r");
        assert_eq!(p.strikes("r"), 1);
    }
}
