//! The Admin API routes under `/v1/organization`: workload identity
//! providers, federation rules, projects, project service accounts and
//! project API keys (list, retrieve, delete).
//! Every route needs `Authorization: Bearer <admin key>`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::Method;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::errors::ApiError;
use super::pagination::parse_list_query;
use super::{App, faults, ratelimit, stats, validate};
use openai_admin::models::{
    CreatedServiceAccount, Deleted, FederationRule, ListPage, Project, ProjectApiKey,
    ServiceAccount, WorkloadIdentityProvider,
};

type Reply<T> = Result<Json<T>, ApiError>;

/// The scope an admin key needs to change anything (reads need
/// `api.management.read`, which every admin key the emulator knows has).
pub(crate) const MANAGEMENT_WRITE_SCOPE: &str = "api.management.write";

pub fn routes(app: Arc<App>) -> Router<Arc<App>> {
    const PROVIDERS: &str = "/v1/organization/workload_identity_providers";
    const PROVIDER: &str = "/v1/organization/workload_identity_providers/{id}";
    const RULES: &str = "/v1/organization/workload_identity_providers/{id}/federation_rules";
    const RULE: &str =
        "/v1/organization/workload_identity_providers/{id}/federation_rules/{rule_id}";
    const PROJECTS: &str = "/v1/organization/projects";
    const PROJECT: &str = "/v1/organization/projects/{id}";
    const PROJECT_ARCHIVE: &str = "/v1/organization/projects/{id}/archive";
    const ACCOUNTS: &str = "/v1/organization/projects/{id}/service_accounts";
    const ACCOUNT: &str = "/v1/organization/projects/{id}/service_accounts/{sa_id}";
    const API_KEYS: &str = "/v1/organization/projects/{id}/api_keys";
    const API_KEY: &str = "/v1/organization/projects/{id}/api_keys/{key_id}";

    Router::new()
        .route(PROVIDERS, get(list_providers).post(create_provider))
        .route(
            PROVIDER,
            get(get_provider)
                .post(update_provider)
                .delete(delete_provider),
        )
        .route(RULES, get(list_rules).post(create_rule))
        .route(RULE, get(get_rule).post(update_rule).delete(delete_rule))
        .route(PROJECTS, get(list_projects).post(create_project))
        .route(PROJECT, get(get_project).post(update_project))
        .route(PROJECT_ARCHIVE, post(archive_project))
        .route(ACCOUNTS, get(list_accounts).post(create_account))
        .route(
            ACCOUNT,
            get(get_account).post(update_account).delete(delete_account),
        )
        .route(API_KEYS, get(list_api_keys))
        .route(API_KEY, get(get_api_key).delete(delete_api_key))
        .method_not_allowed_fallback(wrong_method)
        // Layers run bottom-up on the way in: stats, then latency/faults, then auth.
        .layer(middleware::from_fn_with_state(
            app.clone(),
            require_admin_key,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), faults::inject))
        .layer(middleware::from_fn_with_state(
            app.clone(),
            ratelimit::limit,
        ))
        .layer(middleware::from_fn_with_state(app, stats::count))
}

/// A known path with a method it does not take: OpenAI answers 404.
async fn wrong_method(req: Request) -> ApiError {
    ApiError::unknown_url(req.method().as_str(), req.uri().path())
}

/// Constant-time comparison, so response timing does not leak the key.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) async fn require_admin_key(
    State(app): State<Arc<App>>,
    req: Request,
    next: Next,
) -> Response {
    let presented = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty());
    let error = match presented {
        Some(token) if app.is_admin_key(token) => return next.run(req).await,
        Some(token) if app.is_read_only_admin_key(token) => {
            if matches!(*req.method(), Method::GET | Method::HEAD) {
                return next.run(req).await;
            }
            ApiError::missing_scopes(MANAGEMENT_WRITE_SCOPE, "")
        }
        None => ApiError::unauthorized(
            "You didn't provide an API key. Send your admin API key in an Authorization header using Bearer auth (Authorization: Bearer YOUR_ADMIN_KEY).",
            None,
        ),
        Some(token) if app.is_access_token(token) => ApiError::unauthorized(
            "Workload identity federation access tokens cannot call Admin API endpoints; use an admin API key.",
            Some("invalid_api_key"),
        ),
        Some(_) => ApiError::unauthorized(
            "Incorrect API key provided. Admin API endpoints need an admin API key.",
            Some("invalid_api_key"),
        ),
    };
    error.into_response()
}

// ---------------------------------------------------------------- providers

async fn create_provider(
    State(app): State<Arc<App>>,
    body: Bytes,
) -> Reply<WorkloadIdentityProvider> {
    let req = validate::create_provider(&validate::body_object(&body)?)?;
    app.write(|d, now| d.create_provider(req, now))
        .await
        .map(Json)
}

