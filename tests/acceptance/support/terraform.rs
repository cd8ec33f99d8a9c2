//! Which Terraform CLIs the tests drive, installed on first use.
//!
//! The pinned versions come from `scripts/install-terraform` (the single place
//! that names them). Environment knobs:
//! * `TF_HARNESS_USE_PATH=1` also tests the `terraform` and `tofu` found on PATH.
//! * `TF_HARNESS_VERSIONS=1.15.5,1.0.3` keeps only those versions (for quick local runs).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

const INSTALL_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/install-terraform");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    Terraform,
    OpenTofu,
}

/// One Terraform (or OpenTofu) CLI that tests can run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformBin {
    flavor: Flavor,
    version: String,
    semver: (u32, u32, u32),
    path: PathBuf,
}

impl TerraformBin {
    fn new(flavor: Flavor, version: &str, path: PathBuf) -> Self {
        let semver = parse_semver(version).unwrap_or_else(|| {
            panic!(
                "{} reports version {version:?}, which is not X.Y.Z",
                path.display()
            )
        });
        Self {
            flavor,
            version: version.to_string(),
            semver,
            path,
        }
    }

    /// The version as the CLI reports it, e.g. `"1.15.5"`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_opentofu(&self) -> bool {
        self.flavor == Flavor::OpenTofu
    }

    pub fn at_least(&self, major: u32, minor: u32, patch: u32) -> bool {
        self.semver >= (major, minor, patch)
    }

    /// `terraform_data` exists from Terraform 1.4 (and in every OpenTofu).
    pub fn has_terraform_data(&self) -> bool {
        self.is_opentofu() || self.at_least(1, 4, 0)
    }
}

impl fmt::Display for TerraformBin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.flavor {
            Flavor::Terraform => "terraform",
            Flavor::OpenTofu => "tofu",
        };
        write!(f, "{name} {}", self.version)
    }
}

/// All CLIs to test against: at least the pinned Terraform 1.15.5 and 1.0.3.
///
/// The first call in a test binary runs the install script (idempotent, and
/// serialised across test binaries by its file lock).
pub fn terraform_binaries() -> Vec<TerraformBin> {
    static BINARIES: OnceLock<Vec<TerraformBin>> = OnceLock::new();
    BINARIES.get_or_init(discover).clone()
}

/// The newest Terraform (not OpenTofu) under test.
pub fn tf_latest() -> TerraformBin {
    only_terraform()
        .max_by_key(|t| t.semver)
        .expect("no Terraform CLI under test")
}

/// The oldest Terraform (not OpenTofu) under test.
pub fn tf_oldest() -> TerraformBin {
    only_terraform()
        .min_by_key(|t| t.semver)
        .expect("no Terraform CLI under test")
}

fn only_terraform() -> impl Iterator<Item = TerraformBin> {
    terraform_binaries()
        .into_iter()
        .filter(|t| t.flavor == Flavor::Terraform)
}

fn discover() -> Vec<TerraformBin> {
    let mut found = install_pinned();
    if std::env::var("TF_HARNESS_USE_PATH").is_ok_and(|v| v == "1") {
        for (name, flavor) in [("terraform", Flavor::Terraform), ("tofu", Flavor::OpenTofu)] {
            if let Some(path) = find_on_path(name) {
                let tf = TerraformBin::new(flavor, &query_version(&path), path);
                if !found
                    .iter()
                    .any(|t| t.flavor == tf.flavor && t.version == tf.version)
                {
                    found.push(tf);
                }
            }
        }
    }
    if let Ok(wanted) = std::env::var("TF_HARNESS_VERSIONS") {
        let wanted: Vec<&str> = wanted.split(',').map(str::trim).collect();
        found.retain(|t| wanted.contains(&t.version.as_str()));
        assert!(
            !found.is_empty(),
            "TF_HARNESS_VERSIONS={wanted:?} matches no installed CLI"
        );
    }
    found
}

fn install_pinned() -> Vec<TerraformBin> {
    let out = Command::new(INSTALL_SCRIPT)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {INSTALL_SCRIPT}: {e}; it needs python3 on PATH"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{INSTALL_SCRIPT} failed ({}). It installs Terraform from PyPI into .tools/; \
         run it by hand to see why.\n{stderr}",
        out.status
    );
    // Shown only if a test fails: tells whether this run installed anything.
    eprint!("{stderr}");
    let stdout = String::from_utf8(out.stdout).expect("install script prints UTF-8");
    let bins: Vec<TerraformBin> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (version, path) = line.split_once(' ').unwrap_or_else(|| {
                panic!("install script printed {line:?}, expected `VERSION PATH`")
            });
            TerraformBin::new(Flavor::Terraform, version, PathBuf::from(path))
        })
        .collect();
    assert!(
        !bins.is_empty(),
        "{INSTALL_SCRIPT} printed no Terraform paths"
    );
    bins
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn query_version(path: &Path) -> String {
    let out = Command::new(path)
        .args(["version", "-json"])
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{} version -json printed no JSON: {e}", path.display()));
    json["terraform_version"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "{} version -json has no terraform_version: {json}",
                path.display()
            )
        })
        .to_string()
}

fn parse_semver(v: &str) -> Option<(u32, u32, u32)> {
    // Pre-release suffixes ("1.6.0-alpha1") compare by their numeric core.
    let core = v.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??, parts.next()??))
}
