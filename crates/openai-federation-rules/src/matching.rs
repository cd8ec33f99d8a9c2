//! Attribute matching and rule resolution (`docs/reference/openai-api.md#matching-rules`,
//! `#subject-token-checks`): which federation rule of (provider, service account) verified
//! claims select.
//!
//! Every matcher must match; string values match exactly, or by prefix when they end in a
//! single `*` after a non-empty prefix; non-string claims and values compare by their JSON
//! text; an array claim matches when any element does; `openai.*` keys come only from the
//! provider's transformations (evaluated lazily, once per exchange).

use std::collections::HashMap;
use std::fmt;

use openai_admin::models::{AttributeTransformation, FederationRule, WorkloadIdentityProvider};
use openai_admin::refusal::Reason;
use serde_json::{Map, Value as Json};

use crate::cel::CelError;

/// The prefix of attributes derived by transformations.
pub const DERIVED_PREFIX: &str = "openai.";

/// Text form used for comparison: strings as-is, other scalars as JSON text.
pub fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The prefix of a supported wildcard value (`repo:org/*`), if `expected` is one.
pub fn wildcard_prefix(expected: &str) -> Option<&str> {
    let prefix = expected.strip_suffix('*')?;
    (!prefix.is_empty() && !prefix.contains('*')).then_some(prefix)
}

/// Whether one scalar claim matches a matcher value.
pub fn scalar_matches(claim: &Json, expected: &Json) -> bool {
    if matches!(claim, Json::Null | Json::Object(_) | Json::Array(_)) {
        return false;
    }
    let actual = text(claim);
    match expected {
        Json::String(s) => match wildcard_prefix(s) {
            Some(prefix) => actual.starts_with(prefix),
            None => actual == *s,
        },
        other => actual == text(other),
    }
}

/// Whether a claim (scalar, or array of which any element may match) matches.
pub fn claim_matches(claim: &Json, expected: &Json) -> bool {
    match claim {
        Json::Array(items) => items.iter().any(|c| scalar_matches(c, expected)),
        other => scalar_matches(other, expected),
    }
}

/// Whether one token could satisfy both matcher sets `a` and `b`, judged
/// without a token: they are disjoint only when some claim both name has
/// values no single scalar can match together (two different exact values,
/// or an exact value or prefix outside the other's prefix). Claims only one
/// names never separate them. A claim that is an array in the token can
/// match two different values at once; this reading takes claims as
/// scalars, as the identity claims rules pin on (`sub`, ids, names) are.
/// `openai.*` attributes are scalars by construction (a transformation
/// yields one scalar per token).
pub fn may_overlap(a: &Map<String, Json>, b: &Map<String, Json>) -> bool {
    !a.iter()
        .any(|(key, va)| b.get(key).is_some_and(|vb| values_disjoint(va, vb)))
}

/// Whether no scalar claim can match both matcher values.
fn values_disjoint(a: &Json, b: &Json) -> bool {
    let (ta, tb) = (text(a), text(b));
    let pa = a.as_str().and_then(wildcard_prefix);
    let pb = b.as_str().and_then(wildcard_prefix);
    match (pa, pb) {
        (None, None) => ta != tb,
        (Some(p), None) => !tb.starts_with(p),
        (None, Some(p)) => !ta.starts_with(p),
        (Some(p), Some(q)) => !p.starts_with(q) && !q.starts_with(p),
    }
}

/// Where matchers read `openai.*` attributes from.
pub trait DerivedAttributes {
    /// `Ok(None)`: no transformation defines the attribute. `Err`: it failed to evaluate.
    fn get(&mut self, name: &str) -> Result<Option<String>, String>;
}

/// Lazily evaluated `openai.*` attributes of one token, as the exchange computes them.
pub struct Attributes<'a> {
    transformations: &'a [AttributeTransformation],
    claims: &'a Json,
    cache: HashMap<String, Result<Option<String>, String>>,
}

impl<'a> Attributes<'a> {
    pub fn new(transformations: &'a [AttributeTransformation], claims: &'a Json) -> Self {
        Attributes {
            transformations,
            claims,
            cache: HashMap::new(),
        }
    }
}

fn transformation_failed(t: &AttributeTransformation, e: &CelError) -> String {
    format!(
        "attribute transformation for '{}' (expression `{}`) failed: {e}",
        t.attribute, t.expression
    )
}

impl DerivedAttributes for Attributes<'_> {
    fn get(&mut self, name: &str) -> Result<Option<String>, String> {
        if let Some(hit) = self.cache.get(name) {
            return hit.clone();
        }
        let result = match self.transformations.iter().find(|t| t.attribute == name) {
            None => Ok(None),
            Some(t) => crate::cel::evaluate_to_string(&t.expression, self.claims)
                .map(Some)
                .map_err(|e| transformation_failed(t, &e)),
        };
        self.cache.insert(name.to_owned(), result.clone());
        result
    }
}

