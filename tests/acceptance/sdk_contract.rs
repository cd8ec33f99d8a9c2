//! OpenAI's official Python SDK (the pinned `openai` package, generated from
//! OpenAI's own API specification) against the emulator, with strict
//! response validation: `tests/sdk/contract.py` round-trips every workload
//! identity Admin API endpoint, logs a workload in with the SDK's own
//! workload identity auth through a mapping Terraform made here, and checks
//! that refused workloads get the errors OpenAI's SDK tests expect.

use std::path::Path;

use crate::support::org::{account_by_hand, project_by_hand};
use crate::support::{Emulator, Workdir, run_python, tf_latest};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const READ_ONLY_KEY: &str = "sk-admin-read-only-contract";

/// The configuration of the workload login guide: a service account, a
/// provider trusting the emulator's issuer, and a mapping for tokens with
/// `repository = my-org/my-repo` and `ref = refs/heads/main`.
fn guide_config(emu: &Emulator) -> String {
    let guide =
        std::fs::read_to_string(Path::new(REPO).join("docs/guides/testing-workload-login.md"))
            .unwrap();
    crate::docs_workload_login::code_blocks(&guide, &["terraform"])
        .join("\n")
        .replace(crate::docs_workload_login::GUIDE_ADDR, emu.addr())
}

#[test]
fn openai_python_sdk_agrees_with_the_emulator() {
    let tf = tf_latest();
    let emu = Emulator::start_with_args(&["--read-only-admin-key", READ_ONLY_KEY]);
    let project = project_by_hand(&emu, "sdk-contract");
    let lonely = account_by_hand(&emu, &project, "lonely");

    let mut wd = Workdir::with_emulator(&tf, &emu);
    wd.env("TF_VAR_project_id", &project);
    wd.write_main(&guide_config(&emu));
    wd.apply().assert_success();
    let (wip, sa) = (
        wd.output("workload_identity_provider_id"),
        wd.output("service_account_id"),
    );

    let url = emu.url();
    let out = run_python(
        &Path::new(REPO).join("tests/sdk/contract.py"),
        &[
            ("EMULATOR_URL", url.as_str()),
            ("ADMIN_KEY", emu.admin_key()),
            ("READ_ONLY_ADMIN_KEY", READ_ONLY_KEY),
            ("PROJECT_ID", &project),
            ("WIP_ID", wip.as_str().unwrap()),
            ("SA_ID", sa.as_str().unwrap()),
            ("LONELY_SA_ID", &lonely),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    for check in [
        "providers.list with auto-pagination",
        "federation_rules.list with auto-pagination",
        "service_accounts.list with auto-pagination",
        "a read-only admin key reads",
        "workload identity auth through the Terraform-made mapping",
        "no mapping for the account: OAuthError 401 invalid_grant",
    ] {
        assert!(
            stdout.contains(&format!("ok {check}")),
            "{check}:\n{stdout}"
        );
    }

    // What the SDK made and deleted left Terraform's objects alone.
    wd.plan_detailed().assert_code(0);
    wd.destroy().assert_success();
}
