//! Plan-time enforcement of OpenAI's limits: at most N workload identity
//! providers per organization and M mappings per provider (50 and 50 by
//! default). The ledger counts, per process:
//!
//!   existing (the inventory's baseline, read once from the API)
//!   + creates planned here − baseline objects planned or applied away here.
//!
//! Terraform plans in parallel and in no fixed order, so a create that would
//! pass the limit waits briefly for destroys still being planned before it
//! fails (see [`Ledger::admit`]).
//!
//! A mapping whose provider id is unknown (the provider is created in the same
//! run) is counted in a pool for "new providers": since a mapping is planned
//! after the provider it references, the pool may hold at most M mappings per
//! provider created so far in this run, through any alias. How the pool
//! splits between several new providers can only be checked by the API at
//! apply.
//!
//! Every scope is also counted across the processes of one Terraform
//! operation that reach the same organization (the aliases of this
//! provider), in a file they share ([`run`]): the decision is taken on the
//! operation's counts, not this process's alone.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

pub(crate) mod run;

pub(crate) use run::RunLog;

/// Added to limit errors: a create waits for destroys planned in the same
/// run only while Terraform can still plan them; when its parallel slots are
/// all taken by waiting creates, the destroys come too late.
pub(crate) const PARALLELISM_HINT: &str = "If this plan also destroys or replaces such objects, \
     Terraform may not have planned those yet: with many creates and destroys in one run, \
     retry with -parallelism greater than the number of creates.";

/// Added to the API's limit error on a create during apply. The plan counts
/// a replacement as net zero, but a provider cannot see a resource's
/// `lifecycle` block: with `create_before_destroy`, Terraform creates the
/// new object before it destroys the old one, which needs room for one more.
/// That is said only when the run replaces or destroys something of the
/// kind (`replacing`); otherwise the limit was simply reached meanwhile.
pub(crate) fn create_at_limit(
    what: &str,
    limit_setting: &str,
    replacing: bool,
) -> tfplugin::framework::Diagnostic {
    let detail = if replacing {
        format!(
            "The organization is at its limit, so OpenAI refused this create. If it replaces \
             an existing {what} and the resource has lifecycle {{ create_before_destroy = true }}, \
             Terraform creates the new object before it destroys the old one, which a full \
             limit does not allow: the old object is kept, and every apply would fail the same \
             way. Remove create_before_destroy from the resource's lifecycle block and apply \
             again (Terraform then destroys the old object first, and one apply completes the \
             replacement), or make room by removing another {what}. If OpenAI raised your \
             limit, set {limit_setting} in the provider block."
        )
    } else {
        format!(
            "The limit was reached after this plan was made (objects created since, by hand or \
             by another run), so OpenAI refused this create. Make room by removing another \
             {what} and apply again. If OpenAI raised your limit, set {limit_setting} in the \
             provider block."
        )
    };
    tfplugin::framework::Diagnostic::error(format!("No room to create the {what}"), detail)
}

/// Added to limit errors on a Terraform that never plans destroys.
pub(crate) const NO_PLANNED_DESTROYS: &str = "This Terraform version does not plan destroys \
     (Terraform 1.3 and later do), so objects destroyed in the same run do not make room at \
     plan time: destroy them in a run of their own first, or upgrade Terraform.";

/// Added to limit errors when Terraform works on one resource at a time.
pub(crate) const ONE_AT_A_TIME: &str = "Terraform runs with -parallelism=1 here: it plans and applies \
     one resource at a time, in no fixed order, so a destroy of another resource in this run \
     does not make room for this create (at apply the create may come first, and OpenAI would \
     refuse it while nothing else can run). Plan and apply with -parallelism=2 or more, or \
     destroy first in a run of its own. A replacement of the same resource still makes room: \
     Terraform destroys the old object before it creates the new one.";

