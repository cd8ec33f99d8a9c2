//! Shared helpers for integration tests that drive a real Terraform CLI.
//!
//! The acceptance binary declares it once (`mod support;` in `main.rs`);
//! test modules use it as `crate::support`.
//!
//! ```ignore
//! use crate::support::{Workdir, terraform_binaries};
//!
//! for tf in terraform_binaries() {
//!     let wd = Workdir::new(&tf);
//!     wd.write_main(r#"output "x" { value = 1 }"#);
//!     wd.plan_detailed().assert_code(2);
//! }
//! ```

pub mod config;
mod emulator;
pub mod guides;
pub mod http;
pub mod org;
mod process;
mod sdk;
mod terraform;
mod workdir;

pub use config::HEADER;
pub use emulator::Emulator;
pub use sdk::{run_node, run_python};
pub use terraform::{TerraformBin, terraform_binaries, tf_latest, tf_oldest};
pub use workdir::{Changes, PROVIDER_SOURCE, TfOutput, Workdir, provider_dir};

/// A binary of another package of this workspace (e.g. `openai-emulator`).
/// Cargo builds those into the same directory as this package's own
/// binaries when the workspace is tested (`scripts/test` runs `cargo test
/// --workspace --all-targets`), which is next to the test binary's `deps/`.
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    let path = provider_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build the workspace first (scripts/test, or cargo build --workspace)",
        path.display()
    );
    path
}

/// Runs `body` once on each CLI under test ([`terraform_binaries`]), all of
/// them even when one fails, then fails naming every version that failed
/// (each failure's own panic message is printed above). Use it through
/// [`tftest!`].
pub fn on_each_terraform(body: impl Fn(&TerraformBin)) {
    let mut failed = Vec::new();
    for tf in terraform_binaries() {
        eprintln!("--- on {tf}");
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&tf)));
        if run.is_err() {
            failed.push(tf.to_string());
        }
    }
    assert!(failed.is_empty(), "failed on {}", failed.join(", "));
}

/// A test whose body runs on every Terraform (and OpenTofu) CLI under test,
/// with `tf: &TerraformBin` in scope:
///
/// ```ignore
/// tftest! {
///     /// What the test shows.
///     fn plans_are_clean(tf) {
///         let wd = Workdir::new(tf);
///         // ...
///     }
/// }
/// ```
macro_rules! tftest {
    ($(#[$meta:meta])* fn $name:ident($tf:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $crate::support::on_each_terraform(|$tf: &$crate::support::TerraformBin| $body);
        }
    };
}
