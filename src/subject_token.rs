//! Where a workload's subject token (the external OIDC JWT traded in the
//! token exchange) comes from: given inline, read from a file, or fetched
//! from the platform the workload runs on
//! (`docs/reference/openai-api.md#subject-tokens-per-platform`).
//!
//! Every fetcher reads its settings through an `env` lookup (so tests can
//! supply their own) and fails with an error naming the variable, file or
//! endpoint involved. Tokens are kept in [`Secret`] and never formatted
//! into errors; response bodies are quoted only for refusals, and never
//! when they repeat a secret we sent.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use openai_admin::models::{TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT};
use openai_admin::redact::Redactor;
use openai_admin::secret::Secret;

/// The audience requested from platforms that mint tokens on demand, when
/// the configuration names none (the value every setup guide uses).
pub(crate) const DEFAULT_AUDIENCE: &str = "https://api.openai.com/v1";

pub(crate) const ENV_GITHUB_REQUEST_URL: &str = "ACTIONS_ID_TOKEN_REQUEST_URL";
pub(crate) const ENV_GITHUB_REQUEST_TOKEN: &str = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";
/// Overrides where the Kubernetes projected service account token is read.
pub(crate) const ENV_K8S_TOKEN_FILE: &str = "OPENAI_WIF_K8S_TOKEN_FILE";
pub(crate) const DEFAULT_K8S_TOKEN_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/token";
/// Google's own variable for the metadata server's `host[:port]`.
pub(crate) const ENV_GCE_METADATA_HOST: &str = "GCE_METADATA_HOST";
pub(crate) const DEFAULT_GCE_METADATA_HOST: &str = "metadata.google.internal";
/// Overrides the Azure Instance Metadata Service base URL (`scheme://host[:port]`).
pub(crate) const ENV_AZURE_IMDS_ENDPOINT: &str = "OPENAI_WIF_AZURE_IMDS_ENDPOINT";
pub(crate) const DEFAULT_AZURE_IMDS_ENDPOINT: &str = "http://169.254.169.254";
pub(crate) const ENV_AWS_TOKEN_FILE: &str = "AWS_WEB_IDENTITY_TOKEN_FILE";
pub(crate) use aws::{
    ENV_ENDPOINT_URL as ENV_AWS_ENDPOINT_URL, ENV_ENDPOINT_URL_STS as ENV_AWS_ENDPOINT_URL_STS,
};
pub(crate) use spiffe::{ENV_ENDPOINT_SOCKET as ENV_SPIFFE_ENDPOINT_SOCKET, check_spiffe_id};

const GCP_IDENTITY_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/identity";
const AZURE_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
const AZURE_API_VERSION: &str = "2018-02-01";
/// JWTs are a few KiB; anything far larger is the wrong file or endpoint.
const MAX_TOKEN_BYTES: u64 = 64 * 1024;
/// Token files are small local files; a read that takes longer is stuck.
const FILE_READ_TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = concat!("terraform-provider-openai/", env!("CARGO_PKG_VERSION"));

/// Audiences of cloud management and token services: a token for one of
/// them is a credential for the cloud account itself, which must never be
/// sent to a token exchange. Hosts match themselves and their subdomains.
const CLOUD_MANAGEMENT_AUDIENCES: &[(&str, &str)] = &[
    ("management.azure.com", "Azure Resource Manager"),
    ("management.core.windows.net", "Azure Service Management"),
    ("graph.microsoft.com", "Microsoft Graph"),
    ("graph.windows.net", "Azure AD Graph"),
    ("vault.azure.net", "Azure Key Vault"),
    ("storage.azure.com", "Azure Storage"),
    ("database.windows.net", "Azure SQL"),
    ("sts.amazonaws.com", "AWS STS"),
    ("sts.googleapis.com", "Google STS"),
    ("oauth2.googleapis.com", "Google's OAuth token endpoint"),
    ("accounts.google.com", "Google's OAuth token endpoint"),
    ("www.googleapis.com/oauth2", "Google's OAuth token endpoint"),
    ("iamcredentials.googleapis.com", "Google IAM credentials"),
    // `//iam.googleapis.com/projects/.../workloadIdentityPools/...` and its
    // https form: what Google's STS takes for a workload identity pool.
    ("iam.googleapis.com", "Google workload identity federation"),
];

