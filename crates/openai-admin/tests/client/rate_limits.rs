//! Pacing under rate limits: 429s without Retry-After (as OpenAI sends them)
//! are waited out, within `rate_limit_wait`; hints are honoured; a 429 holds
//! back every clone of the client on that route; cancellation ends a wait.
//! With window pacing (real, short windows on both sides) a burst loses at
//! most the requests already in flight when its window filled, and once the
//! route's limit is learned, none.

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

/// A client that backs off 100 to 200 ms after a hintless 429, without
/// window pacing (which would wait out a real minute here).
fn pacing_config(api: &Api, budget: Duration) -> ClientConfig {
    let mut config = api.config();
    config.backoff.rate_limit_base = Duration::from_millis(200);
    config.backoff.rate_limit_cap = Duration::from_millis(200);
    config.rate_limit_wait = budget;
    config.rate_limit_window = Duration::ZERO;
    config
}

/// The window both sides use in the window pacing tests.
const SHORT_WINDOW_SECS: u32 = 2;

/// An emulator allowing `rpm` requests per route in any
/// [`SHORT_WINDOW_SECS`], and a client pacing by the same window (with the
/// fast backoff of the other tests, so a backoff could not pass for it).
async fn short_windows(rpm: u32) -> (Api, openai_admin::Client) {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.rate_limit_rpm = Some(rpm);
    config.rate_limit_window_secs = SHORT_WINDOW_SECS;
    let api = Api::start_with(config).await;
    let mut config = pacing_config(&api, Duration::from_secs(60));
    config.rate_limit_window = Duration::from_secs(SHORT_WINDOW_SECS.into());
    let client = openai_admin::Client::new(config).unwrap();
    (api, client)
}

/// `tasks` concurrent tasks, each listing projects `each` times in a row.
async fn burst(client: &openai_admin::Client, tasks: usize, each: usize) {
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                for _ in 0..each {
                    client
                        .list_projects(&openai_admin::models::ListParams::default())
                        .await?;
                }
                Ok::<_, ApiError>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap().unwrap();
    }
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

#[tokio::test]
async fn window_pacing_loses_only_the_requests_in_flight_when_the_window_fills() {
    const RPM: u32 = 4;
    const TASKS: usize = 3;
    let (api, client) = short_windows(RPM).await;

    // Nine requests, four a window: three windows.
    burst(&client, TASKS, 3).await;

    let refused = count_429(&api).await;
    // The limits really bit...
    assert!(refused > 0);
    // ...but once the first 429 came, each task waited for the window to
    // free: only requests already in flight then were refused. (The fast
    // backoff alone retries every 200 ms and piles up far more.)
    assert!(refused <= TASKS as u64, "{refused} 429s");
}

#[tokio::test]
async fn once_the_limit_is_learned_a_burst_sends_no_429() {
    const RPM: u32 = 4;
    let (api, client) = short_windows(RPM).await;
    burst(&client, 3, 2).await;
    let learned = count_429(&api).await;
    assert!(learned > 0, "the first burst teaches the limit");

    // The window is still full of the first burst's replies: the second
    // waits for room before sending instead of being refused.
    burst(&client, 3, 3).await;

    assert_eq!(count_429(&api).await, learned);
    // Every request went out once, plus one resend per 429.
    assert_eq!(
        api.count(Method::GET, "/organization/projects"),
        6 + 9 + learned as usize
    );
}
