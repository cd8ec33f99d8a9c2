//! Project API keys: the static keys workload identity federation is meant
//! to retire. A service account created without `create_service_account_only`
//! gets one (its value is answered once, at create); `/_emulator` can add
//! keys of dashboard users. The Admin API lists, retrieves and deletes them
//! with the redacted value only. A key that calls `GET /v1/models` gets its
//! `last_used_at` set, so "is any static key still used?" can be tested
//! offline. Only a digest of each value is kept.

use aws_lc_rs::digest;

use super::{Data, Entry, random_hex};
use crate::errors::ApiError;
use crate::pagination::{self, Item};
use openai_admin::models::{
    API_KEY_OWNER_SERVICE_ACCOUNT, API_KEY_OWNER_USER, ApiKeyOwner, ApiKeyOwnerServiceAccount,
    ApiKeyOwnerUser, Deleted, ListPage, ListParams, OBJECT_PROJECT_API_KEY,
    OBJECT_PROJECT_API_KEY_DELETED, ProjectApiKey,
};
use serde::{Deserialize, Serialize};

/// A key with its project, owner and the digest of its value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredApiKey {
    pub project_id: String,
    pub id: String,
    pub name: String,
    pub redacted_value: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// When the key stops working (Unix seconds); `None` never. Absent in
    /// state files of emulators that kept no expiry.
    #[serde(default)]
    pub expires_at: Option<i64>,
    pub owner: StoredOwner,
    /// Hex SHA-256 of the value.
    pub digest: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StoredOwner {
    ServiceAccount(String),
    User(ApiKeyOwnerUser),
}

/// Who a used key acts for.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyUser {
    /// A service account, with its current role.
    ServiceAccount {
        id: String,
        role: String,
    },
    User,
}

