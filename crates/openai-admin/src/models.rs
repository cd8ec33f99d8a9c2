//! Serde models of the OpenAI Admin API objects for Workload Identity
//! Federation, projects and project service accounts, and of the token
//! exchange. Shared by the client and the emulator so the two cannot drift.
//! Shapes follow `docs/reference/openai-api.md#endpoints`, `#objects`, `#token-exchange`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

pub const OBJECT_PROVIDER: &str = "organization.workload_identity_provider";
pub const OBJECT_PROVIDER_DELETED: &str = "organization.workload_identity_provider.deleted";
pub const OBJECT_RULE: &str = "organization.workload_identity_federation_rule";
pub const OBJECT_RULE_DELETED: &str = "organization.workload_identity_federation_rule.deleted";
pub const OBJECT_PROJECT: &str = "organization.project";
pub const OBJECT_SERVICE_ACCOUNT: &str = "organization.project.service_account";
pub const OBJECT_SERVICE_ACCOUNT_DELETED: &str = "organization.project.service_account.deleted";

/// Documented limits (`docs/reference/openai-api.md#limits`). The provider's plan-time checks
/// default to these.
pub const MAX_PROVIDERS_PER_ORG: usize = 50;
pub const MAX_RULES_PER_PROVIDER: usize = 50;
pub const MAX_ATTRIBUTE_TRANSFORMATIONS: usize = 20;
pub const MAX_TRANSFORMATION_ATTRIBUTE_LEN: usize = 256;
pub const MAX_TRANSFORMATION_EXPRESSION_LEN: usize = 4096;
pub const LIST_LIMIT_MAX: u32 = 100;
pub const LIST_LIMIT_DEFAULT: u32 = 20;

pub const GRANT_TYPE_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

// ---------------------------------------------------------------- common

/// `{"object":"list","data":[...],"first_id","last_id","has_more"}`
/// (`docs/reference/openai-api.md#lists-and-pagination`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListPage<T> {
    pub object: String,
    pub data: Vec<T>,
    pub first_id: Option<String>,
    pub last_id: Option<String>,
    pub has_more: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Query parameters shared by every list endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListParams {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<SortOrder>,
}

/// `{"object": "...deleted", "id": "...", "deleted": true}`
/// (`docs/reference/openai-api.md#delete-responses`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deleted {
    pub object: String,
    pub id: String,
    pub deleted: bool,
}

/// The Admin API error envelope (`docs/reference/openai-api.md#error-envelope`):
/// `{"error":{"message","type","param","code"}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub message: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

// ---------------------------------------------------------------- providers

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeTransformation {
    pub attribute: String,
    pub expression: String,
}

/// Where signing keys come from (`docs/reference/openai-api.md#key-sources`). Discriminated by
/// `type`. A `type` this crate does not know (e.g. `x509_ca`) decodes into `Unknown` with the
/// original object kept, so one such provider cannot fail a whole listing.
#[derive(Clone, Debug, PartialEq)]
pub enum Verification {
    /// `discovery_url: null` means `<issuer>/.well-known/openid-configuration`.
    Discovery {
        discovery_url: Option<String>,
    },
    UploadedJwks {
        jwks: Map<String, Json>,
    },
    /// The raw object, `type` included; serialises back unchanged.
    Unknown {
        kind: String,
        raw: Map<String, Json>,
    },
}

/// The known variants, derived; `Verification`'s impls route through it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownVerification {
    Discovery {
        #[serde(default)]
        discovery_url: Option<String>,
    },
    UploadedJwks {
        jwks: Map<String, Json>,
    },
}

impl Verification {
    /// The `type` string as the API spells it.
    pub fn kind(&self) -> &str {
        match self {
            Verification::Discovery { .. } => "discovery",
            Verification::UploadedJwks { .. } => "uploaded_jwks",
            Verification::Unknown { kind, .. } => kind,
        }
    }
}

impl Serialize for Verification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.clone() {
            Verification::Discovery { discovery_url } => {
                KnownVerification::Discovery { discovery_url }.serialize(s)
            }
            Verification::UploadedJwks { jwks } => {
                KnownVerification::UploadedJwks { jwks }.serialize(s)
            }
            Verification::Unknown { kind, raw } => tagged_raw(kind, raw).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Verification {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, raw) = split_tag(Map::deserialize(d)?, "discovery");
        match kind.as_str() {
            "discovery" | "uploaded_jwks" => {
                match KnownVerification::deserialize(Json::Object(tagged_raw(kind, raw)))
                    .map_err(serde::de::Error::custom)?
                {
                    KnownVerification::Discovery { discovery_url } => {
                        Ok(Verification::Discovery { discovery_url })
                    }
                    KnownVerification::UploadedJwks { jwks } => {
                        Ok(Verification::UploadedJwks { jwks })
                    }
                }
            }
            _ => Ok(Verification::Unknown { kind, raw }),
        }
    }
}

