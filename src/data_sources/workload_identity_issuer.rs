//! Data source `openai_workload_identity_issuer`: checks an OIDC issuer the
//! way OpenAI will before a provider trusts it. It fetches the discovery
//! document and the JWKS with the same code and the same rules as the
//! emulator's token exchange (`openai_admin::issuer`: public https
//! addresses only, capped sizes, no redirects, the document's `issuer` equal
//! to the configured one but for a trailing slash, the keys OpenAI can
//! verify with), or judges a JWKS to be uploaded, and reports every problem
//! as an error on the attribute to fix. No Admin API key is needed.
//!
//! Loopback. OpenAI never fetches from loopback; tests against a local
//! emulator set [`ENV_ALLOW_LOOPBACK`] so this data source may, as the
//! emulator's own `--allow-loopback-key-fetch` does.

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::provider_data::ProviderData;
use openai_admin::issuer::{
    DiscoveryProblem, FetchError, Fetcher, MAX_KEYS, SUPPORTED_ALGS, discovery_document_url,
    key_bits, key_problem,
};
use tfplugin::codec::{Path, Type};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, ConfigRules, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest,
    ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_issuer";
/// Set to `1` to let the check fetch from loopback (tests with a local emulator only).
pub(crate) const ENV_ALLOW_LOOPBACK: &str = "OPENAI_WIF_ISSUER_CHECK_ALLOW_LOOPBACK";

tfplugin::model! {
    pub(crate) struct IssuerModel {
        pub issuer: Field<String>,
        pub discovery_url: Field<String>,
        pub jwks_json: Field<String>,
        pub sample_kid: Field<String>,
        pub discovery_document_url: Field<String>,
        pub jwks_uri: Field<String>,
        pub keys: Field<Vec<KeyEntry>>,
        pub sample_kid_found: Field<bool>,
        pub accepted: Field<bool>,
    }
}

tfplugin::model! {
    /// One key of the set, as OpenAI would judge it.
    pub(crate) struct KeyEntry {
        pub kid: Field<String>,
        pub kty: Field<String>,
        pub alg: Field<String>,
        pub key_use: Field<String>,
        pub crv: Field<String>,
        pub bits: Field<i64>,
        pub accepted: Field<bool>,
        pub problem: Field<String>,
    }
}

type M = IssuerModel;
type K = KeyEntry;

pub(crate) struct WorkloadIdentityIssuerDataSource;

fn key_type() -> Type {
    Type::object([
        (K::kid, Type::String),
        (K::kty, Type::String),
        (K::alg, Type::String),
        (K::key_use, Type::String),
        (K::crv, Type::String),
        (K::bits, Type::Number),
        (K::accepted, Type::Bool),
        (K::problem, Type::String),
    ])
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "Checks an OIDC issuer the way OpenAI will before a workload identity provider trusts \
         it: fetches the discovery document and the JWKS (public https addresses only, the same \
         size limits, no redirects), requires the document's `issuer` to equal `issuer` (a \
         trailing slash aside), and judges each key as OpenAI's token exchange does. Every \
         problem is an error on the attribute to fix, so a typo in `issuer`, an unreachable or \
         private discovery URL, a missing `kid` or an unsupported key fails the plan, not the \
         first login. No Admin API key is needed.",
    )
    .attribute(Attribute::required(M::issuer, Type::String)
        .not_blank("Give the issuer, as the `iss` of its tokens.").description(
        "The issuer, as the workload identity provider will have it (the `iss` of its tokens).",
    ))
    .attribute(Attribute::optional(M::discovery_url, Type::String)
        .not_blank("Omit it or give a value.").description(
        "Where the discovery document is, when not at the issuer: a base URL or the full \
         `.../.well-known/openid-configuration` URL, as the provider's `discovery_url`.",
    ))
    .attribute(Attribute::optional(M::jwks_json, Type::String)
        .not_blank("Omit it or give a value.").description(
        "A JWKS (JSON text) to judge instead of fetching one, as the provider's uploaded \
         `jwks_json`. Nothing is fetched then.",
    ))
    .attribute(Attribute::optional(M::sample_kid, Type::String)
        .not_blank("Omit it or give a value.").description(
        "The `kid` a sample token's header names. The check fails unless the key set has an \
         accepted key with this `kid`. Give the `kid`, never a token: data source arguments are \
         stored in state.",
    ))
    .attribute(Attribute::computed(M::discovery_document_url, Type::String).description(
        "The discovery document URL that was fetched; null with `jwks_json`.",
    ))
    .attribute(
        Attribute::computed(M::jwks_uri, Type::String)
            .description("The discovery document's `jwks_uri`; null with `jwks_json`."),
    )
    .attribute(
        Attribute::computed(M::keys, Type::List(Box::new(key_type()))).description(format!(
            "The keys, in the set's order: `kid`, `kty`, `alg`, `key_use` (the JWK's `use`), `crv` (as the JWK gives \
             them, null when absent), `bits` (the RSA modulus or EC curve size), and whether \
             OpenAI accepts the key (`accepted`) or why not (`problem`). Accepted: RSA keys of \
             at least 2048 bits with an odd exponent of 3 or more, and EC keys on P-256 or \
             P-384, for {}; never a key whose `use` is not `sig`.",
            SUPPORTED_ALGS.join(", ")
        )),
    )
    .attribute(
        Attribute::computed(M::sample_kid_found, Type::Bool)
            .description("Whether an accepted key has `sample_kid`; null without `sample_kid`."),
    )
    .attribute(Attribute::computed(M::accepted, Type::Bool).description(
        "True when the check found no problem (it fails otherwise, so this is true whenever \
         the data source can be read).",
    ))
}

