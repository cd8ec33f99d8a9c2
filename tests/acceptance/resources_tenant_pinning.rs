//! Acceptance: the tenant-pinning guard. A mapping on an issuer shared by
//! everyone (here GitHub Actions) that matches no claim naming the tenant is
//! refused at plan, before anything is created.

use crate::support::HEADER;
use crate::support::config;
use crate::support::org::{self, Org};
use crate::support::tf_latest;
use serde_json::json;

use crate::support::config::GITHUB;

/// A mapping made by hand on `provider` matching `matchers`; its id.
fn rule_by_hand(org: &Org, provider: &str, matchers: serde_json::Value) -> String {
    org::rule_by_hand(
        &org.emu,
        provider,
        (&org.project, &org.account),
        json!({ "attribute_matchers": matchers }),
    )
}

const UNPINNED: &str = r#"  attribute_matchers = { ref = "refs/heads/main" }"#;
const PINNED: &str =
    r#"  attribute_matchers = { ref = "refs/heads/main", repository = "my-org/my-repo" }"#;

/// The mapping's refusal ([`assert_refused_either_side`]), pointing at its
/// matchers.
#[track_caller]
fn assert_refused(out: &crate::support::TfOutput) {
    assert_refused_either_side(out);
    out.assert_output_contains_words("attribute_matchers = { ref = \"refs/heads/main\" }");
}

/// A provider `p` trusting `issuer` (an HCL expression), after `before`
/// (more configuration), and an unpinned mapping `m` naming it by reference.
fn provider_with_unpinned_mapping(org: &Org, before: &str, issuer: &str) -> String {
    format!(
        r#"{HEADER}{before}
resource "openai_workload_identity_provider" "p" {{
  name     = "p"
  issuer   = {issuer}
  audience = "https://api.openai.com/v1"
}}
{}"#,
        org.mapping("m", "openai_workload_identity_provider.p.id", UNPINNED)
    )
}

tftest! {
    fn unpinned_mapping_on_a_shared_issuer_is_refused_on_every_terraform_version(tf) {
        let org = Org::new();
        // A trailing slash does not get around the table.
        let wip = org.provider_by_hand("gha", &format!("{GITHUB}/"));
        let wd = org.workdir(tf);
        wd.write_config(&org.mapping("m", &format!("\"{wip}\""), UNPINNED));
        let out = wd.plan_detailed();
        assert_refused(&out);
        out.assert_output_contains_words(&format!("trusts \"{GITHUB}/\""));
        wd.apply().assert_failure();
        assert!(org.rules(&wip).is_empty(), "{tf}");
    }
}

#[test]
fn pinned_allowed_and_non_shared_mappings_apply() {
    let (org, wd) = Org::new_with_workdir();
    let gha = org.provider_by_hand("gha", GITHUB);
    let own = org.provider_by_hand("own", "https://gitlab.example.com");

    // Pinned by repository: applies, and plans clean afterwards.
    let pinned = org.mapping("pinned", &format!("\"{gha}\""), PINNED);
    wd.write_config(&pinned);
    wd.apply_clean();
    assert_eq!(org.rules(&gha).len(), 1);

    // Changing it to an unpinned one is refused too, and nothing changes.
    wd.write_config(&org.mapping("pinned", &format!("\"{gha}\""), UNPINNED));
    assert_refused(&wd.plan_detailed());
    assert_eq!(
        org.rules(&gha)[0]["attribute_matchers"]["repository"],
        "my-org/my-repo"
    );

    // Explicitly allowed: applies, plans clean, and the switch stays in
    // Terraform (the API object has no such field).
    let allowed = org.mapping(
        "allowed",
        &format!("\"{gha}\""),
        &format!("{UNPINNED}\n  allow_unpinned_shared_issuer = true"),
    );
    // A tenant-specific issuer is not affected.
    let other = org.mapping("other", &format!("\"{own}\""), UNPINNED);
    wd.write_main(&format!("{HEADER}{pinned}{allowed}{other}"));
    wd.apply_clean();
    assert_eq!(org.rules(&gha).len(), 2);
    assert_eq!(org.rules(&own).len(), 1);
    let allowed_state = wd.state_resource("openai_service_account_mapping.allowed");
    assert_eq!(
        allowed_state["values"]["allow_unpinned_shared_issuer"],
        json!(true)
    );

    // Turning the switch off again is refused: the mapping is still unpinned.
    let not_allowed = org.mapping("allowed", &format!("\"{gha}\""), UNPINNED);
    wd.write_main(&format!("{HEADER}{pinned}{not_allowed}{other}"));
    assert_refused(&wd.plan_detailed());

    // The switch alone changes nothing on the server: no write is sent.
    let other_allowed = org.mapping(
        "other",
        &format!("\"{own}\""),
        &format!("{UNPINNED}\n  allow_unpinned_shared_issuer = true"),
    );
    wd.write_main(&format!("{HEADER}{pinned}{allowed}{other_allowed}"));
    let posts = |org: &Org| {
        let (_, log) = org.emu.control("GET", "/_emulator/requests", None);
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["method"] == "POST")
            .count()
    };
    let before = posts(&org);
    wd.apply().assert_success();
    assert_eq!(posts(&org), before, "the switch alone sent a write");
    wd.plan_detailed().assert_code(0);

    wd.destroy().assert_success();
    assert!(org.rules(&gha).is_empty());
}

