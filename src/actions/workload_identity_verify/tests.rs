//! The schema's two halves, the settings' rules, and which refusals the
//! action waits out.

use reqwest::StatusCode;

use super::*;
use crate::values::testing::{Rule, assert_rule, at};
use tfplugin::framework::check_config;
use tfplugin::framework::model::mismatches;

#[test]
fn schema_is_the_tokens_configuration_plus_the_actions_settings() {
    let s = schema();
    let own: Vec<_> = M::fields().iter().map(|f| f.name).collect();
    let (mine, theirs): (Vec<_>, Vec<_>) = s
        .attributes
        .iter()
        .cloned()
        .partition(|a| own.contains(&a.name));
    let half = |attributes| Schema {
        attributes,
        ..Schema::default()
    };
    assert_eq!(
        mismatches::<M>(&half(mine).object_type()),
        Vec::<String>::new()
    );
    let token_config: Vec<_> = token::schema()
        .attributes
        .into_iter()
        .filter(|a| a.mode != Mode::Computed)
        .map(|a| a.name)
        .collect();
    let names: Vec<_> = theirs.iter().map(|a| a.name).collect();
    assert_eq!(names, token_config);
    // The token's view of an action configuration decodes.
    let config = s.stub(&[(TokenModel::service_account_id, Value::string("svc_acct_1"))]);
    assert_eq!(
        token_model(&config).unwrap().service_account_id.as_deref(),
        Some("svc_acct_1")
    );
}

#[test]
fn settings_rules() {
    let base = VerifyModel::default();
    let rules = [
        Rule {
            case: "wait below zero",
            config: VerifyModel {
                propagation_wait_seconds: Field::Known(-1),
                ..base.clone()
            },
            path: at(M::propagation_wait_seconds),
            summary: "Invalid propagation_wait_seconds",
            detail: "propagation_wait_seconds is -1; it must be between 0 and 900.",
        },
        Rule {
            case: "wait too long",
            config: VerifyModel {
                propagation_wait_seconds: Field::Known(MAX_PROPAGATION_WAIT_SECS + 1),
                ..base.clone()
            },
            path: at(M::propagation_wait_seconds),
            summary: "Invalid propagation_wait_seconds",
            detail: "Use 0 to try once",
        },
        Rule {
            case: "interval zero",
            config: VerifyModel {
                retry_interval_seconds: Field::Known(0),
                ..base.clone()
            },
            path: at(M::retry_interval_seconds),
            summary: "Invalid retry_interval_seconds",
            detail: "retry_interval_seconds is 0; it must be between 1 and 900.",
        },
    ];
    let check = |config: &VerifyModel| {
        // The token's attributes stay null: only the action's own settings
        // are judged here.
        let own = config.to_value();
        let pairs: Vec<_> = own
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        check_config(&schema(), &ConfigRules::none(), &schema().stub(&pairs))
    };
    for rule in &rules {
        assert_rule(rule, &check(&rule.config));
    }
    let d = check(&base);
    assert!(d.is_empty(), "{d:?}");
    let s = settings(&base);
    assert_eq!(
        s.wait,
        Duration::from_secs(DEFAULT_PROPAGATION_WAIT_SECS as u64)
    );
    assert_eq!(
        s.interval,
        Duration::from_secs(DEFAULT_RETRY_INTERVAL_SECS as u64)
    );
    assert!(!s.check_models);
}

