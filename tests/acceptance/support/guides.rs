//! Executable guides: a guide's Markdown read as the steps a reader follows,
//! and a runner that follows them against the emulator with the real
//! Terraform CLI. The conventions are in CONTRIBUTING.md ("Executable
//! guides"); in short, code blocks run in reading order:
//!
//! - `sh`, `bash`, `shell` blocks run in bash (`set -eo pipefail`); their
//!   variables, functions and working directory carry over to later blocks;
//! - every other block needs a marker, an HTML comment directly above it:
//!   `<!-- guide: file PATH -->` (write the block to PATH), `append PATH`,
//!   `exit N` (a shell block that must exit with N), `output` (what the
//!   previous command prints), `cloud-only` (needs a real cloud, CI platform
//!   or OpenAI account), `install` (installs what the harness provides:
//!   `terraform`, `openai-emulator`, the provider), `skip REASON`;
//! - `<!-- guide: run ... -->` and `<!-- guide: check ... -->` hold hidden
//!   shell: setup a reader already has, and the outcome the guide promised.
//!   Every guide has at least one `check`.
//!
//! An unmarked block the harness cannot run is an error, not a skip.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::process::strip_ansi;
use super::workdir::platform;
use super::{Emulator, Workdir, provider_dir, tf_latest, workspace_bin};

/// The address and key the guides use for the emulator; the address is
/// replaced with a free port of this machine.
pub const GUIDE_ADDR: &str = "127.0.0.1:8089";
pub const GUIDE_ADMIN_KEY: &str = "sk-admin-local";
/// The placeholder the guides use for the provider's build, in
/// `dev_overrides`; replaced with the directory Cargo built into.
const GUIDE_PROVIDER_DIR: &str = "/path/to/terraform-provider-openai/target/release";
/// The placeholder for a checkout of the provider; replaced with this one.
const GUIDE_CHECKOUT: &str = "/path/to/terraform-provider-openai";
const STEP_TIMEOUT: Duration = Duration::from_secs(600);
const EMULATOR_START_TIMEOUT: Duration = Duration::from_secs(30);
const SHELLS: &[&str] = &["sh", "bash", "shell"];
/// The version `terraform init` finds the official provider's stand-in at.
const OFFICIAL_STAND_IN_VERSION: &str = "0.0.1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Shell run in bash; the block must exit with `exit`.
    Shell { body: String, exit: i32 },
    /// A block written to (or appended to) a file.
    File {
        path: String,
        body: String,
        append: bool,
    },
    /// A block the harness does not run, and why.
    Skip(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// 1-based line of the fence or comment.
    pub line: usize,
    /// A hidden `check` (the promised outcome).
    pub check: bool,
    pub action: Action,
}

/// A marker waiting for the code block below it.
enum Marker {
    File(String, bool),
    Exit(i32),
    Skip(String),
}

