//! A local emulator of the OpenAI Admin API (workload identity providers,
//! federation rules, projects, project service accounts) and of the WIF token
//! exchange, for tests, demos and offline module tests.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use openai_emulator::{EmulatorConfig, start};
//! let emu = start(EmulatorConfig::new("sk-admin-test")).await?;
//! println!("Admin API at {}", emu.api_base());
//! emu.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Routes: the Admin API under `/v1` (module `admin`), the exchange at
//! `POST /oauth/token` (module `oauth`), `GET /v1/models` for the access
//! tokens it issues and for project API keys (module `models_api`: 200 when
//! the service account has a role, 401 "Missing scopes" when its role is `none`, as keyless
//! accounts start; a key's use sets its `last_used_at`), and test
//! helpers under `/_emulator`:
//! - the built-in OIDC issuer ([`oidc`]);
//! - counters (requests by route, responses by status, faults):
//!   `GET /_emulator/stats`, `POST /_emulator/stats/reset`;
//! - the request log: `GET /_emulator/requests`, `POST /_emulator/requests/reset`;
//! - the random fault rate: `GET|POST /_emulator/faults`;
//! - scripted faults: `GET|POST|DELETE /_emulator/faults/script`;
//! - the clock offset: `GET|POST /_emulator/clock`;
//! - a project API key made by a dashboard user (which the Admin API cannot
//!   create): `POST /_emulator/projects/{id}/user_api_keys`;
//! - an AWS STS `GetWebIdentityToken` stand-in: `POST /_emulator/aws/sts`
//!   ([`aws_sts`]).
//!
//! The `/_emulator` routes that change state (every `POST` and `DELETE` above
//! but the STS stand-in, which checks its own SigV4 header) need the admin key
//! and `Content-Type: application/json`: 401 and 415 otherwise.
//!
//! With `--spiffe-socket PATH` ([`EmulatorConfig::spiffe_socket`]) it also
//! serves a SPIFFE Workload API stand-in on that unix socket ([`spiffe`]).
//!
//! **Random faults** (`--fault-rate F`, [`EmulatorConfig::fault_rate`]):
//! that fraction of Admin API requests fail with 500, 502 (HTML body), 503,
//! 429 (with `Retry-After`), a connection reset, or a lost response (the
//! write commits, then the connection resets). Seeded, so deterministic for
//! one request order. The token exchange never gets random faults.
//!
//! **Rate limits** (`--rate-limit-rpm N`, [`EmulatorConfig::rate_limit_rpm`]):
//! at most N Admin API requests per route template in any 60 s of the
//! emulator's clock (`--rate-limit-window-secs W`: in any W s, so tests can
//! run real short windows; `--rate-limit-scope org`: N in all), then 429
//! `rate_limit_exceeded` "You're making too many requests, please slow
//! down." without `Retry-After`, as OpenAI answers (`--rate-limit-retry-after`
//! adds one). Shift the clock a minute to free the window at once.
//!
//! **Refusals** of the exchange say, like OpenAI's, only which kind of check
//! failed; the specifics (rule ids, expected matcher values) go to the log,
//! and into the response too with `--verbose-refusals`
//! ([`EmulatorConfig::verbose_refusals`]).
//!
//! **Scripted faults** make requests misbehave exactly as told, on the
//! Admin API and the token exchange: `POST /_emulator/faults/script
//! {"rules": [...]}` (or [`RunningEmulator::script`]) appends [`FaultRule`]s
//! `{"method", "path", "times", "action"}`. `path` is the exact request path
//! or the route template (`/v1/organization/projects/{id}`); a request takes
//! the first matching rule in the order added, whose `times` (default 1)
//! counts down; unmatched requests are handled normally. The actions
//! ([`FaultAction`], `{"type": ...}`): `status`, `reply` (exact status,
//! headers, body), `drop` (connection reset), `delay` — none of which
//! handle the request first — and `commit_then_status`, `commit_then_reply`,
//! `commit_then_drop`, `commit_then_delay`, `commit_then_truncate` (body
//! broken off halfway), which do. `GET` lists the rules not used up, `DELETE`
//! drops them. A bad rule is refused with 400 naming it (`rules[1].times`),
//! and then none of the script is added.
//!
//! **Request log**: every Admin API and token request, oldest first, as a
//! [`RecordedRequest`] (method, path, query, route template, request id, and
//! which [`Credential`] the `Authorization` header held: never its value).
//! The newest [`MAX_LOGGED`] are kept. `/_emulator` requests are not logged
//! or counted. `POST /_emulator/stats/reset` empties the log too.
//!
//! **Clock**: `POST /_emulator/clock {"offset_secs": N}`, |N| at most 100 years and
//! keeping the clock within 1970..9999 (or
//! [`RunningEmulator::set_clock_offset`]) shifts the emulator's time for
//! `created_at`/`updated_at`, the exchange's claim checks, minted tokens and
//! the `Date` header, e.g. to make an object an hour old.
//!
//! From Rust the same knobs are on [`RunningEmulator`], plus
//! [`organization`](RunningEmulator::organization) (what is stored, read
//! without a request) and [`mint`](RunningEmulator::mint) (a token from the
//! built-in issuer).
//! Every response carries an `x-request-id: req_…` header.
//!
//! Behaviour follows `docs/reference/openai-api.md` and its decisions where OpenAI is silent
//! (`docs/reference/openai-api.md#decisions-where-openai-is-silent`). Where even that is silent,
//! the emulator takes the stricter reading (so a client that passes here will not be surprised by
//! the real API):
//! - unknown body fields → 400 `unknown_parameter` (so `type` on a provider
//!   update, or `project_id` on a rule update, is refused);
//! - a rule naming a missing project, or a service account outside that
//!   project → 400 `invalid_value` naming `project_id` / `service_account_id`
//!   (the URL was right, the body was not);
//! - `after` naming an id never in the list → 400 (param `after`); a *deleted*
//!   object's id still works as a cursor;
//! - empty `attribute_matchers`, two transformations of
//!   one attribute, a JWK without `kty` → 400;
//! - CEL is not compiled at create time (`docs/reference/openai-api.md#attribute-transformations`):
//!   bad expressions refuse the exchange instead;
//! - error `code`s: `missing_required_parameter`, `invalid_type`,
//!   `invalid_value`, `unknown_parameter`, `invalid_json` (400), `invalid_api_key`
//!   (401), `not_found` (404), `conflict`/`limit_exceeded` (409),
//!   `rate_limit_exceeded` (429).
//!
//! Where OpenAI's SDKs (`openai` 3.63.0) show OpenAI's answer, the emulator
//! gives exactly that: a missing scope is 401 "You have insufficient
//! permissions for this operation. Missing scopes: ..." with `code: null`
//! (a [`EmulatorConfig::read_only_admin_key`] writing gets it too); an
//! unknown path or a wrong method is 404 "Invalid URL (METHOD /path)" with
//! `code: null`; a refused exchange is 401 (400 for a malformed request);
//! error answers carry `x-should-retry`.

