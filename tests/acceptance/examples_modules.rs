//! The reusable modules under examples/modules, against a live emulator:
//! - their own `terraform test` files pass (and really created, then
//!   destroyed, objects in the emulator);
//! - applied as a root configuration, the mapping they create admits a token
//!   with the claims their platform issues and refuses one that differs in
//!   the pinned claim, through a real token exchange.

use std::path::{Path, PathBuf};

use crate::support::http::http;
use crate::support::org::{project_and_account, provider_count};
use crate::support::{Emulator, Workdir, tf_latest};
use serde_json::{Value, json};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const AUDIENCE: &str = "https://api.openai.com/v1";

fn module_dir(name: &str) -> PathBuf {
    Path::new(REPO).join("examples/modules").join(name)
}

/// Copies a module (with its tests/) into the workdir's configuration folder.
fn copy_module(name: &str, wd: &Workdir) {
    fn copy(src: &Path, dst: &Path) {
        std::fs::create_dir_all(dst).unwrap();
        for entry in std::fs::read_dir(src).unwrap().map(Result::unwrap) {
            let name = entry.file_name();
            if name == ".terraform" || name.to_string_lossy().contains(".tfstate") {
                continue;
            }
            if entry.path().is_dir() {
                copy(&entry.path(), &dst.join(&name));
            } else {
                std::fs::copy(entry.path(), dst.join(&name)).unwrap();
            }
        }
    }
    copy(&module_dir(name), &wd.dir());
}

/// Runs the module's `terraform test` files against a fresh emulator.
fn run_module_tests(name: &str) {
    let tf = tf_latest();
    let emu = Emulator::start();
    let (pid, sa) = project_and_account(&emu);
    let wd = Workdir::with_emulator(&tf, &emu);
    copy_module(name, &wd);
    // An organization is rarely empty: one already holds a provider with the
    // module's default name, which the tests must not collide with.
    let variables = wd.read("variables.tf");
    let default_name = variables
        .split("variable \"provider_name\"")
        .nth(1)
        .and_then(|rest| rest.split("default").nth(1))
        .and_then(|rest| rest.split('"').nth(1))
        .expect("the module has a provider_name variable with a default");
    emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({
            "name": default_name,
            "issuer": "https://issuer.example.com",
            "audience": AUDIENCE,
            "type": "oidc",
        })),
    );

    let out = wd.run(&[
        "test",
        "-no-color",
        "-var",
        &format!("project_id={pid}"),
        "-var",
        &format!("service_account_id={sa}"),
    ]);
    out.assert_success();
    assert!(
        out.stdout.contains(" passed, 0 failed"),
        "no passing summary:\n{out}"
    );

    let (_, stats) = http("GET", &format!("{}/_emulator/stats", emu.url()), None);
    let created = stats["by_route"]["POST /v1/organization/workload_identity_providers"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        created >= 1,
        "the tests created no provider in the emulator: {stats}"
    );
    assert_eq!(
        provider_count(&emu),
        1,
        "terraform test should destroy what it created (and only that)"
    );
}

#[test]
fn github_actions_module_tests_pass() {
    run_module_tests("github-actions");
}

#[test]
fn kubernetes_module_tests_pass() {
    run_module_tests("kubernetes");
}

#[test]
fn aws_module_tests_pass() {
    run_module_tests("aws");
}

#[test]
fn azure_module_tests_pass() {
    run_module_tests("azure");
}

#[test]
fn gcp_module_tests_pass() {
    run_module_tests("gcp");
}

#[test]
fn spiffe_module_tests_pass() {
    run_module_tests("spiffe");
}

/// The CI platforms' modules, one after another (each against its own
/// emulator, as above): one test keeps their cost in one place.
#[test]
fn ci_platform_module_tests_pass() {
    for module in [
        "gitlab-ci",
        "hcp-terraform",
        "circleci",
        "bitbucket-pipelines",
        "buildkite",
    ] {
        run_module_tests(module);
    }
}