/// Audiences that are not URLs of a host: matched whole (case-insensitive),
/// or as the first segment after an optional `api://` (`<app id>/.default`).
const CLOUD_MANAGEMENT_IDS: &[(&str, &str)] = &[
    // What Entra ID's federated credentials take: a token for it is exchanged
    // for an Azure access token.
    (
        "api://azureadtokenexchange",
        "Azure AD workload identity federation",
    ),
    // App ids of Azure Resource Manager and Microsoft Graph, which Entra ID
    // accepts as audiences in place of their URLs.
    (
        "797f4846-ba00-4fd7-ba43-dac1f8f63013",
        "Azure Resource Manager",
    ),
    ("00000003-0000-0000-c000-000000000000", "Microsoft Graph"),
];

/// The service `audience` belongs to when it is a well-known cloud
/// management or token audience (see [`CLOUD_MANAGEMENT_AUDIENCES`]).
pub(crate) fn cloud_management_audience(audience: &str) -> Option<&'static str> {
    let a = audience.trim().to_ascii_lowercase();
    let id = a.trim_end_matches('/');
    let first = id
        .strip_prefix("api://")
        .unwrap_or(id)
        .split('/')
        .next()
        .unwrap_or_default();
    if let Some((_, service)) = CLOUD_MANAGEMENT_IDS
        .iter()
        .find(|(known, _)| *known == id || *known == first)
    {
        return Some(service);
    }
    let rest = a
        .strip_prefix("https://")
        .or_else(|| a.strip_prefix("http://"))
        // Google's resource names: `//iam.googleapis.com/projects/...`.
        .or_else(|| a.strip_prefix("//"))
        .unwrap_or(&a);
    let rest = rest.trim_end_matches('/');
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    CLOUD_MANAGEMENT_AUDIENCES
        .iter()
        .find(|(pattern, _)| match pattern.split_once('/') {
            Some(_) => rest == *pattern || rest.starts_with(&format!("{pattern}/")),
            None => host == *pattern || host.ends_with(&format!(".{pattern}")),
        })
        .map(|(_, service)| *service)
}

/// Refuses a token whose `aud` names a cloud management audience.
fn check_audience_claim(token: &Secret, from: &str) -> Result<(), FetchError> {
    use base64::Engine as _;
    let payload = token.expose().split('.').nth(1).unwrap_or_default();
    let Ok(bytes) =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('='))
    else {
        return Ok(());
    };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Ok(());
    };
    let auds: Vec<&str> = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => vec![a.as_str()],
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(|v| v.as_str()).collect(),
        _ => Vec::new(),
    };
    match auds
        .iter()
        .find_map(|a| cloud_management_audience(a).map(|s| (*a, s)))
    {
        Some((aud, service)) => Err(FetchError::CloudAudience {
            from: from.to_owned(),
            audience: aud.to_owned(),
            service,
        }),
        None => Ok(()),
    }
}

/// An environment lookup; empty values count as unset.
pub(crate) use openai_admin::Env;

/// A platform whose token the provider can fetch by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Platform {
    GithubActions,
    Kubernetes,
    Gcp,
    Azure,
    Aws,
    Spiffe,
    GitlabCi,
    HcpTerraform,
    Circleci,
    BitbucketPipelines,
    Buildkite,
}

impl Platform {
    pub(crate) const ALL: [Platform; 11] = [
        Platform::GithubActions,
        Platform::Kubernetes,
        Platform::Gcp,
        Platform::Azure,
        Platform::Aws,
        Platform::Spiffe,
        Platform::GitlabCi,
        Platform::HcpTerraform,
        Platform::Circleci,
        Platform::BitbucketPipelines,
        Platform::Buildkite,
    ];

