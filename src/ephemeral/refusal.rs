//! Turning a refused token exchange into a diagnostic that names the likely
//! cause and what to change. The cause is the shared
//! [`openai_admin::refusal::Reason`] read from the OAuth code and the start of
//! the server's `error_description` (OpenAI's own sentences where we know
//! them, and the emulator's, which follow their style). OpenAI documents its
//! codes, not its wording, so any other text still yields advice keyed on
//! the OAuth code and the HTTP status (400, 401, 403), and the server's
//! description is always shown, with every secret we sent redacted.

use openai_admin::error::ExchangeError;
use openai_admin::redact::Redactor;
use openai_admin::refusal::{OAuthCode, Reason};
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics};

use super::workload_identity_token::TokenModel as M;

/// What the configuration looks like, so advice can point at the right knob.
pub(crate) struct Context<'a> {
    /// Whether the subject token was requested for an audience we chose
    /// (the `audience` argument), so an audience mismatch is ours to fix.
    pub audience_requested: bool,
    pub audience: Option<&'a str>,
    /// A secret that must never be quoted (the subject token).
    pub subject_token: &'a str,
}

/// A known cause: summary, advice, and the attribute to point at.
struct Cause {
    summary: &'static str,
    advice: String,
    attribute: Option<&'static str>,
}

fn cause(summary: &'static str, advice: &str, attribute: Option<&'static str>) -> Cause {
    Cause {
        summary,
        advice: advice.to_owned(),
        attribute,
    }
}

/// The cause and advice for each shared reason. Exhaustive on purpose: a new
/// reason needs advice before the provider builds.
fn explain(reason: Reason, ctx: &Context<'_>) -> Cause {
    use Reason::*;
    match reason {
        AmbiguousMapping => cause(
            "Several service account mappings match",
            "More than one enabled mapping for this service account matches the token's claims, \
             and OpenAI never merges them. Make the mappings' attribute_matchers mutually \
             exclusive, or disable all but one.",
            None,
        ),
        RulesDisabled => cause(
            "Service account mapping disabled",
            "The only mappings between this workload identity provider and service account are \
             disabled. Enable one (`enabled = true` on openai_service_account_mapping).",
            None,
        ),
        // OpenAI's own sentence; it may also stand for mappings that exist
        // but do not match, so the advice covers both.
        NoRule => cause(
            "No service account mapping found",
            "OpenAI found no enabled mapping between this workload identity provider and this \
             service account that admits the token. Check service_account_id (the id of the \
             account the mapping names), create an openai_service_account_mapping for this \
             pair, or compare its attribute_matchers with the token's claims.",
            Some(M::service_account_id),
        ),
        NoMatchingRule | MappingFailed => cause(
            "No service account mapping matches the token",
            "The token's claims do not satisfy the attribute_matchers of any enabled mapping \
             for this service account. Compare them with the token's claims (OpenAI does not \
             say which claim differs), run from the workload the mapping describes, or widen \
             the mapping.",
            None,
        ),
        AudienceMismatch => {
            let advice = match (ctx.audience_requested, ctx.audience) {
                (true, Some(aud)) => format!(
                    "The subject token was requested for the audience \"{aud}\", but the workload \
                     identity provider expects another one. Set `audience` to the provider's \
                     audience, or change the provider's audience."
                ),
                _ => "The token's `aud` claim does not contain the workload identity provider's \
                      audience. Issue the token for that audience (e.g. the `audience` of a \
                      Kubernetes projected volume), or change the provider's audience."
                    .to_owned(),
            };
            Cause {
                summary: "Subject token audience mismatch",
                advice,
                attribute: ctx.audience_requested.then_some(M::audience),
            }
        }
        IssuerMismatch => cause(
            "Subject token issuer mismatch",
            "The token's `iss` claim is not the workload identity provider's issuer. Use a token \
             from the issuer the provider trusts, or fix the provider's `issuer`.",
            None,
        ),
        Expired => cause(
            "Subject token expired",
            "The subject token's `exp` is in the past. Fetch a fresh token (projected and CI \
             tokens are short-lived) and run again.",
            None,
        ),
        NotYetValid => cause(
            "Subject token not yet valid",
            "The token's `iat` or `nbf` lies in the future: the issuer's clock and OpenAI's \
             disagree. Check the clock of the machine that issued the token.",
            None,
        ),
        UnknownKid | BadSignature | KeyAlgMismatch | MissingKid | UnsupportedAlg => cause(
            "Subject token signature cannot be verified",
            "The token is not signed by a key the workload identity provider trusts (unknown \
             `kid`, a key of another algorithm, or a bad signature). Check that the provider's \
             issuer, discovery URL or uploaded JWKS belong to the system that issued the token; \
             after a key rotation, upload the new JWKS.",
            None,
        ),
        MalformedToken | MissingClaim | InvalidClaim => cause(
            "Subject token malformed",
            "The subject token is not a JWT with the standard claims (`iss`, `aud`, `sub`, \
             `exp`, `iat`). Check that the subject token source yields the workload's OIDC \
             identity token itself, not another credential or a response wrapping it.",
            None,
        ),
        ProviderDisabled => cause(
            "Workload identity provider disabled",
            "The workload identity provider is disabled. Enable it (`enabled = true` on \
             openai_workload_identity_provider).",
            Some(M::workload_identity_provider_id),
        ),
        UnknownProvider => cause(
            "Unknown workload identity provider",
            "No workload identity provider with this id exists in the organization. Check \
             workload_identity_provider_id (it looks like `wip_...`).",
            Some(M::workload_identity_provider_id),
        ),
        UnknownServiceAccount => cause(
            "Unknown service account",
            "No project service account with this id exists. Check service_account_id (it \
             looks like `svc_acct_...`).",
            Some(M::service_account_id),
        ),
        KeysUnavailable => cause(
            "Workload identity provider keys unavailable",
            "OpenAI could not fetch or use the provider's OIDC discovery document or JWKS. Check \
             that the provider's issuer or discovery_url is public and serves them, and that \
             its keys are valid public keys.",
            None,
        ),
        BadRequest => request_rejected(),
    }
}

