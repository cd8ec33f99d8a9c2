//! A small fake of the OpenAI Admin API and token endpoint for the client's
//! integration tests. Unlike the real emulator it can be told precisely how
//! to misbehave: fail the next N requests, commit a create and then lose the
//! answer, stall past the client's timeout, and so on. It records every
//! request so tests can count what the client actually sent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use openai_admin::models::*;
use openai_admin::retry::Backoff;
use openai_admin::secret::Secret;
use openai_admin::{Client, ClientConfig};
use serde::Serialize;
use serde_json::{Value, json};
use url::Url;

pub const ADMIN_KEY: &str = "sk-admin-test-key";
pub const GOOD_SUBJECT_TOKEN: &str = "good-subject-token";

/// How to misbehave on the next request matching a method and path.
#[derive(Clone, Debug)]
pub enum Fault {
    /// Answer with this instead of handling the request (nothing happens).
    Reply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Handle the request (it takes effect), then answer with this status
    /// and an error envelope instead of the real answer.
    CommitThenStatus(u16),
    /// Handle the request, then answer with this instead of the real answer.
    CommitThenReply {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Handle the request, then hold the answer this long (past the
    /// client's timeout).
    CommitThenStall(Duration),
    /// Handle the request, then start a 200 answer whose body breaks off.
    CommitThenBreak,
}

impl Fault {
    pub fn status(status: u16) -> Fault {
        Fault::Reply {
            status,
            headers: Vec::new(),
            body: error_body("server_error", "Injected failure.", None, None).to_string(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
pub struct FakeState {
    pub requests: Vec<Recorded>,
    faults: Vec<(Method, String, Fault)>,
    pub providers: Vec<WorkloadIdentityProvider>,
    pub rules: Vec<FederationRule>,
    pub projects: Vec<Project>,
    /// (project id, account)
    pub service_accounts: Vec<(String, ServiceAccount)>,
    next_id: u64,
}

impl FakeState {
    fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:06}", self.next_id)
    }
}

pub struct FakeApi {
    pub addr: std::net::SocketAddr,
    pub state: Arc<Mutex<FakeState>>,
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl FakeApi {
    pub async fn start() -> FakeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(FakeState::default()));
        let app = Router::new().fallback(handle).with_state(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeApi { addr, state }
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/v1", self.addr)).unwrap()
    }

    /// A config with fast backoff, so retry tests stay quick.
    pub fn config(&self) -> ClientConfig {
        ClientConfig {
            base_url: self.base_url(),
            admin_key: Some(Secret::new(ADMIN_KEY)),
            token_exchange_url: Url::parse(&format!("http://{}/oauth/token", self.addr)).unwrap(),
            request_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(2),
            max_retries: 3,
            backoff: Backoff {
                base: Duration::from_millis(5),
                cap: Duration::from_millis(40),
                max_retry_after: Duration::from_secs(60),
            },
            ..ClientConfig::default()
        }
    }

    pub fn client(&self) -> Client {
        Client::new(self.config()).unwrap()
    }

    /// Queue a fault for the next request with this method and path (path
    /// below `/v1`, e.g. `/organization/projects`). Faults for the same
    /// request are used in the order queued.
    pub fn fault(&self, method: Method, path: &str, fault: Fault) {
        self.state
            .lock()
            .unwrap()
            .faults
            .push((method, path.to_owned(), fault));
    }

    pub fn fault_n(&self, n: usize, method: Method, path: &str, fault: Fault) {
        for _ in 0..n {
            self.fault(method.clone(), path, fault.clone());
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// How many requests with this method reached exactly this path.
    pub fn count(&self, method: Method, path: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .count()
    }

    pub fn providers(&self) -> Vec<WorkloadIdentityProvider> {
        self.state.lock().unwrap().providers.clone()
    }

    pub fn rules(&self) -> Vec<FederationRule> {
        self.state.lock().unwrap().rules.clone()
    }

    pub fn seed_provider(&self, name: &str) -> WorkloadIdentityProvider {
        let mut st = self.state.lock().unwrap();
        let p = new_provider(&mut st, provider_request(name));
        st.providers.push(p.clone());
        p
    }

    pub fn seed_rule(
        &self,
        provider_id: &str,
        req: CreateRuleRequest,
        created_at: i64,
    ) -> FederationRule {
        let mut st = self.state.lock().unwrap();
        let mut r = new_rule(&mut st, provider_id, req);
        r.created_at = created_at;
        r.updated_at = created_at;
        st.rules.push(r.clone());
        r
    }

    pub fn seed_project(&self, name: &str) -> Project {
        let mut st = self.state.lock().unwrap();
        let p = Project {
            object: OBJECT_PROJECT.into(),
            id: st.new_id("proj"),
            name: name.into(),
            created_at: now(),
            archived_at: None,
            status: "active".into(),
        };
        st.projects.push(p.clone());
        p
    }
}

pub fn provider_request(name: &str) -> CreateProviderRequest {
    CreateProviderRequest {
        name: name.into(),
        issuer: "https://token.actions.githubusercontent.com".into(),
        audience: "https://api.openai.com/v1".into(),
        kind: "oidc".into(),
        ..Default::default()
    }
}

pub fn rule_request(sa: &str) -> CreateRuleRequest {
    let mut matchers = AttributeMatchers::new();
    matchers.insert("repository".into(), json!("my-org/my-repo"));
    matchers.insert("ref".into(), json!("refs/heads/main"));
    CreateRuleRequest {
        project_id: "proj_abc".into(),
        service_account_id: sa.into(),
        attribute_matchers: matchers,
        ..Default::default()
    }
}

// ------------------------------------------------------------------ handler

fn error_body(code: &str, message: &str, param: Option<&str>, kind: Option<&str>) -> Value {
    json!({"error": {
        "message": message,
        "type": kind.unwrap_or("invalid_request_error"),
        "param": param,
        "code": code,
    }})
}

struct Answer {
    status: StatusCode,
    body: Value,
}

fn ok(value: impl Serialize) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: serde_json::to_value(value).unwrap(),
    }
}

fn err(status: u16, code: &str, message: &str, param: Option<&str>) -> Answer {
    Answer {
        status: StatusCode::from_u16(status).unwrap(),
        body: error_body(code, message, param, None),
    }
}

fn not_found(what: &str) -> Answer {
    err(404, "not_found", &format!("No such {what}."), None)
}

async fn handle(
    AxState(state): AxState<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri
        .path()
        .strip_prefix("/v1")
        .unwrap_or(uri.path())
        .to_owned();
    let query = uri.query().map(str::to_owned);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let (request_id, fault, answer) = {
        let mut st = state.lock().unwrap();
        st.requests.push(Recorded {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            authorization: authorization.clone(),
        });
        let request_id = format!("req_{}", st.requests.len());
        let fault = st
            .faults
            .iter()
            .position(|(m, p, _)| *m == method && *p == path)
            .map(|i| st.faults.remove(i).2);
        if let Some(Fault::Reply {
            status,
            headers,
            body,
        }) = fault
        {
            let mut resp = Response::builder()
                .status(status)
                .header("x-request-id", &request_id)
                .header("content-type", "application/json");
            for (k, v) in headers {
                resp = resp.header(k, v);
            }
            return resp.body(Body::from(body)).unwrap();
        }
        let answer = if path == "/oauth/token" {
            token(&body, authorization.is_some())
        } else if authorization.as_deref() != Some(&format!("Bearer {ADMIN_KEY}")) {
            err(401, "invalid_api_key", "Incorrect API key provided.", None)
        } else {
            route(&mut st, &method, &path, query.as_deref(), &body)
        };
        (request_id, fault, answer)
    };

    let respond = |status: StatusCode, body: Body| {
        Response::builder()
            .status(status)
            .header("x-request-id", &request_id)
            .header("content-type", "application/json")
            .body(body)
            .unwrap()
    };
    match fault {
        None => respond(answer.status, Body::from(answer.body.to_string())),
        Some(Fault::CommitThenStatus(status)) => respond(
            StatusCode::from_u16(status).unwrap(),
            Body::from(
                error_body("server_error", "Upstream lost.", None, Some("server_error"))
                    .to_string(),
            ),
        ),
        Some(Fault::CommitThenReply {
            status,
            headers,
            body,
        }) => {
            let mut resp = respond(StatusCode::from_u16(status).unwrap(), Body::from(body));
            for (k, v) in headers {
                resp.headers_mut().insert(k, v.parse().unwrap());
            }
            resp
        }
        Some(Fault::CommitThenStall(delay)) => {
            tokio::time::sleep(delay).await;
            respond(answer.status, Body::from(answer.body.to_string()))
        }
        Some(Fault::CommitThenBreak) => {
            let stream = futures_util::stream::iter(vec![
                Ok(Bytes::from_static(b"{\"object\":")),
                Err(std::io::Error::other("connection lost")),
            ]);
            respond(StatusCode::OK, Body::from_stream(stream))
        }
        Some(Fault::Reply { .. }) => unreachable!("answered above"),
    }
}

fn token(body: &[u8], had_authorization: bool) -> Answer {
    let req: TokenExchangeRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(_) => {
            return Answer {
                status: StatusCode::BAD_REQUEST,
                body: json!({"error": "invalid_request", "error_description": "Body is not a token exchange request."}),
            };
        }
    };
    if had_authorization {
        return Answer {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": "invalid_request", "error_description": "Unexpected Authorization header."}),
        };
    }
    if req.subject_token != GOOD_SUBJECT_TOKEN {
        return Answer {
            status: StatusCode::BAD_REQUEST,
            body: json!({"error": "invalid_grant", "error_description": "No enabled federation rule matches the token."}),
        };
    }
    ok(TokenExchangeResponse {
        access_token: "wif-access-token".into(),
        issued_token_type: TOKEN_TYPE_ACCESS_TOKEN.into(),
        token_type: "Bearer".into(),
        expires_in: 3600,
        scope: None,
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Answer> {
    serde_json::from_slice(body).map_err(|e| err(400, "invalid_body", &e.to_string(), None))
}

fn route(
    st: &mut FakeState,
    method: &Method,
    path: &str,
    query: Option<&str>,
    body: &[u8],
) -> Answer {
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let result = match (method.clone(), segs.as_slice()) {
        (Method::POST, ["organization", "workload_identity_providers"]) => {
            create_provider(st, body)
        }
        (Method::GET, ["organization", "workload_identity_providers"]) => {
            Ok(list(&st.providers, |p| &p.id, query))
        }
        (m, ["organization", "workload_identity_providers", id]) => provider_item(st, m, id, body),
        (
            Method::POST,
            [
                "organization",
                "workload_identity_providers",
                pid,
                "federation_rules",
            ],
        ) => create_rule(st, pid, body),
        (
            Method::GET,
            [
                "organization",
                "workload_identity_providers",
                pid,
                "federation_rules",
            ],
        ) => {
            let sa = query_param(query, "service_account_id");
            let rules: Vec<FederationRule> = st
                .rules
                .iter()
                .filter(|r| r.workload_identity_provider_id == *pid)
                .filter(|r| sa.as_deref().is_none_or(|sa| r.service_account_id == sa))
                .cloned()
                .collect();
            Ok(list(&rules, |r| &r.id, query))
        }
        (
            m,
            [
                "organization",
                "workload_identity_providers",
                pid,
                "federation_rules",
                rid,
            ],
        ) => rule_item(st, m, pid, rid, body),
        (Method::POST, ["organization", "projects"]) => {
            parse::<CreateProjectRequest>(body).map(|req| {
                let p = Project {
                    object: OBJECT_PROJECT.into(),
                    id: st.new_id("proj"),
                    name: req.name,
                    created_at: now(),
                    archived_at: None,
                    status: "active".into(),
                };
                st.projects.push(p.clone());
                ok(p)
            })
        }
        (Method::GET, ["organization", "projects"]) => Ok(list(&st.projects, |p| &p.id, query)),
        (Method::GET, ["organization", "projects", id]) => Ok(st
            .projects
            .iter()
            .find(|p| p.id == *id)
            .map_or_else(|| not_found("project"), ok)),
        (Method::POST, ["organization", "projects", pid, "service_accounts"]) => {
            parse::<CreateServiceAccountRequest>(body).map(|req| {
                let sa = ServiceAccount {
                    object: OBJECT_SERVICE_ACCOUNT.into(),
                    id: st.new_id("svc_acct"),
                    name: req.name,
                    role: "member".into(),
                    created_at: now(),
                };
                st.service_accounts.push((pid.to_string(), sa.clone()));
                let key = (!req.create_service_account_only).then(|| ServiceAccountApiKey {
                    object: "organization.project.service_account.api_key".into(),
                    value: "sk-svcacct-secret".into(),
                    name: "Secret Key".into(),
                    created_at: sa.created_at,
                    id: "key_1".into(),
                });
                ok(CreatedServiceAccount {
                    object: sa.object,
                    id: sa.id,
                    name: sa.name,
                    role: sa.role,
                    created_at: sa.created_at,
                    api_key: key,
                })
            })
        }
        (Method::GET, ["organization", "projects", pid, "service_accounts"]) => {
            let sas: Vec<ServiceAccount> = st
                .service_accounts
                .iter()
                .filter(|(p, _)| p == pid)
                .map(|(_, sa)| sa.clone())
                .collect();
            Ok(list(&sas, |s| &s.id, query))
        }
        (Method::GET, ["organization", "projects", pid, "service_accounts", sid]) => Ok(st
            .service_accounts
            .iter()
            .find(|(p, sa)| p == pid && sa.id == *sid)
            .map_or_else(|| not_found("service account"), |(_, sa)| ok(sa))),
        (Method::DELETE, ["organization", "projects", pid, "service_accounts", sid]) => {
            let before = st.service_accounts.len();
            st.service_accounts
                .retain(|(p, sa)| !(p == pid && sa.id == *sid));
            Ok(if st.service_accounts.len() == before {
                not_found("service account")
            } else {
                ok(Deleted {
                    object: OBJECT_SERVICE_ACCOUNT_DELETED.into(),
                    id: sid.to_string(),
                    deleted: true,
                })
            })
        }
        _ => Ok(err(
            404,
            "not_found",
            &format!("Unknown route {method} {path}."),
            None,
        )),
    };
    result.unwrap_or_else(|a| a)
}

fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Newest first by default, `after` = the id to continue after.
fn list<T: Serialize + Clone>(
    items: &[T],
    id: impl Fn(&T) -> &String,
    query: Option<&str>,
) -> Answer {
    let limit: usize = query_param(query, "limit")
        .map(|l| l.parse().unwrap())
        .unwrap_or(20);
    assert!((1..=100).contains(&limit), "limit out of range: {limit}");
    let mut ordered: Vec<T> = items.to_vec();
    if query_param(query, "order").as_deref() != Some("asc") {
        ordered.reverse();
    }
    let start = match query_param(query, "after") {
        Some(after) => match ordered.iter().position(|i| *id(i) == after) {
            Some(pos) => pos + 1,
            None => return err(400, "invalid_cursor", "Unknown cursor.", Some("after")),
        },
        None => 0,
    };
    let page: Vec<T> = ordered.iter().skip(start).take(limit).cloned().collect();
    let has_more = start + page.len() < ordered.len();
    ok(ListPage {
        object: "list".into(),
        first_id: page.first().map(|i| id(i).clone()),
        last_id: page.last().map(|i| id(i).clone()),
        data: page,
        has_more,
    })
}

fn new_provider(st: &mut FakeState, req: CreateProviderRequest) -> WorkloadIdentityProvider {
    WorkloadIdentityProvider {
        object: OBJECT_PROVIDER.into(),
        id: st.new_id("wip"),
        name: req.name,
        description: req.description,
        kind: "oidc".into(),
        issuer: req.issuer,
        audience: req.audience,
        enabled: req.enabled.unwrap_or(true),
        verification: req.verification.unwrap_or_default(),
        attribute_transformations: req.attribute_transformations.unwrap_or_default(),
        created_at: now(),
        updated_at: now(),
    }
}

fn create_provider(st: &mut FakeState, body: &[u8]) -> Result<Answer, Answer> {
    let req: CreateProviderRequest = parse(body)?;
    if req.issuer.is_empty() {
        return Err(err(
            400,
            "invalid_value",
            "issuer must not be empty.",
            Some("issuer"),
        ));
    }
    if st.providers.iter().any(|p| p.name == req.name) {
        return Err(err(
            409,
            "conflict",
            "A provider with this name already exists.",
            Some("name"),
        ));
    }
    let p = new_provider(st, req);
    st.providers.push(p.clone());
    Ok(ok(p))
}

fn provider_item(
    st: &mut FakeState,
    method: Method,
    id: &str,
    body: &[u8],
) -> Result<Answer, Answer> {
    let idx = st
        .providers
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| not_found("workload identity provider"))?;
    match method {
        Method::GET => Ok(ok(&st.providers[idx])),
        Method::POST => {
            let req: UpdateProviderRequest = parse(body)?;
            let p = &mut st.providers[idx];
            if let Some(name) = req.name {
                p.name = name;
            }
            if let Some(d) = req.description {
                p.description = d;
            }
            if let Some(e) = req.enabled {
                p.enabled = e;
            }
            p.updated_at = now();
            Ok(ok(&*p))
        }
        Method::DELETE => {
            if st
                .rules
                .iter()
                .any(|r| r.workload_identity_provider_id == id)
            {
                return Err(err(
                    409,
                    "conflict",
                    "Delete the provider's federation rules first.",
                    None,
                ));
            }
            st.providers.remove(idx);
            Ok(ok(Deleted {
                object: OBJECT_PROVIDER_DELETED.into(),
                id: id.into(),
                deleted: true,
            }))
        }
        _ => Err(err(405, "method_not_allowed", "Method not allowed.", None)),
    }
}

fn new_rule(st: &mut FakeState, provider_id: &str, req: CreateRuleRequest) -> FederationRule {
    FederationRule {
        object: OBJECT_RULE.into(),
        id: st.new_id("wifr"),
        workload_identity_provider_id: provider_id.into(),
        name: req.name,
        description: req.description,
        enabled: req.enabled.unwrap_or(true),
        project_id: req.project_id,
        service_account_id: req.service_account_id,
        attribute_matchers: req.attribute_matchers,
        permissions: req.permissions.unwrap_or_default(),
        created_at: now(),
        updated_at: now(),
    }
}

fn create_rule(st: &mut FakeState, provider_id: &str, body: &[u8]) -> Result<Answer, Answer> {
    if !st.providers.iter().any(|p| p.id == provider_id) {
        return Err(not_found("workload identity provider"));
    }
    let req: CreateRuleRequest = parse(body)?;
    if let Some(name) = &req.name {
        if st.rules.iter().any(|r| {
            r.workload_identity_provider_id == provider_id && r.name.as_ref() == Some(name)
        }) {
            return Err(err(
                409,
                "conflict",
                "A rule with this name already exists.",
                Some("name"),
            ));
        }
    }
    let r = new_rule(st, provider_id, req);
    st.rules.push(r.clone());
    Ok(ok(r))
}

fn rule_item(
    st: &mut FakeState,
    method: Method,
    pid: &str,
    rid: &str,
    body: &[u8],
) -> Result<Answer, Answer> {
    let idx = st
        .rules
        .iter()
        .position(|r| r.id == rid && r.workload_identity_provider_id == pid)
        .ok_or_else(|| not_found("federation rule"))?;
    match method {
        Method::GET => Ok(ok(&st.rules[idx])),
        Method::POST => {
            let req: UpdateRuleRequest = parse(body)?;
            let r = &mut st.rules[idx];
            if let Some(e) = req.enabled {
                r.enabled = e;
            }
            if let Some(m) = req.attribute_matchers {
                r.attribute_matchers = m;
            }
            r.updated_at = now();
            Ok(ok(&*r))
        }
        Method::DELETE => {
            let r = st.rules.remove(idx);
            Ok(ok(Deleted {
                object: OBJECT_RULE_DELETED.into(),
                id: r.id,
                deleted: true,
            }))
        }
        _ => Err(err(405, "method_not_allowed", "Method not allowed.", None)),
    }
}

// ------------------------------------------------------------------ raw TCP

/// A bare HTTP server that drops the first `drops` connections right after
/// reading the request, then answers every request with `200` and `body`.
/// Returns its address and a connection counter.
pub async fn dropping_server(
    drops: usize,
    body: &'static str,
) -> (std::net::SocketAddr, Arc<Mutex<usize>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(Mutex::new(0usize));
    let counter = connections.clone();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let n = {
                let mut c = counter.lock().unwrap();
                *c += 1;
                *c
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => buf.extend_from_slice(&chunk[..k]),
                    }
                }
                if n <= drops {
                    return; // dropping the socket closes it without an answer
                }
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (addr, connections)
}
