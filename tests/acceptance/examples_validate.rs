//! Every example under examples/ is formatted and passes `terraform validate`
//! with the newest Terraform, and every registered object has an example in
//! the registry layout (the docs generator shows them).

use std::path::{Path, PathBuf};

use crate::support::{Workdir, tf_latest};
use terraform_provider_openai::OpenAiProvider;
use tfplugin::framework::Provider as _;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn examples() -> PathBuf {
    Path::new(REPO).join("examples")
}

/// Folders holding `.tf` files, relative to examples/ (module tests excluded:
/// they are `.tftest.hcl`, run by tests/examples_modules.rs).
fn config_dirs(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap().map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != ".terraform") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir.strip_prefix(root).unwrap().to_path_buf());
        }
    }
    out.sort();
    out
}

/// Copies `src` into `dst`, skipping Terraform's working files.
fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap().map(Result::unwrap) {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == ".terraform" || name.contains(".tfstate") || name == ".terraform.lock.hcl" {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &dst.join(&*name));
        } else {
            std::fs::copy(&path, dst.join(&*name)).unwrap();
        }
    }
}

#[test]
fn every_registered_object_has_an_example() {
    let provider = OpenAiProvider;
    let mut wanted: Vec<PathBuf> = Vec::new();
    // Each kind of object has its folder and file name.
    let kinds: [(&str, &str, Vec<&str>); 3] = [
        (
            "resources",
            "resource.tf",
            provider.resources().iter().map(|r| r.type_name()).collect(),
        ),
        (
            "data-sources",
            "data-source.tf",
            provider
                .data_sources()
                .iter()
                .map(|d| d.type_name())
                .collect(),
        ),
        (
            "ephemeral-resources",
            "ephemeral-resource.tf",
            provider
                .ephemeral_resources()
                .iter()
                .map(|e| e.type_name())
                .collect(),
        ),
    ];
    for (folder, file, type_names) in kinds {
        for name in type_names {
            wanted.push(Path::new(folder).join(name).join(file));
        }
    }
    for a in provider.actions() {
        wanted.push(Path::new("actions").join(a.type_name()).join("action.tf"));
    }
    wanted.push(PathBuf::from("provider/provider.tf"));
    let missing: Vec<String> = wanted
        .iter()
        .filter(|p| !examples().join(p).is_file())
        .map(|p| format!("examples/{}", p.display()))
        .collect();
    assert!(
        missing.is_empty(),
        "registered objects without an example (the docs show it as Example Usage):\n{}",
        missing.join("\n")
    );
}

#[test]
fn examples_are_formatted() {
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    let root = examples();
    let out = wd.run(&[
        "fmt",
        "-check",
        "-recursive",
        "-diff",
        &root.to_string_lossy(),
    ]);
    assert!(
        out.success(),
        "examples/ is not formatted; run `terraform fmt -recursive examples`:\n{out}"
    );
}

