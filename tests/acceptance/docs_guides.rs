//! The hand-written guides stay true: the getting-started guide works as
//! written against the emulator, and every `terraform` snippet in the guides
//! and module READMEs is well-formed, formatted HCL (CLI configuration,
//! which is not Terraform language, is fenced as `hcl` and not checked).

use std::path::{Path, PathBuf};

use crate::support::http::{http, http_as};
use crate::support::{Emulator, Workdir, tf_latest};
use serde_json::{Value, json};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The address the guide tells readers to start the emulator on.
const GUIDE_ADDR: &str = "127.0.0.1:8089";

/// The bodies of fenced code blocks whose info string is one of `langs`.
fn code_blocks(markdown: &str, langs: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match (&mut current, trimmed.strip_prefix("```")) {
            (None, Some(info)) => {
                if langs.contains(&info.trim()) {
                    current = Some(String::new());
                } else {
                    // Skip a block of another language up to its closing fence.
                    current = Some("\0skip".to_string());
                }
            }
            (Some(body), Some(_)) => {
                if !body.starts_with("\0skip") {
                    out.push(std::mem::take(body));
                }
                current = None;
            }
            (Some(body), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn guide(name: &str) -> String {
    std::fs::read_to_string(Path::new(REPO).join("docs/guides").join(name)).unwrap()
}

#[test]
fn getting_started_works_as_written() {
    let text = guide("getting-started.md");
    let emu = Emulator::start();
    let tf = tf_latest();
    let mut wd = Workdir::with_emulator(&tf, &emu);

    // Step 2: the fixtures, as the guide's curl calls make them.
    let p = emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": "getting-started"})),
    );
    let pid = p["id"].as_str().unwrap().to_string();
    let sa = emu.ok(
        "POST",
        &format!("/organization/projects/{pid}/service_accounts"),
        Some(json!({"name": "deployer", "create_service_account_only": true})),
    );
    let sa = sa["id"].as_str().unwrap().to_string();

    // Step 3: the configuration, with the emulator's real address.
    let config = code_blocks(&text, &["terraform"]).join("\n");
    assert!(
        config.contains("openai_service_account_mapping"),
        "no configuration found in the guide"
    );
    wd.write_main(&config.replace(GUIDE_ADDR, emu.addr()));
    wd.env("TF_VAR_project_id", &pid)
        .env("TF_VAR_service_account_id", &sa);
    wd.apply().assert_success();
    // "A second terraform plan reports no changes."
    wd.plan_detailed().assert_code(0);
    let wip = wd.output("workload_identity_provider_id");

    // Step 4: the token the guide mints, and the exchange.
    // The mint command spans lines: the URL, the admin key and JSON headers
    // (the control routes need both), then `-d '<claims>'`.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("_emulator/oidc/token"))
        .expect("the guide mints a token");
    let command = lines[at..]
        .iter()
        .take_while(|l| !l.starts_with("```"))
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        command.contains("Authorization: Bearer $OPENAI_ADMIN_KEY")
            && command.contains("Content-Type: application/json"),
        "the guide's mint command sends the admin key and JSON: {command}"
    );
    let claims_line = lines[at..]
        .iter()
        .find(|l| l.contains("-d '"))
        .expect("the guide mints a token with `-d '<claims>'`");
    let claims = claims_line
        .split("-d '")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap();
    let claims: Value = serde_json::from_str(claims)
        .unwrap_or_else(|e| panic!("the guide's claims are not JSON ({e}): {claims}"));
    let exchange = |claims: &Value| {
        let (status, minted) = http_as(
            "POST",
            &format!("{}/_emulator/oidc/token", emu.url()),
            Some(claims.clone()),
            Some(emu.admin_key()),
        );
        assert_eq!(status, 200, "{minted}");
        http(
            "POST",
            &emu.token_url(),
            Some(json!({
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "subject_token": minted["token"],
                "identity_provider_id": wip,
                "service_account_id": sa,
            })),
        )
    };
    let (status, body) = exchange(&claims);
    assert_eq!(status, 200, "the guide's exchange fails: {body}");
    assert_eq!(body["scope"], "api.model.request", "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");

    // "Mint a token with ref refs/heads/feature and the exchange is refused."
    let mut other = claims.clone();
    other["ref"] = json!("refs/heads/feature");
    let (status, body) = exchange(&other);
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    wd.destroy().assert_success();
}

#[test]
fn terraform_snippets_are_formatted_hcl() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(Path::new(REPO).join("docs/guides"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for module in std::fs::read_dir(Path::new(REPO).join("examples/modules")).unwrap() {
        files.push(module.unwrap().path().join("README.md"));
    }
    let tf = tf_latest();
    let wd = Workdir::new(&tf);
    let mut count = 0;
    for file in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "md"))
    {
        let text = std::fs::read_to_string(file).unwrap();
        for (i, block) in code_blocks(&text, &["terraform"]).into_iter().enumerate() {
            let name = format!("{}-{i}.tf", file.file_stem().unwrap().to_string_lossy());
            let parent = file
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy();
            wd.write(&format!("{parent}/{name}"), &block);
            count += 1;
        }
    }
    assert!(count >= 20, "only {count} snippets found");
    let out = wd.run(&["fmt", "-check", "-recursive", "-diff", "-no-color"]);
    assert!(
        out.success(),
        "snippets in the guides or module READMEs are not valid, formatted HCL \
         (file names: <doc>-<n>.tf, n = index of the block):\n{out}"
    );
}