#[test]
fn provider_created_in_the_same_run_with_a_shared_issuer_is_refused_at_plan() {
    let (org, wd) = Org::new_with_workdir();
    let provider = config::labelled_provider("gha", "gha", GITHUB, "");
    wd.write_main(&format!(
        "{HEADER}{provider}{}",
        org.mapping("m", "openai_workload_identity_provider.gha.id", UNPINNED)
    ));
    let out = wd.plan_detailed();
    assert_refused(&out);
    out.assert_output_contains_words("The mapping's provider is created in this run");
    // apply stops at the same plan: neither object exists.
    wd.apply().assert_failure();
    assert!(org.providers().is_empty());

    // Pinned, the same configuration applies.
    wd.write_main(&format!(
        "{HEADER}{provider}{}",
        org.mapping("m", "openai_workload_identity_provider.gha.id", PINNED)
    ));
    wd.apply_clean();
}

#[test]
fn undecided_at_plan_is_refused_during_apply_before_the_mapping_is_created() {
    let (org, wd) = Org::new_with_workdir();
    // Two new providers, one shared and one not: at plan time the mapping's
    // provider id is unknown, so which issuer applies is not known either.
    wd.write_main(&format!(
        "{HEADER}{}{}{}",
        config::labelled_provider("gha", "gha", GITHUB, ""),
        config::labelled_provider("own", "own", "https://gitlab.example.com", ""),
        org.mapping("m", "openai_workload_identity_provider.gha.id", UNPINNED)
    ));
    wd.plan_detailed().assert_code(2);
    let out = wd.apply();
    assert_refused(&out);
    // The providers were created; the mapping never was.
    let providers = org.providers();
    assert_eq!(providers.len(), 2);
    for p in &providers {
        assert!(org.rules(p["id"].as_str().unwrap()).is_empty());
    }
}

#[test]
fn existing_unpinned_mapping_warns_and_any_change_to_it_is_refused() {
    let (org, wd) = Org::new_with_workdir();
    let wip = org.provider_by_hand("gha", GITHUB);
    // Made before this check existed, or by hand.
    let rule = rule_by_hand(&org, &wip, json!({"ref": "refs/heads/main"}));
    let import = format!(
        "import {{\n  to = openai_service_account_mapping.m\n  id = \"{wip}/{rule}\"\n}}\n"
    );
    wd.write_main(&format!(
        "{HEADER}{import}{}",
        org.mapping("m", &format!("\"{wip}\""), UNPINNED)
    ));
    let out = wd.apply_json();
    out.assert_success();
    let warning = out.diagnostic(
        "warning",
        "Service account mapping not pinned to your tenant",
    );
    let detail = warning["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("This existing mapping is left unchanged by this plan"),
        "{out}"
    );
    let out = wd.plan_json();
    out.assert_code(0);
    assert!(
        out.has_diagnostic(
            "warning",
            "Service account mapping not pinned to your tenant"
        ),
        "{out}"
    );

    // A change to it is refused until it is pinned.
    wd.write_config(&org.mapping(
        "m",
        &format!("\"{wip}\""),
        &format!("{UNPINNED}\n  description = \"edited\""),
    ));
    assert_refused(&wd.plan_detailed());
    // Pinning it is the fix.
    wd.write_config(&org.mapping("m", &format!("\"{wip}\""), PINNED));
    wd.apply_clean();
}

