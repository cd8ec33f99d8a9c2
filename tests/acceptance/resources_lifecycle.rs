//! Acceptance: both WIF resources driven by real Terraform against the emulator.

use crate::support::HEADER;
use crate::support::config::{labelled_provider, transformations};
use crate::support::org::{Org, account_by_hand, count, project_and_account};
use crate::support::{Changes, Emulator, Workdir, tf_latest};
use serde_json::json;

fn config(pid: &str, sa: &str, description: &str, extra_mapping: &str) -> String {
    let repository = r#"{ attribute = "openai.repository", expression = "assertion.repository" }"#;
    let gha = labelled_provider(
        "gha",
        "github-actions",
        "https://token.actions.githubusercontent.com",
        &format!(
            "  description = \"{description}\"\n{}",
            transformations(&[repository])
        ),
    );
    format!(
        r#"
{HEADER}{gha}

resource "openai_service_account_mapping" "main" {{
  workload_identity_provider_id = openai_workload_identity_provider.gha.id
  project_id                    = "{pid}"
  service_account_id            = "{sa}"
  name                          = "main-deploy"
  attribute_matchers = {{
    repository     = "my-org/my-repo"
    ref            = "refs/heads/main"
    run_attempt    = 1
    email_verified = true
  }}
  scopes = ["api.model.request", "api.model.read"]
  {extra_mapping}
}}

output "provider_id" {{
  value = openai_workload_identity_provider.gha.id
}}
output "mapping_id" {{
  value = openai_service_account_mapping.main.id
}}
"#
    )
}

#[test]
fn create_update_drift_delete_by_hand_and_destroy() {
    let (org, wd) = Org::new_with_workdir();
    let (emu, pid, sa) = (&org.emu, &org.project, &org.account);
    wd.write_main(&config(pid, sa, "v1", ""));

    wd.validate().assert_success();
    wd.plan_detailed().assert_code(2);
    wd.apply().assert_success();
    // No perpetual diff: defaults, number and bool matcher values, set order.
    wd.plan_detailed().assert_code(0);
    let provider_id = wd.output("provider_id").as_str().unwrap().to_string();
    let mapping_id = wd.output("mapping_id").as_str().unwrap().to_string();
    let rule = emu.ok(
        "GET",
        &format!(
            "/organization/workload_identity_providers/{provider_id}/federation_rules/{mapping_id}"
        ),
        None,
    );
    // Matcher values keep their JSON types on the API side.
    assert_eq!(rule["attribute_matchers"]["run_attempt"], json!(1));
    assert_eq!(rule["attribute_matchers"]["email_verified"], json!(true));
    assert_eq!(rule["permissions"]["type"], "restricted");

    // Update in place.
    wd.write_main(&config(pid, sa, "v2", ""));
    let plan = wd.plan_json();
    plan.assert_code(2);
    let changes = plan.changes();
    assert_eq!((changes.change, changes.remove), (1, 0), "{plan}");
    wd.apply_clean();
    let p = emu.ok(
        "GET",
        &format!("/organization/workload_identity_providers/{provider_id}"),
        None,
    );
    assert_eq!(p["description"], "v2");

    // Drift by hand shows in plan (exit 2) and apply repairs it.
    emu.ok(
        "POST",
        &format!("/organization/workload_identity_providers/{provider_id}"),
        Some(json!({"audience": "changed-by-hand"})),
    );
    wd.plan_detailed().assert_code(2);
    wd.apply().assert_success();
    let p = emu.ok(
        "GET",
        &format!("/organization/workload_identity_providers/{provider_id}"),
        None,
    );
    assert_eq!(p["audience"], "https://api.openai.com/v1");
    wd.plan_detailed().assert_code(0);

    // Deleted by hand: the plan re-creates it.
    emu.ok(
        "DELETE",
        &format!(
            "/organization/workload_identity_providers/{provider_id}/federation_rules/{mapping_id}"
        ),
        None,
    );
    let plan = wd.plan_json();
    plan.assert_code(2);
    plan.assert_changes(Changes::new(1, 0, 0));
    wd.apply_clean();

    // Replacement: the service account cannot change in place.
    let sa2 = account_by_hand(emu, pid, "other");
    wd.write_main(&config(pid, &sa2, "v2", ""));
    wd.plan_json()
        .assert_planned("openai_service_account_mapping.main", "replace");
    wd.apply_clean();

    // Destroy takes mappings first, then the provider, in one run.
    wd.destroy().assert_success();
    assert_eq!(count(emu, "/organization/workload_identity_providers"), 0);
}

