//! `example`: a tiny in-memory provider with one object of each kind, for
//! driving the framework through its gRPC service in process. Every call
//! writes what its request carried to a [`Journal`] the test can read.
//!
//! - `example_thing` (resource): `id` (computed), `name` (required), `note`
//!   (optional). Identity `{ id }`, import by ID and identity, listable.
//!   Its plan sets the private bytes `plan:<name>`, its create `created:<id>`;
//!   update and read leave them as they came. A name picks a misbehaviour:
//!   `fail` (create fails), `warn` (create succeeds with a warning),
//!   `half` (create fails but reports the object), `panic`. A list
//!   `name_prefix` starting with `warn:` lists with a warning.
//! - `example_lookup` (data source): finds a thing by `name`.
//! - `example_token` (ephemeral): `value`; private bytes `open:<n>`, then
//!   `renewed:<n>`.
//! - functions (unless built with [`ExampleProvider::without_functions`]):
//!   `keys(object)` (the keys of a dynamic object or map, an error naming the
//!   argument otherwise), `echo(value)` (any value back, null allowed) and
//!   `boom()` (panics).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tfplugin::codec::{Path, Type, Value};
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::*;

pub const THING: &str = "example_thing";
pub const LOOKUP: &str = "example_lookup";
pub const TOKEN: &str = "example_token";
pub const COUNTDOWN: &str = "example_countdown";

/// What one call's request carried.
#[derive(Clone, Debug)]
pub struct Call {
    pub op: &'static str,
    pub config: Value,
    pub prior: Value,
    pub planned: Value,
    pub private: Vec<u8>,
    pub identity: Option<Value>,
}

impl Call {
    fn new(op: &'static str) -> Self {
        Call {
            op,
            config: Value::Null,
            prior: Value::Null,
            planned: Value::Null,
            private: Vec::new(),
            identity: None,
        }
    }
}

/// The provider's "remote API" and the record of every call.
#[derive(Default)]
pub struct Journal {
    calls: Mutex<Vec<Call>>,
    things: Mutex<BTreeMap<String, Value>>,
    next_id: AtomicU64,
}

impl Journal {
    fn record(&self, call: Call) {
        self.calls.lock().unwrap().push(call);
    }

    /// The calls of one kind (`plan`, `create`, `read`, ...), oldest first.
    pub fn calls(&self, op: &str) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.op == op)
            .cloned()
            .collect()
    }

    /// The one call of a kind; panics unless there is exactly one.
    pub fn only(&self, op: &str) -> Call {
        let calls = self.calls(op);
        assert_eq!(calls.len(), 1, "{op} calls: {calls:?}");
        calls.into_iter().next().unwrap()
    }

    pub fn thing(&self, id: &str) -> Option<Value> {
        self.things.lock().unwrap().get(id).cloned()
    }
}

pub struct ExampleProvider {
    pub journal: Arc<Journal>,
    pub offer_functions: bool,
}

impl ExampleProvider {
    pub fn new() -> (Self, Arc<Journal>) {
        let journal = Arc::new(Journal::default());
        (
            ExampleProvider {
                journal: journal.clone(),
                offer_functions: true,
            },
            journal,
        )
    }
}

tfplugin::model! {
    /// The provider block.
    pub struct ProviderConfig {
        pub greeting: Field<String>,
    }
}

tfplugin::model! {
    /// `example_thing`.
    pub struct ThingModel {
        pub id: Field<String>,
        pub name: Field<String>,
        pub note: Field<String>,
    }
}

tfplugin::model! {
    /// `example_thing`'s identity.
    pub struct ThingIdentity {
        pub id: Field<String>,
    }
}

tfplugin::model! {
    /// The list block of `example_thing`.
    pub struct ThingList {
        pub name_prefix: Field<String>,
    }
}

tfplugin::model! {
    /// `example_lookup`.
    pub struct LookupModel {
        pub name: Field<String>,
        pub id: Field<String>,
    }
}

