//! `POST /oauth/token`: the WIF token exchange (`docs/reference/openai-api.md#token-exchange`).
//!
//! Order of checks: request fields → provider (exists, enabled) → subject
//! token header (`kid`, supported `alg`) → key (uploaded JWKS or discovery) →
//! signature → claims (`iss`, `aud`, `sub`, `exp`, `iat`; `nbf` if present) →
//! service account → mapping resolution. Refusals carry the status and OAuth
//! code of a shared [`Reason`] and its message; the failed check and its
//! specifics (rule ids, expected values) go to the log, and into the
//! description only with `--verbose-refusals`.
//!
//! Choices where OpenAI's documentation (`docs/reference/openai-api.md#token-exchange`) is silent
//! (safer readings):
//! - `exp` has no leeway (a token is expired at `exp`); `iat`/`nbf` may be at
//!   most 60 s in the future (clock skew between issuer and emulator).
//! - Failing to fetch discovery/JWKS is `invalid_grant` (a provider
//!   configuration problem, not a property of the token).
//! - Issued access tokens are opaque random strings; they are remembered only
//!   so the Admin API can say why it refuses one.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value as Json_};

use super::App;
use super::IssuedToken;
use super::errors::ExchangeError;
use openai_admin::issuer::{self, same_issuer};
use openai_admin::models::{
    GRANT_TYPE_TOKEN_EXCHANGE, Permissions, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_TOKEN,
    TOKEN_TYPE_JWT, TokenExchangeResponse,
};
use openai_admin::refusal::Reason;
use openai_federation_rules::matching;

/// Access tokens live at most one hour (`docs/reference/openai-api.md#token-exchange-response`).
const MAX_LIFETIME_SECS: i64 = 3600;
/// Subject tokens longer than this are refused unread (real ones are a few KiB).
pub(crate) const MAX_SUBJECT_TOKEN_BYTES: usize = 16 * 1024;
/// How long an exchange waits for its mappings (and their CEL) to be evaluated.
const MATCHING_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest a subject token may be valid for, and the oldest it may be:
/// `exp` at most this far ahead and `iat` at most this far back. Real OIDC
/// tokens live minutes to an hour; a day leaves room for slow pipelines and
/// refuses tokens minted to last for years.
pub(crate) const MAX_TOKEN_AGE_SECS: i64 = 24 * 3600;
/// Allowed clock skew for `iat`/`nbf` in the future.
const FUTURE_SKEW_SECS: i64 = 60;

pub async fn token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    match exchange(&app, &body).await {
        Ok(resp) => {
            tracing::info!(scope = ?resp.scope, expires_in = resp.expires_in, "token exchange succeeded");
            Json(resp).into_response()
        }
        Err(e) => {
            // The specifics are for whoever runs the emulator; the caller
            // gets them only with --verbose-refusals.
            tracing::info!(error = e.reason.code().as_str(), description = %e.description, "token exchange refused");
            e.respond(app.verbose_refusals)
        }
    }
}

fn field<'a>(body: &'a Map<String, Json_>, name: &str) -> Result<&'a str, ExchangeError> {
    match body.get(name) {
        Some(Json_::String(s)) if !s.is_empty() => Ok(s),
        Some(Json_::String(_)) | None | Some(Json_::Null) => Err(ExchangeError::new(
            Reason::BadRequest,
            format!("missing required parameter '{name}'"),
        )),
        Some(_) => Err(ExchangeError::new(
            Reason::BadRequest,
            format!("parameter '{name}' must be a string"),
        )),
    }
}

fn supported_alg(alg: &str) -> Option<Algorithm> {
    Some(match alg {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        // ES512 is not among jsonwebtoken's algorithms
        // (`docs/reference/openai-api.md#token-exchange-decisions`).
        _ => return None,
    })
}