mod admin;
pub mod aws_sts;
pub mod clock;
mod errors;
mod faults;
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod models_api;
mod oauth;
pub mod oidc;
mod pagination;
mod persist;
mod ratelimit;
mod server;
pub mod spiffe;
mod stats;
mod store;
mod validate;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

use errors::ApiError;
use oidc::{Issuer, SigningKey};
use openai_admin::models::{FederationRule, Project, ServiceAccount, WorkloadIdentityProvider};
use openai_admin::secret::Secret;
use serde_json::Value as Json_;
use store::Data;

pub use faults::{BadRule, FaultAction, FaultRule};
pub use ratelimit::RateLimitScope;
pub use stats::{Credential, MAX_LOGGED, RecordedRequest};

/// Kid of the built-in issuer's key.
pub const BUILTIN_KID: &str = "emulator-key-1";

/// How to run the emulator (the binary's flags map one to one).
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The bearer the Admin API and the control routes accept for everything.
    pub admin_key: Secret,
    /// A second admin key restricted to `api.management.read`, as OpenAI
    /// lets an organization restrict a key: it may read the Admin API, and
    /// any write is refused with 401 "You have insufficient permissions for
    /// this operation. Missing scopes: api.management.write." (`code: null`).
    pub read_only_admin_key: Option<Secret>,
    /// Persist the organization here (loaded at start, rewritten after each write).
    pub state_file: Option<PathBuf>,
    /// Delay added to every Admin API request.
    pub latency: Duration,
    /// Fraction (0..=1) of Admin API requests that fail (see the crate docs).
    pub fault_rate: f64,
    /// Seed of the fault RNG.
    pub fault_seed: u64,
    /// `sub` of the tokens the AWS STS stand-in issues (see [`aws_sts`]).
    pub aws_role_arn: String,
    /// `sub` of the stand-in's tokens asked for with
    /// `SubjectMode=OriginIdentity` (the role ARN then stays in the nested
    /// `https://sts.amazonaws.com/` claim as `principal_id`).
    pub aws_origin_subject: String,
    /// Serve the SPIFFE Workload API stand-in on this unix socket (see [`spiffe`]).
    pub spiffe_socket: Option<PathBuf>,
    /// `sub` of the JWT-SVIDs the stand-in issues.
    pub spiffe_id: String,
    /// At most this many Admin API requests per window (emulator clock) per
    /// route, or per organization with [`RateLimitScope::Org`]; `None` or 0:
    /// unlimited.
    pub rate_limit_rpm: Option<u32>,
    /// The span of that window in seconds (60 like OpenAI's per-minute
    /// limits; at least 1).
    pub rate_limit_window_secs: u32,
    /// Send `Retry-After` (seconds until the window frees) with those 429s;
    /// OpenAI sends none.
    pub rate_limit_retry_after: bool,
    pub rate_limit_scope: RateLimitScope,
    /// Let OIDC discovery and JWKS fetches reach loopback addresses (the
    /// built-in issuer, test stand-ins). Private, link-local and other
    /// non-public addresses are always refused.
    pub allow_loopback_key_fetch: bool,
    /// A connection whose request headers take longer is closed (slowloris).
    pub header_read_timeout: Duration,
    /// A request (reading its body included) not answered by then gets a 408.
    pub request_timeout: Duration,
    /// At most this many connections are served at once.
    pub max_connections: usize,
    /// Say in exchange refusals which check failed in detail (rule ids,
    /// expected matcher values, key ids). Off, as OpenAI is terse: the
    /// detail then goes to the emulator's log only.
    pub verbose_refusals: bool,
}

