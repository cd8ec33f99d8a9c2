//! `GET /v1/models` with an exchanged access token: the one model API call
//! the provider makes, to prove that a token from the exchange works (its
//! service account has a project role and its scopes allow reading models).
//! It is not an Admin API call: the access token is the credential, and it
//! is never retried (a failure is the answer being checked).

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION};

use crate::body::{BodyError, read_limited};
use crate::client::{Client, MAX_EXCHANGE_BODY_BYTES};
use crate::error::chain;
use crate::models::ErrorEnvelope;
use crate::redact::Redactor;
use crate::secret::Secret;

/// What `GET /v1/models` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelsAnswer {
    pub status: StatusCode,
    /// How many models a 2xx listed (`None` when the body had no `data` list).
    pub models: Option<usize>,
    /// The error envelope's `code` and `message` of a non-2xx answer,
    /// scrubbed of the token.
    pub code: Option<String>,
    pub message: Option<String>,
}

impl Client {
    /// Lists models with `token` as the bearer credential. `Err` is a text
    /// for a request that got no answer (it never holds the token).
    pub async fn list_models(&self, token: &Secret) -> Result<ModelsAnswer, String> {
        let mut url = self.config().base_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| "base_url cannot hold a path".to_owned())?
            .pop_if_empty()
            .push("models");
        let redactor = Redactor::new().with_secret(token);
        let request = self
            .http()
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .send();
        let cancel = &self.config().cancel;
        let response = tokio::select! {
            r = request => r.map_err(|e| format!("GET {url} failed: {}", redactor.redact(&chain(&e))))?,
            () = cancel.cancelled() => return Err(format!("GET {url} was cancelled because the operation is being stopped")),
        };
        let status = response.status();
        let body = read_limited(response, MAX_EXCHANGE_BODY_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge(limit) => {
                    format!("GET {url} answered with a body longer than {limit} bytes")
                }
                BodyError::Transport(e) => {
                    format!("GET {url} failed: {}", redactor.redact(&chain(&e)))
                }
            })?;
        if status.is_success() {
            let models = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("data")?.as_array().map(Vec::len));
            return Ok(ModelsAnswer {
                status,
                models,
                code: None,
                message: None,
            });
        }
        let envelope = serde_json::from_slice::<ErrorEnvelope>(&body).ok();
        Ok(ModelsAnswer {
            status,
            models: None,
            code: envelope
                .as_ref()
                .and_then(|e| e.error.code.as_deref().map(|c| redactor.redact(c))),
            message: envelope.map(|e| redactor.redact(&e.error.message)),
        })
    }
}
