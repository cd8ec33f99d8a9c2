//! The `provider "openai" {}` block: its schema, validation and the settings
//! it resolves to (configuration first, then environment, then defaults).

use std::time::Duration;

use url::Url;

use super::validate::https_url;
use openai_admin::Env;
use openai_admin::models::{MAX_PROVIDERS_PER_ORG, MAX_RULES_PER_PROVIDER};
use openai_admin::secret::Secret;
use tfplugin::codec::{Number, Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{Attribute, Diagnostics, Schema};

use crate::values::Sensitive;

tfplugin::model! {
    /// The provider block, as Terraform sends it.
    pub(crate) struct ProviderBlock {
        /// A `Sensitive`, so that no `Debug` of the block shows the key.
        pub admin_api_key: Field<Sensitive>,
        pub base_url: Field<String>,
        pub allow_custom_base_url_host: Field<bool>,
        pub token_exchange_url: Field<String>,
        pub allow_custom_token_exchange_host: Field<bool>,
        pub request_timeout_seconds: Field<Number>,
        pub max_retries: Field<Number>,
        pub rate_limit_wait_seconds: Field<Number>,
        pub max_workload_identity_providers: Field<Number>,
        pub max_mappings_per_provider: Field<Number>,
    }
}

type B = ProviderBlock;

pub(crate) const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";
pub(crate) const DEFAULT_TOKEN_EXCHANGE_URL: &str = "https://auth.openai.com/oauth/token";
pub(crate) const DEFAULT_TIMEOUT_SECONDS: i64 = 30;
pub(crate) const DEFAULT_MAX_RETRIES: i64 = 4;
pub(crate) const DEFAULT_RATE_LIMIT_WAIT_SECONDS: i64 = 300;
pub(crate) const DEFAULT_RATE_LIMIT_WINDOW_SECONDS: u64 = 60;
/// The longest rate-limit window the environment may set.
pub(crate) const MAX_RATE_LIMIT_WINDOW_SECONDS: u64 = 3600;

pub(crate) const ENV_ADMIN_KEY: &str = "OPENAI_ADMIN_KEY";
pub(crate) const ENV_BASE_URL: &str = "OPENAI_BASE_URL";
pub(crate) const ENV_TOKEN_EXCHANGE_URL: &str = "OPENAI_TOKEN_EXCHANGE_URL";
/// The span of the API's rate-limit window the provider assumes, in
/// seconds; 0 turns window pacing off. An environment variable only: it
/// describes the API, not a configuration.
pub(crate) const ENV_RATE_LIMIT_WINDOW: &str = "OPENAI_RATE_LIMIT_WINDOW_SECONDS";
/// The only host the token exchange goes to by default (besides loopback).
pub(crate) const TOKEN_EXCHANGE_HOST: &str = "auth.openai.com";
pub(crate) const ALLOW_OTHER_EXCHANGE_HOST: &str = ProviderBlock::allow_custom_token_exchange_host;
/// The Admin API host `base_url` is expected on (besides loopback).
pub(crate) const ADMIN_API_HOST: &str = "api.openai.com";
pub(crate) const ALLOW_OTHER_BASE_URL_HOST: &str = ProviderBlock::allow_custom_base_url_host;

/// What the provider block resolves to.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// Absent until something needs the Admin API; then a clear error.
    pub admin_key: Option<Secret>,
    pub base_url: Url,
    pub token_exchange_url: Url,
    pub request_timeout: Duration,
    pub max_retries: u32,
    /// How long one request may wait out 429s in all.
    pub rate_limit_wait: Duration,
    /// The span of the API's rate-limit window ([`ENV_RATE_LIMIT_WINDOW`]);
    /// zero: pace by backoff only.
    pub rate_limit_window: Duration,
    pub max_providers: usize,
    pub max_mappings_per_provider: usize,
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "The OpenAI provider manages Workload Identity Federation: trusted OIDC issuers \
         and the service account mappings that let workloads exchange their own tokens \
         for short-lived OpenAI access tokens.",
    )
    .attribute(
        Attribute::optional(B::admin_api_key, Type::String)
            .sensitive()
            .description(format!(
                "An OpenAI Admin API key. May also be set with the `{ENV_ADMIN_KEY}` environment \
                 variable. Needed only by operations that call the Admin API; the token \
                 exchange needs none."
            )),
    )
    .attribute(
        Attribute::optional(B::base_url, Type::String).description(format!(
            "Base URL of the OpenAI API. May also be set with `{ENV_BASE_URL}`. Defaults to \
         `{DEFAULT_BASE_URL}`. Must be https, except on loopback hosts (the local emulator)."
        )),
    )
    .attribute(
        Attribute::optional(ALLOW_OTHER_BASE_URL_HOST, Type::Bool).description(format!(
            "Acknowledge a `base_url` (or `{ENV_BASE_URL}`) on a host other than \
             `{ADMIN_API_HOST}` or a loopback host, such as a gateway you run. Every Admin API \
             request carries the admin key there; without this setting such a host gets a \
             warning. Defaults to false."
        )),
    )
    .attribute(
        Attribute::optional(B::token_exchange_url, Type::String).description(format!(
            "URL of the OAuth token exchange endpoint. May also be set with \
             `{ENV_TOKEN_EXCHANGE_URL}`. Defaults to `{DEFAULT_TOKEN_EXCHANGE_URL}`. Must be \
             https, except on loopback hosts. The workload's subject token is sent there, so \
             only `{TOKEN_EXCHANGE_HOST}` and loopback hosts are accepted unless \
             `{ALLOW_OTHER_EXCHANGE_HOST}` is true."
        )),
    )
    .attribute(
        Attribute::optional(ALLOW_OTHER_EXCHANGE_HOST, Type::Bool).description(format!(
            "Allow a `token_exchange_url` (or `{ENV_TOKEN_EXCHANGE_URL}`) on a host other than \
             `{TOKEN_EXCHANGE_HOST}` or a loopback host, such as a gateway you run. The token \
             exchange receives the workload's platform credential, so set this only for an \
             endpoint you trust. Defaults to false."
        )),
    )
    .attribute(
        Attribute::optional(B::request_timeout_seconds, Type::Number).description(format!(
            "Timeout of one HTTP request, in seconds (1 to 600). Defaults to \
             {DEFAULT_TIMEOUT_SECONDS}."
        )),
    )
    .attribute(
        Attribute::optional(B::max_retries, Type::Number).description(format!(
            "How many times a failed request that is safe to repeat is retried (0 to 20), \
         with exponential backoff. Defaults to {DEFAULT_MAX_RETRIES}."
        )),
    )
    .attribute(
        Attribute::optional(B::rate_limit_wait_seconds, Type::Number).description(format!(
            "How long one request may wait in all while OpenAI rate limits it (0 to 3600 \
             seconds). The Admin API allows only a few requests per minute per endpoint and \
             answers `429 Too Many Requests` without saying when to retry; the provider then \
             slows down and retries (these retries do not count against `max_retries`) until \
             this much waiting would be exceeded, then fails with an error. 0 fails at the first \
             429. Defaults to {DEFAULT_RATE_LIMIT_WAIT_SECONDS}."
        )),
    )
    .attribute(
        Attribute::optional(B::max_workload_identity_providers, Type::Number).description(format!(
            "The most workload identity providers the organization may have. Plans that \
                 would exceed it fail before anything is created. Defaults to OpenAI's limit, \
                 {MAX_PROVIDERS_PER_ORG}; raise it only if OpenAI raised the limit for you."
        )),
    )
    .attribute(
        Attribute::optional(B::max_mappings_per_provider, Type::Number).description(format!(
            "The most service account mappings one workload identity provider may have. Plans \
             that would exceed it fail before anything is created. Defaults to OpenAI's limit, \
             {MAX_RULES_PER_PROVIDER}."
        )),
    )
}

