//! The Admin API client against the real emulator with faults on: retries
//! succeed, and lost create responses never duplicate an object.

use std::time::Duration;

use openai_admin::models::CreateProviderRequest;
use openai_admin::retry::Backoff;
use openai_admin::secret::Secret;
use openai_admin::{Client, ClientConfig};
use openai_emulator::{EmulatorConfig, start};

#[tokio::test]
async fn creates_under_faults_make_each_object_exactly_once() {
    let mut cfg = EmulatorConfig::new("sk-admin-faults");
    cfg.fault_rate = 0.4;
    cfg.fault_seed = 7;
    let emu = start(cfg).await.unwrap();
    let client = Client::new(ClientConfig {
        base_url: emu.api_base().parse().unwrap(),
        admin_key: Some(Secret::new("sk-admin-faults")),
        token_exchange_url: emu.token_url().parse().unwrap(),
        max_retries: 12,
        request_timeout: Duration::from_secs(5),
        backoff: Backoff {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(50),
            ..Backoff::default()
        },
        ..ClientConfig::default()
    })
    .unwrap();
    let mut created = Vec::new();
    for i in 0..15 {
        let p = client
            .create_provider(&CreateProviderRequest {
                name: format!("p{i}"),
                issuer: "https://issuer.example.com".into(),
                audience: "aud".into(),
                kind: "oidc".into(),
                ..Default::default()
            })
            .await
            .unwrap_or_else(|e| panic!("create p{i}: {e}"));
        assert_eq!(p.name, format!("p{i}"));
        created.push(p.id);
    }
    let all = client.list_all_providers().await.unwrap();
    let mut names: Vec<_> = all.iter().map(|p| p.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(all.len(), 15, "duplicates or losses: {names:?}");
    assert_eq!(names.len(), 15);
    for id in &created {
        assert!(
            all.iter().any(|p| &p.id == id),
            "returned id {id} not in the listing"
        );
    }
    // The faults really happened (otherwise this test proves nothing).
    let stats: serde_json::Value = reqwest::get(format!("{}/_emulator/stats", emu.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let faults = stats["faults_injected"]
        .as_object()
        .expect("faults_injected map");
    assert!(
        faults.values().filter_map(|n| n.as_u64()).sum::<u64>() > 0,
        "{stats}"
    );
}
