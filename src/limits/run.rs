//! The part of the limit ledger shared by every provider process of one
//! Terraform run that talks to the same organization.
//!
//! Terraform starts one provider process per provider configuration, so two
//! aliases of this provider (`openai.team_a`, `openai.team_b`) plan in two
//! processes that know nothing of each other. They share their parent (the
//! Terraform process) and the organization (the API URL and key). This file
//! keeps, per organization, one small JSON file in the temporary directory,
//! read and written under an exclusive `flock`: each entry names the run
//! (the parent's pid and start time), the process that wrote it, the scope
//! and what happened (a planned create, a removal, an applied create).
//!
//! Terraform ends a provider process as soon as its resources are planned,
//! so the entries of exited processes still count for the run. A create
//! names what it creates when that is known (a provider's name, unique in
//! the organization; a mapping's name, or its content), so the same create
//! planned again (by the apply walk, in new processes) counts once. A
//! create whose key is not known yet counts only while its process lives.
//! Entries of other runs are ignored, and dropped once that run's
//! Terraform process has exited.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A create planned by this run.
    Create,
    /// A baseline object planned or applied away by this run.
    Remove,
    /// An object this run created (it may be in later listings' baselines).
    Created,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    run: String,
    pid: u32,
    scope: String,
    kind: Kind,
    /// The object's id (removals, applied creates) or, for planned creates,
    /// what identifies the create, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct Book {
    /// Incremented by every write: lets a waiting create see activity of
    /// other processes.
    seq: u64,
    entries: Vec<Entry>,
}

/// What this run has recorded in one scope, across its live processes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub creates: usize,
    pub removed: BTreeSet<String>,
    pub created: BTreeSet<String>,
}

/// The shared ledger of one organization, as seen by this process.
#[derive(Clone, Debug)]
pub struct RunLedger {
    path: PathBuf,
    run: String,
    pid: u32,
}

impl RunLedger {
    /// The ledger for the organization at `base_url` reached with
    /// `admin_key`, for the run this process belongs to. `None` where the
    /// parent process cannot be told apart (not a unix system).
    pub fn for_organization(base_url: &str, admin_key: &str) -> Option<Self> {
        let run = run_id()?;
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            format!("{base_url}\n{admin_key}").as_bytes(),
        );
        let name: String = digest.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let dir = std::env::temp_dir().join("terraform-provider-openai");
        Some(RunLedger {
            path: dir.join(format!("limits-{name}.json")),
            run,
            pid: std::process::id(),
        })
    }

    /// A ledger in `dir` for tests, as the process `pid` of run `run`.
    #[cfg(test)]
    pub fn at(dir: &std::path::Path, run: &str, pid: u32) -> Self {
        RunLedger {
            path: dir.join("limits.json"),
            run: run.into(),
            pid,
        }
    }

    /// Runs `f` on the book under the file lock, writing it back when `f`
    /// says it changed it.
    fn with<R>(&self, f: impl FnOnce(&mut Book, &Self) -> (R, bool)) -> std::io::Result<R> {
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir)?;
        }
        let mut file = open_private(&self.path)?;
        lock(&file)?;
        let mut text = String::new();
        file.read_to_string(&mut text)?;
        let mut book: Book = serde_json::from_str(&text).unwrap_or_default();
        let before = book.entries.len();
        book.entries.retain(|e| {
            if e.run == self.run {
                e.kind != Kind::Create || e.id.is_some() || alive(e.pid)
            } else {
                run_alive(&e.run)
            }
        });
        let (out, changed) = f(&mut book, self);
        if changed || book.entries.len() != before {
            if changed {
                book.seq += 1;
            }
            let text = serde_json::to_vec(&book).map_err(std::io::Error::other)?;
            file.set_len(0)?;
            file.seek(SeekFrom::Start(0))?;
            file.write_all(&text)?;
        }
        // Closing the file releases the lock.
        Ok(out)
    }

    fn counts_in(book: &Book, run: &str, scope: &str) -> Counts {
        let mut c = Counts::default();
        let mut keys = BTreeSet::new();
        for e in book
            .entries
            .iter()
            .filter(|e| e.run == run && e.scope == scope)
        {
            match (&e.kind, &e.id) {
                (Kind::Create, Some(key)) if keys.insert(key) => c.creates += 1,
                (Kind::Create, Some(_)) => {}
                (Kind::Create, None) => c.creates += 1,
                (Kind::Remove, Some(id)) => {
                    c.removed.insert(id.clone());
                }
                (Kind::Created, Some(id)) => {
                    c.created.insert(id.clone());
                }
                _ => {}
            }
        }
        c
    }

    /// Records one planned create in `scope`, identified by `key` when
    /// known, if `fits` allows it given the run's counts so far (with this
    /// create). A create this run counted already (same key) is admitted as
    /// it is. Answers the counts and whether it was admitted.
    pub fn admit(
        &self,
        scope: &str,
        key: Option<&str>,
        fits: impl FnOnce(&Counts) -> bool,
    ) -> std::io::Result<(Counts, bool)> {
        self.with(|book, me| {
            let mut counts = Self::counts_in(book, &me.run, scope);
            let counted = key.is_some_and(|k| {
                book.entries.iter().any(|e| {
                    e.run == me.run
                        && e.scope == scope
                        && e.kind == Kind::Create
                        && e.id.as_deref() == Some(k)
                })
            });
            if counted {
                return ((counts, true), false);
            }
            counts.creates += 1;
            let ok = fits(&counts);
            if ok {
                book.entries.push(me.entry(scope, Kind::Create, key));
            } else {
                counts.creates -= 1;
            }
            ((counts, ok), ok)
        })
    }

    /// Records `kind` for `id` in `scope`, once per run.
    pub fn record(&self, scope: &str, kind: Kind, id: &str) -> std::io::Result<()> {
        self.with(|book, me| {
            let known = book.entries.iter().any(|e| {
                e.run == me.run && e.scope == scope && e.kind == kind && e.id.as_deref() == Some(id)
            });
            if !known {
                book.entries.push(me.entry(scope, kind, Some(id)));
            }
            ((), !known)
        })
    }

    /// The run's counts in `scope`, and the book's write counter.
    pub fn counts(&self, scope: &str) -> std::io::Result<(Counts, u64)> {
        self.with(|book, me| ((Self::counts_in(book, &me.run, scope), book.seq), false))
    }

    /// How many objects this run has created, in every scope.
    pub fn created_in_run(&self) -> std::io::Result<usize> {
        self.with(|book, me| {
            let n = book
                .entries
                .iter()
                .filter(|e| e.run == me.run && e.kind == Kind::Created)
                .count();
            (n, false)
        })
    }

    fn entry(&self, scope: &str, kind: Kind, id: Option<&str>) -> Entry {
        Entry {
            run: self.run.clone(),
            pid: self.pid,
            scope: scope.to_string(),
            kind,
            id: id.map(str::to_string),
        }
    }
}

