//! Property test: for generated claim sets and mapping sets, the provider functions
//! (`matches` over `transform`), the `openai_workload_identity_match` data source's verdict
//! logic and the emulator's real token exchange over HTTP (tokens minted by its built-in
//! issuer carrying the claims) give the same verdict for every service account, every time.
//!
//! One case is one (mapping set, claim set) pair: each mapping set is written to the
//! emulator once and tried with several claim sets, which keeps the test fast on 2 cores.

use std::sync::atomic::{AtomicU64, Ordering};

use openai_admin::models::{FederationRule, WorkloadIdentityProvider};
use proptest::prelude::*;
use serde_json::{Value as Json, json};
use tfplugin::codec::Value;
use tfplugin::framework::Function;

use crate::data_sources::workload_identity_match::admission;
use crate::functions::{Matches, Transform};
use crate::values::from_json;

const KEY: &str = "sk-admin-agreement";
const AUD: &str = "https://api.openai.com/v1";
const ACCOUNTS: usize = 3;
const CLAIM_SETS: usize = 4;
const MAPPING_SETS: u32 = 2_500;

/// Transformations the provider may have (a subset per case).
const TRANSFORMATIONS: [(&str, &str); 4] = [
    (
        "openai.repo_ref",
        "assertion.repository + '@' + assertion.ref",
    ),
    ("openai.main", "assertion.ref == 'refs/heads/main'"),
    ("openai.attempt", "assertion.run_attempt"),
    ("openai.len", "size(assertion.repository)"),
];

fn matcher() -> impl Strategy<Value = (String, Json)> {
    prop_oneof![
        prop::sample::select(vec!["org/app", "org/*", "other/app", "org/ap*"])
            .prop_map(|v| ("repository".to_owned(), json!(v))),
        prop::sample::select(vec!["refs/heads/main", "refs/heads/*", "refs/tags/v1"])
            .prop_map(|v| ("ref".to_owned(), json!(v))),
        prop::sample::select(vec![json!(1), json!(2), json!("1")])
            .prop_map(|v| ("run_attempt".to_owned(), v)),
        prop::sample::select(vec![json!(false), json!(true), json!("false")])
            .prop_map(|v| ("fork".to_owned(), v)),
        prop::sample::select(vec!["admins", "dev*", "ops"])
            .prop_map(|v| ("groups".to_owned(), json!(v))),
        prop::sample::select(vec!["org/app@refs/heads/main", "org/app@*", "other/app@*"])
            .prop_map(|v| ("openai.repo_ref".to_owned(), json!(v))),
        prop::sample::select(vec![json!(true), json!("false")])
            .prop_map(|v| ("openai.main".to_owned(), v)),
        prop::sample::select(vec![json!("1"), json!(2)])
            .prop_map(|v| ("openai.attempt".to_owned(), v)),
        prop::sample::select(vec![json!(7), json!(9)]).prop_map(|v| ("openai.len".to_owned(), v)),
    ]
}

#[derive(Clone, Debug)]
struct RuleSpec {
    account: usize,
    enabled: bool,
    matchers: serde_json::Map<String, Json>,
}

fn rule_spec() -> impl Strategy<Value = RuleSpec> {
    (
        0..ACCOUNTS,
        prop::bool::weighted(0.85),
        prop::collection::vec(matcher(), 1..4),
    )
        .prop_map(|(account, enabled, ms)| RuleSpec {
            account,
            enabled,
            matchers: ms.into_iter().collect(),
        })
}

fn claims() -> impl Strategy<Value = Json> {
    (
        prop::sample::select(vec!["org/app", "other/app", "org/apple"]),
        prop::sample::select(vec!["refs/heads/main", "refs/heads/dev", "refs/tags/v1"]),
        1..3i64,
        any::<bool>(),
        prop::sample::subsequence(vec!["admins", "devs", "ops"], 0..3),
        any::<bool>(),
    )
        .prop_map(|(repo, r#ref, attempt, fork, groups, forge)| {
            let mut c = json!({
                "sub": format!("repo:{repo}:ref:{ref}"),
                "aud": AUD,
                "repository": repo,
                "ref": r#ref,
                "run_attempt": attempt,
                "fork": fork,
                "groups": groups,
            });
            if forge {
                // A raw claim named like a derived attribute: never matched.
                c["openai.main"] = json!("true");
            }
            c
        })
}

