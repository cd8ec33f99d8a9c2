//! Fixed scenarios for the numbered items of issue 22, each asserting the
//! outcome the issue asks for. Those that fail on the current code are
//! `#[ignore]`d with the item's number, until the guard fix lands (run them
//! with `-- --ignored guards_agreement::fixed`).

use serde_json::json;

use super::{GITHUB, Org, PROVIDERS};
use crate::support::HEADER;
use crate::support::config::labelled_provider;
use crate::support::{TfOutput, Workdir, tf_latest};

fn limits(providers: usize, mappings: usize) -> String {
    format!(
        "{HEADER}\nprovider \"openai\" {{\n  max_workload_identity_providers = {providers}\n  max_mappings_per_provider       = {mappings}\n}}\n"
    )
}

fn hand_providers(org: &Org, n: usize) {
    for i in 0..n {
        org.provider_by_hand(
            &format!("hand-{i}"),
            &format!("https://hand-{i}.example.com"),
        );
    }
}

tftest! {
    /// Item 1: at the limit, `destroy` with a larger `count` in the
    /// configuration than in the state is still a destroy.
    fn item_1_destroy_at_the_limit_with_count_raised(tf) {
        let org = Org::new();
        hand_providers(&org, 2);
        let wd = org.workdir(tf);
        wd.write_main(&format!(
            "{}variable \"n\" {{\n  type = number\n}}\n{}",
            limits(3, 3),
            labelled_provider("p", "tf-${count.index}", "https://p-${count.index}.example.com", "  count = var.n")
        ));
        wd.run(&["apply", "-input=false", "-auto-approve", "-var", "n=1"]).assert_success();
        assert_eq!(org.providers().len(), 3);
        wd.run(&["destroy", "-input=false", "-auto-approve", "-var", "n=2"]).assert_success();
        assert_eq!(org.providers().len(), 2, "only the hand-made providers are left");
    }
}

/// A provider `label` on GitHub's issuer, and its mapping `m` with `body`.
fn on_github(org: &Org, label: &str, body: &str) -> String {
    format!(
        "{HEADER}{}{}",
        labelled_provider(label, label, GITHUB, ""),
        org.mapping(
            "m",
            &format!("openai_workload_identity_provider.{label}.id"),
            body
        )
    )
}

/// Item 1: a configuration whose mapping became unpinned on GitHub's
/// issuer is still destroyed.
#[test]
fn item_1_destroy_of_a_configuration_with_an_unpinned_mapping() {
    let (org, wd) = Org::new_with_workdir();
    let config = |matchers: &str| on_github(&org, "gha", matchers);
    wd.write_main(&config(
        r#"  attribute_matchers = { ref = "refs/heads/main", repository_id = "1" }"#,
    ));
    wd.apply().assert_success();
    wd.write_main(&config(
        r#"  attribute_matchers = { ref = "refs/heads/main" }"#,
    ));
    wd.destroy().assert_success();
    assert!(org.providers().is_empty());
}

/// Item 1: a configuration holding a name taken by an unmanaged object is
/// still destroyed.
#[test]
fn item_1_destroy_of_a_configuration_with_a_name_conflict() {
    let (org, wd) = Org::new_with_workdir();
    wd.write_config(&labelled_provider("a", "a", "https://a.example.com", ""));
    wd.apply().assert_success();
    org.provider_by_hand("taken", "https://taken.example.com");
    wd.write_main(&format!(
        "{HEADER}{}{}",
        labelled_provider("a", "a", "https://a.example.com", ""),
        labelled_provider("b", "taken", "https://b.example.com", "")
    ));
    wd.destroy().assert_success();
    assert_eq!(
        org.providers().len(),
        1,
        "only the hand-made provider is left"
    );
}