/// Reads the JOSE header without trusting it yet: returns (alg, kid).
pub(crate) fn header(token: &str) -> Result<(Algorithm, String), ExchangeError> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(ExchangeError::new(
            Reason::MalformedToken,
            "a JWT has three dot-separated parts",
        ));
    }
    let header: Json_ = B64
        .decode(parts[0])
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| {
            ExchangeError::new(Reason::MalformedToken, "the header is not base64url JSON")
        })?;
    let alg = header
        .get("alg")
        .and_then(Json_::as_str)
        .ok_or_else(|| ExchangeError::new(Reason::MalformedToken, "the header has no 'alg'"))?;
    let alg = supported_alg(alg).ok_or_else(|| {
        ExchangeError::new(
            Reason::UnsupportedAlg,
            format!(
                "'{alg}' in the subject token header; use RS256, RS384, RS512, PS256, PS384, \
                 PS512, ES256, ES384 or EdDSA"
            ),
        )
    })?;
    // RFC 7515 section 4.1.11: extensions listed as critical must be
    // understood; the emulator understands none.
    if let Some(crit) = header.get("crit") {
        return Err(ExchangeError::new(
            Reason::MalformedToken,
            format!(
                "the header marks extensions {crit} as critical ('crit'), which the emulator does not support"
            ),
        ));
    }
    let kid = match header.get("kid") {
        Some(Json_::String(k)) if !k.is_empty() => k.clone(),
        _ => {
            return Err(ExchangeError::new(
                Reason::MissingKid,
                "the subject token header has no 'kid'; the issuer must name its signing key",
            ));
        }
    };
    Ok((alg, kid))
}

pub(crate) fn verify_signature(
    token: &str,
    alg: Algorithm,
    kid: &str,
    jwk: Json_,
) -> Result<Map<String, Json_>, ExchangeError> {
    if let Some(key_alg) = jwk.get("alg").and_then(Json_::as_str) {
        if key_alg != format!("{alg:?}") {
            return Err(ExchangeError::new(
                Reason::KeyAlgMismatch,
                format!(
                    "the subject token's alg {alg:?} does not match the alg {key_alg} of key '{kid}'"
                ),
            ));
        }
    }
    let unusable = |e: String| {
        ExchangeError::new(
            Reason::KeysUnavailable,
            format!("key '{kid}' of the provider's JWKS is not a usable public key: {e}"),
        )
    };
    // The same judgement as the provider's issuer data source.
    if let Some(problem) = issuer::key_problem(&jwk) {
        return Err(unusable(problem));
    }
    let jwk: Jwk = serde_json::from_value(jwk).map_err(|e| unusable(e.to_string()))?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| unusable(e.to_string()))?;
    // Only the signature is checked here; claims are checked below so each
    // failure gets its own description.
    let mut validation = Validation::new(alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.leeway = 0;
    match jsonwebtoken::decode::<Json_>(token, &key, &validation) {
        Ok(data) => match data.claims {
            Json_::Object(map) => Ok(map),
            _ => Err(ExchangeError::new(
                Reason::MalformedToken,
                "the payload is not a JSON object",
            )),
        },
        Err(e) => {
            use jsonwebtoken::errors::ErrorKind;
            Err(match e.kind() {
                ErrorKind::InvalidSignature => ExchangeError::new(
                    Reason::BadSignature,
                    format!("the subject token does not verify with key '{kid}'"),
                ),
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    ExchangeError::new(
                        Reason::KeyAlgMismatch,
                        format!("the subject token's alg {alg:?} cannot be used with key '{kid}'"),
                    )
                }
                _ => ExchangeError::new(Reason::MalformedToken, e),
            })
        }
    }
}

fn numeric_claim(claims: &Map<String, Json_>, name: &str) -> Result<i64, ExchangeError> {
    match claims.get(name) {
        None => Err(missing_claim(name)),
        Some(v) => v.as_f64().map(|f| f.floor() as i64).ok_or_else(|| {
            ExchangeError::new(
                Reason::InvalidClaim,
                format!("claim '{name}' must be a number"),
            )
        }),
    }
}