    /// The name used in `subject_token_source`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Platform::GithubActions => "github_actions",
            Platform::Kubernetes => "kubernetes",
            Platform::Gcp => "gcp",
            Platform::Azure => "azure",
            Platform::Aws => "aws",
            Platform::Spiffe => "spiffe",
            Platform::GitlabCi => "gitlab_ci",
            Platform::HcpTerraform => "hcp_terraform",
            Platform::Circleci => "circleci",
            Platform::BitbucketPipelines => "bitbucket_pipelines",
            Platform::Buildkite => "buildkite",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.name() == name)
    }

    /// `"github_actions", "kubernetes", ...` for messages.
    pub(crate) fn allowed_names() -> String {
        Platform::ALL
            .iter()
            .map(|p| format!("\"{}\"", p.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Whether the platform mints a token for a requested audience (the
    /// others hand out a token whose audience was fixed when it was issued).
    /// AWS does so through outbound federation; its EKS token file, which
    /// wins when present, carries a fixed audience.
    pub(crate) fn requests_audience(self) -> bool {
        matches!(
            self,
            Platform::GithubActions
                | Platform::Gcp
                | Platform::Azure
                | Platform::Aws
                | Platform::Spiffe
                | Platform::Buildkite
        )
    }

    /// Whether `audience` may be set: the platforms that always request one,
    /// and CircleCI, whose job token has a fixed audience unless another is
    /// asked for.
    pub(crate) fn takes_audience(self) -> bool {
        self.requests_audience() || self == Platform::Circleci
    }

    /// `"github_actions", "gcp", ...`: the sources that use `audience`.
    pub(crate) fn audience_names() -> String {
        let names: Vec<String> = Platform::ALL
            .iter()
            .filter(|p| p.takes_audience())
            .map(|p| format!("\"{}\"", p.name()))
            .collect();
        match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Google's metadata server issues OIDC ID tokens; the exchange is told
    /// so, as OpenAI's own SDK does. Everything else is a plain JWT.
    pub(crate) fn token_type(self) -> &'static str {
        match self {
            Platform::Gcp => TOKEN_TYPE_ID_TOKEN,
            _ => TOKEN_TYPE_JWT,
        }
    }
}

/// Where the subject token comes from.
#[derive(Clone, Debug)]
pub(crate) enum Source {
    Inline(Secret),
    File(PathBuf),
    /// `subject_token_env`: the environment variable holding the token.
    Env(String),
    Platform {
        platform: Platform,
        /// `None`: not configured, so [`DEFAULT_AUDIENCE`] where one is
        /// requested, and the platform's own where it is fixed.
        audience: Option<String>,
        /// Azure only: the client id of a user-assigned managed identity.
        client_id: Option<String>,
        /// SPIFFE only: which of the workload's identities to ask for.
        spiffe_id: Option<String>,
    },
}

/// A fetched subject token and the `subject_token_type` to send with it.
#[derive(Debug)]
pub(crate) struct SubjectToken {
    pub token: Secret,
    pub token_type: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("the environment variable {var} is not set; {hint}")]
    MissingEnv {
        var: &'static str,
        hint: &'static str,
    },

    #[error(
        "the environment variable {var} named by subject_token_env is not set or empty; {hint}"
    )]
    MissingNamedEnv { var: String, hint: &'static str },

    #[error("could not run `{program}` to get the subject token: {detail}; {hint}")]
    Command {
        program: &'static str,
        detail: String,
        hint: &'static str,
    },

    #[error("the environment variable {var} is {value:?}; {hint}")]
    BadEnv {
        var: &'static str,
        value: String,
        hint: &'static str,
    },

    #[error("cannot read the subject token file {path}: {source}; {hint}", path = .path.display())]
    ReadFile {
        path: PathBuf,
        hint: String,
        #[source]
        source: std::io::Error,
    },

    #[error("the subject token from {from} is empty; {hint}")]
    Empty { from: String, hint: String },

    #[error(
        "the subject token from {from} is larger than {MAX_TOKEN_BYTES} bytes, so it is not a JWT; \
         check that it is the right file or endpoint"
    )]
    TooLarge { from: String },

    #[error(
        "the subject token from {from} is not a JWT (three dot-separated base64url parts); \
         check that it is the identity token and not some other credential"
    )]
    NotJwt { from: String },

    #[error("{what} URL {url:?} from {var} is not valid: {reason}")]
    BadUrl {
        what: &'static str,
        var: &'static str,
        url: String,
        reason: String,
    },

    #[error("could not reach the {what} at {url}: {detail}; {hint}")]
    Transport {
        what: &'static str,
        url: String,
        detail: String,
        hint: &'static str,
    },

    #[error("the {what} at {url} answered HTTP {status}{}; {hint}", .detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        what: &'static str,
        url: String,
        status: u16,
        detail: Option<String>,
        hint: &'static str,
    },

    #[error("the {what} at {url} returned an unexpected response: {reason}")]
    Body {
        what: &'static str,
        url: String,
        reason: String,
    },

    #[error("the {what} at {url} refused: {detail}; {hint}")]
    Refused {
        what: &'static str,
        url: String,
        detail: String,
        hint: &'static str,
    },

    #[error(
        "spiffe_id {id:?} is not a SPIFFE ID ({reason}); it looks like spiffe://example.org/ci"
    )]
    BadSpiffeId { id: String, reason: String },

    #[error("cannot set up the HTTP client: {0}")]
    Client(String),

    #[error(
        "the subject token from {from} has the audience {audience:?} of {service}: it is a \
         credential for the cloud account itself and is never sent to a token exchange; issue \
         the workload a token for the workload identity provider's audience instead"
    )]
    CloudAudience {
        from: String,
        audience: String,
        service: &'static str,
    },
}