impl EmulatorConfig {
    /// Loopback, a free port, no state file, no latency, no faults, no rate limit.
    pub fn new(admin_key: impl Into<Secret>) -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_key: admin_key.into(),
            read_only_admin_key: None,
            state_file: None,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            fault_seed: 0,
            aws_role_arn: aws_sts::DEFAULT_ROLE_ARN.to_owned(),
            aws_origin_subject: aws_sts::DEFAULT_ORIGIN_SUBJECT.to_owned(),
            spiffe_socket: None,
            spiffe_id: spiffe::DEFAULT_SPIFFE_ID.to_owned(),
            rate_limit_rpm: None,
            rate_limit_window_secs: ratelimit::DEFAULT_WINDOW_SECS,
            rate_limit_retry_after: false,
            rate_limit_scope: RateLimitScope::Route,
            allow_loopback_key_fetch: true,
            header_read_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(120),
            max_connections: 1024,
            verbose_refusals: false,
        }
    }
}

/// Shared state of one running emulator.
pub(crate) struct App {
    admin_key: Secret,
    read_only_admin_key: Option<Secret>,
    // std mutex: held only for synchronous store access, never across an await.
    data: Mutex<Data>,
    // Serialises writes so the state file always reflects the latest one.
    write_lock: tokio::sync::Mutex<()>,
    state_file: Option<PathBuf>,
    oidc_key_pkcs8: String,
    issuer: Issuer,
    keys: keys::KeyCache,
    faults: faults::Faults,
    stats: stats::Stats,
    limiter: ratelimit::Limiter,
    latency: Duration,
    aws_role_arn: String,
    aws_origin_subject: String,
    spiffe_id: String,
    /// Access tokens issued by the exchange, and what they stand for.
    issued: Mutex<HashMap<String, IssuedToken>>,
    /// Put the refused check's specifics (rule ids, expected values) into
    /// exchange refusals, not only into the log.
    verbose_refusals: bool,
    /// Seconds the emulator's clock is ahead of real time (see [`clock`]).
    clock_offset: AtomicI64,
}

/// An access token the exchange issued.
#[derive(Clone, Debug)]
pub(crate) struct IssuedToken {
    /// Unix seconds.
    pub expires_at: i64,
    pub service_account_id: String,
    /// The granted scopes of a `restricted` mapping; `None`: the account's
    /// own permissions (`service_account_default`).
    pub scopes: Option<Vec<String>>,
}

/// The id of one request, in its extensions, for the request log.
#[derive(Clone, Debug)]
pub(crate) struct RequestId(pub String);

