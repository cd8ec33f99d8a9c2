//! The create half of a replacement, and the name the object it replaces
//! still holds.
//!
//! Names are unique (providers in an organization, mappings in a provider).
//! Without `create_before_destroy` Terraform deletes the old object before
//! it creates the new one, so the name is free. With it, the old object
//! still holds the name when the new one is created, and OpenAI refuses the
//! create with a 409. A provider is not told about `lifecycle`, so this
//! cannot be refused at plan; instead it is made to work: the plan marks the
//! create half with the id of the object it replaces (in the private bytes
//! apply receives: Terraform passes the first half's planned private bytes
//! to the second half's plan, and those to apply), and a create refused
//! because that very object holds its name first renames the old object
//! aside ([`aside_name`]), then creates. Terraform deletes the old object
//! right after, as it planned. Nothing else is renamed: the marker names
//! one object, and the rename happens only while it holds this exact name.
//!
//! **Saved plans.** Terraform up to 1.15 does not give the apply walk the
//! planned private bytes when it plans a change again: with
//! `create_before_destroy` it has deposed the old object by then, so the
//! apply walk's plan sees a plain create whose name an existing object
//! holds. So the plan also remembers each replacement it recognised
//! ([`Marks`]: organization, scope, name → old id) in the user's private
//! directory (the limit ledger's, with its checks), and the apply of a
//! saved plan (`terraform apply FILE`, and only that) takes a create named
//! like a remembered replacement as that replacement. Only that command
//! reads the marks: a fresh plan checks names and limits against the
//! organization as it is. A mark is forgotten when its create is done, and
//! after [`MARK_TTL`].

use std::io::{Read, Seek, Write};
use std::path::PathBuf;

use serde_json::{Map, Value};
use tfplugin::framework::PlanCtx;

/// How long a remembered replacement may wait for the apply of its saved
/// plan.
pub(crate) const MARK_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

/// The most the marks file is read; past it, it starts afresh.
const MAX_MARKS: u64 = 1 << 20;

/// Replacements remembered from plan to the apply of a saved plan, for one
/// organization (see the module docs).
#[derive(Debug)]
pub(crate) struct Marks {
    path: PathBuf,
}

impl Marks {
    /// The marks of the organization at `base_url` reached with
    /// `admin_key`, in the user's private directory; `None` where there is
    /// none.
    pub(crate) fn for_organization(base_url: &str, admin_key: &str) -> Option<Self> {
        let dir = crate::limits::run::private_dir().ok()?;
        Some(Self::at(dir.join(format!(
            "replacing-{}.json",
            crate::limits::run::organization_tag(base_url, admin_key)
        ))))
    }

    pub(crate) fn at(path: PathBuf) -> Self {
        Marks { path }
    }

    /// Remembers that a create named `name` in `scope` replaces `old_id`.
    pub(crate) fn remember(&self, scope: &str, name: &str, old_id: &str) {
        self.update(true, |m| {
            m.insert(
                key(scope, name),
                serde_json::json!({ "id": old_id, "at": now() }),
            );
        });
    }

    /// The object a create named `name` in `scope` replaces, if a plan
    /// remembered one.
    pub(crate) fn recall(&self, scope: &str, name: &str) -> Option<String> {
        let mut found = None;
        self.update(false, |m| {
            found = m
                .get(&key(scope, name))
                .and_then(|e| e.get("id"))
                .and_then(Value::as_str)
                .map(str::to_string);
        });
        found
    }

    /// Forgets the replacement of a create named `name` in `scope`.
    pub(crate) fn forget(&self, scope: &str, name: &str) {
        self.update(false, |m| {
            m.remove(&key(scope, name));
        });
    }

    /// Reads the marks under an exclusive lock, drops expired ones, lets
    /// `f` look or change, and writes them back. Failures are logged: the
    /// marks only ever let a saved plan's replacement through. Only
    /// `create` makes the file: a plan that remembers nothing (the common
    /// case, checked on every create) costs one `stat`, also once the file
    /// is back to holding no mark (`{}`).
    fn update(&self, create: bool, f: impl FnOnce(&mut Map<String, Value>)) {
        const EMPTY: u64 = "{}".len() as u64;
        let holds_marks = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.len() > EMPTY);
        if !create && !holds_marks {
            return;
        }
        let run = || -> std::io::Result<()> {
            let mut file = crate::limits::run::open_private(&self.path)?;
            crate::limits::run::lock(&file)?;
            let mut text = Vec::new();
            if file.metadata()?.len() <= MAX_MARKS {
                (&mut file).take(MAX_MARKS).read_to_end(&mut text)?;
            }
            // Anything unreadable (too long, not JSON) starts afresh.
            let read: Map<String, Value> = serde_json::from_slice(&text).unwrap_or_default();
            let mut m = read.clone();
            let oldest = now().saturating_sub(MARK_TTL.as_secs());
            m.retain(|_, e| e.get("at").and_then(Value::as_u64).unwrap_or(0) >= oldest);
            f(&mut m);
            if m != read {
                file.set_len(0)?;
                file.rewind()?;
                file.write_all(&serde_json::to_vec(&m).unwrap_or_default())?;
            }
            Ok(())
        };
        if let Err(e) = run() {
            tracing::warn!(error = %e, "cannot use the file of remembered replacements");
        }
    }
}