/// Fetches the subject token from `source`. `timeout` bounds each HTTP call.
pub(crate) async fn fetch(
    source: &Source,
    env: Env<'_>,
    timeout: Duration,
) -> Result<SubjectToken, FetchError> {
    let (token, from) = match source {
        Source::Inline(secret) => (secret.clone(), "subject_token".to_owned()),
        Source::File(path) => (
            read_token_file(path, "check subject_token_file".to_owned()).await?,
            format!("file {}", path.display()),
        ),
        Source::Env(var) => (
            ci::named_env(env, var)?,
            format!("the environment variable {var}"),
        ),
        Source::Platform {
            platform,
            audience: configured,
            client_id,
            spiffe_id,
        } => {
            let audience = configured.as_deref().unwrap_or(DEFAULT_AUDIENCE);
            let token = match platform {
                Platform::GithubActions => github_actions(env, audience, timeout).await?,
                Platform::Kubernetes => kubernetes(env).await?,
                Platform::Gcp => gcp(env, audience, timeout).await?,
                Platform::Azure => azure(env, audience, client_id.as_deref(), timeout).await?,
                Platform::Aws => aws(env, audience, timeout).await?,
                Platform::Spiffe => {
                    spiffe::jwt_svid(env, audience, spiffe_id.as_deref(), timeout).await?
                }
                Platform::GitlabCi => ci::env_token(env, &ci::GITLAB_CI)?,
                Platform::HcpTerraform => ci::env_token(env, &ci::HCP_TERRAFORM)?,
                Platform::BitbucketPipelines => ci::env_token(env, &ci::BITBUCKET_PIPELINES)?,
                Platform::Circleci => match configured {
                    None => ci::env_token(env, &ci::CIRCLECI)?,
                    Some(aud) => ci::circleci_for(aud, timeout).await?,
                },
                Platform::Buildkite => ci::buildkite(audience, timeout).await?,
            };
            (
                token,
                format!("subject_token_source \"{}\"", platform.name()),
            )
        }
    };
    check_jwt(&token, &from)?;
    check_audience_claim(&token, &from)?;
    let token_type = match source {
        Source::Platform { platform, .. } => platform.token_type(),
        _ => TOKEN_TYPE_JWT,
    };
    Ok(SubjectToken { token, token_type })
}

fn lookup(env: Env<'_>, var: &str) -> Option<String> {
    env(var).filter(|v| !v.trim().is_empty())
}

fn require(env: Env<'_>, var: &'static str, hint: &'static str) -> Result<String, FetchError> {
    lookup(env, var).ok_or(FetchError::MissingEnv { var, hint })
}

fn check_jwt(token: &Secret, from: &str) -> Result<(), FetchError> {
    let parts: Vec<&str> = token.expose().split('.').collect();
    let base64url = |p: &str| {
        p.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=')
    };
    if parts.len() == 3
        && parts[..2].iter().all(|p| !p.is_empty())
        && parts.iter().all(|p| base64url(p))
    {
        Ok(())
    } else {
        Err(FetchError::NotJwt {
            from: from.to_owned(),
        })
    }
}

