//! Response bodies are read with a byte limit: an endless body from the
//! Admin API or the token exchange ends in a typed error, not in memory
//! growing until the request times out.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use openai_admin::models::{GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_JWT, TokenExchangeRequest};
use openai_admin::{ApiError, Client, ClientConfig, ExchangeError, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

/// A loopback server answering every request with 200 and a chunked body
/// that never ends; counts the bytes it managed to write.
async fn endless() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let written = Arc::new(AtomicUsize::new(0));
    let w = written.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let w = w.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 8192];
                let _ = s.read(&mut buf).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if s.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 65536, " ".repeat(65536));
                while s.write_all(chunk.as_bytes()).await.is_ok() {
                    w.fetch_add(65536, Ordering::SeqCst);
                }
            });
        }
    });
    (url, written)
}

fn client(url: &str) -> Client {
    Client::new(ClientConfig {
        base_url: Url::parse(&format!("{url}/v1")).unwrap(),
        token_exchange_url: Url::parse(&format!("{url}/oauth/token")).unwrap(),
        admin_key: Some(Secret::new("sk-admin-test")),
        // Long enough that only the limit can end the read.
        request_timeout: Duration::from_secs(600),
        max_retries: 0,
        ..ClientConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn an_endless_admin_api_body_is_refused_at_the_limit() {
    let (url, written) = endless().await;
    let err = client(&url).get_provider("wip_1").await.unwrap_err();
    assert!(
        matches!(err, ApiError::TooLarge { limit, .. } if limit == openai_admin::client::MAX_ADMIN_BODY_BYTES),
        "{err:?}"
    );
    assert!(err.to_string().contains("body longer than"), "{err}");
    assert!(written.load(Ordering::SeqCst) < 2 * openai_admin::client::MAX_ADMIN_BODY_BYTES);
}

#[tokio::test]
async fn an_endless_token_exchange_body_is_refused_at_the_limit() {
    let (url, _) = endless().await;
    let err = client(&url)
        .exchange_token(&TokenExchangeRequest {
            grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
            subject_token_type: TOKEN_TYPE_JWT.into(),
            subject_token: "a.b.c".into(),
            identity_provider_id: "wip_1".into(),
            service_account_id: "sa_1".into(),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExchangeError::TooLarge { limit, .. } if limit == openai_admin::client::MAX_EXCHANGE_BODY_BYTES),
        "{err:?}"
    );
}

/// A loopback list endpoint that always answers a full page and
/// `has_more: true` with a fresh cursor; counts the pages it served.
async fn endless_listing() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let served = Arc::new(AtomicUsize::new(0));
    let n = served.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            let n = n.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 8192];
                // Keep-alive: one answer per request on the connection.
                while matches!(s.read(&mut buf).await, Ok(k) if k > 0) {
                    let page = n.fetch_add(1, Ordering::SeqCst);
                    let data: Vec<_> = (0..100)
                        .map(|i| {
                            serde_json::json!({"object": "organization.project", "id": format!("proj_{page}_{i}"),
                            "name": "p", "created_at": 1, "status": "active"})
                        })
                        .collect();
                    let body = serde_json::json!({"object": "list", "data": data,
                        "first_id": format!("proj_{page}_0"), "last_id": format!("proj_{page}_99"),
                        "has_more": true})
                    .to_string();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if s.write_all(head.as_bytes()).await.is_err()
                        || s.write_all(body.as_bytes()).await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    (url, served)
}

#[tokio::test]
async fn an_endless_listing_ends_in_a_clear_error() {
    let (url, served) = endless_listing().await;
    let err = client(&url).list_all_projects().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApiError::Pagination { .. }), "{err:?}");
    assert!(text.contains("GET /organization/projects"), "{text}");
    assert!(
        text.contains(&format!(
            "more than {} items",
            openai_admin::pagination::MAX_ITEMS
        )),
        "{text}"
    );
    // 100 items a page: the item cap ends it on the page past it.
    assert_eq!(
        served.load(Ordering::SeqCst),
        openai_admin::pagination::MAX_ITEMS / 100 + 1
    );
}