#[test]
fn changing_a_providers_issuer_to_a_shared_one_is_refused_for_its_unpinned_mappings() {
    let (org, wd) = Org::new_with_workdir();
    let config = |issuer: &str| provider_with_unpinned_mapping(&org, "", &format!("\"{issuer}\""));
    wd.write_main(&config("https://gitlab.example.com"));
    wd.apply().assert_success();
    wd.write_main(&config(GITHUB));
    // The mapping references the provider, so Terraform plans the provider
    // first: the provider's own check refuses, on its issuer.
    let out = wd.plan_detailed();
    assert_refused_either_side(&out);
    out.assert_output_contains_words("moves the workload identity provider to");
    out.assert_output_contains_words(&format!("issuer = \"{GITHUB}\""));
    assert_eq!(org.providers()[0]["issuer"], "https://gitlab.example.com");
}

/// The refusal, whether the provider's check or the mapping's gave it.
#[track_caller]
fn assert_refused_either_side(out: &crate::support::TfOutput) {
    out.assert_code_saying(
        1,
        &[
            "Error: Service account mapping not pinned to your tenant",
            "the GitHub Actions issuer, which is shared",
            "e.g. repository_id = \"123456789\"",
            "set allow_unpinned_shared_issuer = true on the mapping",
        ],
    );
}

const K8S: &str = "https://k8s.example.com";
const K8S_ONLY: &str = r#"  attribute_matchers = { sub = "system:serviceaccount:ns:sa" }"#;

fn provider_block(issuer: &str) -> String {
    config::provider("p", issuer)
}

tftest! {
    /// Moving a provider to a shared issuer while a mapping that names it
    /// (by reference, or by literal id with no dependency edge, as
    /// `-generate-config-out` writes it) stays unpinned is refused every
    /// time, whatever order Terraform plans and applies them in.
    fn an_unpinning_issuer_change_is_refused_whatever_the_plan_order(tf) {
        let org = Org::new();
        let wd = org.workdir(tf);
        let by_ref = org.mapping("m", "openai_workload_identity_provider.p.id", K8S_ONLY);
        wd.write_main(&format!("{HEADER}{}{by_ref}", provider_block(K8S)));
        wd.apply().assert_success();
        let wip = org.providers()[0]["id"].as_str().unwrap().to_string();
        let literal = |body: &str| org.mapping("m", &format!("\"{wip}\""), body);
        let configs = [
            ("by reference", format!("{HEADER}{}{by_ref}", provider_block(GITHUB))),
            ("by literal id", format!("{HEADER}{}{}", provider_block(GITHUB), literal(K8S_ONLY))),
            (
                "by literal id, the mapping changing too",
                format!(
                    "{HEADER}{}{}",
                    provider_block(GITHUB),
                    literal(&format!("{K8S_ONLY}\n  description = \"widened\""))
                ),
            ),
        ];
        for round in 0..10 {
            for (how, config) in &configs {
                wd.write_main(config);
                let parallelism = format!("-parallelism={}", [1, 2, 10][round % 3]);
                let out = if round % 2 == 0 {
                    wd.run(&["plan", "-input=false", "-detailed-exitcode", &parallelism])
                } else {
                    wd.run(&["apply", "-input=false", "-auto-approve", &parallelism])
                };
                eprintln!("round {round}, {how}, {parallelism}: exit {}", out.code);
                assert_refused_either_side(&out);
                assert_eq!(org.providers()[0]["issuer"], K8S, "round {round}, {how}");
                let rules = org.rules(&wip);
                assert_eq!(rules.len(), 1, "round {round}, {how}");
                assert_eq!(
                    rules[0]["attribute_matchers"],
                    json!({"sub": "system:serviceaccount:ns:sa"}),
                    "round {round}, {how}"
                );
            }
        }

        // The guard refuses only what it must: pinned, the same move applies.
        let pinned = r#"  attribute_matchers = { sub = "system:serviceaccount:ns:sa", repository_id = "123" }"#;
        wd.write_main(&format!("{HEADER}{}{}", provider_block(K8S), literal(pinned)));
        wd.apply().assert_success();
        wd.write_main(&format!("{HEADER}{}{}", provider_block(GITHUB), literal(pinned)));
        wd.apply().assert_success();
        assert_eq!(org.providers()[0]["issuer"], GITHUB);
        wd.plan_detailed().assert_code(0);
    }
}