/// The rules across attributes; blank values are the schema's validators.
/// The resource's rules of where keys come from, so that what this check
/// accepts, `openai_workload_identity_provider` accepts too.
fn validate_config(config: &M, diags: &mut Diagnostics) {
    crate::resources::workload_identity_provider::validate_key_source(
        &config.issuer,
        &config.discovery_url,
        &config.jwks_json,
        diags,
    );
}

fn text(jwk: &Json, member: &str) -> Field<String> {
    jwk.get(member)
        .and_then(Json::as_str)
        .map(str::to_owned)
        .into()
}

fn entry(jwk: &Json) -> KeyEntry {
    let problem = key_problem(jwk);
    KeyEntry {
        kid: text(jwk, "kid"),
        kty: text(jwk, "kty"),
        alg: text(jwk, "alg"),
        key_use: text(jwk, "use"),
        crv: text(jwk, "crv"),
        bits: key_bits(jwk).map(|b| b as i64).into(),
        accepted: Field::Known(problem.is_none()),
        problem: problem.into(),
    }
}

/// The attribute a problem with the keys' source is reported on.
fn source_attribute(config: &M) -> &'static str {
    if config.jwks_json.is_present() {
        M::jwks_json
    } else if config.discovery_url.is_present() {
        M::discovery_url
    } else {
        M::issuer
    }
}

fn fetch_error(e: &FetchError, at: &'static str) -> Diagnostic {
    let (summary, advice, at) = match e {
        FetchError::DiscoveryUrl { .. } => (
            "OpenAI will not fetch this discovery URL",
            "OpenAI fetches discovery documents over https from public addresses only. Publish \
             the issuer's discovery document and JWKS at a public https URL.",
            at,
        ),
        FetchError::DiscoveryFetch { .. } => (
            "Discovery document unreachable",
            "OpenAI must be able to GET the discovery document (no redirects, a 2xx answer of \
             at most 64 KiB). Check the issuer or discovery_url, and that the document is public.",
            at,
        ),
        FetchError::Discovery {
            problem: DiscoveryProblem::IssuerMismatch { .. },
            ..
        } => (
            "Issuer mismatch",
            "The discovery document names another issuer. OpenAI requires them to be equal (a \
             trailing slash aside), and compares tokens' `iss` with the same value: fix issuer \
             (a typo, or http/https, or a path) or point discovery_url at this issuer's document.",
            M::issuer,
        ),
        FetchError::Discovery { .. } => (
            "Discovery document unusable",
            "The discovery document must be JSON with `issuer` and a public https `jwks_uri`.",
            at,
        ),
        FetchError::Jwks { .. } => (
            "JWKS unusable",
            "OpenAI must be able to GET the JWKS at the discovery document's jwks_uri (a 2xx \
             answer of at most 256 KiB, a `keys` array of at most 64 keys).",
            at,
        ),
    };
    Diagnostic::error(summary, format!("{e}. {advice}")).at(Path::root().attr(at))
}

