//! Acceptance: the ephemeral resource `openai_workload_identity_token` driven
//! by real Terraform (1.15.5; ephemeral resources need 1.10+) against the
//! emulator and its built-in OIDC issuer. Platform token sources are played
//! by loopback stand-ins. No admin key is given: the exchange needs none.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::support::http::http_as;
use crate::support::org::project_and_account;
use crate::support::{Emulator, TfOutput, Workdir, tf_latest};
use crate::support::{HEADER, config};
use serde_json::{Value, json};

const AUD: &str = "https://api.openai.com/v1";

/// A project, a keyless service account, a provider trusting the built-in
/// issuer, and a mapping for `repository = "my-org/my-repo"`.
struct Wif {
    provider: String,
    account: String,
}

fn setup(emu: &Emulator, scopes: Option<&[&str]>) -> Wif {
    setup_matching(emu, scopes, json!({"repository": "my-org/my-repo"}))
}

/// Like [`setup`], with a mapping on `matchers` instead.
fn setup_matching(emu: &Emulator, scopes: Option<&[&str]>, matchers: Value) -> Wif {
    let (project, account) = project_and_account(emu);
    let provider = emu.ok(
        "POST",
        "/organization/workload_identity_providers",
        Some(
            json!({"name": "builtin", "issuer": format!("{}/_emulator/oidc", emu.url()),
                    "audience": AUD, "type": "oidc"}),
        ),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let permissions = match scopes {
        Some(s) => json!({"type": "restricted", "scopes": s}),
        None => json!({"type": "service_account_default"}),
    };
    emu.ok(
        "POST",
        &format!("/organization/workload_identity_providers/{provider}/federation_rules"),
        Some(json!({"project_id": project, "service_account_id": account,
                    "attribute_matchers": matchers,
                    "permissions": permissions})),
    );
    Wif { provider, account }
}

/// Runs one HTTP request against the emulator root (outside `/v1`).
/// A subject token from the emulator's built-in issuer.
/// What minting needs: the emulator's URL and admin key.
type Minter = (String, String);

fn minter(emu: &Emulator) -> Minter {
    (emu.url(), emu.admin_key().to_owned())
}

fn mint((emu_url, key): &Minter, claims: Value) -> String {
    let url = format!("{emu_url}/_emulator/oidc/token");
    let (status, body) = http_as("POST", &url, Some(claims), Some(key));
    assert_eq!(status, 200, "minting a token failed: {body}");
    body["token"].as_str().expect("a minted token").to_owned()
}

/// A token with [`good_claims`] for the audience `req` asks for, as a
/// platform's token endpoint mints it.
fn mint_for_the_audience_asked(minter: &Minter, req: &Seen) -> String {
    let mut claims = good_claims();
    claims["aud"] = json!(req.query("audience").unwrap_or_default());
    mint(minter, claims)
}

fn good_claims() -> Value {
    json!({"sub": "repo:my-org/my-repo", "aud": AUD, "repository": "my-org/my-repo"})
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A workdir pointed at the emulator with no admin key.
fn workdir(emu: &Emulator) -> Workdir {
    let mut wd = Workdir::new(&tf_latest());
    wd.env("OPENAI_BASE_URL", &emu.base_url())
        .env("OPENAI_TOKEN_EXCHANGE_URL", &emu.token_url());
    wd
}

/// A configuration with the ephemeral resource; `source` holds its subject
/// token arguments, `extra` any further blocks.
fn config(wif: &Wif, source: &str, extra: &str) -> String {
    format!(
        r#"
{HEADER}{variable}
ephemeral "openai_workload_identity_token" "t" {{
  workload_identity_provider_id = "{provider}"
  service_account_id            = "{account}"
  {source}
}}
{extra}
"#,
        variable = config::token_variable("tok"),
        provider = wif.provider,
        account = wif.account,
    )
}

/// Plans `config`, which opens the token once: exactly one exchange.
#[track_caller]
fn plans_with_one_exchange(emu: &Emulator, wd: &Workdir, config: &str) {
    wd.write_main(config);
    let before = emu.exchanges();
    wd.plan_detailed().assert_code(0);
    assert_eq!(emu.exchanges(), before + 1, "{config}");
}

/// Consumes the token in a provisioner (which accepts ephemeral values) and
/// writes only non-secret facts about it to `used.txt`. `sleep` keeps the
/// token open for that many seconds.
fn consumer(sleep: u32) -> String {
    format!(
        r#"
resource "terraform_data" "use" {{
  provisioner "local-exec" {{
    command = "sleep {sleep}; [ \"$${{TOKEN%%_*}}\" = wifat ] && printf '%s|%s|%s' \"$EXPIRES\" \"$SCOPE\" \"$TYPE\" > used.txt"
    environment = {{
      TOKEN   = ephemeral.openai_workload_identity_token.t.access_token
      EXPIRES = ephemeral.openai_workload_identity_token.t.expires_at
      SCOPE   = coalesce(ephemeral.openai_workload_identity_token.t.scope, "unrestricted")
      TYPE    = ephemeral.openai_workload_identity_token.t.token_type
    }}
  }}
}}
"#
    )
}

/// Whether `text` holds an emulator access token (`wifat_` + 64 hex digits).
fn has_access_token(text: &str) -> bool {
    text.match_indices("wifat_").any(|(i, m)| {
        let rest = &text.as_bytes()[i + m.len()..];
        rest.len() >= 64 && rest[..64].iter().all(u8::is_ascii_hexdigit)
    })
}

/// Fails if `text` (named `what`) holds either token.
#[track_caller]
fn assert_no_tokens(what: &str, text: &str, subject_token: &str) {
    assert!(
        !text.contains(subject_token),
        "{what} contains the subject token"
    );
    assert!(
        !has_access_token(text),
        "{what} contains an access token (wifat_...)"
    );
}

#[test]
fn the_access_token_detector_detects() {
    let token = format!("wifat_{}", "0123456789abcdef".repeat(4));
    assert!(has_access_token(&format!("x {token} y")));
    assert!(!has_access_token("wifat_ short"));
}

#[test]
fn exchange_feeds_a_consumer_and_no_token_is_stored_or_logged() {
    let emu = Emulator::start();
    let wif = setup(&emu, Some(&["api.model.request", "api.model.read"]));
    let token = mint(&minter(&emu), good_claims());
    let mut wd = workdir(&emu);
    let log = wd.dir().join("trace.log");
    wd.env("TF_VAR_tok", &token)
        .env("TF_LOG", "trace")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    wd.write_main(&config(&wif, "subject_token = var.tok", &consumer(0)));

    wd.validate().assert_success();
    let before = emu.exchanges();
    let plan = wd.run(&["plan", "-input=false", "-out=tfplan"]);
    plan.assert_success();
    plan.assert_output_contains_words("ephemeral.openai_workload_identity_token.t: Opening");
    assert_eq!(emu.exchanges(), before + 1, "plan opens the resource once");

    // The saved plan (a zip) and its JSON rendering hold no token.
    let unzip = std::process::Command::new("unzip")
        .args(["-p", "tfplan"])
        .current_dir(wd.dir())
        .output()
        .expect("unzip runs");
    assert!(unzip.status.success(), "unzip -p tfplan failed");
    assert!(!unzip.stdout.is_empty());
    assert_no_tokens(
        "the saved plan",
        &String::from_utf8_lossy(&unzip.stdout),
        &token,
    );
    let shown = wd.run(&["show", "-json", "tfplan"]);
    shown.assert_success();
    assert_no_tokens("show -json tfplan", &shown.stdout, &token);

    // Ephemeral variables are given again at apply; the token is exchanged again.
    wd.run(&["apply", "-input=false", "tfplan"])
        .assert_success();
    assert_eq!(emu.exchanges(), before + 2);
    let used = wd.read("used.txt");
    let parts: Vec<&str> = used.split('|').collect();
    assert_eq!(parts.len(), 3, "{used}");
    let expires =
        time::OffsetDateTime::parse(parts[0], &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("expires_at {:?} is not RFC 3339: {e}", parts[0]));
    // The minted subject token lives 600 s; the access token never longer.
    let left = expires.unix_timestamp() - now();
    assert!(left > 0 && left <= 600, "expires_at is {left} s away");
    assert_eq!(parts[1], "api.model.request api.model.read");
    assert_eq!(parts[2], "Bearer");

    let state = wd.read("terraform.tfstate");
    assert!(state.contains("terraform_data"), "state written: {state}");
    assert_no_tokens("terraform.tfstate", &state, &token);
    let resources = serde_json::from_str::<Value>(&state).unwrap()["resources"].clone();
    let types: Vec<&str> = resources
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["terraform_data"],
        "ephemeral resources never reach state"
    );

    let logs = std::fs::read_to_string(&log).expect("TF_LOG_PATH written");
    // The provider did log the exchange (so the log was captured), without tokens.
    assert!(
        logs.contains("exchanged the subject token for an OpenAI access token"),
        "no exchange line in the trace log"
    );
    assert_no_tokens("the TF_LOG=trace log", &logs, &token);
}

#[test]
fn refusals_name_the_cause() {
    // Verbose, so the server's description names the claim that differs.
    let emu = Emulator::start_with_args(&["--verbose-refusals"]);
    let wif = setup(&emu, None);
    let mut wd = workdir(&emu);
    wd.write_main(&config(&wif, "subject_token = var.tok", ""));
    let mut plan_with = |claims: Value| -> TfOutput {
        let token = mint(&minter(&emu), claims);
        wd.env("TF_VAR_tok", &token);
        let out = wd.run(&["plan", "-input=false"]);
        out.assert_failure();
        assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));
        out
    };

    let mut foreign = good_claims();
    foreign["repository"] = json!("evil/repo");
    let out = plan_with(foreign);
    out.assert_output_contains_words(
        "Token exchange refused: No service account mapping matches the token",
    );
    out.assert_output_contains_words("OAuth error: invalid_grant");
    out.assert_output_contains_words("evil/repo");

    let mut wrong_audience = good_claims();
    wrong_audience["aud"] = json!("https://wrong.example");
    let out = plan_with(wrong_audience);
    out.assert_output_contains_words("Token exchange refused: Subject token audience mismatch");
    out.assert_output_contains_words("OAuth error: invalid_subject_token");
    out.assert_output_contains_words("https://wrong.example");

    let mut expired = good_claims();
    expired["exp"] = json!(now() - 300);
    expired["iat"] = json!(now() - 900);
    let out = plan_with(expired);
    out.assert_output_contains_words("Token exchange refused: Subject token expired");
    out.assert_output_contains_words("exp");
}

