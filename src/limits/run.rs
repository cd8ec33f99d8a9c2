//! The part of the limit ledger shared by every provider process of one
//! Terraform operation that talks to the same organization.
//!
//! Terraform starts one provider process per provider configuration, so two
//! aliases of this provider (`openai.team_a`, `openai.team_b`) plan in two
//! processes that know nothing of each other. They share their parent (the
//! Terraform process) and the organization (the API URL and key). This file
//! keeps, per organization and operation, one small log in a directory only
//! this user can reach ([`private_dir`]), read and appended to under an
//! exclusive `flock`: each entry names the run, the process that wrote it,
//! the scope and what happened (a planned create, a removal, an applied
//! create).
//!
//! Terraform ends a provider process as soon as its resources are planned,
//! so the entries of exited processes still count for the run. A create
//! names what it creates when that is known (a provider's name, unique in
//! the organization; a mapping's name, or its content), so the same create
//! planned again (by the apply walk, in new processes) counts once. A
//! create whose key is not known yet counts only while its process lives.
//!
//! # Which processes are one run
//!
//! A run is the parent Terraform process (pid and start time) and an
//! *operation* number within it ([`Register`]). One Terraform process may
//! perform many operations: `terraform test` plans and applies every `run`
//! block in the same process, and the creates a plan-only block planned are
//! never made, so they must not count in the next block. The signal, from
//! Terraform's own behaviour (`backend/local` validates before it plans;
//! `moduletest/graph` runs `testValidate` before `testPlan`; each walk starts
//! its provider processes and closes them, waiting for their exit, before the
//! next walk starts):
//!
//! - every operation that can plan a create of ours first runs a validate
//!   walk, which starts a process of this provider (the configuration has
//!   our resources, which it validates) and ends it **without ever calling
//!   ConfigureProvider**;
//! - the walks that belong to the same operation (plan, then apply; refresh,
//!   plan-destroy, destroy) have no validate walk between them, so their
//!   configured processes see no such process. Provider-defined functions
//!   run in unconfigured processes too, but Terraform keeps those for the
//!   whole walk, so they are alive when the walk's providers configure.
//!
//! So each process notes when it starts ([`note_process_start`]), with
//! whether a configured process of the run was alive then; when a process
//! is configured it starts a new operation number if, since the last
//! configure of the run, a process started while none was alive and exited
//! unconfigured. The plan walk's processes and the apply walk's share the
//! number (an apply counts a create once and sees the plan's removals); the
//! next `run` block gets a new one. Where the signal could be wrong, it errs
//! in known places: Terraform 1.0's plan-destroy walk starts an unconfigured
//! process (the destroy walk after it only removes, so nothing is lost), and
//! a `terraform test` file that declares the provider itself keeps one
//! configured process for all its `run` blocks, which receive no call that
//! tells the blocks apart (ARCHITECTURE.md, "Limit ledger").
//!
//! # Files
//!
//! Log files are named after the organization and the run, so a run's file
//! can be deleted once its Terraform process has exited, and an operation's
//! once a later operation of the run started (every process of the earlier
//! one has exited by then): each configure sweeps the directory. Every file
//! is opened without following a symbolic link and used only if it is a
//! regular file of ours with one link; a log past [`MAX_LOG`] bytes is
//! started afresh.
//!
//! The log is JSON lines after a header line naming its generation, and
//! only ever grows, except when a process first opens it and drops the
//! anonymous creates of exited processes (a new generation). Each process
//! keeps what it has read and, under the lock, reads only the lines added
//! since: one entry per planned or applied create, so a run of thousands of
//! resources costs a few microseconds per entry, not a rewrite of the whole
//! file.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// The most a log or register may hold. A full organization (50 providers
/// of 50 mappings, each planned and applied) writes about 5,100 entries of
/// about 130 bytes, under 1 MiB; anything past this is not ours to trust.
pub(crate) const MAX_LOG: u64 = 8 << 20;

/// The directory's name under `$XDG_RUNTIME_DIR`, or, with the user id
/// appended, under the temporary directory.
const DIR_NAME: &str = "terraform-provider-openai";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EntryKind {
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
    kind: EntryKind,
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
        if e.kind == EntryKind::Created {
            self.created += 1;
        }
        self.scopes.entry(e.scope.clone()).or_default().push(e);
    }
}

/// What this run has recorded in one scope, across its live processes.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub creates: usize,
    pub removed: BTreeSet<String>,
    pub created: BTreeSet<String>,
}

/// One Terraform process's operation: `PID:START:OPERATION`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RunId {
    pid: u32,
    start: String,
    operation: u64,
}

impl RunId {
    fn key(&self) -> String {
        format!("{}:{}:{}", self.pid, self.start, self.operation)
    }

    /// The part of a file name that names the run.
    fn tag(&self) -> String {
        format!("{}-{}-{}", self.pid, self.start, self.operation)
    }
}

/// The run log of one organization, as seen by this process.
#[derive(Clone, Debug)]
pub(crate) struct RunLog {
    path: PathBuf,
    run: String,
    pid: u32,
    book: Arc<Mutex<Book>>,
}

