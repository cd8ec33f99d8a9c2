//! Acceptance: "the migration is finished", measured. A service account
//! made the old way (with a static API key) gets a mapping; the documented
//! postcondition on `openai_project_api_keys` fails the apply while that
//! account still owns a key, and a `check` warns while any key was used in
//! the last 30 days. The key's use is real: it calls the emulator's
//! `GET /v1/models`, which sets `last_used_at`. Once the key is deleted the
//! apply passes and the check is quiet. A never-used key of a dashboard user
//! stays, and is left out by both filters.

use crate::support::HEADER;
use crate::support::config;
use crate::support::{Changes, Emulator, Workdir, org, tf_latest};
use serde_json::json;

fn config(issuer: &str, project: &str, account: &str) -> String {
    let provider = config::labelled_provider("ci", "ci", issuer, "");
    let mapping = config::mapping(
        "legacy",
        "openai_workload_identity_provider.ci.id",
        (project, account),
        r#"  attribute_matchers            = { repository = "my-org/my-repo" }"#,
    );
    format!(
        r#"
{HEADER}

{provider}{mapping}
# Done when no service account that now has a mapping still owns a static key.
data "openai_project_api_keys" "left_behind" {{
  project_id          = "{project}"
  service_account_ids = [openai_service_account_mapping.legacy.service_account_id]

  lifecycle {{
    postcondition {{
      condition     = length(self.api_keys) == 0
      error_message = "Static keys left: ${{join(", ", [for k in self.api_keys : "${{k.redacted_value}} (${{k.owner_name}})"])}}. Delete them."
    }}
  }}
}}

# And no key of the project was used in the last 30 days.
check "no_recently_used_keys" {{
  data "openai_project_api_keys" "recent" {{
    project_id       = "{project}"
    used_within_days = 30
  }}

  assert {{
    condition     = length(data.openai_project_api_keys.recent.api_keys) == 0
    error_message = "Keys used in the last 30 days: ${{join(", ", data.openai_project_api_keys.recent.api_keys[*].redacted_value)}}."
  }}
}}
"#
    )
}

/// Lists models with a static key, as a workload that still uses it would.
fn use_key(emu: &Emulator, key: &str) {
    let url = format!("{}/models", emu.base_url());
    let key = key.to_owned();
    let status = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .get(&url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .status()
        });
    assert_eq!(status.as_u16(), 200);
}

#[test]
fn the_static_key_check_fails_while_a_used_key_remains_and_passes_once_deleted() {
    let emu = Emulator::start();
    let project = org::id_of(&emu.ok("POST", "/organization/projects", Some(json!({"name": "p"}))));
    // Made the old way: the account comes with a key, which a workload uses.
    let legacy = emu.ok(
        "POST",
        &format!("/organization/projects/{project}/service_accounts"),
        Some(json!({"name": "legacy-ci"})),
    );
    let account = org::id_of(&legacy);
    let value = legacy["api_key"]["value"].as_str().unwrap().to_owned();
    let key_id = legacy["api_key"]["id"].as_str().unwrap().to_owned();
    use_key(&emu, &value);
    // A dashboard user's key, never used: neither filter counts it.
    let (status, user_key) = emu.control(
        "POST",
        &format!("/_emulator/projects/{project}/user_api_keys"),
        Some(json!({"user": {"id": "user_1", "email": "dev@example.com", "name": "Dev"}})),
    );
    assert_eq!(status, 200, "{user_key}");

    let listed = emu.ok(
        "GET",
        &format!("/organization/projects/{project}/api_keys"),
        None,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 2, "{listed}");
    let used = |k: &serde_json::Value| k["last_used_at"].as_i64().is_some();
    assert_eq!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| used(k))
            .count(),
        1,
        "{listed}"
    );

    let mut wd = Workdir::new(&tf_latest());
    wd.use_emulator(&emu);
    wd.write_main(&config(
        &format!("{}/_emulator/oidc", emu.url()),
        &project,
        &account,
    ));

    // Not done: the mapped account still owns a key, and it was used.
    let out = wd.apply();
    out.assert_failure_saying(&[
        "Static keys left: sk-svca",
        "(legacy-ci). Delete them.",
        "Keys used in the last 30 days: sk-svca",
    ]);
    assert!(!out.stdout.contains(&value) && !out.stderr.contains(&value));
    assert!(!wd.read("terraform.tfstate").contains(&value));

    // Done: the key is deleted (the user's unused key may stay).
    emu.ok(
        "DELETE",
        &format!("/organization/projects/{project}/api_keys/{key_id}"),
        None,
    );
    wd.apply()
        .assert_success()
        .assert_output_lacks_words("Keys used in the last 30 days");
    // (A check block's data source is always read again at apply, so the
    // plan shows that read, and no change.)
    wd.plan_json().assert_changes(Changes::new(0, 0, 0));
}
