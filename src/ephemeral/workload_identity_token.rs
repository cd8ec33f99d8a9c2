//! Ephemeral resource `openai_workload_identity_token`: exchanges a
//! workload's external OIDC token for a short-lived OpenAI access token, for
//! other providers' configuration or write-only arguments. Terraform keeps
//! ephemeral results out of plan and state; this file keeps the subject and
//! access tokens out of logs and out of the private bytes.
//!
//! Renewal. OpenAI access tokens cannot be refreshed or extended
//! (`docs/reference/openai-api.md#token-exchange-response`: no refresh token), and Terraform's
//! RenewEphemeralResource cannot hand a new value to blocks that already received the old one. A
//! re-exchange at renewal would therefore mint a token nobody receives, and would need the
//! subject token (a secret) kept in the private bytes or fetched again. So
//! renewal does not exchange: `renew_at` is set shortly before expiry (80 % of
//! the lifetime, at least 60 s before the end) and renewal only reports when
//! the token expires, as a warning and a WARN log line, then stops. The
//! private bytes hold non-secret facts only (ids and expiry time); close has
//! nothing to revoke, since the token endpoint offers no revocation.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::refusal;
use crate::provider_data::ProviderData;
use crate::subject_token::{self, DEFAULT_AUDIENCE, Platform, Source};
use crate::values::Sensitive;
use openai_admin::ExchangeError;
use openai_admin::models::{
    GRANT_TYPE_TOKEN_EXCHANGE, TokenExchangeRequest, TokenExchangeResponse,
};
use openai_admin::secret::Secret;
use tfplugin::codec::{Path, Type};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, ConfigRules, Diagnostic, Diagnostics, EphemeralResource, OpenRequest, OpenResponse,
    RenewRequest, RenewResponse, Schema, check_config,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_token";

tfplugin::model! {
    /// The configuration and result. The two tokens are [`Sensitive`], so
    /// that printing a model cannot show them.
    pub(crate) struct TokenModel {
        pub workload_identity_provider_id: Field<String>,
        pub service_account_id: Field<String>,
        pub subject_token: Field<Sensitive>,
        pub subject_token_file: Field<String>,
        pub subject_token_source: Field<String>,
        pub subject_token_env: Field<String>,
        pub audience: Field<String>,
        pub client_id: Field<String>,
        pub spiffe_id: Field<String>,
        pub access_token: Field<Sensitive>,
        pub expires_at: Field<String>,
        pub scope: Field<String>,
        pub token_type: Field<String>,
    }
}

type M = TokenModel;
/// Renew no later than this before expiry...
const RENEW_MARGIN_MIN: Duration = Duration::from_secs(60);
/// ...and no later than this fraction of the lifetime (1/5 = at 80 %).
const RENEW_MARGIN_DIVISOR: u32 = 5;

pub(crate) struct WorkloadIdentityTokenEphemeral;

