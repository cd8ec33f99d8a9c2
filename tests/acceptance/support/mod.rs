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

mod emulator;
mod process;
mod terraform;
mod workdir;

pub use emulator::Emulator;
pub use terraform::{TerraformBin, terraform_binaries, tf_latest, tf_oldest};
pub use workdir::{PROVIDER_SOURCE, TfOutput, Workdir, provider_dir};

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
