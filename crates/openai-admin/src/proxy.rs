//! Which proxy a request goes through: the usual environment variables
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, either case), but
//! never for loopback hosts. A local emulator or stand-in speaks plain
//! `http`, so a proxy there would see the admin key and tokens in clear.

use reqwest::{NoProxy, Proxy};

/// Hosts that are always reached directly, whatever `NO_PROXY` says.
const LOOPBACK: &str = "localhost,127.0.0.0/8,::1";

/// An environment lookup: the value of a variable, if set (callers treat an
/// empty value as unset). The one spelling of this type in the workspace;
/// tests pass a closure over a table instead of the process environment.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

fn var(env: Env<'_>, name: &str) -> Option<String> {
    env(name)
        .or_else(|| env(&name.to_ascii_lowercase()))
        .filter(|v| !v.trim().is_empty())
}

/// Applies the proxy policy to `builder`: the environment's proxies, with
/// loopback hosts added to `NO_PROXY`. Invalid proxy URLs are ignored, as
/// reqwest's own environment handling does.
pub fn configure(builder: reqwest::ClientBuilder, env: Env<'_>) -> reqwest::ClientBuilder {
    let no_proxy = match var(env, "NO_PROXY") {
        Some(list) => format!("{list},{LOOPBACK}"),
        None => LOOPBACK.to_owned(),
    };
    let exempt = || NoProxy::from_string(&no_proxy);
    let mut builder = builder.no_proxy();
    let all = var(env, "ALL_PROXY");
    if let Some(url) = var(env, "HTTPS_PROXY").or_else(|| all.clone()) {
        if let Ok(p) = Proxy::https(url.trim()) {
            builder = builder.proxy(p.no_proxy(exempt()));
        }
    }
    if let Some(url) = var(env, "HTTP_PROXY").or(all) {
        if let Ok(p) = Proxy::http(url.trim()) {
            builder = builder.proxy(p.no_proxy(exempt()));
        }
    }
    builder
}

/// [`configure`] with the process environment.
pub fn configure_from_env(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    configure(builder, &|name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback server answering every request with 200 "hi", counting
    /// connections and keeping the first request line.
    async fn server() -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let line = Arc::new(std::sync::Mutex::new(String::new()));
        let (h, l) = (hits.clone(), line.clone());
        tokio::spawn(async move {
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                h.fetch_add(1, Ordering::SeqCst);
                let mut buf = vec![0; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                *l.lock().unwrap() = text.lines().next().unwrap_or_default().to_owned();
                let _ = s
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nhi",
                    )
                    .await;
            }
        });
        (format!("http://{addr}"), hits, line)
    }

    #[tokio::test]
    async fn loopback_hosts_are_never_proxied() {
        let (proxy_url, proxy_hits, proxy_line) = server().await;
        let (target, target_hits, _) = server().await;
        let env = move |name: &str| match name {
            "HTTP_PROXY" | "HTTPS_PROXY" => Some(proxy_url.clone()),
            _ => None,
        };
        let client = super::configure(reqwest::Client::builder(), &env)
            .build()
            .unwrap();
        let port = target.rsplit(':').next().unwrap().to_owned();
        for url in [
            target.clone(),
            format!("http://localhost:{port}"),
            format!("http://[::1]:{port}"),
        ] {
            // [::1] may not be served here; only where it went matters.
            let _ = client.get(&url).send().await;
        }
        assert_eq!(proxy_hits.load(Ordering::SeqCst), 0);
        assert!(target_hits.load(Ordering::SeqCst) >= 2);
        // Other hosts still go through the proxy.
        let reply = client
            .get("http://api.example.invalid/v1")
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200);
        assert_eq!(proxy_hits.load(Ordering::SeqCst), 1);
        assert!(
            proxy_line
                .lock()
                .unwrap()
                .contains("http://api.example.invalid/v1"),
            "{}",
            proxy_line.lock().unwrap()
        );
    }
}
