//! A loopback stand-in for the official `openai/openai` provider, for the
//! acceptance test of `moved` blocks from its `openai_project_service_account`
//! into this provider's (`tests/acceptance/moved_from_official.rs`). The real
//! binary cannot be downloaded here. It serves what Terraform asks of a
//! source provider during a cross-provider move, the provider and resource
//! schemas, shaped like the published resource (schema version 0:
//! `project_id` and `name` required, `service_account_id`, `id` and
//! `created_at` computed); it makes no API call. Reads hand the state back
//! unchanged; creates, updates and deletes are refused.

use std::process::ExitCode;

use async_trait::async_trait;
use tfplugin::codec::Type;
use tfplugin::framework::{
    Attribute, ConfigureRequest, ConfigureResponse, CreateRequest, CreateResponse, DeleteRequest,
    DeleteResponse, Diagnostic, Diagnostics, ProviderService, ReadRequest, ReadResponse, Resource,
    Schema, UpdateRequest, UpdateResponse,
};
use tfplugin::{logging, plugin};

const ADDRESS: &str = "registry.terraform.io/openai/openai";

struct Official;

struct ServiceAccount;

fn refused() -> Diagnostics {
    Diagnostic::error(
        "Stand-in provider",
        "This stand-in for openai/openai serves schemas only; it changes nothing.",
    )
    .into()
}

#[async_trait]
impl Resource<()> for ServiceAccount {
    fn type_name(&self) -> &'static str {
        "openai_project_service_account"
    }

    fn schema(&self) -> Schema {
        Schema::new("Manage a project service account (stand-in).")
            .attribute(
                Attribute::required("project_id", Type::String)
                    .requires_replace()
                    .description("project id"),
            )
            .attribute(
                Attribute::computed("service_account_id", Type::String)
                    .use_state_for_unknown()
                    .description("service account id"),
            )
            .attribute(
                Attribute::computed("id", Type::String)
                    .use_state_for_unknown()
                    .description("id"),
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .requires_replace()
                    .description("name"),
            )
            .attribute(Attribute::computed("created_at", Type::Number).description("created at"))
    }

    async fn create(&self, _: &(), _: CreateRequest) -> Result<CreateResponse, Diagnostics> {
        Err(refused())
    }

    async fn read(&self, _: &(), req: ReadRequest) -> Result<ReadResponse, Diagnostics> {
        Ok(ReadResponse::new(Some(req.state)))
    }

    async fn update(&self, _: &(), _: UpdateRequest) -> Result<UpdateResponse, Diagnostics> {
        Err(refused())
    }

    async fn delete(&self, _: &(), _: DeleteRequest) -> Result<DeleteResponse, Diagnostics> {
        Err(refused())
    }
}

#[async_trait]
impl tfplugin::framework::Provider for Official {
    type Data = ();

    fn type_name(&self) -> &'static str {
        "openai"
    }

    fn schema(&self) -> Schema {
        Schema::new("Stand-in for the official OpenAI provider.")
    }

    async fn configure(&self, _: ConfigureRequest, resp: &mut ConfigureResponse<()>) {
        resp.data = Some(());
    }

    fn resources(&self) -> Vec<Box<dyn Resource<()>>> {
        vec![Box::new(ServiceAccount)]
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = plugin::check_magic_cookie(&plugin::PluginEnv::from_process(), ADDRESS) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    logging::init(logging::LogIdentity {
        name: "openai",
        targets: &["official_provider_standin"],
    });
    let config = plugin::ServeConfig {
        provider_address: ADDRESS.to_string(),
        debug: false,
    };
    match plugin::serve(ProviderService::new(Official), config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
