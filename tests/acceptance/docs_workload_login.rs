//! The workload login guide's programs: its Python and Node code run with
//! OpenAI's own SDKs against the emulator and print what the guide shows.
//! (The guide's shell and Terraform steps run in `docs_guides`, like every
//! guide's; these programs need the pinned SDKs, installed here.)

use std::path::Path;

use crate::support::{Emulator, Workdir, run_node, run_python, tf_latest};
use serde_json::json;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
/// The address the guide tells readers to start the emulator on.
pub(crate) const GUIDE_ADDR: &str = "127.0.0.1:8089";

/// The bodies of fenced code blocks whose info string is one of `langs`.
pub(crate) fn code_blocks(markdown: &str, langs: &[&str]) -> Vec<String> {
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

/// "Test your workload's keyless login against the emulator": its
/// configuration applied as written, then its Python and Node programs run
/// with OpenAI's own SDKs (the pinned versions the guide names) and print
/// exactly what the guide shows.
#[test]
fn workload_login_guide_works_as_written() {
    let text = guide("testing-workload-login.md");
    let emu = Emulator::start();
    let tf = tf_latest();
    let mut wd = Workdir::new(&tf);
    wd.use_emulator(&emu);
    let project = emu.ok(
        "POST",
        "/organization/projects",
        Some(json!({"name": "workload-login"})),
    );
    wd.write_main(
        &code_blocks(&text, &["terraform"])
            .join("\n")
            .replace(GUIDE_ADDR, emu.addr()),
    );
    wd.env("TF_VAR_project_id", project["id"].as_str().unwrap());
    wd.apply().assert_success();
    let (wip, sa) = (
        wd.output("workload_identity_provider_id"),
        wd.output("service_account_id"),
    );

    let url = emu.url();
    let env = [
        ("OPENAI_EMULATOR_URL", url.as_str()),
        ("OPENAI_EMULATOR_ADMIN_KEY", emu.admin_key()),
        ("WORKLOAD_IDENTITY_PROVIDER_ID", wip.as_str().unwrap()),
        ("SERVICE_ACCOUNT_ID", sa.as_str().unwrap()),
    ];
    let expected = code_blocks(&text, &["text"]);
    let python = code_blocks(&text, &["python"]);
    let node = code_blocks(&text, &["js"]);
    assert_eq!((python.len(), node.len(), expected.len()), (1, 1, 2));

    let script = wd.dir().join("login.py");
    std::fs::write(&script, &python[0]).unwrap();
    let out = run_python(&script, &env);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected[0].trim()
    );

    let out = run_node(&node[0], &env);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        expected[1].trim()
    );

    wd.destroy().assert_success();
}
