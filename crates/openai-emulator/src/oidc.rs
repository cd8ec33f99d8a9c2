//! JWT signing keys and the emulator's built-in test OIDC issuer, so the
//! keyless flow (mint a subject token, exchange it) runs fully offline.
//!
//! Routes (under `/_emulator/oidc`, never faulted):
//! - `GET  /.well-known/openid-configuration`: issuer and `jwks_uri` (open);
//! - `GET  /jwks`: the public RSA key (open);
//! - `POST /token` (admin key and JSON only, like every state-changing control
//!   route): body = a JSON object of claims; `iss`, `iat` and `exp`
//!   (now + 600 s) are filled in unless given, and claims given as `null` are
//!   left out; returns `{"token": "<RS256 JWT>"}`.
//!   Query `kid=<other>` puts another kid in the header and `no_kid=true`
//!   leaves it out (for testing unknown/missing kid handling).
//!
//! Signing is done directly with aws-lc-rs (already in the tree through
//! rustls and jsonwebtoken): it can generate the key, and jsonwebtoken's
//! encoder wants PKCS#1 DER, which aws-lc-rs does not export.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Map, Value as Json_, json};

use super::App;
use super::errors::ApiError;
use super::validate;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a {0} signing key")]
    Generate(&'static str),
    #[error("the stored signing key is not a valid PKCS#8 RSA key: {0}")]
    Parse(String),
    #[error("could not sign the token")]
    Sign,
}

enum KeyKind {
    Rsa(RsaKeyPair),
    /// RSA signing PS256 (RSASSA-PSS), a test issuer's.
    Ps256(RsaKeyPair),
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A private signing key with a kid: the built-in issuer's, or one a test
/// makes to act as another issuer (e.g. for an uploaded JWKS).
pub struct SigningKey {
    kid: String,
    kind: KeyKind,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key that signs RS256.
    pub fn generate_rsa(kid: impl Into<String>) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate("RSA"))?;
        Ok(SigningKey {
            kid: kid.into(),
            kind: KeyKind::Rsa(pair),
        })
    }

    /// A fresh P-256 key that signs ES256.
    pub fn generate_es256(kid: impl Into<String>) -> Result<Self, KeyError> {
        let pair = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| KeyError::Generate("P-256"))?;
        Ok(SigningKey {
            kid: kid.into(),
            kind: KeyKind::Es256(pair),
        })
    }

    /// A fresh RSA-2048 key that signs PS256.
    pub fn generate_ps256(kid: impl Into<String>) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate("RSA"))?;
        Ok(SigningKey {
            kid: kid.into(),
            kind: KeyKind::Ps256(pair),
        })
    }

    /// A fresh Ed25519 key that signs EdDSA.
    pub fn generate_ed25519(kid: impl Into<String>) -> Result<Self, KeyError> {
        let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate("Ed25519"))?;
        Ok(SigningKey {
            kid: kid.into(),
            kind: KeyKind::Ed25519(pair),
        })
    }

    pub fn from_rsa_pkcs8(kid: impl Into<String>, der: &[u8]) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| KeyError::Parse(e.to_string()))?;
        Ok(SigningKey {
            kid: kid.into(),
            kind: KeyKind::Rsa(pair),
        })
    }

    /// PKCS#8 DER of an RSA key (for `--state` persistence).
    pub fn rsa_pkcs8(&self) -> Option<Vec<u8>> {
        match &self.kind {
            KeyKind::Rsa(pair) => pair.as_der().ok().map(|d| d.as_ref().to_vec()),
            KeyKind::Ps256(_) | KeyKind::Es256(_) | KeyKind::Ed25519(_) => None,
        }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn alg(&self) -> &'static str {
        match self.kind {
            KeyKind::Rsa(_) => "RS256",
            KeyKind::Ps256(_) => "PS256",
            KeyKind::Es256(_) => "ES256",
            KeyKind::Ed25519(_) => "EdDSA",
        }
    }

    /// The public half as a JWK.
    pub fn public_jwk(&self) -> Json_ {
        match &self.kind {
            KeyKind::Rsa(pair) | KeyKind::Ps256(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "use": "sig",
                    "alg": self.alg(),
                    "kid": self.kid,
                    "n": B64.encode(public.modulus().big_endian_without_leading_zero()),
                    "e": B64.encode(public.exponent().big_endian_without_leading_zero()),
                })
            }
            KeyKind::Es256(pair) => {
                // Uncompressed SEC1 point: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                json!({
                    "kty": "EC",
                    "use": "sig",
                    "alg": "ES256",
                    "crv": "P-256",
                    "kid": self.kid,
                    "x": B64.encode(x),
                    "y": B64.encode(y),
                })
            }
            KeyKind::Ed25519(pair) => json!({
                "kty": "OKP",
                "use": "sig",
                "alg": "EdDSA",
                "crv": "Ed25519",
                "kid": self.kid,
                "x": B64.encode(pair.public_key().as_ref()),
            }),
        }
    }

    /// `{"keys": [<public jwk>]}`.
    pub fn jwks(&self) -> Json_ {
        json!({ "keys": [self.public_jwk()] })
    }

    /// Signs `claims` with the standard header `{"alg", "typ": "JWT", "kid"}`.
    pub fn sign(&self, claims: &Json_) -> Result<String, KeyError> {
        let header = json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid});
        self.sign_with_header(&header, claims)
    }

    /// Signs with a caller-chosen header (which may lie about `kid` or `alg`:
    /// the signature is always made with this key's own algorithm).
    pub fn sign_with_header(&self, header: &Json_, claims: &Json_) -> Result<String, KeyError> {
        let signing_input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match &self.kind {
            KeyKind::Rsa(pair) | KeyKind::Ps256(pair) => {
                let padding: &dyn signature::RsaEncoding = match self.kind {
                    KeyKind::Ps256(_) => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut sig = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, signing_input.as_bytes(), &mut sig)
                    .map_err(|_| KeyError::Sign)?;
                sig
            }
            KeyKind::Ed25519(pair) => pair.sign(signing_input.as_bytes()).as_ref().to_vec(),
            KeyKind::Es256(pair) => pair
                .sign(&rng, signing_input.as_bytes())
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{signing_input}.{}", B64.encode(sig)))
    }
}