pub(crate) fn schema() -> Schema {
    Schema::new(
        "Exchanges a workload's OIDC token (from GitHub Actions, GitLab CI, HCP Terraform, \
         CircleCI, Bitbucket Pipelines, Buildkite, Kubernetes, Google Cloud, Azure, AWS, SPIFFE, \
         a file or a variable) for a short-lived OpenAI access token, without any \
         API key. Use the result in other providers' configuration or in write-only arguments; \
         Terraform never stores it in plan or state. Needs Terraform 1.10 or later.",
    )
    .attribute(
        Attribute::required(M::workload_identity_provider_id, Type::String)
            .not_blank("Give the provider's id (`wip_...`).")
            .description("The workload identity provider that trusts the token's issuer (`wip_...`)."),
    )
    .attribute(
        Attribute::required(M::service_account_id, Type::String)
            .not_blank("Give the service account's id (`svc_acct_...`).")
            .description("The project service account to act as (`svc_acct_...`). A service account mapping must bind it to the provider."),
    )
    .attribute(
        Attribute::optional(M::subject_token, Type::String)
            .not_blank("Remove it or give a value.")
            .sensitive()
            .description(
                "The subject token itself (a JWT). Pass it from an ephemeral or sensitive variable. \
                 Exactly one of `subject_token`, `subject_token_file`, `subject_token_source` and \
                 `subject_token_env` must be set.",
            ),
    )
    .attribute(Attribute::optional(M::subject_token_file, Type::String)
            .not_blank("Remove it or give a value.").description(
        "Path of a file holding the subject token, read when the resource is opened \
         (e.g. a Kubernetes projected token at a custom path).",
    ))
    .attribute(Attribute::optional(M::subject_token_source, Type::String).description(format!(
        "Fetch the subject token from the platform: one of {}. \
         `github_actions` requests a token for `audience` with `ACTIONS_ID_TOKEN_REQUEST_URL` and \
         `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (the workflow needs `permissions: id-token: write`); \
         `kubernetes` reads `{}` (or the file named by `{}`); \
         `gcp` asks the metadata server (`{}`, host overridable with `{}`) for an ID token for `audience`; \
         `azure` asks the Instance Metadata Service (`{}`, overridable with `{}`) for a managed identity token for the resource `audience`; \
         `aws` reads the file named by `{}` when it is set (EKS), and otherwise asks AWS STS \
         `GetWebIdentityToken` for a token for `audience` (IAM outbound identity federation, with \
         the standard AWS credential chain and region; endpoint from `{}` or `{}`); \
         `spiffe` asks the SPIFFE Workload API at `{}` for a JWT-SVID for `audience`; \
         `gitlab_ci` reads `{}` (declare it under `id_tokens:` with the provider's audience); \
         `hcp_terraform` reads `{}` (set `TFC_WORKLOAD_IDENTITY_AUDIENCE` on the workspace); \
         `circleci` reads `{}` (its audience is the organization id), or with `audience` runs \
         `circleci run oidc get` for it; \
         `bitbucket_pipelines` reads `{}` (the step needs `oidc: true`); \
         `buildkite` runs `buildkite-agent oidc request-token` for `audience` with the \
         `organization_id` and `pipeline_id` claims.",
        Platform::allowed_names(),
        subject_token::DEFAULT_K8S_TOKEN_FILE,
        subject_token::ENV_K8S_TOKEN_FILE,
        subject_token::DEFAULT_GCE_METADATA_HOST,
        subject_token::ENV_GCE_METADATA_HOST,
        subject_token::DEFAULT_AZURE_IMDS_ENDPOINT,
        subject_token::ENV_AZURE_IMDS_ENDPOINT,
        subject_token::ENV_AWS_TOKEN_FILE,
        subject_token::ENV_AWS_ENDPOINT_URL_STS,
        subject_token::ENV_AWS_ENDPOINT_URL,
        subject_token::ENV_SPIFFE_ENDPOINT_SOCKET,
        subject_token::ENV_GITLAB_TOKEN,
        subject_token::ENV_HCP_TERRAFORM_TOKEN,
        subject_token::ENV_CIRCLECI_TOKEN,
        subject_token::ENV_BITBUCKET_TOKEN,
    )))
    .attribute(Attribute::optional(M::subject_token_env, Type::String)
            .not_blank("Remove it or give a value.").description(
        "The name of an environment variable holding the subject token, for any platform that \
         hands its jobs a token that way (e.g. the variable a GitLab job declares under \
         `id_tokens:`). The variable is read when the resource is opened; its value is never \
         shown.",
    ))
    .attribute(Attribute::optional(M::audience, Type::String)
            .not_blank("Remove it or give a value.").description(format!(
        "The audience to request the subject token for, with `subject_token_source` {} \
         (for Azure, the Entra application ID URI). It must equal the workload identity \
         provider's audience. Defaults to `{DEFAULT_AUDIENCE}`.",
        Platform::audience_names(),
    )))
    .attribute(Attribute::optional(M::client_id, Type::String)
            .not_blank("Remove it or give a value.").description(
        "With `subject_token_source = \"azure\"`: the client id of a user-assigned managed \
         identity. Omit it for the system-assigned identity.",
    ))
    .attribute(Attribute::optional(M::spiffe_id, Type::String)
            .not_blank("Remove it or give a value.").description(
        "With `subject_token_source = \"spiffe\"`: which of the workload's SPIFFE IDs to get \
         the JWT-SVID for, e.g. `spiffe://example.org/ci`. Omit it for the workload's default \
         identity.",
    ))
    .attribute(
        Attribute::computed(M::access_token, Type::String)
            .sensitive()
            .description("The OpenAI access token, for `Authorization: Bearer` on the OpenAI API. It cannot call the Admin API."),
    )
    .attribute(Attribute::computed(M::expires_at, Type::String).description(
        "When the access token expires (RFC 3339, UTC). At most one hour after the exchange, \
         and never after the subject token expires. It cannot be renewed: runs that outlive it \
         must fetch a new one.",
    ))
    .attribute(Attribute::computed(M::scope, Type::String).description(
        "The space-separated permission scopes the token is restricted to, or null when the \
         mapping keeps the service account's default permissions.",
    ))
    .attribute(Attribute::computed(M::token_type, Type::String).description("The token type, `Bearer`."))
}