/// Reads a guide into steps, or every reason it cannot be run.
pub fn parse(markdown: &str) -> Result<Vec<Step>, Vec<String>> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    let mut pending: Option<(usize, Marker)> = None;
    let mut i = 0;
    while i < lines.len() {
        let n = i + 1;
        let trimmed = lines[i].trim();
        if let Some(rest) = trimmed.strip_prefix("<!-- guide:") {
            // A comment up to its closing `-->`, on this line or a later one.
            let mut text = rest.to_string();
            while !text.trim_end().ends_with("-->") {
                i += 1;
                let Some(next) = lines.get(i) else {
                    errors.push(format!(
                        "line {n}: `<!-- guide:` is never closed with `-->`"
                    ));
                    return Err(errors);
                };
                text.push('\n');
                text.push_str(next);
            }
            let text = text.trim_end().trim_end_matches("-->");
            let (head, body) = text.split_once('\n').unwrap_or((text, ""));
            let mut words = head.split_whitespace();
            let word = words.next().unwrap_or("");
            let args: Vec<&str> = words.collect();
            let arg = args.join(" ");
            if pending.is_some() {
                errors.push(format!("line {n}: a second marker before a code block"));
            }
            match word {
                "run" | "check" => {
                    let body = if body.trim().is_empty() {
                        &arg
                    } else {
                        body.trim_end()
                    };
                    steps.push(Step {
                        line: n,
                        check: word == "check",
                        action: Action::Shell {
                            body: format!("{body}\n"),
                            exit: 0,
                        },
                    });
                }
                "file" | "append" if args.len() == 1 => {
                    pending = Some((n, Marker::File(arg, word == "append")));
                }
                "exit" => match arg.parse() {
                    Ok(code) => pending = Some((n, Marker::Exit(code))),
                    Err(_) => errors.push(format!("line {n}: `exit` needs a number, not {arg:?}")),
                },
                "output" | "cloud-only" | "install" if args.is_empty() => {
                    pending = Some((n, Marker::Skip(word.to_string())));
                }
                "skip" if !args.is_empty() => pending = Some((n, Marker::Skip(arg))),
                _ => errors.push(format!(
                    "line {n}: unknown marker `guide: {head}` (file PATH, append PATH, exit N, \
                     output, cloud-only, install, skip REASON, run, check)"
                )),
            }
        } else if let Some(info) = trimmed.strip_prefix("```") {
            let lang = info.split_whitespace().next().unwrap_or("").to_string();
            let mut body = String::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push_str(lines[i]);
                body.push('\n');
                i += 1;
            }
            let shell = SHELLS.contains(&lang.as_str());
            let action = match pending.take().map(|(_, m)| m) {
                Some(Marker::File(path, append)) => Some(Action::File { path, body, append }),
                Some(Marker::Skip(why)) => Some(Action::Skip(why)),
                Some(Marker::Exit(exit)) if shell => Some(Action::Shell { body, exit }),
                Some(Marker::Exit(_)) => {
                    errors.push(format!(
                        "line {n}: `exit` marks a `{lang}` block, not a shell one"
                    ));
                    None
                }
                None if shell => Some(Action::Shell { body, exit: 0 }),
                None => {
                    errors.push(format!(
                        "line {n}: a `{lang}` block without a marker, which the harness cannot run: \
                         put `<!-- guide: file PATH -->` (or output, cloud-only, install, skip REASON) above it"
                    ));
                    None
                }
            };
            if let Some(action) = action {
                steps.push(Step {
                    line: n,
                    check: false,
                    action,
                });
            }
        } else if !trimmed.is_empty()
            && let Some((at, _)) = pending.take()
        {
            errors.push(format!(
                "line {at}: the marker is not directly above a code block"
            ));
        }
        i += 1;
    }
    if let Some((at, _)) = pending {
        errors.push(format!(
            "line {at}: the marker is not followed by a code block"
        ));
    }
    if !steps.iter().any(|s| s.check) {
        errors.push(
            "no `<!-- guide: check ... -->`: the guide must prove the outcome it promises".into(),
        );
    }
    if errors.is_empty() {
        Ok(steps)
    } else {
        Err(errors)
    }
}

/// The bash around each shell step: strict mode, the state earlier steps
/// left (variables, functions, working directory), and saving it again on
/// the way out, whatever the exit code.
const PRELUDE: &str = r#"set -eo pipefail
if [ -f "$GUIDE_STATE" ]; then source "$GUIDE_STATE"; fi
__guide_save() {
  local __code=$?
  {
    for __name in $(compgen -v); do
      case $__name in
        BASH*|PPID|UID|EUID|SHELLOPTS|PIPESTATUS|FUNCNAME|GROUPS|DIRSTACK|_|SHLVL|PWD|OLDPWD|RANDOM|SRANDOM|LINENO|SECONDS|HISTCMD|EPOCH*|OPTIND|OPTERR|COMP_*|__*|GUIDE_STATE) continue ;;
      esac
      declare -p "$__name" 2>/dev/null || true
    done
    declare -f
    printf 'cd %q\n' "$PWD"
  } > "$GUIDE_STATE.new"
  mv "$GUIDE_STATE.new" "$GUIDE_STATE"
  printf '%s' "$PWD" > "$GUIDE_STATE.cwd"
  exit $__code
}
trap __guide_save EXIT
"#;

/// Follows one guide from its first block to its last; `Err` holds a
/// transcript of what went wrong.
pub fn run_guide(name: &str, markdown: &str) -> Result<(), String> {
    let steps = parse(markdown)
        .map_err(|errors| format!("{name} cannot be executed:\n  {}", errors.join("\n  ")))?;
    if markdown.contains("\"openai/openai\"") && !official_stand_in().is_file() {
        return Err(format!(
            "{name} uses the official provider, whose stand-in {} is not built: \
             cargo build --examples (scripts/test builds it)",
            official_stand_in().display()
        ));
    }
    // What a reader of the guides needs besides Terraform (the getting-started
    // guide says so); part of this project's machine image.
    for tool in ["bash", "curl", "jq", "python3"] {
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(tool).is_file()));
        if !found {
            return Err(format!(
                "{name}: the guides need `{tool}` on PATH (apt-get install {tool})"
            ));
        }
    }
    let mut run = GuideRun::new(name, &steps);
    let mut transcript = String::new();
    for (index, step) in steps.iter().enumerate() {
        let result = run.step(index, step);
        let (ok, log) = match result {
            Ok(log) => (true, log),
            Err(log) => (false, log),
        };
        transcript.push_str(&format!("--- {name}:{} ---\n{log}\n", step.line));
        if !ok {
            let emulator = run
                .emulator
                .as_ref()
                .map(|e| format!("\n--- the emulator printed ---\n{}", strip_ansi(&e.logs())))
                .unwrap_or_default();
            return Err(format!(
                "{name}: the step at line {} failed\n{transcript}{emulator}",
                step.line
            ));
        }
    }
    Ok(())
}

