//! `GET /v1/models`: the one model API endpoint, so a keyless setup can be
//! shown to *work* (not only to exchange). It takes access tokens from the
//! exchange (`docs/reference/openai-api.md#service-account-roles`), and
//! project API keys, whose every use sets the key's `last_used_at` (so that
//! a check for static keys still in use can be tested offline):
//! - 200 and a short model list when the token's service account still
//!   exists, has a project role, and the token's scopes (if restricted)
//!   include `api.model.read`;
//! - 401 "You have insufficient permissions... Missing scopes: api.model.read"
//!   (`code: null`, as OpenAI answers a missing scope) when the account has
//!   no role (`none`) or the scopes exclude it;
//! - 401 for a missing, unknown (an admin key included) or expired token,
//!   or one whose service account was deleted.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::App;
use super::errors::ApiError;
use super::store::KeyUser;
use openai_admin::models::SERVICE_ACCOUNT_ROLE_NONE;

/// The scope a restricted token needs to list models.
pub const MODEL_READ_SCOPE: &str = "api.model.read";

/// What the emulator lists: a few ids in OpenAI's model object shape.
const MODELS: [(&str, i64); 3] = [
    ("gpt-4o-mini", 1_721_172_741),
    ("gpt-4.1", 1_744_316_542),
    ("text-embedding-3-small", 1_705_948_997),
];

pub async fn list_models(State(app): State<Arc<App>>, req: Request) -> Response {
    let by_key = match bearer(&req) {
        Some(presented) => authorize_api_key(&app, presented).await,
        None => None,
    };
    match by_key.unwrap_or_else(|| authorize(&app, &req)) {
        Ok(()) => Json(json!({
            "object": "list",
            "data": MODELS
                .iter()
                .map(|(id, created)| json!({
                    "id": id,
                    "object": "model",
                    "created": created,
                    "owned_by": "system",
                }))
                .collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// The bearer credential of a request, if any.
fn bearer(req: &Request) -> Option<&str> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
}

/// A project API key: its use is recorded (`last_used_at`), and it acts
/// with its service account's role. `None` when `presented` is no key.
async fn authorize_api_key(app: &App, presented: &str) -> Option<Result<(), ApiError>> {
    let user = app
        .write(|d, now| Ok(d.use_api_key(presented, now)))
        .await
        .ok()
        .flatten()?;
    Some(match user {
        KeyUser::ServiceAccount { id, role } if role == SERVICE_ACCOUNT_ROLE_NONE => {
            Err(ApiError::missing_scopes(
                MODEL_READ_SCOPE,
                &format!(
                    "(Emulator: service account '{id}' has no role in its project; give it the role 'member' or 'owner'.)"
                ),
            ))
        }
        KeyUser::ServiceAccount { .. } | KeyUser::User => Ok(()),
    })
}

fn authorize(app: &App, req: &Request) -> Result<(), ApiError> {
    let Some(presented) = bearer(req) else {
        return Err(ApiError::unauthorized(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            None,
        ));
    };
    let incorrect = || {
        ApiError::unauthorized(
            "Incorrect API key provided. This endpoint takes an access token from the workload identity token exchange.",
            Some("invalid_api_key"),
        )
    };
    let token = app.access_token(presented).ok_or_else(incorrect)?;
    if token.expires_at <= app.now() {
        return Err(ApiError::unauthorized(
            "The access token has expired; exchange a new one.",
            Some("invalid_api_key"),
        ));
    }
    let role = app.with_data(|d| {
        d.service_account(&token.service_account_id)
            .map(|sa| sa.account.role.clone())
    });
    let role = role.ok_or_else(incorrect)?;
    if role == SERVICE_ACCOUNT_ROLE_NONE {
        return Err(ApiError::missing_scopes(
            MODEL_READ_SCOPE,
            &format!(
                "(Emulator: service account '{}' has no role in its project; give it the role 'member' or 'owner'.)",
                token.service_account_id
            ),
        ));
    }
    if let Some(scopes) = &token.scopes {
        if !scopes.iter().any(|s| s == MODEL_READ_SCOPE) {
            return Err(ApiError::missing_scopes(MODEL_READ_SCOPE, ""));
        }
    }
    Ok(())
}
