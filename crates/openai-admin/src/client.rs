//! The Admin API client: its configuration, the HTTP transport (timeouts,
//! auth header, logging), and the retry loop idempotent requests go through.
//! Typed endpoint methods live in `endpoints.rs`, the duplicate-safe create
//! loop in `recovery.rs`, the token exchange in `exchange.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::body::{BodyError, read_limited};
use crate::error::{ADMIN_KEY_ENV, ApiError, chain};
use crate::models::ErrorEnvelope;
use crate::pacing::{Delay, Pacer, Slot, route_of};
use crate::recovery::ServerClock;
use crate::redact::Redactor;
use crate::retry::{Backoff, is_retryable_status, server_delay, server_says_retry};
use crate::secret::Secret;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub const DEFAULT_TOKEN_EXCHANGE_URL: &str = "https://auth.openai.com/oauth/token";
pub const DEFAULT_MAX_RETRIES: u32 = 4;
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may spend waiting out 429s in all.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(300);
/// The span of the API's rate-limit windows the client assumes.
pub const DEFAULT_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// Response bodies longer than these are refused while streaming (a listing
/// page of the Admin API is at most a few MiB; a token response, a few KiB).
pub const MAX_ADMIN_BODY_BYTES: usize = 32 * 1024 * 1024;
pub const MAX_EXCHANGE_BODY_BYTES: usize = 1024 * 1024;

/// Header the API puts its request id in; quoted in every error.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Admin API root including the version, e.g. `https://api.openai.com/v1`
    /// or `http://127.0.0.1:8080/v1` for the emulator.
    pub base_url: Url,
    /// Needed only by Admin API methods; the token exchange works without it.
    pub admin_key: Option<Secret>,
    /// Full URL of the OAuth token endpoint.
    pub token_exchange_url: Url,
    /// Whole-request bound: connect, send, and read the full response.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt (so at most `max_retries + 1` sends).
    pub max_retries: u32,
    pub backoff: Backoff,
    pub user_agent: String,
    /// 429s are retried, however many, until one request has waited this
    /// long in all (or would have to wait beyond it); they do not use up
    /// `max_retries`.
    pub rate_limit_wait: Duration,
    /// The span of the API's rate-limit window: after a 429 without a hint
    /// a route waits until its oldest reply of the last window is this old,
    /// and learns how many requests a window admits
    /// (`docs/reference/openai-api.md#rate-limits-and-retries`). Zero turns
    /// that off: only the backoff is used.
    pub rate_limit_window: Duration,
    /// Cancelling it aborts every wait (before a retry or for the rate
    /// limit) and every request in flight at once with
    /// [`ApiError::Cancelled`]; nothing is sent after it fired. Never
    /// cancelled by default.
    pub cancel: tokio_util::sync::CancellationToken,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            base_url: Url::parse(DEFAULT_BASE_URL).expect("valid constant URL"),
            admin_key: None,
            token_exchange_url: Url::parse(DEFAULT_TOKEN_EXCHANGE_URL).expect("valid constant URL"),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_retries: DEFAULT_MAX_RETRIES,
            backoff: Backoff::default(),
            user_agent: concat!("terraform-provider-openai/", env!("CARGO_PKG_VERSION")).into(),
            rate_limit_wait: DEFAULT_RATE_LIMIT_WAIT,
            rate_limit_window: DEFAULT_RATE_LIMIT_WINDOW,
            cancel: tokio_util::sync::CancellationToken::new(),
        }
    }
}

/// A cheap-to-clone handle; clones share one connection pool and one pacer
/// (so a 429 seen by one slows all of them down on that route).
#[derive(Clone, Debug)]
pub struct Client {
    pub(super) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(super) struct Inner {
    http: reqwest::Client,
    pub(super) config: ClientConfig,
    /// `Bearer <admin key>`, marked sensitive; `None` when no key is set.
    auth: Option<HeaderValue>,
    pub(super) clock: ServerClock,
    pacer: Pacer,
    /// The admin key, to scrub from every server text.
    redactor: Arc<Redactor>,
}

/// One request, ready to be sent as many times as the retry policy allows.
pub(super) struct Request {
    pub method: Method,
    pub url: Url,
    /// Path below the base URL, for logs and error messages.
    pub path: String,
    /// Method and path with ids generalised: what rate limits apply to.
    pub route: String,
    pub body: Option<Vec<u8>>,
    /// Whether to send the admin key.
    pub admin: bool,
    /// Secrets in the body (a subject token) to scrub from the answer, like
    /// the admin key.
    pub secrets: Vec<Secret>,
}

impl std::fmt::Debug for Request {
    // The body may hold a subject token: show its size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_len", &self.body.as_ref().map(Vec::len))
            .finish()
    }
}