tftest! {
    /// Item 2: disabling an imported, unpinned GitHub mapping (made by hand)
    /// plans and applies; a warning is fine.
    fn item_2_disabling_an_imported_unpinned_github_mapping(tf) {
        let org = Org::new();
        let wip = org.provider_by_hand("gha", GITHUB);
        let rule = org.emu.ok(
            "POST",
            &format!("{PROVIDERS}/{wip}/federation_rules"),
            Some(json!({"project_id": org.project, "service_account_id": org.account,
                        "attribute_matchers": {"ref": "refs/heads/main"}})),
        )["id"]
            .as_str()
            .unwrap()
            .to_string();
        let wd = org.workdir(tf);
        let config = |enabled: bool| {
            format!(
                "{HEADER}{}",
                org.mapping("m",
                    &format!("\"{wip}\""),
                    &format!("  attribute_matchers = {{ ref = \"refs/heads/main\" }}\n  enabled = {enabled}"),
                )
            )
        };
        wd.write_main(&config(true));
        wd.run(&["import", "-input=false", "openai_service_account_mapping.m", &format!("{wip}/{rule}")])
            .assert_success();
        wd.plan_detailed().assert_code(0);
        wd.write_main(&config(false));
        wd.plan_detailed().assert_code(2);
        wd.apply().assert_success();
        let r = org.emu.ok("GET", &format!("{PROVIDERS}/{wip}/federation_rules/{rule}"), None);
        assert_eq!(r["enabled"], json!(false), "{r}");
        wd.plan_detailed().assert_code(0);
    }
}

/// Item 3: plan-only `run` blocks of `terraform test` do not add up in the
/// limit: three runs of 3 providers each, with a limit of 5.
#[test]
fn item_3_terraform_test_runs_do_not_add_up() {
    let (_org, wd) = Org::new_with_workdir();
    wd.write_main(&format!(
        "{}variable \"prefix\" {{\n  type = string\n}}\n{}",
        limits(5, 5),
        labelled_provider(
            "p",
            "${var.prefix}-${count.index}",
            "https://t-${count.index}.example.com",
            "  count = 3"
        )
    ));
    let run = |name: &str| {
        format!(
            "run \"{name}\" {{\n  command = plan\n  variables {{\n    prefix = \"{name}\"\n  }}\n}}\n"
        )
    };
    wd.write(
        "plans.tftest.hcl",
        &format!("{}{}{}", run("one"), run("two"), run("three")),
    );
    let out = wd.run(&["test"]);
    out.assert_success();
    out.assert_output_contains_words("3 passed, 0 failed");
}

/// Item 5: at the limit, a swap of one provider for another is decided
/// the same way every time. With `-parallelism=1` Terraform plans and
/// applies one resource at a time in no fixed order: when the create comes
/// first at apply, the destroy that would make room cannot run while the
/// create waits, and OpenAI refuses the create. So the plan refuses it,
/// every round, whichever order Terraform plans in (before, about half the
/// rounds passed), and says what to do; with the default parallelism the
/// swap plans and applies.
#[test]
fn item_5_a_swap_at_the_limit_is_decided_the_same_way_every_time() {
    let (org, wd) = Org::new_with_workdir();
    hand_providers(&org, 2);
    wd.write_main(&format!(
        "{}{}",
        limits(3, 3),
        labelled_provider("a", "old", "https://old.example.com", "")
    ));
    wd.apply().assert_success();
    wd.write_main(&format!(
        "{}{}",
        limits(3, 3),
        labelled_provider("z", "new", "https://new.example.com", "")
    ));
    let mut passed = Vec::new();
    for round in 0..6 {
        let out = wd.run(&[
            "plan",
            "-input=false",
            "-detailed-exitcode",
            "-parallelism=1",
        ]);
        if out.code != 1 || !out.output_contains_words("-parallelism=2 or more") {
            passed.push(format!("round {round}:\n{out}"));
        }
    }
    assert!(passed.is_empty(), "{}", passed.join("\n"));
    wd.plan_detailed().assert_code(2);
    wd.apply().assert_success();
    assert_eq!(org.providers().len(), 3);
    assert!(org.provider_id("new").is_some() && org.provider_id("old").is_none());
    wd.plan_detailed().assert_code(0);
}

