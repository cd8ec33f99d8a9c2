//! Acceptance: against an emulator that rate limits like OpenAI (a few
//! requests per route per minute, 429s without Retry-After), an apply paces
//! itself and converges instead of failing. A helper thread stands in for
//! the passing minute: after each new 429 it moves the emulator's clock on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::{Emulator, Workdir, tf_latest};

const CONFIG: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}

resource "openai_workload_identity_provider" "p" {
  count    = 3
  name     = "paced-${count.index}"
  issuer   = "https://issuer-${count.index}.example.com"
  audience = "https://api.openai.com/v1"
}
"#;

fn rate_limited(emu: &Emulator) -> u64 {
    emu.control("GET", "/_emulator/stats", None).1["by_status"]["429"]
        .as_u64()
        .unwrap_or(0)
}

#[test]
fn apply_paces_itself_under_rate_limits_and_converges() {
    let tf = tf_latest();
    let emu = Emulator::start_with_args(&["--rate-limit-rpm", "2"]);
    let mut wd = Workdir::new(&tf);
    wd.use_emulator(&emu);
    wd.write_main(CONFIG);

    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            let (mut seen, mut offset) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                let now = rate_limited(&emu);
                if now > seen {
                    seen = now;
                    offset += 61;
                    emu.control(
                        "POST",
                        "/_emulator/clock",
                        Some(serde_json::json!({ "offset_secs": offset })),
                    );
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        let applied = wd.apply();
        let replanned = wd.plan_detailed();
        done.store(true, Ordering::Relaxed);
        applied.assert_success();
        replanned.assert_code(0);
    });

    let listed = emu.ok(
        "GET",
        "/organization/workload_identity_providers?limit=100",
        None,
    );
    assert_eq!(listed["data"].as_array().unwrap().len(), 3, "{listed}");
    // The limits really bit (else this proves nothing).
    assert!(rate_limited(&emu) > 0);
}
