//! Retries and duplicate-safe creates of the Admin API client, against the
//! emulator scripted to fail, stall or lose answers.

use std::time::{Duration, Instant};

use crate::support::*;
use openai_admin::models::*;
use openai_admin::{ApiError, Client};
use reqwest::Method;

const PROVIDERS: &str = "/organization/workload_identity_providers";

fn provider_path(id: &str) -> String {
    format!("{PROVIDERS}/{id}")
}

fn rules_path(provider_id: &str) -> String {
    format!("{PROVIDERS}/{provider_id}/federation_rules")
}

// ------------------------------------------------------------ idempotent requests

#[tokio::test]
async fn get_is_retried_after_503_until_it_succeeds() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault_n(2, Method::GET, &path, status(503));

    let got = api.client().get_provider(&p.id).await.unwrap();

    assert_eq!(got, p);
    assert_eq!(api.count(Method::GET, &path), 3);
}

#[tokio::test]
async fn gives_up_after_max_retries_with_the_last_status() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault_n(10, Method::GET, &path, status(502));

    let err = api.client().get_provider(&p.id).await.unwrap_err();

    assert_eq!(err.status().map(|s| s.as_u16()), Some(502), "{err}");
    // max_retries = 3 in the test config: one attempt plus three retries.
    assert_eq!(api.count(Method::GET, &path), 4);
}

#[tokio::test]
async fn retry_after_seconds_is_waited_for() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault(
        Method::GET,
        &path,
        FaultAction::reply(
            429,
            r#"{"error":{"message":"Rate limit reached.","type":"rate_limit_error","param":null,"code":null}}"#,
        )
        .with_header("retry-after", "1"),
    );

    let started = Instant::now();
    api.client().get_provider(&p.id).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(api.count(Method::GET, &path), 2);
}

#[tokio::test]
async fn retry_after_ms_is_preferred_over_retry_after() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault(
        Method::GET,
        &path,
        FaultAction::reply(429, "")
            .with_header("retry-after", "30")
            .with_header("retry-after-ms", "300"),
    );

    let started = Instant::now();
    // Waiting the 30 s of Retry-After would trip this guard.
    tokio::time::timeout(Duration::from_secs(20), api.client().get_provider(&p.id))
        .await
        .expect("Retry-After-Ms should win over Retry-After")
        .unwrap();

    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(api.count(Method::GET, &path), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_fails_at_once() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault(
        Method::GET,
        &path,
        FaultAction::reply(
            429,
            r#"{"error":{"message":"Quota exhausted.","type":"rate_limit_error","param":null,"code":null}}"#,
        )
        .with_header("retry-after", "3600"),
    );

    let err = api.client().get_provider(&p.id).await.unwrap_err();

    assert_eq!(err.status().map(|s| s.as_u16()), Some(429));
    assert!(err.to_string().contains("Quota exhausted."), "{err}");
    assert_eq!(api.count(Method::GET, &path), 1);
}

#[tokio::test]
async fn conflicts_and_bad_requests_are_not_retried() {
    let api = Api::start().await;
    api.seed_provider("prod").await;
    let client = api.client();

    let err = client
        .create_provider(&provider_request("prod"))
        .await
        .unwrap_err();
    assert!(err.is_conflict(), "{err}");
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);

    let mut bad = provider_request("other");
    bad.issuer.clear();
    let err = client.create_provider(&bad).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(api.count(Method::POST, PROVIDERS), 2);
}

/// `x-should-retry` wins over the status, as in OpenAI's SDKs: `false` ends
/// even a 503 or a 429, `true` retries even a 409 or a 400, and any other
/// value leaves the decision to the status.
#[tokio::test]
async fn x_should_retry_overrides_the_status_either_way() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    for (status, header, retried) in [
        (503, "false", false),
        (429, "false", false),
        (409, "true", true),
        (400, "true", true),
        (409, "maybe", false),
    ] {
        api.fault(
            Method::GET,
            &path,
            FaultAction::reply(status, error_body("busy", "Scripted."))
                .with_header("x-should-retry", header),
        );
        let before = api.count(Method::GET, &path);

        let got = api.client().get_provider(&p.id).await;

        match &got {
            Ok(got) => assert!(retried && *got == p, "{status} {header}"),
            Err(err) => {
                assert!(!retried, "{status} {header}: {err}");
                assert_eq!(err.status().map(|s| s.as_u16()), Some(status), "{err}");
            }
        }
        let sent = api.count(Method::GET, &path) - before;
        assert_eq!(sent, if retried { 2 } else { 1 }, "{status} {header}");
    }
}