#[test]
fn validation_requires_exactly_one_known_source() {
    let emu = Emulator::start();
    let wif = Wif {
        provider: "wip_x".into(),
        account: "svc_acct_x".into(),
    };
    let wd = workdir(&emu);

    wd.write_main(&config(&wif, "", ""));
    wd.validate()
        .assert_failure_saying(&["Missing subject token"]);

    wd.write_main(&config(
        &wif,
        "subject_token_file = \"/t\"\n  subject_token_source = \"kubernetes\"",
        "",
    ));
    wd.validate().assert_failure_saying(&[
        "Conflicting subject token sources",
        "subject_token_file and subject_token_source",
    ]);

    wd.write_main(&config(&wif, "subject_token_source = \"jenkins\"", ""));
    wd.validate().assert_failure_saying(&[
        "Unknown subject_token_source",
        r#""github_actions", "kubernetes", "gcp", "azure", "aws""#,
    ]);
    assert_eq!(emu.exchanges(), 0, "validation never exchanges");
}

#[test]
fn schema_marks_tokens_sensitive_and_describes_every_attribute() {
    let emu = Emulator::start();
    let wd = workdir(&emu);
    wd.write_main(&config(
        &Wif {
            provider: "wip_x".into(),
            account: "svc_acct_x".into(),
        },
        "subject_token_source = \"kubernetes\"",
        "",
    ));
    let out = wd.run(&["providers", "schema", "-json"]);
    out.assert_success();
    let schema = &out.json()["provider_schemas"]["registry.terraform.io/openai-wif/openai"]["ephemeral_resource_schemas"]
        ["openai_workload_identity_token"]["block"];
    let attrs = schema["attributes"]
        .as_object()
        .expect("ephemeral schema served");
    for name in ["access_token", "subject_token"] {
        assert_eq!(attrs[name]["sensitive"], true, "{name}");
    }
    for (name, a) in attrs {
        assert!(
            a["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name} has no description"
        );
    }
}

#[test]
fn subject_token_file_and_kubernetes_source() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    let mut wd = workdir(&emu);
    let file = wd.dir().join("token.jwt");
    std::fs::write(&file, format!("{}\n", mint(&minter(&emu), good_claims()))).unwrap();

    wd.write_main(&config(
        &wif,
        &format!("subject_token_file = {:?}", file.to_str().unwrap()),
        "",
    ));
    let before = emu.exchanges();
    wd.plan_detailed().assert_code(0);
    assert_eq!(emu.exchanges(), before + 1);

    wd.env("OPENAI_WIF_K8S_TOKEN_FILE", file.to_str().unwrap());
    wd.write_main(&config(&wif, "subject_token_source = \"kubernetes\"", ""));
    wd.plan_detailed().assert_code(0);
    assert_eq!(emu.exchanges(), before + 2);

    // A missing file is named, on the argument that chose it.
    wd.env("OPENAI_WIF_K8S_TOKEN_FILE", "/nonexistent/k8s-token");
    wd.run(&["plan", "-input=false"]).assert_failure_saying(&[
        "Cannot get the subject token",
        "/nonexistent/k8s-token",
        "OPENAI_WIF_K8S_TOKEN_FILE",
    ]);
}

