//! Mapping resolution for the token exchange (`docs/reference/openai-api.md#matching-rules`,
//! `#subject-token-checks`): which federation rule of (provider, service account) the verified
//! claims select.
//!
//! Matching follows the decisions in
//! `docs/reference/openai-api.md#decisions-where-openai-is-silent`: every matcher must match;
//! string values match exactly, or by prefix when they end in a single `*` after a non-empty
//! prefix; non-string claims and values compare by their JSON text; an array claim matches when any
//! element does; `openai.*` keys come only from the provider's transformations (evaluated lazily,
//! once per exchange).

use std::collections::HashMap;

use serde_json::Value as Json;

use super::cel;
use super::errors::ExchangeError;
use openai_admin::models::{AttributeTransformation, FederationRule};
use openai_admin::refusal::Reason;

/// Text form used for comparison: strings as-is, other scalars as JSON text.
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn wildcard_prefix(expected: &str) -> Option<&str> {
    let prefix = expected.strip_suffix('*')?;
    (!prefix.is_empty() && !prefix.contains('*')).then_some(prefix)
}

fn scalar_matches(claim: &Json, expected: &Json) -> bool {
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

fn claim_matches(claim: &Json, expected: &Json) -> bool {
    match claim {
        Json::Array(items) => items.iter().any(|c| scalar_matches(c, expected)),
        other => scalar_matches(other, expected),
    }
}

/// Lazily evaluated `openai.*` attributes of one token.
struct Attributes<'a> {
    transformations: &'a [AttributeTransformation],
    claims: &'a Json,
    cache: HashMap<String, Result<Option<String>, String>>,
}

impl Attributes<'_> {
    /// `Ok(None)`: no transformation defines the attribute.
    fn get(&mut self, name: &str) -> Result<Option<String>, String> {
        if let Some(hit) = self.cache.get(name) {
            return hit.clone();
        }
        let result = match self.transformations.iter().find(|t| t.attribute == name) {
            None => Ok(None),
            Some(t) => cel::evaluate_to_string(&t.expression, self.claims)
                .map(Some)
                .map_err(|e| {
                    format!(
                        "attribute transformation for '{name}' (expression `{}`) failed: {e}",
                        t.expression
                    )
                }),
        };
        self.cache.insert(name.to_owned(), result.clone());
        result
    }
}

enum Outcome {
    Match,
    Mismatch(String),
    Failed(String),
}

fn evaluate(rule: &FederationRule, claims: &Json, attrs: &mut Attributes<'_>) -> Outcome {
    for (key, expected) in &rule.attribute_matchers {
        if key.starts_with("openai.") {
            match attrs.get(key) {
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

/// Picks the one enabled rule of `rules` (all for the requested provider and
/// service account) that matches `claims`, or explains why there is none.
pub fn resolve(
    rules: &[FederationRule],
    transformations: &[AttributeTransformation],
    claims: &Json,
    provider_id: &str,
    service_account_id: &str,
) -> Result<FederationRule, ExchangeError> {
    if rules.is_empty() {
        return Err(ExchangeError::new(
            Reason::NoRule,
            format!(
                "service account '{service_account_id}' has no federation rule under workload identity provider '{provider_id}'"
            ),
        ));
    }
    let enabled: Vec<&FederationRule> = rules.iter().filter(|r| r.enabled).collect();
    if enabled.is_empty() {
        return Err(ExchangeError::new(
            Reason::RulesDisabled,
            format!(
                "service account '{service_account_id}' has federation rules under workload identity provider '{provider_id}', but all of them are disabled"
            ),
        ));
    }
    let mut attrs = Attributes {
        transformations,
        claims,
        cache: HashMap::new(),
    };
    let mut matched = Vec::new();
    let mut reasons = Vec::new();
    let mut failures = Vec::new();
    for rule in enabled {
        match evaluate(rule, claims, &mut attrs) {
            Outcome::Match => matched.push(rule),
            Outcome::Mismatch(why) => reasons.push(format!("rule {}: {why}", rule.id)),
            Outcome::Failed(why) => failures.push(format!("rule {}: {why}", rule.id)),
        }
    }
    match matched.as_slice() {
        [one] => Ok((*one).clone()),
        [] if !failures.is_empty() => Err(ExchangeError::new(
            Reason::MappingFailed,
            format!(
                "for service account '{service_account_id}': {}",
                failures.join("; ")
            ),
        )),
        [] => Err(ExchangeError::new(
            Reason::NoMatchingRule,
            format!(
                "none of the enabled federation rules for service account '{service_account_id}' matches the token's claims ({})",
                reasons.join("; ")
            ),
        )),
        many => Err(ExchangeError::new(
            Reason::AmbiguousMapping,
            format!(
                "{} enabled federation rules for service account '{service_account_id}' match the token's claims ({}); exactly one must match",
                many.len(),
                many.iter()
                    .map(|r| r.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    }
}
