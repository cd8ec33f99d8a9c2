//! Data source `openai_project_service_account`: one service account of a
//! project, by id or by name. Names are not unique, so a name matching
//! several accounts is an error that lists their ids.

use async_trait::async_trait;

use super::lookup::{self, Argument, Key};
use crate::OpenAi;
use crate::errors::api_error;
use crate::resources::project_service_account as resource;
use crate::values::str_attr;
use openai_admin::models::ServiceAccount;
use tfplugin::codec::Path;
use tfplugin::framework::{
    DataSource, Diagnostic, Diagnostics, Mode, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema, ValidateRequest, ValidateResponse,
};

pub const TYPE_NAME: &str = "openai_project_service_account";

const WHAT: &str = "service account";

pub struct ProjectServiceAccountDataSource;

pub fn schema() -> Schema {
    lookup::from_resource(
        &resource::schema(),
        "An existing service account of a project, looked up by `id` or by `name` (set exactly \
         one). Works for any service account, with or without API keys.",
        &[
            Argument {
                name: "project_id",
                mode: Mode::Required,
                description: "The project to search (`proj_...`).",
            },
            Argument {
                name: "id",
                mode: Mode::OptionalComputed,
                description: "The service account's id (`svc_acct_...`). Set this or `name`.",
            },
            Argument {
                name: "name",
                mode: Mode::OptionalComputed,
                description: "The service account's name. Set this or `id`.",
            },
        ],
    )
}

#[async_trait]
impl DataSource<OpenAi> for ProjectServiceAccountDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let (config, diags) = (&req.config, &mut resp.diagnostics);
        lookup::validate_key(config, WHAT, diags);
        if str_attr(config, "project_id") == Some("") {
            diags.attribute_error(
                Path::root().attr("project_id"),
                "Empty project_id",
                "project_id must not be empty: give the project's id (`proj_...`).",
            );
        }
    }

    async fn read(
        &self,
        data: &OpenAi,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = &req.config;
        let key = lookup::key(config, WHAT)?;
        let pid = str_attr(config, "project_id").unwrap_or_default();
        let client = data.client()?;
        let within = format!("in project {pid:?} (or the project does not exist)");
        let account = match key {
            Key::Id(id) => match client.get_service_account(pid, id).await {
                Ok(sa) => sa,
                Err(e) if e.is_not_found() => return Err(key.not_found(WHAT, &within)),
                Err(e) => return Err(api_error("read the project service account", &e, &[])),
            },
            Key::Name(name) => {
                let all = match client.list_all_service_accounts(pid).await {
                    Ok(all) => all,
                    Err(e) if e.is_not_found() => return Err(project_not_found(pid)),
                    Err(e) => return Err(api_error("list project service accounts", &e, &[])),
                };
                let mut matches: Vec<ServiceAccount> =
                    all.into_iter().filter(|sa| sa.name == name).collect();
                match matches.len() {
                    0 => return Err(key.not_found(WHAT, &format!("in project {pid:?}"))),
                    1 => matches.remove(0),
                    n => {
                        let ids: Vec<&str> = matches.iter().map(|sa| sa.id.as_str()).collect();
                        return Err(Diagnostic::error(
                            "Several service accounts match",
                            format!(
                                "{n} service accounts of project {pid:?} are named {name:?} \
                                 ({}). Look the service account up by id instead.",
                                ids.join(", ")
                            ),
                        )
                        .at(key.path())
                        .into());
                    }
                }
            }
        };
        Ok(ReadDataSourceResponse::new(resource::state_from_api(
            &account, pid,
        )))
    }
}

fn project_not_found(pid: &str) -> Diagnostics {
    Diagnostic::error(
        "Project not found",
        format!("No project with id {pid:?} exists in the organization. Check project_id."),
    )
    .at(Path::root().attr("project_id"))
    .into()
}