/// A string attribute, else the environment variable. `Err(())` = unknown.
fn string_setting(
    field: &Field<String>,
    env: Env<'_>,
    env_name: &str,
) -> Result<Option<String>, ()> {
    match field {
        Field::Unknown => Err(()),
        Field::Known(s) => Ok(Some(s.clone())),
        Field::Null => Ok(env(env_name).filter(|s| !s.is_empty())),
    }
}

/// A switch that defaults to false. `Err(())` = unknown.
fn bool_setting(field: &Field<bool>) -> Result<bool, ()> {
    match field {
        Field::Unknown => Err(()),
        Field::Known(b) => Ok(*b),
        Field::Null => Ok(false),
    }
}

/// A whole-number attribute `name` within bounds, with a diagnostic on
/// that path.
fn int_setting(
    field: &Field<Number>,
    name: &str,
    range: std::ops::RangeInclusive<i64>,
    default: i64,
    diags: &mut Diagnostics,
) -> Result<i64, ()> {
    match field {
        Field::Unknown => Err(()),
        Field::Known(n) => match n.as_i64().filter(|i| range.contains(i)) {
            Some(i) => Ok(i),
            None => {
                diags.attribute_error(
                    Path::root().attr(name),
                    format!("Invalid {name}"),
                    format!(
                        "{name} must be a whole number from {} to {}, got {n}.",
                        range.start(),
                        range.end()
                    ),
                );
                Ok(default)
            }
        },
        Field::Null => Ok(default),
    }
}

