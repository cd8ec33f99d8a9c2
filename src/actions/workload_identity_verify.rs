//! Action `openai_workload_identity_verify`: proves that a workload is
//! admitted, by doing what the workload will do. It takes a subject token
//! from the same sources as the ephemeral `openai_workload_identity_token`
//! (the configuration attributes are that resource's, so the two cannot
//! drift), exchanges it for the given provider and service account, and
//! optionally calls `GET /v1/models` with the access token. The access token
//! is dropped at once: an action has no result and no state.
//!
//! Propagation. A write to the Admin API may take a moment to reach the
//! token exchange. While the exchange refuses for a reason a fresh write can
//! explain (no mapping yet, an unknown provider or service account, keys
//! not fetched yet, OpenAI's own unspecific `invalid_grant`), the action
//! tries again every `retry_interval_seconds` until `propagation_wait_seconds`
//! are used up, reporting each wait as progress. A refusal no wait can fix
//! (audience, issuer, signature, claims that match no mapping, an expired
//! token) ends it at once. The classification is by the refusal's reason
//! (`openai_admin::refusal::Reason`) and OAuth code, never by HTTP status,
//! which servers choose differently.

use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;

use crate::ephemeral::workload_identity_token::{
    self as token, Request, TokenModel, exchange, fetch_subject, refusal_diagnostic, request_of,
};
use crate::provider_data::ProviderData;
use crate::values::decode;
use openai_admin::ExchangeError;
use openai_admin::refusal::{OAuthCode, Reason};
use openai_admin::secret::Secret;
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Action, Attribute, ConfigRules, Diagnostic, Diagnostics, InvokeActionRequest,
    InvokeActionResponse, Mode, Progress, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_verify";

tfplugin::model! {
    /// The action's own settings; the subject token attributes are the
    /// ephemeral token's ([`TokenModel`]).
    pub(crate) struct VerifyModel {
        pub propagation_wait_seconds: Field<i64>,
        pub retry_interval_seconds: Field<i64>,
        pub check_models_api: Field<bool>,
    }
}

type M = VerifyModel;

pub(crate) const DEFAULT_PROPAGATION_WAIT_SECS: i64 = 120;
pub(crate) const MAX_PROPAGATION_WAIT_SECS: i64 = 900;
pub(crate) const DEFAULT_RETRY_INTERVAL_SECS: i64 = 5;

pub(crate) struct WorkloadIdentityVerifyAction;

/// The ephemeral token's configuration attributes (not its results), then
/// the action's own.
pub(crate) fn schema() -> Schema {
    let mut s = Schema::new(
        "Proves that a workload is admitted: fetches its subject token (from the same sources as \
         the ephemeral `openai_workload_identity_token`), exchanges it for the given workload \
         identity provider and service account, and optionally lists models with the access \
         token. Waits out propagation of fresh Admin API writes, fails at once on a refusal no \
         wait can fix, and never stores the token. Trigger it from a mapping's `action_trigger` \
         (`after_create`, `after_update`) so a mapping that admits the wrong workload fails the \
         apply that wrote it, or run it with `terraform apply -invoke=action.openai_workload_identity_verify.NAME`. \
         Needs Terraform 1.14 or later; OpenTofu has no actions.",
    );
    s.attributes = token::schema()
        .attributes
        .into_iter()
        .filter(|a| a.mode != Mode::Computed)
        .map(|mut a| {
            // Terraform takes an ephemeral value (a token variable) only
            // into a write-only attribute; an action stores nothing anyway.
            a.write_only = a.name == TokenModel::subject_token;
            a
        })
        .collect();
    s.attribute(
        Attribute::optional(M::propagation_wait_seconds, Type::Number).description(format!(
            "How long to keep trying while the exchange refuses for a reason a fresh write can \
             explain (no mapping yet, an unknown provider or service account, keys not fetched \
             yet, or OpenAI's unspecific `invalid_grant`). 0 tries once. At most \
             {MAX_PROPAGATION_WAIT_SECS}; defaults to {DEFAULT_PROPAGATION_WAIT_SECS}. \
             Refusals no wait can fix (audience, issuer, signature, claims that match no \
             mapping, an expired token) fail at once.",
        ))
        .between(0, MAX_PROPAGATION_WAIT_SECS, "Use 0 to try once."),
    )
    .attribute(
        Attribute::optional(M::retry_interval_seconds, Type::Number).description(format!(
            "Seconds between tries while waiting for propagation (at least 1). Defaults to \
             {DEFAULT_RETRY_INTERVAL_SECS}.",
        ))
        .between(1, MAX_PROPAGATION_WAIT_SECS, ""),
    )
    .attribute(Attribute::optional(M::check_models_api, Type::Bool).description(
        "Also call `GET /v1/models` with the access token, to prove that the service account has \
         a project role and the mapping's permissions allow reading models. Defaults to false.",
    ))
}