/// One request a stand-in received.
#[derive(Clone, Debug)]
struct Seen {
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn query(&self, name: &str) -> Option<String> {
        let url = url::Url::parse(&format!("http://x{}", self.target)).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A loopback HTTP/1.1 server playing a platform's token endpoint: every
/// GET is recorded and answered by `respond` with (status, body).
struct StandIn {
    addr: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    fn start(respond: impl Fn(&Seen) -> (u16, String) + Send + 'static) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&seen);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.trim_end().split_once(':') {
                        headers.push((k.trim().to_owned(), v.trim().to_owned()));
                    }
                }
                let req = Seen { target, headers };
                record.lock().unwrap().push(req.clone());
                let (status, body) = respond(&req);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        StandIn { addr, seen }
    }

    /// A stand-in that, like the platform's endpoint, refuses a request
    /// without `header: value` with `refusal`, and mints for the others
    /// with `respond` (given what minting needs).
    fn guarded(
        emu: &Emulator,
        (header, value): (&'static str, &'static str),
        refusal: (u16, &'static str),
        respond: impl Fn(&Minter, &Seen) -> String + Send + 'static,
    ) -> StandIn {
        let minter = minter(emu);
        StandIn::start(move |req| {
            if req.header(header) != Some(value) {
                return (refusal.0, refusal.1.to_owned());
            }
            (200, respond(&minter, req))
        })
    }

    fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[test]
fn github_actions_source_against_a_stand_in() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    // Like GitHub: checks the bearer, mints for the requested audience.
    let gh = StandIn::guarded(
        &emu,
        ("authorization", "bearer gh-request-token"),
        (401, "bad credentials"),
        |minter, req| {
            let token = mint_for_the_audience_asked(minter, req);
            json!({"count": 1, "value": token}).to_string()
        },
    );
    let mut wd = workdir(&emu);
    wd.env(
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        &format!("http://{}/token?api-version=2.0", gh.addr),
    )
    .env("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token");

    plans_with_one_exchange(
        &emu,
        &wd,
        &config(&wif, "subject_token_source = \"github_actions\"", ""),
    );
    let req = &gh.requests()[0];
    assert!(req.target.starts_with("/token?"), "{req:?}");
    assert_eq!(req.query("api-version").as_deref(), Some("2.0"));
    assert_eq!(
        req.query("audience").as_deref(),
        Some(AUD),
        "default audience"
    );

    // Another audience flows to the token, and the refusal points at it.
    wd.write_main(&config(
        &wif,
        "subject_token_source = \"github_actions\"\n  audience = \"https://other.example\"",
        "",
    ));
    wd.run(&["plan", "-input=false"]).assert_failure_saying(&[
        "Subject token audience mismatch",
        r#"requested for the audience "https://other.example""#,
        "audience = \"https://other.example\"",
    ]);

    // Outside GitHub Actions the missing variable is named.
    let mut outside = workdir(&emu);
    outside.env("ACTIONS_ID_TOKEN_REQUEST_URL", "");
    outside.write_main(&config(
        &wif,
        "subject_token_source = \"github_actions\"",
        "",
    ));
    outside
        .run(&["plan", "-input=false"])
        .assert_failure_saying(&["ACTIONS_ID_TOKEN_REQUEST_URL is not set"]);
}

#[test]
fn gcp_source_against_a_stand_in_metadata_server() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    let metadata = StandIn::guarded(
        &emu,
        ("metadata-flavor", "Google"),
        (403, "missing Metadata-Flavor"),
        mint_for_the_audience_asked,
    );
    let mut wd = workdir(&emu);
    wd.env("GCE_METADATA_HOST", &metadata.addr);
    plans_with_one_exchange(
        &emu,
        &wd,
        &config(&wif, "subject_token_source = \"gcp\"", ""),
    );
    let req = &metadata.requests()[0];
    assert!(
        req.target
            .starts_with("/computeMetadata/v1/instance/service-accounts/default/identity?"),
        "{req:?}"
    );
    assert_eq!(req.query("audience").as_deref(), Some(AUD));
    assert_eq!(req.query("format").as_deref(), Some("full"));
}