/// Errors and warnings about the keys themselves.
fn judge_keys(config: &M, keys: &[KeyEntry], at: &'static str, diags: &mut Diagnostics) {
    let bad: Vec<String> = keys
        .iter()
        .filter(|k| k.accepted == Field::Known(false))
        .map(|k| {
            format!(
                "{}: {}",
                k.kid.as_deref().unwrap_or("(no kid)"),
                k.problem.as_deref().unwrap_or_default()
            )
        })
        .collect();
    let accepted = keys.len() - bad.len();
    if accepted == 0 {
        diags.push(
            Diagnostic::error(
                "No key OpenAI accepts",
                if keys.is_empty() {
                    "The key set is empty: OpenAI could verify no token. Publish the issuer's \
                     signing keys."
                        .to_owned()
                } else {
                    format!(
                        "OpenAI could verify no token with these keys: {}. Use RSA keys of at \
                         least 2048 bits or EC keys on P-256 or P-384.",
                        bad.join("; ")
                    )
                },
            )
            .at(Path::root().attr(at)),
        );
    } else if !bad.is_empty() {
        diags.push(
            Diagnostic::warning(
                "Keys OpenAI does not accept",
                format!(
                    "Tokens signed with these keys will be refused: {}.",
                    bad.join("; ")
                ),
            )
            .at(Path::root().attr(at)),
        );
    }
    if let Some(kid) = config.sample_kid.known() {
        match keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())) {
            None => diags.push(
                Diagnostic::error(
                    "No key with the sample token's kid",
                    format!(
                        "The key set has no key with kid {kid:?} (it has {}), so OpenAI would \
                         refuse that token (unknown kid). After a key rotation, publish or \
                         upload the new key; otherwise check that the token comes from this \
                         issuer.",
                        keys.iter()
                            .map(|k| format!("{:?}", k.kid.as_deref().unwrap_or("")))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
                .at(Path::root().attr(M::sample_kid)),
            ),
            Some(k) if k.accepted == Field::Known(false) => diags.push(
                Diagnostic::error(
                    "The sample token's key is not accepted",
                    format!(
                        "Key {kid:?} cannot verify tokens for OpenAI: {}.",
                        k.problem.as_deref().unwrap_or_default()
                    ),
                )
                .at(Path::root().attr(M::sample_kid)),
            ),
            Some(_) => {}
        }
    }
}