/// The organization's part of a log's name: a hash of the normalised base
/// URL ([`organization_url`]) and the admin key, so that every spelling of
/// one organization's address shares one log, and the key is not in it.
pub(crate) fn organization_tag(base_url: &str, admin_key: &str) -> String {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        format!("{}\n{admin_key}", organization_url(base_url)).as_bytes(),
    );
    digest.as_ref()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `base_url` as the organization's identity: two spellings that reach the
/// same API give the same string, so that aliases written differently count
/// the limits together.
///
/// - scheme and host in lower case, a trailing dot of the host dropped;
/// - the port always written, the scheme's default when none is given
///   (443 for https, 80 for http);
/// - every loopback spelling (`localhost`, `127.0.0.0/8`, `[::1]`,
///   `[::ffff:127.0.0.1]`) is one host, `loopback`: the emulator or a local
///   proxy answers on them alike, and merging two that differ only counts
///   more together (a refusal at plan), never less;
/// - trailing `/` of the path dropped (`/v1`, `/v1/`); user info and
///   fragment dropped, the query kept.
///
/// A URL that does not parse is used as written, trimmed.
pub(crate) fn organization_url(base_url: &str) -> String {
    use url::Host;
    let text = base_url.trim();
    let Ok(u) = url::Url::parse(text) else {
        return text.to_string();
    };
    let host = match u.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if d == "localhost" {
                "loopback".to_string()
            } else {
                d
            }
        }
        Some(Host::Ipv4(ip)) if ip.is_loopback() => "loopback".to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip))
            if ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()) =>
        {
            "loopback".to_string()
        }
        Some(Host::Ipv6(ip)) => format!("[{ip}]"),
        None => String::new(),
    };
    let port = u
        .port_or_known_default()
        .map_or(String::new(), |p| p.to_string());
    let path = u.path().trim_end_matches('/');
    let query = u.query().map_or(String::new(), |q| format!("?{q}"));
    format!("{}://{host}:{port}{path}{query}", u.scheme())
}

