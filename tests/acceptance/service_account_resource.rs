//! Acceptance: `openai_project_service_account` (keyless) driven by real
//! Terraform against the emulator, alone and in a complete keyless setup.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::support::org::{account_by_hand, project_by_hand};
use crate::support::{Changes, Emulator, Workdir, tf_latest};
use crate::support::{HEADER, config};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use serde_json::{Value as Json, json};

/// The account every configuration here declares.
const ACCOUNT: &str = "openai_project_service_account.ci";

/// One request that went through the [`Recorder`].
#[derive(Clone, Debug)]
struct Exchange {
    method: String,
    path: String,
    request: Json,
    response: Json,
}

struct Shared {
    target: String,
    client: reqwest::Client,
    log: Mutex<Vec<Exchange>>,
    /// Adds an `api_key` to service account create responses, as a server
    /// ignoring `create_service_account_only` would.
    inject_api_key: AtomicBool,
}

/// A loopback proxy in front of the emulator that records request and
/// response bodies, to see exactly what the provider asked for.
struct Recorder {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _runtime: tokio::runtime::Runtime,
}

impl Recorder {
    fn start(emu: &Emulator) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let shared = Arc::new(Shared {
            target: emu.url(),
            client: reqwest::Client::new(),
            log: Mutex::new(Vec::new()),
            inject_api_key: AtomicBool::new(false),
        });
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new()
            .fallback(forward)
            .with_state(shared.clone());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Recorder {
            addr,
            shared,
            _runtime: runtime,
        }
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn exchanges(&self) -> Vec<Exchange> {
        self.shared.log.lock().unwrap().clone()
    }
}

async fn forward(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path().to_string();
    let url = format!(
        "{}{}",
        s.target,
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut out = s.client.request(parts.method.clone(), url);
    for (k, v) in &parts.headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let resp = out.body(body.to_vec()).send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let mut reply = resp.bytes().await.unwrap().to_vec();
    if s.inject_api_key.load(Ordering::SeqCst)
        && parts.method == "POST"
        && path.ends_with("/service_accounts")
        && status.is_success()
    {
        let mut v: Json = serde_json::from_slice(&reply).unwrap();
        v["api_key"] = json!({"object": "organization.project.service_account.api_key",
            "value": "sk-svcacct-injected", "name": "Secret Key", "created_at": 1, "id": "key_injected"});
        reply = serde_json::to_vec(&v).unwrap();
    }
    s.log.lock().unwrap().push(Exchange {
        method: parts.method.to_string(),
        path,
        request: serde_json::from_slice(&body).unwrap_or(Json::Null),
        response: serde_json::from_slice(&reply).unwrap_or(Json::Null),
    });
    let mut r = Response::builder().status(status);
    for (k, v) in &headers {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            r = r.header(k, v);
        }
    }
    r.body(Body::from(reply)).unwrap()
}

/// An emulator holding a project `project` with a keyless account `account`
/// made by hand, as in the dashboard: their ids, and a workdir on it.
fn account_made_by_hand(project: &str, account: &str) -> (Emulator, (String, String), Workdir) {
    let emu = Emulator::start();
    let pid = project_by_hand(&emu, project);
    let sid = account_by_hand(&emu, &pid, account);
    let wd = Workdir::with_emulator(&tf_latest(), &emu);
    (emu, (pid, sid), wd)
}

fn accounts(emu: &Emulator, pid: &str) -> Vec<Json> {
    emu.ok(
        "GET",
        &format!("/organization/projects/{pid}/service_accounts?limit=100"),
        None,
    )["data"]
        .as_array()
        .unwrap()
        .clone()
}

fn account_config(pid: &str, name: &str) -> String {
    account_config_with_role(pid, name, None)
}

/// `role = "..."` only when given, so the default is exercised too.
fn account_config_with_role(pid: &str, name: &str, role: Option<&str>) -> String {
    let role = role
        .map(|r| format!("  role       = \"{r}\"\n"))
        .unwrap_or_default();
    format!(
        r#"{HEADER}
resource "openai_project_service_account" "ci" {{
  project_id = "{pid}"
  name       = "{name}"
{role}}}

output "id" {{ value = openai_project_service_account.ci.id }}
output "account" {{ value = openai_project_service_account.ci }}
"#
    )
}

