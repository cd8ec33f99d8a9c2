//! A throwaway Terraform working directory wired to our provider via dev_overrides.
//!
//! Layout inside one temp dir (removed on drop):
//! `work/` (the configuration, Terraform's cwd), `cli.tfrc`, `data/` (TF_DATA_DIR),
//! `plugin-cache/`, `home/` (HOME, so no user config leaks in), `mirror/`.
//!
//! The CLI config overrides our provider with dev_overrides (so every command
//! runs the freshly built binary) and also lists it in a filesystem mirror, so
//! `init` resolves it offline on every version (1.0.3 insists on finding it).
//! `init` is optional: `validate`, `plan`, `apply` work without it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tempfile::TempDir;

use super::emulator::Emulator;
use super::process::{Captured, run_captured, strip_ansi};
use super::terraform::TerraformBin;

/// The provider source address our configurations use in `required_providers`.
pub const PROVIDER_SOURCE: &str = "openai-wif/openai";

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// Environment prefixes never inherited from the test process, so a developer's
/// own Terraform settings or real OpenAI credentials cannot leak into tests.
// Also the platforms' token sources, so a test run inside a real CI job
// (GitHub Actions, a cloud VM) cannot pick up that platform's identity.
const SCRUBBED_PREFIXES: &[&str] = &[
    "TF_",
    "OPENAI_",
    "CHECKPOINT_",
    "ACTIONS_ID_TOKEN_",
    "GCE_METADATA_",
    "AWS_",
    "SPIFFE_",
    // CI platforms' job tokens and the variables that say a job runs there.
    "GITLAB_CI",
    "TFC_",
    "CIRCLE",
    "BITBUCKET_",
    "BUILDKITE",
];
/// Debug knobs that are still passed through when set.
const PASSED_THROUGH: &[&str] = &["TF_LOG", "TF_LOG_PATH", "TF_LOG_CORE", "TF_LOG_PROVIDER"];

/// Directory holding the `terraform-provider-openai` binary Cargo built for this test run.
pub fn provider_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_terraform-provider-openai"))
        .parent()
        .expect("provider binary has a parent directory")
        .to_path_buf()
}

pub struct Workdir {
    root: TempDir,
    tf: TerraformBin,
    env: BTreeMap<String, String>,
    timeout: Duration,
}

impl Workdir {
    /// A workdir whose CLI config points `openai-wif/openai` at the cargo-built provider.
    pub fn new(tf: &TerraformBin) -> Self {
        Self::with_provider_dir(tf, &provider_dir())
    }

    /// A workdir whose provider talks to `emulator` ([`Workdir::use_emulator`]).
    pub fn with_emulator(tf: &TerraformBin, emulator: &Emulator) -> Self {
        let mut wd = Self::new(tf);
        wd.use_emulator(emulator);
        wd
    }

