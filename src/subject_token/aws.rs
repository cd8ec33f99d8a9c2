//! AWS IAM outbound identity federation: STS `GetWebIdentityToken` mints a
//! JWT for an audience, signed by AWS, for whatever IAM role the workload
//! runs as (CodeBuild, ECS, EC2, Lambda, a developer's profile, ...).
//!
//! Credentials come from the standard AWS chain (environment, shared config
//! and profiles, web identity, container credentials, IMDSv2) and the region
//! from the standard region chain, as every AWS tool resolves them. The STS
//! endpoint follows AWS's conventions: `AWS_ENDPOINT_URL_STS`, then
//! `AWS_ENDPOINT_URL`, then the regional STS endpoint.
//!
//! `OPENAI_WIF_AWS_SUBJECT_MODE=OriginIdentity` asks STS for a token whose
//! `sub` is the human user or workload the session acts for, not the role
//! (`SubjectMode`; `docs/reference/platform-token-sources.md#aws-sts-getwebidentitytoken`).
//! The SDK version in use has no field for it, so it is added to the
//! request's form body before the request is signed.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sts::config::http::HttpResponse;
use aws_sdk_sts::config::{Credentials, Region};
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::get_web_identity_token::GetWebIdentityTokenError;

use super::{Env, FetchError, lookup};
use openai_admin::secret::Secret;

pub(crate) const ENV_REGION: &str = "AWS_REGION";
pub(crate) const ENV_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub(crate) const ENV_ENDPOINT_URL_STS: &str = "AWS_ENDPOINT_URL_STS";
pub(crate) const ENV_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
const ENV_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
const ENV_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
const ENV_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// `CallerIdentity` (STS's default: `sub` is the role ARN) or
/// `OriginIdentity`.
pub(crate) const ENV_SUBJECT_MODE: &str = "OPENAI_WIF_AWS_SUBJECT_MODE";
const SUBJECT_MODES: [&str; 2] = ["CallerIdentity", "OriginIdentity"];

/// How long the minted JWT lives. It is traded at once, so the shortest
/// lifetime STS allows that leaves room for a slow exchange.
const TOKEN_LIFETIME_SECONDS: i32 = 300;
/// STS offers RS256 and ES384. OpenAI's AWS guide prefers ES384 and accepts
/// RS256; RS256 is the one every verifier (and the emulator) supports.
const SIGNING_ALGORITHM: &str = "RS256";

const WHAT: &str = "AWS STS GetWebIdentityToken";
const HINT: &str = "outbound identity federation must be enabled for the AWS account \
                    (aws iam enable-outbound-web-identity-federation), and the role needs \
                    sts:GetWebIdentityToken; on EKS with IAM roles for service accounts, \
                    AWS_WEB_IDENTITY_TOKEN_FILE names the token file instead";

/// Asks STS for a web identity token whose `aud` is `audience`.
pub(super) async fn outbound(
    env: Env<'_>,
    audience: &str,
    timeout: Duration,
) -> Result<Secret, FetchError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
        TimeoutConfig::builder()
            .operation_attempt_timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build(),
    );
    // The settings the provider reads through `env` are passed explicitly, so
    // what was looked up is what is used; everything else is the SDK's chain.
    if let Some(region) = lookup(env, ENV_REGION).or_else(|| lookup(env, ENV_DEFAULT_REGION)) {
        loader = loader.region(Region::new(region));
    }
    let endpoint = lookup(env, ENV_ENDPOINT_URL_STS).or_else(|| lookup(env, ENV_ENDPOINT_URL));
    if let Some(url) = &endpoint {
        loader = loader.endpoint_url(url);
    }
    if let (Some(id), Some(secret)) = (
        lookup(env, ENV_ACCESS_KEY_ID),
        lookup(env, ENV_SECRET_ACCESS_KEY),
    ) {
        loader = loader.credentials_provider(Credentials::new(
            id,
            secret,
            lookup(env, ENV_SESSION_TOKEN),
            None,
            "environment",
        ));
    }
    let subject_mode = match lookup(env, ENV_SUBJECT_MODE) {
        None => None,
        Some(mode) if SUBJECT_MODES.contains(&mode.as_str()) => Some(mode),
        Some(value) => {
            return Err(FetchError::BadEnv {
                var: ENV_SUBJECT_MODE,
                value,
                hint: "use CallerIdentity (the default: `sub` is the role ARN) or OriginIdentity \
                       (`sub` is the user or workload the session acts for)",
            });
        }
    };
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(FetchError::MissingEnv {
            var: ENV_REGION,
            hint: "STS GetWebIdentityToken is regional: set AWS_REGION (or a region in the AWS \
                   profile); on EKS with IAM roles for service accounts, \
                   AWS_WEB_IDENTITY_TOKEN_FILE names the token file instead",
        });
    }
    let shown = endpoint.unwrap_or_else(|| "the regional STS endpoint".to_owned());

    let call = aws_sdk_sts::Client::new(&config)
        .get_web_identity_token()
        .audience(audience)
        .signing_algorithm(SIGNING_ALGORITHM)
        .duration_seconds(TOKEN_LIFETIME_SECONDS);
    let output = match subject_mode {
        Some(mode) => {
            call.customize()
                .mutate_request(move |req| add_form_field(req, "SubjectMode", &mode))
                .send()
                .await
        }
        None => call.send().await,
    }
    .map_err(|e| sdk_error(e, &shown))?;
    match output.web_identity_token() {
        Some(token) if !token.trim().is_empty() => Ok(Secret::new(token.trim())),
        _ => Err(FetchError::Body {
            what: WHAT,
            url: shown,
            reason: "the answer has no WebIdentityToken".to_owned(),
        }),
    }
}

/// Appends `name=value` to a query-protocol form body (and fixes its
/// `Content-Length`); runs before SigV4 signing, so the signature covers it.
fn add_form_field(req: &mut aws_sdk_sts::config::http::HttpRequest, name: &str, value: &str) {
    let Some(body) = req.body().bytes() else {
        return;
    };
    let field: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    let mut bytes = body.to_vec();
    if !bytes.is_empty() {
        bytes.push(b'&');
    }
    bytes.extend_from_slice(field.as_bytes());
    let len = bytes.len().to_string();
    *req.body_mut() = bytes.into();
    req.headers_mut().insert("content-length", len);
}

/// An SDK failure as a fetch error: STS's own code and message when it
/// answered, otherwise the SDK's account of what went wrong (no
/// credentials, an unreachable endpoint, a timeout). Neither carries
/// credentials: the SDK never formats them.
fn sdk_error(e: SdkError<GetWebIdentityTokenError, HttpResponse>, url: &str) -> FetchError {
    match &e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let detail = match (err.code(), err.message()) {
                (Some(code), Some(message)) => Some(format!("{code}: {message}")),
                (Some(code), None) => Some(code.to_owned()),
                (None, Some(message)) => Some(message.to_owned()),
                (None, None) => None,
            };
            FetchError::Status {
                what: WHAT,
                url: url.to_owned(),
                status: service.raw().status().as_u16(),
                detail,
                hint: HINT,
            }
        }
        _ => FetchError::Transport {
            what: WHAT,
            url: url.to_owned(),
            detail: DisplayErrorContext(&e).to_string(),
            hint: "give Terraform AWS credentials (environment variables, a profile, or a \
                   container or instance role) and check that STS is reachable",
        },
    }
}
