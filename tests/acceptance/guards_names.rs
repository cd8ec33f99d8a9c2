//! Acceptance: name changes either apply or are refused at plan with what
//! to do (item 11 of the guards issue): a rename chain applies in whatever
//! order Terraform writes, a swap is refused at plan, and a
//! `create_before_destroy` replacement that keeps its name says why the
//! API refused it.

use crate::support::HEADER;
use crate::support::org::{Org, provider_names as names, rules_by_hand};
use crate::support::{Emulator, Workdir, tf_latest};

fn providers(a: &str, b: &str, lifecycle: &str) -> String {
    format!(
        r#"{HEADER}
resource "openai_workload_identity_provider" "a" {{
  name     = "{a}"
  issuer   = "https://a.example.com"
  audience = "https://api.openai.com/v1"
{lifecycle}
}}
resource "openai_workload_identity_provider" "b" {{
  name     = "{b}"
  issuer   = "https://b.example.com"
  audience = "https://api.openai.com/v1"
}}
"#
    )
}

const CBD: &str = "  lifecycle {\n    create_before_destroy = true\n  }";

/// Providers `one` (with `create_before_destroy`) and `two`, applied.
fn two_providers_first_with_create_before_destroy() -> (Emulator, Workdir) {
    let tf = tf_latest();
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf, &emu);
    wd.write_main(&providers("one", "two", CBD));
    wd.apply().assert_success();
    (emu, wd)
}

#[test]
fn a_rename_chain_applies_and_a_swap_is_refused_at_plan() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf, &emu);
    wd.write_main(&providers("one", "two", ""));
    wd.apply().assert_success();

    // a takes b's name while b moves on: whichever Terraform writes first,
    // the apply completes.
    wd.write_main(&providers("two", "three", ""));
    let chain = wd.apply();
    chain.assert_success();
    assert_eq!(names(&emu), ["three", "two"]);
    wd.plan_detailed().assert_code(0);

    // A swap cannot be written in either order: refused at plan.
    wd.write_main(&providers("three", "two", ""));
    wd.plan_detailed().assert_code_saying(
        1,
        &["Names swapped", "Rename one of them to a temporary name"],
    );
    assert_eq!(names(&emu), ["three", "two"]);
}

