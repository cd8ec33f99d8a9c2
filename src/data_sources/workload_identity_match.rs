//! Data source `openai_workload_identity_match`: which mappings of a provider would admit a
//! token with these claims, by the exchange's own rules (`openai_federation_rules`, shared
//! with the emulator). It reads the provider (its transformations, `enabled`) and its live
//! mappings through the listing cache, and refuses what the exchange refuses before
//! matching, in the exchange's words. It verifies no signature.

use std::collections::BTreeMap;

use async_trait::async_trait;
use openai_admin::models::{FederationRule, WorkloadIdentityProvider};
use openai_admin::refusal::Reason;
use openai_federation_rules::matching::{self, Outcome, RuleVerdict};
use serde_json::Value as Json;

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::values::to_json;
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, ConfigRules, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest,
    ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_workload_identity_match";

/// The reason given for a mapping that matched and would be selected.
pub(crate) const MATCHED: &str = "matched";
/// The reason given for a disabled mapping next to enabled ones (the exchange skips it).
pub(crate) const DISABLED: &str = "disabled: the exchange skips disabled mappings";

tfplugin::model! {
    pub(crate) struct MatchModel {
        pub workload_identity_provider_id: Field<String>,
        pub claims: Field<Value>,
        pub service_account_id: Field<String>,
        pub admitted: Field<bool>,
        pub matching_mapping_ids: Field<Vec<String>>,
        pub reasons: Field<BTreeMap<String, String>>,
    }
}

type M = MatchModel;

pub(crate) fn schema() -> Schema {
    Schema::new(
        "Which service account mappings of a workload identity provider would admit a token \
         with the given claims, as OpenAI's token exchange decides it: the provider's attribute \
         transformations are applied, then each enabled mapping's attribute matchers, and an \
         exchange for a service account succeeds only when exactly one of its enabled mappings \
         matches. It reads the provider and its mappings as they are now in the organization. \
         **It verifies no signature and checks no `iss`, `aud` or `exp`**: it is about claims, \
         not tokens. Use it in `check` blocks and `terraform test` to prove a mapping admits \
         the workload you mean, and refuses a near miss such as a fork or another branch.",
    )
    .attribute(
        Attribute::required(M::workload_identity_provider_id, Type::String)
            .not_empty("Give the provider's id (`wip_...`).")
            .description("The provider whose mappings to test (`wip_...`)."),
    )
    .attribute(Attribute::required(M::claims, Type::Dynamic).description(
        "The claims of a token, as its payload would hold them: an object of mixed types, e.g. \
         `{ sub = \"repo:my-org/app:ref:refs/heads/main\", repository = \"my-org/app\", \
         run_attempt = 1 }`.",
    ))
    .attribute(
        Attribute::optional(M::service_account_id, Type::String)
            .not_empty("Omit it to test every service account's mappings.").description(
            "Only the mappings to this service account (`svc_acct_...`): the exchange's verdict \
             for an exchange into it. Omit to test every service account's mappings.",
        ),
    )
    .attribute(Attribute::computed(M::admitted, Type::Bool).description(
        "Whether an exchange would succeed: for some service account (the one given), exactly one \
         enabled mapping matches, and the provider is enabled.",
    ))
    .attribute(
        Attribute::computed(M::matching_mapping_ids, Type::list(Type::String)).description(
            "The mappings an exchange would select, one per admitted service account, sorted.",
        ),
    )
    .attribute(
        Attribute::computed(M::reasons, Type::map(Type::String)).description(
            "For each mapping tested, by id: `matched`, or a short explanation: the first \
             matcher that failed (`claim 'ref' is \"refs/heads/dev\", expected \
             \"refs/heads/main\"`), a transformation that failed, or the exchange's refusal \
             when it refuses before or after matching (provider disabled, every mapping \
             disabled, more than one mapping matching).",
        ),
    )
}