/// Counts how many of the three mutually exclusive subject token sources
/// are set: (known set, unknown).
fn sources_set(config: &TokenModel) -> (Vec<&'static str>, usize) {
    let mut set = Vec::new();
    let mut unknown = 0;
    for (name, value) in [
        (M::subject_token, config.subject_token.as_ref().map(|_| ())),
        (
            M::subject_token_file,
            config.subject_token_file.as_ref().map(|_| ()),
        ),
        (
            M::subject_token_source,
            config.subject_token_source.as_ref().map(|_| ()),
        ),
        (
            M::subject_token_env,
            config.subject_token_env.as_ref().map(|_| ()),
        ),
    ] {
        match value {
            Field::Null => {}
            Field::Unknown => unknown += 1,
            Field::Known(()) => set.push(name),
        }
    }
    (set, unknown)
}

/// The rules across attributes; blank values are the schema's validators.
pub(crate) fn validate_config(config: &TokenModel, diags: &mut Diagnostics) {
    let path = |n: &str| Path::root().attr(n);
    let (set, unknown) = sources_set(config);
    if set.len() > 1 {
        for name in &set {
            diags.attribute_error(
                path(name),
                "Conflicting subject token sources",
                format!(
                    "Only one of subject_token, subject_token_file, subject_token_source and \
                     subject_token_env may be set; \
                     this configuration sets {}. Keep the one that provides the workload's token.",
                    set.join(" and ")
                ),
            );
        }
    } else if set.is_empty() && unknown == 0 {
        diags.error(
            "Missing subject token",
            "Set exactly one of subject_token (the token itself), subject_token_file (a file \
             holding it), subject_token_source (fetch it from the platform, e.g. \
             \"github_actions\") or subject_token_env (an environment variable holding it).",
        );
    }

    let source = &config.subject_token_source;
    let platform = match source {
        Field::Known(name) => match Platform::parse(name) {
            Some(p) => Some(p),
            None => {
                diags.attribute_error(
                    path(M::subject_token_source),
                    "Unknown subject_token_source",
                    format!(
                        "\"{name}\" is not a supported subject token source. Allowed values: {}.",
                        Platform::allowed_names()
                    ),
                );
                None
            }
        },
        _ => None,
    };
    // Known only when the source is known; with an unknown source, wait.
    let source_known = !source.is_unknown();
    if source_known
        && config.audience.is_present()
        && !platform.is_some_and(Platform::takes_audience)
    {
        diags.attribute_error(
            path(M::audience),
            "audience has no effect here",
            format!(
                "audience is used only with subject_token_source {}, which mint a token for it. \
                 Other tokens carry the audience they were issued with; remove audience.",
                Platform::audience_names()
            ),
        );
    }
    if let Some(aud) = config.audience.known()
        && let Some(service) = subject_token::cloud_management_audience(aud)
    {
        diags.attribute_error(
            path(M::audience),
            "Cloud management audience",
            format!(
                "{aud:?} is the audience of {service}: a token for it is a credential for the \
                 cloud account itself, and the provider never sends one to a token exchange. \
                 Use the audience the workload identity provider expects (by default \
                 {DEFAULT_AUDIENCE})."
            ),
        );
    }
    if source_known && config.client_id.is_present() && platform != Some(Platform::Azure) {
        diags.attribute_error(
            path(M::client_id),
            "client_id has no effect here",
            "client_id selects a user-assigned managed identity with subject_token_source = \"azure\" only; remove it.",
        );
    }
    if source_known && config.spiffe_id.is_present() && platform != Some(Platform::Spiffe) {
        diags.attribute_error(
            path(M::spiffe_id),
            "spiffe_id has no effect here",
            "spiffe_id selects a SPIFFE identity with subject_token_source = \"spiffe\" only; remove it.",
        );
    }
    if let Some(name) = config.subject_token_env.known()
        && !name.trim().is_empty()
        && let Err(why) = subject_token::check_env_name(name)
    {
        diags.attribute_error(path(M::subject_token_env), "Invalid subject_token_env", why);
    }
    if let Some(id) = config.spiffe_id.known()
        && !id.trim().is_empty()
        && let Err(why) = subject_token::check_spiffe_id(id)
    {
        diags.attribute_error(path(M::spiffe_id), "Invalid spiffe_id", why);
    }
}