impl Request {
    pub fn query(mut self, pairs: &[(&str, String)]) -> Self {
        if !pairs.is_empty() {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k, v);
            }
        }
        self
    }

    pub fn json(mut self, body: &impl Serialize) -> Result<Self, ApiError> {
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ApiError::Config(format!("could not encode the body of {}: {e}", self.path))
        })?;
        self.body = Some(bytes);
        Ok(self)
    }
}

/// A complete HTTP answer (status, headers, whole body).
pub(super) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The secrets the request sent. Every text taken from the answer is
    /// scrubbed with it after it is decoded, just before it goes into an
    /// error or a log line.
    pub redactor: Arc<Redactor>,
}

impl std::fmt::Debug for Reply {
    // The body may hold an access token: show its size only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Reply {
    /// The server's request id, if it is one fit to show (see
    /// [`Redactor::request_id`]).
    pub fn request_id(&self) -> Option<String> {
        self.headers
            .get(REQUEST_ID_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| self.redactor.request_id(v))
    }

    /// A text taken from the answer, with what the request sent scrubbed.
    pub fn scrub(&self, text: &str) -> String {
        self.redactor.redact(text)
    }
}

/// How one send ended.
#[derive(Debug)]
pub(super) enum Outcome {
    Reply(Reply),
    Transport(reqwest::Error),
    /// The answer's body passed the size limit (bytes); it was not read.
    TooLarge {
        status: StatusCode,
        limit: usize,
    },
    /// Given up while waiting: no further attempt was made.
    Stopped(Stop),
}

/// Why a request stopped waiting.
#[derive(Debug)]
pub(super) enum Stop {
    /// Waiting out the rate limit would exceed `rate_limit_wait`.
    RateLimitBudget {
        /// The last 429.
        reply: Reply,
        waited: Duration,
        next_wait: Duration,
    },
    /// [`ClientConfig::cancel`] fired.
    Cancelled {
        /// While the request was on the wire: it may have been carried out.
        in_flight: bool,
    },
}

/// What the retry policy makes of one outcome.
#[derive(Debug)]
pub(super) enum Assessment {
    Success,
    /// A 429: retried as long as the rate limit budget allows.
    RateLimited {
        hint: Option<Duration>,
    },
    /// Not worth retrying: hand the outcome to the caller.
    Final,
    Retry {
        delay: Duration,
        /// The server may have carried the request out (5xx, 408, or the
        /// connection died after the request went out). Only a 429 or a
        /// failure to connect prove nothing happened.
        maybe_committed: bool,
    },
}

