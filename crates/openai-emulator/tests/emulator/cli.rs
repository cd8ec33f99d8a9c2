//! The `openai-emulator` binary as people run it: `--version`, `--help`
//! listing the control routes, `--listen localhost:PORT`, and plain logs
//! (no ANSI colour) when stderr is not a terminal.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_openai-emulator");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn version_and_help_say_what_people_need() {
    assert_eq!(
        run(&["--version"]).trim(),
        format!("openai-emulator {}", env!("CARGO_PKG_VERSION"))
    );
    let help = run(&["--help"]);
    for route in [
        "/oauth/token",
        "/v1/models",
        "/_emulator/oidc/token",
        "/_emulator/aws/sts",
        "/_emulator/faults/script",
        "/_emulator/clock",
        "/_emulator/stats",
        "/_emulator/requests",
        "--read-only-admin-key",
    ] {
        assert!(help.contains(route), "--help lacks {route}:\n{help}");
    }
}

#[test]
fn listens_on_localhost_and_logs_without_colour_to_a_pipe() {
    let mut child = Command::new(BIN)
        .args(["--listen", "localhost:0", "--admin-key", "sk-cli-test"])
        .env_remove("NO_COLOR")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The log line `emulator listening` is written before this one.
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    assert!(logs.contains("emulator listening"), "{logs}");
    assert!(
        !logs.contains('\u{1b}'),
        "colour codes in piped logs: {logs:?}"
    );

    let bad = Command::new(BIN)
        .args(["--listen", "example.com:80", "--admin-key", "k"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("not an IP address or `localhost`"), "{err}");
}
