//! Acceptance: the 50x50 limits fail at plan time, before anything is created,
//! counting existing objects, creates and destroys in the same run.

use crate::support::HEADER;
use crate::support::config::{
    self, counted_mappings, counted_mappings_via, counted_providers, providers_named,
};
use crate::support::org::{
    assert_refused_before_any_write, organization_with_providers, project_and_account,
    provider_count, providers_by_hand, rules_by_hand, writes,
};
use crate::support::{Changes, Emulator, TerraformBin, Workdir, tf_latest};
use serde_json::json;

#[test]
fn provider_limit_counts_existing_objects_and_fails_at_plan() {
    let (emu, wd) = organization_with_providers(&tf_latest(), 48);

    wd.write_main(&counted_providers(3));
    wd.plan_detailed().assert_code_saying(
        1,
        &[
            "Workload identity provider limit exceeded",
            "more than 50 workload identity providers: 48 exist, and this plan adds 3",
        ],
    );
    // apply stops at the same plan-time check: nothing is created.
    wd.apply().assert_failure();
    assert_eq!(provider_count(&emu), 48);

    // Exactly 50 applies.
    wd.write_main(&counted_providers(2));
    wd.apply().assert_success();
    assert_eq!(provider_count(&emu), 50);
    wd.plan_detailed().assert_code(0);

    // At the limit, replacing one (Terraform's own -replace) is net zero.
    let out = wd.run(&[
        "apply",
        "-input=false",
        "-auto-approve",
        "-json",
        "-replace=openai_workload_identity_provider.p[1]",
    ]);
    out.assert_success();
    out.assert_changes(Changes::new(1, 0, 1));
    assert_eq!(provider_count(&emu), 50);
}

#[test]
fn destroys_planned_in_the_same_run_make_room() {
    let (emu, wd) = organization_with_providers(&tf_latest(), 47);
    // 47 + 3 = 50.
    let config =
        |label: &str, n: usize| format!("{HEADER}{}", providers_named(label, None, label, n));
    wd.write_main(&config("old", 3));
    wd.apply().assert_success();
    assert_eq!(provider_count(&emu), 50);
    // Swap the 3 for 3 others: destroys and creates in one plan stay at 50.
    wd.write_main(&config("new", 3));
    wd.plan_json()
        .assert_code(2)
        .assert_changes(Changes::new(3, 0, 3));
    let swap = wd.read("main.tf");
    // One more than that is refused.
    wd.write_main(&config("new", 4));
    wd.plan_detailed().assert_code_saying(
        1,
        &["50 exist, and this plan adds 1 (4 created, 3 destroyed)"],
    );
    // The swap itself also applies (apply re-plans in a new process).
    wd.write_main(&swap);
    wd.apply().assert_success();
    assert_eq!(provider_count(&emu), 50);
    wd.plan_detailed().assert_code(0);
}

/// Where hand-made mappings go: a provider and the project and account.
struct Owner {
    wip: String,
    project: String,
    sa: String,
}

impl Owner {
    /// A configuration of `n` mappings of `provider` (an HCL expression)
    /// to this project and account, after `before` (more configuration).
    fn mappings_of(&self, before: &str, provider: &str, n: usize) -> String {
        let mappings = counted_mappings(provider, &self.project, &self.sa, n);
        format!("{HEADER}{before}{mappings}")
    }

    /// A configuration of `n` mappings of the provider made by hand.
    fn mappings(&self, n: usize) -> String {
        self.mappings_of("", &format!("\"{}\"", self.wip), n)
    }
}

/// An emulator with one provider made by hand that holds 49 mappings, and a
/// workdir using it.
fn provider_with_49_mappings(tf: &TerraformBin) -> (Emulator, Workdir, Owner) {
    let emu = Emulator::start();
    let (project, sa) = project_and_account(&emu);
    let wip = providers_by_hand(&emu, 1).remove(0);
    rules_by_hand(&emu, &wip, (&project, &sa), 49);
    let wd = Workdir::with_emulator(tf, &emu);
    (emu, wd, Owner { wip, project, sa })
}