/// The end of an idempotent request's retry loop.
#[derive(Debug)]
pub(super) struct Run {
    pub outcome: Outcome,
    pub attempts: u32,
    /// An earlier attempt may have taken effect although it failed.
    pub maybe_committed_earlier: bool,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        check_url("base_url", &config.base_url)?;
        check_url("token_exchange_url", &config.token_exchange_url)?;
        let auth = match &config.admin_key {
            Some(key) if !key.expose().trim().is_empty() => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose().trim()))
                    .map_err(|_| {
                    ApiError::Config(format!(
                        "the admin API key contains characters that cannot be sent in an \
                             HTTP header; check `admin_api_key` or {ADMIN_KEY_ENV} for stray \
                             quotes or line breaks"
                    ))
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            _ => None,
        };
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirected POST could be replayed as something else; the API
            // does not redirect, so treat any redirect as the final answer.
            .redirect(reqwest::redirect::Policy::none());
        let http = crate::proxy::configure_from_env(http)
            .build()
            .map_err(|e| ApiError::Config(format!("cannot build HTTP client: {}", chain(&e))))?;
        let redactor = config
            .admin_key
            .as_ref()
            .map(|k| Redactor::new().with_secret(k))
            .unwrap_or_default();
        let redactor = Arc::new(redactor);
        let pacer = Pacer::new(config.rate_limit_window);
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                config,
                auth,
                clock: ServerClock::default(),
                pacer,
                redactor,
            }),
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The HTTP client (timeouts, proxy, no redirects) for calls outside
    /// the retry loop.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Whether Admin API methods can be called at all.
    pub fn has_admin_key(&self) -> bool {
        self.inner.auth.is_some()
    }

    /// A request to the Admin API below `base_url`. Fails with
    /// [`ApiError::MissingAdminKey`] when no key is configured, before
    /// anything is sent.
    pub(super) fn admin_request(
        &self,
        method: Method,
        segments: &[&str],
    ) -> Result<Request, ApiError> {
        if self.inner.auth.is_none() {
            return Err(ApiError::MissingAdminKey);
        }
        let mut url = self.inner.config.base_url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.path_segments_mut()
            .map_err(|()| ApiError::Config("base_url cannot hold a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(Request {
            route: route_of(&method, segments),
            method,
            url,
            path: format!("/{}", segments.join("/")),
            body: None,
            admin: true,
            secrets: Vec::new(),
        })
    }

    /// The admin key and the request's own secrets.
    fn redactor_for(&self, req: &Request) -> Arc<Redactor> {
        if req.secrets.is_empty() {
            return self.inner.redactor.clone();
        }
        Arc::new(
            req.secrets
                .iter()
                .fold((*self.inner.redactor).clone(), Redactor::with_secret),
        )
    }

    /// Sends once and reads the whole body, so a body cut short counts as a
    /// transport failure like any other.
    /// Ends at once, without an answer, when [`ClientConfig::cancel`] fires.
    /// `slot` is this send's place on its route ([`Client::pace`]).
    pub(super) async fn send_once(&self, req: &Request, attempt: u32, slot: Slot<'_>) -> Outcome {
        let cancel = &self.inner.config.cancel;
        if cancel.is_cancelled() {
            return Outcome::Stopped(Stop::Cancelled { in_flight: false });
        }
        let mut builder = self
            .inner
            .http
            .request(req.method.clone(), req.url.clone())
            .header(ACCEPT, "application/json");
        if let (true, Some(auth)) = (req.admin, &self.inner.auth) {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = Instant::now();
        let exchange = async {
            match builder.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    let limit = if req.admin {
                        MAX_ADMIN_BODY_BYTES
                    } else {
                        MAX_EXCHANGE_BODY_BYTES
                    };
                    match read_limited(resp, limit).await {
                        Ok(body) => {
                            let redactor = self.redactor_for(req);
                            Ok(Ok(Reply {
                                status,
                                headers,
                                // Error texts are shown and logged: scrub what we
                                // sent from them here, and again from each text
                                // decoded out of them (`Reply::scrub`).
                                body: if status.is_success() {
                                    body
                                } else {
                                    redactor.redact_bytes(&body)
                                },
                                redactor,
                            }))
                        }
                        Err(BodyError::Transport(e)) => Ok(Err(e)),
                        Err(BodyError::TooLarge(limit)) => {
                            tracing::debug!(method = %req.method, path = %req.path, status = status.as_u16(), limit, "openai api response body too large");
                            Err(Outcome::TooLarge { status, limit })
                        }
                    }
                }
                Err(e) => Ok(Err(e)),
            }
        };
        // Dropping the exchange closes its connection: a server that never
        // answers cannot hold a stopping Terraform.
        let result = tokio::select! {
            result = exchange => match result {
                Ok(result) => result,
                Err(outcome) => return outcome,
            },
            () = cancel.cancelled() => {
                tracing::info!(
                    method = %req.method,
                    path = %req.path,
                    attempt,
                    "openai api request cancelled in flight: the operation is being stopped"
                );
                return Outcome::Stopped(Stop::Cancelled { in_flight: true });
            }
        };
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(reply) => {
                self.inner.clock.observe(&reply.headers);
                slot.replied(reply.status.as_u16());
                tracing::debug!(
                    method = %req.method,
                    path = %req.path,
                    status = reply.status.as_u16(),
                    attempt,
                    request_id = reply.request_id().as_deref().unwrap_or("-"),
                    elapsed_ms,
                    "openai api response"
                );
                Outcome::Reply(reply)
            }
            Err(e) => {
                tracing::debug!(
                    method = %req.method,
                    path = %req.path,
                    attempt,
                    elapsed_ms,
                    error = %chain(&e),
                    "openai api request failed"
                );
                Outcome::Transport(e)
            }
        }
    }

    /// Retry number `retry` (0 = first retry) would follow this outcome?
    pub(super) fn assess(&self, outcome: &Outcome, retry: u32) -> Assessment {
        let backoff = &self.inner.config.backoff;
        match outcome {
            Outcome::Reply(r) if r.status.is_success() => Assessment::Success,
            // The server's word wins over the status, as in OpenAI's SDKs:
            // `false` ends even a 429 or 5xx, `true` retries even a 409.
            Outcome::Reply(r) if server_says_retry(&r.headers) == Some(false) => Assessment::Final,
            Outcome::Reply(r) if r.status == StatusCode::TOO_MANY_REQUESTS => {
                Assessment::RateLimited {
                    hint: server_delay(&r.headers, SystemTime::now()),
                }
            }
            Outcome::Reply(r)
                if is_retryable_status(r.status) || server_says_retry(&r.headers) == Some(true) =>
            {
                match backoff.delay(retry, server_delay(&r.headers, SystemTime::now())) {
                    Some(delay) => Assessment::Retry {
                        delay,
                        maybe_committed: may_have_taken_effect(outcome),
                    },
                    None => Assessment::Final,
                }
            }
            Outcome::Reply(_) | Outcome::Stopped(_) | Outcome::TooLarge { .. } => Assessment::Final,
            Outcome::Transport(e) if e.is_builder() => Assessment::Final,
            Outcome::Transport(_) => Assessment::Retry {
                delay: backoff.delay(retry, None).unwrap_or_default(),
                maybe_committed: may_have_taken_effect(outcome),
            },
        }
    }

    pub(super) fn max_retries(&self) -> u32 {
        self.inner.config.max_retries
    }

    /// Sends an idempotent request, retrying per policy; returns the last
    /// outcome, successful or not.
    pub(super) async fn run(&self, req: &Request) -> Run {
        let mut attempt = 0;
        // Retries other than for 429s, which `max_retries` bounds.
        let mut retries = 0;
        let mut waited = Duration::ZERO;
        let mut maybe_committed_earlier = false;
        loop {
            let slot = match self.pace(req, &mut waited).await {
                Ok(slot) => slot,
                Err(stop) => {
                    return Run {
                        outcome: Outcome::Stopped(stop),
                        attempts: attempt,
                        maybe_committed_earlier,
                    };
                }
            };
            let sent = slot.sent();
            let outcome = self.send_once(req, attempt, slot).await;
            match self.assess(&outcome, retries) {
                Assessment::RateLimited { hint } => {
                    attempt += 1;
                    if let Err(stop) = self.rate_limited(req, outcome, hint, sent, waited, attempt)
                    {
                        return Run {
                            outcome: Outcome::Stopped(stop),
                            attempts: attempt,
                            maybe_committed_earlier,
                        };
                    }
                }
                Assessment::Retry {
                    delay,
                    maybe_committed,
                } if retries < self.max_retries() => {
                    maybe_committed_earlier |= maybe_committed;
                    log_retry(req, attempt, delay);
                    if let Err(stop) = self.sleep(delay).await {
                        return Run {
                            outcome: Outcome::Stopped(stop),
                            attempts: attempt + 1,
                            maybe_committed_earlier,
                        };
                    }
                    attempt += 1;
                    retries += 1;
                }
                _ => {
                    return Run {
                        outcome,
                        attempts: attempt + 1,
                        maybe_committed_earlier,
                    };
                }
            }
        }
    }

    /// Waits until the route may be sent to again, counting the wait into
    /// `waited`, and takes this send's place there: after a 429, until the
    /// route's "not before" time; once the route's limit per window is
    /// learned, while the window's replies and the requests in flight reach
    /// it. A wait longer than the budget left is skipped: the server then
    /// answers for itself, and its 429 ends the request properly.
    pub(super) async fn pace<'a>(
        &'a self,
        req: &'a Request,
        waited: &mut Duration,
    ) -> Result<Slot<'a>, Stop> {
        let pacer = &self.inner.pacer;
        let budget = self.inner.config.rate_limit_wait;
        loop {
            let wait = pacer.wait_for(&req.route);
            if !wait.is_zero() {
                if *waited + wait > budget {
                    return Ok(pacer.start_anyway(&req.route));
                }
                self.sleep(wait).await?;
                *waited += wait;
                crate::pacing::note_wait(wait);
                continue;
            }
            // Registered before looking, so an end in between is not missed.
            let ended = pacer.ended();
            let held = match pacer.start(&req.route) {
                Ok(slot) => return Ok(slot),
                Err(held) => held,
            };
            // Held only by requests in flight: one of them ends soon (the
            // request timeout bounds it); look again at least each window.
            let until = held.until.unwrap_or(self.inner.config.rate_limit_window);
            if *waited + until > budget {
                return Ok(pacer.start_anyway(&req.route));
            }
            tracing::debug!(method = %req.method, path = %req.path,
                "holding back: the rate limit window this client learned is full");
            let started = tokio::time::Instant::now();
            tokio::select! {
                () = tokio::time::sleep(until) => {}
                () = ended => {}
                () = self.inner.config.cancel.cancelled() => {
                    return Err(Stop::Cancelled { in_flight: false });
                }
            }
            *waited += started.elapsed();
            crate::pacing::note_wait(started.elapsed());
        }
    }

    /// Records a 429 (after `attempts` sends; this one sent at `sent`) and
    /// decides whether to wait for another try: the server's hint, else
    /// until the route's rate limit window frees, else a backoff by the
    /// route's recent 429s, as long as the total stays within
    /// `rate_limit_wait`.
    pub(super) fn rate_limited(
        &self,
        req: &Request,
        outcome: Outcome,
        hint: Option<Duration>,
        sent: tokio::time::Instant,
        waited: Duration,
        attempts: u32,
    ) -> Result<(), Stop> {
        let Outcome::Reply(reply) = outcome else {
            unreachable!("only a reply is rate limited")
        };
        let budget = self.inner.config.rate_limit_wait;
        let delay = match hint {
            Some(hint) => Delay::Hint(hint),
            None => self.inner.pacer.hintless_429(&req.route, sent, |strikes| {
                self.inner
                    .config
                    .backoff
                    .rate_limit_delay(strikes, &mut rand::rng())
            }),
        };
        if waited + delay.duration() > budget {
            return Err(Stop::RateLimitBudget {
                reply,
                waited,
                next_wait: delay.duration(),
            });
        }
        let wait = self.inner.pacer.limited(&req.route, delay.duration());
        let secs = wait.as_secs_f64();
        let what = match delay {
            Delay::Hint(_) => "as the server asked",
            Delay::Window(_) => "until the rate limit window frees",
            Delay::Backoff(_) => "backing off",
        };
        if waited + wait > budget / 2 {
            tracing::warn!(method = %req.method, path = %req.path, attempt = attempts, waited_secs = waited.as_secs(),
                "rate limited by OpenAI; waiting {what}, {secs:.1}s (attempt {attempts})");
        } else {
            tracing::info!(method = %req.method, path = %req.path, attempt = attempts,
                "rate limited by OpenAI; waiting {what}, {secs:.1}s (attempt {attempts})");
        }
        Ok(())
    }

    /// Sleeps, unless [`ClientConfig::cancel`] fires first.
    pub(super) async fn sleep(&self, delay: Duration) -> Result<(), Stop> {
        tokio::select! {
            () = tokio::time::sleep(delay) => Ok(()),
            () = self.inner.config.cancel.cancelled() => Err(Stop::Cancelled { in_flight: false }),
        }
    }

    /// Sends an idempotent Admin API request and decodes a 2xx body as `T`.
    pub(super) async fn call<T: DeserializeOwned>(&self, req: &Request) -> Result<T, ApiError> {
        let run = self.run(req).await;
        admin_result(req, run.outcome, run.attempts)
    }
}

