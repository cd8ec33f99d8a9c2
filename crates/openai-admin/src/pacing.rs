//! Pacing under OpenAI's rate limits. The Admin API allows only a few
//! requests per window (a minute) per endpoint and answers 429 without
//! saying when to come back, so one 429 makes every clone of a
//! [`crate::Client`] hold back on that route: a shared "not before" time per
//! route that each 429 pushes out.
//!
//! How far ("paced window", `docs/reference/openai-api.md#rate-limits-and-retries`):
//! each route remembers when the non-429 replies of its last window arrived
//! (the server admitted those requests, and counted them no later than
//! that). After a 429 without a hint the route waits until the oldest of
//! them is a window old, plus a margin, when a window this client filled
//! has room again. When nothing of ours is in the window (someone else
//! fills it), or that estimate has failed several times within a window
//! (someone else shares the limit), the backoff growing with the route's
//! recent 429s decides instead, or as well.
//!
//! The same 429 teaches the route its limit `L`: the replies of ours in the
//! window. Once `L` is known, a request waits before it is sent while the
//! window's replies and the requests in flight on the route reach `L`, so
//! later windows send no 429s at all. With the window set to zero only the
//! backoff is used.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Added to the window: a server that counts in whole seconds (as the
/// emulator does) or from a little before its answer left must have let
/// go of a request by then.
pub(crate) const WINDOW_MARGIN: Duration = Duration::from_millis(500);

/// A 429 on a request sent after the route's previous 429 (so the window
/// estimate or the learned limit let it go) is a miss. From this many
/// misses within one window on, the estimate is not trusted alone: the
/// limit is shared with someone else, and the backoff is the least wait.
const TRUSTED_MISSES: u32 = 3;

tokio::task_local! {
    /// The rate-limit waits of the requests made inside [`measure_waits`].
    static WAITED: std::cell::Cell<Duration>;
}

/// Runs `operation` and returns, with its output, how long its Admin API
/// requests waited on rate limits in all (held back by a learned limit or
/// waiting after a 429). Requests made on other tasks are not counted. Lets
/// the caller tell the user why an operation took long.
pub async fn measure_waits<F: std::future::Future>(operation: F) -> (F::Output, Duration) {
    WAITED
        .scope(std::cell::Cell::new(Duration::ZERO), async move {
            let output = operation.await;
            (output, WAITED.with(std::cell::Cell::get))
        })
        .await
}

/// Counts `wait` into the enclosing [`measure_waits`], if any.
pub(crate) fn note_wait(wait: Duration) {
    let _ = WAITED.try_with(|w| w.set(w.get() + wait));
}

#[derive(Debug)]
pub(crate) struct Pacer {
    /// The span of the API's rate-limit window; zero turns window pacing off.
    window: Duration,
    routes: Mutex<HashMap<String, RouteState>>,
    /// Wakes requests held by a learned limit when a request ends.
    ended: Notify,
}

#[derive(Debug)]
struct RouteState {
    not_before: Instant,
    /// 429s seen lately on this route; each success takes one off.
    strikes: u32,
    /// When each non-429 reply of the last window (plus margin) arrived,
    /// oldest first.
    answered: VecDeque<Instant>,
    /// Requests sent and not yet answered.
    in_flight: usize,
    /// Requests the server admits per window, as learned from 429s.
    limit: Option<usize>,
    /// When the last hintless 429 came.
    last_429: Option<Instant>,
    /// When the last reply of any kind came.
    last_reply: Option<Instant>,
    /// Misses (see [`TRUSTED_MISSES`]) since `first_miss`.
    misses: u32,
    first_miss: Option<Instant>,
}

impl RouteState {
    fn new(now: Instant) -> Self {
        RouteState {
            not_before: now,
            strikes: 0,
            answered: VecDeque::new(),
            in_flight: 0,
            limit: None,
            last_429: None,
            last_reply: None,
            misses: 0,
            first_miss: None,
        }
    }