struct GuideRun {
    wd: Workdir,
    root: PathBuf,
    bin: PathBuf,
    cwd: PathBuf,
    subs: Vec<(String, String)>,
    addr: String,
    emulator: Option<Emulator>,
    /// Process groups of the shell steps, which may have left background
    /// jobs (an emulator the guide started); killed when the guide ends.
    groups: Vec<u32>,
}

impl GuideRun {
    fn new(name: &str, steps: &[Step]) -> Self {
        let tf = tf_latest();
        let wd = Workdir::new(&tf);
        let root = wd
            .cli_config_path()
            .parent()
            .expect("the CLI config sits in the workdir root")
            .to_path_buf();
        let bin = root.join("bin");
        let steps_dir = root.join("steps");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&steps_dir).unwrap();
        std::os::unix::fs::symlink(tf.path(), bin.join("terraform")).unwrap();
        add_official_stand_in(&wd.cli_config_path(), &root.join("official"));
        std::os::unix::fs::symlink(
            workspace_bin("openai-emulator"),
            bin.join("openai-emulator"),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let addr = format!("127.0.0.1:{port}");
        let subs = vec![
            (GUIDE_ADDR.to_string(), addr.clone()),
            (
                GUIDE_PROVIDER_DIR.to_string(),
                provider_dir().to_string_lossy().into_owned(),
            ),
            (
                GUIDE_CHECKOUT.to_string(),
                env!("CARGO_MANIFEST_DIR").to_string(),
            ),
        ];
        let mut run = Self {
            cwd: wd.dir(),
            wd,
            root,
            bin,
            subs,
            addr,
            emulator: None,
            groups: Vec::new(),
        };
        // A guide that does not start the emulator itself continues from
        // one a reader already runs (as the getting-started guide starts it).
        let starts_own = steps
            .iter()
            .any(|s| matches!(&s.action, Action::Shell { body, .. } if starts_emulator(body)));
        if !starts_own {
            run.emulator = Some(Emulator::start_at(&run.addr, GUIDE_ADMIN_KEY));
            let url = format!("http://{}", run.addr);
            run.wd
                .env("OPENAI_BASE_URL", &format!("{url}/v1"))
                .env("OPENAI_TOKEN_EXCHANGE_URL", &format!("{url}/oauth/token"))
                .env("OPENAI_ADMIN_KEY", GUIDE_ADMIN_KEY);
        }
        eprintln!(
            "{name}: emulator at {}, workdir {}",
            run.addr,
            run.root.display()
        );
        run
    }

    fn substitute(&self, text: &str) -> String {
        self.subs
            .iter()
            .fold(text.to_string(), |t, (from, to)| t.replace(from, to))
    }

    fn step(&mut self, index: usize, step: &Step) -> Result<String, String> {
        match &step.action {
            Action::Skip(why) => Ok(format!("not run ({why})")),
            Action::File { path, body, append } => {
                let file = self.cwd.join(self.substitute(path));
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                let mut text = if *append {
                    std::fs::read_to_string(&file).unwrap_or_default()
                } else {
                    String::new()
                };
                text.push_str(&self.substitute(body));
                std::fs::write(&file, text).map_err(|e| format!("writing {path}: {e}"))?;
                Ok(format!("wrote {}", file.display()))
            }
            Action::Shell { body, exit } => self.shell(index, &self.substitute(body), *exit),
        }
    }