#[test]
fn keyless_create_update_in_place_replace_recreate_and_destroy() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let recorder = Recorder::start(&emu);
    let pid = project_by_hand(&emu, "keyless");
    let mut wd = Workdir::new(&tf);
    wd.env("OPENAI_BASE_URL", &recorder.base_url())
        .env("OPENAI_ADMIN_KEY", emu.admin_key());
    wd.write_main(&account_config(&pid, "ci"));

    wd.validate().assert_success();
    wd.apply().assert_success();
    let sid = wd.output("id").as_str().unwrap().to_string();

    // The create asked for a keyless account, and no key came back.
    let creates: Vec<Exchange> = recorder
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/service_accounts"))
        .collect();
    assert_eq!(creates.len(), 1, "{creates:#?}");
    assert_eq!(
        creates[0].path,
        format!("/v1/organization/projects/{pid}/service_accounts")
    );
    assert_eq!(
        creates[0].request,
        json!({"name": "ci", "create_service_account_only": true})
    );
    assert_eq!(creates[0].response["id"], json!(sid));
    assert_eq!(
        creates[0].response["role"], "none",
        "keyless accounts start without a role"
    );
    assert!(
        creates[0].response.get("api_key").is_none(),
        "{:#}",
        creates[0].response
    );
    // Then it was given the default role through the update endpoint.
    let account_path = format!("/v1/organization/projects/{pid}/service_accounts/{sid}");
    let updates: Vec<Exchange> = recorder
        .exchanges()
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == account_path)
        .collect();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(updates[0].request, json!({"name": "ci", "role": "member"}));

    // It exists, and the state holds exactly its attributes: no key.
    let sa = emu.ok(
        "GET",
        &format!("/organization/projects/{pid}/service_accounts/{sid}"),
        None,
    );
    assert_eq!((&sa["name"], &sa["role"]), (&json!("ci"), &json!("member")));
    assert_eq!(
        wd.output("account"),
        json!({"id": sid, "project_id": pid, "name": "ci", "role": "member", "created_at": sa["created_at"]})
    );
    let state_text = wd.read("terraform.tfstate");
    assert!(!state_text.contains("api_key") && !state_text.contains("sk-"));
    wd.plan_detailed().assert_code(0);

    // A new name, then a new role, update the account in place: same id.
    for (name, role) in [("ci-renamed", None), ("ci-renamed", Some("owner"))] {
        wd.write_main(&account_config_with_role(&pid, name, role));
        wd.plan_json()
            .assert_planned(ACCOUNT, "update")
            .assert_changes(Changes::new(0, 1, 0));
        wd.apply().assert_success();
        assert_eq!(wd.output("id"), json!(sid));
        let sa = emu.ok(
            "GET",
            &format!("/organization/projects/{pid}/service_accounts/{sid}"),
            None,
        );
        assert_eq!(sa["name"], name);
        assert_eq!(sa["role"], role.unwrap_or("member"));
        wd.plan_detailed().assert_code(0);
    }
    assert_eq!(accounts(&emu, &pid).len(), 1);

    // A new project replaces the account.
    let pid2 = project_by_hand(&emu, "keyless-2");
    wd.write_main(&account_config_with_role(
        &pid2,
        "ci-renamed",
        Some("owner"),
    ));
    wd.plan_json()
        .assert_planned(ACCOUNT, "replace")
        .assert_changes(Changes::new(1, 0, 1));
    wd.apply().assert_success();
    let sid2 = wd.output("id").as_str().unwrap().to_string();
    assert_ne!(sid, sid2);
    let (status, _) = emu.call(
        "GET",
        &format!("/organization/projects/{pid}/service_accounts/{sid}"),
        None,
    );
    assert_eq!(status, 404, "the old account was deleted");
    assert!(accounts(&emu, &pid).is_empty());
    let moved = accounts(&emu, &pid2);
    assert_eq!(moved.len(), 1);
    assert_eq!(
        (&moved[0]["name"], &moved[0]["role"]),
        (&json!("ci-renamed"), &json!("owner"))
    );
    wd.plan_detailed().assert_code(0);
    let pid = pid2;

    // Deleted by hand: the next plan creates it again.
    emu.ok(
        "DELETE",
        &format!("/organization/projects/{pid}/service_accounts/{sid2}"),
        None,
    );
    let plan = wd.plan_json();
    plan.assert_code(2);
    plan.assert_changes(Changes::new(1, 0, 0));
    wd.apply().assert_success();
    let sid3 = wd.output("id").as_str().unwrap().to_string();
    assert_ne!(sid3, sid2);
    assert_eq!(accounts(&emu, &pid).len(), 1);
    wd.plan_detailed().assert_code(0);
    // Every create through the provider was keyless.
    for e in recorder
        .exchanges()
        .iter()
        .filter(|e| e.method == "POST" && e.path.ends_with("/service_accounts"))
    {
        assert_eq!(
            e.request["create_service_account_only"],
            json!(true),
            "{e:?}"
        );
        assert!(e.response.get("api_key").is_none(), "{e:?}");
    }

    wd.destroy().assert_success();
    assert!(accounts(&emu, &pid).is_empty());
}

