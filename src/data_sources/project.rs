//! Data source `openai_project`: one project of the organization, by id or
//! by name. Names are not unique in OpenAI, so a name matching several
//! projects is an error that lists their ids.

use async_trait::async_trait;

use super::lookup::{self, Key};
use crate::OpenAi;
use crate::errors::api_error;
use crate::values::{int, object, string};
use openai_admin::models::Project;
use tfplugin::codec::{Type, Value};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema, ValidateRequest, ValidateResponse,
};

pub const TYPE_NAME: &str = "openai_project";

const WHAT: &str = "project";

pub struct ProjectDataSource;

pub fn schema() -> Schema {
    Schema::new(
        "An existing project, looked up by `id` or by `name` (set exactly one). A lookup by \
         name searches active projects and fails if several share the name.",
    )
    .attribute(
        Attribute::optional_computed("id", Type::String)
            .description("The project's id (`proj_...`). Set this or `name`."),
    )
    .attribute(
        Attribute::optional_computed("name", Type::String)
            .description("The project's name. Set this or `id`."),
    )
    .attribute(
        Attribute::computed("status", Type::String)
            .description("The project's status: `active` or `archived`."),
    )
    .attribute(
        Attribute::computed("created_at", Type::Number).description("Creation time, Unix seconds."),
    )
}

fn state(p: &Project) -> Value {
    object([
        ("id", string(&p.id)),
        ("name", string(&p.name)),
        ("status", string(&p.status)),
        ("created_at", int(p.created_at)),
    ])
}

#[async_trait]
impl DataSource<OpenAi> for ProjectDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        lookup::validate_key(config, WHAT, diags);
    }

    async fn read(
        &self,
        data: &OpenAi,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = &req.config;
        let key = lookup::key(config, WHAT)?;
        let client = data.client()?;
        let within = "in the organization";
        let project = match key {
            Key::Id(id) => match client.get_project(id).await {
                Ok(p) => p,
                Err(e) if e.is_not_found() => return Err(key.not_found(WHAT, within)),
                Err(e) => return Err(api_error("read the project", &e, &[])),
            },
            Key::Name(name) => {
                let mut matches: Vec<Project> = client
                    .list_all_projects()
                    .await
                    .map_err(|e| api_error("list projects", &e, &[]))?
                    .into_iter()
                    .filter(|p| p.name == name)
                    .collect();
                match matches.len() {
                    0 => {
                        return Err(key.not_found(WHAT, "among the organization's active projects"));
                    }
                    1 => matches.remove(0),
                    _ => return Err(ambiguous(name, &matches)),
                }
            }
        };
        Ok(ReadDataSourceResponse::new(state(&project)))
    }
}

fn ambiguous(name: &str, matches: &[Project]) -> Diagnostics {
    let ids: Vec<&str> = matches.iter().map(|p| p.id.as_str()).collect();
    Diagnostic::error(
        "Several projects match",
        format!(
            "{} projects are named {name:?} ({}). Look the project up by id instead.",
            matches.len(),
            ids.join(", ")
        ),
    )
    .at(tfplugin::codec::Path::root().attr("name"))
    .into()
}