/// The configuration of one open (or one verification), all known.
pub(crate) struct Request {
    pub provider_id: String,
    pub service_account_id: String,
    pub source: Source,
}

impl Request {
    /// The attribute that names where the subject token comes from.
    pub(crate) fn source_attribute(&self) -> &'static str {
        match &self.source {
            Source::Inline(_) => M::subject_token,
            Source::File(_) => M::subject_token_file,
            Source::Env(_) => M::subject_token_env,
            Source::Platform { .. } => M::subject_token_source,
        }
    }
}

/// The known, valid configuration; `Err` with validation's diagnostics, or
/// when a value is not known yet.
pub(crate) fn request_of(config: &TokenModel) -> Result<Request, Diagnostics> {
    let mut diags = check_config(
        &schema(),
        &ConfigRules::of(validate_config),
        &config.to_value(),
    );
    if !config.to_value().is_wholly_known() {
        diags.error(
            "Configuration not yet known",
            "The ephemeral resource was opened with values known only after apply. Make its \
             arguments depend only on values known at plan time.",
        );
    }
    if diags.has_errors() {
        return Err(diags);
    }
    let source = if let Some(token) = config.subject_token.known() {
        Source::Inline(Secret::new(token.expose().trim()))
    } else if let Some(file) = config.subject_token_file.known() {
        Source::File(file.into())
    } else if let Some(var) = config.subject_token_env.known() {
        Source::Env(var.clone())
    } else {
        // validate_config guarantees a known platform here.
        let platform = config
            .subject_token_source
            .as_deref()
            .and_then(Platform::parse)
            .ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "Missing subject token",
                    "Set one subject token source.",
                ))
            })?;
        Source::Platform {
            platform,
            audience: config.audience.known().cloned(),
            client_id: config.client_id.known().cloned(),
            spiffe_id: config.spiffe_id.known().cloned(),
        }
    };
    Ok(Request {
        provider_id: config.workload_identity_provider_id.or_empty().to_owned(),
        service_account_id: config.service_account_id.or_empty().to_owned(),
        source,
    })
}

/// Gets the subject token the configuration names; cancelled by StopProvider.
pub(crate) async fn fetch_subject(
    data: &ProviderData,
    req: &Request,
) -> Result<subject_token::SubjectToken, Diagnostics> {
    let env = |name: &str| std::env::var(name).ok();
    // StopProvider ends a fetch at once, as it does the client's requests.
    let cancel = data.exchange_client().config().cancel.clone();
    let fetched = tokio::select! {
        fetched = subject_token::fetch(&req.source, &env, data.settings().request_timeout) => fetched,
        () = cancel.cancelled() => {
            return Err(Diagnostic::error(
                "Subject token fetch cancelled",
                "Terraform is stopping, so the provider stopped fetching the subject token.",
            )
            .into());
        }
    };
    fetched.map_err(|e| {
        Diagnostics::from(
            Diagnostic::error("Cannot get the subject token", format!("{e}."))
                .at(Path::root().attr(req.source_attribute())),
        )
    })
}

/// One token exchange for the configured provider and service account.
pub(crate) async fn exchange(
    data: &ProviderData,
    req: &Request,
    subject: &subject_token::SubjectToken,
) -> Result<TokenExchangeResponse, ExchangeError> {
    data.exchange_client()
        .exchange_token(&TokenExchangeRequest {
            grant_type: GRANT_TYPE_TOKEN_EXCHANGE.to_owned(),
            subject_token_type: subject.token_type.to_owned(),
            subject_token: subject.token.expose().to_owned(),
            identity_provider_id: req.provider_id.clone(),
            service_account_id: req.service_account_id.clone(),
        })
        .await
}

/// The advice for a failed exchange ([`refusal::diagnostic`]), with what
/// the configuration says about the audience.
pub(crate) fn refusal_diagnostic(
    req: &Request,
    subject: &subject_token::SubjectToken,
    e: &ExchangeError,
) -> Diagnostics {
    let (audience_requested, audience) = match &req.source {
        Source::Platform {
            platform, audience, ..
        } if platform.requests_audience() || audience.is_some() => {
            (true, Some(audience.as_deref().unwrap_or(DEFAULT_AUDIENCE)))
        }
        _ => (false, None),
    };
    refusal::diagnostic(
        e,
        &refusal::Context {
            audience_requested,
            audience,
            subject_token: subject.token.expose(),
        },
    )
}

