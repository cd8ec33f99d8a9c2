//! Acceptance: a provider of a kind this provider cannot represent (an
//! `x509_ca` key source, from OpenAI's fixtures) imports and plans while it
//! is left alone, and a plan that would change it fails with a clear
//! diagnostic on its attribute instead of a decode error or a silent
//! conversion.

use crate::support::HEADER;
use crate::support::{Changes, Emulator, Workdir, tf_latest};
use serde_json::{Value as Json, json};

fn fixture(name: &str) -> Json {
    let path = format!(
        "{}/tests/fixtures/openai/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn config(name: &str) -> String {
    format!(
        r#"
{HEADER}
import {{
  to = openai_workload_identity_provider.pki
  id = "wip_x509_example"
}}

resource "openai_workload_identity_provider" "pki" {{
  name     = "{name}"
  issuer   = "https://pki.example.com"
  audience = "https://api.openai.com/v1"
}}
"#
    )
}

#[test]
fn an_x509_provider_imports_but_cannot_be_changed() {
    let tf = tf_latest();
    let emu = Emulator::start();
    // The emulator only stores kinds it knows: answer the provider's reads
    // with OpenAI's x509 fixture instead.
    let provider = fixture("provider--x509_ca.json");
    let list = json!({"object": "list", "data": [provider], "first_id": "wip_x509_example",
                      "last_id": "wip_x509_example", "has_more": false});
    let reply = |path: &str, body: &Json| {
        json!({"method": "GET", "path": path, "times": 1000,
               "action": {"type": "reply", "status": 200,
                          "headers": {"content-type": "application/json"},
                          "body": body.to_string()}})
    };
    emu.script_faults(json!([
        reply("/v1/organization/workload_identity_providers", &list),
        reply(
            "/v1/organization/workload_identity_providers/{id}",
            &provider
        ),
    ]));

    let wd = Workdir::with_emulator(&tf, &emu);
    // As read, it imports and plans no change.
    wd.write_main(&config("internal-pki"));
    let plan = wd.plan_json();
    plan.assert_changes(Changes::imports(1));
    wd.apply_clean();

    // Any change is refused on the key source attribute, before anything is sent.
    wd.write_main(&config("renamed"));
    let out = wd.plan_json();
    out.assert_code(1);
    let refusal = out.diagnostic("error", "Cannot manage this workload identity provider yet");
    out.assert_output_contains_words(
        "cannot manage workload identity providers with verification type \"x509_ca\" yet",
    );
    // On the key source attribute, which Terraform shows as the resource
    // block when the configuration does not set it.
    assert_eq!(
        refusal["address"], "openai_workload_identity_provider.pki",
        "{out}"
    );
    assert!(!out.stdout.contains("unknown variant") && !out.stderr.contains("unknown variant"));
    let log = emu.control("GET", "/_emulator/requests", None).1;
    let requests = log["requests"].as_array().expect("a request log");
    assert!(!requests.is_empty(), "{log}");
    let writes: Vec<&Json> = requests.iter().filter(|r| r["method"] != "GET").collect();
    assert!(
        writes.is_empty(),
        "nothing was sent to change it: {writes:?}"
    );
}
