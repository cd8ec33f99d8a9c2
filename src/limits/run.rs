//! The part of the limit ledger shared by every provider process of one
//! Terraform run that talks to the same organization.
//!
//! Terraform starts one provider process per provider configuration, so two
//! aliases of this provider (`openai.team_a`, `openai.team_b`) plan in two
//! processes that know nothing of each other. They share their parent (the
//! Terraform process) and the organization (the API URL and key). This file
//! keeps, per organization, one small log in the temporary directory, read
//! and appended to under an exclusive `flock`: each entry names the run (the
//! parent's pid and start time), the process that wrote it, the scope and
//! what happened (a planned create, a removal, an applied create).
//!
//! Terraform ends a provider process as soon as its resources are planned,
//! so the entries of exited processes still count for the run. A create
//! names what it creates when that is known (a provider's name, unique in
//! the organization; a mapping's name, or its content), so the same create
//! planned again (by the apply walk, in new processes) counts once. A
//! create whose key is not known yet counts only while its process lives.
//! Entries of other runs are ignored, and dropped once that run's
//! Terraform process has exited.
//!
//! The log is JSON lines after a header line naming its generation, and
//! only ever grows, except when a process first opens it and drops the
//! entries of finished runs (a new generation). Each process keeps what it
//! has read and, under the lock, reads only the lines added since: one
//! entry per planned or applied create, so a run of thousands of resources
//! costs a few microseconds per entry, not a rewrite of the whole file.