/// The action's validation, as the framework runs it at validate, plan and
/// invoke: the token's attributes bring their validators, and the token's
/// rules run beside the action's own.
#[test]
fn validation_covers_the_tokens_attributes_and_rules_and_the_actions_own() {
    let check = |pairs: &[(&str, Value)]| {
        let config = schema().stub(pairs);
        let d = check_config(
            &schema(),
            &WorkloadIdentityVerifyAction.config_rules(),
            &config,
        );
        d.iter()
            .map(|d| (d.summary.clone(), d.path.clone()))
            .collect::<Vec<_>>()
    };
    let ids = [
        (
            TokenModel::workload_identity_provider_id,
            Value::string("wip_1"),
        ),
        (TokenModel::service_account_id, Value::string("svc_acct_1")),
        (TokenModel::subject_token_env, Value::string("TOKEN")),
    ];
    assert_eq!(check(&ids), []);
    let with = |extra: (&'static str, Value)| {
        let mut pairs = ids.to_vec();
        pairs.retain(|(n, _)| *n != extra.0);
        pairs.push(extra);
        check(&pairs)
    };
    assert_eq!(
        with((TokenModel::service_account_id, Value::string(" "))),
        [(
            "Empty service_account_id".to_string(),
            at(TokenModel::service_account_id)
        )]
    );
    // Two token sources: the token's rule, on the attribute it names.
    let conflict = with((TokenModel::subject_token_file, Value::string("/t")));
    assert!(
        conflict.iter().any(
            |(summary, path)| summary == "Conflicting subject token sources"
                && *path == at(TokenModel::subject_token_file)
        ),
        "{conflict:?}"
    );
    assert_eq!(
        with((M::propagation_wait_seconds, Value::number(-1))),
        [(
            "Invalid propagation_wait_seconds".to_string(),
            at(M::propagation_wait_seconds)
        )]
    );
}

#[test]
fn an_interval_longer_than_the_wait_warns_that_there_is_no_second_try() {
    let check = |wait: i64, interval: i64| {
        let config = schema().stub(&[
            (M::propagation_wait_seconds, Value::number(wait)),
            (M::retry_interval_seconds, Value::number(interval)),
            (TokenModel::subject_token_env, Value::string("TOKEN")),
        ]);
        check_config(
            &schema(),
            &WorkloadIdentityVerifyAction.config_rules(),
            &config,
        )
    };
    let d = check(10, 30);
    let warning = d.iter().next().expect("a warning");
    assert_eq!(warning.severity, tfplugin::framework::Severity::Warning);
    assert_eq!(warning.summary, "No second try");
    assert_eq!(warning.path, at(M::retry_interval_seconds));
    assert!(
        warning
            .detail
            .contains("retry_interval_seconds (30) is longer"),
        "{d:?}"
    );
    // Trying once on purpose, or an interval that fits: nothing to say.
    assert!(check(0, 30).is_empty(), "{:?}", check(0, 30));
    assert!(check(30, 10).is_empty(), "{:?}", check(30, 10));
}

fn refused(status: u16, error: &str, description: &str) -> ExchangeError {
    ExchangeError::OAuth {
        url: "http://127.0.0.1:1/oauth/token".into(),
        status: StatusCode::from_u16(status).unwrap(),
        error: error.into(),
        error_description: Some(description.into()),
        request_id: None,
    }
}

/// Every reason, at either status a server may choose: the decision never
/// depends on the status.
#[test]
fn waits_only_for_refusals_propagation_can_explain() {
    use Reason::*;
    let waits = [
        NoRule,
        RulesDisabled,
        UnknownProvider,
        ProviderDisabled,
        UnknownServiceAccount,
        KeysUnavailable,
    ];
    for reason in Reason::ALL {
        for status in [400, 401, 403] {
            let e = refused(status, reason.code().as_str(), &reason.describe("x"));
            assert_eq!(
                propagation_cause(&e).is_some(),
                waits.contains(&reason),
                "{reason:?} at {status}"
            );
        }
    }
    // Unknown wording: a grant refusal may be propagation, a token refusal is not.
    assert_eq!(
        propagation_cause(&refused(401, "invalid_grant", "Identity was rejected.")),
        Some("identity rejected")
    );
    assert_eq!(
        propagation_cause(&refused(400, "invalid_subject_token", "Bad token.")),
        None
    );
    let server = ExchangeError::Status {
        url: "u".into(),
        status: StatusCode::BAD_GATEWAY,
        detail: None,
        request_id: None,
    };
    assert_eq!(propagation_cause(&server), Some("server error"));
}