#[tokio::test]
async fn reset_connections_are_retried() {
    let api = Api::start().await;
    let p = api.seed_project("p").await;
    let path = format!("/organization/projects/{}", p.id);
    api.fault_n(2, Method::GET, &path, FaultAction::Drop);

    let project = api.client().get_project(&p.id).await.unwrap();

    assert_eq!(project, p);
    assert_eq!(api.count(Method::GET, &path), 3);
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let (addr, connections) = dropping_server(
        2,
        r#"{"object":"organization.project","id":"proj_1","name":"p","created_at":1,"status":"active"}"#,
    )
    .await;
    let api = Api::start().await;
    let mut config = api.config();
    config.base_url = url::Url::parse(&format!("http://{addr}/v1")).unwrap();

    let project = Client::new(config)
        .unwrap()
        .get_project("proj_1")
        .await
        .unwrap();

    assert_eq!(project.id, "proj_1");
    assert_eq!(*connections.lock().unwrap(), 3);
}

#[tokio::test]
async fn failing_to_connect_ends_in_a_transport_error() {
    // Bind and drop a listener to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api = Api::start().await;
    let mut config = api.config();
    config.base_url = url::Url::parse(&format!("http://127.0.0.1:{port}/v1")).unwrap();

    let err = Client::new(config)
        .unwrap()
        .get_project("proj_1")
        .await
        .unwrap_err();

    match &err {
        ApiError::Transport { attempts, path, .. } => {
            assert_eq!(*attempts, 4);
            assert_eq!(path, "/organization/projects/proj_1");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(err.to_string().contains("base URL"), "{err}");
}

#[tokio::test]
async fn update_is_retried_after_a_5xx() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault(Method::POST, &path, status(500));

    let updated = api
        .client()
        .update_provider(
            &p.id,
            &UpdateProviderRequest {
                enabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    assert!(!updated.enabled);
    assert_eq!(api.count(Method::POST, &path), 2);
}

#[tokio::test]
async fn delete_whose_answer_was_lost_then_404_counts_as_deleted() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = provider_path(&p.id);
    api.fault(
        Method::DELETE,
        &path,
        FaultAction::CommitThenStatus { status: 502 },
    );

    let deleted = api.client().delete_provider(&p.id).await.unwrap();

    assert_eq!(deleted.id, p.id);
    assert!(deleted.deleted);
    assert_eq!(deleted.object, OBJECT_PROVIDER_DELETED);
    assert!(api.providers().is_empty());
    assert_eq!(api.count(Method::DELETE, &path), 2);
}

#[tokio::test]
async fn delete_of_a_missing_object_is_not_found() {
    let api = Api::start().await;
    let path = provider_path("wip_missing");

    let err = api
        .client()
        .delete_provider("wip_missing")
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err}");
    assert_eq!(api.count(Method::DELETE, &path), 1);
}

#[tokio::test]
async fn delete_after_a_rate_limit_then_404_is_still_not_found() {
    // A 429 proves the first attempt did nothing, so a 404 afterwards is real.
    let api = Api::start().await;
    let path = provider_path("wip_missing");
    api.fault(Method::DELETE, &path, status(429));

    let err = api
        .client()
        .delete_provider("wip_missing")
        .await
        .unwrap_err();

    assert!(err.is_not_found(), "{err}");
    assert_eq!(api.count(Method::DELETE, &path), 2);
}

// ------------------------------------------------------------ creates

#[tokio::test]
async fn lost_provider_create_returns_the_one_object_it_made() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenStatus { status: 502 },
    );

    let created = api
        .client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    let stored = api.providers();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], created);
    // Found by the lookup: the create was not sent again.
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
    assert!(api.count(Method::GET, PROVIDERS) >= 1);
}

#[tokio::test]
async fn timed_out_provider_create_is_found_not_duplicated() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenDelay { ms: 3000 },
    );
    let mut config = api.config();
    config.request_timeout = Duration::from_millis(500);

    let created = Client::new(config)
        .unwrap()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    let stored = api.providers();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].id, created.id);
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
}