fn request_rejected() -> Cause {
    cause(
        "Token exchange request rejected",
        "The token endpoint rejected the request itself. Check token_exchange_url points at \
         OpenAI's token endpoint; if it does, this is likely a provider bug.",
        None,
    )
}

/// Summary and advice for a refusal whose wording is unknown, by its OAuth
/// code and HTTP status.
fn generic(code: Option<OAuthCode>, status: u16) -> (&'static str, &'static str) {
    match (code, status) {
        (_, 403) => (
            "Token exchange refused: not permitted",
            "OpenAI understood the request but does not permit this exchange. Check that the \
             workload identity provider and the service account belong to the same \
             organization, that the organization may use workload identity federation, and any \
             IP allowlist of the project.",
        ),
        (Some(OAuthCode::InvalidGrant), 401) => (
            "Token exchange refused: identity rejected",
            "OpenAI rejected the identity. Check that the subject token is current, comes from \
             the issuer of workload_identity_provider_id and was issued for its audience, and \
             that an enabled service account mapping for service_account_id matches the token's \
             claims.",
        ),
        (Some(OAuthCode::InvalidGrant), _) => (
            "Token exchange refused",
            "OpenAI refused the grant. Check workload_identity_provider_id and \
             service_account_id, that the provider is enabled, and that exactly one enabled \
             service account mapping matches the token's claims.",
        ),
        (Some(OAuthCode::InvalidSubjectToken), _) => (
            "Token exchange refused: subject token not accepted",
            "OpenAI did not accept the subject token. Check that it is a current token from \
             the issuer the workload identity provider trusts, issued for the provider's \
             audience, and signed by one of its keys.",
        ),
        _ => (
            "Token exchange refused",
            "OpenAI refused to exchange the subject token. Check the token, the workload \
             identity provider and the service account mapping.",
        ),
    }
}

