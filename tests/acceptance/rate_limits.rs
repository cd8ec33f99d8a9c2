//! Acceptance: against an emulator that rate limits like OpenAI (a few
//! requests per route per window, 429s without Retry-After), an apply paces
//! itself and converges instead of failing. The window is a real one of
//! [`WINDOW_SECS`] on both sides (the emulator's flag and the provider's
//! environment variable) rather than a minute, so the waits are real and
//! short.

use crate::support::HEADER;
use crate::support::org::{account_by_hand, project_by_hand};
use crate::support::{Emulator, Workdir, tf_latest};

/// The rate-limit window of these tests, in seconds.
const WINDOW_SECS: &str = "3";
/// Terraform's default `-parallelism`: how many requests can be in flight.
const PARALLELISM: u64 = 10;
const CREATE_RULE_ROUTE: &str =
    "POST /v1/organization/workload_identity_providers/{id}/federation_rules";

/// An emulator allowing `rpm` requests per route in any [`WINDOW_SECS`].
fn limited(rpm: u32) -> Emulator {
    Emulator::start_with_args(&[
        "--rate-limit-rpm",
        &rpm.to_string(),
        "--rate-limit-window-secs",
        WINDOW_SECS,
    ])
}

/// A working directory on `emu` whose provider paces by the same window.
fn workdir(emu: &Emulator) -> Workdir {
    let mut wd = Workdir::with_emulator(&tf_latest(), emu);
    wd.env("OPENAI_RATE_LIMIT_WINDOW_SECONDS", WINDOW_SECS);
    wd
}

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
    let emu = limited(2);
    let wd = workdir(&emu);
    wd.write_main(CONFIG);

    let out = wd.apply();
    out.assert_success();
    // The waits are not silent: the resources that waited say so, with the
    // total, among the warnings Terraform lists at the end of the apply.
    assert!(
        out.output_contains_words("Warning: Waited for OpenAI rate limits (")
            && out.output_contains_words(
                "in all before its requests could be sent again; it completed."
            ),
        "no rate-limit warning:\n{out}"
    );
    wd.plan_detailed().assert_code(0);

    let listed = emu.ok(
        "GET",
        "/organization/workload_identity_providers?limit=100",
        None,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    // The limits really bit (else this proves nothing).
    assert!(rate_limited(&emu) > 0);
}

/// Ten providers with four mappings each, under OpenAI-like limits (20
/// requests per route per window, no Retry-After): one apply converges, the
/// server then holds exactly what is configured, and the requests were paced
/// by the window rather than guessed at.
#[test]
fn forty_mappings_converge_in_one_apply_at_twenty_requests_per_window() {
    const PROVIDERS: usize = 10;
    let emu = limited(20);
    let pid = project_by_hand(&emu, "paced");
    let sid = account_by_hand(&emu, &pid, "ci");
    let wd = workdir(&emu);
    wd.write_main(&format!(
        r#"
{HEADER}
# Window pacing waits a window or two per request here; a backoff that
# guesses (doubling with each of ten 429s, up to a minute) exceeds this budget.
provider "openai" {{
  rate_limit_wait_seconds = 30
}}

resource "openai_workload_identity_provider" "p" {{
  count    = {PROVIDERS}
  name     = "paced-${{count.index}}"
  issuer   = "https://issuer-${{count.index}}.example.com"
  audience = "https://api.openai.com/v1"
}}

resource "openai_service_account_mapping" "m" {{
  count                         = 40
  workload_identity_provider_id = openai_workload_identity_provider.p[count.index % {PROVIDERS}].id
  project_id                    = "{pid}"
  service_account_id            = "{sid}"
  name                          = "m-${{count.index}}"
  attribute_matchers = {{
    sub = "workload-${{count.index}}"
  }}
}}
"#
    ));

    apply_and_replan_clean(&wd);
    // The limits really bit (else this proves nothing).
    assert!(rate_limited(&emu) > 0);
    // Paced by the window: each mapping's create (and the read of its
    // provider's issuer before it) needs two windows on its route, and only
    // requests already in flight when a route's first window filled (at most
    // Terraform's parallelism) were refused; after that the provider knew
    // the route's limit and sent nothing the window could not take.
    let stats = emu.control("GET", "/_emulator/stats", None).1;
    let refused = rate_limited(&emu);
    assert!(
        refused <= 2 * PARALLELISM,
        "{refused} 429s on the two routes of 40 mappings: {stats}"
    );
    let creates = stats["by_route"][CREATE_RULE_ROUTE].as_u64().unwrap();
    assert!(
        creates <= 40 + PARALLELISM,
        "{creates} requests on the create route for 40 creates: {stats}"
    );

    // Exactly what is configured: ten providers, four mappings each, no duplicates.
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
    let want: Vec<String> = (0..PROVIDERS).map(|i| format!("paced-{i}")).collect();
    assert_eq!(names, want);
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
        assert_eq!(rules.len(), 40 / PROVIDERS, "{}: {rules:?}", p["name"]);
        let index: usize = p["name"].as_str().unwrap()["paced-".len()..]
            .parse()
            .unwrap();
        for r in rules {
            let sub = r["attribute_matchers"]["sub"].as_str().unwrap();
            let n: usize = sub.strip_prefix("workload-").unwrap().parse().unwrap();
            assert_eq!(n % PROVIDERS, index, "{sub} under {}", p["name"]);
            assert_eq!(r["name"], format!("m-{n}"));
            subs.push(n);
        }
    }
    subs.sort();
    assert_eq!(subs, (0..40).collect::<Vec<_>>());
}

/// Applies, then plans again expecting no changes.
fn apply_and_replan_clean(wd: &Workdir) {
    wd.apply_clean();
}
