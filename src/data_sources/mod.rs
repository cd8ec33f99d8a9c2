//! Data sources, one file each; `lookup` holds what the single-object ones share.

pub(crate) mod lookup;
pub(crate) mod project;
pub(crate) mod project_api_keys;
pub(crate) mod project_service_account;
pub(crate) mod service_account_mappings;
pub(crate) mod workload_identity_issuer;
pub(crate) mod workload_identity_limits;
pub(crate) mod workload_identity_match;
pub(crate) mod workload_identity_provider;
pub(crate) mod workload_identity_providers;

#[cfg(test)]
mod tests {
    use tfplugin::codec::{Path, Value};
    use tfplugin::framework::{DataSource, Resource, Schema, check_config};

    use crate::resources::project_service_account::ProjectServiceAccountResource;

    /// An empty `attribute` in an otherwise empty configuration of `schema`
    /// is refused on that attribute, with what to write instead.
    fn assert_refuses_empty(
        what: &str,
        schema: &Schema,
        rules: &tfplugin::framework::ConfigRules,
        attribute: &str,
        fix: &str,
    ) {
        let config = schema.stub(&[(attribute, Value::string(""))]);
        let diags = check_config(schema, rules, &config);
        let found = diags
            .iter()
            .find(|d| d.summary == format!("Empty {attribute}"));
        let d = found.unwrap_or_else(|| panic!("{what}.{attribute}: {diags:#?}"));
        assert_eq!(d.path, Some(Path::root().attr(attribute)), "{what}");
        assert_eq!(
            d.detail,
            format!("{attribute} must not be empty. {fix}"),
            "{what}"
        );
    }

    /// The data sources and list blocks whose empty arguments only an
    /// attribute validator refuses (their rules tables cover the rest).
    #[test]
    fn empty_arguments_are_refused_on_their_attribute() {
        let project = super::project::ProjectDataSource;
        let provider = super::workload_identity_provider::WorkloadIdentityProviderDataSource;
        let mappings = super::service_account_mappings::ServiceAccountMappingsDataSource;
        let matching = super::workload_identity_match::WorkloadIdentityMatchDataSource;
        let accounts = ProjectServiceAccountResource;
        for (what, schema, rules, attribute, fix) in [
            (
                "project",
                project.schema(),
                project.config_rules(),
                "id",
                "Give the project's id (`proj_...`), or set `name` instead.",
            ),
            (
                "project",
                project.schema(),
                project.config_rules(),
                "name",
                "Give the project's name, or set `id` instead.",
            ),
            (
                "provider",
                provider.schema(),
                provider.config_rules(),
                "id",
                "Give the provider's id (`wip_...`), or set `name` instead.",
            ),
            (
                "provider",
                provider.schema(),
                provider.config_rules(),
                "name",
                "Give the provider's name, or set `id` instead.",
            ),
            (
                "mappings",
                mappings.schema(),
                mappings.config_rules(),
                "workload_identity_provider_id",
                "Give the provider's id (`wip_...`).",
            ),
            (
                "mappings",
                mappings.schema(),
                mappings.config_rules(),
                "service_account_id",
                "Omit it to list the mappings of every service account.",
            ),
            (
                "match",
                matching.schema(),
                matching.config_rules(),
                "workload_identity_provider_id",
                "Give the provider's id (`wip_...`).",
            ),
            (
                "match",
                matching.schema(),
                matching.config_rules(),
                "service_account_id",
                "Omit it to test every service account's mappings.",
            ),
            (
                "service account list",
                accounts.list_schema(),
                accounts.list_config_rules(),
                "project_id",
                "Give a project id (`proj_...`), or omit it to list the service accounts of every project.",
            ),
        ] {
            assert_refuses_empty(what, &schema, &rules, attribute, fix);
        }
    }
}