/// The diagnostic for a failed exchange. Never quotes the subject token.
pub(crate) fn diagnostic(e: &ExchangeError, ctx: &Context<'_>) -> Diagnostics {
    let ExchangeError::OAuth {
        status,
        error,
        error_description,
        request_id,
        ..
    } = e
    else {
        return Diagnostic::error(
            "Token exchange failed",
            format!("{e}. Nothing was exchanged; check token_exchange_url and try again."),
        )
        .into();
    };
    // The client already scrubbed what it sent; the same helper again here
    // keeps this function safe for any error handed to it.
    let redactor = Redactor::new().with(ctx.subject_token);
    let error = redactor.redact(error);
    let description = error_description
        .as_deref()
        .map(|d| redactor.redact(d))
        .unwrap_or_else(|| "(none)".to_owned());
    let server = format!(
        "OAuth error: {error} (HTTP {}). Server description: {description}{}",
        status.as_u16(),
        request_id
            .as_deref()
            .map(|r| format!(" (request id: {r})"))
            .unwrap_or_default()
    );
    let code = OAuthCode::parse(&error);
    let known = match e.refusal_reason() {
        Some(reason) => Some(explain(reason, ctx)),
        // Any wording: the request itself was refused.
        None if code == Some(OAuthCode::InvalidRequest) => Some(request_rejected()),
        None => None,
    };
    let d = match known {
        Some(c) => {
            let d = Diagnostic::error(
                format!("Token exchange refused: {}", c.summary),
                format!("{}\n\n{server}", c.advice),
            );
            match c.attribute {
                Some(a) => d.at(Path::root().attr(a)),
                None => d,
            }
        }
        None => {
            let (summary, advice) = generic(code, status.as_u16());
            Diagnostic::error(summary, format!("{advice}\n\n{server}"))
        }
    };
    d.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use openai_admin::redact::MARKER;
    use reqwest::StatusCode;

    fn refused(error: &str, description: &str) -> ExchangeError {
        refused_with(400, error, description)
    }

    fn refused_with(status: u16, error: &str, description: &str) -> ExchangeError {
        ExchangeError::OAuth {
            url: "http://127.0.0.1:1/oauth/token".into(),
            status: StatusCode::from_u16(status).unwrap(),
            error: error.into(),
            error_description: Some(description.into()),
            request_id: Some("req_1".into()),
        }
    }

    fn ctx() -> Context<'static> {
        Context {
            audience_requested: false,
            audience: None,
            subject_token: "eyJ.secret.token",
        }
    }

    fn one(d: Diagnostics) -> Diagnostic {
        let all: Vec<_> = d.into_iter().collect();
        assert_eq!(all.len(), 1);
        all.into_iter().next().unwrap()
    }

    fn refused_for(reason: Reason, details: &str) -> ExchangeError {
        refused(reason.code().as_str(), &reason.describe(details))
    }

    /// Every shared reason, worded as the emulator words it, maps to its cause.
    #[test]
    fn causes() {
        let cases = [
            (
                Reason::AudienceMismatch,
                "token aud \"x\" does not contain 'y'",
                "audience mismatch",
            ),
            (
                Reason::IssuerMismatch,
                "token iss 'a' does not match the provider's issuer 'b'",
                "issuer mismatch",
            ),
            (Reason::Expired, "exp 1 is not after now (2)", "expired"),
            (
                Reason::NotYetValid,
                "iat 9 is in the future (now 2)",
                "not yet valid",
            ),
            (
                Reason::UnknownKid,
                "no key with kid 'k' in the JWKS published through u",
                "signature cannot be verified",
            ),
            (
                Reason::BadSignature,
                "the subject token does not verify with key 'k'",
                "signature cannot be verified",
            ),
            (
                Reason::KeyAlgMismatch,
                "the subject token's alg RS256 does not match the alg ES256 of key 'k'",
                "signature cannot be verified",
            ),
            (
                Reason::MissingKid,
                "the subject token header has no 'kid'",
                "signature cannot be verified",
            ),
            (
                Reason::UnsupportedAlg,
                "'HS256' in the subject token header",
                "signature cannot be verified",
            ),
            (
                Reason::MalformedToken,
                "a JWT has three dot-separated parts",
                "Subject token malformed",
            ),
            (
                Reason::MissingClaim,
                "the subject token is missing the required claim 'sub'",
                "Subject token malformed",
            ),
            (
                Reason::InvalidClaim,
                "claim 'exp' must be a number",
                "Subject token malformed",
            ),
            (
                Reason::NoMatchingRule,
                "none of the enabled federation rules for service account 's' matches the token's claims (rule r: claim 'repository' is \"evil/repo\", expected \"my-org/my-repo\")",
                "No service account mapping matches",
            ),
            // Claim values quote arbitrary text, even other reasons' leads.
            (
                Reason::NoMatchingRule,
                "none of the enabled federation rules for service account 's' matches the token's claims (rule r: claim 'ref' is \"subject token expired: audience mismatch\", expected \"main\")",
                "No service account mapping matches",
            ),
            (
                Reason::MappingFailed,
                "for service account 's': rule r: attribute transformation for 'openai.x' failed",
                "No service account mapping matches",
            ),
            (
                Reason::AmbiguousMapping,
                "2 enabled federation rules for service account 's' match",
                "Several service account mappings match",
            ),
            (
                Reason::ProviderDisabled,
                "'wip_1' is disabled",
                "provider disabled",
            ),
            (
                Reason::RulesDisabled,
                "service account 's' has federation rules under workload identity provider 'p', but all of them are disabled",
                "mapping disabled",
            ),
            (
                Reason::UnknownProvider,
                "'wip_1' not found in this organization",
                "Unknown workload identity provider",
            ),
            (
                Reason::UnknownServiceAccount,
                "'s' does not exist",
                "Unknown service account",
            ),
            (
                Reason::NoRule,
                "service account 's' has no federation rule under workload identity provider 'p'",
                "No service account mapping found",
            ),
            (
                Reason::KeysUnavailable,
                "could not fetch the JWKS from u: HTTP 404",
                "keys unavailable",
            ),
            (
                Reason::BadRequest,
                "missing required parameter 'subject_token'",
                "request rejected",
            ),
        ];
        for reason in Reason::ALL {
            assert!(
                cases.iter().any(|(r, _, _)| *r == reason),
                "no case for {reason:?}"
            );
        }
        for (reason, details, expect) in cases {
            let code = reason.code().as_str();
            let description = reason.describe(details);
            let d = one(diagnostic(&refused_for(reason, details), &ctx()));
            assert!(d.summary.contains(expect), "{description} -> {}", d.summary);
            assert!(d.detail.contains(code), "{}", d.detail);
            assert!(d.detail.contains(&description), "{}", d.detail);
            assert!(d.detail.contains("req_1"), "{}", d.detail);
        }
    }

    /// The lead only counts with its own OAuth code, at the start.
    #[test]
    fn a_lead_under_another_code_or_inside_the_text_is_not_a_cause() {
        let d = one(diagnostic(
            &refused("invalid_grant", &Reason::Expired.describe("at 1")),
            &ctx(),
        ));
        assert_eq!(d.summary, "Token exchange refused");
        let d = one(diagnostic(
            &refused(
                "invalid_subject_token",
                &format!("the token: {}", Reason::AudienceMismatch.message()),
            ),
            &ctx(),
        ));
        assert_eq!(
            d.summary,
            "Token exchange refused: subject token not accepted"
        );
        assert_eq!(d.path, None);
        assert!(
            d.detail.contains(&format!(
                "the token: {}",
                Reason::AudienceMismatch.message()
            )),
            "{}",
            d.detail
        );
        // Any invalid_request is the request's fault, whatever the wording.
        let d = one(diagnostic(
            &refused("invalid_request", "Bad field."),
            &ctx(),
        ));
        assert!(d.summary.contains("request rejected"), "{}", d.summary);
    }

    #[test]
    fn attribute_paths_point_at_the_argument_to_fix() {
        let d = one(diagnostic(
            &refused_for(Reason::UnknownProvider, "'wip_1' not found"),
            &ctx(),
        ));
        assert_eq!(
            d.path,
            Some(Path::root().attr(M::workload_identity_provider_id))
        );

        let requested = Context {
            audience_requested: true,
            audience: Some("https://wrong"),
            ..ctx()
        };
        let d = one(diagnostic(
            &refused_for(Reason::AudienceMismatch, "token aud \"https://wrong\""),
            &requested,
        ));
        assert_eq!(d.path, Some(Path::root().attr(M::audience)));
        assert!(d.detail.contains("\"https://wrong\""), "{}", d.detail);
    }

    #[test]
    fn unknown_wording_keeps_code_and_description_and_secrets_stay_out() {
        let d = one(diagnostic(
            &refused("invalid_grant", "Identity was rejected."),
            &ctx(),
        ));
        assert_eq!(d.summary, "Token exchange refused");
        assert!(d.detail.contains("invalid_grant"));
        assert!(d.detail.contains("Identity was rejected."));

        // An echoed token is redacted; the rest is shown.
        let d = one(diagnostic(
            &refused(
                "invalid_subject_token",
                "token eyJ.secret.token is malformed",
            ),
            &ctx(),
        ));
        assert!(!d.detail.contains("eyJ.secret.token"), "{}", d.detail);
        assert!(
            d.detail.contains(&format!("token {MARKER} is malformed")),
            "{}",
            d.detail
        );

        // A known reason whose description echoes the token: classified, not quoted.
        let d = one(diagnostic(
            &refused_for(Reason::MalformedToken, "eyJ.secret.token"),
            &ctx(),
        ));
        assert!(d.summary.contains("malformed"), "{}", d.summary);
        assert!(!d.detail.contains("eyJ.secret.token"), "{}", d.detail);
        assert!(d.detail.contains(MARKER), "{}", d.detail);

        // Long tokens: a cut copy or the signature alone is redacted too.
        let long = long_token();
        let long_ctx = Context {
            subject_token: &long,
            ..ctx()
        };
        let signature = long.rsplit('.').next().unwrap();
        for echoed in [&long[2..long.len() - 3], signature] {
            let d = one(diagnostic(
                &refused(echoed, &format!("bad token {echoed}")),
                &long_ctx,
            ));
            assert!(!d.detail.contains(signature), "{}", d.detail);
            assert!(!d.detail.contains(echoed), "{}", d.detail);
            assert!(d.detail.contains("bad token"), "{}", d.detail);
        }
    }

    fn long_token() -> String {
        "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZC1zdWJqZWN0In0.c2lnbmF0dXJlLW9mLXRoZS13b3JrbG9hZC10b2tlbg"
            .to_owned()
    }

    /// OpenAI's fixtures' refusals, and other statuses with unknown
    /// wording: each gets a cause-specific summary, and the server's text.
    #[test]
    fn openai_wording_and_statuses_give_useful_diagnostics() {
        let fixture = |name: &str| -> (String, String) {
            let path = format!(
                "{}/tests/fixtures/openai/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            let v: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            (
                v["error"].as_str().unwrap().to_owned(),
                v["error_description"].as_str().unwrap().to_owned(),
            )
        };
        let (e_map, d_map) = fixture("oauth_error--401_no_mapping.json");
        let (e401, d401) = fixture("oauth_error--401_identity_rejected.json");
        let cases = [
            (
                401,
                e_map.as_str(),
                d_map.as_str(),
                "No service account mapping found",
                Some(M::service_account_id),
            ),
            (401, e401.as_str(), d401.as_str(), "identity rejected", None),
            (403, "invalid_grant", "Forbidden.", "not permitted", None),
            (403, "access_denied", "Nope.", "not permitted", None),
            (
                401,
                "invalid_subject_token",
                "JWT rejected.",
                "subject token not accepted",
                None,
            ),
            (
                400,
                "invalid_request",
                "Missing parameter.",
                "request rejected",
                None,
            ),
            (
                400,
                "invalid_grant",
                "Computer says no.",
                "Token exchange refused",
                None,
            ),
            (
                400,
                "unsupported_grant_type",
                "Nope.",
                "Token exchange refused",
                None,
            ),
        ];
        for (status, error, description, summary, path) in cases {
            let d = one(diagnostic(
                &refused_with(status, error, description),
                &ctx(),
            ));
            assert!(
                d.summary.starts_with("Token exchange refused"),
                "{}",
                d.summary
            );
            assert!(
                d.summary.contains(summary),
                "{status} {error}: {}",
                d.summary
            );
            assert_eq!(d.path, path.map(|a| Path::root().attr(a)), "{description}");
            assert!(d.detail.contains(description), "{}", d.detail);
            assert!(d.detail.contains(error), "{}", d.detail);
            assert!(d.detail.contains(&format!("HTTP {status}")), "{}", d.detail);
        }
    }
}