fn missing_claim(name: &str) -> ExchangeError {
    ExchangeError::new(
        Reason::MissingClaim,
        format!("the subject token is missing the required claim '{name}'"),
    )
}

/// Checks the standard claims; returns `exp`.
pub(crate) fn check_claims(
    claims: &Map<String, Json_>,
    issuer: &str,
    audience: &str,
    now: i64,
) -> Result<i64, ExchangeError> {
    for required in ["iss", "aud", "sub", "exp", "iat"] {
        if !claims.contains_key(required) {
            return Err(missing_claim(required));
        }
    }
    let iss = claims["iss"]
        .as_str()
        .ok_or_else(|| ExchangeError::new(Reason::InvalidClaim, "claim 'iss' must be a string"))?;
    if !same_issuer(iss, issuer) {
        return Err(ExchangeError::new(
            Reason::IssuerMismatch,
            format!("token iss '{iss}' does not match the provider's issuer '{issuer}'"),
        ));
    }
    let aud = &claims["aud"];
    let aud_ok = match aud {
        Json_::String(s) => s == audience,
        Json_::Array(items) => items.iter().any(|a| a.as_str() == Some(audience)),
        _ => {
            return Err(ExchangeError::new(
                Reason::InvalidClaim,
                "claim 'aud' must be a string or an array of strings",
            ));
        }
    };
    if !aud_ok {
        return Err(ExchangeError::new(
            Reason::AudienceMismatch,
            format!("token aud {aud} does not contain '{audience}'"),
        ));
    }
    match &claims["sub"] {
        Json_::String(s) if !s.is_empty() => {}
        _ => {
            return Err(ExchangeError::new(
                Reason::InvalidClaim,
                "claim 'sub' must be a non-empty string",
            ));
        }
    }
    let exp = numeric_claim(claims, "exp")?;
    if exp <= now {
        return Err(ExchangeError::new(
            Reason::Expired,
            format!("exp {exp} is not after now ({now})"),
        ));
    }
    if exp > now.saturating_add(MAX_TOKEN_AGE_SECS) {
        return Err(ExchangeError::new(
            Reason::InvalidClaim,
            format!(
                "claim 'exp' {exp} is more than {MAX_TOKEN_AGE_SECS} s after now ({now}): the token \
                 lives too long"
            ),
        ));
    }
    let iat = numeric_claim(claims, "iat")?;
    if iat > now + FUTURE_SKEW_SECS {
        return Err(ExchangeError::new(
            Reason::NotYetValid,
            format!("iat {iat} is in the future (now {now})"),
        ));
    }
    if iat < now.saturating_sub(MAX_TOKEN_AGE_SECS) {
        return Err(ExchangeError::new(
            Reason::Expired,
            format!(
                "iat {iat} is more than {MAX_TOKEN_AGE_SECS} s before now ({now}): the token is \
                 too old"
            ),
        ));
    }
    if claims.contains_key("nbf") {
        let nbf = numeric_claim(claims, "nbf")?;
        if nbf > now + FUTURE_SKEW_SECS {
            return Err(ExchangeError::new(
                Reason::NotYetValid,
                format!("nbf {nbf} is in the future (now {now})"),
            ));
        }
    }
    Ok(exp)
}

/// What an exchange request names, once its grant and token types are checked.
pub(crate) struct Fields<'a> {
    pub subject_token: &'a str,
    pub provider_id: &'a str,
    pub service_account_id: &'a str,
}

pub(crate) fn parse_body(body: &[u8]) -> Result<Map<String, Json_>, ExchangeError> {
    match serde_json::from_slice(body) {
        Ok(Json_::Object(map)) => Ok(map),
        _ => Err(ExchangeError::new(
            Reason::BadRequest,
            "the request body must be a JSON object (Content-Type: application/json) with grant_type, subject_token_type, subject_token, identity_provider_id and service_account_id",
        )),
    }
}