tfplugin::model! {
    /// `example_token`.
    pub struct TokenModel {
        pub value: Field<String>,
    }
}

tfplugin::model! {
    /// `example_countdown`.
    pub struct CountdownConfig {
        pub from: Field<i64>,
    }
}

/// A thing's model; a value that is none reads as an empty thing.
fn thing(v: &Value) -> ThingModel {
    ThingModel::from_value(v).unwrap_or_default()
}

impl ExampleProvider {
    pub fn without_functions() -> Self {
        ExampleProvider {
            offer_functions: false,
            ..ExampleProvider::new().0
        }
    }
}

struct Keys;
struct Echo;
struct Boom;

impl Function for Keys {
    fn name(&self) -> &'static str {
        "keys"
    }
    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("object", Type::Dynamic, "An object or map.")],
            returns: Type::list(Type::String),
            summary: "The keys of an object",
            description: "Returns the keys of `object`, sorted.",
        }
    }
    fn call(&self, args: Vec<Value>) -> Result<Value, FunctionError> {
        match &args[0] {
            Value::Dynamic(_, v) => match v.as_ref() {
                Value::Object(m) | Value::Map(m) => Ok(Value::List(
                    m.keys().map(|k| Value::String(k.clone())).collect(),
                )),
                _ => Err(FunctionError::argument(
                    0,
                    "object must be an object or a map",
                )),
            },
            other => panic!("a dynamic parameter gave {other:?}"),
        }
    }
}

impl Function for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }
    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![Parameter::new("value", Type::Dynamic, "Anything.").allow_null()],
            returns: Type::Dynamic,
            summary: "Its argument",
            description: "Returns `value` unchanged.",
        }
    }
    fn call(&self, mut args: Vec<Value>) -> Result<Value, FunctionError> {
        Ok(args.remove(0))
    }
}

impl Function for Boom {
    fn name(&self) -> &'static str {
        "boom"
    }
    fn signature(&self) -> Signature {
        Signature {
            parameters: vec![],
            returns: Type::Bool,
            summary: "Panics",
            description: "Never returns.",
        }
    }
    fn call(&self, _args: Vec<Value>) -> Result<Value, FunctionError> {
        panic!("boom")
    }
}

#[async_trait]
impl Provider for ExampleProvider {
    type Data = Arc<Journal>;

    fn type_name(&self) -> &'static str {
        "example"
    }

    fn schema(&self) -> Schema {
        Schema::new("The example provider.").attribute(
            Attribute::optional(ProviderConfig::greeting, Type::String)
                .description("Any text.")
                .not_empty("Set it to some text, or leave it out."),
        )
    }

    async fn stop(&self, data: Option<&Arc<Journal>>) {
        // `config` records whether the configured data reached the hook.
        let mut call = Call::new("stop");
        call.config = Value::Bool(data.is_some());
        self.journal.record(call);
    }

    async fn configure(&self, req: ConfigureRequest, resp: &mut ConfigureResponse<Arc<Journal>>) {
        let mut call = Call::new("configure");
        call.config = req.config.clone();
        self.journal.record(call);
        if !req.config.is_wholly_known() {
            return;
        }
        if req.terraform_version.is_empty() {
            resp.diagnostics.warning(
                "No Terraform version",
                "The client did not say its version.",
            );
        }
        resp.data = Some(self.journal.clone());
    }

    fn resources(&self) -> Vec<Box<dyn Resource<Arc<Journal>>>> {
        vec![Box::new(Thing)]
    }

    fn data_sources(&self) -> Vec<Box<dyn DataSource<Arc<Journal>>>> {
        vec![Box::new(Lookup)]
    }

    fn ephemeral_resources(&self) -> Vec<Box<dyn EphemeralResource<Arc<Journal>>>> {
        vec![Box::new(Token)]
    }

    fn actions(&self) -> Vec<Box<dyn Action<Arc<Journal>>>> {
        vec![Box::new(Countdown)]
    }

    fn functions(&self) -> Vec<Box<dyn Function>> {
        if !self.offer_functions {
            return Vec::new();
        }
        vec![Box::new(Keys), Box::new(Echo), Box::new(Boom)]
    }
}