/// A mapping that the plan pins while the provider moves to a shared issuer
/// in the same run, linked by literal id: allowed, and applied so that the
/// mapping is pinned before the issuer changes (the provider's write waits
/// for it).
#[test]
fn pinning_a_mapping_and_moving_its_provider_in_one_run_applies() {
    let (org, wd) = Org::new_with_workdir();
    let by_ref = org.mapping("m", "openai_workload_identity_provider.p.id", K8S_ONLY);
    wd.write_main(&format!("{HEADER}{}{by_ref}", provider_block(K8S)));
    wd.apply().assert_success();
    let wip = org.providers()[0]["id"].as_str().unwrap().to_string();
    let pinned =
        r#"  attribute_matchers = { sub = "system:serviceaccount:ns:sa", repository_id = "123" }"#;
    wd.write_main(&format!(
        "{HEADER}{}{}",
        provider_block(GITHUB),
        org.mapping("m", &format!("\"{wip}\""), pinned)
    ));
    let out = wd.run(&["apply", "-input=false", "-auto-approve", "-parallelism=10"]);
    out.assert_success();
    assert_eq!(org.providers()[0]["issuer"], GITHUB);
    assert_eq!(
        org.rules(&wip)[0]["attribute_matchers"]["repository_id"],
        "123"
    );
}

#[test]
fn an_issuer_unknown_at_plan_is_still_checked_before_an_unpinned_mapping_stays() {
    let (org, wd) = Org::new_with_workdir();
    // The new issuer comes from a value known only during apply.
    let config = |issuer: &str| {
        let later =
            format!("resource \"terraform_data\" \"issuer\" {{\n  input = \"{issuer}\"\n}}");
        provider_with_unpinned_mapping(&org, &later, "terraform_data.issuer.output")
    };
    wd.write_main(&config("https://gitlab.example.com"));
    wd.apply().assert_success();
    wd.write_main(&config(GITHUB));
    // The plan cannot know the issuer, so the mapping is planned for an
    // update, and the check runs when apply plans it again.
    wd.apply()
        .assert_failure_saying(&["Service account mapping not pinned to your tenant"]);
}