#[test]
fn a_failed_role_update_keeps_the_account_and_a_lost_create_is_recovered() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let pid = project_by_hand(&emu, "roles");
    let wd = Workdir::with_emulator(&tf, &emu);
    wd.write_main(&account_config_with_role(&pid, "ci", Some("owner")));

    // The create succeeds, giving it its role does not.
    emu.script_faults(
        json!([{"method": "POST", "path": "/v1/organization/projects/{id}/service_accounts/{sa_id}",
                "action": {"type": "status", "status": 400}}]),
    );
    wd.apply()
        .assert_failure_saying(&["project role \"owner\"", "kept in state"]);
    let all = accounts(&emu, &pid);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["role"], "none");
    // Terraform kept it (tainted), so it is not lost: the next apply replaces it.
    let kept = wd.state_resources();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        (&kept[0]["address"], &kept[0]["tainted"]),
        (&json!(ACCOUNT), &json!(true))
    );
    let plan = wd.plan_json();
    plan.assert_code(2);
    let change = plan.planned_change(ACCOUNT);
    assert_eq!(
        (&change["action"], &change["reason"]),
        (&json!("replace"), &json!("tainted")),
        "{plan}"
    );
    wd.apply().assert_success();
    let all = accounts(&emu, &pid);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        (&all[0]["name"], &all[0]["role"]),
        (&json!("ci"), &json!("owner"))
    );
    assert_eq!(wd.output("id"), all[0]["id"]);
    wd.plan_detailed().assert_code(0);
    wd.destroy().assert_success();

    // The create's answer is lost after it committed: the account is found
    // by name, not made twice, and still gets its role.
    emu.script_faults(
        json!([{"method": "POST", "path": "/v1/organization/projects/{id}/service_accounts",
                "action": {"type": "commit_then_drop"}}]),
    );
    wd.apply().assert_success();
    let all = accounts(&emu, &pid);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0]["role"], "owner");
    assert_eq!(wd.output("id"), all[0]["id"]);
    wd.plan_detailed().assert_code(0);
}