    /// Like [`Workdir::new`] with the provider binary taken from `dir`.
    pub fn with_provider_dir(tf: &TerraformBin, dir: &Path) -> Self {
        let root = tempfile::Builder::new()
            .prefix("tf-harness-")
            .tempdir()
            .expect("creating temp dir for Terraform workdir");
        for sub in ["work", "data", "plugin-cache", "home"] {
            std::fs::create_dir(root.path().join(sub)).expect("creating workdir subfolder");
        }
        // dev_overrides serves plan/apply; the filesystem mirror (a link to
        // the same binary) lets `init` resolve our provider offline too,
        // which Terraform 1.0.3 insists on.
        let mirror = root.path().join("mirror");
        let platform_dir = mirror
            .join("registry.terraform.io")
            .join(PROVIDER_SOURCE)
            .join(env!("CARGO_PKG_VERSION"))
            .join(platform());
        std::fs::create_dir_all(&platform_dir).expect("creating provider mirror");
        #[cfg(unix)]
        std::os::unix::fs::symlink(
            dir.join("terraform-provider-openai"),
            platform_dir.join("terraform-provider-openai"),
        )
        .expect("linking provider into mirror");
        let cli_config = format!(
            "provider_installation {{\n  dev_overrides {{\n    {src} = {dir}\n  }}\n  filesystem_mirror {{\n    path    = {mirror}\n    include = [{full}]\n  }}\n  direct {{\n    exclude = [{full}]\n  }}\n}}\n",
            src = hcl_string(PROVIDER_SOURCE),
            dir = hcl_string(&dir.to_string_lossy()),
            mirror = hcl_string(&mirror.to_string_lossy()),
            full = hcl_string(&format!("registry.terraform.io/{PROVIDER_SOURCE}")),
        );
        std::fs::write(root.path().join("cli.tfrc"), cli_config).expect("writing cli.tfrc");
        Self {
            root,
            tf: tf.clone(),
            env: BTreeMap::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The configuration directory (Terraform's working directory).
    pub fn dir(&self) -> PathBuf {
        self.root.path().join("work")
    }

    pub fn cli_config_path(&self) -> PathBuf {
        self.root.path().join("cli.tfrc")
    }

    /// Writes `contents` to `rel` under the configuration directory, creating folders.
    pub fn write(&self, rel: &str, contents: &str) -> &Self {
        let path = self.dir().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("creating config subfolder");
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        self
    }

    pub fn write_main(&self, contents: &str) -> &Self {
        self.write("main.tf", contents)
    }

    /// Writes main.tf: [`HEADER`](super::HEADER) (which makes `openai`
    /// this provider) and `config`.
    pub fn write_config(&self, config: &str) -> &Self {
        self.write_main(&format!("{}{config}", super::HEADER))
    }

    pub fn read(&self, rel: &str) -> String {
        let path = self.dir().join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
    }

    /// Sets an environment variable for every command run in this workdir.
    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Points the provider at `emulator` through OPENAI_BASE_URL and OPENAI_ADMIN_KEY.
    pub fn use_emulator(&mut self, emulator: &Emulator) -> &mut Self {
        self.env("OPENAI_BASE_URL", &emulator.base_url());
        self.env("OPENAI_ADMIN_KEY", emulator.admin_key())
    }

    /// The command `run` would execute, for cases that need more control.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.command_for(self.tf.path());
        cmd.args(args);
        cmd
    }

    /// `program` run here with this workdir's environment: the test
    /// process's Terraform and OpenAI settings removed, the CLI
    /// configuration with dev_overrides, a private HOME.
    pub fn command_for(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.dir());
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if SCRUBBED_PREFIXES.iter().any(|p| key.starts_with(p))
                && !PASSED_THROUGH.contains(&key.as_ref())
            {
                cmd.env_remove(key.as_ref());
            }
        }
        let root = self.root.path();
        cmd.env("TF_CLI_CONFIG_FILE", root.join("cli.tfrc"))
            .env("TF_DATA_DIR", root.join("data"))
            .env("TF_PLUGIN_CACHE_DIR", root.join("plugin-cache"))
            .env("HOME", root.join("home"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            // The AWS credential and region chains must never reach for a
            // real instance metadata service from a test.
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(&self.env);
        cmd
    }

    /// Runs `terraform ARGS` here and captures the result; never panics on a non-zero exit.
    pub fn run(&self, args: &[&str]) -> TfOutput {
        let captured: Captured = run_captured(self.command(args), self.timeout);
        let command = format!("{} {}", self.tf, args.join(" "));
        let Some(status) = captured.status else {
            panic!(
                "`{command}` in {} did not finish within {:?} and was killed\n--- stdout ---\n{}\n--- stderr ---\n{}",
                self.dir().display(),
                self.timeout,
                captured.stdout,
                captured.stderr
            );
        };
        TfOutput {
            command,
            dir: self.dir(),
            // A death by signal has no code; -1 never collides with Terraform's 0/1/2.
            code: status.code().unwrap_or(-1),
            stdout: strip_ansi(&captured.stdout),
            stderr: strip_ansi(&captured.stderr),
        }
    }

    /// `init -input=false`. Not needed (and failing on old versions) when the only
    /// provider is the dev-overridden one; see the module docs.
    pub fn init(&self) -> TfOutput {
        self.run(&["init", "-input=false"])
    }

    /// `get`: installs modules without touching providers, so it is the offline-safe
    /// replacement for `init` when a configuration uses local modules.
    pub fn get(&self) -> TfOutput {
        self.run(&["get"])
    }

    pub fn validate(&self) -> TfOutput {
        self.run(&["validate"])
    }

    /// `plan -detailed-exitcode`: 0 = no changes, 1 = error, 2 = changes pending.
    pub fn plan_detailed(&self) -> TfOutput {
        self.run(&["plan", "-input=false", "-detailed-exitcode"])
    }

    pub fn apply(&self) -> TfOutput {
        self.run(&["apply", "-input=false", "-auto-approve"])
    }

    /// [`Workdir::apply`] with `-replace=ADDR`.
    pub fn apply_replacing(&self, addr: &str) -> TfOutput {
        let replace = format!("-replace={addr}");
        self.run(&["apply", "-input=false", "-auto-approve", &replace])
    }

    /// [`Workdir::plan_detailed`] with Terraform's machine-readable UI
    /// (`-json`): read what it plans with [`TfOutput::changes`] and
    /// [`TfOutput::planned_actions`], its diagnostics with
    /// [`TfOutput::diagnostics`]. The human rendering of a plan changes
    /// between Terraform versions; these messages do not.
    pub fn plan_json(&self) -> TfOutput {
        self.run(&["plan", "-input=false", "-detailed-exitcode", "-json"])
    }

    /// A plan saved to a file and read back with `show -json`: the planned
    /// values before and after each change (`resource_changes[].change`),
    /// for tests that check what a plan would set rather than how it is
    /// drawn.
    pub fn saved_plan(&self) -> serde_json::Value {
        self.run(&["plan", "-input=false", "-out=saved.tfplan"])
            .assert_success();
        self.run(&["show", "-json", "saved.tfplan"])
            .assert_success()
            .json()
    }

    /// [`Workdir::apply`] with `-json` (see [`Workdir::plan_json`]).
    pub fn apply_json(&self) -> TfOutput {
        self.run(&["apply", "-input=false", "-auto-approve", "-json"])
    }

    pub fn destroy(&self) -> TfOutput {
        self.run(&["destroy", "-input=false", "-auto-approve"])
    }

    /// All root outputs as `{name: {value, type, sensitive}}`.
    pub fn outputs(&self) -> serde_json::Value {
        self.run(&["output", "-json"]).assert_success().json()
    }

    /// The value of one root output; panics if it does not exist.
    pub fn output(&self, name: &str) -> serde_json::Value {
        let outputs = self.outputs();
        outputs
            .get(name)
            .and_then(|o| o.get("value"))
            .cloned()
            .unwrap_or_else(|| panic!("no output {name:?} in {outputs}"))
    }

    /// The state as `terraform show -json` renders it.
    pub fn state(&self) -> serde_json::Value {
        self.run(&["show", "-json"]).assert_success().json()
    }

    /// The root module's resources in [`Workdir::state`] (`address`,
    /// `values`, `tainted`, ...); empty when the state holds none.
    pub fn state_resources(&self) -> Vec<serde_json::Value> {
        let state = self.state();
        state["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Workdir {
    /// The resource at `addr` in [`Workdir::state_resources`]; panics if
    /// the state has none there.
    #[track_caller]
    pub fn state_resource(&self, addr: &str) -> serde_json::Value {
        let resources = self.state_resources();
        resources
            .iter()
            .find(|r| r["address"] == addr)
            .cloned()
            .unwrap_or_else(|| panic!("no {addr} in state: {resources:?}"))
    }

    /// Applies, and asserts that the next plan has nothing to do: what a
    /// configuration the provider accepts must end in.
    #[track_caller]
    pub fn apply_clean(&self) {
        self.apply().assert_success();
        self.plan_detailed().assert_code(0);
    }

    /// The first run of a new configuration, end to end: init and validate
    /// pass, the plan has changes (outputs count), and apply ends clean.
    #[track_caller]
    pub fn first_run(&self) {
        self.init().assert_success();
        self.validate().assert_success();
        self.plan_detailed().assert_code(2);
        self.apply_clean();
    }
}

/// The counts of a plan's or an apply's `change_summary` message (what the
/// human UI prints as `Plan: 1 to add, ...` or `Resources: 1 added, ...`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Imports (Terraform 1.5 and later; 0 before).
    pub import: u64,
    pub add: u64,
    pub change: u64,
    pub remove: u64,
}

impl Changes {
    /// `add` to add, `change` to change, `remove` to destroy, no import.
    pub fn new(add: u64, change: u64, remove: u64) -> Self {
        Changes {
            import: 0,
            add,
            change,
            remove,
        }
    }

    /// Only `n` imports.
    pub fn imports(n: u64) -> Self {
        Changes {
            import: n,
            ..Changes::default()
        }
    }
}

/// The outcome of one Terraform command, with colour codes stripped.
#[derive(Clone, Debug)]
pub struct TfOutput {
    pub command: String,
    pub dir: PathBuf,
    /// Exit code; -1 if killed by a signal.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl TfOutput {
    pub fn success(&self) -> bool {
        self.code == 0
    }

    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        self.assert_code(0)
    }

    #[track_caller]
    pub fn assert_failure(&self) -> &Self {
        assert!(self.code != 0, "expected failure, got success:\n{self}");
        self
    }

    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code:\n{self}");
        self
    }

    /// Asserts exit code `code` (1 for an error, 2 for a plan with
    /// changes) and each of `phrases` in the output
    /// ([`TfOutput::output_contains_words`]).
    #[track_caller]
    pub fn assert_code_saying(&self, code: i32, phrases: &[&str]) -> &Self {
        self.assert_code(code);
        for phrase in phrases {
            self.assert_output_contains_words(phrase);
        }
        self
    }

    /// Asserts a failure with each of `phrases` in the output.
    #[track_caller]
    pub fn assert_failure_saying(&self, phrases: &[&str]) -> &Self {
        self.assert_failure();
        for phrase in phrases {
            self.assert_output_contains_words(phrase);
        }
        self
    }

    pub fn stdout_contains(&self, needle: &str) -> bool {
        self.stdout.contains(needle)
    }

    pub fn stderr_contains(&self, needle: &str) -> bool {
        self.stderr.contains(needle)
    }

    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Self {
        assert!(
            self.stdout_contains(needle),
            "stdout lacks {needle:?}:\n{self}"
        );
        self
    }

    /// Diagnostics wrap lines at ~78 columns inside a box drawn with `│`;
    /// this drops the box and joins all whitespace runs so a phrase matches
    /// wherever Terraform broke the line. Of a `-json` command it also reads
    /// each diagnostic's summary and detail.
    pub fn output_contains_words(&self, phrase: &str) -> bool {
        let squash = |s: &str| {
            s.split_whitespace()
                .filter(|w| *w != "│")
                .collect::<Vec<_>>()
                .join(" ")
        };
        let phrase = squash(phrase);
        squash(&self.stdout).contains(&phrase)
            || squash(&self.stderr).contains(&phrase)
            || self.json_messages().iter().any(|m| {
                let d = &m["diagnostic"];
                [&d["summary"], &d["detail"]]
                    .iter()
                    .any(|t| squash(t.as_str().unwrap_or_default()).contains(&phrase))
            })
    }

    /// The JSON lines of stdout (a `-json` command's messages); lines that
    /// are not JSON are passed over.
    fn json_messages(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.is_object())
            .collect()
    }