#[test]
fn aws_source_reads_the_eks_token_file() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    let mut wd = workdir(&emu);
    let file = wd.dir().join("eks-token");
    std::fs::write(&file, mint(&minter(&emu), good_claims())).unwrap();
    wd.env("AWS_WEB_IDENTITY_TOKEN_FILE", file.to_str().unwrap())
        // Outbound federation would fail here: the file must win.
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9");
    plans_with_one_exchange(
        &emu,
        &wd,
        &config(&wif, "subject_token_source = \"aws\"", ""),
    );
}

#[test]
fn aws_source_uses_outbound_federation_through_sts() {
    let emu = Emulator::start();
    let role = "arn:aws:iam::123456789012:role/emulated";
    let wif = setup_matching(&emu, None, json!({"sub": role}));
    let mut wd = workdir(&emu);
    wd.env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEMULATED")
        .env("AWS_SECRET_ACCESS_KEY", "emulated-secret-access-key")
        .env(
            "AWS_ENDPOINT_URL_STS",
            &format!("{}/_emulator/aws/sts", emu.url()),
        );
    wd.write_main(&config(
        &wif,
        "subject_token_source = \"aws\"",
        &consumer(0),
    ));
    let before = emu.exchanges();
    wd.apply().assert_success();
    assert_eq!(
        emu.exchanges(),
        before + 2,
        "apply plans and applies: one exchange each"
    );
    assert!(wd.read("used.txt").contains("Bearer"), "the token was used");
    let state = std::fs::read_to_string(wd.dir().join("terraform.tfstate")).unwrap();
    assert!(!state.contains("emulated-secret-access-key"));

    // Without credentials STS is never reached, and the failure says why.
    let mut bare = workdir(&emu);
    bare.env("AWS_REGION", "eu-west-1").env(
        "AWS_ENDPOINT_URL_STS",
        &format!("{}/_emulator/aws/sts", emu.url()),
    );
    bare.write_main(&config(&wif, "subject_token_source = \"aws\"", ""));
    bare.run(&["plan", "-input=false"]).assert_failure_saying(&[
        "Cannot get the subject token",
        "AWS STS GetWebIdentityToken",
    ]);
}