pub fn thing_schema() -> Schema {
    Schema::new("A thing kept in memory.")
        .attribute(Attribute::computed(ThingModel::id, Type::String).use_state_for_unknown())
        .attribute(
            Attribute::required(ThingModel::name, Type::String).not_empty("Give the thing a name."),
        )
        .attribute(Attribute::optional(ThingModel::note, Type::String))
}

pub fn thing_identity() -> IdentitySchema {
    IdentitySchema::default().required(ThingIdentity::id, "The thing's id.")
}

struct Thing;

#[async_trait]
impl Resource<Arc<Journal>> for Thing {
    fn type_name(&self) -> &'static str {
        THING
    }

    fn schema(&self) -> Schema {
        thing_schema()
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(thing_identity())
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let id = thing(state).id.into_known()?;
        Some(
            ThingIdentity {
                id: Field::Known(id),
            }
            .to_value(),
        )
    }

    async fn modify_plan(&self, data: Option<&Arc<Journal>>, plan: &mut PlanCtx) {
        let Some(journal) = data else { return };
        journal.record(Call {
            op: "plan",
            config: plan.config.clone(),
            prior: plan.prior.clone(),
            planned: plan.planned.clone(),
            private: plan.prior_private.clone(),
            identity: plan.prior_identity.clone(),
        });
        if let Some(name) = thing(&plan.planned).name.known() {
            plan.planned_private = format!("plan:{name}").into_bytes();
        }
    }

    async fn create(
        &self,
        data: &Arc<Journal>,
        req: CreateRequest,
    ) -> Result<CreateResponse, Diagnostics> {
        data.record(Call {
            op: "create",
            config: req.config.clone(),
            planned: req.planned.clone(),
            private: req.private.clone(),
            identity: req.identity.clone(),
            ..Call::new("create")
        });
        let mut created = ThingModel::from_value(&req.planned)?;
        let name = created.name.or_empty().to_string();
        if name == "fail" {
            return Err(
                Diagnostic::error("Create refused", "The name `fail` always fails.").into(),
            );
        }
        if name == "panic" {
            panic!("the name `panic` panics");
        }
        let id = format!("t{}", data.next_id.fetch_add(1, Ordering::Relaxed) + 1);
        created.id = Field::Known(id.clone());
        let state = created.to_value();
        data.things
            .lock()
            .unwrap()
            .insert(id.clone(), state.clone());
        let resp = CreateResponse::new(state).with_private(format!("created:{id}").into_bytes());
        let mut diags = Diagnostics::new();
        match name.as_str() {
            "warn" => diags.warning("Created with a warning", "The name `warn` always warns."),
            "half" => diags.error("Half created", "The object exists but is not finished."),
            _ => {}
        }
        Ok(resp.with_diagnostics(diags))
    }

    async fn read(
        &self,
        data: &Arc<Journal>,
        req: ReadRequest,
    ) -> Result<ReadResponse, Diagnostics> {
        data.record(Call {
            prior: req.state.clone(),
            private: req.private.clone(),
            identity: req.identity.clone(),
            ..Call::new("read")
        });
        let id = thing(&req.state).id.or_empty().to_string();
        Ok(ReadResponse::new(data.thing(&id)))
    }

    async fn update(
        &self,
        data: &Arc<Journal>,
        req: UpdateRequest,
    ) -> Result<UpdateResponse, Diagnostics> {
        data.record(Call {
            op: "update",
            config: req.config.clone(),
            prior: req.prior.clone(),
            planned: req.planned.clone(),
            private: req.private.clone(),
            identity: req.identity.clone(),
        });
        let id = thing(&req.prior).id.or_empty().to_string();
        data.things.lock().unwrap().insert(id, req.planned.clone());
        Ok(UpdateResponse::new(req.planned))
    }

    async fn delete(
        &self,
        data: &Arc<Journal>,
        req: DeleteRequest,
    ) -> Result<DeleteResponse, Diagnostics> {
        data.record(Call {
            prior: req.prior.clone(),
            private: req.private.clone(),
            identity: req.identity.clone(),
            ..Call::new("delete")
        });
        let id = thing(&req.prior).id.or_empty().to_string();
        data.things.lock().unwrap().remove(&id);
        Ok(DeleteResponse::new())
    }

    async fn import(
        &self,
        _data: &Arc<Journal>,
        req: ImportRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        Ok(ImportResponse::new(
            ThingModel {
                id: Field::Known(req.id),
                ..ThingModel::default()
            }
            .to_value(),
        ))
    }

    async fn import_by_identity(
        &self,
        data: &Arc<Journal>,
        req: ImportByIdentityRequest,
    ) -> Result<ImportResponse, Diagnostics> {
        let id = ThingIdentity::from_value(&req.identity)?.id;
        let imported = self.import(data, ImportRequest::new(id.or_empty())).await?;
        Ok(imported.with_private(b"by-identity".to_vec()))
    }

    fn supports_list(&self) -> bool {
        true
    }

    fn list_schema(&self) -> Schema {
        Schema::new("Lists things.")
            .attribute(Attribute::optional(ThingList::name_prefix, Type::String))
    }

    fn list_config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &ThingList, diags| {
            if config
                .name_prefix
                .as_deref()
                .is_some_and(|p| p.contains('*'))
            {
                diags.attribute_error(
                    Path::root().attr(ThingList::name_prefix),
                    "Wildcard in name_prefix",
                    "name_prefix is matched literally; remove the `*`.",
                );
            }
        })
    }

    async fn list(
        &self,
        data: &Arc<Journal>,
        req: ListRequest,
    ) -> Result<ListResponse, Diagnostics> {
        let config = ThingList::from_value(&req.config)?;
        let prefix = config.name_prefix.or_empty();
        let mut diags = Diagnostics::new();
        let prefix = match prefix.strip_prefix("warn:") {
            Some(rest) => {
                diags.warning("Listed with a warning", "The prefix `warn:` always warns.");
                rest
            }
            None => prefix,
        };
        let items = data
            .things
            .lock()
            .unwrap()
            .values()
            .filter(|t| thing(t).name.or_empty().starts_with(prefix))
            .map(|t| {
                ListedItem::new(
                    thing(t).name.or_empty(),
                    self.identity_of(t).unwrap(),
                    t.clone(),
                )
            })
            .collect();
        Ok(ListResponse::new(items).with_diagnostics(diags))
    }
}