    /// The last `change_summary` of a `-json` plan or apply.
    #[track_caller]
    pub fn changes(&self) -> Changes {
        let summary = self
            .json_messages()
            .into_iter()
            .rev()
            .find(|m| m["type"] == "change_summary")
            .unwrap_or_else(|| panic!("no change_summary message:\n{self}"));
        let n = |k: &str| summary["changes"][k].as_u64().unwrap_or(0);
        Changes {
            import: n("import"),
            add: n("add"),
            change: n("change"),
            remove: n("remove"),
        }
    }

    /// Asserts the counts of [`TfOutput::changes`].
    #[track_caller]
    pub fn assert_changes(&self, want: Changes) -> &Self {
        assert_eq!(self.changes(), want, "{self}");
        self
    }

    /// `planned_change` messages of a `-json` plan: resource address to
    /// action (`create`, `update`, `delete`, `replace`, `read`, ...).
    pub fn planned_actions(&self) -> BTreeMap<String, String> {
        self.planned_changes()
            .into_iter()
            .map(|(addr, change)| {
                let action = change["action"].as_str().unwrap_or_default().to_string();
                (addr, action)
            })
            .collect()
    }

    /// Asserts a `-json` plan with changes (exit code 2) that plans
    /// `action` (`create`, `update`, `replace`, ...) for `addr`.
    #[track_caller]
    pub fn assert_planned(&self, addr: &str, action: &str) -> &Self {
        self.assert_code(2);
        assert_eq!(
            self.planned_actions().get(addr).map(String::as_str),
            Some(action),
            "{self}"
        );
        self
    }