#[test]
fn a_github_mapping_pinned_only_by_name_plans_with_a_warning_naming_repository_id() {
    let (org, wd) = Org::new_with_workdir();
    let gha = org.provider_by_hand("gha", GITHUB);

    // By name only: plans (exit 2, a change) and warns, on the matchers.
    wd.write_config(&org.mapping("by_name", &format!("\"{gha}\""), PINNED));
    let out = wd.plan_json();
    out.assert_code(2);
    assert!(
        out.has_diagnostic("warning", "Service account mapping pinned only by name"),
        "{out}"
    );
    out.assert_output_contains_words("only by name (`repository`)");
    out.assert_output_contains_words("`repository_id` or `repository_owner_id`");
    out.assert_output_contains_words("repo:OWNER@OWNER_ID/REPO@REPO_ID");

    // By id, or by the immutable subject: no warning.
    for body in [
        r#"  attribute_matchers = { ref = "refs/heads/main", repository_id = "123456789" }"#,
        r#"  attribute_matchers = { sub = "repo:my-org@42/my-repo@7:ref:refs/heads/main" }"#,
    ] {
        wd.write_config(&org.mapping("by_id", &format!("\"{gha}\""), body));
        let out = wd.plan_detailed();
        out.assert_code(2);
        assert!(
            !out.output_contains_words("pinned only by name"),
            "{body}: {out}"
        );
    }
    assert!(org.rules(&gha).is_empty(), "plans write nothing");
}

/// A saved plan moves the provider to a shared issuer while its mapping is
/// pinned; then the mapping is widened by hand. Applying the saved plan
/// checks again against the server and refuses: the issuer stays.
#[test]
fn a_saved_plan_is_checked_again_against_the_server_before_the_issuer_changes() {
    let (org, wd) = Org::new_with_workdir();
    let pinned =
        r#"  attribute_matchers = { sub = "system:serviceaccount:ns:sa", repository_id = "123" }"#;
    let mapping = org.mapping("m", "openai_workload_identity_provider.p.id", pinned);
    wd.write_main(&format!("{HEADER}{}{mapping}", provider_block(K8S)));
    wd.apply().assert_success();
    let wip = org.providers()[0]["id"].as_str().unwrap().to_string();
    let rule = org.rules(&wip)[0]["id"].as_str().unwrap().to_string();
    wd.write_main(&format!("{HEADER}{}{mapping}", provider_block(GITHUB)));
    wd.run(&["plan", "-input=false", "-out=saved.plan"])
        .assert_success();
    // Out of band: the mapping no longer pins the tenant.
    org.emu.ok(
        "POST",
        &format!("/organization/workload_identity_providers/{wip}/federation_rules/{rule}"),
        Some(json!({"attribute_matchers": {"sub": "system:serviceaccount:ns:sa"}})),
    );
    let out = wd.run(&["apply", "-input=false", "saved.plan"]);
    assert_refused_either_side(&out);
    assert_eq!(org.providers()[0]["issuer"], K8S);
}

/// Item 12 of the guards issue: two `terraform apply` runs at once, one
/// moving a provider to GitHub's issuer, the other adding an unpinned
/// mapping to it by literal id. Each passes its own plan; whichever writes
/// second must see the other's write right after its own and undo it, so
/// that the organization never ends with an unpinned, enabled mapping on
/// the shared issuer. Several rounds, with latency to widen the window.
#[test]
fn two_concurrent_applies_never_leave_an_unpinned_mapping_on_a_shared_issuer() {
    let tf = tf_latest();
    for round in 0..4 {
        let org = Org::with_args(&["--latency-ms", "30"]);
        let provider_run = org.workdir(&tf);
        let provider = |issuer: &str| {
            let p = config::provider("shared-soon", issuer);
            format!(
                "{HEADER}{p}output \"id\" {{ value = openai_workload_identity_provider.p.id }}\n"
            )
        };
        provider_run.write_main(&provider("https://private.example.com"));
        provider_run.apply().assert_success();
        let wip = provider_run.output("id").as_str().unwrap().to_string();
        provider_run.write_main(&provider(GITHUB));
        let mapping_run = org.workdir(&tf);
        mapping_run.write_config(&org.mapping("m", &format!("\"{wip}\""), UNPINNED));
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| provider_run.apply());
            let b = s.spawn(|| mapping_run.apply());
            (a.join().unwrap(), b.join().unwrap())
        });
        let issuer = org
            .providers()
            .iter()
            .find(|p| p["id"] == wip.as_str())
            .map(|p| p["issuer"].as_str().unwrap().to_string())
            .unwrap();
        let enabled_rules = org
            .rules(&wip)
            .into_iter()
            .filter(|r| r["enabled"] == json!(true))
            .count();
        assert!(
            !(issuer == GITHUB && enabled_rules > 0),
            "round {round}: the provider is on GitHub's issuer with {enabled_rules} unpinned \
             mapping(s)\n--- provider run ---\n{}\n{}\n--- mapping run ---\n{}\n{}",
            a.stdout,
            a.stderr,
            b.stdout,
            b.stderr
        );
        // At least one of them got through.
        assert!(a.success() || b.success(), "round {round}: both failed");
    }
}