/// `openai.*` attributes already computed (by [`transform`]), read from the claims object.
pub struct Precomputed<'a>(pub &'a Json);

impl DerivedAttributes for Precomputed<'_> {
    fn get(&mut self, name: &str) -> Result<Option<String>, String> {
        Ok(self.0.get(name).map(text))
    }
}

/// How one rule's matchers fared against one token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Match,
    /// The first matcher that did not match, explained.
    Mismatch(String),
    /// A transformation a matcher needs failed.
    Failed(String),
}

/// Checks every matcher against `claims`, `openai.*` keys against `derived`.
pub fn check_matchers(
    matchers: &Map<String, Json>,
    claims: &Json,
    derived: &mut dyn DerivedAttributes,
) -> Outcome {
    for (key, expected) in matchers {
        if key.starts_with(DERIVED_PREFIX) {
            match derived.get(key) {
                Err(e) => return Outcome::Failed(e),
                Ok(None) => {
                    return Outcome::Mismatch(format!(
                        "attribute '{key}' is not produced by any of the provider's transformations"
                    ));
                }
                Ok(Some(value)) => {
                    if !scalar_matches(&Json::String(value.clone()), expected) {
                        return Outcome::Mismatch(format!(
                            "attribute '{key}' is \"{value}\", expected {expected}"
                        ));
                    }
                }
            }
            continue;
        }
        match claims.get(key) {
            None => return Outcome::Mismatch(format!("the token has no '{key}' claim")),
            Some(claim) if !claim_matches(claim, expected) => {
                return Outcome::Mismatch(format!("claim '{key}' is {claim}, expected {expected}"));
            }
            Some(_) => {}
        }
    }
    Outcome::Match
}

/// `matches(attribute_matchers, claims)`: the claims are a token's payload, with `openai.*`
/// attributes as [`transform`] derives them.
pub fn matches(matchers: &Map<String, Json>, claims: &Json) -> Outcome {
    check_matchers(matchers, claims, &mut Precomputed(claims))
}

/// A transformation that failed while deriving every attribute.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TransformError {
    /// Index of the failing transformation.
    pub index: usize,
    pub message: String,
}

/// The claims as matchers see them: every claim, except raw claims named like derived
/// attributes (the exchange never reads those), plus every `openai.*` attribute the
/// transformations derive, as text.
pub fn transform(
    transformations: &[AttributeTransformation],
    claims: &Map<String, Json>,
) -> Result<Map<String, Json>, TransformError> {
    let mut out: Map<String, Json> = claims
        .iter()
        .filter(|(k, _)| !k.starts_with(DERIVED_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let as_json = Json::Object(claims.clone());
    for (index, t) in transformations.iter().enumerate() {
        let value = crate::cel::evaluate_to_string(&t.expression, &as_json).map_err(|e| {
            TransformError {
                index,
                message: transformation_failed(t, &e),
            }
        })?;
        // The exchange uses the first transformation of a name (two are refused at write).
        out.entry(t.attribute.clone())
            .or_insert(Json::String(value));
    }
    Ok(out)
}

/// Why an exchange is refused at mapping resolution: a shared reason and its details, worded
/// as the exchange words them (`Display` gives the full `error_description`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub details: String,
}

impl Refusal {
    pub fn new(reason: Reason, details: impl Into<String>) -> Self {
        Refusal {
            reason,
            details: details.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason.describe(&self.details))
    }
}

/// The refusal of an exchange through a disabled provider, checked before anything else
/// about the token's claims.
pub fn provider_refusal(provider: &WorkloadIdentityProvider) -> Option<Refusal> {
    (!provider.enabled).then(|| {
        Refusal::new(
            Reason::ProviderDisabled,
            format!("'{}' is disabled", provider.id),
        )
    })
}

/// One rule's part in a resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleVerdict {
    /// Disabled: skipped by the exchange.
    Disabled,
    Checked(Outcome),
}

/// Everything a resolution found: each rule's outcome, and the exchange's verdict.
#[derive(Clone, Debug)]
pub struct Resolution {
    /// In the order of the rules given.
    pub rules: Vec<(String, RuleVerdict)>,
    /// The id of the one rule selected, or why the exchange is refused.
    pub verdict: Result<String, Refusal>,
}