#[test]
fn mapping_limit_per_provider_for_existing_and_new_providers() {
    let tf = tf_latest();
    let (emu, wd, owner) = provider_with_49_mappings(&tf);
    wd.write_main(&owner.mappings(2));
    wd.plan_detailed().assert_code_saying(
        1,
        &[
            "Service account mapping limit exceeded",
            "49 exist, and this plan adds 2",
        ],
    );
    wd.write_main(&owner.mappings(1));
    wd.apply().assert_success();

    // A provider created in the same run: its id is unknown at plan time,
    // and 51 mappings for it are still refused at plan.
    let wd2 = Workdir::with_emulator(&tf, &emu);
    let new_provider = r#"
resource "openai_workload_identity_provider" "fresh" {
  name     = "fresh"
  issuer   = "https://fresh.example.com"
  audience = "a"
}
"#;
    let fresh = "openai_workload_identity_provider.fresh.id";
    wd2.write_main(&owner.mappings_of(new_provider, fresh, 51));
    wd2.plan_detailed()
        .assert_code_saying(1, &["created in this plan"]);
    assert_eq!(provider_count(&emu), 1);
    wd2.write_main(&owner.mappings_of(new_provider, fresh, 50));
    wd2.apply().assert_success();
}

tftest! {
    /// At the limit, a tainted provider is replaced like `-replace`: net
    /// zero. Terraform plans a tainted object as a plain create, without its
    /// identity (1.15.5 too); the create's name, unique in the organization,
    /// tells that it replaces the tainted provider.
    fn a_tainted_provider_at_the_limit_is_a_replacement(tf) {
        let (emu, wd) = organization_with_providers(tf, 49);
        wd.write_main(&counted_providers(1));
        wd.apply().assert_success();
        assert_eq!(provider_count(&emu), 50);
        wd.run(&["taint", "openai_workload_identity_provider.p[0]"])
            .assert_success();
        wd.plan_json().assert_code(2).assert_changes(Changes::new(1, 0, 1));
        let out = wd.apply_json();
        out.assert_success();
        out.assert_changes(Changes::new(1, 0, 1));
        assert_eq!(provider_count(&emu), 50);
        wd.plan_detailed().assert_code(0);
    }
}

/// Two aliases of the provider, each `(alias, settings, n)`: its block
/// holds `settings` (lines besides `alias`), and `n` providers
/// ([`providers_named`]) are made through it.
fn providers_through_two_aliases(aliases: [(&str, &str, usize); 2]) -> String {
    let mut config = HEADER.to_string();
    for (alias, settings, n) in aliases {
        let via = format!("openai.{alias}");
        config += &format!("provider \"openai\" {{\n  alias = \"{alias}\"\n{settings}}}\n");
        config += &providers_named(alias, Some(&via), &alias.replace('_', "-"), n);
    }
    config
}

tftest! {
    /// Two aliases of the provider on one organization are two provider
    /// processes; they count the organization's limit together, so the plan
    /// fails before anything is created.
    fn aliases_on_one_organization_count_the_limit_together(tf) {
        let (emu, wd) = organization_with_providers(tf, 48);
        let config = |a: usize, b: usize| {
            providers_through_two_aliases([("team_a", "", a), ("team_b", "", b)])
        };
        wd.write_main(&config(1, 2));
        let apply = assert_refused_before_any_write(&wd, &emu, &[
            "Workload identity provider limit exceeded",
            "48 exist, and this plan adds 3 (3 created, 0 destroyed)",
            "counting every alias of this provider on the organization",
            "Nothing was created.",
        ]);
        apply.assert_output_contains_words("Workload identity provider limit exceeded");
        assert_eq!(provider_count(&emu), 48);

        // 48 + 1 + 1 fits, through both aliases, and stays clean.
        wd.write_main(&config(1, 1));
        wd.apply().assert_success();
        assert_eq!(provider_count(&emu), 50);
        wd.plan_detailed().assert_code(0);
    }
}

