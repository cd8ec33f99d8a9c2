//! Checks the test harness itself against real Terraform CLIs, without our provider.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::HEADER;
use crate::support::{
    Changes, Emulator, Workdir, provider_dir, terraform_binaries, tf_latest, tf_oldest,
};

#[test]
fn pinned_versions_are_installed_and_report_their_version() {
    let bins = terraform_binaries();
    let versions: Vec<&str> = bins.iter().map(|t| t.version()).collect();
    if std::env::var_os("TF_HARNESS_VERSIONS").is_none() {
        assert!(versions.contains(&"1.15.5"), "{versions:?}");
        assert!(versions.contains(&"1.0.3"), "{versions:?}");
        assert_eq!(tf_latest().version(), "1.15.5");
        assert_eq!(tf_oldest().version(), "1.0.3");
    }
    for tf in bins {
        let out = Workdir::new(&tf).run(&["version", "-json"]);
        out.assert_success();
        assert_eq!(out.json()["terraform_version"], tf.version(), "{out}");
        // The plain form too: it is what a user would see.
        Workdir::new(&tf)
            .run(&["version"])
            .assert_success()
            .assert_stdout_contains(&format!("v{}", tf.version()));
    }
}

tftest! {
    fn locals_and_outputs_go_through_the_whole_lifecycle(tf) {
        let wd = Workdir::new(tf);
        wd.write_main(
            r#"
locals {
  greeting = "hello"
}
output "greeting" {
  value = "${local.greeting}, world"
}
"#,
        );
        // Output-only changes still count as changes for -detailed-exitcode.
        wd.first_run();
        assert_eq!(wd.output("greeting"), "hello, world", "{tf}");
    }
}

tftest! {
    fn terraform_data_is_created_and_read_back(tf) {
        if !tf.has_terraform_data() {
            eprintln!("skipped on {tf}: it has no terraform_data");
            return;
        }
        let wd = Workdir::new(tf);
        wd.write_main(
            r#"
resource "terraform_data" "box" {
  input = { size = 3 }
}
output "echo" {
  value = terraform_data.box.output
}
"#,
        );
        wd.init().assert_success();
        wd.validate().assert_success();
        wd.plan_json()
            .assert_code(2)
            .assert_changes(Changes::new(1, 0, 0));
        wd.apply().assert_success();
        assert_eq!(wd.output("echo"), serde_json::json!({ "size": 3 }), "{tf}");
        let state = wd.state();
        let resources = &state["values"]["root_module"]["resources"];
        assert_eq!(resources[0]["address"], "terraform_data.box", "{state}");
        wd.plan_detailed().assert_code(0);
        wd.destroy().assert_success();
        assert_eq!(
            wd.state()["values"]["root_module"].get("resources"),
            None,
            "{tf}"
        );
    }
}

tftest! {
    fn local_modules_are_installed_with_get_instead_of_init(tf) {
        let wd = Workdir::new(tf);
        wd.write("child/main.tf", r#"output "doubled" { value = 21 * 2 }"#);
        wd.write_main(
            r#"
module "child" {
  source = "./child"
}
output "answer" {
  value = module.child.doubled
}
"#,
        );
        wd.validate()
            .assert_code(1)
            .assert_output_contains_words("Module not installed");
        wd.get().assert_success();
        wd.apply().assert_success();
        assert_eq!(wd.output("answer"), 42, "{tf}");
    }
}

tftest! {
    fn invalid_configuration_fails_with_exit_code_1(tf) {
        let wd = Workdir::new(tf);
        wd.write_main(r#"output "x" { value = local.missing }"#);
        let out = wd.validate();
        out.assert_code(1);
        assert!(
            out.stderr_contains("Reference to undeclared local value"),
            "{out}"
        );
        wd.plan_detailed().assert_code(1);
    }
}

tftest! {
    fn workdir_env_reaches_terraform(tf) {
        let mut wd = Workdir::new(tf);
        wd.env("TF_VAR_name", "from-env");
        wd.write_main(
            r#"
variable "name" {
  type = string
}
output "name" {
  value = var.name
}
"#,
        );
        wd.apply().assert_success();
        assert_eq!(wd.output("name"), "from-env", "{tf}");
    }
}

#[test]
fn cli_config_overrides_our_provider_to_the_cargo_build() {
    let dir = provider_dir();
    assert!(
        dir.join("terraform-provider-openai").is_file(),
        "dev_overrides needs {}/terraform-provider-openai",
        dir.display()
    );
    for tf in terraform_binaries() {
        let wd = Workdir::new(&tf);
        wd.write_main(
            &[
                HEADER, r#"
"#,
            ]
            .concat(),
        );
        // Whether or not the provider starts yet, Terraform must announce the
        // override and name our build directory.
        let out = wd.validate();
        out.assert_output_contains_words("Provider development overrides are in effect")
            .assert_output_contains_words(&format!("openai-wif/openai in {}", dir.display()));
    }
}

fn fake_emulator() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/acceptance/support/fake-emulator"
    ))
}

#[test]
fn emulator_helper_reads_the_ready_line_and_passes_the_admin_key() {
    let emu = Emulator::spawn(fake_emulator(), &[]);
    assert_eq!(emu.addr(), "127.0.0.1:4242");
    assert_eq!(emu.base_url(), "http://127.0.0.1:4242/v1");
    assert_eq!(emu.token_url(), "http://127.0.0.1:4242/oauth/token");
    assert!(
        emu.admin_key().starts_with("sk-admin-test-"),
        "{}",
        emu.admin_key()
    );

    // The key line arrives on stderr after the ready line; wait for it.
    let expected = format!("fake emulator got admin key {}", emu.admin_key());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !emu.logs().contains(&expected) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(emu.logs().contains(&expected), "{}", emu.logs());

    let other = Emulator::spawn(fake_emulator(), &[]);
    assert_ne!(
        emu.admin_key(),
        other.admin_key(),
        "each emulator gets its own key"
    );
}

#[test]
#[should_panic(expected = "closed stdout without printing a line")]
fn emulator_helper_explains_an_emulator_that_exits_early() {
    Emulator::spawn(fake_emulator(), &["--mode", "silent"]);
}

#[test]
#[should_panic(expected = "expected `listening on http://ADDR`")]
fn emulator_helper_rejects_an_unexpected_first_line() {
    Emulator::spawn(fake_emulator(), &["--mode", "garbage"]);
}

#[test]
fn each_terraform_runs_every_version_and_names_the_ones_that_failed() {
    let all = terraform_binaries();
    let oldest = tf_oldest();
    let seen = std::sync::Mutex::new(Vec::new());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crate::support::on_each_terraform(|tf| {
            seen.lock().unwrap().push(tf.to_string());
            assert!(*tf != oldest, "deliberate failure on {tf}");
        })
    }));
    let message = *outcome
        .expect_err("a failing version fails the test")
        .downcast::<String>()
        .expect("a formatted message");
    assert_eq!(message, format!("failed on {oldest}"));
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), all.len(), "every version ran: {seen:?}");
}
