//! Release packaging: `scripts/package` builds the registry artifacts, and a
//! real `terraform init` installs the provider from them through a
//! `filesystem_mirror` (no dev_overrides), records its hash in the lock file,
//! and `terraform plan` runs the installed binary against the emulator.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Emulator, Workdir, tf_latest};
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine as _;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const PROJECT: &str = "terraform-provider-openai";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(path: &Path) -> String {
    hex(digest(&SHA256, &std::fs::read(path).unwrap()).as_ref())
}

/// Terraform's platform name for the machine running the tests.
fn host_platform() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "arm",
        other => other,
    };
    format!("{os}_{arch}")
}

/// Runs scripts/package on the provider binary Cargo built for the tests.
fn package(dist: &Path) -> Vec<PathBuf> {
    let out = Command::new(Path::new(REPO).join("scripts/package"))
        .arg(VERSION)
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_terraform-provider-openai"))
        .arg("--dist")
        .arg(dist)
        .env_remove("GPG_FINGERPRINT")
        .output()
        .expect("running scripts/package (needs python3)");
    assert!(
        out.status.success(),
        "scripts/package failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect()
}

/// Terraform's `h1:` hash of an unpacked provider: the SHA-256 of the lines
/// `<sha256 hex>  <name>\n` of its files, sorted by name, in base64. The zip
/// holds the one binary, so the unpacked folder is that binary.
fn h1_of_single_file(name: &str, contents: &[u8]) -> String {
    let summary = format!("{}  {name}\n", hex(digest(&SHA256, contents).as_ref()));
    let sum = digest(&SHA256, summary.as_bytes());
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(sum.as_ref())
    )
}

#[test]
fn package_writes_registry_artifacts() {
    let tmp = tempfile::tempdir().unwrap();
    let written = package(tmp.path());
    let prefix = format!("{PROJECT}_{VERSION}");
    let zip = tmp.path().join(format!("{prefix}_{}.zip", host_platform()));
    let manifest = tmp.path().join(format!("{prefix}_manifest.json"));
    let sums = tmp.path().join(format!("{prefix}_SHA256SUMS"));
    assert_eq!(written, vec![zip.clone(), manifest.clone(), sums.clone()]);

    let manifest_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert_eq!(
        manifest_json,
        serde_json::json!({"version": 1, "metadata": {"protocol_versions": ["6.0"]}})
    );

    let mut expected = [
        format!(
            "{}  {}",
            sha256_hex(&zip),
            zip.file_name().unwrap().to_string_lossy()
        ),
        format!(
            "{}  {}",
            sha256_hex(&manifest),
            manifest.file_name().unwrap().to_string_lossy()
        ),
    ];
    expected.sort_by(|a, b| a[66..].cmp(&b[66..]));
    assert_eq!(
        std::fs::read_to_string(&sums).unwrap(),
        expected.join("\n") + "\n"
    );
}

