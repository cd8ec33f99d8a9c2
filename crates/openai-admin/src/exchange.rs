//! The token exchange: trade an external OIDC token for a short-lived OpenAI
//! access token (`docs/reference/openai-api.md#token-exchange`). JSON body, no
//! `Authorization` header, OAuth-style errors.

use reqwest::Method;

use crate::client::{Client, Outcome, Request, Stop, body_excerpt, decode_detail};
use crate::error::{ExchangeError, chain};
use crate::models::{OAuthError, TokenExchangeRequest, TokenExchangeResponse};
use crate::secret::Secret;

impl Client {
    /// Retried on 429, 5xx and connection failures like an idempotent
    /// request: an exchange mints a token but creates no object, so a repeat
    /// cannot duplicate anything.
    pub async fn exchange_token(
        &self,
        body: &TokenExchangeRequest,
    ) -> Result<TokenExchangeResponse, ExchangeError> {
        let url = self.inner.config.token_exchange_url.clone();
        let url_text = url.to_string();
        let bytes = serde_json::to_vec(body).map_err(|e| {
            ExchangeError::Config(format!("could not encode the token exchange request: {e}"))
        })?;
        let req = Request {
            method: Method::POST,
            path: url.path().to_owned(),
            route: format!("POST {}", url.path()),
            url,
            body: Some(bytes),
            admin: false,
            secrets: vec![Secret::new(body.subject_token.as_str())],
        };
        let run = self.run(&req).await;
        match run.outcome {
            Outcome::Reply(reply) if reply.status.is_success() => {
                serde_json::from_slice(&reply.body).map_err(|e| ExchangeError::Decode {
                    url: url_text,
                    status: reply.status,
                    request_id: reply.request_id(),
                    detail: reply.scrub(&decode_detail(&e)),
                })
            }
            Outcome::Reply(reply) => {
                let request_id = reply.request_id();
                match serde_json::from_slice::<OAuthError>(&reply.body) {
                    // Scrubbed again after decoding: JSON escapes hide a
                    // token from the scrub of the raw body.
                    Ok(oauth) if !oauth.error.is_empty() => Err(ExchangeError::OAuth {
                        url: url_text,
                        status: reply.status,
                        error: reply.scrub(&oauth.error),
                        error_description: oauth.error_description.map(|d| reply.scrub(&d)),
                        request_id,
                    }),
                    _ => Err(ExchangeError::Status {
                        url: url_text,
                        status: reply.status,
                        detail: body_excerpt(&reply.body).map(|d| reply.scrub(&d)),
                        request_id,
                    }),
                }
            }
            Outcome::Transport(source) => Err(ExchangeError::Transport {
                url: url_text,
                attempts: run.attempts,
                detail: chain(&source),
                source,
            }),
            Outcome::Stopped(Stop::RateLimitBudget {
                waited, next_wait, ..
            }) => Err(ExchangeError::RateLimited {
                url: url_text,
                attempts: run.attempts,
                waited_secs: waited.as_secs(),
                next_wait_secs: next_wait.as_secs_f64().ceil() as u64,
            }),
            Outcome::Stopped(Stop::Cancelled { .. }) => {
                Err(ExchangeError::Cancelled { url: url_text })
            }
            Outcome::TooLarge { status, limit } => Err(ExchangeError::TooLarge {
                url: url_text,
                status,
                limit,
            }),
        }
    }
}