/// The advice a refused create ends with, only where it can help.
/// `-parallelism` helps when destroys were starved of parallel slots by
/// creates waiting at the limit: that needs a Terraform that plans destroys
/// at all, and more than one create waiting at once (a single waiting create
/// holds one slot; Terraform has at least 10 unless told otherwise, and a
/// free slot would have planned the destroy).
pub(crate) fn limit_advice(
    plans_destroys: bool,
    one_at_a_time: bool,
    peak_waiting: usize,
) -> &'static str {
    if one_at_a_time {
        ONE_AT_A_TIME
    } else if !plans_destroys {
        NO_PLANNED_DESTROYS
    } else if peak_waiting > 1 {
        PARALLELISM_HINT
    } else {
        ""
    }
}

/// Counts the creates waiting in [`Ledger::admit`] at once, and the most
/// there ever were in this process, for [`limit_advice`].
#[derive(Debug, Default)]
pub(crate) struct Waiting {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
}

impl Waiting {
    /// Runs `admit` counted as waiting; returns its result and the peak.
    pub(crate) async fn count<R>(&self, admit: impl std::future::Future<Output = R>) -> (R, usize) {
        use std::sync::atomic::Ordering::SeqCst;
        struct Leave<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Leave<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, SeqCst);
            }
        }
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(n, SeqCst);
        let _leave = Leave(&self.now);
        let r = admit.await;
        (r, self.peak.load(SeqCst))
    }
}

/// What is being counted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Scope {
    Providers,
    /// Mappings of one existing provider.
    Mappings(String),
    /// Mappings of providers not created yet.
    NewProviderMappings,
    /// Not a limit: objects of the named scope that this run renames, so
    /// that the apply walk's processes see the plan's renames as they see
    /// its removals (their old names are free).
    Renamed(Box<Scope>),
    /// Not a limit: objects of the named scope that a create of this run
    /// replaces, as Terraform told the plan (the replaced identity), so
    /// that the apply walk, told nothing, may rename exactly those aside
    /// (`guards::replacement`).
    Replaced(Box<Scope>),
}

impl Scope {
    /// The scope's name in the run log. New providers' mappings are
    /// one pool for the whole run: a mapping in one alias may belong to a
    /// provider created in another, and which one is unknown at plan.
    fn shared_key(&self) -> Option<String> {
        Some(match self {
            Scope::Providers => "providers".into(),
            Scope::Mappings(id) => format!("mappings:{id}"),
            Scope::NewProviderMappings => "new-provider-mappings".into(),
            Scope::Renamed(of) => format!("renamed:{}", of.shared_key()?),
            Scope::Replaced(of) => format!("replaced:{}", of.shared_key()?),
        })
    }

    /// The key a create is counted under in the run log. A mapping of
    /// a provider not created yet has no unique key: its name or content is
    /// unique only within its provider, which is unknown, so two such
    /// mappings of two new providers may look alike. It counts while its
    /// process lives (the apply walk plans it again, in a new process).
    fn shared_create_key<'k>(&self, key: Option<&'k str>) -> Option<&'k str> {
        match self {
            Scope::NewProviderMappings => None,
            _ => key,
        }
    }
}

#[derive(Default)]
struct Tally {
    creates: usize,
    removed: BTreeSet<String>,
}

/// The outcome of a refused create, for the diagnostic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Exceeded {
    pub limit: usize,
    pub existing: usize,
    pub creates: usize,
    pub removals: usize,
}

impl Exceeded {
    pub(crate) fn adds(&self) -> isize {
        self.creates as isize - self.removals as isize
    }
}

pub(crate) struct Ledger {
    tallies: Mutex<HashMap<Scope, Tally>>,
    changed: Notify,
    /// How long a refused create waits for further plan activity.
    pub settle: Duration,
    /// The ledger shared with the run's other processes on this organization.
    pub run: Option<RunLog>,
    /// Objects this process created.
    created_here: AtomicUsize,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            tallies: Mutex::default(),
            changed: Notify::new(),
            settle: Duration::from_millis(1500),
            run: None,
            created_here: AtomicUsize::new(0),
        }
    }
}

/// How often a waiting create looks for activity of other processes.
const POLL: Duration = Duration::from_millis(200);

