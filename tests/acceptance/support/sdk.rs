//! OpenAI's official SDKs (PyPI and npm `openai`), pinned by
//! `scripts/install-openai-sdk` (the single place that names their
//! versions), for the contract tests and the guides whose code runs in the
//! suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-openai-sdk");

/// Where the pinned SDKs are: the venv's Python that holds the `openai`
/// package, and the directory whose `node_modules` holds the npm `openai`
/// package (none when npm is not installed).
pub struct Sdks {
    pub python: PathBuf,
    pub node_dir: Option<PathBuf>,
}

/// The pinned SDKs, installed on first use (once per test process; the
/// script itself is idempotent and locked across processes).
pub fn sdks() -> &'static Sdks {
    static SDKS: OnceLock<Sdks> = OnceLock::new();
    SDKS.get_or_init(|| {
        let out = Command::new(INSTALL_SCRIPT)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run {INSTALL_SCRIPT}: {e}; it needs python3 on PATH")
            });
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{INSTALL_SCRIPT} failed ({}). It installs OpenAI's SDKs from PyPI and npm into \
             .tools/; run it by hand to see why.\n{stderr}",
            out.status
        );
        eprint!("{stderr}");
        let stdout = String::from_utf8(out.stdout).expect("install script prints UTF-8");
        let mut python = None;
        let mut node_dir = None;
        for line in stdout.lines() {
            let mut words = line.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("python"), Some(_), Some(path)) => python = Some(PathBuf::from(path)),
                (Some("node"), Some(_), Some(path)) => node_dir = Some(PathBuf::from(path)),
                _ => panic!("install script printed {line:?}, expected `python|node VERSION PATH`"),
            }
        }
        Sdks {
            python: python.expect("the install script names the SDK's Python"),
            node_dir,
        }
    })
}

/// Runs `script` (a file) with the SDK's Python and `env`, returning its output;
/// panics with both streams unless it exits 0.
pub fn run_python(script: &Path, env: &[(&str, &str)]) -> Output {
    run(Command::new(&sdks().python).arg(script), script, env)
}

/// Runs the ES module `source` with Node, where `import ... from 'openai'`
/// finds the pinned npm package; panics unless it exits 0.
pub fn run_node(source: &str, env: &[(&str, &str)]) -> Output {
    let dir = sdks().node_dir.as_deref().expect(
        "the Node SDK is not installed: scripts/install-openai-sdk needs npm on PATH (and Node 20 or later)",
    );
    // Next to node_modules, so the package resolves.
    let script = tempfile::Builder::new()
        .prefix("guide-")
        .suffix(".mjs")
        .tempfile_in(dir)
        .expect("a script file next to node_modules");
    std::fs::write(script.path(), source).expect("script written");
    run(Command::new("node").arg(script.path()), script.path(), env)
}

fn run(cmd: &mut Command, script: &Path, env: &[(&str, &str)]) -> Output {
    let out = cmd
        .envs(env.iter().copied())
        // No user site, proxies or SDK settings from the machine running the tests.
        .env("PYTHONNOUSERSITE", "1")
        .env_remove("OPENAI_API_KEY")
        .env_remove("OPENAI_ADMIN_KEY")
        .env_remove("OPENAI_BASE_URL")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "{} failed ({}).\n--- stdout ---\n{}\n--- stderr ---\n{}",
        script.display(),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