/// Resolves `rules` (all of the requested provider and service account) against `claims`.
pub fn resolve_detailed(
    rules: &[FederationRule],
    transformations: &[AttributeTransformation],
    claims: &Json,
    provider_id: &str,
    service_account_id: &str,
) -> Resolution {
    let mut attrs = Attributes::new(transformations, claims);
    let verdicts: Vec<(String, RuleVerdict)> = rules
        .iter()
        .map(|r| {
            let v = if r.enabled {
                RuleVerdict::Checked(check_matchers(&r.attribute_matchers, claims, &mut attrs))
            } else {
                RuleVerdict::Disabled
            };
            (r.id.clone(), v)
        })
        .collect();
    let verdict = decide(&verdicts, provider_id, service_account_id);
    Resolution {
        rules: verdicts,
        verdict,
    }
}

fn decide(
    verdicts: &[(String, RuleVerdict)],
    provider_id: &str,
    service_account_id: &str,
) -> Result<String, Refusal> {
    if verdicts.is_empty() {
        return Err(Refusal::new(
            Reason::NoRule,
            format!(
                "service account '{service_account_id}' has no federation rule under workload identity provider '{provider_id}'"
            ),
        ));
    }
    if verdicts.iter().all(|(_, v)| *v == RuleVerdict::Disabled) {
        return Err(Refusal::new(
            Reason::RulesDisabled,
            format!(
                "service account '{service_account_id}' has federation rules under workload identity provider '{provider_id}', but all of them are disabled"
            ),
        ));
    }
    let mut matched = Vec::new();
    let mut reasons = Vec::new();
    let mut failures = Vec::new();
    // By id, so the wording does not depend on the order the rules were listed in.
    let mut verdicts: Vec<&(String, RuleVerdict)> = verdicts.iter().collect();
    verdicts.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, v) in verdicts {
        match v {
            RuleVerdict::Disabled => {}
            RuleVerdict::Checked(Outcome::Match) => matched.push(id.as_str()),
            RuleVerdict::Checked(Outcome::Mismatch(why)) => {
                reasons.push(format!("rule {id}: {why}"))
            }
            RuleVerdict::Checked(Outcome::Failed(why)) => {
                failures.push(format!("rule {id}: {why}"))
            }
        }
    }
    match matched.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] if !failures.is_empty() => Err(Refusal::new(
            Reason::MappingFailed,
            format!(
                "for service account '{service_account_id}': {}",
                failures.join("; ")
            ),
        )),
        [] => Err(Refusal::new(
            Reason::NoMatchingRule,
            format!(
                "none of the enabled federation rules for service account '{service_account_id}' matches the token's claims ({})",
                reasons.join("; ")
            ),
        )),
        many => Err(Refusal::new(
            Reason::AmbiguousMapping,
            format!(
                "{} enabled federation rules for service account '{service_account_id}' match the token's claims ({}); exactly one must match",
                many.len(),
                many.join(", ")
            ),
        )),
    }
}