#[test]
fn azure_source_against_a_stand_in_imds() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    // Like IMDS: wants `Metadata: true`, mints for the requested resource.
    let imds = StandIn::guarded(
        &emu,
        ("metadata", "true"),
        (400, "Required metadata header not specified"),
        |minter, req| {
            let mut claims = good_claims();
            claims["aud"] = json!(req.query("resource").unwrap_or_default());
            let token = mint(minter, claims);
            json!({"access_token": token, "token_type": "Bearer"}).to_string()
        },
    );
    let mut wd = workdir(&emu);
    wd.env(
        "OPENAI_WIF_AZURE_IMDS_ENDPOINT",
        &format!("http://{}", imds.addr),
    );
    plans_with_one_exchange(
        &emu,
        &wd,
        &config(&wif, "subject_token_source = \"azure\"", ""),
    );
    let req = &imds.requests()[0];
    assert!(
        req.target.starts_with("/metadata/identity/oauth2/token?"),
        "{req:?}"
    );
    assert_eq!(req.query("resource").as_deref(), Some(AUD));
    assert_eq!(req.query("api-version").as_deref(), Some("2018-02-01"));
}

#[test]
fn spiffe_source_against_the_emulator_workload_api() {
    let socket_dir = tempfile::tempdir().unwrap();
    let socket = socket_dir.path().join("agent.sock");
    let spiffe_id = "spiffe://example.org/ci";
    let emu = Emulator::start_with_args(&[
        "--spiffe-socket",
        socket.to_str().unwrap(),
        "--spiffe-id",
        spiffe_id,
    ]);
    let wif = setup_matching(&emu, None, json!({"sub": spiffe_id}));
    let mut wd = workdir(&emu);
    wd.env(
        "SPIFFE_ENDPOINT_SOCKET",
        &format!("unix://{}", socket.display()),
    );
    plans_with_one_exchange(
        &emu,
        &wd,
        &config(&wif, "subject_token_source = \"spiffe\"", ""),
    );

    // Outside a SPIFFE workload the missing socket variable is named.
    let outside = workdir(&emu);
    outside.write_main(&config(&wif, "subject_token_source = \"spiffe\"", ""));
    outside
        .run(&["plan", "-input=false"])
        .assert_failure_saying(&["SPIFFE_ENDPOINT_SOCKET is not set"]);
}