#[tokio::test]
async fn create_that_did_not_happen_is_sent_again_once() {
    // 503 without committing: the lookup finds nothing, so the create is
    // resent. A 409 the server says to retry (a lock timeout) made nothing:
    // resent without a lookup.
    for (action, looked) in [
        (status(503), true),
        (
            FaultAction::reply(409, error_body("busy", "Lock timeout; retry."))
                .with_header("x-should-retry", "true"),
            false,
        ),
    ] {
        let api = Api::start().await;
        api.fault(Method::POST, PROVIDERS, action);

        let created = api
            .client()
            .create_provider(&provider_request("prod"))
            .await
            .unwrap();

        assert_eq!(api.providers(), vec![created]);
        assert_eq!(api.count(Method::POST, PROVIDERS), 2);
        assert_eq!(api.count(Method::GET, PROVIDERS) >= 1, looked);
    }
}

#[tokio::test]
async fn rate_limited_create_is_retried_without_a_lookup() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::reply(429, "").with_header("retry-after-ms", "10"),
    );

    api.client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    assert_eq!(api.providers().len(), 1);
    assert_eq!(api.count(Method::POST, PROVIDERS), 2);
    assert_eq!(api.count(Method::GET, PROVIDERS), 0);
}

#[tokio::test]
async fn unnamed_rule_whose_body_broke_off_is_found() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = rules_path(&p.id);
    let (project, account) = api.seed_binding().await;
    api.fault(Method::POST, &path, FaultAction::CommitThenTruncate);

    let created = api
        .client()
        .create_rule(&p.id, &rule_request(&project, &account))
        .await
        .unwrap();

    assert_eq!(api.rules(), vec![created]);
    assert_eq!(api.count(Method::POST, &path), 1);
    // The lookup asked only for the rule's service account.
    let lookup = api
        .requests()
        .into_iter()
        .find(|r| r.method == Method::GET && r.path == path)
        .expect("a lookup");
    assert!(
        lookup
            .query
            .unwrap_or_default()
            .contains(&format!("service_account_id={account}"))
    );
}

#[tokio::test]
async fn lost_unnamed_rule_create_never_adopts_an_older_identical_rule() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = rules_path(&p.id);
    let (project, account) = api.seed_binding().await;
    let req = rule_request(&project, &account);
    let old = api.seed_old_rule(&p.id, req.clone(), 3600).await;
    assert!(old.created_at <= now() - 3590, "{old:?}");
    // Not committed: the only identical rule is the old one.
    api.fault(Method::POST, &path, status(502));

    let created = api.client().create_rule(&p.id, &req).await.unwrap();

    assert_ne!(created.id, old.id);
    assert_eq!(api.rules().len(), 2);
    assert_eq!(api.count(Method::POST, &path), 2);
}

#[tokio::test]
async fn lost_unnamed_rule_create_picks_the_new_rule_beside_an_old_one() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = rules_path(&p.id);
    let (project, account) = api.seed_binding().await;
    let req = rule_request(&project, &account);
    let old = api.seed_old_rule(&p.id, req.clone(), 3600).await;
    assert!(old.created_at <= now() - 3590, "{old:?}");
    api.fault(
        Method::POST,
        &path,
        FaultAction::CommitThenStatus { status: 500 },
    );

    let created = api.client().create_rule(&p.id, &req).await.unwrap();

    let rules = api.rules();
    assert_eq!(rules.len(), 2);
    assert_ne!(created.id, old.id);
    assert!(rules.contains(&created));
    assert_eq!(api.count(Method::POST, &path), 1);
}

#[tokio::test]
async fn lost_named_rule_create_is_found_by_name() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let path = rules_path(&p.id);
    let (project, account) = api.seed_binding().await;
    api.fault(
        Method::POST,
        &path,
        FaultAction::CommitThenStatus { status: 504 },
    );
    let mut req = rule_request(&project, &account);
    req.name = Some("deploy".into());

    let created = api.client().create_rule(&p.id, &req).await.unwrap();

    assert_eq!(created.name.as_deref(), Some("deploy"));
    assert_eq!(api.rules(), vec![created]);
    assert_eq!(api.count(Method::POST, &path), 1);
}