#[async_trait]
impl DataSource<ProviderData> for WorkloadIdentityIssuerDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(validate_config)
    }

    async fn read(
        &self,
        _data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let mut config = M::from_value(&req.config)?;
        let at = source_attribute(&config);
        let issuer = config.issuer.or_empty().to_owned();
        let raw_keys: Vec<Json> = if let Some(jwks) = config.jwks_json.known() {
            let keys = serde_json::from_str::<Json>(jwks)
                .ok()
                .and_then(|v| v.get("keys")?.as_array().cloned())
                .ok_or_else(|| {
                    Diagnostics::from(
                        Diagnostic::error(
                            "Invalid jwks_json",
                            "jwks_json must be a JWKS: a JSON object with a `keys` array.",
                        )
                        .at(Path::root().attr(M::jwks_json)),
                    )
                })?;
            if keys.len() > MAX_KEYS {
                return Err(Diagnostic::error(
                    "Too many keys",
                    format!(
                        "jwks_json has {} keys; at most {MAX_KEYS} are read.",
                        keys.len()
                    ),
                )
                .at(Path::root().attr(M::jwks_json))
                .into());
            }
            keys
        } else {
            let allow_loopback = std::env::var(ENV_ALLOW_LOOPBACK).is_ok_and(|v| v == "1");
            let fetcher = Fetcher::new(allow_loopback).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Cannot set up the issuer check",
                    format!("The HTTP client could not be built: {e}."),
                ))
            })?;
            let url = discovery_document_url(&issuer, config.discovery_url.as_deref());
            let found = fetcher
                .discover(&url, &issuer)
                .await
                .map_err(|e| Diagnostics::from(fetch_error(&e, at)))?;
            config.discovery_document_url = Field::Known(url);
            config.jwks_uri = Field::Known(found.jwks_uri.to_string());
            found.keys
        };
        let keys: Vec<KeyEntry> = raw_keys.iter().map(entry).collect();
        let mut diags = Diagnostics::new();
        judge_keys(&config, &keys, at, &mut diags);
        if diags.has_errors() {
            return Err(diags);
        }
        config.sample_kid_found = config.sample_kid.known().map(|_| true).into();
        config.accepted = Field::Known(true);
        config.keys = Field::Known(keys);
        Ok(ReadDataSourceResponse::new(config.to_value()).with_diagnostics(diags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at, validation_of};
    use serde_json::json;
    use tfplugin::framework::model::schema_mismatches;

    #[test]
    fn model_matches_schema() {
        assert_eq!(schema_mismatches::<M>(&schema()), Vec::<String>::new());
    }

    #[test]
    fn each_rule_fails_with_its_message_on_its_attribute() {
        let text = |v: &str| Field::Known(v.to_owned());
        let valid = M {
            issuer: text("https://issuer.example.com"),
            ..M::default()
        };
        let check = |config: &M| {
            validation_of(
                &schema(),
                &WorkloadIdentityIssuerDataSource.config_rules(),
                config,
            )
        };
        assert!(check(&valid).is_empty(), "{:#?}", check(&valid));
        let rules = [
            Rule {
                case: "blank issuer",
                config: M {
                    issuer: text(" "),
                    ..valid.clone()
                },
                path: at(M::issuer),
                summary: "Empty issuer",
                detail: "issuer must not be empty. Give the issuer, as the `iss` of its tokens.",
            },
            Rule {
                case: "blank sample kid",
                config: M {
                    sample_kid: text(""),
                    ..valid.clone()
                },
                path: at(M::sample_kid),
                summary: "Empty sample_kid",
                detail: "sample_kid must not be empty. Omit it or give a value.",
            },
            Rule {
                case: "both key sources",
                config: M {
                    discovery_url: text("https://keys.example.com"),
                    jwks_json: text(r#"{"keys":[]}"#),
                    ..valid.clone()
                },
                path: at(M::discovery_url),
                summary: "Conflicting key sources",
                detail: "not both",
            },
            Rule {
                case: "a discovery URL with credentials, never repeated",
                config: M {
                    discovery_url: text("https://user:hunter2@keys.example.com"),
                    ..valid.clone()
                },
                path: at(M::discovery_url),
                summary: "Invalid discovery_url",
                detail: "***@keys.example.com",
            },
            Rule {
                case: "an issuer the provider would refuse",
                config: M {
                    issuer: text("http://issuer.example.com"),
                    ..valid.clone()
                },
                path: at(M::issuer),
                summary: "Invalid issuer",
                detail: "uses http",
            },
        ];
        for rule in &rules {
            let d = check(&rule.config);
            assert_rule(rule, &d);
            assert!(!format!("{d:?}").contains("hunter2"), "{d:?}");
        }
    }

    fn keys(jwks: Json) -> Vec<KeyEntry> {
        jwks["keys"].as_array().unwrap().iter().map(entry).collect()
    }

    #[test]
    fn keys_are_judged_and_the_sample_kid_looked_up() {
        let weak = json!({"kty": "RSA", "kid": "weak", "n": "gICA", "e": "AQAB"});
        let ec = json!({"kty": "EC", "kid": "ec", "crv": "P-256", "x": "x", "y": "y"});
        let config = |kid: Option<&str>| M {
            issuer: Field::Known("https://i.example.com".into()),
            sample_kid: kid.map(str::to_owned).into(),
            ..M::default()
        };
        let judged = |jwks: Json, kid: Option<&str>| {
            let mut d = Diagnostics::new();
            judge_keys(&config(kid), &keys(jwks), M::issuer, &mut d);
            d.iter()
                .map(|d| (d.severity, d.summary.clone()))
                .collect::<Vec<_>>()
        };
        use tfplugin::framework::Severity::{Error, Warning};
        assert_eq!(
            judged(json!({"keys": [weak]}), None),
            [(Error, "No key OpenAI accepts".to_owned())]
        );
        assert_eq!(
            judged(json!({"keys": [weak, ec]}), Some("ec")),
            [(Warning, "Keys OpenAI does not accept".to_owned())]
        );
        assert_eq!(
            judged(json!({"keys": [ec]}), Some("gone")),
            [(Error, "No key with the sample token's kid".to_owned())]
        );
        assert_eq!(
            judged(json!({"keys": [weak, ec]}), Some("weak")),
            [
                (Warning, "Keys OpenAI does not accept".to_owned()),
                (Error, "The sample token's key is not accepted".to_owned())
            ]
        );
        let k = &keys(json!({"keys": [ec]}))[0];
        assert_eq!(k.bits, Field::Known(256));
        assert_eq!(k.accepted, Field::Known(true));
    }
}