/// The CI platforms' shared issuers, in two plans: on each, a mapping pinned
/// by nothing is refused and one pinned only by a reusable name warns,
/// naming the immutable ids to pin instead.
#[test]
fn ci_platform_shared_issuers_refuse_unpinned_and_warn_on_names_only() {
    let (org, wd) = Org::new_with_workdir();
    let cases = [
        (
            "https://gitlab.com",
            r#"  attribute_matchers = { project_path = "acme/app", ref_protected = "true" }"#,
            "`project_id` or `namespace_id`",
        ),
        (
            "https://app.terraform.io",
            r#"  attribute_matchers = { terraform_organization_name = "acme" }"#,
            "`terraform_organization_id`",
        ),
        (
            "https://app.eu.terraform.io",
            r#"  attribute_matchers = { sub = "organization:acme:project:p:workspace:w:run_phase:apply" }"#,
            "`terraform_workspace_id`",
        ),
        (
            "https://agent.buildkite.com",
            r#"  attribute_matchers = { organization_slug = "acme", pipeline_slug = "deploy" }"#,
            "`organization_id` or `pipeline_id`",
        ),
    ];
    let mut unpinned_config = HEADER.to_owned();
    let mut by_name_config = HEADER.to_owned();
    let mut providers = Vec::new();
    for (i, (issuer, by_name, _)) in cases.iter().enumerate() {
        let wip = org.provider_by_hand(&format!("ci-{i}"), issuer);
        let unpinned = r#"  attribute_matchers = { ref = "main", terraform_run_phase = "apply", build_branch = "main" }"#;
        unpinned_config.push_str(&org.mapping(&format!("m_{i}"), &format!("\"{wip}\""), unpinned));
        by_name_config.push_str(&org.mapping(&format!("m_{i}"), &format!("\"{wip}\""), by_name));
        providers.push(wip);
    }
    // Bitbucket's issuer is the workspace's own, but names it by its slug:
    // a mapping pinned by no UUID is not refused, only warned about.
    let bitbucket = org.provider_by_hand(
        "bitbucket",
        "https://api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc",
    );
    by_name_config.push_str(&org.mapping(
        "bitbucket",
        &format!("\"{bitbucket}\""),
        r#"  attribute_matchers = { branchName = "main" }"#,
    ));
    wd.write_main(&unpinned_config);
    let out = wd.plan_json();
    out.assert_failure();
    for (issuer, _, _) in cases {
        out.assert_output_contains_words(&format!("trusts \"{issuer}\""));
    }
    let refusals = out
        .diagnostics()
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .filter(|d| d["summary"] == "Service account mapping not pinned to your tenant")
        .count();
    assert_eq!(refusals, cases.len(), "{out}");

    // Terraform folds warnings of one summary together; -json lists each.
    wd.write_main(&by_name_config);
    let out = wd.plan_json();
    assert_ne!(out.code, 1, "{out}");
    let details: Vec<String> = out
        .diagnostics()
        .iter()
        .filter(|d| d["summary"] == "Service account mapping pinned only by name")
        .map(|d| d["detail"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(details.len(), cases.len() + 1, "{out}");
    for by_id in cases
        .iter()
        .map(|c| c.2)
        .chain(["the workspace slug in the issuer URL"])
    {
        assert!(
            details.iter().any(|d| d.contains(by_id)),
            "no warning names {by_id}: {details:?}"
        );
    }
    for wip in providers {
        assert!(org.rules(&wip).is_empty(), "plans write nothing");
    }
}
