//! Provider functions: listed by GetFunctions, GetProviderSchema and GetMetadata; called with
//! dynamic arguments; errors name the argument; a panic is a function error; a provider
//! without functions lists none.

use tfplugin::codec::{Type, Value};
use tfplugin::framework::ProviderService;
use tfplugin::proto::tfplugin6 as pb;
use tfplugin::proto::tfplugin6::provider_server::Provider as _;
use tonic::Request;

use crate::example::ExampleProvider;
use crate::support::{dv, service, undv};

async fn call(name: &str, args: &[(Value, Type)]) -> pb::call_function::Response {
    let (s, _) = service();
    s.call_function(Request::new(pb::call_function::Request {
        name: name.into(),
        arguments: args.iter().map(|(v, t)| dv(v, t)).collect(),
    }))
    .await
    .unwrap()
    .into_inner()
}

/// A value in a dynamic slot, as Terraform sends an argument of a dynamic parameter.
fn dynamic(ty: Type, v: Value) -> (Value, Type) {
    (Value::Dynamic(ty, Box::new(v)), Type::Dynamic)
}

#[tokio::test]
async fn functions_are_listed_everywhere_with_their_signatures() {
    let (s, _) = service();
    let listed = s
        .get_functions(Request::new(pb::get_functions::Request::default()))
        .await
        .unwrap()
        .into_inner()
        .functions;
    let mut names: Vec<_> = listed.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["boom", "echo", "keys"]);
    let keys = &listed["keys"];
    assert_eq!(keys.parameters.len(), 1);
    assert_eq!(keys.parameters[0].name, "object");
    assert_eq!(keys.parameters[0].r#type, br#""dynamic""#);
    assert!(!keys.parameters[0].allow_null_value);
    assert!(listed["echo"].parameters[0].allow_null_value);
    assert_eq!(
        keys.r#return.as_ref().unwrap().r#type,
        br#"["list","string"]"#
    );
    assert_eq!(keys.summary, "The keys of an object");

    let schema = s
        .get_provider_schema(Request::new(pb::get_provider_schema::Request::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(schema.functions, listed);
    let meta = s
        .get_metadata(Request::new(pb::get_metadata::Request::default()))
        .await
        .unwrap()
        .into_inner();
    let mut meta_names: Vec<_> = meta.functions.iter().map(|f| f.name.clone()).collect();
    meta_names.sort();
    assert_eq!(meta_names, names);
}

#[tokio::test]
async fn a_provider_without_functions_lists_none_and_calls_explain_themselves() {
    let s = ProviderService::new(ExampleProvider::without_functions());
    let r = s
        .get_functions(Request::new(pb::get_functions::Request::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(r.functions.is_empty() && r.diagnostics.is_empty());
    let schema = s
        .get_provider_schema(Request::new(pb::get_provider_schema::Request::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(schema.functions.is_empty());
    let r = s
        .call_function(Request::new(pb::call_function::Request {
            name: "keys".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(r.error.unwrap().text.contains("no function named \"keys\""));
}

#[tokio::test]
async fn dynamic_arguments_reach_the_function_with_their_type() {
    let obj = Type::object([("a", Type::Number), ("b", Type::Bool)]);
    let r = call(
        "keys",
        &[dynamic(
            obj,
            Value::object([("a", Value::Number(1.into())), ("b", Value::Bool(true))]),
        )],
    )
    .await;
    assert!(r.error.is_none(), "{:?}", r.error);
    assert_eq!(
        undv(r.result.as_ref(), &Type::list(Type::String)),
        Value::List(vec![Value::String("a".into()), Value::String("b".into())])
    );

    // A dynamic return carries its type back.
    let list = Type::list(Type::String);
    let r = call(
        "echo",
        &[dynamic(
            list.clone(),
            Value::List(vec![Value::String("x".into())]),
        )],
    )
    .await;
    assert_eq!(
        undv(r.result.as_ref(), &Type::Dynamic),
        Value::Dynamic(list, Box::new(Value::List(vec![Value::String("x".into())])))
    );
}

#[tokio::test]
async fn errors_name_the_argument() {
    let r = call("keys", &[dynamic(Type::String, Value::String("x".into()))]).await;
    let e = r.error.unwrap();
    assert_eq!(e.function_argument, Some(0));
    assert!(e.text.contains("must be an object"), "{e:?}");
    assert!(r.result.is_none());

    // Null where the parameter does not allow it: refused before the call.
    let r = call("keys", &[(Value::Null, Type::Dynamic)]).await;
    let e = r.error.unwrap();
    assert_eq!(e.function_argument, Some(0));
    assert!(e.text.contains("object must not be null"), "{e:?}");
    // Allowed: the function sees it.
    let r = call("echo", &[(Value::Null, Type::Dynamic)]).await;
    assert!(r.error.is_none(), "{:?}", r.error);

    // Wrong count.
    let r = call("keys", &[]).await;
    let e = r.error.unwrap();
    assert_eq!(e.function_argument, None);
    assert!(e.text.contains("takes 1 arguments, got 0"), "{e:?}");

    // Bytes that do not decode.
    let (s, _) = service();
    let r = s
        .call_function(Request::new(pb::call_function::Request {
            name: "keys".into(),
            arguments: vec![pb::DynamicValue {
                msgpack: vec![0xc1],
                json: vec![],
            }],
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.error.unwrap().function_argument, Some(0));
}

#[tokio::test]
async fn a_panic_is_a_function_error() {
    let r = call("boom", &[]).await;
    let e = r.error.unwrap();
    assert!(
        e.text.contains("internal error in function boom: boom"),
        "{e:?}"
    );
}
