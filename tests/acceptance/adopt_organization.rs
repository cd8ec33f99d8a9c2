//! Acceptance: "Bring an existing organization under Terraform"
//! (`docs/guides/adopting-an-organization.md`) end to end. An organization
//! made by hand, as in the dashboard, with every variant the resources
//! know: discovery at the issuer and at a custom URL, an uploaded JWKS, a
//! disabled provider, attribute transformations, restricted and default
//! permissions, a disabled mapping, claims of every JSON type, an account
//! with a role and one without. `terraform query` lists all three kinds,
//! `-generate-config-out` writes their configuration, and it imports with
//! zero changes.

use crate::support::org::{account_by_hand, id_of, project_by_hand};
use crate::support::{Emulator, Workdir, tf_latest};
use serde_json::{Value, json};

const JWKS: &str =
    r#"{"keys":[{"kid":"k1","kty":"RSA","alg":"RS256","use":"sig","n":"sXch","e":"AQAB"}]}"#;

const QUERY: &str = r#"
list "openai_workload_identity_provider" "all" {
  provider = openai
}

list "openai_service_account_mapping" "all" {
  provider = openai
}

list "openai_project_service_account" "all" {
  provider = openai
}
"#;

/// The dashboard-made organization; its object ids.
fn prefill(emu: &Emulator) -> Vec<String> {
    let project = project_by_hand(emu, "prod");
    let accounts = format!("/organization/projects/{project}/service_accounts");
    let account = |name: &str| account_by_hand(emu, &project, name);
    let ci = account("ci-deployer");
    emu.ok(
        "POST",
        &format!("{accounts}/{ci}"),
        Some(json!({"role": "member"})),
    );
    let roleless = account("not-yet-used");
    let provider = |body: Value| {
        id_of(&emu.ok(
            "POST",
            "/organization/workload_identity_providers",
            Some(body),
        ))
    };
    let gha = provider(json!({
        "name": "github-actions", "type": "oidc", "description": "GitHub Actions",
        "issuer": "https://token.actions.githubusercontent.com",
        "audience": "https://api.openai.com/v1",
        "attribute_transformations": [
            {"attribute": "openai.repository", "expression": "assertion.repository"}
        ]
    }));
    let gitlab = provider(json!({
        "name": "gitlab", "type": "oidc",
        "issuer": "https://gitlab.example.com", "audience": "https://api.openai.com/v1",
        "verification": {"type": "discovery",
                         "discovery_url": "https://gitlab.example.com/oidc"}
    }));
    let cluster = provider(json!({
        "name": "cluster", "type": "oidc", "enabled": false,
        "issuer": "https://kubernetes.example.com", "audience": "cluster-audience",
        "verification": {"type": "uploaded_jwks",
                         "jwks": serde_json::from_str::<Value>(JWKS).unwrap()}
    }));
    let rule = |provider: &str, body: Value| {
        id_of(&emu.ok(
            "POST",
            &format!("/organization/workload_identity_providers/{provider}/federation_rules"),
            Some(body),
        ))
    };
    let r1 = rule(
        &gha,
        json!({
            "project_id": project, "service_account_id": ci,
            "name": "main-deploys", "description": "deploys from main",
            "attribute_matchers": {"openai.repository": "my-org/app", "ref": "refs/heads/main"},
            "permissions": {"type": "restricted", "scopes": ["api.model.request", "api.model.read"]}
        }),
    );
    let r2 = rule(
        &gitlab,
        json!({
            "project_id": project, "service_account_id": roleless, "enabled": false,
            "attribute_matchers": {"project_path": "group/*", "protected": true, "run_attempt": 1},
            "permissions": {"type": "service_account_default"}
        }),
    );
    let r3 = rule(
        &cluster,
        json!({
            "project_id": project, "service_account_id": ci,
            "attribute_matchers": {"sub": "system:serviceaccount:prod:app"}
        }),
    );
    vec![ci, roleless, gha, gitlab, cluster, r1, r2, r3]
}

#[test]
fn a_dashboard_made_organization_is_adopted_with_zero_changes() {
    let emu = Emulator::start();
    let ids = prefill(&emu);
    let mut wd = Workdir::new(&tf_latest());
    wd.use_emulator(&emu);
    wd.write_main(
        r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
"#,
    );

    // The filters: by issuer, by name prefix, by project.
    let project = emu.ok("GET", "/organization/projects", None)["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    wd.write(
        "adopt.tfquery.hcl",
        &format!(
            r#"
list "openai_workload_identity_provider" "gitlab" {{
  provider = openai
  config {{
    issuer = "https://gitlab.example.com/"
  }}
}}

list "openai_project_service_account" "ci" {{
  provider = openai
  config {{
    project_id  = "{project}"
    name_prefix = "ci-"
  }}
}}

list "openai_service_account_mapping" "prod" {{
  provider = openai
  config {{
    project_id = "{project}"
  }}
}}
"#
        ),
    );
    let out = wd.run(&["query"]);
    out.assert_success();
    let lines = |address: &str| {
        out.stdout
            .lines()
            .filter(|l| l.starts_with(address))
            .count()
    };
    assert_eq!(
        lines("list.openai_workload_identity_provider.gitlab "),
        1,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("id={}", ids[3])),
        "{}",
        out.stdout
    );
    assert_eq!(
        lines("list.openai_project_service_account.ci "),
        1,
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("ci-deployer"));
    assert_eq!(
        lines("list.openai_service_account_mapping.prod "),
        3,
        "{}",
        out.stdout
    );

    wd.write("adopt.tfquery.hcl", QUERY);

    // 1. Query: every object of the three kinds is found.
    let out = wd.run(&["query"]);
    out.assert_success();
    for id in &ids {
        assert!(
            out.stdout.contains(id.as_str()),
            "{id} not listed:\n{}",
            out.stdout
        );
    }

    // 2. Generate.
    wd.run(&["query", "-generate-config-out=generated.tf"])
        .assert_success();
    let generated = wd.read("generated.tf");
    assert_eq!(
        generated.matches("import {").count(),
        ids.len(),
        "{generated}"
    );

    // 3. Plan clean: imports only.
    wd.plan_detailed().assert_code_saying(
        2,
        &[&format!(
            "Plan: {} to import, 0 to add, 0 to change, 0 to destroy.",
            ids.len()
        )],
    );

    // 4. Apply, and nothing is left to change.
    wd.apply().assert_success();
    let again = wd.plan_detailed();
    assert_eq!(
        again.code, 0,
        "{}\n{}\n{generated}",
        again.stdout, again.stderr
    );
}
