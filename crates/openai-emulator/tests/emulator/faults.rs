//! Test knobs of the emulator: injected faults, run-time fault rate, stats,
//! latency.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::{ADMIN_KEY, Emu};
use openai_emulator::EmulatorConfig;
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";

async fn faulty(rate: f64, seed: u64) -> Emu {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.fault_rate = rate;
    config.fault_seed = seed;
    Emu::start_with(config).await
}

/// A client that opens a fresh connection per request, so a killed
/// connection never affects the next request.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Outcome {
    Ok,
    Status(u16),
    ConnectionFailed,
}

async fn classify(resp: Result<reqwest::Response, reqwest::Error>) -> Outcome {
    let resp = match resp {
        Ok(r) => r,
        Err(_) => return Outcome::ConnectionFailed,
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let Ok(text) = resp.text().await else {
        return Outcome::ConnectionFailed;
    };
    match status {
        200 => Outcome::Ok,
        429 => {
            assert_eq!(headers["retry-after"], "1");
            assert_eq!(headers["retry-after-ms"], "1000");
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["type"], "rate_limit_error");
            Outcome::Status(429)
        }
        500 | 503 => {
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["error"]["type"], "server_error");
            Outcome::Status(status)
        }
        502 => {
            assert!(text.contains("502"), "{text}");
            Outcome::Status(502)
        }
        other => panic!("unexpected status {other}: {text}"),
    }
}

fn faults_injected(stats: &Value) -> BTreeMap<String, u64> {
    serde_json::from_value(stats["faults_injected"].clone()).unwrap()
}