#[test]
fn every_example_validates() {
    let tf = tf_latest();
    let dirs = config_dirs(&examples());
    assert!(
        dirs.iter().any(|d| d.starts_with("modules")),
        "no modules found under examples/modules: {dirs:?}"
    );
    let mut failures = Vec::new();
    for rel in &dirs {
        // A fresh copy of the whole tree per folder keeps relative module
        // sources working and leaves the repository untouched.
        let wd = Workdir::new(&tf);
        copy_tree(&examples(), &wd.dir().join("examples"));
        let dir = wd.dir().join("examples").join(rel);
        let sources: String = std::fs::read_dir(&dir)
            .unwrap()
            .map(Result::unwrap)
            .filter(|e| e.path().extension().is_some_and(|x| x == "tf"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect();
        // Registry examples leave out the terraform block; a real
        // configuration would have it.
        if !sources.contains("required_providers") {
            std::fs::write(
                dir.join("zz_required_providers.tf"),
                format!(
                    "terraform {{\n  required_providers {{\n    openai = {{ source = \"{}\" }}\n  }}\n}}\n",
                    crate::support::PROVIDER_SOURCE
                ),
            )
            .unwrap();
        }
        let chdir = format!("-chdir=examples/{}", rel.display());
        if sources.contains("module \"") {
            let got = wd.run(&[&chdir, "get"]);
            if !got.success() {
                failures.push(format!("examples/{}: get failed:\n{got}", rel.display()));
                continue;
            }
        }
        let out = wd.run(&[&chdir, "validate", "-no-color"]);
        if !out.success() {
            failures.push(format!("examples/{}:\n{out}", rel.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} example folders fail `terraform validate`:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}

/// Each module has the files a reusable module needs, a `terraform test`
/// file, and a README that documents every input.
#[test]
fn modules_are_complete() {
    let modules = examples().join("modules");
    let mut problems = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(&modules).unwrap().map(Result::unwrap) {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        count += 1;
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in ["variables.tf", "main.tf", "outputs.tf", "README.md"] {
            if !dir.join(file).is_file() {
                problems.push(format!("{name}: no {file}"));
            }
        }
        let has_test = std::fs::read_dir(dir.join("tests")).is_ok_and(|rd| {
            rd.map(Result::unwrap)
                .any(|e| e.file_name().to_string_lossy().ends_with(".tftest.hcl"))
        });
        if !has_test {
            problems.push(format!("{name}: no tests/*.tftest.hcl"));
        }
        let (Ok(vars), Ok(readme)) = (
            std::fs::read_to_string(dir.join("variables.tf")),
            std::fs::read_to_string(dir.join("README.md")),
        ) else {
            continue;
        };
        for var in vars
            .lines()
            .filter_map(|l| l.strip_prefix("variable \""))
            .filter_map(|l| l.split('"').next())
        {
            if !readme.contains(&format!("`{var}`")) {
                problems.push(format!("{name}: README.md does not document `{var}`"));
            }
        }
    }
    assert!(count >= 5, "expected at least 5 modules, found {count}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Whether the admin key is anywhere in the plan file `plan` saved in `wd`
/// (a zip: its members are compressed, so they are read, not grepped).
fn key_in_saved_plan(wd: &Workdir, key: &str) -> bool {
    wd.run(&["plan", "-input=false", "-out=saved.tfplan"])
        .assert_success();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
             print(any(sys.argv[2].encode() in z.read(n) for n in z.namelist()))",
        ])
        .arg(wd.dir().join("saved.tfplan"))
        .arg(key)
        .output()
        .expect("python3 reads the plan file");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).trim() == "True"
}

/// The admin key stays out of saved plan files in the ways the provider's
/// example and page show: from the environment (every Terraform) or from an
/// `ephemeral` variable (1.10+); a variable that is only `sensitive` does
/// not keep it out, which is why the docs warn against it.
#[test]
fn the_admin_key_stays_out_of_saved_plan_files() {
    let emu = crate::support::Emulator::start();
    let tf = tf_latest();
    let resource = r#"
resource "openai_workload_identity_provider" "p" {
  name     = "plan-file"
  issuer   = "https://issuer.example.com"
  audience = "https://api.openai.com/v1"
}
"#;
    let required = "terraform {\n  required_providers {\n    openai = { source = \"openai-wif/openai\" }\n  }\n}\n";
    let variable = |extra: &str| {
        format!(
            "{required}provider \"openai\" {{\n  admin_api_key = var.key\n}}\n\
             variable \"key\" {{\n  type      = string\n  sensitive = true\n{extra}}}\n{resource}"
        )
    };
    let cases = [
        (
            "the environment (examples/provider)",
            std::fs::read_to_string(examples().join("provider/provider.tf")).unwrap()
                + required
                + resource,
            false,
            false,
        ),
        (
            "an ephemeral variable",
            variable("  ephemeral = true\n"),
            true,
            false,
        ),
        ("a sensitive variable", variable(""), true, true),
    ];
    for (how, config, by_variable, leaks) in cases {
        let mut wd = Workdir::new(&tf);
        wd.env("OPENAI_BASE_URL", &emu.base_url());
        if by_variable {
            wd.env("TF_VAR_key", emu.admin_key());
        } else {
            wd.env("OPENAI_ADMIN_KEY", emu.admin_key());
        }
        wd.write_main(&config);
        assert_eq!(
            key_in_saved_plan(&wd, emu.admin_key()),
            leaks,
            "the key from {how}: in the saved plan file should be {leaks}"
        );
    }
}