    /// The `planned_change` of `addr` in a `-json` plan (`action`, and
    /// `reason` such as `tainted` where Terraform gives one).
    #[track_caller]
    pub fn planned_change(&self, addr: &str) -> serde_json::Value {
        self.planned_changes()
            .remove(addr)
            .unwrap_or_else(|| panic!("no planned change of {addr}:\n{self}"))
    }

    fn planned_changes(&self) -> BTreeMap<String, serde_json::Value> {
        self.json_messages()
            .into_iter()
            .filter(|m| m["type"] == "planned_change")
            .map(|m| {
                let change = m["change"].clone();
                let addr = change["resource"]["addr"].as_str().unwrap_or_default();
                (addr.to_string(), change)
            })
            .collect()
    }

    /// The `diagnostic` objects of a `-json` command (`severity`,
    /// `summary`, `detail`, `address`, `range`).
    pub fn diagnostics(&self) -> Vec<serde_json::Value> {
        self.json_messages()
            .into_iter()
            .filter(|m| m["type"] == "diagnostic")
            .map(|m| m["diagnostic"].clone())
            .collect()
    }

    /// The first diagnostic of `severity` (`error`, `warning`) whose summary
    /// is `summary`.
    #[track_caller]
    pub fn diagnostic(&self, severity: &str, summary: &str) -> serde_json::Value {
        self.diagnostics()
            .into_iter()
            .find(|d| d["severity"] == severity && d["summary"] == summary)
            .unwrap_or_else(|| panic!("no {severity} {summary:?}:\n{self}"))
    }