fn cbd_provider(cbd: bool) -> String {
    let lifecycle = if cbd {
        "\n  lifecycle {\n    create_before_destroy = true\n  }"
    } else {
        ""
    };
    format!(
        r#"{HEADER}
resource "openai_workload_identity_provider" "p" {{
  name     = "p"
  issuer   = "https://p.example.com"
  audience = "https://api.openai.com/v1"{lifecycle}
}}
"#
    )
}

tftest! {
    /// A `create_before_destroy` replacement at 50/50: the plan counts it as
    /// net zero (the provider cannot see the lifecycle block), apply fails
    /// on the create, naming `create_before_destroy` and the way out; the old
    /// object is kept; without `create_before_destroy` one apply completes
    /// the replacement.
    fn a_create_before_destroy_replacement_at_the_limit_names_the_way_out(tf) {
        let (emu, wd) = organization_with_providers(tf, 49);
        wd.write_main(&cbd_provider(true));
        wd.apply().assert_success();
        let before = wd.state()["values"]["root_module"]["resources"][0]["values"]["id"].clone();
        let replace = ["apply", "-input=false", "-auto-approve", "-json", "-replace=openai_workload_identity_provider.p"];
        wd.run(&replace).assert_failure_saying(&[
            "No room to create the workload identity provider",
            "lifecycle { create_before_destroy = true }",
            "Remove create_before_destroy from the resource's lifecycle block and apply again",
        ]);
        assert_eq!(provider_count(&emu), 50);
        // The old object is still the one in state, and still exists.
        let state = wd.state();
        assert_eq!(state["values"]["root_module"]["resources"][0]["values"]["id"], before);

        // Without create_before_destroy, one apply replaces it.
        wd.write_main(&cbd_provider(false));
        let out = wd.run(&replace);
        out.assert_success();
        out.assert_changes(Changes::new(1, 0, 1));
        assert_eq!(provider_count(&emu), 50);
        wd.plan_detailed().assert_code(0);
    }
}

/// A tainted mapping of a provider at its 50 mappings is a replacement too,
/// recognised by its content when it has no name.
#[test]
fn a_tainted_mapping_at_the_limit_is_a_replacement() {
    let (_emu, wd, owner) = provider_with_49_mappings(&tf_latest());
    wd.write_main(&owner.mappings(1));
    wd.apply().assert_success();
    wd.run(&["taint", "openai_service_account_mapping.m[0]"])
        .assert_success();
    wd.plan_json()
        .assert_code(2)
        .assert_changes(Changes::new(1, 0, 1));
    wd.apply_clean();
}

/// A module of `count` providers named `prefix-N`, for `terraform test`.
const COUNTED_PROVIDERS: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
variable "prefix" {
  type = string
}
variable "n" {
  type    = number
  default = 20
}
resource "openai_workload_identity_provider" "p" {
  count    = var.n
  name     = "${var.prefix}-${count.index}"
  issuer   = "https://${var.prefix}-${count.index}.example.com"
  audience = "https://api.openai.com/v1"
}
"#;

