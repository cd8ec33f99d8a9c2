//! `--state` persistence across restarts, in process and through the binary.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::support::{ADMIN_KEY, Emu};
use openai_emulator::{EmulatorConfig, start};
use serde_json::{Value, json};

const PROVIDERS: &str = "/v1/organization/workload_identity_providers";

fn config(state: &std::path::Path) -> EmulatorConfig {
    let mut c = EmulatorConfig::new(ADMIN_KEY);
    c.state_file = Some(state.to_owned());
    c
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("org.json");

    let e = Emu::start_with(config(&state)).await;
    let project = e.project("p").await;
    let account = e.service_account(&project).await;
    let provider = e
        .provider(json!({"type": "oidc", "name": "keep", "issuer": "https://i.example.com", "audience": "a",
                         "attribute_transformations": [{"attribute": "openai.s", "expression": "assertion.sub"}]}))
        .await;
    let pid = provider["id"].as_str().unwrap().to_owned();
    let rule = e
        .rule(
            &pid,
            json!({"project_id": project, "service_account_id": account, "name": "r",
                           "attribute_matchers": {"sub": "x", "n": 1}}),
        )
        .await;
    let gone = e
        .provider(json!({"type": "oidc", "name": "gone", "issuer": "https://i.example.com", "audience": "a"}))
        .await;
    e.delete(&format!("{PROVIDERS}/{}", gone["id"].as_str().unwrap()))
        .await;
    let (_, jwks_before) = e.get("/_emulator/oidc/jwks").await;
    let (_, providers_before) = e.get(PROVIDERS).await;
    e.emu.shutdown().await;
    assert!(state.exists());

    let e = Emu::start_with(config(&state)).await;
    let (_, providers_after) = e.get(PROVIDERS).await;
    assert_eq!(providers_after, providers_before);
    let (s, got) = e
        .get(&format!(
            "{PROVIDERS}/{pid}/federation_rules/{}",
            rule["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(s, 200);
    assert_eq!(got, rule);
    let (_, sa) = e
        .get(&format!(
            "/v1/organization/projects/{project}/service_accounts/{account}"
        ))
        .await;
    assert_eq!(sa["id"], account.as_str());
    // The built-in issuer keeps its key.
    let (_, jwks_after) = e.get("/_emulator/oidc/jwks").await;
    assert_eq!(jwks_after, jwks_before);
    // Limits and uniqueness still see the restored objects.
    let reply = e
        .post(
            PROVIDERS,
            json!({"type": "oidc", "name": "keep", "issuer": "https://i", "audience": "a"}),
        )
        .await;
    assert_eq!(reply.0, 409);
    // Sequence numbers continue: a new object lists first (desc).
    let newer = e
        .provider(json!({"type": "oidc", "name": "new", "issuer": "https://i", "audience": "a"}))
        .await;
    let (_, page) = e.get(PROVIDERS).await;
    assert_eq!(page["data"][0]["id"], newer["id"]);
    assert_eq!(page["data"][1]["id"], pid.as_str());
    // No temp files are left next to the state, only its lock file.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|d| d.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["org.json".to_owned(), "org.json.lock".to_owned()]
    );
}

#[tokio::test]
async fn corrupt_state_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("bad.json");
    std::fs::write(&state, b"{ nope").unwrap();
    let err = start(config(&state)).await.err().expect("start fails");
    let msg = format!("{err:#}");
    assert!(msg.contains("bad.json"), "{msg}");
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_binary(args: &[&str]) -> (Proc, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_openai-emulator"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Proc(child), base)
}

#[tokio::test]
async fn binary_prints_its_address_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let state_arg = state.to_str().unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--admin-key",
        ADMIN_KEY,
        "--state",
        state_arg,
    ];
    let http = reqwest::Client::new();

    let (proc, base) = spawn_binary(&args);
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let created: Value = http
        .post(format!("{base}/v1/organization/projects"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": "from-binary"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    drop(proc);

    let (_proc, base) = spawn_binary(&args);
    let list: Value = http
        .get(format!("{base}/v1/organization/projects"))
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["data"], json!([created]));
}

#[test]
fn binary_rejects_bad_flags() {
    let out = Command::new(env!("CARGO_BIN_EXE_openai-emulator"))
        .args(["--admin-key", "k", "--fault-rate", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("fault rate"));
    let out = Command::new(env!("CARGO_BIN_EXE_openai-emulator"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "--admin-key is required");
}

#[tokio::test]
async fn a_second_emulator_on_the_same_state_file_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("org.json");
    let first = start(config(&state)).await.unwrap();
    let err = start(config(&state))
        .await
        .err()
        .expect("the second start fails");
    let text = format!("{err:#}");
    assert!(text.contains("in use by another emulator"), "{text}");
    assert!(text.contains("org.json"), "{text}");
    // Once the first is gone, the file is free again.
    first.shutdown().await;
    start(config(&state)).await.unwrap().shutdown().await;
}

#[tokio::test]
async fn binary_reads_the_admin_key_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{ADMIN_KEY}\n")).unwrap();
    let http = reqwest::Client::new();
    let status = |base: String| {
        let http = http.clone();
        async move {
            http.get(format!("{base}/v1/organization/projects"))
                .bearer_auth(ADMIN_KEY)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    let (_proc, base) = spawn_binary(&[
        "--listen",
        "127.0.0.1:0",
        "--admin-key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(status(base).await, 200);

    let mut child = Command::new(env!("CARGO_BIN_EXE_openai-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .env("OPENAI_EMULATOR_ADMIN_KEY", ADMIN_KEY)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _proc = Proc(child);
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert_eq!(status(base).await, 200);

    // No key at all: a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_openai-emulator"))
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("OPENAI_EMULATOR_ADMIN_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--admin-key-file"), "{stderr}");
}
