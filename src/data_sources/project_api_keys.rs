//! Data source `openai_project_api_keys`: the static API keys of one
//! project, to prove a migration to workload identity federation is done.
//! It shows what the Admin API lists (`GET /organization/projects/{id}/api_keys`):
//! name, redacted value, owner, `last_used_at`; never a key itself (the
//! listing holds none). Filters: the owner kind, the owning service
//! accounts, and use within the last N days. A `postcondition` on it fails a
//! plan while a static key is left (see the migration guide).

use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::errors::{Action, Op, api_error};
use crate::provider_data::ProviderData;
use openai_admin::models::{API_KEY_OWNER_SERVICE_ACCOUNT, API_KEY_OWNER_USER, ProjectApiKey};
use tfplugin::codec::Type;
use tfplugin::framework::model::{Field, Model, Set};
use tfplugin::framework::{
    Attribute, DataSource, Diagnostics, ReadDataSourceRequest, ReadDataSourceResponse, Schema,
};

pub(crate) const TYPE_NAME: &str = "openai_project_api_keys";

tfplugin::model! {
    /// The configuration and the result.
    pub(crate) struct ApiKeysModel {
        pub project_id: Field<String>,
        pub owner_type: Field<String>,
        /// Elements are unknown while the accounts are still to be created.
        pub service_account_ids: Field<Set<Field<String>>>,
        pub used_within_days: Field<i64>,
        pub api_keys: Field<Vec<ApiKeyEntry>>,
    }
}

tfplugin::model! {
    /// One key as listed: nothing but its redacted value of the secret.
    pub(crate) struct ApiKeyEntry {
        pub id: Field<String>,
        pub name: Field<String>,
        pub redacted_value: Field<String>,
        pub created_at: Field<i64>,
        pub last_used_at: Field<i64>,
        pub expires_at: Field<i64>,
        pub owner_type: Field<String>,
        pub owner_id: Field<String>,
        pub owner_name: Field<String>,
        pub owner_email: Field<String>,
        pub owner_role: Field<String>,
        pub owner_project_access: Field<String>,
    }
}

type M = ApiKeysModel;
type E = ApiKeyEntry;

const OWNER_TYPES: [&str; 2] = [API_KEY_OWNER_USER, API_KEY_OWNER_SERVICE_ACCOUNT];
const DAY_SECS: i64 = 24 * 3600;

pub(crate) struct ProjectApiKeysDataSource;

fn entry_type() -> Type {
    Type::object([
        (E::id, Type::String),
        (E::name, Type::String),
        (E::redacted_value, Type::String),
        (E::created_at, Type::Number),
        (E::last_used_at, Type::Number),
        (E::expires_at, Type::Number),
        (E::owner_type, Type::String),
        (E::owner_id, Type::String),
        (E::owner_name, Type::String),
        (E::owner_email, Type::String),
        (E::owner_role, Type::String),
        (E::owner_project_access, Type::String),
    ])
}

pub(crate) fn schema() -> Schema {
    Schema::new(
        "The static API keys of one project, with their owners and when each was last used, to \
         prove that a migration to workload identity federation is done. Only the redacted \
         value of a key is shown (the Admin API never lists a key itself). Put a \
         `postcondition` on it to fail a plan while a static key is left.",
    )
    .attribute(
        Attribute::required(M::project_id, Type::String)
            .description("The project whose keys to list (`proj_...`).")
            .not_empty("Give the project's id (`proj_...`)."),
    )
    .attribute(
        Attribute::optional(M::owner_type, Type::String)
            .description(
                "Only keys of this kind of owner: `service_account` or `user`. Omit for both.",
            )
            .one_of(&OWNER_TYPES, "Omit it for keys of both."),
    )
    .attribute(
        Attribute::optional(M::service_account_ids, Type::Set(Box::new(Type::String))).description(
            "Only keys owned by these service accounts (`svc_acct_...`), e.g. every service \
                 account a mapping now serves: `[for m in openai_service_account_mapping.all : \
                 m.service_account_id]`. Omit for keys of any owner.",
        ),
    )
    .attribute(
        Attribute::optional(M::used_within_days, Type::Number)
            .description(
                "Only keys used within this many days before the read (by `last_used_at`). Keys \
         never used are left out. Omit for every key.",
            )
            .at_least(1, "Omit it for every key."),
    )
    .attribute(
        Attribute::computed(M::api_keys, Type::List(Box::new(entry_type()))).description(
            "The keys, oldest first. Each has `id` (`key_...`), `name`, `redacted_value` (e.g. \
             `sk-svca...abcd`), `created_at` and `last_used_at` (Unix seconds; `last_used_at` is \
             null for a key never used), `expires_at` (null for a key that never expires), \
             `owner_type` (`service_account` or `user`), `owner_id`, `owner_name`, \
             `owner_email` (users only), `owner_role` (the owner's project role) and \
             `owner_project_access` (`active` or `inactive`).",
        ),
    )
}