    /// Drops replies older than `span`. A route idle for a whole window
    /// after its last reply left the window (nothing in flight, no reply or
    /// 429 for two spans) forgets its limit, so a limit learned too small
    /// lasts one busy stretch at most. One span would not do: requests held
    /// for the window wake just as its last replies leave it, and must still
    /// be held to the limit.
    fn prune(&mut self, now: Instant, span: Duration) {
        while self
            .answered
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= span)
        {
            self.answered.pop_front();
        }
        let idle =
            |t: Option<Instant>| t.is_none_or(|t| now.saturating_duration_since(t) >= 2 * span);
        if self.in_flight == 0 && idle(self.last_reply) && idle(self.last_429) {
            self.limit = None;
        }
    }
}

/// Why a 429 waits as long as it does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Delay {
    /// The server said (`Retry-After`).
    Hint(Duration),
    /// Until the oldest reply of ours in the window is a window old.
    Window(Duration),
    /// The backoff by recent 429s (nothing of ours in the window, or the
    /// window estimate keeps failing and the backoff is longer).
    Backoff(Duration),
}

impl Delay {
    pub fn duration(self) -> Duration {
        match self {
            Delay::Hint(d) | Delay::Window(d) | Delay::Backoff(d) => d,
        }
    }
}

/// A request may not be sent yet: the route's learned limit is reached.
#[derive(Debug, PartialEq)]
pub(crate) struct Held {
    /// Until the oldest reply in the window leaves it; `None` when only
    /// requests in flight fill the limit (wait for one to end).
    pub until: Option<Duration>,
}

impl Pacer {
    pub fn new(window: Duration) -> Self {
        Pacer {
            window,
            routes: Mutex::default(),
            ended: Notify::new(),
        }
    }

    fn span(&self) -> Duration {
        self.window + WINDOW_MARGIN
    }

    /// How long a request on `route` should wait before it is sent.
    pub fn wait_for(&self, route: &str) -> Duration {
        let routes = self.routes.lock().expect("pacer lock");
        routes
            .get(route)
            .map(|s| s.not_before.saturating_duration_since(Instant::now()))
            .unwrap_or_default()
    }

    /// 429s seen lately on `route`, counting none yet for the one at hand.
    #[cfg(test)]
    fn strikes(&self, route: &str) -> u32 {
        let routes = self.routes.lock().expect("pacer lock");
        routes.get(route).map_or(0, |s| s.strikes)
    }

    /// Takes a place on `route` for one send, unless its learned limit is
    /// reached: the replies in the window and the requests in flight.
    pub fn start<'a>(&'a self, route: &'a str) -> Result<Slot<'a>, Held> {
        let now = Instant::now();
        let mut routes = self.routes.lock().expect("pacer lock");
        let state = routes
            .entry(route.to_owned())
            .or_insert_with(|| RouteState::new(now));
        if !self.window.is_zero() {
            state.prune(now, self.span());
            if let Some(limit) = state.limit
                && state.answered.len() + state.in_flight >= limit
            {
                let until = state
                    .answered
                    .front()
                    .map(|t| (*t + self.span()).saturating_duration_since(now));
                return Err(Held { until });
            }
        }
        state.in_flight += 1;
        Ok(self.slot(route, now))
    }

    /// Takes a place on `route` whatever its limit (a wait that would pass
    /// the request's budget: the server then answers for itself).
    pub fn start_anyway<'a>(&'a self, route: &'a str) -> Slot<'a> {
        let now = Instant::now();
        let mut routes = self.routes.lock().expect("pacer lock");
        routes
            .entry(route.to_owned())
            .or_insert_with(|| RouteState::new(now))
            .in_flight += 1;
        self.slot(route, now)
    }

    fn slot<'a>(&'a self, route: &'a str, sent: Instant) -> Slot<'a> {
        Slot {
            pacer: self,
            route,
            sent,
            open: true,
        }
    }