/// The built-in issuer: its URL and signing key.
pub(crate) struct Issuer {
    pub url: String,
    pub key: SigningKey,
}

pub(crate) async fn discovery(State(app): State<Arc<App>>) -> Response {
    let issuer = &app.issuer;
    Json(json!({
        "issuer": issuer.url,
        "jwks_uri": format!("{}/jwks", issuer.url),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [issuer.key.alg()],
    }))
    .into_response()
}

pub(crate) async fn jwks(State(app): State<Arc<App>>) -> Response {
    Json(app.issuer.key.jwks()).into_response()
}

pub(crate) async fn mint(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let claims = match validate::body_object(&body) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match mint_token(&app, claims, query.as_deref()) {
        Ok(token) => Json(json!({ "token": token })).into_response(),
        Err(e) => ApiError::server(axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            .into_response(),
    }
}

/// Signs `claims` with the built-in key, filling in `iss`, `iat` and `exp`
/// unless given; `query` may ask for another `kid` or none (`no_kid=true`).
pub(crate) fn mint_token(
    app: &App,
    mut claims: Map<String, Json_>,
    query: Option<&str>,
) -> Result<String, KeyError> {
    let now = app.now();
    claims
        .entry("iss")
        .or_insert_with(|| Json_::String(app.issuer.url.clone()));
    claims.entry("iat").or_insert_with(|| json!(now));
    claims.entry("exp").or_insert_with(|| json!(now + 600));
    // `null` means "leave this claim out" (to test missing-claim handling).
    claims.retain(|_, v| !v.is_null());

    let mut header =
        json!({"alg": app.issuer.key.alg(), "typ": "JWT", "kid": app.issuer.key.kid()});
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "kid" => header["kid"] = Json_::String(v.into_owned()),
            "no_kid" if v == "true" => {
                header.as_object_mut().map(|h| h.remove("kid"));
            }
            _ => {}
        }
    }
    app.issuer
        .key
        .sign_with_header(&header, &Json_::Object(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, jwk::Jwk};

    fn verify(key: &SigningKey, alg: Algorithm) {
        let token = key
            .sign(&json!({"sub": "s", "exp": 4_000_000_000u64}))
            .unwrap();
        let jwk: Jwk = serde_json::from_value(key.public_jwk()).unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let mut v = Validation::new(alg);
        v.validate_aud = false;
        let data = decode::<Json_>(&token, &decoding, &v).unwrap();
        assert_eq!(data.claims["sub"], "s");
        assert_eq!(data.header.kid.as_deref(), Some(key.kid()));
    }

    #[test]
    fn rsa_and_ec_tokens_verify_with_their_jwk() {
        let rsa = SigningKey::generate_rsa("r1").unwrap();
        verify(&rsa, Algorithm::RS256);
        let again = SigningKey::from_rsa_pkcs8("r1", &rsa.rsa_pkcs8().unwrap()).unwrap();
        assert_eq!(again.public_jwk(), rsa.public_jwk());
        verify(&SigningKey::generate_es256("e1").unwrap(), Algorithm::ES256);
    }
}