use std::collections::{BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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

/// The log's first line.
#[derive(Serialize, Deserialize)]
struct Header {
    generation: String,
}

/// What this process has read of the log: this run's entries by scope,
/// up to `offset` bytes of generation `generation`. A scope holds at most
/// about twice its limit (its planned and applied creates), so an entry is
/// looked at in its scope's few, however large the run.
#[derive(Debug, Default)]
struct Book {
    generation: Option<String>,
    offset: u64,
    scopes: HashMap<String, Vec<Entry>>,
    /// This run's applied creates, in every scope.
    created: usize,
}

impl Book {
    fn add(&mut self, e: Entry) {
        if e.kind == Kind::Created {
            self.created += 1;
        }
        self.scopes.entry(e.scope.clone()).or_default().push(e);
    }
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
    book: Arc<Mutex<Book>>,
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
            path: dir.join(format!("limits-{name}.jsonl")),
            run,
            pid: std::process::id(),
            book: Arc::default(),
        })
    }

    /// A ledger in `dir` for tests, as the process `pid` of run `run`.
    #[cfg(test)]
    pub fn at(dir: &std::path::Path, run: &str, pid: u32) -> Self {
        RunLedger {
            path: dir.join("limits.jsonl"),
            run: run.into(),
            pid,
            book: Arc::default(),
        }
    }

    /// Runs `f` on this run's entries in `scope` (and its count of applied
    /// creates) under the file lock, after reading what other processes
    /// added; appends the entries `f` returns. Also answers the log's
    /// length, which grows with every write.
    fn with<R>(
        &self,
        scope: &str,
        f: impl FnOnce(&[Entry], usize) -> (R, Vec<Entry>),
    ) -> std::io::Result<(R, u64)> {
        if let Some(dir) = self.path.parent() {
            create_private_dir(dir)?;
        }
        let mut file = open_private(&self.path)?;
        lock(&file)?;
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let generation = read_header(&mut file)?;
        if generation.is_none() || generation != book.generation {
            *book = self.reload(&mut file, generation)?;
        }
        file.seek(SeekFrom::Start(book.offset))?;
        let mut added = String::new();
        file.read_to_string(&mut added)?;
        book.offset += added.len() as u64;
        for e in self.ours(&added) {
            book.add(e);
        }
        let entries = book.scopes.get(scope).map_or(&[][..], Vec::as_slice);
        let (out, new) = f(entries, book.created);
        if !new.is_empty() {
            let mut text = Vec::new();
            for e in &new {
                serde_json::to_writer(&mut text, e).map_err(std::io::Error::other)?;
                text.push(b'\n');
            }
            file.seek(SeekFrom::End(0))?;
            file.write_all(&text)?;
            book.offset += text.len() as u64;
            for e in new {
                book.add(e);
            }
        }
        // Closing the file releases the lock.
        Ok((out, book.offset))
    }

    /// Reads the whole log afresh (another generation, or the first use in
    /// this process): drops the entries of finished runs, and of anonymous
    /// creates of exited processes of this run, by rewriting it as a new
    /// generation when there are any (or when it is new or unreadable).
    fn reload(&self, file: &mut File, generation: Option<String>) -> std::io::Result<Book> {
        let mut text = String::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_string(&mut text)?;
        let mut lines = text.lines();
        // The header: its generation was read already.
        lines.next();
        let all: Vec<Entry> = lines.filter_map(|l| serde_json::from_str(l).ok()).collect();
        let mut alive_runs: HashMap<String, bool> = HashMap::new();
        let mut alive_pids: HashMap<u32, bool> = HashMap::new();
        let kept: Vec<Entry> = all
            .iter()
            .filter(|e| {
                if e.run == self.run {
                    e.kind != Kind::Create
                        || e.id.is_some()
                        || *alive_pids.entry(e.pid).or_insert_with(|| alive(e.pid))
                } else {
                    *alive_runs
                        .entry(e.run.clone())
                        .or_insert_with(|| run_alive(&e.run))
                }
            })
            .cloned()
            .collect();
        let book = |generation, offset, entries: Vec<Entry>| {
            let mut b = Book {
                generation,
                offset,
                ..Book::default()
            };
            for e in entries.into_iter().filter(|e| e.run == self.run) {
                b.add(e);
            }
            b
        };
        if generation.is_some() && kept.len() == all.len() {
            // Everything read so far is in the book: go on from the end.
            return Ok(book(generation, text.len() as u64, all));
        }
        // Unique enough: no two rewrites by one process share a nanosecond.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let generation = format!("{}-{nanos}", self.pid);
        let mut out = serde_json::to_vec(&Header {
            generation: generation.clone(),
        })
        .map_err(std::io::Error::other)?;
        out.push(b'\n');
        let offset = out.len() as u64;
        for e in &kept {
            serde_json::to_writer(&mut out, e).map_err(std::io::Error::other)?;
            out.push(b'\n');
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&out)?;
        Ok(book(Some(generation), offset, kept))
    }

    /// This run's entries among `lines`.
    fn ours(&self, lines: &str) -> Vec<Entry> {
        lines
            .lines()
            .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
            .filter(|e| e.run == self.run)
            .collect()
    }

    /// The run's counts in `scope` from its `entries`. An anonymous
    /// planned create counts only while its process lives.
    fn counts_in(entries: &[Entry], scope: &str) -> Counts {
        let mut c = Counts::default();
        let mut keys = BTreeSet::new();
        let mut alive_pids: HashMap<u32, bool> = HashMap::new();
        for e in entries.iter().filter(|e| e.scope == scope) {
            match (&e.kind, &e.id) {
                (Kind::Create, Some(key)) if keys.insert(key) => c.creates += 1,
                (Kind::Create, Some(_)) => {}
                (Kind::Create, None)
                    if *alive_pids.entry(e.pid).or_insert_with(|| alive(e.pid)) =>
                {
                    c.creates += 1
                }
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
        self.with(scope, |entries, _| {
            let mut counts = Self::counts_in(entries, scope);
            let counted = key.is_some_and(|k| {
                entries.iter().any(|e| {
                    e.scope == scope && e.kind == Kind::Create && e.id.as_deref() == Some(k)
                })
            });
            if counted {
                return ((counts, true), Vec::new());
            }
            counts.creates += 1;
            let ok = fits(&counts);
            if !ok {
                counts.creates -= 1;
                return ((counts, false), Vec::new());
            }
            ((counts, true), vec![self.entry(scope, Kind::Create, key)])
        })
        .map(|(out, _)| out)
    }

    /// Records `kind` for `id` in `scope`, once per run.
    pub fn record(&self, scope: &str, kind: Kind, id: &str) -> std::io::Result<()> {
        self.with(scope, |entries, _| {
            let known = entries
                .iter()
                .any(|e| e.scope == scope && e.kind == kind && e.id.as_deref() == Some(id));
            let new = if known {
                Vec::new()
            } else {
                vec![self.entry(scope, kind, Some(id))]
            };
            ((), new)
        })
        .map(|(out, _)| out)
    }

    /// The run's counts in `scope`, and the log's length, which every
    /// write changes.
    pub fn counts(&self, scope: &str) -> std::io::Result<(Counts, u64)> {
        self.with(scope, |entries, _| {
            (Self::counts_in(entries, scope), Vec::new())
        })
    }

    /// How many objects this run has created, in every scope.
    pub fn created_in_run(&self) -> std::io::Result<usize> {
        self.with("", |_, created| (created, Vec::new()))
            .map(|(out, _)| out)
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

/// The generation the log's first line names; `None` for an empty or
/// unreadable log (which is then started afresh).
fn read_header(file: &mut File) -> std::io::Result<Option<String>> {
    file.seek(SeekFrom::Start(0))?;
    let mut start = [0u8; 128];
    let mut n = 0;
    while n < start.len() {
        match file.read(&mut start[n..])? {
            0 => break,
            k => n += k,
        }
    }
    let line = start[..n].split(|b| *b == b'\n').next().unwrap_or_default();
    if n == 0 || line.len() == n {
        // Empty, or no end of line within the first bytes: not ours.
        return Ok(None);
    }
    Ok(serde_json::from_slice::<Header>(line)
        .ok()
        .map(|h| h.generation))
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
    fn a_process_that_starts_a_new_generation_loses_nobody_s_entries() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        // A live run (this test process as the "Terraform" parent).
        let run = run_id_of(me).unwrap();
        let a = RunLedger::at(dir.path(), &run, me);
        let old = RunLedger::at(dir.path(), &format!("{dead}:1"), me);
        a.record("providers", Kind::Remove, "wip_1").unwrap();
        old.record("providers", Kind::Remove, "wip_old").unwrap();
        assert!(a.admit("providers", Some("name:a"), |_| true).unwrap().1);
        let (_, before) = a.counts("providers").unwrap();
        // A new process drops the finished run's entry: a new generation.
        let c = RunLedger::at(dir.path(), &run, me);
        let (seen, _) = c.counts("providers").unwrap();
        assert_eq!(seen.creates, 1);
        assert_eq!(seen.removed, BTreeSet::from(["wip_1".to_string()]));
        // `a` read the old generation; it reads the new one whole.
        assert!(c.admit("providers", Some("name:c"), |_| true).unwrap().1);
        let (counts, after) = a.counts("providers").unwrap();
        assert_eq!(counts.creates, 2);
        assert_eq!(counts.removed.len(), 1);
        assert_ne!(before, after, "a write shows as a change of length");
        let text = std::fs::read_to_string(dir.path().join("limits.jsonl")).unwrap();
        assert!(!text.contains("wip_old"), "{text}");
    }

    #[test]
    fn a_process_opening_a_log_with_nothing_to_drop_counts_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let a = RunLedger::at(dir.path(), "run1", me);
        assert!(a.admit("providers", None, |_| true).unwrap().1);
        a.record("providers", Kind::Created, "wip_1").unwrap();
        // A second process of the run reads the log whole, once.
        let b = RunLedger::at(dir.path(), "run1", me);
        let (counts, _) = b.counts("providers").unwrap();
        assert_eq!(counts.creates, 1);
        assert_eq!(b.created_in_run().unwrap(), 1);
        assert!(b.admit("providers", None, |c| c.creates <= 2).unwrap().1);
        let (counts, _) = a.counts("providers").unwrap();
        assert_eq!(counts.creates, 2);
    }

    #[test]
    fn every_write_appends_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let a = RunLedger::at(dir.path(), "run1", std::process::id());
        let b = RunLedger::at(dir.path(), "run1", std::process::id());
        // 60 providers of 50 mappings, planned and applied by two processes.
        for i in 0..3000 {
            let l = if i % 2 == 0 { &a } else { &b };
            let scope = format!("mappings:wip_{}", i / 50);
            assert!(l.admit(&scope, Some(&format!("k{i}")), |_| true).unwrap().1);
            l.record(&scope, Kind::Created, &format!("wifr_{i}"))
                .unwrap();
        }
        // Recording the same again adds nothing.
        a.record("mappings:wip_0", Kind::Created, "wifr_7").unwrap();
        let text = std::fs::read_to_string(dir.path().join("limits.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 1 + 6000);
        let (counts, _) = b.counts("mappings:wip_59").unwrap();
        assert_eq!((counts.creates, counts.created.len()), (50, 50));
        assert_eq!(a.created_in_run().unwrap(), 3000);
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
        let text = std::fs::read_to_string(dir.path().join("limits.jsonl")).unwrap();
        assert!(!text.contains("name:x"), "{text}");
    }
}