    /// Resolves once some request ends after this call (for [`Held`] with
    /// no time). Create it before [`Pacer::start`] so no end is missed.
    pub fn ended(&self) -> tokio::sync::futures::Notified<'_> {
        self.ended.notified()
    }

    /// A send on `route` ended: with the reply's status, or without one.
    fn end(&self, route: &str, status: Option<u16>) {
        let now = Instant::now();
        {
            let mut routes = self.routes.lock().expect("pacer lock");
            if let Some(state) = routes.get_mut(route) {
                state.in_flight = state.in_flight.saturating_sub(1);
                if status.is_some() {
                    state.last_reply = Some(now);
                }
                match status {
                    Some(429) | None => {}
                    Some(status) => {
                        if !self.window.is_zero() {
                            state.prune(now, self.span());
                            state.answered.push_back(now);
                            // The server admitted more than we thought it would.
                            if let Some(limit) = state.limit.as_mut() {
                                *limit = (*limit).max(state.answered.len());
                            }
                        }
                        if (200..300).contains(&status) {
                            // A success: the backoff for the next 429 shrinks.
                            state.strikes = state.strikes.saturating_sub(1);
                        }
                    }
                }
            }
        }
        self.ended.notify_waiters();
    }

    /// A 429 without a hint on `route`, for a request sent at `sent`: learns
    /// the limit and chooses the wait (not yet applied: see
    /// [`Pacer::limited`]). `backoff` gives the backoff for a number of
    /// strikes.
    pub fn hintless_429(
        &self,
        route: &str,
        sent: Instant,
        backoff: impl FnOnce(u32) -> Duration,
    ) -> Delay {
        let now = Instant::now();
        let span = self.span();
        let mut routes = self.routes.lock().expect("pacer lock");
        let state = routes
            .entry(route.to_owned())
            .or_insert_with(|| RouteState::new(now));
        let frees = if self.window.is_zero() {
            None
        } else {
            state.prune(now, span);
            // The window is full: what of it is ours is at least the limit
            // (or all of it we may use). Never zero: that would hold
            // everything back for good.
            let ours = state.answered.len();
            if ours > 0 {
                state.limit = Some(state.limit.unwrap_or(0).max(ours));
            }
            if state.last_429.is_some_and(|t| sent > t) {
                if state
                    .first_miss
                    .is_none_or(|t| now.saturating_duration_since(t) >= span)
                {
                    state.misses = 0;
                    state.first_miss = Some(now);
                }
                state.misses += 1;
            }
            state.last_429 = Some(now);
            state
                .answered
                .front()
                .map(|t| (*t + span).saturating_duration_since(now))
        };
        let strikes = state.strikes;
        let trusted = state.misses < TRUSTED_MISSES;
        drop(routes);
        match frees {
            Some(frees) if trusted => Delay::Window(frees),
            Some(frees) => {
                let backoff = backoff(strikes);
                if backoff > frees {
                    Delay::Backoff(backoff)
                } else {
                    Delay::Window(frees)
                }
            }
            None => Delay::Backoff(backoff(strikes)),
        }
    }

    /// A 429 on `route`: nothing goes there for `delay` (or longer, if
    /// another request already pushed further). Returns the wait from now.
    pub fn limited(&self, route: &str, delay: Duration) -> Duration {
        let now = Instant::now();
        let mut routes = self.routes.lock().expect("pacer lock");
        let state = routes
            .entry(route.to_owned())
            .or_insert_with(|| RouteState::new(now));
        state.strikes = state.strikes.saturating_add(1);
        state.not_before = state.not_before.max(now + delay);
        state.not_before - now
    }

    #[cfg(test)]
    fn limit(&self, route: &str) -> Option<usize> {
        let routes = self.routes.lock().expect("pacer lock");
        routes.get(route).and_then(|s| s.limit)
    }
}

/// One send's place on its route: counted in flight until it ends, by
/// [`Slot::replied`] or by being dropped (no answer: cancelled or failed).
#[derive(Debug)]
pub(crate) struct Slot<'a> {
    pacer: &'a Pacer,
    route: &'a str,
    sent: Instant,
    open: bool,
}

