//! `openai-emulator`: a local OpenAI Admin API + token exchange for tests.
//! Prints `listening on http://ADDR` as its first stdout line, then serves
//! until Ctrl-C or SIGTERM.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use openai_admin::secret::Secret;
use openai_emulator::{EmulatorConfig, RateLimitScope, start};

#[derive(Parser, Debug)]
#[command(
    name = "openai-emulator",
    about = "Local emulator of the OpenAI Admin API (workload identity federation) and token exchange"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The admin key the Admin API accepts as `Authorization: Bearer <KEY>`.
    /// Visible to other local users in the process list: prefer
    /// `--admin-key-file` or the `OPENAI_EMULATOR_ADMIN_KEY` environment variable.
    #[arg(long, conflicts_with = "admin_key_file")]
    admin_key: Option<String>,
    /// Read the admin key from this file (surrounding whitespace is ignored).
    #[arg(long)]
    admin_key_file: Option<PathBuf>,
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

/// The environment variable the admin key may come from.
const ENV_ADMIN_KEY: &str = "OPENAI_EMULATOR_ADMIN_KEY";

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
        state_file: args.state,
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        fault_seed: args.fault_seed,
        aws_role_arn: args.aws_role_arn,
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