/// One module applied for real, then exercised with tokens.
struct Scenario<'a> {
    module: &'a str,
    /// Module inputs besides the issuer, project_id and service_account_id.
    vars: &'a [(&'a str, &'a str)],
    /// Claims of a token the workload would present (iss/iat/exp are added
    /// by the emulator's issuer unless given).
    claims: Value,
    /// Each pinned claim changed in turn: each such token must be refused.
    wrong: Vec<(&'a str, Value)>,
}

/// Applies the scenario's module against a fresh emulator, with the
/// emulator's issuer as `issuer`, then exchanges the workload's token
/// (admitted) and each wrong one (refused).
fn run_exchange_scenario(s: Scenario) {
    run_exchange_scenario_from(None, s);
}

/// [`run_exchange_scenario`] for a module told where the workload's tokens
/// come from: `uploaded_keys_issuer` is a cluster whose keys are uploaded
/// (`jwks_json`, the emulator issuer's public keys) and whose tokens claim
/// that issuer; `None`, the emulator's issuer.
fn run_exchange_scenario_from(uploaded_keys_issuer: Option<&str>, s: Scenario) {
    let emu = Emulator::start();
    let tf = tf_latest();
    let (pid, sa) = project_and_account(&emu);
    let mut wd = Workdir::with_emulator(&tf, &emu);
    wd.env("TF_VAR_project_id", &pid)
        .env("TF_VAR_service_account_id", &sa);
    match uploaded_keys_issuer {
        None => wd.env("TF_VAR_issuer", &emu.oidc_issuer()),
        Some(issuer) => {
            let (_, jwks) = http("GET", &format!("{}/jwks", emu.oidc_issuer()), None);
            wd.env("TF_VAR_issuer", issuer)
                .env("TF_VAR_jwks_json", &jwks.to_string())
        }
    };
    for (k, v) in s.vars {
        wd.env(&format!("TF_VAR_{k}"), v);
    }
    copy_module(s.module, &wd);
    wd.apply().assert_success();
    let provider_id = wd.output("workload_identity_provider_id");
    let provider_id = provider_id.as_str().unwrap();
    assert_eq!(wd.output("service_account_id"), json!(sa));

    let good = emu.mint(s.claims.clone());
    let (status, body) = emu.exchange(&good, provider_id, &sa);
    assert_eq!(
        status, 200,
        "{}: a token with the workload's claims {} was refused: {body}",
        s.module, s.claims
    );
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );

    assert!(!s.wrong.is_empty(), "{}: no refused token to try", s.module);
    for (claim, value) in &s.wrong {
        let mut wrong_claims = s.claims.clone();
        wrong_claims[*claim] = value.clone();
        let bad = emu.mint(wrong_claims);
        let (status, body) = emu.exchange(&bad, provider_id, &sa);
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_grant")),
            "{}: a token with {claim}={value} should be refused: {body}",
            s.module,
        );
    }

    wd.destroy().assert_success();
}

#[test]
fn github_actions_module_admits_only_the_pinned_repository_id_and_workflow() {
    run_exchange_scenario(Scenario {
        module: "github-actions",
        vars: &[
            ("repository_id", "123456789"),
            ("repository_owner_id", "987654321"),
            ("repository", "my-org/my-repo"),
            ("branch", "main"),
            ("environment", "production"),
            ("workflow_file", ".github/workflows/deploy.yml"),
        ],
        claims: json!({
            "aud": AUDIENCE,
            "sub": "repo:my-org/my-repo:environment:production",
            "repository": "my-org/my-repo",
            "repository_id": "123456789",
            "repository_owner": "my-org",
            "repository_owner_id": "987654321",
            "ref": "refs/heads/main",
            "environment": "production",
            "workflow_ref": "my-org/my-repo/.github/workflows/deploy.yml@refs/heads/main",
            "event_name": "push",
        }),
        wrong: vec![
            ("ref", json!("refs/heads/feature")),
            // Same name, another repository: one created under the
            // name of a renamed or deleted one.
            ("repository_id", json!("555555555")),
            ("repository_owner_id", json!("444444444")),
        ],
    });
}