/// Whether the exchange would admit the claims, and by which mappings, as the
/// outputs hold it. (`tenant_pinning::Verdict` is the pinning check's answer.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Admission {
    pub admitted: bool,
    pub matching_mapping_ids: Vec<String>,
    pub reasons: BTreeMap<String, String>,
}

/// Whether the exchange admits `claims`, over the provider's `rules` (of every service account,
/// or of `service_account_id`).
pub(crate) fn admission(
    provider: &WorkloadIdentityProvider,
    rules: &[FederationRule],
    claims: &Json,
    service_account_id: Option<&str>,
) -> Admission {
    let mut out = Admission::default();
    let mut by_account: BTreeMap<&str, Vec<FederationRule>> = BTreeMap::new();
    for r in rules {
        if service_account_id.is_none_or(|sa| r.service_account_id == sa) {
            by_account
                .entry(r.service_account_id.as_str())
                .or_default()
                .push(r.clone());
        }
    }
    if let Some(refusal) = matching::provider_refusal(provider) {
        for r in by_account.values().flatten() {
            out.reasons.insert(r.id.clone(), refusal.to_string());
        }
        return out;
    }
    for (sa, mut group) in by_account {
        group.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let resolution = matching::resolve_detailed(
            &group,
            &provider.attribute_transformations,
            claims,
            &provider.id,
            sa,
        );
        let refusal = resolution.verdict.as_ref().err();
        for (id, v) in resolution.rules {
            let reason = match (&v, refusal) {
                // Refused as a whole: every disabled, or several matched.
                (_, Some(r)) if r.reason == Reason::RulesDisabled => r.to_string(),
                (RuleVerdict::Checked(Outcome::Match), Some(r)) => r.to_string(),
                (RuleVerdict::Checked(Outcome::Match), None) => MATCHED.to_string(),
                (RuleVerdict::Disabled, _) => DISABLED.to_string(),
                (RuleVerdict::Checked(Outcome::Mismatch(why) | Outcome::Failed(why)), _) => {
                    why.clone()
                }
            };
            out.reasons.insert(id, reason);
        }
        if let Ok(id) = resolution.verdict {
            out.matching_mapping_ids.push(id);
        }
    }
    out.matching_mapping_ids.sort();
    out.admitted = !out.matching_mapping_ids.is_empty();
    out
}

pub(crate) struct WorkloadIdentityMatchDataSource;

fn claims_json(claims: &Field<Value>) -> Result<Json, Diagnostics> {
    let bad = |why: &str| {
        Diagnostics::from(
            Diagnostic::error("Invalid claims", why.to_string()).at(Path::root().attr(M::claims)),
        )
    };
    let v = match claims.known() {
        Some(Value::Dynamic(_, inner)) => inner.as_ref(),
        Some(other) => other,
        None => return Err(bad("claims must be known.")),
    };
    match v {
        Value::Object(_) | Value::Map(_) => match to_json(v) {
            Some(j) => Ok(j),
            None => Err(bad("claims hold a value JSON cannot represent.")),
        },
        _ => Err(bad(
            "claims must be an object, as a token's payload is, e.g. { sub = \"...\" }.",
        )),
    }
}