    /// Whether a diagnostic of `severity` has the summary `summary`.
    pub fn has_diagnostic(&self, severity: &str, summary: &str) -> bool {
        self.diagnostics()
            .iter()
            .any(|d| d["severity"] == severity && d["summary"] == summary)
    }

    #[track_caller]
    pub fn assert_output_contains_words(&self, phrase: &str) -> &Self {
        assert!(
            self.output_contains_words(phrase),
            "output lacks {phrase:?}:\n{self}"
        );
        self
    }

    /// The opposite of [`TfOutput::assert_output_contains_words`].
    #[track_caller]
    pub fn assert_output_lacks_words(&self, phrase: &str) -> &Self {
        assert!(
            !self.output_contains_words(phrase),
            "output has {phrase:?}:\n{self}"
        );
        self
    }

    /// stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// stdout parsed as JSON lines (the `-json` streaming UI of plan/apply).
    #[track_caller]
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("line {l:?} is not JSON ({e}):\n{self}"))
            })
            .collect()
    }
}

impl fmt::Display for TfOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "`{}` in {} exited with {}",
            self.command,
            self.dir.display(),
            self.code
        )?;
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr ---\n{}", self.stderr.trim_end())
    }
}

/// A quoted HCL string literal, escaping what HCL would otherwise interpret.
fn hcl_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "$${")
        .replace("%{", "%%{");
    format!("\"{escaped}\"")
}

/// Terraform's name for this machine's platform, e.g. `linux_amd64`.
pub(super) fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}