/// Whether a failed attempt may still have been carried out by the server.
/// Only a 429 (rate limited before any work), a failure to connect, or a
/// request that could not even be built prove that nothing happened; a 5xx,
/// a 408 or a connection lost after sending leave it open.
pub(super) fn may_have_taken_effect(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Reply(r) => r.status.is_server_error() || r.status == StatusCode::REQUEST_TIMEOUT,
        Outcome::Transport(e) => !(e.is_connect() || e.is_builder()),
        // The server answered: whatever it did is done.
        Outcome::TooLarge { status, .. } => status.is_success() || status.is_server_error(),
        Outcome::Stopped(_) => false,
    }
}

pub(super) fn log_retry(req: &Request, attempt: u32, delay: Duration) {
    tracing::debug!(
        method = %req.method,
        path = %req.path,
        attempt,
        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
        "retrying openai api request"
    );
}

/// Turns a final outcome into the caller's result.
pub(super) fn admin_result<T: DeserializeOwned>(
    req: &Request,
    outcome: Outcome,
    attempts: u32,
) -> Result<T, ApiError> {
    match outcome {
        Outcome::Reply(reply) if reply.status.is_success() => decode(req, &reply),
        Outcome::Reply(reply) => Err(status_error(req, &reply)),
        Outcome::Transport(source) => Err(ApiError::Transport {
            method: req.method.clone(),
            path: req.path.clone(),
            attempts,
            detail: chain(&source),
            source,
        }),
        Outcome::Stopped(Stop::RateLimitBudget {
            reply,
            waited,
            next_wait,
        }) => Err(ApiError::RateLimited {
            method: req.method.clone(),
            path: req.path.clone(),
            attempts,
            waited_secs: waited.as_secs(),
            next_wait_secs: next_wait.as_secs_f64().ceil() as u64,
            source: Box::new(status_error(req, &reply)),
        }),
        Outcome::Stopped(Stop::Cancelled { in_flight }) => Err(ApiError::Cancelled {
            method: req.method.clone(),
            path: req.path.clone(),
            maybe_committed: in_flight,
        }),
        Outcome::TooLarge { status, limit } => Err(ApiError::TooLarge {
            method: req.method.clone(),
            path: req.path.clone(),
            status,
            limit,
        }),
    }
}

