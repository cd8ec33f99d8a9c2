//! Data source `openai_project_service_account`: one service account of a
//! project, by id or by name. Names are not unique, so a name matching
//! several accounts is an error that lists their ids.

use async_trait::async_trait;

use super::lookup::{self, Argument, Key};
use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use crate::resources::project_service_account::{self as resource, ServiceAccountModel};
use openai_admin::models::ServiceAccount;
use tfplugin::codec::Path;
use tfplugin::framework::model::Model;
use tfplugin::framework::{
    ConfigRules, DataSource, Diagnostic, Diagnostics, Mode, ReadDataSourceRequest,
    ReadDataSourceResponse, Schema,
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
                if_empty: "Give the project's id (`proj_...`).",
            },
            Argument {
                name: ServiceAccountModel::id,
                mode: Mode::OptionalComputed,
                description: "The service account's id, an opaque string (e.g. `svc_acct_...`). \
                              Set this or `name`.",
                if_empty: "Give the service account's id, or set `name` instead.",
            },
            Argument {
                name: ServiceAccountModel::name,
                mode: Mode::OptionalComputed,
                description: "The service account's name. Set this or `id`.",
                if_empty: "Give the service account's name, or set `id` instead.",
            },
            Argument {
                name: ServiceAccountModel::role,
                mode: Mode::Computed,
                description: "The service account's role in its project: `member`, `owner`, or \
                              `none` for an account without one (OpenAI creates keyless \
                              accounts that way). Tokens exchanged for an account without a \
                              role cannot call the API.",
                if_empty: "",
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

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &ServiceAccountModel, diags| {
            lookup::validate_key(&config.id, &config.name, WHAT, diags)
        })
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
    use crate::values::testing::{Rule, assert_rule, at, validation_of};
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
    fn each_rule_fails_with_its_message_on_its_attribute() {
        type M = ServiceAccountModel;
        let check = |config: &M| {
            validation_of(
                &schema(),
                &ProjectServiceAccountDataSource.config_rules(),
                config,
            )
        };
        let text = |s: &str| Field::Known(s.to_owned());
        let valid = M {
            project_id: text("proj_1"),
            name: text("ci"),
            ..M::default()
        };
        assert!(check(&valid).is_empty(), "{:#?}", check(&valid));
        let rules = [
            Rule {
                case: "empty project id",
                config: M {
                    project_id: text(""),
                    ..valid.clone()
                },
                path: at(M::project_id),
                summary: "Empty project_id",
                detail: "project_id must not be empty. Give the project's id (`proj_...`).",
            },
            Rule {
                case: "empty name",
                config: M {
                    name: text(""),
                    ..valid.clone()
                },
                path: at(M::name),
                summary: "Empty name",
                detail: "name must not be empty. Give the service account's name, or set `id` \
                         instead.",
            },
            Rule {
                case: "empty id",
                config: M {
                    id: text(""),
                    name: Field::Null,
                    ..valid.clone()
                },
                path: at(M::id),
                summary: "Empty id",
                detail: "id must not be empty.",
            },
            Rule {
                case: "both keys",
                config: M {
                    id: text("svc_acct_1"),
                    ..valid.clone()
                },
                path: at(M::name),
                summary: "Conflicting lookup arguments",
                detail: "not both",
            },
        ];
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }
}