/// Item 6: two aliases on one organization whose `base_url`s differ by a
/// trailing slash count the limit together.
#[test]
fn item_6_aliases_count_together_whatever_the_base_url_spelling() {
    let (org, wd) = Org::new_with_workdir();
    let alias = |name: &str, url: &str| {
        format!(
            "provider \"openai\" {{\n  alias = \"{name}\"\n  base_url = \"{url}\"\n  max_workload_identity_providers = 3\n}}\n"
        )
    };
    let base = org.emu.base_url();
    wd.write_main(&format!(
        "{HEADER}{}{}{}{}",
        alias("a", &base),
        alias("b", &format!("{base}/")),
        labelled_provider(
            "a",
            "a-${count.index}",
            "https://a.example.com",
            "  provider = openai.a\n  count = 2"
        ),
        labelled_provider(
            "b",
            "b-${count.index}",
            "https://b.example.com",
            "  provider = openai.b\n  count = 2"
        ),
    ));
    wd.plan_detailed()
        .assert_code_saying(1, &["Workload identity provider limit exceeded"]);
    assert!(org.providers().is_empty());
}

/// Item 7: mappings in one alias on a provider created through another
/// alias are counted against the per-provider limit at plan.
#[test]
fn item_7_mappings_through_another_alias_are_counted_at_plan() {
    let (org, wd) = Org::new_with_workdir();
    let alias = |name: &str| {
        format!(
            "provider \"openai\" {{\n  alias = \"{name}\"\n  max_mappings_per_provider = 2\n}}\n"
        )
    };
    wd.write_main(&format!(
        "{HEADER}{}{}{}{}",
        alias("a"),
        alias("b"),
        labelled_provider("p", "p", "https://p.example.com", "  provider = openai.a"),
        org.mapping("m",
            "openai_workload_identity_provider.p.id",
            "  provider = openai.b\n  count = 3\n  attribute_matchers = { sub = \"s-${count.index}\" }"
        ),
    ));
    wd.plan_detailed()
        .assert_code_saying(1, &["Service account mapping limit exceeded"]);
}

/// Item 8: unnamed mappings differing only in `scopes` or `enabled` are
/// three mappings, counted as three.
#[test]
fn item_8_unnamed_mappings_differing_only_in_scopes_or_enabled_count_apart() {
    let (org, wd) = Org::new_with_workdir();
    let wip = org.provider_by_hand("p", "https://p.example.com");
    let matchers = "  attribute_matchers = { sub = \"same\" }\n";
    wd.write_main(&format!(
        "{}{}{}{}",
        limits(5, 2),
        org.mapping("a", &format!("\"{wip}\""), matchers),
        org.mapping(
            "b",
            &format!("\"{wip}\""),
            &format!("{matchers}  scopes = [\"api.model.request\"]")
        ),
        org.mapping(
            "c",
            &format!("\"{wip}\""),
            &format!("{matchers}  enabled = false")
        ),
    ));
    wd.plan_detailed()
        .assert_code_saying(1, &["Service account mapping limit exceeded"]);
    assert!(org.rules(&wip).is_empty());
}

/// Item 9: a mapping naming a project that does not exist is refused at
/// plan, like an unknown provider id, not with a 400 during apply.
#[test]
fn item_9_a_mapping_on_a_missing_project_is_refused_at_plan() {
    let (org, wd) = Org::new_with_workdir();
    let wip = org.provider_by_hand("p", "https://p.example.com");
    wd.write_main(&format!(
        "{HEADER}\nresource \"openai_service_account_mapping\" \"m\" {{\n  workload_identity_provider_id = \"{wip}\"\n  project_id = \"proj_missing\"\n  service_account_id = \"{}\"\n  attribute_matchers = {{ sub = \"s\" }}\n}}\n",
        org.account
    ));
    let out = wd.plan_detailed();
    out.assert_code(1);
    assert!(
        super::classify(&format!("{}\n{}", out.stdout, out.stderr))
            .is_ok_and(|r| r.contains(&super::Rule::NotFound)),
        "the refusal names the missing project:\n{out}"
    );
}