struct Lookup;

#[async_trait]
impl DataSource<Arc<Journal>> for Lookup {
    fn type_name(&self) -> &'static str {
        LOOKUP
    }

    fn schema(&self) -> Schema {
        Schema::new("Finds a thing by name.")
            .attribute(Attribute::required(LookupModel::name, Type::String))
            .attribute(Attribute::computed(LookupModel::id, Type::String))
    }

    async fn read(
        &self,
        data: &Arc<Journal>,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let mut lookup = LookupModel::from_value(&req.config)?;
        let name = lookup.name.or_empty().to_string();
        let found = data
            .things
            .lock()
            .unwrap()
            .iter()
            .find(|(_, t)| thing(t).name.known() == Some(&name))
            .map(|(id, _)| id.clone());
        let Some(id) = found else {
            return Err(
                Diagnostic::error("No such thing", format!("No thing is named {name:?}."))
                    .at(Path::root().attr(LookupModel::name))
                    .into(),
            );
        };
        lookup.id = Field::Known(id);
        Ok(ReadDataSourceResponse::new(lookup.to_value()))
    }
}

struct Token;

#[async_trait]
impl EphemeralResource<Arc<Journal>> for Token {
    fn type_name(&self) -> &'static str {
        TOKEN
    }

    fn schema(&self) -> Schema {
        Schema::new("A short-lived value.")
            .attribute(Attribute::computed(TokenModel::value, Type::String).sensitive())
    }

    async fn open(
        &self,
        data: &Arc<Journal>,
        req: OpenRequest,
    ) -> Result<OpenResponse, Diagnostics> {
        let n = data.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let mut token = TokenModel::from_value(&req.config)?;
        token.value = Field::Known(format!("token-{n}"));
        Ok(OpenResponse::new(token.to_value())
            .with_renew_at(SystemTime::now() + Duration::from_secs(60))
            .with_private(format!("open:{n}").into_bytes()))
    }

    async fn renew(
        &self,
        data: &Arc<Journal>,
        req: RenewRequest,
    ) -> Result<RenewResponse, Diagnostics> {
        data.record(Call {
            private: req.private.clone(),
            ..Call::new("renew")
        });
        let n = String::from_utf8_lossy(&req.private).replace("open:", "");
        Ok(RenewResponse::new().with_private(format!("renewed:{n}").into_bytes()))
    }

    async fn close(
        &self,
        data: &Arc<Journal>,
        req: CloseRequest,
    ) -> Result<CloseResponse, Diagnostics> {
        data.record(Call {
            private: req.private,
            ..Call::new("close")
        });
        Ok(CloseResponse::new())
    }
}