/// `create_before_destroy` with the same name, through a saved plan: the
/// apply walk of `terraform apply FILE` is not told which object the create
/// replaces (Terraform up to 1.15 deposes it first and passes no planned
/// private bytes), so it recalls the replacement the plan remembered, and
/// the create renames the old object aside.
#[test]
fn a_create_before_destroy_replacement_with_the_same_name_applies_from_a_saved_plan() {
    let (emu, wd) = two_providers_first_with_create_before_destroy();
    let id_of_one = || {
        emu.ok(
            "GET",
            "/organization/workload_identity_providers?limit=100",
            None,
        )["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "one")
            .map(|p| p["id"].as_str().unwrap().to_string())
    };
    let old = id_of_one().unwrap();
    wd.run(&[
        "plan",
        "-input=false",
        "-out=cbd.plan",
        "-replace=openai_workload_identity_provider.a",
    ])
    .assert_success();
    wd.run(&["apply", "-input=false", "cbd.plan"])
        .assert_success();
    assert_eq!(names(&emu), ["one", "two"]);
    assert_ne!(id_of_one().unwrap(), old, "the provider was replaced");
    wd.plan_detailed().assert_code(0);
}

/// A new resource given the name of a sibling that stays is no
/// replacement: the sibling is never renamed aside, whatever the
/// lifecycle; the create fails on the taken name and the sibling keeps it.
#[test]
fn a_new_resource_named_like_a_sibling_that_stays_never_renames_it() {
    let (emu, wd) = two_providers_first_with_create_before_destroy();
    wd.write_main(&format!(
        "{}\nresource \"openai_workload_identity_provider\" \"c\" {{\n  name     = \"one\"\n  issuer   = \"https://c.example.com\"\n  audience = \"https://api.openai.com/v1\"\n{CBD}\n}}\n",
        providers("one", "two", CBD)
    ));
    wd.run(&["apply", "-input=false", "-auto-approve"])
        .assert_failure_saying(&["name is taken"]);
    assert_eq!(names(&emu), ["one", "two"], "the sibling keeps its name");
}

/// A `create_before_destroy` replacement at the mapping limit: the create
/// renames the old mapping aside, then OpenAI refuses it for the limit, so
/// the old mapping gets its name back (it stays, and Terraform still holds
/// it under that name).
#[test]
fn a_create_refused_after_renaming_the_old_object_aside_gives_the_name_back() {
    let (org, wd) = Org::new_with_workdir();
    let wip = org.provider_by_hand("k8s", "https://k8s.example.com");
    rules_by_hand(&org.emu, &wip, (&org.project, &org.account), 49);
    let body = format!("  name = \"keep-me\"\n  attribute_matchers = {{ sub = \"s\" }}\n{CBD}");
    wd.write_config(&org.mapping("m", &format!("\"{wip}\""), &body));
    wd.apply().assert_success();
    let named = || -> Vec<String> {
        org.rules(&wip)
            .iter()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(named(), ["keep-me"]);
    wd.apply_replacing("openai_service_account_mapping.m")
        .assert_failure_saying(&["No room to create the service account mapping"]);
    assert_eq!(named(), ["keep-me"], "the old mapping has its name back");
}

/// Two enabled mappings of one provider and service account that can match
/// the same token make the exchange ambiguous: the plan warns, naming the
/// other; exclusive matchers plan without it.
#[test]
fn overlapping_mappings_of_one_account_are_warned_about() {
    let (org, wd) = Org::new_with_workdir();
    let wip = org.provider_by_hand("k8s", "https://k8s.example.com");
    let provider = format!("\"{wip}\"");
    let mapping = |label: &str, sub: &str| {
        let matchers = format!("  attribute_matchers            = {{ sub = \"{sub}\" }}");
        org.mapping(label, &provider, &matchers)
    };
    wd.write_main(&format!(
        "{HEADER}{}{}",
        mapping("all", "system:serviceaccount:ns:*"),
        mapping("one", "system:serviceaccount:ns:deployer")
    ));
    wd.plan_detailed()
        .assert_code_saying(2, &["Mappings may match the same token"]);

    wd.write_main(&format!(
        "{HEADER}{}{}",
        mapping("all", "system:serviceaccount:ns:*"),
        mapping("one", "system:serviceaccount:other:deployer")
    ));
    wd.apply()
        .assert_success()
        .assert_output_lacks_words("Mappings may match the same token");
    // A mapping that already exists counts too.
    wd.write_main(&format!(
        "{HEADER}{}{}{}",
        mapping("all", "system:serviceaccount:ns:*"),
        mapping("one", "system:serviceaccount:other:deployer"),
        mapping("two", "system:serviceaccount:other:*")
    ));
    wd.plan_detailed()
        .assert_code_saying(2, &["Mappings may match the same token"]);
}

/// Item 11: `-replace` of a provider whose mapping names it by its literal
/// id would fail at the delete (OpenAI refuses to delete a provider with
/// mappings): refused at plan instead, with the way out. Through a
/// reference, the mapping is replaced with it and the apply completes.
#[test]
fn replacing_a_provider_that_a_mapping_names_by_literal_id_is_refused_at_plan() {
    let (org, wd) = Org::new_with_workdir();
    let (project, sa) = (&org.project, &org.account);
    let provider = r#"
resource "openai_workload_identity_provider" "p" {
  name     = "p"
  issuer   = "https://p.example.com"
  audience = "https://api.openai.com/v1"
}
output "id" { value = openai_workload_identity_provider.p.id }
"#;
    let mapping = |wip: &str| {
        format!(
            r#"
resource "openai_service_account_mapping" "m" {{
  workload_identity_provider_id = {wip}
  project_id                    = "{project}"
  service_account_id            = "{sa}"
  attribute_matchers            = {{ sub = "system:serviceaccount:ns:sa" }}
}}
"#
        )
    };
    wd.write_config(provider);
    wd.apply().assert_success();
    let wip = wd.output("id").as_str().unwrap().to_string();
    wd.write_main(&format!(
        "{HEADER}{provider}{}",
        mapping(&format!("\"{wip}\""))
    ));
    wd.apply().assert_success();
    let replace = [
        "plan",
        "-input=false",
        "-replace=openai_workload_identity_provider.p",
    ];
    wd.run(&replace).assert_failure_saying(&[
        "Replaced provider still has mappings",
        "openai_workload_identity_provider.NAME.id",
    ]);

    // By reference: the mapping is replaced along, and the apply completes.
    wd.write_main(&format!(
        "{HEADER}{provider}{}",
        mapping("openai_workload_identity_provider.p.id")
    ));
    wd.apply_replacing("openai_workload_identity_provider.p")
        .assert_success();
    assert_ne!(wd.output("id").as_str().unwrap(), wip);
    wd.plan_detailed().assert_code(0);
}

/// At `-parallelism=1` Terraform may apply a create before the destroy of
/// the object holding its name, and the create would then hold the only
/// slot while it waits: the name counts as taken, and the plan says apply
/// will fail instead of passing in silence. With parallel slots the same
/// change applies.
#[test]
fn a_name_freed_by_a_destroy_is_not_free_at_parallelism_1() {
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf_latest(), &emu);
    let one = |label: &str| {
        format!(
            r#"{HEADER}
resource "openai_workload_identity_provider" "{label}" {{
  name     = "shared"
  issuer   = "https://{label}.example.com"
  audience = "https://api.openai.com/v1"
}}
"#
        )
    };
    wd.write_main(&one("old"));
    wd.apply().assert_success();
    wd.write_main(&one("new"));
    let plan = wd.run(&["plan", "-input=false", "-parallelism=1", "-json"]);
    let warning = plan.diagnostic("warning", "Workload identity provider name already used");
    assert!(
        warning["detail"]
            .as_str()
            .unwrap()
            .contains("apply will fail"),
        "{warning}"
    );
    // With the default parallelism the destroy frees the name in time.
    wd.apply().assert_success();
    assert_eq!(names(&emu), ["shared"]);
}
