//! The Admin API client's requests and answers: typed errors, pagination,
//! the admin key, and the token exchange, against the emulator.

use crate::support::*;
use openai_admin::models::*;
use openai_admin::refusal::Reason;
use openai_admin::{ApiError, Client, ExchangeError};
use reqwest::Method;

const PROVIDERS: &str = "/organization/workload_identity_providers";
const PROJECTS: &str = "/organization/projects";

fn exchange_request(x: &Exchange, subject_token: &str) -> TokenExchangeRequest {
    TokenExchangeRequest {
        grant_type: GRANT_TYPE_TOKEN_EXCHANGE.into(),
        subject_token_type: TOKEN_TYPE_JWT.into(),
        subject_token: subject_token.into(),
        identity_provider_id: x.provider_id.clone(),
        service_account_id: x.service_account_id.clone(),
    }
}

/// The request id the emulator gave the last logged request.
fn last_request_id(api: &Api) -> String {
    api.requests().pop().expect("a logged request").request_id
}

// ------------------------------------------------------------ typed errors

#[tokio::test]
async fn not_found_is_typed_with_message_code_and_request_id() {
    let api = Api::start().await;

    let err = api.client().get_provider("wip_nope").await.unwrap_err();

    let sent_id = last_request_id(&api);
    assert!(sent_id.starts_with("req_"), "{sent_id}");
    assert!(err.is_not_found());
    match &err {
        ApiError::Status {
            status,
            message,
            kind,
            code,
            request_id,
            method,
            path,
            ..
        } => {
            assert_eq!(status.as_u16(), 404);
            assert_eq!(
                message,
                "No workload identity provider found with id 'wip_nope'."
            );
            assert_eq!(kind.as_deref(), Some("invalid_request_error"));
            assert_eq!(code.as_deref(), Some("not_found"));
            assert_eq!(request_id.as_deref(), Some(sent_id.as_str()));
            assert_eq!(*method, Method::GET);
            assert_eq!(path, "/organization/workload_identity_providers/wip_nope");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        format!(
            "OpenAI Admin API returned 404 Not Found for GET \
             /organization/workload_identity_providers/wip_nope: not_found: No workload \
             identity provider found with id 'wip_nope'. (request id: {sent_id})"
        )
    );
}

#[tokio::test]
async fn bad_request_names_the_param() {
    let api = Api::start().await;
    let mut req = provider_request("prod");
    req.issuer.clear();

    let err = api.client().create_provider(&req).await.unwrap_err();

    let sent_id = last_request_id(&api);
    match &err {
        ApiError::Status { status, param, .. } => {
            assert_eq!(status.as_u16(), 400);
            assert_eq!(param.as_deref(), Some("issuer"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .contains(&format!("(param: issuer, request id: {sent_id})")),
        "{err}"
    );
}

#[tokio::test]
async fn conflict_is_typed_and_limit_exceeded_is_recognised() {
    let api = Api::start().await;
    api.seed_provider("prod").await;
    let client = api.client();

    let err = client
        .create_provider(&provider_request("prod"))
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert!(!err.is_limit_exceeded());

    api.fault(
        Method::POST,
        PROVIDERS,
        FaultAction::reply(
            409,
            error_body(
                "limit_exceeded",
                "Organization already has 50 workload identity providers.",
            ),
        ),
    );
    let err = client
        .create_provider(&provider_request("other"))
        .await
        .unwrap_err();
    assert!(err.is_conflict());
    assert!(err.is_limit_exceeded());
    assert!(
        err.to_string()
            .contains("409 Conflict for POST /organization/workload_identity_providers: limit_exceeded: Organization already has 50"),
        "{err}"
    );
}

#[tokio::test]
async fn provider_with_rules_cannot_be_deleted() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let (project, account) = api.seed_binding().await;
    api.seed_rule(&p.id, rule_request(&project, &account)).await;

    let err = api.client().delete_provider(&p.id).await.unwrap_err();

    assert!(err.is_conflict(), "{err}");
    assert_eq!(api.providers().len(), 1);
}

#[tokio::test]
async fn a_non_json_error_body_becomes_the_message() {
    let api = Api::start().await;
    let mut config = api.config();
    config.max_retries = 0;
    api.fault(
        Method::GET,
        "/organization/projects/proj_1",
        FaultAction::reply(502, "<html>\n<h1>502 Bad Gateway</h1>\n</html>"),
    );

    let err = Client::new(config)
        .unwrap()
        .get_project("proj_1")
        .await
        .unwrap_err();

    match &err {
        ApiError::Status { message, kind, .. } => {
            assert_eq!(message, "<html> <h1>502 Bad Gateway</h1> </html>");
            assert_eq!(*kind, None);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn an_unexpected_success_body_is_a_decode_error_naming_the_endpoint() {
    let api = Api::start().await;
    api.fault(
        Method::GET,
        "/organization/projects/proj_1",
        FaultAction::reply(200, r#"{"unexpected": true}"#),
    );

    let err = api.client().get_project("proj_1").await.unwrap_err();

    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("unexpected response body for GET /organization/projects/proj_1"),
        "{err}"
    );
}

#[tokio::test]
async fn any_2xx_is_success() {
    let api = Api::start().await;
    let p = api.seed_project("p").await;
    let path = format!("/organization/projects/{}", p.id);
    api.fault(
        Method::GET,
        &path,
        FaultAction::reply(201, serde_json::to_string(&p).unwrap()),
    );
    assert_eq!(api.client().get_project(&p.id).await.unwrap(), p);

    let sa_path = format!("/organization/projects/{}/service_accounts/svc_1", p.id);
    api.fault(Method::DELETE, &sa_path, FaultAction::reply(204, ""));
    let deleted = api
        .client()
        .delete_service_account(&p.id, "svc_1")
        .await
        .unwrap();
    assert_eq!(deleted.id, "svc_1");
    assert_eq!(deleted.object, OBJECT_SERVICE_ACCOUNT_DELETED);
}

#[tokio::test]
async fn empty_ids_are_refused_before_sending() {
    let api = Api::start().await;

    let err = api.client().get_rule("wip_1", "").await.unwrap_err();

    assert!(matches!(err, ApiError::EmptyId { .. }), "{err:?}");
    assert!(api.requests().is_empty());
}

#[tokio::test]
async fn dot_ids_are_refused_before_sending() {
    let api = Api::start().await;
    for id in [".", ".."] {
        let err = api.client().get_rule(id, "fr_1").await.unwrap_err();
        assert!(matches!(err, ApiError::PathStepId { .. }), "{err:?}");
        assert!(err.to_string().contains("path step"), "{err}");
        let err = api.client().get_provider(id).await.unwrap_err();
        assert!(matches!(err, ApiError::PathStepId { .. }), "{err:?}");
    }
    assert!(api.requests().is_empty());
}

// ------------------------------------------------------------ pagination

#[tokio::test]
async fn list_all_walks_every_page() {
    // Projects, since an organization holds at most 50 providers.
    let api = Api::start().await;
    for i in 0..250 {
        api.seed_project(&format!("p{i:03}")).await;
    }

    let all = api.client().list_all_projects().await.unwrap();

    assert_eq!(all.len(), 250);
    let mut ids: Vec<_> = all.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 250);

    let lists: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == Method::GET && r.path == PROJECTS)
        .collect();
    assert_eq!(lists.len(), 3);
    assert_eq!(lists[0].query.as_deref(), Some("limit=100"));
    // Each next page starts after the previous page's last id.
    assert_eq!(
        lists[1].query.as_deref(),
        Some(format!("after={}&limit=100", all[99].id).as_str())
    );
    assert_eq!(
        lists[2].query.as_deref(),
        Some(format!("after={}&limit=100", all[199].id).as_str())
    );
}

#[tokio::test]
async fn one_page_and_filtered_rule_listing() {
    let api = Api::start().await;
    let p = api.seed_provider("prod").await;
    let project = api.seed_project("wif").await.id;
    let svc_a = api.seed_account(&project, "a").await;
    let svc_b = api.seed_account(&project, "b").await;
    for sa in [&svc_a, &svc_b, &svc_a] {
        api.seed_rule(&p.id, rule_request(&project, sa)).await;
    }
    let client = api.client();

    let page = client
        .list_rules(
            &p.id,
            &ListRulesParams {
                page: ListParams {
                    limit: Some(2),
                    order: Some(SortOrder::Asc),
                    after: None,
                },
                service_account_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.data.len(), 2);
    assert!(page.has_more);
    assert_eq!(page.data[0].service_account_id, svc_a);

    let only_a = client.list_all_rules(&p.id, Some(&svc_a)).await.unwrap();
    assert_eq!(only_a.len(), 2);
    assert!(only_a.iter().all(|r| r.service_account_id == svc_a));
    let last = api.requests().pop().unwrap();
    assert!(
        last.query
            .unwrap_or_default()
            .contains(&format!("service_account_id={svc_a}"))
    );
}

// ------------------------------------------------------------ admin key

#[tokio::test]
async fn admin_requests_carry_the_bearer_key() {
    let api = Api::start().await;

    api.client().list_all_projects().await.unwrap();

    // The emulator logs which credential came, never the value: the admin key.
    let req = api.requests().pop().unwrap();
    assert_eq!(req.authorization, Some(Credential::AdminKey));
}

#[tokio::test]
async fn missing_admin_key_fails_only_when_an_admin_method_is_called() {
    let api = Api::start().await;
    let x = api.seed_exchange().await;
    let mut config = api.config();
    config.admin_key = None;

    // Building the client and exchanging tokens need no admin key.
    let client = Client::new(config).unwrap();
    let token = client
        .exchange_token(&exchange_request(&x, &api.subject_token(REPOSITORY)))
        .await
        .unwrap();
    assert_eq!(token.expires_in, 3600);

    let err = client.list_all_providers().await.unwrap_err();
    assert!(matches!(err, ApiError::MissingAdminKey), "{err:?}");
    assert!(err.to_string().contains("admin_api_key"));
    assert!(err.to_string().contains("OPENAI_ADMIN_KEY"));
    // Only the exchange reached the server.
    let paths: Vec<_> = api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/oauth/token"]);
}

#[tokio::test]
async fn a_rejected_admin_key_says_what_to_fix() {
    let api = Api::start().await;
    let mut config = api.config();
    config.admin_key = Some("sk-wrong".into());

    let err = Client::new(config)
        .unwrap()
        .list_all_projects()
        .await
        .unwrap_err();

    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let text = err.to_string();
    assert!(text.contains("admin_api_key"), "{text}");
    assert!(!text.contains("sk-wrong"), "{text}");
}

#[tokio::test]
async fn a_restricted_admin_key_is_told_apart_from_an_invalid_one() {
    let mut emulator = openai_emulator::EmulatorConfig::new(ADMIN_KEY);
    emulator.read_only_admin_key = Some("sk-read-only-admin".into());
    let api = Api::start_with(emulator).await;
    let mut config = api.config();
    config.admin_key = Some("sk-read-only-admin".into());
    let client = Client::new(config).unwrap();

    // Reads work...
    client.list_all_projects().await.unwrap();
    // ...and a write is OpenAI's 401 "Missing scopes", with advice to match.
    let err = client
        .create_provider(&provider_request("prod"))
        .await
        .unwrap_err();

    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    let text = err.to_string();
    assert!(
        text.contains("Missing scopes: api.management.write"),
        "{text}"
    );
    assert!(text.contains("valid but restricted"), "{text}");
    assert!(!text.contains("holds a valid Admin API key"), "{text}");
    assert!(!text.contains("sk-read-only-admin"), "{text}");
    assert!(api.providers().is_empty());
}

// ------------------------------------------------------------ token exchange

#[tokio::test]
async fn exchange_sends_no_authorization_header() {
    let api = Api::start().await;
    let x = api.seed_exchange().await;

    let token = api
        .client()
        .exchange_token(&exchange_request(&x, &api.subject_token(REPOSITORY)))
        .await
        .unwrap();

    // The emulator's access tokens are `wifat_` and 64 hex digits.
    assert!(token.access_token.starts_with("wifat_"), "{token:?}");
    assert_eq!(token.token_type, "Bearer");
    let req = api.requests().pop().unwrap();
    assert_eq!(req.path, "/oauth/token");
    assert_eq!(req.authorization, None);
    // Debug output never shows the token.
    assert!(!format!("{token:?}").contains(&token.access_token));
}

#[tokio::test]
async fn exchange_refusal_keeps_the_oauth_error_and_description() {
    let mut config = openai_emulator::EmulatorConfig::new(crate::support::ADMIN_KEY);
    config.verbose_refusals = true;
    let api = Api::start_with(config).await;
    let x = api.seed_exchange().await;
    // Well signed, but from a repository no mapping accepts.
    let other_token = api.subject_token("evil/repo");

    let err = api
        .client()
        .exchange_token(&exchange_request(&x, &other_token))
        .await
        .unwrap_err();
    let sent_id = last_request_id(&api);

    match &err {
        ExchangeError::OAuth {
            status,
            error,
            error_description,
            request_id,
            ..
        } => {
            assert_eq!(status.as_u16(), 401);
            assert_eq!(error, "invalid_grant");
            let description = error_description.as_deref().unwrap_or_default();
            assert!(
                description.starts_with(Reason::NoMatchingRule.message()),
                "{description}"
            );
            assert!(description.contains("evil/repo"), "{description}");
            assert_eq!(request_id.as_deref(), Some(sent_id.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    // The shared reason reads back from the code and the description.
    assert_eq!(err.refusal_reason(), Some(Reason::NoMatchingRule));
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "invalid_grant: {} (no enabled federation rule matches: ",
            Reason::NoMatchingRule.message()
        )),
        "{text}"
    );
    assert!(!text.contains(&other_token), "{text}");
    // A refusal is final: not retried.
    assert_eq!(api.requests().len(), 1);
}

#[tokio::test]
async fn exchange_is_retried_after_a_rate_limit() {
    let api = Api::start().await;
    let x = api.seed_exchange().await;
    api.fault(Method::POST, "/oauth/token", status(429));

    api.client()
        .exchange_token(&exchange_request(&x, &api.subject_token(REPOSITORY)))
        .await
        .unwrap();

    assert_eq!(api.count(Method::POST, "/oauth/token"), 2);
}

#[tokio::test]
async fn exchange_error_body_echoing_the_subject_token_is_not_quoted() {
    let api = Api::start().await;
    let x = api.seed_exchange().await;
    let subject_token = api.subject_token(REPOSITORY);
    let mut config = api.config();
    config.max_retries = 0;
    api.fault(
        Method::POST,
        "/oauth/token",
        FaultAction::reply(
            500,
            format!("internal error while handling {subject_token}"),
        ),
    );

    let err = Client::new(config)
        .unwrap()
        .exchange_token(&exchange_request(&x, &subject_token))
        .await
        .unwrap_err();

    assert!(matches!(err, ExchangeError::Status { .. }), "{err:?}");
    assert!(!err.to_string().contains(&subject_token), "{err}");
}

#[tokio::test]
async fn a_request_that_keeps_timing_out_is_a_timeout_error() {
    let api = Api::start().await;
    let mut config = api.config();
    config.request_timeout = std::time::Duration::from_millis(300);
    config.max_retries = 1;
    // Every attempt (the first and its one retry) stalls past the timeout.
    api.fault_n(
        2,
        Method::GET,
        PROJECTS,
        openai_emulator::FaultAction::Delay { ms: 2000 },
    );
    let e = Client::new(config)
        .unwrap()
        .list_projects(&ListParams::default())
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert!(
        matches!(e, ApiError::Transport { attempts: 2, .. }),
        "{e:?}"
    );
    // Other failures are not timeouts.
    api.fault(Method::GET, PROJECTS, status(400));
    let e = api
        .client()
        .list_projects(&ListParams::default())
        .await
        .unwrap_err();
    assert!(!e.is_timeout(), "{e:?}");
}

/// Project API keys: the key of an account made the old way is listed (with
/// its redacted value only), retrieved, marked used by a model call with it,
/// and deleted.
#[tokio::test]
async fn project_api_keys_list_retrieve_and_delete() {
    use openai_admin::Secret;
    let api = Api::start().await;
    let client = api.client();
    let project = api.seed_project("p").await;
    let sa = client
        .create_service_account(
            &project.id,
            &CreateServiceAccountRequest {
                name: "old-ci".into(),
                create_service_account_only: false,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let value = sa.api_key.unwrap().value;
    let keys = client.list_all_project_api_keys(&project.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(key.owner_kind(), Some("service_account"));
    assert_eq!(key.owner.service_account.as_ref().unwrap().id, sa.id);
    assert_eq!(key.last_used_at, None);
    assert!(!key.redacted_value.contains(&value[8..value.len() - 4]));

    let models = client
        .list_models(&Secret::new(value.as_str()))
        .await
        .unwrap();
    assert_eq!(models.status.as_u16(), 200);
    let used = client
        .get_project_api_key(&project.id, &key.id)
        .await
        .unwrap();
    assert!(used.last_used_at.is_some());

    client
        .delete_project_api_key(&project.id, &key.id)
        .await
        .unwrap();
    assert!(
        client
            .list_all_project_api_keys(&project.id)
            .await
            .unwrap()
            .is_empty()
    );
    let gone = client
        .list_models(&Secret::new(value.as_str()))
        .await
        .unwrap();
    assert_eq!(gone.status.as_u16(), 401);
    assert_eq!(gone.code.as_deref(), Some("invalid_api_key"));
}
