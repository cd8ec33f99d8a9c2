//! The whole keyless flow in one Terraform configuration, using only this
//! provider: a keyless service account, a workload identity provider trusting
//! the emulator's built-in OIDC issuer, a pinned mapping, and the ephemeral
//! token exchange, with neither token in state, plan or logs.

use crate::support::org::project_by_hand;
use crate::support::{Emulator, Workdir, tf_latest};
use crate::support::{HEADER, config};
use serde_json::json;

fn config(issuer: &str, project: &str, consume: bool) -> String {
    let consumer = if consume {
        config::token_variable("workload_token")
            + r#"
ephemeral "openai_workload_identity_token" "t" {
  workload_identity_provider_id = openai_workload_identity_provider.local.id
  service_account_id            = openai_project_service_account.ci.id
  subject_token                 = var.workload_token
}

resource "terraform_data" "use" {
  provisioner "local-exec" {
    command = "[ \"$${TOKEN%%_*}\" = wifat ] && printf '%s' \"$SCOPE\" > used.txt"
    environment = {
      TOKEN = ephemeral.openai_workload_identity_token.t.access_token
      SCOPE = coalesce(ephemeral.openai_workload_identity_token.t.scope, "unrestricted")
    }
  }
}
"#
    } else {
        String::new()
    };
    let provider = config::labelled_provider("local", "local-issuer", issuer, "");
    format!(
        r#"
{HEADER}
data "openai_project" "p" {{
  id = "{project}"
}}

resource "openai_project_service_account" "ci" {{
  project_id = data.openai_project.p.id
  name       = "ci-deployer"
}}

{provider}
resource "openai_service_account_mapping" "deploy" {{
  workload_identity_provider_id = openai_workload_identity_provider.local.id
  project_id                    = data.openai_project.p.id
  service_account_id            = openai_project_service_account.ci.id
  attribute_matchers = {{
    repository = "my-org/my-repo"
    ref        = "refs/heads/main"
  }}
  scopes = ["api.model.request"]
}}
{consumer}"#
    )
}

#[test]
fn keyless_setup_and_exchange_with_only_this_provider() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let project = project_by_hand(&emu, "demo");
    let issuer = emu.oidc_issuer();
    let mut wd = Workdir::with_emulator(&tf, &emu);
    wd.env("OPENAI_TOKEN_EXCHANGE_URL", &emu.token_url())
        .env("TF_LOG_PROVIDER", "TRACE");
    let log = wd.dir().join("tf.log");
    wd.env("TF_LOG_PATH", log.to_str().unwrap());

    // 1. The trust, as code.
    wd.write_main(&config(&issuer, &project, false));
    wd.apply_clean();

    // 2. A workload's token from this repository and branch is exchanged.
    let good = emu.mint(
        json!({"sub": "repo:my-org/my-repo:ref:refs/heads/main", "aud": "https://api.openai.com/v1",
               "repository": "my-org/my-repo", "ref": "refs/heads/main"}),
    );
    wd.write_main(&config(&issuer, &project, true));
    wd.env("TF_VAR_workload_token", &good);
    wd.run(&["plan", "-input=false", "-out=tfplan"])
        .assert_success();
    wd.run(&["apply", "-input=false", "tfplan"])
        .assert_success();
    assert_eq!(wd.read("used.txt"), "api.model.request");

    // 3. A token with foreign claims is refused with the reason.
    let foreign = emu.mint(
        json!({"sub": "repo:evil/repo:ref:refs/heads/main", "aud": "https://api.openai.com/v1",
               "repository": "evil/repo", "ref": "refs/heads/main"}),
    );
    wd.env("TF_VAR_workload_token", &foreign);
    wd.apply_replacing("terraform_data.use")
        .assert_failure_saying(&["Token exchange refused", "invalid_grant"]);

    // Neither token is in state, the saved plan or the logs.
    let plan_json = wd.run(&["show", "-json", "tfplan"]).stdout;
    let state = wd.read("terraform.tfstate");
    let logs = std::fs::read_to_string(&log).unwrap_or_default();
    for (what, text) in [("plan", &plan_json), ("state", &state), ("log", &logs)] {
        for (name, token) in [("good", &good), ("foreign", &foreign)] {
            assert!(
                !text.contains(token.as_str()),
                "the {name} subject token is in the {what}"
            );
        }
        assert!(!text.contains("wifat_"), "an access token is in the {what}");
    }
    assert!(!logs.is_empty(), "TF_LOG_PATH produced no log");
}
