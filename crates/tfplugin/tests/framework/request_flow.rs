//! What the request structs carry through a resource's life: config, prior
//! and planned values, private bytes and identity, from plan to apply to
//! read and back to plan, as Terraform hands them from one call to the next.

use tfplugin::codec::Value;
use tfplugin::framework::attr;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

use crate::example::THING;
use crate::support::*;

fn id_object(id: &str) -> Value {
    Value::object([("id", Value::string(id))])
}

async fn plan(
    s: &Service,
    prior: &Value,
    config: &Value,
    proposed: &Value,
    prior_private: &[u8],
    prior_identity: Option<pb::ResourceIdentityData>,
) -> pb::plan_resource_change::Response {
    let ty = thing_type();
    s.plan_resource_change(Request::new(pb::plan_resource_change::Request {
        type_name: THING.into(),
        prior_state: Some(dv(prior, &ty)),
        proposed_new_state: Some(dv(proposed, &ty)),
        config: Some(dv(config, &ty)),
        prior_private: prior_private.to_vec(),
        prior_identity,
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

/// Applies a plan the way Terraform does: its planned state, private bytes
/// and identity go to apply unchanged.
async fn apply(
    s: &Service,
    prior: &Value,
    config: &Value,
    plan: &pb::plan_resource_change::Response,
) -> pb::apply_resource_change::Response {
    let ty = thing_type();
    s.apply_resource_change(Request::new(pb::apply_resource_change::Request {
        type_name: THING.into(),
        prior_state: Some(dv(prior, &ty)),
        planned_state: plan.planned_state.clone(),
        config: Some(dv(config, &ty)),
        planned_private: plan.planned_private.clone(),
        planned_identity: plan.planned_identity.clone(),
        ..Default::default()
    }))
    .await
    .unwrap()
    .into_inner()
}

async fn create(s: &Service, name: &str) -> pb::apply_resource_change::Response {
    let config = thing(None, name, None);
    let p = plan(s, &Value::Null, &config, &config, &[], None).await;
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    apply(s, &Value::Null, &config, &p).await
}

#[tokio::test]
async fn private_bytes_and_identity_travel_from_plan_to_apply_to_read_and_back() {
    let (s, journal) = configured().await;
    let ty = thing_type();

    // Plan a create: the resource sees the config, no prior object, no
    // private bytes, no identity; the bytes it plans come back to Terraform.
    let config = thing(None, "a", Some("first"));
    let p1 = plan(&s, &Value::Null, &config, &config, &[], None).await;
    assert!(p1.diagnostics.is_empty(), "{:?}", p1.diagnostics);
    assert_eq!(p1.planned_private, b"plan:a");
    assert!(
        p1.planned_identity.is_none(),
        "a new object's identity is unknown"
    );
    let planned = undv(p1.planned_state.as_ref(), &ty);
    assert_eq!(attr(&planned, "id"), &Value::Unknown);
    let seen = journal.only("plan");
    assert_eq!(seen.config, config);
    assert!(seen.prior.is_null());
    assert!(seen.private.is_empty());
    assert_eq!(seen.identity, None);

    // Apply it: create gets the config, the planned value and the private
    // bytes set at plan; its own private bytes and the identity are stored.
    let a1 = apply(&s, &Value::Null, &config, &p1).await;
    assert!(a1.diagnostics.is_empty(), "{:?}", a1.diagnostics);
    let seen = journal.only("create");
    assert_eq!(seen.config, config);
    assert_eq!(seen.planned, planned);
    assert_eq!(seen.private, b"plan:a");
    assert_eq!(seen.identity, None);
    let state = thing(Some("t1"), "a", Some("first"));
    assert_eq!(undv(a1.new_state.as_ref(), &ty), state);
    assert_eq!(a1.private, b"created:t1");
    assert_eq!(identity_value(a1.new_identity.as_ref()), id_object("t1"));

    // Refresh: read gets the state, the private bytes set at apply and the
    // identity; as it leaves the bytes alone, they are carried over.
    let r = s
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: THING.into(),
            current_state: a1.new_state.clone(),
            private: a1.private.clone(),
            current_identity: a1.new_identity.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let seen = journal.only("read");
    assert_eq!(seen.prior, state);
    assert_eq!(seen.private, b"created:t1");
    assert_eq!(seen.identity, Some(id_object("t1")));
    assert_eq!(undv(r.new_state.as_ref(), &ty), state);
    assert_eq!(r.private, b"created:t1");
    assert_eq!(identity_value(r.new_identity.as_ref()), id_object("t1"));

    // Plan an update: the prior state, its private bytes and identity reach
    // the plan; the id stays known (use_state_for_unknown).
    let config2 = thing(None, "b", Some("first"));
    let proposed = thing(Some("t1"), "b", Some("first"));
    let p2 = plan(
        &s,
        &state,
        &config2,
        &proposed,
        &r.private,
        r.new_identity.clone(),
    )
    .await;
    assert!(p2.diagnostics.is_empty(), "{:?}", p2.diagnostics);
    let seen = journal.calls("plan").remove(1);
    assert_eq!(seen.config, config2);
    assert_eq!(seen.prior, state);
    assert_eq!(seen.private, b"created:t1");
    assert_eq!(seen.identity, Some(id_object("t1")));
    assert!(p2.requires_replace.is_empty());
    assert_eq!(undv(p2.planned_state.as_ref(), &ty), proposed);
    assert_eq!(p2.planned_private, b"plan:b");
    assert_eq!(
        identity_value(p2.planned_identity.as_ref()),
        id_object("t1")
    );

    // Apply the update: all of it reaches update; update sets no private
    // bytes, so the planned ones are stored.
    let a2 = apply(&s, &state, &config2, &p2).await;
    assert!(a2.diagnostics.is_empty(), "{:?}", a2.diagnostics);
    let seen = journal.only("update");
    assert_eq!(seen.config, config2);
    assert_eq!(seen.prior, state);
    assert_eq!(seen.planned, proposed);
    assert_eq!(seen.private, b"plan:b");
    assert_eq!(seen.identity, Some(id_object("t1")));
    assert_eq!(undv(a2.new_state.as_ref(), &ty), proposed);
    assert_eq!(a2.private, b"plan:b");

    // Destroy: the plan is null and keeps the private bytes; delete gets the
    // prior object, those bytes and the identity Terraform sends.
    let p3 = plan(
        &s,
        &proposed,
        &Value::Null,
        &Value::Null,
        &a2.private,
        a2.new_identity.clone(),
    )
    .await;
    assert!(p3.diagnostics.is_empty(), "{:?}", p3.diagnostics);
    assert!(undv(p3.planned_state.as_ref(), &ty).is_null());
    assert_eq!(p3.planned_private, b"plan:b");
    let seen = journal.calls("plan").remove(2);
    assert!(seen.config.is_null());
    assert_eq!(seen.prior, proposed);
    let destroy = pb::plan_resource_change::Response {
        planned_identity: a2.new_identity.clone(),
        ..p3
    };
    let a3 = apply(&s, &proposed, &Value::Null, &destroy).await;
    assert!(a3.diagnostics.is_empty(), "{:?}", a3.diagnostics);
    let seen = journal.only("delete");
    assert_eq!(seen.prior, proposed);
    assert_eq!(seen.private, b"plan:b");
    assert_eq!(seen.identity, Some(id_object("t1")));
    assert!(undv(a3.new_state.as_ref(), &ty).is_null());
    assert!(a3.new_identity.is_none());
    assert!(journal.thing("t1").is_none());
}

#[tokio::test]
async fn a_successful_call_can_warn() {
    let (s, _) = configured().await;
    let a = create(&s, "warn").await;
    assert_eq!(
        summaries(&a.diagnostics),
        [(WARNING, "Created with a warning".to_string())]
    );
    let state = undv(a.new_state.as_ref(), &thing_type());
    assert_eq!(attr(&state, "id"), &Value::string("t1"));
    assert_eq!(a.private, b"created:t1");
}

#[tokio::test]
async fn failed_creates_report_what_exists() {
    let (s, journal) = configured().await;
    // Err: nothing was created, so the new state is null.
    let a = create(&s, "fail").await;
    assert_eq!(
        summaries(&a.diagnostics),
        [(ERROR, "Create refused".to_string())]
    );
    assert!(undv(a.new_state.as_ref(), &thing_type()).is_null());
    assert!(a.new_identity.is_none());

    // Ok with an error: the object exists, and Terraform keeps it (tainted).
    let a = create(&s, "half").await;
    assert_eq!(
        summaries(&a.diagnostics),
        [(ERROR, "Half created".to_string())]
    );
    let state = undv(a.new_state.as_ref(), &thing_type());
    assert_eq!(attr(&state, "id"), &Value::string("t1"));
    assert_eq!(identity_value(a.new_identity.as_ref()), id_object("t1"));
    assert!(journal.thing("t1").is_some());
}

#[tokio::test]
async fn a_panicking_resource_becomes_an_error_diagnostic() {
    let (s, _) = configured().await;
    let a = create(&s, "panic").await;
    assert_eq!(a.diagnostics.len(), 1, "{:?}", a.diagnostics);
    assert_eq!(a.diagnostics[0].summary, "Provider internal error");
    assert!(
        a.diagnostics[0].detail.contains("ApplyResourceChange"),
        "{:?}",
        a.diagnostics[0]
    );
    // The service still answers.
    let a = create(&s, "after").await;
    assert!(a.diagnostics.is_empty(), "{:?}", a.diagnostics);
}

#[tokio::test]
async fn reading_a_vanished_object_reports_null_without_identity() {
    let (s, _) = configured().await;
    let ty = thing_type();
    let r = s
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: THING.into(),
            current_state: Some(dv(&thing(Some("t9"), "gone", None), &ty)),
            private: b"kept".to_vec(),
            current_identity: Some(identity("t9")),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert!(undv(r.new_state.as_ref(), &ty).is_null());
    assert!(r.new_identity.is_none());
}

#[tokio::test]
async fn before_configure_read_reports_the_state_unchanged() {
    let (s, journal) = service();
    let ty = thing_type();
    let state = thing(Some("t1"), "a", None);
    let r = s
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: THING.into(),
            current_state: Some(dv(&state, &ty)),
            private: b"kept".to_vec(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(undv(r.new_state.as_ref(), &ty), state);
    assert_eq!(r.private, b"kept");
    assert!(journal.calls("read").is_empty());
}

#[tokio::test]
async fn import_by_id_and_by_identity() {
    let (s, _) = configured().await;
    let ty = thing_type();
    let r = s
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: THING.into(),
            id: "t7".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let [imported] = r.imported_resources.as_slice() else {
        panic!("one imported resource: {r:?}")
    };
    assert_eq!(imported.type_name, THING);
    let stub = undv(imported.state.as_ref(), &ty);
    assert_eq!(attr(&stub, "id"), &Value::string("t7"));
    assert!(attr(&stub, "name").is_null());
    assert!(imported.private.is_empty());
    assert_eq!(identity_value(imported.identity.as_ref()), id_object("t7"));

    let r = s
        .import_resource_state(Request::new(pb::import_resource_state::Request {
            type_name: THING.into(),
            identity: Some(identity("t8")),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let imported = &r.imported_resources[0];
    assert_eq!(
        attr(&undv(imported.state.as_ref(), &ty), "id"),
        &Value::string("t8")
    );
    assert_eq!(imported.private, b"by-identity");
    assert_eq!(identity_value(imported.identity.as_ref()), id_object("t8"));
}

#[tokio::test]
async fn stored_states_of_the_current_version_upgrade_and_others_explain_themselves() {
    let (s, _) = configured().await;
    let upgrade = |version: i64| {
        s.upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: THING.into(),
            version,
            raw_state: Some(pb::RawState {
                // An attribute the schema no longer has is dropped.
                json: br#"{"id":"t1","name":"a","note":null,"gone":1}"#.to_vec(),
                ..Default::default()
            }),
        }))
    };
    let r = upgrade(0).await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    assert_eq!(
        undv(r.upgraded_state.as_ref(), &thing_type()),
        thing(Some("t1"), "a", None)
    );

    let r = upgrade(3).await.unwrap().into_inner();
    assert_eq!(
        summaries(&r.diagnostics),
        [(ERROR, "Cannot upgrade example_thing state".to_string())]
    );
    assert!(
        r.diagnostics[0].detail.contains("schema version 3"),
        "{:?}",
        r.diagnostics
    );
}

#[tokio::test]
async fn stop_provider_reaches_the_provider_with_its_configured_data() {
    use tfplugin::proto::tfplugin6::provider_server::Provider as _;

    let (unconfigured, journal) = crate::support::service();
    unconfigured
        .stop_provider(tonic::Request::new(Default::default()))
        .await
        .unwrap();
    let calls = journal.calls("stop");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].config, tfplugin::codec::Value::Bool(false));

    let (configured, journal) = crate::support::configured().await;
    let r = configured
        .stop_provider(tonic::Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.is_empty(), "{}", r.error);
    let calls = journal.calls("stop");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].config, tfplugin::codec::Value::Bool(true));
}

/// The create half of a replacement carries the replaced object's identity
/// (Terraform 1.12+); OpenTofu sends an identity whose attributes are all
/// null instead, which names no object and must read as none.
#[tokio::test]
async fn an_all_null_prior_identity_is_no_identity() {
    let (s, journal) = configured().await;
    let ident = |v: &Value| pb::ResourceIdentityData {
        identity_data: Some(dv(v, &identity_type())),
    };
    let config = thing(None, "a", None);
    let p = plan(
        &s,
        &Value::Null,
        &config,
        &config,
        &[],
        Some(ident(&Value::object([("id", Value::Null)]))),
    )
    .await;
    assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
    assert_eq!(journal.only("plan").identity, None);

    let (s, journal) = configured().await;
    plan(
        &s,
        &Value::Null,
        &config,
        &config,
        &[],
        Some(ident(&id_object("t9"))),
    )
    .await;
    assert_eq!(journal.only("plan").identity, Some(id_object("t9")));
}