#[test]
fn renewal_reports_the_expiry_without_exchanging_again() {
    let emu = Emulator::start();
    let wif = setup(&emu, None);
    // A subject token living 75 s gives an access token that Terraform is
    // asked to renew 60 s before its end, i.e. within ~15 s; the consumer
    // keeps the token open for 20 s, so renewal happens during apply.
    let mut claims = good_claims();
    claims["exp"] = json!(now() + 75);
    let token = mint(&minter(&emu), claims);
    let mut wd = workdir(&emu);
    let log = wd.dir().join("trace.log");
    wd.env("TF_VAR_tok", &token)
        .env("TF_LOG", "trace")
        .env("TF_LOG_PATH", log.to_str().unwrap());
    wd.write_main(&config(&wif, "subject_token = var.tok", &consumer(20)));
    let before = emu.exchanges();
    let out = wd.apply();
    out.assert_success();
    out.assert_output_contains_words("ephemeral.openai_workload_identity_token.t: Renewing");
    // Plan and apply each open once; renewal adds no exchange.
    assert_eq!(emu.exchanges(), before + 2);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("RenewEphemeralResource"));
    assert!(
        logs.lines().any(|l| l.contains("[WARN]")
            && l.contains("the OpenAI access token cannot be renewed and expires soon")),
        "no renewal warning in the log"
    );
    assert_no_tokens("the TF_LOG=trace log", &logs, &token);
}

