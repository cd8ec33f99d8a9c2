//! Acceptance: against an emulator that rate limits like OpenAI (a few
//! requests per route per minute, 429s without Retry-After), an apply paces
//! itself and converges instead of failing. A helper thread stands in for
//! the passing minute: after each new 429 it moves the emulator's clock on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::{Emulator, Workdir, tf_latest};

const CONFIG: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}

resource "openai_workload_identity_provider" "p" {
  count    = 3
  name     = "paced-${count.index}"
  issuer   = "https://issuer-${count.index}.example.com"
  audience = "https://api.openai.com/v1"
}
"#;

fn rate_limited(emu: &Emulator) -> u64 {
    emu.control("GET", "/_emulator/stats", None).1["by_status"]["429"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn apply_paces_itself_under_rate_limits_and_converges() {
    let tf = tf_latest();
    let emu = Emulator::start_with_args(&["--rate-limit-rpm", "2"]);
    let mut wd = Workdir::new(&tf);
    wd.use_emulator(&emu);
    wd.write_main(CONFIG);

    apply_and_replan_clean(&emu, &mut wd, 0);

    let listed = emu.ok(
        "GET",
        "/organization/workload_identity_providers?limit=100",
        None,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    // The limits really bit (else this proves nothing).
    assert!(rate_limited(&emu) > 0);
}

/// Two providers with twenty mappings each, under OpenAI-like limits (20
/// requests per route per minute, no Retry-After): one apply converges and
/// the server then holds exactly what is configured.
#[test]
fn forty_mappings_converge_in_one_apply_at_twenty_requests_per_minute() {
    let tf = tf_latest();
    let emu = Emulator::start_with_args(&["--rate-limit-rpm", "20"]);
    let project = emu.ok(
        "POST",
        "/organization/projects",
        Some(serde_json::json!({"name": "paced"})),
    );
    let pid = project["id"].as_str().unwrap().to_owned();
    let account = emu.ok(
        "POST",
        &format!("/organization/projects/{pid}/service_accounts"),
        Some(serde_json::json!({"name": "ci", "create_service_account_only": true})),
    );
    let sid = account["id"].as_str().unwrap().to_owned();
    // The setup above counts against the limits too: start with a fresh window.
    emu.control(
        "POST",
        "/_emulator/clock",
        Some(serde_json::json!({ "offset_secs": 61 })),
    );
    let mut wd = Workdir::new(&tf);
    wd.use_emulator(&emu);
    wd.write_main(&format!(
        r#"
terraform {{
  required_providers {{
    openai = {{ source = "openai-wif/openai" }}
  }}
}}

resource "openai_workload_identity_provider" "p" {{
  count    = 2
  name     = "paced-${{count.index}}"
  issuer   = "https://issuer-${{count.index}}.example.com"
  audience = "https://api.openai.com/v1"
}}

resource "openai_service_account_mapping" "m" {{
  count                         = 40
  workload_identity_provider_id = openai_workload_identity_provider.p[count.index % 2].id
  project_id                    = "{pid}"
  service_account_id            = "{sid}"
  name                          = "m-${{count.index}}"
  attribute_matchers = {{
    sub = "workload-${{count.index}}"
  }}
}}
"#
    ));

    apply_and_replan_clean(&emu, &mut wd, 61);
    // The limits really bit (else this proves nothing).
    assert!(rate_limited(&emu) > 0);

    // Exactly what is configured: two providers, twenty mappings each, no duplicates.
    emu.control(
        "POST",
        "/_emulator/clock",
        Some(serde_json::json!({ "offset_secs": 100_000 })),
    );
    let providers = emu.ok(
        "GET",
        "/organization/workload_identity_providers?limit=100",
        None,
    );
    let providers = providers["data"].as_array().unwrap().clone();
    let mut names: Vec<&str> = providers
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["paced-0", "paced-1"]);
    let mut subs = Vec::new();
    for p in &providers {
        let rules = emu.ok(
            "GET",
            &format!(
                "/organization/workload_identity_providers/{}/federation_rules?limit=100",
                p["id"].as_str().unwrap()
            ),
            None,
        );
        let rules = rules["data"].as_array().unwrap();
        assert_eq!(rules.len(), 20, "{}: {rules:?}", p["name"]);
        let index = if p["name"] == "paced-0" { 0 } else { 1 };
        for r in rules {
            let sub = r["attribute_matchers"]["sub"].as_str().unwrap();
            let n: usize = sub.strip_prefix("workload-").unwrap().parse().unwrap();
            assert_eq!(n % 2, index, "{sub} under {}", p["name"]);
            assert_eq!(r["name"], format!("m-{n}"));
            subs.push(n);
        }
    }
    subs.sort();
    assert_eq!(subs, (0..40).collect::<Vec<_>>());
}

/// Applies, then plans again expecting no changes, while moving the
/// emulator's clock a window (61 s) ahead each time it answers another 429,
/// from `offset` seconds: the client's waits end at once instead of after
/// real minutes.
fn apply_and_replan_clean(emu: &Emulator, wd: &mut Workdir, offset: i64) {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let (mut seen, mut offset) = (0, offset);
            while !done.load(Ordering::Relaxed) {
                let now = rate_limited(emu);
                if now > seen {
                    seen = now;
                    offset += 61;
                    emu.control(
                        "POST",
                        "/_emulator/clock",
                        Some(serde_json::json!({ "offset_secs": offset })),
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let applied = wd.apply();
        let replanned = wd.plan_detailed();
        done.store(true, Ordering::Relaxed);
        applied.assert_success();
        replanned.assert_code(0);
    });
}