tftest! {
    fn lifecycle_basics_on_every_terraform_version(tf) {
        let emu = Emulator::start();
        let (pid, sa) = project_and_account(&emu);
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&config(&pid, &sa, "v1", ""));
        wd.apply_clean();
        wd.write_main(&config(&pid, &sa, "v2", ""));
        wd.apply_clean();
        wd.destroy().assert_success();
        assert_eq!(
            count(&emu, "/organization/workload_identity_providers"),
            0,
            "{tf}"
        );
    }
}

#[test]
fn import_by_id_and_by_import_block() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let (pid, sa) = project_and_account(&emu);
    // Made by hand, e.g. in the dashboard.
    let p = emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({
            "name": "github-actions", "issuer": "https://token.actions.githubusercontent.com",
            "audience": "https://api.openai.com/v1", "type": "oidc", "description": "v1",
            "attribute_transformations": [{"attribute": "openai.repository", "expression": "assertion.repository"}]
        })),
    );
    let provider_id = p["id"].as_str().unwrap();
    let r = emu.ok(
        "POST",
        &format!("/organization/workload_identity_providers/{provider_id}/federation_rules"),
        Some(json!({
            "project_id": pid, "service_account_id": sa, "name": "main-deploy",
            "attribute_matchers": {"repository": "my-org/my-repo", "ref": "refs/heads/main", "run_attempt": 1, "email_verified": true},
            "permissions": {"type": "restricted", "scopes": ["api.model.read", "api.model.request"]}
        })),
    );
    let mapping_id = r["id"].as_str().unwrap();

    // `terraform import` by id.
    let wd = Workdir::with_emulator(&tf, &emu);
    wd.write_main(&config(&pid, &sa, "v1", ""));
    wd.run(&[
        "import",
        "-input=false",
        "openai_workload_identity_provider.gha",
        provider_id,
    ])
    .assert_success();
    wd.run(&[
        "import",
        "-input=false",
        "openai_service_account_mapping.main",
        &format!("{provider_id}/{mapping_id}"),
    ])
    .assert_success();
    wd.plan_detailed().assert_code(0);

    // A malformed import id is refused with the expected format.
    let mut wd2 = Workdir::new(&tf);
    wd2.use_emulator(&emu);
    wd2.write_main(&config(&pid, &sa, "v1", ""));
    wd2.run(&[
        "import",
        "-input=false",
        "openai_service_account_mapping.main",
        mapping_id,
    ])
    .assert_failure_saying(&["Invalid import ID"]);

    // `import {}` blocks (Terraform >= 1.5).
    let mut wd3 = Workdir::new(&tf);
    wd3.use_emulator(&emu);
    wd3.write_main(&format!(
        "{}\nimport {{\n  to = openai_workload_identity_provider.gha\n  id = \"{provider_id}\"\n}}\nimport {{\n  to = openai_service_account_mapping.main\n  id = \"{provider_id}/{mapping_id}\"\n}}\n",
        config(&pid, &sa, "v1", "")
    ));
    let plan = wd3.plan_json();
    plan.assert_changes(Changes::imports(2));
    wd3.apply().assert_success();
    assert_eq!(count(&emu, "/organization/workload_identity_providers"), 1);
}

#[test]
fn jwks_json_diffs_semantically() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf, &emu);
    let with_jwks = |jwks: &str| {
        format!(
            r#"
{HEADER}resource "openai_workload_identity_provider" "k8s" {{
  name      = "cluster"
  issuer    = "https://kubernetes.example.com"
  audience  = "https://api.openai.com/v1"
  jwks_json = {jwks}
}}
"#
        )
    };
    wd.write_main(&with_jwks(
        r#"jsonencode({ keys = [{ kid = "k1", kty = "RSA", alg = "RS256", use = "sig", n = "sXch", e = "AQAB" }] })"#,
    ));
    wd.apply_clean();
    // Same keys, other key order and whitespace: no change.
    wd.write_main(&with_jwks(
        "<<-EOT\n    {\n      \"keys\": [ { \"e\": \"AQAB\", \"n\": \"sXch\", \"use\": \"sig\", \"alg\": \"RS256\", \"kty\": \"RSA\", \"kid\": \"k1\" } ]\n    }\n  EOT",
    ));
    wd.plan_detailed().assert_code(0);
    // A real change to the keys is a change.
    wd.write_main(&with_jwks(
        r#"jsonencode({ keys = [{ kid = "k2", kty = "RSA", alg = "RS256", use = "sig", n = "sXch", e = "AQAB" }] })"#,
    ));
    wd.plan_detailed().assert_code(2);
}