/// The ephemeral token's view of an action configuration.
fn token_model(config: &Value) -> Result<TokenModel, Diagnostics> {
    let object = Value::Object(
        token::schema()
            .attributes
            .iter()
            .map(|a| {
                let v = config.get_attr(a.name).cloned().unwrap_or(Value::Null);
                (a.name.to_owned(), v)
            })
            .collect(),
    );
    Ok(TokenModel::from_value(&object)?)
}

/// The rules of the token the action fetches, and a warning when the
/// retry interval leaves no second try. Everything else is an attribute's
/// validator: the action's own settings' ranges, and the token's
/// attributes, which come with their validators.
fn rules(config: &Value, diags: &mut Diagnostics) {
    if let Ok(own) = VerifyModel::from_value(config)
        && let (Some(&wait), Some(&interval)) = (
            own.propagation_wait_seconds.known(),
            own.retry_interval_seconds.known(),
        )
        && wait > 0
        && interval > wait
    {
        diags.push(
            Diagnostic::warning(
                "No second try",
                format!(
                    "retry_interval_seconds ({interval}) is longer than propagation_wait_seconds \
                     ({wait}), so the action tries once and never waits. Make the interval \
                     shorter than the wait, or set propagation_wait_seconds = 0 to say so."
                ),
            )
            .at(Path::root().attr(M::retry_interval_seconds)),
        );
    }
    match token_model(config) {
        Ok(t) => token::validate_config(&t, diags),
        Err(d) => diags.extend(d),
    }
}

/// Why a refusal may be a write that has not reached the exchange yet, as
/// progress words; `None` when no wait can fix it.
pub(crate) fn propagation_cause(e: &ExchangeError) -> Option<&'static str> {
    use Reason::*;
    match e.refusal_reason() {
        Some(NoRule) => Some("no mapping yet"),
        Some(RulesDisabled) => Some("mapping still disabled"),
        Some(UnknownProvider) => Some("provider not known yet"),
        Some(ProviderDisabled) => Some("provider still disabled"),
        Some(UnknownServiceAccount) => Some("service account not known yet"),
        Some(KeysUnavailable) => Some("issuer keys not fetched yet"),
        Some(
            BadRequest | MalformedToken | UnsupportedAlg | MissingKid | UnknownKid | KeyAlgMismatch
            | BadSignature | MissingClaim | InvalidClaim | IssuerMismatch | AudienceMismatch
            | Expired | NotYetValid | NoMatchingRule | MappingFailed | AmbiguousMapping,
        ) => None,
        // Wording this provider does not know: OpenAI words many grant
        // refusals alike ("Identity was rejected."), a missing mapping
        // among them, so a grant refusal may be propagation; a refused
        // token or request is not.
        None => match e {
            ExchangeError::OAuth { error, .. } => (OAuthCode::parse(error)
                == Some(OAuthCode::InvalidGrant))
            .then_some("identity rejected"),
            ExchangeError::Status { status, .. } if status.is_server_error() => {
                Some("server error")
            }
            _ => None,
        },
    }
}

/// The settings of one run, with defaults applied.
struct Settings {
    wait: Duration,
    interval: Duration,
    check_models: bool,
}

fn settings(own: &VerifyModel) -> Settings {
    let secs = |f: &Field<i64>, default: i64| {
        Duration::from_secs(f.known().copied().unwrap_or(default).max(0) as u64)
    };
    Settings {
        wait: secs(&own.propagation_wait_seconds, DEFAULT_PROPAGATION_WAIT_SECS),
        interval: secs(&own.retry_interval_seconds, DEFAULT_RETRY_INTERVAL_SECS)
            .max(Duration::from_secs(1)),
        check_models: own.check_models_api.known().copied().unwrap_or(false),
    }
}

/// Adds how long the action tried to every error's detail.
fn after_tries(diags: Diagnostics, tries: u32, started: Instant, s: &Settings) -> Diagnostics {
    let mut out = Diagnostics::new();
    for mut d in diags {
        d.detail.push_str(&format!(
            "\n\n{TYPE_NAME} tried {tries} time(s) over {} s (propagation_wait_seconds = {}).",
            started.elapsed().as_secs(),
            s.wait.as_secs()
        ));
        out.push(d);
    }
    out
}

fn sleep_or_stop(data: &ProviderData, d: Duration) -> impl std::future::Future<Output = bool> + '_ {
    let cancel = data.exchange_client().config().cancel.clone();
    async move {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            () = cancel.cancelled() => false,
        }
    }
}

