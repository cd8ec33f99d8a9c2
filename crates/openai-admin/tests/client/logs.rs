//! The client's debug logs, in a test binary of their own: `tracing`
//! caches per-callsite interest process-wide, so a thread-local subscriber
//! is only reliable when no other test runs in the same process.

use crate::support::*;
use axum::http::Method;
use openai_admin::models::*;

const PROVIDERS: &str = "/organization/workload_identity_providers";

fn exchange_request(subject_token: &str) -> TokenExchangeRequest {
    TokenExchangeRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
        subject_token_type: TOKEN_TYPE_JWT.into(),
        subject_token: subject_token.into(),
        identity_provider_id: "wip_1".into(),
        service_account_id: "svc_acct_1".into(),
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

    let api = FakeApi::start().await;
    let p = api.seed_provider("prod");
    api.fault(
        Method::GET,
        &format!("{PROVIDERS}/{}", p.id),
        Fault::status(503),
    );
    let client = api.client();
    client.get_provider(&p.id).await.unwrap();
    client
        .exchange_token(&exchange_request(GOOD_SUBJECT_TOKEN))
        .await
        .unwrap();
    let _ = client
        .exchange_token(&exchange_request("other-secret-token"))
        .await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("openai api response"), "{text}");
    assert!(text.contains("retrying openai api request"), "{text}");
    assert!(text.contains(&format!(
        "/organization/workload_identity_providers/{}",
        p.id
    )));
    for secret in [
        ADMIN_KEY,
        GOOD_SUBJECT_TOKEN,
        "other-secret-token",
        "wif-access-token",
    ] {
        assert!(!text.contains(secret), "log leaks {secret}:\n{text}");
    }
}