impl Ledger {
    /// A ledger that shares its shared scopes through `run`.
    pub(crate) fn shared(run: Option<RunLog>) -> Self {
        Ledger {
            run,
            ..Ledger::default()
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<Scope, Tally>) -> R) -> R {
        f(&mut self.tallies.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Records that an object with this id goes away in this run (a planned
    /// destroy or replacement, or an applied delete). Only ids in the
    /// baseline count; `baseline` is the scope's baseline id set.
    pub(crate) fn remove(&self, scope: Scope, id: &str, baseline: &BTreeSet<String>) {
        if baseline.contains(id) {
            if let (Some(run), Some(key)) = (&self.run, scope.shared_key())
                && let Err(e) = run.record(&key, run::EntryKind::Remove, id)
            {
                tracing::warn!(error = %e, "cannot write the shared run log");
            }
            self.with(|t| t.entry(scope).or_default().removed.insert(id.to_string()));
            self.changed.notify_waiters();
        }
    }

    /// Whether this run (this process, or another of the run through the
    /// run log) recorded `id` in `scope` as going away: the apply
    /// walk's processes see what the plan's processes decided.
    pub(crate) fn removed_in_run(&self, scope: &Scope, id: &str) -> bool {
        if self.with(|t| t.get(scope).is_some_and(|x| x.removed.contains(id))) {
            return true;
        }
        match (&self.run, scope.shared_key()) {
            (Some(run), Some(key)) => run
                .counts(&key)
                .is_ok_and(|(counts, _)| counts.removed.contains(id)),
            _ => false,
        }
    }

    /// Whether this run records any object of `scope` as going away (a
    /// destroy or a replacement), here or in another process of the run.
    pub(crate) fn removes_any(&self, scope: &Scope) -> bool {
        if self.with(|t| t.get(scope).is_some_and(|x| !x.removed.is_empty())) {
            return true;
        }
        match (&self.run, scope.shared_key()) {
            (Some(run), Some(key)) => run
                .counts(&key)
                .is_ok_and(|(counts, _)| !counts.removed.is_empty()),
            _ => false,
        }
    }

    /// Records that this process created object `id` in `scope`, so that
    /// other processes of the run that list it later do not count it twice.
    pub(crate) fn created(&self, scope: Scope, id: &str) {
        self.created_here.fetch_add(1, Ordering::Relaxed);
        if let (Some(run), Some(key)) = (&self.run, scope.shared_key())
            && let Err(e) = run.record(&key, run::EntryKind::Created, id)
        {
            tracing::warn!(error = %e, "cannot write the shared run log");
        }
    }

    /// What a limit error says about what this run created already: never
    /// "nothing" when something was.
    pub(crate) fn created_note(&self) -> String {
        let here = self.created_here.load(Ordering::Relaxed);
        let in_run = self
            .run
            .as_ref()
            .and_then(|r| r.created_in_run().ok())
            .unwrap_or(0);
        // Only what Terraform recorded is claimed: whether the objects stay
        // is up to later operations (`terraform test` destroys them at its
        // end).
        match here.max(in_run) {
            0 => "Nothing was created.".to_string(),
            1 => "This operation had already created 1 object before this check; Terraform \
                  recorded it in the state."
                .to_string(),
            n => format!(
                "This operation had already created {n} objects before this check; \
                 Terraform recorded them in the state."
            ),
        }
    }

    /// The creates counted in `scope`: by this process, or by the run's
    /// processes together when the run log counts it (a mapping in one
    /// alias may belong to a provider created in another).
    pub(crate) fn creates(&self, scope: &Scope) -> usize {
        let here = self.with(|t| t.get(scope).map_or(0, |x| x.creates));
        let in_run = match (&self.run, scope.shared_key()) {
            (Some(run), Some(key)) => run.counts(&key).map_or(0, |(c, _)| c.creates),
            _ => 0,
        };
        here.max(in_run)
    }

    /// Counts one planned create in `scope` (identified by `key` when
    /// known, see [`run`]), whose objects at baseline are `baseline`. Fails if the count would pass `limit`, after waiting
    /// while other plan calls keep arriving (they may be destroys), here or
    /// in the run's other processes.
    pub(crate) async fn admit(
        &self,
        scope: Scope,
        key: Option<&str>,
        baseline: &BTreeSet<String>,
        limit: usize,
    ) -> Result<(), Exceeded> {
        let mut last_seq = None;
        let mut quiet_since = tokio::time::Instant::now();
        loop {
            // Register interest before checking, so a change in between wakes us.
            let notified = self.changed.notified();
            let refused = match self.check(&scope, key, baseline, limit) {
                Ok(()) => {
                    self.changed.notify_waiters();
                    return Ok(());
                }
                Err(e) => e,
            };
            let left =
                (quiet_since + self.settle).saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(refused);
            }
            let woken = tokio::time::timeout(left.min(POLL), notified).await.is_ok();
            // Activity of the run's other processes shows as a new write.
            let seq = match (&self.run, scope.shared_key()) {
                (Some(run), Some(key)) => run.counts(&key).ok().map(|(_, seq)| seq),
                _ => None,
            };
            if woken || (last_seq.is_some() && seq != last_seq) {
                quiet_since = tokio::time::Instant::now();
            }
            last_seq = seq;
        }
    }

    /// One admission attempt: on the run's shared counts when there are
    /// some for `scope`, else on this process's.
    fn check(
        &self,
        scope: &Scope,
        key: Option<&str>,
        baseline: &BTreeSet<String>,
        limit: usize,
    ) -> Result<(), Exceeded> {
        if let (Some(run), Some(shared)) = (&self.run, scope.shared_key()) {
            let mut refused = None;
            match run.admit(&shared, scope.shared_create_key(key), |c| {
                // Objects the run created and a later listing saw are
                // counted as creates already.
                let existing = baseline.difference(&c.created).count();
                let removals = c.removed.intersection(baseline).count();
                let ok = (existing + c.creates).saturating_sub(removals) <= limit;
                if !ok {
                    refused = Some(Exceeded {
                        limit,
                        existing,
                        creates: c.creates,
                        removals,
                    });
                }
                ok
            }) {
                Ok((_, true)) => {
                    self.with(|t| t.entry(scope.clone()).or_default().creates += 1);
                    return Ok(());
                }
                Ok((_, false)) => return Err(refused.expect("set when refused")),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot use the shared run log; counting this process alone");
                }
            }
        }
        let existing = baseline.len();
        self.with(|t| {
            let tally = t.entry(scope.clone()).or_default();
            let removals = tally.removed.len();
            let creates = tally.creates + 1;
            let total = (existing + creates).saturating_sub(removals);
            if total <= limit {
                tally.creates += 1;
                Ok(())
            } else {
                Err(Exceeded {
                    limit,
                    existing,
                    creates,
                    removals,
                })
            }
        })
    }

    /// Signals plan activity that is neither a create nor a removal, so
    /// waiting creates keep waiting while the plan is still moving.
    pub(crate) fn touch(&self) {
        self.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_run_that_replaces_hears_about_create_before_destroy() {
        let replacing = create_at_limit("workload identity provider", "max_x", true);
        assert!(replacing.detail.contains("create_before_destroy"));
        let plain = create_at_limit("workload identity provider", "max_x", false);
        assert!(!plain.detail.contains("create_before_destroy"));
        assert!(
            plain
                .detail
                .contains("The limit was reached after this plan was made")
        );
        assert!(plain.detail.contains("max_x"));
    }
    use std::sync::Arc;

    fn ids(n: usize) -> BTreeSet<String> {
        (0..n).map(|i| format!("id{i}")).collect()
    }

    fn fast() -> Ledger {
        Ledger {
            settle: Duration::from_millis(50),
            ..Ledger::default()
        }
    }

    #[tokio::test]
    async fn creates_up_to_the_limit_pass_and_the_next_fails() {
        let l = fast();
        for _ in 0..3 {
            l.admit(Scope::Providers, None, &ids(47), 50).await.unwrap();
        }
        let e = l
            .admit(Scope::Providers, None, &ids(47), 50)
            .await
            .unwrap_err();
        assert_eq!(
            e,
            Exceeded {
                limit: 50,
                existing: 47,
                creates: 4,
                removals: 0
            }
        );
        assert_eq!(l.creates(&Scope::Providers), 3);
    }

    #[tokio::test]
    async fn removals_of_baseline_objects_make_room() {
        let l = fast();
        let base = ids(50);
        l.remove(Scope::Providers, "id3", &base);
        l.remove(Scope::Providers, "id3", &base); // counted once
        l.remove(Scope::Providers, "not-in-baseline", &base);
        l.admit(Scope::Providers, None, &ids(50), 50).await.unwrap();
        assert!(l.admit(Scope::Providers, None, &ids(50), 50).await.is_err());
    }

    #[tokio::test]
    async fn a_refused_create_waits_for_a_destroy_planned_concurrently() {
        let l = Arc::new(Ledger {
            settle: Duration::from_secs(5),
            ..Ledger::default()
        });
        let base = ids(50);
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move { l.admit(Scope::Providers, None, &ids(50), 50).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        l.remove(Scope::Providers, "id0", &base);
        waiter.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn the_parallelism_hint_needs_destroy_plans_and_creates_waiting_together() {
        assert_eq!(limit_advice(false, false, 5), NO_PLANNED_DESTROYS);
        assert_eq!(limit_advice(true, false, 1), "");
        assert_eq!(limit_advice(true, false, 2), PARALLELISM_HINT);
        assert_eq!(limit_advice(true, true, 1), ONE_AT_A_TIME);
        let l = Arc::new(fast());
        let waiting = Arc::new(Waiting::default());
        let (r, peak) = waiting
            .count(l.admit(Scope::Providers, None, &ids(50), 50))
            .await;
        assert!(r.is_err());
        assert_eq!(peak, 1, "one create alone");
        let both = (0..2).map(|_| {
            let (l, waiting) = (l.clone(), waiting.clone());
            tokio::spawn(async move {
                let base = ids(50);
                waiting
                    .count(l.admit(Scope::Providers, None, &base, 50))
                    .await
            })
        });
        for t in both.collect::<Vec<_>>() {
            let (r, peak) = t.await.unwrap();
            assert!(r.is_err());
            assert_eq!(peak, 2, "two creates waited together");
        }
    }

    #[tokio::test]
    async fn scopes_are_counted_apart() {
        let l = fast();
        l.admit(Scope::Mappings("a".into()), None, &ids(49), 50)
            .await
            .unwrap();
        l.admit(Scope::Mappings("b".into()), None, &ids(49), 50)
            .await
            .unwrap();
        assert!(
            l.admit(Scope::Mappings("a".into()), None, &ids(49), 50)
                .await
                .is_err()
        );
    }

    #[test]
    fn the_created_note_claims_what_terraform_recorded_and_no_more() {
        let l = fast();
        assert_eq!(l.created_note(), "Nothing was created.");
        l.created(Scope::Providers, "wip_1");
        assert!(
            l.created_note()
                .contains("1 object before this check; Terraform recorded it")
        );
        l.created(Scope::Providers, "wip_2");
        let note = l.created_note();
        assert!(note.contains("2 objects"), "{note}");
        assert!(!note.contains("stay"), "{note}");
    }

    #[test]
    fn new_providers_count_across_the_run_s_processes() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let shared = |settle| Ledger {
            settle,
            ..Ledger::shared(Some(RunLog::at(dir.path(), "run1", me)))
        };
        let (idp, rules) = (
            shared(Duration::from_millis(50)),
            shared(Duration::from_millis(50)),
        );
        let none = BTreeSet::new();
        // One alias plans the provider, another its mappings.
        futures_util::FutureExt::now_or_never(idp.admit(
            Scope::Providers,
            Some("name:p"),
            &none,
            50,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(rules.creates(&Scope::Providers), 1);
        let pool = 50 * rules.creates(&Scope::Providers);
        for _ in 0..50 {
            futures_util::FutureExt::now_or_never(rules.admit(
                Scope::NewProviderMappings,
                Some("name:same"),
                &none,
                pool,
            ))
            .unwrap()
            .unwrap();
        }
        // Keys of new providers' mappings are not unique: each counts.
        let refused = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(idp.admit(Scope::NewProviderMappings, Some("name:same"), &none, pool));
        assert_eq!(refused.unwrap_err().creates, 51);
    }
}