fn entry(k: &ProjectApiKey) -> ApiKeyEntry {
    let (id, name, email, role) = match (&k.owner.service_account, &k.owner.user) {
        (Some(sa), _) => (Some(sa.id.clone()), sa.name.clone(), None, sa.role.clone()),
        (None, Some(u)) => (
            Some(u.id.clone()),
            u.name.clone(),
            u.email.clone(),
            u.role.clone(),
        ),
        (None, None) => (None, None, None, None),
    };
    ApiKeyEntry {
        id: Field::Known(k.id.clone()),
        name: Field::Known(k.name.clone()),
        redacted_value: Field::Known(k.redacted_value.clone()),
        created_at: Field::Known(k.created_at),
        last_used_at: k.last_used_at.into(),
        expires_at: k.expires_at.into(),
        owner_type: k.owner_kind().map(str::to_owned).into(),
        owner_id: id.into(),
        owner_name: name.into(),
        owner_email: email.into(),
        owner_role: role.into(),
        owner_project_access: k.owner_project_access.clone().into(),
    }
}

/// Whether `k` passes the configured filters at `now` (Unix seconds).
fn selected(config: &M, k: &ProjectApiKey, now: i64) -> bool {
    let kind = k.owner_kind();
    let owner_ok = config
        .owner_type
        .known()
        .is_none_or(|t| kind == Some(t.as_str()));
    let account_ok = config.service_account_ids.known().is_none_or(|ids| {
        k.owner
            .service_account
            .as_ref()
            .is_some_and(|sa| ids.iter().any(|id| id.as_deref() == Some(sa.id.as_str())))
    });
    let used_ok = config.used_within_days.known().is_none_or(|&days| {
        k.last_used_at
            .is_some_and(|t| t >= now.saturating_sub(days.saturating_mul(DAY_SECS)))
    });
    owner_ok && account_ok && used_ok
}

