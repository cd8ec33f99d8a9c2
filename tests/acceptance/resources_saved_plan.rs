//! A saved plan applied after the objects were edited by hand: apply makes
//! the server equal the plan (drift reverted), and Terraform finds the
//! result consistent with the plan.

use crate::support::{Emulator, Workdir};
use serde_json::json;

const PROVIDERS: &str = "/organization/workload_identity_providers";

fn config(pid: &str, sa: &str, description: &str) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    openai = {{ source = "openai-wif/openai" }}
  }}
}}

resource "openai_workload_identity_provider" "k8s" {{
  name        = "cluster"
  issuer      = "https://oidc.cluster.example.com"
  audience    = "https://api.openai.com/v1"
  description = "{description}"
}}

resource "openai_service_account_mapping" "sa" {{
  workload_identity_provider_id = openai_workload_identity_provider.k8s.id
  project_id                    = "{pid}"
  service_account_id            = "{sa}"
  name                          = "deployer"
  description                   = "{description}"
  attribute_matchers            = {{ sub = "system:serviceaccount:ns:sa" }}
}}

output "provider_id" {{
  value = openai_workload_identity_provider.k8s.id
}}
output "mapping_id" {{
  value = openai_service_account_mapping.sa.id
}}
"#
    )
}

tftest! {
    /// `plan -out`, then disable the provider and widen the mapping's
    /// matcher by hand: `apply saved.plan` succeeds and the server holds
    /// exactly what the plan showed.
    fn a_saved_plan_reverts_edits_made_after_it(tf) {
        let emu = Emulator::start();
        let project = emu.ok("POST", "/organization/projects", Some(json!({"name": "p"})));
        let pid = project["id"].as_str().unwrap().to_string();
        let sa = emu.ok(
            "POST",
            &format!("/organization/projects/{pid}/service_accounts"),
            Some(json!({"name": "ci", "create_service_account_only": true})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut wd = Workdir::new(tf);
        wd.use_emulator(&emu);
        wd.write_main(&config(&pid, &sa, "v1"));
        wd.apply().assert_success();
        let provider_id = wd.output("provider_id").as_str().unwrap().to_string();
        let mapping_id = wd.output("mapping_id").as_str().unwrap().to_string();
        let provider_path = format!("{PROVIDERS}/{provider_id}");
        let rule_path = format!("{provider_path}/federation_rules/{mapping_id}");

        wd.write_main(&config(&pid, &sa, "v2"));
        wd.run(&["plan", "-input=false", "-out=saved.plan"]).assert_success();
        // Edits after the plan was saved.
        emu.ok("POST", &provider_path, Some(json!({"enabled": false})));
        emu.ok(
            "POST",
            &rule_path,
            Some(json!({"attribute_matchers": {"sub": "system:serviceaccount:*"}})),
        );

        wd.run(&["apply", "-input=false", "saved.plan"]).assert_success();
        let p = emu.ok("GET", &provider_path, None);
        assert_eq!(p["enabled"], json!(true), "{p}");
        assert_eq!(p["description"], "v2", "{p}");
        let r = emu.ok("GET", &rule_path, None);
        assert_eq!(
            r["attribute_matchers"],
            json!({"sub": "system:serviceaccount:ns:sa"}),
            "the widened matcher is reverted: {r}"
        );
        assert_eq!(r["description"], "v2", "{r}");
        wd.plan_detailed().assert_code(0);
    }
}