/// Item 10: a transformation calling an unknown CEL function is refused at
/// plan, as `provider::openai::transform` reports it.
#[test]
fn item_10_an_unknown_cel_function_is_refused_at_plan() {
    let (org, wd) = Org::new_with_workdir();
    wd.write_config(&labelled_provider(
            "p",
            "p",
            "https://p.example.com",
            "  attribute_transformations = [\n    { attribute = \"openai.x\", expression = \"nosuchfn(assertion.sub)\" },\n  ]"
        ));
    wd.plan_detailed().assert_code_saying(1, &["nosuchfn"]);
    assert!(org.providers().is_empty());
}

/// Item 11: swapping the names of two mappings is a cycle of renames,
/// which no write order can apply: refused at plan, every time.
#[test]
fn item_11_swapping_two_mapping_names() {
    let (org, wd) = Org::new_with_workdir();
    let config = |a: &str, b: &str| {
        format!(
            "{HEADER}{}{}{}",
            labelled_provider("p", "p", "https://p.example.com", ""),
            org.mapping(
                "a",
                "openai_workload_identity_provider.p.id",
                &format!("  name = \"{a}\"\n  attribute_matchers = {{ sub = \"a\" }}")
            ),
            org.mapping(
                "b",
                "openai_workload_identity_provider.p.id",
                &format!("  name = \"{b}\"\n  attribute_matchers = {{ sub = \"b\" }}")
            ),
        )
    };
    wd.write_main(&config("first", "second"));
    wd.apply().assert_success();
    wd.write_main(&config("second", "first"));
    wd.plan_detailed()
        .assert_code_saying(1, &["Names swapped", "a cycle of renames"]);
}

/// Item 11: `create_before_destroy` on a named provider and a named
/// mapping applies: the old object still holds the name when the new one
/// is created, so the create renames it aside first (the plan marked the
/// create with the object it replaces), and Terraform deletes it next.
/// Terraform 1.12 and later say which object a create replaces; before,
/// a same-named object is only counted as room, never renamed (it may be a
/// sibling that stays), and the create fails with the advice.
#[test]
fn item_11_create_before_destroy_of_named_objects_applies() {
    let (org, wd) = Org::new_with_workdir();
    let cbd = "  lifecycle {\n    create_before_destroy = true\n  }";
    wd.write_main(&format!(
        "{HEADER}{}{}",
        labelled_provider("p", "p", "https://p.example.com", cbd),
        org.mapping(
            "m",
            "openai_workload_identity_provider.p.id",
            &format!("  name = \"m\"\n  attribute_matchers = {{ sub = \"s\" }}\n{cbd}")
        ),
    ));
    wd.apply().assert_success();
    let old_provider = org.provider_id("p").unwrap();
    let old_rule = org.rules(&old_provider)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Only the mapping: its provider stays, and its name is taken.
    wd.apply_replacing("openai_service_account_mapping.m")
        .assert_success();
    let rules = org.rules(&old_provider);
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["name"], "m");
    assert_ne!(
        rules[0]["id"],
        old_rule.as_str(),
        "the mapping was replaced"
    );
    // The provider, and with it the mapping that references it.
    wd.apply_replacing("openai_workload_identity_provider.p")
        .assert_success();
    let providers = org.providers();
    assert_eq!(providers.len(), 1, "{providers:?}");
    let new_provider = org.provider_id("p").unwrap();
    assert_ne!(new_provider, old_provider, "the provider was replaced");
    assert_eq!(org.rules(&new_provider)[0]["name"], "m");
    wd.plan_detailed().assert_code(0);
}

