//! A running `openai-emulator` on a free loopback port, stopped on drop.
//!
//! Contract with the binary: started as
//! `openai-emulator --listen 127.0.0.1:0 --admin-key KEY [extra args]`, its first
//! stdout line is `listening on http://ADDR`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;

/// An HTTP reply: the status and the JSON body (null if it is not JSON).
pub type Reply = (u16, Value);

const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
const READY_PREFIX: &str = "listening on http://";

pub struct Emulator {
    child: Child,
    addr: String,
    admin_key: String,
    logs: Arc<Mutex<String>>,
}

impl Emulator {
    /// Starts the cargo-built emulator with a fresh random admin key.
    pub fn start() -> Self {
        Self::start_with_args(&[])
    }

    /// Like [`Emulator::start`], appending `extra` to the command line.
    pub fn start_with_args(extra: &[&str]) -> Self {
        Self::spawn(&super::workspace_bin("openai-emulator"), extra)
    }

    /// Starts `program` under the emulator's command-line contract (lets the
    /// harness itself be tested with a stand-in).
    pub fn spawn(program: &Path, extra: &[&str]) -> Self {
        let admin_key = format!("sk-admin-test-{}", random_token(24));
        Self::spawn_at(program, "127.0.0.1:0", &admin_key, extra)
    }

    /// Starts the cargo-built emulator on `listen` with `admin_key`, for a
    /// test that must use an address and key written in advance (the guides).
    pub fn start_at(listen: &str, admin_key: &str) -> Self {
        Self::spawn_at(
            &super::workspace_bin("openai-emulator"),
            listen,
            admin_key,
            &[],
        )
    }

    fn spawn_at(program: &Path, listen: &str, admin_key: &str, extra: &[&str]) -> Self {
        let admin_key = admin_key.to_string();
        let mut child = Command::new(program)
            .args(["--listen", listen, "--admin-key", &admin_key])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start emulator {}: {e}", program.display()));

        // Everything the emulator prints is kept, and shown if the test fails.
        let logs = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<String>();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stdout_logs = Arc::clone(&logs);
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                append(&stdout_logs, &first);
                let _ = ready_tx.send(first);
            }
            for line in lines.map_while(Result::ok) {
                append(&stdout_logs, &line);
            }
        });
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_logs = Arc::clone(&logs);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                append(&stderr_logs, &line);
            }
        });

        let first = match ready_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(err) => {
                let why = match err {
                    mpsc::RecvTimeoutError::Timeout => {
                        format!("printed nothing within {STARTUP_TIMEOUT:?}")
                    }
                    mpsc::RecvTimeoutError::Disconnected => {
                        "closed stdout without printing a line".to_string()
                    }
                };
                let _ = child.kill();
                let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
                // Give the stderr reader a moment to collect the last lines.
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "emulator {} {why} (expected `{READY_PREFIX}ADDR` first; {status}).\n--- output ---\n{}",
                    program.display(),
                    logs.lock().map(|l| l.clone()).unwrap_or_default()
                );
            }
        };
        let addr = first
            .trim()
            .strip_prefix(READY_PREFIX)
            .map(|a| a.trim_end_matches('/').to_string())
            .unwrap_or_else(|| {
                let _ = child.kill();
                let _ = child.wait();
                panic!("emulator's first stdout line is {first:?}, expected `{READY_PREFIX}ADDR`")
            });
        Self {
            child,
            addr,
            admin_key,
            logs,
        }
    }

    /// `HOST:PORT` the emulator listens on.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// `http://ADDR`, the server root.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://ADDR/v1`, the API base URL (like `https://api.openai.com/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://ADDR/oauth/token`, the token exchange endpoint.
    pub fn token_url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    /// `http://ADDR/_emulator/oidc`, the emulator's own OIDC issuer, whose
    /// tokens [`Emulator::mint`] signs.
    pub fn oidc_issuer(&self) -> String {
        format!("http://{}/_emulator/oidc", self.addr)
    }

    /// A subject token with `claims`, signed by [`Emulator::oidc_issuer`]
    /// (which adds `iss`, `iat` and `exp` unless given).
    pub fn mint(&self, claims: serde_json::Value) -> String {
        let (status, body) = self.control("POST", "/_emulator/oidc/token", Some(claims));
        assert_eq!(status, 200, "minting a token failed: {body}");
        body["token"].as_str().expect("a minted token").to_string()
    }

    /// Calls the emulator's Admin API directly (as a user editing things by
    /// hand would): `path` is below `/v1`. Returns the status and JSON body.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.request(method, &format!("{}{}", self.base_url(), path), body)
    }

    /// Calls one of the emulator's own `/_emulator/...` endpoints (stats,
    /// faults, the test OIDC issuer). Returns the status and JSON body.
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        self.request(method, &format!("{}{}", self.url(), path), body)
    }

    fn request(&self, method: &str, url: &str, body: Option<Value>) -> Reply {
        super::http::http_as(method, url, body, Some(&self.admin_key))
    }

    /// The emulator's request counters (`/_emulator/stats`).
    pub fn stats(&self) -> Value {
        let (status, v) = self.control("GET", "/_emulator/stats", None);
        assert_eq!(status, 200, "reading the emulator's stats failed: {v}");
        v
    }

    /// Zeroes the emulator's request counters.
    pub fn reset_stats(&self) {
        let (status, v) = self.control("POST", "/_emulator/stats/reset", None);
        assert_eq!(status, 200, "resetting the emulator's stats failed: {v}");
    }

    /// How many token exchanges the emulator has answered.
    pub fn exchanges(&self) -> u64 {
        self.stats()["by_route"]["POST /oauth/token"]
            .as_u64()
            .unwrap_or(0)
    }

    /// The token exchange as a workload makes it (no admin key): `token`
    /// for `account`, through the workload identity provider `provider_id`.
    pub fn exchange(&self, token: &str, provider_id: &str, account: &str) -> Reply {
        super::http::http(
            "POST",
            &self.token_url(),
            Some(serde_json::json!({
                "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                "subject_token": token,
                "identity_provider_id": provider_id,
                "service_account_id": account,
            })),
        )
    }

    /// Scripts the emulator's answers to the next matching requests
    /// (`/_emulator/faults/script`): `rules` is the list of rules.
    pub fn script_faults(&self, rules: Value) {
        let (status, v) = self.control(
            "POST",
            "/_emulator/faults/script",
            Some(serde_json::json!({ "rules": rules })),
        );
        assert_eq!(status, 200, "scripting faults failed: {v}");
    }

    /// Like [`Emulator::call`], panicking unless the call succeeded.
    pub fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let (status, v) = self.call(method, path, body);
        assert!(
            (200..300).contains(&status),
            "{method} {path} -> {status}: {v}"
        );
        v
    }

    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// Everything the emulator printed so far (stdout and stderr, line-interleaved).
    pub fn logs(&self) -> String {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- emulator at {} printed ---\n{}", self.addr, self.logs());
        }
    }
}

fn append(logs: &Mutex<String>, line: &str) {
    if let Ok(mut logs) = logs.lock() {
        logs.push_str(line);
        logs.push('\n');
    }
}

fn random_token(len: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}
