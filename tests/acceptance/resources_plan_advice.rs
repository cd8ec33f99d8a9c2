//! What a plan says besides its errors: the `-parallelism` hint only where
//! it can help, and a warning when the provider configuration is unknown at
//! plan, so the checks that need the API were skipped.

use crate::support::HEADER;
use crate::support::config::counted_providers;
use crate::support::org::providers_by_hand;
use crate::support::{Emulator, Workdir, tf_latest};

tftest! {
    /// One create at a full organization: waiting Terraform slots cannot be
    /// the cause, so no `-parallelism` hint. Terraform before 1.3 never plans
    /// destroys, and the error says that instead.
    fn a_lone_create_at_the_limit_gets_no_parallelism_hint(tf) {
        let emu = Emulator::start();
        providers_by_hand(&emu, 50);
        let wd = Workdir::with_emulator(tf, &emu);
        wd.write_main(&counted_providers(1));
        let out = wd.plan_detailed();
        out.assert_code_saying(1, &["Workload identity provider limit exceeded"]);
        assert!(!out.output_contains_words("-parallelism"), "{out}");
        let no_destroy_plans = out.output_contains_words("This Terraform version does not plan destroys");
        assert_eq!(no_destroy_plans, !tf.at_least(1, 3, 0), "{out}");
    }
}

#[test]
fn creates_waiting_together_at_the_limit_get_the_parallelism_hint() {
    let tf = tf_latest();
    let emu = Emulator::start();
    providers_by_hand(&emu, 50);
    let wd = Workdir::with_emulator(&tf, &emu);
    wd.write_main(&counted_providers(3));
    wd.plan_detailed().assert_code_saying(
        1,
        &["retry with -parallelism greater than the number of creates"],
    );
}

#[test]
fn unknown_provider_configuration_warns_that_checks_were_skipped() {
    let tf = tf_latest();
    assert!(tf.has_terraform_data());
    let emu = Emulator::start();
    let wd = Workdir::with_emulator(&tf, &emu);
    // The base URL is known only after apply: the id of a terraform_data
    // created in this run, cut to nothing.
    wd.write_main(&format!(
        r#"{HEADER}
resource "terraform_data" "later" {{}}

provider "openai" {{
  base_url = "{base}${{substr(terraform_data.later.id, 0, 0)}}"
}}

resource "openai_workload_identity_provider" "p" {{
  name     = "p"
  issuer   = "https://issuer.example.com"
  audience = "https://api.openai.com/v1"
}}
"#,
        base = emu.base_url()
    ));
    wd.plan_detailed().assert_code_saying(
        2,
        &[
            "Plan-time checks skipped: provider configuration unknown",
            "could not check the limit of workload identity providers per organization",
        ],
    );
    // Apply plans again with the configuration known, and creates.
    wd.apply_clean();
}