#[tokio::test]
async fn every_request_fails_at_rate_one() {
    let e = faulty(1.0, 7).await;
    let client = fresh_client();
    let mut seen = BTreeMap::new();
    for _ in 0..60 {
        let resp = client
            .get(e.url(PROVIDERS))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await;
        *seen.entry(classify(resp).await).or_insert(0u64) += 1;
    }
    assert!(!seen.contains_key(&Outcome::Ok), "{seen:?}");
    for kind in [
        Outcome::Status(500),
        Outcome::Status(502),
        Outcome::Status(503),
        Outcome::Status(429),
        Outcome::ConnectionFailed,
    ] {
        assert!(
            seen.contains_key(&kind),
            "{kind:?} never happened: {seen:?}"
        );
    }

    let stats = e.stats().await;
    assert_eq!(stats["requests_total"], 60);
    assert_eq!(stats["by_route"][format!("GET {PROVIDERS}")], 60);
    let injected = faults_injected(&stats);
    assert_eq!(injected.values().sum::<u64>(), 60);
    assert!(
        injected["connection_reset"] > 0 && injected["lost_response"] > 0,
        "{injected:?}"
    );
    assert_eq!(
        seen[&Outcome::ConnectionFailed],
        injected["connection_reset"] + injected["lost_response"]
    );
    assert_eq!(seen[&Outcome::Status(500)], injected["http_500"]);
    assert_eq!(seen[&Outcome::Status(429)], injected["http_429"]);

    // The token exchange and the helpers are never faulted.
    let resp = client
        .get(e.url("/_emulator/oidc/jwks"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn lost_responses_commit_their_writes() {
    let e = faulty(1.0, 99).await;
    let client = fresh_client();
    for i in 0..40 {
        let resp = client
            .post(e.url(PROVIDERS))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"type": "oidc", "name": format!("p{i}"), "issuer": "https://i.example.com", "audience": "a"}))
            .send()
            .await;
        assert_ne!(classify(resp).await, Outcome::Ok);
    }
    let injected = faults_injected(&e.stats().await);
    let lost = injected["lost_response"];
    assert!(lost > 0, "{injected:?}");

    let resp = client
        .post(e.url("/_emulator/faults"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"fault_rate": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (s, page) = e.get(&format!("{PROVIDERS}?limit=100")).await;
    assert_eq!(s, 200);
    assert_eq!(page["data"].as_array().unwrap().len() as u64, lost);
}

#[tokio::test]
async fn fault_rate_changes_at_run_time() {
    let e = faulty(0.0, 1).await;
    let client = fresh_client();
    let get = || client.get(e.url(PROVIDERS)).bearer_auth(ADMIN_KEY).send();
    assert_eq!(classify(get().await).await, Outcome::Ok);

    let set = |rate: Value| {
        client
            .post(e.url("/_emulator/faults"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"fault_rate": rate}))
            .send()
    };
    assert_eq!(set(json!(1.0)).await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_ne!(classify(get().await).await, Outcome::Ok);
    }
    let rate: Value = client
        .get(e.url("/_emulator/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rate["fault_rate"], 1.0);
    assert_eq!(set(json!(1.5)).await.unwrap().status(), 400);
    assert_eq!(set(json!("often")).await.unwrap().status(), 400);
    assert_eq!(set(json!(0.0)).await.unwrap().status(), 200);
    assert_eq!(classify(get().await).await, Outcome::Ok);
}

#[tokio::test]
async fn invalid_fault_rate_is_refused_at_start() {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.fault_rate = 2.0;
    let err = openai_emulator::start(config).await.err().unwrap();
    assert!(err.to_string().contains("fault rate"), "{err}");
}

#[tokio::test]
async fn stats_count_route_templates() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let pid = e.builtin_provider("b", "aud").await;
    let rule = e
        .rule(&pid, json!({"project_id": project, "service_account_id": account, "attribute_matchers": {"sub": "s"}}))
        .await;
    e.get(&format!("{PROVIDERS}/{pid}")).await;
    e.get(&format!("{PROVIDERS}/{pid}")).await;
    e.get(&format!("{PROVIDERS}/wip_missing")).await;
    e.get(&format!(
        "{PROVIDERS}/{pid}/federation_rules/{}",
        rule["id"].as_str().unwrap()
    ))
    .await;
    let token = e.mint(json!({"sub": "s", "aud": "aud"})).await;
    let (s, _) = e.exchange(&pid, &account, &token).await;
    assert_eq!(s, 200);
    // Unauthenticated requests count too.
    e.http.get(e.url(PROVIDERS)).send().await.unwrap();

    let stats = e.stats().await;
    let by_route: BTreeMap<String, u64> =
        serde_json::from_value(stats["by_route"].clone()).unwrap();
    let expected: BTreeMap<String, u64> = [
        ("POST /v1/organization/projects", 1),
        ("POST /v1/organization/projects/{id}/service_accounts", 1),
        ("POST /v1/organization/workload_identity_providers", 1),
        (
            "POST /v1/organization/workload_identity_providers/{id}/federation_rules",
            1,
        ),
        ("GET /v1/organization/workload_identity_providers/{id}", 3),
        (
            "GET /v1/organization/workload_identity_providers/{id}/federation_rules/{rule_id}",
            1,
        ),
        ("GET /v1/organization/workload_identity_providers", 1),
        ("POST /oauth/token", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(by_route, expected);
    assert_eq!(stats["requests_total"], 10);

    let reset: Value = e
        .http
        .post(e.url("/_emulator/stats/reset"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reset["requests_total"], 0);
    assert_eq!(e.stats().await["by_route"], json!({}));
}

#[tokio::test]
async fn latency_knob_still_answers() {
    let mut config = EmulatorConfig::new(ADMIN_KEY);
    config.latency = Duration::from_millis(20);
    let e = Emu::start_with(config).await;
    let (s, v) = e.get(PROVIDERS).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["object"], "list");
}

#[tokio::test]
async fn stats_report_the_most_requests_in_flight_at_once() {
    use openai_emulator::{FaultAction, FaultRule};
    let e = Emu::start().await;
    for _ in 0..3 {
        assert_eq!(e.get(PROVIDERS).await.0, 200);
    }
    assert_eq!(e.stats().await["in_flight_max"], 1, "one at a time");

    // Three requests held by the emulator until all three have arrived.
    e.emu
        .script([FaultRule::new("GET", PROVIDERS, FaultAction::Delay { ms: 3_000 }).times(3)])
        .unwrap();
    let held: Vec<_> = (0..3)
        .map(|_| {
            let req = e.http.get(e.url(PROVIDERS)).bearer_auth(ADMIN_KEY).send();
            tokio::spawn(req)
        })
        .collect();
    while e.stats().await["in_flight_max"] != 3 {
        assert!(
            !held.iter().all(|h| h.is_finished()),
            "the held requests ended before all three were in flight together"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for h in held {
        assert_eq!(h.await.unwrap().unwrap().status(), 200);
    }

    // A reset starts again from what is in flight then: nothing.
    e.http
        .post(e.url("/_emulator/stats/reset"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(e.stats().await["in_flight_max"], 0);
}
