//! A stand-in for OpenAI's official Terraform provider (`openai/openai`),
//! which cannot be downloaded here, for the guide on using both providers
//! in one configuration. It is shaped like the real one where the guide
//! relies on it: provider type `openai` (the same local name and resource
//! prefix as ours), the admin key from `OPENAI_ADMIN_KEY`, and a resource
//! `openai_project` (`name`; computed `id` and `project_id`) that creates the
//! project through the Admin API at `OPENAI_BASE_URL` (the emulator).
//! Deleting archives nothing: the emulator keeps the project, as OpenAI
//! keeps archived ones.

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
        vec![Box::new(Project)]
    }
}

struct Project;

#[async_trait]
impl Resource<Api> for Project {
    fn type_name(&self) -> &'static str {
        "openai_project"
    }

    fn schema(&self) -> Schema {
        Schema::new("A project.")
            .attribute(Attribute::required("name", Type::String))
            .attribute(Attribute::computed("id", Type::String))
            .attribute(Attribute::computed("project_id", Type::String))
    }

    async fn create(&self, api: &Api, req: CreateRequest) -> Result<CreateResponse, Diagnostics> {
        let name = attr(&req.planned, "name").as_str().unwrap_or_default();
        let reply = reqwest::Client::new()
            .post(format!("{}/organization/projects", api.base_url))
            .bearer_auth(&api.key)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| Diagnostic::error("Cannot create the project", e.to_string()))?;
        let project: serde_json::Value = reply
            .json()
            .await
            .map_err(|e| Diagnostic::error("Cannot read the project", e.to_string()))?;
        let id = project["id"].as_str().unwrap_or_default();
        let mut state = req.planned;
        set_attr(&mut state, "id", Value::string(id));
        set_attr(&mut state, "project_id", Value::string(id));
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
