//! `openai-emulator`: a local OpenAI Admin API + token exchange for tests.
//! Prints `listening on http://ADDR` as its first stdout line, then serves
//! until Ctrl-C or SIGTERM.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use openai_admin::secret::Secret;
use openai_emulator::{EmulatorConfig, RateLimitScope, start};

/// Listed under `--help`: the routes besides the Admin API that tests drive.
const ROUTES_HELP: &str = "\
Routes (BASE is the `listening on` URL printed first on stdout):
  BASE/v1/organization/...                  the Admin API (admin key)
  POST BASE/oauth/token                     the workload identity token exchange
  GET  BASE/v1/models                       with an exchanged access token
  BASE/_emulator/oidc                       built-in OIDC issuer (discovery, /jwks)
  POST BASE/_emulator/oidc/token            mint a token; the body is its claims
  POST BASE/_emulator/aws/sts               AWS STS GetWebIdentityToken stand-in
  GET|POST BASE/_emulator/faults            random fault rate: {\"fault_rate\": F}
  GET|POST|DELETE BASE/_emulator/faults/script   scripted faults: {\"rules\": [...]}
  GET|POST BASE/_emulator/clock             clock offset: {\"offset_secs\": N}
  GET  BASE/_emulator/stats                 counters; POST .../stats/reset
  GET  BASE/_emulator/requests              request log; POST .../requests/reset
Control POSTs and DELETEs need the admin key and Content-Type: application/json.
See docs/guides/testing-with-emulator.md for the bodies and answers.";

#[derive(Parser, Debug)]
#[command(
    name = "openai-emulator",
    version,
    about = "Local emulator of the OpenAI Admin API (workload identity federation) and token exchange",
    after_help = ROUTES_HELP
)]
struct Args {
    /// Address to listen on, `HOST:PORT` (an IP or `localhost`); port 0
    /// picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_parser = parse_listen)]
    listen: SocketAddr,
    /// The admin key the Admin API accepts as `Authorization: Bearer <KEY>`.
    /// Visible to other local users in the process list: prefer
    /// `--admin-key-file` or the `OPENAI_EMULATOR_ADMIN_KEY` environment variable.
    #[arg(long, conflicts_with = "admin_key_file")]
    admin_key: Option<String>,
    /// Read the admin key from this file (surrounding whitespace is ignored).
    #[arg(long)]
    admin_key_file: Option<PathBuf>,
    /// Also accept this admin key, restricted to `api.management.read`:
    /// reads work, writes get OpenAI's 401 "Missing scopes:
    /// api.management.write". Also from `OPENAI_EMULATOR_READ_ONLY_ADMIN_KEY`.
    #[arg(long)]
    read_only_admin_key: Option<String>,
    /// Persist all objects in this JSON file (created if missing).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Delay added to every Admin API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction (0..1) of Admin API requests that fail (500/502/503/429, reset, lost response).
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed for the fault sequence.
    #[arg(long, default_value_t = 0)]
    fault_seed: u64,
    /// `sub` of the tokens the AWS STS stand-in (`/_emulator/aws/sts`) issues.
    #[arg(long, default_value = openai_emulator::aws_sts::DEFAULT_ROLE_ARN)]
    aws_role_arn: String,
    /// `sub` of the STS stand-in's tokens asked for with
    /// `SubjectMode=OriginIdentity` (the role ARN is then in the
    /// `https://sts.amazonaws.com/` claim's `principal_id`).
    #[arg(long, default_value = openai_emulator::aws_sts::DEFAULT_ORIGIN_SUBJECT)]
    aws_origin_subject: String,
    /// Also serve a SPIFFE Workload API stand-in on this unix socket.
    #[arg(long)]
    spiffe_socket: Option<PathBuf>,
    /// `sub` of the JWT-SVIDs the SPIFFE stand-in issues.
    #[arg(long, default_value = openai_emulator::spiffe::DEFAULT_SPIFFE_ID)]
    spiffe_id: String,
    /// At most this many Admin API requests per route in any window
    /// (60 seconds, or --rate-limit-window-secs), then 429
    /// `rate_limit_exceeded` (0: unlimited).
    #[arg(long, default_value_t = 0)]
    rate_limit_rpm: u32,
    /// The span of the rate limit's window, in seconds (at least 1).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_window_secs: u32,
    /// Send `Retry-After` with those 429s (OpenAI sends none).
    #[arg(long)]
    rate_limit_retry_after: bool,
    /// What one rate limit covers: `route` (method and path template) or `org` (everything).
    #[arg(long, default_value = "route")]
    rate_limit_scope: RateLimitScope,
    /// Refuse OIDC discovery and JWKS fetches from loopback addresses too
    /// (non-public addresses are always refused; loopback is allowed by
    /// default for the built-in issuer and local stand-ins).
    #[arg(long)]
    deny_loopback_key_fetch: bool,
    /// Close a connection whose request headers take longer than this (seconds).
    #[arg(long, default_value_t = 30)]
    header_read_timeout_secs: u64,
    /// Answer 408 to a request (body included) not handled within this (seconds).
    #[arg(long, default_value_t = 120)]
    request_timeout_secs: u64,
    /// Serve at most this many connections at once.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// Say in token exchange refusals which check failed in detail (rule ids,
    /// expected matcher values); by default that goes to the log only.
    #[arg(long)]
    verbose_refusals: bool,
}

/// `HOST:PORT` with an IP address or `localhost` (which means 127.0.0.1:
/// the emulator listens on one address, and loopback is what tests want).
fn parse_listen(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    let (host, port) = value
        .rsplit_once(':')
        .ok_or_else(|| format!("`{value}` is not HOST:PORT (e.g. localhost:8080)"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` in `{value}` is not a port number (0-65535)"))?;
    if host.eq_ignore_ascii_case("localhost") {
        Ok(SocketAddr::from(([127, 0, 0, 1], port)))
    } else {
        Err(format!(
            "`{host}` in `{value}` is not an IP address or `localhost`"
        ))
    }
}

/// The environment variable the admin key may come from.
const ENV_ADMIN_KEY: &str = "OPENAI_EMULATOR_ADMIN_KEY";
/// ... and the read-only admin key.
const ENV_READ_ONLY_ADMIN_KEY: &str = "OPENAI_EMULATOR_READ_ONLY_ADMIN_KEY";

/// The admin key from `--admin-key`, `--admin-key-file` or the environment.
fn admin_key(args: &Args) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let key = match (&args.admin_key, &args.admin_key_file) {
        (Some(key), _) => key.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("could not read --admin-key-file {}", path.display()))?,
        (None, None) => std::env::var(ENV_ADMIN_KEY).map_err(|_| {
            anyhow::anyhow!(
                "no admin key: pass --admin-key-file FILE, set {ENV_ADMIN_KEY}, or pass --admin-key KEY"
            )
        })?,
    };
    let key = key.trim().to_owned();
    anyhow::ensure!(!key.is_empty(), "the admin key is empty");
    Ok(key)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: logs piped to a file or a
        // CI log stay plain text.
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();

    let key = admin_key(&args)?;
    if !args.listen.ip().is_loopback() {
        tracing::warn!(
            listen = %args.listen,
            "listening on a non-loopback address: anyone who can reach it can mint test tokens \
             and use the emulator's issuer; the emulator is meant for local tests"
        );
    }
    let emulator = start(EmulatorConfig {
        listen: args.listen,
        admin_key: Secret::new(key),
        read_only_admin_key: args
            .read_only_admin_key
            .or_else(|| std::env::var(ENV_READ_ONLY_ADMIN_KEY).ok())
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(Secret::new),
        state_file: args.state,
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        aws_role_arn: args.aws_role_arn,
        aws_origin_subject: args.aws_origin_subject,
        spiffe_socket: args.spiffe_socket,
        spiffe_id: args.spiffe_id,
        rate_limit_rpm: Some(args.rate_limit_rpm),
        rate_limit_window_secs: args.rate_limit_window_secs,
        rate_limit_retry_after: args.rate_limit_retry_after,
        rate_limit_scope: args.rate_limit_scope,
        allow_loopback_key_fetch: !args.deny_loopback_key_fetch,
        header_read_timeout: Duration::from_secs(args.header_read_timeout_secs.max(1)),
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        max_connections: args.max_connections,
        verbose_refusals: args.verbose_refusals,
    })
    .await?;

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", emulator.base_url())?;
    stdout.flush()?;
    drop(stdout);

    wait_for_signal().await;
    emulator.shutdown().await;
    Ok(())
}