/// Reads a token file (trimmed). `hint` says what to change when it fails.
///
/// The file is opened without blocking (a FIFO with no writer would block
/// `open` forever), must be a regular file on the opened handle (so a swap
/// between a check and the read changes nothing), and at most
/// [`MAX_TOKEN_BYTES`] + 1 bytes are read, within [`FILE_READ_TIMEOUT`].
async fn read_token_file(path: &Path, hint: String) -> Result<Secret, FetchError> {
    let read_err = |source| FetchError::ReadFile {
        path: path.to_owned(),
        hint: hint.clone(),
        source,
    };
    let from = || format!("file {}", path.display());
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || read_bounded(&owned));
    let bytes = match tokio::time::timeout(FILE_READ_TIMEOUT, read).await {
        Ok(Ok(result)) => result.map_err(read_err)?,
        Ok(Err(join)) => return Err(read_err(std::io::Error::other(join.to_string()))),
        Err(_) => {
            return Err(read_err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("reading took longer than {}s", FILE_READ_TIMEOUT.as_secs()),
            )));
        }
    };
    if bytes.len() as u64 > MAX_TOKEN_BYTES {
        return Err(FetchError::TooLarge { from: from() });
    }
    let text = String::from_utf8(bytes).map_err(|_| FetchError::NotJwt { from: from() })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(FetchError::Empty { from: from(), hint });
    }
    Ok(Secret::new(token))
}

/// Opens `path` (following symlinks, as Kubernetes' projected tokens are),
/// refuses anything but a regular file, reads at most the limit plus one.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "it is not a regular file (a FIFO, socket, device or directory)",
        ));
    }
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn http_client(timeout: Duration, use_proxy: bool) -> Result<reqwest::Client, FetchError> {
    let builder = reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        // A redirect could carry a bearer token somewhere unexpected, and no
        // identity endpoint redirects.
        .redirect(reqwest::redirect::Policy::none());
    // Metadata servers are link-local: a proxy can only get in the way (or
    // see a token it should not).
    // Where a proxy may apply, it never does for loopback hosts.
    let builder = if use_proxy {
        openai_admin::proxy::configure_from_env(builder)
    } else {
        builder.no_proxy()
    };
    builder
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))
}

/// A GET returning the body of a 2xx answer. `secret` is what we sent: a
/// refusal body is quoted with every fragment of it redacted, by the same
/// rule as the Admin API client's (`openai_admin::redact`), so an echo of
/// the token cut by a character is caught as well as a whole one.
async fn get(
    client: &reqwest::Client,
    url: Url,
    headers: HeaderMap,
    what: &'static str,
    hint: &'static str,
    secret: Option<&Secret>,
) -> Result<Vec<u8>, FetchError> {
    // Only scheme, host and path go into messages: a query may carry tokens.
    let shown = {
        let mut u = url.clone();
        u.set_query(None);
        u.to_string()
    };
    let response =
        client
            .get(url)
            .headers(headers)
            .send()
            .await
            .map_err(|e| FetchError::Transport {
                what,
                url: shown.clone(),
                detail: error_chain(&e.without_url()),
                hint,
            })?;
    let status = response.status();
    let body = match openai_admin::body::read_limited(response, MAX_TOKEN_BYTES as usize).await {
        Ok(body) => body,
        Err(openai_admin::body::BodyError::TooLarge(_)) => {
            return Err(FetchError::TooLarge {
                from: format!("the {what} at {shown}"),
            });
        }
        Err(openai_admin::body::BodyError::Transport(e)) => {
            return Err(FetchError::Transport {
                what,
                url: shown.clone(),
                detail: error_chain(&e.without_url()),
                hint,
            });
        }
    };
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let redactor = secret
            .map(|s| Redactor::new().with_secret(s))
            .unwrap_or_default();
        return Err(FetchError::Status {
            what,
            url: shown,
            status: status.as_u16(),
            detail: excerpt(&text).map(|t| redactor.redact(&t)),
            hint,
        });
    }
    Ok(body)
}