/// Applies a provider `p` and a mapping `m` (`body` besides its
/// description `v1`), then saves a plan (`saved.plan`) that changes the
/// description to `v2`; the mapping's API path.
fn saved_plan_of_a_description_change(org: &Org, wd: &Workdir, body: &str) -> String {
    let config = |d: &str| {
        format!(
            "{HEADER}{}{}",
            labelled_provider("p", "p", "https://p.example.com", ""),
            org.mapping(
                "m",
                "openai_workload_identity_provider.p.id",
                &format!("  description = \"{d}\"\n{body}")
            ),
        )
    };
    wd.write_main(&config("v1"));
    wd.apply().assert_success();
    let wip = org.provider_id("p").unwrap();
    let rule = org.rules(&wip)[0]["id"].as_str().unwrap().to_string();
    wd.write_main(&config("v2"));
    wd.run(&["plan", "-input=false", "-out=saved.plan"])
        .assert_success();
    format!("{PROVIDERS}/{wip}/federation_rules/{rule}")
}

/// Item 13: a saved plan applied after the mapping's `scopes` were changed
/// by hand applies, and the server holds what the plan showed.
#[test]
fn item_13_saved_plan_after_an_out_of_band_scopes_change() {
    let (org, wd) = Org::new_with_workdir();
    let path =
        saved_plan_of_a_description_change(&org, &wd, "  attribute_matchers = { sub = \"s\" }");
    org.emu.ok(
        "POST",
        &path,
        Some(json!({"permissions": {"type": "restricted", "scopes": ["api.model.request"]}})),
    );
    // The saved plan applies (no "inconsistent result") and changes what it
    // planned; the hand edit shows as drift and the next apply reverts it.
    wd.run(&["apply", "-input=false", "saved.plan"])
        .assert_success();
    let r = org.emu.ok("GET", &path, None);
    assert_eq!(r["description"], "v2", "{r}");
    wd.plan_detailed().assert_code(2);
    wd.apply().assert_success();
    let r = org.emu.ok("GET", &path, None);
    assert_eq!(
        r["permissions"],
        json!({"type": "service_account_default"}),
        "{r}"
    );
    wd.plan_detailed().assert_code(0);
}

/// Item 14: a saved plan does not overwrite an attribute under
/// `ignore_changes` that was changed by hand after the plan.
#[test]
fn item_14_saved_plan_keeps_an_ignored_attribute_changed_by_hand() {
    let (org, wd) = Org::new_with_workdir();
    let path = saved_plan_of_a_description_change(
        &org,
        &wd,
        "  attribute_matchers = { sub = \"system:serviceaccount:*\" }\n  lifecycle {\n    ignore_changes = [attribute_matchers]\n  }",
    );
    // The security team narrows the matcher after the plan was saved.
    let narrowed = json!({"sub": "system:serviceaccount:ns:deployer"});
    org.emu
        .ok("POST", &path, Some(json!({"attribute_matchers": narrowed})));
    wd.run(&["apply", "-input=false", "saved.plan"])
        .assert_success();
    let r = org.emu.ok("GET", &path, None);
    assert_eq!(r["description"], "v2", "{r}");
    assert_eq!(
        r["attribute_matchers"], narrowed,
        "the narrowed matcher stays: {r}"
    );
    wd.plan_detailed().assert_code(0);
}