impl RunLog {
    /// The run log for the organization at `base_url` reached with
    /// `admin_key`, for the operation this process belongs to. `None`
    /// (each process then counts alone) where the parent process cannot be
    /// told apart (not a unix system) or no private directory can be had:
    /// that is logged as a warning. Called on every configure, with or
    /// without a key: a configured process must be noted as one, or its
    /// exit would look like the end of a validate walk.
    pub(crate) fn for_organization(base_url: &str, admin_key: Option<&str>) -> Option<Self> {
        let dir = match private_dir() {
            Ok(dir) => dir,
            Err(why) if admin_key.is_some() => {
                tracing::warn!(
                    "the limit ledger shared by this provider's aliases is not used: {why}. \
                     Each provider configuration counts the limits of the organization alone, \
                     so aliases on one organization together may pass a limit at plan time. \
                     The directory must be a real directory owned by this user with mode 0700; \
                     remove it, or set XDG_RUNTIME_DIR to such a directory."
                );
                return None;
            }
            Err(_) => return None,
        };
        let run = match configured_run(&dir) {
            Ok(run) => run?,
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "cannot use the register of this Terraform run; each provider configuration counts the limits alone");
                return None;
            }
        };
        sweep(&dir, &run);
        sweep_legacy(&std::env::temp_dir().join(DIR_NAME), LEGACY_IDLE);
        let admin_key = admin_key?;
        Some(Self::in_dir(
            &dir,
            &organization_tag(base_url, admin_key),
            &run,
            std::process::id(),
        ))
    }

    fn in_dir(dir: &Path, organization: &str, run: &RunId, pid: u32) -> Self {
        RunLog {
            path: dir.join(format!("limits-{organization}-{}.jsonl", run.tag())),
            run: run.key(),
            pid,
            book: Arc::default(),
        }
    }

    /// A run log in `dir` for tests, as the process `pid` of run `run`.
    #[cfg(test)]
    pub(crate) fn at(dir: &std::path::Path, run: &str, pid: u32) -> Self {
        RunLog {
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
        let mut file = open_private(&self.path)?;
        lock(&file)?;
        let mut book = self.book.lock().unwrap_or_else(|e| e.into_inner());
        let len = file.metadata()?.len();
        let generation = if len > MAX_LOG {
            // Not a log this provider wrote: start afresh.
            None
        } else {
            read_header(&mut file)?
        };
        if generation.is_none() || generation != book.generation || book.offset > len {
            *book = self.reload(&mut file, generation)?;
        }
        file.seek(SeekFrom::Start(book.offset))?;
        let mut added = String::new();
        Read::by_ref(&mut file)
            .take(MAX_LOG)
            .read_to_string(&mut added)?;
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
    /// this process): drops the anonymous creates of exited processes by
    /// rewriting it as a new generation when there are any (or when it is
    /// new, unreadable or too large).
    ///
    /// The rewrite is in place, under the lock: a new file renamed over the
    /// old one would leave processes waiting on the old file's lock with a
    /// log nobody else reads.
    fn reload(&self, file: &mut File, generation: Option<String>) -> std::io::Result<Book> {
        let mut text = String::new();
        if generation.is_some() {
            file.seek(SeekFrom::Start(0))?;
            Read::by_ref(file).take(MAX_LOG).read_to_string(&mut text)?;
        }
        let mut lines = text.lines();
        // The header: its generation was read already.
        lines.next();
        let all: Vec<Entry> = self.ours(&lines.collect::<Vec<_>>().join("\n"));
        let mut alive_pids: HashMap<u32, bool> = HashMap::new();
        let kept: Vec<Entry> = all
            .iter()
            .filter(|e| {
                e.kind != EntryKind::Create
                    || e.id.is_some()
                    || *alive_pids.entry(e.pid).or_insert_with(|| alive(e.pid))
            })
            .cloned()
            .collect();
        let book = |generation, offset, entries: Vec<Entry>| {
            let mut b = Book {
                generation,
                offset,
                ..Book::default()
            };
            for e in entries {
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
                (EntryKind::Create, Some(key)) if keys.insert(key) => c.creates += 1,
                (EntryKind::Create, Some(_)) => {}
                (EntryKind::Create, None)
                    if *alive_pids.entry(e.pid).or_insert_with(|| alive(e.pid)) =>
                {
                    c.creates += 1
                }
                (EntryKind::Remove, Some(id)) => {
                    c.removed.insert(id.clone());
                }
                (EntryKind::Created, Some(id)) => {
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
    pub(crate) fn admit(
        &self,
        scope: &str,
        key: Option<&str>,
        fits: impl FnOnce(&Counts) -> bool,
    ) -> std::io::Result<(Counts, bool)> {
        self.with(scope, |entries, _| {
            let mut counts = Self::counts_in(entries, scope);
            let counted = key.is_some_and(|k| {
                entries.iter().any(|e| {
                    e.scope == scope && e.kind == EntryKind::Create && e.id.as_deref() == Some(k)
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
            (
                (counts, true),
                vec![self.entry(scope, EntryKind::Create, key)],
            )
        })
        .map(|(out, _)| out)
    }

    /// Records `kind` for `id` in `scope`, once per run.
    pub(crate) fn record(&self, scope: &str, kind: EntryKind, id: &str) -> std::io::Result<()> {
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
    pub(crate) fn counts(&self, scope: &str) -> std::io::Result<(Counts, u64)> {
        self.with(scope, |entries, _| {
            (Self::counts_in(entries, scope), Vec::new())
        })
    }

    /// How many objects this run has created, in every scope.
    pub(crate) fn created_in_run(&self) -> std::io::Result<usize> {
        self.with("", |_, created| (created, Vec::new()))
            .map(|(out, _)| out)
    }

    fn entry(&self, scope: &str, kind: EntryKind, id: Option<&str>) -> Entry {
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

/// The start time of process `pid` (Linux: clock ticks since boot, which
/// tell a reused pid apart); empty elsewhere, `None` when it does not run.
fn start_time(pid: u32) -> Option<String> {
    if !alive(pid) {
        return None;
    }
    Some(
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let after_name = s.rsplit_once(')')?.1.to_string();
                after_name.split_whitespace().nth(19).map(str::to_string)
            })
            .unwrap_or_default(),
    )
}

/// Whether the process `pid` that started at `start` still runs.
fn alive_as(pid: u32, start: &str) -> bool {
    start_time(pid).is_some_and(|now| start.is_empty() || now.is_empty() || now == start)
}

/// This process's parent (the Terraform process), and both start times.
#[cfg(unix)]
fn lineage() -> Option<(u32, String, u32, String)> {
    let parent = rustix::process::getppid()?.as_raw_nonzero().get() as u32;
    let me = std::process::id();
    Some((parent, start_time(parent)?, me, start_time(me)?))
}

#[cfg(not(unix))]
fn lineage() -> Option<(u32, String, u32, String)> {
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

#[cfg(unix)]
pub(crate) fn lock(file: &File) -> std::io::Result<()> {
    rustix::fs::flock(file, rustix::fs::FlockOperation::LockExclusive).map_err(Into::into)
}

#[cfg(not(unix))]
pub(crate) fn lock(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// The directory this user's provider processes share: `terraform-provider-openai`
/// in `$XDG_RUNTIME_DIR` when that is a private directory of ours, else
/// `terraform-provider-openai-<uid>` in the temporary directory. `Err` says
/// why there is none to use.
pub(crate) fn private_dir() -> Result<PathBuf, String> {
    #[cfg(unix)]
    {
        if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from)
            && runtime.is_absolute()
            && check_private(&runtime).is_ok()
        {
            return ensure_private(&runtime.join(DIR_NAME));
        }
        let uid = rustix::process::geteuid().as_raw();
        ensure_private(&std::env::temp_dir().join(format!("{DIR_NAME}-{uid}")))
    }
    #[cfg(not(unix))]
    Err("the run log needs a unix system".to_string())
}

/// Creates `dir` (mode 0700) unless it exists, then checks it is private
/// ([`check_private`]); also that its parent does not let another user
/// swap it (owned by us or root, and sticky if others may write to it).
#[cfg(unix)]
pub(crate) fn ensure_private(dir: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let shown = dir.display();
    if let Some(parent) = dir.parent() {
        let m = std::fs::metadata(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        let uid = rustix::process::geteuid().as_raw();
        if m.uid() != uid && m.uid() != 0 {
            return Err(format!(
                "{} belongs to another user (uid {})",
                parent.display(),
                m.uid()
            ));
        }
        if m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0 {
            return Err(format!(
                "{} may be written by other users and is not sticky (mode {:o})",
                parent.display(),
                m.mode() & 0o7777
            ));
        }
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {shown}: {e}")),
    }
    check_private(dir)?;
    Ok(dir.to_path_buf())
}

/// Whether `dir` itself (not what a symbolic link points to) is a directory
/// owned by this user that no other user may read, write or enter.
#[cfg(unix)]
fn check_private(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let shown = dir.display();
    let m = std::fs::symlink_metadata(dir).map_err(|e| format!("{shown}: {e}"))?;
    if !m.file_type().is_dir() {
        return Err(format!(
            "{shown} is not a directory (a symbolic link or a file)"
        ));
    }
    let uid = rustix::process::geteuid().as_raw();
    if m.uid() != uid {
        return Err(format!(
            "{shown} belongs to another user (uid {}, this process runs as {uid})",
            m.uid()
        ));
    }
    if m.mode() & 0o077 != 0 {
        return Err(format!(
            "{shown} is open to other users (mode {:o})",
            m.mode() & 0o7777
        ));
    }
    Ok(())
}

/// Opens (creating it, mode 0600) a file of ours in the private directory:
/// never through a symbolic link, never a FIFO's blocking open, and only a
/// regular file owned by this user with one link, so that nothing else can
/// be read or written through it.
pub(crate) fn open_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        o.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
        let file = o.open(path)?;
        let m = file.metadata()?;
        let refuse = |why: String| {
            Err(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{}: {why}; not used", path.display()),
            ))
        };
        if !m.file_type().is_file() {
            return refuse("not a regular file".into());
        }
        let uid = rustix::process::geteuid().as_raw();
        if m.uid() != uid {
            return refuse(format!("owned by uid {}", m.uid()));
        }
        if m.nlink() != 1 {
            return refuse(format!("has {} links", m.nlink()));
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    o.open(path)
}

/// The register of one Terraform process: a line per provider process it
/// started (`S PID START QUIET`, QUIET 1 when no configured process of the
/// run was alive then) and per configure (`C PID START OPERATION`). See the
/// module comment for what it is for.
struct Register {
    file: File,
    lines: Vec<Line>,
}

#[derive(Debug, PartialEq, Eq)]
enum Line {
    Started {
        pid: u32,
        start: String,
        quiet: bool,
    },
    Configured {
        pid: u32,
        start: String,
        operation: u64,
    },
}

impl Line {
    fn parse(l: &str) -> Option<Line> {
        let mut w = l.split(' ');
        let (kind, pid, start, last) = (w.next()?, w.next()?, w.next()?, w.next()?);
        let (pid, start) = (pid.parse().ok()?, start.to_string());
        match kind {
            "S" => Some(Line::Started {
                pid,
                start,
                quiet: last == "1",
            }),
            "C" => Some(Line::Configured {
                pid,
                start,
                operation: last.parse().ok()?,
            }),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Line::Started { pid, start, quiet } => format!("S {pid} {start} {}\n", *quiet as u8),
            Line::Configured {
                pid,
                start,
                operation,
            } => format!("C {pid} {start} {operation}\n"),
        }
    }
}

impl Register {
    fn path(dir: &Path, parent: u32, parent_start: &str) -> PathBuf {
        dir.join(format!("run-{parent}-{parent_start}.procs"))
    }

    /// Opens and reads the register at `path` under its lock (held until
    /// the register is dropped).
    fn open(path: &Path) -> std::io::Result<Register> {
        let mut file = open_private(path)?;
        lock(&file)?;
        let mut text = String::new();
        if file.metadata()?.len() <= MAX_LOG {
            Read::by_ref(&mut file)
                .take(MAX_LOG)
                .read_to_string(&mut text)?;
        } else {
            file.set_len(0)?;
        }
        Ok(Register {
            lines: text.lines().filter_map(Line::parse).collect(),
            file,
        })
    }

    fn append(&mut self, line: Line) -> std::io::Result<()> {
        self.file.seek(SeekFrom::End(0))?;
        self.file.write_all(line.text().as_bytes())?;
        self.lines.push(line);
        Ok(())
    }

    /// Whether a configured process of the run is alive.
    fn busy(&self) -> bool {
        self.lines.iter().any(|l| match l {
            Line::Configured { pid, start, .. } => alive_as(*pid, start),
            _ => false,
        })
    }

    /// The operation a process configured now belongs to: the last
    /// configured one's, or the next when, since that configure, a process
    /// started with none configured alive and exited unconfigured (a
    /// validate walk: a new operation). `me` is left out.
    fn operation_now(&self, me: (u32, &str)) -> u64 {
        let last = self
            .lines
            .iter()
            .rposition(|l| matches!(l, Line::Configured { .. }));
        let operation = match last.map(|i| &self.lines[i]) {
            Some(Line::Configured { operation, .. }) => *operation,
            _ => 0,
        };
        let configured: HashSet<(u32, &str)> = self
            .lines
            .iter()
            .filter_map(|l| match l {
                Line::Configured { pid, start, .. } => Some((*pid, start.as_str())),
                _ => None,
            })
            .collect();
        let since = last.map_or(0, |i| i + 1);
        let boundary = self.lines[since..].iter().any(|l| match l {
            Line::Started { pid, start, quiet } => {
                *quiet
                    && (*pid, start.as_str()) != me
                    && !configured.contains(&(*pid, start.as_str()))
                    && !alive_as(*pid, start)
            }
            _ => false,
        });
        operation + u64::from(boundary)
    }
}

/// Notes that this provider process started, for [`configured_run`] to
/// tell operations apart. Called once, first thing, by the binary; quiet
/// on failure (a process that does not note itself only blurs the
/// boundary of an operation, and configure warns about the directory).
pub fn note_process_start() {
    let Some((parent, parent_start, me, my_start)) = lineage() else {
        return;
    };
    let Ok(dir) = private_dir() else { return };
    if let Err(e) = note_start_in(&dir, parent, &parent_start, me, &my_start) {
        tracing::debug!(error = %e, "cannot note this process in the run's register");
    }
}

fn note_start_in(
    dir: &Path,
    parent: u32,
    parent_start: &str,
    me: u32,
    my_start: &str,
) -> std::io::Result<()> {
    let mut reg = Register::open(&Register::path(dir, parent, parent_start))?;
    let quiet = !reg.busy();
    reg.append(Line::Started {
        pid: me,
        start: my_start.to_string(),
        quiet,
    })
}

/// The run of this process, now being configured: its parent and the
/// operation number ([`Register::operation_now`]), noted in the register.
fn configured_run(dir: &Path) -> std::io::Result<Option<RunId>> {
    let Some((parent, parent_start, me, my_start)) = lineage() else {
        return Ok(None);
    };
    configure_in(dir, parent, &parent_start, me, &my_start).map(Some)
}

fn configure_in(
    dir: &Path,
    parent: u32,
    parent_start: &str,
    me: u32,
    my_start: &str,
) -> std::io::Result<RunId> {
    let mut reg = Register::open(&Register::path(dir, parent, parent_start))?;
    let operation = reg.operation_now((me, my_start));
    reg.append(Line::Configured {
        pid: me,
        start: my_start.to_string(),
        operation,
    })?;
    Ok(RunId {
        pid: parent,
        start: parent_start.to_string(),
        operation,
    })
}

/// How long a log in the former shared directory must have been left alone
/// before it is deleted: an older provider may still be using a recent one.
const LEGACY_IDLE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes the logs earlier versions left in the shared directory `dir`
/// (`$TMPDIR/terraform-provider-openai`, hundreds after a while), if `dir`
/// itself is a directory of ours: our regular files named `limits-*.json`
/// or `limits-*.jsonl` untouched for `idle`, and links planted there; then
/// `dir` if that left it empty. Nothing is followed or read.
fn sweep_legacy(dir: &Path, idle: std::time::Duration) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = rustix::process::geteuid().as_raw();
        let Ok(m) = std::fs::symlink_metadata(dir) else {
            return;
        };
        if !m.file_type().is_dir() || m.uid() != uid {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with("limits-")
                && (name.ends_with(".json") || name.ends_with(".jsonl")))
            {
                continue;
            }
            let Ok(m) = std::fs::symlink_metadata(entry.path()) else {
                continue;
            };
            let old = m
                .modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age >= idle);
            if m.file_type().is_symlink() || (m.file_type().is_file() && m.uid() == uid && old) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let _ = std::fs::remove_dir(dir);
    }
}

/// Deletes the files of finished runs and of earlier operations of `run`
/// in `dir`, and logs of the older formats (`limits-HASH.json`,
/// `limits-HASH.jsonl`). Only regular files are touched; a failure leaves
/// the file for a later sweep.
fn sweep(dir: &Path, run: &RunId) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut alive_runs: HashMap<(u32, String), bool> = HashMap::new();
    let mut finished = |pid: u32, start: &str| {
        !*alive_runs
            .entry((pid, start.to_string()))
            .or_insert_with(|| alive_as(pid, start))
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = if let Some(rest) = name.strip_prefix("limits-") {
            if rest.ends_with(".json") {
                true
            } else if let Some(rest) = rest.strip_suffix(".jsonl") {
                let parts: Vec<&str> = rest.split('-').collect();
                match parts.as_slice() {
                    [_organization] => true,
                    [_organization, pid, start, operation] => match pid.parse::<u32>() {
                        Ok(pid) if pid == run.pid && *start == run.start => {
                            operation.parse::<u64>().is_ok_and(|o| o < run.operation)
                        }
                        Ok(pid) => finished(pid, start),
                        Err(_) => false,
                    },
                    _ => false,
                }
            } else {
                false
            }
        } else if let Some(rest) = name
            .strip_prefix("run-")
            .and_then(|r| r.strip_suffix(".procs"))
        {
            match rest.split_once('-') {
                Some((pid, start)) => pid.parse::<u32>().is_ok_and(|pid| finished(pid, start)),
                None => false,
            }
        } else {
            false
        };
        if stale
            && entry
                .file_type()
                .is_ok_and(|t| t.is_file() || t.is_symlink())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processes_of_one_run_count_together_and_other_runs_apart() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let a = RunLog::at(dir.path(), "run1", me);
        let b = RunLog::at(dir.path(), "run1", me);
        let other = RunLog::at(dir.path(), "run2", me);
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
        a.record("providers", EntryKind::Remove, "wip_1").unwrap();
        b.record("providers", EntryKind::Remove, "wip_1").unwrap();
        let (c, _) = a.counts("providers").unwrap();
        assert_eq!(c.removed.len(), 1);
        a.record("providers", EntryKind::Created, "wip_9").unwrap();
        assert_eq!(b.created_in_run().unwrap(), 1);
        assert_eq!(other.created_in_run().unwrap(), 0);
    }

    #[test]
    fn creates_of_exited_processes_count_when_they_name_what_they_create() {
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let gone = RunLog::at(dir.path(), "run1", dead);
        assert!(gone.admit("providers", Some("name:x"), |_| true).unwrap().1);
        assert!(gone.admit("providers", None, |_| true).unwrap().1);
        gone.record("providers", EntryKind::Remove, "wip_1")
            .unwrap();
        let me = RunLog::at(dir.path(), "run1", std::process::id());
        let (c, _) = me.counts("providers").unwrap();
        assert_eq!(c.creates, 1, "the anonymous one went with its process");
        assert_eq!(c.removed.len(), 1);
    }

    #[test]
    fn a_process_opening_a_log_with_nothing_to_drop_counts_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let a = RunLog::at(dir.path(), "run1", me);
        assert!(a.admit("providers", None, |_| true).unwrap().1);
        a.record("providers", EntryKind::Created, "wip_1").unwrap();
        // A second process of the run reads the log whole, once.
        let b = RunLog::at(dir.path(), "run1", me);
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
        let a = RunLog::at(dir.path(), "run1", std::process::id());
        let b = RunLog::at(dir.path(), "run1", std::process::id());
        // 60 providers of 50 mappings, planned and applied by two processes.
        for i in 0..3000 {
            let l = if i % 2 == 0 { &a } else { &b };
            let scope = format!("mappings:wip_{}", i / 50);
            assert!(l.admit(&scope, Some(&format!("k{i}")), |_| true).unwrap().1);
            l.record(&scope, EntryKind::Created, &format!("wifr_{i}"))
                .unwrap();
        }
        // Recording the same again adds nothing.
        a.record("mappings:wip_0", EntryKind::Created, "wifr_7")
            .unwrap();
        let text = std::fs::read_to_string(dir.path().join("limits.jsonl")).unwrap();
        assert_eq!(text.lines().count(), 1 + 6000);
        let (counts, _) = b.counts("mappings:wip_59").unwrap();
        assert_eq!((counts.creates, counts.created.len()), (50, 50));
        assert_eq!(a.created_in_run().unwrap(), 3000);
    }

    /// A pid that ran and has exited.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        pid
    }

    /// A live child process; killed on drop.
    struct Live(std::process::Child);

    impl Live {
        fn new() -> Self {
            Live(
                std::process::Command::new("sleep")
                    .arg("60")
                    .spawn()
                    .unwrap(),
            )
        }
        fn id(&self) -> (u32, String) {
            let pid = self.0.id();
            (pid, start_time(pid).unwrap())
        }
    }

    impl Drop for Live {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    fn is_root() -> bool {
        rustix::process::geteuid().is_root()
    }

    #[test]
    fn spellings_of_one_organization_share_an_identity() {
        let same = [
            (
                "http://127.0.0.1:8080/v1",
                &[
                    "http://127.0.0.1:8080/v1/",
                    "http://localhost:8080/v1",
                    "http://LOCALHOST:8080/v1/",
                    "http://localhost.:8080/v1",
                    "http://[::1]:8080/v1",
                    "http://[::ffff:127.0.0.1]:8080/v1",
                    "http://127.0.0.2:8080/v1",
                    " HTTP://127.0.0.1:8080/v1 ",
                    "http://user:pw@127.0.0.1:8080/v1#x",
                ][..],
            ),
            (
                "https://api.openai.com/v1",
                &[
                    "https://api.openai.com/v1/",
                    "https://API.OpenAI.com/v1",
                    "https://api.openai.com:443/v1",
                    "HTTPS://api.openai.com./v1//",
                ][..],
            ),
            ("http://example.com/v1", &["http://example.com:80/v1/"][..]),
        ];
        for (base, spellings) in same {
            for s in spellings {
                assert_eq!(organization_url(s), organization_url(base), "{s} vs {base}");
                assert_eq!(organization_tag(s, "k"), organization_tag(base, "k"));
            }
        }
        assert_eq!(
            organization_url("http://localhost:8080/v1/"),
            "http://loopback:8080/v1"
        );
        assert_eq!(
            organization_url("https://api.openai.com/v1"),
            "https://api.openai.com:443/v1"
        );
        let different = [
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8081/v1"),
            ("http://127.0.0.1:8080/v1", "https://127.0.0.1:8080/v1"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v2"),
            ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/"),
            (
                "https://api.openai.com/v1",
                "https://api.openai.com:8443/v1",
            ),
            ("https://api.openai.com/v1", "https://eu.api.openai.com/v1"),
            ("https://a.example/v1", "https://a.example/V1"),
        ];
        for (a, b) in different {
            assert_ne!(organization_url(a), organization_url(b), "{a} vs {b}");
        }
        assert_ne!(
            organization_tag("https://api.openai.com/v1", "k1"),
            organization_tag("https://api.openai.com/v1", "k2")
        );
    }

    #[test]
    fn the_private_dir_is_created_0700_and_reused() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        assert_eq!(ensure_private(&dir).unwrap(), dir);
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert_eq!(ensure_private(&dir).unwrap(), dir);
    }

    #[test]
    fn a_dir_planted_by_someone_else_or_open_to_others_is_refused() {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let tmp = tempfile::tempdir().unwrap();
        // Open to everyone, as an attacker would pre-create it.
        let open = tmp.path().join("open");
        std::fs::DirBuilder::new()
            .mode(0o777)
            .create(&open)
            .unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = ensure_private(&open).unwrap_err();
        assert!(why.contains("open to other users"), "{why}");
        // Group-readable is refused too.
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o740)).unwrap();
        assert!(ensure_private(&open).is_err());
        // A symbolic link to a private directory of ours.
        let real = tmp.path().join("real");
        ensure_private(&real).unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let why = ensure_private(&link).unwrap_err();
        assert!(why.contains("not a directory"), "{why}");
        // A plain file where the directory should be.
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        assert!(ensure_private(&file).is_err());
        // A parent others may write to without the sticky bit: the
        // directory could be swapped under us.
        let loose = tmp.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
        let why = ensure_private(&loose.join("p")).unwrap_err();
        assert!(why.contains("not sticky"), "{why}");
        assert!(!loose.join("p").exists(), "nothing created there");
        // With the sticky bit (like /tmp) it is fine.
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o1777)).unwrap();
        ensure_private(&loose.join("p")).unwrap();
    }

    #[test]
    fn a_dir_owned_by_another_user_is_refused() {
        if !is_root() {
            eprintln!("skipped: needs root to give a directory away");
            return;
        }
        let tmp = tempfile::tempdir().unwrap();
        let theirs = tmp.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let why = ensure_private(&theirs).unwrap_err();
        assert!(why.contains("another user"), "{why}");
    }

    /// A run log whose log path was replaced by `plant`, and the outcome of
    /// one admission through it.
    fn through_planted(plant: impl FnOnce(&Path)) -> std::io::Result<(Counts, bool)> {
        let dir = tempfile::tempdir().unwrap();
        plant(&dir.path().join("limits.jsonl"));
        let l = RunLog::at(dir.path(), "run1", std::process::id());
        l.admit("providers", Some("name:a"), |_| true)
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let r = through_planted(|log| std::os::unix::fs::symlink(&victim, log).unwrap());
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        // A link to a file that does not exist yet is not created either.
        let absent = outside.path().join("absent");
        assert!(through_planted(|log| std::os::unix::fs::symlink(&absent, log).unwrap()).is_err());
        assert!(!absent.exists());
        // Nor is an endless device read.
        let started = std::time::Instant::now();
        assert!(
            through_planted(|log| std::os::unix::fs::symlink("/dev/zero", log).unwrap()).is_err()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_hard_link_a_fifo_or_a_file_of_another_user_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let r = through_planted(|log| std::fs::hard_link(&victim, log).unwrap());
        let e = r.unwrap_err();
        assert!(e.to_string().contains("2 links"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");

        let r = through_planted(|log| {
            let status = std::process::Command::new("mkfifo")
                .arg(log)
                .status()
                .unwrap();
            assert!(status.success());
        });
        assert!(r.unwrap_err().to_string().contains("not a regular file"));

        if is_root() {
            let r = through_planted(|log| {
                std::fs::write(log, "").unwrap();
                std::os::unix::fs::chown(log, Some(65534), Some(65534)).unwrap();
            });
            assert!(r.unwrap_err().to_string().contains("owned by uid 65534"));
        }
    }

    #[test]
    fn an_oversized_or_forged_log_is_started_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("limits.jsonl");
        // Past the cap: a sparse file, so the test stays cheap.
        let f = File::create(&path).unwrap();
        f.set_len(MAX_LOG + 1).unwrap();
        drop(f);
        let l = RunLog::at(dir.path(), "run1", std::process::id());
        let (counts, ok) = l.admit("providers", Some("name:a"), |_| true).unwrap();
        assert!(ok);
        assert_eq!(counts.creates, 1);
        assert!(std::fs::metadata(&path).unwrap().len() < 1024);

        // Lines without a header are not ours: forged creates do not count.
        let forged = serde_json::to_string(&Entry {
            run: "run2".into(),
            pid: std::process::id(),
            scope: "providers".into(),
            kind: EntryKind::Create,
            id: Some("name:forged".into()),
        })
        .unwrap();
        std::fs::write(
            dir.path().join("limits.jsonl"),
            format!("{forged}\n{forged}\n"),
        )
        .unwrap();
        let l = RunLog::at(dir.path(), "run2", std::process::id());
        let (counts, _) = l.counts("providers").unwrap();
        assert_eq!(counts.creates, 0);
    }

    #[test]
    fn each_operation_of_a_terraform_process_counts_apart() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let me = std::process::id();
        let parent = (me, start_time(me).unwrap());
        let start = |p: (u32, String)| note_start_in(d, parent.0, &parent.1, p.0, &p.1).unwrap();
        let configure = |p: &(u32, String)| {
            configure_in(d, parent.0, &parent.1, p.0, &p.1)
                .unwrap()
                .operation
        };
        // The CLI loads schemas, then the validate walk: both exit unconfigured.
        start((dead_pid(), "1".into()));
        start((dead_pid(), "1".into()));
        // The plan walk: two aliases, the second started while the first runs.
        let (a, b) = (Live::new(), Live::new());
        start(a.id());
        let first = configure(&a.id());
        start(b.id());
        assert_eq!(configure(&b.id()), first, "aliases of one walk");
        drop((a, b));
        // The apply walk: no validate walk in between.
        let c = Live::new();
        start(c.id());
        assert_eq!(
            configure(&c.id()),
            first,
            "the apply walk continues the plan's"
        );
        drop(c);
        // The next `run` block validates first: a new operation.
        start((dead_pid(), "1".into()));
        let d2 = Live::new();
        start(d2.id());
        let second = configure(&d2.id());
        assert_eq!(second, first + 1);
        // An alias started after the first configured one exited (low
        // parallelism) is still the same operation.
        drop(d2);
        let e = Live::new();
        start(e.id());
        assert_eq!(configure(&e.id()), second);
        // A process that never noted its start (no register) joins the last.
        let f = Live::new();
        assert_eq!(configure(&f.id()), second);
    }

    #[test]
    fn files_of_finished_runs_and_earlier_operations_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let me = std::process::id();
        let mine = start_time(me).unwrap();
        let other = Live::new();
        let (opid, ostart) = other.id();
        let dead = dead_pid();
        let run = RunId {
            pid: me,
            start: mine.clone(),
            operation: 2,
        };
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let names = [
            ("limits-abc.json", false),
            ("limits-abc.jsonl", false),
            (&*format!("limits-abc-{dead}-7-0.jsonl"), false),
            (&*format!("limits-abc-{me}-{mine}-1.jsonl"), false),
            (&*format!("limits-abc-{me}-{mine}-2.jsonl"), true),
            (&*format!("limits-abc-{opid}-{ostart}-0.jsonl"), true),
            (&*format!("run-{dead}-7.procs"), false),
            (&*format!("run-{me}-{mine}.procs"), true),
            ("unrelated", true),
        ];
        for (name, _) in &names {
            std::fs::write(d.join(name), "x").unwrap();
        }
        std::os::unix::fs::symlink(&victim, d.join("limits-link.json")).unwrap();
        sweep(d, &run);
        for (name, kept) in names {
            assert_eq!(d.join(name).exists(), kept, "{name}");
        }
        assert!(!d.join("limits-link.json").exists());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    }

    #[test]
    fn logs_left_in_the_former_shared_directory_are_deleted_when_idle() {
        let tmp = tempfile::tempdir().unwrap();
        let legacy = tmp.path().join("terraform-provider-openai");
        std::fs::create_dir(&legacy).unwrap();
        let outside = tmp.path().join("victim");
        std::fs::write(&outside, "precious").unwrap();
        let idle = std::time::Duration::from_secs(3600);
        let long_ago = std::time::SystemTime::now() - 2 * idle;
        for name in ["limits-a.json", "limits-b.jsonl"] {
            let f = File::create(legacy.join(name)).unwrap();
            f.set_modified(long_ago).unwrap();
        }
        std::fs::write(legacy.join("limits-busy.jsonl"), "x").unwrap();
        std::fs::write(legacy.join("other"), "x").unwrap();
        std::os::unix::fs::symlink(&outside, legacy.join("limits-c.json")).unwrap();
        sweep_legacy(&legacy, idle);
        let left: BTreeSet<String> = std::fs::read_dir(&legacy)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            left,
            BTreeSet::from(["limits-busy.jsonl".to_string(), "other".to_string()])
        );
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "precious");
        // Emptied, it goes too.
        std::fs::remove_file(legacy.join("other")).unwrap();
        std::fs::remove_file(legacy.join("limits-busy.jsonl")).unwrap();
        sweep_legacy(&legacy, idle);
        assert!(!legacy.exists());
        // A link in place of the directory is left alone, and not followed.
        let target = tmp.path().join("target");
        std::fs::create_dir(&target).unwrap();
        let f = File::create(target.join("limits-x.json")).unwrap();
        f.set_modified(long_ago).unwrap();
        std::os::unix::fs::symlink(&target, &legacy).unwrap();
        sweep_legacy(&legacy, idle);
        assert!(target.join("limits-x.json").exists());
    }
}