/// An executable `name` in `dir` playing a platform's command: given exactly
/// `expected` as its arguments it prints `token`, like the real command;
/// anything else fails with a message on standard error, as outside a job.
fn stand_in_command(dir: &std::path::Path, name: &str, expected: &[&str], token: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let quoted: Vec<String> = expected
        .iter()
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = format!(
        "#!/bin/sh\nset -- \"$@\"\nexpected() {{ printf '%s\\n' {args}; }}\n\
         if [ \"$(printf '%s\\n' \"$@\")\" = \"$(expected)\" ]; then printf '%s\\n' '{token}'; \
         else echo \"{name}: not inside a job: $*\" >&2; exit 1; fi\n",
        args = quoted.join(" "),
    );
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every CI platform source and `subject_token_env`, end to end: the job's
/// token as the platform hands it out (a variable, or its own command),
/// exchanged against the emulator through a mapping on that platform's
/// immutable tenant claims. One provider, one service account, one mapping
/// per platform; each token matches only its own platform's mapping.
#[test]
fn ci_platform_sources_end_to_end() {
    let emu = Emulator::start();
    let m = minter(&emu);
    let gitlab = json!({"project_id": "4242", "namespace_id": "77", "ref": "main",
                        "ref_protected": "true", "sub": "project_path:acme/app:ref_type:branch:ref:main"});
    let wif = setup_matching(
        &emu,
        None,
        json!({"project_id": "4242", "ref_protected": "true"}),
    );
    let hcp = json!({"terraform_organization_id": "org-AbC123", "terraform_workspace_id": "ws-XyZ789",
                     "terraform_run_phase": "plan", "sub": "organization:acme:project:p:workspace:w:run_phase:plan"});
    let circleci = json!({"oidc.circleci.com/project-id": "5b3f7e0e-0000-4000-8000-000000000001",
                          "sub": "org/o/project/5b3f7e0e-0000-4000-8000-000000000001/user/u"});
    let bitbucket = json!({"repositoryUuid": "{0f1e2d3c-0000-4000-8000-000000000002}",
                           "workspaceUuid": "{9a8b7c6d-0000-4000-8000-000000000003}",
        "sub": "{0f1e2d3c-0000-4000-8000-000000000002}:{5e6f7a8b-0000-4000-8000-000000000006}"});
    let buildkite = json!({"organization_id": "0190b7c2-0000-4000-8000-000000000004",
                           "pipeline_id": "0190b7c2-0000-4000-8000-000000000005",
                           "organization_slug": "acme", "sub": "organization:acme:pipeline:deploy:ref:refs/heads/main:commit:abc:step:"});
    // One mapping per platform, on the claims its module pins.
    let project = emu.ok(
        "GET",
        &format!(
            "/organization/workload_identity_providers/{}/federation_rules",
            wif.provider
        ),
        None,
    )["data"][0]["project_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for matchers in [
        json!({"terraform_organization_id": "org-AbC123", "terraform_workspace_id": "ws-XyZ789"}),
        json!({"oidc.circleci.com/project-id": "5b3f7e0e-0000-4000-8000-000000000001"}),
        json!({"repositoryUuid": "{0f1e2d3c-0000-4000-8000-000000000002}"}),
        json!({"organization_id": "0190b7c2-0000-4000-8000-000000000004",
               "pipeline_id": "0190b7c2-0000-4000-8000-000000000005"}),
    ] {
        emu.ok(
            "POST",
            &format!(
                "/organization/workload_identity_providers/{}/federation_rules",
                wif.provider
            ),
            Some(
                json!({"project_id": project, "service_account_id": wif.account,
                        "attribute_matchers": matchers,
                        "permissions": {"type": "service_account_default"}}),
            ),
        );
    }
    let token = |claims: &Value| {
        let mut c = claims.clone();
        c["aud"] = json!(AUD);
        mint(&m, c)
    };

    let bin = tempfile::tempdir().unwrap();
    stand_in_command(
        bin.path(),
        "buildkite-agent",
        &[
            "oidc",
            "request-token",
            "--audience",
            AUD,
            "--claim",
            "organization_id,pipeline_id",
        ],
        &token(&buildkite),
    );
    stand_in_command(
        bin.path(),
        "circleci",
        &[
            "run",
            "oidc",
            "get",
            "--claims",
            &json!({"aud": AUD}).to_string(),
        ],
        &token(&circleci),
    );
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );

    /// A source, the job's environment, and the audience configured (if any).
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "gitlab_ci",
            vec![
                ("GITLAB_CI", "true".into()),
                ("OPENAI_ID_TOKEN", token(&gitlab)),
            ],
            "",
        ),
        (
            "hcp_terraform",
            vec![
                ("TFC_RUN_ID", "run-1".into()),
                ("TFC_WORKLOAD_IDENTITY_TOKEN", token(&hcp)),
            ],
            "",
        ),
        (
            "circleci",
            vec![
                ("CIRCLECI", "true".into()),
                ("CIRCLE_OIDC_TOKEN_V2", token(&circleci)),
            ],
            "",
        ),
        (
            "circleci",
            vec![("CIRCLECI", "true".into()), ("PATH", path.clone())],
            AUD,
        ),
        (
            "bitbucket_pipelines",
            vec![("BITBUCKET_STEP_OIDC_TOKEN", token(&bitbucket))],
            "",
        ),
        (
            "buildkite",
            vec![("BUILDKITE", "true".into()), ("PATH", path.clone())],
            "",
        ),
    ];
    let mut before = emu.exchanges();
    for (source, env, audience) in &cases {
        let mut wd = workdir(&emu);
        for (k, v) in env {
            wd.env(k, v);
        }
        let audience = if audience.is_empty() {
            String::new()
        } else {
            format!("\n  audience = \"{audience}\"")
        };
        wd.write_main(&config(
            &wif,
            &format!("subject_token_source = \"{source}\"{audience}"),
            "",
        ));
        let out = wd.plan_detailed();
        assert_eq!(out.code, 0, "{source}{audience}:\n{out}");
        assert_eq!(emu.exchanges(), before + 1, "{source}");
        before += 1;
    }

    // Any variable, by name; its value never appears in a diagnostic.
    let mut wd = workdir(&emu);
    wd.env("MY_CI_TOKEN", &token(&gitlab));
    wd.write_main(&config(&wif, "subject_token_env = \"MY_CI_TOKEN\"", ""));
    wd.plan_detailed().assert_code(0);
    assert_eq!(emu.exchanges(), before + 1);
    wd.env("MY_CI_TOKEN", "glpat-not-a-jwt-at-all");
    let out = wd.run(&["plan", "-input=false"]);
    out.assert_failure_saying(&["environment variable MY_CI_TOKEN is not a JWT"]);
    assert!(!format!("{out}").contains("glpat-not-a-jwt"), "{out}");

    // Outside a Buildkite job the command is missing, and the failure says so.
    let outside = workdir(&emu);
    outside.write_main(&config(&wif, "subject_token_source = \"buildkite\"", ""));
    outside
        .run(&["plan", "-input=false"])
        .assert_failure_saying(&["could not run `buildkite-agent`"]);
}