#[async_trait]
impl DataSource<ProviderData> for ProjectApiKeysDataSource {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        schema()
    }

    async fn read(
        &self,
        data: &ProviderData,
        req: ReadDataSourceRequest,
    ) -> Result<ReadDataSourceResponse, Diagnostics> {
        let mut config = M::from_value(&req.config)?;
        let pid = config.project_id.or_empty().to_owned();
        let mut keys = data
            .client()?
            .list_all_project_api_keys(&pid)
            .await
            .map_err(|e| {
                api_error(
                    Op::new(Action::List, "the project's API keys"),
                    &e,
                    &[M::project_id],
                )
            })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        keys.retain(|k| selected(&config, k, now));
        keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        config.api_keys = Field::Known(keys.iter().map(entry).collect());
        Ok(ReadDataSourceResponse::new(config.to_value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::testing::{Rule, assert_rule, at, validation_of};
    use openai_admin::models::{ApiKeyOwner, ApiKeyOwnerServiceAccount, ApiKeyOwnerUser};
    use tfplugin::framework::model::schema_mismatches;

    #[test]
    fn model_matches_schema() {
        assert_eq!(schema_mismatches::<M>(&schema()), Vec::<String>::new());
    }

    #[test]
    fn validation_rules() {
        let base = M {
            project_id: Field::Known("proj_1".into()),
            ..M::default()
        };
        let rules = [
            Rule {
                case: "empty project",
                config: M {
                    project_id: Field::Known(String::new()),
                    ..base.clone()
                },
                path: at(M::project_id),
                summary: "Empty project_id",
                detail: "project_id must not be empty. Give the project's id (`proj_...`).",
            },
            Rule {
                case: "unknown owner kind",
                config: M {
                    owner_type: Field::Known("robot".into()),
                    ..base.clone()
                },
                path: at(M::owner_type),
                summary: "Invalid owner_type",
                detail: "owner_type is \"robot\"; use one of \"user\", \"service_account\". Omit it for keys of both.",
            },
            Rule {
                case: "no days",
                config: M {
                    used_within_days: Field::Known(0),
                    ..base.clone()
                },
                path: at(M::used_within_days),
                summary: "Invalid used_within_days",
                detail: "used_within_days is 0; it must be at least 1. Omit it for every key.",
            },
        ];
        let check =
            |config: &M| validation_of(&schema(), &ProjectApiKeysDataSource.config_rules(), config);
        assert!(check(&base).is_empty());
        // Accounts still to be created leave unknown ids: nothing to refuse yet.
        let pending = M {
            service_account_ids: Field::Known(Set(vec![Field::Unknown])),
            ..base.clone()
        };
        assert!(check(&pending).is_empty(), "{:#?}", check(&pending));
        for rule in &rules {
            assert_rule(rule, &check(&rule.config));
        }
    }

    fn key(id: &str, sa: Option<&str>, last_used_at: Option<i64>) -> ProjectApiKey {
        ProjectApiKey {
            object: "organization.project.api_key".into(),
            id: id.into(),
            name: "Secret Key".into(),
            redacted_value: "sk-proj...abcd".into(),
            created_at: 1,
            last_used_at,
            expires_at: None,
            owner_project_access: Some("active".into()),
            owner: match sa {
                Some(sa) => ApiKeyOwner {
                    kind: Some("service_account".into()),
                    service_account: Some(ApiKeyOwnerServiceAccount {
                        id: sa.into(),
                        ..Default::default()
                    }),
                    user: None,
                },
                None => ApiKeyOwner {
                    kind: None,
                    service_account: None,
                    user: Some(ApiKeyOwnerUser {
                        id: "user_1".into(),
                        email: Some("a@example.com".into()),
                        ..Default::default()
                    }),
                },
            },
        }
    }

    #[test]
    fn filters_select_by_owner_account_and_recent_use() {
        let now = 100 * DAY_SECS;
        let keys = [
            key("key_sa_used", Some("svc_acct_a"), Some(now - DAY_SECS)),
            key("key_sa_old", Some("svc_acct_b"), Some(now - 40 * DAY_SECS)),
            key("key_user_never", None, None),
        ];
        let pick = |config: M| -> Vec<String> {
            keys.iter()
                .filter(|k| selected(&config, k, now))
                .map(|k| k.id.clone())
                .collect()
        };
        assert_eq!(pick(M::default()).len(), 3);
        assert_eq!(
            pick(M {
                owner_type: Field::Known("user".into()),
                ..M::default()
            }),
            ["key_user_never"]
        );
        assert_eq!(
            pick(M {
                service_account_ids: Field::Known(Set(vec![Field::Known("svc_acct_b".into())])),
                ..M::default()
            }),
            ["key_sa_old"]
        );
        assert_eq!(
            pick(M {
                used_within_days: Field::Known(30),
                ..M::default()
            }),
            ["key_sa_used"]
        );
        // A user key's owner type is inferred when the server leaves it out.
        let e = entry(&keys[2]);
        assert_eq!(e.owner_type.as_deref(), Some("user"));
        assert_eq!(e.owner_email.as_deref(), Some("a@example.com"));
        assert_eq!(e.last_used_at, Field::Null);
    }
}
