//! Pacing under rate limits: 429s without Retry-After (as OpenAI sends them)
//! are waited out, within `rate_limit_wait`; hints are honoured; a 429 holds
//! back every clone of the client on that route; cancellation ends a wait.

use std::time::{Duration, Instant};

use openai_admin::{ApiError, CancellationToken, ClientConfig};
use openai_emulator::EmulatorConfig;
use reqwest::Method;

use crate::support::*;

/// An emulator allowing `rpm` Admin API requests per route per minute.
async fn limited(rpm: u32, retry_after: bool) -> Api {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.rate_limit_rpm = Some(rpm);
    config.rate_limit_retry_after = retry_after;
    Api::start_with(config).await
}

/// A client that backs off 100 to 200 ms after a hintless 429.
fn pacing_config(api: &Api, budget: Duration) -> ClientConfig {
    let mut config = api.config();
    config.backoff.rate_limit_base = Duration::from_millis(200);
    config.backoff.rate_limit_cap = Duration::from_millis(200);
    config.rate_limit_wait = budget;
    config
}

/// 429s the emulator has answered.
async fn count_429(api: &Api) -> u64 {
    let stats: serde_json::Value = reqwest::get(format!("{}/_emulator/stats", api.emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["by_status"]["429"].as_u64().unwrap_or(0)
}

/// Returns once the emulator has answered `n` 429s (polling its stats).
async fn until_429s(api: &Api, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count_429(api).await < n {
        assert!(Instant::now() < deadline, "no {n} 429s within 10 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_429_without_retry_after_is_waited_out_instead_of_failing() {
    let api = limited(1, false).await;
    let client = openai_admin::Client::new(pacing_config(&api, Duration::from_secs(60))).unwrap();
    client.list_all_providers().await.unwrap();

    let second = tokio::spawn({
        let client = client.clone();
        async move { client.list_all_providers().await }
    });
    // Let it be refused a few times (more than the old 4 retries), then
    // free the window as a minute passing would.
    until_429s(&api, 6).await;
    api.emu.set_clock_offset(61);
    let listed = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the paced request finishes once the window frees")
        .unwrap();

    assert!(listed.is_ok(), "{listed:?}");
    assert!(count_429(&api).await >= 6);
}

#[tokio::test]
async fn the_wait_budget_ends_it_with_an_error_naming_the_setting() {
    let api = limited(1, false).await;
    let client =
        openai_admin::Client::new(pacing_config(&api, Duration::from_millis(700))).unwrap();
    client.list_all_providers().await.unwrap();

    let started = Instant::now();
    let err = client.list_all_providers().await.unwrap_err();

    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    let text = err.to_string();
    assert!(text.contains("rate_limit_wait_seconds"), "{text}");
    assert!(text.contains("too many requests"), "{text}");
    // It did wait (several tries), but not past the budget.
    assert!(count_429(&api).await >= 3);
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_rate_limiters_retry_after_is_honoured() {
    let api = limited(1, true).await;
    let client = openai_admin::Client::new(pacing_config(&api, Duration::from_secs(30))).unwrap();
    client.list_all_providers().await.unwrap();
    // 59 s of the minute gone: the emulator asks for about one more second.
    api.emu.set_clock_offset(59);

    let started = Instant::now();
    client.list_all_providers().await.unwrap();

    assert!(started.elapsed() >= Duration::from_millis(900));
    // Honoured, not guessed at: the single retry came when the window freed.
    assert_eq!(count_429(&api).await, 1);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_fails_at_once() {
    let api = limited(1, true).await;
    let client = openai_admin::Client::new(pacing_config(&api, Duration::from_secs(30))).unwrap();
    client.list_all_providers().await.unwrap();

    let started = Instant::now();
    let err = client.list_all_providers().await.unwrap_err();

    assert!(matches!(err, ApiError::RateLimited { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(count_429(&api).await, 1);
}

#[tokio::test]
async fn a_429_holds_back_every_clone_on_that_route() {
    let api = Api::start().await;
    let a = api.seed_provider("a").await;
    let b = api.seed_provider("b").await;
    api.fault(
        Method::GET,
        &format!("/organization/workload_identity_providers/{}", a.id),
        FaultAction::reply(429, "").with_header("retry-after-ms", "800"),
    );
    let client = api.client();
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get_provider(&a.id).await }
    });
    until_429s(&api, 1).await;

    // Another object, same endpoint, another clone: it waits its turn too.
    let started = Instant::now();
    client.clone().get_provider(&b.id).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    first.await.unwrap().unwrap();
    // A different endpoint is not held back.
    let started = Instant::now();
    api.client().list_all_projects().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn cancelling_aborts_a_rate_limit_wait_at_once() {
    let api = limited(1, false).await;
    let cancel = CancellationToken::new();
    let mut config = pacing_config(&api, Duration::from_secs(300));
    config.backoff.rate_limit_base = Duration::from_secs(60);
    config.backoff.rate_limit_cap = Duration::from_secs(60);
    config.cancel = cancel.clone();
    let client = openai_admin::Client::new(config).unwrap();
    client.list_all_providers().await.unwrap();

    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.list_all_providers().await }
    });
    until_429s(&api, 1).await;
    let started = Instant::now();
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("cancellation ends the wait at once")
        .unwrap()
        .unwrap_err();

    assert!(matches!(err, ApiError::Cancelled { .. }), "{err:?}");
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
}