/// `terraform test` plans and applies every `run` block in one Terraform
/// process. The creates a plan-only block planned are never made, so they
/// do not count in the next block: three blocks of 20 fit an empty
/// organization. What a block applied does count: it is in the
/// organization, and the next block's listing sees it.
#[test]
fn terraform_test_run_blocks_count_apart() {
    let (emu, wd) = organization_with_providers(&tf_latest(), 0);
    wd.write_main(COUNTED_PROVIDERS);
    wd.write(
        "plans.tftest.hcl",
        r#"
run "one" {
  command = plan
  variables {
    prefix = "one"
  }
}
run "two" {
  command = plan
  variables {
    prefix = "two"
  }
}
run "three" {
  command = plan
  variables {
    prefix = "three"
  }
}
"#,
    );
    emu.control("POST", "/_emulator/requests/reset", None);
    let out = wd.run(&["test"]);
    out.assert_success();
    out.assert_output_contains_words("3 passed, 0 failed");
    assert_eq!(writes(&emu), Vec::<String>::new());

    // An applied block's providers exist for the next blocks (of another
    // module here, so that they plan creates only): 20 + 31 is refused at
    // plan, and 20 + 30 fits. Teardown destroys them all.
    std::fs::remove_file(wd.dir().join("plans.tftest.hcl")).unwrap();
    wd.write("setup/main.tf", COUNTED_PROVIDERS);
    wd.write(
        "applied.tftest.hcl",
        r#"
run "apply" {
  module {
    source = "./setup"
  }
  variables {
    prefix = "applied"
  }
}
run "fits" {
  command = plan
  variables {
    prefix = "fits"
    n      = 30
  }
}
run "too_many" {
  command = plan
  variables {
    prefix = "many"
    n      = 31
  }
}
"#,
    );
    wd.init().assert_success();
    // The setup block's creates were an earlier operation's: this one
    // created nothing (they are destroyed at teardown, not kept).
    wd.run(&["test"]).assert_failure_saying(&[
        "2 passed, 1 failed",
        "20 exist, and this plan adds 31",
        "Nothing was created.",
    ]);
    assert_eq!(
        provider_count(&emu),
        0,
        "teardown destroyed what was applied"
    );
}

tftest! {
    /// Aliases that spell one organization's address differently
    /// (`127.0.0.1` and `localhost`, with and without a trailing `/`) count
    /// its limit together: 5 + 23 + 23 fails at plan, before any write.
    fn aliases_spelling_one_organization_differently_count_together(tf) {
        let (emu, wd) = organization_with_providers(tf, 5);
        let port = emu.addr().rsplit_once(':').unwrap().1.to_string();
        let by_ip = format!("  base_url = \"http://127.0.0.1:{port}/v1\"\n");
        let by_name = format!("  base_url = \"http://localhost:{port}/v1/\"\n");
        let config = |n: usize| {
            providers_through_two_aliases([("by_ip", &by_ip, n), ("by_name", &by_name, n)])
        };
        wd.write_main(&config(23));
        assert_refused_before_any_write(&wd, &emu, &[
            "Workload identity provider limit exceeded",
            "5 exist, and this plan adds 46",
        ]);
        assert_eq!(provider_count(&emu), 5);
        // 5 + 22 + 23 fits.
        wd.write_main(&config(22).replacen("count    = 22", "count    = 23", 1));
        wd.apply().assert_success();
        assert_eq!(provider_count(&emu), 50);
    }
}

tftest! {
    /// A provider created through one alias with its mappings in another:
    /// the mappings count against the new provider's limit at plan.
    fn mappings_in_another_alias_count_against_a_new_provider(tf) {
        let emu = Emulator::start();
        let (project, sa) = project_and_account(&emu);
        let wd = Workdir::with_emulator(tf, &emu);
        let config = |n: usize| {
            format!(
                r#"{HEADER}
provider "openai" {{
  alias = "idp"
}}
provider "openai" {{
  alias = "rules"
}}
resource "openai_workload_identity_provider" "fresh" {{
  provider = openai.idp
  name     = "fresh"
  issuer   = "https://fresh.example.com"
  audience = "a"
}}
{}"#,
                counted_mappings_via(
                    Some("openai.rules"),
                    "openai_workload_identity_provider.fresh.id",
                    &project,
                    &sa,
                    n,
                )
            )
        };
        wd.write_main(&config(55));
        assert_refused_before_any_write(&wd, &emu, &[
            "Service account mapping limit exceeded",
            "created in this plan",
        ]);
        wd.write_main(&config(50));
        wd.apply().assert_success();
    }
}