/// What the emulator stores, in creation order, as the API shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Organization {
    pub providers: Vec<WorkloadIdentityProvider>,
    pub rules: Vec<FederationRule>,
    pub projects: Vec<Project>,
    /// (project id, account).
    pub service_accounts: Vec<(String, ServiceAccount)>,
}

/// Current time in Unix seconds.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn random_hex32() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl App {
    /// The emulator's clock in Unix seconds (real time plus the test offset).
    fn now(&self) -> i64 {
        // The offset is bounded when set; clamping still keeps every date the
        // emulator formats between 1970 and 9999, whatever the real clock says.
        now()
            .saturating_add(self.clock_offset())
            .clamp(0, clock::MAX_UNIX_SECS)
    }

    fn clock_offset(&self) -> i64 {
        self.clock_offset.load(Ordering::Relaxed)
    }

    fn set_clock_offset(&self, secs: i64) {
        let secs = secs.clamp(-clock::MAX_OFFSET_SECS, clock::MAX_OFFSET_SECS);
        self.clock_offset.store(secs, Ordering::Relaxed);
    }

    fn is_admin_key(&self, token: &str) -> bool {
        admin::same_secret(token, self.admin_key.expose())
    }

    fn is_read_only_admin_key(&self, token: &str) -> bool {
        self.read_only_admin_key
            .as_ref()
            .is_some_and(|key| admin::same_secret(token, key.expose()))
    }

    fn with_data<R>(&self, f: impl FnOnce(&Data) -> R) -> R {
        f(&self.data.lock().expect("store lock"))
    }

    /// Applies one write and, with `--state`, persists the result before
    /// answering. `f` must leave the data untouched when it fails.
    async fn write<R>(
        &self,
        f: impl FnOnce(&mut Data, i64) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let _serial = self.write_lock.lock().await;
        let (result, snapshot) = {
            let mut data = self.data.lock().expect("store lock");
            let result = f(&mut data, self.now())?;
            let snapshot = self
                .state_file
                .as_ref()
                .map(|_| persist::encode(&self.oidc_key_pkcs8, &data));
            (result, snapshot)
        };
        if let (Some(path), Some(bytes)) = (self.state_file.clone(), snapshot) {
            let outcome = tokio::task::spawn_blocking(move || persist::write_atomic(&path, &bytes))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(e) = outcome {
                tracing::error!(error = %e, "could not persist emulator state");
                return Err(ApiError::server(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The change was applied in memory but could not be saved: {e}"),
                ));
            }
        }
        Ok(result)
    }

    fn issue_access_token(&self, issued_token: IssuedToken) -> String {
        let token = format!("wifat_{}{}", random_hex32(), random_hex32());
        let mut issued = self.issued.lock().expect("issued lock");
        let now = self.now();
        issued.retain(|_, t| t.expires_at > now);
        issued.insert(token.clone(), issued_token);
        token
    }

    fn is_access_token(&self, token: &str) -> bool {
        self.issued.lock().expect("issued lock").contains_key(token)
    }

    /// The issued token `token` stands for, expired or not (expired ones
    /// are dropped at the next issue).
    fn access_token(&self, token: &str) -> Option<IssuedToken> {
        self.issued.lock().expect("issued lock").get(token).cloned()
    }
}

/// A running emulator. Dropping it stops the server too.
pub struct RunningEmulator {
    addr: SocketAddr,
    app: Arc<App>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    spiffe: Option<spiffe::SocketServer>,
    /// Held while the emulator runs, so no second one uses the state file.
    state_lock: Option<persist::StateLock>,
}

impl RunningEmulator {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://ADDR/v1`, the Admin API base.
    pub fn api_base(&self) -> String {
        format!("{}/v1", self.base_url())
    }

    /// `http://ADDR/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// `http://ADDR/_emulator/oidc`, the built-in issuer (`iss` of its tokens).
    pub fn issuer_url(&self) -> String {
        format!("{}/_emulator/oidc", self.base_url())
    }

    /// Appends scripted fault rules (see the crate docs); a bad rule adds none.
    pub fn script(&self, rules: impl IntoIterator<Item = FaultRule>) -> Result<(), BadRule> {
        let rules: Vec<FaultRule> = rules.into_iter().collect();
        faults::check_rules(&rules)?;
        self.app.faults.add_rules(rules);
        Ok(())
    }

    /// The scripted rules not used up yet.
    pub fn pending_script(&self) -> Vec<FaultRule> {
        self.app.faults.pending_rules()
    }

    /// Drops every pending scripted rule.
    pub fn clear_script(&self) {
        self.app.faults.clear_rules();
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.app.stats.requests()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.app.stats.clear_requests();
    }