/// Takes `type` out of a tagged object; `default` when it is absent (the API's own default).
fn split_tag(mut raw: Map<String, Json>, default: &str) -> (String, Map<String, Json>) {
    let kind = match raw.remove("type") {
        Some(Json::String(kind)) => kind,
        Some(other) => other.to_string(),
        None => default.to_owned(),
    };
    (kind, raw)
}

fn tagged_raw(kind: String, mut raw: Map<String, Json>) -> Map<String, Json> {
    raw.insert("type".to_owned(), Json::String(kind));
    raw
}

impl Default for Verification {
    fn default() -> Self {
        Verification::Discovery {
            discovery_url: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkloadIdentityProvider {
    pub object: String,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub issuer: String,
    pub audience: String,
    pub enabled: bool,
    pub verification: Verification,
    #[serde(default)]
    pub attribute_transformations: Vec<AttributeTransformation>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateProviderRequest {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    /// Always `"oidc"`; the schema lists it as required
    /// (`docs/reference/openai-api.md#provider-endpoints`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_transformations: Option<Vec<AttributeTransformation>>,
}

/// Partial update (POST): absent fields keep their stored value.
/// `description` is tri-state: absent, `null` (clear), or a string.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateProviderRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_transformations: Option<Vec<AttributeTransformation>>,
}

// ---------------------------------------------------------------- federation rules

/// `{"type":"service_account_default"}` or `{"type":"restricted","scopes":[...]}`
/// (`docs/reference/openai-api.md#permissions-and-scopes`). An unknown `type` decodes into
/// `Unknown` with the original object kept.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Permissions {
    #[default]
    ServiceAccountDefault,
    Restricted {
        scopes: Vec<String>,
    },
    /// The raw object, `type` included; serialises back unchanged.
    Unknown {
        kind: String,
        raw: Map<String, Json>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum KnownPermissions {
    ServiceAccountDefault,
    Restricted { scopes: Vec<String> },
}

impl Permissions {
    /// The `type` string as the API spells it.
    pub fn kind(&self) -> &str {
        match self {
            Permissions::ServiceAccountDefault => "service_account_default",
            Permissions::Restricted { .. } => "restricted",
            Permissions::Unknown { kind, .. } => kind,
        }
    }
}

impl Serialize for Permissions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.clone() {
            Permissions::ServiceAccountDefault => {
                KnownPermissions::ServiceAccountDefault.serialize(s)
            }
            Permissions::Restricted { scopes } => {
                KnownPermissions::Restricted { scopes }.serialize(s)
            }
            Permissions::Unknown { kind, raw } => tagged_raw(kind, raw).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (kind, raw) = split_tag(Map::deserialize(d)?, "service_account_default");
        match kind.as_str() {
            "service_account_default" | "restricted" => {
                match KnownPermissions::deserialize(Json::Object(tagged_raw(kind, raw)))
                    .map_err(serde::de::Error::custom)?
                {
                    KnownPermissions::ServiceAccountDefault => {
                        Ok(Permissions::ServiceAccountDefault)
                    }
                    KnownPermissions::Restricted { scopes } => {
                        Ok(Permissions::Restricted { scopes })
                    }
                }
            }
            _ => Ok(Permissions::Unknown { kind, raw }),
        }
    }
}

/// Matcher values are JSON scalars (string, bool or number), kept as JSON so
/// their type survives a round trip.
pub type AttributeMatchers = Map<String, Json>;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FederationRule {
    pub object: String,
    pub id: String,
    pub workload_identity_provider_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: bool,
    pub project_id: String,
    pub service_account_id: String,
    pub attribute_matchers: AttributeMatchers,
    pub permissions: Permissions,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateRuleRequest {
    pub project_id: String,
    pub service_account_id: String,
    pub attribute_matchers: AttributeMatchers,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// Partial update (POST). `project_id`/`service_account_id` cannot change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateRuleRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_matchers: Option<AttributeMatchers>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub name: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "double_option"
    )]
    pub description: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

/// Rule list query: the common params plus the `service_account_id` filter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ListRulesParams {
    #[serde(flatten)]
    pub page: ListParams,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account_id: Option<String>,
}

// ---------------------------------------------------------------- projects

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Project {
    pub object: String,
    pub id: String,
    /// Documented as nullable.
    #[serde(default)]
    pub name: Option<String>,
    pub created_at: i64,
    #[serde(default)]
    pub archived_at: Option<i64>,
    /// Documented as nullable (`active` / `archived` when present).
    #[serde(default)]
    pub status: Option<String>,
    /// The external key of the project, when it has one (OpenAI's SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key_id: Option<String>,
    /// The residency configuration (`GLOBAL`, `EU_STORAGE_PROCESSING`, ...), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<String>,
}

/// Body of `POST /organization/projects`: `name`, and the optional fields
/// OpenAI's SDK documents (the provider sends only `name`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateProjectRequest {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub residency: Option<String>,
    /// Deprecated by OpenAI in favour of `residency`; not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography: Option<String>,
}

/// Body of `POST /organization/projects/{project_id}` (OpenAI's SDK): the
/// fields to change; `null` clears `external_key_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateProjectRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_key_id: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geography: Option<String>,
}