pub(crate) fn fields(body: &Map<String, Json_>) -> Result<Fields<'_>, ExchangeError> {
    let grant_type = field(body, "grant_type")?;
    let subject_token_type = field(body, "subject_token_type")?;
    let subject_token = field(body, "subject_token")?;
    if subject_token.len() > MAX_SUBJECT_TOKEN_BYTES {
        return Err(ExchangeError::new(
            Reason::MalformedToken,
            format!(
                "the subject token is {} bytes long, more than the {MAX_SUBJECT_TOKEN_BYTES} the emulator reads",
                subject_token.len()
            ),
        ));
    }
    let provider_id = field(body, "identity_provider_id")?;
    let service_account_id = field(body, "service_account_id")?;
    if grant_type != GRANT_TYPE_TOKEN_EXCHANGE {
        return Err(ExchangeError::new(
            Reason::BadRequest,
            format!("unsupported grant_type '{grant_type}'; use '{GRANT_TYPE_TOKEN_EXCHANGE}'"),
        ));
    }
    if subject_token_type != TOKEN_TYPE_JWT && subject_token_type != TOKEN_TYPE_ID_TOKEN {
        return Err(ExchangeError::new(
            Reason::BadRequest,
            format!(
                "unsupported subject_token_type '{subject_token_type}'; use '{TOKEN_TYPE_JWT}' or '{TOKEN_TYPE_ID_TOKEN}'"
            ),
        ));
    }
    Ok(Fields {
        subject_token,
        provider_id,
        service_account_id,
    })
}

