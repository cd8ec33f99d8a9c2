//! Acceptance: `openai_workload_identity_issuer` checks an issuer the way
//! the emulator's token exchange will (they share `openai_admin::issuer`).
//! A private discovery URL fails validation already, as it does for the
//! provider resource. One plan holds the three refusals that need a fetch,
//! each as an error on its attribute: an issuer that is not the document's,
//! a sample `kid` the key set lacks, and a key OpenAI cannot verify with. Then the
//! emulator's built-in issuer passes (loopback allowed for the test, as the
//! emulator itself allows it), and a provider precondition uses it.

use crate::support::{Emulator, Workdir, tf_latest};

const HEADER: &str = r#"
terraform {
  required_providers {
    openai = { source = "openai-wif/openai" }
  }
}
"#;

/// An `openai_workload_identity_issuer` check `label` of `issuer`, with
/// one more attribute `(name, HCL value)`, aligned as `terraform fmt` would
/// (the diagnostics quote these lines).
fn issuer_check(label: &str, issuer: &str, (name, value): (&str, &str)) -> String {
    let width = name.len().max("issuer".len());
    format!(
        "\ndata \"openai_workload_identity_issuer\" \"{label}\" {{\n  {:<width$} = \"{issuer}\"\n  {name:<width$} = {value}\n}}\n",
        "issuer"
    )
}

#[test]
fn the_issuer_check_refuses_what_openai_would_and_passes_a_good_issuer() {
    let emu = Emulator::start();
    let issuer = emu.oidc_issuer();
    let (status, jwks) = emu.control("GET", "/_emulator/oidc/jwks", None);
    assert_eq!(status, 200);
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let mut wd = Workdir::new(&tf_latest());
    wd.use_emulator(&emu)
        .env("OPENAI_WIF_ISSUER_CHECK_ALLOW_LOOPBACK", "1");

    // Refused by the resource's rules, before anything is fetched.
    let private = "discovery_url = \"https://169.254.169.254/oidc\"";
    wd.write_config(&issuer_check(
        "private",
        "https://issuer.example.com",
        ("discovery_url", "\"https://169.254.169.254/oidc\""),
    ));
    let out = wd.validate();
    out.assert_failure_saying(&["Invalid discovery_url", "a link-local address"]);
    assert!(out.stderr.contains(private), "{}", out.stderr);

    // A 1024-bit RSA key (modulus of 128 bytes, top bit set).
    let weak_n = format!("gA{}", "A".repeat(169));
    wd.write_config(
        &[
            issuer_check("typo", &format!("{issuer}/typo"), ("discovery_url", &format!("\"{issuer}\""))),
            issuer_check("rotated", &issuer, ("sample_kid", "\"old-key\"")),
            issuer_check(
                "weak",
                "https://issuer.example.com",
                ("jwks_json", &format!("jsonencode({{ keys = [{{ kty = \"RSA\", kid = \"weak\", e = \"AQAB\", n = \"{weak_n}\" }}] }})")),
            ),
        ]
        .concat(),
    );
    let out = wd.run(&["plan", "-input=false"]);
    out.assert_failure();
    for (summary, attribute) in [
        (
            "Issuer mismatch",
            format!("issuer        = \"{issuer}/typo\"").as_str(),
        ),
        (
            "No key with the sample token's kid",
            "sample_kid = \"old-key\"",
        ),
        ("No key OpenAI accepts", "jwks_json = jsonencode"),
    ] {
        out.assert_output_contains_words(summary);
        assert!(
            out.stderr.contains(attribute),
            "{attribute} not pointed at:\n{}",
            out.stderr
        );
    }
    out.assert_output_contains_words("1024-bit RSA key");

    // The built-in issuer passes, and gates the provider that trusts it.
    wd.write_main(&format!(
        r#"{HEADER}{check}

resource "openai_workload_identity_provider" "builtin" {{
  name     = "builtin"
  issuer   = "{issuer}"
  audience = "https://api.openai.com/v1"

  lifecycle {{
    precondition {{
      condition     = data.openai_workload_identity_issuer.builtin.accepted
      error_message = "OpenAI would not accept this issuer."
    }}
  }}
}}

output "keys" {{
  value = data.openai_workload_identity_issuer.builtin.keys
}}
"#,
        check = issuer_check(
            "builtin",
            &format!("{issuer}/"),
            ("sample_kid", &format!("\"{kid}\""))
        ),
    ));
    wd.apply().assert_success();
    let keys = wd.output("keys");
    assert_eq!(keys[0]["kid"], kid.as_str());
    assert_eq!(keys[0]["accepted"], true);
    assert!(keys[0]["bits"].as_i64().unwrap() >= 2048, "{keys}");
}