fn excerpt(text: &str) -> Option<String> {
    const MAX_CHARS: usize = 200;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.chars().count() {
        0 => None,
        n if n > MAX_CHARS => Some(format!(
            "{}…",
            line.chars().take(MAX_CHARS).collect::<String>()
        )),
        _ => Some(line),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = s.source();
    }
    out
}

fn header(
    name: &'static str,
    value: &str,
    sensitive: bool,
) -> Result<(HeaderName, HeaderValue), String> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| format!("{name} value contains characters not allowed in an HTTP header"))?;
    v.set_sensitive(sensitive);
    Ok((HeaderName::from_static(name), v))
}

fn json_string_field(
    body: &[u8],
    field: &str,
    what: &'static str,
    url: &str,
) -> Result<Secret, FetchError> {
    let bad = |reason: String| FetchError::Body {
        what,
        url: url.to_owned(),
        reason,
    };
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        bad(format!(
            "not JSON ({})",
            openai_admin::client::decode_detail(&e)
        ))
    })?;
    match v.get(field) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Ok(Secret::new(s.trim())),
        Some(_) => Err(bad(format!("\"{field}\" is empty or not a string"))),
        None => Err(bad(format!("no \"{field}\" field"))),
    }
}

/// GitHub Actions: the job's OIDC token for `audience`. Needs the workflow
/// permission `id-token: write`, which makes the runner set both variables.
async fn github_actions(
    env: Env<'_>,
    audience: &str,
    timeout: Duration,
) -> Result<Secret, FetchError> {
    const WHAT: &str = "GitHub Actions OIDC token endpoint";
    const HINT: &str = "this is set only inside a GitHub Actions job whose workflow grants \
                        `permissions: id-token: write`";
    let raw_url = require(env, ENV_GITHUB_REQUEST_URL, HINT)?;
    let request_token = Secret::new(require(env, ENV_GITHUB_REQUEST_TOKEN, HINT)?);
    let mut url = Url::parse(&raw_url).map_err(|e| FetchError::BadUrl {
        what: WHAT,
        var: ENV_GITHUB_REQUEST_URL,
        url: redact_query(&raw_url),
        reason: e.to_string(),
    })?;
    // The request token goes along: only over https, except to a loopback
    // stand-in, as for every other endpoint the provider sends secrets to.
    if url.scheme() != "https" && !(url.scheme() == "http" && crate::validate::is_loopback(&url)) {
        return Err(FetchError::BadUrl {
            what: WHAT,
            var: ENV_GITHUB_REQUEST_URL,
            url: redact_query(&raw_url),
            reason: "it must use https (plain http only on a loopback host), since the \
                     request token is sent there"
                .to_owned(),
        });
    }
    url.query_pairs_mut().append_pair("audience", audience);
    let (name, value) = header(
        "authorization",
        &format!("bearer {}", request_token.expose()),
        true,
    )
    .map_err(|reason| FetchError::BadUrl {
        what: WHAT,
        var: ENV_GITHUB_REQUEST_TOKEN,
        url: redact_query(&raw_url),
        reason,
    })?;
    let mut headers = HeaderMap::new();
    headers.insert(name, value);
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    let shown = redact_query(&raw_url);
    let body = get(
        &http_client(timeout, true)?,
        url,
        headers,
        WHAT,
        "check that the job grants `id-token: write` and that its token has not expired",
        Some(&request_token),
    )
    .await?;
    json_string_field(&body, "value", WHAT, &shown)
}

fn redact_query(raw: &str) -> String {
    raw.split(['?', '#']).next().unwrap_or_default().to_owned()
}

/// Kubernetes: the projected service account token file.
async fn kubernetes(env: Env<'_>) -> Result<Secret, FetchError> {
    let (path, hint) = match lookup(env, ENV_K8S_TOKEN_FILE) {
        Some(p) => (
            PathBuf::from(p),
            format!("the path comes from {ENV_K8S_TOKEN_FILE}; check it"),
        ),
        None => (
            PathBuf::from(DEFAULT_K8S_TOKEN_FILE),
            format!(
                "this is the default path of a pod's service account token; if the token is \
                 projected elsewhere (e.g. with the audience of the workload identity provider), \
                 set {ENV_K8S_TOKEN_FILE} or use subject_token_file"
            ),
        ),
    };
    read_token_file(&path, hint).await
}

