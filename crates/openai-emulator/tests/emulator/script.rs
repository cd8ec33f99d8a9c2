//! Scripted faults, the request log and the clock offset: the knobs the
//! client's tests use to make the emulator misbehave exactly as told.

use std::time::{Duration, Instant};

use crate::support::{ADMIN_KEY, Emu};
use openai_emulator::{Credential, FaultAction, FaultRule};
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";
const PROVIDER: &str = "/v1/organization/workload_identity_providers/{id}";

/// A fresh connection per request, so a reset never affects the next one.
fn fresh_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

fn provider_body(name: &str) -> Value {
    json!({"type": "oidc", "name": name, "issuer": "https://issuer.example.com", "audience": "aud"})
}

async fn script(e: &Emu, body: Value) -> (u16, Value) {
    let resp = e
        .http
        .post(e.url("/_emulator/faults/script"))
        .bearer_auth(ADMIN_KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

async fn stored_names(e: &Emu) -> Vec<String> {
    e.emu
        .organization()
        .providers
        .into_iter()
        .map(|p| p.name)
        .collect()
}

#[tokio::test]
async fn rules_apply_in_order_count_down_and_then_stop() {
    let e = Emu::start().await;
    let (s, v) = script(
        &e,
        json!({"rules": [
            {"method": "GET", "path": PROVIDERS, "times": 2, "action": {"type": "status", "status": 503}},
            {"method": "get", "path": PROVIDERS, "action": {"type": "reply", "status": 200,
                "headers": {"retry-after": "7"}, "body": "{\"custom\":true}"}},
        ]}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rules"].as_array().unwrap().len(), 2);
    assert_eq!(v["rules"][1]["method"], "GET", "methods are upper-cased");

    for _ in 0..2 {
        let (s, v) = e.get(PROVIDERS).await;
        assert_eq!(s, 503);
        assert_eq!(v["error"]["type"], "server_error");
    }
    let resp = e
        .http
        .get(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.headers().contains_key("x-request-id"));
    assert_eq!(resp.text().await.unwrap(), r#"{"custom":true}"#);
    // Used up: handled normally again.
    let (s, v) = e.get(PROVIDERS).await;
    assert_eq!(s, 200);
    assert_eq!(v["object"], "list");
    assert!(e.emu.pending_script().is_empty());

    let stats = e.stats().await;
    assert_eq!(stats["faults_injected"]["scripted_status"], 2);
    assert_eq!(stats["faults_injected"]["scripted_reply"], 1);
}

#[tokio::test]
async fn rules_match_the_exact_path_or_the_route_template() {
    let e = Emu::start().await;
    let a = e.provider(provider_body("a")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = e.provider(provider_body("b")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.emu
        .script([
            FaultRule::new(
                "GET",
                format!("{PROVIDERS}/{b}"),
                FaultAction::Status { status: 500 },
            ),
            FaultRule::new("GET", PROVIDER, FaultAction::Status { status: 502 }),
        ])
        .unwrap();
    // The template rule is first for `a`; the exact one is first for `b`.
    assert_eq!(e.get(&format!("{PROVIDERS}/{a}")).await.0, 502);
    assert_eq!(e.get(&format!("{PROVIDERS}/{b}")).await.0, 500);
    // Another method never matches.
    let (s, _) = e.delete(&format!("{PROVIDERS}/{a}")).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_status_without_handling_changes_nothing_and_after_handling_commits() {
    let e = Emu::start().await;
    e.emu
        .script([
            FaultRule::new("POST", PROVIDERS, FaultAction::Status { status: 429 }),
            FaultRule::new(
                "POST",
                PROVIDERS,
                FaultAction::CommitThenStatus { status: 502 },
            ),
            FaultRule::new(
                "POST",
                PROVIDERS,
                FaultAction::commit_then_reply(503, "").with_header("Retry-After", "3600"),
            ),
        ])
        .unwrap();

    let resp = e
        .http
        .post(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .json(&provider_body("limited"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);
    // A scripted status carries no Retry-After: tests script one explicitly.
    assert!(!resp.headers().contains_key("retry-after"));
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_error");
    assert!(stored_names(&e).await.is_empty());

    let (s, v) = e.post(PROVIDERS, provider_body("lost")).await;
    assert_eq!(s, 502);
    assert_eq!(v["error"]["type"], "server_error");
    assert_eq!(stored_names(&e).await, ["lost"]);

    let resp = e
        .http
        .post(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .json(&provider_body("busy"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert_eq!(resp.headers()["retry-after"], "3600");
    assert_eq!(stored_names(&e).await, ["lost", "busy"]);
}

#[tokio::test]
async fn drops_reset_the_connection_with_or_without_the_write() {
    let e = Emu::start().await;
    let client = fresh_client();
    e.emu
        .script([
            FaultRule::new("POST", PROVIDERS, FaultAction::Drop),
            FaultRule::new("POST", PROVIDERS, FaultAction::CommitThenDrop),
        ])
        .unwrap();
    let post = |name: &str| {
        client
            .post(e.url(PROVIDERS))
            .bearer_auth(ADMIN_KEY)
            .json(&provider_body(name))
            .send()
    };
    assert!(post("dropped").await.is_err());
    assert!(stored_names(&e).await.is_empty());
    assert!(post("committed").await.is_err());
    assert_eq!(stored_names(&e).await, ["committed"]);
    assert_eq!(post("normal").await.unwrap().status(), 200);
}

#[tokio::test]
async fn delays_happen_before_or_after_the_write() {
    let e = Emu::start().await;
    e.emu
        .script([
            FaultRule::new("POST", PROVIDERS, FaultAction::Delay { ms: 300 }),
            FaultRule::new("POST", PROVIDERS, FaultAction::CommitThenDelay { ms: 2000 }),
        ])
        .unwrap();
    let started = Instant::now();
    let (s, _) = e.post(PROVIDERS, provider_body("slow")).await;
    assert_eq!(s, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A client that gives up before the answer: the write is already there.
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = impatient
        .post(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .json(&provider_body("stalled"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(stored_names(&e).await, ["slow", "stalled"]);
}

#[tokio::test]
async fn a_truncated_answer_breaks_off_after_the_write() {
    let e = Emu::start().await;
    e.emu
        .script([FaultRule::new(
            "POST",
            PROVIDERS,
            FaultAction::CommitThenTruncate,
        )])
        .unwrap();
    let resp = fresh_client()
        .post(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .json(&provider_body("cut"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.bytes().await.is_err(), "the body must break off");
    assert_eq!(stored_names(&e).await, ["cut"]);
}

#[tokio::test]
async fn the_token_endpoint_takes_scripted_faults() {
    let e = Emu::start().await;
    e.emu
        .script([FaultRule::new(
            "POST",
            "/oauth/token",
            FaultAction::reply(500, "boom"),
        )])
        .unwrap();
    let (s, v) = e.exchange("wip_1", "svc_1", "t").await;
    assert_eq!(s, 500);
    assert_eq!(v, "boom");
    // Then the real exchange answers (and refuses this token).
    let (s, v) = e.exchange("wip_1", "svc_1", "t").await;
    assert_eq!(s, 401, "{v}");
}

#[tokio::test]
async fn bad_scripts_are_refused_whole_and_can_be_listed_and_cleared() {
    let e = Emu::start().await;
    let ok = json!({"method": "GET", "path": PROVIDERS, "action": {"type": "drop"}});
    for (bad, param) in [
        (
            json!({"method": "GET", "path": PROVIDERS, "action": {"type": "status", "status": 42}}),
            "rules[1].action.status",
        ),
        (
            json!({"method": "GET", "path": "v1/x", "action": {"type": "drop"}}),
            "rules[1].path",
        ),
        (
            json!({"method": "GET", "path": PROVIDERS, "times": 0, "action": {"type": "drop"}}),
            "rules[1].times",
        ),
        (
            json!({"method": "GET", "path": PROVIDERS, "action": {"type": "reply", "status": 200,
                   "headers": {"bad header": "x"}}}),
            "rules[1].action.headers",
        ),
    ] {
        let (s, v) = script(&e, json!({"rules": [ok, bad]})).await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["param"], param, "{v}");
    }
    let (s, v) = script(
        &e,
        json!({"rules": [{"method": "GET", "path": PROVIDERS, "action": {"type": "explode"}}]}),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["error"]["param"], "rules");
    assert!(e.emu.pending_script().is_empty(), "nothing was added");

    let (s, _) = script(&e, json!({"rules": [ok]})).await;
    assert_eq!(s, 200);
    let listed: Value = e
        .http
        .get(e.url("/_emulator/faults/script"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["rules"][0]["times"], 1);
    assert_eq!(listed["rules"][0]["action"]["type"], "drop");
    let resp = e
        .http
        .delete(e.url("/_emulator/faults/script"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(e.emu.pending_script().is_empty());
    assert_eq!(e.get(PROVIDERS).await.0, 200);
}

#[tokio::test]
async fn the_request_log_records_what_was_sent_but_no_secret() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let pid = e.builtin_provider("b", "aud").await;
    e.rule(
        &pid,
        json!({"project_id": project, "service_account_id": account, "attribute_matchers": {"sub": "s"}}),
    )
    .await;
    let token = e.mint(json!({"sub": "s", "aud": "aud"})).await;
    let (_, v) = e.exchange(&pid, &account, &token).await;
    let access_token = v["access_token"].as_str().unwrap().to_owned();
    e.emu.clear_requests();

    let resp = e
        .http
        .get(e.url(&format!("{PROVIDERS}?limit=2&order=asc")))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap();
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    e.http.get(e.url(PROVIDERS)).send().await.unwrap();
    e.http
        .get(e.url(PROVIDERS))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    e.http
        .get(e.url(PROVIDERS))
        .bearer_auth("sk-wrong")
        .send()
        .await
        .unwrap();
    e.exchange(&pid, &account, &token).await;
    // Helpers are not logged.
    e.stats().await;

    let log = e.emu.requests();
    let seen: Vec<_> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.authorization))
        .collect();
    assert_eq!(
        seen,
        [
            ("GET", PROVIDERS, Some(Credential::AdminKey)),
            ("GET", PROVIDERS, None),
            ("GET", PROVIDERS, Some(Credential::AccessToken)),
            ("GET", PROVIDERS, Some(Credential::Other)),
            ("POST", "/oauth/token", None),
        ]
    );
    assert_eq!(log[0].query.as_deref(), Some("limit=2&order=asc"));
    assert_eq!(log[1].query, None);
    assert_eq!(log[0].request_id, request_id);
    assert_eq!(log[0].route, PROVIDERS);

    // The same over HTTP, with no credential anywhere.
    let text = e
        .http
        .get(e.url("/_emulator/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["requests"].as_array().unwrap().len(), 5);
    assert_eq!(v["requests"][0]["authorization"], "admin_key");
    assert_eq!(v["requests"][0]["request_id"], request_id.as_str());
    assert_eq!(v["dropped"], 0);
    for secret in [ADMIN_KEY, access_token.as_str(), "sk-wrong", token.as_str()] {
        assert!(!text.contains(secret), "the log leaks {secret}");
    }

    let resp = e
        .http
        .post(e.url("/_emulator/requests/reset"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(e.emu.requests().is_empty());
    e.get(PROVIDERS).await;
    e.http
        .post(e.url("/_emulator/stats/reset"))
        .bearer_auth(ADMIN_KEY)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(e.emu.requests().is_empty(), "a stats reset empties the log");
}

#[tokio::test]
async fn a_shifted_clock_dates_writes_tokens_and_the_date_header() {
    let e = Emu::start().await;
    let resp = e
        .http
        .post(e.url("/_emulator/clock"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"offset_secs": -3600}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = e
        .http
        .post(e.url(PROVIDERS))
        .bearer_auth(ADMIN_KEY)
        .json(&provider_body("old"))
        .send()
        .await
        .unwrap();
    let date = httpdate::parse_http_date(resp.headers()["date"].to_str().unwrap()).unwrap();
    let behind = std::time::SystemTime::now().duration_since(date).unwrap();
    assert!(
        (3590..=3610).contains(&behind.as_secs()),
        "Date is {behind:?} behind"
    );
    let old: Value = resp.json().await.unwrap();
    let now = crate::support::now();
    assert!(
        (old["created_at"].as_i64().unwrap() - (now - 3600)).abs() <= 5,
        "{old}"
    );
    // A minted token's iat follows the clock too.
    let token = e.emu.mint(json!({"sub": "s"})).unwrap();
    use base64::Engine as _;
    let payload: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!((payload["iat"].as_i64().unwrap() - (now - 3600)).abs() <= 5);

    e.emu.set_clock_offset(0);
    let v = e.provider(provider_body("new")).await;
    assert!((v["created_at"].as_i64().unwrap() - now).abs() <= 5, "{v}");
    let clock: Value = e
        .http
        .get(e.url("/_emulator/clock"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["offset_secs"], 0);
    let resp = e
        .http
        .post(e.url("/_emulator/clock"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"offset_secs": "soon"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
}

/// The control routes that change state take only the admin key and JSON;
/// reads and the issuer's keys stay open.
#[tokio::test]
async fn control_routes_need_the_admin_key_and_json() {
    let e = Emu::start().await;
    let routes: [(&str, &str, Value); 7] = [
        ("POST", "/_emulator/clock", json!({"offset_secs": 60})),
        ("POST", "/_emulator/faults", json!({"fault_rate": 0.5})),
        (
            "POST",
            "/_emulator/faults/script",
            json!({"rules": [{"method": "POST", "path": "/oauth/token", "action": {"type": "reply", "status": 200, "body": "{}"}}]}),
        ),
        ("DELETE", "/_emulator/faults/script", json!({})),
        ("POST", "/_emulator/stats/reset", json!({})),
        ("POST", "/_emulator/requests/reset", json!({})),
        ("POST", "/_emulator/oidc/token", json!({"sub": "s"})),
    ];
    for (method, path, body) in &routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let send = |auth: Option<&str>, content_type: &str| {
            let mut req = e
                .http
                .request(method.clone(), e.url(path))
                .header("content-type", content_type)
                .body(body.to_string());
            if let Some(key) = auth {
                req = req.bearer_auth(key);
            }
            req.send()
        };
        let status = send(None, "application/json").await.unwrap().status();
        assert_eq!(status, 401, "{method} {path} without a key");
        let status = send(Some("sk-wrong"), "application/json")
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "{method} {path} with a wrong key");
        if method == reqwest::Method::POST {
            // What a plain HTML form can send, even with the right key.
            for ct in [
                "application/x-www-form-urlencoded",
                "text/plain",
                "multipart/form-data",
            ] {
                let status = send(Some(ADMIN_KEY), ct).await.unwrap().status();
                assert_eq!(status, 415, "{method} {path} as {ct}");
            }
        }
    }
    // Nothing changed.
    assert_eq!(
        e.http
            .get(e.url("/_emulator/clock"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()["offset_secs"],
        0
    );
    assert!(e.emu.pending_script().is_empty());
    // With the key and JSON, each works.
    for (method, path, body) in routes {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let resp = e
            .http
            .request(method.clone(), e.url(path))
            .bearer_auth(ADMIN_KEY)
            .header("content-type", "application/json; charset=utf-8")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{method} {path}");
    }
    // Reads and the issuer stay open.
    for path in [
        "/_emulator/clock",
        "/_emulator/stats",
        "/_emulator/requests",
        "/_emulator/faults/script",
        "/_emulator/oidc/jwks",
        "/_emulator/oidc/.well-known/openid-configuration",
    ] {
        let status = e.http.get(e.url(path)).send().await.unwrap().status();
        assert_eq!(status, 200, "GET {path}");
    }
}

/// Offsets past a century, or that would leave 1970..9999, are refused, and
/// the emulator keeps answering with valid dates.
#[tokio::test]
async fn clock_offsets_are_bounded() {
    let e = Emu::start().await;
    let set = |offset: i64| {
        e.http
            .post(e.url("/_emulator/clock"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"offset_secs": offset}))
            .send()
    };
    let century = openai_emulator::clock::MAX_OFFSET_SECS;
    for bad in [i64::MAX, i64::MIN, century + 1, -century - 1] {
        let resp = set(bad).await.unwrap();
        assert_eq!(resp.status(), 400, "{bad}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"]["param"], "offset_secs", "{v}");
    }
    for good in [century, -(56 * 365 * 24 * 3600)] {
        assert_eq!(set(good).await.unwrap().status(), 200, "{good}");
        let v = e.provider(provider_body(&format!("p{good}"))).await;
        let created = v["created_at"].as_i64().unwrap();
        assert!(created > 0, "{v}");
        assert!(
            (created - (crate::support::now() + good)).abs() <= 5,
            "{created} for {good}"
        );
    }
    // Before the epoch: refused, not a panic on the next request.
    assert_eq!(set(-(60 * 366 * 24 * 3600)).await.unwrap().status(), 400);
    // The Rust knob clamps instead.
    e.emu.set_clock_offset(i64::MAX);
    let v = e.provider(provider_body("clamped")).await;
    assert!(v["created_at"].as_i64().unwrap() > 0, "{v}");
    assert_eq!(e.get(PROVIDERS).await.0, 200);
}