/// [`ENV_RATE_LIMIT_WINDOW`], or the default; an invalid value is an error
/// naming the variable.
fn rate_limit_window(env: Env<'_>, diags: &mut Diagnostics) -> Duration {
    let default = Duration::from_secs(DEFAULT_RATE_LIMIT_WINDOW_SECONDS);
    let Some(text) = env(ENV_RATE_LIMIT_WINDOW).filter(|s| !s.trim().is_empty()) else {
        return default;
    };
    match text.trim().parse::<u64>() {
        Ok(secs) if secs <= MAX_RATE_LIMIT_WINDOW_SECONDS => Duration::from_secs(secs),
        _ => {
            diags.error(
                format!("Invalid {ENV_RATE_LIMIT_WINDOW}"),
                format!(
                    "The environment variable {ENV_RATE_LIMIT_WINDOW} must be a whole number of \
                     seconds from 0 to {MAX_RATE_LIMIT_WINDOW_SECONDS}, got {text:?}. It is the \
                     span of the API's rate-limit window the provider paces by; 0 turns that \
                     off. Unset it to use the default, {DEFAULT_RATE_LIMIT_WINDOW_SECONDS}."
                ),
            );
            default
        }
    }
}

/// A URL attribute `name`, else the environment variable, else `default`.
fn url_setting(
    field: &Field<String>,
    name: &str,
    env: Env<'_>,
    env_name: &str,
    default: &str,
    diags: &mut Diagnostics,
) -> Result<Url, ()> {
    let (value, from_env) = match string_setting(field, env, env_name)? {
        Some(v) => (v, field.is_null()),
        None => (default.to_string(), false),
    };
    match https_url(&value) {
        Ok(u) => Ok(u),
        Err(why) => {
            let source = if from_env {
                format!(" (from the {env_name} environment variable)")
            } else {
                String::new()
            };
            diags.attribute_error(
                Path::root().attr(name),
                format!("Invalid {name}"),
                format!("{why}{source}"),
            );
            Ok(Url::parse(default).expect("default URL is valid"))
        }
    }
}

/// OpenAI's Admin API host or a loopback host.
fn base_host_expected(url: &Url) -> bool {
    crate::validate::is_loopback(url)
        || url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(ADMIN_API_HOST))
}

/// OpenAI's exchange host or a loopback host.
fn exchange_host_allowed(url: &Url) -> bool {
    crate::validate::is_loopback(url)
        || url
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case(TOKEN_EXCHANGE_HOST))
}

