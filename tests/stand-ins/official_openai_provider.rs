//! A stand-in for OpenAI's official Terraform provider (`openai/openai`),
//! which cannot be downloaded here, for the guide on using both providers
//! in one configuration. It is shaped like the real one where the guide
//! relies on it: provider type `openai` (the same local name and resource
//! prefix as ours), the admin key from `OPENAI_ADMIN_KEY`, and two
//! resources that create through the Admin API at `OPENAI_BASE_URL` (the
//! emulator): `openai_project` (`name`; computed `id` and `project_id`) and
//! `openai_project_service_account` (`project_id`, `name`; computed `id`),
//! created without a role or an API key, as the official one documents.
//! Deleting is not needed by the guide and removes nothing.

use std::process::ExitCode;

use async_trait::async_trait;
use tfplugin::codec::{Type, Value};
use tfplugin::framework::*;
use tfplugin::plugin;

const ADDRESS: &str = "registry.terraform.io/openai/openai";

/// The Admin API base URL and key the resources use.
#[derive(Clone)]
struct Api {
    base_url: String,
    key: String,
}

struct OfficialProvider;

#[async_trait]
impl Provider for OfficialProvider {
    type Data = Api;

    fn type_name(&self) -> &'static str {
        "openai"
    }

    fn schema(&self) -> Schema {
        Schema::new("Stand-in for openai/openai.")
    }

    async fn configure(&self, _req: ConfigureRequest, resp: &mut ConfigureResponse<Api>) {
        let var = |name: &str| std::env::var(name).unwrap_or_default();
        resp.data = Some(Api {
            base_url: var("OPENAI_BASE_URL"),
            key: var("OPENAI_ADMIN_KEY"),
        });
    }

    fn resources(&self) -> Vec<Box<dyn Resource<Api>>> {
        vec![Box::new(Object::Project), Box::new(Object::ServiceAccount)]
    }
}

/// POSTs `body` to `path` below the Admin API and returns the new object's id.
async fn create_object(
    api: &Api,
    path: &str,
    body: serde_json::Value,
) -> Result<String, Diagnostics> {
    let reply = reqwest::Client::new()
        .post(format!("{}{path}", api.base_url))
        .bearer_auth(&api.key)
        .json(&body)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| Diagnostic::error("Cannot create the object", e.to_string()))?;
    let object: serde_json::Value = reply
        .json()
        .await
        .map_err(|e| Diagnostic::error("Cannot read the object", e.to_string()))?;
    Ok(object["id"].as_str().unwrap_or_default().to_string())
}

/// The two kinds of object the stand-in manages. Reads, updates and deletes
/// keep what Terraform has: the guide never changes or deletes them.
enum Object {
    Project,
    ServiceAccount,
}

#[async_trait]
impl Resource<Api> for Object {
    fn type_name(&self) -> &'static str {
        match self {
            Object::Project => "openai_project",
            Object::ServiceAccount => "openai_project_service_account",
        }
    }

    fn schema(&self) -> Schema {
        match self {
            Object::Project => Schema::new("A project.")
                .attribute(Attribute::required("name", Type::String))
                .attribute(Attribute::computed("id", Type::String))
                .attribute(Attribute::computed("project_id", Type::String)),
            Object::ServiceAccount => Schema::new("A project service account.")
                .attribute(Attribute::required("project_id", Type::String))
                .attribute(Attribute::required("name", Type::String))
                .attribute(Attribute::computed("id", Type::String)),
        }
    }

    async fn create(&self, api: &Api, req: CreateRequest) -> Result<CreateResponse, Diagnostics> {
        let text = |name| {
            attr(&req.planned, name)
                .as_str()
                .unwrap_or_default()
                .to_string()
        };
        let (path, body) = match self {
            Object::Project => (
                "/organization/projects".to_string(),
                serde_json::json!({ "name": text("name") }),
            ),
            Object::ServiceAccount => (
                format!(
                    "/organization/projects/{}/service_accounts",
                    text("project_id")
                ),
                serde_json::json!({ "name": text("name"), "create_service_account_only": true }),
            ),
        };
        let id = create_object(api, &path, body).await?;
        let mut state = req.planned;
        set_attr(&mut state, "id", Value::string(&id));
        if let Object::Project = self {
            set_attr(&mut state, "project_id", Value::string(&id));
        }
        Ok(CreateResponse::new(state))
    }

    async fn read(&self, _api: &Api, req: ReadRequest) -> Result<ReadResponse, Diagnostics> {
        Ok(ReadResponse::new(Some(req.state)))
    }

    async fn update(&self, _api: &Api, req: UpdateRequest) -> Result<UpdateResponse, Diagnostics> {
        Ok(UpdateResponse::new(req.planned))
    }

    async fn delete(&self, _api: &Api, _req: DeleteRequest) -> Result<DeleteResponse, Diagnostics> {
        Ok(DeleteResponse::new())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = plugin::check_magic_cookie(&plugin::PluginEnv::from_process(), ADDRESS) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let config = plugin::ServeConfig {
        provider_address: ADDRESS.to_string(),
        debug: false,
    };
    match plugin::serve(ProviderService::new(OfficialProvider), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