/// What renew and close get back: no secrets, only what a message needs.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Private {
    workload_identity_provider_id: String,
    service_account_id: String,
    /// Unix seconds.
    expires_at: i64,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn rfc3339(unix_secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix_secs.to_string())
}

/// The longest access token lifetime OpenAI documents (one hour), with room
/// to spare; anything longer reported by a server is treated as this.
const MAX_TOKEN_LIFETIME_SECS: i64 = 24 * 3600;

/// When to renew a token issued at `issued` that lives `lifetime`: at 80 %
/// of its life, and at least [`RENEW_MARGIN_MIN`] before it ends (but not
/// before it was issued).
fn renew_at(issued: SystemTime, lifetime: Duration) -> SystemTime {
    let margin = (lifetime / RENEW_MARGIN_DIVISOR).max(RENEW_MARGIN_MIN);
    issued + lifetime.saturating_sub(margin)
}

#[async_trait]
impl EphemeralResource<ProviderData> for WorkloadIdentityTokenEphemeral {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(validate_config)
    }

    async fn open(
        &self,
        data: &ProviderData,
        req: OpenRequest,
    ) -> Result<OpenResponse, Diagnostics> {
        // The result echoes the configuration, with the computed attributes set.
        let mut result = M::from_value(&req.config)?;
        let req = request_of(&result)?;
        let subject = fetch_subject(data, &req).await?;
        // The lifetime counts from before the request, so expires_at errs early.
        let issued = SystemTime::now();
        let response = exchange(data, &req, &subject)
            .await
            .map_err(|e| refusal_diagnostic(&req, &subject, &e))?;

        let access_token = Secret::new(response.access_token);
        if access_token.is_empty() {
            return Err(Diagnostic::error(
                "Token exchange returned no access token",
                "The token endpoint answered with an empty access_token. Check token_exchange_url.",
            )
            .into());
        }
        // OpenAI access tokens live at most an hour
        // (`docs/reference/openai-api.md#token-exchange-response`); clamping also keeps
        // `issued + lifetime` from overflowing on a nonsense answer.
        let lifetime =
            Duration::from_secs(response.expires_in.clamp(0, MAX_TOKEN_LIFETIME_SECS) as u64);
        let expires_at = unix(issued + lifetime);
        tracing::info!(
            workload_identity_provider_id = %req.provider_id,
            service_account_id = %req.service_account_id,
            expires_at = %rfc3339(expires_at),
            scope = ?response.scope,
            "exchanged the subject token for an OpenAI access token"
        );

        result.access_token = Field::Known(Sensitive(access_token));
        result.expires_at = Field::Known(rfc3339(expires_at));
        result.scope = response.scope.filter(|s| !s.is_empty()).into();
        result.token_type = Field::Known(response.token_type);
        let private = Private {
            workload_identity_provider_id: req.provider_id,
            service_account_id: req.service_account_id,
            expires_at,
        };
        Ok(OpenResponse::new(result.to_value())
            .with_renew_at(renew_at(issued, lifetime))
            .with_private(serde_json::to_vec(&private).unwrap_or_default()))
    }

    async fn renew(
        &self,
        _data: &ProviderData,
        req: RenewRequest,
    ) -> Result<RenewResponse, Diagnostics> {
        let private = req.private.as_slice();
        let Ok(p) = serde_json::from_slice::<Private>(private) else {
            return Err(Diagnostic::error(
                "Cannot renew the OpenAI access token",
                "Terraform handed back renewal data this provider did not write. This is a bug; please report it.",
            )
            .into());
        };
        let when = rfc3339(p.expires_at);
        tracing::warn!(
            workload_identity_provider_id = %p.workload_identity_provider_id,
            service_account_id = %p.service_account_id,
            expires_at = %when,
            "the OpenAI access token cannot be renewed and expires soon"
        );
        // A warning with no next renewal: Terraform stops renewing and keeps
        // the value, which stays valid until it expires.
        Err(Diagnostic::warning(
            "OpenAI access token expires soon",
            format!(
                "The access token of {TYPE_NAME} (workload identity provider {}, service account {}) \
                 expires at {when}. OpenAI access tokens cannot be renewed, and Terraform cannot \
                 pass a new one to blocks already using this one: API calls made with it after \
                 that time fail. Split long runs, or give a subject token that lives longer \
                 (the access token lives at most one hour, and never past the subject token).",
                p.workload_identity_provider_id, p.service_account_id
            ),
        )
        .into())
    }
}

#[cfg(test)]
mod tests;
