//! Ctrl-C: Terraform's interrupt reaches the provider as StopProvider, which
//! ends requests in flight, so Terraform exits soon even against an API that
//! accepts connections and never answers. A create cut off that way is kept
//! in state (tainted) and found on the next run, never made twice.

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::HEADER;
use crate::support::{Emulator, Workdir};
use serde_json::json;

/// How long Terraform may take to exit after the interrupt. Generous, and
/// far below the request timeout the configurations set (120 s): only a
/// cancelled request ends this soon.
const EXIT_BOUND: Duration = Duration::from_secs(40);
/// How long to wait for the provider's request to arrive at all.
const ARRIVAL_BOUND: Duration = Duration::from_secs(120);

fn config(base_url: &str) -> String {
    format!(
        r#"{HEADER}
provider "openai" {{
  base_url                = "{base_url}"
  request_timeout_seconds = 120
}}

resource "openai_workload_identity_provider" "p" {{
  name     = "cluster"
  issuer   = "https://oidc.cluster.example.com"
  audience = "https://api.openai.com/v1"
}}
"#
    )
}

/// A server that accepts connections, reads the request and never answers.
/// Sends on the channel when a request arrived.
fn silent_server() -> (String, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut held = Vec::new();
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut buf = [0u8; 1024];
            if stream.read(&mut buf).unwrap_or(0) > 0 {
                let _ = tx.send(());
            }
            held.push(stream);
        }
    });
    (url, rx)
}

/// `terraform ARGS` started in the background, output to files in the workdir.
fn spawn(wd: &Workdir, args: &[&str]) -> Child {
    let out = std::fs::File::create(wd.dir().join("stdout.log")).unwrap();
    let err = std::fs::File::create(wd.dir().join("stderr.log")).unwrap();
    wd.command(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .unwrap()
}

/// Sends SIGINT to Terraform's process group, as Ctrl-C in a terminal does
/// (Terraform 1.0 runs itself as a child under a parent that ignores it;
/// the provider plugins get it too), then waits for Terraform to exit
/// within [`EXIT_BOUND`]; returns its exit code.
fn interrupt_and_wait(wd: &Workdir, child: &mut Child) -> i32 {
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + EXIT_BOUND;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "terraform did not exit within {EXIT_BOUND:?} of the interrupt\n--- stdout ---\n{}\n--- stderr ---\n{}",
                wd.read("stdout.log"),
                wd.read("stderr.log")
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

tftest! {
    /// `terraform plan` waiting on a silent API exits soon after Ctrl-C.
    fn ctrl_c_stops_a_plan_waiting_on_a_silent_api(tf) {
        let (url, arrived) = silent_server();
        let mut wd = Workdir::new(tf);
        wd.env("OPENAI_ADMIN_KEY", "sk-admin-silent");
        wd.write_main(&config(&url));
        let mut child = spawn(&wd, &["plan", "-input=false"]);
        // The plan counts existing providers: that listing never gets an answer.
        arrived
            .recv_timeout(ARRIVAL_BOUND)
            .expect("the provider's listing reached the silent server");
        let code = interrupt_and_wait(&wd, &mut child);
        assert_ne!(code, 0, "{}", wd.read("stdout.log"));
    }
}

tftest! {
    /// An apply interrupted while a create waits for its answer: the object
    /// was made, the next apply finds it (no second provider, none lost).
    fn an_interrupted_create_is_found_on_the_next_run(tf) {
        let emu = Emulator::start();
        let list = "/organization/workload_identity_providers?limit=100";
        emu.script_faults(json!([{
            "method": "POST",
            "path": "/v1/organization/workload_identity_providers",
            "action": {"type": "commit_then_delay", "ms": 600_000},
        }]));
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&config(&emu.base_url()));
        let mut child = spawn(&wd, &["apply", "-input=false", "-auto-approve"]);
        // Wait until the create is committed on the server, answer held back.
        let deadline = Instant::now() + ARRIVAL_BOUND;
        while emu.ok("GET", list, None)["data"].as_array().unwrap().is_empty() {
            assert!(Instant::now() < deadline, "the create never reached the emulator");
            thread::sleep(Duration::from_millis(50));
        }
        let code = interrupt_and_wait(&wd, &mut child);
        assert_ne!(code, 0);
        let output = format!("{}{}", wd.read("stdout.log"), wd.read("stderr.log"));
        assert!(
            output.contains("was interrupted"),
            "the error says the create was interrupted:\n{output}"
        );

        // The next run finds the object the interrupted create made.
        wd.apply().assert_success();
        let data = emu.ok("GET", list, None)["data"].as_array().unwrap().clone();
        assert_eq!(data.len(), 1, "exactly one provider: {data:?}");
        let state = wd.state();
        let resource = &state["values"]["root_module"]["resources"][0];
        assert_eq!(resource["values"]["id"], data[0]["id"], "{state}");
        wd.plan_detailed().assert_code(0);
    }
}