    /// Shifts the emulator's clock `secs` from real time (negative: the past),
    /// at most [`clock::MAX_OFFSET_SECS`] either way (larger values are clamped).
    pub fn set_clock_offset(&self, secs: i64) {
        self.app.set_clock_offset(secs);
    }

    /// Everything stored, read directly (not a request: nothing is logged).
    pub fn organization(&self) -> Organization {
        self.app.with_data(|d| Organization {
            providers: d.providers.iter().map(|e| e.obj.clone()).collect(),
            rules: d.rules.iter().map(|e| e.obj.clone()).collect(),
            projects: d.projects.iter().map(|e| e.obj.clone()).collect(),
            service_accounts: d
                .service_accounts
                .iter()
                .map(|e| (e.obj.project_id.clone(), e.obj.account.clone()))
                .collect(),
        })
    }

    /// A token from the built-in issuer with these claims, as
    /// `POST /_emulator/oidc/token` mints it (`iss`, `iat`, `exp` filled in
    /// unless given; `null` claims left out).
    pub fn mint(&self, claims: Json_) -> anyhow::Result<String> {
        let Json_::Object(claims) = claims else {
            anyhow::bail!("the claims to mint must be a JSON object");
        };
        Ok(oidc::mint_token(&self.app, claims, None)?)
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(mut spiffe) = self.spiffe.take() {
            let _ = (&mut spiffe.task).await;
        }
        // Let a write in progress finish before another emulator may take the file.
        let _writing = self.app.write_lock.lock().await;
        self.state_lock.take();
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

async fn request_id(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    mut req: Request,
    next: Next,
) -> Response {
    let id = format!("req_{}", random_hex32());
    let span = tracing::debug_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(req).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    // hyper dates responses by real time; a shifted clock shows in `Date` too.
    let offset = app.clock_offset();
    if offset != 0 {
        let (real, by) = (
            SystemTime::now(),
            Duration::from_secs(offset.unsigned_abs()),
        );
        let shifted = if offset > 0 {
            real.checked_add(by)
        } else {
            real.checked_sub(by)
        };
        if let Some(value) =
            shifted.and_then(|t| HeaderValue::from_str(&httpdate::fmt_http_date(t)).ok())
        {
            response
                .headers_mut()
                .insert(axum::http::header::DATE, value);
        }
    }
    response
}

/// The `/_emulator` routes that change state (faults, clock, counters and log
/// resets, token minting) take only the admin key and a JSON body: otherwise
/// any local user could script the exchange's answers, and a web page could
/// reach them with a plain form POST (which needs no CORS preflight). Reads,
/// the issuer's discovery and keys stay open. The STS stand-in is left to its
/// own check: it requires a SigV4 `Authorization` header, which no form can
/// send, and the AWS SDKs cannot send the admin key.
async fn control_guard(
    axum::extract::State(app): axum::extract::State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    use axum::http::Method;
    let path = req.uri().path();
    let open = matches!(*req.method(), Method::GET | Method::HEAD)
        || path == "/_emulator/aws/sts"
        || path == "/_emulator/aws/sts/";
    if open {
        return next.run(req).await;
    }
    if *req.method() == Method::POST {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        if !json {
            let mut e = ApiError::bad_json(
                "The emulator's control routes take only `Content-Type: application/json`.",
            );
            e.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return e.into_response();
        }
    }
    admin::require_admin_key(axum::extract::State(app), req, next).await
}

async fn unknown_route(req: Request) -> Response {
    ApiError::unknown_url(req.method().as_str(), req.uri().path()).into_response()
}

fn router(app: Arc<App>) -> Router {
    let counted_token = Router::new()
        .route("/oauth/token", post(oauth::token))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            faults::inject_scripted,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), stats::count));
    let model_api = Router::new()
        .route("/v1/models", get(models_api::list_models))
        .layer(middleware::from_fn_with_state(app.clone(), stats::count));
    let helpers = Router::new()
        .route(
            "/_emulator/oidc/.well-known/openid-configuration",
            get(oidc::discovery),
        )
        .route("/_emulator/oidc/jwks", get(oidc::jwks))
        .route("/_emulator/oidc/token", post(oidc::mint))
        // The SDKs post to the endpoint URL's path, with or without a slash.
        .route("/_emulator/aws/sts", post(aws_sts::get_web_identity_token))
        .route("/_emulator/aws/sts/", post(aws_sts::get_web_identity_token))
        .route("/_emulator/stats", get(stats::get))
        .route("/_emulator/stats/reset", post(stats::reset))
        .route("/_emulator/requests", get(stats::get_requests))
        .route("/_emulator/requests/reset", post(stats::reset_requests))
        .route(
            "/_emulator/faults",
            get(faults::get_rate).post(faults::set_rate),
        )
        .route(
            "/_emulator/faults/script",
            get(faults::get_script)
                .post(faults::add_script)
                .delete(faults::clear_script),
        )
        .route("/_emulator/clock", get(clock::get).post(clock::set))
        .route(
            "/_emulator/projects/{id}/user_api_keys",
            post(admin::add_user_api_key),
        )
        .layer(middleware::from_fn_with_state(app.clone(), control_guard));
    Router::new()
        .merge(admin::routes(app.clone()))
        .merge(counted_token)
        .merge(model_api)
        .merge(helpers)
        .fallback(unknown_route)
        .layer(middleware::from_fn_with_state(app.clone(), request_id))
        .with_state(app)
}

