//! The client's debug logs, through a thread-local subscriber. `tracing`
//! caches per-callsite interest process-wide, and another test's thread may
//! register a callsite while this one installs its subscriber (caching
//! "never"), so the cache is rebuilt once setup is done.

use crate::support::*;
use openai_admin::models::*;
use reqwest::Method;

const PROVIDERS: &str = "/organization/workload_identity_providers";

fn exchange_request(x: &Exchange, subject_token: &str) -> TokenExchangeRequest {
    TokenExchangeRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
        subject_token_type: TOKEN_TYPE_JWT.into(),
        subject_token: subject_token.into(),
        identity_provider_id: x.provider_id.clone(),
        service_account_id: x.service_account_id.clone(),
    }
}

#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_show_requests_but_no_secrets() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let x = api.seed_exchange().await;
    let good_token = api.subject_token(REPOSITORY);
    let other_token = api.subject_token("evil/repo");
    api.fault(Method::GET, &format!("{PROVIDERS}/{}", p.id), status(503));
    // Every concurrent first registration is long over (the emulator's key
    // generation alone takes a while): recompute with this subscriber.
    tracing::callsite::rebuild_interest_cache();
    let client = api.client();
    client.get_provider(&p.id).await.unwrap();
    let access = client
        .exchange_token(&exchange_request(&x, &good_token))
        .await
        .unwrap();
    let refused = client
        .exchange_token(&exchange_request(&x, &other_token))
        .await;
    assert!(refused.is_err(), "{refused:?}");

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("openai api response"), "{text}");
    assert!(text.contains("retrying openai api request"), "{text}");
    assert!(text.contains(&format!(
        "/organization/workload_identity_providers/{}",
        p.id
    )));
    for secret in [
        ADMIN_KEY,
        good_token.as_str(),
        other_token.as_str(),
        access.access_token.as_str(),
    ] {
        assert!(!text.contains(secret), "log leaks {secret}:\n{text}");
    }
}
