//! Request-body validation: turns raw JSON into the shared request models,
//! refusing anything the documented schema (`docs/reference/openai-api.md#endpoints`, `#semantics`,
//! `#limits`) forbids with a 400 that names the offending `param`.
//!
//! Bodies are read as untyped JSON first so every error can name its field
//! (serde's own messages cannot). Unknown fields are refused (400
//! `unknown_parameter`), like the real API does for unrecognized arguments; it
//! also catches client typos that would otherwise be silently ignored.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::{Map, Value as Json};

use super::errors::ApiError;
use openai_admin::models::{
    AttributeMatchers, AttributeTransformation, CreateProjectRequest, CreateProviderRequest,
    CreateRuleRequest, CreateServiceAccountRequest, MAX_ATTRIBUTE_TRANSFORMATIONS,
    MAX_TRANSFORMATION_ATTRIBUTE_LEN, MAX_TRANSFORMATION_EXPRESSION_LEN, PROJECT_RESIDENCIES,
    Permissions, SERVICE_ACCOUNT_ROLES, UpdateProjectRequest, UpdateProviderRequest,
    UpdateRuleRequest, UpdateServiceAccountRequest, Verification,
};

/// JWK members that carry private or symmetric key material (RFC 7518 section 6).
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Parses a request body as a JSON object.
pub fn body_object(bytes: &[u8]) -> Result<Map<String, Json>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_json(
            "The request body is empty; send a JSON object.",
        ));
    }
    match serde_json::from_slice::<Json>(bytes) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_json(
            "The request body must be a JSON object.",
        )),
        Err(e) => Err(ApiError::bad_json(format!(
            "We could not parse the JSON body of your request ({e}). Send valid JSON."
        ))),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn only_known(
    obj: &Map<String, Json>,
    prefix: &str,
    allowed: &[&str],
    hint: &str,
) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::unknown_param(join(prefix, k), hint)),
        None => Ok(()),
    }
}

/// A required, non-empty string.
fn required_string(obj: &Map<String, Json>, prefix: &str, key: &str) -> Result<String, ApiError> {
    let param = join(prefix, key);
    match obj.get(key) {
        None => Err(ApiError::missing(param)),
        Some(v) => non_empty_string(v, &param),
    }
}

fn non_empty_string(v: &Json, param: &str) -> Result<String, ApiError> {
    match v {
        Json::String(s) if s.is_empty() => Err(ApiError::invalid_value(
            param,
            format!("'{param}' must not be empty."),
        )),
        Json::String(s) => Ok(s.clone()),
        _ => Err(ApiError::invalid_type(param, "a string")),
    }
}

/// An optional string; `null` is refused (create bodies are not nullable).
fn optional_string(
    obj: &Map<String, Json>,
    prefix: &str,
    key: &str,
) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_type(join(prefix, key), "a string")),
    }
}

/// Tri-state: absent, `null` (clear), or a string.
fn nullable_string(
    obj: &Map<String, Json>,
    prefix: &str,
    key: &str,
) -> Result<Option<Option<String>>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Json::Null) => Ok(Some(None)),
        Some(Json::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::invalid_type(
            join(prefix, key),
            "a string or null",
        )),
    }
}

fn optional_bool(obj: &Map<String, Json>, key: &str) -> Result<Option<bool>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(Json::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::invalid_type(key, "a boolean")),
    }
}

/// An optional non-empty string (update bodies: `minLength: 1`, not nullable).
fn optional_non_empty(
    obj: &Map<String, Json>,
    prefix: &str,
    key: &str,
) -> Result<Option<String>, ApiError> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => non_empty_string(v, &join(prefix, key)).map(Some),
    }
}

// ---------------------------------------------------------------- providers

const PROVIDER_CREATE_FIELDS: &[&str] = &[
    "name",
    "issuer",
    "audience",
    "type",
    "description",
    "enabled",
    "verification",
    "attribute_transformations",
];

const PROVIDER_UPDATE_FIELDS: &[&str] = &[
    "name",
    "issuer",
    "audience",
    "description",
    "enabled",
    "verification",
    "attribute_transformations",
];