/// An action that reports `from`, `from - 1`, ... `1` as progress and then
/// succeeds, or fails when `from` is 0.
struct Countdown;

#[async_trait]
impl Action<Arc<Journal>> for Countdown {
    fn type_name(&self) -> &'static str {
        COUNTDOWN
    }

    fn schema(&self) -> Schema {
        Schema::new("Counts down.")
            .attribute(Attribute::required(CountdownConfig::from, Type::Number))
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &CountdownConfig, diags| {
            if config.from.known().is_some_and(|n| *n < 0) {
                diags.attribute_error(
                    Path::root().attr(CountdownConfig::from),
                    "Negative from",
                    "from must be 0 or more.",
                );
            }
        })
    }

    async fn plan(
        &self,
        data: Option<&Arc<Journal>>,
        _req: PlanActionRequest,
        resp: &mut PlanActionResponse,
    ) {
        if data.is_none() {
            resp.diagnostics.warning(
                "Planned unconfigured",
                "The provider was not configured yet.",
            );
        }
    }

    async fn invoke(
        &self,
        data: &Arc<Journal>,
        req: InvokeActionRequest,
        progress: Progress,
    ) -> Result<InvokeActionResponse, Diagnostics> {
        data.record(Call::new("invoke"));
        let from = CountdownConfig::from_value(&req.config)?
            .from
            .into_known()
            .unwrap_or(0);
        if from == 0 {
            return Err(Diagnostic::error("Nothing to count", "from is 0.")
                .at(Path::root().attr(CountdownConfig::from))
                .into());
        }
        for n in (1..=from).rev() {
            progress.report(format!("{n}"));
            tokio::task::yield_now().await;
        }
        Ok(InvokeActionResponse::new())
    }
}

#[test]
fn the_example_models_agree_with_their_schemas() {
    use tfplugin::framework::model::schema_mismatches;
    let (p, _) = ExampleProvider::new();
    let none = Vec::<String>::new();
    assert_eq!(schema_mismatches::<ProviderConfig>(&p.schema()), none);
    assert_eq!(schema_mismatches::<ThingModel>(&thing_schema()), none);
    assert_eq!(schema_mismatches::<ThingList>(&Thing.list_schema()), none);
    assert_eq!(schema_mismatches::<LookupModel>(&Lookup.schema()), none);
    assert_eq!(schema_mismatches::<TokenModel>(&Token.schema()), none);
    assert_eq!(
        schema_mismatches::<CountdownConfig>(&Countdown.schema()),
        none
    );
}