impl Slot<'_> {
    /// When the place was taken, just before the request went out.
    pub fn sent(&self) -> Instant {
        self.sent
    }

    /// The server answered with `status`.
    pub fn replied(mut self, status: u16) {
        self.open = false;
        self.pacer.end(self.route, Some(status));
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if self.open {
            self.pacer.end(self.route, None);
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

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test]
    async fn waits_add_up_inside_measure_waits_only() {
        note_wait(Duration::from_secs(9)); // outside: counted nowhere
        let ((), waited) = measure_waits(async {
            note_wait(Duration::from_secs(2));
            tokio::task::yield_now().await;
            note_wait(Duration::from_millis(500));
        })
        .await;
        assert_eq!(waited, Duration::from_millis(2500));
        let ((), waited) = measure_waits(async {}).await;
        assert_eq!(waited, Duration::ZERO);
    }

    fn no_backoff(_: u32) -> Duration {
        panic!("the window decides")
    }

    /// `n` requests on `route`, each answered `status` at once.
    fn replies(p: &Pacer, route: &str, n: usize, status: u16) {
        for _ in 0..n {
            p.start(route).expect("not held").replied(status);
        }
    }

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
        let p = Pacer::new(MINUTE);
        assert_eq!(p.wait_for("r"), Duration::ZERO);
        let w = p.limited("r", Duration::from_secs(5));
        assert!(w > Duration::from_secs(4), "{w:?}");
        // A shorter hint never shortens the wait another request set.
        assert!(p.limited("r", Duration::from_secs(1)) > Duration::from_secs(4));
        assert!(p.wait_for("r") > Duration::from_secs(4));
        assert_eq!(p.wait_for("other"), Duration::ZERO);
        assert_eq!(p.strikes("r"), 2);
        replies(&p, "r", 1, 200);
        assert_eq!(p.strikes("r"), 1);
        // Other answers the server admitted do not forgive.
        replies(&p, "r", 1, 404);
        assert_eq!(p.strikes("r"), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hintless_429_waits_until_the_oldest_reply_is_a_window_old() {
        let p = Pacer::new(MINUTE);
        replies(&p, "r", 1, 200);
        tokio::time::advance(Duration::from_secs(10)).await;
        replies(&p, "r", 1, 201);
        let slot = p.start("r").unwrap();
        let sent = slot.sent();
        slot.replied(429);
        assert_eq!(
            p.hintless_429("r", sent, no_backoff),
            Delay::Window(MINUTE + WINDOW_MARGIN - Duration::from_secs(10))
        );
        // Once the first reply is a window old, the second one decides.
        tokio::time::advance(Duration::from_secs(55)).await;
        let slot = p.start("r").unwrap();
        let sent = slot.sent();
        slot.replied(429);
        assert_eq!(
            p.hintless_429("r", sent, no_backoff),
            Delay::Window(Duration::from_secs(5) + WINDOW_MARGIN)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn with_nothing_of_ours_in_the_window_the_backoff_decides() {
        let p = Pacer::new(MINUTE);
        let sent = Instant::now();
        assert_eq!(
            p.hintless_429("r", sent, |strikes| Duration::from_secs(
                u64::from(strikes) + 7
            )),
            Delay::Backoff(Duration::from_secs(7))
        );
        // A limit is learned only from replies of ours.
        assert_eq!(p.limit("r"), None);
        replies(&p, "r", 3, 200);
        tokio::time::advance(MINUTE + WINDOW_MARGIN).await;
        assert_eq!(
            p.hintless_429("r", Instant::now(), |_| Duration::from_secs(9)),
            Delay::Backoff(Duration::from_secs(9))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn window_off_uses_the_backoff_and_never_holds() {
        let p = Pacer::new(Duration::ZERO);
        replies(&p, "r", 5, 200);
        assert_eq!(
            p.hintless_429("r", Instant::now(), |_| Duration::from_secs(2)),
            Delay::Backoff(Duration::from_secs(2))
        );
        assert_eq!(p.limit("r"), None);
        replies(&p, "r", 20, 200);
    }

    #[tokio::test(start_paused = true)]
    async fn the_limit_is_learned_and_holds_later_requests_back() {
        let p = Pacer::new(MINUTE);
        replies(&p, "r", 2, 200);
        tokio::time::advance(Duration::from_secs(10)).await;
        replies(&p, "r", 1, 200);
        // Two more in flight when the window fills: one admitted, one not.
        let late = p.start("r").unwrap();
        let refused = p.start("r").unwrap();
        let sent = refused.sent();
        refused.replied(429);
        assert!(matches!(
            p.hintless_429("r", sent, no_backoff),
            Delay::Window(_)
        ));
        assert_eq!(p.limit("r"), Some(3));
        // The late one was admitted in the same window: the limit grows.
        late.replied(200);
        assert_eq!(p.limit("r"), Some(4));
        assert_eq!(
            p.start("r").unwrap_err(),
            Held {
                until: Some(MINUTE + WINDOW_MARGIN - Duration::from_secs(10))
            }
        );
        // As the window slides, places free as replies leave it.
        tokio::time::advance(MINUTE + WINDOW_MARGIN - Duration::from_secs(10)).await;
        let a = p.start("r").expect("the first replies left the window");
        let _b = p.start("r").unwrap();
        assert_eq!(
            p.start("r").unwrap_err(),
            Held {
                until: Some(Duration::from_secs(10))
            }
        );
        drop(a);
        assert!(p.start("r").is_ok());
        assert_eq!(p.limit("r"), Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_window_forgets_the_limit() {
        let p = Pacer::new(MINUTE);
        replies(&p, "r", 2, 200);
        p.hintless_429("r", Instant::now(), no_backoff);
        assert_eq!(p.limit("r"), Some(2));
        assert!(p.start("r").is_err());
        // The window has emptied, but requests that waited for it are still
        // held to the limit.
        tokio::time::advance(MINUTE + WINDOW_MARGIN).await;
        replies(&p, "r", 2, 200);
        assert!(p.start("r").is_err());
        assert_eq!(p.limit("r"), Some(2));
        // A whole window with nothing after the last replies left: forgotten.
        tokio::time::advance(2 * (MINUTE + WINDOW_MARGIN)).await;
        replies(&p, "r", 5, 200);
        assert_eq!(p.limit("r"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn repeated_misses_make_the_backoff_the_least_wait() {
        let p = Pacer::new(MINUTE);
        replies(&p, "r", 2, 200);
        let first = Instant::now();
        tokio::time::advance(Duration::from_millis(1)).await;
        // In flight when the first 429 came: not a miss.
        let in_flight = Instant::now();
        p.hintless_429("r", first, no_backoff);
        p.hintless_429("r", in_flight, no_backoff);
        let backoff = |_| Duration::from_secs(120);
        for _ in 1..TRUSTED_MISSES {
            tokio::time::advance(Duration::from_millis(1)).await;
            assert!(matches!(
                p.hintless_429("r", Instant::now(), backoff),
                Delay::Window(_)
            ));
        }
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            p.hintless_429("r", Instant::now(), backoff),
            Delay::Backoff(Duration::from_secs(120))
        );
        // A shorter backoff does not shorten the window's wait.
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(matches!(
            p.hintless_429("r", Instant::now(), |_| Duration::from_secs(1)),
            Delay::Window(_)
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn a_send_without_an_answer_frees_its_place() {
        let p = Pacer::new(MINUTE);
        replies(&p, "r", 1, 200);
        tokio::time::advance(Duration::from_secs(1)).await;
        replies(&p, "r", 1, 200);
        p.hintless_429("r", Instant::now(), no_backoff);
        assert_eq!(p.limit("r"), Some(2));
        tokio::time::advance(MINUTE + WINDOW_MARGIN - Duration::from_secs(1)).await;
        let a = p.start("r").unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        // Both replies are gone, but the limit stays while these are in flight.
        let _b = p.start("r").unwrap();
        assert_eq!(p.start("r").unwrap_err(), Held { until: None });
        let ended = p.ended();
        drop(a);
        tokio::time::timeout(Duration::from_secs(1), ended)
            .await
            .expect("a held request is woken");
        assert!(p.start("r").is_ok());
        assert_eq!(p.limit("r"), Some(2));
    }
}