fn key(scope: &str, name: &str) -> String {
    format!("{scope}\n{name}")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The key of the marker in the private bytes.
const REPLACES: &str = "replaces";

/// Marks `plan` (the create half of a replacement, or the first half) with
/// the id of the object it replaces.
pub(crate) fn mark_replaces(plan: &mut PlanCtx, old_id: &str) {
    mark(&mut plan.planned_private, old_id);
}

/// Adds the marker to private bytes, keeping whatever else they hold.
fn mark(private: &mut Vec<u8>, old_id: &str) {
    let mut m = serde_json::from_slice::<Map<String, Value>>(private).unwrap_or_default();
    m.insert(REPLACES.into(), Value::String(old_id.to_string()));
    *private = serde_json::to_vec(&m).unwrap_or_default();
}

/// The id of the object a create replaces, from the private bytes apply
/// received.
pub(crate) fn replaces(private: &[u8]) -> Option<String> {
    serde_json::from_slice::<Map<String, Value>>(private)
        .ok()?
        .get(REPLACES)?
        .as_str()
        .map(str::to_string)
}

/// The name an object being replaced moves to while its replacement takes
/// its name: unique (the id is), and telling anyone who looks in the
/// dashboard meanwhile what is going on.
pub(crate) fn aside_name(name: &str, id: &str) -> String {
    format!("{name} (replaced, {id})")
}

impl crate::ProviderData {
    /// Records that `plan`, a create named `name` in `scope`, replaces the
    /// object `old`: in the private bytes apply receives, and in the marks
    /// a saved plan's apply reads.
    pub(crate) fn replacing(&self, plan: &mut PlanCtx, scope: &str, name: Option<&str>, old: &str) {
        mark_replaces(plan, old);
        // For the run's apply walk, which Terraform tells nothing.
        self.ledger.remove(
            crate::limits::Scope::Replaced(Box::new(limit_scope(scope))),
            old,
            &std::collections::BTreeSet::from([old.to_string()]),
        );
        if let (Some(marks), Some(name)) = (&self.marks, name)
            && !super::operation::applies_saved_plan()
        {
            marks.remember(scope, name, old);
        }
    }

    /// In the apply of a saved plan only: the object a create named `name`
    /// in `scope` replaces, as its plan remembered it.
    pub(crate) fn remembered_replacement(&self, scope: &str, name: Option<&str>) -> Option<String> {
        if !super::operation::applies_saved_plan() {
            return None;
        }
        self.marks.as_ref()?.recall(scope, name?)
    }

    /// Forgets, in a plan that is not a saved plan's apply, a replacement
    /// remembered for a create named `name` in `scope` that now replaces
    /// nothing: the mark is stale, and a saved plan made now must not
    /// recall it.
    pub(crate) fn not_replacing(&self, scope: &str, name: Option<&str>) {
        if super::operation::applies_saved_plan() {
            return;
        }
        self.replacement_done(scope, name);
    }

    /// Forgets the replacement a create named `name` in `scope` made.
    pub(crate) fn replacement_done(&self, scope: &str, name: Option<&str>) {
        if let (Some(marks), Some(name)) = (&self.marks, name) {
            marks.forget(scope, name);
        }
    }

    /// Renames the provider `old` (the one this create replaces) aside when
    /// it holds `name`; whether it did.
    pub(crate) async fn step_aside_provider(&self, old: Option<&str>, name: &str) -> bool {
        let Some(old) = old else { return false };
        self.rename_provider_if(old, name, &aside_name(name, old))
            .await
    }

    /// Gives the provider `old` its name back when a create that renamed it
    /// aside then failed (so it is not left renamed while it stays).
    pub(crate) async fn step_back_provider(&self, old: Option<&str>, name: &str) {
        if let Some(old) = old {
            self.rename_provider_if(old, &aside_name(name, old), name)
                .await;
        }
    }

    /// Renames the provider `id` from `from` to `to`, only while it is
    /// named `from`; whether it did.
    async fn rename_provider_if(&self, id: &str, from: &str, to: &str) -> bool {
        let Ok(client) = self.client() else {
            return false;
        };
        match client.get_provider(id).await {
            Ok(p) if p.name == from => {}
            _ => return false,
        }
        let body = openai_admin::models::UpdateProviderRequest {
            name: Some(to.to_string()),
            ..Default::default()
        };
        renamed(
            "workload identity provider",
            id,
            to,
            client.update_provider(id, &body).await,
        )
    }

    /// Renames the mapping `old` of provider `pid` (the one this create
    /// replaces) aside when it holds `name`; whether it did.
    pub(crate) async fn step_aside_mapping(
        &self,
        pid: &str,
        old: Option<&str>,
        name: Option<&str>,
    ) -> bool {
        let (Some(old), Some(name)) = (old, name) else {
            return false;
        };
        self.rename_mapping_if(pid, old, name, &aside_name(name, old))
            .await
    }

    /// Gives the mapping `old` its name back when a create that renamed it
    /// aside then failed.
    pub(crate) async fn step_back_mapping(&self, pid: &str, old: Option<&str>, name: Option<&str>) {
        if let (Some(old), Some(name)) = (old, name) {
            self.rename_mapping_if(pid, old, &aside_name(name, old), name)
                .await;
        }
    }

    /// Renames the mapping `id` of provider `pid` from `from` to `to`,
    /// only while it is named `from`; whether it did.
    async fn rename_mapping_if(&self, pid: &str, id: &str, from: &str, to: &str) -> bool {
        let Ok(client) = self.client() else {
            return false;
        };
        match client.get_rule(pid, id).await {
            Ok(r) if r.name.as_deref() == Some(from) => {}
            _ => return false,
        }
        let body = openai_admin::models::UpdateRuleRequest {
            name: Some(Some(to.to_string())),
            ..Default::default()
        };
        renamed(
            "service account mapping",
            id,
            to,
            client.update_rule(pid, id, &body).await,
        )
    }
}

/// The limit scope of a marks scope (`providers`, `mappings:PID`).
fn limit_scope(scope: &str) -> crate::limits::Scope {
    match scope.strip_prefix("mappings:") {
        Some(pid) => crate::limits::Scope::Mappings(pid.to_string()),
        None => crate::limits::Scope::Providers,
    }
}

impl crate::provider_data::ProviderData {
    /// Whether this run's plan was told that a create replaces `old` in
    /// the limit scope `scope` (see [`crate::limits::Scope::Replaced`]).
    pub(crate) fn replaced_in_run(&self, scope: &crate::limits::Scope, old: &str) -> bool {
        self.ledger.removed_in_run(
            &crate::limits::Scope::Replaced(Box::new(scope.clone())),
            old,
        )
    }
}

/// Logs the outcome of a rename (aside, or back); whether it was done.
fn renamed<T>(what: &str, id: &str, to: &str, r: Result<T, openai_admin::ApiError>) -> bool {
    match r {
        Ok(_) => {
            tracing::info!(
                "renamed the {what} {id} this create replaces (create_before_destroy) to {to:?}"
            );
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not rename the replaced {what} {id} to {to:?}");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_remembered_recalled_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let marks = Marks::at(dir.path().join("replacing.json"));
        assert_eq!(marks.recall("providers", "p"), None);
        marks.remember("providers", "p", "wip_1");
        marks.remember("mappings:wip_1", "p", "rule_1");
        assert_eq!(marks.recall("providers", "p").as_deref(), Some("wip_1"));
        assert_eq!(
            marks.recall("mappings:wip_1", "p").as_deref(),
            Some("rule_1")
        );
        marks.forget("providers", "p");
        assert_eq!(marks.recall("providers", "p"), None);
        assert_eq!(
            marks.recall("mappings:wip_1", "p").as_deref(),
            Some("rule_1")
        );
    }

    #[test]
    fn looking_up_or_forgetting_makes_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replacing.json");
        let marks = Marks::at(path.clone());
        assert_eq!(marks.recall("providers", "p"), None);
        marks.forget("providers", "p");
        assert!(!path.exists());
    }

    #[test]
    fn a_file_without_marks_is_left_closed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replacing.json");
        let marks = Marks::at(path.clone());
        marks.remember("providers", "p", "wip_1");
        marks.forget("providers", "p");
        // The size `update` skips on a stat alone (no lock, no read).
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }

    #[test]
    fn expired_marks_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("replacing.json");
        std::fs::write(
            &path,
            serde_json::json!({ "providers\nold": { "id": "wip_0", "at": 1 } }).to_string(),
        )
        .unwrap();
        let marks = Marks::at(path.clone());
        assert_eq!(marks.recall("providers", "old"), None);
        assert!(!std::fs::read_to_string(&path).unwrap().contains("wip_0"));
    }

    #[test]
    fn the_marker_round_trips_and_keeps_other_private_data() {
        let mut p = br#"{"unmanaged_kind":"x"}"#.to_vec();
        mark(&mut p, "wip_1");
        assert_eq!(replaces(&p).as_deref(), Some("wip_1"));
        let m: Map<String, Value> = serde_json::from_slice(&p).unwrap();
        assert_eq!(m["unmanaged_kind"], "x");
        let mut empty = Vec::new();
        mark(&mut empty, "wip_2");
        assert_eq!(replaces(&empty).as_deref(), Some("wip_2"));
        assert_eq!(replaces(b""), None);
        assert_eq!(replaces(br#"{"pending_create_since":1}"#), None);
    }
}