/// AWS: on EKS with IAM roles for service accounts, the web identity token
/// file named by the standard variable; anywhere else, a token for
/// `audience` from IAM outbound identity federation (see [`aws`]).
async fn aws(env: Env<'_>, audience: &str, timeout: Duration) -> Result<Secret, FetchError> {
    match lookup(env, ENV_AWS_TOKEN_FILE) {
        Some(path) => {
            read_token_file(
                Path::new(&path),
                format!("the path comes from {ENV_AWS_TOKEN_FILE}; check it"),
            )
            .await
        }
        None => aws::outbound(env, audience, timeout).await,
    }
}

/// Google Cloud: an ID token for `audience` from the metadata server.
async fn gcp(env: Env<'_>, audience: &str, timeout: Duration) -> Result<Secret, FetchError> {
    const WHAT: &str = "Google Cloud metadata server";
    let host =
        lookup(env, ENV_GCE_METADATA_HOST).unwrap_or_else(|| DEFAULT_GCE_METADATA_HOST.to_owned());
    let raw = format!(
        "http://{}{GCP_IDENTITY_PATH}",
        host.trim().trim_end_matches('/')
    );
    let mut url = Url::parse(&raw).map_err(|e| FetchError::BadUrl {
        what: WHAT,
        var: ENV_GCE_METADATA_HOST,
        url: raw.clone(),
        reason: format!("{e}; it must be host[:port]"),
    })?;
    url.query_pairs_mut()
        .append_pair("audience", audience)
        .append_pair("format", "full");
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("metadata-flavor"),
        HeaderValue::from_static("Google"),
    );
    let body = get(
        &http_client(timeout, false)?,
        url,
        headers,
        WHAT,
        "run on Google Cloud with a service account attached, or set GCE_METADATA_HOST",
        None,
    )
    .await?;
    let text = String::from_utf8(body).map_err(|_| FetchError::Body {
        what: WHAT,
        url: raw.clone(),
        reason: "the body is not UTF-8 text".to_owned(),
    })?;
    Ok(Secret::new(text.trim()))
}

/// Azure: a managed identity token for `resource` from the Instance
/// Metadata Service (IMDS).
async fn azure(
    env: Env<'_>,
    resource: &str,
    client_id: Option<&str>,
    timeout: Duration,
) -> Result<Secret, FetchError> {
    const WHAT: &str = "Azure Instance Metadata Service";
    let base = lookup(env, ENV_AZURE_IMDS_ENDPOINT)
        .unwrap_or_else(|| DEFAULT_AZURE_IMDS_ENDPOINT.to_owned());
    let raw = format!("{}{AZURE_TOKEN_PATH}", base.trim().trim_end_matches('/'));
    let mut url = Url::parse(&raw).map_err(|e| FetchError::BadUrl {
        what: WHAT,
        var: ENV_AZURE_IMDS_ENDPOINT,
        url: raw.clone(),
        reason: format!("{e}; it must be a base URL like {DEFAULT_AZURE_IMDS_ENDPOINT}"),
    })?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("api-version", AZURE_API_VERSION)
            .append_pair("resource", resource);
        if let Some(id) = client_id {
            q.append_pair("client_id", id);
        }
    }
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("metadata"),
        HeaderValue::from_static("true"),
    );
    let body = get(
        &http_client(timeout, false)?,
        url,
        headers,
        WHAT,
        "run on an Azure VM or service with a managed identity (set client_id for a \
         user-assigned one), or set OPENAI_WIF_AZURE_IMDS_ENDPOINT",
        None,
    )
    .await?;
    json_string_field(&body, "access_token", WHAT, &raw)
}

mod aws;
mod ci;
mod spiffe;

pub(crate) use ci::{
    ENV_BITBUCKET_TOKEN, ENV_CIRCLECI_TOKEN, ENV_GITLAB_TOKEN, ENV_HCP_TERRAFORM_TOKEN,
    check_env_name,
};

#[cfg(test)]
mod tests;
