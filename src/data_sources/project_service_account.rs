//! Data source `openai_project_service_account`: one service account of a
//! project, by id or by name. Names are not unique, so a name matching
//! several accounts is an error that lists their ids.

use async_trait::async_trait;

use super::lookup::{self, Argument, Key};
use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::resources::project_service_account::{self as resource, ServiceAccountModel};
use crate::values::decode;
use openai_admin::models::ServiceAccount;
use tfplugin::codec::Path;
use tfplugin::framework::model::Model;
use tfplugin::framework::{
    DataSource, Diagnostic, Diagnostics, Mode, ReadDataSourceRequest, ReadDataSourceResponse,
    Schema, ValidateRequest, ValidateResponse,
};

pub(crate) const TYPE_NAME: &str = "openai_project_service_account";

const WHAT: &str = "service account";

pub(crate) struct ProjectServiceAccountDataSource;

pub(crate) fn schema() -> Schema {
    lookup::from_resource(
        &resource::schema(),
        "An existing service account of a project, looked up by `id` or by `name` (set exactly \
         one). Works for any service account, with or without API keys.",
        &[
            Argument {
                name: ServiceAccountModel::project_id,
                mode: Mode::Required,
                description: "The project to search (`proj_...`).",
            },
            Argument {
                name: ServiceAccountModel::id,
                mode: Mode::OptionalComputed,
                description: "The service account's id, an opaque string (e.g. `svc_acct_...`). \
                              Set this or `name`.",
            },
            Argument {
                name: ServiceAccountModel::name,
                mode: Mode::OptionalComputed,
                description: "The service account's name. Set this or `id`.",
            },
            Argument {
                name: ServiceAccountModel::role,
                mode: Mode::Computed,
                description: "The service account's role in its project: `member`, `owner`, or \
                              `none` for an account without one (OpenAI creates keyless \
                              accounts that way). Tokens exchanged for an account without a \
                              role cannot call the API.",
            },
        ],
    )
}

#[async_trait]
impl DataSource<ProviderData> for ProjectServiceAccountDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn validate(&self, req: ValidateRequest, resp: &mut ValidateResponse) {
        let diags = &mut resp.diagnostics;
        if let Some(config) = decode(&req.config, diags) {
            validate_config(&config, diags);
        }
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = ServiceAccountModel::from_value(&req.config)?;
        let key = lookup::key(&config.id, &config.name, WHAT)?;
        let pid = config.project_id.or_empty();
        let client = data.client()?;
        let within = format!("in project {pid:?} (or the project does not exist)");
        let account = match key {
            Key::Id(id) => match client.get_service_account(pid, id).await {
                Ok(sa) => sa,
                Err(e) if e.is_not_found() => return Err(key.not_found(WHAT, &within)),
                Err(e) => {
                    return Err(api_error(
                        Op::new(Action::Read, "the project service account"),
                        &e,
                        &[],
                    ));
                }
            },
            Key::Name(name) => {
                let all = match client.list_all_service_accounts(pid).await {
                    Ok(all) => all,
                    Err(e) if e.is_not_found() => return Err(project_not_found(pid)),
                    Err(e) => {
                        return Err(api_error(
                            Op::new(Action::List, "project service accounts"),
                            &e,
                            &[],
                        ));
                    }
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
        Ok(ReadDataSourceResponse::new(
            resource::state_from_api(&account, pid).to_value(),
        ))
    }
}

fn validate_config(config: &ServiceAccountModel, diags: &mut Diagnostics) {
    lookup::validate_key(&config.id, &config.name, WHAT, diags);
    if config.project_id.as_deref() == Some("") {
        diags.attribute_error(
            Path::root().attr(ServiceAccountModel::project_id),
            "Empty project_id",
            "project_id must not be empty: give the project's id (`proj_...`).",
        );
    }
}

fn project_not_found(pid: &str) -> Diagnostics {
    Diagnostic::error(
        "Project not found",
        format!("No project with id {pid:?} exists in the organization. Check project_id."),
    )
    .at(Path::root().attr(ServiceAccountModel::project_id))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at};
    use tfplugin::framework::model::{Field, schema_mismatches};

    /// The data source's attributes are the resource's, so is its model.
    #[test]
    fn model_matches_schema() {
        assert_eq!(
            schema_mismatches::<ServiceAccountModel>(&schema()),
            Vec::<String>::new()
        );
    }

    #[test]
    fn empty_project_id_is_refused_on_its_attribute() {
        let rule = Rule {
            case: "empty project id",
            config: ServiceAccountModel {
                project_id: Field::Known(String::new()),
                name: Field::Known("ci".into()),
                ..ServiceAccountModel::default()
            },
            path: at(ServiceAccountModel::project_id),
            summary: "Empty project_id",
            detail: "project_id must not be empty: give the project's id (`proj_...`).",
        };
        let mut d = Diagnostics::new();
        validate_config(&rule.config, &mut d);
        assert_rule(&rule, &d);
    }
}