async fn signing_key(stored: Option<&str>) -> anyhow::Result<SigningKey> {
    match stored {
        Some(b64) => {
            let der = B64
                .decode(b64)
                .context("the state file's oidc_key_pkcs8 is not base64")?;
            Ok(SigningKey::from_rsa_pkcs8(BUILTIN_KID, &der)?)
        }
        // RSA generation takes a moment: keep it off the async threads.
        None => Ok(tokio::task::spawn_blocking(|| SigningKey::generate_rsa(BUILTIN_KID)).await??),
    }
}

/// Binds, loads `--state` if any, and serves in a background task.
pub async fn start(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    let fault_rate = faults::check_rate(config.fault_rate)?;
    let state_lock = config
        .state_file
        .as_deref()
        .map(persist::lock)
        .transpose()?;
    let loaded = match &config.state_file {
        Some(path) => persist::load(path)?,
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    let addr = listener.local_addr()?;

    let key = signing_key(loaded.as_ref().map(|s| s.oidc_key_pkcs8.as_str())).await?;
    let oidc_key_pkcs8 = B64.encode(key.rsa_pkcs8().context("the built-in key exports")?);
    let keys = keys::KeyCache::new(config.allow_loopback_key_fetch)
        .context("could not build the HTTP client for OIDC discovery")?;
    let app = Arc::new(App {
        admin_key: config.admin_key,
        read_only_admin_key: config.read_only_admin_key,
        data: Mutex::new(loaded.map(|s| s.data).unwrap_or_default()),
        write_lock: tokio::sync::Mutex::new(()),
        state_file: config.state_file.clone(),
        oidc_key_pkcs8,
        issuer: Issuer {
            url: format!("http://{addr}/_emulator/oidc"),
            key,
        },
        keys,
        faults: faults::Faults::new(fault_rate, config.fault_seed),
        stats: stats::Stats::default(),
        limiter: ratelimit::Limiter::new(
            config.rate_limit_rpm,
            config.rate_limit_window_secs,
            config.rate_limit_retry_after,
            config.rate_limit_scope,
        ),
        latency: config.latency,
        aws_role_arn: config.aws_role_arn,
        aws_origin_subject: config.aws_origin_subject,
        spiffe_id: config.spiffe_id,
        issued: Mutex::new(HashMap::new()),
        verbose_refusals: config.verbose_refusals,
        clock_offset: AtomicI64::new(0),
    });
    // Persist right away so the issuer key survives a restart with no writes.
    if let Some(path) = &config.state_file {
        let bytes = app.with_data(|d| persist::encode(&app.oidc_key_pkcs8, d));
        persist::write_atomic(path, &bytes)?;
    }

    let (shutdown, shutdown_rx) = watch::channel(false);
    let spiffe = match &config.spiffe_socket {
        Some(path) => Some(spiffe::serve(path, app.clone(), shutdown_rx.clone())?),
        None => None,
    };
    let task = tokio::spawn(server::accept_loop(
        listener,
        router(app.clone()),
        shutdown_rx,
        server::Limits {
            header_read_timeout: config.header_read_timeout,
            request_timeout: config.request_timeout,
            max_connections: config.max_connections,
        },
    ));
    tracing::info!(%addr, "emulator listening");
    Ok(RunningEmulator {
        addr,
        app,
        shutdown,
        task: Some(task),
        spiffe,
        state_lock,
    })
}