pub fn create_provider(obj: &Map<String, Json>) -> Result<CreateProviderRequest, ApiError> {
    only_known(obj, "", PROVIDER_CREATE_FIELDS, "")?;
    let name = required_string(obj, "", "name")?;
    let issuer = required_string(obj, "", "issuer")?;
    check_issuer(&issuer)?;
    let audience = required_string(obj, "", "audience")?;
    // OpenAI's SDKs (generated from its spec) require `type`; its only value is "oidc".
    let kind = match obj.get("type") {
        None => return Err(ApiError::missing("type")),
        Some(Json::String(s)) if s == "oidc" => s.clone(),
        Some(Json::String(s)) => {
            return Err(ApiError::invalid_value(
                "type",
                format!("Invalid 'type' value '{s}': the only supported provider type is 'oidc'."),
            ));
        }
        Some(_) => return Err(ApiError::invalid_type("type", "the string \"oidc\"")),
    };
    Ok(CreateProviderRequest {
        name,
        issuer,
        audience,
        kind,
        description: optional_string(obj, "", "description")?,
        enabled: optional_bool(obj, "enabled")?,
        verification: obj.get("verification").map(verification).transpose()?,
        attribute_transformations: obj
            .get("attribute_transformations")
            .map(transformations)
            .transpose()?,
    })
}

pub fn update_provider(obj: &Map<String, Json>) -> Result<UpdateProviderRequest, ApiError> {
    only_known(
        obj,
        "",
        PROVIDER_UPDATE_FIELDS,
        "A provider's 'type' cannot be changed.",
    )?;
    let issuer = optional_non_empty(obj, "", "issuer")?;
    if let Some(issuer) = &issuer {
        check_issuer(issuer)?;
    }
    Ok(UpdateProviderRequest {
        name: optional_non_empty(obj, "", "name")?,
        issuer,
        audience: optional_non_empty(obj, "", "audience")?,
        description: nullable_string(obj, "", "description")?,
        enabled: optional_bool(obj, "enabled")?,
        verification: obj.get("verification").map(verification).transpose()?,
        attribute_transformations: obj
            .get("attribute_transformations")
            .map(transformations)
            .transpose()?,
    })
}