/// The residency configurations OpenAI's SDK lists for projects.
pub const PROJECT_RESIDENCIES: [&str; 15] = [
    "GLOBAL",
    "US_STORAGE_PROCESSING",
    "EU_STORAGE_PROCESSING",
    "JP_STORAGE",
    "JP_STORAGE_PROCESSING",
    "KR_STORAGE",
    "CA_STORAGE",
    "SG_STORAGE",
    "IN_STORAGE",
    "IN_STORAGE_PROCESSING",
    "AU_STORAGE",
    "AU_STORAGE_PROCESSING",
    "GB_STORAGE",
    "AE_STORAGE",
    "AE_STORAGE_PROCESSING",
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccount {
    pub object: String,
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateServiceAccountRequest {
    pub name: String,
    /// Create the account without an API key (keyless, for WIF).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_service_account_only: bool,
    /// Seconds until the initial API key expires (not with
    /// `create_service_account_only`); OpenAI's SDK documents it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    /// The key's monthly hard spend limit,
    /// `{"currency": "USD", "interval": "month", "threshold_amount": <cents>}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_limit: Option<serde_json::Value>,
}

/// The project roles a service account can be given
/// (`docs/reference/openai-api.md#service-account-roles`).
pub const SERVICE_ACCOUNT_ROLES: [&str; 2] = ["member", "owner"];
/// The role OpenAI reports for an account created with
/// `create_service_account_only` until one is set: it cannot call any API.
pub const SERVICE_ACCOUNT_ROLE_NONE: &str = "none";

/// Body of `POST /organization/projects/{project_id}/service_accounts/{id}`:
/// only the fields set change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateServiceAccountRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `member` or `owner`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// Create response: the account, plus an `api_key` unless
/// `create_service_account_only` was set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreatedServiceAccount {
    pub object: String,
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<ServiceAccountApiKey>,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceAccountApiKey {
    pub object: String,
    pub value: String,
    pub name: String,
    pub created_at: i64,
    pub id: String,
    /// When the key expires (`expires_in_seconds` at create); absent or null: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spend_limit: Option<serde_json::Value>,
}

impl std::fmt::Debug for ServiceAccountApiKey {
    // The key value is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountApiKey")
            .field("id", &self.id)
            .field("value", &"***")
            .finish()
    }
}

// ---------------------------------------------------------------- project API keys

pub const OBJECT_PROJECT_API_KEY: &str = "organization.project.api_key";
pub const OBJECT_PROJECT_API_KEY_DELETED: &str = "organization.project.api_key.deleted";
/// `owner.type` of a key a project service account owns.
pub const API_KEY_OWNER_SERVICE_ACCOUNT: &str = "service_account";
/// `owner.type` of a key a user owns.
pub const API_KEY_OWNER_USER: &str = "user";

/// A project API key as the Admin API lists it
/// (`GET /organization/projects/{project_id}/api_keys`). It carries the key's
/// redacted value only, never the key. Fields OpenAI added later (or may
/// leave out) are optional, so older and newer answers both decode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProjectApiKey {
    pub object: String,
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub redacted_value: String,
    pub created_at: i64,
    /// Unix seconds of the last use; `None` for a key never used.
    #[serde(default)]
    pub last_used_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// `active` or `inactive`: whether the owner still has access to the project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_project_access: Option<String>,
    #[serde(default)]
    pub owner: ApiKeyOwner,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyOwner {
    /// `user` or `service_account`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<ApiKeyOwnerUser>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<ApiKeyOwnerServiceAccount>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyOwnerUser {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyOwnerServiceAccount {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

impl ProjectApiKey {
    /// `user` or `service_account`, from `owner.type`, or from which owner
    /// object is present when a server leaves the type out.
    pub fn owner_kind(&self) -> Option<&str> {
        self.owner
            .kind
            .as_deref()
            .or(if self.owner.service_account.is_some() {
                Some(API_KEY_OWNER_SERVICE_ACCOUNT)
            } else if self.owner.user.is_some() {
                Some(API_KEY_OWNER_USER)
            } else {
                None
            })
    }
}

// ---------------------------------------------------------------- token exchange

/// Token exchange request body (`docs/reference/openai-api.md#token-exchange-request`). JSON, no
/// Authorization header.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenExchangeRequest {
    pub grant_type: String,
    pub subject_token_type: String,
    pub subject_token: String,
    pub identity_provider_id: String,
    pub service_account_id: String,
}

impl std::fmt::Debug for TokenExchangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchangeRequest")
            .field("identity_provider_id", &self.identity_provider_id)
            .field("service_account_id", &self.service_account_id)
            .field("subject_token", &"***")
            .finish()
    }
}

