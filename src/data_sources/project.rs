//! Data source `openai_project`: one project of the organization, by id or
//! by name. Names are not unique in OpenAI, so a name matching several
//! projects is an error that lists their ids.

use async_trait::async_trait;

use super::lookup::{self, Key};
use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use openai_admin::models::Project;
use tfplugin::codec::Type;
use tfplugin::framework::model::{Field, Model};
use tfplugin::framework::{
    Attribute, ConfigRules, DataSource, Diagnostic, Diagnostics, ReadDataSourceRequest,
    ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_project";

const WHAT: &str = "project";

tfplugin::model! {
    /// The data source's configuration and result.
    pub(crate) struct ProjectModel {
        pub id: Field<String>,
        pub name: Field<String>,
        pub status: Field<String>,
        pub created_at: Field<i64>,
    }
}

type M = ProjectModel;

pub(crate) struct ProjectDataSource;

pub(crate) fn schema() -> Schema {
    Schema::new(
        "An existing project, looked up by `id` or by `name` (set exactly one). A lookup by \
         name searches active projects and fails if several share the name.",
    )
    .attribute(
        Attribute::optional_computed(M::id, Type::String)
            .description("The project's id (`proj_...`). Set this or `name`.")
            .not_empty("Give the project's id (`proj_...`), or set `name` instead."),
    )
    .attribute(
        Attribute::optional_computed(M::name, Type::String)
            .description("The project's name. Set this or `id`.")
            .not_empty("Give the project's name, or set `id` instead."),
    )
    .attribute(
        Attribute::computed(M::status, Type::String)
            .description("The project's status: `active` or `archived`."),
    )
    .attribute(
        Attribute::computed(M::created_at, Type::Number)
            .description("Creation time, Unix seconds."),
    )
}

fn state(p: &Project) -> ProjectModel {
    ProjectModel {
        id: Field::Known(p.id.clone()),
        name: p.name.clone().into(),
        status: p.status.clone().into(),
        created_at: Field::Known(p.created_at),
    }
}

#[async_trait]
impl DataSource<ProviderData> for ProjectDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn config_rules(&self) -> ConfigRules {
        ConfigRules::of(|config: &M, diags| {
            lookup::validate_key(&config.id, &config.name, WHAT, diags)
        })
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let config = M::from_value(&req.config)?;
        let key = lookup::key(&config.id, &config.name, WHAT)?;
        let client = data.client()?;
        let within = "in the organization";
        let project = match key {
            Key::Id(id) => match client.get_project(id).await {
                Ok(p) => p,
                Err(e) if e.is_not_found() => return Err(key.not_found(WHAT, within)),
                Err(e) => return Err(api_error(Op::new(Action::Read, "the project"), &e, &[])),
            },
            Key::Name(name) => {
                let mut matches: Vec<Project> = client
                    .list_all_projects()
                    .await
                    .map_err(|e| api_error(Op::new(Action::List, "projects"), &e, &[]))?
                    .into_iter()
                    .filter(|p| p.name.as_deref() == Some(name))
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
        Ok(ReadDataSourceResponse::new(state(&project).to_value()))
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
    .at(tfplugin::codec::Path::root().attr(M::name))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfplugin::framework::model::schema_mismatches;

    #[test]
    fn model_matches_schema() {
        assert_eq!(schema_mismatches::<M>(&schema()), Vec::<String>::new());
    }
}