/// Exchanges until a token is issued, the refusal cannot be propagation, or
/// the window is used up.
async fn exchange_with_retries(
    data: &ProviderData,
    req: &Request,
    s: &Settings,
    progress: &Progress,
) -> Result<(Secret, i64), Diagnostics> {
    let started = Instant::now();
    let deadline = started + s.wait;
    let mut tries = 0;
    loop {
        // Fetched for every try: a platform token may expire while we wait.
        let subject = fetch_subject(data, req).await?;
        tries += 1;
        match exchange(data, req, &subject).await {
            Ok(response) => return Ok((Secret::new(response.access_token), response.expires_in)),
            Err(e) => {
                let cause = propagation_cause(&e);
                let left = deadline.saturating_duration_since(Instant::now());
                match cause {
                    Some(cause) if left >= s.interval => {
                        let wait = s.interval;
                        progress.report(format!(
                            "exchange refused ({cause}), retrying in {} s ({} s left to wait for propagation)",
                            wait.as_secs(),
                            left.as_secs()
                        ));
                        if !sleep_or_stop(data, wait).await {
                            return Err(Diagnostic::error(
                                "Verification cancelled",
                                "Terraform is stopping, so the provider stopped waiting for the \
                                 exchange to admit the workload.",
                            )
                            .into());
                        }
                    }
                    _ => {
                        let diags = refusal_diagnostic(req, &subject, &e);
                        return Err(if tries > 1 {
                            after_tries(diags, tries, started, s)
                        } else {
                            diags
                        });
                    }
                }
            }
        }
    }
}

/// Lists models with the access token; `Err` says what the token cannot do.
async fn check_models(
    data: &ProviderData,
    access: &Secret,
    progress: &Progress,
) -> Result<(), Diagnostics> {
    let answer = data
        .exchange_client()
        .list_models(access)
        .await
        .map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot call the OpenAI API with the access token",
                format!("{e}. Check base_url and network access, or set check_models_api = false."),
            ))
        })?;
    let status = answer.status.as_u16();
    if answer.status.is_success() {
        progress.report(match answer.models {
            Some(n) => format!("GET /v1/models: {status} ({n} models)"),
            None => format!("GET /v1/models: {status}"),
        });
        return Ok(());
    }
    progress.report(format!("GET /v1/models: {status}"));
    let server = format!(
        "HTTP {status}{}{}",
        answer
            .code
            .map(|c| format!(", code {c}"))
            .unwrap_or_default(),
        answer.message.map(|m| format!(": {m}")).unwrap_or_default()
    );
    Err(Diagnostic::error(
        "The access token cannot list models",
        format!(
            "The exchange admitted the workload, but GET /v1/models with the access token was \
             refused ({server}). The service account needs a project role other than none, and a \
             mapping with restricted permissions must include the scope api.model.read. Give the \
             service account a role or widen the mapping's permissions, or set \
             check_models_api = false if the workload never lists models."
        ),
    )
    .at(Path::root().attr(M::check_models_api))
    .into())
}

#[async_trait]
impl Action<ProviderData> for WorkloadIdentityVerifyAction {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    /// The framework runs them at validation and again at plan, when
    /// more values may be known.
    fn config_rules(&self) -> ConfigRules {
        ConfigRules::on_value(rules)
    }

    async fn invoke(
        &self,
        data: &ProviderData,
        req: InvokeActionRequest,
        progress: Progress,
    ) -> Result<InvokeActionResponse, Diagnostics> {
        let mut diags = Diagnostics::new();
        let own = decode::<VerifyModel>(&req.config, &mut diags).ok_or(diags)?;
        let s = settings(&own);
        let req = request_of(&token_model(&req.config)?)?;
        progress.report(format!(
            "exchanging a subject token from {} for service account {} through provider {}",
            req.source_attribute(),
            req.service_account_id,
            req.provider_id
        ));
        let issued = SystemTime::now();
        let (access, expires_in) = exchange_with_retries(data, &req, &s, &progress).await?;
        if access.is_empty() {
            return Err(Diagnostic::error(
                "Token exchange returned no access token",
                "The token endpoint answered with an empty access_token. Check token_exchange_url.",
            )
            .into());
        }
        progress.report(format!("token issued, expires in {expires_in} s"));
        tracing::info!(
            workload_identity_provider_id = %req.provider_id,
            service_account_id = %req.service_account_id,
            issued_secs_ago = issued.elapsed().map(|d| d.as_secs()).unwrap_or(0),
            "verified: the exchange admitted the workload"
        );
        if s.check_models {
            check_models(data, &access, &progress).await?;
        }
        // `access` is dropped here: nothing keeps the token.
        Ok(InvokeActionResponse::new())
    }
}

#[cfg(test)]
mod tests;