#[test]
fn package_refuses_a_version_terraform_cannot_use() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(Path::new(REPO).join("scripts/package"))
        .args(["release-1", "--binary"])
        .arg(env!("CARGO_BIN_EXE_terraform-provider-openai"))
        .arg("--dist")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a semantic version"), "{stderr}");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn terraform_installs_the_package_from_a_filesystem_mirror() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf, &emu);

    // The packed mirror layout: HOSTNAME/NAMESPACE/TYPE/<the release zip>.
    let dist = tempfile::tempdir().unwrap();
    let written = package(dist.path());
    let zip = &written[0];
    let mirror = tempfile::tempdir().unwrap();
    let slot = mirror
        .path()
        .join("registry.terraform.io/openai-wif/openai");
    std::fs::create_dir_all(&slot).unwrap();
    std::fs::copy(zip, slot.join(zip.file_name().unwrap())).unwrap();

    // Replace the harness's dev_overrides: install like a user would.
    std::fs::write(
        wd.cli_config_path(),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/openai-wif/openai\"]\n  }}\n}}\n",
            mirror.path().to_string_lossy()
        ),
    )
    .unwrap();
    wd.write_main(&format!(
        r#"
terraform {{
  required_providers {{
    openai = {{
      source  = "openai-wif/openai"
      version = "= {VERSION}"
    }}
  }}
}}

resource "openai_workload_identity_provider" "github" {{
  name     = "github-actions"
  issuer   = "https://token.actions.githubusercontent.com"
  audience = "https://api.openai.com/v1"
}}
"#
    ));

    let init = wd.init();
    init.assert_success();
    assert!(
        init.output_contains_words(&format!("Installed openai-wif/openai v{VERSION}")),
        "{init}"
    );

    let binary_name = format!("{PROJECT}_v{VERSION}");
    let binary = std::fs::read(env!("CARGO_BIN_EXE_terraform-provider-openai")).unwrap();
    let h1 = h1_of_single_file(&binary_name, &binary);
    let lock = wd.read(".terraform.lock.hcl");
    assert!(
        lock.contains("provider \"registry.terraform.io/openai-wif/openai\"")
            && lock.contains(&format!("version     = \"{VERSION}\""))
            && lock.contains(&format!("\"{h1}\"")),
        "the lock file should record version {VERSION} and {h1}:\n{lock}"
    );

    let plan = wd.plan_json();
    plan.assert_planned("openai_workload_identity_provider.github", "create");
    // The installed plugin, not a dev override, answered: it asked the
    // emulator for the existing providers to count them against the limit.
    let stats = emu.stats();
    assert!(
        stats["by_route"]["GET /v1/organization/workload_identity_providers"]
            .as_u64()
            .is_some_and(|n| n >= 1),
        "the provider never called the emulator: {stats}"
    );
    let installed = wd
        .dir()
        .parent()
        .unwrap()
        .join("data/providers/registry.terraform.io/openai-wif/openai")
        .join(VERSION)
        .join(host_platform())
        .join(&binary_name);
    assert!(
        installed.is_file(),
        "terraform init should have unpacked {}",
        installed.display()
    );
}

/// `.goreleaser.yml` names its artifacts the way scripts/package does, and
/// builds every platform the registry should offer.
#[test]
fn goreleaser_config_matches_the_packaging() {
    let config = std::fs::read_to_string(Path::new(REPO).join(".goreleaser.yml")).unwrap();
    for line in [
        format!("project_name: {PROJECT}"),
        "builder: rust".to_string(),
        r#"binary: "{{ .ProjectName }}_v{{ .Version }}""#.to_string(),
        r#"name_template: "{{ .ProjectName }}_{{ .Version }}_{{ .Os }}_{{ .Arch }}""#.to_string(),
        r#"name_template: "{{ .ProjectName }}_{{ .Version }}_SHA256SUMS""#.to_string(),
        r#"name_template: "{{ .ProjectName }}_{{ .Version }}_manifest.json""#.to_string(),
        "glob: terraform-registry-manifest.json".to_string(),
        "artifacts: checksum".to_string(),
        "- --detach-sign".to_string(),
    ] {
        assert!(
            config
                .lines()
                .any(|l| l.trim() == line || l.trim().strip_prefix("- ") == Some(&line)),
            ".goreleaser.yml lacks `{line}`"
        );
    }
    let targets: Vec<&str> = config
        .lines()
        .skip_while(|l| l.trim() != "targets:")
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("- "))
        .map(|l| l.trim().trim_start_matches("- "))
        .collect();
    let mut platforms: Vec<String> = targets
        .iter()
        .map(|t| {
            let parts: Vec<&str> = t.split('-').collect();
            let arch = match parts[0] {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                "armv7" => "arm",
                other => panic!("unexpected target arch in {t}: {other}"),
            };
            format!("{}_{arch}", parts[2])
        })
        .collect();
    platforms.sort();
    assert_eq!(
        platforms,
        [
            "darwin_amd64",
            "darwin_arm64",
            "linux_amd64",
            "linux_arm",
            "linux_arm64",
            "windows_amd64",
            "windows_arm64"
        ]
    );
    let script = Path::new(REPO).join("scripts/goreleaser-cargo");
    assert!(
        config.contains("tool: ./scripts/goreleaser-cargo") && script.is_file(),
        "the build wrapper that names the binary must exist"
    );
}