/// A ledger directory planted by another user (here: open to everyone, with
/// a link to a file of ours inside) is not used: the provider says why in
/// its log, writes nothing there, and still checks each alias's own count.
#[test]
fn a_planted_ledger_directory_is_refused_and_left_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let (_emu, mut wd) = organization_with_providers(&tf_latest(), 48);
    let tmp = tempfile::tempdir().unwrap();
    let uid = rustix::process::geteuid().as_raw();
    let planted = tmp.path().join(format!("terraform-provider-openai-{uid}"));
    std::fs::create_dir(&planted).unwrap();
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o777)).unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, planted.join("limits.jsonl")).unwrap();
    wd.env("TMPDIR", &tmp.path().to_string_lossy())
        .env("XDG_RUNTIME_DIR", "")
        .env("TF_LOG_PROVIDER", "WARN");
    wd.write_main(&counted_providers(3));
    let out = wd.plan_detailed();
    out.assert_code_saying(1, &["48 exist, and this plan adds 3"]);
    assert!(
        out.stderr_contains("is open to other users"),
        "the log says why the run log is not used\n{out:?}"
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let left: Vec<_> = std::fs::read_dir(&planted)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("limits.jsonl")]);
}

tftest! {
    /// Item 8 of the guards issue: unnamed mappings are told apart by all
    /// they send (two differing only in `scopes` or `enabled` are two
    /// creates), and a create identical to a rule made outside Terraform is
    /// a new rule, not the replacement of a tainted one.
    fn unnamed_mappings_count_by_everything_they_send(tf) {
        let emu = Emulator::start();
        let (project, sa) = project_and_account(&emu);
        let wip = providers_by_hand(&emu, 1).remove(0);
        let rules = format!("/organization/workload_identity_providers/{wip}/federation_rules");
        // One rule made by hand, identical to the first mapping below.
        emu.ok(
            "POST",
            &rules,
            Some(json!({"project_id": project, "service_account_id": sa,
                        "attribute_matchers": {"sub": "same"}})),
        );
        let provider = format!("\"{wip}\"");
        let mapping = |name: &str, extra: &str| {
            let body = format!("  attribute_matchers            = {{ sub = \"same\" }}\n{extra}");
            config::mapping(name, &provider, (&project, &sa), &body)
        };
        let limited = "provider \"openai\" {\n  max_mappings_per_provider = 2\n}\n";
        let wd = Workdir::with_emulator(tf, &emu);
        // 1 existing + the same content again + the same with scopes = 3.
        wd.write_main(&format!(
            "{HEADER}{limited}{}{}",
            mapping("a", ""),
            mapping("b", "  scopes = [\"api.model.request\"]")
        ));
        wd.plan_detailed().assert_code_saying(1, &[
            "Service account mapping limit exceeded",
            "1 exist, and this plan adds 2",
        ]);
        // Differing only in `enabled`: also two creates.
        wd.write_main(&format!(
            "{HEADER}{limited}{}{}",
            mapping("a", "  enabled = true"),
            mapping("b", "  enabled = false")
        ));
        wd.plan_detailed().assert_code(1);
        let listed = emu.ok("GET", &format!("{rules}?limit=100"), None);
        assert_eq!(listed["data"].as_array().unwrap().len(), 1, "{listed}");
        // One of them fits.
        wd.write_main(&format!("{HEADER}{limited}{}", mapping("a", "")));
        wd.apply().assert_success();
    }
}

/// The organization fills up after a plan was saved: applying it is
/// refused by the plan Terraform makes again during apply, before any write,
/// and without the paragraph about `create_before_destroy`, which only a
/// replacement needs.
#[test]
fn a_saved_plan_whose_create_no_longer_fits_is_refused_before_any_write() {
    let (emu, wd) = organization_with_providers(&tf_latest(), 49);
    wd.write_main(&counted_providers(1));
    wd.run(&["plan", "-input=false", "-out=saved.plan"])
        .assert_success();
    emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(json!({"name": "late", "issuer": "https://late.example.com",
                    "audience": "a", "type": "oidc"})),
    );
    let out = wd.run(&["apply", "-input=false", "saved.plan"]);
    out.assert_failure_saying(&[
        "Workload identity provider limit exceeded",
        "50 exist, and this plan adds 1",
    ]);
    assert!(
        !out.output_contains_words("create_before_destroy"),
        "{}",
        out.stderr
    );
    assert_eq!(provider_count(&emu), 50);
}
