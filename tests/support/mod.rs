//! Shared helpers for integration tests that drive a real Terraform CLI.
//!
//! Use from a test file with `mod support;`. Each test binary compiles its own
//! copy and uses only part of it, hence the `dead_code` allowance.
//!
//! ```ignore
//! mod support;
//! use support::{Workdir, terraform_binaries};
//!
//! for tf in terraform_binaries() {
//!     let wd = Workdir::new(&tf);
//!     wd.write_main(r#"output "x" { value = 1 }"#);
//!     wd.plan_detailed().assert_code(2);
//! }
//! ```
#![allow(dead_code)]

mod emulator;
mod process;
mod terraform;
mod workdir;

// Each test file uses a different subset of these.
#[allow(unused_imports)]
pub use emulator::Emulator;
#[allow(unused_imports)]
pub use terraform::{Flavor, TerraformBin, terraform_binaries, tf_latest, tf_oldest};
#[allow(unused_imports)]
pub use workdir::{PROVIDER_SOURCE, TfOutput, Workdir, provider_dir};
