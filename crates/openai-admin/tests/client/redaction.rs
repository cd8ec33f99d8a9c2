//! Secrets a server echoes never reach an error: a gateway that repeats the
//! `Authorization` header, and a token endpoint that repeats the subject
//! token whole, cut, or only its signature.

use std::sync::Arc;
use std::time::Duration;

use openai_admin::models::{GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_JWT, TokenExchangeRequest};
use openai_admin::redact::{MARKER, MIN_RUN};
use openai_admin::{Client, ClientConfig, Secret};
use reqwest::Url;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk-admin-echo-0123456789abcdefghijklmnopqrstuv";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJzdWIiOiJ3b3JrbG9hZCIsImF1ZCI6ImEifQ.c2lnbmF0dXJlLXNlZ21lbnQtdGhhdC1pcy1zZWNyZXQtYW5kLWxvbmc";

type Answer = dyn Fn(&str) -> (u16, String) + Send + Sync;

/// Answers every request with `answer(whole request text)`.
async fn echo_server(answer: Arc<Answer>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let len = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                let (status, body) = answer(&String::from_utf8_lossy(&buf));
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr
}

fn client(addr: std::net::SocketAddr) -> Client {
    Client::new(ClientConfig {
        base_url: Url::parse(&format!("http://{addr}/v1")).unwrap(),
        token_exchange_url: Url::parse(&format!("http://{addr}/oauth/token")).unwrap(),
        admin_key: Some(Secret::new(KEY)),
        request_timeout: Duration::from_secs(5),
        max_retries: 0,
        ..ClientConfig::default()
    })
    .unwrap()
}

/// Neither secret, nor any run of `MIN_RUN` characters of one, is in `text`.
fn assert_clean(text: &str) {
    for secret in [KEY, TOKEN] {
        for w in secret.as_bytes().windows(MIN_RUN) {
            let w = std::str::from_utf8(w).unwrap();
            assert!(!text.contains(w), "{w:?} of a secret in {text}");
        }
    }
}

fn header_line<'a>(request: &'a str, name: &str) -> &'a str {
    request
        .lines()
        .find(|l| l.to_lowercase().starts_with(name))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_gateway_echoing_the_authorization_header_leaks_no_admin_key() {
    // An OpenAI-style envelope quoting the header, then an HTML page doing so.
    for html in [false, true] {
        let answer: Arc<Answer> = Arc::new(move |req: &str| {
            let auth = header_line(req, "authorization:").to_owned();
            let body = if html {
                format!("<html><body>Blocked by policy. {auth}</body></html>")
            } else {
                serde_json::json!({"error": {
                    "message": format!("Forbidden request. Headers: {auth}; again without the prefix: {}", &KEY[3..]),
                    "type": "invalid_request_error", "param": null, "code": "blocked"}})
                .to_string()
            };
            (403, body)
        });
        let addr = echo_server(answer).await;
        let err = client(addr).list_all_projects().await.unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert_clean(&text);
            assert!(text.contains(MARKER), "{text}");
            assert!(
                text.contains("Authorization") || text.contains("authorization"),
                "{text}"
            );
        }
    }
}

fn exchange_request() -> TokenExchangeRequest {
    TokenExchangeRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
        subject_token_type: TOKEN_TYPE_JWT.into(),
        subject_token: TOKEN.into(),
        identity_provider_id: "idp_1".into(),
        service_account_id: "user-1".into(),
    }
}

#[tokio::test]
async fn an_exchange_echoing_the_subject_token_leaks_no_part_of_it() {
    let signature = TOKEN.rsplit('.').next().unwrap();
    let cut = &TOKEN[3..TOKEN.len() - 4];
    let bodies: Vec<(u16, String)> = vec![
        (
            400,
            serde_json::json!({"error": TOKEN, "error_description": format!("token {cut} is malformed")})
                .to_string(),
        ),
        (
            401,
            serde_json::json!({"error": "invalid_grant", "error_description": format!("signature {signature} is bad")})
                .to_string(),
        ),
        (502, format!("<html>upstream said: {TOKEN}</html>")),
    ];
    for (status, body) in bodies {
        let body = Arc::new(body);
        let answer: Arc<Answer> = Arc::new(move |_req: &str| (status, body.to_string()));
        let addr = echo_server(answer).await;
        let err = client(addr)
            .exchange_token(&exchange_request())
            .await
            .unwrap_err();
        for text in [err.to_string(), format!("{err:?}")] {
            assert_clean(&text);
            assert!(text.contains(MARKER), "HTTP {status}: {text}");
        }
    }
}