#[test]
fn kubernetes_module_admits_only_the_pinned_service_account() {
    // The cluster's keys are uploaded: here, the emulator issuer's public key,
    // with tokens claiming the cluster's issuer.
    let issuer = "https://kubernetes.example.com";
    run_exchange_scenario_from(
        Some(issuer),
        Scenario {
            module: "kubernetes",
            vars: &[
                ("namespace", "payments"),
                ("kubernetes_service_account", "invoice-writer"),
            ],
            claims: json!({
                "iss": issuer,
                "aud": [AUDIENCE],
                "sub": "system:serviceaccount:payments:invoice-writer",
            }),
            wrong: vec![("sub", json!("system:serviceaccount:payments:other"))],
        },
    );
}

#[test]
fn aws_module_admits_only_the_pinned_role() {
    let role = "arn:aws:iam::123456789012:role/OpenAIWifRole";
    run_exchange_scenario(Scenario {
        module: "aws",
        vars: &[("role_arn", role)],
        claims: json!({"aud": AUDIENCE, "sub": role}),
        wrong: vec![("sub", json!("arn:aws:iam::123456789012:role/Other"))],
    });
}

#[test]
fn azure_module_admits_only_the_pinned_identity() {
    let (tenant, client) = (
        "11111111-2222-3333-4444-555555555555",
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
    );
    let audience = "api://99999999-8888-7777-6666-555555555555";
    run_exchange_scenario(Scenario {
        module: "azure",
        vars: &[
            ("tenant_id", tenant),
            ("managed_identity_client_id", client),
            ("audience", audience),
        ],
        claims: json!({
            "aud": audience,
            "sub": "00000000-1111-2222-3333-444444444444",
            "tid": tenant,
            "appid": client,
        }),
        wrong: vec![("appid", json!("ffffffff-bbbb-cccc-dddd-eeeeeeeeeeee"))],
    });
}

#[test]
fn gcp_module_admits_only_the_pinned_google_service_account() {
    let (unique_id, email) = (
        "109876543210987654321",
        "openai-wif@my-project.iam.gserviceaccount.com",
    );
    run_exchange_scenario(Scenario {
        module: "gcp",
        vars: &[
            ("google_service_account_unique_id", unique_id),
            ("google_service_account_email", email),
        ],
        claims: json!({"aud": AUDIENCE, "sub": unique_id, "email": email, "email_verified": true}),
        wrong: vec![("sub", json!("100000000000000000000"))],
    });
}

#[test]
fn github_actions_module_admits_the_repository_after_a_rename() {
    // Without workflow_file nothing pins the name: a renamed repository keeps
    // its id, and its runs still match.
    run_exchange_scenario(Scenario {
        module: "github-actions",
        vars: &[
            ("repository_id", "123456789"),
            ("repository", "my-org/my-repo"),
            ("branch", "main"),
        ],
        claims: json!({
            "aud": AUDIENCE,
            "sub": "repo:my-org/renamed-repo:ref:refs/heads/main",
            "repository": "my-org/renamed-repo",
            "repository_id": "123456789",
            "repository_owner": "my-org",
            "ref": "refs/heads/main",
            "event_name": "push",
        }),
        wrong: vec![("repository_id", json!("555555555"))],
    });
}

#[test]
fn spiffe_module_admits_only_the_pinned_spiffe_id() {
    let spiffe_id = "spiffe://example.org/ci/deploy";
    run_exchange_scenario(Scenario {
        module: "spiffe",
        vars: &[("spiffe_id", spiffe_id)],
        // JWT-SVIDs carry the SPIFFE ID as sub and aud as an array.
        claims: json!({"aud": [AUDIENCE], "sub": spiffe_id}),
        wrong: vec![
            ("sub", json!("spiffe://example.org/ci/other")),
            ("sub", json!("spiffe://attacker.example/ci/deploy")),
        ],
    });
}