#[tokio::test]
async fn lost_service_account_and_project_creates_are_found_by_name() {
    let api = Api::start().await;
    let client = api.client();

    api.fault(
        Method::POST,
        "/organization/projects",
        FaultAction::CommitThenStatus { status: 502 },
    );
    let project = client
        .create_project(&CreateProjectRequest {
            name: "wif".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(api.projects(), vec![project.clone()]);

    let sa_path = format!("/organization/projects/{}/service_accounts", project.id);
    api.fault(
        Method::POST,
        &sa_path,
        FaultAction::CommitThenStatus { status: 500 },
    );
    let sa = client
        .create_service_account(
            &project.id,
            &CreateServiceAccountRequest {
                name: "deployer".into(),
                create_service_account_only: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();

    let stored = api.service_accounts();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1.id, sa.id);
    // The key is shown only in the lost answer; a found account has none.
    assert!(sa.api_key.is_none());
    assert_eq!(api.count(Method::POST, &sa_path), 1);
}

#[tokio::test]
async fn create_whose_lookup_fails_reports_an_unknown_outcome() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenStatus { status: 502 },
    );
    api.fault(Method::GET, PROVIDERS, status(403));

    let err = api
        .client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap_err();

    assert!(
        matches!(err, ApiError::CreateOutcomeUnknown { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("\"prod\""), "{text}");
    assert!(text.contains("import"), "{text}");
    // Never resent blindly.
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
}

#[tokio::test]
async fn lost_create_with_no_retries_left_is_still_found() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenStatus { status: 502 },
    );
    let mut config = api.config();
    config.max_retries = 0;

    let created = Client::new(config)
        .unwrap()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    assert_eq!(api.providers(), vec![created]);
}

#[tokio::test]
async fn conflict_on_a_resent_create_returns_the_object_the_lost_attempt_made() {
    // The first attempt commits but its answer is lost, and the object is
    // not yet visible to the lookup (slow replication): the resend then
    // collides with it. That 409 must resolve to the object, not an error.
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenStatus { status: 502 },
    );
    api.fault(
        Method::GET,
        PROVIDERS,
        FaultAction::reply(
            200,
            r#"{"object":"list","data":[],"first_id":null,"last_id":null,"has_more":false}"#,
        ),
    );

    let created = api
        .client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    assert_eq!(api.providers(), vec![created]);
    assert_eq!(api.count(Method::POST, PROVIDERS), 2);
}

#[tokio::test]
async fn create_answered_with_an_unreadable_body_returns_the_stored_object() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::commit_then_reply(200, "{\"truncated\":"),
    );

    let created = api
        .client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    assert_eq!(api.providers(), vec![created]);
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
}

#[tokio::test]
async fn create_failing_with_a_too_long_retry_after_still_looks_for_its_object() {
    let api = Api::start().await;
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::commit_then_reply(503, "").with_header("retry-after", "3600"),
    );

    let created = api
        .client()
        .create_provider(&provider_request("prod"))
        .await
        .unwrap();

    assert_eq!(api.providers(), vec![created]);
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
}

#[tokio::test]
async fn cancelling_ends_a_create_in_flight_and_says_it_may_have_happened() {
    let api = Api::start().await;
    // Committed, and the answer held back far beyond the test.
    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::CommitThenDelay { ms: 600_000 },
    );
    let cancel = openai_admin::CancellationToken::new();
    let mut config = api.config();
    config.request_timeout = Duration::from_secs(600);
    config.cancel = cancel.clone();
    let client = Client::new(config).unwrap();
    let create =
        tokio::spawn(async move { client.create_provider(&provider_request("prod")).await });
    // Wait for the event: the create was carried out on the server.
    while api.providers().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cancel.cancel();
    let err = tokio::time::timeout(Duration::from_secs(10), create)
        .await
        .expect("cancellation ends the request in flight")
        .unwrap()
        .unwrap_err();
    assert!(err.cancelled_after_send(), "{err:?}");
    assert!(err.to_string().contains("may have taken effect"), "{err}");
    // Nothing further was sent: no lookup, no second create.
    assert_eq!(api.count(Method::POST, PROVIDERS), 1);
    assert_eq!(api.count(Method::GET, PROVIDERS), 0);
}