/// Picks the one enabled rule of `rules` (all for the requested provider and service account)
/// that matches `claims`, or says why there is none.
pub fn resolve(
    rules: &[FederationRule],
    transformations: &[AttributeTransformation],
    claims: &Json,
    provider_id: &str,
    service_account_id: &str,
) -> Result<FederationRule, Refusal> {
    let id = resolve_detailed(
        rules,
        transformations,
        claims,
        provider_id,
        service_account_id,
    )
    .verdict?;
    Ok(rules
        .iter()
        .find(|r| r.id == id)
        .cloned()
        .expect("the selected rule is one of the rules"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_judged_per_claim_both_name() {
        let m = |v: Json| v.as_object().unwrap().clone();
        let cases = [
            (json!({"sub": "a"}), json!({"sub": "b"}), false),
            (json!({"sub": "a"}), json!({"sub": "a"}), true),
            (
                json!({"sub": "repo:x/*"}),
                json!({"sub": "repo:x/app"}),
                true,
            ),
            (
                json!({"sub": "repo:x/*"}),
                json!({"sub": "repo:y/app"}),
                false,
            ),
            (json!({"sub": "repo:x/*"}), json!({"sub": "repo:*"}), true),
            (
                json!({"sub": "repo:x/*"}),
                json!({"sub": "repo:y/*"}),
                false,
            ),
            // Different claims: one token can carry both.
            (json!({"sub": "a"}), json!({"ref": "main"}), true),
            (
                json!({"sub": "a", "ref": "main"}),
                json!({"sub": "a", "ref": "dev"}),
                false,
            ),
            // Numbers and bools compare by their text.
            (json!({"n": 7}), json!({"n": "7"}), true),
            (json!({"ok": true}), json!({"ok": false}), false),
            // A derived attribute has one scalar value per token.
            (
                json!({"openai.env": "a"}),
                json!({"openai.env": "b"}),
                false,
            ),
            (json!({"openai.env": "a"}), json!({"sub": "b"}), true),
        ];
        for (a, b, overlap) in cases {
            assert_eq!(
                may_overlap(&m(a.clone()), &m(b.clone())),
                overlap,
                "{a} ~ {b}"
            );
            assert_eq!(
                may_overlap(&m(b.clone()), &m(a.clone())),
                overlap,
                "{b} ~ {a}"
            );
        }
    }
    use serde_json::json;

    #[test]
    fn matcher_semantics() {
        assert!(claim_matches(&json!("repo:org/x"), &json!("repo:org/*")));
        assert!(!claim_matches(&json!("repo:other/x"), &json!("repo:org/*")));
        assert!(claim_matches(&json!(true), &json!(true)));
        assert!(claim_matches(&json!(true), &json!("true")));
        assert!(claim_matches(&json!(7), &json!(7)));
        assert!(claim_matches(&json!(["a", "b"]), &json!("b")));
        assert!(!claim_matches(&json!({"a": 1}), &json!("a")));
        assert!(!claim_matches(&json!("exact"), &json!("exac")));
        // `*` alone or inside is not a wildcard: compared exactly.
        assert!(!claim_matches(&json!("anything"), &json!("*")));
        assert!(claim_matches(&json!("*"), &json!("*")));
        assert!(!claim_matches(&json!("a:x:b"), &json!("a:*:b")));
        assert!(!claim_matches(&json!(null), &json!("null")));
        assert!(!claim_matches(&json!([]), &json!("a")));
    }

    fn t(attribute: &str, expression: &str) -> AttributeTransformation {
        AttributeTransformation {
            attribute: attribute.into(),
            expression: expression.into(),
        }
    }

    #[test]
    fn transform_derives_and_drops_raw_openai_claims() {
        let claims = json!({"sub": "s", "ref": "refs/heads/main", "openai.env": "forged"});
        let out = transform(
            &[
                t("openai.prod", "assertion.ref == 'refs/heads/main'"),
                t("openai.sub", "assertion.sub"),
            ],
            claims.as_object().unwrap(),
        )
        .unwrap();
        assert_eq!(
            Json::Object(out.clone()),
            json!({"sub": "s", "ref": "refs/heads/main", "openai.prod": "true", "openai.sub": "s"})
        );
        let m = json!({"openai.prod": true, "sub": "s"});
        assert_eq!(
            matches(m.as_object().unwrap(), &Json::Object(out)),
            Outcome::Match
        );
        let e = transform(
            &[
                t("openai.sub", "assertion.sub"),
                t("openai.x", "assertion.nope"),
            ],
            claims.as_object().unwrap(),
        )
        .unwrap_err();
        assert_eq!(e.index, 1);
        assert!(e.message.contains("'openai.x'"), "{e}");
    }

    fn rule(id: &str, enabled: bool, matchers: Json) -> FederationRule {
        serde_json::from_value(json!({
            "object": "organization.workload_identity_provider.federation_rule",
            "id": id, "workload_identity_provider_id": "wip_1", "name": null, "description": null,
            "enabled": enabled, "project_id": "proj_1", "service_account_id": "sa_1",
            "attribute_matchers": matchers, "permissions": {"type": "service_account_default"},
            "created_at": 0, "updated_at": 0
        }))
        .unwrap()
    }

    #[test]
    fn resolution_verdicts() {
        let claims = json!({"sub": "a", "n": 3});
        let r = |rules: &[FederationRule]| resolve(rules, &[], &claims, "wip_1", "sa_1");
        assert_eq!(r(&[]).unwrap_err().reason, Reason::NoRule);
        assert_eq!(
            r(&[rule("r1", false, json!({"sub": "a"}))])
                .unwrap_err()
                .reason,
            Reason::RulesDisabled
        );
        assert_eq!(
            r(&[
                rule("r1", false, json!({"sub": "a"})),
                rule("r2", true, json!({"n": 3}))
            ])
            .unwrap()
            .id,
            "r2"
        );
        let e = r(&[
            rule("r1", true, json!({"sub": "a"})),
            rule("r2", true, json!({"n": "3"})),
        ])
        .unwrap_err();
        assert_eq!(e.reason, Reason::AmbiguousMapping);
        assert!(
            e.to_string().contains("ambiguous mapping: 2 enabled"),
            "{e}"
        );
        let e = r(&[rule("r1", true, json!({"sub": "b"}))]).unwrap_err();
        assert_eq!(e.reason, Reason::NoMatchingRule);
        assert!(
            e.details.contains(r#"claim 'sub' is "a", expected "b""#),
            "{e}"
        );
        let e = r(&[rule("r1", true, json!({"openai.x": "b"}))]).unwrap_err();
        assert!(e.details.contains("not produced"), "{e}");
        let e = resolve(
            &[rule("r1", true, json!({"openai.x": "b"}))],
            &[t("openai.x", "assertion.missing")],
            &claims,
            "wip_1",
            "sa_1",
        )
        .unwrap_err();
        assert_eq!(e.reason, Reason::MappingFailed);
    }
}