#[derive(Clone, Debug)]
struct Case {
    provider_enabled: bool,
    transformations: Vec<usize>,
    rules: Vec<RuleSpec>,
    claim_sets: Vec<Json>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::bool::weighted(0.9),
        prop::sample::subsequence((0..TRANSFORMATIONS.len()).collect::<Vec<_>>(), 0..5),
        prop::collection::vec(rule_spec(), 0..5),
        prop::collection::vec(claims(), CLAIM_SETS),
    )
        .prop_map(
            |(provider_enabled, transformations, rules, claim_sets)| Case {
                provider_enabled,
                transformations,
                rules,
                claim_sets,
            },
        )
}

/// The live emulator, its provider and service accounts.
struct World {
    rt: tokio::runtime::Runtime,
    emu: openai_emulator::RunningEmulator,
    http: reqwest::Client,
    provider: String,
    accounts: Vec<String>,
    project: String,
    rules: Vec<String>,
}

impl World {
    fn new() -> World {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt
            .block_on(openai_emulator::start(openai_emulator::EmulatorConfig {
                // Descriptions with the refusal's detail, to compare with the data source.
                verbose_refusals: true,
                ..openai_emulator::EmulatorConfig::new(KEY)
            }))
            .unwrap();
        let mut w = World {
            rt,
            emu,
            http: reqwest::Client::new(),
            provider: String::new(),
            accounts: Vec::new(),
            project: String::new(),
            rules: Vec::new(),
        };
        w.project = w.post("/organization/projects", json!({"name": "p"}))["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for i in 0..ACCOUNTS {
            let sa = w.post(
                &format!("/organization/projects/{}/service_accounts", w.project),
                json!({"name": format!("sa{i}"), "create_service_account_only": true}),
            );
            w.accounts.push(sa["id"].as_str().unwrap().to_owned());
        }
        let issuer = w.emu.issuer_url();
        w.provider = w.post(
            "/organization/workload_identity_providers",
            json!({"name": "gen", "issuer": issuer, "audience": AUD, "type": "oidc"}),
        )["id"]
            .as_str()
            .unwrap()
            .to_owned();
        w
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Option<Json>) -> Json {
        let url = format!("{}{path}", self.emu.api_base());
        self.rt.block_on(async {
            let mut req = self.http.request(method, &url).bearer_auth(KEY);
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status();
            let v: Json = resp.json().await.unwrap_or(Json::Null);
            assert!(status.is_success(), "{path}: {status} {v}");
            v
        })
    }

    fn post(&self, path: &str, body: Json) -> Json {
        self.send(reqwest::Method::POST, path, Some(body))
    }

    /// Writes the case's provider settings and mappings; returns them as the API has them.
    fn install(&mut self, case: &Case) -> (WorkloadIdentityProvider, Vec<FederationRule>) {
        let base = format!(
            "/organization/workload_identity_providers/{}",
            self.provider
        );
        for id in std::mem::take(&mut self.rules) {
            self.send(
                reqwest::Method::DELETE,
                &format!("{base}/federation_rules/{id}"),
                None,
            );
        }
        let ts: Vec<Json> = case
            .transformations
            .iter()
            .map(
                |&i| json!({"attribute": TRANSFORMATIONS[i].0, "expression": TRANSFORMATIONS[i].1}),
            )
            .collect();
        let provider = self.post(
            &base,
            json!({"enabled": case.provider_enabled, "attribute_transformations": ts}),
        );
        let provider: WorkloadIdentityProvider = serde_json::from_value(provider).unwrap();
        let mut rules = Vec::new();
        for r in &case.rules {
            let rule = self.post(
                &format!("{base}/federation_rules"),
                json!({"project_id": self.project, "service_account_id": self.accounts[r.account],
                       "attribute_matchers": r.matchers, "enabled": r.enabled}),
            );
            let rule: FederationRule = serde_json::from_value(rule).unwrap();
            self.rules.push(rule.id.clone());
            rules.push(rule);
        }
        (provider, rules)
    }

