//! Validation, data sources, ephemeral resources and list resources of the
//! example provider, through the service.

use futures_util::StreamExt;
use tfplugin::codec::{Type, Value};
use tfplugin::framework::attr;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

use crate::example::{LOOKUP, THING, TOKEN};
use crate::support::*;

fn attribute_names(d: &pb::Diagnostic) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    d.attribute
        .iter()
        .flat_map(|p| &p.steps)
        .filter_map(|s| match &s.selector {
            Some(Selector::AttributeName(n)) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn validation_diagnostics_name_the_attribute() {
    let (s, _) = service();
    let r = s
        .validate_provider_config(Request::new(pb::validate_provider_config::Request {
            config: Some(dv(
                &Value::object([("greeting", Value::string(""))]),
                &provider_type(),
            )),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "Empty greeting".to_string())]
    );
    assert_eq!(attribute_names(&r.diagnostics[0]), ["greeting"]);

    let r = s
        .validate_resource_config(Request::new(pb::validate_resource_config::Request {
            type_name: THING.into(),
            config: Some(dv(&thing(None, "", None), &thing_type())),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "Empty name".to_string())]
    );
    assert_eq!(attribute_names(&r.diagnostics[0]), ["name"]);
}

#[tokio::test]
async fn configure_warnings_reach_terraform_and_unknown_config_leaves_it_unconfigured() {
    let (s, _) = service();
    let r = s
        .configure_provider(Request::new(pb::configure_provider::Request {
            terraform_version: String::new(),
            config: Some(dv(
                &Value::object([("greeting", Value::Null)]),
                &provider_type(),
            )),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(WARNING, "No Terraform version".to_string())]
    );

    let (s, _) = service();
    let r = s
        .configure_provider(Request::new(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dv(
                &Value::object([("greeting", Value::Unknown)]),
                &provider_type(),
            )),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let r = s
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: TOKEN.into(),
            config: Some(dv(&Value::object([("value", Value::Null)]), &token_type())),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.diagnostics
            .iter()
            .any(|d| d.summary == "Provider not configured"),
        "{r:?}"
    );
}

fn lookup_type() -> Type {
    Type::object([("name", Type::String), ("id", Type::String)])
}

fn token_type() -> Type {
    Type::object([("value", Type::String)])
}

async fn create_thing(s: &Service, name: &str) {
    let ty = thing_type();
    // What the planner makes of a create: the id is known after apply.
    let mut planned = thing(None, name, None);
    tfplugin::framework::set_attr(&mut planned, "id", Value::Unknown);
    let r = s
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: THING.into(),
            prior_state: Some(dv(&Value::Null, &ty)),
            planned_state: Some(dv(&planned, &ty)),
            config: Some(dv(&thing(None, name, None), &ty)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}

#[tokio::test]
async fn data_source_reads_and_points_at_the_argument_it_cannot_find() {
    let (s, _) = configured().await;
    create_thing(&s, "a").await;
    let read = |name: &str| {
        let config = Value::object([("name", Value::string(name)), ("id", Value::Null)]);
        s.read_data_source(Request::new(pb::read_data_source::Request {
            type_name: LOOKUP.into(),
            config: Some(dv(&config, &lookup_type())),
            ..Default::default()
        }))
    };
    let r = read("a").await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = undv(r.state.as_ref(), &lookup_type());
    assert_eq!(attr(&state, "id"), &Value::string("t1"));

    let r = read("zz").await.unwrap().into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "No such thing".to_string())]
    );
    assert_eq!(attribute_names(&r.diagnostics[0]), ["name"]);
}

#[tokio::test]
async fn ephemeral_private_bytes_go_from_open_to_renew_to_close() {
    let (s, journal) = configured().await;
    let opened = s
        .open_ephemeral_resource(Request::new(pb::open_ephemeral_resource::Request {
            type_name: TOKEN.into(),
            config: Some(dv(&Value::object([("value", Value::Null)]), &token_type())),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    let result = undv(opened.result.as_ref(), &token_type());
    assert_eq!(attr(&result, "value"), &Value::string("token-1"));
    assert!(opened.renew_at.is_some());
    assert_eq!(opened.private.as_deref(), Some(&b"open:1"[..]));

    let renewed = s
        .renew_ephemeral_resource(Request::new(pb::renew_ephemeral_resource::Request {
            type_name: TOKEN.into(),
            private: opened.private.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(renewed.diagnostics.is_empty(), "{:?}", renewed.diagnostics);
    assert_eq!(journal.only("renew").private, b"open:1");
    assert_eq!(renewed.private.as_deref(), Some(&b"renewed:1"[..]));
    assert!(renewed.renew_at.is_none(), "no further renewal");

    let closed = s
        .close_ephemeral_resource(Request::new(pb::close_ephemeral_resource::Request {
            type_name: TOKEN.into(),
            private: renewed.private.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(closed.diagnostics.is_empty(), "{:?}", closed.diagnostics);
    assert_eq!(journal.only("close").private, b"renewed:1");
}

#[tokio::test]
async fn list_validation_runs_the_list_rules_with_paths_under_config() {
    let (s, _) = service();
    let r = s
        .validate_list_resource_config(Request::new(pb::validate_list_resource_config::Request {
            type_name: THING.into(),
            config: Some(dv(
                &Value::object([("name_prefix", Value::string("a*"))]),
                &Type::object([("name_prefix", Type::String)]),
            )),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "Wildcard in name_prefix".to_string())]
    );
    assert_eq!(
        attribute_names(&r.diagnostics[0]),
        ["config", "name_prefix"]
    );
}

#[tokio::test]
async fn list_streams_one_event_per_item_with_identity() {
    let (s, _) = configured().await;
    for name in ["apple", "avocado", "banana"] {
        create_thing(&s, name).await;
    }
    let list_type = Type::object([("name_prefix", Type::String)]);
    let list = |prefix: &str, include: bool, limit: i64| {
        s.list_resource(Request::new(pb::list_resource::Request {
            type_name: THING.into(),
            config: Some(dv(
                &Value::object([("name_prefix", Value::string(prefix))]),
                &list_type,
            )),
            include_resource_object: include,
            limit,
        }))
    };
    let events: Vec<_> = list("a", true, 0)
        .await
        .unwrap()
        .into_inner()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let names: Vec<_> = events.iter().map(|e| e.display_name.as_str()).collect();
    assert_eq!(names, ["apple", "avocado"]);
    for e in &events {
        assert!(e.diagnostic.is_empty(), "{e:?}");
        assert!(identity_value(e.identity.as_ref()).is_known());
        let state = undv(e.resource_object.as_ref(), &thing_type());
        assert_eq!(attr(&state, "name"), &Value::string(&e.display_name));
    }

    let events: Vec<_> = list("", false, 1)
        .await
        .unwrap()
        .into_inner()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(events.len(), 1, "limit");
    assert!(events[0].resource_object.is_none());

    // Warnings travel with the first item: every event needs an identity.
    let events: Vec<_> = list("warn:a", false, 0)
        .await
        .unwrap()
        .into_inner()
        .map(|e| e.unwrap())
        .collect()
        .await;
    assert_eq!(events.len(), 2);
    assert_eq!(
        summaries(&events[0].diagnostic),
        [(WARNING, "Listed with a warning".to_string())]
    );
    assert!(events[1].diagnostic.is_empty());
    assert!(events.iter().all(|e| e.identity.is_some()));
    // With nothing listed there is no event to carry them.
    let events: Vec<_> = list("warn:zz", false, 0)
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert!(events.is_empty(), "{events:?}");
}
