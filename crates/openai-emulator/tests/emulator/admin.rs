//! Admin API of the emulator: every endpoint, every documented error,
//! pagination, limits and concurrent writers.

use std::collections::HashSet;
use std::sync::Arc;

use crate::support::{Emu, assert_api_error};
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";

fn provider_body(name: &str) -> Value {
    json!({"name": name, "issuer": "https://issuer.example.com", "audience": "https://api.openai.com/v1", "type": "oidc"})
}

fn rules_path(provider: &str) -> String {
    format!("{PROVIDERS}/{provider}/federation_rules")
}

#[tokio::test]
async fn auth_is_required_and_checked() {
    let e = Emu::start().await;
    let resp = e.http.get(e.url(PROVIDERS)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");

    let resp = e
        .http
        .get(e.url(PROVIDERS))
        .bearer_auth("sk-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_api_key");

    let (s, _) = e.get(PROVIDERS).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn provider_crud() {
    let e = Emu::start().await;
    let p = e.provider(provider_body("gha")).await;
    let id = p["id"].as_str().unwrap();
    assert!(id.starts_with("wip_"));
    assert_eq!(p["object"], "organization.workload_identity_provider");
    assert_eq!(p["type"], "oidc");
    assert_eq!(p["enabled"], true);
    assert_eq!(p["description"], Value::Null);
    assert_eq!(
        p["verification"],
        json!({"type": "discovery", "discovery_url": null})
    );
    assert_eq!(p["attribute_transformations"], json!([]));
    assert!(p["created_at"].as_i64().unwrap() > 1_700_000_000);
    assert_eq!(p["created_at"], p["updated_at"]);

    let (s, got) = e.get(&format!("{PROVIDERS}/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(got, p);

    // Partial update: only the given fields change.
    let (s, u) = e
        .post(
            &format!("{PROVIDERS}/{id}"),
            json!({"description": "prod", "enabled": false,
                   "attribute_transformations": [{"attribute": "openai.subject", "expression": "assertion.sub"}]}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["description"], "prod");
    assert_eq!(u["enabled"], false);
    assert_eq!(u["name"], "gha");
    assert_eq!(u["issuer"], p["issuer"]);
    assert_eq!(
        u["attribute_transformations"][0]["attribute"],
        "openai.subject"
    );
    assert!(u["updated_at"].as_i64() >= p["updated_at"].as_i64());

    // description null clears; verification replaced whole.
    let jwks = json!({"keys": [{"kty": "RSA", "kid": "k1", "n": "AQAB", "e": "AQAB"}]});
    let (s, u) = e
        .post(
            &format!("{PROVIDERS}/{id}"),
            json!({"description": null, "verification": {"type": "uploaded_jwks", "jwks": jwks}}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["description"], Value::Null);
    assert_eq!(u["verification"]["jwks"], jwks);

    let (s, l) = e.get(PROVIDERS).await;
    assert_eq!(s, 200);
    assert_eq!(l["object"], "list");
    assert_eq!(l["data"].as_array().unwrap().len(), 1);

    let (s, d) = e.delete(&format!("{PROVIDERS}/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(
        d,
        json!({"object": "organization.workload_identity_provider.deleted", "id": id, "deleted": true})
    );
    assert_api_error(
        &e.get(&format!("{PROVIDERS}/{id}")).await,
        404,
        Some("not_found"),
        None,
    );
}

#[tokio::test]
async fn provider_validation_errors_name_the_param() {
    let e = Emu::start().await;
    let long_attr = format!("openai.{}", "a".repeat(250));
    let long_expr = "a".repeat(4097);
    let twenty_one: Vec<Value> = (0..21)
        .map(|i| json!({"attribute": format!("openai.a{i}"), "expression": "assertion.sub"}))
        .collect();
    let with = |extra: Value| {
        let mut b = provider_body("x");
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let rsa = |kid: &str| json!({"kty": "RSA", "kid": kid, "n": "AQAB", "e": "AQAB"});
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"issuer": "https://i", "audience": "a"}),
            "name",
            "missing_required_parameter",
        ),
        (
            json!({"name": "n", "audience": "a"}),
            "issuer",
            "missing_required_parameter",
        ),
        (
            json!({"name": "n", "issuer": "https://i"}),
            "audience",
            "missing_required_parameter",
        ),
        (with(json!({"name": ""})), "name", "invalid_value"),
        (with(json!({"issuer": ""})), "issuer", "invalid_value"),
        (with(json!({"audience": 5})), "audience", "invalid_type"),
        (with(json!({"enabled": "yes"})), "enabled", "invalid_type"),
        (
            with(json!({"description": 1})),
            "description",
            "invalid_type",
        ),
        (with(json!({"type": "saml"})), "type", "invalid_value"),
        (
            with(json!({"unknown_field": 1})),
            "unknown_field",
            "unknown_parameter",
        ),
        (
            with(json!({"attribute_transformations": twenty_one})),
            "attribute_transformations",
            "invalid_value",
        ),
        (
            with(json!({"attribute_transformations": {}})),
            "attribute_transformations",
            "invalid_type",
        ),
        (
            with(
                json!({"attribute_transformations": [{"attribute": long_attr, "expression": "assertion.sub"}]}),
            ),
            "attribute_transformations[0].attribute",
            "invalid_value",
        ),
        (
            with(
                json!({"attribute_transformations": [{"attribute": "", "expression": "assertion.sub"}]}),
            ),
            "attribute_transformations[0].attribute",
            "invalid_value",
        ),
        (
            with(
                json!({"attribute_transformations": [{"attribute": "openai.x", "expression": long_expr}]}),
            ),
            "attribute_transformations[0].expression",
            "invalid_value",
        ),
        (
            with(
                json!({"attribute_transformations": [{"attribute": "openai.x", "expression": ""}]}),
            ),
            "attribute_transformations[0].expression",
            "invalid_value",
        ),
        (
            with(json!({"attribute_transformations": [{"attribute": "openai.x"}]})),
            "attribute_transformations[0].expression",
            "missing_required_parameter",
        ),
        (
            with(
                json!({"attribute_transformations": [{"attribute": "subject", "expression": "assertion.sub"}]}),
            ),
            "attribute_transformations[0].attribute",
            "invalid_value",
        ),
        (
            with(json!({"verification": {"type": "uploaded_jwks"}})),
            "verification.jwks",
            "missing_required_parameter",
        ),
        (
            with(json!({"verification": {"type": "uploaded_jwks", "jwks": {}}})),
            "verification.jwks.keys",
            "missing_required_parameter",
        ),
        (
            with(json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": []}}})),
            "verification.jwks.keys",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": [rsa("a"), rsa("a")]}}}),
            ),
            "verification.jwks.keys[1].kid",
            "invalid_value",
        ),
        (
            with(json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": [rsa("")]}}})),
            "verification.jwks.keys[0].kid",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}}}),
            ),
            "verification.jwks.keys[0].kid",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": [{"kty": "RSA", "kid": "a", "n": "x", "e": "AQAB", "d": "secret"}]}}}),
            ),
            "verification.jwks.keys[0].d",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "uploaded_jwks", "jwks": {"keys": [{"kty": "EC", "kid": "a", "x": "x", "y": "y", "crv": "P-256", "p": "s"}]}}}),
            ),
            "verification.jwks.keys[0].p",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "http://issuer.example.com"}}),
            ),
            "verification.discovery_url",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "https://user:pw@issuer.example.com"}}),
            ),
            "verification.discovery_url",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "https://issuer.example.com:8443"}}),
            ),
            "verification.discovery_url",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "https://issuer.example.com/?x=1"}}),
            ),
            "verification.discovery_url",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "https://issuer.example.com/#f"}}),
            ),
            "verification.discovery_url",
            "invalid_value",
        ),
        (
            with(
                json!({"verification": {"type": "discovery", "discovery_url": "https://issuer.example.com", "jwks": {"keys": [rsa("a")]}}}),
            ),
            "verification.jwks",
            "unknown_parameter",
        ),
        (
            with(json!({"verification": {"type": "x509"}})),
            "verification.type",
            "invalid_value",
        ),
    ];
    for (body, param, code) in cases {
        let reply = e.post(PROVIDERS, body.clone()).await;
        assert_api_error(&reply, 400, Some(code), Some(param));
    }
    // Nothing was created by the refused requests.
    let (_, l) = e.get(PROVIDERS).await;
    assert_eq!(l["data"], json!([]));

    // Bodies that are not JSON objects.
    assert_api_error(
        &e.post_raw(PROVIDERS, "{not json").await,
        400,
        Some("invalid_json"),
        None,
    );
    assert_api_error(
        &e.post_raw(PROVIDERS, "[1]").await,
        400,
        Some("invalid_json"),
        None,
    );

    // Loopback http discovery is accepted (local tests).
    let reply = e
        .post(PROVIDERS, with(json!({"verification": {"type": "discovery", "discovery_url": "http://127.0.0.1:9/x"}})))
        .await;
    assert_eq!(reply.0, 200, "{}", reply.1);

    // Update-only rules.
    let id = reply.1["id"].as_str().unwrap().to_owned();
    let path = format!("{PROVIDERS}/{id}");
    assert_api_error(
        &e.post(&path, json!({"type": "oidc"})).await,
        400,
        Some("unknown_parameter"),
        Some("type"),
    );
    assert_api_error(
        &e.post(&path, json!({"name": ""})).await,
        400,
        Some("invalid_value"),
        Some("name"),
    );
    assert_api_error(
        &e.post(&path, json!({"name": null})).await,
        400,
        Some("invalid_type"),
        Some("name"),
    );
    assert_api_error(
        &e.post(&path, json!({"enabled": null})).await,
        400,
        Some("invalid_type"),
        Some("enabled"),
    );
}