#[test]
fn an_account_created_with_a_key_anyway_is_deleted_and_the_create_fails() {
    let tf = tf_latest();
    let emu = Emulator::start();
    let recorder = Recorder::start(&emu);
    recorder.shared.inject_api_key.store(true, Ordering::SeqCst);
    let pid = project_by_hand(&emu, "keyless");
    let mut wd = Workdir::new(&tf);
    wd.env("OPENAI_BASE_URL", &recorder.base_url())
        .env("OPENAI_ADMIN_KEY", emu.admin_key());
    wd.write_main(&account_config(&pid, "ci"));

    let out = wd.apply();
    out.assert_failure_saying(&[
        "OpenAI created an API key for a keyless service account",
        "It was deleted again.",
    ]);
    assert!(
        !out.stdout.contains("sk-svcacct-injected") && !out.stderr.contains("sk-svcacct-injected")
    );
    assert!(
        accounts(&emu, &pid).is_empty(),
        "the account with a key is gone"
    );
    let left = wd.state_resources();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn import_by_id_by_block_and_by_identity() {
    let (emu, (pid, sid), wd) = account_made_by_hand("imports", "ci");

    // `terraform import` by id.
    wd.write_main(&account_config(&pid, "ci"));
    wd.run(&[
        "import",
        "-input=false",
        "openai_project_service_account.ci",
        &format!("{pid}/{sid}"),
    ])
    .assert_success();
    let imported = &wd.state()["values"]["root_module"]["resources"][0]["values"];
    assert_eq!(imported["id"], json!(sid));
    assert_eq!(imported["name"], "ci");
    // Made outside Terraform, it has no role: the plan sets the default in place.
    assert_eq!(imported["role"], "none");
    let plan = wd.plan_json();
    plan.assert_code(2);
    plan.assert_changes(Changes::new(0, 1, 0));
    let role = &wd.saved_plan()["resource_changes"][0]["change"];
    assert_eq!(
        (&role["before"]["role"], &role["after"]["role"]),
        (&json!("none"), &json!("member"))
    );
    wd.apply_clean();
    assert_eq!(
        wd.state()["values"]["root_module"]["resources"][0]["values"]["id"],
        json!(sid)
    );

    let fresh = |config: &str| {
        let wd = Workdir::with_emulator(&tf_latest(), &emu);
        wd.write_main(config);
        wd
    };

    // Malformed ids are refused with the expected format.
    for bad in [sid.as_str(), "/svc_acct_x", "proj_x/", "a/b/c"] {
        fresh(&account_config(&pid, "ci"))
            .run(&[
                "import",
                "-input=false",
                "openai_project_service_account.ci",
                bad,
            ])
            .assert_failure_saying(&[
                "Invalid import ID",
                "Expected \"<project id>/<service account id>\"",
            ]);
    }

    // An `import {}` block with the id, then one with the identity.
    for import in [
        format!(
            "import {{\n  to = openai_project_service_account.ci\n  id = \"{pid}/{sid}\"\n}}\n"
        ),
        format!(
            "import {{\n  to       = openai_project_service_account.ci\n  identity = {{\n    project_id = \"{pid}\"\n    id         = \"{sid}\"\n  }}\n}}\n"
        ),
    ] {
        let wd = fresh(&format!("{}\n{import}", account_config(&pid, "ci")));
        wd.plan_json().assert_changes(Changes::imports(1));
        wd.apply_clean();
    }
    // Nothing was created along the way.
    assert_eq!(accounts(&emu, &pid).len(), 1);
}

fn keyless_setup(issuer: &str) -> String {
    let provider = config::labelled_provider("issuer", "ci-issuer", issuer, "");
    format!(
        r#"{HEADER}
data "openai_project" "app" {{
  name = "keyless-app"
}}

resource "openai_project_service_account" "ci" {{
  project_id = data.openai_project.app.id
  name       = "ci"
  role       = "member"
}}

# Created outside Terraform, so it has no role.
data "openai_project_service_account" "outside" {{
  project_id = data.openai_project.app.id
  name       = "outside"
}}

{provider}
resource "openai_service_account_mapping" "ci" {{
  workload_identity_provider_id = openai_workload_identity_provider.issuer.id
  project_id                    = openai_project_service_account.ci.project_id
  service_account_id            = openai_project_service_account.ci.id
  attribute_matchers = {{
    sub = "repo:my-org/my-repo:ref:refs/heads/main"
  }}
}}

resource "openai_service_account_mapping" "outside" {{
  workload_identity_provider_id = openai_workload_identity_provider.issuer.id
  project_id                    = data.openai_project_service_account.outside.project_id
  service_account_id            = data.openai_project_service_account.outside.id
  attribute_matchers = {{
    sub = "repo:my-org/my-repo:ref:refs/heads/main"
  }}
}}

output "service_account_id" {{ value = openai_project_service_account.ci.id }}
output "outside_role" {{ value = data.openai_project_service_account.outside.role }}
output "provider_id" {{ value = openai_workload_identity_provider.issuer.id }}
"#
    )
}

/// `GET /v1/models` with `bearer`: the status.
fn list_models(emu: &Emulator, bearer: &str) -> u16 {
    let url = format!("{}/models", emu.base_url());
    let bearer = bearer.to_string();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(bearer)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
}

/// Mints a token at the emulator's built-in issuer and exchanges it.
fn exchange(emu: &Emulator, provider_id: &str, service_account_id: &str) -> (u16, Json) {
    let token = emu.mint(json!({
        "sub": "repo:my-org/my-repo:ref:refs/heads/main",
        "aud": "https://api.openai.com/v1",
    }));
    emu.exchange(&token, provider_id, service_account_id)
}

tftest! {
    fn a_complete_keyless_setup_with_only_this_provider(tf) {
        let emu = Emulator::start();
        let pid = project_by_hand(&emu, "keyless-app");
        let outside = account_by_hand(&emu, &pid, "outside");
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&keyless_setup(&format!("{}/_emulator/oidc", emu.url())));
        wd.apply_clean();

        let sid = wd
            .output("service_account_id")
            .as_str()
            .unwrap()
            .to_string();
        let provider_id = wd.output("provider_id").as_str().unwrap().to_string();
        assert_eq!(accounts(&emu, &pid).len(), 2, "{tf}");
        assert_eq!(wd.output("outside_role"), json!("none"), "{tf}");
        let rules = emu.ok(
            "GET",
            &format!("/organization/workload_identity_providers/{provider_id}/federation_rules"),
            None,
        );
        let mapped: Vec<&Json> = rules["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| &r["service_account_id"])
            .collect();
        assert!(mapped.contains(&&json!(sid)), "{tf}: {rules}");
        assert_eq!(rules["data"][0]["project_id"], json!(pid), "{tf}");

        // The keyless account is usable: a workload token exchanges for an
        // access token, which the model API accepts, since it has a role.
        let (status, body) = exchange(&emu, &provider_id, &sid);
        assert_eq!(status, 200, "{tf}: {body}");
        let access = body["access_token"].as_str().unwrap();
        assert!(!access.is_empty());
        assert_eq!(list_models(&emu, access), 200, "{tf}");

        // The account without a role exchanges too, but may not call the
        // API: OpenAI's 401 "Missing scopes" for a missing permission.
        let (status, body) = exchange(&emu, &provider_id, &outside);
        assert_eq!(status, 200, "{tf}: {body}");
        assert_eq!(list_models(&emu, body["access_token"].as_str().unwrap()), 401, "{tf}");

        wd.destroy().assert_success();
        let left: Vec<Json> = accounts(&emu, &pid).iter().map(|a| a["id"].clone()).collect();
        assert_eq!(left, vec![json!(outside)], "{tf}");
        let providers = emu.ok("GET", "/organization/workload_identity_providers", None);
        assert_eq!(providers["data"], json!([]), "{tf}");
    }
}

/// Item 4 of the guards issue: `-generate-config-out` for a keyless
/// account made without a role writes `role = "none"`. That file must
/// validate, import with zero changes, and keep the account without a role;
/// taking a role away later is refused at plan, with the way out.
#[test]
fn a_generated_role_none_account_imports_cleanly_and_a_role_cannot_be_taken_away() {
    let (emu, (pid, sid), wd) = account_made_by_hand("p", "dashboard");
    wd.write_main(&format!(
        "{HEADER}\nimport {{\n  to = openai_project_service_account.ci\n  id = \"{pid}/{sid}\"\n}}\n"
    ));
    wd.run(&["plan", "-input=false", "-generate-config-out=generated.tf"])
        .assert_success();
    let generated = wd.read("generated.tf");
    assert!(generated.contains(r#"role       = "none""#), "{generated}");
    wd.validate().assert_success();
    wd.apply_clean();
    assert_eq!(accounts(&emu, &pid)[0]["role"], "none");

    // Giving it a role works in place; taking it away again cannot.
    wd.write(
        "generated.tf",
        &generated.replace(r#""none""#, r#""member""#),
    );
    wd.apply().assert_success();
    assert_eq!(accounts(&emu, &pid)[0]["role"], "member");
    wd.write("generated.tf", &generated);
    wd.plan_detailed()
        .assert_code_saying(1, &["Cannot take a service account's role away"]);
}