    /// Real exchanges, all at once: admitted, or the refusal's description, per request.
    fn exchanges(&self, requests: &[(&Json, &str)]) -> Vec<Result<(), String>> {
        let bodies: Vec<Json> = requests
            .iter()
            .map(|(claims, account)| {
                json!({
                    "grant_type": openai_admin::models::GRANT_TYPE_TOKEN_EXCHANGE,
                    "subject_token_type": openai_admin::models::TOKEN_TYPE_JWT,
                    "subject_token": self.emu.mint((*claims).clone()).unwrap(),
                    "identity_provider_id": self.provider,
                    "service_account_id": account,
                })
            })
            .collect();
        let url = self.emu.token_url();
        self.rt
            .block_on(futures_util::future::join_all(bodies.iter().map(|body| {
                let req = self.http.post(&url).json(body);
                async move {
                    let resp = req.send().await.unwrap();
                    let ok = resp.status().is_success();
                    let v: Json = resp.json().await.unwrap();
                    if ok {
                        Ok(())
                    } else {
                        Err(v["error_description"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned())
                    }
                }
            })))
    }
}

fn dynamic(j: &Json) -> Value {
    let (ty, v) = from_json(j);
    Value::Dynamic(ty, Box::new(v))
}

/// The functions' verdict: the provider is enabled and exactly one enabled mapping of the
/// account matches the transformed claims.
fn function_verdict(
    provider: &WorkloadIdentityProvider,
    rules: &[FederationRule],
    claims: &Json,
    account: &str,
) -> bool {
    let ts: Vec<Json> = provider
        .attribute_transformations
        .iter()
        .map(|t| json!({"attribute": t.attribute, "expression": t.expression}))
        .collect();
    let transformed = Transform
        .call(vec![dynamic(&Json::Array(ts)), dynamic(claims)])
        .expect("the generated transformations never fail");
    let matching = rules
        .iter()
        .filter(|r| r.enabled && r.service_account_id == account)
        .filter(|r| {
            Matches
                .call(vec![
                    dynamic(&Json::Object(r.attribute_matchers.clone())),
                    transformed.clone(),
                ])
                .unwrap()
                == Value::Bool(true)
        })
        .count();
    provider.enabled && matching == 1
}

#[test]
fn functions_data_source_and_exchange_agree() {
    let mut world = World::new();
    let compared = AtomicU64::new(0);
    let admitted = AtomicU64::new(0);
    let config = ProptestConfig {
        cases: std::env::var("AGREEMENT_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(MAPPING_SETS),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let world_cell = std::cell::RefCell::new(&mut world);
    proptest!(config, |(case in case())| {
        let mut world = world_cell.borrow_mut();
        let (provider, rules) = world.install(&case);
        let requests: Vec<(&Json, &str)> = case
            .claim_sets
            .iter()
            .flat_map(|c| world.accounts.iter().map(move |a| (c, a.as_str())))
            .collect();
        let results = world.exchanges(&requests);
        for ((claims, account), exchange) in requests.iter().copied().zip(results) {
            let data_source = admission(&provider, &rules, claims, Some(account));
            let function = function_verdict(&provider, &rules, claims, account);
            prop_assert_eq!(
                exchange.is_ok(), data_source.admitted,
                "data source vs exchange ({:?}) for {} {:?} {:?}", exchange, claims, case, data_source
            );
            prop_assert_eq!(
                exchange.is_ok(), function,
                "functions vs exchange ({:?}) for {} {:?}", exchange, claims, case
            );
            // What is refused before or after matching is refused in the exchange's words.
            if let Err(why) = &exchange
                && !data_source.reasons.is_empty()
                && (!provider.enabled || why.contains("ambiguous mapping") || why.contains("every federation rule is disabled"))
            {
                prop_assert!(
                    data_source.reasons.values().any(|r| r == why),
                    "the exchange said {:?}; the data source {:?}", why, data_source.reasons
                );
            }
            admitted.fetch_add(u64::from(exchange.is_ok()), Ordering::Relaxed);
        }
        compared.fetch_add(case.claim_sets.len() as u64, Ordering::Relaxed);
    });
    let compared = compared.into_inner();
    let admitted = admitted.into_inner();
    println!(
        "agreement: {compared} cases (claim set x mapping set), {} verdicts per service account, \
         {admitted} admitted, 0 disagreements",
        compared * ACCOUNTS as u64
    );
    assert!(compared >= 10_000, "only {compared} cases ran");
    // The generators must exercise both outcomes.
    assert!(admitted > 100 && admitted < compared * ACCOUNTS as u64 / 2);
}