async fn exchange(app: &App, body: &[u8]) -> Result<TokenExchangeResponse, ExchangeError> {
    let body = parse_body(body)?;
    let Fields {
        subject_token,
        provider_id,
        service_account_id,
    } = fields(&body)?;

    let provider = app.with_data(|d| d.provider(provider_id).cloned());
    let provider = provider.ok_or_else(|| {
        ExchangeError::new(
            Reason::UnknownProvider,
            format!("'{provider_id}' not found in this organization"),
        )
    })?;
    if let Some(refusal) = matching::provider_refusal(&provider) {
        return Err(refusal.into());
    }

    let (alg, kid) = header(subject_token)?;
    let jwk = app.keys.find(&provider, &kid).await?;
    let claims = verify_signature(subject_token, alg, &kid, jwk)?;
    let now = app.now();
    let exp = check_claims(&claims, &provider.issuer, &provider.audience, now)?;

    let (account_exists, rules) = app.with_data(|d| {
        (
            d.service_account(service_account_id).is_some(),
            d.rules_for(provider_id, service_account_id),
        )
    });
    if !account_exists {
        return Err(ExchangeError::new(
            Reason::UnknownServiceAccount,
            format!("'{service_account_id}' does not exist"),
        ));
    }
    let claims = Json_::Object(claims);
    // Matching evaluates CEL, which is bounded (see `openai_federation_rules::cel`) but can
    // still take a while on hostile input: run it on the blocking pool, so the async workers
    // keep serving the Admin API, and give up waiting after a deadline.
    let (provider_id_owned, account_owned) =
        (provider_id.to_owned(), service_account_id.to_owned());
    let transformations = provider.attribute_transformations.clone();
    let matching = tokio::task::spawn_blocking(move || {
        matching::resolve(
            &rules,
            &transformations,
            &claims,
            &provider_id_owned,
            &account_owned,
        )
    });
    let rule = match tokio::time::timeout(MATCHING_DEADLINE, matching).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join)) => {
            return Err(ExchangeError::new(
                Reason::MappingFailed,
                format!("evaluating the mappings failed: {join}"),
            ));
        }
        Err(_) => {
            return Err(ExchangeError::new(
                Reason::MappingFailed,
                format!(
                    "the attribute transformations took longer than {}s to evaluate",
                    MATCHING_DEADLINE.as_secs()
                ),
            ));
        }
    };

    let expires_in = (exp - now).min(MAX_LIFETIME_SECS);
    let scopes = match &rule.permissions {
        Permissions::Restricted { scopes } => Some(scopes.clone()),
        Permissions::ServiceAccountDefault => None,
        // Validation never stores one; grant nothing rather than guess.
        Permissions::Unknown { .. } => Some(Vec::new()),
    };
    let scope = scopes.as_ref().map(|s| s.join(" "));
    let access_token = app.issue_access_token(IssuedToken {
        expires_at: now + expires_in,
        service_account_id: service_account_id.to_owned(),
        scopes,
    });
    Ok(TokenExchangeResponse {
        access_token,
        issued_token_type: Some(TOKEN_TYPE_ACCESS_TOKEN.to_owned()),
        token_type: "Bearer".to_owned(),
        expires_in,
        scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Json_) -> Map<String, Json_> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn claim_checks() {
        let now = 1_000;
        let good = json!({"iss":"https://i/","aud":["x","a"],"sub":"s","exp":2000,"iat":900});
        assert_eq!(
            check_claims(&claims(good.clone()), "https://i", "a", now),
            Ok(2000)
        );
        let mut c = claims(good.clone());
        c.insert("aud".into(), json!("b"));
        assert_eq!(
            check_claims(&c, "https://i", "a", now).unwrap_err().reason,
            Reason::AudienceMismatch
        );
        assert!(
            check_claims(&c, "https://i", "a", now)
                .unwrap_err()
                .description
                .contains("audience mismatch")
        );
        let mut c = claims(good.clone());
        c.insert("exp".into(), json!(1000));
        assert_eq!(
            check_claims(&c, "https://i", "a", now).unwrap_err().reason,
            Reason::Expired
        );
        assert!(
            check_claims(&c, "https://i", "a", now)
                .unwrap_err()
                .description
                .contains("expired")
        );
        let mut c = claims(good);
        c.remove("iat");
        assert_eq!(
            check_claims(&c, "https://i", "a", now).unwrap_err().reason,
            Reason::MissingClaim
        );
        assert!(
            check_claims(&c, "https://i", "a", now)
                .unwrap_err()
                .description
                .contains("'iat'")
        );
    }

    #[test]
    fn tokens_that_live_too_long_or_are_too_old_are_refused() {
        let now = 1_000_000;
        let base = json!({"iss":"https://i","aud":"a","sub":"s","exp":now + 600,"iat":now - 60});
        assert!(check_claims(&claims(base.clone()), "https://i", "a", now).is_ok());
        let mut c = claims(base.clone());
        c.insert("exp".into(), json!(now + MAX_TOKEN_AGE_SECS));
        assert!(check_claims(&c, "https://i", "a", now).is_ok());
        // Ten years ahead.
        c.insert("exp".into(), json!(now + 10 * 365 * 86_400));
        let e = check_claims(&c, "https://i", "a", now).unwrap_err();
        assert_eq!(e.reason, Reason::InvalidClaim);
        assert!(
            e.description.contains("lives too long"),
            "{}",
            e.description
        );
        // Issued ten years ago.
        let mut c = claims(base);
        c.insert("iat".into(), json!(now - 10 * 365 * 86_400));
        let e = check_claims(&c, "https://i", "a", now).unwrap_err();
        assert_eq!(e.reason, Reason::Expired);
        assert!(e.description.contains("too old"), "{}", e.description);
        c.insert("iat".into(), json!(now - MAX_TOKEN_AGE_SECS));
        assert!(check_claims(&c, "https://i", "a", now).is_ok());
    }

    #[test]
    fn issuers_match_with_at_most_one_trailing_slash() {
        let now = 1_000;
        for (iss, provider, ok) in [
            ("https://i", "https://i", true),
            ("https://i/", "https://i", true),
            ("https://i", "https://i/", true),
            ("https://i//", "https://i", false),
            ("https://i///", "https://i/", false),
            ("https://i", "https://i//", false),
        ] {
            let c = json!({"iss": iss, "aud": "a", "sub": "s", "exp": 2000, "iat": 900});
            let got = check_claims(&claims(c), provider, "a", now);
            assert_eq!(got.is_ok(), ok, "{iss} vs {provider}: {got:?}");
            if !ok {
                assert_eq!(got.unwrap_err().reason, Reason::IssuerMismatch);
            }
        }
    }

    #[test]
    fn encryption_keys_and_weak_exponents_verify_nothing() {
        let key = crate::oidc::SigningKey::generate_rsa("k").unwrap();
        let token = key.sign(&json!({"sub": "s"})).unwrap();
        let jwk = key.public_jwk();
        assert!(verify_signature(&token, Algorithm::RS256, "k", jwk.clone()).is_ok());
        for (member, value) in [("use", json!("enc")), ("use", json!(7)), ("e", json!("AQ"))] {
            let mut bad = jwk.clone();
            bad[member] = value.clone();
            let e = verify_signature(&token, Algorithm::RS256, "k", bad).unwrap_err();
            assert_eq!(e.reason, Reason::KeysUnavailable, "{member}={value}");
        }
        let mut no_use = jwk;
        no_use.as_object_mut().unwrap().remove("use");
        assert!(verify_signature(&token, Algorithm::RS256, "k", no_use).is_ok());
    }

    #[test]
    fn header_requires_kid_and_supported_alg() {
        let h = |v: Json_| format!("{}.e30.sig", B64.encode(v.to_string()));
        assert!(header(&h(json!({"alg":"RS256","kid":"k"}))).is_ok());
        assert!(
            header(&h(json!({"alg":"HS256","kid":"k"})))
                .unwrap_err()
                .description
                .contains("unsupported alg")
        );
        assert!(
            header(&h(json!({"alg":"RS256"})))
                .unwrap_err()
                .description
                .contains("kid")
        );
        assert_eq!(
            header(&h(json!({"alg":"RS256"}))).unwrap_err().reason,
            Reason::MissingKid
        );
        assert_eq!(header("nope").unwrap_err().reason, Reason::MalformedToken);
        let e = header(&h(json!({"alg":"RS256","kid":"k","crit":["exp"]}))).unwrap_err();
        assert_eq!(e.reason, Reason::MalformedToken);
        assert!(e.description.contains("crit"), "{}", e.description);
    }

    #[test]
    fn rsa_keys_under_2048_bits_verify_nothing() {
        let n = |bytes: &[u8]| json!({"kty": "RSA", "n": B64.encode(bytes), "e": "AQAB"});
        assert_eq!(issuer::rsa_modulus_bits(&n(&[0x80; 128])), Some(1024));
        assert_eq!(issuer::rsa_modulus_bits(&n(&[0, 0x01, 0xff])), Some(9));
        assert_eq!(issuer::rsa_modulus_bits(&json!({"kty": "EC"})), None);
        let weak = n(&[0xc5; 128]);
        let token = format!("{}.e30.c2ln", B64.encode(r#"{"alg":"RS256","kid":"k"}"#));
        let e = verify_signature(&token, Algorithm::RS256, "k", weak).unwrap_err();
        assert_eq!(e.reason, Reason::KeysUnavailable);
        assert!(
            e.description.contains("1024-bit RSA key"),
            "{}",
            e.description
        );
    }

    #[test]
    fn huge_subject_tokens_are_refused_unread() {
        let mut body = Map::new();
        for (k, v) in [
            ("grant_type", GRANT_TYPE_TOKEN_EXCHANGE),
            ("subject_token_type", TOKEN_TYPE_JWT),
            ("identity_provider_id", "wip"),
            ("service_account_id", "sa"),
        ] {
            body.insert(k.into(), json!(v));
        }
        body.insert(
            "subject_token".into(),
            json!("a".repeat(MAX_SUBJECT_TOKEN_BYTES + 1)),
        );
        let e = fields(&body).err().unwrap();
        assert_eq!(e.reason, Reason::MalformedToken);
        assert!(e.description.contains("bytes long"), "{}", e.description);
    }
}