pub(super) fn decode<T: DeserializeOwned>(req: &Request, reply: &Reply) -> Result<T, ApiError> {
    serde_json::from_slice(&reply.body).map_err(|e| ApiError::Decode {
        method: req.method.clone(),
        path: req.path.clone(),
        status: reply.status,
        request_id: reply.request_id(),
        detail: reply.scrub(&decode_detail(&e)),
    })
}

/// What is wrong with a body, without the values in it. serde's messages
/// quote the offending value (`invalid type: string "...", expected i64`),
/// and a 2xx body is not scrubbed as a whole, so only the kind of mistake,
/// what was expected (which comes from our models) and where are kept.
pub fn decode_detail(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("at line {} column {}", e.line(), e.column());
    match e.classify() {
        Category::Io => format!("the body could not be read ({at})"),
        Category::Syntax => format!("the body is not valid JSON ({at})"),
        Category::Eof => format!("the body ends early ({at})"),
        Category::Data => {
            let text = e.to_string();
            // `missing field `x`` names a field of our model, not a value.
            if let Some(field) = text
                .strip_prefix("missing field `")
                .and_then(|r| r.split_once('`'))
                .map(|(f, _)| f)
                .filter(|f| f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
            {
                return format!("missing field `{field}` ({at})");
            }
            const KINDS: [&str; 6] = [
                "invalid type",
                "invalid value",
                "invalid length",
                "unknown variant",
                "unknown field",
                "duplicate field",
            ];
            let kind = KINDS
                .iter()
                .find(|k| text.starts_with(*k))
                .copied()
                .unwrap_or("a value is not what was expected");
            match text.rsplit_once(", expected ") {
                Some((_, expected)) if !expected.contains('"') => {
                    let expected = expected.split(" at line ").next().unwrap_or(expected);
                    format!("{kind}, expected {expected} ({at})")
                }
                _ => format!("{kind} ({at})"),
            }
        }
    }
}

/// A non-2xx reply as [`ApiError::Status`], from the OpenAI error envelope
/// when there is one, else from a short excerpt of the body (a proxy's
/// error page, say).
pub(super) fn status_error(req: &Request, reply: &Reply) -> ApiError {
    // Scrubbed after decoding too: an escape (`\u0073k-...`) in the JSON
    // hides a key from the scrub of the raw body.
    let (message, kind, param, code) = match serde_json::from_slice::<ErrorEnvelope>(&reply.body) {
        Ok(ErrorEnvelope { error }) => (
            reply.scrub(&error.message),
            Some(reply.scrub(&error.kind)),
            error.param.map(|p| reply.scrub(&p)),
            error.code.map(|c| reply.scrub(&c)),
        ),
        Err(_) => (
            body_excerpt(&reply.body)
                .map(|e| reply.scrub(&e))
                .or_else(|| reply.status.canonical_reason().map(str::to_owned))
                .unwrap_or_else(|| "no error message".into()),
            None,
            None,
            None,
        ),
    };
    ApiError::Status {
        status: reply.status,
        message,
        kind,
        param,
        code,
        request_id: reply.request_id(),
        method: req.method.clone(),
        path: req.path.clone(),
    }
}

/// The start of a body as one line of text, or `None` when it is empty.
pub(super) fn body_excerpt(body: &[u8]) -> Option<String> {
    const MAX_CHARS: usize = 200;
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return None;
    }
    if line.chars().count() > MAX_CHARS {
        Some(format!(
            "{}…",
            line.chars().take(MAX_CHARS).collect::<String>()
        ))
    } else {
        Some(line)
    }
}

