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
/// Status, extra header lines, body.
type FullAnswer = dyn Fn(&str) -> (u16, String, String) + Send + Sync;

/// Answers every request with `answer(whole request text)`.
async fn echo_server(answer: Arc<Answer>) -> std::net::SocketAddr {
    echo_server_with_headers(Arc::new(move |req: &str| {
        let (status, body) = answer(req);
        (status, String::new(), body)
    }))
    .await
}

/// Like [`echo_server`], with header lines (each ending in `\r\n`) of the
/// answer's choosing.
async fn echo_server_with_headers(answer: Arc<FullAnswer>) -> std::net::SocketAddr {
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
                let (status, extra, body) = answer(&String::from_utf8_lossy(&buf));
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{extra}connection: close\r\n\r\n{body}",
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

/// The Authorization header's value without `Bearer `, as a gateway that
/// copies it into a response header would.
fn echoed_key(req: &str) -> String {
    let line = header_line(req, "authorization:");
    line.split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_request_id_header_echoing_a_secret_is_dropped_from_errors_and_logs() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

    // The whole key, the key cut by one character (both plain request id
    // characters and short enough), and the subject token.
    for cut in [0usize, 1] {
        let answer: Arc<FullAnswer> = Arc::new(move |req: &str| {
            let key = echoed_key(req);
            let id = if req.starts_with("POST /oauth/token") {
                TOKEN[..TOKEN.len() - cut].replace('.', "_")
            } else {
                key[..key.len() - cut].to_owned()
            };
            let body = if req.starts_with("POST /oauth/token") {
                serde_json::json!({"error": "invalid_grant", "error_description": "no"})
            } else {
                serde_json::json!({"error": {"message": "no such project",
                    "type": "invalid_request_error", "param": null, "code": null}})
            };
            (404, format!("x-request-id: {id}\r\n"), body.to_string())
        });
        let addr = echo_server_with_headers(answer).await;
        let c = client(addr);
        let admin = c.list_all_projects().await.unwrap_err();
        let exchange = c.exchange_token(&exchange_request()).await.unwrap_err();
        for text in [
            admin.to_string(),
            format!("{admin:?}"),
            exchange.to_string(),
            format!("{exchange:?}"),
        ] {
            assert_clean(&text);
            assert!(!text.contains("request id"), "{text}");
        }
        assert_eq!(admin.request_id(), None);
    }
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("openai api response"), "{text}");
    assert_clean(&text);

    // An ordinary request id is still shown.
    let answer: Arc<FullAnswer> = Arc::new(|_req: &str| {
        (
            404,
            "x-request-id: req_5f2e9a7c\r\n".into(),
            r#"{"error":{"message":"gone","type":"invalid_request_error","param":null,"code":null}}"#.into(),
        )
    });
    let err = client(echo_server_with_headers(answer).await)
        .list_all_projects()
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("request id: req_5f2e9a7c"),
        "{err}"
    );
}

#[tokio::test]
async fn a_json_escaped_key_in_an_error_envelope_is_redacted() {
    let answer: Arc<Answer> = Arc::new(|req: &str| {
        let key = echoed_key(req);
        let escaped: String = key
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        // Only the first letter escaped is enough to defeat a raw-byte scrub.
        let first = format!("\\u{:04x}{}", key.as_bytes()[0], &key[1..]);
        let body = format!(
            r#"{{"error":{{"message":"bad key {escaped} / {first}","type":"{first}","param":"{escaped}","code":"{first}"}}}}"#
        );
        (401, body)
    });
    let addr = echo_server(answer).await;
    let err = client(addr).list_all_projects().await.unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert_clean(&text);
        assert!(text.contains(MARKER), "{text}");
    }
    assert_eq!(err.param(), Some(MARKER));

    // The exchange path, with the token escaped in the description.
    let answer: Arc<Answer> = Arc::new(|_req: &str| {
        let escaped: String = TOKEN
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        (
            400,
            format!(r#"{{"error":"invalid_request","error_description":"got {escaped}"}}"#),
        )
    });
    let err = client(echo_server(answer).await)
        .exchange_token(&exchange_request())
        .await
        .unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert_clean(&text);
        assert!(text.contains(MARKER), "{text}");
    }
}

#[tokio::test]
async fn a_2xx_body_with_a_secret_in_a_wrongly_typed_field_is_not_quoted() {
    // The decoder's own message would quote the string it could not take.
    let answer: Arc<Answer> = Arc::new(|req: &str| {
        if req.starts_with("POST /oauth/token") {
            let body = serde_json::json!({"access_token": "x", "token_type": "Bearer",
                "expires_in": format!("{}", &TOKEN[..TOKEN.len() - 1])});
            return (200, body.to_string());
        }
        let auth = header_line(req, "authorization:").to_owned();
        (
            200,
            serde_json::json!({"object": "list", "data": auth}).to_string(),
        )
    });
    let addr = echo_server(answer).await;
    let c = client(addr);
    let admin = c.list_all_projects().await.unwrap_err();
    let exchange = c.exchange_token(&exchange_request()).await.unwrap_err();
    for text in [
        admin.to_string(),
        format!("{admin:?}"),
        exchange.to_string(),
        format!("{exchange:?}"),
    ] {
        assert_clean(&text);
        assert!(!text.contains("Bearer"), "{text}");
    }
    assert!(
        exchange.to_string().contains("unexpected response body"),
        "{exchange}"
    );
    assert!(
        admin
            .to_string()
            .contains("invalid type, expected a sequence"),
        "{admin}"
    );
}

#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

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
async fn an_escaped_secret_at_the_cut_of_a_long_error_page_leaves_no_piece() {
    // Not an envelope, so the excerpt (200 characters) is shown; the escaped
    // key straddles the cut. Scrubbing after cutting would leave its start.
    let answer: Arc<Answer> = Arc::new(|req: &str| {
        let key = echoed_key(req);
        let escaped: String = key
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        // 11 escaped characters (66 bytes) fit before the cut at 200.
        (502, format!("<html>{}{escaped}</html>", "x".repeat(128)))
    });
    let err = client(echo_server(answer).await)
        .list_all_projects()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert_clean(&text);
    let escaped_start: String = KEY[..4]
        .chars()
        .map(|c| format!("\\u{:04x}", c as u32))
        .collect();
    assert!(!text.contains(&escaped_start), "{text}");
    assert!(!text.contains("sk-adm"), "{text}");
    assert!(text.contains(MARKER), "{text}");
}
