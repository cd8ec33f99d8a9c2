//! Slow clients cannot hold the emulator: partial request headers are cut
//! off, and other clients are served meanwhile and afterwards.

use std::time::Duration;

use openai_emulator::EmulatorConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{ADMIN_KEY, Emu};

/// Reads until the server closes the connection; panics if it never does
/// (a guard against hanging, not a timing assertion).
async fn closed_by_server(stream: &mut tokio::net::TcpStream) {
    let mut buf = [0u8; 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(120), read_all)
        .await
        .expect("the server never closed a connection with partial headers");
}

#[tokio::test]
async fn partial_headers_are_cut_off_and_others_are_still_served() {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.header_read_timeout = Duration::from_secs(1);
    // Two slow clients fill every slot; a third must still get through.
    config.max_connections = 2;
    let e = Emu::start_with(config).await;
    let addr = e.emu.addr();
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /v1/organization/projects HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(s);
    }
    // Served once a slot is freed by cutting a slow client off.
    let (status, _) = e.get("/v1/organization/projects").await;
    assert_eq!(status, 200);
    for s in &mut slow {
        closed_by_server(s).await;
    }
    let (status, _) = e.get("/v1/organization/projects").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_body_that_never_ends_gets_a_408() {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.request_timeout = Duration::from_secs(1);
    let e = Emu::start_with(config).await;
    let mut s = tokio::net::TcpStream::connect(e.emu.addr()).await.unwrap();
    let head = format!(
        "POST /v1/organization/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"name\""
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(120), s.read_to_end(&mut answer))
        .await
        .expect("the server never answered a request whose body stalls")
        .ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
}