fn check_url(field: &str, url: &Url) -> Result<(), ApiError> {
    let ok = matches!(url.scheme(), "http" | "https") && url.has_host() && !url.cannot_be_a_base();
    if ok {
        Ok(())
    } else {
        Err(ApiError::Config(format!(
            "`{field}` must be an absolute http(s) URL, got {url}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str, key: Option<&str>) -> ClientConfig {
        ClientConfig {
            base_url: Url::parse(base).unwrap(),
            admin_key: key.map(Secret::from),
            ..ClientConfig::default()
        }
    }

    #[test]
    fn admin_paths_keep_the_base_path_and_encode_ids() {
        let c = Client::new(config("http://127.0.0.1:9/v1", Some("k"))).unwrap();
        let r = c
            .admin_request(Method::GET, &["organization", "projects", "a/b?c"])
            .unwrap()
            .query(&[("after", "x y".into())]);
        assert_eq!(
            r.url.as_str(),
            "http://127.0.0.1:9/v1/organization/projects/a%2Fb%3Fc?after=x+y"
        );
        assert_eq!(r.path, "/organization/projects/a/b?c");

        let c = Client::new(config("http://127.0.0.1:9/v1/", Some("k"))).unwrap();
        let r = c.admin_request(Method::GET, &["organization"]).unwrap();
        assert_eq!(r.url.as_str(), "http://127.0.0.1:9/v1/organization");
    }

    #[test]
    fn missing_or_blank_key_fails_only_admin_requests() {
        for key in [None, Some(""), Some("  ")] {
            let c = Client::new(config("http://127.0.0.1:9/v1", key)).unwrap();
            assert!(!c.has_admin_key());
            let err = c.admin_request(Method::GET, &["organization"]).unwrap_err();
            assert!(matches!(err, ApiError::MissingAdminKey));
        }
    }

    #[test]
    fn key_with_a_line_break_is_a_config_error_without_the_key() {
        let err = Client::new(config("http://127.0.0.1:9/v1", Some("sk-a\nb"))).unwrap_err();
        assert!(matches!(err, ApiError::Config(_)));
        assert!(!err.to_string().contains("sk-a"));
    }

    #[test]
    fn rejects_non_http_urls() {
        let err = Client::new(config("ftp://example.com/v1", None)).unwrap_err();
        assert!(err.to_string().contains("base_url"), "{err}");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let c = Client::new(config("http://127.0.0.1:9/v1", Some("sk-admin-secret"))).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("sk-admin-secret"), "{text}");
    }

    #[test]
    fn excerpt_is_one_bounded_line() {
        assert_eq!(body_excerpt(b"  \n "), None);
        assert_eq!(
            body_excerpt(b"<html>\n  Bad   gateway\n</html>").as_deref(),
            Some("<html> Bad gateway </html>")
        );
        let long = "x".repeat(500);
        assert_eq!(body_excerpt(long.as_bytes()).unwrap().chars().count(), 201);
    }

    #[test]
    fn status_error_reads_the_envelope() {
        let req = Request {
            method: Method::POST,
            url: Url::parse("http://h/v1/x").unwrap(),
            path: "/x".into(),
            route: "POST /x".into(),
            body: None,
            admin: true,
            secrets: Vec::new(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID_HEADER, HeaderValue::from_static("req_1"));
        let reply = Reply {
            status: StatusCode::BAD_REQUEST,
            headers,
            body: br#"{"error":{"message":"issuer is required","type":"invalid_request_error","param":"issuer","code":null}}"#
                .to_vec(),
            redactor: Arc::default(),
        };
        match status_error(&req, &reply) {
            ApiError::Status {
                status,
                message,
                kind,
                param,
                code,
                request_id,
                ..
            } => {
                assert_eq!(status, StatusCode::BAD_REQUEST);
                assert_eq!(message, "issuer is required");
                assert_eq!(kind.as_deref(), Some("invalid_request_error"));
                assert_eq!(param.as_deref(), Some("issuer"));
                assert_eq!(code, None);
                assert_eq!(request_id.as_deref(), Some("req_1"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