/// Success response (`docs/reference/openai-api.md#token-exchange-response`). `scope` only for
/// restricted permissions.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenExchangeResponse {
    pub access_token: String,
    /// Optional: SDKs do not require it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
    pub token_type: String,
    /// Seconds. Accepted as an integer or a float (rounded down, so the token is never
    /// believed to outlive its real expiry); absent means 3600, as the SDKs assume.
    #[serde(default = "default_expires_in", deserialize_with = "lenient_seconds")]
    pub expires_in: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenExchangeResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenExchangeResponse")
            .field("access_token", &"***")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The lifetime SDKs assume when `expires_in` is absent.
pub const DEFAULT_EXPIRES_IN_SECS: i64 = 3600;

fn default_expires_in() -> i64 {
    DEFAULT_EXPIRES_IN_SECS
}

fn lenient_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Option::<Json>::deserialize(d)? {
        None | Some(Json::Null) => Ok(DEFAULT_EXPIRES_IN_SECS),
        Some(Json::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            // `as` saturates for out-of-range floats; callers clamp anyway.
            (None, Some(f)) if f.is_finite() => Ok(f.floor() as i64),
            _ => Err(serde::de::Error::custom(format!(
                "expires_in {n} is not a usable number of seconds"
            ))),
        },
        Some(other) => Err(serde::de::Error::custom(format!(
            "expires_in must be a number of seconds, got {other}"
        ))),
    }
}

/// OAuth error body (`docs/reference/openai-api.md#token-exchange-refusals`):
/// `{"error": "...", "error_description": "..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: Option<String>,
}

/// Serde helper for tri-state fields: absent / `null` / value.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S, T>(value: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn verification_union_round_trips() {
        let d: Verification =
            serde_json::from_value(json!({"type":"discovery","discovery_url":null})).unwrap();
        assert_eq!(
            d,
            Verification::Discovery {
                discovery_url: None
            }
        );
        let j: Verification =
            serde_json::from_value(json!({"type":"uploaded_jwks","jwks":{"keys":[]}})).unwrap();
        assert!(matches!(j, Verification::UploadedJwks { .. }));
        assert_eq!(
            serde_json::to_value(&j).unwrap(),
            json!({"type":"uploaded_jwks","jwks":{"keys":[]}})
        );
    }

    #[test]
    fn update_description_is_tri_state() {
        let absent = UpdateProviderRequest::default();
        assert_eq!(serde_json::to_value(&absent).unwrap(), json!({}));
        let clear = UpdateProviderRequest {
            description: Some(None),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&clear).unwrap(),
            json!({"description": null})
        );
        let parsed: UpdateProviderRequest =
            serde_json::from_value(json!({"description": null})).unwrap();
        assert_eq!(parsed.description, Some(None));
        let parsed: UpdateProviderRequest = serde_json::from_value(json!({})).unwrap();
        assert_eq!(parsed.description, None);
    }

    #[test]
    fn permissions_union() {
        let r: Permissions =
            serde_json::from_value(json!({"type":"restricted","scopes":["api.model.read"]}))
                .unwrap();
        assert_eq!(
            r,
            Permissions::Restricted {
                scopes: vec!["api.model.read".into()]
            }
        );
        assert_eq!(
            serde_json::to_value(Permissions::ServiceAccountDefault).unwrap(),
            json!({"type":"service_account_default"})
        );
    }
}