async fn list_providers(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> Reply<ListPage<WorkloadIdentityProvider>> {
    let (params, _) = parse_list_query(query.as_deref())?;
    app.with_data(|d| d.list_providers(&params)).map(Json)
}

async fn get_provider(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
) -> Reply<WorkloadIdentityProvider> {
    app.with_data(|d| d.get_provider(&id)).map(Json)
}

async fn update_provider(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<WorkloadIdentityProvider> {
    let req = validate::update_provider(&validate::body_object(&body)?)?;
    app.write(|d, now| d.update_provider(&id, req, now))
        .await
        .map(Json)
}

async fn delete_provider(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply<Deleted> {
    app.write(|d, _| d.delete_provider(&id)).await.map(Json)
}

// ---------------------------------------------------------------- federation rules

async fn create_rule(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<FederationRule> {
    let req = validate::create_rule(&validate::body_object(&body)?)?;
    app.write(|d, now| d.create_rule(&id, req, now))
        .await
        .map(Json)
}

async fn list_rules(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply<ListPage<FederationRule>> {
    let (params, rest) = parse_list_query(query.as_deref())?;
    let mut service_account_id = None;
    for (k, v) in rest {
        if k == "service_account_id" {
            if v.is_empty() {
                return Err(ApiError::invalid_value(
                    "service_account_id",
                    "'service_account_id' must be a non-empty service account id.",
                ));
            }
            service_account_id = Some(v);
        }
    }
    app.with_data(|d| d.list_rules(&id, &params, service_account_id.as_deref()))
        .map(Json)
}

async fn get_rule(
    State(app): State<Arc<App>>,
    Path((id, rule_id)): Path<(String, String)>,
) -> Reply<FederationRule> {
    app.with_data(|d| d.get_rule(&id, &rule_id)).map(Json)
}

async fn update_rule(
    State(app): State<Arc<App>>,
    Path((id, rule_id)): Path<(String, String)>,
    body: Bytes,
) -> Reply<FederationRule> {
    let req = validate::update_rule(&validate::body_object(&body)?)?;
    app.write(|d, now| d.update_rule(&id, &rule_id, req, now))
        .await
        .map(Json)
}

async fn delete_rule(
    State(app): State<Arc<App>>,
    Path((id, rule_id)): Path<(String, String)>,
) -> Reply<Deleted> {
    app.write(|d, _| d.delete_rule(&id, &rule_id))
        .await
        .map(Json)
}

// ---------------------------------------------------------------- projects

async fn create_project(State(app): State<Arc<App>>, body: Bytes) -> Reply<Project> {
    let req = validate::create_project(&validate::body_object(&body)?)?;
    app.write(|d, now| Ok(d.create_project(req, now)))
        .await
        .map(Json)
}

async fn list_projects(
    State(app): State<Arc<App>>,
    RawQuery(query): RawQuery,
) -> Reply<ListPage<Project>> {
    let (params, rest) = parse_list_query(query.as_deref())?;
    let include_archived = rest
        .iter()
        .any(|(k, v)| k == "include_archived" && v == "true");
    app.with_data(|d| d.list_projects(&params, include_archived))
        .map(Json)
}

async fn get_project(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply<Project> {
    app.with_data(|d| d.get_project(&id)).map(Json)
}

async fn update_project(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<Project> {
    let req = validate::update_project(&validate::body_object(&body)?)?;
    app.write(|d, _| d.update_project(&id, req)).await.map(Json)
}

async fn archive_project(State(app): State<Arc<App>>, Path(id): Path<String>) -> Reply<Project> {
    app.write(|d, now| d.archive_project(&id, now))
        .await
        .map(Json)
}

// ---------------------------------------------------------------- service accounts

async fn create_account(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<CreatedServiceAccount> {
    let req = validate::create_service_account(&validate::body_object(&body)?)?;
    app.write(|d, now| d.create_service_account(&id, req, now))
        .await
        .map(Json)
}

async fn list_accounts(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply<ListPage<ServiceAccount>> {
    let (params, _) = parse_list_query(query.as_deref())?;
    app.with_data(|d| d.list_service_accounts(&id, &params))
        .map(Json)
}

async fn get_account(
    State(app): State<Arc<App>>,
    Path((id, sa_id)): Path<(String, String)>,
) -> Reply<ServiceAccount> {
    app.with_data(|d| d.get_service_account(&id, &sa_id))
        .map(Json)
}

async fn update_account(
    State(app): State<Arc<App>>,
    Path((id, sa_id)): Path<(String, String)>,
    body: Bytes,
) -> Reply<ServiceAccount> {
    let req = validate::update_service_account(&validate::body_object(&body)?)?;
    app.write(|d, _| d.update_service_account(&id, &sa_id, req))
        .await
        .map(Json)
}

async fn delete_account(
    State(app): State<Arc<App>>,
    Path((id, sa_id)): Path<(String, String)>,
) -> Reply<Deleted> {
    app.write(|d, _| d.delete_service_account(&id, &sa_id))
        .await
        .map(Json)
}

// ---------------------------------------------------------------- project API keys

async fn list_api_keys(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply<ListPage<ProjectApiKey>> {
    let (params, _) = parse_list_query(query.as_deref())?;
    app.with_data(|d| d.list_project_api_keys(&id, &params))
        .map(Json)
}

async fn get_api_key(
    State(app): State<Arc<App>>,
    Path((id, key_id)): Path<(String, String)>,
) -> Reply<ProjectApiKey> {
    app.with_data(|d| d.get_project_api_key(&id, &key_id))
        .map(Json)
}

async fn delete_api_key(
    State(app): State<Arc<App>>,
    Path((id, key_id)): Path<(String, String)>,
) -> Reply<Deleted> {
    app.write(|d, _| d.delete_project_api_key(&id, &key_id))
        .await
        .map(Json)
}

/// `POST /_emulator/projects/{id}/user_api_keys {"name", "user": {"id", "email", ...}}`:
/// a key a dashboard user made, which the Admin API cannot create. Answers
/// the key and, once, its `value`.
pub async fn add_user_api_key(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default = "default_key_name")]
        name: String,
        user: openai_admin::models::ApiKeyOwnerUser,
    }
    fn default_key_name() -> String {
        "Secret Key".to_owned()
    }
    let body: Body = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_json(format!("Invalid user API key body: {e}")))?;
    let (key, value) = app
        .write(|d, now| d.add_user_api_key(&id, body.user, &body.name, now))
        .await?;
    let mut answer = serde_json::to_value(key).unwrap_or_default();
    answer["value"] = serde_json::Value::String(value);
    Ok(Json(answer))
}
