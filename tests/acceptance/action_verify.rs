//! Acceptance: the action `openai_workload_identity_verify` driven by real
//! Terraform 1.15.5 (actions need 1.14+) against the emulator. One
//! configuration and one working directory for every case: a mapping whose
//! `action_trigger` runs the action after create and after update, so a
//! mapping that admits the wrong workload fails the apply that wrote it;
//! a scripted propagation delay the action waits out while its progress
//! shows; and an on-demand run with `-invoke`.

use crate::support::{Emulator, Workdir, org, tf_latest};
use crate::support::{HEADER, config};
use openai_admin::refusal::Reason;
use serde_json::json;

const AUD: &str = "https://api.openai.com/v1";

/// `wait` is the HCL expression of `propagation_wait_seconds`.
fn config(issuer: &str, project: &str, repository: &str, wait: &str) -> String {
    let variable = config::token_variable("workload_token");
    format!(
        r#"
{HEADER}{variable}
resource "openai_project_service_account" "ci" {{
  project_id = "{project}"
  name       = "ci"
}}

resource "openai_workload_identity_provider" "ci" {{
  name     = "ci"
  issuer   = "{issuer}"
  audience = "{AUD}"
}}

action "openai_workload_identity_verify" "ci" {{
  config {{
    workload_identity_provider_id = openai_workload_identity_provider.ci.id
    service_account_id            = openai_project_service_account.ci.id
    subject_token                 = var.workload_token
    retry_interval_seconds        = 1
    propagation_wait_seconds      = {wait}
    check_models_api              = true
  }}
}}

resource "openai_service_account_mapping" "ci" {{
  workload_identity_provider_id = openai_workload_identity_provider.ci.id
  project_id                    = "{project}"
  service_account_id            = openai_project_service_account.ci.id
  attribute_matchers = {{
    repository = "{repository}"
  }}

  lifecycle {{
    action_trigger {{
      events  = [after_create, after_update]
      actions = [action.openai_workload_identity_verify.ci]
    }}
  }}
}}
"#
    )
}

#[test]
fn verify_waits_out_propagation_fails_a_wrong_mapping_and_runs_on_demand() {
    let emu = Emulator::start();
    let project = org::id_of(&emu.ok("POST", "/organization/projects", Some(json!({"name": "p"}))));
    let issuer = format!("{}/_emulator/oidc", emu.url());
    let (status, minted) = emu.control(
        "POST",
        "/_emulator/oidc/token",
        Some(json!({"sub": "repo:my-org/my-repo", "aud": AUD, "repository": "my-org/my-repo"})),
    );
    assert_eq!(status, 200, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();
    let mut wd = Workdir::new(&tf_latest());
    wd.use_emulator(&emu)
        .env("OPENAI_TOKEN_EXCHANGE_URL", &emu.token_url())
        .env("TF_VAR_workload_token", &token);

    // 1. The exchange does not know the new mapping for two tries (as OpenAI
    //    says it, whatever the status): the action waits, saying so.
    let no_rule = json!({"error": Reason::NoRule.code().as_str(),
                         "error_description": Reason::NoRule.message()});
    emu.script_faults(
        json!([{"method": "POST", "path": "/oauth/token", "times": 2,
        "action": {"type": "reply", "status": 401, "body": no_rule.to_string()}}]),
    );
    wd.write_main(&config(&issuer, &project, "my-org/my-repo", "30"));
    let before = emu.exchanges();
    let out = wd.apply();
    out.assert_success();
    for line in [
        "Action started: action.openai_workload_identity_verify.ci",
        "exchange refused (no mapping yet), retrying in 1 s",
        "token issued, expires in",
        "GET /v1/models: 200",
        "Action complete: action.openai_workload_identity_verify.ci",
    ] {
        out.assert_output_contains_words(line);
    }
    assert_eq!(
        emu.exchanges(),
        before + 3,
        "two refused tries and one success"
    );

    // 2. An update that admits another workload fails the apply that made
    //    it, at once (no wait can fix a claim mismatch), with the advice.
    wd.write_main(&config(&issuer, &project, "my-org/other-repo", "30"));
    let before = emu.exchanges();
    let out = wd.apply();
    out.assert_failure_saying(&[
        "No service account mapping matches the token",
        "attribute_matchers",
    ]);
    assert!(!out.output_contains_words("retrying"), "{}", out.stdout);
    assert_eq!(
        emu.exchanges(),
        before + 1,
        "a claim mismatch is tried once"
    );

    // 3. Fixed again, and checked on demand (a nightly drift job would).
    wd.write_main(&config(&issuer, &project, "my-org/my-repo", "30"));
    wd.apply().assert_success();
    let out = wd.run(&[
        "apply",
        "-input=false",
        "-auto-approve",
        "-invoke=action.openai_workload_identity_verify.ci",
    ]);
    out.assert_success();
    out.assert_output_contains_words("GET /v1/models: 200");
    out.assert_output_contains_words("Action complete");

    // 4. A wait known only at apply (from a resource the same run creates)
    //    passes the plan, and is refused when the action runs, before any
    //    exchange.
    wd.write_main(&format!(
        "{}\nresource \"terraform_data\" \"wait\" {{\n  input = 901\n}}\n",
        config(
            &issuer,
            &project,
            "my-org/third-repo",
            "terraform_data.wait.output"
        )
    ));
    let before = emu.exchanges();
    wd.apply().assert_failure_saying(&[
        "Invalid propagation_wait_seconds",
        "propagation_wait_seconds is 901; it must be between 0 and 900.",
    ]);
    assert_eq!(emu.exchanges(), before, "refused before any exchange");

    // The token is nowhere in the state.
    assert!(!wd.read("terraform.tfstate").contains(&token));
}