#[tokio::test]
async fn unknown_ids_are_404() {
    let e = Emu::start().await;
    let missing = format!("{PROVIDERS}/wip_missing");
    assert_api_error(&e.get(&missing).await, 404, Some("not_found"), None);
    assert_api_error(
        &e.post(&missing, json!({"enabled": false})).await,
        404,
        Some("not_found"),
        None,
    );
    assert_api_error(&e.delete(&missing).await, 404, Some("not_found"), None);
    assert_api_error(
        &e.get(&rules_path("wip_missing")).await,
        404,
        Some("not_found"),
        None,
    );
    assert_api_error(
        &e.post(&rules_path("wip_missing"), json!({"project_id": "p", "service_account_id": "s", "attribute_matchers": {"sub": "x"}})).await,
        404,
        Some("not_found"),
        None,
    );
    assert_api_error(
        &e.get("/v1/organization/projects/proj_missing").await,
        404,
        Some("not_found"),
        None,
    );
    assert_api_error(
        &e.get("/v1/organization/projects/proj_missing/service_accounts")
            .await,
        404,
        Some("not_found"),
        None,
    );

    // A rule is only found under its own provider.
    let project = e.project("p").await;
    let sa = e.service_account(&project).await;
    let a = e.provider(provider_body("a")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let b = e.provider(provider_body("b")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let rule = e
        .rule(&a, json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": "x"}}))
        .await;
    let rid = rule["id"].as_str().unwrap();
    let wrong = format!("{}/{rid}", rules_path(&b));
    assert_api_error(&e.get(&wrong).await, 404, Some("not_found"), None);
    assert_api_error(
        &e.post(&wrong, json!({"enabled": false})).await,
        404,
        Some("not_found"),
        None,
    );
    assert_api_error(&e.delete(&wrong).await, 404, Some("not_found"), None);
    assert_api_error(
        &e.get(&format!("{}/wifr_missing", rules_path(&a))).await,
        404,
        Some("not_found"),
        None,
    );

    // A service account is only found under its own project.
    let other = e.project("other").await;
    assert_api_error(
        &e.get(&format!(
            "/v1/organization/projects/{other}/service_accounts/{sa}"
        ))
        .await,
        404,
        Some("not_found"),
        None,
    );

    // Wrong methods are OpenAI's 404 "Invalid URL", not 405...
    let resp = e
        .http
        .patch(e.url(&format!("{PROVIDERS}/{a}")))
        .bearer_auth(crate::support::ADMIN_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["error"]["message"],
        format!("Invalid URL (PATCH {PROVIDERS}/{a})")
    );
    assert_eq!(v["error"]["code"], Value::Null);

    // ...like unknown URLs.
    let (s, v) = e.get("/v1/organization/nothing_here").await;
    assert_eq!(s, 404);
    assert_eq!(
        v["error"]["message"],
        "Invalid URL (GET /v1/organization/nothing_here)"
    );
    assert_eq!(v["error"]["code"], Value::Null);
}

#[tokio::test]
async fn duplicate_provider_names_conflict() {
    let e = Emu::start().await;
    e.provider(provider_body("same")).await;
    let reply = e.post(PROVIDERS, provider_body("same")).await;
    assert_api_error(&reply, 409, Some("conflict"), Some("name"));
    let other = e.provider(provider_body("other")).await;
    let path = format!("{PROVIDERS}/{}", other["id"].as_str().unwrap());
    assert_api_error(
        &e.post(&path, json!({"name": "same"})).await,
        409,
        Some("conflict"),
        Some("name"),
    );
    // Renaming to its own name is fine.
    let (s, _) = e.post(&path, json!({"name": "other"})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn federation_rule_crud_and_filter() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let sa1 = e.service_account(&project).await;
    let sa2 = e.service_account(&project).await;
    let pid = e.provider(provider_body("p")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r1 = e
        .rule(&pid, json!({"project_id": project, "service_account_id": sa1, "attribute_matchers": {"sub": "repo:org/*", "email_verified": true, "run": 7}}))
        .await;
    assert!(r1["id"].as_str().unwrap().starts_with("wifr_"));
    assert_eq!(
        r1["object"],
        "organization.workload_identity_federation_rule"
    );
    assert_eq!(r1["workload_identity_provider_id"], pid.as_str());
    assert_eq!(r1["enabled"], true);
    assert_eq!(r1["name"], Value::Null);
    assert_eq!(
        r1["permissions"],
        json!({"type": "service_account_default"})
    );
    assert_eq!(r1["attribute_matchers"]["email_verified"], true);
    assert_eq!(r1["attribute_matchers"]["run"], 7);

    let r2 = e
        .rule(&pid, json!({"project_id": project, "service_account_id": sa2, "name": "deploy", "description": "d",
                            "enabled": false, "attribute_matchers": {"sub": "x"},
                            "permissions": {"type": "restricted", "scopes": ["api.model.read", "api.model.request"]}}))
        .await;
    // Duplicate (provider, service account) is allowed at create.
    let r3 = e
        .rule(&pid, json!({"project_id": project, "service_account_id": sa1, "attribute_matchers": {"sub": "y"}}))
        .await;

    let (s, all) = e.get(&rules_path(&pid)).await;
    assert_eq!(s, 200);
    assert_eq!(all["data"].as_array().unwrap().len(), 3);
    let (_, filtered) = e
        .get(&format!(
            "{}?service_account_id={sa1}&order=asc",
            rules_path(&pid)
        ))
        .await;
    let ids: Vec<&str> = filtered["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![r1["id"].as_str().unwrap(), r3["id"].as_str().unwrap()]
    );

    let path = format!("{}/{}", rules_path(&pid), r2["id"].as_str().unwrap());
    let (_, got) = e.get(&path).await;
    assert_eq!(got, r2);
    let (s, u) = e
        .post(
            &path,
            json!({"name": null, "enabled": true, "attribute_matchers": {"aud": "a"}}),
        )
        .await;
    assert_eq!(s, 200, "{u}");
    assert_eq!(u["name"], Value::Null);
    assert_eq!(u["enabled"], true);
    assert_eq!(u["attribute_matchers"], json!({"aud": "a"}));
    assert_eq!(u["description"], "d");
    assert_eq!(
        u["permissions"]["scopes"],
        json!(["api.model.read", "api.model.request"])
    );

    let (s, d) = e.delete(&path).await;
    assert_eq!(s, 200);
    assert_eq!(
        d["object"],
        "organization.workload_identity_federation_rule.deleted"
    );
    assert_eq!(d["deleted"], true);
    assert_api_error(&e.get(&path).await, 404, Some("not_found"), None);
}

#[tokio::test]
async fn rule_validation_errors() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let sa = e.service_account(&project).await;
    let other_project = e.project("q").await;
    let other_sa = e.service_account(&other_project).await;
    let pid = e.provider(provider_body("p")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = rules_path(&pid);
    let base = json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": "x"}});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(k);
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            without("project_id"),
            "project_id",
            "missing_required_parameter",
        ),
        (
            without("service_account_id"),
            "service_account_id",
            "missing_required_parameter",
        ),
        (
            without("attribute_matchers"),
            "attribute_matchers",
            "missing_required_parameter",
        ),
        (with("project_id", json!("")), "project_id", "invalid_value"),
        (
            with("attribute_matchers", json!({})),
            "attribute_matchers",
            "invalid_value",
        ),
        (
            with("attribute_matchers", json!([])),
            "attribute_matchers",
            "invalid_type",
        ),
        (
            with("attribute_matchers", json!({"sub": {"a": 1}})),
            "attribute_matchers.sub",
            "invalid_type",
        ),
        (
            with("attribute_matchers", json!({"sub": ["a"]})),
            "attribute_matchers.sub",
            "invalid_type",
        ),
        (
            with("attribute_matchers", json!({"sub": null})),
            "attribute_matchers.sub",
            "invalid_type",
        ),
        (
            with("attribute_matchers", json!({"sub": "*"})),
            "attribute_matchers.sub",
            "invalid_value",
        ),
        (
            with("attribute_matchers", json!({"sub": "repo:*:prod"})),
            "attribute_matchers.sub",
            "invalid_value",
        ),
        (
            with("attribute_matchers", json!({"sub": "repo/*/main"})),
            "attribute_matchers.sub",
            "invalid_value",
        ),
        (
            with("permissions", json!({"type": "restricted", "scopes": []})),
            "permissions.scopes",
            "invalid_value",
        ),
        (
            with("permissions", json!({"type": "restricted"})),
            "permissions.scopes",
            "missing_required_parameter",
        ),
        (
            with("permissions", json!({"type": "admin"})),
            "permissions.type",
            "invalid_value",
        ),
        // Admin API scopes cannot be granted; "admin" is no scope at all.
        (
            with(
                "permissions",
                json!({"type": "restricted", "scopes": ["api.model.read", "api.management.write"]}),
            ),
            "permissions.scopes[1]",
            "invalid_value",
        ),
        (
            with(
                "permissions",
                json!({"type": "restricted", "scopes": ["admin"]}),
            ),
            "permissions.scopes[0]",
            "invalid_value",
        ),
        (with("enabled", json!(1)), "enabled", "invalid_type"),
        // Dangling references: 400 naming the field.
        (
            with("project_id", json!("proj_missing")),
            "project_id",
            "invalid_value",
        ),
        (
            with("service_account_id", json!("svc_acct_missing")),
            "service_account_id",
            "invalid_value",
        ),
        (
            with("service_account_id", json!(other_sa)),
            "service_account_id",
            "invalid_value",
        ),
    ];
    for (body, param, code) in cases {
        assert_api_error(&e.post(&path, body).await, 400, Some(code), Some(param));
    }
    let (_, l) = e.get(&path).await;
    assert_eq!(l["data"], json!([]));

    // Update: identity fields cannot change; names stay unique per provider.
    let r = e.rule(&pid, with("name", json!("one"))).await;
    e.rule(&pid, with("name", json!("two"))).await;
    let rpath = format!("{path}/{}", r["id"].as_str().unwrap());
    assert_api_error(
        &e.post(&rpath, json!({"project_id": other_project})).await,
        400,
        Some("unknown_parameter"),
        Some("project_id"),
    );
    assert_api_error(
        &e.post(&rpath, json!({"service_account_id": other_sa}))
            .await,
        400,
        Some("unknown_parameter"),
        Some("service_account_id"),
    );
    assert_api_error(
        &e.post(&rpath, json!({"attribute_matchers": {"sub": "*"}}))
            .await,
        400,
        Some("invalid_value"),
        Some("attribute_matchers.sub"),
    );
    assert_api_error(
        &e.post(&rpath, json!({"name": "two"})).await,
        409,
        Some("conflict"),
        Some("name"),
    );
    assert_api_error(
        &e.post(&path, with("name", json!("two"))).await,
        409,
        Some("conflict"),
        Some("name"),
    );
    // The same rule name under another provider is fine.
    let pid2 = e.provider(provider_body("p2")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    e.rule(&pid2, with("name", json!("two"))).await;
}

#[tokio::test]
async fn provider_with_rules_cannot_be_deleted() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let sa = e.service_account(&project).await;
    let pid = e.provider(provider_body("p")).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = e
        .rule(&pid, json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": "x"}}))
        .await;
    let reply = e.delete(&format!("{PROVIDERS}/{pid}")).await;
    assert_api_error(&reply, 409, Some("conflict"), None);
    assert!(
        reply.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("delete")
    );
    let (s, _) = e
        .delete(&format!(
            "{}/{}",
            rules_path(&pid),
            r["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    let (s, _) = e.delete(&format!("{PROVIDERS}/{pid}")).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn limits_of_50_providers_and_50_rules() {
    let e = Emu::start().await;
    for i in 0..50 {
        e.provider(provider_body(&format!("p{i}"))).await;
    }
    let reply = e.post(PROVIDERS, provider_body("p50")).await;
    assert_api_error(&reply, 409, Some("limit_exceeded"), None);
    assert!(reply.1["error"]["message"].as_str().unwrap().contains("50"));

    let (_, first) = e.get(&format!("{PROVIDERS}?limit=1")).await;
    let pid = first["data"][0]["id"].as_str().unwrap().to_owned();
    let project = e.project("p").await;
    let sa = e.service_account(&project).await;
    for i in 0..50 {
        e.rule(&pid, json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": format!("s{i}")}}))
            .await;
    }
    let reply = e
        .post(&rules_path(&pid), json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": "s50"}}))
        .await;
    assert_api_error(&reply, 409, Some("limit_exceeded"), None);
    assert!(reply.1["error"]["message"].as_str().unwrap().contains("50"));

    // Freeing one slot makes room again.
    let (_, rules) = e.get(&format!("{}?limit=1", rules_path(&pid))).await;
    let rid = rules["data"][0]["id"].as_str().unwrap();
    e.delete(&format!("{}/{rid}", rules_path(&pid))).await;
    e.rule(&pid, json!({"project_id": project, "service_account_id": sa, "attribute_matchers": {"sub": "again"}}))
        .await;
}

async fn collect_pages(e: &Emu, order: &str, limit: u32) -> (Vec<String>, Vec<Value>) {
    let mut ids = Vec::new();
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = format!("{PROVIDERS}?limit={limit}&order={order}");
        if let Some(a) = &after {
            path.push_str(&format!("&after={a}"));
        }
        let (s, page) = e.get(&path).await;
        assert_eq!(s, 200, "{page}");
        let data = page["data"].as_array().unwrap();
        ids.extend(data.iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        if let Some(first) = data.first() {
            assert_eq!(page["first_id"], first["id"]);
            assert_eq!(page["last_id"], data.last().unwrap()["id"]);
        } else {
            assert_eq!(page["first_id"], Value::Null);
        }
        let more = page["has_more"].as_bool().unwrap();
        after = page["last_id"].as_str().map(str::to_owned);
        pages.push(page);
        if !more {
            return (ids, pages);
        }
    }
}

#[tokio::test]
async fn pagination_across_pages() {
    let e = Emu::start().await;
    let mut created = Vec::new();
    for i in 0..45 {
        created.push(
            e.provider(provider_body(&format!("p{i:02}"))).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // Default: limit 20, newest first.
    let (_, page) = e.get(PROVIDERS).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 20);
    assert_eq!(page["has_more"], true);
    assert_eq!(
        page["first_id"].as_str(),
        created.last().map(String::as_str)
    );

    let (desc, pages) = collect_pages(&e, "desc", 20).await;
    let sizes: Vec<usize> = pages
        .iter()
        .map(|p| p["data"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, vec![20, 20, 5]);
    let mut reversed = created.clone();
    reversed.reverse();
    assert_eq!(desc, reversed);

    let (asc, pages) = collect_pages(&e, "asc", 20).await;
    assert_eq!(asc, created);
    assert_eq!(pages.len(), 3);

    let (all, pages) = collect_pages(&e, "asc", 100).await;
    assert_eq!(all, created);
    assert_eq!(pages.len(), 1);

    // A deleted cursor still pages on; an id never listed is refused.
    e.delete(&format!("{PROVIDERS}/{}", created[10])).await;
    let (s, page) = e
        .get(&format!(
            "{PROVIDERS}?order=asc&limit=3&after={}",
            created[10]
        ))
        .await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![
            created[11].as_str(),
            created[12].as_str(),
            created[13].as_str()
        ]
    );

    for (query, param) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("order=sideways", "order"),
        ("after=wip_never", "after"),
        ("after=", "after"),
    ] {
        let reply = e.get(&format!("{PROVIDERS}?{query}")).await;
        assert_eq!(reply.0, 400, "{query}: {}", reply.1);
        assert_eq!(reply.1["error"]["param"], param, "{query}");
    }
}

#[tokio::test]
async fn projects_and_service_accounts() {
    let e = Emu::start().await;
    let (s, p) = e
        .post("/v1/organization/projects", json!({"name": "demo"}))
        .await;
    assert_eq!(s, 200);
    assert_eq!(p["object"], "organization.project");
    assert_eq!(p["status"], "active");
    let pid = p["id"].as_str().unwrap();
    assert!(pid.starts_with("proj_"));
    let (_, got) = e.get(&format!("/v1/organization/projects/{pid}")).await;
    assert_eq!(got, p);
    let (_, list) = e.get("/v1/organization/projects").await;
    assert_eq!(list["data"], json!([p]));
    assert_api_error(
        &e.post("/v1/organization/projects", json!({})).await,
        400,
        Some("missing_required_parameter"),
        Some("name"),
    );

    let accounts = format!("/v1/organization/projects/{pid}/service_accounts");
    let (s, with_key) = e.post(&accounts, json!({"name": "with-key"})).await;
    assert_eq!(s, 200);
    assert_eq!(with_key["object"], "organization.project.service_account");
    assert!(with_key["id"].as_str().unwrap().starts_with("svc_acct_"));
    assert!(
        with_key["api_key"]["value"]
            .as_str()
            .unwrap()
            .starts_with("sk-")
    );
    let (s, keyless) = e
        .post(
            &accounts,
            json!({"name": "keyless", "create_service_account_only": true}),
        )
        .await;
    assert_eq!(s, 200);
    assert!(keyless.get("api_key").is_none(), "{keyless}");
    assert_api_error(
        &e.post(
            &accounts,
            json!({"name": "x", "create_service_account_only": "yes"}),
        )
        .await,
        400,
        Some("invalid_type"),
        Some("create_service_account_only"),
    );

    let (_, list) = e.get(&format!("{accounts}?order=asc")).await;
    let names: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["with-key", "keyless"]);
    assert!(list["data"][0].get("api_key").is_none());

    // A keyless account has no role until one is set; one with a key is a member.
    assert_eq!(keyless["role"], "none");
    assert_eq!(with_key["role"], "member");
    let kid = keyless["id"].as_str().unwrap();
    let (s, got) = e.get(&format!("{accounts}/{kid}")).await;
    assert_eq!(s, 200);
    assert_eq!(got["role"], "none");

    // Name and role change in place; the id stays.
    let account = format!("{accounts}/{kid}");
    let (s, updated) = e.post(&account, json!({"role": "member"})).await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        (updated["id"].as_str(), updated["name"].as_str()),
        (Some(kid), Some("keyless"))
    );
    assert_eq!(updated["role"], "member");
    let (s, updated) = e
        .post(&account, json!({"name": "renamed", "role": "owner"}))
        .await;
    assert_eq!(s, 200, "{updated}");
    assert_eq!(
        (updated["name"].as_str(), updated["role"].as_str()),
        (Some("renamed"), Some("owner"))
    );
    let (_, got) = e.get(&account).await;
    assert_eq!(got, updated);
    for (body, code, param) in [
        (json!({"role": "none"}), "invalid_value", "role"),
        (json!({"role": "admin"}), "invalid_value", "role"),
        (json!({"role": 1}), "invalid_type", "role"),
        (json!({"name": ""}), "invalid_value", "name"),
        (
            json!({"create_service_account_only": true}),
            "unknown_parameter",
            "create_service_account_only",
        ),
    ] {
        assert_api_error(&e.post(&account, body).await, 400, Some(code), Some(param));
    }
    assert_api_error(
        &e.post(
            &format!("{accounts}/svc_acct_missing"),
            json!({"role": "member"}),
        )
        .await,
        404,
        Some("not_found"),
        None,
    );
    let (_, got) = e.get(&account).await;
    assert_eq!(got, updated, "refused updates change nothing");
    let (s, d) = e.delete(&format!("{accounts}/{kid}")).await;
    assert_eq!(s, 200);
    assert_eq!(d["object"], "organization.project.service_account.deleted");
    assert_api_error(
        &e.get(&format!("{accounts}/{kid}")).await,
        404,
        Some("not_found"),
        None,
    );
}

#[tokio::test]
async fn concurrent_writers_and_racing_toward_the_limit() {
    let e = Arc::new(Emu::start().await);
    let mut tasks = Vec::new();
    for t in 0..20 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..2 {
                let (s, v) = e.post(PROVIDERS, provider_body(&format!("t{t}-{i}"))).await;
                assert_eq!(s, 200, "{v}");
                ids.push(v["id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    assert_eq!(ids.len(), 40);
    let (_, page) = e.get(&format!("{PROVIDERS}?limit=100")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 40);

    // 30 racers for the last 10 slots.
    let mut tasks = Vec::new();
    for t in 0..30 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let (s, v) = e.post(PROVIDERS, provider_body(&format!("race{t}"))).await;
            match s.as_u16() {
                200 => true,
                409 => {
                    assert_eq!(v["error"]["code"], "limit_exceeded");
                    false
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }));
    }
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 10);
    let (_, page) = e.get(&format!("{PROVIDERS}?limit=100")).await;
    assert_eq!(page["data"].as_array().unwrap().len(), 50);
}

/// A key restricted to `api.management.read` reads, and every write gets
/// OpenAI's 401 "Missing scopes" with `code: null` (no retry advised);
/// the control routes stay closed to it.
#[tokio::test]
async fn a_read_only_admin_key_reads_and_is_refused_writes() {
    const READ_ONLY: &str = "sk-admin-read-only";
    let mut config = openai_emulator::EmulatorConfig::new(crate::support::ADMIN_KEY);
    config.read_only_admin_key = Some(READ_ONLY.into());
    let e = Emu::start_with(config).await;
    e.provider(provider_body("existing")).await;

    let list = e
        .http
        .get(e.url(PROVIDERS))
        .bearer_auth(READ_ONLY)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    for write in [
        e.http.post(e.url(PROVIDERS)).json(&provider_body("new")),
        e.http
            .post(e.url("/_emulator/clock"))
            .json(&json!({"offset_secs": 5})),
    ] {
        let resp = write.bearer_auth(READ_ONLY).send().await.unwrap();
        assert_eq!(resp.status(), 401);
        assert_eq!(resp.headers()["x-should-retry"], "false");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(
            v["error"]["message"],
            "You have insufficient permissions for this operation. Missing scopes: api.management.write.",
        );
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], Value::Null);
    }
    assert_eq!(e.emu.organization().providers.len(), 1);
}

/// What OpenAI's SDKs (generated from its spec) require of a provider is
/// required here too, and an issuer is an https URL (http on loopback).
#[tokio::test]
async fn provider_creates_need_what_the_sdk_requires_and_an_https_issuer() {
    let e = Emu::start().await;
    let base = provider_body("strict");
    let without = |key: &str| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().remove(key);
        b
    };
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    for (body, param) in [
        (without("type"), "type"),
        (
            with("verification", json!({"discovery_url": null})),
            "verification.type",
        ),
        (
            with("verification", json!({"type": "discovery"})),
            "verification.discovery_url",
        ),
    ] {
        let reply = e.post(PROVIDERS, body).await;
        assert_api_error(&reply, 400, Some("missing_required_parameter"), Some(param));
    }
    for issuer in [
        "issuer.example.com",
        "http://issuer.example.com",
        "ftp://issuer.example.com",
        "https://issuer.example.com?x=1",
        "https://issuer.example.com#f",
        "https://issuer .example.com",
    ] {
        let reply = e.post(PROVIDERS, with("issuer", json!(issuer))).await;
        assert_api_error(&reply, 400, Some("invalid_value"), Some("issuer"));
    }
    let id = e.provider(base.clone()).await["id"].clone();
    let reply = e
        .post(
            &format!("{PROVIDERS}/{}", id.as_str().unwrap()),
            json!({"issuer": "not a url"}),
        )
        .await;
    assert_api_error(&reply, 400, Some("invalid_value"), Some("issuer"));
    // Loopback issuers may be plain http (the built-in issuer is).
    let mut local = with("issuer", json!("http://127.0.0.1:9/_emulator/oidc"));
    local["name"] = json!("local");
    assert_eq!(e.post(PROVIDERS, local).await.0, 200);
}

/// The rule schema puts no minimum length on `name`: "" is accepted, on
/// create and update, and (naming nothing) never conflicts.
#[tokio::test]
async fn an_empty_rule_name_is_accepted_and_never_taken() {
    let e = Emu::start().await;
    let project = e.project("p").await;
    let provider = e.provider(provider_body("p")).await;
    let path = rules_path(provider["id"].as_str().unwrap());
    for sub in ["a", "b"] {
        let sa = e.service_account(&project).await;
        let (s, v) = e
            .post(
                &path,
                json!({"project_id": project, "service_account_id": sa, "name": "",
                       "attribute_matchers": {"sub": sub}}),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["name"], "");
        let (s, v) = e
            .post(
                &format!("{path}/{}", v["id"].as_str().unwrap()),
                json!({"name": ""}),
            )
            .await;
        assert_eq!((s.as_u16(), &v["name"]), (200, &json!("")), "{v}");
    }
}

/// Projects can be renamed and archived (so `openai_project.status =
/// "archived"` can be tested); archived ones leave the default listing.
#[tokio::test]
async fn projects_are_renamed_archived_and_listed_as_openai_does() {
    let e = Emu::start().await;
    let (s, made) = e
        .post(
            "/v1/organization/projects",
            json!({"name": "old", "residency": "EU_STORAGE_PROCESSING", "external_key_id": "ek"}),
        )
        .await;
    assert_eq!(s, 200, "{made}");
    assert_eq!(made["residency"], "EU_STORAGE_PROCESSING");
    let path = format!("/v1/organization/projects/{}", made["id"].as_str().unwrap());
    let (s, renamed) = e.post(&path, json!({"name": "new"})).await;
    assert_eq!((s.as_u16(), &renamed["name"]), (200, &json!("new")));
    let (s, archived) = e.post(&format!("{path}/archive"), json!({})).await;
    assert_eq!(s, 200, "{archived}");
    assert_eq!(archived["status"], "archived");
    assert!(archived["archived_at"].is_i64(), "{archived}");
    assert_eq!(e.get(&path).await.1, archived);
    let (_, listed) = e.get("/v1/organization/projects").await;
    assert_eq!(listed["data"], json!([]));
    let (_, listed) = e
        .get("/v1/organization/projects?include_archived=true")
        .await;
    assert_eq!(listed["data"], json!([archived]));
    assert_api_error(
        &e.post(
            "/v1/organization/projects",
            json!({"name": "x", "residency": "MARS"}),
        )
        .await,
        400,
        Some("invalid_value"),
        Some("residency"),
    );
}