#[cfg(unix)]
fn run_id() -> Option<String> {
    let parent = rustix::process::getppid()?.as_raw_nonzero().get();
    run_id_of(parent as u32)
}

/// `PID:START` of process `pid`: its start time tells a reused pid apart
/// (Linux; elsewhere the pid alone).
fn run_id_of(parent: u32) -> Option<String> {
    let started = std::fs::read_to_string(format!("/proc/{parent}/stat"))
        .ok()
        .and_then(|s| {
            let after_name = s.rsplit_once(')')?.1.to_string();
            after_name.split_whitespace().nth(19).map(str::to_string)
        })
        .unwrap_or_default();
    Some(format!("{parent}:{started}"))
}

#[cfg(not(unix))]
fn run_id() -> Option<String> {
    None
}

#[cfg(unix)]
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        // It exists, under another user.
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

#[cfg(not(unix))]
fn alive(_pid: u32) -> bool {
    true
}

/// Whether the Terraform process of run `run` (`PID:START`) still runs.
fn run_alive(run: &str) -> bool {
    let Some((pid, started)) = run.split_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    alive(pid) && (started.is_empty() || run_id_of(pid).is_none_or(|now| now == run))
}

#[cfg(unix)]
fn lock(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(Into::into)
}

#[cfg(not(unix))]
fn lock(_file: &File) -> std::io::Result<()> {
    Ok(())
}

fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

fn open_private(path: &std::path::Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_of_one_run_count_together_and_other_runs_apart() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let a = RunLedger::at(dir.path(), "run1", me);
        let b = RunLedger::at(dir.path(), "run1", me);
        let other = RunLedger::at(dir.path(), "run2", me);
        let limit = |c: &Counts| 48 + c.creates <= 50;
        assert!(a.admit("providers", Some("name:a"), limit).unwrap().1);
        assert!(b.admit("providers", None, limit).unwrap().1);
        let (counts, ok) = b.admit("providers", Some("name:b"), limit).unwrap();
        assert!(!ok);
        assert_eq!(counts.creates, 2);
        // The same create planned again (the apply walk) counts once.
        assert!(b.admit("providers", Some("name:a"), limit).unwrap().1);
        // Another run counts alone.
        assert!(other.admit("providers", None, limit).unwrap().1);
        a.record("providers", Kind::Remove, "wip_1").unwrap();
        b.record("providers", Kind::Remove, "wip_1").unwrap();
        let (c, _) = a.counts("providers").unwrap();
        assert_eq!(c.removed.len(), 1);
        a.record("providers", Kind::Created, "wip_9").unwrap();
        assert_eq!(b.created_in_run().unwrap(), 1);
        assert_eq!(other.created_in_run().unwrap(), 0);
    }

    #[test]
    fn creates_of_exited_processes_count_when_they_name_what_they_create() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let gone = RunLedger::at(dir.path(), "run1", dead);
        assert!(gone.admit("providers", Some("name:x"), |_| true).unwrap().1);
        assert!(gone.admit("providers", None, |_| true).unwrap().1);
        gone.record("providers", Kind::Remove, "wip_1").unwrap();
        let me = RunLedger::at(dir.path(), "run1", std::process::id());
        let (c, _) = me.counts("providers").unwrap();
        assert_eq!(c.creates, 1, "the anonymous one went with its process");
        assert_eq!(c.removed.len(), 1);
    }

    #[test]
    fn entries_of_finished_runs_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let old = RunLedger::at(dir.path(), &format!("{dead}:1"), std::process::id());
        assert!(old.admit("providers", Some("name:x"), |_| true).unwrap().1);
        let me = RunLedger::at(dir.path(), "run1", std::process::id());
        me.counts("providers").unwrap();
        let text = std::fs::read_to_string(dir.path().join("limits.json")).unwrap();
        assert!(!text.contains("name:x"), "{text}");
    }
}
