//! Acceptance: a `moved` block hands a service account the official
//! `openai/openai` provider managed to this provider's
//! `openai_project_service_account` (MoveResourceState), keeping its id, so
//! the mapping that names it is untouched. The real official provider cannot
//! be downloaded here: a loopback stand-in (`tools/official-provider-standin`)
//! serves its published schema, and the state is the one that provider
//! writes (schema version 0: `project_id`, `service_account_id`, `id`,
//! `name`, `created_at`).

use crate::support::HEADER;
use crate::support::{Changes, Emulator, Workdir, org::id_of, tf_latest, workspace_bin};
use serde_json::json;

#[test]
fn moved_from_the_official_provider_keeps_the_service_account_id() {
    let emu = Emulator::start();
    let project = id_of(&emu.ok("POST", "/organization/projects", Some(json!({"name": "p"}))));
    // Made by the official provider (keyless), then given a role, as its
    // docs say to do separately.
    let accounts = format!("/organization/projects/{project}/service_accounts");
    let made = emu.ok(
        "POST",
        &accounts,
        Some(json!({"name": "ci", "create_service_account_only": true})),
    );
    let account = id_of(&made);
    emu.ok(
        "POST",
        &format!("{accounts}/{account}"),
        Some(json!({"role": "member"})),
    );
    let provider = id_of(&emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({"name": "gha", "type": "oidc", "issuer": "https://token.actions.githubusercontent.com",
                    "audience": "https://api.openai.com/v1"})),
    ));
    let mapping = id_of(&emu.ok(
        "POST",
        &format!("/organization/workload_identity_providers/{provider}/federation_rules"),
        Some(json!({"project_id": project, "service_account_id": account,
                    "attribute_matchers": {"repository": "my-org/app"}})),
    ));

    let mut wd = Workdir::new(&tf_latest());
    wd.use_emulator(&emu);
    // The stand-in, under the name Terraform looks for, in a folder of its own.
    let standin = wd.dir().join("../official");
    std::fs::create_dir_all(&standin).unwrap();
    std::os::unix::fs::symlink(
        workspace_bin("official-provider-standin"),
        standin.join("terraform-provider-openai"),
    )
    .unwrap();
    let cli = std::fs::read_to_string(wd.cli_config_path()).unwrap();
    let cli = cli.replacen(
        "dev_overrides {\n",
        &format!(
            "dev_overrides {{\n    \"openai/openai\" = \"{}\"\n",
            standin.canonicalize().unwrap().display()
        ),
        1,
    );
    std::fs::write(wd.cli_config_path(), cli).unwrap();

    // The state the official provider wrote. Both providers' resource types
    // are `openai_project_service_account`, so the moved block renames the
    // address (a move to the same address is refused as redundant).
    let state = json!({
        "version": 4, "terraform_version": "1.15.5", "serial": 3,
        "lineage": "8f1c2b0e-5a3d-4c77-9e1a-0b6d2f4e8a91", "outputs": {},
        "resources": [{
            "mode": "managed", "type": "openai_project_service_account", "name": "official_ci",
            "provider": "provider[\"registry.terraform.io/openai/openai\"]",
            "instances": [{
                "schema_version": 0,
                "attributes": {
                    "project_id": project, "service_account_id": account, "id": account,
                    "name": "ci", "created_at": made["created_at"]
                },
                "sensitive_attributes": []
            }]
        }],
        "check_results": null
    });
    wd.write(
        "terraform.tfstate",
        &serde_json::to_string_pretty(&state).unwrap(),
    );
    wd.write_main(&format!(
        r#"
{HEADER}

resource "openai_project_service_account" "ci" {{
  project_id = "{project}"
  name       = "ci"
}}

moved {{
  from = openai_project_service_account.official_ci
  to   = openai_project_service_account.ci
}}
"#
    ));
    // Read as data: the rendering of a move differs between versions.
    let plan = wd.plan_json();
    plan.assert_changes(Changes::new(0, 0, 0));
    let moved = plan.planned_change("openai_project_service_account.ci");
    assert_eq!(moved["action"], "move", "{plan}");
    assert_eq!(
        moved["previous_resource"]["addr"], "openai_project_service_account.official_ci",
        "{plan}"
    );
    wd.apply().assert_success();
    let shown = wd.state();
    let resources = &shown["values"]["root_module"]["resources"];
    assert_eq!(resources[0]["address"], "openai_project_service_account.ci");
    assert_eq!(resources[0]["values"]["id"], account.as_str());
    assert_eq!(resources[0]["values"]["role"], "member");
    assert!(
        resources[0]["provider_name"]
            .as_str()
            .unwrap()
            .ends_with("openai-wif/openai"),
        "{resources}"
    );
    wd.plan_detailed().assert_code(0);
    // The mapping still names the same account.
    let rule = emu.ok(
        "GET",
        &format!("/organization/workload_identity_providers/{provider}/federation_rules/{mapping}"),
        None,
    );
    assert_eq!(rule["service_account_id"], account.as_str());
}
