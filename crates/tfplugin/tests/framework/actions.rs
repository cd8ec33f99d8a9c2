//! Actions of the example provider through the service: metadata and
//! schema, validation with attribute paths, planning before configuration,
//! and InvokeAction's stream (progress in order, then one `Completed`).

use futures_util::StreamExt;
use tfplugin::codec::{Type, Value};
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

use crate::example::COUNTDOWN;
use crate::support::*;

use pb::invoke_action::event::Type as Event;

fn countdown(from: Value) -> pb::DynamicValue {
    dv(
        &Value::object([("from", from)]),
        &Type::object([("from", Type::Number)]),
    )
}

async fn invoke(s: &Service, from: Value) -> Vec<Event> {
    s.invoke_action(Request::new(pb::invoke_action::Request {
        action_type: COUNTDOWN.into(),
        config: Some(countdown(from)),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
    .map(|e| e.unwrap().r#type.unwrap())
    .collect()
    .await
}

#[tokio::test]
async fn actions_are_listed_with_their_schema() {
    let (s, _) = service();
    let m = s
        .get_metadata(Request::new(pb::get_metadata::Request {}))
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = m.actions.iter().map(|a| a.type_name.as_str()).collect();
    assert_eq!(names, [COUNTDOWN]);
    let schemas = s
        .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner()
        .action_schemas;
    let block = schemas[COUNTDOWN]
        .schema
        .as_ref()
        .unwrap()
        .block
        .as_ref()
        .unwrap();
    assert_eq!(block.attributes[0].name, "from");
}

#[tokio::test]
async fn validation_and_plan_answer_with_diagnostics() {
    let (s, _) = service();
    let r = s
        .validate_action_config(Request::new(pb::validate_action_config::Request {
            type_name: COUNTDOWN.into(),
            config: Some(countdown(Value::number(-1))),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "Negative from".to_string())]
    );
    // Unknowns are fine at plan; the provider is not configured yet.
    let r = s
        .plan_action(Request::new(pb::plan_action::Request {
            action_type: COUNTDOWN.into(),
            config: Some(countdown(Value::Unknown)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(WARNING, "Planned unconfigured".to_string())]
    );

    // A value known only at plan is checked by the rules then.
    let r = s
        .plan_action(Request::new(pb::plan_action::Request {
            action_type: COUNTDOWN.into(),
            config: Some(countdown(Value::number(-2))),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [
            (ERROR, "Negative from".to_string()),
            (WARNING, "Planned unconfigured".to_string())
        ]
    );
}

#[tokio::test]
async fn invoke_streams_progress_then_completes() {
    let (s, journal) = configured().await;
    let events = invoke(&s, Value::number(3)).await;
    let progress: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress(p) => Some(p.message.as_str()),
            Event::Completed(_) => None,
        })
        .collect();
    assert_eq!(progress, ["3", "2", "1"]);
    match events.last() {
        Some(Event::Completed(c)) => assert!(c.diagnostics.is_empty(), "{c:?}"),
        other => panic!("last event {other:?}"),
    }
    assert_eq!(journal.calls("invoke").len(), 1);

    // A failure is the Completed event's error, with its attribute.
    let events = invoke(&s, Value::number(0)).await;
    assert_eq!(events.len(), 1);
    let Event::Completed(c) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        summaries(&c.diagnostics),
        [(ERROR, "Nothing to count".to_string())]
    );
    assert!(c.diagnostics[0].attribute.is_some());

    // A value known only now breaking the rules never reaches the action.
    let events = invoke(&s, Value::number(-1)).await;
    let [Event::Completed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert_eq!(
        summaries(&c.diagnostics),
        [(ERROR, "Negative from".to_string())]
    );
    assert_eq!(
        journal.calls("invoke").len(),
        2,
        "the runs before reached it; this one did not"
    );
}

#[tokio::test]
async fn invoke_before_configuration_or_with_unknowns_completes_with_an_error() {
    let (s, _) = service();
    let events = invoke(&s, Value::number(1)).await;
    let [Event::Completed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(c.diagnostics[0].summary.contains("Provider not configured"));
    let (s, _) = configured().await;
    let events = invoke(&s, Value::Unknown).await;
    let [Event::Completed(c)] = events.as_slice() else {
        panic!("{events:?}")
    };
    assert!(c.diagnostics[0].summary.contains("not known"), "{c:?}");
}