/// Resolves the settings. Returns `None` when some value is not known yet
/// (the block depends on another resource) or when `diags` holds errors.
pub(crate) fn resolve(config: &Value, env: Env<'_>, diags: &mut Diagnostics) -> Option<Settings> {
    let block = match ProviderBlock::from_value(config) {
        Ok(b) => b,
        Err(e) => {
            diags.extend(Diagnostics::from(e));
            return None;
        }
    };
    let resolved = (|| -> Result<Settings, ()> {
        let admin_key = match &block.admin_api_key {
            Field::Unknown => return Err(()),
            Field::Known(key) => Some(key.0.clone()),
            Field::Null => string_setting(&Field::Null, env, ENV_ADMIN_KEY)?.map(Secret::from),
        };
        let base_url = url_setting(
            &block.base_url,
            B::base_url,
            env,
            ENV_BASE_URL,
            DEFAULT_BASE_URL,
            diags,
        )?;
        let allow_other_base = bool_setting(&block.allow_custom_base_url_host)?;
        // A warning, not an error as for the token exchange: gateways in
        // front of the Admin API are common, and the key is the user's own.
        if !allow_other_base && !base_host_expected(&base_url) {
            diags.push(
                tfplugin::framework::Diagnostic::warning(
                    "Admin API key sent to a host other than OpenAI's",
                    format!(
                        "base_url is on the host {:?}, so every Admin API request sends the \
                         admin key there, not to {ADMIN_API_HOST}. If you run this endpoint and \
                         trust it with the key, set {ALLOW_OTHER_BASE_URL_HOST} = true to \
                         silence this warning (it may come from {ENV_BASE_URL}).",
                        base_url.host_str().unwrap_or_default()
                    ),
                )
                .at(Path::root().attr(B::base_url)),
            );
        }
        let allow_other_host = bool_setting(&block.allow_custom_token_exchange_host)?;
        let token_exchange_url = url_setting(
            &block.token_exchange_url,
            B::token_exchange_url,
            env,
            ENV_TOKEN_EXCHANGE_URL,
            DEFAULT_TOKEN_EXCHANGE_URL,
            diags,
        )?;
        if !allow_other_host && !exchange_host_allowed(&token_exchange_url) {
            diags.attribute_error(
                Path::root().attr(B::token_exchange_url),
                "Untrusted token_exchange_url host",
                format!(
                    "The token exchange URL is on the host {:?}, but the workload's subject token \
                     is sent only to {TOKEN_EXCHANGE_HOST} or a loopback host (the local \
                     emulator). Use {DEFAULT_TOKEN_EXCHANGE_URL}, or set \
                     {ALLOW_OTHER_EXCHANGE_HOST} = true if you run this endpoint and trust it \
                     with platform credentials (it may come from {ENV_TOKEN_EXCHANGE_URL}).",
                    token_exchange_url.host_str().unwrap_or_default()
                ),
            );
        }
        Ok(Settings {
            admin_key,
            base_url,
            token_exchange_url,
            request_timeout: Duration::from_secs(int_setting(
                &block.request_timeout_seconds,
                B::request_timeout_seconds,
                1..=600,
                DEFAULT_TIMEOUT_SECONDS,
                diags,
            )? as u64),
            max_retries: int_setting(
                &block.max_retries,
                B::max_retries,
                0..=20,
                DEFAULT_MAX_RETRIES,
                diags,
            )? as u32,
            rate_limit_wait: Duration::from_secs(int_setting(
                &block.rate_limit_wait_seconds,
                B::rate_limit_wait_seconds,
                0..=3600,
                DEFAULT_RATE_LIMIT_WAIT_SECONDS,
                diags,
            )? as u64),
            rate_limit_window: rate_limit_window(env, diags),
            max_providers: int_setting(
                &block.max_workload_identity_providers,
                B::max_workload_identity_providers,
                1..=100_000,
                MAX_PROVIDERS_PER_ORG as i64,
                diags,
            )? as usize,
            max_mappings_per_provider: int_setting(
                &block.max_mappings_per_provider,
                B::max_mappings_per_provider,
                1..=100_000,
                MAX_RULES_PER_PROVIDER as i64,
                diags,
            )? as usize,
        })
    })();
    match resolved {
        Ok(s) if !diags.has_errors() => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tfplugin::codec::Number;

    #[test]
    fn printing_the_block_never_shows_the_admin_key() {
        let block = ProviderBlock::from_value(&config(&[(
            B::admin_api_key,
            Value::string("sk-admin-very-secret"),
        )]))
        .unwrap();
        assert!(!format!("{block:?}").contains("very-secret"), "{block:?}");
    }

    fn config(pairs: &[(&str, Value)]) -> Value {
        let mut m: BTreeMap<String, Value> = schema()
            .attributes
            .iter()
            .map(|a| (a.name.to_string(), Value::Null))
            .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), v.clone());
        }
        Value::Object(m)
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_block_model_agrees_with_the_schema() {
        assert_eq!(
            tfplugin::framework::model::schema_mismatches::<ProviderBlock>(&schema()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn defaults_apply_and_the_admin_key_is_optional() {
        let mut d = Diagnostics::new();
        let s = resolve(&config(&[]), &no_env, &mut d).unwrap();
        assert!(d.is_empty());
        assert!(s.admin_key.is_none());
        assert_eq!(s.base_url.as_str(), "https://api.openai.com/v1");
        assert_eq!(s.token_exchange_url.as_str(), DEFAULT_TOKEN_EXCHANGE_URL);
        assert_eq!(s.max_providers, 50);
        assert_eq!(s.max_mappings_per_provider, 50);
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.rate_limit_wait, Duration::from_secs(300));
        assert_eq!(s.rate_limit_window, Duration::from_secs(60));
    }

    #[test]
    fn the_rate_limit_window_comes_from_the_environment() {
        for (value, want) in [("3", 3), (" 0 ", 0), ("", 60), ("3600", 3600)] {
            let env = |k: &str| (k == ENV_RATE_LIMIT_WINDOW).then(|| value.to_string());
            let mut d = Diagnostics::new();
            let s = resolve(&config(&[]), &env, &mut d).unwrap();
            assert!(d.is_empty(), "{value:?}");
            assert_eq!(s.rate_limit_window, Duration::from_secs(want), "{value:?}");
        }
        for value in ["-1", "1.5", "sixty", "3601"] {
            let env = |k: &str| (k == ENV_RATE_LIMIT_WINDOW).then(|| value.to_string());
            let mut d = Diagnostics::new();
            assert!(resolve(&config(&[]), &env, &mut d).is_none(), "{value:?}");
            let diag = d.iter().next().unwrap();
            assert!(diag.path.is_none());
            assert_eq!(diag.summary, format!("Invalid {ENV_RATE_LIMIT_WINDOW}"));
            assert!(
                diag.detail.contains(&format!("{value:?}")),
                "{}",
                diag.detail
            );
            assert!(diag.detail.contains("from 0 to 3600"), "{}", diag.detail);
        }
    }

    #[test]
    fn environment_fills_in_unset_attributes() {
        let env = |k: &str| match k {
            ENV_ADMIN_KEY => Some("sk-admin".to_string()),
            ENV_BASE_URL => Some("http://127.0.0.1:9/v1".to_string()),
            _ => None,
        };
        let mut d = Diagnostics::new();
        let s = resolve(&config(&[]), &env, &mut d).unwrap();
        assert_eq!(s.admin_key.unwrap().expose(), "sk-admin");
        assert_eq!(s.base_url.as_str(), "http://127.0.0.1:9/v1");
    }

    #[test]
    fn a_base_url_off_openai_warns_unless_acknowledged() {
        let warnings = |pairs: &[(&str, Value)]| {
            let mut d = Diagnostics::new();
            let s = resolve(&config(pairs), &no_env, &mut d);
            assert!(s.is_some(), "{d:?}");
            d.iter()
                .map(|x| (x.path.as_ref().map(|p| p.to_string()), x.detail.clone()))
                .collect::<Vec<_>>()
        };
        let gateway = Value::String("https://gateway.example.com/v1".into());
        let got = warnings(&[("base_url", gateway.clone())]);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0.as_deref(), Some("base_url"));
        assert!(got[0].1.contains("\"gateway.example.com\""), "{got:?}");
        assert!(got[0].1.contains(ALLOW_OTHER_BASE_URL_HOST), "{got:?}");
        assert!(
            warnings(&[
                ("base_url", gateway),
                (ALLOW_OTHER_BASE_URL_HOST, Value::Bool(true)),
            ])
            .is_empty()
        );
        for ok in [
            "https://api.openai.com/v1",
            "https://API.OPENAI.COM/v1",
            "http://127.0.0.1:9/v1",
        ] {
            assert!(
                warnings(&[("base_url", Value::String(ok.into()))]).is_empty(),
                "{ok}"
            );
        }
        assert!(warnings(&[]).is_empty());
    }

    #[test]
    fn url_credentials_are_not_quoted_in_any_spelling() {
        for (url, why) in [
            (
                "https:admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            (
                "https:/admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            (
                "https:\\\\admin:hunter2@api.example.com/v1",
                "contains credentials",
            ),
            ("http:admin:hunter2@api.example.com/v1", "uses http"),
        ] {
            for attribute in ["base_url", "token_exchange_url"] {
                let mut d = Diagnostics::new();
                let c = config(&[(attribute, Value::String(url.into()))]);
                assert!(resolve(&c, &no_env, &mut d).is_none());
                let text: String = d
                    .iter()
                    .map(|x| format!("{} {}", x.summary, x.detail))
                    .collect();
                assert!(text.contains(why), "{url}: {text}");
                assert!(!text.contains("hunter2"), "{url}: {text}");
            }
        }
    }

    #[test]
    fn bad_values_name_the_attribute() {
        let mut d = Diagnostics::new();
        let c = config(&[
            ("base_url", Value::String("http://api.openai.com/v1".into())),
            ("token_exchange_url", Value::String("ftp://auth".into())),
            (
                "request_timeout_seconds",
                Value::Number(Number::from_i64(0)),
            ),
            ("max_retries", Value::Number(Number::from_i64(-1))),
            (
                "rate_limit_wait_seconds",
                Value::Number(Number::from_i64(3601)),
            ),
            (
                "max_workload_identity_providers",
                Value::Number(Number::parse("1.5").unwrap()),
            ),
            (
                "max_mappings_per_provider",
                Value::Number(Number::from_i64(0)),
            ),
        ]);
        assert!(resolve(&c, &no_env, &mut d).is_none());
        let got: Vec<(String, String, String)> = d
            .iter()
            .map(|x| {
                (
                    x.path.as_ref().unwrap().to_string(),
                    x.summary.clone(),
                    x.detail.clone(),
                )
            })
            .collect();
        let expected = [
            ("base_url", "uses http. Only https is accepted"),
            ("token_exchange_url", "uses the scheme \"ftp\""),
            ("request_timeout_seconds", "from 1 to 600, got 0"),
            ("max_retries", "from 0 to 20, got -1"),
            ("rate_limit_wait_seconds", "from 0 to 3600, got 3601"),
            (
                "max_workload_identity_providers",
                "whole number from 1 to 100000, got 1.5",
            ),
            ("max_mappings_per_provider", "from 1 to 100000, got 0"),
        ];
        assert_eq!(got.len(), expected.len(), "{got:?}");
        for ((path, summary, detail), (want_path, want_detail)) in got.iter().zip(expected) {
            assert_eq!(path, want_path);
            assert_eq!(summary, &format!("Invalid {want_path}"));
            assert!(detail.contains(want_detail), "{path}: {detail}");
        }
    }

    #[test]
    fn a_bad_url_from_the_environment_says_where_it_came_from() {
        let env = |k: &str| (k == ENV_BASE_URL).then(|| "http://example.com/v1".to_string());
        let mut d = Diagnostics::new();
        assert!(resolve(&config(&[]), &env, &mut d).is_none());
        let diag = d.iter().next().unwrap();
        assert_eq!(diag.path.as_ref().unwrap().to_string(), "base_url");
        assert!(
            diag.detail
                .contains("from the OPENAI_BASE_URL environment variable")
        );
    }

    #[test]
    fn the_token_exchange_goes_to_openai_or_loopback_unless_allowed() {
        let url = |u: &str| ("token_exchange_url", Value::String(u.into()));
        for ok in [
            DEFAULT_TOKEN_EXCHANGE_URL,
            "https://AUTH.openai.com/oauth/token",
            "http://127.0.0.1:9/oauth/token",
            "http://localhost:9/oauth/token",
        ] {
            let mut d = Diagnostics::new();
            assert!(
                resolve(&config(&[url(ok)]), &no_env, &mut d).is_some(),
                "{ok}: {d:?}"
            );
        }
        let mut d = Diagnostics::new();
        assert!(
            resolve(
                &config(&[url("https://collector.example.com/t")]),
                &no_env,
                &mut d
            )
            .is_none()
        );
        let diag = d.iter().next().unwrap();
        assert_eq!(
            diag.path.as_ref().unwrap().to_string(),
            "token_exchange_url"
        );
        assert_eq!(diag.summary, "Untrusted token_exchange_url host");
        assert!(
            diag.detail.contains("collector.example.com"),
            "{}",
            diag.detail
        );
        assert!(
            diag.detail.contains(ALLOW_OTHER_EXCHANGE_HOST),
            "{}",
            diag.detail
        );
        // From the environment too.
        let env =
            |k: &str| (k == ENV_TOKEN_EXCHANGE_URL).then(|| "https://evil.example/t".to_string());
        let mut d = Diagnostics::new();
        assert!(resolve(&config(&[]), &env, &mut d).is_none());
        // The opt-in allows it.
        let mut d = Diagnostics::new();
        let c = config(&[
            url("https://gateway.example.com/oauth/token"),
            (ALLOW_OTHER_EXCHANGE_HOST, Value::Bool(true)),
        ]);
        let s = resolve(&c, &no_env, &mut d).unwrap();
        assert_eq!(s.token_exchange_url.host_str(), Some("gateway.example.com"));
    }

    #[test]
    fn unknown_values_defer_configuration_without_errors() {
        let mut d = Diagnostics::new();
        let c = config(&[("admin_api_key", Value::Unknown)]);
        assert!(resolve(&c, &no_env, &mut d).is_none());
        assert!(d.is_empty());
    }
}