fn transformations(v: &Json) -> Result<Vec<AttributeTransformation>, ApiError> {
    const P: &str = "attribute_transformations";
    let Json::Array(items) = v else {
        return Err(ApiError::invalid_type(P, "an array"));
    };
    if items.len() > MAX_ATTRIBUTE_TRANSFORMATIONS {
        return Err(ApiError::invalid_value(
            P,
            format!(
                "'{P}' has {} items; at most {MAX_ATTRIBUTE_TRANSFORMATIONS} are allowed per provider.",
                items.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let prefix = format!("{P}[{i}]");
        let Json::Object(obj) = item else {
            return Err(ApiError::invalid_type(prefix, "an object"));
        };
        only_known(obj, &prefix, &["attribute", "expression"], "")?;
        let attribute = required_string(obj, &prefix, "attribute")?;
        let expression = required_string(obj, &prefix, "expression")?;
        let attr_param = format!("{prefix}.attribute");
        if attribute.chars().count() > MAX_TRANSFORMATION_ATTRIBUTE_LEN {
            return Err(ApiError::invalid_value(
                attr_param,
                format!(
                    "'{prefix}.attribute' is longer than {MAX_TRANSFORMATION_ATTRIBUTE_LEN} characters."
                ),
            ));
        }
        if expression.chars().count() > MAX_TRANSFORMATION_EXPRESSION_LEN {
            return Err(ApiError::invalid_value(
                format!("{prefix}.expression"),
                format!(
                    "'{prefix}.expression' is longer than {MAX_TRANSFORMATION_EXPRESSION_LEN} characters."
                ),
            ));
        }
        // The API stores the full name (`docs/reference/openai-api.md#attribute-transformations`);
        // requiring the prefix is the inferred, safer reading (a bare name could never be matched).
        if !attribute.starts_with("openai.") || attribute.len() == "openai.".len() {
            return Err(ApiError::invalid_value(
                attr_param,
                format!(
                    "Transformation attribute '{attribute}' must start with 'openai.' followed by a name, e.g. 'openai.subject'."
                ),
            ));
        }
        // Inferred: two transformations of one attribute would make matching
        // ambiguous, so the second is refused.
        if !seen.insert(attribute.clone()) {
            return Err(ApiError::invalid_value(
                attr_param,
                format!("Transformation attribute '{attribute}' is defined more than once."),
            ));
        }
        // CEL is deliberately not compiled here: per
        // `docs/reference/openai-api.md#attribute-transformations` unsupported syntax fails mapping
        // resolution at exchange time, not at create time.
        out.push(AttributeTransformation {
            attribute,
            expression,
        });
    }
    Ok(out)
}

fn verification(v: &Json) -> Result<Verification, ApiError> {
    const P: &str = "verification";
    let Json::Object(obj) = v else {
        return Err(ApiError::invalid_type(P, "an object"));
    };
    // OpenAI's SDKs require `type` in both variants, and `discovery_url`
    // (nullable) in the discovery one (`docs/reference/openai-api.md#key-sources`).
    let kind = match obj.get("type") {
        Some(Json::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::invalid_type("verification.type", "a string")),
        None => return Err(ApiError::missing("verification.type")),
    };
    match kind {
        "discovery" => {
            only_known(
                obj,
                P,
                &["type", "discovery_url"],
                "Custom discovery and uploaded JWKS are mutually exclusive.",
            )?;
            let discovery_url = match obj.get("discovery_url") {
                None => return Err(ApiError::missing("verification.discovery_url")),
                Some(Json::Null) => None,
                Some(Json::String(s)) => {
                    check_discovery_url(s)?;
                    Some(s.clone())
                }
                Some(_) => {
                    return Err(ApiError::invalid_type(
                        "verification.discovery_url",
                        "a string or null",
                    ));
                }
            };
            Ok(Verification::Discovery { discovery_url })
        }
        "uploaded_jwks" => {
            only_known(
                obj,
                P,
                &["type", "jwks"],
                "Custom discovery and uploaded JWKS are mutually exclusive.",
            )?;
            let jwks = match obj.get("jwks") {
                None => return Err(ApiError::missing("verification.jwks")),
                Some(Json::Object(m)) => m.clone(),
                Some(_) => return Err(ApiError::invalid_type("verification.jwks", "an object")),
            };
            check_jwks(&jwks)?;
            Ok(Verification::UploadedJwks { jwks })
        }
        other => Err(ApiError::invalid_value(
            "verification.type",
            format!("Invalid verification type '{other}': use 'discovery' or 'uploaded_jwks'."),
        )),
    }
}

/// `docs/reference/openai-api.md#key-sources`: public HTTPS, no credentials, no custom port, no
/// query, no fragment. Plain `http` (and any port) is accepted for loopback hosts only, so local
/// tests can point discovery at the emulator's built-in issuer.
fn check_discovery_url(raw: &str) -> Result<(), ApiError> {
    const P: &str = "verification.discovery_url";
    // The URL is never quoted: it may carry credentials.
    let bad = |why: &str| {
        ApiError::invalid_value(
            P,
            format!(
                "Invalid discovery_url: {why}. Use a public https URL such as https://issuer.example.com/.well-known/openid-configuration."
            ),
        )
    };
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let host = url.host_str().ok_or_else(|| bad("it has no host"))?;
    let loopback = is_loopback_host(host);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("the scheme must be https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not contain credentials"));
    }
    if url.port().is_some() && !loopback {
        return Err(bad("it must not use a custom port"));
    }
    if url.query().is_some() {
        return Err(bad("it must not contain a query string"));
    }
    if url.fragment().is_some() {
        return Err(bad("it must not contain a fragment"));
    }
    if let Some(why) = non_public_host(&url) {
        return Err(bad(&format!("the host is {why}")));
    }
    Ok(())
}

/// An issuer is an absolute `https` URL (plain `http` on loopback hosts, for
/// local issuers) without query or fragment, as the OIDC specification
/// defines it and the provider checks at plan time
/// (`docs/reference/openai-api.md#decisions-where-openai-is-silent`).
fn check_issuer(raw: &str) -> Result<(), ApiError> {
    // Quoted only without its user information.
    let bad = |why: &str| {
        ApiError::invalid_value(
            "issuer",
            format!(
                "Invalid issuer: {why}. Use the https URL the tokens' 'iss' claim names, such as https://token.actions.githubusercontent.com."
            ),
        )
    };
    if raw.chars().any(char::is_whitespace) {
        return Err(bad("it contains white space"));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let host = url.host_str().ok_or_else(|| bad("it has no host"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_host(host) => {}
        _ => return Err(bad("the scheme must be https")),
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not contain a query string or a fragment"));
    }
    Ok(())
}

fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let trimmed = host.trim_start_matches('[').trim_end_matches(']');
    trimmed
        .parse::<IpAddr>()
        .map(|ip| ip.is_loopback())
        .unwrap_or(false)
}

/// Why a URL's host, written as an IP address in any spelling (IPv4 inside
/// IPv6, link-local, CGNAT...), is not public; loopback passes (local tests).
/// Names are checked when the emulator connects (`netguard`).
fn non_public_host(url: &url::Url) -> Option<&'static str> {
    let ip = openai_admin::issuer::netguard::literal_ip(url)?;
    openai_admin::issuer::netguard::allowed(ip, true).err()
}

/// [`check_jwks`] for the fuzz targets.
pub(crate) fn fuzz_check_jwks(jwks: &Map<String, Json>) -> Result<(), ApiError> {
    check_jwks(jwks)
}

/// `docs/reference/openai-api.md#key-sources`: non-empty `keys`, each with a unique non-empty
/// `kid`, no private parts.
fn check_jwks(jwks: &Map<String, Json>) -> Result<(), ApiError> {
    let keys = match jwks.get("keys") {
        None => return Err(ApiError::missing("verification.jwks.keys")),
        Some(Json::Array(keys)) => keys,
        Some(_) => {
            return Err(ApiError::invalid_type("verification.jwks.keys", "an array"));
        }
    };
    if keys.is_empty() {
        return Err(ApiError::invalid_value(
            "verification.jwks.keys",
            "The uploaded JWKS must contain at least one key in 'keys'.",
        ));
    }
    let mut kids = HashSet::new();
    for (i, key) in keys.iter().enumerate() {
        let prefix = format!("verification.jwks.keys[{i}]");
        let Json::Object(key) = key else {
            return Err(ApiError::invalid_type(prefix, "a JWK object"));
        };
        match key.get("kty") {
            Some(Json::String(s)) if !s.is_empty() => {}
            Some(Json::String(_)) | None => {
                return Err(ApiError::invalid_value(
                    format!("{prefix}.kty"),
                    format!("Key {i} of the uploaded JWKS has no 'kty'."),
                ));
            }
            Some(_) => return Err(ApiError::invalid_type(format!("{prefix}.kty"), "a string")),
        }
        let kid = match key.get("kid") {
            Some(Json::String(s)) if !s.is_empty() => s,
            Some(Json::String(_)) | None => {
                return Err(ApiError::invalid_value(
                    format!("{prefix}.kid"),
                    format!("Key {i} of the uploaded JWKS needs a non-empty 'kid'."),
                ));
            }
            Some(_) => return Err(ApiError::invalid_type(format!("{prefix}.kid"), "a string")),
        };
        if !kids.insert(kid.clone()) {
            return Err(ApiError::invalid_value(
                format!("{prefix}.kid"),
                format!(
                    "The uploaded JWKS has more than one key with kid '{kid}'; kids must be unique."
                ),
            ));
        }
        if let Some(problem) =
            openai_admin::issuer::rsa_exponent_problem(&Json::Object(key.clone()))
        {
            return Err(ApiError::invalid_value(
                format!("{prefix}.e"),
                format!("Key '{kid}' of the uploaded JWKS cannot be used: {problem}."),
            ));
        }
        if let Some(member) = PRIVATE_JWK_MEMBERS.iter().find(|m| key.contains_key(**m)) {
            return Err(ApiError::invalid_value(
                format!("{prefix}.{member}"),
                format!(
                    "Key '{kid}' of the uploaded JWKS contains private key material ('{member}'); upload public keys only."
                ),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- federation rules

const RULE_CREATE_FIELDS: &[&str] = &[
    "project_id",
    "service_account_id",
    "attribute_matchers",
    "name",
    "description",
    "enabled",
    "permissions",
];

const RULE_UPDATE_FIELDS: &[&str] = &[
    "attribute_matchers",
    "name",
    "description",
    "enabled",
    "permissions",
];

pub fn create_rule(obj: &Map<String, Json>) -> Result<CreateRuleRequest, ApiError> {
    only_known(obj, "", RULE_CREATE_FIELDS, "")?;
    let project_id = required_string(obj, "", "project_id")?;
    let service_account_id = required_string(obj, "", "service_account_id")?;
    let attribute_matchers = match obj.get("attribute_matchers") {
        None => return Err(ApiError::missing("attribute_matchers")),
        Some(v) => matchers(v)?,
    };
    // The rule schema (OpenAI's SDK params) puts no minimum length on
    // `name`: "" is a name, though never a taken one.
    let name = optional_string(obj, "", "name")?;
    Ok(CreateRuleRequest {
        project_id,
        service_account_id,
        attribute_matchers,
        name,
        description: optional_string(obj, "", "description")?,
        enabled: optional_bool(obj, "enabled")?,
        permissions: obj.get("permissions").map(permissions).transpose()?,
    })
}

pub fn update_rule(obj: &Map<String, Json>) -> Result<UpdateRuleRequest, ApiError> {
    only_known(
        obj,
        "",
        RULE_UPDATE_FIELDS,
        "A rule's project_id and service_account_id cannot be changed; create a new rule instead.",
    )?;
    let name = nullable_string(obj, "", "name")?;
    Ok(UpdateRuleRequest {
        attribute_matchers: obj.get("attribute_matchers").map(matchers).transpose()?,
        name,
        description: nullable_string(obj, "", "description")?,
        enabled: optional_bool(obj, "enabled")?,
        permissions: obj.get("permissions").map(permissions).transpose()?,
    })
}

/// A rule's `attribute_matchers`: an object of claim names to values.
fn matchers(v: &Json) -> Result<AttributeMatchers, ApiError> {
    const P: &str = "attribute_matchers";
    let Json::Object(map) = v else {
        return Err(ApiError::invalid_type(
            P,
            "an object of claim names to values",
        ));
    };
    // Inferred (`docs/reference/openai-api.md#matching-rules`): an empty map would match every
    // token of the provider.
    if map.is_empty() {
        return Err(ApiError::invalid_value(
            P,
            "'attribute_matchers' must contain at least one claim; an empty map would match every token.",
        ));
    }
    for (key, value) in map {
        let param = format!("{P}.{key}");
        if key.is_empty() {
            return Err(ApiError::invalid_value(
                P,
                "Matcher keys must be non-empty claim names.",
            ));
        }
        match value {
            Json::String(s) => check_wildcard(s, &param)?,
            Json::Bool(_) | Json::Number(_) => {}
            _ => {
                return Err(ApiError::invalid_type(param, "a string, boolean or number"));
            }
        }
    }
    Ok(map.clone())
}

/// `docs/reference/openai-api.md#matching-rules`: only a single trailing `*` after a non-empty
/// prefix.
fn check_wildcard(value: &str, param: &str) -> Result<(), ApiError> {
    let stars = value.matches('*').count();
    if stars == 0 {
        return Ok(());
    }
    let ok = stars == 1 && value.ends_with('*') && value.len() > 1;
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_value(
            param,
            format!(
                "Unsupported wildcard in '{value}': only a single trailing '*' after a non-empty prefix is allowed (e.g. 'repo:my-org/*')."
            ),
        ))
    }
}

fn permissions(v: &Json) -> Result<Permissions, ApiError> {
    const P: &str = "permissions";
    let Json::Object(obj) = v else {
        return Err(ApiError::invalid_type(P, "an object"));
    };
    match obj.get("type") {
        None => Err(ApiError::missing("permissions.type")),
        Some(Json::String(t)) if t == "service_account_default" => {
            only_known(
                obj,
                P,
                &["type"],
                "Only restricted permissions take scopes.",
            )?;
            Ok(Permissions::ServiceAccountDefault)
        }
        Some(Json::String(t)) if t == "restricted" => {
            only_known(obj, P, &["type", "scopes"], "")?;
            let scopes = match obj.get("scopes") {
                None => return Err(ApiError::missing("permissions.scopes")),
                Some(Json::Array(items)) => items,
                Some(_) => {
                    return Err(ApiError::invalid_type(
                        "permissions.scopes",
                        "an array of strings",
                    ));
                }
            };
            if scopes.is_empty() {
                return Err(ApiError::invalid_value(
                    "permissions.scopes",
                    "Restricted permissions need at least one scope in 'scopes'.",
                ));
            }
            let scopes = scopes
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let param = format!("permissions.scopes[{i}]");
                    let scope = non_empty_string(s, &param)?;
                    // Admin API scopes and strings that are no scope at all
                    // are never grantable; an unknown `api.*.*` may be new.
                    match openai_admin::scopes::check(&scope) {
                        openai_admin::scopes::Scope::Invalid(why) => Err(ApiError::invalid_value(
                            param,
                            format!("Invalid scope: {why}."),
                        )),
                        _ => Ok(scope),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Permissions::Restricted { scopes })
        }
        Some(Json::String(t)) => Err(ApiError::invalid_value(
            "permissions.type",
            format!(
                "Invalid permissions type '{t}': use 'service_account_default' or 'restricted'."
            ),
        )),
        Some(_) => Err(ApiError::invalid_type("permissions.type", "a string")),
    }
}

// ---------------------------------------------------------------- projects

/// OpenAI's SDK documents `external_key_id`, `residency` and the deprecated
/// `geography` besides `name`; "do not provide both" residency and geography.
pub fn create_project(obj: &Map<String, Json>) -> Result<CreateProjectRequest, ApiError> {
    only_known(
        obj,
        "",
        &["name", "external_key_id", "residency", "geography"],
        "",
    )?;
    let residency = nullable_string(obj, "", "residency")?.flatten();
    if let Some(r) = &residency {
        if !PROJECT_RESIDENCIES.contains(&r.as_str()) {
            return Err(ApiError::invalid_value(
                "residency",
                format!(
                    "Invalid residency '{r}': expected one of {}.",
                    PROJECT_RESIDENCIES.join(", ")
                ),
            ));
        }
    }
    let geography = nullable_string(obj, "", "geography")?.flatten();
    if residency.is_some() && geography.is_some() {
        return Err(ApiError::invalid_value(
            "geography",
            "Do not provide both 'geography' and 'residency'; 'geography' is deprecated.",
        ));
    }
    Ok(CreateProjectRequest {
        name: required_string(obj, "", "name")?,
        external_key_id: nullable_string(obj, "", "external_key_id")?.flatten(),
        residency,
        geography,
    })
}

pub fn update_project(obj: &Map<String, Json>) -> Result<UpdateProjectRequest, ApiError> {
    only_known(obj, "", &["name", "external_key_id", "geography"], "")?;
    Ok(UpdateProjectRequest {
        // Nullable in the SDK's params; null changes nothing.
        name: nullable_string(obj, "", "name")?.flatten(),
        external_key_id: nullable_string(obj, "", "external_key_id")?,
        geography: nullable_string(obj, "", "geography")?.flatten(),
    })
}

/// OpenAI's SDK documents `expires_in_seconds` (not with
/// `create_service_account_only`) and `spend_limit` besides these two.
pub fn create_service_account(
    obj: &Map<String, Json>,
) -> Result<CreateServiceAccountRequest, ApiError> {
    only_known(
        obj,
        "",
        &[
            "name",
            "create_service_account_only",
            "expires_in_seconds",
            "spend_limit",
        ],
        "",
    )?;
    let keyless = match obj.get("create_service_account_only") {
        None | Some(Json::Null) => false,
        Some(_) => optional_bool(obj, "create_service_account_only")?.unwrap_or(false),
    };
    let expires_in_seconds = match obj.get("expires_in_seconds") {
        None | Some(Json::Null) => None,
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Some(n),
            Some(_) => {
                return Err(ApiError::invalid_value(
                    "expires_in_seconds",
                    "'expires_in_seconds' must be a positive number of seconds.",
                ));
            }
            None => return Err(ApiError::invalid_type("expires_in_seconds", "an integer")),
        },
    };
    if keyless && expires_in_seconds.is_some() {
        return Err(ApiError::invalid_value(
            "expires_in_seconds",
            "'expires_in_seconds' cannot be used with 'create_service_account_only': such an account has no API key.",
        ));
    }
    let spend_limit = match obj.get("spend_limit") {
        None | Some(Json::Null) => None,
        Some(v) => Some(spend_limit(v)?),
    };
    Ok(CreateServiceAccountRequest {
        name: required_string(obj, "", "name")?,
        create_service_account_only: keyless,
        expires_in_seconds,
        spend_limit,
    })
}

/// `{"currency": "USD", "interval": "month", "threshold_amount": <cents>}`,
/// the only values OpenAI's SDK lists.
fn spend_limit(v: &Json) -> Result<Json, ApiError> {
    const P: &str = "spend_limit";
    let Json::Object(obj) = v else {
        return Err(ApiError::invalid_type(P, "an object"));
    };
    only_known(obj, P, &["currency", "interval", "threshold_amount"], "")?;
    for (field, only) in [("currency", "USD"), ("interval", "month")] {
        let value = required_string(obj, P, field)?;
        if value != only {
            return Err(ApiError::invalid_value(
                format!("{P}.{field}"),
                format!("Invalid {field} '{value}': only '{only}' is supported."),
            ));
        }
    }
    match obj.get("threshold_amount") {
        None => Err(ApiError::missing("spend_limit.threshold_amount")),
        Some(n) if n.as_i64().is_some_and(|n| n >= 0) => Ok(v.clone()),
        Some(_) => Err(ApiError::invalid_type(
            "spend_limit.threshold_amount",
            "a non-negative integer (US cents)",
        )),
    }
}

pub fn update_service_account(
    obj: &Map<String, Json>,
) -> Result<UpdateServiceAccountRequest, ApiError> {
    only_known(obj, "", &["name", "role"], "")?;
    let role = optional_non_empty(obj, "", "role")?;
    if let Some(role) = &role {
        if !SERVICE_ACCOUNT_ROLES.contains(&role.as_str()) {
            return Err(ApiError::invalid_value(
                "role",
                format!("Invalid role '{role}': expected 'member' or 'owner'."),
            ));
        }
    }
    Ok(UpdateServiceAccountRequest {
        name: optional_non_empty(obj, "", "name")?,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn wildcard_shapes() {
        assert!(check_wildcard("repo:my-org/*", "p").is_ok());
        assert!(check_wildcard("exact", "p").is_ok());
        for bad in ["*", "repo:*:prod", "repo/*/main", "a**", "*a"] {
            assert!(check_wildcard(bad, "p").is_err(), "{bad}");
        }
    }

    #[test]
    fn discovery_urls() {
        for ok in [
            "https://issuer.example.com",
            "https://issuer.example.com/.well-known/openid-configuration",
            "http://127.0.0.1:8080/_emulator/oidc",
            "http://localhost:9/x",
        ] {
            assert!(check_discovery_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example.com",
            "https://u:p@issuer.example.com",
            "https://issuer.example.com:8443",
            "https://issuer.example.com/?a=b",
            "https://issuer.example.com/#f",
            "https://10.0.0.1/",
            "https://[::ffff:10.0.0.1]/",
            "https://[fe80::1]/",
            "https://100.64.0.1/",
            "https://169.254.169.254/",
            "not a url",
        ] {
            assert!(check_discovery_url(bad).is_err(), "{bad}");
        }
        // Credentials are refused without being echoed.
        let err = check_discovery_url("https://user:hunter2@issuer.example.com").unwrap_err();
        assert!(!err.message.contains("hunter2"), "{}", err.message);
    }

    #[test]
    fn jwks_checks_name_the_param() {
        let err = check_jwks(&obj(
            json!({"keys": [{"kty":"RSA","kid":"a","n":"x","e":"AQAB","d":"s"}]}),
        ))
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("verification.jwks.keys[0].d"));
        let err = check_jwks(&obj(
            json!({"keys": [{"kty":"RSA","kid":"a"},{"kty":"RSA","kid":"a"}]}),
        ))
        .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("verification.jwks.keys[1].kid"));
        let err = check_jwks(&obj(json!({"keys": []}))).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("verification.jwks.keys"));
    }

    #[test]
    fn rsa_keys_with_a_weak_exponent_are_refused_at_upload() {
        // 1, 2, 0, 4 and 65536 (even); 3 and 65537 are fine.
        for e in ["AQ", "Ag", "AA", "", "BA", "AQAA", "AAE"] {
            let err = check_jwks(&obj(
                json!({"keys": [{"kty":"RSA","kid":"a","n":"x","e":e}]}),
            ))
            .unwrap_err();
            assert_eq!(
                err.param.as_deref(),
                Some("verification.jwks.keys[0].e"),
                "{e}"
            );
        }
        for e in ["Aw", "AQAB", "AAEAAQ"] {
            assert!(
                check_jwks(&obj(
                    json!({"keys": [{"kty":"RSA","kid":"a","n":"x","e":e}]})
                ))
                .is_ok(),
                "{e}"
            );
        }
    }

    #[test]
    fn provider_create_requires_fields_in_order() {
        let err = create_provider(&obj(json!({"issuer":"https://i","audience":"a"}))).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("name"));
        assert_eq!(err.code, Some("missing_required_parameter"));
        let err = create_provider(&obj(json!({"name":"","issuer":"https://i","audience":"a"})))
            .unwrap_err();
        assert_eq!(err.param.as_deref(), Some("name"));
        let err = create_provider(&obj(json!({"name":"n","issuer":7,"audience":"a"}))).unwrap_err();
        assert_eq!(err.code, Some("invalid_type"));
    }
}
