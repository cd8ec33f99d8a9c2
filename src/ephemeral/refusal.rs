//! Turning a refused token exchange into a diagnostic that names the likely
//! cause and what to change. The cause is read from the server's
//! `error_description` (the emulator words each failed check as below; the
//! real service documents only the categories, §6.4), so unknown wording
//! still yields a diagnostic with the OAuth code and the server's text.

use openai_admin::error::ExchangeError;
use tfplugin::codec::Path;
use tfplugin::framework::{Diagnostic, Diagnostics};

use super::workload_identity_token::TokenModel as M;

/// What the configuration looks like, so advice can point at the right knob.
pub struct Context<'a> {
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

fn classify(code: &str, description: &str, ctx: &Context<'_>) -> Option<Cause> {
    let d = description.to_ascii_lowercase();
    // Mapping failures quote claim values, which could contain any word, so
    // they are recognised first and by how they begin.
    let has = |s: &str| d.contains(s);
    let starts = |s: &str| d.starts_with(s);
    let cause = |summary, advice: &str, attribute| Cause {
        summary,
        advice: advice.to_owned(),
        attribute,
    };
    Some(if starts("ambiguous") || has("ambiguous mapping") {
        cause(
            "Several service account mappings match",
            "More than one enabled mapping for this service account matches the token's claims, \
             and OpenAI never merges them. Make the mappings' attribute_matchers mutually \
             exclusive, or disable all but one.",
            None,
        )
    } else if starts("every federation rule") {
        cause(
            "Service account mapping disabled",
            "The only mappings between this workload identity provider and service account are \
             disabled. Enable one (`enabled = true` on openai_service_account_mapping).",
            None,
        )
    } else if starts("no federation rule binds") {
        cause(
            "No service account mapping for this service account",
            "No mapping binds this service account to the workload identity provider. Create an \
             openai_service_account_mapping for this pair, or check service_account_id.",
            Some(M::service_account_id),
        )
    } else if starts("no enabled federation rule")
        || starts("mapping resolution failed")
        || has("no matching mapping")
    {
        cause(
            "No service account mapping matches the token",
            "The token's claims do not satisfy the attribute_matchers of any enabled mapping \
             for this service account (the server's description below says which claim \
             differs). Run from the workload the mapping describes, or widen the mapping.",
            None,
        )
    } else if has("audience mismatch") {
        let advice = match (ctx.audience_requested, ctx.audience) {
            (true, Some(aud)) => format!(
                "The subject token was requested for the audience \"{aud}\", but the workload \
                 identity provider expects another one. Set `audience` to the provider's audience, \
                 or change the provider's audience."
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
    } else if has("issuer mismatch") {
        cause(
            "Subject token issuer mismatch",
            "The token's `iss` claim is not the workload identity provider's issuer. Use a token \
             from the issuer the provider trusts, or fix the provider's `issuer`.",
            None,
        )
    } else if has("expired") {
        cause(
            "Subject token expired",
            "The subject token's `exp` is in the past. Fetch a fresh token (projected and CI \
             tokens are short-lived) and run again.",
            None,
        )
    } else if has("in the future") || has("not valid before") {
        cause(
            "Subject token not yet valid",
            "The token's `iat` or `nbf` lies in the future: the issuer's clock and OpenAI's \
             disagree. Check the clock of the machine that issued the token.",
            None,
        )
    } else if has("unknown kid") || has("bad signature") || has("does not verify") {
        cause(
            "Subject token signature cannot be verified",
            "The token is not signed by a key the workload identity provider trusts (unknown \
             `kid` or bad signature). Check that the provider's issuer, discovery URL or \
             uploaded JWKS belong to the system that issued the token; after a key rotation, \
             upload the new JWKS.",
            None,
        )
    } else if has("workload identity provider") && has("disabled") {
        cause(
            "Workload identity provider disabled",
            "The workload identity provider is disabled. Enable it (`enabled = true` on \
             openai_workload_identity_provider).",
            Some(M::workload_identity_provider_id),
        )
    } else if has("workload identity provider") && has("not found") {
        cause(
            "Unknown workload identity provider",
            "No workload identity provider with this id exists in the organization. Check \
             workload_identity_provider_id (it looks like `wip_...`).",
            Some(M::workload_identity_provider_id),
        )
    } else if has("service account") && has("does not exist") {
        cause(
            "Unknown service account",
            "No project service account with this id exists. Check service_account_id (it \
             looks like `svc_acct_...`).",
            Some(M::service_account_id),
        )
    } else if has("could not fetch") || has("jwks") && has("no 'keys'") {
        cause(
            "Workload identity provider keys unavailable",
            "OpenAI could not fetch the provider's OIDC discovery document or JWKS. Check the \
             provider's issuer or discovery_url is public and serves them.",
            None,
        )
    } else if code == "invalid_request" {
        cause(
            "Token exchange request rejected",
            "The token endpoint rejected the request itself. Check token_exchange_url points at \
             OpenAI's token endpoint; if it does, this is likely a provider bug.",
            None,
        )
    } else {
        return None;
    })
}

/// The diagnostic for a failed exchange. Never quotes the subject token.
pub fn diagnostic(e: &ExchangeError, ctx: &Context<'_>) -> Diagnostics {
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
    let description = error_description
        .as_deref()
        .filter(|d| ctx.subject_token.is_empty() || !d.contains(ctx.subject_token))
        .unwrap_or("(none)");
    let server = format!(
        "OAuth error: {error} (HTTP {}). Server description: {description}{}",
        status.as_u16(),
        request_id
            .as_deref()
            .map(|r| format!(" (request id: {r})"))
            .unwrap_or_default()
    );
    let d = match classify(error, description, ctx) {
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
        None => Diagnostic::error(
            "Token exchange refused",
            format!(
                "OpenAI refused to exchange the subject token. Check the token, the workload \
                 identity provider and the service account mapping.\n\n{server}"
            ),
        ),
    };
    d.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn refused(error: &str, description: &str) -> ExchangeError {
        ExchangeError::OAuth {
            url: "http://127.0.0.1:1/oauth/token".into(),
            status: StatusCode::BAD_REQUEST,
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

    /// The emulator's wording of each refusal maps to its cause.
    #[test]
    fn causes() {
        let cases = [
            (
                "invalid_subject_token",
                "audience mismatch: token aud \"x\" does not contain 'y'",
                "audience mismatch",
            ),
            (
                "invalid_subject_token",
                "issuer mismatch: token iss 'a' does not match the provider's issuer 'b'",
                "issuer mismatch",
            ),
            (
                "invalid_subject_token",
                "subject token expired at 1 (now 2)",
                "expired",
            ),
            (
                "invalid_subject_token",
                "unknown kid: no key with kid 'k' in the JWKS published through u",
                "signature cannot be verified",
            ),
            (
                "invalid_subject_token",
                "bad signature: the subject token does not verify with key 'k'",
                "signature cannot be verified",
            ),
            (
                "invalid_grant",
                "no enabled federation rule for service account 's' matches the token's claims (rule r: claim 'repository' is \"evil/repo\", expected \"my-org/my-repo\")",
                "No service account mapping matches",
            ),
            (
                "invalid_grant",
                "no enabled federation rule for service account 's' matches the token's claims (rule r: claim 'ref' is \"expired-audience mismatch\", expected \"main\")",
                "No service account mapping matches",
            ),
            (
                "invalid_grant",
                "ambiguous mapping: 2 enabled federation rules for service account 's' match",
                "Several service account mappings match",
            ),
            (
                "invalid_grant",
                "workload identity provider 'wip_1' is disabled",
                "provider disabled",
            ),
            (
                "invalid_grant",
                "every federation rule for service account 's' under workload identity provider 'p' is disabled",
                "mapping disabled",
            ),
            (
                "invalid_grant",
                "workload identity provider 'wip_1' not found",
                "Unknown workload identity provider",
            ),
            (
                "invalid_grant",
                "service account 's' does not exist",
                "Unknown service account",
            ),
            (
                "invalid_grant",
                "no federation rule binds service account 's' to workload identity provider 'p'",
                "No service account mapping for this service account",
            ),
            (
                "invalid_request",
                "missing required parameter 'subject_token'",
                "request rejected",
            ),
        ];
        for (code, description, expect) in cases {
            let d = one(diagnostic(&refused(code, description), &ctx()));
            assert!(d.summary.contains(expect), "{description} -> {}", d.summary);
            assert!(d.detail.contains(code), "{}", d.detail);
            assert!(d.detail.contains(description), "{}", d.detail);
            assert!(d.detail.contains("req_1"), "{}", d.detail);
        }
    }

    #[test]
    fn attribute_paths_point_at_the_argument_to_fix() {
        let d = one(diagnostic(
            &refused(
                "invalid_grant",
                "workload identity provider 'wip_1' not found",
            ),
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
            &refused(
                "invalid_subject_token",
                "audience mismatch: token aud \"https://wrong\"",
            ),
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

        let d = one(diagnostic(
            &refused(
                "invalid_subject_token",
                "token eyJ.secret.token is malformed",
            ),
            &ctx(),
        ));
        assert!(!d.detail.contains("eyJ.secret.token"), "{}", d.detail);
        assert!(d.detail.contains("(none)"), "{}", d.detail);
    }
}