#[async_trait]
impl DataSource<ProviderData> for WorkloadIdentityMatchDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &MatchModel, diags| {
            if config.claims.known().is_some()
                && let Err(d) = claims_json(&config.claims)
            {
                diags.extend(d);
            }
        })
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = MatchModel::from_value(&req.config)?;
        let claims = claims_json(&config.claims)?;
        let pid = config.workload_identity_provider_id.or_empty();
        let client = data.client()?;
        let provider = data.inventory.provider(client, pid).await.map_err(|e| {
            api_error(
                Op::new(Action::Read, "the workload identity provider"),
                &e,
                &[],
            )
        })?;
        let rules = data
            .inventory
            .rules(client, pid, |s| {
                s.map(|s| s.objects.values().cloned().collect::<Vec<_>>())
            })
            .await
            .map_err(|e| api_error(Op::new(Action::List, "service account mappings"), &e, &[]))?;
        let (Some(provider), Some(rules)) = (provider, rules) else {
            return Err(Diagnostic::error(
                "Workload identity provider not found",
                format!(
                    "No workload identity provider with id {pid:?} exists in the organization. \
                     Check workload_identity_provider_id."
                ),
            )
            .at(Path::root().attr(M::workload_identity_provider_id))
            .into());
        };
        let v = admission(
            &provider,
            &rules,
            &claims,
            config.service_account_id.as_deref(),
        );
        let result = MatchModel {
            admitted: Field::Known(v.admitted),
            matching_mapping_ids: Field::Known(v.matching_mapping_ids),
            reasons: Field::Known(v.reasons),
            ..config
        };
        Ok(ReadDataSourceResponse::new(result.to_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tfplugin::framework::model::schema_mismatches;

    #[test]
    fn model_matches_schema() {
        assert_eq!(
            schema_mismatches::<MatchModel>(&schema()),
            Vec::<String>::new()
        );
    }

    fn provider(enabled: bool) -> WorkloadIdentityProvider {
        serde_json::from_value(json!({
            "object": "organization.workload_identity_provider", "id": "wip_1", "name": "p",
            "description": null, "type": "oidc", "issuer": "https://i", "audience": "a",
            "enabled": enabled, "verification": {"type": "discovery", "discovery_url": null},
            "attribute_transformations": [{"attribute": "openai.main", "expression": "assertion.ref == 'refs/heads/main'"}],
            "created_at": 0, "updated_at": 0
        }))
        .unwrap()
    }

    fn rule(id: &str, sa: &str, enabled: bool, matchers: Json) -> FederationRule {
        serde_json::from_value(json!({
            "object": "organization.workload_identity_provider.federation_rule",
            "id": id, "workload_identity_provider_id": "wip_1", "name": null, "description": null,
            "enabled": enabled, "project_id": "proj_1", "service_account_id": sa,
            "attribute_matchers": matchers, "permissions": {"type": "service_account_default"},
            "created_at": 0, "updated_at": 0
        }))
        .unwrap()
    }

    #[test]
    fn verdicts_and_reasons() {
        let claims = json!({"repository": "org/app", "ref": "refs/heads/main"});
        let rules = [
            rule(
                "r1",
                "sa_1",
                true,
                json!({"repository": "org/app", "openai.main": true}),
            ),
            rule("r2", "sa_1", true, json!({"repository": "org/fork"})),
            rule("r3", "sa_1", false, json!({"repository": "org/app"})),
            rule("r4", "sa_2", true, json!({"repository": "org/*"})),
            rule("r5", "sa_2", true, json!({"ref": "refs/heads/*"})),
            rule("r6", "sa_3", false, json!({"repository": "org/app"})),
        ];
        let v = admission(&provider(true), &rules, &claims, None);
        assert!(v.admitted);
        assert_eq!(v.matching_mapping_ids, ["r1"]);
        assert_eq!(v.reasons["r1"], MATCHED);
        assert_eq!(
            v.reasons["r2"],
            r#"claim 'repository' is "org/app", expected "org/fork""#
        );
        assert_eq!(v.reasons["r3"], DISABLED);
        assert!(
            v.reasons["r4"].contains("ambiguous mapping: 2 enabled"),
            "{v:?}"
        );
        assert_eq!(v.reasons["r4"], v.reasons["r5"]);
        assert!(
            v.reasons["r6"].contains("every federation rule is disabled"),
            "{v:?}"
        );

        let v = admission(&provider(true), &rules, &claims, Some("sa_2"));
        assert!(!v.admitted);
        assert_eq!(v.reasons.len(), 2);

        let v = admission(&provider(false), &rules, &claims, Some("sa_1"));
        assert!(!v.admitted);
        assert!(
            v.reasons["r1"].contains("workload identity provider disabled: 'wip_1' is disabled"),
            "{v:?}"
        );
    }
}
