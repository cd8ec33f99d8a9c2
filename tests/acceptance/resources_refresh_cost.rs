//! Refreshing many mappings costs a listing, not one GET per object: reads go
//! through the per-process listing cache.

use crate::support::HEADER;
use crate::support::org::Org;

#[test]
fn refresh_of_many_mappings_lists_instead_of_getting_each() {
    let (org, wd) = Org::new_with_workdir();
    let (emu, project, sa) = (&org.emu, &org.project, &org.account);
    wd.write_main(&format!(
        r#"
{HEADER}resource "openai_workload_identity_provider" "p" {{
  name     = "p"
  issuer   = "https://issuer.example.com"
  audience = "a"
}}
resource "openai_service_account_mapping" "m" {{
  count                         = 30
  workload_identity_provider_id = openai_workload_identity_provider.p.id
  project_id                    = "{project}"
  service_account_id            = "{sa}"
  attribute_matchers            = {{ sub = "w-${{count.index}}" }}
}}
"#
    ));
    wd.apply().assert_success();

    assert_eq!(emu.control("POST", "/_emulator/stats/reset", None).0, 200);
    wd.plan_detailed().assert_code(0);

    let (_, stats) = emu.control("GET", "/_emulator/stats", None);
    let by_route = stats["by_route"].as_object().unwrap();
    let count = |route: &str| by_route.get(route).and_then(|n| n.as_u64()).unwrap_or(0);
    let rule_gets =
        count("GET /v1/organization/workload_identity_providers/{id}/federation_rules/{id}");
    let rule_lists =
        count("GET /v1/organization/workload_identity_providers/{id}/federation_rules");
    let provider_lists = count("GET /v1/organization/workload_identity_providers");
    assert_eq!(rule_gets, 0, "refresh fetched mappings one by one: {stats}");
    assert_eq!(
        rule_lists, 1,
        "one listing of the provider's mappings expected: {stats}"
    );
    assert_eq!(provider_lists, 1, "{stats}");
    assert!(
        stats["requests_total"].as_u64().unwrap() <= 3,
        "refresh of 31 objects cost more than a few requests: {stats}"
    );
}
