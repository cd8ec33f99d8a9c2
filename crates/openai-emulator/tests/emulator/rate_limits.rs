//! `--rate-limit-rpm`: OpenAI-like 429s per route or per organization, timed
//! by the emulator's clock, counted by status in the stats.

use crate::support::{ADMIN_KEY, Emu};
use openai_emulator::{EmulatorConfig, RateLimitScope};

const PROJECTS: &str = "/v1/organization/projects";
const PROVIDERS: &str = "/v1/organization/workload_identity_providers";

async fn limited(rpm: u32, retry_after: bool, scope: RateLimitScope) -> Emu {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.rate_limit_rpm = Some(rpm);
    config.rate_limit_retry_after = retry_after;
    config.rate_limit_scope = scope;
    Emu::start_with(config).await
}

/// Status and headers of a GET.
async fn get_raw(emu: &Emu, path: &str) -> reqwest::Response {
    emu.http
        .get(emu.url(path))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn beyond_the_limit_a_route_gets_openais_429_without_retry_after() {
    let emu = limited(2, false, RateLimitScope::Route).await;
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    assert_eq!(emu.get(PROJECTS).await.0, 200);

    let resp = get_raw(&emu, PROJECTS).await;
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_none());
    assert!(resp.headers().get("retry-after-ms").is_none());
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    assert_eq!(
        body["error"]["message"],
        "You're making too many requests, please slow down."
    );

    // Another route has its own bucket.
    assert_eq!(emu.get(PROVIDERS).await.0, 200);

    let stats = emu.stats().await;
    assert_eq!(stats["by_status"]["200"], 3, "{stats}");
    assert_eq!(stats["by_status"]["429"], 1, "{stats}");
    assert_eq!(stats["by_route"][format!("GET {PROJECTS}")], 3, "{stats}");
}

#[tokio::test]
async fn the_window_frees_when_the_clock_moves_a_minute() {
    let emu = limited(1, false, RateLimitScope::Route).await;
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    assert_eq!(emu.get(PROJECTS).await.0, 429);
    emu.emu.set_clock_offset(30);
    assert_eq!(emu.get(PROJECTS).await.0, 429, "the window is 60 s");
    emu.emu.set_clock_offset(61);
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    assert_eq!(emu.get(PROJECTS).await.0, 429);
}

#[tokio::test]
async fn a_configured_window_frees_after_its_own_span() {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.rate_limit_rpm = Some(1);
    config.rate_limit_window_secs = 10;
    let emu = Emu::start_with(config).await;
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    assert_eq!(emu.get(PROJECTS).await.0, 429);
    // Well short of the 10 s (a tick of the real clock may pass meanwhile).
    emu.emu.set_clock_offset(8);
    assert_eq!(emu.get(PROJECTS).await.0, 429, "the window is 10 s");
    emu.emu.set_clock_offset(11);
    assert_eq!(emu.get(PROJECTS).await.0, 200);
}

#[tokio::test]
async fn retry_after_says_when_the_window_frees_when_asked_for() {
    let emu = limited(1, true, RateLimitScope::Route).await;
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    emu.emu.set_clock_offset(20);
    let resp = get_raw(&emu, PROJECTS).await;
    assert_eq!(resp.status(), 429);
    let secs: i64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // 60 s after the first request, less the 20 s shift (one second of slack
    // for a tick of the real clock between the requests).
    assert!((39..=40).contains(&secs), "Retry-After: {secs}");
}

#[tokio::test]
async fn org_scope_shares_one_bucket_across_routes() {
    let emu = limited(2, false, RateLimitScope::Org).await;
    assert_eq!(emu.get(PROJECTS).await.0, 200);
    assert_eq!(emu.get(PROVIDERS).await.0, 200);
    assert_eq!(emu.get(PROVIDERS).await.0, 429);
    assert_eq!(emu.get(PROJECTS).await.0, 429);
}

#[tokio::test]
async fn no_limit_by_default() {
    let emu = Emu::start().await;
    for _ in 0..30 {
        assert_eq!(emu.get(PROJECTS).await.0, 200);
    }
    assert_eq!(emu.stats().await["by_status"]["200"], 30);
}