/// What the fuzzer's `saved_plan` kind checks, fixed: after `plan -out`,
/// hand edits of fields the plan does not change stay (an update sends only
/// what the plan changes), show as drift, and the next apply reverts them.
#[test]
fn saved_plan_after_out_of_band_enabled_and_description_edits() {
    let (org, wd) = Org::new_with_workdir();
    let config = |d: &str| {
        on_github(
            &org,
            "p",
            &format!("  description = \"{d}\"\n  attribute_matchers = {{ repository_id = \"1\" }}"),
        )
    };
    wd.write_main(&config("v1"));
    wd.apply().assert_success();
    let wip = org.provider_id("p").unwrap();
    let rule = org.rules(&wip)[0]["id"].as_str().unwrap().to_string();
    let path = format!("{PROVIDERS}/{wip}/federation_rules/{rule}");
    wd.write_main(&config("v2"));
    wd.run(&["plan", "-input=false", "-out=saved.plan"])
        .assert_success();
    org.emu.ok(
        "POST",
        &path,
        Some(json!({"enabled": false, "description": "by hand"})),
    );
    let out: TfOutput = wd.run(&["apply", "-input=false", "saved.plan"]);
    out.assert_success();
    let r = org.emu.ok("GET", &path, None);
    assert_eq!(r["description"], "v2", "{r}");
    assert_eq!(r["enabled"], json!(false), "{r}");
    wd.plan_detailed().assert_code(2);
    wd.apply().assert_success();
    let r = org.emu.ok("GET", &path, None);
    assert_eq!(r["enabled"], json!(true), "{r}");
    wd.plan_detailed().assert_code(0);
}

/// Item 12: two `terraform apply` runs at once, one moving a provider to
/// GitHub's issuer, the other adding an unpinned mapping to it by literal
/// id. Whichever writes second must see the other's write: the organization
/// never ends with an enabled unpinned mapping on the shared issuer.
/// A race: on the current code, 2 of 3 rounds end with both applied in
/// one run, none in another, so it is ignored rather than flaky.
#[test]
fn item_12_two_concurrent_applies_never_leave_an_unpinned_mapping_on_a_shared_issuer() {
    let tf = tf_latest();
    let mut found = Vec::new();
    for round in 0..3 {
        let org = Org::new();
        let owner = org.workdir(&tf);
        let config = |issuer: &str| format!("{HEADER}{}", labelled_provider("p", "p", issuer, ""));
        owner.write_main(&config("https://p.example.com"));
        owner.apply().assert_success();
        let wip = org.provider_id("p").unwrap();
        let other = org.workdir(&tf);
        other.write_config(&org.mapping(
            "m",
            &format!("\"{wip}\""),
            "  attribute_matchers = { ref = \"refs/heads/main\" }",
        ));
        owner.write_main(&config(GITHUB));
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| owner.apply());
            let b = s.spawn(|| other.apply());
            (a.join().unwrap(), b.join().unwrap())
        });
        let issuer = org.providers()[0]["issuer"].clone();
        eprintln!(
            "round {round}: the issuer change exited {}, the mapping's apply {}; issuer now {issuer}",
            a.code, b.code
        );
        let unpinned_enabled = org.rules(&wip).iter().any(|r| {
            r["enabled"] == true && r["attribute_matchers"].get("repository_id").is_none()
        });
        if issuer == GITHUB && unpinned_enabled {
            found.push(format!("round {round}: both applied\n{a}\n{b}"));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// Item 4: `-generate-config-out` for a keyless service account with no
/// role (made outside Terraform) writes a configuration the provider's own
/// validation accepts.
#[test]
fn item_4_generated_config_for_a_keyless_account_without_a_role_validates() {
    let tf = tf_latest();
    let org = Org::new();
    let wd = org.workdir(&tf);
    wd.write_main(&format!(
        "{HEADER}\nimport {{\n  to = openai_project_service_account.ci\n  id = \"{}/{}\"\n}}\n",
        org.project, org.account
    ));
    wd.run(&["plan", "-input=false", "-generate-config-out=generated.tf"])
        .assert_success();
    let generated = wd.read("generated.tf");
    let out = wd.validate();
    assert!(out.success(), "generated.tf:\n{generated}\n{out}");
    // It plans: either as is, or giving the account the configured role.
    let out = wd.plan_detailed();
    assert!(out.code == 0 || out.code == 2, "{out}");
}