    fn shell(&mut self, index: usize, body: &str, expected: i32) -> Result<String, String> {
        let dir = self.root.join("steps");
        let script = dir.join(format!("{index}.sh"));
        std::fs::write(&script, format!("{PRELUDE}{body}")).unwrap();
        let (out, err) = (
            dir.join(format!("{index}.out")),
            dir.join(format!("{index}.err")),
        );
        let mut cmd = self.wd.command_for(Path::new("bash"));
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.arg(&script)
            .current_dir(&self.cwd)
            .env("PATH", format!("{}:{path}", self.bin.display()))
            .env("GUIDE_STATE", dir.join("state.sh"))
            .env("GUIDE_REPO", env!("CARGO_MANIFEST_DIR"))
            // Each guide's folders keep their own .terraform, as a reader's would.
            .env_remove("TF_DATA_DIR")
            // The reader answers `yes`.
            .env("TF_CLI_ARGS_apply", "-auto-approve")
            .env("TF_CLI_ARGS_destroy", "-auto-approve")
            .stdin(Stdio::null())
            // Files, not pipes: a background job (an emulator) keeps its
            // output open after the step ends.
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .process_group(0);
        let mut child = cmd.spawn().map_err(|e| format!("cannot start bash: {e}"))?;
        if runs_in_background(body) {
            self.groups.push(child.id());
        }
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx.recv_timeout(STEP_TIMEOUT);
        let read = |p: &Path| strip_ansi(&std::fs::read_to_string(p).unwrap_or_default());
        let log = format!(
            "$ {}\n--- stdout ---\n{}--- stderr ---\n{}",
            body.trim_end().replace('\n', "\n  "),
            read(&out),
            read(&err)
        );
        let code = match status {
            Ok(Ok(status)) => status.code().unwrap_or(-1),
            _ => return Err(format!("{log}\n(did not finish within {STEP_TIMEOUT:?})")),
        };
        if let Ok(cwd) = std::fs::read_to_string(dir.join("state.sh.cwd")) {
            self.cwd = PathBuf::from(cwd);
        }
        if code != expected {
            return Err(format!("{log}\n(exit code {code}, expected {expected})"));
        }
        if starts_emulator(body) {
            self.wait_for_emulator()
                .map_err(|e| format!("{log}\n({e})"))?;
        }
        Ok(log)
    }

    /// A reader waits until the emulator says it listens; so does the harness.
    fn wait_for_emulator(&self) -> Result<(), String> {
        let deadline = Instant::now() + EMULATOR_START_TIMEOUT;
        while TcpStream::connect(&self.addr).is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "nothing listens on {} after {EMULATOR_START_TIMEOUT:?}",
                    self.addr
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for GuideRun {
    fn drop(&mut self) {
        for group in &self.groups {
            // Only what this guide's own steps started: their process groups.
            let _ = Command::new("kill")
                .args(["-TERM", "--", &format!("-{group}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// The stand-in for OpenAI's official provider (`openai/openai`, which
/// cannot be downloaded here), built as an example of this package.
fn official_stand_in() -> PathBuf {
    provider_dir()
        .join("examples")
        .join("official-openai-provider-stand-in")
}

/// Adds `openai/openai` to the CLI configuration at `cli_config`, served by
/// the stand-in linked into `dir` under the name Terraform looks for: in
/// `dev_overrides`, like our provider, and in the filesystem mirror (as
/// version [`OFFICIAL_STAND_IN_VERSION`]), because `terraform init` installs
/// the providers that only the state names (an object a `moved` block takes
/// over) without looking at `dev_overrides`. Without the stand-in built,
/// guides that use the official provider fail, saying so (see [`run_guide`]).
fn add_official_stand_in(cli_config: &Path, dir: &Path) {
    let stand_in = official_stand_in();
    if !stand_in.is_file() {
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::symlink(&stand_in, dir.join("terraform-provider-openai")).unwrap();
    let root = cli_config
        .parent()
        .expect("the CLI config sits in the workdir root");
    let mirrored = root
        .join("mirror/registry.terraform.io/openai/openai")
        .join(OFFICIAL_STAND_IN_VERSION)
        .join(platform());
    std::fs::create_dir_all(&mirrored).unwrap();
    std::os::unix::fs::symlink(&stand_in, mirrored.join("terraform-provider-openai")).unwrap();
    let official = "\"registry.terraform.io/openai/openai\"";
    let config = std::fs::read_to_string(cli_config)
        .unwrap()
        .replacen(
            "dev_overrides {\n",
            &format!(
                "dev_overrides {{\n    \"openai/openai\" = {:?}\n",
                dir.display().to_string()
            ),
            1,
        )
        .replace("include = [", &format!("include = [{official}, "))
        .replace("exclude = [", &format!("exclude = [{official}, "));
    std::fs::write(cli_config, config).unwrap();
}

fn starts_emulator(body: &str) -> bool {
    body.contains("openai-emulator --listen") && runs_in_background(body)
}

fn runs_in_background(body: &str) -> bool {
    body.lines().any(|l| l.trim_end().ends_with('&'))
}