fn digest_hex(value: &str) -> String {
    digest::digest(&digest::SHA256, value.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `sk-svca...wxyz`: the start and the last four characters.
fn redact(value: &str) -> String {
    let head: String = value.chars().take(7).collect();
    let tail: String = value
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}...{tail}")
}

impl Data {
    /// Stores a new key of `owner` in `project_id`, working until
    /// `expires_at` if given; answers its id and value.
    pub(super) fn issue_api_key(
        &mut self,
        project_id: &str,
        owner: StoredOwner,
        (name, prefix): (&str, &str),
        now: i64,
        expires_at: Option<i64>,
    ) -> (String, String) {
        let value = format!("{prefix}{}", random_hex(48));
        let id = self.new_id("key_");
        let seq = self.next_seq();
        self.api_keys.push(Entry {
            seq,
            obj: StoredApiKey {
                project_id: project_id.to_owned(),
                id: id.clone(),
                name: name.to_owned(),
                redacted_value: redact(&value),
                created_at: now,
                last_used_at: None,
                expires_at,
                owner,
                digest: digest_hex(&value),
            },
        });
        (id, value)
    }

    /// A key a dashboard user made in the project (for tests); its value.
    pub fn add_user_api_key(
        &mut self,
        project_id: &str,
        user: ApiKeyOwnerUser,
        name: &str,
        now: i64,
    ) -> Result<(ProjectApiKey, String), ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        let (id, value) = self.issue_api_key(
            project_id,
            StoredOwner::User(user),
            (name, "sk-proj-"),
            now,
            None,
        );
        let key = self.get_project_api_key(project_id, &id)?;
        Ok((key, value))
    }

    /// The wire object, with the owning account as it is now.
    fn api_key_view(&self, k: &StoredApiKey) -> ProjectApiKey {
        let (owner, active) = match &k.owner {
            StoredOwner::ServiceAccount(id) => {
                let sa = self.service_account(id).map(|s| &s.account);
                (
                    ApiKeyOwner {
                        kind: Some(API_KEY_OWNER_SERVICE_ACCOUNT.to_owned()),
                        user: None,
                        service_account: Some(ApiKeyOwnerServiceAccount {
                            id: id.clone(),
                            name: sa.map(|s| s.name.clone()),
                            role: sa.map(|s| s.role.clone()),
                            created_at: sa.map(|s| s.created_at),
                        }),
                    },
                    sa.is_some(),
                )
            }
            StoredOwner::User(u) => (
                ApiKeyOwner {
                    kind: Some(API_KEY_OWNER_USER.to_owned()),
                    user: Some(u.clone()),
                    service_account: None,
                },
                true,
            ),
        };
        ProjectApiKey {
            object: OBJECT_PROJECT_API_KEY.to_owned(),
            id: k.id.clone(),
            name: k.name.clone(),
            redacted_value: k.redacted_value.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            owner_project_access: Some(if active { "active" } else { "inactive" }.to_owned()),
            owner,
        }
    }

    fn api_key_or_404(&self, project_id: &str, id: &str) -> Result<&Entry<StoredApiKey>, ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        self.api_keys
            .iter()
            .find(|e| e.obj.id == id && e.obj.project_id == project_id)
            .ok_or_else(|| ApiError::not_found("API key", id))
    }

    pub fn list_project_api_keys(
        &self,
        project_id: &str,
        params: &ListParams,
    ) -> Result<ListPage<ProjectApiKey>, ApiError> {
        if self.project(project_id).is_none() {
            return Err(ApiError::not_found("project", project_id));
        }
        let views: Vec<(u64, ProjectApiKey)> = self
            .api_keys
            .iter()
            .filter(|e| e.obj.project_id == project_id)
            .map(|e| (e.seq, self.api_key_view(&e.obj)))
            .collect();
        let live: Vec<Item<'_, ProjectApiKey>> = views
            .iter()
            .map(|(seq, k)| Item {
                seq: *seq,
                id: k.id.as_str(),
                obj: k,
            })
            .collect();
        let cursor = self.cursor(params.after.as_deref(), &live, Some(project_id), "key_")?;
        Ok(pagination::page(live, cursor, params))
    }

    pub fn get_project_api_key(
        &self,
        project_id: &str,
        id: &str,
    ) -> Result<ProjectApiKey, ApiError> {
        let e = self.api_key_or_404(project_id, id)?;
        Ok(self.api_key_view(&e.obj))
    }

    pub fn delete_project_api_key(
        &mut self,
        project_id: &str,
        id: &str,
    ) -> Result<Deleted, ApiError> {
        self.api_key_or_404(project_id, id)?;
        self.remove_api_keys(|k| k.id == id);
        Ok(Deleted {
            object: OBJECT_PROJECT_API_KEY_DELETED.to_owned(),
            id: id.to_owned(),
            deleted: true,
        })
    }

    /// Removes (and buries, for cursors) every key `which` selects.
    pub(super) fn remove_api_keys(&mut self, which: impl Fn(&StoredApiKey) -> bool) {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.api_keys)
            .into_iter()
            .partition(|e| which(&e.obj));
        self.api_keys = kept;
        for e in gone {
            self.bury(e.obj.id, e.seq, Some(e.obj.project_id));
        }
    }

    /// The key with this value, marked used now; `None` for no such key,
    /// or one that has expired (as OpenAI refuses it).
    pub fn use_api_key(&mut self, value: &str, now: i64) -> Option<KeyUser> {
        let digest = digest_hex(value);
        let entry = self
            .api_keys
            .iter_mut()
            .find(|e| e.obj.digest == digest && e.obj.expires_at.is_none_or(|t| now < t))?;
        entry.obj.last_used_at = Some(now);
        match entry.obj.owner.clone() {
            StoredOwner::ServiceAccount(id) => {
                let role = self.service_account(&id)?.account.role.clone();
                Some(KeyUser::ServiceAccount { id, role })
            }
            StoredOwner::User(_) => Some(KeyUser::User),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openai_admin::models::{CreateProjectRequest, CreateServiceAccountRequest};

    fn with_project() -> (Data, String) {
        let mut d = Data::default();
        let request = CreateProjectRequest {
            name: "p".into(),
            ..Default::default()
        };
        let p = d.create_project(request, 1).id;
        (d, p)
    }

    #[test]
    fn keys_of_accounts_made_with_a_key_are_listed_used_and_deleted() {
        let (mut d, p) = with_project();
        let keyless = d
            .create_service_account(
                &p,
                CreateServiceAccountRequest {
                    name: "wif".into(),
                    create_service_account_only: true,
                    ..Default::default()
                },
                2,
            )
            .unwrap();
        assert!(keyless.api_key.is_none());
        let keyed = d
            .create_service_account(
                &p,
                CreateServiceAccountRequest {
                    name: "old".into(),
                    create_service_account_only: false,
                    ..Default::default()
                },
                3,
            )
            .unwrap();
        let value = keyed.api_key.unwrap().value;
        let listed = d.list_project_api_keys(&p, &ListParams::default()).unwrap();
        assert_eq!(listed.data.len(), 1);
        let key = &listed.data[0];
        assert_eq!(key.owner_kind(), Some("service_account"));
        assert_eq!(key.owner.service_account.as_ref().unwrap().id, keyed.id);
        assert_eq!(key.last_used_at, None);
        assert!(!key.redacted_value.contains(&value[7..value.len() - 4]));

        assert!(matches!(
            d.use_api_key(&value, 9),
            Some(KeyUser::ServiceAccount { role, .. }) if role == "member"
        ));
        assert_eq!(
            d.get_project_api_key(&p, &key.id).unwrap().last_used_at,
            Some(9)
        );
        assert_eq!(d.use_api_key("sk-nope", 9), None);

        d.delete_project_api_key(&p, &key.id).unwrap();
        assert!(
            d.list_project_api_keys(&p, &ListParams::default())
                .unwrap()
                .data
                .is_empty()
        );
        assert_eq!(d.use_api_key(&value, 10), None);
        assert_eq!(
            d.get_project_api_key(&p, &key.id)
                .unwrap_err()
                .status
                .as_u16(),
            404
        );
    }

    /// A key made with `expires_in_seconds` lists its expiry and, like
    /// OpenAI's, stops working then.
    #[test]
    fn a_key_with_an_expiry_is_listed_with_it_and_refused_after_it() {
        let (mut d, p) = with_project();
        let created = d
            .create_service_account(
                &p,
                CreateServiceAccountRequest {
                    name: "short".into(),
                    expires_in_seconds: Some(10),
                    ..Default::default()
                },
                100,
            )
            .unwrap();
        let key = created.api_key.unwrap();
        assert_eq!(key.expires_at, Some(110));
        let listed = d.list_project_api_keys(&p, &ListParams::default()).unwrap();
        assert_eq!(listed.data[0].expires_at, Some(110));
        assert!(d.use_api_key(&key.value, 109).is_some());
        assert_eq!(d.use_api_key(&key.value, 110), None);
    }
}
