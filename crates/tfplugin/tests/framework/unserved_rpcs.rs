//! The protocol's RPCs the framework does not serve answer promptly with an
//! empty result or a clear "not supported" diagnostic: no panic, no hang,
//! no gRPC error Terraform would show as a crashed plugin.

use futures_util::StreamExt;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

fn service() -> crate::support::Service {
    crate::support::service().0
}

fn assert_not_supported(diags: &[pb::Diagnostic], what: &str) {
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].severity, pb::diagnostic::Severity::Error as i32);
    assert!(diags[0].summary.contains("not supported"), "{diags:?}");
    assert!(diags[0].detail.contains(what), "{diags:?}");
}

#[tokio::test]
async fn unserved_rpcs_answer_with_a_diagnostic() {
    let s = service();
    let r = s
        .lock_state(Request::new(pb::lock_state::Request::default()))
        .await
        .unwrap()
        .into_inner();
    assert_not_supported(&r.diagnostics, "state storage");
    let chunks: Vec<_> = s
        .read_state_bytes(Request::new(pb::read_state_bytes::Request::default()))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(chunks.len(), 1);
    assert_not_supported(&chunks[0].as_ref().unwrap().diagnostics, "state storage");
}

#[tokio::test]
async fn calls_of_unknown_functions_explain_themselves() {
    let s = service();
    let r = s
        .call_function(Request::new(pb::call_function::Request {
            name: "nope".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.unwrap().text.contains("no function named \"nope\""));
}

#[tokio::test]
async fn unknown_type_names_get_a_diagnostic_naming_them() {
    let s = service();
    let r = s
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: "example_nope".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics.len(), 1);
    assert!(r.diagnostics[0].summary.contains("example_nope"), "{r:?}");
    // Apply before ConfigureProvider: a diagnostic, not a panic.
    let r = s
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: "example_thing".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.summary.contains("Provider not configured")),
        "{r:?}"
    );
}

#[tokio::test]
async fn moves_into_a_resource_that_takes_none_are_refused_with_advice() {
    let s = service();
    let r = s
        .move_resource_state(Request::new(pb::move_resource_state::Request {
            source_provider_address: "registry.terraform.io/other/other".into(),
            source_type_name: "other_thing".into(),
            target_type_name: "example_thing".into(),
            source_state: Some(pb::RawState {
                json: b"{}".to_vec(),
                ..Default::default()
            }),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.diagnostics.len(), 1, "{r:?}");
    assert!(
        r.diagnostics[0].summary.contains("Cannot move other_thing"),
        "{r:?}"
    );
    assert!(
        r.diagnostics[0]
            .detail
            .contains("import the object instead"),
        "{r:?}"
    );
    assert!(r.target_state.is_none());
}
