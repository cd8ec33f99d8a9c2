//! Plain HTTP calls outside the Admin API client: the emulator's helpers
//! and the token exchange, as a workload or a CI job would make them.

use serde_json::Value;

/// A plain HTTP call outside the Admin API (emulator helpers, the exchange).
pub fn http(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    http_as(method, url, body, None)
}

/// [`http`] with the admin key, which the emulator's control routes need.
pub fn http_as(method: &str, url: &str, body: Option<Value>, key: Option<&str>) -> (u16, Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let post = method == reqwest::Method::POST;
        let mut req = reqwest::Client::new().request(method, url);
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(b) = body {
            req = req.json(&b);
        } else if post {
            // The emulator's control routes take only JSON.
            req = req.header("content-type", "application/json");
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    })
}
