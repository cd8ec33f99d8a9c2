//! OpenAI's matching rules and CEL, from Terraform: invalid CEL refused at plan with no API
//! write, the `matches` and `transform` provider functions, and the
//! `openai_workload_identity_match` data source.

use crate::support::{Emulator, Workdir};

const HEADER: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
"#;

/// Requests by route that are not reads.
fn writes(emu: &Emulator) -> Vec<String> {
    let (_, stats) = emu.control("GET", "/_emulator/stats", None);
    stats["by_route"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|route| !route.starts_with("GET ") && !route.contains("/_emulator"))
        .cloned()
        .collect()
}

tftest! {
    /// `assertion.sub +` does not parse: the plan fails on the expression's attribute path,
    /// and nothing is written (the API would store it, and the exchange would refuse every
    /// token as "no mapping matches").
    fn invalid_cel_is_refused_at_plan_with_no_write(tf) {
        let emu = Emulator::start();
        let mut wd = Workdir::new(tf);
        wd.use_emulator(&emu);
        wd.write_main(&format!(
            r#"{HEADER}
resource "openai_workload_identity_provider" "p" {{
  name     = "p"
  issuer   = "https://issuer.example.com"
  audience = "a"
  attribute_transformations = [
    {{ attribute = "openai.ok", expression = "assertion.sub" }},
    {{ attribute = "openai.bad", expression = "assertion.sub +" }},
  ]
}}
"#
        ));
        let out = wd.plan_detailed();
        out.assert_code(1);
        out.assert_output_contains_words("Invalid transformation expression");
        out.assert_output_contains_words("\"assertion.sub +\" is not a usable CEL expression");
        if tf.at_least(1, 3, 0) {
            // The diagnostic's path reaches the bad element: Terraform quotes its line.
            out.assert_output_contains_words(
                r#"{ attribute = "openai.bad", expression = "assertion.sub +" }"#,
            );
        }
        assert_eq!(writes(&emu), Vec::<String>::new(), "{}", emu.logs());
        let listed = emu.ok("GET", "/organization/workload_identity_providers", None);
        assert_eq!(listed["data"], serde_json::json!([]), "nothing may be created");
    }
}
